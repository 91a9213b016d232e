//! The rate-limit lab's `lab` checks (see [`crate::grading::lab`]).
//!
//! ```toml
//! [check]
//! lab = "ratelimit"
//! burst = 10              # the student's settings must admit a burst of 10,
//! sustain_per_sec = 2.0   # then 2 requests/s indefinitely, and never much more
//! # or: honour_retry_after = true   # from the student's recorded requests:
//! #     a single 429, then a success, with no hammering in between
//! # or: per_key = true              # from the student's recorded requests:
//! #     counted by X-Api-Key, one key refused and then another accepted
//! ```
//!
//! The settings check replays a traffic pattern the student does not see
//! on a virtual clock: a burst, a pause, a long steady stream at the
//! sustained rate, then twice that rate, then bursts straddling a
//! window boundary.

use futures_util::future::{BoxFuture, FutureExt};
use serde::Deserialize;
use serde_json::Value;

use crate::grading::http::{LabRequests, RecordedRequest};
use crate::grading::{
    check_line, parse_check, AnswerError, AnswerSource, CheckOutcome, Checker, GradeContext,
};
use crate::labs::ratelimit::algorithms::Millis;
use crate::labs::ratelimit::simulate::lane;
use crate::labs::ratelimit::{LimiterPolicy, RateLimitSettings};
use crate::labs::LabSettings;
use model::ExerciseInput;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[allow(dead_code)]
    lab: String,
    burst: Option<u32>,
    sustain_per_sec: Option<f64>,
    #[serde(default)]
    honour_retry_after: bool,
    #[serde(default)]
    per_key: bool,
}

/// The inspector event that names the bucket a request was counted in.
const DECISION: &str = "ratelimit.decision";
/// How that event's `key` starts when the limiter counts by `X-Api-Key`.
const API_KEY_PREFIX: &str = "api key ";

pub(super) fn load(
    front_matter: &str,
    first_line: usize,
) -> Result<Box<dyn Checker>, (usize, String)> {
    let spec: Spec = parse_check(front_matter, first_line)?;
    let settings_check = spec.burst.is_some() && spec.sustain_per_sec.is_some();
    let forms = [settings_check, spec.honour_retry_after, spec.per_key];
    if forms.iter().filter(|f| **f).count() != 1 {
        return Err((
            check_line(front_matter, first_line),
            "[check]: a ratelimit lab check has one of: `burst` and `sustain_per_sec`, `honour_retry_after = true`, or `per_key = true`".into(),
        ));
    }
    Ok(Box::new(spec))
}

/// The hidden traffic: (phase name, arrival times in ms).
fn phases(burst: u32, rate: f64) -> Vec<(&'static str, Vec<Millis>)> {
    let gap = (1000.0 / rate) as Millis;
    let burst_times: Vec<Millis> = (0..Millis::from(burst)).collect();
    // After a pause long enough to refill anything reasonable.
    let steady_start = 60_000;
    let steady: Vec<Millis> = (0..40).map(|i| steady_start + i * gap).collect();
    let fast_start = steady_start + 40 * gap + 60_000;
    let fast: Vec<Millis> = (0..80).map(|i| fast_start + i * gap / 2).collect();
    let edge = (fast_start + 80 * gap / 2 + 60_000).div_ceil(10_000) * 10_000;
    let straddle: Vec<Millis> = (0..Millis::from(burst) * 2)
        .map(|i| edge - Millis::from(burst) + i)
        .collect();
    vec![
        ("burst", burst_times),
        ("steady", steady),
        ("fast", fast),
        ("boundary", straddle),
    ]
}

