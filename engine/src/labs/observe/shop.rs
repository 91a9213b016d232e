//! A student's observed shop: three replicas behind round robin, a cache
//! in front of a database, and a pool of four database connections. Each
//! request is traced step by step, logged with its trace id, and filed in
//! the student's [`Traffic`]. The incidents change what the steps do.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use model::labs::observe::{Incident, LogLine};
use serde_json::{json, Value};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::database::{Database, Product};
use super::traffic::{Route, Served, Traffic};
use crate::inspector::Inspector;

/// Replicas serving the shop; the erroring one is the last.
pub(super) const REPLICAS: u32 = 3;
/// Database connections in a shop's pool.
pub(super) const POOL_SIZE: usize = 4;
/// Connections the pool leak keeps checked out.
const LEAKED: usize = 3;
/// How long a request waits for a connection before it gives up.
pub(super) const POOL_TIMEOUT: Duration = Duration::from_millis(50);
/// What a cache call costs while the cache is slow.
pub(super) const SLOW_CACHE: Duration = Duration::from_millis(120);
/// How long a cached product is kept.
const CACHE_TTL_MS: i64 = 30_000;
/// Entries a shop's cache holds (a cache whose keys never repeat fills
/// it, and is emptied).
const CACHE_ENTRIES: usize = 200;
/// A request slower than this is logged as a warning.
const SLOW_REQUEST: Duration = Duration::from_millis(100);

/// A page of the shop.
#[derive(Clone, Copy, Debug)]
pub(super) enum Page {
    Product(i64),
    Orders,
}

impl Page {
    fn route(self) -> Route {
        match self {
            Page::Product(_) => Route::Product,
            Page::Orders => Route::Orders,
        }
    }

    pub(super) fn path(self) -> String {
        match self {
            Page::Product(id) => format!("/shop/products/{id}"),
            Page::Orders => "/shop/orders".into(),
        }
    }
}

/// What is wrong in the shop for one request, and under which hunt.
#[derive(Clone, Debug, Default)]
pub(super) struct Conditions {
    pub(super) incidents: Vec<Incident>,
    pub(super) hunt: Option<u32>,
}

impl Conditions {
    fn has(&self, incident: Incident) -> bool {
        self.incidents.contains(&incident)
    }
}

/// A shop's answer to one request.
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) body: Value,
}

/// One student's shop.
pub(super) struct Shop {
    next_replica: AtomicU32,
    pool: Arc<Semaphore>,
    /// Connections the pool leak holds while it is on.
    leaked: Mutex<Vec<OwnedSemaphorePermit>>,
    /// Cached products by key, with when each expires.
    cache: Mutex<HashMap<String, (Product, i64)>>,
    pub(super) traffic: Mutex<Traffic>,
}

/// Why a request failed inside the shop.
struct Failure {
    status: StatusCode,
    message: String,
}

impl Shop {
    pub(super) fn new() -> Self {
        Self {
            next_replica: AtomicU32::new(0),
            pool: Arc::new(Semaphore::new(POOL_SIZE)),
            leaked: Mutex::default(),
            cache: Mutex::default(),
            traffic: Mutex::default(),
        }
    }

