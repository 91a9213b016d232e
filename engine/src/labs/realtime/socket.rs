//! `GET /labs/realtime/feed/socket`: the feed over a WebSocket. The request
//! is upgraded (`101 Switching Protocols`); from then on both sides send
//! frames on the same TCP connection: the server a text frame per message,
//! the client a text frame to publish one. The server pings every
//! `heartbeat_secs` and hangs up on a client that did not answer the
//! previous ping, which is how a server notices a peer that vanished
//! without closing.
//!
//! The upgrade request's trace ends at the 101. The frames after it go into
//! a trace of their own, filed for the student when the socket closes; the
//! upgrade's `realtime.upgrade` event names it (`frames_trace`).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use model::labs::realtime::{FeedQuery, SocketRefusal, Transport};
use serde::Serialize;
use tokio::sync::watch;
use tokio::time::Instant;

use super::feed::{checked_text, Feed, Feeds, Open};
use super::{RealtimeLab, MAX_CONNECTION_TIME};
use crate::clock::Clock;
use crate::error::extract::Query;
use crate::error::ApiError;
use crate::identity::Student;
use crate::inspector::{Inspector, LabEvent, TraceId, TraceStore};
use crate::labs::{CurrentSettings, LabState, Labs};
use crate::students::StudentId;

/// Largest frame or message a client may send, in bytes.
const MAX_INCOMING_BYTES: usize = 4 * 1024;
/// Messages one socket may publish per second; more closes it (1008).
const MAX_PUBLISHES_PER_SECOND: u32 = 10;

/// WebSocket close codes (RFC 6455, section 7.4.1).
const GOING_AWAY: u16 = 1001;
const UNSUPPORTED_DATA: u16 = 1003;
const POLICY_VIOLATION: u16 = 1008;

/// The upgrade, as the trace shows it (the frames come after the trace ends).
#[derive(Serialize)]
struct Upgraded {
    after: u64,
    backlog: usize,
    heartbeat_secs: u32,
    /// The trace the socket's frames go into, filed when it closes.
    frames_trace: String,
}

/// One frame on the socket, as its own trace shows it.
#[derive(Serialize)]
struct Frame<'a> {
    /// `sent` (server to browser) or `received`.
    direction: &'static str,
    /// `text`, `binary`, `ping`, `pong` or `close`.
    opcode: &'static str,
    /// Payload bytes.
    bytes: usize,
    /// A text frame's text, or a close frame's code and reason.
    text: Option<&'a str>,
}

impl LabEvent for Frame<'_> {
    const KIND: &'static str = "websocket.frame";
    fn summary(&self) -> String {
        format!(
            "{} a {} frame ({} bytes of payload)",
            self.direction, self.opcode, self.bytes
        )
    }
}

/// A frame's opcode name and payload as the trace shows them.
fn described(message: &Message) -> (&'static str, Option<String>) {
    match message {
        Message::Text(text) => ("text", Some(text.to_string())),
        Message::Binary(_) => ("binary", None),
        Message::Ping(_) => ("ping", None),
        Message::Pong(_) => ("pong", None),
        Message::Close(frame) => (
            "close",
            frame.as_ref().map(|f| format!("{} {}", f.code, f.reason)),
        ),
    }
}

impl LabEvent for Upgraded {
    const KIND: &'static str = "realtime.upgrade";
    fn summary(&self) -> String {
        format!(
            "upgrading to a WebSocket; {} kept messages will be sent first",
            self.backlog
        )
    }
}

/// `GET /labs/realtime/feed/socket`.
#[utoipa::path(get, path = "/feed/socket",
    summary = "A WebSocket: your feed as text frames, and publishing by sending one",
    description = "Send a WebSocket upgrade (`Connection: Upgrade`, `Upgrade: websocket`, `Sec-WebSocket-Key`, `Sec-WebSocket-Version: 13`); the answer is `101 Switching Protocols`. Then each message arrives as a text frame holding a FeedEvent's JSON, first the kept ones after `after`. A text frame you send (1 to 280 characters) is published to the feed; a refused one is answered with a SocketRefusal frame. The server pings every `heartbeat_secs`, closes a socket whose previous ping went unanswered, closes one that publishes more than 10 messages a second (1008), and closes every socket after 10 minutes (1001). Counts as one of your 8 open connections.",
    params(model::labs::realtime::FeedQuery),
    responses(
        (status = 101, description = "Switched to the WebSocket protocol"),
        (status = 400, description = "The request is not a WebSocket upgrade", body = model::ErrorBody),
        (status = 429, description = "You already hold 8 streams, sockets and waiting polls", body = model::ErrorBody),
    ))]
