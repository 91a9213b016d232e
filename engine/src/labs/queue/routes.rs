//! The queue lab's routes: queue jobs, watch them, kill workers, inspect
//! and replay the dead-letter queue, start afresh, and run map-reduce over
//! the student's orders.

use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use model::labs::queue::{
    CountryRevenue, DeadLetter, EnqueueJobs, Enqueued, KillWorker, MapReduceRun, QueueStatus,
    Replayed, StartMapReduce,
};
use model::labs::sql::SqlValue;
use serde::Serialize;

use super::broker::BrokerDown;
use super::job::JobMessage;
use super::mapreduce::{self, LineReader, MapRun};
use super::pool::Pool;
use super::QueueLab;
use crate::error::extract::{Json as JsonBody, Path, Query};
use crate::error::ApiError;
use crate::identity::Student;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::sql::engine::Limits;
use crate::labs::sql::sandbox::SandboxError;
use crate::labs::sql::{Sandboxes, SqlLab};
use crate::labs::{CurrentSettings, LabState};
use crate::students::StudentId;

/// Messages one student may have waiting at once.
pub(crate) const MAX_WAITING: u64 = 500;
/// Jobs one request may queue.
const MAX_COUNT: u32 = 50;
const MAX_COPIES: u32 = 3;
const MAX_FAILURES: u32 = 10;
/// Longest address, as SMTP allows.
const MAX_ADDRESS: usize = 254;
/// Dead letters one listing shows.
const DEAD_SHOWN: usize = 50;

fn unavailable(down: BrokerDown) -> ApiError {
    ApiError::Unavailable(down.0)
}

/// `429` when `more` messages would take the student past [`MAX_WAITING`].
fn room_for(pool: &Pool, more: u32) -> Result<(), ApiError> {
    let waiting = pool.ledger().counts().waiting;
    if waiting + u64::from(more) > MAX_WAITING {
        return Err(ApiError::TooManyRequests {
            message: format!(
                "You have {waiting} messages waiting and may have {MAX_WAITING}: add workers, wait for them to catch up, or empty the queue."
            ),
            retry_after_secs: 5,
        });
    }
    Ok(())
}

/// `202 Accepted` with `body`, pointing at the status to follow.
fn accepted(body: impl Serialize) -> Response {
    let mut response = (StatusCode::ACCEPTED, Json(body)).into_response();
    response.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_static("/labs/queue/status"),
    );
    response
}

/// Jobs were queued.
#[derive(Serialize)]
struct Queued<'a> {
    broker: &'static str,
    ids: &'a [String],
    copies: u32,
    /// The settings the workers will take these jobs with.
    ack: model::labs::queue::AckMode,
    idempotent: bool,
}

impl LabEvent for Queued<'_> {
    const KIND: &'static str = "queue.publish";
    fn summary(&self) -> String {
        let copies = match self.copies {
            1 => String::new(),
            n => format!(", each published {n} times"),
        };
        format!(
            "{} job(s) published to {} and confirmed{copies}",
            self.ids.len(),
            self.broker
        )
    }
}

/// The body, checked; the error names the field and its range.
fn checked(body: &EnqueueJobs) -> Result<(), ApiError> {
    let bad = |field: &str, range: &str, value: u32| {
        Err(ApiError::Unprocessable(format!(
            "{field} must be between {range}, not {value}"
        )))
    };
    if !(1..=MAX_COUNT).contains(&body.count) {
        return bad("count", "1 and 50", body.count);
    }
    if !(1..=MAX_COPIES).contains(&body.copies) {
        return bad("copies", "1 and 3", body.copies);
    }
    if body.failures > MAX_FAILURES {
        return bad("failures", "0 and 10", body.failures);
    }
    let to = body.to.trim();
    let plausible = to.len() <= MAX_ADDRESS
        && to.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !to.chars().any(char::is_whitespace)
        });
    if !plausible {
        return Err(ApiError::Unprocessable(
            "to must be an e-mail address such as ana@example.com (at most 254 characters)".into(),
        ));
    }
    Ok(())
}

/// `POST /labs/queue/jobs`.
#[utoipa::path(post, path = "/jobs",
    summary = "Queue order confirmation e-mails",
    description = "Publishes one job per e-mail to the broker in your settings and answers `202 Accepted` once the broker has confirmed every message: the work happens later, on the workers. `copies` publishes each message more than once (a producer that retried), so the workers see duplicates with one message id; `failures` makes the fake mail server refuse each e-mail that many times first. You may have 500 messages waiting, and publish 500 in a burst, then 100 a second.",
    request_body = model::labs::queue::EnqueueJobs,
    responses(
        (status = 202, description = "Every message is on the queue", body = model::labs::queue::Enqueued,
            headers(("Location" = String, description = "Where to watch them: `/labs/queue/status`"))),
        (status = 422, description = "A field is out of range", body = model::ErrorBody),
        (status = 429, description = "Too many messages waiting, or published too fast", body = model::ErrorBody),
        (status = 503, description = "The broker is unreachable or not configured; the body says which messages were confirmed before it failed", body = model::ErrorBody),
    ))]
