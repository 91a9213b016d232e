//! The NATS JetStream broker (through async-nats).
//!
//! Two streams hold every student's jobs, one subject per student:
//! `WORKBENCH_JOBS` keeps a message until a consumer acknowledges it
//! (work-queue retention), `WORKBENCH_JOBS_DEAD` keeps dead letters until
//! they are replayed (at most 1,000 per student). Each student has one
//! durable pull consumer on their work subject, and each worker pulls one
//! message at a time from it: competing consumers.
//!
//! Two things work differently from RabbitMQ, and the lesson says so:
//! - A worker that dies is noticed by time, not by a closed channel: a
//!   worker sends "still working" every second while it holds a message,
//!   and JetStream redelivers a message nobody has acknowledged or
//!   extended for [`ACK_WAIT`].
//! - JetStream (in the server versions this targets) has no delayed
//!   delivery, so a retry carries the time it may run
//!   ([`NOT_BEFORE`]), and a worker that receives it early hands it back
//!   with a negative acknowledgement delayed by the time left.
//!
//! Messages carry no `Nats-Msg-Id`: JetStream would drop a retry or a
//! producer's duplicate with the same id inside its two-minute window,
//! and the lab is there to show what duplicates do to the consumer.

use std::collections::HashMap;
use std::fmt::Display;
use std::future::IntoFuture;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::connection::State;
use async_nats::jetstream::consumer::{pull, AckPolicy, PullConsumer};
use async_nats::jetstream::message::AckKind;
use async_nats::jetstream::stream::{
    self, DiscardPolicy, LastRawMessageErrorKind, RetentionPolicy, StorageType, Stream,
};
use async_nats::jetstream::{self, Context};
use async_nats::{Client, ConnectOptions, HeaderMap};
use futures_util::StreamExt;

use super::broker::{BrokerDown, Delivery, QueueNames, Receipt, RetryPause};
use super::job::JobMessage;

/// How long connecting, or one operation, may take before NATS counts as down.
const TIMEOUT: Duration = Duration::from_secs(2);
/// A held message nobody acknowledged or extended for this long is redelivered.
pub(crate) const ACK_WAIT: Duration = Duration::from_secs(4);
/// How often a worker holding a message says it is still working on it.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// How long one pull for the next message waits at the server.
const PULL_WAIT: Duration = Duration::from_secs(10);
/// Messages, dead letters and consumers unused for this long are dropped.
const KEEP: Duration = Duration::from_secs(6 * 60 * 60);
/// Dead letters kept per student, the oldest dropped first.
const MAX_DEAD: i64 = 1000;
/// Dead letters one replay moves at most.
const MAX_REPLAY: usize = 1000;
/// The header of a retry: the Unix time in milliseconds it may run from.
const NOT_BEFORE: &str = "Workbench-Not-Before";
const WORK_STREAM: &str = "WORKBENCH_JOBS";
const DEAD_STREAM: &str = "WORKBENCH_JOBS_DEAD";

/// The server's link to NATS: one client, which reconnects by itself once
/// it has connected.
pub(crate) struct NatsBroker {
    url: String,
    link: tokio::sync::Mutex<Option<Link>>,
    retry_pause: RetryPause,
    /// Early deliveries of waiting retries, by stream sequence: JetStream
    /// counts them as deliveries, and they are not redeliveries.
    early: Arc<Mutex<HashMap<u64, i64>>>,
}

/// An open client and the two streams.
#[derive(Clone)]
struct Link {
    client: Client,
    jetstream: Context,
    work: Stream,
    dead: Stream,
}

fn down(error: impl Display) -> BrokerDown {
    BrokerDown(format!("NATS is unreachable: {error}"))
}

/// `operation`, or [`BrokerDown`] when it fails or takes longer than [`TIMEOUT`].
async fn within<T, E: Display>(
    operation: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, BrokerDown> {
    match tokio::time::timeout(TIMEOUT, operation).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(down(error)),
        Err(_) => Err(down("no answer within 2 s")),
    }
}

fn now_unix_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis())
}

impl NatsBroker {
    /// A link to `url`; nothing connects until first use.
    pub(crate) fn new(url: &str) -> Self {
        Self {
            url: url.to_string(),
            link: tokio::sync::Mutex::new(None),
            retry_pause: RetryPause::default(),
            early: Arc::default(),
        }
    }

    /// The link, connecting if there is none; [`BrokerDown`] while the
    /// client is reconnecting.
    async fn link(&self) -> Result<Link, BrokerDown> {
        let mut slot = self.link.lock().await;
        if let Some(link) = slot.as_ref() {
            return match link.client.connection_state() {
                State::Connected => Ok(link.clone()),
                _ => Err(down("the connection was lost; reconnecting")),
            };
        }
        self.retry_pause.check("NATS")?;
        match self.connect().await {
            Ok(link) => {
                *slot = Some(link.clone());
                Ok(link)
            }
            Err(error) => {
                self.retry_pause.failed();
                Err(error)
            }
        }
    }

