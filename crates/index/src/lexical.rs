//! BM25 over title, headings and text with tantivy and jieba.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;

use dwt_core::StoredChunk;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, Value, STRING,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::{doc, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

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
        body: b.add_text_field("body", text(true)),
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

    pub fn add_chunks(&self, chunks: &[StoredChunk]) -> Result<(), IndexError> {
        self.with_writer(|w, f| {
            for c in chunks {
                w.add_document(doc!(
                    f.chunk_id => c.id as u64,
                    f.doc_id => c.doc_id as u64,
                    f.title => c.doc_title.clone(),
                    f.heading => c.heading_path.join(" "),
                    f.body => c.text.clone(),
                    f.article => c.article.clone().unwrap_or_default(),
                    f.doc_type => c.doc_type.as_str(),
                    f.status => c.doc_status.as_str(),
                ))?;
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

    pub fn reload(&self) -> Result<(), IndexError> {
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
        let top = searcher.search(&query, &TopDocs::with_limit(limit.max(1)).order_by_score())?;
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let d: TantivyDocument = searcher.doc(addr)?;
            if let Some(id) = d.get_first(self.fields.chunk_id).and_then(|v| v.as_u64()) {
                out.push((id as i64, score));
            }
        }
        Ok(out)
    }

    /// Highlighted snippet of `text` for the query terms (`<em>` around matches, HTML-escaped).
    pub fn snippet(&self, q: &AnalyzedQuery, text: &str, max_chars: usize) -> String {
        let f = self.fields;
        let terms: Vec<(Occur, Box<dyn Query>)> = q
            .terms
            .iter()
            .map(|(t, _)| (Occur::Should, Box::new(TermQuery::new(Term::from_field_text(f.body, t), IndexRecordOption::WithFreqs)) as Box<dyn Query>))
            .collect();
        let query = BooleanQuery::new(terms);
        let searcher = self.reader.searcher();
        match SnippetGenerator::create(&searcher, &query, f.body) {
            Ok(mut generator) => {
                generator.set_max_num_chars(max_chars);
                let mut snippet = generator.snippet(text);
                snippet.set_snippet_prefix_postfix("<em>", "</em>");
                if snippet.fragment().is_empty() {
                    html_escape(&text.chars().take(max_chars).collect::<String>())
                } else {
                    snippet.to_html()
                }
            }
            Err(_) => html_escape(&text.chars().take(max_chars).collect::<String>()),
        }
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

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
