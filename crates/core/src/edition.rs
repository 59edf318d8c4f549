//! Which edition of a document a citation quotes: 《中国共产党章程》（2022年版）第七条.

use crate::DocType;

/// The edition label of a document: the leading 「…版」 of its version line (「2026年修订版（…）」
/// → 「2026年修订版」), else, for rule texts, the year it took effect (「2022年版」). News and
/// notices have no edition (their publish date says when they were written).
pub fn edition_label(doc_type: DocType, version: Option<&str>, effective_date: Option<&str>) -> Option<String> {
    if let Some(v) = version.map(str::trim).filter(|v| !v.is_empty()) {
        let head = v.split(['（', '(', '，', ',', '；', ' ']).next().unwrap_or_default().trim();
        if head.ends_with('版') && head.chars().count() <= 12 {
            return Some(head.to_string());
        }
    }
    if !matches!(doc_type, DocType::Constitution | DocType::Regulation | DocType::Law) {
        return None;
    }
    let year = effective_date?.trim().get(..4)?;
    year.chars().all(|c| c.is_ascii_digit()).then(|| format!("{year}年版"))
}

/// 《title》（edition）article, the label every citation uses.
pub fn cite_label(doc_title: &str, edition: Option<&str>, article: Option<&str>) -> String {
    let mut s = format!("《{doc_title}》");
    if let Some(e) = edition.filter(|e| !e.is_empty()) {
        s.push_str(&format!("（{e}）"));
    }
    if let Some(a) = article {
        s.push_str(a);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edition_comes_from_the_version_line_or_the_year_in_force() {
        let e = |t, v, d| edition_label(t, v, d);
        assert_eq!(e(DocType::Constitution, Some("2022年版（中国共产党第二十次全国代表大会部分修改）"), Some("2022-10-22")).as_deref(), Some("2022年版"));
        assert_eq!(e(DocType::Regulation, Some("2026年修订版（2026年4月2日…修订）"), None).as_deref(), Some("2026年修订版"));
        // A version line that is not an edition name: the year it took effect.
        assert_eq!(e(DocType::Regulation, Some("2022年2月25日发布"), Some("2022-05-01")).as_deref(), Some("2022年版"));
        assert_eq!(e(DocType::Regulation, None, Some("bad")), None);
        assert_eq!(e(DocType::News, None, Some("2024-01-01")), None);
        assert_eq!(e(DocType::News, Some("第二版"), None).as_deref(), Some("第二版"));
    }

    #[test]
    fn labels() {
        assert_eq!(cite_label("中国共产党章程", Some("2022年版"), Some("第七条")), "《中国共产党章程》（2022年版）第七条");
        assert_eq!(cite_label("某文件", None, None), "《某文件》");
        assert_eq!(cite_label("某文件", Some(""), Some("第一条")), "《某文件》第一条");
    }
}
