// Headless-browser tests of 数据抓取 (admin/crawl.html) and of citations of crawled documents on
// the chat page, against a live `dangwutong serve` whose database holds the demo data (every demo
// password is Dwt#Demo2026) and which reads the shipped crawlers/*.toml (scripts/web-test.sh runs
// it from the repository root, where the default `crawl.dir = ./crawlers` points).
//
//   DWT_TEST_BASE_URL=http://127.0.0.1:8080 node --test web/tests/crawl.test.mjs
//
// Nothing here reaches the internet: 立即抓取 is only clicked on wechat-jcdj while it has no
// article URLs (the run then finishes at once with nothing to fetch), and never after adding one.
// On a database reused from an earlier run (wechat-jcdj already has URLs) that step is skipped.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  apiResponse, apiSession, BASE, bodyOf, loginViaPage as login, path, STAMP, useBrowser, visible, waitUntil,
} from "./support.mjs";

const browser = useBrowser({
  probe: async () => {
    const r = await fetch(BASE + "/api/admin/crawl/sources");
    assert.notEqual(r.status, 404, `GET ${BASE}/api/admin/crawl/sources answered 404: this server has no crawler admin API yet`);
  },
});

/** The shipped source files of crawlers/ as the page should show them. */
const SHIPPED = [
  { name: "wechat-jcdj", label: "公众号 · 基层党建", kind: "公众号" },
  { name: "12371-news", label: "共产党员网 · 学习解读", kind: "网站" },
  { name: "shanghai-dangjian", label: "上海党建网 · 工作动态", kind: "网站" },
  { name: "zhdj-news-api", label: "智慧党建网站 · 新闻接口", kind: "接口" },
];

const row = (page, name) => page.locator(`#crawl-table tr[data-source="${name}"]`);
const URLS_PATH = /^\/api\/admin\/crawl\/sources\/wechat-jcdj\/urls$/;

