// 数据抓取 (系统管理员 only): the crawler sources defined by the files of crawlers/ with their
// state, schedule, last run and URL counts; 立即抓取 (then polls until that run has ended), the
// run history of a source with each run's failed URLs, and article URLs added by hand to WeChat
// sources. Other administrators get the server's 403 message in place of the table. Data is
// rendered with textContent only.
import { $, el, api, ApiError, toast, errorText, initAdmin, query, button, localTime } from "/admin/admin.js";
import { formatDuration } from "/handoff.js";

const KIND = { site: "网站", json_api: "接口", wechat: "公众号" };
const RUN_STATUS = { running: "运行中", finished: "完成", failed: "失败" };
const RUN_STATUS_CLASS = { running: "st-claimed", finished: "st-answered", failed: "st-pending" };
const TRIGGER = { cli: "命令行", schedule: "定时", admin: "手动" };
const URL_STATE = { new: "待抓取", ok: "已抓取", failed: "失败", withdrawn: "已撤下" };
const URL_STATE_ORDER = ["new", "ok", "failed", "withdrawn"];
const POLL_MS = 1500;
// A run asked for but neither running nor recorded after this many polls: stop waiting for it.
const START_POLLS = 20;

const sourcePath = (name) => "/api/admin/crawl/sources/" + encodeURIComponent(name);

let sources = [];
/** name → the row's persistent elements (kept across reloads so typed URLs and messages stay). */
const rows = new Map();
/** name → { prevId, prevStatus, polls }: sources whose run is awaited (polled every POLL_MS). */
const watching = new Map();
let pollTimer = null;
let ticket = 0;
/** The source whose runs #crawl-runs shows, or null. */
let historyOf = null;
let runsTicket = 0;

const count = (n) => String(n ?? 0);

/** "新增 0 · 更新 0 · 未变 0 · 撤下 0 · 失败 0" */
function runCounts(run) {
  return `新增 ${count(run.new)} · 更新 ${count(run.updated)} · 未变 ${count(run.unchanged)} · 撤下 ${count(run.withdrawn)} · 失败 ${count(run.failed)}`;
}

/** Common cron forms in words ("每天 06:30", "每 30 分钟"); null for the others. */
function describeCron(expr) {
  const f = String(expr).trim().split(/\s+/);
  if (f.length !== 5) return null;
  const [mi, h, d, mo, wd] = f;
  const num = (x) => /^\d{1,2}$/.test(x);
  const pad = (x) => String(x).padStart(2, "0");
  const everyDay = d === "*" && mo === "*" && wd === "*";
  if (!everyDay) return null;
  if (num(mi) && num(h)) return `每天 ${pad(h)}:${pad(mi)}`;
  const step = /^\*\/(\d+)$/.exec(mi);
  if (step && h === "*") return `每 ${step[1]} 分钟`;
  if (num(mi) && h === "*") return `每小时第 ${Number(mi)} 分`;
  return null;
}

/** Items joined by " · " (nodes or strings). */
function joined(parts) {
  const out = [];
  parts.forEach((p, i) => { if (i) out.push(" · "); out.push(p); });
  return out;
}

// --- loading and polling -------------------------------------------------------------------------

/** Loads the sources and renders them; resolves true when done, false when that failed (a
 * toast or the 403 notice was shown), null when a newer load superseded this one. */
async function load() {
  const t = ++ticket;
  let j;
  try {
    j = await api("GET", "/api/admin/crawl/sources");
  } catch (e) {
    if (t !== ticket) return null;
    if (e instanceof ApiError && e.status === 403) denied(e);
    else toast(errorText(e));
    return false;
  }
  if (t !== ticket) return null;
  sources = j.sources || [];
  renderConfigErrors(j.errors || []);
  settle();
  render();
  schedulePoll();
  return true;
}

/** A 403 (not a 系统管理员): the server's message instead of the page's content. */
function denied(e) {
  watching.clear();
  clearTimeout(pollTimer);
  pollTimer = null;
  $("crawl-denied-text").textContent = errorText(e);
  $("crawl-denied").hidden = false;
  $("crawl-main").hidden = true;
  $("crawl-runs").hidden = true;
  $("crawl-config-errors").hidden = true;
  $("crawl-reload").hidden = true;
}

/**
 * Ends the wait for runs that are over: a source is done when it is not running and its last run
 * is a new one (or was the running one) that has finished or failed. Sources found running (a
 * scheduled run, another admin's) are watched too, so their rows update by themselves.
 */
