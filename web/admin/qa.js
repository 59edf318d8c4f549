// 常用问答 (系统管理员 and 组织管理员): the curated Q&A pairs the chat answers from directly. Each
// pair has a scope (适用范围): 全系统 (answers everyone; only 系统管理员 curate those) or one
// organisation (answers the members of its subtree). A 组织管理员 sees the system-wide pairs
// read-only (`editable: false`: a 只读 badge, no edit, workflow or rollback buttons) and curates the
// pairs of the organisations they manage; the scope <select>s (editor, import) offer only what the
// caller may choose (全系统 for 系统管理员, then the organisations, indented by depth). A list with
// filters (words, category, scope, status) most recently updated first; an editor for new pairs (saved
// as 草稿, 待审核 or 已发布) and for edits (PUT with the version being edited: a stale save shows
// the server's 409 message and offers to load the latest version, the unsaved answer kept to copy
// from); a question an existing published pair already answers is refused (409
// qa.near_duplicate) until 仍然保存 is ticked; the answer previewed as members will see it (the
// Markdown subset of /format.js); the review workflow buttons per row; the version history, each
// version with its changes against the one before it (/admin/diff.js: text fields diffed by
// character, other fields as 旧值 → 新值) and rollback; xlsx template, export and import (good
// rows are saved even when some rows fail; the report lists the failed sheet rows); 分类管理: the category tree (GET
// /api/admin/qa/categories) with add, rename, delete, 上移/下移 and 移到… buttons and HTML5 drag and
// drop (onto a category: its last child; onto the gap above one: just before it). `?new=1&question=
// …&answer=…&refs=…` (生成问答对 on 评价反馈) opens the new-pair editor prefilled. The category tree
// is read-only for non-系统管理员 (no add, buttons or drag and drop). A caller the server refuses
// gets its 403 message in place of the page. Data is rendered with textContent only (the
// preview: HTML-escaped by /format.js before its markup is applied).
import { $, el, api, ApiError, toast, errorText, initAdmin, confirmDialog, option, query, button, localTime, isSysAdmin, loadOrgs, orgForest, flatten, orgLabel, getInto } from "/admin/admin.js";
import { versionDiffBox } from "/admin/diff.js";
import { setFormatted } from "/format.js";

const STATUS = { draft: "草稿", pending: "待审核", published: "已发布", retired: "已停用" };
const STATUS_CLASS = { draft: "st-claimed", pending: "st-pending", published: "st-answered", retired: "st-closed" };
/** The workflow buttons of a row: [target status, label]. */
const STATUS_ACTIONS = {
  draft: [["pending", "提交审核"], ["published", "发布"]],
  pending: [["published", "发布"], ["draft", "退回草稿"]],
  published: [["retired", "停用"]],
  retired: [["published", "重新发布"]],
};
/** What a status change did, for the confirmation toast. */
const STATUS_DONE = {
  draft: "已退回草稿",
  pending: "已提交审核",
  published: "已发布，智能问答将直接使用这条答案",
  retired: "已停用，智能问答不再使用这条答案",
};
const ACTION = { create: "新建", edit: "编辑", status: "状态变更", rollback: "回滚", original: "原始内容" };

const pairPath = (id) => "/api/admin/qa/" + encodeURIComponent(id);

let items = [];
/** Every category seen in a listing (the filter and the editor's suggestions). */
const categories = new Set();
let ticket = 0;
let refused = false;
/** The pair in the editor ({ id, version, answer }), or null for a new pair. */
let editing = null;
let saving = false;
/** The pair whose history row is open, or null. */
let historyOf = null;
/** The caller is a 系统管理员 (curates everything, may choose 全系统, edits the category tree). */
let sysAdmin = false;
/** Every organisation the caller sees, by String(id) (names for scopes and history). */
let orgsById = new Map();
/** The organisations the caller may scope pairs to (pre-order, `level` for indentation; active only). */
let scopeOrgs = [];
/** …and the same with dissolved ones too (the list filter). */
let filterOrgs = [];

const READONLY_TITLE = "全系统问答由系统管理员维护";

/** Today's date in Beijing (the server decides effectiveness by it), YYYY-MM-DD. */
const today = () => new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);

/** Non-empty trimmed lines. */
const lines = (s) => String(s || "").split(/\r\n?|\n/).map((x) => x.trim()).filter((x) => x);

/**
 * 依据 lines (`中国共产党章程 第七条`, also `《中国共产党章程》第七条`; `；` separates several on one
 * line) as [{doc, article?}]: the last space-separated part is the article when it looks like
 * 第…条; without a space, a trailing 第…条 is split off the same way.
 */
function parseRefs(text) {
  const out = [];
  for (const raw of lines(String(text || "").replace(/[;；]/g, "\n"))) {
    const s = raw.replace(/[《》]/g, " ").trim().replace(/\s+/g, " ");
    if (!s) continue;
    const sp = s.lastIndexOf(" ");
    const tail = sp > 0 ? s.slice(sp + 1) : "";
    if (/^第.+条$/.test(tail)) {
      out.push({ doc: s.slice(0, sp).trim(), article: tail });
      continue;
    }
    const i = s.lastIndexOf("第");
    if (i > 0 && /^第[^\s]+条$/.test(s.slice(i))) out.push({ doc: s.slice(0, i).trim(), article: s.slice(i) });
    else out.push({ doc: s });
  }
  return out;
}

const refText = (r) => [r.doc, r.article].filter((x) => x).join(" ");

