//! The request-per-answer routes: publish, short poll, long poll, the
//! costs so far, and a reset.

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use model::labs::realtime::{FeedEvent, FeedPage, FeedQuery, FeedStats, Publish, Transport};
use serde::Serialize;

use super::feed::{checked_text, Feed};
use super::RealtimeLab;
use crate::error::extract::{Json as JsonBody, Query};
use crate::error::ApiError;
use crate::identity::Student;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::{CurrentSettings, LabState, Labs};

/// A message went into the feed.
#[derive(Serialize)]
pub(super) struct Published {
    pub(super) id: u64,
    pub(super) chars: usize,
    /// `http` or `websocket`.
    pub(super) via: &'static str,
}

impl LabEvent for Published {
    const KIND: &'static str = "realtime.publish";
    fn summary(&self) -> String {
        format!("message {} published (over {})", self.id, self.via)
    }
}

/// A poll's answer.
#[derive(Serialize)]
struct Polled {
    transport: &'static str,
    after: u64,
    delivered: usize,
    missed: u64,
    /// How long a long poll held the request before answering.
    waited_ms: u64,
}

impl LabEvent for Polled {
    const KIND: &'static str = "realtime.poll";
    fn summary(&self) -> String {
        match (self.delivered, self.transport) {
            (0, "long-poll") => format!("no news within {} ms: answered empty", self.waited_ms),
            (0, _) => "no news: answered empty (the request was wasted)".into(),
            (n, "long-poll") => format!("held {} ms, then sent {n} messages", self.waited_ms),
            (n, _) => format!("sent {n} messages"),
        }
    }
}

/// `POST /labs/realtime/feed`.
#[utoipa::path(post, path = "/feed",
    summary = "Publish a message to your feed",
    description = "Every open stream, socket and waiting long poll of yours gets it at once; short polls see it on their next request.",
    request_body = model::labs::realtime::Publish,
    responses(
        (status = 201, description = "The message, numbered", body = model::labs::realtime::FeedEvent),
        (status = 422, description = "The text is empty or over 280 characters", body = model::ErrorBody),
        (status = 503, description = "The feed's log on the server's disk cannot be used just now", body = model::ErrorBody),
    ))]
pub(super) async fn publish(
    State(labs): State<Labs>,
    LabState(realtime): LabState<RealtimeLab>,
    student: Student,
    inspector: Inspector,
    JsonBody(body): JsonBody<Publish>,
) -> Result<(StatusCode, Json<FeedEvent>), ApiError> {
    let feeds = &realtime.feeds;
    let text = checked_text(&body.text).map_err(ApiError::Unprocessable)?;
    let now_ms = labs.clock.now_ms();
    let event = feeds
        .of(&student.id, now_ms)
        .await?
        .publish(text, now_ms)
        .await?;
    inspector.record(&Published {
        id: event.id,
        chars: event.text.chars().count(),
        via: "http",
    });
    Ok((StatusCode::CREATED, Json(event)))
}

/// `GET /labs/realtime/feed`.
#[utoipa::path(get, path = "/feed",
    summary = "Short poll: the messages after a number, at once",
    description = "Answers at once, with nothing when there is no news: a client polls again on a timer. Keep `last_id` for the next poll's `after`.",
    params(model::labs::realtime::FeedQuery),
    responses(
        (status = 200, description = "The messages after `after`", body = model::labs::realtime::FeedPage),
        (status = 503, description = "The feed's log on the server's disk cannot be used just now", body = model::ErrorBody),
    ))]
pub(super) async fn poll(
    State(labs): State<Labs>,
    LabState(realtime): LabState<RealtimeLab>,
    student: Student,
    inspector: Inspector,
    Query(query): Query<FeedQuery>,
) -> Result<Response, ApiError> {
    let feeds = &realtime.feeds;
    let feed = feeds.of(&student.id, labs.clock.now_ms()).await?;
    Ok(answer(
        &feed,
        Transport::ShortPoll,
        query.after,
        Duration::ZERO,
        &inspector,
    ))
}

