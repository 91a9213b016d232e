//! The cache lab's wire types: the catalog's products, price changes, the
//! stampede, the statistics the chart draws, and the lab's settings.
//!
//! Objects the lab used to build as JSON maps (products, the answer to a
//! price change) keep their fields in alphabetical order, so they serialise
//! exactly as before (and a product's `ETag` stays what it was).

use serde::{Deserialize, Serialize};

use super::sql::SqlValue;

/// Where reads and writes go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

impl Strategy {
    /// Every strategy, in the order the lab presents them.
    pub const ALL: [Strategy; 3] = [Self::None, Self::CacheAside, Self::WriteThrough];
}

/// Which cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// Inside the server process (moka): fast, per server, gone on restart.
    #[default]
    InProcess,
    /// Redis, shared by every server that points at it.
    Redis,
}

impl Backend {
    /// Every backend, in the order the lab presents them.
    pub const ALL: [Backend; 2] = [Self::InProcess, Self::Redis];
}

/// What a student may change in the cache lab.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct CacheSettings {
    /// Where reads and writes go.
    pub strategy: Strategy,
    /// Which cache.
    pub backend: Backend,
    /// How long an entry may be served, in seconds (1 to 3600).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3600))]
    pub ttl_secs: u32,
    /// Entries the in-process cache holds at most (1 to 10000).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10000))]
    pub capacity: u32,
    /// Whether a write removes the cached copy (cache-aside).
    pub invalidate_on_write: bool,
    /// Whether concurrent misses for one key share one origin request.
    pub coalescing: bool,
    /// Extra delay of every origin request, in milliseconds (0 to 2000).
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 2000))]
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

/// `GET /labs/cache/products/{id}`: one product of the student's shop. The
/// values are whatever the shop's columns hold (the student may change them
/// in the SQL lab).
///
/// In the OpenAPI document each value is free-form (a column's JSON value:
/// null, a number or a string), and the schema is named `CacheProduct`
/// (the auth lab has a `Product` of its own).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = CacheProduct))]
pub struct Product {
    /// Why the cache was not used, when it failed (the product came from the origin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_error: Option<String>,
    /// The category's name.
    #[cfg_attr(feature = "openapi", schema(value_type = Value))]
    pub category: SqlValue,
    /// The product's id.
    #[cfg_attr(feature = "openapi", schema(value_type = Value))]
    pub id: SqlValue,
    /// Its name.
    #[cfg_attr(feature = "openapi", schema(value_type = Value))]
    pub name: SqlValue,
    /// Its price, in cents.
    #[cfg_attr(feature = "openapi", schema(value_type = Value))]
    pub price_cents: SqlValue,
    /// The seller's name.
    #[cfg_attr(feature = "openapi", schema(value_type = Value))]
    pub seller: SqlValue,
    /// Units in stock.
    #[cfg_attr(feature = "openapi", schema(value_type = Value))]
    pub stock: SqlValue,
}

/// `GET /labs/cache/products`: the catalog's first page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProductPage {
    /// Why the cache was not used, when it failed (the page came from the origin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_error: Option<String>,
    /// The products, by id.
    pub products: Vec<Product>,
}

/// `PUT /labs/cache/products/{id}`: a new price.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PriceChange {
    /// The new price, in cents (1 to 100000000).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100000000))]
    pub price_cents: i64,
}

/// What `PUT /labs/cache/products/{id}` answers: the new price, and what
/// the student's strategy did to the cache.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriceChanged {
    /// Why the cache could not be updated or invalidated, when it failed.
    pub cache_error: Option<String>,
    /// The product.
    pub id: i64,
    /// Whether cache-aside removed the cached copy.
    pub invalidate_on_write: bool,
    /// Its new price, in cents.
    pub price_cents: i64,
    /// The strategy the write went through.
    pub strategy: Strategy,
}

/// How a read was served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "UPPERCASE")]
pub enum Outcome {
    /// From the cache.
    Hit,
    /// From the origin, then stored.
    Miss,
    /// From the origin, cache not used (strategy none, or the cache is down).
    Bypass,
}

impl Outcome {
    /// The `X-Cache` header value.
    pub fn header(self) -> &'static str {
        match self {
            Self::Hit => "HIT",
            Self::Miss => "MISS",
            Self::Bypass => "BYPASS",
        }
    }
}

/// `POST /labs/cache/stampede`: requests to fire at once for a cold key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StampedeRequest {
    /// How many requests (1 to 200).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 200))]
    pub n: usize,
    /// The product they all ask for.
    #[serde(default = "first_product")]
    pub product_id: i64,
}

/// The product a stampede asks for when the request names none.
fn first_product() -> i64 {
    1
}

/// What `POST /labs/cache/stampede` answers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StampedeReport {
    /// Requests fired.
    pub n: usize,
    /// Whether concurrent misses shared one origin request.
    pub coalescing: bool,
    /// How often the origin was asked.
    pub origin_hits: u64,
    /// How each request was served.
    pub outcomes: Vec<Outcome>,
    /// Time for all of them, in milliseconds.
    pub elapsed_ms: f64,
}

/// One request, for the statistics and the chart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sample {
    /// Seconds by the server's clock.
    pub at: i64,
    /// How it was served.
    pub outcome: Outcome,
    /// Time in the handler, in milliseconds.
    pub latency_ms: f64,
}

/// `GET /labs/cache/stats`: the student's recent requests and what they add up to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stats {
    /// Requests counted.
    pub requests: usize,
    /// Of which served from the cache.
    pub hits: usize,
    /// `hits / requests` (0 when there were none).
    pub hit_ratio: f64,
    /// Median latency, in milliseconds.
    pub p50_ms: f64,
    /// 95th percentile latency, in milliseconds.
    pub p95_ms: f64,
    /// How often the origin was asked.
    pub origin_hits: u64,
    /// Whether this server has a Redis backend.
    pub redis_configured: bool,
    /// The requests, oldest first.
    pub recent: Vec<Sample>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a JSON map (which orders its keys alphabetically) makes of `value`.
    fn as_map<T: Serialize>(value: &T) -> String {
        serde_json::to_value(value).unwrap().to_string()
    }

    #[test]
    fn products_and_price_changes_serialise_as_the_json_maps_they_used_to_be() {
        let product = Product {
            cache_error: Some("redis is down".into()),
            category: SqlValue::Text("Books".into()),
            id: SqlValue::Integer(42),
            name: SqlValue::Text("Dune".into()),
            price_cents: SqlValue::Integer(1999),
            seller: SqlValue::Text("Ada".into()),
            stock: SqlValue::Integer(3),
        };
        assert_eq!(serde_json::to_string(&product).unwrap(), as_map(&product));
        let page = ProductPage {
            cache_error: None,
            products: vec![product],
        };
        assert_eq!(serde_json::to_string(&page).unwrap(), as_map(&page));
        let changed = PriceChanged {
            cache_error: None,
            id: 42,
            invalidate_on_write: true,
            price_cents: 100,
            strategy: Strategy::CacheAside,
        };
        assert_eq!(serde_json::to_string(&changed).unwrap(), as_map(&changed));
    }
}
