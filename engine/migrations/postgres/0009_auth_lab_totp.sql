-- PostgreSQL twin of sqlite/0009_auth_lab_totp.sql: nothing to do. The SQLite migration
-- made auth-lab tables that 0013 dropped again (the auth lab keeps its data
-- in each student's own shop), so a new PostgreSQL database never needs them.
-- The file keeps the two sets' versions in step.
SELECT 1;
