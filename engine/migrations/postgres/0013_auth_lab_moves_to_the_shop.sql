-- PostgreSQL twin of sqlite/0013_auth_lab_moves_to_the_shop.sql: the tables
-- it drops were never made here (see 0006 to 0010).
SELECT 1;
