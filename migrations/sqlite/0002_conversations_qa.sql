-- Conversations with the assistant, member feedback, and curated Q&A pairs.

CREATE TABLE conversations (
    id          TEXT PRIMARY KEY,              -- random 128-bit hex, handed to the browser
    title       TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE messages (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id     TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role                TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content             TEXT NOT NULL,
    -- user turns: the standalone question retrieval used (after follow-up rewriting)
    standalone          TEXT,
    -- assistant turns: how it was answered and with what evidence
    mode                TEXT CHECK (mode IN ('faq', 'rag', 'extractive', 'refusal')),
    confidence          REAL,
    handoff_suggested   INTEGER NOT NULL DEFAULT 0,
    sources_json        TEXT NOT NULL DEFAULT '[]',
    notice              TEXT,
    created_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX messages_by_conversation ON messages(conversation_id, id);

CREATE TABLE feedback (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    rating      TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment     TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    -- one vote per message; a second vote replaces the first
    UNIQUE (message_id)
);

CREATE TABLE qa_pairs (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    question            TEXT NOT NULL,
    similar_json        TEXT NOT NULL DEFAULT '[]',   -- other phrasings of the question
    answer              TEXT NOT NULL,
    category            TEXT NOT NULL DEFAULT '',
    status              TEXT NOT NULL DEFAULT 'published' CHECK (status IN ('published', 'draft', 'disabled')),
    source_refs_json    TEXT NOT NULL DEFAULT '[]',   -- [{"doc": "...", "article": "第七条"}]
    updated_by          TEXT NOT NULL DEFAULT '',
    content_hash        TEXT NOT NULL,
    created_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (question)
);
