//! The knowledge base: SQL (truth) + vectors + lexical index kept in agreement through the
//! index journal, and hybrid search over them.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use dwt_core::{ParsedDocument, Settings};
use dwt_store::{KnowledgeStore, NewChunk};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::chunker::{embedding_text, point_id, unit_texts, Chunker};
use crate::embed::Embedder;
use crate::error::IndexError;
use crate::fusion::rrf;
use crate::lexical::{Boosts, LexicalIndex};
use crate::query::QueryAnalyzer;
use crate::rerank::{sentence_features, RankFeatures};
use crate::tokenizer::Segmenter;
use crate::vector::{best_per_chunk, EdgeVectorStore, ServerVectorStore, VectorPoint, VectorStore};
use crate::{Hit, RetrievalMode, SearchOptions, SearchStage};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum IngestOutcome {
    Added { chunks: usize },
    Updated { chunks: usize },
    Unchanged,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ConsistencyReport {
    pub sql_chunks: usize,
    pub lexical_chunks: usize,
    pub vector_chunks: usize,
    pub missing_in_lexical: usize,
    pub missing_in_vectors: usize,
    pub extra_in_lexical: usize,
    pub extra_in_vectors: usize,
    pub pending_journal: usize,
}

impl ConsistencyReport {
    pub fn consistent(&self) -> bool {
        self.missing_in_lexical == 0
            && self.missing_in_vectors == 0
            && self.extra_in_lexical == 0
            && self.extra_in_vectors == 0
            && self.pending_journal == 0
    }
}

pub struct KnowledgeBase {
    pub store: KnowledgeStore,
    lexical: Arc<LexicalIndex>,
    vectors: Arc<dyn VectorStore>,
    embedder: Arc<Embedder>,
    segmenter: Segmenter,
    analyzer: QueryAnalyzer,
    settings: Settings,
    write_lock: tokio::sync::Mutex<()>,
    /// Texts embedded for the indexes since open (model runs, not queries): shows that chunk
    /// tuning re-embeds only what it touched.
    embedded_passages: std::sync::atomic::AtomicU64,
}

/// Test-only crash points (`DWT_FAILPOINT=after_sql|after_vectors`): abort the process between
/// stores so crash recovery can be tested against the real binary.
fn failpoint(name: &str) {
    if std::env::var("DWT_FAILPOINT").is_ok_and(|v| v == name) {
        tracing::error!(failpoint = name, "failpoint hit: aborting");
        std::process::abort();
    }
}

/// Questions per chunk indexed as units, and units per chunk in all (a point id keeps 8 bits
/// for the unit number).
const MAX_QUESTION_UNITS: usize = 50;
const MAX_UNITS: usize = 255;

/// (document title, heading path, article label, unit texts) of one chunk.
type UnitSource = (String, Vec<String>, Option<String>, Vec<String>);

fn random_unit_vectors(n: usize, dim: usize) -> Vec<Vec<f32>> {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..n)
        .map(|_| {
            let v: Vec<f32> = (0..dim).map(|_| rng.random_range(-1.0f32..1.0)).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
            v.into_iter().map(|x| x / norm).collect()
        })
        .collect()
}

/// Content words of the question (original terms, not expansions), longest first.
fn query_words(q: &crate::query::AnalyzedQuery) -> Vec<String> {
    let mut words: Vec<String> = q.terms.iter().filter(|(_, w)| *w >= 1.0).map(|(t, _)| t.clone()).collect();
    words.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
    words.dedup();
    words
}

/// IDF-weighted share of the question's words that occur in the chunk (text or headings).
fn coverage(words: &[String], idf: &[f32], c: &dwt_core::StoredChunk) -> f32 {
    let total: f32 = idf.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let haystack = format!("{} {}", c.heading_path.join(" "), c.text).to_lowercase();
    let found: f32 = words.iter().zip(idf).filter(|(w, _)| haystack.contains(w.as_str())).map(|(_, i)| *i).sum();
    found / total
}

/// How to re-chunk a document.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub struct RechunkOptions {
    /// Token target of free-text chunks (articles stay whole unless longer than the window).
    pub text_tokens: usize,
    /// Ignore article structure: cut everything as free text (for notices mis-read as 条).
    #[serde(default)]
    pub plain: bool,
}

