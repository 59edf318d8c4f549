//! Authentication: argon2id passwords under a policy, lockout after consecutive failures,
//! SMS dynamic codes for first login / password change / reset, and server-side sessions
//! (cookie + CSRF token for the web, the same token as a bearer for API clients).

pub mod password;
pub mod sms;

use std::sync::Arc;

use dwt_core::config::{AuthSettings, PasswordPolicy};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::audit::{Actor, AuditLog};
use crate::authz::{Grant, Principal, Role};
use crate::db::{format_ts, now_text, parse_ts, Db};
use crate::users::{view_of, Account, NewAccount, User, UserRepo};
use crate::{validate, CoreError};
use sms::{CodeKey, SmsCodes, SmsPurpose, SmsSender};

/// A live session as created at login.
#[derive(Debug, Clone, Serialize)]
pub struct Session {
    /// Give to the client once (cookie or bearer); only its hash is stored.
    pub token: String,
    pub csrf_token: String,
    pub expires_at: String,
    pub user: User,
}

#[derive(Debug, Clone)]
pub enum LoginOutcome {
    Ok(Session),
    /// First login: a code went to the user's phone; finish with `login_sms`.
    SmsRequired { challenge: String, phone_masked: String },
}

/// The caller behind a request's token.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub principal: Principal,
    pub user: User,
    pub token_hash: String,
    pub csrf_token: String,
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub struct AuthService {
    db: Db,
    users: UserRepo,
    audit: AuditLog,
    settings: AuthSettings,
    codes: SmsCodes,
    dummy_hash: String,
}

impl AuthService {
    pub fn new(db: Db, users: UserRepo, audit: AuditLog, settings: AuthSettings, sender: Arc<dyn SmsSender>) -> Self {
        let codes = SmsCodes::new(db.clone(), settings.sms.clone(), sender);
        Self { db, users, audit, settings, codes, dummy_hash: password::dummy_hash() }
    }

    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    pub fn sms_ttl_secs(&self) -> u64 {
        self.codes.ttl_secs()
    }

    /// The stricter admin policy applies to anyone holding an admin role.
    pub fn policy_for(&self, roles: &[Role]) -> &PasswordPolicy {
        if roles.iter().any(|r| r.is_admin()) {
            &self.settings.admin_password
        } else {
            &self.settings.password
        }
    }

    async fn policy_for_user(&self, user_id: i64) -> Result<&PasswordPolicy, CoreError> {
        let roles: Vec<Role> = self.users.grants(user_id).await?.into_iter().map(|g| g.role).collect();
        Ok(self.policy_for(&roles))
    }

    fn lock_minutes_left(until: &str) -> Option<i64> {
        let t = parse_ts(until)?;
        let left = (t - chrono::Utc::now()).num_seconds();
        (left > 0).then(|| (left + 59) / 60)
    }

    /// A failed login under a username that does not exist: counted and locked exactly like a
    /// real account's (in the database, so that a 423 never tells that an account exists), and
    /// audited, so that it costs the same writes as a wrong password (no timing tell).
    async fn phantom_failure(&self, username: &str, ip: Option<&str>) -> Result<CoreError, CoreError> {
        let name: String = username.to_lowercase().chars().take(64).collect();
        let until = format_ts(chrono::Utc::now() + chrono::Duration::minutes(i64::from(self.settings.lockout_minutes)));
        let locked = self.users.admit_phantom(&name, self.settings.max_failed_logins, &until).await?;
        let actor = Actor { id: None, name: Some(name), ip: ip.map(str::to_string) };
        self.audit.record(&actor, "auth.login_failed", "user", None, Some("用户名不存在".into())).await?;
        Ok(match locked.as_deref().and_then(Self::lock_minutes_left) {
            Some(minutes) => CoreError::Locked { minutes },
            None => CoreError::InvalidCredentials,
        })
    }

