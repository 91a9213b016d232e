//! The queue lab's wire types: its settings, the jobs a student queues,
//! and what the console shows of the queue, the workers and the outbox.

use serde::{Deserialize, Serialize};

/// What a student may change in the queue lab.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct QueueSettings {
    /// Which broker carries the jobs.
    pub broker: Broker,
    /// Workers taking jobs from the queue at once (0 to 4; 0 lets jobs pile up).
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 4))]
    pub workers: u32,
    /// How long one job takes a worker, in milliseconds (0 to 10,000): half
    /// before the e-mail is sent, half after (marking the order notified).
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 10000))]
    pub work_ms: u32,
    /// When a worker acknowledges a job to the broker.
    pub ack: AckMode,
    /// Whether a worker skips a job whose message id it has already handled.
    pub idempotent: bool,
    /// Attempts a job gets before it goes to the dead-letter queue (1 to 10).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10))]
    pub max_attempts: u32,
    /// The wait before the first retry, in milliseconds (0 to 30,000); it
    /// doubles with each further attempt.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 30000))]
    pub retry_backoff_ms: u32,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            broker: Broker::InProcess,
            workers: 2,
            work_ms: 2000,
            ack: AckMode::AfterWork,
            idempotent: false,
            max_attempts: 3,
            retry_backoff_ms: 1000,
        }
    }
}

/// What carries the jobs from the request that queues them to the workers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Broker {
    /// A queue in the server's memory: nothing to install, and gone when
    /// the server stops.
    #[default]
    InProcess,
    /// RabbitMQ over AMQP: durable queues, publisher confirms, a retry
    /// queue whose messages expire back into the work queue.
    #[serde(rename = "rabbitmq")]
    RabbitMq,
    /// NATS JetStream: a stream that keeps each job until a worker
    /// acknowledges it, pulled one message at a time; a worker that stops
    /// saying it is still working loses its job after the ack wait.
    Nats,
}

impl Broker {
    /// Every broker, in the order the console offers them.
    pub const ALL: [Broker; 3] = [Broker::InProcess, Broker::RabbitMq, Broker::Nats];

    /// The name the API and the console use.
    pub fn as_str(self) -> &'static str {
        match self {
            Broker::InProcess => "in-process",
            Broker::RabbitMq => "rabbitmq",
            Broker::Nats => "nats",
        }
    }
}

/// When a worker tells the broker a job is done with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum AckMode {
    /// As soon as it takes the job (at most once: a worker that dies
    /// mid-job loses it).
    BeforeWork,
    /// Once the job is finished (at least once: a worker that dies mid-job
    /// leaves it to be delivered again).
    #[default]
    AfterWork,
}

/// `POST /labs/queue/jobs`'s body: order confirmation e-mails to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct EnqueueJobs {
    /// How many e-mails (1 to 50), one job each, for consecutive orders.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 50))]
    pub count: u32,
    /// The customer's address.
    pub to: String,
    /// How many times each job's message is published (1 to 3): more than
    /// once is a producer that retried after a lost confirmation, so the
    /// workers get duplicates with the same message id.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3))]
    pub copies: u32,
    /// How many attempts the fake mail server refuses before it accepts
    /// each e-mail (0 to 10): a failure the workers retry.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 10))]
    pub failures: u32,
}

impl Default for EnqueueJobs {
    fn default() -> Self {
        Self {
            count: 1,
            to: "customer@example.com".into(),
            copies: 1,
            failures: 0,
        }
    }
}

/// The answer to `POST /labs/queue/jobs`: the jobs are on the queue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Enqueued {
    /// The jobs' message ids, in order.
    pub ids: Vec<String>,
    /// Messages published (ids times copies), each confirmed by the broker.
    pub published: u32,
    /// The broker that took them.
    pub broker: Broker,
}

