//! `GET /labs/realtime/feed/stream`: server-sent events. One response that
//! never ends; each message is an event whose `id` is its number, so a
//! browser that reconnects sends `Last-Event-ID` and gets exactly what it
//! missed, in order.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use model::labs::realtime::{FeedEvent, FeedQuery, Transport};
use serde::Serialize;
use tokio::sync::watch;
use tokio::time::Instant;

use super::feed::{Feed, Feeds, Open};
use super::{RealtimeLab, MAX_CONNECTION_TIME};
use crate::error::extract::Query;
use crate::error::ApiError;
use crate::identity::Student;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::{CurrentSettings, LabState, Labs};

/// How long a browser waits before reconnecting a dropped stream (the
/// `retry:` field of the first event).
const RECONNECT_AFTER: Duration = Duration::from_secs(2);

/// A stream opened, and where it resumes.
#[derive(Serialize)]
struct StreamOpened {
    /// `last-event-id` (a reconnect), `query` (`?after=`) or `start`.
    resumed_from: &'static str,
    after: u64,
    /// Messages sent at once because the client did not have them yet.
    backlog: usize,
    /// Messages the client asked for that the feed no longer keeps.
    missed: u64,
    /// `after` came from a feed that is gone: numbers start again.
    restarted: bool,
    heartbeat_secs: u32,
}

impl LabEvent for StreamOpened {
    const KIND: &'static str = "realtime.stream";
    fn summary(&self) -> String {
        match self.resumed_from {
            _ if self.restarted => format!(
                "resumed after message {}, which this feed never reached: it started again (its log forgot it after a week unused, or the server runs on a new data folder), so all {} kept messages are sent, after a restarted event",
                self.after, self.backlog
            ),
            "last-event-id" => format!(
                "reconnected with Last-Event-ID {}: {} missed messages sent first",
                self.after, self.backlog
            ),
            _ => format!(
                "stream opened after message {}: {} kept messages sent first",
                self.after, self.backlog
            ),
        }
    }
}

/// One event of the stream, as the OpenAPI document describes it (the
/// handler writes it with axum's `Event`).
#[derive(utoipa::ToSchema)]
#[expect(dead_code, reason = "only the document reads it")]
struct FeedStreamEvent {
    /// `missed` for the count of messages the feed no longer keeps;
    /// `restarted` when the client's `Last-Event-ID` came from a feed that
    /// is gone (numbers start again from 1, and everything kept follows);
    /// absent for a message.
    event: Option<String>,
    /// The message's number (absent on `missed` and `restarted`).
    id: Option<String>,
    /// The message as FeedEvent JSON, the number of missed messages, or the
    /// number the client gave.
    data: String,
}

/// `GET /labs/realtime/feed/stream`.
#[utoipa::path(get, path = "/feed/stream",
    summary = "Server-sent events: your feed as it happens",
    description = "A `text/event-stream` that stays open: first the kept messages after `Last-Event-ID` (a reconnect) or `after` (a `missed` event first when some are no longer kept; a `restarted` event first, then everything kept, when the number is past this feed's newest because the feed started again), then each new message as it is published. A comment line is sent every `heartbeat_secs` while nothing happens. The server ends a stream after 10 minutes; browsers reconnect by themselves and resume. Counts as one of your 8 open connections.",
    params(
        model::labs::realtime::FeedQuery,
        ("Last-Event-ID" = Option<u64>, Header, description = "The last message number the client had; a browser sends it when it reconnects"),
    ),
    responses(
        (status = 200, description = "The stream", content_type = "text/event-stream", body = FeedStreamEvent),
        (status = 400, description = "`Last-Event-ID` is not a message number", body = model::ErrorBody),
        (status = 429, description = "You already hold 8 streams, sockets and waiting polls", body = model::ErrorBody),
        (status = 503, description = "The feed's log on the server's disk cannot be used just now", body = model::ErrorBody),
    ))]
