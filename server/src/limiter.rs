//! Keyed GCRA limiters (`governor`) that answer with 429 and `Retry-After`:
//! the platform's own protection of its doors (sign-in, grading), not the
//! rate-limit lab, which teaches the algorithms.

use std::hash::Hash;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

/// A burst of `burst` attempts per key, one more every `refill_every`.
pub struct KeyedLimiter<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    clock: DefaultClock,
    what: &'static str,
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// A limiter whose refusals say "Too many {what}".
    pub fn new(burst: NonZeroU32, refill_every: Duration, what: &'static str) -> Self {
        let quota = Quota::with_period(refill_every.max(Duration::from_millis(1)))
            .expect("the period is not zero")
            .allow_burst(burst);
        Self {
            limiter: RateLimiter::dashmap(quota),
            clock: DefaultClock::default(),
            what,
        }
    }

    /// Takes one attempt from `key`'s allowance, or says when to retry.
    pub fn check(&self, key: &K) -> Result<(), ApiError> {
        self.limiter
            .check_key(key)
            .map_err(|not_until| self.refusal(not_until.wait_time_from(self.clock.now())))
    }

    /// Takes `n` at once from `key`'s allowance (all or none), or says when
    /// to retry; more than the whole burst is refused for good.
    pub fn check_n(&self, key: &K, n: NonZeroU32) -> Result<(), ApiError> {
        match self.limiter.check_key_n(key, n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(self.refusal(not_until.wait_time_from(self.clock.now()))),
            Err(too_many) => Err(ApiError::PayloadTooLarge(format!(
                "Too many {} at once: {too_many}.",
                self.what
            ))),
        }
    }

    fn refusal(&self, wait: Duration) -> ApiError {
        // Round up: retrying after the advertised time must succeed.
        let retry_after_secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        ApiError::TooManyRequests {
            message: format!(
                "Too many {}. Wait {retry_after_secs} s and try again.",
                self.what
            ),
            retry_after_secs,
        }
    }

    /// Drops keys whose allowance is full again, so memory tracks recent use.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// The address of the peer that sent the request. Behind a reverse proxy
/// this is the proxy, so every client would share one allowance.
pub struct ClientAddress(pub std::net::IpAddr);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |c| {
                    c.0.ip()
                }),
        ))
    }
}