/// `POST /labs/queue/workers/{id}/kill`'s query: when the worker dies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(default, deny_unknown_fields)]
pub struct KillWorker {
    /// When the worker dies: `now` (the default) or `after-send`.
    pub at: KillAt,
}

/// When a killed worker dies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum KillAt {
    /// At once, wherever it is in its job.
    #[default]
    Now,
    /// Just after its next job has sent the e-mail, before it acknowledges:
    /// the moment that sends an e-mail twice.
    AfterSend,
}

/// Everything the console shows: `GET /labs/queue`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueStatus {
    /// The broker the jobs go through now.
    pub broker: Broker,
    /// Why the broker cannot be used now (unreachable, or not configured on
    /// this server), or `null` when it works.
    pub broker_error: Option<String>,
    /// What has happened to the student's jobs.
    pub counts: QueueCounts,
    /// The workers, in order.
    pub workers: Vec<WorkerView>,
    /// The counts over time, oldest first, one point per change (at most
    /// 300 points, at most one per 200 ms).
    pub timeline: Vec<QueuePoint>,
    /// The latest jobs (up to 50), newest first.
    pub jobs: Vec<JobView>,
    /// The e-mails the workers sent (up to 50), newest first.
    pub outbox: Vec<SentEmail>,
    /// The latest map-reduce run over the student's orders, if any.
    #[serde(default)]
    pub mapreduce: Option<MapReduceRun>,
}

/// What has happened to a student's jobs since the queue was last reset.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueCounts {
    /// Messages published (a duplicate counts again).
    pub published: u64,
    /// Messages waiting for a worker, retries waiting out their backoff included.
    pub waiting: u64,
    /// Messages a worker holds now.
    pub in_flight: u64,
    /// Messages finished and acknowledged (duplicates an idempotent
    /// worker skipped included).
    pub done: u64,
    /// Failed attempts sent back for a retry.
    pub retried: u64,
    /// Messages delivered again after a worker died holding them.
    pub redelivered: u64,
    /// Messages in the dead-letter queue.
    pub dead: u64,
    /// Jobs a dead worker had acknowledged but not finished: gone.
    pub lost: u64,
    /// E-mails sent, duplicates included.
    pub emails_sent: u64,
    /// E-mails sent again for a message id that had one already.
    pub duplicate_emails: u64,
    /// Duplicates an idempotent worker recognised and skipped.
    pub duplicates_skipped: u64,
}

/// One point of the console's chart.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueuePoint {
    /// Milliseconds since the queue was last reset.
    pub at_ms: u64,
    /// Waiting messages.
    pub waiting: u64,
    /// Messages held by workers.
    pub in_flight: u64,
    /// Messages finished.
    pub done: u64,
    /// Retries so far.
    pub retried: u64,
    /// Dead-lettered messages.
    pub dead: u64,
}

/// One worker.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkerView {
    /// Its number; a worker started in place of a killed one gets a new one.
    pub id: u32,
    /// What it is doing.
    pub state: WorkerState,
    /// The message it holds, if any.
    pub job: Option<String>,
    /// Jobs it finished.
    pub done: u64,
    /// Whether a kill is waiting for the moment after its next e-mail.
    pub kill_armed: bool,
}

/// What a worker is doing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum WorkerState {
    /// Connecting to the broker.
    #[default]
    Starting,
    /// Waiting for a job.
    Idle,
    /// Working on a job, before its e-mail is sent.
    Preparing,
    /// Its job's e-mail is sent; it is marking the order notified.
    Finishing,
    /// The broker is unreachable; it tries again every second.
    BrokerDown,
}

/// One job, as the console lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobView {
    /// The message id every copy and retry of the job shares.
    pub id: String,
    /// The order it tells the customer about.
    pub order: u64,
    /// The customer's address.
    pub to: String,
    /// Where it is now.
    pub state: JobState,
    /// Attempts made so far.
    pub attempts: u32,
    /// Times it was delivered again after a worker died holding it.
    pub redeliveries: u32,
    /// E-mails sent for it (more than 1 is a duplicate the customer sees).
    pub emails: u32,
    /// The last thing that happened to it, in words.
    pub last: String,
}

