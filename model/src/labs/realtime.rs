//! The real-time lab's wire types: its settings, the feed's events, and
//! what each way of delivering them has cost so far.

use serde::{Deserialize, Serialize};

/// What a student may change in the real-time lab.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct RealtimeSettings {
    /// How long a long poll waits for news before it answers with none
    /// (1 to 30 seconds).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 30))]
    pub long_poll_timeout_secs: u32,
    /// How often an idle stream shows it is alive: an SSE comment line, or
    /// a WebSocket ping (5 to 60 seconds).
    #[cfg_attr(feature = "openapi", schema(minimum = 5, maximum = 60))]
    pub heartbeat_secs: u32,
    /// Chat messages the server keeps for one connection that is not
    /// reading (1 to 64).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 64))]
    pub chat_send_buffer: u32,
    /// What happens to a chat connection whose send buffer is full.
    pub slow_client: SlowClientPolicy,
    /// How a chat message you send reaches the room's members on other
    /// server processes.
    pub backbone: Backbone,
}

impl Default for RealtimeSettings {
    fn default() -> Self {
        Self {
            long_poll_timeout_secs: 20,
            heartbeat_secs: 15,
            chat_send_buffer: 16,
            slow_client: SlowClientPolicy::DropOldest,
            backbone: Backbone::InProcess,
        }
    }
}

/// `POST /labs/realtime/feed`'s body: a message for the student's feed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Publish {
    /// The message, 1 to 280 characters.
    pub text: String,
}

/// One message in a student's feed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedEvent {
    /// The message's number in the feed, from 1; a client asks for what
    /// came after the last number it has.
    pub id: u64,
    /// The message.
    pub text: String,
    /// When the server took it, in milliseconds since 1970.
    pub published_at_ms: i64,
}

/// The answer to a poll: the messages after the one asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedPage {
    /// The messages after `after`, oldest first.
    pub events: Vec<FeedEvent>,
    /// The newest message's number (0 for an empty feed): the next poll's `after`.
    pub last_id: u64,
    /// Messages after `after` that the feed no longer keeps (it keeps the
    /// latest 100): a client away that long has lost them.
    pub missed: u64,
    /// `after` was past this feed's newest message: the feed started
    /// again (its log forgot it after a week unused, or the server runs
    /// on a new data folder), its numbers start again from 1, and `events`
    /// holds all it keeps. What the client had before is gone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restarted: bool,
}

/// A way of getting news from the server to the browser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// Ask again and again, on a timer.
    ShortPoll,
    /// Ask, and the server holds the answer until there is news.
    LongPoll,
    /// Server-sent events: one response that never ends.
    Sse,
    /// A WebSocket: one upgraded connection, messages both ways.
    #[serde(rename = "websocket")]
    WebSocket,
}

impl Transport {
    /// Every transport, in the order the lesson compares them.
    pub const ALL: [Transport; 4] = [
        Transport::ShortPoll,
        Transport::LongPoll,
        Transport::Sse,
        Transport::WebSocket,
    ];

    /// The name the API and the widget use, e.g. `long-poll`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::ShortPoll => "short-poll",
            Transport::LongPoll => "long-poll",
            Transport::Sse => "sse",
            Transport::WebSocket => "websocket",
        }
    }
}

/// What one transport has cost the server for this student since the feed
/// was last reset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransportStats {
    /// Which transport.
    pub transport: Transport,
    /// HTTP requests it made: every poll is one; a stream or a socket is
    /// one for as long as it stays open.
    pub requests: u64,
    /// Polls and waits that came back with no message.
    pub empty_answers: u64,
    /// Messages it delivered.
    pub messages: u64,
    /// Bytes of body it sent: JSON for the polls, event lines for SSE, frames
    /// (with their 2- to 4-byte headers) for the socket. Response headers
    /// are not counted here.
    pub body_bytes: u64,
    /// Streams, sockets or waiting polls open right now.
    pub open: u32,
}

/// `GET /labs/realtime/feed/stats`: the feed and each transport's costs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedStats {
    /// Messages published since the feed was last reset.
    pub published: u64,
    /// One entry per transport, in [`Transport::ALL`]'s order.
    pub transports: Vec<TransportStats>,
}

/// The feed routes' query: `?after=<the last message number the client has>`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct FeedQuery {
    /// Send only messages numbered above this (0, the default, for all the feed keeps).
    #[serde(default)]
    pub after: u64,
}

