//! The catalog replicas: small axum services, each listening on a loopback
//! port of its own and reached over real TCP. Each student has their own
//! replicas (started on their first request through the gateway, stopped
//! when idle), so every capacity and fault is theirs alone, and a killed
//! replica really refuses connections: its listener is closed and its open
//! connections cut, as when a process dies.

use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use model::labs::gateway::{CatalogItem, ReplicaSettings};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};

use crate::seeded::SplitMix64;

/// The header the gateway proves itself with: replicas answer nobody else
/// (a student's probe cannot reach into another student's replicas).
pub(crate) const TOKEN_HEADER: &str = "x-workbench-gateway";
/// The header with which the gateway tells a replica whose request it is,
/// once it has checked the key: the replica takes its word for it.
pub(crate) const CONSUMER_HEADER: &str = "x-consumer";
/// A hanging replica lets go of a request after this long at most, so a
/// hang cannot pile up tasks for ever.
const HANG_AT_MOST: Duration = Duration::from_secs(60);

/// Items in the catalog: `/items/1` to `/items/1000`.
pub(crate) const CATALOG_ITEMS: u32 = 1000;

/// One replica: its port, this student's settings for it, and what it did.
pub(crate) struct Replica {
    /// 1-based.
    pub(crate) number: u8,
    port: AtomicU16,
    work: Arc<Work>,
    /// The accept loop while it runs; `None` while killed.
    running: Mutex<Option<JoinHandle<()>>>,
}

/// What a replica's handler reads and counts.
struct Work {
    number: u8,
    token: String,
    settings: Mutex<ReplicaSettings>,
    /// Its slots; replaced (not resized) when the capacity changes, so
    /// requests holding a slot of the old one finish on it.
    slots: Mutex<Arc<Semaphore>>,
    dice: Mutex<SplitMix64>,
    /// When it last started listening: a cold start counts from here.
    started: Mutex<Instant>,
    in_flight: AtomicU32,
    queued: AtomicU32,
    answered: AtomicU64,
    errors: AtomicU64,
}

/// What a replica reports of itself.
pub(crate) struct ReplicaCounts {
    pub(crate) port: u16,
    pub(crate) in_flight: u32,
    pub(crate) queued: u32,
    pub(crate) answered: u64,
    pub(crate) errors: u64,
    pub(crate) settings: ReplicaSettings,
}

impl Replica {
    /// Starts replica `number` on a free loopback port, its fault dice
    /// seeded from `seed`.
    pub(crate) async fn start(
        number: u8,
        settings: ReplicaSettings,
        seed: u64,
        token: String,
    ) -> std::io::Result<Self> {
        let capacity = settings.capacity as usize;
        let work = Arc::new(Work {
            number,
            token,
            settings: Mutex::new(settings.clone()),
            slots: Mutex::new(Arc::new(Semaphore::new(capacity))),
            dice: Mutex::new(dice_for(seed, number)),
            started: Mutex::new(Instant::now()),
            in_flight: AtomicU32::new(0),
            queued: AtomicU32::new(0),
            answered: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        });
        let replica = Self {
            number,
            port: AtomicU16::new(0),
            work,
            running: Mutex::new(None),
        };
        if !settings.killed {
            replica.listen(0).await?;
        }
        Ok(replica)
    }

    /// Its port (the last one it listened on, while killed).
    pub(crate) fn port(&self) -> u16 {
        self.port.load(Ordering::SeqCst)
    }

    /// Takes this student's settings for it: a kill stops it, a revival
    /// starts it again on the same port (or a new one if that was taken).
    pub(crate) async fn apply(&self, settings: &ReplicaSettings) -> std::io::Result<()> {
        let changed_capacity = {
            let mut current = lock(&self.work.settings);
            let changed = current.capacity != settings.capacity;
            *current = settings.clone();
            changed
        };
        if changed_capacity {
            *lock(&self.work.slots) = Arc::new(Semaphore::new(settings.capacity as usize));
        }
        let running = lock(&self.running).is_some();
        match (settings.killed, running) {
            (true, true) => self.kill(),
            (false, false) => self.listen(self.port()).await?,
            _ => {}
        }
        Ok(())
    }

