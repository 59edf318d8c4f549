// 评价反馈 (系统管理员 only): the answers members rated (GET /api/admin/feedback?rating=&limit=),
// newest first, 👎 没帮助 by default (`?rating=up|all` in the address picks another filter). Each
// item shows the member's question, comment, the answer (collapsed) and time, the cited sources
// with 打开切片 (`/admin/kb.html#doc=ID&chunk=ID`, the form 命中测试 links with), and 生成问答对:
// 常用问答 with its new-pair editor prefilled (`/admin/qa.html?new=1&question=…&answer=…&refs=…`;
// qa.js reads and drops these parameters). Other administrators get the server's 403 message in
// place of the page. Data is rendered with textContent only.
import { $, el, api, ApiError, errorText, initAdmin, query, localTime } from "/admin/admin.js";

const RATING = { down: "👎 没帮助", up: "👍 有帮助" };
const RATING_CLASS = { down: "st-pending", up: "st-answered" };
const MODE = { faq: "常用问答", rag: "智能生成", extractive: "原文摘录" };
const RATINGS = ["down", "up", "all"];

let ticket = 0;
let refused = false;

/** A 403 (not a 系统管理员): the server's message instead of the page's content. */
function denied(e) {
  refused = true;
  $("fb-denied-text").textContent = errorText(e);
  $("fb-denied").hidden = false;
  $("fb-main").hidden = true;
}

function showError(text) {
  $("fb-error").textContent = text || "";
  $("fb-error").hidden = !text;
}

/** The cited sources of an answer (the API gives the JSON array stored with the message). */
const sourcesOf = (item) => (Array.isArray(item.sources) ? item.sources.filter((s) => s && s.chunk_id != null && s.doc_id != null) : []);

/** 打开切片: 知识库维护 on the document, the chunk scrolled to and marked. */
const chunkHref = (s) => `/admin/kb.html#doc=${encodeURIComponent(s.doc_id)}&chunk=${encodeURIComponent(s.chunk_id)}`;

/** 依据 lines for the pair editor (`中国共产党章程 第七条`), one per cited document and article. */
function refLines(sources) {
  const out = [];
  for (const s of sources) {
    const line = [s.doc_title, s.article].filter((x) => x).join(" ").trim();
    if (line && !out.includes(line)) out.push(line);
  }
  return out;
}

/** 生成问答对: the new-pair editor of 常用问答 prefilled with the question, answer and 依据. */
function qaHref(item) {
  const p = new URLSearchParams({ new: "1", question: item.question || "", answer: item.answer || "" });
  const refs = refLines(sourcesOf(item));
  if (refs.length) p.set("refs", refs.join("\n"));
  return "/admin/qa.html?" + p.toString();
}

async function load() {
  if (refused) return;
  const t = ++ticket;
  const rating = $("fb-rating").value;
  const list = $("fb-list");
  list.setAttribute("aria-busy", "true");
  $("fb-reload").disabled = true;
  const url = new URL(location.href);
  if (rating === "down") url.searchParams.delete("rating");
  else url.searchParams.set("rating", rating);
  history.replaceState(null, "", url.pathname + url.search + url.hash);
  let j;
  try {
    j = await api("GET", "/api/admin/feedback" + query({ rating, limit: $("fb-limit").value }));
  } catch (e) {
    if (t !== ticket) return;
    $("fb-reload").disabled = false;
    list.removeAttribute("aria-busy");
    if (e instanceof ApiError && e.status === 403) denied(e);
    else showError(errorText(e));
    return;
  }
  if (t !== ticket) return;
  $("fb-reload").disabled = false;
  showError("");
  const items = j.items || [];
  list.replaceChildren(...items.map(itemCard));
  $("fb-empty").textContent = rating === "down" ? "暂无评价为“没帮助”的回答。" : rating === "up" ? "暂无评价为“有帮助”的回答。" : "暂无评价。";
  $("fb-empty").hidden = items.length > 0;
  $("fb-count").textContent = items.length ? `共 ${items.length} 条` : "";
  list.dataset.rating = rating;
  list.removeAttribute("aria-busy");
}

function itemCard(item) {
  const card = el("article", "card fb-item");
  card.dataset.messageId = String(item.message_id);
  card.dataset.rating = item.rating || "";

  const head = el("div", "fb-head");
  head.append(el("span", "status fb-rating " + (RATING_CLASS[item.rating] || ""), RATING[item.rating] || item.rating || ""));
  if (item.mode) head.append(el("span", "tag grey fb-mode", MODE[item.mode] || item.mode));
  if (typeof item.confidence === "number" && Number.isFinite(item.confidence)) head.append(el("span", "meta fb-confidence", `置信度 ${item.confidence.toFixed(2)}`));
  head.append(el("span", "spacer"));
  const time = el("time", "meta fb-time", localTime(item.created_at));
  time.dateTime = item.created_at || "";
  head.append(time);
  card.append(head);

  card.append(el("h3", "fb-question", item.question || "（未找到对应的提问）"));
  if (item.comment) {
    const c = el("p", "fb-comment");
    c.append(el("span", "fb-comment-label", "意见："), el("span", "fb-comment-text", item.comment));
    card.append(c);
  } else {
    card.append(el("p", "meta fb-no-comment", "（未填写意见）"));
  }

  const answer = el("details", "fb-answer");
  answer.append(el("summary", "", "查看回答"), el("div", "pre fb-answer-text", item.answer || ""));
  card.append(answer);

  const sources = sourcesOf(item);
  if (sources.length) {
    const box = el("div", "fb-sources");
    box.append(el("div", "meta", `引用的知识切片（${sources.length}）：`));
    const ul = el("ul", "fb-source-list");
    for (const s of sources) ul.append(sourceItem(s));
    box.append(ul);
    card.append(box);
  } else {
    card.append(el("p", "meta fb-no-sources", "这条回答没有引用知识切片。"));
  }

  const actions = el("div", "fb-actions");
  const make = el("a", "btn small primary fb-make-qa", "生成问答对");
  make.href = qaHref(item);
  make.title = "在常用问答中新增一条问答，提问和回答已填好，修改后保存";
  actions.append(make);
  card.append(actions);
  return card;
}

function sourceItem(s) {
  const li = el("li", "fb-source");
  li.dataset.chunkId = String(s.chunk_id);
  li.dataset.docId = String(s.doc_id);
  const label = el("span", "fb-source-label");
  if (s.index != null) label.append(el("span", "tag grey", "[" + s.index + "]"), " ");
  label.append(el("strong", "fb-source-doc", s.doc_title ? "《" + s.doc_title + "》" : "（无标题）"), " ", el("span", "fb-source-article", s.article || "（无条号）"));
  const open = el("a", "btn small fb-open", "打开切片");
  open.href = chunkHref(s);
  li.append(label, open);
  if (s.text) {
    const d = el("details", "fb-source-text");
    d.append(el("summary", "", "引用内容"), el("div", "pre", s.text));
    li.append(d);
  }
  return li;
}

// --- start ---------------------------------------------------------------------------------------

const wanted = new URLSearchParams(location.search).get("rating");
if (RATINGS.includes(wanted)) $("fb-rating").value = wanted;
$("fb-rating").addEventListener("change", load);
$("fb-limit").addEventListener("change", load);
$("fb-reload").addEventListener("click", load);

// 答复人员 review the feedback of their subtree too (the server scopes the list).
const me = await initAdmin({ roles: ["sys_admin", "org_admin", "staff"] });
if (me) await load();
