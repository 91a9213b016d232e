//! The middleware around every lab route: gives the request a trace id,
//! resolves the student, times the handler, and files the finished trace.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::Request;
use axum::http::{header, HeaderValue, Version};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use std::sync::Arc;

use crate::connection::RequestOnConnection;
use crate::identity::{Identities, Student};

use super::store::TraceStore;

use super::event::LabEvent;
use super::limits;
use super::trace::{Inspector, TraceId};

/// Largest request body a lab route accepts: the recorder reads the body
/// for the trace before the lab does.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What the recording middleware needs: where traces go, and who is asking.
#[derive(Clone)]
pub struct Recorder {
    /// Every student's recent traces.
    pub traces: Arc<TraceStore>,
    /// To find (or make) the student behind a request.
    pub identities: Identities,
}

/// The response header carrying the trace id (W3C Trace Context Level 2).
pub const TRACE_RESPONSE_HEADER: &str = "traceresponse";

/// What arrived, as the first event of every trace.
#[derive(Serialize)]
struct RequestReceived<'a> {
    method: &'a str,
    path: &'a str,
    http_version: &'static str,
    /// The server's number for the TCP connection the request came on.
    connection: Option<u64>,
    /// 1 for a connection's first request; more means keep-alive reuse
    /// (HTTP/1.1) or another stream (HTTP/2).
    request_on_connection: Option<u64>,
    /// The caller's own `traceparent`, if it sent one.
    traceparent: Option<&'a str>,
}

impl LabEvent for RequestReceived<'_> {
    const KIND: &'static str = "http.request";
    fn summary(&self) -> String {
        // Written piece by piece, not with `format!`: every lab request
        // records this event, and most traces are never read.
        let mut text = [
            self.method,
            " ",
            self.path,
            " received over ",
            self.http_version,
        ]
        .concat();
        if let (Some(connection), Some(number)) = (self.connection, self.request_on_connection) {
            text.push_str(", request ");
            text.push_str(itoa::Buffer::new().format(number));
            text.push_str(" on connection ");
            text.push_str(itoa::Buffer::new().format(connection));
        }
        text
    }
}

/// What went back, as the last event of every trace.
#[derive(Serialize)]
struct ResponseSent<'a> {
    status: u16,
    content_type: Option<&'a str>,
}

impl LabEvent for ResponseSent<'_> {
    const KIND: &'static str = "http.response";
    fn summary(&self) -> String {
        let mut text = String::from("answered ");
        text.push_str(itoa::Buffer::new().format(self.status));
        text
    }
}

/// The trace id a request is known by: in the server's log lines, and for
/// a lab request in the student's trace and its `traceresponse`, so an
/// operator's log and a student's trace name the same request alike.
#[derive(Clone, Copy, Debug)]
pub struct RequestTraceId(pub TraceId);

/// Gives every request its [`RequestTraceId`], as it arrives. A plain
/// function, for `tower::util::MapRequestLayer`: nothing to await, so no
/// boxed future per request.
pub fn assign_trace_id(mut request: Request) -> Request {
    request
        .extensions_mut()
        .insert(RequestTraceId(TraceId::random()));
    request
}

