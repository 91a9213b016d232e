//! The limiter in front of the workbench's own sign-in (not the rate-limit
//! lab, which teaches algorithms; this one guards the door).
//!
//! Two keyed GCRA limiters from `governor`: one per account (the email typed,
//! whether or not it has an account, so the limiter itself reveals nothing)
//! stops password guessing against one person from many addresses; one per
//! client address stops one address from trying many accounts. Both are
//! checked before any password is hashed, so a flood costs the server little.
//!
//! A class behind one campus address would exhaust the address's budget at
//! the start of a lesson, so requests a class vouches for (a member's
//! account, a sign-up from the class's join link) spend that class's budget
//! at the address instead: three attempts per member ([`AddressBudget`]).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use crate::error::ApiError;
use crate::limiter::{AddressBudget, Context, SharedLimiter, Tally};
use crate::students::StudentId;

/// Sign-in and sign-up attempts each class member adds to their class's budget.
const PER_MEMBER_BURST: u32 = 3;

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
    per_account: SharedLimiter<String>,
    per_address: AddressBudget,
    /// What each class member may try on their class's budget.
    per_member: SharedLimiter<StudentId>,
}

impl SignInThrottle {
    /// A limiter with these allowances, counted in `tally`.
    pub fn new(limits: SignInLimits, tally: &Tally) -> Self {
        Self {
            per_account: SharedLimiter::new(
                limits.per_account,
                limits.refill_every,
                "sign-in attempts",
                "signin-account",
                tally,
            ),
            per_address: AddressBudget::new(
                "sign-in attempts from your address",
                "signin-address",
                limits.per_address,
                limits.refill_every,
                PER_MEMBER_BURST,
                limits.refill_every,
                tally,
            ),
            per_member: SharedLimiter::new(
                limits.per_account,
                limits.refill_every,
                "sign-in attempts from you",
                "signin-member",
                tally,
            ),
        }
    }

    /// Takes one attempt from `address`'s allowance (its class's, in a
    /// class `context`), or says when to retry.
    pub async fn check_address(
        &self,
        address: IpAddr,
        context: Context<'_>,
    ) -> Result<(), ApiError> {
        self.per_address.check(address, context).await
    }

    /// Takes one attempt from the allowance of a class member (a guest who
    /// took a place, or an account in the class) signing up or in on their
    /// class's budget.
    pub async fn check_member(&self, member: &StudentId) -> Result<(), ApiError> {
        self.per_member.check(member).await
    }

    /// Takes one attempt from the allowance of the account named `email`.
    pub async fn check_account(&self, email: &str) -> Result<(), ApiError> {
        self.per_account.check(&email.to_string()).await
    }

    /// Drops the state of keys whose allowance is full again.
    pub fn forget_idle(&self) {
        self.per_account.forget_idle();
        self.per_address.forget_idle();
        self.per_member.forget_idle();
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

    #[tokio::test]
    async fn an_account_is_refused_after_its_burst_with_a_retry_time() {
        let throttle = SignInThrottle::new(limits(2, 100), &Tally::here());
        assert!(throttle.check_account("ada@example.com").await.is_ok());
        assert!(throttle.check_account("ada@example.com").await.is_ok());
        match throttle.check_account("ada@example.com").await {
            Err(ApiError::TooManyRequests {
                retry_after_secs, ..
            }) => assert!((1..=60).contains(&retry_after_secs), "{retry_after_secs}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        // Another account is unaffected.
        assert!(throttle.check_account("grace@example.com").await.is_ok());
    }

    #[tokio::test]
    async fn an_address_is_refused_after_its_burst() {
        let throttle = SignInThrottle::new(limits(100, 1), &Tally::here());
        let here: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(throttle.check_address(here, Context::Anyone).await.is_ok());
        assert!(throttle.check_address(here, Context::Anyone).await.is_err());
        assert!(throttle
            .check_address("192.0.2.2".parse().unwrap(), Context::Anyone)
            .await
            .is_ok());
    }
}
