//! SQL persistence (sqlx). SQLite is the embedded default; SQL is the source of truth that the
//! vector and lexical indexes are rebuilt from.

pub mod backup;
mod chunks;
mod conversations;
mod crawl;
mod knowledge;
mod qa;
mod qa_categories;
mod qa_curation;

pub use chunks::{chunk_basis_of, ChunkEdit, ChunkRow, ChunkVersion, Refusal};
pub use conversations::{Asker, AssistantTurn, ConversationStore, FeedbackItem, MessageRow};
pub use crawl::{CrawlErrorRow, CrawlRun, CrawlStore, CrawlUrl, UrlOutcome, UrlVisit};
pub use knowledge::{DocumentRow, JournalWork, KnowledgeStore, NewChunk, Replaced};
pub use qa_categories::QaCategory;
pub use qa_curation::{normalize_question, QaFilter, QaInput, QaVersion, QA_STATUSES};
pub use qa::{Audience, NewQaPair, QaPair, QaStore, SourceRef, UpsertOutcome};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("数据库错误：{0}")]
    Sql(#[from] sqlx::Error),
    #[error("数据库迁移失败：{0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("无法创建数据目录 {path}：{source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("数据损坏：{0}")]
    Corrupt(String),
    /// A curation change refused for a reason the admin can act on (code + Chinese message).
    #[error("{0}")]
    Refused(Refusal),
}

/// A refused curation change with its stable code and Chinese message.
pub(crate) fn refuse(code: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Refused(Refusal { code, message: message.into() })
}

/// A write transaction that takes SQLite's write lock up front: curation changes read a row, then
/// change it, and a deferred transaction could fail to upgrade under a concurrent writer.
pub(crate) async fn begin_immediate(pool: &sqlx::SqlitePool) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

impl StoreError {
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Sql(_) => "store.sql",
            StoreError::Migrate(_) => "store.migrate",
            StoreError::DataDir { .. } => "store.data_dir",
            StoreError::Corrupt(_) => "store.corrupt",
            StoreError::Refused(e) => e.code,
        }
    }
}
