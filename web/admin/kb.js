// 知识库维护 and 知识切片调优 (系统管理员 only): the documents of the knowledge base with their
// status (changed here, after a confirmation; 已废止 optionally names the 新版本 that replaced the
// document — a current document, sent as `superseded_by` — and the list says 已被《X》取代),
// origin and chunk count; 上传文档 (the chosen file's
// raw bytes POSTed to /api/admin/kb/documents/upload?filename=…; the server's message on a
// refusal, e.g. an unsupported type) and 删除 per document (DELETE, after a confirmation); a document's chunks
// (`#doc=ID`, optionally `&chunk=ID` to scroll to and mark one) with edit (guarded by the version
// being edited: a 409 shows the server's message and offers 刷新), split at the cursor, merge
// with the next chunk, disable/enable, and the version history with rollback, each version
// with its changes against the one before it (/admin/diff.js: text, 条号, 标题层级 and 检索问题
// diffed by character, 启用/停用 as 旧值 → 新值), and 重新切分 of the whole document (another
// free-text size or plain text: 预览 shows the server's drafts and what is lost, 应用 sends the
// preview's basis after a confirmation; a 409 when a chunk changed since shows the server's
// message; changing the settings voids the preview). Every change reloads the chunk list. Other
// administrators get the server's 403 message in place of the page. Data is rendered with
// textContent only.
import { $, el, api, ApiError, toast, errorText, initAdmin, confirmDialog, option, button, localTime, query, getInto } from "/admin/admin.js";
import { versionDiffBox } from "/admin/diff.js";

const DOC_TYPE = { constitution: "党章", regulation: "党内法规", law: "法律法规", notice: "通知文件", news: "新闻资讯", other: "其他" };
const DOC_STATUS = { current: "现行有效", repealed: "已废止", withdrawn: "已撤回" };
const DOC_STATUS_ORDER = ["current", "repealed", "withdrawn"];
const DOC_STATUS_CLASS = { current: "st-answered", repealed: "st-closed", withdrawn: "st-pending" };
const ORIGIN = { shipped: "随产品", crawler: "抓取", upload: "上传" };
const ACTION = {
  original: "原始内容",
  edit: "编辑",
  split: "拆分",
  merge: "合并",
  disable: "停用",
  enable: "启用",
  rollback: "回滚",
  merged_into_previous: "并入上一切片",
  rechunk: "重新切分",
  rechunk_removed: "重新切分时移除",
};
/** What a status change means for answering (shown in the confirmation). */
const STATUS_EFFECT = {
  current: "现行有效的文档参与检索和智能问答。",
  repealed: "已废止的文档仍可检索，但排序靠后；引用它的答复会注明该规定已废止。",
  withdrawn: "已撤回的文档不再参与检索和智能问答。",
};

const docPath = (id) => "/api/admin/kb/documents/" + encodeURIComponent(id);
const chunkPath = (id) => "/api/admin/kb/chunks/" + encodeURIComponent(id);
/** Length in Unicode scalar values (what the server counts), not UTF-16 units. */
const charCount = (s) => Array.from(s || "").length;
/** A textarea turns CR LF and CR into LF. */
const asTyped = (s) => String(s || "").replace(/\r\n?/g, "\n");

/**
 * The server's split offset (in scalar values of the stored text) for a cursor at UTF-16 index
 * `index` of the textarea's value, which differs from the stored text only by line breaks.
 */
function splitOffset(stored, value, index) {
  if (stored === value) return charCount(stored.slice(0, index));
  let i = 0;
  for (let j = 0; j < index && i < stored.length; j++) i += stored[i] === "\r" && stored[i + 1] === "\n" ? 2 : 1;
  return charCount(stored.slice(0, i));
}

let docs = [];
let docsTicket = 0;
/** The document whose chunks are shown: { doc, chunks }, or null. */
let current = null;
let chunksTicket = 0;
let refused = false;

/** A labelled form field (`<label class="field"><span>label</span>control</label>`). */
function field(label, control) {
  const f = el("label", "field");
  f.append(el("span", "", label), control);
  return f;
}

/** A 403 (not a 系统管理员): the server's message instead of the page's content. */
function denied(e) {
  refused = true;
  $("kb-denied-text").textContent = errorText(e);
  $("kb-denied").hidden = false;
  $("kb-list").hidden = true;
  $("kb-doc").hidden = true;
}

// --- routing: #doc=ID[&chunk=ID] shows a document's chunks, anything else the list ---------------

function route() {
  if (refused) return;
  const p = new URLSearchParams(location.hash.slice(1));
  const doc = p.get("doc");
  if (doc && /^\d+$/.test(doc)) {
    const chunk = p.get("chunk");
    showDoc(doc, chunk && /^\d+$/.test(chunk) ? chunk : null);
  } else {
    showList();
  }
}

function showList() {
  chunksTicket++;
  current = null;
  $("kb-doc").hidden = true;
  $("kb-list").hidden = false;
  document.title = "党务通 · 知识库维护";
  loadDocs();
}

function showDoc(id, chunk) {
  $("kb-list").hidden = true;
  $("kb-doc").hidden = false;
  const known = docs.find((d) => String(d.id) === String(id));
  if (!current || String(current.doc.id) !== String(id)) {
    $("kb-doc-title").textContent = known ? known.title : "";
    $("kb-doc-meta").replaceChildren();
    $("kb-chunks").replaceChildren();
    $("kb-chunk-filter").value = "";
    resetRechunk({ inputs: true });
  }
  loadChunks(id, { focus: chunk });
}

// --- documents -----------------------------------------------------------------------------------

/** Loads and renders the documents; `flash`: a document id to mark and scroll to. */
async function loadDocs({ flash = null } = {}) {
  const t = ++docsTicket;
  const list = $("kb-list");
  list.setAttribute("aria-busy", "true");
  let j;
  try {
    j = await api("GET", "/api/admin/kb/documents");
  } catch (e) {
    if (t !== docsTicket) return;
    list.removeAttribute("aria-busy");
    if (e instanceof ApiError && e.status === 403) denied(e);
    else toast(errorText(e));
    return;
  }
  if (t !== docsTicket) return;
  docs = j.items || [];
  $("kb-doc-rows").replaceChildren(...docs.map(docRow));
  $("kb-empty").hidden = docs.length > 0;
  filterDocs();
  if (flash != null) {
    const tr = $("kb-doc-rows").querySelector(`tr[data-doc-id="${CSS.escape(String(flash))}"]`);
    if (tr) {
      tr.classList.add("flash");
      tr.hidden = false;
      tr.scrollIntoView({ block: "nearest" });
    }
  }
  list.removeAttribute("aria-busy");
}

