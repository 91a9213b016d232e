//! A fair gate for scarce work that students share: the threads that run
//! SQL in their sandboxes, and SQL grading.
//!
//! Without it one student can hold every slot (eleven 2-second statements
//! of an index experiment, or graded attempts that each run twice) while
//! everyone else's `SELECT 1` waits behind them. The gate promises:
//! - at most `slots` jobs run at once across the server;
//! - a student runs one job at a time; their other jobs wait in their own
//!   line (at most [`GateLimits::line`] long) and never in front of anyone else;
//! - each student has a time budget: slot time spent is debt that drains at
//!   [`GateLimits::refill_per_sec`]; while the debt is over
//!   [`GateLimits::budget`], their jobs are refused with 429 and `Retry-After`;
//! - no line grows without end: beyond its bounds the caller gets 429.
//!
//! Debt drains on the server's [`Clock`], so tests move time instead of
//! sleeping; the time a job took is measured, because it is a cost.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

use crate::clock::{Clock, SystemClock};
use crate::error::ApiError;

/// The gate's bounds.
#[derive(Clone, Copy, Debug)]
pub struct GateLimits {
    /// Jobs running at once across the server.
    pub slots: usize,
    /// Jobs one student may have in line, their running one included.
    pub line: usize,
    /// Students who may wait for a slot at once (one job each).
    pub waiting: usize,
    /// Slot time a student may owe before being refused.
    pub budget: Duration,
    /// How much debt drains per second of the server's clock.
    pub refill_per_sec: Duration,
}

impl Default for GateLimits {
    /// Four slots; a line long enough for a cache stampede (200 reads);
    /// 20 s of slot time owed at most, repaid at a quarter of a slot.
    fn default() -> Self {
        Self {
            slots: 4,
            line: 256,
            waiting: 1024,
            budget: Duration::from_secs(20),
            refill_per_sec: Duration::from_millis(250),
        }
    }
}

/// What a gate holds now, for the server's metrics.
#[derive(Clone, Copy, Debug, Default)]
pub struct GateLoad {
    /// Jobs running or waiting, all students together.
    pub jobs: usize,
    /// Students whose job waits for a slot.
    pub waiting: usize,
}

/// The gate. Cheap to share behind an `Arc`.
pub struct FairGate {
    limits: GateLimits,
    slots: Arc<Semaphore>,
    clock: Arc<dyn Clock>,
    what: &'static str,
    students: Arc<Mutex<Students>>,
}

#[derive(Default)]
struct Students {
    lines: HashMap<String, Line>,
    /// Students whose job waits for a slot right now.
    waiting: usize,
}

/// One student's place at the gate.
struct Line {
    /// Their jobs running or waiting.
    jobs: usize,
    /// Held by their running job: the rest wait here, not in the shared line.
    turn: Arc<tokio::sync::Mutex<()>>,
    /// Slot time owed, in milliseconds, as of `settled_ms` on the clock.
    debt_ms: u64,
    settled_ms: i64,
}

impl Line {
    /// The debt left after draining until `now_ms`.
    fn settle(&mut self, now_ms: i64, refill_per_sec: Duration) {
        let elapsed_ms = (now_ms - self.settled_ms).max(0) as u128;
        let drained = elapsed_ms * refill_per_sec.as_millis() / 1000;
        self.debt_ms = self.debt_ms.saturating_sub(drained as u64);
        self.settled_ms = now_ms.max(self.settled_ms);
    }
}

/// A job's slot: held while the job runs; its time is charged when dropped.
pub struct Pass {
    students: Arc<Mutex<Students>>,
    student: String,
    started: Instant,
    clock: Arc<dyn Clock>,
    refill_per_sec: Duration,
    _slot: OwnedSemaphorePermit,
    _turn: OwnedMutexGuard<()>,
}

impl Default for FairGate {
    fn default() -> Self {
        Self::new(GateLimits::default(), Arc::new(SystemClock), "SQL work")
    }
}

