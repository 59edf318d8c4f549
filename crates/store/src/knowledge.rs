use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use dwt_core::{DocMeta, DocStatus, DocType, StoredChunk};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use crate::StoreError;

/// Documents, chunks and the index journal.
#[derive(Clone, Debug)]
pub struct KnowledgeStore {
    pool: SqlitePool,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DocumentRow {
    pub id: i64,
    pub key: String,
    pub title: String,
    pub doc_type: DocType,
    pub status: DocStatus,
    pub version: Option<String>,
    pub issuer: Option<String>,
    pub effective_date: Option<String>,
    pub origin_url: Option<String>,
    pub category: Option<String>,
    pub published_at: Option<String>,
    pub content_hash: String,
    pub chunk_count: i64,
    pub updated_at: String,
    /// The document that replaced this one (set on repealed documents).
    pub superseded_by: Option<i64>,
}

impl DocumentRow {
    /// Edition named in citations (「2022年版」).
    pub fn edition(&self) -> Option<String> {
        dwt_core::edition::edition_label(self.doc_type, self.version.as_deref(), self.effective_date.as_deref())
    }

    /// Neither replaced by another document nor withdrawn.
    pub fn in_force(&self) -> bool {
        self.superseded_by.is_none() && self.status != DocStatus::Withdrawn
    }
}

/// What [`KnowledgeStore::replace_document`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaced {
    pub doc_id: i64,
    /// One id per new chunk, in order: kept chunks (unchanged source text) keep theirs.
    pub chunk_ids: Vec<i64>,
    /// Chunks whose stored text or retrieval units differ from the ingested piece (curated and
    /// kept, or carrying questions over): their vectors must come from SQL, not the draft.
    pub curated: Vec<i64>,
}

/// Index work recorded by committed SQL changes, see [`KnowledgeStore::pending_work`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalWork {
    pub documents: Vec<i64>,
    pub chunks: Vec<i64>,
}

