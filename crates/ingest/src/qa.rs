//! Curated Q&A pair files: JSONL, CSV and XLSX (calamine) → [`NewQaPair`] rows, with a
//! per-row error report. Parsing never writes; `dangwutong qa import` stores the good rows in
//! one transaction and reports the bad ones by row number.

use std::collections::HashSet;
use std::path::Path;

use dwt_store::{NewQaPair, SourceRef};
use dwt_upload::{UploadError, UploadLimits};
use serde::Serialize;

/// Longest accepted curated question / answer, in characters.
pub const MAX_QUESTION_CHARS: usize = 500;
pub const MAX_ANSWER_CHARS: usize = 5000;

#[derive(Debug, thiserror::Error)]
pub enum QaFileError {
    #[error("无法读取文件 {path}：{message}")]
    Read { path: String, message: String },
    #[error("不支持的问答文件类型：{0}（支持 .jsonl .csv .xlsx；.xls、.ods 请另存为 .xlsx）")]
    Unsupported(String),
    #[error("问答文件行数过多（超过 {max} 行），请分批导入")]
    TooManyRows { max: u32 },
    #[error(transparent)]
    Upload(#[from] UploadError),
    #[error("文件缺少必需的列：{0}（需要 question 和 answer 列，也可用中文列名“问题”“答案”）")]
    MissingColumns(String),
    #[error("文件中没有问答数据：{0}")]
    Empty(String),
}

impl QaFileError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Read { .. } => "qa_import.read_failed",
            Self::Unsupported(_) => "qa_import.unsupported_type",
            Self::MissingColumns(_) => "qa_import.missing_columns",
            Self::Empty(_) => "qa_import.empty",
            Self::TooManyRows { .. } => "qa_import.too_many_rows",
            Self::Upload(e) => e.code(),
        }
    }
}

/// A row that could not be imported: 1-based line or sheet row, and why (zh-CN).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RowError {
    pub row: usize,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct QaFile {
    /// Good rows with the row number each came from.
    pub pairs: Vec<(usize, NewQaPair)>,
    pub errors: Vec<RowError>,
}

/// Reads a Q&A file by extension, within `limits`.
pub fn read_qa_file(path: &Path, limits: &UploadLimits) -> Result<QaFile, QaFileError> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
    let read_err = |e: &dyn std::fmt::Display| QaFileError::Read { path: path.display().to_string(), message: e.to_string() };
    let file = match ext.as_str() {
        "jsonl" | "ndjson" => {
            let bytes = std::fs::read(path).map_err(|e| read_err(&e))?;
            let text = String::from_utf8(bytes).map_err(|_| read_err(&"不是有效的 UTF-8 文本"))?;
            parse_jsonl(&text, limits)?
        }
        "csv" => {
            let bytes = std::fs::read(path).map_err(|e| read_err(&e))?;
            let text = String::from_utf8(bytes).map_err(|_| read_err(&"不是有效的 UTF-8 文本（Excel 导出的 CSV 请选择“CSV UTF-8”）"))?;
            parse_csv(&text, limits)?
        }
        "xlsx" | "xlsm" => {
            let bytes = std::fs::read(path).map_err(|e| read_err(&e))?;
            parse_spreadsheet_bytes(&bytes, &path.display().to_string(), limits)?
        }
        _ => return Err(QaFileError::Unsupported(path.display().to_string())),
    };
    if file.pairs.is_empty() && file.errors.is_empty() {
        return Err(QaFileError::Empty(path.display().to_string()));
    }
    Ok(file)
}

/// JSONL: one object per line with `question`, `answer` and optional `similar` (array or
/// `|`-separated string), `category`, `source_refs` (array of {doc, article} or a string).
pub fn parse_jsonl(text: &str, limits: &UploadLimits) -> Result<QaFile, QaFileError> {
    let mut out = QaFile::default();
    for (i, line) in text.lines().enumerate() {
        let row = i + 1;
        if row > limits.max_rows as usize {
            return Err(QaFileError::TooManyRows { max: limits.max_rows });
        }
        let line = line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() {
            continue;
        }
        let v: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                out.errors.push(RowError { row, message: format!("不是有效的 JSON：{e}") });
                continue;
            }
        };
        let field = |k: &str| v.get(k).cloned().unwrap_or(serde_json::Value::Null);
        let text_of = |k: &str| field(k).as_str().map(str::to_string).unwrap_or_default();
        let similar = match field("similar") {
            serde_json::Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
            serde_json::Value::String(s) => split_similar(&s),
            _ => Vec::new(),
        };
        let refs = match field("source_refs") {
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|x| match x {
                    serde_json::Value::String(s) => parse_refs(s).into_iter().next(),
                    other => serde_json::from_value::<SourceRef>(other.clone()).ok(),
                })
                .collect(),
            serde_json::Value::String(s) => parse_refs(&s),
            _ => Vec::new(),
        };
        push_row(&mut out, row, text_of("question"), similar, text_of("answer"), text_of("category"), refs);
    }
    Ok(out.without_repeats())
}

