//! The session records a server keeps in memory, in front of the sessions'
//! table. The server's session store fills and empties it (it says when);
//! the visitor layer reads it directly, so the usual request, which only
//! reads its session, neither locks the session nor copies its record.
//!
//! Records are held behind an `Arc`: a read takes a reference, and only
//! tower-sessions' own load, which must return a record it may change,
//! copies one.

use std::sync::Arc;

use tower_sessions::session::{Id, Record};

use crate::changes::{ForgetKey, Forgettable};
use crate::read_cache::ReadCache;

/// How many session records stay in memory; the least recently used go first.
const MAX_CACHED_SESSIONS: u64 = 100_000;

/// The records in memory, by session id, which other servers' writes drop
/// by id ([`crate::changes`]).
pub struct SessionRecords(ReadCache<Id, Arc<Record>>);

impl SessionRecords {
    /// An empty cache of the usual size.
    pub fn new() -> Self {
        Self(ReadCache::new(moka::sync::Cache::new(MAX_CACHED_SESSIONS)))
    }
}

impl Default for SessionRecords {
    fn default() -> Self {
        Self::new()
    }
}

impl std::ops::Deref for SessionRecords {
    type Target = ReadCache<Id, Arc<Record>>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Forgettable for SessionRecords {
    fn forget_everything(&self) {
        self.0.wrote_all();
    }
}

impl ForgetKey for SessionRecords {
    fn forget_key(&self, key: &str) {
        if let Ok(id) = key.parse::<Id>() {
            self.0.wrote(&id, None);
        }
    }
}