pub(super) async fn stream(
    State(labs): State<Labs>,
    LabState(realtime): LabState<RealtimeLab>,
    CurrentSettings(settings, ..): CurrentSettings<RealtimeLab>,
    student: Student,
    inspector: Inspector,
    headers: HeaderMap,
    Query(query): Query<FeedQuery>,
) -> Result<Response, ApiError> {
    let feeds = &realtime.feeds;
    let (resumed_from, after) = match headers.get("last-event-id") {
        Some(value) => (
            "last-event-id",
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    ApiError::BadRequest(
                        "Last-Event-ID must be the number of the last message the client had."
                            .into(),
                    )
                })?,
        ),
        None if query.after > 0 => ("query", query.after),
        None => ("start", 0),
    };
    let feed = feeds.of(&student.id, labs.clock.now_ms()).await?;
    let open = feeds.open(&feed, Transport::Sse)?;
    let newest = feed.watch();
    let page = feed.since(after);
    inspector.record(&StreamOpened {
        resumed_from,
        after,
        backlog: page.events.len(),
        missed: page.missed,
        restarted: page.restarted,
        heartbeat_secs: settings.heartbeat_secs,
    });
    let streaming = Streaming {
        feeds: feeds.clone(),
        feed,
        newest,
        after,
        pending: page.events.into(),
        missed: page.missed,
        restarted: page.restarted.then_some(after),
        heartbeat: Duration::from_secs(u64::from(settings.heartbeat_secs)),
        closes_at: Instant::now() + MAX_CONNECTION_TIME,
        greeted: false,
        _open: open,
    };
    let mut response = Sse::new(events(streaming)).into_response();
    // Proxies such as nginx would otherwise buffer the stream.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// One open stream's state.
struct Streaming {
    feeds: Arc<Feeds>,
    feed: Arc<Feed>,
    newest: watch::Receiver<u64>,
    /// The last message number sent.
    after: u64,
    pending: VecDeque<FeedEvent>,
    missed: u64,
    /// The number the client gave, when the feed started again since.
    restarted: Option<u64>,
    heartbeat: Duration,
    closes_at: Instant,
    greeted: bool,
    /// Counted as open until the stream is dropped (the client went away).
    _open: Open,
}

fn events(streaming: Streaming) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(streaming, |mut s| async move {
        let (event, bytes, messages) = s.next_event().await?;
        s.feed.count_sent(Transport::Sse, messages, bytes);
        Some((Ok(event), s))
    })
}

impl Streaming {
    /// The next event to send, its size on the wire and how many messages
    /// it carries; `None` ends the stream.
    async fn next_event(&mut self) -> Option<(Event, usize, u64)> {
        if !self.greeted {
            self.greeted = true;
            let retry = Event::default().retry(RECONNECT_AFTER);
            let size = format!("retry: {}\n\n", RECONNECT_AFTER.as_millis()).len();
            if let Some(given) = self.restarted {
                let data = given.to_string();
                let size = size + "event: restarted\ndata: \n".len() + data.len();
                return Some((retry.event("restarted").data(data), size, 0));
            }
            if self.missed > 0 {
                let data = self.missed.to_string();
                let size = size + "event: missed\ndata: \n".len() + data.len();
                return Some((retry.event("missed").data(data), size, 0));
            }
            return Some((retry, size, 0));
        }
        loop {
            if let Some(message) = self.pending.pop_front() {
                self.after = message.id;
                let data = serde_json::to_string(&message).unwrap_or_default();
                let id = message.id.to_string();
                let size = "id: \ndata: \n\n".len() + id.len() + data.len();
                return Some((Event::default().id(id).data(data), size, 1));
            }
            let now = Instant::now();
            if now >= self.closes_at {
                return None;
            }
            let wait = self.heartbeat.min(self.closes_at - now);
            let news = tokio::select! {
                news = tokio::time::timeout(wait, self.newest.changed()) => news,
                () = self.feeds.stopping() => return None,
            };
            match news {
                Ok(Ok(())) => {
                    self.newest.borrow_and_update();
                    self.pending = self.feed.since(self.after).events.into();
                }
                Ok(Err(_)) => return None,
                Err(_) if Instant::now() >= self.closes_at => return None,
                Err(_) => {
                    return Some((
                        Event::default().comment("heartbeat"),
                        ": heartbeat\n\n".len(),
                        0,
                    ))
                }
            }
        }
    }
}
