//! The cache lab: a deliberately slow product catalog (the student's own
//! shop from the SQL lab, plus a configurable delay) in front of which the
//! student puts a cache and watches what it does.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /labs/cache/products` | the first page of the catalog, through the cache |
//! | `GET /labs/cache/products/{id}` | one product, through the cache; `ETag`, `Cache-Control`, `If-None-Match` → 304 |
//! | `PUT /labs/cache/products/{id}` | changes a price at the origin: `{"price_cents"}`; the strategy decides what the cache does |
//! | `POST /labs/cache/stampede` | `{"n", "product_id"}`: n requests at once for a cold key; how often the origin was hit |
//! | `GET /labs/cache/stats` | hit ratio, p50/p95 latency and the recent requests, for the chart |
//! | `DELETE /labs/cache/entries` | empties the student's cache and statistics |
//!
//! Responses carry `X-Cache: HIT | MISS | BYPASS` and `Age`; the inspector
//! shows `cache.lookup`, `cache.store`, `cache.invalidate`, `cache.error`
//! and `cache.origin` events. When Redis is chosen but cannot be reached,
//! requests go to the origin, say so (`X-Cache: BYPASS`, `cache_error`),
//! and use Redis again once it answers.

mod checks;
pub mod replay;
mod routes;
mod service;
pub mod store;

use std::sync::Arc;

use axum::routing::{delete, get, post};
use axum::Router;
use serde::{Deserialize, Serialize};

use super::{Lab, LabContext, LabSettings};
use crate::labs::Labs;

pub use service::CacheService;

/// The cache lab.
pub struct CacheLab;

impl Lab for CacheLab {
    const NAME: &'static str = "cache";
    const TITLE: &'static str = "Caching: cache-aside, invalidation and stampedes";
    type Settings = CacheSettings;
    type State = CacheService;

    fn state(context: &LabContext) -> Self::State {
        CacheService::new(context)
    }

    fn routes(_state: &Labs) -> Router<Labs> {
        Router::new()
            .route("/products", get(routes::list))
            .route("/products/{id}", get(routes::one).put(routes::update_price))
            .route("/stampede", post(routes::stampede))
            .route("/stats", get(routes::stats))
            .route("/entries", delete(routes::clear))
    }

    fn checks() -> Option<Arc<dyn crate::grading::lab::LabCheck>> {
        Some(Arc::new(checks::CacheChecks))
    }
}

/// Where reads and writes go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Every read goes to the origin.
    None,
    /// Reads look in the cache first and fill it on a miss.
    #[default]
    CacheAside,
    /// Like cache-aside, and writes update the cache with the new value.
    WriteThrough,
}

/// Which cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// Inside the server process (moka): fast, per server, gone on restart.
    #[default]
    InProcess,
    /// Redis, shared by every server that points at it.
    Redis,
}

/// What a student may change in the cache lab.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheSettings {
    /// Where reads and writes go.
    pub strategy: Strategy,
    /// Which cache.
    pub backend: Backend,
    /// How long an entry may be served, in seconds (1 to 3600).
    pub ttl_secs: u32,
    /// Entries the in-process cache holds at most (1 to 10000).
    pub capacity: u32,
    /// Whether a write removes the cached copy (cache-aside).
    pub invalidate_on_write: bool,
    /// Whether concurrent misses for one key share one origin request.
    pub coalescing: bool,
    /// Extra delay of every origin request, in milliseconds (0 to 2000).
    pub origin_latency_ms: u32,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            strategy: Strategy::CacheAside,
            backend: Backend::InProcess,
            ttl_secs: 30,
            capacity: 100,
            invalidate_on_write: false,
            coalescing: false,
            origin_latency_ms: 150,
        }
    }
}

impl LabSettings for CacheSettings {
    fn validate(&self) -> Result<(), String> {
        for (name, value, (low, high)) in [
            ("ttl_secs", self.ttl_secs, (1, 3600)),
            ("capacity", self.capacity, (1, 10_000)),
            ("origin_latency_ms", self.origin_latency_ms, (0, 2000)),
        ] {
            if !(low..=high).contains(&value) {
                return Err(format!(
                    "{name} must be between {low} and {high}, not {value}"
                ));
            }
        }
        Ok(())
    }
}
