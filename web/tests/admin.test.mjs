// Headless-browser tests of the login, password and admin pages (login.html, password.html,
// admin/*.html) against a live `dangwutong serve` whose database holds the demo data
// (`dangwutong demo seed`; every demo password is Dwt#Demo2026).
//
//   DWT_TEST_BASE_URL=http://127.0.0.1:8080 DWT_TEST_SERVER_LOG=/path/to/server.log node --test web/tests/
//
// scripts/web-test.sh seeds the demo data, starts the server and exports both variables. SMS codes
// are read from the server log, where the logging SMS sender writes
// `sms (log sender) phone=138****5678 purpose=first_login 验证码 123456`.
// Every run uses fresh names (a time stamp), so runs can repeat on the same database.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { request } from "playwright-core";
import {
  apiResponse, apiSession, BASE, bodyOf, loginViaPage as login, path, STAMP, submitLogin, useBrowser, visible, waitUntil,
} from "./support.mjs";

const SERVER_LOG = process.env.DWT_TEST_SERVER_LOG || "";
const ADMIN_HOME = /^\/admin\/(index\.html)?$/;

const browser = useBrowser({
  probe: async () => {
    const me = await fetch(BASE + "/api/auth/me");
    assert.notEqual(me.status, 404, `GET ${BASE}/api/auth/me answered 404: this server has no auth/admin API yet`);
  },
});

// --- helpers -------------------------------------------------------------------------------------

/**
 * A page that records uncaught page errors and 5xx API answers in `problems` (4xx answers are
 * expected in several steps; they are kept in `rejected` for messages). Phone-sized unless
 * `desktop` (1280×800).
 */
const newPage = ({ desktop = false } = {}) => browser.newPage({ desktop });

/** Logs in through login.html (optionally with ?next=); demo users must not need an SMS step. */
const loginViaPage = (page, username, { next = null } = {}) => login(page, username, { next, requireOk: true });

function logSize() {
  assert.ok(SERVER_LOG, "DWT_TEST_SERVER_LOG is not set: the SMS codes are read from the server log (run through scripts/web-test.sh)");
  try { return fs.statSync(SERVER_LOG).size; } catch (e) { assert.fail(`cannot read the server log ${SERVER_LOG}: ${e.message}`); }
}

/** The newest SMS code for a masked phone and purpose written to the log after byte `since`. */
async function smsCode(phoneMasked, purpose, since) {
  const deadline = Date.now() + 10_000;
  let tail = "";
  while (Date.now() < deadline) {
    const buf = fs.readFileSync(SERVER_LOG);
    tail = buf.subarray(since).toString("utf8");
    const lines = tail.split("\n").filter((l) => l.includes("验证码") && l.includes(phoneMasked) && l.includes(purpose));
    const m = lines.length && /验证码\D*(\d{6})/.exec(lines[lines.length - 1]);
    if (m) return m[1];
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`no SMS code (purpose ${purpose}, phone ${phoneMasked}) in ${SERVER_LOG} within 10 s; new log lines:\n${tail.split("\n").slice(-15).join("\n")}`);
}

/** A checksum-valid 18-digit resident ID number (GB 11643-1999, ISO 7064 MOD 11-2). */
function idNumber(first17) {
  assert.match(first17, /^\d{17}$/);
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = weights.reduce((acc, w, i) => acc + w * Number(first17[i]), 0);
  return first17 + "10X98765432"[sum % 11];
}

const maskPhone = (p) => p.slice(0, 3) + "****" + p.slice(-4);
/** A unique mobile number per run and purpose digit. */
const phone = (k) => "13" + String(k) + STAMP;

/** data-id of the tree node whose name is exactly `name` (null when not on the page). */
function orgId(page, name) {
  return page.evaluate((n) => {
    const li = [...document.querySelectorAll("#org-tree li.org-node")].find((x) => x.querySelector(":scope > .org-row .org-name")?.textContent === n);
    return li ? li.dataset.id : null;
  }, name);
}

async function requireOrgId(page, name) {
  const id = await orgId(page, name);
  assert.ok(id, `the org tree should show ${name}; it shows: ${(await page.locator("#org-tree .org-name").allTextContents()).join(", ")}`);
  return id;
}

const node = (id) => `#org-tree li.org-node[data-id="${id}"]`;

/** value of the <option> of `select` whose (trimmed) text is `label`. */
async function optionValue(page, select, label) {
  const v = await page.locator(select).evaluate((s, l) => [...s.options].find((o) => o.textContent.trim() === l)?.value ?? null, label);
  assert.ok(v, `${select} has no option ${label}; options: ${(await page.locator(select + " option").allTextContents()).join(" | ")}`);
  return v;
}

async function expectToast(page, text, message) {
  await waitUntil(page, (t) => { const e = document.getElementById("toast"); return !!e && !e.hidden && e.textContent === t; }, text, `${message}: the toast should say ${JSON.stringify(text)}`);
}

// --- (a) organisations ---------------------------------------------------------------------------

