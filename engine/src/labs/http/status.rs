//! `ANY /labs/http/status/{code}`: answers with the status the student asks
//! for. Query parameters shape the rest of the response:
//! `location=/path` (for 3xx and 201), `header=Name:%20value` (repeatable),
//! `content_type=...` and `body=...`.

use axum::extract::RawQuery;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use model::labs::http::StatusExplained;
use serde::Serialize;
use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Schema, SchemaType};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::error::{extract::Path, ApiError, Challenge};
use crate::inspector::{Inspector, LabEvent};
use crate::labs::DeliberateResponse;

/// Headers a student may not set: they would break the exchange, or they
/// are the platform's own defences, or a link could use them against
/// whoever opens it (see `docs/SECURITY.md`). `Location` and `Content-Type`
/// have parameters of their own, checked there.
const PROTECTED_HEADERS: [&str; 26] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "content-encoding",
    "traceresponse",
    "content-type",
    "location",
    "refresh",
    "set-cookie",
    "clear-site-data",
    "content-security-policy",
    "content-security-policy-report-only",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
    "strict-transport-security",
    "permissions-policy",
    "cross-origin-opener-policy",
    "cross-origin-embedder-policy",
    "cross-origin-resource-policy",
    "access-control-allow-credentials",
    "origin-agent-cluster",
    // Reporting policies outlive the response: a link could make the
    // reader's browser report their later workbench URLs elsewhere.
    "nel",
    "report-to",
    "reporting-endpoints",
];

/// Authentication schemes for which a browser shows its own password
/// prompt: a link could use one to ask for a password in our name.
const PROMPTING_SCHEMES: [&str; 4] = ["basic", "digest", "negotiate", "ntlm"];

/// What the response will be, parsed from the path and query.
#[derive(Debug, Default, PartialEq)]
struct StatusRequest {
    location: Option<String>,
    content_type: Option<String>,
    body: Option<String>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

#[derive(Serialize)]
struct StatusChosen {
    status: u16,
    class: &'static str,
    location: Option<String>,
    extra_headers: Vec<String>,
}

impl LabEvent for StatusChosen {
    const KIND: &'static str = "http.status";
    fn summary(&self) -> String {
        format!("answering {} ({}) as asked", self.status, self.class)
    }
}

/// The body of a status route's answer, for the OpenAPI document: the
/// status explained, or whatever body the student asked for.
pub(super) struct HttpStatusBody;

impl utoipa::PartialSchema for HttpStatusBody {
    fn schema() -> RefOr<Schema> {
        AnyOfBuilder::new()
            .item(Ref::from_schema_name(StatusExplained::name()))
            .item(ObjectBuilder::new().schema_type(SchemaType::AnyValue).description(Some(
                "The body asked for with `body=`, as it was given, or the lab's `{error, message}` when it refused the request",
            )))
            .description(Some(
                "The status explained, unless the query asked for a body of its own",
            ))
            .into()
    }
}

impl ToSchema for HttpStatusBody {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((
            StatusExplained::name().into_owned(),
            StatusExplained::schema(),
        ));
    }
}

