-- PostgreSQL twin of sqlite/0002_accounts.sql. SQLite compares emails with
-- NOCASE; here every email must be stored lowercased (the code trims and
-- lowercases them), so a plain UNIQUE is unique without regard to case.
CREATE TABLE accounts (
    student_id     TEXT PRIMARY KEY NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    email          TEXT NOT NULL UNIQUE CHECK (email = lower(email)),
    display_name   TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('student', 'instructor', 'admin')),
    session_epoch  BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
