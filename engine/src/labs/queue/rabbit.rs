//! The RabbitMQ broker (AMQP 0.9.1, through lapin).
//!
//! Each student has three durable queues: the work queue, a retry queue
//! and a dead-letter queue. Every publish waits for the broker's
//! confirmation and is persistent, so a job the lab said was queued
//! survives a broker restart. Each worker consumes on its own channel with
//! a prefetch of one and acknowledges by hand: a worker that dies closes
//! its channel, and RabbitMQ puts the message it held back on the queue
//! marked redelivered. A retry is published to the retry queue with the
//! backoff as its expiration; when it expires, RabbitMQ dead-letters it
//! back into the work queue. Queues unused for six hours are deleted by
//! the broker itself.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicGetOptions, BasicPublishOptions, BasicQosOptions,
    BasicRejectOptions, ConfirmSelectOptions, QueueDeclareOptions, QueuePurgeOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};

use super::broker::{BrokerDown, Delivery, QueueNames, Receipt, RetryPause};
use super::job::JobMessage;

/// How long connecting, or one operation, may take before RabbitMQ counts as down.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Queues nobody has used for this long are deleted by RabbitMQ.
const QUEUE_EXPIRES_MS: i64 = 6 * 60 * 60 * 1000;
/// Dead letters one replay moves at most.
const MAX_REPLAY: usize = 1000;

/// The server's link to RabbitMQ: one connection, reopened after a failure.
pub(crate) struct RabbitBroker {
    url: String,
    link: tokio::sync::Mutex<Option<Link>>,
    retry_pause: RetryPause,
    /// Work queues declared on the current connection.
    declared: Mutex<HashSet<String>>,
}

/// An open connection and its channel for confirmed publishes.
#[derive(Clone)]
struct Link {
    connection: Arc<Connection>,
    publisher: Channel,
}

fn down(error: impl std::fmt::Display) -> BrokerDown {
    BrokerDown(format!("RabbitMQ is unreachable: {error}"))
}

/// `operation`, or [`BrokerDown`] when it fails or takes longer than [`TIMEOUT`].
async fn within<T>(
    operation: impl std::future::Future<Output = lapin::Result<T>>,
) -> Result<T, BrokerDown> {
    match tokio::time::timeout(TIMEOUT, operation).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(down(error)),
        Err(_) => Err(down("no answer within 2 s")),
    }
}

fn string(text: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(text.as_bytes().to_vec()))
}

impl RabbitBroker {
    /// A link to `url`; nothing connects until first use.
    pub(crate) fn new(url: &str) -> Self {
        Self {
            url: url.to_string(),
            link: tokio::sync::Mutex::new(None),
            retry_pause: RetryPause::default(),
            declared: Mutex::default(),
        }
    }

