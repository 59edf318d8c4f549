// Headless-browser tests of 知识库维护 / 知识切片调优 (admin/kb.html) and 命中测试
// (admin/hit-test.html), against a live `dangwutong serve` whose knowledge base holds the shipped
// regulations (中国共产党章程, 信访工作条例) and whose database holds the demo accounts (every demo
// password is Dwt#Demo2026). scripts/web-test.sh starts such a server on a fresh data dir.
//
//   DWT_TEST_BASE_URL=http://127.0.0.1:8080 node --test web/tests/kb.test.mjs
//
// Chunks are found by their document title and article label (第七条, 第八条), never by id. The
// tests change the knowledge base and put it back: edits are rolled back, the disabled chunk is
// enabled again, and after the last test the split 第七条 of 党章 is merged again (the halves
// join with the line break the split removed, so the text is the shipped one). The document
// uploaded through 上传文档 (named with STAMP) is deleted by the test itself, or through the API
// when the test fails before that. 重新切分 and 已废止/新版本 work on documents their tests upload
// through the API (named with STAMP) and delete afterwards, never on the shipped ones.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { ANSWER_TIMEOUT, apiResponse, apiSession, BASE, bodyOf, loginViaPage as login, path, STAMP, useBrowser, versionDiffs, visible, waitAnswer, waitUntil, sseEvents } from "./support.mjs";

const CHARTER = "中国共产党章程";
const XINFANG = "信访工作条例";
/** Where 第七条 of 党章 is split: its last paragraph starts here. */
const MARKER = "预备党员的预备期，从支部大会";
/** A sentence only the second half of 第七条 holds. */
const PARTY_AGE = "党员的党龄，从预备期满转为正式党员之日算起";
const AGE_QUESTION = "党龄从什么时候开始计算";
const VOTE_QUESTION = "预备党员有没有表决权";
const EDIT_MARK = "（测试修改）";

const browser = useBrowser({
  probe: async () => {
    const r = await fetch(BASE + "/api/admin/kb/documents");
    assert.notEqual(r.status, 404, `GET ${BASE}/api/admin/kb/documents answered 404: this server has no knowledge base admin API yet`);
  },
});

// --- API helpers (set-up, checks and clean-up) ---------------------------------------------------

async function docByTitle(admin, title) {
  const r = await admin.call("GET", "/api/admin/kb/documents");
  assert.equal(r.status, 200, `GET /api/admin/kb/documents as sysadmin: ${JSON.stringify(r.json)}`);
  // Two editions of the 党章 share a title; the one in force is the one answers come from.
  const same = (r.json.items || []).filter((x) => x.title === title);
  const d = same.find((x) => x.status === "current") || same[0];
  assert.ok(d, `the knowledge base should hold 《${title}》 (shipped in knowledge/regulations); it lists: ${(r.json.items || []).map((x) => x.title).join("、")}`);
  return d;
}

async function chunksOf(admin, docId) {
  const r = await admin.call("GET", `/api/admin/kb/documents/${docId}/chunks`);
  assert.equal(r.status, 200, `GET …/documents/${docId}/chunks: ${JSON.stringify(r.json)}`);
  return r.json.chunks || [];
}

/** The one chunk labelled `article` in the document (fails when there is not exactly one). */
async function chunkByArticle(admin, docId, article) {
  const found = (await chunksOf(admin, docId)).filter((c) => c.article === article);
  assert.equal(found.length, 1, `exactly one chunk labelled ${article} expected; found ${found.length}`);
  return found[0];
}

/** The halves of 党章 第七条, splitting it (through the API) when it is still whole. */
async function splitHalves(admin) {
  const doc = await docByTitle(admin, CHARTER);
  let c7 = (await chunksOf(admin, doc.id)).filter((c) => c.article === "第七条");
  let second = c7.find((c) => c.text.startsWith(MARKER));
  if (!second) {
    const whole = c7.find((c) => c.text.indexOf(MARKER) > 0);
    assert.ok(whole, `no 第七条 chunk of 党章 contains “${MARKER}”: ${JSON.stringify(c7.map((c) => c.text.slice(0, 30)))}`);
    const at = Array.from(whole.text.slice(0, whole.text.indexOf(MARKER))).length;
    const r = await admin.call("POST", `/api/admin/kb/chunks/${whole.id}/split`, { at });
    assert.equal(r.status, 200, `splitting 第七条 through the API: ${JSON.stringify(r.json)}`);
    c7 = (await chunksOf(admin, doc.id)).filter((c) => c.article === "第七条");
    second = c7.find((c) => c.text.startsWith(MARKER));
  }
  const i = c7.indexOf(second);
  assert.ok(i > 0, "the second half follows the first one");
  return { doc, first: c7[i - 1], second };
}

async function hitTestApi(admin, q) {
  const r = await admin.call("GET", `/api/admin/kb/hit-test?q=${encodeURIComponent(q)}&top_k=10`);
  assert.equal(r.status, 200, `GET /api/admin/kb/hit-test?q=${q}: ${JSON.stringify(r.json)}`);
  return r.json;
}

/** Puts a chunk back to `version`'s content when it has changed since (clean-up). */
async function restore(admin, chunkId, version, text) {
  const r = await admin.call("GET", `/api/admin/kb/chunks/${chunkId}/versions`);
  if (r.status !== 200 || !(r.json.items || []).length) return;
  const now = r.json.items[0];
  if (now.text === text && now.enabled && !(now.questions || []).length) return;
  await admin.call("POST", `/api/admin/kb/chunks/${chunkId}/rollback`, { version });
}

// After every test: 第七条 of 党章 whole again (as shipped), and enabled.
after(async () => {
  if (!BASE) return;
  const admin = await apiSession("sysadmin");
  try {
    const doc = await docByTitle(admin, CHARTER);
    const chunks = await chunksOf(admin, doc.id);
    const i = chunks.findIndex((c) => c.article === "第七条" && c.text.startsWith(MARKER));
    if (i > 0 && chunks[i - 1].article === "第七条") {
      if (!chunks[i].enabled) await admin.call("POST", `/api/admin/kb/chunks/${chunks[i].id}/enable`);
      await admin.call("POST", `/api/admin/kb/chunks/${chunks[i - 1].id}/merge-next`);
    }
  } finally {
    await admin.dispose();
  }
});

// --- page helpers --------------------------------------------------------------------------------

const card = (page, id) => page.locator(`#kb-chunks .chunk[data-chunk-id="${id}"]`);

/** Waits until kb.html shows the chunks of document `docId` (loaded, not loading). */
async function waitChunks(page, docId) {
  await waitUntil(
    page,
    (id) => {
      const p = document.getElementById("kb-doc");
      return !!p && !p.hidden && p.dataset.docId === id && !p.hasAttribute("aria-busy") && p.querySelectorAll(".chunk[data-chunk-id]").length > 0;
    },
    String(docId),
    `kb.html should show the chunks of document ${docId}`,
  );
}

/** Opens kb.html#doc=ID afresh (a full load, not a same-document hash change). */
async function openDoc(page, docId) {
  await page.goto("about:blank");
  await page.goto(`${BASE}/admin/kb.html#doc=${docId}`);
  await waitChunks(page, docId);
}

/** The message of a chunk card once it matches `re`. */
async function chunkMsg(page, id, re, what) {
  await waitUntil(
    page,
    ([id, src]) => new RegExp(src).test(document.querySelector(`#kb-chunks .chunk[data-chunk-id="${id}"] .chunk-msg`)?.textContent || ""),
    [String(id), re.source],
    what,
  );
  return card(page, id).locator(".chunk-msg").textContent();
}

/**
 * Asks on hit-test.html (#ht-q, #ht-go) and resolves with the rows of #ht-hits:
 * { id, docId, doc, article, text, tags } (tags: the element names inside the snippet).
 */
