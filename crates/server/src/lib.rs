//! The HTTP service: JSON and SSE API over the assistant, the embedded web pages, and health.
//! Thin by design: it parses requests, calls `dwt-assistant`, and renders results.

pub mod admin;
pub mod client_addr;
mod error;
mod guard;
pub mod metrics;
pub mod openai;
mod streams;
mod openapi;
mod web;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use dwt_assistant::{AnswerEvent, Assistant, ChatRequest};
use dwt_core::config::ServerSettings;
use dwt_index::{RetrievalMode, SearchOptions};
use serde::{Deserialize, Serialize};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use error::{ApiError, ErrorBody};

#[derive(Clone)]
pub struct AppState {
    pub assistant: Arc<Assistant>,
    pub metrics: Arc<metrics::Metrics>,
    /// The core modules (organisations, members, users, authentication). Without them the
    /// `/api/auth` and `/api/admin` endpoints answer 503 and the chat is anonymous.
    pub core: Option<Arc<dwt_org::Core>>,
    /// Human handoff (needs the core modules).
    pub handoff: Option<Arc<dwt_handoff::Handoff>>,
    /// Set when the server shuts down: long-lived event streams end so shutdown can finish.
    pub stop: Arc<tokio::sync::watch::Sender<bool>>,
    /// Crawlers (admin page: sources, runs, run now).
    pub crawler: Option<Arc<dwt_crawl::Crawler>>,
    /// Caps on open live event streams (set from the server settings by [`router`]).
    pub(crate) streams: Arc<streams::StreamLimits>,
}

impl AppState {
    pub fn new(assistant: Arc<Assistant>) -> Self {
        let defaults = ServerSettings::default();
        Self {
            assistant,
            metrics: Arc::new(metrics::Metrics::new()),
            core: None,
            handoff: None,
            stop: Arc::new(tokio::sync::watch::channel(false).0),
            crawler: None,
            streams: streams::StreamLimits::new(defaults.max_event_streams, defaults.max_event_streams_per_user),
        }
    }

    pub fn with_core(mut self, core: Arc<dwt_org::Core>) -> Self {
        self.core = Some(core);
        self
    }

    pub fn with_handoff(mut self, handoff: Arc<dwt_handoff::Handoff>) -> Self {
        self.handoff = Some(handoff);
        self
    }

    pub fn with_crawler(mut self, crawler: Arc<dwt_crawl::Crawler>) -> Self {
        self.crawler = Some(crawler);
        self
    }

    pub(crate) fn core(&self) -> Result<&Arc<dwt_org::Core>, ApiError> {
        self.core.as_ref().ok_or_else(|| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "server.core_unavailable", "账号与组织管理功能未启用"))
    }

    pub(crate) fn auth_settings(&self) -> dwt_core::config::AuthSettings {
        self.core.as_ref().map(|c| c.auth.settings().clone()).unwrap_or_default()
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// All routes. Streaming chat is exempt from the request timeout (answers may take a while);
/// everything else gets `request_timeout_secs`.
pub fn router(mut state: AppState, settings: &ServerSettings) -> Router {
    let hsts = state.auth_settings().cookie_secure;
    // `serve` refuses a bad list before it gets here; a router built directly (tests) trusts none.
    let trusted = client_addr::TrustedProxies::parse(&settings.trusted_proxies).unwrap_or_else(|e| {
        tracing::error!(error = %e, "server.trusted_proxies ignored");
        client_addr::TrustedProxies::default()
    });
    state.streams = streams::StreamLimits::new(settings.max_event_streams, settings.max_event_streams_per_user);
    let timed = Router::new()
        .route("/api/conversations/{id}", get(conversation))
        .route("/api/messages/{id}/feedback", post(feedback))
        .route("/api/documents", get(documents))
        .route("/api/documents/{id}", get(document))
        .route("/api/documents/{id}/articles/{label}", get(article))
        .route("/api/search/text", get(search_text))
        .route("/v1/models", get(openai::models))
        .route("/api/openapi.json", get(openapi::document))
        .route("/metrics", get(metrics::endpoint))
        .merge(admin::routes())
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(settings.request_timeout_secs.max(1))));
    let track = axum::middleware::from_fn_with_state(state.metrics.clone(), metrics::track);
    Router::new()
        .route("/api/chat", post(chat))
        .route("/v1/chat/completions", post(openai::chat_completions))
        .route("/healthz", get(healthz))
        .route("/readyz", get(ready))
        .merge(admin::stream_routes())
        .merge(timed)
        .layer(RequestBodyLimitLayer::new(settings.body_limit_bytes))
        // Spreadsheet uploads get their own, larger limit.
        .merge(
            admin::import_routes()
                .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(settings.request_timeout_secs.max(1) * 4)))
                .layer(axum::extract::DefaultBodyLimit::max(settings.import_limit_bytes))
                .layer(RequestBodyLimitLayer::new(settings.import_limit_bytes)),
        )
        .route_layer(track)
        .fallback(web::static_file)
        .with_state(state)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(axum::middleware::from_fn_with_state(Arc::new(trusted), client_addr::resolve))
        .layer(axum::middleware::from_fn_with_state(hsts, guard::harden))
}

