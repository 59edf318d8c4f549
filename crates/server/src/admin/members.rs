//! `/api/admin/members*`: 党员信息. `MemberView` lists (masked), `MemberViewPii` unmasks (each
//! unmasked view is audit-logged), `MemberManage` writes — all on the member's organisation.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use dwt_org::authz::Action;
use dwt_org::members::{Member, MemberInput, MemberQuery};
use dwt_org::{Core, CoreError};
use serde::Deserialize;

use super::session::Caller;
use super::xlsx_response;
use crate::{rejected, ApiError, AppState, ErrorBody};

/// `unmask=1`: unmasked 身份证号/手机号 (needs the right; audit-logged). A second `Query`
/// beside `MemberQuery` (serde's flatten breaks numbers in query strings).
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct UnmaskParam {
    pub unmask: Option<u8>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ImportParams {
    /// Organisation for rows without 所在党组织编码.
    pub org_id: Option<i64>,
}

/// The subtree roots to search: the caller's scope for the action, narrowed to `org_id`.
async fn roots_for(core: &Core, caller: &Caller, action: Action, org_id: Option<i64>) -> Result<Vec<String>, ApiError> {
    match org_id {
        Some(id) => {
            let org = core.orgs.get(id).await?;
            caller.auth.principal.require(action, &org.path)?;
            Ok(vec![org.path])
        }
        None => {
            let roots = caller.auth.principal.scope(action);
            if roots.is_empty() {
                return Err(CoreError::Forbidden.into());
            }
            Ok(roots)
        }
    }
}

async fn audit_pii(core: &Core, caller: &Caller, members: &[Member], how: &str) -> Result<(), ApiError> {
    if members.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = members.iter().map(|m| m.id.to_string()).collect();
    core.audit.record(&caller.actor(), "member.pii_viewed", "member", Some(ids.join(",")), Some(format!("{how}：{} 名党员的完整身份证号/手机号", members.len()))).await?;
    Ok(())
}

#[utoipa::path(get, path = "/api/admin/members", tag = "admin",
    params(("q" = Option<String>, Query, description = "姓名或手机尾号"), ("org_id" = Option<i64>, Query, description = "组织（含下级）"), ("status" = Option<String>, Query), ("page" = Option<i64>, Query), ("page_size" = Option<i64>, Query), ("unmask" = Option<u8>, Query)),
    responses((status = 200, description = "{total, items: [Member]}"), (status = 403, body = ErrorBody)))]
pub async fn list(State(s): State<AppState>, caller: Caller, Query(query): Query<MemberQuery>, Query(p): Query<UnmaskParam>) -> Result<Response, ApiError> {
    let core = s.core()?;
    let unmask = p.unmask == Some(1);
    let action = if unmask { Action::MemberViewPii } else { Action::MemberView };
    let roots = roots_for(core, &caller, action, query.org_id).await?;
    let (total, items) = core.members.search(&roots, &query).await?;
    let items: Vec<Member> = if unmask {
        audit_pii(core, &caller, &items, "列表查看").await?;
        items
    } else {
        items.into_iter().map(Member::masked).collect()
    };
    Ok(Json(serde_json::json!({"total": total, "items": items})).into_response())
}

