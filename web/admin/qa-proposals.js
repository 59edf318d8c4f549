// 待审核问答: Q&A pairs proposed by staff from their replies (采纳为常用问答). Pending ones are
// editable (question, answer, category) and approved as edited — the pair is published and the
// chat answers from it at once — or rejected with a reason.
import { $, el, api, toast, errorText, initAdmin, query } from "/admin/admin.js";
import { formatTime } from "/handoff.js";

const STATUS = { pending: "待审核", approved: "已通过", rejected: "已驳回" };
let items = [];
let rejecting = null;
let ticket = 0;

function setMsg(id, text) {
  $(id).textContent = text || "";
  $(id).hidden = !text;
}

async function load() {
  const t = ++ticket;
  let j;
  try {
    j = await api("GET", "/api/admin/qa-proposals" + query({ status: $("p-status").value }));
  } catch (e) {
    if (t === ticket) toast(errorText(e));
    return;
  }
  if (t !== ticket) return;
  items = j.items || [];
  render();
}

function field(label, node) {
  const l = el("label", "field");
  l.append(el("span", "", label), node);
  return l;
}

function render() {
  const box = $("proposal-list");
  box.replaceChildren();
  for (const p of items) {
    const card = el("article", "card proposal");
    card.dataset.id = String(p.id);
    card.dataset.status = p.status;
    const head = el("div", "q-head");
    head.append(el("span", "status st-" + (p.status === "pending" ? "pending" : p.status === "approved" ? "answered" : "closed"), STATUS[p.status] || p.status));
    head.append(el("span", "spacer"), el("time", "meta", formatTime(p.created_at)));
    card.append(head);
    const meta = [];
    if (p.org_name) meta.push("组织：" + p.org_name);
    if (p.proposed_by) meta.push("提交人：" + p.proposed_by);
    if (p.consultation_id != null) meta.push("来自咨询 #" + p.consultation_id);
    card.append(el("p", "meta", meta.join(" · ")));
    if (p.status === "pending") {
      const q = el("textarea", "p-question");
      q.rows = 2; q.maxLength = 500; q.value = p.question || "";
      const a = el("textarea", "p-answer");
      a.rows = 8; a.maxLength = 5000; a.value = p.answer || "";
      const c = el("input", "p-category");
      c.maxLength = 30; c.value = p.category || ""; c.placeholder = "例如：党员发展（留空为“人工答复”）";
      const form = el("div", "form");
      form.append(field("问题", q), field("答案", a), field("分类", c));
      const err = el("p", "error p-error");
      err.hidden = true;
      err.setAttribute("role", "alert");
      const actions = el("div", "form-actions");
      const reject = el("button", "btn danger act-reject", "驳回");
      reject.type = "button";
      reject.dataset.action = "reject";
      const approve = el("button", "btn primary act-approve", "通过并发布");
      approve.type = "button";
      approve.dataset.action = "approve";
      actions.append(reject, approve);
      form.append(err, actions);
      card.append(form);
    } else {
      card.append(el("h3", "q-title", p.question));
      card.append(el("div", "pre reply-text", p.answer));
      if (p.category) card.append(el("p", "meta", "分类：" + p.category));
    }
    box.append(card);
  }
  $("proposal-empty").hidden = items.length > 0;
  $("proposal-empty").textContent = $("p-status").value === "pending" ? "没有待审核的问答。" : "没有记录。";
}

async function approve(card, p) {
  const question = card.querySelector(".p-question").value.trim();
  const answer = card.querySelector(".p-answer").value.replace(/^\s*\n/, "").replace(/\s+$/, "");
  const category = card.querySelector(".p-category").value.trim();
  const err = card.querySelector(".p-error");
  const show = (t) => { err.textContent = t || ""; err.hidden = !t; };
  if (!question) { show("请填写问题"); return; }
  if (!answer.trim()) { show("请填写答案"); return; }
  show("");
  const buttons = card.querySelectorAll("button");
  for (const b of buttons) b.disabled = true;
  try {
    const body = { question, answer };
    if (category) body.category = category;
    const r = await api("POST", `/api/admin/qa-proposals/${encodeURIComponent(p.id)}/approve`, body);
    toast(`已发布为常用问答${r && r.qa_id != null ? "（编号 " + r.qa_id + "）" : ""}`, "ok");
    await load();
  } catch (e) {
    show(errorText(e));
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}

function openReject(p) {
  rejecting = p;
  $("reject-question").textContent = p.question;
  $("reject-reason").value = "";
  setMsg("reject-error", "");
  $("reject-dialog").showModal();
  $("reject-reason").focus();
}

$("reject-cancel").addEventListener("click", () => $("reject-dialog").close());
$("reject-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!rejecting) return;
  const reason = $("reject-reason").value.trim();
  $("reject-ok").disabled = true;
  try {
    await api("POST", `/api/admin/qa-proposals/${encodeURIComponent(rejecting.id)}/reject`, reason ? { reason } : {});
    $("reject-dialog").close();
    toast("已驳回", "ok");
    await load();
  } catch (err) {
    setMsg("reject-error", errorText(err));
  } finally {
    $("reject-ok").disabled = false;
  }
});

$("proposal-list").addEventListener("click", (e) => {
  const b = e.target.closest("button[data-action]");
  if (!b) return;
  const card = b.closest(".proposal");
  const p = items.find((x) => String(x.id) === card.dataset.id);
  if (!p) return;
  if (b.dataset.action === "approve") approve(card, p);
  else if (b.dataset.action === "reject") openReject(p);
});

$("p-status").addEventListener("change", load);

const me = await initAdmin();
if (me) await load();
