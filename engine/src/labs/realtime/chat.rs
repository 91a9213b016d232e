//! `GET /labs/realtime/chat?room=<code>`: the class chat, over a WebSocket.
//!
//! Everyone who joins a room with the same code hears what the others say
//! and who comes and goes. The server pings every `heartbeat_secs`, as the
//! feed's socket does. Each connection has a send buffer of
//! `chat_send_buffer` messages; a client that stops reading (the
//! `stop-reading` command stands in for a stalled network) fills it, and
//! the student's `slow_client` policy then either drops the oldest or
//! hangs up on the slow client. Either way the rest of the room goes on.
//!
//! As with the feed's socket, the upgrade's trace ends at the 101 and the
//! frames go into a trace of their own, filed when the socket closes.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use model::labs::realtime::{Backbone, ChatCommand, ChatFrame, ChatQuery, SlowClientPolicy};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::backbone::Relay;
use super::feed::checked_text;
use super::rooms::{checked_code, Outbox, Outgoing, Rooms, Seat, MAX_NAME_CHARS};
use super::websocket::{
    bounded, FramesTrace, Hangup, Heartbeat, MessageBudget, Received, GOING_AWAY, POLICY_VIOLATION,
};
use super::{RealtimeLab, MAX_CONNECTION_TIME};
use crate::clock::Clock;
use crate::error::extract::Query;
use crate::error::ApiError;
use crate::identity::{Student, Visitor};
use crate::inspector::{Inspector, LabEvent};
use crate::labs::{CurrentSettings, LabState, Labs};

/// Frames written before the connection looks at what else is going on.
const WRITE_BATCH: usize = 32;

/// Joining, as the upgrade's trace shows it.
#[derive(Serialize)]
struct Joined<'a> {
    room: &'a str,
    name: &'a str,
    members: usize,
    send_buffer: u32,
    slow_client: SlowClientPolicy,
    heartbeat_secs: u32,
    /// The trace the socket's frames go into, filed when it closes.
    frames_trace: String,
}

impl LabEvent for Joined<'_> {
    const KIND: &'static str = "realtime.chat-join";
    fn summary(&self) -> String {
        format!(
            "upgrading to a WebSocket in room {} as {}, with {} connections there",
            self.room, self.name, self.members
        )
    }
}

/// The name a room knows a visitor by: an account's name, or for a guest
/// `guest-` and eight hex digits that stay the same for that guest.
fn chat_name(visitor: &Visitor, student: &Student) -> String {
    match visitor {
        Visitor::SignedIn(account) if !account.name.trim().is_empty() => {
            account.name.trim().chars().take(MAX_NAME_CHARS).collect()
        }
        _ => {
            let digest = Sha256::digest(student.id.as_str().as_bytes());
            // 32 bits: two guests in a class of 300 share a name about
            // once in 100,000 classes.
            format!(
                "guest-{:02x}{:02x}{:02x}{:02x}",
                digest[0], digest[1], digest[2], digest[3]
            )
        }
    }
}

/// `GET /labs/realtime/chat`.
#[utoipa::path(get, path = "/chat",
    summary = "The class chat: a room of WebSockets, with presence",
    description = "Send a WebSocket upgrade; the answer is `101 Switching Protocols`. The first text frame is a `welcome` ChatFrame (your name, who is in the room, your send buffer and slow-client policy); then `message`, `presence`, `dropped` and `refused` frames. Send ChatCommand frames: `{\"type\":\"say\",\"text\":\"hi\"}` (1 to 280 characters), `{\"type\":\"stop-reading\"}` and `{\"type\":\"start-reading\"}`. The server pings every `heartbeat_secs`, closes a socket whose previous ping went unanswered (1001), one that sends more than 10 frames a second (1008), one whose send buffer overflows under the `disconnect` policy (1008), and every socket after 10 minutes (1001). A student holds at most 4 chat connections; a room holds 500.",
    params(model::labs::realtime::ChatQuery),
    responses(
        (status = 101, description = "Switched to the WebSocket protocol, in the room"),
        (status = 400, description = "The request is not a WebSocket upgrade, or the room code is not one", body = model::ErrorBody),
        (status = 409, description = "The room is full", body = model::ErrorBody),
        (status = 429, description = "You already hold 4 chat connections", body = model::ErrorBody),
    ))]
