//! Crawler administration (系统管理员): sources with their last run and next scheduled time,
//! run history and failures, "run now", and article URLs added by hand.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use dwt_crawl::{Crawler, NoProgress};
use dwt_org::authz::Action;
use serde::Deserialize;

use super::session::Caller;
use crate::{rejected, ApiError, AppState, ErrorBody};

fn crawler(s: &AppState) -> Result<&Arc<Crawler>, ApiError> {
    s.crawler.as_ref().ok_or_else(|| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "server.crawl_unavailable", "抓取功能未启用"))
}

/// Sources as the files are now, each with its last run, next scheduled run and URL states;
/// plus the problems of files that did not load.
#[utoipa::path(get, path = "/api/admin/crawl/sources", tag = "crawl",
    responses((status = 200, description = "{sources: [{name, label, kind, enabled, schedule, next_run, running, last_run, urls}], errors: [{file, key, problem}]}"), (status = 403, body = ErrorBody)))]
pub async fn sources(State(s): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    caller.auth.principal.require_anywhere(Action::CrawlManage)?;
    let c = crawler(&s)?;
    let (sources, errors) = c.sources();
    let counts = c.state().url_state_counts().await?;
    let mut items = Vec::with_capacity(sources.len());
    for src in &sources {
        let last = c.state().runs(Some(&src.name), 1).await?.into_iter().next();
        let states: serde_json::Map<String, serde_json::Value> =
            counts.iter().filter(|(name, ..)| name == &src.name).map(|(_, state, n)| (state.clone(), (*n).into())).collect();
        items.push(serde_json::json!({
            "name": src.name,
            "label": src.label,
            "kind": src.kind,
            "enabled": src.enabled,
            "schedule": src.schedule.as_ref().map(|(text, _)| text),
            "next_run": if src.enabled { dwt_crawl::schedule::next_run(src, chrono::Utc::now()).map(|t| t.to_rfc3339()) } else { None },
            "running": c.is_running(&src.name),
            "last_run": last,
            "urls": states,
        }));
    }
    Ok(Json(serde_json::json!({"sources": items, "errors": errors})).into_response())
}

/// Starts a run in the background (202); 409 while the source is already running.
#[utoipa::path(post, path = "/api/admin/crawl/sources/{name}/run", tag = "crawl", params(("name" = String, Path)),
    responses((status = 202, description = "Started"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn run_now(State(s): State<AppState>, caller: Caller, Path(name): Path<String>) -> Result<Response, ApiError> {
    caller.auth.principal.require_anywhere(Action::CrawlManage)?;
    let c = crawler(&s)?.clone();
    let source = c.source(&name)?;
    if c.is_running(&name) {
        return Err(dwt_crawl::CrawlError::AlreadyRunning(name).into());
    }
    s.core()?.audit.record(&caller.actor(), "crawl.run_requested", "crawl_source", Some(name.clone()), None).await?;
    tokio::spawn(async move {
        if let Err(e) = c.run(&source, "admin", &NoProgress).await {
            tracing::warn!(source = %source.name, error = %e, "crawl started from the admin page failed");
        }
    });
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({"started": true}))).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AddUrlBody {
    url: String,
}

/// Adds an article URL to a source (visited on its next run).
#[utoipa::path(post, path = "/api/admin/crawl/sources/{name}/urls", tag = "crawl", params(("name" = String, Path)), request_body = AddUrlBody,
    responses((status = 200, description = "{added: bool}"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn add_url(State(s): State<AppState>, caller: Caller, Path(name): Path<String>, body: Result<Json<AddUrlBody>, JsonRejection>) -> Result<Response, ApiError> {
    caller.auth.principal.require_anywhere(Action::CrawlManage)?;
    let Json(body) = body.map_err(rejected)?;
    let c = crawler(&s)?;
    let source = c.source(&name)?;
    let added = c.add_url(&source, &body.url).await?;
    if added {
        s.core()?.audit.record(&caller.actor(), "crawl.url_added", "crawl_source", Some(name), Some(body.url)).await?;
    }
    Ok(Json(serde_json::json!({"added": added})).into_response())
}

#[derive(Deserialize)]
pub struct RunsParams {
    source: Option<String>,
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/admin/crawl/runs", tag = "crawl", params(("source" = Option<String>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, description = "{items: [CrawlRun]} newest first"), (status = 403, body = ErrorBody)))]
pub async fn runs(State(s): State<AppState>, caller: Caller, Query(p): Query<RunsParams>) -> Result<Response, ApiError> {
    caller.auth.principal.require_anywhere(Action::CrawlManage)?;
    let items = crawler(&s)?.state().runs(p.source.as_deref().filter(|x| !x.is_empty()), p.limit.unwrap_or(20).clamp(1, 200)).await?;
    Ok(Json(serde_json::json!({"items": items})).into_response())
}

#[utoipa::path(get, path = "/api/admin/crawl/runs/{id}/errors", tag = "crawl", params(("id" = i64, Path)),
    responses((status = 200, description = "{items: [{url, code, reason, at}]}"), (status = 403, body = ErrorBody)))]
pub async fn run_errors(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>) -> Result<Response, ApiError> {
    caller.auth.principal.require_anywhere(Action::CrawlManage)?;
    let items = crawler(&s)?.state().errors(id).await?;
    Ok(Json(serde_json::json!({"items": items})).into_response())
}
