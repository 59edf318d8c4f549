//! Hostile files posted to every import endpoint (organisations, members, curated pairs,
//! documents): a far cell, a shared-strings bomb, ten thousand zip entries, a truncated archive,
//! deeply nested XML, garbage and an empty body. Each is a 4xx `{code, message}` with a Chinese
//! message, the server keeps answering, and its memory stays bounded (this test runs in its own
//! process under nextest, so `/proc/self/status` is the server's).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Cursor, Read, Write};

use axum::body::Body;
use axum::http::StatusCode;
use common::{app_with_core, request};
use dwt_org::demo::DEMO_PASSWORD;
use dwt_org::LoginOutcome;
use serde_json::Value;

/// An entry name and what writes its content.
type Entry<'a> = (&'a str, &'a dyn Fn(&mut dyn Write));

/// A valid .xlsx with `replace` entries swapped in or added.
fn rezip(base: &[u8], replace: &[Entry]) -> Vec<u8> {
    let mut src = zip::ZipArchive::new(Cursor::new(base)).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_level(Some(1));
    for i in 0..src.len() {
        let mut f = src.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        if replace.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        out.start_file(name, opts).unwrap();
        out.write_all(&data).unwrap();
    }
    for (name, write) in replace {
        out.start_file(*name, opts).unwrap();
        write(&mut out);
    }
    out.finish().unwrap().into_inner()
}

fn vm_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn hostile_files_get_a_chinese_4xx_from_every_importer_and_memory_stays_bounded() {
    let (_tmp, app, core) = app_with_core().await;
    let token = match core.auth.login("sysadmin", DEMO_PASSWORD, None).await.unwrap() {
        LoginOutcome::Ok(s) => s.token,
        other => panic!("{other:?}"),
    };
    let t = Some(token.as_str());
    let base = dwt_org::xlsx::sheet_from_rows(&["问题", "答案"], &[vec!["支部多久开一次会", "见党章"]]).unwrap();

    let mut far = rust_xlsxwriter::Workbook::new();
    let ws = far.add_worksheet();
    ws.write_string(0, 0, "组织编码").unwrap();
    ws.write_string(1_048_575, 16_383, "x").unwrap();
    let far = far.save_to_buffer().unwrap();
    // 1 KiB strings repeated to 300 MiB: a few hundred KiB compressed.
    let bomb = rezip(&base, &[("xl/sharedStrings.xml", &|w: &mut dyn Write| {
        w.write_all(b"<?xml version=\"1.0\"?><sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">").unwrap();
        let item = format!("<si><t>{}</t></si>", "党".repeat(340));
        let block = item.repeat(1024);
        for _ in 0..(300 * 1024 * 1024 / block.len()) {
            w.write_all(block.as_bytes()).unwrap();
        }
        w.write_all(b"</sst>").unwrap();
    })]);
    let many_entries = {
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for i in 0..5000 {
            out.start_file(format!("xl/media/{i}.bin"), zip::write::SimpleFileOptions::default()).unwrap();
        }
        out.finish().unwrap().into_inner()
    };
    let truncated = base[..base.len() / 2].to_vec();
    let deep = rezip(&base, &[("xl/worksheets/sheet1.xml", &|w: &mut dyn Write| {
        w.write_all(b"<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>").unwrap();
        w.write_all("<row>".repeat(200_000).as_bytes()).unwrap();
    })]);
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("far cell", far),
        ("string bomb", bomb),
        ("5000 entries", many_entries),
        ("truncated", truncated),
        ("deep xml", deep),
        ("garbage", b"\x00\x01not a spreadsheet at all".to_vec()),
        ("empty", Vec::new()),
    ];
    assert!(files[1].1.len() < 4 * 1024 * 1024, "the bomb is small on the wire: {}", files[1].1.len());

    let rss_before = vm_kib("VmRSS:");
    let endpoints = ["/api/admin/orgs/import", "/api/admin/members/import", "/api/admin/qa/import", "/api/admin/kb/documents/upload?filename=hostile.docx"];
    let mut codes = std::collections::BTreeSet::new();
    for uri in endpoints {
        for (what, bytes) in &files {
            let (status, _, body) = request(&app, "POST", uri, t, &[], Some(Body::from(bytes.clone())), Some("application/octet-stream")).await;
            assert!(status.is_client_error(), "{what} → {uri}: {status} {body}");
            let v: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{what} → {uri}: not JSON: {body}"));
            let message = v["message"].as_str().unwrap_or_default();
            assert!(message.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{what} → {uri}: not a Chinese message: {body}");
            codes.insert(format!("{what}: {}", v["code"].as_str().unwrap()));
        }
    }
    // The refusals say what was wrong, not just "unreadable".
    for expected in ["far cell: upload.sheet_too_large", "string bomb: upload.inflated_too_large", "5000 entries: upload.too_many_entries", "truncated: upload.not_a_zip"] {
        assert!(codes.contains(expected), "{expected} missing from {codes:?}");
    }
    let peak = vm_kib("VmHWM:");
    assert!(peak.saturating_sub(rss_before) < 100 * 1024, "memory rose from {rss_before} KiB to a peak of {peak} KiB");

    // Still serving, and nothing was imported.
    let (status, _, _) = request(&app, "GET", "/healthz", None, &[], None, None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, list) = request(&app, "GET", "/api/admin/qa?q=%E6%94%AF%E9%83%A8%E5%A4%9A%E4%B9%85", t, &[], None, None).await;
    assert!(!list.contains("见党章"), "{list}");
}
