//! Cache-aside and write-through over either backend, with optional
//! request coalescing, origin accounting and per-student statistics.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use model::labs::cache::{Outcome, Sample};
use serde::Serialize;
use tokio::sync::{Barrier, OnceCell};

use super::store::{CacheDown, CacheStore, Entry, InProcess, RedisStore};
use super::{Backend, CacheSettings, Strategy};
use crate::clock::Clock;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::LabContext;
use crate::student_memory::StudentMemory;

/// Requests kept per student for the statistics.
const RECENT: usize = 200;

/// A body and how it was served.
#[derive(Clone, Debug)]
pub struct Served {
    /// The JSON body.
    pub body: String,
    /// Hit, miss or bypass.
    pub outcome: Outcome,
    /// Seconds since the origin produced it.
    pub age_secs: i64,
    /// Seconds it may still be served from the cache.
    pub remaining_secs: i64,
    /// Why the cache was not used, when it failed.
    pub cache_error: Option<String>,
}

/// Why the origin (the student's shop) gave no answer; the request fails with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OriginError {
    /// The product asked for is not in the shop.
    NotFound(String),
    /// It is not the student's turn at their sandbox now.
    Busy {
        /// What to tell them.
        message: String,
        /// When to try again.
        retry_after_secs: u64,
    },
    /// The shop's own data failed the query (the student's SQL changed it).
    Shop(String),
    /// The server could not prepare the shop.
    Unavailable(String),
}

#[derive(Default)]
struct StudentState {
    origin_hits: u64,
    recent: VecDeque<Sample>,
}

/// The lab's state: backends, coalescing slots, statistics.
pub struct CacheService {
    in_process: InProcess,
    redis: Option<RedisStore>,
    clock: Arc<dyn Clock>,
    /// Statistics, within a memory budget ([`StudentMemory`]).
    students: Mutex<StudentMemory<StudentState>>,
    inflight: Mutex<HashMap<String, Flight>>,
}

/// What one student's statistics cost, roughly, per sample kept.
const SAMPLE_COST: usize = 48;

/// One origin request that concurrent misses of a key share.
type Flight = Arc<OnceCell<Result<String, OriginError>>>;

#[derive(Serialize)]
struct Lookup<'a> {
    key: &'a str,
    backend: &'static str,
    outcome: &'static str,
    remaining_ttl_secs: Option<i64>,
}

impl LabEvent for Lookup<'_> {
    const KIND: &'static str = "cache.lookup";
    fn summary(&self) -> String {
        match self.remaining_ttl_secs {
            Some(left) => format!(
                "{} {} in {} ({left} s left)",
                self.outcome, self.key, self.backend
            ),
            None => format!("{} {} in {}", self.outcome, self.key, self.backend),
        }
    }
}

#[derive(Serialize)]
struct Store<'a> {
    key: &'a str,
    backend: &'static str,
    ttl_secs: u32,
    why: &'static str,
}

impl LabEvent for Store<'_> {
    const KIND: &'static str = "cache.store";
    fn summary(&self) -> String {
        format!(
            "stored {} in {} for {} s ({})",
            self.key, self.backend, self.ttl_secs, self.why
        )
    }
}

#[derive(Serialize)]
struct Invalidate<'a> {
    key: &'a str,
    backend: &'static str,
    removed: bool,
}

impl LabEvent for Invalidate<'_> {
    const KIND: &'static str = "cache.invalidate";
    fn summary(&self) -> String {
        let what = if self.removed {
            "removed"
        } else {
            "was not cached"
        };
        format!("invalidated {} in {}: {what}", self.key, self.backend)
    }
}

#[derive(Serialize)]
struct CacheError<'a> {
    backend: &'static str,
    error: &'a str,
}

impl LabEvent for CacheError<'_> {
    const KIND: &'static str = "cache.error";
    fn summary(&self) -> String {
        format!(
            "{} unavailable, using the origin: {}",
            self.backend, self.error
        )
    }
}

#[derive(Serialize)]
struct Origin<'a> {
    key: &'a str,
    latency_ms: u32,
    coalesced: bool,
}

impl LabEvent for Origin<'_> {
    const KIND: &'static str = "cache.origin";
    fn summary(&self) -> String {
        if self.coalesced {
            format!("waited for another request's origin fetch of {}", self.key)
        } else {
            format!(
                "fetched {} from the origin (+{} ms of latency)",
                self.key, self.latency_ms
            )
        }
    }
}

/// What a read needs besides the key.
pub struct ReadContext<'a> {
    /// Whose cache.
    pub student: &'a str,
    /// Their settings.
    pub settings: &'a CacheSettings,
    /// Where events go.
    pub inspector: &'a Inspector,
    /// Holds every request of a stampede until all have looked.
    pub after_lookup: Option<Arc<Barrier>>,
}