function period(p) {
  const f = p.effective_from;
  const t = p.effective_to;
  if (f && t) return `${f} 至 ${t}`;
  if (f) return `${f} 起`;
  if (t) return `至 ${t}`;
  return "长期有效";
}

// --- scopes (适用范围) -----------------------------------------------------------------------------

/** A scope's name: 全系统, an organisation's name, or the name the server gave (`fallback`). */
function scopeName(orgId, fallback) {
  if (orgId == null) return "全系统";
  const o = orgsById.get(String(orgId));
  return o ? o.name : fallback || `组织 ${orgId}`;
}

/**
 * Loads the organisations and works out which ones the caller may scope pairs to: every one for a
 * 系统管理员, else the subtrees of the caller's 组织管理员 grants (an organisation seen only as
 * 答复人员 is not offered). A failure leaves the lists empty (the server still checks).
 */
async function loadScopes(me) {
  let all = [];
  try {
    all = (await loadOrgs()).list;
  } catch (e) {
    toast(errorText(e));
  }
  orgsById = new Map(all.map((o) => [String(o.id), o]));
  let mine = all;
  if (!sysAdmin) {
    const roots = (me.roles || [])
      .filter((r) => r.role === "org_admin")
      .map((r) => orgsById.get(String(r.org_id)))
      .filter((o) => o && o.path);
    mine = all.filter((o) => roots.some((r) => String(o.path).startsWith(r.path)));
  }
  // Levels within what the caller may choose (a 组织管理员's own organisation is not indented).
  filterOrgs = flatten(orgForest(mine).roots);
  scopeOrgs = filterOrgs.filter((o) => o.status !== "dissolved");
}

/** Fills a scope <select>: 全系统 ("", 系统管理员 only) and the organisations; `extra`: an [id, name] to include (an edited pair's dissolved organisation). */
function fillScopeSelect(sel, selected, extra = null) {
  const opts = [];
  if (sysAdmin) opts.push(option("", "全系统"));
  for (const o of scopeOrgs) opts.push(option(String(o.id), orgLabel(o)));
  if (extra && !scopeOrgs.some((o) => String(o.id) === String(extra[0]))) opts.push(option(String(extra[0]), extra[1]));
  sel.replaceChildren(...opts);
  sel.value = selected == null ? "" : String(selected);
  if (sel.selectedIndex < 0 && sel.options.length) sel.selectedIndex = 0;
}

/** The scope a new pair gets by default: 全系统 for a 系统管理员, else the first organisation managed. */
const defaultScope = () => (sysAdmin || !scopeOrgs.length ? null : scopeOrgs[0].id);

/** The list filter: 全部范围, 全系统, then every organisation the caller curates (dissolved ones marked). */
function fillScopeFilter() {
  const sel = $("qa-f-org");
  const chosen = sel.value;
  sel.replaceChildren(
    option("", "全部范围"),
    option("system", "全系统"),
    ...filterOrgs.map((o) => option(String(o.id), orgLabel(o))),
  );
  sel.value = chosen;
  if (sel.selectedIndex < 0) sel.value = "";
}

/** What the caller's role changes on the page: the scope choices and the category tree's controls. */
function applyRole() {
  fillScopeFilter();
  fillScopeSelect($("qa-org"), defaultScope());
  fillScopeSelect($("qa-import-org"), defaultScope());
  $("qa-cat-add-row").hidden = !sysAdmin;
  $("qa-cats-hint").hidden = !sysAdmin;
  $("qa-cats-readonly").hidden = sysAdmin;
  $("qa-cats").dataset.readonly = sysAdmin ? "false" : "true";
}

/** A 403: the server's message instead of the page's content. */
function denied(e) {
  refused = true;
  $("qa-denied-text").textContent = errorText(e);
  $("qa-denied").hidden = false;
  $("qa-main").hidden = true;
  $("qa-new").hidden = true;
  $("qa-reload").hidden = true;
}

// --- the list ------------------------------------------------------------------------------------

/** Loads and renders the pairs; `flash`: a pair id to mark and scroll to. Resolves true when rendered. */
async function load({ flash = null } = {}) {
  if (refused) return false;
  const t = ++ticket;
  const list = $("qa-list");
  list.setAttribute("aria-busy", "true");
  let j;
  try {
    j = await api("GET", "/api/admin/qa" + query({ q: $("qa-q").value.trim(), category: $("qa-f-category").value, org: $("qa-f-org").value, status: $("qa-f-status").value, updated_from: $("qa-f-from").value, updated_to: $("qa-f-to").value }));
  } catch (e) {
    if (t !== ticket) return false;
    list.removeAttribute("aria-busy");
    if (e instanceof ApiError && e.status === 403) denied(e);
    else toast(errorText(e));
    return false;
  }
  if (t !== ticket) return false;
  items = j.items || [];
  for (const p of items) if (p.category) categories.add(p.category);
  fillCategories();
  $("qa-rows").replaceChildren(...items.map(row));
  const filtered = $("qa-q").value.trim() || $("qa-f-category").value || $("qa-f-org").value || $("qa-f-status").value || $("qa-f-from").value || $("qa-f-to").value;
  $("qa-empty").textContent = filtered ? "没有符合条件的常用问答。" : "还没有常用问答，点“新增”或导入 Excel 添加。";
  $("qa-empty").hidden = items.length > 0;
  $("qa-count").textContent = items.length ? `共 ${items.length} 条` : "";
  const open = historyOf != null && items.find((p) => p.id === historyOf);
  if (open) showHistory(open);
  else historyOf = null;
  if (flash != null) {
    const tr = rowOf(flash);
    if (tr) {
      tr.classList.add("flash");
      tr.scrollIntoView({ block: "nearest" });
    }
  }
  list.removeAttribute("aria-busy");
  // Names and counts of the category tree follow the pairs.
  await loadCats();
  return true;
}