function settle() {
  for (const s of sources) {
    if (s.running && !watching.has(s.name)) watching.set(s.name, { prevId: s.last_run ? s.last_run.id : null, prevStatus: s.last_run ? s.last_run.status : null, polls: 0 });
  }
  for (const [name, w] of watching) {
    const s = sources.find((x) => x.name === name);
    if (!s) { watching.delete(name); continue; }
    const last = s.last_run;
    const isNew = !!last && (last.id !== w.prevId || w.prevStatus === "running");
    if (!s.running && isNew && last.status !== "running") {
      watching.delete(name);
      if (last.status === "failed") toast(`${s.label || name}：抓取失败` + (last.message ? "：" + last.message : ""));
      if (historyOf === name) loadRuns();
    } else if (!s.running && !isNew && ++w.polls > START_POLLS) {
      watching.delete(name);
      toast(`${s.label || name}：未见抓取开始，请稍后点“刷新”查看`);
    }
  }
}

function schedulePoll() {
  if (pollTimer || !watching.size) return;
  pollTimer = setTimeout(async () => {
    pollTimer = null;
    const ok = await load();
    // A failed poll (network, session gone) stops the waiting; 刷新 starts it again.
    if (ok === false && watching.size) {
      watching.clear();
      render();
    }
  }, POLL_MS);
}

// --- the sources table ---------------------------------------------------------------------------

function renderConfigErrors(errors) {
  $("crawl-config-errors").hidden = errors.length === 0;
  $("crawl-config-error-list").replaceChildren(...errors.map((e) => el("li", "", [e.file, e.key, e.problem].filter((x) => x).join("："))));
}

function render() {
  const tbody = $("crawl-rows");
  const seen = new Set();
  sources.forEach((s, i) => {
    let r = rows.get(s.name);
    if (!r) {
      r = buildRow(s.name);
      rows.set(s.name, r);
    }
    fillRow(r, s);
    // Moved only when out of place: moving a row would take the focus out of its URL input.
    if (tbody.children[i] !== r.tr) tbody.insertBefore(r.tr, tbody.children[i] || null);
    seen.add(s.name);
  });
  for (const [name, r] of rows) {
    if (!seen.has(name)) {
      r.tr.remove();
      rows.delete(name);
    }
  }
  $("crawl-empty").hidden = sources.length > 0;
}

function buildRow(name) {
  const tr = el("tr");
  tr.dataset.source = name;
  const cell = (cls, label) => {
    const td = el("td", cls);
    if (label) td.dataset.label = label;
    tr.append(td);
    return td;
  };
  const r = {
    tr,
    name: cell("c-name"),
    kind: cell("c-kind", "类型"),
    state: cell("c-state", "状态"),
    plan: cell("c-plan c-wrap", "计划"),
    last: cell("c-last c-wrap", "上次运行"),
    urls: cell("c-urls c-wrap", "网址"),
    ops: cell("c-ops"),
    urlForm: null,
  };
  r.run = button("立即抓取", "btn small primary crawl-run", () => runNow(name));
  r.history = button("查看记录", "btn small crawl-history", () => showHistory(name));
  const actions = el("div", "crawl-actions");
  actions.append(r.run, r.history);
  r.ops.append(actions);
  return r;
}

function fillRow(r, s) {
  const busy = !!s.running || watching.has(s.name);
  r.tr.dataset.kind = s.kind || "";
  r.tr.dataset.running = busy ? "true" : "false";
  r.tr.dataset.lastRun = s.last_run ? String(s.last_run.id) : "";

  r.name.replaceChildren(el("strong", "crawl-label", s.label || s.name), el("div", "meta mono crawl-name", s.name));
  r.kind.textContent = KIND[s.kind] || s.kind || "";

  const state = [el("span", "status crawl-enabled " + (s.enabled ? "st-answered" : "st-closed"), s.enabled ? "启用" : "停用")];
  if (busy) state.push(" ", el("span", "status st-claimed crawl-running", "运行中"));
  r.state.replaceChildren(...state);

  const plan = [];
  if (s.schedule) {
    const words = describeCron(s.schedule);
    const line = el("div", "crawl-schedule", words || s.schedule);
    line.title = "cron（北京时间）：" + s.schedule;
    plan.push(line);
    if (words) plan.push(el("div", "meta mono", s.schedule));
  } else {
    plan.push(el("div", "crawl-schedule meta", "无计划（仅手动）"));
  }
  if (s.next_run) plan.push(el("div", "meta crawl-next", "下次运行：" + localTime(s.next_run)));
  else if (s.schedule && !s.enabled) plan.push(el("div", "meta crawl-next", "已停用，不自动运行"));
  r.plan.replaceChildren(...plan);

  r.last.replaceChildren(...lastRun(s.last_run));
  r.urls.replaceChildren(...urlCounts(s.urls));

  r.run.disabled = busy;
  r.run.title = busy ? "正在抓取，请等待本次完成" : "";

  if (s.kind === "wechat" && !r.urlForm) {
    r.urlForm = urlForm(s.name);
    r.ops.append(r.urlForm);
  } else if (s.kind !== "wechat" && r.urlForm) {
    r.urlForm.remove();
    r.urlForm = null;
  }
}

