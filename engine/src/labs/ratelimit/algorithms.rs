//! The rate-limiting algorithms this lab teaches, written out to be read.
//! No limiter crate: the point is to see how each one decides.
//!
//! Every algorithm implements [`Algorithm`]: given the time (milliseconds
//! on a clock the caller controls), it decides one request and reports
//! what it decided and how its state changed. Nothing here reads the real
//! time, so tests and the side-by-side simulation run on virtual time.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// Milliseconds on the caller's clock.
pub type Millis = u64;

pub use model::labs::ratelimit::Kind;

/// What a limiter allows.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Bucket size, queue length, or requests per window.
    pub capacity: u32,
    /// Tokens added (or units leaked, or queue slots drained) per second.
    pub rate_per_sec: f64,
    /// Window length for the window algorithms, in milliseconds.
    pub window_ms: Millis,
}

/// One decision.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decision {
    /// Whether the request may go ahead.
    pub allowed: bool,
    /// How many more requests would be allowed right now.
    pub remaining: u32,
    /// Milliseconds until the limiter is back to its full allowance.
    pub reset_ms: Millis,
    /// For a refusal, milliseconds until a retry could be allowed.
    pub retry_after_ms: Millis,
    /// For the queue, how long the admitted request waits before it is served.
    pub delay_ms: Millis,
    /// The limiter's state before and after, for the inspector.
    pub before: State,
    /// See `before`.
    pub after: State,
}

/// A limiter's state, as students read it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum State {
    /// Tokens in the bucket.
    Tokens {
        /// Tokens now (fractional while refilling).
        tokens: f64,
        /// Bucket size.
        capacity: u32,
    },
    /// Water in the leaking bucket.
    Level {
        /// Units now.
        level: f64,
        /// Bucket size.
        capacity: u32,
    },
    /// Requests waiting in the queue.
    Queue {
        /// Requests queued (including the one being served).
        waiting: u32,
        /// Queue length.
        capacity: u32,
    },
    /// Requests counted in the current window(s).
    Window {
        /// Requests admitted in the current window.
        count: u32,
        /// Requests admitted in the previous window (sliding counter only).
        previous: u32,
        /// The weighted estimate the sliding counter decides on.
        estimate: f64,
        /// Requests allowed per window.
        limit: u32,
    },
}

impl State {
    /// How full the limiter is, 0 to 1, for charts.
    pub fn fullness(&self) -> f64 {
        let (used, of) = match self {
            State::Tokens { tokens, capacity } => (f64::from(*capacity) - tokens, *capacity),
            State::Level { level, capacity } => (*level, *capacity),
            State::Queue { waiting, capacity } => (f64::from(*waiting), *capacity),
            State::Window {
                estimate, limit, ..
            } => (*estimate, *limit),
        };
        (used / f64::from(of.max(1))).clamp(0.0, 1.0)
    }
}

/// A rate-limiting algorithm, deciding one request at a time.
pub trait Algorithm: Send {
    /// Decides a request arriving at `now`.
    fn decide(&mut self, now: Millis) -> Decision;
    /// The state at `now`, without deciding anything.
    fn state(&mut self, now: Millis) -> State;
}

/// A fresh limiter of `kind` under `policy`.
pub fn new(kind: Kind, policy: Policy) -> Box<dyn Algorithm> {
    Box::new(Stored::new(kind, policy))
}

/// Any algorithm with its state, as one value that can be stored (in
/// Redis, for a limiter several servers share) and read back.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "algorithm", rename_all = "snake_case")]
pub enum Stored {
    /// See [`TokenBucket`].
    TokenBucket(TokenBucket),
    /// See [`LeakyBucketMeter`].
    LeakyBucketMeter(LeakyBucketMeter),
    /// See [`LeakyBucketQueue`].
    LeakyBucketQueue(LeakyBucketQueue),
    /// See [`FixedWindow`].
    FixedWindow(FixedWindow),
    /// See [`SlidingWindowLog`].
    SlidingWindowLog(SlidingWindowLog),
    /// See [`SlidingWindowCounter`].
    SlidingWindowCounter(SlidingWindowCounter),
}

impl Stored {
    /// A fresh limiter of `kind`.
    pub fn new(kind: Kind, policy: Policy) -> Self {
        match kind {
            Kind::TokenBucket => Self::TokenBucket(TokenBucket::new(policy)),
            Kind::LeakyBucketMeter => Self::LeakyBucketMeter(LeakyBucketMeter::new(policy)),
            Kind::LeakyBucketQueue => Self::LeakyBucketQueue(LeakyBucketQueue::new(policy)),
            Kind::FixedWindow => Self::FixedWindow(FixedWindow::new(policy)),
            Kind::SlidingWindowLog => Self::SlidingWindowLog(SlidingWindowLog::new(policy)),
            Kind::SlidingWindowCounter => {
                Self::SlidingWindowCounter(SlidingWindowCounter::new(policy))
            }
        }
    }

