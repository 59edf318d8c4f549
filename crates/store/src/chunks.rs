//! Chunk tuning: edit, split, merge, disable/enable and roll back single chunks. Each change is
//! one transaction that also writes the chunk's new version and journals the document, so the
//! knowledge base re-indexes it (and a crash in between is repaired at the next start).

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{Row, Sqlite, Transaction};

use crate::refuse;
use crate::{KnowledgeStore, StoreError};

/// A chunk as the curation console shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChunkRow {
    pub id: i64,
    pub doc_id: i64,
    pub position: i64,
    pub heading_path: Vec<String>,
    pub article: Option<String>,
    pub text: String,
    pub enabled: bool,
    pub version: i64,
    /// Questions / keywords that count in retrieval for this chunk.
    pub questions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChunkVersion {
    pub version: i64,
    pub action: String,
    pub text: String,
    pub article: Option<String>,
    pub heading_path: Vec<String>,
    pub enabled: bool,
    pub editor: String,
    pub created_at: String,
    pub questions: Vec<String>,
}

/// A refused curation change (chunks, Q&A pairs): stable code, message for the admin (zh-CN).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

/// New text, label and headings of a chunk (`None` keeps the current value).
#[derive(Debug, Clone, Default)]
pub struct ChunkEdit {
    pub text: Option<String>,
    pub article: Option<Option<String>>,
    pub heading_path: Option<Vec<String>>,
    pub questions: Option<Vec<String>>,
}

const COLUMNS: &str = "id, doc_id, position, heading_path, article, text, enabled, version, questions_json";

fn row_to_chunk(r: &sqlx::sqlite::SqliteRow) -> Result<ChunkRow, StoreError> {
    let heading: String = r.try_get(3)?;
    Ok(ChunkRow {
        id: r.try_get(0)?,
        doc_id: r.try_get(1)?,
        position: r.try_get(2)?,
        heading_path: serde_json::from_str(&heading).map_err(|e| StoreError::Corrupt(format!("heading_path: {e}")))?,
        article: r.try_get(4)?,
        text: r.try_get(5)?,
        enabled: r.try_get::<i64, _>(6)? != 0,
        version: r.try_get(7)?,
        questions: serde_json::from_str(&r.try_get::<String, _>(8)?).unwrap_or_default(),
    })
}

fn hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

async fn load(tx: &mut Transaction<'_, Sqlite>, id: i64) -> Result<ChunkRow, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM chunks WHERE id = ?")).bind(id).fetch_optional(&mut **tx).await?;
    match row {
        Some(r) => row_to_chunk(&r),
        None => Err(refuse("kb.chunk_not_found", format!("切片 {id} 不存在（可能已被合并或文档已重新导入）"))),
    }
}

