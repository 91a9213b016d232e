//! Long-running work: an export of the student's orders as a job.
//!
//! `POST /labs/api/exports` answers `202 Accepted` at once, with the job's
//! URL in `Location`; the work runs on the server's own task pool, a chunk
//! of orders per turn of the student's shop (a keyset walk, as the
//! pagination lesson teaches), with a pause between chunks so its progress
//! can be watched. `GET` on the job polls it, `GET …/events` streams the
//! same progress as server-sent events, `GET …/result` has the report once
//! done, and `DELETE` cancels it.
//!
//! Bounds: one running export per student, [`MAX_RUNNING`] on the whole
//! server (`503` with `Retry-After` beyond it), [`MAX_RUN_TIME`] per job,
//! and each student's [`KEPT_PER_STUDENT`] latest jobs kept in memory.
//! Jobs live in this process: a restart forgets them (the messaging
//! module moves them onto a broker).

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::stream::{self, Stream};
use model::labs::api::{
    ExportReport, ExportRequest, Job, JobLinks, JobProgress, JobStatus, StatusTotal,
};
use serde_json::Value;
use tokio::sync::{watch, Semaphore};

use super::orders::STATUSES;
use super::problem::{ApiProblem, Kind};
use super::shop::{in_shop, integer, query, query_rows, text};
use super::ApiLab;
use crate::error::extract::{Json as JsonBody, Path};
use crate::error::ApiError;
use crate::identity::Student;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::{CurrentSettings, LabState, Labs};
use crate::students::StudentId;

/// Exports running at once on the whole server.
const MAX_RUNNING: usize = 4;
/// The longest one export may run before it is stopped as failed.
const MAX_RUN_TIME: Duration = Duration::from_secs(120);
/// Jobs each student keeps.
const KEPT_PER_STUDENT: usize = 10;
/// How long a finished job's result stays.
const KEPT_FOR: Duration = Duration::from_secs(60 * 60);

/// Every student's export jobs.
pub(crate) struct Jobs {
    running: Arc<Semaphore>,
    per_student: Mutex<HashMap<StudentId, StudentJobs>>,
}

/// One student's jobs, numbered from 1 so lessons can name them.
#[derive(Default)]
struct StudentJobs {
    last_id: u64,
    kept: VecDeque<Arc<LiveJob>>,
}

impl Default for Jobs {
    fn default() -> Self {
        Self {
            running: Arc::new(Semaphore::new(MAX_RUNNING)),
            per_student: Mutex::default(),
        }
    }
}

/// One job while the server runs.
struct LiveJob {
    id: u64,
    state: watch::Sender<JobState>,
    cancel: watch::Sender<bool>,
}

/// A job's state, as watchers see it change.
#[derive(Clone, Debug)]
struct JobState {
    status: JobStatus,
    progress: JobProgress,
    error: Option<String>,
    report: Option<ExportReport>,
    /// When it stopped running.
    finished_at: Option<Instant>,
}

impl LiveJob {
    fn view(&self) -> Job {
        view_of(self.id, &self.state.borrow())
    }
}

fn view_of(id: u64, state: &JobState) -> Job {
    let itself = format!("/labs/api/exports/{id}");
    Job {
        id,
        status: state.status,
        progress: state.progress,
        error: state.error.clone(),
        links: JobLinks {
            events: format!("{itself}/events"),
            result: (state.status == JobStatus::Done).then(|| format!("{itself}/result")),
            itself,
        },
    }
}

impl Jobs {
    fn find(&self, student: &StudentId, id: u64) -> Option<Arc<LiveJob>> {
        let jobs = self.per_student.lock().unwrap_or_else(|e| e.into_inner());
        jobs.get(student)?
            .kept
            .iter()
            .find(|job| job.id == id)
            .cloned()
    }

