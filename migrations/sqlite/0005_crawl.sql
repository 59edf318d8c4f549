-- Crawlers: document category and publish date, and the crawl state that makes runs incremental
-- and resumable (per-URL validators and hashes, the queue of an unfinished run, run history).
ALTER TABLE documents ADD COLUMN category TEXT;
ALTER TABLE documents ADD COLUMN published_at TEXT;
CREATE INDEX documents_category ON documents(category);

CREATE TABLE crawl_runs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    source           TEXT NOT NULL,
    trigger_kind     TEXT NOT NULL,              -- cli | schedule | admin
    status           TEXT NOT NULL,              -- running | finished | failed
    discovered       INTEGER NOT NULL DEFAULT 0, -- list/API discovery done: a resume skips it
    cursor           INTEGER NOT NULL DEFAULT 0, -- json_api: pages already ingested
    new_count        INTEGER NOT NULL DEFAULT 0,
    updated_count    INTEGER NOT NULL DEFAULT 0,
    unchanged_count  INTEGER NOT NULL DEFAULT 0,
    failed_count     INTEGER NOT NULL DEFAULT 0,
    withdrawn_count  INTEGER NOT NULL DEFAULT 0,
    low_confidence   INTEGER NOT NULL DEFAULT 0,
    resumed          INTEGER NOT NULL DEFAULT 0,
    message          TEXT,
    started_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    finished_at      TEXT
);
CREATE INDEX crawl_runs_source ON crawl_runs(source, id);

-- One row per canonical article URL of a source. `queued_run` names the run that still has to
-- visit it, so an interrupted run continues where it stopped.
CREATE TABLE crawl_urls (
    source         TEXT NOT NULL,
    url            TEXT NOT NULL,
    state          TEXT NOT NULL DEFAULT 'new',  -- new | ok | failed | withdrawn
    manual         INTEGER NOT NULL DEFAULT 0,   -- added by `crawl add-url` / the admin page
    queued_run     INTEGER,
    etag           TEXT,
    last_modified  TEXT,
    content_hash   TEXT,
    confidence     TEXT,                         -- high | low (readability fallback)
    error          TEXT,
    first_seen     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_checked   TEXT,
    last_changed   TEXT,
    PRIMARY KEY (source, url)
);
CREATE INDEX crawl_urls_queue ON crawl_urls(source, queued_run);

CREATE TABLE crawl_errors (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id   INTEGER NOT NULL REFERENCES crawl_runs(id) ON DELETE CASCADE,
    url      TEXT NOT NULL,
    code     TEXT NOT NULL,
    reason   TEXT NOT NULL,
    at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX crawl_errors_run ON crawl_errors(run_id);
