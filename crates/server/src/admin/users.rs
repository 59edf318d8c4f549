//! `/api/admin/users*`: login users and role grants. An admin may manage a user only when every
//! organisation the user is anchored to (roles, linked member) lies in the admin's subtree, and
//! may grant roles only on organisations in that subtree; only 系统管理员 grants 系统管理员.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use dwt_org::auth::{describe_roles, NewUserInput};
use dwt_org::authz::{Action, Role};
use dwt_org::users::RoleInput;
use dwt_org::{Core, CoreError};
use serde::Deserialize;

use super::session::Caller;
use crate::{rejected, ApiError, AppState, ErrorBody};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewUserBody {
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub password: String,
    pub member_id: Option<i64>,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub roles: Vec<RoleInput>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UpdateUserBody {
    pub display_name: String,
    pub phone: Option<String>,
    #[serde(default = "active")]
    pub status: String,
    #[schema(value_type = Option<Vec<Object>>)]
    pub roles: Option<Vec<RoleInput>>,
}

fn active() -> String {
    "active".into()
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ListParams {
    pub q: Option<String>,
}

/// Checks the caller may grant each role, and resolves them.
async fn grantable(core: &Core, caller: &Caller, roles: &[RoleInput]) -> Result<Vec<(Role, i64)>, ApiError> {
    let mut out = Vec::new();
    for r in roles {
        let role = Role::parse(r.role.trim()).ok_or_else(|| ApiError::bad_request("user.invalid_role", format!("角色“{}”无效，应为 member、staff、org_admin 或 sys_admin", r.role)))?;
        let org = core.orgs.get(r.org_id).await.map_err(|_| ApiError::bad_request("user.invalid_role", format!("角色所属组织（编号 {}）不存在", r.org_id)))?;
        caller.auth.principal.require(Action::UserManage, &org.path)?;
        if role == Role::SysAdmin {
            caller.auth.principal.require_anywhere(Action::GrantSysAdmin)?;
        }
        out.push((role, org.id));
    }
    Ok(out)
}

/// The caller must hold `UserManage` over every organisation the user is anchored to, and
/// outrank the user's admin roles: a 系统管理员 is managed only by 系统管理员, an
/// 组织管理员 only by an admin whose grant lies strictly above theirs (peers cannot take over
/// each other's accounts by changing the phone, roles or status).
async fn require_manage(core: &Core, caller: &Caller, user_id: i64) -> Result<(), ApiError> {
    core.users.account(user_id).await?;
    let me = &caller.auth.principal;
    let anchors = core.users.anchor_paths(user_id).await?;
    if anchors.is_empty() {
        me.require_anywhere(Action::GrantSysAdmin)?;
    }
    for p in anchors {
        me.require(Action::UserManage, &p)?;
    }
    let is_sys = me.can_anywhere(Action::GrantSysAdmin);
    for g in core.users.grants(user_id).await? {
        let outranked = match g.role {
            Role::SysAdmin => is_sys,
            Role::OrgAdmin => is_sys || me.grants.iter().any(|mine| mine.role.is_admin() && g.org_path.starts_with(&mine.org_path) && g.org_path != mine.org_path),
            _ => true,
        };
        if !outranked {
            return Err(CoreError::Forbidden.into());
        }
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/admin/users", tag = "admin", params(("q" = Option<String>, Query)),
    responses((status = 200, description = "{items: [User]}"), (status = 403, body = ErrorBody)))]
pub async fn list(State(s): State<AppState>, caller: Caller, Query(p): Query<ListParams>) -> Result<Response, ApiError> {
    let core = s.core()?;
    let roots = caller.auth.principal.scope(Action::UserView);
    if roots.is_empty() {
        return Err(CoreError::Forbidden.into());
    }
    let items = core.users.list(&roots, p.q.as_deref()).await?;
    Ok(Json(serde_json::json!({"items": items})).into_response())
}

/// Creates a user. The user confirms by SMS code on first login and must then change the password.
#[utoipa::path(post, path = "/api/admin/users", tag = "admin", request_body = NewUserBody,
    responses((status = 201, description = "Created"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(State(s): State<AppState>, caller: Caller, body: Result<Json<NewUserBody>, JsonRejection>) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(rejected)?;
    let core = s.core()?;
    if body.roles.is_empty() {
        return Err(ApiError::bad_request("user.no_role", "请至少为用户分配一个角色"));
    }
    let roles = grantable(core, &caller, &body.roles).await?;
    if let Some(mid) = body.member_id {
        let m = core.members.get(mid).await.map_err(|_| ApiError::bad_request("user.invalid_member", format!("党员（编号 {mid}）不存在")))?;
        caller.auth.principal.require(Action::MemberManage, &m.org_path)?;
    }
    let input = NewUserInput {
        username: body.username,
        display_name: body.display_name,
        phone: body.phone,
        password: body.password,
        member_id: body.member_id,
        must_change_password: true,
        first_login_pending: true,
    };
    let user = core.auth.create_user(input, &roles, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

#[utoipa::path(put, path = "/api/admin/users/{id}", tag = "admin", request_body = UpdateUserBody,
    responses((status = 200, description = "Updated"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Result<Json<UpdateUserBody>, JsonRejection>) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(rejected)?;
    let core = s.core()?;
    if id == caller.auth.principal.user_id && body.roles.is_some() {
        return Err(ApiError::bad_request("user.self_roles", "不能修改自己的角色，请联系上级管理员"));
    }
    require_manage(core, &caller, id).await?;
    let roles = match &body.roles {
        Some(r) if r.is_empty() => return Err(ApiError::bad_request("user.no_role", "请至少为用户分配一个角色")),
        Some(r) => Some(grantable(core, &caller, r).await?),
        None => None,
    };
    if id == caller.auth.principal.user_id && body.status != "active" {
        return Err(ApiError::bad_request("user.self_disable", "不能停用自己的账号"));
    }
    let phone_before = core.users.account(id).await?.phone;
    core.users.update_profile(id, &body.display_name, body.phone.as_deref(), body.status.trim()).await?;
    if let Some(roles) = roles {
        core.users.set_roles(id, &roles).await?;
        core.audit.record(&caller.actor(), "user.roles_changed", "user", Some(id.to_string()), Some(format!("角色：{}", describe_roles(&roles)))).await?;
    }
    core.audit.record(&caller.actor(), "user.updated", "user", Some(id.to_string()), Some(format!("状态：{}", body.status))).await?;
    if core.users.account(id).await?.phone != phone_before {
        // A new phone receives reset codes: record it and end the user's sessions.
        core.audit.record(&caller.actor(), "user.phone_changed", "user", Some(id.to_string()), None).await?;
        core.auth.end_sessions(id).await?;
    }
    Ok(Json(core.users.view(id).await?).into_response())
}

#[utoipa::path(post, path = "/api/admin/users/{id}/unlock", tag = "admin",
    responses((status = 200, description = "Unlocked"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unlock(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let core = s.core()?;
    require_manage(core, &caller, id).await?;
    Ok(Json(core.auth.unlock(id, &caller.actor()).await?).into_response())
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct AuditParams {
    pub action: Option<String>,
    pub limit: Option<i64>,
}

/// The newest audit entries (系统管理员).
#[utoipa::path(get, path = "/api/admin/audit", tag = "admin", params(("action" = Option<String>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, description = "{items: [AuditEntry]}"), (status = 403, body = ErrorBody)))]
pub async fn audit(State(s): State<AppState>, caller: Caller, Query(p): Query<AuditParams>) -> Result<Response, ApiError> {
    let core = s.core()?;
    caller.auth.principal.require_anywhere(Action::AuditView)?;
    let items = core.audit.recent(p.action.as_deref().filter(|a| !a.is_empty()), p.limit.unwrap_or(100)).await?;
    Ok(Json(serde_json::json!({"items": items})).into_response())
}
