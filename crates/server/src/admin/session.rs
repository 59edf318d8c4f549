//! Who is calling: the session token from the `dwt_session` cookie (web) or an
//! `Authorization: Bearer` header (API clients). Cookie-authenticated writes must carry the
//! session's CSRF token in `X-CSRF-Token` (double-submit: the page reads it from `dwt_csrf`).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use dwt_org::audit::Actor;
use dwt_org::auth::Authenticated;

use crate::{ApiError, AppState};

pub const SESSION_COOKIE: &str = "dwt_session";
pub const CSRF_COOKIE: &str = "dwt_csrf";
/// The anonymous asker of this browser: owns the conversations it starts (HttpOnly).
pub const ASKER_COOKIE: &str = "dwt_asker";

/// An authenticated caller (401 otherwise).
pub struct Caller {
    pub auth: Authenticated,
    pub ip: Option<String>,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        Actor { id: Some(self.auth.principal.user_id), name: Some(self.auth.principal.username.clone()), ip: self.ip.clone() }
    }
}

/// Whose question it is, for the org scope of curated pairs: the organisations of every grant
/// (a member's 支部, a staff member's 党委…). Anonymous visitors see system-wide pairs only.
pub fn audience(caller: Option<&Caller>) -> dwt_store::Audience {
    dwt_store::Audience::new(caller.into_iter().flat_map(|c| c.auth.principal.grants.iter().map(|g| g.org_path.clone())))
}

/// The caller when logged in, None for anonymous visitors (bad or expired tokens are anonymous).
pub struct MaybeCaller(pub Option<Caller>);

/// Who asks in the chat: the logged-in member (if any) and this browser's anonymous asker token.
/// `issued` is a new token to set as a cookie on the response (none was sent).
pub struct ChatAsker {
    pub caller: Option<Caller>,
    pub asker: dwt_store::Asker,
    pub issued: Option<HeaderValue>,
}

impl FromRequestParts<AppState> for ChatAsker {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let MaybeCaller(caller) = MaybeCaller::from_request_parts(parts, state).await?;
        let sent = asker_token(&parts.headers);
        let (token, issued) = match sent {
            Some(t) => (t, None),
            None => {
                let t = dwt_store::Asker::new_token();
                let secure = if state.auth_settings().cookie_secure { "; Secure" } else { "" };
                let header = HeaderValue::from_str(&format!("{ASKER_COOKIE}={t}; Path=/api; HttpOnly; SameSite=Lax; Max-Age=31536000{secure}")).ok();
                (t, header)
            }
        };
        let asker = dwt_store::Asker { user_id: caller.as_ref().map(|c| c.auth.principal.user_id), anon_token: Some(token) };
        Ok(ChatAsker { caller, asker, issued })
    }
}

/// This browser's anonymous asker token (the `dwt_asker` cookie), when it sent a well-formed one.
pub(crate) fn asker_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, ASKER_COOKIE).filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit())).map(str::to_string)
}

/// The client's address (for rate limits and the audit log).
pub struct ClientIp(pub Option<String>);

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// The client's address: as resolved behind trusted proxies, else the connection's peer.
fn client_ip(parts: &Parts) -> Option<String> {
    if let Some(crate::client_addr::ClientAddr(ip)) = parts.extensions.get() {
        return Some(ip.to_string());
    }
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string())
}

async fn resolve(parts: &Parts, state: &AppState) -> Result<Option<Caller>, ApiError> {
    let core = state.core()?;
    let bearer = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
    let (token, from_cookie) = match bearer {
        Some(t) => (t, false),
        None => match cookie(&parts.headers, SESSION_COOKIE) {
            Some(t) => (t, true),
            None => return Ok(None),
        },
    };
    let Some(auth) = core.auth.authenticate(token).await? else { return Ok(None) };
    if from_cookie && !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        let sent = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
        if !dwt_org::validate::constant_time_eq(sent, &auth.csrf_token) {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "auth.csrf", "页面已过期或请求来源不可信，请刷新页面后重试"));
        }
    }
    Ok(Some(Caller { auth, ip: client_ip(parts) }))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = resolve(parts, state).await?.ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "auth.required", "请先登录"))?;
        // A first login or an expired password: nothing but the auth endpoints until it is changed.
        if caller.auth.user.must_change_password && !parts.uri.path().starts_with("/api/auth/") {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "auth.password_change_required", "请先修改密码后再继续操作"));
        }
        Ok(caller)
    }
}

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if state.core.is_none() {
            return Ok(MaybeCaller(None));
        }
        match resolve(parts, state).await {
            Ok(caller) => Ok(MaybeCaller(caller)),
            // Identity is optional here: a write without the CSRF header is served as anonymous.
            Err(e) if e.code == "auth.csrf" => Ok(MaybeCaller(None)),
            Err(e) => Err(e),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(parts)))
    }
}

/// `Set-Cookie` values for a new session (or, with `None`, for clearing it).
pub fn session_cookies(session: Option<(&str, &str)>, max_age_secs: i64, secure: bool) -> Vec<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    let (token, csrf, age) = match session {
        Some((t, c)) => (t, c, max_age_secs),
        None => ("", "", 0),
    };
    [
        format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={age}{secure}"),
        format!("{CSRF_COOKIE}={csrf}; Path=/; SameSite=Strict; Max-Age={age}{secure}"),
    ]
    .into_iter()
    .filter_map(|c| HeaderValue::from_str(&c).ok())
    .collect()
}
