// Shared set-up of the headless-browser tests (web/tests/*.test.mjs): the server address, the
// Chromium launch, pages that record errors, and small wait/login helpers. Not a test file itself
// (node --test only picks up *.test.mjs here).
//
// Environment: DWT_TEST_BASE_URL (the live `dangwutong serve`), CHROMIUM_PATH (default
// /usr/bin/chromium). scripts/web-test.sh sets both.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium, request } from "playwright-core";

export const BASE = (process.env.DWT_TEST_BASE_URL || "").replace(/\/+$/, "");
export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
export const STEP_TIMEOUT = 30_000;
// Generous: the first question embeds on a 2-core machine that may be busy compiling.
export const ANSWER_TIMEOUT = 120_000;
/** Every demo account of `dangwutong demo seed` has this password. */
export const DEMO_PASSWORD = "Dwt#Demo2026";
/** Unique per run (per test file process): names, usernames and phone numbers derive from it. */
export const STAMP = Date.now().toString().slice(-8);

const MOBILE_CONTEXT = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true, locale: "zh-CN" };

/**
 * Registers the file's before() and after() hooks: before() checks that DWT_TEST_BASE_URL is set,
 * runs the file's own `probe` (e.g. that the server has the API under test) and launches Chromium;
 * after() closes it. Returns a handle whose `newPage(options)` opens a page in that browser.
 */
export function useBrowser({ probe } = {}) {
  let browser;
  before(async () => {
    assert.ok(BASE, "DWT_TEST_BASE_URL is not set (e.g. http://127.0.0.1:8080); run through scripts/web-test.sh");
    if (probe) await probe();
    try {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
      });
    } catch (e) {
      assert.fail(`could not start Chromium at ${CHROMIUM} (install it with apt-get install chromium): ${e.message}`);
    }
  });
  after(async () => {
    await browser?.close();
  });
  return {
    get browser() {
      return browser;
    },
    newPage: (options) => newPage(browser, options),
  };
}

/**
 * A page in a fresh context (phone-sized, 390×844 zh-CN touch screen, unless `desktop`; then
 * `desktopViewport`) with STEP_TIMEOUT as its default timeout. It records uncaught page errors in
 * `problems`, and API answers ≥ 400:
 *   - `strictApi: true`: every API answer ≥ 400 is a problem (`rejected` stays empty);
 *   - otherwise 5xx API answers are problems and 4xx ones go to `rejected` (expected in some steps).
 * `checkPageAnswers`: same-origin non-API answers ≥ 400 (except /favicon.ico) are problems too.
 * `consoleErrors`: console errors other than "Failed to load resource" are problems too.
 */
export async function newPage(
  browser,
  { desktop = false, desktopViewport = { width: 1280, height: 800 }, strictApi = false, checkPageAnswers = true, consoleErrors = false } = {},
) {
  const context = await browser.newContext(desktop ? { viewport: desktopViewport, locale: "zh-CN" } : MOBILE_CONTEXT);
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  const problems = [];
  const rejected = [];
  page.on("pageerror", (e) => problems.push(`uncaught error in page ${page.url()}: ${e.message}`));
  if (consoleErrors) {
    page.on("console", (m) => { if (m.type() === "error" && !/Failed to load resource/.test(m.text())) problems.push(`console error on ${page.url()}: ${m.text()}`); });
  }
  page.on("response", (r) => {
    const u = new URL(r.url());
    if (!u.pathname.startsWith("/api/")) {
      if (checkPageAnswers && r.status() >= 400 && u.origin === BASE && u.pathname !== "/favicon.ico") problems.push(`${r.request().method()} ${u.pathname} answered ${r.status()}`);
      return;
    }
    if (r.status() >= (strictApi ? 400 : 500)) problems.push(`${r.request().method()} ${u.pathname}${u.search} answered ${r.status()}`);
    else if (r.status() >= 400) rejected.push(`${r.request().method()} ${u.pathname}${u.search} → ${r.status()}`);
  });
  return { context, page, problems, rejected };
}

