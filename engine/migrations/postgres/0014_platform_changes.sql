-- PostgreSQL twin of sqlite/0014_platform_changes.sql: the counter that
-- moves whenever a row changes that a running server keeps in memory
-- (engine/src/changes.rs). One trigger function serves every table; the
-- triggers fire per row, as SQLite's do.
CREATE TABLE platform_changes (
    id     BIGINT PRIMARY KEY CHECK (id = 1),
    epoch  BIGINT NOT NULL
);
INSERT INTO platform_changes (id, epoch) VALUES (1, 0);

CREATE FUNCTION platform_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE platform_changes SET epoch = epoch + 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER accounts_changed AFTER UPDATE ON accounts
    FOR EACH ROW EXECUTE FUNCTION platform_changed();
CREATE TRIGGER accounts_removed AFTER DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION platform_changed();

CREATE TRIGGER class_members_added AFTER INSERT ON class_members
    FOR EACH ROW EXECUTE FUNCTION platform_changed();
CREATE TRIGGER class_members_removed AFTER DELETE ON class_members
    FOR EACH ROW EXECUTE FUNCTION platform_changed();

CREATE TRIGGER class_deadlines_added AFTER INSERT ON class_deadlines
    FOR EACH ROW EXECUTE FUNCTION platform_changed();
CREATE TRIGGER class_deadlines_changed AFTER UPDATE ON class_deadlines
    FOR EACH ROW EXECUTE FUNCTION platform_changed();
CREATE TRIGGER class_deadlines_removed AFTER DELETE ON class_deadlines
    FOR EACH ROW EXECUTE FUNCTION platform_changed();

CREATE TRIGGER classes_changed AFTER UPDATE ON classes
    FOR EACH ROW EXECUTE FUNCTION platform_changed();

-- Only a regrade changes a stored score; trimming old answers does not count.
CREATE TRIGGER attempts_regraded AFTER UPDATE OF score, passed ON attempts
    FOR EACH ROW EXECUTE FUNCTION platform_changed();
