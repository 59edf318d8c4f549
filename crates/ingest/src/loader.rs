use std::io::Read;
use std::path::{Path, PathBuf};

use dwt_core::{DocMeta, DocStatus, DocType, ParsedDocument};
use sha2::{Digest, Sha256};

use crate::error::IngestError;
use crate::html::html_to_text;
use crate::structure::{infer_meta, parse_text};

const TEXT_EXTENSIONS: &[&str] = &["md", "markdown", "txt"];
const HTML_EXTENSIONS: &[&str] = &["html", "htm"];
const WORD_EXTENSIONS: &[&str] = &["docx"];
const PDF_EXTENSIONS: &[&str] = &["pdf"];

#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub max_file_bytes: u64,
    /// Document keys are paths relative to this folder (stable across machines).
    pub key_base: Option<PathBuf>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self { max_file_bytes: 20 * 1024 * 1024, key_base: None }
    }
}

fn supported(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .is_some_and(|e| TEXT_EXTENSIONS.contains(&e.as_str()) || HTML_EXTENSIONS.contains(&e.as_str()) || WORD_EXTENSIONS.contains(&e.as_str()) || PDF_EXTENSIONS.contains(&e.as_str()))
}

/// A short first line that is not a sentence, a chapter or an article.
fn looks_like_title(line: &str) -> bool {
    let l = line.trim();
    let n = l.chars().count();
    let numbered = l.starts_with('第') && l.chars().take(8).any(|c| matches!(c, '章' | '节' | '条' | '编'));
    (2..=60).contains(&n) && !numbered && !l.ends_with(['。', '；', '：', ':', ';', '，'])
}

fn has_extension(path: &Path, list: &[&str]) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| list.contains(&e.to_ascii_lowercase().as_str()))
}

fn skipped_name(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.starts_with('.') || name.to_ascii_uppercase().starts_with("README")
}

