//! The queue lab: work off the request path. A request queues order
//! confirmation e-mails as jobs on a broker and answers at once; the
//! student's workers take them, one at a time each, and send them through
//! a fake mail server. The student chooses the broker, the number and
//! speed of the workers, when they acknowledge, whether they deduplicate,
//! and how failures are retried; kills workers mid-job; and watches what
//! that does to each job.
//!
//! | route | what it does |
//! |---|---|
//! | `POST /labs/queue/jobs` | queues e-mails (`202`, once the broker confirmed them) |
//! | `DELETE /labs/queue/jobs` | empties your queues and zeroes the counts |
//! | `GET /labs/queue/status` | counts, workers, the chart's points, the latest jobs, the outbox |
//! | `POST /labs/queue/workers/{id}/kill` | kills a worker at once or just after its next e-mail |
//! | `GET /labs/queue/dead` | the dead-letter queue |
//! | `POST /labs/queue/dead/replay` | moves the dead letters back to the work queue |
//! | `POST /labs/queue/mapreduce` | revenue per country over the student's orders, as map tasks |
//! | `GET /labs/queue/mapreduce` | the latest map-reduce run beside SQL's answer |
//!
//! Exercises grade the settings by replaying a seeded schedule of
//! duplicates, crashes and refusals on a virtual clock ([`replay`],
//! [`checks`]).
//!
//! Brokers: in-process ([`memory`]), RabbitMQ ([`rabbit`]) and NATS
//! JetStream ([`nats`]), behind the operations in [`broker`]; the workers
//! are in [`pool`], what the console shows in [`ledger`], map-reduce runs
//! in [`mapreduce`].

mod broker;
mod checks;
mod job;
mod ledger;
mod mapreduce;
mod memory;
mod nats;
mod pool;
mod queues;
mod rabbit;
mod replay;
mod routes;

use std::ops::RangeInclusive;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Lab, LabContext, LabSettings};
use crate::grading::lab::LabChecks;
use crate::labs::Labs;

pub use model::labs::queue::QueueSettings;
pub use queues::Queues;

/// The queue lab.
pub struct QueueLab;

impl Lab for QueueLab {
    const NAME: &'static str = "queue";
    const TITLE: &'static str =
        "Queues: jobs off the request path, acknowledgements, retries and dead letters";
    type Settings = QueueSettings;
    type State = Queues;

    fn state(context: &LabContext) -> Self::State {
        Queues::new(context)
    }

    fn routes(_state: &Labs) -> OpenApiRouter<Labs> {
        OpenApiRouter::default()
            .routes(routes!(routes::enqueue, routes::purge))
            .routes(routes!(routes::status))
            .routes(routes!(routes::kill))
            .routes(routes!(routes::dead))
            .routes(routes!(routes::replay))
            .routes(routes!(routes::start_mapreduce, routes::mapreduce_run))
    }

    fn checks() -> Option<LabChecks> {
        Some(LabChecks {
            lab: Self::NAME,
            load: checks::load,
        })
    }

    fn forget_idle(labs: &Labs) {
        labs.get::<Self>().forget_idle();
    }

    fn gauges(queues: &Queues, gauges: &mut crate::labs::LabGauges<'_>) {
        queues.gauges(gauges);
    }
}

const WORKERS: RangeInclusive<u32> = 0..=4;
const WORK_MS: RangeInclusive<u32> = 0..=10_000;
const MAX_ATTEMPTS: RangeInclusive<u32> = 1..=10;
const RETRY_BACKOFF_MS: RangeInclusive<u32> = 0..=30_000;

fn within(field: &str, range: &RangeInclusive<u32>, value: u32) -> Result<(), String> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "{field} must be between {} and {}, not {value}",
            range.start(),
            range.end()
        ))
    }
}

impl LabSettings for QueueSettings {
    fn validate(&self) -> Result<(), String> {
        within("workers", &WORKERS, self.workers)?;
        within("work_ms", &WORK_MS, self.work_ms)?;
        within("max_attempts", &MAX_ATTEMPTS, self.max_attempts)?;
        within("retry_backoff_ms", &RETRY_BACKOFF_MS, self.retry_backoff_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_bounded_and_the_errors_name_the_field() {
        assert!(QueueSettings::default().validate().is_ok());
        let crowded = QueueSettings {
            workers: 5,
            ..QueueSettings::default()
        };
        assert!(crowded.validate().unwrap_err().contains("workers"));
        let hopeless = QueueSettings {
            max_attempts: 0,
            ..QueueSettings::default()
        };
        assert!(hopeless.validate().unwrap_err().contains("max_attempts"));
        let patient = QueueSettings {
            retry_backoff_ms: 30_001,
            ..QueueSettings::default()
        };
        assert!(patient.validate().unwrap_err().contains("retry_backoff_ms"));
    }
}