impl Spec {
    fn judge_settings(&self, answer: &Value) -> Result<Vec<CheckOutcome>, AnswerError> {
        let settings: RateLimitSettings = match answer.get("settings") {
            None | Some(Value::Null) => RateLimitSettings::default(),
            Some(s) => serde_json::from_value(s.clone()).map_err(|e| {
                AnswerError(format!("`settings` are not rate-limit lab settings: {e}"))
            })?,
        };
        settings.validate().map_err(AnswerError)?;
        let (burst, rate) = (self.burst.unwrap_or(1), self.sustain_per_sec.unwrap_or(1.0));
        let all: Vec<(&str, Vec<Millis>)> = phases(burst, rate);
        let times: Vec<Millis> = all.iter().flat_map(|(_, t)| t.clone()).collect();
        let outcome = lane(settings.algorithm, settings.policy(), &times);
        let mut at = 0;
        let mut admitted = Vec::new();
        for (name, phase) in &all {
            let count = outcome.points[at..at + phase.len()]
                .iter()
                .filter(|p| p.allowed)
                .count();
            admitted.push((*name, count, phase.len()));
            at += phase.len();
        }
        let (burst_ok, steady_ok, fast, boundary) =
            (admitted[0], admitted[1], admitted[2], admitted[3]);
        let fast_ceiling = (fast.2 as f64 / 2.0 + f64::from(burst)).ceil() as usize;
        let boundary_ceiling = (f64::from(burst) + rate * 0.1).ceil() as usize + 1;
        Ok(vec![
            CheckOutcome::new(
                format!("a burst of {burst} goes through"),
                burst_ok.1 == burst_ok.2,
            )
            .expected(format!("{} of {}", burst_ok.2, burst_ok.2))
            .observed(format!("{} of {}", burst_ok.1, burst_ok.2)),
            CheckOutcome::new(
                format!("a steady {rate} requests/s goes through"),
                steady_ok.1 == steady_ok.2,
            )
            .expected(format!("{} of {}", steady_ok.2, steady_ok.2))
            .observed(format!("{} of {}", steady_ok.1, steady_ok.2)),
            CheckOutcome::new(
                format!("twice that rate is held to about {rate}/s"),
                fast.1 <= fast_ceiling,
            )
            .expected(format!("at most {fast_ceiling} of {}", fast.2))
            .observed(format!("{} of {}", fast.1, fast.2)),
            CheckOutcome::new(
                "no double burst at a window boundary",
                boundary.1 <= boundary_ceiling,
            )
            .expected(format!(
                "at most {boundary_ceiling} of {} within 20 ms",
                boundary.2
            ))
            .observed(format!("{} of {}", boundary.1, boundary.2)),
        ])
    }

    fn judge_retries(&self, answer: &Value) -> Result<Vec<CheckOutcome>, AnswerError> {
        let recorded: LabRequests = serde_json::from_value(answer.clone()).map_err(|e| {
            AnswerError(format!(
                "the answer is {{\"requests\": [...]}} as the inspector records them: {e}"
            ))
        })?;
        let limited: Vec<u16> = recorded
            .requests
            .iter()
            .filter(|r| r.path.starts_with("/labs/ratelimit/api/"))
            .map(|r| r.status)
            .collect();
        let refused = limited.iter().filter(|s| **s == 429).count();
        // A lone 429 followed by a success: the client waited as told.
        let waited = limited
            .windows(3)
            .any(|w| w[0] != 429 && w[1] == 429 && (200..300).contains(&w[2]))
            || (limited.len() >= 2 && limited[0] == 429 && (200..300).contains(&limited[1]));
        Ok(vec![
            CheckOutcome::new("you were refused with 429 at least once", refused > 0)
                .expected("a 429 from /labs/ratelimit/api/...")
                .observed(format!("{refused} refusals in your recent lab requests")),
            CheckOutcome::new(
                "after a 429 you waited, then succeeded on the next try",
                waited,
            )
            .expected("429, then (after Retry-After) a 2xx, with no other request in between")
            .observed(format!(
                "your statuses, oldest first: {}",
                compact(&limited)
            )),
        ])
    }

    fn judge_per_key(&self, answer: &Value) -> Result<Vec<CheckOutcome>, AnswerError> {
        let recorded: LabRequests = serde_json::from_value(answer.clone()).map_err(|e| {
            AnswerError(format!(
                "the answer is {{\"requests\": [...]}} as the inspector records them: {e}"
            ))
        })?;
        let requests = &recorded.requests;
        let last_counted = requests.iter().rev().find_map(|r| {
            r.event_field(DECISION, "key")
                .filter(|_| r.path.starts_with("/labs/ratelimit/api/"))
        });
        let keyed = requests.iter().any(|r| api_key_of(r).is_some());
        let counted = CheckOutcome::new("your limiter counted requests by their X-Api-Key", keyed)
            .expected(format!("a request the limiter counted against \"{API_KEY_PREFIX}<your key>\""))
            .observed(match last_counted {
                None => "no request has reached your limiter yet".to_string(),
                Some(key) => format!("your latest request was counted against \"{key}\""),
            })
            .hint(Some(
                "Set your limiter's key to api_key (\"Count requests by: X-Api-Key header\"), then send requests with an X-Api-Key header.".into(),
            ));
        let pair = separate_buckets(requests);
        let refused_key = requests
            .iter()
            .rev()
            .filter(|r| r.status == 429)
            .find_map(api_key_of);
        let observed = match (pair, refused_key) {
            (Some((refused, accepted)), _) => format!(
                "\"{}\" was refused, then \"{}\" was accepted",
                api_key_of(&requests[refused]).unwrap_or_default(),
                api_key_of(&requests[accepted]).unwrap_or_default()
            ),
            (None, None) => "no request with an API key has been refused with 429 yet".into(),
            (None, Some(key)) => {
                format!("\"{key}\" was refused, and no other key was accepted after it")
            }
        };
        let separate = CheckOutcome::new(
            "one key ran out while another still had requests left",
            pair.is_some(),
        )
        .expected("a 429 for one key, then a 2xx for a different key")
        .observed(observed)
        .hint(Some(
            "Send with one key until you get 429, then change the header's value and send once more.".into(),
        ));
        Ok(vec![counted, separate])
    }
}

