//! Progress: lessons a student opened and their best on each exercise, for
//! the student (`/progress`), with the deadlines of their classes and the
//! scores that came late.

use std::collections::HashMap;

use crate::db::Pool;
use axum::extract::State;
use axum::response::Redirect;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use model::{ExerciseProgress, LessonProgress, ModuleProgress, ProgressView};
use serde::Deserialize;
use sqlx::Row;

use crate::classes;
use crate::content::Course;
use crate::error::ApiError;
use crate::gradebook::module_of;
use crate::identity::{StudentId, Visitor};
use crate::state::Engine;

/// The progress routes.
pub fn router() -> Router<Engine> {
    Router::new()
        .route("/api/progress", get(my_progress))
        .route("/progress/reset", post(reset_module))
}

/// A student's record on one exercise.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Record {
    best: u32,
    attempts: u32,
    passed: bool,
    /// The best score was reached only after the module's deadline.
    late: bool,
}

/// The student's record per exercise. `deadlines` maps a module to its
/// earliest deadline among the student's classes.
async fn records_of(
    pool: &Pool,
    student: &StudentId,
    course: &Course,
    deadlines: &HashMap<String, i64>,
) -> Result<HashMap<String, Record>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT exercise, score, passed, created_at FROM attempts WHERE student_id = $1",
    )
    .bind(student.as_str())
    .fetch_all(pool)
    .await?;
    let exercises = course.exercises();
    let mut records: HashMap<String, (Record, Option<u32>)> = HashMap::new();
    for row in &rows {
        let exercise: String = row.try_get("exercise")?;
        let score = row.try_get::<i64, _>("score")? as u32;
        let at: i64 = row.try_get("created_at")?;
        let due = exercises
            .get(&exercise)
            .and_then(|e| deadlines.get(module_of(&e.lesson)));
        let (record, best_on_time) = records.entry(exercise).or_default();
        record.best = record.best.max(score);
        record.attempts += 1;
        record.passed |= row.try_get::<i64, _>("passed")? == 1;
        if due.is_none_or(|due| at <= *due) {
            *best_on_time = Some(best_on_time.unwrap_or(0).max(score));
        }
    }
    Ok(records
        .into_iter()
        .map(|(exercise, (mut record, best_on_time))| {
            // As the gradebook says it: the best came only after the deadline
            // (a score of nothing, all of it late, is late too).
            record.late = best_on_time.is_none_or(|on_time| on_time < record.best);
            (exercise, record)
        })
        .collect())
}

/// A student's progress through the current course.
pub async fn progress_of(state: &Engine, student: &StudentId) -> Result<ProgressView, ApiError> {
    let course = state.course.current();
    let read: Vec<String> =
        sqlx::query_scalar("SELECT lesson FROM lessons_read WHERE student_id = $1")
            .bind(student.as_str())
            .fetch_all(&state.pool)
            .await?;
    let mut deadlines: HashMap<String, i64> = HashMap::new();
    for deadline in classes::store::deadlines_of(&state.pool, student).await? {
        let earliest = deadlines.entry(deadline.module).or_insert(deadline.due_at);
        *earliest = (*earliest).min(deadline.due_at);
    }
    let records = records_of(&state.pool, student, &course, &deadlines).await?;
    let mut progress = build_progress(&course, &read, &records);
    progress.classes = classes::store::classes_of(&state.pool, student)
        .await?
        .into_iter()
        .map(|(_, name, _)| name)
        .collect();
    Ok(progress)
}

fn build_progress(
    course: &Course,
    read: &[String],
    records: &HashMap<String, Record>,
) -> ProgressView {
    let exercises = course.exercises_in_order();
    let modules = course
        .outline()
        .modules
        .iter()
        .map(|module| ModuleProgress {
            slug: module.slug.clone(),
            title: module.title.clone(),
            lessons: module
                .lessons
                .iter()
                .map(|link| LessonProgress {
                    read: read.iter().any(|r| link.href == format!("/lessons/{r}")),
                    link: link.clone(),
                })
                .collect(),
            exercises: exercises
                .iter()
                .filter(|e| module_of(&e.lesson) == module.slug)
                .map(|e| {
                    let record = records.get(&e.id);
                    ExerciseProgress {
                        id: e.id.clone(),
                        title: e.title.clone(),
                        lesson_href: format!("/lessons/{}", e.lesson),
                        points: e.points,
                        best_score: record.map(|r| r.best),
                        attempts: record.map_or(0, |r| r.attempts),
                        passed: record.is_some_and(|r| r.passed),
                        late: record.is_some_and(|r| r.late),
                    }
                })
                .collect(),
        })
        .collect();
    ProgressView {
        modules,
        classes: Vec::new(),
    }
}

async fn my_progress(
    State(state): State<Engine>,
    visitor: Visitor,
) -> Result<Json<ProgressView>, ApiError> {
    match visitor.student_id() {
        Some(student) => Ok(Json(progress_of(&state, student).await?)),
        None => Ok(Json(build_progress(
            &state.course.current(),
            &[],
            &HashMap::new(),
        ))),
    }
}

/// The form that starts a module again.
#[derive(Deserialize)]
struct ResetForm {
    module: String,
}

/// Forgets a student's attempts, hints and lessons read in one module.
async fn reset_module(
    State(state): State<Engine>,
    visitor: Visitor,
    Form(form): Form<ResetForm>,
) -> Result<Redirect, ApiError> {
    if let Some(student) = visitor.student_id() {
        let course = state.course.current();
        let exercises: Vec<String> = course
            .exercises()
            .iter()
            .filter(|e| module_of(&e.lesson) == form.module)
            .map(|e| e.id.clone())
            .collect();
        let mut tx = state.pool.begin().await?;
        for exercise in &exercises {
            for table in ["attempts", "hints_opened"] {
                sqlx::query(&format!(
                    "DELETE FROM {table} WHERE student_id = $1 AND exercise = $2"
                ))
                .bind(student.as_str())
                .bind(exercise)
                .execute(&mut *tx)
                .await?;
            }
        }
        sqlx::query("DELETE FROM lessons_read WHERE student_id = $1 AND lesson LIKE $2 || '/%'")
            .bind(student.as_str())
            .bind(&form.module)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        state.marks.wrote(student, None);
    }
    Ok(Redirect::to("/progress"))
}