impl JournalWork {
    pub fn is_empty(&self) -> bool {
        self.documents.is_empty() && self.chunks.is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct NewChunk {
    pub position: u32,
    pub heading_path: Vec<String>,
    pub article: Option<String>,
    pub text: String,
    pub content_hash: String,
    pub token_count: u32,
}

const DOC_COLUMNS: &str = "id, doc_key, title, doc_type, status, version, issuer, effective_date, origin_url, category, published_at, content_hash, chunk_count, updated_at, superseded_by";
const CHUNK_COLUMNS: &str = "c.id, c.doc_id, c.position, c.heading_path, c.article, c.text, c.enabled, d.title, d.doc_type, d.status, d.origin_url, d.published_at, c.questions_json,
    (SELECT s.title FROM documents s WHERE s.id = d.superseded_by) AS superseded_title, d.version, d.effective_date";

fn doc_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<DocumentRow, StoreError> {
    let doc_type: String = r.try_get("doc_type")?;
    let status: String = r.try_get("status")?;
    Ok(DocumentRow {
        id: r.try_get("id")?,
        key: r.try_get("doc_key")?,
        title: r.try_get("title")?,
        doc_type: DocType::parse(&doc_type).unwrap_or(DocType::Other),
        status: DocStatus::parse(&status).unwrap_or(DocStatus::Current),
        version: r.try_get("version")?,
        issuer: r.try_get("issuer")?,
        effective_date: r.try_get("effective_date")?,
        origin_url: r.try_get("origin_url")?,
        category: r.try_get("category")?,
        published_at: r.try_get("published_at")?,
        content_hash: r.try_get("content_hash")?,
        chunk_count: r.try_get("chunk_count")?,
        updated_at: r.try_get("updated_at")?,
        superseded_by: r.try_get("superseded_by")?,
    })
}

fn chunk_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<StoredChunk, StoreError> {
    let heading: String = r.try_get(3)?;
    let doc_type: String = r.try_get(8)?;
    let status: String = r.try_get(9)?;
    let position: i64 = r.try_get(2)?;
    Ok(StoredChunk {
        id: r.try_get(0)?,
        doc_id: r.try_get(1)?,
        position: position as u32,
        heading_path: serde_json::from_str(&heading).map_err(|e| StoreError::Corrupt(format!("heading_path: {e}")))?,
        article: r.try_get(4)?,
        text: r.try_get(5)?,
        enabled: r.try_get::<i64, _>(6)? != 0,
        doc_title: r.try_get(7)?,
        doc_type: DocType::parse(&doc_type).unwrap_or(DocType::Other),
        doc_status: DocStatus::parse(&status).unwrap_or(DocStatus::Current),
        doc_url: r.try_get(10)?,
        doc_published_at: r.try_get(11)?,
        questions: serde_json::from_str(&r.try_get::<String, _>(12)?).unwrap_or_default(),
        doc_superseded_by: r.try_get(13)?,
        doc_edition: dwt_core::edition::edition_label(
            DocType::parse(&doc_type).unwrap_or(DocType::Other),
            r.try_get::<Option<String>, _>(14)?.as_deref(),
            r.try_get::<Option<String>, _>(15)?.as_deref(),
        ),
    })
}

impl KnowledgeStore {
    /// Opens (creating if needed) `dir/dangwutong.sqlite3` in WAL mode and runs migrations.
    pub async fn open_sqlite(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|source| StoreError::DataDir { path: dir.display().to_string(), source })?;
        let url = format!("sqlite://{}", dir.join("dangwutong.sqlite3").display());
        let opts = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(opts).await?;
        sqlx::migrate!("../../migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn ensure_source(&self, name: &str, kind: &str) -> Result<i64, StoreError> {
        sqlx::query("INSERT INTO sources (name, kind) VALUES (?, ?) ON CONFLICT(name) DO NOTHING")
            .bind(name)
            .bind(kind)
            .execute(&self.pool)
            .await?;
        Ok(sqlx::query_scalar("SELECT id FROM sources WHERE name = ?").bind(name).fetch_one(&self.pool).await?)
    }

    /// Keys of the shipped knowledge files this data directory was already offered.
    pub async fn shipped_offered(&self) -> Result<std::collections::HashSet<String>, StoreError> {
        let keys: Vec<String> = sqlx::query_scalar("SELECT doc_key FROM shipped_files").fetch_all(&self.pool).await?;
        Ok(keys.into_iter().collect())
    }

    /// Records shipped files as offered (idempotent).
    pub async fn mark_shipped_offered(&self, keys: &[String]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for k in keys {
            sqlx::query("INSERT INTO shipped_files (doc_key) VALUES (?) ON CONFLICT(doc_key) DO NOTHING").bind(k).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn source_exists(&self, name: &str) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sources WHERE name = ?").bind(name).fetch_one(&self.pool).await?;
        Ok(n > 0)
    }

    pub async fn document_by_key(&self, key: &str) -> Result<Option<DocumentRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {DOC_COLUMNS} FROM documents WHERE doc_key = ?"))
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(doc_from_row).transpose()
    }

    pub async fn document_by_id(&self, id: i64) -> Result<Option<DocumentRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {DOC_COLUMNS} FROM documents WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(doc_from_row).transpose()
    }

    pub async fn list_documents(&self) -> Result<Vec<DocumentRow>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {DOC_COLUMNS} FROM documents ORDER BY id")).fetch_all(&self.pool).await?;
        rows.iter().map(doc_from_row).collect()
    }

