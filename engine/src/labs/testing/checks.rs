//! The testing lab's `lab` checks (see [`crate::grading::lab`]): the
//! student's saved suite is run as `POST /labs/testing/run` runs it, and
//! must pass on the correct API and catch enough of the mutants.
//!
//! ```toml
//! [check]
//! lab = "testing"
//! kill_at_least = 8              # mutants the suite must catch, of 12
//! kill = ["others-todo-visible"] # and these ones, by name
//! ```

use futures_util::future::{BoxFuture, FutureExt};
use model::labs::testing::TestingSettings;
use model::ExerciseInput;
use serde::Deserialize;
use serde_json::Value;

use super::mutants::{named, MUTANTS};
use super::run::{parse, run};
use crate::grading::{
    check_line, parse_check, AnswerError, AnswerSource, CheckOutcome, Checker, GradeContext,
};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[allow(dead_code)]
    lab: String,
    #[serde(default)]
    kill_at_least: usize,
    #[serde(default)]
    kill: Vec<String>,
}

pub(super) fn load(
    front_matter: &str,
    first_line: usize,
) -> Result<Box<dyn Checker>, (usize, String)> {
    let spec: Spec = parse_check(front_matter, first_line)?;
    let at_check = check_line(front_matter, first_line);
    if spec.kill_at_least == 0 && spec.kill.is_empty() {
        return Err((
            at_check,
            "[check]: a testing lab check needs `kill_at_least` or `kill`".into(),
        ));
    }
    if spec.kill_at_least > MUTANTS.len() {
        return Err((
            at_check,
            format!(
                "[check]: `kill_at_least` {} is more than the {} mutants there are",
                spec.kill_at_least,
                MUTANTS.len()
            ),
        ));
    }
    if let Some(unknown) = spec.kill.iter().find(|id| named(id).is_none()) {
        let ids: Vec<&str> = MUTANTS.iter().map(|m| m.id).collect();
        return Err((
            at_check,
            format!(
                "[check]: `kill` names {unknown:?}; the mutants are {}",
                ids.join(", ")
            ),
        ));
    }
    Ok(Box::new(spec))
}

impl Spec {
    async fn judge(
        &self,
        answer: &Value,
        context: &GradeContext,
    ) -> Result<Vec<CheckOutcome>, AnswerError> {
        let settings: TestingSettings = match answer.get("settings") {
            None | Some(Value::Null) => TestingSettings::default(),
            Some(s) => serde_json::from_value(s.clone()).map_err(|e| {
                AnswerError(format!("`settings` are not testing lab settings: {e}"))
            })?,
        };
        let suite = match parse(&settings.suite) {
            Ok(suite) => suite,
            Err(why) => {
                return Ok(vec![CheckOutcome::new("your suite reads", false)
                    .observed(why)
                    .hint(Some(
                        "Run it in the testing lab: the error says where.".into(),
                    ))])
            }
        };
        let who = context.student.as_ref().map_or("a batch", |s| s.as_str());
        let _turn = context
            .work_gate
            .enter(who)
            .await
            .map_err(|refused| AnswerError(refused.to_string()))?;
        let report = run(&suite)
            .await
            .map_err(|e| AnswerError(format!("the todos API could not be served: {e}")))?;
        let failing: Vec<&str> = report
            .reference
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name.as_str())
            .collect();
        let mut checks = vec![CheckOutcome::new(
            "every check passes on the correct API",
            report.valid,
        )
        .observed(if failing.is_empty() {
            format!("all {} steps pass", report.steps)
        } else {
            format!("fails: {}", failing.join("; "))
        })
        .hint(Some(
            "A suite that fails on the correct API is wrong: fix those expectations first.".into(),
        ))];
        if self.kill_at_least > 0 {
            checks.push(
                CheckOutcome::new(
                    format!("catches at least {} of the {} mutants", self.kill_at_least, report.total),
                    report.valid && report.killed >= self.kill_at_least,
                )
                .expected(format!("{} or more killed", self.kill_at_least))
                .observed(format!("{} killed", report.killed))
                .hint(Some(
                    "After a run, the lab describes each mutant that survived and what would catch it."
                        .into(),
                )),
            );
        }
        for id in &self.kill {
            let mutant = named(id).expect("checked when loaded");
            let verdict = report.mutants.iter().find(|m| m.id == *id);
            let killed = verdict.is_some_and(|m| m.killed);
            checks.push(
                CheckOutcome::new(format!("catches: {}", mutant.title), killed).observed(
                    match verdict {
                        None => "not run: the suite fails on the correct API".to_string(),
                        Some(m) => m
                            .caught_by
                            .clone()
                            .map_or("it survived".to_string(), |by| format!("caught by {by}")),
                    },
                ),
            );
        }
        Ok(checks)
    }
}

impl Checker for Spec {
    fn answer_source(&self) -> AnswerSource<'_> {
        AnswerSource::LabSettings("testing")
    }

    fn public_input(&self) -> ExerciseInput {
        ExerciseInput::LabRequests {
            target: "your saved test suite in the testing lab".into(),
        }
    }

    fn grade<'a>(
        &'a self,
        answer: &'a Value,
        context: &'a GradeContext,
    ) -> BoxFuture<'a, Result<Vec<CheckOutcome>, AnswerError>> {
        self.judge(answer, context).boxed()
    }

    fn secrets(&self) -> Vec<String> {
        Vec::new()
    }
}
