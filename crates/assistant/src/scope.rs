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
const SOURCE_MARKERS: &[&str] =
    &["里", "中", "上", "规定", "怎么说", "咋说", "怎么讲", "说", "讲", "第", "的规定", "的条文", "的说法", "有没有", "咋", "怎么写", "怎么定"];
/// What may precede an alias used as a source.
const SOURCE_PREFIXES: &[&str] = &["按", "按照", "根据", "依据", "依照", "是说", "说的是", "问的是", "是问", "想问", "看的是", "看"];
/// A mention right after one of these is the source the member turns away from
/// (「不是党章，我问的是细则」): neither a scope nor a topic.
const NEGATIONS: &[&str] = &["不是", "不看", "不问"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mention {
    /// 「党章里」「按细则」: answer from this document.
    Source,
    /// 「不是党章，…」: the member turns away from this document.
    TurnedAway,
    /// 「违反八项规定精神…」: part of the topic.
    InPassing,
}

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

    /// Every mention of a document, as (title, byte range, how it is mentioned).
    fn mentions(&self, question: &str) -> Vec<(&str, std::ops::Range<usize>, Mention)> {
        let mut out = Vec::new();
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
                let kind = if NEGATIONS.iter().any(|n| before.ends_with(n)) {
                    Mention::TurnedAway
                } else if SOURCE_MARKERS.iter().any(|m| after.starts_with(m)) || SOURCE_PREFIXES.iter().any(|p| before.ends_with(p)) {
                    Mention::Source
                } else {
                    Mention::InPassing
                };
                out.push((title.as_str(), pos..end, kind));
            }
        }
        out
    }

    /// The title of the one document the question names as its source, if any.
    pub fn named_source(&self, question: &str) -> Option<&str> {
        let mut found: Option<&str> = None;
        for (title, _, kind) in self.mentions(question) {
            if kind != Mention::Source {
                continue;
            }
            match found {
                Some(t) if t != title => return None,
                _ => found = Some(title),
            }
        }
        found
    }

    /// How many documents the question names in passing (「八项规定最后一条讲的啥」): the
    /// document is then part of what it asks about.
    pub fn named_in_passing(&self, question: &str) -> usize {
        self.mentions(question).iter().filter(|(_, _, k)| *k == Mention::InPassing).count()
    }

    /// The question without the documents it names as sources (or turns away from): what is
    /// left is what it asks about (「我问的是发展党员细则里咋说的」 asks about nothing new).
    pub fn without_sources(&self, question: &str) -> String {
        let mut ranges: Vec<std::ops::Range<usize>> =
            self.mentions(question).into_iter().filter(|(_, _, k)| *k != Mention::InPassing).map(|(_, r, _)| r).collect();
        ranges.sort_by_key(|r| r.start);
        let mut out = String::with_capacity(question.len());
        let mut at = 0;
        for r in ranges {
            if r.start >= at {
                out.push_str(&question[at..r.start]);
                out.push(' ');
                at = r.end;
            }
        }
        out.push_str(&question[at..]);
        out
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
        assert_eq!(a.named_source("不是党章，我问的是发展党员细则，延长的话最少延多久"), Some("中国共产党发展党员工作细则"));
        assert_eq!(a.named_source("我想看的是发展党员细则里的说法"), Some("中国共产党发展党员工作细则"));
    }

    #[test]
    fn the_source_turned_away_from_is_no_scope_and_no_topic() {
        let a = aliases();
        assert_eq!(a.named_source("不是党章里的，是别处"), None);
        let left = a.without_sources("不是党章，我问的是发展党员细则里咋说的");
        assert!(!left.contains("党章") && !left.contains("细则"), "{left}");
        assert!(left.contains("咋说的"), "{left}");
        assert_eq!(a.without_sources("违反八项规定精神会受什么处分"), "违反八项规定精神会受什么处分", "named in passing stays");
        assert_eq!(a.named_in_passing("八项规定最后一条讲的啥"), 1);
        assert_eq!(a.named_in_passing("不是党章，我问的是细则里的"), 0);
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
