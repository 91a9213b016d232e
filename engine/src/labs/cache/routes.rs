//! The cache lab's handlers: the catalog through the cache, price updates,
//! the stampede, statistics.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::future::{BoxFuture, FutureExt};
use model::labs::cache::{
    Outcome, PriceChange, PriceChanged, Product, ProductPage, StampedeReport, StampedeRequest,
    Stats,
};
use serde_json::Value;
use tokio::sync::Barrier;

use super::service::{OriginError, ReadContext, Served};
use super::CacheLab;
use crate::error::extract::Json as JsonBody;
use crate::error::ApiError;
use crate::identity::Student;
use crate::inspector::Inspector;
use crate::labs::conditional::{etag_of, none_match_hits};
use crate::labs::sql::engine::{Limits, QueryOutput, SqlValue};
use crate::labs::sql::sandbox::{Burst, SandboxError};
use crate::labs::sql::{Sandboxes, SqlLab};
use crate::labs::Labs;
use crate::labs::{CurrentSettings, LabState};

/// Products on the catalog's first page.
const PAGE: i64 = 20;
/// Most requests one stampede may fire.
const MAX_STAMPEDE: usize = 200;

const ORIGIN_LIMITS: Limits = Limits {
    time: Duration::from_secs(2),
    max_rows: 100,
};

const PRODUCT: &str = "SELECT p.id, p.name, p.price_cents, p.stock, c.name, s.name FROM products AS p JOIN categories AS c ON c.id = p.category_id JOIN sellers AS s ON s.id = p.seller_id WHERE p.id = ?";
const PAGE_SQL: &str = "SELECT p.id, p.name, p.price_cents, p.stock, c.name, s.name FROM products AS p JOIN categories AS c ON c.id = p.category_id JOIN sellers AS s ON s.id = p.seller_id ORDER BY p.id LIMIT ?";

fn product_key(id: i64) -> String {
    format!("product:{id}")
}

const PAGE_KEY: &str = "products:page:1";

fn product(row: &[SqlValue]) -> Product {
    Product {
        cache_error: None,
        id: row[0].clone(),
        name: row[1].clone(),
        price_cents: row[2].clone(),
        stock: row[3].clone(),
        category: row[4].clone(),
        seller: row[5].clone(),
    }
}

/// The origin: one query on the student's own shop (the SQL lab's sandbox).
fn origin(
    sandboxes: Arc<Sandboxes>,
    student: crate::identity::StudentId,
    sql: &'static str,
    parameter: i64,
) -> impl Fn() -> BoxFuture<'static, Result<String, OriginError>> {
    move || {
        let (sandboxes, student) = (sandboxes.clone(), student.clone());
        async move {
            let rows = sandboxes
                .run(&student, move |db| {
                    db.run_with(sql, ORIGIN_LIMITS, &[Value::from(parameter)])
                })
                .await
                .map_err(origin_error)?;
            origin_body(&rows, sql, parameter)
        }
        .boxed()
    }
}

/// The origin for a burst of reads: each read is still its own query, on
/// the burst's one connection and turn.
fn origin_on(
    connection: Arc<Burst>,
    sql: &'static str,
    parameter: i64,
) -> impl Fn() -> BoxFuture<'static, Result<String, OriginError>> {
    move || {
        let connection = connection.clone();
        async move {
            let rows = connection
                .run(move |db| db.run_with(sql, ORIGIN_LIMITS, &[Value::from(parameter)]))
                .await
                .map_err(origin_error)?;
            origin_body(&rows, sql, parameter)
        }
        .boxed()
    }
}

/// What the origin answers for `rows` of `sql`: one product, or a page.
fn origin_body(rows: &QueryOutput, sql: &str, parameter: i64) -> Result<String, OriginError> {
    let products: Vec<Product> = rows.rows.iter().map(|r| product(r)).collect();
    let body = if sql == PRODUCT {
        match products.into_iter().next() {
            Some(product) => serde_json::to_string(&product),
            None => {
                return Err(OriginError::NotFound(format!(
                    "there is no product {parameter} in your shop"
                )))
            }
        }
    } else {
        serde_json::to_string(&ProductPage {
            cache_error: None,
            products,
        })
    };
    Ok(body.expect("products serialise"))
}