    fn running_of(&self, student: &StudentId) -> Option<Arc<LiveJob>> {
        let jobs = self.per_student.lock().unwrap_or_else(|e| e.into_inner());
        jobs.get(student)?
            .kept
            .iter()
            .find(|job| job.state.borrow().status == JobStatus::Running)
            .cloned()
    }

    /// Keeps the job `make` builds with the student's next job id.
    fn keep(&self, student: &StudentId, make: impl FnOnce(u64) -> LiveJob) -> Arc<LiveJob> {
        let mut jobs = self.per_student.lock().unwrap_or_else(|e| e.into_inner());
        let theirs = jobs.entry(student.clone()).or_default();
        theirs.last_id += 1;
        let job = Arc::new(make(theirs.last_id));
        theirs.kept.push_back(job.clone());
        while theirs.kept.len() > KEPT_PER_STUDENT {
            theirs.kept.pop_front();
        }
        job
    }

    fn forget(&self, student: &StudentId, id: u64) {
        let mut jobs = self.per_student.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(theirs) = jobs.get_mut(student) {
            theirs.kept.retain(|job| job.id != id);
        }
    }

    /// Forgets jobs that finished over [`KEPT_FOR`] ago: their results
    /// were there to fetch (called every few minutes).
    pub(crate) fn forget_finished(&self) {
        let mut jobs = self.per_student.lock().unwrap_or_else(|e| e.into_inner());
        for theirs in jobs.values_mut() {
            theirs.kept.retain(|job| {
                job.state
                    .borrow()
                    .finished_at
                    .is_none_or(|at| at.elapsed() < KEPT_FOR)
            });
        }
        jobs.retain(|_, theirs| !theirs.kept.is_empty());
    }
}

/// The inspector's record of what a request did to a job.
#[derive(serde::Serialize)]
struct JobTouched {
    job_id: u64,
    action: &'static str,
    status: JobStatus,
    done: u64,
    total: u64,
}

impl LabEvent for JobTouched {
    const KIND: &'static str = "api.job";
    fn summary(&self) -> String {
        format!(
            "export {}: {} ({:?}, {} of {} orders)",
            self.job_id, self.action, self.status, self.done, self.total
        )
    }
}

fn touched(inspector: &Inspector, job: &Job, action: &'static str) {
    inspector.record(&JobTouched {
        job_id: job.id,
        action,
        status: job.status,
        done: job.progress.done,
        total: job.progress.total,
    });
}