/// Finds the column of each field by header (English or Chinese names).
struct Columns {
    question: usize,
    answer: usize,
    similar: Option<usize>,
    category: Option<usize>,
    refs: Option<usize>,
}

fn columns(header: &[String]) -> Option<Columns> {
    let find = |names: &[&str]| header.iter().position(|h| names.iter().any(|n| h.trim().trim_start_matches('\u{feff}').eq_ignore_ascii_case(n)));
    Some(Columns {
        question: find(&["question", "问题", "标准问题"])?,
        answer: find(&["answer", "答案", "答复", "回答"])?,
        similar: find(&["similar", "相似问题", "相似问法"]),
        category: find(&["category", "分类", "类别"]),
        refs: find(&["source_refs", "依据", "出处", "来源"]),
    })
}

fn rows_to_pairs(rows: Vec<Vec<String>>, name: &str, limits: &UploadLimits) -> Result<QaFile, QaFileError> {
    if rows.len() > limits.max_rows as usize + 1 {
        return Err(QaFileError::TooManyRows { max: limits.max_rows });
    }
    let mut iter = rows.into_iter().enumerate();
    let Some((_, header)) = iter.next() else { return Err(QaFileError::Empty(name.to_string())) };
    let cols = columns(&header).ok_or_else(|| QaFileError::MissingColumns(name.to_string()))?;
    let mut out = QaFile::default();
    for (i, r) in iter {
        if r.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |c: Option<usize>| c.and_then(|c| r.get(c)).cloned().unwrap_or_default();
        push_row(
            &mut out,
            i + 1,
            cell(Some(cols.question)),
            split_similar(&cell(cols.similar)),
            cell(Some(cols.answer)),
            cell(cols.category),
            parse_refs(&cell(cols.refs)),
        );
    }
    Ok(out.without_repeats())
}

pub fn parse_csv(text: &str, limits: &UploadLimits) -> Result<QaFile, QaFileError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut out_errors = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        if i > limits.max_rows as usize {
            return Err(QaFileError::TooManyRows { max: limits.max_rows });
        }
        match rec {
            Ok(r) => rows.push(r.iter().map(str::to_string).collect()),
            Err(e) => {
                out_errors.push(RowError { row: i + 1, message: format!("CSV 格式有误：{e}") });
                rows.push(Vec::new());
            }
        }
    }
    let mut file = rows_to_pairs(rows, "CSV", limits)?;
    file.errors.extend(out_errors);
    file.errors.sort_by_key(|e| e.row);
    Ok(file)
}

/// An uploaded .xlsx held in memory; `name` names it in messages. Read through the bounded
/// reader every importer shares (a far cell or a string bomb is refused before it is allocated).
pub fn parse_spreadsheet_bytes(bytes: &[u8], name: &str, limits: &UploadLimits) -> Result<QaFile, QaFileError> {
    let grid = dwt_upload::xlsx_grid(bytes, limits)?;
    if grid.rows.is_empty() {
        return Err(QaFileError::Empty(name.to_string()));
    }
    let rows: Vec<Vec<String>> = grid.rows.iter().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
    let mut file = rows_to_pairs(rows, name, limits)?;
    // Row numbers count from the sheet's first row, not from the first used one.
    for (row, _) in &mut file.pairs {
        *row += grid.first_row;
    }
    for e in &mut file.errors {
        e.row += grid.first_row;
    }
    Ok(file)
}

/// `similar` cells: one phrasing per line or separated by `|`.
fn split_similar(s: &str) -> Vec<String> {
    s.split(['|', '\n', '｜']).map(str::trim).filter(|x| !x.is_empty()).map(str::to_string).collect()
}