/// `ANY /labs/http/status/{code}`: the status the student asked for.
#[utoipa::path(method(get, post, put, patch, delete), path = "/status/{code}",
    summary = "Answers with the status code you ask for",
    description = "Answers any method with the status in the path, 200 to 599: 5xx answers too, on purpose, to see what a client does with them. \
The body explains the status as JSON, unless `body` asks for one of your own (then `text/plain`, or the `content_type` you give); 204 and 304 have none. \
`location` sets `Location` (3xx answers default to `/labs/http/echo`), and each `header=Name: value` adds a header; a 401 carries the challenge `WWW-Authenticate: Bearer realm=\"workbench-lab\"` unless you give your own. \
A code outside 200-599, an unknown parameter, a `location` off this site, a script `content_type` or a header the server manages is refused with 400 and `{error, message}`.",
    params(
        ("code" = u16, Path, minimum = 200, maximum = 599, description = "The status to answer with, 200 to 599 (1xx are interim answers, never final)"),
        ("location" = Option<String>, Query, description = "A path on this site for the `Location` header, e.g. `/labs/http/echo`"),
        ("header" = Option<Vec<String>>, Query, description = "An extra response header, `Name: value`; repeat for more. Headers the server manages (`Content-Type`, `Set-Cookie`, ...) are refused"),
        ("content_type" = Option<String>, Query, description = "The `Content-Type` of the body given with `body` (default `text/plain; charset=utf-8`); script types are refused"),
        ("body" = Option<String>, Query, description = "A body of your own instead of the explanation"),
    ),
    responses(
        (status = 204, description = "No Content, as asked: no body",
            headers(("Location" = String, description = "When asked for with `location`"))),
        (status = 304, description = "Not Modified, as asked: no body",
            headers(("Location" = String, description = "When asked for with `location`"))),
        (status = "2XX", description = "The success asked for",
            content((HttpStatusBody = "application/json"), (String = "text/plain"), ("*/*")),
            headers(("Location" = String, description = "When asked for with `location`, e.g. for a 201"))),
        (status = "3XX", description = "The redirection asked for",
            content((HttpStatusBody = "application/json"), (String = "text/plain"), ("*/*")),
            headers(("Location" = String, description = "Where to go: `location`, or `/labs/http/echo` when none was given"))),
        (status = "4XX", description = "The client error asked for, or the lab's refusal of the request (400 with `{error, message}`)",
            content((HttpStatusBody = "application/json"), (String = "text/plain"), ("*/*")),
            headers(("Location" = String, description = "When asked for with `location`"))),
        (status = "5XX", description = "The server error asked for: deliberate, the server is fine",
            content((HttpStatusBody = "application/json"), (String = "text/plain"), ("*/*")),
            headers(("Location" = String, description = "When asked for with `location`"))),
    ))]
pub(super) async fn status(
    inspector: Inspector,
    Path(code): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let status = parse_status(&code)?;
    let request = parse_query(query.as_deref().unwrap_or_default())?;
    let location = request.location.clone().or_else(|| {
        status
            .is_redirection()
            .then(|| "/labs/http/echo".to_string())
            .filter(|_| status != StatusCode::NOT_MODIFIED)
    });
    inspector.record(&StatusChosen {
        status: status.as_u16(),
        class: class_of(status),
        location: location.clone(),
        extra_headers: request.headers.iter().map(|(n, _)| n.to_string()).collect(),
    });

    let no_body = matches!(status, StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED);
    let (content_type, body) = match (no_body, request.body) {
        (true, _) => (None, String::new()),
        (false, Some(body)) => (
            Some(
                request
                    .content_type
                    .unwrap_or_else(|| "text/plain; charset=utf-8".into()),
            ),
            body,
        ),
        (false, None) => {
            let explained = StatusExplained {
                status: status.as_u16(),
                reason: status.canonical_reason().unwrap_or("Unknown").into(),
                class: class_of(status).into(),
                meaning: meaning_of(status).into(),
            };
            (
                Some("application/json".to_string()),
                serde_json::to_string_pretty(&explained)?,
            )
        }
    };

    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    match content_type.map(|c| HeaderValue::from_str(&c)) {
        Some(Ok(value)) => {
            headers.insert(header::CONTENT_TYPE, value);
        }
        Some(Err(_)) => {
            return Err(ApiError::BadRequest(
                "content_type is not a valid header value".into(),
            ))
        }
        None => {
            headers.remove(header::CONTENT_TYPE);
        }
    }
    if let Some(location) = location {
        let value = HeaderValue::from_str(&location)
            .map_err(|_| ApiError::BadRequest("location is not a valid header value".into()))?;
        headers.insert(header::LOCATION, value);
    }
    let own_challenge = request
        .headers
        .iter()
        .any(|(name, _)| name == header::WWW_AUTHENTICATE);
    for (name, value) in request.headers {
        headers.append(name, value);
    }
    // RFC 9110 requires a challenge on every 401; the student's own wins.
    if status == StatusCode::UNAUTHORIZED && !own_challenge {
        headers.insert(header::WWW_AUTHENTICATE, Challenge::Lab.header_value());
    }
    response.extensions_mut().insert(DeliberateResponse);
    Ok(response)
}

fn parse_status(code: &str) -> Result<StatusCode, ApiError> {
    let number: u16 = code.parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "`{code}` is not a status code: use a number such as 200, 404 or 503"
        ))
    })?;
    if !(200..=599).contains(&number) {
        return Err(ApiError::BadRequest(format!(
            "{number} cannot be asked for here: final responses use 200-599 (1xx codes are interim and are never the final answer)"
        )));
    }
    StatusCode::from_u16(number)
        .map_err(|_| ApiError::BadRequest(format!("{number} is not a valid status code")))
}

