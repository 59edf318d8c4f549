// Member chat page: streams answers from POST /api/chat (SSE over fetch), renders text safely
// (textContent only, never innerHTML with model output), citations as chips. Curated answers
// (mode faq) are shown with the Markdown subset of /format.js (HTML-escaped first: paragraphs,
// **bold**, lists, http(s) links), re-rendered from the whole text at each delta. Every answer
// offers 申请人工答复 (POST /api/consultations with its message id). Anonymous visitors make no
// API call on load; a logged-in browser (dwt_csrf cookie) shows 我的咨询 with a live unread counter.
import { api, ApiError, errorText, toast, isAdmin } from "/admin/admin.js";
import { hasSessionCookie, liveEvents, sourceLabel } from "/handoff.js";
import { setFormatted } from "/format.js";

const $ = (id) => document.getElementById(id);
const PENDING_KEY = "dwt.pendingHandoff";
const HISTORY_KEY = "dwt.conversations";
let conversationId = null;
let busy = false;

function loadHistory() {
  try { return JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]"); } catch { return []; }
}
function saveHistory(id, title) {
  const list = loadHistory().filter((c) => c.id !== id);
  list.unshift({ id, title: title.slice(0, 30), at: Date.now() });
  localStorage.setItem(HISTORY_KEY, JSON.stringify(list.slice(0, 50)));
  renderHistory();
}
function renderHistory() {
  const ul = $("history-list");
  ul.replaceChildren();
  for (const c of loadHistory()) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.textContent = c.title;
    b.onclick = () => openConversation(c.id);
    li.append(b);
    ul.append(li);
  }
  if (!ul.children.length) { const li = document.createElement("li"); li.textContent = "暂无"; ul.append(li); }
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function addUser(text) {
  const m = el("div", "msg user");
  m.append(el("div", "bubble", text));
  $("messages").append(m);
  m.scrollIntoView({ block: "end" });
}

function citeButton(b, src) {
  b.title = label(src);
  b.onclick = () => showSource(src);
}

// Renders answer text with [n] turned into citation buttons; everything else as text nodes. A
// curated answer (mode "faq") is formatted (/format.js) with its [n] marks as the same buttons.
function renderAnswer(bubble, text, sources, mode) {
  if (mode === "faq") {
    setFormatted(bubble, text, { cite: (n) => sources.some((s) => s.index === n) });
    for (const b of bubble.querySelectorAll("button.cite")) citeButton(b, sources.find((s) => s.index === Number(b.dataset.cite)));
    return;
  }
  bubble.classList.remove("fmt");
  bubble.replaceChildren();
  const parts = text.split(/(\[\d+\])/);
  for (const p of parts) {
    const m = /^\[(\d+)\]$/.exec(p);
    const src = m && sources.find((s) => s.index === Number(m[1]));
    if (src) {
      const b = el("button", "cite", m[1]);
      citeButton(b, src);
      bubble.append(b);
    } else {
      bubble.append(document.createTextNode(p));
    }
  }
}

const label = sourceLabel;

/** An http(s) URL (the crawled page of a document), or null. */
function webUrl(u) {
  if (typeof u !== "string" || !/^https?:\/\//i.test(u)) return null;
  try { return new URL(u); } catch { return null; }
}

/** "YYYY-MM-DD HH:mm" from an RFC 3339 string, read as written (its offset is Beijing time); a
 * bare date stays a date; null when it does not look like one. */
function publishedText(ts) {
  const m = typeof ts === "string" && /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}))?/.exec(ts.trim());
  if (!m) return null;
  return m[2] ? m[1] + " " + m[2] : m[1];
}

