//! The NATS backbones: core pub/sub on `workbench.chat.<room>`, which
//! keeps nothing, and a durable log, the JetStream stream
//! `WORKBENCH_CHAT` on `workbench.chatlog.<room>`.
//!
//! Each process reads the log from the sequence after the last one it
//! handed to its rooms. When its connection to NATS breaks, it stops
//! reading; when the connection is back, it reads again from that
//! sequence, so its members get what was said meanwhile, in order. Core
//! pub/sub messages sent meanwhile are gone.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use async_nats::connection::State;
use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
use async_nats::jetstream::stream::{self, DiscardPolicy, StorageType};
use async_nats::jetstream::{self, Context};
use async_nats::{Client, ConnectOptions};
use futures_util::StreamExt;
use tokio::sync::watch;

use super::super::presence::Carrier;
use super::super::rooms::Rooms;
use super::Envelope;

/// How long connecting, or one operation, may take.
const TIMEOUT: Duration = Duration::from_secs(2);
/// How long a join waits for this process to hear the backbones.
const READY_WAIT: Duration = Duration::from_secs(2);
/// The pause before reading again after the backbone stopped.
const RETRY_PAUSE: Duration = Duration::from_millis(500);
/// How often a reader looks whether its connection is still up.
const CHECK_EVERY: Duration = Duration::from_millis(200);
/// How long the log keeps a message: a process away for longer misses it.
const LOG_KEEPS: Duration = Duration::from_secs(60 * 60);
const LOG_STREAM: &str = "WORKBENCH_CHAT";
const PUBSUB_PREFIX: &str = "workbench.chat.";
const LOG_PREFIX: &str = "workbench.chatlog.";

/// This process's link to NATS for the chat.
pub(super) struct NatsBackbone {
    /// Set once `listen` has a client.
    client: OnceLock<Client>,
    url: String,
    /// `true` while this process hears both pub/sub and the log.
    live: watch::Sender<bool>,
    /// The last log sequence handed to this process's rooms; `None` until
    /// the first reader starts (at the end of the log as it was then).
    read_up_to: Mutex<Option<u64>>,
}

impl NatsBackbone {
    /// A link to `url`; it connects (and reconnects) in the background
    /// once the server runs.
    pub(super) fn new(url: &str) -> Self {
        Self {
            client: OnceLock::new(),
            url: url.to_string(),
            live: watch::Sender::new(false),
            read_up_to: Mutex::new(None),
        }
    }

    /// Waits (at most [`READY_WAIT`]) until this process hears NATS.
    pub(super) async fn ready(&self) {
        let mut live = self.live.subscribe();
        let _ = tokio::time::timeout(READY_WAIT, live.wait_for(|live| *live)).await;
    }

    /// The connected client, if NATS is reachable now.
    fn connected(&self) -> Result<(&Client, Context), String> {
        match self.client.get() {
            Some(client) if client.connection_state() == State::Connected => {
                let mut jetstream = jetstream::new(client.clone());
                jetstream.set_timeout(TIMEOUT);
                Ok((client, jetstream))
            }
            _ => Err("NATS is unreachable".into()),
        }
    }

