//! `dangwutong`: thin command line over the knowledge crates.

mod bench;
mod crawl;
mod eval;
mod eval_chat;
mod output;
mod pipeline;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use dwt_core::{DocStatus, DocType, Settings};
use dwt_index::{KnowledgeBase, RetrievalMode, SearchFilter, SearchOptions};
use figment::providers::Serialized;
use figment::Figment;

use crate::output::{out, search_json};

#[derive(Parser, Debug)]
#[command(name = "dangwutong", version, about = "党务通：党务知识问答与检索")]
struct Cli {
    /// Configuration file (default: ./dangwutong.toml when present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Data directory (SQLite, tantivy, Qdrant Edge). Env: DWT__STORAGE__DATA_DIR.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Embedding model directory. Env: DWT__EMBEDDING__MODEL_DIR.
    #[arg(long, global = true)]
    model_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Ingest files or folders (Markdown, text, HTML, Word .docx, PDF with a text layer) into the knowledge base.
    Ingest {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Source name recorded on the documents.
        #[arg(long, default_value = "upload")]
        source: String,
    },
    /// Delete a document everywhere (by id, key or exact title).
    Remove { document: String },
    /// List documents.
    Documents {
        #[arg(long)]
        json: bool,
    },
    /// Hybrid search for a question.
    Search(SearchArgs),
    /// Start the HTTP service (chat API, regulation library, web pages).
    Serve {
        /// Port to listen on. Env: DWT__SERVER__PORT.
        #[arg(long)]
        port: Option<u16>,
        /// Address to bind. Env: DWT__SERVER__HOST.
        #[arg(long)]
        host: Option<String>,
    },
    /// Retrieval quality on a JSONL eval set.
    Eval {
        file: PathBuf,
        #[arg(long)]
        json: bool,
        #[arg(long, default_value = "hybrid")]
        mode: String,
        /// Also answer every question and score answers (`answer`) and refusals (`expect: refuse`).
        #[arg(long)]
        answers: bool,
        /// With --answers: write per-question refusal evidence (JSONL) for calibration.
        #[arg(long)]
        features: Option<PathBuf>,
        /// Rank the gold per stage (BM25, dense, fusion, final) and report where misses happen.
        #[arg(long)]
        stages: bool,
        /// Write every re-scored candidate's features, labelled gold or not (for fitting
        /// search.rerank).
        #[arg(long)]
        rank_features: Option<PathBuf>,
    },
    /// Check that SQL, vectors and the lexical index agree (exit 1 when not).
    Check,
    /// Online backup of the embedded store into DIR (a new or empty directory): a consistent
    /// SQLite snapshot and a manifest (row counts, SHA-256). Safe while `serve` runs.
    Backup { dir: PathBuf },
    /// Restores a backup from DIR into the (new, empty) data directory, rebuilds the search
    /// indexes from it and checks them (exit 1 when they disagree).
    Restore { dir: PathBuf },
    /// Curated Q&A pairs (常用问答).
    Qa {
        #[command(subcommand)]
        what: QaCommand,
    },
    /// Demo data: `demo seed` creates a small organisation tree, members and one admin and one
    /// staff user per level, and prints their credentials.
    Demo {
        #[command(subcommand)]
        what: DemoCommand,
    },
    /// First set-up of a real deployment: the root organisation and its 系统管理员.
    Admin {
        #[command(subcommand)]
        what: AdminCommand,
    },
    /// Chunk tuning (知识切片调优) from the command line: list, edit, split, merge, disable,
    /// enable, versions, rollback. Each change re-embeds and re-indexes only the chunks it touched, atomically.
    Chunk {
        #[command(subcommand)]
        what: ChunkCommand,
    },
    /// Crawl sources declared in crawlers/ (one TOML file per site, JSON API or WeChat list).
    Crawl(crawl::CrawlArgs),
    /// Speed and memory benchmarks (release build recommended).
    Bench {
        #[command(subcommand)]
        what: bench::BenchCommand,
    },
}

