//! The queue lab's `lab` checks (see [`crate::grading::lab`]): the
//! student's queue settings replayed against a seeded schedule of
//! duplicates, worker crashes and mail-server refusals on a virtual clock
//! ([`super::replay`]). The check passes when every job's e-mail went out
//! exactly once.
//!
//! ```toml
//! [check]
//! lab = "queue"
//! seed = 2026     # which schedule
//! jobs = 20       # optional: how many jobs (2 to 100; 20 by default)
//! ```

use futures_util::future::{BoxFuture, FutureExt};
use model::labs::queue::QueueSettings;
use model::ExerciseInput;
use serde::Deserialize;
use serde_json::Value;

use super::replay::{replay, schedule};
use crate::grading::{
    check_line, parse_check, AnswerError, AnswerSource, CheckOutcome, Checker, GradeContext,
};
use crate::labs::LabSettings;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[allow(dead_code)]
    lab: String,
    seed: u64,
    #[serde(default = "default_jobs")]
    jobs: u32,
}

fn default_jobs() -> u32 {
    20
}

pub(super) fn load(
    front_matter: &str,
    first_line: usize,
) -> Result<Box<dyn Checker>, (usize, String)> {
    let spec: Spec = parse_check(front_matter, first_line)?;
    if !(2..=100).contains(&spec.jobs) {
        return Err((
            check_line(front_matter, first_line),
            "[check]: `jobs` is between 2 and 100".into(),
        ));
    }
    Ok(Box::new(spec))
}

/// Up to five ids, then how many more.
fn listed(ids: &[&str]) -> String {
    let mut text = ids.iter().take(5).copied().collect::<Vec<_>>().join(", ");
    if ids.len() > 5 {
        text.push_str(&format!(" and {} more", ids.len() - 5));
    }
    text
}

impl Spec {
    fn judge(&self, answer: &Value) -> Result<Vec<CheckOutcome>, AnswerError> {
        let settings: QueueSettings = match answer.get("settings") {
            None | Some(Value::Null) => QueueSettings::default(),
            Some(settings) => serde_json::from_value(settings.clone())
                .map_err(|e| AnswerError(format!("`settings` are not queue lab settings: {e}")))?,
        };
        settings.validate().map_err(AnswerError)?;
        let jobs = schedule(self.seed, self.jobs);
        let seen = replay(&settings, &jobs);
        let unsent: Vec<&str> = seen
            .emails
            .iter()
            .filter(|(_, n)| *n == 0)
            .map(|(id, _)| id.as_str())
            .collect();
        let twice: Vec<&str> = seen
            .emails
            .iter()
            .filter(|(_, n)| *n > 1)
            .map(|(id, _)| id.as_str())
            .collect();
        let why_unsent = if settings.workers == 0 {
            " (no worker took any job: you have 0 workers)".to_string()
        } else {
            format!(
                " ({} lost by crashed workers, {} dead-lettered)",
                seen.lost, seen.dead
            )
        };
        Ok(vec![
            CheckOutcome::new(
                format!("every one of the {} jobs sent its e-mail", self.jobs),
                unsent.is_empty(),
            )
            .expected("no job lost or dead-lettered")
            .observed(if unsent.is_empty() {
                format!("all sent; {} redelivered after a crash", seen.redelivered)
            } else {
                format!("never sent: {}{why_unsent}", listed(&unsent))
            }),
            CheckOutcome::new("no customer got an e-mail twice", twice.is_empty())
                .expected("one e-mail per job")
                .observed(if twice.is_empty() {
                    format!("one each; {} duplicates skipped", seen.duplicates_skipped)
                } else {
                    format!("sent more than once: {}", listed(&twice))
                }),
        ])
    }
}

impl Checker for Spec {
    fn answer_source(&self) -> AnswerSource<'_> {
        AnswerSource::LabSettings("queue")
    }

    fn public_input(&self) -> ExerciseInput {
        ExerciseInput::LabRequests {
            target: "your queue lab settings".into(),
        }
    }

    fn grade<'a>(
        &'a self,
        answer: &'a Value,
        _context: &'a GradeContext,
    ) -> BoxFuture<'a, Result<Vec<CheckOutcome>, AnswerError>> {
        std::future::ready(self.judge(answer)).boxed()
    }

    fn secrets(&self) -> Vec<String> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The check of `exercises/queue-exactly-once.md`.
    const CHECK: &str = "[check]\nlab = \"queue\"\nseed = 2026";

    fn passes(settings: Value) -> bool {
        let spec: Spec = parse_check(CHECK, 1).unwrap();
        spec.judge(&json!({ "settings": settings }))
            .unwrap()
            .iter()
            .all(|c| c.passed)
    }

    #[test]
    fn only_ack_after_work_with_idempotent_workers_passes() {
        assert!(passes(json!({ "ack": "after-work", "idempotent": true })));
        assert!(!passes(json!({ "ack": "after-work", "idempotent": false })));
        assert!(!passes(json!({ "ack": "before-work", "idempotent": true })));
        assert!(!passes(json!({ "idempotent": true, "workers": 0 })));
        assert!(!passes(json!({ "idempotent": true, "max_attempts": 1 })));
    }

    #[test]
    fn a_failure_names_the_jobs() {
        let spec: Spec = parse_check(CHECK, 1).unwrap();
        let outcome = spec
            .judge(&json!({ "settings": { "ack": "before-work" } }))
            .unwrap();
        assert!(!outcome[0].passed);
        let text = format!("{:?}", outcome[0]);
        assert!(text.contains("s2026-"), "{text}");
        assert!(text.contains("lost by crashed workers"), "{text}");
    }

    #[test]
    fn the_job_count_is_bounded() {
        assert!(load("[check]\nlab = \"queue\"\nseed = 1\njobs = 1000", 1).is_err());
    }
}