function rowOf(id) {
  return $("qa-rows").querySelector(`tr[data-qa-id="${CSS.escape(String(id))}"]`);
}

/** The category filter and the editor's suggestions: the tree's names in tree order, then names only pairs use. */
function fillCategories() {
  const order = treeOrder();
  const inTree = new Set(order.map(({ cat }) => cat.name));
  const extra = [...categories].filter((c) => !inTree.has(c)).sort((a, b) => a.localeCompare(b, "zh-CN"));
  const sel = $("qa-f-category");
  const chosen = sel.value;
  sel.replaceChildren(
    option("", "全部分类"),
    ...order.map(({ cat, depth }) => option(cat.name, indent(depth) + cat.name, cat.name === chosen)),
    ...extra.map((c) => option(c, c, c === chosen)),
  );
  if (chosen && !inTree.has(chosen) && !categories.has(chosen)) sel.append(option(chosen, chosen, true));
  $("qa-category-list").replaceChildren(...order.map(({ cat }) => option(cat.name, cat.name)), ...extra.map((c) => option(c, c)));
}

function row(p) {
  const tr = el("tr");
  tr.dataset.qaId = String(p.id);
  tr.dataset.status = p.status || "";
  tr.dataset.version = String(p.version);
  const editable = p.editable !== false;
  tr.dataset.editable = String(editable);
  tr.dataset.orgId = p.org_id == null ? "" : String(p.org_id);
  const td = (cls, label, content) => {
    const c = el("td", cls);
    if (label) c.dataset.label = label;
    if (content instanceof Node) c.append(content);
    else if (content !== undefined) c.textContent = content;
    tr.append(c);
    return c;
  };
  const q = td("c-name c-wrap qa-main-cell");
  q.append(el("strong", "qa-question", p.question));
  if ((p.similar || []).length) q.append(el("div", "meta qa-similar", "相似问法：" + p.similar.join("｜")));
  q.append(el("div", "pre qa-answer", p.answer));
  if ((p.source_refs || []).length) q.append(el("div", "meta qa-refs", "依据：" + p.source_refs.map(refText).join("；")));

  td("c-category", "分类", p.category || "—");
  const scope = td("c-org", "适用范围");
  const badge = el("span", "tag qa-org" + (p.org_id == null ? " grey qa-org-system" : ""), p.org_name || scopeName(p.org_id));
  badge.title = p.org_id == null ? "回答所有人" : "只回答该组织及其下级组织的党员";
  scope.append(badge);
  const st = td("c-status", "状态");
  st.append(el("span", "status qa-status-label " + (STATUS_CLASS[p.status] || ""), STATUS[p.status] || p.status || ""));
  if (p.status === "published") {
    const d = today();
    if (p.effective_from && d < p.effective_from) st.append(" ", el("span", "tag grey qa-not-yet", "未到生效日期"));
    else if (p.effective_to && d > p.effective_to) st.append(" ", el("span", "tag grey qa-expired", "已过期"));
  }
  td("c-version qa-version", "版本", String(p.version));
  td("c-effective qa-period", "生效期", period(p));
  const upd = td("c-updated", "更新人 / 时间");
  const time = el("time", "meta", localTime(p.updated_at));
  time.dateTime = p.updated_at || "";
  upd.append(el("span", "qa-editor", p.updated_by || "系统"), " ", time);

  const ops = td("c-ops");
  const actions = el("div", "qa-actions");
  if (editable) {
    actions.append(button("编辑", "btn small qa-edit", () => openEdit(p)));
    for (const [to, label] of STATUS_ACTIONS[p.status] || []) {
      const b = button(label, "btn small qa-status" + (to === "retired" ? " danger" : ""), () => changeStatus(p, to, tr));
      b.dataset.to = to;
      actions.append(b);
    }
  } else {
    // Not the caller's to change (a system-wide pair seen by a 组织管理员): history only.
    const ro = el("span", "tag grey qa-readonly", "只读");
    ro.title = p.org_id == null ? READONLY_TITLE : "不在您的管理范围内";
    actions.append(ro);
  }
  actions.append(button("历史", "btn small qa-history", () => toggleHistory(p)));
  ops.append(actions);
  return tr;
}

function rowBusy(tr, on) {
  if (!tr) return;
  tr.toggleAttribute("aria-busy", on);
  for (const b of tr.querySelectorAll("button")) b.disabled = on;
}

async function changeStatus(p, to, tr) {
  if (to === "retired") {
    const ok = await confirmDialog(`停用“${p.question}”？停用后智能问答不再使用这条答案，可随时重新发布。`, "停用");
    if (!ok) return;
  }
  rowBusy(tr, true);
  let saved;
  try {
    saved = await api("POST", pairPath(p.id) + "/status", { status: to });
  } catch (e) {
    rowBusy(tr, false);
    if (e instanceof ApiError && e.status === 403) denied(e);
    else toast(errorText(e));
    return;
  }
  toast(`“${p.question}”${STATUS_DONE[saved ? saved.status : to] || "状态已更新"}`, "ok");
  await load({ flash: p.id });
}

// --- history and rollback ------------------------------------------------------------------------

function historyRowOf(id) {
  return $("qa-rows").querySelector(`tr.qa-history-row[data-history-of="${CSS.escape(String(id))}"]`);
}

