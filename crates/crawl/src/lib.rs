//! Crawlers: declarative sources (`crawlers/*.toml`) fetched politely and incrementally into the
//! knowledge base — website list/article pages, paged JSON news APIs and WeChat articles.
//!
//! Sits beside ingest in the data flow: it fetches and extracts, then writes through the
//! knowledge base (the index crate's atomic replace); nothing here depends on the assistant or
//! the server.

pub mod canonical;
pub mod classify;
pub mod config;
pub mod fetch;
mod run;
pub mod schedule;

pub use config::{load_sources, parse_source, Source, SourceFileError, SourceKind};
pub use run::{Crawler, NoProgress, Progress};

/// Errors of a crawl as a whole (per-URL failures are recorded on the run instead).
#[derive(Debug, thiserror::Error)]
pub enum CrawlError {
    #[error("没有名为 {0} 的抓取源（crawlers/ 目录中没有该文件）")]
    UnknownSource(String),
    #[error("抓取源配置有误：{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("；"))]
    SourceFile(Vec<SourceFileError>),
    #[error("抓取源 {0} 正在运行，请等待本次完成")]
    AlreadyRunning(String),
    #[error("网址无效：{0}")]
    BadUrl(String),
    #[error("环境变量 {0} 未设置（接口认证令牌）")]
    MissingSecret(String),
    #[error(transparent)]
    Store(#[from] dwt_store::StoreError),
    #[error(transparent)]
    Index(#[from] dwt_index::IndexError),
    #[error("抓取器内部错误：{0}")]
    Internal(String),
}

impl CrawlError {
    pub fn code(&self) -> &'static str {
        match self {
            CrawlError::UnknownSource(_) => "crawl.unknown_source",
            CrawlError::SourceFile(_) => "crawl.bad_source_file",
            CrawlError::AlreadyRunning(_) => "crawl.already_running",
            CrawlError::BadUrl(_) => "crawl.bad_url",
            CrawlError::MissingSecret(_) => "crawl.missing_secret",
            CrawlError::Store(e) => e.code(),
            CrawlError::Index(e) => e.code(),
            CrawlError::Internal(_) => "crawl.internal",
        }
    }
}
