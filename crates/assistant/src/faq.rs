//! FAQ-first matching: a member's question against every published curated question and its
//! similar phrasings, by e5 cosine (query-to-query) and IDF-weighted word agreement. The pairs
//! are few (hundreds to thousands), so the matcher holds them in memory and is rebuilt on
//! `reload` (after an import or an edit).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use dwt_core::config::FaqSettings;
use dwt_index::{Hit, IndexError, KnowledgeBase, SearchOptions};
use dwt_store::{Audience, QaPair, QaStore, StoreError};
use serde::Serialize;

/// e5 cosines between any two Chinese questions rarely fall below this; the dense part of the
/// score maps [DENSE_FLOOR, 1] onto [0, 1].
const DENSE_FLOOR: f32 = 0.75;
/// Weight of a question word the knowledge base has never seen (IDF 0 there): such words are
/// rare by definition and decide what the question is about ("天气", a person's name).
const UNKNOWN_WORD_WEIGHT: f32 = 8.0;
/// Same for question-to-answer (query-to-passage) cosines, which run lower.
const ANSWER_FLOOR: f32 = 0.70;

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn rescale(cos: f32, floor: f32) -> f32 {
    ((cos - floor) / (1.0 - floor)).clamp(0.0, 1.0)
}

#[derive(Debug, thiserror::Error)]
pub enum FaqError {
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The best curated pair for a question, with the parts of its score (for hit-testing).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FaqMatch {
    pub pair: QaPair,
    pub score: f32,
    pub evidence: PairEvidence,
    /// True when `score` reaches the configured threshold: answer with this pair.
    pub accepted: bool,
}

struct Phrasing {
    pair: usize,
    vector: Vec<f32>,
    terms: HashMap<String, f32>,
}

#[derive(Default)]
struct Snapshot {
    pairs: Vec<QaPair>,
    /// The kinds of answer each pair gives: those asked by any of its phrasings.
    kinds: Vec<Vec<crate::qtype::QuestionType>>,
    /// The kind its canonical question asks for (shown in 命中测试).
    primary_kinds: Vec<crate::qtype::QuestionType>,
    /// e5 passage vector of each pair's answer (same order as `pairs`).
    answers: Vec<Vec<f32>>,
    phrasings: Vec<Phrasing>,
}

/// The evidence for one pair: best phrasing cosine (rescaled), best phrasing word agreement,
/// and how well the pair's answer fits the question (query-to-passage cosine, rescaled).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Default)]
pub struct PairEvidence {
    pub dense: f32,
    pub lexical: f32,
    pub answer: f32,
    /// 1 when retrieval ranks an article the pair cites first, 0.5 when second or third.
    pub cited: f32,
    /// 1 when the question asks another kind of thing than the pair's question (see `qtype`).
    pub type_conflict: f32,
    /// The kinds of answer the question and the pair's question ask for (「数量」「后果」…),
    /// shown in 命中测试 to say why a pair on the same topic did not match.
    pub question_kind: &'static str,
    pub pair_kind: &'static str,
}

/// How retrieval ranked the articles a pair cites: 1 for the top hit, 0.5 within the top 3.
fn cited_agreement(pair: &QaPair, retrieved: &[Hit]) -> f32 {
    let cites = |h: &Hit| {
        pair.source_refs.iter().any(|r| h.doc_title.contains(r.doc.as_str()) && r.article.is_some() && r.article == h.article)
    };
    match retrieved.iter().take(3).position(cites) {
        Some(0) => 1.0,
        Some(_) => 0.5,
        None => 0.0,
    }
}

/// The kinds of answer a pair gives: those its phrasings ask for. A phrasing whose kind is not
/// recognised says nothing about the pair's kind; only a pair with no recognised kind at all
/// is `Other` (agrees with anything).
fn pair_kinds<'a>(phrasings: impl Iterator<Item = &'a String>) -> Vec<crate::qtype::QuestionType> {
    use crate::qtype::QuestionType;
    let mut kinds: Vec<QuestionType> = Vec::new();
    for t in phrasings.flat_map(|q| crate::qtype::question_types(q)) {
        if t != QuestionType::Other && !kinds.contains(&t) {
            kinds.push(t);
        }
    }
    if kinds.is_empty() {
        kinds.push(QuestionType::Other);
    }
    kinds
}

pub struct FaqMatcher {
    kb: Arc<KnowledgeBase>,
    store: QaStore,
    settings: FaqSettings,
    snapshot: RwLock<Arc<Snapshot>>,
}

fn weights(terms: &[(String, f32)]) -> HashMap<String, f32> {
    terms.iter().map(|(t, idf)| (t.clone(), if *idf > 0.0 { *idf } else { UNKNOWN_WORD_WEIGHT })).collect()
}

