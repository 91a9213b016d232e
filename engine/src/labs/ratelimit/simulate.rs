//! The side-by-side simulation: one traffic pattern through every
//! algorithm on a virtual clock, instantly and deterministically.

use axum::Json;

use super::algorithms::{self, Kind, Millis, Policy};
use super::{LimiterPolicy, RateLimitLab};
use crate::error::extract::Json as JsonBody;
use crate::error::ApiError;
use crate::labs::{CurrentSettings, LabSettings};

/// Most requests one simulation may hold.
const MAX_REQUESTS: usize = 2000;
/// Longest pattern, in milliseconds.
const MAX_SPAN_MS: Millis = 120_000;

pub(crate) use model::labs::ratelimit::{Lane, Pattern, Point, Simulation, SimulationRequest};

/// When a pattern's requests arrive.
pub(crate) trait ArrivalTimes {
    /// Arrival times, sorted.
    fn times(&self, policy: &Policy) -> Result<Vec<Millis>, String>;
}

impl ArrivalTimes for Pattern {
    fn times(&self, policy: &Policy) -> Result<Vec<Millis>, String> {
        let mut times: Vec<Millis> = match self {
            Pattern::Steady { per_sec, seconds } => {
                if !(0.1..=200.0).contains(per_sec) {
                    return Err("per_sec must be between 0.1 and 200".into());
                }
                let gap = 1000.0 / per_sec;
                let count = (f64::from(*seconds) * per_sec) as usize;
                // Refused before anything is made: a huge count would
                // allocate until the process dies.
                too_many(count as u64)?;
                (0..count).map(|i| (i as f64 * gap) as Millis).collect()
            }
            Pattern::Bursty {
                size,
                every_secs,
                seconds,
            } => {
                if *every_secs == 0 {
                    return Err("every_secs must be at least 1".into());
                }
                if *size == 0 {
                    return Ok(Vec::new());
                }
                let bursts = Millis::from(*seconds / every_secs) + 1;
                too_many(bursts.saturating_mul(Millis::from(*size)))?;
                let every_ms = Millis::from(*every_secs) * 1000;
                (0..bursts)
                    .flat_map(|b| (0..Millis::from(*size)).map(move |i| b * every_ms + i * 5))
                    .collect()
            }
            Pattern::Boundary => {
                let window = policy.window_ms.max(1000);
                let n = Millis::from(policy.capacity);
                // The first window ends at `window`: a full allowance in the
                // last 100 ms before it, another in the first 100 ms after.
                (0..n)
                    .map(|i| window - 100 + i * 100 / n)
                    .chain((0..n).map(|i| window + i * 100 / n))
                    .collect()
            }
            Pattern::Times { times_ms } => times_ms.clone(),
        };
        times.sort_unstable();
        too_many(times.len() as u64)?;
        if times.last().is_some_and(|t| *t > MAX_SPAN_MS) {
            return Err(format!("times must be within {} s", MAX_SPAN_MS / 1000));
        }
        Ok(times)
    }
}

/// Refuses a simulation of more than [`MAX_REQUESTS`] requests.
fn too_many(count: u64) -> Result<(), String> {
    if count > MAX_REQUESTS as u64 {
        return Err(format!("at most {MAX_REQUESTS} requests per simulation"));
    }
    Ok(())
}

/// Runs `times` through one algorithm.
pub(crate) fn lane(kind: Kind, policy: Policy, times: &[Millis]) -> Lane {
    let mut limiter = algorithms::new(kind, policy);
    let points: Vec<Point> = times
        .iter()
        .map(|t| {
            let decision = limiter.decide(*t);
            Point {
                t: *t,
                allowed: decision.allowed,
                delay_ms: decision.delay_ms,
                level: decision.after.fullness(),
            }
        })
        .collect();
    Lane {
        algorithm: kind,
        allowed: points.iter().filter(|p| p.allowed).count(),
        points,
    }
}

/// `POST /labs/ratelimit/simulate`.
#[utoipa::path(post, path = "/simulate",
    summary = "Run one traffic pattern through every algorithm",
    description = "Sends the pattern (`steady`, `bursty`, `boundary` or typed-in `times`) through all six algorithms side by side on a virtual clock, instantly and the same every time, with your settings or the `settings` given. At most 2000 requests within 120 s.",
    request_body = model::labs::ratelimit::SimulationRequest,
    responses(
        (status = 200, description = "Every algorithm's timeline", body = model::labs::ratelimit::Simulation),
        (status = 422, description = "The settings or the pattern are out of bounds (too many requests, too long, a rate out of range)", body = model::ErrorBody),
    ))]
pub(super) async fn simulate(
    CurrentSettings(stored, _): CurrentSettings<RateLimitLab>,
    JsonBody(request): JsonBody<SimulationRequest>,
) -> Result<Json<Simulation>, ApiError> {
    let settings = request.settings.unwrap_or(stored);
    settings.validate().map_err(ApiError::Unprocessable)?;
    let policy = settings.policy();
    let times = request
        .pattern
        .times(&policy)
        .map_err(ApiError::Unprocessable)?;
    let lanes = Kind::ALL
        .iter()
        .map(|kind| lane(*kind, policy, &times))
        .collect();
    Ok(Json(Simulation {
        requests: times.len(),
        span_ms: times.last().copied().unwrap_or(0),
        settings,
        lanes,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labs::ratelimit::RateLimitSettings;

    #[test]
    fn the_boundary_pattern_catches_the_fixed_window_out() {
        let policy = RateLimitSettings::default().policy();
        let times = Pattern::Boundary.times(&policy).unwrap();
        assert_eq!(times.len(), 20);
        let fixed = lane(Kind::FixedWindow, policy, &times);
        let log = lane(Kind::SlidingWindowLog, policy, &times);
        assert_eq!((fixed.allowed, log.allowed), (20, 10));
    }

    #[test]
    fn patterns_are_bounded() {
        let policy = RateLimitSettings::default().policy();
        assert!(Pattern::Times {
            times_ms: vec![0; 2001]
        }
        .times(&policy)
        .is_err());
        assert!(Pattern::Times {
            times_ms: vec![200_000]
        }
        .times(&policy)
        .is_err());
        assert!(Pattern::Steady {
            per_sec: 0.0,
            seconds: 1
        }
        .times(&policy)
        .is_err());
        let steady = Pattern::Steady {
            per_sec: 4.0,
            seconds: 10,
        }
        .times(&policy)
        .unwrap();
        assert_eq!(steady.len(), 40);
    }

    #[test]
    fn huge_patterns_are_refused_before_they_are_made() {
        let policy = RateLimitSettings::default().policy();
        // Made first, these would take gigabytes, or minutes of a worker.
        let steady = Pattern::Steady {
            per_sec: 200.0,
            seconds: u32::MAX,
        };
        assert!(steady.times(&policy).is_err());
        let bursty = Pattern::Bursty {
            size: u32::MAX,
            every_secs: 1,
            seconds: u32::MAX,
        };
        assert!(bursty.times(&policy).is_err());
        let empty = Pattern::Bursty {
            size: 0,
            every_secs: 1,
            seconds: u32::MAX,
        };
        assert_eq!(empty.times(&policy), Ok(Vec::new()));
    }
}
