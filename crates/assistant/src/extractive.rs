//! Extractive answers: quote the sentences of the top sources that answer the question, with
//! their citation. Nothing is paraphrased, so nothing can be invented.

use dwt_core::text::split_sentences;

/// A sentence of a source, scored against the question.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredSentence {
    pub position: usize,
    pub text: String,
    pub score: f32,
}

/// IDF-weighted share of `terms` that occur in `text`.
pub fn term_coverage(text: &str, terms: &[(String, f32)]) -> f32 {
    let total: f32 = terms.iter().map(|(_, w)| w.max(0.0)).sum();
    if total <= 0.0 {
        return 0.0;
    }
    let lower = text.to_lowercase();
    terms.iter().filter(|(t, _)| lower.contains(t.as_str())).map(|(_, w)| w.max(0.0)).sum::<f32>() / total
}

/// Splits a source into sentences. Enumerated items ("（一）…；") stay with their sentence.
pub fn sentences(text: &str) -> Vec<String> {
    split_sentences(text).into_iter().map(str::to_string).collect()
}

/// Picks the sentences to quote: the best one, plus neighbours and others that score nearly as
/// well, at most `max`, returned in text order. A short source is quoted whole.
pub fn select(scored: &[ScoredSentence], max: usize, whole_if_chars: usize) -> Vec<ScoredSentence> {
    let total_chars: usize = scored.iter().map(|s| s.text.chars().count()).sum();
    if scored.len() <= max && total_chars <= whole_if_chars {
        return scored.to_vec();
    }
    let Some(best) = scored.iter().max_by(|a, b| a.score.partial_cmp(&b.score).unwrap_or(std::cmp::Ordering::Equal)) else {
        return Vec::new();
    };
    let mut ranked: Vec<&ScoredSentence> = scored.iter().collect();
    ranked.sort_by(|a, b| b.score.partial_cmp(&a.score).unwrap_or(std::cmp::Ordering::Equal));
    let mut chosen: Vec<ScoredSentence> = ranked
        .into_iter()
        .filter(|s| s.position == best.position || s.score >= best.score * 0.92 || (s.position + 1 == best.position && s.text.ends_with('：')))
        .take(max.max(1))
        .cloned()
        .collect();
    // A sentence that introduces a list ("……：") is useless without what follows it.
    if chosen.len() < max && best.text.ends_with('：') {
        if let Some(next) = scored.iter().find(|s| s.position == best.position + 1) {
            if !chosen.iter().any(|c| c.position == next.position) {
                chosen.push(next.clone());
            }
        }
    }
    chosen.sort_by_key(|s| s.position);
    chosen
}

/// Joins chosen sentences, marking gaps between non-adjacent ones with "……".
pub fn quote(chosen: &[ScoredSentence]) -> String {
    let mut out = String::new();
    for (i, s) in chosen.iter().enumerate() {
        if i > 0 && chosen[i - 1].position + 1 != s.position {
            out.push_str("……");
        }
        out.push_str(&s.text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(position: usize, text: &str, score: f32) -> ScoredSentence {
        ScoredSentence { position, text: text.into(), score }
    }

    #[test]
    fn short_source_is_quoted_whole() {
        let all = vec![s(0, "预备党员的预备期为一年。", 0.5), s(1, "预备期从支部大会通过之日算起。", 0.9)];
        assert_eq!(select(&all, 3, 200), all);
    }

    #[test]
    fn long_source_keeps_best_sentences_in_order() {
        let long = "甲".repeat(120);
        let all = vec![s(0, &format!("{long}。"), 0.2), s(1, "党龄从预备期满转为正式党员之日算起。", 0.95), s(2, &format!("{long}。"), 0.3), s(3, "另一句相关。", 0.9)];
        let chosen = select(&all, 3, 200);
        let positions: Vec<usize> = chosen.iter().map(|c| c.position).collect();
        assert_eq!(positions, vec![1, 3]);
        assert_eq!(quote(&chosen), "党龄从预备期满转为正式党员之日算起。……另一句相关。");
    }

    #[test]
    fn list_intro_brings_its_first_item() {
        let long = "乙".repeat(150);
        let all = vec![s(0, &format!("{long}。"), 0.1), s(1, "党员必须履行下列义务：", 0.9), s(2, "（一）认真学习。", 0.5)];
        let chosen = select(&all, 3, 100);
        assert_eq!(chosen.iter().map(|c| c.position).collect::<Vec<_>>(), vec![1, 2]);
    }

    #[test]
    fn coverage_is_idf_weighted() {
        let terms = vec![("党龄".to_string(), 3.0), ("计算".to_string(), 1.0)];
        assert!((term_coverage("党龄从……之日算起", &terms) - 0.75).abs() < 1e-6);
        assert_eq!(term_coverage("无关", &[]), 0.0);
    }
}
