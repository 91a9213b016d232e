-- Every call of POST /api/grade: which token graded how many submissions of
-- which exercises, so an instructor (and an admin) can read a token's use back.
CREATE TABLE api_grade_calls (
    id           INTEGER PRIMARY KEY,
    token_id     TEXT NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    called_at    INTEGER NOT NULL,
    submissions  INTEGER NOT NULL,
    passed       INTEGER NOT NULL,
    -- The distinct exercise ids graded, space-separated.
    exercises    TEXT NOT NULL
);
CREATE INDEX api_grade_calls_by_token ON api_grade_calls (token_id, called_at);
