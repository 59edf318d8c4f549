// Headless-browser tests of 评价反馈 (admin/feedback.html), with its hand-offs to 常用问答
// (admin/qa.html, 生成问答对) and 知识库维护 (admin/kb.html, 打开切片), against a live
// `dangwutong serve` whose knowledge base holds the shipped regulations and whose database holds
// the demo accounts (every demo password is Dwt#Demo2026). scripts/web-test.sh starts such a
// server on a fresh data dir.
//
//   DWT_TEST_BASE_URL=http://127.0.0.1:8080 node --test web/tests/feedback.test.mjs
//
// member1 asks through the chat API and rates the answer 👎 with a comment carrying STAMP; the
// question carries `评价测试STAMP` too, so the pair saved from it is found by that text. After the
// last test every pair this run created that is not 已停用 is retired (drafts included: there is no
// delete), so a later run starts clean.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { ANSWER_TIMEOUT, apiResponse, apiSession, BASE, bodyOf, loginViaPage as login, path, STAMP, useBrowser, visible, waitUntil, sseEvents, retirePairs } from "./support.mjs";

const MARK = `评价测试${STAMP}`;
/** Answered from 党章 第十条 (no shipped FAQ pair is close to it). */
const QUESTION = `党的最高领导机关是什么？（${MARK}）`;
const COMMENT = `没有说明全国代表大会多久召开一次（${MARK}）`;
// Saving a pair runs the FAQ matcher (duplicate check) and reloads it: slow on a busy 2-core machine.
const SAVE_TIMEOUT = ANSWER_TIMEOUT;

const browser = useBrowser({
  probe: async () => {
    const r = await fetch(BASE + "/api/admin/feedback");
    assert.notEqual(r.status, 404, `GET ${BASE}/api/admin/feedback answered 404: this server has no feedback review API yet`);
  },
});

// --- API helpers ---------------------------------------------------------------------------------

/**
 * Asks through POST /api/chat in `session` (an apiSession); resolves with { messageId, mode,
 * answer, sources } once the stream has ended. The body is decoded from its bytes as UTF-8.
 */
async function askApi(session, question) {
  const res = await session.ctx.fetch("/api/chat", {
    method: "POST",
    data: { question },
    headers: { "X-CSRF-Token": session.csrf },
    timeout: ANSWER_TIMEOUT,
  });
  const raw = (await res.body()).toString("utf8");
  assert.equal(res.status(), 200, `POST /api/chat: ${res.status()} ${raw.slice(0, 300)}`);
  const events = sseEvents(raw);
  const names = events.map((e) => e.event);
  assert.equal(names[names.length - 1], "done", `the chat stream should end with done: ${names.join(",")}`);
  const meta = events.findLast((e) => e.event === "meta")?.data || {};
  assert.equal(typeof meta.message_id, "number", `meta carries the answer's message_id: ${JSON.stringify(meta)}`);
  const sources = events.filter((e) => e.event === "sources").flatMap((e) => (Array.isArray(e.data) ? e.data : []));
  const answer = events.filter((e) => e.event === "delta").map((e) => e.data?.text || "").join("");
  return { messageId: meta.message_id, mode: meta.mode, answer, sources };
}

async function feedbackItems(admin, rating = "down") {
  const r = await admin.call("GET", `/api/admin/feedback?rating=${rating}&limit=500`);
  assert.equal(r.status, 200, `GET /api/admin/feedback?rating=${rating} as sysadmin: ${JSON.stringify(r.json)}`);
  return r.json.items || [];
}

async function listPairs(admin, q) {
  const r = await admin.call("GET", "/api/admin/qa?q=" + encodeURIComponent(q));
  assert.equal(r.status, 200, `GET /api/admin/qa?q=${q}: ${JSON.stringify(r.json)}`);
  return r.json.items || [];
}

// After every test: the pairs saved from this run's feedback are retired.
after(async () => {
  if (!BASE) return;
  const admin = await apiSession("sysadmin");
  try {
    await retirePairs(admin, MARK);
  } finally {
    await admin.dispose();
  }
});