#[utoipa::path(get, path = "/api/admin/members/{id}", tag = "admin", params(("unmask" = Option<u8>, Query)),
    responses((status = 200, description = "Member"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>, Query(p): Query<UnmaskParam>) -> Result<Response, ApiError> {
    let core = s.core()?;
    let m = core.members.get(id).await?;
    caller.auth.principal.require(Action::MemberView, &m.org_path)?;
    if p.unmask == Some(1) {
        caller.auth.principal.require(Action::MemberViewPii, &m.org_path)?;
        audit_pii(core, &caller, std::slice::from_ref(&m), "详情查看").await?;
        return Ok(Json(m).into_response());
    }
    Ok(Json(m.masked()).into_response())
}

#[utoipa::path(post, path = "/api/admin/members", tag = "admin", request_body(content = Object),
    responses((status = 201, description = "Created"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(State(s): State<AppState>, caller: Caller, body: Result<Json<MemberInput>, JsonRejection>) -> Result<Response, ApiError> {
    let Json(input) = body.map_err(rejected)?;
    let core = s.core()?;
    if input.org_id <= 0 {
        return Err(CoreError::invalid("member.invalid_org", "请选择所在党组织").into());
    }
    let org = core.orgs.get(input.org_id).await.map_err(|_| ApiError::bad_request("member.invalid_org", "所在党组织不存在"))?;
    caller.auth.principal.require(Action::MemberManage, &org.path)?;
    let m = core.members.create(&input).await?;
    core.audit.record(&caller.actor(), "member.created", "member", Some(m.id.to_string()), Some(m.name.clone())).await?;
    Ok((StatusCode::CREATED, Json(m.masked())).into_response())
}

#[utoipa::path(put, path = "/api/admin/members/{id}", tag = "admin", request_body(content = Object),
    responses((status = 200, description = "Updated"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Result<Json<MemberInput>, JsonRejection>) -> Result<Response, ApiError> {
    let Json(input) = body.map_err(rejected)?;
    let core = s.core()?;
    let existing = core.members.get(id).await?;
    caller.auth.principal.require(Action::MemberManage, &existing.org_path)?;
    if input.org_id != existing.org_id {
        let org = core.orgs.get(input.org_id).await.map_err(|_| ApiError::bad_request("member.invalid_org", "所在党组织不存在"))?;
        caller.auth.principal.require(Action::MemberManage, &org.path)?;
    }
    let m = core.members.update(id, &input).await?;
    core.audit.record(&caller.actor(), "member.updated", "member", Some(id.to_string()), Some(m.name.clone())).await?;
    Ok(Json(m.masked()).into_response())
}

#[utoipa::path(delete, path = "/api/admin/members/{id}", tag = "admin",
    responses((status = 204, description = "Deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let core = s.core()?;
    let existing = core.members.get(id).await?;
    caller.auth.principal.require(Action::MemberManage, &existing.org_path)?;
    core.members.delete(id).await?;
    core.audit.record(&caller.actor(), "member.deleted", "member", Some(id.to_string()), Some(existing.name)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(get, path = "/api/admin/members/export", tag = "admin", params(("org_id" = Option<i64>, Query), ("unmask" = Option<u8>, Query)),
    responses((status = 200, description = "xlsx"), (status = 403, body = ErrorBody)))]
pub async fn export(State(s): State<AppState>, caller: Caller, Query(q): Query<MemberQuery>, Query(p): Query<UnmaskParam>) -> Result<Response, ApiError> {
    let core = s.core()?;
    let unmask = p.unmask == Some(1);
    let action = if unmask { Action::MemberViewPii } else { Action::MemberView };
    let roots = roots_for(core, &caller, action, q.org_id).await?;
    let mut all = Vec::new();
    let mut query = MemberQuery { page_size: Some(200), page: Some(1), ..q };
    loop {
        let (total, items) = core.members.search(&roots, &query).await?;
        let n = items.len();
        all.extend(items);
        if n == 0 || all.len() as i64 >= total {
            break;
        }
        query.page = Some(query.page.unwrap_or(1) + 1);
    }
    if unmask {
        audit_pii(core, &caller, &all, "导出").await?;
    } else {
        all = all.into_iter().map(Member::masked).collect();
    }
    let codes: HashMap<i64, String> = core.orgs.list(&roots).await?.into_iter().map(|o| (o.id, o.code)).collect();
    Ok(xlsx_response("党员信息.xlsx", dwt_org::xlsx::export_members(&all, &codes)?))
}

#[utoipa::path(post, path = "/api/admin/members/import", tag = "admin", params(("org_id" = Option<i64>, Query)),
    request_body(content = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses((status = 200, description = "{inserted, updated, errors: [{row, message}]}"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn import(State(s): State<AppState>, caller: Caller, Query(p): Query<ImportParams>, body: Bytes) -> Result<Response, ApiError> {
    let core = s.core()?;
    let default_org = match p.org_id {
        Some(id) => {
            let org = core.orgs.get(id).await?;
            caller.auth.principal.require(Action::MemberManage, &org.path)?;
            Some(org)
        }
        None if caller.auth.principal.scope(Action::MemberManage).is_empty() => return Err(CoreError::Forbidden.into()),
        None => None,
    };
    let report = dwt_org::xlsx::import_members(&core.orgs, &core.members, &caller.auth.principal, &body, default_org.as_ref(), &s.assistant.knowledge_base().settings().upload)
        .await?;
    core.audit.record(&caller.actor(), "member.imported", "member", None, Some(format!("新增 {}，更新 {}，错误 {}", report.inserted, report.updated, report.errors.len()))).await?;
    Ok(Json(report).into_response())
}