function lastRun(run) {
  if (!run) return [el("span", "meta run-none", "尚未运行")];
  const head = el("div", "run-head");
  head.append(
    el("span", "status run-status " + (RUN_STATUS_CLASS[run.status] || ""), RUN_STATUS[run.status] || run.status),
    " ",
    el("time", "meta run-time", localTime(run.started_at)),
    el("span", "meta run-trigger", " · " + (TRIGGER[run.trigger] || run.trigger)),
  );
  head.querySelector("time").dateTime = run.started_at || "";
  if (run.resumed) head.append(el("span", "meta run-resumed", "（接续）"));
  const out = [head, el("div", "run-counts", runCounts(run))];
  if ((run.low_confidence || 0) > 0) out.push(el("div", "run-low", `低置信 ${run.low_confidence} 篇（正文靠自动识别，请抽查）`));
  if (run.message) out.push(el("div", "meta run-message", run.message));
  return out;
}

function urlCounts(urls) {
  const entries = Object.entries(urls || {}).filter(([, n]) => Number(n) > 0);
  if (!entries.length) return [el("span", "meta", "—")];
  const rank = (k) => { const i = URL_STATE_ORDER.indexOf(k); return i < 0 ? URL_STATE_ORDER.length : i; };
  entries.sort((a, b) => rank(a[0]) - rank(b[0]));
  return joined(entries.map(([k, n]) => el("span", "url-count url-" + k, `${URL_STATE[k] || k} ${n}`)));
}

// --- run now -------------------------------------------------------------------------------------

async function runNow(name) {
  const s = sources.find((x) => x.name === name);
  const r = rows.get(name);
  const last = s && s.last_run;
  const wait = { prevId: last ? last.id : null, prevStatus: last ? last.status : null, polls: 0 };
  if (r) r.run.disabled = true;
  try {
    await api("POST", sourcePath(name) + "/run");
  } catch (e) {
    toast(errorText(e));
    // Already running (another admin, the schedule): wait for that run instead.
    if (e instanceof ApiError && e.code === "crawl.already_running") watching.set(name, wait);
    if (r && s) fillRow(r, s);
    schedulePoll();
    return;
  }
  watching.set(name, wait);
  toast("抓取已开始", "ok");
  if (r && s) fillRow(r, s);
  schedulePoll();
}

// --- article URLs (WeChat sources) ---------------------------------------------------------------

function urlForm(name) {
  const form = el("form", "crawl-url");
  form.noValidate = true;
  const input = el("input", "crawl-url-input");
  input.type = "url";
  input.inputMode = "url";
  input.autocomplete = "off";
  input.maxLength = 2000;
  input.placeholder = "https://mp.weixin.qq.com/s/…";
  input.setAttribute("aria-label", "公众号文章网址");
  const add = el("button", "btn small crawl-url-add", "添加文章网址");
  add.type = "submit";
  const line = el("div", "crawl-url-line");
  line.append(input, add);
  const msg = el("p", "crawl-url-msg");
  msg.hidden = true;
  msg.setAttribute("role", "status");
  form.append(line, msg);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    addUrl(name, form);
  });
  return form;
}

function say(form, kind, text) {
  const msg = form.querySelector(".crawl-url-msg");
  msg.className = "crawl-url-msg " + kind;
  msg.textContent = text || "";
  msg.hidden = !text;
}

async function addUrl(name, form) {
  const input = form.querySelector(".crawl-url-input");
  const add = form.querySelector(".crawl-url-add");
  const url = input.value.trim();
  if (!url) {
    say(form, "error", "请输入文章网址");
    input.focus();
    return;
  }
  add.disabled = true;
  say(form, "", "");
  try {
    const r = await api("POST", sourcePath(name) + "/urls", { url });
    if (r && r.added) {
      say(form, "ok", "已加入，下次抓取时获取");
      input.value = "";
    } else {
      say(form, "notice-box", "该网址已存在，无需重复添加");
    }
  } catch (e) {
    say(form, "error", errorText(e));
    return;
  } finally {
    add.disabled = false;
  }
  await load();
}

// --- run history ---------------------------------------------------------------------------------

async function showHistory(name) {
  historyOf = name;
  const s = sources.find((x) => x.name === name);
  const panel = $("crawl-runs");
  panel.dataset.source = name;
  $("crawl-runs-title").textContent = "抓取记录 · " + ((s && s.label) || name);
  $("crawl-run-rows").replaceChildren();
  $("crawl-runs-empty").hidden = true;
  panel.hidden = false;
  await loadRuns();
  if (historyOf === name) panel.scrollIntoView({ block: "start", behavior: "smooth" });
}