pub(super) async fn enqueue(
    LabState(queues): LabState<QueueLab>,
    CurrentSettings(settings, ..): CurrentSettings<QueueLab>,
    student: Student,
    inspector: Inspector,
    JsonBody(body): JsonBody<EnqueueJobs>,
) -> Result<Response, ApiError> {
    checked(&body)?;
    let pool = queues.pool(&student.id, &settings)?;
    let messages = body.count * body.copies;
    room_for(&pool, messages)?;
    queues.publishes.check_n(
        &student.id,
        NonZeroU32::new(messages).expect("count and copies are at least 1"),
    )?;
    let broker = queues.broker(settings.broker).map_err(unavailable)?;
    let mut ids = Vec::new();
    let mut confirmed = 0;
    for _ in 0..body.count {
        let (id, order) = pool.ledger().next_id(&pool.names.tag);
        let message = JobMessage {
            id: id.clone(),
            order,
            to: body.to.trim().to_string(),
            failures: body.failures,
            attempt: 1,
            error: None,
            map: None,
        };
        for _ in 0..body.copies {
            if let Err(down) = broker.publish(&pool.names, &message, Duration::ZERO).await {
                pool.broker_failed(&down);
                return Err(ApiError::Unavailable(format!(
                    "{down}. {confirmed} of {messages} messages were confirmed before that and are on the queue; the rest were not queued."
                )));
            }
            confirmed += 1;
            pool.ledger().published(&message, pool.now_ms());
        }
        ids.push(id);
    }
    inspector.record(&Queued {
        broker: settings.broker.as_str(),
        ids: &ids,
        copies: body.copies,
        ack: settings.ack,
        idempotent: settings.idempotent,
    });
    let answer = Enqueued {
        ids,
        published: messages,
        broker: settings.broker,
    };
    Ok(accepted(answer))
}

/// `GET /labs/queue/status`.
#[utoipa::path(get, path = "/status",
    summary = "Your queue, workers and outbox",
    description = "What the console shows: the counts (waiting, in flight, done, retried, redelivered, dead, lost, e-mails and duplicates), the workers and what each is doing, a point per change for the chart, the latest jobs and the e-mails sent. Also starts your workers if they are not running.",
    responses(
        (status = 200, description = "The queue now", body = model::labs::queue::QueueStatus),
        (status = 503, description = "The lab runs as many students' workers as it may", body = model::ErrorBody),
    ))]
pub(super) async fn status(
    LabState(queues): LabState<QueueLab>,
    CurrentSettings(settings, ..): CurrentSettings<QueueLab>,
    student: Student,
) -> Result<Json<QueueStatus>, ApiError> {
    let pool = queues.pool(&student.id, &settings)?;
    if let Ok(broker) = queues.broker(settings.broker) {
        match broker.health().await {
            Ok(()) => pool.broker_ok(),
            Err(down) => pool.broker_failed(&down),
        }
    }
    Ok(Json(status_of(&pool, &settings)))
}

fn status_of(pool: &Pool, settings: &model::labs::queue::QueueSettings) -> QueueStatus {
    let workers = pool.workers();
    let ledger = pool.ledger();
    QueueStatus {
        broker: settings.broker,
        broker_error: pool.broker_error(),
        counts: ledger.counts(),
        workers,
        timeline: ledger.timeline(),
        jobs: ledger.jobs(),
        outbox: ledger.outbox(),
        mapreduce: pool.map_run(),
    }
}

/// A worker was killed.
#[derive(Serialize)]
struct Killed {
    worker: u32,
    at: model::labs::queue::KillAt,
    job: Option<String>,
}

impl LabEvent for Killed {
    const KIND: &'static str = "queue.kill";
    fn summary(&self) -> String {
        match (self.at, &self.job) {
            (model::labs::queue::KillAt::AfterSend, _) => format!(
                "worker {} will die just after its next e-mail is sent",
                self.worker
            ),
            (_, Some(job)) => format!("worker {} killed holding {job}", self.worker),
            (_, None) => format!("worker {} killed while idle", self.worker),
        }
    }
}

