// 人工答复工作台 (答复人员 and administrators): the queue of the caller's org subtree(s) with
// filters and SLA countdowns, claim, the detail (question, member, AI answer + sources, timeline
// with internal notes), reply, internal note, 上报, 转交, release and 采纳为常用问答. Live: an
// EventSource on /api/events reloads the queue and the open detail when anything changes.
import {
  $, el, api, ApiError, toast, errorText, confirmDialog, currentUser, logout, loadOrgs, fillOrgSelect, query, isAdmin,
} from "/admin/admin.js";
import {
  statusBadge, formatTime, slaText, renderSources, renderTimeline, stars, liveEvents, debounce, showLiveState, isWaiting,
} from "/handoff.js";

const STAFF_ROLES = ["staff", "org_admin", "sys_admin"];
let me = null;
let orgs = { byId: new Map(), roots: [], list: [] };
let items = [];
let current = null;
let queueTicket = 0;
let detailTicket = 0;
const categories = new Set();

function setMsg(id, text) {
  $(id).textContent = text || "";
  $(id).hidden = !text;
}

const routeId = () => {
  const m = /^#(\d+)$/.exec(location.hash);
  return m ? m[1] : null;
};

const mineClaim = (c) => !!(c && c.status === "claimed" && c.claimed_by && me && c.claimed_by.user_id === me.id);

// --- queue ---------------------------------------------------------------------------------------

function filters() {
  return {
    status: $("f-status").value || "open",
    org_id: $("f-org").value,
    category: $("f-category").value.trim(),
    mine: $("f-mine").checked ? "1" : "",
  };
}

async function loadQueue() {
  const ticket = ++queueTicket;
  let j;
  try {
    j = await api("GET", "/api/staff/queue" + query(filters()));
  } catch (e) {
    if (ticket === queueTicket) toast(errorText(e));
    return;
  }
  if (ticket !== queueTicket) return;
  const fetchedAt = Date.now();
  items = (j.items || []).map((c) => ({ ...c, _deadline: c.sla_remaining_secs != null ? fetchedAt + c.sla_remaining_secs * 1000 : null }));
  for (const c of items) if (c.category) categories.add(c.category);
  const dl = $("categories");
  dl.replaceChildren(...[...categories].sort().map((c) => { const o = el("option"); o.value = c; return o; }));
  renderQueue();
}

function slaOf(c) {
  if (c._deadline == null) return null;
  return Math.round((c._deadline - Date.now()) / 1000);
}

function paintSla(node, c) {
  const secs = slaOf(c);
  node.textContent = secs == null ? "" : slaText(secs);
  node.classList.toggle("overdue", secs != null && secs < 0);
  node.classList.toggle("soon", secs != null && secs >= 0 && secs < 2 * 3600);
  node.hidden = secs == null;
}

function renderQueue() {
  const ul = $("queue");
  ul.replaceChildren();
  const selected = routeId();
  for (const c of items) {
    const li = el("li", "q-item");
    li.dataset.id = String(c.id);
    li.dataset.status = c.status;
    if (String(c.id) === selected) li.classList.add("selected");
    if (mineClaim(c)) li.classList.add("mine");
    const head = el("div", "q-head");
    head.append(statusBadge(c.status, c.status_label));
    const sla = el("span", "sla");
    paintSla(sla, c);
    if (slaOf(c) != null && slaOf(c) < 0) li.classList.add("overdue");
    head.append(sla, el("span", "spacer"), el("time", "q-time", formatTime(c.created_at)));
    li.append(head, el("div", "q-question", c.question));
    const meta = [];
    if (c.member) meta.push(c.member.display_name + (c.member.org_name ? "（" + c.member.org_name + "）" : ""));
    if (c.category) meta.push("分类：" + c.category);
    meta.push("答复组织：" + c.org_name);
    if (c.claimed_by) meta.push("受理人：" + c.claimed_by.display_name);
    if (c.rating) meta.push("评价：" + stars(c.rating));
    li.append(el("div", "meta q-meta", meta.join(" · ")));
    const actions = el("div", "q-actions");
    if (isWaiting(c.status)) {
      const b = el("button", "btn small primary act-claim", "受理");
      b.type = "button";
      b.dataset.action = "claim";
      actions.append(b);
    }
    const open = el("button", "btn small act-open", mineClaim(c) ? "答复" : "查看");
    open.type = "button";
    open.dataset.action = "open";
    actions.append(open);
    li.append(actions);
    ul.append(li);
  }
  ul.dataset.loaded = "1";
  $("queue-empty").hidden = items.length > 0;
  const overdue = items.filter((c) => slaOf(c) != null && slaOf(c) < 0).length;
  $("queue-count").textContent = `共 ${items.length} 条` + (overdue ? `，其中 ${overdue} 条已超时` : "");
}

