//! The gateway's decisions, apart from any network: which replica a try
//! goes to, whether a failed try is tried again or a slow one hedged, and
//! what a finished try teaches the balancer and the breakers. The live
//! gateway ([`super::proxy`]) and the brownout replay ([`super::replay`])
//! both decide through this, so the grader judges the rules the student
//! watches at work. Time is passed in, in milliseconds on the caller's
//! clock.

use model::labs::gateway::{Algorithm, GatewaySettings, MAX_REPLICAS};

use super::balance::Balancer;
use super::resilience::{Breaker, Health, RetryBudget};

/// What decides where a request goes and whether it is tried again, and
/// the settings it was made for.
pub(crate) struct Steering {
    made_for: SteeringFor,
    pub(crate) balancer: Balancer,
    pub(crate) budget: RetryBudget,
    /// One per replica the balancer knows.
    pub(crate) breakers: Vec<Breaker>,
    /// One per replica the balancer knows.
    pub(crate) health: Vec<Health>,
    /// When the next round of health checks is due, on the lab's clock;
    /// `None` while one runs.
    pub(crate) next_check_ms: Option<u64>,
    /// Rounds of health checks finished.
    pub(crate) health_rounds: u64,
}

/// The settings that start the steering afresh when they change.
type SteeringFor = (Algorithm, u8, u32, u8);

/// Why the gateway sent a request nowhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Every replica failed its health checks.
    AllEjected,
    /// Every replica's breaker is open.
    BreakersOpen,
    /// Every replica it could use has `shed_above` requests in flight.
    Shed(u32),
    /// The settings name a replica that is not running (not expected).
    NoReplica,
}

/// Why a failed try was, or was not, tried again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RetryWhy {
    /// It was the last of 1 + `retries`.
    LastTry,
    /// Retries are not held to a budget.
    NoBudget,
    /// The budget decided.
    Budget,
}

impl RetryWhy {
    /// Its name in traces.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::LastTry => "last_try",
            Self::NoBudget => "no_budget",
            Self::Budget => "budget",
        }
    }
}

fn ns(ms: u64) -> u64 {
    ms * 1_000_000
}

impl Steering {
    /// Fresh steering for `settings`, at `now_ms`.
    pub(crate) fn new(settings: &GatewaySettings, now_ms: u64) -> Self {
        let replicas = usize::from(settings.replicas).min(MAX_REPLICAS);
        Self {
            made_for: Self::key(settings),
            balancer: Balancer::new(
                settings.algorithm,
                replicas,
                u64::from(settings.seed),
                ns(now_ms),
            ),
            budget: RetryBudget::new(settings.retry_budget_percent),
            breakers: vec![Breaker::default(); replicas],
            health: vec![Health::default(); replicas],
            next_check_ms: Some(0),
            health_rounds: 0,
        }
    }

    fn key(settings: &GatewaySettings) -> SteeringFor {
        (
            settings.algorithm,
            settings.replicas,
            settings.seed,
            settings.retry_budget_percent,
        )
    }

    /// Whether these settings need fresh steering (a new algorithm,
    /// replica count, seed or budget).
    pub(crate) fn is_for(&self, settings: &GatewaySettings) -> bool {
        self.made_for == Self::key(settings)
    }

    /// A client request arrived (retries and hedges are not requests).
    pub(crate) fn request(&mut self, now_ms: u64) {
        self.budget.request(now_ms);
    }

