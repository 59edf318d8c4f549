// Shared helpers of the login, password and admin pages (an ES module without side effects at
// import): the JSON API wrapper (cookies + X-CSRF-Token header), error toast, confirm dialog,
// auth guard and the common admin header. Data is always rendered with textContent.

export const $ = (id) => document.getElementById(id);

export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}

/** A `type=button` button (never submits a form) calling `onClick`. */
export function button(text, cls, onClick) {
  const b = el("button", cls, text);
  b.type = "button";
  if (onClick) b.addEventListener("click", onClick);
  return b;
}

/** An ISO time in the browser's local time; the input itself when it is not a time. */
export function localTime(ts) {
  if (!ts) return "";
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? String(ts) : d.toLocaleString("zh-CN", { hour12: false });
}

/** `<option value=...>text</option>`. */
export function option(value, text, selected = false) {
  const o = el("option", "", text);
  o.value = value;
  if (selected) o.selected = true;
  return o;
}

export const ADMIN_ROLES = ["sys_admin", "org_admin"];
// Where an administrator lands. /admin/index.html rather than /admin/ so that it works whether or
// not the static handler maps directory paths to their index.html.
export const ADMIN_HOME = "/admin/index.html";

export const ROLE_LABELS = { sys_admin: "系统管理员", org_admin: "组织管理员", staff: "答复人员", member: "党员" };

/** The value of the JS-readable CSRF cookie (set at login next to the HttpOnly session cookie). */
export function csrfToken() {
  for (const part of document.cookie.split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === "dwt_csrf") return decodeURIComponent(part.slice(i + 1).trim());
  }
  return "";
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/**
 * Calls the JSON API. `body`: a plain object (sent as JSON), a Blob/File/ArrayBuffer (sent raw as
 * xlsx, or as `opts.contentType`) or undefined. Resolves with the parsed JSON (null for 204); rejects with ApiError carrying
 * the server's `code` and verbatim `message`. A 401 `auth.required` (session gone) sends the
 * browser to the login page unless `opts.noRedirect`.
 */
export async function api(method, path, body, opts = {}) {
  const headers = { accept: "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  if (body instanceof Blob || body instanceof ArrayBuffer) {
    headers["content-type"] = opts.contentType || XLSX_TYPE;
    init.body = body;
  } else if (body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (method !== "GET" && method !== "HEAD") headers["x-csrf-token"] = csrfToken();
  let r;
  try {
    r = await fetch(path, init);
  } catch {
    throw new ApiError(0, "network", "网络连接失败，请检查网络后重试");
  }
  if (r.status === 204) return null;
  let data = null;
  const text = await r.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!r.ok) {
    const code = (data && data.code) || "http." + r.status;
    // A message that merely repeats the code is no message for a user (defensive).
    const message = (data && data.message && data.message !== data.code && data.message) || defaultMessage(r.status);
    if (r.status === 401 && code === "auth.required" && !opts.noRedirect) toLogin();
    if (code === "auth.password_change_required" && !opts.noRedirect && location.pathname !== "/password.html") {
      const here = location.pathname + location.search + location.hash;
      location.replace("/password.html?next=" + encodeURIComponent(here));
    }
    throw new ApiError(r.status, code, message);
  }
  return data;
}

function defaultMessage(status) {
  if (status === 401) return "请先登录";
  if (status === 403) return "无权执行此操作";
  if (status === 404) return "内容不存在";
  if (status === 413) return "文件过大，超过服务器允许的上传大小";
  if (status === 429) return "操作过于频繁，请稍后再试";
  if (status >= 500) return "服务暂时不可用，请稍后再试";
  return "请求失败（" + status + "）";
}

export function errorText(e) {
  return e instanceof ApiError ? e.message : "出错了，请稍后再试";
}

/** Sends the browser to the login page, coming back to the current page afterwards. */
export function toLogin() {
  const here = location.pathname + location.search + location.hash;
  location.replace("/login.html?next=" + encodeURIComponent(here));
}

/** A same-origin path from `?next=`, or null (absolute URLs, `//host`, `/\host` are refused). */
export function safeNext(raw) {
  if (!raw || typeof raw !== "string") return null;
  if (!raw.startsWith("/") || raw.startsWith("//") || raw.startsWith("/\\")) return null;
  try {
    const u = new URL(raw, location.origin);
    if (u.origin !== location.origin) return null;
    if (u.pathname === "/login.html") return null;
    return u.pathname + u.search + u.hash;
  } catch {
    return null;
  }
}

export const isAdmin = (user) => !!user && (user.roles || []).some((r) => ADMIN_ROLES.includes(r.role));
export const isSysAdmin = (user) => !!user && (user.roles || []).some((r) => r.role === "sys_admin");

/** Where a user goes after login: ?next= if safe, else the admin home or the member chat. */
export function homeFor(user, next) {
  return safeNext(next) || (isAdmin(user) ? ADMIN_HOME : "/");
}

