-- Core modules: organisation tree, members, users and roles, sessions, SMS codes, audit log.
-- Timestamps are RFC 3339 UTC text written by the service (same format on SQLite and Postgres).

-- Organisation tree as a materialised path of ids ('/1/4/9/'): "this node and everything below"
-- is one range scan on the path index (path >= '/1/4/' AND path < '/1/40').
CREATE TABLE orgs (
    id            INTEGER PRIMARY KEY,
    parent_id     INTEGER REFERENCES orgs(id),
    path          TEXT NOT NULL UNIQUE,
    depth         INTEGER NOT NULL,
    name          TEXT NOT NULL,
    org_type      TEXT NOT NULL,
    code          TEXT NOT NULL UNIQUE,
    leader_name   TEXT,
    contact_phone TEXT,
    address       TEXT,
    lat           REAL,
    lng           REAL,
    sort_order    INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL DEFAULT 'active',
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX orgs_parent ON orgs(parent_id);

CREATE TABLE members (
    id               INTEGER PRIMARY KEY,
    org_id           INTEGER NOT NULL REFERENCES orgs(id),
    name             TEXT NOT NULL,
    gender           TEXT,
    ethnicity        TEXT,
    birth_date       TEXT,
    id_number        TEXT UNIQUE,
    phone            TEXT,
    phone_tail       TEXT,
    education        TEXT,
    join_date        TEXT,
    full_member_date TEXT,
    status           TEXT NOT NULL,
    party_position   TEXT,
    work_unit        TEXT,
    remarks          TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX members_org ON members(org_id);
CREATE INDEX members_phone_tail ON members(phone_tail);
CREATE INDEX members_name ON members(name);

CREATE TABLE users (
    id                   INTEGER PRIMARY KEY,
    username             TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL,
    phone                TEXT,
    password_hash        TEXT NOT NULL,
    password_changed_at  TEXT NOT NULL,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    first_login_pending  INTEGER NOT NULL DEFAULT 1,
    status               TEXT NOT NULL DEFAULT 'active',
    failed_logins        INTEGER NOT NULL DEFAULT 0,
    locked_until         TEXT,
    member_id            INTEGER UNIQUE REFERENCES members(id),
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);

CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role    TEXT NOT NULL,
    org_id  INTEGER NOT NULL REFERENCES orgs(id),
    PRIMARY KEY (user_id, role, org_id)
);

CREATE TABLE password_history (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX password_history_user ON password_history(user_id);

-- Only a hash of the session token is stored: a leaked database does not leak live sessions.
CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE sms_codes (
    id         INTEGER PRIMARY KEY,
    phone      TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    user_id    INTEGER REFERENCES users(id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    challenge  TEXT UNIQUE,
    client_ip  TEXT,
    attempts   INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);
CREATE INDEX sms_codes_phone ON sms_codes(phone, created_at);
CREATE INDEX sms_codes_ip ON sms_codes(client_ip, created_at);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor_id    INTEGER,
    actor_name  TEXT,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT,
    detail      TEXT,
    client_ip   TEXT
);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_target ON audit_log(target_type, target_id);
