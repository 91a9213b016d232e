//! One student's workers: competing consumers of their work queue.
//!
//! Each worker is a task with its own subscription. It takes one message,
//! acknowledges it before or after the work (the student's `ack`
//! setting), prepares the e-mail, asks the mail server to send it, marks
//! the order notified, and takes the next. A failed attempt is published
//! again with a backoff, or dead-lettered after the last attempt. A
//! worker can be killed from the console at once or just after its next
//! e-mail; a new one starts in its place, as a supervisor would start it.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use model::labs::queue::{AckMode, KillAt, MapReduceRun, QueueSettings, WorkerState, WorkerView};
use tokio::sync::watch;

use super::broker::{BrokerDown, BrokerRef, Delivery, QueueNames, Subscription};
use super::job::{after_failure, AfterFailure, JobMessage, MapTask};
use super::ledger::{Ledger, Mailed};
use super::mapreduce::MapRun;
use crate::clock::Clock;

/// The pause before a worker tries its broker again after it went away.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

/// What a worker has been told to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    Run,
    /// Finish the job in hand, then stop (fewer workers in the settings).
    Retire,
    /// Die at once.
    KillNow,
    /// Die just after the next e-mail is sent, before acknowledging.
    KillAfterSend,
}

/// One worker as the pool sees it.
struct Worker {
    id: u32,
    orders: watch::Sender<Order>,
    shown: Mutex<(WorkerState, Option<String>)>,
    done: AtomicU64,
}

impl Worker {
    fn show(&self, state: WorkerState, job: Option<&str>) {
        *self.shown.lock().expect("never poisoned") = (state, job.map(str::to_string));
    }

    fn order(&self) -> Order {
        *self.orders.borrow()
    }

    fn view(&self) -> WorkerView {
        let (state, job) = self.shown.lock().expect("never poisoned").clone();
        WorkerView {
            id: self.id,
            state,
            job,
            done: self.done.load(Ordering::Relaxed),
            kill_armed: self.order() == Order::KillAfterSend,
        }
    }
}

/// How a job ended for the worker holding it.
enum Ended {
    Finished,
    Killed,
    BrokerDown(BrokerDown),
}

/// A student's workers, their queues and their ledger.
pub(crate) struct Pool {
    pub(crate) names: QueueNames,
    settings: watch::Sender<QueueSettings>,
    ledger: Mutex<Ledger>,
    crew: Mutex<Crew>,
    map_run: Mutex<Option<MapRun>>,
    broker_error: Mutex<Option<String>>,
    clock: Arc<dyn Clock>,
    stopping: watch::Receiver<bool>,
    last_used_ms: AtomicI64,
}

/// The workers and the broker they use.
struct Crew {
    broker: Option<BrokerRef>,
    workers: Vec<Arc<Worker>>,
    next_id: u32,
}

impl Pool {
    pub(crate) fn new(
        names: QueueNames,
        clock: Arc<dyn Clock>,
        stopping: watch::Receiver<bool>,
    ) -> Self {
        let now_ms = clock.now_ms();
        Self {
            names,
            settings: watch::Sender::new(QueueSettings::default()),
            ledger: Mutex::new(Ledger::new(now_ms)),
            crew: Mutex::new(Crew {
                broker: None,
                workers: Vec::new(),
                next_id: 1,
            }),
            map_run: Mutex::new(None),
            broker_error: Mutex::new(None),
            clock,
            stopping,
            last_used_ms: AtomicI64::new(now_ms),
        }
    }

