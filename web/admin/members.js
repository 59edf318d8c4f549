// Party member management: filtered, paginated list (keyword, org subtree, status), masked ID
// numbers and phones unless 显示完整信息 is on (and allowed), add/edit/delete, xlsx import/export.
import {
  $, el, api, ApiError, toast, errorText, initAdmin, loadOrgs, fillOrgSelect, confirmDialog, importXlsx, val, query, onRowAction,
} from "/admin/admin.js";

const PAGE_SIZE = 20;
let orgs = { byId: new Map(), roots: [], list: [] };
let page = 1;
let total = 0;
let items = [];
let editing = null; // null = new; else { member } (fetched with unmask=1)
let loading = 0;

function setMsg(id, text) {
  $(id).textContent = text || "";
  $(id).hidden = !text;
}

function filters() {
  return { q: $("f-q").value.trim(), org_id: $("f-org").value, status: $("f-status").value, unmask: $("f-unmask").checked ? "1" : "0" };
}

function updateExportLink() {
  const f = filters();
  $("member-export").href = "/api/admin/members/export" + query({ org_id: f.org_id, unmask: f.unmask });
}

async function load() {
  const f = filters();
  const qs = query({ q: f.q, org_id: f.org_id, status: f.status, page, page_size: PAGE_SIZE, unmask: f.unmask });
  const ticket = ++loading;
  let j;
  try {
    j = await api("GET", "/api/admin/members" + qs);
  } catch (e) {
    if (ticket !== loading) return;
    if (f.unmask === "1" && e instanceof ApiError && e.status === 403) {
      $("f-unmask").checked = false;
      updateExportLink();
      toast(errorText(e));
      await load();
      return;
    }
    toast(errorText(e));
    return;
  }
  if (ticket !== loading) return;
  total = j.total || 0;
  items = j.items || [];
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  if (page > pages && total > 0) { page = pages; await load(); return; }
  render(pages);
}

/** A table cell; `label` names the column in the phone (card) layout. */
function cell(cls, label, text) {
  const td = el("td", cls, text || "");
  td.dataset.label = label;
  return td;
}

function render(pages) {
  const tbody = $("member-rows");
  tbody.replaceChildren();
  for (const m of items) {
    const tr = el("tr");
    tr.dataset.id = String(m.id);
    tr.append(
      el("td", "c-name", m.name),
      cell("c-gender", "性别", m.gender),
      cell("c-id mono", "身份证号", m.id_number),
      cell("c-phone mono", "手机号", m.phone),
      cell("c-org", "所在组织", m.org_name),
      cell("c-status", "状态", m.status),
      cell("c-join", "入党日期", m.join_date),
    );
    const td = el("td", "c-actions");
    const edit = el("button", "btn small act-edit", "编辑");
    edit.type = "button";
    edit.dataset.action = "edit";
    const del = el("button", "btn small danger act-delete", "删除");
    del.type = "button";
    del.dataset.action = "delete";
    td.append(edit, del);
    tr.append(td);
    tbody.append(tr);
  }
  $("member-empty").hidden = items.length > 0;
  $("page-info").textContent = `第 ${page} / ${pages} 页，共 ${total} 人`;
  $("prev-page").disabled = page <= 1;
  $("next-page").disabled = page >= pages;
}

// --- add / edit ----------------------------------------------------------------------------------

const FIELDS = [
  ["name", "m-name"], ["gender", "m-gender"], ["ethnicity", "m-ethnicity"], ["birth_date", "m-birth"],
  ["id_number", "m-id-number"], ["phone", "m-phone"], ["education", "m-education"], ["join_date", "m-join"],
  ["full_member_date", "m-full"], ["status", "m-status"], ["org_id", "m-org"], ["party_position", "m-position"],
  ["work_unit", "m-work-unit"], ["remarks", "m-remarks"],
];

function fillForm(m) {
  fillOrgSelect($("m-org"), orgs.list, { first: ["", "请选择所在党组织"], selected: m ? m.org_id : $("f-org").value || null });
  for (const [key, id] of FIELDS) {
    if (key === "org_id") continue;
    $(id).value = m && m[key] != null ? String(m[key]) : "";
  }
  if (!m) {
    $("m-ethnicity").value = "汉族";
    $("m-status").value = "正式党员";
  }
}

