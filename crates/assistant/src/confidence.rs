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
}

impl Evidence {
    /// `terms`: the question's content words with their IDF (0 = absent from the corpus).
    pub fn from_hits(hits: &[Hit], terms: &[(String, f32)]) -> Self {
        let Some(top) = hits.first() else {
            return Self { known: known_share(terms), ..Self::default() };
        };
        let dense = hits.iter().filter_map(|h| h.dense_score).fold(0.0f32, f32::max);
        let agree = matches!((top.bm25_rank, top.dense_rank), (Some(b), Some(d)) if b <= 3 && d <= 3);
        Self { dense, coverage: top.coverage, agree: if agree { 1.0 } else { 0.0 }, known: known_share(terms) }
    }

    pub fn confidence(&self, m: &ConfidenceModel) -> f32 {
        let z = m.bias + m.dense * self.dense + m.coverage * self.coverage + m.agree * self.agree + m.known * self.known;
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
    fn confidence_is_monotone_in_evidence() {
        let m = ConfidenceModel::default();
        let weak = Evidence { dense: 0.80, coverage: 0.2, agree: 0.0, known: 0.3 };
        let strong = Evidence { dense: 0.90, coverage: 0.9, agree: 1.0, known: 1.0 };
        assert!(strong.confidence(&m) > weak.confidence(&m));
        assert!((0.0..=1.0).contains(&weak.confidence(&m)));
    }
}