    pub(crate) fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().expect("never poisoned")
    }

    fn crew(&self) -> MutexGuard<'_, Crew> {
        self.crew.lock().expect("never poisoned")
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Starts the ledger afresh and forgets the map-reduce run (the
    /// queues were purged, its tasks with them).
    pub(crate) fn reset_ledger(&self) {
        *self.ledger() = Ledger::new(self.now_ms());
        *self.map_run.lock().expect("never poisoned") = None;
    }

    /// Makes `run` the student's map-reduce run, replacing the last one
    /// (whose tasks still on the queue are then done with doing nothing).
    pub(crate) fn start_run(&self, run: MapRun) {
        *self.map_run.lock().expect("never poisoned") = Some(run);
    }

    /// The number for the next run.
    pub(crate) fn next_run_id(&self) -> u64 {
        self.map_run
            .lock()
            .expect("never poisoned")
            .as_ref()
            .map_or(1, |run| run.id + 1)
    }

    /// The map-reduce run as the console shows it.
    pub(crate) fn map_run(&self) -> Option<MapReduceRun> {
        self.map_run
            .lock()
            .expect("never poisoned")
            .as_ref()
            .map(MapRun::view)
    }

    /// Applies `change` to the run if `message` is one of its tasks.
    fn on_run(&self, message: &JobMessage, change: impl FnOnce(&mut MapRun, &MapTask)) {
        if let Some(task) = &message.map {
            if let Some(run) = self.map_run.lock().expect("never poisoned").as_mut() {
                change(run, task);
            }
        }
    }

    /// A map task's work: reads its range of order lines and stores their
    /// sums; `Err` when they could not be read. A task of a run that was
    /// replaced has nothing to do.
    async fn map(&self, task: &MapTask, worker: u32) -> Result<(), String> {
        let reader = match self.map_run.lock().expect("never poisoned").as_ref() {
            Some(run) if run.id == task.run => run.reader.clone(),
            _ => return Ok(()),
        };
        let lines = reader(task.first_order, task.last_order).await?;
        let now_ms = self.now_ms();
        if let Some(run) = self.map_run.lock().expect("never poisoned").as_mut() {
            run.mapped(task, &lines, worker, now_ms);
        }
        Ok(())
    }

    /// When a request of the student's last touched the pool.
    pub(crate) fn last_used_ms(&self) -> i64 {
        self.last_used_ms.load(Ordering::Relaxed)
    }

    /// Why the broker cannot be used now, if it cannot.
    pub(crate) fn broker_error(&self) -> Option<String> {
        self.broker_error.lock().expect("never poisoned").clone()
    }

    pub(crate) fn broker_failed(&self, down: &BrokerDown) {
        *self.broker_error.lock().expect("never poisoned") = Some(down.0.clone());
    }

    pub(crate) fn broker_ok(&self) {
        *self.broker_error.lock().expect("never poisoned") = None;
    }

    /// Whether any job is waiting or held: then the pool is not idle.
    pub(crate) fn busy(&self) -> bool {
        let ledger = self.ledger();
        ledger.counts().waiting > 0 || ledger.counts().in_flight > 0
    }

    pub(crate) fn workers(&self) -> Vec<WorkerView> {
        self.crew()
            .workers
            .iter()
            .map(|worker| worker.view())
            .collect()
    }

    /// Brings the workers in line with `settings` on `broker` (or stops
    /// them all when the broker cannot be had): a new broker gets new
    /// workers; more or fewer workers start or retire.
    pub(crate) fn configure(
        self: &Arc<Self>,
        settings: &QueueSettings,
        broker: Result<BrokerRef, BrokerDown>,
    ) {
        self.last_used_ms.store(self.now_ms(), Ordering::Relaxed);
        self.settings.send_replace(settings.clone());
        let mut crew = self.crew();
        match broker {
            Err(down) => {
                self.broker_failed(&down);
                crew.broker = None;
            }
            Ok(broker) => {
                if crew.broker.as_ref().map(BrokerRef::kind) != Some(broker.kind()) {
                    self.broker_ok();
                    crew.broker = Some(broker);
                    Self::retire_all(&crew);
                }
            }
        }
        if crew.broker.is_none() {
            Self::retire_all(&crew);
        }
        self.staff(&mut crew);
    }

    fn retire_all(crew: &Crew) {
        for worker in &crew.workers {
            worker.orders.send_if_modified(|order| {
                let running = *order == Order::Run || *order == Order::KillAfterSend;
                if running {
                    *order = Order::Retire;
                }
                running
            });
        }
    }

    /// Starts or retires workers until as many run as the settings ask.
    fn staff(self: &Arc<Self>, crew: &mut Crew) {
        let Some(broker) = crew.broker.clone() else {
            return;
        };
        let wanted = self.settings.borrow().workers as usize;
        let running: Vec<&Arc<Worker>> = crew
            .workers
            .iter()
            .filter(|worker| matches!(worker.order(), Order::Run | Order::KillAfterSend))
            .collect();
        for extra in running
            .iter()
            .rev()
            .take(running.len().saturating_sub(wanted))
        {
            extra.orders.send_replace(Order::Retire);
        }
        for _ in running.len()..wanted {
            let worker = Arc::new(Worker {
                id: crew.next_id,
                orders: watch::Sender::new(Order::Run),
                shown: Mutex::new((WorkerState::Starting, None)),
                done: AtomicU64::new(0),
            });
            crew.next_id += 1;
            crew.workers.push(worker.clone());
            tokio::spawn(self.clone().work(worker, broker.clone()));
        }
    }

    /// Stops every worker (the pool is being forgotten).
    pub(crate) fn stop(&self) {
        let mut crew = self.crew();
        crew.broker = None;
        Self::retire_all(&crew);
    }

    /// Kills worker `id`, now or after its next e-mail; `false` if there
    /// is no such worker.
    pub(crate) fn kill(&self, id: u32, at: KillAt) -> Option<WorkerView> {
        let crew = self.crew();
        let worker = crew.workers.iter().find(|worker| worker.id == id)?;
        worker.orders.send_replace(match at {
            KillAt::Now => Order::KillNow,
            KillAt::AfterSend => Order::KillAfterSend,
        });
        Some(worker.view())
    }

    /// The worker left: take it off the list and start whoever is missing.
    fn exited(self: &Arc<Self>, worker: &Worker) {
        let mut crew = self.crew();
        crew.workers.retain(|other| other.id != worker.id);
        self.staff(&mut crew);
    }

    /// A worker's life: subscribe, take jobs one by one, resubscribe after
    /// the broker went away, until it is retired or killed.
    async fn work(self: Arc<Self>, worker: Arc<Worker>, broker: BrokerRef) {
        let mut orders = worker.orders.subscribe();
        let mut stopping = self.stopping.clone();
        'connect: loop {
            worker.show(WorkerState::Starting, None);
            let subscribed = tokio::select! {
                biased;
                () = leaving(&mut orders, &mut stopping) => break,
                subscribed = broker.subscribe(&self.names) => subscribed,
            };
            let mut subscription = match subscribed {
                Ok(subscription) => {
                    self.broker_ok();
                    subscription
                }
                Err(down) => {
                    self.broker_failed(&down);
                    worker.show(WorkerState::BrokerDown, None);
                    tokio::select! {
                        biased;
                        () = leaving(&mut orders, &mut stopping) => break,
                        () = tokio::time::sleep(RECONNECT_PAUSE) => continue,
                    }
                }
            };
            loop {
                worker.show(WorkerState::Idle, None);
                let next = tokio::select! {
                    biased;
                    () = leaving(&mut orders, &mut stopping) => break 'connect,
                    next = subscription.next() => next,
                };
                let delivery = match next {
                    Ok(delivery) => delivery,
                    Err(down) => {
                        self.broker_failed(&down);
                        continue 'connect;
                    }
                };
                let message = delivery.message.clone();
                self.ledger()
                    .taken(&message, delivery.redelivered, worker.id, self.now_ms());
                self.on_run(&message, |run, task| run.taken(task, worker.id));
                worker.show(WorkerState::Preparing, Some(&message.id));
                let mut acked = false;
                let ended = self
                    .handle(&worker, &broker, &mut subscription, delivery, &mut acked)
                    .await;
                match ended {
                    // A job of no time awaits nothing that yields: give
                    // the server's other tasks their turn between jobs.
                    Ended::Finished => tokio::task::yield_now().await,
                    Ended::Killed => {
                        drop(subscription);
                        let why = format!("worker {} was killed mid-job", worker.id);
                        self.died_holding(&message, acked, &why);
                        break 'connect;
                    }
                    Ended::BrokerDown(down) => {
                        self.broker_failed(&down);
                        drop(subscription);
                        let why = format!("worker {} lost the broker mid-job", worker.id);
                        self.died_holding(&message, acked, &why);
                        continue 'connect;
                    }
                }
            }
        }
        self.exited(&worker);
    }

    fn died_holding(&self, message: &JobMessage, acked: bool, why: &str) {
        self.on_run(message, |run, task| run.dropped(task, acked, why));
        let now_ms = self.now_ms();
        if acked {
            self.ledger().lost(message, why, now_ms);
        } else {
            self.ledger().back_on_queue(message, why, now_ms);
        }
    }

    /// One job, from the moment the worker took it to its acknowledgement.
    async fn handle(
        &self,
        worker: &Worker,
        broker: &BrokerRef,
        subscription: &mut Subscription,
        delivery: Delivery,
        acked: &mut bool,
    ) -> Ended {
        let settings = self.settings.borrow().clone();
        let message = delivery.message;
        let mut receipt = Some(delivery.receipt);
        if settings.ack == AckMode::BeforeWork {
            if let Err(down) = self.ack(subscription, &mut receipt, acked).await {
                return Ended::BrokerDown(down);
            }
        }
        let half = Duration::from_millis(u64::from(settings.work_ms) / 2);
        if work_unless_killed(worker, half).await.is_err() {
            return Ended::Killed;
        }
        // A map task that could not read its orders fails like a refused
        // e-mail: retried after the backoff, then dead-lettered.
        let failure = if let Some(task) = &message.map {
            let mut orders = worker.orders.subscribe();
            tokio::select! {
                mapped = self.map(task, worker.id) => mapped.err(),
                () = killed(&mut orders) => return Ended::Killed,
            }
        } else {
            let mailed = self.ledger().mail(&message, settings.idempotent, worker.id);
            match mailed {
                Mailed::Refused(error) => Some(error),
                Mailed::Skipped => {
                    if let Err(down) = self.ack(subscription, &mut receipt, acked).await {
                        return Ended::BrokerDown(down);
                    }
                    self.ledger().skipped(&message, worker.id, self.now_ms());
                    return Ended::Finished;
                }
                Mailed::Sent { .. } => None,
            }
        };
        if let Some(error) = failure {
            return self
                .failed(
                    broker,
                    subscription,
                    &message,
                    &error,
                    &settings,
                    receipt,
                    acked,
                )
                .await;
        }
        worker.show(WorkerState::Finishing, Some(&message.id));
        if worker.order() == Order::KillAfterSend || work_unless_killed(worker, half).await.is_err()
        {
            return Ended::Killed;
        }
        if let Err(down) = self.ack(subscription, &mut receipt, acked).await {
            return Ended::BrokerDown(down);
        }
        self.ledger().done(&message, worker.id, self.now_ms());
        worker.done.fetch_add(1, Ordering::Relaxed);
        Ended::Finished
    }

    /// Acknowledges the delivery unless that was done already.
    async fn ack(
        &self,
        subscription: &mut Subscription,
        receipt: &mut Option<super::broker::Receipt>,
        acked: &mut bool,
    ) -> Result<(), BrokerDown> {
        if let Some(receipt) = receipt.take() {
            subscription.ack(receipt).await?;
            *acked = true;
        }
        Ok(())
    }

    /// The mail server refused: retry after the backoff, or dead-letter
    /// after the last attempt; the new message is on the broker before the
    /// old one is acknowledged, so an outage between them duplicates the
    /// job rather than losing it.
    #[allow(clippy::too_many_arguments)]
    async fn failed(
        &self,
        broker: &BrokerRef,
        subscription: &mut Subscription,
        message: &JobMessage,
        error: &str,
        settings: &QueueSettings,
        mut receipt: Option<super::broker::Receipt>,
        acked: &mut bool,
    ) -> Ended {
        let base = Duration::from_millis(u64::from(settings.retry_backoff_ms));
        let next = after_failure(message.attempt, settings.max_attempts, base);
        let published = match next {
            AfterFailure::RetryIn(delay) => {
                broker
                    .publish(&self.names, &message.retry(error), delay)
                    .await
            }
            AfterFailure::DeadLetter => {
                let last = JobMessage {
                    error: Some(error.to_string()),
                    ..message.clone()
                };
                broker.dead_letter(&self.names, &last).await
            }
        };
        if let Err(down) = published {
            return Ended::BrokerDown(down);
        }
        if let Err(down) = self.ack(subscription, &mut receipt, acked).await {
            return Ended::BrokerDown(down);
        }
        let dead = next == AfterFailure::DeadLetter;
        self.on_run(message, |run, task| run.failed(task, error, dead));
        let now_ms = self.now_ms();
        match next {
            AfterFailure::RetryIn(delay) => {
                self.ledger()
                    .retrying(message, error, delay.as_millis(), now_ms)
            }
            AfterFailure::DeadLetter => self.ledger().dead(message, error, now_ms),
        }
        Ended::Finished
    }
}

