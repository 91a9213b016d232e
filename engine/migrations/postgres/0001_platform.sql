-- PostgreSQL twin of sqlite/0001_platform.sql; keep the two sets in step
-- (a test compares them). Times are Unix seconds, BIGINT as the code reads i64.
CREATE TABLE students (
    id          TEXT PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('guest', 'account')),
    created_at  BIGINT NOT NULL
);

CREATE TABLE lab_settings (
    student_id  TEXT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    lab         TEXT NOT NULL,
    settings    TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (student_id, lab)
);
