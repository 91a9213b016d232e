-- Every graded answer, kept whole so it can be regraded when an exercise
-- changes. For `http` exercises `answer` holds the recorded requests that
-- were graded, so a regrade sees exactly what the first grading saw.
CREATE TABLE attempts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    student_id      TEXT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    exercise        TEXT NOT NULL,
    answer          TEXT NOT NULL,
    score           INTEGER NOT NULL,
    max_score       INTEGER NOT NULL,
    passed          INTEGER NOT NULL CHECK (passed IN (0, 1)),
    outcome         TEXT NOT NULL,
    engine_version  INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX attempts_by_student ON attempts (student_id, exercise, id);
CREATE INDEX attempts_by_exercise ON attempts (exercise);

-- How many hints of an exercise a student has opened.
CREATE TABLE hints_opened (
    student_id  TEXT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    exercise    TEXT NOT NULL,
    opened      INTEGER NOT NULL,
    PRIMARY KEY (student_id, exercise)
);