impl CacheService {
    /// Backends for the server's configuration.
    pub fn new(context: &LabContext) -> Self {
        let redis = context.redis_link().and_then(|link| match link {
            Ok(link) => Some(RedisStore::new(link, context.clock.clone())),
            Err(e) => {
                tracing::error!(error = %e, "the cache lab's Redis backend is off");
                None
            }
        });
        Self {
            in_process: InProcess::new(context.memory.cache_entries),
            redis,
            clock: context.clock.clone(),
            students: Mutex::new(StudentMemory::new(context.memory.cache_statistics)),
            inflight: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a Redis backend is configured.
    pub fn has_redis(&self) -> bool {
        self.redis.is_some()
    }

    fn store<'a>(
        &'a self,
        student: &str,
        settings: &CacheSettings,
    ) -> Result<Box<dyn CacheStore + 'a>, CacheDown> {
        match settings.backend {
            Backend::InProcess => Ok(Box::new(
                self.in_process
                    .for_student(student, u64::from(settings.capacity)),
            )),
            Backend::Redis => match &self.redis {
                Some(redis) => Ok(Box::new(RedisRef(redis))),
                None => Err(CacheDown(
                    "this server has no Redis (start it with REDIS_URL)".into(),
                )),
            },
        }
    }

    fn full_key(student: &str, key: &str) -> String {
        format!("wb:cache:{student}:{key}")
    }

    /// Serves `key` under the student's strategy; `fetch` asks the origin.
    pub async fn read(
        &self,
        context: &ReadContext<'_>,
        key: &str,
        fetch: impl Fn() -> BoxFuture<'static, Result<String, OriginError>>,
    ) -> Result<Served, OriginError> {
        let now = self.clock.now();
        let ttl = context.settings.ttl_secs;
        if context.settings.strategy == Strategy::None {
            let body = self.fetch_origin(context, key, &fetch).await?;
            return Ok(Served {
                body,
                outcome: Outcome::Bypass,
                age_secs: 0,
                remaining_secs: 0,
                cache_error: None,
            });
        }
        let store = match self.store(context.student, context.settings) {
            Ok(store) => store,
            Err(down) => return self.bypass(context, key, &fetch, down).await,
        };
        let full = Self::full_key(context.student, key);
        let found = match store.get(&full).await {
            Ok(found) => found,
            Err(down) => return self.bypass(context, key, &fetch, down).await,
        };
        let outcome = match &found {
            Some(e) if e.remaining(now) > 0 => "hit",
            Some(_) => "expired",
            None => "miss",
        };
        context.inspector.record(&Lookup {
            key,
            backend: store.name(),
            outcome,
            remaining_ttl_secs: found.as_ref().map(|e| e.remaining(now)),
        });
        if let Some(entry) = found.filter(|e| e.remaining(now) > 0) {
            return Ok(Served {
                age_secs: now - entry.stored_at,
                remaining_secs: entry.remaining(now),
                body: entry.body,
                outcome: Outcome::Hit,
                cache_error: None,
            });
        }
        if let Some(barrier) = &context.after_lookup {
            barrier.wait().await;
        }
        let body = self.fetch_origin(context, key, &fetch).await?;
        let entry = Entry {
            body: body.clone(),
            stored_at: self.clock.now(),
            ttl_secs: ttl,
        };
        let cache_error = match store.put(&full, entry).await {
            Ok(()) => {
                context.inspector.record(&Store {
                    key,
                    backend: store.name(),
                    ttl_secs: ttl,
                    why: "filled after a miss",
                });
                None
            }
            Err(down) => {
                context.inspector.record(&CacheError {
                    backend: store.name(),
                    error: &down.0,
                });
                Some(down.0)
            }
        };
        Ok(Served {
            body,
            outcome: Outcome::Miss,
            age_secs: 0,
            remaining_secs: i64::from(ttl),
            cache_error,
        })
    }

