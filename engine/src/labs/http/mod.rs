//! The HTTP lab: see a request's anatomy, and get any status code, header or
//! representation back on demand.
//!
//! | route | what it does |
//! |---|---|
//! | `ANY /labs/http/echo[/...]` | answers with the request's anatomy as JSON |
//! | `ANY /labs/http/status/{code}` | answers with that status, plus chosen headers, body and `Location` |
//! | `GET /labs/http/negotiate` | picks JSON, HTML, plain text or XML from the `Accept` header |
//! | `GET, OPTIONS /labs/http/cors/notes` | answers CORS requests and preflights as the student's settings say |
//! | `GET /labs/http/cors/other-site` | sends the student to the demos' second site ([`other_site`]) |

mod cors;
mod echo;
mod negotiate;
pub mod other_site;
mod status;

use axum::routing::any;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::contract::described_only;
use super::{Lab, LabSettings};
use crate::labs::Labs;

pub use model::labs::http::HttpSettings;

/// The HTTP lab.
pub struct HttpLab;

impl Lab for HttpLab {
    const NAME: &'static str = "http";
    const TITLE: &'static str = "HTTP: requests, responses and status codes";
    type Settings = HttpSettings;
    type State = HttpLabState;
    const DEMO_KEY_ROUTES: &'static [&'static str] = &["/cors/notes"];

    fn state(context: &super::LabContext) -> Self::State {
        HttpLabState {
            other_origin_port: context.other_origin_port,
        }
    }

    fn routes(_state: &Labs) -> OpenApiRouter<Labs> {
        // The echo and the status routes answer any method, so axum's `any`
        // serves them and the document lists the usual methods alone.
        OpenApiRouter::default()
            .route("/echo", any(echo::echo))
            .route("/echo/{*rest}", any(echo::echo_under))
            .route("/status/{code}", any(status::status))
            .merge(described_only(routes!(echo::echo)))
            .merge(described_only(routes!(echo::echo_under)))
            .merge(described_only(routes!(status::status)))
            .routes(routes!(negotiate::negotiate))
            .routes(routes!(cors::notes, cors::preflight))
            .routes(routes!(cors::other_site))
    }
}

/// What the HTTP lab keeps while the server runs.
pub struct HttpLabState {
    /// The port of the demos' second site, when the server runs one.
    other_origin_port: Option<u16>,
}

/// The most latency a student may add.
const MAX_LATENCY_MS: u32 = 5_000;

impl LabSettings for HttpSettings {
    fn validate(&self) -> Result<(), String> {
        if self.latency_ms > MAX_LATENCY_MS {
            return Err(format!(
                "latency_ms must be between 0 and {MAX_LATENCY_MS}, not {}",
                self.latency_ms
            ));
        }
        cors::validate(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_is_bounded() {
        assert!(HttpSettings {
            latency_ms: 5_000,
            ..HttpSettings::default()
        }
        .validate()
        .is_ok());
        let error = HttpSettings {
            latency_ms: 5_001,
            ..HttpSettings::default()
        }
        .validate()
        .unwrap_err();
        assert!(error.contains("latency_ms"), "{error}");
    }
}
