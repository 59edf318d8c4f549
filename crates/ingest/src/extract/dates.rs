//! Publish dates as RFC 3339 in Asia/Shanghai (UTC+8 all year: China has no daylight saving,
//! so a fixed offset is exact and needs no time-zone database).

use std::sync::OnceLock;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, SecondsFormat, TimeZone, Utc};
use regex::Regex;

/// UTC+8 (Asia/Shanghai).
pub fn shanghai() -> FixedOffset {
    // +08:00 is always a valid offset; UTC stands in only to avoid a panic path.
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix())
}

fn render(dt: DateTime<FixedOffset>) -> String {
    dt.to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn local(naive: NaiveDateTime) -> Option<String> {
    shanghai().from_local_datetime(&naive).single().map(render)
}

/// A Unix timestamp (seconds) in Shanghai time.
pub fn from_unix(ts: i64) -> Option<String> {
    DateTime::from_timestamp(ts, 0).map(|d| render(d.with_timezone(&shanghai())))
}

fn pattern() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s*T?\s*(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2}))?)?",
        )
        .ok()
    })
    .as_ref()
}

/// Normalises a date as printed on a page. `format` (chrono syntax, e.g. `%Y-%m-%d %H:%M`) is
/// tried first on the whole text; then common Chinese and ISO forms found anywhere in it
/// ("发布时间：2024年3月5日 10:20"), a 10-digit Unix timestamp, or a full RFC 3339 value.
pub fn normalize_date(text: &str, format: Option<&str>) -> Option<String> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if let Some(f) = format {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, f) {
            return local(dt);
        }
        if let Ok(d) = NaiveDate::parse_from_str(t, f) {
            return local(d.and_time(NaiveTime::MIN));
        }
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(render(dt.with_timezone(&shanghai())));
    }
    if t.len() == 10 && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().ok().and_then(from_unix);
    }
    let c = pattern()?.captures(t)?;
    let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    let date = NaiveDate::from_ymd_opt(num(1)? as i32, num(2)?, num(3)?)?;
    let time = match num(4) {
        Some(h) => NaiveTime::from_hms_opt(h, num(5).unwrap_or(0), num(6).unwrap_or(0))?,
        None => NaiveTime::MIN,
    };
    local(date.and_time(time))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_dates_become_shanghai_rfc3339() {
        let cases = [
            ("2024-03-05", None, Some("2024-03-05T00:00:00+08:00")),
            ("发布时间：2024年3月5日 10:20", None, Some("2024-03-05T10:20:00+08:00")),
            ("2024/3/5 9:07:30", None, Some("2024-03-05T09:07:30+08:00")),
            ("05.03.2024 10:20", Some("%d.%m.%Y %H:%M"), Some("2024-03-05T10:20:00+08:00")),
            ("2024-03-05T02:20:00Z", None, Some("2024-03-05T10:20:00+08:00")),
            ("1522968980", None, Some("2018-04-06T06:56:20+08:00")),
            ("2024-13-45", None, None),
            ("没有日期", None, None),
        ];
        for (input, fmt, want) in cases {
            assert_eq!(normalize_date(input, fmt).as_deref(), want, "{input}");
        }
    }
}
