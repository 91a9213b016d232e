//! The exercise API the cards in lessons use:
//!
//! - `GET /api/exercises/{id}`: the public view (never an answer);
//! - `GET /api/exercises/{id}/standing`: the caller's attempts, best score,
//!   opened hints and last outcome;
//! - `POST /api/exercises/{id}/attempts` with `{"answer": ...}`: grades,
//!   stores and returns the outcome (a guest identity is made if needed);
//! - `POST /api/exercises/{id}/hints`: opens the next hint;
//! - `DELETE /api/exercises/{id}/attempts`: starts the exercise again.

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use model::exercises::{AttemptRequest, Graded};
use model::{ExerciseStanding, ExerciseView};

use crate::error::extract::{Json as JsonBody, Path};
use crate::error::ApiError;
use crate::grading::http::{LabRequests, RecordedRequest};
use crate::grading::{attempts, grade, AnswerSource, Exercise, MAX_ANSWER_BYTES};
use crate::identity::{Student, StudentId, StudentKind, Visitor};
use crate::limiter::ClientAddress;
use crate::state::Engine;

/// Largest request body the exercise routes read.
const EXERCISE_BODY_LIMIT: usize = 64 * 1024;

/// How many of a student's recent lab requests an `http` exercise looks at.
const LAB_REQUESTS_GRADED: usize = 200;

/// The exercise routes.
pub(crate) fn router() -> Router<Engine> {
    Router::new()
        .route("/api/exercises/{id}", get(view))
        .route("/api/exercises/{id}/standing", get(standing))
        .route("/api/exercises/{id}/attempts", post(attempt).delete(reset))
        .route("/api/exercises/{id}/hints", post(open_hint))
        .layer(DefaultBodyLimit::max(EXERCISE_BODY_LIMIT))
}

fn find(state: &Engine, id: &str) -> Result<Arc<Exercise>, ApiError> {
    state
        .course
        .current()
        .exercises()
        .get(id)
        .ok_or_else(|| ApiError::NotFound(format!("There is no exercise `{id}`.")))
}

async fn view(
    State(state): State<Engine>,
    Path(id): Path<String>,
) -> Result<Json<ExerciseView>, ApiError> {
    Ok(Json(find(&state, &id)?.view()))
}

async fn standing_of(
    state: &Engine,
    student: Option<&StudentId>,
    exercise: &Exercise,
) -> Result<ExerciseStanding, ApiError> {
    let Some(student) = student else {
        return Ok(ExerciseStanding::default());
    };
    let record = attempts::record_of(&state.pool, student, &exercise.id).await?;
    Ok(ExerciseStanding {
        attempts: record.attempts,
        best_score: record.best_score,
        passed: record.passed,
        hints: exercise
            .hints
            .iter()
            .take(record.hints_opened as usize)
            .cloned()
            .collect(),
        last: record.last,
    })
}

async fn standing(
    State(state): State<Engine>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Json<ExerciseStanding>, ApiError> {
    let exercise = find(&state, &id)?;
    Ok(Json(
        standing_of(&state, visitor.student_id(), &exercise).await?,
    ))
}

async fn attempt(
    State(state): State<Engine>,
    ClientAddress(address): ClientAddress,
    student: Student,
    Path(id): Path<String>,
    // Any JSON: each check kind reads the answer in its own shape.
    JsonBody(body): JsonBody<AttemptRequest<serde_json::Value>>,
) -> Result<Json<Graded>, ApiError> {
    let exercise = find(&state, &id)?;
    let vouched_for = student.kind == StudentKind::Account
        || !crate::classes::store::classes_of(&state.pool, &student.id)
            .await?
            .is_empty();
    if !vouched_for {
        // Counted in what an attempt may store: a short answer costs one, a
        // 16 KiB query seventeen, so a crowd of guests behind one address can
        // check quizzes freely while what it can write stays bounded.
        let kib = 1 + body.answer.to_string().len().min(MAX_ANSWER_BYTES) / 1024;
        let cost = NonZeroU32::new(kib as u32).expect("at least one");
        state.grading.per_address.check_n(&address, cost).await?;
    }
    state.grading.per_student.check(&student.id).await?;
    state
        .grading
        .attempts
        .check(&(student.id.clone(), exercise.id.clone()))
        .await?;
    if exercise.kind == "sql" {
        state
            .grading
            .context
            .work_gate
            .check_budget(student.id.as_str())?;
    }
    let answer = match exercise.checker.answer_source() {
        AnswerSource::Student => {
            let bytes = body.answer.to_string().len();
            if bytes > MAX_ANSWER_BYTES {
                return Err(ApiError::PayloadTooLarge(format!(
                    "Your answer is {} KiB; answers are kept with each attempt, so they may be at most {} KiB.",
                    bytes.div_ceil(1024),
                    MAX_ANSWER_BYTES / 1024
                )));
            }
            body.answer
        }
        AnswerSource::RecordedRequests => own_lab_requests(&state, &student.id).await,
        AnswerSource::LabSettings(lab) => {
            crate::labs::lab_answer(&state.labs, &student.id, lab).await?
        }
    };
    let outcome = grade(
        &exercise,
        &answer,
        &state.grading.context.for_student(&student.id),
    )
    .await
    .map_err(|e| ApiError::Unprocessable(e.0))?;
    attempts::record(
        &state.pool,
        &student.id,
        &exercise.id,
        &stored_answer(exercise.checker.graded_part(&answer)),
        &outcome,
        state.clock.now(),
    )
    .await?;
    state.marks.wrote(&student.id, None);
    let standing = standing_of(&state, Some(&student.id), &exercise).await?;
    Ok(Json(Graded { outcome, standing }))
}

/// What an attempt keeps of its answer: the graded part, or, in the rare
/// case that a derived answer (a lab's state) is over the limit, a note of
/// its size instead, so no attempt can put megabytes into the database.
fn stored_answer(graded: serde_json::Value) -> serde_json::Value {
    let bytes = graded.to_string().len();
    if bytes <= MAX_ANSWER_BYTES {
        graded
    } else {
        serde_json::json!({ "not_kept": format!("the graded answer was {bytes} bytes, over the {MAX_ANSWER_BYTES}-byte limit") })
    }
}

async fn own_lab_requests(state: &Engine, student: &StudentId) -> serde_json::Value {
    let mut traces = state.traces.latest(student, LAB_REQUESTS_GRADED).await;
    traces.reverse();
    let requests = traces.iter().map(RecordedRequest::from_trace).collect();
    serde_json::to_value(LabRequests { requests }).unwrap_or_default()
}

async fn open_hint(
    State(state): State<Engine>,
    student: Student,
    Path(id): Path<String>,
) -> Result<Json<ExerciseStanding>, ApiError> {
    let exercise = find(&state, &id)?;
    if exercise.hints.is_empty() {
        return Err(ApiError::NotFound(format!("Exercise `{id}` has no hints.")));
    }
    attempts::open_hint(
        &state.pool,
        &student.id,
        &exercise.id,
        exercise.hints.len() as u32,
    )
    .await?;
    Ok(Json(
        standing_of(&state, Some(&student.id), &exercise).await?,
    ))
}

async fn reset(
    State(state): State<Engine>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Json<ExerciseStanding>, ApiError> {
    let exercise = find(&state, &id)?;
    if let Some(student) = visitor.student_id() {
        attempts::reset(&state.pool, student, &exercise.id).await?;
        state.marks.wrote(student, None);
    }
    Ok(Json(ExerciseStanding::default()))
}
