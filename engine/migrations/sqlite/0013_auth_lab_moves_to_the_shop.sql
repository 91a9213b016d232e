-- The auth lab's demo users, sessions, tokens, products and OAuth state now
-- live in each student's own shop (their sandbox database), where the SQL
-- lab shows them; the platform database keeps platform data only. Demo
-- users made before this change are not carried over: they were practice.
DROP TABLE IF EXISTS auth_lab_oauth_pending;
DROP TABLE IF EXISTS auth_lab_oauth_codes;
DROP TABLE IF EXISTS auth_lab_products;
DROP TABLE IF EXISTS auth_lab_refresh_tokens;
DROP TABLE IF EXISTS auth_lab_sessions;
DROP TABLE IF EXISTS auth_lab_users;
