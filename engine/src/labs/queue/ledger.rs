//! What the console shows of one student's jobs: the counts, the chart's
//! points, the latest jobs, and the fake mail server with its outbox.
//!
//! The workers write here as they go; nothing here decides what a worker
//! does, except the mail server, which refuses an e-mail as many times as
//! the job asked and remembers which message ids it has sent, so an
//! idempotent worker can ask.

use std::collections::{HashMap, VecDeque};

use model::labs::queue::{JobState, JobView, QueueCounts, QueuePoint, SentEmail};

use super::job::JobMessage;

/// Points the chart keeps.
const MAX_POINTS: usize = 300;
/// Changes closer together than this share one point.
const POINT_EVERY_MS: u64 = 200;
/// Jobs the console lists.
pub(crate) const SHOWN: usize = 50;
/// Jobs remembered (for their state), and message ids the mail server
/// remembers having sent: the window an idempotent worker deduplicates in.
const REMEMBERED: usize = 5000;

/// What the mail server did with an e-mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Mailed {
    /// Sent; `copy` counts the e-mails sent for this message id.
    Sent { copy: u32 },
    /// An idempotent worker found one already sent and sent none.
    Skipped,
    /// The mail server refused, saying why.
    Refused(String),
}

/// One student's jobs.
#[derive(Default)]
pub(crate) struct Ledger {
    counts: QueueCounts,
    /// Waiting messages. A worker may take a message before the request
    /// that published it has recorded the publish (the broker is that
    /// fast), so this may dip below zero for a moment; shown, it never does.
    waiting: i64,
    started_ms: i64,
    timeline: VecDeque<QueuePoint>,
    jobs: HashMap<String, JobView>,
    /// Job ids, oldest first.
    order: VecDeque<String>,
    outbox: VecDeque<SentEmail>,
    /// E-mails sent per message id.
    sent: HashMap<String, u32>,
    refused: HashMap<String, u32>,
    /// Message ids in the order the mail server first saw them.
    seen: VecDeque<String>,
    next_id: u64,
}

impl Ledger {
    /// An empty ledger whose chart starts at `now_ms`.
    pub(crate) fn new(now_ms: i64) -> Self {
        Self {
            started_ms: now_ms,
            ..Self::default()
        }
    }

    /// A new job's message id (the queue's tag, a dash, a number) and
    /// that number, which is also its order's.
    pub(crate) fn next_id(&mut self, tag: &str) -> (String, u64) {
        self.next_id += 1;
        let short: String = tag.chars().take(4).collect();
        (format!("{short}-{}", self.next_id), self.next_id)
    }

    pub(crate) fn counts(&self) -> QueueCounts {
        QueueCounts {
            waiting: self.waiting.max(0) as u64,
            ..self.counts.clone()
        }
    }

    pub(crate) fn timeline(&self) -> Vec<QueuePoint> {
        self.timeline.iter().cloned().collect()
    }

    /// The latest jobs, newest first.
    pub(crate) fn jobs(&self) -> Vec<JobView> {
        self.order
            .iter()
            .rev()
            .take(SHOWN)
            .filter_map(|id| self.jobs.get(id).cloned())
            .collect()
    }

    /// E-mails sent for message `id`.
    pub(crate) fn emails_for(&self, id: &str) -> u32 {
        self.sent.get(id).copied().unwrap_or(0)
    }

    pub(crate) fn outbox(&self) -> Vec<SentEmail> {
        self.outbox.iter().rev().cloned().collect()
    }

    fn job(&mut self, message: &JobMessage) -> &mut JobView {
        if !self.jobs.contains_key(&message.id) {
            if self.order.len() == REMEMBERED {
                if let Some(oldest) = self.order.pop_front() {
                    self.jobs.remove(&oldest);
                }
            }
            self.order.push_back(message.id.clone());
        }
        self.jobs
            .entry(message.id.clone())
            .or_insert_with(|| JobView {
                id: message.id.clone(),
                order: message.order,
                to: message.to.clone(),
                ..JobView::default()
            })
    }

    fn set(&mut self, message: &JobMessage, state: JobState, last: String) {
        let job = self.job(message);
        job.state = state;
        job.last = last;
    }

