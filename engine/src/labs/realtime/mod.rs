//! The real-time lab: one feed of messages per student, delivered four
//! ways, so their costs can be compared side by side.
//!
//! | route | what it does |
//! |---|---|
//! | `POST /labs/realtime/feed` | publishes a message to your feed |
//! | `GET /labs/realtime/feed?after=N` | short poll: the messages after `N`, at once |
//! | `GET /labs/realtime/feed/wait?after=N` | long poll: the same, but waits for news (up to the settings' timeout) |
//! | `GET /labs/realtime/feed/stream` | server-sent events; resumes after `Last-Event-ID` |
//! | `GET /labs/realtime/feed/socket` | a WebSocket: messages as text frames; a text frame sent to it is published |
//! | `GET /labs/realtime/feed/stats` | what each transport has cost so far |
//! | `DELETE /labs/realtime/feed` | empties the feed and zeroes the costs |
//! | `GET /labs/realtime/chat?room=CODE` | the class chat: a WebSocket in a room shared with whoever uses the same code |
//!
//! The feed lives in this process ([`feed`]), written through to a durable
//! log in the lab's data folder ([`log`]) so it survives a restart; the
//! chat's messages cross server processes over a backbone ([`backbone`]).

mod backbone;
mod chat;
mod feed;
mod log;
mod polls;
mod presence;
mod rooms;
mod socket;
mod stream;
mod websocket;

use std::sync::Arc;
use std::time::Duration;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Lab, LabSettings};
use crate::labs::Labs;

pub use model::labs::realtime::RealtimeSettings;

/// The real-time lab.
pub struct RealtimeLab;

impl Lab for RealtimeLab {
    const NAME: &'static str = "realtime";
    const TITLE: &'static str =
        "Real time: polling, long polling, server-sent events and WebSockets";
    type Settings = RealtimeSettings;
    type State = Realtime;

    fn state(context: &super::LabContext) -> Self::State {
        let rooms = Arc::new(rooms::Rooms::new(
            context.stopping.clone(),
            context.clock.clone(),
        ));
        let relay = Arc::new(backbone::Relay::new(context));
        relay.listen(rooms.clone());
        Realtime {
            feeds: Arc::new(feed::Feeds::new(
                log::FeedLog::open(&context.data_dir.join(Self::NAME)),
                context.stopping.clone(),
            )),
            rooms,
            relay,
        }
    }

    fn routes(_state: &Labs) -> OpenApiRouter<Labs> {
        OpenApiRouter::default()
            .routes(routes!(polls::publish, polls::poll, polls::reset))
            .routes(routes!(polls::wait))
            .routes(routes!(polls::stats))
            .routes(routes!(stream::stream))
            .routes(routes!(socket::socket))
            .routes(routes!(chat::chat))
    }

    fn gauges(realtime: &Realtime, gauges: &mut crate::labs::LabGauges<'_>) {
        realtime.rooms.gauges(gauges);
    }

    fn forget_idle(labs: &Labs) {
        let realtime = labs.get::<Self>();
        realtime.feeds.forget_idle(labs.clock.now_ms());
        realtime.rooms.forget_idle();
    }
}

/// The lab's state: every student's feed, the chat's rooms, and the
/// backbone to the other server processes.
pub struct Realtime {
    feeds: Arc<feed::Feeds>,
    rooms: Arc<rooms::Rooms>,
    relay: Arc<backbone::Relay>,
}

/// A stream or socket is closed after this long; clients reconnect (an
/// `EventSource` does by itself, resuming after the last message it had),
/// so nobody holds a connection for ever.
pub(crate) const MAX_CONNECTION_TIME: Duration = Duration::from_secs(10 * 60);

const LONG_POLL_SECS: std::ops::RangeInclusive<u32> = 1..=30;
const HEARTBEAT_SECS: std::ops::RangeInclusive<u32> = 5..=60;
const CHAT_SEND_BUFFER: std::ops::RangeInclusive<u32> = 1..=64;

impl LabSettings for RealtimeSettings {
    fn validate(&self) -> Result<(), String> {
        if !LONG_POLL_SECS.contains(&self.long_poll_timeout_secs) {
            return Err(format!(
                "long_poll_timeout_secs must be between {} and {}, not {}",
                LONG_POLL_SECS.start(),
                LONG_POLL_SECS.end(),
                self.long_poll_timeout_secs
            ));
        }
        if !HEARTBEAT_SECS.contains(&self.heartbeat_secs) {
            return Err(format!(
                "heartbeat_secs must be between {} and {}, not {}",
                HEARTBEAT_SECS.start(),
                HEARTBEAT_SECS.end(),
                self.heartbeat_secs
            ));
        }
        if !CHAT_SEND_BUFFER.contains(&self.chat_send_buffer) {
            return Err(format!(
                "chat_send_buffer must be between {} and {}, not {}",
                CHAT_SEND_BUFFER.start(),
                CHAT_SEND_BUFFER.end(),
                self.chat_send_buffer
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_bounded_and_the_errors_name_the_field() {
        assert!(RealtimeSettings::default().validate().is_ok());
        let slow = RealtimeSettings {
            long_poll_timeout_secs: 31,
            ..RealtimeSettings::default()
        };
        assert!(slow
            .validate()
            .unwrap_err()
            .contains("long_poll_timeout_secs"));
        let chatty = RealtimeSettings {
            heartbeat_secs: 1,
            ..RealtimeSettings::default()
        };
        assert!(chatty.validate().unwrap_err().contains("heartbeat_secs"));
        let unbuffered = RealtimeSettings {
            chat_send_buffer: 0,
            ..RealtimeSettings::default()
        };
        assert!(unbuffered
            .validate()
            .unwrap_err()
            .contains("chat_send_buffer"));
    }
}
