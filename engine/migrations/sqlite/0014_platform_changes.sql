-- A counter that moves whenever a row changes that a running server keeps
-- in memory and that another process may change: accounts (roles from the
-- `workbench user` command, sessions ended, passwords), class memberships
-- and deadlines, and regraded scores. Each server polls it and drops its
-- cached copies when it moves (engine/src/changes.rs). Triggers bump it,
-- so no writer, in this process or another, can forget to.
CREATE TABLE platform_changes (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    epoch  INTEGER NOT NULL
);
INSERT INTO platform_changes (id, epoch) VALUES (1, 0);

CREATE TRIGGER accounts_changed AFTER UPDATE ON accounts
BEGIN UPDATE platform_changes SET epoch = epoch + 1; END;
CREATE TRIGGER accounts_removed AFTER DELETE ON accounts
BEGIN UPDATE platform_changes SET epoch = epoch + 1; END;

CREATE TRIGGER class_members_added AFTER INSERT ON class_members
BEGIN UPDATE platform_changes SET epoch = epoch + 1; END;
CREATE TRIGGER class_members_removed AFTER DELETE ON class_members
BEGIN UPDATE platform_changes SET epoch = epoch + 1; END;

CREATE TRIGGER class_deadlines_added AFTER INSERT ON class_deadlines
BEGIN UPDATE platform_changes SET epoch = epoch + 1; END;
CREATE TRIGGER class_deadlines_changed AFTER UPDATE ON class_deadlines
BEGIN UPDATE platform_changes SET epoch = epoch + 1; END;
CREATE TRIGGER class_deadlines_removed AFTER DELETE ON class_deadlines
BEGIN UPDATE platform_changes SET epoch = epoch + 1; END;

CREATE TRIGGER classes_changed AFTER UPDATE ON classes
BEGIN UPDATE platform_changes SET epoch = epoch + 1; END;

-- Only a regrade changes a stored score; trimming old answers does not count.
CREATE TRIGGER attempts_regraded AFTER UPDATE OF score, passed ON attempts
BEGIN UPDATE platform_changes SET epoch = epoch + 1; END;