fn parse_query(query: &str) -> Result<StatusRequest, ApiError> {
    let mut request = StatusRequest::default();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "location" => request.location = Some(same_site_location(&value)?),
            "content_type" => request.content_type = Some(inert_content_type(&value)?),
            "body" => request.body = Some(value.into_owned()),
            "header" => request.headers.push(parse_header(&value)?),
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown query parameter `{other}`: use location, header, content_type or body"
                )))
            }
        }
    }
    Ok(request)
}

/// Only paths on this site: a redirect to anywhere the caller names is an
/// "open redirect", which lets phishing links borrow a trusted domain.
///
/// Browsers forgive a lot in a `Location` (they drop tabs and newlines, read
/// `\\` as `/`), so the path must be printable ASCII without backslashes,
/// and it must still name this origin once resolved the way a browser would.
fn same_site_location(location: &str) -> Result<String, ApiError> {
    let plain = location.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    let base = reqwest::Url::parse("http://workbench.invalid/").expect("a valid base");
    let stays_here = base
        .join(location)
        .is_ok_and(|resolved| resolved.origin() == base.origin());
    if plain && location.starts_with('/') && stays_here {
        Ok(location.to_string())
    } else {
        Err(ApiError::BadRequest(format!(
            "location must be a path on this site such as /labs/http/echo, written in printable ASCII (percent-encode the rest), not {location:?}: redirecting wherever a query says is an open redirect"
        )))
    }
}

/// A body type that can only be looked at: a script type would let a page
/// that includes this URL with `<script src>` run the caller's code as ours.
fn inert_content_type(value: &str) -> Result<String, ApiError> {
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let well_formed = essence
        .split_once('/')
        .is_some_and(|(kind, subtype)| !kind.is_empty() && !subtype.is_empty());
    if !well_formed {
        return Err(ApiError::BadRequest(format!(
            "content_type must be a media type such as text/plain or application/json, not {value:?}"
        )));
    }
    let scripting = ["javascript", "ecmascript", "jscript", "livescript"]
        .iter()
        .any(|word| essence.contains(word))
        || essence == "text/css"
        || essence == "application/wasm";
    if scripting {
        return Err(ApiError::BadRequest(format!(
            "the lab will not serve {essence}: a body of that type could be run as code from this site; use text/plain to show it"
        )));
    }
    Ok(value.to_string())
}

fn parse_header(line: &str) -> Result<(HeaderName, HeaderValue), ApiError> {
    let (name, value) = line.split_once(':').ok_or_else(|| {
        ApiError::BadRequest(format!("header `{line}` must look like `Name: value`"))
    })?;
    let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
        ApiError::BadRequest(format!("`{}` is not a valid header name", name.trim()))
    })?;
    if PROTECTED_HEADERS.contains(&name.as_str()) {
        return Err(ApiError::BadRequest(format!(
            "the lab will not set `{name}`: the server manages that header itself (use the location and content_type parameters for those two)"
        )));
    }
    let value = HeaderValue::from_str(value.trim()).map_err(|_| {
        ApiError::BadRequest(format!("the value of `{name}` is not a valid header value"))
    })?;
    // A header may hold several challenges (`Bearer realm="x", Basic ...`):
    // any word that names a prompting scheme counts.
    let lowered = value.to_str().unwrap_or_default().to_ascii_lowercase();
    let prompting = lowered
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|word| PROMPTING_SCHEMES.contains(word));
    let authenticate = matches!(name.as_str(), "www-authenticate" | "proxy-authenticate");
    if let (true, Some(scheme)) = (authenticate, prompting) {
        return Err(ApiError::BadRequest(format!(
            "the lab will not ask for {scheme} credentials: browsers show a password prompt for it, which a link could use to phish; use a scheme such as Bearer"
        )));
    }
    Ok((name, value))
}

fn class_of(status: StatusCode) -> &'static str {
    match status.as_u16() / 100 {
        2 => "success",
        3 => "redirection",
        4 => "client error",
        _ => "server error",
    }
}