    fn inner(&mut self) -> &mut dyn Algorithm {
        match self {
            Self::TokenBucket(a) => a,
            Self::LeakyBucketMeter(a) => a,
            Self::LeakyBucketQueue(a) => a,
            Self::FixedWindow(a) => a,
            Self::SlidingWindowLog(a) => a,
            Self::SlidingWindowCounter(a) => a,
        }
    }
}

impl Algorithm for Stored {
    fn decide(&mut self, now: Millis) -> Decision {
        self.inner().decide(now)
    }

    fn state(&mut self, now: Millis) -> State {
        self.inner().state(now)
    }
}

fn ms(seconds: f64) -> Millis {
    (seconds * 1000.0).ceil().max(0.0) as Millis
}

/// Token bucket: the bucket holds up to `capacity` tokens and gains
/// `rate_per_sec` of them per second. A request takes a token, or is refused
/// when there is none. Bursts up to the capacity; `rate` sustained.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenBucket {
    policy: Policy,
    tokens: f64,
    updated: Millis,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            tokens: f64::from(policy.capacity),
            updated: 0,
        }
    }

    fn refill(&mut self, now: Millis) {
        let elapsed = now.saturating_sub(self.updated) as f64 / 1000.0;
        self.tokens =
            (self.tokens + elapsed * self.policy.rate_per_sec).min(f64::from(self.policy.capacity));
        self.updated = self.updated.max(now);
    }
}

impl Algorithm for TokenBucket {
    fn decide(&mut self, now: Millis) -> Decision {
        self.refill(now);
        let before = self.state(now);
        let allowed = self.tokens >= 1.0;
        if allowed {
            self.tokens -= 1.0;
        }
        let rate = self.policy.rate_per_sec;
        Decision {
            allowed,
            remaining: self.tokens.floor() as u32,
            reset_ms: ms((f64::from(self.policy.capacity) - self.tokens) / rate),
            retry_after_ms: if allowed {
                0
            } else {
                ms((1.0 - self.tokens) / rate)
            },
            delay_ms: 0,
            before,
            after: self.state(now),
        }
    }

    fn state(&mut self, now: Millis) -> State {
        self.refill(now);
        State::Tokens {
            tokens: self.tokens,
            capacity: self.policy.capacity,
        }
    }
}

/// Leaky bucket as a meter: each request pours one unit into a bucket that
/// leaks `rate_per_sec` units per second; a request that would overflow
/// the bucket is refused. (The same decisions as GCRA.)
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LeakyBucketMeter {
    policy: Policy,
    level: f64,
    updated: Millis,
}

impl LeakyBucketMeter {
    /// An empty bucket.
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            level: 0.0,
            updated: 0,
        }
    }

    fn leak(&mut self, now: Millis) {
        let elapsed = now.saturating_sub(self.updated) as f64 / 1000.0;
        self.level = (self.level - elapsed * self.policy.rate_per_sec).max(0.0);
        self.updated = self.updated.max(now);
    }
}

impl Algorithm for LeakyBucketMeter {
    fn decide(&mut self, now: Millis) -> Decision {
        self.leak(now);
        let before = self.state(now);
        let capacity = f64::from(self.policy.capacity);
        let allowed = self.level + 1.0 <= capacity + 1e-9;
        if allowed {
            self.level += 1.0;
        }
        let rate = self.policy.rate_per_sec;
        Decision {
            allowed,
            remaining: (capacity - self.level).max(0.0).floor() as u32,
            reset_ms: ms(self.level / rate),
            retry_after_ms: if allowed {
                0
            } else {
                ms((self.level + 1.0 - capacity) / rate)
            },
            delay_ms: 0,
            before,
            after: self.state(now),
        }
    }

    fn state(&mut self, now: Millis) -> State {
        self.leak(now);
        State::Level {
            level: self.level,
            capacity: self.policy.capacity,
        }
    }
}

/// Leaky bucket as a queue: admitted requests wait their turn in a queue
/// of `capacity` places, served one every `1 / rate` seconds; a request
/// that finds the queue full is refused. Output is perfectly smooth; the
/// price is waiting.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LeakyBucketQueue {
    policy: Policy,
    /// When each queued request leaves the queue (one interval after it
    /// is served), earliest first.
    departures: VecDeque<Millis>,
}

