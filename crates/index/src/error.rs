use dwt_store::StoreError;

/// Errors of the index layer. Messages are for users (zh-CN); `code()` is stable for clients.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("未找到 ONNX Runtime 动态库（libonnxruntime.so）：{0}。请运行 scripts/deps.sh，或设置环境变量 ORT_DYLIB_PATH 指向该文件")]
    RuntimeMissing(String),
    #[error("无法加载 ONNX Runtime（{path}）：{detail}。需要 onnxruntime ≥ 1.24，请运行 scripts/deps.sh 重新安装")]
    RuntimeBroken { path: String, detail: String },
    #[error("向量模型缺失：{dir} 中没有 {file}。请运行 scripts/deps.sh（或 ../shared/tools/model-e5/build.sh）生成模型，并设置 DWT__EMBEDDING__MODEL_DIR")]
    ModelMissing { dir: String, file: String },
    #[error("向量模型无法加载（{dir}）：{detail}。模型文件可能已损坏，请删除该目录后重新运行 scripts/deps.sh")]
    ModelBroken { dir: String, detail: String },
    #[error("向量计算失败：{0}")]
    Embedding(String),
    #[error("全文索引错误：{0}")]
    Lexical(String),
    #[error("全文索引正被另一个进程使用（{0}）。请先停止正在运行的 dangwutong 服务或导入任务")]
    LexicalLocked(String),
    #[error("向量库错误：{0}")]
    Vector(String),
    #[error("向量库维度不一致：库中为 {found}，模型为 {expected}。请更换数据目录或重建索引")]
    DimensionMismatch { expected: usize, found: usize },
    #[error("问题不能为空")]
    EmptyQuery,
}

impl IndexError {
    pub fn code(&self) -> &'static str {
        match self {
            IndexError::Store(e) => e.code(),
            IndexError::RuntimeMissing(_) => "embedding.runtime_missing",
            IndexError::RuntimeBroken { .. } => "embedding.runtime_broken",
            IndexError::ModelMissing { .. } => "embedding.model_missing",
            IndexError::ModelBroken { .. } => "embedding.model_broken",
            IndexError::Embedding(_) => "embedding.failed",
            IndexError::Lexical(_) => "lexical.failed",
            IndexError::LexicalLocked(_) => "lexical.locked",
            IndexError::Vector(_) => "vector.failed",
            IndexError::DimensionMismatch { .. } => "vector.dimension_mismatch",
            IndexError::EmptyQuery => "search.empty_query",
        }
    }
}

impl From<tantivy::TantivyError> for IndexError {
    fn from(e: tantivy::TantivyError) -> Self {
        match e {
            tantivy::TantivyError::LockFailure(_, _) => IndexError::LexicalLocked(e.to_string()),
            other => IndexError::Lexical(other.to_string()),
        }
    }
}

impl From<tantivy::directory::error::OpenDirectoryError> for IndexError {
    fn from(e: tantivy::directory::error::OpenDirectoryError) -> Self {
        IndexError::Lexical(e.to_string())
    }
}
