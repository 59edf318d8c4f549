// 命中测试 (系统管理员 only): for a question, the curated Q&A pair the FAQ matcher would pick
// (score against the threshold: answered directly or not) and the knowledge chunks retrieval
// finds, with their BM25 and vector ranks, fused score and coverage, each linking to its chunk on
// 知识库维护 (`/admin/kb.html#doc=ID&chunk=ID`). The question is kept in `?q=` so a test can be
// linked to. Snippets arrive as escaped text with <em> marks: they are rebuilt as nodes (text
// pieces by textContent), never parsed as HTML. Everything else is textContent too.
import { $, el, api, ApiError, errorText, initAdmin, query } from "/admin/admin.js";

const DOC_STATUS = { current: "现行有效", repealed: "已废止", withdrawn: "已撤回" };
const DOC_STATUS_CLASS = { repealed: "st-closed", withdrawn: "st-pending" };
const ENTITIES = { lt: "<", gt: ">", amp: "&", quot: '"', "#39": "'", "#x27": "'" };

let ticket = 0;

const decode = (s) => s.replace(/&(lt|gt|amp|quot|#39|#x27);/g, (_, k) => ENTITIES[k]);

/** The server's snippet (escaped text, `<em>` around matched words) as DOM nodes. */
function highlighted(snippet) {
  const out = [];
  let inEm = false;
  for (const piece of String(snippet || "").split(/(<em>|<\/em>)/)) {
    if (piece === "<em>") inEm = true;
    else if (piece === "</em>") inEm = false;
    else if (piece) out.push(inEm ? el("em", "", decode(piece)) : document.createTextNode(decode(piece)));
  }
  return out;
}

const fixed = (x, n) => (typeof x === "number" && Number.isFinite(x) ? x.toFixed(n) : "—");

function denied(e) {
  $("ht-denied-text").textContent = errorText(e);
  $("ht-denied").hidden = false;
  $("ht-main").hidden = true;
}

function showError(text) {
  $("ht-error").textContent = text || "";
  $("ht-error").hidden = !text;
}

async function run() {
  const q = $("ht-q").value.trim();
  if (!q) {
    showError("请输入要测试的问题。");
    $("ht-q").focus();
    return;
  }
  showError("");
  const t = ++ticket;
  const result = $("ht-result");
  result.setAttribute("aria-busy", "true");
  $("ht-go").disabled = true;
  const url = new URL(location.href);
  url.searchParams.set("q", q);
  history.replaceState(null, "", url.pathname + url.search);
  let j;
  try {
    j = await api("GET", "/api/admin/kb/hit-test" + query({ q, top_k: $("ht-k").value }));
  } catch (e) {
    if (t !== ticket) return;
    $("ht-go").disabled = false;
    result.removeAttribute("aria-busy");
    if (e instanceof ApiError && e.status === 403) denied(e);
    else showError(errorText(e));
    return;
  }
  if (t !== ticket) return;
  $("ht-go").disabled = false;
  renderFaq(j.faq);
  const hits = j.hits || [];
  $("ht-hit-rows").replaceChildren(...hits.map(hitRow));
  $("ht-empty").hidden = hits.length > 0;
  $("ht-hits").hidden = hits.length === 0;
  const meta = [`共 ${hits.length} 条`];
  if (typeof j.min_confidence === "number") meta.push(`智能问答作答所需的最低置信度：${fixed(j.min_confidence, 2)}`);
  $("ht-hits-meta").textContent = meta.join(" · ");
  result.dataset.question = j.question || q;
  result.hidden = false;
  result.removeAttribute("aria-busy");
}

function renderFaq(faq) {
  const box = $("ht-faq");
  const title = el("h2", "", "常用问答匹配");
  if (!faq || !faq.pair) {
    box.dataset.state = "none";
    box.replaceChildren(title, el("p", "meta ht-faq-none", "没有匹配到常用问答，将按下方检索结果作答。"));
    return;
  }
  box.dataset.state = faq.accepted ? "accepted" : "below";
  const p = faq.pair;
  const head = el("div", "ht-faq-head");
  head.append(
    el("strong", "ht-faq-question", p.question || ""),
    el("span", "status ht-faq-verdict " + (faq.accepted ? "st-answered" : "st-pending"), faq.accepted ? "会直接用此问答回答" : "未达阈值"),
  );
  if (p.category) head.append(el("span", "tag grey", p.category));
  const score = el("div", "ht-faq-score", `匹配度 ${fixed(faq.score, 3)} / 阈值 ${fixed(faq.threshold, 3)}`);
  const ev = faq.evidence || {};
  const evidence = el("div", "meta ht-faq-evidence", `依据：向量相似 ${fixed(ev.dense, 3)} · 词面重合 ${fixed(ev.lexical, 3)} · 答案相关 ${fixed(ev.answer, 3)} · 引用条文检索排名 ${fixed(ev.cited, 1)}`);
  const kinds = el("div", "meta ht-faq-kinds");
  kinds.dataset.conflict = ev.type_conflict > 0 ? "true" : "false";
  kinds.textContent = ev.type_conflict > 0
    ? `问法不一致（扣分）：提问问的是“${ev.question_kind}”，此问答问的是“${ev.pair_kind}”`
    : (ev.question_kind && ev.question_kind !== "一般问题" ? `问法一致：都问“${ev.question_kind}”` : "问法一致");
  const answer = el("details", "ht-faq-answer");
  answer.append(el("summary", "", "查看答案"), el("div", "pre", p.answer || ""));
  const parts = [title, head, score, evidence, kinds, answer];
  if (!faq.accepted) parts.push(el("p", "hint", "未达阈值时不直接使用此问答，而是按下方检索结果作答。"));
  box.replaceChildren(...parts);
}

function hitRow(h, i) {
  const tr = el("tr");
  tr.dataset.chunkId = String(h.chunk_id);
  tr.dataset.docId = String(h.doc_id);
  const td = (cls, label, text) => {
    const c = el("td", cls, text);
    if (label) c.dataset.label = label;
    tr.append(c);
    return c;
  };
  td("c-rank", "名次", String(i + 1));
  const doc = td("c-name c-wrap ht-doc");
  doc.append(el("strong", "ht-doc-title", h.doc_title || ""));
  if (h.doc_status && h.doc_status !== "current") doc.append(" ", el("span", "status " + (DOC_STATUS_CLASS[h.doc_status] || ""), DOC_STATUS[h.doc_status] || h.doc_status));
  doc.append(el("div", "ht-article", h.article || "（无条号）"));
  if ((h.heading_path || []).length) doc.append(el("div", "meta ht-headings", h.heading_path.join(" / ")));
  const snip = td("c-wrap ht-snippet-cell", "片段");
  const s = el("div", "ht-snippet");
  s.append(...highlighted(h.snippet));
  const full = el("details", "ht-full");
  full.append(el("summary", "", "全文"), el("div", "pre ht-fulltext", h.text || ""));
  snip.append(s, full);
  td("c-bm25", "BM25 名次", h.bm25_rank != null ? `${h.bm25_rank}（${fixed(h.bm25_score, 2)}）` : "未命中");
  td("c-dense", "向量名次", h.dense_rank != null ? `${h.dense_rank}（${fixed(h.dense_score, 3)}）` : "未命中");
  td("c-score", "融合得分", fixed(h.score, 4));
  td("c-coverage", "覆盖度", typeof h.coverage === "number" ? `${Math.round(h.coverage * 100)}%` : "—");
  const ops = td("c-ops");
  const a = el("a", "btn small ht-open", "打开切片");
  a.href = `/admin/kb.html#doc=${encodeURIComponent(h.doc_id)}&chunk=${encodeURIComponent(h.chunk_id)}`;
  ops.append(a);
  return tr;
}

// --- start ---------------------------------------------------------------------------------------

$("ht-form").addEventListener("submit", (e) => {
  e.preventDefault();
  run();
});

const me = await initAdmin();
if (me) {
  const q = new URLSearchParams(location.search).get("q");
  if (q) {
    $("ht-q").value = q;
    run();
  }
}
