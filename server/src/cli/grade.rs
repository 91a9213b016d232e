//! `workbench grade`: the engine from the command line, with no server
//! running, for CI jobs and LMS exports.
//!
//! - `--exercise ID --answer FILE`: one answer (`-` reads stdin). The file
//!   holds the answer as JSON (`"201 Created"`, `["GET", "HEAD"]`,
//!   `{"requests": [...]}`); text that is not JSON is taken as a string.
//! - `--submissions FILE`: JSON lines of `{"student", "exercise", "answer"}`.
//! - `--probe URL --exercise ID`: runs a probe exercise against a server,
//!   printing each check as it completes.
//!
//! The exit status is 0 only when every answer passed every check, 1 when
//! something failed, 2 when the command could not grade at all.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use crate::config::{GradeArgs, GradeFormat};
use crate::content::load_course;
use crate::grading::batch::{csv, grade_one, GradeResult, GradedSubmission, Submission};
use crate::grading::{CheckOutcome, GradeContext, ProbePolicy, ProgressSink};

/// Why `workbench grade` could not run: exit status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct GradeCommandError(pub String);

/// Runs `workbench grade`; returns whether everything passed.
pub async fn run(args: &GradeArgs, out: &mut dyn Write) -> Result<bool, GradeCommandError> {
    let course_dir = args.course.course.clone();
    let course =
        tokio::task::spawn_blocking(move || load_course(&course_dir, &crate::vocabulary()))
            .await
            .map_err(|e| GradeCommandError(e.to_string()))?
            .map_err(|errors| {
                GradeCommandError(format!("the course has authoring errors:\n{errors}"))
            })?;
    let exercises = course.exercises();
    // The CLI runs on the student's (or a grader's) own machine.
    let policy = ProbePolicy::with_loopback(args.probe_allow.clone());
    let submissions = submissions_of(args)?;
    let show_progress = args.probe.is_some() && args.format == GradeFormat::Text;
    let mut results = Vec::new();
    for submission in submissions {
        let context = GradeContext {
            probe: policy.clone(),
            progress: show_progress.then(progress_printer),
            ..GradeContext::default()
        };
        results.push(grade_one(&exercises, submission, &context).await);
    }
    write_results(&results, args.format, out).map_err(|e| GradeCommandError(e.to_string()))?;
    if args.probe.is_some() {
        if let Some(GradedSubmission {
            result: GradeResult::Error { error },
            ..
        }) = results.first()
        {
            return Err(GradeCommandError(error.clone()));
        }
    }
    Ok(results.iter().all(|r| r.passed))
}

fn progress_printer() -> ProgressSink {
    Arc::new(|check: &CheckOutcome| {
        let mut line = format!(
            "{} {}",
            if check.passed { "ok  " } else { "FAIL" },
            check.name
        );
        if !check.passed {
            if let Some(expected) = &check.expected {
                line.push_str(&format!(": expected {expected}"));
            }
            if let Some(observed) = &check.observed {
                line.push_str(&format!(", got {observed}"));
            }
        }
        println!("{line}");
    })
}

fn submissions_of(args: &GradeArgs) -> Result<Vec<Submission>, GradeCommandError> {
    let need_exercise = || {
        args.exercise
            .clone()
            .ok_or_else(|| GradeCommandError("name the exercise with --exercise ID".into()))
    };
    match (&args.answer, &args.submissions, &args.probe) {
        (Some(file), None, None) => Ok(vec![Submission {
            student: "-".into(),
            exercise: need_exercise()?,
            answer: answer_from_text(&read_input(file)?),
        }]),
        (None, Some(file), None) => read_input(file)?
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(index, line)| {
                serde_json::from_str(line).map_err(|e| {
                    GradeCommandError(format!(
                        "{}:{}: not a submission: {e}",
                        file.display(),
                        index + 1
                    ))
                })
            })
            .collect(),
        (None, None, Some(url)) => Ok(vec![Submission {
            student: "-".into(),
            exercise: need_exercise()?,
            answer: serde_json::json!({ "base_url": url }),
        }]),
        _ => Err(GradeCommandError(
            "give exactly one of --answer FILE, --submissions FILE or --probe URL".into(),
        )),
    }
}

