//! The labs' wire types, one module per lab: the bodies of every request a
//! widget sends and every answer it reads, and each lab's settings. The
//! engine's handlers serialise these very types; the widgets deserialise
//! them. What a lab does with them (validation, algorithms) stays in the
//! engine.

pub mod api;
pub mod auth;
pub mod cache;
pub mod gateway;
pub mod http;
pub mod observe;
pub mod queue;
pub mod ratelimit;
pub mod realtime;
pub mod sql;
pub mod testing;

use serde::{Deserialize, Serialize};

/// A lab's settings as `GET`, `PUT` and `DELETE /labs/<lab>/settings`
/// answer them: the student's own, and the lab's defaults beside them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettingsDocument<S> {
    /// The lab's name, e.g. `cache`.
    pub lab: String,
    /// The student's settings (the defaults when they never changed them).
    pub settings: S,
    /// The lab's defaults.
    pub defaults: S,
}
