//! Login users and their role grants. A user links to at most one member (UNIQUE member_id).

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::authz::{Grant, Role};
use crate::db::{now_text, Db};
use crate::orgs::subtree_clause;
use crate::{validate, CoreError};

/// A role grant as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleView {
    pub role: Role,
    pub role_label: &'static str,
    pub org_id: i64,
    pub org_name: String,
}

/// A user as clients see it (no hash, phone masked).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub phone_masked: Option<String>,
    pub member_id: Option<i64>,
    pub status: String,
    pub locked_until: Option<String>,
    pub must_change_password: bool,
    pub roles: Vec<RoleView>,
}

/// The stored account, for authentication.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub password_hash: String,
    pub password_changed_at: String,
    pub must_change_password: bool,
    pub first_login_pending: bool,
    pub status: String,
    pub failed_logins: i64,
    pub locked_until: Option<String>,
    pub member_id: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct RoleInput {
    pub role: String,
    pub org_id: i64,
}

#[derive(Debug, Clone)]
pub struct NewAccount {
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub password_hash: String,
    pub member_id: Option<i64>,
    pub must_change_password: bool,
    pub first_login_pending: bool,
}

const ACCOUNT_COLUMNS: &str = "id, username, display_name, phone, password_hash, password_changed_at, must_change_password, first_login_pending, status, failed_logins, locked_until, member_id";

fn account_from_row(r: &AnyRow) -> Result<Account, sqlx::Error> {
    Ok(Account {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        phone: r.try_get("phone")?,
        password_hash: r.try_get("password_hash")?,
        password_changed_at: r.try_get("password_changed_at")?,
        must_change_password: r.try_get::<i64, _>("must_change_password")? != 0,
        first_login_pending: r.try_get::<i64, _>("first_login_pending")? != 0,
        status: r.try_get("status")?,
        failed_logins: r.try_get("failed_logins")?,
        locked_until: r.try_get("locked_until")?,
        member_id: r.try_get("member_id")?,
    })
}

pub fn validate_username(raw: &str) -> Result<String, CoreError> {
    let s = raw.trim();
    let ok = (3..=32).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(s.to_string())
    } else {
        Err(CoreError::invalid("user.invalid_username", "用户名应为 3–32 位字母、数字、下划线、点或连字符"))
    }
}

#[derive(Clone, Debug)]
pub struct UserRepo {
    db: Db,
}

impl UserRepo {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn account_by_username(&self, username: &str) -> Result<Option<Account>, CoreError> {
        let row = sqlx::query(&format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE username = $1")).bind(username.trim()).fetch_optional(&self.db.pool).await?;
        Ok(row.as_ref().map(account_from_row).transpose()?)
    }

    pub async fn account(&self, id: i64) -> Result<Account, CoreError> {
        let row = sqlx::query(&format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE id = $1")).bind(id).fetch_optional(&self.db.pool).await?;
        match row {
            Some(r) => Ok(account_from_row(&r)?),
            None => Err(CoreError::NotFound("user.not_found", format!("用户（编号 {id}）不存在"))),
        }
    }

    /// Role grants with the organisations' names and paths.
    pub async fn grants(&self, user_id: i64) -> Result<Vec<Grant>, CoreError> {
        Ok(self.grants_of(&[user_id]).await?.into_iter().map(|(_, g)| g).collect())
    }

    /// Grants of several users in one query, as (user id, grant), ordered by user then path.
    async fn grants_of(&self, user_ids: &[i64]) -> Result<Vec<(i64, Grant)>, CoreError> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = user_ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        let rows = sqlx::query(&format!(
            "SELECT r.user_id, r.role, r.org_id, o.name, o.path FROM user_roles r JOIN orgs o ON o.id = r.org_id WHERE r.user_id IN ({ids}) ORDER BY r.user_id, o.path, r.role"
        ))
        .fetch_all(&self.db.pool)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let user_id: i64 = r.try_get("user_id")?;
            let role: String = r.try_get("role")?;
            let Some(role) = Role::parse(&role) else {
                tracing::warn!(user_id, role, "unknown role in user_roles ignored");
                continue;
            };
            out.push((user_id, Grant { role, org_id: r.try_get("org_id")?, org_name: r.try_get("name")?, org_path: r.try_get("path")? }));
        }
        Ok(out)
    }

