// Organisation management: the tree of the orgs the viewer may see (expand/collapse), add child,
// edit, move under another parent, dissolve (server messages such as 409 shown verbatim),
// xlsx export/import with the row-level error report.
import {
  $, el, api, toast, errorText, initAdmin, loadOrgs, fillOrgSelect, confirmDialog, importXlsx, val, num, isSysAdmin,
} from "/admin/admin.js";

let orgs = { byId: new Map(), roots: [], list: [] };
const expanded = new Set();
let firstLoad = true;
let editing = null; // { mode: "add", parent } | { mode: "edit", org }
let moving = null;

function visible(o) {
  return $("show-dissolved").checked || o.status !== "dissolved";
}

function renderNode(o) {
  const li = el("li", "org-node" + (o.status === "dissolved" ? " dissolved" : ""));
  li.dataset.id = String(o.id);
  const row = el("div", "org-row");
  const kids = o.children.filter(visible);
  if (kids.length) {
    const open = expanded.has(String(o.id));
    const t = el("button", "toggle", open ? "▾" : "▸");
    t.type = "button";
    t.dataset.action = "toggle";
    t.setAttribute("aria-expanded", String(open));
    t.setAttribute("aria-label", (open ? "收起 " : "展开 ") + o.name);
    row.append(t);
  } else {
    row.append(el("span", "toggle-spacer"));
  }
  const main = el("div", "org-main");
  main.append(el("span", "org-name", o.name), el("span", "tag", o.org_type));
  if (o.status === "dissolved") main.append(el("span", "tag grey", "已撤销"));
  main.append(el("span", "meta org-count", (o.member_count ?? 0) + "名党员"));
  const extra = [o.leader_name && "负责人 " + o.leader_name, o.contact_phone, o.code && "编码 " + o.code].filter(Boolean).join(" · ");
  if (extra) main.append(el("span", "meta org-extra", extra));
  row.append(main);
  if (o.status !== "dissolved") {
    const acts = el("div", "row-actions");
    const actions = [["add", "新增下级", ""], ["edit", "编辑", ""], ["move", "移动", ""], ["dissolve", "撤销", " danger"]];
    // No 移动 when no visible org could become the parent (e.g. the viewer's own top org).
    const ids = subtreeIds(o);
    if (!orgs.list.some((x) => x.status !== "dissolved" && !ids.has(String(x.id)))) actions.splice(2, 1);
    for (const [action, label, cls] of actions) {
      const b = el("button", "btn small act-" + action + cls, label);
      b.type = "button";
      b.dataset.action = action;
      acts.append(b);
    }
    row.append(acts);
  }
  li.append(row);
  if (kids.length) {
    const ul = el("ul", "children");
    ul.hidden = !expanded.has(String(o.id));
    for (const c of kids) ul.append(renderNode(c));
    li.append(ul);
  }
  return li;
}

function render() {
  const tree = $("org-tree");
  tree.replaceChildren();
  for (const r of orgs.roots.filter(visible)) tree.append(renderNode(r));
  $("org-empty").hidden = tree.children.length > 0;
}

/** Expands every ancestor of `id` so that its node is on screen. */
function reveal(id) {
  let o = orgs.byId.get(String(id));
  while (o && o.parent_id != null) {
    const p = orgs.byId.get(String(o.parent_id));
    if (!p) break;
    expanded.add(String(p.id));
    o = p;
  }
}

async function reload(focusId) {
  try {
    orgs = await loadOrgs();
  } catch (e) {
    toast(errorText(e));
    return;
  }
  if (firstLoad) {
    for (const r of orgs.roots) expanded.add(String(r.id));
    firstLoad = false;
  }
  if (focusId != null) reveal(focusId);
  render();
  if (focusId != null) {
    const li = document.querySelector(`#org-tree li.org-node[data-id="${CSS.escape(String(focusId))}"]`);
    if (li) {
      li.classList.add("flash");
      li.scrollIntoView({ block: "nearest" });
    }
  }
}