function docRow(d) {
  const tr = el("tr");
  tr.dataset.docId = String(d.id);
  tr.dataset.status = d.status || "";
  tr.dataset.origin = d.origin || "";
  const td = (cls, label, content) => {
    const c = el("td", cls);
    if (label) c.dataset.label = label;
    if (content instanceof Node) c.append(content);
    else if (content !== undefined) c.textContent = content;
    tr.append(c);
    return c;
  };
  const name = td("c-name c-wrap kb-title");
  const a = el("a", "kb-doc-open", d.title || "（无标题）");
  a.href = "#doc=" + encodeURIComponent(d.id);
  name.append(a);
  const sub = [d.version, d.issuer].filter((x) => x).join(" · ");
  if (sub) name.append(el("div", "meta", sub));
  if (d.superseded_by != null) name.append(supersededLine(d.superseded_by));
  td("c-type", "类型", DOC_TYPE[d.doc_type] || d.doc_type || "");
  const status = td("c-status kb-status-cell", "状态", statusSelect(d));
  if (d.status === "repealed") {
    const edit = button(d.superseded_by != null ? "更改新版本" : "指定新版本", "btn small kb-successor-edit", () => openSuccessorForm(d, status));
    edit.setAttribute("aria-label", edit.textContent + "：" + (d.title || ""));
    status.append(edit);
  }
  td("c-origin", "来源", ORIGIN[d.origin] || d.origin || "");
  td("c-category", "类别", d.category || "—");
  td("c-chunks", "切片数", String(d.chunk_count ?? 0));
  const upd = td("c-updated", "更新时间");
  const time = el("time", "", localTime(d.updated_at));
  time.dateTime = d.updated_at || "";
  upd.append(time);
  const ops = td("c-ops kb-ops", "操作");
  const del = button("删除", "btn small danger kb-delete", () => deleteDoc(d, del));
  del.setAttribute("aria-label", "删除：" + (d.title || ""));
  ops.append(del);
  return tr;
}

async function deleteDoc(d, b) {
  const n = d.chunk_count ?? 0;
  const ok = await confirmDialog(`删除《${d.title || "（无标题）"}》？文档删除后不可恢复，它的 ${n} 个切片将一并删除，不再参与检索和智能问答。`, "删除");
  if (!ok) return;
  b.disabled = true;
  try {
    await api("DELETE", docPath(d.id));
  } catch (e) {
    b.disabled = false;
    if (e instanceof ApiError && e.status === 403) { denied(e); return; }
    toast(errorText(e));
    // Gone already (someone else deleted it): show the list as it is now.
    if (e instanceof ApiError && e.status === 404) await loadDocs();
    return;
  }
  toast(`已删除《${d.title || "（无标题）"}》`, "ok");
  await loadDocs();
}

// --- upload --------------------------------------------------------------------------------------

/** The result line under 上传文档; kind "error", "ok" or "info"; `extra`: nodes after the text. */
function uploadSay(kind, text, extra = []) {
  const box = $("kb-upload-report");
  const p = el("p", "kb-upload-msg " + (kind === "info" ? "notice-box" : kind));
  p.setAttribute("role", kind === "error" ? "alert" : "status");
  p.append(el("span", "kb-upload-text", text), ...extra);
  box.replaceChildren(p);
  box.dataset.kind = kind;
  box.hidden = false;
}

async function upload() {
  const input = $("kb-upload-file");
  const file = input.files && input.files[0];
  if (!file) {
    uploadSay("error", "请先选择要上传的文件。");
    input.focus();
    return;
  }
  const go = $("kb-upload");
  go.disabled = true;
  uploadSay("info", `正在上传 ${file.name} ……`);
  let j;
  try {
    j = await api("POST", "/api/admin/kb/documents/upload" + query({ filename: file.name }), file, { contentType: "application/octet-stream" });
  } catch (e) {
    go.disabled = false;
    if (e instanceof ApiError && e.status === 403) { denied(e); return; }
    uploadSay("error", `上传失败（${file.name}）：${errorText(e)}`);
    return;
  }
  go.disabled = false;
  input.value = "";
  const d = (j && j.document) || {};
  const o = (j && j.outcome) || {};
  const title = `《${d.title || file.name}》`;
  let text;
  if (o.outcome === "added") text = `已上传${title}：新增文档，共 ${o.chunks} 个切片。`;
  else if (o.outcome === "updated") text = `已上传${title}：替换了同名文件的原文档，现有 ${o.chunks} 个切片。`;
  else if (o.outcome === "unchanged") text = `${title}与已上传的同名文件内容相同，未作修改。`;
  else text = `已上传${title}。`;
  const extra = [];
  if (d.id != null) {
    const a = el("a", "kb-upload-open", "查看切片");
    a.href = "#doc=" + encodeURIComponent(d.id);
    extra.push(" ", a);
  }
  uploadSay("ok", text, extra);
  $("kb-upload-report").dataset.docId = d.id != null ? String(d.id) : "";
  await loadDocs({ flash: d.id ?? null });
}

/** The title of document `id` as listed, or null. */
function docTitle(id) {
  const d = docs.find((x) => String(x.id) === String(id));
  return d ? d.title || "（无标题）" : null;
}

/** “已被《X》取代” (X linking to the successor's chunks), a `tag` element. */
function supersededLine(id, tag = "div") {
  const line = el(tag, "meta kb-superseded");
  line.dataset.successorId = String(id);
  const title = docTitle(id);
  if (title === null) {
    line.textContent = `已被编号 ${id} 的文档取代`;
    return line;
  }
  const a = el("a", "kb-successor-link", title);
  a.href = "#doc=" + encodeURIComponent(id);
  line.append("已被《", a, "》取代");
  return line;
}