    async fn bypass(
        &self,
        context: &ReadContext<'_>,
        key: &str,
        fetch: &(impl Fn() -> BoxFuture<'static, Result<String, OriginError>> + ?Sized),
        down: CacheDown,
    ) -> Result<Served, OriginError> {
        let backend = match context.settings.backend {
            Backend::InProcess => "in-process",
            Backend::Redis => "redis",
        };
        context.inspector.record(&CacheError {
            backend,
            error: &down.0,
        });
        let body = self.fetch_origin(context, key, fetch).await?;
        Ok(Served {
            body,
            outcome: Outcome::Bypass,
            age_secs: 0,
            remaining_secs: 0,
            cache_error: Some(down.0),
        })
    }

    /// Asks the origin, sharing one request among concurrent callers when
    /// coalescing is on; counts the origin's work.
    async fn fetch_origin(
        &self,
        context: &ReadContext<'_>,
        key: &str,
        fetch: &(impl Fn() -> BoxFuture<'static, Result<String, OriginError>> + ?Sized),
    ) -> Result<String, OriginError> {
        let latency = context.settings.origin_latency_ms;
        let fetch_once = || async {
            self.students
                .lock()
                .expect("never poisoned")
                .entry(context.student, StudentState::default)
                .origin_hits += 1;
            tokio::time::sleep(Duration::from_millis(u64::from(latency))).await;
            fetch().await
        };
        if !context.settings.coalescing {
            context.inspector.record(&Origin {
                key,
                latency_ms: latency,
                coalesced: false,
            });
            return fetch_once().await;
        }
        let slot_key = Self::full_key(context.student, key);
        let (slot, leader) = {
            let mut inflight = self.inflight.lock().expect("never poisoned");
            match inflight.get(&slot_key) {
                Some(slot) => (slot.clone(), false),
                None => {
                    let slot = Arc::new(OnceCell::new());
                    inflight.insert(slot_key.clone(), slot.clone());
                    (slot, true)
                }
            }
        };
        context.inspector.record(&Origin {
            key,
            latency_ms: latency,
            coalesced: !leader,
        });
        let result = slot.get_or_init(fetch_once).await.clone();
        if leader {
            self.inflight
                .lock()
                .expect("never poisoned")
                .remove(&slot_key);
        }
        result
    }

    /// After a write at the origin: update, invalidate, or leave the cache.
    pub async fn after_write(
        &self,
        context: &ReadContext<'_>,
        keys: &[String],
        fresh: Option<(&str, String)>,
    ) -> Option<String> {
        let settings = context.settings;
        let store = match self.store(context.student, settings) {
            Ok(store) => store,
            Err(_) if settings.strategy == Strategy::None => return None,
            Err(down) => return Some(down.0),
        };
        let mut error = None;
        let written = fresh.as_ref().map(|(key, _)| key.to_string());
        if settings.strategy == Strategy::WriteThrough {
            if let Some((key, body)) = fresh {
                let entry = Entry {
                    body,
                    stored_at: self.clock.now(),
                    ttl_secs: settings.ttl_secs,
                };
                match store
                    .put(&Self::full_key(context.student, key), entry)
                    .await
                {
                    Ok(()) => context.inspector.record(&Store {
                        key,
                        backend: store.name(),
                        ttl_secs: settings.ttl_secs,
                        why: "write-through",
                    }),
                    Err(down) => error = Some(down.0),
                }
            }
        }
        let invalidate = settings.strategy == Strategy::WriteThrough
            || (settings.strategy == Strategy::CacheAside && settings.invalidate_on_write);
        if invalidate {
            // Write-through just stored the fresh copy; other views (the page) go.
            for key in keys.iter().filter(|k| Some(*k) != written.as_ref()) {
                match store.remove(&Self::full_key(context.student, key)).await {
                    Ok(removed) => context.inspector.record(&Invalidate {
                        key,
                        backend: store.name(),
                        removed,
                    }),
                    Err(down) => error = Some(down.0),
                }
            }
        }
        error
    }

    /// Removes `keys` from the student's cache (all backends they could use).
    pub async fn evict(&self, student: &str, settings: &CacheSettings, keys: &[String]) {
        if let Ok(store) = self.store(student, settings) {
            for key in keys {
                let _ = store.remove(&Self::full_key(student, key)).await;
            }
        }
    }

    /// Forgets the student's in-process entries and statistics.
    pub fn clear(&self, student: &str) {
        self.students
            .lock()
            .expect("never poisoned")
            .remove(student);
        self.in_process.forget(student);
    }

    /// Records one served request.
    pub fn record(&self, student: &str, outcome: Outcome, latency_ms: f64) {
        let mut students = self.students.lock().expect("never poisoned");
        let state = students.entry(student, StudentState::default);
        if state.recent.len() == RECENT {
            state.recent.pop_front();
        }
        state.recent.push_back(Sample {
            at: self.clock.now(),
            outcome,
            latency_ms,
        });
        let cost = SAMPLE_COST * (state.recent.len() + 1);
        students.set_cost(student, cost);
    }

    /// The student's origin hits so far and recent requests, oldest first.
    pub fn statistics(&self, student: &str) -> (u64, Vec<Sample>) {
        let students = self.students.lock().expect("never poisoned");
        students
            .get(student)
            .map(|s| (s.origin_hits, s.recent.iter().cloned().collect()))
            .unwrap_or_default()
    }
}

/// The shared Redis store as a boxed backend.
struct RedisRef<'a>(&'a RedisStore);

impl CacheStore for RedisRef<'_> {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn get<'b>(&'b self, key: &'b str) -> BoxFuture<'b, Result<Option<Entry>, CacheDown>> {
        self.0.get(key)
    }
    fn put<'b>(&'b self, key: &'b str, entry: Entry) -> BoxFuture<'b, Result<(), CacheDown>> {
        self.0.put(key, entry)
    }
    fn remove<'b>(&'b self, key: &'b str) -> BoxFuture<'b, Result<bool, CacheDown>> {
        self.0.remove(key)
    }
}
