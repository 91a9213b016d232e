//! The gateway lab: a gateway in front of real replicas of a small catalog
//! service, each on its own loopback port, balanced by the algorithm the
//! student picks, with the student's own faults on each replica, and what
//! keeps failures from spreading: a per-try timeout, retries and hedges
//! within a budget, a circuit breaker per replica, and shedding when every
//! replica is full ([`resilience`]).
//!
//! | route | what it does |
//! |---|---|
//! | `GET /labs/gateway/catalog/items/{id}` | one request through the gateway: it picks a replica and forwards over TCP |
//! | `GET /labs/gateway/replicas` | the student's replicas: ports, requests in flight and waiting, answers, the gateway's estimates, breakers and health |
//! | `POST /labs/gateway/load` | an open-loop run through the gateway (up to 200 requests a second for 60 s) |
//! | `GET /labs/gateway/load` | the latest run, live: success, p50/p95/p99, tries per request, each replica's share, second by second |
//! | `DELETE /labs/gateway/load` | stops the run |
//! | `POST /labs/gateway/replay` | the same run replayed at once on a virtual clock (how the brownout exercise is graded) |
//! | `GET /labs/gateway/shop/{monolith,bff}/customers/{id}/orders` | the shop's order page from one query, or from three services ([`shop`]) |
//! | `POST /labs/gateway/shop/compare` | many order pages built both ways |
//!
//! In front of the replicas sits the gateway's front door ([`front`]): an
//! API key checked once, and a rate limit by the rate-limit lab's
//! algorithms.
//!
//! The trace of a request shows each try: the gateway's choice
//! (`gateway.pick`, with what it knew of each replica), the try
//! (`gateway.try`: which port, how it ended, how long it took, the
//! replica's breaker after it), and after a failure whether it was tried
//! again (`gateway.retry`, with the budget's count).

mod balance;
mod checks;
mod front;
mod health;
mod load;
mod proxy;
mod replay;
mod replicas;
mod resilience;
mod shop;
mod steering;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use model::labs::gateway::{GatewaySettings, MAX_REPLICAS};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Lab, LabContext, LabSettings};
use crate::clock::Clock;
use crate::error::ApiError;
use crate::grading::lab::LabChecks;
use crate::labs::ratelimit::Limiters;
use crate::labs::Labs;
use crate::students::StudentId;
use replicas::Replica;
use steering::Steering;

/// Students whose replicas run at once; each has at most five listening
/// ports and their connections.
const MAX_STUDENTS: usize = 400;
/// A student's replicas stop after this long without a request.
const IDLE_MS: i64 = 10 * 60 * 1000;
/// Bytes the front doors' rate limiters may hold in all.
const LIMITERS_BUDGET: usize = 4 << 20;

/// The gateway lab.
pub struct GatewayLab;

impl Lab for GatewayLab {
    const NAME: &'static str = "gateway";
    const TITLE: &'static str = "Gateways and load balancing: replicas, algorithms and faults";
    type Settings = GatewaySettings;
    type State = Gateway;

    fn state(context: &LabContext) -> Self::State {
        Gateway::new(context.clock.clone())
    }

    fn routes(_state: &Labs) -> OpenApiRouter<Labs> {
        OpenApiRouter::default()
            .routes(routes!(proxy::item))
            .routes(routes!(proxy::replicas))
            .routes(routes!(load::start, load::show, load::stop))
            .routes(routes!(load::replayed))
            .routes(routes!(shop::monolith))
            .routes(routes!(shop::bff))
            .routes(routes!(shop::compare))
    }

    fn forget_idle(labs: &Labs) {
        labs.get::<Self>().forget_idle();
    }

    fn gauges(gateway: &Gateway, gauges: &mut crate::labs::LabGauges<'_>) {
        let students = gateway
            .students
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len();
        gauges.gauge(
            "students",
            "Students whose gateway and replicas are running.",
            students,
        );
    }

    fn checks() -> Option<LabChecks> {
        Some(LabChecks {
            lab: Self::NAME,
            load: checks::load,
        })
    }
}

