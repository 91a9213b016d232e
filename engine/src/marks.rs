//! What a student's own pages show of them: their classes' deadlines, the
//! lessons they read and how each exercise went. A cached lesson page is
//! the same bytes for everyone; these marks are spliced into it per reader
//! (see the server's page cache), so they are read on every page a student
//! opens and are kept in memory.
//!
//! Writers in this process call [`MarksCache::wrote`] (one student) or
//! [`MarksCache::wrote_all`] (a class's deadlines or members) after the
//! database has the change; other processes' changes arrive through
//! [`crate::changes`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::db::Pool;
use model::ExerciseMark;
use sqlx::Row;

use crate::classes::store::{deadlines_of, StudentDeadline};
use crate::error::ApiError;
use crate::read_cache::ReadCache;
use crate::students::StudentId;

/// Students whose marks are kept: a large school's active students.
const CACHED_STUDENTS: u64 = 50_000;

/// The marks of every recently seen student.
pub type MarksCache = ReadCache<StudentId, Arc<Marks>>;

/// An empty cache of the usual size.
pub fn marks_cache() -> Arc<MarksCache> {
    Arc::new(ReadCache::new(moka::sync::Cache::new(CACHED_STUDENTS)))
}

/// One student's marks.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Marks {
    /// Deadlines of the student's classes, soonest first.
    pub deadlines: Vec<StudentDeadline>,
    /// Lessons read, as `module/slug`.
    pub lessons_read: HashSet<String>,
    /// How each attempted exercise went, by exercise id.
    pub exercises: HashMap<String, ExerciseMark>,
}

/// The student's marks, from `cache` when they were read before.
pub async fn marks_of(
    cache: &MarksCache,
    pool: &Pool,
    student: &StudentId,
) -> Result<Arc<Marks>, ApiError> {
    if let Some(marks) = cache.get(student) {
        return Ok(marks);
    }
    let ticket = cache.ticket();
    let marks = Arc::new(read(pool, student).await?);
    cache.fill(student.clone(), marks.clone(), ticket);
    Ok(marks)
}

/// Records that the student opened `lesson` (`module/slug`) at `now`,
/// unless their marks already say so, and returns their marks. Reading a
/// lesson again writes nothing. The record is made before the page is
/// served, so their progress shows it on the very next request. Only
/// students who already have an id are recorded: reading anonymously
/// creates nothing.
pub async fn lesson_opened(
    cache: &MarksCache,
    pool: &Pool,
    student: &StudentId,
    lesson: &str,
    now: i64,
) -> Result<Arc<Marks>, ApiError> {
    let marks = marks_of(cache, pool, student).await?;
    if marks.lessons_read.contains(lesson) {
        return Ok(marks);
    }
    sqlx::query(
        "INSERT INTO lessons_read (student_id, lesson, read_at) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(student.as_str())
    .bind(lesson)
    .bind(now)
    .execute(pool)
    .await?;
    cache.wrote(student, None);
    marks_of(cache, pool, student).await
}

async fn read(pool: &Pool, student: &StudentId) -> Result<Marks, sqlx::Error> {
    let deadlines = deadlines_of(pool, student).await?;
    let lessons_read = sqlx::query_scalar("SELECT lesson FROM lessons_read WHERE student_id = $1")
        .bind(student.as_str())
        .fetch_all(pool)
        .await?
        .into_iter()
        .collect();
    // The same summary as `grading::attempts::record_of`, for every exercise at once.
    let rows = sqlx::query(
        "SELECT exercise, COUNT(*) AS attempts, MAX(score) AS best, MAX(passed) AS passed
         FROM attempts WHERE student_id = $1 GROUP BY exercise",
    )
    .bind(student.as_str())
    .fetch_all(pool)
    .await?;
    let mut exercises = HashMap::with_capacity(rows.len());
    for row in &rows {
        let mark = ExerciseMark {
            attempts: row.try_get::<i64, _>("attempts")? as u32,
            best_score: row.try_get::<Option<i64>, _>("best")?.map(|b| b as u32),
            passed: row.try_get::<Option<i64>, _>("passed")?.unwrap_or(0) == 1,
        };
        exercises.insert(row.try_get("exercise")?, mark);
    }
    Ok(Marks {
        deadlines,
        lessons_read,
        exercises,
    })
}
