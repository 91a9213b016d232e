//! The gradebook: a cohort's best score on each exercise, a summary per
//! module, and where the cohort gets stuck (`/instructor/gradebook`, its
//! JSON and its CSV export).
//!
//! A cohort is one class (for the instructor who runs it, or an admin), or,
//! without a class, the students in no class (for any instructor) or every
//! student (for an admin). An instructor never sees another class's members
//! or their work, and a class shows its members' work since they joined it. A class's gradebook marks a score late when it was reached
//! only after the module's deadline in that class.
//!
//! Everything comes from three queries over the cohort's attempts and hints,
//! whatever its size, and is put together here.

use std::collections::{BTreeMap, HashMap};

use crate::db::Pool;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use model::{GradebookColumn, GradebookRow, GradebookView, ModuleScore, Outcome, StuckRow};
use serde::Deserialize;
use sqlx::Row;

use crate::accounts::{Account, Role};
use crate::classes::{self, dates, Class};
use crate::error::extract::Query;
use crate::error::ApiError;
use crate::grading::batch::csv;
use crate::grading::Exercise;
use crate::identity::SignedIn;
use crate::state::Engine;
use crate::students::StudentId;

/// The gradebook's data routes (the page is in `app`).
pub fn router() -> axum::Router<Engine> {
    Router::new()
        .route("/api/instructor/gradebook", get(gradebook_json))
        .route("/api/instructor/gradebook.csv", get(gradebook_csv))
}

/// Whose work a gradebook shows.
#[derive(Clone, Debug)]
pub enum Cohort {
    /// One class's members.
    Class(Class),
    /// Student accounts in no class (what any instructor may see).
    Unaffiliated,
    /// Every student account (admins only).
    Everyone,
}

impl Cohort {
    /// The cohort `viewer` asked for with `?class=`, after checking they may see it.
    pub async fn chosen_by(
        pool: &Pool,
        viewer: &Account,
        class: Option<&str>,
    ) -> Result<Self, ApiError> {
        viewer.require(Role::Instructor)?;
        match class.filter(|c| !c.is_empty()) {
            Some(id) => {
                let class = classes::store::find(pool, id)
                    .await?
                    .ok_or_else(|| ApiError::NotFound(format!("There is no class {id}.")))?;
                class.require_runner(viewer)?;
                Ok(Self::Class(class))
            }
            None if viewer.role >= Role::Admin => Ok(Self::Everyone),
            None => Ok(Self::Unaffiliated),
        }
    }

    fn label(&self) -> String {
        match self {
            Self::Class(class) => class.name.clone(),
            Self::Unaffiliated => "Students in no class".into(),
            Self::Everyone => "Every student".into(),
        }
    }

    /// A join limiting a query's `t.student_id` to the cohort, and its parameter.
    fn join(&self) -> (&'static str, Option<&str>) {
        match self {
            Self::Class(class) => (
                "JOIN class_members cohort ON cohort.student_id = t.student_id AND cohort.class_id = $1",
                Some(class.id.as_str()),
            ),
            Self::Unaffiliated => (
                "JOIN accounts cohort ON cohort.student_id = t.student_id AND cohort.role = 'student'
                 AND NOT EXISTS (SELECT 1 FROM class_members m WHERE m.student_id = t.student_id)",
                None,
            ),
            Self::Everyone => (
                "JOIN accounts cohort ON cohort.student_id = t.student_id AND cohort.role = 'student'",
                None,
            ),
        }
    }
}

/// `query` with the cohort's parameter, if its join has one.
fn bound<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    parameter: Option<&'q str>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    match parameter {
        Some(value) => query.bind(value),
        None => query,
    }
}

/// A member of the cohort, as a gradebook row names them.
struct Person {
    id: StudentId,
    name: String,
    email: String,
}