    /// The replica for a try: skipping ejected replicas, open breakers,
    /// and saturated replicas when shedding, and, where another is left,
    /// the replicas already `tried`. Counted as outstanding there (and as
    /// a half-open breaker's trial) until [`Steering::settle`] or
    /// [`Steering::abandon`].
    pub(crate) fn choose(
        &mut self,
        settings: &GatewaySettings,
        tried: &[usize],
        now_ms: u64,
    ) -> Result<usize, Refused> {
        let (breakers, health) = (&self.breakers, &self.health);
        let in_rotation = |i: usize| !health.get(i).is_some_and(|h| h.ejected);
        if !(0..health.len()).any(in_rotation) {
            return Err(Refused::AllEjected);
        }
        let closed =
            |i: usize| in_rotation(i) && breakers.get(i).is_some_and(|b| b.would_admit(now_ms));
        if !(0..breakers.len()).any(closed) {
            return Err(Refused::BreakersOpen);
        }
        let outstanding: Vec<u32> = self
            .balancer
            .loads()
            .iter()
            .map(|l| l.outstanding)
            .collect();
        let room = |i: usize| settings.shed_above == 0 || outstanding[i] < settings.shed_above;
        let usable = |i: usize| closed(i) && room(i);
        let index = self
            .balancer
            .pick(ns(now_ms), |i| usable(i) && !tried.contains(&i))
            .or_else(|| self.balancer.pick(ns(now_ms), usable))
            .ok_or(Refused::Shed(settings.shed_above))?;
        self.breakers[index].admit(now_ms);
        Ok(index)
    }

    /// What the gateway knew of each replica when choosing, for the trace:
    /// `n: requests in flight, estimate ms, breaker, health`.
    pub(crate) fn describe(&self, now_ms: u64) -> String {
        self.balancer
            .loads()
            .iter()
            .zip(self.breakers.iter().zip(&self.health))
            .enumerate()
            .map(|(i, (load, (breaker, health)))| {
                format!(
                    "{}: {} in flight, {:.0} ms, breaker {}, {}",
                    i + 1,
                    load.outstanding,
                    load.estimate_ns(ns(now_ms)) / 1e6,
                    breaker.name(),
                    health.name()
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// A try to replica `index` came back after `rtt_ns`: the balancer
    /// learns the round trip and the breaker the outcome. Returns the
    /// breaker's state after it.
    pub(crate) fn settle(
        &mut self,
        settings: &GatewaySettings,
        index: usize,
        rtt_ns: u64,
        succeeded: bool,
        now_ms: u64,
    ) -> &'static str {
        self.balancer.finish(index, rtt_ns, ns(now_ms));
        // Fewer replicas may have been set while this try was out: the
        // steering it came from is gone, and so is its breaker.
        match self.breakers.get_mut(index) {
            Some(breaker) => {
                breaker.record(
                    succeeded,
                    now_ms,
                    u32::from(settings.breaker_failures),
                    u64::from(settings.breaker_open_ms),
                );
                breaker.name()
            }
            None => "closed",
        }
    }

    /// A try given up unanswered because another answered first.
    pub(crate) fn abandon(&mut self, index: usize) {
        self.balancer.abandon(index);
    }

    /// Whether failed try number `attempt` (1 for the first) is tried
    /// again, as the settings and the budget say.
    pub(crate) fn may_retry(
        &mut self,
        settings: &GatewaySettings,
        attempt: usize,
        now_ms: u64,
    ) -> (bool, RetryWhy) {
        if attempt > usize::from(settings.retries) {
            (false, RetryWhy::LastTry)
        } else if !settings.retry_budget {
            (true, RetryWhy::NoBudget)
        } else {
            (self.budget.try_retry(now_ms), RetryWhy::Budget)
        }
    }

    /// The replica a slow try is hedged to: one not `tried` yet, if the
    /// retry budget pays for it (counted as outstanding there).
    pub(crate) fn may_hedge(
        &mut self,
        settings: &GatewaySettings,
        tried: &[usize],
        now_ms: u64,
    ) -> Option<usize> {
        let untried = (0..usize::from(settings.replicas)).any(|i| !tried.contains(&i));
        if !untried || (settings.retry_budget && !self.budget.try_retry(now_ms)) {
            return None;
        }
        let index = self.choose(settings, tried, now_ms).ok()?;
        if tried.contains(&index) {
            // Only tried replicas were usable: a hedge there helps nothing.
            self.balancer.abandon(index);
            return None;
        }
        Some(index)
    }
}
