//! BM25 over title, headings and text with tantivy and jieba.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;

use dwt_core::StoredChunk;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, STRING,
};
use tantivy::{doc, Index, IndexReader, IndexWriter, ReloadPolicy, Term};

use crate::error::IndexError;
use crate::query::AnalyzedQuery;
use crate::tokenizer::{JiebaTantivyTokenizer, Segmenter};
use crate::SearchFilter;

const TOKENIZER: &str = "dwt_jieba";
const WRITER_HEAP: usize = 64 * 1024 * 1024;

#[derive(Clone, Copy)]
struct Fields {
    chunk_id: Field,
    doc_id: Field,
    title: Field,
    heading: Field,
    body: Field,
    article: Field,
    doc_type: Field,
    status: Field,
}

pub struct LexicalIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<Option<IndexWriter>>,
    fields: Fields,
}

#[derive(Debug, Clone, Copy)]
pub struct Boosts {
    pub title: f32,
    pub heading: f32,
    pub article: f32,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |stored: bool| {
        let idx = TextFieldIndexing::default().set_tokenizer(TOKENIZER).set_index_option(IndexRecordOption::WithFreqsAndPositions);
        let o = TextOptions::default().set_indexing_options(idx);
        if stored { o.set_stored() } else { o }
    };
    let id_opts = NumericOptions::default().set_indexed().set_fast().set_stored();
    let fields = Fields {
        chunk_id: b.add_u64_field("chunk_id", id_opts.clone()),
        doc_id: b.add_u64_field("doc_id", id_opts),
        title: b.add_text_field("title", text(false)),
        heading: b.add_text_field("heading", text(false)),
        body: b.add_text_field("body", text(false)),
        article: b.add_text_field("article", STRING),
        doc_type: b.add_text_field("doc_type", STRING),
        status: b.add_text_field("status", STRING),
    };
    (b.build(), fields)
}

impl LexicalIndex {
    pub fn open(dir: &Path, segmenter: Segmenter) -> Result<Self, IndexError> {
        std::fs::create_dir_all(dir).map_err(|e| IndexError::Lexical(format!("{}: {e}", dir.display())))?;
        let (schema, fields) = schema();
        let mmap = tantivy::directory::MmapDirectory::open(dir)?;
        let index = Index::open_or_create(mmap, schema)?;
        index.tokenizers().register(TOKENIZER, JiebaTantivyTokenizer { segmenter });
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(Self { index, reader, writer: Mutex::new(None), fields })
    }

    /// The writer takes tantivy's directory lock, so it is opened on the first write only: a
    /// read-only process (search, eval) can run beside a writer.
    fn with_writer<T>(&self, f: impl FnOnce(&mut IndexWriter, Fields) -> Result<T, IndexError>) -> Result<T, IndexError> {
        let mut guard = self.writer.lock().map_err(|_| IndexError::Lexical("writer lock poisoned".into()))?;
        if guard.is_none() {
            *guard = Some(self.index.writer(WRITER_HEAP)?);
        }
        match guard.as_mut() {
            Some(w) => f(w, self.fields),
            None => Err(IndexError::Lexical("writer unavailable".into())),
        }
    }

    pub fn delete_documents(&self, doc_ids: &[i64]) -> Result<(), IndexError> {
        self.with_writer(|w, f| {
            for id in doc_ids {
                w.delete_term(Term::from_field_u64(f.doc_id, *id as u64));
            }
            Ok(())
        })
    }

    pub fn delete_chunks(&self, chunk_ids: &[i64]) -> Result<(), IndexError> {
        self.with_writer(|w, f| {
            for id in chunk_ids {
                w.delete_term(Term::from_field_u64(f.chunk_id, *id as u64));
            }
            Ok(())
        })
    }

    /// Adds each chunk as its retrieval units (`units[i]` = texts of `chunks[i]`; unit 0 is the
    /// whole chunk). A chunk then scores by its best unit.
    pub fn add_chunks(&self, chunks: &[StoredChunk], units: &[Vec<String>]) -> Result<(), IndexError> {
        self.with_writer(|w, f| {
            for (c, texts) in chunks.iter().zip(units) {
                for text in texts {
                    w.add_document(doc!(
                        f.chunk_id => c.id as u64,
                        f.doc_id => c.doc_id as u64,
                        f.title => c.doc_title.clone(),
                        f.heading => c.heading_path.join(" "),
                        f.body => text.clone(),
                        f.article => c.article.clone().unwrap_or_default(),
                        f.doc_type => c.doc_type.as_str(),
                        f.status => c.doc_status.as_str(),
                    ))?;
                }
            }
            Ok(())
        })
    }

