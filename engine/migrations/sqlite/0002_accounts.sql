-- Accounts: a student who signed up. The account shares the student's id, so
-- everything a guest did before signing up is already the account's.
CREATE TABLE accounts (
    student_id     TEXT PRIMARY KEY NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    -- Stored lowercased and trimmed; unique without regard to case.
    email          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name   TEXT NOT NULL,
    -- An argon2id PHC string: algorithm, parameters, salt and hash in one.
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('student', 'instructor', 'admin')),
    -- Bumped by "sign out everywhere" and password changes; a session signed
    -- in under an older epoch is no longer valid.
    session_epoch  INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
