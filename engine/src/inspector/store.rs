//! Recent traces, per student, bounded three ways: a student keeps their
//! latest traces; the least recently active students are forgotten first
//! when too many are kept, or when all traces together pass a byte budget.
//! Each trace is itself bounded ([`super::limits`]).
//!
//! With several servers sharing a Redis ([`TraceStore::shared_in`]), each
//! trace is also kept there ([`super::shared`]), so a student whose next
//! request reaches another server (or whose server died) still finds it,
//! and their exercises are graded from it there. Reads ask Redis first and
//! fall back to this process's memory while Redis is away.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use model::TraceView;

use crate::students::StudentId;

use super::shared::SharedTraces;
use super::trace::{RecordedTrace, TraceId};

/// In-memory trace store. A std `Mutex`: nothing async happens while it is held.
pub struct TraceStore {
    per_student: usize,
    max_students: usize,
    max_bytes: usize,
    inner: Mutex<Inner>,
    shared: Option<SharedTraces>,
}

#[derive(Default)]
struct Inner {
    clock: u64,
    /// What all kept traces occupy ([`RecordedTrace::size`]).
    bytes: usize,
    students: HashMap<StudentId, StudentTraces>,
}

#[derive(Default)]
struct StudentTraces {
    last_active: u64,
    bytes: usize,
    traces: VecDeque<RecordedTrace>,
}

impl StudentTraces {
    fn pop_oldest(&mut self) -> usize {
        let freed = self.traces.pop_front().map_or(0, |t| t.size());
        self.bytes -= freed;
        freed
    }
}

impl TraceStore {
    /// Keeps `per_student` traces for each of at most `max_students`
    /// students, and at most about `max_bytes` in all.
    pub fn new(per_student: usize, max_students: usize, max_bytes: usize) -> Self {
        Self {
            per_student: per_student.max(1),
            max_students: max_students.max(1),
            max_bytes,
            inner: Mutex::default(),
            shared: None,
        }
    }

    /// Also keeps every trace in `shared` (several servers, one Redis).
    pub fn shared_in(mut self, shared: SharedTraces) -> Self {
        self.shared = Some(shared);
        self
    }

    /// Stores a finished trace as the student's newest, here and (when
    /// shared) in Redis before returning: the answer that names the trace
    /// goes out after it is kept where every server finds it.
    pub async fn keep(&self, student: &StudentId, trace: RecordedTrace) {
        let view = self.shared.as_ref().map(|_| trace.view());
        self.insert_here(student, trace);
        if let (Some(shared), Some(view)) = (&self.shared, view) {
            shared.push(student, &view, self.per_student).await;
        }
    }

    /// Stores a finished trace as the student's newest; the copy in Redis
    /// (when shared) is written in the background, for callers that cannot
    /// wait (a closing WebSocket, a load run's requests).
    pub fn insert(&self, student: &StudentId, trace: RecordedTrace) {
        if let Some(shared) = &self.shared {
            let (shared, student, view) = (shared.clone(), student.clone(), trace.view());
            let per_student = self.per_student;
            tokio::spawn(async move { shared.push(&student, &view, per_student).await });
        }
        self.insert_here(student, trace);
    }

    /// One of the student's traces, from whichever server recorded it.
    pub async fn find(&self, student: &StudentId, trace_id: TraceId) -> Option<TraceView> {
        if let Some(found) = self.get(student, trace_id) {
            return Some(found);
        }
        let shared = self.shared.as_ref()?;
        shared
            .find(student, &trace_id.to_string(), self.per_student)
            .await
            .ok()?
    }

    /// The student's latest traces from every server, newest first (this
    /// server's alone while Redis is away).
    pub async fn latest(&self, student: &StudentId, limit: usize) -> Vec<TraceView> {
        if let Some(shared) = &self.shared {
            if let Ok(traces) = shared.recent(student, limit).await {
                return traces;
            }
        }
        self.recent(student, limit)
    }

    /// Moves `from`'s traces to `into`, here and in Redis.
    pub async fn adopt_everywhere(&self, from: &StudentId, into: &StudentId) {
        self.adopt(from, into);
        if let Some(shared) = &self.shared {
            shared.adopt(from, into, self.per_student).await;
        }
    }

    fn insert_here(&self, student: &StudentId, trace: RecordedTrace) {
        let size = trace.size();
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.clock += 1;
        let now = inner.clock;
        // Forgetting others never forgets `student`, so this stays true.
        let is_new = !inner.students.contains_key(student);
        if is_new && inner.students.len() >= self.max_students {
            inner.forget_least_active(student);
        }
        while inner.bytes + size > self.max_bytes && inner.forget_least_active(student) {}
        // The id is cloned only for a new student: most inserts find theirs.
        if is_new {
            inner
                .students
                .insert(student.clone(), StudentTraces::default());
        }
        let entry = inner
            .students
            .get_mut(student)
            .expect("the student's traces were just made");
        entry.last_active = now;
        let mut freed = 0;
        if entry.traces.len() >= self.per_student {
            freed += entry.pop_oldest();
        }
        // A student alone over the budget gives up their own oldest traces.
        while entry.bytes + size > self.max_bytes && !entry.traces.is_empty() {
            freed += entry.pop_oldest();
        }
        entry.bytes += size;
        entry.traces.push_back(trace);
        inner.bytes = inner.bytes + size - freed;
    }

