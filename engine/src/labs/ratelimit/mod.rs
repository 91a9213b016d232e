//! The rate-limit lab: five algorithms (the leaky bucket two ways) written
//! out for students to read ([`algorithms`]), and a live limiter in front
//! of real routes that follows the student's settings.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /labs/ratelimit/api/ping` | a cheap answer behind the student's limiter |
//! | `GET /labs/ratelimit/api/items` | the same limiter in front of a second route |
//! | `POST /labs/ratelimit/simulate` | one traffic pattern through every algorithm, on a virtual clock |
//!
//! Every answer under `/labs/ratelimit/api/` carries the `RateLimit-Policy`
//! and `RateLimit` fields of draft-ietf-httpapi-ratelimit-headers-10
//! (`"<name>";q=<quota>;w=<window s>` and `"<name>";r=<remaining>;t=<reset s>`);
//! a refusal is `429 Too Many Requests` with `Retry-After`. The inspector
//! shows a `ratelimit.decision` event with the limiter's state before and
//! after. Each student's limiters are their own; within them, the key
//! (the student, the client address, or an `X-Api-Key`) picks the bucket.

pub mod algorithms;
mod checks;
mod live;
pub mod simulate;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::{middleware, Router};
use serde::{Deserialize, Serialize};

use super::{Lab, LabContext, LabSettings};
use crate::labs::Labs;
use algorithms::{Kind, Policy};

pub use live::Limiters;

/// The rate-limit lab.
pub struct RateLimitLab;

impl Lab for RateLimitLab {
    const NAME: &'static str = "ratelimit";
    const TITLE: &'static str = "Rate limiting: buckets, windows and 429";
    type Settings = RateLimitSettings;
    type State = Limiters;

    fn state(context: &LabContext) -> Self::State {
        Limiters::new(
            context.clock.clone(),
            context.redis_url.as_deref(),
            context.memory.limiters,
        )
    }

    fn routes(state: &Labs) -> Router<Labs> {
        let limited = Router::new()
            .route("/api/ping", get(live::ping))
            .route("/api/items", get(live::items))
            .route_layer(middleware::from_fn_with_state(state.clone(), live::limit));
        Router::new()
            .route("/simulate", post(simulate::simulate))
            .merge(limited)
    }

    fn checks() -> Option<Arc<dyn crate::grading::lab::LabCheck>> {
        Some(Arc::new(checks::RateLimitChecks))
    }
}

/// What a request is counted against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyBy {
    /// The student (guest or account) making the request.
    #[default]
    Student,
    /// The client's IP address.
    ClientAddress,
    /// The `X-Api-Key` request header.
    ApiKey,
}

/// What a student may change in the rate-limit lab.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Which algorithm decides.
    pub algorithm: Kind,
    /// Bucket size, queue length, or requests per window (1 to 1000).
    pub capacity: u32,
    /// Tokens added, or units leaked, per second (0.1 to 1000).
    pub rate_per_sec: f64,
    /// Window length for the window algorithms, in seconds (1 to 3600).
    pub window_secs: u32,
    /// What requests are counted against.
    pub key: KeyBy,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            algorithm: Kind::TokenBucket,
            capacity: 10,
            rate_per_sec: 1.0,
            window_secs: 10,
            key: KeyBy::Student,
        }
    }
}

impl LabSettings for RateLimitSettings {
    fn validate(&self) -> Result<(), String> {
        if !(1..=1000).contains(&self.capacity) {
            return Err(format!(
                "capacity must be between 1 and 1000, not {}",
                self.capacity
            ));
        }
        if !(0.1..=1000.0).contains(&self.rate_per_sec) {
            return Err(format!(
                "rate_per_sec must be between 0.1 and 1000, not {}",
                self.rate_per_sec
            ));
        }
        if !(1..=3600).contains(&self.window_secs) {
            return Err(format!(
                "window_secs must be between 1 and 3600, not {}",
                self.window_secs
            ));
        }
        Ok(())
    }
}

impl RateLimitSettings {
    /// The algorithm's parameters.
    pub fn policy(&self) -> Policy {
        Policy {
            capacity: self.capacity,
            rate_per_sec: self.rate_per_sec,
            window_ms: u64::from(self.window_secs) * 1000,
        }
    }

    /// The quota and window the `RateLimit-Policy` field advertises: the
    /// window algorithms' own; for the buckets, the capacity over the time
    /// the rate takes to refill it.
    pub fn advertised(&self) -> (u32, u64) {
        match self.algorithm {
            Kind::FixedWindow | Kind::SlidingWindowLog | Kind::SlidingWindowCounter => {
                (self.capacity, u64::from(self.window_secs))
            }
            _ => (
                self.capacity,
                (f64::from(self.capacity) / self.rate_per_sec)
                    .ceil()
                    .max(1.0) as u64,
            ),
        }
    }
}
