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

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use model::labs::realtime::{FeedQuery, SocketRefusal, Transport};
use serde::Serialize;
use tokio::sync::watch;
use tokio::time::Instant;

use super::feed::{checked_text, Feed, Feeds, Open};
use super::websocket::{
    bounded, FramesTrace, Hangup, Heartbeat, MessageBudget, Received, GOING_AWAY,
};
use super::{RealtimeLab, MAX_CONNECTION_TIME};
use crate::clock::Clock;
use crate::error::extract::Query;
use crate::error::ApiError;
use crate::identity::Student;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::{CurrentSettings, LabState, Labs};

/// The upgrade, as the trace shows it (the frames come after the trace ends).
#[derive(Serialize)]
struct Upgraded {
    after: u64,
    backlog: usize,
    heartbeat_secs: u32,
    /// The trace the socket's frames go into, filed when it closes.
    frames_trace: String,
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
        (status = 503, description = "The feed's log on the server's disk cannot be used just now", body = model::ErrorBody),
    ))]
pub(super) async fn socket(
    State(labs): State<Labs>,
    LabState(realtime): LabState<RealtimeLab>,
    CurrentSettings(settings, ..): CurrentSettings<RealtimeLab>,
    student: Student,
    inspector: Inspector,
    Query(query): Query<FeedQuery>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let feeds = &realtime.feeds;
    let upgrade = upgrade.map_err(|rejection| {
        ApiError::BadRequest(format!(
            "This route speaks WebSocket, and this request is not an upgrade ({rejection}). From a page: new WebSocket(\"ws://<this host>/labs/realtime/feed/socket\")."
        ))
    })?;
    let feed = feeds.of(&student.id, labs.clock.now_ms()).await?;
    let open = feeds.open(&feed, Transport::WebSocket)?;
    let newest = feed.watch();
    let frames = FramesTrace::new(&labs, student.id, "/labs/realtime/feed/socket (frames)");
    inspector.record(&Upgraded {
        after: query.after,
        backlog: feed.since(query.after).events.len(),
        heartbeat_secs: settings.heartbeat_secs,
        frames_trace: frames.id(),
    });
    let connection = Connection {
        frames,
        feeds: feeds.clone(),
        feed,
        newest,
        after: query.after,
        heartbeat: Duration::from_secs(u64::from(settings.heartbeat_secs)),
        clock: labs.clock.clone(),
        _open: open,
    };
    Ok(bounded(upgrade).on_upgrade(move |socket| connection.run(socket)))
}

/// One upgraded connection.
struct Connection {
    /// The socket's frames, filed for the student when it closes.
    frames: FramesTrace,
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

impl Connection {
    async fn run(mut self, mut socket: WebSocket) {
        let outcome = self.serve(&mut socket).await;
        self.frames.close(&mut socket, outcome).await;
    }

    /// Serves the socket until the client leaves (`Ok`) or the server
    /// hangs up (`Err`, with the close frame's code and reason).
    async fn serve(&mut self, socket: &mut WebSocket) -> Result<(), Hangup> {
        self.newest.borrow_and_update();
        self.send_news(socket).await?;
        let closes_at = Instant::now() + MAX_CONNECTION_TIME;
        let mut heartbeat = Heartbeat::every(self.heartbeat);
        let mut budget = MessageBudget::new();
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
                    match self.frames.received(incoming, &mut heartbeat, &mut budget, "text frames only: send a message as text")? {
                        Received::Left => return Ok(()),
                        Received::Text(text) => self.publish(socket, &text).await?,
                        Received::Nothing => {}
                    }
                }
                ping = heartbeat.due() => {
                    self.send(socket, ping?, 0).await?;
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
        let error = match checked_text(text) {
            Ok(text) => match self.feed.publish(text, self.clock.now_ms()).await {
                Ok(_) => return Ok(()),
                Err(refused) => refused.to_string(),
            },
            Err(error) => error,
        };
        let refusal = serde_json::to_string(&SocketRefusal { error }).unwrap_or_default();
        self.send(socket, Message::Text(refusal.into()), 0).await
    }

    /// Sends one frame and counts it against the WebSocket's costs.
    async fn send(
        &self,
        socket: &mut WebSocket,
        message: Message,
        messages: u64,
    ) -> Result<(), Hangup> {
        let bytes = self.frames.send(socket, message).await?;
        self.feed.count_sent(Transport::WebSocket, messages, bytes);
        Ok(())
    }
}