    /// What all kept traces occupy, roughly, in bytes.
    pub fn bytes(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).bytes
    }

    /// One of the student's traces; other students' traces are invisible.
    pub fn get(&self, student: &StudentId, trace_id: TraceId) -> Option<TraceView> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner
            .students
            .get(student)?
            .traces
            .iter()
            .rev()
            .find(|t| t.trace_id == trace_id)
            .map(RecordedTrace::view)
    }

    /// Moves `from`'s traces to `into` (a guest who signed in to an
    /// account), keeping the newest `per_student` in time order.
    pub fn adopt(&self, from: &StudentId, into: &StudentId) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let Some(moved) = inner.students.remove(from) else {
            return;
        };
        let entry = inner.students.entry(into.clone()).or_default();
        entry.last_active = entry.last_active.max(moved.last_active);
        entry.bytes += moved.bytes;
        entry.traces.extend(moved.traces);
        entry
            .traces
            .make_contiguous()
            .sort_by_key(|t| t.started_at_ms);
        let mut freed = 0;
        while entry.traces.len() > self.per_student {
            freed += entry.pop_oldest();
        }
        inner.bytes -= freed;
    }

    /// The student's latest traces, newest first.
    pub fn recent(&self, student: &StudentId, limit: usize) -> Vec<TraceView> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner
            .students
            .get(student)
            .map(|s| {
                s.traces
                    .iter()
                    .rev()
                    .take(limit)
                    .map(RecordedTrace::view)
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Inner {
    /// Forgets the least recently active student other than `keep`;
    /// `false` when there is nobody else to forget.
    fn forget_least_active(&mut self, keep: &StudentId) -> bool {
        let idle = self
            .students
            .iter()
            .filter(|(id, _)| *id != keep)
            .min_by_key(|(_, s)| s.last_active)
            .map(|(id, _)| id.clone());
        match idle.and_then(|id| self.students.remove(&id)) {
            Some(forgotten) => {
                self.bytes -= forgotten.bytes;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(id: TraceId) -> RecordedTrace {
        RecordedTrace::stub(id, 0, String::new())
    }

    #[test]
    fn a_student_sees_only_their_own_traces() {
        let store = TraceStore::new(10, 10, usize::MAX);
        let (ada, bob) = (StudentId::from_raw("ada"), StudentId::from_raw("bob"));
        let id = TraceId::random();
        store.insert(&ada, trace(id));
        assert!(store.get(&ada, id).is_some());
        assert!(store.get(&bob, id).is_none());
    }

    #[test]
    fn each_student_keeps_only_their_latest_traces() {
        let store = TraceStore::new(2, 10, usize::MAX);
        let ada = StudentId::from_raw("ada");
        let ids: Vec<_> = (0..3).map(|_| TraceId::random()).collect();
        for id in &ids {
            store.insert(&ada, trace(*id));
        }
        assert!(store.get(&ada, ids[0]).is_none());
        let recent: Vec<_> = store
            .recent(&ada, 10)
            .into_iter()
            .map(|t| t.trace_id)
            .collect();
        assert_eq!(recent, vec![ids[2].to_string(), ids[1].to_string()]);
    }

    #[test]
    fn the_least_recently_active_student_is_forgotten_first() {
        let store = TraceStore::new(5, 2, usize::MAX);
        let (ada, bob, cy) = (
            StudentId::from_raw("ada"),
            StudentId::from_raw("bob"),
            StudentId::from_raw("cy"),
        );
        let (a, b, c) = (TraceId::random(), TraceId::random(), TraceId::random());
        store.insert(&ada, trace(a));
        store.insert(&bob, trace(b));
        store.insert(&ada, trace(TraceId::random()));
        store.insert(&cy, trace(c));
        assert!(store.get(&bob, b).is_none(), "bob was idle longest");
        assert!(store.get(&ada, a).is_some());
        assert!(store.get(&cy, c).is_some());
    }

    #[test]
    fn a_guest_who_signs_in_brings_their_traces_in_time_order() {
        let store = TraceStore::new(3, 10, usize::MAX);
        let (guest, account) = (StudentId::from_raw("guest"), StudentId::from_raw("acct"));
        let at = |ms| RecordedTrace::stub(TraceId::random(), ms, String::new());
        store.insert(&account, at(10));
        store.insert(&account, at(30));
        store.insert(&guest, at(20));
        store.insert(&guest, at(40));
        store.adopt(&guest, &account);
        let times: Vec<_> = store
            .recent(&account, 10)
            .iter()
            .map(|t| t.started_at_ms)
            .collect();
        assert_eq!(times, vec![40, 30, 20], "newest first, oldest dropped");
        assert!(store.recent(&guest, 10).is_empty());
    }

    #[test]
    fn the_byte_budget_forgets_the_least_active_students_first() {
        let big = |id: TraceId| RecordedTrace::stub(id, 0, "b".repeat(10_000));
        let one = big(TraceId::random()).size();
        let store = TraceStore::new(100, 100, 3 * one);
        let (ada, bob, cy) = (
            StudentId::from_raw("ada"),
            StudentId::from_raw("bob"),
            StudentId::from_raw("cy"),
        );
        let a = TraceId::random();
        store.insert(&ada, big(a));
        store.insert(&bob, big(TraceId::random()));
        store.insert(&bob, big(TraceId::random()));
        assert_eq!(store.bytes(), 3 * one);
        store.insert(&cy, big(TraceId::random()));
        assert!(store.get(&ada, a).is_none(), "ada was idle longest");
        assert_eq!(store.recent(&bob, 10).len(), 2);
        assert!(store.bytes() <= 3 * one);
        for _ in 0..10 {
            store.insert(&cy, big(TraceId::random()));
        }
        assert!(store.bytes() <= 3 * one, "{} > {}", store.bytes(), 3 * one);
        assert_eq!(store.recent(&cy, 10).len(), 3, "alone, cy keeps what fits");
    }
}