function statusSelect(d) {
  const s = el("select", "kb-status status-select st-" + (d.status || ""));
  s.setAttribute("aria-label", "状态：" + (d.title || ""));
  for (const k of DOC_STATUS_ORDER) s.append(option(k, DOC_STATUS[k], k === d.status));
  if (!DOC_STATUS[d.status]) s.append(option(d.status, d.status, true));
  s.addEventListener("change", () => changeStatus(d, s));
  return s;
}

async function changeStatus(d, select) {
  const cell = select.closest("td");
  const to = select.value;
  if (to === "repealed" && d.status !== "repealed") {
    // 已废止: first the optional 新版本, then the confirmation.
    openSuccessorForm(d, cell);
    return;
  }
  closeSuccessorForm(cell);
  if (to === d.status) return;
  const ok = await confirmDialog(`把《${d.title}》的状态从“${DOC_STATUS[d.status] || d.status}”改为“${DOC_STATUS[to]}”？${STATUS_EFFECT[to] || ""}`, "确定修改");
  if (!ok) {
    select.value = d.status;
    return;
  }
  await sendStatus(d, cell, { status: to });
}

/**
 * The 新版本 picker under a document's status (for 已废止): the other current documents (and
 * the successor already named), or none. 确定 asks for the confirmation and sends the status.
 */
function openSuccessorForm(d, cell) {
  closeSuccessorForm(cell);
  const select = cell.querySelector("select.kb-status");
  const form = el("div", "kb-successor-form");
  const pick = el("select", "kb-successor");
  pick.setAttribute("aria-label", "新版本（现行文档）：" + (d.title || ""));
  pick.append(option("", "（不指定）", d.superseded_by == null));
  const choices = docs.filter((x) => x.id !== d.id && (x.status === "current" || x.id === d.superseded_by));
  for (const x of choices) {
    const label = [x.title || "（无标题）", x.version].filter((v) => v).join(" · ") + (x.status === "current" ? "" : `（${DOC_STATUS[x.status] || x.status}）`);
    pick.append(option(String(x.id), label, x.id === d.superseded_by));
  }
  const f = field("新版本（现行文档）", pick);
  f.classList.add("kb-successor-field");
  form.append(f);
  if (!choices.length) form.append(el("p", "meta kb-successor-none", "没有其他现行有效的文档可选。"));
  const msg = el("p", "error kb-successor-msg");
  msg.setAttribute("role", "alert");
  msg.hidden = true;
  const actions = el("div", "form-actions");
  actions.append(
    button("取消", "btn small kb-successor-cancel", () => {
      closeSuccessorForm(cell);
      if (select) select.value = d.status;
    }),
    button("确定", "btn small primary kb-successor-ok", () => confirmSuccessor(d, cell, pick)),
  );
  form.append(msg, actions);
  cell.append(form);
  for (const b of cell.querySelectorAll(".kb-successor-edit")) b.hidden = true;
  pick.focus({ preventScroll: true });
}

function closeSuccessorForm(cell) {
  cell.querySelector(".kb-successor-form")?.remove();
  for (const b of cell.querySelectorAll(".kb-successor-edit")) b.hidden = false;
}

async function confirmSuccessor(d, cell, pick) {
  const next = pick.value ? Number(pick.value) : null;
  const nextTitle = next != null ? docTitle(next) || `编号 ${next} 的文档` : null;
  let q;
  if (d.status !== "repealed") {
    q = `把《${d.title}》的状态从“${DOC_STATUS[d.status] || d.status}”改为“已废止”` + (nextTitle ? `，新版本为《${nextTitle}》` : "，不指定新版本") + "？" + STATUS_EFFECT.repealed;
    if (nextTitle) q += `答复会注明现行版本为《${nextTitle}》。`;
  } else if (next === d.superseded_by || (next == null && d.superseded_by == null)) {
    closeSuccessorForm(cell);
    toast("新版本未变", "ok");
    return;
  } else {
    q = nextTitle ? `把已废止的《${d.title}》的新版本设为《${nextTitle}》？引用它的答复会注明现行版本为《${nextTitle}》。` : `取消《${d.title}》的新版本？引用它的答复只注明该规定已废止。`;
  }
  const ok = await confirmDialog(q, "确定修改");
  if (!ok) return;
  const body = { status: "repealed" };
  if (next != null) body.superseded_by = next;
  await sendStatus(d, cell, body);
}

/** POSTs a status (and successor) change; errors shown in the 新版本 form when open, else as a toast. */
async function sendStatus(d, cell, body) {
  const select = cell.querySelector("select.kb-status");
  const form = cell.querySelector(".kb-successor-form");
  const controls = [select, ...cell.querySelectorAll(".kb-successor-form select, .kb-successor-form button")].filter((x) => x);
  for (const c of controls) c.disabled = true;
  let j;
  try {
    j = await api("POST", docPath(d.id) + "/status", body);
  } catch (e) {
    for (const c of controls) c.disabled = false;
    if (e instanceof ApiError && e.status === 403) { denied(e); return; }
    const msg = form && form.isConnected ? form.querySelector(".kb-successor-msg") : null;
    if (msg) {
      msg.textContent = errorText(e);
      msg.hidden = false;
    } else {
      if (select) select.value = d.status;
      toast(errorText(e));
    }
    return;
  }
  const to = body.status;
  let text;
  if (j && j.changed === false) text = "状态未变";
  else if (to === "repealed" && body.superseded_by != null) text = `《${d.title}》已改为“已废止”，新版本为《${docTitle(body.superseded_by) || body.superseded_by}》`;
  else if (to === "repealed" && d.status === "repealed") text = `《${d.title}》已不再指定新版本`;
  else text = `《${d.title}》已改为“${DOC_STATUS[to]}”`;
  toast(text, "ok");
  await loadDocs({ flash: d.id });
}

function filterDocs() {
  const q = $("kb-filter").value.trim().toLowerCase();
  for (const tr of $("kb-doc-rows").children) {
    const d = docs.find((x) => String(x.id) === tr.dataset.docId);
    const hay = d ? [d.title, d.category, d.key, DOC_TYPE[d.doc_type], ORIGIN[d.origin]].filter((x) => x).join(" ").toLowerCase() : "";
    tr.hidden = q !== "" && !hay.includes(q);
  }
}

