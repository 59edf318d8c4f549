use std::path::PathBuf;

/// Per-file problems. Messages are for users (zh-CN); `code()` is stable for clients.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("无法读取文件 {path}：{source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("文件为空：{0}")]
    Empty(PathBuf),
    #[error("文件过大：{path}（{size} 字节，上限 {limit} 字节）")]
    TooLarge { path: PathBuf, size: u64, limit: u64 },
    #[error("不是文本文件（疑似二进制内容）：{0}")]
    Binary(PathBuf),
    #[error("文件不是有效的 UTF-8 文本：{0}（请另存为 UTF-8 后重试）")]
    InvalidUtf8(PathBuf),
    #[error("不支持的文件类型：{0}（支持 .md .markdown .txt .html .htm .docx .pdf）")]
    Unsupported(PathBuf),
    #[error("无法读取 Word 文档：{path}（{detail}；请确认是 .docx 格式，旧版 .doc 请先另存为 .docx）")]
    BadDocx { path: PathBuf, detail: String },
    #[error("无法读取 PDF：{path}（{detail}）")]
    BadPdf { path: PathBuf, detail: String },
    #[error("文件中没有可入库的正文：{0}")]
    NoText(PathBuf),
    #[error("文件头部元数据有误：{path}：{detail}")]
    FrontMatter { path: PathBuf, detail: String },
    #[error("公众号文章不可用：{path}（{message}）")]
    WechatUnavailable { path: PathBuf, message: String },
    #[error("保存的是微信验证页，不是文章：{0}（请在浏览器中完成验证后重新保存）")]
    WechatVerification(PathBuf),
}

impl IngestError {
    pub fn code(&self) -> &'static str {
        match self {
            IngestError::Io { .. } => "ingest.io",
            IngestError::Empty(_) => "ingest.empty_file",
            IngestError::TooLarge { .. } => "ingest.file_too_large",
            IngestError::Binary(_) => "ingest.binary_file",
            IngestError::InvalidUtf8(_) => "ingest.invalid_utf8",
            IngestError::Unsupported(_) => "ingest.unsupported_type",
            IngestError::BadDocx { .. } => "ingest.bad_docx",
            IngestError::BadPdf { .. } => "ingest.bad_pdf",
            IngestError::NoText(_) => "ingest.no_text",
            IngestError::FrontMatter { .. } => "ingest.bad_front_matter",
            IngestError::WechatUnavailable { .. } => "ingest.wechat_unavailable",
            IngestError::WechatVerification(_) => "ingest.wechat_verification",
        }
    }
}
