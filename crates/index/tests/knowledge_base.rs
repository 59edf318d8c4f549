//! The knowledge base against real SQLite, Qdrant Edge, tantivy and the e5 model.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::collections::HashSet;

use dwt_index::chunker::point_id;
use dwt_index::vector::{best_per_chunk, EdgeVectorStore, ServerVectorStore, VectorPoint, VectorStore};
use dwt_index::{IngestOutcome, KnowledgeBase, RetrievalMode, SearchFilter, SearchOptions};
use dwt_ingest::{load_file, LoadOptions};

fn shipped_docs() -> Vec<dwt_core::ParsedDocument> {
    let dir = common::repo_root().join("knowledge/regulations");
    let opts = LoadOptions { key_base: Some(dir.clone()), ..LoadOptions::default() };
    ["dangzhang-2022.md", "xinfang-gongzuo-tiaoli-2022.md"].iter().map(|f| load_file(&dir.join(f), &opts).unwrap()).collect()
}

#[tokio::test]
async fn reingest_is_idempotent_and_changes_replace_chunks() {
    let tmp = tempfile::tempdir().unwrap();
    let kb = KnowledgeBase::open(&common::settings(tmp.path())).await.unwrap();
    let first = kb.ingest_batch(shipped_docs(), None).await.unwrap();
    assert!(matches!(first[0], IngestOutcome::Added { chunks } if chunks > 55));
    let before: HashSet<i64> = kb.store.indexable_chunk_ids().await.unwrap().into_iter().collect();
    let report = kb.consistency().await.unwrap();
    assert!(report.consistent(), "{report:?}");
    assert_eq!(report.sql_chunks, before.len());

    // Same content again: nothing changes, not even chunk ids.
    let second = kb.ingest_batch(shipped_docs(), None).await.unwrap();
    assert_eq!(second, vec![IngestOutcome::Unchanged, IngestOutcome::Unchanged]);
    let after: HashSet<i64> = kb.store.indexable_chunk_ids().await.unwrap().into_iter().collect();
    assert_eq!(before, after);

    // A changed document replaces its chunks everywhere.
    let mut docs = shipped_docs();
    let xinfang = docs.remove(1);
    let doc = kb.store.document_by_key(&xinfang.key).await.unwrap().unwrap();
    let old_ids: HashSet<i64> = kb.store.chunks_of_document(doc.id).await.unwrap().iter().map(|c| c.id).collect();
    // Curation on a piece whose source text does not change survives the re-ingest.
    let curated = kb.store.chunk_rows(doc.id).await.unwrap()[2].clone();
    let edit = dwt_store::ChunkEdit { questions: Some(vec!["信访人可以匿名吗测试问".into()]), ..Default::default() };
    kb.edit_chunk(curated.id, Some(curated.version), &edit, "admin").await.unwrap();
    let mut changed = xinfang.clone();
    changed.blocks.truncate(10);
    changed.blocks[0].text.push_str("（本段已修订）");
    changed.content_hash = "changed".into();
    let outcome = kb.ingest_batch(vec![changed], None).await.unwrap();
    assert_eq!(outcome, vec![IngestOutcome::Updated { chunks: 10 }]);
    let report = kb.consistency().await.unwrap();
    assert!(report.consistent(), "{report:?}");
    let rows = kb.store.chunk_rows(doc.id).await.unwrap();
    let new_ids: HashSet<i64> = rows.iter().map(|c| c.id).collect();
    assert_eq!(new_ids.len(), 10);
    assert!(!old_ids.contains(&rows[0].id), "the changed piece is a new chunk");
    assert_eq!(new_ids.difference(&old_ids).count(), 1, "unchanged pieces keep their chunks");
    let kept = rows.iter().find(|c| c.id == curated.id).expect("the curated chunk is kept");
    assert_eq!((kept.version, kept.questions.len()), (curated.version + 1, 1));
    let hits = kb.search("信访人可以匿名吗测试问", &SearchOptions { mode: RetrievalMode::Bm25, ..SearchOptions::default() }).await.unwrap();
    assert_eq!(hits[0].chunk_id, curated.id, "its added question still retrieves it");
    let now: HashSet<i64> = kb.store.indexable_chunk_ids().await.unwrap().into_iter().collect();
    assert!(now.is_disjoint(&old_ids.difference(&new_ids).copied().collect()), "dropped chunks are gone");
    assert_eq!(now.len(), before.len() - old_ids.len() + 10);
    assert_eq!(kb.store.document_by_id(doc.id).await.unwrap().unwrap().chunk_count, 10);

    // Removing deletes everywhere.
    assert!(kb.remove_document(doc.id).await.unwrap());
    let report = kb.consistency().await.unwrap();
    assert!(report.consistent(), "{report:?}");
    let hits = kb.search("信访工作条例", &SearchOptions::default()).await.unwrap();
    assert!(hits.iter().all(|h| h.doc_id != doc.id), "removed document is not found");
}