fn read_input(path: &Path) -> Result<String, GradeCommandError> {
    let mut text = String::new();
    if path == Path::new("-") {
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| GradeCommandError(format!("cannot read stdin: {e}")))?;
    } else {
        text = std::fs::read_to_string(path)
            .map_err(|e| GradeCommandError(format!("cannot read {}: {e}", path.display())))?;
    }
    Ok(text)
}

/// JSON when it parses, otherwise the trimmed text as a string.
fn answer_from_text(text: &str) -> serde_json::Value {
    serde_json::from_str(text)
        .unwrap_or_else(|_| serde_json::Value::String(text.trim().to_string()))
}

fn write_results(
    results: &[GradedSubmission],
    format: GradeFormat,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        GradeFormat::Text => {
            for r in results {
                let score = match &r.result {
                    GradeResult::Graded(o) => format!("{}/{}", o.score, o.max),
                    GradeResult::Error { error } => format!("error: {error}"),
                };
                writeln!(
                    out,
                    "{} {} {} {score}",
                    if r.passed { "PASS" } else { "FAIL" },
                    r.student,
                    r.exercise
                )?;
            }
            let passed = results.iter().filter(|r| r.passed).count();
            writeln!(out, "{passed} of {} passed", results.len())
        }
        GradeFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, results)?;
            writeln!(out)
        }
        GradeFormat::Csv => {
            writeln!(out, "student,exercise,score,max,passed,failed_checks")?;
            for r in results {
                let (score, max, failed) = match &r.result {
                    GradeResult::Graded(o) => (
                        o.score.to_string(),
                        o.max.to_string(),
                        o.checks
                            .iter()
                            .filter(|c| !c.passed)
                            .map(|c| c.name.clone())
                            .collect::<Vec<_>>()
                            .join("; "),
                    ),
                    GradeResult::Error { error } => (String::new(), String::new(), error.clone()),
                };
                writeln!(
                    out,
                    "{},{},{score},{max},{},{}",
                    csv(&r.student),
                    csv(&r.exercise),
                    r.passed,
                    csv(&failed)
                )?;
            }
            Ok(())
        }
        GradeFormat::Junit => write_junit(results, out),
    }
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn write_junit(results: &[GradedSubmission], out: &mut dyn Write) -> std::io::Result<()> {
    let failures = results.iter().filter(|r| !r.passed).count();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="workbench grade" tests="{}" failures="{failures}">"#,
        results.len()
    )?;
    writeln!(
        out,
        r#"  <testsuite name="exercises" tests="{}" failures="{failures}">"#,
        results.len()
    )?;
    for r in results {
        write!(
            out,
            r#"    <testcase classname="{}" name="{}""#,
            xml(&r.student),
            xml(&r.exercise)
        )?;
        match &r.result {
            GradeResult::Graded(o) if o.passed() => writeln!(out, "/>")?,
            GradeResult::Graded(o) => {
                let failed: Vec<String> = o
                    .checks
                    .iter()
                    .filter(|c| !c.passed)
                    .map(|c| match (&c.expected, &c.observed) {
                        (Some(e), Some(g)) => format!("{}: expected {e}, got {g}", c.name),
                        (None, Some(g)) => format!("{}: got {g}", c.name),
                        _ => c.name.clone(),
                    })
                    .collect();
                writeln!(out, ">")?;
                writeln!(
                    out,
                    r#"      <failure message="{} of {} points">{}</failure>"#,
                    o.score,
                    o.max,
                    xml(&failed.join("\n"))
                )?;
                writeln!(out, "    </testcase>")?;
            }
            GradeResult::Error { error } => {
                writeln!(out, ">")?;
                writeln!(out, r#"      <error message="{}"/>"#, xml(error))?;
                writeln!(out, "    </testcase>")?;
            }
        }
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_json_or_else_text() {
        assert_eq!(answer_from_text("[\"GET\"]\n"), serde_json::json!(["GET"]));
        assert_eq!(
            answer_from_text("201 Created\n"),
            serde_json::json!("201 Created")
        );
    }
}
