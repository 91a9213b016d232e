//! A load run replayed on a virtual clock: the student's gateway settings
//! against simulated replicas, with no sockets and no waiting, as the
//! `gateway-brownout` exercise grades it. It follows the live lab's rules
//! wherever they decide something: the gateway decides through the same
//! [`Steering`] (balancer, budget, breakers, health), each replica rolls
//! the same dice with the same function ([`roll`]) and queues for the same
//! capacity, and the run is counted by the same [`Stats`] as a live run.
//!
//! What the replay leaves out: the network (each try costs
//! [`NETWORK_US`], a loopback round trip), and the scheduler's noise. A
//! try the gateway gives up on (timed out, or abandoned for a hedge) is
//! dropped by its replica, as the live replica's handler is when its
//! connection closes.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use model::labs::gateway::{GatewaySettings, LoadRequest, LoadRun, ReplicaSettings, MAX_REPLICAS};

use super::load::Stats;
use super::replicas::{dice_for, roll};
use super::steering::Steering;
use crate::seeded::SplitMix64;

/// What one try costs on the loopback interface, both ways, in
/// microseconds (measured live: see the test that compares the two).
const NETWORK_US: u64 = 300;

/// Something due at a virtual time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// Client request `n` arrives.
    Arrive(u32),
    /// A try's answer reaches the gateway.
    Answer(usize),
    /// A try's per-try timeout is up.
    Timeout(usize),
    /// A request's round `attempt` may be hedged now.
    Hedge(u32, usize),
    /// A round of health checks comes back.
    Checked,
}

/// Where a try is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TryState {
    /// Waiting for one of the replica's slots.
    Queued,
    /// Holding a slot; answers at the scheduled time.
    Working { fails: bool },
    /// Refused at once (the replica is killed).
    Refused,
    /// Answered, or given up on.
    Over,
}

struct Try {
    request: u32,
    replica: usize,
    sent_us: u64,
    state: TryState,
}

/// What a try came to, as the gateway sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Ok,
    Failed,
}

struct Request {
    arrived_us: u64,
    /// Rounds started (1 for the first try).
    attempt: usize,
    tried: Vec<usize>,
    /// Tries out now (two while a hedge races).
    out: Vec<usize>,
    tries_sent: u32,
    done: bool,
}

struct SimReplica {
    dice: SplitMix64,
    busy: u32,
    queue: VecDeque<usize>,
}

/// One replay in progress.
struct Replay<'a> {
    settings: &'a GatewaySettings,
    asked: &'a LoadRequest,
    now_us: u64,
    events: BinaryHeap<Reverse<(u64, u64, Event)>>,
    sequence: u64,
    steering: Steering,
    replicas: Vec<SimReplica>,
    tries: Vec<Try>,
    requests: Vec<Request>,
    stats: Stats,
}

/// Replays the run `asked` (its rate, length and brownout) against
/// `settings`, on a virtual clock starting at 0.
pub(crate) fn replay(settings: &GatewaySettings, asked: &LoadRequest) -> LoadRun {
    let count = usize::from(settings.replicas).min(MAX_REPLICAS);
    let mut replay = Replay {
        settings,
        asked,
        now_us: 0,
        events: BinaryHeap::new(),
        sequence: 0,
        steering: Steering::new(settings, 0),
        replicas: (0..count)
            .map(|i| SimReplica {
                dice: dice_for(u64::from(settings.seed), i as u8 + 1),
                busy: 0,
                queue: VecDeque::new(),
            })
            .collect(),
        tries: Vec::new(),
        requests: Vec::new(),
        stats: Stats::default(),
    };
    let every_us = 1_000_000 / u64::from(asked.rate_per_sec.max(1));
    for n in 0..asked.rate_per_sec * asked.seconds {
        replay.at(u64::from(n) * every_us, Event::Arrive(n));
    }
    while let Some(Reverse((at, _, event))) = replay.events.pop() {
        replay.now_us = at;
        replay.handle(event);
    }
    let elapsed_ms = replay.now_us / 1000;
    replay.stats.view(asked, elapsed_ms)
}