#[tokio::test]
async fn hybrid_search_finds_the_article_with_citation_data() {
    let tmp = tempfile::tempdir().unwrap();
    let kb = KnowledgeBase::open(&common::settings(tmp.path())).await.unwrap();
    kb.ingest_batch(shipped_docs(), None).await.unwrap();
    let hits = kb.search("党龄从什么时候开始计算", &SearchOptions::default()).await.unwrap();
    let top = &hits[0];
    assert_eq!((top.doc_title.as_str(), top.article.as_deref()), ("中国共产党章程", Some("第七条")));
    assert_eq!(top.heading_path, vec!["第一章 党员".to_string()]);
    assert!(top.snippet.contains("<em>"), "snippet highlights: {}", top.snippet);
    assert!(top.bm25_rank.is_some() && top.dense_rank.is_some(), "both retrievers contributed");

    // Each mode alone works, and the filter restricts both retrievers.
    for mode in [RetrievalMode::Bm25, RetrievalMode::Dense] {
        let hits = kb.search("党龄从什么时候开始计算", &SearchOptions { mode, ..SearchOptions::default() }).await.unwrap();
        assert!(!hits.is_empty());
    }
    let xinfang = kb.store.list_documents().await.unwrap().into_iter().find(|d| d.title == "信访工作条例").unwrap();
    let filter = SearchFilter { doc_ids: vec![xinfang.id], ..SearchFilter::default() };
    let hits = kb.search("党龄从什么时候开始计算", &SearchOptions { filter, ..SearchOptions::default() }).await.unwrap();
    assert!(!hits.is_empty() && hits.iter().all(|h| h.doc_id == xinfang.id));

    // An article named in the question is found by its label.
    let hits = kb.search("党章第7条", &SearchOptions::default()).await.unwrap();
    assert_eq!(hits[0].article.as_deref(), Some("第七条"));
    assert!(matches!(kb.search("  ", &SearchOptions::default()).await, Err(dwt_index::IndexError::EmptyQuery)));
}

fn point(chunk_id: i64, unit: usize, doc_id: i64, v: Vec<f32>) -> VectorPoint {
    VectorPoint {
        point_id: point_id(chunk_id, unit),
        chunk_id,
        doc_id,
        doc_type: "regulation".into(),
        status: "current".into(),
        org_scope: "public".into(),
        vector: v,
    }
}

fn unit(dim: usize, hot: usize) -> Vec<f32> {
    let mut v = vec![0.0; dim];
    v[hot] = 1.0;
    v
}

/// The contract every VectorStore implementation must keep.
async fn vector_store_contract(store: &dyn VectorStore) {
    store
        .upsert(vec![
            point(1, 0, 10, unit(384, 0)),
            point(1, 1, 10, unit(384, 3)),
            point(2, 0, 10, unit(384, 1)),
            point(3, 0, 20, unit(384, 2)),
        ])
        .await
        .unwrap();
    store.flush().await.unwrap();
    assert_eq!(store.count().await.unwrap(), 4, "count is points (units)");
    assert_eq!(store.chunk_ids().await.unwrap(), HashSet::from([1, 2, 3]));
    let hits = store.search(unit(384, 1), 2, &SearchFilter::default()).await.unwrap();
    assert_eq!(hits[0].0, point_id(2, 0));
    assert!((hits[0].1 - 1.0).abs() < 1e-4, "cosine of identical vectors is 1: {}", hits[0].1);
    // A sentence probe finds its chunk.
    let hits = best_per_chunk(store.search(unit(384, 3), 4, &SearchFilter::default()).await.unwrap(), 2);
    assert_eq!(hits[0].0, 1);
    let only20 = SearchFilter { doc_ids: vec![20], ..SearchFilter::default() };
    let hits = store.search(unit(384, 1), 3, &only20).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), vec![point_id(3, 0)]);
    // Deleting a chunk removes all its units and nothing else.
    store.delete_chunks(&[1]).await.unwrap();
    store.flush().await.unwrap();
    assert_eq!(store.count().await.unwrap(), 2);
    assert_eq!(store.chunk_ids().await.unwrap(), HashSet::from([2, 3]));
    store.delete_documents(&[10]).await.unwrap();
    store.flush().await.unwrap();
    assert_eq!(store.chunk_ids().await.unwrap(), HashSet::from([3]));
    // Upsert of an existing id replaces, not duplicates.
    store.upsert(vec![point(3, 0, 20, unit(384, 5))]).await.unwrap();
    assert_eq!(store.count().await.unwrap(), 1);
    assert_eq!(store.search(unit(384, 5), 1, &SearchFilter::default()).await.unwrap()[0].0, point_id(3, 0));
}

