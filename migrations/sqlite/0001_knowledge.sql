-- Knowledge base: sources, documents, chunks, and the index journal that keeps SQL, vectors and
-- the lexical index in agreement across crashes.
CREATE TABLE sources (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE documents (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id       INTEGER REFERENCES sources(id),
    doc_key         TEXT NOT NULL UNIQUE,
    title           TEXT NOT NULL,
    doc_type        TEXT NOT NULL,
    issuer          TEXT,
    effective_date  TEXT,
    version         TEXT,
    status          TEXT NOT NULL DEFAULT 'current',
    origin_url      TEXT,
    content_hash    TEXT NOT NULL,
    chunk_count     INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- AUTOINCREMENT: chunk ids are never reused, so a vector point id never names two chunks.
CREATE TABLE chunks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id        INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    heading_path  TEXT NOT NULL,
    article       TEXT,
    text          TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    token_count   INTEGER NOT NULL,
    enabled       INTEGER NOT NULL DEFAULT 1,
    UNIQUE (doc_id, position)
);
CREATE INDEX chunks_doc_id ON chunks(doc_id);

-- A row per document whose vectors/lexical entries may disagree with SQL. Written in the same
-- transaction as the SQL change, removed after both indexes are committed.
CREATE TABLE index_journal (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id      INTEGER NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