// The SLA countdowns tick without reloading.
setInterval(() => {
  for (const li of document.querySelectorAll("#queue .q-item")) {
    const c = items.find((x) => String(x.id) === li.dataset.id);
    const node = li.querySelector(".sla");
    if (c && node) {
      paintSla(node, c);
      li.classList.toggle("overdue", slaOf(c) != null && slaOf(c) < 0);
    }
  }
  if (current) paintDetailSla();
}, 30_000);

$("queue").addEventListener("click", (e) => {
  const li = e.target.closest("li.q-item");
  if (!li) return;
  const b = e.target.closest("button[data-action]");
  if (b && b.dataset.action === "claim") { claim(li.dataset.id); return; }
  openDetail(li.dataset.id);
});

function openDetail(id) {
  if (routeId() === String(id)) loadDetail(id);
  else location.hash = "#" + id;
}

$("queue-filter").addEventListener("submit", (e) => { e.preventDefault(); loadQueue(); });
for (const id of ["f-status", "f-org", "f-mine"]) $(id).addEventListener("change", () => loadQueue());
$("f-category").addEventListener("change", () => loadQueue());

// --- detail --------------------------------------------------------------------------------------

async function loadDetail(id) {
  const ticket = ++detailTicket;
  let c;
  try {
    c = await api("GET", `/api/consultations/${encodeURIComponent(id)}`);
  } catch (e) {
    if (ticket !== detailTicket) return;
    if (e instanceof ApiError && (e.status === 404 || e.status === 403)) {
      toast(current && String(current.id) === String(id) ? "该咨询已不在您的答复范围内" : errorText(e));
      closeDetail();
    } else {
      toast(errorText(e));
    }
    return;
  }
  if (ticket !== detailTicket || routeId() !== String(id)) return;
  const switched = !current || current.id !== c.id;
  current = c;
  renderDetail(c, switched);
}

function paintDetailSla() {
  const c = current;
  const q = items.find((x) => x.id === c.id);
  let secs = null;
  if (q && q._deadline != null) secs = slaOf(q);
  else if (isWaiting(c.status) && c.due_at) secs = Math.round((new Date(c.due_at).getTime() - Date.now()) / 1000);
  const node = $("s-sla");
  node.textContent = secs == null ? "" : `时限：${formatTime(c.due_at)}（${slaText(secs)}）`;
  node.classList.toggle("overdue", secs != null && secs < 0);
  node.hidden = secs == null;
}

function renderDetail(c, switched) {
  const pane = $("detail-pane");
  pane.dataset.id = String(c.id);
  pane.dataset.status = c.status;
  $("s-status").replaceChildren(statusBadge(c.status, c.status_label));
  $("s-question").textContent = c.question;
  $("s-note").textContent = c.note || "";
  $("s-note-line").hidden = !c.note;
  $("s-member").textContent = "提问党员：" + (c.member ? c.member.display_name + (c.member.org_name ? "（" + c.member.org_name + "）" : "") : "—");
  const meta = ["提交于 " + formatTime(c.created_at), "答复组织：" + c.org_name];
  if (c.category) meta.push("分类：" + c.category);
  if (c.claimed_by) meta.push("受理人：" + c.claimed_by.display_name);
  if (c.rating) meta.push("评价：" + stars(c.rating) + (c.rating_comment ? "（" + c.rating_comment + "）" : ""));
  $("s-meta").textContent = meta.join(" · ");
  paintDetailSla();

  const mine = mineClaim(c);
  $("s-claim").hidden = !isWaiting(c.status);
  $("s-release").hidden = !mine;
  $("s-escalate").hidden = !(isWaiting(c.status) || mine);
  $("s-transfer").hidden = !(isWaiting(c.status) || mine);
  $("s-promote").hidden = !c.reply;
  const other = c.status === "claimed" && !mine && c.claimed_by;
  $("s-claimed-other").textContent = other ? `已由 ${c.claimed_by.display_name} 受理，只有受理人可以答复。` : "";
  $("s-claimed-other").hidden = !other;

  $("reply-card").hidden = !mine;
  if (switched) {
    pane.scrollTop = 0;
    if (getComputedStyle(pane).position !== "sticky") window.scrollTo(0, 0);
    $("reply-body").value = "";
    $("note-body").value = "";
    setMsg("reply-error", "");
    setMsg("note-error", "");
  }
  updateReplyCount();
  $("s-reply-card").hidden = !c.reply;
  $("s-reply").textContent = c.reply || "";
  $("s-reply-meta").textContent = c.answered_at ? "答复于 " + formatTime(c.answered_at) : "";

  $("s-ai-answer").textContent = c.ai_answer || "（无：党员直接提交的问题）";
  renderSources($("s-sources"), c.ai_sources);
  renderTimeline($("s-timeline"), c.events);
  for (const li of document.querySelectorAll("#queue .q-item")) li.classList.toggle("selected", li.dataset.id === String(c.id));
}

