//! OpenAI-compatible API (`POST /v1/chat/completions`, `GET /v1/models`) so that existing
//! clients (the openai SDKs, Cherry Studio, LobeChat…) can use the assistant. The answer's
//! sources come twice: as a numbered list at the end of the content (for clients that show
//! only text) and in the extra field `references` (for clients that read it).

use std::convert::Infallible;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use dwt_assistant::{AnswerEvent, ChatRequest, Source, Turn};
use serde::{Deserialize, Serialize};

use crate::{ApiError, AppState};

pub const MODEL_ID: &str = "dangwutong";

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CompletionRequest {
    /// Ignored beyond being echoed: the assistant is one model.
    #[serde(default)]
    pub model: Option<String>,
    pub messages: Vec<CompletionMessage>,
    #[serde(default)]
    pub stream: bool,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CompletionMessage {
    pub role: String,
    /// A string, or an array of content parts (`{"type":"text","text":"…"}`).
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
}

impl CompletionMessage {
    fn text(&self) -> String {
        match &self.content {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(parts) => parts.iter().filter_map(|p| p.get("text").and_then(|t| t.as_str())).collect::<Vec<_>>().join(""),
            _ => String::new(),
        }
    }
}

/// One entry of the `references` extra field.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Reference {
    pub index: usize,
    pub doc_title: String,
    /// Edition of the document (「2022年版」).
    pub edition: Option<String>,
    pub article: Option<String>,
    pub heading_path: Vec<String>,
    pub url: String,
}

fn references(sources: &[Source]) -> Vec<Reference> {
    sources
        .iter()
        .map(|s| Reference { index: s.index, doc_title: s.doc_title.clone(), edition: s.edition.clone(), article: s.article.clone(), heading_path: s.heading_path.clone(), url: s.url.clone() })
        .collect()
}

/// "\n\n参考资料：\n[1] 《中国共产党章程》（2022年版）第七条 /library.html#…" (empty without sources).
fn reference_list(sources: &[Source]) -> String {
    if sources.is_empty() {
        return String::new();
    }
    let lines: Vec<String> = sources.iter().map(|s| format!("[{}] {} {}", s.index, dwt_core::edition::cite_label(&s.doc_title, s.edition.as_deref(), s.article.as_deref()), s.url)).collect();
    format!("\n\n参考资料：\n{}", lines.join("\n"))
}

/// OpenAI-style error body, with the same stable `code` and Chinese `message` as every other
/// endpoint at the top level.
fn openai_error(e: ApiError) -> Response {
    let kind = if e.status.is_client_error() { "invalid_request_error" } else { "server_error" };
    let body = serde_json::json!({
        "code": e.code, "message": e.message,
        "error": {"message": e.message, "type": kind, "code": e.code},
    });
    (e.status, Json(body)).into_response()
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Splits the messages into the question (last user message) and the history before it.
fn to_request(req: &CompletionRequest) -> Result<ChatRequest, ApiError> {
    let last_user = req.messages.iter().rposition(|m| m.role == "user").ok_or_else(|| ApiError::bad_request("openai.no_user_message", "messages 中没有用户问题（role 为 user 的消息）"))?;
    let history = req.messages[..last_user]
        .iter()
        .filter(|m| m.role == "user" || m.role == "assistant")
        .map(|m| Turn { role: m.role.clone(), content: m.text() })
        .collect();
    // API clients carry no member identity: only system-wide curated pairs answer them.
    Ok(ChatRequest { question: req.messages[last_user].text(), conversation_id: None, history, persist: false, audience: dwt_store::Audience::anonymous(), asker: dwt_store::Asker::default() })
}

/// `POST /v1/chat/completions`.
#[utoipa::path(post, path = "/v1/chat/completions", tag = "openai", request_body = CompletionRequest,
    responses((status = 200, description = "chat.completion, or an SSE stream of chat.completion.chunk ending with data: [DONE]; the final chunk and the completion carry `references`"),
              (status = 400, description = "Bad request", body = crate::ErrorBody)))]
