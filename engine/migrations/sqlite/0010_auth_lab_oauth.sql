-- The auth lab's OAuth 2.0 demo: authorization codes issued by the built-in
-- authorization server ("Workbench ID"), and the demo shop's pending
-- sign-ins as a client (its state and PKCE verifier).
CREATE TABLE auth_lab_oauth_codes (
    code_hash     TEXT PRIMARY KEY NOT NULL,
    student_id    TEXT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    username      TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    redirect_uri  TEXT NOT NULL,
    challenge     TEXT NOT NULL,
    expires_at    INTEGER NOT NULL,
    used_at       INTEGER
);

CREATE TABLE auth_lab_oauth_pending (
    id          TEXT PRIMARY KEY NOT NULL,
    student_id  TEXT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    state       TEXT NOT NULL,
    verifier    TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