/// Weighted F1 of the two word sets: both the question's words found in the phrasing and the
/// phrasing's words found in the question count, so a question asking something extra (预备期
/// 内能否参加选举 vs 预备期多长) loses as much as one asking less.
fn lexical_agreement(q: &HashMap<String, f32>, p: &HashMap<String, f32>) -> f32 {
    let qw: f32 = q.values().sum();
    let pw: f32 = p.values().sum();
    if qw <= 0.0 || pw <= 0.0 {
        return 0.0;
    }
    let shared: f32 = q.iter().filter(|(t, _)| p.contains_key(*t)).map(|(_, w)| *w).sum();
    let shared_p: f32 = p.iter().filter(|(t, _)| q.contains_key(*t)).map(|(_, w)| *w).sum();
    let recall = shared / qw;
    let precision = shared_p / pw;
    if recall + precision <= 0.0 {
        return 0.0;
    }
    2.0 * recall * precision / (recall + precision)
}

impl FaqMatcher {
    /// Builds the matcher from the published pairs in `store`.
    pub async fn load(kb: Arc<KnowledgeBase>, store: QaStore, settings: FaqSettings) -> Result<Self, FaqError> {
        let m = Self { kb, store, settings, snapshot: RwLock::new(Arc::new(Snapshot::default())) };
        m.reload().await?;
        Ok(m)
    }

    /// Re-reads the published pairs and re-embeds their phrasings; matching continues on the
    /// old snapshot until the new one is ready.
    pub async fn reload(&self) -> Result<usize, FaqError> {
        let pairs = self.store.published().await?;
        let mut texts = Vec::new();
        let mut owners = Vec::new();
        for (i, p) in pairs.iter().enumerate() {
            let mut seen: Vec<&str> = Vec::new();
            for t in std::iter::once(&p.question).chain(p.similar.iter()) {
                let t = t.trim();
                if !t.is_empty() && !seen.contains(&t) {
                    seen.push(t);
                    texts.push(t.to_string());
                    owners.push(i);
                }
            }
        }
        let kb = self.kb.clone();
        let to_embed = texts.clone();
        let answers_text: Vec<String> = pairs.iter().map(|p| p.answer.clone()).collect();
        let (vectors, answers) = tokio::task::spawn_blocking(move || {
            let e = kb.embedder();
            Ok::<_, IndexError>((e.embed_queries(&to_embed)?, e.embed_passages(&answers_text)?))
        })
        .await
        .map_err(|e| IndexError::Embedding(e.to_string()))??;
        let phrasings = texts
            .into_iter()
            .zip(vectors)
            .zip(owners)
            .map(|((text, vector), pair)| {
                let terms = weights(&self.kb.weighted_terms(&text));
                Phrasing { pair, vector, terms }
            })
            .collect::<Vec<_>>();
        let n = pairs.len();
        let kinds = pairs.iter().map(|p| pair_kinds(std::iter::once(&p.question).chain(p.similar.iter()))).collect();
        let primary_kinds = pairs.iter().map(|p| crate::qtype::question_type(&p.question)).collect();
        let snapshot = Arc::new(Snapshot { pairs, kinds, primary_kinds, answers, phrasings });
        if let Ok(mut guard) = self.snapshot.write() {
            *guard = snapshot;
        }
        tracing::info!(pairs = n, "curated Q&A matcher ready");
        Ok(n)
    }

