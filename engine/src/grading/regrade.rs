//! `workbench regrade`: grades every stored attempt again with the course's
//! current exercises, after an exercise (or the engine) changed.
//!
//! Attempts keep the answer exactly as it was graded (for `http` exercises,
//! the recorded requests), so a regrade sees what the first grading saw.
//! `probe` attempts are left alone: the student's server is not there to
//! probe again.

use crate::db::Pool;
use sqlx::Row;

use super::{grade, Exercises, GradeContext, ENGINE_VERSION};

/// What a regrade did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RegradeReport {
    /// Attempts graded again.
    pub regraded: u64,
    /// Of those, how many got a different score.
    pub changed: u64,
    /// Probe attempts, not re-run.
    pub skipped_probes: u64,
    /// Attempts at exercises the course no longer has.
    pub orphaned: u64,
    /// Attempts whose stored answer the current exercise cannot read.
    pub unreadable: u64,
}

impl std::fmt::Display for RegradeReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "regraded {} attempts ({} changed score); skipped {} probe attempts, {} for exercises no longer in the course, {} whose answer no longer fits",
            self.regraded, self.changed, self.skipped_probes, self.orphaned, self.unreadable
        )
    }
}

/// Regrades the stored attempts (of one exercise, when `only` names it).
pub async fn regrade(
    pool: &Pool,
    exercises: &Exercises,
    only: Option<&str>,
) -> Result<RegradeReport, sqlx::Error> {
    let rows = sqlx::query("SELECT id, exercise, answer, score FROM attempts WHERE $1 IS NULL OR exercise = $1 ORDER BY id")
        .bind(only)
        .fetch_all(pool)
        .await?;
    let context = GradeContext::default();
    let mut report = RegradeReport::default();
    for row in rows {
        let id: i64 = row.try_get("id")?;
        let exercise_id: String = row.try_get("exercise")?;
        let old_score: i64 = row.try_get("score")?;
        let Some(exercise) = exercises.get(&exercise_id) else {
            report.orphaned += 1;
            continue;
        };
        if !exercise.checker.regradable() {
            report.skipped_probes += 1;
            continue;
        }
        let answer: serde_json::Value =
            serde_json::from_str(&row.try_get::<String, _>("answer")?).unwrap_or_default();
        let Ok(outcome) = grade(&exercise, &answer, &context).await else {
            report.unreadable += 1;
            continue;
        };
        sqlx::query(
            "UPDATE attempts SET score = $1, max_score = $2, passed = $3, outcome = $4, engine_version = $5 WHERE id = $6",
        )
        .bind(i64::from(outcome.score))
        .bind(i64::from(outcome.max))
        .bind(i64::from(outcome.passed()))
        .bind(serde_json::to_string(&outcome).unwrap_or_default())
        .bind(i64::from(ENGINE_VERSION))
        .bind(id)
        .execute(pool)
        .await?;
        report.regraded += 1;
        if i64::from(outcome.score) != old_score {
            report.changed += 1;
        }
    }
    Ok(report)
}