function toggleHistory(p) {
  const open = historyRowOf(p.id);
  if (open) {
    open.remove();
    rowOf(p.id)?.querySelector(".qa-history")?.classList.remove("on");
    historyOf = null;
    return;
  }
  showHistory(p);
}

/** Opens (or refreshes) the history row under a pair's row; one at a time. */
function showHistory(p) {
  for (const r of $("qa-rows").querySelectorAll("tr.qa-history-row")) r.remove();
  for (const b of $("qa-rows").querySelectorAll(".qa-history.on")) b.classList.remove("on");
  const tr = rowOf(p.id);
  if (!tr) return;
  historyOf = p.id;
  tr.querySelector(".qa-history")?.classList.add("on");
  const hr = el("tr", "qa-history-row");
  hr.dataset.historyOf = String(p.id);
  const cell = el("td", "c-wrap qa-history-cell");
  cell.colSpan = tr.children.length;
  const box = el("div", "qa-history-box");
  box.setAttribute("aria-busy", "true");
  box.append(el("p", "meta", "正在加载历史版本……"));
  cell.append(box);
  hr.append(cell);
  tr.after(hr);
  loadHistory(p, box);
}

async function loadHistory(p, box) {
  const j = await getInto(box, pairPath(p.id) + "/versions", denied);
  if (!j) return;
  const versions = j.items || [];
  const head = el("div", "qa-history-head");
  head.append(el("strong", "", "历史版本"), el("span", "meta", `当前为版本 ${p.version}`));
  head.append(button("收起", "btn small qa-history-close", () => toggleHistory(p)));
  if (!versions.length) {
    box.replaceChildren(head, el("p", "meta qa-versions-empty", "这条问答还没有修改记录（当前即原始内容）。"));
    box.removeAttribute("aria-busy");
    return;
  }
  const ol = el("ol", "qa-versions");
  // Newest first: each version is compared with the next (older) one listed.
  versions.forEach((v, i) => ol.append(versionItem(p, v, versions[i + 1] || null)));
  box.replaceChildren(head, ol);
  box.removeAttribute("aria-busy");
}

/** What the history compares: text fields diffed by character, values shown as 旧值 → 新值. */
const VERSION_FIELDS = [
  { key: "question", label: "标准问题", kind: "text", get: (s) => s.question || "" },
  { key: "similar", label: "相似问法", kind: "text", get: (s) => (s.similar || []).join("\n") },
  { key: "answer", label: "答案", kind: "text", get: (s) => s.answer || "" },
  { key: "source_refs", label: "依据", kind: "text", get: (s) => (s.source_refs || []).map(refText).join("\n") },
  { key: "status", label: "状态", kind: "value", get: (s) => STATUS[s.status] || s.status || "" },
  { key: "category", label: "分类", kind: "value", get: (s) => s.category || "" },
  { key: "effective_from", label: "生效日期", kind: "value", get: (s) => s.effective_from || "" },
  { key: "effective_to", label: "失效日期", kind: "value", get: (s) => s.effective_to || "" },
  { key: "org_id", label: "适用范围", kind: "value", get: (s) => scopeName(s.org_id) },
];

/** A version: who, when, what; its changes against `prev` (the version before it, or null); its content; 回滚到此版本. */
function versionItem(p, v, prev) {
  const li = el("li", "qa-version-item");
  li.dataset.version = String(v.version);
  const s = v.pair || {};
  const head = el("div", "qa-version-head");
  const time = el("time", "meta", localTime(v.created_at));
  time.dateTime = v.created_at || "";
  head.append(
    el("strong", "qa-version-no", "版本 " + v.version),
    el("span", "tag grey qa-version-action", ACTION[v.action] || v.action || ""),
    el("span", "status " + (STATUS_CLASS[s.status] || ""), STATUS[s.status] || s.status || ""),
    el("span", "meta qa-version-editor", v.editor || "系统"),
    time,
  );
  li.append(head);

  li.append(versionDiffBox(prev && { version: prev.version, content: prev.pair || {} }, s, VERSION_FIELDS, "qa-version-diff"));

  // The version's whole content, folded away unless there is nothing to compare it with.
  const full = el("details", "qa-version-full");
  full.open = !prev;
  full.append(el("summary", "", "此版本的完整内容"), el("div", "qa-version-question", s.question || ""), el("div", "pre qa-version-answer", s.answer || ""));
  const meta = [
    "适用范围：" + scopeName(s.org_id, p.org_id === s.org_id ? p.org_name : null),
    s.category ? "分类：" + s.category : null,
    (s.similar || []).length ? "相似问法：" + s.similar.join("｜") : null,
    (s.source_refs || []).length ? "依据：" + s.source_refs.map(refText).join("；") : null,
    s.effective_from || s.effective_to ? "生效期：" + period(s) : null,
  ].filter((x) => x);
  if (meta.length) full.append(el("div", "meta", meta.join(" · ")));
  li.append(full);
  if (v.version === p.version) {
    li.classList.add("current");
    li.append(el("span", "tag qa-version-current", "当前版本"));
  } else if (p.editable !== false) {
    const b = button("回滚到此版本", "btn small qa-rollback", () => rollback(p, v.version, b));
    b.dataset.version = String(v.version);
    li.append(b);
  }
  return li;
}

