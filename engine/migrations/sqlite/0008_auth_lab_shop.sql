-- The auth lab's demo shop: products in each student's sandbox, owned by a
-- demo user, and banned demo users.
CREATE TABLE auth_lab_products (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    student_id  TEXT NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    owner       TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX auth_lab_products_by_student ON auth_lab_products (student_id, id);

ALTER TABLE auth_lab_users ADD COLUMN banned INTEGER NOT NULL DEFAULT 0;
