//! What a student's shop served lately, and the RED report made from it:
//! rate, errors and duration per bucket of time and per route, and the
//! objective's error budget. Bounded: [`WINDOW_MS`] of requests, at most
//! [`MAX_REQUESTS`] of them and [`MAX_LOG`] log lines.

use std::collections::VecDeque;

use model::labs::observe::{ErrorBudget, LogLine, Objective, RedBucket, RouteRed};

/// How far back the dashboard looks.
pub(super) const WINDOW_MS: i64 = 5 * 60 * 1000;
/// One bar of the charts.
pub(super) const BUCKET_MS: i64 = 10_000;
/// How far back the burn rate looks.
const BURN_WINDOW_MS: i64 = 60_000;
/// Requests kept per student: 200 load requests a click, fifteen clicks.
pub(super) const MAX_REQUESTS: usize = 3000;
/// Log lines kept per student.
pub(super) const MAX_LOG: usize = 300;

/// The routes of the shop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Route {
    Product,
    Orders,
}

impl Route {
    pub(super) fn name(self) -> &'static str {
        match self {
            Route::Product => "GET /shop/products/{id}",
            Route::Orders => "GET /shop/orders",
        }
    }
}

/// One request the shop served.
#[derive(Clone, Copy, Debug)]
pub(super) struct Served {
    /// When it ended, in milliseconds since 1970.
    pub(super) at_ms: i64,
    pub(super) route: Route,
    pub(super) status: u16,
    pub(super) duration_us: u64,
}

impl Served {
    fn error(&self) -> bool {
        self.status >= 500
    }

    fn good(&self, objective: &Objective) -> bool {
        !self.error() && self.duration_us <= u64::from(objective.latency_ms) * 1000
    }
}

/// A student's recent requests and log lines, oldest first.
#[derive(Default)]
pub(super) struct Traffic {
    requests: VecDeque<Served>,
    log: VecDeque<LogLine>,
}

impl Traffic {
    /// Files a request and what it logged.
    pub(super) fn record(&mut self, served: Served, lines: impl IntoIterator<Item = LogLine>) {
        self.requests.push_back(served);
        self.log.extend(lines);
        let oldest = served.at_ms - WINDOW_MS;
        while self.requests.len() > MAX_REQUESTS
            || self.requests.front().is_some_and(|r| r.at_ms < oldest)
        {
            self.requests.pop_front();
        }
        while self.log.len() > MAX_LOG || self.log.front().is_some_and(|l| l.at_ms < oldest) {
            self.log.pop_front();
        }
    }

    /// The newest `limit` log lines, newest first.
    pub(super) fn log(&self, limit: usize) -> Vec<LogLine> {
        self.log.iter().rev().take(limit).cloned().collect()
    }

    /// Requests of the window that ends at `now_ms`: the charts' buckets,
    /// so that the charts, the routes and the budget count the same ones.
    fn window(&self, now_ms: i64) -> impl Iterator<Item = &Served> {
        let start = first_bucket_start(now_ms);
        self.requests
            .iter()
            .filter(move |r| r.at_ms >= start && r.at_ms <= now_ms)
    }

    /// The charts' buckets: the window in [`BUCKET_MS`] steps, the last
    /// one holding `now_ms`, with the budget left after each.
    pub(super) fn buckets(&self, now_ms: i64, objective: &Objective) -> Vec<RedBucket> {
        let count = WINDOW_MS / BUCKET_MS;
        let first_start = first_bucket_start(now_ms);
        let mut per_bucket: Vec<Vec<&Served>> = vec![Vec::new(); count as usize];
        for served in self.window(now_ms) {
            let index = (served.at_ms - first_start).div_euclid(BUCKET_MS);
            if let Some(bucket) = usize::try_from(index)
                .ok()
                .and_then(|i| per_bucket.get_mut(i))
            {
                bucket.push(served);
            }
        }
        let (mut requests_so_far, mut bad_so_far) = (0u64, 0u64);
        per_bucket
            .iter()
            .enumerate()
            .map(|(index, served)| {
                requests_so_far += served.len() as u64;
                bad_so_far += served.iter().filter(|r| !r.good(objective)).count() as u64;
                let (p50_us, p95_us, p99_us) = percentiles(served);
                RedBucket {
                    start_ms: first_start + index as i64 * BUCKET_MS,
                    requests: served.len() as u32,
                    errors: served.iter().filter(|r| r.error()).count() as u32,
                    p50_us,
                    p95_us,
                    p99_us,
                    budget_left_per_mille: budget_left(requests_so_far, bad_so_far, objective),
                }
            })
            .collect()
    }

    /// Each route over the window.
    pub(super) fn routes(&self, now_ms: i64) -> Vec<RouteRed> {
        [Route::Product, Route::Orders]
            .into_iter()
            .map(|route| {
                let served: Vec<&Served> =
                    self.window(now_ms).filter(|r| r.route == route).collect();
                let (p50_us, p95_us, p99_us) = percentiles(&served);
                RouteRed {
                    route: route.name().into(),
                    requests: served.len() as u32,
                    errors: served.iter().filter(|r| r.error()).count() as u32,
                    p50_us,
                    p95_us,
                    p99_us,
                }
            })
            .collect()
    }

