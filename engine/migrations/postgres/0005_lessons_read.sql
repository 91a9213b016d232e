-- PostgreSQL twin of sqlite/0005_lessons_read.sql.
CREATE TABLE lessons_read (
    student_id  TEXT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    lesson      TEXT NOT NULL,
    read_at     BIGINT NOT NULL,
    PRIMARY KEY (student_id, lesson)
);
