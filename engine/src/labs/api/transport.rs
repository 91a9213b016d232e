//! Under HTTP: the same requests sent three ways, to see what connections
//! and multiplexing cost.
//!
//! `POST /labs/api/transport-race` starts a small server of its own on a
//! loopback port, whose one route waits `latency_ms` and answers. It then
//! sends `requests` requests to it over real TCP: over HTTP/1.1 on one
//! kept-alive connection (one request at a time), over HTTP/1.1 on six
//! connections (as a browser does per origin), and over HTTP/2 without TLS
//! on one connection (all at once, as streams). The server side counts the
//! connections it accepted and the requests it was working on at once;
//! the client side times each request. The answer holds both, for the
//! lesson's waterfall.
//!
//! Bounds: one race per student at a time, [`MAX_RACING`] on the whole
//! server (`503` with `Retry-After` beyond it), at most [`MAX_REQUESTS`]
//! requests each way and [`MAX_LATENCY_MS`] each, so a race ends in a few
//! seconds.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use model::labs::api::{
    TransportRace, TransportRaceRequest, TransportRequestTiming, TransportRun, TransportWay,
};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::problem::{invalid_at, ApiProblem, Kind};
use super::ApiLab;
use crate::connection::{Connection, RequestOnConnection};
use crate::error::extract::Json as JsonBody;
use crate::error::ApiError;
use crate::identity::Student;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::LabState;
use crate::students::StudentId;

/// Most requests sent each way.
pub(crate) const MAX_REQUESTS: u32 = 30;
/// The longest the demo server may wait before each answer.
pub(crate) const MAX_LATENCY_MS: u32 = 200;
/// Races running at once on the whole server.
const MAX_RACING: usize = 2;
/// The connections a browser opens per origin over HTTP/1.1.
const BROWSER_CONNECTIONS: usize = 6;
/// Longest one way may take before the race gives up on it: far more than
/// the bounds above allow, so only a broken network hits it.
const WAY_TIMEOUT: Duration = Duration::from_secs(30);

/// The races running now.
pub(crate) struct Races {
    running: Arc<Semaphore>,
    students: Mutex<HashSet<StudentId>>,
}

impl Default for Races {
    fn default() -> Self {
        Self {
            running: Arc::new(Semaphore::new(MAX_RACING)),
            students: Mutex::default(),
        }
    }
}

/// Frees the student's place when their race ends, however it ends.
struct Racing<'a> {
    races: &'a Races,
    student: StudentId,
}

impl Drop for Racing<'_> {
    fn drop(&mut self) {
        self.races
            .students
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.student);
    }
}

/// `POST /labs/api/transport-race`: the same requests three ways.
#[utoipa::path(post, path = "/transport-race", operation_id = "transport_race",
    summary = "Send the same requests over HTTP/1.1 on one connection, on six, and over HTTP/2 on one",
    description = "Starts a small server on a loopback port whose one route waits `latency_ms` before answering, sends it `requests` requests each way over real TCP, and reports the connections the server accepted, the most requests it worked on at once, and when each request was sent and answered. One race per student at a time.",
    request_body = model::labs::api::TransportRaceRequest,
    responses(
        (status = 200, description = "What each way cost", body = model::labs::api::TransportRace),
        (status = 409, description = "A race of yours is already running", body = model::labs::api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A value is out of range", body = model::labs::api::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The server runs as many races as it allows", body = model::labs::api::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again"))),
    ))]
pub(super) async fn race(
    student: Student,
    LabState(state): LabState<ApiLab>,
    inspector: Inspector,
    JsonBody(asked): JsonBody<TransportRaceRequest>,
) -> Result<Response, ApiError> {
    if let Err(problem) = check(&asked) {
        return Ok(problem.answer(&inspector));
    }
    let races = &state.races;
    if !races
        .students
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(student.id.clone())
    {
        return Ok(ApiProblem::new(
            Kind::RaceRunning,
            "Your last race has not finished; its answer will come first.",
        )
        .answer(&inspector));
    }
    let _racing = Racing {
        races,
        student: student.id.clone(),
    };
    let Ok(_permit) = races.running.clone().try_acquire_owned() else {
        return Ok(ApiProblem::new(
            Kind::RaceBusy,
            format!("{MAX_RACING} races are running on this server; try again in a few seconds."),
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from_static("5"))
        .answer(&inspector));
    };

    let target = DemoServer::start(Duration::from_millis(asked.latency_ms.into())).await?;
    let mut runs = Vec::with_capacity(3);
    for way in [
        TransportWay::Http1OneConnection,
        TransportWay::Http1SixConnections,
        TransportWay::Http2OneConnection,
    ] {
        let run = tokio::time::timeout(WAY_TIMEOUT, target.run(way, asked.requests))
            .await
            .map_err(|_| {
                ApiError::Unavailable("The demo server did not answer in time.".into())
            })??;
        inspector.record(&WayTimed::of(&run));
        runs.push(run);
    }
    drop(target);
    Ok(Json(TransportRace {
        requests: asked.requests,
        latency_ms: asked.latency_ms,
        runs,
    })
    .into_response())
}