impl LabSettings for GatewaySettings {
    fn validate(&self) -> Result<(), String> {
        let replicas = usize::from(self.replicas);
        if !(1..=MAX_REPLICAS).contains(&replicas) {
            return Err(format!(
                "replicas must be between 1 and {MAX_REPLICAS}, not {replicas}"
            ));
        }
        if !(10..=10_000).contains(&self.per_try_timeout_ms) {
            return Err(format!(
                "per_try_timeout_ms must be between 10 and 10000, not {}",
                self.per_try_timeout_ms
            ));
        }
        let bounded = [
            ("retries", u32::from(self.retries), 0, 3),
            (
                "retry_budget_percent",
                u32::from(self.retry_budget_percent),
                0,
                100,
            ),
            ("breaker_failures", u32::from(self.breaker_failures), 0, 20),
            ("breaker_open_ms", self.breaker_open_ms, 100, 60_000),
            ("shed_above", self.shed_above, 0, 256),
            ("hedge_after_ms", self.hedge_after_ms, 0, 10_000),
            ("health_every_ms", self.health_every_ms, 100, 10_000),
            ("eject_after", u32::from(self.eject_after), 1, 10),
            ("return_after", u32::from(self.return_after), 1, 10),
        ];
        for (field, value, low, high) in bounded {
            if !(low..=high).contains(&value) {
                return Err(format!(
                    "{field} must be between {low} and {high}, not {value}"
                ));
            }
        }
        if (1..10).contains(&self.hedge_after_ms) {
            return Err(format!(
                "hedge_after_ms must be 0 (no hedging) or between 10 and 10000, not {}",
                self.hedge_after_ms
            ));
        }
        front::validate_keys(&self.api_keys)?;
        validate_shop(&self.shop)?;
        if let Some(limit) = &self.rate_limit {
            limit
                .validate()
                .map_err(|problem| format!("rate_limit.{problem}"))?;
        }
        if self.replica.len() > MAX_REPLICAS {
            return Err(format!(
                "replica may list at most {MAX_REPLICAS} replicas, not {}",
                self.replica.len()
            ));
        }
        for (index, replica) in self.replica.iter().enumerate() {
            let bounded = [
                ("capacity", replica.capacity, 1, 64),
                ("service_ms", replica.service_ms, 0, 2000),
                ("slow_percent", u32::from(replica.slow_percent), 0, 100),
                ("slow_ms", replica.slow_ms, 0, 10_000),
                ("jitter_ms", replica.jitter_ms, 0, 1000),
                ("warmup_ms", replica.warmup_ms, 0, 60_000),
                ("error_percent", u32::from(replica.error_percent), 0, 100),
            ];
            for (field, value, low, high) in bounded {
                if !(low..=high).contains(&value) {
                    return Err(format!(
                        "replica[{index}].{field} must be between {low} and {high}, not {value}"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// `pages` order pages built by a BFF following `shop` with faults from
/// `seed`, replayed on a virtual clock: what the `order_page` check grades,
/// and what `POST /labs/gateway/shop/compare` gives live for its BFF's
/// failures and calls.
pub fn replay_order_pages(
    shop: &model::labs::gateway::ShopSettings,
    seed: u32,
    pages: u32,
) -> model::labs::gateway::ShopRun {
    shop::plan::replay(shop, seed, pages)
}

/// What replicas and services ask of their gateway: random per process,
/// unless `WORKBENCH_GATEWAY_TOKEN` (16 characters or more) sets it, so a
/// benchmark can call a replica directly and compare.
fn replica_token() -> String {
    std::env::var("WORKBENCH_GATEWAY_TOKEN")
        .ok()
        .filter(|token| token.len() >= 16)
        .unwrap_or_else(|| format!("{:032x}", rand::random::<u128>()))
}

/// Whether the BFF's settings are within bounds.
fn validate_shop(shop: &model::labs::gateway::ShopSettings) -> Result<(), String> {
    if !(10..=10_000).contains(&shop.call_timeout_ms) {
        return Err(format!(
            "shop.call_timeout_ms must be between 10 and 10000, not {}",
            shop.call_timeout_ms
        ));
    }
    for service in model::labs::gateway::Service::ALL {
        let faults = shop.faults(service);
        if faults.extra_ms > 2000 {
            return Err(format!(
                "shop.{}.extra_ms must be between 0 and 2000, not {}",
                service.name(),
                faults.extra_ms
            ));
        }
        if faults.error_percent > 100 {
            return Err(format!(
                "shop.{}.error_percent must be between 0 and 100, not {}",
                service.name(),
                faults.error_percent
            ));
        }
    }
    Ok(())
}

/// Every student's gateway and replicas.
pub struct Gateway {
    students: Mutex<HashMap<StudentId, Arc<StudentGateway>>>,
    /// One client for every gateway: its pool keeps connections per port.
    client: reqwest::Client,
    /// What replicas ask of their gateway (random per process).
    token: String,
    clock: Arc<dyn Clock>,
    /// Every student's latest load run.
    runs: load::LoadRuns,
    /// The front door's rate limiters, in this process.
    limiters: Limiters,
    /// The shop behind the BFF, started on first use.
    shop: tokio::sync::OnceCell<Arc<shop::Shop>>,
}

/// One student's replicas and balancer.
pub(crate) struct StudentGateway {
    /// Started as the settings ask; never more than [`MAX_REPLICAS`].
    replicas: tokio::sync::Mutex<Vec<Arc<Replica>>>,
    steering: Mutex<Steering>,
    /// The lab's clock: the estimates' decay, the budget's window and the
    /// breakers' timers run on it (round trips are measured as they happen).
    clock: Arc<dyn Clock>,
    last_used_ms: Mutex<i64>,
}

impl Gateway {
    fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            students: Mutex::default(),
            client: reqwest::Client::builder()
                .no_proxy()
                .http1_only()
                .tcp_nodelay(true)
                .pool_idle_timeout(std::time::Duration::from_secs(30))
                .build()
                .expect("a plain HTTP client builds"),
            token: replica_token(),
            limiters: Limiters::new(clock.clone(), None, LIMITERS_BUDGET),
            shop: tokio::sync::OnceCell::new(),
            clock,
            runs: load::LoadRuns::default(),
        }
    }

    /// The student's gateway, its replicas started and set as `settings`
    /// say.
    async fn of(
        &self,
        student: &StudentId,
        settings: &GatewaySettings,
    ) -> Result<Arc<StudentGateway>, ApiError> {
        let now_ms = self.clock.now_ms();
        let gateway = {
            let mut students = self.students.lock().unwrap_or_else(|e| e.into_inner());
            if !students.contains_key(student) && students.len() >= MAX_STUDENTS {
                return Err(ApiError::Unavailable(format!(
                    "The server runs replicas for {MAX_STUDENTS} students, the most it allows; try again in a few minutes."
                )));
            }
            students
                .entry(student.clone())
                .or_insert_with(|| {
                    Arc::new(StudentGateway {
                        replicas: tokio::sync::Mutex::default(),
                        steering: Mutex::new(Steering::new(settings, now_ms.max(0) as u64)),
                        clock: self.clock.clone(),
                        last_used_ms: Mutex::new(now_ms),
                    })
                })
                .clone()
        };
        *gateway
            .last_used_ms
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = now_ms;
        gateway.apply(settings, &self.token).await?;
        Ok(gateway)
    }

    /// Stops the replicas of students idle for ten minutes, and forgets
    /// finished load runs.
    fn forget_idle(&self) {
        self.runs.forget_finished();
        let now_ms = self.clock.now_ms();
        self.students
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, gateway| {
                now_ms
                    - *gateway
                        .last_used_ms
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                    < IDLE_MS
            });
    }
}

impl StudentGateway {
    /// Starts the replicas the settings ask for and gives each its
    /// settings; a new algorithm, replica count or seed starts the
    /// balancer afresh.
    async fn apply(&self, settings: &GatewaySettings, token: &str) -> Result<(), ApiError> {
        let wanted = usize::from(settings.replicas).min(MAX_REPLICAS);
        let mut replicas = self.replicas.lock().await;
        for index in 0..wanted {
            let replica_settings = settings.replica(index);
            match replicas.get(index) {
                Some(replica) => replica.apply(&replica_settings).await,
                None => Replica::start(
                    index as u8 + 1,
                    replica_settings,
                    u64::from(settings.seed),
                    token.to_string(),
                )
                .await
                .map(|replica| replicas.push(Arc::new(replica))),
            }
            .map_err(|e| ApiError::Unavailable(format!("A replica could not listen: {e}")))?;
        }
        let mut steering = self.steering.lock().unwrap_or_else(|e| e.into_inner());
        if !steering.is_for(settings) {
            *steering = Steering::new(settings, self.now_ms());
        }
        Ok(())
    }

    /// The balancer, budget and breakers (held briefly, never across an await).
    fn steer(&self) -> std::sync::MutexGuard<'_, Steering> {
        self.steering.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Milliseconds on the lab's clock.
    fn now_ms(&self) -> u64 {
        self.clock.now_ms().max(0) as u64
    }
}