    /// Adds a point for the counts now, or updates the last one when it
    /// is recent.
    fn mark(&mut self, now_ms: i64) {
        let at_ms = now_ms.saturating_sub(self.started_ms).max(0) as u64;
        let counts = &self.counts;
        let point = QueuePoint {
            at_ms,
            waiting: self.waiting.max(0) as u64,
            in_flight: counts.in_flight,
            done: counts.done,
            retried: counts.retried,
            dead: counts.dead,
        };
        match self.timeline.back_mut() {
            Some(last) if at_ms.saturating_sub(last.at_ms) < POINT_EVERY_MS => {
                *last = QueuePoint {
                    at_ms: last.at_ms,
                    ..point
                }
            }
            _ => {
                if self.timeline.len() == MAX_POINTS {
                    self.timeline.pop_front();
                }
                self.timeline.push_back(point);
            }
        }
    }

    /// A copy of `message` is on the queue.
    pub(crate) fn published(&mut self, message: &JobMessage, now_ms: i64) {
        self.counts.published += 1;
        self.waiting += 1;
        self.set(message, JobState::Waiting, "queued".into());
        self.mark(now_ms);
    }

    /// A worker took `message`.
    pub(crate) fn taken(
        &mut self,
        message: &JobMessage,
        redelivered: bool,
        worker: u32,
        now_ms: i64,
    ) {
        self.waiting -= 1;
        self.counts.in_flight += 1;
        if redelivered {
            self.counts.redelivered += 1;
        }
        let job = self.job(message);
        job.state = JobState::InFlight;
        job.attempts = job.attempts.max(message.attempt);
        if redelivered {
            job.redeliveries += 1;
        }
        job.last = format!(
            "worker {worker} took attempt {}{}",
            message.attempt,
            if redelivered { " (redelivered)" } else { "" }
        );
        self.mark(now_ms);
    }

    /// The mail server's answer to sending `message`'s e-mail.
    pub(crate) fn mail(&mut self, message: &JobMessage, idempotent: bool, worker: u32) -> Mailed {
        let refused = self.refused.entry(message.id.clone()).or_default();
        if *refused < message.failures {
            *refused += 1;
            return Mailed::Refused(format!(
                "451 mail server busy, try again later (refusal {refused} of {})",
                message.failures
            ));
        }
        let already = self.sent.get(&message.id).copied().unwrap_or(0);
        if idempotent && already > 0 {
            self.counts.duplicates_skipped += 1;
            return Mailed::Skipped;
        }
        if already == 0 {
            if self.seen.len() == REMEMBERED {
                if let Some(oldest) = self.seen.pop_front() {
                    self.sent.remove(&oldest);
                    self.refused.remove(&oldest);
                }
            }
            self.seen.push_back(message.id.clone());
        }
        let copy = already + 1;
        self.sent.insert(message.id.clone(), copy);
        self.counts.emails_sent += 1;
        if copy > 1 {
            self.counts.duplicate_emails += 1;
        }
        if self.outbox.len() == SHOWN {
            self.outbox.pop_front();
        }
        self.outbox.push_back(SentEmail {
            job: message.id.clone(),
            to: message.to.clone(),
            subject: message.subject(),
            copy,
            worker,
        });
        self.job(message).emails = copy;
        Mailed::Sent { copy }
    }

    /// The job is finished and acknowledged.
    pub(crate) fn done(&mut self, message: &JobMessage, worker: u32, now_ms: i64) {
        self.counts.in_flight = self.counts.in_flight.saturating_sub(1);
        self.counts.done += 1;
        self.set(
            message,
            JobState::Done,
            format!("worker {worker} finished it"),
        );
        self.mark(now_ms);
    }

    /// An idempotent worker acknowledged a duplicate without sending.
    pub(crate) fn skipped(&mut self, message: &JobMessage, worker: u32, now_ms: i64) {
        self.counts.in_flight = self.counts.in_flight.saturating_sub(1);
        self.counts.done += 1;
        let job = self.job(message);
        if job.state == JobState::InFlight {
            job.state = JobState::Done;
        }
        job.last = format!("worker {worker} skipped a duplicate: its e-mail was already sent");
        self.mark(now_ms);
    }

    /// The attempt failed; the job waits `backoff_ms` for the next one.
    pub(crate) fn retrying(
        &mut self,
        message: &JobMessage,
        error: &str,
        backoff_ms: u128,
        now_ms: i64,
    ) {
        self.counts.in_flight = self.counts.in_flight.saturating_sub(1);
        self.counts.retried += 1;
        self.waiting += 1;
        self.set(
            message,
            JobState::Retrying,
            format!(
                "attempt {} failed ({error}); next in {backoff_ms} ms",
                message.attempt
            ),
        );
        self.mark(now_ms);
    }