fn meaning_of(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200 => "The request worked; the body is the answer.",
        201 => "A resource was created; Location says where it lives.",
        202 => "Accepted for later processing; the work is not done yet.",
        204 => "It worked and there is nothing to send back.",
        301 => "Moved for good: clients and search engines should use Location from now on.",
        302 => "Found elsewhere for now: follow Location this time only.",
        303 => "See other: fetch Location with GET (the usual answer to a form POST).",
        304 => "Not modified: the client's cached copy is still good.",
        307 => "Temporary redirect that keeps the method and body.",
        308 => "Permanent redirect that keeps the method and body.",
        400 => "The request is malformed; fix it before retrying.",
        401 => "Not authenticated: send valid credentials.",
        403 => "Authenticated, but not allowed to do this.",
        404 => "Nothing exists at this address.",
        405 => "The resource exists but does not support this method; see Allow.",
        409 => "The request conflicts with the resource's current state.",
        422 => "Well-formed, but the content fails validation.",
        429 => "Too many requests: slow down; Retry-After says how long.",
        500 => "The server failed; the client did nothing wrong.",
        502 => "A gateway got a bad answer from the server behind it.",
        503 => "The server cannot answer right now; try later.",
        504 => "A gateway gave up waiting for the server behind it.",
        _ => match status.as_u16() / 100 {
            2 => "A success of a less common kind.",
            3 => "Look elsewhere for the answer.",
            4 => "The client must change something before retrying.",
            _ => "The server is at fault.",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_outside_final_ranges_are_refused() {
        assert!(parse_status("404").is_ok());
        assert!(parse_status("101").is_err());
        assert!(parse_status("600").is_err());
        assert!(parse_status("abc").is_err());
    }

    #[test]
    fn redirects_go_only_to_paths_on_this_site() {
        assert!(same_site_location("/labs/http/echo").is_ok());
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "javascript:alert(1)",
            // Browsers drop tabs and newlines, leaving `//evil.example`.
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            " //evil.example",
            "/ /evil.example",
            "/\u{3000}/evil.example",
            "/\\/evil.example",
            "http:/evil.example",
        ] {
            assert!(same_site_location(bad).is_err(), "{bad:?}");
        }
        assert!(same_site_location("/labs/http/echo?next=//x.example").is_ok());
        assert!(
            same_site_location("/%09/evil.example").is_ok(),
            "percent-encoded stays a path"
        );
    }

    #[test]
    fn script_types_are_never_served() {
        for bad in [
            "text/javascript",
            "application/javascript; charset=utf-8",
            "TEXT/ECMASCRIPT",
            "application/x-javascript",
            "text/css",
            "application/wasm",
            "javascript",
            "",
        ] {
            assert!(inert_content_type(bad).is_err(), "{bad:?}");
        }
        for good in [
            "text/plain",
            "text/html; charset=utf-8",
            "application/json",
            "image/svg+xml",
        ] {
            assert!(inert_content_type(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn headers_the_platform_owns_or_that_prompt_for_passwords_are_refused() {
        for bad in [
            "Content-Security-Policy: script-src *",
            "Location: https://evil.example",
            "Refresh: 0;url=https://evil.example",
            "Set-Cookie: workbench_session=x",
            "Clear-Site-Data: \"cookies\"",
            "X-Content-Type-Options: none",
            "Content-Type: text/javascript",
            "WWW-Authenticate: Basic realm=\"Workbench sign-in\"",
            "Proxy-Authenticate: NTLM",
            "WWW-Authenticate: Bearer realm=\"shop\", Basic realm=\"Workbench\"",
            "NEL: {\"report_to\":\"x\",\"max_age\":31536000}",
            "Report-To: {\"group\":\"x\"}",
        ] {
            assert!(parse_header(bad).is_err(), "{bad}");
        }
        assert!(parse_header("WWW-Authenticate: Bearer realm=\"shop\"").is_ok());
    }

    #[test]
    fn headers_are_parsed_and_protected_ones_refused() {
        let (name, value) = parse_header("X-Lesson: status codes").unwrap();
        assert_eq!(
            (name.as_str(), value.to_str().unwrap()),
            ("x-lesson", "status codes")
        );
        assert!(parse_header("Set-Cookie: a=b").is_err());
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("bad name: x").is_err());
    }

    #[test]
    fn unknown_query_parameters_are_named_in_the_error() {
        let error = parse_query("locaton=/x").unwrap_err();
        assert!(error.to_string().contains("locaton"));
    }
}