impl LeakyBucketQueue {
    /// An empty queue.
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            departures: VecDeque::new(),
        }
    }

    fn interval(&self) -> Millis {
        ms(1.0 / self.policy.rate_per_sec).max(1)
    }

    fn drain(&mut self, now: Millis) {
        while self.departures.front().is_some_and(|d| *d <= now) {
            self.departures.pop_front();
        }
    }
}

impl Algorithm for LeakyBucketQueue {
    fn decide(&mut self, now: Millis) -> Decision {
        self.drain(now);
        let before = self.state(now);
        let allowed = self.departures.len() < self.policy.capacity as usize;
        let mut delay_ms = 0;
        if allowed {
            // Served when the request ahead has leaked out (or now, if none
            // is); it holds its place for one interval after that.
            let serve_at = self.departures.back().map_or(now, |last| (*last).max(now));
            delay_ms = serve_at - now;
            self.departures.push_back(serve_at + self.interval());
        }
        let waiting = self.departures.len() as u32;
        Decision {
            allowed,
            remaining: self.policy.capacity.saturating_sub(waiting),
            reset_ms: self.departures.back().map_or(0, |d| d.saturating_sub(now)),
            retry_after_ms: if allowed {
                0
            } else {
                self.departures.front().map_or(0, |d| d.saturating_sub(now))
            },
            delay_ms,
            before,
            after: self.state(now),
        }
    }

    fn state(&mut self, now: Millis) -> State {
        self.drain(now);
        State::Queue {
            waiting: self.departures.len() as u32,
            capacity: self.policy.capacity,
        }
    }
}

/// Fixed window: a counter per clock-aligned window of `window_ms`; at most
/// `capacity` requests per window. Cheap, and lets through twice the limit
/// around a window boundary.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FixedWindow {
    policy: Policy,
    window: Millis,
    count: u32,
}

impl FixedWindow {
    /// No requests counted.
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            window: 0,
            count: 0,
        }
    }

    fn roll(&mut self, now: Millis) {
        let window = now / self.policy.window_ms.max(1);
        if window != self.window {
            self.window = window;
            self.count = 0;
        }
    }
}

impl Algorithm for FixedWindow {
    fn decide(&mut self, now: Millis) -> Decision {
        self.roll(now);
        let before = self.state(now);
        let allowed = self.count < self.policy.capacity;
        if allowed {
            self.count += 1;
        }
        let end = (self.window + 1) * self.policy.window_ms.max(1);
        Decision {
            allowed,
            remaining: self.policy.capacity - self.count,
            reset_ms: end - now,
            retry_after_ms: if allowed { 0 } else { end - now },
            delay_ms: 0,
            before,
            after: self.state(now),
        }
    }

    fn state(&mut self, now: Millis) -> State {
        self.roll(now);
        State::Window {
            count: self.count,
            previous: 0,
            estimate: f64::from(self.count),
            limit: self.policy.capacity,
        }
    }
}

/// Sliding window log: remembers when each admitted request came; admits
/// a request when fewer than `capacity` came in the last `window_ms`. Exact,
/// at the cost of memory per request.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SlidingWindowLog {
    policy: Policy,
    log: VecDeque<Millis>,
}

impl SlidingWindowLog {
    /// An empty log.
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            log: VecDeque::new(),
        }
    }

    fn forget(&mut self, now: Millis) {
        while self
            .log
            .front()
            .is_some_and(|t| t + self.policy.window_ms <= now)
        {
            self.log.pop_front();
        }
    }
}

impl Algorithm for SlidingWindowLog {
    fn decide(&mut self, now: Millis) -> Decision {
        self.forget(now);
        let before = self.state(now);
        let allowed = self.log.len() < self.policy.capacity as usize;
        if allowed {
            self.log.push_back(now);
        }
        let window = self.policy.window_ms;
        Decision {
            allowed,
            remaining: self.policy.capacity.saturating_sub(self.log.len() as u32),
            reset_ms: self.log.back().map_or(0, |t| t + window - now),
            retry_after_ms: if allowed {
                0
            } else {
                self.log.front().map_or(0, |t| t + window - now)
            },
            delay_ms: 0,
            before,
            after: self.state(now),
        }
    }

    fn state(&mut self, now: Millis) -> State {
        self.forget(now);
        State::Window {
            count: self.log.len() as u32,
            previous: 0,
            estimate: self.log.len() as f64,
            limit: self.policy.capacity,
        }
    }
}

