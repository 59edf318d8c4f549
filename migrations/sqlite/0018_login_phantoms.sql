-- Failed logins under usernames that do not exist, counted like real accounts' (same lockout),
-- in the database rather than in one process's memory: every instance sees the same count, and
-- an unknown username costs the same database writes as a wrong password (no timing tell).
CREATE TABLE login_phantoms (
    username      TEXT PRIMARY KEY,
    failed_logins INTEGER NOT NULL,
    locked_until  TEXT,
    updated_at    TEXT NOT NULL
);
CREATE INDEX login_phantoms_updated ON login_phantoms (updated_at);