    /// Inserts or replaces a document and all its chunks in one transaction, and journals the
    /// document for index synchronisation. Returns the document id and the new chunk ids.
    pub async fn replace_document(
        &self,
        key: &str,
        source_id: Option<i64>,
        meta: &DocMeta,
        content_hash: &str,
        chunks: &[NewChunk],
    ) -> Result<Replaced, StoreError> {
        let mut tx = crate::begin_immediate(&self.pool).await?;
        // One upsert keeps the document id stable across re-ingests.
        let doc_id: i64 = sqlx::query_scalar(
            "INSERT INTO documents (source_id, doc_key, title, doc_type, issuer, effective_date, version, status, origin_url, category, published_at, content_hash, chunk_count)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT(doc_key) DO UPDATE SET
                source_id = COALESCE(excluded.source_id, documents.source_id), title = excluded.title,
                doc_type = excluded.doc_type, issuer = excluded.issuer, effective_date = excluded.effective_date,
                version = excluded.version,
                status = CASE WHEN excluded.status = 'current' AND documents.status = 'repealed' THEN documents.status ELSE excluded.status END,
                origin_url = excluded.origin_url,
                category = excluded.category, published_at = excluded.published_at, content_hash = excluded.content_hash, chunk_count = excluded.chunk_count,
                updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             RETURNING id",
        )
        .bind(source_id)
        .bind(key)
        .bind(&meta.title)
        .bind(meta.doc_type.as_str())
        .bind(&meta.issuer)
        .bind(&meta.effective_date)
        .bind(&meta.version)
        .bind(meta.status.as_str())
        .bind(&meta.origin_url)
        .bind(&meta.category)
        .bind(&meta.published_at)
        .bind(content_hash)
        .bind(chunks.len() as i64)
        .fetch_one(&mut *tx)
        .await?;
        // Chunks whose source text is unchanged are kept as they are (curated text, questions,
        // enabled state, id, version history); only their position follows the new document.
        // Old chunks are first moved to negative positions (positions are unique per document).
        let old_rows = sqlx::query("SELECT id, source_hash, article, heading_path, questions_json, version FROM chunks WHERE doc_id = ?")
            .bind(doc_id)
            .fetch_all(&mut *tx)
            .await?;
        struct Old {
            id: i64,
            source_hash: Option<String>,
            article: Option<String>,
            heading_path: String,
            questions: String,
            curated: bool,
        }
        let mut old = Vec::with_capacity(old_rows.len());
        for r in &old_rows {
            let questions: String = r.try_get(4)?;
            let version: i64 = r.try_get(5)?;
            old.push(Old {
                id: r.try_get(0)?,
                source_hash: r.try_get(1)?,
                article: r.try_get(2)?,
                heading_path: r.try_get(3)?,
                curated: version > 1 || questions != "[]",
                questions,
            });
        }
        sqlx::query("UPDATE chunks SET position = -(position + 1) WHERE doc_id = ?").bind(doc_id).execute(&mut *tx).await?;
        // First pass: which old chunk (same source text) each new piece keeps.
        // Old chunks by source hash (a hash may repeat: identical paragraphs), taken in order.
        let mut by_source: std::collections::HashMap<&str, std::collections::VecDeque<usize>> = std::collections::HashMap::new();
        for (i, o) in old.iter().enumerate() {
            if let Some(h) = o.source_hash.as_deref().filter(|h| !h.is_empty()) {
                by_source.entry(h).or_default().push_back(i);
            }
        }
        let mut kept: Vec<i64> = Vec::new();
        let mut keep: Vec<Option<usize>> = Vec::with_capacity(chunks.len());
        for c in chunks {
            let found = by_source.get_mut(c.content_hash.as_str()).and_then(|q| q.pop_front());
            if let Some(i) = found {
                kept.push(old[i].id);
            }
            keep.push(found);
        }
        // Questions of kept chunks stay with them; those of dropped chunks may carry over.
        let mut questions_taken: Vec<i64> = kept.clone();
        let mut ids = Vec::with_capacity(chunks.len());
        let mut curated = Vec::new();
        for (c, keep) in chunks.iter().zip(keep) {
            let heading = serde_json::to_string(&c.heading_path).unwrap_or_else(|_| "[]".into());
            if let Some(o) = keep.map(|i| &old[i]) {
                if o.curated {
                    sqlx::query("UPDATE chunks SET position = ? WHERE id = ?").bind(c.position as i64).bind(o.id).execute(&mut *tx).await?;
                } else {
                    // Same text, maybe under a renamed chapter or a renumbered article: the labels
                    // follow the new document (the draft's vectors are embedded with them).
                    sqlx::query("UPDATE chunks SET position = ?, heading_path = ?, article = ? WHERE id = ?")
                        .bind(c.position as i64)
                        .bind(&heading)
                        .bind(&c.article)
                        .bind(o.id)
                        .execute(&mut *tx)
                        .await?;
                }
                ids.push(o.id);
                if o.curated {
                    curated.push(o.id);
                }
                continue;
            }
            // A changed article keeps the questions an admin added to it (same label and headings).
            let carried = old
                .iter()
                .find(|o| o.article.is_some() && o.article == c.article && o.heading_path == heading && o.questions != "[]" && !questions_taken.contains(&o.id));
            let questions = carried.map(|o| o.questions.clone()).unwrap_or_else(|| "[]".into());
            if let Some(o) = carried {
                questions_taken.push(o.id);
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO chunks (doc_id, position, heading_path, article, text, content_hash, token_count, source_hash, questions_json)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            )
            .bind(doc_id)
            .bind(c.position as i64)
            .bind(heading)
            .bind(&c.article)
            .bind(&c.text)
            .bind(&c.content_hash)
            .bind(c.token_count as i64)
            .bind(&c.content_hash)
            .bind(&questions)
            .fetch_one(&mut *tx)
            .await?;
            if carried.is_some() {
                curated.push(id);
            }
            ids.push(id);
        }
        sqlx::query("DELETE FROM chunks WHERE doc_id = ? AND position < 0").bind(doc_id).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO index_journal (doc_id) VALUES (?)").bind(doc_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Replaced { doc_id, chunk_ids: ids, curated })
    }

