//! `dangwutong bench ingest|search`: throughput, latency and memory on the laws scale corpus.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Subcommand;
use dwt_core::{ParsedDocument, Settings};
use dwt_index::{IngestOutcome, KnowledgeBase, SearchOptions};
use dwt_ingest::{collect_files, load_file, LoadOptions};
use serde_json::json;

use crate::eval::percentile;
use crate::output::out;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Real ingest (parse, chunk, embed, index) of a corpus folder into a fresh data dir.
    Ingest {
        #[arg(long)]
        corpus: PathBuf,
        /// Stop after this many documents (default: all).
        #[arg(long)]
        limit: Option<usize>,
        /// Scratch folder for the data dir (removed afterwards).
        #[arg(long)]
        work_dir: Option<PathBuf>,
    },
    /// Search latency at scale: shipped knowledge with real embeddings, the corpus with real
    /// BM25 text and (beyond --embed-sample chunks) random unit vectors, repeated until
    /// --chunks is reached.
    Search {
        #[arg(long)]
        corpus: PathBuf,
        #[arg(long, default_value_t = 500)]
        queries: usize,
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
        /// Index at least this many chunks.
        #[arg(long, default_value_t = 100_000)]
        chunks: usize,
        /// Corpus chunks embedded with the real model (the rest get random unit vectors).
        #[arg(long, default_value_t = 1000)]
        embed_sample: usize,
        /// Questions to replay (JSONL with "question").
        #[arg(long, default_value = "eval/dangzhang-dev.jsonl")]
        questions: PathBuf,
        #[arg(long)]
        work_dir: Option<PathBuf>,
    },
}

/// Peak resident set size of this process (VmHWM), in MiB.
pub fn rss_peak_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| (kb / 1024.0 * 10.0).round() / 10.0)
        .unwrap_or(0.0)
}

fn scratch(work_dir: &Option<PathBuf>) -> anyhow::Result<tempfile::TempDir> {
    let base = work_dir.clone().unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&base)?;
    Ok(tempfile::Builder::new().prefix("dwt-bench-").tempdir_in(base)?)
}

fn load_corpus(corpus: &Path, limit: Option<usize>) -> anyhow::Result<Vec<ParsedDocument>> {
    let files = collect_files(&[corpus.to_path_buf()])?;
    let opts = LoadOptions { max_file_bytes: 50 * 1024 * 1024, key_base: Some(corpus.to_path_buf()) };
    let mut docs = Vec::new();
    for f in files.iter().take(limit.unwrap_or(usize::MAX)) {
        if let Ok(d) = load_file(f, &opts) {
            docs.push(d);
        }
    }
    anyhow::ensure!(!docs.is_empty(), "语料目录中没有可用的文档：{}", corpus.display());
    Ok(docs)
}

fn chunks_of(outcomes: &[IngestOutcome]) -> usize {
    outcomes
        .iter()
        .map(|o| match o {
            IngestOutcome::Added { chunks } | IngestOutcome::Updated { chunks } => *chunks,
            IngestOutcome::Unchanged => 0,
        })
        .sum()
}

