//! The balancing algorithms. Time is passed in (nanoseconds on whatever
//! clock the caller runs: the live gateway's, or a replay's virtual one),
//! so tests and graders run them without waiting.
//!
//! Why not tower's `balance`: it offers power-of-two-choices over pending
//! requests or peak-EWMA, on tokio's clock. The lab also teaches round robin
//! and random, shows each replica's estimate, and replays a seeded run on a
//! virtual clock, so the four algorithms are written out here, after the
//! same designs (Finagle's and Linkerd's peak-EWMA, which tower follows).

use model::labs::gateway::Algorithm;

use crate::seeded::SplitMix64;

/// How fast a latency estimate forgets: its weight halves every
/// `DECAY_NS * ln 2`, about 7 s.
const DECAY_NS: f64 = 10e9;
/// The estimate of a replica nothing has been heard from yet.
pub(crate) const FIRST_ESTIMATE_NS: f64 = 50e6;

/// What the balancer knows of one replica.
#[derive(Clone, Debug)]
pub(crate) struct Load {
    /// Requests sent to it and not yet finished.
    pub(crate) outstanding: u32,
    /// Peak-EWMA round-trip estimate, as of `estimated_at_ns`.
    estimate_ns: f64,
    estimated_at_ns: u64,
}

impl Load {
    fn new(now_ns: u64) -> Self {
        Self {
            outstanding: 0,
            estimate_ns: FIRST_ESTIMATE_NS,
            estimated_at_ns: now_ns,
        }
    }

    /// The estimate at `now_ns`: it decays towards zero while nothing is
    /// heard, so a replica once slow is tried again in a while.
    pub(crate) fn estimate_ns(&self, now_ns: u64) -> f64 {
        self.estimate_ns * decay(now_ns.saturating_sub(self.estimated_at_ns))
    }

    /// Takes in one round trip: a slower one than the estimate replaces it
    /// at once (the peak); a faster one is averaged in, weighted by the
    /// time since the last one (the estimate decays meanwhile as if zeros
    /// were heard, and the round trip takes the weight they lost).
    fn observe(&mut self, rtt_ns: u64, now_ns: u64) {
        let rtt = rtt_ns as f64;
        let kept = decay(now_ns.saturating_sub(self.estimated_at_ns));
        let current = self.estimate_ns * kept;
        self.estimate_ns = if rtt > current {
            rtt
        } else {
            current + rtt * (1.0 - kept)
        };
        self.estimated_at_ns = now_ns;
    }

    /// What sending it one more request is expected to cost.
    fn cost(&self, now_ns: u64) -> f64 {
        self.estimate_ns(now_ns) * f64::from(self.outstanding + 1)
    }
}

fn decay(elapsed_ns: u64) -> f64 {
    (-(elapsed_ns as f64) / DECAY_NS).exp()
}

/// One gateway's choice of replica, for one student's settings.
#[derive(Clone, Debug)]
pub(crate) struct Balancer {
    algorithm: Algorithm,
    /// Where round robin goes next (and where ties start).
    next: usize,
    dice: SplitMix64,
    loads: Vec<Load>,
}

impl Balancer {
    /// A balancer over `replicas` replicas, its dice seeded with `seed`.
    pub(crate) fn new(algorithm: Algorithm, replicas: usize, seed: u64, now_ns: u64) -> Self {
        Self {
            algorithm,
            next: 0,
            dice: SplitMix64::new(seed),
            loads: (0..replicas).map(|_| Load::new(now_ns)).collect(),
        }
    }

    /// What it knows of each replica.
    pub(crate) fn loads(&self) -> &[Load] {
        &self.loads
    }

    /// The replica for the next request among those `usable`, counted as
    /// outstanding until [`Balancer::finish`]; `None` when none is usable.
    pub(crate) fn pick(&mut self, now_ns: u64, usable: impl Fn(usize) -> bool) -> Option<usize> {
        let candidates: Vec<usize> = (0..self.loads.len()).filter(|&i| usable(i)).collect();
        let chosen = match (self.algorithm, candidates.len()) {
            (_, 0) => return None,
            (_, 1) => candidates[0],
            (Algorithm::RoundRobin, _) => self.in_turn(&candidates),
            (Algorithm::Random, n) => candidates[self.dice.below(n as u64) as usize],
            (Algorithm::LeastOutstanding, _) => {
                let fewest = candidates
                    .iter()
                    .map(|&i| self.loads[i].outstanding)
                    .min()
                    .unwrap_or_default();
                let tied: Vec<usize> = candidates
                    .into_iter()
                    .filter(|&i| self.loads[i].outstanding == fewest)
                    .collect();
                self.in_turn(&tied)
            }
            (Algorithm::PeakEwma, n) => {
                let first = self.dice.below(n as u64) as usize;
                let second = (first + 1 + self.dice.below(n as u64 - 1) as usize) % n;
                let (a, b) = (candidates[first], candidates[second]);
                if self.loads[b].cost(now_ns) < self.loads[a].cost(now_ns) {
                    b
                } else {
                    a
                }
            }
        };
        self.loads[chosen].outstanding += 1;
        Some(chosen)
    }

