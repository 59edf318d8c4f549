//! Article-aware chunking on the real 党章 text.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use dwt_index::chunker::Chunker;
use dwt_ingest::{load_file, split_sentences, LoadOptions};
use tokenizers::Tokenizer;

fn dangzhang_chunks(max_tokens: usize) -> (dwt_core::ParsedDocument, Vec<dwt_core::ChunkDraft>) {
    let tok = Tokenizer::from_file(common::model_dir().join("tokenizer.json")).unwrap();
    let path = common::repo_root().join("knowledge/regulations/dangzhang-2017.md");
    let doc = load_file(&path, &LoadOptions::default()).unwrap();
    let chunks = Chunker::new(&tok, max_tokens, 256).chunk(&doc);
    (doc, chunks)
}

#[test]
fn every_article_is_one_chunk_when_it_fits() {
    let (doc, chunks) = dangzhang_chunks(512);
    assert_eq!(doc.meta.title, "中国共产党章程");
    assert_eq!(doc.meta.doc_type, dwt_core::DocType::Constitution);
    assert!(doc.meta.version.as_deref().unwrap_or("").contains("2017"), "version note says 2017: {:?}", doc.meta.version);
    let labels: Vec<String> = chunks.iter().filter_map(|c| c.article.clone()).filter(|a| a != "总纲").collect();
    let expected: Vec<String> = (1..=55).map(|n| format!("第{}条", dwt_core::numerals::to_chinese(n))).collect();
    assert_eq!(labels, expected, "one chunk per article, in order");
    for c in chunks.iter().filter(|c| c.article.as_deref() != Some("总纲")) {
        let label = c.article.as_deref().unwrap();
        assert!(c.text.starts_with(label), "chunk starts with its article: {}", &c.text[..30.min(c.text.len())]);
        // No chunk runs into the next article.
        assert_eq!(c.text.lines().filter(|l| l.starts_with('第') && l.contains('条') && l.split_whitespace().next().is_some_and(|w| w.ends_with('条'))).count(), 1);
        assert!(!c.heading_path.is_empty(), "articles sit under a chapter heading");
    }
    let art7 = chunks.iter().find(|c| c.article.as_deref() == Some("第七条")).unwrap();
    assert!(art7.text.contains("党员的党龄，从预备期满转为正式党员之日算起"));
    assert_eq!(art7.heading_path, vec!["第一章 党员".to_string()]);
}

#[test]
fn preamble_is_split_at_paragraphs_with_label() {
    let (_, chunks) = dangzhang_chunks(512);
    let preamble: Vec<_> = chunks.iter().filter(|c| c.article.as_deref() == Some("总纲")).collect();
    assert!(preamble.len() >= 20, "总纲 has many paragraphs: {}", preamble.len());
    assert!(preamble.iter().all(|c| c.heading_path == vec!["总纲".to_string()]));
    assert!(preamble.iter().all(|c| !c.text.contains('\n')), "one paragraph per chunk");
}

#[test]
fn long_articles_split_at_sentences_and_keep_their_label() {
    // A 256-token window forces splits inside long articles (the longest sentence still fits).
    let (doc, chunks) = dangzhang_chunks(256);
    for block in doc.blocks.iter().filter(|b| b.article.is_some()) {
        let label = block.article.as_deref().unwrap();
        let pieces: Vec<_> = chunks
            .iter()
            .filter(|c| c.article.as_deref() == Some(label) && c.heading_path == block.heading_path)
            .collect();
        assert!(!pieces.is_empty(), "{label} has chunks");
        // Pieces put back together give the article (modulo whitespace): nothing lost.
        let joined: String = pieces.iter().map(|c| c.text.as_str()).collect::<String>().split_whitespace().collect();
        let original: String = block.text.split_whitespace().collect();
        if block.kind == dwt_core::BlockKind::Article {
            assert_eq!(joined, original, "{label} reassembles");
        }
        // Every sentence of the article lies whole inside one piece.
        for sentence in split_sentences(&block.text) {
            let s: String = sentence.split_whitespace().collect();
            assert!(
                pieces.iter().any(|c| c.text.split_whitespace().collect::<String>().contains(&s)),
                "{label}: sentence cut across chunks: {sentence}"
            );
        }
    }
    assert!(chunks.len() > doc.blocks.len(), "the small window did split some articles");
}