    /// Serves `page` as `conditions` say, tracing into `inspector`, and
    /// files the request and its log lines. `now_ms` reads the server's
    /// clock when the request ends.
    pub(super) async fn serve(
        &self,
        database: &Database,
        page: Page,
        conditions: &Conditions,
        inspector: &Inspector,
        now_ms: impl Fn() -> i64,
    ) -> Answer {
        let started = Instant::now();
        self.set_leak(conditions.has(Incident::PoolLeak));
        let replica = self.next_replica.fetch_add(1, Ordering::Relaxed) % REPLICAS + 1;
        let outcome = {
            let mut step = inspector.step(
                "replica.call",
                format!("replica {replica} of {REPLICAS} serves {}", page.path()),
            );
            step.field("replica", replica);
            if let Some(round) = conditions.hunt {
                step.field("hunt_round", round);
            }
            let outcome = if replica == REPLICAS && conditions.has(Incident::ErroringReplica) {
                Err(Failure {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    message: format!(
                        "replica {replica} failed: its new build cannot read its configuration"
                    ),
                })
            } else {
                self.page(database, page, conditions, inspector, now_ms())
                    .await
            };
            let status = outcome
                .as_ref()
                .map_or_else(|f| f.status, |_| StatusCode::OK);
            step.field("status", status.as_u16());
            if let Err(failure) = &outcome {
                step.field("error", &failure.message);
            }
            outcome
        };
        let duration = started.elapsed();
        let at_ms = now_ms();
        let trace_id = inspector.trace_id().to_string();
        let line = |level: &str, message: String| LogLine {
            at_ms,
            level: level.into(),
            trace_id: trace_id.clone(),
            message,
        };
        let (status, body, mut lines) = match outcome {
            Ok(mut body) => {
                body["replica"] = json!(replica);
                (StatusCode::OK, body, Vec::new())
            }
            Err(failure) => {
                let level = if failure.status.is_server_error() {
                    "error"
                } else {
                    "warn"
                };
                let body = json!({ "error": failure.message, "replica": replica });
                (failure.status, body, vec![line(level, failure.message)])
            }
        };
        lines.insert(
            0,
            line(
                "info",
                format!(
                    "GET {} {} in {} ms (replica {replica})",
                    page.path(),
                    status.as_u16(),
                    duration.as_millis()
                ),
            ),
        );
        if duration > SLOW_REQUEST {
            lines.push(line(
                "warn",
                format!(
                    "slow request: GET {} took {} ms",
                    page.path(),
                    duration.as_millis()
                ),
            ));
        }
        let served = Served {
            at_ms,
            route: page.route(),
            status: status.as_u16(),
            duration_us: duration.as_micros() as u64,
        };
        self.traffic
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(served, lines);
        Answer { status, body }
    }

    /// Takes or gives back the leaked connections.
    fn set_leak(&self, on: bool) {
        let mut leaked = self.leaked.lock().unwrap_or_else(|e| e.into_inner());
        if !on {
            leaked.clear();
            return;
        }
        while leaked.len() < LEAKED {
            match self.pool.clone().try_acquire_owned() {
                Ok(permit) => leaked.push(permit),
                Err(_) => break,
            }
        }
    }

    async fn page(
        &self,
        database: &Database,
        page: Page,
        conditions: &Conditions,
        inspector: &Inspector,
        now_ms: i64,
    ) -> Result<Value, Failure> {
        match page {
            Page::Product(id) => {
                self.product(database, id, conditions, inspector, now_ms)
                    .await
            }
            Page::Orders => self.orders(database, conditions, inspector).await,
        }
    }

    async fn product(
        &self,
        database: &Database,
        id: i64,
        conditions: &Conditions,
        inspector: &Inspector,
        now_ms: i64,
    ) -> Result<Value, Failure> {
        // The bug behind "cache never hits": a key that carries the
        // request's id (here the first half of its trace id).
        let key = if conditions.has(Incident::CacheNeverHits) {
            let request = inspector.trace_id().to_string();
            format!("product:{id}:{}", &request[..16])
        } else {
            format!("product:{id}")
        };
        if let Some(product) = self.cache_get(&key, conditions, inspector, now_ms).await {
            return Ok(json!({ "product": product, "cache": "hit" }));
        }
        let connection = self.connection(inspector).await?;
        let product = {
            let mut step = inspector.step("db.query", "SELECT the product");
            step.field(
                "sql",
                "SELECT id, name, price_cents FROM products WHERE id = ?",
            );
            step.field("id", id);
            database.product(id).await.map_err(database_failure)?
        };
        // Back to the pool before the cache is filled: the cache's time is
        // not the database's.
        drop(connection);
        let Some(product) = product else {
            return Err(Failure {
                status: StatusCode::NOT_FOUND,
                message: format!("no product {id}: the shop sells products 1 to 20"),
            });
        };
        self.cache_set(key, &product, conditions, inspector, now_ms)
            .await;
        Ok(json!({ "product": product, "cache": "miss" }))
    }

