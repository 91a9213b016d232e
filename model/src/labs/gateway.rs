//! The gateway lab's wire types: the student's gateway settings (the
//! balancing algorithm, the per-try timeout) and their own faults and
//! capacity for each replica, and what the replicas' view answers.

use serde::{Deserialize, Serialize};

use super::ratelimit::RateLimitSettings;

/// Most replicas a student's gateway may use.
pub const MAX_REPLICAS: usize = 5;

/// How the gateway picks a replica for each request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// Each replica in turn.
    #[default]
    RoundRobin,
    /// Any replica, at random (from the settings' seed).
    Random,
    /// The replica with the fewest requests in flight from this gateway.
    LeastOutstanding,
    /// Two replicas at random, and the cheaper of the two by peak-EWMA
    /// latency times requests in flight (the power of two choices).
    PeakEwma,
}

impl Algorithm {
    /// Every algorithm, in teaching order.
    pub const ALL: [Algorithm; 4] = [
        Self::RoundRobin,
        Self::Random,
        Self::LeastOutstanding,
        Self::PeakEwma,
    ];

    /// Its name in settings and traces.
    pub fn name(self) -> &'static str {
        match self {
            Self::RoundRobin => "round_robin",
            Self::Random => "random",
            Self::LeastOutstanding => "least_outstanding",
            Self::PeakEwma => "peak_ewma",
        }
    }
}

/// One replica as this student sees it: its capacity and their faults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ReplicaSettings {
    /// Requests it works on at once (1 to 64); more wait their turn.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 64))]
    pub capacity: u32,
    /// Milliseconds each request takes once it has a slot (0 to 2000).
    #[cfg_attr(feature = "openapi", schema(maximum = 2000))]
    pub service_ms: u32,
    /// Percent of requests that take `slow_ms` more (0 to 100): a tail.
    #[cfg_attr(feature = "openapi", schema(maximum = 100))]
    pub slow_percent: u8,
    /// The extra milliseconds of a slow request (0 to 10,000).
    #[cfg_attr(feature = "openapi", schema(maximum = 10000))]
    pub slow_ms: u32,
    /// Mean extra milliseconds each request takes at random (0 to 1000):
    /// exponentially distributed, so most requests take a little more and
    /// a few much more (at most ten times the mean), as real services do.
    #[cfg_attr(feature = "openapi", schema(maximum = 1000))]
    pub jitter_ms: u32,
    /// Milliseconds a replica stays cold after it (re)starts (0 to
    /// 60,000): its first requests take ten times their service time, and
    /// this falls back to normal evenly over the period.
    #[cfg_attr(feature = "openapi", schema(maximum = 60000))]
    pub warmup_ms: u32,
    /// Percent of requests answered `503 Service Unavailable` (0 to 100).
    #[cfg_attr(feature = "openapi", schema(maximum = 100))]
    pub error_percent: u8,
    /// Takes requests and never answers them.
    pub hang: bool,
    /// Down: its connections are cut without an answer.
    pub killed: bool,
}

impl Default for ReplicaSettings {
    fn default() -> Self {
        Self {
            capacity: 4,
            service_ms: 20,
            slow_percent: 0,
            slow_ms: 0,
            jitter_ms: 0,
            warmup_ms: 0,
            error_percent: 0,
            hang: false,
            killed: false,
        }
    }
}

