//! The observe lab: each student has a small shop of their own to watch
//! from outside, as an operator watches a service. Its requests are
//! traced, logged with their trace ids and counted into a dashboard of
//! rate, errors and duration (RED) with an error budget; incident switches
//! break it in five ways; a fault hunt hides one of them for the student
//! to find ([`hunt`]).
//!
//! | route | what it does |
//! |---|---|
//! | `GET /labs/observe/shop/products/{id}` | a product page: a replica, the cache, the pool, the database |
//! | `GET /labs/observe/shop/orders` | the orders page: a replica, the pool, the database |
//! | `POST /labs/observe/load` | a burst of up to 200 requests to the student's shop |
//! | `GET /labs/observe/dashboard` | RED per 10 s and per route, the error budget, the log |
//!
//! The shop is real code over a real SQLite database ([`database`]); its
//! replicas, cache and pool are in the server's process, one set per
//! student, so one student's incidents never touch another's shop.

mod checks;
mod database;
mod hunt;
mod routes;
mod shop;
mod traffic;

use std::sync::Arc;
use std::time::Duration;

use model::labs::observe::Incident;
pub use model::labs::observe::ObserveSettings;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Lab, LabContext, LabGauges, LabSettings, Labs};
use crate::error::ApiError;
use crate::fair_gate::{FairGate, GateLimits};
use crate::grading::lab::LabChecks;
use crate::inspector::TraceId;
use crate::students::StudentId;

/// The observe lab.
pub struct ObserveLab;

/// Students whose shop is kept at once.
const SHOPS: u64 = 500;
/// How long an unused shop is kept.
const IDLE: Duration = Duration::from_secs(30 * 60);

/// Four load runs at once on the server; each student one at a time, with
/// up to 20 s of run time owed, repaid at a quarter second a second (a run
/// takes a second or two; 200 slow-cache pages one at a time take about 25).
const LOAD_LIMITS: GateLimits = GateLimits {
    slots: 4,
    line: 1,
    waiting: 512,
    budget: Duration::from_secs(20),
    refill_per_sec: Duration::from_millis(250),
};

/// What the lab keeps: every student's shop, the shared database, the
/// hunt key and the gate load runs pass.
pub struct Shops {
    shops: moka::sync::Cache<StudentId, Arc<shop::Shop>>,
    database: database::Database,
    key: hunt::HuntKey,
    loads: FairGate,
}

impl Shops {
    fn of(&self, student: &StudentId) -> Arc<shop::Shop> {
        self.shops
            .get_with(student.clone(), || Arc::new(shop::Shop::new()))
    }
}

impl LabSettings for ObserveSettings {
    fn validate(&self) -> Result<(), String> {
        let mut incidents = self.incidents.clone();
        incidents.sort();
        incidents.dedup();
        if incidents.len() != self.incidents.len() {
            return Err("incidents lists an incident twice".into());
        }
        if !(900..=999).contains(&self.objective.target_per_mille) {
            return Err(format!(
                "objective.target_per_mille is {}; 900 (90.0 %) to 999 (99.9 %)",
                self.objective.target_per_mille
            ));
        }
        if !(10..=5000).contains(&self.objective.latency_ms) {
            return Err(format!(
                "objective.latency_ms is {}; 10 to 5000",
                self.objective.latency_ms
            ));
        }
        if self.hunt.is_some_and(|round| round > 1_000_000) {
            return Err("hunt is a number from 0 to 1000000".into());
        }
        if self.diagnosis.trace_id.len() > 64 {
            return Err("diagnosis.trace_id is a trace id: 32 lowercase hex digits".into());
        }
        let trace_id = self.diagnosis.trace_id.trim();
        if !trace_id.is_empty() && TraceId::parse(trace_id).is_none() {
            return Err(format!(
                "diagnosis.trace_id {:?} is not a trace id: 32 lowercase hex digits",
                limited(trace_id)
            ));
        }
        Ok(())
    }
}

/// The start of what a student typed, for an error message.
fn limited(text: &str) -> &str {
    crate::inspector::limits::prefix(text, 40)
}

impl Lab for ObserveLab {
    const NAME: &'static str = "observe";
    const TITLE: &'static str = "Observing a service: RED, logs, traces and an error budget";
    type Settings = ObserveSettings;
    type State = Shops;

    fn state(context: &LabContext) -> Self::State {
        Shops {
            // Least recently used goes first: the default policy may refuse
            // a new student's shop while busier ones stay, and a shop that
            // is not kept starts afresh on every request.
            shops: moka::sync::Cache::builder()
                .eviction_policy(moka::policy::EvictionPolicy::lru())
                .max_capacity(SHOPS)
                .time_to_idle(IDLE)
                .build(),
            database: database::Database::new(),
            key: hunt::HuntKey(context.secrets.fault_hunt),
            loads: FairGate::new(LOAD_LIMITS, context.clock.clone(), "load runs"),
        }
    }

    fn routes(_state: &Labs) -> OpenApiRouter<Labs> {
        OpenApiRouter::default()
            .routes(routes!(routes::product))
            .routes(routes!(routes::orders))
            .routes(routes!(routes::load))
            .routes(routes!(routes::dashboard))
    }

    fn checks() -> Option<LabChecks> {
        Some(LabChecks {
            lab: Self::NAME,
            load: checks::load,
        })
    }

    /// The hunt's hidden incident, and the trace the diagnosis names if it
    /// is one of the student's (another student's id finds nothing).
    async fn extend_answer(
        labs: &Labs,
        student: &StudentId,
        answer: &mut serde_json::Value,
    ) -> Result<(), ApiError> {
        let settings: ObserveSettings =
            serde_json::from_value(answer["settings"].clone()).unwrap_or_default();
        let shops = labs.get::<Self>();
        let incident: Option<Incident> = settings
            .hunt
            .map(|round| shops.key.incident(student, round));
        let trace = match TraceId::parse(settings.diagnosis.trace_id.trim()) {
            Some(id) => labs.recorder.traces.find(student, id).await,
            None => None,
        };
        answer["hunt"] = serde_json::json!({ "incident": incident, "trace": trace });
        Ok(())
    }

    /// The guest's shop becomes the account's. A hunt started as a guest
    /// ends: its hidden incident was chosen for the guest, and the
    /// account's would differ, so the evidence found so far would fail.
    async fn adopt_guest(labs: &Labs, guest: &StudentId, account: &StudentId) {
        // A server whose lab never started has no shop to move; signing in
        // must not start it (it reads its key from disk).
        if let Some(shops) = labs.labs.existing::<Self>() {
            if let Some(shop) = shops.shops.remove(guest) {
                shops.shops.insert(account.clone(), shop);
            }
        }
        let ended =
            super::settings::change_stored::<Self>(labs, account, |s| s.hunt.take().is_some());
        if let Err(error) = ended.await {
            tracing::warn!(%error, "could not end a guest's fault hunt at sign-in");
        }
    }

    fn gauges(state: &Self::State, gauges: &mut LabGauges<'_>) {
        gauges.gauge(
            "shops",
            "Students' observed shops kept in memory",
            state.shops.entry_count() as usize,
        );
        gauges.gauge(
            "load_runs",
            "Load runs going or waiting",
            state.loads.load().jobs,
        );
    }
}
