use thiserror::Error;

/// Why an uploaded file was refused. Messages are for the uploader (zh-CN); `code` is stable.
#[derive(Debug, Error, PartialEq)]
pub enum UploadError {
    #[error("文件不是有效的 {kind} 文件（无法作为 zip 压缩包读取）")]
    NotAZip { kind: &'static str },
    #[error("压缩包已损坏，无法解压（{detail}）")]
    Corrupt { detail: String },
    #[error("压缩包内文件过多（{count} 个，上限 {max} 个）")]
    TooManyEntries { count: usize, max: usize },
    #[error("文件解压后超过 {max} 字节，已拒绝（可能是压缩炸弹）")]
    Inflated { max: u64 },
    #[error("文件解析超过 {secs} 秒，已中止")]
    TimedOut { secs: u64 },
    #[error("文件中没有工作表")]
    NoSheet,
    #[error("表格过大：单元格 {cell} 超出范围（最多 {max_rows} 行、{max_cols} 列）")]
    SheetTooLarge { cell: String, max_rows: u32, max_cols: u32 },
    #[error("表格非空单元格过多（上限 {max} 个）")]
    TooManyCells { max: usize },
    #[error("表格无法读取：{detail}")]
    Unreadable { detail: String },
}

impl UploadError {
    /// Stable error code (`upload.*`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAZip { .. } => "upload.not_a_zip",
            Self::Corrupt { .. } => "upload.corrupt",
            Self::TooManyEntries { .. } => "upload.too_many_entries",
            Self::Inflated { .. } => "upload.inflated_too_large",
            Self::TimedOut { .. } => "upload.timed_out",
            Self::NoSheet => "upload.no_sheet",
            Self::SheetTooLarge { .. } => "upload.sheet_too_large",
            Self::TooManyCells { .. } => "upload.too_many_cells",
            Self::Unreadable { .. } => "upload.unreadable",
        }
    }
}