async function rollback(p, version, b) {
  const ok = await confirmDialog(`把“${p.question}”的内容恢复为版本 ${version}？状态不变，恢复后成为一个新版本。`, "回滚");
  if (!ok) return;
  b.disabled = true;
  let saved;
  try {
    saved = await api("POST", pairPath(p.id) + "/rollback", { version });
  } catch (e) {
    b.disabled = false;
    if (e instanceof ApiError && e.status === 403) denied(e);
    else toast(errorText(e));
    return;
  }
  toast(`已回滚到版本 ${version} 的内容，当前为版本 ${saved ? saved.version : ""}`, "ok");
  historyOf = p.id;
  await load({ flash: p.id });
}

// --- the editor ----------------------------------------------------------------------------------

/** The message under the editor; kind "error", "ok" or "info"; `extra`: nodes after the text. */
function say(kind, text, extra = []) {
  const m = $("qa-msg");
  m.className = "qa-msg " + (kind === "info" ? "notice-box" : kind);
  m.setAttribute("role", kind === "error" ? "alert" : "status");
  m.replaceChildren(el("span", "qa-msg-text", text || ""), ...extra);
  m.hidden = !text;
}

function hideForce() {
  $("qa-force").checked = false;
  $("qa-force-box").hidden = true;
}

function fillForm(p) {
  $("qa-question").value = p ? p.question : "";
  $("qa-similar").value = p ? (p.similar || []).join("\n") : "";
  $("qa-answer").value = p ? p.answer : "";
  $("qa-category").value = p ? p.category || "" : "";
  $("qa-refs").value = p ? (p.source_refs || []).map(refText).join("\n") : "";
  $("qa-from").value = (p && p.effective_from) || "";
  $("qa-to").value = (p && p.effective_to) || "";
  fillScopeSelect($("qa-org"), p ? p.org_id : defaultScope(), p && p.org_id != null ? [p.org_id, p.org_name || scopeName(p.org_id)] : null);
  $("qa-status").value = "draft";
  updatePreview();
}

/** The answer as members will see it (the Markdown subset of /format.js), under the textarea. */
function updatePreview() {
  const text = $("qa-answer").value;
  const box = $("qa-answer-preview");
  if (text.trim()) {
    setFormatted(box, text);
    box.classList.remove("empty");
  } else {
    box.replaceChildren(el("span", "meta", "（填写答案后在这里预览显示效果）"));
    box.classList.add("empty");
  }
}

function showForm() {
  const f = $("qa-form");
  f.hidden = false;
  f.querySelector(".qa-draft")?.remove();
  say("", "");
  hideForce();
  f.scrollIntoView({ block: "start" });
  $("qa-question").focus({ preventScroll: true });
}

function openNew() {
  editing = null;
  fillForm(null);
  $("qa-form-title").textContent = "新增常用问答";
  $("qa-status-field").hidden = false;
  $("qa-form").dataset.mode = "new";
  delete $("qa-form").dataset.qaId;
  showForm();
}

function openEdit(p) {
  editing = { id: p.id, version: p.version };
  fillForm(p);
  $("qa-form-title").textContent = `编辑常用问答（编号 ${p.id}，${STATUS[p.status] || p.status}，版本 ${p.version}）`;
  // Status changes are the row's buttons; an edit keeps the status.
  $("qa-status-field").hidden = true;
  $("qa-form").dataset.mode = "edit";
  $("qa-form").dataset.qaId = String(p.id);
  showForm();
}

/**
 * `?new=1&question=…&answer=…&refs=…` (生成问答对 on 评价反馈): what to prefill the new-pair editor
 * with, or null. The parameters are dropped from the address so that a reload does not reopen it.
 */
function takePrefill() {
  const p = new URLSearchParams(location.search);
  if (p.get("new") !== "1") return null;
  const pre = { question: p.get("question") || "", answer: p.get("answer") || "", refs: p.get("refs") || "" };
  for (const k of ["new", "question", "answer", "refs"]) p.delete(k);
  const rest = p.toString();
  history.replaceState(null, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
  return pre;
}

function openPrefilled(pre) {
  openNew();
  $("qa-question").value = pre.question.trim();
  $("qa-answer").value = pre.answer.trim();
  updatePreview();
  $("qa-refs").value = pre.refs;
  say("info", "已带入党员的提问和智能问答的回答，请修改答案（如删去 [1] 等引用标记）后保存。");
}

function closeForm() {
  $("qa-form").hidden = true;
  $("qa-form").querySelector(".qa-draft")?.remove();
  editing = null;
  say("", "");
  hideForce();
}

function formBody() {
  return {
    question: $("qa-question").value.trim(),
    similar: lines($("qa-similar").value),
    answer: $("qa-answer").value.replace(/\r\n?/g, "\n").trim(),
    category: $("qa-category").value.trim(),
    source_refs: parseRefs($("qa-refs").value),
    effective_from: $("qa-from").value || null,
    effective_to: $("qa-to").value || null,
    org_id: $("qa-org").value ? Number($("qa-org").value) : null,
  };
}

async function save() {
  if (saving) return;
  const body = formBody();
  if (!body.question) {
    say("error", "请填写标准问题");
    $("qa-question").focus();
    return;
  }
  if (!body.answer) {
    say("error", "请填写答案");
    $("qa-answer").focus();
    return;
  }
  if (body.org_id == null && !sysAdmin) {
    say("error", "请选择适用范围（您管理的组织）");
    $("qa-org").focus();
    return;
  }
  if (body.effective_from && body.effective_to && body.effective_from > body.effective_to) {
    say("error", "失效日期不能早于生效日期");
    $("qa-to").focus();
    return;
  }
  if (!$("qa-force-box").hidden && $("qa-force").checked) body.force = true;
  const wasEditing = editing;
  saving = true;
  $("qa-save").disabled = true;
  say("info", "正在保存……");
  let saved;
  try {
    if (wasEditing) saved = await api("PUT", pairPath(wasEditing.id), { ...body, version: wasEditing.version });
    else saved = await api("POST", "/api/admin/qa", { ...body, status: $("qa-status").value });
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) { denied(e); return; }
    if (e instanceof ApiError && e.code === "qa.near_duplicate") {
      say("error", errorText(e));
      $("qa-force-box").hidden = false;
    } else if (e instanceof ApiError && e.code === "qa.version_conflict" && wasEditing) {
      const latest = button("载入最新内容", "btn small qa-load-latest", () => loadLatest(wasEditing.id, body));
      say("error", errorText(e) + " 您的修改尚未保存。", [" ", latest]);
    } else {
      say("error", errorText(e));
    }
    return;
  } finally {
    saving = false;
    $("qa-save").disabled = false;
  }
  closeForm();
  if (wasEditing && saved && saved.version === wasEditing.version) toast("内容没有变化。", "ok");
  else if (wasEditing) toast(`已保存，当前为版本 ${saved.version}`, "ok");
  else toast(`已新增常用问答（${STATUS[saved.status] || saved.status}）`, "ok");
  await load({ flash: saved.id });
}

