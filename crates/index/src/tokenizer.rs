//! jieba word segmentation shared by the lexical index and query analysis. One `Jieba` (with
//! the party-terms user dictionary) behind an `Arc`, so tantivy's per-field clones are cheap.

use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use jieba_rs::{Jieba, TokenizeMode};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

#[derive(Clone)]
pub struct Segmenter {
    jieba: Arc<Jieba>,
}

impl std::fmt::Debug for Segmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Segmenter")
    }
}

/// Tokens made only of punctuation, symbols or spaces carry no meaning for BM25.
pub fn is_meaningful(word: &str) -> bool {
    word.chars().any(|c| c.is_alphanumeric())
}

impl Segmenter {
    /// jieba's default dictionary plus every `*.txt` user dictionary in `dict_dir` (format
    /// `词语 频次 词性`). Missing folder = default dictionary only.
    pub fn new(dict_dir: Option<&Path>) -> Self {
        let mut jieba = Jieba::new();
        if let Some(dir) = dict_dir {
            let mut files: Vec<_> = std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "txt"))
                .collect();
            files.sort();
            for f in files {
                match std::fs::File::open(&f) {
                    Ok(file) => {
                        if let Err(e) = jieba.load_dict(&mut BufReader::new(file)) {
                            tracing::warn!(file = %f.display(), error = %e, "user dictionary skipped");
                        }
                    }
                    Err(e) => tracing::warn!(file = %f.display(), error = %e, "user dictionary unreadable"),
                }
            }
        }
        Self { jieba: Arc::new(jieba) }
    }

    /// Search-mode segmentation (long words plus their sub-words), meaningful tokens only,
    /// ASCII lower-cased.
    pub fn terms(&self, text: &str) -> Vec<String> {
        self.segment(text, TokenizeMode::Search)
    }

    /// Default-mode segmentation (no overlapping sub-words), meaningful tokens only.
    pub fn words(&self, text: &str) -> Vec<String> {
        self.segment(text, TokenizeMode::Default)
    }

    fn segment(&self, text: &str, mode: TokenizeMode) -> Vec<String> {
        self.jieba
            .tokenize(text, mode, true)
            .into_iter()
            .filter(|t| is_meaningful(t.word))
            .map(|t| t.word.to_ascii_lowercase())
            .collect()
    }
}

/// tantivy tokenizer over [`Segmenter`].
#[derive(Clone)]
pub struct JiebaTantivyTokenizer {
    pub segmenter: Segmenter,
}

pub struct JiebaTokenStream {
    tokens: Vec<Token>,
    index: usize,
}

impl Tokenizer for JiebaTantivyTokenizer {
    type TokenStream<'a> = JiebaTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> JiebaTokenStream {
        let mut char_to_byte = Vec::with_capacity(text.len() + 1);
        for (b, _) in text.char_indices() {
            char_to_byte.push(b);
        }
        char_to_byte.push(text.len());
        let tokens = self
            .segmenter
            .jieba
            .tokenize(text, TokenizeMode::Search, true)
            .into_iter()
            .filter(|t| is_meaningful(t.word))
            .map(|t| Token {
                offset_from: char_to_byte.get(t.start).copied().unwrap_or(0),
                offset_to: char_to_byte.get(t.end).copied().unwrap_or(text.len()),
                position: t.start,
                text: t.word.to_ascii_lowercase(),
                position_length: t.end.saturating_sub(t.start).max(1),
            })
            .collect();
        JiebaTokenStream { tokens, index: 0 }
    }
}

impl TokenStream for JiebaTokenStream {
    fn advance(&mut self) -> bool {
        if self.index < self.tokens.len() {
            self.index += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.index.saturating_sub(1).min(self.tokens.len().saturating_sub(1))]
    }

    fn token_mut(&mut self) -> &mut Token {
        let i = self.index.saturating_sub(1).min(self.tokens.len().saturating_sub(1));
        &mut self.tokens[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_dictionary_keeps_party_terms_whole() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("terms.txt"), "三会一课 20000 n\n").unwrap();
        let seg = Segmenter::new(Some(dir.path()));
        let words = seg.words("支部要落实三会一课制度。");
        assert!(words.contains(&"三会一课".to_string()), "{words:?}");
        assert!(!words.iter().any(|w| w == "。"), "punctuation dropped: {words:?}");
    }

    #[test]
    fn token_offsets_are_bytes() {
        let mut t = JiebaTantivyTokenizer { segmenter: Segmenter::new(None) };
        let text = "党员的党龄";
        let mut s = t.token_stream(text);
        let mut seen = Vec::new();
        while s.advance() {
            let tok = s.token();
            seen.push((text[tok.offset_from..tok.offset_to].to_string(), tok.text.clone()));
        }
        assert!(seen.iter().all(|(slice, word)| slice == word), "{seen:?}");
        assert!(seen.iter().any(|(_, w)| w == "党龄"), "{seen:?}");
    }
}
