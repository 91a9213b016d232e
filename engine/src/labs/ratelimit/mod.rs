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
pub(crate) mod simulate;

use axum::middleware;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Lab, LabContext, LabSettings};
use crate::grading::lab::LabChecks;
use crate::labs::Labs;
use algorithms::{Kind, Policy};

pub use live::Limiters;
pub(crate) use live::{pass, Passage};
pub use model::labs::ratelimit::{KeyBy, RateLimitSettings};

/// The rate-limit lab.
pub struct RateLimitLab;

impl Lab for RateLimitLab {
    const NAME: &'static str = "ratelimit";
    const TITLE: &'static str = "Rate limiting: buckets, windows and 429";
    type Settings = RateLimitSettings;
    type State = Limiters;

    fn state(context: &LabContext) -> Self::State {
        let redis = context.redis_link().and_then(|link| {
            link.inspect_err(|e| {
                tracing::error!(error = %e, "the rate-limit lab's shared limiter is off");
            })
            .ok()
        });
        Limiters::new(context.clock.clone(), redis, context.memory.limiters)
    }

    fn routes(state: &Labs) -> OpenApiRouter<Labs> {
        let limited = OpenApiRouter::default()
            .routes(routes!(live::ping))
            .routes(routes!(live::items))
            .route_layer(middleware::from_fn_with_state(state.clone(), live::limit));
        OpenApiRouter::default()
            .routes(routes!(simulate::simulate))
            .merge(limited)
    }

    fn checks() -> Option<LabChecks> {
        Some(LabChecks {
            lab: Self::NAME,
            load: checks::load,
        })
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

/// What the lab's limiters make of the settings.
pub trait LimiterPolicy {
    /// The algorithm's parameters.
    fn policy(&self) -> Policy;
    /// The quota and window the `RateLimit-Policy` field advertises: the
    /// window algorithms' own; for the buckets, the capacity over the time
    /// the rate takes to refill it.
    fn advertised(&self) -> (u32, u64);
}

impl LimiterPolicy for RateLimitSettings {
    fn policy(&self) -> Policy {
        Policy {
            capacity: self.capacity,
            rate_per_sec: self.rate_per_sec,
            window_ms: u64::from(self.window_secs) * 1000,
        }
    }

    fn advertised(&self) -> (u32, u64) {
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
