//! The grading engine: one server-side path from an answer to an
//! [`Outcome`], behind the browser, the `workbench grade` CLI and the API.
//!
//! # The kind contract
//! A check kind is one module implementing [`CheckKind`]:
//! - [`CheckKind::load`] reads the exercise's `[check]` table (reference
//!   answers included) and validates it, with the file's line numbers;
//! - the loaded [`Checker`] shows the browser what it may see
//!   ([`Checker::public_input`]: choices, never answers) and grades;
//! - grading is deterministic for the same exercise and answer: kinds that
//!   observe the world (`http` reads recorded lab requests, `probe` calls a
//!   server) take what they observe as part of the answer or context.
//!
//! The kinds that need no lab are [`Kinds::built_in`]; the labs add theirs
//! (the `lab` kind over each lab's [`LabChecks`], the SQL lab's `sql`),
//! and the engine's composition hands the whole [`Kinds`] to course loading.
//! Grading never names a lab.

pub(crate) mod attempts;
pub mod batch;
pub(crate) mod exercise;
pub(crate) mod http;
pub(crate) mod lab;
pub(crate) mod probe;
pub(crate) mod quiz;
pub mod regrade;
pub(crate) mod select;
pub(crate) mod service;

use std::fmt::Debug;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::Deserialize;

use crate::fair_gate::FairGate;
use crate::students::StudentId;

pub use model::{CheckOutcome, Outcome};

pub use exercise::{Exercise, Exercises, LintAllowance};
pub use lab::LabChecks;
pub use probe::{ProbePolicy, ProgressSink};
pub use service::{GradingService, API_SUBMISSION_BURST, MAX_ANSWER_BYTES};

/// Bumped when grading rules change, and stored with every attempt, so a
/// regrade can tell which attempts were graded by older rules.
pub const ENGINE_VERSION: u32 = 2;

/// The check kinds a course may use, by name.
#[derive(Clone)]
pub struct Kinds(Vec<Arc<dyn CheckKind>>);

impl Kinds {
    /// The kinds that need no lab: `quiz`, `http` and `probe`.
    pub fn built_in() -> Self {
        Self(vec![
            Arc::new(quiz::Quiz),
            Arc::new(http::HttpKind),
            Arc::new(probe::Probe),
        ])
    }

    /// These kinds and `more`.
    pub fn with(mut self, more: impl IntoIterator<Item = Arc<dyn CheckKind>>) -> Self {
        self.0.extend(more);
        self
    }

    /// The kind called `name`.
    pub fn get(&self, name: &str) -> Option<&dyn CheckKind> {
        self.0.iter().map(|k| &**k).find(|k| k.name() == name)
    }

    /// Every kind's name, in the order they were added.
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|k| k.name()).collect()
    }
}

/// What an answer could not be read as: a 4xx for the caller, not a failed check.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AnswerError(pub String);

/// What grading may use besides the exercise and the answer.
#[derive(Clone, Default)]
pub struct GradeContext {
    /// Where `probe` exercises may send requests.
    pub probe: ProbePolicy,
    /// Told about each check as it completes (the CLI prints them).
    pub progress: Option<probe::ProgressSink>,
    /// Shares what costly grading runs (graded SQL, students' test suites)
    /// fairly between students.
    pub work_gate: Arc<FairGate>,
    /// Whose answer is graded, for the gate (`None`: the CLI or the API).
    pub student: Option<StudentId>,
}

impl GradeContext {
    /// This context, grading `student`'s answer.
    pub fn for_student(&self, student: &StudentId) -> Self {
        Self {
            student: Some(student.clone()),
            ..self.clone()
        }
    }
}

/// A check kind, as listed in [`Kinds`].
pub trait CheckKind: Send + Sync + 'static {
    /// The `kind = "..."` name in exercise files.
    fn name(&self) -> &'static str;

    /// Reads the exercise's front matter (whose first line is `first_line`
    /// of its file) for this kind's `[check]` table. Errors are `(line, message)`.
    fn load(
        &self,
        front_matter: &str,
        first_line: usize,
    ) -> Result<Box<dyn Checker>, (usize, String)>;
}