/// Records `c` as version `c.version`; the first change of a chunk also records its original.
async fn record(tx: &mut Transaction<'_, Sqlite>, before: Option<&ChunkRow>, c: &ChunkRow, action: &str, editor: &str) -> Result<(), StoreError> {
    let insert = "INSERT INTO chunk_versions (chunk_id, doc_id, version, action, text, article, heading_path, enabled, editor, questions_json)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(chunk_id, version) DO NOTHING";
    let mut rows = Vec::new();
    if let Some(b) = before {
        rows.push((b, "original", ""));
    }
    rows.push((c, action, editor));
    for (v, action, editor) in rows {
        sqlx::query(insert)
            .bind(v.id)
            .bind(v.doc_id)
            .bind(v.version)
            .bind(action)
            .bind(&v.text)
            .bind(&v.article)
            .bind(serde_json::to_string(&v.heading_path).unwrap_or_else(|_| "[]".into()))
            .bind(v.enabled)
            .bind(editor)
            .bind(serde_json::to_string(&v.questions).unwrap_or_else(|_| "[]".into()))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

async fn write(tx: &mut Transaction<'_, Sqlite>, c: &ChunkRow) -> Result<(), StoreError> {
    sqlx::query("UPDATE chunks SET position = ?, heading_path = ?, article = ?, text = ?, content_hash = ?, enabled = ?, version = ?, questions_json = ? WHERE id = ?")
        .bind(c.position)
        .bind(serde_json::to_string(&c.heading_path).unwrap_or_else(|_| "[]".into()))
        .bind(&c.article)
        .bind(&c.text)
        .bind(hash(&c.text))
        .bind(c.enabled)
        .bind(c.version)
        .bind(serde_json::to_string(&c.questions).unwrap_or_else(|_| "[]".into()))
        .bind(c.id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Journals the touched chunks (only they are re-embedded and re-indexed) and refreshes the
/// document's chunk count, closing the transaction's change.
async fn finish(mut tx: Transaction<'_, Sqlite>, doc_id: i64, chunk_ids: &[i64]) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE documents SET chunk_count = (SELECT COUNT(*) FROM chunks WHERE doc_id = ?), updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
    )
    .bind(doc_id)
    .bind(doc_id)
    .execute(&mut *tx)
    .await?;
    for chunk_id in chunk_ids {
        sqlx::query("INSERT INTO index_journal (doc_id, chunk_id) VALUES (?, ?)").bind(doc_id).bind(chunk_id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A fingerprint of a document's chunks (ids, versions, enabled): a re-chunk preview is applied
/// only while nobody changed a chunk since.
pub fn chunk_basis_of(rows: &[ChunkRow]) -> String {
    let joined: String = rows.iter().map(|c| format!("{}:{}:{};", c.id, c.version, c.enabled)).collect();
    hash(&joined)[..16].to_string()
}

fn check_version(c: &ChunkRow, expected: Option<i64>) -> Result<(), StoreError> {
    match expected {
        Some(v) if v != c.version => Err(refuse("kb.chunk_version_conflict", format!("切片已被他人修改（当前版本 {}，您编辑的是版本 {v}），请刷新后重试", c.version))),
        _ => Ok(()),
    }
}

fn clean_text(text: &str) -> Result<String, StoreError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(refuse("kb.chunk_empty", "切片内容不能为空"));
    }
    Ok(t.to_string())
}

impl KnowledgeStore {
    pub async fn chunk(&self, id: i64) -> Result<Option<ChunkRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM chunks WHERE id = ?")).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(row_to_chunk).transpose()
    }

    /// All chunks of a document, disabled ones included, in order.
    pub async fn chunk_rows(&self, doc_id: i64) -> Result<Vec<ChunkRow>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM chunks WHERE doc_id = ? ORDER BY position")).bind(doc_id).fetch_all(self.pool()).await?;
        rows.iter().map(row_to_chunk).collect()
    }

    pub async fn chunk_versions(&self, chunk_id: i64) -> Result<Vec<ChunkVersion>, StoreError> {
        let rows = sqlx::query(
            "SELECT version, action, text, article, heading_path, enabled, editor, created_at, questions_json FROM chunk_versions WHERE chunk_id = ? ORDER BY version DESC",
        )
        .bind(chunk_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let heading: String = r.try_get(4)?;
                Ok(ChunkVersion {
                    version: r.try_get(0)?,
                    action: r.try_get(1)?,
                    text: r.try_get(2)?,
                    article: r.try_get(3)?,
                    heading_path: serde_json::from_str(&heading).unwrap_or_default(),
                    enabled: r.try_get::<i64, _>(5)? != 0,
                    editor: r.try_get(6)?,
                    created_at: r.try_get(7)?,
                    questions: serde_json::from_str(&r.try_get::<String, _>(8)?).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Edits text, article label or headings. `expected_version` guards against overwriting
    /// someone else's edit. Returns the chunk as saved.
    pub async fn edit_chunk(&self, id: i64, expected_version: Option<i64>, edit: &ChunkEdit, editor: &str) -> Result<ChunkRow, StoreError> {
        let mut tx = crate::begin_immediate(self.pool()).await?;
        let before = load(&mut tx, id).await?;
        check_version(&before, expected_version)?;
        let mut c = before.clone();
        if let Some(t) = &edit.text {
            c.text = clean_text(t)?;
        }
        if let Some(a) = &edit.article {
            c.article = a.as_ref().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        }
        if let Some(h) = &edit.heading_path {
            c.heading_path = h.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        }
        if let Some(q) = &edit.questions {
            let mut qs: Vec<String> = Vec::new();
            for s in q.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
                if s.chars().count() > 100 {
                    return Err(refuse("kb.question_too_long", format!("每条问题或关键词请控制在 100 字以内：{s}")));
                }
                if !qs.iter().any(|x| x == s) {
                    qs.push(s.to_string());
                }
            }
            if qs.len() > 50 {
                return Err(refuse("kb.too_many_questions", "每个切片最多 50 条问题或关键词"));
            }
            c.questions = qs;
        }
        if c == before {
            return Ok(before);
        }
        c.version += 1;
        write(&mut tx, &c).await?;
        record(&mut tx, Some(&before), &c, "edit", editor).await?;
        finish(tx, c.doc_id, &[c.id]).await?;
        Ok(c)
    }

    pub async fn set_chunk_enabled(&self, id: i64, enabled: bool, editor: &str) -> Result<ChunkRow, StoreError> {
        let mut tx = crate::begin_immediate(self.pool()).await?;
        let before = load(&mut tx, id).await?;
        if before.enabled == enabled {
            return Ok(before);
        }
        let c = ChunkRow { enabled, version: before.version + 1, ..before.clone() };
        write(&mut tx, &c).await?;
        record(&mut tx, Some(&before), &c, if enabled { "enable" } else { "disable" }, editor).await?;
        finish(tx, c.doc_id, &[c.id]).await?;
        Ok(c)
    }

    /// Splits a chunk at character `at` (0 < at < length): the first part keeps the chunk, the
    /// second becomes a new chunk right after it with the same label and headings.
    pub async fn split_chunk(&self, id: i64, at: usize, editor: &str) -> Result<(ChunkRow, ChunkRow), StoreError> {
        let mut tx = crate::begin_immediate(self.pool()).await?;
        let before = load(&mut tx, id).await?;
        let chars: Vec<char> = before.text.chars().collect();
        if at == 0 || at >= chars.len() {
            return Err(refuse("kb.bad_split", format!("拆分位置应在第 1 到第 {} 个字之间", chars.len().saturating_sub(1))));
        }
        let first = clean_text(&chars[..at].iter().collect::<String>())
            .map_err(|_| refuse("kb.bad_split", "拆分后的前一段没有内容"))?;
        let second = clean_text(&chars[at..].iter().collect::<String>())
            .map_err(|_| refuse("kb.bad_split", "拆分后的后一段没有内容"))?;
        // Make room after the chunk (two steps: positions are unique per document).
        sqlx::query("UPDATE chunks SET position = -(position + 1) WHERE doc_id = ? AND position > ?")
            .bind(before.doc_id)
            .bind(before.position)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE chunks SET position = -position WHERE doc_id = ? AND position < 0")
            .bind(before.doc_id)
            .execute(&mut *tx)
            .await?;
        let a = ChunkRow { text: first, version: before.version + 1, ..before.clone() };
        write(&mut tx, &a).await?;
        let new_id: i64 = sqlx::query_scalar(
            "INSERT INTO chunks (doc_id, position, heading_path, article, text, content_hash, token_count, enabled, version)
             VALUES (?, ?, ?, ?, ?, ?, 0, ?, 1) RETURNING id",
        )
        .bind(before.doc_id)
        .bind(before.position + 1)
        .bind(serde_json::to_string(&before.heading_path).unwrap_or_else(|_| "[]".into()))
        .bind(&before.article)
        .bind(&second)
        .bind(hash(&second))
        .bind(before.enabled)
        .fetch_one(&mut *tx)
        .await?;
        let b = ChunkRow { id: new_id, position: before.position + 1, text: second, version: 1, questions: Vec::new(), ..before.clone() };
        // Neither half is the ingested piece any more: a re-ingest must not keep one half alone.
        sqlx::query("UPDATE chunks SET source_hash = NULL WHERE id = ?").bind(a.id).execute(&mut *tx).await?;
        record(&mut tx, Some(&before), &a, "split", editor).await?;
        record(&mut tx, None, &b, "split", editor).await?;
        finish(tx, before.doc_id, &[a.id, b.id]).await?;
        Ok((a, b))
    }

    /// Merges a chunk with the next one of its document (texts joined by a line break); the next
    /// chunk is removed, its history kept.
    pub async fn merge_with_next(&self, id: i64, editor: &str) -> Result<ChunkRow, StoreError> {
        let mut tx = crate::begin_immediate(self.pool()).await?;
        let before = load(&mut tx, id).await?;
        let next = sqlx::query(&format!("SELECT {COLUMNS} FROM chunks WHERE doc_id = ? AND position > ? ORDER BY position LIMIT 1"))
            .bind(before.doc_id)
            .bind(before.position)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(next) = next.as_ref().map(row_to_chunk).transpose()? else {
            return Err(refuse("kb.no_next_chunk", "这是文档的最后一个切片，没有可合并的下一个切片"));
        };
        let mut questions = before.questions.clone();
        questions.extend(next.questions.iter().filter(|q| !before.questions.contains(q)).cloned());
        let merged = ChunkRow { text: format!("{}\n{}", before.text, next.text), version: before.version + 1, questions, ..before.clone() };
        sqlx::query("DELETE FROM chunks WHERE id = ?").bind(next.id).execute(&mut *tx).await?;
        write(&mut tx, &merged).await?;
        // No longer one ingested piece: a re-ingest replaces it rather than keeping it beside
        // the piece of the merged-away chunk (which would repeat that text).
        sqlx::query("UPDATE chunks SET source_hash = NULL WHERE id = ?").bind(merged.id).execute(&mut *tx).await?;
        record(&mut tx, Some(&before), &merged, "merge", editor).await?;
        let gone = ChunkRow { version: next.version + 1, enabled: false, ..next.clone() };
        record(&mut tx, Some(&next), &gone, "merged_into_previous", editor).await?;
        finish(tx, before.doc_id, &[merged.id, next.id]).await?;
        Ok(merged)
    }

    /// Replaces every chunk of a document with `chunks` (re-chunking) in one transaction: the old
    /// chunks' last state stays in their version history (action `rechunk_removed`), the new
    /// ones start at version 1 (action `rechunk`), and the document is journaled for a full
    /// re-index. Refused when `basis` no longer matches (someone changed a chunk meanwhile).
    pub async fn replace_chunks(&self, doc_id: i64, basis: &str, chunks: &[crate::NewChunk], editor: &str) -> Result<Vec<i64>, StoreError> {
        if chunks.is_empty() {
            return Err(refuse("kb.rechunk_empty", "重新切分后没有切片，未作修改"));
        }
        let mut tx = crate::begin_immediate(self.pool()).await?;
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM chunks WHERE doc_id = ? ORDER BY position")).bind(doc_id).fetch_all(&mut *tx).await?;
        let old: Vec<ChunkRow> = rows.iter().map(row_to_chunk).collect::<Result<_, _>>()?;
        if chunk_basis_of(&old) != basis {
            return Err(refuse("kb.rechunk_stale", "预览之后该文档的切片已被修改，请重新预览"));
        }
        for c in &old {
            let gone = ChunkRow { version: c.version + 1, enabled: false, ..c.clone() };
            record(&mut tx, Some(c), &gone, "rechunk_removed", editor).await?;
        }
        sqlx::query("DELETE FROM chunks WHERE doc_id = ?").bind(doc_id).execute(&mut *tx).await?;
        let mut ids = Vec::with_capacity(chunks.len());
        for (i, c) in chunks.iter().enumerate() {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO chunks (doc_id, position, heading_path, article, text, content_hash, token_count, enabled, version)
                 VALUES (?, ?, ?, ?, ?, ?, ?, 1, 1) RETURNING id",
            )
            .bind(doc_id)
            .bind(i as i64)
            .bind(serde_json::to_string(&c.heading_path).unwrap_or_else(|_| "[]".into()))
            .bind(&c.article)
            .bind(&c.text)
            .bind(hash(&c.text))
            .bind(c.token_count as i64)
            .fetch_one(&mut *tx)
            .await?;
            let row = ChunkRow {
                id,
                doc_id,
                position: i as i64,
                heading_path: c.heading_path.clone(),
                article: c.article.clone(),
                text: c.text.clone(),
                enabled: true,
                version: 1,
                questions: Vec::new(),
            };
            record(&mut tx, None, &row, "rechunk", editor).await?;
            ids.push(id);
        }
        sqlx::query("INSERT INTO index_journal (doc_id) VALUES (?)").bind(doc_id).execute(&mut *tx).await?;
        finish(tx, doc_id, &[]).await?;
        Ok(ids)
    }

    /// Restores text, label, headings and enabled state of an earlier version (as a new version).
    pub async fn rollback_chunk(&self, id: i64, version: i64, editor: &str) -> Result<ChunkRow, StoreError> {
        let mut tx = crate::begin_immediate(self.pool()).await?;
        let before = load(&mut tx, id).await?;
        let row = sqlx::query("SELECT text, article, heading_path, enabled, questions_json FROM chunk_versions WHERE chunk_id = ? AND version = ?")
            .bind(id)
            .bind(version)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(r) = row else { return Err(refuse("kb.version_not_found", format!("切片 {id} 没有版本 {version}"))) };
        let heading: String = r.try_get(2)?;
        let c = ChunkRow {
            text: r.try_get(0)?,
            article: r.try_get(1)?,
            heading_path: serde_json::from_str(&heading).unwrap_or_default(),
            enabled: r.try_get::<i64, _>(3)? != 0,
            questions: serde_json::from_str(&r.try_get::<String, _>(4)?).unwrap_or_default(),
            version: before.version + 1,
            ..before.clone()
        };
        write(&mut tx, &c).await?;
        record(&mut tx, Some(&before), &c, "rollback", editor).await?;
        finish(tx, c.doc_id, &[c.id]).await?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NewChunk;
    use dwt_core::DocMeta;

    async fn store_with_doc() -> (tempfile::TempDir, KnowledgeStore, i64, Vec<i64>) {
        let dir = tempfile::tempdir().unwrap();
        let store = KnowledgeStore::open_sqlite(dir.path()).await.unwrap();
        let chunk = |pos: u32, text: &str| NewChunk {
            position: pos,
            heading_path: vec!["第一章".into()],
            article: Some(format!("第{}条", pos + 1)),
            text: text.into(),
            content_hash: String::new(),
            token_count: 3,
        };
        let meta = DocMeta { title: "测试条例".into(), ..DocMeta::default() };
        let r = store.replace_document("t.md", None, &meta, "h", &[chunk(0, "甲乙丙丁。戊己庚辛。"), chunk(1, "子丑寅卯。")]).await.unwrap();
        let (doc, ids) = (r.doc_id, r.chunk_ids);
        store.clear_journal(&[doc]).await.unwrap();
        (dir, store, doc, ids)
    }

    #[tokio::test]
    async fn edits_are_versioned_guarded_and_rolled_back() {
        let (_d, store, doc, ids) = store_with_doc().await;
        let edit = ChunkEdit { text: Some("甲乙丙丁（修订）。".into()), ..ChunkEdit::default() };
        let c = store.edit_chunk(ids[0], Some(1), &edit, "admin").await.unwrap();
        assert_eq!((c.version, c.text.as_str()), (2, "甲乙丙丁（修订）。"));
        assert_eq!(store.pending_journal().await.unwrap(), vec![doc], "the change is journaled for re-indexing");
        let stale = store.edit_chunk(ids[0], Some(1), &edit, "other").await.unwrap_err();
        assert!(matches!(&stale, StoreError::Refused(e) if e.code == "kb.chunk_version_conflict"), "{stale:?}");
        let empty = ChunkEdit { text: Some("  ".into()), ..ChunkEdit::default() };
        assert!(matches!(store.edit_chunk(ids[0], None, &empty, "admin").await.unwrap_err(), StoreError::Refused(e) if e.code == "kb.chunk_empty"));
        let v: Vec<(i64, String)> = store.chunk_versions(ids[0]).await.unwrap().into_iter().map(|v| (v.version, v.action)).collect();
        assert_eq!(v, [(2, "edit".to_string()), (1, "original".to_string())]);
        let back = store.rollback_chunk(ids[0], 1, "admin").await.unwrap();
        assert_eq!((back.version, back.text.as_str()), (3, "甲乙丙丁。戊己庚辛。"));
    }

    #[tokio::test]
    async fn split_merge_and_disable_keep_positions_and_counts() {
        let (_d, store, doc, ids) = store_with_doc().await;
        let (a, b) = store.split_chunk(ids[0], 5, "admin").await.unwrap();
        assert_eq!((a.text.as_str(), b.text.as_str()), ("甲乙丙丁。", "戊己庚辛。"));
        assert_eq!(b.article.as_deref(), Some("第1条"), "the second part keeps the label");
        let order: Vec<(i64, String)> = store.chunk_rows(doc).await.unwrap().into_iter().map(|c| (c.position, c.text)).collect();
        assert_eq!(order, [(0, "甲乙丙丁。".into()), (1, "戊己庚辛。".into()), (2, "子丑寅卯。".into())]);
        assert_eq!(store.document_by_id(doc).await.unwrap().unwrap().chunk_count, 3);
        for at in [0, 100] {
            assert!(matches!(store.split_chunk(ids[0], at, "admin").await.unwrap_err(), StoreError::Refused(e) if e.code == "kb.bad_split"));
        }
        let merged = store.merge_with_next(b.id, "admin").await.unwrap();
        assert_eq!(merged.text, "戊己庚辛。\n子丑寅卯。");
        assert!(store.chunk(ids[1]).await.unwrap().is_none(), "the next chunk is merged away");
        assert_eq!(store.chunk_versions(ids[1]).await.unwrap()[0].action, "merged_into_previous");
        assert!(matches!(store.merge_with_next(b.id, "admin").await.unwrap_err(), StoreError::Refused(e) if e.code == "kb.no_next_chunk"));
        let off = store.set_chunk_enabled(a.id, false, "admin").await.unwrap();
        assert!(!off.enabled);
        assert!(!store.indexable_chunk_ids().await.unwrap().contains(&a.id), "disabled chunks leave the indexes");
    }
}
