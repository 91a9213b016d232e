//! The SQL lab's HTTP handlers: thin wrappers that run a job in the
//! student's sandbox and answer JSON, with SQL errors as 4xx bodies that
//! carry SQLite's message, a kind and a position.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use model::labs::sql::{
    Experiment, ExperimentRequest, QueryAnswer, RunRequest, Schema, SqlErrorBody, Timed,
};
use serde::Serialize;
use serde_json::Value;

use super::engine::{ErrorKind, SqlError};
use super::plan::{self, Plan};
use super::sandbox::{SandboxError, RUN_LIMITS};
use super::withdrawal::{self, TransferRun, WithdrawalReport};
use super::SqlLab;
use crate::error::extract::Json as JsonBody;
use crate::identity::Student;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::{CurrentSettings, LabState};

/// Runs of the query on each side of an index experiment; the median is shown.
const EXPERIMENT_RUNS: usize = 5;

/// Recorded for every statement a student runs, and for every query the
/// app-style endpoints make.
#[derive(Serialize)]
pub(super) struct SqlQuery {
    /// The statement as sent to SQLite.
    pub(super) statement: String,
    /// Its bound parameters, in order.
    pub(super) parameters: Vec<Value>,
    /// Rows returned (or changed, for a write).
    pub(super) rows: u64,
    /// Time in SQLite, in milliseconds.
    pub(super) elapsed_ms: f64,
    /// Its query plan, one step per line, for reads.
    pub(super) plan: Option<String>,
}

impl LabEvent for SqlQuery {
    const KIND: &'static str = "sql.query";
    fn summary(&self) -> String {
        let first_line = self.statement.lines().next().unwrap_or_default();
        format!(
            "{} rows in {:.2} ms: {first_line}",
            self.rows, self.elapsed_ms
        )
    }
}

/// A failed SQL job as an HTTP response.
pub(super) struct SqlFailure(SandboxError);

impl From<SandboxError> for SqlFailure {
    fn from(e: SandboxError) -> Self {
        Self(e)
    }
}

impl From<SqlError> for SqlFailure {
    fn from(e: SqlError) -> Self {
        Self(SandboxError::Sql(e))
    }
}

impl IntoResponse for SqlFailure {
    fn into_response(self) -> Response {
        match self.0 {
            SandboxError::Sql(e) => {
                let (status, error) = match e.kind {
                    ErrorKind::Refused => (StatusCode::FORBIDDEN, "refused"),
                    ErrorKind::Timeout => (StatusCode::UNPROCESSABLE_ENTITY, "timeout"),
                    ErrorKind::Memory => (StatusCode::UNPROCESSABLE_ENTITY, "too_big"),
                    // The student filled their own sandbox: theirs to fix (409), not the server's.
                    ErrorKind::Full => (StatusCode::CONFLICT, "sandbox_full"),
                    ErrorKind::Busy | ErrorKind::StaleSnapshot => (StatusCode::CONFLICT, "busy"),
                    ErrorKind::Syntax | ErrorKind::Shape => (StatusCode::BAD_REQUEST, "sql_error"),
                    ErrorKind::Runtime => (StatusCode::UNPROCESSABLE_ENTITY, "sql_error"),
                };
                let body = SqlErrorBody {
                    error: error.into(),
                    message: e.message,
                    kind: Some(e.kind),
                    position: e.position,
                };
                (status, Json(body)).into_response()
            }
            SandboxError::TooMany(refusal) => refusal.into_response(),
            SandboxError::Setup(reason) => {
                tracing::error!(%reason, "sql sandbox setup failed");
                crate::error::error_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Your SQL sandbox could not be prepared; try again in a moment.".into(),
                )
            }
        }
    }
}

