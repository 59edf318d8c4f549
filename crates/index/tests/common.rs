//! Shared set-up: settings pointing at a scratch data dir, the repo's knowledge/ and the model
//! from `DWT__EMBEDDING__MODEL_DIR` (scripts/test.sh exports it).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use dwt_core::Settings;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

pub fn settings(data_dir: &std::path::Path) -> Settings {
    let mut s = Settings::default();
    s.storage.data_dir = data_dir.to_path_buf();
    s.knowledge.dir = repo_root().join("knowledge");
    s.embedding.model_dir = std::env::var_os("DWT__EMBEDDING__MODEL_DIR").map(PathBuf::from);
    s
}

pub fn model_dir() -> PathBuf {
    std::env::var_os("DWT__EMBEDDING__MODEL_DIR")
        .map(PathBuf::from)
        .expect("DWT__EMBEDDING__MODEL_DIR must point at multilingual-e5-small (run the tests through scripts/test.sh)")
}
