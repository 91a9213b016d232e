//! The Redis pub/sub backbone: every process with a Redis URL subscribes
//! to `workbench:chat:*` once, and a message is published on
//! `workbench:chat:<room>`. Pub/sub keeps nothing.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::watch;

use super::super::presence::Carrier;
use super::super::rooms::Rooms;
use super::Envelope;
use crate::redis_link::RedisLink;

/// The channels' prefix; the room code follows it.
const CHANNEL_PREFIX: &str = "workbench:chat:";
/// How long a join waits for this process's subscription to be live.
const READY_WAIT: Duration = Duration::from_secs(2);
/// The pause before subscribing again after Redis went away.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);

/// This process's link to Redis for the chat.
pub(super) struct RedisBackbone {
    client: redis::Client,
    link: RedisLink,
    /// `true` while the subscription is live.
    subscribed: watch::Sender<bool>,
}

impl RedisBackbone {
    /// Subscriptions at `url` and commands through `link` (to the same
    /// Redis), or `None` if it is not a Redis URL.
    pub(super) fn new(url: &str, link: RedisLink) -> Option<Self> {
        Some(Self {
            client: redis::Client::open(url).ok()?,
            link,
            subscribed: watch::Sender::new(false),
        })
    }

    /// Waits (at most [`READY_WAIT`]) for the subscription to be live.
    pub(super) async fn ready(&self) {
        let mut subscribed = self.subscribed.subscribe();
        let _ = tokio::time::timeout(READY_WAIT, subscribed.wait_for(|live| *live)).await;
    }

    /// Publishes an envelope on the room's channel.
    pub(super) async fn publish(&self, room: &str, payload: Vec<u8>) -> Result<(), String> {
        let channel = format!("{CHANNEL_PREFIX}{room}");
        self.link
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
            .map(|_| ())
            .map_err(|down| down.to_string())
    }

    /// Hears the other processes' messages until the server stops,
    /// subscribing again whenever Redis comes back.
    pub(super) async fn listen(&self, server: &str, rooms: &Rooms) {
        loop {
            tokio::select! {
                outcome = self.hear(server, rooms) => {
                    self.subscribed.send_replace(false);
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

    /// One subscription, until Redis goes away.
    async fn hear(&self, server: &str, rooms: &Rooms) -> Result<(), String> {
        let connect = tokio::time::timeout(READY_WAIT, self.client.get_async_pubsub());
        let mut pubsub = connect
            .await
            .map_err(|_| "connecting timed out".to_string())?
            .map_err(|e| e.to_string())?;
        pubsub
            .psubscribe(format!("{CHANNEL_PREFIX}*"))
            .await
            .map_err(|e| e.to_string())?;
        self.subscribed.send_replace(true);
        let mut messages = pubsub.on_message();
        while let Some(message) = messages.next().await {
            Envelope::deliver(message.get_payload_bytes(), server, Carrier::Redis, rooms);
        }
        Ok(())
    }
}