// --- chunks --------------------------------------------------------------------------------------

/**
 * Loads and renders a document's chunks. `focus`: a chunk id to scroll to and mark; `msg`:
 * { chunkId, kind, text } shown on that chunk's card; `mark`: chunk ids to mark briefly;
 * `after(cards)`: called once rendered. Resolves true when rendered.
 */
async function loadChunks(docId, { focus = null, msg = null, mark = [], after = null } = {}) {
  const t = ++chunksTicket;
  const panel = $("kb-doc");
  panel.setAttribute("aria-busy", "true");
  let j;
  try {
    j = await api("GET", docPath(docId) + "/chunks");
  } catch (e) {
    if (t !== chunksTicket) return false;
    panel.removeAttribute("aria-busy");
    if (e instanceof ApiError && e.status === 403) denied(e);
    else $("kb-chunks").replaceChildren(el("p", "error kb-chunks-error", errorText(e)));
    return false;
  }
  if (t !== chunksTicket) return false;
  current = { doc: j.document, chunks: j.chunks || [] };
  panel.dataset.docId = String(current.doc.id);
  renderDocHead(current.doc, current.chunks);
  $("kb-chunks").replaceChildren(...current.chunks.map((c, i) => chunkCard(c, i)));
  $("kb-chunks-empty").hidden = current.chunks.length > 0;
  filterChunks();
  if (rechunk && (rechunk.docId !== current.doc.id || rechunk.sig !== chunkSig(current.chunks))) {
    voidRechunk("文档的切片已有变化，预览已失效，请重新预览。");
  }
  if (msg) {
    const card = cardOf(msg.chunkId);
    if (card) say(card, msg.kind, msg.text);
  }
  for (const id of mark) cardOf(id)?.classList.add("flash");
  if (focus != null) {
    const card = cardOf(focus);
    if (card) {
      card.classList.add("target");
      card.hidden = false;
      card.scrollIntoView({ block: "center" });
    } else {
      toast(`切片 ${focus} 不在此文档中（可能已被合并，或文档已重新导入）`);
    }
  }
  if (after) after();
  panel.removeAttribute("aria-busy");
  return true;
}

const reload = (opts) => (current ? loadChunks(current.doc.id, opts) : Promise.resolve(false));

function cardOf(chunkId) {
  return $("kb-chunks").querySelector(`.chunk[data-chunk-id="${CSS.escape(String(chunkId))}"]`);
}

function renderDocHead(d, chunks) {
  $("kb-doc-title").textContent = d.title || "（无标题）";
  document.title = "党务通 · " + (d.title || "知识库维护");
  const off = chunks.filter((c) => !c.enabled).length;
  const parts = [
    el("span", "status " + (DOC_STATUS_CLASS[d.status] || ""), DOC_STATUS[d.status] || d.status || ""),
    " " + [
      DOC_TYPE[d.doc_type] || d.doc_type,
      d.origin ? "来源：" + (ORIGIN[d.origin] || d.origin) : null,
      d.version,
      d.issuer,
      d.effective_date ? "施行：" + d.effective_date : null,
      d.category ? "类别：" + d.category : null,
      `共 ${chunks.length} 个切片` + (off ? `（停用 ${off} 个）` : ""),
    ].filter((x) => x).join(" · "),
  ];
  if (d.superseded_by != null) {
    parts.push(" · ", supersededLine(d.superseded_by, "span"));
    // Opened directly (#doc=…): the successor's title comes with the documents list.
    if (docTitle(d.superseded_by) === null) {
      api("GET", "/api/admin/kb/documents").then((j) => {
        if (!docs.length) docs = j.items || [];
        const line = $("kb-doc-meta").querySelector(".kb-superseded");
        if (line && current && current.doc.id === d.id && docTitle(d.superseded_by) !== null) line.replaceWith(supersededLine(d.superseded_by, "span"));
      }, () => {});
    }
  }
  if (d.origin_url && /^https?:\/\//i.test(d.origin_url)) {
    const a = el("a", "kb-origin-url", "原文链接");
    a.href = d.origin_url;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    parts.push(" · ", a);
  }
  $("kb-doc-meta").replaceChildren(...parts);
}

function chunkCard(c, i) {
  const card = el("article", "card chunk" + (c.enabled ? "" : " disabled"));
  card.dataset.chunkId = String(c.id);
  card.dataset.version = String(c.version);
  card.dataset.enabled = String(!!c.enabled);
  card.dataset.article = c.article || "";

  const head = el("div", "chunk-head");
  head.append(
    el("span", "tag grey chunk-pos", "#" + (i + 1)),
    el("strong", "chunk-article", c.article || "（无条号）"),
    el("span", "status chunk-state " + (c.enabled ? "st-answered" : "st-closed"), c.enabled ? "启用" : "已停用"),
    el("span", "meta chunk-version", "版本 " + c.version),
    el("span", "meta chunk-len", charCount(c.text) + " 字"),
  );
  if (c.instruction) {
    // Text addressed to an AI assistant: never quoted nor given to the model; worth removing.
    const warn = el("span", "tag red chunk-instruction", "疑似指令：" + c.instruction);
    warn.title = "这段文字像是写给 AI 助手的指令（提示注入）。问答不会引用或执行它，建议编辑删除。";
    head.append(warn);
  }
  card.append(head);
  const headings = el("div", "meta chunk-headings", (c.heading_path || []).join(" / "));
  headings.hidden = !(c.heading_path || []).length;
  card.append(headings, el("div", "chunk-text pre", c.text));
  if ((c.questions || []).length) {
    card.append(el("div", "meta chunk-questions", "检索问题：" + c.questions.join("；")));
  }

  const last = i === current.chunks.length - 1;
  const actions = el("div", "chunk-actions");
  const merge = button("与下一片合并", "btn small chunk-merge", () => mergeNext(card, c));
  merge.disabled = last;
  if (last) merge.title = "这是文档的最后一个切片";
  actions.append(
    button("编辑", "btn small chunk-edit", () => togglePanel(card, c, "edit")),
    button("拆分", "btn small chunk-split", () => togglePanel(card, c, "split")),
    merge,
    button(c.enabled ? "停用" : "启用", "btn small chunk-toggle" + (c.enabled ? " danger" : ""), () => toggleEnabled(card, c)),
    button("历史", "btn small chunk-history", () => togglePanel(card, c, "history")),
  );
  const msg = el("div", "chunk-msg");
  msg.hidden = true;
  msg.setAttribute("role", "status");
  const panel = el("div", "chunk-panel");
  panel.hidden = true;
  card.append(actions, msg, panel);
  return card;
}

