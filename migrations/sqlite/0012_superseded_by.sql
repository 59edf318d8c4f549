-- A repealed document may name the document that replaced it (answers quoting the old one then
-- point to the current version).
ALTER TABLE documents ADD COLUMN superseded_by INTEGER;
