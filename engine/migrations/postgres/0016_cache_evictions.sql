-- PostgreSQL twin of sqlite/0016_cache_evictions.sql. Sequence numbers are
-- taken at insert and become visible at commit, so a reader may see 12
-- before 11: readers look back over the last numbers they passed
-- (engine/src/changes.rs).
CREATE TABLE cache_evictions (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cache       TEXT NOT NULL,
    key         TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX cache_evictions_created ON cache_evictions (created_at);