test("sysadmin logs in on the page and manages the org tree: expand/collapse, add, edit, move, dissolve", { timeout: 180_000 }, async (t) => {
  const { context, page, problems, rejected } = await newPage();
  try {
    // Unauthenticated → login page with ?next= → back on the org page after login.
    await page.goto(BASE + "/admin/orgs.html");
    await page.waitForURL((u) => u.pathname === "/login.html");
    const next = new URL(page.url()).searchParams.get("next");
    assert.equal(next, "/admin/orgs.html", "the guard should send ?next=/admin/orgs.html to the login page");
    await loginViaPage(page, "sysadmin");
    assert.equal(path(page), "/admin/orgs.html", "after login the browser should return to ?next=");
    await visible(page, "#me-name", "the header shows the user");
    assert.ok((await page.locator("#me-name").textContent()).trim().length > 0, "the header shows the signed-in user's name");

    await waitUntil(page, () => document.querySelectorAll("#org-tree li.org-node").length > 0, undefined, "the org tree did not render");
    const gw = await requireOrgId(page, "示范市直机关工委");
    const jy = await requireOrgId(page, "市教育局党委");
    const wj = await requireOrgId(page, "市卫健委党委");

    // Collapse and expand the root.
    const jyRow = page.locator(`${node(jy)} > .org-row`);
    assert.ok(await jyRow.isVisible(), "市教育局党委 is visible under the expanded root");
    await page.locator(`${node(gw)} > .org-row > button.toggle`).click();
    assert.ok(await page.locator(`${node(gw)} > ul.children`).isHidden(), "collapsing 示范市直机关工委 hides its children");
    assert.ok(await jyRow.isHidden(), "市教育局党委 is hidden after collapsing the root");
    assert.equal(await page.locator(`${node(gw)} > .org-row > button.toggle`).getAttribute("aria-expanded"), "false");
    await page.locator(`${node(gw)} > .org-row > button.toggle`).click();
    assert.ok(await jyRow.isVisible(), "市教育局党委 is visible again after expanding the root");

    // Add a 党支部 under 市教育局党委.
    const name = `测试党支部${STAMP}`;
    await page.locator(`${node(jy)} > .org-row .act-add`).click();
    await visible(page, "#org-dialog", "新增下级 opens the org form");
    assert.match(await page.locator("#org-parent-line").textContent(), /市教育局党委/, "the form names the parent");
    assert.match(await page.locator("#org-code").inputValue(), /^DW01-\d{2,}$|^.+-\d{2,}$/, "the form suggests a code derived from the parent's");
    await page.locator("#org-name").fill(name);
    await page.locator("#org-code").fill(`T${STAMP}A`);
    await page.locator("#org-type").selectOption("党支部");
    await page.locator("#org-leader").fill("李四");
    const created = apiResponse(page, "POST", /^\/api\/admin\/orgs$/);
    await page.locator("#org-save").click();
    const cr = await created;
    const org = await bodyOf(cr);
    assert.equal(cr.status(), 201, `POST /api/admin/orgs: ${JSON.stringify(org)}`);
    assert.deepEqual(cr.request().postDataJSON().parent_id, org.parent_id, "the new org's parent is the clicked node");
    assert.equal(String(org.parent_id), jy, "the new org is under 市教育局党委");
    assert.ok(cr.request().headers()["x-csrf-token"], "writes carry the X-CSRF-Token header");
    const id = String(org.id);
    await visible(page, `${node(jy)} > ul.children > ${node(id).replace("#org-tree ", "")}`, "the new 党支部 appears under 市教育局党委");
    t.diagnostic(`created org ${id} ${name}`);

    // Edit it.
    await page.locator(`${node(id)} > .org-row .act-edit`).click();
    await visible(page, "#org-dialog", "编辑 opens the org form");
    assert.equal(await page.locator("#org-name").inputValue(), name, "the edit form is filled with the org's name");
    const renamed = name + "（改）";
    await page.locator("#org-name").fill(renamed);
    await page.locator("#org-phone").fill("010-12345678");
    const updated = apiResponse(page, "PUT", new RegExp(`^/api/admin/orgs/${id}$`));
    await page.locator("#org-save").click();
    const ur = await updated;
    assert.equal(ur.status(), 200, `PUT /api/admin/orgs/${id}: ${JSON.stringify(await bodyOf(ur))}`);
    await waitUntil(page, ([sel, n]) => document.querySelector(sel + " > .org-row .org-name")?.textContent === n, [node(id), renamed], "the renamed org shows its new name");

    // Move it under 市卫健委党委; the target list leaves out the org itself.
    await page.locator(`${node(id)} > .org-row .act-move`).click();
    await visible(page, "#move-dialog", "移动 opens the move dialog");
    const targets = await page.locator("#move-parent option").evaluateAll((os) => os.map((o) => o.value));
    assert.ok(!targets.includes(id), "an org cannot be moved under itself: it is not offered as a parent");
    await page.locator("#move-parent").selectOption(wj);
    const moved = apiResponse(page, "POST", new RegExp(`^/api/admin/orgs/${id}/move$`));
    await page.locator("#move-save").click();
    const mr = await moved;
    const mj = await bodyOf(mr);
    assert.equal(mr.status(), 200, `POST move: ${JSON.stringify(mj)}`);
    assert.equal(String(mj.parent_id), wj, "the moved org's parent is now 市卫健委党委");
    await visible(page, `${node(wj)} > ul.children > ${node(id).replace("#org-tree ", "")}`, "the moved org appears under 市卫健委党委");
    assert.equal(await page.locator(`${node(jy)} ${node(id).replace("#org-tree ", "")}`).count(), 0, "the moved org is no longer under 市教育局党委");

    // Dissolve it.
    await page.locator(`${node(id)} > .org-row .act-dissolve`).click();
    await visible(page, "#confirm-dialog", "撤销 asks for confirmation");
    const dissolved = apiResponse(page, "POST", new RegExp(`^/api/admin/orgs/${id}/dissolve$`));
    await page.locator("#confirm-ok").click();
    const dr = await dissolved;
    const dj = await bodyOf(dr);
    assert.equal(dr.status(), 200, `POST dissolve: ${JSON.stringify(dj)}`);
    assert.equal(dj.status, "dissolved", "the dissolved org's status");
    await waitUntil(page, (sel) => !document.querySelector(sel), node(id), "a dissolved org leaves the tree (已撤销 hidden by default)");
    await page.locator("#show-dissolved").check();
    await visible(page, `${node(id)}.dissolved`, "显示已撤销组织 shows the dissolved org");
    assert.match(await page.locator(`${node(id)} > .org-row`).textContent(), /已撤销/, "the dissolved org is marked 已撤销");
    assert.equal(await page.locator(`${node(id)} > .org-row .act-dissolve`).count(), 0, "a dissolved org offers no actions");

    // Export is a plain link to the xlsx download.
    assert.equal(await page.locator("#org-export").getAttribute("href"), "/api/admin/orgs/export");
    const xr = await context.request.get(BASE + "/api/admin/orgs/export");
    assert.equal(xr.status(), 200, "GET /api/admin/orgs/export");
    assert.equal((await xr.body()).subarray(0, 2).toString("latin1"), "PK", "the org export is an xlsx (zip) file");

    // Import: a file that is not a spreadsheet gets an error shown (report or message), never a crash.
    await page.locator("#org-import-file").setInputFiles({ name: "bad.xlsx", mimeType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", buffer: Buffer.from("not an xlsx file") });
    await waitUntil(page, () => { const r = document.getElementById("import-report"); return !r.hidden && !/正在导入/.test(r.textContent); }, undefined, "importing a broken file shows a result");
    t.diagnostic(`import of a broken file shows: ${await page.locator("#import-report").textContent()}`);
    assert.ok(await page.locator("#import-report .error").count() > 0, "importing a broken file shows an error");

    t.diagnostic(`expected 4xx answers: ${rejected.join(", ") || "none"}`);
    assert.deepEqual(problems, [], "no page errors or server errors");
  } finally {
    await context.close();
  }
});

// --- (b) members ---------------------------------------------------------------------------------

test("members page: invalid 身份证号 shows the server's Chinese message; a valid member is masked until 显示完整信息", { timeout: 180_000 }, async (t) => {
  // A fresh org to hold the test member (dissolving it later must answer 409).
  const api = await apiSession("sysadmin", { checkCookies: true });
  const { context, page, problems, rejected } = await newPage({ desktop: true });
  try {
    const orgsJson = (await api.call("GET", "/api/admin/orgs")).json;
    const jy = orgsJson.items.find((o) => o.name === "市教育局党委");
    assert.ok(jy, "GET /api/admin/orgs lists 市教育局党委 for sysadmin");
    const orgName = `测试党员支部${STAMP}`;
    const oc = await api.call("POST", "/api/admin/orgs", { parent_id: jy.id, name: orgName, org_type: "党支部", code: `T${STAMP}B`, leader_name: null, contact_phone: null, address: null, lat: null, lng: null, sort_order: 99 });
    assert.equal(oc.status, 201, `creating the test org: ${JSON.stringify(oc.json)}`);
    const orgIdNew = String(oc.json.id);

    await page.goto(BASE + "/admin/members.html");
    await page.waitForURL((u) => u.pathname === "/login.html");
    await loginViaPage(page, "sysadmin");
    assert.equal(path(page), "/admin/members.html", "after login the browser returns to the members page");
    await waitUntil(page, () => document.getElementById("page-info").textContent.includes("共"), undefined, "the member list did not load");

    const name = `测试党员${STAMP}`;
    // Birth date and sequence vary with the run so that repeated runs do not reuse a number.
    const n = Number(STAMP);
    const birth = `${1960 + (n % 40)}${String(1 + (Math.floor(n / 40) % 12)).padStart(2, "0")}${String(1 + (Math.floor(n / 480) % 28)).padStart(2, "0")}`;
    const id = idNumber("110105" + birth + STAMP.slice(-3));
    const badId = id.slice(0, 17) + (id[17] === "1" ? "2" : "1");
    const mobile = phone(7);

    await page.locator("#member-add").click();
    await visible(page, "#member-dialog", "新增党员 opens the form");
    await page.locator("#m-name").fill(name);
    await page.locator("#m-gender").selectOption("男");
    await page.locator("#m-id-number").fill(badId);
    await page.locator("#m-phone").fill(mobile);
    await page.locator("#m-education").fill("大学本科");
    await page.locator("#m-join").fill("2015-07-01");
    await page.locator("#m-full").fill("2016-07-01");
    await page.locator("#m-status").selectOption("正式党员");
    await page.locator("#m-org").selectOption(orgIdNew);
    await page.locator("#m-position").fill("组织委员");
    await page.locator("#m-work-unit").fill("第二中学");
    let created = apiResponse(page, "POST", /^\/api\/admin\/members$/);
    await page.locator("#member-save").click();
    let cr = await created;
    const bad = await bodyOf(cr);
    assert.equal(cr.status(), 400, `an invalid ID number must be refused with 400; got ${cr.status()} ${JSON.stringify(bad)}`);
    assert.equal(bad.code, "member.invalid_id_number", "error code for a bad check digit");
    await visible(page, "#member-form-error", "the form shows the error");
    const shown = await page.locator("#member-form-error").textContent();
    assert.equal(shown, bad.message, "the server's message is shown verbatim");
    assert.match(shown, /[\u4e00-\u9fff]/, "the error message is in Chinese");
    assert.ok(await page.locator("#member-dialog").isVisible(), "the form stays open after an error");

    await page.locator("#m-id-number").fill(id);
    created = apiResponse(page, "POST", /^\/api\/admin\/members$/);
    await page.locator("#member-save").click();
    cr = await created;
    const member = await bodyOf(cr);
    assert.equal(cr.status(), 201, `creating a valid member: ${JSON.stringify(member)}`);
    const sent = cr.request().postDataJSON();
    for (const k of ["name", "gender", "ethnicity", "birth_date", "id_number", "phone", "education", "join_date", "full_member_date", "status", "org_id", "party_position", "work_unit", "remarks"]) {
      assert.ok(k in sent, `the create body carries ${k}`);
    }
    assert.equal(sent.birth_date, `${birth.slice(0, 4)}-${birth.slice(4, 6)}-${birth.slice(6)}`, "birth date is taken from the ID number when left empty");
    await waitUntil(page, () => !document.getElementById("member-dialog").open, undefined, "the form closes after saving");
    t.diagnostic(`created member ${member.id} ${name} ${id}`);

    // Find it: masked in the list.
    await page.locator("#f-q").fill(name);
    const listed = apiResponse(page, "GET", /^\/api\/admin\/members$/);
    await page.locator("#f-search").click();
    await listed;
    const row = page.locator(`#member-rows tr[data-id="${member.id}"]`);
    await visible(page, `#member-rows tr[data-id="${member.id}"]`, "the new member is listed when searching its name");
    const maskedId = await row.locator(".c-id").textContent();
    assert.notEqual(maskedId, id, "the ID number is masked by default");
    assert.ok(maskedId.includes("*") && maskedId.startsWith(id.slice(0, 6)) && maskedId.endsWith(id.slice(-4)), `masked ID number looks like 110105********1234; got ${maskedId}`);
    assert.equal(await row.locator(".c-phone").textContent(), maskPhone(mobile), "the phone is masked by default");
    assert.equal(await row.locator(".c-org").textContent(), orgName, "the list shows the member's org");

    // 显示完整信息.
    const unmasked = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/admin/members" && new URL(r.url()).searchParams.get("unmask") === "1");
    await page.locator("#f-unmask").check();
    const ur = await unmasked;
    assert.equal(ur.status(), 200, `GET members with unmask=1 as sysadmin: ${JSON.stringify(await bodyOf(ur))}`);
    await waitUntil(page, ([sel, v]) => document.querySelector(sel + " .c-id")?.textContent === v, [`#member-rows tr[data-id="${member.id}"]`, id], "显示完整信息 shows the full ID number");
    assert.equal(await row.locator(".c-phone").textContent(), mobile, "显示完整信息 shows the full phone");
    assert.match(await page.locator("#member-export").getAttribute("href"), /unmask=1/, "the export link follows the unmask toggle");
    await page.locator("#f-unmask").uncheck();
    await waitUntil(page, ([sel, v]) => document.querySelector(sel + " .c-id")?.textContent !== v, [`#member-rows tr[data-id="${member.id}"]`, id], "turning 显示完整信息 off masks again");

    // Org filter covers the subtree: filtering by 市教育局党委 still lists the member.
    await page.locator("#f-org").selectOption(String(jy.id));
    await waitUntil(page, (sel) => !!document.querySelector(sel), `#member-rows tr[data-id="${member.id}"]`, "filtering by the parent org (subtree) still lists the member");

    // Edit: the form is filled with the full values and saves.
    await row.locator(".act-edit").click();
    await visible(page, "#member-dialog", "编辑 opens the form");
    await waitUntil(page, (v) => document.getElementById("m-id-number").value === v, id, "the edit form shows the full ID number");
    await page.locator("#m-remarks").fill("测试备注");
    const put = apiResponse(page, "PUT", new RegExp(`^/api/admin/members/${member.id}$`));
    await page.locator("#member-save").click();
    const pr = await put;
    assert.equal(pr.status(), 200, `PUT member: ${JSON.stringify(await bodyOf(pr))}`);
    await waitUntil(page, () => !document.getElementById("member-dialog").open, undefined, "the edit form closes after saving");

    // Dissolving an org with members is refused (409) and the message is shown.
    await page.goto(BASE + "/admin/orgs.html");
    await waitUntil(page, () => document.querySelectorAll("#org-tree li.org-node").length > 0, undefined, "the org tree did not render");
    await page.locator("#expand-all").click();
    await page.locator(`${node(orgIdNew)} > .org-row .act-dissolve`).click();
    const dis = apiResponse(page, "POST", new RegExp(`^/api/admin/orgs/${orgIdNew}/dissolve$`));
    await page.locator("#confirm-ok").click();
    const dr = await dis;
    const dj = await bodyOf(dr);
    assert.equal(dr.status(), 409, `dissolving an org with a member must answer 409; got ${dr.status()} ${JSON.stringify(dj)}`);
    assert.equal(dj.code, "org.has_members");
    await expectToast(page, dj.message, "the 409 message is shown");

    // Delete the member on the members page.
    await page.goto(BASE + "/admin/members.html");
    await page.locator("#f-q").fill(name);
    await page.locator("#f-search").click();
    await visible(page, `#member-rows tr[data-id="${member.id}"]`, "the member is listed again");
    await page.locator(`#member-rows tr[data-id="${member.id}"] .act-delete`).click();
    await visible(page, "#confirm-dialog", "删除 asks for confirmation");
    const del = apiResponse(page, "DELETE", new RegExp(`^/api/admin/members/${member.id}$`));
    await page.locator("#confirm-ok").click();
    assert.equal((await del).status(), 204, "DELETE member");
    await waitUntil(page, (sel) => !document.querySelector(sel), `#member-rows tr[data-id="${member.id}"]`, "the deleted member leaves the list");

    // Tidy up: the now empty test org can be dissolved.
    const cleanup = await api.call("POST", `/api/admin/orgs/${orgIdNew}/dissolve`);
    assert.equal(cleanup.status, 200, `dissolving the emptied test org: ${JSON.stringify(cleanup.json)}`);

    t.diagnostic(`expected 4xx answers: ${rejected.join(", ") || "none"}`);
    assert.deepEqual(problems, [], "no page errors or server errors");
  } finally {
    await context.close();
    await api.dispose();
  }
});

// --- (c) users, first login, forced password change ---------------------------------------------

test("users page creates a 党员 user; first login needs the SMS code and forces a password change", { timeout: 180_000 }, async (t) => {
  const { context, page, problems, rejected } = await newPage();
  try {
    await loginViaPage(page, "sysadmin");
    assert.match(path(page), ADMIN_HOME, "an administrator lands on the admin home");
    await page.locator(".admin-nav a", { hasText: "用户与角色" }).click();
    await page.waitForURL((u) => u.pathname === "/admin/users.html");
    await waitUntil(page, () => document.querySelectorAll("#user-rows tr").length > 0, undefined, "the user list did not load");

    const username = `t${STAMP}c`;
    const mobile = phone(6);
    const initial = `Init#${STAMP}x`;
    await page.locator("#user-add").click();
    await visible(page, "#user-dialog", "新建用户 opens the form");
    await page.locator("#u-username").fill(username);
    await page.locator("#u-display-name").fill(`测试用户${STAMP}`);
    await page.locator("#u-phone").fill(mobile);
    await page.locator("#u-password").fill(initial);
    const roleRow = page.locator("#roles-list .role-row").first();
    await roleRow.locator(".role-select").selectOption("member");
    await roleRow.locator(".role-org").selectOption(await optionValue(page, "#roles-list .role-row .role-org", "第一中学党支部"));
    const created = apiResponse(page, "POST", /^\/api\/admin\/users$/);
    await page.locator("#user-save").click();
    const cr = await created;
    const user = await bodyOf(cr);
    assert.equal(cr.status(), 201, `POST /api/admin/users: ${JSON.stringify(user)}`);
    const sent = cr.request().postDataJSON();
    assert.equal(sent.roles.length, 1, "one role is sent");
    assert.equal(sent.roles[0].role, "member");
    assert.equal(user.must_change_password, true, "a new user must change the initial password");
    await visible(page, `#user-rows tr[data-id="${user.id}"]`, "the new user is listed");
    assert.match(await page.locator(`#user-rows tr[data-id="${user.id}"] .c-roles`).textContent(), /党员/, "the role column shows 党员");

    // Editing a user without typing a phone keeps the phone (the form cannot know the full number).
    await page.locator(`#user-rows tr[data-id="${user.id}"] .act-edit`).click();
    await visible(page, "#user-dialog", "编辑 opens the user form");
    assert.equal(await page.locator("#u-username").inputValue(), username);
    assert.equal(await page.locator("#roles-list .role-row").count(), 1, "the edit form shows the user's role");
    await page.locator("#u-display-name").fill(`测试用户${STAMP}改`);
    const edited = apiResponse(page, "PUT", new RegExp(`^/api/admin/users/${user.id}$`));
    await page.locator("#user-save").click();
    const er = await edited;
    const ej = await bodyOf(er);
    assert.equal(er.status(), 200, `PUT /api/admin/users/${user.id}: ${JSON.stringify(ej)}`);
    assert.equal(ej.display_name, `测试用户${STAMP}改`);
    assert.equal(ej.phone_masked, user.phone_masked, `saving the form without a new phone must keep the phone (sent ${JSON.stringify(er.request().postDataJSON())})`);

    // Log out.
    const out = apiResponse(page, "POST", /^\/api\/auth\/logout$/);
    await page.locator("#logout").click();
    assert.equal((await out).status(), 204, "POST /api/auth/logout");
    await page.waitForURL((u) => u.pathname === "/login.html");

    // First login: password → SMS step.
    let since = logSize();
    const lr = await submitLogin(page, username, initial);
    const lj = await bodyOf(lr);
    assert.equal(lr.status(), 200, `first login: ${JSON.stringify(lj)}`);
    assert.equal(lj.status, "sms_required", "a newly created user needs the SMS step on first login");
    await visible(page, "#sms-section", "the SMS step is shown");
    assert.ok(await page.locator("#login-section").isHidden(), "the password form is hidden during the SMS step");
    assert.match(await page.locator("#sms-hint").textContent(), new RegExp(lj.phone_masked.replace(/\*/g, "\\*")), "the SMS step names the masked phone");
    // A wrong code is refused with the server's message.
    await page.locator("#sms-code").fill("000000");
    let smsResp = apiResponse(page, "POST", /^\/api\/auth\/login\/sms$/);
    await page.locator("#sms-btn").click();
    const wrong = await smsResp;
    const wj = await bodyOf(wrong);
    if (wrong.status() === 200) {
      t.diagnostic("the code really was 000000");
    } else {
      assert.equal(wrong.status(), 400, `a wrong SMS code should answer 400 auth.sms_invalid; got ${wrong.status()} ${JSON.stringify(wj)}`);
      assert.equal(wj.code, "auth.sms_invalid");
      await waitUntil(page, (m) => document.getElementById("sms-error").textContent === m, wj.message, "a wrong SMS code shows the server's message");
      const code = await smsCode(lj.phone_masked, "first_login", since);
      await page.locator("#sms-code").fill(code);
      smsResp = apiResponse(page, "POST", /^\/api\/auth\/login\/sms$/);
      await page.locator("#sms-btn").click();
      const sr = await smsResp;
      const sj = await bodyOf(sr);
      assert.equal(sr.status(), 200, `POST /api/auth/login/sms with the logged code: ${JSON.stringify(sj)}`);
      if (sj !== null) assert.equal(sj.status, "ok");
      assert.equal(sr.request().postDataJSON().challenge, lj.challenge, "the SMS step sends the login challenge");
    }

    // Forced password change.
    await page.waitForURL((u) => u.pathname === "/password.html");
    await visible(page, "#must-change", "the password page explains the forced change");
    await page.locator("#old-password").fill(initial);
    await page.locator("#code").fill("123456");
    const newPassword = `New#${STAMP}pw`;
    await page.locator("#new-password").fill(newPassword);
    await page.locator("#new-password2").fill(newPassword + "x");
    let posted = false;
    const watch = (r) => { if (new URL(r.url()).pathname === "/api/auth/password/change") posted = true; };
    page.on("request", watch);
    await page.locator("#password-submit").click();
    await visible(page, "#password-error", "mismatching new passwords are reported");
    assert.equal(await page.locator("#password-error").textContent(), "两次输入的新密码不一致");
    assert.equal(posted, false, "mismatching passwords are caught before any request");
    page.off("request", watch);

    // The server's policy message is shown verbatim.
    since = logSize();
    const sendResp = apiResponse(page, "POST", /^\/api\/auth\/sms\/send$/);
    await page.locator("#send-code").click();
    const sendR = await sendResp;
    assert.equal(sendR.status(), 200, `POST /api/auth/sms/send: ${JSON.stringify(await bodyOf(sendR))}`);
    assert.deepEqual(sendR.request().postDataJSON(), { purpose: "password_change" });
    assert.ok(await page.locator("#send-code").isDisabled(), "获取验证码 is disabled while counting down");
    const code = await smsCode(lj.phone_masked, "password_change", since);
    await page.locator("#code").fill(code);
    await page.locator("#new-password").fill("123");
    await page.locator("#new-password2").fill("123");
    let change = apiResponse(page, "POST", /^\/api\/auth\/password\/change$/);
    await page.locator("#password-submit").click();
    const weak = await change;
    const wk = await bodyOf(weak);
    assert.equal(weak.status(), 400, `a weak password must be refused: ${JSON.stringify(wk)}`);
    assert.equal(wk.code, "auth.password_policy");
    await waitUntil(page, (m) => document.getElementById("password-error").textContent === m, wk.message, "the policy message is shown verbatim");

    await page.locator("#new-password").fill(newPassword);
    await page.locator("#new-password2").fill(newPassword);
    change = apiResponse(page, "POST", /^\/api\/auth\/password\/change$/);
    await page.locator("#password-submit").click();
    const ok = await change;
    assert.equal(ok.status(), 204, `POST /api/auth/password/change: ${JSON.stringify(await bodyOf(ok))}`);
    await visible(page, "#password-ok", "success is reported");
    await page.waitForURL((u) => u.pathname === "/");
    t.diagnostic("member landed on / after the password change");

    const relogin = await request.newContext({ baseURL: BASE });
    try {
      const r = await relogin.post("/api/auth/login", { data: { username, password: newPassword } });
      const j = await r.json();
      assert.equal(r.status(), 200, `login with the new password: ${JSON.stringify(j)}`);
      assert.equal(j.status, "ok", "after the first login no SMS step is needed");
      assert.equal(j.user.must_change_password, false, "must_change_password is cleared");
    } finally {
      await relogin.dispose();
    }

    t.diagnostic(`expected 4xx answers: ${rejected.join(", ") || "none"}`);
    assert.deepEqual(problems, [], "no page errors or server errors");
  } finally {
    await context.close();
  }
});

// --- (d) lockout ---------------------------------------------------------------------------------

test("five wrong passwords lock the account: the sixth attempt shows the 423 message; unlock on the users page", { timeout: 180_000 }, async (t) => {
  const api = await apiSession("sysadmin", { checkCookies: true });
  const { context, page, problems, rejected } = await newPage();
  try {
    const orgs = (await api.call("GET", "/api/admin/orgs")).json.items;
    const zb1 = orgs.find((o) => o.name === "第一中学党支部");
    assert.ok(zb1, "第一中学党支部 is visible to sysadmin");
    const username = `t${STAMP}d`;
    const password = `Lock#${STAMP}x`;
    const body = { username, display_name: `锁定测试${STAMP}`, phone: phone(5), password, member_id: null, roles: [{ role: "member", org_id: zb1.id }] };

    // Writes without the CSRF header are refused.
    const noCsrf = await api.ctx.post("/api/admin/users", { data: body });
    assert.equal(noCsrf.status(), 403, `POST without X-CSRF-Token must answer 403; got ${noCsrf.status()} ${await noCsrf.text()}`);
    assert.equal((await noCsrf.json()).code, "auth.csrf");

    const cu = await api.call("POST", "/api/admin/users", body);
    assert.equal(cu.status, 201, `creating the user through the API: ${JSON.stringify(cu.json)}`);

    await page.goto(BASE + "/login.html");
    const answers = [];
    for (let i = 1; i <= 5; i++) {
      const r = await submitLogin(page, username, "wrong-" + i);
      const j = await bodyOf(r);
      answers.push(r.status());
      // 1–4: 401; the 5th consecutive failure locks the account and already answers 423.
      assert.equal(r.status(), i < 5 ? 401 : 423, `wrong password #${i}: got ${r.status()} ${JSON.stringify(j)}`);
      await waitUntil(page, (m) => document.getElementById("login-error").textContent === m, j.message, `attempt #${i}: the server's message is shown`);
    }
    const r6 = await submitLogin(page, username, password);
    const j6 = await bodyOf(r6);
    assert.equal(r6.status(), 423, `the 6th attempt with the right password must answer 423 (locked); got ${r6.status()} ${JSON.stringify(j6)}`);
    assert.equal(j6.code, "auth.locked");
    await waitUntil(page, (m) => document.getElementById("login-error").textContent === m, j6.message, "the lock message is shown verbatim");
    assert.match(j6.message, /锁定/, "the lock message says the account is locked");
    assert.equal(path(page), "/login.html", "a locked account stays on the login page");
    t.diagnostic(`answers: ${answers.join(", ")}, then ${r6.status()}: ${j6.message}`);

    // Unlock it as sysadmin on the users page.
    await loginViaPage(page, "sysadmin", { next: "/admin/users.html" });
    assert.equal(path(page), "/admin/users.html");
    await page.locator("#u-q").fill(username);
    await page.locator("#u-search").click();
    const row = `#user-rows tr[data-username="${username}"]`;
    await visible(page, `${row} .act-unlock`, "a locked user has a 解锁 button");
    assert.match(await page.locator(`${row} .c-status`).textContent(), /锁定/, "the status column says locked");
    const unlock = apiResponse(page, "POST", /^\/api\/admin\/users\/[^/]+\/unlock$/);
    await page.locator(`${row} .act-unlock`).click();
    const ur = await unlock;
    const uj = await bodyOf(ur);
    assert.equal(ur.status(), 200, `POST unlock: ${JSON.stringify(uj)}`);
    assert.ok(!uj.locked_until || new Date(uj.locked_until) <= new Date(), "the unlocked user has no lock");
    await waitUntil(page, (sel) => !document.querySelector(sel), `${row} .act-unlock`, "解锁 disappears after unlocking");

    const again = await request.newContext({ baseURL: BASE });
    try {
      const r = await again.post("/api/auth/login", { data: { username, password } });
      assert.equal(r.status(), 200, `after unlocking, the right password is accepted: ${await r.text()}`);
    } finally {
      await again.dispose();
    }

    // 忘记密码: reset it by SMS code on the login page, then log in with the new password.
    await page.locator("#logout").click();
    await page.waitForURL((u) => u.pathname === "/login.html");
    await page.locator("#forgot-link").click();
    await visible(page, "#reset-section", "忘记密码 opens the reset form");
    await page.locator("#reset-username").fill(username);
    const since = logSize();
    const sendResp = apiResponse(page, "POST", /^\/api\/auth\/sms\/send$/);
    await page.locator("#reset-send").click();
    const sr = await sendResp;
    assert.equal(sr.status(), 200, `POST /api/auth/sms/send (password_reset): ${JSON.stringify(await bodyOf(sr))}`);
    assert.deepEqual(sr.request().postDataJSON(), { purpose: "password_reset", username });
    const code = await smsCode(maskPhone(body.phone), "password_reset", since);
    const resetPassword = `Reset#${STAMP}y`;
    await page.locator("#reset-code").fill(code);
    await page.locator("#reset-new").fill(resetPassword);
    await page.locator("#reset-new2").fill(resetPassword);
    const reset = apiResponse(page, "POST", /^\/api\/auth\/password\/reset$/);
    await page.locator("#reset-submit").click();
    const rr = await reset;
    assert.equal(rr.status(), 204, `POST /api/auth/password/reset: ${JSON.stringify(await bodyOf(rr))}`);
    await visible(page, "#login-section", "after the reset the login form is back");
    assert.equal(await page.locator("#username").inputValue(), username, "the login form keeps the username");
    const lr = await submitLogin(page, username, resetPassword);
    const lj = await bodyOf(lr);
    assert.equal(lr.status(), 200, `login with the reset password: ${JSON.stringify(lj)}`);
    if (lj && lj.status === "sms_required") {
      await visible(page, "#sms-section", "the SMS step is shown");
    } else {
      // The reset proved the phone, so no SMS step; the initial password must still be changed.
      await page.waitForURL((u) => u.pathname !== "/login.html");
      t.diagnostic(`after the reset the login went on to ${path(page)}`);
    }

    t.diagnostic(`expected 4xx answers: ${rejected.join(", ") || "none"}`);
    assert.deepEqual(problems, [], "no page errors or server errors");
  } finally {
    await context.close();
    await api.dispose();
  }
});

// --- (e) scoping and redirects -------------------------------------------------------------------

test("jy_admin sees only its subtree; ?next= to another site is ignored; a 党员 lands on the chat page", { timeout: 120_000 }, async () => {
  const { context, page, problems } = await newPage();
  try {
    await page.goto(BASE + "/login.html?next=" + encodeURIComponent("//example.com/evil"));
    await loginViaPage(page, "jy_admin");
    assert.equal(new URL(page.url()).origin, BASE, "login must not follow ?next= to another site");
    assert.match(path(page), ADMIN_HOME, "an org_admin lands on the admin home");
    await visible(page, "#my-roles li", "the admin home lists the user's roles");
    assert.match(await page.locator("#my-roles").textContent(), /组织管理员/, "jy_admin is 组织管理员");

    await page.locator(".admin-nav a", { hasText: "组织管理" }).click();
    await page.waitForURL((u) => u.pathname === "/admin/orgs.html");
    await waitUntil(page, () => document.querySelectorAll("#org-tree li.org-node").length > 0, undefined, "the org tree did not render for jy_admin");
    await page.locator("#expand-all").click();
    const names = await page.locator("#org-tree .org-name").allTextContents();
    assert.ok(names.includes("市教育局党委"), `jy_admin sees 市教育局党委; tree: ${names.join(", ")}`);
    assert.ok(names.includes("第一中学党支部"), `jy_admin sees 第一中学党支部; tree: ${names.join(", ")}`);
    assert.ok(!names.includes("市卫健委党委"), `jy_admin must not see 市卫健委党委; tree: ${names.join(", ")}`);
    assert.ok(!names.includes("示范市直机关工委"), `jy_admin must not see the parent 示范市直机关工委; tree: ${names.join(", ")}`);
    assert.ok(!names.includes("市人民医院党支部"), `jy_admin must not see 市人民医院党支部; tree: ${names.join(", ")}`);
    assert.ok(await page.locator("#org-add-root").isHidden(), "an org_admin cannot add a top-level org");

    // Log out; a 党员 goes to the chat page, and the admin pages tell them they lack the right.
    await page.locator("#logout").click();
    await page.waitForURL((u) => u.pathname === "/login.html");
    await loginViaPage(page, "member1");
    assert.equal(path(page), "/", "a 党员 lands on the chat page");
    await page.goto(BASE + "/admin/orgs.html");
    await visible(page, "#no-admin", "a 党员 opening an admin page is told that it has no admin right");
    assert.deepEqual(problems, [], "no page errors or server errors");
  } finally {
    await context.close();
  }
});

// --- (f) every page loads cleanly ----------------------------------------------------------------

test("every login/admin page loads without page errors or failed API calls", { timeout: 120_000 }, async (t) => {
  const { context, page, problems, rejected } = await newPage({ desktop: true });
  try {
    await page.goto(BASE + "/login.html");
    assert.match(await page.title(), /党务通/);
    await page.locator("#forgot-link").click();
    await visible(page, "#reset-section", "忘记密码 opens the reset form");
    await page.locator("#reset-back").click();
    await loginViaPage(page, "sysadmin");
    for (const p of ["/admin/index.html", "/admin/orgs.html", "/admin/members.html", "/admin/users.html", "/password.html"]) {
      const res = await page.goto(BASE + p);
      assert.equal(res.status(), 200, `GET ${p}`);
      await page.waitForLoadState("networkidle");
      assert.equal(path(page), p, `${p} should not redirect a logged-in sysadmin`);
    }
    const dir = await context.request.get(BASE + "/admin/");
    t.diagnostic(`GET /admin/ answered ${dir.status()}${dir.status() === 200 ? "" : " (pages link to /admin/index.html)"}`);
    assert.deepEqual(rejected, [], "loading the pages as sysadmin makes no failing API call");
    assert.deepEqual(problems, [], "no page errors or server errors");
  } finally {
    await context.close();
  }
});