/// What the sandbox's failure means for the origin.
fn origin_error(error: SandboxError) -> OriginError {
    match error {
        SandboxError::TooMany(ApiError::TooManyRequests {
            message,
            retry_after_secs,
        }) => OriginError::Busy {
            message,
            retry_after_secs,
        },
        SandboxError::TooMany(other) => OriginError::Unavailable(other.to_string()),
        SandboxError::Sql(error) => OriginError::Shop(error.message),
        SandboxError::Setup(reason) => OriginError::Unavailable(reason),
    }
}

/// What a failed origin means for the caller: the student's doing is a
/// 4xx, the server's a 503; never a 502 for what another lab could not make.
fn origin_failed(error: OriginError) -> ApiError {
    match error {
        OriginError::NotFound(message) => ApiError::NotFound(message),
        OriginError::Busy {
            message,
            retry_after_secs,
        } => ApiError::TooManyRequests {
            message,
            retry_after_secs,
        },
        OriginError::Shop(message) => ApiError::Conflict(format!(
            "the origin (your shop, in your SQL sandbox) failed: {message}. If you changed its tables in the SQL lab, reset it with DELETE /labs/sql/sandbox."
        )),
        OriginError::Unavailable(reason) => {
            tracing::error!(%reason, "the cache lab's origin could not be prepared");
            ApiError::Unavailable(
                "The shop behind the cache could not be prepared; try again in a moment.".into(),
            )
        }
    }
}

/// The response for a served read: cache headers, ETag, 304 when it matches.
fn respond(served: Served, request: &HeaderMap, started: Instant) -> Response {
    let tag = etag_of(served.body.as_bytes());
    let not_modified = none_match_hits(request, &tag);
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut body: Value = serde_json::from_str(&served.body).unwrap_or(Value::Null);
        if let (Some(error), Value::Object(fields)) = (&served.cache_error, &mut body) {
            fields.insert("cache_error".into(), Value::from(error.clone()));
        }
        Json(body).into_response()
    };
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set(headers, "x-cache", served.outcome.header().to_string());
    set(headers, "age", served.age_secs.max(0).to_string());
    set(headers, "etag", tag);
    // Per student, so never in a shared cache. Freshness is the whole TTL:
    // a browser subtracts `Age` itself.
    let lifetime = served.age_secs + served.remaining_secs;
    set(
        headers,
        "cache-control",
        format!("private, max-age={}", lifetime.max(0)),
    );
    set(
        headers,
        "server-timing",
        format!(
            "handler;dur={:.1}",
            started.elapsed().as_secs_f64() * 1000.0
        ),
    );
    response
}

/// What a read asks the origin for.
struct Resource<'a> {
    key: &'a str,
    sql: &'static str,
    parameter: i64,
}

async fn serve(
    state: &Labs,
    student: &Student,
    settings: &super::CacheSettings,
    inspector: &Inspector,
    request: &HeaderMap,
    resource: Resource<'_>,
) -> Response {
    let Resource {
        key,
        sql,
        parameter,
    } = resource;
    let started = Instant::now();
    let service = state.labs.get::<CacheLab>();
    let fetch = origin(
        state.labs.get::<SqlLab>(),
        student.id.clone(),
        sql,
        parameter,
    );
    let context = ReadContext {
        student: student.id.as_str(),
        settings,
        inspector,
        after_lookup: None,
    };
    match service.read(&context, key, fetch).await {
        Ok(served) => {
            let outcome = served.outcome;
            let response = respond(served, request, started);
            service.record(
                student.id.as_str(),
                outcome,
                started.elapsed().as_secs_f64() * 1000.0,
            );
            response
        }
        Err(error) => origin_failed(error).into_response(),
    }
}

