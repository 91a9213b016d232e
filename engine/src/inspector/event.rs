//! The contract for typed lab events.

use serde::Serialize;

/// Something a lab wants the student to see in a trace.
///
/// The struct's serialised fields become the event's detail table, so name
/// them for a student reading them (`bucket_level_before`, not `b0`).
pub trait LabEvent: Serialize {
    /// Dotted kind, `<lab>.<what>`, e.g. `ratelimit.decision`.
    const KIND: &'static str;

    /// One sentence for the timeline, e.g. "allowed: 4 of 10 tokens left".
    fn summary(&self) -> String;
}
