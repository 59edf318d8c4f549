//! Shared set-up for the API tests: the index crate's helpers (settings, repo root) plus a router
//! over a fresh knowledge base and SSE parsing.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../index/tests/common.rs"]
mod base;
pub use base::{repo_root, settings};

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use dwt_ingest::{load_file, LoadOptions};
use tower::ServiceExt;

/// An assistant over a fresh knowledge base (in `dir`) holding the shipped regulations.
async fn assistant(dir: &std::path::Path) -> (Arc<dwt_assistant::Assistant>, dwt_core::Settings) {
    let settings = settings(dir);
    let kb = dwt_index::KnowledgeBase::open(&settings).await.unwrap();
    let docs_dir = repo_root().join("knowledge/regulations");
    let opts = LoadOptions { key_base: Some(docs_dir.clone()), ..LoadOptions::default() };
    let docs = ["dangzhang-2022.md", "xinfang-gongzuo-tiaoli-2022.md"].iter().map(|f| load_file(&docs_dir.join(f), &opts).unwrap()).collect();
    kb.ingest_batch(docs, None).await.unwrap();
    (Arc::new(dwt_assistant::Assistant::new(Arc::new(kb)).await.unwrap()), settings)
}

/// A router over a fresh knowledge base holding the shipped regulations.
/// Returns the temp dir first so that it is dropped last (after the stores flush).
pub async fn app() -> (tempfile::TempDir, Router) {
    let tmp = tempfile::tempdir().unwrap();
    let (assistant, settings) = assistant(tmp.path()).await;
    (tmp, dwt_server::router(dwt_server::AppState::new(assistant), &settings.server))
}

/// Like [`app`], with the core modules on a fresh SQLite database seeded with the demo data.
pub async fn app_with_core() -> (tempfile::TempDir, Router, Arc<dwt_org::Core>) {
    let (tmp, app, core, _) = app_with_core_settings(dwt_core::config::AuthSettings::default()).await;
    (tmp, app, core)
}

/// With the given auth settings and an SMS sender that records the codes it "sends".
pub async fn app_with_core_settings(auth: dwt_core::config::AuthSettings) -> (tempfile::TempDir, Router, Arc<dwt_org::Core>, Arc<RecordingSms>) {
    let (tmp, state, settings, core, sms) = state_with_core(auth).await;
    (tmp, dwt_server::router(state, &settings.server), core, sms)
}

/// The application state behind [`app_with_core_settings`], for tests that serve it themselves.
pub async fn state_with_core(auth: dwt_core::config::AuthSettings) -> (tempfile::TempDir, dwt_server::AppState, dwt_core::Settings, Arc<dwt_org::Core>, Arc<RecordingSms>) {
    let tmp = tempfile::tempdir().unwrap();
    let (assistant, settings) = assistant(tmp.path()).await;
    let db = dwt_org::Db::open_sqlite_dir(&settings.storage.data_dir).await.unwrap();
    let sms = Arc::new(RecordingSms::default());
    let core = Arc::new(dwt_org::Core::with_sms_sender(db, auth, sms.clone()));
    dwt_org::demo::seed(&core).await.unwrap();
    let handoff = Arc::new(dwt_handoff::Handoff::new(core.db.clone(), settings.handoff.clone(), Vec::new()));
    // Crawler sources: an empty WeChat list (runs finish at once, no network) and a broken file.
    let mut crawl = settings.crawl.clone();
    crawl.dir = tmp.path().join("crawlers");
    std::fs::create_dir_all(&crawl.dir).unwrap();
    std::fs::write(crawl.dir.join("wechat-test.toml"), "label = \"测试公众号\"\nkind = \"wechat\"\nurls = []\n").unwrap();
    std::fs::write(crawl.dir.join("broken.toml"), "kind = \"site\"\nrate_limit = -1\n").unwrap();
    let crawler = Arc::new(dwt_crawl::Crawler::new(assistant.knowledge_base().clone(), &crawl).unwrap());
    let state = dwt_server::AppState::new(assistant).with_core(core.clone()).with_handoff(handoff).with_crawler(crawler);
    (tmp, state, settings, core, sms)
}