let toastTimer = null;
/** A short message at the bottom of the screen; kind "error" (default) or "ok". */
export function toast(message, kind = "error") {
  let t = $("toast");
  if (!t) {
    t = el("div", "toast");
    t.id = "toast";
    t.setAttribute("role", kind === "error" ? "alert" : "status");
    t.setAttribute("aria-live", "assertive");
    document.body.append(t);
  }
  t.textContent = message;
  t.className = "toast " + kind;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, kind === "error" ? 8000 : 3000);
}

/** A yes/no question in a <dialog>; resolves true on 确定. */
export function confirmDialog(message, okText = "确定") {
  let d = $("confirm-dialog");
  if (!d) {
    d = el("dialog");
    d.id = "confirm-dialog";
    const p = el("p", "confirm-text");
    p.id = "confirm-text";
    const row = el("div", "form-actions");
    const cancel = el("button", "btn", "取消");
    cancel.type = "button";
    cancel.id = "confirm-cancel";
    const ok = el("button", "btn danger", okText);
    ok.type = "button";
    ok.id = "confirm-ok";
    row.append(cancel, ok);
    d.append(p, row);
    document.body.append(d);
  }
  $("confirm-text").textContent = message;
  $("confirm-ok").textContent = okText;
  return new Promise((resolve) => {
    const done = (v) => {
      $("confirm-ok").onclick = null;
      $("confirm-cancel").onclick = null;
      d.onclose = null;
      if (d.open) d.close();
      resolve(v);
    };
    $("confirm-ok").onclick = () => done(true);
    $("confirm-cancel").onclick = () => done(false);
    d.onclose = () => done(false);
    d.showModal();
  });
}

/**
 * The signed-in user, or a redirect to the login page (the returned promise then never settles).
 * Users who must change their password are sent to /password.html first.
 */
export async function currentUser({ allowPasswordChange = false } = {}) {
  try {
    const me = await api("GET", "/api/auth/me", undefined, { noRedirect: true });
    if (me.must_change_password && !allowPasswordChange) {
      const here = location.pathname + location.search + location.hash;
      location.replace("/password.html?next=" + encodeURIComponent(here));
      return new Promise(() => {});
    }
    return me;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      toLogin();
      return new Promise(() => {});
    }
    throw e;
  }
}

export async function logout() {
  try {
    await api("POST", "/api/auth/logout", undefined, { noRedirect: true });
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) { toast(errorText(e)); return; }
  }
  location.replace("/login.html");
}

/** The admin menu (every admin page's `.admin-nav` is rebuilt from this list). */
export const ADMIN_NAV = [
  ["/admin/index.html", "首页"],
  ["/admin/orgs.html", "组织管理"],
  ["/admin/members.html", "党员管理"],
  ["/admin/users.html", "用户与角色"],
  ["/admin/qa.html", "常用问答"],
  ["/admin/qa-proposals.html", "待审核问答"],
  ["/admin/stats.html", "答复统计"],
  ["/admin/crawl.html", "数据抓取"],
  ["/admin/kb.html", "知识库"],
  ["/admin/hit-test.html", "命中测试"],
  ["/admin/feedback.html", "评价反馈"],
  ["/staff/index.html", "答复工作台"],
];

function renderAdminNav() {
  const nav = document.querySelector(".admin-nav");
  if (!nav) return;
  nav.replaceChildren(...ADMIN_NAV.map(([href, text]) => { const a = el("a", "", text); a.href = href; return a; }));
}

/**
 * Common start of every admin page: guard, fill the header (#me-name, #logout), mark the active
 * nav link. Resolves with the user, or null when the user has no admin role (a notice is shown
 * in place of the page's #content).
 */
/** `roles`: who may open the page (default: the admin roles; 评价反馈 also lets 答复人员 in). */
export async function initAdmin({ roles = ADMIN_ROLES } = {}) {
  $("logout").addEventListener("click", logout);
  renderAdminNav();
  for (const a of document.querySelectorAll(".admin-nav a")) {
    if (a.pathname === location.pathname || (location.pathname === "/admin/" && a.pathname === ADMIN_HOME)) a.classList.add("active");
  }
  let me;
  try {
    me = await currentUser();
  } catch (e) {
    toast(errorText(e));
    return null;
  }
  $("me-name").textContent = me.display_name || me.username;
  $("me-name").title = me.username;
  if (!(me.roles || []).some((r) => roles.includes(r.role))) {
    const c = $("content");
    c.replaceChildren();
    const box = el("div", "card");
    box.id = "no-admin";
    box.append(el("p", "", "您的账号没有管理权限（需要组织管理员或系统管理员角色）。"));
    const a = el("a", "", "返回智能问答 →");
    a.href = "/";
    box.append(a);
    c.append(box);
    return null;
  }
  return me;
}

// --- organisations -------------------------------------------------------------------------------