/// How long in-flight requests may take to finish once shutdown begins.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Serves until `shutdown` resolves, then lets in-flight requests finish (at most
/// [`SHUTDOWN_GRACE`]). Connections are served by hyper directly rather than `axum::serve` for
/// the header-read timeout: a client that opens a connection and never completes its request
/// headers is dropped after `header_read_timeout_secs` instead of holding the slot.
pub async fn serve(
    state: AppState,
    settings: &ServerSettings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr: SocketAddr = format!("{}:{}", settings.host, settings.port)
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("监听地址无效：{e}")))?;
    client_addr::TrustedProxies::parse(&settings.trusted_proxies).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "listening");
    serve_on(listener, state, settings, shutdown).await
}

/// [`serve`] on a listener already bound.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: AppState,
    settings: &ServerSettings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    let stop = state.stop.clone();
    let app = router(state, settings);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(settings.header_read_timeout_secs.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        // Connect info gives handlers the client address (SMS rate limits, audit log).
        let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            app.clone().oneshot(req.map(axum::body::Body::new))
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "connection closed with an error");
            }
        });
    }
    drop(listener);
    // Live event streams end on this signal; other requests get the grace period.
    let _ = stop.send(true);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still running after the shutdown grace period were cut off");
    }
    Ok(())
}

/// A body that is not the expected JSON, or is too large.
pub(crate) fn rejected(e: JsonRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "request.too_large", "请求内容过大");
    }
    let problem = match &e {
        JsonRejection::MissingJsonContentType(_) => "请求内容类型应为 application/json".to_string(),
        other => error::json_problem(&other.body_text()),
    };
    ApiError::bad_request("request.invalid_json", format!("请求格式错误：{problem}"))
}

/// Liveness: the process serves requests (it listens only once the knowledge base is open).
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "ok")))]
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the knowledge base holds documents.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses((status = 200, description = "Ready"), (status = 503, description = "Knowledge base empty", body = ErrorBody)))]
async fn ready(State(s): State<AppState>) -> Response {
    match s.assistant.knowledge_base().store().list_documents().await {
        Ok(docs) if !docs.is_empty() => (StatusCode::OK, Json(serde_json::json!({"status": "ready", "documents": docs.len()}))).into_response(),
        Ok(_) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "server.no_knowledge", "知识库为空").into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct ChatBody {
    /// The member's question (1–500 characters).
    question: String,
    /// Continue this conversation (from an earlier `meta` event).
    #[serde(default)]
    conversation_id: Option<String>,
}

/// `POST /api/chat` → SSE: `meta`, `sources`, `delta`…, `done` (or `error`). Generated (rag)
/// answers send `sources` after the text, numbered as cited. See README "Chat API".
#[utoipa::path(post, path = "/api/chat", tag = "chat", request_body = ChatBody,
    responses((status = 200, description = "text/event-stream of meta, sources, delta, done, error events (JSON data)"),
              (status = 400, description = "Empty or too long question, bad JSON", body = ErrorBody),
              (status = 404, description = "Unknown conversation", body = ErrorBody),
              (status = 413, description = "Body too large", body = ErrorBody)))]
