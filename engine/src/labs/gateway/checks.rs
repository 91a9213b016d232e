//! The gateway lab's `lab` checks (see [`crate::grading::lab`]): the
//! student's gateway settings replayed through a seeded brownout on a
//! virtual clock ([`super::replay`]). The check passes when the run's
//! success rate, 99th percentile and tries per request are all within
//! bounds, so that neither "no retries" (failures) nor "retry everything"
//! (tries, and the slow replica's latency) passes.
//!
//! ```toml
//! [check]
//! lab = "gateway"
//! seed = 2026               # the replicas' dice and the balancer's
//! # optional, with their defaults:
//! rate_per_sec = 200        # 1 to 200
//! seconds = 60              # 2 to 60
//! brownout_at_s = 20        # below seconds
//! min_success_percent = 99.5
//! max_p99_ms = 300
//! max_attempts_per_request = 1.2
//! ```

use futures_util::future::{BoxFuture, FutureExt};
use model::labs::gateway::{GatewaySettings, LoadRequest, LoadRun};
use model::ExerciseInput;
use serde::Deserialize;
use serde_json::Value;

use super::replay::replay;
use crate::grading::{
    check_line, parse_check, AnswerError, AnswerSource, CheckOutcome, Checker, GradeContext,
};
use crate::labs::LabSettings;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[allow(dead_code)]
    lab: String,
    seed: u32,
    #[serde(default = "default_rate")]
    rate_per_sec: u32,
    #[serde(default = "default_seconds")]
    seconds: u32,
    #[serde(default = "default_brownout_at")]
    brownout_at_s: u32,
    #[serde(default = "default_success")]
    min_success_percent: f64,
    #[serde(default = "default_p99")]
    max_p99_ms: u32,
    #[serde(default = "default_attempts")]
    max_attempts_per_request: f64,
}

fn default_rate() -> u32 {
    200
}
fn default_seconds() -> u32 {
    60
}
fn default_brownout_at() -> u32 {
    20
}
fn default_success() -> f64 {
    99.5
}
fn default_p99() -> u32 {
    300
}
fn default_attempts() -> f64 {
    1.2
}

pub(super) fn load(
    front_matter: &str,
    first_line: usize,
) -> Result<Box<dyn Checker>, (usize, String)> {
    let spec: Spec = parse_check(front_matter, first_line)?;
    let refuse = |message: &str| Err((check_line(front_matter, first_line), message.to_string()));
    if !(1..=200).contains(&spec.rate_per_sec) {
        return refuse("[check]: `rate_per_sec` is between 1 and 200");
    }
    if !(2..=60).contains(&spec.seconds) {
        return refuse("[check]: `seconds` is between 2 and 60");
    }
    if spec.brownout_at_s >= spec.seconds {
        return refuse("[check]: `brownout_at_s` comes before the run ends (below `seconds`)");
    }
    if !(0.0..=100.0).contains(&spec.min_success_percent) || spec.max_attempts_per_request < 1.0 {
        return refuse(
            "[check]: `min_success_percent` is 0 to 100 and `max_attempts_per_request` at least 1",
        );
    }
    Ok(Box::new(spec))
}

impl Spec {
    fn asked(&self) -> LoadRequest {
        LoadRequest {
            rate_per_sec: self.rate_per_sec,
            seconds: self.seconds,
            brownout_at_s: Some(self.brownout_at_s),
        }
    }

    fn judge(&self, answer: &Value) -> Result<Vec<CheckOutcome>, AnswerError> {
        let settings: GatewaySettings = match answer.get("settings") {
            None | Some(Value::Null) => GatewaySettings::default(),
            Some(settings) => serde_json::from_value(settings.clone()).map_err(|e| {
                AnswerError(format!("`settings` are not gateway lab settings: {e}"))
            })?,
        };
        settings.validate().map_err(AnswerError)?;
        let run = replay(
            &GatewaySettings {
                seed: self.seed,
                ..settings
            },
            &self.asked(),
        );
        Ok(self.outcomes(&run))
    }