/// Sliding window counter: the current window's count plus the previous
/// window's, weighted by how much of it the sliding window still covers.
/// Two counters of memory, and close to the log's answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SlidingWindowCounter {
    policy: Policy,
    window: Millis,
    count: u32,
    previous: u32,
}

impl SlidingWindowCounter {
    /// Nothing counted.
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            window: 0,
            count: 0,
            previous: 0,
        }
    }

    fn roll(&mut self, now: Millis) {
        let window = now / self.policy.window_ms.max(1);
        if window == self.window + 1 {
            self.previous = self.count;
            self.count = 0;
        } else if window > self.window + 1 {
            self.previous = 0;
            self.count = 0;
        }
        self.window = self.window.max(window);
    }

    fn estimate(&self, now: Millis) -> f64 {
        let length = self.policy.window_ms.max(1);
        let into = now - self.window * length;
        let overlap = (length - into) as f64 / length as f64;
        f64::from(self.previous) * overlap + f64::from(self.count)
    }
}

impl Algorithm for SlidingWindowCounter {
    fn decide(&mut self, now: Millis) -> Decision {
        self.roll(now);
        let before = self.state(now);
        let limit = f64::from(self.policy.capacity);
        let allowed = self.estimate(now) + 1.0 <= limit + 1e-9;
        if allowed {
            self.count += 1;
        }
        let length = self.policy.window_ms.max(1);
        let end = (self.window + 1) * length;
        let retry_after_ms = if allowed {
            0
        } else if self.previous > 0 && self.count < self.policy.capacity {
            // Wait until the previous window's weight has shrunk enough.
            let excess = self.estimate(now) + 1.0 - limit;
            ms(excess / f64::from(self.previous) * length as f64 / 1000.0)
                .min(end - now)
                .max(1)
        } else {
            end - now
        };
        Decision {
            allowed,
            remaining: (limit - self.estimate(now)).max(0.0).floor() as u32,
            reset_ms: end + length - now,
            retry_after_ms,
            delay_ms: 0,
            before,
            after: self.state(now),
        }
    }

