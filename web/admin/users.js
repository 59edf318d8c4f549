// Users and roles: list with search, create a user with (role, org) pairs, edit name/phone/
// status/roles, unlock a locked account. Server messages (e.g. 403 outside the viewer's subtree)
// are shown verbatim.
import {
  $, el, option, api, toast, errorText, initAdmin, loadOrgs, fillOrgSelect, val, query, ROLE_LABELS, onRowAction,
} from "/admin/admin.js";

let orgs = { byId: new Map(), roots: [], list: [] };
let users = [];
let editing = null; // null = new user; else the User

function setMsg(id, text) {
  $(id).textContent = text || "";
  $(id).hidden = !text;
}

const isLocked = (u) => !!u.locked_until && new Date(u.locked_until).getTime() > Date.now();

function fmtTime(s) {
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return s;
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

function statusText(u) {
  const parts = [u.status === "disabled" ? "已停用" : "正常"];
  if (isLocked(u)) parts.push("已锁定至 " + fmtTime(u.locked_until));
  if (u.must_change_password) parts.push("待修改初始密码");
  return parts.join("，");
}

async function load() {
  const q = $("u-q").value.trim();
  try {
    const j = await api("GET", "/api/admin/users" + query({ q }));
    users = j.items || [];
  } catch (e) {
    toast(errorText(e));
    return;
  }
  render();
}

/** A table cell; `label` names the column in the phone (card) layout. */
function cell(cls, label, text) {
  const td = el("td", cls, text || "");
  td.dataset.label = label;
  return td;
}

function render() {
  const tbody = $("user-rows");
  tbody.replaceChildren();
  for (const u of users) {
    const tr = el("tr");
    tr.dataset.id = String(u.id);
    tr.dataset.username = u.username;
    const roles = el("td", "c-roles");
    roles.dataset.label = "角色";
    for (const r of u.roles || []) {
      roles.append(el("span", "tag", (r.role_label || ROLE_LABELS[r.role] || r.role) + (r.org_name ? " · " + r.org_name : "")));
    }
    tr.append(
      el("td", "c-username mono", u.username),
      cell("c-name", "姓名", u.display_name),
      cell("c-phone mono", "手机号", u.phone_masked),
      roles,
      cell("c-status" + (isLocked(u) || u.status === "disabled" ? " warn" : ""), "状态", statusText(u)),
    );
    const td = el("td", "c-actions");
    const edit = el("button", "btn small act-edit", "编辑");
    edit.type = "button";
    edit.dataset.action = "edit";
    td.append(edit);
    if (isLocked(u)) {
      const unlock = el("button", "btn small act-unlock", "解锁");
      unlock.type = "button";
      unlock.dataset.action = "unlock";
      td.append(unlock);
    }
    tr.append(td);
    tbody.append(tr);
  }
  $("user-empty").hidden = users.length > 0;
}

// --- roles editor --------------------------------------------------------------------------------

function addRoleRow(role = "member", orgId = null, orgName = null) {
  const row = el("div", "role-row");
  const rs = el("select", "role-select");
  rs.setAttribute("aria-label", "角色");
  for (const [value, text] of Object.entries(ROLE_LABELS)) rs.append(option(value, text, value === role));
  const os = el("select", "role-org");
  os.setAttribute("aria-label", "所在组织");
  fillOrgSelect(os, orgs.list, { first: ["", "请选择组织"], selected: orgId });
  if (orgId != null && !orgs.byId.has(String(orgId))) {
    // A role at an org outside the viewer's tree is kept as it is.
    const o = option(String(orgId), (orgName || "组织 " + orgId) + "（不在管理范围内）", true);
    o.dataset.raw = JSON.stringify(orgId);
    os.append(o);
  }
  const rm = el("button", "btn small role-remove", "移除");
  rm.type = "button";
  rm.addEventListener("click", () => row.remove());
  row.append(rs, os, rm);
  $("roles-list").append(row);
  return row;
}

function readRoles() {
  const roles = [];
  for (const row of $("roles-list").querySelectorAll(".role-row")) {
    const role = row.querySelector(".role-select").value;
    const orgValue = row.querySelector(".role-org").value;
    if (!orgValue) return { error: `请为「${ROLE_LABELS[role] || role}」选择所在组织` };
    const org = orgs.byId.get(orgValue);
    const raw = row.querySelector(".role-org").selectedOptions[0]?.dataset.raw;
    roles.push({ role, org_id: org ? org.id : raw ? JSON.parse(raw) : orgValue });
  }
  return { roles };
}

// --- create / edit -------------------------------------------------------------------------------

function openForm(user) {
  editing = user;
  setMsg("user-form-error", "");
  $("user-dialog-title").textContent = user ? "编辑用户" : "新建用户";
  $("u-username").value = user ? user.username : "";
  $("u-username").readOnly = !!user;
  $("u-display-name").value = user ? user.display_name || "" : "";
  $("u-phone").value = "";
  $("u-phone").placeholder = user ? `当前 ${user.phone_masked || "未设置"}，不修改请留空` : "11位手机号，用于短信验证";
  $("u-phone-label").textContent = user ? "手机号" : "手机号 *";
  $("u-password").value = "";
  $("u-password-field").hidden = !!user;
  $("u-member-id").value = "";
  $("u-member-field").hidden = !!user;
  $("u-status-field").hidden = !user;
  $("u-status").value = user ? user.status : "active";
  $("roles-list").replaceChildren();
  if (user) for (const r of user.roles || []) addRoleRow(r.role, r.org_id, r.org_name);
  else addRoleRow("member", null);
  $("user-dialog").showModal();
  (user ? $("u-display-name") : $("u-username")).focus();
}

$("role-add").addEventListener("click", () => addRoleRow("member", null));
$("user-cancel").addEventListener("click", () => $("user-dialog").close());

$("user-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const display_name = val("u-display-name");
  const phone = val("u-phone");
  const { roles, error } = readRoles();
  if (error) { setMsg("user-form-error", error); return; }
  if (!display_name) { setMsg("user-form-error", "请填写姓名"); return; }
  if (phone && !/^1\d{10}$/.test(phone)) { setMsg("user-form-error", "手机号应为11位数字"); return; }
  let path;
  let method;
  let body;
  if (editing) {
    method = "PUT";
    path = "/api/admin/users/" + encodeURIComponent(editing.id);
    body = { display_name, status: $("u-status").value, roles };
    if (phone) body.phone = phone;
  } else {
    const username = val("u-username");
    const password = $("u-password").value;
    if (!username) { setMsg("user-form-error", "请填写用户名"); return; }
    if (!phone) { setMsg("user-form-error", "请填写手机号"); return; }
    if (!password) { setMsg("user-form-error", "请设置初始密码"); return; }
    const mid = val("u-member-id");
    let member_id = null;
    if (mid !== null) {
      if (!/^\d+$/.test(mid)) { setMsg("user-form-error", "关联党员编号应为数字"); return; }
      member_id = Number(mid);
    }
    method = "POST";
    path = "/api/admin/users";
    body = { username, display_name, phone, password, member_id, roles };
  }
  setMsg("user-form-error", "");
  $("user-save").disabled = true;
  try {
    const saved = await api(method, path, body);
    toast((editing ? "已保存用户「" : "已创建用户「") + saved.username + "」", "ok");
    $("user-dialog").close();
    await load();
  } catch (err) {
    setMsg("user-form-error", errorText(err));
  } finally {
    $("user-save").disabled = false;
  }
});

async function unlock(u) {
  try {
    const saved = await api("POST", `/api/admin/users/${encodeURIComponent(u.id)}/unlock`);
    toast(`已解锁「${saved.username}」`, "ok");
    await load();
  } catch (err) {
    toast(errorText(err));
  }
}

onRowAction("user-rows", () => users, { edit: openForm, unlock });

$("user-filter").addEventListener("submit", (e) => { e.preventDefault(); load(); });
$("user-add").addEventListener("click", () => openForm(null));

const me = await initAdmin();
if (me) {
  try {
    orgs = await loadOrgs();
  } catch (err) {
    toast(errorText(err));
  }
  await load();
}