test("sysadmin: the shipped crawler sources, 立即抓取 on wechat-jcdj, 查看记录, article URLs added by hand", { timeout: 180_000 }, async (t) => {
  const admin = await apiSession("sysadmin");
  const { context, page, problems, rejected } = await browser.newPage();
  try {
    const before = await admin.call("GET", "/api/admin/crawl/sources");
    assert.equal(before.status, 200, `GET /api/admin/crawl/sources as sysadmin: ${JSON.stringify(before.json)}`);
    const apiSources = new Map((before.json.sources || []).map((s) => [s.name, s]));
    for (const s of SHIPPED) {
      assert.ok(apiSources.has(s.name), `the server should list ${s.name} from crawlers/ (is it started from the repository root?); it lists: ${[...apiSources.keys()].join(", ") || "nothing"}`);
    }
    const wechatBefore = apiSources.get("wechat-jcdj");
    // Only a source without any URL runs offline; after this test has run once it has one.
    const offline = Object.keys(wechatBefore.urls || {}).length === 0 && !wechatBefore.running;
    const runsBefore = (await admin.call("GET", "/api/admin/crawl/runs?source=wechat-jcdj&limit=200")).json.items.length;

    await login(page, "sysadmin", { next: "/admin/crawl.html", requireOk: true });
    assert.equal(path(page), "/admin/crawl.html", "after login the browser should return to ?next=/admin/crawl.html");
    await waitUntil(page, (n) => document.querySelectorAll("#crawl-table tr[data-source]").length >= n, SHIPPED.length, "the sources table did not render");
    assert.ok(await page.locator('.admin-nav a.active[href="/admin/crawl.html"]').isVisible(), "the admin menu links 数据抓取 and marks it active");
    assert.ok(await page.locator("#crawl-config-errors").isHidden(), "the shipped source files load without problems: no 配置有误 box");
    assert.ok(await page.locator("#crawl-denied").isHidden(), "a 系统管理员 is not refused");

    for (const s of SHIPPED) {
      const r = row(page, s.name);
      assert.equal(await r.count(), 1, `one row for ${s.name}`);
      assert.equal(await r.locator(".crawl-label").textContent(), s.label, `label of ${s.name}`);
      assert.equal(await r.locator("td.c-kind").textContent(), s.kind, `类型 of ${s.name}`);
      assert.equal(await r.locator(".crawl-enabled").textContent(), apiSources.get(s.name).enabled ? "启用" : "停用", `状态 of ${s.name} follows its file`);
      assert.equal(await r.locator(".crawl-url-input").count(), s.name === "wechat-jcdj" ? 1 : 0, `only the WeChat source takes article URLs (${s.name})`);
      assert.equal(await r.locator(".crawl-run").count(), 1, `${s.name} has 立即抓取`);
      assert.equal(await r.locator(".crawl-history").count(), 1, `${s.name} has 查看记录`);
    }
    const wechat = row(page, "wechat-jcdj");
    assert.equal(await wechat.locator(".crawl-enabled").textContent(), "启用", "wechat-jcdj is shipped enabled");
    assert.match(await wechat.locator(".crawl-next").textContent(), /^下次运行：\S/, "an enabled scheduled source shows its next run");

    // 立即抓取: 202, a notice, then the row follows the run (polled) until it has finished.
    if (!offline) {
      t.diagnostic("wechat-jcdj already has article URLs (a database from an earlier run): 立即抓取 is skipped, it would fetch from the internet");
    } else {
      const lastBefore = (await wechat.getAttribute("data-last-run")) || "";
      const started = apiResponse(page, "POST", /^\/api\/admin\/crawl\/sources\/wechat-jcdj\/run$/);
      await wechat.locator(".crawl-run").click();
      const r = await started;
      assert.equal(r.status(), 202, `POST …/wechat-jcdj/run: ${r.status()} ${JSON.stringify(await bodyOf(r))}`);
      await waitUntil(page, () => document.getElementById("toast")?.textContent === "抓取已开始", undefined, "a notice should say 抓取已开始");
      await waitUntil(
        page,
        (prev) => {
          const tr = document.querySelector('#crawl-table tr[data-source="wechat-jcdj"]');
          return !!tr && tr.dataset.running === "false" && tr.dataset.lastRun !== prev && tr.querySelector(".run-status")?.textContent === "完成";
        },
        lastBefore,
        "the wechat-jcdj row should show the new run as 完成 (the page polls the sources every 1.5 s)",
        60_000,
      );
      assert.equal(await wechat.locator(".run-counts").textContent(), "新增 0 · 更新 0 · 未变 0 · 撤下 0 · 失败 0", "a run without URLs changes nothing");
      assert.match(await wechat.locator(".run-trigger").textContent(), /手动/, "the run is shown as started by hand");
      assert.ok(await wechat.locator(".crawl-run").isEnabled(), "立即抓取 is enabled again once the run is over");
      assert.ok(await wechat.locator(".crawl-running").count() === 0, "the row no longer says 运行中");
    }

    // 查看记录: the runs of the source, newest first.
    await wechat.locator(".crawl-history").click();
    await visible(page, "#crawl-runs", "查看记录 should open the run history panel");
    await waitUntil(
      page,
      () => { const p = document.getElementById("crawl-runs"); return p.dataset.source === "wechat-jcdj" && !p.hasAttribute("aria-busy"); },
      undefined,
      "the run history of wechat-jcdj did not load",
    );
    assert.match(await page.locator("#crawl-runs-title").textContent(), /公众号 · 基层党建/, "the history names the source");
    const runRows = page.locator("#crawl-run-rows tr[data-run-id]");
    const expected = Math.min(20, runsBefore + (offline ? 1 : 0));
    assert.equal(await runRows.count(), expected, `the history should list ${expected} run(s)`);
    if (offline) {
      const first = runRows.first();
      assert.equal(await first.locator(".c-trigger").textContent(), "手动", "the newest run was started on this page (trigger admin → 手动)");
      assert.equal(await first.getAttribute("data-status"), "finished");
      assert.match(await first.locator(".c-status").textContent(), /完成/);
      assert.equal(await first.locator(".c-new").textContent(), "0");
      assert.equal(await first.locator(".crawl-run-errors").count(), 0, "a run without failures offers no 失败详情");
    }

    // Article URLs: a refused one shows the server's message, a new one 已加入, the same again 已存在.
    const input = wechat.locator(".crawl-url-input");
    const msg = wechat.locator(".crawl-url-msg");
    await input.fill("ftp://x/a");
    let resp = apiResponse(page, "POST", URLS_PATH);
    await wechat.locator(".crawl-url-add").click();
    let r = await resp;
    assert.equal(r.status(), 400, "an ftp:// URL is refused");
    assert.equal((await bodyOf(r)).code, "crawl.bad_url");
    await visible(page, '#crawl-table tr[data-source="wechat-jcdj"] .crawl-url-msg', "the refusal is shown under the URL input");
    assert.match(await msg.textContent(), /只支持 http\/https/, "the server's Chinese message is shown");
    assert.ok(await msg.evaluate((e) => e.classList.contains("error")), "the refusal is shown as an error");

    // A per-run URL so that the test can repeat on the same database.
    const url = `https://mp.weixin.qq.com/s/abcdef${STAMP}`;
    await input.fill(url);
    resp = apiResponse(page, "POST", URLS_PATH);
    await wechat.locator(".crawl-url-add").click();
    r = await resp;
    assert.equal(r.status(), 200, `adding ${url}: ${JSON.stringify(await bodyOf(r))}`);
    assert.deepEqual(r.request().postDataJSON(), { url });
    await waitUntil(page, () => /^已加入/.test(document.querySelector('#crawl-table tr[data-source="wechat-jcdj"] .crawl-url-msg')?.textContent || ""), undefined, "adding a new article URL should say 已加入");
    assert.equal(await input.inputValue(), "", "the input is emptied after the URL was added");
    await waitUntil(page, () => /待抓取 [1-9]/.test(document.querySelector('#crawl-table tr[data-source="wechat-jcdj"] td.c-urls')?.textContent || ""), undefined, "the 网址 column should count the URL as 待抓取");

    await input.fill(url);
    resp = apiResponse(page, "POST", URLS_PATH);
    await wechat.locator(".crawl-url-add").click();
    r = await resp;
    assert.equal(r.status(), 200);
    assert.equal((await bodyOf(r)).added, false, "the same URL is not added twice");
    await waitUntil(page, () => /已存在/.test(document.querySelector('#crawl-table tr[data-source="wechat-jcdj"] .crawl-url-msg')?.textContent || ""), undefined, "adding the same URL again should say it already exists");

    const after = await admin.call("GET", "/api/admin/crawl/sources");
    const wechatAfter = after.json.sources.find((s) => s.name === "wechat-jcdj");
    assert.ok((wechatAfter.urls.new || 0) >= 1, `the URL waits for the next run: ${JSON.stringify(wechatAfter.urls)}`);
    assert.equal(wechatAfter.running, false, "adding a URL does not start a run");

    assert.deepEqual(problems, [], "no page errors or server errors");
    assert.deepEqual(rejected, ["POST /api/admin/crawl/sources/wechat-jcdj/urls → 400"], "only the ftp:// URL was refused");
  } finally {
    await context.close();
    await admin.dispose();
  }
});

