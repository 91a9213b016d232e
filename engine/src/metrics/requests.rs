//! Every HTTP request counted and timed, by method, route and status.
//!
//! The route is the router's template (`/labs/gateway/catalog/items/{id}`),
//! never the path a client sent, so the series stay few whatever the
//! clients ask for: [`note_route`] reads it where the router matched and
//! hands it out on the response to [`count_requests`], which wraps every
//! request and so also sees the panics and refusals of the outer layers.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use super::exposition::{Exposition, Kind};
use super::Metrics;

/// The duration histogram's upper bounds, in seconds: from a cached page
/// (well under a millisecond) to a long grading run.
pub(crate) const BOUNDS: [f64; 13] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The route label of a request no route matched: the browser assets
/// (`/pkg/...`, answered by a file server behind the router) and 404s.
pub const UNMATCHED: &str = "(unmatched)";

/// At most this many routes are told apart; past them the rest share one
/// series. Templates are finite, but a mistake that labelled requests by
/// their raw path must not grow the map without end.
const MAX_ROUTES: usize = 1_000;
/// The route label past [`MAX_ROUTES`].
const OTHER_ROUTES: &str = "(other)";

/// The methods told apart; anything else is `OTHER`.
const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER",
];

/// Requests answered and in flight, since the process started.
#[derive(Default)]
pub struct RequestMetrics {
    routes: RwLock<HashMap<Arc<str>, Arc<RouteSeries>>>,
    in_flight: AtomicUsize,
}

/// One route's series, one per method, made when first used.
#[derive(Default)]
struct RouteSeries {
    methods: [OnceLock<Series>; METHODS.len()],
}

/// One method on one route.
#[derive(Default)]
struct Series {
    /// Answers by status code.
    statuses: Mutex<BTreeMap<u16, u64>>,
    /// Answers by duration: `buckets[i]` counts those within `BOUNDS[i]`
    /// and above the bound before; the last, those past every bound.
    buckets: [AtomicU64; BOUNDS.len() + 1],
    /// All their durations, in microseconds.
    total_micros: AtomicU64,
}

