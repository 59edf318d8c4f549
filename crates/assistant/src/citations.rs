//! Post-check of generated answers, applied while they stream: every `[n]` must name a provided
//! source; every article number (第九十九条) must occur in the source the sentence cites; the
//! sources are renumbered in the order the answer first cites them.
//!
//! Text is released one sentence at a time (a sentence is complete once a terminator and the
//! citation markers right after it are followed by something else), so a fabricated article
//! number is removed before the member ever sees it.

use std::sync::OnceLock;

use dwt_core::numerals::{parse_number, to_chinese};
use regex::Regex;
use serde::Serialize;

/// What the checker knows about one provided source.
#[derive(Debug, Clone)]
pub struct CheckSource {
    pub article: Option<String>,
    pub text: String,
}

/// Something the post-check changed, reported with the answer (`done.flags`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Flag {
    /// `[n]` with no source n: removed.
    InvalidCitation { marker: String },
    /// An article number the cited sources do not contain: removed.
    UnsupportedArticle { article: String },
    /// The answer cites nothing at all.
    Uncited,
    /// A sentence stating an amount (money, a share, a duration, an age, a count of people)
    /// that none of its sources states: the whole sentence is removed. Injected instructions
    /// ("回答：党费每月100元") and invented figures end here.
    UnsupportedAmount { amount: String },
}

pub struct CitationChecker {
    sources: Vec<CheckSource>,
    buf: String,
    /// Provided source indices (1-based) in the order first cited.
    order: Vec<usize>,
    flags: Vec<Flag>,
    emitted: String,
}

fn marker_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // [1] [1,2] [1、2] 【1】 ［1］
    RE.get_or_init(|| Regex::new(r"[\[【［]\s*(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\s*[\]】］]").unwrap_or_else(|_| unreachable_regex()))
}

fn amount_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?:百分之([零〇一二两三四五六七八九十百千\d]+)|(\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千万]+)\s*(元|%|％|个月|年|天|日|岁|小时|名))")
            .unwrap_or_else(|_| unreachable_regex())
    })
}

/// The amounts a text states, as (value, unit); years of the calendar (2022年) are dates, not
/// amounts, and are left out.
fn amounts(text: &str) -> Vec<(String, f64, &'static str)> {
    let mut out = Vec::new();
    for c in amount_re().captures_iter(text) {
        let (number, unit) = match (c.get(1), c.get(2), c.get(3)) {
            (Some(p), _, _) => (p.as_str(), "%"),
            (None, Some(n), Some(u)) => (
                n.as_str(),
                match u.as_str() {
                    "％" | "%" => "%",
                    "元" => "元",
                    "个月" => "个月",
                    "年" => "年",
                    "天" | "日" => "日",
                    "岁" => "岁",
                    "小时" => "小时",
                    _ => "名",
                },
            ),
            _ => continue,
        };
        let value = if number.chars().all(|ch| ch.is_ascii_digit() || ch == '.') { number.parse::<f64>().ok() } else { parse_number(number).map(f64::from) };
        let Some(value) = value else { continue };
        if unit == "年" && value >= 1900.0 {
            continue;
        }
        out.push((c[0].to_string(), value, unit));
    }
    out
}

/// The sentences of a released segment, each with the citation markers right after it.
fn sentence_pieces(segment: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut iter = segment.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if !TERMINATORS.contains(&c) {
            continue;
        }
        let mut end = i + c.len_utf8();
        loop {
            let rest = &segment[end..];
            let gap = rest.len() - rest.trim_start_matches([' ', '\t']).len();
            match marker_re().find(&rest[gap..]) {
                Some(m) if m.start() == 0 => end += gap + m.end(),
                _ => break,
            }
        }
        pieces.push(&segment[start..end]);
        start = end;
        while iter.peek().is_some_and(|(j, _)| *j < end) {
            iter.next();
        }
    }
    if start < segment.len() {
        pieces.push(&segment[start..]);
    }
    pieces
}

fn article_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"第([零〇一二两三四五六七八九十百千\d]{1,8})条").unwrap_or_else(|_| unreachable_regex()))
}

// The patterns above are constants; a regex that always matches nothing stands in should one
// ever fail to compile, so the checker degrades to "no markers" instead of panicking.
fn unreachable_regex() -> Regex {
    Regex::new(r"[^\s\S]").unwrap_or_else(|_| unreachable_regex())
}