/** The message under a chunk's actions; kind "error", "ok" or "info"; `extra`: nodes after the text. */
function say(card, kind, text, extra = []) {
  const msg = card.querySelector(".chunk-msg");
  msg.className = "chunk-msg " + (kind === "info" ? "notice-box" : kind);
  msg.setAttribute("role", kind === "error" ? "alert" : "status");
  msg.replaceChildren(el("span", "chunk-msg-text", text || ""), ...extra);
  msg.hidden = !text;
}

function busy(card, on) {
  card.toggleAttribute("aria-busy", on);
  for (const b of card.querySelectorAll(".chunk-actions button, .chunk-panel button")) {
    if (on) {
      b.dataset.wasDisabled = b.disabled ? "1" : "";
      b.disabled = true;
    } else {
      b.disabled = b.dataset.wasDisabled === "1";
    }
  }
}

function filterChunks() {
  const q = $("kb-chunk-filter").value.trim();
  for (const card of $("kb-chunks").children) {
    if (!card.classList.contains("chunk")) continue;
    const text = card.querySelector(".chunk-text")?.textContent || "";
    card.hidden = q !== "" && !(card.dataset.article.includes(q) || text.includes(q));
  }
}

/** Opens the edit / split / history panel of a card, or closes it when it is the open one. */
function togglePanel(card, c, kind) {
  const panel = card.querySelector(".chunk-panel");
  if (!panel.hidden && panel.dataset.kind === kind) {
    closePanel(card);
    return;
  }
  say(card, "", "");
  panel.dataset.kind = kind;
  for (const b of card.querySelectorAll(".chunk-actions button")) b.classList.remove("on");
  card.querySelector(".chunk-" + kind)?.classList.add("on");
  if (kind === "edit") panel.replaceChildren(editForm(card, c));
  else if (kind === "split") panel.replaceChildren(splitForm(card, c));
  else panel.replaceChildren(historyView(card, c));
  panel.hidden = false;
  panel.querySelector("textarea")?.focus({ preventScroll: true });
}

function closePanel(card) {
  const panel = card.querySelector(".chunk-panel");
  panel.hidden = true;
  panel.replaceChildren();
  delete panel.dataset.kind;
  for (const b of card.querySelectorAll(".chunk-actions button")) b.classList.remove("on");
}

function rowsFor(text) {
  return Math.min(16, Math.max(4, Math.ceil(charCount(text) / 32) + 1));
}

// --- edit ----------------------------------------------------------------------------------------

const parseHeadings = (s) => s.split("/").map((x) => x.trim()).filter((x) => x);

/** The edit form; `draft`: text the admin typed before a conflict (shown to copy from). */
function editForm(card, c, draft = null) {
  const form = el("form", "form chunk-form");
  form.noValidate = true;
  const article = el("input", "chunk-article-input");
  article.value = c.article || "";
  article.maxLength = 100;
  article.placeholder = "如：第七条（留空表示无条号）";
  const headings = el("input", "chunk-headings-input");
  headings.value = (c.heading_path || []).join(" / ");
  headings.placeholder = "各级标题，以 / 分隔";
  const questions = el("textarea", "chunk-questions-input");
  questions.value = (c.questions || []).join("\n");
  questions.rows = Math.max(2, (c.questions || []).length + 1);
  questions.placeholder = "每行一条：此切片能回答的问题或关键词（参与检索）";
  const ta = el("textarea", "chunk-editor");
  ta.value = c.text;
  ta.rows = rowsFor(c.text);
  ta.spellcheck = false;
  const count = el("span", "meta chunk-count");
  const updateCount = () => { count.textContent = `${charCount(ta.value)} 字`; };
  ta.addEventListener("input", updateCount);
  updateCount();
  const grid = el("div", "grid2");
  grid.append(field("条号", article), field("标题层级", headings));
  form.append(grid, field("切片内容（编辑的是版本 " + c.version + "）", ta), count, field("检索问题 / 关键词", questions));
  if (draft !== null) {
    const box = el("details", "chunk-draft");
    box.open = true;
    box.append(el("summary", "", "您未保存的内容（可复制后粘贴到上面）"));
    const old = el("textarea", "chunk-draft-text");
    old.readOnly = true;
    old.value = draft;
    old.rows = rowsFor(draft);
    box.append(old);
    form.append(box);
  }
  const actions = el("div", "form-actions");
  const save = el("button", "btn small primary chunk-save", "保存");
  save.type = "submit";
  actions.append(button("取消", "btn small chunk-cancel", () => closePanel(card)), save);
  form.append(actions);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    saveEdit(card, c, { text: ta.value, article: article.value.trim(), headings: parseHeadings(headings.value), questions: parseLines(questions.value) });
  });
  return form;
}

const parseLines = (s) => s.split("\n").map((x) => x.trim()).filter((x) => x);

async function saveEdit(card, c, { text, article, headings, questions }) {
  const body = { version: c.version };
  if (JSON.stringify(questions) !== JSON.stringify(c.questions || [])) body.questions = questions;
  if (text !== asTyped(c.text)) body.text = text;
  if (article !== (c.article || "")) body.article = article;
  if (JSON.stringify(headings) !== JSON.stringify(c.heading_path || [])) body.heading_path = headings;
  if (Object.keys(body).length === 1) {
    say(card, "info", "没有修改。");
    return;
  }
  busy(card, true);
  let saved;
  try {
    saved = await api("PUT", chunkPath(c.id), body);
  } catch (e) {
    busy(card, false);
    if (e instanceof ApiError && e.status === 403) { denied(e); return; }
    if (e instanceof ApiError && e.code === "kb.chunk_version_conflict") {
      const refresh = button("刷新", "btn small chunk-refresh", () => refreshAfterConflict(c, text));
      say(card, "error", errorText(e) + " 您的修改尚未保存。", [" ", refresh]);
    } else {
      say(card, "error", errorText(e));
    }
    return;
  }
  const same = saved && saved.version === c.version;
  await reload({ msg: { chunkId: c.id, kind: same ? "info" : "ok", text: same ? "内容没有变化。" : `已保存，当前为版本 ${saved.version}。` } });
}