function updateReplyCount() {
  const n = [...$("reply-body").value].length;
  $("reply-count").textContent = n ? `${n} / 5000 字` : "";
}
$("reply-body").addEventListener("input", updateReplyCount);

function closeDetail() {
  current = null;
  detailTicket++;
  if (routeId()) history.replaceState(null, "", location.pathname + location.search);
  route();
}

$("back-to-queue").addEventListener("click", () => {
  if (history.length > 1 && routeId()) history.back();
  else closeDetail();
});

function route() {
  const id = routeId();
  document.body.classList.toggle("show-detail", !!id);
  $("detail-pane").hidden = !id;
  if (id) {
    if (!current || String(current.id) !== id) {
      current = null;
      $("s-timeline").replaceChildren();
    }
    loadDetail(id);
  } else {
    current = null;
    for (const li of document.querySelectorAll("#queue .q-item.selected")) li.classList.remove("selected");
  }
}
window.addEventListener("hashchange", route);

// --- actions -------------------------------------------------------------------------------------

/** Actions in flight: their handlers reload the detail themselves, so a live event about the
 * same change does not (after 上报 the item may already be out of this user's scope). */
let acting = 0;

async function act(id, action, body) {
  acting++;
  try {
    return await api("POST", `/api/staff/consultations/${encodeURIComponent(id)}/${action}`, body);
  } finally {
    acting--;
  }
}

async function claim(id) {
  try {
    await act(id, "claim");
    toast("已受理，请尽快答复", "ok");
    loadQueue();
    openDetail(id);
  } catch (e) {
    toast(errorText(e));
    loadQueue();
    if (routeId() === String(id)) loadDetail(id);
  }
}

$("s-claim").addEventListener("click", () => current && claim(current.id));

$("s-release").addEventListener("click", async () => {
  if (!current) return;
  if (!(await confirmDialog("确定退回这条咨询吗？它将回到待受理队列，其他答复人员可以受理。", "退回"))) return;
  try {
    await act(current.id, "release");
    toast("已退回待受理", "ok");
    await Promise.all([loadQueue(), loadDetail(current.id)]);
  } catch (e) {
    toast(errorText(e));
  }
});

$("reply-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!current) return;
  // Plain text: only surrounding blank space is dropped; line breaks inside are kept.
  const body = $("reply-body").value.replace(/^\s*\n/, "").replace(/\s+$/, "");
  if (!body.trim()) { setMsg("reply-error", "请填写答复内容"); return; }
  setMsg("reply-error", "");
  $("reply-send").disabled = true;
  try {
    await act(current.id, "reply", { body });
    $("reply-body").value = "";
    updateReplyCount();
    toast("答复已发送，党员将收到通知", "ok");
    await Promise.all([loadQueue(), loadDetail(current.id)]);
  } catch (err) {
    setMsg("reply-error", errorText(err));
  } finally {
    $("reply-send").disabled = false;
  }
});

$("note-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!current) return;
  const body = $("note-body").value.trim();
  if (!body) { setMsg("note-error", "请填写备注内容"); return; }
  setMsg("note-error", "");
  $("note-send").disabled = true;
  try {
    await act(current.id, "note", { body });
    $("note-body").value = "";
    await loadDetail(current.id);
  } catch (err) {
    setMsg("note-error", errorText(err));
  } finally {
    $("note-send").disabled = false;
  }
});

/** After 上报/转交: an item now outside the visible org tree is out of this user's scope. */
async function afterMove(c) {
  const id = current.id;
  const gone = c && c.org_id != null && orgs.list.length && !orgs.byId.has(String(c.org_id));
  if (gone) closeDetail();
  await loadQueue();
  if (!gone && routeId() === String(id)) await loadDetail(id);
}

// 上报
$("s-escalate").addEventListener("click", () => {
  $("escalate-note").value = "";
  setMsg("escalate-error", "");
  $("escalate-dialog").showModal();
  $("escalate-note").focus();
});
$("escalate-cancel").addEventListener("click", () => $("escalate-dialog").close());
$("escalate-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!current) return;
  const note = $("escalate-note").value.trim();
  setMsg("escalate-error", "");
  $("escalate-ok").disabled = true;
  try {
    const c = await act(current.id, "escalate", note ? { note } : {});
    $("escalate-dialog").close();
    toast(`已上报至 ${c && c.org_name ? c.org_name : "上级组织"}`, "ok");
    await afterMove(c);
  } catch (err) {
    setMsg("escalate-error", errorText(err));
  } finally {
    $("escalate-ok").disabled = false;
  }
});

