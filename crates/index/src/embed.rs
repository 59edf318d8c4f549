//! multilingual-e5-small through fastembed on a dynamically loaded ONNX Runtime.
//! E5 conventions: "query: " / "passage: " prefixes, mean pooling, L2-normalised, 384 dims.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use dwt_core::config::EmbeddingSettings;
use fastembed::{
    InitOptionsUserDefined, Pooling, TextEmbedding, TokenizerFiles, UserDefinedEmbeddingModel,
};
use tokenizers::Tokenizer;

use crate::error::IndexError;

pub const QUERY_PREFIX: &str = "query: ";
pub const PASSAGE_PREFIX: &str = "passage: ";

/// Cumulative embedding work, for benchmarks and logs.
#[derive(Debug, Default)]
pub struct EmbedStats {
    pub texts: std::sync::atomic::AtomicU64,
    pub nanos: std::sync::atomic::AtomicU64,
}

pub struct Embedder {
    pub stats: EmbedStats,
    model: Mutex<TextEmbedding>,
    tokenizer: Tokenizer,
    batch_size: usize,
    dimension: usize,
    max_tokens: usize,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder").field("dimension", &self.dimension).finish()
    }
}

/// Where to look for libonnxruntime: config, `ORT_DYLIB_PATH`, then `.deps/onnxruntime/` in the
/// working directory or above the executable (cargo's target/ sits under the repo).
fn find_runtime(configured: Option<&Path>) -> Result<PathBuf, IndexError> {
    if let Some(p) = configured {
        return if p.is_file() { Ok(p.to_path_buf()) } else { Err(IndexError::RuntimeMissing(format!("配置的路径不存在：{}", p.display()))) };
    }
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from) {
        return if p.is_file() {
            Ok(p)
        } else {
            Err(IndexError::RuntimeMissing(format!("ORT_DYLIB_PATH 指向的文件不存在：{}", p.display())))
        };
    }
    let mut roots: Vec<PathBuf> = std::env::current_dir().into_iter().collect();
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().skip(1).map(Path::to_path_buf));
    }
    for root in roots {
        let dir = root.join(".deps").join("onnxruntime");
        let mut libs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("libonnxruntime.so")))
            .collect();
        libs.sort();
        if let Some(lib) = libs.pop() {
            return Ok(lib);
        }
    }
    Err(IndexError::RuntimeMissing("ORT_DYLIB_PATH 未设置，.deps/onnxruntime/ 中也没有".into()))
}

/// Loads the runtime library once per process.
fn init_runtime(configured: Option<&Path>) -> Result<(), IndexError> {
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    let path = find_runtime(configured)?;
    let result = INIT.get_or_init(|| {
        // Loading the library is what matters; sessions then use ort's default environment.
        ort::init_from(&path).map(|_builder| ()).map_err(|e| format!("{}|{e}", path.display()))
    });
    result.clone().map_err(|e| {
        let (p, d) = e.split_once('|').unwrap_or(("", e.as_str()));
        IndexError::RuntimeBroken { path: p.to_string(), detail: d.to_string() }
    })
}

fn read_model_file(dir: &Path, name: &str) -> Result<Vec<u8>, IndexError> {
    let p = dir.join(name);
    std::fs::read(&p).map_err(|_| IndexError::ModelMissing { dir: dir.display().to_string(), file: name.to_string() })
}

