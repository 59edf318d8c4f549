//! Shared set-up for the assistant tests: a knowledge base over the shipped regulations (and
//! optionally the shipped FAQ seed) and a scripted OpenAI-compatible server on loopback.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../index/tests/common.rs"]
mod base;
pub use base::{repo_root, settings};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use dwt_assistant::{AnswerEvent, Assistant, ChatRequest};
use dwt_core::Settings;
use dwt_ingest::{load_file, LoadOptions};

/// A knowledge base holding the shipped regulations, with `tweak` applied to the settings.
pub async fn assistant_with(tmp: &std::path::Path, seed_faq: bool, tweak: impl FnOnce(&mut Settings)) -> Assistant {
    assistant_over(tmp, &["dangzhang-2022.md", "xinfang-gongzuo-tiaoli-2022.md"], seed_faq, tweak).await
}

/// A knowledge base holding these shipped regulation files (in this order).
pub async fn assistant_over(tmp: &std::path::Path, files: &[&str], seed_faq: bool, tweak: impl FnOnce(&mut Settings)) -> Assistant {
    let mut s = settings(tmp);
    tweak(&mut s);
    let kb = dwt_index::KnowledgeBase::open(&s).await.unwrap();
    let dir = repo_root().join("knowledge/regulations");
    let opts = LoadOptions { key_base: Some(dir.clone()), ..LoadOptions::default() };
    let docs = files.iter().map(|f| load_file(&dir.join(f), &opts).unwrap()).collect();
    kb.ingest_batch(docs, None).await.unwrap();
    if seed_faq {
        let file = dwt_ingest::qa::read_qa_file(&repo_root().join("knowledge/qa/seed.jsonl"), &Default::default()).unwrap();
        assert!(file.errors.is_empty(), "{:?}", file.errors);
        let pairs: Vec<_> = file.pairs.into_iter().map(|(_, p)| p).collect();
        dwt_store::QaStore::new(kb.store().pool().clone()).upsert_all(&pairs, "seed", false, None).await.unwrap();
    }
    Assistant::new(Arc::new(kb)).await.unwrap()
}

/// Runs one chat turn and collects its events.
pub async fn ask(a: &Assistant, req: ChatRequest) -> (dwt_assistant::Answer, Vec<AnswerEvent>) {
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let collect = tokio::spawn(async move {
        let mut v = Vec::new();
        while let Some(e) = rx.recv().await {
            v.push(e);
        }
        v
    });
    let answer = a.chat(req, Some(tx)).await.unwrap();
    (answer, collect.await.unwrap())
}

pub fn streamed_text(events: &[AnswerEvent]) -> String {
    events.iter().filter_map(|e| if let AnswerEvent::Delta { text } = e { Some(text.as_str()) } else { None }).collect()
}

/// What the scripted LLM does with a request.
#[derive(Clone, Debug)]
pub enum Script {
    /// Streams these pieces as `chat.completion.chunk` events, then usage and [DONE].
    Stream(Vec<String>),
    /// Waits this long before answering at all.
    Slow(Duration, Vec<String>),
    /// Streams these pieces, then drops the connection without [DONE].
    Disconnect(Vec<String>),
    /// Streams these pieces, then keeps the connection open and silent.
    Stall(Vec<String>),
    /// Answers with this HTTP status and an OpenAI error body.
    Status(u16),
    /// 200 text/event-stream whose data is not JSON.
    Garbage,
}

#[derive(Clone)]
pub struct LlmServer {
    pub url: String,
    /// Request bodies received, in order.
    pub requests: Arc<Mutex<Vec<serde_json::Value>>>,
}

struct ScriptState {
    answer: Script,
    /// Reply to follow-up rewrite requests (recognised by their system prompt).
    rewrite: Option<String>,
    /// How long the rewrite reply waits before its headers.
    rewrite_delay: Duration,
    requests: Arc<Mutex<Vec<serde_json::Value>>>,
}

fn chunk(content: &str) -> String {
    let v = serde_json::json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "scripted",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]});
    format!("data: {v}\n\n")
}