/// The API key a limited request was counted against, when the limiter
/// counted it by key (the inspector's decision says so).
fn api_key_of(request: &RecordedRequest) -> Option<&str> {
    if !request.path.starts_with("/labs/ratelimit/api/") {
        return None;
    }
    request
        .event_field(DECISION, "key")
        .and_then(|key| key.strip_prefix(API_KEY_PREFIX))
}

/// Per-key limiting, seen in the student's recorded requests: the newest
/// request one key got accepted after another key was refused (their
/// indexes), if any.
fn separate_buckets(requests: &[RecordedRequest]) -> Option<(usize, usize)> {
    let accepted = |r: &RecordedRequest| (200..300).contains(&r.status);
    (0..requests.len()).rev().find_map(|later| {
        let key = api_key_of(&requests[later]).filter(|_| accepted(&requests[later]))?;
        (0..later)
            .rev()
            .find(|&earlier| {
                requests[earlier].status == 429
                    && api_key_of(&requests[earlier]).is_some_and(|k| k != key)
            })
            .map(|earlier| (earlier, later))
    })
}

/// What a per-key check keeps of the recorded requests: the pair that
/// passed it, or else the newest keyed request and the newest keyed
/// refusal, which grade the same again.
fn per_key_evidence(requests: &[RecordedRequest]) -> Vec<RecordedRequest> {
    let mut kept: Vec<usize> = match separate_buckets(requests) {
        Some((refused, accepted)) => vec![refused, accepted],
        None => {
            let newest = |refused: bool| {
                (0..requests.len()).rev().find(|&i| {
                    api_key_of(&requests[i]).is_some() && (!refused || requests[i].status == 429)
                })
            };
            [newest(true), newest(false)]
                .into_iter()
                .flatten()
                .collect()
        }
    };
    kept.sort_unstable();
    kept.dedup();
    kept.into_iter().map(|i| requests[i].clone()).collect()
}

fn compact(statuses: &[u16]) -> String {
    let shown: Vec<String> = statuses
        .iter()
        .rev()
        .take(20)
        .rev()
        .map(u16::to_string)
        .collect();
    if shown.is_empty() {
        "none".into()
    } else {
        shown.join(" ")
    }
}

