-- Who uses the workbench: guests get a row on their first lab request;
-- accounts (a later migration) point at the same ids so progress carries over.
CREATE TABLE students (
    id          TEXT PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('guest', 'account')),
    created_at  INTEGER NOT NULL
);

-- What each student changed in each lab; a missing row means the lab's defaults.
CREATE TABLE lab_settings (
    student_id  TEXT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    lab         TEXT NOT NULL,
    settings    TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (student_id, lab)
);
