//! Recent traces, per student, bounded in both directions: a student keeps
//! their latest traces, and the least recently active students are forgotten
//! first when too many are kept.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use app::model::TraceView;

use crate::identity::StudentId;

use super::trace::TraceId;

/// In-memory trace store. A std `Mutex`: nothing async happens while it is held.
pub struct TraceStore {
    per_student: usize,
    max_students: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    clock: u64,
    students: HashMap<StudentId, StudentTraces>,
}

struct StudentTraces {
    last_active: u64,
    traces: VecDeque<TraceView>,
}

impl TraceStore {
    /// Keeps `per_student` traces for each of at most `max_students` students.
    pub fn new(per_student: usize, max_students: usize) -> Self {
        Self {
            per_student: per_student.max(1),
            max_students: max_students.max(1),
            inner: Mutex::default(),
        }
    }

    /// Stores a finished trace as the student's newest.
    pub fn insert(&self, student: &StudentId, trace: TraceView) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.clock += 1;
        let now = inner.clock;
        if !inner.students.contains_key(student) && inner.students.len() >= self.max_students {
            let idle = inner
                .students
                .iter()
                .min_by_key(|(_, s)| s.last_active)
                .map(|(id, _)| id.clone());
            if let Some(idle) = idle {
                inner.students.remove(&idle);
            }
        }
        let entry = inner
            .students
            .entry(student.clone())
            .or_insert_with(|| StudentTraces {
                last_active: now,
                traces: VecDeque::new(),
            });
        entry.last_active = now;
        if entry.traces.len() >= self.per_student {
            entry.traces.pop_front();
        }
        entry.traces.push_back(trace);
    }

    /// One of the student's traces; other students' traces are invisible.
    pub fn get(&self, student: &StudentId, trace_id: TraceId) -> Option<TraceView> {
        let wanted = trace_id.to_string();
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner
            .students
            .get(student)?
            .traces
            .iter()
            .rev()
            .find(|t| t.trace_id == wanted)
            .cloned()
    }

    /// Moves `from`'s traces to `into` (a guest who signed in to an
    /// account), keeping the newest `per_student` in time order.
    pub fn adopt(&self, from: &StudentId, into: &StudentId) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let Some(moved) = inner.students.remove(from) else {
            return;
        };
        let entry = inner
            .students
            .entry(into.clone())
            .or_insert_with(|| StudentTraces {
                last_active: moved.last_active,
                traces: VecDeque::new(),
            });
        entry.last_active = entry.last_active.max(moved.last_active);
        entry.traces.extend(moved.traces);
        entry
            .traces
            .make_contiguous()
            .sort_by_key(|t| t.started_at_ms);
        while entry.traces.len() > self.per_student {
            entry.traces.pop_front();
        }
    }

    /// The student's latest traces, newest first.
    pub fn recent(&self, student: &StudentId, limit: usize) -> Vec<TraceView> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner
            .students
            .get(student)
            .map(|s| s.traces.iter().rev().take(limit).cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(id: TraceId) -> TraceView {
        TraceView {
            trace_id: id.to_string(),
            ..TraceView::default()
        }
    }

    #[test]
    fn a_student_sees_only_their_own_traces() {
        let store = TraceStore::new(10, 10);
        let (ada, bob) = (StudentId::from_raw("ada"), StudentId::from_raw("bob"));
        let id = TraceId::random();
        store.insert(&ada, trace(id));
        assert!(store.get(&ada, id).is_some());
        assert!(store.get(&bob, id).is_none());
    }

    #[test]
    fn each_student_keeps_only_their_latest_traces() {
        let store = TraceStore::new(2, 10);
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
        let store = TraceStore::new(5, 2);
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
        let store = TraceStore::new(3, 10);
        let (guest, account) = (StudentId::from_raw("guest"), StudentId::from_raw("acct"));
        let at = |ms| TraceView {
            trace_id: TraceId::random().to_string(),
            started_at_ms: ms,
            ..TraceView::default()
        };
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
}
