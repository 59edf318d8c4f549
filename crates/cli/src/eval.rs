//! `dangwutong eval`: article-level hit@k, MRR@10, evidence@1 and latency on a JSONL set.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use dwt_assistant::Assistant;
use dwt_index::{Hit, KnowledgeBase, RetrievalMode, SearchOptions, SearchStage};
use serde::{Deserialize, Serialize};

use crate::output::out;

#[derive(Debug, Deserialize)]
pub struct EvalLine {
    pub id: serde_json::Value,
    pub question: String,
    #[serde(default)]
    pub gold: Vec<Gold>,
    /// The sentence that answers; scored as "top-1 chunk contains it".
    #[serde(default)]
    pub evidence: Option<String>,
    /// Text the answer must contain (normalised), scored with `--answers`.
    #[serde(default)]
    pub answer: Option<String>,
    /// "refuse": the assistant must decline this question.
    #[serde(default)]
    pub expect: Option<String>,
}

impl EvalLine {
    fn expects_refusal(&self) -> bool {
        self.expect.as_deref() == Some("refuse")
    }
}

#[derive(Debug, Deserialize, Clone)]
pub struct Gold {
    pub doc: String,
    pub article: String,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Summary {
    pub n: usize,
    #[serde(rename = "hit@1")]
    pub hit1: f64,
    #[serde(rename = "hit@5")]
    pub hit5: f64,
    #[serde(rename = "hit@10")]
    pub hit10: f64,
    #[serde(rename = "mrr@10")]
    pub mrr10: f64,
    /// Share of lines with `evidence` whose top-1 chunk contains it (normalised).
    #[serde(rename = "evidence@1")]
    pub evidence1: Option<f64>,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub mode: RetrievalMode,
    /// With `--answers`: share of `answer` lines whose answer text contains it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_hit: Option<f64>,
    /// With `--answers`: share of `expect: refuse` lines the assistant refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal_rate: Option<f64>,
    /// With `--answers`: share of the other lines the assistant answered (did not refuse).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_rate: Option<f64>,
    /// With `--stages`: where the gold was lost, per retrieval stage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stages: Option<StageReport>,
    /// hit@1 / hit@5 per gold document (first gold of each line).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub per_doc: std::collections::BTreeMap<String, DocScore>,
}

#[derive(Debug, Serialize, PartialEq, Default)]
pub struct DocScore {
    pub n: usize,
    #[serde(rename = "hit@1")]
    pub hit1: f64,
    #[serde(rename = "hit@5")]
    pub hit5: f64,
}

/// Per-stage ranks of the gold: BM25 and dense alone (top 50), their fusion before re-scoring
/// (top 50) and the final list. Each line that misses rank 1 is put in one bucket: no retriever
/// had the gold in its top 50, fusion left it outside the re-scored head, or re-scoring (or the
/// fused order inside the head) did not put it first.
#[derive(Debug, Serialize, PartialEq, Default)]
pub struct StageReport {
    #[serde(rename = "bm25_hit@1")]
    pub bm25_hit1: f64,
    #[serde(rename = "bm25_recall@50")]
    pub bm25_recall50: f64,
    #[serde(rename = "dense_hit@1")]
    pub dense_hit1: f64,
    #[serde(rename = "dense_recall@50")]
    pub dense_recall50: f64,
    #[serde(rename = "fused_hit@1")]
    pub fused_hit1: f64,
    #[serde(rename = "fused_recall@20")]
    pub fused_recall20: f64,
    #[serde(rename = "final_hit@1")]
    pub final_hit1: f64,
    pub misses_not_retrieved: usize,
    pub misses_lost_in_fusion: usize,
    pub misses_lost_in_rescoring: usize,
}

/// Gold ranks of one line at each stage (1-based, within the stage's depth).
#[derive(Debug, Clone, Copy, Default)]
pub struct StageRanks {
    pub bm25: Option<usize>,
    pub dense: Option<usize>,
    pub fused: Option<usize>,
    pub final_rank: Option<usize>,
}

/// Depth of the re-scored head the stage report checks fusion against (search.rerank_depth).
const FUSED_HEAD: usize = 20;

pub fn stage_report(rows: &[StageRanks]) -> StageReport {
    let n = rows.len().max(1) as f64;
    let round = |x: f64| (x * 10000.0).round() / 10000.0;
    let share = |f: &dyn Fn(&StageRanks) -> bool| round(rows.iter().filter(|r| f(r)).count() as f64 / n);
    let mut r = StageReport {
        bm25_hit1: share(&|r| r.bm25 == Some(1)),
        bm25_recall50: share(&|r| r.bm25.is_some()),
        dense_hit1: share(&|r| r.dense == Some(1)),
        dense_recall50: share(&|r| r.dense.is_some()),
        fused_hit1: share(&|r| r.fused == Some(1)),
        fused_recall20: share(&|r| r.fused.is_some_and(|x| x <= FUSED_HEAD)),
        final_hit1: share(&|r| r.final_rank == Some(1)),
        ..StageReport::default()
    };
    for row in rows.iter().filter(|r| r.final_rank != Some(1)) {
        match miss_stage(row) {
            MissStage::NotRetrieved => r.misses_not_retrieved += 1,
            MissStage::Fusion => r.misses_lost_in_fusion += 1,
            MissStage::Rescoring => r.misses_lost_in_rescoring += 1,
        }
    }
    r
}

#[derive(Debug, PartialEq, Eq)]
pub enum MissStage {
    NotRetrieved,
    Fusion,
    Rescoring,
}

pub fn miss_stage(r: &StageRanks) -> MissStage {
    if r.bm25.is_none() && r.dense.is_none() {
        MissStage::NotRetrieved
    } else if r.fused.is_none_or(|x| x > FUSED_HEAD) {
        MissStage::Fusion
    } else {
        MissStage::Rescoring
    }
}

fn per_doc(rows: &[(String, Option<usize>)]) -> std::collections::BTreeMap<String, DocScore> {
    let mut m: std::collections::BTreeMap<String, (usize, usize, usize)> = std::collections::BTreeMap::new();
    for (doc, rank) in rows {
        let e = m.entry(doc.clone()).or_default();
        e.0 += 1;
        e.1 += usize::from(*rank == Some(1));
        e.2 += usize::from(rank.is_some_and(|r| r <= 5));
    }
    let round = |x: f64| (x * 10000.0).round() / 10000.0;
    m.into_iter().map(|(k, (n, h1, h5))| (k, DocScore { n, hit1: round(h1 as f64 / n as f64), hit5: round(h5 as f64 / n as f64) })).collect()
}

/// Answer-level outcomes of one eval run (`--answers`).
#[derive(Debug, Default)]
pub struct AnswerScores {
    pub answer_hits: Vec<bool>,
    pub refused_when_expected: Vec<bool>,
    pub answered_when_expected: Vec<bool>,
}

fn share(v: &[bool]) -> Option<f64> {
    if v.is_empty() {
        None
    } else {
        Some(((v.iter().filter(|x| **x).count() as f64 / v.len() as f64) * 10000.0).round() / 10000.0)
    }
}

impl AnswerScores {
    pub fn apply(&self, s: &mut Summary) {
        s.answer_hit = share(&self.answer_hits);
        s.refusal_rate = share(&self.refused_when_expected);
        s.answered_rate = share(&self.answered_when_expected);
    }
}

/// A hit answers a gold entry when its document title contains `doc` and its article label
/// equals `article`.
pub fn matches(doc_title: &str, article: Option<&str>, gold: &[Gold]) -> bool {
    gold.iter().any(|g| doc_title.contains(&g.doc) && article == Some(g.article.as_str()))
}

/// 1-based rank of the first answering hit within the first `k`.
pub fn first_rank(hits: &[(String, Option<String>)], gold: &[Gold], k: usize) -> Option<usize> {
    hits.iter().take(k).position(|(t, a)| matches(t, a.as_deref(), gold)).map(|p| p + 1)
}

/// Letters and digits only (CJK included): punctuation and spacing differences do not count.
pub fn normalize(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).collect()
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn summarize(ranks: &[Option<usize>], evidence: &[bool], mut latencies: Vec<f64>, mode: RetrievalMode) -> Summary {
    let n = ranks.len();
    let share = |k: usize| if n == 0 { 0.0 } else { ranks.iter().filter(|r| r.is_some_and(|r| r <= k)).count() as f64 / n as f64 };
    let mrr = if n == 0 { 0.0 } else { ranks.iter().map(|r| r.filter(|&r| r <= 10).map(|r| 1.0 / r as f64).unwrap_or(0.0)).sum::<f64>() / n as f64 };
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let round = |x: f64| (x * 10000.0).round() / 10000.0;
    Summary {
        n,
        hit1: round(share(1)),
        hit5: round(share(5)),
        hit10: round(share(10)),
        mrr10: round(mrr),
        evidence1: if evidence.is_empty() { None } else { Some(round(evidence.iter().filter(|e| **e).count() as f64 / evidence.len() as f64)) },
        p50_ms: round(percentile(&latencies, 50.0)),
        p99_ms: round(percentile(&latencies, 99.0)),
        mode,
        answer_hit: None,
        refusal_rate: None,
        answered_rate: None,
        stages: None,
        per_doc: Default::default(),
    }
}

pub struct EvalOptions<'a> {
    pub mode: RetrievalMode,
    pub verbose: bool,
    /// Also answer each question with the assistant and score answers and refusals.
    pub assistant: Option<&'a Assistant>,
    /// Write one JSON line of refusal evidence per question here (for calibration).
    pub features: Option<&'a Path>,
    /// Also rank the gold per stage (BM25, dense, fusion, final) and say where misses happen.
    pub stages: bool,
    /// Write the re-scoring features of every head candidate, labelled gold or not (JSONL).
    pub rank_features: Option<&'a Path>,
}

