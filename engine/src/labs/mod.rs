//! Labs: live demo backends that students send real requests to.
//!
//! # The lab contract
//! A lab is one module, `labs/<name>/`, with a type implementing [`Lab`]:
//! - `NAME`: its URL segment; its routes are served under `/labs/<name>`;
//! - [`Lab::routes`]: ordinary axum routes, because the point is real status
//!   codes and real headers;
//! - `Settings`: what a student may change ([`LabSettings`]), validated and
//!   persisted per student; `GET`/`PUT`/`DELETE /labs/<name>/settings` are
//!   added for every lab, and handlers read them with [`CurrentSettings`];
//! - `State`: what the lab keeps while the server runs (made once, from a
//!   [`LabContext`], on first use); handlers read it with [`LabState`];
//! - per-student state, isolated by [`crate::identity::Student`];
//! - inspector events: structs implementing [`crate::inspector::LabEvent`];
//! - algorithms that depend on time take a clock, so tests use virtual time;
//! - its tests beside it.
//!
//! Every lab route runs inside the inspector middleware, a body size limit,
//! and [`errors::json_errors`], so a malformed request gets a 4xx with a JSON
//! body whatever the lab does; and inside [`containment`], so nothing a lab
//! answers can run as a page of the workbench. Adding a lab touches [`router`] and nothing else.

pub mod auth;
pub mod cache;
mod containment;
pub mod errors;
pub mod http;
pub mod ratelimit;
mod settings;
pub mod sql;

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::routing::{any, get};
use axum::{middleware, Router};

pub use containment::LAB_RESPONSE_POLICY;
pub use errors::DeliberateResponse;
pub use settings::{stored_settings, CurrentSettings, LabSettings};

use crate::clock::Clock;
use crate::identity::Identities;
use crate::inspector::{record_lab_trace, Recorder};

/// What every lab's handlers share: the platform database (where lab
/// settings live), the clock, each lab's own state, whether cookies are
/// `Secure`, who is asking, and where traces go. Cheap to clone.
#[derive(Clone)]
pub struct Labs(Arc<LabsShared>);

/// The parts of [`Labs`].
pub struct LabsShared {
    /// The platform database.
    pub pool: sqlx::SqlitePool,
    /// The time, replaceable in tests.
    pub clock: Arc<dyn Clock>,
    /// Each lab's own state, made on first use.
    pub labs: LabStates,
    /// Cookies the labs set carry `Secure` (serving behind TLS).
    pub secure_cookies: bool,
    /// Who is asking.
    pub identities: Identities,
    /// Where lab requests' traces go.
    pub recorder: Recorder,
}

impl Labs {
    /// Wraps the parts.
    pub fn new(shared: LabsShared) -> Self {
        Self(Arc::new(shared))
    }

    /// Lab `L`'s state.
    pub fn get<L: Lab>(&self) -> Arc<L::State> {
        self.0.labs.get::<L>()
    }
}

impl std::ops::Deref for Labs {
    type Target = LabsShared;

    fn deref(&self) -> &LabsShared {
        &self.0
    }
}

impl axum::extract::FromRef<Labs> for Identities {
    fn from_ref(labs: &Labs) -> Self {
        labs.identities.clone()
    }
}

/// Largest request body a lab route accepts.
pub const LAB_BODY_LIMIT: usize = crate::inspector::BODY_LIMIT;

/// A live demo backend.
pub trait Lab: Send + Sync + 'static {
    /// URL segment and settings key, e.g. `http`.
    const NAME: &'static str;
    /// What the lab teaches, for people.
    const TITLE: &'static str;
    /// What a student may change in this lab.
    type Settings: LabSettings;
    /// What the lab keeps while the server runs (`()` for none).
    type State: Send + Sync + 'static;
    /// Makes the lab's state, once per server.
    fn state(context: &LabContext) -> Self::State;
    /// The lab's own routes, relative to `/labs/<NAME>`; `state` is there
    /// for labs that put middleware of their own in front of them.
    fn routes(state: &Labs) -> Router<Labs>;
}

/// What a lab may build its state from.
#[derive(Clone)]
pub struct LabContext {
    /// The server's data folder; a lab keeps its files in a subfolder named after it.
    pub data_dir: PathBuf,
    /// The server's clock.
    pub clock: Arc<dyn Clock>,
    /// Redis, for labs with a Redis backend, when the server has one.
    pub redis_url: Option<String>,
    /// Each student's fair share of the SQL sandboxes' threads.
    pub sql_gate: crate::fair_gate::GateLimits,
    /// All SQL sandboxes together stay under this many bytes.
    pub sandbox_disk_bytes: u64,
    /// One SQL sandbox stays under this many bytes.
    pub sandbox_max_bytes: u64,
    /// What labs may keep in memory for all students together.
    pub memory: MemoryBudgets,
}

