//! Refuses state-changing requests from other origins, for the whole
//! workbench: the test is [`crate::cross_origin`]'s; the routes a lab
//! guards itself (so a demo can switch the guard off) are left to the lab.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use crate::cross_origin::{evidence, is_safe, refusal};
use crate::error::error_response;

/// Middleware: answers 403 to a state-changing request from another origin.
pub(crate) async fn refuse_cross_origin(request: Request, next: Next) -> Response {
    if is_safe(request.method()) || crate::labs::checks_own_forgery(request.uri().path()) {
        return next.run(request).await;
    }
    match evidence(request.headers()) {
        None => next.run(request).await,
        Some(evidence) => {
            tracing::warn!(
                method = %request.method(),
                path = request.uri().path(),
                evidence,
                "cross-origin request refused"
            );
            error_response(StatusCode::FORBIDDEN, refusal(&evidence))
        }
    }
}
