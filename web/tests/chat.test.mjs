// Headless-browser tests of the member chat page (index.html + chat.js) and the regulation
// library (library.html + library.js), run against a live `dangwutong serve`.
//
//   DWT_TEST_BASE_URL=http://127.0.0.1:8080 node --test web/tests/
//
// scripts/web-test.sh starts a server on a fresh data dir and runs this file. The browser is the
// system Chromium (CHROMIUM_PATH, default /usr/bin/chromium) driven by playwright-core.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ANSWER_TIMEOUT, BASE, useBrowser, waitAnswer, waitUntil } from "./support.mjs";

const QUESTION = "党龄从什么时候开始计算？";

const browser = useBrowser();

/**
 * A phone-sized page that records uncaught page errors and failed API calls: here every API answer
 * ≥ 400 is a problem (strictApi), and other answers are not checked.
 */
const mobilePage = () => browser.newPage({ strictApi: true, checkPageAnswers: false });

const lastAssistant = (page) => page.locator("#messages .msg.assistant").last();

test("chat page streams a cited answer, opens the cited article and takes feedback", { timeout: 240_000 }, async (t) => {
  const { context, page, problems } = await mobilePage();
  try {
    const res = await page.goto(BASE + "/");
    assert.equal(res.status(), 200, "GET / should serve the chat page");
    assert.match(await page.title(), /党务通/, "chat page title");
    assert.ok(await page.locator("#question").isVisible(), "the question box #question is visible on a 390px screen");

    // Records every distinct text of the newest answer bubble. MutationObserver callbacks run as
    // microtasks between the page's SSE deltas, so each rendering step is seen whatever the
    // network chunking is.
    await page.evaluate(() => {
      window.__dwtSnapshots = [];
      const messages = document.getElementById("messages");
      new MutationObserver(() => {
        const bubbles = messages.querySelectorAll(".msg.assistant .bubble");
        const b = bubbles[bubbles.length - 1];
        if (!b) return;
        const s = window.__dwtSnapshots;
        if (s[s.length - 1] !== b.textContent) s.push(b.textContent);
      }).observe(messages, { childList: true, characterData: true, subtree: true });
    });

    await page.locator("#question").fill(QUESTION);
    const chatResponse = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/chat" && r.request().method() === "POST");
    await page.locator("#send").click();
    const chat = await chatResponse;
    assert.equal(chat.status(), 200, "POST /api/chat status");
    assert.match(chat.headers()["content-type"] || "", /text\/event-stream/, "POST /api/chat should stream SSE");

    // The user's question is shown as its own bubble.
    const userBubble = page.locator("#messages .msg.user .bubble").last();
    assert.equal(await userBubble.textContent(), QUESTION, "the question is echoed as a user bubble");

    // Finished = finishAssistant() added the action row and the send button is enabled again.
    await waitAnswer(page, "the answer did not finish (no .actions row under the assistant message, or #send still disabled)");

    const bubble = lastAssistant(page).locator(".bubble");
    const answer = await bubble.textContent();
    assert.ok(answer.includes("第七条"), `answer should cite 第七条; got: ${answer}`);
    assert.ok(answer.includes("预备期满转为正式党员之日"), `answer should quote 预备期满转为正式党员之日; got: ${answer}`);

    // Progressive rendering: at least two distinct, non-empty, growing prefixes of the final
    // answer were on screen before the final text.
    const snapshots = await page.evaluate(() => window.__dwtSnapshots);
    const partial = snapshots.filter((s) => s.length > 0 && s.length < answer.length && answer.startsWith(s));
    assert.ok(
      partial.length >= 2,
      `the answer should render progressively (≥2 partial texts before the final one); saw ${snapshots.length} texts with lengths [${snapshots.map((s) => s.length).join(", ")}], final ${answer.length}`,
    );
    for (let i = 1; i < partial.length; i++) {
      assert.ok(partial[i].length > partial[i - 1].length, `partial answers should only grow: ${partial.map((s) => s.length).join(" → ")}`);
    }
    assert.equal(snapshots[snapshots.length - 1], answer, "the last observed text is the final answer");
    t.diagnostic(`answer (${answer.length} chars): ${JSON.stringify(answer)}`);
    t.diagnostic(`rendered lengths while streaming: ${snapshots.map((s) => s.length).join(" → ")} (${partial.length} partial prefixes)`);

    // Model/source text is rendered as text: the bubble holds only text and citation buttons. A
    // curated answer (官方答复, mode faq: the shipped seed pair may answer this question) is
    // formatted by /format.js: its subset's elements are allowed too, nothing else.
    const curated = (await lastAssistant(page).locator(".badge", { hasText: "官方答复" }).count()) > 0;
    const allowed = curated ? ["button.cite", "p", "br", "strong", "ul", "ol", "li", "a"] : ["button.cite"];
    const bubbleElements = await bubble.evaluate((b) => [...b.querySelectorAll("*")].map((e) => e.tagName.toLowerCase() + (e.className ? "." + e.className : "")));
    const foreign = bubbleElements.filter((t) => !allowed.includes(t));
    assert.deepEqual(foreign, [], `the answer bubble (${curated ? "curated, formatted" : "generated"}) must contain only text and ${allowed.join("/")}, found: ${foreign.join(", ")}`);
    assert.equal(await bubble.evaluate((b) => b.classList.contains("fmt")), curated, "only a curated answer is formatted");
    t.diagnostic(`answer mode: ${curated ? "curated (faq), formatted" : "generated/extractive, plain text"}`);
    assert.equal(await page.locator("#messages script, #messages em, #messages img, #messages iframe").count(), 0, "no <script>/<em>/<img>/<iframe> injected into #messages");

    // Citation chip → article dialog with the full article from /api/documents/{id}/articles/{label}.
    const cites = bubble.locator("button.cite");
    const citeCount = await cites.count();
    assert.ok(citeCount >= 1, `the answer should carry at least one citation chip (button.cite); answer: ${answer}`);
    assert.match((await cites.first().textContent()).trim(), /^\d+$/, "citation chip text is its number");
    const articleResponse = page.waitForResponse((r) => /^\/api\/documents\/\d+\/articles\//.test(new URL(r.url()).pathname));
    await cites.first().click();
    const article = await articleResponse;
    assert.equal(article.status(), 200, `GET ${article.url()} status`);
    const articleJson = await article.json();
    await waitUntil(page, () => document.getElementById("article-dialog").open, undefined, "dialog#article-dialog did not open after clicking the citation");
    assert.ok(await page.locator("#article-dialog").isVisible(), "the article dialog is visible");
    const title = await page.locator("#article-title").textContent();
    assert.ok(title.includes("第七条"), `dialog title should name 第七条; got: ${title}`);
    assert.ok(title.includes("中国共产党章程"), `dialog title should name 中国共产党章程; got: ${title}`);
    await waitUntil(
      page,
      (text) => document.getElementById("article-text").textContent === text,
      articleJson.article.text,
      "#article-text was not replaced by the article fetched from the API",
    );
    const articleText = await page.locator("#article-text").textContent();
    assert.ok(articleText.includes("党龄"), `dialog text should contain 党龄; got: ${articleText}`);
    assert.ok(await page.locator("#article-origin").isHidden(), "a shipped regulation has no 原文链接 (only crawled web pages do)");
    t.diagnostic(`dialog: ${title} — ${JSON.stringify(articleText.slice(0, 60))}…`);
    const box = await page.locator("#article-dialog").boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 390 + 1, `the dialog should fit the 390px screen; box: ${JSON.stringify(box)}`);

    await page.locator("#article-dialog form[method=dialog] button").click();
    await waitUntil(page, () => !document.getElementById("article-dialog").open, undefined, "the 关闭 button did not close the dialog");

    // 👍 → POST /api/messages/{id}/feedback succeeds and the button is marked.
    const up = lastAssistant(page).locator(".actions button", { hasText: "👍" });
    assert.equal(await up.count(), 1, "exactly one 👍 button under the answer");
    const feedbackResponse = page.waitForResponse(
      (r) => /^\/api\/messages\/\d+\/feedback$/.test(new URL(r.url()).pathname) && r.request().method() === "POST",
    );
    await up.click();
    const feedback = await feedbackResponse;
    assert.ok([200, 204].includes(feedback.status()), `POST ${feedback.url()} should succeed; got ${feedback.status()}: ${await feedback.text()}`);
    assert.deepEqual(feedback.request().postDataJSON(), { rating: "up" }, "feedback body");
    t.diagnostic(`feedback: POST ${new URL(feedback.url()).pathname} → ${feedback.status()}`);
    await waitUntil(
      page,
      () => [...document.querySelectorAll("#messages .msg.assistant")].pop().querySelector(".actions button.on")?.textContent === "👍",
      undefined,
      "the 👍 button was not marked (.on) after a successful vote",
    );

    assert.deepEqual(problems, [], "no page errors or failed API calls");
  } finally {
    await context.close();
  }
});

