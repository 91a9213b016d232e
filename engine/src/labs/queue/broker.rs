//! The brokers a student can choose, behind one set of operations the
//! workers and routes use: publish (now or after a backoff), consume with
//! explicit acknowledgements, dead-letter, replay, purge.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use model::labs::queue::Broker;
use sha2::{Digest, Sha256};

use super::job::JobMessage;
use super::memory::{MemoryBroker, MemorySubscription};
use super::nats::{NatsBroker, NatsReceipt, NatsSubscription};
use super::rabbit::{RabbitBroker, RabbitSubscription};
use crate::students::StudentId;

/// The broker cannot be used now: unreachable, or not configured.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct BrokerDown(pub(crate) String);

/// After a failed connection to a broker, the pause before trying again,
/// so an outage costs one timeout per pause and not one per request.
#[derive(Default)]
pub(crate) struct RetryPause {
    failed_at: Mutex<Option<Instant>>,
}

impl RetryPause {
    const PAUSE: Duration = Duration::from_millis(500);

    /// `Err` while `broker`'s last connection failed less than a pause ago.
    pub(crate) fn check(&self, broker: &str) -> Result<(), BrokerDown> {
        let failed_at = *self.failed_at.lock().expect("never poisoned");
        if failed_at.is_some_and(|at| at.elapsed() < Self::PAUSE) {
            return Err(BrokerDown(format!(
                "{broker} was unreachable a moment ago; trying again shortly"
            )));
        }
        Ok(())
    }

    /// Starts a pause: connecting failed just now.
    pub(crate) fn failed(&self) {
        *self.failed_at.lock().expect("never poisoned") = Some(Instant::now());
    }
}

/// One student's queues on a broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct QueueNames {
    /// Where jobs wait for a worker.
    pub(crate) work: String,
    /// Where a failed job waits out its backoff (RabbitMQ; on NATS a
    /// retry waits in the work subject, marked with when it is due).
    pub(crate) retry: String,
    /// Where a job goes after its last attempt failed.
    pub(crate) dead: String,
    /// The tag in the names, which also prefixes message ids.
    pub(crate) tag: String,
}

impl QueueNames {
    /// The queues of a student: named by a hash of their id, so the
    /// broker's own tools never show a session id.
    pub(crate) fn of(student: &StudentId) -> Self {
        let digest = Sha256::digest(student.as_str().as_bytes());
        let tag: String = digest[..8]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        Self::for_tag(&tag)
    }

    pub(crate) fn for_tag(tag: &str) -> Self {
        let work = format!("workbench.jobs.{tag}");
        Self {
            retry: format!("{work}.retry"),
            dead: format!("{work}.dead"),
            work,
            tag: tag.to_string(),
        }
    }
}

/// A message a worker holds, and how to acknowledge it.
pub(crate) struct Delivery {
    pub(crate) message: JobMessage,
    /// The broker delivered it before, to a worker that never acknowledged it.
    pub(crate) redelivered: bool,
    pub(crate) receipt: Receipt,
}

/// What acknowledges a delivery on its broker.
pub(crate) enum Receipt {
    Memory(u64),
    Rabbit(lapin::Acker),
    Nats(Box<NatsReceipt>),
}

/// A broker the server can reach.
#[derive(Clone)]
pub(crate) enum BrokerRef {
    Memory(Arc<MemoryBroker>),
    Rabbit(Arc<RabbitBroker>),
    Nats(Arc<NatsBroker>),
}

impl BrokerRef {
    /// Which broker this is.
    pub(crate) fn kind(&self) -> Broker {
        match self {
            BrokerRef::Memory(_) => Broker::InProcess,
            BrokerRef::Rabbit(_) => Broker::RabbitMq,
            BrokerRef::Nats(_) => Broker::Nats,
        }
    }

    /// `Ok` if the broker answers now (reconnecting if it can).
    pub(crate) async fn health(&self) -> Result<(), BrokerDown> {
        match self {
            BrokerRef::Memory(_) => Ok(()),
            BrokerRef::Rabbit(rabbit) => rabbit.reachable().await,
            BrokerRef::Nats(nats) => nats.reachable().await,
        }
    }

