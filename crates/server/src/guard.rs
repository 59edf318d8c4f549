//! Response hardening, outermost: every response leaves with the security headers, and every
//! error produced before a handler runs (413 from the body limit, a path or query that does not
//! parse, an unknown `/api` route, 405, the request timeout) leaves in the same `{code, message}`
//! JSON shape as handler errors, in Chinese, with nothing of the framework's English text.

use axum::extract::{Request, State};
use axum::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::ApiError;

/// Pages load their scripts and styles from files only (no inline script), talk to this origin
/// only, and are never framed.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; font-src 'self' data:; \
                   connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// `hsts`: also send Strict-Transport-Security (deployments behind HTTPS, `auth.cookie_secure`).
pub async fn harden(State(hsts): State<bool>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let api = path.starts_with("/api/") || path.starts_with("/v1/");
    let mut resp = next.run(req).await;
    let status = resp.status();
    if api && (status.is_client_error() || status.is_server_error()) && !is_json(&resp) {
        let request_id = resp.headers().get("x-request-id").cloned();
        resp = uniform(status).into_response();
        if let Some(id) = request_id {
            resp.headers_mut().insert("x-request-id", id);
        }
    }
    let headers = resp.headers_mut();
    let mut set = |name, value: &'static str| {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set(X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(X_FRAME_OPTIONS, "DENY");
    set(REFERRER_POLICY, "same-origin");
    set(CONTENT_SECURITY_POLICY, CSP);
    if hsts {
        set(STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    }
    resp
}

fn is_json(resp: &Response) -> bool {
    resp.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.starts_with("application/json") || ct.starts_with("text/event-stream"))
}

/// The registry entry for an error the framework answered on its own.
fn uniform(status: StatusCode) -> ApiError {
    let (code, message) = match status {
        StatusCode::BAD_REQUEST => ("request.invalid", "请求参数格式错误，请检查网址中的编号和查询参数"),
        StatusCode::NOT_FOUND => ("request.not_found", "没有这个接口"),
        StatusCode::METHOD_NOT_ALLOWED => ("request.method_not_allowed", "该接口不支持这种请求方法"),
        StatusCode::PAYLOAD_TOO_LARGE => ("request.too_large", "请求内容过大"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("request.unsupported_media_type", "请求内容类型不受支持（应为 application/json）"),
        StatusCode::UNPROCESSABLE_ENTITY => ("request.invalid_json", "请求内容格式错误"),
        StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => ("server.timeout", "服务繁忙或处理超时，请稍后再试"),
        s if s.is_server_error() => ("server.internal", "服务暂时不可用，请稍后再试"),
        _ => ("request.failed", "请求未能完成"),
    };
    ApiError::new(status, code, message)
}
