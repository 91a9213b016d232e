//! The SQL lab's `lab` checks (see [`crate::grading::lab`] for the table format):
//! a replay of the concurrent withdrawal under the student's settings, and
//! whether a query's plan searches a table through one of the student's
//! indexes. Both run on scratch databases, never on the student's sandbox,
//! so a stored answer grades the same way again later.

use futures_util::future::{BoxFuture, FutureExt};
use serde::Deserialize;
use serde_json::Value;

use crate::grading::{
    check_line, parse_check, AnswerError, AnswerSource, CheckOutcome, Checker, GradeContext,
};
use crate::labs::sql::engine::{Access, Db, Limits, SqlError};
use crate::labs::sql::plan::PlanReading;
use crate::labs::sql::sandbox::RUN_LIMITS;
use crate::labs::sql::withdrawal::{withdraw_concurrently, EXPECTED_BALANCE};
use crate::labs::sql::{dataset, plan, SqlSettings};
use model::ExerciseInput;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[allow(dead_code)]
    lab: String,
    #[serde(default)]
    withdrawals: bool,
    uses_index: Option<UsesIndex>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsesIndex {
    query: String,
    table: String,
}

pub(super) fn load(
    front_matter: &str,
    first_line: usize,
) -> Result<Box<dyn Checker>, (usize, String)> {
    let spec: Spec = parse_check(front_matter, first_line)?;
    if spec.withdrawals == spec.uses_index.is_some() {
        return Err((
            check_line(front_matter, first_line),
            "[check]: a sql lab check has either `withdrawals = true` or `uses_index = { query, table }`".into(),
        ));
    }
    Ok(Box::new(spec))
}

/// A scratch database file that disappears with its folder.
fn scratch() -> Result<(tempfile::TempDir, std::path::PathBuf), AnswerError> {
    let dir = tempfile::tempdir().map_err(|e| AnswerError(format!("no scratch space: {e}")))?;
    let path = dir.path().join("scratch.db");
    std::fs::write(&path, b"").map_err(|e| AnswerError(format!("no scratch space: {e}")))?;
    Ok((dir, path))
}

impl Spec {
    fn judge(&self, answer: &Value) -> Result<Vec<CheckOutcome>, AnswerError> {
        if self.withdrawals {
            return self.judge_withdrawals(answer);
        }
        self.judge_index(answer)
    }

    fn judge_withdrawals(&self, answer: &Value) -> Result<Vec<CheckOutcome>, AnswerError> {
        let settings: SqlSettings = match answer.get("settings") {
            None | Some(Value::Null) => SqlSettings::default(),
            Some(settings) => serde_json::from_value(settings.clone())
                .map_err(|e| AnswerError(format!("`settings` are not SQL lab settings: {e}")))?,
        };
        let (_dir, path) = scratch()?;
        let report = withdraw_concurrently(&path, &settings)
            .map_err(|e| AnswerError(format!("the replay failed: {e}")))?;
        let completed = report.completed.iter().filter(|c| **c).count();
        Ok(vec![
            CheckOutcome::new("both withdrawals complete", completed == 2)
                .expected("2 of 2")
                .observed(format!("{completed} of 2")),
            CheckOutcome::new(
                "the balance shows both withdrawals",
                report.final_balance == EXPECTED_BALANCE,
            )
            .expected(EXPECTED_BALANCE.to_string())
            .observed(report.final_balance.to_string()),
        ])
    }