impl FairGate {
    /// A gate with these limits; refusals speak of `what` ("SQL work").
    pub fn new(limits: GateLimits, clock: Arc<dyn Clock>, what: &'static str) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(limits.slots.max(1))),
            limits,
            clock,
            what,
            students: Arc::default(),
        }
    }

    /// Waits for `student`'s turn and a free slot, or says why not.
    pub async fn enter(&self, student: &str) -> Result<Pass, ApiError> {
        let turn = self.join_line(student)?;
        // From here on, leaving (an error, or a dropped request) gives the place back.
        let mut place = LeavesLine {
            students: self.students.clone(),
            student: student.to_string(),
            waiting: false,
            in_line: true,
        };
        let turn = turn.lock_owned().await;
        self.check_budget(student)?;
        self.start_waiting(&mut place)?;
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("the gate's semaphore is never closed");
        place.hand_over_to_pass();
        Ok(Pass {
            students: self.students.clone(),
            student: student.to_string(),
            started: Instant::now(),
            clock: self.clock.clone(),
            refill_per_sec: self.limits.refill_per_sec,
            _slot: slot,
            _turn: turn,
        })
    }

    /// Takes a place in the student's own line, if it has room.
    fn join_line(&self, student: &str) -> Result<Arc<tokio::sync::Mutex<()>>, ApiError> {
        let now_ms = self.clock.now_ms();
        let mut students = self.students.lock().unwrap_or_else(|e| e.into_inner());
        if students.lines.len() > SWEEP_ABOVE {
            students.sweep(now_ms, self.limits.refill_per_sec);
        }
        let line = students.line_of(student, now_ms);
        if line.jobs >= self.limits.line {
            return Err(self.busy(
                format!(
                    "You already have {} {} running or waiting; wait for them to finish.",
                    line.jobs, self.what
                ),
                1,
            ));
        }
        line.jobs += 1;
        Ok(line.turn.clone())
    }

    /// What the gate holds now.
    pub fn load(&self) -> GateLoad {
        let students = self.students.lock().unwrap_or_else(|e| e.into_inner());
        GateLoad {
            jobs: students.lines.values().map(|line| line.jobs).sum(),
            waiting: students.waiting,
        }
    }

    /// Refuses a student whose debt is over the budget, saying when it will
    /// not be. [`FairGate::enter`] checks this itself; callers that can
    /// answer a refusal better before they start (with a 429, say) ask first.
    pub fn check_budget(&self, student: &str) -> Result<(), ApiError> {
        let now_ms = self.clock.now_ms();
        let mut students = self.students.lock().unwrap_or_else(|e| e.into_inner());
        let Some(line) = students.lines.get_mut(student) else {
            return Ok(());
        };
        line.settle(now_ms, self.limits.refill_per_sec);
        let budget_ms = self.limits.budget.as_millis() as u64;
        if line.debt_ms <= budget_ms {
            return Ok(());
        }
        let over_ms = (line.debt_ms - budget_ms) as u128;
        let rate = self.limits.refill_per_sec.as_millis().max(1);
        let wait_secs = (over_ms * 1000).div_ceil(rate * 1000).max(1) as u64;
        Err(self.busy(
            format!(
                "Your {} has used {:.1} s of the server's time lately, over your share of {} s; wait {wait_secs} s.",
                self.what,
                line.debt_ms as f64 / 1000.0,
                self.limits.budget.as_secs()
            ),
            wait_secs,
        ))
    }

    fn start_waiting(&self, place: &mut LeavesLine) -> Result<(), ApiError> {
        let mut students = self.students.lock().unwrap_or_else(|e| e.into_inner());
        if students.waiting >= self.limits.waiting {
            return Err(self.busy(
                format!(
                    "The server has too much {} waiting; try again shortly.",
                    self.what
                ),
                1,
            ));
        }
        students.waiting += 1;
        place.waiting = true;
        Ok(())
    }

    fn busy(&self, message: String, retry_after_secs: u64) -> ApiError {
        ApiError::TooManyRequests {
            message,
            retry_after_secs,
        }
    }

    /// Slot time `student` owes now, after draining (for tests and the trace).
    pub fn debt(&self, student: &str) -> Duration {
        let now_ms = self.clock.now_ms();
        let mut students = self.students.lock().unwrap_or_else(|e| e.into_inner());
        students
            .lines
            .get_mut(student)
            .map_or(Duration::ZERO, |line| {
                line.settle(now_ms, self.limits.refill_per_sec);
                Duration::from_millis(line.debt_ms)
            })
    }

    /// Adds `spent` to `student`'s debt, as if a job of theirs had run that long.
    pub fn charge(&self, student: &str, spent: Duration) {
        charge(
            &self.students,
            &*self.clock,
            self.limits.refill_per_sec,
            student,
            spent,
            false,
        );
    }
}

/// A place in line that is given back if the job leaves before its slot.
struct LeavesLine {
    students: Arc<Mutex<Students>>,
    student: String,
    waiting: bool,
    in_line: bool,
}

impl LeavesLine {
    /// The job has its slot: it no longer waits, and its [`Pass`] leaves the line.
    fn hand_over_to_pass(&mut self) {
        let mut students = self.students.lock().unwrap_or_else(|e| e.into_inner());
        if self.waiting {
            students.waiting -= 1;
        }
        self.waiting = false;
        self.in_line = false;
    }
}

