//! The two cache backends behind one trait: in-process (`moka`) and Redis.
//!
//! An entry remembers when it was stored, by the server's [`Clock`], and
//! for how long; a read past that is a miss whatever the backend says. So
//! TTLs follow the clock tests move, while each backend's own expiry
//! (moka's time-to-live, Redis's `PX`) still frees the memory.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use moka::sync::Cache;
use redis::aio::ConnectionManager;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::redis_link::RedisLink;
use crate::student_memory::StudentMemory;

/// A cached response body with its timing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// The cached JSON body.
    pub body: String,
    /// When it was stored, in the clock's seconds.
    pub stored_at: i64,
    /// How long it may be served, in seconds.
    pub ttl_secs: u32,
}

impl Entry {
    /// Seconds it has left at `now` (0 or less: expired).
    pub(crate) fn remaining(&self, now: i64) -> i64 {
        self.stored_at + i64::from(self.ttl_secs) - now
    }
}

/// The backend could not be reached; the lab falls back to the origin.
pub(crate) use crate::redis_link::RedisDown as CacheDown;

/// A cache backend, namespaced per student by the caller's keys.
pub(crate) trait CacheStore: Send + Sync {
    /// `redis` or `in-process`.
    fn name(&self) -> &'static str;
    /// The entry under `key`, if any (expired or not: the caller checks).
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Entry>, CacheDown>>;
    /// Stores `entry` under `key`.
    fn put<'a>(&'a self, key: &'a str, entry: Entry) -> BoxFuture<'a, Result<(), CacheDown>>;
    /// Removes `key`; whether it was there.
    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, CacheDown>>;
}

/// In-process: one bounded `moka` cache per student, so one student's
/// capacity setting never evicts another's entries; all of them together
/// within a memory budget, the least recently active student's cache
/// dropped first ([`StudentMemory`]).
pub(crate) struct InProcess {
    caches: Arc<Mutex<StudentMemory<Sized>>>,
}

/// A student's cache and the capacity it was built with.
type Sized = (u64, Cache<String, Entry>);

/// What one cached entry costs, roughly: a product's JSON (a page of 20 is
/// a few KiB), its key and moka's bookkeeping.
const ENTRY_COST: usize = 1024;

/// What an empty cache costs: moka's own structures.
const CACHE_COST: usize = 4 * 1024;

/// One student's view of the in-process backend, at their capacity.
pub(crate) struct InProcessFor {
    cache: Cache<String, Entry>,
    student: String,
    caches: Arc<Mutex<StudentMemory<Sized>>>,
}

impl InProcess {
    /// No caches yet; at most about `budget` bytes of entries in all.
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            caches: Arc::new(Mutex::new(StudentMemory::new(budget))),
        }
    }

    /// `student`'s cache, holding at most `capacity` entries (a new,
    /// empty cache when the capacity changed).
    pub(crate) fn for_student(&self, student: &str, capacity: u64) -> InProcessFor {
        let mut caches = self.caches.lock().expect("never poisoned");
        let entry = caches.entry(student, || (capacity, new_cache(capacity)));
        if entry.0 != capacity {
            *entry = (capacity, new_cache(capacity));
        }
        let cache = entry.1.clone();
        let cost = CACHE_COST + cache.entry_count() as usize * ENTRY_COST;
        caches.set_cost(student, cost);
        InProcessFor {
            cache,
            student: student.to_string(),
            caches: self.caches.clone(),
        }
    }

    /// Drops `student`'s cache.
    pub(crate) fn forget(&self, student: &str) {
        self.caches.lock().expect("never poisoned").remove(student);
    }

    /// What every student's cache costs together, roughly, in bytes.
    #[cfg(test)]
    fn used(&self) -> usize {
        self.caches.lock().expect("never poisoned").used()
    }
}

fn new_cache(capacity: u64) -> Cache<String, Entry> {
    Cache::builder()
        .max_capacity(capacity)
        .time_to_live(Duration::from_secs(3600))
        .build()
}

impl CacheStore for InProcessFor {
    fn name(&self) -> &'static str {
        "in-process"
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Entry>, CacheDown>> {
        std::future::ready(Ok(self.cache.get(key))).boxed()
    }