function setMsg(id, text) {
  $(id).textContent = text || "";
  $(id).hidden = !text;
}

// --- add / edit ----------------------------------------------------------------------------------

/** A free code for a new child: the parent's code + "-" + a two-digit number. */
function suggestCode(parent) {
  if (!parent || !parent.code) return "";
  const used = new Set(orgs.list.map((x) => x.code));
  for (let i = parent.children.length + 1; i < 1000; i++) {
    const c = `${parent.code}-${String(i).padStart(2, "0")}`;
    if (!used.has(c)) return c;
  }
  return "";
}

function openOrgForm(state) {
  editing = state;
  setMsg("org-form-error", "");
  const o = state.mode === "edit" ? state.org : null;
  $("org-dialog-title").textContent = o ? "编辑组织" : state.parent ? "新增下级组织" : "新增顶级组织";
  const parent = o ? orgs.byId.get(String(o.parent_id)) : state.parent;
  $("org-parent-line").textContent = parent ? "上级组织：" + parent.name : o ? "" : "上级组织：无（顶级组织）";
  $("org-name").value = o ? o.name : "";
  $("org-type").value = o ? o.org_type : "党支部";
  $("org-code").value = o ? o.code ?? "" : suggestCode(state.parent);
  $("org-leader").value = o?.leader_name ?? "";
  $("org-phone").value = o?.contact_phone ?? "";
  $("org-address").value = o?.address ?? "";
  $("org-lat").value = o?.lat ?? "";
  $("org-lng").value = o?.lng ?? "";
  const siblings = state.parent ? state.parent.children.length : orgs.roots.length;
  $("org-sort").value = o ? (o.sort_order ?? "") : String(siblings + 1);
  $("org-dialog").showModal();
  $("org-name").focus();
}

$("org-cancel").addEventListener("click", () => $("org-dialog").close());

$("org-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const body = {
    name: val("org-name"),
    org_type: $("org-type").value,
    code: $("org-code").value.trim(),
    leader_name: val("org-leader"),
    contact_phone: val("org-phone"),
    address: val("org-address"),
    lat: num("org-lat"),
    lng: num("org-lng"),
    sort_order: num("org-sort"),
  };
  if (!body.name) { setMsg("org-form-error", "请填写组织名称"); return; }
  if (!body.code) { setMsg("org-form-error", "请填写组织编码"); return; }
  if (!/^[A-Za-z0-9_-]+$/.test(body.code)) { setMsg("org-form-error", "组织编码只能包含字母、数字、- 和 _"); return; }
  if (body.lat !== null && !(Number.isFinite(body.lat) && body.lat >= -90 && body.lat <= 90)) { setMsg("org-form-error", "纬度应为 -90 到 90 之间的数字"); return; }
  if (body.lng !== null && !(Number.isFinite(body.lng) && body.lng >= -180 && body.lng <= 180)) { setMsg("org-form-error", "经度应为 -180 到 180 之间的数字"); return; }
  if (body.sort_order === null) body.sort_order = 0;
  if (!Number.isInteger(body.sort_order)) { setMsg("org-form-error", "排序号应为整数"); return; }
  setMsg("org-form-error", "");
  $("org-save").disabled = true;
  try {
    let saved;
    if (editing.mode === "edit") {
      saved = await api("PUT", "/api/admin/orgs/" + encodeURIComponent(editing.org.id), { parent_id: editing.org.parent_id, ...body });
      toast("已保存「" + saved.name + "」", "ok");
    } else {
      saved = await api("POST", "/api/admin/orgs", { parent_id: editing.parent ? editing.parent.id : null, ...body });
      if (editing.parent) expanded.add(String(editing.parent.id));
      toast("已新增「" + saved.name + "」", "ok");
    }
    $("org-dialog").close();
    await reload(saved.id);
  } catch (err) {
    setMsg("org-form-error", errorText(err));
  } finally {
    $("org-save").disabled = false;
  }
});