/// `POST /labs/queue/workers/{id}/kill`.
#[utoipa::path(post, path = "/workers/{id}/kill",
    summary = "Kill a worker, at once or just after its next e-mail",
    description = "The worker dies without acknowledging the job it holds, as a crashed process would, and a new worker (with a new number) starts in its place. With `ack: after-work` the broker delivers the job again; with `ack: before-work` it is lost. `at=after-send` waits for the moment after the e-mail went out: a redelivery then sends it twice unless the workers are idempotent.",
    params(
        ("id" = u32, Path, description = "The worker's number, from the status"),
        model::labs::queue::KillWorker,
    ),
    responses(
        (status = 202, description = "The worker as it was told", body = model::labs::queue::WorkerView),
        (status = 404, description = "You have no worker with this number", body = model::ErrorBody),
        (status = 429, description = "More than 10 kills in a row (then one a second)", body = model::ErrorBody),
    ))]
pub(super) async fn kill(
    LabState(queues): LabState<QueueLab>,
    CurrentSettings(settings, ..): CurrentSettings<QueueLab>,
    student: Student,
    inspector: Inspector,
    Path(id): Path<u32>,
    Query(query): Query<KillWorker>,
) -> Result<(StatusCode, Json<model::labs::queue::WorkerView>), ApiError> {
    queues.kills.check(&student.id)?;
    let pool = queues.pool(&student.id, &settings)?;
    let Some(view) = pool.kill(id, query.at) else {
        let ids: Vec<String> = pool.workers().iter().map(|w| w.id.to_string()).collect();
        return Err(ApiError::NotFound(if ids.is_empty() {
            format!("You have no worker {id}: none is running (set workers above 0)")
        } else {
            format!("You have no worker {id}; yours are {}", ids.join(", "))
        }));
    };
    inspector.record(&Killed {
        worker: id,
        at: query.at,
        job: view.job.clone(),
    });
    Ok((StatusCode::ACCEPTED, Json(view)))
}

/// `GET /labs/queue/dead`.
#[utoipa::path(get, path = "/dead",
    summary = "The dead-letter queue",
    description = "Jobs whose last attempt failed, oldest first (up to 50), with the attempts they had and the last error. Reading them leaves them where they are.",
    responses(
        (status = 200, description = "The dead letters", body = Vec<model::labs::queue::DeadLetter>),
        (status = 503, description = "The broker is unreachable or not configured", body = model::ErrorBody),
    ))]
pub(super) async fn dead(
    LabState(queues): LabState<QueueLab>,
    CurrentSettings(settings, ..): CurrentSettings<QueueLab>,
    student: Student,
) -> Result<Json<Vec<DeadLetter>>, ApiError> {
    let pool = queues.pool(&student.id, &settings)?;
    let broker = queues.broker(settings.broker).map_err(unavailable)?;
    let letters = broker
        .dead_letters(&pool.names, DEAD_SHOWN)
        .await
        .map_err(unavailable)?;
    Ok(Json(
        letters
            .into_iter()
            .map(|message| DeadLetter {
                error: message.error.clone().unwrap_or_default(),
                attempts: message.attempt,
                id: message.id,
                order: message.order,
                to: message.to,
            })
            .collect(),
    ))
}

/// Dead letters went back on the queue.
#[derive(Serialize)]
struct ReplayedEvent {
    replayed: usize,
}

impl LabEvent for ReplayedEvent {
    const KIND: &'static str = "queue.replay";
    fn summary(&self) -> String {
        format!(
            "{} dead letter(s) moved back to the work queue as first attempts",
            self.replayed
        )
    }
}

/// `POST /labs/queue/dead/replay`.
#[utoipa::path(post, path = "/dead/replay",
    summary = "Replay the dead-letter queue",
    description = "Moves every dead letter back to the work queue, its attempts counted afresh. The fake mail server has by then refused each e-mail as often as the job asked, so a replayed job goes through.",
    responses(
        (status = 200, description = "How many were moved", body = model::labs::queue::Replayed),
        (status = 503, description = "The broker is unreachable or not configured", body = model::ErrorBody),
    ))]
pub(super) async fn replay(
    LabState(queues): LabState<QueueLab>,
    CurrentSettings(settings, ..): CurrentSettings<QueueLab>,
    student: Student,
    inspector: Inspector,
) -> Result<Json<Replayed>, ApiError> {
    let pool = queues.pool(&student.id, &settings)?;
    let broker = queues.broker(settings.broker).map_err(unavailable)?;
    let moved = broker.replay(&pool.names).await.map_err(unavailable)?;
    pool.ledger().replayed(&moved, pool.now_ms());
    inspector.record(&ReplayedEvent {
        replayed: moved.len(),
    });
    Ok(Json(Replayed {
        replayed: moved.len() as u32,
    }))
}

