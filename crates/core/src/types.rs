use serde::{Deserialize, Serialize};

/// What kind of text a document is; drives chunking and answer priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DocType {
    /// 党章: the party constitution.
    Constitution,
    /// 党内法规 and other structured regulations (条例、准则、规定…).
    #[default]
    Regulation,
    /// Laws and state regulations (distractor-grade for party questions, still citable).
    Law,
    /// Policy documents, notices.
    Notice,
    /// News and articles (crawled sites, WeChat).
    News,
    /// Anything else.
    Other,
}

impl DocType {
    pub fn as_str(self) -> &'static str {
        match self {
            DocType::Constitution => "constitution",
            DocType::Regulation => "regulation",
            DocType::Law => "law",
            DocType::Notice => "notice",
            DocType::News => "news",
            DocType::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "constitution" | "党章" => DocType::Constitution,
            "regulation" | "党内法规" | "法规" | "条例" => DocType::Regulation,
            "law" | "法律" => DocType::Law,
            "notice" | "通知" | "通知公告" | "policy" | "政策" => DocType::Notice,
            "news" | "新闻" | "工作动态" => DocType::News,
            "other" | "其他" => DocType::Other,
            _ => return None,
        })
    }

    /// Structured texts are split by 章/节/条; others by paragraph and sentence.
    pub fn is_structured(self) -> bool {
        matches!(self, DocType::Constitution | DocType::Regulation | DocType::Law)
    }
}

/// Lifecycle of a document version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DocStatus {
    #[default]
    Current,
    Repealed,
    Withdrawn,
}

impl DocStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DocStatus::Current => "current",
            DocStatus::Repealed => "repealed",
            DocStatus::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "current" | "现行有效" | "有效" => DocStatus::Current,
            "repealed" | "已废止" | "废止" => DocStatus::Repealed,
            "withdrawn" | "已撤回" | "撤回" => DocStatus::Withdrawn,
            _ => return None,
        })
    }
}

/// Metadata of a document as read from its file (front matter, title line, source line).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DocMeta {
    pub title: String,
    pub doc_type: DocType,
    pub issuer: Option<String>,
    pub effective_date: Option<String>,
    /// Human-readable version note, e.g. "2017年10月24日 第十九次全国代表大会部分修改".
    pub version: Option<String>,
    pub status: DocStatus,
    /// Where the text came from: a source line, a URL.
    pub origin_url: Option<String>,
    /// Topic category (政策法规, 组织建设 …) from crawler classification; a search filter.
    /// Omitted from serialisation when unset so content hashes of older documents stay equal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Publish time (RFC 3339, Asia/Shanghai) of crawled news and articles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
    /// File name (beside this one) of the document that replaces it: front matter
    /// `superseded_by`, resolved to a document id once both are ingested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_by_file: Option<String>,
}

/// One structural unit of a parsed document: an article, a preamble paragraph, or a text block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Block {
    /// Headings above the block, outermost first (e.g. ["第三章 党的中央组织"]).
    pub heading_path: Vec<String>,
    /// Article label ("第七条", "总纲") when the block is one.
    pub article: Option<String>,
    pub text: String,
    pub kind: BlockKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    /// A whole article (条): never cut mid-sentence, label kept on every piece.
    Article,
    /// A preamble paragraph (总纲/序言): split at paragraph boundaries.
    Preamble,
    /// Free text (news, notices, unlabelled regulation text).
    Text,
}

/// A document read and parsed from its source, ready to be indexed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParsedDocument {
    /// Stable identity of the document across re-ingests (relative path or canonical URL).
    pub key: String,
    pub meta: DocMeta,
    pub blocks: Vec<Block>,
    /// SHA-256 of the normalised full text plus metadata; unchanged hash = nothing to do.
    pub content_hash: String,
}

/// A retrievable piece of a document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkDraft {
    pub position: u32,
    pub heading_path: Vec<String>,
    pub article: Option<String>,
    pub text: String,
    pub token_count: u32,
}

/// A chunk as stored, with its document's citation data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredChunk {
    pub id: i64,
    pub doc_id: i64,
    pub position: u32,
    pub heading_path: Vec<String>,
    pub article: Option<String>,
    pub text: String,
    pub enabled: bool,
    pub doc_title: String,
    pub doc_type: DocType,
    pub doc_status: DocStatus,
    /// The original page of crawled documents (shown in citations).
    #[serde(default)]
    pub doc_url: Option<String>,
    #[serde(default)]
    pub doc_published_at: Option<String>,
    /// Questions or keywords an admin added: extra retrieval units of this chunk.
    #[serde(default)]
    pub questions: Vec<String>,
    /// Title of the document that replaced this chunk's (repealed) document.
    #[serde(default)]
    pub doc_superseded_by: Option<String>,
    /// Edition of the chunk's document (「2022年版」), see [`crate::edition::edition_label`].
    #[serde(default)]
    pub doc_edition: Option<String>,
}
