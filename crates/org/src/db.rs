//! One portable database handle for the core modules. `sqlx::Any` runs the same SQL on SQLite
//! (embedded default) and Postgres (scale-out): queries use `$n` placeholders, BIGINT/INTEGER
//! ids and RFC 3339 text timestamps, which both backends read and write the same way.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

use crate::CoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Db {
    pub(crate) pool: AnyPool,
    backend: Backend,
}

impl Db {
    /// `sqlite://…` or `postgres://…`; runs that backend's migrations.
    pub async fn connect(url: &str) -> Result<Self, CoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(CoreError::Config(format!("不支持的数据库地址（应以 sqlite:// 或 postgres:// 开头）：{}", redact(url))));
        };
        let options = AnyConnectOptions::from_str(url)
            .map_err(|e| CoreError::Config(format!("数据库地址无效：{e}")))?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 10 })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets the knowledge store's pool and this one share the file; a
                        // writer waits for the other instead of failing with SQLITE_BUSY.
                        conn.execute("PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL;").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        match backend {
            Backend::Sqlite => sqlx::migrate!("../../migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("../../migrations/postgres").run(&pool).await?,
        }
        Ok(Self { pool, backend })
    }

    /// The embedded default: the same `dangwutong.sqlite3` the knowledge store uses.
    pub async fn open_sqlite_dir(dir: &Path) -> Result<Self, CoreError> {
        std::fs::create_dir_all(dir).map_err(|e| CoreError::Config(format!("无法创建数据目录 {}：{e}", dir.display())))?;
        Self::connect(&format!("sqlite://{}?mode=rwc", dir.join("dangwutong.sqlite3").display())).await
    }

    /// A transaction for a read-then-write: its first statement takes the core modules' write
    /// lock (see migration 0004), so concurrent writers queue instead of interleaving.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, CoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE write_lock SET n = n + 1 WHERE id = 1").execute(&mut *tx).await?;
        Ok(tx)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_string(),
    }
}

/// Now as the stored timestamp text (UTC, second precision, sortable as text).
pub fn now_text() -> String {
    format_ts(chrono::Utc::now())
}

pub fn format_ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn parse_ts(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&chrono::Utc))
}
