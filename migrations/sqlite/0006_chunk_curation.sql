-- Chunk tuning (知识切片调优): every edit, split, merge, disable/enable and rollback of a chunk
-- is a new version; the row holds the chunk's state after that change.
ALTER TABLE chunks ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

CREATE TABLE chunk_versions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    chunk_id      INTEGER NOT NULL,
    doc_id        INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    action        TEXT NOT NULL,   -- original | edit | split | merge | disable | enable | rollback
    text          TEXT NOT NULL,
    article       TEXT,
    heading_path  TEXT NOT NULL,
    enabled       INTEGER NOT NULL,
    editor        TEXT NOT NULL,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (chunk_id, version)
);
CREATE INDEX chunk_versions_doc ON chunk_versions(doc_id);