test("markup typed into the question is shown as text, never run", { timeout: 240_000 }, async () => {
  const { context, page, problems } = await mobilePage();
  try {
    await page.goto(BASE + "/");
    const question = '<em>党龄</em>怎么算？<img src=x onerror="window.__dwtPwned=1"><script>window.__dwtPwned=2</script>';
    await page.locator("#question").fill(question);
    await page.locator("#question").press("Enter");
    await waitUntil(
      page,
      () => document.querySelector("#messages .msg.assistant") && !document.getElementById("send").disabled,
      undefined,
      "the page did not finish answering",
      ANSWER_TIMEOUT,
    );
    assert.equal(await page.locator("#messages .msg.user .bubble").last().textContent(), question, "the question is shown literally");
    assert.equal(await page.locator("#messages script, #messages em, #messages img").count(), 0, "no element was created from the typed markup");
    assert.equal(await page.evaluate(() => window.__dwtPwned), undefined, "typed markup ran script");
    assert.deepEqual(problems, [], "no page errors or failed API calls");
  } finally {
    await context.close();
  }
});

test("the chat API streams the answer as several delta events", { timeout: 240_000 }, async (t) => {
  const r = await fetch(BASE + "/api/chat", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ question: QUESTION }),
    signal: AbortSignal.timeout(ANSWER_TIMEOUT),
  });
  assert.equal(r.status, 200, "POST /api/chat status");
  const body = await r.text();
  const events = body
    .split("\n\n")
    .filter((b) => b.trim())
    .map((b) => ({ event: /^event:\s*(.*)$/m.exec(b)?.[1], data: b.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("") }));
  const names = events.map((e) => e.event);
  assert.equal(names[0], "meta", `first event should be meta: ${names.join(",")}`);
  assert.equal(names[names.length - 1], "done", `last event should be done: ${names.join(",")}`);
  const deltas = events.filter((e) => e.event === "delta").map((e) => JSON.parse(e.data).text);
  assert.ok(deltas.length >= 3, `the answer should come as several deltas, got ${deltas.length}`);
  t.diagnostic(`events: ${names.filter((n, i) => n !== names[i - 1]).join(" → ")} (${deltas.length} deltas)`);
  assert.ok(deltas.join("").includes("预备期满转为正式党员之日"), "the deltas add up to the answer");
});

