//! Document loaders and structure parsing: files (Markdown, plain text, HTML) → [`ParsedDocument`].
//!
//! Parsing is pure and deterministic; writing to the stores is the index crate's job.

mod error;
pub mod extract;
mod html;
mod loader;
pub mod qa;
mod structure;

pub use error::IngestError;
pub use loader::{build_document, collect_files, load_file, parse_bytes, wechat_meta, LoadOptions};
pub use dwt_core::text::split_sentences;
pub use structure::parse_text;