#[tokio::test]
async fn edge_vector_store_keeps_the_contract_and_survives_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let store = EdgeVectorStore::open(tmp.path(), 384).unwrap();
        vector_store_contract(&store).await;
    }
    {
        let reopened = EdgeVectorStore::open(tmp.path(), 384).unwrap();
        assert_eq!(reopened.chunk_ids().await.unwrap(), HashSet::from([3]));
    }
    assert!(matches!(EdgeVectorStore::open(tmp.path(), 768), Err(dwt_index::IndexError::DimensionMismatch { .. })));
}

#[tokio::test]
async fn qdrant_server_vector_store_keeps_the_contract() {
    let Ok(url) = std::env::var("QDRANT_URL") else {
        eprintln!("SKIPPED: qdrant_server_vector_store_keeps_the_contract needs QDRANT_URL (a real Qdrant server)");
        return;
    };
    let collection = format!("dwt_test_{}", std::process::id());
    let store = ServerVectorStore::connect(&url, std::env::var("QDRANT_API_KEY").ok().as_deref(), &collection, 384).await.unwrap();
    vector_store_contract(&store).await;
    store.drop_collection().await.unwrap();
}

#[tokio::test]
async fn current_documents_and_higher_priority_types_rank_first() {
    let tmp = tempfile::tempdir().unwrap();
    let kb = KnowledgeBase::open(&common::settings(&tmp.path().join("data"))).await.unwrap();
    let dir = tmp.path().join("docs");
    std::fs::create_dir_all(&dir).unwrap();
    let body = "第一条 为了规范党员教育管理，制定本办法。\n\n第二条 党员应当按月向所在党支部交纳党费，不得无故拖欠。\n\n第三条 本办法自发布之日起施行。\n";
    // The same article in three documents: a repealed regulation, a current regulation, a law.
    for (file, title, doc_type, status) in [("a.md", "甲办法", "regulation", "repealed"), ("b.md", "乙办法", "regulation", "current"), ("c.md", "丙法", "law", "current")] {
        std::fs::write(dir.join(file), format!("---\ntitle: {title}\ndoc_type: {doc_type}\nstatus: {status}\n---\n# {title}\n\n{body}")).unwrap();
    }
    let opts = LoadOptions { key_base: Some(dir.clone()), ..LoadOptions::default() };
    let docs = ["a.md", "b.md", "c.md"].iter().map(|f| load_file(&dir.join(f), &opts).unwrap()).collect();
    kb.ingest_batch(docs, None).await.unwrap();
    let hits = kb.search("党员按月交纳党费", &SearchOptions { top_k: Some(9), ..Default::default() }).await.unwrap();
    // Each document's best hit, in rank order (the re-scoring may put another article of a
    // current document above the repealed copy: the penalty is meant to push it down).
    let mut order: Vec<&str> = Vec::new();
    for h in &hits {
        if !order.contains(&h.doc_title.as_str()) {
            order.push(h.doc_title.as_str());
            assert_eq!(h.article.as_deref(), Some("第二条"), "{}", h.doc_title);
        }
    }
    assert_eq!(order, vec!["乙办法", "丙法", "甲办法"], "current regulation, then current law, then the repealed one");

    // Without priorities and penalties the repealed copy is not pushed down.
    let mut s = common::settings(&tmp.path().join("data2"));
    s.search.doc_type_priority.clear();
    s.search.repealed_penalty = 0.0;
    let kb2 = KnowledgeBase::open(&s).await.unwrap();
    let docs = ["a.md", "b.md", "c.md"].iter().map(|f| load_file(&dir.join(f), &opts).unwrap()).collect();
    kb2.ingest_batch(docs, None).await.unwrap();
    let hits2 = kb2.search("党员按月交纳党费", &SearchOptions { top_k: Some(9), ..Default::default() }).await.unwrap();
    let gap = |hits: &[dwt_index::Hit], a: &str, b: &str| {
        let s = |t: &str| hits.iter().find(|h| h.doc_title == t && h.article.as_deref() == Some("第二条")).map(|h| h.score).unwrap();
        s(a) - s(b)
    };
    assert!(gap(&hits, "乙办法", "甲办法") > gap(&hits2, "乙办法", "甲办法") + 1e-4, "the penalty widens the gap");
}