async function showSource(s) {
  $("article-title").textContent = label(s);
  $("article-text").textContent = s.text;
  $("article-link").href = s.url;
  // Crawled documents: their original web page and publication time; hidden for regulations.
  const origin = webUrl(s.origin_url);
  $("article-origin").hidden = !origin;
  $("article-origin").href = origin ? origin.href : "#";
  $("article-origin").title = origin ? origin.href : "";
  $("article-origin-host").textContent = origin ? "（" + origin.host + "）" : "";
  const published = publishedText(s.published_at);
  $("article-published").hidden = !published;
  $("article-published").textContent = published ? "发布时间：" + published : "";
  const d = $("article-dialog");
  if (!d.open) d.showModal();
  if (s.article) {
    try {
      const r = await fetch(`/api/documents/${s.doc_id}/articles/${encodeURIComponent(s.article)}`);
      if (r.ok) { const j = await r.json(); $("article-text").textContent = j.article.text; }
    } catch { /* keep the chunk text */ }
  }
}

function addAssistant() {
  const m = el("div", "msg assistant");
  m.dataset.messageId = "";
  const bubble = el("div", "bubble");
  m.append(bubble);
  $("messages").append(m);
  return { m, bubble, text: "", sources: [], messageId: null, mode: null, conversationId: null };
}

function finishAssistant(a, done) {
  if (a.mode === "faq") a.m.prepend(el("span", "badge", "官方答复"));
  if (a.sources.length) {
    const row = el("div", "sources");
    for (const s of a.sources) {
      const c = el("button", "chip", "[" + s.index + "] " + label(s));
      c.onclick = () => showSource(s);
      row.append(c);
    }
    a.m.append(row);
  }
  // A fallback notice already in the answer text is not repeated under it.
  if (done && done.notice && !(a.text || "").includes(done.notice)) a.m.append(el("div", "notice", done.notice));
  const prominent = !!(done && (done.handoff_suggested || done.refused));
  const handoffBtn = a.messageId ? handoffButton(a, prominent) : null;
  if (handoffBtn && prominent) {
    const box = el("div", "handoff prominent");
    box.append(el("span", "", done.refused ? "这个问题我暂时无法回答，可以请党组织的同志人工答复。" : "如需进一步解答，可申请人工答复。"), handoffBtn);
    a.m.append(box);
  }
  const actions = el("div", "actions");
  const copy = el("button", "", "复制");
  copy.onclick = () => navigator.clipboard && navigator.clipboard.writeText(a.text);
  const up = el("button", "", "👍");
  const down = el("button", "", "👎");
  const vote = async (rating, btn) => {
    if (!a.messageId) return;
    const r = await fetch(`/api/messages/${a.messageId}/feedback`, { method: "POST", headers: jsonHeaders(), body: JSON.stringify({ rating }) });
    if (r.ok) { up.classList.remove("on"); down.classList.remove("on"); btn.classList.add("on"); }
  };
  up.onclick = () => vote("up", up);
  down.onclick = () => vote("down", down);
  actions.append(copy, up, down);
  if (handoffBtn && !prominent) actions.append(handoffBtn);
  a.m.append(actions);
}

// Minimal SSE parser for a fetch body: yields {event, data}.
async function* sse(response) {
  const reader = response.body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let event = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      if (data) yield { event, data: JSON.parse(data) };
    }
  }
}

async function ask(question) {
  if (busy) return;
  busy = true;
  $("send").disabled = true;
  document.querySelector(".welcome")?.remove();
  addUser(question);
  const a = addAssistant();
  a.bubble.textContent = "正在查找……";
  try {
    const r = await fetch("/api/chat", { method: "POST", headers: jsonHeaders(), body: JSON.stringify({ question, conversation_id: conversationId }) });
    if (!r.ok) {
      let msg = "出错了，请稍后再试";
      try { msg = (await r.json()).message || msg; } catch { /* not JSON */ }
      a.bubble.textContent = msg;
      return;
    }
    let done = null;
    for await (const { event, data } of sse(r)) {
      if (event === "meta") {
        a.messageId = data.message_id; a.mode = data.mode; a.conversationId = data.conversation_id || conversationId;
        if (a.messageId != null) a.m.dataset.messageId = String(a.messageId);
        if (!conversationId) { conversationId = data.conversation_id; saveHistory(conversationId, question); }
      } else if (event === "sources") {
        // Generated answers send their sources after the text (numbered as cited): re-render
        // so the [n] markers already shown become citation buttons.
        a.sources = data;
        if (a.text) renderAnswer(a.bubble, a.text, a.sources, a.mode);
      } else if (event === "delta") {
        a.text += data.text;
        renderAnswer(a.bubble, a.text, a.sources, a.mode);
      } else if (event === "done") {
        done = data;
      } else if (event === "error") {
        a.bubble.textContent = data.message;
      }
    }
    finishAssistant(a, done);
  } catch (e) {
    a.bubble.textContent = "网络连接中断，请重试";
  } finally {
    busy = false;
    $("send").disabled = false;
    a.m.scrollIntoView({ block: "end" });
  }
}

