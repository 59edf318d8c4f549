//! Core-module endpoints: authentication (`/api/auth/*`) and administration (`/api/admin/*`).
//! Every admin handler takes a [`session::Caller`] and asks `dwt_org::Principal` for the right
//! on the organisation concerned — the one authorization layer.

pub mod auth;
pub mod crawl;
pub mod handoff;
pub mod kb;
pub mod members;
pub mod orgs;
pub mod qa;
pub mod session;
pub mod users;

use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;

use crate::AppState;

/// JSON routes (subject to the normal body limit).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/login", post(auth::login))
        .route("/api/auth/login/sms", post(auth::login_sms))
        .route("/api/auth/logout", post(auth::logout))
        .route("/api/auth/me", get(auth::me))
        .route("/api/auth/sms/send", post(auth::sms_send))
        .route("/api/auth/password/change", post(auth::password_change))
        .route("/api/auth/password/reset", post(auth::password_reset))
        .route("/api/admin/orgs", get(orgs::list).post(orgs::create))
        .route("/api/admin/orgs/export", get(orgs::export))
        .route("/api/admin/orgs/{id}", put(orgs::update))
        .route("/api/admin/orgs/{id}/move", post(orgs::move_to))
        .route("/api/admin/orgs/{id}/dissolve", post(orgs::dissolve))
        .route("/api/admin/members", get(members::list).post(members::create))
        .route("/api/admin/members/export", get(members::export))
        .route("/api/admin/members/{id}", get(members::get).put(members::update).delete(members::delete))
        .route("/api/admin/users", get(users::list).post(users::create))
        .route("/api/admin/users/{id}", put(users::update))
        .route("/api/admin/users/{id}/unlock", post(users::unlock))
        .route("/api/admin/audit", get(users::audit))
        .route("/api/consultations", post(handoff::request))
        .route("/api/consultations/mine", get(handoff::mine))
        .route("/api/consultations/{id}", get(handoff::detail))
        .route("/api/consultations/{id}/rate", post(handoff::rate))
        .route("/api/consultations/{id}/close", post(handoff::close))
        .route("/api/notifications", get(handoff::notifications))
        .route("/api/notifications/read", post(handoff::notifications_read))
        .route("/api/staff/queue", get(handoff::queue))
        .route("/api/staff/consultations/{id}/promote", post(handoff::promote))
        .route("/api/staff/consultations/{id}/{action}", post(handoff::staff_action))
        .route("/api/admin/qa-proposals", get(handoff::proposals))
        .route("/api/admin/qa-proposals/{id}/approve", post(handoff::approve))
        .route("/api/admin/qa-proposals/{id}/reject", post(handoff::reject))
        .route("/api/admin/handoff/stats", get(handoff::stats))
        .route("/api/admin/handoff/stats/export", get(handoff::stats_export))
        .route("/api/admin/crawl/sources", get(crawl::sources))
        .route("/api/admin/crawl/sources/{name}/run", post(crawl::run_now))
        .route("/api/admin/crawl/sources/{name}/urls", post(crawl::add_url))
        .route("/api/admin/crawl/runs", get(crawl::runs))
        .route("/api/admin/crawl/runs/{id}/errors", get(crawl::run_errors))
        .route("/api/admin/kb/documents", get(kb::documents))
        .route("/api/admin/kb/documents/{id}", axum::routing::delete(kb::delete_document))
        .route("/api/admin/kb/documents/{id}/chunks", get(kb::chunks))
        .route("/api/admin/kb/documents/{id}/status", post(kb::set_status))
        .route("/api/admin/kb/documents/{id}/rechunk", post(kb::rechunk))
        .route("/api/admin/kb/chunks/{id}", put(kb::edit_chunk))
        .route("/api/admin/kb/chunks/{id}/versions", get(kb::versions))
        .route("/api/admin/kb/chunks/{id}/{action}", post(kb::chunk_action))
        .route("/api/admin/kb/hit-test", get(kb::hit_test))
        .route("/api/admin/feedback", get(kb::feedback))
        .route("/api/admin/qa", get(qa::list).post(qa::create))
        .route("/api/admin/qa/template", get(qa::template))
        .route("/api/admin/qa/categories", get(qa::categories).post(qa::create_category))
        .route("/api/admin/qa/categories/{id}", put(qa::rename_category).delete(qa::delete_category))
        .route("/api/admin/qa/categories/{id}/move", post(qa::move_category))
        .route("/api/faq", get(qa::public_faq))
        .route("/api/admin/qa/export", get(qa::export))
        .route("/api/admin/qa/{id}", put(qa::update))
        .route("/api/admin/qa/{id}/status", post(qa::set_status))
        .route("/api/admin/qa/{id}/versions", get(qa::versions))
        .route("/api/admin/qa/{id}/rollback", post(qa::rollback))
}

/// Long-lived streams (no request timeout).
pub fn stream_routes() -> Router<AppState> {
    Router::new().route("/api/events", get(handoff::events))
}

/// Spreadsheet uploads (a larger body limit).
pub fn import_routes() -> Router<AppState> {
    Router::new().route("/api/admin/orgs/import", post(orgs::import)).route("/api/admin/members/import", post(members::import))
        .route("/api/admin/qa/import", post(qa::import))
        .route("/api/admin/kb/documents/upload", post(kb::upload))
}

/// Audit-logs a curation action of the caller.
pub(crate) async fn record_audit(s: &AppState, caller: &session::Caller, action: &str, target: &str, id: Option<String>, detail: Option<String>) -> Result<(), crate::ApiError> {
    s.core()?.audit.record(&caller.actor(), action, target, id, detail).await?;
    Ok(())
}

/// Makes a change to curated pairs answer at once (the FAQ-first matcher re-reads them).
pub(crate) async fn reload_faq(s: &AppState) -> Result<(), crate::ApiError> {
    if let Some(m) = s.assistant.faq() {
        m.reload().await.map_err(|e| crate::ApiError::internal("faq.reload_failed", e))?;
    }
    Ok(())
}

pub(crate) fn xlsx_response(filename: &str, bytes: Vec<u8>) -> Response {
    // RFC 5987 filename* for the Chinese name, plus an ASCII fallback.
    let encoded: String = filename.bytes().map(|b| if b.is_ascii_alphanumeric() || b == b'.' { (b as char).to_string() } else { format!("%{b:02X}") }).collect();
    (
        [
            (CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string()),
            (CONTENT_DISPOSITION, format!("attachment; filename=\"export.xlsx\"; filename*=UTF-8''{encoded}")),
            (CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}