async fn chat(State(s): State<AppState>, who: admin::session::ChatAsker, body: Result<Json<ChatBody>, JsonRejection>) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(rejected)?;
    if s.core.is_some() && !s.auth_settings().allow_anonymous_chat && who.caller.is_none() {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "auth.required", "请先登录后再提问"));
    }
    // Reject bad input before the stream starts, with a proper status code.
    s.assistant.validate(&body.question)?;
    if let Some(id) = &body.conversation_id {
        if !s.assistant.conversations().accessible(id, &who.asker).await? {
            return Err(ApiError::not_found("chat.conversation_not_found", "找不到这个对话，请开始新对话"));
        }
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<AnswerEvent>(64);
    let assistant = s.assistant.clone();
    let metrics = s.metrics.clone();
    let audience = admin::session::audience(who.caller.as_ref());
    let asker = who.asker;
    tokio::spawn(async move {
        let req = ChatRequest { question: body.question, conversation_id: body.conversation_id, history: Vec::new(), persist: true, audience, asker };
        match assistant.chat(req, Some(tx.clone())).await {
            Ok(answer) => metrics.answer(&answer.done),
            Err(e) => {
                metrics.answer_error();
                tracing::warn!(code = e.code(), error = %e, "chat failed");
                let _ = tx.send(AnswerEvent::Error { code: e.code().into(), message: e.user_message() }).await;
            }
        }
    });
    let started = std::time::Instant::now();
    let metrics = s.metrics.clone();
    let stream = futures::stream::unfold((rx, true), move |(mut rx, first)| {
        let metrics = metrics.clone();
        async move {
            let ev = rx.recv().await?;
            if first {
                metrics.first_event.observe(started.elapsed().as_secs_f64());
            }
            let event = Event::default().event(ev.name()).data(ev.data().to_string());
            Some((Ok::<_, Infallible>(event), (rx, false)))
        }
    });
    let mut response = Sse::new(stream).keep_alive(KeepAlive::default()).into_response();
    if let Some(cookie) = who.issued {
        response.headers_mut().append(axum::http::header::SET_COOKIE, cookie);
    }
    Ok(response)
}

