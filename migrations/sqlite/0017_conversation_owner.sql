-- Who may read, continue and rate a conversation: "user:<id>" for a logged-in member,
-- "anon:<sha256 of the browser's asker cookie>" for an anonymous one. NULL: started before owners
-- were recorded (readable by its unguessable id, as then).
ALTER TABLE conversations ADD COLUMN owner TEXT;