/** 刷新 after a 409: the latest version in the editor, the admin's unsaved text kept to copy. */
function refreshAfterConflict(c, draft) {
  reload({
    after: () => {
      const card = cardOf(c.id);
      if (!card) {
        toast("这个切片已不存在（可能已被合并）。");
        return;
      }
      const latest = current.chunks.find((x) => x.id === c.id);
      const panel = card.querySelector(".chunk-panel");
      panel.dataset.kind = "edit";
      card.querySelector(".chunk-edit")?.classList.add("on");
      panel.replaceChildren(editForm(card, latest, draft));
      panel.hidden = false;
      say(card, "info", `已载入最新内容（版本 ${latest.version}），请在此基础上重新修改。`);
      card.scrollIntoView({ block: "nearest" });
    },
  });
}

// --- split ---------------------------------------------------------------------------------------

function splitForm(card, c) {
  const box = el("div", "form chunk-split-form");
  const ta = el("textarea", "chunk-split-editor");
  ta.value = c.text;
  ta.rows = rowsFor(c.text);
  ta.spellcheck = false;
  // The cursor is all that matters here: no on-screen keyboard, and typing is undone.
  ta.setAttribute("inputmode", "none");
  ta.setAttribute("aria-label", "切片内容：把光标放在要拆分的位置");
  const preview = el("p", "meta chunk-split-preview");
  preview.setAttribute("aria-live", "polite");
  const total = charCount(c.text);
  const at = () => splitOffset(c.text, ta.value, ta.selectionStart);
  const update = () => {
    const n = at();
    if (n <= 0 || n >= total) {
      preview.textContent = "点击文字，把光标放在第二段开始的位置。";
      return;
    }
    const chars = Array.from(c.text);
    const before = chars.slice(Math.max(0, n - 12), n).join("");
    const after = chars.slice(n, n + 12).join("");
    preview.textContent = `前一段 ${n} 字，后一段 ${total - n} 字：“…${before}｜${after}…”`;
  };
  ta.addEventListener("input", () => {
    const p = Math.min(ta.selectionStart, asTyped(c.text).length);
    ta.value = c.text;
    ta.setSelectionRange(p, p);
    update();
  });
  for (const ev of ["select", "selectionchange", "keyup", "mouseup", "touchend", "focus"]) ta.addEventListener(ev, update);
  update();
  const actions = el("div", "form-actions");
  actions.append(
    button("取消", "btn small chunk-cancel", () => closePanel(card)),
    button("在光标处拆分", "btn small primary chunk-split-do", () => doSplit(card, c, at())),
  );
  box.append(el("p", "hint", "在下面的文字中点击，把光标放在第二段开始的位置，再点“在光标处拆分”。后一段成为紧随其后的新切片，条号和标题层级与本切片相同。"), ta, preview, actions);
  return box;
}

async function doSplit(card, c, at) {
  const total = charCount(c.text);
  if (at <= 0 || at >= total) {
    say(card, "error", "请先把光标放在要拆分的位置（不能在开头或末尾）。");
    return;
  }
  busy(card, true);
  let j;
  try {
    j = await api("POST", chunkPath(c.id) + "/split", { at });
  } catch (e) {
    busy(card, false);
    if (e instanceof ApiError && e.status === 403) denied(e);
    else say(card, "error", errorText(e));
    return;
  }
  const second = j && j.second;
  await reload({
    msg: { chunkId: c.id, kind: "ok", text: second ? `已拆分：后一段成为新切片（ID ${second.id}）。` : "已拆分。" },
    mark: second ? [second.id] : [],
  });
}

// --- merge, disable / enable ---------------------------------------------------------------------

async function mergeNext(card, c) {
  const i = current.chunks.findIndex((x) => x.id === c.id);
  const next = i >= 0 ? current.chunks[i + 1] : null;
  if (!next) {
    say(card, "error", "这是文档的最后一个切片，没有可合并的下一个切片。");
    return;
  }
  const label = next.article ? "“" + next.article + "”" : "#" + (i + 2);
  const ok = await confirmDialog(`把此切片与下一个切片（${label}）合并为一个切片？下一个切片的内容将接在本切片之后，它本身不再单独存在（历史仍保留）。`, "合并");
  if (!ok) return;
  busy(card, true);
  let merged;
  try {
    merged = await api("POST", chunkPath(c.id) + "/merge-next");
  } catch (e) {
    busy(card, false);
    if (e instanceof ApiError && e.status === 403) denied(e);
    else say(card, "error", errorText(e));
    return;
  }
  await reload({ msg: { chunkId: c.id, kind: "ok", text: `已与下一个切片合并，当前为版本 ${merged ? merged.version : ""}。` } });
}

async function toggleEnabled(card, c) {
  const action = c.enabled ? "disable" : "enable";
  busy(card, true);
  let saved;
  try {
    saved = await api("POST", chunkPath(c.id) + "/" + action);
  } catch (e) {
    busy(card, false);
    if (e instanceof ApiError && e.status === 403) denied(e);
    else say(card, "error", errorText(e));
    return;
  }
  const on = saved ? saved.enabled : !c.enabled;
  await reload({ msg: { chunkId: c.id, kind: on ? "ok" : "info", text: on ? "已启用：此切片重新参与检索和问答。" : "已停用：此切片不再参与检索和问答。" } });
}

// --- 重新切分 --------------------------------------------------------------------------------------

/**
 * The preview shown in 重新切分, while it can be applied: { docId, body (the request it was made
 * with), plan (the server's answer: basis, before, drafts…), sig (the chunks as loaded then) }.
 */
let rechunk = null;
let rechunkTicket = 0;

/** The loaded chunks' ids, versions and states (a change on this page voids the preview). */
const chunkSig = (chunks) => chunks.map((c) => `${c.id}:${c.version}:${c.enabled ? 1 : 0}`).join(",");

