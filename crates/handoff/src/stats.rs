//! Numbers for administrators: per answering organisation, open/claimed/answered/closed counts,
//! time to the first human reply (median, p90), SLA breaches and ratings; xlsx export.

use std::collections::BTreeMap;

use chrono::Utc;
use dwt_org::authz::{Action, Principal};
use dwt_org::db::parse_ts;
use dwt_org::CoreError;
use rust_xlsxwriter::{Format, Workbook};
use serde::Serialize;
use sqlx::Row;

use crate::Handoff;

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct StatsRow {
    pub org_id: i64,
    pub org_name: String,
    pub open: i64,
    pub claimed: i64,
    pub answered: i64,
    pub closed: i64,
    /// Items that were escalated for a missed deadline, answered after it, or are waiting past it
    /// (counted at the organisation currently holding them).
    pub sla_breaches: i64,
    pub median_first_reply_secs: Option<i64>,
    pub p90_first_reply_secs: Option<i64>,
    pub avg_rating: Option<f64>,
    pub ratings: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stats {
    pub rows: Vec<StatsRow>,
    pub total: StatsRow,
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

#[derive(Default)]
struct Acc {
    row: StatsRow,
    reply_secs: Vec<i64>,
    rating_sum: i64,
}

impl Acc {
    fn finish(mut self) -> StatsRow {
        self.reply_secs.sort_unstable();
        self.row.median_first_reply_secs = percentile(&self.reply_secs, 0.5);
        self.row.p90_first_reply_secs = percentile(&self.reply_secs, 0.9);
        self.row.avg_rating = (self.row.ratings > 0).then(|| (self.rating_sum as f64 / self.row.ratings as f64 * 100.0).round() / 100.0);
        self.row
    }
}

impl Handoff {
    /// Within the caller's `QaManage` (administrator) scope.
    pub async fn stats(&self, who: &Principal) -> Result<Stats, CoreError> {
        let roots = who.scope(Action::QaManage);
        if roots.is_empty() {
            return Err(CoreError::Forbidden);
        }
        let (clause, binds) = dwt_org::orgs::subtree_clause("o.path", &roots, 1);
        let sql = format!(
            "SELECT c.org_id, o.name AS org_name, o.path, c.status, c.created_at, c.due_at, c.first_reply_at, c.rating, \
             (SELECT COUNT(*) FROM consultation_events e WHERE e.consultation_id = c.id AND e.kind = 'auto_escalated') AS missed \
             FROM consultations c JOIN orgs o ON o.id = c.org_id WHERE {clause}"
        );
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b);
        }
        let rows = q.fetch_all(self.db().pool()).await?;
        let now = Utc::now();
        let mut by_org: BTreeMap<String, Acc> = BTreeMap::new();
        let mut total = Acc::default();
        for r in rows {
            let path: String = r.try_get("path")?;
            let status: String = r.try_get("status")?;
            let created = parse_ts(&r.try_get::<String, _>("created_at")?);
            let due = parse_ts(&r.try_get::<String, _>("due_at")?);
            let first: Option<String> = r.try_get("first_reply_at")?;
            let first = first.as_deref().and_then(parse_ts);
            let rating: Option<i64> = r.try_get("rating")?;
            // A deadline missed earlier (auto-escalated) stays a breach after the reset.
            let missed_before: i64 = r.try_get("missed")?;
            let acc = by_org.entry(path).or_default();
            acc.row.org_id = r.try_get("org_id")?;
            acc.row.org_name = r.try_get("org_name")?;
            for a in [&mut *acc, &mut total] {
                match status.as_str() {
                    "pending" | "escalated" | "transferred" => a.row.open += 1,
                    "claimed" => a.row.claimed += 1,
                    "answered" => a.row.answered += 1,
                    _ => a.row.closed += 1,
                }
                let late_now = match (due, first) {
                    (Some(d), reply) => reply.unwrap_or(now) > d && (reply.is_some() || matches!(status.as_str(), "pending" | "escalated" | "transferred" | "claimed")),
                    _ => false,
                };
                if late_now || missed_before > 0 {
                    a.row.sla_breaches += 1;
                }
                if let (Some(c), Some(f)) = (created, first) {
                    a.reply_secs.push((f - c).num_seconds());
                }
                if let Some(x) = rating {
                    a.row.ratings += 1;
                    a.rating_sum += x;
                }
            }
        }
        let rows = by_org.into_values().map(Acc::finish).collect();
        let mut total = total.finish();
        total.org_name = "合计".into();
        Ok(Stats { rows, total })
    }
}

pub fn export(stats: &Stats) -> Result<Vec<u8>, CoreError> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let bold = Format::new().set_bold();
    let err = |e: rust_xlsxwriter::XlsxError| CoreError::Spreadsheet(e.to_string());
    let headers = ["组织", "待受理", "处理中", "已答复", "已结束", "超时", "首次答复中位数（小时）", "首次答复 P90（小时）", "平均评分", "评价数"];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold).map_err(err)?;
        ws.set_column_width(c as u16, 14).map_err(err)?;
    }
    let hours = |s: Option<i64>| s.map(|v| (v as f64 / 360.0).round() / 10.0);
    for (i, r) in stats.rows.iter().chain(std::iter::once(&stats.total)).enumerate() {
        let row = i as u32 + 1;
        ws.write_string(row, 0, &r.org_name).map_err(err)?;
        for (c, v) in [r.open, r.claimed, r.answered, r.closed, r.sla_breaches].iter().enumerate() {
            ws.write_number(row, c as u16 + 1, *v as f64).map_err(err)?;
        }
        for (c, v) in [hours(r.median_first_reply_secs), hours(r.p90_first_reply_secs), r.avg_rating].iter().enumerate() {
            if let Some(v) = v {
                ws.write_number(row, c as u16 + 6, *v).map_err(err)?;
            }
        }
        ws.write_number(row, 9, r.ratings as f64).map_err(err)?;
    }
    wb.save_to_buffer().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[7], 0.9), Some(7));
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&v, 0.5), Some(5));
        assert_eq!(percentile(&v, 0.9), Some(9));
    }
}