    /// The last attempt failed: the job is in the dead-letter queue.
    pub(crate) fn dead(&mut self, message: &JobMessage, error: &str, now_ms: i64) {
        self.counts.in_flight = self.counts.in_flight.saturating_sub(1);
        self.counts.dead += 1;
        self.set(
            message,
            JobState::Dead,
            format!(
                "attempt {} failed ({error}): dead-lettered",
                message.attempt
            ),
        );
        self.mark(now_ms);
    }

    /// The worker holding `message` died (or lost its broker) before
    /// acknowledging it: the broker will deliver it again.
    pub(crate) fn back_on_queue(&mut self, message: &JobMessage, why: &str, now_ms: i64) {
        self.counts.in_flight = self.counts.in_flight.saturating_sub(1);
        self.waiting += 1;
        self.set(
            message,
            JobState::Waiting,
            format!("{why}; back on the queue"),
        );
        self.mark(now_ms);
    }

    /// The worker holding `message` died after acknowledging it: gone.
    pub(crate) fn lost(&mut self, message: &JobMessage, why: &str, now_ms: i64) {
        self.counts.in_flight = self.counts.in_flight.saturating_sub(1);
        self.counts.lost += 1;
        self.set(
            message,
            JobState::Lost,
            format!("{why} after acknowledging it: the broker has forgotten it"),
        );
        self.mark(now_ms);
    }

    /// Dead letters went back on the work queue.
    pub(crate) fn replayed(&mut self, messages: &[JobMessage], now_ms: i64) {
        for message in messages {
            self.counts.dead = self.counts.dead.saturating_sub(1);
            self.waiting += 1;
            let job = self.job(message);
            job.state = JobState::Waiting;
            job.last = "replayed from the dead-letter queue".into();
        }
        self.mark(now_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, failures: u32) -> JobMessage {
        JobMessage {
            id: id.into(),
            order: 3,
            to: "a@example.com".into(),
            failures,
            attempt: 1,
            error: None,
            map: None,
        }
    }

    #[test]
    fn the_mail_server_refuses_as_asked_then_counts_duplicates() {
        let mut ledger = Ledger::new(0);
        let message = job("x-1", 2);
        assert!(matches!(
            ledger.mail(&message, false, 1),
            Mailed::Refused(_)
        ));
        assert!(matches!(
            ledger.mail(&message, false, 1),
            Mailed::Refused(_)
        ));
        assert_eq!(ledger.mail(&message, false, 1), Mailed::Sent { copy: 1 });
        assert_eq!(ledger.mail(&message, false, 2), Mailed::Sent { copy: 2 });
        assert_eq!(ledger.counts().duplicate_emails, 1);
        assert_eq!(ledger.mail(&message, true, 2), Mailed::Skipped);
        assert_eq!(ledger.counts().emails_sent, 2);
        assert_eq!(ledger.counts().duplicates_skipped, 1);
        assert_eq!(ledger.outbox()[0].copy, 2, "newest first");
    }

    #[test]
    fn counts_follow_a_job_through_a_death_a_retry_and_the_dead_letter_queue() {
        let mut ledger = Ledger::new(0);
        let message = job("x-2", 0);
        ledger.published(&message, 0);
        ledger.taken(&message, false, 1, 10);
        ledger.back_on_queue(&message, "worker 1 died", 20);
        ledger.taken(&message, true, 2, 30);
        ledger.retrying(&message, "451", 1000, 40);
        let second = message.retry("451");
        ledger.taken(&second, false, 2, 1040);
        ledger.dead(&second, "451", 1050);
        let counts = ledger.counts();
        assert_eq!(
            (
                counts.waiting,
                counts.in_flight,
                counts.retried,
                counts.dead,
                counts.redelivered
            ),
            (0, 0, 1, 1, 1)
        );
        let view = &ledger.jobs()[0];
        assert_eq!(
            (view.state, view.attempts, view.redeliveries),
            (JobState::Dead, 2, 1)
        );
        ledger.replayed(&[second], 2000);
        assert_eq!((ledger.counts().dead, ledger.counts().waiting), (0, 1));
    }

    #[test]
    fn the_chart_keeps_one_point_per_200_ms() {
        let mut ledger = Ledger::new(1_000);
        ledger.published(&job("a", 0), 1_000);
        ledger.published(&job("b", 0), 1_150);
        ledger.published(&job("c", 0), 1_300);
        let timeline = ledger.timeline();
        assert_eq!(timeline.len(), 2);
        assert_eq!((timeline[0].at_ms, timeline[0].waiting), (0, 2));
        assert_eq!((timeline[1].at_ms, timeline[1].waiting), (300, 3));
    }
}