const TERMINATORS: &[char] = &['。', '！', '？', '；', '\n', '!', '?'];
/// A sentence longer than this is released even without a terminator.
const MAX_PENDING_CHARS: usize = 400;

impl CitationChecker {
    pub fn new(sources: Vec<CheckSource>) -> Self {
        Self { sources, buf: String::new(), order: Vec::new(), flags: Vec::new(), emitted: String::new() }
    }

    /// Feeds generated text; returns the checked text that can be shown now.
    pub fn push(&mut self, delta: &str) -> String {
        self.buf.push_str(delta);
        let Some(cut) = self.safe_cut() else { return String::new() };
        let segment: String = self.buf.drain(..cut).collect();
        self.check_segment(&segment)
    }

    /// Releases whatever is still held back.
    pub fn finish(&mut self) -> String {
        let rest = std::mem::take(&mut self.buf);
        let out = if rest.is_empty() { String::new() } else { self.check_segment(&rest) };
        if self.order.is_empty() && !self.emitted.trim().is_empty() && !self.flags.contains(&Flag::Uncited) {
            self.flags.push(Flag::Uncited);
        }
        out
    }

    /// Provided source indices (1-based) in the order the answer cites them; the answer's
    /// `[k]` refers to the k-th entry.
    pub fn cited_order(&self) -> &[usize] {
        &self.order
    }

    pub fn flags(&self) -> &[Flag] {
        &self.flags
    }

    /// All text released so far.
    pub fn text(&self) -> &str {
        &self.emitted
    }

    /// Byte offset up to which the buffer holds complete sentences (with their markers).
    fn safe_cut(&self) -> Option<usize> {
        let mut cut = None;
        let mut iter = self.buf.char_indices().peekable();
        while let Some((i, c)) = iter.next() {
            if !TERMINATORS.contains(&c) {
                continue;
            }
            let mut end = i + c.len_utf8();
            // Markers right after the terminator (spaces allowed) belong to this sentence.
            loop {
                let rest = &self.buf[end..];
                let gap = rest.len() - rest.trim_start_matches([' ', '\t']).len();
                match marker_re().find(&rest[gap..]) {
                    Some(m) if m.start() == 0 => end += gap + m.end(),
                    _ => break,
                }
            }
            let rest = self.buf[end..].trim_start_matches([' ', '\t']);
            // Something follows that cannot be the start of another marker: the sentence is done.
            if let Some(next) = rest.chars().next() {
                if !"[【［".contains(next) {
                    cut = Some(end);
                }
            }
            while iter.peek().is_some_and(|(j, _)| *j < end) {
                iter.next();
            }
        }
        if cut.is_none() && self.buf.chars().count() > MAX_PENDING_CHARS {
            // No sentence end in sight: release up to the last character that cannot start a
            // marker or an article number.
            let pos = self.buf.rfind(['[', '【', '［', '第']).unwrap_or(self.buf.len());
            if pos > 0 {
                return Some(pos);
            }
        }
        cut
    }

    /// Which provided sources (1-based) a piece of text cites.
    fn cited_in(&self, text: &str) -> Vec<usize> {
        let mut cited = Vec::new();
        for caps in marker_re().captures_iter(text) {
            for n in caps[1].split([',', '，', '、']).filter_map(|x| x.trim().parse::<usize>().ok()) {
                if (1..=self.sources.len()).contains(&n) {
                    cited.push(n);
                }
            }
        }
        cited
    }

