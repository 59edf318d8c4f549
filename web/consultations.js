// 我的咨询中心: the member's handoff requests (newest first) with status badges and unread
// markers; #<id> opens one with the AI answer, its sources, the staff reply, the timeline, rating
// and close. Live: an EventSource on /api/events reloads the list and the open detail.
import { $, el, api, ApiError, toast, errorText, confirmDialog, currentUser } from "/admin/admin.js";
import {
  statusBadge, formatTime, renderSources, renderTimeline, stars, liveEvents, debounce, showLiveState, isWaiting,
} from "/handoff.js";

let items = [];
let current = null; // the consultation shown in the detail view
let rating = 0;
let listTicket = 0;
let detailTicket = 0;

function setMsg(id, text) {
  $(id).textContent = text || "";
  $(id).hidden = !text;
}

const routeId = () => {
  const m = /^#(\d+)$/.exec(location.hash);
  return m ? m[1] : null;
};

// --- list ----------------------------------------------------------------------------------------

async function loadList() {
  const ticket = ++listTicket;
  let j;
  try {
    j = await api("GET", "/api/consultations/mine");
  } catch (e) {
    if (ticket === listTicket) toast(errorText(e));
    return;
  }
  if (ticket !== listTicket) return;
  items = j.items || [];
  renderList();
  setUnread(j.unread != null ? j.unread : items.filter((c) => c.unread).length);
}

function setUnread(n) {
  const b = $("unread-count");
  b.textContent = String(n);
  b.hidden = !n;
  b.title = n ? `${n} 条新答复未读` : "";
  $("unread-summary").textContent = n ? `${n} 条新答复未读` : "";
}

function renderList() {
  const ul = $("consult-list");
  ul.replaceChildren();
  for (const c of items) {
    const li = el("li", "c-item" + (c.unread ? " unread-item" : ""));
    li.dataset.id = String(c.id);
    li.dataset.status = c.status;
    const a = el("a", "c-link");
    a.href = "#" + c.id;
    const head = el("div", "c-head");
    head.append(statusBadge(c.status, c.status_label));
    if (c.unread) head.append(el("span", "unread", "新答复"));
    head.append(el("span", "spacer"), el("time", "c-time", formatTime(c.created_at)));
    a.append(head, el("div", "c-question", c.question));
    if (c.reply) {
      const r = el("div", "c-reply");
      r.append(el("span", "c-reply-label", "答复："), document.createTextNode(c.reply));
      a.append(r);
    }
    const meta = [];
    if (c.org_name) meta.push("答复组织：" + c.org_name);
    if (c.claimed_by && c.status === "claimed") meta.push("办理人：" + c.claimed_by.display_name);
    if (c.rating) meta.push("评价：" + stars(c.rating));
    if (meta.length) a.append(el("div", "meta c-meta", meta.join(" · ")));
    li.append(a);
    ul.append(li);
  }
  $("consult-empty").hidden = items.length > 0;
}

// --- detail --------------------------------------------------------------------------------------

async function loadDetail(id) {
  const ticket = ++detailTicket;
  let c;
  try {
    c = await api("GET", `/api/consultations/${encodeURIComponent(id)}`);
  } catch (e) {
    if (ticket !== detailTicket) return;
    toast(errorText(e));
    if (e instanceof ApiError && (e.status === 404 || e.status === 403)) location.hash = "";
    return;
  }
  if (ticket !== detailTicket || routeId() !== String(id)) return;
  const first = !current || current.id !== c.id;
  current = c;
  renderDetail(c, first);
  // Viewing marked the reply read: refresh the list and the counter.
  if (c.unread || items.some((x) => x.id === c.id && x.unread)) loadList();
}

