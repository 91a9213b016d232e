-- The auth lab's demo users: each student's own sandbox, keyed by student,
-- so one student can never see or sign in as another's demo users.
CREATE TABLE auth_lab_users (
    student_id     TEXT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    username       TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('buyer', 'seller', 'admin')),
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (student_id, username)
);
