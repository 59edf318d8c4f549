//! Organisation tree (工委 → 党委 → 党总支 → 党支部 …, unlimited depth) stored as a materialised
//! path of ids: `/1/4/9/`. "This node and everything below it" is the range
//! `path >= '/1/4/' AND path < '/1/40'` on the unique path index; a move rewrites the moved
//! subtree's prefix in one UPDATE inside a transaction.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::{now_text, Db};
use crate::{validate, CoreError};

pub const ORG_TYPES: [&str; 7] = ["工委", "党委", "党工委", "党总支", "党支部", "联合党支部", "临时党支部"];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Org {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    pub org_type: String,
    pub code: String,
    pub leader_name: Option<String>,
    pub contact_phone: Option<String>,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub sort_order: i64,
    /// `active` or `dissolved`.
    pub status: String,
    pub path: String,
    pub depth: i64,
    /// Members directly in this organisation.
    pub member_count: i64,
}

/// Editable fields (create and update).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct OrgInput {
    #[serde(deserialize_with = "crate::validate::null_as_default")]
    pub name: String,
    #[serde(deserialize_with = "crate::validate::null_as_default")]
    pub org_type: String,
    #[serde(deserialize_with = "crate::validate::null_as_default")]
    pub code: String,
    pub leader_name: Option<String>,
    pub contact_phone: Option<String>,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    #[serde(deserialize_with = "crate::validate::null_as_default")]
    pub sort_order: i64,
}

impl OrgInput {
    /// Trimmed and checked; errors name the field in Chinese.
    pub fn validated(&self) -> Result<OrgInput, CoreError> {
        let name = validate::required("org.invalid_field", "组织名称", &self.name, 100)?;
        let org_type = self.org_type.trim().to_string();
        if !ORG_TYPES.contains(&org_type.as_str()) {
            return Err(CoreError::invalid("org.invalid_type", format!("组织类型“{org_type}”无效，应为：{}", ORG_TYPES.join("、"))));
        }
        let code = validate::required("org.invalid_field", "组织编码", &self.code, 50)?;
        if !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(CoreError::invalid("org.invalid_code", format!("组织编码“{code}”无效：只能包含字母、数字、- 和 _")));
        }
        let contact_phone = match self.contact_phone.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(p) => Some(validate::contact_phone(p)?),
            None => None,
        };
        if let Some(lat) = self.lat {
            if !(-90.0..=90.0).contains(&lat) {
                return Err(CoreError::invalid("org.invalid_location", "纬度应在 -90 到 90 之间"));
            }
        }
        if let Some(lng) = self.lng {
            if !(-180.0..=180.0).contains(&lng) {
                return Err(CoreError::invalid("org.invalid_location", "经度应在 -180 到 180 之间"));
            }
        }
        Ok(OrgInput {
            name,
            org_type,
            code,
            leader_name: validate::optional("org.invalid_field", "负责人", self.leader_name.as_deref(), 50)?,
            contact_phone,
            address: validate::optional("org.invalid_field", "地址", self.address.as_deref(), 200)?,
            lat: self.lat,
            lng: self.lng,
            sort_order: self.sort_order,
        })
    }
}

/// The exclusive upper bound of a subtree's path range: `/1/4/` → `/1/40` ('0' follows '/').
pub fn path_upper(path: &str) -> String {
    let mut s = path.trim_end_matches('/').to_string();
    s.push('0');
    s
}

/// SQL `(col >= $a AND col < $b) OR …` for subtree roots, starting at placeholder `first`;
/// returns the clause and the values to bind in order. No roots → a clause that matches nothing.
pub fn subtree_clause(column: &str, roots: &[String], first: usize) -> (String, Vec<String>) {
    if roots.is_empty() {
        return ("1 = 0".into(), Vec::new());
    }
    let mut parts = Vec::new();
    let mut binds = Vec::new();
    for (i, root) in roots.iter().enumerate() {
        let a = first + 2 * i;
        parts.push(format!("({column} >= ${a} AND {column} < ${})", a + 1));
        binds.push(root.clone());
        binds.push(path_upper(root));
    }
    (format!("({})", parts.join(" OR ")), binds)
}

