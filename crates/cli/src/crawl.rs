//! `dangwutong crawl`: one run of a source (or all enabled ones) with a progress bar, the list
//! of sources and file problems, and article URLs added by hand.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};
use dwt_core::Settings;
use dwt_crawl::{Crawler, Progress};
use dwt_index::KnowledgeBase;
use dwt_store::UrlOutcome;
use indicatif::{ProgressBar, ProgressStyle};

use crate::output::{err, out};

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CrawlArgs {
    #[command(subcommand)]
    action: Option<CrawlAction>,
    /// Source name: the file name in crawlers/ without .toml.
    source: Option<String>,
    /// Run every enabled source, one after another.
    #[arg(long)]
    all: bool,
    /// List sources (and problems in their files) instead of crawling.
    #[arg(long)]
    list: bool,
}

#[derive(Subcommand, Debug)]
enum CrawlAction {
    /// Add an article URL to a source; it is fetched on the source's next run (`--now` runs it).
    AddUrl {
        source: String,
        url: String,
        #[arg(long)]
        now: bool,
    },
}

struct Bar(Option<ProgressBar>);

impl Progress for Bar {
    fn queued(&self, total: usize) {
        if let Some(b) = &self.0 {
            b.inc_length(total as u64);
        }
    }

    fn visited(&self, url: &str, outcome: UrlOutcome) {
        match &self.0 {
            Some(b) => {
                b.inc(1);
                b.set_message(url.chars().rev().take(50).collect::<Vec<_>>().into_iter().rev().collect::<String>());
            }
            None => tracing::debug!(url, ?outcome, "visited"),
        }
    }
}

fn bar(label: &str) -> Bar {
    if !std::io::stderr().is_terminal() {
        return Bar(None);
    }
    let b = ProgressBar::new(0);
    b.set_style(
        ProgressStyle::with_template(&format!("{{spinner}} 抓取 {label} [{{bar:30}}] {{pos}}/{{len}} · {{msg}}"))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    Bar(Some(b))
}

async fn run_one(crawler: &Crawler, name: &str) -> anyhow::Result<bool> {
    let source = crawler.source(name)?;
    let progress = bar(&source.label);
    let result = crawler.run(&source, "cli", &progress).await;
    if let Some(b) = &progress.0 {
        b.finish_and_clear();
    }
    let run = result?;
    let errors = crawler.state().errors(run.id).await?;
    out(&serde_json::to_string(&serde_json::json!({"run": run, "errors": errors}))?);
    err(&format!(
        "{}：新增 {} · 更新 {} · 未变 {} · 撤下 {} · 失败 {}{}",
        source.label,
        run.new,
        run.updated,
        run.unchanged,
        run.withdrawn,
        run.failed,
        if run.resumed { "（接续上次中断的抓取）" } else { "" }
    ));
    Ok(run.failed == 0)
}

pub async fn run(kb: Arc<KnowledgeBase>, settings: &Settings, args: &CrawlArgs) -> anyhow::Result<ExitCode> {
    let crawler = Crawler::new(kb, &settings.crawl)?;
    if let Some(CrawlAction::AddUrl { source, url, now }) = &args.action {
        let src = crawler.source(source)?;
        let added = crawler.add_url(&src, url).await?;
        err(if added { "已加入，下次抓取时入库。" } else { "该网址已在此数据源中。" });
        if *now {
            run_one(&crawler, source).await?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.list {
        let (sources, errors) = crawler.sources();
        for s in &sources {
            out(&serde_json::to_string(&serde_json::json!({
                "name": s.name, "label": s.label, "kind": s.kind, "enabled": s.enabled,
                "schedule": s.schedule.as_ref().map(|(t, _)| t),
            }))?);
        }
        for e in &errors {
            err(&format!("配置有误：{e}"));
        }
        return Ok(if errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) });
    }
    let names: Vec<String> = match (&args.source, args.all) {
        (Some(name), false) => vec![name.clone()],
        (None, true) => {
            let (sources, errors) = crawler.sources();
            for e in &errors {
                err(&format!("配置有误，已跳过：{e}"));
            }
            sources.into_iter().filter(|s| s.enabled).map(|s| s.name).collect()
        }
        _ => anyhow::bail!("请指定一个数据源名称，或使用 --all（--list 查看全部数据源）"),
    };
    let mut clean = true;
    for name in names {
        clean &= run_one(&crawler, &name).await?;
    }
    // Exit 2 when some pages failed (the run itself finished; see the errors above).
    Ok(if clean { ExitCode::SUCCESS } else { ExitCode::from(2) })
}
