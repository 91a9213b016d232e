//! The rate-limit lab's wire types: the algorithms, the lab's settings, the
//! side-by-side simulation's request and answer, and the answers of the
//! limited API. Times are milliseconds on the simulation's virtual clock.

use serde::{Deserialize, Serialize};

/// Which algorithm.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Tokens drip into a bucket; a request takes one.
    #[default]
    TokenBucket,
    /// A bucket leaks at a fixed rate; a request pours one unit in (GCRA).
    LeakyBucketMeter,
    /// Requests wait in a bounded queue that drains at a fixed rate.
    LeakyBucketQueue,
    /// A counter per clock-aligned window.
    FixedWindow,
    /// The time of every admitted request in the last window.
    SlidingWindowLog,
    /// Two fixed windows, the previous one weighted by its overlap.
    SlidingWindowCounter,
}

impl Kind {
    /// Every algorithm, in teaching order.
    pub const ALL: [Kind; 6] = [
        Kind::TokenBucket,
        Kind::LeakyBucketMeter,
        Kind::LeakyBucketQueue,
        Kind::FixedWindow,
        Kind::SlidingWindowLog,
        Kind::SlidingWindowCounter,
    ];

    /// Its name in settings and headers.
    pub fn name(self) -> &'static str {
        match self {
            Kind::TokenBucket => "token_bucket",
            Kind::LeakyBucketMeter => "leaky_bucket_meter",
            Kind::LeakyBucketQueue => "leaky_bucket_queue",
            Kind::FixedWindow => "fixed_window",
            Kind::SlidingWindowLog => "sliding_window_log",
            Kind::SlidingWindowCounter => "sliding_window_counter",
        }
    }
}

/// What a request is counted against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

impl KeyBy {
    /// Every choice, in the order the lab presents them.
    pub const ALL: [KeyBy; 3] = [Self::Student, Self::ClientAddress, Self::ApiKey];
}

/// What a student may change in the rate-limit lab.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Which algorithm decides.
    pub algorithm: Kind,
    /// Bucket size, queue length, or requests per window (1 to 1000).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000))]
    pub capacity: u32,
    /// Tokens added, or units leaked, per second (0.1 to 1000).
    #[cfg_attr(feature = "openapi", schema(minimum = 0.1, maximum = 1000))]
    pub rate_per_sec: f64,
    /// Window length for the window algorithms, in seconds (1 to 3600).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3600))]
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

/// A traffic pattern.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "pattern", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pattern {
    /// Evenly spaced requests.
    Steady {
        /// Requests per second.
        #[cfg_attr(feature = "openapi", schema(minimum = 0.1, maximum = 200))]
        per_sec: f64,
        /// How long, in seconds (a simulation spans at most 120 s).
        #[cfg_attr(feature = "openapi", schema(maximum = 120))]
        seconds: u32,
    },
    /// Bursts of `size` requests, one burst every `every_secs` seconds.
    Bursty {
        /// Requests per burst (a simulation holds at most 2000 requests).
        #[cfg_attr(feature = "openapi", schema(maximum = 2000))]
        size: u32,
        /// Seconds between bursts.
        #[cfg_attr(feature = "openapi", schema(minimum = 1))]
        every_secs: u32,
        /// How long, in seconds (a simulation spans at most 120 s).
        #[cfg_attr(feature = "openapi", schema(maximum = 120))]
        seconds: u32,
    },
    /// A full allowance just before a window boundary and another just after.
    Boundary,
    /// Arrival times typed in, in milliseconds.
    Times {
        /// The times (at most 2000, each within 120000 ms).
        #[cfg_attr(feature = "openapi", schema(max_items = 2000))]
        times_ms: Vec<u64>,
    },
}

/// `POST /labs/ratelimit/simulate`: a pattern, and optionally other
/// settings than the student's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SimulationRequest {
    /// The traffic.
    #[serde(flatten)]
    pub pattern: Pattern,
    /// The limiter to use instead of the student's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<RateLimitSettings>,
}

/// One request's fate in one lane.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Point {
    /// Arrival, in ms.
    pub t: u64,
    /// Admitted or not.
    pub allowed: bool,
    /// How long it waited in the queue, for the queue algorithm.
    pub delay_ms: u64,
    /// How full the limiter was after deciding, 0 to 1.
    pub level: f64,
}

/// One algorithm's timeline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Lane {
    /// Which algorithm.
    pub algorithm: Kind,
    /// Requests admitted.
    pub allowed: usize,
    /// Each request in order.
    pub points: Vec<Point>,
}

/// What `POST /labs/ratelimit/simulate` answers: every algorithm's
/// timeline for one pattern.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Simulation {
    /// Requests in the pattern.
    pub requests: usize,
    /// Arrival of the last one, in ms.
    pub span_ms: u64,
    /// The limiter every lane used.
    pub settings: RateLimitSettings,
    /// One lane per algorithm, in teaching order.
    pub lanes: Vec<Lane>,
}

/// `GET /labs/ratelimit/api/ping`'s answer, when the limiter lets it through.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pong {
    /// Always `true`.
    pub pong: bool,
}

/// `GET /labs/ratelimit/api/items`'s answer, when the limiter lets it through.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ItemList {
    /// The items' names.
    pub items: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limited_api_answers_small_fixed_objects() {
        assert_eq!(
            serde_json::to_string(&Pong { pong: true }).unwrap(),
            r#"{"pong":true}"#
        );
        let items = ItemList {
            items: vec!["kettle".into(), "lamp".into()],
        };
        assert_eq!(
            serde_json::to_string(&items).unwrap(),
            r#"{"items":["kettle","lamp"]}"#
        );
    }
}
