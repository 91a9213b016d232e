-- PostgreSQL twin of sqlite/0017_platform_secrets.sql.
CREATE TABLE platform_secrets (
    name   TEXT PRIMARY KEY NOT NULL,
    value  TEXT NOT NULL
);
