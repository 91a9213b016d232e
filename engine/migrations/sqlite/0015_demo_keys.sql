-- A key per student that lets a page on another origin act for them in the
-- demos that accept one (the CORS demo): a browser sends a CORS preflight
-- without cookies, so the session cannot say whose preflight it is.
CREATE TABLE demo_keys (
    student_id  TEXT PRIMARY KEY NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    key         TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);
