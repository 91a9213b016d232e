//! The correct todos API, live: each student's own copy under
//! `/labs/testing/api/`, to try by hand (and read in the inspector) before
//! writing a suite. A copy lives while its student uses it: at most
//! [`COPIES`] at once, each forgotten after [`IDLE`] without a request.

use std::time::Duration;

use axum::extract::Request;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower::ServiceExt;

use super::todos;
use super::TestingLab;
use crate::error::ApiError;
use crate::identity::Student;
use crate::labs::LabState;
use crate::students::StudentId;

/// Students whose copy is kept at once (each holds at most
/// [`todos::MAX_TODOS`] short todos).
const COPIES: u64 = 1000;
/// How long an unused copy is kept.
const IDLE: Duration = Duration::from_secs(30 * 60);

/// Every student's copy of the API.
pub(crate) struct Copies(moka::sync::Cache<StudentId, Router>);

impl Copies {
    pub(crate) fn new() -> Self {
        Self(
            moka::sync::Cache::builder()
                .max_capacity(COPIES)
                .time_to_idle(IDLE)
                .build(),
        )
    }

    fn of(&self, student: &StudentId) -> Router {
        self.0.get_with(student.clone(), || todos::router(None))
    }

    /// Copies kept now.
    pub(crate) fn count(&self) -> u64 {
        self.0.entry_count()
    }
}

#[utoipa::path(method(get, post, patch, delete), path = "/api/{*rest}",
    summary = "The todos API under test: your own copy of the correct one",
    description = "The API your suites are run against, live and correct, with your own todos: `POST /labs/testing/api/todos`, `GET /labs/testing/api/todos?page=&per_page=`, and `GET`, `PATCH` and `DELETE /labs/testing/api/todos/{id}`, with `Authorization: Bearer alice` or `Bearer bob`. The lesson gives its rules. Kept for 30 minutes after your last request; at most 100 todos.",
    params(("rest" = String, Path, min_length = 1, description = "`todos` or `todos/{id}`, and a query")),
    request_body(description = "A todo's fields as JSON, for POST and PATCH", content = Option<serde_json::Value>, content_type = "application/json"),
    responses(
        (status = 200, description = "A todo, or a page of them", body = serde_json::Value),
        (status = 201, description = "The todo, made", body = serde_json::Value),
        (status = 204, description = "The todo, deleted"),
    ))]
pub(super) async fn explore(
    LabState(runs): LabState<TestingLab>,
    student: Student,
    request: Request,
) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    let rest = parts
        .uri
        .path()
        .split_once("/api/")
        .map_or("", |(_, rest)| rest);
    let query = parts
        .uri
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    parts.uri = format!("/{rest}{query}")
        .parse::<Uri>()
        .map_err(|e| ApiError::BadRequest(format!("not a path: {e}")))?;
    let answer = runs
        .copies
        .of(&student.id)
        .oneshot(Request::from_parts(parts, body))
        .await;
    Ok(answer.into_response())
}
