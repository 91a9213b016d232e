//! The HTTP lab's wire types: its settings, the echo's anatomy of a request,
//! and what a status route explains.

use serde::{Deserialize, Serialize};

/// What a student may change in the HTTP lab.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Extra time the server waits before answering, to make latency visible (0 to 5000 ms).
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 5000))]
    pub latency_ms: u32,
    /// Whether the echo is pretty-printed JSON.
    pub pretty: bool,
    /// Origins the CORS demo (`/labs/http/cors/notes`) lets read its answers,
    /// e.g. `http://127.0.0.1:4000`, or `*` for any. Empty, the default,
    /// allows no other origin.
    pub cors_allowed_origins: Vec<String>,
    /// Methods a preflight may be told are allowed (`Access-Control-Allow-Methods`).
    pub cors_allowed_methods: Vec<String>,
    /// Request headers a preflight may be told are allowed (`Access-Control-Allow-Headers`).
    pub cors_allowed_headers: Vec<String>,
    /// Whether an allowed origin may send cookies (`Access-Control-Allow-Credentials: true`).
    pub cors_allow_credentials: bool,
    /// How long a browser may reuse a preflight's answer, in seconds
    /// (`Access-Control-Max-Age`, 0 to 86400). 0, the default, means every
    /// request is preflighted again, so each shows up in the trace.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 86400))]
    pub cors_max_age_secs: u32,
}

/// `ANY /labs/http/status/{code}`'s answer when the student asks for no
/// body: the status, explained.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusExplained {
    /// The status code.
    pub status: u16,
    /// Its reason phrase, e.g. `Not Found` (`Unknown` for unregistered codes).
    pub reason: String,
    /// Its class, e.g. `client error`.
    pub class: String,
    /// What it means, in a sentence.
    pub meaning: String,
}

/// `ANY /labs/http/echo`'s answer: the request it received, taken apart.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestAnatomy {
    /// The method, e.g. `POST`.
    pub method: String,
    /// The path the student sent, before the lab's routing shortened it.
    pub path: String,
    /// The raw query string, without the `?`.
    pub query: Option<String>,
    /// The query string decoded into name and value pairs, in order.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Vec<String>>))]
    pub query_params: Vec<(String, String)>,
    /// The protocol version, e.g. `HTTP/1.1`.
    pub http_version: String,
    /// Every header as sent, in order (the workbench's own session cookie hidden).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Vec<String>>))]
    pub headers: Vec<(String, String)>,
    /// The body as text, or a note on how many bytes of binary data it had.
    pub body: Option<String>,
    /// The body parsed, when it was JSON: whatever the student sent.
    pub body_json: Option<serde_json::Value>,
    /// The body's length in bytes.
    pub body_bytes: usize,
    /// The address the request came from.
    pub client_address: Option<String>,
}