    /// Commits pending writes and makes them visible to searches.
    pub fn commit(&self) -> Result<(), IndexError> {
        self.with_writer(|w, _| {
            w.commit()?;
            Ok(())
        })?;
        self.reader.reload()?;
        Ok(())
    }

    fn build_query(&self, q: &AnalyzedQuery, boosts: Boosts, filter: &SearchFilter) -> Option<Box<dyn Query>> {
        let f = self.fields;
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (term, w) in &q.terms {
            for (field, boost) in [(f.body, 1.0), (f.title, boosts.title), (f.heading, boosts.heading)] {
                if boost <= 0.0 {
                    continue;
                }
                let tq = TermQuery::new(Term::from_field_text(field, term), IndexRecordOption::WithFreqs);
                should.push((Occur::Should, Box::new(BoostQuery::new(Box::new(tq), w * boost))));
            }
        }
        for label in &q.articles {
            let tq = TermQuery::new(Term::from_field_text(f.article, label), IndexRecordOption::Basic);
            should.push((Occur::Should, Box::new(BoostQuery::new(Box::new(tq), boosts.article))));
        }
        if should.is_empty() {
            return None;
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, Box::new(BooleanQuery::new(should)))];
        let any_of = |field: Field, values: Vec<String>| -> Box<dyn Query> {
            Box::new(BooleanQuery::new(
                values
                    .into_iter()
                    .map(|v| (Occur::Should, Box::new(TermQuery::new(Term::from_field_text(field, &v), IndexRecordOption::Basic)) as Box<dyn Query>))
                    .collect(),
            ))
        };
        if !filter.doc_types.is_empty() {
            clauses.push((Occur::Must, any_of(f.doc_type, filter.doc_types.iter().map(|t| t.as_str().to_string()).collect())));
        }
        if !filter.statuses.is_empty() {
            clauses.push((Occur::Must, any_of(f.status, filter.statuses.iter().map(|t| t.as_str().to_string()).collect())));
        }
        if !filter.doc_ids.is_empty() {
            let ids = filter
                .doc_ids
                .iter()
                .map(|id| (Occur::Should, Box::new(TermQuery::new(Term::from_field_u64(f.doc_id, *id as u64), IndexRecordOption::Basic)) as Box<dyn Query>))
                .collect();
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(ids))));
        }
        Some(Box::new(BooleanQuery::new(clauses)))
    }

    /// BM25 ranking: (chunk id, score), best first.
    pub fn search(&self, q: &AnalyzedQuery, limit: usize, boosts: Boosts, filter: &SearchFilter) -> Result<Vec<(i64, f32)>, IndexError> {
        let Some(query) = self.build_query(q, boosts, filter) else { return Ok(Vec::new()) };
        let searcher = self.reader.searcher();
        // Units of one chunk compete; take enough to fill `limit` distinct chunks.
        let top = searcher.search(&query, &TopDocs::with_limit(limit.max(1) * 4).order_by_score())?;
        let mut out: Vec<(i64, f32)> = Vec::with_capacity(limit);
        let mut seen = HashSet::new();
        for (score, addr) in top {
            let col = searcher.segment_reader(addr.segment_ord).fast_fields().u64("chunk_id")?;
            if let Some(id) = col.first(addr.doc_id) {
                if seen.insert(id) {
                    out.push((id as i64, score));
                    if out.len() >= limit {
                        break;
                    }
                }
            }
        }
        Ok(out)
    }

    /// Highlighted snippet of `text` for the query terms (`<em>` around matches, HTML-escaped).
    pub fn snippet(&self, q: &AnalyzedQuery, text: &str, max_chars: usize) -> String {
        let terms: Vec<&str> = q.terms.iter().map(|(t, _)| t.as_str()).collect();
        highlight(text, &terms, max_chars)
    }

    /// BM25 IDF of each term over the body field (0 for terms not in the index).
    pub fn idf(&self, terms: &[String]) -> Vec<f32> {
        let searcher = self.reader.searcher();
        let n = searcher.num_docs() as f32;
        terms
            .iter()
            .map(|t| {
                let df = searcher.doc_freq(&Term::from_field_text(self.fields.body, t)).unwrap_or(0) as f32;
                if df == 0.0 {
                    0.0
                } else {
                    (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
                }
            })
            .collect()
    }

    pub fn num_chunks(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Every chunk id in the index (for consistency checks).
    pub fn chunk_ids(&self) -> Result<HashSet<i64>, IndexError> {
        let searcher = self.reader.searcher();
        let mut ids = HashSet::new();
        for segment in searcher.segment_readers() {
            let col = segment.fast_fields().u64("chunk_id")?;
            let alive = segment.alive_bitset();
            for doc in 0..segment.max_doc() {
                if alive.is_some_and(|a| !a.is_alive(doc)) {
                    continue;
                }
                if let Some(v) = col.first(doc) {
                    ids.insert(v as i64);
                }
            }
        }
        Ok(ids)
    }
}


/// Picks the sentence window that covers the most (and longest) query terms, then wraps every
/// match in `<em>`. Written here because tantivy's snippet generator expects monotonic token
/// offsets, which jieba's search mode (overlapping sub-words) does not give.
pub fn highlight(text: &str, terms: &[&str], max_chars: usize) -> String {
    let lower = text.to_lowercase();
    let terms: Vec<String> = terms.iter().map(|t| t.to_lowercase()).filter(|t| !t.is_empty()).collect();
    // Sentence spans (byte offsets), terminators kept.
    let mut spans = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if matches!(c, '。' | '！' | '？' | '；' | '\n') {
            spans.push((start, i + c.len_utf8()));
            start = i + c.len_utf8();
        }
    }
    if start < text.len() {
        spans.push((start, text.len()));
    }
    let score = |(a, b): (usize, usize)| -> usize {
        let s = lower.get(a..b).unwrap_or("");
        terms.iter().filter(|t| s.contains(&t[..])).map(|t| t.chars().count()).sum()
    };
    let best = (0..spans.len()).max_by_key(|&i| (score(spans[i]), usize::MAX - i)).unwrap_or(0);
    let (mut a, mut b) = spans.get(best).copied().unwrap_or((0, text.len()));
    // Grow forward, then backward, while within the budget.
    let chars = |a: usize, b: usize| text.get(a..b).map(|s| s.chars().count()).unwrap_or(0);
    let mut next = best + 1;
    while next < spans.len() && chars(a, spans[next].1) <= max_chars {
        b = spans[next].1;
        next += 1;
    }
    let mut prev = best;
    while prev > 0 && chars(spans[prev - 1].0, b) <= max_chars {
        prev -= 1;
        a = spans[prev].0;
    }
    let window: String = text.get(a..b).unwrap_or("").trim().chars().take(max_chars).collect();
    // Mark matched byte ranges in the window, longest terms first, no overlaps.
    let wl = window.to_lowercase();
    let mut marks = vec![false; window.len()];
    let mut sorted = terms.clone();
    sorted.sort_by_key(|t| std::cmp::Reverse(t.len()));
    if wl.len() == window.len() {
        for t in &sorted {
            for (pos, m) in wl.match_indices(t.as_str()) {
                if !marks[pos..pos + m.len()].iter().any(|x| *x) {
                    marks[pos..pos + m.len()].iter_mut().for_each(|x| *x = true);
                }
            }
        }
    }
    let mut out = String::with_capacity(window.len() + 32);
    let mut open = false;
    for (i, c) in window.char_indices() {
        let m = marks.get(i).copied().unwrap_or(false);
        if m && !open {
            out.push_str("<em>");
            open = true;
        } else if !m && open {
            out.push_str("</em>");
            open = false;
        }
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    if open {
        out.push_str("</em>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::highlight;

    #[test]
    fn highlights_the_best_sentence_and_escapes() {
        let text = "第七条 党员的党龄，从预备期满转为正式党员之日算起。预备党员的义务同正式党员一样。<script>";
        let h = highlight(text, &["党龄", "算起"], 30);
        assert!(h.starts_with("第七条 党员的<em>党龄</em>"), "{h}");
        assert!(h.contains("<em>算起</em>"), "{h}");
        let h = highlight("a<b>&c 党龄", &["党龄"], 100);
        assert_eq!(h, "a&lt;b&gt;&amp;c <em>党龄</em>");
    }
}
