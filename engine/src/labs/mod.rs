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
//! - per-student state, isolated by [`crate::identity::Student`]; labs that
//!   keep some outside their settings move it from a guest to their account
//!   ([`Lab::adopt_guest`]) and show it to checks ([`Lab::extend_answer`]);
//! - how exercises judge it ([`Lab::checks`], in `labs/<name>/checks.rs`),
//!   and check kinds of its own ([`Lab::check_kinds`]);
//! - inspector events: structs implementing [`crate::inspector::LabEvent`];
//! - algorithms that depend on time take a clock, so tests use virtual time;
//! - its tests beside it.
//!
//! Every lab route runs inside the inspector middleware, a body size limit,
//! and [`errors::json_errors`], so a malformed request gets a 4xx with a JSON
//! body whatever the lab does; and inside [`containment`], so nothing a lab
//! answers can run as a page of the workbench. Adding a lab adds its folder and
//! one line to [`REGISTRY`], and nothing else.

pub mod api;
pub mod auth;
pub mod cache;
mod conditional;
mod containment;
pub mod contract;
pub(crate) mod demo_keys;
pub(crate) mod errors;
pub mod gateway;
pub mod http;
pub mod observe;
pub mod queue;
pub mod ratelimit;
pub mod realtime;
mod reference;
mod settings;
pub mod sql;
pub mod testing;

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::{DefaultBodyLimit, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{any, get};
use axum::{middleware, Router};
use futures_util::future::{BoxFuture, FutureExt};
use utoipa_axum::router::OpenApiRouter;

pub use containment::LAB_RESPONSE_POLICY;
pub use errors::DeliberateResponse;
pub(crate) use settings::current_settings;
pub use settings::{stored_settings, CurrentSettings, LabSettings, SettingsCache, SETTINGS_CACHE};

use crate::clock::Clock;
use crate::error::ApiError;
use crate::grading::lab::{LabChecks, LabKind};
use crate::grading::{CheckKind, Kinds};
use crate::identity::Identities;
use crate::inspector::{record_lab_trace, Recorder};
use crate::students::StudentId;

/// What every lab's handlers share: the platform database (where lab
/// settings live), the clock, each lab's own state, whether cookies are
/// `Secure`, who is asking, and where traces go. Cheap to clone.
#[derive(Clone)]
pub struct Labs(Arc<LabsShared>);

/// The parts of [`Labs`].
pub struct LabsShared {
    /// The platform database.
    pub pool: crate::db::Pool,
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
    /// Students' settings, kept in memory once read.
    pub settings: Arc<SettingsCache>,
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
    /// The lab's own routes, relative to `/labs/<NAME>`, each registered
    /// with its OpenAPI description (`#[utoipa::path]` on the handler,
    /// `utoipa_axum::routes!` here; see [`contract`]); `state` is there for
    /// labs that put middleware of their own in front of them.
    fn routes(state: &Labs) -> OpenApiRouter<Labs>;

    /// Tables the lab keeps in every student's shop (the sandbox database
    /// the SQL lab shows), as `CREATE TABLE IF NOT EXISTS` statements: made
    /// with each new sandbox, so students can look at them with SQL.
    const SHOP_TABLES: &'static str = "";

    /// Whether the lab's errors are RFC 9457 problem documents
    /// (`application/problem+json`) rather than the workbench's own
    /// `{error, message}`: the shared layers' errors (404, 405, 413, 415,
    /// rejected settings) are then rewritten as problems too.
    const PROBLEM_DETAILS: bool = false;

    /// Routes (relative to `/labs/<NAME>`) a page on another origin may call
    /// with the student's demo key in `?key=` instead of their cookie, for
    /// `GET`, `HEAD` and `OPTIONS` only ([`demo_keys`]).
    const DEMO_KEY_ROUTES: &'static [&'static str] = &[];

    /// State-changing routes (relative to `/labs/<NAME>`) that make the
    /// cross-origin check themselves, with [`crate::cross_origin::evidence`],
    /// so a forgery demo can switch it off for the student who asks; the
    /// workbench's own check leaves them alone. A route listed here must
    /// check by default.
    const OWN_FORGERY_CHECK_ROUTES: &'static [&'static str] = &[];

    /// How exercises judge this lab with `kind = "lab"`, if they can.
    fn checks() -> Option<LabChecks> {
        None
    }

    /// Check kinds of the lab's own (the SQL lab's `sql`).
    fn check_kinds() -> Vec<Arc<dyn CheckKind>> {
        Vec::new()
    }

    /// Adds to a `lab` check's answer what the lab keeps for `student`
    /// besides their settings (which are already in it).
    fn extend_answer(
        _labs: &Labs,
        _student: &StudentId,
        _answer: &mut serde_json::Value,
    ) -> impl Future<Output = Result<(), ApiError>> + Send {
        async { Ok(()) }
    }

    /// Told that `account` signed in or up.
    fn account_signed_in(_labs: &Labs, _account: &StudentId) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Forgets what the lab keeps in memory for students who have been idle
    /// for a while (called every few minutes).
    fn forget_idle(_labs: &Labs) {}

    /// Tells the server's operators what the lab holds now (sandboxes,
    /// queues, connections), as gauges on `/metrics`. Only called once the
    /// lab has made its state: a scrape never starts a lab.
    fn gauges(_state: &Self::State, _gauges: &mut LabGauges<'_>) {}

    /// Moves what the lab keeps for `guest` to `account`, who that guest
    /// just signed in as. Failing loses the guest's lab state, not the sign-in.
    fn adopt_guest(
        _labs: &Labs,
        _guest: &StudentId,
        _account: &StudentId,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// The labs this server runs. The registry: adding a lab adds one line here.
static REGISTRY: &[&dyn Registered] = &[
    &Entry::<http::HttpLab>::NEW,
    &Entry::<auth::AuthLab>::NEW,
    &Entry::<sql::SqlLab>::NEW,
    &Entry::<cache::CacheLab>::NEW,
    &Entry::<ratelimit::RateLimitLab>::NEW,
    &Entry::<api::ApiLab>::NEW,
    &Entry::<realtime::RealtimeLab>::NEW,
    &Entry::<queue::QueueLab>::NEW,
    &Entry::<gateway::GatewayLab>::NEW,
    &Entry::<testing::TestingLab>::NEW,
    &Entry::<observe::ObserveLab>::NEW,
];

/// A registered lab, as the registry holds it: [`Lab`] without its types.
trait Registered: Sync {
    fn name(&self) -> &'static str;
    fn title(&self) -> &'static str;
    fn shop_tables(&self) -> &'static str;
    fn problem_details(&self) -> bool;
    fn demo_key_routes(&self) -> &'static [&'static str];
    fn own_forgery_check_routes(&self) -> &'static [&'static str];
    fn mount(&self, labs: &Labs) -> OpenApiRouter<Labs>;
    fn checks(&self) -> Option<LabChecks>;
    fn check_kinds(&self) -> Vec<Arc<dyn CheckKind>>;
    fn extend_answer<'a>(
        &self,
        labs: &'a Labs,
        student: &'a StudentId,
        answer: &'a mut serde_json::Value,
    ) -> BoxFuture<'a, Result<(), ApiError>>;
    fn account_signed_in<'a>(&self, labs: &'a Labs, account: &'a StudentId) -> BoxFuture<'a, ()>;
    fn forget_idle(&self, labs: &Labs);
    fn gauges(&self, labs: &Labs, gauges: &mut Vec<LabGauge>);
    fn adopt_guest<'a>(
        &self,
        labs: &'a Labs,
        guest: &'a StudentId,
        account: &'a StudentId,
    ) -> BoxFuture<'a, ()>;
}