impl RequestMetrics {
    /// Counts one answer.
    pub fn observe(&self, method: &Method, route: &str, status: u16, took: Duration) {
        let series = self.route(route);
        let series = series.methods[method_index(method)].get_or_init(Series::default);
        *series
            .statuses
            .lock()
            .expect("the status counts are never poisoned")
            .entry(status)
            .or_default() += 1;
        let seconds = took.as_secs_f64();
        let bucket = BOUNDS.partition_point(|bound| *bound < seconds);
        series.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        series.total_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Requests being answered now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    fn route(&self, route: &str) -> Arc<RouteSeries> {
        if let Some(series) = self.routes.read().expect("never poisoned").get(route) {
            return series.clone();
        }
        let mut routes = self.routes.write().expect("never poisoned");
        let route = if routes.len() < MAX_ROUTES || routes.contains_key(route) {
            route
        } else {
            OTHER_ROUTES
        };
        routes.entry(Arc::from(route)).or_default().clone()
    }

    /// Writes the request families: answers by status, durations, and
    /// requests in flight.
    pub fn expose(&self, page: &mut Exposition) {
        let routes = self.snapshot();
        page.family(
            "workbench_http_requests_total",
            Kind::Counter,
            "HTTP requests answered, by method, route template and status code.",
        );
        for (route, series) in &routes {
            for (method, series) in series.used_methods() {
                let statuses = series.statuses.lock().expect("never poisoned").clone();
                for (status, count) in statuses {
                    let status = status.to_string();
                    page.sample(
                        "workbench_http_requests_total",
                        &[("method", method), ("route", route), ("status", &status)],
                        count,
                    );
                }
            }
        }
        page.family(
            "workbench_http_request_duration_seconds",
            Kind::Histogram,
            "Time from a request's arrival to its answer's headers, by method and route template \
             (a stream's body may go on after).",
        );
        for (route, series) in &routes {
            for (method, series) in series.used_methods() {
                let counts: Vec<u64> = series
                    .buckets
                    .iter()
                    .map(|count| count.load(Ordering::Relaxed))
                    .collect();
                let total = series.total_micros.load(Ordering::Relaxed) as f64 / 1e6;
                page.histogram(
                    "workbench_http_request_duration_seconds",
                    &[("method", method), ("route", route)],
                    &BOUNDS,
                    &counts,
                    total,
                );
            }
        }
        page.single(
            "workbench_http_requests_in_flight",
            Kind::Gauge,
            "HTTP requests being answered now.",
            self.in_flight(),
        );
    }

    /// The routes in name order, so the page reads the same way every time.
    fn snapshot(&self) -> Vec<(Arc<str>, Arc<RouteSeries>)> {
        let mut routes: Vec<_> = self
            .routes
            .read()
            .expect("never poisoned")
            .iter()
            .map(|(route, series)| (route.clone(), series.clone()))
            .collect();
        routes.sort_by(|a, b| a.0.cmp(&b.0));
        routes
    }
}

impl RouteSeries {
    fn used_methods(&self) -> impl Iterator<Item = (&'static str, &Series)> {
        METHODS
            .iter()
            .zip(&self.methods)
            .filter_map(|(name, series)| Some((*name, series.get()?)))
    }
}

fn method_index(method: &Method) -> usize {
    match *method {
        Method::GET => 0,
        Method::HEAD => 1,
        Method::POST => 2,
        Method::PUT => 3,
        Method::PATCH => 4,
        Method::DELETE => 5,
        Method::OPTIONS => 6,
        _ => 7,
    }
}

/// Middleware around every route: passes the template the router matched
/// out on the response, for [`count_requests`].
pub async fn note_route(request: Request, next: Next) -> Response {
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(matched) = matched {
        response.extensions_mut().insert(matched);
    }
    response
}

/// Middleware around everything: counts and times every request.
pub async fn count_requests(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let requests = &metrics.requests;
    requests.in_flight.fetch_add(1, Ordering::Relaxed);
    // Counted down even if the client goes away and the future is dropped.
    let _leaving = InFlight(&requests.in_flight);
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str);
    requests.observe(
        &method,
        route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_counted_by_status_and_bucketed_by_duration() {
        let metrics = RequestMetrics::default();
        let get = Method::GET;
        metrics.observe(&get, "/a/{id}", 200, Duration::from_micros(300));
        metrics.observe(&get, "/a/{id}", 200, Duration::from_millis(30));
        metrics.observe(&get, "/a/{id}", 404, Duration::from_secs(20));
        metrics.observe(
            &Method::from_bytes(b"BREW").unwrap(),
            "/a/{id}",
            405,
            Duration::ZERO,
        );
        let mut page = Exposition::default();
        metrics.expose(&mut page);
        let text = page.finish();
        for line in [
            "workbench_http_requests_total{method=\"GET\",route=\"/a/{id}\",status=\"200\"} 2",
            "workbench_http_requests_total{method=\"GET\",route=\"/a/{id}\",status=\"404\"} 1",
            "workbench_http_requests_total{method=\"OTHER\",route=\"/a/{id}\",status=\"405\"} 1",
            "workbench_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{id}\",le=\"0.0005\"} 1",
            "workbench_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{id}\",le=\"0.025\"} 1",
            "workbench_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{id}\",le=\"0.05\"} 2",
            "workbench_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{id}\",le=\"10\"} 2",
            "workbench_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{id}\",le=\"+Inf\"} 3",
            "workbench_http_request_duration_seconds_count{method=\"GET\",route=\"/a/{id}\"} 3",
            "workbench_http_request_duration_seconds_sum{method=\"GET\",route=\"/a/{id}\"} 20.0303",
        ] {
            assert!(text.contains(&format!("{line}\n")), "{line} missing from:\n{text}");
        }
    }

    #[test]
    fn routes_past_the_limit_share_one_series() {
        let metrics = RequestMetrics::default();
        for i in 0..MAX_ROUTES + 5 {
            metrics.observe(&Method::GET, &format!("/r/{i}"), 200, Duration::ZERO);
        }
        let routes = metrics.snapshot();
        assert_eq!(routes.len(), MAX_ROUTES + 1);
        assert!(routes.iter().any(|(route, _)| &**route == OTHER_ROUTES));
    }
}
