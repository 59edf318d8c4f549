//! Test databases: every repository test runs on a fresh SQLite file, and also on a fresh
//! PostgreSQL database when `DATABASE_URL` is set (`.ci/run` starts Debian's PostgreSQL).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use dwt_core::config::AuthSettings;
use dwt_org::auth::sms::{SmsPurpose, SmsSender};
use dwt_org::{Core, CoreError, Db};

pub struct TestDb {
    pub name: &'static str,
    pub db: Db,
    _dir: Option<tempfile::TempDir>,
}

/// SQLite always; Postgres when DATABASE_URL is set (a new database per call).
pub async fn databases() -> Vec<TestDb> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Db::open_sqlite_dir(dir.path()).await.unwrap();
    let mut out = vec![TestDb { name: "sqlite", db: sqlite, _dir: Some(dir) }];
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => out.push(TestDb { name: "postgres", db: fresh_postgres(&url).await, _dir: None }),
        _ => eprintln!("postgres: SKIPPED (DATABASE_URL not set; scripts/test.sh sets it)"),
    }
    out
}

async fn fresh_postgres(url: &str) -> Db {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let name = format!("dwt_test_{}", hex::encode(rand::random::<[u8; 6]>()));
    let mut admin = sqlx::AnyConnection::connect(url).await.expect("connect to DATABASE_URL");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
    let base = match url.rfind('/') {
        Some(i) => &url[..i],
        None => url,
    };
    Db::connect(&format!("{base}/{name}")).await.unwrap()
}

/// Records the codes it "sends".
#[derive(Default)]
pub struct RecordingSms {
    pub sent: Mutex<Vec<(String, SmsPurpose, String)>>,
}

impl RecordingSms {
    pub fn last_code(&self) -> String {
        self.sent.lock().unwrap().last().map(|s| s.2.clone()).expect("no SMS was sent")
    }

    pub fn count(&self) -> usize {
        self.sent.lock().unwrap().len()
    }
}

#[async_trait]
impl SmsSender for RecordingSms {
    async fn send(&self, phone: &str, purpose: SmsPurpose, code: &str, text: &str) -> Result<(), CoreError> {
        assert!(text.contains(code), "the message carries the code");
        self.sent.lock().unwrap().push((phone.to_string(), purpose, code.to_string()));
        Ok(())
    }
}

pub fn core_with(db: &Db, settings: AuthSettings) -> (Core, Arc<RecordingSms>) {
    let sms = Arc::new(RecordingSms::default());
    (Core::with_sms_sender(db.clone(), settings, sms.clone()), sms)
}

/// A checksum-valid 18-digit ID number for a birth date and sequence.
pub fn id_number(birth: &str, seq: u32) -> String {
    let first17 = format!("110105{birth}{seq:03}");
    format!("{first17}{}", dwt_org::validate::id_check_char(&first17).unwrap())
}
