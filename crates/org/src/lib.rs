//! The core modules beside the assistant: the organisation tree (unlimited depth, materialised
//! path), members (党员信息) with PII masking and audit, users and org-bound roles, password
//! authentication with policy and lockout, SMS dynamic codes, sessions, and the one
//! authorization layer every admin handler goes through.
//!
//! Storage is `sqlx::Any`: the same repository code runs on SQLite and Postgres.

pub mod audit;
pub mod auth;
pub mod authz;
pub mod db;
pub mod demo;
pub mod members;
pub mod orgs;
pub mod users;
pub mod validate;
pub mod xlsx;

use std::sync::Arc;

pub use auth::{AuthService, LoginOutcome, NewUserInput, Session};
pub use authz::{Action, Principal, Role};
pub use db::{Backend, Db};

/// Errors of the core modules. Each has a stable code for clients and a Chinese message for users.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("数据库错误：{0}")]
    Sql(#[from] sqlx::Error),
    #[error("数据库迁移失败：{0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Config(String),
    /// Bad input: `code` is stable (e.g. `member.invalid_id_number`), the message is for users.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// (stable code, message for users)
    #[error("{1}")]
    NotFound(&'static str, String),
    /// A state conflict (e.g. dissolving an organisation that still has members).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("用户名或密码错误")]
    InvalidCredentials,
    #[error("账号已被锁定，请在 {minutes} 分钟后再试，或联系管理员解锁")]
    Locked { minutes: i64 },
    #[error("账号已停用，请联系管理员")]
    Disabled,
    #[error("请先登录")]
    Unauthenticated,
    #[error("无权执行此操作")]
    Forbidden,
    #[error("{0}")]
    RateLimited(String),
    #[error("短信发送失败，请稍后再试")]
    SmsSend(String),
    #[error("表格文件无法读取：{0}")]
    Spreadsheet(String),
    #[error(transparent)]
    Upload(#[from] dwt_upload::UploadError),
}

impl CoreError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        CoreError::Invalid { code, message: message.into() }
    }

    pub fn code(&self) -> &'static str {
        match self {
            CoreError::Sql(_) => "store.sql",
            CoreError::Migrate(_) => "store.migrate",
            CoreError::Config(_) => "config.invalid",
            CoreError::Invalid { code, .. } | CoreError::Conflict { code, .. } => code,
            CoreError::NotFound(code, _) => code,
            CoreError::InvalidCredentials => "auth.invalid_credentials",
            CoreError::Locked { .. } => "auth.locked",
            CoreError::Disabled => "auth.disabled",
            CoreError::Unauthenticated => "auth.required",
            CoreError::Forbidden => "auth.forbidden",
            CoreError::RateLimited(_) => "auth.sms_rate_limited",
            CoreError::SmsSend(_) => "auth.sms_send_failed",
            CoreError::Spreadsheet(_) => "import.unreadable",
            CoreError::Upload(e) => e.code(),
        }
    }

    /// The HTTP status this error maps to.
    pub fn status(&self) -> u16 {
        match self {
            CoreError::Invalid { .. } | CoreError::Spreadsheet(_) | CoreError::Upload(_) => 400,
            CoreError::InvalidCredentials | CoreError::Unauthenticated => 401,
            CoreError::Forbidden | CoreError::Disabled => 403,
            CoreError::NotFound(..) => 404,
            CoreError::Conflict { .. } => 409,
            CoreError::Locked { .. } => 423,
            CoreError::RateLimited(_) => 429,
            CoreError::SmsSend(_) => 502,
            CoreError::Sql(e) if is_unique_violation(e) => 409,
            CoreError::Sql(_) | CoreError::Migrate(_) | CoreError::Config(_) => 500,
        }
    }

    /// Message safe to show a user (server-side failures are not spelled out).
    pub fn user_message(&self) -> String {
        match self.status() {
            409 if matches!(self, CoreError::Sql(_)) => "数据与已有记录重复（编码、用户名、身份证号等须唯一）".into(),
            500 => "服务暂时不可用，请稍后再试".into(),
            _ => self.to_string(),
        }
    }
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => d.is_unique_violation(),
        _ => false,
    }
}

/// Everything the HTTP layer needs from the core modules.
#[derive(Clone)]
pub struct Core {
    pub db: Db,
    pub orgs: orgs::OrgRepo,
    pub members: members::MemberRepo,
    pub users: users::UserRepo,
    pub audit: audit::AuditLog,
    pub auth: Arc<AuthService>,
}

impl Core {
    pub fn new(db: Db, settings: dwt_core::config::AuthSettings) -> Result<Self, CoreError> {
        let sender = auth::sms::sender_from_settings(&settings.sms)?;
        Ok(Self::with_sms_sender(db, settings, sender))
    }

    pub fn with_sms_sender(db: Db, settings: dwt_core::config::AuthSettings, sender: Arc<dyn auth::sms::SmsSender>) -> Self {
        let orgs = orgs::OrgRepo::new(db.clone());
        let members = members::MemberRepo::new(db.clone());
        let users = users::UserRepo::new(db.clone());
        let audit = audit::AuditLog::new(db.clone());
        let auth = Arc::new(AuthService::new(db.clone(), users.clone(), audit.clone(), settings, sender));
        Self { db, orgs, members, users, audit, auth }
    }
}
