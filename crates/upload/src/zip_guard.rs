//! The zip container check: entry count, and the bytes every entry really inflates to (read and
//! discarded, never trusting the sizes the archive declares) against the limits and a deadline.

use std::io::{Cursor, Read};
use std::time::{Duration, Instant};

use crate::{UploadError, UploadLimits};

/// The wall-clock budget of one file's parse, shared by the zip check and the parser after it.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    deadline: Instant,
    secs: u64,
}

impl Budget {
    pub fn start(limits: &UploadLimits) -> Self {
        Self { deadline: Instant::now() + Duration::from_secs(limits.max_parse_secs), secs: limits.max_parse_secs }
    }

    pub fn check(&self) -> Result<(), UploadError> {
        if Instant::now() > self.deadline {
            return Err(UploadError::TimedOut { secs: self.secs });
        }
        Ok(())
    }
}

/// Checks a zip container (`kind` names the format in messages: "xlsx", "docx"). Inflates each
/// entry into a sink, so the cost is bounded by `max_unzipped_bytes` whatever the file declares.
pub fn check_zip(bytes: &[u8], kind: &'static str, limits: &UploadLimits, budget: &Budget) -> Result<(), UploadError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| UploadError::NotAZip { kind })?;
    if zip.len() > limits.max_zip_entries {
        return Err(UploadError::TooManyEntries { count: zip.len(), max: limits.max_zip_entries });
    }
    let mut left = limits.max_unzipped_bytes;
    let mut buf = vec![0u8; 64 * 1024];
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| UploadError::Corrupt { detail: e.to_string() })?;
        loop {
            let n = entry.read(&mut buf).map_err(|e| UploadError::Corrupt { detail: e.to_string() })?;
            if n == 0 {
                break;
            }
            left = left.checked_sub(n as u64).ok_or(UploadError::Inflated { max: limits.max_unzipped_bytes })?;
            budget.check()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in entries {
            w.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn inflated_bytes_count_not_declared_sizes() {
        let limits = UploadLimits { max_unzipped_bytes: 1000, ..UploadLimits::default() };
        let budget = Budget::start(&limits);
        let ok = zip_of(&[("a.xml", &[b'a'; 600]), ("b.xml", &[b'b'; 400])]);
        assert_eq!(check_zip(&ok, "xlsx", &limits, &budget), Ok(()));
        let over = zip_of(&[("a.xml", &[b'a'; 600]), ("b.xml", &[b'b'; 401])]);
        assert_eq!(check_zip(&over, "xlsx", &limits, &budget), Err(UploadError::Inflated { max: 1000 }));
    }

    #[test]
    fn entry_count_truncation_and_garbage_are_refused() {
        let limits = UploadLimits { max_zip_entries: 3, ..UploadLimits::default() };
        let budget = Budget::start(&limits);
        let names: Vec<String> = (0..4).map(|i| format!("{i}.xml")).collect();
        let many: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
        assert_eq!(check_zip(&zip_of(&many), "xlsx", &limits, &budget), Err(UploadError::TooManyEntries { count: 4, max: 3 }));
        let whole = zip_of(&[("a.xml", &[b'a'; 5000])]);
        let err = check_zip(&whole[..whole.len() / 2], "docx", &limits, &budget).unwrap_err();
        assert_eq!(err.code(), "upload.not_a_zip");
        assert_eq!(check_zip(b"plain text", "docx", &limits, &budget).unwrap_err().to_string(), "文件不是有效的 docx 文件（无法作为 zip 压缩包读取）");
    }

    #[test]
    fn an_expired_budget_stops_the_check() {
        let limits = UploadLimits { max_parse_secs: 0, ..UploadLimits::default() };
        let budget = Budget::start(&limits);
        std::thread::sleep(Duration::from_millis(5));
        let file = zip_of(&[("a.xml", b"<a/>")]);
        assert_eq!(check_zip(&file, "xlsx", &limits, &budget), Err(UploadError::TimedOut { secs: 0 }));
    }
}