/// `POST /labs/sql/query`: one statement in the student's sandbox.
#[utoipa::path(post, path = "/query",
    summary = "Run one SQL statement in your sandbox",
    description = "Any one statement (a read, a write, DDL, `EXPLAIN`) runs in your own copy of the shop database, within the sandbox's time, memory and row limits. Reads come back with their query plan. A failed statement answers with SQLite's message, its kind and, when SQLite knows it, the position in your SQL.",
    request_body = model::labs::sql::RunRequest,
    responses(
        (status = 200, description = "The statement's result", body = model::labs::sql::QueryAnswer),
        (status = 400, description = "The SQL is not valid, or is not exactly one statement (or the request body is malformed)", body = model::labs::sql::SqlErrorBody),
        (status = 403, description = "The sandbox's rules refuse the statement (e.g. `ATTACH`)", body = model::labs::sql::SqlErrorBody),
        (status = 409, description = "The sandbox is full, or busy with another of your statements", body = model::labs::sql::SqlErrorBody),
        (status = 422, description = "SQLite refused it while running (a constraint, ...), or it ran past its time or memory limit", body = model::labs::sql::SqlErrorBody),
        (status = 429, description = "You are over your share of the sandboxes' time; try again after Retry-After", body = model::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub(super) async fn query(
    LabState(sandboxes): LabState<SqlLab>,
    student: Student,
    inspector: Inspector,
    JsonBody(request): JsonBody<RunRequest>,
) -> Result<Json<QueryAnswer>, SqlFailure> {
    let sql = request.sql;
    let statement = sql.clone();
    let (output, plan) = sandboxes
        .run(&student.id, move |db| {
            let output = db.run(&sql, RUN_LIMITS)?;
            // The plan of a read is cheap and tells the inspector how it ran.
            let plan = if output.read_only
                && !sql.trim_start().to_ascii_uppercase().starts_with("EXPLAIN")
            {
                plan::explain(db, &sql, RUN_LIMITS).ok()
            } else {
                None
            };
            Ok((output, plan))
        })
        .await?;
    inspector.record(&SqlQuery {
        statement,
        parameters: Vec::new(),
        rows: if output.read_only {
            output.rows.len() as u64
        } else {
            output.changes
        },
        elapsed_ms: output.elapsed_ms,
        plan: plan.as_ref().map(|p| p.details.join("\n")),
    });
    Ok(Json(QueryAnswer {
        row_count: output.rows.len(),
        output,
        plan,
        notice: sandboxes.take_notice(&student.id),
    }))
}

/// `POST /labs/sql/plan`: the plan of one statement, without running it.
#[utoipa::path(post, path = "/plan",
    summary = "The query plan of one statement, as a tree",
    description = "`EXPLAIN QUERY PLAN` of the statement in your sandbox, without running it: the steps SQLite would take (which tables it scans, which indexes it searches), nested as SQLite nests them.",
    request_body = model::labs::sql::RunRequest,
    responses(
        (status = 200, description = "The statement's plan", body = model::labs::sql::Plan),
        (status = 400, description = "The SQL is not valid, or is not exactly one statement (or the request body is malformed)", body = model::labs::sql::SqlErrorBody),
        (status = 403, description = "The sandbox's rules refuse the statement", body = model::labs::sql::SqlErrorBody),
        (status = 422, description = "Planning ran past the sandbox's time or memory limit", body = model::labs::sql::SqlErrorBody),
        (status = 429, description = "You are over your share of the sandboxes' time; try again after Retry-After", body = model::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub(super) async fn plan(
    LabState(sandboxes): LabState<SqlLab>,
    student: Student,
    JsonBody(request): JsonBody<RunRequest>,
) -> Result<Json<Plan>, SqlFailure> {
    let plan = sandboxes
        .run(&student.id, move |db| {
            plan::explain(db, &request.sql, RUN_LIMITS)
        })
        .await?;
    Ok(Json(plan))
}

/// `GET /labs/sql/schema`.
#[utoipa::path(get, path = "/schema",
    summary = "The tables of your sandbox",
    description = "Every table of your sandbox with its columns, primary key, foreign keys, indexes (yours and those behind UNIQUE and PRIMARY KEY) and row count.",
    responses(
        (status = 200, description = "The sandbox's tables", body = model::labs::sql::Schema),
        (status = 429, description = "You are over your share of the sandboxes' time; try again after Retry-After", body = model::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub(super) async fn schema(
    LabState(sandboxes): LabState<SqlLab>,
    student: Student,
) -> Result<Json<Schema>, SqlFailure> {
    let tables = sandboxes
        .run(&student.id, |db| plan::schema(db, RUN_LIMITS))
        .await?;
    Ok(Json(Schema {
        notice: sandboxes.take_notice(&student.id),
        tables,
    }))
}

/// `DELETE /labs/sql/sandbox`.
#[utoipa::path(delete, path = "/sandbox",
    summary = "Throw your sandbox away",
    description = "Deletes your copy of the shop database; the next request that uses it starts from a fresh copy. Your settings stay.",
    responses(
        (status = 204, description = "The sandbox is gone"),
    ))]
pub(super) async fn reset(
    LabState(sandboxes): LabState<SqlLab>,
    student: Student,
) -> Result<StatusCode, SqlFailure> {
    sandboxes.reset(&student.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn timed(db: &mut super::engine::Db, query: &str) -> Result<Timed, SqlError> {
    let plan = plan::explain(db, query, RUN_LIMITS)?;
    let mut runs_ms = Vec::with_capacity(EXPERIMENT_RUNS);
    let mut row_count = 0;
    for _ in 0..EXPERIMENT_RUNS {
        let output = db.run(query, RUN_LIMITS)?;
        row_count = output.rows.len();
        runs_ms.push(output.elapsed_ms);
    }
    let mut sorted = runs_ms.clone();
    sorted.sort_by(f64::total_cmp);
    Ok(Timed {
        plan,
        median_ms: sorted[sorted.len() / 2],
        runs_ms,
        row_count,
    })
}

/// `POST /labs/sql/index-experiment`: times a read, creates an index, times it again.
#[utoipa::path(post, path = "/index-experiment",
    summary = "Time a query before and after creating an index",
    description = "Runs the query (a read) five times, creates the index (which stays in your sandbox), runs the query five times again, and answers both plans, every run's time and the speedup of the medians.",
    request_body = model::labs::sql::ExperimentRequest,
    responses(
        (status = 200, description = "Before and after", body = model::labs::sql::Experiment),
        (status = 400, description = "The query is not a read, the index is not a `CREATE INDEX`, or either is not valid SQL", body = model::labs::sql::SqlErrorBody),
        (status = 403, description = "The sandbox's rules refuse a statement", body = model::labs::sql::SqlErrorBody),
        (status = 409, description = "The sandbox is full, or busy", body = model::labs::sql::SqlErrorBody),
        (status = 422, description = "SQLite refused the index (e.g. its name is taken), or a statement ran past its limits", body = model::labs::sql::SqlErrorBody),
        (status = 429, description = "You are over your share of the sandboxes' time; try again after Retry-After", body = model::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub(super) async fn index_experiment(
    LabState(sandboxes): LabState<SqlLab>,
    student: Student,
    JsonBody(request): JsonBody<ExperimentRequest>,
) -> Result<Json<Experiment>, SqlFailure> {
    let index = request.index.trim().to_string();
    let words: Vec<String> = index
        .split_whitespace()
        .take(3)
        .map(str::to_ascii_uppercase)
        .collect();
    if !(words.starts_with(&["CREATE".into(), "INDEX".into()])
        || words.starts_with(&["CREATE".into(), "UNIQUE".into(), "INDEX".into()]))
    {
        return Err(SqlError {
            kind: ErrorKind::Shape,
            message: "the second statement must be a CREATE INDEX".into(),
            position: None,
        }
        .into());
    }
    let query = request.query;
    let experiment = sandboxes
        .run(&student.id, move |db| {
            if !db.is_read_only(&query)? {
                return Err(SqlError {
                    kind: ErrorKind::Shape,
                    message: "the query must be a read (a SELECT)".into(),
                    position: None,
                });
            }
            let before = timed(db, &query)?;
            db.run(&index, RUN_LIMITS)?;
            let after = timed(db, &query)?;
            Ok(Experiment {
                speedup: before.median_ms / after.median_ms.max(0.001),
                before,
                after,
            })
        })
        .await?;
    Ok(Json(experiment))
}

/// `POST /labs/sql/withdrawal`: the concurrent withdrawal under the student's settings.
#[utoipa::path(post, path = "/withdrawal",
    summary = "Two withdrawals from one account at the same moment, step by step",
    description = "Sessions A and B withdraw 100 and 50 from an account holding 300, taking turns statement by statement on two real connections, under your settings (`transaction`, `withdrawal`, `retry_on_busy`). The answer tells every step and whether an update was lost. No request body: change the settings to change the run.",
    responses(
        (status = 200, description = "The run's story", body = model::labs::sql::WithdrawalReport),
        (status = 429, description = "You are over your share of the sandboxes' time; try again after Retry-After", body = model::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub(super) async fn withdrawal(
    LabState(sandboxes): LabState<SqlLab>,
    student: Student,
    CurrentSettings(settings, _): CurrentSettings<SqlLab>,
) -> Result<Json<WithdrawalReport>, SqlFailure> {
    let report = sandboxes
        .with_file(&student.id, move |path| {
            withdrawal::withdraw_concurrently(path, &settings)
        })
        .await?;
    Ok(Json(report))
}

/// `POST /labs/sql/transfer`: the failing transfer, without and with a transaction.
#[utoipa::path(post, path = "/transfer",
    summary = "A transfer that fails halfway, without and with a transaction",
    description = "Moves money between two accounts with two updates, the second of which fails: once without a transaction (money disappears) and once inside one (the rollback keeps it). The answer holds exactly two runs, in that order. No request body.",
    responses(
        (status = 200, description = "The two runs: without a transaction, then with one", body = [model::labs::sql::TransferRun]),
        (status = 429, description = "You are over your share of the sandboxes' time; try again after Retry-After", body = model::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub(super) async fn transfer(
    LabState(sandboxes): LabState<SqlLab>,
    student: Student,
) -> Result<Json<[TransferRun; 2]>, SqlFailure> {
    let runs = sandboxes
        .with_file(&student.id, withdrawal::failing_transfer)
        .await?;
    Ok(Json(runs))
}