async function hitTest(page, q) {
  if (path(page) !== "/admin/hit-test.html") await page.goto(BASE + "/admin/hit-test.html");
  await page.locator("#ht-q").fill(q);
  const resp = apiResponse(page, "GET", /^\/api\/admin\/kb\/hit-test$/, 60_000);
  await page.locator("#ht-go").click();
  const r = await resp;
  assert.equal(r.status(), 200, `hit-test for ${q}: ${r.status()} ${JSON.stringify(await bodyOf(r))}`);
  await waitUntil(
    page,
    (q) => { const res = document.getElementById("ht-result"); return !res.hidden && !res.hasAttribute("aria-busy") && res.dataset.question === q; },
    q,
    `the hit-test result for “${q}” did not render`,
  );
  return page.evaluate(() => [...document.querySelectorAll("#ht-hits tr[data-chunk-id]")].map((tr) => ({
    id: Number(tr.dataset.chunkId),
    docId: Number(tr.dataset.docId),
    doc: tr.querySelector(".ht-doc-title")?.textContent || "",
    article: tr.querySelector(".ht-article")?.textContent || "",
    text: tr.querySelector(".ht-fulltext")?.textContent || "",
    tags: [...tr.querySelectorAll(".ht-snippet *")].map((e) => e.tagName.toLowerCase()),
    marks: [...tr.querySelectorAll(".ht-snippet em")].map((e) => e.textContent),
  })));
}

const describe = (hits) => hits.map((h) => `${h.id} ${h.doc}${h.article} “${h.text.slice(0, 16)}…”`).join(" | ");

/**
 * Asks on the chat page; resolves with { mode, answer, sources } once the answer is finished.
 * The stream is read through a route that passes it on unchanged: the browser's copy of an
 * event stream without a charset is not reliably UTF-8 when read back, the network bytes are.
 */
async function ask(page, question) {
  let raw = null;
  await page.route("**/api/chat", async (route) => {
    const resp = await route.fetch({ timeout: ANSWER_TIMEOUT });
    const buf = await resp.body();
    raw = buf.toString("utf8");
    await route.fulfill({ response: resp, body: buf });
  });
  await page.locator("#question").fill(question);
  const chatResp = apiResponse(page, "POST", /^\/api\/chat$/, ANSWER_TIMEOUT);
  await page.locator("#send").click();
  const r = await chatResp;
  assert.equal(r.status(), 200, `POST /api/chat: ${r.status()}`);
  await waitAnswer(page, "the chat answer did not finish");
  await page.unroute("**/api/chat");
  assert.ok(raw, "the chat stream was read");
  const events = sseEvents(raw);
  const meta = events.findLast((e) => e.event === "meta")?.data || {};
  const sources = events.filter((e) => e.event === "sources").flatMap((e) => (Array.isArray(e.data) ? e.data : []));
  const answer = await page.locator("#messages .msg.assistant .bubble").last().textContent();
  return { mode: meta.mode, answer, sources };
}

// --- (a) split, found by hit-testing -------------------------------------------------------------

test("split 党章 第七条 at the cursor; hit-testing finds each half for its question and links to it", { timeout: 180_000 }, async (t) => {
  const admin = await apiSession("sysadmin");
  const { context, page, problems, rejected } = await browser.newPage();
  try {
    const charter = await docByTitle(admin, CHARTER);
    const xinfang = await docByTitle(admin, XINFANG);
    const whole = (await chunksOf(admin, charter.id)).find((c) => c.article === "第七条" && c.text.indexOf(MARKER) > 0);
    assert.ok(whole, `党章 第七条 should be one chunk holding “${MARKER}” after its first paragraphs (is it split already?)`);

    // The documents table.
    await login(page, "sysadmin", { next: "/admin/kb.html", requireOk: true });
    assert.equal(path(page), "/admin/kb.html", "after login the browser returns to ?next=/admin/kb.html");
    await waitUntil(page, (ids) => ids.every((id) => document.querySelector(`#kb-docs tr[data-doc-id="${id}"]`)), [String(charter.id), String(xinfang.id)], "#kb-docs should list 党章 and 信访工作条例");
    assert.ok(await page.locator('.admin-nav a.active[href="/admin/kb.html"]').isVisible(), "the admin menu links 知识库 and marks it active");
    assert.equal(await page.locator('.admin-nav a[href="/admin/hit-test.html"]').count(), 1, "the admin menu links 命中测试");
    assert.equal(await page.locator("#kb-hit-test-link").getAttribute("href"), "/admin/hit-test.html", "kb.html links 命中测试");
    const row = page.locator(`#kb-docs tr[data-doc-id="${charter.id}"]`);
    assert.equal(await row.locator(".kb-doc-open").textContent(), CHARTER);
    assert.equal(await row.locator("select.kb-status").inputValue(), "current", "状态 select shows 现行有效");
    assert.equal(await row.locator("select.kb-status option:checked").textContent(), "现行有效");
    assert.equal(await row.locator("td.c-origin").textContent(), "随产品", "a shipped regulation's 来源 is 随产品");
    assert.equal(await row.locator("td.c-chunks").textContent(), String(charter.chunk_count), "切片数");
    assert.equal(await row.locator("td.c-type").textContent(), "党章", "类型 of the charter");

    // Open its chunks.
    await row.locator(".kb-doc-open").click();
    await waitChunks(page, charter.id);
    assert.equal(new URL(page.url()).hash, `#doc=${charter.id}`, "the chunk view is addressed by #doc=ID");
    assert.equal(await page.locator("#kb-doc-title").textContent(), CHARTER);
    const c = card(page, whole.id);
    assert.equal(await c.getAttribute("data-article"), "第七条");
    assert.equal(await c.locator(".chunk-text").textContent(), whole.text, "the card shows the chunk's text");
    assert.equal(await c.locator(".chunk-version").textContent(), `版本 ${whole.version}`);
    assert.equal(await c.locator(".chunk-state").textContent(), "启用");

    // 拆分: the cursor right before the marker, then 在光标处拆分.
    await c.locator(".chunk-split").click();
    await visible(page, `#kb-chunks .chunk[data-chunk-id="${whole.id}"] .chunk-split-editor`, "拆分 should open the split editor");
    const index = await c.locator(".chunk-split-editor").evaluate((ta, marker) => {
      const i = ta.value.indexOf(marker);
      ta.focus();
      ta.setSelectionRange(i, i);
      ta.dispatchEvent(new Event("select"));
      return i;
    }, MARKER);
    assert.ok(index > 0, "the split editor holds the chunk's text");
    assert.match(await c.locator(".chunk-split-preview").textContent(), /^前一段 \d+ 字，后一段 \d+ 字/, "the split preview names both parts");
    const expectedAt = Array.from(whole.text.slice(0, whole.text.indexOf(MARKER))).length;
    const splitResp = apiResponse(page, "POST", new RegExp(`^/api/admin/kb/chunks/${whole.id}/split$`));
    await c.locator(".chunk-split-do").click();
    const sr = await splitResp;
    const split = await bodyOf(sr);
    assert.equal(sr.status(), 200, `split: ${JSON.stringify(split)}`);
    assert.deepEqual(sr.request().postDataJSON(), { at: expectedAt }, "the split offset counts characters (Unicode scalar values)");
    const firstId = split.first.id;
    const secondId = split.second.id;
    assert.equal(firstId, whole.id, "the first half keeps the chunk");
    assert.notEqual(secondId, whole.id);
    t.diagnostic(`split 第七条 (chunk ${whole.id}) at ${expectedAt}: new chunk ${secondId}`);

    await chunkMsg(page, firstId, /已拆分/, "the first half should say 已拆分");
    const second = card(page, secondId);
    assert.equal(await second.count(), 1, "the new chunk has its card after the reload");
    assert.ok((await second.locator(".chunk-text").textContent()).startsWith(MARKER), "the new chunk starts with the marker");
    assert.equal(await second.getAttribute("data-article"), "第七条", "the second half keeps the article label");
    assert.equal(await second.getAttribute("data-version"), "1", "the new chunk is at version 1");
    assert.ok(!(await card(page, firstId).locator(".chunk-text").textContent()).includes(MARKER), "the first half no longer holds the marker");
    assert.equal(await card(page, firstId).getAttribute("data-version"), String(whole.version + 1), "the first half has a new version");
    const order = await page.locator("#kb-chunks .chunk[data-chunk-id]").evaluateAll((cs) => cs.map((x) => Number(x.dataset.chunkId)));
    assert.equal(order.indexOf(secondId), order.indexOf(firstId) + 1, "the new chunk follows the first half");

    // 命中测试: each half answers its own question.
    await page.goto(BASE + "/admin/hit-test.html");
    assert.ok(await page.locator('.admin-nav a.active[href="/admin/hit-test.html"]').isVisible(), "the admin menu marks 命中测试 active");
    let hits = await hitTest(page, AGE_QUESTION);
    const hit = hits.find((h) => h.id === secondId);
    assert.ok(hit, `hit-testing “${AGE_QUESTION}” should find the new chunk ${secondId}; hits: ${describe(hits)}`);
    assert.ok(hit.text.startsWith(MARKER), `the hit's text starts with “${MARKER}”: ${hit.text}`);
    assert.equal(hit.doc, CHARTER);
    assert.equal(hit.article, "第七条");
    for (const h of hits) assert.deepEqual([...new Set(h.tags)].filter((x) => x !== "em"), [], `a snippet holds only <em> marks (chunk ${h.id})`);
    assert.ok(hits.some((h) => h.marks.length > 0), "snippets mark the matched words with <em>");
    const hitRow = page.locator(`#ht-hits tr[data-chunk-id="${secondId}"]`);
    assert.match(await hitRow.locator("td.c-score").textContent(), /^\d+\.\d{4}$/, "融合得分 is shown");
    assert.match(await hitRow.locator("td.c-coverage").textContent(), /^\d+%$/, "覆盖度 is shown");
    assert.match(await hitRow.locator("td.c-bm25").textContent(), /^(\d+（[\d.-]+）|未命中)$/, "BM25 名次 is shown");
    assert.match(await hitRow.locator("td.c-dense").textContent(), /^(\d+（[\d.-]+）|未命中)$/, "向量名次 is shown");
    assert.match(await page.locator("#ht-faq").textContent(), /常用问答匹配/, "the FAQ section is shown");
    const verdict = page.locator("#ht-faq .ht-faq-verdict");
    if (await verdict.count()) {
      assert.match(await verdict.textContent(), /^(会直接用此问答回答|未达阈值)$/);
      assert.match(await page.locator("#ht-faq .ht-faq-score").textContent(), /^匹配度 [\d.]+ \/ 阈值 [\d.]+$/);
      assert.match(await page.locator("#ht-faq .ht-faq-evidence").textContent(), /^依据：向量相似 [\d.]+ · 词面重合 [\d.]+ · 答案相关 [\d.]+ · 引用条文检索排名 [\d.]+$/);
      assert.match(await page.locator("#ht-faq .ht-faq-kinds").textContent(), /^(问法一致|问法不一致（扣分）：提问问的是“.+”，此问答问的是“.+”)/, "why the pair's kind of question counts");
      t.diagnostic(`FAQ for “${AGE_QUESTION}”: ${await page.locator("#ht-faq .ht-faq-question").textContent()} — ${await verdict.textContent()}`);
    }

    hits = await hitTest(page, VOTE_QUESTION);
    assert.ok(hits.some((h) => h.id === firstId), `hit-testing “${VOTE_QUESTION}” should find the first half ${firstId}; hits: ${describe(hits)}`);

    // 打开切片 → kb.html with that chunk marked.
    hits = await hitTest(page, AGE_QUESTION);
    const open = page.locator(`#ht-hits tr[data-chunk-id="${secondId}"] a.ht-open`);
    assert.equal(await open.getAttribute("href"), `/admin/kb.html#doc=${charter.id}&chunk=${secondId}`);
    await open.click();
    await page.waitForURL((u) => u.pathname === "/admin/kb.html");
    await waitChunks(page, charter.id);
    await visible(page, `#kb-chunks .chunk.target[data-chunk-id="${secondId}"]`, "打开切片 should mark the chunk on kb.html");
    assert.equal(await page.locator("#kb-chunks .chunk.target").count(), 1, "one chunk is marked");

    assert.deepEqual(problems, [], "no page errors or server errors");
    assert.deepEqual(rejected, [], "no request was refused");
  } finally {
    await context.close();
    await admin.dispose();
  }
});