    /// Password login. Wrong password, unknown user: the same 401. The failure that reaches
    /// `max_failed_logins`, and every attempt while locked (even with the right password), 423.
    pub async fn login(&self, username: &str, password: &str, ip: Option<&str>) -> Result<LoginOutcome, CoreError> {
        let username = username.trim();
        if username.is_empty() || password.is_empty() {
            return Err(CoreError::invalid("auth.missing_credentials", "请输入用户名和密码"));
        }
        let Some(account) = self.users.account_by_username(username).await? else {
            let _ = password::verify_async(password, &self.dummy_hash).await;
            return Err(self.phantom_failure(username, ip).await?);
        };
        let actor = Actor { id: Some(account.id), name: Some(account.username.clone()), ip: ip.map(str::to_string) };
        if let Some(minutes) = account.locked_until.as_deref().and_then(Self::lock_minutes_left) {
            // Verify anyway so a locked account answers in the same time as any other.
            let _ = password::verify_async(password, &account.password_hash).await;
            return Err(CoreError::Locked { minutes });
        }
        // The attempt is counted (and may lock) before the slow hash is checked, in one statement:
        // guesses verified in parallel cannot outrun the limit.
        let until = format_ts(chrono::Utc::now() + chrono::Duration::minutes(i64::from(self.settings.lockout_minutes)));
        let Some((attempts, locked)) = self.users.admit_attempt(account.id, self.settings.max_failed_logins, &until).await? else {
            let _ = password::verify_async(password, &account.password_hash).await;
            let minutes = self.users.account(account.id).await?.locked_until.as_deref().and_then(Self::lock_minutes_left).unwrap_or(1);
            return Err(CoreError::Locked { minutes });
        };
        if !password::verify_async(password, &account.password_hash).await {
            if let Some(minutes) = locked.as_deref().and_then(Self::lock_minutes_left) {
                self.audit.record(&actor, "auth.locked", "user", Some(account.id.to_string()), Some(format!("连续 {attempts} 次密码错误，锁定 {minutes} 分钟"))).await?;
                return Err(CoreError::Locked { minutes });
            }
            self.audit.record(&actor, "auth.login_failed", "user", Some(account.id.to_string()), Some(format!("第 {attempts} 次密码错误"))).await?;
            return Err(CoreError::InvalidCredentials);
        }
        if account.status != "active" {
            return Err(CoreError::Disabled);
        }
        self.users.clear_failures(account.id).await?;
        if account.first_login_pending {
            if let Some(phone) = account.phone.as_deref() {
                let challenge = self.codes.issue(phone, SmsPurpose::FirstLogin, account.id, ip, true).await?.unwrap_or_default();
                return Ok(LoginOutcome::SmsRequired { challenge, phone_masked: validate::mask_phone(phone) });
            }
            // No phone on file: no second factor is possible; the forced password change remains.
            self.users.finish_first_login(account.id).await?;
        }
        self.audit.record(&actor, "auth.login", "user", Some(account.id.to_string()), None).await?;
        Ok(LoginOutcome::Ok(self.create_session(&account).await?))
    }

    /// Second step of a first login.
    pub async fn login_sms(&self, challenge: &str, code: &str, ip: Option<&str>) -> Result<Session, CoreError> {
        let user_id = self.codes.consume(CodeKey::Challenge(challenge.trim()), SmsPurpose::FirstLogin, code).await?;
        self.users.finish_first_login(user_id).await?;
        let account = self.users.account(user_id).await?;
        if account.status != "active" {
            return Err(CoreError::Disabled);
        }
        self.audit.record(&Actor { id: Some(user_id), name: Some(account.username.clone()), ip: ip.map(str::to_string) }, "auth.login", "user", Some(user_id.to_string()), Some("首次登录（短信验证）".into())).await?;
        self.create_session(&account).await
    }

    fn password_expired(&self, account: &Account, policy: &PasswordPolicy) -> bool {
        policy.max_age_days > 0
            && parse_ts(&account.password_changed_at).is_some_and(|t| chrono::Utc::now() - t > chrono::Duration::days(i64::from(policy.max_age_days)))
    }

    /// The user as clients see it, with an expired password counted as "must change".
    fn user_view(&self, account: &Account, grants: &[Grant]) -> User {
        let roles: Vec<Role> = grants.iter().map(|g| g.role).collect();
        let mut user = view_of(account, grants);
        user.must_change_password = account.must_change_password || self.password_expired(account, self.policy_for(&roles));
        user
    }

