-- The asker's organisation (materialised path, e.g. /1/5/9/) when a logged-in member started
-- the conversation: staff and 组织管理员 review the feedback of their own subtree.
ALTER TABLE conversations ADD COLUMN org_path TEXT;
