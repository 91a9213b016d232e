//! A bounded in-memory copy of rows that are read on every request and
//! written rarely (sessions, lab settings), kept exact by the
//! writers.
//!
//! The rule: a writer changes the database first, then calls
//! [`ReadCache::wrote`]. A reader that missed takes a [`Ticket`] before it
//! reads the database and hands it back with what it read; the value goes
//! in only if no write happened in between. Without the ticket, a sign-out
//! landing between a reader's query and its insert would leave the
//! signed-out row cached.
//!
//! Exact within one process only: several processes sharing a database
//! would each need to hear of the others' writes.

use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};

use moka::sync::Cache;

/// The cache; cheap to share behind an `Arc`, or clone-free in a state.
pub struct ReadCache<K, V> {
    entries: Cache<K, V>,
    writes: Mutex<u64>,
}

/// What a reader saw of the writes before it read the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket(u64);

impl<K, V> ReadCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache keeping at most `entries` (built with moka's builder, so the
    /// caller picks the bound: a count, or bytes with a weigher).
    pub fn new(entries: Cache<K, V>) -> Self {
        Self {
            entries,
            writes: Mutex::new(0),
        }
    }

    /// The cached value, if any.
    pub fn get(&self, key: &K) -> Option<V> {
        self.entries.get(key)
    }

    /// Take before reading the database after a miss.
    pub fn ticket(&self) -> Ticket {
        Ticket(*self.lock())
    }

    /// Keeps what a reader read, unless a write happened since its ticket.
    pub fn fill(&self, key: K, value: V, ticket: Ticket) {
        let writes = self.lock();
        if *writes == ticket.0 {
            self.entries.insert(key, value);
        }
    }

    /// Records a write to `key`, after the database has it: the cached value
    /// becomes `value` (what was written), or goes when it is `None`.
    pub fn wrote(&self, key: &K, value: Option<V>)
    where
        K: Clone,
    {
        let mut writes = self.lock();
        *writes += 1;
        match value {
            Some(value) => self.entries.insert(key.clone(), value),
            None => self.entries.invalidate(key),
        }
    }

    /// Records a write that may have touched any key.
    pub fn wrote_all(&self) {
        let mut writes = self.lock();
        *writes += 1;
        self.entries.invalidate_all();
    }

    /// Drops one entry without counting a write (it expired, say).
    pub fn forget(&self, key: &K) {
        self.entries.invalidate(key);
    }

    fn lock(&self) -> MutexGuard<'_, u64> {
        // A poisoned counter is still a counter.
        self.writes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> ReadCache<&'static str, i32> {
        ReadCache::new(Cache::new(10))
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_kept() {
        let cache = cache();
        let ticket = cache.ticket();
        cache.wrote(&"ada", None);
        cache.fill("ada", 1, ticket);
        assert_eq!(cache.get(&"ada"), None);
    }

    #[test]
    fn a_read_with_no_write_in_between_is_kept() {
        let cache = cache();
        let ticket = cache.ticket();
        cache.fill("ada", 1, ticket);
        assert_eq!(cache.get(&"ada"), Some(1));
    }

    #[test]
    fn writes_replace_or_drop_the_cached_value() {
        let cache = cache();
        cache.fill("ada", 1, cache.ticket());
        cache.wrote(&"ada", Some(2));
        assert_eq!(cache.get(&"ada"), Some(2));
        cache.wrote(&"ada", None);
        assert_eq!(cache.get(&"ada"), None);
        cache.fill("bob", 1, cache.ticket());
        cache.wrote_all();
        assert_eq!(cache.get(&"bob"), None);
    }
}
