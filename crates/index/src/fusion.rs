//! Weighted reciprocal rank fusion of the lexical and dense rankings.

use std::collections::HashMap;

/// One retriever's ranked list: (chunk id, raw score), best first.
pub type Ranking = Vec<(i64, f32)>;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Fused {
    pub chunk_id: i64,
    pub score: f32,
    /// 1-based rank and raw score in the BM25 list, if present.
    pub bm25: Option<(usize, f32)>,
    /// 1-based rank and cosine similarity in the dense list, if present.
    pub dense: Option<(usize, f32)>,
}

/// score(d) = Σ_r w_r / (k + rank_r(d)). Ties break on the better single rank, then id, so
/// the order is deterministic.
pub fn rrf(bm25: &Ranking, dense: &Ranking, k: f32, w_bm25: f32, w_dense: f32) -> Vec<Fused> {
    let mut by_id: HashMap<i64, Fused> = HashMap::new();
    for (i, (id, s)) in bm25.iter().enumerate() {
        let e = by_id.entry(*id).or_insert(Fused { chunk_id: *id, score: 0.0, bm25: None, dense: None });
        if e.bm25.is_none() {
            e.bm25 = Some((i + 1, *s));
            e.score += w_bm25 / (k + (i + 1) as f32);
        }
    }
    for (i, (id, s)) in dense.iter().enumerate() {
        let e = by_id.entry(*id).or_insert(Fused { chunk_id: *id, score: 0.0, bm25: None, dense: None });
        if e.dense.is_none() {
            e.dense = Some((i + 1, *s));
            e.score += w_dense / (k + (i + 1) as f32);
        }
    }
    let mut out: Vec<Fused> = by_id.into_values().collect();
    let best_rank = |f: &Fused| f.bm25.map(|r| r.0).unwrap_or(usize::MAX).min(f.dense.map(|r| r.0).unwrap_or(usize::MAX));
    out.sort_by(|a, b| {
        b.score
            .partial_cmp(&a.score)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| best_rank(a).cmp(&best_rank(b)))
            .then_with(|| a.chunk_id.cmp(&b.chunk_id))
    });
    out
}

/// Convex combination of min-max normalised scores: w_bm25·bm25' + w_dense·dense'. A chunk
/// missing from a list gets 0 for it. Keeps score gaps that RRF throws away.
pub fn convex(bm25: &Ranking, dense: &Ranking, w_bm25: f32, w_dense: f32) -> Vec<Fused> {
    fn norm(list: &Ranking) -> HashMap<i64, f32> {
        let max = list.iter().map(|x| x.1).fold(f32::MIN, f32::max);
        let min = list.iter().map(|x| x.1).fold(f32::MAX, f32::min);
        let span = (max - min).max(1e-6);
        list.iter().map(|(id, s)| (*id, (s - min) / span)).collect()
    }
    let (nb, nd) = (norm(bm25), norm(dense));
    let mut out = rrf(bm25, dense, 60.0, 1.0, 1.0);
    for f in &mut out {
        f.score = w_bm25 * nb.get(&f.chunk_id).copied().unwrap_or(0.0) + w_dense * nd.get(&f.chunk_id).copied().unwrap_or(0.0);
    }
    out.sort_by(|a, b| b.score.partial_cmp(&a.score).unwrap_or(std::cmp::Ordering::Equal).then_with(|| a.chunk_id.cmp(&b.chunk_id)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuses_by_weighted_reciprocal_rank() {
        let bm25 = vec![(1, 9.0), (2, 5.0), (3, 1.0)];
        let dense = vec![(3, 0.9), (1, 0.8)];
        let f = rrf(&bm25, &dense, 60.0, 1.0, 1.0);
        let ids: Vec<i64> = f.iter().map(|x| x.chunk_id).collect();
        assert_eq!(ids, vec![1, 3, 2]);
        let expected = 1.0 / 61.0 + 1.0 / 62.0;
        assert!((f[0].score - expected).abs() < 1e-6);
        assert_eq!(f[0].bm25, Some((1, 9.0)));
        assert_eq!(f[0].dense, Some((2, 0.8)));
        assert_eq!(f[2].dense, None);

        // Dense-only weighting follows the dense order, then BM25-only items.
        let f = rrf(&bm25, &dense, 60.0, 0.0, 1.0);
        assert_eq!(f.iter().map(|x| x.chunk_id).take(2).collect::<Vec<_>>(), vec![3, 1]);
    }

    #[test]
    fn convex_keeps_score_gaps() {
        // BM25 barely prefers 1 over 2; dense strongly prefers 2.
        let bm25 = vec![(1, 10.0), (2, 9.9), (3, 0.0)];
        let dense = vec![(2, 0.90), (1, 0.70), (3, 0.69)];
        let f = convex(&bm25, &dense, 1.0, 1.0);
        assert_eq!(f[0].chunk_id, 2);
        let expected = 9.9 / 10.0 + 1.0;
        assert!((f[0].score - expected).abs() < 1e-5, "{}", f[0].score);
        assert_eq!(f[0].bm25, Some((2, 9.9)), "ranks are kept for explanation");
        // RRF sees only ranks and ties them.
        let r = rrf(&bm25, &dense, 60.0, 1.0, 1.0);
        assert!((r[0].score - r[1].score).abs() < 1e-6);
    }

    #[test]
    fn duplicates_in_a_list_count_once() {
        let f = rrf(&vec![(7, 1.0), (7, 0.5)], &vec![], 10.0, 1.0, 1.0);
        assert_eq!(f.len(), 1);
        assert!((f[0].score - 1.0 / 11.0).abs() < 1e-6);
    }
}
