//! What keeps a gateway from making an outage worse: a retry budget, so
//! retries cannot multiply the load on replicas that are already failing,
//! and a circuit breaker per replica, so a replica that keeps failing is
//! left alone for a while and then tried with one request. Time is passed
//! in (milliseconds on the caller's clock), as in [`super::balance`].

/// How far back the retry budget looks.
pub(crate) const BUDGET_WINDOW_MS: u64 = 10_000;
/// Retries the budget always allows in a window, so a quiet gateway can
/// still retry the odd failure.
pub(crate) const BUDGET_FLOOR: u32 = 5;
/// The budget counts in slices of this length.
const SLICE_MS: u64 = 1_000;
const SLICES: usize = (BUDGET_WINDOW_MS / SLICE_MS) as usize;

/// Retries may add at most `percent` % to the requests of the last
/// [`BUDGET_WINDOW_MS`] (and [`BUDGET_FLOOR`] whatever the traffic).
#[derive(Clone, Debug)]
pub(crate) struct RetryBudget {
    percent: u32,
    /// Requests and retries per slice, the slice's start beside them.
    slices: [(u64, u32, u32); SLICES],
}

impl RetryBudget {
    /// A budget of `percent` % of the requests.
    pub(crate) fn new(percent: u8) -> Self {
        Self {
            percent: u32::from(percent),
            slices: [(0, 0, 0); SLICES],
        }
    }

    fn slice(&mut self, now_ms: u64) -> &mut (u64, u32, u32) {
        let start = now_ms - now_ms % SLICE_MS;
        let slice = &mut self.slices[((now_ms / SLICE_MS) as usize) % SLICES];
        if slice.0 != start {
            *slice = (start, 0, 0);
        }
        slice
    }

    /// Counts a client's request (not its retries).
    pub(crate) fn request(&mut self, now_ms: u64) {
        self.slice(now_ms).1 += 1;
    }

    /// Whether one more retry fits, counting it if so.
    pub(crate) fn try_retry(&mut self, now_ms: u64) -> bool {
        let (requests, retries) = self.in_window(now_ms);
        let allowed = (requests * self.percent / 100).max(BUDGET_FLOOR);
        if retries >= allowed {
            return false;
        }
        self.slice(now_ms).2 += 1;
        true
    }

    /// Requests and retries in the window ending at `now_ms`.
    pub(crate) fn in_window(&self, now_ms: u64) -> (u32, u32) {
        let oldest = now_ms.saturating_sub(BUDGET_WINDOW_MS - SLICE_MS);
        let oldest = oldest - oldest % SLICE_MS;
        self.slices
            .iter()
            .filter(|(start, ..)| *start >= oldest && *start <= now_ms)
            .fold((0, 0), |(requests, retries), (_, r, t)| {
                (requests + r, retries + t)
            })
    }
}

/// A circuit breaker's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Breaker {
    /// Requests go through; this many have failed in a row.
    Closed { failures: u32 },
    /// No request goes until then.
    Open { until_ms: u64 },
    /// One trial request is out; its outcome decides.
    HalfOpen,
}

impl Default for Breaker {
    fn default() -> Self {
        Self::Closed { failures: 0 }
    }
}

impl Breaker {
    /// Its name, as traces and the replicas' view show it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Closed { .. } => "closed",
            Self::Open { .. } => "open",
            Self::HalfOpen => "half_open",
        }
    }

    /// Whether a request may go now; an open breaker whose time is up lets
    /// exactly one through (half-open).
    pub(crate) fn admit(&mut self, now_ms: u64) -> bool {
        match *self {
            Self::Closed { .. } => true,
            Self::Open { until_ms } if now_ms >= until_ms => {
                *self = Self::HalfOpen;
                true
            }
            Self::Open { .. } | Self::HalfOpen => false,
        }
    }

    /// Whether a request could go now, without letting one through.
    pub(crate) fn would_admit(self, now_ms: u64) -> bool {
        match self {
            Self::Closed { .. } => true,
            Self::Open { until_ms } => now_ms >= until_ms,
            Self::HalfOpen => false,
        }
    }

    /// Takes in how a request that was let through ended: `trip_after`
    /// failures in a row (0: never) open it for `open_ms`; a half-open
    /// trial's success closes it and its failure opens it again.
    pub(crate) fn record(&mut self, succeeded: bool, now_ms: u64, trip_after: u32, open_ms: u64) {
        *self = match (*self, succeeded) {
            (_, true) => Self::Closed { failures: 0 },
            (Self::HalfOpen, false) => Self::Open {
                until_ms: now_ms + open_ms,
            },
            (Self::Closed { failures }, false) if trip_after > 0 && failures + 1 >= trip_after => {
                Self::Open {
                    until_ms: now_ms + open_ms,
                }
            }
            (Self::Closed { failures }, false) => Self::Closed {
                failures: failures + 1,
            },
            // An answer from before it opened changes nothing.
            (open @ Self::Open { .. }, false) => open,
        };
    }
}