async function openConversation(id) {
  const r = await fetch(`/api/conversations/${encodeURIComponent(id)}`);
  if (!r.ok) return false;
  const j = await r.json();
  conversationId = id;
  $("messages").replaceChildren();
  for (const m of j.messages) {
    if (m.role === "user") addUser(m.content);
    else {
      const a = addAssistant();
      a.text = m.content; a.sources = m.sources || []; a.messageId = m.id; a.mode = m.mode; a.conversationId = id;
      if (m.id != null) a.m.dataset.messageId = String(m.id);
      renderAnswer(a.bubble, a.text, a.sources, a.mode);
      finishAssistant(a, { handoff_suggested: m.handoff_suggested, notice: m.notice });
    }
  }
  $("history").hidden = true;
  return true;
}

$("ask").addEventListener("submit", (e) => {
  e.preventDefault();
  const q = $("question").value.trim();
  if (!q) return;
  $("question").value = "";
  ask(q);
});
$("question").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("ask").requestSubmit(); }
});
$("new-chat").onclick = () => { conversationId = null; $("messages").replaceChildren(); };
$("history-btn").onclick = () => { $("history").hidden = !$("history").hidden; renderHistory(); };
renderHistory();

/** JSON request headers; a logged-in visitor's writes carry the session's CSRF token. */
function jsonHeaders() {
  const headers = { "content-type": "application/json" };
  const m = document.cookie.match(/(?:^|;\s*)dwt_csrf=([^;]+)/);
  if (m) headers["x-csrf-token"] = decodeURIComponent(m[1]);
  return headers;
}

// --- 申请人工答复 -------------------------------------------------------------------------------------

let handoffTarget = null; // { messageId, conversationId }

function handoffButton(a, prominent) {
  const b = el("button", "handoff-btn" + (prominent ? " prominent" : ""), "申请人工答复");
  b.type = "button";
  b.title = "请党组织的答复人员人工解答这个问题";
  b.onclick = () => startHandoff(a.messageId, a.conversationId);
  return b;
}

function savePending(messageId, convId) {
  try {
    sessionStorage.setItem(PENDING_KEY, JSON.stringify({ conversationId: convId || conversationId, messageId, at: Date.now() }));
  } catch { /* private mode: the member simply asks again */ }
}

function toLoginForHandoff(messageId, convId) {
  savePending(messageId, convId);
  location.assign("/login.html?next=/");
}

function startHandoff(messageId, convId) {
  if (messageId == null) return;
  if (!hasSessionCookie()) { toLoginForHandoff(messageId, convId); return; }
  handoffTarget = { messageId, conversationId: convId || null };
  $("handoff-note").value = "";
  setHandoffError("");
  $("handoff-submit").disabled = false;
  const d = $("handoff-dialog");
  if (!d.open) d.showModal();
  $("handoff-note").focus();
}

function setHandoffError(text) {
  $("handoff-error").textContent = text || "";
  $("handoff-error").hidden = !text;
}

/** The assistant message element of a message id (null when it is not on screen). */
function messageEl(messageId) {
  return [...document.querySelectorAll("#messages .msg.assistant")].find((m) => m.dataset.messageId === String(messageId)) || null;
}

