//! The testing lab: students write an API test suite, and it is graded by
//! the bugs it catches. A small todos API ([`todos`]) is served in a
//! correct version and in twelve mutants, each with one bug ([`mutants`]);
//! the suite runs against the correct one, where every check must pass,
//! then against each mutant, which it kills when a check fails.
//!
//! | route | what it does |
//! |---|---|
//! | `GET`, `POST`, `PATCH`, `DELETE /labs/testing/api/todos...` | the correct todos API, the student's own copy, to try by hand ([`explore`]) |
//! | `POST /labs/testing/run` | runs the saved suite (or one given) and reports every check and mutant |
//! | `POST /labs/testing/doubles` | tests one sign-up endpoint with a fake, a stub and the real database ([`doubles`]) |
//!
//! The suite is the student's settings (`suite`, TOML in the `probe`
//! step format), so the lab check grades what they saved. Each run serves
//! its own copies of the API on loopback ports, with empty stores: no run
//! sees another's todos, and nothing a suite does outlives its run.
//! Suites are bounded ([`run::SUITE_LIMITS`]), paths never leave the API,
//! and runs pass a [`FairGate`]: one at a time per student, a few at
//! once on the server, with a time budget each.

mod checks;
mod doubles;
mod explore;
mod mutants;
mod run;
mod todos;

use std::time::Duration;

use axum::routing::any;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::contract::described_only;
use super::{Lab, LabContext, LabGauges, LabSettings, Labs};
use crate::fair_gate::{FairGate, GateLimits};
use crate::grading::lab::LabChecks;
pub use model::labs::testing::TestingSettings;

/// The testing lab.
pub struct TestingLab;

/// What the lab keeps: the gate its runs pass.
pub struct SuiteRuns {
    gate: FairGate,
    copies: explore::Copies,
}

/// Two runs at once on the server; each student one at a time, and up to
/// 10 s of run time owed, repaid at a quarter second a second (a 40-step
/// suite against the API and its 12 mutants takes well under a second).
const RUN_LIMITS: GateLimits = GateLimits {
    slots: 2,
    line: 1,
    waiting: 512,
    budget: Duration::from_secs(10),
    refill_per_sec: Duration::from_millis(250),
};

impl Lab for TestingLab {
    const NAME: &'static str = "testing";
    const TITLE: &'static str = "Testing an API: a suite graded by the bugs it catches";
    type Settings = TestingSettings;
    type State = SuiteRuns;

    fn state(context: &LabContext) -> Self::State {
        SuiteRuns {
            gate: FairGate::new(RUN_LIMITS, context.clock.clone(), "test suite runs"),
            copies: explore::Copies::new(),
        }
    }

    fn routes(_state: &Labs) -> OpenApiRouter<Labs> {
        // The live API answers the methods the todos API has, and axum
        // refuses the others with 405, so `any` serves it.
        OpenApiRouter::default()
            .route("/api/{*rest}", any(explore::explore))
            .merge(described_only(routes!(explore::explore)))
            .routes(routes!(run::run_suite))
            .routes(routes!(doubles::doubles))
    }

    fn checks() -> Option<LabChecks> {
        Some(LabChecks {
            lab: Self::NAME,
            load: checks::load,
        })
    }

    fn gauges(state: &Self::State, gauges: &mut LabGauges<'_>) {
        let load = state.gate.load();
        gauges.gauge("suite_runs", "Test suite runs going or waiting", load.jobs);
        gauges.gauge(
            "students_waiting",
            "Students whose suite run waits for a slot",
            load.waiting,
        );
        gauges.gauge(
            "api_copies",
            "Students' live copies of the todos API",
            state.copies.count() as usize,
        );
    }
}

impl LabSettings for TestingSettings {
    /// Only the size: a half-written suite may be saved, and running it
    /// says what is wrong.
    fn validate(&self) -> Result<(), String> {
        if self.suite.len() > run::MAX_SUITE_BYTES {
            return Err(format!(
                "suite is {} bytes; at most {}",
                self.suite.len(),
                run::MAX_SUITE_BYTES
            ));
        }
        Ok(())
    }
}
