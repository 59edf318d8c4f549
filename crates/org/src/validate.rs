//! Field checks with clear Chinese errors, and masking of personal data for lists and exports.

use chrono::NaiveDate;

use crate::CoreError;

/// 18-digit resident ID (GB 11643-1999): 6-digit area, 8-digit birth date, 3-digit sequence,
/// and an ISO 7064 MOD 11-2 check character (0–9 or X). Returns the normalised number (upper X).
pub fn id_number(raw: &str) -> Result<String, CoreError> {
    let s: String = raw.trim().to_uppercase();
    let bad = |why: &str| CoreError::invalid("member.invalid_id_number", format!("身份证号“{}”无效：{why}", raw.trim()));
    if s.chars().count() != 18 {
        return Err(bad("应为 18 位"));
    }
    let bytes = s.as_bytes();
    if !bytes[..17].iter().all(u8::is_ascii_digit) || !(bytes[17].is_ascii_digit() || bytes[17] == b'X') {
        return Err(bad("前 17 位应为数字，最后一位为数字或 X"));
    }
    if NaiveDate::parse_from_str(&s[6..14], "%Y%m%d").is_err() {
        return Err(bad("出生日期部分不是有效日期"));
    }
    if id_check_char(&s[..17]) != Some(bytes[17] as char) {
        return Err(bad("校验位不正确"));
    }
    Ok(s)
}

/// The ISO 7064 MOD 11-2 check character for 17 leading digits.
pub fn id_check_char(first17: &str) -> Option<char> {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let b = first17.as_bytes();
    if b.len() != 17 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = b.iter().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    Some(CHECK[(sum % 11) as usize] as char)
}

/// Mainland mobile number: 11 digits starting 13–19 (spaces, dashes and +86 are tolerated).
pub fn mobile(raw: &str) -> Result<String, CoreError> {
    let mut s: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if let Some(rest) = s.strip_prefix("+86") {
        s = rest.to_string();
    }
    let b = s.as_bytes();
    if b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) && b.iter().all(u8::is_ascii_digit) {
        Ok(s)
    } else {
        Err(CoreError::invalid("member.invalid_phone", format!("手机号“{}”无效：应为 11 位手机号码", raw.trim())))
    }
}

/// Office or mobile number for an organisation contact: digits with optional dashes, 7–20 chars.
pub fn contact_phone(raw: &str) -> Result<String, CoreError> {
    let s = raw.trim();
    if (7..=20).contains(&s.len()) && s.chars().all(|c| c.is_ascii_digit() || c == '-' || c == ' ') {
        Ok(s.to_string())
    } else {
        Err(CoreError::invalid("org.invalid_phone", format!("联系电话“{s}”无效")))
    }
}

/// `YYYY-MM-DD` (also accepts `YYYY/MM/DD` and `YYYY.MM.DD`), normalised to `YYYY-MM-DD`.
pub fn date(field: &str, raw: &str) -> Result<String, CoreError> {
    let s = raw.trim().replace(['/', '.'], "-");
    NaiveDate::parse_from_str(&s, "%Y-%m-%d")
        .map(|d| d.format("%Y-%m-%d").to_string())
        .map_err(|_| CoreError::invalid("member.invalid_date", format!("{field}“{}”无效：应为 YYYY-MM-DD 格式的日期", raw.trim())))
}

/// A required text field, trimmed, with a length cap.
pub fn required(code: &'static str, field: &str, raw: &str, max_chars: usize) -> Result<String, CoreError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(CoreError::invalid(code, format!("{field}不能为空")));
    }
    if s.chars().count() > max_chars {
        return Err(CoreError::invalid(code, format!("{field}不能超过 {max_chars} 个字")));
    }
    Ok(s.to_string())
}

/// An optional text field: blank becomes None.
pub fn optional(code: &'static str, field: &str, raw: Option<&str>, max_chars: usize) -> Result<Option<String>, CoreError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => required(code, field, s, max_chars).map(Some),
    }
}

/// Serde helper: a JSON `null` reads as the default, so a missing required field gets the
/// field's Chinese validation message instead of serde's English type error.
pub fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    use serde::Deserialize;
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Equal strings, compared without an early exit (tokens, code hashes).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `138****5678`.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 7 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

/// `110105********1234`.
pub fn mask_id_number(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() < 10 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 10))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn id_number_checksum() {
        // 11010519491231002X is the standard's worked example.
        assert_eq!(id_number("11010519491231002x").unwrap(), "11010519491231002X");
        let e = id_number("110105194912310021").unwrap_err();
        assert_eq!(e.code(), "member.invalid_id_number");
        assert!(e.to_string().contains("校验位"), "{e}");
        assert!(id_number("1101051949123100").unwrap_err().to_string().contains("18 位"));
        assert!(id_number("110105194913310027").unwrap_err().to_string().contains("出生日期"));
        assert_eq!(id_check_char("11010519491231002"), Some('X'));
    }

    #[test]
    fn phones_and_dates() {
        assert_eq!(mobile("+86 138-0013-8000").unwrap(), "13800138000");
        assert_eq!(mobile("12800138000").unwrap_err().code(), "member.invalid_phone");
        assert_eq!(mobile("1380013800").unwrap_err().code(), "member.invalid_phone");
        assert_eq!(date("入党日期", "2001/7/1").unwrap(), "2001-07-01");
        assert!(date("入党日期", "2001-02-30").unwrap_err().to_string().contains("入党日期"));
    }

    #[test]
    fn masking() {
        assert_eq!(mask_phone("13800138000"), "138****8000");
        assert_eq!(mask_id_number("11010519491231002X"), "110105********002X");
        assert_eq!(mask_phone("123"), "***");
    }
}