fn check(asked: &TransportRaceRequest) -> Result<(), ApiProblem> {
    let mut errors = Vec::new();
    if !(1..=MAX_REQUESTS).contains(&asked.requests) {
        errors.push(invalid_at(
            "/requests",
            format!("must be between 1 and {MAX_REQUESTS}"),
        ));
    }
    if asked.latency_ms > MAX_LATENCY_MS {
        errors.push(invalid_at(
            "/latency_ms",
            format!("must be between 0 and {MAX_LATENCY_MS}"),
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiProblem::invalid(errors))
    }
}

/// The inspector's record of one way's figures.
#[derive(serde::Serialize)]
struct WayTimed<'a> {
    way: TransportWay,
    http_version: &'a str,
    requests: usize,
    connections_opened: u32,
    max_in_flight: u32,
    total_ms: f64,
}

impl<'a> WayTimed<'a> {
    fn of(run: &'a TransportRun) -> Self {
        Self {
            way: run.way,
            http_version: &run.http_version,
            requests: run.requests.len(),
            connections_opened: run.connections_opened,
            max_in_flight: run.max_in_flight,
            total_ms: run.total_ms,
        }
    }
}

impl LabEvent for WayTimed<'_> {
    const KIND: &'static str = "api.transport";
    fn summary(&self) -> String {
        format!(
            "{} requests over {} on {} connection{}: {:.0} ms",
            self.requests,
            self.http_version,
            self.connections_opened,
            if self.connections_opened == 1 {
                ""
            } else {
                "s"
            },
            self.total_ms
        )
    }
}

/// The race's own server: real TCP on a loopback port, for one race.
struct DemoServer {
    address: SocketAddr,
    load: Arc<Load>,
    serving: tokio::task::JoinHandle<()>,
}

/// However the race ends (an error or a timeout included), its server stops
/// accepting; the connections it has close as their clients drop them.
impl Drop for DemoServer {
    fn drop(&mut self) {
        self.serving.abort();
    }
}

/// What the demo server counts while a way runs.
#[derive(Default)]
struct Load {
    in_flight: AtomicU32,
    max_in_flight: AtomicU32,
}

impl Load {
    fn reset(&self) {
        self.in_flight.store(0, Ordering::SeqCst);
        self.max_in_flight.store(0, Ordering::SeqCst);
    }
}

/// Counts a request as in flight until dropped.
struct InFlight<'a>(&'a Load);

impl<'a> InFlight<'a> {
    fn enter(load: &'a Load) -> Self {
        let now = load.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        load.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Self(load)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The headers the demo server answers with: where the request came.
const CONNECTION_HEADER: &str = "x-connection";
const NUMBER_HEADER: &str = "x-request-on-connection";

impl DemoServer {
    async fn start(latency: Duration) -> Result<Self, ApiError> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| ApiError::Unavailable(format!("The demo server could not start: {e}")))?;
        let address = listener
            .local_addr()
            .map_err(|e| ApiError::Unavailable(format!("The demo server could not start: {e}")))?;
        let load = Arc::new(Load::default());
        let app = Router::new()
            .route("/slow", get(answer_slowly))
            .with_state((load.clone(), latency))
            .layer(axum::middleware::map_request(
                crate::connection::number_requests,
            ));
        let service = app.into_make_service_with_connect_info::<Connection>();
        let serving = tokio::spawn(async move {
            let _ = axum::serve(crate::connection::NoDelay(listener), service).await;
        });
        Ok(Self {
            address,
            load,
            serving,
        })
    }

    /// Sends `count` requests one way and times them.
    async fn run(&self, way: TransportWay, count: u32) -> Result<TransportRun, ApiError> {
        self.load.reset();
        let url = format!("http://{}/slow", self.address);
        let started = Instant::now();
        let mut timings = match way {
            TransportWay::Http1OneConnection => send_in_turn(&url, count, 1, started).await?,
            TransportWay::Http1SixConnections => {
                send_in_turn(&url, count, BROWSER_CONNECTIONS, started).await?
            }
            TransportWay::Http2OneConnection => send_all_at_once(&url, count, started).await?,
        };
        let total_ms = millis(started.elapsed());
        timings.sort_by(|a, b| a.timing.sent_ms.total_cmp(&b.timing.sent_ms));
        let (connections_opened, timings) = renumber_connections(timings);
        Ok(TransportRun {
            way,
            http_version: match way {
                TransportWay::Http2OneConnection => "HTTP/2",
                _ => "HTTP/1.1",
            }
            .into(),
            connections_opened,
            max_in_flight: self.load.max_in_flight.load(Ordering::SeqCst),
            total_ms,
            requests: timings,
        })
    }
}

