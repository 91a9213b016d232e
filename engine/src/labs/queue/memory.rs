//! The in-process broker: a queue in the server's memory, so `make run`
//! needs no service. It keeps a broker's promises within one process: a
//! message is delivered to one worker at a time, stays the broker's until
//! that worker acknowledges it, and goes back to the front of the queue,
//! marked redelivered, if the worker dies holding it. A server restart
//! loses everything in it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

use super::broker::{Delivery, QueueNames, Receipt};
use super::job::JobMessage;

/// Dead letters one student's queue keeps; the oldest go beyond it.
const MAX_DEAD: usize = 1000;

/// Every student's in-process queue, by name.
#[derive(Default)]
pub(crate) struct MemoryBroker {
    queues: Mutex<HashMap<String, MemoryQueue>>,
}

#[derive(Default)]
struct MemoryQueue {
    ready: VecDeque<(JobMessage, bool)>,
    unacked: HashMap<u64, JobMessage>,
    next_tag: u64,
    /// Retries waiting out their backoff.
    delayed: u64,
    dead: VecDeque<JobMessage>,
    /// Bumped by a purge, so a retry still waiting from before is dropped.
    generation: u64,
    wake: Arc<Notify>,
}

/// What the in-process broker holds, all queues together.
pub(crate) struct Held {
    pub(crate) ready: usize,
    pub(crate) unacked: usize,
    pub(crate) dead: usize,
}

impl MemoryBroker {
    /// What every queue holds now.
    pub(crate) fn held(&self) -> Held {
        let queues = self.lock();
        Held {
            ready: queues.values().map(|queue| queue.ready.len()).sum(),
            unacked: queues.values().map(|queue| queue.unacked.len()).sum(),
            dead: queues.values().map(|queue| queue.dead.len()).sum(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, MemoryQueue>> {
        self.queues.lock().expect("never poisoned")
    }

    /// Puts `message` on the work queue, now or after `delay`.
    pub(crate) fn publish(
        self: &Arc<Self>,
        names: &QueueNames,
        message: JobMessage,
        delay: Duration,
    ) {
        if delay.is_zero() {
            self.push(&names.work, message, None);
            return;
        }
        let generation = {
            let mut queues = self.lock();
            let queue = queues.entry(names.work.clone()).or_default();
            queue.delayed += 1;
            queue.generation
        };
        let broker = self.clone();
        let name = names.work.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            broker.push(&name, message, Some(generation));
        });
    }

    /// Appends to the queue; a delayed message only if no purge came since.
    fn push(&self, name: &str, message: JobMessage, delayed_from: Option<u64>) {
        let mut queues = self.lock();
        let queue = queues.entry(name.to_string()).or_default();
        if let Some(generation) = delayed_from {
            if generation != queue.generation {
                return;
            }
            queue.delayed = queue.delayed.saturating_sub(1);
        }
        queue.ready.push_back((message, false));
        queue.wake.notify_waiters();
    }

    /// Puts `message` in the dead-letter queue.
    pub(crate) fn dead_letter(&self, names: &QueueNames, message: JobMessage) {
        let mut queues = self.lock();
        let dead = &mut queues.entry(names.work.clone()).or_default().dead;
        if dead.len() == MAX_DEAD {
            dead.pop_front();
        }
        dead.push_back(message);
    }

    /// A consumer of the work queue.
    pub(crate) fn subscribe(self: &Arc<Self>, names: &QueueNames) -> MemorySubscription {
        MemorySubscription {
            broker: self.clone(),
            queue: names.work.clone(),
            held: HashSet::new(),
        }
    }

    /// Messages waiting: ready, and retries waiting out their backoff.
    #[cfg(test)]
    pub(crate) fn waiting(&self, names: &QueueNames) -> u64 {
        self.lock()
            .get(&names.work)
            .map_or(0, |queue| queue.ready.len() as u64 + queue.delayed)
    }

    /// The dead letters, oldest first, up to `limit`.
    pub(crate) fn dead_letters(&self, names: &QueueNames, limit: usize) -> Vec<JobMessage> {
        self.lock().get(&names.work).map_or_else(Vec::new, |queue| {
            queue.dead.iter().take(limit).cloned().collect()
        })
    }

    /// Moves every dead letter back to the work queue as a first attempt.
    pub(crate) fn replay(&self, names: &QueueNames) -> Vec<JobMessage> {
        let mut queues = self.lock();
        let Some(queue) = queues.get_mut(&names.work) else {
            return Vec::new();
        };
        let replayed: Vec<JobMessage> = queue
            .dead
            .drain(..)
            .map(JobMessage::first_attempt)
            .collect();
        queue
            .ready
            .extend(replayed.iter().cloned().map(|message| (message, false)));
        queue.wake.notify_waiters();
        replayed
    }

    /// Empties the queue, its retries and its dead letters. Messages a
    /// worker holds stay that worker's.
    pub(crate) fn purge(&self, names: &QueueNames) {
        if let Some(queue) = self.lock().get_mut(&names.work) {
            queue.ready.clear();
            queue.dead.clear();
            queue.delayed = 0;
            queue.generation += 1;
        }
    }

    /// Drops the queue if nothing is in it or held from it.
    pub(crate) fn forget_if_empty(&self, names: &QueueNames) {
        let mut queues = self.lock();
        let empty = queues.get(&names.work).is_some_and(|queue| {
            queue.ready.is_empty()
                && queue.unacked.is_empty()
                && queue.delayed == 0
                && queue.dead.is_empty()
        });
        if empty {
            queues.remove(&names.work);
        }
    }
}

/// One worker's consumer. Dropping it (the worker died) hands every
/// message it holds back to the front of the queue, marked redelivered.
pub(crate) struct MemorySubscription {
    broker: Arc<MemoryBroker>,
    queue: String,
    held: HashSet<u64>,
}

impl MemorySubscription {
    /// The next message, waiting for one if the queue is empty.
    pub(crate) async fn next(&mut self) -> Delivery {
        loop {
            let wake = self
                .broker
                .lock()
                .entry(self.queue.clone())
                .or_default()
                .wake
                .clone();
            let mut notified = pin!(wake.notified());
            // Registered before looking, so a message pushed between the
            // look and the wait still wakes this worker.
            notified.as_mut().enable();
            if let Some(delivery) = self.take() {
                return delivery;
            }
            notified.await;
        }
    }