/** After a 409: the latest version in the editor, the admin's unsaved answer kept to copy from. */
async function loadLatest(id, draft) {
  if (!(await load())) return;
  const p = items.find((x) => x.id === id);
  if (!p) {
    say("error", "这条问答不在当前列表中（可能被筛选条件隐藏），请清除筛选后再编辑。");
    return;
  }
  openEdit(p);
  say("info", `已载入最新内容（版本 ${p.version}），请在此基础上重新修改。`);
  if (draft.answer && draft.answer !== p.answer) {
    const box = el("details", "qa-draft");
    box.open = true;
    box.append(el("summary", "", "您未保存的答案（可复制后粘贴到上面）"));
    const ta = el("textarea", "qa-draft-text");
    ta.readOnly = true;
    ta.rows = 4;
    ta.value = draft.answer;
    box.append(ta);
    $("qa-msg").after(box);
  }
}

// --- categories (分类管理) ------------------------------------------------------------------------

const catPath = (id) => "/api/admin/qa/categories/" + encodeURIComponent(id);
/** The category tree as listed: [{ id, parent_id, name, position, pairs, published }]. */
let cats = [];
let catTicket = 0;
/** The category being dragged (its id), or null. */
let dragging = null;

/** The children of `parentId` (null: the top level), in order; a missing parent counts as top level. */
function childrenOf(parentId) {
  const ids = new Set(cats.map((c) => c.id));
  return cats
    .filter((c) => (parentId == null ? c.parent_id == null || !ids.has(c.parent_id) : c.parent_id === parentId))
    .sort((a, b) => a.position - b.position || a.id - b.id);
}

