-- Rows a server keeps in memory by key, that another server sharing the
-- database may change: a session record (saved or ended) and a student's
-- lab settings. The writer adds a row naming the cache and the key; every
-- server reads the rows it has not seen yet every 250 ms and forgets those
-- keys (engine/src/changes.rs). Rows older than ten minutes are deleted.
CREATE TABLE cache_evictions (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    cache       TEXT NOT NULL,
    key         TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX cache_evictions_created ON cache_evictions (created_at);
