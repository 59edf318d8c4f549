// Regulation library: document list, article view, keyword search with highlights.
// Snippets come from the server as escaped text with <em> marks only; everything else is textContent.
"use strict";
const $ = (id) => document.getElementById(id);
const STATUS = { current: "现行有效", repealed: "已废止" };

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// Builds highlighted text from the server's snippet without trusting it as HTML.
function highlighted(snippet) {
  const frag = document.createDocumentFragment();
  const doc = new DOMParser().parseFromString("<div>" + snippet + "</div>", "text/html");
  for (const n of doc.body.firstChild.childNodes) {
    if (n.nodeType === 3) frag.append(document.createTextNode(n.textContent));
    else if (n.nodeName === "EM") frag.append(el("em", "", n.textContent));
    else frag.append(document.createTextNode(n.textContent));
  }
  return frag;
}

async function listDocs() {
  const r = await fetch("/api/documents");
  const j = await r.json();
  const ul = $("doc-list");
  ul.replaceChildren();
  // Documents in force first, the 党章 ahead of the other rules; replaced editions last.
  const rank = (d) => (d.status === "current" ? 0 : 2) + (d.doc_type === "constitution" ? 0 : 1);
  const docs = [...j.documents].sort((a, b) => rank(a) - rank(b) || a.id - b.id);
  for (const d of docs) {
    const li = el("li");
    const a = el("a", "", d.title);
    a.href = "#doc=" + d.id;
    li.append(a, el("span", "meta", "　" + [d.version, STATUS[d.status] || d.status].filter(Boolean).join(" · ")));
    ul.append(li);
  }
}

async function showDoc(id, article) {
  const r = await fetch("/api/documents/" + id);
  if (!r.ok) { $("doc").hidden = true; return; }
  const j = await r.json();
  $("doc").hidden = false;
  $("doc-title").textContent = j.document.title;
  $("doc-meta").textContent = [j.document.version, STATUS[j.document.status] || j.document.status, j.document.issuer].filter(Boolean).join(" · ");
  const box = $("articles");
  box.replaceChildren();
  let target = null;
  for (const a of j.articles) {
    const div = el("div", "article");
    if (a.heading_path.length) div.append(el("div", "heading", a.heading_path.join(" / ")));
    if (a.article) div.append(el("h4", "", a.article));
    div.append(document.createTextNode(a.text));
    div.dataset.article = a.article || "";
    if (article && a.article === article && !target) { div.classList.add("target"); target = div; }
    box.append(div);
  }
  (target || $("doc")).scrollIntoView({ block: "start" });
}

async function search(q) {
  const ul = $("hits");
  ul.replaceChildren();
  if (!q) return;
  const r = await fetch("/api/search/text?q=" + encodeURIComponent(q));
  const j = await r.json();
  if (!r.ok) { ul.append(el("li", "", j.message)); return; }
  if (!j.hits.length) { ul.append(el("li", "", "没有找到相关原文")); return; }
  for (const h of j.hits) {
    const li = el("li");
    const a = el("a", "", "《" + h.doc_title + "》" + (h.doc_edition ? "（" + h.doc_edition + "）" : "") + (h.article || ""));
    a.href = "#doc=" + h.doc_id + (h.article ? "&article=" + encodeURIComponent(h.article) : "");
    const p = el("div", "meta");
    p.append(highlighted(h.snippet));
    li.append(a, p);
    ul.append(li);
  }
}

function route() {
  const p = new URLSearchParams(location.hash.slice(1));
  if (p.get("doc")) showDoc(p.get("doc"), p.get("article"));
}

$("search").addEventListener("submit", (e) => { e.preventDefault(); search($("q").value.trim()); });
window.addEventListener("hashchange", route);
listDocs();
route();
