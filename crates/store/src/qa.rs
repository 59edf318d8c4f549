//! Curated Q&A pairs (常用问答): the rows the FAQ-first matcher answers from.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{Row, SqlitePool};

use crate::StoreError;

/// Where a curated answer comes from in the regulations.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SourceRef {
    pub doc: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article: Option<String>,
}

/// A pair as written by an importer or an editor.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct NewQaPair {
    pub question: String,
    #[serde(default)]
    pub similar: Vec<String>,
    pub answer: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub source_refs: Vec<SourceRef>,
}

impl NewQaPair {
    /// Hash of everything a re-import could change, so unchanged rows are left untouched.
    pub fn content_hash(&self) -> String {
        let mut h = Sha256::new();
        for part in [self.question.as_str(), self.answer.as_str(), self.category.as_str()] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        for s in &self.similar {
            h.update(s.as_bytes());
            h.update([1]);
        }
        for r in &self.source_refs {
            h.update(r.doc.as_bytes());
            h.update([2]);
            h.update(r.article.as_deref().unwrap_or("").as_bytes());
            h.update([3]);
        }
        hex::encode(h.finalize())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct QaPair {
    pub id: i64,
    pub question: String,
    pub similar: Vec<String>,
    pub answer: String,
    pub category: String,
    pub status: String,
    pub source_refs: Vec<SourceRef>,
    pub updated_by: String,
    pub updated_at: String,
    #[serde(default)]
    pub effective_from: Option<String>,
    #[serde(default)]
    pub effective_to: Option<String>,
    #[serde(default)]
    pub version: i64,
    /// None: answers everyone. Some(org): answers only members of that organisation's subtree.
    #[serde(default)]
    pub org_id: Option<i64>,
}

/// Who is asking, for the org scope of curated pairs: the materialised paths (`/1/5/9/`) of the
/// organisations the asker belongs to. Empty (anonymous): only system-wide pairs answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audience {
    org_paths: Vec<String>,
}

impl Audience {
    pub fn new(org_paths: impl IntoIterator<Item = String>) -> Self {
        Self { org_paths: org_paths.into_iter().filter(|p| p.starts_with('/')).collect() }
    }

    pub fn anonymous() -> Self {
        Self::default()
    }

    /// How specific a pair of this scope is for the asker: 0 for a system-wide pair, the depth
    /// of its organisation in the asker's path otherwise (deeper = closer to the asker); None
    /// when the asker may not see it.
    pub fn specificity(&self, org_id: Option<i64>) -> Option<usize> {
        let Some(id) = org_id else { return Some(0) };
        let id = id.to_string();
        self.org_paths
            .iter()
            .filter_map(|p| p.split('/').filter(|s| !s.is_empty()).position(|s| s == id).map(|i| i + 1))
            .max()
    }

    /// The asker's own organisation: the deepest of their paths.
    pub fn home(&self) -> Option<&str> {
        self.org_paths.iter().max_by_key(|p| p.matches('/').count()).map(String::as_str)
    }

    pub fn sees(&self, org_id: Option<i64>) -> bool {
        self.specificity(org_id).is_some()
    }
}

/// What an import did to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UpsertOutcome {
    Inserted,
    Updated,
    Unchanged,
    /// Insert-only mode and the question already exists (a curated edit is never overwritten).
    Kept,
}

#[derive(Debug, Clone)]
pub struct QaStore {
    pool: SqlitePool,
}