/// A text frame the feed's socket sends when a message sent to it was
/// refused (a message it delivers is a [`FeedEvent`] instead).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SocketRefusal {
    /// Why the message was not published.
    pub error: String,
}

/// What the server does with a chat connection whose send buffer is full
/// because its client reads more slowly than the room talks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum SlowClientPolicy {
    /// Throw away the oldest waiting message to make room, and tell the
    /// client how many it lost when it reads again.
    #[default]
    DropOldest,
    /// Close the slow client's socket (1008), so it reconnects and catches up.
    Disconnect,
}

impl SlowClientPolicy {
    /// Both policies, in the order the console offers them.
    pub const ALL: [SlowClientPolicy; 2] =
        [SlowClientPolicy::DropOldest, SlowClientPolicy::Disconnect];

    /// The name the API and the widget use, e.g. `drop-oldest`.
    pub fn as_str(self) -> &'static str {
        match self {
            SlowClientPolicy::DropOldest => "drop-oldest",
            SlowClientPolicy::Disconnect => "disconnect",
        }
    }
}

/// What carries chat messages between server processes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Backbone {
    /// Nothing: a message reaches only the members connected to the server
    /// process that took it.
    #[default]
    InProcess,
    /// Redis pub/sub: every server process subscribed hears the message;
    /// one that was not listening at that moment never will.
    Redis,
    /// NATS core pub/sub: as Redis pub/sub, on NATS.
    Nats,
    /// A durable log (a NATS JetStream stream): every server process reads
    /// it from where it stopped, so one that was away catches up on what
    /// it missed, in order.
    #[serde(rename = "jetstream")]
    JetStream,
}

impl Backbone {
    /// Every backbone, in the order the console offers them.
    pub const ALL: [Backbone; 4] = [
        Backbone::InProcess,
        Backbone::Redis,
        Backbone::Nats,
        Backbone::JetStream,
    ];
}

/// The chat socket's query: the room to join.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ChatQuery {
    /// The room's code: 1 to 32 lowercase letters, digits and dashes. A
    /// teacher gives a class one code so that everyone lands in one room.
    pub room: String,
}

/// A text frame a client sends on the chat socket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ChatCommand {
    /// Say something to the room (1 to 280 characters).
    Say {
        /// The message.
        text: String,
    },
    /// Act as a slow client: the server keeps this connection's messages in
    /// its send buffer instead of writing them, as it must when a real
    /// client's network stalls.
    StopReading,
    /// Read again: the server writes what the buffer kept.
    StartReading,
}

/// A text frame the server sends on the chat socket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ChatFrame {
    /// The first frame: who you are in the room, and how your connection
    /// is set up.
    Welcome {
        /// The room's code.
        room: String,
        /// Your name in the room.
        you: String,
        /// The server process you are connected to.
        server: String,
        /// Everyone in the room now, you included.
        members: Vec<String>,
        /// Messages the server keeps for you while you do not read.
        send_buffer: u32,
        /// What happens when that buffer is full.
        policy: SlowClientPolicy,
    },
    /// Someone said something (you included: your own messages come back).
    Message {
        /// The room's message number, from 1.
        id: u64,
        /// Who said it.
        from: String,
        /// What they said.
        text: String,
        /// When the server took it, in milliseconds since 1970.
        sent_at_ms: i64,
        /// The server process that took it.
        server: String,
        /// How it reached the other server processes.
        backbone: Backbone,
    },
    /// Someone joined or left; `members` is the room afterwards.
    Presence {
        /// Who came or went.
        name: String,
        /// `true` when they joined.
        joined: bool,
        /// Everyone in the room now, on every server process this one
        /// hears.
        members: Vec<String>,
        /// The other server process they are connected to, when it is not
        /// this one: they came or went there (or it went quiet).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server: Option<String>,
    },
    /// Messages thrown away while your buffer was full (drop-oldest).
    Dropped {
        /// How many.
        count: u64,
    },
    /// The answer to `stop-reading` and `start-reading`.
    Reading {
        /// Whether the server now writes your messages as they come.
        reading: bool,
        /// Messages waiting in your send buffer now.
        waiting: u32,
    },
    /// Something you sent was refused; the socket stays open.
    Refused {
        /// Why.
        error: String,
    },
}
