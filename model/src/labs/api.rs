//! The API lab's wire types: orders as the API shows them, the bodies that
//! create and change them, a page of orders, the RFC 9457 problem document
//! every error is, and the lab's settings.

use serde::{Deserialize, Serialize};

/// What a student may change in the API lab.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ApiSettings {
    /// Orders on a page when the request does not say (1 to 100).
    pub default_per_page: u32,
    /// Whether `PATCH` and `DELETE` must carry `If-Match` (`428` without it).
    /// Off, a stale write silently overwrites: the lost update.
    pub require_if_match: bool,
    /// How long creating an order takes, in milliseconds (0 to 3000): long
    /// enough, and a second request with the same `Idempotency-Key` arrives
    /// while the first still runs.
    pub create_latency_ms: u32,
    /// The fault switch "lose the response after commit": the first answer
    /// to each distinct create is dropped after the order is written, and
    /// the client gets `502` instead.
    pub lose_responses: bool,
    /// Orders an export reads per step (100 to 2000).
    pub export_chunk_rows: u32,
    /// The pause between an export's steps, in milliseconds (0 to 2000), so
    /// its progress can be watched.
    pub export_chunk_delay_ms: u32,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            default_per_page: 20,
            require_if_match: true,
            create_latency_ms: 0,
            lose_responses: false,
            export_chunk_rows: 500,
            export_chunk_delay_ms: 250,
        }
    }
}

/// The body of `POST /labs/api/orders`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    /// Who orders: a customer of the shop.
    pub customer_id: i64,
    /// What they order: one line per product, at least one.
    pub items: Vec<NewOrderLine>,
}

/// One line of a new order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewOrderLine {
    /// A product of the shop.
    pub product_id: i64,
    /// How many, 1 to 100.
    pub quantity: i64,
}

/// The body of `PATCH /labs/api/orders/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OrderChange {
    /// The new status: `placed`, `shipped`, `delivered` or `cancelled`.
    pub status: String,
}

/// One order, as `GET /labs/api/orders/{id}` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Order {
    /// Its id, also the last segment of its URL.
    pub id: i64,
    /// Who ordered.
    pub customer_id: i64,
    /// When, as the shop writes it (`YYYY-MM-DD HH:MM:SS`, UTC).
    pub placed_at: String,
    /// `placed`, `shipped`, `delivered` or `cancelled`.
    pub status: String,
    /// Its lines, by product id.
    pub items: Vec<OrderLine>,
    /// The sum of quantity × unit price over the lines.
    pub total_cents: i64,
}

/// One line of an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderLine {
    /// The product.
    pub product_id: i64,
    /// How many.
    pub quantity: i64,
    /// The price when the order was placed.
    pub unit_price_cents: i64,
}

/// One order in a list: without its lines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderSummary {
    /// Its id.
    pub id: i64,
    /// Who ordered.
    pub customer_id: i64,
    /// When.
    pub placed_at: String,
    /// Its status.
    pub status: String,
}

/// A page of `GET /labs/api/orders`, newest order first. The `Link` header
/// carries the same links as `links`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderPage {
    /// `offset` (`?page=`) or `cursor` (`?after=`).
    pub mode: String,
    /// The orders on this page.
    pub orders: Vec<OrderSummary>,
    /// Orders per page.
    pub per_page: u32,
    /// The page number, for offset pages.
    pub page: Option<u32>,
    /// How many orders there are, for offset pages (it costs a count).
    pub total: Option<u64>,
    /// Where the neighbouring pages are.
    pub links: PageLinks,
    /// With `?include=`: the resources the page's orders refer to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included: Option<Included>,
}

/// The neighbouring pages, as URLs (absent where there is none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PageLinks {
    /// The first page.
    pub first: Option<String>,
    /// The page before (offset pages only).
    pub prev: Option<String>,
    /// The page after.
    pub next: Option<String>,
    /// The last page (offset pages only).
    pub last: Option<String>,
}

/// An error, as RFC 9457 "Problem Details for HTTP APIs" writes it
/// (`Content-Type: application/problem+json`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A URL naming the kind of problem; `about:blank` when the status says it all.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind, the same for every occurrence.
    pub title: String,
    /// The HTTP status code, repeated for whoever only kept the body.
    pub status: u16,
    /// What went wrong this time, for a person.
    pub detail: String,
    /// The request's path: which occurrence this was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// For `422`: each invalid part of the request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<InvalidParam>,
}

/// One invalid part of a request body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvalidParam {
    /// A JSON Pointer (RFC 6901) to the part, e.g. `/items/0/quantity`.
    pub pointer: String,
    /// What is wrong with it.
    pub detail: String,
}

/// The body of `POST /labs/api/exports`: which orders to report on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ExportRequest {
    /// Only orders with this status; all orders when absent.
    pub status: Option<String>,
}

/// Where an export job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Working through the orders.
    Running,
    /// Finished: the result is ready.
    Done,
    /// Stopped by `DELETE` before it finished.
    Cancelled,
    /// Stopped by an error, which `error` names.
    Failed,
}

/// How far a job has got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobProgress {
    /// Orders read so far.
    pub done: u64,
    /// Orders to read in all.
    pub total: u64,
}

/// An export job, as `GET /labs/api/exports/{id}` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Job {
    /// Its id, also the last segment of its URL.
    pub id: u64,
    /// Where it is.
    pub status: JobStatus,
    /// How far it has got.
    pub progress: JobProgress,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// Its own URL, its progress stream, and its result once done.
    pub links: JobLinks,
}