    fn state(&mut self, now: Millis) -> State {
        self.roll(now);
        State::Window {
            count: self.count,
            previous: self.previous,
            estimate: self.estimate(now),
            limit: self.policy.capacity,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const POLICY: Policy = Policy {
        capacity: 10,
        rate_per_sec: 2.0,
        window_ms: 1000,
    };

    /// Admission times of `arrivals` (sorted milliseconds) under `kind`.
    fn admitted(kind: Kind, policy: Policy, arrivals: &[Millis]) -> Vec<Millis> {
        let mut limiter = new(kind, policy);
        arrivals
            .iter()
            .copied()
            .filter(|t| limiter.decide(*t).allowed)
            .collect()
    }

    fn arrivals() -> impl Strategy<Value = Vec<Millis>> {
        prop::collection::vec(0u64..20_000, 1..400).prop_map(|mut v| {
            v.sort_unstable();
            v
        })
    }

    fn policies() -> impl Strategy<Value = Policy> {
        (1u32..30, 1u32..20, 100u64..5000).prop_map(|(capacity, rate, window_ms)| Policy {
            capacity,
            rate_per_sec: f64::from(rate),
            window_ms,
        })
    }

    /// Most requests admitted in any span `[a, b]` of the admission times.
    fn most_in_any_span(
        times: &[Millis],
        bound: impl Fn(Millis) -> f64,
    ) -> Option<(usize, Millis)> {
        for (i, start) in times.iter().enumerate() {
            for (j, end) in times.iter().enumerate().skip(i) {
                let count = j - i + 1;
                if count as f64 > bound(end - start) + 1e-6 {
                    return Some((count, end - start));
                }
            }
        }
        None
    }

    proptest! {
        #[test]
        fn a_token_bucket_never_admits_more_than_capacity_plus_rate_times_span(policy in policies(), times in arrivals()) {
            let got = admitted(Kind::TokenBucket, policy, &times);
            let bound = |span: Millis| f64::from(policy.capacity) + policy.rate_per_sec * span as f64 / 1000.0;
            prop_assert_eq!(most_in_any_span(&got, bound), None);
        }

        #[test]
        fn a_leaky_meter_keeps_the_same_promise(policy in policies(), times in arrivals()) {
            let got = admitted(Kind::LeakyBucketMeter, policy, &times);
            let bound = |span: Millis| f64::from(policy.capacity) + policy.rate_per_sec * span as f64 / 1000.0;
            prop_assert_eq!(most_in_any_span(&got, bound), None);
        }

        #[test]
        fn a_sliding_log_never_admits_more_than_the_limit_in_any_window(policy in policies(), times in arrivals()) {
            let got = admitted(Kind::SlidingWindowLog, policy, &times);
            for (i, start) in got.iter().enumerate() {
                let inside = got[i..].iter().take_while(|t| **t < start + policy.window_ms).count();
                prop_assert!(inside <= policy.capacity as usize, "{} in the window from {}", inside, start);
            }
        }

        #[test]
        fn window_counters_never_exceed_the_limit_within_one_aligned_window(policy in policies(), times in arrivals()) {
            for kind in [Kind::FixedWindow, Kind::SlidingWindowCounter] {
                let got = admitted(kind, policy, &times);
                let mut per_window = std::collections::BTreeMap::new();
                for t in got {
                    *per_window.entry(t / policy.window_ms).or_insert(0u32) += 1;
                }
                prop_assert!(per_window.values().all(|n| *n <= policy.capacity), "{:?}: {:?}", kind, per_window);
            }
        }

        #[test]
        fn the_queue_serves_at_its_rate_and_never_holds_more_than_its_length(policy in policies(), times in arrivals()) {
            let mut queue = LeakyBucketQueue::new(policy);
            let mut served = Vec::new();
            for t in &times {
                let decision = queue.decide(*t);
                if decision.allowed {
                    served.push(t + decision.delay_ms);
                }
                if let State::Queue { waiting, capacity } = decision.after {
                    prop_assert!(waiting <= capacity);
                }
            }
            let interval = ms(1.0 / policy.rate_per_sec).max(1);
            for pair in served.windows(2) {
                prop_assert!(pair[1] - pair[0] >= interval, "{:?} closer than {}", pair, interval);
            }
        }
    }

    #[test]
    fn a_stored_limiter_reads_back_exactly_as_it_was() {
        for kind in Kind::ALL {
            let mut limiter = Stored::new(kind, POLICY);
            for t in [0, 10, 20, 700] {
                limiter.decide(t);
            }
            let json = serde_json::to_string(&limiter).unwrap();
            let mut back: Stored = serde_json::from_str(&json).unwrap();
            assert_eq!(back.decide(900), limiter.decide(900), "{kind:?}");
        }
    }

    #[test]
    fn a_fixed_window_lets_twice_the_limit_through_around_a_boundary() {
        let policy = Policy {
            capacity: 10,
            rate_per_sec: 10.0,
            window_ms: 1000,
        };
        // Ten requests at the end of one window, ten at the start of the next.
        let times: Vec<Millis> = (0..10)
            .map(|i| 990 + i)
            .chain((0..10).map(|i| 1000 + i))
            .collect();
        let fixed = admitted(Kind::FixedWindow, policy, &times);
        assert_eq!(
            fixed.len(),
            20,
            "20 requests in 20 ms under a limit of 10 per second"
        );
        let log = admitted(Kind::SlidingWindowLog, policy, &times);
        assert_eq!(log.len(), 10);
        let counter = admitted(Kind::SlidingWindowCounter, policy, &times);
        assert!(
            counter.len() <= 11,
            "the sliding counter mostly closes the gap: {}",
            counter.len()
        );
    }

    #[test]
    fn a_token_bucket_allows_a_burst_then_the_rate_and_says_when_to_retry() {
        let mut bucket = TokenBucket::new(POLICY);
        for _ in 0..10 {
            assert!(bucket.decide(0).allowed);
        }
        let refused = bucket.decide(0);
        assert!(!refused.allowed);
        assert_eq!(
            refused.retry_after_ms, 500,
            "2 tokens per second: one in 500 ms"
        );
        assert!(!bucket.decide(499).allowed);
        assert!(bucket.decide(500).allowed);
        assert_eq!(bucket.decide(500).remaining, 0);
    }

    #[test]
    fn the_queue_delays_instead_of_refusing_until_it_is_full() {
        let policy = Policy {
            capacity: 3,
            rate_per_sec: 10.0,
            window_ms: 1000,
        };
        let mut queue = LeakyBucketQueue::new(policy);
        let delays: Vec<Millis> = (0..3).map(|_| queue.decide(0).delay_ms).collect();
        assert_eq!(delays, vec![0, 100, 200]);
        let full = queue.decide(0);
        assert!(!full.allowed);
        assert_eq!(full.retry_after_ms, 100);
        assert!(queue.decide(100).allowed);
    }
}
