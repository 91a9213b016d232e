//! Keyed GCRA limiters (`governor`) that answer with 429 and `Retry-After`:
//! the platform's own protection of its doors (sign-in, grading), not the
//! rate-limit lab, which teaches the algorithms.
//!
//! A door's limiter ([`SharedLimiter`]) counts in Redis when the server
//! has one ([`Tally`]), so several servers behind a load balancer hold one
//! allowance between them: five sign-in attempts at an account are five,
//! however the attempts are spread. While Redis is away each server counts
//! alone, as one server always does: the doors stay open and limited.

use std::fmt::Debug;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use sha2::{Digest, Sha256};

use crate::redis_link::{RedisDown, RedisLink};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

/// A burst of `burst` attempts per key, one more every `refill_every`.
pub struct KeyedLimiter<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    clock: DefaultClock,
    what: &'static str,
    burst: u32,
    refill_every: Duration,
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// A limiter whose refusals say "Too many {what}".
    pub fn new(burst: NonZeroU32, refill_every: Duration, what: &'static str) -> Self {
        let refill_every = refill_every.max(Duration::from_millis(1));
        let quota = Quota::with_period(refill_every)
            .expect("the period is not zero")
            .allow_burst(burst);
        Self {
            limiter: RateLimiter::dashmap(quota),
            clock: DefaultClock::default(),
            what,
            burst: burst.get(),
            refill_every,
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
            Err(_) => Err(self.too_many_at_once(n)),
        }
    }

    fn too_many_at_once(&self, n: NonZeroU32) -> ApiError {
        ApiError::PayloadTooLarge(format!(
            "Too many {} at once: {n} asked, {} at most.",
            self.what, self.burst
        ))
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

/// Where the doors' limiters keep their counts: in this process, or in a
/// Redis every server of the deployment shares.
#[derive(Clone, Default)]
pub struct Tally {
    shared: Option<(Arc<RedisLink>, Arc<str>)>,
}

impl Tally {
    /// Counts in this process only (one server, or no Redis).
    pub fn here() -> Self {
        Self::default()
    }

    /// Counts in `link`'s Redis under keys starting `wb:{deployment}:`, so
    /// two deployments sharing a Redis keep apart.
    pub fn in_redis(link: Arc<RedisLink>, deployment: &str) -> Self {
        Self {
            shared: Some((link, deployment.into())),
        }
    }

    /// Whether the shared Redis answers a `PING` now; `None` without one.
    pub async fn redis_answers(&self) -> Option<Result<(), RedisDown>> {
        let (link, _) = self.shared.as_ref()?;
        Some(
            link.command(|mut c| {
                async move { redis::cmd("PING").query_async::<()>(&mut c).await }.boxed()
            })
            .await,
        )
    }
}

/// GCRA in Redis, on Redis's own clock so every server agrees on the time.
/// The key holds the theoretical arrival time in microseconds. Answers 0
/// when the `n` attempts are allowed, else the microseconds to wait.
const GCRA: &str = r"
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local next_tat = tat + n * interval
local allowed_at = next_tat - burst * interval
if allowed_at > now then return allowed_at - now end
redis.call('SET', KEYS[1], next_tat, 'PX', math.ceil((next_tat - now) / 1000) + 1000)
return 0
";

/// A door's limiter: a burst per key, one more every interval, counted in
/// the [`Tally`] (and in this process while Redis is away).
pub struct SharedLimiter<K: Hash + Eq + Clone> {
    here: KeyedLimiter<K>,
    tally: Tally,
    /// The limiter's part of its Redis keys.
    name: String,
}

impl<K: Hash + Eq + Clone + Debug> SharedLimiter<K> {
    /// A burst of `burst` per key, one back every `refill_every`; refusals
    /// say "Too many {what}"; `name` tells its keys from other limiters'.
    pub fn new(
        burst: NonZeroU32,
        refill_every: Duration,
        what: &'static str,
        name: impl Into<String>,
        tally: &Tally,
    ) -> Self {
        Self {
            here: KeyedLimiter::new(burst, refill_every, what),
            tally: tally.clone(),
            name: name.into(),
        }
    }

    /// Takes one attempt from `key`'s allowance, or says when to retry.
    pub async fn check(&self, key: &K) -> Result<(), ApiError> {
        self.check_n(key, NonZeroU32::MIN).await
    }

    /// Takes `n` at once from `key`'s allowance (all or none), or says when
    /// to retry; more than the whole burst is refused for good.
    pub async fn check_n(&self, key: &K, n: NonZeroU32) -> Result<(), ApiError> {
        if n.get() > self.here.burst {
            return Err(self.here.too_many_at_once(n));
        }
        if let Some((link, deployment)) = &self.tally.shared {
            match self.decide_in_redis(link, deployment, key, n).await {
                Ok(None) => return Ok(()),
                Ok(Some(wait)) => return Err(self.here.refusal(wait)),
                // Counted here until Redis is back.
                Err(RedisDown(_)) => {}
            }
        }
        self.here.check_n(key, n)
    }

    /// The wait before `n` more are allowed (`None`: allowed and taken).
    async fn decide_in_redis(
        &self,
        link: &RedisLink,
        deployment: &str,
        key: &K,
        n: NonZeroU32,
    ) -> Result<Option<Duration>, RedisDown> {
        static SCRIPT: std::sync::LazyLock<redis::Script> =
            std::sync::LazyLock::new(|| redis::Script::new(GCRA));
        // Keys are digests: what is typed at a door (an email) stays out
        // of Redis.
        let digest = Sha256::digest(format!("{key:?}"));
        let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
        let redis_key = format!("wb:{deployment}:door:{}:{hex}", self.name);
        let interval_us = u64::try_from(self.here.refill_every.as_micros()).unwrap_or(u64::MAX);
        let (burst, n) = (self.here.burst, n.get());
        let wait_us: u64 = link
            .command(move |mut c| {
                async move {
                    SCRIPT
                        .key(redis_key)
                        .arg(interval_us)
                        .arg(burst)
                        .arg(n)
                        .invoke_async(&mut c)
                        .await
                }
                .boxed()
            })
            .await?;
        Ok((wait_us > 0).then(|| Duration::from_micros(wait_us)))
    }

    /// Drops keys whose allowance in this process is full again.
    pub fn forget_idle(&self) {
        self.here.forget_idle();
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
    name: &'static str,
    tally: Tally,
    default: SharedLimiter<IpAddr>,
    per_member_burst: u32,
    per_member_refill: Duration,
    classes: std::sync::Mutex<std::collections::HashMap<String, Arc<SharedLimiter<IpAddr>>>>,
}

impl AddressBudget {
    /// `burst` per address, one back every `refill`; in a class, each
    /// member adds `per_member_burst`, and one comes back every
    /// `per_member_refill` per member.
    /// `name` tells its counts from other budgets' in the [`Tally`].
    pub fn new(
        what: &'static str,
        name: &'static str,
        burst: NonZeroU32,
        refill: Duration,
        per_member_burst: u32,
        per_member_refill: Duration,
        tally: &Tally,
    ) -> Self {
        Self {
            what,
            name,
            tally: tally.clone(),
            default: SharedLimiter::new(burst, refill, what, name, tally),
            per_member_burst: per_member_burst.max(1),
            per_member_refill,
            classes: std::sync::Mutex::default(),
        }
    }

    /// Spends one from the budget `context` names at `address`.
    pub async fn check(&self, address: IpAddr, context: Context<'_>) -> Result<(), ApiError> {
        match context {
            Context::Anyone => self.default.check(&address).await.map_err(|refusal| match refusal {
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
            Context::Class { id, capacity } => {
                let class = self.of_class(id, capacity);
                class.check(&address).await
            }
        }
    }

    fn of_class(&self, id: &str, capacity: u32) -> Arc<SharedLimiter<IpAddr>> {
        let mut classes = self.classes.lock().unwrap_or_else(|e| e.into_inner());
        classes
            .entry(id.to_string())
            .or_insert_with(|| {
                let capacity = capacity.max(1);
                Arc::new(SharedLimiter::new(
                    NonZeroU32::new(capacity.saturating_mul(self.per_member_burst))
                        .expect("a class has at least one place"),
                    self.per_member_refill / capacity,
                    self.what,
                    // The capacity is in the name: a class resized gets a
                    // budget of its new size.
                    format!("{}:class:{id}:{capacity}", self.name),
                    &self.tally,
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
            "sign-ups",
            NonZeroU32::new(2).unwrap(),
            Duration::from_secs(60),
            2,
            Duration::from_secs(60),
            &Tally::here(),
        )
    }

    /// A link to the local Redis, or `None` (with a message) when none runs.
    async fn local_redis() -> Option<Arc<RedisLink>> {
        if tokio::net::TcpStream::connect("127.0.0.1:6379")
            .await
            .is_err()
        {
            eprintln!("skipped: no Redis answers on 127.0.0.1:6379");
            return None;
        }
        let clock: Arc<dyn crate::clock::Clock> = Arc::new(crate::clock::SystemClock);
        Some(Arc::new(
            RedisLink::new("redis://127.0.0.1:6379", clock, Duration::from_secs(2)).unwrap(),
        ))
    }

    /// Two servers' limiters for one door, counting in `tally`.
    fn two_servers(tally: &Tally) -> [SharedLimiter<String>; 2] {
        [(), ()].map(|()| {
            SharedLimiter::new(
                NonZeroU32::new(3).unwrap(),
                Duration::from_secs(60),
                "sign-in attempts",
                "signin-account",
                tally,
            )
        })
    }

    #[tokio::test]
    async fn servers_counting_in_redis_hold_one_allowance_between_them() {
        let Some(link) = local_redis().await else {
            return;
        };
        // A deployment of its own, so other test runs' counts stay apart.
        let deployment = format!("test{}", rand::random::<u64>());
        let [first, second] = two_servers(&Tally::in_redis(link, &deployment));
        let ada = "ada@example.com".to_string();
        assert!(first.check(&ada).await.is_ok());
        assert!(second.check(&ada).await.is_ok());
        assert!(first.check(&ada).await.is_ok());
        match second.check(&ada).await {
            Err(ApiError::TooManyRequests {
                retry_after_secs, ..
            }) => assert!((1..=60).contains(&retry_after_secs), "{retry_after_secs}"),
            other => panic!("the fourth attempt over two servers is refused: {other:?}"),
        }
        assert!(first.check(&"bob@example.com".to_string()).await.is_ok());
        // More than the burst at once is refused for good, Redis or not.
        assert!(matches!(
            first
                .check_n(&"cleo".to_string(), NonZeroU32::new(4).unwrap())
                .await,
            Err(ApiError::PayloadTooLarge(_))
        ));
    }

    #[tokio::test]
    async fn without_redis_each_server_counts_alone_and_answers() {
        // Nothing listens on port 9: every command fails at once.
        let clock: Arc<dyn crate::clock::Clock> = Arc::new(crate::clock::SystemClock);
        let gone = Arc::new(
            RedisLink::new("redis://127.0.0.1:9", clock, Duration::from_millis(200)).unwrap(),
        );
        let [first, second] = two_servers(&Tally::in_redis(gone, "test"));
        let ada = "ada@example.com".to_string();
        for _ in 0..3 {
            assert!(first.check(&ada).await.is_ok());
            assert!(second.check(&ada).await.is_ok());
        }
        assert!(matches!(
            first.check(&ada).await,
            Err(ApiError::TooManyRequests { .. })
        ));
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

    #[tokio::test]
    async fn a_class_has_a_budget_of_its_size_at_one_address() {
        let budget = budget();
        let campus: IpAddr = "192.0.2.1".parse().unwrap();
        let class = Context::Class {
            id: "c1",
            capacity: 300,
        };
        for i in 0..600 {
            assert!(
                budget.check(campus, class).await.is_ok(),
                "member request {i}"
            );
        }
        assert!(
            budget.check(campus, class).await.is_err(),
            "two per member, then wait"
        );
        // The address's own budget is untouched, and small.
        assert!(budget.check(campus, Context::Anyone).await.is_ok());
        assert!(budget.check(campus, Context::Anyone).await.is_ok());
        assert!(budget.check(campus, Context::Anyone).await.is_err());
        // Another class at the same address has its own.
        let other = Context::Class {
            id: "c2",
            capacity: 1,
        };
        assert!(budget.check(campus, other).await.is_ok());
    }
}