pub async fn run(kb: &KnowledgeBase, file: &Path, o: EvalOptions<'_>) -> anyhow::Result<Summary> {
    let text = std::fs::read_to_string(file).with_context(|| format!("无法读取评测文件 {}", file.display()))?;
    let mut lines = Vec::new();
    for (i, l) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let line: EvalLine = serde_json::from_str(l).with_context(|| format!("评测文件第 {} 行格式错误", i + 1))?;
        lines.push(line);
    }
    let opts = SearchOptions { top_k: Some(10), mode: o.mode, ..SearchOptions::default() };
    // Warm-up so that the first measured query does not pay one-time costs.
    let _ = kb.search("党员", &opts).await?;
    let mut ranks = Vec::new();
    let mut evidence = Vec::new();
    let mut latencies = Vec::new();
    let mut scores = AnswerScores::default();
    let mut features = Vec::new();
    let mut stage_rows = Vec::new();
    let mut rank_rows = Vec::new();
    let mut doc_rows = Vec::new();
    for line in &lines {
        if let Some(assistant) = o.assistant {
            let (_, answer, done, ev) = assistant.answer_question(&line.question, &dwt_store::Audience::anonymous()).await?;
            if line.expects_refusal() {
                scores.refused_when_expected.push(done.refused);
            } else {
                scores.answered_when_expected.push(!done.refused);
            }
            if let Some(expected) = &line.answer {
                scores.answer_hits.push(!done.refused && normalize(&answer).contains(&normalize(expected)));
            }
            if o.features.is_some() {
                features.push(serde_json::json!({
                    "id": line.id, "question": line.question, "refuse": line.expects_refusal(),
                    "dense": ev.dense, "coverage": ev.coverage, "agree": ev.agree, "known": ev.known, "type_match": ev.type_match, "sentence_coverage": ev.sentence_coverage,
                    "confidence": done.confidence, "refused": done.refused,
                }));
            }
            if o.verbose && line.expects_refusal() != done.refused {
                let what = if done.refused { "误拒答" } else { "未拒答" };
                out(&format!("{what} {}: {} | 置信度 {:.3}", line.id, line.question, done.confidence));
            }
        }
        // Retrieval metrics count only lines that name gold articles.
        if line.gold.is_empty() {
            continue;
        }
        let start = Instant::now();
        let hits: Vec<Hit> = kb.search(&line.question, &opts).await?;
        latencies.push(start.elapsed().as_secs_f64() * 1000.0);
        let pairs: Vec<(String, Option<String>)> = hits.iter().map(|h| (h.doc_title.clone(), h.article.clone())).collect();
        let rank = first_rank(&pairs, &line.gold, 10);
        ranks.push(rank);
        if let Some(g) = line.gold.first() {
            doc_rows.push((g.doc.clone(), rank));
        }
        if o.rank_features.is_some() {
            let deep = SearchOptions { top_k: Some(kb.settings().search.rerank_depth.max(10)), mode: o.mode, ..SearchOptions::default() };
            for h in kb.search(&line.question, &deep).await? {
                let gold = matches(&h.doc_title, h.article.as_deref(), &line.gold);
                rank_rows.push(serde_json::json!({"id": line.id, "gold": gold, "features": h.features}));
            }
        }
        let stage = if o.stages { Some(gold_stage_ranks(kb, &line.question, &line.gold, rank).await?) } else { None };
        if let Some(s) = stage {
            stage_rows.push(s);
        }
        if let Some(ev) = &line.evidence {
            let ok = hits.first().is_some_and(|h| normalize(&h.text).contains(&normalize(ev)));
            evidence.push(ok);
        }
        if o.verbose && rank != Some(1) {
            let top = hits.first().map(|h| format!("《{}》{}", h.doc_title, h.article.clone().unwrap_or_default())).unwrap_or_default();
            let gold: Vec<String> = line.gold.iter().map(|g| format!("{}{}", g.doc, g.article)).collect();
            let where_lost = stage
                .map(|s| {
                    let stage = match miss_stage(&s) {
                        MissStage::NotRetrieved => "未召回",
                        MissStage::Fusion => "融合丢失",
                        MissStage::Rescoring => "重排丢失",
                    };
                    format!(" | {stage}（BM25 {:?} · 向量 {:?} · 融合 {:?}）", s.bm25, s.dense, s.fused)
                })
                .unwrap_or_default();
            out(&format!("未命中首位 {}: {} | 期望 {} | 排名 {:?} | 首位 {}{where_lost}", line.id, line.question, gold.join("/"), rank, top));
        }
    }
    if let Some(path) = o.rank_features {
        let body: String = rank_rows.iter().map(|f| format!("{f}\n")).collect();
        std::fs::write(path, body).with_context(|| format!("无法写入 {}", path.display()))?;
    }
    if let Some(path) = o.features {
        let body: String = features.iter().map(|f| format!("{f}\n")).collect();
        std::fs::write(path, body).with_context(|| format!("无法写入 {}", path.display()))?;
    }
    let mut summary = summarize(&ranks, &evidence, latencies, o.mode);
    summary.per_doc = per_doc(&doc_rows);
    if o.stages {
        summary.stages = Some(stage_report(&stage_rows));
    }
    if o.assistant.is_some() {
        scores.apply(&mut summary);
    }
    Ok(summary)
}