    /// Deletes a document and its chunks; journals it so the indexes drop it too.
    pub async fn delete_document(&self, doc_id: i64) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query("DELETE FROM documents WHERE id = ?").bind(doc_id).execute(&mut *tx).await?.rows_affected();
        if n > 0 {
            sqlx::query("INSERT INTO index_journal (doc_id) VALUES (?)").bind(doc_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(n > 0)
    }

    /// Documents whose index entries may be out of date (after a crash), wholly or in some chunks.
    pub async fn pending_journal(&self) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar("SELECT DISTINCT doc_id FROM index_journal ORDER BY doc_id").fetch_all(&self.pool).await?)
    }

    /// What the journal asks to re-index: whole documents, and single chunks of documents that
    /// are not re-indexed whole anyway (chunk tuning touches only a few chunks).
    pub async fn pending_work(&self) -> Result<JournalWork, StoreError> {
        let documents = sqlx::query_scalar("SELECT DISTINCT doc_id FROM index_journal WHERE chunk_id IS NULL ORDER BY doc_id").fetch_all(&self.pool).await?;
        let chunks = sqlx::query_scalar(
            "SELECT DISTINCT chunk_id FROM index_journal WHERE chunk_id IS NOT NULL
               AND doc_id NOT IN (SELECT doc_id FROM index_journal WHERE chunk_id IS NULL) ORDER BY chunk_id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(JournalWork { documents, chunks })
    }

    /// Clears the journal rows of chunks whose index entries are committed.
    pub async fn clear_chunk_journal(&self, chunk_ids: &[i64]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for id in chunk_ids {
            sqlx::query("DELETE FROM index_journal WHERE chunk_id = ?").bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Clears journal rows (whole-document and chunk rows) for documents whose indexes are committed.
    pub async fn clear_journal(&self, doc_ids: &[i64]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for id in doc_ids {
            sqlx::query("DELETE FROM index_journal WHERE doc_id = ?").bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn chunks_of_document(&self, doc_id: i64) -> Result<Vec<StoredChunk>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {CHUNK_COLUMNS} FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.doc_id = ? ORDER BY c.position"
        ))
        .bind(doc_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(chunk_from_row).collect()
    }

    /// Chunks by id, in the order asked; missing ids are skipped.
    pub async fn chunks_by_ids(&self, ids: &[i64]) -> Result<Vec<StoredChunk>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders = vec!["?"; ids.len()].join(",");
        let sql = format!("SELECT {CHUNK_COLUMNS} FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.id IN ({placeholders})");
        let mut q = sqlx::query(&sql);
        for id in ids {
            q = q.bind(id);
        }
        let rows = q.fetch_all(&self.pool).await?;
        let mut by_id = std::collections::HashMap::with_capacity(rows.len());
        for r in &rows {
            let c = chunk_from_row(r)?;
            by_id.insert(c.id, c);
        }
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    /// Ids of enabled chunks of current and repealed documents (what the indexes must hold).
    /// Withdrawn documents stay in SQL (their history and crawl state) but are never answered from.
    pub async fn indexable_chunk_ids(&self) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.enabled = 1 AND d.status <> 'withdrawn' ORDER BY c.id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Sets a document's status and journals it (the indexes drop or restore its chunks).
    /// Returns false when there is no such document or it already had that status.
    pub async fn set_document_status(&self, doc_id: i64, status: DocStatus) -> Result<bool, StoreError> {
        let superseded_by = self.document_by_id(doc_id).await?.and_then(|d| d.superseded_by).filter(|_| status != DocStatus::Current);
        self.set_document_status_with_successor(doc_id, status, superseded_by).await
    }

    /// Like [`set_document_status`](Self::set_document_status), also naming the document that
    /// replaced this one (only a repealed document has a successor; it must exist, differ, and
    /// not lead back here through its own successors).
    pub async fn set_document_status_with_successor(&self, doc_id: i64, status: DocStatus, superseded_by: Option<i64>) -> Result<bool, StoreError> {
        let mut tx = crate::begin_immediate(&self.pool).await?;
        if let Some(next) = superseded_by {
            if status == DocStatus::Current {
                return Err(crate::refuse("kb.successor_needs_repealed", "只有已废止的文档才能指定新版本"));
            }
            let mut at = Some(next);
            let mut steps = 0;
            while let Some(id) = at {
                if id == doc_id {
                    return Err(crate::refuse("kb.successor_cycle", "新版本不能是本文档，或以本文档为新版本的文档"));
                }
                let row: Option<(Option<i64>, String)> =
                    sqlx::query_as("SELECT superseded_by, status FROM documents WHERE id = ?").bind(id).fetch_optional(&mut *tx).await?;
                let Some((following, state)) = row else {
                    return Err(crate::refuse("kb.successor_not_found", format!("新版本文档不存在（编号 {id}）")));
                };
                if id == next && state == DocStatus::Withdrawn.as_str() {
                    return Err(crate::refuse("kb.successor_withdrawn", "新版本文档已撤回，不能作为现行版本"));
                }
                at = following;
                steps += 1;
                if steps > 100 {
                    break;
                }
            }
        }
        let n = sqlx::query(
            "UPDATE documents SET status = ?, superseded_by = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             WHERE id = ? AND (status <> ? OR superseded_by IS NOT ?)",
        )
        .bind(status.as_str())
        .bind(superseded_by)
        .bind(doc_id)
        .bind(status.as_str())
        .bind(superseded_by)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n > 0 {
            sqlx::query("INSERT INTO index_journal (doc_id) VALUES (?)").bind(doc_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(n > 0)
    }

    /// Ids of documents in any of `categories` (the category search filter).
    pub async fn document_ids_in_categories(&self, categories: &[String]) -> Result<Vec<i64>, StoreError> {
        if categories.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders = vec!["?"; categories.len()].join(",");
        let sql = format!("SELECT id FROM documents WHERE category IN ({placeholders}) ORDER BY id");
        let mut q = sqlx::query_scalar(&sql);
        for c in categories {
            q = q.bind(c);
        }
        Ok(q.fetch_all(&self.pool).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(pos: u32, text: &str) -> NewChunk {
        NewChunk {
            position: pos,
            heading_path: vec!["第一章".into()],
            article: Some(format!("第{}条", pos + 1)),
            text: text.into(),
            content_hash: format!("h-{text}"),
            token_count: 3,
        }
    }

    #[tokio::test]
    async fn reingest_after_split_or_merge_loses_no_text_and_labels_follow_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let store = KnowledgeStore::open_sqlite(dir.path()).await.unwrap();
        let meta = DocMeta { title: "测试条例".into(), ..DocMeta::default() };
        let text = |store: &KnowledgeStore, id: i64| {
            let store = store.clone();
            async move { store.chunk_rows(id).await.unwrap().iter().map(|c| c.text.clone()).collect::<Vec<_>>().join("|") }
        };
        let r = store.replace_document("b.md", None, &meta, "h1", &[chunk(0, "甲乙丙丁。戊己庚辛。"), chunk(1, "子丑寅卯。")]).await.unwrap();
        let doc = r.doc_id;
        store.split_chunk(r.chunk_ids[0], 5, "admin").await.unwrap();
        // The source changes elsewhere: the split article comes back whole, once.
        store.replace_document("b.md", None, &meta, "h2", &[chunk(0, "甲乙丙丁。戊己庚辛。"), chunk(1, "子丑寅卯。"), chunk(2, "新增一条。")]).await.unwrap();
        assert_eq!(text(&store, doc).await, "甲乙丙丁。戊己庚辛。|子丑寅卯。|新增一条。");
        let ids: Vec<i64> = store.chunk_rows(doc).await.unwrap().iter().map(|c| c.id).collect();
        store.merge_with_next(ids[1], "admin").await.unwrap();
        store.replace_document("b.md", None, &meta, "h3", &[chunk(0, "甲乙丙丁。戊己庚辛。"), chunk(1, "子丑寅卯。"), chunk(2, "新增一条。"), chunk(3, "又一条。")]).await.unwrap();
        assert_eq!(text(&store, doc).await, "甲乙丙丁。戊己庚辛。|子丑寅卯。|新增一条。|又一条。", "merged text is not repeated");
        // A renumbered article with the same text keeps its chunk and takes the new label.
        let kept = store.chunk_rows(doc).await.unwrap()[0].id;
        let renumbered = NewChunk { heading_path: vec!["第二章".into()], article: Some("第九条".into()), ..chunk(0, "甲乙丙丁。戊己庚辛。") };
        store.replace_document("b.md", None, &meta, "h4", &[renumbered]).await.unwrap();
        let rows = store.chunk_rows(doc).await.unwrap();
        assert_eq!((rows[0].id, rows[0].article.as_deref(), rows[0].heading_path.clone()), (kept, Some("第九条"), vec!["第二章".to_string()]));
    }

    #[tokio::test]
    async fn a_successor_exists_is_not_withdrawn_and_never_loops() {
        let dir = tempfile::tempdir().unwrap();
        let store = KnowledgeStore::open_sqlite(dir.path()).await.unwrap();
        let meta = DocMeta { title: "旧版".into(), ..DocMeta::default() };
        let old = store.replace_document("old.md", None, &meta, "h1", &[chunk(0, "甲")]).await.unwrap().doc_id;
        let new = store.replace_document("new.md", None, &meta, "h2", &[chunk(0, "乙")]).await.unwrap().doc_id;
        let code = |e: StoreError| match e {
            StoreError::Refused(r) => r.code,
            other => panic!("{other:?}"),
        };
        store.set_document_status(new, DocStatus::Withdrawn).await.unwrap();
        assert_eq!(code(store.set_document_status_with_successor(old, DocStatus::Repealed, Some(new)).await.unwrap_err()), "kb.successor_withdrawn");
        store.set_document_status(new, DocStatus::Current).await.unwrap();
        assert!(store.set_document_status_with_successor(old, DocStatus::Repealed, Some(new)).await.unwrap());
        assert_eq!(code(store.set_document_status_with_successor(new, DocStatus::Repealed, Some(old)).await.unwrap_err()), "kb.successor_cycle");
        // Withdrawing keeps the successor; making it current again clears it.
        store.set_document_status(old, DocStatus::Withdrawn).await.unwrap();
        assert_eq!(store.document_by_id(old).await.unwrap().unwrap().superseded_by, Some(new));
        store.set_document_status(old, DocStatus::Current).await.unwrap();
        assert_eq!(store.document_by_id(old).await.unwrap().unwrap().superseded_by, None);
    }

    #[tokio::test]
    async fn replace_is_atomic_and_journaled() {
        let dir = tempfile::tempdir().unwrap();
        let store = KnowledgeStore::open_sqlite(dir.path()).await.unwrap();
        let meta = DocMeta { title: "测试条例".into(), ..DocMeta::default() };
        let dwt = store.replace_document("a.md", None, &meta, "h1", &[chunk(0, "甲"), chunk(1, "乙")]).await.unwrap();
        let (id, ids1) = (dwt.doc_id, dwt.chunk_ids);
        assert_eq!(ids1.len(), 2);
        assert_eq!(store.pending_journal().await.unwrap(), vec![id]);
        store.clear_journal(&[id]).await.unwrap();
        assert!(store.pending_journal().await.unwrap().is_empty());

        let dwt = store.replace_document("a.md", None, &meta, "h2", &[chunk(0, "丙")]).await.unwrap();
        let (id2, ids2) = (dwt.doc_id, dwt.chunk_ids);
        assert_eq!(id, id2, "same key keeps the document id");
        assert!(ids2[0] > ids1[1], "chunk ids are never reused");
        let chunks = store.chunks_of_document(id).await.unwrap();
        assert_eq!(chunks.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(), ["丙"]);
        assert_eq!(chunks[0].doc_title, "测试条例");
        let doc = store.document_by_key("a.md").await.unwrap().unwrap();
        assert_eq!((doc.content_hash.as_str(), doc.chunk_count), ("h2", 1));

        // Re-ingesting a changed document keeps the chunks whose source text did not change, with
        // their curation; a changed article keeps the questions added to it.
        let kept = ids2[0];
        let edit = crate::ChunkEdit { text: Some("丙（管理员修订）".into()), questions: Some(vec!["丙是什么".into()]), ..Default::default() };
        store.edit_chunk(kept, Some(1), &edit, "admin").await.unwrap();
        let r = store.replace_document("a.md", None, &meta, "h3", &[chunk(0, "新增的第一段"), NewChunk { position: 1, ..chunk(0, "丙") }]).await.unwrap();
        assert_eq!(r.chunk_ids[1], kept, "the unchanged piece keeps its chunk");
        assert_eq!(r.curated, vec![kept]);
        let rows = store.chunk_rows(id).await.unwrap();
        assert_eq!((rows[1].id, rows[1].text.as_str(), rows[1].version, rows[1].position), (kept, "丙（管理员修订）", 2, 1));
        assert_eq!(rows[1].questions, vec!["丙是什么".to_string()]);
        assert_eq!(rows[0].text, "新增的第一段");
        let r = store.replace_document("a.md", None, &meta, "h4", &[chunk(0, "第一条改了")]).await.unwrap();
        let rows = store.chunk_rows(id).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_ne!(rows[0].id, kept);
        assert_eq!(rows[0].questions, vec!["丙是什么".to_string()], "a changed 第一条 keeps the questions of the old 第一条");
        assert_eq!(r.curated, vec![rows[0].id]);

        assert!(store.delete_document(id).await.unwrap());
        assert!(store.chunks_of_document(id).await.unwrap().is_empty());
        assert_eq!(store.pending_journal().await.unwrap(), vec![id]);
    }
}