    async fn connect(&self) -> Result<Link, BrokerDown> {
        let client = within(
            ConnectOptions::new()
                .connection_timeout(TIMEOUT)
                // Back within a second of the server's return, not the
                // client's default of several.
                .reconnect_delay_callback(|attempts| {
                    Duration::from_millis((attempts as u64 * 100).min(1000))
                })
                .connect(self.url.as_str()),
        )
        .await?;
        let mut jetstream = jetstream::new(client.clone());
        jetstream.set_timeout(TIMEOUT);
        let work = within(jetstream.get_or_create_stream(stream::Config {
            name: WORK_STREAM.into(),
            subjects: vec!["workbench.jobs.*".into()],
            retention: RetentionPolicy::WorkQueue,
            storage: StorageType::File,
            max_age: KEEP,
            max_bytes: 512 * 1024 * 1024,
            discard: DiscardPolicy::New,
            ..Default::default()
        }))
        .await?;
        let dead = within(jetstream.get_or_create_stream(stream::Config {
            name: DEAD_STREAM.into(),
            subjects: vec!["workbench.jobs.*.dead".into()],
            storage: StorageType::File,
            max_age: KEEP,
            max_messages_per_subject: MAX_DEAD,
            max_bytes: 128 * 1024 * 1024,
            ..Default::default()
        }))
        .await?;
        Ok(Link {
            client,
            jetstream,
            work,
            dead,
        })
    }

    /// `Ok` if the client is connected or could connect now.
    pub(crate) async fn reachable(&self) -> Result<(), BrokerDown> {
        self.link().await.map(|_| ())
    }

    /// Publishes to `subject` and waits for the stream's acknowledgement.
    async fn send(
        link: &Link,
        subject: &str,
        message: &JobMessage,
        not_before: Option<u128>,
    ) -> Result<(), BrokerDown> {
        let mut headers = HeaderMap::new();
        headers.insert("Content-Type", "application/json");
        if let Some(at) = not_before {
            headers.insert(NOT_BEFORE, at.to_string().as_str());
        }
        let stored = within(link.jetstream.publish_with_headers(
            subject.to_string(),
            headers,
            message.to_bytes().into(),
        ))
        .await?;
        within(stored.into_future()).await.map(|_| ())
    }

    /// A job for the work subject, to run now or after `delay`.
    pub(crate) async fn publish(
        &self,
        names: &QueueNames,
        message: &JobMessage,
        delay: Duration,
    ) -> Result<(), BrokerDown> {
        let link = self.link().await?;
        let not_before = (!delay.is_zero()).then(|| now_unix_ms() + delay.as_millis());
        Self::send(&link, &names.work, message, not_before).await
    }

    /// A job for the dead-letter subject.
    pub(crate) async fn dead_letter(
        &self,
        names: &QueueNames,
        message: &JobMessage,
    ) -> Result<(), BrokerDown> {
        let link = self.link().await?;
        Self::send(&link, &names.dead, message, None).await
    }

    /// A worker's pull subscription on the student's durable consumer.
    pub(crate) async fn subscribe(
        &self,
        names: &QueueNames,
    ) -> Result<NatsSubscription, BrokerDown> {
        let link = self.link().await?;
        let name = format!("jobs-{}", names.tag);
        let consumer: PullConsumer = within(link.work.get_or_create_consumer(
            &name,
            pull::Config {
                durable_name: Some(name.clone()),
                filter_subject: names.work.clone(),
                ack_policy: AckPolicy::Explicit,
                ack_wait: ACK_WAIT,
                inactive_threshold: KEEP,
                ..Default::default()
            },
        ))
        .await?;
        Ok(NatsSubscription {
            client: link.client,
            consumer,
            early: self.early.clone(),
        })
    }