pub async fn run(cmd: &BenchCommand, base: &Settings) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCommand::Ingest { corpus, limit, work_dir } => {
            let dir = scratch(work_dir)?;
            let mut settings = base.clone();
            settings.storage.data_dir = dir.path().to_path_buf();
            settings.knowledge.auto_ingest = false;
            let kb = KnowledgeBase::open(&settings).await?;
            let docs = load_corpus(corpus, *limit)?;
            let n_docs = docs.len();
            let start = Instant::now();
            let mut chunks = 0;
            let mut batch = Vec::new();
            for d in docs {
                batch.push(d);
                if batch.len() >= settings.ingest.commit_every_docs {
                    chunks += chunks_of(&kb.ingest_batch(std::mem::take(&mut batch), None).await?);
                    tracing::info!(chunks, secs = start.elapsed().as_secs(), "bench ingest progress");
                }
            }
            chunks += chunks_of(&kb.ingest_batch(batch, None).await?);
            kb.optimize().await?;
            let secs = start.elapsed().as_secs_f64();
            out(&serde_json::to_string(&json!({
                "bench": "ingest",
                "docs": n_docs,
                "chunks": chunks,
                "seconds": (secs * 10.0).round() / 10.0,
                "chunks_per_s": ((chunks as f64 / secs) * 10.0).round() / 10.0,
                "rss_peak_mb": rss_peak_mb(),
                "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
                "embedding_batch": settings.embedding.batch_size,
                "embedded_texts": kb.embedder().stats.texts.load(std::sync::atomic::Ordering::Relaxed),
                "embedding_s": ((kb.embedder().stats.nanos.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e9) * 10.0).round() / 10.0,
                "sentence_probes": settings.ingest.sentence_probes,
            }))?);
        }
        BenchCommand::Search { corpus, queries, concurrency, chunks: target, embed_sample, questions, work_dir } => {
            let dir = scratch(work_dir)?;
            let mut settings = base.clone();
            settings.storage.data_dir = dir.path().to_path_buf();
            let kb = Arc::new(KnowledgeBase::open(&settings).await?);
            crate::pipeline::ensure_shipped_knowledge(&kb).await?;
            let docs = load_corpus(corpus, None)?;
            let build = Instant::now();
            let (mut total, mut embedded, mut round) = (0usize, 0usize, 0usize);
            while total < *target {
                for group in docs.chunks(settings.ingest.commit_every_docs.max(1)) {
                    let batch: Vec<ParsedDocument> = group
                        .iter()
                        .cloned()
                        .map(|mut d| {
                            d.key = format!("bench-{round}:{}", d.key);
                            d
                        })
                        .collect();
                    let n = if embedded < *embed_sample {
                        let n = chunks_of(&kb.ingest_batch(batch, None).await?);
                        embedded += n;
                        n
                    } else {
                        chunks_of(&kb.ingest_batch_with_random_vectors(batch, None).await?)
                    };
                    total += n;
                    if total >= *target {
                        break;
                    }
                }
                tracing::info!(total, round, secs = build.elapsed().as_secs(), "bench index build progress");
                round += 1;
            }
            kb.optimize().await?;
            let build_secs = build.elapsed().as_secs_f64();

            let text = std::fs::read_to_string(questions).with_context(|| format!("无法读取 {}", questions.display()))?;
            let qs: Vec<String> = text
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter_map(|v| v.get("question").and_then(|q| q.as_str()).map(str::to_string))
                .collect();
            anyhow::ensure!(!qs.is_empty(), "问题文件为空：{}", questions.display());
            let opts = SearchOptions::default();
            let _ = kb.search(&qs[0], &opts).await?; // warm-up
            let started = Instant::now();
            let per_worker = queries.div_ceil((*concurrency).max(1));
            let mut tasks = Vec::new();
            for w in 0..(*concurrency).max(1) {
                let kb = kb.clone();
                let qs = qs.clone();
                let opts = opts.clone();
                tasks.push(tokio::spawn(async move {
                    let mut lat = Vec::with_capacity(per_worker);
                    for i in 0..per_worker {
                        let q = &qs[(w * per_worker + i) % qs.len()];
                        let t = Instant::now();
                        kb.search(q, &opts).await?;
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    Ok::<_, dwt_index::IndexError>(lat)
                }));
            }
            let mut lat = Vec::new();
            for t in tasks {
                lat.extend(t.await??);
            }
            let wall = started.elapsed().as_secs_f64();
            lat.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
            let r = |x: f64| (x * 100.0).round() / 100.0;
            let shipped = kb.store.indexable_chunk_ids().await?.len();
            out(&serde_json::to_string(&json!({
                "bench": "search",
                "chunks": shipped,
                "corpus_rounds": round,
                "dense_note": format!("{} chunks carry real embeddings (shipped knowledge + {} corpus chunks); the other {} corpus chunks carry random unit vectors. BM25 indexes all real text.", shipped.saturating_sub(total) + embedded, embedded, total.saturating_sub(embedded)),
                "index_build_s": r(build_secs),
                "queries": lat.len(),
                "concurrency": concurrency,
                "p50_ms": r(percentile(&lat, 50.0)),
                "p99_ms": r(percentile(&lat, 99.0)),
                "qps": r(lat.len() as f64 / wall),
                "rss_peak_mb": rss_peak_mb(),
            }))?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