#[derive(Subcommand, Debug)]
enum ChunkCommand {
    /// The chunks of a document (id, key or exact title), disabled ones included.
    List { document: String },
    Edit {
        id: i64,
        #[arg(long)]
        text: String,
    },
    /// Split at a character offset: the second part becomes a new chunk right after.
    Split {
        id: i64,
        #[arg(long)]
        at: usize,
    },
    /// Merge with the next chunk of the document.
    Merge { id: i64 },
    Disable { id: i64 },
    Enable { id: i64 },
    Versions { id: i64 },
    Rollback {
        id: i64,
        #[arg(long)]
        version: i64,
    },
}

#[derive(Subcommand, Debug)]
enum DemoCommand {
    /// Create the demo organisations, members and users (idempotent).
    Seed,
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// Create the root organisation (when its code is new) and a 系统管理员 bound to it. The
    /// password comes from DWT_ADMIN_PASSWORD, or a strong one is generated and printed once.
    Init {
        #[arg(long)]
        org_name: String,
        #[arg(long)]
        org_code: String,
        /// 工委, 党委, 党工委 …
        #[arg(long, default_value = "工委")]
        org_type: String,
        #[arg(long, default_value = "admin")]
        username: String,
        /// Mobile number for SMS codes (password reset).
        #[arg(long)]
        phone: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum QaCommand {
    /// Import pairs from a .jsonl, .csv or .xlsx file (columns: question, similar, answer,
    /// category, source_refs). Existing questions are updated unless --insert-only.
    Import {
        file: PathBuf,
        #[arg(long)]
        insert_only: bool,
        /// Recorded as the editor of the imported rows.
        #[arg(long, default_value = "import")]
        by: String,
    },
    /// Show which curated pair a question matches and its score (hit-testing).
    Match { question: String },
    /// Matching quality on a JSONL set of {"question", "expect_qa": question or null}.
    Eval {
        file: PathBuf,
        #[arg(long)]
        json: bool,
        /// Write every (question, pair) evidence row (JSONL) for calibrating the weights.
        #[arg(long)]
        features: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
struct SearchArgs {
    question: Option<String>,
    #[arg(long)]
    top_k: Option<usize>,
    #[arg(long)]
    json: bool,
    /// JSONL file of {"id","question"}; prints one JSON line per input.
    #[arg(long)]
    batch: Option<PathBuf>,
    /// hybrid | bm25 | dense
    #[arg(long, default_value = "hybrid")]
    mode: String,
    /// Restrict to document types (constitution, regulation, law, notice, news, other).
    #[arg(long = "doc-type")]
    doc_types: Vec<String>,
    /// Restrict to statuses (current, repealed, withdrawn).
    #[arg(long = "status")]
    statuses: Vec<String>,
    /// Restrict to document ids.
    #[arg(long = "doc")]
    docs: Vec<i64>,
    /// Restrict to document categories (政策法规, 组织建设, 党员教育, 工作动态, 通知公告 …).
    #[arg(long = "category")]
    categories: Vec<String>,
}

fn overrides(cli: &Cli) -> Figment {
    let mut f = Figment::new();
    if let Some(d) = &cli.data_dir {
        f = f.merge(Serialized::default("storage.data_dir", d));
    }
    if let Some(m) = &cli.model_dir {
        f = f.merge(Serialized::default("embedding.model_dir", m));
    }
    if let Command::Serve { port, host } = &cli.command {
        if let Some(p) = port {
            f = f.merge(Serialized::default("server.port", p));
        }
        if let Some(h) = host {
            f = f.merge(Serialized::default("server.host", h));
        }
    }
    f
}

/// Resolves on Ctrl-C or SIGTERM, for graceful shutdown.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

fn parse_mode(s: &str) -> anyhow::Result<RetrievalMode> {
    RetrievalMode::parse(s).with_context(|| format!("检索模式无效：{s}（可选 hybrid、bm25、dense）"))
}

fn search_options(a: &SearchArgs) -> anyhow::Result<SearchOptions> {
    let mut filter = SearchFilter::default();
    for t in &a.doc_types {
        filter.doc_types.push(DocType::parse(t).with_context(|| format!("文档类型无效：{t}"))?);
    }
    for s in &a.statuses {
        filter.statuses.push(DocStatus::parse(s).with_context(|| format!("文档状态无效：{s}"))?);
    }
    filter.doc_ids = a.docs.clone();
    filter.categories = a.categories.clone();
    Ok(SearchOptions { top_k: a.top_k, filter, mode: parse_mode(&a.mode)?, ..SearchOptions::default() })
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(cli.config.as_deref(), Some(overrides(&cli)))?;
    match &cli.command {
        Command::Bench { what } => return bench::run(what, &settings).await,
        Command::Demo { what: DemoCommand::Seed } => {
            let core = open_core(&settings).await?;
            let accounts = dwt_org::demo::seed(&core).await?;
            out("演示数据已就绪。所有演示账号的密码均为：");
            out(&format!("  {}", dwt_org::demo::DEMO_PASSWORD));
            out("账号（角色 @ 组织）：");
            for a in accounts {
                out(&format!("  {:<10} {} @ {}{}", a.username, a.role.label(), a.org_name, if a.created { "" } else { "（已存在，未修改）" }));
            }
            return Ok(ExitCode::SUCCESS);
        }
        Command::Admin { what: AdminCommand::Init { org_name, org_code, org_type, username, phone } } => {
            let core = open_core(&settings).await?;
            let org = match core.orgs.get_by_code(org_code).await? {
                Some(o) => o,
                None => {
                    let input = dwt_org::orgs::OrgInput { name: org_name.clone(), org_type: org_type.clone(), code: org_code.clone(), ..Default::default() };
                    core.orgs.create(None, &input).await?
                }
            };
            let (password, generated) = match std::env::var("DWT_ADMIN_PASSWORD") {
                Ok(p) if !p.is_empty() => (p, false),
                _ => (generate_password(), true),
            };
            let input = dwt_org::auth::NewUserInput {
                username: username.clone(),
                display_name: "系统管理员".into(),
                phone: phone.clone(),
                password: password.clone(),
                member_id: None,
                must_change_password: true,
                first_login_pending: false,
            };
            let actor = dwt_org::audit::Actor { id: None, name: Some("admin init".into()), ip: None };
            let user = core.auth.create_user(input, &[(dwt_org::Role::SysAdmin, org.id)], &actor).await?;
            out(&format!("已创建系统管理员 {}（组织：{}）。首次登录后须修改密码。", user.username, org.name));
            if generated {
                out(&format!("初始密码（仅显示这一次）：{password}"));
            }
            return Ok(ExitCode::SUCCESS);
        }
        Command::Backup { dir } => {
            let manifest = dwt_store::backup::backup(&settings.storage.data_dir, dir).await.map_err(|e| anyhow::anyhow!("备份失败：{e}"))?;
            out(&serde_json::to_string(&manifest)?);
            return Ok(ExitCode::SUCCESS);
        }
        Command::Restore { dir } => {
            let started = std::time::Instant::now();
            let manifest = dwt_store::backup::restore(dir, &settings.storage.data_dir).await.map_err(|e| anyhow::anyhow!("恢复失败：{e}"))?;
            // Opening replays the journal: every document is re-indexed from the restored SQL.
            let kb = KnowledgeBase::open(&settings).await?;
            let report = kb.consistency().await?;
            let seconds = started.elapsed().as_secs_f64();
            out(&serde_json::to_string(&serde_json::json!({"manifest": manifest, "consistency": report, "seconds": seconds}))?);
            return Ok(if report.consistent() { ExitCode::SUCCESS } else { ExitCode::from(1) });
        }
        Command::Ingest { paths, source } => {
            let kb = KnowledgeBase::open(&settings).await?;
            let report = pipeline::ingest_paths(&kb, paths, source).await?;
            out(&serde_json::to_string(&report)?);
            return Ok(if report.failed > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS });
        }
        _ => {}
    }
    let kb = KnowledgeBase::open(&settings).await?;
    pipeline::ensure_shipped(&kb).await?;
    match cli.command {
        Command::Serve { .. } => {
            let kb = Arc::new(kb);
            let crawler = Arc::new(dwt_crawl::Crawler::new(kb.clone(), &settings.crawl)?);
            let scheduler = settings.crawl.scheduler.then(|| dwt_crawl::schedule::spawn_scheduler(crawler.clone()));
            let assistant = Arc::new(dwt_assistant::Assistant::new(kb).await?);
            let core = open_core(&settings).await?;
            let notifiers = dwt_handoff::notify::notifiers_from_settings(&settings.handoff).map_err(|e| anyhow::anyhow!("通知渠道配置无效：{e}"))?;
            let handoff = Arc::new(dwt_handoff::Handoff::new(core.db.clone(), settings.handoff.clone(), notifiers));
            let background = dwt_server::admin::handoff::spawn_background(handoff.clone());
            let state = dwt_server::AppState::new(assistant).with_core(Arc::new(core)).with_handoff(handoff).with_crawler(crawler);
            dwt_server::serve(state, &settings.server, shutdown_signal()).await.context("服务启动失败")?;
            background.abort();
            if let Some(s) = scheduler {
                s.abort();
            }
        }
        Command::Remove { document } => {
            let doc = pipeline::find_document(&kb, &document).await?;
            kb.remove_document(doc.id).await?;
            out(&format!("已删除：{}（id {}）", doc.title, doc.id));
        }
        Command::Documents { json } => {
            let docs = kb.store.list_documents().await?;
            for d in docs {
                if json {
                    out(&serde_json::to_string(&serde_json::json!({
                        "id": d.id, "key": d.key, "title": d.title, "doc_type": d.doc_type, "status": d.status,
                        "version": d.version, "chunks": d.chunk_count, "updated_at": d.updated_at,
                        "category": d.category, "published_at": d.published_at, "origin_url": d.origin_url,
                        "superseded_by": d.superseded_by,
                    }))?);
                } else {
                    out(&format!("{:>5}  {}  [{}] {} 个切片  {}", d.id, d.title, d.doc_type.as_str(), d.chunk_count, d.key));
                }
            }
        }
        Command::Search(args) => {
            let opts = search_options(&args)?;
            if let Some(batch) = &args.batch {
                let text = std::fs::read_to_string(batch).with_context(|| format!("无法读取 {}", batch.display()))?;
                for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                    let v: serde_json::Value =
                        serde_json::from_str(line).with_context(|| format!("第 {} 行不是有效的 JSON", n + 1))?;
                    let q = v.get("question").and_then(|q| q.as_str()).with_context(|| format!("第 {} 行缺少 question", n + 1))?;
                    let hits = kb.search(q, &opts).await?;
                    let mut obj = search_json(&hits);
                    obj["id"] = v.get("id").cloned().unwrap_or(serde_json::Value::Null);
                    out(&serde_json::to_string(&obj)?);
                }
            } else {
                let q = args.question.as_deref().context("请提供问题，或使用 --batch 文件")?;
                let hits = kb.search(q, &opts).await?;
                if args.json {
                    out(&serde_json::to_string(&search_json(&hits))?);
                } else {
                    output::print_hits(&hits);
                }
            }
        }
        Command::Eval { file, json, mode, answers, features, stages, rank_features } => {
            let mode = parse_mode(&mode)?;
            let kb = Arc::new(kb);
            let assistant = if answers { Some(dwt_assistant::Assistant::new(kb.clone()).await?) } else { None };
            if let Some(assistant) = assistant.as_ref().filter(|_| std::fs::read_to_string(&file).is_ok_and(|t| eval_chat::is_conversation_file(&t))) {
                let summary = eval_chat::run(assistant, &file, !json).await?;
                out(&serde_json::to_string(&summary)?);
                return Ok(ExitCode::SUCCESS);
            }
            let o = eval::EvalOptions { mode, verbose: !json, assistant: assistant.as_ref(), features: features.as_deref(), stages, rank_features: rank_features.as_deref() };
            let summary = eval::run(&kb, &file, o).await?;
            out(&serde_json::to_string(&summary)?);
        }
        Command::Check => {
            let report = kb.consistency().await?;
            out(&serde_json::to_string(&report)?);
            if !report.consistent() {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Qa { what } => match what {
            QaCommand::Import { file, insert_only, by } => {
                let report = pipeline::import_qa(&kb, &file, &by, !insert_only).await?;
                out(&serde_json::to_string(&report)?);
                if report.failed > 0 {
                    return Ok(ExitCode::from(2));
                }
            }
            QaCommand::Match { question } => {
                let store = dwt_store::QaStore::new(kb.store.pool().clone());
                let matcher = dwt_assistant::faq::FaqMatcher::load(Arc::new(kb), store, settings.faq.clone()).await?;
                let m = matcher.match_question(&question, &dwt_store::Audience::anonymous()).await?;
                out(&serde_json::to_string(&serde_json::json!({"threshold": matcher.threshold(), "best": m}))?);
            }
            QaCommand::Eval { file, json, features } => {
                let store = dwt_store::QaStore::new(kb.store.pool().clone());
                let matcher = dwt_assistant::faq::FaqMatcher::load(Arc::new(kb), store, settings.faq.clone()).await?;
                let summary = eval::run_qa(&matcher, &file, !json, features.as_deref()).await?;
                out(&serde_json::to_string(&summary)?);
            }
        },
        Command::Crawl(args) => return crawl::run(Arc::new(kb), &settings, &args).await,
        Command::Chunk { what } => {
            const EDITOR: &str = "cli";
            let json = match what {
                ChunkCommand::List { document } => {
                    let doc = pipeline::find_document(&kb, &document).await?;
                    serde_json::to_value(kb.store.chunk_rows(doc.id).await?)?
                }
                ChunkCommand::Edit { id, text } => {
                    let edit = dwt_store::ChunkEdit { text: Some(text), ..Default::default() };
                    serde_json::to_value(kb.edit_chunk(id, None, &edit, EDITOR).await?)?
                }
                ChunkCommand::Split { id, at } => serde_json::to_value(kb.split_chunk(id, at, EDITOR).await?)?,
                ChunkCommand::Merge { id } => serde_json::to_value(kb.merge_with_next(id, EDITOR).await?)?,
                ChunkCommand::Disable { id } => serde_json::to_value(kb.set_chunk_enabled(id, false, EDITOR).await?)?,
                ChunkCommand::Enable { id } => serde_json::to_value(kb.set_chunk_enabled(id, true, EDITOR).await?)?,
                ChunkCommand::Versions { id } => serde_json::to_value(kb.store.chunk_versions(id).await?)?,
                ChunkCommand::Rollback { id, version } => serde_json::to_value(kb.rollback_chunk(id, version, EDITOR).await?)?,
            };
            out(&serde_json::to_string(&json)?);
        }
        Command::Ingest { .. } | Command::Bench { .. } | Command::Demo { .. } | Command::Admin { .. } | Command::Backup { .. } | Command::Restore { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// The core modules' database: `storage.database_url` (Postgres) or the SQLite file in the data dir.
async fn open_core(settings: &Settings) -> anyhow::Result<dwt_org::Core> {
    let db = match settings.storage.database_url.as_deref().filter(|u| !u.trim().is_empty()) {
        Some(url) => dwt_org::Db::connect(url).await?,
        None => dwt_org::Db::open_sqlite_dir(&settings.storage.data_dir).await?,
    };
    Ok(dwt_org::Core::new(db, settings.auth.clone())?)
}

/// 16 characters from all four classes (meets the admin policy).
fn generate_password() -> String {
    const SETS: [&[u8]; 4] = [b"abcdefghijkmnpqrstuvwxyz", b"ABCDEFGHJKLMNPQRSTUVWXYZ", b"23456789", b"#%+=@!?"];
    let mut chars: Vec<char> = (0..16).map(|i| {
        let set = SETS[i % 4];
        set[rand::random_range(0..set.len())] as char
    }).collect();
    // Shuffle so the class pattern is not positional.
    for i in (1..chars.len()).rev() {
        chars.swap(i, rand::random_range(0..=i));
    }
    chars.into_iter().collect()
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,qdrant_edge=error,dangwutong=info,dwt_index=info")),
        )
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            output::err(&format!("错误：无法启动运行时：{e}"));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            output::err(&format!("错误：{e:#}"));
            ExitCode::FAILURE
        }
    }
}
