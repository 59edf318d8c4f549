//! The OpenAPI document of the HTTP API (`GET /api/openapi.json`), generated from the
//! handlers' annotations so it cannot drift from the routes silently (a test compares them).

use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "党务通 API", description = "党务知识问答、政策法规库原文查询与 OpenAI 兼容接口。错误统一为 {\"code\", \"message\"}，code 稳定，message 为中文。"),
    paths(
        crate::chat, crate::conversation, crate::feedback, crate::documents, crate::document, crate::article, crate::search_text,
        crate::healthz, crate::ready, crate::openapi::document, crate::metrics_doc,
        crate::openai::chat_completions, crate::openai::models,
        crate::admin::auth::login, crate::admin::auth::login_sms, crate::admin::auth::logout, crate::admin::auth::me, crate::admin::auth::sms_send,
        crate::admin::auth::password_change, crate::admin::auth::password_reset,
        crate::admin::orgs::list, crate::admin::orgs::create, crate::admin::orgs::update, crate::admin::orgs::move_to, crate::admin::orgs::dissolve,
        crate::admin::orgs::export, crate::admin::orgs::import,
        crate::admin::members::list, crate::admin::members::get, crate::admin::members::create, crate::admin::members::update, crate::admin::members::delete,
        crate::admin::members::export, crate::admin::members::import,
        crate::admin::users::list, crate::admin::users::create, crate::admin::users::update, crate::admin::users::unlock, crate::admin::users::audit,
        crate::admin::handoff::request, crate::admin::handoff::mine, crate::admin::handoff::detail, crate::admin::handoff::rate, crate::admin::handoff::close,
        crate::admin::handoff::notifications, crate::admin::handoff::notifications_read, crate::admin::handoff::events, crate::admin::handoff::queue,
        crate::admin::handoff::staff_action, crate::admin::handoff::promote, crate::admin::handoff::proposals, crate::admin::handoff::approve,
        crate::admin::handoff::reject, crate::admin::handoff::stats, crate::admin::handoff::stats_export,
        crate::admin::crawl::sources, crate::admin::crawl::run_now, crate::admin::crawl::add_url, crate::admin::crawl::runs, crate::admin::crawl::run_errors,
        crate::admin::kb::documents, crate::admin::kb::chunks, crate::admin::kb::set_status, crate::admin::kb::rechunk, crate::admin::kb::edit_chunk, crate::admin::kb::chunk_action,
        crate::admin::kb::versions, crate::admin::kb::hit_test, crate::admin::kb::feedback, crate::admin::kb::upload, crate::admin::kb::delete_document,
        crate::admin::qa::list, crate::admin::qa::create, crate::admin::qa::update, crate::admin::qa::set_status, crate::admin::qa::versions,
        crate::admin::qa::rollback, crate::admin::qa::template, crate::admin::qa::export, crate::admin::qa::import,
        crate::admin::qa::categories, crate::admin::qa::create_category, crate::admin::qa::rename_category, crate::admin::qa::move_category,
        crate::admin::qa::delete_category, crate::admin::qa::public_faq,
    ),
    components(schemas(crate::ErrorBody, crate::ChatBody, crate::FeedbackBody, crate::openai::CompletionRequest, crate::openai::CompletionMessage, crate::openai::Reference)),
    tags((name = "chat", description = "问答"), (name = "library", description = "政策法规库"), (name = "openai", description = "OpenAI 兼容接口"), (name = "ops", description = "运维"), (name = "auth", description = "登录与密码"), (name = "admin", description = "组织、党员、用户管理"), (name = "handoff", description = "人工答复"), (name = "crawl", description = "数据抓取"), (name = "knowledge", description = "知识库维护与命中测试"))
)]
pub struct ApiDoc;

/// `GET /api/openapi.json`.
#[utoipa::path(get, path = "/api/openapi.json", tag = "ops", responses((status = 200, description = "This OpenAPI document")))]
pub async fn document() -> Response {
    Json(ApiDoc::openapi()).into_response()
}
