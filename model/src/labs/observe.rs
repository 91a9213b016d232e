//! The observe lab's wire types: its settings (incident switches, the
//! service level objective, the fault hunt and the student's diagnosis),
//! the RED report its dashboard reads, and what a load run sends back.

use serde::{Deserialize, Serialize};

/// Something going wrong inside the observed shop, switched on by the
/// student (or hidden, in a fault hunt).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Incident {
    /// Every cache call takes 120 ms, as a cache server under memory
    /// pressure or behind a saturated link does.
    SlowCache,
    /// The orders page reads each order's customer with a query of its own.
    NPlusOne,
    /// Three of the pool's four database connections are checked out and
    /// never returned.
    PoolLeak,
    /// The cache key carries the request's id, so no lookup ever finds
    /// what an earlier request stored.
    CacheNeverHits,
    /// Replica 3 of 3 answers every request it gets with a 500.
    ErroringReplica,
}

impl Incident {
    /// Every incident, in the order the lesson presents them.
    pub const ALL: [Incident; 5] = [
        Incident::SlowCache,
        Incident::NPlusOne,
        Incident::PoolLeak,
        Incident::CacheNeverHits,
        Incident::ErroringReplica,
    ];

    /// The incident's name as settings write it, e.g. `slow_cache`.
    pub fn name(self) -> &'static str {
        match self {
            Incident::SlowCache => "slow_cache",
            Incident::NPlusOne => "n_plus_one",
            Incident::PoolLeak => "pool_leak",
            Incident::CacheNeverHits => "cache_never_hits",
            Incident::ErroringReplica => "erroring_replica",
        }
    }

    /// What the switch does, in a few words.
    pub fn label(self) -> &'static str {
        match self {
            Incident::SlowCache => "Slow cache: every cache call takes 120 ms",
            Incident::NPlusOne => "N+1: the orders page queries each customer",
            Incident::PoolLeak => "Pool leak: 3 of 4 connections never come back",
            Incident::CacheNeverHits => "Cache never hits: the key carries the request id",
            Incident::ErroringReplica => "Erroring replica: replica 3 answers 500",
        }
    }

    /// The component at fault and how it fails: what a right diagnosis names.
    pub fn diagnosis(self) -> (Component, Mechanism) {
        match self {
            Incident::SlowCache => (Component::Cache, Mechanism::Latency),
            Incident::NPlusOne => (Component::Database, Mechanism::QueryPerItem),
            Incident::PoolLeak => (Component::ConnectionPool, Mechanism::Exhaustion),
            Incident::CacheNeverHits => (Component::Cache, Mechanism::NoHits),
            Incident::ErroringReplica => (Component::Replica, Mechanism::Errors),
        }
    }
}

/// A part of the observed shop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Component {
    /// The cache in front of the database.
    Cache,
    /// The database and the queries sent to it.
    Database,
    /// The pool of database connections.
    ConnectionPool,
    /// One of the three replicas serving requests.
    Replica,
}

impl Component {
    /// Every component, for the diagnosis form.
    pub const ALL: [Component; 4] = [
        Component::Cache,
        Component::Database,
        Component::ConnectionPool,
        Component::Replica,
    ];

    /// The component in words.
    pub fn label(self) -> &'static str {
        match self {
            Component::Cache => "the cache",
            Component::Database => "the database",
            Component::ConnectionPool => "the connection pool",
            Component::Replica => "a replica",
        }
    }
}

/// How a component fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Mechanism {
    /// Each call is slow.
    Latency,
    /// One query per item of a list instead of one for the list.
    QueryPerItem,
    /// Requests wait for something that is all in use.
    Exhaustion,
    /// Lookups never find what was stored.
    NoHits,
    /// Requests fail outright.
    Errors,
}

impl Mechanism {
    /// Every mechanism, for the diagnosis form.
    pub const ALL: [Mechanism; 5] = [
        Mechanism::Latency,
        Mechanism::QueryPerItem,
        Mechanism::Exhaustion,
        Mechanism::NoHits,
        Mechanism::Errors,
    ];

    /// The mechanism in words.
    pub fn label(self) -> &'static str {
        match self {
            Mechanism::Latency => "each call is slow",
            Mechanism::QueryPerItem => "a query per item (N+1)",
            Mechanism::Exhaustion => "requests wait for a resource that is all in use",
            Mechanism::NoHits => "lookups never find what was stored",
            Mechanism::Errors => "requests fail with errors",
        }
    }
}

/// The service level objective the dashboard measures the shop against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Objective {
    /// Good requests wanted, in tenths of a percent (`990` is 99.0 %),
    /// 900 to 999.
    pub target_per_mille: u32,
    /// A request is good when it succeeds (below 500) within this many
    /// milliseconds, 10 to 5000.
    pub latency_ms: u32,
}

