//! The queue replayed on a virtual clock: a seeded schedule of jobs,
//! producer duplicates, worker crashes and mail-server refusals, run
//! against a student's settings with no broker and no waiting. The grader
//! uses it; it follows the live lab's rules: the same acknowledgement
//! modes, the same retry decision ([`after_failure`]) and the same mail
//! server ([`Ledger::mail`]), with a broker that redelivers what a dead
//! worker held, first and marked redelivered.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use model::labs::queue::{AckMode, QueueSettings};

use super::job::{after_failure, AfterFailure, JobMessage};
use super::ledger::{Ledger, Mailed};

/// When the worker holding a job's first delivery crashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Crash {
    /// While preparing the e-mail, before sending it.
    BeforeSend,
    /// Just after sending it, before acknowledging.
    AfterSend,
}

/// One job of a schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PlannedJob {
    pub(crate) id: String,
    /// Virtual milliseconds at which it is published.
    pub(crate) at_ms: u64,
    /// Times it is published (a producer that retried).
    pub(crate) copies: u32,
    /// Times the mail server refuses it before accepting.
    pub(crate) failures: u32,
    /// What happens to the worker that takes it first.
    pub(crate) crash: Option<Crash>,
}

/// A numbered, reproducible mix of trouble: `jobs` jobs published 100 ms
/// apart; about one in five published twice, one in six refused once by
/// the mail server, and one in five of the first deliveries crashing its
/// worker, half before and half after the e-mail; the first four jobs
/// have one kind of trouble each. The same seed always gives the same
/// schedule (splitmix64, so no library update changes it).
pub(crate) fn schedule(seed: u64, jobs: u32) -> Vec<PlannedJob> {
    let mut dice = crate::seeded::SplitMix64::new(seed);
    let mut next = move || dice.next_u64();
    let mut planned: Vec<PlannedJob> = (1..=u64::from(jobs))
        .map(|n| {
            let roll = next();
            PlannedJob {
                id: format!("s{seed}-{n}"),
                at_ms: (n - 1) * 100,
                copies: if roll % 5 == 0 { 2 } else { 1 },
                failures: u32::from((roll >> 8) % 6 == 0),
                crash: match (roll >> 16) % 10 {
                    0 => Some(Crash::BeforeSend),
                    1 => Some(Crash::AfterSend),
                    _ => None,
                },
            }
        })
        .collect();
    // Every kind of trouble at least once, alone on its job, so each
    // wrong setting shows: a lost job, a resent e-mail, a duplicate, a retry.
    let alone = [
        (Some(Crash::BeforeSend), 1, 0),
        (Some(Crash::AfterSend), 1, 0),
        (None, 2, 0),
        (None, 1, 1),
    ];
    for (job, (crash, copies, failures)) in planned.iter_mut().zip(alone) {
        job.crash = crash;
        job.copies = copies;
        job.failures = failures;
    }
    planned
}

/// What a replay saw, per job and in all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// E-mails sent, per job id (every planned job has an entry).
    pub(crate) emails: Vec<(String, u32)>,
    pub(crate) lost: u64,
    pub(crate) dead: u64,
    pub(crate) redelivered: u64,
    pub(crate) duplicates_skipped: u64,
    /// When the last job ended, in virtual milliseconds.
    pub(crate) finished_at_ms: u64,
}

/// A worker's job in hand.
struct Holding {
    message: JobMessage,
    acked: bool,
    /// The virtual time its current half ends.
    until_ms: u64,
    sent: bool,
}