    /// Listens on `port` (0: any free one) and serves until killed.
    async fn listen(&self, port: u16) -> std::io::Result<()> {
        let listener = match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(listener) => listener,
            Err(_) if port != 0 => TcpListener::bind(("127.0.0.1", 0)).await?,
            Err(e) => return Err(e),
        };
        self.port
            .store(listener.local_addr()?.port(), Ordering::SeqCst);
        *lock(&self.work.started) = Instant::now();
        let app = Router::new()
            .route("/items/{id}", get(item))
            .route("/health", get(health))
            .with_state(self.work.clone());
        let mut running = lock(&self.running);
        if let Some(old) = running.replace(tokio::spawn(serve(listener, app))) {
            old.abort();
        }
        Ok(())
    }

    /// Stops at once, as a crashed process: the port refuses connections
    /// and the open ones are cut, answered or not.
    pub(crate) fn kill(&self) {
        if let Some(running) = lock(&self.running).take() {
            running.abort();
        }
    }

    /// What it holds and has done now.
    pub(crate) fn counts(&self) -> ReplicaCounts {
        let work = &self.work;
        ReplicaCounts {
            port: self.port(),
            in_flight: work.in_flight.load(Ordering::SeqCst),
            queued: work.queued.load(Ordering::SeqCst),
            answered: work.answered.load(Ordering::SeqCst),
            errors: work.errors.load(Ordering::SeqCst),
            settings: lock(&work.settings).clone(),
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Replica `number`'s fault dice for a run seeded with `seed`.
pub(crate) fn dice_for(seed: u64, number: u8) -> SplitMix64 {
    SplitMix64::new(seed ^ u64::from(number))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Accepts connections until aborted; aborting drops every connection's
/// task with it (the set is the loop's own).
pub(super) async fn serve(listener: TcpListener, app: Router) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let service = TowerToHyperService::new(app.clone());
                    connections.spawn(async move {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
                // Out of file descriptors, for one: let the others finish.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Whether a request comes from this replica's gateway.
fn from_gateway(work: &Work, headers: &HeaderMap) -> bool {
    headers
        .get(TOKEN_HEADER)
        .is_some_and(|value| value.as_bytes() == work.token.as_bytes())
}

const NOT_THE_GATEWAY: (StatusCode, &str) =
    (StatusCode::FORBIDDEN, "replicas answer their gateway only");

/// `GET /health` on a replica: a shallow check, passed by any replica that
/// answers at all (a hanging one does not).
async fn health(State(work): State<Arc<Work>>, headers: HeaderMap) -> Response {
    if !from_gateway(&work, &headers) {
        return NOT_THE_GATEWAY.into_response();
    }
    if lock(&work.settings).hang {
        tokio::time::sleep(HANG_AT_MOST).await;
    }
    "ok".into_response()
}

/// `GET /items/{id}` on a replica: wait for a slot, then work, fail or
/// hang as this student's settings say.
async fn item(State(work): State<Arc<Work>>, headers: HeaderMap, Path(id): Path<u32>) -> Response {
    if !from_gateway(&work, &headers) {
        return NOT_THE_GATEWAY.into_response();
    }
    if id == 0 || id > CATALOG_ITEMS {
        return (StatusCode::NOT_FOUND, "no such item").into_response();
    }
    let settings = lock(&work.settings).clone();
    let slots = lock(&work.slots).clone();
    let slot = {
        let _waiting = Counted::new(&work.queued);
        slots.acquire_owned().await
    };
    let Ok(_slot) = slot else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let _working = Counted::new(&work.in_flight);
    if settings.hang {
        tokio::time::sleep(HANG_AT_MOST).await;
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let since_start_ms = lock(&work.started).elapsed().as_millis() as u64;
    let served = roll(&settings, &mut lock(&work.dice), since_start_ms);
    work.answered.fetch_add(1, Ordering::SeqCst);
    if served.fails {
        // A broken replica fails fast.
        work.errors.fetch_add(1, Ordering::SeqCst);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("replica {} is failing", work.number),
        )
            .into_response();
    }
    // Tokio's timer ticks in whole milliseconds: even a zero sleep waits for
    // the next tick, which would give a replica set to no service time one.
    if served.work_us > 0 {
        tokio::time::sleep(Duration::from_micros(served.work_us)).await;
    }
    Json(CatalogItem {
        id,
        name: format!("Item {id}"),
        price_cents: 100 + (id * 37) % 9900,
        replica: work.number,
        consumer: headers
            .get(CONSUMER_HEADER)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned),
    })
    .into_response()
}

/// What one request comes to once it has a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Served {
    /// Answered `503` at once (the error rate).
    pub(crate) fails: bool,
    /// Otherwise, how long the work takes, in microseconds.
    pub(crate) work_us: u64,
}

/// A cold replica's first requests take this many times their service time.
const COLD_FACTOR: f64 = 10.0;
/// The longest jitter, in means.
const JITTER_CAP: f64 = 10.0;

/// Rolls one request's fate with the replica's dice, `since_start_ms`
/// after it (re)started: the error rate first, then the slow tail, then the
/// jitter (exponential, its mean `jitter_ms`, cut at ten times that), and a
/// cold start stretching the service time and jitter from ten times down
/// to once over `warmup_ms`. The live replica and the brownout replay both
/// come here, so a seed gives both the same dice.
pub(crate) fn roll(
    settings: &ReplicaSettings,
    dice: &mut SplitMix64,
    since_start_ms: u64,
) -> Served {
    let fails = dice.percent(settings.error_percent);
    let slow = dice.percent(settings.slow_percent);
    let jitter_ms = if settings.jitter_ms == 0 {
        0.0
    } else {
        let exponential = -(1.0 - dice.unit()).ln();
        exponential.min(JITTER_CAP) * f64::from(settings.jitter_ms)
    };
    let warmup = u64::from(settings.warmup_ms);
    let cold = if since_start_ms < warmup {
        let left = 1.0 - since_start_ms as f64 / warmup as f64;
        1.0 + (COLD_FACTOR - 1.0) * left
    } else {
        1.0
    };
    let extra_ms = if slow { settings.slow_ms } else { 0 };
    let work_ms = (f64::from(settings.service_ms) + jitter_ms) * cold + f64::from(extra_ms);
    Served {
        fails,
        work_us: (work_ms * 1000.0).round() as u64,
    }
}

/// Counts a request (waiting, or working) until dropped: answered, or cut
/// off when the gateway gave up on it.
struct Counted<'a>(&'a AtomicU32);

impl<'a> Counted<'a> {
    fn new(count: &'a AtomicU32) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
