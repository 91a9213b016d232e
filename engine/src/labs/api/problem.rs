//! The lab's own problems (RFC 9457): each kind has a `type` URL under
//! `/labs/api/problems/`, which a client can open to read what it means.

use axum::extract::Path;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use model::labs::api::{InvalidParam, Problem};

use crate::inspector::{Inspector, LabEvent};
use crate::labs::errors::PROBLEM_JSON;

/// A kind of problem the lab reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Validation,
    PreconditionFailed,
    PreconditionRequired,
    NotFound,
    InvalidQuery,
    InvalidCursor,
    InvalidIdempotencyKey,
    KeyReused,
    RequestInFlight,
    ResponseLost,
    ExportRunning,
    ServerBusy,
    ExportNotFound,
    ExportNotFinished,
    ExportGone,
    RaceRunning,
    RaceBusy,
    ResourceNotFound,
    GraphqlRefused,
    NotGrpcWeb,
}

impl Kind {
    const ALL: [Kind; 20] = [
        Self::Validation,
        Self::PreconditionFailed,
        Self::PreconditionRequired,
        Self::NotFound,
        Self::InvalidQuery,
        Self::InvalidCursor,
        Self::InvalidIdempotencyKey,
        Self::KeyReused,
        Self::RequestInFlight,
        Self::ResponseLost,
        Self::ExportRunning,
        Self::ServerBusy,
        Self::ExportNotFound,
        Self::ExportNotFinished,
        Self::ExportGone,
        Self::RaceRunning,
        Self::RaceBusy,
        Self::ResourceNotFound,
        Self::GraphqlRefused,
        Self::NotGrpcWeb,
    ];

