//! Text of a Word (.docx) document: the paragraphs of `word/document.xml` in order, one per
//! line (table cells one per line), so the structure parser sees 第X章 / 第X条
//! headings exactly as in a text file. Formatting, images and fields are dropped.

use std::io::Read;

use quick_xml::events::Event;

/// `document.xml` larger than this (uncompressed) is refused: a zip bomb, not a regulation.
const MAX_XML_BYTES: u64 = 64 * 1024 * 1024;

/// The document's text, or a reason in Chinese.
pub fn docx_text(bytes: &[u8]) -> Result<String, String> {
    // The shared container check first (entry count, inflated bytes, time), as for spreadsheets.
    let limits = dwt_upload::UploadLimits::default();
    dwt_upload::check_zip(bytes, "docx", &limits, &dwt_upload::Budget::start(&limits)).map_err(|e| e.to_string())?;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|_| "文件不是有效的 .docx（zip）压缩包".to_string())?;
    let file = zip.by_name("word/document.xml").map_err(|_| "压缩包中没有 word/document.xml".to_string())?;
    if file.size() > MAX_XML_BYTES {
        return Err(format!("正文过大（{} 字节）", file.size()));
    }
    let mut xml = String::new();
    file.take(MAX_XML_BYTES).read_to_string(&mut xml).map_err(|e| format!("正文无法解压：{e}"))?;
    paragraphs(&xml)
}

fn paragraphs(xml: &str) -> Result<String, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = String::new();
    let mut line = String::new();
    let mut in_text = false;
    // Depth inside deleted or moved-away runs (tracked changes), field instructions and the
    // fallback copy of text boxes (Word writes each text box twice): not document text.
    let mut skip = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| format!("正文 XML 有误：{e}"))?;
        match event {
            Event::Start(e) => match e.local_name().into_inner() {
                "t" => in_text = true,
                "del" | "instrText" | "delText" | "moveFrom" | "Fallback" => skip += 1,
                _ => {}
            },
            Event::Empty(e) => match e.local_name().into_inner() {
                "tab" if skip == 0 => line.push('\t'),
                "br" | "cr" if skip == 0 => flush(&mut out, &mut line),
                _ => {}
            },
            Event::End(e) => match e.local_name().into_inner() {
                "t" => in_text = false,
                "del" | "instrText" | "delText" | "moveFrom" | "Fallback" => skip = skip.saturating_sub(1),
                "p" | "tr" => flush(&mut out, &mut line),
                _ => {}
            },
            Event::Text(t) if in_text && skip == 0 => line.push_str(&t.xml10_content()),
            Event::CData(t) if in_text && skip == 0 => line.push_str(t.as_ref()),
            Event::GeneralRef(r) if in_text && skip == 0 => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    line.push(c);
                } else if let Some(s) = quick_xml::escape::resolve_predefined_entity(&r.xml10_content()) {
                    line.push_str(s);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    flush(&mut out, &mut line);
    Ok(out)
}

fn flush(out: &mut String, line: &mut String) {
    let t = line.trim_end_matches('\t').trim();
    if !t.is_empty() {
        out.push_str(t);
        out.push('\n');
    }
    line.clear();
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const W: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006""#;

    #[test]
    fn paragraphs_runs_tables_and_entities() {
        let xml = format!(
            r#"<w:document {W}><w:body>
            <w:p><w:r><w:t>第一章</w:t></w:r><w:r><w:t xml:space="preserve"> 总则</w:t></w:r></w:p>
            <w:p><w:r><w:t>第一条 为了</w:t></w:r><w:del><w:r><w:delText>删掉的</w:delText></w:r></w:del><w:r><w:t>规范&amp;加强&#x4E00;</w:t></w:r><w:r><w:br/><w:t>换行后</w:t></w:r></w:p>
            <w:tbl><w:tr><w:tc><w:p><w:r><w:t>甲</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>乙</w:t></w:r></w:p></w:tc></w:tr></w:tbl>
            <w:p><w:r><w:fldChar/><w:instrText> PAGE </w:instrText></w:r></w:p>
            <w:p><mc:AlternateContent><mc:Choice><w:txbxContent><w:p><w:r><w:t>文本框</w:t></w:r></w:p></w:txbxContent></mc:Choice><mc:Fallback><w:p><w:r><w:t>文本框</w:t></w:r></w:p></mc:Fallback></mc:AlternateContent></w:p>
            <w:p><w:moveFrom><w:r><w:t>移走的</w:t></w:r></w:moveFrom><w:moveTo><w:r><w:t>移来的</w:t></w:r></w:moveTo></w:p>
            </w:body></w:document>"#
        );
        let text = paragraphs(&xml).unwrap();
        assert_eq!(text, "第一章 总则\n第一条 为了规范&加强一\n换行后\n甲\n乙\n文本框\n移来的\n");
    }

    #[test]
    fn not_a_docx_is_a_clear_error() {
        assert!(docx_text(b"plain text").unwrap_err().contains("zip"));
    }
}
