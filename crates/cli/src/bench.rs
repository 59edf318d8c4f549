//! `dangwutong bench ingest|search|chat|restore`: throughput, latency and memory on the laws
//! scale corpus, time to the first streamed event of the chat API under concurrency, and how
//! long a backup and a restore (with the re-index it implies) take.

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
    /// The real HTTP service on loopback (shipped knowledge, FAQ seed, configured answer mode):
    /// POST /api/chat with `--concurrency` clients; reports time to the first SSE event and
    /// to the end of the answer.
    Chat {
        #[arg(long, default_value_t = 100)]
        concurrency: usize,
        /// Requests in all (default: 3 × concurrency).
        #[arg(long)]
        requests: Option<usize>,
        /// Questions to cycle through (JSONL with "question").
        #[arg(long, default_value = "eval/dangzhang-dev.jsonl")]
        questions: PathBuf,
        #[arg(long)]
        work_dir: Option<PathBuf>,
    },
    /// Login latency: a wrong password for an existing account, an unknown username tried
    /// before, and a fresh unknown username, interleaved — how much an attacker could learn
    /// about which accounts exist from response times.
    Login {
        #[arg(long, default_value_t = 200)]
        tries: usize,
        #[arg(long)]
        work_dir: Option<PathBuf>,
    },
    /// Backup and restore of a knowledge base built from a corpus folder: ingest, `backup`
    /// (online snapshot), `restore` into an empty data dir, re-index and consistency check —
    /// the recovery time objective measured.
    Restore {
        #[arg(long)]
        corpus: PathBuf,
        /// Stop after this many documents (default: all).
        #[arg(long)]
        limit: Option<usize>,
        #[arg(long)]
        work_dir: Option<PathBuf>,
    },
}

/// The `question` of every JSONL line (lines without one are skipped).
fn read_questions(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("无法读取 {}", path.display()))?;
    let qs: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("question").and_then(|q| q.as_str()).map(str::to_string))
        .collect();
    anyhow::ensure!(!qs.is_empty(), "问题文件中没有 question：{}", path.display());
    Ok(qs)
}