    pub async fn view(&self, id: i64) -> Result<User, CoreError> {
        let a = self.account(id).await?;
        let grants = self.grants(id).await?;
        Ok(view_of(&a, &grants))
    }

    /// Creates the account with its roles and first password-history entry, atomically.
    pub async fn create(&self, new: &NewAccount, roles: &[(Role, i64)]) -> Result<User, CoreError> {
        let username = validate_username(&new.username)?;
        let display_name = validate::required("user.invalid_field", "姓名", &new.display_name, 50)?;
        let phone = new.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()).map(validate::mobile).transpose()?;
        let mut tx = self.db.begin_write().await?;
        if sqlx::query("SELECT id FROM users WHERE username = $1").bind(&username).fetch_optional(&mut *tx).await?.is_some() {
            return Err(CoreError::Conflict { code: "user.duplicate_username", message: format!("用户名“{username}”已被使用") });
        }
        if let Some(mid) = new.member_id {
            if sqlx::query("SELECT id FROM members WHERE id = $1").bind(mid).fetch_optional(&mut *tx).await?.is_none() {
                return Err(CoreError::invalid("user.invalid_member", format!("党员（编号 {mid}）不存在")));
            }
            if sqlx::query("SELECT id FROM users WHERE member_id = $1").bind(mid).fetch_optional(&mut *tx).await?.is_some() {
                return Err(CoreError::Conflict { code: "user.member_linked", message: "该党员已关联了另一个登录账号".into() });
            }
        }
        let now = now_text();
        let id: i64 = sqlx::query(
            "INSERT INTO users (username, display_name, phone, password_hash, password_changed_at, must_change_password, first_login_pending, status, failed_logins, member_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', 0, $8, $5, $5) RETURNING id",
        )
        .bind(&username)
        .bind(&display_name)
        .bind(&phone)
        .bind(&new.password_hash)
        .bind(&now)
        .bind(i64::from(new.must_change_password))
        .bind(i64::from(new.first_login_pending))
        .bind(new.member_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        sqlx::query("INSERT INTO password_history (user_id, password_hash, created_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(&new.password_hash)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        insert_roles(&mut tx, id, roles).await?;
        tx.commit().await?;
        self.view(id).await
    }

    /// Replaces the user's roles.
    pub async fn set_roles(&self, id: i64, roles: &[(Role, i64)]) -> Result<(), CoreError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query("DELETE FROM user_roles WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        insert_roles(&mut tx, id, roles).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `phone`: None keeps the stored number (forms only ever see it masked), `Some("")` clears it.
    pub async fn update_profile(&self, id: i64, display_name: &str, phone: Option<&str>, status: &str) -> Result<(), CoreError> {
        let display_name = validate::required("user.invalid_field", "姓名", display_name, 50)?;
        let phone = match phone.map(str::trim) {
            None => self.account(id).await?.phone,
            Some("") => None,
            Some(p) => Some(validate::mobile(p)?),
        };
        if !matches!(status, "active" | "disabled") {
            return Err(CoreError::invalid("user.invalid_status", "账号状态应为 active（启用）或 disabled（停用）"));
        }
        let done = sqlx::query("UPDATE users SET display_name = $1, phone = $2, status = $3, updated_at = $4 WHERE id = $5")
            .bind(&display_name)
            .bind(&phone)
            .bind(status)
            .bind(now_text())
            .bind(id)
            .execute(&self.db.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(CoreError::NotFound("user.not_found", format!("用户（编号 {id}）不存在")));
        }
        if status == "disabled" {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&self.db.pool).await?;
        }
        Ok(())
    }

    /// Counts a login attempt before its password is verified, in one statement: the attempt is
    /// admitted only when the account is not locked, and the attempt that reaches `max` sets the
    /// lock. A parallel burst therefore cannot verify more than `max` guesses, and a right
    /// password arriving after them is refused. None: locked, not admitted. Some((attempts,
    /// locked_until)) otherwise; a success then clears the count ([`Self::clear_failures`]).
    pub async fn admit_attempt(&self, id: i64, max: u32, lock_until: &str) -> Result<Option<(i64, Option<String>)>, CoreError> {
        // After an expired lock the count starts again from this attempt (every expression reads
        // the row as it was before the UPDATE).
        let expired = "(locked_until IS NOT NULL AND locked_until <= $3)";
        let row = sqlx::query(&format!(
            "UPDATE users SET failed_logins = CASE WHEN {expired} THEN 1 ELSE failed_logins + 1 END, \
             locked_until = CASE WHEN (CASE WHEN {expired} THEN 1 ELSE failed_logins + 1 END) >= $1 THEN $2 WHEN {expired} THEN NULL ELSE locked_until END, \
             updated_at = $3 WHERE id = $4 AND (locked_until IS NULL OR {expired}) RETURNING failed_logins, locked_until"
        ))
        .bind(i64::from(max))
        .bind(lock_until)
        .bind(now_text())
        .bind(id)
        .fetch_optional(&self.db.pool)
        .await?;
        match row {
            Some(r) => Ok(Some((r.try_get("failed_logins")?, r.try_get("locked_until")?))),
            None => Ok(None),
        }
    }

    /// Counts a failed login under a username no account has (`name`, lower-case), with the
    /// same rules as [`Self::admit_attempt`] in one statement; returns the lock's end when the
    /// name is (now) locked. Names idle for a day are forgotten now and then.
    pub async fn admit_phantom(&self, name: &str, max: u32, lock_until: &str) -> Result<Option<String>, CoreError> {
        let now = now_text();
        let expired = "(login_phantoms.locked_until IS NOT NULL AND login_phantoms.locked_until <= $4)";
        let locked_now = "(login_phantoms.locked_until IS NOT NULL AND login_phantoms.locked_until > $4)";
        let count = format!("CASE WHEN {expired} THEN 1 ELSE login_phantoms.failed_logins + 1 END");
        let locked: Option<String> = sqlx::query_scalar(&format!(
            "INSERT INTO login_phantoms (username, failed_logins, locked_until, updated_at) VALUES ($1, 1, CASE WHEN 1 >= $2 THEN $3 ELSE NULL END, $4) \
             ON CONFLICT (username) DO UPDATE SET \
             failed_logins = CASE WHEN {locked_now} THEN login_phantoms.failed_logins ELSE {count} END, \
             locked_until = CASE WHEN {locked_now} THEN login_phantoms.locked_until WHEN {count} >= $2 THEN $3 ELSE NULL END, \
             updated_at = $4 RETURNING locked_until"
        ))
        .bind(name)
        .bind(i64::from(max))
        .bind(lock_until)
        .bind(&now)
        .fetch_one(&self.db.pool)
        .await?;
        if rand::random::<u8>() == 0 {
            let cutoff = crate::db::format_ts(chrono::Utc::now() - chrono::Duration::days(1));
            sqlx::query("DELETE FROM login_phantoms WHERE updated_at < $1 AND (locked_until IS NULL OR locked_until < $1)").bind(cutoff).execute(&self.db.pool).await?;
        }
        Ok(locked)
    }

    /// After a successful login or an admin unlock.
    pub async fn clear_failures(&self, id: i64) -> Result<(), CoreError> {
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1").bind(id).execute(&self.db.pool).await?;
        Ok(())
    }

    pub async fn finish_first_login(&self, id: i64) -> Result<(), CoreError> {
        sqlx::query("UPDATE users SET first_login_pending = 0 WHERE id = $1").bind(id).execute(&self.db.pool).await?;
        Ok(())
    }

    /// The last `n` password hashes, newest first.
    pub async fn password_history(&self, id: i64, n: u32) -> Result<Vec<String>, CoreError> {
        let rows = sqlx::query(&format!("SELECT password_hash FROM password_history WHERE user_id = $1 ORDER BY id DESC LIMIT {}", n.max(1)))
            .bind(id)
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter().map(|r| r.try_get::<String, _>("password_hash").map_err(CoreError::from)).collect()
    }

    /// Sets a new password, records it in the history, and ends the user's other sessions.
    pub async fn set_password(&self, id: i64, hash: &str, must_change: bool, keep_session: Option<&str>) -> Result<(), CoreError> {
        let now = now_text();
        let mut tx = self.db.begin_write().await?;
        sqlx::query("UPDATE users SET password_hash = $1, password_changed_at = $2, must_change_password = $3, first_login_pending = 0, failed_logins = 0, locked_until = NULL, updated_at = $2 WHERE id = $4")
            .bind(hash)
            .bind(&now)
            .bind(i64::from(must_change))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO password_history (user_id, password_hash, created_at) VALUES ($1, $2, $3)").bind(id).bind(hash).bind(&now).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2").bind(id).bind(keep_session.unwrap_or("")).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Users with a role or a member record inside these subtrees.
    pub async fn list(&self, roots: &[String], q: Option<&str>) -> Result<Vec<User>, CoreError> {
        let (c1, mut binds) = subtree_clause("o.path", roots, 1);
        let (c2, b2) = subtree_clause("o2.path", roots, binds.len() + 1);
        binds.extend(b2);
        let mut sql = format!(
            "SELECT DISTINCT u.id, u.username FROM users u \
             LEFT JOIN user_roles r ON r.user_id = u.id LEFT JOIN orgs o ON o.id = r.org_id \
             LEFT JOIN members m ON m.id = u.member_id LEFT JOIN orgs o2 ON o2.id = m.org_id \
             WHERE ({c1} OR {c2})"
        );
        if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
            sql.push_str(&format!(" AND (u.username LIKE ${n} OR u.display_name LIKE ${n})", n = binds.len() + 1));
            binds.push(format!("%{}%", q.replace(['%', '_'], "")));
        }
        sql.push_str(" ORDER BY u.username LIMIT 500");
        let mut query = sqlx::query(&sql);
        for b in &binds {
            query = query.bind(b);
        }
        let ids: Vec<i64> = query.fetch_all(&self.db.pool).await?.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // Two queries for the whole page (accounts, grants), not two per user.
        let in_list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        let accounts = sqlx::query(&format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE id IN ({in_list}) ORDER BY username"))
            .fetch_all(&self.db.pool)
            .await?
            .iter()
            .map(account_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let grants = self.grants_of(&ids).await?;
        Ok(accounts
            .iter()
            .map(|a| {
                let mine: Vec<Grant> = grants.iter().filter(|(u, _)| *u == a.id).map(|(_, g)| g.clone()).collect();
                view_of(a, &mine)
            })
            .collect())
    }

    /// The organisation paths that define who may manage this user: every role's organisation
    /// and the linked member's organisation.
    pub async fn anchor_paths(&self, id: i64) -> Result<Vec<String>, CoreError> {
        let rows = sqlx::query(
            "SELECT o.path FROM user_roles r JOIN orgs o ON o.id = r.org_id WHERE r.user_id = $1 \
             UNION SELECT o.path FROM users u JOIN members m ON m.id = u.member_id JOIN orgs o ON o.id = m.org_id WHERE u.id = $1",
        )
        .bind(id)
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter().map(|r| r.try_get::<String, _>("path").map_err(CoreError::from)).collect()
    }
}

async fn insert_roles(tx: &mut sqlx::Transaction<'_, sqlx::Any>, user_id: i64, roles: &[(Role, i64)]) -> Result<(), CoreError> {
    for (role, org_id) in roles {
        let org = sqlx::query("SELECT status FROM orgs WHERE id = $1").bind(org_id).fetch_optional(&mut **tx).await?;
        if org.is_none() {
            return Err(CoreError::invalid("user.invalid_role", format!("角色所属组织（编号 {org_id}）不存在")));
        }
        sqlx::query("INSERT INTO user_roles (user_id, role, org_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(user_id)
            .bind(role.as_str())
            .bind(org_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

pub fn view_of(a: &Account, grants: &[Grant]) -> User {
    let locked = a.locked_until.as_deref().and_then(crate::db::parse_ts).filter(|t| *t > chrono::Utc::now());
    User {
        id: a.id,
        username: a.username.clone(),
        display_name: a.display_name.clone(),
        phone_masked: a.phone.as_deref().map(validate::mask_phone),
        member_id: a.member_id,
        status: a.status.clone(),
        locked_until: locked.map(crate::db::format_ts),
        must_change_password: a.must_change_password,
        roles: grants.iter().map(|g| RoleView { role: g.role, role_label: g.role.label(), org_id: g.org_id, org_name: g.org_name.clone() }).collect(),
    }
}
