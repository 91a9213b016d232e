//! Lab responses are specimens to look at, never pages of the workbench.
//!
//! Students (and links sent to them) choose what some lab responses contain:
//! the HTTP lab answers with any body and type, the echo repeats the
//! request. Served from the workbench's own origin, such a body could run
//! script with the reader's session. So every lab response, whatever the
//! lab did, leaves with:
//! - `Content-Security-Policy: sandbox; ...`: opened as a page, it gets an
//!   opaque origin of its own, no scripts, no forms, no plugins, no frames;
//! - `X-Content-Type-Options: nosniff`: it is never read as a type it does
//!   not declare (a `text/plain` body is no script, no stylesheet).
//!
//! The headers are set last, over anything the lab put there. The reasoning
//! and the alternatives are in `docs/SECURITY.md`.

use axum::http::{header, HeaderValue};
use axum::response::Response;

/// The policy on every lab response: nothing in it runs, loads or submits
/// anything; inline styles and data images still render, so an HTML
/// representation looks like one.
pub const LAB_RESPONSE_POLICY: &str = "sandbox; default-src 'none'; style-src 'unsafe-inline'; \
     img-src data:; frame-ancestors 'none'; form-action 'none'; base-uri 'none'";

/// Response mapper for every route under `/labs`. A plain function, for
/// `tower::util::MapResponseLayer`: nothing to await, so no boxed future.
pub(super) fn contain(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(LAB_RESPONSE_POLICY),
    );
    headers.remove(header::CONTENT_SECURITY_POLICY_REPORT_ONLY);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