// --- (b) disable: gone from hit-testing and from the chat's sources ------------------------------

test("a disabled chunk vanishes from hit-testing and from the chat's cited sources; enabled again it is back", { timeout: 360_000 }, async (t) => {
  const admin = await apiSession("sysadmin");
  const { context, page, problems, rejected } = await browser.newPage();
  const chat = await browser.newPage({ strictApi: true, checkPageAnswers: false });
  let secondId = null;
  try {
    const { doc, second } = await splitHalves(admin);
    secondId = second.id;
    assert.ok(second.enabled, "the second half of 第七条 is enabled to start with");
    const before = await hitTestApi(admin, AGE_QUESTION);
    assert.ok(before.hits.some((h) => h.chunk_id === secondId), `before: hit-testing finds chunk ${secondId}`);

    await login(page, "sysadmin", { next: `/admin/kb.html#doc=${doc.id}`, requireOk: true });
    await waitChunks(page, doc.id);
    const c = card(page, secondId);
    assert.equal(await c.locator(".chunk-toggle").textContent(), "停用");
    const off = apiResponse(page, "POST", new RegExp(`^/api/admin/kb/chunks/${secondId}/disable$`));
    await c.locator(".chunk-toggle").click();
    const r = await off;
    assert.equal(r.status(), 200, `disable: ${JSON.stringify(await bodyOf(r))}`);
    await chunkMsg(page, secondId, /已停用/, "the card should say 已停用");
    assert.equal(await c.getAttribute("data-enabled"), "false");
    assert.equal(await c.locator(".chunk-state").textContent(), "已停用");
    assert.equal(await c.locator(".chunk-toggle").textContent(), "启用");
    assert.ok(await c.evaluate((e) => e.classList.contains("disabled")), "a disabled chunk's card is greyed");
    assert.equal(await c.getAttribute("data-version"), String(second.version + 1), "disabling makes a new version");

    const hits = await hitTest(page, AGE_QUESTION);
    assert.ok(!hits.some((h) => h.id === secondId), `hit-testing no longer lists the disabled chunk ${secondId}; hits: ${describe(hits)}`);

    // The member chat: no cited source is the disabled chunk or holds its text.
    await chat.page.goto(BASE + "/");
    const a = await ask(chat.page, AGE_QUESTION);
    t.diagnostic(`chat (${a.mode}): ${JSON.stringify(a.answer.slice(0, 80))}; sources: ${a.sources.map((s) => `${s.chunk_id} ${s.doc_title}${s.article || ""}`).join(" | ")}`);
    assert.ok(!a.sources.some((s) => s.chunk_id === secondId), `the chat answer (mode ${a.mode}) must not cite the disabled chunk ${secondId}`);
    for (const s of a.sources) {
      assert.ok(!(s.text || "").includes(PARTY_AGE), `a cited source (chunk ${s.chunk_id}, ${s.doc_title}${s.article || ""}, answer mode ${a.mode}) still shows the disabled chunk's text “${PARTY_AGE}”: ${s.text}`);
    }

    // 启用 again: back in hit-testing.
    await openDoc(page, doc.id);
    const on = apiResponse(page, "POST", new RegExp(`^/api/admin/kb/chunks/${secondId}/enable$`));
    await card(page, secondId).locator(".chunk-toggle").click();
    assert.equal((await on).status(), 200);
    await chunkMsg(page, secondId, /已启用/, "the card should say 已启用");
    assert.equal(await card(page, secondId).getAttribute("data-enabled"), "true");
    const again = await hitTest(page, AGE_QUESTION);
    assert.ok(again.some((h) => h.id === secondId), `enabled again, chunk ${secondId} is found again; hits: ${describe(again)}`);

    assert.deepEqual(problems, [], "no page errors or server errors");
    assert.deepEqual(rejected, [], "no request was refused");
    assert.deepEqual(chat.problems, [], "no chat page errors or failed API calls");
  } finally {
    if (secondId != null) await admin.call("POST", `/api/admin/kb/chunks/${secondId}/enable`);
    await chat.context.close();
    await context.close();
    await admin.dispose();
  }
});

// --- (c) edit, then roll back --------------------------------------------------------------------

