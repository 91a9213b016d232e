//! `GET /labs/http/cors/notes` and its `OPTIONS` preflight: a resource whose
//! CORS answers come from the student's HTTP lab settings, so a page on
//! another origin can be allowed or blocked on purpose.
//!
//! Only `GET` (and the `OPTIONS` preflight) is served: a custom request
//! header such as `X-Demo-Note` is enough to force a preflight, and a safe
//! method means the workbench's CSRF layer never has to make an exception.
//!
//! The demos' second site ([`super::other_site`]) calls the notes with the
//! student's demo key in `?key=` ([`crate::labs::demo_keys`]), since a
//! preflight carries no cookie; `GET /labs/http/cors/other-site` sends the
//! student there with it.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;

use super::HttpLab;
use crate::error::ApiError;
use crate::identity::Student;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::{demo_keys, CurrentSettings, LabState, Labs};
use model::labs::http::HttpSettings;

/// The demo's inspector event: what CORS decided for one request.
#[derive(Serialize)]
struct CorsDecision<'a> {
    preflight: bool,
    origin: Option<&'a str>,
    allowed: bool,
    requested_method: Option<&'a str>,
    requested_headers: Option<&'a str>,
    /// Whether the browser may go on: read the answer (a request), or send
    /// the request it asked about (a preflight: origin, method and every
    /// requested header allowed).
    passes: bool,
}

impl LabEvent for CorsDecision<'_> {
    const KIND: &'static str = "http.cors";
    fn summary(&self) -> String {
        let what = if self.preflight {
            "preflight"
        } else {
            "request"
        };
        match (self.origin, self.allowed, self.passes) {
            (None, ..) => format!("{what} with no Origin: same-origin or not from a browser"),
            (Some(origin), true, true) if self.preflight => {
                format!("preflight from {origin}: allowed, the browser may send the request")
            }
            (Some(origin), true, true) => {
                format!("request from {origin}: origin allowed, the page may read the answer")
            }
            (Some(origin), true, false) => format!(
                "preflight from {origin}: origin allowed, but not every requested method or header is, so the browser will not send the request"
            ),
            (Some(origin), false, _) => {
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
            headers(("Vary" = String, description = "`Origin`"),
                ("Cache-Control" = String, description = "`no-store`: every read reaches the server"))),
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
        passes: allowed,
    });
    let body = serde_json::json!({
        "notes": ["CORS is enforced by the browser", "A preflight is an OPTIONS request"]
    });
    let mut response = (StatusCode::OK, axum::Json(body)).into_response();
    let out = response.headers_mut();
    out.insert(header::VARY, HeaderValue::from_static("Origin"));
    // Every read reaches the server, so every one shows in the trace.
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
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
    let requested_method = text(&headers, header::ACCESS_CONTROL_REQUEST_METHOD);
    let requested_headers = text(&headers, header::ACCESS_CONTROL_REQUEST_HEADERS);
    inspector.record(&CorsDecision {
        preflight: true,
        origin,
        allowed,
        requested_method,
        requested_headers,
        passes: allowed && preflight_passes(&settings, requested_method, requested_headers),
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

/// `GET /labs/http/cors/other-site`: to the demos' second site, with the
/// workbench's address and the student's demo key in its query string.
#[utoipa::path(get, path = "/cors/other-site",
    summary = "Go to the CORS and CSRF demos' second site",
    description = "Redirects to a page on another origin (this host, the second site's port) that calls `/labs/http/cors/notes` with `fetch` and posts a forged form to the auth lab. The query string carries the workbench's origin and your demo key: the notes route takes the key in place of your cookie, since a preflight carries none, so those requests show in your own traces.",
    responses(
        (status = 303, description = "To the second site's page", headers(("Location" = String, description = "The page, with `workbench` and `key` in its query"))),
        (status = 400, description = "The request's `Host` header is not a plain host name or address", body = model::ErrorBody),
        (status = 404, description = "This workbench runs without the second site (`--other-origin off`)", body = model::ErrorBody),
    ))]