/// The worker was killed at once, mid-job.
struct KilledMidJob;

/// A worker's work: `time` on the clock, cut short if the worker is
/// killed at once. Only the work is cut: an acknowledgement or a publish
/// in flight always finishes first, so the ledger knows whether the broker
/// got it (a kill between sending an acknowledgement and its
/// confirmation would leave the job's fate unknown to the lab). No time
/// is no wait at all (a zero sleep still waits for the timer's next tick,
/// a millisecond).
async fn work_unless_killed(worker: &Worker, time: Duration) -> Result<(), KilledMidJob> {
    let mut orders = worker.orders.subscribe();
    if *orders.borrow() == Order::KillNow {
        return Err(KilledMidJob);
    }
    if time.is_zero() {
        return Ok(());
    }
    tokio::select! {
        () = tokio::time::sleep(time) => Ok(()),
        () = killed(&mut orders) => Err(KilledMidJob),
    }
}

/// Resolves when the worker is told to stop (retired or killed at once)
/// or the server is shutting down.
async fn leaving(orders: &mut watch::Receiver<Order>, stopping: &mut watch::Receiver<bool>) {
    tokio::select! {
        () = told(orders, |order| matches!(order, Order::Retire | Order::KillNow)) => {}
        () = told(stopping, |stopping| *stopping) => {}
    }
}

/// Resolves when the worker is killed at once.
async fn killed(orders: &mut watch::Receiver<Order>) {
    told(orders, |order| *order == Order::KillNow).await;
}

/// Resolves when the watched value passes `test`; never, if its sender is gone.
async fn told<T>(receiver: &mut watch::Receiver<T>, test: impl FnMut(&T) -> bool) {
    if receiver.wait_for(test).await.is_err() {
        std::future::pending::<()>().await;
    }
}
