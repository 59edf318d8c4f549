//! One JSON error shape everywhere: `{"code": "...", "message": "中文说明"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use dwt_assistant::AssistantError;
use dwt_index::IndexError;
use dwt_store::StoreError;
use serde::Serialize;

/// What the caller of a failed request sees when the failure is the server's.
pub const INTERNAL_MESSAGE: &str = "服务暂时不可用，请稍后再试";

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self { status, code: code.to_string(), message: message.into() }
    }

    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// A server-side failure: `detail` goes to the log only; the caller sees a generic message
    /// (the user/internal split: a 500 never carries internal text).
    pub fn internal(code: &str, detail: impl std::fmt::Display) -> Self {
        tracing::error!(code, %detail, "internal failure");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, code, INTERNAL_MESSAGE)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = %self.code, message = %self.message, "request failed");
        }
        (self.status, Json(ErrorBody { code: self.code, message: self.message })).into_response()
    }
}

impl From<AssistantError> for ApiError {
    fn from(e: AssistantError) -> Self {
        match &e {
            AssistantError::ConversationNotFound => Self::not_found(e.code(), e.to_string()),
            e if e.is_client_error() => Self::bad_request(e.code(), e.to_string()),
            _ => Self::internal(e.code(), &e),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Refused(r) => {
                let status = match r.code {
                    "kb.chunk_not_found" | "kb.version_not_found" | "kb.successor_not_found" | "kb.document_not_found" | "qa.not_found" | "qa.version_not_found" => StatusCode::NOT_FOUND,
                    "kb.chunk_version_conflict" | "kb.successor_cycle" | "kb.rechunk_stale" | "qa.version_conflict" | "qa.duplicate" => StatusCode::CONFLICT,
                    _ => StatusCode::BAD_REQUEST,
                };
                Self::new(status, r.code, r.message)
            }
            other => Self::internal(other.code(), other),
        }
    }
}

impl From<IndexError> for ApiError {
    fn from(e: IndexError) -> Self {
        match e {
            IndexError::EmptyQuery => Self::bad_request("search.empty_query", "请输入要查询的内容"),
            IndexError::Store(e @ StoreError::Refused(_)) => e.into(),
            other => Self::internal("search.failed", other),
        }
    }
}

impl From<dwt_crawl::CrawlError> for ApiError {
    fn from(e: dwt_crawl::CrawlError) -> Self {
        use dwt_crawl::CrawlError as E;
        let status = match &e {
            E::UnknownSource(_) => StatusCode::NOT_FOUND,
            E::AlreadyRunning(_) => StatusCode::CONFLICT,
            E::BadUrl(_) | E::SourceFile(_) => StatusCode::BAD_REQUEST,
            E::MissingSecret(_) | E::Store(_) | E::Index(_) | E::Internal(_) => return Self::internal(e.code(), &e),
        };
        Self::new(status, e.code(), e.to_string())
    }
}

impl From<dwt_org::CoreError> for ApiError {
    fn from(e: dwt_org::CoreError) -> Self {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(code = e.code(), error = %e, "core module error");
            let message = if matches!(e, dwt_org::CoreError::SmsSend(_)) { "短信发送失败，请稍后再试" } else { INTERNAL_MESSAGE };
            return Self::new(status, e.code(), message);
        }
        Self::new(status, e.code(), e.user_message())
    }
}

/// A JSON body's problem in Chinese, from serde's English description (which names the field
/// path first when there is one: `question: invalid type: …`). Only the field name is kept.
pub(crate) fn json_problem(serde_text: &str) -> String {
    let text = serde_text.trim_start_matches("Failed to deserialize the JSON body into the target type: ").trim_start_matches("Failed to parse the request body as JSON: ");
    let quoted = |after: &str| text.split_once(after).and_then(|(_, rest)| rest.split('`').next()).map(str::to_string);
    // The field path serde_path_to_error puts before the message ("a.b[0]: invalid type…").
    let path = text.split_once(": ").map(|(p, _)| p).filter(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "_.[]".contains(c)));
    let field = |what: &str| match path {
        Some(p) => format!("字段「{p}」{what}"),
        None => what.to_string(),
    };
    if let Some(f) = quoted("missing field `") {
        format!("缺少字段「{f}」")
    } else if let Some(f) = quoted("unknown field `") {
        format!("不支持的字段「{f}」")
    } else if let Some(v) = quoted("unknown variant `") {
        field(&format!("的取值「{v}」无效"))
    } else if text.contains("invalid type") {
        field("的类型不对")
    } else if text.contains("invalid value") || text.contains("invalid length") {
        field("的取值无效")
    } else if text.contains("EOF") {
        "内容不完整，不是合法的 JSON".to_string()
    } else {
        "不是合法的 JSON".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::json_problem;

    #[test]
    fn serde_problems_read_in_chinese_without_english() {
        let cases = [
            ("Failed to deserialize the JSON body into the target type: missing field `question` at line 1 column 2", "缺少字段「question」"),
            ("Failed to deserialize the JSON body into the target type: question: invalid type: integer `1`, expected a string at line 1 column 13", "字段「question」的类型不对"),
            ("unknown field `foo`, expected one of `a`, `b` at line 1 column 7", "不支持的字段「foo」"),
            ("Failed to deserialize the JSON body into the target type: status: unknown variant `zzz`, expected `draft` or `published`", "字段「status」的取值「zzz」无效"),
            ("Failed to parse the request body as JSON: EOF while parsing an object at line 1 column 1", "内容不完整，不是合法的 JSON"),
            ("Failed to parse the request body as JSON: expected value at line 1 column 1", "不是合法的 JSON"),
        ];
        for (serde, chinese) in cases {
            assert_eq!(json_problem(serde), chinese, "{serde}");
        }
    }
}