/// Expands files and folders into the files to ingest, sorted for a stable order. Named files
/// are always returned (so that unsupported ones get their error); inside folders only supported
/// extensions are taken, skipping hidden entries and READMEs.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, IngestError> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|source| IngestError::Io { path: p.clone(), source })?;
        if meta.is_dir() {
            walk_dir(p, &mut out)?;
        } else {
            out.push(p.clone());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk_dir(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), IngestError> {
    let entries = std::fs::read_dir(dir).map_err(|source| IngestError::Io { path: dir.to_path_buf(), source })?;
    for entry in entries {
        let entry = entry.map_err(|source| IngestError::Io { path: dir.to_path_buf(), source })?;
        let path = entry.path();
        if skipped_name(&path) {
            continue;
        }
        let ft = entry.file_type().map_err(|source| IngestError::Io { path: path.clone(), source })?;
        if ft.is_dir() {
            walk_dir(&path, out)?;
        } else if supported(&path) {
            out.push(path);
        }
    }
    Ok(())
}

fn document_key(path: &Path, base: Option<&Path>) -> String {
    let rel = base.and_then(|b| path.strip_prefix(b).ok()).unwrap_or(path);
    rel.to_string_lossy().replace('\\', "/")
}

/// Reads, validates and parses one file.
pub fn load_file(path: &Path, opts: &LoadOptions) -> Result<ParsedDocument, IngestError> {
    let io = |source| IngestError::Io { path: path.to_path_buf(), source };
    if !supported(path) {
        return Err(IngestError::Unsupported(path.to_path_buf()));
    }
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > opts.max_file_bytes {
        return Err(IngestError::TooLarge { path: path.to_path_buf(), size, limit: opts.max_file_bytes });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    std::fs::File::open(path).map_err(io)?.read_to_end(&mut bytes).map_err(io)?;
    let key = document_key(path, opts.key_base.as_deref());
    parse_bytes(bytes, path, key)
}

/// Parses a file's bytes (already read or uploaded): `path` gives its name and extension (for
/// messages, the type and the fallback title), `key` the document key.
pub fn parse_bytes(bytes: Vec<u8>, path: &Path, key: String) -> Result<ParsedDocument, IngestError> {
    if !supported(path) {
        return Err(IngestError::Unsupported(path.to_path_buf()));
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(IngestError::Empty(path.to_path_buf()));
    }
    // Word and PDF: their paragraphs become a plain text file (no front matter; title from the
    // first line or the file name, structure from 第X章 / 第X条 lines as for text).
    let office = if has_extension(path, WORD_EXTENSIONS) {
        Some(crate::extract::docx_text(&bytes).map_err(|detail| IngestError::BadDocx { path: path.to_path_buf(), detail })?)
    } else if has_extension(path, PDF_EXTENSIONS) {
        Some(crate::extract::pdf_text(&bytes).map_err(|detail| IngestError::BadPdf { path: path.to_path_buf(), detail })?)
    } else {
        None
    };
    let bytes = if let Some(text) = office {
        let mut t = String::from("---\n\n---\n");
        // Word documents carry their title as the first paragraph.
        if text.lines().next().is_some_and(looks_like_title) {
            t.push_str("# ");
        }
        t.push_str(&text);
        t.into_bytes()
    } else {
        bytes
    };
    if bytes.iter().take(8192).any(|b| *b == 0) {
        return Err(IngestError::Binary(path.to_path_buf()));
    }
    let text = String::from_utf8(bytes).map_err(|_| IngestError::InvalidUtf8(path.to_path_buf()))?;
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("未命名文档").to_string();
    let is_html = has_extension(path, HTML_EXTENSIONS);
    let (mut meta, given, body) = if is_html && crate::extract::looks_like_wechat(&text) {
        let a = match crate::extract::parse_wechat(&text) {
            crate::extract::WechatPage::Article(a) => a,
            crate::extract::WechatPage::Unavailable { message } => {
                return Err(IngestError::WechatUnavailable { path: path.to_path_buf(), message })
            }
            crate::extract::WechatPage::Verification => return Err(IngestError::WechatVerification(path.to_path_buf())),
            crate::extract::WechatPage::Unrecognized => {
                return Err(IngestError::WechatUnavailable { path: path.to_path_buf(), message: "页面不是可识别的公众号文章".into() })
            }
        };
        let meta = wechat_meta(&a);
        (meta, FrontMatterGiven { doc_type: true }, a.text)
    } else if is_html {
        let h = html_to_text(&text);
        let meta = DocMeta { title: h.title.unwrap_or_default(), ..DocMeta::default() };
        (meta, FrontMatterGiven::default(), h.text)
    } else {
        let (meta, given, body) = split_front_matter(&text, path)?;
        (meta, given, body.to_string())
    };
    let structured = if given.doc_type { Some(meta.doc_type.is_structured()) } else { None };
    let parsed = parse_text(&body, structured);
    infer_meta(&mut meta, &parsed, &stem, given.doc_type);
    if parsed.blocks.is_empty() {
        return Err(IngestError::NoText(path.to_path_buf()));
    }
    let content_hash = content_hash(&meta, &parsed.blocks);
    Ok(ParsedDocument { key, meta, blocks: parsed.blocks, content_hash })
}

/// Metadata of a WeChat article: news, issued by the account, dated by its publish time.
pub fn wechat_meta(a: &crate::extract::WechatArticle) -> DocMeta {
    DocMeta {
        title: a.title.clone(),
        doc_type: DocType::News,
        issuer: a.account.clone(),
        origin_url: a.url.clone(),
        published_at: a.published_at.clone(),
        ..DocMeta::default()
    }
}

/// A document from already extracted text (crawled pages, API items): parsed by its given type,
/// keyed by `key` (the canonical URL). None when the text has no content blocks.
pub fn build_document(key: String, mut meta: DocMeta, text: &str) -> Option<ParsedDocument> {
    let parsed = parse_text(text, Some(meta.doc_type.is_structured()));
    if parsed.blocks.is_empty() {
        return None;
    }
    let fallback = meta.title.clone();
    infer_meta(&mut meta, &parsed, &fallback, true);
    let content_hash = content_hash(&meta, &parsed.blocks);
    Some(ParsedDocument { key, meta, blocks: parsed.blocks, content_hash })
}

fn content_hash(meta: &DocMeta, blocks: &[dwt_core::Block]) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(meta).unwrap_or_default());
    h.update(serde_json::to_vec(blocks).unwrap_or_default());
    hex::encode(h.finalize())
}

#[derive(Default)]
struct FrontMatterGiven {
    doc_type: bool,
}