/** Fails with the message when the page function does not become true in time. */
export async function waitUntil(page, fn, arg, message, timeout = STEP_TIMEOUT) {
  try {
    await page.waitForFunction(fn, arg, { timeout });
  } catch (e) {
    assert.fail(`${message} (waited ${timeout} ms): ${e.message.split("\n")[0]}`);
  }
}

/** Fails with the message when the first element matching `selector` is not visible in time. */
export async function visible(page, selector, message, timeout = STEP_TIMEOUT) {
  try {
    await page.locator(selector).first().waitFor({ state: "visible", timeout });
  } catch {
    assert.fail(`${message}: ${selector} did not become visible on ${page.url()} within ${timeout} ms`);
  }
}

/** Waits until the newest chat answer is finished (action row present, #send enabled). */
export async function waitAnswer(page, message) {
  await waitUntil(
    page,
    () => {
      const m = [...document.querySelectorAll("#messages .msg.assistant")].pop();
      return !!m && !!m.querySelector(".actions") && !document.getElementById("send").disabled;
    },
    undefined,
    message,
    ANSWER_TIMEOUT,
  );
}

export const path = (page) => new URL(page.url()).pathname;

/** The next API response for `method` + a pathname matching `re`. */
export function apiResponse(page, method, re, timeout = STEP_TIMEOUT) {
  return page.waitForResponse((r) => r.request().method() === method && re.test(new URL(r.url()).pathname), { timeout });
}

/**
 * The response's JSON body, its text when it is not JSON, or null when the page navigated away
 * before the body could be read (after a successful login, say).
 */
export async function bodyOf(r) {
  let t;
  try { t = await r.text(); } catch { return null; }
  try { return JSON.parse(t); } catch { return t; }
}

/** Fills the login form and submits it; resolves with the POST /api/auth/login response. */
export async function submitLogin(page, username, password) {
  await page.locator("#username").fill(username);
  await page.locator("#password").fill(password);
  const resp = apiResponse(page, "POST", /^\/api\/auth\/login$/);
  await page.locator("#login-btn").click();
  return resp;
}

/**
 * Logs in through login.html and waits to leave the login page. Opens /login.html (with ?next=
 * when `next` is given) unless the page is already on it and no `next` is given; with
 * `alwaysOpen` it always opens it. The login must answer 200; with `requireOk` the answer must
 * also be `status: "ok"` (no SMS step).
 */
export async function loginViaPage(page, username, { password = DEMO_PASSWORD, next = null, requireOk = false, alwaysOpen = false } = {}) {
  if (alwaysOpen || next || !page.url().includes("/login.html")) await page.goto(BASE + "/login.html" + (next ? "?next=" + encodeURIComponent(next) : ""));
  const r = await submitLogin(page, username, password);
  const body = await bodyOf(r);
  assert.equal(r.status(), 200, `login as ${username} failed: ${r.status()} ${JSON.stringify(body)}`);
  if (requireOk && body !== null) assert.equal(body.status, "ok", `login as ${username} should not need an SMS step (demo user); got ${JSON.stringify(body)}`);
  try {
    await page.waitForURL((u) => u.pathname !== "/login.html");
  } catch {
    assert.fail(`after logging in as ${username} the page stayed on ${page.url()}; #login-error: ${await page.locator("#login-error").textContent()}`);
  }
  return body;
}

/**
 * An API session (cookies kept) logged in as `username`; `call` sends the CSRF header. With
 * `checkCookies` it also asserts that dwt_csrf is readable by JS and dwt_session is HttpOnly.
 */
