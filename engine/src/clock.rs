//! Wall-clock time behind a trait, so session expiry (and later, lab
//! algorithms) can be tested by moving time forward instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};

/// A source of the current time since the Unix epoch.
pub trait Clock: Send + Sync {
    /// Seconds since 1970-01-01 UTC.
    fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }
    /// Milliseconds since 1970-01-01 UTC (rate limiters need them).
    fn now_ms(&self) -> i64;
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }
}

/// A clock that moves only when told to: for tests. It keeps milliseconds.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock showing `now` (seconds).
    pub fn new(now: i64) -> Self {
        Self(AtomicI64::new(now * 1000))
    }

    /// A clock showing the real time at the moment of the call.
    pub fn starting_now() -> Self {
        Self::new(crate::db::unix_now())
    }

    /// Moves the clock forward by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.advance_ms(seconds * 1000);
    }

    /// Moves the clock forward by `ms` milliseconds.
    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced() {
        let clock = ManualClock::new(1_000);
        assert_eq!(clock.now(), 1_000);
        clock.advance(61);
        assert_eq!(clock.now(), 1_061);
        clock.advance_ms(1_500);
        assert_eq!((clock.now(), clock.now_ms()), (1_062, 1_062_500));
    }
}
