//! File ingest orchestration: collect → parse → batch → knowledge base, with progress and a
//! per-file error report (one bad file never stops the rest).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context;
use dwt_index::{IngestOutcome, KnowledgeBase};
use dwt_ingest::{collect_files, load_file, LoadOptions};
use dwt_store::DocumentRow;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

const KNOWLEDGE_SOURCE: &str = "knowledge";

#[derive(Debug, Default, Serialize)]
pub struct IngestReport {
    pub files: usize,
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub chunks: usize,
    pub errors: Vec<FileError>,
}

#[derive(Debug, Serialize)]
pub struct FileError {
    pub file: String,
    pub code: String,
    pub message: String,
}

fn knowledge_prefix(kb: &KnowledgeBase) -> Option<PathBuf> {
    kb.settings().knowledge.dir.canonicalize().ok()
}

/// Shipped files are keyed `knowledge:<relative path>` wherever they are ingested from, so the
/// same file never becomes two documents.
fn key_for(path: &Path, knowledge: Option<&Path>) -> String {
    let abs = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    if let Some(k) = knowledge {
        if let Ok(rel) = abs.strip_prefix(k) {
            return format!("knowledge:{}", rel.to_string_lossy());
        }
    }
    abs.to_string_lossy().into_owned()
}

pub async fn ingest_paths(kb: &KnowledgeBase, paths: &[PathBuf], source: &str) -> anyhow::Result<IngestReport> {
    let files = collect_files(paths)?;
    let source_id = kb.store.ensure_source(source, if source == KNOWLEDGE_SOURCE { "shipped" } else { "files" }).await?;
    let settings = kb.settings();
    let opts = LoadOptions { max_file_bytes: settings.ingest.max_file_bytes, key_base: None };
    let knowledge = knowledge_prefix(kb);
    let mut report = IngestReport { files: files.len(), ..IngestReport::default() };

    let bar = if std::io::stderr().is_terminal() {
        let b = ProgressBar::new(files.len() as u64);
        b.set_style(
            ProgressStyle::with_template("{spinner} 入库 [{bar:30}] {pos}/{len} 文件 · {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(b)
    } else {
        None
    };

    let batch_size = settings.ingest.commit_every_docs.max(1);
    let mut done = 0usize;
    // (document key, successor key) from front matter `superseded_by`, linked after the batch.
    let mut successors: Vec<(String, String)> = Vec::new();
    for group in files.chunks(batch_size) {
        let mut docs = Vec::with_capacity(group.len());
        for f in group {
            match load_file(f, &opts) {
                Ok(mut doc) => {
                    doc.key = key_for(f, knowledge.as_deref());
                    if let Some(next) = &doc.meta.superseded_by_file {
                        let next_path = f.parent().map(|p| p.join(next)).unwrap_or_else(|| PathBuf::from(next));
                        successors.push((doc.key.clone(), key_for(&next_path, knowledge.as_deref())));
                    }
                    docs.push(doc);
                }
                Err(e) => {
                    tracing::warn!(file = %f.display(), code = e.code(), "{e}");
                    report.failed += 1;
                    report.errors.push(FileError { file: f.display().to_string(), code: e.code().into(), message: e.to_string() });
                }
            }
        }
        let outcomes = kb.ingest_batch(docs, Some(source_id)).await?;
        for o in outcomes {
            match o {
                IngestOutcome::Added { chunks } => {
                    report.added += 1;
                    report.chunks += chunks;
                }
                IngestOutcome::Updated { chunks } => {
                    report.updated += 1;
                    report.chunks += chunks;
                }
                IngestOutcome::Unchanged => report.unchanged += 1,
            }
        }
        done += group.len();
        match &bar {
            Some(b) => {
                b.set_position(done as u64);
                b.set_message(format!("新增 {} · 更新 {} · 未变 {} · 失败 {}", report.added, report.updated, report.unchanged, report.failed));
            }
            None => tracing::info!(
                done,
                total = files.len(),
                added = report.added,
                updated = report.updated,
                unchanged = report.unchanged,
                failed = report.failed,
                "ingest progress"
            ),
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    link_successors(kb, &successors, &mut report).await?;
    if report.added + report.updated > 0 {
        kb.optimize().await?;
    }
    Ok(report)
}

/// Marks each document whose front matter names a successor file as repealed and replaced by
/// it. A successor that is missing is reported, never guessed.
async fn link_successors(kb: &KnowledgeBase, pairs: &[(String, String)], report: &mut IngestReport) -> anyhow::Result<()> {
    for (key, next_key) in pairs {
        let (Some(doc), next) = (kb.store.document_by_key(key).await?, kb.store.document_by_key(next_key).await?) else {
            continue;
        };
        match next {
            Some(next) if doc.superseded_by != Some(next.id) => {
                kb.set_document_successor(doc.id, dwt_core::DocStatus::Repealed, Some(next.id)).await?;
            }
            Some(_) => {}
            None => report.errors.push(FileError {
                file: key.clone(),
                code: "ingest.successor_not_found".into(),
                message: format!("front matter 中 superseded_by 指向的文件未导入：{next_key}"),
            }),
        }
    }
    Ok(())
}

/// Ingests each shipped `knowledge/` document once per data directory: all of them on the first
/// start, and on later starts the files a new release added (`shipped_files` records what was
/// offered, so a document an admin removes is not brought back). An older shipped document whose
/// front matter names a newly shipped successor is linked to it.
pub async fn ensure_shipped_knowledge(kb: &KnowledgeBase) -> anyhow::Result<()> {
    let k = &kb.settings().knowledge;
    if !k.auto_ingest {
        return Ok(());
    }
    let fresh = !kb.store.source_exists(KNOWLEDGE_SOURCE).await?;
    let dirs: Vec<PathBuf> = k.document_dirs.iter().map(|d| k.dir.join(d)).filter(|d| d.is_dir()).collect();
    if dirs.is_empty() {
        if fresh {
            tracing::warn!(dir = %k.dir.display(), "no shipped knowledge found; the knowledge base starts empty");
        }
        return Ok(());
    }
    let knowledge = knowledge_prefix(kb);
    let offered = kb.store.shipped_offered().await?;
    let (new, old): (Vec<PathBuf>, Vec<PathBuf>) =
        collect_files(&dirs)?.into_iter().partition(|f| !offered.contains(&key_for(f, knowledge.as_deref())));
    if new.is_empty() {
        return Ok(());
    }
    if fresh {
        tracing::info!(dir = %k.dir.display(), "fresh data directory: ingesting shipped knowledge");
    } else {
        tracing::info!(files = new.len(), "shipped knowledge added by this release: ingesting");
    }
    let mut report = ingest_paths(kb, &new, KNOWLEDGE_SOURCE).await?;
    let new_keys: Vec<String> = new.iter().map(|f| key_for(f, knowledge.as_deref())).collect();
    let mut successors = Vec::new();
    let opts = LoadOptions { max_file_bytes: kb.settings().ingest.max_file_bytes, key_base: None };
    for f in &old {
        let Some(next) = load_file(f, &opts).ok().and_then(|d| d.meta.superseded_by_file) else { continue };
        let next_key = key_for(&f.parent().map(|p| p.join(&next)).unwrap_or_else(|| PathBuf::from(&next)), knowledge.as_deref());
        if new_keys.contains(&next_key) {
            successors.push((key_for(f, knowledge.as_deref()), next_key));
        }
    }
    link_successors(kb, &successors, &mut report).await?;
    // A file that failed to load is offered again on the next start.
    let loaded: Vec<String> = new
        .iter()
        .filter(|f| !report.errors.iter().any(|e| e.file == f.display().to_string()))
        .map(|f| key_for(f, knowledge.as_deref()))
        .collect();
    kb.store.mark_shipped_offered(&loaded).await?;
    tracing::info!(added = report.added, chunks = report.chunks, failed = report.failed, "shipped knowledge ingested");
    Ok(())
}

/// Shipped documents (first start only) and the FAQ seed (new pairs on every start).
pub async fn ensure_shipped(kb: &KnowledgeBase) -> anyhow::Result<()> {
    ensure_shipped_knowledge(kb).await?;
    ensure_seed_qa(kb).await
}

pub async fn find_document(kb: &KnowledgeBase, needle: &str) -> anyhow::Result<DocumentRow> {
    if let Ok(id) = needle.parse::<i64>() {
        if let Some(d) = kb.store.document_by_id(id).await? {
            return Ok(d);
        }
    }
    if let Some(d) = kb.store.document_by_key(needle).await? {
        return Ok(d);
    }
    let docs = kb.store.list_documents().await?;
    let mut matches: Vec<DocumentRow> = docs.into_iter().filter(|d| d.title == needle || d.key.ends_with(needle)).collect();
    // Editions share a title: the title names the one in force.
    if matches.len() > 1 && matches.iter().filter(|d| d.in_force()).count() == 1 {
        matches.retain(DocumentRow::in_force);
    }
    match matches.len() {
        1 => matches.into_iter().next().context("unreachable"),
        0 => anyhow::bail!("没有找到文档：{needle}（可用 dangwutong documents 查看 id）"),
        n => anyhow::bail!("有 {n} 个文档匹配“{needle}”，请改用 id"),
    }
}

/// What `qa import` did.
#[derive(Debug, Default, Serialize)]
pub struct QaImportReport {
    pub rows: usize,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Existing questions left as they were (insert-only imports, e.g. the shipped seed).
    pub kept: usize,
    pub failed: usize,
    pub errors: Vec<dwt_ingest::qa::RowError>,
}

/// Imports a curated Q&A file (JSONL/CSV/XLSX). Good rows are written in one transaction;
/// bad rows are reported by row number and nothing is written for them.
pub async fn import_qa(kb: &KnowledgeBase, path: &Path, updated_by: &str, overwrite: bool) -> anyhow::Result<QaImportReport> {
    let file = dwt_ingest::qa::read_qa_file(path, &kb.settings().upload).map_err(|e| anyhow::anyhow!("{e}（{}）", e.code()))?;
    let pairs: Vec<dwt_store::NewQaPair> = file.pairs.iter().map(|(_, p)| p.clone()).collect();
    let store = dwt_store::QaStore::new(kb.store.pool().clone());
    let outcomes = store.upsert_all(&pairs, updated_by, overwrite, None).await?;
    let mut report = QaImportReport { rows: file.pairs.len() + file.errors.len(), failed: file.errors.len(), errors: file.errors, ..Default::default() };
    for o in outcomes {
        match o {
            dwt_store::UpsertOutcome::Inserted => report.inserted += 1,
            dwt_store::UpsertOutcome::Updated => report.updated += 1,
            dwt_store::UpsertOutcome::Unchanged => report.unchanged += 1,
            dwt_store::UpsertOutcome::Kept => report.kept += 1,
        }
    }
    Ok(report)
}

/// Imports the shipped FAQ seed, insert-only: pairs curated or edited since are never
/// overwritten, and a restart adds only seed pairs that are new.
pub async fn ensure_seed_qa(kb: &KnowledgeBase) -> anyhow::Result<()> {
    let s = kb.settings();
    if !s.faq.enabled || !s.knowledge.auto_ingest {
        return Ok(());
    }
    let path = s.knowledge.dir.join(&s.faq.seed_file);
    if !path.is_file() {
        tracing::warn!(file = %path.display(), "no curated Q&A seed found");
        return Ok(());
    }
    let report = import_qa(kb, &path, "seed", false).await?;
    if report.inserted > 0 || report.failed > 0 {
        tracing::info!(inserted = report.inserted, failed = report.failed, "curated Q&A seed imported");
    }
    for e in &report.errors {
        tracing::warn!(row = e.row, problem = %e.message, "seed Q&A row skipped");
    }
    Ok(())
}