const COLUMNS: &str = "o.id, o.parent_id, o.name, o.org_type, o.code, o.leader_name, o.contact_phone, o.address, o.lat, o.lng, o.sort_order, o.status, o.path, o.depth, \
    (SELECT COUNT(*) FROM members m WHERE m.org_id = o.id) AS member_count";

fn from_row(r: &AnyRow) -> Result<Org, sqlx::Error> {
    Ok(Org {
        id: r.try_get("id")?,
        parent_id: r.try_get("parent_id")?,
        name: r.try_get("name")?,
        org_type: r.try_get("org_type")?,
        code: r.try_get("code")?,
        leader_name: r.try_get("leader_name")?,
        contact_phone: r.try_get("contact_phone")?,
        address: r.try_get("address")?,
        lat: r.try_get("lat")?,
        lng: r.try_get("lng")?,
        sort_order: r.try_get("sort_order")?,
        status: r.try_get("status")?,
        path: r.try_get("path")?,
        depth: r.try_get("depth")?,
        member_count: r.try_get("member_count")?,
    })
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds the editable fields as $1…$9 (name, org_type, code, leader_name, contact_phone,
/// address, lat, lng, sort_order): INSERT and UPDATE share the order.
fn bind_fields<'q>(q: AnyQuery<'q>, o: &'q OrgInput) -> AnyQuery<'q> {
    q.bind(&o.name)
        .bind(&o.org_type)
        .bind(&o.code)
        .bind(&o.leader_name)
        .bind(&o.contact_phone)
        .bind(&o.address)
        .bind(o.lat)
        .bind(o.lng)
        .bind(o.sort_order)
}

#[derive(Clone, Debug)]
pub struct OrgRepo {
    db: Db,
}

impl OrgRepo {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn get(&self, id: i64) -> Result<Org, CoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM orgs o WHERE o.id = $1")).bind(id).fetch_optional(&self.db.pool).await?;
        match row {
            Some(r) => Ok(from_row(&r)?),
            None => Err(CoreError::NotFound("org.not_found", format!("组织（编号 {id}）不存在"))),
        }
    }

    pub async fn get_by_code(&self, code: &str) -> Result<Option<Org>, CoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM orgs o WHERE o.code = $1")).bind(code.trim()).fetch_optional(&self.db.pool).await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// Creates an organisation under `parent_id` (None = a new root).
    pub async fn create(&self, parent_id: Option<i64>, input: &OrgInput) -> Result<Org, CoreError> {
        let input = input.validated()?;
        let mut tx = self.db.begin_write().await?;
        let (parent_path, depth) = match parent_id {
            Some(pid) => {
                let row = sqlx::query("SELECT path, depth, status FROM orgs WHERE id = $1").bind(pid).fetch_optional(&mut *tx).await?;
                let Some(row) = row else {
                    return Err(CoreError::invalid("org.parent_not_found", format!("上级组织（编号 {pid}）不存在")));
                };
                let status: String = row.try_get("status")?;
                if status != "active" {
                    return Err(CoreError::invalid("org.parent_dissolved", "上级组织已撤销，不能在其下新建组织"));
                }
                (row.try_get::<String, _>("path")?, row.try_get::<i64, _>("depth")? + 1)
            }
            None => ("/".to_string(), 0),
        };
        if self.code_taken(&mut tx, &input.code, None).await? {
            return Err(CoreError::Conflict { code: "org.duplicate_code", message: format!("组织编码“{}”已被使用", input.code) });
        }
        let now = now_text();
        // The path needs the new id: insert under a unique placeholder, then set it.
        let placeholder = format!("{parent_path}pending-{}/", hex::encode(rand::random::<[u8; 8]>()));
        let id: i64 = bind_fields(
            sqlx::query(
                "INSERT INTO orgs (name, org_type, code, leader_name, contact_phone, address, lat, lng, sort_order, parent_id, path, depth, status, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'active', $13, $13) RETURNING id",
            ),
            &input,
        )
        .bind(parent_id)
        .bind(&placeholder)
        .bind(depth)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        sqlx::query("UPDATE orgs SET path = $1 WHERE id = $2").bind(format!("{parent_path}{id}/")).bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        self.get(id).await
    }

    async fn code_taken(&self, tx: &mut sqlx::Transaction<'_, sqlx::Any>, code: &str, except: Option<i64>) -> Result<bool, CoreError> {
        let row = sqlx::query("SELECT id FROM orgs WHERE code = $1").bind(code).fetch_optional(&mut **tx).await?;
        Ok(match row {
            Some(r) => Some(r.try_get::<i64, _>("id")?) != except,
            None => false,
        })
    }

    pub async fn update(&self, id: i64, input: &OrgInput) -> Result<Org, CoreError> {
        let input = input.validated()?;
        let mut tx = self.db.begin_write().await?;
        if self.code_taken(&mut tx, &input.code, Some(id)).await? {
            return Err(CoreError::Conflict { code: "org.duplicate_code", message: format!("组织编码“{}”已被使用", input.code) });
        }
        let done = bind_fields(
            sqlx::query(
                "UPDATE orgs SET name = $1, org_type = $2, code = $3, leader_name = $4, contact_phone = $5, address = $6, lat = $7, lng = $8, sort_order = $9, updated_at = $10 WHERE id = $11",
            ),
            &input,
        )
        .bind(now_text())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(CoreError::NotFound("org.not_found", format!("组织（编号 {id}）不存在")));
        }
        tx.commit().await?;
        self.get(id).await
    }

    /// Moves `id` (with its whole subtree) under `new_parent_id`.
    pub async fn move_to(&self, id: i64, new_parent_id: i64) -> Result<Org, CoreError> {
        let mut tx = self.db.begin_write().await?;
        let org = sqlx::query("SELECT path, depth FROM orgs WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
        let Some(org) = org else {
            return Err(CoreError::NotFound("org.not_found", format!("组织（编号 {id}）不存在")));
        };
        let old_path: String = org.try_get("path")?;
        let old_depth: i64 = org.try_get("depth")?;
        let parent = sqlx::query("SELECT path, depth, status FROM orgs WHERE id = $1").bind(new_parent_id).fetch_optional(&mut *tx).await?;
        let Some(parent) = parent else {
            return Err(CoreError::invalid("org.parent_not_found", format!("目标上级组织（编号 {new_parent_id}）不存在")));
        };
        let parent_path: String = parent.try_get("path")?;
        if parent_path.starts_with(&old_path) {
            return Err(CoreError::invalid("org.move_into_subtree", "不能把组织移动到它自己或它的下级组织之下"));
        }
        if parent.try_get::<String, _>("status")? != "active" {
            return Err(CoreError::invalid("org.parent_dissolved", "目标上级组织已撤销"));
        }
        let new_path = format!("{parent_path}{id}/");
        let delta = parent.try_get::<i64, _>("depth")? + 1 - old_depth;
        // substr is 1-based in both SQLite and Postgres; Postgres has no substr(text, bigint).
        sqlx::query("UPDATE orgs SET path = $1 || substr(path, CAST($2 AS INTEGER)), depth = depth + $3, updated_at = $4 WHERE path >= $5 AND path < $6")
            .bind(&new_path)
            .bind(old_path.len() as i64 + 1)
            .bind(delta)
            .bind(now_text())
            .bind(&old_path)
            .bind(path_upper(&old_path))
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE orgs SET parent_id = $1 WHERE id = $2").bind(new_parent_id).bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        self.get(id).await
    }

    /// Marks an organisation dissolved; refused while it or any organisation below still has
    /// members, or while an organisation below is still active.
    pub async fn dissolve(&self, id: i64) -> Result<Org, CoreError> {
        let org = self.get(id).await?;
        let mut tx = self.db.begin_write().await?;
        let members: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM members m JOIN orgs o ON o.id = m.org_id WHERE o.path >= $1 AND o.path < $2",
        )
        .bind(&org.path)
        .bind(path_upper(&org.path))
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        if members > 0 {
            return Err(CoreError::Conflict {
                code: "org.has_members",
                message: format!("“{}”及其下级组织仍有 {members} 名党员，请先转出党员再撤销", org.name),
            });
        }
        let children: i64 = sqlx::query("SELECT COUNT(*) AS n FROM orgs WHERE parent_id = $1 AND status = 'active'")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if children > 0 {
            return Err(CoreError::Conflict { code: "org.has_children", message: format!("“{}”仍有 {children} 个下级组织，请先撤销或移走", org.name) });
        }
        sqlx::query("UPDATE orgs SET status = 'dissolved', updated_at = $1 WHERE id = $2").bind(now_text()).bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        self.get(id).await
    }

    /// The organisations in these subtrees, in tree order (pre-order; siblings by sort order).
    pub async fn list(&self, roots: &[String]) -> Result<Vec<Org>, CoreError> {
        let (clause, binds) = subtree_clause("o.path", roots, 1);
        let sql = format!("SELECT {COLUMNS} FROM orgs o WHERE {clause}");
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b);
        }
        let rows = q.fetch_all(&self.db.pool).await?;
        let orgs = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
        Ok(tree_order(orgs))
    }

    /// Every organisation's (id, name, path): what scope checks and labels need, without the
    /// per-organisation member counts of [`list`](Self::list).
    pub async fn names_and_paths(&self) -> Result<Vec<(i64, String, String)>, CoreError> {
        let rows = sqlx::query("SELECT id, name, path FROM orgs").fetch_all(&self.db.pool).await?;
        rows.iter()
            .map(|r| Ok((r.try_get::<i64, _>("id")?, r.try_get::<String, _>("name")?, r.try_get::<String, _>("path")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(CoreError::from)
    }

    /// Ids of this organisation and everything below it.
    pub async fn subtree_ids(&self, path: &str) -> Result<Vec<i64>, CoreError> {
        let rows = sqlx::query("SELECT id FROM orgs WHERE path >= $1 AND path < $2").bind(path).bind(path_upper(path)).fetch_all(&self.db.pool).await?;
        rows.iter().map(|r| r.try_get::<i64, _>("id").map_err(CoreError::from)).collect()
    }

    pub async fn count(&self) -> Result<i64, CoreError> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM orgs").fetch_one(&self.db.pool).await?.try_get("n")?)
    }
}

/// Pre-order: each organisation followed by its subtree; siblings by (sort_order, id). An
/// organisation whose parent is not in the list is a root.
pub fn tree_order(orgs: Vec<Org>) -> Vec<Org> {
    let ids: std::collections::HashSet<i64> = orgs.iter().map(|o| o.id).collect();
    let mut children: HashMap<Option<i64>, Vec<Org>> = HashMap::new();
    for o in orgs {
        let key = o.parent_id.filter(|p| ids.contains(p));
        children.entry(key).or_default().push(o);
    }
    for list in children.values_mut() {
        list.sort_by_key(|o| (o.sort_order, o.id));
    }
    let mut out = Vec::new();
    let mut stack: Vec<Org> = children.remove(&None).unwrap_or_default().into_iter().rev().collect();
    while let Some(o) = stack.pop() {
        if let Some(kids) = children.remove(&Some(o.id)) {
            stack.extend(kids.into_iter().rev());
        }
        out.push(o);
    }
    out
}