fn sse(pieces: &[String], done: bool) -> Vec<Result<Bytes, std::io::Error>> {
    let mut out: Vec<Result<Bytes, std::io::Error>> = vec![Ok(Bytes::from(chunk("")))];
    for p in pieces {
        out.push(Ok(Bytes::from(chunk(p))));
    }
    if done {
        let usage = serde_json::json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "scripted", "choices": [],
            "usage": {"prompt_tokens": 321, "completion_tokens": 45, "total_tokens": 366}});
        out.push(Ok(Bytes::from(format!("data: {usage}\n\n"))));
        out.push(Ok(Bytes::from("data: [DONE]\n\n")));
    }
    out
}

fn sse_response(items: Vec<Result<Bytes, std::io::Error>>, delay: Duration) -> Response {
    let stream = futures::stream::unfold(items.into_iter(), move |mut it| async move {
        let next = it.next()?;
        tokio::time::sleep(delay).await;
        Some((next, it))
    });
    ([(header::CONTENT_TYPE, "text/event-stream")], Body::from_stream(stream)).into_response()
}

async fn completions(State(st): State<Arc<ScriptState>>, Json(body): Json<serde_json::Value>) -> Response {
    st.requests.lock().unwrap().push(body.clone());
    let system = body["messages"][0]["content"].as_str().unwrap_or("").to_string();
    if system.contains("改写") {
        tokio::time::sleep(st.rewrite_delay).await;
        return match &st.rewrite {
            Some(r) => sse_response(sse(std::slice::from_ref(r), true), Duration::ZERO),
            None => (StatusCode::INTERNAL_SERVER_ERROR, "no rewrite scripted").into_response(),
        };
    }
    match &st.answer {
        Script::Stream(p) => sse_response(sse(p, true), Duration::from_millis(5)),
        Script::Slow(wait, p) => {
            tokio::time::sleep(*wait).await;
            sse_response(sse(p, true), Duration::ZERO)
        }
        Script::Disconnect(p) => {
            let mut items = sse(p, false);
            items.push(Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "scripted disconnect")));
            sse_response(items, Duration::from_millis(5))
        }
        Script::Status(code) => {
            let status = StatusCode::from_u16(*code).unwrap();
            (status, Json(serde_json::json!({"error": {"message": "scripted failure", "type": "server_error", "param": null, "code": null}}))).into_response()
        }
        Script::Stall(p) => {
            let items = sse(p, false);
            let stream = futures::StreamExt::chain(futures::stream::iter(items), futures::stream::pending());
            ([(header::CONTENT_TYPE, "text/event-stream")], Body::from_stream(stream)).into_response()
        }
        Script::Garbage => sse_response(vec![Ok(Bytes::from("data: {not json at all\n\n")), Ok(Bytes::from("data: [DONE]\n\n"))], Duration::ZERO),
    }
}

/// Starts a scripted OpenAI-compatible server on an ephemeral loopback port.
pub async fn llm_server(answer: Script, rewrite: Option<&str>) -> LlmServer {
    llm_server_with_slow_rewrite(answer, rewrite, Duration::ZERO).await
}

/// As [`llm_server`], with the rewrite reply held back for `rewrite_delay`.
pub async fn llm_server_with_slow_rewrite(answer: Script, rewrite: Option<&str>, rewrite_delay: Duration) -> LlmServer {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let st = Arc::new(ScriptState { answer, rewrite: rewrite.map(str::to_string), rewrite_delay, requests: requests.clone() });
    let app = Router::new().route("/v1/chat/completions", post(completions)).with_state(st);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    LlmServer { url: format!("http://{addr}/v1"), requests }
}

/// Points the settings at `url` with short timeouts so failure tests stay quick.
pub fn use_llm(s: &mut Settings, url: &str) {
    s.llm.base_url = Some(url.to_string());
    s.llm.model = "scripted".into();
    s.llm.api_key = Some("test-key".into());
    s.llm.connect_timeout_secs = 1;
    s.llm.first_token_timeout_secs = 2;
    s.llm.idle_timeout_secs = 2;
    s.llm.total_timeout_secs = 10;
}