export async function apiSession(username, { password = DEMO_PASSWORD, checkCookies = false } = {}) {
  const ctx = await request.newContext({ baseURL: BASE });
  const r = await ctx.post("/api/auth/login", { data: { username, password } });
  const body = await r.json().catch(() => ({}));
  assert.equal(r.status(), 200, `API login as ${username}: ${r.status()} ${JSON.stringify(body)}`);
  assert.equal(body.status, "ok", `API login as ${username} should succeed at once; got ${JSON.stringify(body)}`);
  const cookies = (await ctx.storageState()).cookies;
  const cookie = cookies.find((c) => c.name === "dwt_csrf");
  assert.ok(cookie?.value, "login must set the dwt_csrf cookie");
  if (checkCookies) {
    assert.ok(!cookie.httpOnly, "the dwt_csrf cookie must be readable by JS (not HttpOnly)");
    const session = cookies.find((c) => c.name === "dwt_session");
    assert.ok(session && session.httpOnly, "login must set an HttpOnly dwt_session cookie");
  }
  const csrf = cookie.value;
  const call = async (method, url, data) => {
    const res = await ctx.fetch(url, { method, data, headers: { "X-CSRF-Token": csrf } });
    const text = await res.text();
    let json;
    try { json = JSON.parse(text); } catch { json = text; }
    return { status: res.status(), json };
  };
  return { ctx, csrf, call, user: body.user, dispose: () => ctx.dispose() };
}

/** Parses a text/event-stream body into [{ event, data }] (data as JSON when it parses). */
export function sseEvents(text) {
  return text
    .split("\n\n")
    .filter((b) => b.trim())
    .map((b) => {
      const event = /^event:\s*(.*)$/m.exec(b)?.[1] || "message";
      const data = b.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("");
      let json = null;
      try { json = JSON.parse(data); } catch { json = data; }
      return { event, data: json };
    });
}

/**
 * What the version items of a history (`items`: a locator of li[data-version] elements, 常用问答 or
 * 知识库维护) show as their changes (the .diff-box of web/admin/diff.js), one per item:
 * { version, against, caption, first, none, sr, fields } — `against` the version compared with,
 * `first` the oldest version (nothing to compare), `none` no change, `sr` the screen-reader words,
 * and `fields[key]` = { label, del, ins, old, new, titles }: del/ins the texts of the
 * <del class="diff-del">/<ins class="diff-ins"> parts (without their hidden 删除/新增 words),
 * old/new the 旧值/新值 of a value field, titles the del/ins title attributes.
 */
export async function versionDiffs(items) {
  return items.evaluateAll((xs) => xs.map((x) => {
    const box = x.querySelector(".diff-box");
    const fields = {};
    for (const li of box ? box.querySelectorAll("li.diff-field") : []) {
      const texts = (sel) => [...li.querySelectorAll(sel)].map((e) => e.querySelector(".diff-text")?.textContent ?? e.textContent);
      fields[li.dataset.field] = {
        label: li.querySelector(".diff-label")?.textContent || "",
        del: texts("del.diff-del"),
        ins: texts("ins.diff-ins"),
        old: li.querySelector("del.diff-old")?.textContent ?? null,
        new: li.querySelector("ins.diff-new")?.textContent ?? null,
        titles: [...li.querySelectorAll("del, ins")].map((e) => e.title),
      };
    }
    return {
      version: Number(x.dataset.version),
      against: box?.dataset.against ? Number(box.dataset.against) : null,
      caption: box?.querySelector(".diff-caption")?.textContent || "",
      first: !!box?.querySelector(".diff-first"),
      none: !!box?.querySelector(".diff-none"),
      sr: box ? [...box.querySelectorAll(".sr-only")].map((e) => e.textContent) : [],
      fields,
    };
  }));
}

// --- curated Q&A pairs (常用问答) shared by the qa, faq and feedback tests -----------------------------

/** Creates a pair through the API as `admin` (an apiSession) and returns it (201 asserted). */
export async function createPair(admin, body) {
  const r = await admin.call("POST", "/api/admin/qa", body);
  assert.equal(r.status, 201, `POST /api/admin/qa: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

/**
 * Retires every pair whose text contains `q` (there is no delete; retired pairs neither answer
 * nor count as duplicates) and returns the pairs found.
 */
export async function retirePairs(admin, q) {
  const r = await admin.call("GET", "/api/admin/qa?" + new URLSearchParams({ q }));
  const items = r.json.items || [];
  for (const p of items) {
    if (p.status !== "retired") await admin.call("POST", `/api/admin/qa/${p.id}/status`, { status: "retired" });
  }
  return items;
}
