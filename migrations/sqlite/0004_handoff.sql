-- Human handoff (人工答复): consultations with their timeline, notifications with per-channel
-- deliveries (retried until sent, so nothing is lost across restarts), and Q&A proposals.

CREATE TABLE consultations (
    id             INTEGER PRIMARY KEY,
    member_user_id INTEGER NOT NULL REFERENCES users(id),
    member_org_id  INTEGER REFERENCES orgs(id),
    -- the answering organisation (routing, escalation and transfer move it)
    org_id         INTEGER NOT NULL REFERENCES orgs(id),
    -- the assistant message handed off (knowledge database id); one handoff per message
    message_id     INTEGER UNIQUE,
    conversation_id TEXT,
    question       TEXT NOT NULL,
    note           TEXT,
    category       TEXT,
    ai_answer      TEXT,
    ai_sources     TEXT NOT NULL DEFAULT '[]',
    status         TEXT NOT NULL,
    claimed_by     INTEGER REFERENCES users(id),
    reply          TEXT,
    rating         INTEGER,
    rating_comment TEXT,
    member_unread  INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    due_at         TEXT NOT NULL,
    first_reply_at TEXT,
    answered_at    TEXT,
    closed_at      TEXT
);
CREATE INDEX consultations_org_status ON consultations(org_id, status);
CREATE INDEX consultations_member ON consultations(member_user_id, id);
CREATE INDEX consultations_due ON consultations(status, due_at);

CREATE TABLE consultation_events (
    id              INTEGER PRIMARY KEY,
    consultation_id INTEGER NOT NULL REFERENCES consultations(id) ON DELETE CASCADE,
    at              TEXT NOT NULL,
    actor_id        INTEGER,
    actor_name      TEXT,
    kind            TEXT NOT NULL,
    from_status     TEXT,
    to_status       TEXT,
    org_id          INTEGER,
    body            TEXT,
    internal        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX consultation_events_by_item ON consultation_events(consultation_id, id);

CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    consultation_id INTEGER REFERENCES consultations(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    title           TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    read_at         TEXT
);
CREATE INDEX notifications_by_user ON notifications(user_id, id);

CREATE TABLE notification_deliveries (
    id              INTEGER PRIMARY KEY,
    notification_id INTEGER NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
    channel         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX notification_deliveries_pending ON notification_deliveries(status, next_attempt_at);

CREATE TABLE qa_proposals (
    id              INTEGER PRIMARY KEY,
    consultation_id INTEGER REFERENCES consultations(id) ON DELETE SET NULL,
    question        TEXT NOT NULL,
    answer          TEXT NOT NULL,
    category        TEXT,
    org_id          INTEGER NOT NULL REFERENCES orgs(id),
    proposed_by     INTEGER REFERENCES users(id),
    proposed_by_name TEXT,
    status          TEXT NOT NULL DEFAULT 'pending',
    reviewed_by     INTEGER REFERENCES users(id),
    review_note     TEXT,
    qa_id           INTEGER,
    created_at      TEXT NOT NULL,
    reviewed_at     TEXT
);
CREATE INDEX qa_proposals_status ON qa_proposals(status, id);

-- One row that every core-module write transaction updates first: it serializes those writes
-- (so read-then-write checks such as "parent still active", "code not taken" and tree moves
-- cannot interleave on Postgres) and makes SQLite take its write lock up front instead of
-- failing a later upgrade with SQLITE_BUSY.
CREATE TABLE write_lock (id INTEGER PRIMARY KEY, n BIGINT NOT NULL);
INSERT INTO write_lock (id, n) VALUES (1, 0);
