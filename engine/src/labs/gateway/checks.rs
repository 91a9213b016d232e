//! The gateway lab's `lab` checks (see [`crate::grading::lab`]), each a
//! scenario replayed on a virtual clock against the student's settings.
//!
//! `brownout` (the default): the student's gateway settings replayed
//! through a seeded brownout ([`super::replay`]). The check passes when the
//! run's success rate, 99th percentile and tries per request are all
//! within bounds, so that neither "no retries" (failures) nor "retry
//! everything" (tries, and the slow replica's latency) passes.
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
//!
//! `order_page`: the student's BFF settings (`shop`: parallel calls, a
//! batched catalog, the call timeout) build order pages on a virtual
//! clock ([`super::shop::plan`]) against services with the check's faults
//! (the student's own faults play no part). Passes when enough pages are
//! built whole and the median page is fast enough.
//!
//! ```toml
//! [check]
//! lab = "gateway"
//! scenario = "order_page"
//! seed = 2026
//! # optional, with their defaults:
//! pages = 50                   # 1 to 50
//! users_extra_ms = 80          # 0 to 2000, each service's
//! orders_extra_ms = 80
//! catalog_extra_ms = 10
//! catalog_error_percent = 2    # 0 to 100
//! min_success_percent = 95
//! max_p50_ms = 120
//! ```

use futures_util::future::{BoxFuture, FutureExt};
use model::labs::gateway::{GatewaySettings, LoadRequest, LoadRun, ServiceFaults, ShopSettings};
use model::ExerciseInput;
use serde::Deserialize;
use serde_json::Value;

use super::replay::replay;
use super::shop::plan;
use crate::grading::{
    check_line, parse_check, AnswerError, AnswerSource, CheckOutcome, Checker, GradeContext,
};
use crate::labs::LabSettings;

/// Which scenario a check replays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Scenario {
    #[default]
    Brownout,
    OrderPage,
}

/// Only the scenario, to know which spec to read.
#[derive(Deserialize)]
struct Which {
    #[serde(default)]
    scenario: Scenario,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[allow(dead_code)]
    lab: String,
    #[allow(dead_code)]
    #[serde(default)]
    scenario: Scenario,
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
    let which: Which = parse_check(front_matter, first_line)?;
    match which.scenario {
        Scenario::Brownout => load_brownout(front_matter, first_line),
        Scenario::OrderPage => load_order_page(front_matter, first_line),
    }
}