/** The 重新切分 message; kind "error", "ok" or "info" (empty text hides it). */
function rechunkSay(kind, text) {
  const box = $("kb-rechunk-msg");
  box.className = "kb-rechunk-msg " + (kind === "info" ? "notice-box" : kind);
  box.setAttribute("role", kind === "error" ? "alert" : "status");
  box.textContent = text || "";
  box.hidden = !text;
}

/** The request of the settings as entered: { body } or { error }. */
function rechunkRequest() {
  const input = $("kb-rechunk-tokens");
  const raw = input.value.trim();
  const body = {};
  if (raw !== "" || input.validity.badInput) {
    if (!/^\d+$/.test(raw)) return { error: "切片长度应为整数词元数（留空则使用默认长度）。" };
    body.text_tokens = Number(raw);
  }
  body.plain = $("kb-rechunk-plain").checked;
  return { body };
}

/** Clears the preview (and with `inputs` the settings too). */
function resetRechunk({ inputs = false } = {}) {
  rechunkTicket++;
  rechunk = null;
  if (inputs) {
    $("kb-rechunk-tokens").value = "";
    $("kb-rechunk-plain").checked = false;
  }
  $("kb-rechunk-apply").disabled = true;
  $("kb-rechunk-preview").disabled = false;
  $("kb-rechunk-result").hidden = true;
  $("kb-rechunk-result").classList.remove("stale");
  $("kb-rechunk-drafts").replaceChildren();
  $("kb-rechunk-warnings").replaceChildren();
  $("kb-rechunk").removeAttribute("aria-busy");
  rechunkSay("", "");
}

/** The preview no longer holds (settings changed, chunks changed): 应用 waits for a new 预览. */
function voidRechunk(text, kind = "info") {
  if (!rechunk && $("kb-rechunk-result").hidden) return;
  rechunk = null;
  $("kb-rechunk-apply").disabled = true;
  $("kb-rechunk-result").classList.add("stale");
  rechunkSay(kind, text);
}

function rechunkSettingsChanged() {
  rechunkTicket++;
  $("kb-rechunk-preview").disabled = false;
  $("kb-rechunk").removeAttribute("aria-busy");
  voidRechunk("设置已更改，请重新预览后再应用。");
}

async function previewRechunk() {
  if (!current) return;
  const req = rechunkRequest();
  if (req.error) {
    voidRechunk(req.error, "error");
    rechunkSay("error", req.error);
    $("kb-rechunk-tokens").focus();
    return;
  }
  const doc = current.doc;
  const sig = chunkSig(current.chunks);
  const t = ++rechunkTicket;
  rechunk = null;
  $("kb-rechunk-apply").disabled = true;
  $("kb-rechunk-preview").disabled = true;
  $("kb-rechunk").setAttribute("aria-busy", "true");
  rechunkSay("info", "正在预览……");
  let plan;
  try {
    plan = await api("POST", docPath(doc.id) + "/rechunk", req.body);
  } catch (e) {
    if (t !== rechunkTicket) return;
    $("kb-rechunk-preview").disabled = false;
    $("kb-rechunk").removeAttribute("aria-busy");
    if (e instanceof ApiError && e.status === 403) { denied(e); return; }
    $("kb-rechunk-result").hidden = true;
    rechunkSay("error", errorText(e));
    return;
  }
  if (t !== rechunkTicket) return;
  $("kb-rechunk-preview").disabled = false;
  $("kb-rechunk").removeAttribute("aria-busy");
  rechunk = { docId: doc.id, body: req.body, plan, sig };
  renderRechunk(plan);
  rechunkSay("", "");
  $("kb-rechunk-apply").disabled = false;
}

/** The preview: 当前 N 个切片 → 预览 M 个切片, what is lost, and the drafts. */
function renderRechunk(plan) {
  const drafts = plan.drafts || [];
  const summary = $("kb-rechunk-summary");
  summary.dataset.before = String(plan.before ?? 0);
  summary.dataset.after = String(drafts.length);
  summary.textContent = `当前 ${plan.before ?? 0} 个切片 → 预览 ${drafts.length} 个切片`;
  const warnings = [];
  if (plan.disabled_dropped > 0) warnings.push(["disabled", `${plan.disabled_dropped} 个已停用切片不会保留`]);
  if (plan.questions_dropped > 0) warnings.push(["questions", `${plan.questions_dropped} 个切片上的检索问题/关键词不会保留`]);
  $("kb-rechunk-warnings").replaceChildren(...warnings.map(([kind, text]) => {
    const li = el("li", "kb-rechunk-warning", text);
    li.dataset.kind = kind;
    return li;
  }));
  $("kb-rechunk-warnings").hidden = !warnings.length;
  $("kb-rechunk-drafts").replaceChildren(...drafts.map((d, i) => {
    const li = el("li", "kb-rechunk-draft");
    li.dataset.position = String(d.position ?? i);
    const head = el("div", "kb-rechunk-draft-head");
    head.append(
      el("span", "tag grey", "#" + (i + 1)),
      el("strong", "kb-rechunk-draft-article", d.article || "（无条号）"),
      el("span", "meta kb-rechunk-draft-tokens", `${d.token_count ?? 0} 词元`),
      el("span", "meta", `${charCount(d.text)} 字`),
    );
    const headings = (d.heading_path || []).join(" / ");
    li.append(head);
    if (headings) li.append(el("div", "meta kb-rechunk-draft-headings", headings));
    li.append(el("div", "kb-rechunk-draft-text pre", d.text || ""));
    return li;
  }));
  $("kb-rechunk-result").classList.remove("stale");
  $("kb-rechunk-result").hidden = false;
}