test("edit 党章 第八条, see the new version, roll it back from 历史; hit-testing follows", { timeout: 180_000 }, async () => {
  const admin = await apiSession("sysadmin");
  const { context, page, problems, rejected } = await browser.newPage();
  let c8 = null;
  try {
    const doc = await docByTitle(admin, CHARTER);
    c8 = await chunkByArticle(admin, doc.id, "第八条");
    assert.ok(!c8.text.includes(EDIT_MARK), "第八条 is unedited to start with");
    const edited = c8.text + EDIT_MARK;

    await login(page, "sysadmin", { next: `/admin/kb.html#doc=${doc.id}`, requireOk: true });
    await waitChunks(page, doc.id);
    const c = card(page, c8.id);
    await c.locator(".chunk-edit").click();
    const editor = c.locator("textarea.chunk-editor");
    await visible(page, `#kb-chunks .chunk[data-chunk-id="${c8.id}"] textarea.chunk-editor`, "编辑 should open the editor");
    assert.equal(await editor.inputValue(), c8.text, "the editor holds the chunk's text");
    await editor.fill(edited);
    const put = apiResponse(page, "PUT", new RegExp(`^/api/admin/kb/chunks/${c8.id}$`));
    await c.locator(".chunk-save").click();
    const r = await put;
    assert.equal(r.status(), 200, `save: ${JSON.stringify(await bodyOf(r))}`);
    assert.deepEqual(r.request().postDataJSON(), { version: c8.version, text: edited }, "the save sends the edited version and only what changed");
    await chunkMsg(page, c8.id, /已保存/, "the card should say 已保存");
    assert.equal(await c.getAttribute("data-version"), String(c8.version + 1), "the version went up by one");
    assert.equal(await c.locator(".chunk-version").textContent(), `版本 ${c8.version + 1}`);
    assert.equal(await c.locator(".chunk-text").textContent(), edited, "the card shows the new text");

    let hits = await hitTest(page, "测试修改");
    assert.ok(hits.some((h) => h.id === c8.id && h.text.includes(EDIT_MARK)), `the edit is searchable at once; hits: ${describe(hits)}`);

    // 历史 → 回滚到此版本 (the version before the edit).
    await openDoc(page, doc.id);
    await c.locator(".chunk-history").click();
    await waitUntil(page, (id) => { const b = document.querySelector(`#kb-chunks .chunk[data-chunk-id="${id}"] .chunk-history-box`); return !!b && !b.hasAttribute("aria-busy"); }, String(c8.id), "历史 should load the versions");
    const versions = await c.locator(".chunk-version-item").evaluateAll((xs) => xs.map((x) => Number(x.dataset.version)));
    assert.deepEqual(versions.slice(0, 2), [c8.version + 1, c8.version], "the history lists the versions newest first");
    assert.equal(await c.locator(`.chunk-version-item[data-version="${c8.version + 1}"] .chunk-rollback`).count(), 0, "the current version offers no rollback");
    assert.match(await c.locator(`.chunk-version-item[data-version="${c8.version + 1}"]`).textContent(), /编辑/, "the newest version is the edit");
    // The edit against the version before it: the appended words as <ins>, nothing deleted.
    let diffs = await versionDiffs(c.locator(".chunk-version-item"));
    assert.equal(diffs[0].against, c8.version, "the edit is compared with the version before it");
    assert.equal(diffs[0].caption, `与版本 ${c8.version} 相比：`);
    assert.deepEqual(Object.keys(diffs[0].fields), ["text"], `only the text changed: ${JSON.stringify(diffs[0].fields)}`);
    assert.equal(diffs[0].fields.text.label, "切片内容：");
    assert.deepEqual(diffs[0].fields.text.ins, [EDIT_MARK], "the added words are marked as inserted");
    assert.deepEqual(diffs[0].fields.text.del, [], "nothing is marked as deleted");
    assert.deepEqual(diffs[0].sr, ["［新增：", "］"], "screen readers hear 新增");
    const newest = c.locator(`.chunk-version-item[data-version="${c8.version + 1}"]`);
    assert.equal(await newest.locator("ins.diff-ins").evaluate((e) => getComputedStyle(e).backgroundColor), "rgb(217, 247, 190)", "an insertion is shown on green");
    if (c8.text.length > 100) {
      assert.ok(await newest.locator(".chunk-version-diff .diff-cut").count(), "the long unchanged text before the change is shortened");
    }
    const back = apiResponse(page, "POST", new RegExp(`^/api/admin/kb/chunks/${c8.id}/rollback$`));
    await c.locator(`.chunk-rollback[data-version="${c8.version}"]`).click();
    const rb = await back;
    assert.equal(rb.status(), 200, `rollback: ${JSON.stringify(await bodyOf(rb))}`);
    assert.deepEqual(rb.request().postDataJSON(), { version: c8.version });
    await chunkMsg(page, c8.id, /已回滚/, "the card should say 已回滚");
    assert.equal(await c.locator(".chunk-text").textContent(), c8.text, "the original text is back");
    assert.equal(await c.getAttribute("data-version"), String(c8.version + 2), "the rollback is a further version");
    // Its history: the rollback deletes the edit's words again; rollback is offered for the older versions.
    await c.locator(".chunk-history").click();
    await waitUntil(page, (id) => { const b = document.querySelector(`#kb-chunks .chunk[data-chunk-id="${id}"] .chunk-history-box`); return !!b && !b.hasAttribute("aria-busy"); }, String(c8.id), "历史 should load the versions again");
    diffs = await versionDiffs(c.locator(".chunk-version-item"));
    assert.deepEqual(diffs.slice(0, 2).map((d) => d.version), [c8.version + 2, c8.version + 1]);
    assert.deepEqual([diffs[0].fields.text?.del, diffs[0].fields.text?.ins], [[EDIT_MARK], []], `the rollback removes the added words: ${JSON.stringify(diffs[0].fields)}`);
    assert.equal(await c.locator(`.chunk-rollback[data-version="${c8.version + 1}"]`).count(), 1, "the edit can be rolled back to in turn");

    hits = await hitTest(page, "测试修改");
    assert.ok(!hits.some((h) => h.text.includes(EDIT_MARK)), `after the rollback no hit holds the edit; hits: ${describe(hits)}`);

    assert.deepEqual(problems, [], "no page errors or server errors");
    assert.deepEqual(rejected, [], "no request was refused");
  } finally {
    if (c8) await restore(admin, c8.id, c8.version, c8.text);
    await context.close();
    await admin.dispose();
  }
});

test("questions added to 党章 第九条 on its card make hit-testing find it first for them", { timeout: 180_000 }, async () => {
  const admin = await apiSession("sysadmin");
  const { context, page, problems, rejected } = await browser.newPage();
  let c9 = null;
  const QUESTION = "不想当党员了怎么办";
  try {
    const doc = await docByTitle(admin, CHARTER);
    c9 = await chunkByArticle(admin, doc.id, "第九条");
    await login(page, "sysadmin", { next: `/admin/kb.html#doc=${doc.id}`, requireOk: true });
    await waitChunks(page, doc.id);
    const c = card(page, c9.id);
    await c.locator(".chunk-edit").click();
    await visible(page, `#kb-chunks .chunk[data-chunk-id="${c9.id}"] textarea.chunk-questions-input`, "the editor has a questions field");
    await c.locator("textarea.chunk-questions-input").fill(QUESTION + "\n退党手续");
    const put = apiResponse(page, "PUT", new RegExp(`^/api/admin/kb/chunks/${c9.id}$`));
    await c.locator(".chunk-save").click();
    const r = await put;
    assert.equal(r.status(), 200, `save: ${JSON.stringify(await bodyOf(r))}`);
    assert.deepEqual(r.request().postDataJSON(), { version: c9.version, questions: [QUESTION, "退党手续"] }, "only the questions are sent");
    await chunkMsg(page, c9.id, /已保存/, "the card should say 已保存");
    const hits = await hitTest(page, QUESTION);
    assert.equal(hits[0]?.id, c9.id, `the added question finds 第九条 first; hits: ${describe(hits)}`);
    assert.deepEqual(problems, [], "no page errors or server errors");
    assert.deepEqual(rejected, [], "no request was refused");
  } finally {
    if (c9) await restore(admin, c9.id, c9.version, c9.text);
    await context.close();
    await admin.dispose();
  }
});

// --- (d) a stale edit --------------------------------------------------------------------------------