/// A session token for a demo account (all share the demo password).
pub async fn demo_token(core: &dwt_org::Core, username: &str) -> String {
    match core.auth.login(username, dwt_org::demo::DEMO_PASSWORD, None).await.unwrap() {
        dwt_org::LoginOutcome::Ok(s) => s.token,
        other => panic!("{username}: {other:?}"),
    }
}

/// Records the SMS codes it "sends".
#[derive(Default)]
pub struct RecordingSms {
    pub codes: std::sync::Mutex<Vec<String>>,
}

impl RecordingSms {
    pub fn last_code(&self) -> String {
        self.codes.lock().unwrap().last().cloned().expect("no SMS was sent")
    }
}

#[async_trait::async_trait]
impl dwt_org::auth::sms::SmsSender for RecordingSms {
    async fn send(&self, _phone: &str, _purpose: dwt_org::auth::sms::SmsPurpose, code: &str, _text: &str) -> Result<(), dwt_org::CoreError> {
        self.codes.lock().unwrap().push(code.to_string());
        Ok(())
    }
}

/// A request with optional bearer token, extra headers and JSON or raw body; returns
/// (status, headers, body text).
pub async fn request(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Body>,
    content_type: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("cookie")) {
        req = req.header("cookie", TEST_ASKER_COOKIE);
    }
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = app.clone().oneshot(req.body(body.unwrap_or_else(Body::empty)).unwrap()).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 16 * 1024 * 1024).await.unwrap();
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t.to_string(),
        // Binary bodies (xlsx) as hex, so callers can decode them.
        Err(_) => format!("hex:{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()),
    };
    (status, headers, text)
}

/// Decodes a body that [`request`] returned as `hex:…`.
pub fn body_bytes(text: &str) -> Vec<u8> {
    let hex = text.strip_prefix("hex:").unwrap_or_else(|| panic!("not a binary body: {}", &text[..text.len().min(200)]));
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

/// The anonymous asker cookie the helpers send (one browser), unless a test sends its own
/// cookies: conversations it starts can be continued and rated by the next request.
pub const TEST_ASKER_COOKIE: &str = "dwt_asker=0000000000000000000000000000000000000000000000000000000000000001";

pub async fn call(app: &Router, method: &str, uri: &str, body: Option<serde_json::Value>) -> (StatusCode, String) {
    let mut req = Request::builder().method(method).uri(uri).header("cookie", TEST_ASKER_COOKIE);
    let body = match body {
        Some(b) => {
            req = req.header("content-type", "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    let resp = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 16 * 1024 * 1024).await.unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

pub async fn get_json(app: &Router, uri: &str) -> (StatusCode, serde_json::Value) {
    let (s, b) = call(app, "GET", uri, None).await;
    (s, serde_json::from_str(&b).unwrap_or(serde_json::Value::Null))
}

/// Parses an SSE body into (event, data) pairs.
pub fn sse_events(body: &str) -> Vec<(String, serde_json::Value)> {
    body.split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .filter_map(|block| {
            let mut event = String::from("message");
            let mut data = String::new();
            for line in block.lines() {
                if let Some(e) = line.strip_prefix("event:") {
                    event = e.trim().to_string();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim_start());
                }
            }
            (!data.is_empty()).then(|| (event, serde_json::from_str(&data).unwrap()))
        })
        .collect()
}

pub async fn chat(app: &Router, question: &str, conversation_id: Option<&str>) -> Vec<(String, serde_json::Value)> {
    let (status, body) = call(app, "POST", "/api/chat", Some(serde_json::json!({"question": question, "conversation_id": conversation_id}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    sse_events(&body)
}

/// The last `name` event (`meta` may be repeated; the last one is final).
pub fn event<'a>(events: &'a [(String, serde_json::Value)], name: &str) -> &'a serde_json::Value {
    &events.iter().rev().find(|(e, _)| e == name).unwrap_or_else(|| panic!("no {name} event in {events:?}")).1
}

pub fn answer_text(events: &[(String, serde_json::Value)]) -> String {
    events.iter().filter(|(e, _)| e == "delta").map(|(_, d)| d["text"].as_str().unwrap()).collect()
}