test("an 组织管理员 opening 数据抓取 sees the server's 403 message, not a broken page", { timeout: 60_000 }, async () => {
  const jy = await apiSession("jy_admin");
  const { context, page, problems, rejected } = await browser.newPage();
  try {
    const list = await jy.call("GET", "/api/admin/crawl/sources");
    assert.equal(list.status, 403, "GET /api/admin/crawl/sources is for 系统管理员 only");
    assert.equal(list.json.code, "auth.forbidden");
    assert.match(list.json.message, /[\u4e00-\u9fff]/, "the 403 carries a Chinese message");
    const run = await jy.call("POST", "/api/admin/crawl/sources/wechat-jcdj/run");
    assert.equal(run.status, 403, "an 组织管理员 cannot start a crawl");

    await login(page, "jy_admin", { next: "/admin/crawl.html", requireOk: true });
    assert.equal(path(page), "/admin/crawl.html");
    await visible(page, "#crawl-denied", "an 组织管理员 should be told that the page is not for it");
    assert.equal(await page.locator("#crawl-denied-text").textContent(), list.json.message, "the page shows the server's message");
    assert.ok(await page.locator("#crawl-table").isHidden(), "the sources table is not shown");
    assert.ok(await page.locator("#me-name").textContent(), "the header is filled (the page did not crash)");
    assert.deepEqual(problems, [], "no page errors or server errors");
    assert.deepEqual(rejected, ["GET /api/admin/crawl/sources → 403"], "only the sources request was refused");
  } finally {
    await context.close();
    await jy.dispose();
  }
});

