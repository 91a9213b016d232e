//! The lab's state: the brokers this server can reach and every
//! student's worker pool.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use model::labs::queue::{Broker, QueueSettings};
use tokio::sync::watch;

use super::broker::{BrokerDown, BrokerRef, QueueNames};
use super::memory::MemoryBroker;
use super::nats::NatsBroker;
use super::pool::Pool;
use super::rabbit::RabbitBroker;
use crate::clock::Clock;
use crate::error::ApiError;
use crate::labs::LabContext;
use crate::limiter::KeyedLimiter;
use crate::students::StudentId;

/// Students whose workers run at once: 4 workers each is 1,200 tasks and,
/// on RabbitMQ, 1,200 channels on one connection (its default cap is 2,047).
const MAX_POOLS: usize = 300;
/// A pool with nothing waiting or held is stopped after this long unused.
const IDLE_MS: i64 = 10 * 60 * 1000;
/// Messages one student may publish in a burst; then one more every
/// [`PUBLISH_REFILL`] (100 a second).
const PUBLISH_BURST: u32 = 500;
const PUBLISH_REFILL: Duration = Duration::from_millis(10);
/// Kills one student may make in a row, then one a second: each starts a
/// worker (on RabbitMQ, a channel), so a loop of kills is refused.
const KILL_BURST: u32 = 10;
const KILL_REFILL: Duration = Duration::from_secs(1);

/// Every student's queue and workers, and the brokers behind them.
pub struct Queues {
    memory: Arc<MemoryBroker>,
    rabbit: Option<Arc<RabbitBroker>>,
    nats: Option<Arc<NatsBroker>>,
    pools: Mutex<HashMap<StudentId, Arc<Pool>>>,
    pub(crate) publishes: KeyedLimiter<StudentId>,
    pub(crate) kills: KeyedLimiter<StudentId>,
    clock: Arc<dyn Clock>,
    stopping: watch::Receiver<bool>,
}

impl Queues {
    pub(crate) fn new(context: &LabContext) -> Self {
        Self {
            memory: Arc::default(),
            rabbit: context
                .services
                .url("amqp")
                .map(|url| Arc::new(RabbitBroker::new(url))),
            nats: context
                .services
                .url("nats")
                .map(|url| Arc::new(NatsBroker::new(url))),
            pools: Mutex::default(),
            publishes: KeyedLimiter::new(
                NonZeroU32::new(PUBLISH_BURST).expect("nonzero"),
                PUBLISH_REFILL,
                "messages published to the queue",
            ),
            kills: KeyedLimiter::new(
                NonZeroU32::new(KILL_BURST).expect("nonzero"),
                KILL_REFILL,
                "worker kills",
            ),
            clock: context.clock.clone(),
            stopping: context.stopping.clone(),
        }
    }

    /// The broker of that kind, if this server has it.
    pub(crate) fn broker(&self, kind: Broker) -> Result<BrokerRef, BrokerDown> {
        match kind {
            Broker::InProcess => Ok(BrokerRef::Memory(self.memory.clone())),
            Broker::RabbitMq => self.rabbit.clone().map(BrokerRef::Rabbit).ok_or_else(|| {
                BrokerDown(
                    "This server has no RabbitMQ: start it with --service amqp=amqp://127.0.0.1:5672 (or WORKBENCH_SERVICES=amqp=...), or choose the in-process broker.".into(),
                )
            }),
            Broker::Nats => self.nats.clone().map(BrokerRef::Nats).ok_or_else(|| {
                BrokerDown(
                    "This server has no NATS: start it with --service nats=nats://127.0.0.1:4222 (or WORKBENCH_SERVICES=nats=...), or choose the in-process broker.".into(),
                )
            }),
        }
    }

    /// The student's pool, started if need be and brought in line with
    /// their settings.
    pub(crate) fn pool(
        &self,
        student: &StudentId,
        settings: &QueueSettings,
    ) -> Result<Arc<Pool>, ApiError> {
        let pool = {
            let mut pools = self.pools.lock().expect("never poisoned");
            if let Some(pool) = pools.get(student) {
                pool.clone()
            } else {
                if pools.len() >= MAX_POOLS {
                    return Err(ApiError::Unavailable(format!(
                        "The queue lab is running {MAX_POOLS} students' workers, as many as it may; try again in a few minutes."
                    )));
                }
                let pool = Arc::new(Pool::new(
                    QueueNames::of(student),
                    self.clock.clone(),
                    self.stopping.clone(),
                ));
                pools.insert(student.clone(), pool.clone());
                pool
            }
        };
        pool.configure(settings, self.broker(settings.broker));
        Ok(pool)
    }

    /// Students' worker pools, and the in-process broker's messages.
    pub(crate) fn gauges(&self, gauges: &mut crate::labs::LabGauges<'_>) {
        let pools = self.pools.lock().expect("never poisoned").len();
        gauges.gauge("worker_pools", "Students' worker pools running.", pools);
        let held = self.memory.held();
        gauges.gauge(
            "memory_messages_ready",
            "Messages waiting in the in-process broker's queues.",
            held.ready,
        );
        gauges.gauge(
            "memory_messages_unacked",
            "Messages a worker took from the in-process broker and has not acknowledged.",
            held.unacked,
        );
        gauges.gauge(
            "memory_messages_dead",
            "Messages in the in-process broker's dead-letter queues.",
            held.dead,
        );
    }

    /// Stops the pools of students who left with nothing waiting.
    pub(crate) fn forget_idle(&self) {
        let now_ms = self.clock.now_ms();
        let mut pools = self.pools.lock().expect("never poisoned");
        pools.retain(|_, pool| {
            let keep = pool.busy() || now_ms - pool.last_used_ms() < IDLE_MS;
            if !keep {
                pool.stop();
                self.memory.forget_if_empty(&pool.names);
            }
            keep
        });
        self.publishes.forget_idle();
        self.kills.forget_idle();
    }
}