// An axum handler's arguments are its extractors: each is one thing the
// request must carry, and grouping them would only hide that.
#[allow(clippy::too_many_arguments)]
pub(super) async fn chat(
    State(labs): State<Labs>,
    LabState(realtime): LabState<RealtimeLab>,
    CurrentSettings(settings, ..): CurrentSettings<RealtimeLab>,
    student: Student,
    visitor: Visitor,
    inspector: Inspector,
    Query(query): Query<ChatQuery>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let code = checked_code(&query.room)?;
    let upgrade = upgrade.map_err(|rejection| {
        ApiError::BadRequest(format!(
            "This route speaks WebSocket, and this request is not an upgrade ({rejection}). From a page: new WebSocket(\"ws://<this host>/labs/realtime/chat?room={code}\")."
        ))
    })?;
    let name = chat_name(&visitor, &student);
    let outbox = Outbox::new(settings.chat_send_buffer, settings.slow_client);
    let seat = realtime
        .rooms
        .join(code, &student.id, name, settings.backbone, outbox.clone())?;
    realtime.relay.ready().await;
    let frames = FramesTrace::new(&labs, student.id, "/labs/realtime/chat (frames)");
    let members = seat.members();
    inspector.record(&Joined {
        room: &query.room,
        name: seat.name(),
        members: members.len(),
        send_buffer: settings.chat_send_buffer,
        slow_client: settings.slow_client,
        heartbeat_secs: settings.heartbeat_secs,
        frames_trace: frames.id(),
    });
    let welcome = ChatFrame::Welcome {
        room: query.room,
        you: seat.name().to_string(),
        server: realtime.relay.server().to_string(),
        members,
        send_buffer: settings.chat_send_buffer,
        policy: settings.slow_client,
    };
    let connection = ChatConnection {
        frames,
        rooms: realtime.rooms.clone(),
        relay: realtime.relay.clone(),
        backbone: settings.backbone,
        seat,
        outbox,
        heartbeat: Duration::from_secs(u64::from(settings.heartbeat_secs)),
        clock: labs.clock.clone(),
    };
    Ok(bounded(upgrade).on_upgrade(move |socket| connection.run(socket, welcome)))
}

/// One chat connection.
struct ChatConnection {
    /// The socket's frames, filed for the student when it closes.
    frames: FramesTrace,
    rooms: Arc<Rooms>,
    relay: Arc<Relay>,
    /// How this connection's messages reach other server processes.
    backbone: Backbone,
    /// In the room until dropped.
    seat: Seat,
    outbox: Arc<Outbox>,
    heartbeat: Duration,
    clock: Arc<dyn Clock>,
}

impl ChatConnection {
    async fn run(mut self, mut socket: WebSocket, welcome: ChatFrame) {
        let outcome = self.serve(&mut socket, welcome).await;
        // Out of the room before the trace is filed, so the others hear at once.
        drop(self.seat);
        self.frames.close(&mut socket, outcome).await;
    }