async fn people(pool: &Pool, cohort: &Cohort) -> Result<Vec<Person>, sqlx::Error> {
    if let Cohort::Class(class) = cohort {
        return Ok(classes::store::members(pool, &class.id)
            .await?
            .into_iter()
            .map(|m| Person {
                id: m.id,
                email: m.email.unwrap_or_else(|| "(guest)".into()),
                name: m.name,
            })
            .collect());
    }
    let (join, _) = cohort.join();
    let rows = sqlx::query(&format!(
        "SELECT t.student_id, t.display_name, t.email FROM accounts t {join} ORDER BY t.created_at, t.email"
    ))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Person {
                id: StudentId::from_raw(row.try_get::<String, _>("student_id")?),
                name: row.try_get("display_name")?,
                email: row.try_get("email")?,
            })
        })
        .collect()
}

/// One attempt, as the gradebook needs it.
struct Attempt {
    student: String,
    exercise: String,
    score: u32,
    passed: bool,
    at: i64,
    /// The outcome of a failed attempt (for the check failed most).
    failed_outcome: Option<String>,
}

async fn attempts(pool: &Pool, cohort: &Cohort) -> Result<Vec<Attempt>, sqlx::Error> {
    let (join, parameter) = cohort.join();
    // A class sees what its members did since they joined it, not before:
    // joining (or being added) does not open a student's whole history.
    let since_joined = match cohort {
        Cohort::Class(_) => "WHERE t.created_at >= cohort.joined_at",
        _ => "",
    };
    let sql = format!(
        "SELECT t.student_id, t.exercise, t.score, t.passed, t.created_at,
                CASE WHEN t.passed = 0 THEN t.outcome END AS failed_outcome
         FROM attempts t {join} {since_joined}"
    );
    let rows = bound(sqlx::query(&sql), parameter).fetch_all(pool).await?;
    rows.iter()
        .map(|row| {
            Ok(Attempt {
                student: row.try_get("student_id")?,
                exercise: row.try_get("exercise")?,
                score: row.try_get::<i64, _>("score")? as u32,
                passed: row.try_get::<i64, _>("passed")? == 1,
                at: row.try_get("created_at")?,
                failed_outcome: row.try_get("failed_outcome")?,
            })
        })
        .collect()
}

async fn hints(pool: &Pool, cohort: &Cohort) -> Result<HashMap<String, u32>, sqlx::Error> {
    let (join, parameter) = cohort.join();
    let sql = format!(
        "SELECT t.exercise, CAST(SUM(t.opened) AS BIGINT) AS opened FROM hints_opened t {join} GROUP BY t.exercise"
    );
    let rows = bound(sqlx::query(&sql), parameter).fetch_all(pool).await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("exercise")?,
                row.try_get::<i64, _>("opened")? as u32,
            ))
        })
        .collect()
}

/// A student's record on one exercise.
#[derive(Default)]
struct Cell {
    best: u32,
    attempts: u32,
    passed: bool,
    /// Best score among attempts made by the deadline.
    best_on_time: Option<u32>,
}

/// The module an exercise's lesson (`module/slug`) belongs to.
pub fn module_of(lesson: &str) -> &str {
    lesson.split('/').next().unwrap_or_default()
}

