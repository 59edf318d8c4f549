// Shared pieces of the human-handoff pages (人工答复): the member chat, 我的咨询中心 and the staff
// console. An ES module without side effects at import. Data is rendered with textContent only.
import { el } from "/admin/admin.js";

export const STATUS_LABELS = {
  pending: "待受理",
  claimed: "处理中",
  answered: "已答复",
  closed: "已结束",
  escalated: "已上报",
  transferred: "已转交",
};

/** Waiting in a queue, not yet claimed. */
export const isWaiting = (s) => s === "pending" || s === "escalated" || s === "transferred";

/** A coloured status badge: `<span class="status st-pending">待受理</span>`. */
export function statusBadge(status, label) {
  const b = el("span", "status st-" + (status || "unknown"), label || STATUS_LABELS[status] || status || "—");
  b.dataset.status = status || "";
  return b;
}

const pad = (n) => String(n).padStart(2, "0");

/** "2026-11-23 16:09" in the browser's time zone (the year is left out for this year). */
export function formatTime(ts, { withYear = false } = {}) {
  if (!ts) return "";
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return String(ts);
  const now = new Date();
  const date = `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const year = withYear || d.getFullYear() !== now.getFullYear() ? d.getFullYear() + "-" : "";
  return `${year}${date} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Seconds as "3小时20分", "12分", "45秒"; "—" for null. */
export function formatDuration(secs) {
  if (secs === null || secs === undefined || Number.isNaN(Number(secs))) return "—";
  let s = Math.abs(Math.round(Number(secs)));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  if (d) return `${d}天${h ? h + "小时" : ""}`;
  if (h) return `${h}小时${m ? m + "分" : ""}`;
  if (m) return `${m}分`;
  return `${s}秒`;
}

/** "剩余 3小时20分" / "已超时 1小时5分" for a remaining number of seconds (negative = overdue). */
export function slaText(secs) {
  if (secs === null || secs === undefined) return "";
  return secs < 0 ? "已超时 " + formatDuration(-secs) : "剩余 " + formatDuration(secs);
}

/** Plain text that keeps its line breaks (the element gets class `pre`). */
export function textBlock(cls, text) {
  return el("div", "pre " + (cls || ""), text || "");
}

export const sourceLabel = (s) => "《" + (s.doc_title || "") + "》" + (s.edition ? "（" + s.edition + "）" : "") + (s.article || "");

/** The AI answer's sources as links into the regulation library (same-origin paths only). */
export function renderSources(container, sources) {
  container.replaceChildren();
  for (const s of sources || []) {
    const text = (s.index != null ? "[" + s.index + "] " : "") + sourceLabel(s);
    let node;
    if (typeof s.url === "string" && s.url.startsWith("/") && !s.url.startsWith("//")) {
      node = el("a", "chip", text);
      node.href = s.url;
      node.target = "_blank";
      node.rel = "noopener";
    } else {
      node = el("span", "chip", text);
    }
    container.append(node);
  }
  container.hidden = !container.children.length;
}

/** The timeline: one `li.ev.kind-<kind>` per event; internal notes get `.internal`. */
export function renderTimeline(list, events) {
  list.replaceChildren();
  for (const e of events || []) {
    const li = el("li", "ev kind-" + (e.kind || "other") + (e.internal ? " internal" : ""));
    li.dataset.kind = e.kind || "";
    const head = el("div", "ev-head");
    head.append(el("span", "ev-label", e.kind_label || e.kind || ""));
    if (e.internal) head.append(el("span", "tag grey", "内部"));
    if (e.actor_name) head.append(el("span", "ev-actor", e.actor_name));
    if (e.org_name && ["requested", "escalated", "auto_escalated", "transferred"].includes(e.kind)) {
      head.append(el("span", "ev-org", (e.kind === "requested" ? "答复组织：" : "→ ") + e.org_name));
    }
    if (e.to_status && e.from_status && e.to_status !== e.from_status) {
      head.append(el("span", "ev-status", (STATUS_LABELS[e.from_status] || e.from_status) + " → " + (STATUS_LABELS[e.to_status] || e.to_status)));
    }
    head.append(el("time", "ev-time", formatTime(e.at)));
    li.append(head);
    if (e.body) li.append(textBlock("ev-body", e.body));
    list.append(li);
  }
  if (!list.children.length) list.append(el("li", "ev empty", "暂无记录"));
}

/** Stars "★★★★☆" for a rating 1–5. */
export const stars = (n) => "★".repeat(Math.max(0, Math.min(5, n || 0))) + "☆".repeat(5 - Math.max(0, Math.min(5, n || 0)));

/** Is the browser logged in (the JS-readable CSRF cookie set at login)? */
export const hasSessionCookie = () => /(?:^|;\s*)dwt_csrf=/.test(document.cookie);

/**
 * Live events from GET /api/events (EventSource, cookie-authenticated). `handlers`: hello(data),
 * notification(n), consultation({id,status,org_id}), resync(), state("live"|"connecting"|"off").
 * A `hello` after a reconnect calls resync() as well (events may have been missed meanwhile).
 * When the stream is refused (401, 503…) it retries a few times, slower each time.
 * Returns { close() }.
 */
export function liveEvents(handlers) {
  let es = null;
  let closed = false;
  let greeted = false;
  let retries = 0;
  let timer = null;
  const call = (name, arg) => { try { handlers[name]?.(arg); } catch (e) { console.error(e); } };
  const parse = (e) => { try { return JSON.parse(e.data || "{}"); } catch { return {}; } };
  function open() {
    if (closed) return;
    call("state", "connecting");
    es = new EventSource("/api/events");
    es.addEventListener("hello", (e) => {
      retries = 0;
      call("state", "live");
      call("hello", parse(e));
      if (greeted) call("resync");
      greeted = true;
    });
    es.addEventListener("notification", (e) => call("notification", parse(e)));
    es.addEventListener("consultation", (e) => call("consultation", parse(e)));
    es.addEventListener("resync", () => call("resync"));
    es.onerror = () => {
      if (!es || es.readyState !== EventSource.CLOSED) { call("state", "connecting"); return; }
      // Refused or dropped for good: the browser will not retry by itself.
      es = null;
      if (retries >= 6) { call("state", "off"); return; }
      call("state", "connecting");
      retries += 1;
      timer = setTimeout(open, Math.min(60_000, 2000 * 2 ** retries));
    };
  }
  open();
  const close = () => { closed = true; clearTimeout(timer); es?.close(); es = null; };
  window.addEventListener("pagehide", close, { once: true });
  return { close };
}

/** Runs `fn` once after `ms` of quiet (bursts of live events cause one reload). */
export function debounce(fn, ms = 250) {
  let t = null;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}

/** Shows the live-connection state in an element (`实时更新中` / `连接中…` / `实时更新已断开`). */
export function showLiveState(node, state) {
  if (!node) return;
  node.dataset.state = state;
  node.textContent = state === "live" ? "● 实时" : state === "connecting" ? "○ 连接中" : "○ 已断开";
  node.title = state === "live" ? "新的变化会自动显示" : state === "connecting" ? "正在连接实时更新" : "实时更新已断开，请刷新页面";
}
