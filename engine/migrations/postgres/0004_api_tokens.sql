-- PostgreSQL twin of sqlite/0004_api_tokens.sql.
CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    secret_hash   TEXT NOT NULL,
    created_by    TEXT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);
