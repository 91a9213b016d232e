//! Another client, writing to the student's orders while they page: it
//! creates orders (which go to the front of the newest-first list) and
//! deletes some of the 50 newest (which close a gap), so offset pages
//! visibly repeat and skip rows while cursor pages do not.
//!
//! One writer per student. In the background it makes `ops` changes a
//! second, each in its own turn of the student's shop, for at most
//! [`MAX_SECONDS`] by the server's clock, and stops at the first change
//! that fails (a reset or altered shop) saying why. Between pages, it
//! makes `ops` changes just before each page is read, in the same turn:
//! the same seed gives the same changes, which is how the tests (and a
//! careful student) compare offset and cursor paging fairly.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use model::labs::api::{WriterConfig, WriterMode, WriterStatus};
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::task::AbortHandle;

use super::problem::{ApiProblem, Kind};
use super::shop::{in_shop, integer, query};
use super::ApiLab;
use crate::error::extract::Json as JsonBody;
use crate::error::ApiError;
use crate::identity::Student;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::sql::dataset::Rng;
use crate::labs::sql::engine::{Db, SqlError};
use crate::labs::{LabState, Labs};
use crate::students::StudentId;

/// Longest a writer runs.
const MAX_SECONDS: u32 = 120;
/// Most changes per second or per page.
const MAX_OPS: u32 = 20;
/// Background writers on the whole server.
const MAX_BACKGROUND: usize = 16;
/// A delete picks among this many newest orders.
const NEWEST: usize = 50;

/// Every student's writer.
pub(crate) struct Writers {
    background: Arc<Semaphore>,
    per_student: Mutex<HashMap<StudentId, Writer>>,
}

impl Default for Writers {
    fn default() -> Self {
        Self {
            background: Arc::new(Semaphore::new(MAX_BACKGROUND)),
            per_student: Mutex::default(),
        }
    }
}

/// One student's writer.
struct Writer {
    config: WriterConfig,
    rng: Rng,
    inserted: u64,
    deleted: u64,
    /// Unix seconds, by the server's clock, when it stops.
    stops_at: i64,
    stopped_because: Option<String>,
    task: Option<AbortHandle>,
}