/** The visible orgs keyed by String(id), with `level` (depth within what the viewer sees; roots are 0) and `children`. */
export function orgForest(items) {
  const byId = new Map(items.map((o) => [String(o.id), { ...o, children: [] }]));
  const roots = [];
  for (const o of byId.values()) {
    const p = o.parent_id != null ? byId.get(String(o.parent_id)) : null;
    if (p) p.children.push(o); else roots.push(o);
  }
  const walk = (o, level) => { o.level = level; for (const c of o.children) walk(c, level + 1); };
  for (const r of roots) walk(r, 0);
  return { byId, roots };
}

/** Pre-order list of a forest (the server's tree order is kept: children are in arrival order). */
export function flatten(roots) {
  const out = [];
  const walk = (o) => { out.push(o); for (const c of o.children) walk(c); };
  for (const r of roots) walk(r);
  return out;
}

export const orgLabel = (o) => "　".repeat(o.level || 0) + o.name + (o.status === "dissolved" ? "（已撤销）" : "");

/** Fills a <select> with the org tree, indented; `first` is an optional [value, text] first entry. */
export function fillOrgSelect(select, orgs, { first = null, selected = null, activeOnly = true, exclude = null } = {}) {
  select.replaceChildren();
  if (first) select.append(option(first[0], first[1]));
  for (const o of orgs) {
    if (activeOnly && o.status === "dissolved") continue;
    if (exclude && exclude.has(String(o.id))) continue;
    select.append(option(String(o.id), orgLabel(o), selected != null && String(selected) === String(o.id)));
  }
}

/** Loads the orgs the viewer may see, as a pre-order list with levels. */
export async function loadOrgs() {
  const j = await api("GET", "/api/admin/orgs");
  const { byId, roots } = orgForest(j.items || []);
  return { byId, roots, list: flatten(roots) };
}

// --- xlsx import ---------------------------------------------------------------------------------

/** POSTs a chosen .xlsx file as the raw body and renders the report into `box`. */
export async function importXlsx(path, file, box) {
  box.replaceChildren();
  box.hidden = false;
  box.className = "report";
  box.append(el("p", "", "正在导入 " + file.name + " ……"));
  let rep;
  try {
    rep = await api("POST", path, file);
  } catch (e) {
    box.replaceChildren(el("p", "error", errorText(e)));
    return null;
  }
  box.replaceChildren();
  const errors = rep.errors || [];
  if (errors.length) {
    box.append(el("p", "error", `导入失败：共 ${errors.length} 处错误，未写入任何数据。请修改后重新导入。`));
    const table = el("table", "data");
    const head = el("tr");
    head.append(el("th", "", "行号"), el("th", "", "错误说明"));
    table.append(head);
    for (const er of errors) {
      const tr = el("tr");
      tr.append(el("td", "", String(er.row)), el("td", "", er.message));
      table.append(tr);
    }
    const wrap = el("div", "table-wrap");
    wrap.append(table);
    box.append(wrap);
  } else {
    box.append(el("p", "ok", `导入成功：新增 ${rep.inserted || 0} 条，更新 ${rep.updated || 0} 条。`));
  }
  return rep;
}

/** A query string of the non-empty entries (empty values are left out, not sent as `k=`). */
/**
 * GETs `path` for a box that shows "loading" (aria-busy): the JSON, or null after the error is
 * shown in the box (a 403 goes to `onDenied` instead).
 */
export async function getInto(box, path, onDenied) {
  try {
    return await api("GET", path);
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) {
      onDenied(e);
      return null;
    }
    box.replaceChildren(el("p", "error", errorText(e)));
    box.removeAttribute("aria-busy");
    return null;
  }
}

export function query(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") p.set(k, String(v));
  const s = p.toString();
  return s ? "?" + s : "";
}

// --- forms ---------------------------------------------------------------------------------------

/** Trimmed value of an input, or null when empty. */
export function val(id) {
  const v = $(id).value.trim();
  return v === "" ? null : v;
}

/** Number value of an input, or null when empty (NaN stays NaN so the caller can complain). */
export function num(id) {
  const v = $(id).value.trim();
  return v === "" ? null : Number(v);
}

/** Wires a "获取验证码" button: disabled for `seconds` after a successful send. */
export function countdown(button, seconds = 60) {
  const label = button.dataset.label || button.textContent;
  button.dataset.label = label;
  let left = seconds;
  button.disabled = true;
  button.textContent = `重新获取（${left}）`;
  const t = setInterval(() => {
    left -= 1;
    if (left <= 0) {
      clearInterval(t);
      button.disabled = false;
      button.textContent = label;
    } else {
      button.textContent = `重新获取（${left}）`;
    }
  }, 1000);
}

/** Row buttons `button[data-action]` in a table body: calls `handlers[action](item)` for the
 * item whose id is the row's `data-id` (items looked up in `getItems()`). */
export function onRowAction(tbodyId, getItems, handlers) {
  $(tbodyId).addEventListener("click", (e) => {
    const b = e.target.closest("button[data-action]");
    if (!b) return;
    const id = b.closest("tr").dataset.id;
    const item = getItems().find((x) => String(x.id) === id);
    if (item && handlers[b.dataset.action]) handlers[b.dataset.action](item);
  });
}