/// `GET /labs/cache/products`.
#[utoipa::path(get, path = "/products",
    summary = "The catalog's first page, through the cache",
    description = "The first 20 products of your shop, read through the cache your settings describe: a miss waits for the slow origin (`origin_latency_ms`), a hit does not. Send `If-None-Match` with the `ETag` you hold for a 304. When the chosen cache cannot be reached the page comes from the origin with `cache_error` and `X-Cache: BYPASS`.",
    params(("If-None-Match" = Option<String>, Header, description = "ETags you already hold")),
    responses(
        (status = 200, description = "The page", body = model::labs::cache::ProductPage,
            headers(
                ("X-Cache" = String, description = "`HIT`, `MISS` or `BYPASS` (strategy `none`, or the cache is down)"),
                ("Age" = u64, description = "Seconds since the copy was fetched from the origin"),
                ("ETag" = String, description = "The representation's version, for `If-None-Match`"),
                ("Cache-Control" = String, description = "`private, max-age=<the entry's lifetime in seconds>`"),
                ("Server-Timing" = String, description = "`handler;dur=<ms>`: time spent in the handler"),
            )),
        (status = 304, description = "Your copy (the ETag you sent) is current: no body",
            headers(
                ("X-Cache" = String, description = "`HIT`, `MISS` or `BYPASS` (strategy `none`, or the cache is down)"),
                ("Age" = u64, description = "Seconds since the copy was fetched from the origin"),
                ("ETag" = String, description = "The representation's version, for `If-None-Match`"),
                ("Cache-Control" = String, description = "`private, max-age=<the entry's lifetime in seconds>`"),
                ("Server-Timing" = String, description = "`handler;dur=<ms>`: time spent in the handler"),
            )),
        (status = 409, description = "The origin (your shop, in your SQL sandbox) failed: a table changed in the SQL lab", body = model::ErrorBody),
        (status = 429, description = "Your shop is busy (over your share of the sandboxes' time); try again after Retry-After", body = model::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub(super) async fn list(
    axum::extract::State(state): axum::extract::State<Labs>,
    student: Student,
    CurrentSettings(settings, _): CurrentSettings<CacheLab>,
    inspector: Inspector,
    request: HeaderMap,
) -> Response {
    let page = Resource {
        key: PAGE_KEY,
        sql: PAGE_SQL,
        parameter: PAGE,
    };
    serve(&state, &student, &settings, &inspector, &request, page).await
}

/// `GET /labs/cache/products/{id}`.
#[utoipa::path(get, path = "/products/{id}",
    summary = "One product, through the cache",
    description = "One product of your shop, read through the cache your settings describe, with `ETag`, `Cache-Control`, `Age` and `X-Cache`. Send `If-None-Match` with the `ETag` you hold for a 304. When the chosen cache cannot be reached the product comes from the origin with `cache_error` and `X-Cache: BYPASS`.",
    params(
        ("id" = i64, Path, description = "The product's id"),
        ("If-None-Match" = Option<String>, Header, description = "ETags you already hold"),
    ),
    responses(
        (status = 200, description = "The product", body = model::labs::cache::Product,
            headers(
                ("X-Cache" = String, description = "`HIT`, `MISS` or `BYPASS` (strategy `none`, or the cache is down)"),
                ("Age" = u64, description = "Seconds since the copy was fetched from the origin"),
                ("ETag" = String, description = "The representation's version, for `If-None-Match`"),
                ("Cache-Control" = String, description = "`private, max-age=<the entry's lifetime in seconds>`"),
                ("Server-Timing" = String, description = "`handler;dur=<ms>`: time spent in the handler"),
            )),
        (status = 304, description = "Your copy (the ETag you sent) is current: no body",
            headers(
                ("X-Cache" = String, description = "`HIT`, `MISS` or `BYPASS` (strategy `none`, or the cache is down)"),
                ("Age" = u64, description = "Seconds since the copy was fetched from the origin"),
                ("ETag" = String, description = "The representation's version, for `If-None-Match`"),
                ("Cache-Control" = String, description = "`private, max-age=<the entry's lifetime in seconds>`"),
                ("Server-Timing" = String, description = "`handler;dur=<ms>`: time spent in the handler"),
            )),
        (status = 404, description = "Your shop has no product with that id", body = model::ErrorBody),
        (status = 409, description = "The origin (your shop, in your SQL sandbox) failed: a table changed in the SQL lab", body = model::ErrorBody),
        (status = 429, description = "Your shop is busy (over your share of the sandboxes' time); try again after Retry-After", body = model::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub(super) async fn one(
    axum::extract::State(state): axum::extract::State<Labs>,
    student: Student,
    CurrentSettings(settings, _): CurrentSettings<CacheLab>,
    inspector: Inspector,
    request: HeaderMap,
    crate::error::extract::Path(id): crate::error::extract::Path<i64>,
) -> Response {
    let key = product_key(id);
    let one = Resource {
        key: &key,
        sql: PRODUCT,
        parameter: id,
    };
    serve(&state, &student, &settings, &inspector, &request, one).await
}

/// `PUT /labs/cache/products/{id}`: the origin changes; the strategy decides the cache.
#[utoipa::path(put, path = "/products/{id}",
    summary = "Change a product's price at the origin",
    description = "Writes the new price to your shop (the origin). What happens to the cached copies depends on your settings: cache-aside leaves the product's and the catalog page's copies (stale until their TTL ends) unless `invalidate_on_write` drops them; write-through stores the new product and drops the page; `none` caches nothing.",
    params(("id" = i64, Path, description = "The product's id")),
    request_body = model::labs::cache::PriceChange,
    responses(
        (status = 200, description = "The new price, and what the strategy did", body = model::labs::cache::PriceChanged),
        (status = 404, description = "Your shop has no product with that id", body = model::ErrorBody),
        (status = 422, description = "`price_cents` is not between 1 and 100000000, or the origin refused the change", body = model::ErrorBody),
    ))]
pub(super) async fn update_price(
    axum::extract::State(state): axum::extract::State<Labs>,
    student: Student,
    CurrentSettings(settings, _): CurrentSettings<CacheLab>,
    inspector: Inspector,
    crate::error::extract::Path(id): crate::error::extract::Path<i64>,
    JsonBody(change): JsonBody<PriceChange>,
) -> Result<Json<PriceChanged>, ApiError> {
    if !(1..=100_000_000).contains(&change.price_cents) {
        return Err(ApiError::Unprocessable(
            "price_cents must be between 1 and 100000000".into(),
        ));
    }
    let sandboxes = state.labs.get::<SqlLab>();
    let changed = sandboxes
        .run(&student.id, move |db| {
            db.run_with(
                "UPDATE products SET price_cents = ? WHERE id = ?",
                ORIGIN_LIMITS,
                &[Value::from(change.price_cents), Value::from(id)],
            )
        })
        .await
        .map_err(|e| ApiError::Unprocessable(format!("the origin refused the change: {e}")))?;
    if changed.changes == 0 {
        return Err(ApiError::NotFound(format!(
            "there is no product {id} in your shop"
        )));
    }
    let service = state.labs.get::<CacheLab>();
    let fresh = if settings.strategy == super::Strategy::WriteThrough {
        origin(sandboxes, student.id.clone(), PRODUCT, id)()
            .await
            .ok()
    } else {
        None
    };
    let context = ReadContext {
        student: student.id.as_str(),
        settings: &settings,
        inspector: &inspector,
        after_lookup: None,
    };
    let key = product_key(id);
    let cache_error = service
        .after_write(
            &context,
            &[key.clone(), PAGE_KEY.to_string()],
            fresh.map(|body| (key.as_str(), body)),
        )
        .await;
    Ok(Json(PriceChanged {
        id,
        price_cents: change.price_cents,
        strategy: settings.strategy,
        invalidate_on_write: settings.invalidate_on_write,
        cache_error,
    }))
}

/// `POST /labs/cache/stampede`: n requests for a cold key, all arriving
/// before any of them has filled the cache.
#[utoipa::path(post, path = "/stampede",
    summary = "Fire n requests at once for a cold key",
    description = "Evicts the product, then sends `n` reads for it that all look in the cache before any of them has filled it: without `coalescing` each one goes to the origin; with it they share one origin request. The answer counts the origin hits.",
    request_body = model::labs::cache::StampedeRequest,
    responses(
        (status = 200, description = "How the requests were served", body = model::labs::cache::StampedeReport),
        (status = 404, description = "Your shop has no product with that id", body = model::ErrorBody),
        (status = 422, description = "`n` is not between 1 and 200", body = model::ErrorBody),
        (status = 409, description = "The origin (your shop, in your SQL sandbox) failed: a table changed in the SQL lab", body = model::ErrorBody),
        (status = 429, description = "Your shop is busy (over your share of the sandboxes' time); try again after Retry-After", body = model::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub(super) async fn stampede(
    axum::extract::State(state): axum::extract::State<Labs>,
    student: Student,
    CurrentSettings(settings, _): CurrentSettings<CacheLab>,
    inspector: Inspector,
    JsonBody(request): JsonBody<StampedeRequest>,
) -> Result<Json<StampedeReport>, ApiError> {
    if !(1..=MAX_STAMPEDE).contains(&request.n) {
        return Err(ApiError::Unprocessable(format!(
            "n must be between 1 and {MAX_STAMPEDE}"
        )));
    }
    let service = state.labs.get::<CacheLab>();
    let key = product_key(request.product_id);
    service
        .evict(student.id.as_str(), &settings, std::slice::from_ref(&key))
        .await;
    let (hits_before, _) = service.statistics(student.id.as_str());
    let started = Instant::now();
    let barrier = Arc::new(Barrier::new(request.n));
    // The n origin reads share one connection and one turn at the shop,
    // taken by the first of them: each is still a query of its own, but n
    // turns and n openings of the file took seconds on a loaded machine.
    let connection = Arc::new(state.labs.get::<SqlLab>().burst(&student.id));
    let requests = (0..request.n).map(|_| {
        let context = ReadContext {
            student: student.id.as_str(),
            settings: &settings,
            inspector: &inspector,
            after_lookup: Some(barrier.clone()),
        };
        let fetch = origin_on(connection.clone(), PRODUCT, request.product_id);
        let service = service.clone();
        let key = key.clone();
        async move { service.read(&context, &key, fetch).await }
    });
    let results = futures_util::future::join_all(requests).await;
    let mut outcomes = Vec::with_capacity(results.len());
    for result in results {
        outcomes.push(result.map_err(origin_failed)?.outcome);
    }
    let (hits_after, _) = service.statistics(student.id.as_str());
    Ok(Json(StampedeReport {
        n: request.n,
        coalescing: settings.coalescing,
        // A reset of the statistics during the stampede must not underflow.
        origin_hits: hits_after.saturating_sub(hits_before),
        outcomes,
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
    }))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// `GET /labs/cache/stats`.
#[utoipa::path(get, path = "/stats",
    summary = "Hit ratio, latency percentiles and your recent requests",
    description = "What your recent reads through the cache add up to (hits, p50 and p95 latency, origin hits), and each of them for the chart.",
    responses(
        (status = 200, description = "The statistics", body = model::labs::cache::Stats),
    ))]
pub(super) async fn stats(LabState(service): LabState<CacheLab>, student: Student) -> Json<Stats> {
    let (origin_hits, recent) = service.statistics(student.id.as_str());
    let mut latencies: Vec<f64> = recent.iter().map(|s| s.latency_ms).collect();
    latencies.sort_by(f64::total_cmp);
    let hits = recent.iter().filter(|s| s.outcome == Outcome::Hit).count();
    Json(Stats {
        requests: recent.len(),
        hits,
        hit_ratio: if recent.is_empty() {
            0.0
        } else {
            hits as f64 / recent.len() as f64
        },
        p50_ms: percentile(&latencies, 0.5),
        p95_ms: percentile(&latencies, 0.95),
        origin_hits,
        redis_configured: service.has_redis(),
        recent,
    })
}

/// `DELETE /labs/cache/entries`: a cold cache and fresh statistics.
#[utoipa::path(delete, path = "/entries",
    summary = "Empty your cache and statistics",
    description = "Drops your cached products and catalog page (in the cache your settings choose) and starts your statistics afresh.",
    responses(
        (status = 204, description = "Your cache is cold and your statistics are empty"),
    ))]
pub(super) async fn clear(
    LabState(service): LabState<CacheLab>,
    student: Student,
    CurrentSettings(settings, _): CurrentSettings<CacheLab>,
) -> StatusCode {
    let keys: Vec<String> = (1..=1000)
        .map(product_key)
        .chain([PAGE_KEY.to_string()])
        .collect();
    if settings.backend == super::Backend::Redis {
        service.evict(student.id.as_str(), &settings, &keys).await;
    }
    service.clear(student.id.as_str());
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let data: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&data, 0.5), 50.0);
        assert_eq!(percentile(&data, 0.95), 95.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
        assert_eq!(percentile(&[7.0], 0.95), 7.0);
    }
}