// 转交
$("s-transfer").addEventListener("click", () => {
  if (!current) return;
  fillOrgSelect($("transfer-org"), orgs.list, { first: ["", "请选择组织"], exclude: new Set([String(current.org_id)]) });
  $("transfer-note").value = "";
  setMsg("transfer-error", orgs.list.length ? "" : "无法读取组织列表");
  $("transfer-dialog").showModal();
});
$("transfer-cancel").addEventListener("click", () => $("transfer-dialog").close());
$("transfer-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!current) return;
  const orgId = $("transfer-org").value;
  if (!orgId) { setMsg("transfer-error", "请选择转交的组织"); return; }
  const org = orgs.byId.get(orgId);
  const body = { org_id: org ? Number(org.id) : Number(orgId) };
  const note = $("transfer-note").value.trim();
  if (note) body.note = note;
  setMsg("transfer-error", "");
  $("transfer-ok").disabled = true;
  try {
    const c = await act(current.id, "transfer", body);
    $("transfer-dialog").close();
    toast(`已转交 ${c && c.org_name ? c.org_name : ""}`.trim(), "ok");
    await afterMove(c);
  } catch (err) {
    setMsg("transfer-error", errorText(err));
  } finally {
    $("transfer-ok").disabled = false;
  }
});

// 采纳为常用问答
$("s-promote").addEventListener("click", () => {
  if (!current) return;
  $("promote-question").value = current.question || "";
  $("promote-answer").value = current.reply || "";
  $("promote-category").value = current.category || "";
  setMsg("promote-error", "");
  $("promote-dialog").showModal();
});
$("promote-cancel").addEventListener("click", () => $("promote-dialog").close());
$("promote-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!current) return;
  const question = $("promote-question").value.trim();
  const answer = $("promote-answer").value.replace(/^\s*\n/, "").replace(/\s+$/, "");
  const category = $("promote-category").value.trim();
  if (!question) { setMsg("promote-error", "请填写问题"); return; }
  if (!answer.trim()) { setMsg("promote-error", "请填写答案"); return; }
  const body = { question, answer };
  if (category) body.category = category;
  setMsg("promote-error", "");
  $("promote-ok").disabled = true;
  try {
    const p = await api("POST", `/api/staff/consultations/${encodeURIComponent(current.id)}/promote`, body);
    $("promote-dialog").close();
    toast(`已提交管理员审核${p && p.id != null ? "（编号 " + p.id + "）" : ""}`, "ok");
  } catch (err) {
    setMsg("promote-error", errorText(err));
  } finally {
    $("promote-ok").disabled = false;
  }
});

// --- start ---------------------------------------------------------------------------------------

$("logout").addEventListener("click", logout);
me = await currentUser();
$("me-name").textContent = me.display_name || me.username;
$("me-name").title = me.username;
$("nav-admin").hidden = !isAdmin(me);
if (!(me.roles || []).some((r) => STAFF_ROLES.includes(r.role))) {
  const c = $("content");
  c.replaceChildren();
  const box = el("div", "card");
  box.id = "no-staff";
  box.append(el("p", "", "您的账号没有答复权限（需要答复人员、组织管理员或系统管理员角色）。"));
  const a = el("a", "", "返回智能问答 →");
  a.href = "/";
  box.append(a);
  c.append(box);
  $("live-state").hidden = true;
} else {
  try {
    orgs = await loadOrgs();
    fillOrgSelect($("f-org"), orgs.list, { first: ["", "全部组织"], activeOnly: false });
  } catch (e) {
    $("f-org").hidden = true;
  }
  route();
  await loadQueue();
  const refreshQueue = debounce(loadQueue, 200);
  // Safety net for changes the live stream does not carry (e.g. an item another staff member
  // moved out of this scope): a quiet reload every two minutes while the page is visible.
  setInterval(() => { if (!document.hidden) refreshQueue(); }, 120_000);
  const refreshDetail = debounce((id) => {
    if (acting) { refreshDetail(id); return; }
    if (routeId() === String(id)) loadDetail(id);
  }, 200);
  liveEvents({
    state: (s) => showLiveState($("live-state"), s),
    consultation: (d) => {
      refreshQueue();
      if (d && d.id != null && routeId() === String(d.id)) refreshDetail(d.id);
    },
    resync: () => {
      refreshQueue();
      const id = routeId();
      if (id) refreshDetail(id);
    },
  });
}
