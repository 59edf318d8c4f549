//! Crawl state: runs with their counts, per-URL validators and content hashes, the queue of an
//! unfinished run (so an interrupted crawl resumes), and per-run failures.

use serde::Serialize;
use sqlx::{Row, SqlitePool};

use crate::StoreError;

#[derive(Clone, Debug)]
pub struct CrawlStore {
    pool: SqlitePool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CrawlRun {
    pub id: i64,
    pub source: String,
    pub trigger: String,
    pub status: String,
    pub discovered: bool,
    pub cursor: i64,
    pub new: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub failed: i64,
    pub withdrawn: i64,
    pub low_confidence: i64,
    pub resumed: bool,
    pub message: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CrawlUrl {
    pub url: String,
    pub state: String,
    pub manual: bool,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub content_hash: Option<String>,
    pub confidence: Option<String>,
    pub error: Option<String>,
    pub last_checked: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CrawlErrorRow {
    pub url: String,
    pub code: String,
    pub reason: String,
    pub at: String,
}

/// What one visit of a URL concluded; written with the run's counters in one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UrlOutcome {
    New,
    Updated,
    Unchanged,
    Failed,
    Withdrawn,
}

impl UrlOutcome {
    fn state(self) -> &'static str {
        match self {
            UrlOutcome::New | UrlOutcome::Updated | UrlOutcome::Unchanged => "ok",
            UrlOutcome::Failed => "failed",
            UrlOutcome::Withdrawn => "withdrawn",
        }
    }

    fn counter(self) -> &'static str {
        match self {
            UrlOutcome::New => "new_count",
            UrlOutcome::Updated => "updated_count",
            UrlOutcome::Unchanged => "unchanged_count",
            UrlOutcome::Failed => "failed_count",
            UrlOutcome::Withdrawn => "withdrawn_count",
        }
    }
}

/// Validators and hash stored after a successful visit (None keeps what was stored).
#[derive(Debug, Clone, Default)]
pub struct UrlVisit {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub content_hash: Option<String>,
    pub low_confidence: bool,
    /// (stable code, reason in Chinese) for failures.
    pub error: Option<(String, String)>,
}

const RUN_COLUMNS: &str = "id, source, trigger_kind, status, discovered, cursor, new_count, updated_count, unchanged_count, failed_count, withdrawn_count, low_confidence, resumed, message, started_at, finished_at";

fn run_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<CrawlRun, StoreError> {
    Ok(CrawlRun {
        id: r.try_get(0)?,
        source: r.try_get(1)?,
        trigger: r.try_get(2)?,
        status: r.try_get(3)?,
        discovered: r.try_get::<i64, _>(4)? != 0,
        cursor: r.try_get(5)?,
        new: r.try_get(6)?,
        updated: r.try_get(7)?,
        unchanged: r.try_get(8)?,
        failed: r.try_get(9)?,
        withdrawn: r.try_get(10)?,
        low_confidence: r.try_get(11)?,
        resumed: r.try_get::<i64, _>(12)? != 0,
        message: r.try_get(13)?,
        started_at: r.try_get(14)?,
        finished_at: r.try_get(15)?,
    })
}

const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