/// Bytes the labs may keep in memory for all students together; beyond
/// them the least recently active students' state goes first.
#[derive(Clone, Copy, Debug)]
pub struct MemoryBudgets {
    /// The cache lab's in-process entries.
    pub cache_entries: usize,
    /// The cache lab's statistics.
    pub cache_statistics: usize,
    /// The rate-limit lab's live limiters.
    pub limiters: usize,
}

/// Every lab's state, made on first use.
pub struct LabStates {
    context: LabContext,
    states: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl LabStates {
    /// No state made yet.
    pub fn new(context: LabContext) -> Self {
        Self {
            context,
            states: Mutex::new(HashMap::new()),
        }
    }

    /// Lab `L`'s state.
    pub fn get<L: Lab>(&self) -> Arc<L::State> {
        let mut states = self.states.lock().expect("lab states are never poisoned");
        let state = states
            .entry(TypeId::of::<L>())
            .or_insert_with(|| Arc::new(L::state(&self.context)))
            .clone();
        state
            .downcast::<L::State>()
            .expect("a lab's state has the lab's state type")
    }
}

/// Extractor: lab `L`'s state.
pub struct LabState<L: Lab>(pub Arc<L::State>);

impl<L: Lab> FromRequestParts<Labs> for LabState<L> {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(_parts: &mut Parts, state: &Labs) -> Result<Self, Self::Rejection> {
        Ok(Self(state.labs.get::<L>()))
    }
}

/// All labs, with the shared middleware. The registry: the one place that lists labs.
pub fn router(state: Labs) -> Router {
    let recorder = state.recorder.clone();
    Router::new()
        .merge(mount::<http::HttpLab>(&state))
        .merge(mount::<auth::AuthLab>(&state))
        .merge(mount::<sql::SqlLab>(&state))
        .merge(mount::<cache::CacheLab>(&state))
        .merge(mount::<ratelimit::RateLimitLab>(&state))
        .route("/labs", any(errors::no_such_route))
        .route("/labs/{*rest}", any(errors::no_such_route))
        .layer(DefaultBodyLimit::max(LAB_BODY_LIMIT))
        .layer(middleware::map_response(errors::json_errors))
        .layer(middleware::from_fn_with_state(recorder, record_lab_trace))
        // Outermost: whatever a lab or the layers above answered, it runs nothing.
        .layer(middleware::map_response(containment::contain))
        .with_state(state)
}

/// What a `lab` check grades for `student`: their stored settings of
/// `lab`, plus, for the SQL lab, the indexes they created in their sandbox.
pub async fn lab_answer(
    state: &Labs,
    student: &crate::identity::StudentId,
    lab: &str,
) -> Result<serde_json::Value, crate::error::ApiError> {
    let mut answer = serde_json::json!({
        "settings": stored_settings(state, student, lab).await?,
    });
    if lab == <sql::SqlLab as Lab>::NAME {
        answer["indexes"] = sql::created_indexes(&state.labs.get::<sql::SqlLab>(), student).await?;
    }
    Ok(answer)
}

/// Tells the labs that `account` signed in or up: what they keep for an
/// account (a SQL sandbox) is kept longer than a guest's.
pub async fn account_signed_in(state: &Labs, account: &crate::identity::StudentId) {
    state.labs.get::<sql::SqlLab>().mark_account(account).await;
}

/// Moves what labs keep per student from a guest to the account they
/// signed in to (settings and attempts move with the platform tables).
pub async fn adopt_guest(
    state: &Labs,
    guest: &crate::identity::StudentId,
    account: &crate::identity::StudentId,
) {
    if let Err(e) = state.labs.get::<sql::SqlLab>().adopt(guest, account).await {
        // Losing a guest's scratch database is not worth failing a sign-in for.
        tracing::warn!(error = %e, "could not move a guest's sql sandbox");
    }
}

fn mount<L: Lab>(state: &Labs) -> Router<Labs> {
    let settings = Router::new().route(
        "/settings",
        get(settings::show::<L>)
            .put(settings::replace::<L>)
            .delete(settings::reset::<L>),
    );
    Router::new().nest(
        &format!("/labs/{}", L::NAME),
        L::routes(state).merge(settings),
    )
}