    /// Publishes an envelope: on the log (`durable`, once the stream has
    /// stored it) or on pub/sub (once the server has it).
    pub(super) async fn publish(
        &self,
        durable: bool,
        room: &str,
        payload: Vec<u8>,
    ) -> Result<(), String> {
        let (client, jetstream) = self.connected()?;
        let sent = async {
            if durable {
                let subject = format!("{LOG_PREFIX}{room}");
                let stored = jetstream
                    .publish(subject, payload.into())
                    .await
                    .map_err(|e| e.to_string())?;
                stored.await.map(|_| ()).map_err(|e| e.to_string())
            } else {
                let subject = format!("{PUBSUB_PREFIX}{room}");
                client
                    .publish(subject, payload.into())
                    .await
                    .map_err(|e| e.to_string())?;
                client.flush().await.map_err(|e| e.to_string())
            }
        };
        match tokio::time::timeout(TIMEOUT, sent).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(format!("NATS is unreachable ({error})")),
            Err(_) => Err("NATS did not answer within 2 s".into()),
        }
    }

    /// Hears the other processes until the server stops: connects, reads,
    /// and after every break waits for the connection and reads again.
    pub(super) async fn listen(&self, server: &str, rooms: &Rooms) {
        let client = tokio::select! {
            client = self.connect() => client,
            () = rooms.stopping() => return,
        };
        let client = self.client.get_or_init(|| client).clone();
        loop {
            tokio::select! {
                outcome = self.hear(&client, server, rooms) => {
                    self.live.send_replace(false);
                    if let Err(e) = outcome {
                        tracing::warn!("the chat's NATS backbone stopped: {e}");
                    }
                }
                () = rooms.stopping() => return,
            }
            // A pause first, so a server that refuses (say, without
            // JetStream) is asked again each second, not in a busy loop.
            tokio::select! {
                () = async {
                    tokio::time::sleep(RETRY_PAUSE).await;
                    until_connected(&client).await;
                } => {}
                () = rooms.stopping() => return,
            }
        }
    }

    /// A client that connects in the background and reconnects by itself.
    async fn connect(&self) -> Client {
        loop {
            let connecting = ConnectOptions::new()
                .connection_timeout(TIMEOUT)
                .retry_on_initial_connect()
                .reconnect_delay_callback(|attempts| {
                    Duration::from_millis((attempts as u64 * 100).min(1000))
                })
                .connect(self.url.as_str())
                .await;
            match connecting {
                Ok(client) => return client,
                Err(e) => {
                    tracing::warn!("the chat cannot use NATS at {}: {e}", self.url);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Reads pub/sub and the log until the connection breaks.
    async fn hear(&self, client: &Client, server: &str, rooms: &Rooms) -> Result<(), String> {
        let mut jetstream = jetstream::new(client.clone());
        jetstream.set_timeout(TIMEOUT);
        let mut pubsub = client
            .subscribe(format!("{PUBSUB_PREFIX}*"))
            .await
            .map_err(|e| e.to_string())?;
        let mut log = jetstream
            .get_or_create_stream(stream::Config {
                name: LOG_STREAM.into(),
                subjects: vec![format!("{LOG_PREFIX}*")],
                storage: StorageType::File,
                max_age: LOG_KEEPS,
                max_messages: 100_000,
                max_bytes: 64 * 1024 * 1024,
                discard: DiscardPolicy::Old,
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string())?;
        let known = *self.read_up_to.lock().expect("never poisoned");
        let read_up_to = match known {
            Some(sequence) => sequence,
            // First start: the log from now on, not its whole past.
            None => {
                let last = log
                    .info()
                    .await
                    .map_err(|e| e.to_string())?
                    .state
                    .last_sequence;
                *self.read_up_to.lock().expect("never poisoned") = Some(last);
                last
            }
        };
        let from = read_up_to + 1;
        let reader = log
            .create_consumer(pull::Config {
                deliver_policy: DeliverPolicy::ByStartSequence {
                    start_sequence: from,
                },
                ack_policy: AckPolicy::None,
                inactive_threshold: Duration::from_secs(30),
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string())?;
        let mut entries = reader.messages().await.map_err(|e| e.to_string())?;
        self.live.send_replace(true);
        let mut check = tokio::time::interval(CHECK_EVERY);
        loop {
            tokio::select! {
                heard = pubsub.next() => match heard {
                    Some(message) => Envelope::deliver(&message.payload, server, Carrier::Nats, rooms),
                    None => return Err("the subscription ended".into()),
                },
                entry = entries.next() => match entry {
                    Some(Ok(message)) => {
                        if let Ok(info) = message.info() {
                            *self.read_up_to.lock().expect("never poisoned") =
                                Some(info.stream_sequence);
                        }
                        Envelope::deliver(&message.payload, server, Carrier::Nats, rooms);
                    }
                    Some(Err(e)) => return Err(e.to_string()),
                    None => return Err("the log reader ended".into()),
                },
                _ = check.tick() => {
                    if client.connection_state() != State::Connected {
                        return Err("the connection was lost".into());
                    }
                }
            }
        }
    }
}

/// Resolves when `client` is connected again.
async fn until_connected(client: &Client) {
    while client.connection_state() != State::Connected {
        tokio::time::sleep(CHECK_EVERY).await;
    }
}
