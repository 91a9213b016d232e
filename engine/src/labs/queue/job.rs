//! A job as it travels through a broker, and the rules every broker's
//! workers share: how long a retry waits, and what the fake mail server
//! does with an e-mail.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One job's message: send the confirmation e-mail for an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct JobMessage {
    /// Shared by every copy and retry of the job: what an idempotent
    /// worker recognises a duplicate by.
    pub(crate) id: String,
    pub(crate) order: u64,
    pub(crate) to: String,
    /// Attempts the mail server refuses before it accepts.
    pub(crate) failures: u32,
    /// This delivery's attempt, from 1.
    pub(crate) attempt: u32,
    /// Why the previous attempt failed, once one has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// Set on a map task of a map-reduce run instead of an e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) map: Option<MapTask>,
}

/// A map task: which run, and which range of order ids to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MapTask {
    pub(crate) run: u64,
    /// From 1.
    pub(crate) split: u32,
    pub(crate) first_order: i64,
    pub(crate) last_order: i64,
}

impl JobMessage {
    /// The JSON a broker carries.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a job message always serialises")
    }

    /// A message read back from a broker; `None` for bytes no worker of
    /// ours wrote.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }

    /// The same job, for its next attempt after `error`.
    pub(crate) fn retry(&self, error: &str) -> Self {
        Self {
            attempt: self.attempt + 1,
            error: Some(error.to_string()),
            ..self.clone()
        }
    }

    /// The same job replayed from the dead-letter queue: its attempts
    /// start afresh.
    pub(crate) fn first_attempt(self) -> Self {
        Self { attempt: 1, ..self }
    }

    /// The subject line of its e-mail.
    pub(crate) fn subject(&self) -> String {
        format!("Your order #{} is confirmed", self.order)
    }
}

/// The wait before attempt `attempt + 1`, after attempt `attempt` failed:
/// `base` after the first, doubling after each further one, capped at a
/// minute so a high attempt count never parks a job for hours.
pub(crate) fn backoff(base: Duration, attempt: u32) -> Duration {
    const CAP: Duration = Duration::from_secs(60);
    let doublings = attempt.saturating_sub(1).min(16);
    base.saturating_mul(1 << doublings).min(CAP)
}

/// What to do with a job whose attempt failed: try again after a wait, or
/// give up and dead-letter it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AfterFailure {
    RetryIn(Duration),
    DeadLetter,
}

/// The decision for `attempt` out of `max_attempts`.
pub(crate) fn after_failure(attempt: u32, max_attempts: u32, base: Duration) -> AfterFailure {
    if attempt >= max_attempts {
        AfterFailure::DeadLetter
    } else {
        AfterFailure::RetryIn(backoff(base, attempt))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_and_stops_at_a_minute() {
        let base = Duration::from_millis(500);
        assert_eq!(backoff(base, 1), Duration::from_millis(500));
        assert_eq!(backoff(base, 2), Duration::from_millis(1000));
        assert_eq!(backoff(base, 4), Duration::from_millis(4000));
        assert_eq!(backoff(base, 30), Duration::from_secs(60));
        assert_eq!(backoff(Duration::ZERO, 5), Duration::ZERO);
    }

    #[test]
    fn the_last_attempt_dead_letters_and_earlier_ones_retry() {
        let base = Duration::from_secs(1);
        assert_eq!(
            after_failure(1, 3, base),
            AfterFailure::RetryIn(Duration::from_secs(1))
        );
        assert_eq!(
            after_failure(2, 3, base),
            AfterFailure::RetryIn(Duration::from_secs(2))
        );
        assert_eq!(after_failure(3, 3, base), AfterFailure::DeadLetter);
        assert_eq!(after_failure(1, 1, base), AfterFailure::DeadLetter);
    }

    #[test]
    fn a_message_round_trips_and_foreign_bytes_are_refused() {
        let message = JobMessage {
            id: "a1-7".into(),
            order: 7,
            to: "ana@example.com".into(),
            failures: 1,
            attempt: 1,
            error: None,
            map: None,
        };
        assert_eq!(
            JobMessage::from_bytes(&message.to_bytes()),
            Some(message.clone())
        );
        assert_eq!(JobMessage::from_bytes(b"hello"), None);
        let again = message.retry("550 mailbox busy");
        assert_eq!((again.attempt, again.id.as_str()), (2, "a1-7"));
        assert_eq!(again.error.as_deref(), Some("550 mailbox busy"));
    }
}