/** Depth-first tree order: [{ cat, depth }]. */
function treeOrder() {
  const out = [];
  const seen = new Set();
  const walk = (parentId, depth) => {
    for (const c of childrenOf(parentId)) {
      if (seen.has(c.id)) continue;
      seen.add(c.id);
      out.push({ cat: c, depth });
      walk(c.id, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}

const indent = (depth) => "　".repeat(depth);

/** The panel's message; kind "error" or "ok"; empty text hides it. */
function catSay(kind, text) {
  const m = $("qa-cat-msg");
  m.className = "qa-cat-msg " + (kind === "error" ? "error" : "ok");
  m.setAttribute("role", kind === "error" ? "alert" : "status");
  m.textContent = text || "";
  m.hidden = !text;
}

/** Loads and renders the category tree. Resolves true when rendered. */
async function loadCats() {
  if (refused) return false;
  const t = ++catTicket;
  const box = $("qa-cats");
  box.setAttribute("aria-busy", "true");
  let j;
  try {
    j = await api("GET", "/api/admin/qa/categories");
  } catch (e) {
    if (t !== catTicket) return false;
    box.removeAttribute("aria-busy");
    if (e instanceof ApiError && e.status === 403) denied(e);
    else catSay("error", errorText(e));
    return false;
  }
  if (t !== catTicket) return false;
  cats = j.items || [];
  renderCats();
  fillCategories();
  box.removeAttribute("aria-busy");
  return true;
}

function renderCats() {
  const order = treeOrder();
  const parentSel = $("qa-cat-parent");
  const chosen = parentSel.value;
  parentSel.replaceChildren(option("", "顶级分类"), ...order.map(({ cat, depth }) => option(String(cat.id), indent(depth) + cat.name, String(cat.id) === chosen)));
  const build = (parentId) => {
    const ul = el("ul", parentId == null ? "" : "qa-cat-children");
    const kids = childrenOf(parentId);
    kids.forEach((c, i) => ul.append(catItem(c, i, kids.length)));
    return ul;
  };
  $("qa-cat-tree").replaceChildren(...build(null).children);
  $("qa-cat-empty").hidden = cats.length > 0;
}

function catItem(c, index, siblings) {
  const li = el("li", "qa-cat");
  li.dataset.catId = String(c.id);
  li.draggable = sysAdmin;
  const gap = el("div", "qa-cat-gap");
  gap.setAttribute("aria-hidden", "true");
  dropZone(gap, (id) => moveBefore(id, c));
  const rowEl = el("div", "qa-cat-row");
  const name = el("span", "qa-cat-name", c.name);
  const count = el("span", "qa-cat-count", `${c.pairs} / ${c.published}`);
  count.title = `问答 ${c.pairs} 条，已发布 ${c.published} 条`;
  if (!sysAdmin) {
    // Read-only for a 组织管理员: names and counts, no buttons, no drag and drop.
    rowEl.append(name, count);
    li.append(rowEl);
    const kids = childrenOf(c.id);
    if (kids.length) {
      const ul = el("ul", "qa-cat-children");
      kids.forEach((k, i) => ul.append(catItem(k, i, kids.length)));
      li.append(ul);
    }
    return li;
  }
  const acts = el("div", "qa-cat-actions");
  const up = button("上移", "btn small qa-cat-up", () => moveCat(c, c.parent_id, index - 1));
  up.disabled = index === 0;
  const down = button("下移", "btn small qa-cat-down", () => moveCat(c, c.parent_id, index + 1));
  down.disabled = index >= siblings - 1;
  acts.append(
    up, down,
    button("移到…", "btn small qa-cat-move", () => openMove(li, c)),
    button("重命名", "btn small qa-cat-rename", () => openRename(li, c)),
    button("删除", "btn small danger qa-cat-delete", () => deleteCat(c)),
  );
  rowEl.append(name, count, acts);
  dropZone(rowEl, (id) => moveInto(id, c));
  li.append(gap, rowEl);
  const kids = childrenOf(c.id);
  if (kids.length) {
    const ul = el("ul", "qa-cat-children");
    kids.forEach((k, i) => ul.append(catItem(k, i, kids.length)));
    li.append(ul);
  }
  li.addEventListener("dragstart", (e) => {
    e.stopPropagation();
    dragging = c.id;
    li.classList.add("dragging");
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", String(c.id));
  });
  li.addEventListener("dragend", (e) => {
    e.stopPropagation();
    dragging = null;
    li.classList.remove("dragging");
    for (const x of $("qa-cat-tree").querySelectorAll(".drop-over")) x.classList.remove("drop-over");
  });
  return li;
}

/** Makes `node` a drop target; `onDrop(id)` with the dragged category's id. */
function dropZone(node, onDrop) {
  node.addEventListener("dragover", (e) => {
    if (dragging == null) return;
    e.preventDefault();
    e.stopPropagation();
    e.dataTransfer.dropEffect = "move";
    node.classList.add("drop-over");
  });
  node.addEventListener("dragleave", () => node.classList.remove("drop-over"));
  node.addEventListener("drop", (e) => {
    e.preventDefault();
    e.stopPropagation();
    node.classList.remove("drop-over");
    const id = Number(e.dataTransfer.getData("text/plain") || dragging);
    dragging = null;
    if (id) onDrop(id);
  });
}

const catById = (id) => cats.find((c) => c.id === id);

/** Drop on a category: the dragged one becomes its last child. */
function moveInto(id, target) {
  const c = catById(id);
  if (!c || c.id === target.id) return;
  moveCat(c, target.id, childrenOf(target.id).filter((x) => x.id !== id).length);
}

/** Drop on the gap before a category: the dragged one goes just before it, under the same parent. */
function moveBefore(id, target) {
  const c = catById(id);
  if (!c || c.id === target.id) return;
  const parentId = target.parent_id != null && catById(target.parent_id) ? target.parent_id : null;
  const index = childrenOf(parentId).filter((x) => x.id !== id).findIndex((x) => x.id === target.id);
  moveCat(c, parentId, Math.max(0, index));
}

/** A change to the tree: the request, then the tree and the list again (names and counts). */
async function catChange(request, done) {
  const box = $("qa-cats");
  for (const b of box.querySelectorAll("button")) b.disabled = true;
  try {
    await request();
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) { denied(e); return false; }
    catSay("error", errorText(e));
    renderCats();
    for (const b of box.querySelectorAll(".qa-cat-add button")) b.disabled = false;
    return false;
  }
  catSay("ok", done);
  for (const b of box.querySelectorAll(".qa-cat-add button")) b.disabled = false;
  if (!(await load()) && !refused) await loadCats();
  return true;
}

/** POST …/move with `position` among the new siblings (excluding the category itself). */
function moveCat(c, parentId, position) {
  const parent = parentId == null ? null : catById(parentId);
  return catChange(
    () => api("POST", catPath(c.id) + "/move", { parent_id: parentId ?? null, position: Math.max(0, position) }),
    `已移动“${c.name}”` + (parent ? `（上级：${parent.name}）` : ""),
  );
}

/** An inline editor row under a category's row (rename, move); one at a time. */
function inlineBox(li, cls, nodes) {
  for (const x of $("qa-cat-tree").querySelectorAll(".qa-cat-inline")) x.remove();
  const box = el("div", "qa-cat-inline " + cls);
  box.append(...nodes, button("取消", "btn small qa-cat-cancel", () => box.remove()));
  li.querySelector(".qa-cat-row").after(box);
  return box;
}

function openMove(li, c) {
  const sel = el("select", "qa-cat-move-to");
  sel.setAttribute("aria-label", `把“${c.name}”移到`);
  // Every category but itself: moving under its own sub-category is refused by the server.
  sel.append(option("", "顶级"), ...treeOrder().filter(({ cat }) => cat.id !== c.id).map(({ cat, depth }) => option(String(cat.id), indent(depth) + cat.name)));
  sel.value = c.parent_id == null ? "" : String(c.parent_id);
  const ok = button("移动", "btn small primary qa-cat-move-ok", () => {
    const parentId = sel.value ? Number(sel.value) : null;
    moveCat(c, parentId, childrenOf(parentId).filter((x) => x.id !== c.id).length);
  });
  inlineBox(li, "qa-cat-move-box", [el("span", "meta", "移到"), sel, ok]);
  sel.focus();
}

function openRename(li, c) {
  const input = el("input", "qa-cat-rename-input");
  input.maxLength = 30;
  input.value = c.name;
  input.setAttribute("aria-label", `“${c.name}”的新名称`);
  const go = () => {
    const name = input.value.trim();
    if (!name) { catSay("error", "请填写分类名称"); input.focus(); return; }
    if (name === c.name) { input.closest(".qa-cat-inline")?.remove(); return; }
    catChange(() => api("PUT", catPath(c.id), { name }), `已把“${c.name}”改名为“${name}”，其下问答的分类一并更新`);
  };
  input.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); go(); } });
  inlineBox(li, "qa-cat-rename-box", [input, button("保存", "btn small primary qa-cat-rename-ok", go)]);
  input.focus();
  input.select();
}