/// Runs `jobs` against `settings` from time 0 until nothing is left (or a
/// virtual hour has passed, for settings that never finish).
pub(crate) fn replay(settings: &QueueSettings, jobs: &[PlannedJob]) -> Outcome {
    const HORIZON_MS: u64 = 60 * 60 * 1000;
    let half = u64::from(settings.work_ms / 2);
    let base = Duration::from_millis(u64::from(settings.retry_backoff_ms));
    let mut ledger = Ledger::new(0);
    let mut publishes: VecDeque<(u64, JobMessage)> = VecDeque::new();
    for job in jobs {
        let message = JobMessage {
            id: job.id.clone(),
            order: 0,
            to: "customer@example.com".into(),
            failures: job.failures,
            attempt: 1,
            error: None,
            map: None,
        };
        for _ in 0..job.copies {
            publishes.push_back((job.at_ms, message.clone()));
        }
    }
    let mut crashes: HashMap<&str, Crash> = jobs
        .iter()
        .filter_map(|job| Some((job.id.as_str(), job.crash?)))
        .collect();
    let mut ready: VecDeque<(JobMessage, bool)> = VecDeque::new();
    let mut delayed: Vec<(u64, JobMessage)> = Vec::new();
    let mut workers: Vec<Option<Holding>> = (0..settings.workers).map(|_| None).collect();
    let mut outcome = Outcome::default();
    let mut now = 0;
    while now <= HORIZON_MS {
        while publishes.front().is_some_and(|(at, _)| *at <= now) {
            let (_, message) = publishes.pop_front().expect("just seen");
            ledger.published(&message, now as i64);
            ready.push_back((message, false));
        }
        delayed.sort_by_key(|(due, _)| *due);
        while delayed.first().is_some_and(|(due, _)| *due <= now) {
            ready.push_back((delayed.remove(0).1, false));
        }
        let mut changed = false;
        for (number, slot) in workers.iter_mut().enumerate() {
            let worker = number as u32 + 1;
            if slot.is_none() {
                if let Some((message, redelivered)) = ready.pop_front() {
                    ledger.taken(&message, redelivered, worker, now as i64);
                    if redelivered {
                        outcome.redelivered += 1;
                    }
                    *slot = Some(Holding {
                        acked: settings.ack == AckMode::BeforeWork,
                        message,
                        until_ms: now + half,
                        sent: false,
                    });
                    changed = true;
                }
            }
            let Some(holding) = slot.as_mut().filter(|h| h.until_ms <= now) else {
                continue;
            };
            changed = true;
            let id = holding.message.id.clone();
            let crash = crashes.get(id.as_str()).copied();
            if !holding.sent {
                if crash == Some(Crash::BeforeSend) {
                    crashes.remove(id.as_str());
                    died(
                        &mut ledger,
                        &mut ready,
                        slot.take().expect("held"),
                        now,
                        &mut outcome,
                    );
                    continue;
                }
                match ledger.mail(&holding.message, settings.idempotent, worker) {
                    Mailed::Refused(error) => {
                        let message = holding.message.clone();
                        match after_failure(message.attempt, settings.max_attempts, base) {
                            AfterFailure::RetryIn(delay) => {
                                delayed
                                    .push((now + delay.as_millis() as u64, message.retry(&error)));
                                ledger.retrying(&message, &error, delay.as_millis(), now as i64);
                            }
                            AfterFailure::DeadLetter => {
                                outcome.dead += 1;
                                ledger.dead(&message, &error, now as i64);
                            }
                        }
                        *slot = None;
                    }
                    Mailed::Skipped => {
                        ledger.skipped(&holding.message, worker, now as i64);
                        *slot = None;
                    }
                    Mailed::Sent { .. } => {
                        if crash == Some(Crash::AfterSend) {
                            crashes.remove(id.as_str());
                            died(
                                &mut ledger,
                                &mut ready,
                                slot.take().expect("held"),
                                now,
                                &mut outcome,
                            );
                            continue;
                        }
                        holding.sent = true;
                        holding.until_ms = now + half;
                    }
                }
            } else {
                ledger.done(&holding.message, worker, now as i64);
                *slot = None;
            }
            outcome.finished_at_ms = now;
        }
        if changed {
            continue;
        }
        let next = [
            publishes.front().map(|(at, _)| *at),
            delayed.iter().map(|(due, _)| *due).min(),
            workers.iter().flatten().map(|h| h.until_ms).min(),
        ]
        .into_iter()
        .flatten()
        .min();
        match next {
            Some(at) => now = at.max(now),
            None => break,
        }
    }
    outcome.emails = jobs
        .iter()
        .map(|job| (job.id.clone(), ledger.emails_for(&job.id)))
        .collect();
    outcome.duplicates_skipped = ledger.counts().duplicates_skipped;
    outcome
}

