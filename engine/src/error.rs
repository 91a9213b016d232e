//! The one error type of the HTTP layer. 4xx errors carry a sentence the
//! caller can act on; 5xx errors are logged once here and answered with a
//! generic body, so internal details never reach a client.

use axum::{
    extract::rejection::{JsonRejection, PathRejection, QueryRejection},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use model::ErrorBody;

/// An error answered with a JSON [`ErrorBody`].
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed or asks for something impossible.
    #[error("{0}")]
    BadRequest(String),
    /// The request is well-formed but its content is invalid.
    #[error("{0}")]
    Unprocessable(String),
    /// The caller must authenticate first, as the [`Challenge`] says: a
    /// `401` with that `WWW-Authenticate` header.
    #[error("{0}")]
    Unauthorized(String, Challenge),
    /// The caller is signed in but their role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing exists at this address (or it is not the caller's).
    #[error("{0}")]
    NotFound(String),
    /// The request clashes with what exists (a taken name).
    #[error("{0}")]
    Conflict(String),
    /// The body is over the route's size limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The body is in a format the route does not read.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Too many attempts; the caller may try again after this many seconds.
    #[error("{message}")]
    TooManyRequests {
        /// What was throttled, in words.
        message: String,
        /// Whole seconds until an attempt would be allowed.
        retry_after_secs: u64,
    },
    /// Something the server needs is not ready; the caller may try again soon.
    #[error("{0}")]
    Unavailable(String),
    /// Anything the caller could not have caused. Logged, never shown.
    #[error(transparent)]
    Internal(#[from] InternalError),
}

/// A failure inside the server: database, IO, or a bug.
#[derive(Debug, thiserror::Error)]
pub enum InternalError {
    /// The platform database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A session could not be read or written.
    #[error("session: {0}")]
    Session(#[from] tower_sessions::session::Error),
    /// Stored data did not deserialise.
    #[error("stored data: {0}")]
    Json(#[from] serde_json::Error),
    /// A layer the code relies on is not installed: a bug in the router.
    #[error("server wiring: {0}")]
    Wiring(&'static str),
    /// Hashing a password failed.
    #[error("password hashing: {0}")]
    Password(String),
    /// A blocking task panicked or was cancelled.
    #[error("background task: {0}")]
    Join(#[from] tokio::task::JoinError),
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl From<tower_sessions::session::Error> for ApiError {
    fn from(e: tower_sessions::session::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => Self::Unprocessable(e.body_text()),
            JsonRejection::MissingJsonContentType(e) => Self::UnsupportedMediaType(e.body_text()),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Self::PayloadTooLarge(e.body_text())
            }
            other => Self::BadRequest(other.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::BadRequest(rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::BadRequest(rejection.body_text())
    }
}

impl ApiError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized(..) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            Self::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                "Something went wrong on the server; it has been logged.".to_string()
            }
            other => other.to_string(),
        };
        let mut response = error_response(status, message);
        match self {
            Self::TooManyRequests {
                retry_after_secs, ..
            } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            Self::Unauthorized(_, challenge) => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, challenge.header_value());
            }
            _ => {}
        }
        response
    }
}

/// How a `401` tells the client to authenticate. RFC 9110 (section 15.5.2)
/// requires every 401 to carry a `WWW-Authenticate` header with at least
/// one challenge that applies to the resource: the scheme to use and the
/// realm (the protection space) it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Challenge {
    /// The labs' demo shop, which takes a bearer token (or its own
    /// session cookie): `Bearer realm="workbench-lab"`.
    Lab,
    /// A lab bearer token was sent and refused (bad, expired, another
    /// student's): the same, with `error="invalid_token"` (RFC 6750 §3.1).
    LabTokenRefused,
    /// The rate-limit lab counting per API key, sent in `X-Api-Key`.
    /// There is no registered scheme for a key in a header of its own, so
    /// it is named the way API gateways do: `ApiKey realm="workbench-lab",
    /// header="X-Api-Key"`.
    LabApiKey,
    /// A workbench account: credentials go to the sign-in form's action,
    /// which sets the session cookie. There is no registered scheme for
    /// that either; this is the `Cookie` scheme of the (expired)
    /// draft-broyer-http-cookie-auth: `Cookie realm="workbench",
    /// form-action="/auth/signin", cookie-name=workbench_session`.
    Account,
    /// The grading API's instructor tokens: `Bearer realm="workbench"`.
    ApiToken,
    /// An instructor token was sent and refused: the same, with
    /// `error="invalid_token"`.
    ApiTokenRefused,
    /// The operator's metrics token: `Bearer realm="workbench-metrics"`.
    Metrics,
    /// A metrics token was sent and refused: the same, with `error="invalid_token"`.
    MetricsRefused,
}

