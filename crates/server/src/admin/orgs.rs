//! `/api/admin/orgs*`: the organisation tree. Rights: `OrgView` to list, `OrgManage` on the
//! parent to create, move away or dissolve, on the organisation itself to edit.

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use dwt_org::authz::Action;
use dwt_org::orgs::{Org, OrgInput};
use dwt_org::Core;
use serde::Deserialize;

use super::session::Caller;
use super::xlsx_response;
use crate::{rejected, ApiError, AppState, ErrorBody};

/// `{parent_id, name, org_type, code, leader_name, contact_phone, address, lat, lng, sort_order}`.
#[derive(Debug, Deserialize)]
pub struct OrgBody {
    pub parent_id: Option<i64>,
    #[serde(flatten)]
    pub fields: OrgInput,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MoveBody {
    pub parent_id: i64,
}

/// Rights over where an organisation hangs: its parent's subtree, or (for a root) the right to
/// create roots.
async fn require_on_parent(core: &Core, caller: &Caller, org: &Org) -> Result<(), ApiError> {
    match org.parent_id {
        Some(pid) => Ok(caller.auth.principal.require(Action::OrgManage, &core.orgs.get(pid).await?.path)?),
        None => Ok(caller.auth.principal.require_anywhere(Action::CreateRootOrg)?),
    }
}

/// Organisations the caller may see, in tree order.
#[utoipa::path(get, path = "/api/admin/orgs", tag = "admin", responses((status = 200, description = "{items: [Org]}"), (status = 401, body = ErrorBody)))]
pub async fn list(State(s): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let core = s.core()?;
    let items = core.orgs.list(&caller.auth.principal.scope(Action::OrgView)).await?;
    Ok(Json(serde_json::json!({ "items": items })).into_response())
}

#[utoipa::path(post, path = "/api/admin/orgs", tag = "admin", request_body(content = Object, description = "{parent_id, name, org_type, code, leader_name, contact_phone, address, lat, lng, sort_order}"),
    responses((status = 201, description = "Created"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(State(s): State<AppState>, caller: Caller, body: Result<Json<OrgBody>, JsonRejection>) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(rejected)?;
    let core = s.core()?;
    match body.parent_id {
        Some(pid) => caller.auth.principal.require(Action::OrgManage, &core.orgs.get(pid).await?.path)?,
        None => caller.auth.principal.require_anywhere(Action::CreateRootOrg)?,
    }
    let org = core.orgs.create(body.parent_id, &body.fields).await?;
    core.audit.record(&caller.actor(), "org.created", "org", Some(org.id.to_string()), Some(org.name.clone())).await?;
    Ok((StatusCode::CREATED, Json(org)).into_response())
}

#[utoipa::path(put, path = "/api/admin/orgs/{id}", tag = "admin", request_body(content = Object, description = "{parent_id, name, org_type, code, leader_name, contact_phone, address, lat, lng, sort_order}"),
    responses((status = 200, description = "Updated"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Result<Json<OrgBody>, JsonRejection>) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(rejected)?;
    let core = s.core()?;
    let org = core.orgs.get(id).await?;
    caller.auth.principal.require(Action::OrgManage, &org.path)?;
    let org = core.orgs.update(id, &body.fields).await?;
    core.audit.record(&caller.actor(), "org.updated", "org", Some(id.to_string()), Some(org.name.clone())).await?;
    Ok(Json(org).into_response())
}

#[utoipa::path(post, path = "/api/admin/orgs/{id}/move", tag = "admin", request_body = MoveBody,
    responses((status = 200, description = "Moved"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn move_to(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Result<Json<MoveBody>, JsonRejection>) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(rejected)?;
    let core = s.core()?;
    let org = core.orgs.get(id).await?;
    require_on_parent(core, &caller, &org).await?;
    let target = core.orgs.get(body.parent_id).await.map_err(|_| ApiError::bad_request("org.parent_not_found", format!("目标上级组织（编号 {}）不存在", body.parent_id)))?;
    caller.auth.principal.require(Action::OrgManage, &target.path)?;
    let moved = core.orgs.move_to(id, body.parent_id).await?;
    core.audit.record(&caller.actor(), "org.moved", "org", Some(id.to_string()), Some(format!("{} → {}", org.path, moved.path))).await?;
    Ok(Json(moved).into_response())
}

#[utoipa::path(post, path = "/api/admin/orgs/{id}/dissolve", tag = "admin",
    responses((status = 200, description = "Dissolved"), (status = 403, body = ErrorBody), (status = 409, description = "Members remain", body = ErrorBody)))]
pub async fn dissolve(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let core = s.core()?;
    let org = core.orgs.get(id).await?;
    require_on_parent(core, &caller, &org).await?;
    let org = core.orgs.dissolve(id).await?;
    core.audit.record(&caller.actor(), "org.dissolved", "org", Some(id.to_string()), Some(org.name.clone())).await?;
    Ok(Json(org).into_response())
}

#[utoipa::path(get, path = "/api/admin/orgs/export", tag = "admin", responses((status = 200, description = "xlsx"), (status = 403, body = ErrorBody)))]
pub async fn export(State(s): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let core = s.core()?;
    let roots = caller.auth.principal.scope(Action::OrgView);
    if roots.is_empty() {
        return Err(dwt_org::CoreError::Forbidden.into());
    }
    let orgs = core.orgs.list(&roots).await?;
    Ok(xlsx_response("组织架构.xlsx", dwt_org::xlsx::export_orgs(&orgs)?))
}

/// Raw xlsx body. Nothing is written when any row is bad; the report lists each bad row.
#[utoipa::path(post, path = "/api/admin/orgs/import", tag = "admin", request_body(content = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses((status = 200, description = "{inserted, updated, errors: [{row, message}]}"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn import(State(s): State<AppState>, caller: Caller, body: Bytes) -> Result<Response, ApiError> {
    let core = s.core()?;
    if caller.auth.principal.scope(Action::OrgManage).is_empty() {
        return Err(dwt_org::CoreError::Forbidden.into());
    }
    let report = dwt_org::xlsx::import_orgs(&core.orgs, &caller.auth.principal, &body, &s.assistant.knowledge_base().settings().upload).await?;
    core.audit.record(&caller.actor(), "org.imported", "org", None, Some(format!("新增 {}，更新 {}，错误 {}", report.inserted, report.updated, report.errors.len()))).await?;
    Ok(Json(report).into_response())
}