/// `中国共产党章程 第七条; 信访工作条例 第十条` (also `《中国共产党章程》第七条`, `；` or newlines).
pub fn parse_refs(s: &str) -> Vec<SourceRef> {
    s.split([';', '；', '\n'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|part| {
            let part = part.replace(['《', '》'], " ");
            let part = part.trim();
            match part.rfind('第').filter(|&i| part[i..].trim_end().ends_with('条')) {
                Some(i) => SourceRef { doc: part[..i].trim().to_string(), article: Some(part[i..].trim().to_string()) },
                None => SourceRef { doc: part.to_string(), article: None },
            }
        })
        .filter(|r| !r.doc.is_empty())
        .collect()
}

fn push_row(out: &mut QaFile, row: usize, question: String, similar: Vec<String>, answer: String, category: String, source_refs: Vec<SourceRef>) {
    let question = question.trim().to_string();
    let answer = answer.trim().to_string();
    let problem = if question.is_empty() {
        Some("缺少问题（question）".to_string())
    } else if answer.is_empty() {
        Some("缺少答案（answer）".to_string())
    } else if question.chars().count() > MAX_QUESTION_CHARS {
        Some(format!("问题超过 {MAX_QUESTION_CHARS} 个字"))
    } else if answer.chars().count() > MAX_ANSWER_CHARS {
        Some(format!("答案超过 {MAX_ANSWER_CHARS} 个字"))
    } else {
        None
    };
    match problem {
        Some(message) => out.errors.push(RowError { row, message }),
        None => {
            let mut similar: Vec<String> = similar.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty() && *s != question).collect();
            similar.dedup();
            out.pairs.push((row, NewQaPair { question, similar, answer, category: category.trim().to_string(), source_refs }));
        }
    }
}

