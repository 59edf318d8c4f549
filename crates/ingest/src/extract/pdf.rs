//! Text of a PDF with a text layer (exported from Word/WPS or printed from a browser): the
//! characters through each font's ToUnicode map (pdf-extract), then the page layout's line
//! breaks undone, so an article wrapped over three lines is one paragraph again. Scanned PDFs
//! have no text layer and are refused (no OCR here).

/// The document's text, or a reason in Chinese.
pub fn pdf_text(bytes: &[u8]) -> Result<String, String> {
    // pdf-extract panics on some malformed files; a bad upload must be an error, not a crash.
    let extracted = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(bytes))
        .map_err(|_| "PDF 文件结构异常，无法读取".to_string())?
        .map_err(|e| format!("PDF 无法读取：{e}"))?;
    let text = reflow(&extracted);
    if text.chars().filter(|c| !c.is_whitespace()).count() < 10 {
        return Err("PDF 中没有可提取的文字（可能是扫描件），请上传文字版 PDF 或 Word 文档".into());
    }
    Ok(text)
}

/// A line that starts a new paragraph: a 章/节/条 heading or an enumerated item.
fn starts_block(line: &str) -> bool {
    let head: String = line.chars().take(12).collect();
    let numbered = head.starts_with('第') && head.chars().skip(1).take(8).any(|c| matches!(c, '章' | '节' | '条' | '编'));
    let item = head.starts_with(['（', '(']) || head.chars().next().is_some_and(|c| "一二三四五六七八九十".contains(c)) && head.contains('、');
    numbered || item || head.starts_with(['#', '•', '·', '-'])
}

/// A line that ends a paragraph: sentence or clause punctuation at the end, or a short heading.
fn ends_block(line: &str) -> bool {
    line.ends_with(['。', '！', '？', '；', '：', '”', '」', '）', ')', '.', '!', '?', ';', ':'])
        || (line.chars().count() <= 30 && !line.ends_with(['，', ',', '、']))
}

/// Joins layout-wrapped lines into paragraphs (one per line); Chinese needs no space when
/// joining, Latin words do.
pub fn reflow(text: &str) -> String {
    let mut out = String::new();
    let mut para = String::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !para.is_empty() && (ends_block(&para) || starts_block(line)) {
            out.push_str(&para);
            out.push('\n');
            para.clear();
        }
        if para.ends_with(|c: char| c.is_ascii_alphanumeric()) && line.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            para.push(' ');
        }
        para.push_str(line);
    }
    if !para.is_empty() {
        out.push_str(&para);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn wrapped_lines_become_paragraphs_and_headings_stay_apart() {
        let raw = "\n\n关于规范党支部三会一课的规定\n\n第一章 总则\n\n第一条 为规范党支部“三会一课”制度，提高党内政治生活质量，制定\n\n本规定。\n\n第二条 主要包括：\n（一）支部党员大会，\n（二）党课。\nThe quick brown fox jumps over the lazy dog and\nkeeps running.";
        assert_eq!(
            reflow(raw),
            "关于规范党支部三会一课的规定\n第一章 总则\n第一条 为规范党支部“三会一课”制度，提高党内政治生活质量，制定本规定。\n第二条 主要包括：\n（一）支部党员大会，\n（二）党课。\nThe quick brown fox jumps over the lazy dog and keeps running.\n"
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(pdf_text(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ntrailer\n%%EOF").is_err());
        assert!(pdf_text(b"not a pdf").is_err());
    }
}