/// Passages a chunk of this text costs to embed (its dense units, as the knowledge base does).
fn dense_units(settings: &dwt_core::Settings, text: &str) -> u64 {
    let i = &settings.ingest;
    let n = dwt_index::chunker::unit_texts(text, i.sentence_probes, i.max_probes, i.probe_min_chars).len();
    if n > 1 && !i.whole_chunk_vector { (n - 1) as u64 } else { n as u64 }
}

#[tokio::test]
async fn chunk_tuning_reembeds_and_reindexes_only_the_touched_chunks() {
    let tmp = tempfile::tempdir().unwrap();
    let settings = common::settings(tmp.path());
    let kb = KnowledgeBase::open(&settings).await.unwrap();
    kb.ingest_batch(shipped_docs(), None).await.unwrap();
    let all_chunks = kb.consistency().await.unwrap().sql_chunks;
    let dangzhang = kb.store.list_documents().await.unwrap().into_iter().find(|d| d.title == "中国共产党章程").unwrap();
    let rows = kb.store.chunk_rows(dangzhang.id).await.unwrap();
    assert!(rows.len() > 50);
    let art = |label: &str| rows.iter().find(|c| c.article.as_deref() == Some(label)).unwrap().clone();
    let check = |what: &str, report: dwt_index::ConsistencyReport| {
        assert!(report.consistent(), "{what}: {report:?}");
    };

    // Edit: one chunk re-embedded, every other chunk keeps its entries.
    let seventh = art("第七条");
    let text = format!("{}\n本条另设测试专用短语：星火燎原示例条款。", seventh.text);
    let before = kb.embedded_passages();
    let edit = dwt_store::ChunkEdit { text: Some(text.clone()), ..Default::default() };
    kb.edit_chunk(seventh.id, Some(seventh.version), &edit, "test").await.unwrap();
    assert_eq!(kb.embedded_passages() - before, dense_units(&settings, &text), "only the edited chunk is embedded");
    let report = kb.consistency().await.unwrap();
    assert_eq!(report.sql_chunks, all_chunks);
    check("edit", report);
    let hits = kb.search("星火燎原示例条款", &SearchOptions { mode: RetrievalMode::Bm25, ..SearchOptions::default() }).await.unwrap();
    assert_eq!(hits[0].chunk_id, seventh.id, "the new text is in BM25");
    let hits = kb.search("党龄从什么时候开始计算", &SearchOptions { mode: RetrievalMode::Dense, ..SearchOptions::default() }).await.unwrap();
    assert!(hits.iter().take(5).any(|h| h.chunk_id == seventh.id), "the edited chunk has fresh vectors");

    // Disable: nothing embedded, the chunk leaves both indexes; enable embeds it alone again.
    let eighth = art("第八条");
    let before = kb.embedded_passages();
    kb.set_chunk_enabled(eighth.id, false, "test").await.unwrap();
    assert_eq!(kb.embedded_passages(), before);
    let report = kb.consistency().await.unwrap();
    assert_eq!(report.sql_chunks, all_chunks - 1);
    check("disable", report);
    kb.set_chunk_enabled(eighth.id, true, "test").await.unwrap();
    assert_eq!(kb.embedded_passages() - before, dense_units(&settings, &eighth.text));
    check("enable", kb.consistency().await.unwrap());

    // Split: both halves embedded, nothing else; merge them back: one chunk embedded.
    let at = eighth.text.chars().count() / 2;
    let before = kb.embedded_passages();
    let (a, b) = kb.split_chunk(eighth.id, at, "test").await.unwrap();
    assert_eq!(kb.embedded_passages() - before, dense_units(&settings, &a.text) + dense_units(&settings, &b.text));
    let report = kb.consistency().await.unwrap();
    assert_eq!(report.sql_chunks, all_chunks + 1);
    check("split", report);
    let before = kb.embedded_passages();
    let merged = kb.merge_with_next(a.id, "test").await.unwrap();
    assert_eq!(kb.embedded_passages() - before, dense_units(&settings, &merged.text));
    let report = kb.consistency().await.unwrap();
    assert_eq!(report.sql_chunks, all_chunks);
    check("merge", report);
    let hits = kb.search(&b.text, &SearchOptions { mode: RetrievalMode::Bm25, ..SearchOptions::default() }).await.unwrap();
    assert!(hits.iter().all(|h| h.chunk_id != b.id), "the merged-away chunk is gone from BM25");
}

