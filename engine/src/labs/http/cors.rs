//! `GET /labs/http/cors/notes` and its `OPTIONS` preflight: a resource whose
//! CORS answers come from the student's HTTP lab settings, so a page on
//! another origin can be allowed or blocked on purpose.
//!
//! Only `GET` (and the `OPTIONS` preflight) is served: a custom request
//! header such as `X-Demo-Note` is enough to force a preflight, and a safe
//! method means the workbench's CSRF layer never has to make an exception.

use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::HttpLab;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::CurrentSettings;
use model::labs::http::HttpSettings;

/// The demo's inspector event: what CORS decided for one request.
#[derive(Serialize)]
struct CorsDecision<'a> {
    preflight: bool,
    origin: Option<&'a str>,
    allowed: bool,
    requested_method: Option<&'a str>,
    requested_headers: Option<&'a str>,
}

impl LabEvent for CorsDecision<'_> {
    const KIND: &'static str = "http.cors";
    fn summary(&self) -> String {
        let what = if self.preflight {
            "preflight"
        } else {
            "request"
        };
        match (self.origin, self.allowed) {
            (None, _) => format!("{what} with no Origin: same-origin or not from a browser"),
            (Some(origin), true) => format!("{what} from {origin}: origin allowed"),
            (Some(origin), false) => {
                format!(
                    "{what} from {origin}: origin not allowed, no Access-Control-* headers sent"
                )
            }
        }
    }
}

/// `GET /labs/http/cors/notes`: a small, fixed resource, with CORS headers
/// when the student's settings allow the request's `Origin`.
#[utoipa::path(get, path = "/cors/notes",
    summary = "A small resource whose CORS policy is your HTTP lab settings",
    description = "Answers the same two notes to everyone. When the request's `Origin` is in your `cors_allowed_origins` (or that list holds `*`), the answer carries `Access-Control-Allow-Origin` (and `Access-Control-Allow-Credentials: true` when `cors_allow_credentials` is on), so a page on that origin may read it. Otherwise it carries no `Access-Control-*` header, and the browser hides the answer from the page. Every answer carries `Vary: Origin`.",
    params(("Origin" = Option<String>, Header, description = "The origin of the page that sent the request, added by the browser")),
    responses(
        (status = 200, description = "The notes: `{\"notes\": [...]}`", body = serde_json::Value,
            headers(("Vary" = String, description = "`Origin`"))),
    ))]
pub(super) async fn notes(
    inspector: Inspector,
    CurrentSettings(settings, ..): CurrentSettings<HttpLab>,
    headers: HeaderMap,
) -> Response {
    let origin = text(&headers, header::ORIGIN);
    let allowed = origin.is_some_and(|o| origin_allowed(&settings, o));
    inspector.record(&CorsDecision {
        preflight: false,
        origin,
        allowed,
        requested_method: None,
        requested_headers: None,
    });
    let body = serde_json::json!({
        "notes": ["CORS is enforced by the browser", "A preflight is an OPTIONS request"]
    });
    let mut response = (StatusCode::OK, axum::Json(body)).into_response();
    let out = response.headers_mut();
    out.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let (Some(origin), true) = (origin, allowed) {
        allow_origin(out, &settings, origin);
    }
    response
}

/// `OPTIONS /labs/http/cors/notes`: the preflight, answered from the settings.
#[utoipa::path(options, path = "/cors/notes",
    summary = "The CORS preflight for the notes, answered from your HTTP lab settings",
    description = "A browser sends this before a request that is not *simple* (a custom header, a method other than GET, HEAD or POST, a JSON body). When `Origin` is allowed, the answer is 204 with `Access-Control-Allow-Origin`, `Access-Control-Allow-Methods` (your `cors_allowed_methods`), `Access-Control-Allow-Headers` (your `cors_allowed_headers`, when any), `Access-Control-Max-Age` (your `cors_max_age_secs`) and, with `cors_allow_credentials`, `Access-Control-Allow-Credentials: true`. When it is not, the answer is 204 with no `Access-Control-*` header: the browser then refuses to send the real request.",
    params(
        ("Origin" = Option<String>, Header, description = "The page's origin"),
        ("Access-Control-Request-Method" = Option<String>, Header, description = "The method the page wants to use"),
        ("Access-Control-Request-Headers" = Option<String>, Header, description = "The non-simple headers the page wants to send, comma-separated"),
    ),
    responses(
        (status = 204, description = "The preflight's answer: with Access-Control-* headers when the origin is allowed, without them when not",
            headers(("Vary" = String, description = "`Origin`"))),
    ))]
pub(super) async fn preflight(
    inspector: Inspector,
    CurrentSettings(settings, ..): CurrentSettings<HttpLab>,
    headers: HeaderMap,
) -> Response {
    let origin = text(&headers, header::ORIGIN);
    let allowed = origin.is_some_and(|o| origin_allowed(&settings, o));
    inspector.record(&CorsDecision {
        preflight: true,
        origin,
        allowed,
        requested_method: text(&headers, header::ACCESS_CONTROL_REQUEST_METHOD),
        requested_headers: text(&headers, header::ACCESS_CONTROL_REQUEST_HEADERS),
    });
    let mut response = StatusCode::NO_CONTENT.into_response();
    let out = response.headers_mut();
    out.insert(header::VARY, HeaderValue::from_static("Origin"));
    let Some(origin) = origin.filter(|_| allowed) else {
        return response;
    };
    allow_origin(out, &settings, origin);
    set_list(
        out,
        header::ACCESS_CONTROL_ALLOW_METHODS,
        &settings.cors_allowed_methods,
    );
    set_list(
        out,
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        &settings.cors_allowed_headers,
    );
    out.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from(settings.cors_max_age_secs),
    );
    response
}

