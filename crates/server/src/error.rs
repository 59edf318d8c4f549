//! One JSON error shape everywhere: `{"code": "...", "message": "中文说明"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use dwt_assistant::AssistantError;
use dwt_index::IndexError;
use dwt_store::StoreError;
use serde::Serialize;

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

    /// A server-side failure: `detail` goes to the log only; the caller sees a generic message.
    pub fn internal(code: &str, detail: impl std::fmt::Display) -> Self {
        tracing::error!(code, %detail, "internal failure");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, code, "服务暂时不可用，请稍后再试")
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
        let status = match &e {
            AssistantError::ConversationNotFound => StatusCode::NOT_FOUND,
            e if e.is_client_error() => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self::new(status, e.code(), e.to_string())
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
            other => Self::new(StatusCode::INTERNAL_SERVER_ERROR, other.code(), "服务暂时不可用，请稍后再试"),
        }
    }
}

impl From<IndexError> for ApiError {
    fn from(e: IndexError) -> Self {
        match e {
            IndexError::EmptyQuery => Self::bad_request("search.empty_query", "请输入要查询的内容"),
            IndexError::Store(e @ StoreError::Refused(_)) => e.into(),
            other => Self::new(StatusCode::INTERNAL_SERVER_ERROR, "search.failed", format!("查询失败：{other}")),
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
            E::MissingSecret(_) | E::Store(_) | E::Index(_) | E::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::error!(code = e.code(), error = %e, "crawl error");
        }
        Self::new(status, e.code(), e.to_string())
    }
}

impl From<dwt_org::CoreError> for ApiError {
    fn from(e: dwt_org::CoreError) -> Self {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(code = e.code(), error = %e, "core module error");
        }
        Self::new(status, e.code(), e.user_message())
    }
}
