-- PostgreSQL twin of sqlite/0015_demo_keys.sql.
CREATE TABLE demo_keys (
    student_id  TEXT PRIMARY KEY NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    key         TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);