    fn take(&mut self) -> Option<Delivery> {
        let mut queues = self.broker.lock();
        let queue = queues.entry(self.queue.clone()).or_default();
        let (message, redelivered) = queue.ready.pop_front()?;
        queue.next_tag += 1;
        let tag = queue.next_tag;
        queue.unacked.insert(tag, message.clone());
        self.held.insert(tag);
        Some(Delivery {
            message,
            redelivered,
            receipt: Receipt::Memory(tag),
        })
    }

    /// The message with `tag` is done with: the broker forgets it.
    pub(crate) fn ack(&mut self, tag: u64) {
        self.held.remove(&tag);
        if let Some(queue) = self.broker.lock().get_mut(&self.queue) {
            queue.unacked.remove(&tag);
        }
    }
}

impl Drop for MemorySubscription {
    fn drop(&mut self) {
        let mut queues = self.broker.lock();
        let Some(queue) = queues.get_mut(&self.queue) else {
            return;
        };
        let mut tags: Vec<u64> = self.held.drain().collect();
        tags.sort_unstable();
        for tag in tags.into_iter().rev() {
            if let Some(message) = queue.unacked.remove(&tag) {
                queue.ready.push_front((message, true));
            }
        }
        queue.wake.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> QueueNames {
        QueueNames::for_tag("t1")
    }

    fn job(id: &str) -> JobMessage {
        JobMessage {
            id: id.into(),
            order: 1,
            to: "a@example.com".into(),
            failures: 0,
            attempt: 1,
            error: None,
            map: None,
        }
    }

    fn tag(delivery: &Delivery) -> u64 {
        match delivery.receipt {
            Receipt::Memory(tag) => tag,
            _ => unreachable!(),
        }
    }

    #[tokio::test]
    async fn a_message_goes_to_one_worker_and_an_acked_one_is_gone() {
        let broker = Arc::new(MemoryBroker::default());
        broker.publish(&names(), job("a"), Duration::ZERO);
        broker.publish(&names(), job("b"), Duration::ZERO);
        let mut first = broker.subscribe(&names());
        let mut second = broker.subscribe(&names());
        let a = first.next().await;
        let b = second.next().await;
        assert_eq!((a.message.id.as_str(), b.message.id.as_str()), ("a", "b"));
        first.ack(tag(&a));
        drop(first);
        assert_eq!(
            broker.waiting(&names()),
            0,
            "an acknowledged message never comes back"
        );
    }

    #[tokio::test]
    async fn a_dead_workers_message_comes_back_first_marked_redelivered() {
        let broker = Arc::new(MemoryBroker::default());
        broker.publish(&names(), job("a"), Duration::ZERO);
        broker.publish(&names(), job("b"), Duration::ZERO);
        let mut worker = broker.subscribe(&names());
        let a = worker.next().await;
        assert!(!a.redelivered);
        drop(worker);
        let mut other = broker.subscribe(&names());
        let again = other.next().await;
        assert_eq!(again.message.id, "a");
        assert!(again.redelivered);
        assert_eq!(other.next().await.message.id, "b");
    }

    #[tokio::test]
    async fn a_waiting_worker_wakes_for_a_new_message() {
        let broker = Arc::new(MemoryBroker::default());
        let mut worker = broker.subscribe(&names());
        let waiting = tokio::spawn(async move { worker.next().await.message.id });
        tokio::task::yield_now().await;
        broker.publish(&names(), job("late"), Duration::ZERO);
        assert_eq!(waiting.await.unwrap(), "late");
    }

    #[tokio::test]
    async fn dead_letters_replay_as_first_attempts_and_a_purge_drops_waiting_retries() {
        let broker = Arc::new(MemoryBroker::default());
        broker.dead_letter(
            &names(),
            JobMessage {
                attempt: 3,
                ..job("d")
            },
        );
        assert_eq!(broker.dead_letters(&names(), 10).len(), 1);
        let replayed = broker.replay(&names());
        assert_eq!(replayed[0].attempt, 1);
        assert_eq!(broker.waiting(&names()), 1);
        assert!(broker.dead_letters(&names(), 10).is_empty());

        tokio::time::pause();
        broker.publish(&names(), job("r"), Duration::from_secs(5));
        assert_eq!(
            broker.waiting(&names()),
            2,
            "a retry waiting out its backoff counts"
        );
        broker.purge(&names());
        tokio::time::advance(Duration::from_secs(6)).await;
        tokio::task::yield_now().await;
        assert_eq!(broker.waiting(&names()), 0);
    }
}