    async fn orders(
        &self,
        database: &Database,
        conditions: &Conditions,
        inspector: &Inspector,
    ) -> Result<Value, Failure> {
        let _connection = self.connection(inspector).await?;
        if !conditions.has(Incident::NPlusOne) {
            let orders = {
                let mut step = inspector.step("db.query", "SELECT the orders JOIN their customers");
                step.field("sql", "SELECT o.id, c.name, o.total_cents FROM orders AS o JOIN customers AS c ON c.id = o.customer_id ORDER BY o.id DESC LIMIT 10");
                database.orders_joined().await.map_err(database_failure)?
            };
            return Ok(json!({ "orders": orders, "queries": 1 }));
        }
        let rows = {
            let mut step = inspector.step("db.query", "SELECT the orders");
            step.field(
                "sql",
                "SELECT id, customer_id, total_cents FROM orders ORDER BY id DESC LIMIT 10",
            );
            database.orders().await.map_err(database_failure)?
        };
        let mut orders = Vec::with_capacity(rows.len());
        for (id, customer_id, total_cents) in &rows {
            let customer = {
                let mut step = inspector.step("db.query", format!("SELECT customer {customer_id}"));
                step.field("sql", "SELECT name FROM customers WHERE id = ?");
                step.field("id", customer_id);
                database
                    .customer(*customer_id)
                    .await
                    .map_err(database_failure)?
            };
            orders.push(json!({ "id": id, "customer": customer, "total_cents": total_cents }));
        }
        Ok(json!({ "orders": orders, "queries": rows.len() + 1 }))
    }

    /// A connection from the pool, or a 503 after [`POOL_TIMEOUT`].
    async fn connection(&self, inspector: &Inspector) -> Result<OwnedSemaphorePermit, Failure> {
        let mut step = inspector.step("pool.acquire", "take a database connection from the pool");
        let free = self.pool.available_permits();
        step.field("pool_size", POOL_SIZE);
        step.field("free_when_asked", free);
        let started = Instant::now();
        let taken = tokio::time::timeout(POOL_TIMEOUT, self.pool.clone().acquire_owned()).await;
        let waited_ms = started.elapsed().as_millis() as u64;
        step.field("waited_ms", waited_ms);
        match taken {
            Ok(Ok(permit)) => {
                step.field("outcome", "taken");
                Ok(permit)
            }
            _ => {
                step.field("outcome", "timed out");
                step.set_summary("no database connection came free in time");
                Err(Failure {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    message: format!(
                        "gave up waiting for a database connection after {} ms ({} in the pool, {free} free when asked)",
                        POOL_TIMEOUT.as_millis(),
                        POOL_SIZE
                    ),
                })
            }
        }
    }

    async fn cache_get(
        &self,
        key: &str,
        conditions: &Conditions,
        inspector: &Inspector,
        now_ms: i64,
    ) -> Option<Product> {
        let mut step = inspector.step("cache.get", format!("GET {key}"));
        step.field("key", key);
        slow_cache(conditions).await;
        let found = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .filter(|(_, expires)| *expires > now_ms)
            .map(|(product, _)| product.clone());
        step.field("hit", found.is_some());
        found
    }

    async fn cache_set(
        &self,
        key: String,
        product: &Product,
        conditions: &Conditions,
        inspector: &Inspector,
        now_ms: i64,
    ) {
        let mut step = inspector.step("cache.set", format!("SET {key}"));
        step.field("key", &key);
        step.field("ttl_s", CACHE_TTL_MS / 1000);
        slow_cache(conditions).await;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_ENTRIES {
            cache.retain(|_, (_, expires)| *expires > now_ms);
            if cache.len() >= CACHE_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(key, (product.clone(), now_ms + CACHE_TTL_MS));
    }
}

/// The slow cache's delay, when it is on.
async fn slow_cache(conditions: &Conditions) {
    if conditions.has(Incident::SlowCache) {
        tokio::time::sleep(SLOW_CACHE).await;
    }
}

fn database_failure(error: sqlx::Error) -> Failure {
    tracing::warn!(%error, "the observe lab's database failed");
    Failure {
        status: StatusCode::SERVICE_UNAVAILABLE,
        message: "the shop's database failed; try again".into(),
    }
}
