-- Curated Q&A workflow: draft → pending (review) → published → retired, effective dates, an
-- optimistic version number and the version history (content snapshots) for rollback.
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt ('disabled' → 'retired').
CREATE TABLE qa_pairs_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    question            TEXT NOT NULL,
    similar_json        TEXT NOT NULL DEFAULT '[]',
    answer              TEXT NOT NULL,
    category            TEXT NOT NULL DEFAULT '',
    status              TEXT NOT NULL DEFAULT 'published' CHECK (status IN ('draft', 'pending', 'published', 'retired')),
    source_refs_json    TEXT NOT NULL DEFAULT '[]',
    updated_by          TEXT NOT NULL DEFAULT '',
    content_hash        TEXT NOT NULL,
    effective_from      TEXT,   -- YYYY-MM-DD (Beijing), inclusive
    effective_to        TEXT,   -- YYYY-MM-DD (Beijing), inclusive
    version             INTEGER NOT NULL DEFAULT 1,
    created_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (question)
);
INSERT INTO qa_pairs_new (id, question, similar_json, answer, category, status, source_refs_json, updated_by, content_hash, created_at, updated_at)
    SELECT id, question, similar_json, answer, category, CASE status WHEN 'disabled' THEN 'retired' ELSE status END,
           source_refs_json, updated_by, content_hash, created_at, updated_at
    FROM qa_pairs;
DROP TABLE qa_pairs;
ALTER TABLE qa_pairs_new RENAME TO qa_pairs;

CREATE TABLE qa_versions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    pair_id     INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    action      TEXT NOT NULL,      -- create | edit | status | rollback | original
    snapshot    TEXT NOT NULL,      -- JSON of the pair after the change
    editor      TEXT NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (pair_id, version)
);
