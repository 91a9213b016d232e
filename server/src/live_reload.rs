//! `GET /api/dev/content-events`: a server-sent event stream of the course's
//! version number. Pages in dev mode listen and reload when it changes.
//! Part of serving pages, not of the course: it lives with the web wiring.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::StreamExt;
use tokio_stream::wrappers::WatchStream;

use crate::error::ApiError;
use crate::state::AppState;

/// The dev-mode content routes.
pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/api/dev/content-events", get(content_events))
}

async fn content_events(State(state): State<AppState>) -> Response {
    if !state.dev {
        return ApiError::NotFound(
            "live reload is on only in dev mode (`workbench serve --dev`)".into(),
        )
        .into_response();
    }
    let mut stopping = state.stopping.subscribe();
    let versions = WatchStream::new(state.course.versions())
        .map(|v| Ok::<_, Infallible>(Event::default().data(v.to_string())))
        .take_until(async move {
            let _ = stopping.wait_for(|stopping| *stopping).await;
        });
    Sse::new(versions)
        .keep_alive(KeepAlive::default())
        .into_response()
}