struct Entry<L>(PhantomData<fn() -> L>);

impl<L> Entry<L> {
    const NEW: Self = Self(PhantomData);
}

impl<L: Lab> Registered for Entry<L> {
    fn name(&self) -> &'static str {
        L::NAME
    }

    fn title(&self) -> &'static str {
        L::TITLE
    }

    fn shop_tables(&self) -> &'static str {
        L::SHOP_TABLES
    }

    fn problem_details(&self) -> bool {
        L::PROBLEM_DETAILS
    }

    fn demo_key_routes(&self) -> &'static [&'static str] {
        L::DEMO_KEY_ROUTES
    }

    fn own_forgery_check_routes(&self) -> &'static [&'static str] {
        L::OWN_FORGERY_CHECK_ROUTES
    }

    fn mount(&self, labs: &Labs) -> OpenApiRouter<Labs> {
        mount::<L>(labs)
    }

    fn checks(&self) -> Option<LabChecks> {
        L::checks()
    }

    fn check_kinds(&self) -> Vec<Arc<dyn CheckKind>> {
        L::check_kinds()
    }

    fn extend_answer<'a>(
        &self,
        labs: &'a Labs,
        student: &'a StudentId,
        answer: &'a mut serde_json::Value,
    ) -> BoxFuture<'a, Result<(), ApiError>> {
        L::extend_answer(labs, student, answer).boxed()
    }

    fn account_signed_in<'a>(&self, labs: &'a Labs, account: &'a StudentId) -> BoxFuture<'a, ()> {
        L::account_signed_in(labs, account).boxed()
    }

    fn forget_idle(&self, labs: &Labs) {
        L::forget_idle(labs);
    }

    fn gauges(&self, labs: &Labs, gauges: &mut Vec<LabGauge>) {
        if let Some(state) = labs.0.labs.existing::<L>() {
            L::gauges(
                &state,
                &mut LabGauges {
                    lab: L::NAME,
                    gauges,
                },
            );
        }
    }

    fn adopt_guest<'a>(
        &self,
        labs: &'a Labs,
        guest: &'a StudentId,
        account: &'a StudentId,
    ) -> BoxFuture<'a, ()> {
        L::adopt_guest(labs, guest, account).boxed()
    }
}