/// What a student may change in the gateway lab.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct GatewaySettings {
    /// How many replicas the gateway balances over (1 to 5).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 5))]
    pub replicas: u8,
    /// How it picks one.
    pub algorithm: Algorithm,
    /// Milliseconds one try may take before the gateway gives up on it
    /// (10 to 10,000).
    #[cfg_attr(feature = "openapi", schema(minimum = 10, maximum = 10000))]
    pub per_try_timeout_ms: u32,
    /// Tries after the first, each on another replica where there is one
    /// (0 to 3); only failures are tried again: no answer in time, a cut
    /// connection, a 5xx.
    #[cfg_attr(feature = "openapi", schema(maximum = 3))]
    pub retries: u8,
    /// Whether retries are held to `retry_budget_percent`; without the
    /// budget every failure is retried.
    pub retry_budget: bool,
    /// Retries may add this many percent to the requests of the last 10 s
    /// (and 5 in any 10 s whatever the traffic) (0 to 100).
    #[cfg_attr(feature = "openapi", schema(maximum = 100))]
    pub retry_budget_percent: u8,
    /// Failures in a row that open a replica's circuit breaker (1 to 20;
    /// 0: no breaker).
    #[cfg_attr(feature = "openapi", schema(maximum = 20))]
    pub breaker_failures: u8,
    /// Milliseconds an open breaker keeps requests away before letting one
    /// trial through (100 to 60,000).
    #[cfg_attr(feature = "openapi", schema(minimum = 100, maximum = 60000))]
    pub breaker_open_ms: u32,
    /// Milliseconds after which a try still unanswered is *hedged*: the
    /// same request goes to a second replica too, and the first good
    /// answer wins (10 to 10,000; 0: never). A hedge is paid from the
    /// retry budget.
    #[cfg_attr(feature = "openapi", schema(maximum = 10000))]
    pub hedge_after_ms: u32,
    /// Requests the gateway lets wait on one replica: when every replica
    /// it could use has this many in flight, a new request is refused at
    /// once (503 with `Retry-After`) instead of queueing (1 to 256; 0:
    /// never shed).
    #[cfg_attr(feature = "openapi", schema(maximum = 256))]
    pub shed_above: u32,
    /// Whether the gateway checks each replica's `/health` on its own,
    /// every `health_every_ms` while the gateway is used, and takes out of
    /// the rotation a replica that fails `eject_after` checks in a row
    /// until it passes `return_after` in a row.
    pub health_checks: bool,
    /// Milliseconds between two rounds of health checks (100 to 10,000).
    #[cfg_attr(feature = "openapi", schema(minimum = 100, maximum = 10000))]
    pub health_every_ms: u32,
    /// Failed checks in a row that eject a replica (1 to 10).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10))]
    pub eject_after: u8,
    /// Passed checks in a row that bring an ejected replica back (1 to 10).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10))]
    pub return_after: u8,
    /// Seeds the random choices and the faults' dice, so a run repeats.
    pub seed: u32,
    /// Whether the gateway lets in only requests with an `X-Api-Key` from
    /// `api_keys`. It checks the key once, at the door, and tells the
    /// replica whose request it is (`X-Consumer`); replicas check nothing.
    pub require_api_key: bool,
    /// The keys the gateway knows, each naming its consumer (at most 5).
    pub api_keys: Vec<ApiKey>,
    /// The gateway's rate limit, decided after the key and before any
    /// replica is chosen, by the rate-limit lab's algorithms (none when
    /// absent). With `key: api_key` each consumer's key has its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitSettings>,
    /// The shop's order page behind a backend-for-frontend: how the BFF
    /// calls the users, orders and catalog services, and their faults.
    pub shop: ShopSettings,
    /// Each replica's capacity and faults, in order (at most 5; missing
    /// ones take the defaults).
    pub replica: Vec<ReplicaSettings>,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            replicas: 3,
            algorithm: Algorithm::RoundRobin,
            per_try_timeout_ms: 1000,
            retries: 0,
            retry_budget: true,
            retry_budget_percent: 20,
            breaker_failures: 0,
            breaker_open_ms: 5000,
            hedge_after_ms: 0,
            shed_above: 0,
            health_checks: false,
            health_every_ms: 1000,
            eject_after: 2,
            return_after: 2,
            seed: 1,
            require_api_key: false,
            api_keys: ApiKey::examples(),
            rate_limit: None,
            shop: ShopSettings::default(),
            replica: Vec::new(),
        }
    }
}

/// A key the gateway lets in, and who it belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    /// Who uses it: 1 to 32 of `a-z`, `0-9` and `-`; the replica is told
    /// this name, never the key.
    pub consumer: String,
    /// The secret itself: 8 to 64 printable ASCII characters, no spaces.
    pub key: String,
}

impl ApiKey {
    /// Most keys a gateway holds.
    pub const MAX: usize = 5;

    /// The two keys a new gateway knows (they only open the student's own
    /// lab gateway, so they can be printed in the lesson).
    pub fn examples() -> Vec<ApiKey> {
        [
            ("web-shop", "web-shop-key-1"),
            ("mobile-app", "mobile-app-key-1"),
        ]
        .into_iter()
        .map(|(consumer, key)| ApiKey {
            consumer: consumer.into(),
            key: key.into(),
        })
        .collect()
    }
}

impl GatewaySettings {
    /// Replica `index`'s settings (the defaults when not given).
    pub fn replica(&self, index: usize) -> ReplicaSettings {
        self.replica.get(index).cloned().unwrap_or_default()
    }

    /// These settings during the brownout: the gateway as the student set
    /// it, in front of replicas that are the lab's defaults (the student's
    /// own faults play no part), and once `begun`, replica 1's slow tail
    /// and replica 2's errors of [`Brownout`].
    pub fn in_brownout(&self, begun: bool) -> GatewaySettings {
        let mut replica = vec![ReplicaSettings::default(); MAX_REPLICAS];
        if begun {
            replica[0].jitter_ms = Brownout::JITTER_MS;
            replica[1].error_percent = Brownout::ERROR_PERCENT;
        }
        GatewaySettings {
            replica,
            ..self.clone()
        }
    }
}

