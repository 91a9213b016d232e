//! Progress: lessons a student opened and their best on each exercise, for
//! the student (`/progress`), and the class gradebook with its "where they
//! are stuck" view for instructors (`/instructor/gradebook`, CSV export).

use std::collections::{BTreeMap, HashMap};

use app::model::{
    ExerciseProgress, GradebookColumn, GradebookRow, GradebookView, LessonProgress, ModuleProgress,
    Outcome, ProgressView, StuckRow,
};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use sqlx::{Row, SqlitePool};

use crate::accounts::{store, Role, SignedIn};
use crate::content::Course;
use crate::error::extract::Query;
use crate::error::ApiError;
use crate::grading::cli::csv;
use crate::identity::{StudentId, Visitor};
use crate::state::AppState;

/// The progress and gradebook routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/progress", get(my_progress))
        .route("/progress/reset", post(reset_module))
        .route("/api/instructor/gradebook", get(gradebook_json))
        .route("/api/instructor/gradebook.csv", get(gradebook_csv))
}

/// Middleware: notes that a student opened a lesson, and gives the progress
/// and gradebook pages their data (after checking the role for the gradebook).
pub async fn page_data(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let is_lesson = path.starts_with("/lessons/");
    let is_data_page = path == "/progress" || path == "/instructor/gradebook";
    if request.method() != Method::GET || !(is_lesson || is_data_page) {
        return next.run(request).await;
    }
    let visitor = request
        .extensions()
        .get::<Visitor>()
        .cloned()
        .unwrap_or(Visitor::Anonymous);
    // Anonymous readers of lessons (the hot, cached path) have nothing to record.
    let Some(student) = visitor.student_id().cloned() else {
        return next.run(request).await;
    };
    let path = path.to_string();
    let loaded = match path.as_str() {
        "/progress" => progress_of(&state, &student).await.map(|p| {
            request.extensions_mut().insert(p);
        }),
        "/instructor/gradebook" => match &visitor {
            Visitor::SignedIn(account) if account.role >= Role::Instructor => {
                let module = request
                    .uri()
                    .query()
                    .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "module"))
                    .map(|(_, v)| v.into_owned())
                    .filter(|m| !m.is_empty());
                gradebook(&state, module).await.map(|g| {
                    request.extensions_mut().insert(g);
                })
            }
            _ => Ok(()),
        },
        lesson => {
            let lesson = lesson.trim_start_matches("/lessons/");
            // Only lessons that exist: any other path is a 404, and a
            // record of it would be a row anyone could add at will.
            let exists = lesson.split_once('/').is_some_and(|(module, slug)| {
                state.course.current().lesson(module, slug).is_some()
            });
            if exists {
                note_lesson_read(&state, &student, lesson).await
            } else {
                Ok(())
            }
        }
    };
    match loaded {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

/// Records, before the page is served, that a student opened a lesson, so
/// their progress shows it on the very next request. Only visitors who
/// already have a student id: reading anonymously creates nothing.
async fn note_lesson_read(
    state: &AppState,
    student: &StudentId,
    lesson: &str,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT OR IGNORE INTO lessons_read (student_id, lesson, read_at) VALUES (?, ?, ?)",
    )
    .bind(student.as_str())
    .bind(lesson)
    .bind(state.clock.now())
    .execute(&state.pool)
    .await?;
    Ok(())
}

/// The module an exercise's lesson (`module/slug`) belongs to.
fn module_of(lesson: &str) -> &str {
    lesson.split('/').next().unwrap_or_default()
}

/// Best score, attempts and passed, per exercise, for one student.
async fn bests_of(
    pool: &SqlitePool,
    student: &StudentId,
) -> Result<HashMap<String, (u32, u32, bool)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT exercise, MAX(score) AS best, COUNT(*) AS attempts, MAX(passed) AS passed
         FROM attempts WHERE student_id = ? GROUP BY exercise",
    )
    .bind(student.as_str())
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("exercise")?,
                (
                    r.try_get::<i64, _>("best")? as u32,
                    r.try_get::<i64, _>("attempts")? as u32,
                    r.try_get::<i64, _>("passed")? == 1,
                ),
            ))
        })
        .collect()
}

/// A student's progress through the current course.
pub async fn progress_of(state: &AppState, student: &StudentId) -> Result<ProgressView, ApiError> {
    let course = state.course.current();
    let read: Vec<String> =
        sqlx::query_scalar("SELECT lesson FROM lessons_read WHERE student_id = ?")
            .bind(student.as_str())
            .fetch_all(&state.pool)
            .await?;
    let bests = bests_of(&state.pool, student).await?;
    Ok(build_progress(&course, &read, &bests))
}

fn build_progress(
    course: &Course,
    read: &[String],
    bests: &HashMap<String, (u32, u32, bool)>,
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
                    let best = bests.get(&e.id);
                    ExerciseProgress {
                        id: e.id.clone(),
                        title: e.title.clone(),
                        lesson_href: format!("/lessons/{}", e.lesson),
                        points: e.points,
                        best_score: best.map(|b| b.0),
                        attempts: best.map_or(0, |b| b.1),
                        passed: best.is_some_and(|b| b.2),
                    }
                })
                .collect(),
        })
        .collect();
    ProgressView { modules }
}

