//! Dynamic codes (动态口令) by SMS: 6 digits, short-lived, single-use, a few attempts each, and
//! rate-limited per phone and per client IP. Only a salted hash of a code is stored.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dwt_core::config::SmsSettings;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::db::{format_ts, now_text, Db};
use crate::{validate, CoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsPurpose {
    FirstLogin,
    PasswordChange,
    PasswordReset,
}

impl SmsPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            SmsPurpose::FirstLogin => "first_login",
            SmsPurpose::PasswordChange => "password_change",
            SmsPurpose::PasswordReset => "password_reset",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [SmsPurpose::FirstLogin, SmsPurpose::PasswordChange, SmsPurpose::PasswordReset].into_iter().find(|p| p.as_str() == s)
    }

    fn label(self) -> &'static str {
        match self {
            SmsPurpose::FirstLogin => "首次登录",
            SmsPurpose::PasswordChange => "修改密码",
            SmsPurpose::PasswordReset => "重置密码",
        }
    }
}

/// Delivers a code. Implementations must not log the code except the dev log sender.
#[async_trait]
pub trait SmsSender: Send + Sync {
    async fn send(&self, phone: &str, purpose: SmsPurpose, code: &str, text: &str) -> Result<(), CoreError>;
}

/// Dev default: writes the code to the service log (at warn level, so it shows with the
/// default filter) instead of sending it.
pub struct LogSmsSender;

#[async_trait]
impl SmsSender for LogSmsSender {
    async fn send(&self, phone: &str, purpose: SmsPurpose, code: &str, _text: &str) -> Result<(), CoreError> {
        tracing::warn!("sms (log sender) phone={} purpose={} 验证码 {code}", validate::mask_phone(phone), purpose.as_str());
        Ok(())
    }
}

/// A real gateway behind a small HTTP adapter: POST JSON `{"phone","code","purpose","text"}`
/// with an optional bearer token; any 2xx is success.
pub struct HttpSmsSender {
    client: reqwest::Client,
    url: String,
    token: Option<String>,
}

impl HttpSmsSender {
    pub fn new(url: &str, token: Option<String>) -> Result<Self, CoreError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| CoreError::Config(format!("短信网关客户端无法创建：{e}")))?;
        Ok(Self { client, url: url.to_string(), token })
    }
}

#[async_trait]
impl SmsSender for HttpSmsSender {
    async fn send(&self, phone: &str, purpose: SmsPurpose, code: &str, text: &str) -> Result<(), CoreError> {
        let mut req = self.client.post(&self.url).json(&serde_json::json!({"phone": phone, "code": code, "purpose": purpose.as_str(), "text": text}));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.map_err(|e| CoreError::SmsSend(e.to_string()))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(CoreError::SmsSend(format!("gateway answered {}", resp.status())))
        }
    }
}

pub fn sender_from_settings(s: &SmsSettings) -> Result<Arc<dyn SmsSender>, CoreError> {
    match s.sender.as_str() {
        "http" => {
            let url = s.http_url.as_deref().filter(|u| !u.trim().is_empty()).ok_or_else(|| CoreError::Config("auth.sms.http_url 未设置".into()))?;
            Ok(Arc::new(HttpSmsSender::new(url, s.http_token.clone())?))
        }
        _ => Ok(Arc::new(LogSmsSender)),
    }
}

fn code_hash(salt: &str, code: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(code.as_bytes());
    format!("{salt}${}", hex::encode(h.finalize()))
}

fn code_matches(stored: &str, code: &str) -> bool {
    match stored.split_once('$') {
        Some((salt, _)) => validate::constant_time_eq(&code_hash(salt, code), stored),
        None => false,
    }
}

/// Issues and checks codes.
pub struct SmsCodes {
    db: Db,
    settings: SmsSettings,
    sender: Arc<dyn SmsSender>,
}

/// Where a code can be checked: by the user it was sent for, or by a login challenge.
pub enum CodeKey<'a> {
    User(i64),
    Challenge(&'a str),
}

impl SmsCodes {
    pub fn new(db: Db, settings: SmsSettings, sender: Arc<dyn SmsSender>) -> Self {
        Self { db, settings, sender }
    }

    pub fn ttl_secs(&self) -> u64 {
        self.settings.code_ttl_secs
    }

    /// Counts against the per-IP limit without sending (a reset request for an unknown user
    /// must look and cost the same as a real one).
    pub async fn check_ip_limit(&self, ip: Option<&str>) -> Result<(), CoreError> {
        let hour_ago = format_ts(chrono::Utc::now() - chrono::Duration::hours(1));
        if let Some(ip) = ip {
            let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM sms_codes WHERE client_ip = $1 AND created_at > $2")
                .bind(ip)
                .bind(&hour_ago)
                .fetch_one(&self.db.pool)
                .await?
                .try_get("n")?;
            if n >= i64::from(self.settings.per_ip_per_hour) {
                return Err(CoreError::RateLimited("获取验证码过于频繁，请稍后再试".into()));
            }
        }
        Ok(())
    }

