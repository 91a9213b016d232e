//! Grading many submissions at once, for the command line and `POST
//! /api/grade`: each submission graded on its own, an ungradable one
//! reported with the reason, never failing the batch.

use serde::{Deserialize, Serialize};

use super::{grade, Exercises, GradeContext, Outcome};

/// One graded submission, as every output format reports it.
#[derive(Debug, Serialize)]
pub struct GradedSubmission {
    /// Who submitted (`-` for a single answer).
    pub student: String,
    /// The exercise id.
    pub exercise: String,
    /// Whether every check passed.
    pub passed: bool,
    /// The engine's outcome, or why the answer could not be graded.
    #[serde(flatten)]
    pub result: GradeResult,
}

/// An outcome, or the reason there is none.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum GradeResult {
    /// Graded.
    Graded(Outcome),
    /// Not gradable (unknown exercise, unreadable answer).
    Error {
        /// Why.
        error: String,
    },
}

/// A line of a submissions file.
#[derive(Debug, Deserialize)]
pub struct Submission {
    /// Who submitted.
    pub student: String,
    /// The exercise id.
    pub exercise: String,
    /// The answer, as the exercise's kind reads it.
    pub answer: serde_json::Value,
}

/// Grades one submission; never fails, an ungradable one says why.
pub async fn grade_one(
    exercises: &Exercises,
    submission: Submission,
    context: &GradeContext,
) -> GradedSubmission {
    let result = match exercises.get(&submission.exercise) {
        None => GradeResult::Error {
            error: format!("there is no exercise `{}`", submission.exercise),
        },
        Some(exercise) => match grade(&exercise, &submission.answer, context).await {
            Ok(outcome) => GradeResult::Graded(outcome),
            Err(e) => GradeResult::Error { error: e.0 },
        },
    };
    GradedSubmission {
        student: submission.student,
        exercise: submission.exercise,
        passed: matches!(&result, GradeResult::Graded(o) if o.passed()),
        result,
    }
}

/// Quotes a CSV field when it needs it; a leading `=`, `+`, `-` or `@` is
/// prefixed with `'` so a spreadsheet does not run it as a formula.
pub fn csv(field: &str) -> String {
    let field = if field.starts_with(['=', '+', '-', '@']) && field != "-" {
        format!("'{field}")
    } else {
        field.to_string()
    };
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv("plain"), "plain");
        assert_eq!(csv("a,b"), "\"a,b\"");
        assert_eq!(csv("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv("-"), "-");
    }
}