    /// The first of `candidates` at or after the round-robin cursor, which
    /// then moves past it.
    fn in_turn(&mut self, candidates: &[usize]) -> usize {
        let chosen = candidates
            .iter()
            .copied()
            .find(|&i| i >= self.next)
            .unwrap_or(candidates[0]);
        self.next = (chosen + 1) % self.loads.len();
        chosen
    }

    /// A request to `replica` was given up unanswered (a hedge answered
    /// first): no longer outstanding, and nothing learnt of its latency.
    pub(crate) fn abandon(&mut self, replica: usize) {
        if let Some(load) = self.loads.get_mut(replica) {
            load.outstanding = load.outstanding.saturating_sub(1);
        }
    }

    /// A request to `replica` finished after `rtt_ns` (a timeout or a cut
    /// connection counts with the time it took).
    pub(crate) fn finish(&mut self, replica: usize, rtt_ns: u64, now_ns: u64) {
        if let Some(load) = self.loads.get_mut(replica) {
            load.outstanding = load.outstanding.saturating_sub(1);
            load.observe(rtt_ns, now_ns);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    /// Sends `requests` one after another, each finishing at once after
    /// `rtt(replica)`; counts what each replica got.
    fn shares(algorithm: Algorithm, requests: u32, rtt: impl Fn(usize) -> u64) -> Vec<u32> {
        let mut balancer = Balancer::new(algorithm, 3, 7, 0);
        let mut got = vec![0; 3];
        let mut now = 0;
        for _ in 0..requests {
            let replica = balancer.pick(now, |_| true).unwrap();
            got[replica] += 1;
            now += rtt(replica);
            balancer.finish(replica, rtt(replica), now);
        }
        got
    }

    #[test]
    fn round_robin_takes_each_in_turn_and_skips_the_unusable() {
        assert_eq!(shares(Algorithm::RoundRobin, 9, |_| MS), [3, 3, 3]);
        let mut balancer = Balancer::new(Algorithm::RoundRobin, 3, 1, 0);
        let picks: Vec<_> = (0..4)
            .map(|_| balancer.pick(0, |i| i != 1).unwrap())
            .collect();
        assert_eq!(picks, [0, 2, 0, 2]);
        assert_eq!(balancer.pick(0, |_| false), None);
    }

    #[test]
    fn random_spreads_about_evenly_and_repeats_with_its_seed() {
        let got = shares(Algorithm::Random, 3000, |_| MS);
        assert!(got.iter().all(|&n| (900..1100).contains(&n)), "{got:?}");
        assert_eq!(got, shares(Algorithm::Random, 3000, |_| MS));
    }

    #[test]
    fn least_outstanding_avoids_the_replica_holding_requests() {
        let mut balancer = Balancer::new(Algorithm::LeastOutstanding, 3, 1, 0);
        // Replica 0 holds two requests that never finish.
        assert_eq!(balancer.pick(0, |_| true), Some(0));
        balancer.loads[0].outstanding += 1;
        let picks: Vec<_> = (0..4)
            .map(|_| {
                let replica = balancer.pick(0, |_| true).unwrap();
                balancer.finish(replica, MS, 0);
                replica
            })
            .collect();
        assert!(!picks.contains(&0), "{picks:?}");
        assert!(picks.contains(&1) && picks.contains(&2), "ties go in turn");
    }

    #[test]
    fn peak_ewma_steers_away_from_a_slow_replica() {
        // Replica 2 takes 200 ms, the others 10 ms.
        let got = shares(Algorithm::PeakEwma, 600, |r| {
            if r == 2 {
                200 * MS
            } else {
                10 * MS
            }
        });
        assert!(got[2] < 60, "{got:?}");
        // Round robin does not look.
        let blind = shares(Algorithm::RoundRobin, 600, |r| {
            if r == 2 {
                200 * MS
            } else {
                10 * MS
            }
        });
        assert_eq!(blind[2], 200);
    }

    #[test]
    fn a_slow_moment_is_remembered_at_once_and_forgotten_gradually() {
        const SECOND: u64 = 1_000 * MS;
        let mut load = Load::new(0);
        load.observe(10 * MS, 10 * SECOND);
        assert!(load.estimate_ns(10 * SECOND) < FIRST_ESTIMATE_NS);
        load.observe(2_000 * MS, 10 * SECOND);
        assert_eq!(
            load.estimate_ns(10 * SECOND),
            2_000e6,
            "the peak counts at once"
        );
        let later = load.estimate_ns(17 * SECOND);
        assert!(
            (900e6..1_100e6).contains(&later),
            "halved in about 7 s: {later}"
        );
    }
}
