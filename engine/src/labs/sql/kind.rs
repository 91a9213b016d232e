//! `sql`: the student's query and the reference query run on the course
//! dataset and on a hidden variant; their results must hold the same rows.
//!
//! ```toml
//! [check]
//! reference = "SELECT name FROM customers WHERE city IS NULL"
//! ordered = false          # true: the order matters too
//! order_by = ["units"]     # with ordered: result columns whose equal values tie;
//!                          # tied rows may come in any order among themselves
//! compare_names = false    # true: the column names must match as well
//! starter = "SELECT "      # optional: what the editor starts with
//! ```
//!
//! Rows are compared as multisets of values: integers and reals that are
//! equal compare equal (`2` and `2.0`), reals to six decimal places. With
//! `ordered`, the reference's rows are cut into runs that tie on `order_by`
//! (every column when it is empty); the student's rows, cut at the same
//! places, must hold the same multiset in each run. Feedback shows row
//! counts, and sample rows from the course dataset only: the hidden one
//! stays hidden.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::future::{BoxFuture, FutureExt};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::grading::{
    check_line, parse_check, AnswerError, CheckKind, CheckOutcome, Checker, GradeContext,
    LintAllowance, LintFinding,
};
use crate::labs::sql::dataset::{self, Variant};
use crate::labs::sql::engine::{Access, Db, Limits, QueryOutput, SqlError, SqlValue};
use model::exercises::SqlAnswer;
use model::ExerciseInput;

/// Rows a graded query may return before it fails.
const MAX_GRADED_ROWS: usize = 10_000;
/// Sample rows shown for what is missing or extra.
const SAMPLE_ROWS: usize = 3;

const GRADING_LIMITS: Limits = Limits {
    time: Duration::from_secs(2),
    max_rows: MAX_GRADED_ROWS,
};

/// The course lint's limits for a reference query: it checks what the
/// query returns, not how fast a busy machine runs it (a slow reference
/// shows in its own grading), so a loaded CI machine cannot fail it.
const LINT_LIMITS: Limits = Limits {
    time: Duration::from_secs(60),
    max_rows: MAX_GRADED_ROWS,
};

/// The `sql` kind.
pub(crate) struct SqlKind;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    reference: String,
    #[serde(default)]
    ordered: bool,
    #[serde(default)]
    order_by: Vec<String>,
    #[serde(default)]
    compare_names: bool,
    #[serde(default)]
    starter: String,
}

/// A loaded `sql` check, with the reference's results once computed.
#[derive(Debug)]
struct SqlChecker {
    spec: Spec,
    expected: OnceCell<[Rows; 2]>,
}

/// A result, as compared.
#[derive(Clone, Debug)]
struct Rows {
    names: Vec<String>,
    rows: Vec<Vec<SqlValue>>,
    truncated: bool,
}

impl From<QueryOutput> for Rows {
    fn from(output: QueryOutput) -> Self {
        Self {
            names: output.columns.into_iter().map(|c| c.name).collect(),
            rows: output.rows,
            truncated: output.truncated,
        }
    }
}

impl CheckKind for SqlKind {
    fn name(&self) -> &'static str {
        "sql"
    }

    fn load(
        &self,
        front_matter: &str,
        first_line: usize,
    ) -> Result<Box<dyn Checker>, (usize, String)> {
        let spec: Spec = parse_check(front_matter, first_line)?;
        let at = check_line(front_matter, first_line);
        if spec.reference.trim().is_empty() {
            return Err((
                at,
                "[check]: `reference` is the query the answer is compared with".into(),
            ));
        }
        if !spec.order_by.is_empty() && !spec.ordered {
            return Err((
                at,
                "[check]: `order_by` names tie columns, which only matter with `ordered = true`"
                    .into(),
            ));
        }
        Ok(Box::new(SqlChecker {
            spec,
            expected: OnceCell::new(),
        }))
    }
}

/// Who runs the exercise's own reference query, at the gate.
const REFERENCE: &str = "the exercise's reference";

