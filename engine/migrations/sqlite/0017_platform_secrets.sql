-- Secrets every server of one deployment must share, made by whichever
-- server asks first (engine/src/secrets.rs): the name that keeps this
-- deployment's keys apart in a shared Redis, and keys the labs sign with.
CREATE TABLE platform_secrets (
    name   TEXT PRIMARY KEY NOT NULL,
    value  TEXT NOT NULL
);