// --- page helpers --------------------------------------------------------------------------------

/** Waits until feedback.html has listed the `rating` filter's items (loaded, not loading). */
async function waitList(page, rating) {
  await waitUntil(
    page,
    (rating) => {
      const list = document.getElementById("fb-list");
      return !!list && !list.hasAttribute("aria-busy") && list.dataset.rating === rating;
    },
    rating,
    `feedback.html should list the ${rating} ratings`,
  );
}

const itemOf = (page, messageId) => page.locator(`#fb-list .fb-item[data-message-id="${messageId}"]`);

// --- (a) 👎 → 评价反馈 → 生成问答对 / 打开切片 -------------------------------------------------------

test("a member's 👎 with a comment is listed on 评价反馈; 生成问答对 saves a pair from it; 打开切片 shows the cited chunk", { timeout: 420_000 }, async (t) => {
  const member = await apiSession("member1");
  const admin = await apiSession("sysadmin");
  const { context, page, problems, rejected } = await browser.newPage({ desktop: true });
  try {
    // 1. member1 asks and rates the answer 👎 with a comment.
    const asked = await askApi(member, QUESTION);
    t.diagnostic(`answer ${asked.messageId} (${asked.mode}): ${JSON.stringify(asked.answer.slice(0, 60))}…; sources: ${asked.sources.map((s) => `${s.chunk_id} ${s.doc_title}${s.article || ""}`).join(" | ")}`);
    assert.ok(asked.sources.length >= 1, `the answer to “${QUESTION}” should cite at least one chunk (mode ${asked.mode}): ${asked.answer}`);
    const fb = await member.call("POST", `/api/messages/${asked.messageId}/feedback`, { rating: "down", comment: COMMENT });
    assert.equal(fb.status, 200, `POST /api/messages/${asked.messageId}/feedback: ${JSON.stringify(fb.json)}`);

    // What the review API says about it (the page must show the same).
    const item = (await feedbackItems(admin, "down")).find((x) => x.message_id === asked.messageId);
    assert.ok(item, `GET /api/admin/feedback?rating=down lists message ${asked.messageId}`);
    assert.equal(item.question, QUESTION, "the feedback item carries the member's question");
    assert.equal(item.comment, COMMENT);
    assert.equal(item.rating, "down");
    assert.deepEqual(item.sources.map((s) => s.chunk_id), asked.sources.map((s) => s.chunk_id), "the item carries the sources shown with the answer");
    assert.ok(!(await feedbackItems(admin, "up")).some((x) => x.message_id === asked.messageId), "a 👎 is not listed under 👍");

    // 2. 评价反馈 as the 系统管理员.
    await login(page, "sysadmin", { next: "/admin/feedback.html", requireOk: true });
    assert.equal(path(page), "/admin/feedback.html", "after login the browser returns to ?next=/admin/feedback.html");
    assert.equal(await page.locator("#fb-rating").inputValue(), "down", "the filter starts at 👎 没帮助");
    await waitList(page, "down");
    assert.ok(await page.locator('.admin-nav a.active[href="/admin/feedback.html"]').isVisible(), "the admin menu links 评价反馈 and marks it active");
    const card = itemOf(page, asked.messageId);
    assert.equal(await card.count(), 1, `feedback.html lists the 👎 on message ${asked.messageId}`);
    assert.equal(await card.locator(".fb-question").textContent(), QUESTION, "the item shows the question");
    assert.equal(await card.locator(".fb-comment-text").textContent(), COMMENT, "the item shows the member's comment");
    assert.equal(await card.locator(".fb-rating").textContent(), "👎 没帮助");
    assert.ok((await card.locator("time.fb-time").textContent()).trim(), "the item shows when it was rated");
    assert.equal(await card.locator("time.fb-time").getAttribute("datetime"), item.created_at);
    const details = card.locator("details.fb-answer");
    assert.equal(await details.evaluate((d) => d.open), false, "the answer is collapsed at first");
    assert.ok(await card.locator(".fb-answer-text").isHidden(), "the collapsed answer is not shown");
    await details.locator("summary").click();
    assert.equal(await details.evaluate((d) => d.open), true, "查看回答 expands the answer");
    assert.equal(await card.locator(".fb-answer-text").textContent(), item.answer, "the expanded answer is the stored answer");
    const first = item.sources[0];
    const open = card.locator(`.fb-source[data-chunk-id="${first.chunk_id}"] a.fb-open`);
    assert.equal(await card.locator(".fb-source").count(), item.sources.length, "every cited chunk is listed");
    assert.equal(await open.getAttribute("href"), `/admin/kb.html#doc=${first.doc_id}&chunk=${first.chunk_id}`, "打开切片 uses the kb.html address 命中测试 uses");
    assert.match(await card.locator(`.fb-source[data-chunk-id="${first.chunk_id}"] .fb-source-label`).textContent(), new RegExp(`《${first.doc_title}》`), "the source names its document");

    // The 👍 filter does not list it; back to 👎.
    await page.locator("#fb-rating").selectOption("up");
    await waitList(page, "up");
    assert.equal(await itemOf(page, asked.messageId).count(), 0, "👍 有帮助 does not list the 👎");
    assert.equal(new URL(page.url()).searchParams.get("rating"), "up", "the filter is kept in the address");
    await page.locator("#fb-rating").selectOption("down");
    await waitList(page, "down");
    assert.equal(await itemOf(page, asked.messageId).count(), 1);

    // 3. 生成问答对 → qa.html with the new-pair editor prefilled.
    await itemOf(page, asked.messageId).locator("a.fb-make-qa").click();
    await page.waitForURL((u) => u.pathname === "/admin/qa.html");
    await visible(page, "#qa-form", "生成问答对 should open the new-pair editor on qa.html");
    assert.equal(await page.locator("#qa-form").getAttribute("data-mode"), "new", "the editor is in 新增 mode");
    assert.equal(await page.locator("#qa-form-title").textContent(), "新增常用问答");
    assert.equal(await page.locator("#qa-question").inputValue(), QUESTION, "标准问题 is the member's question");
    assert.equal(await page.locator("#qa-answer").inputValue(), item.answer.trim(), "答案 is the rated answer");
    const ref = [first.doc_title, first.article].filter((x) => x).join(" ");
    assert.ok((await page.locator("#qa-refs").inputValue()).split("\n").includes(ref), `依据 lists the cited ${ref}`);
    assert.match(await page.locator("#qa-msg").textContent(), /已带入/, "the editor says what was brought in");
    assert.equal(new URL(page.url()).search, "", "the prefill parameters are dropped from the address");

    // The admin rewrites the answer and saves (as 草稿, the default).
    const answer = `党的最高领导机关，是党的全国代表大会和它所产生的中央委员会（《中国共产党章程》第十条）。（${MARK}）`;
    await page.locator("#qa-answer").fill(answer);
    let post = apiResponse(page, "POST", /^\/api\/admin\/qa$/, SAVE_TIMEOUT);
    await page.locator("#qa-save").click();
    let r = await post;
    let created = await bodyOf(r);
    const sent = r.request().postDataJSON();
    assert.equal(sent.question, QUESTION, "the pair is saved with the member's question");
    assert.equal(sent.answer, answer);
    assert.equal(sent.status, "draft");
    assert.ok(sent.source_refs.some((x) => x.doc === first.doc_title), `the 依据 brought in are sent: ${JSON.stringify(sent.source_refs)}`);
    if (r.status() === 409 && created?.code === "qa.near_duplicate") {
      t.diagnostic(`near-duplicate refusal: ${created.message}; saving with 仍然保存`);
      await visible(page, "#qa-force", "仍然保存 is offered after a near-duplicate refusal");
      await page.locator("#qa-force").check();
      post = apiResponse(page, "POST", /^\/api\/admin\/qa$/, SAVE_TIMEOUT);
      await page.locator("#qa-save").click();
      r = await post;
      created = await bodyOf(r);
    }
    assert.equal(r.status(), 201, `create: ${JSON.stringify(created)}`);
    await waitUntil(page, () => document.getElementById("qa-form").hidden, undefined, "the editor closes after saving");

    // The pair exists (API).
    const pairs = (await listPairs(admin, MARK)).filter((p) => p.question === QUESTION);
    assert.equal(pairs.length, 1, `GET /api/admin/qa?q=${MARK} lists one pair with the question: ${JSON.stringify(pairs)}`);
    assert.equal(pairs[0].answer, answer);
    assert.equal(pairs[0].status, "draft");
    assert.equal(pairs[0].id, created.id);

    // 4. 打开切片 → kb.html on that chunk.
    await page.goto(BASE + "/admin/feedback.html");
    await waitList(page, "down");
    const kb = await admin.call("GET", `/api/admin/kb/documents/${first.doc_id}/chunks`);
    assert.equal(kb.status, 200, `GET …/documents/${first.doc_id}/chunks: ${JSON.stringify(kb.json)}`);
    const chunk = (kb.json.chunks || []).find((c) => c.id === first.chunk_id);
    assert.ok(chunk, `chunk ${first.chunk_id} is still in document ${first.doc_id}`);
    await itemOf(page, asked.messageId).locator(`.fb-source[data-chunk-id="${first.chunk_id}"] a.fb-open`).click();
    await page.waitForURL((u) => u.pathname === "/admin/kb.html");
    const target = `#kb-chunks .chunk.target[data-chunk-id="${first.chunk_id}"]`;
    await visible(page, target, "打开切片 should show and mark the chunk on kb.html");
    assert.equal(await page.locator("#kb-doc").getAttribute("data-doc-id"), String(first.doc_id), "kb.html shows the chunk's document");
    assert.equal(await page.locator(`${target} .chunk-text`).textContent(), chunk.text, "kb.html shows the cited chunk's text");
    assert.equal(await page.locator("#kb-chunks .chunk.target").count(), 1, "one chunk is marked");

    assert.deepEqual(problems, [], "no page errors or server errors");
    assert.ok(rejected.every((x) => x === "POST /api/admin/qa → 409"), `nothing else was refused: ${JSON.stringify(rejected)}`);
  } finally {
    await context.close();
    await admin.dispose();
    await member.dispose();
  }
});

