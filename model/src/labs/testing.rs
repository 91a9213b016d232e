//! The testing lab's wire types: the student's suite (their settings), a
//! run's request, and its report: every check against the correct API and
//! which of the injected bugs (mutants) the suite caught.

use serde::{Deserialize, Serialize};

use crate::CheckOutcome;

/// What a new student's suite starts as: one step, which catches one bug.
pub const STARTER_SUITE: &str = r#"# Each [[steps]] table is one request and what its answer must show.
# Alice's token is "Bearer alice", Bob's is "Bearer bob".

[[steps]]
name = "Alice creates a todo"
method = "POST"
path = "/todos"
headers = { authorization = "Bearer alice", content-type = "application/json" }
body = '{"title": "write tests"}'
status = 201
capture = { todo = "header:location" }
"#;

/// The testing lab's settings: the student's suite, as TOML text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct TestingSettings {
    /// `[[steps]]` tables in the probe step format (request, expected
    /// status, headers, JSON; values captured from one answer used in
    /// later steps as `{name}`).
    pub suite: String,
}

impl Default for TestingSettings {
    fn default() -> Self {
        Self {
            suite: STARTER_SUITE.to_string(),
        }
    }
}

/// `POST /labs/testing/run`: which suite to run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct RunRequest {
    /// A suite to run instead of the saved one (it is not saved).
    pub suite: Option<String>,
}

/// What running a suite showed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SuiteReport {
    /// Steps in the suite.
    pub steps: usize,
    /// Every check of the suite against the correct API, in order.
    pub reference: Vec<CheckOutcome>,
    /// Whether all of them passed. A suite that fails on the correct API
    /// is wrong, so it is not run against the mutants.
    pub valid: bool,
    /// What became of each mutant (empty when the suite is not valid).
    pub mutants: Vec<MutantVerdict>,
    /// Mutants the suite caught.
    pub killed: usize,
    /// Mutants there are.
    pub total: usize,
    /// How long the whole run took, in milliseconds.
    pub took_ms: u64,
}

/// One mutant: the API with one bug, and whether the suite caught it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MutantVerdict {
    /// Its name, e.g. `lost-update`.
    pub id: String,
    /// The bug, in a few words.
    pub title: String,
    /// Whether a check of the suite failed against it.
    pub killed: bool,
    /// The first check that failed against it.
    pub caught_by: Option<String>,
    /// For a survivor: what the bug does and what kind of step would catch it.
    pub explanation: Option<String>,
}

/// `POST /labs/testing/doubles`: each scenario of the sign-up endpoint on
/// a test double and on the real database.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DoublesReport {
    /// The scenarios, in the order the lesson discusses them.
    pub scenarios: Vec<DoubleScenario>,
}

/// One test scenario, played on a double and on the real repository.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DoubleScenario {
    /// What the test does.
    pub name: String,
    /// What it expects.
    pub expects: String,
    /// Which double played it: `fake` (a list in memory) or `stub` (fails on purpose).
    pub double_kind: String,
    /// How it went on that double.
    pub double: DoubleRun,
    /// How it went on the real repository (SQLite).
    pub real: DoubleRun,
    /// What the two results say about each kind of test.
    pub lesson: String,
}

/// One scenario on one repository.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DoubleRun {
    /// Whether the expectation held.
    pub verdict: DoubleVerdict,
    /// What the endpoint answered and what the store held, in words.
    pub observed: String,
    /// How long the scenario took, in microseconds.
    pub micros: u64,
}

/// Whether a scenario's expectation held on a repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DoubleVerdict {
    /// It held.
    Passed,
    /// It did not.
    Failed,
    /// This repository cannot play the scenario.
    CannotRun,
}
