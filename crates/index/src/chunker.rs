//! Blocks → chunks. An article is one chunk when it fits the model window; a longer one is
//! split inside at sentence boundaries, every piece keeping the article label. Preamble
//! paragraphs are chunks of their own. Free text is packed by text-splitter, sized in tokens.

use dwt_core::text::split_sentences;
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

/// Bits of a point id reserved for the unit number: point id = chunk id << 8 | unit.
pub const UNIT_BITS: u32 = 8;

/// Sentence probes of a chunk's text: its sentences, short ones merged into their neighbour,
/// at most `max` (adjacent pairs merged until it fits). Empty when the chunk is one sentence:
/// the whole-chunk unit already is that sentence.
pub fn probes(text: &str, max: usize) -> Vec<String> {
    const MIN_CHARS: usize = 12;
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for s in split_sentences(text) {
        cur.push_str(s);
        if cur.chars().count() >= MIN_CHARS {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        match out.last_mut() {
            Some(last) => last.push_str(&cur),
            None => out.push(cur),
        }
    }
    while out.len() > max.max(1) {
        out = out.chunks(2).map(|p| p.concat()).collect();
    }
    if out.len() < 2 {
        Vec::new()
    } else {
        out
    }
}

/// Texts of a chunk's retrieval units: unit 0 is the whole chunk, then its probes (only for
/// chunks of at least `min_chars`: a short chunk is already as focused as its sentences).
pub fn unit_texts(text: &str, sentence_probes: bool, max_probes: usize, min_chars: usize) -> Vec<String> {
    let mut units = vec![text.to_string()];
    if sentence_probes && text.chars().count() >= min_chars {
        units.extend(probes(text, max_probes.min((1 << UNIT_BITS) - 1)));
    }
    units
}

pub fn point_id(chunk_id: i64, unit: usize) -> u64 {
    ((chunk_id as u64) << UNIT_BITS) | unit as u64
}

pub fn chunk_of_point(point_id: u64) -> i64 {
    (point_id >> UNIT_BITS) as i64
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_are_sentences_with_short_ones_merged() {
        let p = probes("第三条 党员必须履行下列义务：\n（一）认真学习。\n（二）贯彻执行党的基本路线和各项方针。", 10);
        assert_eq!(p, vec!["第三条 党员必须履行下列义务：", "（一）认真学习。（二）贯彻执行党的基本路线和各项方针。"]);
        assert!(probes("只有一句话而已，没有第二句。", 10).is_empty());
        let many: String = (0..40).map(|i| format!("这是第{i}个足够长的句子内容。")).collect();
        let p = probes(&many, 16);
        assert!(p.len() <= 16 && p.len() >= 8, "{}", p.len());
        assert_eq!(p.concat(), many, "merging never drops text");
    }

    #[test]
    fn point_ids_round_trip() {
        assert_eq!(chunk_of_point(point_id(12345, 0)), 12345);
        assert_eq!(chunk_of_point(point_id(12345, 255)), 12345);
        assert_ne!(point_id(1, 0), point_id(1, 1));
    }
}
