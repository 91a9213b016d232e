//! The auth lab's tables, in the student's own shop: the same sandbox
//! database the SQL and cache labs use. A student who registers demo users
//! here can `SELECT * FROM users` in the SQL lab and read the argon2id
//! hashes they made; resetting the sandbox resets these tables too; a guest
//! who signs in keeps them with the sandbox. The platform database holds
//! none of it.
//!
//! Every statement runs through the sandbox's guarded connection, with the
//! same time limit, size cap and authorizer as the student's own SQL: the
//! student may have changed these tables (or put triggers on them), and
//! nothing they did there may cost the server more than their own queries
//! can. When the tables no longer fit what the lab needs, the lab says so
//! and how to start again, instead of failing on the server's side.

use model::labs::sql::SqlValue;
use serde_json::Value;

use crate::error::ApiError;
use crate::labs::sql::engine::{Limits, QueryOutput};
use crate::labs::sql::sandbox::{SandboxError, STATEMENT_TIME};
use crate::labs::sql::SqlLab;
use crate::labs::Labs;
use crate::students::StudentId;

/// The auth lab's tables. Made with every new sandbox (through
/// [`crate::labs::Lab::SHOP_TABLES`]), and again before the lab's own
/// statements, so a sandbox made before them, or one whose student dropped
/// them, gets them back empty.
pub(super) const TABLES: &str = "\
CREATE TABLE IF NOT EXISTS users (
    username       TEXT PRIMARY KEY NOT NULL,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('buyer', 'seller', 'admin')),
    created_at     INTEGER NOT NULL,
    banned         INTEGER NOT NULL DEFAULT 0,
    totp_secret    TEXT,
    totp_enabled   INTEGER NOT NULL DEFAULT 0,
    totp_last_step INTEGER
);
CREATE TABLE IF NOT EXISTS sessions (
    id          TEXT PRIMARY KEY NOT NULL,
    username    TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    family      TEXT NOT NULL,
    username    TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    revoked_at  INTEGER
);
CREATE TABLE IF NOT EXISTS listings (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    owner       TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS oauth_codes (
    code_hash     TEXT PRIMARY KEY NOT NULL,
    username      TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    client_id     TEXT NOT NULL,
    redirect_uri  TEXT NOT NULL,
    challenge     TEXT NOT NULL,
    expires_at    INTEGER NOT NULL,
    used_at       INTEGER
);
CREATE TABLE IF NOT EXISTS oauth_pending (
    id          TEXT PRIMARY KEY NOT NULL,
    state       TEXT NOT NULL,
    verifier    TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
";

/// Rows the lab reads back from one statement: its lists are short.
const MAX_ROWS: usize = 200;

/// Runs one statement of the lab's own in `student`'s shop, with
/// `parameters` bound to its `?`s in order.
pub(super) async fn run(
    labs: &Labs,
    student: &StudentId,
    sql: &'static str,
    parameters: Vec<Value>,
) -> Result<Rows, ApiError> {
    let limits = Limits {
        time: STATEMENT_TIME,
        max_rows: MAX_ROWS,
    };
    labs.get::<SqlLab>()
        .run(student, move |db| {
            db.execute_trusted(TABLES)?;
            db.run_with(sql, limits, &parameters)
        })
        .await
        .map(Rows)
        .map_err(refusal)
}

/// What a failed statement means for the student.
fn refusal(error: SandboxError) -> ApiError {
    match error {
        SandboxError::Sql(e) => changed_tables(&e),
        SandboxError::TooMany(refusal) => refusal,
        SandboxError::Setup(reason) => {
            tracing::error!(%reason, "the auth lab could not reach a shop");
            ApiError::Unavailable("Your shop could not be opened just now; try again.".into())
        }
    }
}

fn changed_tables(error: &dyn std::fmt::Display) -> ApiError {
    ApiError::Conflict(format!(
        "The auth lab could not use its tables in your shop ({error}). If you changed \
         `users`, `sessions`, `refresh_tokens`, `listings` or the `oauth_*` tables in the \
         SQL lab, reset your shop (DELETE /labs/sql/sandbox) to start again."
    ))
}

/// A statement's result.
pub(super) struct Rows(QueryOutput);

impl Rows {
    /// Rows a write changed.
    pub(super) fn changes(&self) -> u64 {
        self.0.changes
    }

    /// The first row, if any.
    pub(super) fn first(&self) -> Option<Row<'_>> {
        self.0.rows.first().map(|values| Row(values))
    }

    /// Every row read.
    pub(super) fn iter(&self) -> impl Iterator<Item = Row<'_>> {
        self.0.rows.iter().map(|values| Row(values))
    }
}

/// One row, read by column position.
pub(super) struct Row<'a>(&'a [SqlValue]);

impl Row<'_> {
    fn value(&self, column: usize) -> &SqlValue {
        self.0.get(column).unwrap_or(&SqlValue::Null)
    }

    /// A `TEXT` column.
    pub(super) fn text(&self, column: usize) -> Result<String, ApiError> {
        self.optional_text(column)?.ok_or_else(|| mismatch(column))
    }

    /// A `TEXT` column that may be `NULL`.
    pub(super) fn optional_text(&self, column: usize) -> Result<Option<String>, ApiError> {
        match self.value(column) {
            SqlValue::Null => Ok(None),
            SqlValue::Text(text) => Ok(Some(text.clone())),
            _ => Err(mismatch(column)),
        }
    }

    /// An `INTEGER` column.
    pub(super) fn integer(&self, column: usize) -> Result<i64, ApiError> {
        self.optional_integer(column)?
            .ok_or_else(|| mismatch(column))
    }

    /// An `INTEGER` column that may be `NULL`.
    pub(super) fn optional_integer(&self, column: usize) -> Result<Option<i64>, ApiError> {
        match self.value(column) {
            SqlValue::Null => Ok(None),
            SqlValue::Integer(value) => Ok(Some(*value)),
            _ => Err(mismatch(column)),
        }
    }
}

fn mismatch(column: usize) -> ApiError {
    changed_tables(&format!(
        "column {} holds a value of another type than the lab wrote",
        column + 1
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labs::sql::engine::{Access, Db};

    #[test]
    fn the_tables_can_be_made_twice_in_a_shop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        std::fs::write(&path, b"").unwrap();
        let mut db = Db::open(&path, Access::ReadWrite, 1 << 16).unwrap();
        db.execute_trusted(TABLES).unwrap();
        db.execute_trusted(TABLES).unwrap();
        let limits = Limits {
            time: STATEMENT_TIME,
            max_rows: 10,
        };
        let tables = db
            .run(
                "SELECT group_concat(name) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                limits,
            )
            .unwrap();
        assert_eq!(
            tables.rows[0][0],
            SqlValue::Text(
                "users,sessions,refresh_tokens,listings,oauth_codes,oauth_pending".into()
            )
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_is_the_students_change_not_a_server_error() {
        let values = [SqlValue::Integer(7), SqlValue::Null];
        let row = Row(&values);
        assert_eq!(row.integer(0).unwrap(), 7);
        assert_eq!(row.optional_text(1).unwrap(), None);
        assert!(matches!(row.text(0), Err(ApiError::Conflict(_))));
        assert!(matches!(row.integer(1), Err(ApiError::Conflict(_))));
    }
}
