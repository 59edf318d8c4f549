//! Whether retrieval found an answer. A fused RRF/convex score says little about that, so the
//! decision uses calibrated evidence: the best dense cosine, how much of the question the top
//! chunk covers, whether both retrievers agree on it, and how many of the question's words the
//! corpus knows at all (weather or recipes share few words with party regulations).

use dwt_core::config::ConfidenceModel;
use dwt_index::Hit;
use serde::Serialize;

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Default)]
pub struct Evidence {
    pub dense: f32,
    pub coverage: f32,
    pub agree: f32,
    pub known: f32,
    /// 1 when a sentence of the top passage that is about the question's words holds the kind
    /// of answer the question asks for (see `qtype`).
    pub type_match: f32,
    /// IDF-weighted share of the question's words found in the best single sentence of the top
    /// passage: near-domain questions share a general word with a passage (党费), rarely the
    /// specific ones (退休, 比例) in the same sentence.
    pub sentence_coverage: f32,
}

/// IDF-weighted share of `terms` in `text`.
fn weighted_share(text: &str, terms: &[(String, f32)]) -> f32 {
    let total: f32 = terms.iter().map(|(_, w)| w.max(0.0)).sum();
    if total <= 0.0 {
        return 0.0;
    }
    terms.iter().filter(|(t, _)| text.contains(t.as_str())).map(|(_, w)| w.max(0.0)).sum::<f32>() / total
}

/// (best sentence coverage, whether a sentence about the question holds the asked-for kind of
/// answer). "About the question": at least half the best sentence's coverage.
fn sentence_evidence(question: &str, text: &str, terms: &[(String, f32)]) -> (f32, bool) {
    let qtype = crate::qtype::question_type(question);
    let sentences = dwt_core::text::split_sentences(text);
    let covs: Vec<f32> = sentences.iter().map(|s| weighted_share(s, terms)).collect();
    let best = covs.iter().copied().fold(0.0f32, f32::max);
    let typed = sentences.iter().zip(&covs).any(|(s, c)| *c > 0.0 && *c >= best * 0.5 && crate::qtype::passage_answers(qtype, s));
    (best, typed)
}

impl Evidence {
    /// `terms`: the question's content words with their IDF (0 = absent from the corpus).
    pub fn from_hits(question: &str, hits: &[Hit], terms: &[(String, f32)]) -> Self {
        let Some(top) = hits.first() else {
            return Self { known: known_share(terms), ..Self::default() };
        };
        let dense = hits.iter().filter_map(|h| h.dense_score).fold(0.0f32, f32::max);
        let agree = matches!((top.bm25_rank, top.dense_rank), (Some(b), Some(d)) if b <= 3 && d <= 3);
        let (sentence_coverage, type_match) = sentence_evidence(question, &top.text, terms);
        Self {
            dense,
            coverage: top.coverage,
            agree: if agree { 1.0 } else { 0.0 },
            known: known_share(terms),
            type_match: if type_match { 1.0 } else { 0.0 },
            sentence_coverage,
        }
    }

    pub fn confidence(&self, m: &ConfidenceModel) -> f32 {
        let z = m.bias + m.dense * self.dense + m.coverage * self.coverage + m.agree * self.agree + m.known * self.known + m.type_match * self.type_match + m.sentence_coverage * self.sentence_coverage;
        1.0 / (1.0 + (-z).exp())
    }
}

/// Share of the question's content words (by character length, so long terms count more) that
/// occur in the corpus. A question with no content words at all counts as unknown.
fn known_share(terms: &[(String, f32)]) -> f32 {
    let total: usize = terms.iter().map(|(t, _)| t.chars().count()).sum();
    if total == 0 {
        return 0.0;
    }
    let known: usize = terms.iter().filter(|(_, idf)| *idf > 0.0).map(|(t, _)| t.chars().count()).sum();
    known as f32 / total as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_share_weights_by_length() {
        let terms = vec![("预备党员".to_string(), 2.0), ("天气".to_string(), 0.0)];
        assert!((known_share(&terms) - 4.0 / 6.0).abs() < 1e-6);
        assert_eq!(known_share(&[]), 0.0);
    }

    #[test]
    fn a_number_question_needs_a_number_where_its_words_are() {
        let terms = vec![("党费".to_string(), 3.0), ("比例".to_string(), 5.0), ("退休".to_string(), 5.0)];
        let text = "党员必须按期交纳党费。党员连续六个月不交纳党费，又没有正当理由的，就被认为是自行脱党。";
        let (cov, typed) = sentence_evidence("退休党员党费按什么比例交", text, &terms);
        assert!((cov - 3.0 / 13.0).abs() < 1e-6, "{cov}");
        // 「六个月」 is a number, and in a sentence about 党费: the type check alone passes here;
        // the low sentence coverage is what tells this passage does not answer.
        assert!(typed);
        let terms = vec![("介绍人".to_string(), 4.0), ("几个".to_string(), 1.0)];
        let (cov, typed) = sentence_evidence("入党要几个介绍人", "申请入党的人，要有两名正式党员作介绍人。介绍人要认真了解申请人的情况。", &terms);
        assert!(typed && cov >= 0.79, "{cov}");
        let (_, typed) = sentence_evidence("入党要几个介绍人", "介绍人要认真了解申请人的思想、品质、经历和工作表现。", &terms);
        assert!(!typed, "no number in the sentences about 介绍人");
    }

    #[test]
    fn confidence_is_monotone_in_evidence() {
        let m = ConfidenceModel::default();
        let weak = Evidence { dense: 0.80, coverage: 0.2, agree: 0.0, known: 0.3, type_match: 0.0, sentence_coverage: 0.1 };
        let strong = Evidence { dense: 0.90, coverage: 0.9, agree: 1.0, known: 1.0, type_match: 1.0, sentence_coverage: 0.8 };
        assert!(strong.confidence(&m) > weak.confidence(&m));
        assert!((0.0..=1.0).contains(&weak.confidence(&m)));
    }
}
