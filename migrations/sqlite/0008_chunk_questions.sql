-- Questions (or keywords) an admin says a chunk answers: indexed as extra retrieval units of the
-- chunk in both BM25 and dense search, and kept in each chunk version.
ALTER TABLE chunks ADD COLUMN questions_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE chunk_versions ADD COLUMN questions_json TEXT NOT NULL DEFAULT '[]';