/// The queue was emptied.
#[derive(Serialize)]
struct Purged {
    broker: &'static str,
}

impl LabEvent for Purged {
    const KIND: &'static str = "queue.purge";
    fn summary(&self) -> String {
        format!(
            "your queues on {} emptied and the counts zeroed",
            self.broker
        )
    }
}

/// `DELETE /labs/queue/jobs`.
#[utoipa::path(delete, path = "/jobs",
    summary = "Empty your queues and start the counts afresh",
    description = "Purges the work, retry and dead-letter queues on the broker in your settings and zeroes the counts, the chart, the jobs and the outbox. A job a worker holds now still finishes.",
    responses(
        (status = 204, description = "Emptied"),
        (status = 503, description = "The broker is unreachable or not configured", body = model::ErrorBody),
    ))]
pub(super) async fn purge(
    LabState(queues): LabState<QueueLab>,
    CurrentSettings(settings, ..): CurrentSettings<QueueLab>,
    student: Student,
    inspector: Inspector,
) -> Result<StatusCode, ApiError> {
    let pool = queues.pool(&student.id, &settings)?;
    let broker = queues.broker(settings.broker).map_err(unavailable)?;
    broker.purge(&pool.names).await.map_err(unavailable)?;
    pool.reset_ledger();
    inspector.record(&Purged {
        broker: settings.broker.as_str(),
    });
    Ok(StatusCode::NO_CONTENT)
}

/// Map tasks one run may have.
const MAX_SPLITS: u32 = 12;
/// How long one statement on the student's orders may take, and how many
/// rows it may return (a map task reads every line of its range).
const SANDBOX_LIMITS: Limits = Limits {
    time: Duration::from_secs(2),
    max_rows: 200_000,
};

/// Runs `sql` on the student's sandbox with `parameters`; the rows, or an
/// error the student can act on.
async fn sandbox_rows(
    sandboxes: &Sandboxes,
    student: &StudentId,
    sql: &'static str,
    parameters: Vec<serde_json::Value>,
) -> Result<Vec<Vec<SqlValue>>, String> {
    let output = sandboxes
        .run(student, move |db| db.run_with(sql, SANDBOX_LIMITS, &parameters))
        .await
        .map_err(|error| match error {
            SandboxError::Sql(error) => format!(
                "your SQL sandbox's orders cannot be read ({error}); reset the sandbox in the SQL lab to get the shop's tables back"
            ),
            other => other.to_string(),
        })?;
    if output.truncated {
        return Err("a range holds too many order lines to read at once: use more splits".into());
    }
    Ok(output.rows)
}

/// One row's (text, integer) pair, or why it is not one.
fn text_and_integer(row: &[SqlValue]) -> Result<(String, i64), String> {
    match row {
        [SqlValue::Text(text), SqlValue::Integer(number)] => Ok((text.clone(), *number)),
        other => Err(format!(
            "an order line is not (country, cents) but {other:?}: has the sandbox's schema changed?"
        )),
    }
}

/// A reader of the student's order lines, for their workers.
fn line_reader(sandboxes: std::sync::Arc<Sandboxes>, student: StudentId) -> LineReader {
    std::sync::Arc::new(move |first, last| {
        let sandboxes = sandboxes.clone();
        let student = student.clone();
        Box::pin(async move {
            let rows = sandbox_rows(
                &sandboxes,
                &student,
                mapreduce::MAP_LINES,
                vec![first.into(), last.into()],
            )
            .await?;
            rows.iter().map(|row| text_and_integer(row)).collect()
        })
    })
}

/// A map-reduce run started.
#[derive(Serialize)]
struct MapReduceStarted {
    run: u64,
    splits: usize,
    broker: &'static str,
}

impl LabEvent for MapReduceStarted {
    const KIND: &'static str = "queue.mapreduce";
    fn summary(&self) -> String {
        format!(
            "map-reduce run {} started: {} map task(s) published to {}",
            self.run, self.splits, self.broker
        )
    }
}

