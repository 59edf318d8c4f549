//! Chinese numerals as used in article labels (第七条, 第一百零三条) and their Arabic forms.

const DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

/// Converts 1..=9999 to the numeral style of Chinese regulations: 十, 十一, 二十, 一百零三.
/// Larger numbers (no regulation has 10,000 articles) come back in Arabic digits.
pub fn to_chinese(n: u32) -> String {
    if n == 0 {
        return "零".to_string();
    }
    if n > 9999 {
        return n.to_string();
    }
    let units = [(1000, '千'), (100, '百'), (10, '十')];
    let mut out = String::new();
    let mut rest = n;
    let mut need_zero = false;
    for (value, unit) in units {
        let d = rest / value;
        rest %= value;
        if d > 0 {
            if need_zero {
                out.push('零');
                need_zero = false;
            }
            // 十一 not 一十一 when the number starts with the tens.
            if !(value == 10 && d == 1 && out.is_empty()) {
                out.push(DIGITS[d as usize]);
            }
            out.push(unit);
        } else if !out.is_empty() && rest > 0 {
            need_zero = true;
        }
    }
    if rest > 0 {
        if need_zero {
            out.push('零');
        }
        out.push(DIGITS[rest as usize]);
    }
    out
}

/// Parses a Chinese (一百零三, 十一, 两) or Arabic numeral; None when not a number.
pub fn parse_number(s: &str) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    if s.chars().all(|c| c.is_ascii_digit()) {
        return s.parse().ok();
    }
    let mut total = 0u32;
    let mut current = 0u32;
    let mut seen = false;
    for c in s.chars() {
        let digit = match c {
            '零' | '〇' => Some(0),
            '一' => Some(1),
            '二' | '两' => Some(2),
            '三' => Some(3),
            '四' => Some(4),
            '五' => Some(5),
            '六' => Some(6),
            '七' => Some(7),
            '八' => Some(8),
            '九' => Some(9),
            _ => None,
        };
        if let Some(d) = digit {
            current = d;
            seen = true;
            continue;
        }
        let unit = match c {
            '十' => 10,
            '百' => 100,
            '千' => 1000,
            _ => return None,
        };
        let factor = if current == 0 { 1 } else { current };
        total += factor * unit;
        current = 0;
        seen = true;
    }
    if !seen {
        return None;
    }
    Some(total + current)
}

/// Normalises an article reference like "第7条" or "第 七 条" to "第七条".
pub fn normalize_article_label(label: &str) -> Option<String> {
    let inner: String = label.chars().filter(|c| !c.is_whitespace()).collect();
    let inner = inner.strip_prefix('第')?.strip_suffix('条')?;
    let n = parse_number(inner)?;
    Some(format!("第{}条", to_chinese(n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_article_numbers() {
        for n in 1..=1200 {
            let s = to_chinese(n);
            assert_eq!(parse_number(&s), Some(n), "{n} -> {s}");
        }
        assert_eq!(to_chinese(7), "七");
        assert_eq!(to_chinese(10), "十");
        assert_eq!(to_chinese(11), "十一");
        assert_eq!(to_chinese(20), "二十");
        assert_eq!(to_chinese(55), "五十五");
        assert_eq!(to_chinese(103), "一百零三");
        assert_eq!(to_chinese(110), "一百一十");
        assert_eq!(to_chinese(1005), "一千零五");
        assert_eq!(to_chinese(10000), "10000", "out of range stays Arabic, never panics");
        assert_eq!(normalize_article_label("第九千九千九千条").as_deref(), Some("第27000条"));
    }

    #[test]
    fn normalizes_labels() {
        assert_eq!(normalize_article_label("第7条").as_deref(), Some("第七条"));
        assert_eq!(normalize_article_label("第 十五 条").as_deref(), Some("第十五条"));
        assert_eq!(normalize_article_label("第一百零三条").as_deref(), Some("第一百零三条"));
        assert_eq!(normalize_article_label("第x条"), None);
        assert_eq!(normalize_article_label("七条"), None);
    }
}
