//! What the lab's two sockets (the feed's and the chat's) share: frames
//! recorded into a trace of their own, filed for the student when the
//! socket closes; the ping/pong heartbeat; a budget of messages a second;
//! and the close codes.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use serde::Serialize;
use tokio::time::{Instant, Interval};

use crate::inspector::{Inspector, LabEvent, TraceId, TraceStore};
use crate::labs::Labs;
use crate::students::StudentId;

/// Largest frame or message a client may send, in bytes.
pub(super) const MAX_INCOMING_BYTES: usize = 4 * 1024;
/// Each socket's read buffer: room for the largest frame a client may
/// send. The library's default, 128 KiB, is allocated for every socket
/// when it opens; with it, 1,000 idle chat sockets held about 174 MiB
/// (BENCHMARKS.md, "Real-time delivery").
const READ_BUFFER_BYTES: usize = 2 * MAX_INCOMING_BYTES;

/// An upgrade with the lab's bounds on what a client may send.
pub(super) fn bounded(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(MAX_INCOMING_BYTES)
        .max_frame_size(MAX_INCOMING_BYTES)
}

/// Messages one socket may send per second; more closes it (1008).
pub(super) const MAX_MESSAGES_PER_SECOND: u32 = 10;
/// A frame the client's connection has not taken in this long means the
/// client stopped reading (its network stalled, or it vanished): the
/// server hangs up rather than wait for TCP to give up, minutes later.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// WebSocket close codes (RFC 6455, section 7.4.1).
pub(super) const GOING_AWAY: u16 = 1001;
const UNSUPPORTED_DATA: u16 = 1003;
pub(super) const POLICY_VIOLATION: u16 = 1008;

