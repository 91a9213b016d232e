//! The domain's HTTP API over the [`Engine`](crate::state::Engine): the
//! routes that need more than one part of it (accounts and sign-in, classes,
//! exercises and their attempts, the grading API, traces). The labs serve
//! their own routes on a state of their own; nothing below this module
//! knows the engine.
//!
//! | module | routes |
//! |---|---|
//! | [`accounts`] | `/auth/*`, `/api/me`, `/api/instructor/accounts`, `/api/admin/...` |
//! | [`classes`] | `/api/instructor/classes/...`, `/join/{code}` |
//! | [`exercises`] | `/api/exercises/...` |
//! | [`grading_api`] | `/api/instructor/tokens...`, `/api/grade` |
//! | [`search`] | `/api/search` |
//! | [`traces`] | `/api/traces/{id}` |

pub(crate) mod accounts;
pub mod classes;
pub(crate) mod exercises;
pub(crate) mod grading_api;
pub(crate) mod metrics;
pub mod search;
pub(crate) mod traces;

use axum::Router;

use crate::state::Engine;

/// Every route of the domain on `engine`, apart from the labs themselves
/// ([`crate::labs::router`], served on its own) but with their OpenAPI document.
pub fn router(engine: Engine) -> Router {
    let openapi = crate::labs::openapi_route(&engine.labs);
    Router::new()
        .merge(traces::router())
        .merge(search::router())
        .merge(accounts::router())
        .merge(exercises::router())
        .merge(grading_api::router())
        .merge(crate::progress::router())
        .merge(crate::gradebook::router())
        .merge(classes::router())
        .merge(metrics::router())
        .with_state(engine)
        .merge(openapi)
}