test("saving over someone else's newer edit shows the 409 message and 刷新 loads the latest version", { timeout: 180_000 }, async () => {
  const admin = await apiSession("sysadmin");
  const a = await browser.newPage();
  const b = await browser.newPage();
  let c7 = null;
  try {
    const doc = await docByTitle(admin, XINFANG);
    c7 = await chunkByArticle(admin, doc.id, "第七条");
    for (const p of [a, b]) {
      await login(p.page, "sysadmin", { next: `/admin/kb.html#doc=${doc.id}`, requireOk: true });
      await waitChunks(p.page, doc.id);
      await card(p.page, c7.id).locator(".chunk-edit").click();
      await visible(p.page, `#kb-chunks .chunk[data-chunk-id="${c7.id}"] textarea.chunk-editor`, "编辑 should open the editor");
    }
    const mine = c7.text + "（甲）";
    const theirs = c7.text + "（乙）";

    await card(a.page, c7.id).locator("textarea.chunk-editor").fill(mine);
    let put = apiResponse(a.page, "PUT", new RegExp(`^/api/admin/kb/chunks/${c7.id}$`));
    await card(a.page, c7.id).locator(".chunk-save").click();
    assert.equal((await put).status(), 200, "the first save succeeds");
    await chunkMsg(a.page, c7.id, /已保存/, "the first page should say 已保存");

    const cb = card(b.page, c7.id);
    await cb.locator("textarea.chunk-editor").fill(theirs);
    put = apiResponse(b.page, "PUT", new RegExp(`^/api/admin/kb/chunks/${c7.id}$`));
    await cb.locator(".chunk-save").click();
    const r = await put;
    const body = await bodyOf(r);
    assert.equal(r.status(), 409, `the stale save is refused: ${JSON.stringify(body)}`);
    assert.equal(body.code, "kb.chunk_version_conflict");
    assert.deepEqual(r.request().postDataJSON(), { version: c7.version, text: theirs }, "the stale save sent the version it edited");
    const msg = await chunkMsg(b.page, c7.id, /已被他人修改/, "the second page should show the conflict message");
    assert.ok(msg.includes(body.message), `the server's message is shown: ${msg}`);
    assert.equal(await cb.locator(".chunk-msg").getAttribute("role"), "alert");
    assert.equal(await cb.locator("textarea.chunk-editor").inputValue(), theirs, "the unsaved text stays in the editor");

    // 刷新: the latest version in the editor, the unsaved text kept aside.
    await cb.locator(".chunk-refresh").click();
    await chunkMsg(b.page, c7.id, /已载入最新内容/, "刷新 should load the latest version");
    assert.equal(await cb.getAttribute("data-version"), String(c7.version + 1));
    assert.equal(await cb.locator(".chunk-text").textContent(), mine, "the card shows the other edit");
    assert.equal(await cb.locator("textarea.chunk-editor").inputValue(), mine, "the editor now holds the latest text");
    assert.equal(await cb.locator("textarea.chunk-draft-text").inputValue(), theirs, "the unsaved text is kept to copy from");

    assert.deepEqual(a.problems, [], "no page errors or server errors (first page)");
    assert.deepEqual(b.problems, [], "no page errors or server errors (second page)");
    assert.deepEqual(a.rejected, [], "nothing refused on the first page");
    assert.deepEqual(b.rejected, [`PUT /api/admin/kb/chunks/${c7.id} → 409`], "only the stale save was refused");
  } finally {
    if (c7) await restore(admin, c7.id, c7.version, c7.text);
    await a.context.close();
    await b.context.close();
    await admin.dispose();
  }
});

// --- (e) not for an 组织管理员 -------------------------------------------------------------------

test("an 组织管理员 opening 知识库 or 命中测试 sees the server's 403 message", { timeout: 90_000 }, async () => {
  const admin = await apiSession("sysadmin");
  const jy = await apiSession("jy_admin");
  const { context, page, problems, rejected } = await browser.newPage();
  try {
    const doc = await docByTitle(admin, CHARTER);
    const list = await jy.call("GET", "/api/admin/kb/documents");
    assert.equal(list.status, 403, "GET /api/admin/kb/documents is for 系统管理员 only");
    assert.equal(list.json.code, "auth.forbidden");
    assert.match(list.json.message, /[\u4e00-\u9fff]/, "the 403 carries a Chinese message");

    await login(page, "jy_admin", { next: "/admin/kb.html", requireOk: true });
    assert.equal(path(page), "/admin/kb.html");
    await visible(page, "#kb-denied", "an 组织管理员 should be told that the page is not for it");
    assert.equal(await page.locator("#kb-denied-text").textContent(), list.json.message, "the page shows the server's message");
    assert.ok(await page.locator("#kb-docs").isHidden(), "the documents table is not shown");
    assert.ok(await page.locator("#me-name").textContent(), "the header is filled (the page did not crash)");

    // A document's chunks, opened directly.
    await page.goto("about:blank");
    await page.goto(`${BASE}/admin/kb.html#doc=${doc.id}`);
    await visible(page, "#kb-denied", "the chunk view is refused too");
    assert.equal(await page.locator("#kb-denied-text").textContent(), list.json.message);
    assert.ok(await page.locator("#kb-doc").isHidden(), "no chunks are shown");

    // 命中测试: the question is refused with the same message.
    await page.goto(BASE + "/admin/hit-test.html");
    await page.locator("#ht-q").fill(AGE_QUESTION);
    await page.locator("#ht-go").click();
    await visible(page, "#ht-denied", "hit-testing is refused");
    assert.equal(await page.locator("#ht-denied-text").textContent(), list.json.message);

    assert.deepEqual(problems, [], "no page errors or server errors");
    assert.deepEqual(rejected, [
      "GET /api/admin/kb/documents → 403",
      `GET /api/admin/kb/documents/${doc.id}/chunks → 403`,
      `GET /api/admin/kb/hit-test?q=${encodeURIComponent(AGE_QUESTION)}&top_k=10 → 403`,
    ], "only the knowledge base requests were refused");
  } finally {
    await context.close();
    await jy.dispose();
    await admin.dispose();
  }
});

// --- (f) 上传文档 and 删除 --------------------------------------------------------------------------

/** Waits until kb.html has listed the documents (loaded, not loading). */
async function waitDocs(page) {
  await waitUntil(
    page,
    () => {
      const list = document.getElementById("kb-list");
      return !!list && !list.hidden && !list.hasAttribute("aria-busy") && document.querySelectorAll("#kb-doc-rows tr[data-doc-id]").length > 0;
    },
    undefined,
    "kb.html should list the documents",
  );
}

