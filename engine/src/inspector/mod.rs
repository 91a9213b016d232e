//! The inspector: what the server did with each lab request.
//!
//! Every request under `/labs/` gets a trace id (sent back in the W3C Trace
//! Context `traceresponse` header). While the request runs, middleware and
//! lab handlers record timed steps and typed events into an [`Inspector`];
//! when it ends, the trace goes into the student's bounded [`TraceStore`],
//! and the browser fetches it from `GET /api/traces/{id}`.
//!
//! A lab adds its own events by implementing [`LabEvent`] on a serialisable
//! struct; nothing here changes when a lab is added.

mod event;
mod fields;
mod layer;
pub mod limits;
mod shared;
mod store;
mod trace;

pub use event::LabEvent;
pub use layer::{
    assign_trace_id, record_lab_trace, Recorder, RequestTraceId, BODY_LIMIT, TRACE_RESPONSE_HEADER,
};
pub use shared::SharedTraces;
pub use store::TraceStore;
pub use trace::{Inspector, RecordedTrace, Step, TraceId};
