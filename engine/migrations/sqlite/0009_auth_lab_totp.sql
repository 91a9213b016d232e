-- Two-factor sign-in for the auth lab's demo users: a TOTP secret (pending
-- until confirmed with a first code) and the last time step accepted, so a
-- code cannot be used twice.
ALTER TABLE auth_lab_users ADD COLUMN totp_secret TEXT;
ALTER TABLE auth_lab_users ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE auth_lab_users ADD COLUMN totp_last_step INTEGER;