/// Every check kind a course may use: the built-in ones, `lab` over the
/// labs that have checks, and the labs' own kinds.
pub fn check_kinds() -> Kinds {
    let lab_checks = REGISTRY.iter().filter_map(|lab| lab.checks()).collect();
    Kinds::built_in()
        .with([Arc::new(LabKind::new(lab_checks)) as Arc<dyn CheckKind>])
        .with(REGISTRY.iter().flat_map(|lab| lab.check_kinds()))
}

/// Every running lab's gauges ([`Lab::gauges`]), for `/metrics`.
pub(crate) fn gauges(labs: &Labs) -> Vec<LabGauge> {
    let mut gauges = Vec::new();
    for lab in REGISTRY {
        lab.gauges(labs, &mut gauges);
    }
    gauges
}

/// One thing a lab holds, counted now.
#[derive(Debug)]
pub struct LabGauge {
    /// The metric's name: `workbench_lab_<lab>_<what>`.
    pub name: String,
    /// What it counts, for people.
    pub help: &'static str,
    /// How many now.
    pub value: usize,
}

/// Where a lab puts its gauges.
pub struct LabGauges<'a> {
    lab: &'static str,
    gauges: &'a mut Vec<LabGauge>,
}

impl LabGauges<'_> {
    /// One gauge: `what` (snake case, with its unit) now stands at `value`.
    pub fn gauge(&mut self, what: &str, help: &'static str, value: usize) {
        self.gauges.push(LabGauge {
            name: format!("workbench_lab_{}_{what}", self.lab),
            help,
            value,
        });
    }
}

/// Every lab's [`Lab::SHOP_TABLES`], for new sandboxes.
pub fn shop_tables() -> String {
    REGISTRY.iter().map(|lab| lab.shop_tables()).collect()
}

