//! Re-scoring of the fused head: a linear model over what each candidate offers the question —
//! its fused rank score, its dense cosine and BM25 score, how much of the question it covers
//! (whole chunk and best sentence), whether it holds the kind of answer asked for, and its
//! document's priority. The weights are fitted offline on the dev tuning halves
//! (`eval --rank-features`, `eval/tools/fit_rerank.py`) and live in `search.rerank`.

use dwt_core::config::RerankWeights;
use serde::Serialize;

use crate::qtype::{passage_answers, QuestionType};

/// One candidate's features, each roughly in 0–1.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct RankFeatures {
    /// Fused score, min-max normalised over the head.
    pub fused: f32,
    /// e5 cosine (0 when the dense retriever did not return it).
    pub dense: f32,
    /// BM25 score over the best BM25 score in the head (0 when absent).
    pub bm25: f32,
    /// IDF-weighted share of the question's words in the chunk.
    pub coverage: f32,
    /// Same, in the chunk's best sentence.
    pub sentence_coverage: f32,
    /// A sentence about the question's words holds the kind of answer asked for.
    pub type_match: f32,
    /// Document type priority and status (see `priority_adjustment`).
    pub priority: f32,
}

impl RankFeatures {
    pub fn score(&self, w: &RerankWeights) -> f32 {
        w.fused * self.fused
            + w.dense * self.dense
            + w.bm25 * self.bm25
            + w.coverage * self.coverage
            + w.sentence_coverage * self.sentence_coverage
            + w.type_match * self.type_match
            + w.priority * self.priority
    }
}

/// IDF-weighted share of `words` (with their `idf`) in `text`.
pub fn weighted_share(words: &[String], idf: &[f32], text: &str) -> f32 {
    let total: f32 = idf.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    words.iter().zip(idf).filter(|(w, _)| text.contains(w.as_str())).map(|(_, i)| *i).sum::<f32>() / total
}

/// (best sentence coverage, type match) of a chunk's text.
pub fn sentence_features(words: &[String], idf: &[f32], qtype: QuestionType, text: &str) -> (f32, bool) {
    let lower = text.to_lowercase();
    let sentences = dwt_core::text::split_sentences(&lower);
    let covs: Vec<f32> = sentences.iter().map(|s| weighted_share(words, idf, s)).collect();
    let best = covs.iter().copied().fold(0.0f32, f32::max);
    let typed = sentences.iter().zip(&covs).any(|(s, c)| *c > 0.0 && *c >= best * 0.5 && passage_answers(qtype, s));
    (best, typed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentence_features_find_the_answering_sentence() {
        let words = vec!["介绍人".to_string(), "几".to_string()];
        let idf = vec![4.0, 1.0];
        let text = "申请入党的人，要有两名正式党员作介绍人。介绍人要认真了解申请人的情况。";
        let (cov, typed) = sentence_features(&words, &idf, QuestionType::Number, text);
        assert!((cov - 0.8).abs() < 1e-6, "{cov}");
        assert!(typed);
        let (_, typed) = sentence_features(&words, &idf, QuestionType::Number, "介绍人要认真了解申请人的情况。");
        assert!(!typed);
        let f = RankFeatures { fused: 1.0, dense: 0.9, type_match: 1.0, ..RankFeatures::default() };
        let w = RerankWeights { fused: 1.0, dense: 0.0, bm25: 0.0, coverage: 0.0, sentence_coverage: 0.0, type_match: 0.5, priority: 1.0 };
        assert!((f.score(&w) - 1.5).abs() < 1e-6);
    }
}