/// The brownout a load run can play and the `gateway-brownout` exercise
/// replays: healthy default replicas until it begins, then replica 1
/// slows down (each request takes a random extra time, 430 ms on average:
/// its median rises to about 320 ms and its p99 to about 2 s, so it can
/// serve far fewer requests than its share) and replica 2 answers `503`
/// to 30 % of requests, until the run ends.
pub struct Brownout;

impl Brownout {
    /// Replica 1's mean extra time per request, in ms (its `jitter_ms`).
    pub const JITTER_MS: u32 = 430;
    /// Percent of replica 2's requests answered `503`.
    pub const ERROR_PERCENT: u8 = 30;
}

/// One replica in `GET /labs/gateway/replicas`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplicaView {
    /// 1-based, as traces and headers name it.
    pub number: u8,
    /// Its loopback port: a real TCP server.
    pub port: u16,
    /// This student's requests it is working on or holding now.
    pub in_flight: u32,
    /// This student's requests waiting for one of its slots now.
    pub queued: u32,
    /// This student's requests it answered (any status).
    pub answered: u64,
    /// Of those, the `503`s its error rate gave.
    pub errors: u64,
    /// The gateway's peak-EWMA latency estimate for it, in ms.
    pub ewma_ms: f64,
    /// Its circuit breaker: `closed`, `open` or `half_open`.
    pub breaker: String,
    /// What health checks found: `unchecked`, `healthy` or `ejected`.
    pub health: String,
    /// Requests the gateway has in flight to it for this student.
    pub outstanding: u32,
    /// This student's settings for it.
    pub settings: ReplicaSettings,
}

/// `GET /labs/gateway/replicas`: the student's replicas.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Replicas {
    /// The algorithm the gateway uses now.
    pub algorithm: Algorithm,
    /// The replicas the gateway balances over, in order.
    pub replicas: Vec<ReplicaView>,
    /// Rounds of health checks finished (since the algorithm, replicas,
    /// seed or budget last changed).
    pub health_rounds: u64,
}

/// What `GET /labs/gateway/catalog/items/{id}` answers when a replica
/// answered: the item, and which replica served it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CatalogItem {
    /// The item's number.
    pub id: u32,
    /// Its name.
    pub name: String,
    /// Its price in cents.
    pub price_cents: u32,
    /// The replica that served it (1-based).
    pub replica: u8,
    /// The consumer the gateway vouched for, when it checked a key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer: Option<String>,
}

/// `POST /labs/gateway/load`: an open-loop run through the gateway.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoadRequest {
    /// Requests sent each second, whether or not earlier ones were
    /// answered (1 to 200).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 200))]
    pub rate_per_sec: u32,
    /// How long the run lasts, in seconds (1 to 60).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 60))]
    pub seconds: u32,
    /// Plays the brownout ([`Brownout`]) on replicas with the lab's
    /// default settings: it begins this many seconds into the run (before
    /// `seconds`). Without it, the replicas keep your own settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brownout_at_s: Option<u32>,
}

/// One second of a run, by when its requests were sent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoadSecond {
    /// Seconds since the run started.
    pub second: u32,
    /// Requests sent in this second.
    pub sent: u32,
    /// Of those, answered 2xx to 4xx (a 404 is an answer).
    pub succeeded: u32,
    /// Of those, answered 5xx (the replica's, or the gateway's own).
    pub failed: u32,
    /// Tries the gateway made for them, retries included.
    pub attempts: u32,
    /// Median time to the answer, in ms.
    pub p50_ms: u32,
    /// 99th percentile, in ms.
    pub p99_ms: u32,
    /// Answers given by each replica (1 first).
    pub per_replica: Vec<u32>,
}

/// `GET /labs/gateway/load`: the student's latest run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoadRun {
    /// Whether requests are still being sent or awaited.
    pub running: bool,
    /// What was asked.
    pub rate_per_sec: u32,
    /// What was asked.
    pub seconds: u32,
    /// When the brownout began, if the run plays it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brownout_at_s: Option<u32>,
    /// Since the run started, in ms.
    pub elapsed_ms: u64,
    /// Requests sent.
    pub sent: u32,
    /// Requests the generator skipped because 256 of its requests were
    /// still waiting (the client itself overloaded).
    pub not_sent: u32,
    /// Answered 2xx to 4xx.
    pub succeeded: u32,
    /// Answered 5xx.
    pub failed: u32,
    /// Tries per answered request (1.0 means no retry).
    pub attempts_per_request: f64,
    /// Median, 95th and 99th percentile time to the answer, in ms.
    pub p50_ms: u32,
    /// 95th percentile, in ms.
    pub p95_ms: u32,
    /// 99th percentile, in ms.
    pub p99_ms: u32,
    /// Answers given by each replica (1 first).
    pub per_replica: Vec<u32>,
    /// Second by second.
    pub per_second: Vec<LoadSecond>,
}