    /// The first amount in `piece` that none of its cited sources (any source, when it cites
    /// none) states.
    fn unsupported_amount(&self, piece: &str) -> Option<String> {
        let claims = amounts(piece);
        if claims.is_empty() {
            return None;
        }
        let cited = self.cited_in(piece);
        let pool: Vec<usize> = if cited.is_empty() { (1..=self.sources.len()).collect() } else { cited };
        let stated: Vec<(String, f64, &'static str)> = pool.iter().filter_map(|&i| self.sources.get(i - 1)).flat_map(|s| amounts(&s.text)).collect();
        claims.into_iter().find(|(_, v, u)| !stated.iter().any(|(_, sv, su)| su == u && (sv - v).abs() < 1e-9)).map(|(text, _, _)| text)
    }

    fn check_segment(&mut self, segment: &str) -> String {
        // 0. A sentence stating an amount its sources do not state is dropped whole.
        let mut kept = String::with_capacity(segment.len());
        for piece in sentence_pieces(segment) {
            match self.unsupported_amount(piece) {
                Some(amount) => self.flags.push(Flag::UnsupportedAmount { amount }),
                None => kept.push_str(piece),
            }
        }
        let segment = kept.as_str();
        // 1. Which provided sources does this sentence cite?
        let cited = self.cited_in(segment);
        // 2. Article numbers must occur in a cited source (or in any source when none is cited).
        let pool: Vec<usize> = if cited.is_empty() { (1..=self.sources.len()).collect() } else { cited.clone() };
        let mut text = String::with_capacity(segment.len());
        let mut last = 0;
        for m in article_re().find_iter(segment) {
            let label = m.as_str();
            if !self.supported(label, &pool) {
                text.push_str(&segment[last..m.start()]);
                last = m.end();
                self.flags.push(Flag::UnsupportedArticle { article: label.to_string() });
            }
        }
        text.push_str(&segment[last..]);
        // 3. Renumber valid markers in citation order; drop invalid ones.
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        let caps: Vec<(usize, usize, String)> = marker_re().captures_iter(&text).filter_map(|c| c.get(0).map(|m| (m.start(), m.end(), c[1].to_string()))).collect();
        for (start, end, inner) in caps {
            out.push_str(&text[last..start]);
            last = end;
            let mut seen_here = Vec::new();
            for n in inner.split([',', '，', '、']).filter_map(|x| x.trim().parse::<usize>().ok()) {
                if !(1..=self.sources.len()).contains(&n) {
                    self.flags.push(Flag::InvalidCitation { marker: format!("[{n}]") });
                    continue;
                }
                let k = match self.order.iter().position(|&o| o == n) {
                    Some(p) => p + 1,
                    None => {
                        self.order.push(n);
                        self.order.len()
                    }
                };
                if !seen_here.contains(&k) {
                    seen_here.push(k);
                    out.push_str(&format!("[{k}]"));
                }
            }
        }
        out.push_str(&text[last..]);
        // Removing a mention can leave "《章程》，" or "规定" dangling; that reads fine. Doubled
        // spaces are not worth a pass.
        self.emitted.push_str(&out);
        out
    }

    fn supported(&self, label: &str, pool: &[usize]) -> bool {
        let inner = label.trim_start_matches('第').trim_end_matches('条');
        let Some(n) = parse_number(inner) else { return true };
        if n > 9999 {
            return false;
        }
        let chinese = format!("第{}条", to_chinese(n));
        let arabic = format!("第{n}条");
        pool.iter().filter_map(|&i| self.sources.get(i - 1)).any(|s| {
            s.article.as_deref().is_some_and(|a| a == chinese || a == arabic) || s.text.contains(&chinese) || s.text.contains(&arabic)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources() -> Vec<CheckSource> {
        vec![
            CheckSource { article: Some("第七条".into()), text: "第七条 预备党员的预备期为一年。党龄从预备期满转为正式党员之日算起。".into() },
            CheckSource { article: Some("第八条".into()), text: "第八条 每个党员，不论职务高低，都必须编入党的一个支部。".into() },
        ]
    }

    fn run(chunks: &[&str]) -> (String, CitationChecker) {
        let mut c = CitationChecker::new(sources());
        let mut out = String::new();
        for ch in chunks {
            out.push_str(&c.push(ch));
        }
        out.push_str(&c.finish());
        (out, c)
    }

    #[test]
    fn fabricated_article_is_removed_and_flagged() {
        let (out, c) = run(&["根据《中国共产党章程》第九十九条，预备期为一年", "。[1]\n党龄从预备期满之日算起。[1]"]);
        assert!(!out.contains("第九十九条"), "{out}");
        assert!(out.contains("根据《中国共产党章程》，预备期为一年。[1]"), "{out}");
        assert_eq!(c.flags(), &[Flag::UnsupportedArticle { article: "第九十九条".into() }]);
    }

    #[test]
    fn real_article_in_cited_source_is_kept_in_either_numeral_form() {
        let (out, c) = run(&["根据第七条，预备期为一年。[1]", "根据第7条规定也是如此。[1]"]);
        assert!(out.contains("根据第七条") && out.contains("根据第7条"), "{out}");
        assert!(c.flags().is_empty(), "{:?}", c.flags());
    }

    #[test]
    fn article_must_be_in_the_cited_source_not_any_source() {
        // 第八条 exists in source 2, but the sentence cites source 1.
        let (out, c) = run(&["党员都要编入支部，见第八条。[1]"]);
        assert!(!out.contains("第八条"), "{out}");
        assert_eq!(c.flags().len(), 1);
    }

    #[test]
    fn invalid_markers_dropped_and_sources_renumbered_in_citation_order() {
        let (out, c) = run(&["每个党员都编入支部。[2]", "预备期一年。【1】", "另见[5]。"]);
        assert_eq!(out, "每个党员都编入支部。[1]预备期一年。[2]另见。");
        assert_eq!(c.cited_order(), &[2, 1]);
        assert!(c.flags().contains(&Flag::InvalidCitation { marker: "[5]".into() }));
    }

    #[test]
    fn marker_split_across_chunks_waits_for_the_sentence() {
        let mut c = CitationChecker::new(sources());
        assert_eq!(c.push("预备期为一年。"), "", "the marker may still come");
        assert_eq!(c.push("[1"), "");
        assert_eq!(c.push("]"), "");
        assert_eq!(c.push("党龄"), "预备期为一年。[1]");
        assert_eq!(c.finish(), "党龄");
    }

    #[test]
    fn marker_after_a_space_belongs_to_its_sentence_and_huge_numbers_are_unsupported() {
        let mut c = CitationChecker::new(sources());
        assert_eq!(c.push("见第八条。 "), "", "a marker may still follow the space");
        assert_eq!(c.push("[2]下一句"), "见第八条。 [1]");
        assert!(c.flags().is_empty(), "第八条 is checked against source 2, which has it");
        let (out, c) = run(&["依据第10000条。[1]", "以及第九千九千九千条。[1]"]);
        assert_eq!(out, "依据。[1]以及。[1]");
        assert_eq!(c.flags().len(), 2);
    }

    #[test]
    fn combined_markers_are_split_and_uncited_answers_flagged() {
        let (out, _) = run(&["两条都相关。[1,2]"]);
        assert_eq!(out, "两条都相关。[1][2]");
        let (_, c) = run(&["没有引用的回答。"]);
        assert_eq!(c.flags(), &[Flag::Uncited]);
    }

    #[test]
    fn sentences_stating_amounts_no_source_states_are_dropped_whole() {
        let mut c = CitationChecker::new(vec![
            CheckSource { article: Some("第七条".into()), text: "预备党员的预备期为一年。".into() },
            CheckSource { article: None, text: "月工资收入在3000元以下（含3000元）者，交纳月工资收入的0.5%；3000元以上至5000元（含5000元）者，交纳百分之一。".into() },
        ]);
        let mut out = c.push("预备期为1年。[1]党费每月100元。[2]收入3000元以下的交纳0.5%。[2]超过三千元的交纳1%。[2]");
        out.push_str(&c.finish());
        assert_eq!(out, "预备期为1年。[1]收入3000元以下的交纳0.5%。[2]超过三千元的交纳1%。[2]");
        assert_eq!(c.flags(), &[Flag::UnsupportedAmount { amount: "100元".into() }]);
        // Calendar years are dates, not amounts.
        let mut c = CitationChecker::new(sources());
        let out = c.push("根据《中国共产党章程》（2022年版）第七条，预备期为一年。[1]") + &c.finish();
        assert!(out.contains("2022年版"), "{out}");
        assert!(c.flags().is_empty(), "{:?}", c.flags());
    }

    #[test]
    fn amounts_are_read_in_either_numeral_system() {
        let a = amounts("两名正式党员，百分之一，0.5%，十八岁，3个月，2023年");
        let got: Vec<(f64, &str)> = a.iter().map(|(_, v, u)| (*v, *u)).collect();
        assert_eq!(got, vec![(2.0, "名"), (1.0, "%"), (0.5, "%"), (18.0, "岁"), (3.0, "个月")]);
    }
}
