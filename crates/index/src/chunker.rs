//! Blocks → chunks. An article is one chunk when it fits the model window; a longer one is
//! split inside at sentence boundaries, every piece keeping the article label. Preamble
//! paragraphs are chunks of their own. Free text is packed by text-splitter, sized in tokens.

use dwt_core::{BlockKind, ChunkDraft, ParsedDocument};
use text_splitter::{ChunkConfig, TextSplitter};
use tokenizers::Tokenizer;

pub struct Chunker<'a> {
    tokenizer: &'a Tokenizer,
    /// Model window in tokens (prefix and special tokens included).
    max_tokens: usize,
    /// Target size of free-text chunks.
    text_tokens: usize,
}

/// The text that is embedded for a chunk: document title, headings and label give the model
/// the context a bare article lacks ("第七条 党员的党龄…" of *which* document).
pub fn embedding_text(doc_title: &str, heading_path: &[String], article: Option<&str>, text: &str) -> String {
    let mut head = String::from(doc_title);
    for h in heading_path {
        head.push(' ');
        head.push_str(h);
    }
    if let Some(a) = article {
        if !text.starts_with(a) {
            head.push(' ');
            head.push_str(a);
        }
    }
    format!("{head}\n{text}")
}

impl<'a> Chunker<'a> {
    pub fn new(tokenizer: &'a Tokenizer, max_tokens: usize, text_tokens: usize) -> Self {
        Self { tokenizer, max_tokens, text_tokens: text_tokens.min(max_tokens) }
    }

    fn count(&self, text: &str) -> usize {
        self.tokenizer.encode(text, true).map(|e| e.len()).unwrap_or_else(|_| text.chars().count() + 2)
    }

    fn split(&self, text: &str, capacity: std::ops::Range<usize>) -> Vec<String> {
        let cap = capacity.start.max(1)..capacity.end.max(2);
        let splitter = TextSplitter::new(ChunkConfig::new(cap).with_sizer(self.tokenizer).with_trim(true));
        splitter.chunks(text).map(str::to_string).collect()
    }

    pub fn chunk(&self, doc: &ParsedDocument) -> Vec<ChunkDraft> {
        let title = doc.meta.title.as_str();
        let mut out: Vec<ChunkDraft> = Vec::new();
        for block in &doc.blocks {
            let context = embedding_text(title, &block.heading_path, block.article.as_deref(), "");
            // "passage: " prefix and the context line count against the window too.
            let budget = self.max_tokens.saturating_sub(self.count(&context) + 4).max(32);
            let pieces: Vec<String> = match block.kind {
                BlockKind::Article | BlockKind::Preamble => {
                    if self.count(&block.text) <= budget {
                        vec![block.text.clone()]
                    } else {
                        self.split(&block.text, budget / 2..budget)
                    }
                }
                BlockKind::Text => self.split(&block.text, (self.text_tokens / 2).min(budget)..self.text_tokens.min(budget)),
            };
            for text in pieces {
                let text = text.trim().to_string();
                if text.is_empty() {
                    continue;
                }
                let token_count = self.count(&text) as u32;
                out.push(ChunkDraft {
                    position: out.len() as u32,
                    heading_path: block.heading_path.clone(),
                    article: block.article.clone(),
                    text,
                    token_count,
                });
            }
        }
        out
    }
}