/// One of the services behind the backend-for-frontend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// Who the customer is.
    Users,
    /// Their orders and each order's lines.
    Orders,
    /// Each item's name and price.
    Catalog,
}

impl Service {
    /// The three, in the order the BFF first calls them.
    pub const ALL: [Service; 3] = [Self::Users, Self::Orders, Self::Catalog];

    /// Its name in traces and answers.
    pub fn name(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Orders => "orders",
            Self::Catalog => "catalog",
        }
    }
}

/// What goes wrong in one service, for this student's calls to it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ServiceFaults {
    /// Milliseconds added to every call (0 to 2000).
    #[cfg_attr(feature = "openapi", schema(maximum = 2000))]
    pub extra_ms: u32,
    /// Percent of calls answered `503` (0 to 100), decided per call.
    #[cfg_attr(feature = "openapi", schema(maximum = 100))]
    pub error_percent: u8,
}

/// How the backend-for-frontend builds the order page, and the faults of
/// the services it calls.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ShopSettings {
    /// Ask the users and orders services at once (neither needs the
    /// other's answer), and the catalog for every line at once, instead of
    /// one call after another.
    pub parallel: bool,
    /// Ask the catalog once for every item on the page
    /// (`GET /items?ids=...`) instead of once per order line: no N+1.
    pub batch_catalog: bool,
    /// Milliseconds the BFF waits for one call before giving up on it
    /// (10 to 10,000); the page then fails.
    #[cfg_attr(feature = "openapi", schema(minimum = 10, maximum = 10000))]
    pub call_timeout_ms: u32,
    /// The users service's faults.
    pub users: ServiceFaults,
    /// The orders service's faults.
    pub orders: ServiceFaults,
    /// The catalog service's faults.
    pub catalog: ServiceFaults,
}

impl Default for ShopSettings {
    fn default() -> Self {
        Self {
            parallel: false,
            batch_catalog: false,
            call_timeout_ms: 1000,
            users: ServiceFaults::default(),
            orders: ServiceFaults::default(),
            catalog: ServiceFaults::default(),
        }
    }
}

impl ShopSettings {
    /// The faults of `service`.
    pub fn faults(&self, service: Service) -> &ServiceFaults {
        match service {
            Service::Users => &self.users,
            Service::Orders => &self.orders,
            Service::Catalog => &self.catalog,
        }
    }
}

/// A customer, as the order page shows them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderPageCustomer {
    /// Their number, 1 to 50.
    pub id: u32,
    /// Their name.
    pub name: String,
    /// Their e-mail address.
    pub email: String,
}

/// One line of an order on the page: the item as the catalog has it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderPageLine {
    /// The item's number.
    pub item_id: u32,
    /// Its name, from the catalog.
    pub name: String,
    /// Its price in cents, from the catalog.
    pub price_cents: u32,
    /// How many were ordered.
    pub quantity: u32,
}

/// One order on the page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderPageOrder {
    /// The order's number.
    pub id: u32,
    /// When it was placed (a date).
    pub placed_on: String,
    /// Its lines, in order.
    pub lines: Vec<OrderPageLine>,
    /// What it cost, in cents.
    pub total_cents: u32,
}

/// The shop's order page: one customer and all their orders, with each
/// line's item named and priced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShopOrderPage {
    /// `monolith` (one query) or `bff` (calls to three services).
    pub built_by: String,
    /// Who the page is for.
    pub customer: OrderPageCustomer,
    /// Their orders, oldest first.
    pub orders: Vec<OrderPageOrder>,
    /// Database queries (monolith) or service calls (BFF) made for it.
    pub calls: u32,
    /// How long building it took, in ms.
    pub ms: u32,
}

/// `POST /labs/gateway/shop/compare`: the order page of many customers,
/// built both ways.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ShopCompareRequest {
    /// Pages built each way, for customers 1, 2, 3 ... (1 to 50).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 50))]
    pub pages: u32,
}

/// Many order pages built one way.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShopRun {
    /// Pages asked for.
    pub pages: u32,
    /// Pages built whole.
    pub succeeded: u32,
    /// Pages that failed because a call failed or took too long.
    pub failed: u32,
    /// Of the failures, how many each service caused (users, orders,
    /// catalog; all zero for the monolith).
    pub failed_by: Vec<u32>,
    /// Queries or calls per page, on average.
    pub calls_per_page: f64,
    /// Median time to build a page (or to fail it), in ms.
    pub p50_ms: u32,
    /// 99th percentile, in ms.
    pub p99_ms: u32,
}

/// `POST /labs/gateway/shop/compare`: the same pages, both ways.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShopComparison {
    /// One handler, one SQL join.
    pub monolith: ShopRun,
    /// The backend-for-frontend calling three services over HTTP.
    pub bff: ShopRun,
}