/// A header's value as text, when present and printable.
fn text(headers: &HeaderMap, name: HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether the settings let `origin` read the answers (case-insensitively,
/// since scheme and host are).
pub(crate) fn origin_allowed(settings: &HttpSettings, origin: &str) -> bool {
    settings
        .cors_allowed_origins
        .iter()
        .any(|allowed| allowed == "*" || allowed.eq_ignore_ascii_case(origin))
}

/// `Access-Control-Allow-Origin` (and `-Credentials`) for an allowed origin.
/// The origin is named exactly unless only the wildcard lets it in; a
/// wildcard with credentials is sent as is, so the student sees the browser
/// refuse that combination.
fn allow_origin(out: &mut HeaderMap, settings: &HttpSettings, origin: &str) {
    let named = settings
        .cors_allowed_origins
        .iter()
        .any(|allowed| allowed.eq_ignore_ascii_case(origin));
    let value = if named {
        HeaderValue::from_str(origin).unwrap_or(HeaderValue::from_static("null"))
    } else {
        HeaderValue::from_static("*")
    };
    out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    if settings.cors_allow_credentials {
        out.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

/// A comma-separated header from a settings list, left out when the list is empty.
fn set_list(out: &mut HeaderMap, name: HeaderName, list: &[String]) {
    if list.is_empty() {
        return;
    }
    if let Ok(value) = HeaderValue::from_str(&list.join(", ")) {
        out.insert(name, value);
    }
}

/// The most entries a CORS list setting may hold.
const MAX_LIST: usize = 10;
/// The longest `Access-Control-Max-Age` a student may set: a day.
pub(crate) const MAX_AGE_SECS: u32 = 86_400;

/// Checks the CORS settings: origins are `*` or `scheme://host[:port]`,
/// methods and headers are HTTP tokens, and no list is long.
pub(crate) fn validate(settings: &HttpSettings) -> Result<(), String> {
    if settings.cors_max_age_secs > MAX_AGE_SECS {
        return Err(format!(
            "cors_max_age_secs must be between 0 and {MAX_AGE_SECS}, not {}",
            settings.cors_max_age_secs
        ));
    }
    let lists = [
        ("cors_allowed_origins", &settings.cors_allowed_origins),
        ("cors_allowed_methods", &settings.cors_allowed_methods),
        ("cors_allowed_headers", &settings.cors_allowed_headers),
    ];
    for (name, list) in lists {
        if list.len() > MAX_LIST {
            return Err(format!("{name} may hold at most {MAX_LIST} entries"));
        }
    }
    for origin in &settings.cors_allowed_origins {
        if origin != "*" && !is_origin(origin) {
            return Err(format!(
                "cors_allowed_origins: `{origin}` is not an origin: write `*` or scheme://host[:port], with no path, e.g. `http://127.0.0.1:4000`"
            ));
        }
    }
    for (name, list) in &lists[1..] {
        if let Some(bad) = list.iter().find(|entry| !is_token(entry)) {
            return Err(format!(
                "{name}: `{bad}` is not a method or header name (letters, digits and -, e.g. `PUT` or `X-Demo-Note`)"
            ));
        }
    }
    Ok(())
}

/// `http://host[:port]` or `https://...`, with nothing after the authority.
fn is_origin(origin: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !authority.is_empty()
        && authority.len() <= 253
        && authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

/// An HTTP token short enough for a method or header name.
fn is_token(entry: &str) -> bool {
    !entry.is_empty()
        && entry.len() <= 64
        && entry
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(origins: &[&str]) -> HttpSettings {
        HttpSettings {
            cors_allowed_origins: origins.iter().map(|o| o.to_string()).collect(),
            ..HttpSettings::default()
        }
    }

    #[test]
    fn no_origin_is_allowed_by_default() {
        assert!(!origin_allowed(
            &HttpSettings::default(),
            "http://127.0.0.1:4000"
        ));
    }

    #[test]
    fn listed_origins_and_the_wildcard_are_allowed() {
        let listed = settings(&["http://127.0.0.1:4000"]);
        assert!(origin_allowed(&listed, "http://127.0.0.1:4000"));
        assert!(!origin_allowed(&listed, "http://127.0.0.1:4001"));
        assert!(origin_allowed(&settings(&["*"]), "http://evil.example"));
    }

    #[test]
    fn settings_are_checked() {
        assert!(validate(&settings(&[
            "*",
            "http://127.0.0.1:4000",
            "https://a.example"
        ]))
        .is_ok());
        for bad in [
            "127.0.0.1:4000",
            "http://a.example/path",
            "ftp://a.example",
            "http://",
        ] {
            let error = validate(&settings(&[bad])).unwrap_err();
            assert!(error.contains("cors_allowed_origins"), "{bad}: {error}");
        }
        let bad_header = HttpSettings {
            cors_allowed_headers: vec!["X-Demo: 1".into()],
            ..HttpSettings::default()
        };
        assert!(validate(&bad_header)
            .unwrap_err()
            .contains("cors_allowed_headers"));
        let too_long = HttpSettings {
            cors_max_age_secs: MAX_AGE_SECS + 1,
            ..HttpSettings::default()
        };
        assert!(validate(&too_long)
            .unwrap_err()
            .contains("cors_max_age_secs"));
    }
}
