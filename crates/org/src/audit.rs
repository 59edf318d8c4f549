//! Append-only audit log: lockouts, unmasked PII views, role and password changes, admin writes.

use serde::Serialize;
use sqlx::Row;

use crate::db::{now_text, Db};
use crate::CoreError;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub detail: Option<String>,
    pub client_ip: Option<String>,
}

/// Who did it, from where.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub id: Option<i64>,
    pub name: Option<String>,
    pub ip: Option<String>,
}

#[derive(Clone, Debug)]
pub struct AuditLog {
    db: Db,
}

impl AuditLog {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn record(&self, actor: &Actor, action: &str, target_type: &str, target_id: Option<String>, detail: Option<String>) -> Result<(), CoreError> {
        sqlx::query("INSERT INTO audit_log (at, actor_id, actor_name, action, target_type, target_id, detail, client_ip) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(now_text())
            .bind(actor.id)
            .bind(&actor.name)
            .bind(action)
            .bind(target_type)
            .bind(target_id)
            .bind(detail)
            .bind(&actor.ip)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    /// Newest first, optionally only one action.
    pub async fn recent(&self, action: Option<&str>, limit: i64) -> Result<Vec<AuditEntry>, CoreError> {
        let sql = format!(
            "SELECT id, at, actor_id, actor_name, action, target_type, target_id, detail, client_ip FROM audit_log {} ORDER BY id DESC LIMIT {}",
            if action.is_some() { "WHERE action = $1" } else { "" },
            limit.clamp(1, 1000)
        );
        let mut q = sqlx::query(&sql);
        if let Some(a) = action {
            q = q.bind(a);
        }
        let rows = q.fetch_all(&self.db.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.try_get("id")?,
                    at: r.try_get("at")?,
                    actor_id: r.try_get("actor_id")?,
                    actor_name: r.try_get("actor_name")?,
                    action: r.try_get("action")?,
                    target_type: r.try_get("target_type")?,
                    target_id: r.try_get("target_id")?,
                    detail: r.try_get("detail")?,
                    client_ip: r.try_get("client_ip")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(CoreError::from)
    }
}
