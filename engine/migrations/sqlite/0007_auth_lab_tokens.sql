-- The auth lab's own sign-ins: server-side sessions, and the refresh tokens
-- of its JWT mode (hashed; a family is one chain of rotations).
CREATE TABLE auth_lab_sessions (
    id          TEXT PRIMARY KEY NOT NULL,
    student_id  TEXT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    username    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

CREATE TABLE auth_lab_refresh_tokens (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    family      TEXT NOT NULL,
    student_id  TEXT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    username    TEXT NOT NULL,
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    revoked_at  INTEGER
);
CREATE INDEX auth_lab_refresh_by_family ON auth_lab_refresh_tokens (family);