impl Drop for LeavesLine {
    fn drop(&mut self) {
        let mut students = self.students.lock().unwrap_or_else(|e| e.into_inner());
        if self.waiting {
            students.waiting -= 1;
        }
        if self.in_line {
            leave(&mut students, &self.student);
        }
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        charge(
            &self.students,
            &*self.clock,
            self.refill_per_sec,
            &self.student,
            self.started.elapsed(),
            true,
        );
    }
}

fn charge(
    students: &Mutex<Students>,
    clock: &dyn Clock,
    refill_per_sec: Duration,
    student: &str,
    spent: Duration,
    leaving: bool,
) {
    let now_ms = clock.now_ms();
    let mut students = students.lock().unwrap_or_else(|e| e.into_inner());
    let line = students.line_of(student, now_ms);
    line.settle(now_ms, refill_per_sec);
    line.debt_ms = line.debt_ms.saturating_add(spent.as_millis() as u64);
    if leaving {
        leave(&mut students, student);
    }
}

/// Lines kept before idle ones (no jobs, no debt left) are swept away.
const SWEEP_ABOVE: usize = 1024;

impl Students {
    /// `student`'s line, made empty if they have none.
    fn line_of(&mut self, student: &str, now_ms: i64) -> &mut Line {
        self.lines
            .entry(student.to_string())
            .or_insert_with(|| Line {
                jobs: 0,
                turn: Arc::default(),
                debt_ms: 0,
                settled_ms: now_ms,
            })
    }

    /// Forgets students with nothing running and nothing owed by `now_ms`.
    fn sweep(&mut self, now_ms: i64, refill_per_sec: Duration) {
        self.lines.retain(|_, line| {
            line.settle(now_ms, refill_per_sec);
            line.jobs > 0 || line.debt_ms > 0
        });
    }
}

/// One job fewer in `student`'s line; a line with no jobs and no debt is forgotten.
fn leave(students: &mut Students, student: &str) {
    if let Some(line) = students.lines.get_mut(student) {
        line.jobs -= 1;
        if line.jobs == 0 && line.debt_ms == 0 {
            students.lines.remove(student);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use futures_util::FutureExt;

    fn gate(limits: GateLimits) -> (FairGate, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(1_000_000));
        (FairGate::new(limits, clock.clone(), "SQL work"), clock)
    }

    fn limits() -> GateLimits {
        GateLimits {
            slots: 2,
            line: 3,
            waiting: 10,
            budget: Duration::from_secs(10),
            refill_per_sec: Duration::from_millis(500),
        }
    }

    #[tokio::test]
    async fn a_student_holds_one_slot_and_others_pass_them() {
        let (gate, _) = gate(limits());
        let first = gate.enter("ada").await.unwrap();
        // Ada's second job waits in her own line...
        let mut second = Box::pin(gate.enter("ada"));
        assert!((&mut second).now_or_never().is_none());
        // ...while Bob takes the other slot at once.
        let bob = gate.enter("bob").await.unwrap();
        drop(bob);
        drop(first);
        assert!(second.await.is_ok());
    }

    #[tokio::test]
    async fn a_students_line_is_bounded() {
        let (gate, _) = gate(limits());
        let _running = gate.enter("ada").await.unwrap();
        let mut waiting: Vec<_> = (0..2).map(|_| Box::pin(gate.enter("ada"))).collect();
        for job in &mut waiting {
            assert!(job.now_or_never().is_none());
        }
        let refused = gate.enter("ada").await.err().expect("the line is full");
        assert!(
            matches!(refused, ApiError::TooManyRequests { .. }),
            "{refused}"
        );
        drop(waiting);
        assert!(gate.enter("bob").await.is_ok());
    }

    #[tokio::test]
    async fn debt_over_the_budget_is_refused_until_it_drains() {
        let (gate, clock) = gate(limits());
        gate.charge("ada", Duration::from_secs(12));
        let Err(ApiError::TooManyRequests {
            retry_after_secs, ..
        }) = gate.enter("ada").await
        else {
            panic!("over budget");
        };
        assert_eq!(retry_after_secs, 4, "2 s over, repaid at 0.5 s per s");
        assert!(gate.enter("bob").await.is_ok(), "others are not affected");
        clock.advance(4);
        assert_eq!(gate.debt("ada"), Duration::from_secs(10));
        assert!(gate.enter("ada").await.is_ok());
    }

    #[tokio::test]
    async fn places_are_given_back_when_jobs_end_or_leave() {
        let (gate, _) = gate(limits());
        for _ in 0..10 {
            let pass = gate.enter("ada").await.unwrap();
            drop(pass);
            let waiting = Box::pin(gate.enter("ada"));
            drop(waiting);
        }
        let students = gate.students.lock().unwrap();
        assert_eq!(students.waiting, 0);
        assert!(students.lines.get("ada").is_none_or(|l| l.jobs == 0));
    }
}
