-- A standard question is unique per scope, not system-wide: an organisation may give its members
-- its own answer to a question the whole system has an answer for (the matcher prefers the most
-- specific pair). SQLite cannot drop a table constraint: the table is rebuilt.
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
    effective_from      TEXT,
    effective_to        TEXT,
    version             INTEGER NOT NULL DEFAULT 1,
    created_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    org_id              INTEGER
);
INSERT INTO qa_pairs_new (id, question, similar_json, answer, category, status, source_refs_json, updated_by, content_hash,
                          effective_from, effective_to, version, created_at, updated_at, org_id)
    SELECT id, question, similar_json, answer, category, status, source_refs_json, updated_by, content_hash,
           effective_from, effective_to, version, created_at, updated_at, org_id
    FROM qa_pairs;
DROP TABLE qa_pairs;
ALTER TABLE qa_pairs_new RENAME TO qa_pairs;
CREATE UNIQUE INDEX qa_pairs_question_per_scope ON qa_pairs (question, IFNULL(org_id, 0));