#[tokio::test]
async fn rechunk_previews_then_replaces_a_documents_chunks_atomically() {
    let tmp = tempfile::tempdir().unwrap();
    let kb = KnowledgeBase::open(&common::settings(tmp.path())).await.unwrap();
    kb.ingest_batch(shipped_docs(), None).await.unwrap();
    let xf = kb.store.list_documents().await.unwrap().into_iter().find(|d| d.title == "信访工作条例").unwrap();
    let before = kb.store.chunk_rows(xf.id).await.unwrap();
    let text_before: String = before.iter().map(|c| c.text.as_str()).collect();

    // Preview: nothing changes; as free text in ~100-token pieces there are no article labels.
    let opts = dwt_index::RechunkOptions { text_tokens: 100, plain: true };
    let plan = kb.rechunk_preview(xf.id, &opts).await.unwrap();
    assert_eq!(plan.before, before.len());
    // token_count includes the model's two special tokens; the splitter's target does not.
    assert!(plan.drafts.iter().all(|d| d.article.is_none() && d.token_count <= 102), "{:?}", plan.drafts.iter().map(|d| d.token_count).max());
    assert_ne!(plan.drafts.len(), before.len());
    assert_eq!(kb.store.chunk_rows(xf.id).await.unwrap(), before, "a preview changes nothing");
    let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    assert_eq!(squash(&plan.drafts.iter().map(|d| d.text.as_str()).collect::<String>()), squash(&text_before), "no text is lost or added");

    // A chunk edited after the preview makes it stale.
    let first = &before[0];
    let edit = dwt_store::ChunkEdit { text: Some(format!("{}（预览后修改）", first.text)), ..Default::default() };
    kb.edit_chunk(first.id, Some(first.version), &edit, "other").await.unwrap();
    let err = kb.rechunk_apply(xf.id, &opts, &plan.basis, "admin").await.unwrap_err();
    assert!(matches!(&err, dwt_index::IndexError::Store(dwt_store::StoreError::Refused(r)) if r.code == "kb.rechunk_stale"), "{err:?}");

    // Preview again and apply: the chunks are replaced everywhere, the old ones keep their history.
    let plan = kb.rechunk_preview(xf.id, &opts).await.unwrap();
    let applied = kb.rechunk_apply(xf.id, &opts, &plan.basis, "admin").await.unwrap();
    let after = kb.store.chunk_rows(xf.id).await.unwrap();
    assert_eq!(after.len(), applied.drafts.len());
    assert!(after.iter().all(|c| c.article.is_none() && c.version == 1));
    assert!(after.iter().any(|c| c.text.contains("预览后修改")), "the edit made before applying is kept");
    let report = kb.consistency().await.unwrap();
    assert!(report.consistent(), "{report:?}");
    assert_eq!(kb.store.document_by_id(xf.id).await.unwrap().unwrap().chunk_count, after.len() as i64);
    let history = kb.store.chunk_versions(first.id).await.unwrap();
    assert_eq!(history[0].action, "rechunk_removed");
    let hits = kb.search("信访工作条例 信访事项 处理期限", &SearchOptions::default()).await.unwrap();
    assert!(hits.iter().any(|h| after.iter().any(|c| c.id == h.chunk_id)), "the new chunks are found");
}