async function applyRechunk() {
  const p = rechunk;
  if (!p || !current || current.doc.id !== p.docId) {
    rechunkSay("error", "请先预览，再按预览结果应用。");
    return;
  }
  const { plan } = p;
  const n = (plan.drafts || []).length;
  const lost = [];
  if (plan.disabled_dropped > 0) lost.push(`${plan.disabled_dropped} 个已停用切片不会保留`);
  if (plan.questions_dropped > 0) lost.push(`${plan.questions_dropped} 个切片上的检索问题/关键词不会保留`);
  const title = current.doc.title || "（无标题）";
  const ok = await confirmDialog(`按预览结果重新切分《${title}》？当前 ${plan.before} 个切片将被替换为 ${n} 个新切片` + (lost.length ? `，${lost.join("，")}` : "") + "。新切片立即用于检索和智能问答。", "应用");
  if (!ok || rechunk !== p) return;
  const t = ++rechunkTicket;
  $("kb-rechunk-apply").disabled = true;
  $("kb-rechunk-preview").disabled = true;
  $("kb-rechunk").setAttribute("aria-busy", "true");
  rechunkSay("info", "正在重新切分……");
  let j;
  try {
    j = await api("POST", docPath(p.docId) + "/rechunk", { ...p.body, apply: true, basis: plan.basis });
  } catch (e) {
    if (t !== rechunkTicket) return;
    $("kb-rechunk-preview").disabled = false;
    $("kb-rechunk").removeAttribute("aria-busy");
    if (e instanceof ApiError && e.status === 403) { denied(e); return; }
    if (e instanceof ApiError && e.code === "kb.rechunk_stale") {
      voidRechunk(errorText(e), "error");
    } else {
      $("kb-rechunk-apply").disabled = false;
      rechunkSay("error", errorText(e));
    }
    return;
  }
  if (t !== rechunkTicket) return;
  const after = (j && j.drafts ? j.drafts.length : n);
  resetRechunk();
  const text = `已重新切分《${title}》：${j && j.before != null ? j.before : plan.before} 个切片 → ${after} 个切片。`;
  rechunkSay("ok", text);
  toast(text, "ok");
  await reload();
}

// --- history and rollback ------------------------------------------------------------------------

function historyView(card, c) {
  const box = el("div", "chunk-history-box");
  box.setAttribute("aria-busy", "true");
  box.append(el("p", "meta", "正在加载历史版本……"));
  loadHistory(card, c, box);
  return box;
}

async function loadHistory(card, c, box) {
  const j = await getInto(box, chunkPath(c.id) + "/versions", denied);
  if (!j) return;
  const items = j.items || [];
  if (!items.length) {
    box.replaceChildren(el("p", "meta chunk-versions-empty", "这个切片还没有修改过（当前即原始内容）。"));
    box.removeAttribute("aria-busy");
    return;
  }
  const ol = el("ol", "chunk-versions");
  // Newest first: each version is compared with the next (older) one listed.
  items.forEach((v, i) => ol.append(versionItem(card, c, v, items[i + 1] || null)));
  box.replaceChildren(ol);
  box.removeAttribute("aria-busy");
}

/** What the history compares: text fields diffed by character, 启用/停用 as 旧值 → 新值. */
const VERSION_FIELDS = [
  { key: "text", label: "切片内容", kind: "text", get: (v) => v.text || "" },
  { key: "article", label: "条号", kind: "text", get: (v) => v.article || "" },
  { key: "heading_path", label: "标题层级", kind: "text", get: (v) => (v.heading_path || []).join(" / ") },
  { key: "questions", label: "检索问题", kind: "text", get: (v) => (v.questions || []).join("\n") },
  { key: "enabled", label: "状态", kind: "value", get: (v) => (v.enabled ? "启用" : "停用") },
];

/** A version: who, when, what; its changes against `prev` (the version before it, or null); its text; 回滚到此版本. */
function versionItem(card, c, v, prev) {
  const li = el("li", "chunk-version-item");
  li.dataset.version = String(v.version);
  const head = el("div", "chunk-version-head");
  const time = el("time", "meta", localTime(v.created_at));
  time.dateTime = v.created_at || "";
  head.append(
    el("strong", "", "版本 " + v.version),
    el("span", "tag grey chunk-version-action", ACTION[v.action] || v.action || ""),
    el("span", "meta chunk-version-editor", v.editor || "系统"),
    time,
  );
  if (!v.enabled) head.append(el("span", "status st-closed", "停用"));
  li.append(head);

  li.append(versionDiffBox(prev && { version: prev.version, content: prev }, v, VERSION_FIELDS, "chunk-version-diff"));

  // The version's whole text, folded away unless there is nothing to compare it with.
  const full = el("details", "chunk-version-full");
  full.open = !prev;
  const label = [v.article || "（无条号）", (v.heading_path || []).join(" / ")].filter((x) => x).join(" · ");
  full.append(el("summary", "", "此版本的完整内容"), el("div", "meta", label), el("div", "chunk-version-text pre", v.text));
  li.append(full);
  if (v.version === c.version) {
    li.classList.add("current");
    li.append(el("span", "tag chunk-version-current", "当前版本"));
  } else {
    const b = button("回滚到此版本", "btn small chunk-rollback", () => rollback(card, c, v.version));
    b.dataset.version = String(v.version);
    li.append(b);
  }
  return li;
}

async function rollback(card, c, version) {
  busy(card, true);
  let saved;
  try {
    saved = await api("POST", chunkPath(c.id) + "/rollback", { version });
  } catch (e) {
    busy(card, false);
    if (e instanceof ApiError && e.status === 403) denied(e);
    else say(card, "error", errorText(e));
    return;
  }
  await reload({ msg: { chunkId: c.id, kind: "ok", text: `已回滚到版本 ${version} 的内容，当前为版本 ${saved ? saved.version : ""}。` } });
}

// --- start ---------------------------------------------------------------------------------------

$("kb-reload").addEventListener("click", () => loadDocs());
$("kb-upload").addEventListener("click", upload);
$("kb-filter").addEventListener("input", filterDocs);
$("kb-chunk-filter").addEventListener("input", filterChunks);
$("kb-doc-reload").addEventListener("click", () => reload());
$("kb-back").addEventListener("click", () => { location.hash = ""; });
$("kb-rechunk-preview").addEventListener("click", previewRechunk);
$("kb-rechunk-apply").addEventListener("click", applyRechunk);
$("kb-rechunk-tokens").addEventListener("input", rechunkSettingsChanged);
$("kb-rechunk-plain").addEventListener("change", rechunkSettingsChanged);

const me = await initAdmin();
if (me) {
  window.addEventListener("hashchange", route);
  route();
}
