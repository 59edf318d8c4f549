// 人工答复统计: per answering organisation (within the admin's scope) open / claimed / answered /
// closed counts, SLA breaches, time to the first reply (median, p90) and ratings; xlsx export.
import { $, el, api, toast, errorText, initAdmin } from "/admin/admin.js";
import { formatDuration } from "/handoff.js";

const COLUMNS = [
  ["org_name", "组织", (r) => r.org_name],
  ["open", "待受理", (r) => String(r.open ?? 0)],
  ["claimed", "处理中", (r) => String(r.claimed ?? 0)],
  ["answered", "已答复", (r) => String(r.answered ?? 0)],
  ["closed", "已结束", (r) => String(r.closed ?? 0)],
  ["sla_breaches", "超时", (r) => String(r.sla_breaches ?? 0)],
  ["median_first_reply_secs", "首次答复（中位数）", (r) => formatDuration(r.median_first_reply_secs)],
  ["p90_first_reply_secs", "首次答复（P90）", (r) => formatDuration(r.p90_first_reply_secs)],
  ["avg_rating", "平均评分", (r) => (r.avg_rating != null ? Number(r.avg_rating).toFixed(1) + `（${r.ratings || 0} 条）` : "—")],
];

function row(r, total = false) {
  const tr = el("tr", total ? "total-row" : "");
  if (r.org_id != null) tr.dataset.orgId = String(r.org_id);
  COLUMNS.forEach(([key, label, fmt], i) => {
    const td = el("td", "c-" + key.replace(/_/g, "-"), fmt(r));
    if (i > 0) td.dataset.label = label;
    else td.classList.add("c-name");
    if (key === "sla_breaches" && (r.sla_breaches || 0) > 0) td.classList.add("warn");
    tr.append(td);
  });
  return tr;
}

async function load() {
  let s;
  try {
    s = await api("GET", "/api/admin/handoff/stats");
  } catch (e) {
    toast(errorText(e));
    return;
  }
  const rows = s.rows || [];
  $("stats-rows").replaceChildren(...rows.map((r) => row(r)));
  $("stats-total").replaceChildren(...(s.total && rows.length ? [row({ ...s.total, org_name: s.total.org_name || "合计" }, true)] : []));
  $("stats-empty").hidden = rows.length > 0;
}

$("stats-reload").addEventListener("click", load);

const me = await initAdmin();
if (me) await load();