test("regulation library lists 中国共产党章程 and highlights search hits for 预备期", { timeout: 120_000 }, async (t) => {
  const { context, page, problems } = await mobilePage();
  try {
    const res = await page.goto(BASE + "/library.html");
    assert.equal(res.status(), 200, "GET /library.html status");
    const charter = page.locator("#doc-list a", { hasText: "中国共产党章程" });
    try {
      await charter.first().waitFor();
    } catch {
      assert.fail(`#doc-list does not list 中国共产党章程; it shows: ${await page.locator("#doc-list").textContent()}`);
    }

    const searchResponse = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/search/text");
    await page.locator("#q").fill("预备期");
    await page.locator("#q").press("Enter");
    const search = await searchResponse;
    assert.equal(search.status(), 200, `GET ${search.url()} status`);
    await waitUntil(page, () => document.querySelectorAll("#hits li").length > 0, undefined, "no search results in #hits");

    const hitTexts = await page.locator("#hits li").allTextContents();
    assert.ok(!hitTexts[0].includes("没有找到"), `预备期 should have hits; got: ${hitTexts.join(" | ")}`);
    const marks = await page.locator("#hits li .meta em").allTextContents();
    assert.ok(marks.length >= 1, `search hits should highlight the query with <em>; hits: ${hitTexts.join(" | ")}`);
    assert.ok(marks.some((m) => m.includes("预备")), `a highlight should cover 预备期; highlights: ${marks.join(", ")}`);
    t.diagnostic(`${hitTexts.length} hits, highlights: ${[...new Set(marks)].join(", ")}`);
    // Snippets are rebuilt from text: only <em> marks may appear inside them.
    const tags = await page.locator("#hits li .meta").evaluateAll((ps) => ps.flatMap((p) => [...p.querySelectorAll("*")].map((e) => e.tagName.toLowerCase())));
    assert.deepEqual([...new Set(tags)], ["em"], "snippets contain only <em> elements");

    // Opening the first hit shows its document with the article marked.
    await page.locator("#hits li a").first().click();
    await waitUntil(page, () => !document.getElementById("doc").hidden && document.querySelectorAll("#articles .article").length > 0, undefined, "clicking a hit did not open its document");
    const target = page.locator("#articles .article.target");
    if (await target.count()) {
      assert.ok((await target.first().textContent()).includes("预备"), "the marked article contains the searched words");
    }

    assert.deepEqual(problems, [], "no page errors or failed API calls");
  } finally {
    await context.close();
  }
});