impl Embedder {
    /// Loads the model from `settings.model_dir`, or through fastembed's hub download into
    /// `cache_dir` when no directory is configured.
    pub fn load(settings: &EmbeddingSettings, cache_dir: &Path) -> Result<Self, IndexError> {
        init_runtime(settings.ort_dylib_path.as_deref())?;
        let threads = if settings.threads == 0 {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
        } else {
            settings.threads
        };
        let (model, tokenizer_bytes, dir) = match &settings.model_dir {
            Some(dir) => {
                let onnx = read_model_file(dir, "model.onnx")?;
                let tokenizer_file = read_model_file(dir, "tokenizer.json")?;
                let files = TokenizerFiles {
                    tokenizer_file: tokenizer_file.clone(),
                    config_file: read_model_file(dir, "config.json")?,
                    special_tokens_map_file: read_model_file(dir, "special_tokens_map.json")?,
                    tokenizer_config_file: read_model_file(dir, "tokenizer_config.json")?,
                };
                let user = UserDefinedEmbeddingModel::new(onnx, files).with_pooling(Pooling::Mean);
                let opts = InitOptionsUserDefined::new()
                    .with_max_length(settings.max_tokens)
                    .with_intra_threads(threads);
                let model = TextEmbedding::try_new_from_user_defined(user, opts)
                    .map_err(|e| IndexError::ModelBroken { dir: dir.display().to_string(), detail: e.to_string() })?;
                (model, tokenizer_file, dir.clone())
            }
            None => {
                let opts = fastembed::TextInitOptions::new(fastembed::EmbeddingModel::MultilingualE5Small)
                    .with_cache_dir(cache_dir.to_path_buf())
                    .with_max_length(settings.max_tokens)
                    .with_intra_threads(threads)
                    .with_show_download_progress(false);
                let model = TextEmbedding::try_new(opts).map_err(|e| IndexError::ModelBroken {
                    dir: format!("{}（从模型仓库下载）", cache_dir.display()),
                    detail: e.to_string(),
                })?;
                let tok = find_file(cache_dir, "tokenizer.json").ok_or_else(|| IndexError::ModelMissing {
                    dir: cache_dir.display().to_string(),
                    file: "tokenizer.json".into(),
                })?;
                let bytes = std::fs::read(&tok).map_err(|e| IndexError::ModelBroken { dir: cache_dir.display().to_string(), detail: e.to_string() })?;
                (model, bytes, cache_dir.to_path_buf())
            }
        };
        let mut tokenizer = Tokenizer::from_bytes(&tokenizer_bytes)
            .map_err(|e| IndexError::ModelBroken { dir: dir.display().to_string(), detail: e.to_string() })?;
        // Counting tokens must see the whole text, not the model's truncated window.
        let _ = tokenizer.with_truncation(None);
        let _ = tokenizer.with_padding(None);
        let embedder = Self {
            stats: EmbedStats::default(),
            model: Mutex::new(model),
            tokenizer,
            batch_size: settings.batch_size,
            dimension: settings.dimension,
            max_tokens: settings.max_tokens,
        };
        // Fail at start, not at the first question, when the graph does not match.
        let probe = embedder.embed_query("测试")?;
        if probe.len() != settings.dimension {
            return Err(IndexError::DimensionMismatch { expected: settings.dimension, found: probe.len() });
        }
        Ok(embedder)
    }

    pub fn dimension(&self) -> usize {
        self.dimension
    }

    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Tokens the model sees for `text`, special tokens included.
    pub fn count_tokens(&self, text: &str) -> usize {
        self.tokenizer.encode(text, true).map(|e| e.len()).unwrap_or_else(|_| text.chars().count() + 2)
    }

    fn run(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, IndexError> {
        use std::sync::atomic::Ordering::Relaxed;
        let n = texts.len() as u64;
        let mut model = self.model.lock().map_err(|_| IndexError::Embedding("模型锁已损坏".into()))?;
        let start = std::time::Instant::now();
        // One ONNX batch per call: fastembed keeps every batch's full hidden states until the
        // call returns, so a single call over thousands of passages held hundreds of MB.
        let mut out = Ok(Vec::with_capacity(texts.len()));
        for batch in texts.chunks(self.batch_size.max(1)) {
            match (&mut out, model.embed(batch, None)) {
                (Ok(acc), Ok(v)) => acc.extend(v),
                (_, Err(e)) => {
                    out = Err(IndexError::Embedding(e.to_string()));
                    break;
                }
                (Err(_), Ok(_)) => break,
            }
        }
        self.stats.nanos.fetch_add(start.elapsed().as_nanos() as u64, Relaxed);
        self.stats.texts.fetch_add(n, Relaxed);
        out
    }

    pub fn embed_query(&self, query: &str) -> Result<Vec<f32>, IndexError> {
        let mut v = self.run(vec![format!("{QUERY_PREFIX}{query}")])?;
        v.pop().ok_or_else(|| IndexError::Embedding("模型没有返回向量".into()))
    }

    /// Embeds passages (prefix added here). Texts are sorted by length so that each ONNX batch
    /// pads little; results come back in input order.
    pub fn embed_passages(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, IndexError> {
        self.embed_prefixed(PASSAGE_PREFIX, texts)
    }

    /// Embeds several questions at once (query prefix): for question-to-question similarity,
    /// as when matching curated Q&A pairs.
    pub fn embed_queries(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, IndexError> {
        self.embed_prefixed(QUERY_PREFIX, texts)
    }

    fn embed_prefixed(&self, prefix: &str, texts: &[String]) -> Result<Vec<Vec<f32>>, IndexError> {
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let sorted: Vec<String> = order.iter().map(|&i| format!("{prefix}{}", texts[i])).collect();
        let vectors = self.run(sorted)?;
        if vectors.len() != texts.len() {
            return Err(IndexError::Embedding(format!("向量数量不符：{} != {}", vectors.len(), texts.len())));
        }
        let mut out = vec![Vec::new(); texts.len()];
        for (v, &i) in vectors.into_iter().zip(order.iter()) {
            out[i] = v;
        }
        Ok(out)
    }
}

fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let p = entry.path();
        if p.is_dir() {
            if let Some(found) = find_file(&p, name) {
                return Some(found);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}
