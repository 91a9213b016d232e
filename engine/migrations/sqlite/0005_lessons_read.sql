-- Lessons a student has opened, for their progress page.
CREATE TABLE lessons_read (
    student_id  TEXT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    lesson      TEXT NOT NULL,
    read_at     INTEGER NOT NULL,
    PRIMARY KEY (student_id, lesson)
);