/// Whether the lab serving `path` answers errors as problem documents.
pub(crate) fn speaks_problem_details(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/labs/") else {
        return false;
    };
    let name = rest.split('/').next().unwrap_or_default();
    REGISTRY
        .iter()
        .any(|lab| lab.name() == name && lab.problem_details())
}

/// Whether `path` is a lab route that takes a demo key ([`Lab::DEMO_KEY_ROUTES`]).
pub(crate) fn accepts_demo_key(path: &str) -> bool {
    lab_route_listed(path, |lab| lab.demo_key_routes())
}

/// Whether `path` is a lab route that makes its own cross-origin check
/// ([`Lab::OWN_FORGERY_CHECK_ROUTES`]).
pub fn checks_own_forgery(path: &str) -> bool {
    lab_route_listed(path, |lab| lab.own_forgery_check_routes())
}

/// Whether `path` is `/labs/<name><route>` with `route` in the list `listed`
/// gives for the lab called `name`.
fn lab_route_listed(
    path: &str,
    listed: impl Fn(&dyn Registered) -> &'static [&'static str],
) -> bool {
    let Some(rest) = path.strip_prefix("/labs/") else {
        return false;
    };
    let (name, route) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    REGISTRY
        .iter()
        .any(|lab| lab.name() == name && listed(*lab).contains(&route))
}

/// The names of the labs this server runs, in registry order.
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|lab| lab.name()).collect()
}

/// What a lab may build its state from.
#[derive(Clone)]
pub struct LabContext {
    /// The server's data folder; a lab keeps its files in a subfolder named after it.
    pub data_dir: PathBuf,
    /// The server's clock.
    pub clock: Arc<dyn Clock>,
    /// The external services the server was told about (Redis, a message
    /// broker, ...), for labs with a backend of that kind.
    pub services: ServiceUrls,
    /// How long a Redis command may take before Redis counts as down.
    pub redis_timeout: std::time::Duration,
    /// Each student's fair share of the SQL sandboxes' threads.
    pub sql_gate: crate::fair_gate::GateLimits,
    /// All SQL sandboxes together stay under this many bytes.
    pub sandbox_disk_bytes: u64,
    /// One SQL sandbox stays under this many bytes.
    pub sandbox_max_bytes: u64,
    /// What labs may keep in memory for all students together.
    pub memory: MemoryBudgets,
    /// The port of the demos' second site (another origin, on the host the
    /// student reached the workbench by), when the server runs one.
    pub other_origin_port: Option<u16>,
    /// Turns `true` when the server starts shutting down: a lab that holds
    /// connections open (streams, waiting polls) ends them, so the server
    /// can drain.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    /// Keys the labs sign or choose with, the same in every server of the
    /// deployment.
    pub secrets: LabSecrets,
}

/// Keys the labs sign or choose with. They are kept in the platform
/// database, so every server behind a load balancer has the same ones and
/// a restart keeps them: a demo JWT issued by one server is good on
/// another, and a fault hunt hides the same incident on both.
#[derive(Clone)]
pub struct LabSecrets {
    /// The auth lab's HS256 key for demo JWTs.
    pub demo_jwt: [u8; 32],
    /// The observe lab's key for choosing a hunt's hidden incident.
    pub fault_hunt: [u8; 32],
}

impl LabSecrets {
    /// The deployment's keys, made by the first server that asks.
    pub async fn load(pool: &crate::db::Pool) -> Result<Self, sqlx::Error> {
        Ok(Self {
            demo_jwt: crate::secrets::shared_key(pool, "demo-jwt").await?,
            fault_hunt: crate::secrets::shared_key(pool, "fault-hunt").await?,
        })
    }
}

impl LabContext {
    /// A link to the server's Redis, if it was given one; `Err` for a URL
    /// that is not Redis's.
    pub(crate) fn redis_link(
        &self,
    ) -> Option<Result<crate::redis_link::RedisLink, crate::redis_link::RedisDown>> {
        self.services.url("redis").map(|url| {
            crate::redis_link::RedisLink::new(url, self.clock.clone(), self.redis_timeout)
        })
    }
}

