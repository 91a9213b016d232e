//! `GET /api/traces/{id}` and `GET /api/traces`: a student's own traces.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use model::{TraceSummary, TraceView};

use crate::error::{extract::Path, ApiError};
use crate::identity::Visitor;
use crate::state::Engine;

use crate::inspector::TraceId;

/// The inspector's API routes.
pub(crate) fn router() -> Router<Engine> {
    Router::new()
        .route("/api/traces", get(recent_traces))
        .route("/api/traces/{id}", get(one_trace))
}

async fn one_trace(
    State(state): State<Engine>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Json<TraceView>, ApiError> {
    let trace_id = TraceId::parse(&id).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "`{id}` is not a trace id: expected 32 lowercase hex digits"
        ))
    })?;
    let not_found =
        || ApiError::NotFound(format!("no trace {trace_id} among your recent requests"));
    let student = visitor.student_id().ok_or_else(not_found)?;
    state
        .traces
        .find(student, trace_id)
        .await
        .map(Json)
        .ok_or_else(not_found)
}

async fn recent_traces(
    State(state): State<Engine>,
    visitor: Visitor,
) -> Result<Json<Vec<TraceSummary>>, ApiError> {
    let Some(student) = visitor.student_id() else {
        return Ok(Json(Vec::new()));
    };
    let summaries = state
        .traces
        .latest(student, 50)
        .await
        .into_iter()
        .map(|t| TraceSummary {
            trace_id: t.trace_id,
            method: t.method,
            path: t.path,
            status: t.status,
            started_at_ms: t.started_at_ms,
            duration_us: t.duration_us,
        })
        .collect();
    Ok(Json(summaries))
}