async fn my_progress(
    State(state): State<AppState>,
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
    State(state): State<AppState>,
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
                    "DELETE FROM {table} WHERE student_id = ? AND exercise = ?"
                ))
                .bind(student.as_str())
                .bind(exercise)
                .execute(&mut *tx)
                .await?;
            }
        }
        sqlx::query("DELETE FROM lessons_read WHERE student_id = ? AND lesson LIKE ? || '/%'")
            .bind(student.as_str())
            .bind(&form.module)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(Redirect::to("/progress"))
}

/// The class gradebook, for one module or all.
pub async fn gradebook(
    state: &AppState,
    module: Option<String>,
) -> Result<GradebookView, ApiError> {
    let course = state.course.current();
    let outline = course.outline();
    let exercises: Vec<_> = course
        .exercises_in_order()
        .into_iter()
        .filter(|e| module.as_deref().is_none_or(|m| module_of(&e.lesson) == m))
        .collect();
    let accounts = store::list(&state.pool).await?;
    let mut students = Vec::new();
    for account in accounts.iter().filter(|a| a.role == Role::Student) {
        let bests = bests_of(&state.pool, &account.id).await?;
        let cells: Vec<Option<(u32, u32)>> = exercises
            .iter()
            .map(|e| bests.get(&e.id).map(|b| (b.0, b.1)))
            .collect();
        students.push(GradebookRow {
            name: account.name.clone(),
            email: account.email.clone(),
            total: cells.iter().flatten().map(|c| c.0).sum(),
            cells,
        });
    }
    let mut stuck = Vec::new();
    for exercise in &exercises {
        stuck.push(stuck_row(&state.pool, exercise).await?);
    }
    Ok(GradebookView {
        module,
        modules: outline
            .modules
            .iter()
            .map(|m| (m.slug.clone(), m.title.clone()))
            .collect(),
        exercises: exercises
            .iter()
            .map(|e| GradebookColumn {
                id: e.id.clone(),
                title: e.title.clone(),
                points: e.points,
            })
            .collect(),
        students,
        stuck,
    })
}

/// Who tried, who passed, which check fails most, how many hints were opened.
async fn stuck_row(
    pool: &SqlitePool,
    exercise: &crate::grading::Exercise,
) -> Result<StuckRow, sqlx::Error> {
    let counts = sqlx::query(
        "SELECT COUNT(DISTINCT student_id) AS tried,
                COUNT(DISTINCT CASE WHEN passed = 1 THEN student_id END) AS passed
         FROM attempts WHERE exercise = ?",
    )
    .bind(&exercise.id)
    .fetch_one(pool)
    .await?;
    let failed_outcomes: Vec<String> =
        sqlx::query_scalar("SELECT outcome FROM attempts WHERE exercise = ? AND passed = 0")
            .bind(&exercise.id)
            .fetch_all(pool)
            .await?;
    let mut failures: BTreeMap<String, u32> = BTreeMap::new();
    for outcome in failed_outcomes
        .iter()
        .filter_map(|o| serde_json::from_str::<Outcome>(o).ok())
    {
        for check in outcome.checks.iter().filter(|c| !c.passed) {
            *failures.entry(check.name.clone()).or_default() += 1;
        }
    }
    let hardest_check = failures
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)));
    let hints_opened: i64 =
        sqlx::query_scalar("SELECT COALESCE(SUM(opened), 0) FROM hints_opened WHERE exercise = ?")
            .bind(&exercise.id)
            .fetch_one(pool)
            .await?;
    Ok(StuckRow {
        id: exercise.id.clone(),
        title: exercise.title.clone(),
        tried: counts.try_get::<i64, _>("tried")? as u32,
        passed: counts.try_get::<i64, _>("passed")? as u32,
        hardest_check,
        hints_opened: hints_opened as u32,
    })
}

/// `?module=` on the gradebook routes.
#[derive(Deserialize)]
struct ModuleFilter {
    module: Option<String>,
}

async fn gradebook_json(
    State(state): State<AppState>,
    SignedIn(account): SignedIn,
    Query(filter): Query<ModuleFilter>,
) -> Result<Json<GradebookView>, ApiError> {
    account.require(Role::Instructor)?;
    Ok(Json(
        gradebook(&state, filter.module.filter(|m| !m.is_empty())).await?,
    ))
}

/// `GET /api/instructor/gradebook.csv`: one row per student, best score per exercise.
async fn gradebook_csv(
    State(state): State<AppState>,
    SignedIn(account): SignedIn,
    Query(filter): Query<ModuleFilter>,
) -> Result<Response, ApiError> {
    account.require(Role::Instructor)?;
    let book = gradebook(&state, filter.module.filter(|m| !m.is_empty())).await?;
    let mut out = String::from("name,email");
    for column in &book.exercises {
        out.push(',');
        out.push_str(&csv(&format!("{} (/{})", column.id, column.points)));
    }
    out.push_str(",total\n");
    for row in &book.students {
        out.push_str(&format!("{},{}", csv(&row.name), csv(&row.email)));
        for cell in &row.cells {
            out.push(',');
            if let Some((best, _)) = cell {
                out.push_str(&best.to_string());
            }
        }
        out.push_str(&format!(",{}\n", row.total));
    }
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"gradebook.csv\"",
            ),
        ],
        Body::from(out),
    )
        .into_response())
}