impl QaStore {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Writes all pairs in one transaction keyed by question and scope: a crash or a retry leaves either
    /// the old rows or all the new ones. With `overwrite = false` existing questions are kept.
    /// Pairs are keyed by (question, scope): new ones get `org_id` as their scope, and only a
    /// pair of that same scope is updated.
    pub async fn upsert_all(&self, pairs: &[NewQaPair], updated_by: &str, overwrite: bool, org_id: Option<i64>) -> Result<Vec<UpsertOutcome>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut out = Vec::with_capacity(pairs.len());
        for p in pairs {
            let hash = p.content_hash();
            let existing = sqlx::query("SELECT content_hash FROM qa_pairs WHERE question = ? AND IFNULL(org_id, 0) = IFNULL(?, 0)")
                .bind(&p.question)
                .bind(org_id)
                .fetch_optional(&mut *tx)
                .await?;
            let similar = serde_json::to_string(&p.similar).unwrap_or_else(|_| "[]".into());
            let refs = serde_json::to_string(&p.source_refs).unwrap_or_else(|_| "[]".into());
            let outcome = match existing {
                Some(row) if row.try_get::<String, _>("content_hash")? == hash => UpsertOutcome::Unchanged,
                Some(_) if !overwrite => UpsertOutcome::Kept,
                Some(_) => UpsertOutcome::Updated,
                None => UpsertOutcome::Inserted,
            };
            if matches!(outcome, UpsertOutcome::Inserted | UpsertOutcome::Updated) {
                // Keyed by question: status and created_at of an existing pair are kept.
                let row = sqlx::query(
                    "INSERT INTO qa_pairs (question, similar_json, answer, category, status, source_refs_json, updated_by, content_hash, org_id) \
                     VALUES (?, ?, ?, ?, 'published', ?, ?, ?, ?) \
                     ON CONFLICT (question, IFNULL(org_id, 0)) DO UPDATE SET similar_json = excluded.similar_json, answer = excluded.answer, \
                     category = excluded.category, source_refs_json = excluded.source_refs_json, updated_by = excluded.updated_by, \
                     content_hash = excluded.content_hash, version = qa_pairs.version + 1, \
                     updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') RETURNING id",
                )
                .bind(&p.question)
                .bind(&similar)
                .bind(&p.answer)
                .bind(&p.category)
                .bind(&refs)
                .bind(updated_by)
                .bind(&hash)
                .bind(org_id)
                .fetch_one(&mut *tx)
                .await?;
                // Imports are versioned like edits in the console.
                let id: i64 = row.try_get(0)?;
                let saved = crate::qa_curation::load(&mut tx, id).await?;
                crate::qa_curation::snapshot(&mut tx, &saved, "import", updated_by).await?;
            }
            out.push(outcome);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Pairs that answer today: published and within their effective dates (Beijing date).
    pub async fn published(&self) -> Result<Vec<QaPair>, StoreError> {
        self.select(
            "WHERE status = 'published' AND (effective_from IS NULL OR effective_from <= date('now', '+8 hours'))
               AND (effective_to IS NULL OR effective_to >= date('now', '+8 hours'))",
        )
        .await
    }

    pub async fn get(&self, id: i64) -> Result<Option<QaPair>, StoreError> {
        let sql = format!("{} WHERE id = ?", SELECT);
        let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await?;
        row.map(|r| to_pair(&r)).transpose()
    }

    /// The id of the pair of scope `org_id` (None: system-wide) with exactly this standard question.
    pub async fn id_by_question(&self, question: &str, org_id: Option<i64>) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT id FROM qa_pairs WHERE question = ? AND IFNULL(org_id, 0) = IFNULL(?, 0)")
            .bind(question)
            .bind(org_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get::<i64, _>(0)))
    }

    pub async fn count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM qa_pairs").fetch_one(&self.pool).await?)
    }

    pub async fn set_status(&self, id: i64, status: &str, updated_by: &str) -> Result<bool, StoreError> {
        let r = sqlx::query("UPDATE qa_pairs SET status = ?, updated_by = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?")
            .bind(status)
            .bind(updated_by)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn select(&self, filter: &str) -> Result<Vec<QaPair>, StoreError> {
        let sql = format!("{SELECT} {filter} ORDER BY id");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(to_pair).collect()
    }
}

pub(crate) const SELECT: &str =
    "SELECT id, question, similar_json, answer, category, status, source_refs_json, updated_by, updated_at, effective_from, effective_to, version, org_id FROM qa_pairs";

pub(crate) fn to_pair(r: &sqlx::sqlite::SqliteRow) -> Result<QaPair, StoreError> {
    let similar: String = r.try_get("similar_json")?;
    let refs: String = r.try_get("source_refs_json")?;
    Ok(QaPair {
        id: r.try_get("id")?,
        question: r.try_get("question")?,
        similar: serde_json::from_str(&similar).map_err(|e| StoreError::Corrupt(format!("qa_pairs.similar_json: {e}")))?,
        answer: r.try_get("answer")?,
        category: r.try_get("category")?,
        status: r.try_get("status")?,
        source_refs: serde_json::from_str(&refs).map_err(|e| StoreError::Corrupt(format!("qa_pairs.source_refs_json: {e}")))?,
        updated_by: r.try_get("updated_by")?,
        updated_at: r.try_get("updated_at")?,
        effective_from: r.try_get("effective_from")?,
        effective_to: r.try_get("effective_to")?,
        version: r.try_get("version")?,
        org_id: r.try_get("org_id")?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    async fn store() -> (tempfile::TempDir, QaStore) {
        let dir = tempfile::tempdir().unwrap();
        let ks = crate::KnowledgeStore::open_sqlite(dir.path()).await.unwrap();
        (dir, QaStore::new(ks.pool().clone()))
    }

    fn pair(q: &str, a: &str) -> NewQaPair {
        NewQaPair { question: q.into(), similar: vec![format!("{q}？")], answer: a.into(), category: "党员发展".into(), source_refs: vec![SourceRef { doc: "中国共产党章程".into(), article: Some("第七条".into()) }] }
    }

    #[tokio::test]
    async fn upsert_is_idempotent_and_insert_only_keeps_edits() {
        let (_d, s) = store().await;
        let a = pair("预备期多长", "一年");
        assert_eq!(s.upsert_all(std::slice::from_ref(&a), "seed", false, None).await.unwrap(), vec![UpsertOutcome::Inserted]);
        assert_eq!(s.upsert_all(std::slice::from_ref(&a), "seed", false, None).await.unwrap(), vec![UpsertOutcome::Unchanged]);
        let edited = pair("预备期多长", "预备期为一年。");
        assert_eq!(s.upsert_all(std::slice::from_ref(&edited), "admin", true, None).await.unwrap(), vec![UpsertOutcome::Updated]);
        // The seed is re-imported on every start, insert-only: the admin's edit survives.
        assert_eq!(s.upsert_all(&[a], "seed", false, None).await.unwrap(), vec![UpsertOutcome::Kept]);
        let all = s.published().await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].answer, "预备期为一年。");
        assert_eq!(all[0].updated_by, "admin");
        assert_eq!(all[0].source_refs[0].article.as_deref(), Some("第七条"));
        assert!(s.set_status(all[0].id, "retired", "admin").await.unwrap());
        assert!(s.published().await.unwrap().is_empty());
        assert_eq!(s.count().await.unwrap(), 1);
    }
}
