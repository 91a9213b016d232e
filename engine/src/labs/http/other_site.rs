//! The demos' second site: a page on another origin than the workbench
//! (the same host, another port), which reads the CORS demo's notes and
//! posts a forged form, so a student watches the browser's same-origin
//! policy and the workbench's CSRF defence at work.
//!
//! It serves three fixed files and nothing else; the workbench's address
//! and the student's demo key arrive in the page's query string, from the
//! lab's `GET /labs/http/cors/other-site` redirect.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

const PAGE: &str = include_str!("other_site/page.html");
const SCRIPT: &str = include_str!("other_site/site.js");
const STYLE: &str = include_str!("other_site/site.css");

/// Scripts and styles from this site only; `fetch` and forms may go anywhere,
/// since calling another origin is the point.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src *; form-action *; base-uri 'none'; frame-ancestors 'none'";

/// The second site's routes.
pub fn router() -> Router {
    Router::new()
        .route("/", get(|| file("text/html; charset=utf-8", PAGE)))
        .route(
            "/site.js",
            get(|| file("text/javascript; charset=utf-8", SCRIPT)),
        )
        .route("/site.css", get(|| file("text/css; charset=utf-8", STYLE)))
}

async fn file(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}
