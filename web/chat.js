// Member chat page: streams answers from POST /api/chat (SSE over fetch), renders text safely
// (textContent only, never innerHTML with model output), citations as chips.
"use strict";
const $ = (id) => document.getElementById(id);
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

// Renders answer text with [n] turned into citation buttons; everything else as text nodes.
function renderAnswer(bubble, text, sources) {
  bubble.replaceChildren();
  const parts = text.split(/(\[\d+\])/);
  for (const p of parts) {
    const m = /^\[(\d+)\]$/.exec(p);
    const src = m && sources.find((s) => s.index === Number(m[1]));
    if (src) {
      const b = el("button", "cite", m[1]);
      b.title = label(src);
      b.onclick = () => showSource(src);
      bubble.append(b);
    } else {
      bubble.append(document.createTextNode(p));
    }
  }
}

function label(s) { return "《" + s.doc_title + "》" + (s.article || ""); }

async function showSource(s) {
  $("article-title").textContent = label(s);
  $("article-text").textContent = s.text;
  $("article-link").href = s.url;
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
  const bubble = el("div", "bubble");
  m.append(bubble);
  $("messages").append(m);
  return { m, bubble, text: "", sources: [], messageId: null, mode: null };
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
  if (done && done.notice) a.m.append(el("div", "notice", done.notice));
  if (done && done.handoff_suggested) a.m.append(el("div", "handoff", "如需进一步解答，可申请人工答复。"));
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
        a.messageId = data.message_id; a.mode = data.mode;
        if (!conversationId) { conversationId = data.conversation_id; saveHistory(conversationId, question); }
      } else if (event === "sources") {
        // Generated answers send their sources after the text (numbered as cited): re-render
        // so the [n] markers already shown become citation buttons.
        a.sources = data;
        if (a.text) renderAnswer(a.bubble, a.text, a.sources);
      } else if (event === "delta") {
        a.text += data.text;
        renderAnswer(a.bubble, a.text, a.sources);
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
  const r = await fetch(`/api/conversations/${id}`);
  if (!r.ok) return;
  const j = await r.json();
  conversationId = id;
  $("messages").replaceChildren();
  for (const m of j.messages) {
    if (m.role === "user") addUser(m.content);
    else {
      const a = addAssistant();
      a.text = m.content; a.sources = m.sources || []; a.messageId = m.id; a.mode = m.mode;
      renderAnswer(a.bubble, a.text, a.sources);
      finishAssistant(a, { handoff_suggested: m.handoff_suggested, notice: m.notice });
    }
  }
  $("history").hidden = true;
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