pub(super) async fn socket(
    State(labs): State<Labs>,
    LabState(feeds): LabState<RealtimeLab>,
    CurrentSettings(settings, ..): CurrentSettings<RealtimeLab>,
    student: Student,
    inspector: Inspector,
    Query(query): Query<FeedQuery>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let upgrade = upgrade.map_err(|rejection| {
        ApiError::BadRequest(format!(
            "This route speaks WebSocket, and this request is not an upgrade ({rejection}). From a page: new WebSocket(\"ws://<this host>/labs/realtime/feed/socket\")."
        ))
    })?;
    let feed = feeds.of(&student.id, labs.clock.now_ms());
    let open = feeds.open(&feed, Transport::WebSocket)?;
    let newest = feed.watch();
    let frames = Inspector::new(TraceId::random());
    inspector.record(&Upgraded {
        after: query.after,
        backlog: feed.since(query.after).events.len(),
        heartbeat_secs: settings.heartbeat_secs,
        frames_trace: frames.trace_id().to_string(),
    });
    let connection = Connection {
        frames,
        student: student.id,
        traces: labs.recorder.traces.clone(),
        opened_at_ms: labs.clock.now_ms(),
        feeds: feeds.clone(),
        feed,
        newest,
        after: query.after,
        heartbeat: Duration::from_secs(u64::from(settings.heartbeat_secs)),
        clock: labs.clock.clone(),
        _open: open,
    };
    Ok(upgrade
        .max_message_size(MAX_INCOMING_BYTES)
        .max_frame_size(MAX_INCOMING_BYTES)
        .on_upgrade(move |socket| connection.run(socket)))
}

/// One upgraded connection.
struct Connection {
    /// Records the frames; filed for `student` in `traces` on close.
    frames: Inspector,
    student: StudentId,
    traces: Arc<TraceStore>,
    opened_at_ms: i64,
    feeds: Arc<Feeds>,
    feed: Arc<Feed>,
    newest: watch::Receiver<u64>,
    /// The last message number sent.
    after: u64,
    heartbeat: Duration,
    clock: Arc<dyn Clock>,
    /// Counted as open until the socket closes.
    _open: Open,
}

