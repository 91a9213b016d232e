//! `GET /api/search?q=...`: the course search, as JSON, for the header's
//! search-as-you-type; the `/search` page shows the same results.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use model::search::SearchResults;
use serde::Deserialize;

use crate::content::search::MAX_QUERY_CHARS;
use crate::error::{extract::Query, ApiError};
use crate::state::Engine;

/// Hits returned when the request does not say.
pub const DEFAULT_HITS: usize = 8;
/// The most hits one request may ask for.
pub const MAX_HITS: usize = 50;

/// The search route.
pub(crate) fn router() -> Router<Engine> {
    Router::new().route("/api/search", get(search))
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
    limit: Option<usize>,
}

async fn search(
    State(state): State<Engine>,
    Query(query): Query<SearchQuery>,
) -> Result<Json<SearchResults>, ApiError> {
    if query.q.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::BadRequest(format!(
            "`q` is {} characters long; a search may be at most {MAX_QUERY_CHARS}",
            query.q.chars().count()
        )));
    }
    let limit = query.limit.unwrap_or(DEFAULT_HITS);
    if !(1..=MAX_HITS).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "`limit` must be between 1 and {MAX_HITS}"
        )));
    }
    Ok(Json(
        state.course.current().search().search(&query.q, limit),
    ))
}