    fn outcomes(&self, run: &LoadRun) -> Vec<CheckOutcome> {
        let success = if run.sent == 0 {
            0.0
        } else {
            f64::from(run.succeeded) * 100.0 / f64::from(run.sent)
        };
        let shares = run
            .per_replica
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| format!("replica {}: {n}", i + 1))
            .collect::<Vec<_>>()
            .join(", ");
        vec![
            CheckOutcome::new(
                format!(
                    "at least {} % of the {} requests succeed",
                    self.min_success_percent, run.sent
                ),
                success >= self.min_success_percent,
            )
            .expected(format!("{} % or more", self.min_success_percent))
            .observed(format!(
                "{success:.2} % ({} failed; answers by {shares})",
                run.failed
            )),
            CheckOutcome::new(
                format!("the 99th percentile is under {} ms", self.max_p99_ms),
                run.p99_ms < self.max_p99_ms,
            )
            .expected(format!("under {} ms", self.max_p99_ms))
            .observed(format!("{} ms (median {} ms)", run.p99_ms, run.p50_ms)),
            CheckOutcome::new(
                format!(
                    "at most {} tries a request reach the replicas",
                    self.max_attempts_per_request
                ),
                run.attempts_per_request <= self.max_attempts_per_request,
            )
            .expected(format!("{} or fewer", self.max_attempts_per_request))
            .observed(format!("{}", run.attempts_per_request)),
        ]
    }
}

impl Checker for Spec {
    fn answer_source(&self) -> AnswerSource<'_> {
        AnswerSource::LabSettings("gateway")
    }

    fn public_input(&self) -> ExerciseInput {
        ExerciseInput::LabRequests {
            target: "your gateway lab settings".into(),
        }
    }

    fn grade<'a>(
        &'a self,
        answer: &'a Value,
        _context: &'a GradeContext,
    ) -> BoxFuture<'a, Result<Vec<CheckOutcome>, AnswerError>> {
        // About 12,000 simulated requests: a few milliseconds of work.
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

    /// The check of `exercises/gateway-brownout.md`.
    const CHECK: &str = "[check]\nlab = \"gateway\"\nseed = 2026";

    fn passes(settings: Value) -> Vec<bool> {
        let spec: Spec = parse_check(CHECK, 1).unwrap();
        spec.judge(&json!({ "settings": settings }))
            .unwrap()
            .iter()
            .map(|c| c.passed)
            .collect()
    }

    #[test]
    fn neither_no_retries_nor_retrying_everything_passes() {
        assert_eq!(passes(json!({})), [false, false, true], "no retries");
        let naive = passes(json!({
            "retries": 3, "retry_budget": false, "per_try_timeout_ms": 200
        }));
        assert!(naive.contains(&false), "retry everything: {naive:?}");
    }

    #[test]
    fn budgeted_retries_steered_by_latency_pass() {
        let passed = passes(json!({
            "algorithm": "peak_ewma", "retries": 2, "retry_budget": true,
            "retry_budget_percent": 20, "per_try_timeout_ms": 200
        }));
        assert_eq!(passed, [true, true, true]);
    }

    #[test]
    fn settings_out_of_range_are_an_answer_error_naming_the_field() {
        let spec: Spec = parse_check(CHECK, 1).unwrap();
        let error = spec
            .judge(&json!({ "settings": { "retries": 9 } }))
            .unwrap_err();
        assert!(error.0.contains("retries"), "{}", error.0);
    }

    #[test]
    fn a_check_out_of_bounds_is_refused_with_its_line() {
        let (line, message) =
            load("[check]\nlab = \"gateway\"\nseed = 1\nseconds = 61", 10).unwrap_err();
        assert_eq!(line, 10, "the line of [check]");
        assert!(message.contains("seconds"), "{message}");
        assert!(load(
            "[check]\nlab = \"gateway\"\nseed = 1\nbrownout_at_s = 60",
            1
        )
        .is_err());
    }
}