function renderDetail(c, first) {
  const view = $("detail-view");
  view.dataset.id = String(c.id);
  view.dataset.status = c.status;
  $("d-status").replaceChildren(statusBadge(c.status, c.status_label));
  $("d-question").textContent = c.question;
  $("d-note").textContent = c.note || "";
  $("d-note-line").hidden = !c.note;
  const meta = ["提交于 " + formatTime(c.created_at)];
  if (c.category) meta.push("分类：" + c.category);
  if (c.org_name) meta.push("答复组织：" + c.org_name);
  $("d-meta").textContent = meta.join(" · ");

  $("d-reply-card").hidden = !c.reply;
  $("d-reply-card").classList.toggle("new", !!c.unread);
  $("d-reply").textContent = c.reply || "";
  const rmeta = [];
  if (c.claimed_by) rmeta.push("答复人：" + c.claimed_by.display_name);
  if (c.answered_at) rmeta.push(formatTime(c.answered_at));
  $("d-reply-meta").textContent = rmeta.join(" · ");

  let waiting = "";
  if (isWaiting(c.status)) {
    waiting = `您的咨询已提交给${c.org_name || "党组织"}，正在等待受理` + (c.due_at ? `，预计 ${formatTime(c.due_at)} 前答复。` : "。");
  } else if (c.status === "claimed") {
    waiting = `${c.claimed_by ? c.claimed_by.display_name : "答复人员"}正在处理您的咨询，请耐心等待。`;
  } else if (c.status === "closed" && !c.reply) {
    waiting = "这条咨询已结束。";
  }
  $("d-waiting-text").textContent = waiting;
  $("d-waiting").hidden = !waiting;

  const canRate = c.status === "answered";
  $("rate-card").hidden = !canRate;
  if (canRate && first) {
    rating = 0;
    $("rate-comment").value = "";
    setMsg("rate-error", "");
  }
  paintStars();
  $("rating-card").hidden = !c.rating;
  $("d-rating").textContent = c.rating ? stars(c.rating) : "";
  $("d-rating").title = c.rating ? `${c.rating} 星` : "";
  $("d-rating-comment").textContent = c.rating_comment || "";

  $("d-ai-answer").textContent = c.ai_answer || "（无）";
  renderSources($("d-sources"), c.ai_sources);
  if (first) $("ai-details").open = !c.reply;
  renderTimeline($("d-timeline"), c.events);
  $("close-btn").hidden = c.status === "closed";
}

function paintStars() {
  for (const b of document.querySelectorAll("#rate-stars .star")) {
    const v = Number(b.dataset.v);
    b.classList.toggle("on", v <= rating);
    b.setAttribute("aria-checked", String(v === rating));
  }
  const words = ["", "很不满意", "不满意", "一般", "满意", "非常满意"];
  $("rate-label").textContent = rating ? `${rating} 星 · ${words[rating]}` : "请选择评分";
}

$("rate-stars").addEventListener("click", (e) => {
  const b = e.target.closest(".star");
  if (!b) return;
  rating = Number(b.dataset.v);
  setMsg("rate-error", "");
  paintStars();
});

$("rate-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!current) return;
  if (!rating) { setMsg("rate-error", "请先选择 1 到 5 星"); return; }
  const body = { rating };
  const comment = $("rate-comment").value.trim();
  if (comment) body.comment = comment;
  setMsg("rate-error", "");
  $("rate-submit").disabled = true;
  try {
    await api("POST", `/api/consultations/${encodeURIComponent(current.id)}/rate`, body);
    toast("感谢您的评价", "ok");
    await Promise.all([loadDetail(current.id), loadList()]);
  } catch (err) {
    setMsg("rate-error", errorText(err));
  } finally {
    $("rate-submit").disabled = false;
  }
});

$("close-btn").addEventListener("click", async () => {
  if (!current) return;
  const msg = current.status === "answered" ? "确定结束这条咨询吗？结束后将不能再评价。" : "确定撤回并结束这条咨询吗？";
  if (!(await confirmDialog(msg, "结束咨询"))) return;
  try {
    await api("POST", `/api/consultations/${encodeURIComponent(current.id)}/close`);
    toast("咨询已结束", "ok");
    await Promise.all([loadDetail(current.id), loadList()]);
  } catch (err) {
    toast(errorText(err));
  }
});

$("back-to-list").addEventListener("click", () => {
  if (history.length > 1 && routeId()) history.back();
  else location.hash = "";
});

// --- routing and live updates --------------------------------------------------------------------

function route() {
  const id = routeId();
  $("list-view").hidden = !!id;
  $("detail-view").hidden = !id;
  if (id) {
    if (!current || String(current.id) !== id) {
      current = null;
      $("d-timeline").replaceChildren();
    }
    loadDetail(id);
    window.scrollTo(0, 0);
  } else {
    current = null;
    detailTicket++;
  }
}

window.addEventListener("hashchange", route);

const refreshList = debounce(loadList, 200);
const refreshDetail = debounce((id) => { if (routeId() === String(id)) loadDetail(id); }, 200);

await currentUser();
route();
await loadList();
liveEvents({
  state: (s) => showLiveState($("live-state"), s),
  consultation: (d) => {
    refreshList();
    if (d && d.id != null && routeId() === String(d.id)) refreshDetail(d.id);
  },
  notification: (n) => {
    toast(n.title ? n.title + (n.body ? "：" + n.body : "") : "您的咨询有新的答复", "ok");
    refreshList();
    if (n.consultation_id != null && routeId() === String(n.consultation_id)) refreshDetail(n.consultation_id);
  },
  resync: () => {
    refreshList();
    const id = routeId();
    if (id) refreshDetail(id);
  },
});
