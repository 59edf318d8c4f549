-- Shipped knowledge files already offered to this data directory. Each is ingested once: a
-- document an admin removes is not brought back, and files a new release ships are ingested on
-- the next start of an existing data directory.
CREATE TABLE shipped_files (
    doc_key    TEXT PRIMARY KEY,
    offered_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
-- Data directories from before this table was offered the first release's two documents.
INSERT OR IGNORE INTO shipped_files (doc_key)
SELECT 'knowledge:regulations/' || f.name
FROM (SELECT 'dangzhang-2017.md' AS name UNION ALL SELECT 'xinfang-gongzuo-tiaoli-2022.md') AS f
WHERE EXISTS (SELECT 1 FROM sources WHERE name = 'knowledge');