#[utoipa::path(get, path = "/api/conversations/{id}", tag = "chat", params(("id" = String, Path, description = "conversation id")), responses((status = 200, description = "Messages of the conversation"), (status = 404, description = "Unknown conversation", body = ErrorBody)))]
async fn conversation(State(s): State<AppState>, who: admin::session::ChatAsker, Path(id): Path<String>) -> Result<Response, ApiError> {
    let messages = s
        .assistant
        .conversations()
        .messages_for(&id, &who.asker)
        .await?
        .ok_or_else(|| ApiError::not_found("chat.conversation_not_found", "找不到这个对话"))?;
    Ok(Json(serde_json::json!({"conversation_id": id, "messages": messages})).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct FeedbackBody {
    /// "up" (👍) or "down" (👎).
    rating: String,
    #[serde(default)]
    comment: String,
}

#[utoipa::path(post, path = "/api/messages/{id}/feedback", tag = "chat", params(("id" = i64, Path, description = "assistant message id")), request_body = FeedbackBody, responses((status = 200, description = "Stored"), (status = 400, description = "Bad rating or comment", body = ErrorBody), (status = 404, description = "Unknown message", body = ErrorBody)))]
async fn feedback(
    State(s): State<AppState>,
    who: admin::session::ChatAsker,
    Path(id): Path<i64>,
    body: Result<Json<FeedbackBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(rejected)?;
    let up = match body.rating.as_str() {
        "up" => true,
        "down" => false,
        _ => return Err(ApiError::bad_request("feedback.invalid_rating", "评价只能是 up（有帮助）或 down（没帮助）")),
    };
    if body.comment.chars().count() > 1000 {
        return Err(ApiError::bad_request("feedback.comment_too_long", "意见请控制在 1000 字以内"));
    }
    // Only the asker who got the answer rates it (ids are sequential: anyone else is refused as
    // if the answer did not exist).
    if !s.assistant.conversations().set_feedback(id, up, body.comment.trim(), &who.asker).await? {
        return Err(ApiError::not_found("feedback.message_not_found", "找不到这条回答"));
    }
    Ok(Json(serde_json::json!({"ok": true})).into_response())
}

#[utoipa::path(get, path = "/api/documents", tag = "library", responses((status = 200, description = "Documents with version and status")))]
async fn documents(State(s): State<AppState>) -> Result<Response, ApiError> {
    let docs = s.assistant.knowledge_base().store().list_documents().await?;
    Ok(Json(serde_json::json!({"documents": docs})).into_response())
}

#[derive(Debug, Serialize)]
struct ArticleNode {
    chunk_ids: Vec<i64>,
    article: Option<String>,
    heading_path: Vec<String>,
    text: String,
}

/// Chunks of a document merged back into articles, in document order.
async fn article_nodes(s: &AppState, doc_id: i64) -> Result<Vec<ArticleNode>, ApiError> {
    let chunks = s.assistant.knowledge_base().store().chunks_of_document(doc_id).await?;
    let mut nodes: Vec<ArticleNode> = Vec::new();
    for c in chunks.into_iter().filter(|c| c.enabled) {
        match nodes.last_mut() {
            // Pieces of one long article (and 总纲 paragraphs under one heading) join up again.
            Some(last) if last.article.is_some() && last.article == c.article && last.heading_path == c.heading_path => {
                last.text.push('\n');
                last.text.push_str(&c.text);
                last.chunk_ids.push(c.id);
            }
            _ => nodes.push(ArticleNode { chunk_ids: vec![c.id], article: c.article, heading_path: c.heading_path, text: c.text }),
        }
    }
    Ok(nodes)
}

async fn find_document(s: &AppState, id: i64) -> Result<dwt_store::DocumentRow, ApiError> {
    s.assistant
        .knowledge_base()
        .store()
        .document_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found("document.not_found", "找不到这份文件"))
}

#[utoipa::path(get, path = "/api/documents/{id}", tag = "library", params(("id" = i64, Path, description = "document id")), responses((status = 200, description = "Document and its article tree"), (status = 404, description = "Unknown document", body = ErrorBody)))]
async fn document(State(s): State<AppState>, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let doc = find_document(&s, id).await?;
    let articles = article_nodes(&s, id).await?;
    Ok(Json(serde_json::json!({"document": doc, "articles": articles})).into_response())
}

#[utoipa::path(get, path = "/api/documents/{id}/articles/{label}", tag = "library", params(("id" = i64, Path, description = "document id"), ("label" = String, Path, description = "第七条, 第7条 or 7")), responses((status = 200, description = "The article text"), (status = 404, description = "Unknown document or article", body = ErrorBody)))]
async fn article(State(s): State<AppState>, Path((id, label)): Path<(i64, String)>) -> Result<Response, ApiError> {
    let doc = find_document(&s, id).await?;
    // "第七条", "第7条" and a bare "7" all name the same article; "总纲" passes through.
    let label = dwt_core::numerals::normalize_article_label(&label)
        .or_else(|| dwt_core::numerals::normalize_article_label(&format!("第{label}条")))
        .unwrap_or(label);
    let node = article_nodes(&s, id)
        .await?
        .into_iter()
        .filter(|n| n.article.as_deref() == Some(label.as_str()))
        .reduce(|mut a, b| {
            a.text.push('\n');
            a.text.push_str(&b.text);
            a.chunk_ids.extend(b.chunk_ids);
            a
        })
        .ok_or_else(|| ApiError::not_found("document.article_not_found", format!("《{}》中没有{label}", doc.title)))?;
    Ok(Json(serde_json::json!({"document": doc, "article": node})).into_response())
}

#[derive(Debug, Deserialize)]
struct TextQuery {
    q: String,
    #[serde(default)]
    limit: Option<usize>,
    /// Document category (政策法规, 工作动态 … of crawled documents).
    #[serde(default)]
    category: Option<String>,
}

/// 政策法规库原文查询: keyword (BM25) search with highlighted snippets.
#[utoipa::path(get, path = "/api/search/text", tag = "library", params(("q" = String, Query, description = "keywords or phrase"), ("limit" = Option<usize>, Query, description = "1–50, default 20"), ("category" = Option<String>, Query, description = "only documents of this category")), responses((status = 200, description = "Hits with highlighted snippets (<em>)"), (status = 400, description = "Empty or too long query", body = ErrorBody)))]
async fn search_text(State(s): State<AppState>, Query(q): Query<TextQuery>) -> Result<Response, ApiError> {
    let query = q.q.trim();
    if query.is_empty() {
        return Err(ApiError::bad_request("search.empty_query", "请输入要查询的内容"));
    }
    if query.chars().count() > 200 {
        return Err(ApiError::bad_request("search.query_too_long", "查询内容请控制在 200 字以内"));
    }
    let filter = dwt_index::SearchFilter { categories: q.category.iter().map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect(), ..Default::default() };
    let opts = SearchOptions { top_k: Some(q.limit.unwrap_or(20).clamp(1, 50)), mode: RetrievalMode::Bm25, filter, ..Default::default() };
    let hits = s.assistant.knowledge_base().search(query, &opts).await?;
    let hits: Vec<serde_json::Value> = hits
        .into_iter()
        .map(|h| {
            serde_json::json!({
                "doc_id": h.doc_id, "doc_title": h.doc_title, "article": h.article, "heading_path": h.heading_path,
                "chunk_id": h.chunk_id, "snippet": h.snippet, "score": h.score,
                "origin_url": h.doc_url.filter(|u| u.starts_with("http")), "published_at": h.doc_published_at,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({"hits": hits})).into_response())
}

/// Documents `/metrics` (served by `metrics::endpoint`) in the OpenAPI document.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, description = "Prometheus text exposition")))]
#[allow(dead_code)]
async fn metrics_doc() {}