/// A loaded, validated `[check]` table of one exercise.
pub trait Checker: Send + Sync + Debug + 'static {
    /// What the browser may know to show the exercise: never an answer.
    fn public_input(&self) -> model::ExerciseInput;

    /// Grades `answer`, the JSON the student (or CLI, or API) sent.
    fn grade<'a>(
        &'a self,
        answer: &'a serde_json::Value,
        context: &'a GradeContext,
    ) -> BoxFuture<'a, Result<Vec<CheckOutcome>, AnswerError>>;

    /// The reference answers of this exercise, so tests can make sure none
    /// of them ever leaves the server.
    fn secrets(&self) -> Vec<String>;

    /// Where a browser attempt's answer comes from; the CLI and the API
    /// always send the answer themselves.
    fn answer_source(&self) -> AnswerSource<'_> {
        AnswerSource::Student
    }

    /// Whether a stored answer can be graded again offline (a probe's
    /// server is gone by then).
    fn regradable(&self) -> bool {
        true
    }

    /// The part of `answer` that decided the grade, which is what an
    /// attempt stores: for a kind that looks at many recorded requests,
    /// the one it judged. Grading it again gives the same outcome.
    fn graded_part(&self, answer: &serde_json::Value) -> serde_json::Value {
        answer.clone()
    }

    /// Authoring mistakes only grading can reveal, for the course lint
    /// (`workbench check`): a reference answer that cannot tell right
    /// from wrong. Most kinds have none of their own.
    fn lint<'a>(&'a self, _context: &'a GradeContext) -> BoxFuture<'a, Vec<LintFinding>> {
        Box::pin(async { Vec::new() })
    }
}

/// One mistake the course lint found in an exercise's check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LintFinding {
    /// The `lint_allow` entry that declares it intended, if one can.
    pub allowance: Option<LintAllowance>,
    /// What is wrong, for the author.
    pub message: String,
}

/// Where the server takes a browser attempt's answer from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerSource<'a> {
    /// What the student sent.
    Student,
    /// The student's own recorded lab requests, whatever the page claims.
    RecordedRequests,
    /// The student's stored settings of this lab.
    LabSettings(&'a str),
}

/// Grades `answer` to `exercise`.
pub async fn grade(
    exercise: &Exercise,
    answer: &serde_json::Value,
    context: &GradeContext,
) -> Result<Outcome, AnswerError> {
    let checks = exercise.checker.grade(answer, context).await?;
    Ok(Outcome::from_checks(exercise.points, checks))
}

/// The file line of the `[check]` table (or its first `[[check.*]]`), where
/// a kind reports what is wrong with the table as a whole.
pub fn check_line(front_matter: &str, first_line: usize) -> usize {
    first_line
        + front_matter
            .lines()
            .position(|l| l.trim() == "[check]" || l.trim().starts_with("[[check."))
            .unwrap_or(0)
}

/// Parses a `[check]` table of type `T` out of a whole front matter, so
/// TOML errors keep their line numbers.
pub fn parse_check<T: serde::de::DeserializeOwned>(
    front_matter: &str,
    first_line: usize,
) -> Result<T, (usize, String)> {
    #[derive(Deserialize)]
    struct WithCheck<T> {
        check: T,
    }
    crate::markup::front_matter_parse::<WithCheck<T>>(front_matter, first_line).map(|w| w.check)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_follow_the_share_of_checks_passed_rounded_down() {
        let checks = |passed: &[bool]| {
            passed
                .iter()
                .map(|p| CheckOutcome::new("c", *p))
                .collect::<Vec<_>>()
        };
        assert_eq!(Outcome::from_checks(10, checks(&[true, true])).score, 10);
        assert_eq!(
            Outcome::from_checks(10, checks(&[true, false, false])).score,
            3
        );
        assert_eq!(
            Outcome::from_checks(2, checks(&[true, true, false])).score,
            1
        );
        assert!(!Outcome::from_checks(2, checks(&[])).passed());
        assert!(Outcome::from_checks(2, checks(&[true])).passed());
    }

    #[test]
    fn built_in_kinds_are_found_by_name() {
        let kinds = Kinds::built_in();
        assert_eq!(kinds.names(), vec!["quiz", "http", "probe"]);
        assert!(kinds.get("quiz").is_some());
        assert!(kinds.get("essay").is_none());
    }

    #[test]
    fn hints_stay_only_on_failed_checks() {
        let hint = Some("look again".to_string());
        assert_eq!(CheckOutcome::new("a", true).hint(hint.clone()).hint, None);
        assert_eq!(CheckOutcome::new("a", false).hint(hint.clone()).hint, hint);
    }
}
