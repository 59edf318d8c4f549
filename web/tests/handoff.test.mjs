// Headless-browser tests of human handoff (人工答复): the chat's 申请人工答复 button, 我的咨询中心
// (consultations.html), the staff console (staff/index.html) and the admin pages for Q&A
// proposals and statistics, against a live `dangwutong serve` with the demo data
// (`dangwutong demo seed`; every demo password is Dwt#Demo2026).
//
//   DWT_TEST_BASE_URL=http://127.0.0.1:8080 node --test web/tests/handoff.test.mjs
//
// Routing in the demo data: member1 (张红) belongs to 第一中学党支部, where zb1_staff and
// zb1_admin answer; wj_staff (市卫健委党委) is another subtree. Every run uses fresh texts (a
// time stamp), so runs can repeat on the same database.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ANSWER_TIMEOUT, apiResponse, apiSession, BASE, bodyOf, DEMO_PASSWORD, loginViaPage as login, path, STAMP, useBrowser, visible, waitAnswer as waitAnswerFinished, waitUntil, sseEvents } from "./support.mjs";

// How long a change may take to reach another open page through /api/events.
const LIVE_TIMEOUT = 20_000;

const browser = useBrowser({
  probe: async () => {
    const probe = await fetch(BASE + "/api/consultations", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    assert.notEqual(probe.status, 404, `POST ${BASE}/api/consultations answered 404: this server has no handoff API yet`);
  },
});

// --- helpers -------------------------------------------------------------------------------------

/**
 * A page that records uncaught page errors, console errors and 5xx answers in `problems`, 4xx API
 * answers in `rejected`. Phone-sized unless `desktop` (1280×860).
 */
const newPage = ({ desktop = false } = {}) => browser.newPage({ desktop, desktopViewport: { width: 1280, height: 860 }, consoleErrors: true });

/** Opens login.html (optionally with ?next=), logs in with the demo password and waits to leave it. */
const loginViaPage = (page, username, next = null) => login(page, username, { next, alwaysOpen: true });

/** Sets a marker on the window; `stillSamePage` fails if the page was reloaded since. */
const markPage = (page) => page.evaluate(() => { window.__dwtNoReload = true; });
async function stillSamePage(page, what) {
  const same = await page.evaluate(() => window.__dwtNoReload === true).catch(() => false);
  assert.ok(same, `${what}: the page was reloaded or navigated away (live updates must not need a reload)`);
}

/** Waits until the page's /api/events stream is up (`#live-state[data-state=live]`). */
async function waitLive(page, what) {
  await waitUntil(page, () => document.getElementById("live-state")?.dataset.state === "live", undefined, `${what}: the live connection to /api/events was not established`);
}

/** Waits until the newest chat answer is finished (action row present, #send enabled). */
const waitAnswer = (page) => waitAnswerFinished(page, "the chat answer did not finish (no .actions row under the assistant message, or #send still disabled)");

/** Parses an SSE body into [{event, data}]. */
/** Asks a question on the chat page; resolves with { meta, answer, events } once it is finished. */
async function ask(page, question) {
  await page.locator("#question").fill(question);
  const chatResp = apiResponse(page, "POST", /^\/api\/chat$/, ANSWER_TIMEOUT);
  await page.locator("#send").click();
  const r = await chatResp;
  assert.equal(r.status(), 200, `POST /api/chat: ${r.status()}`);
  await waitAnswer(page);
  const events = sseEvents(await r.text());
  const meta = events.findLast((e) => e.event === "meta")?.data;
  assert.ok(meta && meta.message_id != null, `the chat stream should start with a meta event carrying message_id; events: ${events.map((e) => e.event).join(",")}`);
  const answer = await page.locator("#messages .msg.assistant .bubble").last().textContent();
  return { meta, answer, events };
}

// --- (a) the whole path --------------------------------------------------------------------------

test("handoff end to end: chat → live staff queue → claim → reply → live 我的咨询中心 → rating → promote → approve → curated chat answer", { timeout: 600_000 }, async (t) => {
  const QUESTION = `入党誓词的内容是什么？（测试${STAMP}）`;
  const NOTE = `我想在支部大会上领誓，需要完整原文（${STAMP}）`;
  const INTERNAL = `内部备注${STAMP}：已核对党章第六条`;
  const REPLY = `张红同志：您好！\n入党誓词载于党章第六条，全文如下：\n我志愿加入中国共产党……永不叛党。\n（答复${STAMP}）`;
  const CURATED = `入党誓词（${STAMP}）：我志愿加入中国共产党，拥护党的纲领，遵守党的章程，履行党员义务，执行党的决定，严守党的纪律，保守党的秘密，对党忠诚，积极工作，为共产主义奋斗终身，随时准备为党和人民牺牲一切，永不叛党。`;
  const member = await newPage();
  const staff = await newPage({ desktop: true });
  const admin = await newPage({ desktop: true });
  try {
    // 1. The staff console is open before the member asks.
    await loginViaPage(staff.page, "zb1_staff", "/staff/index.html");
    assert.equal(path(staff.page), "/staff/index.html", "zb1_staff should land on the staff console (?next=)");
    await waitUntil(staff.page, () => document.getElementById("queue")?.dataset.loaded === "1", undefined, "the staff queue (#queue) did not load");
    await waitLive(staff.page, "staff console");
    await markPage(staff.page);

    // 2. member1 asks in the chat and hands the answer off.
    await loginViaPage(member.page, "member1");
    assert.equal(path(member.page), "/", "member1 lands on the chat page");
    await waitUntil(member.page, () => document.getElementById("account-label")?.textContent === "我的咨询", undefined, "the chat header should offer 我的咨询 to a logged-in member");
    const first = await ask(member.page, QUESTION);
    t.diagnostic(`first answer (mode ${first.meta.mode}): ${JSON.stringify(first.answer.slice(0, 60))}…`);
    const last = member.page.locator("#messages .msg.assistant").last();
    assert.equal(await last.getAttribute("data-message-id"), String(first.meta.message_id), "the answer element carries its message id");
    const handoffBtn = last.locator("button.handoff-btn");
    assert.equal(await handoffBtn.count(), 1, "exactly one 申请人工答复 button under the answer");
    assert.equal((await handoffBtn.textContent()).trim(), "申请人工答复");
    await handoffBtn.click();
    await visible(member.page, "#handoff-dialog", "申请人工答复 opens the note dialog");
    await member.page.locator("#handoff-note").fill(NOTE);
    const created = apiResponse(member.page, "POST", /^\/api\/consultations$/);
    await member.page.locator("#handoff-submit").click();
    const cr = await created;
    const cons = await bodyOf(cr);
    assert.equal(cr.status(), 201, `POST /api/consultations: ${cr.status()} ${JSON.stringify(cons)}`);
    const sent = cr.request().postDataJSON();
    assert.equal(sent.message_id, first.meta.message_id, `the request names the assistant message: ${JSON.stringify(sent)}`);
    assert.equal(sent.note, NOTE, "the request carries the note");
    assert.ok(cr.request().headers()["x-csrf-token"], "the request carries the X-CSRF-Token header");
    assert.equal(cons.status, "pending", `a new consultation is pending: ${JSON.stringify(cons)}`);
    assert.equal(cons.org_name, "第一中学党支部", "member1's question is routed to 第一中学党支部");
    assert.equal(cons.question, QUESTION, "the consultation's question is the chat question");
    assert.equal(typeof cons.expected_hours, "number", `expected_hours is a number: ${JSON.stringify(cons.expected_hours)}`);
    const id = String(cons.id);
    t.diagnostic(`consultation ${id} → ${cons.org_name}, expected within ${cons.expected_hours} h`);
    await waitUntil(
      member.page,
      ([mid, text]) => [...document.querySelectorAll("#messages .msg.assistant")].find((m) => m.dataset.messageId === mid)?.querySelector(".handoff-done")?.textContent.includes(text),
      [String(first.meta.message_id), `已转人工，预计 ${cons.expected_hours} 小时内答复`],
      "the answer should say 已转人工，预计 X 小时内答复",
    );
    assert.equal(await last.locator("button.handoff-btn").count(), 0, "the button is gone once handed off");
    assert.equal(await last.locator(".handoff-done a").getAttribute("href"), "/consultations.html", "the notice links to 我的咨询中心");

    // The same answer cannot be handed off twice.
    const csrf = (await member.context.cookies()).find((c) => c.name === "dwt_csrf")?.value;
    const dup = await member.context.request.post(BASE + "/api/consultations", { data: { message_id: first.meta.message_id, conversation_id: first.meta.conversation_id }, headers: { "X-CSRF-Token": csrf } });
    const dupBody = await dup.json().catch(() => null);
    assert.equal(dup.status(), 409, `a second handoff of message ${first.meta.message_id} must answer 409; got ${dup.status()} ${JSON.stringify(dupBody)}`);
    assert.equal(dupBody?.code, "handoff.already_requested");
    // Without its (random) conversation id nobody can hand off an answer, not even its owner.
    const guessed = await member.context.request.post(BASE + "/api/consultations", { data: { message_id: first.meta.message_id }, headers: { "X-CSRF-Token": csrf } });
    assert.equal(guessed.status(), 404, `message_id alone must not be accepted; got ${guessed.status()}`);

    // 3. It appears in zb1_staff's queue without a reload.
    const item = `#queue li.q-item[data-id="${id}"]`;
    await visible(staff.page, item, "the new consultation should appear in zb1_staff's open queue by itself (live /api/events)", LIVE_TIMEOUT);
    await stillSamePage(staff.page, "staff queue");
    assert.ok((await staff.page.locator(`${item} .q-question`).textContent()).includes(STAMP), "the queue item shows the question");
    assert.match(await staff.page.locator(`${item} .sla`).textContent(), /^剩余 /, "a fresh item shows the SLA time left");

    // 4. Claim it: the detail opens with the reply editor.
    const claimed = apiResponse(staff.page, "POST", new RegExp(`^/api/staff/consultations/${id}/claim$`));
    await staff.page.locator(`${item} .act-claim`).click();
    const clr = await claimed;
    const clj = await bodyOf(clr);
    assert.equal(clr.status(), 200, `claim: ${JSON.stringify(clj)}`);
    assert.equal(clj.status, "claimed");
    await visible(staff.page, "#reply-body", "after claiming, the reply editor is shown");
    await waitUntil(staff.page, (q) => document.getElementById("s-question").textContent === q, QUESTION, "the detail shows the question");
    assert.match(await staff.page.locator("#s-member").textContent(), /张红/, "the detail names the member");
    assert.equal(await staff.page.locator("#s-note").textContent(), NOTE, "the detail shows the member's note");
    assert.ok((await staff.page.locator("#s-ai-answer").textContent()).trim().length > 0, "the detail shows the AI answer");
    const staffTimeline = await staff.page.locator("#s-timeline").textContent();
    assert.match(staffTimeline, /申请人工答复/, `the timeline starts with the request: ${staffTimeline}`);
    assert.match(staffTimeline, /受理/, `the timeline shows the claim: ${staffTimeline}`);

    // Internal note (staff only).
    await staff.page.locator("#note-body").fill(INTERNAL);
    const noted = apiResponse(staff.page, "POST", new RegExp(`^/api/staff/consultations/${id}/note$`));
    await staff.page.locator("#note-send").click();
    const nr = await noted;
    assert.equal(nr.status(), 200, `note: ${JSON.stringify(await bodyOf(nr))}`);
    await waitUntil(staff.page, (text) => [...document.querySelectorAll("#s-timeline li.internal")].some((li) => li.textContent.includes(text)), INTERNAL, "the internal note appears on the staff timeline, marked internal");

    // 5. The member opens 我的咨询中心 from the notice and keeps it open.
    await last.locator(".handoff-done a").click();
    await member.page.waitForURL((u) => u.pathname === "/consultations.html");
    const row = `#consult-list li.c-item[data-id="${id}"]`;
    await visible(member.page, row, "我的咨询中心 lists the new consultation");
    await waitLive(member.page, "我的咨询中心");
    await waitUntil(member.page, (sel) => document.querySelector(sel)?.dataset.status === "claimed", row, "the list shows the consultation as 处理中 (claimed)");
    assert.equal(await member.page.locator(`${row} .unread`).count(), 0, "no unread marker before a reply");
    await markPage(member.page);

    // 6. Staff replies (multi-line plain text).
    await staff.page.locator("#reply-body").fill(REPLY);
    const replied = apiResponse(staff.page, "POST", new RegExp(`^/api/staff/consultations/${id}/reply$`));
    await staff.page.locator("#reply-send").click();
    const rr = await replied;
    const rj = await bodyOf(rr);
    assert.equal(rr.status(), 200, `reply: ${JSON.stringify(rj)}`);
    assert.deepEqual(rr.request().postDataJSON(), { body: REPLY }, "the reply is sent as typed, line breaks included");
    assert.equal(rj.status, "answered");
    await waitUntil(staff.page, (r) => document.getElementById("s-reply").textContent === r, REPLY, "the staff detail shows the sent reply");

    // 7. The member's open page shows the reply and an unread marker by itself.
    await waitUntil(
      member.page,
      ([sel, text]) => {
        const li = document.querySelector(sel);
        return !!li && li.dataset.status === "answered" && !!li.querySelector(".unread") && (li.querySelector(".c-reply")?.textContent || "").includes(text);
      },
      [row, `（答复${STAMP}）`],
      "我的咨询中心 should show the reply with an unread marker without a reload",
      LIVE_TIMEOUT,
    );
    await waitUntil(member.page, () => { const b = document.getElementById("unread-count"); return !b.hidden && Number(b.textContent) >= 1; }, undefined, "the unread counter shows at least 1");
    await stillSamePage(member.page, "我的咨询中心");
    const unreadBefore = Number(await member.page.locator("#unread-count").textContent());

    // 8. Opening it shows the whole reply (line breaks kept) and the timeline without the internal note.
    await member.page.locator(`${row} a.c-link`).click();
    await visible(member.page, "#detail-view", "tapping the item opens its detail");
    await waitUntil(member.page, (r) => document.getElementById("d-reply").textContent === r, REPLY, "the detail shows the reply with its line breaks");
    assert.equal(await member.page.locator("#d-reply").evaluate((e) => getComputedStyle(e).whiteSpace), "pre-wrap", "the reply keeps its line breaks on screen");
    const memberTimeline = await member.page.locator("#d-timeline").textContent();
    assert.match(memberTimeline, /答复/, `the member's timeline shows the reply: ${memberTimeline}`);
    assert.ok(!memberTimeline.includes(INTERNAL), `internal notes must not reach the member: ${memberTimeline}`);
    assert.ok((await member.page.locator("#d-ai-answer").textContent()).trim().length > 0, "the detail keeps the AI answer");
    await waitUntil(member.page, (n) => { const b = document.getElementById("unread-count"); return b.hidden || Number(b.textContent) < n; }, unreadBefore, "viewing the reply lowers the unread counter");

    // 9. Rate 5 stars.
    await visible(member.page, "#rate-card", "an answered consultation offers a rating");
    await member.page.locator('#rate-stars .star[data-v="5"]').click();
    await member.page.locator("#rate-comment").fill(`很满意${STAMP}`);
    const rated = apiResponse(member.page, "POST", new RegExp(`^/api/consultations/${id}/rate$`));
    await member.page.locator("#rate-submit").click();
    const rtr = await rated;
    const rtj = await bodyOf(rtr);
    assert.equal(rtr.status(), 200, `rate: ${JSON.stringify(rtj)}`);
    assert.deepEqual(rtr.request().postDataJSON(), { rating: 5, comment: `很满意${STAMP}` });
    assert.equal(rtj.status, "closed", "rating closes the consultation");
    await waitUntil(member.page, () => document.getElementById("detail-view").dataset.status === "closed" && !document.getElementById("rating-card").hidden, undefined, "after rating, the detail shows 已结束 and the rating");
    assert.equal(await member.page.locator("#d-rating").textContent(), "★★★★★");

    // 10. Staff (detail still open) sees it closed, and proposes it as a curated Q&A pair.
    await waitUntil(staff.page, () => document.getElementById("detail-pane").dataset.status === "closed", undefined, "the staff detail should update to 已结束 by itself", LIVE_TIMEOUT);
    await stillSamePage(staff.page, "staff detail");
    await staff.page.locator("#s-promote").click();
    await visible(staff.page, "#promote-dialog", "采纳为常用问答 opens the form");
    assert.equal(await staff.page.locator("#promote-question").inputValue(), QUESTION, "the form is pre-filled with the question");
    assert.equal(await staff.page.locator("#promote-answer").inputValue(), REPLY, "the form is pre-filled with the reply");
    await staff.page.locator("#promote-answer").fill(CURATED);
    await staff.page.locator("#promote-category").fill("党员发展");
    const promoted = apiResponse(staff.page, "POST", new RegExp(`^/api/staff/consultations/${id}/promote$`));
    await staff.page.locator("#promote-ok").click();
    const pr = await promoted;
    const pj = await bodyOf(pr);
    assert.equal(pr.status(), 201, `promote: ${JSON.stringify(pj)}`);
    assert.deepEqual(pr.request().postDataJSON(), { question: QUESTION, answer: CURATED, category: "党员发展" });
    assert.equal(pj.status, "pending");
    const pid = String(pj.id);
    await waitUntil(staff.page, () => !document.getElementById("promote-dialog").open, undefined, "the promote dialog closes after submitting");

    // 11. zb1_admin approves it on 待审核问答.
    await loginViaPage(admin.page, "zb1_admin", "/admin/qa-proposals.html");
    assert.equal(path(admin.page), "/admin/qa-proposals.html");
    const card = `.proposal[data-id="${pid}"]`;
    await visible(admin.page, card, "the proposal is listed for zb1_admin");
    assert.equal(await admin.page.locator(`${card} .p-question`).inputValue(), QUESTION);
    assert.equal(await admin.page.locator(`${card} .p-answer`).inputValue(), CURATED);
    const approved = apiResponse(admin.page, "POST", new RegExp(`^/api/admin/qa-proposals/${pid}/approve$`), ANSWER_TIMEOUT);
    await admin.page.locator(`${card} .act-approve`).click();
    const ar = await approved;
    const aj = await bodyOf(ar);
    assert.equal(ar.status(), 200, `approve: ${JSON.stringify(aj)}`);
    assert.deepEqual(ar.request().postDataJSON(), { question: QUESTION, answer: CURATED, category: "党员发展" });
    assert.ok(aj.qa_id != null, `approve answers the new pair's qa_id: ${JSON.stringify(aj)}`);
    await waitUntil(admin.page, (sel) => !document.querySelector(sel), card, "an approved proposal leaves the pending list");
    t.diagnostic(`proposal ${pid} approved as Q&A pair ${aj.qa_id}`);

    // 12. The same question now gets the curated answer.
    await member.page.goto(BASE + "/");
    const again = await ask(member.page, QUESTION);
    assert.equal(again.meta.mode, "faq", `asking again should be answered from the curated pair (meta.mode "faq"); got ${JSON.stringify(again.meta)}; answer: ${again.answer}`);
    assert.ok(again.answer.includes(CURATED), `the chat should show the approved answer; got: ${again.answer}`);
    assert.equal(await member.page.locator("#messages .msg.assistant").last().locator(".badge").textContent(), "官方答复", "a curated answer is badged 官方答复");

    for (const [who, p] of [["member", member], ["staff", staff], ["admin", admin]]) {
      assert.deepEqual(p.problems, [], `${who}: no page errors or server errors`);
    }
    t.diagnostic(`expected 4xx answers: ${[...member.rejected, ...staff.rejected, ...admin.rejected].join(", ") || "none"}`);
    assert.deepEqual(staff.rejected, [], "the staff console made no failing API call");
    assert.deepEqual(admin.rejected, [], "the admin page made no failing API call");
  } finally {
    await Promise.all([member.context.close(), staff.context.close(), admin.context.close()]);
  }
});

// --- (b) scope and claim races -------------------------------------------------------------------

test("another subtree's staff neither sees nor claims it; two simultaneous claims give exactly one 200 and one 409", { timeout: 120_000 }, async (t) => {
  const member = await apiSession("member1");
  const wj = await apiSession("wj_staff");
  const zb1Staff = await apiSession("zb1_staff");
  const zb1Admin = await apiSession("zb1_admin");
  let id = null;
  try {
    const cr = await member.call("POST", "/api/consultations", { question: `党费按什么标准交纳？（并发测试${STAMP}）`, note: "API 测试" });
    assert.equal(cr.status, 201, `POST /api/consultations with a question: ${JSON.stringify(cr.json)}`);
    id = cr.json.id;
    assert.equal(cr.json.org_name, "第一中学党支部");

    const none = await member.call("POST", "/api/consultations", { note: "没有问题" });
    assert.equal(none.status, 400, `a request without message_id and question must answer 400; got ${none.status} ${JSON.stringify(none.json)}`);

    const wjq = await wj.call("GET", "/api/staff/queue?status=all");
    assert.equal(wjq.status, 200, `wj_staff's queue: ${JSON.stringify(wjq.json)}`);
    assert.ok(!wjq.json.items.some((c) => c.id === id), `wj_staff (市卫健委党委) must not see consultation ${id} of 第一中学党支部`);
    const wjc = await wj.call("POST", `/api/staff/consultations/${id}/claim`);
    assert.equal(wjc.status, 403, `wj_staff claiming ${id} must answer 403; got ${wjc.status} ${JSON.stringify(wjc.json)}`);
    assert.equal(wjc.json.code, "auth.forbidden");
    const wjd = await wj.call("GET", `/api/consultations/${id}`);
    assert.ok([403, 404].includes(wjd.status), `wj_staff reading ${id} must be refused; got ${wjd.status}`);

    const q = await zb1Staff.call("GET", "/api/staff/queue");
    assert.equal(q.status, 200);
    const mine = q.json.items.find((c) => c.id === id);
    assert.ok(mine, `zb1_staff's open queue lists ${id}`);
    assert.ok(mine.sla_remaining_secs > 0, `a fresh item has SLA time left: ${mine.sla_remaining_secs}`);
    const memberQueue = await member.call("GET", "/api/staff/queue");
    assert.equal(memberQueue.status, 403, `a 党员 has no staff queue; got ${memberQueue.status}`);

    const early = await member.call("POST", `/api/consultations/${id}/rate`, { rating: 5 });
    assert.equal(early.status, 400, `rating before an answer must answer 400; got ${early.status} ${JSON.stringify(early.json)}`);
    assert.equal(early.json.code, "handoff.not_answered");

    const [a, b] = await Promise.all([
      zb1Staff.call("POST", `/api/staff/consultations/${id}/claim`),
      zb1Admin.call("POST", `/api/staff/consultations/${id}/claim`),
    ]);
    const statuses = [a.status, b.status].sort();
    assert.deepEqual(statuses, [200, 409], `two simultaneous claims: exactly one 200 and one 409; got ${a.status} ${JSON.stringify(a.json)} / ${b.status} ${JSON.stringify(b.json)}`);
    const [winner, loser, loserSession] = a.status === 200 ? [a, b, zb1Admin] : [b, a, zb1Staff];
    assert.equal(loser.json.code, "handoff.already_claimed");
    assert.match(loser.json.message, /^已由 .+ 受理$/, `the 409 names who claimed it: ${loser.json.message}`);
    assert.ok(loser.json.message.includes(winner.json.claimed_by.display_name), `the 409 names the winner ${winner.json.claimed_by.display_name}: ${loser.json.message}`);
    t.diagnostic(`winner ${winner.json.claimed_by.display_name}; loser told: ${loser.json.message}`);
    const notMine = await loserSession.call("POST", `/api/staff/consultations/${id}/reply`, { body: "抢答" });
    assert.equal(notMine.status, 409, `a reply by someone else than the claimer must answer 409; got ${notMine.status} ${JSON.stringify(notMine.json)}`);
    assert.equal(notMine.json.code, "handoff.not_claimed_by_you");
  } finally {
    if (id != null) {
      const closed = await member.call("POST", `/api/consultations/${id}/close`);
      if (closed.status !== 200) t.diagnostic(`cleanup: closing ${id} answered ${closed.status} ${JSON.stringify(closed.json)}`);
    }
    await Promise.all([member.dispose(), wj.dispose(), zb1Staff.dispose(), zb1Admin.dispose()]);
  }
});

// --- (c) anonymous visitors ----------------------------------------------------------------------

test("an anonymous visitor's 申请人工答复 goes to the login page and resumes afterwards", { timeout: 300_000 }, async (t) => {
  const { context, page, problems, rejected } = await newPage();
  let id = null;
  try {
    await page.goto(BASE + "/");
    assert.equal(await page.locator("#account-label").textContent(), "登录", "an anonymous visitor sees 登录");
    const first = await ask(page, "入党誓词的内容是什么？");
    const btn = page.locator("#messages .msg.assistant").last().locator("button.handoff-btn");
    assert.equal(await btn.count(), 1, "anonymous visitors also see 申请人工答复");
    await btn.click();
    await page.waitForURL((u) => u.pathname === "/login.html");
    assert.equal(new URL(page.url()).searchParams.get("next"), "/", "申请人工答复 sends an anonymous visitor to /login.html?next=/");
    await page.locator("#username").fill("member1");
    await page.locator("#password").fill(DEMO_PASSWORD);
    await page.locator("#login-btn").click();
    await page.waitForURL((u) => u.pathname === "/");
    await visible(page, "#handoff-dialog", "after logging in, the handoff dialog opens again for the same answer");
    const created = apiResponse(page, "POST", /^\/api\/consultations$/);
    await page.locator("#handoff-submit").click();
    const cr = await created;
    const cj = await bodyOf(cr);
    assert.equal(cr.status(), 201, `POST /api/consultations after login: ${JSON.stringify(cj)}`);
    assert.equal(cr.request().postDataJSON().message_id, first.meta.message_id, "the resumed request names the answer clicked before logging in");
    id = cj.id;
    await visible(page, ".handoff-done", "the handoff is confirmed on the chat page");
    t.diagnostic(`resumed handoff → consultation ${id}`);
    assert.deepEqual(problems, [], "no page errors or server errors");
    assert.deepEqual(rejected, [], "no failing API calls");
  } finally {
    if (id != null) {
      const member = await apiSession("member1");
      await member.call("POST", `/api/consultations/${id}/close`);
      await member.dispose();
    }
    await context.close();
  }
});

// --- (d) pages load cleanly ----------------------------------------------------------------------

test("handoff pages load cleanly: stats table and export, 党员 without staff rights, staff without admin rights", { timeout: 120_000 }, async () => {
  const a = await newPage({ desktop: true });
  const m = await newPage();
  try {
    await loginViaPage(a.page, "zb1_admin", "/admin/stats.html");
    assert.equal(path(a.page), "/admin/stats.html");
    await waitUntil(a.page, () => document.querySelectorAll("#stats-rows tr").length > 0 || !document.getElementById("stats-empty").hidden, undefined, "the stats table did not load");
    const names = await a.page.locator("#stats-rows td.c-name").allTextContents();
    assert.ok(names.every((n) => n === "第一中学党支部"), `zb1_admin sees only its own subtree in the stats: ${names.join(", ")}`);
    assert.equal(await a.page.locator("#stats-export").getAttribute("href"), "/api/admin/handoff/stats/export");
    const x = await a.context.request.get(BASE + "/api/admin/handoff/stats/export");
    assert.equal(x.status(), 200, "GET /api/admin/handoff/stats/export");
    assert.equal((await x.body()).subarray(0, 2).toString("latin1"), "PK", "the stats export is an xlsx (zip) file");
    assert.ok(await a.page.locator('.admin-nav a[href="/admin/qa-proposals.html"]').isVisible(), "the admin menu links 待审核问答");
    assert.ok(await a.page.locator('.admin-nav a[href="/admin/stats.html"]').isVisible(), "the admin menu links 答复统计");
    assert.deepEqual(a.problems, [], "no page errors or server errors");
    assert.deepEqual(a.rejected, [], "no failing API calls");

    await loginViaPage(m.page, "member1", "/staff/index.html");
    await visible(m.page, "#no-staff", "a 党员 opening the staff console is told that it has no answering right");
    await loginViaPage(m.page, "zb1_staff", "/admin/qa-proposals.html");
    await visible(m.page, "#no-admin", "a 答复人员 opening 待审核问答 is told that it has no admin right");
    assert.deepEqual(m.problems, [], "no page errors or server errors");
  } finally {
    await a.context.close();
    await m.context.close();
  }
});

// --- (e) release, 上报 and 转交 on the staff console ----------------------------------------------

test("staff console: release, 上报 to the parent organisation (live in the parent's queue) and 转交 with a note", { timeout: 180_000 }, async (t) => {
  const member = await apiSession("member1");
  const zb = await newPage({ desktop: true });
  const jy = await newPage({ desktop: true });
  let id = null;
  try {
    const cr = await member.call("POST", "/api/consultations", { question: `预备党员转正需要哪些手续？（上报测试${STAMP}）` });
    assert.equal(cr.status, 201, `POST /api/consultations: ${JSON.stringify(cr.json)}`);
    id = String(cr.json.id);

    // jy_staff (市教育局党委) has its console open.
    await loginViaPage(jy.page, "jy_staff", "/staff/index.html");
    await waitUntil(jy.page, () => document.getElementById("queue")?.dataset.loaded === "1", undefined, "jy_staff's queue did not load");
    await waitLive(jy.page, "jy_staff's console");
    await markPage(jy.page);

    // zb1_staff opens it directly (#id), claims, releases, claims again.
    await loginViaPage(zb.page, "zb1_staff", `/staff/index.html#${id}`);
    await waitUntil(zb.page, (i) => document.getElementById("detail-pane").dataset.id === i, id, "opening /staff/index.html#<id> shows that consultation");
    let resp = apiResponse(zb.page, "POST", new RegExp(`^/api/staff/consultations/${id}/claim$`));
    await zb.page.locator("#s-claim").click();
    assert.equal((await resp).status(), 200, "claim from the detail");
    await visible(zb.page, "#s-release", "the claimer can release");
    await zb.page.locator("#s-release").click();
    await visible(zb.page, "#confirm-dialog", "退回 asks for confirmation");
    resp = apiResponse(zb.page, "POST", new RegExp(`^/api/staff/consultations/${id}/release$`));
    await zb.page.locator("#confirm-ok").click();
    const rel = await resp;
    assert.equal(rel.status(), 200, `release: ${JSON.stringify(await bodyOf(rel))}`);
    await waitUntil(zb.page, () => document.getElementById("detail-pane").dataset.status === "pending", undefined, "after release the item is 待受理 again");

    // 上报 with a note: it goes to 市教育局党委 and leaves zb1_staff's queue.
    const NOTE = `涉及上级审批（${STAMP}）`;
    await zb.page.locator("#s-escalate").click();
    await visible(zb.page, "#escalate-dialog", "上报 opens its dialog");
    await zb.page.locator("#escalate-note").fill(NOTE);
    resp = apiResponse(zb.page, "POST", new RegExp(`^/api/staff/consultations/${id}/escalate$`));
    await zb.page.locator("#escalate-ok").click();
    const er = await resp;
    const ej = await bodyOf(er);
    assert.equal(er.status(), 200, `escalate: ${JSON.stringify(ej)}`);
    assert.deepEqual(er.request().postDataJSON(), { note: NOTE });
    assert.equal(ej.status, "escalated");
    assert.equal(ej.org_name, "市教育局党委", "上报 from 第一中学党支部 goes to 市教育局党委");
    await waitUntil(zb.page, (i) => document.getElementById("detail-pane").hidden && !document.querySelector(`#queue li.q-item[data-id="${i}"]`), id, "after 上报 the item leaves zb1_staff's detail and queue");

    // jy_staff sees it arrive, opens it, and transfers it to 第二中学党支部 with a note.
    const item = `#queue li.q-item[data-id="${id}"]`;
    // (市教育局党委's subtree includes 第一中学党支部, so the item was already listed there.)
    await waitUntil(jy.page, (sel) => document.querySelector(sel)?.dataset.status === "escalated", item, "市教育局党委's open queue should show the item as 已上报 by itself", LIVE_TIMEOUT);
    await stillSamePage(jy.page, "jy_staff's queue");
    await jy.page.locator(`${item} .act-open`).click();
    await waitUntil(jy.page, (n) => document.getElementById("s-timeline").textContent.includes(n), NOTE, "the timeline shows the 上报 note");
    await jy.page.locator("#s-transfer").click();
    await visible(jy.page, "#transfer-dialog", "转交 opens its dialog");
    const targets = await jy.page.locator("#transfer-org option").allTextContents();
    assert.ok(!targets.some((x) => x.trim() === "市教育局党委"), `the current organisation is not offered as a target: ${targets.join(" | ")}`);
    const zb2 = await jy.page.locator("#transfer-org").evaluate((s) => [...s.options].find((o) => o.textContent.trim() === "第二中学党支部")?.value);
    assert.ok(zb2, `第二中学党支部 is offered as a target: ${targets.join(" | ")}`);
    await jy.page.locator("#transfer-org").selectOption(zb2);
    await jy.page.locator("#transfer-note").fill(`请第二中学支部答复（${STAMP}）`);
    resp = apiResponse(jy.page, "POST", new RegExp(`^/api/staff/consultations/${id}/transfer$`));
    await jy.page.locator("#transfer-ok").click();
    const tr = await resp;
    const tj = await bodyOf(tr);
    assert.equal(tr.status(), 200, `transfer: ${JSON.stringify(tj)}`);
    assert.deepEqual(tr.request().postDataJSON(), { org_id: Number(zb2), note: `请第二中学支部答复（${STAMP}）` });
    assert.equal(tj.status, "transferred");
    assert.equal(tj.org_name, "第二中学党支部");
    await waitUntil(jy.page, (i) => document.querySelector(`#queue li.q-item[data-id="${i}"]`)?.dataset.status === "transferred", id, "the item stays in 市教育局党委's (subtree) queue as 已转交");
    t.diagnostic(`consultation ${id}: released, escalated to ${ej.org_name}, transferred to ${tj.org_name}`);

    for (const [who, p] of [["zb1_staff", zb], ["jy_staff", jy]]) {
      assert.deepEqual(p.problems, [], `${who}: no page errors or server errors`);
      assert.deepEqual(p.rejected, [], `${who}: no failing API calls`);
    }
  } finally {
    if (id != null) await member.call("POST", `/api/consultations/${id}/close`);
    await member.dispose();
    await zb.context.close();
    await jy.context.close();
  }
});
