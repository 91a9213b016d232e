//! Trace ids and the per-request recorder.

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use model::{TraceEventView, TraceView};
use serde::Serialize;

use super::event::LabEvent;
use super::fields::Fields;
use super::limits;

/// A trace may hold this many events; later ones are counted, not kept.
const MAX_EVENTS: usize = 256;

/// A W3C Trace Context trace id: 16 random bytes, shown as 32 hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TraceId(u128);

impl TraceId {
    /// A fresh random id.
    pub fn random() -> Self {
        loop {
            let id = rand::random::<u128>();
            if id != 0 {
                return Self(id);
            }
        }
    }

    /// Parses 32 lowercase hex digits; the all-zero id is invalid, as the spec says.
    pub fn parse(text: &str) -> Option<Self> {
        let valid = text.len() == 32
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid
            .then(|| u128::from_str_radix(text, 16).ok())
            .flatten()
            .filter(|id| *id != 0)
            .map(Self)
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// Records the steps and events of one request. Cheap to clone; handlers take
/// it as an extractor (outside `/labs/` it records into nothing).
#[derive(Clone)]
pub struct Inspector(Arc<Recorder>);

struct Recorder {
    trace_id: TraceId,
    started: Instant,
    /// Numbers events in the order they start, for those that start in
    /// the same microsecond.
    next_seq: AtomicU32,
    events: Mutex<Events>,
}

#[derive(Default)]
struct Events {
    kept: Vec<RecordedEvent>,
    /// What the kept events cost ([`RecordedEvent::size`]).
    bytes: usize,
    dropped: usize,
}

/// One step or event as recorded: its fields stay raw text until the trace
/// is read, which most traces never are.
#[derive(Clone, Debug)]
pub(crate) struct RecordedEvent {
    kind: &'static str,
    summary: Cow<'static, str>,
    at_us: u64,
    /// Start order ([`Recorder::next_seq`]).
    seq: u32,
    duration_us: Option<u64>,
    fields: Fields,
    /// A typed event's fields are shown sorted by name; a step's in the
    /// order they were added.
    sorted: bool,
}

impl RecordedEvent {
    /// What the event costs the trace's events budget.
    pub(crate) fn size(&self) -> usize {
        limits::PER_ITEM_OVERHEAD
            + self.kind.len()
            + self.summary.len()
            + self.fields.text_len()
            + self.fields.len() * 8
    }

    fn view(&self) -> TraceEventView {
        let mut fields: Vec<(String, String)> = self
            .fields
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        if self.sorted {
            fields.sort_by(|a, b| a.0.cmp(&b.0));
        }
        TraceEventView {
            kind: self.kind.to_string(),
            summary: self.summary.to_string(),
            at_us: self.at_us,
            duration_us: self.duration_us,
            fields,
        }
    }
}

/// A finished trace as the store keeps it, turned into a [`TraceView`] only
/// when a student or a grader reads it.
#[derive(Clone, Debug)]
pub struct RecordedTrace {
    pub(crate) trace_id: TraceId,
    pub(crate) started_at_ms: u64,
    method: String,
    path: String,
    status: u16,
    duration_us: u64,
    /// `name: value` lines ([`limits::kept_headers`]).
    pub(crate) request_headers: String,
    pub(crate) request_body: String,
    events: Vec<RecordedEvent>,
}

impl RecordedTrace {
    /// The trace as the API and the graders show it.
    pub fn view(&self) -> TraceView {
        TraceView {
            trace_id: self.trace_id.to_string(),
            method: self.method.clone(),
            path: self.path.clone(),
            status: self.status,
            started_at_ms: self.started_at_ms,
            duration_us: self.duration_us,
            request_headers: limits::header_pairs(&self.request_headers),
            request_body: self.request_body.clone(),
            events: self.events.iter().map(RecordedEvent::view).collect(),
        }
    }

    /// Roughly what the trace occupies in memory.
    pub fn size(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.method.len()
            + self.path.len()
            + self.request_headers.len()
            + self.request_body.len()
            + self.events.iter().map(RecordedEvent::size).sum::<usize>()
    }

    /// An empty trace, for tests of what keeps traces.
    #[cfg(test)]
    pub(crate) fn stub(trace_id: TraceId, started_at_ms: u64, request_body: String) -> Self {
        let mut trace = Inspector::new(trace_id).finish("GET", "/".into(), 200, started_at_ms);
        trace.request_body = request_body;
        trace
    }
}

impl Inspector {
    /// A recorder for a new trace, starting now.
    pub fn new(trace_id: TraceId) -> Self {
        Self(Arc::new(Recorder {
            trace_id,
            started: Instant::now(),
            next_seq: AtomicU32::new(0),
            events: Mutex::new(Events::default()),
        }))
    }

    /// The id of the trace being recorded.
    pub fn trace_id(&self) -> TraceId {
        self.0.trace_id
    }

    /// Records an instant lab event.
    pub fn record<E: LabEvent>(&self, event: &E) {
        self.push(RecordedEvent {
            kind: E::KIND,
            summary: Cow::Owned(event.summary()),
            at_us: self.elapsed_us(),
            seq: self.next_seq(),
            duration_us: None,
            fields: Fields::of(event),
            sorted: true,
        });
    }

    /// Starts a timed step; it is recorded with its duration when dropped.
    pub fn step(&self, kind: &'static str, summary: impl Into<Cow<'static, str>>) -> Step {
        Step {
            inspector: self.clone(),
            kind,
            summary: summary.into(),
            fields: Fields::default(),
            started: Instant::now(),
            at_us: self.elapsed_us(),
            seq: self.next_seq(),
        }
    }

    fn next_seq(&self) -> u32 {
        self.0.next_seq.fetch_add(1, Ordering::Relaxed)
    }

    fn elapsed_us(&self) -> u64 {
        self.0.started.elapsed().as_micros() as u64
    }

    fn push(&self, mut event: RecordedEvent) {
        if event.summary.len() > limits::MAX_FIELD_BYTES {
            event.summary = Cow::Owned(limits::cut(&event.summary, limits::MAX_FIELD_BYTES));
        }
        let size = event.size();
        let mut events = self.0.events.lock().unwrap_or_else(|e| e.into_inner());
        if events.kept.len() < MAX_EVENTS && events.bytes + size <= limits::MAX_EVENTS_BYTES {
            events.bytes += size;
            events.kept.push(event);
        } else {
            events.dropped += 1;
        }
    }

    /// Closes the trace: events in start order, plus a note if any were dropped.
    pub fn finish(
        &self,
        method: &str,
        path: String,
        status: u16,
        started_at_ms: u64,
    ) -> RecordedTrace {
        let duration_us = self.elapsed_us();
        let mut events =
            std::mem::take(&mut *self.0.events.lock().unwrap_or_else(|e| e.into_inner()));
        events.kept.sort_by_key(|e| (e.at_us, e.seq));
        if events.dropped > 0 {
            events.kept.push(RecordedEvent {
                kind: "inspector.truncated",
                summary: Cow::Owned(format!(
                    "{} more events were not kept (a trace keeps {MAX_EVENTS} events and {} KiB of them)",
                    events.dropped,
                    limits::MAX_EVENTS_BYTES / 1024
                )),
                at_us: duration_us,
                seq: u32::MAX,
                duration_us: None,
                fields: Fields::default(),
                sorted: false,
            });
        }
        RecordedTrace {
            trace_id: self.0.trace_id,
            started_at_ms,
            method: limits::prefix(method, 32).to_string(),
            path: limits::cut_owned(path, limits::MAX_PATH_BYTES),
            status,
            duration_us,
            request_headers: String::new(),
            request_body: String::new(),
            events: events.kept,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Inspector {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Inspector>()
            .cloned()
            .unwrap_or_else(|| Inspector::new(TraceId::random())))
    }
}

/// A timed step in progress. Add fields, then let it drop when the work is done.
#[must_use = "a step is recorded when it is dropped; bind it to a variable for the work it times"]
pub struct Step {
    inspector: Inspector,
    kind: &'static str,
    summary: Cow<'static, str>,
    fields: Fields,
    started: Instant,
    at_us: u64,
    seq: u32,
}

impl Step {
    /// Adds a detail field, or replaces the one of the same name.
    pub fn field(&mut self, name: &str, value: impl Serialize) {
        self.fields.set(name, &value);
    }

    /// Replaces the summary, e.g. once the outcome is known.
    pub fn set_summary(&mut self, summary: impl Into<Cow<'static, str>>) {
        self.summary = summary.into();
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        self.inspector.push(RecordedEvent {
            kind: self.kind,
            summary: std::mem::take(&mut self.summary),
            at_us: self.at_us,
            seq: self.seq,
            duration_us: Some(self.started.elapsed().as_micros() as u64),
            fields: std::mem::take(&mut self.fields),
            sorted: false,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Decision {
        allowed: bool,
    }

    impl LabEvent for Decision {
        const KIND: &'static str = "test.decision";
        fn summary(&self) -> String {
            format!("allowed: {}", self.allowed)
        }
    }

    #[test]
    fn trace_ids_round_trip_through_their_hex_form() {
        let id = TraceId::random();
        assert_eq!(TraceId::parse(&id.to_string()), Some(id));
    }

    #[test]
    fn malformed_and_all_zero_trace_ids_are_refused() {
        assert_eq!(TraceId::parse("0".repeat(32).as_str()), None);
        assert_eq!(TraceId::parse("xyz"), None);
        assert_eq!(TraceId::parse(&"A".repeat(32)), None);
    }

    #[test]
    fn events_and_steps_are_recorded_in_start_order_with_their_fields() {
        let inspector = Inspector::new(TraceId::random());
        let mut step = inspector.step("lab.handler", "handler");
        inspector.record(&Decision { allowed: true });
        step.field("rows", 3);
        drop(step);
        let trace = inspector.finish("GET", "/x".into(), 200, 0).view();
        let kinds: Vec<_> = trace.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, vec!["lab.handler", "test.decision"]);
        assert_eq!(
            trace.events[0].fields,
            vec![("rows".to_string(), "3".to_string())]
        );
        assert!(trace.events[0].duration_us.is_some());
        assert_eq!(trace.events[1].summary, "allowed: true");
        assert_eq!(
            trace.events[1].fields,
            vec![("allowed".to_string(), "true".to_string())]
        );
    }

    #[derive(Serialize)]
    struct Statement {
        sql: String,
    }

    impl LabEvent for Statement {
        const KIND: &'static str = "test.sql";
        fn summary(&self) -> String {
            "ran".into()
        }
    }

    #[test]
    fn a_trace_of_huge_events_stays_within_its_byte_budget() {
        let inspector = Inspector::new(TraceId::random());
        for _ in 0..100 {
            inspector.record(&Statement {
                sql: "x".repeat(64 * 1024),
            });
        }
        let recorded = inspector.finish("GET", "/p".repeat(10_000), 200, 0);
        assert!(
            recorded.size() <= limits::MAX_TRACE_BYTES,
            "{}",
            recorded.size()
        );
        let trace = recorded.view();
        assert!(trace.events.len() < 100);
        assert_eq!(trace.events.last().unwrap().kind, "inspector.truncated");
    }

    #[test]
    fn a_runaway_trace_keeps_a_bounded_number_of_events() {
        let inspector = Inspector::new(TraceId::random());
        for _ in 0..MAX_EVENTS + 10 {
            inspector.record(&Decision { allowed: false });
        }
        let trace = inspector.finish("GET", "/x".into(), 200, 0).view();
        assert_eq!(trace.events.len(), MAX_EVENTS + 1);
        assert!(trace
            .events
            .last()
            .unwrap()
            .summary
            .starts_with("10 more events"));
    }
}
