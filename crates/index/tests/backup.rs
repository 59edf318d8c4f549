//! Backup under write load, restore elsewhere: the restored knowledge base rebuilds its indexes
//! from the snapshot, agrees with itself (`check`), holds what the manifest counted and answers.
//! Refusals: a second backup into the same directory, a restore into a used data directory, a
//! tampered snapshot.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{repo_root, settings};
use dwt_index::{KnowledgeBase, SearchOptions};
use dwt_ingest::{load_file, parse_bytes, LoadOptions};
use dwt_store::backup::{backup, restore, DATABASE_FILE};
use dwt_store::StoreError;

fn refusal(e: StoreError) -> &'static str {
    match e {
        StoreError::Refused(r) => r.code,
        other => panic!("not a refusal: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_write_load_restores_to_a_consistent_searchable_copy() {
    let src = tempfile::tempdir().unwrap();
    let kb = Arc::new(KnowledgeBase::open(&settings(src.path())).await.unwrap());
    let dir = repo_root().join("knowledge/regulations");
    let opts = LoadOptions { key_base: Some(dir.clone()), ..LoadOptions::default() };
    kb.ingest_batch(vec![load_file(&dir.join("dangzhang-2022.md"), &opts).unwrap()], None).await.unwrap();

    // A writer keeps ingesting notices while the backup is taken.
    let writer = {
        let kb = kb.clone();
        tokio::spawn(async move {
            for i in 0..15 {
                let text = format!("---\ntitle: 第{i}号通知\ndoc_type: notice\n---\n各党支部于本周五下午召开第{i}次组织生活会，学习党章第七条。\n");
                let doc = parse_bytes(text.into_bytes(), Path::new(&format!("tongzhi-{i}.md")), format!("tongzhi-{i}.md")).unwrap();
                kb.ingest_batch(vec![doc], None).await.unwrap();
            }
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let out = tempfile::tempdir().unwrap();
    let manifest = backup(src.path(), out.path()).await.unwrap();
    writer.await.unwrap();
    let documents = manifest.tables["documents"];
    assert!(documents >= 1, "{manifest:?}");
    assert_eq!(refusal(backup(src.path(), out.path()).await.unwrap_err()), "backup.target_not_empty");

    let dst = tempfile::tempdir().unwrap();
    let restored = restore(out.path(), dst.path()).await.unwrap();
    assert_eq!(restored, manifest);
    let kb2 = KnowledgeBase::open(&settings(dst.path())).await.unwrap();
    let report = kb2.consistency().await.unwrap();
    assert!(report.consistent(), "{report:?}");
    assert_eq!(kb2.store().list_documents().await.unwrap().len() as i64, documents);
    assert_eq!(report.sql_chunks as i64, manifest.tables["chunks"], "{report:?} vs {manifest:?}");
    let hits = kb2.search("党员的党龄从什么时候算起", &SearchOptions { top_k: Some(3), ..Default::default() }).await.unwrap();
    assert_eq!(hits[0].article.as_deref(), Some("第七条"), "{hits:?}");
    drop(kb2);

    // A used data directory is never overwritten; a tampered snapshot is refused.
    assert_eq!(refusal(restore(out.path(), dst.path()).await.unwrap_err()), "backup.target_not_empty");
    let mut bytes = std::fs::read(out.path().join(DATABASE_FILE)).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(out.path().join(DATABASE_FILE), bytes).unwrap();
    let fresh = tempfile::tempdir().unwrap();
    assert_eq!(refusal(restore(out.path(), &fresh.path().join("data")).await.unwrap_err()), "backup.checksum_mismatch");
    assert!(!fresh.path().join("data").join(DATABASE_FILE).exists());
}
