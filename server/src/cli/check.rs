//! `workbench check`: loads the course, then lints it (`engine::course_lint`)
//! with a throwaway server state, so an author sees every mistake as
//! `file:line: message` before students do.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};

use crate::config::{CourseArgs, ServeConfig};
use crate::content::{load_course, AuthoringErrors};

/// What `workbench check` found.
pub enum CheckReport {
    /// No mistakes: the course's size, to print.
    Clean {
        /// Lessons in the course.
        lessons: usize,
        /// Modules in the course.
        modules: usize,
    },
    /// Every mistake, in course order.
    Mistakes(AuthoringErrors),
}

/// Why the lint could not run at all (not a mistake in the course).
#[derive(Debug, thiserror::Error)]
#[error("cannot lint the course: {0}")]
pub struct CheckError(String);

/// Loads and lints the course in `args`.
pub async fn run(args: &CourseArgs) -> Result<CheckReport, CheckError> {
    let course_dir = args.course.clone();
    let loaded =
        tokio::task::spawn_blocking(move || load_course(&course_dir, &crate::vocabulary()))
            .await
            .map_err(|e| CheckError(e.to_string()))?;
    let course = match loaded {
        Ok(course) => course,
        Err(errors) => return Ok(CheckReport::Mistakes(errors)),
    };
    let scratch = tempfile::tempdir().map_err(|e| CheckError(e.to_string()))?;
    let config = ServeConfig::new(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        args.course.clone(),
        scratch.path().to_path_buf(),
    );
    let state = crate::build_state(&config)
        .await
        .map_err(|e| CheckError(e.to_string()))?;
    let findings = engine::course_lint::lint_course(&state.engine).await;
    if findings.is_empty() {
        Ok(CheckReport::Clean {
            lessons: course.lesson_count(),
            modules: course.outline().modules.len(),
        })
    } else {
        Ok(CheckReport::Mistakes(AuthoringErrors(findings)))
    }
}

/// Prints `report`: mistakes on `out`, one per line, and their count on
/// `summary` after `out` is flushed and a blank line, so the count stands
/// on its own line however the two streams are captured and joined.
pub fn print(
    report: &CheckReport,
    out: &mut dyn Write,
    summary: &mut dyn Write,
) -> std::io::Result<()> {
    match report {
        CheckReport::Clean { lessons, modules } => {
            writeln!(out, "ok: {lessons} lessons in {modules} modules")?;
            out.flush()
        }
        CheckReport::Mistakes(errors) => {
            writeln!(out, "{errors}")?;
            out.flush()?;
            writeln!(summary, "\n{} authoring error(s)", errors.0.len())
        }
    }
}