async function loadRuns() {
  if (!historyOf) return;
  const t = ++runsTicket;
  const name = historyOf;
  const panel = $("crawl-runs");
  panel.setAttribute("aria-busy", "true");
  let j;
  try {
    j = await api("GET", "/api/admin/crawl/runs" + query({ source: name, limit: 20 }));
  } catch (e) {
    if (t === runsTicket) {
      panel.removeAttribute("aria-busy");
      toast(errorText(e));
    }
    return;
  }
  if (t !== runsTicket) return;
  const items = j.items || [];
  $("crawl-run-rows").replaceChildren(...items.map(runRow));
  $("crawl-runs-empty").hidden = items.length > 0;
  panel.removeAttribute("aria-busy");
}

function runRow(run) {
  const tr = el("tr");
  tr.dataset.runId = String(run.id);
  tr.dataset.status = run.status || "";
  const td = (cls, label, text) => {
    const c = el("td", cls, text);
    if (label) c.dataset.label = label;
    tr.append(c);
    return c;
  };
  td("c-name c-started", null, localTime(run.started_at));
  td("c-trigger", "触发方式", TRIGGER[run.trigger] || run.trigger);
  const st = td("c-status", "状态");
  st.append(el("span", "status " + (RUN_STATUS_CLASS[run.status] || ""), RUN_STATUS[run.status] || run.status));
  if (run.resumed) st.append(el("span", "meta", "（接续）"));
  td("c-new", "新增", count(run.new));
  td("c-updated", "更新", count(run.updated));
  td("c-unchanged", "未变", count(run.unchanged));
  td("c-withdrawn", "撤下", count(run.withdrawn));
  const failed = td("c-failed", "失败", count(run.failed));
  if ((run.failed || 0) > 0) failed.classList.add("warn");
  const low = td("c-low", "低置信", count(run.low_confidence));
  if ((run.low_confidence || 0) > 0) low.classList.add("warn");
  const secs = run.finished_at ? (Date.parse(run.finished_at) - Date.parse(run.started_at)) / 1000 : NaN;
  td("c-duration", "用时", Number.isFinite(secs) ? formatDuration(Math.max(0, secs)) : "—");
  td("c-message c-wrap", "说明", run.message || "—");
  const ops = td("c-ops");
  if ((run.failed || 0) > 0 || run.status === "failed") {
    const b = button("失败详情", "btn small crawl-run-errors", () => toggleErrors(tr, run, b));
    ops.append(b);
  }
  return tr;
}

async function toggleErrors(tr, run, b) {
  const next = tr.nextElementSibling;
  if (next && next.classList.contains("crawl-errors-row") && next.dataset.runId === String(run.id)) {
    next.remove();
    b.textContent = "失败详情";
    return;
  }
  const row = el("tr", "crawl-errors-row");
  row.dataset.runId = String(run.id);
  const cell = el("td", "c-wrap");
  cell.colSpan = tr.children.length;
  cell.append(el("p", "meta", "正在加载……"));
  row.append(cell);
  tr.after(row);
  b.textContent = "收起详情";
  let j;
  try {
    j = await api("GET", `/api/admin/crawl/runs/${encodeURIComponent(run.id)}/errors`);
  } catch (e) {
    cell.replaceChildren(el("p", "error", errorText(e)));
    return;
  }
  const items = j.items || [];
  if (!items.length) {
    cell.replaceChildren(el("p", "meta", "没有失败网址的记录。"));
    return;
  }
  const ul = el("ul", "crawl-error-list");
  for (const x of items) {
    const li = el("li", "crawl-error-item");
    const url = String(x.url || "");
    let link;
    if (/^https?:\/\//i.test(url)) {
      link = el("a", "crawl-error-url mono", url);
      link.href = url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
    } else {
      link = el("span", "crawl-error-url mono", url);
    }
    const head = el("div", "crawl-error-head");
    head.append(el("span", "tag grey mono crawl-error-code", x.code || ""), " ", el("time", "meta", localTime(x.at)));
    li.append(link, head, el("div", "crawl-error-reason", x.reason || ""));
    ul.append(li);
  }
  cell.replaceChildren(ul);
}

// --- start ---------------------------------------------------------------------------------------

$("crawl-reload").addEventListener("click", async () => {
  await load();
  if (historyOf) loadRuns();
});
$("crawl-runs-reload").addEventListener("click", loadRuns);
$("crawl-runs-close").addEventListener("click", () => {
  historyOf = null;
  runsTicket++;
  $("crawl-runs").hidden = true;
  delete $("crawl-runs").dataset.source;
});

const me = await initAdmin();
if (me) await load();
