//! Domain types, configuration and shared text helpers for 党务通. No I/O beyond reading config.

pub mod config;
pub mod edition;
pub mod net;
pub mod numerals;
pub mod text;
pub mod types;

pub use config::{ConfigError, Settings};
pub use types::*;
