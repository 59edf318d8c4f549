//! Query analysis: normalisation, synonym/abbreviation expansion, article references, terms.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use dwt_core::numerals::normalize_article_label;
use regex::Regex;

use crate::tokenizer::Segmenter;

/// Function words and question particles that carry no retrieval signal.
const STOPWORDS: &[&str] = &[
    "的", "了", "吗", "呢", "吧", "啊", "呀", "么", "嘛", "是", "在", "和", "与", "及", "或", "就", "都", "也", "还", "又",
    "什么", "怎么", "怎么样", "怎样", "如何", "哪些", "哪个", "哪里", "哪", "多少", "几", "多久", "多长", "为什么", "是否",
    "请问", "我", "我们", "你", "你们", "他", "她", "它", "这", "那", "这个", "那个", "一下", "有没有", "能不能", "可不可以",
    "会", "要", "得", "着", "过", "被", "把", "给", "让", "对", "从", "到", "吗?", "啥", "咋", "呗", "么样", "一个", "有关",
    "规定", "问题", "情况", "时候", "方面", "一般", "需要", "应该", "应当",
];

#[derive(Debug, Clone, PartialEq)]
pub struct AnalyzedQuery {
    /// Normalised question text (as embedded for dense retrieval).
    pub text: String,
    /// Weighted BM25 terms (original words weight 1, expansions less).
    pub terms: Vec<(String, f32)>,
    /// Article labels the question names, e.g. "第七条".
    pub articles: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct QueryAnalyzer {
    /// term → expansions, from `knowledge/dict/synonyms.tsv`.
    synonyms: Vec<(String, Vec<String>)>,
    pub expansion_weight: f32,
}

fn article_ref_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    #[allow(clippy::expect_used)]
    R.get_or_init(|| Regex::new(r"第\s*[零〇一二两三四五六七八九十百千0-9０-９]+\s*条").expect("static regex"))
}

/// Full-width ASCII to half-width, trimmed.
pub fn normalize(text: &str) -> String {
    text.trim()
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' if !"，。！？：；（）".contains(c) => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

impl QueryAnalyzer {
    pub fn new(synonyms: Vec<(String, Vec<String>)>) -> Self {
        let mut synonyms = synonyms;
        // Longest keys first so "三会一课" wins over a shorter key inside it.
        synonyms.sort_by_key(|s| std::cmp::Reverse(s.0.chars().count()));
        Self { synonyms, expansion_weight: 0.6 }
    }

    /// Reads `term<TAB>a,b,c` lines; blank lines and `#` comments skipped.
    pub fn load(dict_dir: Option<&Path>) -> Self {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        if let Some(text) = dict_dir.and_then(|d| std::fs::read_to_string(d.join("synonyms.tsv")).ok()) {
            for line in text.lines() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let Some((k, v)) = line.split_once('\t') else { continue };
                let exp: Vec<String> = v
                    .split([',', '，'])
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty() && s != k.trim())
                    .collect();
                if !exp.is_empty() {
                    map.entry(k.trim().to_string()).or_default().extend(exp);
                }
            }
        }
        Self::new(map.into_iter().collect())
    }

    pub fn analyze(&self, question: &str, seg: &Segmenter) -> AnalyzedQuery {
        let mut text = normalize(question);
        let mut articles = Vec::new();
        // Rewrite "第7条" → "第七条" so both the label match and BM25 see the regulation's form.
        let refs: Vec<(String, String)> = article_ref_re()
            .find_iter(&text)
            .filter_map(|m| normalize_article_label(&m.as_str().replace(char::is_whitespace, "")).map(|l| (m.as_str().to_string(), l)))
            .collect();
        for (raw, label) in refs {
            text = text.replacen(&raw, &label, 1);
            // Members count numbered items as 条 too (八项规定「第二条」 is its 第二项).
            let item = label.replace('条', "项");
            for l in [label, item] {
                if !articles.contains(&l) {
                    articles.push(l);
                }
            }
        }

        let mut weights: HashMap<String, f32> = HashMap::new();
        let mut order: Vec<String> = Vec::new();
        let mut add = |term: String, w: f32, weights: &mut HashMap<String, f32>| {
            if STOPWORDS.contains(&term.as_str()) {
                return;
            }
            let e = weights.entry(term.clone()).or_insert_with(|| {
                order.push(term);
                0.0
            });
            if w > *e {
                *e = w;
            }
        };
        for t in seg.terms(&text) {
            add(t, 1.0, &mut weights);
        }
        for (key, exps) in &self.synonyms {
            if text.contains(key.as_str()) {
                for e in exps {
                    for t in seg.terms(e) {
                        add(t, self.expansion_weight, &mut weights);
                    }
                }
            }
        }
        let terms = order.into_iter().map(|t| {
            let w = weights.get(&t).copied().unwrap_or(1.0);
            (t, w)
        });
        AnalyzedQuery { text, terms: terms.collect(), articles }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_abbreviations_and_normalises_articles() {
        let a = QueryAnalyzer::new(vec![("党章".into(), vec!["中国共产党章程".into()])]);
        let seg = Segmenter::new(None);
        let q = a.analyze("党章第7条讲的是什么？", &seg);
        assert_eq!(q.articles, vec!["第七条".to_string(), "第七项".to_string()]);
        assert!(q.text.contains("第七条"), "{}", q.text);
        let terms: HashMap<_, _> = q.terms.iter().cloned().collect();
        assert_eq!(terms.get("党章"), Some(&1.0));
        assert_eq!(terms.get("章程"), Some(&0.6), "{terms:?}");
        assert!(!terms.contains_key("什么"), "stopword dropped");
    }
}