async function deleteCat(c) {
  if (!(await confirmDialog(`删除分类“${c.name}”？`, "删除"))) return;
  await catChange(() => api("DELETE", catPath(c.id)), `已删除分类“${c.name}”`);
}

async function addCat() {
  const name = $("qa-cat-name").value.trim();
  if (!name) {
    catSay("error", "请填写分类名称");
    $("qa-cat-name").focus();
    return;
  }
  const parent = $("qa-cat-parent").value;
  const body = parent ? { name, parent_id: Number(parent) } : { name };
  if (await catChange(() => api("POST", "/api/admin/qa/categories", body), `已新增分类“${name}”`)) $("qa-cat-name").value = "";
}

// --- import --------------------------------------------------------------------------------------

function count(cls, n) {
  return el("span", cls, String(n ?? 0));
}

async function runImport() {
  const box = $("qa-import-report");
  const input = $("qa-import-file");
  const file = input.files && input.files[0];
  box.hidden = false;
  if (!file) {
    box.replaceChildren(el("p", "error", "请先选择要导入的 Excel 文件（.xlsx）。"));
    return;
  }
  if (!$("qa-import-org").value && !sysAdmin) {
    box.replaceChildren(el("p", "error", "请选择导入问答的适用范围（您管理的组织）。"));
    return;
  }
  $("qa-import").disabled = true;
  box.setAttribute("aria-busy", "true");
  box.replaceChildren(el("p", "meta", "正在导入 " + file.name + " ……"));
  let rep;
  try {
    rep = await api("POST", "/api/admin/qa/import" + query({ org_id: $("qa-import-org").value }), file);
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) { denied(e); return; }
    box.replaceChildren(el("p", "error qa-import-failed", errorText(e)));
    return;
  } finally {
    $("qa-import").disabled = false;
    box.removeAttribute("aria-busy");
  }
  const errors = rep.errors || [];
  const failed = rep.failed ?? errors.length;
  const summary = el("p", "qa-import-summary " + (failed ? "notice-box" : "ok"));
  summary.append(
    `${file.name}：共 `, count("qa-import-rows", rep.rows), " 行，新增 ", count("qa-import-inserted", rep.inserted),
    " 条，更新 ", count("qa-import-updated", rep.updated), " 条，未变 ", count("qa-import-unchanged", rep.unchanged),
    " 条，失败 ", count("qa-import-failed-count", failed), " 条。",
  );
  const parts = [summary];
  if (errors.length) {
    parts.push(el("p", "meta", "以下行未导入（其余行已保存并发布），请修改后重新导入这些行："));
    const ul = el("ul", "qa-import-errors");
    for (const er of errors) {
      const li = el("li", "qa-import-error", `第 ${er.row} 行：${er.message}`);
      li.dataset.row = String(er.row);
      ul.append(li);
    }
    parts.push(ul);
  }
  box.replaceChildren(...parts);
  input.value = "";
  await load();
}

// --- start ---------------------------------------------------------------------------------------

$("qa-new").addEventListener("click", openNew);
$("qa-cancel").addEventListener("click", closeForm);
$("qa-form").addEventListener("submit", (e) => {
  e.preventDefault();
  save();
});
// A changed question needs a fresh duplicate check: 仍然保存 applies to the refused text only.
$("qa-question").addEventListener("input", () => {
  if (!$("qa-force-box").hidden) {
    hideForce();
    say("", "");
  }
});
$("qa-answer").addEventListener("input", updatePreview);
$("qa-filters").addEventListener("submit", (e) => {
  e.preventDefault();
  load();
});
// The search box's clear button (Enter submits the form).
$("qa-q").addEventListener("search", () => { if (!$("qa-q").value) load(); });
$("qa-f-category").addEventListener("change", () => load());
$("qa-f-status").addEventListener("change", () => load());
$("qa-f-org").addEventListener("change", () => load());
$("qa-f-from").addEventListener("change", () => load());
$("qa-f-to").addEventListener("change", () => load());
$("qa-reload").addEventListener("click", () => load());
$("qa-import").addEventListener("click", runImport);
$("qa-cat-add").addEventListener("click", addCat);
$("qa-cat-name").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); addCat(); } });

const me = await initAdmin();
if (me) {
  sysAdmin = isSysAdmin(me);
  await loadScopes(me);
  applyRole();
  const pre = takePrefill();
  if (pre) openPrefilled(pre);
  await load();
}
