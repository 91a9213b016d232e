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
//!
//! The same pub/sub channels carry each process's rosters, who is in each
//! room there (see [`super::presence`]).

mod nats;
mod redis;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use model::labs::realtime::{Backbone, ChatFrame};
use serde::{Deserialize, Serialize};
use tokio::time::MissedTickBehavior;

use super::presence::{Carrier, ROSTER_EVERY};
use super::rooms::{checked_code, Rooms};
use crate::labs::LabContext;

/// How long a stopping process spends telling the others its members left.
const GOODBYE_WAIT: Duration = Duration::from_secs(2);

/// What travels between processes.
#[derive(Serialize, Deserialize)]
struct Envelope {
    /// The process that published it, which ignores its own.
    origin: String,
    room: String,
    #[serde(flatten)]
    carried: Carried,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Carried {
    /// A message said in the room.
    Frame(ChatFrame),
    /// Everyone in the room on the origin process, over this carrier.
    Roster(Vec<String>),
}

impl Envelope {
    /// Hands what another process published over `carrier` to this
    /// process's room; ignores this process's own and bytes that are not
    /// an envelope.
    fn deliver(payload: &[u8], server: &str, carrier: Carrier, rooms: &Rooms) {
        let Ok(envelope) = serde_json::from_slice::<Envelope>(payload) else {
            return;
        };
        let strange = !is_server_name(&envelope.origin) || checked_code(&envelope.room).is_err();
        if envelope.origin == server || strange {
            return;
        }
        match envelope.carried {
            Carried::Frame(frame) => rooms.deliver(&envelope.room, &frame),
            Carried::Roster(names) => {
                rooms.heard_roster(&envelope.room, &envelope.origin, carrier, names);
            }
        }
    }
}

/// A name [`Relay::new`] gives: `server-` and four hex digits. Anything
/// else on the channels did not come from a workbench process.
fn is_server_name(name: &str) -> bool {
    name.strip_prefix("server-")
        .is_some_and(|hex| hex.len() == 4 && hex.chars().all(|c| c.is_ascii_hexdigit()))
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
                .zip(context.redis_link().and_then(Result::ok))
                .and_then(|(url, link)| redis::RedisBackbone::new(url, link)),
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
            let rooms = rooms.clone();
            runtime.spawn(async move {
                if let Some(nats) = &relay.nats {
                    nats.listen(&relay.server, &rooms).await;
                }
            });
        }
        if self.redis.is_some() || self.nats.is_some() {
            rooms.share_rosters();
            let relay = self.clone();
            runtime.spawn(async move { relay.share_rosters(&rooms).await });
        }
    }

    /// Sends this process's rosters when they change and again every
    /// [`ROSTER_EVERY`], forgets the others' that were not repeated, and
    /// says goodbye (empty rosters) when the server stops, so the others
    /// need not wait for this process's rosters to fade.
    async fn share_rosters(&self, rooms: &Rooms) {
        let mut every = tokio::time::interval(ROSTER_EVERY);
        every.set_missed_tick_behavior(MissedTickBehavior::Skip);
        // The rosters sent that named someone: what the goodbye empties.
        let mut named = HashSet::new();
        loop {
            let rosters = tokio::select! {
                () = rooms.rosters_changed() => rooms
                    .take_due_rosters()
                    .into_iter()
                    .map(|(room, carrier)| {
                        let names = rooms.roster(&room, carrier);
                        (room, carrier, names)
                    })
                    .collect(),
                _ = every.tick() => {
                    rooms.expire_rosters();
                    rooms.rosters()
                }
                () = rooms.stopping() => break,
            };
            for (room, carrier, names) in rosters {
                if names.is_empty() {
                    named.remove(&(room.clone(), carrier));
                } else {
                    named.insert((room.clone(), carrier));
                }
                self.send_roster(&room, carrier, names).await;
            }
        }
        let goodbye = async {
            for (room, carrier) in named {
                self.send_roster(&room, carrier, Vec::new()).await;
            }
        };
        let _ = tokio::time::timeout(GOODBYE_WAIT, goodbye).await;
    }

    /// Tells the other processes who is in `room` here over `carrier`. A
    /// roster that does not get through is sent again with the next round.
    async fn send_roster(&self, room: &str, carrier: Carrier, names: Vec<String>) {
        let payload = self.envelope(room, Carried::Roster(names));
        let sent = match carrier {
            Carrier::Redis => match &self.redis {
                Some(redis) => redis.publish(room, payload).await,
                None => return,
            },
            Carrier::Nats => match &self.nats {
                Some(nats) => nats.publish(false, room, payload).await,
                None => return,
            },
        };
        if let Err(why) = sent {
            tracing::debug!("the roster of chat room {room} did not get through: {why}");
        }
    }

    fn envelope(&self, room: &str, carried: Carried) -> Vec<u8> {
        let envelope = Envelope {
            origin: self.server.clone(),
            room: room.to_string(),
            carried,
        };
        serde_json::to_vec(&envelope).unwrap_or_default()
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
        let payload = self.envelope(room, Carried::Frame(frame.clone()));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_processs_own_kind_of_name_is_taken_as_an_origin() {
        assert!(is_server_name("server-3f2a"));
        for strange in [
            "server-3f2",
            "server-xyzw",
            "",
            "server-3f2a0",
            "Server-3f2a",
        ] {
            assert!(!is_server_name(strange), "{strange}");
        }
    }
}