// --- (b) empty list and errors --------------------------------------------------------------------

test("the list shows 暂无评价 when empty and the server's Chinese message on an error", { timeout: 90_000 }, async () => {
  const { context, page, problems, rejected } = await browser.newPage();
  const MESSAGE = "rating 取值无效（可选 down、up、all）";
  try {
    await login(page, "sysadmin", { next: "/admin/index.html", requireOk: true });
    // The answers are stood in for: a fresh server may or may not hold ratings already.
    await page.route((u) => u.pathname === "/api/admin/feedback", (route) => {
      const rating = new URL(route.request().url()).searchParams.get("rating");
      if (rating === "all") return route.fulfill({ status: 400, contentType: "application/json", body: JSON.stringify({ code: "feedback.bad_rating", message: MESSAGE }) });
      return route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify({ items: [] }) });
    });
    await page.goto(BASE + "/admin/feedback.html");
    await waitList(page, "down");
    await visible(page, "#fb-empty", "an empty list says so");
    assert.match(await page.locator("#fb-empty").textContent(), /^暂无评价/);
    assert.equal(await page.locator("#fb-list .fb-item").count(), 0);

    await page.locator("#fb-rating").selectOption("all");
    await visible(page, "#fb-error", "a refused request shows an error");
    assert.equal(await page.locator("#fb-error").textContent(), MESSAGE, "the server's message is shown as it is");

    await page.locator("#fb-rating").selectOption("up");
    await waitList(page, "up");
    assert.ok(await page.locator("#fb-error").isHidden(), "the error goes away with the next good answer");
    assert.match(await page.locator("#fb-empty").textContent(), /^暂无评价/);

    assert.deepEqual(problems, [], "no page errors or server errors");
    assert.deepEqual(rejected, ["GET /api/admin/feedback?rating=all&limit=100 → 400"], "only the stood-in error was refused");
  } finally {
    await context.close();
  }
});