/// The demo route: wait, then say where the request came.
async fn answer_slowly(
    State((load, latency)): State<(Arc<Load>, Duration)>,
    request: axum::extract::Request,
) -> impl IntoResponse {
    let _counted = InFlight::enter(&load);
    tokio::time::sleep(latency).await;
    let place = request.extensions().get::<RequestOnConnection>().copied();
    let mut headers = HeaderMap::new();
    if let Some(place) = place {
        headers.insert(CONNECTION_HEADER, place.connection.into());
        headers.insert(NUMBER_HEADER, place.number.into());
    }
    (headers, "ok")
}

/// A request's timing, with the connection id the demo server gave.
struct Timed {
    connection_id: u64,
    timing: TransportRequestTiming,
}

fn client_failed(error: reqwest::Error) -> ApiError {
    ApiError::Unavailable(format!("The demo client could not start: {error}"))
}

/// `workers` HTTP/1.1 connections take the requests in turn, one at a
/// time each, as a browser's connection pool does.
async fn send_in_turn(
    url: &str,
    count: u32,
    workers: usize,
    started: Instant,
) -> Result<Vec<Timed>, ApiError> {
    let next = Arc::new(AtomicU32::new(0));
    let mut tasks = Vec::with_capacity(workers);
    for _ in 0..workers {
        // One client per worker: each has its own pool, so its own connection.
        let client = reqwest::Client::builder()
            .http1_only()
            .pool_max_idle_per_host(1)
            .no_proxy()
            .build()
            .map_err(client_failed)?;
        let (next, url) = (next.clone(), url.to_string());
        tasks.push(async move {
            let mut timings = Vec::new();
            while next.fetch_add(1, Ordering::SeqCst) < count {
                timings.push(timed_get(&client, &url, started).await?);
            }
            Ok::<_, ApiError>(timings)
        });
    }
    let mut timings = Vec::with_capacity(count as usize);
    for worker in futures_util::future::join_all(tasks).await {
        timings.extend(worker?);
    }
    Ok(timings)
}

/// HTTP/2 without TLS ("prior knowledge"): every request at once, as
/// streams of one connection.
async fn send_all_at_once(url: &str, count: u32, started: Instant) -> Result<Vec<Timed>, ApiError> {
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .no_proxy()
        .build()
        .map_err(client_failed)?;
    let requests = (0..count).map(|_| timed_get(&client, url, started));
    futures_util::future::join_all(requests)
        .await
        .into_iter()
        .collect()
}

async fn timed_get(
    client: &reqwest::Client,
    url: &str,
    started: Instant,
) -> Result<Timed, ApiError> {
    let sent_ms = millis(started.elapsed());
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| ApiError::Unavailable(format!("The demo request failed: {e}")))?;
    let header_number = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_default()
    };
    let connection_id = header_number(CONNECTION_HEADER);
    let number_on_connection = u32::try_from(header_number(NUMBER_HEADER)).unwrap_or(u32::MAX);
    response
        .bytes()
        .await
        .map_err(|e| ApiError::Unavailable(format!("The demo answer was cut: {e}")))?;
    Ok(Timed {
        connection_id,
        timing: TransportRequestTiming {
            connection: 0,
            number_on_connection,
            sent_ms,
            answered_ms: millis(started.elapsed()),
        },
    })
}

/// Numbers the server's connection ids from 1 in the order they were first
/// used; returns how many there were, and the timings.
fn renumber_connections(timed: Vec<Timed>) -> (u32, Vec<TransportRequestTiming>) {
    let mut seen: HashMap<u64, u32> = HashMap::new();
    let timings = timed
        .into_iter()
        .map(
            |Timed {
                 connection_id,
                 mut timing,
             }| {
                let next = seen.len() as u32 + 1;
                timing.connection = *seen.entry(connection_id).or_insert(next);
                timing
            },
        )
        .collect();
    (seen.len() as u32, timings)
}

fn millis(elapsed: Duration) -> f64 {
    (elapsed.as_secs_f64() * 1000.0 * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_numbered_by_first_use() {
        let at = |connection_id, sent_ms| Timed {
            connection_id,
            timing: TransportRequestTiming {
                connection: 0,
                number_on_connection: 1,
                sent_ms,
                answered_ms: sent_ms + 1.0,
            },
        };
        let (opened, timings) =
            renumber_connections(vec![at(907, 0.0), at(905, 1.0), at(907, 2.0)]);
        assert_eq!(opened, 2);
        let numbers: Vec<u32> = timings.iter().map(|t| t.connection).collect();
        assert_eq!(numbers, [1, 2, 1]);
    }

    #[test]
    fn out_of_range_races_are_refused() {
        assert!(check(&TransportRaceRequest::default()).is_ok());
        for bad in [
            TransportRaceRequest {
                requests: 0,
                ..Default::default()
            },
            TransportRaceRequest {
                requests: MAX_REQUESTS + 1,
                ..Default::default()
            },
            TransportRaceRequest {
                latency_ms: MAX_LATENCY_MS + 1,
                ..Default::default()
            },
        ] {
            assert!(check(&bad).is_err(), "{bad:?}");
        }
    }
}
