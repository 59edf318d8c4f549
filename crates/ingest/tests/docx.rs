//! Word (.docx) and PDF documents parse like text: title from the first line, 章 headings and 条 articles.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/docx/zhutidangri-guiding.docx")
}

#[test]
fn a_word_regulation_keeps_its_title_chapters_and_articles() {
    let doc = dwt_ingest::load_file(&fixture(), &dwt_ingest::LoadOptions::default()).unwrap();
    assert_eq!(doc.meta.title, "关于规范党支部主题党日活动的规定");
    let articles: Vec<(String, Vec<String>)> =
        doc.blocks.iter().filter_map(|b| b.article.clone().map(|a| (a, b.heading_path.clone()))).collect();
    let labels: Vec<&str> = articles.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(labels, ["第一条", "第二条", "第三条", "第四条"]);
    assert_eq!(articles[3].1, vec!["第二章 活动内容".to_string()]);
    let all: String = doc.blocks.iter().map(|b| b.text.as_str()).collect::<Vec<_>>().join("\n");
    assert!(all.contains("为规范党支部主题党日活动，提高组织生活质量"), "runs are joined: {all}");
    assert!(all.contains("每月第一个星期五"));
}

#[test]
fn broken_or_renamed_files_are_refused_with_a_chinese_reason() {
    let bytes = std::fs::read(fixture()).unwrap();
    let cut = bytes[..bytes.len() / 2].to_vec();
    let err = dwt_ingest::parse_bytes(cut, Path::new("半个.docx"), "k".into()).unwrap_err();
    assert_eq!(err.code(), "ingest.bad_docx");
    assert!(err.to_string().contains("另存为 .docx"), "{err}");
    let err = dwt_ingest::parse_bytes(b"not a zip at all".to_vec(), Path::new("x.docx"), "k".into()).unwrap_err();
    assert_eq!(err.code(), "ingest.bad_docx");
}

/// A PDF printed from a browser (text layer with embedded CJK font subsets, lines wrapped by
/// the page layout): the same structure as its source text.
#[test]
fn a_pdf_regulation_is_reflowed_into_its_articles() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pdf/sanhui-yike.pdf");
    let doc = dwt_ingest::load_file(&path, &dwt_ingest::LoadOptions::default()).unwrap();
    assert_eq!(doc.meta.title, "关于规范党支部三会一课的规定");
    let labels: Vec<&str> = doc.blocks.iter().filter_map(|b| b.article.as_deref()).collect();
    assert_eq!(labels, ["第一条", "第二条", "第三条", "第四条"]);
    let first = doc.blocks.iter().find(|b| b.article.as_deref() == Some("第一条")).unwrap();
    assert!(first.text.contains("提高党内政治生活质量，制定本规定。"), "wrapped lines are joined: {}", first.text);
    let third = doc.blocks.iter().find(|b| b.article.as_deref() == Some("第三条")).unwrap();
    assert_eq!(third.heading_path, vec!["第二章 组织实施".to_string()]);
    let err = dwt_ingest::parse_bytes(b"%PDF-1.7 truncated".to_vec(), Path::new("bad.pdf"), "k".into()).unwrap_err();
    assert_eq!(err.code(), "ingest.bad_pdf");
}