/// A worker crashed holding a job: acknowledged, it is lost; otherwise the
/// broker hands it out again first, marked redelivered.
fn died(
    ledger: &mut Ledger,
    ready: &mut VecDeque<(JobMessage, bool)>,
    holding: Holding,
    now: u64,
    outcome: &mut Outcome,
) {
    if holding.acked {
        outcome.lost += 1;
        ledger.lost(&holding.message, "the worker crashed", now as i64);
    } else {
        ledger.back_on_queue(&holding.message, "the worker crashed", now as i64);
        ready.push_front((holding.message, true));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(ack: AckMode, idempotent: bool) -> QueueSettings {
        QueueSettings {
            ack,
            idempotent,
            ..QueueSettings::default()
        }
    }

    fn sent_once(outcome: &Outcome) -> bool {
        outcome.emails.iter().all(|(_, n)| *n == 1)
    }

    #[test]
    fn a_schedule_is_reproducible_and_has_every_kind_of_trouble() {
        let jobs = schedule(2026, 20);
        assert_eq!(jobs, schedule(2026, 20));
        assert_ne!(jobs, schedule(2027, 20));
        assert!(jobs.iter().any(|j| j.copies == 2));
        assert!(jobs.iter().any(|j| j.failures == 1));
        assert!(jobs.iter().any(|j| j.crash == Some(Crash::BeforeSend)));
        assert!(jobs.iter().any(|j| j.crash == Some(Crash::AfterSend)));
    }

    #[test]
    fn only_ack_after_work_with_an_idempotent_worker_sends_every_email_once() {
        for seed in [1, 7, 2026] {
            let jobs = schedule(seed, 20);
            let right = replay(&settings(AckMode::AfterWork, true), &jobs);
            assert!(sent_once(&right), "seed {seed}: {right:?}");
            assert_eq!((right.lost, right.dead), (0, 0));
            assert!(right.redelivered > 0 && right.duplicates_skipped > 0);

            let duplicating = replay(&settings(AckMode::AfterWork, false), &jobs);
            assert!(
                duplicating.emails.iter().any(|(_, n)| *n > 1),
                "seed {seed}"
            );
            assert_eq!(duplicating.lost, 0);

            let losing = replay(&settings(AckMode::BeforeWork, true), &jobs);
            assert!(
                losing.lost > 0 && losing.emails.iter().any(|(_, n)| *n == 0),
                "seed {seed}: {losing:?} {jobs:?}"
            );
        }
    }

    #[test]
    fn one_attempt_dead_letters_a_refused_email_and_no_worker_sends_nothing() {
        let jobs = schedule(7, 20);
        let strict = QueueSettings {
            max_attempts: 1,
            ..settings(AckMode::AfterWork, true)
        };
        let outcome = replay(&strict, &jobs);
        assert!(outcome.dead > 0);
        let idle = QueueSettings {
            workers: 0,
            ..settings(AckMode::AfterWork, true)
        };
        assert!(replay(&idle, &jobs).emails.iter().all(|(_, n)| *n == 0));
    }

    #[test]
    fn work_of_no_time_still_ends() {
        let quick = QueueSettings {
            work_ms: 0,
            retry_backoff_ms: 0,
            ..settings(AckMode::AfterWork, true)
        };
        assert!(sent_once(&replay(&quick, &schedule(3, 20))));
    }
}