/// `GET /labs/realtime/feed/wait`.
#[utoipa::path(get, path = "/feed/wait",
    summary = "Long poll: the messages after a number, as soon as there are any",
    description = "Answers at once when there is news; otherwise holds the request until a message is published or the `long_poll_timeout_secs` setting runs out, then answers with nothing. A waiting poll counts as one of your 8 open connections.",
    params(model::labs::realtime::FeedQuery),
    responses(
        (status = 200, description = "The messages after `after` (none when the wait ran out)", body = model::labs::realtime::FeedPage),
        (status = 429, description = "You already hold 8 streams, sockets and waiting polls", body = model::ErrorBody),
        (status = 503, description = "The server holds as many open connections as it allows, or the feed's log on its disk cannot be used just now", body = model::ErrorBody),
    ))]
pub(super) async fn wait(
    State(labs): State<Labs>,
    LabState(realtime): LabState<RealtimeLab>,
    CurrentSettings(settings, ..): CurrentSettings<RealtimeLab>,
    student: Student,
    inspector: Inspector,
    Query(query): Query<FeedQuery>,
) -> Result<Response, ApiError> {
    let feeds = &realtime.feeds;
    let feed = feeds.of(&student.id, labs.clock.now_ms()).await?;
    let _open = feeds.open(&feed, Transport::LongPoll)?;
    let started = Instant::now();
    // Subscribed before looking, so a message published in between still wakes it.
    let mut newest = feed.watch();
    if *newest.borrow_and_update() <= query.after {
        let limit = Duration::from_secs(u64::from(settings.long_poll_timeout_secs));
        let news = async {
            while newest.changed().await.is_ok() {
                if *newest.borrow_and_update() > query.after {
                    return;
                }
            }
        };
        tokio::select! {
            _ = tokio::time::timeout(limit, news) => {}
            () = feeds.stopping() => {}
        }
    }
    Ok(answer(
        &feed,
        Transport::LongPoll,
        query.after,
        started.elapsed(),
        &inspector,
    ))
}

/// A poll's answer, counted and traced.
fn answer(
    feed: &Feed,
    transport: Transport,
    after: u64,
    waited: Duration,
    inspector: &Inspector,
) -> Response {
    let page: FeedPage = feed.since(after);
    let body = serde_json::to_string(&page).unwrap_or_default();
    feed.count_poll(transport, &page, body.len());
    inspector.record(&Polled {
        transport: transport.as_str(),
        after,
        delivered: page.events.len(),
        missed: page.missed,
        waited_ms: waited.as_millis() as u64,
    });
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// `GET /labs/realtime/feed/stats`.
#[utoipa::path(get, path = "/feed/stats",
    summary = "What each transport has cost so far",
    description = "Per transport: requests made, empty answers, messages delivered, body bytes sent, and connections open now. Reading the stats is not counted.",
    responses(
        (status = 200, description = "The feed's costs", body = model::labs::realtime::FeedStats),
        (status = 503, description = "The feed's log on the server's disk cannot be used just now", body = model::ErrorBody),
    ))]
pub(super) async fn stats(
    State(labs): State<Labs>,
    LabState(realtime): LabState<RealtimeLab>,
    student: Student,
) -> Result<Json<FeedStats>, ApiError> {
    let feeds = &realtime.feeds;
    Ok(Json(
        feeds.of(&student.id, labs.clock.now_ms()).await?.stats(),
    ))
}

/// `DELETE /labs/realtime/feed`.
#[utoipa::path(delete, path = "/feed",
    summary = "Empty your feed and zero its costs",
    description = "Open streams and sockets stay open. Message numbers go on from where they were, so no client is sent old news as new.",
    responses(
        (status = 204, description = "The feed is empty"),
        (status = 503, description = "The feed's log on the server's disk cannot be used just now", body = model::ErrorBody),
    ))]
pub(super) async fn reset(
    State(labs): State<Labs>,
    LabState(realtime): LabState<RealtimeLab>,
    student: Student,
) -> Result<StatusCode, ApiError> {
    let feeds = &realtime.feeds;
    feeds
        .of(&student.id, labs.clock.now_ms())
        .await?
        .reset()
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
