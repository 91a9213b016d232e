//! Keyed GCRA limiters (`governor`) that answer with 429 and `Retry-After`:
//! the platform's own protection of its doors (sign-in, grading), not the
//! rate-limit lab, which teaches the algorithms.

use std::hash::Hash;
use std::net::IpAddr;
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

/// The address of the client that sent the request, as limits count it:
/// an IPv6 client owns a whole /64 (it can pick any address in it), so the
/// /64 is the key. Behind a reverse proxy this is the client the proxy
/// names when the operator trusts it (`--trusted-proxy`), and otherwise
/// the proxy itself, so every client shares one allowance.
pub struct ClientAddress(pub std::net::IpAddr);

/// `address` as limits count it ([`ClientAddress`]).
pub fn counted_address(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
        v4 => v4,
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(counted_address(
            crate::connection::Connection::client_ip(&parts.extensions),
        )))
    }
}

/// Whose budget an address-keyed request spends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context<'a> {
    /// No class vouches for it: the address's own budget.
    Anyone,
    /// It comes from a member of a class (or through the class's join
    /// link): that class's budget at this address, sized to the class.
    Class {
        /// The class's id.
        id: &'a str,
        /// How many members it takes.
        capacity: u32,
    },
}

/// A per-address budget that a class raises to its size.
///
/// A campus network puts a whole class behind one address, where it looks
/// exactly like one client making hundreds of accounts or guests. Requests
/// a class vouches for (see [`Context`]) spend a budget of their own per
/// class and address, `capacity` times the per-member allowance; everyone
/// else shares the address's default budget, which stops a lone client.
pub struct AddressBudget {
    what: &'static str,
    default: KeyedLimiter<IpAddr>,
    per_member_burst: u32,
    per_member_refill: Duration,
    classes:
        std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<KeyedLimiter<IpAddr>>>>,
}

impl AddressBudget {
    /// `burst` per address, one back every `refill`; in a class, each
    /// member adds `per_member_burst`, and one comes back every
    /// `per_member_refill` per member.
    pub fn new(
        what: &'static str,
        burst: NonZeroU32,
        refill: Duration,
        per_member_burst: u32,
        per_member_refill: Duration,
    ) -> Self {
        Self {
            what,
            default: KeyedLimiter::new(burst, refill, what),
            per_member_burst: per_member_burst.max(1),
            per_member_refill,
            classes: std::sync::Mutex::default(),
        }
    }

    /// Spends one from the budget `context` names at `address`.
    pub fn check(&self, address: IpAddr, context: Context<'_>) -> Result<(), ApiError> {
        match context {
            Context::Anyone => self.default.check(&address).map_err(|refusal| match refusal {
                ApiError::TooManyRequests {
                    message,
                    retry_after_secs,
                } => ApiError::TooManyRequests {
                    message: format!(
                        "{message} A class that shares one network: open your class's join link first, which gives the class an allowance of its own."
                    ),
                    retry_after_secs,
                },
                other => other,
            }),
            Context::Class { id, capacity } => self.of_class(id, capacity).check(&address),
        }
    }

    fn of_class(&self, id: &str, capacity: u32) -> std::sync::Arc<KeyedLimiter<IpAddr>> {
        let mut classes = self.classes.lock().unwrap_or_else(|e| e.into_inner());
        classes
            .entry(id.to_string())
            .or_insert_with(|| {
                let capacity = capacity.max(1);
                std::sync::Arc::new(KeyedLimiter::new(
                    NonZeroU32::new(capacity.saturating_mul(self.per_member_burst))
                        .expect("a class has at least one place"),
                    self.per_member_refill / capacity,
                    self.what,
                ))
            })
            .clone()
    }

    /// Forgets addresses whose budgets are full again.
    pub fn forget_idle(&self) {
        self.default.forget_idle();
        let classes = self.classes.lock().unwrap_or_else(|e| e.into_inner());
        for limiter in classes.values() {
            limiter.forget_idle();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget() -> AddressBudget {
        AddressBudget::new(
            "sign-ups",
            NonZeroU32::new(2).unwrap(),
            Duration::from_secs(60),
            2,
            Duration::from_secs(60),
        )
    }

    #[test]
    fn an_ipv6_client_counts_as_its_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(counted_address(a), counted_address(b));
        assert_ne!(
            counted_address(a),
            counted_address("2001:db8:1:3::1".parse().unwrap())
        );
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(
            counted_address(mapped),
            "192.0.2.7".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn a_class_has_a_budget_of_its_size_at_one_address() {
        let budget = budget();
        let campus: IpAddr = "192.0.2.1".parse().unwrap();
        let class = Context::Class {
            id: "c1",
            capacity: 300,
        };
        for i in 0..600 {
            assert!(budget.check(campus, class).is_ok(), "member request {i}");
        }
        assert!(
            budget.check(campus, class).is_err(),
            "two per member, then wait"
        );
        // The address's own budget is untouched, and small.
        assert!(budget.check(campus, Context::Anyone).is_ok());
        assert!(budget.check(campus, Context::Anyone).is_ok());
        assert!(budget.check(campus, Context::Anyone).is_err());
        // Another class at the same address has its own.
        let other = Context::Class {
            id: "c2",
            capacity: 1,
        };
        assert!(budget.check(campus, other).is_ok());
    }
}