// --- move ----------------------------------------------------------------------------------------

function subtreeIds(o) {
  const ids = new Set();
  const walk = (n) => { ids.add(String(n.id)); n.children.forEach(walk); };
  walk(o);
  return ids;
}

function openMove(o) {
  moving = o;
  setMsg("move-error", "");
  const parent = orgs.byId.get(String(o.parent_id));
  $("move-line").textContent = `将「${o.name}」调整到新的上级组织下（当前上级：${parent ? parent.name : "无"}）。`;
  fillOrgSelect($("move-parent"), orgs.list, { first: ["", "请选择上级组织"], selected: o.parent_id, exclude: subtreeIds(o) });
  $("move-dialog").showModal();
  $("move-parent").focus();
}

$("move-cancel").addEventListener("click", () => $("move-dialog").close());

$("move-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const target = orgs.byId.get($("move-parent").value);
  if (!target) { setMsg("move-error", "请选择新的上级组织"); return; }
  if (String(target.id) === String(moving.parent_id)) { setMsg("move-error", "新的上级组织与当前相同"); return; }
  setMsg("move-error", "");
  $("move-save").disabled = true;
  try {
    const saved = await api("POST", `/api/admin/orgs/${encodeURIComponent(moving.id)}/move`, { parent_id: target.id });
    toast(`已将「${saved.name}」移至「${target.name}」下`, "ok");
    $("move-dialog").close();
    expanded.add(String(target.id));
    await reload(saved.id);
  } catch (err) {
    setMsg("move-error", errorText(err));
  } finally {
    $("move-save").disabled = false;
  }
});

// --- dissolve ------------------------------------------------------------------------------------

async function dissolve(o) {
  if (!(await confirmDialog(`确定撤销「${o.name}」吗？撤销后该组织不再参与日常管理。`, "撤销"))) return;
  try {
    const saved = await api("POST", `/api/admin/orgs/${encodeURIComponent(o.id)}/dissolve`);
    toast(`已撤销「${saved.name}」`, "ok");
    await reload(o.parent_id);
  } catch (err) {
    toast(errorText(err));
  }
}

// --- tree events ---------------------------------------------------------------------------------

$("org-tree").addEventListener("click", (e) => {
  const b = e.target.closest("button[data-action]");
  if (!b) return;
  const li = b.closest("li.org-node");
  const o = orgs.byId.get(li.dataset.id);
  if (!o) return;
  const action = b.dataset.action;
  if (action === "toggle") {
    const id = String(o.id);
    const open = !expanded.has(id);
    if (open) expanded.add(id); else expanded.delete(id);
    const ul = li.querySelector(":scope > ul.children");
    if (ul) ul.hidden = !open;
    b.textContent = open ? "▾" : "▸";
    b.setAttribute("aria-expanded", String(open));
    b.setAttribute("aria-label", (open ? "收起 " : "展开 ") + o.name);
  } else if (action === "add") {
    openOrgForm({ mode: "add", parent: o });
  } else if (action === "edit") {
    openOrgForm({ mode: "edit", org: o });
  } else if (action === "move") {
    openMove(o);
  } else if (action === "dissolve") {
    dissolve(o);
  }
});

$("expand-all").addEventListener("click", () => { for (const o of orgs.list) expanded.add(String(o.id)); render(); });
$("collapse-all").addEventListener("click", () => { expanded.clear(); render(); });
$("show-dissolved").addEventListener("change", render);
$("org-add-root").addEventListener("click", () => openOrgForm({ mode: "add", parent: null }));

$("org-import-file").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  e.target.value = "";
  if (!file) return;
  const rep = await importXlsx("/api/admin/orgs/import", file, $("import-report"));
  if (rep && !(rep.errors || []).length) await reload();
});

const me = await initAdmin();
if (me) {
  $("org-add-root").hidden = !isSysAdmin(me);
  await reload();
}