impl Checker for Spec {
    fn answer_source(&self) -> AnswerSource<'_> {
        if self.honour_retry_after || self.per_key {
            AnswerSource::RecordedRequests
        } else {
            AnswerSource::LabSettings("ratelimit")
        }
    }

    fn public_input(&self) -> ExerciseInput {
        ExerciseInput::LabRequests {
            target: if self.honour_retry_after || self.per_key {
                "GET /labs/ratelimit/api/ping".into()
            } else {
                "your rate-limit lab settings".into()
            },
        }
    }

    fn grade<'a>(
        &'a self,
        answer: &'a Value,
        _context: &'a GradeContext,
    ) -> BoxFuture<'a, Result<Vec<CheckOutcome>, AnswerError>> {
        let result = if self.honour_retry_after {
            self.judge_retries(answer)
        } else if self.per_key {
            self.judge_per_key(answer)
        } else {
            self.judge_settings(answer)
        };
        std::future::ready(result).boxed()
    }

    fn secrets(&self) -> Vec<String> {
        Vec::new()
    }

    /// A per-key check keeps only the requests that decided it: a student's
    /// recent lab requests would not fit in an attempt.
    fn graded_part(&self, answer: &Value) -> Value {
        if !self.per_key {
            return answer.clone();
        }
        match serde_json::from_value::<LabRequests>(answer.clone()) {
            Ok(recorded) => serde_json::to_value(LabRequests {
                requests: per_key_evidence(&recorded.requests),
            })
            .unwrap_or_default(),
            Err(_) => answer.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BURST: &str = "[check]\nlab = \"ratelimit\"\nburst = 10\nsustain_per_sec = 2.0";

    fn passes(settings: Value) -> bool {
        let spec: Spec = parse_check(BURST, 1).unwrap();
        let checks = spec
            .judge_settings(&json!({ "settings": settings }))
            .unwrap();
        checks.iter().all(|c| c.passed)
    }

    #[test]
    fn a_bucket_of_ten_refilling_at_two_passes_and_near_misses_fail() {
        assert!(passes(
            json!({ "algorithm": "token_bucket", "capacity": 10, "rate_per_sec": 2.0 })
        ));
        assert!(passes(
            json!({ "algorithm": "leaky_bucket_meter", "capacity": 10, "rate_per_sec": 2.0 })
        ));
        assert!(!passes(json!({})), "the default refills at 1/s");
        assert!(!passes(
            json!({ "algorithm": "token_bucket", "capacity": 5, "rate_per_sec": 2.0 })
        ));
        assert!(!passes(
            json!({ "algorithm": "token_bucket", "capacity": 10, "rate_per_sec": 4.0 })
        ));
        assert!(
            !passes(json!({ "algorithm": "fixed_window", "capacity": 20, "window_secs": 10 })),
            "double burst at the boundary"
        );
    }

    #[test]
    fn one_refusal_then_success_is_waiting_and_hammering_is_not() {
        let spec: Spec =
            parse_check("[check]\nlab = \"ratelimit\"\nhonour_retry_after = true", 1).unwrap();
        let requests = |statuses: &[u16]| json!({ "requests": statuses.iter().map(|s| json!({ "method": "GET", "path": "/labs/ratelimit/api/ping", "status": s })).collect::<Vec<_>>() });
        let waited = spec
            .judge_retries(&requests(&[200, 200, 429, 200]))
            .unwrap();
        assert!(waited.iter().all(|c| c.passed));
        let hammered = spec
            .judge_retries(&requests(&[200, 429, 429, 429, 200]))
            .unwrap();
        assert!(!hammered[1].passed);
    }

    /// A limited request as recorded, counted against `key` (`None`: no decision).
    fn limited(key: Option<&str>, status: u16) -> RecordedRequest {
        let events = key
            .map(|key| crate::grading::http::RecordedEvent {
                kind: DECISION.into(),
                fields: [("key".to_string(), key.to_string())].into(),
            })
            .into_iter()
            .collect();
        RecordedRequest {
            method: "GET".into(),
            path: "/labs/ratelimit/api/ping".into(),
            status,
            events,
            ..RecordedRequest::default()
        }
    }

    async fn per_key(requests: Vec<RecordedRequest>) -> (Vec<CheckOutcome>, Value) {
        let checker = load("[check]\nlab = \"ratelimit\"\nper_key = true", 1).unwrap();
        let answer = json!({ "requests": requests });
        let checks = checker
            .grade(&answer, &GradeContext::default())
            .await
            .unwrap();
        (checks, checker.graded_part(&answer))
    }

    #[tokio::test]
    async fn per_key_limiting_needs_one_key_refused_and_another_accepted() {
        // The default key: every request is the student's, whatever it sends.
        let (student, _) = per_key(vec![
            limited(Some("student g-1"), 429),
            limited(Some("student g-1"), 200),
        ])
        .await;
        assert!(!student[0].passed && !student[1].passed);
        assert!(student[0]
            .observed
            .as_deref()
            .unwrap()
            .contains("student g-1"));
        // Counted by key, but one key alone shows nothing about separate buckets.
        let (one_key, _) = per_key(vec![
            limited(Some("api key demo-1"), 200),
            limited(Some("api key demo-1"), 429),
            limited(Some("api key demo-1"), 200),
        ])
        .await;
        assert!(one_key[0].passed && !one_key[1].passed);
        let (right, kept) = per_key(vec![
            limited(Some("api key demo-1"), 429),
            limited(None, 401),
            limited(Some("api key demo-2"), 200),
            limited(Some("student g-1"), 200),
        ])
        .await;
        assert!(right.iter().all(|c| c.passed), "{right:?}");
        assert_eq!(kept["requests"].as_array().unwrap().len(), 2);
        let (again, _) = per_key(serde_json::from_value(kept["requests"].clone()).unwrap()).await;
        assert!(
            again.iter().all(|c| c.passed),
            "the kept part grades the same"
        );
    }

    #[test]
    fn a_check_has_exactly_one_form() {
        assert!(load("[check]\nlab = \"ratelimit\"", 1).is_err());
        assert!(load(
            "[check]\nlab = \"ratelimit\"\nper_key = true\nhonour_retry_after = true",
            1
        )
        .is_err());
    }
}
