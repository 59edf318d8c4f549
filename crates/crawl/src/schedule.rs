//! Runs sources on their `schedule` (cron, Beijing time) inside `serve`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Offset, Utc};

use crate::{Crawler, NoProgress, Source};

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix())
}

/// The next time a source is due after `now`, if it has a schedule.
pub fn next_run(source: &Source, now: DateTime<Utc>) -> Option<DateTime<FixedOffset>> {
    let (_, cron) = source.schedule.as_ref()?;
    cron.find_next_occurrence(&now.with_timezone(&beijing()), false).ok()
}

/// Checks every 30 s which enabled sources are due and starts them (one run per source at a
/// time). Source files are re-read each time, so a new or edited file takes effect without a
/// restart. Abort the handle to stop; a run cut off by shutdown resumes next time.
pub fn spawn_scheduler(crawler: Arc<Crawler>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut due: HashMap<String, DateTime<FixedOffset>> = HashMap::new();
        loop {
            let now = Utc::now();
            let (sources, _) = crawler.sources();
            for s in sources.into_iter().filter(|s| s.enabled && s.schedule.is_some()) {
                let Some(next) = due.get(&s.name).copied().or_else(|| next_run(&s, now)) else { continue };
                if next > now {
                    due.insert(s.name.clone(), next);
                    continue;
                }
                if let Some(n) = next_run(&s, now) {
                    due.insert(s.name.clone(), n);
                }
                if crawler.is_running(&s.name) {
                    continue;
                }
                let c = crawler.clone();
                tokio::spawn(async move {
                    match c.run(&s, "schedule", &NoProgress).await {
                        Ok(r) => tracing::info!(source = %s.name, new = r.new, updated = r.updated, failed = r.failed, "scheduled crawl finished"),
                        Err(e) => tracing::warn!(source = %s.name, error = %e, "scheduled crawl failed"),
                    }
                });
            }
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
    })
}