/// The gradebook of `cohort`, for one module or all.
pub async fn build(
    state: &Engine,
    cohort: &Cohort,
    module: Option<String>,
    viewer: &Account,
) -> Result<GradebookView, ApiError> {
    let course = state.course.current();
    let outline = course.outline();
    let all_exercises = course.exercises_in_order();
    let deadlines: HashMap<String, i64> = match cohort {
        Cohort::Class(class) => classes::store::deadlines(&state.pool, &class.id)
            .await?
            .into_iter()
            .collect(),
        _ => HashMap::new(),
    };
    let people = people(&state.pool, cohort).await?;
    let attempts = attempts(&state.pool, cohort).await?;
    let hints = hints(&state.pool, cohort).await?;

    let module_of_exercise: HashMap<&str, &str> = all_exercises
        .iter()
        .map(|e| (e.id.as_str(), module_of(&e.lesson)))
        .collect();
    let mut cells: HashMap<(&str, &str), Cell> = HashMap::new();
    for attempt in &attempts {
        let due = module_of_exercise
            .get(attempt.exercise.as_str())
            .and_then(|m| deadlines.get(*m));
        let cell = cells
            .entry((attempt.student.as_str(), attempt.exercise.as_str()))
            .or_default();
        cell.best = cell.best.max(attempt.score);
        cell.attempts += 1;
        cell.passed |= attempt.passed;
        if due.is_none_or(|due| attempt.at <= *due) {
            cell.best_on_time = Some(cell.best_on_time.unwrap_or(0).max(attempt.score));
        }
    }

    let shown: Vec<&std::sync::Arc<Exercise>> = all_exercises
        .iter()
        .filter(|e| module.as_deref().is_none_or(|m| module_of(&e.lesson) == m))
        .collect();
    let students = people
        .iter()
        .map(|person| {
            let mine: Vec<Option<&Cell>> = shown
                .iter()
                .map(|e| cells.get(&(person.id.as_str(), e.id.as_str())))
                .collect();
            let row_cells: Vec<Option<(u32, u32)>> = mine
                .iter()
                .map(|c| c.map(|c| (c.best, c.attempts)))
                .collect();
            GradebookRow {
                name: person.name.clone(),
                email: person.email.clone(),
                total: row_cells.iter().flatten().map(|c| c.0).sum(),
                late: mine
                    .iter()
                    .map(|c| c.is_some_and(|c| c.best_on_time.is_none_or(|t| t < c.best)))
                    .collect(),
                cells: row_cells,
            }
        })
        .collect();

    let summary = outline
        .modules
        .iter()
        .map(|m| {
            let exercises: Vec<_> = all_exercises
                .iter()
                .filter(|e| module_of(&e.lesson) == m.slug)
                .collect();
            let points: u32 = exercises.iter().map(|e| e.points).sum();
            let (mut passed, mut scored) = (0u64, 0u64);
            for person in &people {
                for exercise in &exercises {
                    if let Some(cell) = cells.get(&(person.id.as_str(), exercise.id.as_str())) {
                        passed += u64::from(cell.passed);
                        scored += u64::from(cell.best);
                    }
                }
            }
            let percent =
                |part: u64, whole: u64| (part * 100).checked_div(whole).unwrap_or(0) as u32;
            ModuleScore {
                module: m.slug.clone(),
                title: m.title.clone(),
                exercises: exercises.len() as u32,
                completion_percent: percent(passed, (people.len() * exercises.len()) as u64),
                average_percent: percent(scored, people.len() as u64 * u64::from(points)),
                deadline: match cohort {
                    Cohort::Class(class) => deadlines
                        .get(&m.slug)
                        .map(|due| dates::describe(*due, class.utc_offset_minutes)),
                    _ => None,
                },
            }
        })
        .collect();

    let mut stuck: Vec<StuckRow> = shown
        .iter()
        .map(|exercise| stuck_row(exercise, &attempts, &hints))
        .filter(|row| row.tried > 0)
        .collect();
    stuck.sort_by_key(|row| {
        (
            std::cmp::Reverse(row.tried - row.passed),
            std::cmp::Reverse(row.tried),
        )
    });

    let classes = classes::store::run_by(&state.pool, viewer)
        .await?
        .into_iter()
        .map(|(class, _)| (class.id, class.name))
        .collect();
    Ok(GradebookView {
        module,
        modules: outline
            .modules
            .iter()
            .map(|m| (m.slug.clone(), m.title.clone()))
            .collect(),
        exercises: shown
            .iter()
            .map(|e| GradebookColumn {
                id: e.id.clone(),
                title: e.title.clone(),
                points: e.points,
            })
            .collect(),
        students,
        stuck,
        class: match cohort {
            Cohort::Class(class) => Some(class.id.clone()),
            _ => None,
        },
        cohort: cohort.label(),
        classes,
        everyone: match cohort {
            Cohort::Everyone => Cohort::Everyone.label(),
            _ if viewer.role >= Role::Admin => Cohort::Everyone.label(),
            _ => Cohort::Unaffiliated.label(),
        },
        summary,
    })
}