impl Challenge {
    /// The `WWW-Authenticate` value: the one place a 401's challenge is written.
    pub fn header_value(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::Lab => "Bearer realm=\"workbench-lab\"",
            Self::LabTokenRefused => "Bearer realm=\"workbench-lab\", error=\"invalid_token\"",
            Self::LabApiKey => "ApiKey realm=\"workbench-lab\", header=\"X-Api-Key\"",
            Self::Account => {
                "Cookie realm=\"workbench\", form-action=\"/auth/signin\", cookie-name=workbench_session"
            }
            Self::ApiToken => "Bearer realm=\"workbench\"",
            Self::ApiTokenRefused => "Bearer realm=\"workbench\", error=\"invalid_token\"",
            Self::Metrics => "Bearer realm=\"workbench-metrics\"",
            Self::MetricsRefused => {
                "Bearer realm=\"workbench-metrics\", error=\"invalid_token\""
            }
        })
    }
}

/// The token of an `Authorization: Bearer <token>` header, if the request
/// sent one: what the `Bearer` challenges above ask for.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
}

/// A JSON error response with the status's snake_case name as the code.
pub fn error_response(status: StatusCode, message: String) -> Response {
    let error = status
        .canonical_reason()
        .unwrap_or("error")
        .to_ascii_lowercase()
        .replace([' ', '-'], "_");
    (status, Json(ErrorBody { error, message })).into_response()
}

/// Typed extractors whose rejections become [`ApiError`]s.
pub mod extract {
    use axum::extract::{FromRequest, FromRequestParts};

    use super::ApiError;

    /// `axum::Json` with JSON error bodies.
    #[derive(FromRequest)]
    #[from_request(via(axum::Json), rejection(ApiError))]
    pub struct Json<T>(pub T);

    /// A body as JSON or, from a plain HTML form, as
    /// `application/x-www-form-urlencoded`, with JSON error bodies: for the
    /// routes a forgery demo lets another page's form post to.
    pub struct JsonOrForm<T>(pub T);

    impl<T, S> FromRequest<S> for JsonOrForm<T>
    where
        T: serde::de::DeserializeOwned,
        S: Send + Sync,
    {
        type Rejection = ApiError;

        async fn from_request(
            request: axum::extract::Request,
            state: &S,
        ) -> Result<Self, ApiError> {
            let from_form = request
                .headers()
                .get(axum::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| {
                    v.trim_start()
                        .to_ascii_lowercase()
                        .starts_with("application/x-www-form-urlencoded")
                });
            if from_form {
                let axum::Form(value) = axum::Form::<T>::from_request(request, state)
                    .await
                    .map_err(|rejection| ApiError::Unprocessable(rejection.body_text()))?;
                Ok(Self(value))
            } else {
                let Json(value) = Json::<T>::from_request(request, state).await?;
                Ok(Self(value))
            }
        }
    }

    /// `axum::extract::Path` with JSON error bodies.
    #[derive(FromRequestParts)]
    #[from_request(via(axum::extract::Path), rejection(ApiError))]
    pub struct Path<T>(pub T);

    /// `axum::extract::Query` with JSON error bodies.
    #[derive(FromRequestParts)]
    #[from_request(via(axum::extract::Query), rejection(ApiError))]
    pub struct Query<T>(pub T);
}
