//! The workbench's own metrics, for whoever runs it: what `GET /metrics`
//! (in `routes`) shows in the Prometheus text format. Requests by route
//! (rate, errors, duration) are counted here; the platform database's pool,
//! the traces kept and what each lab holds are read when scraped.
//!
//! Off by default: a server started without a metrics token answers 404,
//! and with one, only a scrape that presents it (`Authorization: Bearer`).
//! The route counts are what an attacker would want to read, and a page
//! that grows with the routes is not for everyone to fetch.

mod exposition;
mod requests;

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;
use sha2::{Digest, Sha256};

pub use exposition::{Exposition, Kind, CONTENT_TYPE};
pub use requests::{count_requests, note_route, RequestMetrics, UNMATCHED};

use crate::error::{bearer_token, ApiError, Challenge};

/// The shortest metrics token accepted: it is a password for a machine.
pub const MIN_TOKEN_LEN: usize = 16;

/// What the server counts, and who may read it.
pub struct Metrics {
    /// Every request, by route.
    pub requests: RequestMetrics,
    /// The token's SHA-256, when scraping is on.
    token: Option<[u8; 32]>,
    /// When the process started, in seconds since the Unix epoch.
    pub started: f64,
}

/// Why a metrics token was refused at start.
#[derive(Debug, thiserror::Error)]
#[error("the metrics token must be at least {MIN_TOKEN_LEN} characters")]
pub struct TokenTooShort;

impl Metrics {
    /// Counting from now; readable with `token` if there is one.
    pub fn new(token: Option<&str>) -> Result<Self, TokenTooShort> {
        if token.is_some_and(|token| token.len() < MIN_TOKEN_LEN) {
            return Err(TokenTooShort);
        }
        Ok(Self {
            requests: RequestMetrics::default(),
            token: token.map(|token| Sha256::digest(token).into()),
            started: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |since| since.as_secs_f64()),
        })
    }

    /// Whether `headers` present the token. Digests are compared, so the
    /// time a comparison takes says nothing about how much of a guess was right.
    pub fn admits(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(token) = self.token else {
            return Err(ApiError::NotFound(
                "metrics are off on this server: start it with --metrics-token \
                 (or WORKBENCH_METRICS_TOKEN) and scrape with that token as a bearer token"
                    .into(),
            ));
        };
        match bearer_token(headers) {
            Some(sent) if <[u8; 32]>::from(Sha256::digest(sent.trim())) == token => Ok(()),
            Some(_) => Err(ApiError::Unauthorized(
                "that is not this server's metrics token".into(),
                Challenge::MetricsRefused,
            )),
            None => Err(ApiError::Unauthorized(
                "metrics need the server's metrics token: Authorization: Bearer <token>".into(),
                Challenge::Metrics,
            )),
        }
    }
}