test("上传文档 adds a .md file through the page (searchable at once); 删除 removes it after the confirmation", { timeout: 240_000 }, async (t) => {
  const admin = await apiSession("sysadmin");
  const { context, page, problems, rejected } = await browser.newPage({ desktop: true });
  const name = `web-test-upload-${STAMP}.md`;
  const title = `网页上传测试文档${STAMP}`;
  const phrase = "上传测试专用条款";
  const content = `# ${title}\n\n## 第一章 总则\n\n第一条 ${phrase}：支部每季度至少组织一次线上学习（${STAMP}），本文件仅用于自动化测试。\n`;
  const bad = `web-test-upload-${STAMP}.xyz`;
  let docId = null;
  try {
    await login(page, "sysadmin", { next: "/admin/kb.html", requireOk: true });
    await waitDocs(page);
    assert.equal(await page.locator("#kb-upload").textContent(), "上传文档");
    const accept = (await page.locator("#kb-upload-file").getAttribute("accept")).split(",");
    for (const ext of [".md", ".txt", ".html", ".htm", ".docx", ".pdf"]) assert.ok(accept.includes(ext), `the file input accepts ${ext}: ${accept}`);

    // Nothing chosen: the page says so and sends nothing.
    await page.locator("#kb-upload").click();
    await visible(page, "#kb-upload-report .error", "上传文档 without a file should ask for one");
    assert.match(await page.locator("#kb-upload-report").textContent(), /请先选择/);

    // A type the server does not take: its Chinese message is shown, nothing is added.
    await page.locator("#kb-upload-file").setInputFiles({ name: bad, mimeType: "application/octet-stream", buffer: Buffer.from("不是文档") });
    let resp = apiResponse(page, "POST", /^\/api\/admin\/kb\/documents\/upload$/, 60_000);
    await page.locator("#kb-upload").click();
    let r = await resp;
    const refusal = await bodyOf(r);
    assert.equal(r.status(), 400, `uploading ${bad}: ${JSON.stringify(refusal)}`);
    assert.match(refusal.message, /[\u4e00-\u9fff]/, "the refusal carries a Chinese message");
    await waitUntil(page, (m) => (document.querySelector("#kb-upload-report .error")?.textContent || "").includes(m), refusal.message, "the server's refusal should be shown");
    assert.equal(await page.locator("#kb-upload-report .error").getAttribute("role"), "alert");

    // The .md file: raw bytes, its name in ?filename=.
    const bytes = Buffer.from(content, "utf8");
    await page.locator("#kb-upload-file").setInputFiles({ name, mimeType: "text/markdown", buffer: bytes });
    resp = apiResponse(page, "POST", /^\/api\/admin\/kb\/documents\/upload$/, ANSWER_TIMEOUT);
    await page.locator("#kb-upload").click();
    r = await resp;
    const up = await bodyOf(r);
    assert.equal(r.status(), 200, `upload: ${JSON.stringify(up)}`);
    docId = up.document.id;
    t.diagnostic(`uploaded ${name} as document ${docId}: ${JSON.stringify(up.outcome)}`);
    assert.equal(new URL(r.url()).searchParams.get("filename"), name, "the file name is sent as ?filename=");
    assert.equal(r.request().headers()["content-type"], "application/octet-stream");
    assert.equal(up.document.key, `upload:${name}`);
    assert.equal(up.document.title, title, "the title comes from the file's heading");
    assert.equal(up.outcome.outcome, "added");
    assert.ok(up.outcome.chunks >= 1, "the document has chunks");
    // The body was the file's raw bytes: its text is what the server chunked.
    const stored = await chunksOf(admin, docId);
    assert.ok(stored.some((c) => c.text.includes(`${phrase}：支部每季度至少组织一次线上学习（${STAMP}）`)), `the uploaded text is in the chunks: ${JSON.stringify(stored.map((c) => c.text))}`);

    await waitUntil(page, () => document.getElementById("kb-upload-report").dataset.kind === "ok", undefined, "the upload result should be shown");
    assert.equal(await page.locator("#kb-upload-report .kb-upload-text").textContent(), `已上传《${title}》：新增文档，共 ${up.outcome.chunks} 个切片。`);
    assert.equal(await page.locator("#kb-upload-report a.kb-upload-open").getAttribute("href"), `#doc=${docId}`);
    assert.equal(await page.locator("#kb-upload-file").inputValue(), "", "the file input is cleared");
    const row = page.locator(`#kb-docs tr[data-doc-id="${docId}"]`);
    await visible(page, `#kb-docs tr[data-doc-id="${docId}"]`, "the list should show the uploaded document");
    assert.equal(await row.locator(".kb-doc-open").textContent(), title);
    assert.equal(await row.locator("td.c-origin").textContent(), "上传", "an uploaded document's 来源 is 上传");
    assert.equal(await row.locator("td.c-chunks").textContent(), String(up.outcome.chunks), "切片数");
    assert.ok(await row.evaluate((tr) => tr.classList.contains("flash")), "the new row is marked");

    // It is in the knowledge base and searchable at once.
    const listed = (await admin.call("GET", "/api/admin/kb/documents")).json.items.find((d) => d.id === docId);
    assert.equal(listed?.key, `upload:${name}`, "GET /api/admin/kb/documents lists it");
    assert.equal(listed.origin, "upload");
    const before = await hitTestApi(admin, phrase);
    assert.ok(before.hits.some((h) => h.doc_id === docId), `hit-testing “${phrase}” finds the uploaded document ${docId}; hits: ${before.hits.map((h) => `${h.doc_id}/${h.chunk_id}`).join(" ")}`);

    // 删除: 取消 keeps it (nothing sent), 删除 removes it.
    const deletes = [];
    page.on("request", (q) => { if (q.method() === "DELETE") deletes.push(new URL(q.url()).pathname); });
    await row.locator("button.kb-delete").click();
    await visible(page, "#confirm-dialog", "删除 should ask for a confirmation");
    assert.match(await page.locator("#confirm-text").textContent(), new RegExp(`删除《${title}》？文档删除后不可恢复`));
    await page.locator("#confirm-cancel").click();
    await waitUntil(page, () => !document.getElementById("confirm-dialog").open, undefined, "取消 closes the confirmation");
    assert.deepEqual(deletes, [], "取消 sends nothing");
    assert.equal(await row.count(), 1, "取消 keeps the document");

    await row.locator("button.kb-delete").click();
    await visible(page, "#confirm-dialog", "删除 should ask again");
    const del = apiResponse(page, "DELETE", new RegExp(`^/api/admin/kb/documents/${docId}$`), 60_000);
    await page.locator("#confirm-ok").click();
    const d = await del;
    assert.equal(d.status(), 200, `delete: ${JSON.stringify(await bodyOf(d))}`);
    await waitUntil(page, (id) => !document.querySelector(`#kb-docs tr[data-doc-id="${id}"]`) && !document.getElementById("kb-list").hasAttribute("aria-busy"), String(docId), "the deleted document should leave the list");
    assert.match(await page.locator("#toast").textContent(), new RegExp(`已删除《${title}》`));

    // Gone everywhere (API): the list, its chunks, hit-testing.
    const after = await admin.call("GET", "/api/admin/kb/documents");
    assert.ok(!after.json.items.some((x) => x.id === docId || x.key === `upload:${name}`), "GET /api/admin/kb/documents no longer lists it");
    assert.equal((await admin.call("GET", `/api/admin/kb/documents/${docId}/chunks`)).status, 404, "its chunks are gone");
    const gone = await hitTestApi(admin, phrase);
    assert.ok(!gone.hits.some((h) => h.doc_id === docId), "hit-testing no longer finds it");
    docId = null;

    assert.deepEqual(problems, [], "no page errors or server errors");
    assert.deepEqual(rejected, [`POST /api/admin/kb/documents/upload?filename=${encodeURIComponent(bad)} → 400`], "only the unsupported file was refused");
  } finally {
    if (docId != null) await admin.call("DELETE", `/api/admin/kb/documents/${docId}`);
    await context.close();
    await admin.dispose();
  }
});

// --- (g) 重新切分: preview, apply, a stale preview ---------------------------------------------------

/** Uploads a UTF-8 file through the API (set-up); resolves with the document row. */
async function uploadApi(admin, name, content) {
  const res = await admin.ctx.fetch(`/api/admin/kb/documents/upload?filename=${encodeURIComponent(name)}`, {
    method: "POST",
    data: Buffer.from(content, "utf8"),
    headers: { "X-CSRF-Token": admin.csrf, "content-type": "application/octet-stream" },
    timeout: ANSWER_TIMEOUT,
  });
  const text = await res.text();
  assert.equal(res.status(), 200, `uploading ${name} through the API: ${text}`);
  return JSON.parse(text).document;
}

/** What a chunk list is compared by (everything the API lists of a chunk). */
const chunkState = (cs) => cs.map((c) => ({ id: c.id, version: c.version, enabled: c.enabled, article: c.article, heading_path: c.heading_path, text: c.text, questions: c.questions || [] }));

