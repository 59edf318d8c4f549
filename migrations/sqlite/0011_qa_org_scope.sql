-- Org scope of curated pairs: NULL answers everyone; an organisation id answers only members of
-- that organisation's subtree (organisations live in the core database; the id is enough, since
-- a member's materialised org path lists the ids of all its ancestors).
ALTER TABLE qa_pairs ADD COLUMN org_id INTEGER;
