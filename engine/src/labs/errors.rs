//! Every error from a lab route is JSON with a useful message: axum's own
//! rejections (404, 405, 413 with empty or plain bodies) are rewritten here,
//! while a response the lab produced on purpose passes untouched.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::error_response;

/// Marks a response whose status the student asked for (e.g. `/labs/http/status/404`),
/// so it is not rewritten as an error.
#[derive(Clone, Copy, Debug)]
pub struct DeliberateResponse;

/// Fallback for paths under `/labs` that no lab serves.
pub(crate) async fn no_such_route() -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "No lab route at this path. Lab routes look like /labs/http/echo; the lesson lists each lab's routes.".into(),
    )
}

/// Rewrites non-JSON error responses as JSON errors, keeping headers such as `Allow`.
pub(crate) async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error())
        || is_json
        || response.extensions().get::<DeliberateResponse>().is_some()
    {
        return response;
    }
    let message = match status {
        StatusCode::NOT_FOUND => "Nothing here. Check the path against the lesson.".to_string(),
        StatusCode::METHOD_NOT_ALLOWED => {
            let allowed = response
                .headers()
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("see the lesson");
            format!("This route does not accept that method. Allowed: {allowed}.")
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!(
                "The request body is over the {} KiB limit of lab routes.",
                super::LAB_BODY_LIMIT / 1024
            )
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            "This route expects a JSON body with `Content-Type: application/json`.".to_string()
        }
        other if other.is_server_error() => {
            "Something went wrong on the server; it has been logged.".to_string()
        }
        other => format!("The request was refused ({other})."),
    };
    let kept_headers: HeaderMap = response
        .headers()
        .iter()
        .filter(|(name, _)| *name != header::CONTENT_TYPE && *name != header::CONTENT_LENGTH)
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    (kept_headers, error_response(status, message)).into_response()
}