/// Runs `sql` once on `variant`, read-only, under the grading limits, with
/// a turn at the grading gate (one at a time per student).
async fn run_on(
    variant: Variant,
    sql: String,
    context: &GradeContext,
    who: &str,
    limits: Limits,
) -> Result<Result<Rows, SqlError>, AnswerError> {
    let template = dataset::template(variant)
        .await
        .map_err(|e| AnswerError(format!("the dataset could not be prepared: {e}")))?;
    let _turn = context
        .work_gate
        .enter(who)
        .await
        .map_err(|refused| AnswerError(refused.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let mut db = Db::open(template, Access::ReadOnly, 0)?;
        if !db.is_read_only(&sql)? {
            return Err(SqlError {
                kind: crate::labs::sql::engine::ErrorKind::Shape,
                message:
                    "the answer must be one statement that only reads (a SELECT or WITH ... SELECT)"
                        .into(),
                position: None,
            });
        }
        db.run(&sql, limits).map(Rows::from)
    })
    .await
    .map_err(|e| AnswerError(format!("grading failed: {e}")))
}

impl SqlChecker {
    async fn expected(&self, context: &GradeContext) -> Result<&[Rows; 2], AnswerError> {
        self.expected
            .get_or_try_init(|| self.reference_results(context, GRADING_LIMITS))
            .await
    }

    /// The reference's results on the course and hidden datasets, checked
    /// for what grading needs of them.
    async fn reference_results(
        &self,
        context: &GradeContext,
        limits: Limits,
    ) -> Result<[Rows; 2], AnswerError> {
        let mut results = Vec::new();
        for variant in [Variant::Course, Variant::Hidden] {
            let rows = run_on(
                variant,
                self.spec.reference.clone(),
                context,
                REFERENCE,
                limits,
            )
            .await?
            .map_err(|e| AnswerError(format!("the exercise's reference query fails: {e}")))?;
            results.push(rows);
        }
        let [course, hidden]: [Rows; 2] = results.try_into().expect("two variants");
        if course.truncated || hidden.truncated {
            return Err(AnswerError(format!(
                "the exercise's reference query returns more than {MAX_GRADED_ROWS} rows"
            )));
        }
        if let Some(unknown) = self
            .spec
            .order_by
            .iter()
            .find(|n| !course.names.contains(n))
        {
            return Err(AnswerError(format!(
                        "the exercise's `order_by` names {unknown:?}, which is not a column of its reference query"
                    )));
        }
        Ok([course, hidden])
    }

    async fn judge(
        &self,
        answer: &Value,
        context: &GradeContext,
    ) -> Result<Vec<CheckOutcome>, AnswerError> {
        // An object only: serde would also take a one-item list as the struct.
        let SqlAnswer { sql } = answer
            .is_object()
            .then(|| SqlAnswer::deserialize(answer).ok())
            .flatten()
            .ok_or_else(|| AnswerError("the answer is {\"sql\": \"your query\"}".into()))?;
        let expected = self.expected(context).await?;
        let who = context.student.as_ref().map_or("a batch", |s| s.as_str());
        let mut checks = Vec::new();
        for (variant, expected) in [Variant::Course, Variant::Hidden].into_iter().zip(expected) {
            let name = match variant {
                Variant::Course => "the right rows on the course dataset",
                Variant::Hidden => "the right rows on a second, hidden dataset",
            };
            let outcome = match run_on(variant, sql.clone(), context, who, GRADING_LIMITS).await? {
                // Errors on the hidden dataset can quote its data; say only that it failed.
                Err(_) if variant == Variant::Hidden => CheckOutcome::new(name, false)
                    .observed("your query failed on this dataset (it ran on the course dataset)"),
                Err(error) => CheckOutcome::new(name, false)
                    .observed(format!("your query failed: {}", error.message)),
                Ok(actual) => self.compare(name, expected, &actual, variant == Variant::Course),
            };
            checks.push(outcome);
        }
        Ok(checks)
    }

