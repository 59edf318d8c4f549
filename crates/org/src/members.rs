//! 党员信息: validated on every write; 身份证号 and 手机号 are masked unless the caller asks for
//! and holds `MemberViewPii` (the handler audit-logs each unmasked view).

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::{now_text, Db};
use crate::orgs::subtree_clause;
use crate::{validate, CoreError};

pub const MEMBER_STATUSES: [&str; 5] = ["正式党员", "预备党员", "流动党员", "失联党员", "停止党籍"];
pub const GENDERS: [&str; 2] = ["男", "女"];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Member {
    pub id: i64,
    pub name: String,
    pub gender: Option<String>,
    pub ethnicity: Option<String>,
    pub birth_date: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub education: Option<String>,
    pub join_date: Option<String>,
    pub full_member_date: Option<String>,
    pub status: String,
    pub org_id: i64,
    pub org_name: String,
    pub party_position: Option<String>,
    pub work_unit: Option<String>,
    pub remarks: Option<String>,
    pub user_id: Option<i64>,
    /// The organisation's path (for authorization; not sent to clients).
    #[serde(skip)]
    pub org_path: String,
}

impl Member {
    /// The same member with 身份证号 and 手机号 masked.
    pub fn masked(mut self) -> Self {
        self.id_number = self.id_number.as_deref().map(validate::mask_id_number);
        self.phone = self.phone.as_deref().map(validate::mask_phone);
        self
    }
}

/// Editable fields, as sent by forms and read from import rows.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct MemberInput {
    #[serde(deserialize_with = "crate::validate::null_as_default")]
    pub name: String,
    pub gender: Option<String>,
    pub ethnicity: Option<String>,
    pub birth_date: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub education: Option<String>,
    pub join_date: Option<String>,
    pub full_member_date: Option<String>,
    #[serde(deserialize_with = "crate::validate::null_as_default")]
    pub status: String,
    #[serde(deserialize_with = "crate::validate::null_as_default")]
    pub org_id: i64,
    pub party_position: Option<String>,
    pub work_unit: Option<String>,
    pub remarks: Option<String>,
}