/// A re-chunk preview.
#[derive(Debug, Clone, Serialize)]
pub struct RechunkPlan {
    /// Apply only while the document's chunks are still in this state.
    pub basis: String,
    /// Chunks now (enabled and disabled).
    pub before: usize,
    /// Disabled chunks are not part of the rebuilt text.
    pub disabled_dropped: usize,
    /// Enabled chunks whose added questions/keywords do not carry over to the new chunks.
    pub questions_dropped: usize,
    pub drafts: Vec<dwt_core::ChunkDraft>,
}

/// What a re-index replaces: whole documents, or single chunks.
#[derive(Clone, Copy)]
enum Scope<'a> {
    Documents(&'a [i64]),
    Chunks(&'a [i64]),
}

fn new_chunk(d: &dwt_core::ChunkDraft) -> NewChunk {
    NewChunk {
        position: d.position,
        heading_path: d.heading_path.clone(),
        article: d.article.clone(),
        text: d.text.clone(),
        content_hash: hash_text(&d.text),
        token_count: d.token_count,
    }
}

fn hash_text(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

impl KnowledgeBase {
    /// Opens every store under `settings.storage.data_dir`, loads the model, and replays the
    /// index journal left by an interrupted write.
    pub async fn open(settings: &Settings) -> Result<Self, IndexError> {
        let data = settings.storage.data_dir.clone();
        let store = KnowledgeStore::open_sqlite(&data).await?;
        let dict_dir = settings.knowledge.dir.join("dict");
        let dict = dict_dir.is_dir().then_some(dict_dir.as_path());
        let segmenter = Segmenter::new(dict);
        let analyzer = QueryAnalyzer::load(dict);
        let embed_settings = settings.embedding.clone();
        let cache = data.join("models");
        let embedder = tokio::task::spawn_blocking(move || Embedder::load(&embed_settings, &cache))
            .await
            .map_err(|e| IndexError::Embedding(e.to_string()))??;
        let lexical = LexicalIndex::open(&data.join("lexical"), segmenter.clone())?;
        let vectors: Arc<dyn VectorStore> = match settings.vector.backend {
            dwt_core::config::VectorBackend::Edge => Arc::new(EdgeVectorStore::open(&data.join("vectors"), embedder.dimension())?),
            dwt_core::config::VectorBackend::Server => {
                let url = settings.vector.url.clone().unwrap_or_default();
                Arc::new(
                    ServerVectorStore::connect(&url, settings.vector.api_key.as_deref(), &settings.vector.collection, embedder.dimension())
                        .await?,
                )
            }
        };
        let kb = Self {
            store,
            lexical: Arc::new(lexical),
            vectors,
            embedder: Arc::new(embedder),
            segmenter,
            analyzer,
            settings: settings.clone(),
            write_lock: tokio::sync::Mutex::new(()),
            embedded_passages: std::sync::atomic::AtomicU64::new(0),
        };
        let recovered = kb.recover().await?;
        if recovered > 0 {
            tracing::warn!(items = recovered, "recovered interrupted index writes");
        }
        Ok(kb)
    }

    pub fn embedder(&self) -> &Embedder {
        &self.embedder
    }

    /// Shared handle for blocking-pool embedding outside the knowledge base (classification).
    pub fn embedder_handle(&self) -> Arc<Embedder> {
        self.embedder.clone()
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The SQL store (documents, chunks) behind the indexes, for read-only listings.
    pub fn store(&self) -> &KnowledgeStore {
        &self.store
    }

    /// The question's content words with their IDF in the lexical index (0 for unknown words),
    /// longest first: what answer selection and refusal weigh sentences by.
    pub fn weighted_terms(&self, question: &str) -> Vec<(String, f32)> {
        let analyzed = self.analyzer.analyze(question, &self.segmenter);
        let words = query_words(&analyzed);
        let idf = self.lexical.idf(&words);
        words.into_iter().zip(idf).collect()
    }

    /// Re-synchronises documents and chunks journaled by a write that did not finish. Returns
    /// how many documents and chunks it re-indexed.
    pub async fn recover(&self) -> Result<usize, IndexError> {
        let _guard = self.write_lock.lock().await;
        self.sync_pending().await
    }

    async fn sync_pending(&self) -> Result<usize, IndexError> {
        let work = self.store.pending_work().await?;
        if !work.documents.is_empty() {
            self.sync_documents(&work.documents, HashMap::new()).await?;
        }
        if !work.chunks.is_empty() {
            self.sync_chunks(&work.chunks).await?;
        }
        Ok(work.documents.len() + work.chunks.len())
    }

    /// Passages embedded for the indexes since this knowledge base was opened.
    pub fn embedded_passages(&self) -> u64 {
        self.embedded_passages.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Retrieval unit texts of a chunk (whole chunk, then sentence probes).
    fn units_of(&self, text: &str) -> Vec<String> {
        unit_texts(text, self.settings.ingest.sentence_probes, self.settings.ingest.max_probes, self.settings.ingest.probe_min_chars)
    }

    /// Which units of a chunk get a dense vector: all of them, or only the sentence probes when
    /// a chunk has some (the probes cover the same tokens again; the whole-chunk vector is then
    /// optional — embedding cost is per token).
    fn dense_units(&self, n_units: usize) -> std::ops::Range<usize> {
        if n_units > 1 && !self.settings.ingest.whole_chunk_vector {
            1..n_units
        } else {
            0..n_units
        }
    }

    /// Embeds the dense units of many chunks in one length-sorted run; per chunk, returns
    /// (unit number, vector) pairs.
    async fn embed_units(&self, items: Vec<UnitSource>, random: bool) -> Result<Vec<Vec<(usize, Vec<f32>)>>, IndexError> {
        let mut texts = Vec::new();
        let mut plan = Vec::with_capacity(items.len());
        for (title, heading, article, units) in &items {
            let range = self.dense_units(units.len());
            for (k, u) in units.iter().enumerate().skip(range.start).take(range.len()) {
                let text = match (k, self.settings.ingest.probe_context) {
                    (0, _) | (_, dwt_core::config::ProbeContext::Full) => embedding_text(title, heading, article.as_deref(), u),
                    (_, dwt_core::config::ProbeContext::Title) => embedding_text(title, &[], article.as_deref(), u),
                    (_, dwt_core::config::ProbeContext::None) => u.clone(),
                };
                texts.push(text);
            }
            plan.push(range);
        }
        let flat = if random {
            random_unit_vectors(texts.len(), self.embedder.dimension())
        } else {
            self.embedded_passages.fetch_add(texts.len() as u64, std::sync::atomic::Ordering::Relaxed);
            let embedder = self.embedder.clone();
            tokio::task::spawn_blocking(move || embedder.embed_passages(&texts))
                .await
                .map_err(|e| IndexError::Embedding(e.to_string()))??
        };
        let mut it = flat.into_iter();
        Ok(plan.into_iter().map(|range| range.zip(it.by_ref()).collect()).collect())
    }

    /// Makes the vector and lexical entries of `doc_ids` equal to SQL, then clears their journal
    /// rows. Idempotent: safe to repeat after a crash at any point. `vectors_by_chunk` holds
    /// already computed unit vectors; the rest are embedded here.
    async fn sync_documents(&self, doc_ids: &[i64], vectors_by_chunk: HashMap<i64, Vec<(usize, Vec<f32>)>>) -> Result<(), IndexError> {
        let mut chunks = Vec::new();
        for id in doc_ids {
            chunks.extend(self.store.chunks_of_document(*id).await?);
        }
        self.write_indexes(Scope::Documents(doc_ids), chunks, vectors_by_chunk).await?;
        self.store.clear_journal(doc_ids).await?;
        Ok(())
    }

    /// Like [`sync_documents`](Self::sync_documents) for single chunks (chunk tuning): only these
    /// chunks are re-embedded and replaced in both indexes; chunks gone from SQL leave them.
    async fn sync_chunks(&self, chunk_ids: &[i64]) -> Result<(), IndexError> {
        let chunks = self.store.chunks_by_ids(chunk_ids).await?;
        self.write_indexes(Scope::Chunks(chunk_ids), chunks, HashMap::new()).await?;
        self.store.clear_chunk_journal(chunk_ids).await?;
        Ok(())
    }

    /// Replaces the index entries of `scope` with those of `chunks` (the scope's SQL state).
    async fn write_indexes(
        &self,
        scope: Scope<'_>,
        chunks: Vec<dwt_core::StoredChunk>,
        mut vectors_by_chunk: HashMap<i64, Vec<(usize, Vec<f32>)>>,
    ) -> Result<(), IndexError> {
        // Withdrawn documents (e.g. a crawled page that is gone) and disabled chunks keep their
        // SQL rows but leave both indexes, so nothing is answered from them.
        let chunks: Vec<dwt_core::StoredChunk> =
            chunks.into_iter().filter(|c| c.enabled && c.doc_status != dwt_core::DocStatus::Withdrawn).collect();
        // The chunk's own units, then the questions an admin added: they count in BM25 and in
        // dense retrieval like sentence probes.
        let units: Vec<Vec<String>> = chunks
            .iter()
            .map(|c| {
                let mut u = self.units_of(&c.text);
                let room = MAX_UNITS.saturating_sub(u.len());
                u.extend(c.questions.iter().take(MAX_QUESTION_UNITS.min(room)).cloned());
                u
            })
            .collect();
        let missing: Vec<usize> = (0..chunks.len())
            .filter(|&i| vectors_by_chunk.get(&chunks[i].id).is_none_or(|v| v.len() != self.dense_units(units[i].len()).len()))
            .collect();
        if !missing.is_empty() {
            let items = missing
                .iter()
                .map(|&i| (chunks[i].doc_title.clone(), chunks[i].heading_path.clone(), chunks[i].article.clone(), units[i].clone()))
                .collect();
            let vecs = self.embed_units(items, false).await?;
            for (&i, v) in missing.iter().zip(vecs) {
                vectors_by_chunk.insert(chunks[i].id, v);
            }
        }
        let mut points = Vec::new();
        for c in &chunks {
            for (k, vector) in vectors_by_chunk.remove(&c.id).unwrap_or_default() {
                points.push(VectorPoint {
                    point_id: point_id(c.id, k),
                    chunk_id: c.id,
                    doc_id: c.doc_id,
                    doc_type: c.doc_type.as_str().to_string(),
                    status: c.doc_status.as_str().to_string(),
                    org_scope: "public".into(),
                    vector,
                });
            }
        }

        match scope {
            Scope::Documents(ids) => self.vectors.delete_documents(ids).await?,
            Scope::Chunks(ids) => self.vectors.delete_chunks(ids).await?,
        }
        for batch in points.chunks(512) {
            self.vectors.upsert(batch.to_vec()).await?;
        }
        self.vectors.flush().await?;
        failpoint("after_vectors");

        let lexical = self.lexical.clone();
        let (docs, only_chunks) = match scope {
            Scope::Documents(ids) => (ids.to_vec(), Vec::new()),
            Scope::Chunks(ids) => (Vec::new(), ids.to_vec()),
        };
        tokio::task::spawn_blocking(move || {
            lexical.delete_documents(&docs)?;
            lexical.delete_chunks(&only_chunks)?;
            lexical.add_chunks(&chunks, &units)?;
            lexical.commit()
        })
        .await
        .map_err(|e| IndexError::Lexical(e.to_string()))??;
        Ok(())
    }

    /// Ingests a batch of parsed documents: unchanged ones (same key and content hash) are
    /// skipped; changed ones replace their chunks atomically in SQL, then in both indexes.
    pub async fn ingest_batch(&self, docs: Vec<ParsedDocument>, source_id: Option<i64>) -> Result<Vec<IngestOutcome>, IndexError> {
        self.ingest_inner(docs, source_id, false).await
    }

    /// Benchmarks only: like [`ingest_batch`](Self::ingest_batch) but every chunk gets a random
    /// unit vector instead of a model embedding (BM25 still indexes the real text). Used to
    /// build 100k-chunk indexes without hours of embedding; the bench output says so.
    pub async fn ingest_batch_with_random_vectors(&self, docs: Vec<ParsedDocument>, source_id: Option<i64>) -> Result<Vec<IngestOutcome>, IndexError> {
        self.ingest_inner(docs, source_id, true).await
    }

    async fn ingest_inner(&self, docs: Vec<ParsedDocument>, source_id: Option<i64>, random_vectors: bool) -> Result<Vec<IngestOutcome>, IndexError> {
        let _guard = self.write_lock.lock().await;
        let mut outcomes = vec![IngestOutcome::Unchanged; docs.len()];
        let mut work = Vec::new();
        let chunker = Chunker::new(self.embedder.tokenizer(), self.embedder.max_tokens(), self.settings.ingest.text_chunk_tokens);
        for (i, doc) in docs.into_iter().enumerate() {
            let existing = self.store.document_by_key(&doc.key).await?;
            if existing.as_ref().is_some_and(|e| e.content_hash == doc.content_hash) {
                continue;
            }
            let drafts = chunker.chunk(&doc);
            work.push((i, existing.is_some(), doc, drafts));
        }
        if work.is_empty() {
            return Ok(outcomes);
        }

        // Embed the whole batch at once (length-sorted inside) before touching any store.
        let items = work
            .iter()
            .flat_map(|(_, _, doc, drafts)| {
                drafts.iter().map(|d| (doc.meta.title.clone(), d.heading_path.clone(), d.article.clone(), self.units_of(&d.text)))
            })
            .collect();
        let mut vectors = self.embed_units(items, random_vectors).await?.into_iter();

        let mut by_chunk = HashMap::new();
        let mut doc_ids = Vec::new();
        for (i, existed, doc, drafts) in work {
            let chunks: Vec<NewChunk> = drafts.iter().map(new_chunk).collect();
            let dwt_store::Replaced { doc_id, chunk_ids, curated } =
                self.store.replace_document(&doc.key, source_id, &doc.meta, &doc.content_hash, &chunks).await?;
            for id in chunk_ids {
                // Curated chunks kept from before are embedded from their stored text instead.
                if let Some(v) = vectors.next().filter(|_| !curated.contains(&id)) {
                    by_chunk.insert(id, v);
                }
            }
            doc_ids.push(doc_id);
            outcomes[i] = if existed { IngestOutcome::Updated { chunks: chunks.len() } } else { IngestOutcome::Added { chunks: chunks.len() } };
        }
        failpoint("after_sql");
        self.sync_documents(&doc_ids, by_chunk).await?;
        Ok(outcomes)
    }

    /// Deletes a document everywhere. Returns false when it did not exist.
    pub async fn remove_document(&self, doc_id: i64) -> Result<bool, IndexError> {
        let _guard = self.write_lock.lock().await;
        if !self.store.delete_document(doc_id).await? {
            return Ok(false);
        }
        self.sync_documents(&[doc_id], HashMap::new()).await?;
        Ok(true)
    }

    /// Changes a document's status everywhere (withdrawn documents leave the indexes; a
    /// document brought back is indexed again). Returns false when nothing changed.
    pub async fn set_document_status(&self, doc_id: i64, status: dwt_core::DocStatus) -> Result<bool, IndexError> {
        let _guard = self.write_lock.lock().await;
        if !self.store.set_document_status(doc_id, status).await? {
            return Ok(false);
        }
        self.sync_documents(&[doc_id], HashMap::new()).await?;
        Ok(true)
    }

    /// Marks a document repealed and replaced by `superseded_by` (or sets any status with no
    /// successor), everywhere. Returns false when nothing changed.
    pub async fn set_document_successor(&self, doc_id: i64, status: dwt_core::DocStatus, superseded_by: Option<i64>) -> Result<bool, IndexError> {
        let _guard = self.write_lock.lock().await;
        if !self.store.set_document_status_with_successor(doc_id, status, superseded_by).await? {
            return Ok(false);
        }
        self.sync_documents(&[doc_id], HashMap::new()).await?;
        Ok(true)
    }

    /// What re-chunking a document would produce (nothing is changed): the document rebuilt
    /// from its enabled chunks (pieces of one article joined again), cut with `opts`. Returns
    /// the basis to apply it with, the drafts, and how many chunks lose admin-added questions.
    pub async fn rechunk_preview(&self, doc_id: i64, opts: &RechunkOptions) -> Result<RechunkPlan, IndexError> {
        let doc = self.store.document_by_id(doc_id).await?.ok_or_else(|| {
            IndexError::Store(dwt_store::StoreError::Refused(dwt_store::Refusal { code: "kb.document_not_found", message: "文档不存在".into() }))
        })?;
        let rows = self.store.chunk_rows(doc_id).await?;
        // The chunks' state and the options, so applying checks both.
        let basis = format!("{}-{}-{}", dwt_store::chunk_basis_of(&rows), opts.text_tokens, u8::from(opts.plain));
        let mut blocks: Vec<dwt_core::Block> = Vec::new();
        for c in rows.iter().filter(|c| c.enabled) {
            let kind = match (&c.article, opts.plain) {
                (Some(_), false) => dwt_core::BlockKind::Article,
                _ => dwt_core::BlockKind::Text,
            };
            let article = if opts.plain { None } else { c.article.clone() };
            // Consecutive pieces of the same article (or of the same section's free text) are one
            // block again; the chunker cuts it anew.
            match blocks.last_mut() {
                Some(b) if b.heading_path == c.heading_path && b.article == article && b.kind == kind => {
                    b.text.push('\n');
                    b.text.push_str(&c.text);
                }
                _ => blocks.push(dwt_core::Block { heading_path: c.heading_path.clone(), article, text: c.text.clone(), kind }),
            }
        }
        let meta = dwt_core::DocMeta { title: doc.title.clone(), ..dwt_core::DocMeta::default() };
        let parsed = ParsedDocument { key: doc.key.clone(), meta, blocks, content_hash: String::new() };
        let text_tokens = opts.text_tokens.clamp(32, self.embedder.max_tokens());
        let drafts = Chunker::new(self.embedder.tokenizer(), self.embedder.max_tokens(), text_tokens).chunk(&parsed);
        Ok(RechunkPlan {
            basis,
            before: rows.len(),
            disabled_dropped: rows.iter().filter(|c| !c.enabled).count(),
            questions_dropped: rows.iter().filter(|c| c.enabled && !c.questions.is_empty()).count(),
            drafts,
        })
    }

    /// Applies a re-chunk previewed with the same `opts` and `basis`: the document's chunks are
    /// replaced in one SQL transaction and the document is re-indexed (journaled: a crash in
    /// between is repaired at the next open).
    pub async fn rechunk_apply(&self, doc_id: i64, opts: &RechunkOptions, basis: &str, editor: &str) -> Result<RechunkPlan, IndexError> {
        let _guard = self.write_lock.lock().await;
        let plan = self.rechunk_preview(doc_id, opts).await?;
        if plan.basis != basis {
            return Err(IndexError::Store(dwt_store::StoreError::Refused(dwt_store::Refusal {
                code: "kb.rechunk_stale",
                message: "预览之后该文档的切片或切分设置已改变，请重新预览".into(),
            })));
        }
        let chunks: Vec<NewChunk> = plan.drafts.iter().map(new_chunk).collect();
        let rows_basis = basis.split('-').next().unwrap_or_default();
        self.store.replace_chunks(doc_id, rows_basis, &chunks, editor).await?;
        failpoint("after_chunk_sql");
        self.sync_pending().await?;
        Ok(plan)
    }

    /// Chunk tuning: the SQL change (one transaction, journaled per touched chunk with its
    /// version) and then the re-index of just those chunks, under the write lock. A crash in
    /// between is repaired on the next open from the journal. A change that changed nothing
    /// wrote no journal row: nothing is re-indexed.
    async fn tune<T>(&self, change: impl std::future::Future<Output = Result<T, dwt_store::StoreError>>) -> Result<T, IndexError> {
        let _guard = self.write_lock.lock().await;
        let out = change.await?;
        failpoint("after_chunk_sql");
        self.sync_pending().await?;
        Ok(out)
    }

    fn check_length(&self, text: &str) -> Result<(), IndexError> {
        let n = self.embedder.count_tokens(text);
        let max = self.embedder.max_tokens();
        if n > max {
            return Err(IndexError::Store(dwt_store::StoreError::Refused(dwt_store::Refusal {
                code: "kb.chunk_too_long",
                message: format!("切片过长（约 {n} 个词元，上限 {max}），请先拆分"),
            })));
        }
        Ok(())
    }

    pub async fn edit_chunk(&self, id: i64, expected_version: Option<i64>, edit: &dwt_store::ChunkEdit, editor: &str) -> Result<dwt_store::ChunkRow, IndexError> {
        if let Some(t) = &edit.text {
            self.check_length(t)?;
        }
        self.tune(self.store.edit_chunk(id, expected_version, edit, editor)).await
    }

    pub async fn set_chunk_enabled(&self, id: i64, enabled: bool, editor: &str) -> Result<dwt_store::ChunkRow, IndexError> {
        self.tune(self.store.set_chunk_enabled(id, enabled, editor)).await
    }

    pub async fn split_chunk(&self, id: i64, at: usize, editor: &str) -> Result<(dwt_store::ChunkRow, dwt_store::ChunkRow), IndexError> {
        self.tune(self.store.split_chunk(id, at, editor)).await
    }

    pub async fn merge_with_next(&self, id: i64, editor: &str) -> Result<dwt_store::ChunkRow, IndexError> {
        if let Some(a) = self.store.chunk(id).await? {
            if let Some(n) = self.store.chunk_rows(a.doc_id).await?.into_iter().find(|c| c.position > a.position) {
                self.check_length(&format!("{}\n{}", a.text, n.text))?;
            }
        }
        self.tune(self.store.merge_with_next(id, editor)).await
    }

    pub async fn rollback_chunk(&self, id: i64, version: i64, editor: &str) -> Result<dwt_store::ChunkRow, IndexError> {
        self.tune(self.store.rollback_chunk(id, version, editor)).await
    }

    /// Builds vector search structures after bulk ingest.
    pub async fn optimize(&self) -> Result<(), IndexError> {
        self.vectors.optimize().await
    }

    pub async fn consistency(&self) -> Result<ConsistencyReport, IndexError> {
        let sql: HashSet<i64> = self.store.indexable_chunk_ids().await?.into_iter().collect();
        let lexical = self.lexical.chunk_ids()?;
        let vectors = self.vectors.chunk_ids().await?;
        Ok(ConsistencyReport {
            sql_chunks: sql.len(),
            lexical_chunks: lexical.len(),
            vector_chunks: vectors.len(),
            missing_in_lexical: sql.difference(&lexical).count(),
            missing_in_vectors: sql.difference(&vectors).count(),
            extra_in_lexical: lexical.difference(&sql).count(),
            extra_in_vectors: vectors.difference(&sql).count(),
            pending_journal: self.store.pending_journal().await?.len(),
        })
    }

    /// Hybrid search: BM25 and dense retrieval run concurrently, fused by weighted RRF.
    pub async fn search(&self, question: &str, opts: &SearchOptions) -> Result<Vec<Hit>, IndexError> {
        let s = &self.settings.search;
        let analyzed = self.analyzer.analyze(question, &self.segmenter);
        if analyzed.text.trim().is_empty() {
            return Err(IndexError::EmptyQuery);
        }
        let (w_bm25, w_dense) = match opts.mode {
            RetrievalMode::Hybrid => (s.bm25_weight, s.dense_weight),
            RetrievalMode::Bm25 => (1.0, 0.0),
            RetrievalMode::Dense => (0.0, 1.0),
        };
        let top_k = opts.top_k.unwrap_or(s.top_k).max(1);
        // Categories live on documents in SQL; both retrievers already filter by document id.
        let mut opts = std::borrow::Cow::Borrowed(opts);
        if !opts.filter.categories.is_empty() {
            let in_categories = self.store.document_ids_in_categories(&opts.filter.categories).await?;
            let ids: Vec<i64> = if opts.filter.doc_ids.is_empty() {
                in_categories
            } else {
                in_categories.into_iter().filter(|id| opts.filter.doc_ids.contains(id)).collect()
            };
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            opts.to_mut().filter.doc_ids = ids;
        }
        let candidates = s.candidates.max(top_k);
        let boosts = Boosts { title: s.title_boost, heading: s.heading_boost, article: s.article_boost };

        let lexical = self.lexical.clone();
        let q = analyzed.clone();
        let filter = opts.filter.clone();
        let bm25_task = async move {
            if w_bm25 <= 0.0 {
                return Ok(Vec::new());
            }
            tokio::task::spawn_blocking(move || lexical.search(&q, candidates, boosts, &filter))
                .await
                .map_err(|e| IndexError::Lexical(e.to_string()))?
        };
        let embedder = self.embedder.clone();
        let text = analyzed.text.clone();
        let vectors = self.vectors.clone();
        let filter = opts.filter.clone();
        let dense_task = async move {
            if w_dense <= 0.0 {
                return Ok(Vec::new());
            }
            let v = tokio::task::spawn_blocking(move || embedder.embed_query(&text))
                .await
                .map_err(|e| IndexError::Embedding(e.to_string()))??;
            // Units of one chunk compete for places; over-fetch, then keep each chunk's best.
            let points = vectors.search(v, candidates * 4, &filter).await?;
            Ok::<_, IndexError>(best_per_chunk(points, candidates))
        };
        let (bm25, dense) = tokio::join!(bm25_task, dense_task);
        let (bm25, dense) = (bm25?, dense?);

        let fused = match s.fusion {
            dwt_core::config::Fusion::Rrf => rrf(&bm25, &dense, s.rrf_k, w_bm25, w_dense),
            dwt_core::config::Fusion::Convex => crate::fusion::convex(&bm25, &dense, w_bm25, w_dense),
        };
        // Rerank the head of the fused list by how much of the question's content the chunk
        // covers (IDF-weighted), when configured: cheap, and sharp on short regulation texts.
        // The head is re-scored (coverage, document priority and status) before it is cut to
        // top_k, so a repealed or low-priority document cannot hold a top place by position alone.
        let rerank_n = if opts.stage == SearchStage::Fused { top_k } else { s.rerank_depth.max(top_k) };
        // Chunks of an edition replaced by a newer edition (same title) are dropped before the
        // head is cut, so their twins in the current edition do not lose places to them. A
        // document replaced by another one is only penalised: it is quoted, with a notice,
        // when nothing current says the same.
        let hide_superseded = s.hide_superseded && opts.filter.doc_ids.is_empty();
        let look = if hide_superseded { rerank_n * 2 + 10 } else { rerank_n };
        let head: Vec<_> = fused.into_iter().take(look).collect();
        let ids: Vec<i64> = head.iter().map(|f| f.chunk_id).collect();
        let chunks = self.store.chunks_by_ids(&ids).await?;
        let by_id: HashMap<i64, _> = chunks
            .into_iter()
            .filter(|c| !(hide_superseded && c.doc_status == dwt_core::DocStatus::Repealed && c.doc_superseded_by.as_deref() == Some(c.doc_title.as_str())))
            .map(|c| (c.id, c))
            .collect();
        let head: Vec<_> = head.into_iter().filter(|f| by_id.contains_key(&f.chunk_id)).take(rerank_n).collect();
        let words = query_words(&analyzed);
        let idf = self.lexical.idf(&words);
        let qtype = crate::qtype::question_type(question);
        let max = head.iter().map(|f| f.score).fold(f32::MIN, f32::max);
        let min = head.iter().map(|f| f.score).fold(f32::MAX, f32::min);
        let span = (max - min).max(1e-9);
        let bm25_max = head.iter().filter_map(|f| f.bm25.map(|b| b.1)).fold(0.0f32, f32::max).max(1e-9);
        let mut scored: Vec<(f32, f32, crate::fusion::Fused, RankFeatures)> = head
            .into_iter()
            .filter_map(|f| {
                let c = by_id.get(&f.chunk_id)?;
                let cov = coverage(&words, &idf, c);
                let base = (f.score - min) / span;
                let (sentence_coverage, typed) = sentence_features(&words, &idf, qtype, &c.text);
                let features = RankFeatures {
                    // A configured coverage share keeps its old meaning: mixed into the base.
                    fused: (1.0 - s.coverage_weight) * base + s.coverage_weight * cov,
                    dense: f.dense.map(|d| d.1).unwrap_or(0.0),
                    bm25: f.bm25.map(|b| b.1 / bm25_max).unwrap_or(0.0),
                    coverage: cov,
                    sentence_coverage,
                    type_match: if typed { 1.0 } else { 0.0 },
                    // Priority and status shift a hit by a share of the head's score spread,
                    // so they break near-ties (党章 over a law saying the same) without
                    // overriding a clearly better match.
                    priority: priority_adjustment(s, c.doc_type, c.doc_status),
                };
                Some((features.score(&s.rerank), cov, f, features))
            })
            .collect();
        if opts.stage == SearchStage::Final {
            scored.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal).then_with(|| a.2.chunk_id.cmp(&b.2.chunk_id)));
        }
        let mut hits = Vec::with_capacity(top_k);
        for (score, cov, f, features) in scored.into_iter().take(top_k) {
            // A chunk deleted between retrieval and lookup was filtered out above.
            let Some(c) = by_id.get(&f.chunk_id) else { continue };
            hits.push(Hit {
                chunk_id: c.id,
                doc_id: c.doc_id,
                doc_title: c.doc_title.clone(),
                doc_type: c.doc_type,
                doc_status: c.doc_status,
                doc_url: c.doc_url.clone(),
                doc_published_at: c.doc_published_at.clone(),
                doc_superseded_by: c.doc_superseded_by.clone(),
                doc_edition: c.doc_edition.clone(),
                article: c.article.clone(),
                heading_path: c.heading_path.clone(),
                text: c.text.clone(),
                snippet: self.lexical.snippet(&analyzed, &c.text, 160),
                score,
                coverage: cov,
                bm25_rank: f.bm25.map(|x| x.0),
                bm25_score: f.bm25.map(|x| x.1),
                dense_rank: f.dense.map(|x| x.0),
                dense_score: f.dense.map(|x| x.1),
                features,
            });
        }
        Ok(hits)
    }

}

/// Score shift for a document's type and status (see `SearchSettings::doc_type_priority`).
pub fn priority_adjustment(s: &dwt_core::config::SearchSettings, doc_type: dwt_core::DocType, status: dwt_core::DocStatus) -> f32 {
    let priority = s.doc_type_priority.get(doc_type.as_str()).copied().unwrap_or(0.0);
    let penalty = match status {
        dwt_core::DocStatus::Current => 0.0,
        dwt_core::DocStatus::Repealed => s.repealed_penalty,
        dwt_core::DocStatus::Withdrawn => s.withdrawn_penalty,
    };
    priority - penalty
}