fn load_brownout(
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
    Ok(Box::new(GatewayCheck::Brownout(spec)))
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
        let settings = settings_of(answer)?;
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

/// The student's saved settings in `answer` (the defaults when none).
fn settings_of(answer: &Value) -> Result<GatewaySettings, AnswerError> {
    let settings: GatewaySettings = match answer.get("settings") {
        None | Some(Value::Null) => GatewaySettings::default(),
        Some(settings) => serde_json::from_value(settings.clone())
            .map_err(|e| AnswerError(format!("`settings` are not gateway lab settings: {e}")))?,
    };
    settings.validate().map_err(AnswerError)?;
    Ok(settings)
}

/// A gateway check, whichever its scenario.
#[derive(Debug)]
enum GatewayCheck {
    Brownout(Spec),
    OrderPage(OrderPageSpec),
}

impl Checker for GatewayCheck {
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
        // A replay: about 12,000 simulated requests for the brownout, a few
        // hundred calls for the order pages; milliseconds of work.
        let judged = match self {
            Self::Brownout(spec) => spec.judge(answer),
            Self::OrderPage(spec) => spec.judge(answer),
        };
        std::future::ready(judged).boxed()
    }

    fn secrets(&self) -> Vec<String> {
        Vec::new()
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderPageSpec {
    #[allow(dead_code)]
    lab: String,
    #[allow(dead_code)]
    scenario: Scenario,
    seed: u32,
    #[serde(default = "default_pages")]
    pages: u32,
    #[serde(default = "default_slow_ms")]
    users_extra_ms: u32,
    #[serde(default = "default_slow_ms")]
    orders_extra_ms: u32,
    #[serde(default = "default_catalog_ms")]
    catalog_extra_ms: u32,
    #[serde(default = "default_catalog_errors")]
    catalog_error_percent: u8,
    #[serde(default = "default_page_success")]
    min_success_percent: f64,
    #[serde(default = "default_page_p50")]
    max_p50_ms: u32,
}

fn default_pages() -> u32 {
    50
}
fn default_slow_ms() -> u32 {
    80
}
fn default_catalog_ms() -> u32 {
    10
}
fn default_catalog_errors() -> u8 {
    2
}
fn default_page_success() -> f64 {
    95.0
}
fn default_page_p50() -> u32 {
    120
}

fn load_order_page(
    front_matter: &str,
    first_line: usize,
) -> Result<Box<dyn Checker>, (usize, String)> {
    let spec: OrderPageSpec = parse_check(front_matter, first_line)?;
    let refuse = |message: &str| Err((check_line(front_matter, first_line), message.to_string()));
    if !(1..=50).contains(&spec.pages) {
        return refuse("[check]: `pages` is between 1 and 50");
    }
    let extra = [
        spec.users_extra_ms,
        spec.orders_extra_ms,
        spec.catalog_extra_ms,
    ];
    if extra.iter().any(|ms| *ms > 2000) || spec.catalog_error_percent > 100 {
        return refuse(
            "[check]: each `*_extra_ms` is 0 to 2000 and `catalog_error_percent` 0 to 100",
        );
    }
    if !(0.0..=100.0).contains(&spec.min_success_percent) {
        return refuse("[check]: `min_success_percent` is 0 to 100");
    }
    Ok(Box::new(GatewayCheck::OrderPage(spec)))
}

impl OrderPageSpec {
    /// The student's way of calling, against the check's services.
    fn shop(&self, theirs: &ShopSettings) -> ShopSettings {
        let faults = |extra_ms, error_percent| ServiceFaults {
            extra_ms,
            error_percent,
        };
        ShopSettings {
            users: faults(self.users_extra_ms, 0),
            orders: faults(self.orders_extra_ms, 0),
            catalog: faults(self.catalog_extra_ms, self.catalog_error_percent),
            ..theirs.clone()
        }
    }

    fn judge(&self, answer: &Value) -> Result<Vec<CheckOutcome>, AnswerError> {
        let settings = settings_of(answer)?;
        let run = plan::replay(&self.shop(&settings.shop), self.seed, self.pages);
        let success = f64::from(run.succeeded) * 100.0 / f64::from(run.pages.max(1));
        Ok(vec![
            CheckOutcome::new(
                format!(
                    "at least {} % of the {} pages are built whole",
                    self.min_success_percent, run.pages
                ),
                success >= self.min_success_percent,
            )
            .expected(format!("{} % or more", self.min_success_percent))
            .observed(format!(
                "{success:.0} % ({} failed, all for the catalog; {} calls a page)",
                run.failed, run.calls_per_page
            )),
            CheckOutcome::new(
                format!("the median page takes under {} ms", self.max_p50_ms),
                run.p50_ms < self.max_p50_ms,
            )
            .expected(format!("under {} ms", self.max_p50_ms))
            .observed(format!("{} ms (p99 {} ms)", run.p50_ms, run.p99_ms)),
        ])
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

    /// The check of `exercises/gateway-order-page.md`.
    const ORDER_PAGE: &str = "[check]\nlab = \"gateway\"\nscenario = \"order_page\"\nseed = 2026";

    fn order_page_passes(shop: Value) -> Vec<bool> {
        let spec: OrderPageSpec = parse_check(ORDER_PAGE, 1).unwrap();
        spec.judge(&json!({ "settings": { "shop": shop } }))
            .unwrap()
            .iter()
            .map(|c| c.passed)
            .collect()
    }

    #[test]
    fn only_a_parallel_batched_bff_builds_the_order_pages_well_enough() {
        assert_eq!(
            order_page_passes(json!({})),
            [false, false],
            "the naive loop"
        );
        assert_eq!(
            order_page_passes(json!({ "parallel": true })),
            [false, true],
            "fast, but every line is one more chance for the catalog to fail"
        );
        assert_eq!(
            order_page_passes(json!({ "batch_catalog": true })),
            [true, false],
            "whole pages, but the slow services one after the other"
        );
        assert_eq!(
            order_page_passes(json!({ "parallel": true, "batch_catalog": true })),
            [true, true]
        );
        assert_eq!(
            order_page_passes(
                json!({ "parallel": true, "batch_catalog": true, "call_timeout_ms": 50 })
            ),
            [false, true],
            "a timeout shorter than the slow services fails every page, fast"
        );
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
        let (line, message) = load(
            "[check]\nlab = \"gateway\"\nscenario = \"order_page\"\nseed = 1\npages = 51",
            4,
        )
        .unwrap_err();
        assert_eq!(line, 4);
        assert!(message.contains("pages"), "{message}");
    }
}