/// Where a job is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum JobState {
    /// On the queue, waiting for a worker.
    #[default]
    Waiting,
    /// A worker holds it.
    InFlight,
    /// Failed; waiting out its backoff before the next attempt.
    Retrying,
    /// Finished and acknowledged.
    Done,
    /// In the dead-letter queue after its last attempt failed.
    Dead,
    /// Acknowledged before the work, by a worker that then died: gone.
    Lost,
}

/// One e-mail the fake mail server took.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SentEmail {
    /// The job's message id.
    pub job: String,
    /// The address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// Which e-mail this is for the job: 2 or more is a duplicate.
    pub copy: u32,
    /// The worker that sent it.
    pub worker: u32,
}

/// A message in the dead-letter queue: `GET /labs/queue/dead`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeadLetter {
    /// The job's message id.
    pub id: String,
    /// The order.
    pub order: u64,
    /// The address.
    pub to: String,
    /// Attempts it had.
    pub attempts: u32,
    /// Why its last attempt failed.
    pub error: String,
}

/// The answer to `POST /labs/queue/dead/replay`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Replayed {
    /// Messages moved from the dead-letter queue back to the work queue,
    /// each with its attempts counted afresh.
    pub replayed: u32,
}

/// `POST /labs/queue/mapreduce`'s body: count revenue per country over
/// your own orders, as map tasks on your queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct StartMapReduce {
    /// How many map tasks (1 to 12): the orders are split by id into this
    /// many ranges of equal width.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 12))]
    pub splits: u32,
}

impl Default for StartMapReduce {
    fn default() -> Self {
        Self { splits: 4 }
    }
}

/// A map-reduce run: its map tasks, the reduced answer and the same
/// answer from one SQL statement.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MapReduceRun {
    /// The run's number (a new run replaces the last one).
    pub run: u64,
    /// The map tasks, one per range of order ids.
    pub splits: Vec<MapSplit>,
    /// Revenue per country, once every map task has reported and the
    /// reduce step has merged them; `null` until then.
    pub reduced: Option<Vec<CountryRevenue>>,
    /// The same question answered by SQLite in one statement ([`Self::sql`]).
    pub sql_answer: Vec<CountryRevenue>,
    /// The statement that gave [`Self::sql_answer`].
    pub sql: String,
    /// Whether the reduced answer equals SQL's; `null` until reduced.
    pub matches: Option<bool>,
    /// Milliseconds from the start until the reduce step; `null` until then.
    pub elapsed_ms: Option<i64>,
}

/// One map task of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MapSplit {
    /// The task's number, from 1.
    pub split: u32,
    /// The first order id in its range.
    pub first_order: i64,
    /// The last order id in its range.
    pub last_order: i64,
    /// Where the task is.
    pub state: SplitState,
    /// How many times a worker took it (more than one: redelivered).
    pub deliveries: u32,
    /// Order lines it read, once mapped.
    pub lines: u64,
    /// What happened last, e.g. `worker 2 mapped 3,012 lines`.
    pub last: String,
}

/// Where a map task is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum SplitState {
    /// On the queue.
    #[default]
    Waiting,
    /// A worker is reading its orders.
    Mapping,
    /// Its partial result is stored.
    Mapped,
    /// Acknowledged by a worker that died before storing its result: the
    /// run can never finish.
    Lost,
    /// Every attempt failed (e.g. the orders could not be read); it is a
    /// dead letter.
    Failed,
}

/// Revenue from one country's customers, in cents (cancelled orders left out).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CountryRevenue {
    /// The customers' country.
    pub country: String,
    /// The sum of quantity times unit price over their orders' lines.
    pub revenue_cents: i64,
}
