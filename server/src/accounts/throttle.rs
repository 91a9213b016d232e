//! The limiter in front of the workbench's own sign-in (not the rate-limit
//! lab, which teaches algorithms; this one guards the door).
//!
//! Two keyed GCRA limiters from `governor`: one per account (the email typed,
//! whether or not it has an account, so the limiter itself reveals nothing)
//! stops password guessing against one person from many addresses; one per
//! client address stops one address from trying many accounts. Both are
//! checked before any password is hashed, so a flood costs the server little.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

/// How many attempts are allowed, and how fast they come back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignInLimits {
    /// Attempts one account can take in a burst.
    pub per_account: NonZeroU32,
    /// Attempts one client address can take in a burst (a classroom behind
    /// one NAT address shares this, so it is generous).
    pub per_address: NonZeroU32,
    /// One attempt returns to each allowance after this long.
    pub refill_every: Duration,
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self {
            per_account: NonZeroU32::new(5).expect("nonzero"),
            per_address: NonZeroU32::new(60).expect("nonzero"),
            refill_every: Duration::from_secs(12),
        }
    }
}

/// The sign-in limiter, shared by every request.
pub struct SignInThrottle {
    per_account: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

impl SignInThrottle {
    /// A limiter with these allowances.
    pub fn new(limits: SignInLimits) -> Self {
        let quota = |burst| {
            Quota::with_period(limits.refill_every.max(Duration::from_millis(1)))
                .expect("the period is not zero")
                .allow_burst(burst)
        };
        Self {
            per_account: RateLimiter::dashmap(quota(limits.per_account)),
            per_address: RateLimiter::dashmap(quota(limits.per_address)),
            clock: DefaultClock::default(),
        }
    }

    /// Takes one attempt from `address`'s allowance, or says when to retry.
    pub fn check_address(&self, address: IpAddr) -> Result<(), ApiError> {
        self.per_address
            .check_key(&address)
            .map_err(|not_until| self.refusal(not_until.wait_time_from(self.clock.now())))
    }

    /// Takes one attempt from the allowance of the account named `email`.
    pub fn check_account(&self, email: &str) -> Result<(), ApiError> {
        self.per_account
            .check_key(&email.to_string())
            .map_err(|not_until| self.refusal(not_until.wait_time_from(self.clock.now())))
    }

    /// Drops the state of keys whose allowance is full again, so memory
    /// tracks recent attempts rather than every address ever seen.
    pub fn forget_idle(&self) {
        self.per_account.retain_recent();
        self.per_account.shrink_to_fit();
        self.per_address.retain_recent();
        self.per_address.shrink_to_fit();
    }

    fn refusal(&self, wait: Duration) -> ApiError {
        // Round up: retrying after the advertised time must succeed.
        let retry_after_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        ApiError::TooManyRequests {
            message: format!("Too many sign-in attempts. Wait {retry_after_secs} s and try again."),
            retry_after_secs: retry_after_secs.max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_account: u32, per_address: u32) -> SignInLimits {
        SignInLimits {
            per_account: NonZeroU32::new(per_account).unwrap(),
            per_address: NonZeroU32::new(per_address).unwrap(),
            refill_every: Duration::from_secs(60),
        }
    }

    #[test]
    fn an_account_is_refused_after_its_burst_with_a_retry_time() {
        let throttle = SignInThrottle::new(limits(2, 100));
        assert!(throttle.check_account("ada@example.com").is_ok());
        assert!(throttle.check_account("ada@example.com").is_ok());
        match throttle.check_account("ada@example.com") {
            Err(ApiError::TooManyRequests {
                retry_after_secs, ..
            }) => assert!((1..=60).contains(&retry_after_secs), "{retry_after_secs}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        // Another account is unaffected.
        assert!(throttle.check_account("grace@example.com").is_ok());
    }

    #[test]
    fn an_address_is_refused_after_its_burst() {
        let throttle = SignInThrottle::new(limits(100, 1));
        let here: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(throttle.check_address(here).is_ok());
        assert!(throttle.check_address(here).is_err());
        assert!(throttle.check_address("192.0.2.2".parse().unwrap()).is_ok());
    }
}
