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
pub(crate) mod replay;
mod routes;
mod service;
pub(crate) mod store;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Lab, LabContext, LabSettings};
use crate::grading::lab::LabChecks;
use crate::labs::Labs;

pub use model::labs::cache::{Backend, CacheSettings, Strategy};
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

    fn routes(_state: &Labs) -> OpenApiRouter<Labs> {
        OpenApiRouter::default()
            .routes(routes!(routes::list))
            .routes(routes!(routes::one, routes::update_price))
            .routes(routes!(routes::stampede))
            .routes(routes!(routes::stats))
            .routes(routes!(routes::clear))
    }

    fn checks() -> Option<LabChecks> {
        Some(LabChecks {
            lab: Self::NAME,
            load: checks::load,
        })
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