    fn put<'a>(&'a self, key: &'a str, entry: Entry) -> BoxFuture<'a, Result<(), CacheDown>> {
        self.cache.insert(key.to_string(), entry);
        // moka applies evictions lazily; settle them so capacity is exact for the student.
        self.cache.run_pending_tasks();
        let cost = CACHE_COST + self.cache.entry_count() as usize * ENTRY_COST;
        self.caches
            .lock()
            .expect("never poisoned")
            .set_cost(&self.student, cost);
        std::future::ready(Ok(())).boxed()
    }

    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, CacheDown>> {
        std::future::ready(Ok(self.cache.remove(key).is_some())).boxed()
    }
}

/// Redis, through the server's shared link to it.
pub(crate) struct RedisStore {
    link: RedisLink,
    clock: Arc<dyn Clock>,
}

impl RedisStore {
    /// A store on `link`; nothing connects until first use.
    pub(crate) fn new(link: RedisLink, clock: Arc<dyn Clock>) -> Self {
        Self { link, clock }
    }

    async fn command<T>(
        &self,
        run: impl FnOnce(ConnectionManager) -> BoxFuture<'static, redis::RedisResult<T>>,
    ) -> Result<T, CacheDown> {
        self.link.command(run).await
    }
}

impl CacheStore for RedisStore {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Entry>, CacheDown>> {
        let key = key.to_string();
        async move {
            let raw: Option<String> = self
                .command(move |mut c| async move { c.get(key).await }.boxed())
                .await?;
            Ok(raw.and_then(|r| serde_json::from_str(&r).ok()))
        }
        .boxed()
    }

    fn put<'a>(&'a self, key: &'a str, entry: Entry) -> BoxFuture<'a, Result<(), CacheDown>> {
        let key = key.to_string();
        // Redis expires it too, at the same moment by the real clock.
        let ttl_ms = (entry.remaining(self.clock.now()).max(1) as u64) * 1000;
        let value = serde_json::to_string(&entry).unwrap_or_default();
        async move {
            self.command(move |mut c| {
                async move { c.pset_ex::<_, _, ()>(key, value, ttl_ms).await }.boxed()
            })
            .await
        }
        .boxed()
    }

    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, CacheDown>> {
        let key = key.to_string();
        async move {
            let removed: u64 = self
                .command(move |mut c| async move { c.del(key).await }.boxed())
                .await?;
            Ok(removed > 0)
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(body: &str) -> Entry {
        Entry {
            body: body.into(),
            stored_at: 100,
            ttl_secs: 30,
        }
    }

    #[tokio::test]
    async fn each_student_has_their_own_bounded_in_process_cache() {
        let store = InProcess::new(usize::MAX);
        let ada = store.for_student("ada", 2);
        for key in ["a", "b", "c", "d"] {
            ada.put(key, entry(key)).await.unwrap();
        }
        let kept = [
            ada.get("a").await,
            ada.get("b").await,
            ada.get("c").await,
            ada.get("d").await,
        ]
        .into_iter()
        .filter(|e| matches!(e, Ok(Some(_))))
        .count();
        assert!(kept <= 2, "capacity 2 keeps at most 2 entries, kept {kept}");
        let bob = store.for_student("bob", 2);
        assert_eq!(
            bob.get("d").await.unwrap(),
            None,
            "bob does not see ada's entries"
        );
        assert!(ada.remove("d").await.is_ok());
    }

    #[tokio::test]
    async fn all_students_caches_stay_within_the_memory_budget() {
        let store = InProcess::new(2 * CACHE_COST + 4 * ENTRY_COST);
        let ada = store.for_student("ada", 100);
        ada.put("a1", entry("a1")).await.unwrap();
        ada.put("a2", entry("a2")).await.unwrap();
        let bob = store.for_student("bob", 100);
        bob.put("b1", entry("b1")).await.unwrap();
        bob.put("b2", entry("b2")).await.unwrap();
        assert_eq!(store.used(), 2 * CACHE_COST + 4 * ENTRY_COST);
        // Bob stays active; Ada, idle longest, loses her cache.
        bob.put("b3", entry("b3")).await.unwrap();
        assert_eq!(store.used(), CACHE_COST + 3 * ENTRY_COST);
        let ada = store.for_student("ada", 100);
        assert_eq!(ada.get("a1").await.unwrap(), None);
        assert!(bob.get("b3").await.unwrap().is_some());
    }

    #[test]
    fn an_entry_expires_by_the_clock() {
        let e = entry("x");
        assert_eq!(e.remaining(100), 30);
        assert_eq!(e.remaining(130), 0);
    }
}