/// Why the server ended a socket.
struct Hangup(u16, &'static str);

impl Connection {
    async fn run(mut self, mut socket: WebSocket) {
        let hangup = self.serve(&mut socket).await;
        if let Err(Hangup(code, reason)) = hangup {
            let close = CloseFrame {
                code,
                reason: reason.into(),
            };
            let _ = self.send(&mut socket, Message::Close(Some(close)), 0).await;
        }
        let trace = self.frames.finish(
            "GET",
            "/labs/realtime/feed/socket (frames)".into(),
            101,
            u64::try_from(self.opened_at_ms).unwrap_or_default(),
        );
        self.traces.insert(&self.student, trace);
    }

    /// Puts a frame in the socket's trace.
    fn trace_frame(&self, direction: &'static str, message: &Message) {
        let (opcode, text) = described(message);
        self.frames.record(&Frame {
            direction,
            opcode,
            bytes: message.clone().into_data().len(),
            text: text.as_deref(),
        });
    }

    /// Serves the socket until the client leaves (`Ok`) or the server
    /// hangs up (`Err`, with the close frame's code and reason).
    async fn serve(&mut self, socket: &mut WebSocket) -> Result<(), Hangup> {
        self.newest.borrow_and_update();
        self.send_news(socket).await?;
        let closes_at = Instant::now() + MAX_CONNECTION_TIME;
        let mut ping = tokio::time::interval_at(Instant::now() + self.heartbeat, self.heartbeat);
        let mut ping_unanswered = false;
        let mut publishes = PublishBudget::new();
        loop {
            tokio::select! {
                changed = self.newest.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    self.newest.borrow_and_update();
                    self.send_news(socket).await?;
                }
                incoming = socket.recv() => {
                    if let Some(Ok(message)) = &incoming {
                        self.trace_frame("received", message);
                    }
                    match incoming {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Ok(()),
                    Some(Ok(Message::Pong(_))) => ping_unanswered = false,
                    // The library answers pings by itself.
                    Some(Ok(Message::Ping(_))) => {}
                    Some(Ok(Message::Binary(_))) => {
                        return Err(Hangup(UNSUPPORTED_DATA, "text frames only: send a message as text"));
                    }
                    Some(Ok(Message::Text(text))) => {
                        if !publishes.take(Instant::now()) {
                            return Err(Hangup(POLICY_VIOLATION, "more than 10 messages a second"));
                        }
                        self.publish(socket, text.as_str()).await?;
                    }
                }},
                _ = ping.tick() => {
                    if ping_unanswered {
                        return Err(Hangup(GOING_AWAY, "no answer to the last ping"));
                    }
                    ping_unanswered = true;
                    self.send(socket, Message::Ping(Default::default()), 0).await?;
                }
                () = self.feeds.stopping() => {
                    return Err(Hangup(GOING_AWAY, "the server is restarting: reconnect"));
                }
                _ = tokio::time::sleep_until(closes_at) => {
                    return Err(Hangup(GOING_AWAY, "sockets are closed after 10 minutes: reconnect"));
                }
            }
        }
    }

    /// Sends every message after the last one sent.
    async fn send_news(&mut self, socket: &mut WebSocket) -> Result<(), Hangup> {
        for message in self.feed.since(self.after).events {
            self.after = message.id;
            let json = serde_json::to_string(&message).unwrap_or_default();
            self.send(socket, Message::Text(json.into()), 1).await?;
        }
        Ok(())
    }

    /// Publishes a message the client sent, or tells it why not.
    async fn publish(&mut self, socket: &mut WebSocket, text: &str) -> Result<(), Hangup> {
        match checked_text(text) {
            Ok(text) => {
                self.feed.publish(text, self.clock.now_ms());
                Ok(())
            }
            Err(error) => {
                let refusal = serde_json::to_string(&SocketRefusal { error }).unwrap_or_default();
                self.send(socket, Message::Text(refusal.into()), 0).await
            }
        }
    }

    /// Sends one frame and counts it; a failed send means the client is gone.
    async fn send(
        &self,
        socket: &mut WebSocket,
        message: Message,
        messages: u64,
    ) -> Result<(), Hangup> {
        let bytes = frame_size(message.clone().into_data().len());
        self.trace_frame("sent", &message);
        socket
            .send(message)
            .await
            .map_err(|_| Hangup(GOING_AWAY, "the client stopped reading"))?;
        self.feed.count_sent(Transport::WebSocket, messages, bytes);
        Ok(())
    }
}

/// A server's (unmasked) frame's size on the wire: a 2-byte header, plus 2
/// or 8 bytes of length for payloads of 126 bytes and more.
fn frame_size(payload: usize) -> usize {
    let header = match payload {
        0..=125 => 2,
        126..=65_535 => 4,
        _ => 10,
    };
    header + payload
}

/// At most [`MAX_PUBLISHES_PER_SECOND`] publishes in any one-second window.
struct PublishBudget {
    window_started: Instant,
    used: u32,
}

impl PublishBudget {
    fn new() -> Self {
        Self {
            window_started: Instant::now(),
            used: 0,
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        if now.duration_since(self.window_started) >= Duration::from_secs(1) {
            self.window_started = now;
            self.used = 0;
        }
        self.used += 1;
        self.used <= MAX_PUBLISHES_PER_SECOND
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_sizes_follow_rfc_6455() {
        assert_eq!(frame_size(0), 2);
        assert_eq!(frame_size(125), 127);
        assert_eq!(frame_size(126), 130);
        assert_eq!(frame_size(70_000), 70_010);
    }

    #[test]
    fn a_socket_may_publish_ten_messages_in_a_second() {
        let start = Instant::now();
        let mut budget = PublishBudget {
            window_started: start,
            used: 0,
        };
        assert!((0..10).all(|_| budget.take(start)));
        assert!(!budget.take(start + Duration::from_millis(999)));
        assert!(budget.take(start + Duration::from_secs(1)));
    }
}
