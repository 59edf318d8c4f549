-- 常用咨询分类: a tree of categories (any depth) with an explicit order among siblings. Pairs
-- keep their category by name; renaming a category renames it on its pairs in the same
-- transaction. Existing categories become top-level entries.
CREATE TABLE qa_categories (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id   INTEGER REFERENCES qa_categories(id),
    name        TEXT NOT NULL UNIQUE,
    position    INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
INSERT INTO qa_categories (name, position)
    SELECT category, ROW_NUMBER() OVER (ORDER BY MIN(id)) FROM qa_pairs WHERE category <> '' GROUP BY category;