impl Writer {
    fn status(&self, now: i64) -> WriterStatus {
        WriterStatus {
            running: self.stopped_because.is_none() && now < self.stops_at,
            config: Some(self.config.clone()),
            inserted: self.inserted,
            deleted: self.deleted,
            stopped_because: self.stopped_because.clone().or_else(|| {
                (now >= self.stops_at).then(|| format!("ran its {} seconds", self.config.seconds))
            }),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// What a batch of changes did.
#[derive(Debug, Default, serde::Serialize)]
pub(super) struct Changes {
    inserted: Vec<i64>,
    deleted: Vec<i64>,
}

impl LabEvent for Changes {
    const KIND: &'static str = "api.writer";
    fn summary(&self) -> String {
        format!(
            "another client wrote: {} orders created, {} deleted",
            self.inserted.len(),
            self.deleted.len()
        )
    }
}

/// Makes `ops` seeded changes to the orders, in one transaction.
fn change(
    db: &mut Db,
    rng: &mut Rng,
    ops: u32,
    insert_percent: u32,
    now: i64,
) -> Result<Changes, SqlError> {
    let mut changes = Changes::default();
    query(db, "BEGIN IMMEDIATE", &[])?;
    for _ in 0..ops {
        if rng.chance(insert_percent.into()) {
            let customer = 1 + rng.below(2000) as i64;
            let made = query(
                db,
                "INSERT INTO orders (customer_id, placed_at, status) VALUES (?, datetime(?, 'unixepoch'), 'placed') RETURNING id",
                &[Value::from(customer), Value::from(now)],
            )?;
            if let Some(row) = made.rows.first() {
                changes.inserted.push(integer(row, 0)?);
            }
        } else {
            let victim = query(
                db,
                "SELECT id FROM orders ORDER BY id DESC LIMIT 1 OFFSET ?",
                &[Value::from(rng.below(NEWEST) as i64)],
            )?;
            let Some(id) = victim.rows.first().map(|row| integer(row, 0)).transpose()? else {
                continue;
            };
            query(
                db,
                "DELETE FROM order_items WHERE order_id = ?",
                &[Value::from(id)],
            )?;
            query(db, "DELETE FROM orders WHERE id = ?", &[Value::from(id)])?;
            changes.deleted.push(id);
        }
    }
    query(db, "COMMIT", &[])?;
    Ok(changes)
}

fn check(config: &WriterConfig) -> Result<(), ApiProblem> {
    for (name, value, (low, high)) in [
        ("ops", config.ops, (1, MAX_OPS)),
        ("insert_percent", config.insert_percent, (0, 100)),
        ("seconds", config.seconds, (1, MAX_SECONDS)),
    ] {
        if !(low..=high).contains(&value) {
            return Err(ApiProblem::invalid(vec![super::problem::invalid_at(
                format!("/{name}"),
                format!("must be between {low} and {high}"),
            )]));
        }
    }
    Ok(())
}

/// `PUT /labs/api/writer`: starts the student's writer, replacing any.
#[utoipa::path(put, path = "/writer", operation_id = "start_writer",
    summary = "Start (or restart) the writer that changes your orders while you page",
    request_body = model::labs::api::WriterConfig,
    responses(
        (status = 200, description = "The writer runs", body = model::labs::api::WriterStatus),
        (status = 422, description = "A setting is out of range", body = model::labs::api::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The server runs as many background writers as it allows", body = model::labs::api::Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn start(
    student: Student,
    State(labs): State<Labs>,
    LabState(state): LabState<ApiLab>,
    inspector: Inspector,
    JsonBody(config): JsonBody<WriterConfig>,
) -> Result<Response, ApiError> {
    if let Err(problem) = check(&config) {
        return Ok(problem.answer(&inspector));
    }
    let writers = &state.writers;
    let now = labs.clock.now();
    let mut writer = Writer {
        rng: Rng(config.seed),
        stops_at: now + i64::from(config.seconds),
        config,
        inserted: 0,
        deleted: 0,
        stopped_because: None,
        task: None,
    };
    // The old writer (and its task) goes first, freeing its place.
    writers
        .per_student
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&student.id);
    if writer.config.mode == WriterMode::Background {
        let Ok(permit) = writers.background.clone().try_acquire_owned() else {
            return Ok(ApiProblem::new(
                Kind::ServerBusy,
                format!("{MAX_BACKGROUND} writers are running on this server already. Try again soon, or use mode between_pages."),
            )
            .with_header(header::RETRY_AFTER, HeaderValue::from_static("10"))
            .answer(&inspector));
        };
        let (labs, state, id) = (labs.clone(), state.clone(), student.id.clone());
        let task = tokio::spawn(async move {
            run_in_background(&labs, &state, &id).await;
            drop(permit);
        });
        writer.task = Some(task.abort_handle());
    }
    let status = writer.status(now);
    writers
        .per_student
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(student.id.clone(), writer);
    Ok(Json(status).into_response())
}

/// The background writer's loop: one change per tick until it stops.
async fn run_in_background(labs: &Labs, state: &Arc<super::ApiState>, student: &StudentId) {
    loop {
        let next = {
            let writers = state
                .writers
                .per_student
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let Some(writer) = writers.get(student) else {
                return;
            };
            if !writer.status(labs.clock.now()).running {
                return;
            }
            (writer.rng, writer.config.insert_percent, writer.config.ops)
        };
        let (mut rng, insert_percent, ops) = next;
        tokio::time::sleep(Duration::from_millis(1000 / u64::from(ops.max(1)))).await;
        let now = labs.clock.now();
        let outcome = in_shop(labs, student, move |db| {
            let changes = change(db, &mut rng, 1, insert_percent, now)?;
            Ok((changes, rng))
        })
        .await;
        let mut writers = state
            .writers
            .per_student
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let Some(writer) = writers.get_mut(student) else {
            return;
        };
        match outcome {
            Ok((changes, rng)) => {
                writer.rng = rng;
                writer.inserted += changes.inserted.len() as u64;
                writer.deleted += changes.deleted.len() as u64;
            }
            Err(error) => {
                writer.stopped_because = Some(error.to_string());
                return;
            }
        }
    }
}

/// Before a page is read: the between-pages writer's changes, made in
/// the page's own turn of the shop. Returns the writer's next state.
pub(super) fn before_page(
    state: &super::ApiState,
    student: &StudentId,
    now: i64,
) -> Option<(Rng, u32, u32)> {
    let writers = state
        .writers
        .per_student
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let writer = writers.get(student)?;
    (writer.config.mode == WriterMode::BetweenPages && writer.status(now).running).then_some((
        writer.rng,
        writer.config.ops,
        writer.config.insert_percent,
    ))
}

/// Makes the between-pages changes in a page's turn.
pub(super) fn change_before_page(
    db: &mut Db,
    plan: Option<(Rng, u32, u32)>,
    now: i64,
) -> Result<Option<(Changes, Rng)>, SqlError> {
    let Some((mut rng, ops, insert_percent)) = plan else {
        return Ok(None);
    };
    let changes = change(db, &mut rng, ops, insert_percent, now)?;
    Ok(Some((changes, rng)))
}

/// Keeps what the between-pages changes did.
pub(super) fn after_page(
    state: &super::ApiState,
    student: &StudentId,
    changes: &Changes,
    rng: Rng,
) {
    let mut writers = state
        .writers
        .per_student
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(writer) = writers.get_mut(student) {
        writer.rng = rng;
        writer.inserted += changes.inserted.len() as u64;
        writer.deleted += changes.deleted.len() as u64;
    }
}

/// `GET /labs/api/writer`.
#[utoipa::path(get, path = "/writer", operation_id = "writer_status",
    summary = "What your writer has done",
    responses((status = 200, description = "The writer's status", body = model::labs::api::WriterStatus)))]
pub(super) async fn status(
    student: Student,
    State(labs): State<Labs>,
    LabState(state): LabState<ApiLab>,
) -> Json<WriterStatus> {
    let writers = state
        .writers
        .per_student
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    Json(
        writers
            .get(&student.id)
            .map(|writer| writer.status(labs.clock.now()))
            .unwrap_or_default(),
    )
}

/// `DELETE /labs/api/writer`: stops it.
#[utoipa::path(delete, path = "/writer", operation_id = "stop_writer",
    summary = "Stop your writer",
    responses((status = 204, description = "No writer runs for you now")))]
pub(super) async fn stop(student: Student, LabState(state): LabState<ApiLab>) -> StatusCode {
    state
        .writers
        .per_student
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&student.id);
    StatusCode::NO_CONTENT
}

impl Writers {
    /// Forgets writers that have stopped (called every few minutes).
    pub(crate) fn forget_stopped(&self, now: i64) {
        self.per_student
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, writer| writer.status(now).running);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writers_bounds_are_checked() {
        assert!(check(&WriterConfig::default()).is_ok());
        for bad in [
            WriterConfig {
                ops: 0,
                ..WriterConfig::default()
            },
            WriterConfig {
                ops: 21,
                ..WriterConfig::default()
            },
            WriterConfig {
                insert_percent: 101,
                ..WriterConfig::default()
            },
            WriterConfig {
                seconds: 121,
                ..WriterConfig::default()
            },
        ] {
            assert!(check(&bad).is_err(), "{bad:?}");
        }
    }
}
