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

/// A line that ends a paragraph: sentence or clause punctuation at the end, or clearly shorter
/// than a full line of the page (a heading, a paragraph's last line). `full` is the document's
/// full line length (official documents set 28 characters a line; a short page has none).
fn ends_block(line: &str, full: usize) -> bool {
    line.ends_with(['。', '！', '？', '；', '：', '”', '」', '）', ')', '.', '!', '?', ';', ':'])
        || (line.chars().count() * 5 < full * 4 && !line.ends_with(['，', ',', '、']))
}

/// A page number line: "3", "- 3 -", "— 3 —", "第 3 页", "3/12".
fn is_page_number(line: &str) -> bool {
    let core: String = line.chars().filter(|c| !c.is_whitespace() && !matches!(c, '-' | '—' | '–' | '－')).collect();
    let core = core.strip_prefix('第').and_then(|c| c.strip_suffix('页')).unwrap_or(&core);
    !core.is_empty() && core.chars().all(|c| c.is_ascii_digit() || c == '/') && core.chars().next().is_some_and(|c| c.is_ascii_digit())
}

/// The length of a full line: the 90th percentile of line lengths (in characters).
fn full_line(lines: &[&str]) -> usize {
    let mut n: Vec<usize> = lines.iter().map(|l| l.chars().count()).collect();
    n.sort_unstable();
    n.get(n.len() * 9 / 10).or(n.last()).copied().unwrap_or(0)
}

/// Joins layout-wrapped lines into paragraphs (one per line); Chinese needs no space when
/// joining, Latin words do.
pub fn reflow(text: &str) -> String {
    let mut out = String::new();
    let mut para = String::new();
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty() && !is_page_number(l)).collect();
    let full = full_line(&lines);
    let mut last_line = "";
    for line in lines {
        if !para.is_empty() && (ends_block(last_line, full) || starts_block(line)) {
            out.push_str(&para);
            out.push('\n');
            para.clear();
        }
        if para.ends_with(|c: char| c.is_ascii_alphanumeric()) && line.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            para.push(' ');
        }
        para.push_str(line);
        last_line = line;
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
        let raw = "\n\n关于规范党支部三会一课的规定\n\n第一章 总则\n\n第一条 为规范党支部“三会一课”制度，提高党内政治生活质量，制定\n\n本规定。\n\n第二条 主要包括：\n（一）支部党员大会，\n（二）党课。";
        assert_eq!(
            reflow(raw),
            "关于规范党支部三会一课的规定\n第一章 总则\n第一条 为规范党支部“三会一课”制度，提高党内政治生活质量，制定本规定。\n第二条 主要包括：\n（一）支部党员大会，\n（二）党课。\n"
        );
        assert_eq!(reflow("The quick brown fox jumps over\nthe lazy dog."), "The quick brown fox jumps over the lazy dog.\n");
        // Page numbers between pages are dropped, not glued into the article.
        assert_eq!(reflow("第一条 党员必须履行下列义务，认真学习\n— 2 —\n马克思列宁主义。\n第 3 页\n12/40"), "第一条 党员必须履行下列义务，认真学习马克思列宁主义。\n");
    }

    #[test]
    fn official_documents_with_28_character_lines_are_joined() {
        // GB/T 9704: 28 characters a line; a paragraph's last line is shorter.
        let raw = "一、总体要求\n以习近平新时代中国特色社会主义思想为指导，全面贯彻\n党的二十大精神，认真落实新时代党的建设总要求，推动\n党支部建设全面进步全面过硬。\n二、主要任务\n坚持把政治建设摆在首位。";
        assert_eq!(
            reflow(raw),
            "一、总体要求\n以习近平新时代中国特色社会主义思想为指导，全面贯彻党的二十大精神，认真落实新时代党的建设总要求，推动党支部建设全面进步全面过硬。\n二、主要任务\n坚持把政治建设摆在首位。\n"
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(pdf_text(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ntrailer\n%%EOF").is_err());
        assert!(pdf_text(b"not a pdf").is_err());
    }
}
