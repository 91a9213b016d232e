//! The API lab's statements, run in the student's own shop (the SQL lab's
//! sandbox) through its guarded connection: the same time limit, size cap
//! and fair share as the student's own SQL. The student may have changed
//! `orders` and `order_items` there, so what the lab reads back is checked,
//! and a table that no longer fits is the student's to reset, not a server
//! error.

use model::labs::sql::SqlValue;
use serde_json::Value;

use super::MAX_PER_PAGE;
use crate::error::ApiError;
use crate::labs::sql::engine::{Db, ErrorKind, Limits, QueryOutput, SqlError};
use crate::labs::sql::sandbox::{SandboxError, STATEMENT_TIME};
use crate::labs::sql::SqlLab;
use crate::labs::Labs;
use crate::students::StudentId;

/// The lab's own tables. Made with every new shop (through
/// [`crate::labs::Lab::SHOP_TABLES`]) and again before each of the lab's
/// turns, for shops made before them or whose student dropped them.
pub(super) const TABLES: &str = "\
CREATE TABLE IF NOT EXISTS api_idempotency_keys (
    key            TEXT PRIMARY KEY NOT NULL,
    fingerprint    TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('in_flight', 'done')),
    locked_until   INTEGER,
    status         INTEGER,
    location       TEXT,
    response_body  TEXT,
    order_id       INTEGER,
    created_at     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS api_replays (
    key          TEXT PRIMARY KEY NOT NULL,
    order_id     INTEGER,
    replayed_at  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS api_lost_responses (
    fingerprint  TEXT PRIMARY KEY NOT NULL,
    order_id     INTEGER,
    lost_at      INTEGER NOT NULL
);
";

/// Every statement of the lab: the shop's time limit, and a page and one
/// more row (to know whether there is a next page).
pub(super) const LIMITS: Limits = Limits {
    time: STATEMENT_TIME,
    max_rows: MAX_PER_PAGE as usize + 1,
};

/// Runs `work` on `student`'s shop, in one turn of their sandbox.
pub(super) async fn in_shop<T: Send + 'static>(
    labs: &Labs,
    student: &StudentId,
    work: impl FnOnce(&mut Db) -> Result<T, SqlError> + Send + 'static,
) -> Result<T, ApiError> {
    labs.get::<SqlLab>()
        .run(student, move |db| {
            db.execute_trusted(TABLES)?;
            work(db)
        })
        .await
        .map_err(refusal)
}

/// Runs one statement with `parameters` bound to its `?`s.
pub(super) fn query(db: &mut Db, sql: &str, parameters: &[Value]) -> Result<QueryOutput, SqlError> {
    db.run_with(sql, LIMITS, parameters)
}

/// [`query`] for statements that read up to `max_rows` rows.
pub(super) fn query_rows(
    db: &mut Db,
    sql: &str,
    parameters: &[Value],
    max_rows: usize,
) -> Result<QueryOutput, SqlError> {
    db.run_with(sql, Limits { max_rows, ..LIMITS }, parameters)
}

/// Column `column` of `row` as an integer.
pub(super) fn integer(row: &[SqlValue], column: usize) -> Result<i64, SqlError> {
    row.get(column)
        .and_then(SqlValue::as_i64)
        .ok_or_else(|| changed(column))
}

/// Column `column` of `row` as text.
pub(super) fn text(row: &[SqlValue], column: usize) -> Result<String, SqlError> {
    row.get(column)
        .and_then(SqlValue::as_str)
        .map(str::to_string)
        .ok_or_else(|| changed(column))
}

fn changed(column: usize) -> SqlError {
    SqlError::new(
        ErrorKind::Runtime,
        format!(
            "column {} holds a value of another type than the lab expects",
            column + 1
        ),
    )
}

/// What a failed turn means for the student.
fn refusal(error: SandboxError) -> ApiError {
    match error {
        SandboxError::Sql(error) => ApiError::Conflict(format!(
            "The API could not use the orders in your shop ({error}). If you changed \
             `orders`, `order_items` or the `api_*` tables in the SQL lab, reset your shop \
             (DELETE /labs/sql/sandbox) to start again."
        )),
        SandboxError::TooMany(refusal) => refusal,
        SandboxError::Setup(reason) => {
            tracing::error!(%reason, "the API lab could not reach a shop");
            ApiError::Unavailable("Your shop could not be opened just now; try again.".into())
        }
    }
}