// --- (c) scope: a subtree's staff and admins, not members --------------------------------------

test("评价反馈 for an 组织管理员 lists the feedback of members in their subtree only; anonymous feedback and other 党委 stay hidden; members get the 403 message", { timeout: 420_000 }, async () => {
  const member = await apiSession("member1");
  const sessions = [];
  const { context, page, problems } = await browser.newPage({ desktop: true });
  try {
    const mine = `支部范围评价${STAMP}`;
    const anon = `匿名评价${STAMP}`;
    const asked = await askApi(member, "预备党员的预备期是多长时间？");
    assert.equal((await member.call("POST", `/api/messages/${asked.messageId}/feedback`, { rating: "down", comment: mine })).status, 200);
    // An anonymous visitor's 👎 (no organisation).
    const res = await fetch(`${BASE}/api/chat`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ question: "党员有哪些权利？" }) });
    assert.equal(res.status, 200, "anonymous chat is allowed on the test server");
    const meta = sseEvents(await res.text()).findLast((e) => e.event === "meta").data;
    // Only the asker rates an answer: the visitor sends back the asker cookie its chat got.
    const asker = (res.headers.get("set-cookie") || "").split(";")[0];
    assert.match(asker, /^dwt_asker=[0-9a-f]{64}$/, "the first answer issues the anonymous asker cookie");
    const rate = (cookie) => fetch(`${BASE}/api/messages/${meta.message_id}/feedback`, { method: "POST", headers: { "Content-Type": "application/json", ...(cookie ? { Cookie: cookie } : {}) }, body: JSON.stringify({ rating: "down", comment: anon }) });
    assert.equal((await rate(null)).status, 404, "someone else cannot rate the visitor's answer");
    const fb = await rate(asker);
    assert.ok(fb.ok, `anonymous feedback: ${fb.status}`);

    for (const [user, seesMine] of [["jy_admin", true], ["jy_staff", true], ["wj_admin", false]]) {
      const api = await apiSession(user);
      sessions.push(api);
      const comments = (await api.call("GET", "/api/admin/feedback?rating=down&limit=500")).json.items.map((x) => x.comment);
      assert.equal(comments.includes(mine), seesMine, `${user} sees member1's feedback: ${seesMine}`);
      assert.ok(!comments.includes(anon), `${user} does not see anonymous feedback`);
    }
    await login(page, "jy_admin", { next: "/admin/feedback.html", requireOk: true });
    await waitList(page, "down");
    const texts = await page.locator("#fb-list .fb-comment-text").allTextContents();
    assert.ok(texts.includes(mine), "the page lists the subtree member's comment");
    assert.ok(!texts.includes(anon), "the page does not list anonymous feedback");
    assert.ok(await page.locator("#fb-denied").isHidden(), "no refusal for an 组织管理员");
    assert.deepEqual(problems, [], "no page errors or server errors");

    // 答复人员 open the page too; a member is refused (API 403, the page says so).
    const p2 = await browser.newPage({ desktop: true });
    try {
      await login(p2.page, "jy_staff", { next: "/admin/feedback.html" });
      await p2.page.goto(`${BASE}/admin/feedback.html`);
      await waitList(p2.page, "down");
      assert.ok((await p2.page.locator("#fb-list .fb-comment-text").allTextContents()).includes(mine), "答复人员 see their subtree's feedback");
    } finally {
      await p2.context.close();
    }
    const denied = await member.call("GET", "/api/admin/feedback");
    assert.equal(denied.status, 403);
    const p3 = await browser.newPage();
    try {
      await login(p3.page, "member1", { next: "/admin/feedback.html" });
      await p3.page.goto(`${BASE}/admin/feedback.html`);
      await visible(p3.page, "#no-admin", "a member is told the page is not for them");
      assert.equal(await p3.page.locator("#fb-list .fb-item").count(), 0, "no feedback is shown to a member");
    } finally {
      await p3.context.close();
    }
  } finally {
    await context.close();
    await member.dispose();
    for (const s2 of sessions) await s2.dispose();
  }
});
