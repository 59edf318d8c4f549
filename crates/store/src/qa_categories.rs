//! 常用咨询分类: the category tree of curated pairs (unlimited depth, ordered siblings).

use serde::Serialize;
use sqlx::Row;

use crate::refuse;
use crate::{QaStore, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QaCategory {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    pub position: i64,
    /// Pairs in this category (all statuses) and published ones.
    pub pairs: i64,
    pub published: i64,
}

fn clean_name(name: &str) -> Result<String, StoreError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 30 {
        return Err(refuse("qa.bad_category", "分类名称不能为空，且不超过 30 个字"));
    }
    Ok(n.to_string())
}

impl QaStore {
    /// Every category in tree order data (parents before children is up to the caller: rows are
    /// sorted by parent, then position), with pair counts. Categories used by pairs but missing
    /// from the tree are added at the top level first.
    pub async fn categories(&self) -> Result<Vec<QaCategory>, StoreError> {
        sqlx::query(
            "INSERT INTO qa_categories (name, position)
             SELECT DISTINCT p.category, 1000000 FROM qa_pairs p WHERE p.category <> ''
               AND NOT EXISTS (SELECT 1 FROM qa_categories c WHERE c.name = p.category)",
        )
        .execute(self.pool())
        .await?;
        let rows = sqlx::query(
            "SELECT c.id, c.parent_id, c.name, c.position,
                    (SELECT COUNT(*) FROM qa_pairs p WHERE p.category = c.name),
                    (SELECT COUNT(*) FROM qa_pairs p WHERE p.category = c.name AND p.status = 'published')
             FROM qa_categories c ORDER BY COALESCE(c.parent_id, 0), c.position, c.id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(QaCategory {
                    id: r.try_get(0)?,
                    parent_id: r.try_get(1)?,
                    name: r.try_get(2)?,
                    position: r.try_get(3)?,
                    pairs: r.try_get(4)?,
                    published: r.try_get(5)?,
                })
            })
            .collect()
    }

    pub async fn create_category(&self, name: &str, parent_id: Option<i64>) -> Result<i64, StoreError> {
        let name = clean_name(name)?;
        let mut tx = crate::begin_immediate(self.pool()).await?;
        if let Some(p) = parent_id {
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM qa_categories WHERE id = ?").bind(p).fetch_optional(&mut *tx).await?;
            exists.ok_or_else(|| refuse("qa.category_not_found", "上级分类不存在"))?;
        }
        let position: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) + 1 FROM qa_categories WHERE parent_id IS ?")
            .bind(parent_id)
            .fetch_one(&mut *tx)
            .await?;
        let id = sqlx::query_scalar("INSERT INTO qa_categories (name, parent_id, position) VALUES (?, ?, ?) RETURNING id")
            .bind(&name)
            .bind(parent_id)
            .bind(position)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| match e {
                sqlx::Error::Database(d) if d.is_unique_violation() => refuse("qa.category_exists", format!("已有名为“{name}”的分类")),
                other => other.into(),
            })?;
        tx.commit().await?;
        Ok(id)
    }

    /// Renames a category and, in the same transaction, the category of its pairs.
    pub async fn rename_category(&self, id: i64, name: &str) -> Result<(), StoreError> {
        let name = clean_name(name)?;
        let mut tx = crate::begin_immediate(self.pool()).await?;
        let old: Option<String> = sqlx::query_scalar("SELECT name FROM qa_categories WHERE id = ?").bind(id).fetch_optional(&mut *tx).await?;
        let old = old.ok_or_else(|| refuse("qa.category_not_found", "分类不存在"))?;
        sqlx::query("UPDATE qa_categories SET name = ? WHERE id = ?").bind(&name).bind(id).execute(&mut *tx).await.map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => refuse("qa.category_exists", format!("已有名为“{name}”的分类")),
            other => other.into(),
        })?;
        sqlx::query("UPDATE qa_pairs SET category = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE category = ?")
            .bind(&name)
            .bind(&old)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Moves a category under `parent_id` (None = top level) at `position` among its new
    /// siblings (0-based; the others shift). A category cannot move into its own subtree.
    pub async fn move_category(&self, id: i64, parent_id: Option<i64>, position: usize) -> Result<(), StoreError> {
        let mut tx = crate::begin_immediate(self.pool()).await?;
        let all: Vec<(i64, Option<i64>)> =
            sqlx::query("SELECT id, parent_id FROM qa_categories").fetch_all(&mut *tx).await?.iter().map(|r| (r.get(0), r.get(1))).collect();
        if !all.iter().any(|(c, _)| *c == id) {
            return Err(refuse("qa.category_not_found", "分类不存在"));
        }
        // Walk up from the new parent: meeting `id` means a cycle.
        let mut cursor = parent_id;
        while let Some(c) = cursor {
            if c == id {
                return Err(refuse("qa.category_cycle", "不能把分类移到它自己或它的下级分类之下"));
            }
            cursor = match all.iter().find(|(x, _)| *x == c) {
                Some((_, p)) => *p,
                None => return Err(refuse("qa.category_not_found", "上级分类不存在")),
            };
        }
        let mut siblings: Vec<i64> = sqlx::query_scalar("SELECT id FROM qa_categories WHERE parent_id IS ? AND id <> ? ORDER BY position, id")
            .bind(parent_id)
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
        siblings.insert(position.min(siblings.len()), id);
        for (i, c) in siblings.iter().enumerate() {
            sqlx::query("UPDATE qa_categories SET parent_id = ?, position = ? WHERE id = ?").bind(parent_id).bind(i as i64 + 1).bind(c).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes an empty category (no sub-categories, no pairs).
    pub async fn delete_category(&self, id: i64) -> Result<(), StoreError> {
        let mut tx = crate::begin_immediate(self.pool()).await?;
        let name: Option<String> = sqlx::query_scalar("SELECT name FROM qa_categories WHERE id = ?").bind(id).fetch_optional(&mut *tx).await?;
        let name = name.ok_or_else(|| refuse("qa.category_not_found", "分类不存在"))?;
        let children: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM qa_categories WHERE parent_id = ?").bind(id).fetch_one(&mut *tx).await?;
        let pairs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM qa_pairs WHERE category = ?").bind(&name).fetch_one(&mut *tx).await?;
        if children > 0 || pairs > 0 {
            return Err(refuse("qa.category_not_empty", format!("分类“{name}”下还有 {children} 个子分类、{pairs} 条问答，不能删除")));
        }
        sqlx::query("DELETE FROM qa_categories WHERE id = ?").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KnowledgeStore, QaInput};

    #[tokio::test]
    async fn tree_reorder_rename_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let ks = KnowledgeStore::open_sqlite(dir.path()).await.unwrap();
        let s = QaStore::new(ks.pool().clone());
        let pair = crate::NewQaPair { question: "党费按月交吗".into(), answer: "按月交纳。".into(), category: "党费".into(), ..Default::default() };
        let input = QaInput { pair, ..QaInput::default() };
        s.create(&input, "published", "admin").await.unwrap();
        let org = s.create_category("组织建设", None).await.unwrap();
        let life = s.create_category("组织生活", Some(org)).await.unwrap();
        assert!(matches!(s.create_category("组织生活", None).await.unwrap_err(), StoreError::Refused(e) if e.code == "qa.category_exists"));
        let cats = s.categories().await.unwrap();
        let fee = cats.iter().find(|c| c.name == "党费").unwrap().clone();
        assert_eq!((fee.pairs, fee.published, fee.parent_id), (1, 1, None), "pair categories join the tree");
        // Reorder: 党费 first among the top level; no cycles.
        s.move_category(fee.id, None, 0).await.unwrap();
        let top: Vec<String> = s.categories().await.unwrap().into_iter().filter(|c| c.parent_id.is_none()).map(|c| c.name).collect();
        assert_eq!(top, ["党费", "组织建设"]);
        assert!(matches!(s.move_category(org, Some(life), 0).await.unwrap_err(), StoreError::Refused(e) if e.code == "qa.category_cycle"));
        // Rename carries the pairs along.
        s.rename_category(fee.id, "党费收缴").await.unwrap();
        assert_eq!(s.published().await.unwrap()[0].category, "党费收缴");
        assert!(matches!(s.delete_category(fee.id).await.unwrap_err(), StoreError::Refused(e) if e.code == "qa.category_not_empty"));
        s.delete_category(life).await.unwrap();
    }
}