impl Default for Objective {
    fn default() -> Self {
        Self {
            target_per_mille: 990,
            latency_ms: 100,
        }
    }
}

/// The student's answer in a fault hunt.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Diagnosis {
    /// The component at fault.
    pub component: Option<Component>,
    /// How it fails.
    pub mechanism: Option<Mechanism>,
    /// The id of one of the student's traces that shows the fault (32 hex
    /// digits, as the inspector and the log lines show it).
    pub trace_id: String,
}

/// The observe lab's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ObserveSettings {
    /// Incidents switched on (ignored while a hunt is on).
    pub incidents: Vec<Incident>,
    /// The objective the dashboard measures against.
    pub objective: Objective,
    /// The fault hunt under way, by number: while it is set, one incident
    /// chosen for the student and this number is on, hidden, and the
    /// switches are off. A new number is a new hunt.
    pub hunt: Option<u32>,
    /// What the student found in the hunt.
    pub diagnosis: Diagnosis,
}

/// Which of the shop's pages a load run asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LoadMix {
    /// Product pages (cache, then database), products 1 to 20.
    Products,
    /// The orders page (database).
    Orders,
    /// Three product pages to one orders page.
    #[default]
    Mixed,
}

/// `POST /labs/observe/load`: requests the lab sends to the student's shop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct LoadRequest {
    /// How many, 1 to 200.
    pub requests: u32,
    /// How many at once, 1 to 16.
    pub concurrency: u32,
    /// Which pages.
    pub mix: LoadMix,
}

impl Default for LoadRequest {
    fn default() -> Self {
        Self {
            requests: 100,
            concurrency: 8,
            mix: LoadMix::Mixed,
        }
    }
}

/// What a load run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoadReport {
    /// Requests sent.
    pub sent: u32,
    /// Those answered 500 or more.
    pub errors: u32,
    /// How long the run took, in milliseconds.
    pub took_ms: u64,
    /// The slowest request's trace, to open in the inspector.
    pub slowest_trace: Option<String>,
}

/// The student's shop traffic over the last minutes: rate, errors and
/// duration (RED), the objective's error budget, and the log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RedReport {
    /// The server's time of the report, in milliseconds since 1970.
    pub now_ms: i64,
    /// How long each bucket is, in seconds.
    pub bucket_seconds: u32,
    /// Oldest first; the last one is the current, unfinished bucket.
    pub buckets: Vec<RedBucket>,
    /// Each route over the whole window.
    pub routes: Vec<RouteRed>,
    /// The objective over the whole window.
    pub budget: ErrorBudget,
    /// The newest log lines, newest first.
    pub log: Vec<LogLine>,
    /// Whether a fault hunt is on (its incident is not named).
    pub hunting: bool,
    /// The incidents switched on (empty while hunting).
    pub incidents: Vec<Incident>,
}

/// Requests in one bucket of time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RedBucket {
    /// When the bucket starts, in milliseconds since 1970.
    pub start_ms: i64,
    /// Requests that ended in it.
    pub requests: u32,
    /// Those answered 500 or more.
    pub errors: u32,
    /// Durations at the 50th, 95th and 99th percentile, in microseconds
    /// (0 for an empty bucket).
    pub p50_us: u64,
    /// See `p50_us`.
    pub p95_us: u64,
    /// See `p50_us`.
    pub p99_us: u64,
    /// The error budget left after this bucket, in tenths of a percent of
    /// the budget (below 0 once it is overspent).
    pub budget_left_per_mille: i64,
}

/// One route over the whole window.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RouteRed {
    /// The route, e.g. `GET /shop/products/{id}`.
    pub route: String,
    /// Requests.
    pub requests: u32,
    /// Those answered 500 or more.
    pub errors: u32,
    /// See [`RedBucket::p50_us`].
    pub p50_us: u64,
    /// See [`RedBucket::p50_us`].
    pub p95_us: u64,
    /// See [`RedBucket::p50_us`].
    pub p99_us: u64,
}

/// How the shop meets its objective over the window.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBudget {
    /// The objective measured against.
    pub objective: Objective,
    /// Requests in the window.
    pub requests: u32,
    /// Those that were not good (an error, or slower than the objective).
    pub bad: u32,
    /// Bad requests the objective allows for this many requests, in
    /// thousandths of a request (the budget is rarely a whole number).
    pub allowed_milli: u64,
    /// The budget left, in tenths of a percent (below 0 once overspent).
    pub left_per_mille: i64,
    /// How fast the last minute spent the budget, in hundredths: 100 is
    /// exactly as fast as the objective allows, 1000 ten times faster.
    pub burn_rate_per_cent: u64,
}

/// One line of the shop's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogLine {
    /// When, in milliseconds since 1970.
    pub at_ms: i64,
    /// `info`, `warn` or `error`.
    pub level: String,
    /// The trace of the request that logged it.
    pub trace_id: String,
    /// What happened.
    pub message: String,
}