/// Where external services are, by name (`redis`, `amqp`, `nats`, ...),
/// as the operator gave them (`--service redis=redis://127.0.0.1:6379`). A
/// lab that needs one asks by name and works without it, or says so.
#[derive(Clone, Debug, Default)]
pub struct ServiceUrls(std::collections::BTreeMap<String, String>);

impl ServiceUrls {
    /// The services in `pairs`, as `(name, url)`.
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(pairs.into_iter().collect())
    }

    /// The URL of the service called `name`, if the server has one.
    pub fn url(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
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
    /// What every lab's state is made from.
    pub(crate) fn context(&self) -> &LabContext {
        &self.context
    }

    /// No state made yet.
    pub fn new(context: LabContext) -> Self {
        Self {
            context,
            states: Mutex::new(HashMap::new()),
        }
    }

    /// Lab `L`'s state, if something has made it.
    pub(crate) fn existing<L: Lab>(&self) -> Option<Arc<L::State>> {
        let states = self.states.lock().expect("lab states are never poisoned");
        states.get(&TypeId::of::<L>()).cloned().map(typed::<L>)
    }

    /// Lab `L`'s state.
    pub fn get<L: Lab>(&self) -> Arc<L::State> {
        let mut states = self.states.lock().expect("lab states are never poisoned");
        let state = states
            .entry(TypeId::of::<L>())
            .or_insert_with(|| Arc::new(L::state(&self.context)))
            .clone();
        typed::<L>(state)
    }
}

/// A state from [`LabStates`] as lab `L`'s own type.
fn typed<L: Lab>(state: Arc<dyn Any + Send + Sync>) -> Arc<L::State> {
    state
        .downcast::<L::State>()
        .expect("a lab's state has the lab's state type")
}

/// Extractor: lab `L`'s state.
pub struct LabState<L: Lab>(pub Arc<L::State>);

impl<L: Lab> FromRequestParts<Labs> for LabState<L> {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(_parts: &mut Parts, state: &Labs) -> Result<Self, Self::Rejection> {
        Ok(Self(state.labs.get::<L>()))
    }
}

/// All labs in the [`REGISTRY`] under `/labs`, with the shared middleware.
/// Serve it for every path [`is_lab_path`] accepts, as a service of its
/// own: merged into a bigger router, its layers would wrap each lab route
/// one box at a time, and axum clones a route's whole chain of boxes on
/// every call (about a sixth of a lab request's server time went there).
pub fn router(state: Labs) -> Router {
    let (labs, _) = assembled(&state);
    let routes = labs
        .route("/labs", any(errors::no_such_route))
        .route("/labs/{*rest}", any(errors::no_such_route))
        .fallback(errors::no_such_route)
        // Where the router matched, so requests are counted by route template.
        .route_layer(middleware::from_fn(crate::metrics::note_route))
        .with_state(state.clone());
    let layered = tower::ServiceBuilder::new()
        // Outermost: whatever a lab or the layers below answered, it runs nothing.
        .layer(tower::util::MapResponseLayer::new(containment::contain))
        .layer(middleware::from_fn_with_state(state.clone(), shared_steps))
        // A plain function of the response: no boxed future, no copy of the
        // layers below per request, as `middleware::map_response` would make.
        .layer(tower::util::MapResponseLayer::new(errors::json_errors))
        .layer(DefaultBodyLimit::max(LAB_BODY_LIMIT))
        .service(routes);
    Router::new().fallback_service(layered)
}

/// What every lab request passes on its way in and out, in one middleware
/// rather than one each (each would box the request's future again):
/// a demo key names its student, the inspector records the request, and
/// a lab that speaks RFC 9457 gets its errors as problems, the
/// recorder's own 413 included.
async fn shared_steps(State(labs): State<Labs>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let problem_instance = speaks_problem_details(path).then(|| path.to_string());
    let response = match demo_keys::attribute_keyed_request(&labs, request).await {
        Ok(request) => record_lab_trace(&labs.recorder, request, next).await,
        Err(refused) => refused,
    };
    match problem_instance {
        Some(instance) => errors::problem_details(instance, response).await,
        None => response,
    }
}