test("重新切分: the preview (120 词元, 按普通文本) matches the API and changes nothing; 应用 puts exactly the drafts in place; a stale preview shows the 409 message", { timeout: 240_000 }, async (t) => {
  // Not 信访工作条例: other tests find its chunks by their 第X条 labels, which 按普通文本 drops.
  const admin = await apiSession("sysadmin");
  const { context, page, problems, rejected } = await browser.newPage({ desktop: true });
  const title = `重新切分测试文档${STAMP}`;
  const content = [
    `# ${title}`,
    "",
    "## 第一章 总则",
    "",
    "第一条 为了规范支部组织生活，提高组织生活质量，结合本单位实际，制定本办法，本办法仅用于网页自动化测试。",
    "",
    "第二条 支部组织生活包括支部党员大会、支委会、党小组会和党课，以及主题党日、组织生活会和民主评议党员。",
    "",
    "第三条 支部应当每月相对固定一天开展主题党日，组织党员集中学习、过组织生活、进行民主议事和志愿服务。",
    "",
    "## 第二章 组织实施",
    "",
    "第四条 支部书记是组织生活的第一责任人，应当提前谋划组织生活的主题和内容，做好会前准备和会后落实。",
    "",
    "第五条 党员因故不能参加组织生活的，应当向支部书记请假；无故连续六个月不参加组织生活的，按照有关规定处理。",
    "",
    "第六条 本办法由支部委员会负责解释，自发布之日起施行，测试结束后即行删除。",
    "",
  ].join("\n");
  let docId = null;
  try {
    const doc = await uploadApi(admin, `web-test-rechunk-${STAMP}.md`, content);
    docId = doc.id;
    let chunks = await chunksOf(admin, docId);
    assert.deepEqual(chunks.map((c) => c.article), ["第一条", "第二条", "第三条", "第四条", "第五条", "第六条"], "the uploaded document is cut by article");
    // One chunk disabled, one with added questions: the preview says both are lost.
    let r = await admin.call("POST", `/api/admin/kb/chunks/${chunks[5].id}/disable`);
    assert.equal(r.status, 200, `disable: ${JSON.stringify(r.json)}`);
    r = await admin.call("PUT", `/api/admin/kb/chunks/${chunks[0].id}`, { version: chunks[0].version, questions: ["组织生活办法是干什么的"] });
    assert.equal(r.status, 200, `questions: ${JSON.stringify(r.json)}`);
    const before = chunkState(await chunksOf(admin, docId));

    await login(page, "sysadmin", { next: `/admin/kb.html#doc=${docId}`, requireOk: true });
    await waitChunks(page, docId);
    await page.locator("#kb-rechunk > summary").click();
    await visible(page, "#kb-rechunk-tokens", "重新切分 should open its settings");
    assert.ok(await page.locator("#kb-rechunk-apply").isDisabled(), "应用 waits for a preview");

    // A size out of range: the server's message.
    await page.locator("#kb-rechunk-tokens").fill("10");
    let resp = apiResponse(page, "POST", new RegExp(`^/api/admin/kb/documents/${docId}/rechunk$`), 60_000);
    await page.locator("#kb-rechunk-preview").click();
    r = await resp;
    const tooSmall = await bodyOf(r);
    assert.equal(r.status(), 400, `preview at 10 tokens: ${JSON.stringify(tooSmall)}`);
    assert.equal(tooSmall.code, "kb.bad_rechunk_size");
    await waitUntil(page, (m) => (document.getElementById("kb-rechunk-msg")?.textContent || "") === m, tooSmall.message, "the size refusal should be shown");
    assert.ok(await page.locator("#kb-rechunk-apply").isDisabled(), "nothing to apply after a refusal");

    await page.locator("#kb-rechunk-tokens").fill("120");
    await page.locator("#kb-rechunk-plain").check();

    // 预览: the server's plan on the page; nothing changed.
    resp = apiResponse(page, "POST", new RegExp(`^/api/admin/kb/documents/${docId}/rechunk$`), 60_000);
    await page.locator("#kb-rechunk-preview").click();
    r = await resp;
    const shown = await bodyOf(r);
    assert.equal(r.status(), 200, `preview: ${JSON.stringify(shown)}`);
    assert.deepEqual(r.request().postDataJSON(), { text_tokens: 120, plain: true }, "预览 sends the settings, without apply");
    await waitUntil(page, () => !document.getElementById("kb-rechunk-result").hidden && !document.getElementById("kb-rechunk").hasAttribute("aria-busy"), undefined, "the preview should be shown");
    const api = (await admin.call("POST", `/api/admin/kb/documents/${docId}/rechunk`, { text_tokens: 120, plain: true })).json;
    t.diagnostic(`preview: ${api.before} → ${api.drafts.length} chunks (${api.drafts.map((d) => d.token_count).join("/")} tokens)`);
    assert.equal(api.applied, false);
    assert.equal(api.basis, shown.basis, "an identical preview has the same basis");
    assert.deepEqual(shown.drafts, api.drafts, "an identical preview has the same drafts");
    assert.equal(api.before, before.length);
    assert.deepEqual([api.disabled_dropped, api.questions_dropped], [1, 1], "one disabled chunk and one chunk with questions are lost");
    assert.ok(api.drafts.every((d) => d.article === null), "按普通文本 drops the article labels");
    assert.equal(await page.locator("#kb-rechunk-summary").textContent(), `当前 ${api.before} 个切片 → 预览 ${api.drafts.length} 个切片`);
    assert.deepEqual(await page.locator("#kb-rechunk-warnings li").allTextContents(), [
      `${api.disabled_dropped} 个已停用切片不会保留`,
      `${api.questions_dropped} 个切片上的检索问题/关键词不会保留`,
    ]);
    assert.deepEqual(await page.locator("#kb-rechunk-drafts .kb-rechunk-draft-text").allTextContents(), api.drafts.map((d) => d.text), "the drafts are listed with their texts");
    assert.deepEqual(await page.locator("#kb-rechunk-drafts .kb-rechunk-draft-tokens").allTextContents(), api.drafts.map((d) => `${d.token_count} 词元`), "each draft shows its token count");
    assert.equal(await page.locator("#kb-rechunk-drafts").evaluate((e) => getComputedStyle(e).overflowY), "auto", "the drafts list scrolls");
    assert.ok(await page.locator("#kb-rechunk-apply").isEnabled(), "应用 is offered after the preview");
    assert.deepEqual(chunkState(await chunksOf(admin, docId)), before, "a preview changes nothing");

    // Changing a setting voids the preview until 预览 again.
    await page.locator("#kb-rechunk-tokens").fill("121");
    assert.ok(await page.locator("#kb-rechunk-apply").isDisabled(), "a changed size voids the preview");
    assert.match(await page.locator("#kb-rechunk-msg").textContent(), /请重新预览/);
    await page.locator("#kb-rechunk-tokens").fill("120");
    assert.ok(await page.locator("#kb-rechunk-apply").isDisabled(), "the old preview stays void");
    resp = apiResponse(page, "POST", new RegExp(`^/api/admin/kb/documents/${docId}/rechunk$`), 60_000);
    await page.locator("#kb-rechunk-preview").click();
    assert.equal((await resp).status(), 200);
    await waitUntil(page, () => !document.getElementById("kb-rechunk-apply").disabled, undefined, "预览 again offers 应用");

    // 应用 after the confirmation: exactly the previewed drafts.
    await page.locator("#kb-rechunk-apply").click();
    await visible(page, "#confirm-dialog", "应用 should ask for a confirmation");
    assert.match(await page.locator("#confirm-text").textContent(), new RegExp(`^按预览结果重新切分《${title}》？当前 ${api.before} 个切片将被替换为 ${api.drafts.length} 个新切片`));
    resp = apiResponse(page, "POST", new RegExp(`^/api/admin/kb/documents/${docId}/rechunk$`), 60_000);
    await page.locator("#confirm-ok").click();
    r = await resp;
    const applied = await bodyOf(r);
    assert.equal(r.status(), 200, `apply: ${JSON.stringify(applied)}`);
    assert.deepEqual(r.request().postDataJSON(), { text_tokens: 120, plain: true, apply: true, basis: api.basis }, "应用 sends the preview's settings and basis");
    assert.equal(applied.applied, true);
    await waitUntil(page, () => /已重新切分/.test(document.getElementById("toast")?.textContent || ""), undefined, "应用 should say 已重新切分");
    assert.equal(await page.locator("#toast").textContent(), `已重新切分《${title}》：${api.before} 个切片 → ${api.drafts.length} 个切片。`);
    chunks = await chunksOf(admin, docId);
    assert.deepEqual(chunks.map((c) => c.text), api.drafts.map((d) => d.text), "the chunks are the previewed drafts");
    assert.ok(chunks.every((c) => c.enabled && c.version === 1 && c.article === null && !(c.questions || []).length), "new chunks: enabled, version 1, no label, no questions");
    await waitUntil(page, (n) => document.querySelectorAll("#kb-chunks .chunk[data-chunk-id]").length === n && !document.getElementById("kb-doc").hasAttribute("aria-busy"), chunks.length, "the chunk list should be reloaded");
    assert.deepEqual(await page.locator("#kb-chunks .chunk .chunk-text").allTextContents(), api.drafts.map((d) => d.text), "the page lists the new chunks");
    assert.ok(await page.locator("#kb-rechunk-apply").isDisabled(), "the applied preview cannot be applied again");

    // A stale preview: a chunk edited (API) after 预览 → 应用 shows the server's 409 message.
    resp = apiResponse(page, "POST", new RegExp(`^/api/admin/kb/documents/${docId}/rechunk$`), 60_000);
    await page.locator("#kb-rechunk-preview").click();
    assert.equal((await resp).status(), 200);
    await waitUntil(page, () => !document.getElementById("kb-rechunk-apply").disabled, undefined, "a new preview offers 应用");
    const edited = chunks[0].text + "（预览后修改）";
    r = await admin.call("PUT", `/api/admin/kb/chunks/${chunks[0].id}`, { version: chunks[0].version, text: edited });
    assert.equal(r.status, 200, `edit after the preview: ${JSON.stringify(r.json)}`);
    const afterEdit = chunkState(await chunksOf(admin, docId));
    await page.locator("#kb-rechunk-apply").click();
    await visible(page, "#confirm-dialog", "应用 asks again");
    resp = apiResponse(page, "POST", new RegExp(`^/api/admin/kb/documents/${docId}/rechunk$`), 60_000);
    await page.locator("#confirm-ok").click();
    r = await resp;
    const stale = await bodyOf(r);
    assert.equal(r.status(), 409, `the stale apply is refused: ${JSON.stringify(stale)}`);
    assert.equal(stale.code, "kb.rechunk_stale");
    assert.match(stale.message, /[\u4e00-\u9fff]/, "the refusal carries a Chinese message");
    await waitUntil(page, (m) => (document.getElementById("kb-rechunk-msg")?.textContent || "") === m, stale.message, "the server's message should be shown");
    assert.equal(await page.locator("#kb-rechunk-msg").getAttribute("role"), "alert");
    assert.ok(await page.locator("#kb-rechunk-apply").isDisabled(), "the stale preview cannot be applied");
    assert.deepEqual(chunkState(await chunksOf(admin, docId)), afterEdit, "the refused apply changed nothing");

    assert.deepEqual(problems, [], "no page errors or server errors");
    assert.deepEqual(rejected, [`POST /api/admin/kb/documents/${docId}/rechunk → 400`, `POST /api/admin/kb/documents/${docId}/rechunk → 409`], "only the size out of range and the stale apply were refused");
  } finally {
    if (docId != null) await admin.call("DELETE", `/api/admin/kb/documents/${docId}`);
    await context.close();
    await admin.dispose();
  }
});

