//! Bounded readers of uploaded office files. Every importer (organisations, members, curated
//! pairs, .docx documents) goes through here, so one hostile file — a cell at XFD1048576, shared
//! strings that inflate a thousandfold, ten thousand zip entries, a truncated archive — is refused
//! with a Chinese message and a stable code before a parser allocates for it.

mod error;
mod sheet;
mod zip_guard;

pub use dwt_core::config::UploadLimits;
pub use error::UploadError;
pub use sheet::{xlsx_grid, Grid};
pub use zip_guard::{check_zip, Budget};