/// Part of the middleware for `/labs/...`: records the request into the
/// inspector as `next` answers it.
pub async fn record_lab_trace(state: &Recorder, mut request: Request, next: Next) -> Response {
    let started_at_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    let trace_id = request
        .extensions()
        .get::<RequestTraceId>()
        .map_or_else(TraceId::random, |id| id.0);
    let inspector = Inspector::new(trace_id);
    let method = request.method().clone();
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_else(|| "/".into());
    let on_connection = request.extensions().get::<RequestOnConnection>().copied();
    inspector.record(&RequestReceived {
        method: method.as_str(),
        path: &path,
        http_version: version_name(request.version()),
        connection: on_connection.map(|c| c.connection),
        request_on_connection: on_connection.map(|c| c.number),
        traceparent: request
            .headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok()),
    });

    let student = {
        let mut step = inspector.step(
            "session.load",
            "identify the student from the session cookie",
        );
        match Student::resolve(request.extensions(), &state.identities).await {
            Ok(student) => {
                step.set_summary(if student.is_new {
                    "new guest identity created"
                } else {
                    "student found in session"
                });
                step.field("student_kind", student.kind.as_str());
                student
            }
            Err(error) => return error.into_response(),
        }
    };
    request.extensions_mut().insert(student.clone());
    request.extensions_mut().insert(inspector.clone());
    let (request, request_headers, request_body) = match keep_request(request).await {
        Ok(kept) => kept,
        Err(response) => return response,
    };

    let mut response = {
        let _step = inspector.step("lab.handler", "the lab's handler ran");
        next.run(request).await
    };
    inspector.record(&ResponseSent {
        status: response.status().as_u16(),
        content_type: response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    });
    let mut traceresponse = String::with_capacity(55);
    let _ = write!(
        traceresponse,
        "00-{trace_id}-{:016x}-01",
        rand::random::<u64>() | 1
    );
    if let Ok(value) = HeaderValue::try_from(traceresponse) {
        response.headers_mut().insert(TRACE_RESPONSE_HEADER, value);
    }
    let mut trace = inspector.finish(
        method.as_str(),
        path,
        response.status().as_u16(),
        started_at_ms,
    );
    trace.request_headers = request_headers;
    trace.request_body = request_body;
    state.traces.keep(&student.id, trace).await;
    response
}

/// The version as HTTP writes it (`HTTP/1.1`), without formatting per request.
fn version_name(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/?",
    }
}

/// Request headers that carry credentials: recorded as `[redacted]`.
const SECRET_HEADERS: [&str; 3] = ["cookie", "authorization", "proxy-authorization"];

/// A credential header as the trace shows it: an `Authorization` keeps its
/// scheme (`Bearer [redacted]`), which is no secret and which exercises
/// check; everything else about it, and any cookie, is hidden.
fn redacted(name: &str, value: &[u8]) -> Cow<'static, str> {
    let scheme = std::str::from_utf8(value)
        .ok()
        .filter(|_| name != "cookie")
        .and_then(|v| v.trim().split_once(' '))
        .map(|(scheme, _)| scheme)
        .filter(|scheme| {
            scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~+".contains(c))
        });
    match scheme {
        Some(scheme) => Cow::Owned(format!("{scheme} [redacted]")),
        None => Cow::Borrowed("[redacted]"),
    }
}

/// Reads the request's headers and body for the trace (exercises check
/// them), and gives back an equal request for the handler. A body over the
/// lab limit is refused here with 413.
async fn keep_request(request: Request) -> Result<(Request, String, String), Response> {
    let headers = limits::kept_headers(request.headers().iter().map(|(name, value)| {
        let shown = if SECRET_HEADERS.contains(&name.as_str()) {
            redacted(name.as_str(), value.as_bytes())
        } else {
            String::from_utf8_lossy(value.as_bytes())
        };
        (name.as_str(), shown)
    }));
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| {
        crate::error::error_response(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The request body is over the lab limit of {} KiB.",
                BODY_LIMIT / 1024
            ),
        )
    })?;
    let kept =
        String::from_utf8_lossy(&bytes[..bytes.len().min(limits::MAX_BODY_BYTES)]).into_owned();
    Ok((
        Request::from_parts(parts, axum::body::Body::from(bytes)),
        headers,
        kept,
    ))
}

#[cfg(test)]
mod redaction_tests {
    use super::redacted;

    #[test]
    fn credentials_are_hidden_but_an_authorization_keeps_its_scheme() {
        assert_eq!(
            redacted("authorization", b"Bearer eyJhbGciOi.x.y"),
            "Bearer [redacted]"
        );
        assert_eq!(
            redacted("proxy-authorization", b"Basic dXNlcjpwdw=="),
            "Basic [redacted]"
        );
        assert_eq!(redacted("authorization", b"just-a-secret"), "[redacted]");
        assert_eq!(redacted("authorization", b"we{ird secret"), "[redacted]");
        assert_eq!(redacted("cookie", b"lab_session=abc; x=1"), "[redacted]");
    }
}