/// Optional `---` front matter with `key: value` lines (title, doc_type, issuer,
/// effective_date, version, status, url, superseded_by).
fn split_front_matter<'a>(text: &'a str, path: &Path) -> Result<(DocMeta, FrontMatterGiven, &'a str), IngestError> {
    let mut meta = DocMeta::default();
    let mut given = FrontMatterGiven::default();
    let t = text.trim_start_matches('\u{feff}');
    let Some(rest) = t.strip_prefix("---\n").or_else(|| t.strip_prefix("---\r\n")) else {
        return Ok((meta, given, t));
    };
    let Some(end) = rest.find("\n---") else {
        return Err(IngestError::FrontMatter { path: path.to_path_buf(), detail: "缺少结束行 ---".into() });
    };
    let header = &rest[..end];
    let body = rest[end + 4..].trim_start_matches(['\r', '\n']);
    for (i, line) in header.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |detail: String| IngestError::FrontMatter { path: path.to_path_buf(), detail };
        let (k, v) = line.split_once(':').ok_or_else(|| bad(format!("第 {} 行应为 键: 值", i + 2)))?;
        let v = v.trim().trim_matches('"').to_string();
        match k.trim() {
            "title" => meta.title = v,
            "doc_type" => {
                meta.doc_type = DocType::parse(&v).ok_or_else(|| bad(format!("doc_type 取值无效：{v}")))?;
                given.doc_type = true;
            }
            "issuer" => meta.issuer = Some(v),
            "effective_date" => meta.effective_date = Some(v),
            "version" => meta.version = Some(v),
            "status" => meta.status = DocStatus::parse(&v).ok_or_else(|| bad(format!("status 取值无效：{v}")))?,
            "url" | "origin" => meta.origin_url = Some(v),
            "superseded_by" => meta.superseded_by_file = Some(v),
            other => return Err(bad(format!("未知的键：{other}"))),
        }
    }
    Ok((meta, given, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap_or_default();
        p
    }

    #[test]
    fn bad_files_get_clear_errors() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable_tmp(e));
        let d = dir.path();
        let opts = LoadOptions { max_file_bytes: 1000, key_base: Some(d.to_path_buf()) };
        let cases = [
            (write(d, "empty.md", b"  \n"), "ingest.empty_file"),
            (write(d, "bin.txt", b"abc\0def"), "ingest.binary_file"),
            (write(d, "gbk.txt", &[0xD6, 0xD0, 0xB9, 0xFA, 0xB9, 0xB2]), "ingest.invalid_utf8"),
            (write(d, "big.md", &vec![b'a'; 2000]), "ingest.file_too_large"),
            (write(d, "x.pdfx", b"hello"), "ingest.unsupported_type"),
            (write(d, "fm.md", b"---\ncolour: red\n---\ntext"), "ingest.bad_front_matter"),
        ];
        for (path, code) in cases {
            let err = load_file(&path, &opts).err();
            assert_eq!(err.as_ref().map(|e| e.code()), Some(code), "{path:?}: {err:?}");
            let msg = err.map(|e| e.to_string()).unwrap_or_default();
            assert!(msg.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "message in Chinese: {msg}");
        }
    }

    #[test]
    fn front_matter_sets_metadata_and_key_is_relative() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable_tmp(e));
        let d = dir.path();
        std::fs::create_dir_all(d.join("sub")).unwrap_or_default();
        let p = write(
            d,
            "sub/notice.md",
            "---\ntitle: 关于开展主题党日的通知\ndoc_type: notice\nissuer: 某党委\n---\n各支部：\n\n请于本月开展主题党日活动。\n".as_bytes(),
        );
        let doc = load_file(&p, &LoadOptions { max_file_bytes: 10_000, key_base: Some(d.to_path_buf()) });
        let doc = doc.unwrap_or_else(|e| unreachable_tmp(std::io::Error::other(e.to_string())));
        assert_eq!(doc.key, "sub/notice.md");
        assert_eq!(doc.meta.title, "关于开展主题党日的通知");
        assert_eq!(doc.meta.doc_type, DocType::Notice);
        assert_eq!(doc.meta.issuer.as_deref(), Some("某党委"));
        assert_eq!(doc.blocks.len(), 2);
        let again = load_file(&p, &LoadOptions { max_file_bytes: 10_000, key_base: Some(d.to_path_buf()) });
        assert_eq!(again.map(|d| d.content_hash).ok(), Some(doc.content_hash));
        assert_eq!(doc.meta.superseded_by_file, None);

        let old = write(d, "old.md", "---\ntitle: 某条例\nstatus: repealed\nsuperseded_by: new.md\n---\n第一条 旧规定。\n".as_bytes());
        let doc = load_file(&old, &LoadOptions { max_file_bytes: 10_000, key_base: None });
        let meta = doc.map(|d| d.meta).unwrap_or_default();
        assert_eq!(meta.superseded_by_file.as_deref(), Some("new.md"));
        assert_eq!(meta.status, DocStatus::Repealed);
    }

    #[allow(clippy::panic)]
    fn unreachable_tmp(e: std::io::Error) -> ! {
        panic!("test setup failed: {e}")
    }
}
