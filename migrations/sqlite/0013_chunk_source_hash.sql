-- The hash of the text a chunk had when it was ingested (NULL for chunks made by split or
-- re-chunking). Re-ingesting a changed document keeps the chunks whose source text did not
-- change, with their curation (edits, questions, enabled state, id and history).
ALTER TABLE chunks ADD COLUMN source_hash TEXT;
UPDATE chunks SET source_hash = content_hash WHERE version = 1;
