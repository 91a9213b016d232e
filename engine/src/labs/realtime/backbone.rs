//! How a chat message reaches the room's members on other server
//! processes: not at all ([`Backbone::InProcess`]), or through Redis
//! pub/sub ([`Backbone::Redis`]).
//!
//! Every process with a Redis URL subscribes to `workbench:chat:*` once.
//! A message sent with the Redis backbone is delivered to this process's
//! members at once, and published on `workbench:chat:<room>` with the
//! process's name; each other process hands it to its own members of that
//! room. Pub/sub keeps nothing: a process that is not subscribed at that
//! moment (restarting, or cut off from Redis) never hears the message.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use model::labs::realtime::{Backbone, ChatFrame};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::rooms::Rooms;
use crate::labs::LabContext;
use crate::redis_link::RedisLink;

/// The channels' prefix; the room code follows it.
const CHANNEL_PREFIX: &str = "workbench:chat:";
/// How long a join waits for this process's subscription to be live.
const READY_WAIT: Duration = Duration::from_secs(2);
/// The pause before subscribing again after Redis went away.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);

/// A message as it travels between processes.
#[derive(Serialize, Deserialize)]
struct Envelope {
    /// The process that published it, which ignores its own.
    origin: String,
    room: String,
    frame: ChatFrame,
}

/// This process's end of the backbones.
pub(crate) struct Relay {
    /// This process's name, e.g. `server-3f2a`, shown with each message.
    server: String,
    redis: Option<Redis>,
}

struct Redis {
    url: String,
    link: RedisLink,
    /// `true` while the subscription is live.
    subscribed: watch::Receiver<bool>,
    subscribed_tx: watch::Sender<bool>,
}

impl Relay {
    /// A relay named at random, with Redis if the server was given one.
    pub(crate) fn new(context: &LabContext) -> Self {
        let redis = context.services.url("redis").and_then(|url| {
            let link = RedisLink::new(url, context.clock.clone()).ok()?;
            let (subscribed_tx, subscribed) = watch::channel(false);
            Some(Redis {
                url: url.to_string(),
                link,
                subscribed,
                subscribed_tx,
            })
        });
        Self {
            server: format!("server-{:04x}", rand::random::<u16>()),
            redis,
        }
    }

    /// This process's name.
    pub(crate) fn server(&self) -> &str {
        &self.server
    }

    /// Starts hearing other processes' messages for `rooms` (with Redis,
    /// and inside a runtime; otherwise there is nothing to hear).
    pub(crate) fn listen(self: &Arc<Self>, rooms: Arc<Rooms>) {
        let Some(redis) = &self.redis else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let Ok(client) = redis::Client::open(redis.url.as_str()) else {
            return;
        };
        let relay = self.clone();
        runtime.spawn(async move { relay.subscribe(client, rooms).await });
    }

    /// Waits (briefly) until this process hears the backbone, so that a
    /// member who has just joined misses nothing sent after.
    pub(crate) async fn ready(&self) {
        if let Some(redis) = &self.redis {
            let mut subscribed = redis.subscribed.clone();
            let _ = tokio::time::timeout(READY_WAIT, subscribed.wait_for(|live| *live)).await;
        }
    }

    /// Carries `frame`, already delivered here, to the other processes.
    /// `Ok` with how many processes heard it (this one included), or why
    /// it reached only this one.
    pub(crate) async fn publish(
        &self,
        backbone: Backbone,
        room: &str,
        frame: &ChatFrame,
    ) -> Result<Option<i64>, String> {
        match backbone {
            Backbone::InProcess => Ok(None),
            Backbone::Redis => {
                let Some(redis) = &self.redis else {
                    return Err("This server has no Redis (REDIS_URL is not set), so your message reached only the members connected to this server.".into());
                };
                let envelope = Envelope {
                    origin: self.server.clone(),
                    room: room.to_string(),
                    frame: frame.clone(),
                };
                let payload = serde_json::to_string(&envelope).unwrap_or_default();
                let channel = format!("{CHANNEL_PREFIX}{room}");
                redis
                    .link
                    .command(move |mut connection| {
                        Box::pin(async move {
                            redis::cmd("PUBLISH")
                                .arg(channel)
                                .arg(payload)
                                .query_async::<i64>(&mut connection)
                                .await
                        })
                    })
                    .await
                    .map(Some)
                    .map_err(|down| {
                        format!("{down}: your message reached only the members connected to this server.")
                    })
            }
        }
    }

    /// Hears the other processes' messages until the server stops,
    /// subscribing again whenever Redis comes back.
    async fn subscribe(self: Arc<Self>, client: redis::Client, rooms: Arc<Rooms>) {
        let Some(redis) = &self.redis else { return };
        loop {
            tokio::select! {
                outcome = self.hear(&client, &rooms, &redis.subscribed_tx) => {
                    redis.subscribed_tx.send_replace(false);
                    if let Err(e) = outcome {
                        tracing::warn!("the chat's Redis subscription ended: {e}");
                    }
                }
                () = rooms.stopping() => return,
            }
            tokio::select! {
                () = tokio::time::sleep(RESUBSCRIBE_AFTER) => {}
                () = rooms.stopping() => return,
            }
        }
    }

    /// One subscription: hands each message from another process to this
    /// process's members of its room.
    async fn hear(
        &self,
        client: &redis::Client,
        rooms: &Rooms,
        subscribed: &watch::Sender<bool>,
    ) -> Result<(), String> {
        let connect = tokio::time::timeout(READY_WAIT, client.get_async_pubsub());
        let mut pubsub = connect
            .await
            .map_err(|_| "connecting timed out".to_string())?
            .map_err(|e| e.to_string())?;
        pubsub
            .psubscribe(format!("{CHANNEL_PREFIX}*"))
            .await
            .map_err(|e| e.to_string())?;
        subscribed.send_replace(true);
        let mut messages = pubsub.on_message();
        while let Some(message) = messages.next().await {
            let Ok(payload) = message.get_payload::<String>() else {
                continue;
            };
            match serde_json::from_str::<Envelope>(&payload) {
                Ok(envelope) if envelope.origin != self.server => {
                    rooms.deliver(&envelope.room, &envelope.frame);
                }
                _ => {}
            }
        }
        Ok(())
    }
}