fn opt(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl MemberInput {
    pub fn validated(&self) -> Result<MemberInput, CoreError> {
        let name = validate::required("member.invalid_field", "姓名", &self.name, 50)?;
        let gender = match opt(&self.gender) {
            Some(g) if GENDERS.contains(&g) => Some(g.to_string()),
            Some(g) => return Err(CoreError::invalid("member.invalid_field", format!("性别“{g}”无效，应为 男 或 女"))),
            None => None,
        };
        let status = self.status.trim();
        let status = if status.is_empty() { "正式党员" } else { status };
        if !MEMBER_STATUSES.contains(&status) {
            return Err(CoreError::invalid("member.invalid_status", format!("党员状态“{status}”无效，应为：{}", MEMBER_STATUSES.join("、"))));
        }
        let id_number = opt(&self.id_number).map(validate::id_number).transpose()?;
        let mut birth_date = opt(&self.birth_date).map(|d| validate::date("出生日期", d)).transpose()?;
        if let Some(id) = &id_number {
            let from_id = format!("{}-{}-{}", &id[6..10], &id[10..12], &id[12..14]);
            match &birth_date {
                Some(b) if *b != from_id => {
                    return Err(CoreError::invalid("member.birth_date_mismatch", format!("出生日期 {b} 与身份证号中的出生日期 {from_id} 不一致")))
                }
                None => birth_date = Some(from_id),
                _ => {}
            }
        }
        let join_date = opt(&self.join_date).map(|d| validate::date("入党日期", d)).transpose()?;
        let full_member_date = opt(&self.full_member_date).map(|d| validate::date("转正日期", d)).transpose()?;
        if let (Some(j), Some(f)) = (&join_date, &full_member_date) {
            if f < j {
                return Err(CoreError::invalid("member.invalid_date", format!("转正日期 {f} 不能早于入党日期 {j}")));
            }
        }
        if self.org_id <= 0 {
            return Err(CoreError::invalid("member.invalid_org", "请选择所在党组织"));
        }
        Ok(MemberInput {
            name,
            gender,
            ethnicity: validate::optional("member.invalid_field", "民族", self.ethnicity.as_deref(), 20)?,
            birth_date,
            id_number,
            phone: opt(&self.phone).map(validate::mobile).transpose()?,
            education: validate::optional("member.invalid_field", "学历", self.education.as_deref(), 30)?,
            join_date,
            full_member_date,
            status: status.to_string(),
            org_id: self.org_id,
            party_position: validate::optional("member.invalid_field", "党内职务", self.party_position.as_deref(), 50)?,
            work_unit: validate::optional("member.invalid_field", "工作单位", self.work_unit.as_deref(), 100)?,
            remarks: validate::optional("member.invalid_field", "备注", self.remarks.as_deref(), 500)?,
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MemberQuery {
    /// Name fragment, or the last 4+ digits of the phone number.
    pub q: Option<String>,
    /// Restrict to this organisation's subtree (still within the caller's scope).
    pub org_id: Option<i64>,
    pub status: Option<String>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
}

const COLUMNS: &str = "m.id, m.name, m.gender, m.ethnicity, m.birth_date, m.id_number, m.phone, m.education, m.join_date, m.full_member_date, \
    m.status, m.org_id, o.name AS org_name, o.path AS org_path, m.party_position, m.work_unit, m.remarks, u.id AS user_id";
const FROM: &str = "members m JOIN orgs o ON o.id = m.org_id LEFT JOIN users u ON u.member_id = m.id";

fn from_row(r: &AnyRow) -> Result<Member, sqlx::Error> {
    Ok(Member {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        gender: r.try_get("gender")?,
        ethnicity: r.try_get("ethnicity")?,
        birth_date: r.try_get("birth_date")?,
        id_number: r.try_get("id_number")?,
        phone: r.try_get("phone")?,
        education: r.try_get("education")?,
        join_date: r.try_get("join_date")?,
        full_member_date: r.try_get("full_member_date")?,
        status: r.try_get("status")?,
        org_id: r.try_get("org_id")?,
        org_name: r.try_get("org_name")?,
        party_position: r.try_get("party_position")?,
        work_unit: r.try_get("work_unit")?,
        remarks: r.try_get("remarks")?,
        user_id: r.try_get("user_id")?,
        org_path: r.try_get("org_path")?,
    })
}

fn phone_tail(phone: &Option<String>) -> Option<String> {
    phone.as_deref().filter(|p| p.len() >= 4).map(|p| p[p.len() - 4..].to_string())
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds the 15 stored fields as $1…$15 (org_id, name, gender, ethnicity, birth_date,
/// id_number, phone, phone_tail, education, join_date, full_member_date, status,
/// party_position, work_unit, remarks): INSERT and UPDATE share the order.
fn bind_fields<'q>(q: AnyQuery<'q>, m: &'q MemberInput) -> AnyQuery<'q> {
    q.bind(m.org_id)
        .bind(&m.name)
        .bind(&m.gender)
        .bind(&m.ethnicity)
        .bind(&m.birth_date)
        .bind(&m.id_number)
        .bind(&m.phone)
        .bind(phone_tail(&m.phone))
        .bind(&m.education)
        .bind(&m.join_date)
        .bind(&m.full_member_date)
        .bind(&m.status)
        .bind(&m.party_position)
        .bind(&m.work_unit)
        .bind(&m.remarks)
}

#[derive(Clone, Debug)]
pub struct MemberRepo {
    db: Db,
}

impl MemberRepo {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn get(&self, id: i64) -> Result<Member, CoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM {FROM} WHERE m.id = $1")).bind(id).fetch_optional(&self.db.pool).await?;
        match row {
            Some(r) => Ok(from_row(&r)?),
            None => Err(CoreError::NotFound("member.not_found", format!("党员（编号 {id}）不存在"))),
        }
    }

    pub async fn find_by_id_number(&self, id_number: &str) -> Result<Option<Member>, CoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM {FROM} WHERE m.id_number = $1")).bind(id_number).fetch_optional(&self.db.pool).await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    async fn check_org(&self, tx: &mut sqlx::Transaction<'_, sqlx::Any>, org_id: i64) -> Result<(), CoreError> {
        let row = sqlx::query("SELECT status FROM orgs WHERE id = $1").bind(org_id).fetch_optional(&mut **tx).await?;
        match row {
            None => Err(CoreError::invalid("member.invalid_org", format!("所在党组织（编号 {org_id}）不存在"))),
            Some(r) if r.try_get::<String, _>("status")? != "active" => Err(CoreError::invalid("member.invalid_org", "所在党组织已撤销")),
            Some(_) => Ok(()),
        }
    }

    async fn id_number_taken(&self, tx: &mut sqlx::Transaction<'_, sqlx::Any>, id_number: &Option<String>, except: Option<i64>) -> Result<(), CoreError> {
        let Some(idn) = id_number else { return Ok(()) };
        let row = sqlx::query("SELECT id FROM members WHERE id_number = $1").bind(idn).fetch_optional(&mut **tx).await?;
        if let Some(r) = row {
            if Some(r.try_get::<i64, _>("id")?) != except {
                return Err(CoreError::Conflict { code: "member.duplicate_id_number", message: "该身份证号已登记在另一名党员名下".into() });
            }
        }
        Ok(())
    }

    pub async fn create(&self, input: &MemberInput) -> Result<Member, CoreError> {
        let m = input.validated()?;
        let mut tx = self.db.begin_write().await?;
        self.check_org(&mut tx, m.org_id).await?;
        self.id_number_taken(&mut tx, &m.id_number, None).await?;
        let now = now_text();
        let id: i64 = bind_fields(sqlx::query(
            "INSERT INTO members (org_id, name, gender, ethnicity, birth_date, id_number, phone, phone_tail, education, join_date, full_member_date, status, party_position, work_unit, remarks, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16) RETURNING id",
        ), &m)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        tx.commit().await?;
        self.get(id).await
    }

    pub async fn update(&self, id: i64, input: &MemberInput) -> Result<Member, CoreError> {
        let m = input.validated()?;
        let mut tx = self.db.begin_write().await?;
        self.check_org(&mut tx, m.org_id).await?;
        self.id_number_taken(&mut tx, &m.id_number, Some(id)).await?;
        let done = bind_fields(sqlx::query(
            "UPDATE members SET org_id = $1, name = $2, gender = $3, ethnicity = $4, birth_date = $5, id_number = $6, phone = $7, phone_tail = $8, education = $9, \
             join_date = $10, full_member_date = $11, status = $12, party_position = $13, work_unit = $14, remarks = $15, updated_at = $16 WHERE id = $17",
        ), &m)
        .bind(now_text())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(CoreError::NotFound("member.not_found", format!("党员（编号 {id}）不存在")));
        }
        tx.commit().await?;
        self.get(id).await
    }

    /// Deletes a member; a linked login user keeps its account but loses the link.
    pub async fn delete(&self, id: i64) -> Result<(), CoreError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query("UPDATE users SET member_id = NULL WHERE member_id = $1").bind(id).execute(&mut *tx).await?;
        let done = sqlx::query("DELETE FROM members WHERE id = $1").bind(id).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(CoreError::NotFound("member.not_found", format!("党员（编号 {id}）不存在")));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Members within `roots` (subtree paths), filtered; returns (total, page).
    pub async fn search(&self, roots: &[String], query: &MemberQuery) -> Result<(i64, Vec<Member>), CoreError> {
        let (clause, mut binds) = subtree_clause("o.path", roots, 1);
        let mut sql = format!("FROM {FROM} WHERE {clause}");
        if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let n = binds.len();
            if q.len() >= 4 && q.chars().all(|c| c.is_ascii_digit()) {
                sql.push_str(&format!(" AND (m.phone_tail = ${} OR m.phone LIKE ${})", n + 1, n + 2));
                binds.push(q[q.len() - 4..].to_string());
                binds.push(format!("%{q}"));
            } else {
                sql.push_str(&format!(" AND m.name LIKE ${}", n + 1));
                binds.push(format!("%{}%", q.replace(['%', '_'], "")));
            }
        }
        if let Some(status) = query.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            sql.push_str(&format!(" AND m.status = ${}", binds.len() + 1));
            binds.push(status.to_string());
        }
        let count_sql = format!("SELECT COUNT(*) AS n {sql}");
        let mut q_count = sqlx::query(&count_sql);
        for b in &binds {
            q_count = q_count.bind(b);
        }
        let total: i64 = q_count.fetch_one(&self.db.pool).await?.try_get("n")?;
        let page = query.page.unwrap_or(1).clamp(1, 100_000);
        let size = query.page_size.unwrap_or(20).clamp(1, 200);
        let list_sql = format!("SELECT {COLUMNS} {sql} ORDER BY o.path, m.name, m.id LIMIT {size} OFFSET {}", (page - 1) * size);
        let mut q_list = sqlx::query(&list_sql);
        for b in &binds {
            q_list = q_list.bind(b);
        }
        let rows = q_list.fetch_all(&self.db.pool).await?;
        Ok((total, rows.iter().map(from_row).collect::<Result<_, _>>()?))
    }
}