/// True for the paths [`router`] answers: `/labs` and everything under it.
pub fn is_lab_path(path: &str) -> bool {
    path.strip_prefix("/labs")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The labs' OpenAPI document, at [`contract::OPENAPI_PATH`].
pub fn openapi_route(state: &Labs) -> Router {
    let (_, document) = assembled(state);
    contract::route(&document)
}

/// The labs' API reference page: their OpenAPI document, for people.
pub fn api_reference(state: &Labs) -> model::ApiReference {
    let (_, document) = assembled(state);
    let document = serde_json::to_value(&document).expect("an OpenAPI document is always JSON");
    reference::reference(&document, &titles())
}

/// Every lab's routes, and the OpenAPI document that describes them.
fn assembled(state: &Labs) -> (Router<Labs>, utoipa::openapi::OpenApi) {
    let (labs, described) = REGISTRY
        .iter()
        .fold(OpenApiRouter::default(), |router, lab| {
            router.merge(lab.mount(state))
        })
        .split_for_parts();
    (labs, contract::document(described, &titles()))
}

/// Each lab's name and title, in registry order.
fn titles() -> Vec<(&'static str, &'static str)> {
    REGISTRY
        .iter()
        .map(|lab| (lab.name(), lab.title()))
        .collect()
}

/// What a `lab` check grades for `student`: their stored settings of
/// `lab`, plus whatever else the lab keeps for them that checks look at.
pub async fn lab_answer(
    state: &Labs,
    student: &StudentId,
    lab: &str,
) -> Result<serde_json::Value, ApiError> {
    let mut answer = serde_json::json!({
        "settings": stored_settings(state, student, lab).await?,
    });
    if let Some(entry) = REGISTRY.iter().find(|entry| entry.name() == lab) {
        entry.extend_answer(state, student, &mut answer).await?;
    }
    Ok(answer)
}

/// Tells the labs that `account` signed in or up.
pub async fn account_signed_in(state: &Labs, account: &StudentId) {
    for lab in REGISTRY {
        lab.account_signed_in(state, account).await;
    }
}

/// Lets every lab forget what it keeps for idle students.
pub fn forget_idle(state: &Labs) {
    for lab in REGISTRY {
        lab.forget_idle(state);
    }
}

/// Moves what labs keep per student from a guest to the account they
/// signed in to (settings and attempts move with the platform tables).
pub async fn adopt_guest(state: &Labs, guest: &StudentId, account: &StudentId) {
    // The guest's settings were just carried over in the database.
    state.settings.forget(account);
    settings::published(state, account).await;
    for lab in REGISTRY {
        lab.adopt_guest(state, guest, account).await;
    }
}

fn mount<L: Lab>(state: &Labs) -> OpenApiRouter<Labs> {
    let settings = Router::new().route(
        "/settings",
        get(settings::show::<L>)
            .put(settings::replace::<L>)
            .delete(settings::reset::<L>),
    );
    let (routes, described) = L::routes(state).split_for_parts();
    let lab = OpenApiRouter::with_openapi(contract::lab_part::<L>(described))
        .merge(OpenApiRouter::from(routes.merge(settings)));
    OpenApiRouter::default().nest(&format!("/labs/{}", L::NAME), lab)
}

#[cfg(test)]
mod tests {
    use super::is_lab_path;

    #[test]
    fn lab_paths_are_labs_and_everything_under_it_and_nothing_else() {
        for path in ["/labs", "/labs/", "/labs/http/echo", "/labs/nope"] {
            assert!(is_lab_path(path), "{path}");
        }
        for path in ["/", "/labsx", "/lab", "/api/labs", "/lessons/labs"] {
            assert!(!is_lab_path(path), "{path}");
        }
    }
}