pub(super) async fn other_site(
    State(labs): State<Labs>,
    LabState(lab): LabState<HttpLab>,
    student: Student,
    headers: HeaderMap,
) -> Result<Redirect, ApiError> {
    let port = lab.other_origin_port.ok_or_else(|| {
        ApiError::NotFound(
            "This workbench runs without the demos' second site: it was started with --other-origin off.".into(),
        )
    })?;
    let authority = text(&headers, header::HOST).unwrap_or_default();
    let host = host_name(authority).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "The Host header `{authority}` is not a host name or address that the second site can share."
        ))
    })?;
    let key = demo_keys::key_of(&labs.pool, &student.id, labs.clock.now()).await?;
    let scheme = if labs.secure_cookies { "https" } else { "http" };
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("workbench", &format!("{scheme}://{authority}"))
        .append_pair("key", &key)
        .finish();
    Ok(Redirect::to(&format!("http://{host}:{port}/?{query}")))
}

/// The host part of a `Host` header (`127.0.0.1:3000`, `[::1]:3000`,
/// `localhost`), when it is only a name or an address.
fn host_name(authority: &str) -> Option<&str> {
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !host.ends_with(':') => {
            host
        }
        _ => authority,
    };
    let plain = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':'));
    (!host.is_empty() && host.len() <= 253 && plain).then_some(host)
}

/// Whether a preflight's answer lets the browser send the request it asked
/// about: the method is GET, HEAD, POST or listed, and every requested
/// header is listed (names compare case-insensitively). A browser names
/// only the headers a page may not send without asking, so even
/// `content-type` there (say, for `application/json`) must be listed.
fn preflight_passes(
    settings: &HttpSettings,
    method: Option<&str>,
    requested_headers: Option<&str>,
) -> bool {
    let listed = |list: &[String], entry: &str| list.iter().any(|l| l.eq_ignore_ascii_case(entry));
    let method_ok = method.is_none_or(|m| {
        matches!(m, "GET" | "HEAD" | "POST") || listed(&settings.cors_allowed_methods, m)
    });
    let headers_ok = requested_headers
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .all(|h| listed(&settings.cors_allowed_headers, h));
    method_ok && headers_ok
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
    fn a_preflight_passes_only_when_its_method_and_headers_are_allowed() {
        let allowing = HttpSettings {
            cors_allowed_headers: vec!["X-Demo-Note".into()],
            cors_allowed_methods: vec!["PUT".into()],
            ..HttpSettings::default()
        };
        assert!(preflight_passes(
            &allowing,
            Some("GET"),
            Some("x-demo-note")
        ));
        assert!(preflight_passes(
            &allowing,
            Some("PUT"),
            Some("x-demo-note")
        ));
        assert!(!preflight_passes(&allowing, Some("DELETE"), None));
        assert!(!preflight_passes(
            &allowing,
            Some("GET"),
            Some("x-demo-note,authorization")
        ));
        assert!(!preflight_passes(
            &HttpSettings::default(),
            Some("GET"),
            Some("x-demo-note")
        ));
        assert!(!preflight_passes(
            &HttpSettings::default(),
            Some("POST"),
            Some("content-type")
        ));
        assert!(preflight_passes(
            &HttpSettings::default(),
            Some("POST"),
            None
        ));
    }

    #[test]
    fn the_second_site_shares_the_workbench_host() {
        assert_eq!(host_name("127.0.0.1:3000"), Some("127.0.0.1"));
        assert_eq!(host_name("[::1]:3000"), Some("[::1]"));
        assert_eq!(host_name("localhost"), Some("localhost"));
        assert_eq!(
            host_name("workbench.example.edu:443"),
            Some("workbench.example.edu")
        );
        assert_eq!(host_name(""), None);
        assert_eq!(host_name("evil.example/x@y"), None);
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
