-- Classes: an instructor's group of students, joined through a link with a
-- short code. A student may be in several classes; a guest joins under the
-- name they give, and keeps the membership when they sign up or in.
CREATE TABLE classes (
    id          TEXT PRIMARY KEY NOT NULL,
    -- The join code: short, typed by people, unique; the link is /join/<code>.
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    -- The instructor (or admin) who runs it.
    owner_id    TEXT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    -- Optional dates, YYYY-MM-DD, shown to students.
    starts_on   TEXT,
    ends_on     TEXT,
    -- The class's local time as an offset from UTC: deadlines are typed
    -- and shown in it.
    utc_offset_minutes INTEGER NOT NULL DEFAULT 0,
    -- Most members the class takes; also the size its shared budgets grow to.
    capacity    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX classes_by_owner ON classes (owner_id);

CREATE TABLE class_members (
    class_id      TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    student_id    TEXT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    -- The name the instructor sees: the account's, or the one a guest gave.
    display_name  TEXT NOT NULL,
    joined_at     INTEGER NOT NULL,
    PRIMARY KEY (class_id, student_id)
);
CREATE INDEX class_members_by_student ON class_members (student_id);

-- When a module's exercises are due in a class (Unix seconds). Attempts
-- after it still count, marked late.
CREATE TABLE class_deadlines (
    class_id  TEXT NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    module    TEXT NOT NULL,
    due_at    INTEGER NOT NULL,
    PRIMARY KEY (class_id, module)
);
