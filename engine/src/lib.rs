//! The Backend Workbench's domain: everything the workbench knows and does,
//! with its HTTP routes, and no UI. The `server` crate composes it with the
//! pages (`app`) into the `workbench` binary.
//!
//! # Layout
//! - [`state`]: the [`Engine`], the one state the domain's handlers take.
//! - [`db`]: the platform database (SQLite by default), migrated at start.
//! - [`content`]: lessons loaded from the course folder and rendered once;
//!   `markup` is the text both lessons and exercises are written in (front
//!   matter, markdown, authoring errors); [`course_lint`], the mistakes
//!   only the whole course or grading reveals (`workbench check`).
//! - [`accounts`]: sign-up, sign-in, roles, passwords and the sign-in limiter.
//! - [`identity`]: who is asking: anonymous, a guest (an id made on their
//!   first lab request or by a class's link), or a signed-in account.
//! - [`classes`]: classes, their members and deadlines, and the join link.
//! - [`grading`]: exercises and the engine that grades answers to them;
//!   the check kinds that need no lab. Labs bring their own checks.
//! - [`gradebook`], [`progress`]: what students did, for instructors and for
//!   themselves.
//! - [`inspector`]: traces of lab requests, shown to the student who made them.
//! - [`labs`]: the live demo backends, one folder each, behind one
//!   contract (`labs::Lab`) and one registry (see `docs/ADDING_A_LAB.md`).
//! - [`routes`]: the HTTP routes that need the whole [`Engine`] (accounts,
//!   classes, exercises, the grading API, traces), and [`routes::router`].
//! - [`students`]: who work belongs to ([`students::StudentId`]).
//! - [`limiter`], [`fair_gate`], [`student_memory`]: what one client or
//!   student may make the server do, and keep.
//! - [`read_cache`]: in-memory copies of rows read on every request
//!   (sessions, accounts, lab settings), kept exact by their writers;
//!   [`marks`], a student's deadlines, lessons read and exercise results
//!   for their pages; [`changes`], how another process's writes empty them.
//! - [`metrics`]: the server's own metrics for its operators (`/metrics`).
//! - [`connection`]: which TCP connection a request came on, and its
//!   number on it, for the traces.
//! - [`clock`], [`error`], [`forms`], [`redis_link`]: shared plumbing.

pub mod accounts;
pub mod changes;
pub mod classes;
pub mod clock;
pub mod connection;
pub mod content;
pub mod course_lint;
pub mod cross_origin;
pub mod db;
pub mod error;
pub mod fair_gate;
pub mod forms;
pub mod forwarded;
pub mod gradebook;
pub mod grading;
pub mod identity;
pub mod inspector;
pub mod labs;
pub mod limiter;
pub mod marks;
pub(crate) mod markup;
pub mod metrics;
pub mod progress;
pub mod read_cache;
pub mod redis_link;
pub mod routes;
pub mod secrets;
pub(crate) mod seeded;
pub mod session_records;
pub mod state;
pub mod student_memory;
pub mod students;

pub use state::{Engine, EngineParts};