    /// Publishes `message` to the work queue, now or after `delay`;
    /// `Ok` once the broker has it (a confirmed publish).
    pub(crate) async fn publish(
        &self,
        names: &QueueNames,
        message: &JobMessage,
        delay: Duration,
    ) -> Result<(), BrokerDown> {
        match self {
            BrokerRef::Memory(memory) => {
                memory.publish(names, message.clone(), delay);
                Ok(())
            }
            BrokerRef::Rabbit(rabbit) => rabbit.publish(names, message, delay).await,
            BrokerRef::Nats(nats) => nats.publish(names, message, delay).await,
        }
    }

    /// Puts `message` in the dead-letter queue.
    pub(crate) async fn dead_letter(
        &self,
        names: &QueueNames,
        message: &JobMessage,
    ) -> Result<(), BrokerDown> {
        match self {
            BrokerRef::Memory(memory) => {
                memory.dead_letter(names, message.clone());
                Ok(())
            }
            BrokerRef::Rabbit(rabbit) => rabbit.dead_letter(names, message).await,
            BrokerRef::Nats(nats) => nats.dead_letter(names, message).await,
        }
    }

    /// A consumer of the work queue for one worker.
    pub(crate) async fn subscribe(&self, names: &QueueNames) -> Result<Subscription, BrokerDown> {
        match self {
            BrokerRef::Memory(memory) => Ok(Subscription::Memory(memory.subscribe(names))),
            BrokerRef::Rabbit(rabbit) => Ok(Subscription::Rabbit(Box::new(
                rabbit.subscribe(names).await?,
            ))),
            BrokerRef::Nats(nats) => Ok(Subscription::Nats(Box::new(nats.subscribe(names).await?))),
        }
    }

    /// The dead letters, oldest first, up to `limit`.
    pub(crate) async fn dead_letters(
        &self,
        names: &QueueNames,
        limit: usize,
    ) -> Result<Vec<JobMessage>, BrokerDown> {
        match self {
            BrokerRef::Memory(memory) => Ok(memory.dead_letters(names, limit)),
            BrokerRef::Rabbit(rabbit) => rabbit.dead_letters(names, limit).await,
            BrokerRef::Nats(nats) => nats.dead_letters(names, limit).await,
        }
    }

    /// Moves the dead letters back to the work queue as first attempts;
    /// the messages moved.
    pub(crate) async fn replay(&self, names: &QueueNames) -> Result<Vec<JobMessage>, BrokerDown> {
        match self {
            BrokerRef::Memory(memory) => Ok(memory.replay(names)),
            BrokerRef::Rabbit(rabbit) => rabbit.replay(names).await,
            BrokerRef::Nats(nats) => nats.replay(names).await,
        }
    }

    /// Empties the student's queues.
    pub(crate) async fn purge(&self, names: &QueueNames) -> Result<(), BrokerDown> {
        match self {
            BrokerRef::Memory(memory) => {
                memory.purge(names);
                Ok(())
            }
            BrokerRef::Rabbit(rabbit) => rabbit.purge(names).await,
            BrokerRef::Nats(nats) => nats.purge(names).await,
        }
    }
}

/// One worker's consumer on its broker.
pub(crate) enum Subscription {
    Memory(MemorySubscription),
    /// Boxed: a lapin consumer is several times the size of the other.
    Rabbit(Box<RabbitSubscription>),
    Nats(Box<NatsSubscription>),
}

impl Subscription {
    /// The next message for this worker.
    pub(crate) async fn next(&mut self) -> Result<Delivery, BrokerDown> {
        match self {
            Subscription::Memory(memory) => Ok(memory.next().await),
            Subscription::Rabbit(rabbit) => rabbit.next().await,
            Subscription::Nats(nats) => nats.next().await,
        }
    }

    /// Tells the broker the delivery is done with.
    pub(crate) async fn ack(&mut self, receipt: Receipt) -> Result<(), BrokerDown> {
        match (self, receipt) {
            (Subscription::Memory(memory), Receipt::Memory(tag)) => {
                memory.ack(tag);
                Ok(())
            }
            (Subscription::Rabbit(_), Receipt::Rabbit(acker)) => {
                RabbitSubscription::ack(acker).await
            }
            (Subscription::Nats(_), Receipt::Nats(receipt)) => NatsSubscription::ack(receipt).await,
            _ => unreachable!("a receipt is acknowledged on the subscription that gave it"),
        }
    }
}
