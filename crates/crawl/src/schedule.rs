//! Runs sources on their `schedule` (cron, Beijing time) inside `serve`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use dwt_ingest::extract::shanghai;

use crate::{Crawler, NoProgress, Source};

/// The next time a source is due after `now`, if it has a schedule.
pub fn next_run(source: &Source, now: DateTime<Utc>) -> Option<DateTime<FixedOffset>> {
    let (_, cron) = source.schedule.as_ref()?;
    cron.find_next_occurrence(&now.with_timezone(&shanghai()), false).ok()
}

/// Which sources are due, remembering each source's next time between calls.
#[derive(Default)]
pub struct Schedule {
    /// Source → (its cron text, next time): an edited schedule is planned afresh.
    due: HashMap<String, (String, DateTime<FixedOffset>)>,
}

impl Schedule {
    /// Enabled, scheduled sources whose time has come at `now`. A source seen for the first time
    /// waits for its next occurrence (a restart does not fire every source at once).
    pub fn take_due(&mut self, sources: Vec<Source>, now: DateTime<Utc>) -> Vec<Source> {
        let mut out = Vec::new();
        for s in sources.into_iter().filter(|s| s.enabled) {
            let Some((text, _)) = &s.schedule else { continue };
            let text = text.clone();
            let planned = self.due.get(&s.name).filter(|(t, _)| *t == text).map(|(_, next)| *next);
            let Some(next) = planned.or_else(|| next_run(&s, now)) else { continue };
            if next > now {
                self.due.insert(s.name.clone(), (text, next));
                continue;
            }
            if let Some(n) = next_run(&s, now) {
                self.due.insert(s.name.clone(), (text, n));
            }
            out.push(s);
        }
        out
    }
}

/// Checks every 30 s which sources are due and starts them (one run per source at a time).
/// Source files are re-read each time, so a new or edited file takes effect without a restart.
/// Abort the handle to stop; a run cut off by shutdown resumes next time.
pub fn spawn_scheduler(crawler: Arc<Crawler>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut schedule = Schedule::default();
        // Runs cut off by the last shutdown continue now rather than at their next cron time.
        let mut first = true;
        loop {
            let (sources, _) = crawler.sources();
            let mut start = Vec::new();
            if first {
                first = false;
                for s in sources.iter().filter(|s| s.enabled) {
                    match crawler.state().runs(Some(&s.name), 1).await {
                        Ok(runs) if runs.first().is_some_and(|r| r.status == "running") => start.push(s.clone()),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(source = %s.name, error = %e, "cannot read crawl state"),
                    }
                }
            }
            for s in schedule.take_due(sources, Utc::now()) {
                if !start.iter().any(|x| x.name == s.name) {
                    start.push(s);
                }
            }
            for s in start {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_source;
    use chrono::TimeZone;

    fn source(name: &str, schedule: &str, enabled: bool) -> Source {
        let text = format!("kind = \"wechat\"\nenabled = {enabled}\nschedule = \"{schedule}\"\n");
        parse_source(std::path::Path::new(&format!("{name}.toml")), &text, &[]).unwrap_or_else(|e| unreachable!("{e:?}"))
    }

    #[test]
    fn sources_fire_on_their_cron_in_beijing_time() {
        let mut sched = Schedule::default();
        // 06:30 Beijing = 22:30 UTC the day before.
        let at = |h: u32, m: u32, s: u32| Utc.with_ymd_and_hms(2026, 11, 22, h, m, s).single().unwrap_or_default();
        let all = || vec![source("daily", "30 6 * * *", true), source("five", "*/5 * * * *", true), source("off", "*/5 * * * *", false)];
        let names = |v: Vec<Source>| v.into_iter().map(|s| s.name).collect::<Vec<_>>();
        assert!(names(sched.take_due(all(), at(22, 1, 0))).is_empty(), "first sight only plans");
        assert!(names(sched.take_due(all(), at(22, 4, 59))).is_empty());
        assert_eq!(names(sched.take_due(all(), at(22, 5, 10))), ["five"]);
        assert!(names(sched.take_due(all(), at(22, 6, 0))).is_empty(), "not again before 22:10");
        assert_eq!(names(sched.take_due(all(), at(22, 30, 5))), ["daily", "five"]);
        assert!(names(sched.take_due(all(), at(22, 31, 0))).is_empty());
        // An edited schedule is planned afresh, not kept at the old time.
        let edited = || vec![source("daily", "45 6 * * *", true)];
        assert!(names(sched.take_due(edited(), at(22, 32, 0))).is_empty());
        assert_eq!(names(sched.take_due(edited(), at(22, 45, 1))), ["daily"]);
    }
}