    async fn create_session(&self, account: &Account) -> Result<Session, CoreError> {
        let token = hex::encode(rand::random::<[u8; 32]>());
        let csrf_token = hex::encode(rand::random::<[u8; 16]>());
        let now = chrono::Utc::now();
        let expires_at = format_ts(now + chrono::Duration::hours(i64::from(self.settings.session_hours)));
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1").bind(format_ts(now)).execute(&self.db.pool).await?;
        sqlx::query("INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(token_hash(&token))
            .bind(account.id)
            .bind(&csrf_token)
            .bind(format_ts(now))
            .bind(&expires_at)
            .execute(&self.db.pool)
            .await?;
        let grants = self.users.grants(account.id).await?;
        Ok(Session { token, csrf_token, expires_at, user: self.user_view(account, &grants) })
    }

    /// The caller behind a session token, or None when unknown, expired or disabled.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Authenticated>, CoreError> {
        let hash = token_hash(token.trim());
        let row = sqlx::query("SELECT user_id, csrf_token, expires_at FROM sessions WHERE token_hash = $1").bind(&hash).fetch_optional(&self.db.pool).await?;
        let Some(row) = row else { return Ok(None) };
        let expires: String = row.try_get("expires_at")?;
        if expires <= now_text() {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(&hash).execute(&self.db.pool).await?;
            return Ok(None);
        }
        let account = self.users.account(row.try_get("user_id")?).await?;
        if account.status != "active" {
            return Ok(None);
        }
        // One grants query per request: the principal and the user view share it.
        let grants = self.users.grants(account.id).await?;
        let user = self.user_view(&account, &grants);
        Ok(Some(Authenticated {
            principal: Principal { user_id: account.id, username: account.username.clone(), grants },
            user,
            token_hash: hash,
            csrf_token: row.try_get("csrf_token")?,
        }))
    }