    async fn serve(&mut self, socket: &mut WebSocket, welcome: ChatFrame) -> Result<(), Hangup> {
        self.send(socket, &welcome).await?;
        let closes_at = Instant::now() + MAX_CONNECTION_TIME;
        let mut heartbeat = Heartbeat::every(self.heartbeat);
        let mut budget = MessageBudget::new();
        loop {
            self.write_outbox(socket).await?;
            tokio::select! {
                () = self.outbox.changed() => {}
                incoming = socket.recv() => {
                    match self.frames.received(incoming, &mut heartbeat, &mut budget, "text frames only: send a command as JSON text")? {
                        Received::Left => return Ok(()),
                        Received::Text(text) => self.obey(socket, &text).await?,
                        Received::Nothing => {}
                    }
                }
                ping = heartbeat.due() => {
                    self.frames.send(socket, ping?).await?;
                }
                () = self.rooms.stopping() => {
                    return Err(Hangup(GOING_AWAY, "the server is restarting: reconnect"));
                }
                _ = tokio::time::sleep_until(closes_at) => {
                    return Err(Hangup(GOING_AWAY, "sockets are closed after 10 minutes: reconnect"));
                }
            }
        }
    }

    /// Writes what the room sent while the client reads; hangs up on a
    /// client whose buffer overflowed under the disconnect policy.
    async fn write_outbox(&mut self, socket: &mut WebSocket) -> Result<(), Hangup> {
        // A bounded batch: then the loop hears the client (its pongs, its
        // commands) before writing more.
        for _ in 0..WRITE_BATCH {
            let Some(outgoing) = self.outbox.next() else {
                return Ok(());
            };
            match outgoing {
                Outgoing::Frame(json) => {
                    self.frames
                        .send(socket, Message::Text(json.as_ref().into()))
                        .await?;
                }
                Outgoing::Dropped(count) => {
                    self.send(socket, &ChatFrame::Dropped { count }).await?
                }
                Outgoing::Overflowed => {
                    return Err(Hangup(
                        POLICY_VIOLATION,
                        "your send buffer overflowed: you read more slowly than the room talks",
                    ))
                }
            }
        }
        // More may be waiting: come back to it after a look around.
        self.outbox.wake();
        Ok(())
    }

    /// Carries out one command the client sent.
    async fn obey(&mut self, socket: &mut WebSocket, text: &str) -> Result<(), Hangup> {
        let command = match serde_json::from_str::<ChatCommand>(text) {
            Ok(command) => command,
            Err(error) => {
                let error = format!(
                    "Send a command as JSON, like {{\"type\":\"say\",\"text\":\"hi\"}} ({error})."
                );
                return self.send(socket, &ChatFrame::Refused { error }).await;
            }
        };
        match command {
            ChatCommand::Say { text } => match checked_text(&text) {
                Ok(text) => {
                    let message = self.seat.room().say(ChatFrame::Message {
                        id: 0,
                        from: self.seat.name().to_string(),
                        text,
                        sent_at_ms: self.clock.now_ms(),
                        server: self.relay.server().to_string(),
                        backbone: self.backbone,
                    });
                    let room = self.seat.room().code().to_string();
                    if let Err(error) = self.relay.publish(self.backbone, &room, &message).await {
                        self.send(socket, &ChatFrame::Refused { error }).await?;
                    }
                }
                Err(error) => self.send(socket, &ChatFrame::Refused { error }).await?,
            },
            ChatCommand::StopReading => self.reading(socket, false).await?,
            ChatCommand::StartReading => self.reading(socket, true).await?,
        }
        Ok(())
    }

    /// Stops or starts writing the buffer, and says so before anything
    /// the buffer holds.
    async fn reading(&mut self, socket: &mut WebSocket, reading: bool) -> Result<(), Hangup> {
        self.outbox.set_reading(reading);
        let waiting = u32::try_from(self.outbox.waiting()).unwrap_or(u32::MAX);
        self.send(socket, &ChatFrame::Reading { reading, waiting })
            .await
    }

    /// Sends one frame of the server's own (not from the room's buffer).
    async fn send(&self, socket: &mut WebSocket, frame: &ChatFrame) -> Result<(), Hangup> {
        let json = serde_json::to_string(frame).unwrap_or_default();
        self.frames.send(socket, Message::Text(json.into())).await?;
        Ok(())
    }
}