/// `POST /labs/queue/mapreduce`.
#[utoipa::path(post, path = "/mapreduce",
    summary = "Count revenue per country over your orders with map-reduce",
    description = "Splits the order ids of your SQL sandbox into ranges and publishes one map task per range to your queue. Your workers read each range's order lines and sum them per country; the last one to report merges the sums (the reduce). The run carries the same answer from one SQL statement, to compare. Kill workers while it runs: with `ack: after-work` a killed task is redelivered and mapped again without counting an order twice; with `before-work` it is lost and the run never finishes. A new run replaces the last one.",
    request_body = StartMapReduce,
    responses(
        (status = 202, description = "The tasks are on the queue; follow the run in `GET /labs/queue/status`", body = MapReduceRun,
            headers(("Location" = String, description = "`/labs/queue/status`"))),
        (status = 422, description = "`splits` is out of range, or your sandbox's orders cannot be read", body = model::ErrorBody),
        (status = 429, description = "Too many messages waiting, or published too fast", body = model::ErrorBody),
        (status = 503, description = "The broker is unreachable or not configured", body = model::ErrorBody),
    ))]
pub(super) async fn start_mapreduce(
    LabState(queues): LabState<QueueLab>,
    LabState(sandboxes): LabState<SqlLab>,
    CurrentSettings(settings, ..): CurrentSettings<QueueLab>,
    student: Student,
    inspector: Inspector,
    JsonBody(body): JsonBody<StartMapReduce>,
) -> Result<Response, ApiError> {
    if !(1..=MAX_SPLITS).contains(&body.splits) {
        return Err(ApiError::Unprocessable(format!(
            "splits must be between 1 and {MAX_SPLITS}, not {}",
            body.splits
        )));
    }
    let pool = queues.pool(&student.id, &settings)?;
    room_for(&pool, body.splits)?;
    let broker = queues.broker(settings.broker).map_err(unavailable)?;
    let ids = sandbox_rows(&sandboxes, &student.id, mapreduce::ORDER_IDS, Vec::new())
        .await
        .map_err(ApiError::Unprocessable)?;
    let (first, last) = match ids.first().map(Vec::as_slice) {
        Some([SqlValue::Integer(first), SqlValue::Integer(last)]) => (*first, *last),
        _ => {
            return Err(ApiError::Unprocessable(
                "your SQL sandbox has no orders to count: reset it in the SQL lab".into(),
            ))
        }
    };
    let sql_answer = sandbox_rows(&sandboxes, &student.id, mapreduce::SQL_ANSWER, Vec::new())
        .await
        .map_err(ApiError::Unprocessable)?
        .iter()
        .map(|row| {
            text_and_integer(row).map(|(country, revenue_cents)| CountryRevenue {
                country,
                revenue_cents,
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(ApiError::Unprocessable)?;
    let ranges = mapreduce::ranges(first, last, body.splits);
    queues.publishes.check_n(
        &student.id,
        NonZeroU32::new(ranges.len() as u32).expect("at least one range"),
    )?;
    let run = MapRun::new(
        pool.next_run_id(),
        &ranges,
        line_reader(sandboxes.clone(), student.id.clone()),
        sql_answer,
        pool.now_ms(),
    );
    let (id, tasks) = (run.id, run.tasks());
    pool.start_run(run);
    for task in &tasks {
        let (job, _) = pool.ledger().next_id(&pool.names.tag);
        let message = JobMessage {
            id: job,
            order: u64::from(task.split),
            to: format!("map task {} of run {id}", task.split),
            failures: 0,
            attempt: 1,
            error: None,
            map: Some(*task),
        };
        if let Err(down) = broker.publish(&pool.names, &message, Duration::ZERO).await {
            pool.broker_failed(&down);
            return Err(ApiError::Unavailable(format!(
                "{down}. The run cannot finish without its map tasks: start it again when the broker is back."
            )));
        }
        pool.ledger().published(&message, pool.now_ms());
    }
    inspector.record(&MapReduceStarted {
        run: id,
        splits: tasks.len(),
        broker: settings.broker.as_str(),
    });
    Ok(accepted(pool.map_run().unwrap_or_default()))
}

/// `GET /labs/queue/mapreduce`.
#[utoipa::path(get, path = "/mapreduce",
    summary = "Your latest map-reduce run",
    description = "The map tasks with their ranges, states and deliveries, the reduced revenue per country once every task has reported, and SQL's answer to the same question.",
    responses(
        (status = 200, description = "The run", body = MapReduceRun),
        (status = 404, description = "You have not started a run (or emptied the queue since)", body = model::ErrorBody),
    ))]
pub(super) async fn mapreduce_run(
    LabState(queues): LabState<QueueLab>,
    CurrentSettings(settings, ..): CurrentSettings<QueueLab>,
    student: Student,
) -> Result<Json<MapReduceRun>, ApiError> {
    let pool = queues.pool(&student.id, &settings)?;
    pool.map_run().map(Json).ok_or_else(|| {
        ApiError::NotFound(
            "You have no map-reduce run: POST /labs/queue/mapreduce starts one.".into(),
        )
    })
}