    fn compare(&self, name: &str, expected: &Rows, actual: &Rows, show_rows: bool) -> CheckOutcome {
        let rows_of = |n: usize| {
            if n == 1 {
                "1 row".to_string()
            } else {
                format!("{n} rows")
            }
        };
        let requirement = format!(
            "{} with {} column{}{}",
            rows_of(expected.rows.len()),
            expected.names.len(),
            if expected.names.len() == 1 { "" } else { "s" },
            if self.spec.ordered { ", in order" } else { "" }
        );
        let fail = |observed: String| {
            CheckOutcome::new(name, false)
                .expected(requirement.clone())
                .observed(observed)
        };
        if actual.truncated {
            return fail(format!("more than {MAX_GRADED_ROWS} rows"));
        }
        if actual.names.len() != expected.names.len() {
            return fail(format!(
                "{} column(s): {}",
                actual.names.len(),
                actual.names.join(", ")
            ));
        }
        if self.spec.compare_names && actual.names != expected.names {
            return fail(format!(
                "columns named {}; expected names {}",
                actual.names.join(", "),
                expected.names.join(", ")
            ));
        }
        let (missing, extra) = difference(&expected.rows, &actual.rows);
        if !missing.is_empty() || !extra.is_empty() {
            let mut observed = format!(
                "{}: {} missing, {} that should not be there",
                rows_of(actual.rows.len()),
                missing.len(),
                extra.len()
            );
            if show_rows {
                for (label, rows) in [("missing", &missing), ("not expected", &extra)] {
                    if !rows.is_empty() {
                        let sample: Vec<String> =
                            rows.iter().take(SAMPLE_ROWS).map(|r| show(r)).collect();
                        observed.push_str(&format!("; {label}, e.g. {}", sample.join(", ")));
                    }
                }
            }
            return fail(observed);
        }
        if self.spec.ordered && !self.same_order(expected, actual) {
            return fail(format!(
                "{}: the right rows, in the wrong order",
                rows_of(actual.rows.len())
            ));
        }
        CheckOutcome::new(name, true)
            .expected(requirement)
            .observed(rows_of(actual.rows.len()))
    }

    /// Whether `actual` cuts into the same tied runs as `expected`.
    fn same_order(&self, expected: &Rows, actual: &Rows) -> bool {
        let keys: Vec<usize> = if self.spec.order_by.is_empty() {
            (0..expected.names.len()).collect()
        } else {
            self.spec
                .order_by
                .iter()
                .filter_map(|n| expected.names.iter().position(|c| c == n))
                .collect()
        };
        let key =
            |row: &Vec<SqlValue>| keys.iter().map(|&i| canonical(&row[i])).collect::<Vec<_>>();
        let mut start = 0;
        while start < expected.rows.len() {
            let run_key = key(&expected.rows[start]);
            let end = (start..expected.rows.len())
                .find(|&i| key(&expected.rows[i]) != run_key)
                .unwrap_or(expected.rows.len());
            let (missing, extra) = difference(&expected.rows[start..end], &actual.rows[start..end]);
            if !missing.is_empty() || !extra.is_empty() {
                return false;
            }
            start = end;
        }
        true
    }
}

