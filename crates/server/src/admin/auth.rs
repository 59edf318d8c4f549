//! `/api/auth/*`: login (with the SMS step on first login), logout, who am I, SMS codes,
//! password change and reset.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use dwt_org::auth::sms::SmsPurpose;
use dwt_org::{LoginOutcome, Session};
use serde::Deserialize;

use super::session::{session_cookies, Caller, ClientIp};
use crate::{rejected, ApiError, AppState, ErrorBody};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginBody {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginSmsBody {
    pub challenge: String,
    pub code: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SmsSendBody {
    /// `password_change` (logged in) or `password_reset` (with `username`).
    pub purpose: String,
    pub username: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PasswordChangeBody {
    pub old_password: String,
    pub new_password: String,
    #[serde(default)]
    pub code: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PasswordResetBody {
    pub username: String,
    pub code: String,
    pub new_password: String,
}

fn session_response(state: &AppState, session: Session) -> Response {
    let settings = state.auth_settings();
    let max_age = i64::from(settings.session_hours) * 3600;
    let mut resp = Json(serde_json::json!({
        "status": "ok",
        "user": session.user,
        "token": session.token,
        "csrf_token": session.csrf_token,
        "expires_at": session.expires_at,
    }))
    .into_response();
    for c in session_cookies(Some((&session.token, &session.csrf_token)), max_age, settings.cookie_secure) {
        resp.headers_mut().append(SET_COOKIE, c);
    }
    resp
}

/// Password login. 200 with a session (cookie + token), or `sms_required` on first login;
/// 401 on bad credentials (same for unknown users), 423 while locked.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, description = "Logged in, or SMS step required"), (status = 401, body = ErrorBody), (status = 423, description = "Locked", body = ErrorBody)))]
pub async fn login(State(s): State<AppState>, ClientIp(ip): ClientIp, body: Result<Json<LoginBody>, JsonRejection>) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(rejected)?;
    let core = s.core()?;
    match core.auth.login(&body.username, &body.password, ip.as_deref()).await? {
        LoginOutcome::Ok(session) => Ok(session_response(&s, session)),
        LoginOutcome::SmsRequired { challenge, phone_masked } => {
            Ok(Json(serde_json::json!({"status": "sms_required", "challenge": challenge, "phone_masked": phone_masked, "expires_in": core.auth.sms_ttl_secs()})).into_response())
        }
    }
}

/// Second step of a first login: the SMS code for the challenge.
#[utoipa::path(post, path = "/api/auth/login/sms", tag = "auth", request_body = LoginSmsBody,
    responses((status = 200, description = "Logged in"), (status = 400, body = ErrorBody)))]
pub async fn login_sms(State(s): State<AppState>, ClientIp(ip): ClientIp, body: Result<Json<LoginSmsBody>, JsonRejection>) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(rejected)?;
    let session = s.core()?.auth.login_sms(&body.challenge, &body.code, ip.as_deref()).await?;
    Ok(session_response(&s, session))
}

/// Ends the session and clears the cookies.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", responses((status = 204, description = "Logged out"), (status = 401, body = ErrorBody)))]
pub async fn logout(State(s): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    s.core()?.auth.logout(&caller.auth.token_hash).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    for c in session_cookies(None, 0, s.auth_settings().cookie_secure) {
        resp.headers_mut().append(SET_COOKIE, c);
    }
    Ok(resp)
}

/// The logged-in user.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth", responses((status = 200, description = "The user"), (status = 401, body = ErrorBody)))]
pub async fn me(caller: Caller) -> Response {
    Json(caller.auth.user).into_response()
}

/// Sends an SMS code: `password_change` to the logged-in user's phone, or `password_reset`
/// for `username` (answers the same whether or not that user exists).
#[utoipa::path(post, path = "/api/auth/sms/send", tag = "auth", request_body = SmsSendBody,
    responses((status = 200, description = "Sent"), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn sms_send(State(s): State<AppState>, ClientIp(ip): ClientIp, caller: super::session::MaybeCaller, body: Result<Json<SmsSendBody>, JsonRejection>) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(rejected)?;
    let core = s.core()?;
    let ttl = core.auth.sms_ttl_secs();
    match SmsPurpose::parse(body.purpose.trim()) {
        Some(SmsPurpose::PasswordChange) => {
            let caller = caller.0.ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "auth.required", "请先登录"))?;
            let masked = core.auth.send_change_code(caller.auth.principal.user_id, ip.as_deref()).await?;
            Ok(Json(serde_json::json!({"sent": true, "phone_masked": masked, "expires_in": ttl})).into_response())
        }
        Some(SmsPurpose::PasswordReset) => {
            let username = body.username.as_deref().map(str::trim).filter(|u| !u.is_empty()).ok_or_else(|| ApiError::bad_request("auth.missing_username", "请输入用户名"))?;
            core.auth.send_reset_code(username, ip.as_deref()).await?;
            Ok(Json(serde_json::json!({"sent": true, "expires_in": ttl})).into_response())
        }
        _ => Err(ApiError::bad_request("auth.invalid_purpose", "purpose 应为 password_change 或 password_reset")),
    }
}

/// Changes the logged-in user's password (old password + SMS code).
#[utoipa::path(post, path = "/api/auth/password/change", tag = "auth", request_body = PasswordChangeBody,
    responses((status = 204, description = "Changed"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn password_change(State(s): State<AppState>, caller: Caller, body: Result<Json<PasswordChangeBody>, JsonRejection>) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(rejected)?;
    s.core()?.auth.change_password(&caller.auth, &body.old_password, &body.new_password, &body.code, caller.ip.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Resets a forgotten password with an SMS code.
#[utoipa::path(post, path = "/api/auth/password/reset", tag = "auth", request_body = PasswordResetBody,
    responses((status = 204, description = "Reset"), (status = 400, body = ErrorBody)))]
pub async fn password_reset(State(s): State<AppState>, ClientIp(ip): ClientIp, body: Result<Json<PasswordResetBody>, JsonRejection>) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(rejected)?;
    s.core()?.auth.reset_password(&body.username, &body.code, &body.new_password, ip.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
