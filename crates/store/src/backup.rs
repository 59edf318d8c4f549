//! Backup and restore of the embedded store. The backup is one consistent snapshot of the SQLite
//! database (`VACUUM INTO` reads inside one transaction, so it is taken online while the service
//! writes) plus a manifest (row counts per table, size, SHA-256). The search indexes (tantivy,
//! Qdrant) are derived data and are not copied: a restore queues every document in the index
//! journal, and the next open of the knowledge base rebuilds both indexes from the restored SQL,
//! so they can never disagree with it.
//!
//! Crash safety: files are written under a `.partial` name, synced and renamed; the manifest is
//! written last, so a directory with a manifest is a complete backup, and a restore refuses a
//! data directory that already holds a database.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::{refuse, StoreError};

pub const DATABASE_FILE: &str = "dangwutong.sqlite3";
pub const MANIFEST_FILE: &str = "manifest.json";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: u32,
    pub created_at: String,
    pub database: String,
    pub bytes: u64,
    pub sha256: String,
    /// Rows per table in the snapshot.
    pub tables: BTreeMap<String, i64>,
}

fn io_err(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::DataDir { path: path.display().to_string(), source: e }
}

fn sha256_file(path: &Path) -> Result<String, StoreError> {
    let mut f = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| io_err(path, e))?;
    Ok(hex::encode(h.finalize()))
}

fn sync_and_rename(partial: &Path, target: &Path) -> Result<(), StoreError> {
    std::fs::File::open(partial).and_then(|f| f.sync_all()).map_err(|e| io_err(partial, e))?;
    std::fs::rename(partial, target).map_err(|e| io_err(target, e))?;
    if let Some(dir) = target.parent() {
        // The rename itself must survive a crash.
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_err(dir, e))?;
    }
    Ok(())
}

async fn open(path: &Path) -> Result<sqlx::SqliteConnection, StoreError> {
    Ok(SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?.connect().await?)
}

async fn table_counts(conn: &mut sqlx::SqliteConnection) -> Result<BTreeMap<String, i64>, StoreError> {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").fetch_all(&mut *conn).await?;
    let mut out = BTreeMap::new();
    for name in names {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM \"{}\"", name.replace('"', "\"\""))).fetch_one(&mut *conn).await?;
        out.insert(name, n);
    }
    Ok(out)
}

/// Snapshots `data_dir`'s database into `out_dir` (created; must not hold a backup yet).
pub async fn backup(data_dir: &Path, out_dir: &Path) -> Result<Manifest, StoreError> {
    let source = data_dir.join(DATABASE_FILE);
    if !source.is_file() {
        return Err(refuse("backup.no_database", format!("数据目录中没有数据库：{}", source.display())));
    }
    if out_dir.join(MANIFEST_FILE).exists() || out_dir.join(DATABASE_FILE).exists() {
        return Err(refuse("backup.target_not_empty", format!("备份目录已有备份，请换一个空目录：{}", out_dir.display())));
    }
    std::fs::create_dir_all(out_dir).map_err(|e| io_err(out_dir, e))?;
    let partial: PathBuf = out_dir.join(format!("{DATABASE_FILE}.partial"));
    let _ = std::fs::remove_file(&partial);
    let mut conn = open(&source).await?;
    sqlx::query("VACUUM INTO ?").bind(partial.display().to_string()).execute(&mut conn).await?;
    conn.close().await?;
    let mut snap = open(&partial).await?;
    let tables = table_counts(&mut snap).await?;
    snap.close().await?;
    let target = out_dir.join(DATABASE_FILE);
    sync_and_rename(&partial, &target)?;
    let bytes = std::fs::metadata(&target).map_err(|e| io_err(&target, e))?.len();
    let manifest = Manifest {
        format: 1,
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        database: DATABASE_FILE.into(),
        bytes,
        sha256: sha256_file(&target)?,
        tables,
    };
    let partial_manifest = out_dir.join(format!("{MANIFEST_FILE}.partial"));
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    std::fs::File::create(&partial_manifest).and_then(|mut f| f.write_all(&json)).map_err(|e| io_err(&partial_manifest, e))?;
    sync_and_rename(&partial_manifest, &out_dir.join(MANIFEST_FILE))?;
    Ok(manifest)
}

/// Restores the backup in `backup_dir` into `data_dir` (which must not hold a database yet):
/// the checksum is verified, every document is queued for re-indexing, and the table counts
/// are compared with the manifest. Open the knowledge base afterwards to rebuild the indexes.
pub async fn restore(backup_dir: &Path, data_dir: &Path) -> Result<Manifest, StoreError> {
    let manifest_path = backup_dir.join(MANIFEST_FILE);
    let text = std::fs::read(&manifest_path).map_err(|_| refuse("backup.no_manifest", format!("不是完整的备份（缺少 {}）：{}", MANIFEST_FILE, backup_dir.display())))?;
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| refuse("backup.bad_manifest", format!("备份清单无法读取：{e}")))?;
    let snapshot = backup_dir.join(&manifest.database);
    if sha256_file(&snapshot)? != manifest.sha256 {
        return Err(refuse("backup.checksum_mismatch", "备份文件校验失败（SHA-256 与清单不符），文件可能已损坏或被改动"));
    }
    let target = data_dir.join(DATABASE_FILE);
    if target.exists() || data_dir.join("vectors").exists() || data_dir.join("lexical").exists() {
        return Err(refuse("backup.target_not_empty", format!("数据目录已有数据，请恢复到一个新目录：{}", data_dir.display())));
    }
    std::fs::create_dir_all(data_dir).map_err(|e| io_err(data_dir, e))?;
    let partial = data_dir.join(format!("{DATABASE_FILE}.partial"));
    std::fs::copy(&snapshot, &partial).map_err(|e| io_err(&partial, e))?;
    let mut conn = open(&partial).await?;
    let tables = table_counts(&mut conn).await?;
    // The indexes are rebuilt from SQL at the next open.
    sqlx::query("INSERT INTO index_journal (doc_id) SELECT id FROM documents").execute(&mut conn).await?;
    conn.close().await?;
    sync_and_rename(&partial, &target)?;
    if tables != manifest.tables {
        return Err(StoreError::Corrupt(format!("恢复后的行数与备份清单不符：{tables:?}")));
    }
    Ok(manifest)
}
