//! A question that names its source (「党章里怎么说」「按发展党员细则」「我是说纪律处分条例里的」)
//! is answered from that document. Aliases come from `knowledge/dict/document-aliases.tsv`.
//! Naming a document in passing (「违反八项规定精神会受什么处分」) is not a scope: the answer
//! to that lives in the disciplinary rules, so only an alias used as a source counts.

use std::path::Path;

/// (title, aliases), longest aliases first so 「发展党员细则」 wins over 「细则」.
#[derive(Debug, Default, Clone)]
pub struct DocumentAliases {
    entries: Vec<(String, String)>,
}

/// What may follow an alias used as a source: 里 / 中 / 上 / 规定 / 怎么说 / 第X条 / 的规定.
const SOURCE_MARKERS: &[&str] = &["里", "中", "上", "规定", "怎么说", "咋说", "怎么讲", "说", "讲", "第", "的规定", "的条文", "有没有"];
/// What may precede an alias used as a source.
const SOURCE_PREFIXES: &[&str] = &["按", "按照", "根据", "依据", "依照", "是说", "我说的是", "看"];

impl DocumentAliases {
    pub fn parse(text: &str) -> Self {
        let mut entries = Vec::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let Some((title, aliases)) = line.split_once('\t') else { continue };
            let title = title.trim();
            entries.push((title.to_string(), title.to_string()));
            for a in aliases.split([',', '，']).map(str::trim).filter(|a| !a.is_empty()) {
                entries.push((title.to_string(), a.to_string()));
            }
        }
        entries.sort_by_key(|(_, a)| std::cmp::Reverse(a.chars().count()));
        Self { entries }
    }

    pub fn load(dict_dir: &Path) -> Self {
        std::fs::read_to_string(dict_dir.join("document-aliases.tsv")).map(|t| Self::parse(&t)).unwrap_or_default()
    }

    /// The title of the one document the question names as its source, if any.
    pub fn named_source(&self, question: &str) -> Option<&str> {
        let mut found: Option<&str> = None;
        let mut taken: Vec<(usize, usize)> = Vec::new();
        for (title, alias) in &self.entries {
            let mut from = 0;
            while let Some(pos) = question[from..].find(alias.as_str()).map(|p| p + from) {
                let end = pos + alias.len();
                from = end;
                // A shorter alias inside a longer one already seen is the same mention.
                if taken.iter().any(|(s, e)| pos >= *s && end <= *e) {
                    continue;
                }
                taken.push((pos, end));
                let after = &question[end..];
                let before = &question[..pos];
                let as_source = SOURCE_MARKERS.iter().any(|m| after.starts_with(m)) || SOURCE_PREFIXES.iter().any(|p| before.ends_with(p));
                if !as_source {
                    continue;
                }
                match found {
                    Some(t) if t != title => return None,
                    _ => found = Some(title),
                }
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aliases() -> DocumentAliases {
        DocumentAliases::parse("# c\n中国共产党章程\t党章,章程\n中国共产党发展党员工作细则\t发展党员细则,细则\n中共中央八项规定\t八项规定\n中国共产党纪律处分条例\t纪律处分条例\n")
    }

    #[test]
    fn a_document_named_as_source_scopes_the_question() {
        let a = aliases();
        assert_eq!(a.named_source("党章里对预备期怎么规定的"), Some("中国共产党章程"));
        assert_eq!(a.named_source("我是说纪律处分条例里的"), Some("中国共产党纪律处分条例"));
        assert_eq!(a.named_source("按发展党员细则，积极分子要培养多久"), Some("中国共产党发展党员工作细则"));
        assert_eq!(a.named_source("不是细则，党章里咋说的"), Some("中国共产党章程"));
        assert_eq!(a.named_source("八项规定第三项讲什么"), Some("中共中央八项规定"));
    }

    #[test]
    fn a_document_named_in_passing_does_not() {
        let a = aliases();
        assert_eq!(a.named_source("违反八项规定精神会受什么处分"), None);
        assert_eq!(a.named_source("预备期多长"), None);
        assert_eq!(a.named_source("党章里和细则里都怎么说"), None, "two sources: no single scope");
        assert!(DocumentAliases::default().named_source("党章里").is_none());
    }
}