/// The gold's rank in each retriever's top 50 and in the fused list before re-scoring.
async fn gold_stage_ranks(kb: &KnowledgeBase, question: &str, gold: &[Gold], final_rank: Option<usize>) -> anyhow::Result<StageRanks> {
    let rank_in = |hits: Vec<Hit>| {
        let pairs: Vec<(String, Option<String>)> = hits.into_iter().map(|h| (h.doc_title, h.article)).collect();
        first_rank(&pairs, gold, 50)
    };
    let deep = |mode, stage| SearchOptions { top_k: Some(50), mode, stage, ..SearchOptions::default() };
    Ok(StageRanks {
        bm25: rank_in(kb.search(question, &deep(RetrievalMode::Bm25, SearchStage::Fused)).await?),
        dense: rank_in(kb.search(question, &deep(RetrievalMode::Dense, SearchStage::Fused)).await?),
        fused: rank_in(kb.search(question, &deep(RetrievalMode::Hybrid, SearchStage::Fused)).await?),
        final_rank,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misses_are_put_in_the_stage_that_lost_them() {
        let row = |bm25, dense, fused, final_rank| StageRanks { bm25, dense, fused, final_rank };
        let rows = [
            row(Some(1), Some(1), Some(1), Some(1)),
            row(None, None, None, None),
            row(Some(40), None, Some(31), None),
            row(Some(3), Some(2), Some(2), Some(4)),
        ];
        assert_eq!(miss_stage(&rows[1]), MissStage::NotRetrieved);
        assert_eq!(miss_stage(&rows[2]), MissStage::Fusion);
        assert_eq!(miss_stage(&rows[3]), MissStage::Rescoring);
        let r = stage_report(&rows);
        assert_eq!((r.misses_not_retrieved, r.misses_lost_in_fusion, r.misses_lost_in_rescoring), (1, 1, 1));
        assert_eq!(r.bm25_hit1, 0.25);
        assert_eq!(r.bm25_recall50, 0.75);
        assert_eq!(r.dense_recall50, 0.5);
        assert_eq!(r.fused_recall20, 0.5);
        assert_eq!(r.final_hit1, 0.25);
        let docs = per_doc(&[("党章".into(), Some(1)), ("党章".into(), Some(6)), ("细则".into(), Some(3))]);
        assert_eq!(docs["党章"], DocScore { n: 2, hit1: 0.5, hit5: 0.5 });
        assert_eq!(docs["细则"], DocScore { n: 1, hit1: 0.0, hit5: 1.0 });
    }

    fn g(doc: &str, article: &str) -> Vec<Gold> {
        vec![Gold { doc: doc.into(), article: article.into() }]
    }

    #[test]
    fn rank_needs_doc_and_article() {
        let hits = vec![
            ("中国共产党章程".to_string(), Some("第六条".to_string())),
            ("中华人民共和国劳动法".to_string(), Some("第七条".to_string())),
            ("中国共产党章程".to_string(), Some("第七条".to_string())),
        ];
        assert_eq!(first_rank(&hits, &g("中国共产党章程", "第七条"), 10), Some(3));
        assert_eq!(first_rank(&hits, &g("中国共产党章程", "第七条"), 2), None);
        assert_eq!(first_rank(&hits, &g("劳动合同法", "第七条"), 10), None, "doc must be contained in the title");
        assert_eq!(first_rank(&hits, &g("劳动法", "第七条"), 10), Some(2));
        assert_eq!(first_rank(&hits, &g("章程", "总纲"), 10), None);
    }

    #[test]
    fn metrics_math() {
        let ranks = vec![Some(1), Some(2), None, Some(11)];
        let s = summarize(&ranks, &[true, false], vec![5.0, 1.0, 3.0, 2.0], RetrievalMode::Hybrid);
        assert_eq!(s.n, 4);
        assert_eq!(s.hit1, 0.25);
        assert_eq!(s.hit5, 0.5);
        assert_eq!(s.hit10, 0.5);
        assert_eq!(s.mrr10, 0.375, "(1 + 1/2 + 0 + 0) / 4");
        assert_eq!(s.evidence1, Some(0.5));
        assert_eq!(s.p50_ms, 2.0);
        assert_eq!(s.p99_ms, 5.0);
    }

    #[test]
    fn evidence_ignores_punctuation_and_spaces() {
        assert!(normalize("第七条 党员的党龄，从预备期满转为正式党员之日算起。").contains(&normalize("党员的党龄,从预备期满转为正式党员之日算起")));
    }
}

#[derive(Debug, Deserialize)]
struct QaEvalLine {
    id: serde_json::Value,
    question: String,
    /// The curated question this one should match, or null when none should.
    expect_qa: Option<String>,
}

/// FAQ-first matching quality: whether the best pair is right and clears the threshold.
#[derive(Debug, Serialize, PartialEq)]
pub struct QaSummary {
    pub n: usize,
    pub threshold: f32,
    /// Share of lines decided right (right pair accepted, or nothing accepted for `null`).
    pub accuracy: f64,
    /// Of accepted answers, the share that were the right pair.
    pub precision: f64,
    /// Of lines that should match, the share answered with the right pair.
    pub recall: f64,
    /// Lines answered with a curated pair they should not get.
    pub wrong_answers: usize,
    /// Threshold that maximises accuracy on this set, and that accuracy (for calibration).
    pub best_threshold: f32,
    pub best_accuracy: f64,
}

/// Decisions at `t` over (score, right pair?, should match?).
fn qa_counts(rows: &[(f32, bool, bool)], t: f32) -> (usize, usize, usize, usize) {
    let (mut correct, mut accepted, mut accepted_right, mut wrong) = (0, 0, 0, 0);
    for &(score, right_pair, should) in rows {
        let accept = score >= t;
        if accept {
            accepted += 1;
            if should && right_pair {
                accepted_right += 1;
                correct += 1;
            } else {
                wrong += 1;
            }
        } else if !should {
            correct += 1;
        }
    }
    (correct, accepted, accepted_right, wrong)
}

pub async fn run_qa(matcher: &dwt_assistant::faq::FaqMatcher, file: &Path, verbose: bool, features: Option<&Path>) -> anyhow::Result<QaSummary> {
    let mut feature_rows = String::new();
    let text = std::fs::read_to_string(file).with_context(|| format!("无法读取评测文件 {}", file.display()))?;
    let mut rows = Vec::new();
    for (i, l) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let line: QaEvalLine = serde_json::from_str(l).with_context(|| format!("评测文件第 {} 行格式错误", i + 1))?;
        let m = matcher.match_question(&line.question, &dwt_store::Audience::anonymous()).await?;
        if features.is_some() {
            // Every pair's evidence, labelled: for fitting the score weights offline.
            for (pair, ev) in matcher.evidence_for(&line.question).await? {
                let positive = line.expect_qa.as_deref() == Some(pair.question.as_str());
                feature_rows.push_str(&format!("{}\n", serde_json::json!({"id": line.id, "pair": pair.id, "positive": positive, "should": line.expect_qa.is_some(), "dense": ev.dense, "lexical": ev.lexical, "answer": ev.answer, "cited": ev.cited, "type_conflict": ev.type_conflict})));
            }
        }
        let (score, best) = m.as_ref().map(|m| (m.score, m.pair.question.clone())).unwrap_or((0.0, String::new()));
        let right_pair = line.expect_qa.as_deref() == Some(best.as_str());
        let should = line.expect_qa.is_some();
        if verbose && ((score >= matcher.threshold()) != should || (should && !right_pair)) {
            let detail = m.as_ref().map(|m| format!("dense {:.3} lexical {:.3} answer {:.3}", m.evidence.dense, m.evidence.lexical, m.evidence.answer)).unwrap_or_default();
            out(&format!("{} {}: {} | 最佳 {best} | 得分 {score:.3}（{detail}）| 期望 {:?}", if should { "漏配" } else { "误配" }, line.id, line.question, line.expect_qa));
        }
        rows.push((score, right_pair, should));
    }
    anyhow::ensure!(!rows.is_empty(), "评测文件中没有数据：{}", file.display());
    if let Some(path) = features {
        std::fs::write(path, feature_rows).with_context(|| format!("无法写入 {}", path.display()))?;
    }
    let n = rows.len();
    let t = matcher.threshold();
    let (correct, accepted, accepted_right, wrong) = qa_counts(&rows, t);
    let should_n = rows.iter().filter(|r| r.2).count().max(1);
    let mut best = (t, correct);
    for step in 0..=100 {
        let cand = step as f32 / 100.0;
        let (c, ..) = qa_counts(&rows, cand);
        if c > best.1 {
            best = (cand, c);
        }
    }
    Ok(QaSummary {
        n,
        threshold: t,
        accuracy: correct as f64 / n as f64,
        precision: if accepted == 0 { 1.0 } else { accepted_right as f64 / accepted as f64 },
        recall: accepted_right as f64 / should_n as f64,
        wrong_answers: wrong,
        best_threshold: best.0,
        best_accuracy: best.1 as f64 / n as f64,
    })
}

#[cfg(test)]
mod qa_tests {
    use super::*;

    #[test]
    fn qa_decisions_count_wrong_pairs_as_wrong_answers() {
        // (score, right pair, should match)
        let rows = [(0.9, true, true), (0.9, false, true), (0.5, true, true), (0.9, false, false), (0.2, false, false)];
        assert_eq!(qa_counts(&rows, 0.8), (2, 3, 1, 2));
        assert_eq!(qa_counts(&rows, 0.95), (2, 0, 0, 0));
    }
}
