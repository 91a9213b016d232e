//! Attempts and opened hints in the platform database.

use crate::db::Pool;
use model::Outcome;
use sqlx::Row;

use super::ENGINE_VERSION;
use crate::students::StudentId;

/// Stores a graded attempt.
pub(crate) async fn record(
    pool: &Pool,
    student: &StudentId,
    exercise: &str,
    answer: &serde_json::Value,
    outcome: &Outcome,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO attempts (student_id, exercise, answer, score, max_score, passed, outcome, engine_version, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(student.as_str())
    .bind(exercise)
    .bind(answer.to_string())
    .bind(i64::from(outcome.score))
    .bind(i64::from(outcome.max))
    .bind(i64::from(outcome.passed()))
    .bind(serde_json::to_string(outcome).unwrap_or_default())
    .bind(i64::from(ENGINE_VERSION))
    .bind(now)
    .execute(pool)
    .await?;
    forget_old_answers(pool, student, exercise).await
}

/// Answers kept per student and exercise besides the best one: the score
/// of every attempt stays, but a student who keeps trying cannot make the
/// database keep every answer they ever sent.
pub(crate) const ANSWERS_KEPT: i64 = 20;

/// Replaces the answers of all but the newest [`ANSWERS_KEPT`] attempts
/// and the best one with `null` (those attempts cannot be regraded).
async fn forget_old_answers(
    pool: &Pool,
    student: &StudentId,
    exercise: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE attempts SET answer = 'null'
         WHERE student_id = $1 AND exercise = $2 AND answer != 'null'
           AND id < (SELECT id FROM attempts WHERE student_id = $1 AND exercise = $2
                     ORDER BY id DESC LIMIT 1 OFFSET $3)
           AND id != (SELECT id FROM attempts WHERE student_id = $1 AND exercise = $2
                      ORDER BY score DESC, id DESC LIMIT 1)",
    )
    .bind(student.as_str())
    .bind(exercise)
    .bind(ANSWERS_KEPT - 1)
    .execute(pool)
    .await?;
    Ok(())
}

/// A student's record on one exercise.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Record {
    /// Attempts so far.
    pub attempts: u32,
    /// Best score, if any attempt was made.
    pub best_score: Option<u32>,
    /// Whether any attempt passed every check.
    pub passed: bool,
    /// The latest outcome.
    pub last: Option<Outcome>,
    /// Hints opened.
    pub hints_opened: u32,
}

/// What `student` has done on `exercise`.
pub(crate) async fn record_of(
    pool: &Pool,
    student: &StudentId,
    exercise: &str,
) -> Result<Record, sqlx::Error> {
    let summary = sqlx::query(
        "SELECT COUNT(*) AS attempts, MAX(score) AS best, MAX(passed) AS passed
         FROM attempts WHERE student_id = $1 AND exercise = $2",
    )
    .bind(student.as_str())
    .bind(exercise)
    .fetch_one(pool)
    .await?;
    let last: Option<String> = sqlx::query_scalar(
        "SELECT outcome FROM attempts WHERE student_id = $1 AND exercise = $2 ORDER BY id DESC LIMIT 1",
    )
    .bind(student.as_str())
    .bind(exercise)
    .fetch_optional(pool)
    .await?;
    Ok(Record {
        attempts: summary.try_get::<i64, _>("attempts")? as u32,
        best_score: summary.try_get::<Option<i64>, _>("best")?.map(|b| b as u32),
        passed: summary.try_get::<Option<i64>, _>("passed")?.unwrap_or(0) == 1,
        last: last.and_then(|o| serde_json::from_str(&o).ok()),
        hints_opened: hints_opened(pool, student, exercise).await?,
    })
}

/// How many hints `student` opened on `exercise`.
pub(crate) async fn hints_opened(
    pool: &Pool,
    student: &StudentId,
    exercise: &str,
) -> Result<u32, sqlx::Error> {
    let opened: Option<i64> = sqlx::query_scalar(
        "SELECT opened FROM hints_opened WHERE student_id = $1 AND exercise = $2",
    )
    .bind(student.as_str())
    .bind(exercise)
    .fetch_optional(pool)
    .await?;
    Ok(opened.unwrap_or(0) as u32)
}

/// Opens one more hint, up to `available`; returns how many are open.
pub(crate) async fn open_hint(
    pool: &Pool,
    student: &StudentId,
    exercise: &str,
    available: u32,
) -> Result<u32, sqlx::Error> {
    let opened: i64 = sqlx::query_scalar(
        "INSERT INTO hints_opened (student_id, exercise, opened)
         VALUES ($1, $2, CASE WHEN $3 < 1 THEN $3 ELSE 1 END)
         ON CONFLICT (student_id, exercise) DO UPDATE SET opened =
             CASE WHEN hints_opened.opened + 1 < $3 THEN hints_opened.opened + 1 ELSE $3 END
         RETURNING opened",
    )
    .bind(student.as_str())
    .bind(exercise)
    .bind(i64::from(available))
    .fetch_one(pool)
    .await?;
    Ok(opened as u32)
}

/// Forgets `student`'s attempts and hints on `exercise`, to start again.
pub(crate) async fn reset(
    pool: &Pool,
    student: &StudentId,
    exercise: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for table in ["attempts", "hints_opened"] {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE student_id = $1 AND exercise = $2"
        ))
        .bind(student.as_str())
        .bind(exercise)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_the_newest_answers_and_the_best_are_kept() {
        let pool = crate::db::connect("sqlite::memory:").await.unwrap();
        let ada = StudentId::from_raw("ada");
        sqlx::query("INSERT INTO students (id, kind, created_at) VALUES ('ada', 'guest', 0)")
            .execute(&pool)
            .await
            .unwrap();
        for i in 0..30u32 {
            // The best score comes early, on attempt 3.
            let score = if i == 3 { 5 } else { 1 };
            let outcome = Outcome {
                score,
                max: 5,
                checks: Vec::new(),
            };
            let answer = serde_json::json!({ "try": i });
            record(&pool, &ada, "x", &answer, &outcome, i64::from(i))
                .await
                .unwrap();
        }
        let kept: Vec<String> =
            sqlx::query_scalar("SELECT answer FROM attempts WHERE answer != 'null' ORDER BY id")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(kept.len() as i64, ANSWERS_KEPT + 1);
        assert_eq!(kept[0], r#"{"try":3}"#, "the best is kept");
        assert_eq!(kept.last().unwrap(), r#"{"try":29}"#);
        let record = record_of(&pool, &ada, "x").await.unwrap();
        assert_eq!(
            (record.attempts, record.best_score),
            (30, Some(5)),
            "every score stays"
        );
    }
}