test("chat: a citation of a crawled page shows 原文链接 and 发布时间; other sources hide them", { timeout: 60_000 }, async () => {
  const { context, page, problems } = await browser.newPage();
  try {
    // A canned answer (no model, no crawled documents needed): [1] a crawled news page, [2] a
    // source whose origin is not a web page (must not become a link).
    const origin = "https://www.12371.cn/2026/11/20/ARTI1763600000000001.shtml";
    const events = [
      ["meta", { conversation_id: "crawl-test-" + STAMP, message_id: null, mode: "rag" }],
      ["delta", { text: "支部应当按期换届[1]，并及时报告[2]。" }],
      ["sources", [
        { index: 1, chunk_id: 1, doc_id: 1, doc_title: "基层党组织换届工作动态", article: null, heading_path: [], snippet: "", text: "抓取到的新闻正文。", url: "/library.html?doc=1", origin_url: origin, published_at: "2026-11-20T09:30:00+08:00" },
        { index: 2, chunk_id: 2, doc_id: 2, doc_title: "中国共产党章程", article: null, heading_path: [], snippet: "", text: "党章条文。", url: "/library.html?doc=2", origin_url: "javascript:alert(1)", published_at: null },
      ]],
      ["done", {}],
    ];
    const body = events.map(([e, d]) => `event: ${e}\ndata: ${JSON.stringify(d)}\n\n`).join("");
    await page.route("**/api/chat", (route) => route.fulfill({ status: 200, headers: { "content-type": "text/event-stream" }, body }));
    await page.goto(BASE + "/");
    await page.locator("#question").fill("换届要注意什么？");
    await page.locator("#send").click();
    const bubble = page.locator("#messages .msg.assistant .bubble").last();
    await waitUntil(page, () => document.querySelectorAll("#messages .msg.assistant .bubble button.cite").length === 2, undefined, "the canned answer should show two citation buttons");

    await bubble.locator("button.cite", { hasText: "1" }).click();
    await waitUntil(page, () => document.getElementById("article-dialog").open, undefined, "the article dialog should open");
    const link = page.locator("#article-origin");
    assert.ok(await link.isVisible(), "a crawled page's citation shows 原文链接");
    assert.match(await link.textContent(), /^原文链接/);
    assert.equal(await link.getAttribute("href"), origin);
    assert.equal(await link.getAttribute("target"), "_blank");
    assert.equal(await link.getAttribute("rel"), "noopener noreferrer");
    assert.equal(await page.locator("#article-published").textContent(), "发布时间：2026-11-20 09:30", "the publication time as written (Beijing time)");
    assert.ok(await page.locator("#article-published").isVisible());
    assert.equal(await page.locator("#article-link").getAttribute("href"), "/library.html?doc=1", "the library link stays");
    await page.locator("#article-dialog form[method=dialog] button").click();
    await waitUntil(page, () => !document.getElementById("article-dialog").open, undefined, "关闭 should close the dialog");

    await bubble.locator("button.cite", { hasText: "2" }).click();
    await waitUntil(page, () => document.getElementById("article-dialog").open, undefined, "the article dialog should open again");
    assert.equal(await page.locator("#article-title").textContent(), "《中国共产党章程》");
    assert.ok(await page.locator("#article-origin").isHidden(), "no 原文链接 for a source without an http(s) page");
    assert.ok(await page.locator("#article-published").isHidden(), "no 发布时间 without a date");
    assert.deepEqual(problems, [], "no page errors");
  } finally {
    await context.close();
  }
});