/// Who tried, who passed, which check fails most, how many hints were opened.
fn stuck_row(exercise: &Exercise, attempts: &[Attempt], hints: &HashMap<String, u32>) -> StuckRow {
    let mine = || attempts.iter().filter(|a| a.exercise == exercise.id);
    let distinct = |attempts: Vec<&str>| {
        let mut attempts = attempts;
        attempts.sort_unstable();
        attempts.dedup();
        attempts.len() as u32
    };
    let tried = distinct(mine().map(|a| a.student.as_str()).collect());
    let passed = distinct(
        mine()
            .filter(|a| a.passed)
            .map(|a| a.student.as_str())
            .collect(),
    );
    let mut failures: BTreeMap<String, u32> = BTreeMap::new();
    for outcome in mine()
        .filter_map(|a| a.failed_outcome.as_deref())
        .filter_map(|o| serde_json::from_str::<Outcome>(o).ok())
    {
        for check in outcome.checks.iter().filter(|c| !c.passed) {
            *failures.entry(check.name.clone()).or_default() += 1;
        }
    }
    let hardest_check = failures
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)));
    StuckRow {
        id: exercise.id.clone(),
        title: exercise.title.clone(),
        tried,
        passed,
        hardest_check,
        hints_opened: hints.get(&exercise.id).copied().unwrap_or(0),
    }
}

/// `?class=` and `?module=` on the gradebook routes.
#[derive(Deserialize)]
pub struct GradebookQuery {
    /// A class id; none for the students in no class (or everyone, for an admin).
    pub class: Option<String>,
    /// A module slug; none for every module.
    pub module: Option<String>,
}

async fn gradebook_json(
    State(state): State<Engine>,
    SignedIn(account): SignedIn,
    Query(query): Query<GradebookQuery>,
) -> Result<Json<GradebookView>, ApiError> {
    let cohort = Cohort::chosen_by(&state.pool, &account, query.class.as_deref()).await?;
    let module = query.module.filter(|m| !m.is_empty());
    Ok(Json(build(&state, &cohort, module, &account).await?))
}

/// `GET /api/instructor/gradebook.csv`: one row per student, best score per
/// exercise, the total, and the exercises whose best came late.
async fn gradebook_csv(
    State(state): State<Engine>,
    SignedIn(account): SignedIn,
    Query(query): Query<GradebookQuery>,
) -> Result<Response, ApiError> {
    let cohort = Cohort::chosen_by(&state.pool, &account, query.class.as_deref()).await?;
    let book = build(
        &state,
        &cohort,
        query.module.filter(|m| !m.is_empty()),
        &account,
    )
    .await?;
    let file_name = match &cohort {
        Cohort::Class(class) => format!("gradebook-{}.csv", class.code.to_lowercase()),
        _ => "gradebook.csv".into(),
    };
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        Body::from(to_csv(&book)),
    )
        .into_response())
}

/// The gradebook as CSV (also what `workbench class export` writes).
pub fn to_csv(book: &GradebookView) -> String {
    let mut out = String::from("name,email");
    for column in &book.exercises {
        out.push(',');
        out.push_str(&csv(&format!("{} (/{})", column.id, column.points)));
    }
    out.push_str(",total,late\n");
    for row in &book.students {
        out.push_str(&format!("{},{}", csv(&row.name), csv(&row.email)));
        for cell in &row.cells {
            out.push(',');
            if let Some((best, _)) = cell {
                out.push_str(&best.to_string());
            }
        }
        let late: Vec<&str> = book
            .exercises
            .iter()
            .zip(&row.late)
            .filter(|(_, late)| **late)
            .map(|(e, _)| e.id.as_str())
            .collect();
        out.push_str(&format!(",{},{}\n", row.total, csv(&late.join(" "))));
    }
    out
}
