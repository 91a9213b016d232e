//! Routes that serve both a browser form and a script: a form post gets a
//! redirect (Post/Redirect/Get, with a flash message for the next page), so
//! pages work without JavaScript; a JSON body gets a JSON answer.

use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use tower_sessions::Session;

use crate::error::ApiError;
use crate::identity;

/// Whether the caller sent a browser form or JSON; the answer follows suit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    /// A browser form: answer with a redirect.
    Form,
    /// JSON: answer with JSON.
    Json,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Style {
    type Rejection = std::convert::Infallible;

    /// For bodiless posts (sign-out): a form post or a browser gets a
    /// redirect, anything else JSON.
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let header_has = |name, needle| {
            parts
                .headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .is_some_and(|v| v.to_ascii_lowercase().contains(needle))
        };
        let browser = header_has(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            || header_has(header::ACCEPT, "text/html");
        Ok(if browser { Self::Form } else { Self::Json })
    }
}

/// A body that is either `application/x-www-form-urlencoded` or JSON.
pub(crate) struct FormOrJson<T> {
    /// The fields.
    pub(crate) value: T,
    /// How they came.
    pub(crate) style: Style,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for FormOrJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if content_type.starts_with("application/json") {
            let crate::error::extract::Json(value) =
                crate::error::extract::Json::from_request(request, state).await?;
            Ok(Self {
                value,
                style: Style::Json,
            })
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            let axum::Form(value) = axum::Form::from_request(request, state)
                .await
                .map_err(|e| ApiError::BadRequest(e.body_text()))?;
            Ok(Self {
                value,
                style: Style::Form,
            })
        } else {
            Err(ApiError::UnsupportedMediaType(
                "Send the fields as a form (application/x-www-form-urlencoded) or as JSON (application/json).".into(),
            ))
        }
    }
}

/// What a handler achieved, said both ways.
pub(crate) struct Done {
    /// Where a browser goes next.
    pub(crate) redirect: String,
    /// A message for that page.
    pub(crate) notice: Option<String>,
    /// The JSON answer's status.
    pub(crate) status: StatusCode,
    /// The JSON answer.
    pub(crate) body: serde_json::Value,
}

/// What a failed form was about, to show the form again with the error.
pub(crate) struct Retry<'a> {
    /// The form page to return to.
    pub(crate) page: &'a str,
    /// Where to go after the form succeeds, kept across the retry.
    pub(crate) next: Option<&'a str>,
    /// The email typed, shown again.
    pub(crate) email: Option<String>,
    /// The name typed, shown again.
    pub(crate) name: Option<String>,
}

/// Turns a handler's result into a redirect (forms) or JSON (scripts).
pub(crate) async fn answer(
    session: &Session,
    style: Style,
    result: Result<Done, ApiError>,
    retry: Retry<'_>,
) -> Response {
    match (style, result) {
        (Style::Json, Ok(done)) => (done.status, Json(done.body)).into_response(),
        (Style::Json, Err(error)) => error.into_response(),
        (Style::Form, Ok(done)) => {
            if done.notice.is_some() {
                let flash = model::Flash {
                    notice: done.notice,
                    ..Default::default()
                };
                if let Err(error) = identity::set_flash(session, flash).await {
                    return error.into_response();
                }
            }
            Redirect::to(&done.redirect).into_response()
        }
        (Style::Form, Err(error @ ApiError::TooManyRequests { .. })) => {
            throttled_page(error, retry.page)
        }
        (Style::Form, Err(error @ ApiError::Internal(_))) => error.into_response(),
        (Style::Form, Err(error)) => {
            let flash = model::Flash {
                error: Some(error.to_string()),
                email: retry.email,
                name: retry.name,
                ..Default::default()
            };
            if let Err(error) = identity::set_flash(session, flash).await {
                return error.into_response();
            }
            // The page comes from the request's own path: never redirect to
            // anything a browser would not read as a path on this site.
            Redirect::to(&with_next(&safe_next(Some(retry.page)), retry.next)).into_response()
        }
    }
}

/// A throttled form post: the real 429 and `Retry-After`, with a page a
/// person can read instead of JSON.
fn throttled_page(error: ApiError, back: &str) -> Response {
    let ApiError::TooManyRequests {
        message,
        retry_after_secs,
    } = &error
    else {
        return error.into_response();
    };
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Too many attempts</title><link rel=\"stylesheet\" href=\"/pkg/workbench.css\"></head>\
         <body><main id=\"main\" class=\"auth-page\"><h1>Too many attempts</h1><p role=\"alert\">{message}</p>\
         <p><a href=\"{back}\">Go back</a></p></main></body></html>",
        back = safe_next(Some(back))
    );
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Html(page)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
    response
}

/// Only paths on this site may be redirected to after a form, never another
/// site (`//evil.example` is protocol-relative, `/\evil` is read as `//` by browsers).
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(next)
            if next.starts_with('/')
                && !next.starts_with("//")
                && !next.starts_with("/\\")
                && !next.chars().any(char::is_control) =>
        {
            next.to_string()
        }
        _ => "/".to_string(),
    }
}

pub(crate) fn with_next(page: &str, next: Option<&str>) -> String {
    match next.map(|n| safe_next(Some(n))).filter(|n| n != "/") {
        Some(next) => format!(
            "{page}?next={}",
            form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        ),
        None => page.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_a_form() {
        assert_eq!(
            safe_next(Some("/lessons/http/anatomy")),
            "/lessons/http/anatomy"
        );
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/a\nb")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn a_retry_keeps_the_destination_encoded() {
        assert_eq!(
            with_next("/signin", Some("/account")),
            "/signin?next=%2Faccount"
        );
        assert_eq!(with_next("/signin", Some("//evil")), "/signin");
        assert_eq!(with_next("/signin", None), "/signin");
    }
}
