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
use common::{app_with_core, demo_token, request};
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
    let token = demo_token(&core, "sysadmin").await;
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

/// A sheet with a header and no rows is the uploader's mistake: 400 with a code saying so, not
/// 200 "imported nothing". A document name with a control character is refused, not kept.
#[tokio::test]
async fn empty_sheets_and_control_characters_in_names_are_refused() {
    let (_tmp, app, core) = app_with_core().await;
    let token = demo_token(&core, "sysadmin").await;
    let t = Some(token.as_str());
    let cases = [
        ("/api/admin/orgs/import", dwt_org::xlsx::sheet_from_rows(dwt_org::xlsx::ORG_IMPORT_HEADERS, &[]).unwrap(), "import.empty"),
        ("/api/admin/members/import", dwt_org::xlsx::sheet_from_rows(dwt_org::xlsx::MEMBER_IMPORT_HEADERS, &[]).unwrap(), "import.empty"),
        ("/api/admin/qa/import", dwt_org::xlsx::sheet_from_rows(&["问题", "答案"], &[]).unwrap(), "qa_import.empty"),
    ];
    for (uri, bytes, code) in cases {
        let (status, _, body) = request(&app, "POST", uri, t, &[], Some(Body::from(bytes)), Some("application/octet-stream")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["code"], code, "{uri}: {body}");
        assert!(v["message"].as_str().unwrap().contains("没有数据"), "{body}");
    }
    for name in ["a%00b.md", "a%0Ab.md"] {
        let (status, _, body) = request(&app, "POST", &format!("/api/admin/kb/documents/upload?filename={name}"), t, &[], Some(Body::from("# 标题\n\n第一条 内容。")), Some("application/octet-stream")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {body}");
        assert!(body.contains("kb.bad_filename"), "{body}");
    }
    // A Windows path keeps only the file name in the document key.
    let (status, _, body) = request(&app, "POST", "/api/admin/kb/documents/upload?filename=C%3A%5Cdocs%5C%E8%A7%84%E5%AE%9A.md", t, &[], Some(Body::from("# 某支部学习制度\n\n第一条 每月学习一次。")), Some("application/octet-stream")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["document"]["key"], "upload:规定.md", "{body}");
}

/// Property: whatever bytes arrive, an importer answers 2xx or a Chinese 4xx `{code, message}`,
/// never a 5xx, and the server keeps serving. Inputs are random mutations (seeded, so a failure
/// replays) of valid spreadsheets and a valid .docx, on the wire and inside the archive: byte
/// flips, truncations, spliced ranges, and XML cut or repeated inside a re-zipped sheet.
#[tokio::test]
async fn mutated_files_never_get_a_5xx_from_any_importer() {
    use rand::{Rng, SeedableRng};
    let (_tmp, app, core) = app_with_core().await;
    let token = demo_token(&core, "sysadmin").await;
    let t = Some(token.as_str());
    let orgs = dwt_org::xlsx::sheet_from_rows(dwt_org::xlsx::ORG_IMPORT_HEADERS, &[vec!["FZ01", "测试支部", "党支部", "DW01"]]).unwrap();
    let pairs = dwt_org::xlsx::sheet_from_rows(&["问题", "答案"], &[vec!["支部多久开一次会", "见党章"]]).unwrap();
    let docx = std::fs::read(common::repo_root().join("crates/ingest/tests/fixtures/docx/zhutidangri-guiding.docx")).unwrap();
    let sheet_xml = {
        let mut z = zip::ZipArchive::new(Cursor::new(&pairs[..])).unwrap();
        let mut s = String::new();
        z.by_name("xl/worksheets/sheet1.xml").unwrap().read_to_string(&mut s).unwrap();
        s
    };
    let targets: [(&str, &Vec<u8>); 4] = [
        ("/api/admin/orgs/import", &orgs),
        ("/api/admin/members/import", &orgs),
        ("/api/admin/qa/import", &pairs),
        ("/api/admin/kb/documents/upload?filename=fuzz.docx", &docx),
    ];
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed_d3a7);
    let mut answered = std::collections::BTreeMap::<u16, usize>::new();
    for case in 0..160 {
        let (uri, base) = targets[case % targets.len()];
        let mut bytes = base.clone();
        match rng.random_range(0..5) {
            0 => {
                for _ in 0..rng.random_range(1..16) {
                    let i = rng.random_range(0..bytes.len());
                    bytes[i] ^= 1 << rng.random_range(0..8);
                }
            }
            1 => bytes.truncate(rng.random_range(0..bytes.len())),
            2 => {
                let (a, b) = (rng.random_range(0..bytes.len()), rng.random_range(0..bytes.len()));
                let (a, b) = (a.min(b), a.max(b));
                let piece = bytes[a..b].to_vec();
                let at = rng.random_range(0..bytes.len());
                bytes.splice(at..at, piece);
            }
            3 => {
                // Well-formed zip, broken sheet XML: cut at a random point.
                let cut = rng.random_range(0..sheet_xml.len());
                let cut = (0..=cut).rev().find(|&i| sheet_xml.is_char_boundary(i)).unwrap_or(0);
                let xml = sheet_xml[..cut].to_string();
                bytes = rezip(&pairs, &[("xl/worksheets/sheet1.xml", &move |w: &mut dyn Write| w.write_all(xml.as_bytes()).unwrap())]);
            }
            _ => {
                // Well-formed zip, a sheet whose rows repeat thousands of times.
                let times = rng.random_range(100..5000);
                let row = "<row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t>问</t></is></c></row>".repeat(times);
                let xml = sheet_xml.replacen("</sheetData>", &format!("{row}</sheetData>"), 1);
                bytes = rezip(&pairs, &[("xl/worksheets/sheet1.xml", &move |w: &mut dyn Write| w.write_all(xml.as_bytes()).unwrap())]);
            }
        }
        let (status, headers, body) = request(&app, "POST", uri, t, &[], Some(Body::from(bytes)), Some("application/octet-stream")).await;
        *answered.entry(status.as_u16()).or_default() += 1;
        assert!(!status.is_server_error(), "case {case} → {uri}: {status} {body}");
        if status.is_client_error() {
            assert!(headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|c| c.starts_with("application/json")), "case {case}: {body}");
            let v: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("case {case} → {uri}: not JSON: {body}"));
            let message = v["message"].as_str().unwrap_or_default();
            assert!(v["code"].as_str().is_some_and(|c| c.contains('.')), "case {case}: {body}");
            assert!(message.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "case {case} → {uri}: not a Chinese message: {body}");
        }
    }
    // The mutations reached both outcomes: some inputs still parse, most are refused.
    assert!(answered.keys().any(|s| *s < 300) && answered.keys().any(|s| *s >= 400), "{answered:?}");
    let (status, _, _) = request(&app, "GET", "/healthz", None, &[], None, None).await;
    assert_eq!(status, StatusCode::OK);
}