    /// Sends a new code; returns the challenge (for first login) when asked for one.
    pub async fn issue(&self, phone: &str, purpose: SmsPurpose, user_id: i64, ip: Option<&str>, with_challenge: bool) -> Result<Option<String>, CoreError> {
        let now = chrono::Utc::now();
        let hour_ago = format_ts(now - chrono::Duration::hours(1));
        self.check_ip_limit(ip).await?;
        let rows = sqlx::query("SELECT created_at, purpose FROM sms_codes WHERE phone = $1 AND created_at > $2 ORDER BY created_at DESC")
            .bind(phone)
            .bind(&hour_ago)
            .fetch_all(&self.db.pool)
            .await?;
        if rows.len() as i64 >= i64::from(self.settings.per_phone_per_hour) {
            return Err(CoreError::RateLimited("该手机号获取验证码次数过多，请一小时后再试".into()));
        }
        // The resend interval is per purpose: a first-login code does not delay the code for the
        // password change that follows it.
        for row in &rows {
            if row.try_get::<String, _>("purpose")? != purpose.as_str() {
                continue;
            }
            let last: String = row.try_get("created_at")?;
            if let Some(t) = crate::db::parse_ts(&last) {
                let wait = self.settings.min_interval_secs as i64 - (now - t).num_seconds();
                if wait > 0 {
                    return Err(CoreError::RateLimited(format!("验证码已发送，请 {wait} 秒后再重新获取")));
                }
            }
            break;
        }
        let code = format!("{:06}", rand::random::<u32>() % 1_000_000);
        let salt = hex::encode(rand::random::<[u8; 8]>());
        let challenge = with_challenge.then(|| hex::encode(rand::random::<[u8; 24]>()));
        let expires = format_ts(now + chrono::Duration::seconds(self.settings.code_ttl_secs as i64));
        // A new code replaces older unused ones for the same purpose.
        sqlx::query("UPDATE sms_codes SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL")
            .bind(now_text())
            .bind(user_id)
            .bind(purpose.as_str())
            .execute(&self.db.pool)
            .await?;
        sqlx::query("INSERT INTO sms_codes (phone, purpose, user_id, code_hash, challenge, client_ip, attempts, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)")
            .bind(phone)
            .bind(purpose.as_str())
            .bind(user_id)
            .bind(code_hash(&salt, &code))
            .bind(&challenge)
            .bind(ip)
            .bind(format_ts(now))
            .bind(&expires)
            .execute(&self.db.pool)
            .await?;
        let minutes = (self.settings.code_ttl_secs / 60).max(1);
        let text = format!("【党务通】您正在{}，验证码 {code}，{minutes} 分钟内有效。如非本人操作请忽略。", purpose.label());
        self.sender.send(phone, purpose, &code, &text).await?;
        Ok(challenge)
    }

    /// Checks a code without spending it: every check counts one attempt first (atomically,
    /// so parallel guesses cannot exceed `max_attempts`). Returns (code id, user id).
    pub async fn check(&self, key: CodeKey<'_>, purpose: SmsPurpose, code: &str) -> Result<(i64, i64), CoreError> {
        let invalid = || CoreError::invalid("auth.sms_invalid", "验证码错误或已过期，请重新获取");
        let now = now_text();
        let row = match key {
            CodeKey::User(id) => {
                sqlx::query("SELECT id, user_id, code_hash, expires_at FROM sms_codes WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL ORDER BY id DESC LIMIT 1")
                    .bind(id)
                    .bind(purpose.as_str())
                    .fetch_optional(&self.db.pool)
                    .await?
            }
            CodeKey::Challenge(c) => {
                sqlx::query("SELECT id, user_id, code_hash, expires_at FROM sms_codes WHERE challenge = $1 AND purpose = $2 AND used_at IS NULL ORDER BY id DESC LIMIT 1")
                    .bind(c)
                    .bind(purpose.as_str())
                    .fetch_optional(&self.db.pool)
                    .await?
            }
        };
        let Some(row) = row else { return Err(invalid()) };
        let id: i64 = row.try_get("id")?;
        let expires: String = row.try_get("expires_at")?;
        if expires <= now {
            return Err(invalid());
        }
        let counted = sqlx::query("UPDATE sms_codes SET attempts = attempts + 1 WHERE id = $1 AND attempts < $2 AND used_at IS NULL")
            .bind(id)
            .bind(i64::from(self.settings.max_attempts))
            .execute(&self.db.pool)
            .await?;
        if counted.rows_affected() != 1 {
            return Err(invalid());
        }
        let stored: String = row.try_get("code_hash")?;
        if !code_matches(&stored, code.trim()) {
            return Err(invalid());
        }
        let user_id: Option<i64> = row.try_get("user_id")?;
        Ok((id, user_id.ok_or_else(invalid)?))
    }

    /// Spends a checked code; single use even under concurrent requests.
    pub async fn spend(&self, code_id: i64) -> Result<(), CoreError> {
        let done = sqlx::query("UPDATE sms_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL").bind(now_text()).bind(code_id).execute(&self.db.pool).await?;
        if done.rows_affected() != 1 {
            return Err(CoreError::invalid("auth.sms_invalid", "验证码错误或已过期，请重新获取"));
        }
        Ok(())
    }

    /// Checks and spends a code. Returns the user id it was issued for.
    pub async fn consume(&self, key: CodeKey<'_>, purpose: SmsPurpose, code: &str) -> Result<i64, CoreError> {
        let (id, user_id) = self.check(key, purpose, code).await?;
        self.spend(id).await?;
        Ok(user_id)
    }

    /// Counts a code request that sends nothing (an unknown user asking for a reset) against
    /// the client's per-IP limit, so such requests cost the same as real ones.
    pub async fn record_unsent(&self, purpose: SmsPurpose, ip: Option<&str>) -> Result<(), CoreError> {
        let now = now_text();
        sqlx::query("INSERT INTO sms_codes (phone, purpose, code_hash, client_ip, attempts, created_at, expires_at, used_at) VALUES ('-', $1, '-', $2, 0, $3, $3, $3)")
            .bind(purpose.as_str())
            .bind(ip)
            .bind(&now)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_hash_matches_only_the_code() {
        let stored = code_hash("abcd", "123456");
        assert!(code_matches(&stored, "123456"));
        assert!(!code_matches(&stored, "123457"));
        assert!(!code_matches("garbage", "123456"));
    }
}