impl Replay<'_> {
    fn at(&mut self, at_us: u64, event: Event) {
        self.sequence += 1;
        self.events.push(Reverse((at_us, self.sequence, event)));
    }

    fn now_ms(&self) -> u64 {
        self.now_us / 1000
    }

    /// The replica settings in force now (the brownout's, if it has begun).
    fn replica_settings(&self, index: usize) -> ReplicaSettings {
        match self.asked.brownout_at_s {
            Some(at) => {
                let begun = self.now_us >= u64::from(at) * 1_000_000;
                self.settings.in_brownout(begun).replica(index)
            }
            None => self.settings.replica(index),
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Arrive(n) => self.arrive(n),
            Event::Answer(id) => self.answer(id),
            Event::Timeout(id) => self.time_out(id),
            Event::Hedge(n, attempt) => self.hedge(n, attempt),
            Event::Checked => self.checked(),
        }
    }

    fn arrive(&mut self, n: u32) {
        let second = (self.now_us / 1_000_000) as usize;
        self.stats.sent(second);
        self.requests.push(Request {
            arrived_us: self.now_us,
            attempt: 0,
            tried: Vec::new(),
            out: Vec::new(),
            tries_sent: 0,
            done: false,
        });
        self.check_health_if_due();
        self.steering.request(self.now_ms());
        self.round(n);
    }

    /// A round of health checks, if due: each replica's `/health` passes
    /// unless it is killed or hangs (the shallow check takes no slot).
    fn check_health_if_due(&mut self) {
        if !self.settings.health_checks {
            return;
        }
        match self.steering.next_check_ms {
            Some(due) if self.now_ms() >= due => self.steering.next_check_ms = None,
            _ => return,
        }
        let hangs = (0..self.replicas.len()).any(|i| self.replica_settings(i).hang);
        let takes_us = if hangs {
            u64::from(
                self.settings
                    .per_try_timeout_ms
                    .min(self.settings.health_every_ms),
            ) * 1000
        } else {
            NETWORK_US
        };
        self.at(self.now_us + takes_us, Event::Checked);
    }

    fn checked(&mut self) {
        let (eject_after, return_after) = (
            u32::from(self.settings.eject_after),
            u32::from(self.settings.return_after),
        );
        for index in 0..self.replicas.len() {
            let replica = self.replica_settings(index);
            let passed = !replica.killed && !replica.hang;
            if let Some(health) = self.steering.health.get_mut(index) {
                health.record(passed, eject_after, return_after);
            }
        }
        self.steering.next_check_ms =
            Some(self.now_ms() + u64::from(self.settings.health_every_ms));
        self.steering.health_rounds += 1;
    }

    /// Starts the next round of request `n`: a try on the replica the
    /// steering chooses, or the request refused.
    fn round(&mut self, n: u32) {
        let now_ms = self.now_ms();
        let request = &mut self.requests[n as usize];
        request.attempt += 1;
        let attempt = request.attempt;
        match self.steering.choose(self.settings, &request.tried, now_ms) {
            Ok(index) => {
                request.tried.push(index);
                self.send(n, index);
                if self.settings.hedge_after_ms > 0 {
                    let due = self.now_us + u64::from(self.settings.hedge_after_ms) * 1000;
                    self.at(due, Event::Hedge(n, attempt));
                }
            }
            // Shed, or nowhere to go: the gateway's own 503.
            Err(_) => self.finish(n, Outcome::Failed, None),
        }
    }

    fn hedge(&mut self, n: u32, attempt: usize) {
        let now_ms = self.now_ms();
        let request = &self.requests[n as usize];
        if request.done || request.attempt != attempt || request.out.len() != 1 {
            return;
        }
        let tried = request.tried.clone();
        if let Some(index) = self.steering.may_hedge(self.settings, &tried, now_ms) {
            self.requests[n as usize].tried.push(index);
            self.send(n, index);
        }
    }

    /// Sends a try of request `n` to replica `index`.
    fn send(&mut self, n: u32, index: usize) {
        let id = self.tries.len();
        self.tries.push(Try {
            request: n,
            replica: index,
            sent_us: self.now_us,
            state: TryState::Queued,
        });
        let request = &mut self.requests[n as usize];
        request.out.push(id);
        request.tries_sent += 1;
        let timeout = self.now_us + u64::from(self.settings.per_try_timeout_ms) * 1000;
        self.at(timeout, Event::Timeout(id));
        let replica = self.replica_settings(index);
        if replica.killed {
            self.tries[id].state = TryState::Refused;
            self.at(self.now_us + NETWORK_US, Event::Answer(id));
        } else if replica.hang {
            // Never answers: the timeout decides.
            self.tries[id].state = TryState::Working { fails: true };
        } else {
            self.replicas[index].queue.push_back(id);
            self.start_work(index);
        }
    }

    /// Gives free slots of replica `index` to the tries queued there.
    fn start_work(&mut self, index: usize) {
        let settings = self.replica_settings(index);
        while self.replicas[index].busy < settings.capacity {
            let Some(id) = self.replicas[index].queue.pop_front() else {
                return;
            };
            let replica = &mut self.replicas[index];
            replica.busy += 1;
            // Warm: the replay's replicas have run for long before.
            let served = roll(&settings, &mut replica.dice, u64::MAX);
            let work_us = if served.fails { 0 } else { served.work_us };
            self.tries[id].state = TryState::Working {
                fails: served.fails,
            };
            self.at(self.now_us + work_us + NETWORK_US, Event::Answer(id));
        }
    }

    /// Replica `index` lets go of try `id` (answered or given up on).
    fn release(&mut self, id: usize) {
        let index = self.tries[id].replica;
        match self.tries[id].state {
            TryState::Queued => self.replicas[index].queue.retain(|&queued| queued != id),
            TryState::Working { .. } => {
                self.replicas[index].busy = self.replicas[index].busy.saturating_sub(1);
                self.start_work(index);
            }
            TryState::Refused | TryState::Over => {}
        }
        self.tries[id].state = TryState::Over;
    }

    fn answer(&mut self, id: usize) {
        let outcome = match self.tries[id].state {
            TryState::Working { fails: false } => Outcome::Ok,
            TryState::Working { fails: true } | TryState::Refused => Outcome::Failed,
            TryState::Queued | TryState::Over => return,
        };
        self.release(id);
        self.settled(id, outcome);
    }

    fn time_out(&mut self, id: usize) {
        if self.tries[id].state == TryState::Over {
            return;
        }
        self.release(id);
        self.settled(id, Outcome::Failed);
    }

    /// Try `id` came back: the steering learns it, and its request goes on
    /// as the live gateway's would.
    fn settled(&mut self, id: usize, outcome: Outcome) {
        let (n, index, rtt_us) = {
            let done = &self.tries[id];
            (done.request, done.replica, self.now_us - done.sent_us)
        };
        let now_ms = self.now_ms();
        self.steering.settle(
            self.settings,
            index,
            rtt_us * 1000,
            outcome == Outcome::Ok,
            now_ms,
        );
        let request = &mut self.requests[n as usize];
        request.out.retain(|&out| out != id);
        if outcome == Outcome::Ok {
            if let Some(other) = request.out.pop() {
                let other_replica = self.tries[other].replica;
                self.steering.abandon(other_replica);
                self.release(other);
            }
            return self.finish(n, Outcome::Ok, Some(index));
        }
        if !request.out.is_empty() {
            // A hedge is still out: its answer decides.
            return;
        }
        let attempt = request.attempt;
        let (again, _) = self.steering.may_retry(self.settings, attempt, now_ms);
        if again {
            self.round(n);
        } else {
            self.finish(n, Outcome::Failed, Some(index));
        }
    }

    fn finish(&mut self, n: u32, outcome: Outcome, replica: Option<usize>) {
        let request = &mut self.requests[n as usize];
        request.done = true;
        let second = (request.arrived_us / 1_000_000) as usize;
        let ms = ((self.now_us - request.arrived_us) / 1000) as u32;
        self.stats.answered(
            second,
            ms,
            outcome == Outcome::Failed,
            request.tries_sent,
            replica,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::labs::gateway::Algorithm;

    fn brownout(seconds: u32, at: u32) -> LoadRequest {
        LoadRequest {
            rate_per_sec: 200,
            seconds,
            brownout_at_s: Some(at),
        }
    }

    fn no_retries() -> GatewaySettings {
        GatewaySettings::default()
    }

    fn naive_retries() -> GatewaySettings {
        GatewaySettings {
            retries: 3,
            retry_budget: false,
            per_try_timeout_ms: 200,
            ..GatewaySettings::default()
        }
    }

    fn budgeted_peak_ewma() -> GatewaySettings {
        GatewaySettings {
            algorithm: Algorithm::PeakEwma,
            retries: 2,
            retry_budget: true,
            retry_budget_percent: 20,
            per_try_timeout_ms: 200,
            ..GatewaySettings::default()
        }
    }

    fn summary(run: &LoadRun) -> String {
        format!(
            "success {:.2} %, p99 {} ms, {} tries a request, shares {:?}",
            f64::from(run.succeeded) * 100.0 / f64::from(run.sent),
            run.p99_ms,
            run.attempts_per_request,
            run.per_replica
        )
    }

    #[test]
    fn a_healthy_run_answers_everything_once_in_the_service_time() {
        let asked = LoadRequest {
            rate_per_sec: 200,
            seconds: 10,
            brownout_at_s: None,
        };
        let run = replay(&GatewaySettings::default(), &asked);
        assert_eq!((run.sent, run.succeeded, run.failed), (2000, 2000, 0));
        assert_eq!(run.attempts_per_request, 1.0);
        assert_eq!(run.p99_ms, 20, "{}", summary(&run));
        assert_eq!(run.per_replica[..3], [667, 667, 666]);
    }

    #[test]
    fn the_same_settings_give_the_same_run() {
        let asked = brownout(30, 10);
        let settings = budgeted_peak_ewma();
        assert_eq!(replay(&settings, &asked), replay(&settings, &asked));
    }

    #[test]
    fn the_brownout_shows_in_the_seconds_after_it_begins() {
        let run = replay(&no_retries(), &brownout(30, 10));
        let before: u32 = run.per_second[..10].iter().map(|s| s.failed).sum();
        let after: u32 = run.per_second[10..].iter().map(|s| s.failed).sum();
        assert_eq!(before, 0);
        assert!(after > 300, "30 % of replica 2's third: {}", summary(&run));
    }

    #[test]
    fn three_ways_through_the_brownout() {
        let asked = brownout(60, 20);
        let run = replay(&no_retries(), &asked);
        let success = |run: &LoadRun| f64::from(run.succeeded) * 100.0 / f64::from(run.sent);
        assert!(
            success(&run) < 90.0,
            "errors and timeouts reach clients: {}",
            summary(&run)
        );
        assert_eq!(run.p99_ms, 1000, "the per-try timeout: {}", summary(&run));

        let run = replay(&naive_retries(), &asked);
        assert_eq!(run.succeeded, run.sent, "{}", summary(&run));
        assert!(
            run.attempts_per_request > 1.3,
            "every timeout sent again: {}",
            summary(&run)
        );

        let run = replay(&budgeted_peak_ewma(), &asked);
        assert_eq!(run.succeeded, run.sent, "{}", summary(&run));
        assert!(
            run.attempts_per_request <= 1.2 && run.p99_ms < 300,
            "{}",
            summary(&run)
        );
        let after: u32 = run.per_second[25..].iter().map(|s| s.per_replica[0]).sum();
        assert!(
            after < 100,
            "peak-EWMA left the slow replica: {}",
            summary(&run)
        );
    }
}