    fn judge_index(&self, answer: &Value) -> Result<Vec<CheckOutcome>, AnswerError> {
        let uses = self.uses_index.as_ref().expect("checked at load");
        let indexes: Vec<String> = match answer.get("indexes") {
            None | Some(Value::Null) => Vec::new(),
            Some(list) => serde_json::from_value(list.clone()).map_err(|e| {
                AnswerError(format!(
                    "`indexes` is a list of CREATE INDEX statements: {e}"
                ))
            })?,
        };
        let (_dir, path) = scratch()?;
        let limits = Limits {
            max_rows: 100,
            ..RUN_LIMITS
        };
        let plan = (|| -> Result<plan::Plan, SqlError> {
            let mut db = Db::open(&path, Access::ReadWrite, 1000)?;
            for statement in dataset::SCHEMA
                .split(";\n")
                .filter(|s| !s.trim().is_empty())
            {
                db.run(statement, limits)?;
            }
            for index in &indexes {
                if !index
                    .trim_start()
                    .to_ascii_uppercase()
                    .starts_with("CREATE")
                {
                    return Err(SqlError {
                        kind: crate::labs::sql::engine::ErrorKind::Shape,
                        message: format!("not a CREATE INDEX statement: {index}"),
                        position: None,
                    });
                }
                // An index on a table the student added fails here; it cannot matter.
                let _ = db.run(index, limits);
            }
            plan::explain(&mut db, &uses.query, limits)
        })()
        .map_err(|e| AnswerError(format!("the plan could not be made: {e}")))?;
        let searched = plan.searches_with_index(&uses.table);
        Ok(vec![CheckOutcome::new(
            format!("the query searches {} through an index", uses.table),
            searched,
        )
        .expected(format!("SEARCH {} USING INDEX ...", uses.table))
        .observed(plan.details.join("; "))])
    }
}

impl Checker for Spec {
    fn answer_source(&self) -> AnswerSource<'_> {
        AnswerSource::LabSettings("sql")
    }

    fn public_input(&self) -> ExerciseInput {
        ExerciseInput::LabRequests {
            target: if self.withdrawals {
                "your SQL lab's withdrawal settings".into()
            } else {
                "the indexes in your SQL sandbox".into()
            },
        }
    }

    fn grade<'a>(
        &'a self,
        answer: &'a Value,
        _context: &'a GradeContext,
    ) -> BoxFuture<'a, Result<Vec<CheckOutcome>, AnswerError>> {
        let answer = answer.clone();
        async move {
            // SQLite work blocks; keep it off the async workers.
            let spec = self.clone();
            tokio::task::spawn_blocking(move || spec.judge(&answer))
                .await
                .map_err(|e| AnswerError(format!("grading failed: {e}")))?
        }
        .boxed()
    }

    fn secrets(&self) -> Vec<String> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    async fn grade(check: &str, answer: Value) -> Vec<CheckOutcome> {
        load(check, 1)
            .unwrap()
            .grade(&answer, &GradeContext::default())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_default_withdrawal_fails_and_an_immediate_transaction_passes() {
        let check = "[check]\nlab = \"sql\"\nwithdrawals = true";
        let default = grade(check, json!({})).await;
        assert!(!default[1].passed, "{default:?}");
        let fixed = grade(check, json!({"settings": {"transaction": "immediate"}})).await;
        assert!(fixed.iter().all(|c| c.passed), "{fixed:?}");
    }

    #[tokio::test]
    async fn an_index_on_the_filtered_column_turns_the_scan_into_a_search() {
        let check = "[check]\nlab = \"sql\"\nuses_index = { query = \"SELECT * FROM orders WHERE customer_id = 7\", table = \"orders\" }";
        let none = grade(check, json!({"indexes": []})).await;
        assert!(!none[0].passed);
        assert!(none[0].observed.as_deref().unwrap().contains("SCAN orders"));
        let wrong = grade(
            check,
            json!({"indexes": ["CREATE INDEX s ON orders (status)"]}),
        )
        .await;
        assert!(!wrong[0].passed);
        let right = grade(
            check,
            json!({"indexes": ["CREATE INDEX c ON orders (customer_id)"]}),
        )
        .await;
        assert!(right[0].passed, "{right:?}");
    }

    #[test]
    fn a_check_is_one_thing_or_the_other() {
        assert!(load("[check]\nlab = \"sql\"", 1).is_err());
        assert!(load("[check]\nlab = \"sql\"\nwithdrawals = true\nuses_index = { query = \"SELECT 1\", table = \"t\" }", 1).is_err());
    }
}