/// What active health checks have found of one replica.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Health {
    /// Taken out of the rotation until it passes again.
    pub(crate) ejected: bool,
    /// Checks in a row that went the other way from `ejected`.
    streak: u32,
    /// Whether any check has run.
    pub(crate) checked: bool,
}

impl Health {
    /// Its name, as traces and the replicas' view show it.
    pub(crate) fn name(self) -> &'static str {
        match (self.checked, self.ejected) {
            (false, _) => "unchecked",
            (true, false) => "healthy",
            (true, true) => "ejected",
        }
    }

    /// Takes in one check: `eject_after` failures in a row take it out,
    /// `return_after` passes in a row bring it back.
    pub(crate) fn record(&mut self, passed: bool, eject_after: u32, return_after: u32) {
        self.checked = true;
        if passed == self.ejected {
            self.streak += 1;
        } else {
            self.streak = 0;
        }
        let needed = if self.ejected {
            return_after
        } else {
            eject_after
        };
        if self.streak >= needed.max(1) {
            self.ejected = !self.ejected;
            self.streak = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_may_add_the_budgets_share_of_the_window_and_no_more() {
        let mut budget = RetryBudget::new(20);
        for ms in 0..100 {
            budget.request(ms * 10);
        }
        let allowed = (0..50).filter(|_| budget.try_retry(999)).count();
        assert_eq!(allowed, 20, "20% of 100 requests");
        // Ten seconds on, the window holds none of them: the floor only.
        let later = (0..50).filter(|_| budget.try_retry(11_000)).count();
        assert_eq!(later, BUDGET_FLOOR as usize);
    }

    #[test]
    fn a_quiet_gateway_may_still_retry_a_few() {
        let mut budget = RetryBudget::new(0);
        budget.request(0);
        let allowed = (0..10).filter(|_| budget.try_retry(0)).count();
        assert_eq!(allowed, BUDGET_FLOOR as usize);
    }

    #[test]
    fn the_window_slides_slice_by_slice() {
        let mut budget = RetryBudget::new(100);
        budget.request(500);
        budget.request(9_500);
        assert_eq!(budget.in_window(9_999), (2, 0));
        assert_eq!(budget.in_window(10_000), (1, 0), "the first slice left");
    }

    #[test]
    fn a_breaker_opens_after_failures_in_a_row_then_half_opens_and_closes() {
        let mut breaker = Breaker::default();
        for _ in 0..2 {
            assert!(breaker.admit(0));
            breaker.record(false, 0, 3, 1_000);
        }
        breaker.record(true, 0, 3, 1_000);
        assert_eq!(
            breaker,
            Breaker::Closed { failures: 0 },
            "a success resets the count"
        );
        for _ in 0..3 {
            breaker.record(false, 10, 3, 1_000);
        }
        assert_eq!(breaker.name(), "open");
        assert!(!breaker.admit(500));
        assert!(breaker.admit(1_010), "time is up: one trial");
        assert_eq!(breaker, Breaker::HalfOpen);
        assert!(!breaker.admit(1_010), "only one trial at a time");
        breaker.record(false, 1_020, 3, 1_000);
        assert_eq!(
            breaker,
            Breaker::Open { until_ms: 2_020 },
            "the trial failed"
        );
        assert!(breaker.admit(2_020));
        breaker.record(true, 2_030, 3, 1_000);
        assert_eq!(breaker, Breaker::Closed { failures: 0 });
    }

    #[test]
    fn health_checks_eject_after_failures_in_a_row_and_return_after_passes() {
        let mut health = Health::default();
        assert_eq!(health.name(), "unchecked");
        health.record(false, 2, 3);
        health.record(true, 2, 3);
        health.record(false, 2, 3);
        assert_eq!(
            health.name(),
            "healthy",
            "a pass between failures resets the count"
        );
        health.record(false, 2, 3);
        assert_eq!(health.name(), "ejected");
        health.record(true, 2, 3);
        health.record(true, 2, 3);
        health.record(false, 2, 3);
        health.record(true, 2, 3);
        health.record(true, 2, 3);
        assert!(health.ejected, "two passes, a failure: not yet");
        health.record(true, 2, 3);
        assert_eq!(health.name(), "healthy");
    }

    #[test]
    fn a_breaker_set_to_zero_never_opens() {
        let mut breaker = Breaker::default();
        for _ in 0..100 {
            breaker.record(false, 0, 0, 1_000);
        }
        assert!(breaker.admit(0));
    }
}