    /// Ends every session of a user (phone changed by an admin, account taken over…).
    pub async fn end_sessions(&self, user_id: i64) -> Result<(), CoreError> {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&self.db.pool).await?;
        Ok(())
    }

    pub async fn logout(&self, token_hash: &str) -> Result<(), CoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.db.pool).await?;
        Ok(())
    }

    /// Checks the policy and the history for a new password; returns its hash. Done before an
    /// SMS code is spent, so a rejected password does not cost the user a new code.
    async fn vet_new_password(&self, account: &Account, new_password: &str) -> Result<String, CoreError> {
        let policy = self.policy_for_user(account.id).await?.clone();
        password::check(&policy, new_password, &account.username)?;
        if policy.history > 0 {
            let recent = self.users.password_history(account.id, policy.history).await?;
            let mut reused = password::verify_async(new_password, &account.password_hash).await;
            for h in &recent {
                reused = reused || password::verify_async(new_password, h).await;
            }
            if reused {
                return Err(CoreError::invalid("auth.password_policy", format!("新密码不符合要求：不能与最近 {} 次使用过的密码相同", policy.history)));
            }
        }
        password::hash_async(new_password.to_string()).await
    }

    /// Sends a code for a password change (logged-in user) to the phone on file.
    pub async fn send_change_code(&self, user_id: i64, ip: Option<&str>) -> Result<String, CoreError> {
        let account = self.users.account(user_id).await?;
        let Some(phone) = account.phone.as_deref() else {
            return Err(CoreError::invalid("auth.no_phone", "账号未登记手机号，无法发送验证码，请联系管理员"));
        };
        self.codes.issue(phone, SmsPurpose::PasswordChange, user_id, ip, false).await?;
        Ok(validate::mask_phone(phone))
    }

    /// Sends a reset code when the username exists and has a phone. The answer is the same
    /// either way (only the per-IP limit shows): per-phone limits and gateway failures are
    /// logged, not reported, so the endpoint does not tell which accounts exist.
    pub async fn send_reset_code(&self, username: &str, ip: Option<&str>) -> Result<(), CoreError> {
        self.codes.check_ip_limit(ip).await?;
        match self.users.account_by_username(username).await? {
            Some(a) if a.status == "active" && a.phone.is_some() => {
                let phone = a.phone.clone().unwrap_or_default();
                if let Err(e) = self.codes.issue(&phone, SmsPurpose::PasswordReset, a.id, ip, false).await {
                    tracing::warn!(user_id = a.id, code = e.code(), error = %e, "password reset code not sent");
                }
            }
            _ => self.codes.record_unsent(SmsPurpose::PasswordReset, ip).await?,
        }
        Ok(())
    }

    /// Change by a logged-in user: old password + SMS code + a new password under the policy.
    /// The current session stays; the user's other sessions end.
    pub async fn change_password(&self, who: &Authenticated, old: &str, new: &str, code: &str, ip: Option<&str>) -> Result<(), CoreError> {
        let account = self.users.account(who.principal.user_id).await?;
        if !password::verify_async(old, &account.password_hash).await {
            return Err(CoreError::InvalidCredentials);
        }
        let hash = self.vet_new_password(&account, new).await?;
        if account.phone.is_some() {
            self.codes.consume(CodeKey::User(account.id), SmsPurpose::PasswordChange, code).await?;
        }
        self.users.set_password(account.id, &hash, false, Some(&who.token_hash)).await?;
        self.audit.record(&Actor { id: Some(account.id), name: Some(account.username.clone()), ip: ip.map(str::to_string) }, "auth.password_changed", "user", Some(account.id.to_string()), None).await
    }

    /// Reset by SMS code (forgotten password). Ends all sessions and clears a lock.
    pub async fn reset_password(&self, username: &str, code: &str, new: &str, ip: Option<&str>) -> Result<(), CoreError> {
        let invalid = || CoreError::invalid("auth.sms_invalid", "验证码错误或已过期，请重新获取");
        let Some(account) = self.users.account_by_username(username).await? else { return Err(invalid()) };
        // The code first: without it nothing about the account or its passwords is revealed.
        let (code_id, _) = self.codes.check(CodeKey::User(account.id), SmsPurpose::PasswordReset, code).await?;
        let hash = self.vet_new_password(&account, new).await?;
        self.codes.spend(code_id).await?;
        self.users.set_password(account.id, &hash, false, None).await?;
        self.audit.record(&Actor { id: Some(account.id), name: Some(account.username.clone()), ip: ip.map(str::to_string) }, "auth.password_reset", "user", Some(account.id.to_string()), None).await
    }

    /// An admin creates an account: the initial password must meet the policy for its roles;
    /// the user confirms by SMS on first login and must then choose a new password.
    pub async fn create_user(&self, new: NewUserInput, roles: &[(Role, i64)], actor: &Actor) -> Result<User, CoreError> {
        let role_list: Vec<Role> = roles.iter().map(|(r, _)| *r).collect();
        password::check(self.policy_for(&role_list), &new.password, &new.username)?;
        let hash = password::hash_async(new.password.clone()).await?;
        let user = self
            .users
            .create(
                &NewAccount {
                    username: new.username,
                    display_name: new.display_name,
                    phone: new.phone,
                    password_hash: hash,
                    member_id: new.member_id,
                    must_change_password: new.must_change_password,
                    first_login_pending: new.first_login_pending,
                },
                roles,
            )
            .await?;
        self.audit.record(actor, "user.created", "user", Some(user.id.to_string()), Some(format!("角色：{}", describe_roles(roles)))).await?;
        Ok(user)
    }

    pub async fn unlock(&self, user_id: i64, actor: &Actor) -> Result<User, CoreError> {
        self.users.clear_failures(user_id).await?;
        self.audit.record(actor, "auth.unlocked", "user", Some(user_id.to_string()), None).await?;
        self.users.view(user_id).await
    }
}

pub struct NewUserInput {
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub password: String,
    pub member_id: Option<i64>,
    pub must_change_password: bool,
    pub first_login_pending: bool,
}

pub fn describe_roles(roles: &[(Role, i64)]) -> String {
    roles.iter().map(|(r, o)| format!("{}@{o}", r.label())).collect::<Vec<_>>().join("，")
}