/** Replaces the message's 申请人工答复 button(s) by a line saying what happened, with a link. */
function markHandedOff(messageId, text, kind = "ok") {
  let m = messageEl(messageId);
  if (!m) {
    m = el("div", "msg assistant");
    m.dataset.messageId = String(messageId);
    $("messages").prepend(m);
  }
  for (const b of m.querySelectorAll(".handoff-btn")) b.remove();
  m.querySelector(".handoff.prominent")?.remove();
  m.querySelector(".handoff-done")?.remove();
  const box = el("div", "handoff-done " + kind);
  box.append(el("span", "handoff-done-text", text));
  const link = el("a", "handoff-link", "查看我的咨询中心 →");
  link.href = "/consultations.html";
  box.append(link);
  m.append(box);
  box.scrollIntoView({ block: "nearest" });
}

$("handoff-cancel").addEventListener("click", () => $("handoff-dialog").close());

$("handoff-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!handoffTarget) return;
  const { messageId, conversationId: convId } = handoffTarget;
  const note = $("handoff-note").value.trim();
  // The server requires conversation_id with message_id: the random conversation id proves the
  // answer is the caller's (message ids are sequential).
  const body = { message_id: messageId };
  if (convId) body.conversation_id = convId;
  if (note) body.note = note;
  setHandoffError("");
  $("handoff-submit").disabled = true;
  try {
    const c = await api("POST", "/api/consultations", body, { noRedirect: true });
    $("handoff-dialog").close();
    const hours = c && c.expected_hours != null ? c.expected_hours : 24;
    markHandedOff(messageId, `已转人工，预计 ${hours} 小时内答复。答复后会通知您。`);
    bumpAccountLink();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) { toLoginForHandoff(messageId, convId); return; }
    if (err instanceof ApiError && err.code === "handoff.already_requested") {
      $("handoff-dialog").close();
      markHandedOff(messageId, err.message, "info");
      return;
    }
    setHandoffError(errorText(err));
  } finally {
    $("handoff-submit").disabled = false;
  }
});

/** After logging in for a handoff: reopen that conversation and the request dialog. */
async function resumePendingHandoff() {
  let p = null;
  try { p = JSON.parse(sessionStorage.getItem(PENDING_KEY) || "null"); } catch { p = null; }
  if (!p) return;
  sessionStorage.removeItem(PENDING_KEY);
  if (!p.messageId || Date.now() - (p.at || 0) > 30 * 60 * 1000) return;
  if (p.conversationId && !messageEl(p.messageId)) {
    try { await openConversation(p.conversationId); } catch { /* the dialog still works */ }
  }
  startHandoff(p.messageId, p.conversationId);
}

// --- header: 登录 / 我的咨询 with the unread counter -------------------------------------------------

let unread = 0;

function setUnread(n) {
  unread = Math.max(0, Number(n) || 0);
  const b = $("unread-badge");
  b.textContent = unread > 99 ? "99+" : String(unread);
  b.hidden = unread === 0;
  $("account-link").title = unread ? `${unread} 条新答复` : "我的咨询";
}

function bumpAccountLink() {
  const link = $("account-link");
  link.classList.remove("pulse");
  void link.offsetWidth;
  link.classList.add("pulse");
}

async function initAccount() {
  // Anonymous visitors: no API call at all (the 登录 link stays).
  if (!hasSessionCookie()) return;
  let me;
  try {
    me = await api("GET", "/api/auth/me", undefined, { noRedirect: true });
  } catch {
    return; // the session ended: keep 登录
  }
  $("account-label").textContent = "我的咨询";
  $("account-link").href = "/consultations.html";
  $("drawer-consultations").hidden = false;
  const roles = (me.roles || []).map((r) => r.role);
  if (roles.some((r) => r === "staff" || r === "org_admin" || r === "sys_admin")) $("drawer-staff").hidden = false;
  if (isAdmin(me)) $("drawer-admin").hidden = false;
  await resumePendingHandoff();
  liveEvents({
    hello: (d) => setUnread(d.unread),
    notification: (n) => {
      setUnread(unread + 1);
      toast(n.title ? n.title + (n.body ? "：" + n.body : "") : "您的咨询有新的答复", "ok");
    },
  });
}

initAccount();