/// Why the server ended a socket: the close frame's code and reason.
pub(super) struct Hangup(pub(super) u16, pub(super) &'static str);

/// One frame on a socket, as its trace shows it.
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

/// A socket's frames, recorded as they pass and filed as one trace for
/// the student when the socket closes.
pub(super) struct FramesTrace {
    inspector: Inspector,
    student: StudentId,
    traces: Arc<TraceStore>,
    opened_at_ms: i64,
    /// The trace's path, e.g. `/labs/realtime/chat (frames)`.
    path: &'static str,
}

impl FramesTrace {
    pub(super) fn new(labs: &Labs, student: StudentId, path: &'static str) -> Self {
        Self {
            inspector: Inspector::new(TraceId::random()),
            student,
            traces: labs.recorder.traces.clone(),
            opened_at_ms: labs.clock.now_ms(),
            path,
        }
    }

    /// The id the trace will be filed under, for the upgrade's trace to name.
    pub(super) fn id(&self) -> String {
        self.inspector.trace_id().to_string()
    }

    /// Records one frame.
    pub(super) fn frame(&self, direction: &'static str, message: &Message) {
        let (opcode, text) = described(message);
        self.inspector.record(&Frame {
            direction,
            opcode,
            bytes: message.clone().into_data().len(),
            text: text.as_deref(),
        });
    }

    /// Sends one frame and records it; returns its size on the wire. A
    /// failed send means the client is gone.
    pub(super) async fn send(
        &self,
        socket: &mut WebSocket,
        message: Message,
    ) -> Result<usize, Hangup> {
        let bytes = frame_size(message.clone().into_data().len());
        self.frame("sent", &message);
        match tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await {
            Ok(Ok(())) => Ok(bytes),
            Ok(Err(_)) => Err(Hangup(GOING_AWAY, "the client went away")),
            Err(_) => Err(Hangup(
                POLICY_VIOLATION,
                "the client took nothing for 10 seconds: it stopped reading",
            )),
        }
    }

    /// Ends the socket: a close frame if the server is the one hanging up,
    /// then the trace, filed for the student.
    pub(super) async fn close(self, socket: &mut WebSocket, outcome: Result<(), Hangup>) {
        if let Err(Hangup(code, reason)) = outcome {
            let close = CloseFrame {
                code,
                reason: reason.into(),
            };
            let _ = self.send(socket, Message::Close(Some(close))).await;
        }
        let trace = self.inspector.finish(
            "GET",
            self.path.into(),
            101,
            u64::try_from(self.opened_at_ms).unwrap_or_default(),
        );
        self.traces.insert(&self.student, trace);
    }
}

/// What a frame the client sent leaves the server to do.
pub(super) enum Received {
    /// The client closed the socket, or its connection broke.
    Left,
    /// A text frame, within the socket's budget.
    Text(String),
    /// Nothing more (a pong, a ping the library answered).
    Nothing,
}

impl FramesTrace {
    /// Records what `socket.recv()` gave and sorts it out: pongs answer the
    /// heartbeat, text counts against the budget, binary hangs up with
    /// `binary_refusal`.
    pub(super) fn received(
        &self,
        incoming: Option<Result<Message, axum::Error>>,
        heartbeat: &mut Heartbeat,
        budget: &mut MessageBudget,
        binary_refusal: &'static str,
    ) -> Result<Received, Hangup> {
        if let Some(Ok(message)) = &incoming {
            self.frame("received", message);
        }
        match incoming {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => Ok(Received::Left),
            Some(Ok(Message::Pong(_))) => {
                heartbeat.pong();
                Ok(Received::Nothing)
            }
            // The library answers pings by itself.
            Some(Ok(Message::Ping(_))) => Ok(Received::Nothing),
            Some(Ok(Message::Binary(_))) => Err(Hangup(UNSUPPORTED_DATA, binary_refusal)),
            Some(Ok(Message::Text(text))) => {
                budget.take(Instant::now())?;
                Ok(Received::Text(text.to_string()))
            }
        }
    }
}

/// A server's (unmasked) frame's size on the wire: a 2-byte header, plus 2
/// or 8 bytes of length for payloads of 126 bytes and more.
pub(super) fn frame_size(payload: usize) -> usize {
    let header = match payload {
        0..=125 => 2,
        126..=65_535 => 4,
        _ => 10,
    };
    header + payload
}

/// Pings every `heartbeat` and notices a client that did not answer the
/// previous ping: how a server finds a peer that vanished without closing.
pub(super) struct Heartbeat {
    interval: Interval,
    unanswered: bool,
}

impl Heartbeat {
    pub(super) fn every(heartbeat: Duration) -> Self {
        let mut interval = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
        // A tick missed while the socket was busy writing must not come back
        // as a burst that finds the last ping "unanswered" at once.
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self {
            interval,
            unanswered: false,
        }
    }

    /// Waits for the next ping's time; `Err` if the last one went unanswered.
    pub(super) async fn due(&mut self) -> Result<Message, Hangup> {
        self.interval.tick().await;
        if self.unanswered {
            return Err(Hangup(GOING_AWAY, "no answer to the last ping"));
        }
        self.unanswered = true;
        Ok(Message::Ping(Default::default()))
    }

    /// The client answered.
    pub(super) fn pong(&mut self) {
        self.unanswered = false;
    }
}

/// At most [`MAX_MESSAGES_PER_SECOND`] messages per one-second window, each
/// window starting with the first message after the last one ended.
pub(super) struct MessageBudget {
    window_started: Instant,
    used: u32,
}

impl MessageBudget {
    pub(super) fn new() -> Self {
        Self {
            window_started: Instant::now(),
            used: 0,
        }
    }

    /// Counts a message; `Err` once the second's budget is spent.
    pub(super) fn take(&mut self, now: Instant) -> Result<(), Hangup> {
        if now.duration_since(self.window_started) >= Duration::from_secs(1) {
            self.window_started = now;
            self.used = 0;
        }
        self.used += 1;
        if self.used <= MAX_MESSAGES_PER_SECOND {
            Ok(())
        } else {
            Err(Hangup(POLICY_VIOLATION, "more than 10 messages a second"))
        }
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
    fn a_socket_may_send_ten_messages_in_a_second() {
        let start = Instant::now();
        let mut budget = MessageBudget {
            window_started: start,
            used: 0,
        };
        assert!((0..10).all(|_| budget.take(start).is_ok()));
        assert!(budget.take(start + Duration::from_millis(999)).is_err());
        assert!(budget.take(start + Duration::from_secs(1)).is_ok());
    }
}
