//! Every error from a lab route is JSON with a useful message: axum's own
//! rejections (404, 405, 413 with empty or plain bodies) are rewritten here,
//! while a response the lab produced on purpose passes untouched.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use model::labs::api::Problem;
use model::ErrorBody;

use crate::error::error_response;

/// The media type of RFC 9457 problem documents.
pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

/// Largest error body rewritten as a problem; the workbench's own are a
/// sentence or two.
const MAX_ERROR_BODY: usize = 16 * 1024;

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
pub(crate) fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with(PROBLEM_JSON));
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

/// For labs that answer errors as RFC 9457 problems ([`super::Lab::PROBLEM_DETAILS`]):
/// rewrites the workbench's `{error, message}` errors, which the shared
/// layers and extractors make, as `application/problem+json` with
/// `type: about:blank` (the status says what kind of problem it is).
/// Problems the lab made itself pass untouched.
/// `instance` is the request's path.
pub(crate) async fn problem_details(instance: String, response: Response) -> Response {
    let status = response.status();
    let is_workbench_error = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || !is_workbench_error {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let detail = match axum::body::to_bytes(body, MAX_ERROR_BODY).await {
        Ok(bytes) => serde_json::from_slice::<ErrorBody>(&bytes)
            .map(|error| error.message)
            .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned()),
        Err(_) => String::new(),
    };
    let problem = Problem {
        kind: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("Error").into(),
        status: status.as_u16(),
        detail,
        instance: Some(instance),
        errors: Vec::new(),
    };
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    Response::from_parts(parts, axum::body::Body::from(body))
}
