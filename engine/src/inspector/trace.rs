//! Trace ids and the per-request recorder.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use model::{TraceEventView, TraceView};
use serde::Serialize;
use serde_json::{Map, Value};

use super::event::LabEvent;
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
    events: Mutex<Events>,
}

#[derive(Default)]
struct Events {
    kept: Vec<TraceEventView>,
    /// What the kept events cost ([`limits::event_size`]).
    bytes: usize,
    dropped: usize,
}

impl Inspector {
    /// A recorder for a new trace, starting now.
    pub fn new(trace_id: TraceId) -> Self {
        Self(Arc::new(Recorder {
            trace_id,
            started: Instant::now(),
            events: Mutex::new(Events::default()),
        }))
    }

    /// The id of the trace being recorded.
    pub fn trace_id(&self) -> TraceId {
        self.0.trace_id
    }

    /// Records an instant lab event.
    pub fn record<E: LabEvent>(&self, event: &E) {
        let fields = match serde_json::to_value(event) {
            Ok(Value::Object(fields)) => as_text(fields),
            Ok(other) => vec![("value".to_string(), text_of(other))],
            Err(e) => vec![("error".to_string(), e.to_string())],
        };
        self.push(TraceEventView {
            kind: E::KIND.to_string(),
            summary: event.summary(),
            at_us: self.elapsed_us(),
            duration_us: None,
            fields,
        });
    }

    /// Starts a timed step; it is recorded with its duration when dropped.
    pub fn step(&self, kind: &'static str, summary: impl Into<String>) -> Step {
        Step {
            inspector: self.clone(),
            kind,
            summary: summary.into(),
            fields: Vec::new(),
            started: Instant::now(),
            at_us: self.elapsed_us(),
        }
    }

    fn elapsed_us(&self) -> u64 {
        self.0.started.elapsed().as_micros() as u64
    }

    fn push(&self, event: TraceEventView) {
        let event = limits::bounded_event(event);
        let size = limits::event_size(&event);
        let mut events = self.0.events.lock().unwrap_or_else(|e| e.into_inner());
        if events.kept.len() < MAX_EVENTS && events.bytes + size <= limits::MAX_EVENTS_BYTES {
            events.bytes += size;
            events.kept.push(event);
        } else {
            events.dropped += 1;
        }
    }

    /// Closes the trace: events in start order, plus a note if any were dropped.
    pub(crate) fn finish(
        &self,
        method: String,
        path: String,
        status: u16,
        started_at_ms: u64,
    ) -> TraceView {
        let duration_us = self.elapsed_us();
        let mut events =
            std::mem::take(&mut *self.0.events.lock().unwrap_or_else(|e| e.into_inner()));
        events.kept.sort_by_key(|e| e.at_us);
        if events.dropped > 0 {
            events.kept.push(TraceEventView {
                kind: "inspector.truncated".into(),
                summary: format!(
                    "{} more events were not kept (a trace keeps {MAX_EVENTS} events and {} KiB of them)",
                    events.dropped,
                    limits::MAX_EVENTS_BYTES / 1024
                ),
                at_us: duration_us,
                duration_us: None,
                fields: Vec::new(),
            });
        }
        TraceView {
            trace_id: self.0.trace_id.to_string(),
            method: limits::cut_owned(method, 32),
            path: limits::cut_owned(path, limits::MAX_PATH_BYTES),
            status,
            started_at_ms,
            duration_us,
            events: events.kept,
            ..TraceView::default()
        }
    }
}

/// Field values as the timeline shows them: strings as they are, the rest as JSON.
fn text_of(value: Value) -> String {
    match value {
        Value::String(text) => text,
        other => other.to_string(),
    }
}

fn as_text(fields: Map<String, Value>) -> Vec<(String, String)> {
    fields
        .into_iter()
        .map(|(name, value)| (name, text_of(value)))
        .collect()
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
    summary: String,
    fields: Vec<(String, String)>,
    started: Instant,
    at_us: u64,
}

impl Step {
    /// Adds a detail field.
    pub fn field(&mut self, name: &str, value: impl Serialize) {
        if let Ok(value) = serde_json::to_value(value) {
            match self.fields.iter_mut().find(|(kept, _)| kept == name) {
                Some((_, kept)) => *kept = text_of(value),
                None => self.fields.push((name.to_string(), text_of(value))),
            }
        }
    }

    /// Replaces the summary, e.g. once the outcome is known.
    pub fn set_summary(&mut self, summary: impl Into<String>) {
        self.summary = summary.into();
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        self.inspector.push(TraceEventView {
            kind: self.kind.to_string(),
            summary: std::mem::take(&mut self.summary),
            at_us: self.at_us,
            duration_us: Some(self.started.elapsed().as_micros() as u64),
            fields: std::mem::take(&mut self.fields),
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
        let trace = inspector.finish("GET".into(), "/x".into(), 200, 0);
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
        let trace = inspector.finish("GET".into(), "/p".repeat(10_000), 200, 0);
        assert!(
            limits::approximate_size(&trace) <= limits::MAX_TRACE_BYTES,
            "{}",
            limits::approximate_size(&trace)
        );
        assert!(trace.events.len() < 100);
        assert_eq!(trace.events.last().unwrap().kind, "inspector.truncated");
    }

    #[test]
    fn a_runaway_trace_keeps_a_bounded_number_of_events() {
        let inspector = Inspector::new(TraceId::random());
        for _ in 0..MAX_EVENTS + 10 {
            inspector.record(&Decision { allowed: false });
        }
        let trace = inspector.finish("GET".into(), "/x".into(), 200, 0);
        assert_eq!(trace.events.len(), MAX_EVENTS + 1);
        assert!(trace
            .events
            .last()
            .unwrap()
            .summary
            .starts_with("10 more events"));
    }
}