    fn slug(self) -> &'static str {
        match self {
            Self::Validation => "validation-failed",
            Self::PreconditionFailed => "precondition-failed",
            Self::PreconditionRequired => "precondition-required",
            Self::NotFound => "order-not-found",
            Self::InvalidQuery => "invalid-query",
            Self::InvalidCursor => "invalid-cursor",
            Self::InvalidIdempotencyKey => "invalid-idempotency-key",
            Self::KeyReused => "idempotency-key-reused",
            Self::RequestInFlight => "request-in-flight",
            Self::ResponseLost => "response-lost",
            Self::ExportRunning => "export-running",
            Self::ServerBusy => "server-busy",
            Self::ExportNotFound => "export-not-found",
            Self::ExportNotFinished => "export-not-finished",
            Self::ExportGone => "export-has-no-result",
            Self::RaceRunning => "race-running",
            Self::RaceBusy => "races-busy",
            Self::ResourceNotFound => "resource-not-found",
            Self::GraphqlRefused => "graphql-request-refused",
            Self::NotGrpcWeb => "not-grpc-web",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            Self::Validation => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::InvalidQuery | Self::InvalidCursor | Self::InvalidIdempotencyKey => {
                StatusCode::BAD_REQUEST
            }
            Self::KeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RequestInFlight => StatusCode::CONFLICT,
            Self::ResponseLost => StatusCode::BAD_GATEWAY,
            Self::ExportRunning | Self::ExportNotFinished => StatusCode::CONFLICT,
            Self::ServerBusy => StatusCode::SERVICE_UNAVAILABLE,
            Self::ExportNotFound => StatusCode::NOT_FOUND,
            Self::ExportGone => StatusCode::GONE,
            Self::RaceRunning => StatusCode::CONFLICT,
            Self::RaceBusy => StatusCode::SERVICE_UNAVAILABLE,
            Self::ResourceNotFound => StatusCode::NOT_FOUND,
            Self::GraphqlRefused => StatusCode::BAD_REQUEST,
            Self::NotGrpcWeb => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::Validation => "The request body is well-formed but not a valid order",
            Self::PreconditionFailed => "The order changed since you read it",
            Self::PreconditionRequired => "This change needs the order's ETag in If-Match",
            Self::NotFound => "There is no such order",
            Self::InvalidQuery => "The page parameters are not valid",
            Self::InvalidCursor => "The cursor is not one this API made",
            Self::InvalidIdempotencyKey => "The Idempotency-Key header is not valid",
            Self::KeyReused => "This Idempotency-Key belongs to another request",
            Self::RequestInFlight => "A request with this Idempotency-Key is still running",
            Self::ResponseLost => "The answer was lost after the server acted",
            Self::ExportRunning => "An export of yours is already running",
            Self::ServerBusy => "The server is running as many exports as it can",
            Self::ExportNotFound => "There is no such export",
            Self::ExportNotFinished => "The export has not finished",
            Self::ExportGone => "The export has no result",
            Self::RaceRunning => "A transport race of yours is already running",
            Self::RaceBusy => "The server is running as many transport races as it can",
            Self::ResourceNotFound => "There is no such customer or product",
            Self::GraphqlRefused => "The GraphQL request cannot run",
            Self::NotGrpcWeb => "This route speaks gRPC-Web",
        }
    }

    /// What the type's URL explains.
    fn explanation(self) -> &'static str {
        match self {
            Self::Validation => "422 Unprocessable Content: the body parsed as JSON of the right shape, but some values break the rules (an unknown customer or product, a quantity out of range, an empty order). Each entry of `errors` points at one value with a JSON Pointer. Fix those values; sending the same body again gets the same answer.",
            Self::PreconditionFailed => "412 Precondition Failed: your If-Match named a version of the order that is no longer current: someone changed it after you read it. Nothing was written. Read the order again (GET gives the current ETag), decide whether your change still makes sense, and send it with the new ETag.",
            Self::PreconditionRequired => "428 Precondition Required: this API refuses blind writes. Read the order first, then send its ETag in If-Match, so that a change made in between is detected instead of overwritten (the lost update).",
            Self::NotFound => "404 Not Found: no order has this id in your shop. It may have been deleted, or never existed.",
            Self::InvalidQuery => "400 Bad Request: page and per_page must be whole numbers (page from 1, per_page from 1 to 100), a page cannot be both an offset page (page) and a cursor page (after), and only these parameters are known: page, per_page, paging, after.",
            Self::InvalidCursor => "400 Bad Request: a cursor is opaque: take it from a next link as it is. This one was changed or made by hand.",
            Self::InvalidIdempotencyKey => "400 Bad Request: an Idempotency-Key is one value of 1 to 255 printable ASCII characters without spaces, plain or in double quotes. A random UUID, made once per operation, is the usual choice.",
            Self::KeyReused => "422 Unprocessable Content: a key names one request. The server keeps what the key's first request asked for (a fingerprint of its body), and this request asks for something else. A client that reuses keys across operations would get the answer of the wrong one, so it is refused. Make a new key for each new operation, and reuse a key only to retry the same one.",
            Self::RequestInFlight => "409 Conflict: the first request with this key has not finished yet, so there is no answer to replay and running this one too could do the work twice. Wait (Retry-After says how long) and retry with the same key: you will get the first request's answer.",
            Self::ResponseLost => "502 Bad Gateway: the lab's fault switch (lose_responses) is on. The server did the work and committed it, then dropped the answer, as a network, a proxy or a timeout can. The client cannot tell whether anything happened. Retrying without an Idempotency-Key may do the work twice; retrying with the same key replays the answer instead. Each distinct request loses its first answer only.",
            Self::ExportRunning => "409 Conflict: each student runs one export at a time. Follow the running one (its URL is in the detail) or cancel it with DELETE, then start another.",
            Self::ServerBusy => "503 Service Unavailable: exports run on a small shared pool, so one class cannot starve the server. The work was not started. Retry after the seconds in Retry-After.",
            Self::ExportNotFound => "404 Not Found: you have no export with this id. Exports are kept in the server's memory for an hour after they finish, and a restart forgets them.",
            Self::ExportNotFinished => "409 Conflict: the job is still running, so there is no result yet. Poll the job (GET on its URL) or follow its events, and fetch the result when its status is done.",
            Self::ExportGone => "410 Gone: the export was cancelled or failed, so it never made a result. Start a new one.",
            Self::RaceRunning => "409 Conflict: each student runs one transport race at a time, and yours has not answered yet. Wait for its answer, then start another.",
            Self::RaceBusy => "503 Service Unavailable: a race opens several connections and holds them for seconds, so only a few run at once on the whole server. Nothing was started. Retry after the seconds in Retry-After.",
            Self::ResourceNotFound => "404 Not Found: your shop has no customer or product with this id. Ids come from orders: an order's customer_id and its lines' product_id.",
            Self::GraphqlRefused => "400 Bad Request: the query was refused before any of it ran. It does not parse, asks for a field or argument the schema does not have, or goes past a limit: at most 6 fields deep, and a cost of at most 1000, where every field costs 1 and a list costs its `first` times what each element asks for. Each entry of `errors` is one of GraphQL's messages, with where it is in the query. The schema is at /labs/api/graphql/schema.",
            Self::NotGrpcWeb => "415 Unsupported Media Type: this route is a gRPC method, reached over gRPC-Web. Send POST with Content-Type: application/grpc-web+proto (or application/grpc-web) and a body of frames: a flag byte 0, the message's length as 4 big-endian bytes, then the protobuf message. A ListOrdersRequest for 5 orders is the 7 bytes 00 00 00 00 02 08 05.",
        }
    }

    fn of_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.slug() == slug)
    }
}

