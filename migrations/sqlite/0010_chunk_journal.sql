-- Chunk tuning re-indexes only the chunks it touched: a journal row may name one chunk
-- (chunk_id) instead of a whole document (chunk_id NULL).
ALTER TABLE index_journal ADD COLUMN chunk_id INTEGER;