    /// The student's dead letters from stream sequence 1 on, each with its
    /// sequence, up to `limit`.
    async fn read_dead(
        link: &Link,
        names: &QueueNames,
        limit: usize,
    ) -> Result<Vec<(u64, JobMessage)>, BrokerDown> {
        let mut letters = Vec::new();
        let mut from = 1;
        while letters.len() < limit {
            let got = within(async {
                match link
                    .dead
                    .raw_message_builder()
                    .sequence(from)
                    .next_by_subject(names.dead.clone())
                    .send()
                    .await
                {
                    Ok(message) => Ok(Some(message)),
                    Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .await?;
            let Some(got) = got else { break };
            from = got.sequence + 1;
            if let Some(message) = JobMessage::from_bytes(&got.payload) {
                letters.push((got.sequence, message));
            }
        }
        Ok(letters)
    }

    /// The dead letters, oldest first, up to `limit`; reading takes none.
    pub(crate) async fn dead_letters(
        &self,
        names: &QueueNames,
        limit: usize,
    ) -> Result<Vec<JobMessage>, BrokerDown> {
        let link = self.link().await?;
        let letters = Self::read_dead(&link, names, limit).await?;
        Ok(letters.into_iter().map(|(_, message)| message).collect())
    }

    /// Moves every dead letter to the work subject as a first attempt:
    /// each is published (acknowledged by the stream) before it is deleted
    /// from the dead letters, so an outage halfway loses none.
    pub(crate) async fn replay(&self, names: &QueueNames) -> Result<Vec<JobMessage>, BrokerDown> {
        let link = self.link().await?;
        let mut moved = Vec::new();
        for (sequence, message) in Self::read_dead(&link, names, MAX_REPLAY).await? {
            let message = message.first_attempt();
            Self::send(&link, &names.work, &message, None).await?;
            within(link.dead.delete_message(sequence)).await?;
            moved.push(message);
        }
        Ok(moved)
    }

    /// Empties the student's work and dead-letter subjects.
    pub(crate) async fn purge(&self, names: &QueueNames) -> Result<(), BrokerDown> {
        let link = self.link().await?;
        within(link.work.purge().filter(names.work.clone()).into_future()).await?;
        within(link.dead.purge().filter(names.dead.clone()).into_future()).await?;
        Ok(())
    }
}

/// One worker's pulls on the student's consumer.
pub(crate) struct NatsSubscription {
    client: Client,
    consumer: PullConsumer,
    early: Arc<Mutex<HashMap<u64, i64>>>,
}

/// A message a worker holds, kept alive by "still working" signals until
/// it is acknowledged or dropped (the worker died).
pub(crate) struct NatsReceipt {
    message: jetstream::Message,
    progress: tokio::task::JoinHandle<()>,
}

impl Drop for NatsReceipt {
    fn drop(&mut self) {
        self.progress.abort();
    }
}

impl NatsSubscription {
    /// The next message that is due; waits while none is.
    pub(crate) async fn next(&mut self) -> Result<Delivery, BrokerDown> {
        loop {
            let mut pulled = within(
                self.consumer
                    .batch()
                    .max_messages(1)
                    .expires(PULL_WAIT)
                    .messages(),
            )
            .await?;
            while let Some(got) = pulled.next().await {
                if let Some(delivery) = self.accept(got.map_err(down)?).await? {
                    return Ok(delivery);
                }
            }
            if self.client.connection_state() != State::Connected {
                return Err(down("the connection was lost"));
            }
        }
    }

    /// A delivery of `message`, or `None` when it was handed back (a retry
    /// not yet due) or thrown away (bytes no worker of ours wrote).
    async fn accept(&self, message: jetstream::Message) -> Result<Option<Delivery>, BrokerDown> {
        let (sequence, delivered) = match message.info() {
            Ok(info) => (info.stream_sequence, info.delivered),
            Err(error) => return Err(down(error)),
        };
        let due_in = message
            .headers
            .as_ref()
            .and_then(|headers| headers.get(NOT_BEFORE))
            .and_then(|at| at.as_str().parse::<u128>().ok())
            .and_then(|at| at.checked_sub(now_unix_ms()))
            .filter(|left| *left > 0);
        if let Some(left) = due_in {
            self.count_early(sequence);
            let delay = Duration::from_millis(u64::try_from(left).unwrap_or(u64::MAX));
            within(message.ack_with(AckKind::Nak(Some(delay)))).await?;
            return Ok(None);
        }
        let Some(job) = JobMessage::from_bytes(&message.payload) else {
            within(message.ack()).await?;
            return Ok(None);
        };
        let early = self
            .early
            .lock()
            .expect("never poisoned")
            .remove(&sequence)
            .unwrap_or(0);
        let held = message.clone();
        let progress = tokio::spawn(async move {
            loop {
                tokio::time::sleep(PROGRESS_EVERY).await;
                let _ = held.ack_with(AckKind::Progress).await;
            }
        });
        Ok(Some(Delivery {
            message: job,
            redelivered: delivered > 1 + early,
            receipt: Receipt::Nats(Box::new(NatsReceipt { message, progress })),
        }))
    }

    /// Remembers an early delivery of a waiting retry.
    fn count_early(&self, sequence: u64) {
        let mut early = self.early.lock().expect("never poisoned");
        // Purged retries never come back to be taken: forget them all
        // rather than let the map grow.
        if early.len() >= 10_000 {
            early.clear();
        }
        *early.entry(sequence).or_default() += 1;
    }

    /// Acknowledges a delivery and waits for the server to confirm it.
    pub(crate) async fn ack(receipt: Box<NatsReceipt>) -> Result<(), BrokerDown> {
        receipt.progress.abort();
        within(receipt.message.double_ack()).await
    }
}
