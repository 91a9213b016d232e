//! How a chat message reaches the room's members on other server
//! processes, as the sender's settings choose:
//! - [`Backbone::InProcess`]: not at all.
//! - [`Backbone::Redis`] and [`Backbone::Nats`]: pub/sub. Every process
//!   subscribed at that moment hears the message; one that is not
//!   (restarting, or cut off from the service) never will.
//! - [`Backbone::JetStream`]: a durable log. Each process reads the log
//!   from where it stopped, so one that was away catches up on what it
//!   missed when it is back.
//!
//! A message is delivered to this process's members at once and carried
//! with the process's name; each other process hands it to its own
//! members of that room.

mod nats;
mod redis;

use std::sync::Arc;

use model::labs::realtime::{Backbone, ChatFrame};
use serde::{Deserialize, Serialize};

use super::rooms::Rooms;
use crate::labs::LabContext;

/// A message as it travels between processes.
#[derive(Serialize, Deserialize)]
struct Envelope {
    /// The process that published it, which ignores its own.
    origin: String,
    room: String,
    frame: ChatFrame,
}

impl Envelope {
    /// Hands a message another process published to this process's
    /// members of its room; ignores this process's own and bytes that are
    /// not an envelope.
    fn deliver(payload: &[u8], server: &str, rooms: &Rooms) {
        match serde_json::from_slice::<Envelope>(payload) {
            Ok(envelope) if envelope.origin != server => {
                rooms.deliver(&envelope.room, &envelope.frame);
            }
            _ => {}
        }
    }
}

/// This process's end of the backbones.
pub(crate) struct Relay {
    /// This process's name, e.g. `server-3f2a`, shown with each message.
    server: String,
    redis: Option<redis::RedisBackbone>,
    nats: Option<nats::NatsBackbone>,
}

impl Relay {
    /// A relay named at random, with Redis and NATS if the server was
    /// given them.
    pub(crate) fn new(context: &LabContext) -> Self {
        Self {
            server: format!("server-{:04x}", rand::random::<u16>()),
            redis: context
                .services
                .url("redis")
                .and_then(|url| redis::RedisBackbone::new(url, context.clock.clone())),
            nats: context.services.url("nats").map(nats::NatsBackbone::new),
        }
    }

    /// This process's name.
    pub(crate) fn server(&self) -> &str {
        &self.server
    }

    /// Starts hearing other processes' messages for `rooms` (inside a
    /// runtime, on the backbones this server has).
    pub(crate) fn listen(self: &Arc<Self>, rooms: Arc<Rooms>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.redis.is_some() {
            let relay = self.clone();
            let rooms = rooms.clone();
            runtime.spawn(async move {
                if let Some(redis) = &relay.redis {
                    redis.listen(&relay.server, &rooms).await;
                }
            });
        }
        if self.nats.is_some() {
            let relay = self.clone();
            runtime.spawn(async move {
                if let Some(nats) = &relay.nats {
                    nats.listen(&relay.server, &rooms).await;
                }
            });
        }
    }

    /// Waits (briefly) until this process hears the backbones, so that a
    /// member who has just joined misses nothing sent after.
    pub(crate) async fn ready(&self) {
        if let Some(redis) = &self.redis {
            redis.ready().await;
        }
        if let Some(nats) = &self.nats {
            nats.ready().await;
        }
    }

    /// Carries `frame`, already delivered here, to the other processes;
    /// `Err` says why it reached only this one.
    pub(crate) async fn publish(
        &self,
        backbone: Backbone,
        room: &str,
        frame: &ChatFrame,
    ) -> Result<(), String> {
        if backbone == Backbone::InProcess {
            return Ok(());
        }
        let envelope = Envelope {
            origin: self.server.clone(),
            room: room.to_string(),
            frame: frame.clone(),
        };
        let payload = serde_json::to_vec(&envelope).unwrap_or_default();
        let carried = match backbone {
            Backbone::InProcess => Ok(()),
            Backbone::Redis => match &self.redis {
                Some(redis) => redis.publish(room, payload).await,
                None => Err("This server has no Redis (REDIS_URL is not set)".to_string()),
            },
            Backbone::Nats | Backbone::JetStream => match &self.nats {
                Some(nats) => {
                    nats.publish(backbone == Backbone::JetStream, room, payload)
                        .await
                }
                None => Err(
                    "This server has no NATS (start it with --service nats=nats://127.0.0.1:4222)"
                        .to_string(),
                ),
            },
        };
        carried.map_err(|why| {
            format!("{why}: your message reached only the members connected to this server.")
        })
    }
}