/// The URLs of a job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobLinks {
    /// The job itself (poll it).
    #[serde(rename = "self")]
    pub itself: String,
    /// Its progress as server-sent events.
    pub events: String,
    /// Its result, once `status` is `done`.
    pub result: Option<String>,
}

/// The result of an export: the orders' count and value, per status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExportReport {
    /// Orders reported on.
    pub orders: u64,
    /// Their value: the sum of quantity × unit price over their lines.
    pub total_cents: i64,
    /// The same, per status, by status name.
    pub by_status: Vec<StatusTotal>,
}

/// Orders of one status in a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusTotal {
    /// The status.
    pub status: String,
    /// How many orders have it.
    pub orders: u64,
    /// Their value.
    pub total_cents: i64,
}

/// When the writer changes the orders.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WriterMode {
    /// On its own, `ops` times a second, while the student pages.
    #[default]
    Background,
    /// `ops` changes just before each page is read: the same changes on
    /// every run with the same seed.
    BetweenPages,
}

/// The body of `PUT /labs/api/writer`: another client writing to the
/// orders while the student pages through them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct WriterConfig {
    /// When it writes.
    pub mode: WriterMode,
    /// Changes per second (background) or per page (between pages), 1 to 20.
    pub ops: u32,
    /// How many of the changes are new orders, in percent; the rest delete
    /// one of the 50 newest orders.
    pub insert_percent: u32,
    /// How long it runs, in seconds (1 to 120).
    pub seconds: u32,
    /// The seed of its choices: the same seed makes the same changes.
    pub seed: u64,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            mode: WriterMode::Background,
            ops: 2,
            insert_percent: 50,
            seconds: 60,
            seed: 1,
        }
    }
}

/// What the writer is doing, from `GET /labs/api/writer`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WriterStatus {
    /// Whether it is writing.
    pub running: bool,
    /// How it was started (absent before the first start).
    pub config: Option<WriterConfig>,
    /// Orders it created.
    pub inserted: u64,
    /// Orders it deleted.
    pub deleted: u64,
    /// Why it stopped, once it has.
    pub stopped_because: Option<String>,
}

/// The body of `POST /labs/api/transport-race`: how many requests each way,
/// and how long the server takes to answer each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct TransportRaceRequest {
    /// Requests sent each way (1 to 30).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 30))]
    pub requests: u32,
    /// How long the server waits before answering each, in milliseconds
    /// (0 to 200): the stand-in for a real handler's work.
    #[cfg_attr(feature = "openapi", schema(maximum = 200))]
    pub latency_ms: u32,
}

impl Default for TransportRaceRequest {
    fn default() -> Self {
        Self {
            requests: 20,
            latency_ms: 50,
        }
    }
}

/// One way of sending the requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TransportWay {
    /// HTTP/1.1 on one kept-alive connection: one request at a time.
    Http1OneConnection,
    /// HTTP/1.1 on six connections, as a browser opens per origin.
    Http1SixConnections,
    /// HTTP/2 on one connection: every request at once, as streams.
    Http2OneConnection,
}

/// What one way of sending cost, from `POST /labs/api/transport-race`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransportRun {
    /// Which way.
    pub way: TransportWay,
    /// The protocol the requests went over, e.g. `HTTP/1.1` (the client
    /// speaks only that one, so the server cannot answer in another).
    pub http_version: String,
    /// TCP connections the server accepted for this way.
    pub connections_opened: u32,
    /// Most requests the server was working on at one moment.
    pub max_in_flight: u32,
    /// From the first request sent to the last answer read, in milliseconds.
    pub total_ms: f64,
    /// Each request, in the order they were sent.
    pub requests: Vec<TransportRequestTiming>,
}

/// One request of a run, as the client timed it and the server placed it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransportRequestTiming {
    /// The connection it went on, numbered from 1 within the run.
    pub connection: u32,
    /// Its number on that connection, from 1.
    pub number_on_connection: u32,
    /// When it was sent, in milliseconds from the run's start.
    pub sent_ms: f64,
    /// When its answer had been read, in milliseconds from the run's start.
    pub answered_ms: f64,
}

/// The answer of `POST /labs/api/transport-race`: the same requests sent
/// three ways.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransportRace {
    /// Requests sent each way.
    pub requests: u32,
    /// The server's wait before each answer, in milliseconds.
    pub latency_ms: u32,
    /// HTTP/1.1 on one connection, on six, then HTTP/2 on one.
    pub runs: Vec<TransportRun>,
}

/// A customer of the shop, as `GET /labs/api/customers/{id}` shows one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShopCustomer {
    /// Its id.
    pub id: i64,
    /// Their name.
    pub name: String,
    /// Their city, if known.
    pub city: Option<String>,
    /// Their country.
    pub country: String,
}

/// A product of the shop, as `GET /labs/api/products/{id}` shows one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShopProduct {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its price today, in cents.
    pub price_cents: i64,
}

/// One line of an order, in a page's `included` part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncludedLine {
    /// The order it belongs to.
    pub order_id: i64,
    /// The product.
    pub product_id: i64,
    /// How many.
    pub quantity: i64,
    /// The price when the order was placed, in cents.
    pub unit_price_cents: i64,
}

/// What `?include=` adds to a page of orders: the resources its orders
/// refer to, each once (a compound document, as JSON:API calls it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Included {
    /// With `include=customer`: the page's customers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customers: Vec<ShopCustomer>,
    /// With `include=items`: the page's order lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<IncludedLine>,
    /// With `include=items`: the products of those lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<ShopProduct>,
}
