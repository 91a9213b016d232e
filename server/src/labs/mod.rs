//! Labs: live demo backends that students send real requests to.
//!
//! # The lab contract
//! A lab is one module, `labs/<name>/`, with a type implementing [`Lab`]:
//! - `NAME`: its URL segment; its routes are served under `/labs/<name>`;
//! - [`Lab::routes`]: ordinary axum routes, because the point is real status
//!   codes and real headers;
//! - `Settings`: what a student may change ([`LabSettings`]), validated and
//!   persisted per student; `GET`/`PUT`/`DELETE /labs/<name>/settings` are
//!   added for every lab, and handlers read them with [`CurrentSettings`];
//! - per-student state, isolated by [`crate::identity::Student`];
//! - inspector events: structs implementing [`crate::inspector::LabEvent`];
//! - algorithms that depend on time take a clock, so tests use virtual time;
//! - its tests beside it.
//!
//! Every lab route runs inside the inspector middleware, a body size limit,
//! and [`errors::json_errors`], so a malformed request gets a 4xx with a JSON
//! body whatever the lab does. Adding a lab touches [`router`] and nothing else.

pub mod auth;
pub mod errors;
pub mod http;
mod settings;

use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get};
use axum::{middleware, Router};

pub use errors::DeliberateResponse;
pub use settings::{stored_settings, CurrentSettings, LabSettings};

use crate::inspector::record_lab_trace;
use crate::state::AppState;

/// Largest request body a lab route accepts.
pub const LAB_BODY_LIMIT: usize = 64 * 1024;

/// A live demo backend.
pub trait Lab: Send + Sync + 'static {
    /// URL segment and settings key, e.g. `http`.
    const NAME: &'static str;
    /// What the lab teaches, for people.
    const TITLE: &'static str;
    /// What a student may change in this lab.
    type Settings: LabSettings;
    /// The lab's own routes, relative to `/labs/<NAME>`.
    fn routes() -> Router<AppState>;
}

/// All labs, with the shared middleware. The registry: the one place that lists labs.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .merge(mount::<http::HttpLab>())
        .merge(mount::<auth::AuthLab>())
        .route("/labs", any(errors::no_such_route))
        .route("/labs/{*rest}", any(errors::no_such_route))
        .layer(DefaultBodyLimit::max(LAB_BODY_LIMIT))
        .layer(middleware::map_response(errors::json_errors))
        .layer(middleware::from_fn_with_state(state, record_lab_trace))
}

fn mount<L: Lab>() -> Router<AppState> {
    let settings = Router::new().route(
        "/settings",
        get(settings::show::<L>)
            .put(settings::replace::<L>)
            .delete(settings::reset::<L>),
    );
    Router::new().nest(&format!("/labs/{}", L::NAME), L::routes().merge(settings))
}