    /// The open link, connecting if there is none or it broke.
    async fn link(&self) -> Result<Link, BrokerDown> {
        let mut slot = self.link.lock().await;
        if let Some(link) = slot.as_ref() {
            if link.connection.status().connected() && link.publisher.status().connected() {
                return Ok(link.clone());
            }
            *slot = None;
        }
        self.retry_pause.check("RabbitMQ")?;
        match self.connect().await {
            Ok(link) => {
                self.declared.lock().expect("never poisoned").clear();
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
        let connection = within(Connection::connect(
            &self.url,
            ConnectionProperties::default(),
        ))
        .await?;
        let publisher = within(connection.create_channel()).await?;
        within(publisher.confirm_select(ConfirmSelectOptions::default())).await?;
        Ok(Link {
            connection: Arc::new(connection),
            publisher,
        })
    }

    /// Declares the student's queues once per connection.
    async fn declare(&self, link: &Link, names: &QueueNames) -> Result<(), BrokerDown> {
        if self
            .declared
            .lock()
            .expect("never poisoned")
            .contains(&names.work)
        {
            return Ok(());
        }
        let durable = QueueDeclareOptions::durable();
        let mut expiring = FieldTable::default();
        expiring.insert("x-expires".into(), AMQPValue::LongLongInt(QUEUE_EXPIRES_MS));
        let mut retrying = expiring.clone();
        retrying.insert("x-dead-letter-exchange".into(), string(""));
        retrying.insert("x-dead-letter-routing-key".into(), string(&names.work));
        let channel = &link.publisher;
        within(channel.queue_declare(names.work.as_str().into(), durable, expiring.clone()))
            .await?;
        within(channel.queue_declare(names.retry.as_str().into(), durable, retrying)).await?;
        within(channel.queue_declare(names.dead.as_str().into(), durable, expiring)).await?;
        self.declared
            .lock()
            .expect("never poisoned")
            .insert(names.work.clone());
        Ok(())
    }

    /// `Ok` if the connection is open or could be opened now.
    pub(crate) async fn reachable(&self) -> Result<(), BrokerDown> {
        self.link().await.map(|_| ())
    }

    /// The link, with the student's queues declared on it.
    async fn ready(&self, names: &QueueNames) -> Result<Link, BrokerDown> {
        let link = self.link().await?;
        self.declare(&link, names).await?;
        Ok(link)
    }

    /// Publishes persistently to `queue` and waits for the confirmation.
    async fn send(
        link: &Link,
        queue: &str,
        message: &JobMessage,
        expiration: Option<Duration>,
    ) -> Result<(), BrokerDown> {
        let mut properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_message_id(ShortString::from(message.id.as_str()));
        if let Some(after) = expiration {
            properties = properties.with_expiration(after.as_millis().to_string().into());
        }
        let confirm = within(link.publisher.basic_publish(
            "".into(),
            queue.into(),
            BasicPublishOptions::default(),
            &message.to_bytes(),
            properties,
        ))
        .await?;
        let confirmation = within(confirm).await?;
        if confirmation.is_nack() {
            return Err(BrokerDown("RabbitMQ refused the message (nack)".into()));
        }
        Ok(())
    }

    /// A job for the work queue, now or (through the retry queue) after `delay`.
    pub(crate) async fn publish(
        &self,
        names: &QueueNames,
        message: &JobMessage,
        delay: Duration,
    ) -> Result<(), BrokerDown> {
        let link = self.ready(names).await?;
        if delay.is_zero() {
            Self::send(&link, &names.work, message, None).await
        } else {
            Self::send(&link, &names.retry, message, Some(delay)).await
        }
    }

    /// A job for the dead-letter queue.
    pub(crate) async fn dead_letter(
        &self,
        names: &QueueNames,
        message: &JobMessage,
    ) -> Result<(), BrokerDown> {
        let link = self.ready(names).await?;
        Self::send(&link, &names.dead, message, None).await
    }

    /// A consumer on its own channel, taking one message at a time.
    pub(crate) async fn subscribe(
        &self,
        names: &QueueNames,
    ) -> Result<RabbitSubscription, BrokerDown> {
        let link = self.ready(names).await?;
        let channel = within(link.connection.create_channel()).await?;
        within(channel.basic_qos(1, BasicQosOptions::default())).await?;
        let consumer = within(channel.basic_consume(
            names.work.as_str().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        ))
        .await?;
        Ok(RabbitSubscription { channel, consumer })
    }

    /// Reads up to `limit` dead letters without taking them: they are
    /// fetched unacknowledged on a channel of their own, which is then
    /// closed, so RabbitMQ puts them all back in their places.
    pub(crate) async fn dead_letters(
        &self,
        names: &QueueNames,
        limit: usize,
    ) -> Result<Vec<JobMessage>, BrokerDown> {
        let link = self.ready(names).await?;
        let channel = within(link.connection.create_channel()).await?;
        let mut letters = Vec::new();
        while letters.len() < limit {
            let got =
                within(channel.basic_get(names.dead.as_str().into(), BasicGetOptions::default()))
                    .await;
            match got {
                Ok(Some(got)) => letters.extend(JobMessage::from_bytes(&got.delivery.data)),
                Ok(None) => break,
                Err(error) => {
                    let _ = channel.close(200, "peeked".into()).await;
                    return Err(error);
                }
            }
        }
        let _ = within(channel.close(200, "peeked".into())).await;
        Ok(letters)
    }

    /// Moves every dead letter to the work queue as a first attempt: each
    /// is published (confirmed) before it is acknowledged on the dead
    /// queue, so an outage halfway loses none.
    pub(crate) async fn replay(&self, names: &QueueNames) -> Result<Vec<JobMessage>, BrokerDown> {
        let link = self.ready(names).await?;
        let channel = within(link.connection.create_channel()).await?;
        let mut moved = Vec::new();
        while moved.len() < MAX_REPLAY {
            let Some(got) =
                within(channel.basic_get(names.dead.as_str().into(), BasicGetOptions::default()))
                    .await?
            else {
                break;
            };
            if let Some(message) = JobMessage::from_bytes(&got.delivery.data) {
                let message = message.first_attempt();
                Self::send(&link, &names.work, &message, None).await?;
                moved.push(message);
            }
            within(got.delivery.acker.ack(BasicAckOptions::default())).await?;
        }
        let _ = within(channel.close(200, "replayed".into())).await;
        Ok(moved)
    }

    /// Empties the student's three queues.
    pub(crate) async fn purge(&self, names: &QueueNames) -> Result<(), BrokerDown> {
        let link = self.ready(names).await?;
        for queue in [&names.work, &names.retry, &names.dead] {
            within(
                link.publisher
                    .queue_purge(queue.as_str().into(), QueuePurgeOptions::default()),
            )
            .await?;
        }
        Ok(())
    }
}

/// One worker's consumer. Dropping it closes its channel, and RabbitMQ
/// requeues the message it held.
pub(crate) struct RabbitSubscription {
    channel: Channel,
    consumer: lapin::Consumer,
}

impl RabbitSubscription {
    /// The next message; bytes no worker of ours wrote are rejected
    /// without requeueing, so they cannot block the queue.
    pub(crate) async fn next(&mut self) -> Result<Delivery, BrokerDown> {
        loop {
            let delivery = match self.consumer.next().await {
                Some(Ok(delivery)) => delivery,
                Some(Err(error)) => return Err(down(error)),
                None => return Err(down("the consumer was cancelled")),
            };
            match JobMessage::from_bytes(&delivery.data) {
                Some(message) => {
                    return Ok(Delivery {
                        message,
                        redelivered: delivery.redelivered,
                        receipt: Receipt::Rabbit(delivery.acker),
                    })
                }
                None => {
                    within(delivery.acker.reject(BasicRejectOptions { requeue: false })).await?;
                }
            }
        }
    }

    /// Acknowledges a delivery.
    pub(crate) async fn ack(acker: lapin::Acker) -> Result<(), BrokerDown> {
        within(acker.ack(BasicAckOptions::default()))
            .await
            .map(|_| ())
    }
}

impl Drop for RabbitSubscription {
    fn drop(&mut self) {
        let channel = self.channel.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = within(channel.close(200, "worker stopped".into())).await;
            });
        }
    }
}
