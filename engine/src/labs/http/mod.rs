//! The HTTP lab: see a request's anatomy, and get any status code, header or
//! representation back on demand.
//!
//! | route | what it does |
//! |---|---|
//! | `ANY /labs/http/echo[/...]` | answers with the request's anatomy as JSON |
//! | `ANY /labs/http/status/{code}` | answers with that status, plus chosen headers, body and `Location` |
//! | `GET /labs/http/negotiate` | picks JSON, HTML, plain text or XML from the `Accept` header |

mod echo;
mod negotiate;
mod status;

use axum::routing::{any, get};
use axum::Router;

use super::{Lab, LabSettings};
use crate::labs::Labs;

pub use model::labs::http::HttpSettings;

/// The HTTP lab.
pub struct HttpLab;

impl Lab for HttpLab {
    const NAME: &'static str = "http";
    const TITLE: &'static str = "HTTP: requests, responses and status codes";
    type Settings = HttpSettings;
    type State = ();

    fn state(_context: &super::LabContext) -> Self::State {}

    fn routes(_state: &Labs) -> Router<Labs> {
        Router::new()
            .route("/echo", any(echo::echo))
            .route("/echo/{*rest}", any(echo::echo))
            .route("/status/{code}", any(status::status))
            .route("/negotiate", get(negotiate::negotiate))
    }
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_is_bounded() {
        assert!(HttpSettings {
            latency_ms: 5_000,
            pretty: false
        }
        .validate()
        .is_ok());
        let error = HttpSettings {
            latency_ms: 5_001,
            pretty: false,
        }
        .validate()
        .unwrap_err();
        assert!(error.contains("latency_ms"), "{error}");
    }
}