    /// The objective's error budget over the window, and how fast the last
    /// minute spent it.
    pub(super) fn budget(&self, now_ms: i64, objective: &Objective) -> ErrorBudget {
        let (mut requests, mut bad, mut recent, mut recent_bad) = (0u64, 0u64, 0u64, 0u64);
        for served in self.window(now_ms) {
            let is_bad = !served.good(objective);
            requests += 1;
            bad += u64::from(is_bad);
            if served.at_ms > now_ms - BURN_WINDOW_MS {
                recent += 1;
                recent_bad += u64::from(is_bad);
            }
        }
        let allowed_per_mille = u64::from(1000 - objective.target_per_mille);
        ErrorBudget {
            objective: objective.clone(),
            requests: requests as u32,
            bad: bad as u32,
            allowed_milli: requests * allowed_per_mille,
            left_per_mille: budget_left(requests, bad, objective),
            burn_rate_per_cent: (recent_bad * 1000 * 100)
                .checked_div(recent * allowed_per_mille)
                .unwrap_or(0),
        }
    }
}

/// Where the oldest bucket of the window ending at `now_ms` starts.
fn first_bucket_start(now_ms: i64) -> i64 {
    (now_ms.div_euclid(BUCKET_MS) - WINDOW_MS / BUCKET_MS + 1) * BUCKET_MS
}

/// The budget left, in tenths of a percent: all of it with no requests;
/// below 0 once more requests were bad than the objective allows.
fn budget_left(requests: u64, bad: u64, objective: &Objective) -> i64 {
    let allowed_milli = (requests * u64::from(1000 - objective.target_per_mille)) as i64;
    if requests == 0 {
        return 1000;
    }
    if allowed_milli == 0 {
        return if bad == 0 { 1000 } else { -1000 };
    }
    (allowed_milli - bad as i64 * 1000) * 1000 / allowed_milli
}

/// The 50th, 95th and 99th percentile durations (nearest rank), 0 when
/// nothing was served.
fn percentiles(served: &[&Served]) -> (u64, u64, u64) {
    let mut durations: Vec<u64> = served.iter().map(|r| r.duration_us).collect();
    durations.sort_unstable();
    let at = |percent: usize| {
        if durations.is_empty() {
            return 0;
        }
        let rank = (percent * durations.len()).div_ceil(100).max(1);
        durations[rank - 1]
    };
    (at(50), at(95), at(99))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(at_ms: i64, status: u16, duration_ms: u64) -> Served {
        Served {
            at_ms,
            route: Route::Product,
            status,
            duration_us: duration_ms * 1000,
        }
    }

    // Halfway through a bucket.
    const NOW: i64 = 1_000_005_000;

    #[test]
    fn buckets_count_requests_errors_and_percentiles_where_they_ended() {
        let mut traffic = Traffic::default();
        for i in 0..100 {
            traffic.record(served(NOW - 500, 200, i + 1), []);
        }
        traffic.record(served(NOW - 12_000, 503, 250), []);
        let buckets = traffic.buckets(NOW, &Objective::default());
        assert_eq!(buckets.len(), 30);
        let last = buckets.last().unwrap();
        assert!(last.start_ms <= NOW && NOW < last.start_ms + BUCKET_MS);
        assert_eq!((last.requests, last.errors), (100, 0));
        assert_eq!(
            (last.p50_us, last.p95_us, last.p99_us),
            (50_000, 95_000, 99_000)
        );
        let before = &buckets[buckets.len() - 2];
        assert_eq!((before.requests, before.errors), (1, 1));
        assert_eq!(buckets[0].requests, 0);
    }

    #[test]
    fn the_budget_counts_errors_and_slow_requests_against_the_objective() {
        let mut traffic = Traffic::default();
        let objective = Objective {
            target_per_mille: 990,
            latency_ms: 100,
        };
        // 1000 requests allow 10 bad ones: spend 4 (2 errors, 2 too slow).
        for i in 0..1000 {
            let (status, ms) = match i {
                0 | 1 => (500, 5),
                2 | 3 => (200, 101),
                _ => (200, 100),
            };
            traffic.record(served(NOW - 100_000 + i, status, ms), []);
        }
        let budget = traffic.budget(NOW, &objective);
        assert_eq!((budget.requests, budget.bad), (1000, 4));
        assert_eq!(budget.allowed_milli, 10_000);
        assert_eq!(budget.left_per_mille, 600);
        // None in the last minute: nothing burning now.
        assert_eq!(budget.burn_rate_per_cent, 0);
        // Ten errors in the last minute's ten requests: 100 % bad where 1 %
        // is allowed, a burn rate of 100.
        for _ in 0..10 {
            traffic.record(served(NOW - 1, 500, 1), []);
        }
        let budget = traffic.budget(NOW, &objective);
        assert_eq!(budget.burn_rate_per_cent, 10_000);
        assert_eq!(budget.left_per_mille, (10_100 - 14_000) * 1000 / 10_100);
    }

    #[test]
    fn old_requests_leave_the_window_and_the_log_is_bounded() {
        let mut traffic = Traffic::default();
        traffic.record(served(NOW - WINDOW_MS - 1, 200, 1), []);
        traffic.record(served(NOW, 200, 1), []);
        assert_eq!(traffic.requests.len(), 1);
        for i in 0..(MAX_LOG + 5) {
            let line = LogLine {
                at_ms: NOW,
                level: "info".into(),
                trace_id: String::new(),
                message: format!("line {i}"),
            };
            traffic.record(served(NOW, 200, 1), [line]);
        }
        assert_eq!(traffic.log.len(), MAX_LOG);
        assert_eq!(traffic.log(1)[0].message, format!("line {}", MAX_LOG + 4));
        assert_eq!(budget_left(0, 0, &Objective::default()), 1000);
    }
}