/// `POST /labs/api/exports`: starts an export, `202 Accepted`.
#[utoipa::path(post, path = "/exports", operation_id = "start_export",
    summary = "Start an export of your orders",
    description = "Answers at once with 202 and the job's Location; the work runs on after the answer. One export per student at a time.",
    request_body = model::labs::api::ExportRequest,
    responses(
        (status = 202, description = "The job was started", body = model::labs::api::Job,
            headers(("Location" = String, description = "The job's URL"), ("Retry-After" = u32, description = "Seconds before polling is worth it"))),
        (status = 409, description = "You already have an export running", body = model::labs::api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The status filter is not an order status", body = model::labs::api::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The server runs as many exports as it allows; try again after Retry-After", body = model::labs::api::Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn start(
    student: Student,
    State(labs): State<Labs>,
    LabState(state): LabState<ApiLab>,
    inspector: Inspector,
    CurrentSettings(settings, ..): CurrentSettings<ApiLab>,
    JsonBody(request): JsonBody<ExportRequest>,
) -> Result<Response, ApiError> {
    if let Some(status) = &request.status {
        if !STATUSES.contains(&status.as_str()) {
            return Ok(ApiProblem::invalid(vec![super::problem::invalid_at(
                "/status",
                format!("must be one of {}", STATUSES.join(", ")),
            )])
            .answer(&inspector));
        }
    }
    if let Some(running) = state.jobs.running_of(&student.id) {
        let id = running.id;
        return Ok(ApiProblem::new(
            Kind::ExportRunning,
            format!("Export {id} is still running: follow it at /labs/api/exports/{id}, or cancel it with DELETE."),
        )
        .answer(&inspector));
    }
    let Ok(permit) = state.jobs.running.clone().try_acquire_owned() else {
        return Ok(ApiProblem::new(
            Kind::ServerBusy,
            format!("{MAX_RUNNING} exports are running on this server already. Try again in a few seconds."),
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from_static("5"))
        .answer(&inspector));
    };
    let (progress, _) = watch::channel(JobState {
        status: JobStatus::Running,
        progress: JobProgress::default(),
        error: None,
        report: None,
        finished_at: None,
    });
    let (cancel, cancelled) = watch::channel(false);
    let job = state.jobs.keep(&student.id, |id| LiveJob {
        id,
        state: progress,
        cancel,
    });
    let work = Work {
        labs,
        student: student.id.clone(),
        status: request.status,
        chunk_rows: settings.export_chunk_rows,
        pause: Duration::from_millis(settings.export_chunk_delay_ms.into()),
    };
    let running = job.clone();
    tokio::spawn(async move {
        let outcome = tokio::time::timeout(MAX_RUN_TIME, work.run(&running.state, cancelled)).await;
        running.state.send_modify(|state| {
            state.finished_at = Some(Instant::now());
            match outcome {
                Ok(Ok(Some(report))) => {
                    state.status = JobStatus::Done;
                    state.report = Some(report);
                }
                Ok(Ok(None)) => state.status = JobStatus::Cancelled,
                Ok(Err(error)) => {
                    state.status = JobStatus::Failed;
                    state.error = Some(error.to_string());
                }
                Err(_) => {
                    state.status = JobStatus::Failed;
                    state.error = Some(format!(
                        "the export ran for over {} s and was stopped",
                        MAX_RUN_TIME.as_secs()
                    ));
                }
            }
        });
        drop(permit);
    });
    let view = job.view();
    touched(&inspector, &view, "started");
    let mut response = (StatusCode::ACCEPTED, Json(&view)).into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(&view.links.itself) {
        headers.insert(header::LOCATION, location);
    }
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    Ok(response)
}

/// What one export does.
struct Work {
    labs: Labs,
    student: StudentId,
    status: Option<String>,
    chunk_rows: u32,
    pause: Duration,
}

const TOTAL: &str = "SELECT count(*) FROM orders WHERE ?1 IS NULL OR status = ?1";
const CHUNK: &str = "SELECT o.id, o.status, (SELECT coalesce(sum(i.quantity * i.unit_price_cents), 0) FROM order_items AS i WHERE i.order_id = o.id) FROM orders AS o WHERE o.id > ?1 AND (?2 IS NULL OR o.status = ?2) ORDER BY o.id LIMIT ?3";

impl Work {
    /// Walks the orders chunk by chunk; `None` when cancelled.
    async fn run(
        self,
        state: &watch::Sender<JobState>,
        mut cancelled: watch::Receiver<bool>,
    ) -> Result<Option<ExportReport>, ApiError> {
        let filter = Value::from(self.status.clone());
        let total = {
            let filter = filter.clone();
            in_shop(&self.labs, &self.student, move |db| {
                let counted = query(db, TOTAL, &[filter])?;
                counted.rows.first().map(|row| integer(row, 0)).transpose()
            })
            .await?
            .unwrap_or_default()
            .max(0) as u64
        };
        state.send_modify(|s| s.progress.total = total);
        let mut totals: Vec<StatusTotal> = Vec::new();
        let mut after = 0i64;
        loop {
            if *cancelled.borrow() {
                return Ok(None);
            }
            let (filter, limit) = (filter.clone(), self.chunk_rows);
            let rows = in_shop(&self.labs, &self.student, move |db| {
                let chunk = query_rows(
                    db,
                    CHUNK,
                    &[Value::from(after), filter, Value::from(limit)],
                    limit as usize,
                )?;
                let rows = chunk
                    .rows
                    .iter()
                    .map(|row| Ok((integer(row, 0)?, text(row, 1)?, integer(row, 2)?)))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((rows, chunk.truncated))
            })
            .await?;
            let (rows, cut_short) = rows;
            let Some(last) = rows.last() else {
                break;
            };
            after = last.0;
            for (_, status, cents) in &rows {
                match totals.iter_mut().find(|t| &t.status == status) {
                    Some(total) => {
                        total.orders += 1;
                        total.total_cents = total.total_cents.saturating_add(*cents);
                    }
                    None => totals.push(StatusTotal {
                        status: status.clone(),
                        orders: 1,
                        total_cents: *cents,
                    }),
                }
            }
            state.send_modify(|s| {
                s.progress.done = (s.progress.done + rows.len() as u64).min(total.max(1));
            });
            if rows.len() < self.chunk_rows as usize && !cut_short {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.pause) => {}
                _ = cancelled.changed() => return Ok(None),
            }
        }
        totals.sort_by(|a, b| a.status.cmp(&b.status));
        Ok(Some(ExportReport {
            orders: totals.iter().map(|t| t.orders).sum(),
            total_cents: totals
                .iter()
                .map(|t| t.total_cents)
                .fold(0, i64::saturating_add),
            by_status: totals,
        }))
    }
}

fn no_such_job(id: u64) -> ApiProblem {
    ApiProblem::new(Kind::ExportNotFound, format!("You have no export {id}."))
}

/// `GET /labs/api/exports/{id}`: where the job is.
#[utoipa::path(get, path = "/exports/{id}", operation_id = "export_status",
    summary = "An export's status and progress",
    params(("id" = u64, Path, description = "The job's number (yours start at 1)")),
    responses(
        (status = 200, description = "The job", body = model::labs::api::Job),
        (status = 404, description = "You have no export with this number", body = model::labs::api::Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn poll(
    student: Student,
    LabState(state): LabState<ApiLab>,
    inspector: Inspector,
    Path(id): Path<u64>,
) -> Response {
    let Some(job) = state.jobs.find(&student.id, id) else {
        return no_such_job(id).answer(&inspector);
    };
    let view = job.view();
    touched(&inspector, &view, "polled");
    let running = view.status == JobStatus::Running;
    let mut response = Json(view).into_response();
    if running {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// `GET /labs/api/exports/{id}/result`: the report, once done.
#[utoipa::path(get, path = "/exports/{id}/result", operation_id = "export_result",
    summary = "A finished export's report",
    params(("id" = u64, Path, description = "The job's number")),
    responses(
        (status = 200, description = "The report", body = model::labs::api::ExportReport),
        (status = 404, description = "You have no export with this number", body = model::labs::api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The export is still running; try again after Retry-After", body = model::labs::api::Problem, content_type = "application/problem+json"),
        (status = 410, description = "The export was cancelled or failed: it has no result", body = model::labs::api::Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn result(
    student: Student,
    LabState(state): LabState<ApiLab>,
    inspector: Inspector,
    Path(id): Path<u64>,
) -> Response {
    let Some(job) = state.jobs.find(&student.id, id) else {
        return no_such_job(id).answer(&inspector);
    };
    let state = job.state.borrow().clone();
    match (state.status, state.report) {
        (JobStatus::Done, Some(report)) => Json(report).into_response(),
        (JobStatus::Running, _) => ApiProblem::new(
            Kind::ExportNotFinished,
            format!(
                "Export {id} has read {} of {} orders; its result is not ready yet.",
                state.progress.done, state.progress.total
            ),
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
        .answer(&inspector),
        (status, _) => ApiProblem::new(
            Kind::ExportGone,
            format!(
                "Export {id} {}: it has no result.",
                if status == JobStatus::Cancelled {
                    "was cancelled"
                } else {
                    "failed"
                }
            ),
        )
        .answer(&inspector),
    }
}

/// `DELETE /labs/api/exports/{id}`: cancels a running job (`202`), or
/// forgets a finished one (`204`).
#[utoipa::path(delete, path = "/exports/{id}", operation_id = "cancel_export",
    summary = "Cancel a running export, or forget a finished one",
    params(("id" = u64, Path, description = "The job's number")),
    responses(
        (status = 202, description = "Cancelling: the job stops at its next step", body = model::labs::api::Job),
        (status = 204, description = "The finished job is forgotten"),
        (status = 404, description = "You have no export with this number", body = model::labs::api::Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn cancel(
    student: Student,
    LabState(state): LabState<ApiLab>,
    inspector: Inspector,
    Path(id): Path<u64>,
) -> Response {
    let Some(job) = state.jobs.find(&student.id, id) else {
        return no_such_job(id).answer(&inspector);
    };
    let view = job.view();
    if view.status == JobStatus::Running {
        job.cancel.send_replace(true);
        touched(&inspector, &view, "cancel requested");
        (StatusCode::ACCEPTED, Json(view)).into_response()
    } else {
        state.jobs.forget(&student.id, id);
        touched(&inspector, &view, "forgotten");
        StatusCode::NO_CONTENT.into_response()
    }
}

/// One server-sent event of an export's stream, as the OpenAPI document
/// describes it (the handler writes the event with axum's `Event`).
#[derive(utoipa::ToSchema)]
#[expect(dead_code, reason = "only the document reads it")]
struct JobEvent {
    /// `progress`, then `done`, `cancelled` or `failed`.
    event: String,
    /// How many orders the export had read when the event was sent.
    id: String,
    /// The job, as JSON, as `GET /labs/api/exports/{id}` shows it.
    data: String,
}

/// `GET /labs/api/exports/{id}/events`: the job's progress as server-sent
/// events, one `progress` event per change and a last `done`,
/// `cancelled` or `failed` event, after which the stream ends.
#[utoipa::path(get, path = "/exports/{id}/events", operation_id = "export_events",
    summary = "An export's progress as server-sent events",
    description = "One `progress` event per step, then one `done`, `cancelled` or `failed` event, and the stream ends. Each event's data is the job as `GET /exports/{id}` shows it.",
    params(("id" = u64, Path, description = "The job's number")),
    responses(
        (status = 200, description = "The event stream", body = JobEvent, content_type = "text/event-stream"),
        (status = 404, description = "You have no export with this number", body = model::labs::api::Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn events(
    student: Student,
    LabState(state): LabState<ApiLab>,
    inspector: Inspector,
    Path(id): Path<u64>,
) -> Response {
    let Some(job) = state.jobs.find(&student.id, id) else {
        return no_such_job(id).answer(&inspector);
    };
    touched(&inspector, &job.view(), "stream opened");
    Sse::new(progress_stream(id, job.state.subscribe()))
        .keep_alive(KeepAlive::default())
        .into_response()
}

fn progress_stream(
    id: u64,
    receiver: watch::Receiver<JobState>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    // (receiver, whether this is the first event, whether the last has gone out)
    stream::unfold(
        (receiver, true, false),
        move |(mut receiver, first, finished)| async move {
            if finished || (!first && receiver.changed().await.is_err()) {
                return None;
            }
            let state = receiver.borrow_and_update().clone();
            let name = match state.status {
                JobStatus::Running => "progress",
                JobStatus::Done => "done",
                JobStatus::Cancelled => "cancelled",
                JobStatus::Failed => "failed",
            };
            let event = Event::default()
                .event(name)
                .id(state.progress.done.to_string())
                .json_data(view_of(id, &state))
                .unwrap_or_default();
            let last = state.status != JobStatus::Running;
            Some((Ok(event), (receiver, false, last)))
        },
    )
}