async function openForm(member) {
  setMsg("member-form-error", "");
  editing = null;
  if (member) {
    let full;
    try {
      full = await api("GET", `/api/admin/members/${encodeURIComponent(member.id)}?unmask=1`);
    } catch (e) {
      // PUT replaces every field: editing without the full 身份证号/手机号 would erase them.
      toast(e instanceof ApiError && e.status === 403 ? "无权查看该党员的完整信息，不能编辑" : errorText(e));
      return;
    }
    editing = { member: full };
    $("member-dialog-title").textContent = "编辑党员信息";
    fillForm(full);
  } else {
    $("member-dialog-title").textContent = "新增党员";
    fillForm(null);
  }
  $("member-dialog").showModal();
  $("m-name").focus();
}

// Birth date and gender follow from an 18-digit ID number when they are still empty.
$("m-id-number").addEventListener("change", () => {
  const v = $("m-id-number").value.trim().toUpperCase();
  const m = /^\d{6}(\d{4})(\d{2})(\d{2})\d{2}(\d)[\dX]$/.exec(v);
  if (!m) return;
  if (!$("m-birth").value) $("m-birth").value = `${m[1]}-${m[2]}-${m[3]}`;
  if (!$("m-gender").value) $("m-gender").value = Number(m[4]) % 2 ? "男" : "女";
});

$("member-cancel").addEventListener("click", () => $("member-dialog").close());

$("member-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const body = {};
  for (const [key, id] of FIELDS) body[key] = val(id);
  if (body.id_number) body.id_number = body.id_number.toUpperCase();
  if (!body.name) { setMsg("member-form-error", "请填写姓名"); return; }
  if (!body.org_id) { setMsg("member-form-error", "请选择所在党组织"); return; }
  const org = orgs.byId.get(body.org_id);
  body.org_id = org ? org.id : body.org_id;
  setMsg("member-form-error", "");
  $("member-save").disabled = true;
  try {
    if (editing) {
      const saved = await api("PUT", `/api/admin/members/${encodeURIComponent(editing.member.id)}`, body);
      toast(`已保存「${saved.name}」`, "ok");
    } else {
      const saved = await api("POST", "/api/admin/members", body);
      toast(`已新增党员「${saved.name}」`, "ok");
    }
    $("member-dialog").close();
    await load();
  } catch (err) {
    setMsg("member-form-error", errorText(err));
  } finally {
    $("member-save").disabled = false;
  }
});

async function remove(m) {
  if (!(await confirmDialog(`确定删除党员「${m.name}」吗？此操作不可恢复。`, "删除"))) return;
  try {
    await api("DELETE", `/api/admin/members/${encodeURIComponent(m.id)}`);
    toast(`已删除「${m.name}」`, "ok");
    await load();
  } catch (err) {
    toast(errorText(err));
  }
}

// --- events --------------------------------------------------------------------------------------

onRowAction("member-rows", () => items, { edit: openForm, delete: remove });

$("member-filter").addEventListener("submit", (e) => { e.preventDefault(); page = 1; updateExportLink(); load(); });
$("f-org").addEventListener("change", () => { page = 1; updateExportLink(); load(); });
$("f-status").addEventListener("change", () => { page = 1; load(); });
$("f-unmask").addEventListener("change", () => { updateExportLink(); load(); });
$("prev-page").addEventListener("click", () => { if (page > 1) { page -= 1; load(); } });
$("next-page").addEventListener("click", () => { page += 1; load(); });
$("member-add").addEventListener("click", () => openForm(null));

$("member-import-file").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  e.target.value = "";
  if (!file) return;
  const org = $("f-org").value;
  const rep = await importXlsx("/api/admin/members/import" + query({ org_id: org }), file, $("import-report"));
  if (rep && !(rep.errors || []).length) { page = 1; await load(); }
});

const me = await initAdmin();
if (me) {
  try {
    orgs = await loadOrgs();
  } catch (err) {
    toast(errorText(err));
  }
  fillOrgSelect($("f-org"), orgs.list, { first: ["", "全部组织"] });
  updateExportLink();
  await load();
}
