//! Document loaders and structure parsing: files (Markdown, plain text, HTML) → [`ParsedDocument`].
//!
//! Parsing is pure and deterministic; writing to the stores is the index crate's job.

mod error;
mod html;
mod loader;
pub mod qa;
mod structure;

pub use error::IngestError;
pub use loader::{collect_files, load_file, LoadOptions};
pub use dwt_core::text::split_sentences;
pub use structure::parse_text;