/// A value as compared: equal numbers alike whatever their storage class.
fn canonical(value: &SqlValue) -> String {
    match value {
        SqlValue::Integer(i) => format!("n:{i}"),
        SqlValue::Real(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => format!("n:{}", *x as i64),
        SqlValue::Real(x) => format!("n:{x:.6}"),
        SqlValue::Text(s) => format!("s:{s}"),
        SqlValue::Null => "null".into(),
    }
}

/// Rows of `expected` not in `actual`, and rows of `actual` not in `expected`, as multisets.
fn difference(
    expected: &[Vec<SqlValue>],
    actual: &[Vec<SqlValue>],
) -> (Vec<Vec<SqlValue>>, Vec<Vec<SqlValue>>) {
    let mut counts: BTreeMap<Vec<String>, (i64, Vec<SqlValue>)> = BTreeMap::new();
    for row in expected {
        counts
            .entry(row.iter().map(canonical).collect())
            .or_insert((0, row.clone()))
            .0 += 1;
    }
    for row in actual {
        counts
            .entry(row.iter().map(canonical).collect())
            .or_insert((0, row.clone()))
            .0 -= 1;
    }
    let mut missing = Vec::new();
    let mut extra = Vec::new();
    for (count, row) in counts.into_values() {
        for _ in 0..count.max(0) {
            missing.push(row.clone());
        }
        for _ in 0..(-count).max(0) {
            extra.push(row.clone());
        }
    }
    (missing, extra)
}

fn show(row: &[SqlValue]) -> String {
    let cells: Vec<String> = row
        .iter()
        .map(|v| match v {
            SqlValue::Text(s) => format!("'{s}'"),
            SqlValue::Null => "NULL".into(),
            // Numbers as JSON writes them (`2.0`, `1e20`), as the rows were shown before.
            number => serde_json::to_string(number).unwrap_or_default(),
        })
        .collect();
    format!("({})", cells.join(", "))
}

impl Checker for SqlChecker {
    fn public_input(&self) -> ExerciseInput {
        ExerciseInput::Sql {
            starter: self.spec.starter.clone(),
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
        vec![self.spec.reference.clone()]
    }

    fn lint<'a>(&'a self, context: &'a GradeContext) -> BoxFuture<'a, Vec<LintFinding>> {
        async move {
            match self.reference_results(context, LINT_LIMITS).await {
                Err(e) => vec![LintFinding {
                    allowance: None,
                    message: e.0,
                }],
                Ok([course, hidden]) => reference_findings(&course, &hidden),
            }
        }
        .boxed()
    }
}

/// What makes a reference useless for grading: no rows (an empty query
/// passes), or the same rows on both datasets (a copied result passes).
fn reference_findings(course: &Rows, hidden: &Rows) -> Vec<LintFinding> {
    let mut findings = Vec::new();
    let (missing, extra) = difference(&course.rows, &hidden.rows);
    if course.rows.is_empty() {
        findings.push(LintFinding {
            allowance: None,
            message: "[check]: the reference query returns no rows on the course dataset, so a student sees no target, and a query that returns nothing passes there".into(),
        });
    } else if missing.is_empty() && extra.is_empty() {
        findings.push(LintFinding {
            allowance: Some(LintAllowance::SameRowsOnHidden),
            message: "[check]: the reference query returns the same rows on the course dataset and the hidden one, so a query that spells out those rows passes; if that is intended, add `lint_allow = [\"same-rows-on-hidden\"]`".into(),
        });
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use SqlValue::{Integer, Real, Text};

    fn rows(values: &[&[SqlValue]]) -> Vec<Vec<SqlValue>> {
        values.iter().map(|r| r.to_vec()).collect()
    }

    #[test]
    fn equal_numbers_compare_equal_whatever_their_type() {
        assert_eq!(canonical(&Integer(2)), canonical(&Real(2.0)));
        assert_ne!(canonical(&Integer(2)), canonical(&Text("2".into())));
        assert_eq!(canonical(&Real(0.1 + 0.2)), canonical(&Real(0.3)));
    }

    #[test]
    fn differences_are_multisets() {
        let expected = rows(&[&[Integer(1)], &[Integer(1)], &[Integer(2)]]);
        let actual = rows(&[&[Integer(1)], &[Integer(2)], &[Integer(3)]]);
        let (missing, extra) = difference(&expected, &actual);
        assert_eq!(missing, rows(&[&[Integer(1)]]));
        assert_eq!(extra, rows(&[&[Integer(3)]]));
    }

    fn checker(ordered: bool, order_by: &[&str]) -> SqlChecker {
        SqlChecker {
            spec: Spec {
                reference: "SELECT 1".into(),
                ordered,
                order_by: order_by.iter().map(|s| s.to_string()).collect(),
                compare_names: false,
                starter: String::new(),
            },
            expected: OnceCell::new(),
        }
    }

    fn result(data: &[(&str, i64)]) -> Rows {
        Rows {
            names: vec!["name".into(), "units".into()],
            rows: data
                .iter()
                .map(|(n, u)| vec![Text(n.to_string()), Integer(*u)])
                .collect(),
            truncated: false,
        }
    }

    #[test]
    fn tied_rows_may_come_in_any_order_but_runs_may_not() {
        let check = checker(true, &["units"]);
        let expected = result(&[("a", 9), ("b", 5), ("c", 5), ("d", 1)]);
        let swapped_tie = result(&[("a", 9), ("c", 5), ("b", 5), ("d", 1)]);
        assert!(check.compare("x", &expected, &swapped_tie, true).passed);
        let wrong = result(&[("b", 5), ("a", 9), ("c", 5), ("d", 1)]);
        let outcome = check.compare("x", &expected, &wrong, true);
        assert!(!outcome.passed);
        assert!(outcome.observed.unwrap().contains("wrong order"));
        // Unordered exercises accept any order.
        assert!(
            checker(false, &[])
                .compare("x", &expected, &wrong, true)
                .passed
        );
        // Without tie columns, every column breaks ties: the order is strict.
        assert!(
            !checker(true, &[])
                .compare("x", &expected, &swapped_tie, true)
                .passed
        );
    }

    #[test]
    fn samples_of_rows_are_shown_only_for_the_course_dataset() {
        let check = checker(false, &[]);
        let expected = result(&[("a", 1), ("b", 2)]);
        let actual = result(&[("a", 1), ("z", 2)]);
        let shown = check
            .compare("x", &expected, &actual, true)
            .observed
            .unwrap();
        assert!(shown.contains("'b'") && shown.contains("'z'"), "{shown}");
        let hidden = check
            .compare("x", &expected, &actual, false)
            .observed
            .unwrap();
        assert!(
            !hidden.contains("'b'") && !hidden.contains("'z'"),
            "{hidden}"
        );
        assert!(hidden.contains("1 missing"));
    }
}
