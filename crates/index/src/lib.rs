//! Chunking, embedding, vector and lexical indexes, and hybrid search over the knowledge base.

pub mod chunker;
pub mod embed;
mod error;
pub mod fusion;
mod kb;
pub mod lexical;
pub mod qtype;
pub mod rerank;
pub mod query;
pub mod tokenizer;
pub mod vector;

use dwt_core::{DocStatus, DocType};
use serde::Serialize;

pub use embed::Embedder;
pub use error::IndexError;
pub use kb::{ConsistencyReport, IngestOutcome, KnowledgeBase, RechunkOptions, RechunkPlan};

/// Optional restrictions applied identically by both retrievers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchFilter {
    pub doc_types: Vec<DocType>,
    pub statuses: Vec<DocStatus>,
    pub doc_ids: Vec<i64>,
    /// Document categories (政策法规, 工作动态 …); resolved to document ids before retrieval.
    pub categories: Vec<String>,
}

/// Which retrievers take part; `Hybrid` uses the configured fusion weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RetrievalMode {
    #[default]
    Hybrid,
    Bm25,
    Dense,
}

impl RetrievalMode {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hybrid" => Some(Self::Hybrid),
            "bm25" => Some(Self::Bm25),
            "dense" => Some(Self::Dense),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct SearchOptions {
    pub top_k: Option<usize>,
    pub filter: SearchFilter,
    pub mode: RetrievalMode,
    /// Where the ranking stops: the final re-scored list, or the raw fusion (diagnostics).
    pub stage: SearchStage,
}

/// How far `search` takes the ranking; eval compares the stages to see where a gold is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchStage {
    #[default]
    Final,
    /// Fused BM25 + dense order, before coverage, priority and status re-scoring.
    Fused,
}

/// One search result with everything a citation needs.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Hit {
    pub chunk_id: i64,
    pub doc_id: i64,
    pub doc_title: String,
    pub doc_type: DocType,
    pub doc_status: DocStatus,
    /// Original page of crawled documents; publish time (RFC 3339) of news.
    pub doc_url: Option<String>,
    pub doc_published_at: Option<String>,
    /// Title of the document that replaced this (repealed) one.
    pub doc_superseded_by: Option<String>,
    /// Edition of the document (「2022年版」), named in citation labels.
    pub doc_edition: Option<String>,
    pub article: Option<String>,
    pub heading_path: Vec<String>,
    pub text: String,
    /// HTML with `<em>` around matched words; the rest is escaped.
    pub snippet: String,
    /// Final score: fused (weighted RRF or convex), reranked with coverage when configured.
    pub score: f32,
    /// IDF-weighted share of the question's words found in the chunk.
    pub coverage: f32,
    pub bm25_rank: Option<usize>,
    pub bm25_score: Option<f32>,
    pub dense_rank: Option<usize>,
    pub dense_score: Option<f32>,
    /// What the head re-scoring saw (for `eval --rank-features`).
    #[serde(skip)]
    pub features: rerank::RankFeatures,
}