/// A problem of one of the lab's kinds, ready to answer with.
pub(super) struct ApiProblem {
    kind: Kind,
    detail: String,
    errors: Vec<InvalidParam>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiProblem {
    pub(super) fn new(kind: Kind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            errors: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// A `422` listing each invalid value.
    pub(super) fn invalid(errors: Vec<InvalidParam>) -> Self {
        let count = errors.len();
        Self {
            errors,
            ..Self::new(
                Kind::Validation,
                format!(
                    "{count} {} of the order {} not valid: see errors.",
                    if count == 1 { "value" } else { "values" },
                    if count == 1 { "is" } else { "are" }
                ),
            )
        }
    }

    /// Lists what was wrong, one entry per problem found.
    pub(super) fn with_errors(mut self, errors: Vec<InvalidParam>) -> Self {
        self.errors = errors;
        self
    }

    /// Adds a response header (the current `ETag` beside a `412`).
    pub(super) fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Records the problem in the trace, then answers with it.
    pub(super) fn answer(self, inspector: &Inspector) -> Response {
        inspector.record(&ProblemAnswered {
            kind: self.kind.slug(),
            status: self.kind.status().as_u16(),
            detail: &self.detail,
        });
        self.into_response()
    }
}

impl IntoResponse for ApiProblem {
    fn into_response(self) -> Response {
        let status = self.kind.status();
        let problem = Problem {
            kind: format!("/labs/api/problems/{}", self.kind.slug()),
            title: self.kind.title().into(),
            status: status.as_u16(),
            detail: self.detail,
            instance: None,
            errors: self.errors,
        };
        let mut response = (
            status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))],
            serde_json::to_vec(&problem).unwrap_or_default(),
        )
            .into_response();
        response.headers_mut().extend(self.headers);
        response
    }
}

/// One value that breaks the rules, at a JSON Pointer into the body.
pub(super) fn invalid_at(pointer: impl Into<String>, detail: impl Into<String>) -> InvalidParam {
    InvalidParam {
        pointer: pointer.into(),
        detail: detail.into(),
    }
}

/// The inspector's record of a problem the lab answered with.
#[derive(serde::Serialize)]
struct ProblemAnswered<'a> {
    kind: &'static str,
    status: u16,
    detail: &'a str,
}

impl LabEvent for ProblemAnswered<'_> {
    const KIND: &'static str = "api.problem";
    fn summary(&self) -> String {
        format!("answered {} {}", self.status, self.kind)
    }
}

/// `GET /labs/api/problems/{kind}`: what a problem type means.
#[utoipa::path(get, path = "/problems/{kind}", operation_id = "explain_problem",
    summary = "What a problem type means (the `type` URL of every problem this API answers)",
    params(("kind" = String, Path, description = "The problem type, e.g. `precondition-failed`")),
    responses(
        (status = 200, description = "The problem type's title and explanation", body = String, content_type = "text/plain"),
        (status = 404, description = "No such problem type", body = model::labs::api::Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn explain(Path(slug): Path<String>) -> Response {
    match Kind::of_slug(&slug) {
        Some(kind) => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{}\n\n{}\n", kind.title(), kind.explanation()),
        )
            .into_response(),
        None => crate::error::ApiError::NotFound(format!(
            "The API has no problem type called {slug:?}."
        ))
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_type_can_be_looked_up_by_its_slug() {
        for kind in Kind::ALL {
            assert_eq!(Kind::of_slug(kind.slug()), Some(kind));
            assert!(kind.status().is_client_error() || kind.status().is_server_error());
        }
        assert_eq!(Kind::of_slug("nope"), None);
    }
}
