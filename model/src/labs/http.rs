//! The HTTP lab's wire types: its settings. (What the echo answers is the
//! request itself, arbitrary JSON by design.)

use serde::{Deserialize, Serialize};

/// What a student may change in the HTTP lab.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Extra time the server waits before answering, to make latency visible (0 to 5000 ms).
    pub latency_ms: u32,
    /// Whether the echo is pretty-printed JSON.
    pub pretty: bool,
}