// --- (h) 已废止 with a 新版本 ------------------------------------------------------------------------

test("已废止 with a 新版本 chosen on the page: the list says 已被《…》取代 and an answer quoting the old document names the current one", { timeout: 240_000 }, async (t) => {
  const admin = await apiSession("sysadmin");
  const member = await apiSession("member1");
  const { context, page, problems, rejected } = await browser.newPage({ desktop: true });
  const oldTitle = `网页测试书屋旧办法${STAMP}`;
  const newTitle = `网页测试书屋新办法${STAMP}`;
  const QUESTION = "银杏书屋图书借阅期限是多少天";
  const doc = (title, lines) => [`# ${title}`, "", "## 第一章 总则", "", ...lines.flatMap((l) => [l, ""])].join("\n");
  const ids = [];
  try {
    // Only the old version says how long a book may be kept.
    const oldDoc = await uploadApi(admin, `web-test-old-${STAMP}.md`, doc(oldTitle, [
      "第一条 为了管理好支部银杏书屋，制定本办法。",
      "第二条 银杏书屋图书借阅期限为四十五天，逾期应当办理续借。",
      "第三条 本办法自发布之日起施行。",
    ]));
    ids.push(oldDoc.id);
    const newDoc = await uploadApi(admin, `web-test-new-${STAMP}.md`, doc(newTitle, [
      "第一条 支部书屋由党群服务中心统一管理。",
      "第二条 书屋图书实行开架阅览，阅毕放回原处。",
      "第三条 本办法自发布之日起施行，原办法同时废止。",
    ]));
    ids.push(newDoc.id);

    await login(page, "sysadmin", { next: "/admin/kb.html", requireOk: true });
    await waitDocs(page);
    const oldRow = page.locator(`#kb-docs tr[data-doc-id="${oldDoc.id}"]`);
    const newRow = page.locator(`#kb-docs tr[data-doc-id="${newDoc.id}"]`);
    assert.equal(await oldRow.locator(".kb-superseded").count(), 0, "a current document names no successor");

    // 已废止 offers the 新版本; 取消 sends nothing and puts the status back.
    const posts = [];
    page.on("request", (q) => { if (q.method() === "POST" && /\/status$/.test(new URL(q.url()).pathname)) posts.push(new URL(q.url()).pathname); });
    await newRow.locator("select.kb-status").selectOption("repealed");
    await visible(page, `#kb-docs tr[data-doc-id="${newDoc.id}"] .kb-successor-form`, "已废止 should offer the 新版本");
    await newRow.locator(".kb-successor-cancel").click();
    assert.equal(await newRow.locator(".kb-successor-form").count(), 0, "取消 closes the form");
    assert.equal(await newRow.locator("select.kb-status").inputValue(), "current", "取消 puts the status back");
    assert.deepEqual(posts, [], "取消 sends nothing");

    await oldRow.locator("select.kb-status").selectOption("repealed");
    await visible(page, `#kb-docs tr[data-doc-id="${oldDoc.id}"] .kb-successor-form`, "已废止 should offer the 新版本");
    const pick = oldRow.locator("select.kb-successor");
    assert.match(await oldRow.locator(".kb-successor-field").textContent(), /新版本（现行文档）/);
    const offered = await pick.locator("option").evaluateAll((os) => os.map((o) => o.value));
    assert.equal(offered[0], "", "the 新版本 is optional (（不指定） first)");
    assert.ok(offered.includes(String(newDoc.id)), `the new version is offered: ${offered}`);
    assert.ok(!offered.includes(String(oldDoc.id)), "a document is not offered as its own 新版本");
    await pick.selectOption(String(newDoc.id));
    await oldRow.locator(".kb-successor-ok").click();
    await visible(page, "#confirm-dialog", "确定 should ask for a confirmation");
    assert.match(await page.locator("#confirm-text").textContent(), new RegExp(`^把《${oldTitle}》的状态从“现行有效”改为“已废止”，新版本为《${newTitle}》？`));
    const resp = apiResponse(page, "POST", new RegExp(`^/api/admin/kb/documents/${oldDoc.id}/status$`), 60_000);
    await page.locator("#confirm-ok").click();
    const r = await resp;
    assert.equal(r.status(), 200, `status: ${JSON.stringify(await bodyOf(r))}`);
    assert.deepEqual(r.request().postDataJSON(), { status: "repealed", superseded_by: newDoc.id }, "the status is sent with the 新版本");
    await waitUntil(page, (id) => !!document.querySelector(`#kb-docs tr[data-doc-id="${id}"] .kb-superseded`) && !document.getElementById("kb-list").hasAttribute("aria-busy"), String(oldDoc.id), "the list should say which document replaced it");
    assert.equal(await oldRow.locator(".kb-superseded").textContent(), `已被《${newTitle}》取代`);
    assert.equal(await oldRow.locator(".kb-superseded a").getAttribute("href"), `#doc=${newDoc.id}`, "the successor's title links to its chunks");
    assert.equal(await oldRow.locator("select.kb-status").inputValue(), "repealed");
    assert.equal(await oldRow.locator(".kb-successor-edit").textContent(), "更改新版本", "a repealed document offers to change its 新版本");
    assert.equal(await newRow.locator(".kb-superseded").count(), 0, "the new version is not superseded");
    const listed = (await admin.call("GET", "/api/admin/kb/documents")).json.items;
    assert.deepEqual(((d) => [d.status, d.superseded_by])(listed.find((d) => d.id === oldDoc.id)), ["repealed", newDoc.id], "GET /api/admin/kb/documents has it");
    assert.equal(listed.find((d) => d.id === newDoc.id).superseded_by, null);

    // Its chunk view (opened directly) says so too.
    await openDoc(page, oldDoc.id);
    await waitUntil(page, () => document.querySelector("#kb-doc-meta .kb-superseded a"), undefined, "the chunk view should name the new version");
    assert.equal(await page.locator("#kb-doc-meta .kb-superseded").textContent(), `已被《${newTitle}》取代`);

    // An answer quoting the old document names the current version.
    const res = await member.ctx.fetch("/api/chat", { method: "POST", data: { question: QUESTION }, headers: { "X-CSRF-Token": member.csrf }, timeout: ANSWER_TIMEOUT });
    const raw = (await res.body()).toString("utf8");
    assert.equal(res.status(), 200, `POST /api/chat: ${res.status()} ${raw.slice(0, 300)}`);
    const events = sseEvents(raw);
    const answer = events.filter((e) => e.event === "delta").map((e) => e.data?.text || "").join("");
    const sources = events.filter((e) => e.event === "sources").flatMap((e) => (Array.isArray(e.data) ? e.data : []));
    t.diagnostic(`chat (${events.findLast((e) => e.event === "meta")?.data?.mode}): ${JSON.stringify(answer.slice(0, 160))}`);
    assert.ok(answer.includes(`现行版本为《${newTitle}》`), `the answer names the current version: ${answer}`);
    assert.ok(answer.includes(`（该规定已废止，现行版本为《${newTitle}》）`), `the answer says the quoted rule is repealed: ${answer}`);
    const cited = sources.find((s) => s.doc_id === oldDoc.id);
    assert.ok(cited, `the old document is cited: ${JSON.stringify(sources)}`);
    assert.deepEqual([cited.doc_status, cited.superseded_by], ["repealed", newTitle]);

    assert.deepEqual(problems, [], "no page errors or server errors");
    assert.deepEqual(rejected, [], "no request was refused");
  } finally {
    for (const id of ids) await admin.call("DELETE", `/api/admin/kb/documents/${id}`);
    await context.close();
    await member.dispose();
    await admin.dispose();
  }
});
