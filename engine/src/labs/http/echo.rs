//! `ANY /labs/http/echo`: the anatomy of whatever request arrives.

use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, OriginalUri, Request};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use model::labs::http::RequestAnatomy;
use serde::Serialize;

use super::HttpLab;
use crate::connection::Connection;
use crate::error::ApiError;
use crate::identity::SESSION_COOKIE;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::{CurrentSettings, LAB_BODY_LIMIT};

/// The echo's inspector event.
#[derive(Serialize)]
struct Echoed {
    header_count: usize,
    body_bytes: usize,
    body_is_json: bool,
}

impl LabEvent for Echoed {
    const KIND: &'static str = "http.echo";
    fn summary(&self) -> String {
        format!(
            "took the request apart: {} headers, {}-byte body",
            self.header_count, self.body_bytes
        )
    }
}

/// `ANY /labs/http/echo`: the request that arrived, taken apart.
#[utoipa::path(method(get, post, put, patch, delete), path = "/echo",
    summary = "The request you sent, taken apart",
    description = "Answers any method, `OPTIONS` and made-up ones included (the usual ones are listed here): the method, path, query, protocol version, every header and the body, as JSON. A JSON body is also shown parsed. The lab's `latency_ms` setting delays the answer; `pretty` indents it.",
    request_body(description = "Any body of any type, or none; JSON is also shown parsed", content = Option<serde_json::Value>, content_type = "application/json"),
    responses(
        (status = 200, description = "The request's anatomy", body = model::labs::http::RequestAnatomy),
        (status = 413, description = "The body is over the lab's size limit", body = model::ErrorBody),
    ))]
pub(super) async fn echo(
    inspector: Inspector,
    CurrentSettings(settings, ..): CurrentSettings<HttpLab>,
    request: Request,
) -> Result<Response, ApiError> {
    let client_address = request
        .extensions()
        .get::<ConnectInfo<Connection>>()
        .map(|c| c.0.peer.to_string());
    let (parts, body) = request.into_parts();
    let bytes = read_body(body).await?;
    let text = std::str::from_utf8(&bytes).ok().map(str::to_string);
    let body_json = text.as_deref().and_then(|t| serde_json::from_str(t).ok());
    // Routes nested under /labs/http see a shortened URI; the student sent the original.
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map(|o| o.0.clone())
        .unwrap_or_else(|| parts.uri.clone());
    let query = uri.query().map(str::to_string);
    let anatomy = RequestAnatomy {
        method: parts.method.to_string(),
        path: uri.path().to_string(),
        query_params: query
            .as_deref()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default(),
        query,
        http_version: format!("{:?}", parts.version),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), shown_header_value(n, v)))
            .collect(),
        body: match (&text, bytes.is_empty()) {
            (_, true) => None,
            (Some(text), false) => Some(text.clone()),
            (None, false) => Some(format!("({} bytes of binary data, not shown)", bytes.len())),
        },
        body_json,
        body_bytes: bytes.len(),
        client_address,
    };
    inspector.record(&Echoed {
        header_count: anatomy.headers.len(),
        body_bytes: anatomy.body_bytes,
        body_is_json: anatomy.body_json.is_some(),
    });
    if settings.latency_ms > 0 {
        let _wait = inspector.step(
            "http.latency",
            format!("waited {} ms (lab setting latency_ms)", settings.latency_ms),
        );
        tokio::time::sleep(Duration::from_millis(settings.latency_ms.into())).await;
    }
    // Room for a usual request's echo at once, rather than growing to it.
    let mut json = Vec::with_capacity(1024);
    if settings.pretty {
        serde_json::to_writer_pretty(&mut json, &anatomy)
    } else {
        serde_json::to_writer(&mut json, &anatomy)
    }?;
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

/// `ANY /labs/http/echo/...`: the echo, for any path under it.
#[utoipa::path(method(get, post, put, patch, delete), path = "/echo/{*rest}",
    summary = "The request you sent to a path under /echo, taken apart",
    description = "The echo for any path under `/labs/http/echo/`, to see how paths arrive: the same answer as `/echo`, with the full path as sent.",
    params(("rest" = String, Path, min_length = 1, description = "Any path; the echo shows it back")),
    request_body(description = "Any body of any type, or none; JSON is also shown parsed", content = Option<serde_json::Value>, content_type = "application/json"),
    responses(
        (status = 200, description = "The request's anatomy", body = model::labs::http::RequestAnatomy),
        (status = 413, description = "The body is over the lab's size limit", body = model::ErrorBody),
    ))]
pub(super) async fn echo_under(
    inspector: Inspector,
    settings: CurrentSettings<HttpLab>,
    request: Request,
) -> Result<Response, ApiError> {
    echo(inspector, settings, request).await
}

async fn read_body(body: Body) -> Result<axum::body::Bytes, ApiError> {
    to_bytes(body, LAB_BODY_LIMIT).await.map_err(|_| {
        ApiError::PayloadTooLarge(format!(
            "The echo reads bodies up to {} KiB; this one is larger.",
            LAB_BODY_LIMIT / 1024
        ))
    })
}

/// Header values as shown to the student. The platform's own session cookie is
/// `HttpOnly` so page scripts cannot read it; echoing it into a JSON body a
/// script *can* read would undo that, so its value is hidden.
fn shown_header_value(name: &header::HeaderName, value: &HeaderValue) -> String {
    let text = String::from_utf8_lossy(value.as_bytes()).to_string();
    if name != header::COOKIE {
        return text;
    }
    text.split(';')
        .map(|pair| match pair.trim().split_once('=') {
            Some((cookie, _)) if cookie == SESSION_COOKIE => {
                format!("{cookie}=(hidden: the workbench's own HttpOnly session)")
            }
            _ => pair.trim().to_string(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_platform_session_cookie_is_never_echoed() {
        let value = HeaderValue::from_static("theme=dark; workbench_session=secret-id; other=1");
        let shown = shown_header_value(&header::COOKIE, &value);
        assert!(!shown.contains("secret-id"), "{shown}");
        assert!(
            shown.starts_with("theme=dark; workbench_session=(hidden"),
            "{shown}"
        );
        assert!(shown.ends_with("other=1"));
    }
}
