-- PostgreSQL twin of sqlite/0012_classes.sql.
CREATE TABLE classes (
    id                  TEXT PRIMARY KEY NOT NULL,
    code                TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    owner_id            TEXT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    starts_on           TEXT,
    ends_on             TEXT,
    utc_offset_minutes  BIGINT NOT NULL DEFAULT 0,
    capacity            BIGINT NOT NULL,
    created_at          BIGINT NOT NULL
);
CREATE INDEX classes_by_owner ON classes (owner_id);

CREATE TABLE class_members (
    class_id      TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    student_id    TEXT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    display_name  TEXT NOT NULL,
    joined_at     BIGINT NOT NULL,
    PRIMARY KEY (class_id, student_id)
);
CREATE INDEX class_members_by_student ON class_members (student_id);

CREATE TABLE class_deadlines (
    class_id  TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    module    TEXT NOT NULL,
    due_at    BIGINT NOT NULL,
    PRIMARY KEY (class_id, module)
);