impl CrawlStore {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    /// The source's unfinished run (a crawl that was interrupted), marked resumed; or a new run.
    /// Failure details are kept for the source's last 50 runs (the table would otherwise grow
    /// with every run).
    pub async fn open_run(&self, source: &str, trigger: &str) -> Result<CrawlRun, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "DELETE FROM crawl_errors WHERE run_id IN
                 (SELECT id FROM crawl_runs WHERE source = ? ORDER BY id DESC LIMIT -1 OFFSET 50)",
        )
        .bind(source)
        .execute(&mut *tx)
        .await?;
        let open: Option<i64> =
            sqlx::query_scalar("SELECT id FROM crawl_runs WHERE source = ? AND status = 'running' ORDER BY id DESC LIMIT 1")
                .bind(source)
                .fetch_optional(&mut *tx)
                .await?;
        let id = match open {
            Some(id) => {
                sqlx::query("UPDATE crawl_runs SET resumed = 1 WHERE id = ?").bind(id).execute(&mut *tx).await?;
                id
            }
            None => {
                sqlx::query_scalar("INSERT INTO crawl_runs (source, trigger_kind, status) VALUES (?, ?, 'running') RETURNING id")
                    .bind(source)
                    .bind(trigger)
                    .fetch_one(&mut *tx)
                    .await?
            }
        };
        let row = sqlx::query(&format!("SELECT {RUN_COLUMNS} FROM crawl_runs WHERE id = ?")).bind(id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        run_from_row(&row)
    }

    pub async fn run(&self, run_id: i64) -> Result<Option<CrawlRun>, StoreError> {
        let row = sqlx::query(&format!("SELECT {RUN_COLUMNS} FROM crawl_runs WHERE id = ?")).bind(run_id).fetch_optional(&self.pool).await?;
        row.as_ref().map(run_from_row).transpose()
    }

    /// Latest runs, newest first (of one source, or of all).
    pub async fn runs(&self, source: Option<&str>, limit: i64) -> Result<Vec<CrawlRun>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM crawl_runs WHERE (? IS NULL OR source = ?) ORDER BY id DESC LIMIT ?"
        ))
        .bind(source)
        .bind(source)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(run_from_row).collect()
    }

    pub async fn set_discovered(&self, run_id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE crawl_runs SET discovered = 1 WHERE id = ?").bind(run_id).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn set_cursor(&self, run_id: i64, cursor: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE crawl_runs SET cursor = ? WHERE id = ?").bind(cursor).bind(run_id).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn finish_run(&self, run_id: i64, status: &str, message: Option<&str>) -> Result<(), StoreError> {
        sqlx::query(&format!("UPDATE crawl_runs SET status = ?, message = ?, finished_at = {NOW} WHERE id = ?"))
            .bind(status)
            .bind(message)
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Queues URLs for a run (new ones are created). Idempotent.
    pub async fn queue_urls(&self, source: &str, run_id: i64, urls: &[String]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for url in urls {
            sqlx::query(
                "INSERT INTO crawl_urls (source, url, queued_run) VALUES (?, ?, ?)
                 ON CONFLICT(source, url) DO UPDATE SET queued_run = excluded.queued_run",
            )
            .bind(source)
            .bind(url)
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Queues URLs never visited and URLs that failed last time (a 503 or a verification page
    /// passes), and with `recheck_hours` every known URL not withdrawn and not checked for that long: a re-check finds changed and deleted pages
    /// (conditional GET keeps it cheap) without visiting a large archive on every run.
    pub async fn queue_known(&self, source: &str, run_id: i64, recheck_hours: Option<u32>) -> Result<(), StoreError> {
        let modifier = format!("-{} hours", recheck_hours.unwrap_or(0));
        sqlx::query(
            "UPDATE crawl_urls SET queued_run = ? WHERE source = ? AND (state IN ('new', 'failed') OR (? AND state <> 'withdrawn'
                 AND (last_checked IS NULL OR last_checked <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?))))",
        )
        .bind(run_id)
        .bind(source)
        .bind(recheck_hours.is_some())
        .bind(modifier)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// URLs the run still has to visit, in a stable order.
    pub async fn queued(&self, source: &str, run_id: i64) -> Result<Vec<CrawlUrl>, StoreError> {
        let rows = sqlx::query(
            "SELECT url, state, manual, etag, last_modified, content_hash, confidence, error, last_checked
             FROM crawl_urls WHERE source = ? AND queued_run = ? ORDER BY first_seen, url",
        )
        .bind(source)
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(url_from_row).collect()
    }

    pub async fn urls(&self, source: &str) -> Result<Vec<CrawlUrl>, StoreError> {
        let rows = sqlx::query(
            "SELECT url, state, manual, etag, last_modified, content_hash, confidence, error, last_checked
             FROM crawl_urls WHERE source = ? ORDER BY first_seen, url",
        )
        .bind(source)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(url_from_row).collect()
    }

    /// (source, state, number of URLs) for every source.
    pub async fn url_state_counts(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT source, state, COUNT(*) FROM crawl_urls GROUP BY source, state ORDER BY source, state")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
    }

    /// A URL given by hand (`crawl add-url`); returns false when the source already had it.
    pub async fn add_manual_url(&self, source: &str, url: &str) -> Result<bool, StoreError> {
        let n = sqlx::query("INSERT INTO crawl_urls (source, url, manual) VALUES (?, ?, 1) ON CONFLICT(source, url) DO NOTHING")
            .bind(source)
            .bind(url)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    /// Records a visit: the URL's new state and validators, the run's counter and, for a
    /// failure, its reason — in one transaction, so counts and state never disagree.
    pub async fn record_visit(&self, source: &str, run_id: i64, url: &str, outcome: UrlOutcome, visit: &UrlVisit) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let changed = matches!(outcome, UrlOutcome::New | UrlOutcome::Updated | UrlOutcome::Withdrawn);
        let confidence = match outcome {
            UrlOutcome::New | UrlOutcome::Updated => Some(if visit.low_confidence { "low" } else { "high" }),
            _ => None,
        };
        sqlx::query(&format!(
            "UPDATE crawl_urls SET state = ?, queued_run = NULL, last_checked = {NOW},
                 etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified),
                 content_hash = COALESCE(?, content_hash), confidence = COALESCE(?, confidence),
                 error = ?, last_changed = CASE WHEN ? THEN {NOW} ELSE last_changed END
             WHERE source = ? AND url = ?"
        ))
        .bind(outcome.state())
        .bind(&visit.etag)
        .bind(&visit.last_modified)
        .bind(&visit.content_hash)
        .bind(confidence)
        .bind(visit.error.as_ref().map(|(_, r)| r.as_str()))
        .bind(changed)
        .bind(source)
        .bind(url)
        .execute(&mut *tx)
        .await?;
        let low = i64::from(visit.low_confidence && matches!(outcome, UrlOutcome::New | UrlOutcome::Updated));
        sqlx::query(&format!("UPDATE crawl_runs SET {c} = {c} + 1, low_confidence = low_confidence + ? WHERE id = ?", c = outcome.counter()))
            .bind(low)
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        if let Some((code, reason)) = &visit.error {
            sqlx::query("INSERT INTO crawl_errors (run_id, url, code, reason) VALUES (?, ?, ?, ?)")
                .bind(run_id)
                .bind(url)
                .bind(code)
                .bind(reason)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A failure that is not about one article URL (a list page, the API) for the run report.
    pub async fn record_run_error(&self, run_id: i64, url: &str, code: &str, reason: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO crawl_errors (run_id, url, code, reason) VALUES (?, ?, ?, ?)")
            .bind(run_id)
            .bind(url)
            .bind(code)
            .bind(reason)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn errors(&self, run_id: i64) -> Result<Vec<CrawlErrorRow>, StoreError> {
        let rows = sqlx::query("SELECT url, code, reason, at FROM crawl_errors WHERE run_id = ? ORDER BY id")
            .bind(run_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok(CrawlErrorRow { url: r.try_get(0)?, code: r.try_get(1)?, reason: r.try_get(2)?, at: r.try_get(3)? }))
            .collect()
    }
}

fn url_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<CrawlUrl, StoreError> {
    Ok(CrawlUrl {
        url: r.try_get(0)?,
        state: r.try_get(1)?,
        manual: r.try_get::<i64, _>(2)? != 0,
        etag: r.try_get(3)?,
        last_modified: r.try_get(4)?,
        content_hash: r.try_get(5)?,
        confidence: r.try_get(6)?,
        error: r.try_get(7)?,
        last_checked: r.try_get(8)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KnowledgeStore;

    #[tokio::test]
    async fn interrupted_run_is_resumed_and_counts_follow_visits() {
        let dir = tempfile::tempdir().unwrap();
        let ks = KnowledgeStore::open_sqlite(dir.path()).await.unwrap();
        let cs = CrawlStore::new(ks.pool().clone());
        let run = cs.open_run("s", "cli").await.unwrap();
        assert!(!run.resumed);
        cs.queue_urls("s", run.id, &["https://a/1".into(), "https://a/2".into()]).await.unwrap();
        cs.set_discovered(run.id).await.unwrap();
        let visit = UrlVisit { content_hash: Some("h".into()), ..UrlVisit::default() };
        cs.record_visit("s", run.id, "https://a/1", UrlOutcome::New, &visit).await.unwrap();
        // "Crash": the run is still running. The next open resumes it with one URL left.
        let again = cs.open_run("s", "cli").await.unwrap();
        assert_eq!((again.id, again.resumed, again.discovered, again.new), (run.id, true, true, 1));
        let left: Vec<String> = cs.queued("s", run.id).await.unwrap().into_iter().map(|u| u.url).collect();
        assert_eq!(left, ["https://a/2"]);
        let fail = UrlVisit { error: Some(("crawl.http_status".into(), "服务器返回 500".into())), ..UrlVisit::default() };
        cs.record_visit("s", run.id, "https://a/2", UrlOutcome::Failed, &fail).await.unwrap();
        cs.finish_run(run.id, "finished", None).await.unwrap();
        let done = cs.run(run.id).await.unwrap().unwrap();
        assert_eq!((done.status.as_str(), done.new, done.failed), ("finished", 1, 1));
        assert_eq!(cs.errors(run.id).await.unwrap()[0].code, "crawl.http_status");
        let next = cs.open_run("s", "cli").await.unwrap();
        assert_ne!(next.id, run.id, "a finished run is not resumed");
        cs.queue_known("s", next.id, Some(1)).await.unwrap();
        let again: Vec<String> = cs.queued("s", next.id).await.unwrap().into_iter().map(|u| u.url).collect();
        assert_eq!(again, ["https://a/2"], "checked within the hour: only the failed URL is re-queued");
        cs.queue_known("s", next.id, Some(0)).await.unwrap();
        assert_eq!(cs.queued("s", next.id).await.unwrap().len(), 2);
        assert_eq!(cs.urls("s").await.unwrap()[0].content_hash.as_deref(), Some("h"));
    }
}
