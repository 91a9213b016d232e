//! The queue lab's routes: queue jobs, watch them, kill workers, inspect
//! and replay the dead-letter queue, start afresh.

use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use model::labs::queue::{DeadLetter, EnqueueJobs, Enqueued, KillWorker, QueueStatus, Replayed};
use serde::Serialize;

use super::broker::BrokerDown;
use super::job::JobMessage;
use super::pool::Pool;
use super::QueueLab;
use crate::error::extract::{Json as JsonBody, Path, Query};
use crate::error::ApiError;
use crate::identity::Student;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::{CurrentSettings, LabState};

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
    let waiting = pool.ledger().counts().waiting;
    if waiting + u64::from(messages) > MAX_WAITING {
        return Err(ApiError::TooManyRequests {
            message: format!(
                "You have {waiting} messages waiting and may have {MAX_WAITING}: add workers, or wait for them to catch up."
            ),
            retry_after_secs: 5,
        });
    }
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
    let mut response = (StatusCode::ACCEPTED, Json(answer)).into_response();
    response.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_static("/labs/queue/status"),
    );
    Ok(response)
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