pub async fn chat_completions(State(s): State<AppState>, body: Result<Json<CompletionRequest>, JsonRejection>) -> Response {
    let req = match body.map_err(crate::rejected) {
        Ok(Json(r)) => r,
        Err(e) => return openai_error(e),
    };
    let chat = match to_request(&req) {
        Ok(c) => c,
        Err(e) => return openai_error(e),
    };
    if let Err(e) = s.assistant.validate(&chat.question) {
        return openai_error(e.into());
    }
    let model = req.model.clone().unwrap_or_else(|| MODEL_ID.to_string());
    let id = format!("chatcmpl-{:032x}", rand_id());
    if !req.stream {
        return match s.assistant.chat(chat, None).await {
            Ok(answer) => {
                s.metrics.answer(&answer.done);
                let content = format!("{}{}", answer.text, reference_list(&answer.sources));
                Json(serde_json::json!({
                    "id": id, "object": "chat.completion", "created": now(), "model": model,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": answer.done.usage.prompt_tokens, "completion_tokens": answer.done.usage.completion_tokens,
                              "total_tokens": answer.done.usage.prompt_tokens + answer.done.usage.completion_tokens},
                    "references": references(&answer.sources),
                    "dangwutong": {"mode": answer.done.mode, "confidence": answer.done.confidence, "handoff_suggested": answer.done.handoff_suggested, "refused": answer.done.refused},
                }))
                .into_response()
            }
            Err(e) => {
                s.metrics.answer_error();
                openai_error(e.into())
            }
        };
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel::<AnswerEvent>(64);
    let assistant = s.assistant.clone();
    let metrics = s.metrics.clone();
    tokio::spawn(async move {
        match assistant.chat(chat, Some(tx.clone())).await {
            Ok(a) => metrics.answer(&a.done),
            Err(e) => {
                metrics.answer_error();
                tracing::warn!(code = e.code(), error = %e, "chat failed");
                let _ = tx.send(AnswerEvent::Error { code: e.code().into(), message: e.user_message() }).await;
            }
        }
    });
    let created = now();
    let chunk = move |delta: serde_json::Value, finish: Option<&str>, extra: Vec<(&str, serde_json::Value)>| {
        let mut v = serde_json::json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        });
        for (k, x) in extra {
            v[k] = x;
        }
        Event::default().data(v.to_string())
    };
    let stream = async_stream(move |out| async move {
        let _ = out.send(chunk(serde_json::json!({"role": "assistant", "content": ""}), None, Vec::new())).await;
        let mut sources: Vec<Source> = Vec::new();
        while let Some(ev) = rx.recv().await {
            match ev {
                AnswerEvent::Delta { text } => {
                    let _ = out.send(chunk(serde_json::json!({"content": text}), None, Vec::new())).await;
                }
                AnswerEvent::Sources(s) => sources = s,
                AnswerEvent::Done(done) => {
                    // The last chunk: the reference list, finish_reason, and both extra fields.
                    let tail = reference_list(&sources);
                    let extra = vec![
                        ("references", serde_json::json!(references(&sources))),
                        ("dangwutong", serde_json::json!({"mode": done.mode, "confidence": done.confidence, "handoff_suggested": done.handoff_suggested, "refused": done.refused})),
                    ];
                    let _ = out.send(chunk(serde_json::json!({"content": tail}), Some("stop"), extra)).await;
                }
                AnswerEvent::Error { code, message } => {
                    let _ = out.send(chunk(serde_json::json!({"content": message}), Some("stop"), vec![("error", serde_json::json!({"code": code}))])).await;
                }
                AnswerEvent::Meta(_) => {}
            }
        }
        let _ = out.send(Event::default().data("[DONE]")).await;
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

/// A stream fed by a task writing into a channel (no extra stream-macro dependency).
fn async_stream<F, Fut>(f: F) -> impl futures::Stream<Item = Result<Event, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Event>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(64);
    tokio::spawn(f(tx));
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) })
}

fn rand_id() -> u128 {
    // Unique enough for a response id; not a secret.
    let t = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    t ^ (u128::from(std::process::id()) << 64)
}

/// `GET /v1/models`: the one model, for clients that list models before chatting.
#[utoipa::path(get, path = "/v1/models", tag = "openai", responses((status = 200, description = "Model list")))]
pub async fn models() -> Response {
    (StatusCode::OK, Json(serde_json::json!({"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "dangwutong"}]}))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_is_the_last_user_message_and_history_the_rest() {
        let req: CompletionRequest = serde_json::from_value(serde_json::json!({
            "model": "x", "messages": [
                {"role": "system", "content": "be nice"},
                {"role": "user", "content": "预备党员有哪些权利？"},
                {"role": "assistant", "content": "……"},
                {"role": "user", "content": [{"type": "text", "text": "那预备期多长？"}]},
            ]
        }))
        .unwrap_or_else(|e| unreachable!("{e}"));
        let c = to_request(&req).unwrap_or_else(|e| unreachable!("{}", e.message));
        assert_eq!(c.question, "那预备期多长？");
        assert_eq!(c.history.len(), 2);
        assert_eq!(c.history[0].role, "user");
        assert!(!c.persist);
        let none: CompletionRequest = serde_json::from_value(serde_json::json!({"messages": [{"role": "system", "content": "x"}]})).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(to_request(&none).err().map(|e| e.code), Some("openai.no_user_message".to_string()));
    }
}