    pub fn len(&self) -> usize {
        self.snapshot.read().map(|s| s.pairs.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn threshold(&self) -> f32 {
        self.settings.threshold
    }

    /// Evidence for every pair, in pair order (for hit-testing and calibration). `retrieved`:
    /// the knowledge base's hits for the same question, best first.
    pub fn evidence(&self, question: &str, qv: &[f32], retrieved: &[Hit]) -> Vec<(QaPair, PairEvidence)> {
        let Ok(guard) = self.snapshot.read() else { return Vec::new() };
        let snapshot = guard.clone();
        drop(guard);
        let q_terms = weights(&self.kb.weighted_terms(question));
        let mut ev = vec![PairEvidence::default(); snapshot.pairs.len()];
        for p in &snapshot.phrasings {
            let Some(e) = ev.get_mut(p.pair) else { continue };
            e.dense = e.dense.max(rescale(dot(&p.vector, qv), DENSE_FLOOR));
            e.lexical = e.lexical.max(lexical_agreement(&q_terms, &p.terms));
        }
        let qtypes = crate::qtype::question_types(question);
        // The first kind found is the one `question_type` names.
        let qtype = qtypes.first().copied().unwrap_or(crate::qtype::QuestionType::Other);
        let pairs = snapshot.pairs.iter().zip(&snapshot.answers).zip(&snapshot.kinds).zip(&snapshot.primary_kinds);
        for (e, (((pair, a), kinds), primary)) in ev.iter_mut().zip(pairs) {
            e.answer = rescale(dot(a, qv), ANSWER_FLOOR);
            e.cited = cited_agreement(pair, retrieved);
            e.type_conflict = if crate::qtype::any_types_agree(&qtypes, kinds) { 0.0 } else { 1.0 };
            (e.question_kind, e.pair_kind) = (qtype.zh(), primary.zh());
        }
        snapshot.pairs.iter().cloned().zip(ev).collect()
    }

    fn score(&self, e: &PairEvidence) -> f32 {
        let s = &self.settings;
        s.dense_weight * e.dense + s.lexical_weight * e.lexical + s.answer_weight * e.answer + s.cited_weight * e.cited
            - s.type_conflict_penalty * e.type_conflict
    }

    /// The pair that answers a question whose e5 query vector is `qv` for `audience`, whether or
    /// not it reaches the threshold (`accepted` says). None when there are no visible pairs.
    /// Among the pairs that clear the threshold the most specific wins (a 支部's own answer over
    /// its 党委's over the system-wide one: the organisation curated it for its members), then
    /// the best score; when none clears it, the best-scoring pair is returned, not accepted.
    pub fn best(&self, question: &str, qv: &[f32], retrieved: &[Hit], audience: &Audience) -> Option<FaqMatch> {
        let threshold = self.settings.threshold;
        let (pair, e, score, _) = self
            .evidence(question, qv, retrieved)
            .into_iter()
            .filter_map(|(p, e)| {
                let specific = audience.specificity(p.org_id)?;
                let score = self.score(&e);
                Some((p, e, score, specific))
            })
            .max_by(|a, b| {
                let rank = |x: &(QaPair, PairEvidence, f32, usize)| if x.2 >= threshold { x.3 } else { 0 };
                (a.2 >= threshold).cmp(&(b.2 >= threshold)).then(rank(a).cmp(&rank(b))).then(a.2.total_cmp(&b.2))
            })?;
        Some(FaqMatch { pair, score, evidence: e, accepted: score >= threshold })
    }

    /// Embeds `question` and returns every pair's evidence.
    pub async fn evidence_for(&self, question: &str) -> Result<Vec<(QaPair, PairEvidence)>, FaqError> {
        let qv = self.embed(question).await?;
        let retrieved = self.retrieve(question).await?;
        Ok(self.evidence(question, &qv, &retrieved))
    }

    /// What the knowledge base ranks first for the question (the pair-citation evidence).
    async fn retrieve(&self, question: &str) -> Result<Vec<Hit>, FaqError> {
        match self.kb.search(question, &SearchOptions { top_k: Some(3), ..SearchOptions::default() }).await {
            Ok(h) => Ok(h),
            Err(IndexError::EmptyQuery) => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        }
    }

    async fn embed(&self, question: &str) -> Result<Vec<f32>, FaqError> {
        let kb = self.kb.clone();
        let q = question.to_string();
        Ok(tokio::task::spawn_blocking(move || kb.embedder().embed_query(&q)).await.map_err(|e| IndexError::Embedding(e.to_string()))??)
    }

    /// Embeds `question` and matches it among the pairs `audience` may see.
    pub async fn match_question(&self, question: &str, audience: &Audience) -> Result<Option<FaqMatch>, FaqError> {
        let qv = self.embed(question).await?;
        let retrieved = self.retrieve(question).await?;
        Ok(self.best(question, &qv, &retrieved, audience))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(words: &[(&str, f32)]) -> HashMap<String, f32> {
        words.iter().map(|(t, x)| (t.to_string(), *x)).collect()
    }

    #[test]
    fn a_pair_gives_the_kinds_its_phrasings_ask_for() {
        use crate::qtype::{any_types_agree, question_types, QuestionType};
        let phrasings: Vec<String> = ["入党介绍人要承担哪些责任？", "当介绍人都要干点啥？", "介绍人光签个字就行吗？"].map(String::from).into();
        let kinds = pair_kinds(phrasings.iter());
        assert_eq!(kinds, vec![QuestionType::List], "unrecognised phrasings add no kind");
        assert!(!any_types_agree(&question_types("入党介绍人一般由谁来指定？"), &kinds), "who ≠ what duties");
        let vague: Vec<String> = vec!["党的最高理想".into()];
        assert_eq!(pair_kinds(vague.iter()), vec![QuestionType::Other]);
    }

    #[test]
    fn lexical_agreement_penalises_extra_and_missing_words() {
        let faq = w(&[("预备期", 4.0), ("多长", 2.0)]);
        assert!((lexical_agreement(&faq, &faq) - 1.0).abs() < 1e-6);
        let extra = w(&[("预备期", 4.0), ("参加", 2.0), ("选举", 4.0)]);
        let partial = lexical_agreement(&extra, &faq);
        assert!(partial > 0.0 && partial < 0.7, "{partial}");
        assert_eq!(lexical_agreement(&w(&[("天气", 8.0)]), &faq), 0.0);
        assert_eq!(lexical_agreement(&HashMap::new(), &faq), 0.0);
    }
}