impl QaFile {
    /// Moves rows repeating an earlier row's question to the errors (one pass, so a large file
    /// is checked in linear time).
    fn without_repeats(mut self) -> Self {
        let mut seen = HashSet::new();
        let mut pairs = Vec::with_capacity(self.pairs.len());
        for (row, p) in self.pairs {
            if seen.insert(p.question.clone()) {
                pairs.push((row, p));
            } else {
                self.errors.push(RowError { row, message: format!("问题与前面的行重复：{}", p.question) });
            }
        }
        self.pairs = pairs;
        self.errors.sort_by_key(|e| e.row);
        self
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn jsonl_rows_and_row_errors() {
        let text = "{\"question\":\"预备期多长？\",\"similar\":[\"考察期多久\"],\"answer\":\"一年。\",\"category\":\"党员发展\",\"source_refs\":[{\"doc\":\"中国共产党章程\",\"article\":\"第七条\"}]}\n\
                    \n\
                    {\"question\":\"\",\"answer\":\"x\"}\n\
                    not json\n\
                    {\"question\":\"预备期多长？\",\"answer\":\"重复\"}\n\
                    {\"question\":\"党龄\",\"similar\":\"党龄怎么算|党龄从何时起\",\"answer\":\"见第七条\",\"source_refs\":\"《中国共产党章程》第七条\"}\n";
        let f = parse_jsonl(text, &UploadLimits::default()).unwrap();
        assert_eq!(f.pairs.len(), 2);
        assert_eq!(f.pairs[0].1.source_refs[0].article.as_deref(), Some("第七条"));
        assert_eq!(f.pairs[1].0, 6);
        assert_eq!(f.pairs[1].1.similar, vec!["党龄怎么算", "党龄从何时起"]);
        assert_eq!(f.pairs[1].1.source_refs, vec![SourceRef { doc: "中国共产党章程".into(), article: Some("第七条".into()) }]);
        let rows: Vec<usize> = f.errors.iter().map(|e| e.row).collect();
        assert_eq!(rows, vec![3, 4, 5]);
        assert!(f.errors[0].message.contains("缺少问题"));
        assert!(f.errors[2].message.contains("重复"));
    }

    #[test]
    fn csv_with_chinese_headers_multiline_cells_and_missing_columns() {
        let text = "\u{feff}问题,相似问题,答案,分类,依据\n预备期多长,\"考察期多久\n预备期是几年\",一年,党员发展,中国共产党章程 第七条; 信访工作条例 第十条\n,,,\n";
        let f = parse_csv(text, &UploadLimits::default()).unwrap();
        assert_eq!(f.pairs.len(), 1, "{:?}", f.errors);
        let p = &f.pairs[0].1;
        assert_eq!(p.similar, vec!["考察期多久", "预备期是几年"]);
        assert_eq!(p.source_refs.len(), 2);
        assert_eq!(p.source_refs[1].doc, "信访工作条例");
        let err = parse_csv("foo,bar\n1,2\n", &UploadLimits::default()).err().unwrap();
        assert_eq!(err.code(), "qa_import.missing_columns");
    }

    #[test]
    fn refs_without_article_keep_the_document() {
        assert_eq!(parse_refs("中国共产党章程"), vec![SourceRef { doc: "中国共产党章程".into(), article: None }]);
    }

    #[test]
    fn xlsx_first_sheet_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("qa.xlsx");
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in ["question", "similar", "answer", "category", "source_refs"].iter().enumerate() {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        ws.write_string(1, 0, "党龄从什么时候算起？").unwrap();
        ws.write_string(1, 1, "党龄怎么计算|党龄起算时间").unwrap();
        ws.write_string(1, 2, "党龄从预备期满转为正式党员之日算起。").unwrap();
        ws.write_string(1, 4, "中国共产党章程 第七条").unwrap();
        ws.write_string(2, 0, "没有答案的问题").unwrap();
        wb.save(&path).unwrap();
        let f = read_qa_file(&path, &UploadLimits::default()).unwrap();
        assert_eq!(f.pairs.len(), 1);
        assert_eq!(f.pairs[0].1.similar.len(), 2);
        assert_eq!(f.pairs[0].1.source_refs[0].article.as_deref(), Some("第七条"));
        assert_eq!(f.errors, vec![RowError { row: 3, message: "缺少答案（answer）".into() }]);
        assert_eq!(read_qa_file(&dir.path().join("qa.docx"), &UploadLimits::default()).err().unwrap().code(), "qa_import.unsupported_type");
    }

    #[test]
    fn row_caps_and_old_formats_are_refused_in_chinese() {
        let limits = UploadLimits { max_rows: 2, ..UploadLimits::default() };
        let jsonl = "{\"question\":\"a\",\"answer\":\"b\"}\n".repeat(3);
        assert_eq!(parse_jsonl(&jsonl, &limits).err().unwrap().to_string(), "问答文件行数过多（超过 2 行），请分批导入");
        assert_eq!(parse_jsonl(&jsonl[..jsonl.len() * 2 / 3], &limits).unwrap().pairs.len(), 1);
        assert_eq!(parse_csv("问题,答案\na,b\nc,d\ne,f\n", &limits).err().unwrap().code(), "qa_import.too_many_rows");
        assert_eq!(parse_csv("问题,答案\na,b\nc,d\n", &limits).unwrap().pairs.len(), 2);
        let dir = tempfile::tempdir().unwrap();
        let xls = dir.path().join("old.xls");
        std::fs::write(&xls, b"\xd0\xcf\x11\xe0").unwrap();
        let err = read_qa_file(&xls, &limits).err().unwrap();
        assert_eq!(err.code(), "qa_import.unsupported_type");
        assert!(err.to_string().contains("另存为 .xlsx"), "{err}");
    }

    #[test]
    fn an_uploaded_sheet_goes_through_the_bounded_reader() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "问题").unwrap();
        ws.write_string(0, 1, "答案").unwrap();
        ws.write_string(1_048_575, 16_383, "x").unwrap();
        let far = wb.save_to_buffer().unwrap();
        let err = parse_spreadsheet_bytes(&far, "上传的文件", &UploadLimits::default()).err().unwrap();
        assert_eq!(err.code(), "upload.sheet_too_large");
        let empty = rust_xlsxwriter::Workbook::new().save_to_buffer().unwrap();
        assert_eq!(parse_spreadsheet_bytes(&empty, "上传的文件", &UploadLimits::default()).err().unwrap().code(), "qa_import.empty");
    }

    #[test]
    fn repeated_questions_are_found_in_one_pass_and_reported_in_row_order() {
        let mut text = String::from("问题,答案\n");
        for i in 0..3000 {
            text.push_str(&format!("问题{},答{}\n", i % 1500, i));
        }
        let f = parse_csv(&text, &UploadLimits::default()).unwrap();
        assert_eq!((f.pairs.len(), f.errors.len()), (1500, 1500));
        assert_eq!(f.errors[0], RowError { row: 1502, message: "问题与前面的行重复：问题0".into() });
        assert!(f.errors.windows(2).all(|w| w[0].row < w[1].row));
    }
}