/// One chat request over a raw HTTP/1.1 connection: (ms to the first SSE event, ms to the end,
/// answer finished with a `done` event).
async fn timed_chat(addr: std::net::SocketAddr, question: &str) -> anyhow::Result<(f64, f64, bool)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = serde_json::to_string(&json!({ "question": question }))?;
    let start = Instant::now();
    let mut conn = tokio::net::TcpStream::connect(addr).await?;
    let head = format!("POST /api/chat HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    conn.write_all(head.as_bytes()).await?;
    conn.write_all(body.as_bytes()).await?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut first = None;
    loop {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if first.is_none() && buf.windows(6).any(|w| w == b"event:") {
            first = Some(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let total = start.elapsed().as_secs_f64() * 1000.0;
    let text = String::from_utf8_lossy(&buf);
    anyhow::ensure!(text.starts_with("HTTP/1.1 200"), "HTTP 状态异常：{}", text.lines().next().unwrap_or(""));
    Ok((first.unwrap_or(total), total, text.contains("event: done")))
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

/// Ingests `docs` committing every `every` documents (as `ingest` does); returns the chunks written.
async fn ingest_in_batches(kb: &KnowledgeBase, docs: Vec<ParsedDocument>, every: usize) -> anyhow::Result<usize> {
    let start = Instant::now();
    let mut chunks = 0;
    let mut batch = Vec::new();
    for d in docs {
        batch.push(d);
        if batch.len() >= every.max(1) {
            chunks += chunks_of(&kb.ingest_batch(std::mem::take(&mut batch), None).await?);
            tracing::info!(chunks, secs = start.elapsed().as_secs(), "bench ingest progress");
        }
    }
    chunks += chunks_of(&kb.ingest_batch(batch, None).await?);
    Ok(chunks)
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
        BenchCommand::Chat { concurrency, requests, questions, work_dir } => bench_chat(base, *concurrency, *requests, questions, work_dir).await?,
        BenchCommand::Restore { corpus, limit, work_dir } => return bench_restore(base, corpus, *limit, work_dir).await,
        BenchCommand::Login { tries, work_dir } => bench_login(base, *tries, work_dir).await?,
        BenchCommand::Ingest { corpus, limit, work_dir } => {
            let dir = scratch(work_dir)?;
            let mut settings = base.clone();
            settings.storage.data_dir = dir.path().to_path_buf();
            settings.knowledge.auto_ingest = false;
            let kb = KnowledgeBase::open(&settings).await?;
            let docs = load_corpus(corpus, *limit)?;
            let n_docs = docs.len();
            let start = Instant::now();
            let chunks = ingest_in_batches(&kb, docs, settings.ingest.commit_every_docs).await?;
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

            let qs = read_questions(questions)?;
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

async fn bench_chat(base: &Settings, concurrency: usize, requests: Option<usize>, questions: &Path, work_dir: &Option<PathBuf>) -> anyhow::Result<()> {
    let dir = scratch(work_dir)?;
    let mut settings = base.clone();
    settings.storage.data_dir = dir.path().to_path_buf();
    let kb = KnowledgeBase::open(&settings).await?;
    crate::pipeline::ensure_shipped(&kb).await?;
    let assistant = Arc::new(dwt_assistant::Assistant::new(Arc::new(kb)).await?);
    let mode = if assistant.generates() { "rag" } else { "extractive" };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let state = dwt_server::AppState::new(assistant);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    // The server's own accept loop, as `serve` runs it.
    let server_settings = settings.server.clone();
    let server = tokio::spawn(async move {
        let _ = dwt_server::serve_on(listener, state, &server_settings, async move {
            let _ = stop_rx.await;
        })
        .await;
    });
    let qs = read_questions(questions)?;
    // Warm-up: one request so the first measured ones do not pay one-time costs.
    timed_chat(addr, &qs[0]).await?;
    let concurrency = concurrency.max(1);
    let total = requests.unwrap_or(concurrency * 3).max(1);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let qs = Arc::new(qs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (next, qs) = (next.clone(), qs.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    break;
                }
                out.push(timed_chat(addr, &qs[i % qs.len()]).await);
            }
            out
        }));
    }
    let (mut first, mut whole, mut errors, mut unfinished) = (Vec::new(), Vec::new(), 0usize, 0usize);
    for t in tasks {
        for r in t.await? {
            match r {
                Ok((f, w, done)) => {
                    first.push(f);
                    whole.push(w);
                    unfinished += usize::from(!done);
                }
                Err(e) => {
                    errors += 1;
                    tracing::warn!(error = %e, "bench chat request failed");
                }
            }
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let _ = stop_tx.send(());
    let _ = server.await;
    let sort = |v: &mut Vec<f64>| v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    sort(&mut first);
    sort(&mut whole);
    let r = |x: f64| (x * 10.0).round() / 10.0;
    out(&serde_json::to_string(&json!({
        "bench": "chat",
        "mode": mode,
        "concurrency": concurrency,
        "requests": total,
        "errors": errors,
        "unfinished": unfinished,
        "first_event_p50_ms": r(percentile(&first, 50.0)),
        "first_event_p95_ms": r(percentile(&first, 95.0)),
        "first_event_max_ms": r(first.last().copied().unwrap_or(0.0)),
        "answer_p50_ms": r(percentile(&whole, 50.0)),
        "answer_p95_ms": r(percentile(&whole, 95.0)),
        "answers_per_s": r(whole.len() as f64 / wall),
        "rss_peak_mb": rss_peak_mb(),
    }))?);
    anyhow::ensure!(errors == 0 && unfinished == 0, "{errors} 个请求失败，{unfinished} 个回答未完成");
    Ok(())
}

/// Ingest → backup → restore → re-index → check, each timed.
async fn bench_restore(base: &Settings, corpus: &Path, limit: Option<usize>, work_dir: &Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let dir = scratch(work_dir)?;
    let mut settings = base.clone();
    settings.storage.data_dir = dir.path().join("live");
    settings.knowledge.auto_ingest = false;
    let kb = KnowledgeBase::open(&settings).await?;
    let docs = load_corpus(corpus, limit)?;
    let n_docs = docs.len();
    let chunks = ingest_in_batches(&kb, docs, settings.ingest.commit_every_docs).await?;
    let started = Instant::now();
    let manifest = dwt_store::backup::backup(&settings.storage.data_dir, &dir.path().join("backup")).await.map_err(|e| anyhow::anyhow!("备份失败：{e}"))?;
    let backup_s = started.elapsed().as_secs_f64();
    drop(kb);
    let mut restored = settings.clone();
    restored.storage.data_dir = dir.path().join("restored");
    let started = Instant::now();
    dwt_store::backup::restore(&dir.path().join("backup"), &restored.storage.data_dir).await.map_err(|e| anyhow::anyhow!("恢复失败：{e}"))?;
    let copy_s = started.elapsed().as_secs_f64();
    // Opening replays the journal: BM25 and vectors are rebuilt from the restored SQL.
    let kb = KnowledgeBase::open(&restored).await?;
    let report = kb.consistency().await?;
    let restore_s = started.elapsed().as_secs_f64();
    let round = |x: f64| (x * 10.0).round() / 10.0;
    out(&serde_json::to_string(&json!({
        "bench": "restore",
        "docs": n_docs,
        "chunks": chunks,
        "backup_bytes": manifest.bytes,
        "backup_s": round(backup_s),
        "restore_copy_s": round(copy_s),
        "restore_total_s": round(restore_s),
        "chunks_per_s": round(chunks as f64 / restore_s.max(1e-9)),
        "consistent": report.consistent(),
        "rss_peak_mb": rss_peak_mb(),
        "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    }))?);
    Ok(if report.consistent() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Interleaved failed logins of three kinds on a fresh SQLite core with the demo accounts; the
/// lock limit is lifted so that every attempt takes the counting path, not the locked one.
async fn bench_login(base: &Settings, tries: usize, work_dir: &Option<PathBuf>) -> anyhow::Result<()> {
    let dir = scratch(work_dir)?;
    let mut auth = base.auth.clone();
    auth.max_failed_logins = u32::MAX;
    let db = dwt_org::Db::open_sqlite_dir(dir.path()).await?;
    let core = dwt_org::Core::new(db, auth)?;
    dwt_org::demo::seed(&core).await?;
    let mut kinds: [(&str, Vec<f64>); 3] = [("wrong_password", Vec::new()), ("unknown_repeated", Vec::new()), ("unknown_fresh", Vec::new())];
    for i in 0..tries.max(1) {
        for (k, (_, times)) in kinds.iter_mut().enumerate() {
            let fresh = format!("nobody-{i}");
            let user = match k {
                0 => "member1",
                1 => "nobody",
                _ => fresh.as_str(),
            };
            let start = Instant::now();
            let outcome = core.auth.login(user, "not-the-password", None).await;
            times.push(start.elapsed().as_secs_f64() * 1e6);
            anyhow::ensure!(matches!(outcome, Err(dwt_org::CoreError::InvalidCredentials)), "意外的登录结果：{outcome:?}");
        }
    }
    for (_, times) in kinds.iter_mut() {
        times.sort_by(f64::total_cmp);
    }
    let median = |v: &[f64]| percentile(v, 50.0);
    let base_median = median(&kinds[0].1);
    let mut report = serde_json::Map::new();
    report.insert("bench".into(), json!("login"));
    report.insert("tries".into(), json!(tries));
    for (name, times) in &kinds {
        let m = median(times);
        report.insert(format!("{name}_median_us"), json!(m.round()));
        report.insert(format!("{name}_p90_us"), json!(percentile(times, 90.0).round()));
        report.insert(format!("{name}_minus_wrong_password_us"), json!((m - base_median).round()));
    }
    out(&serde_json::to_string(&report)?);
    Ok(())
}
