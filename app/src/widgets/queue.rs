//! The queue lab's console: settings, a form that queues e-mails, the
//! workers with their kill buttons, a chart of the queue over time, the
//! latest jobs, the outbox and the dead-letter queue.

use leptos::either::Either;
use leptos::prelude::*;

use super::settings_draft::{
    check_field, choice_name, choice_named, number_field, Bounds, SettingsDraft,
};
use crate::model::labs::queue::{
    AckMode, Broker, CountryRevenue, DeadLetter, JobState, MapReduceRun, QueuePoint, QueueSettings,
    QueueStatus, SplitState, WorkerState,
};

fn broker_label(broker: Broker) -> &'static str {
    match broker {
        Broker::InProcess => "in-process (no service)",
        Broker::RabbitMq => "RabbitMQ",
        Broker::Nats => "NATS JetStream",
    }
}

fn ack_label(ack: AckMode) -> &'static str {
    match ack {
        AckMode::BeforeWork => "before the work (at most once)",
        AckMode::AfterWork => "after the work (at least once)",
    }
}

fn worker_label(state: WorkerState) -> &'static str {
    match state {
        WorkerState::Starting => "starting",
        WorkerState::Idle => "idle",
        WorkerState::Preparing => "preparing the e-mail",
        WorkerState::Finishing => "sent; marking the order",
        WorkerState::BrokerDown => "broker unreachable",
    }
}

fn job_label(state: JobState) -> &'static str {
    match state {
        JobState::Waiting => "waiting",
        JobState::InFlight => "in flight",
        JobState::Retrying => "retrying",
        JobState::Done => "done",
        JobState::Dead => "dead letter",
        JobState::Lost => "lost",
    }
}

fn split_label(state: SplitState) -> &'static str {
    match state {
        SplitState::Waiting => "waiting",
        SplitState::Mapping => "mapping",
        SplitState::Mapped => "mapped",
        SplitState::Lost => "lost",
        SplitState::Failed => "failed (dead letter)",
    }
}

/// Cents as a sum of money with two decimals, without floating point.
pub(crate) fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{}.{:02}", cents / 100, cents % 100)
}

/// A run's tasks, and its answer beside SQL's once it has one.
#[component]
fn MapReduceView(run: MapReduceRun) -> impl IntoView {
    let splits = run
        .splits
        .iter()
        .map(|split| {
            let class = format!("queue-job-state queue-split-{}", choice_name(&split.state));
            view! {
                <tr>
                    <td>{split.split}</td>
                    <td>{format!("{} to {}", split.first_order, split.last_order)}</td>
                    <td><span class=class>{split_label(split.state)}</span></td>
                    <td>{split.deliveries}</td>
                    <td>{split.last.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    let verdict = match (run.matches, run.elapsed_ms) {
        (Some(true), Some(ms)) => format!("Reduced in {ms} ms: the same as SQL's answer."),
        (Some(false), _) => "Reduced, but different from SQL's answer.".to_string(),
        _ => "Not reduced yet: every map task must report first.".to_string(),
    };
    let sql_of = |country: &str| {
        run.sql_answer
            .iter()
            .find(|row| row.country == country)
            .map_or_else(|| "none".to_string(), |row| money(row.revenue_cents))
    };
    let answer = run.reduced.clone().map(|reduced: Vec<CountryRevenue>| {
        let rows = reduced
            .into_iter()
            .map(|row| {
                let sql = sql_of(&row.country);
                view! { <tr><td>{row.country}</td><td>{money(row.revenue_cents)}</td><td>{sql}</td></tr> }
            })
            .collect_view();
        view! {
            <div class="queue-table-wrap">
                <table class="queue-jobs">
                    <caption>"Revenue per country"</caption>
                    <thead><tr><th scope="col">"Country"</th><th scope="col">"Map-reduce"</th><th scope="col">"SQL"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
    });
    view! {
        <p class="queue-verdict" data-testid="mapreduce-verdict">{format!("Run {}: ", run.run)}{verdict}</p>
        <div class="queue-table-wrap">
            <table class="queue-jobs">
                <caption>"Map tasks"</caption>
                <thead><tr>
                    <th scope="col">"Task"</th><th scope="col">"Order ids"</th><th scope="col">"State"</th>
                    <th scope="col">"Deliveries"</th><th scope="col">"Last"</th>
                </tr></thead>
                <tbody>{splits}</tbody>
            </table>
        </div>
        {answer}
        <details class="queue-sql">
            <summary>"The same question in SQL"</summary>
            <pre><code>{run.sql}</code></pre>
        </details>
    }
}

const CHART_WIDTH: f64 = 640.0;
const CHART_HEIGHT: f64 = 160.0;
// The same sizes as text for the SVG's attributes: an `f64` attribute
// would be written by `core::fmt`'s float code, the bundle's largest
// function, which the widgets otherwise do without.
const CHART_VIEW_BOX: &str = "0 0 640 160";
const CHART_RIGHT: &str = "640";
const CHART_BOTTOM: &str = "160";

/// One line of the chart: its name, its CSS class and its value at a point.
type Series = (&'static str, &'static str, fn(&QueuePoint) -> u64);

/// The lines the chart draws.
const SERIES: [Series; 5] = [
    ("waiting", "queue-line-waiting", |p| p.waiting),
    ("in flight", "queue-line-inflight", |p| p.in_flight),
    ("done", "queue-line-done", |p| p.done),
    ("retried", "queue-line-retried", |p| p.retried),
    ("dead", "queue-line-dead", |p| p.dead),
];

/// Appends `x,y ` to an SVG polyline's points, one decimal each.
fn push_point(points: &mut String, x: f64, y: f64) {
    points.push_str(&enhance::text::decimal(x, 1));
    points.push(',');
    points.push_str(&enhance::text::decimal(y, 1));
    points.push(' ');
}

/// The counts over time, one line per series.
#[component]
fn QueueChart(timeline: Vec<QueuePoint>) -> impl IntoView {
    let last_ms = timeline.last().map_or(1, |p| p.at_ms.max(1)) as f64;
    let highest = timeline
        .iter()
        .flat_map(|p| SERIES.iter().map(move |(_, _, value)| value(p)))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let x = move |p: &QueuePoint| p.at_ms as f64 / last_ms * CHART_WIDTH;
    let y = move |v: u64| CHART_HEIGHT - 4.0 - v as f64 / highest * (CHART_HEIGHT - 12.0);
    let lines = SERIES
        .iter()
        .map(|(_, class, value)| {
            // Counts hold their value until the next change: draw steps.
            let mut points = String::new();
            let mut previous: Option<u64> = None;
            for p in &timeline {
                if let Some(before) = previous {
                    push_point(&mut points, x(p), y(before));
                }
                push_point(&mut points, x(p), y(value(p)));
                previous = Some(value(p));
            }
            if let Some(before) = previous {
                push_point(&mut points, CHART_WIDTH, y(before));
            }
            view! { <polyline class=format!("queue-line {class}") points=points/> }
        })
        .collect_view();
    let last = timeline.last().cloned().unwrap_or_default();
    let label = format!(
        "Your queue over {} seconds: now {} waiting, {} in flight, {} done, {} retried, {} dead",
        enhance::text::decimal(last.at_ms as f64 / 1000.0, 1),
        last.waiting,
        last.in_flight,
        last.done,
        last.retried,
        last.dead
    );
    view! {
        <figure class="queue-chart">
            <svg viewBox=CHART_VIEW_BOX role="img" aria-label=label preserveAspectRatio="none">
                <line class="queue-axis" x1="0" y1=CHART_BOTTOM x2=CHART_RIGHT y2=CHART_BOTTOM/>
                {lines}
            </svg>
            <figcaption>
                {SERIES.iter().map(|(name, class, _)| view! {
                    <span class=format!("queue-key {class}")>{*name}</span>
                }).collect_view()}
            </figcaption>
        </figure>
    }
}

/// Settings, jobs, workers, chart, outbox and dead letters of the queue lab.
#[island(lazy)]
pub(crate) fn QueueConsole() -> impl IntoView {
    let draft = SettingsDraft::<QueueSettings>::new("queue");
    let status = RwSignal::new(QueueStatus::default());
    let dead = RwSignal::new(None::<Vec<DeadLetter>>);
    let message = RwSignal::new(String::new());
    let count = RwSignal::new(String::from("5"));
    let copies = RwSignal::new(String::from("1"));
    let failures = RwSignal::new(String::from("0"));
    let splits = RwSignal::new(String::from("4"));
    let hydrated = RwSignal::new(false);

    Effect::new(move |_| {
        hydrated.set(true);
        draft.load();
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(browser::watch(status));
    });

    let save = move |_| draft.save("Saved: the workers take the new settings with their next job.");
    let enqueue = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(browser::enqueue(
            count.get_untracked(),
            copies.get_untracked(),
            failures.get_untracked(),
            status,
            message,
        ));
    };
    let start_mapreduce = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(browser::start_mapreduce(
            splits.get_untracked(),
            status,
            message,
        ));
    };
    let replay = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(browser::replay(status, dead, message));
    };
    let show_dead = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(browser::dead_letters(dead, message));
    };
    let clear = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(browser::clear(status, dead, message));
    };
    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    let kill = move |id: u32, after_send: bool| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(browser::kill(id, after_send, status, message));
    };

    let counts = move || status.with(|s| s.counts.clone());
    let figure = move |label: &'static str,
                       value: fn(&crate::model::labs::queue::QueueCounts) -> u64,
                       testid: &'static str| {
        view! {
            <div class="queue-count" data-testid=testid>
                <dt>{label}</dt>
                <dd>{move || value(&counts())}</dd>
            </div>
        }
    };
    let workers = move || {
        status
            .get()
            .workers
            .into_iter()
            .map(|worker| {
                let id = worker.id;
                let armed = worker.kill_armed;
                view! {
                    <li class="queue-worker" data-testid=format!("worker-{id}")>
                        <span class="queue-worker-name">{format!("Worker {id}")}</span>
                        <span class="queue-worker-state">
                            {worker_label(worker.state)}
                            {worker.job.map(|job| format!(" · {job}"))}
                            {format!(" · {} done", worker.done)}
                            {armed.then_some(" · dies after its next e-mail")}
                        </span>
                        <button type="button" class="button-secondary" on:click=move |_| kill(id, false)
                            aria-label=format!("Kill now (worker {id})")>"Kill now"</button>
                        <button type="button" class="button-quiet" disabled=armed on:click=move |_| kill(id, true)
                            aria-label=format!("Kill after send (worker {id})")>"Kill after send"</button>
                    </li>
                }
            })
            .collect_view()
    };
    let jobs = move || {
        status
            .get()
            .jobs
            .into_iter()
            .take(12)
            .map(|job| {
                let class = format!("queue-job-state queue-job-{}", choice_name(&job.state));
                view! {
                    <tr>
                        <td><code>{job.id}</code></td>
                        <td><span class=class>{job_label(job.state)}</span></td>
                        <td>{job.attempts}</td>
                        <td>{job.redeliveries}</td>
                        <td>{job.emails}</td>
                        <td>{job.last}</td>
                    </tr>
                }
            })
            .collect_view()
    };
    let outbox = move || {
        status
            .get()
            .outbox
            .into_iter()
            .take(8)
            .map(|mail| {
                let duplicate = mail.copy > 1;
                view! {
                    <li class:queue-duplicate=duplicate>
                        {format!("To {}: {} (job {}, worker {})", mail.to, mail.subject, mail.job, mail.worker)}
                        {duplicate.then(|| view! { <strong>{format!(" · copy {}: a duplicate", mail.copy)}</strong> })}
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <section class="widget queue-console" aria-label="Queue lab console" data-hydrated=move || hydrated.get().to_string()>
            <fieldset class="queue-settings" disabled=move || draft.loading()>
                <legend>"Your queue lab settings"</legend>
                <label class="field">
                    <span class="field-label">"Broker"</span>
                    <select prop:value=move || choice_name(&draft.read(|s| s.broker).unwrap_or_default())
                        on:change=move |ev| if let Some(broker) = choice_named(&Broker::ALL, &event_target_value(&ev)) {
                            draft.edit(|s| s.broker = broker)
                        }>
                        {Broker::ALL.into_iter().map(|broker| view! { <option value=choice_name(&broker)>{broker_label(broker)}</option> }).collect_view()}
                    </select>
                </label>
                <label class="field">
                    <span class="field-label">"Acknowledge"</span>
                    <select prop:value=move || choice_name(&draft.read(|s| s.ack).unwrap_or_default())
                        on:change=move |ev| if let Some(ack) = choice_named(&[AckMode::BeforeWork, AckMode::AfterWork], &event_target_value(&ev)) {
                            draft.edit(|s| s.ack = ack)
                        }>
                        {[AckMode::AfterWork, AckMode::BeforeWork].into_iter().map(|ack| view! { <option value=choice_name(&ack)>{ack_label(ack)}</option> }).collect_view()}
                    </select>
                </label>
                {number_field(draft, "Workers", Bounds::whole("0", "4"), |s| s.workers, |s, n| s.workers = n)}
                {number_field(draft, "Work per job (ms)", Bounds::whole("0", "10000"), |s| s.work_ms, |s, n| s.work_ms = n)}
                {number_field(draft, "Attempts before dead-lettering", Bounds::whole("1", "10"), |s| s.max_attempts, |s, n| s.max_attempts = n)}
                {number_field(draft, "First retry after (ms)", Bounds::whole("0", "30000"), |s| s.retry_backoff_ms, |s, n| s.retry_backoff_ms = n)}
                {check_field(draft, "Idempotent workers (skip a message id already sent)", |s| s.idempotent, |s, on| s.idempotent = on)}
                <button type="button" class="button-secondary" disabled=move || !hydrated.get() on:click=save>"Save settings"</button>
                <span class="note-inline" role="status">{move || draft.saved.get()}</span>
            </fieldset>
            <div class="queue-actions">
                <label class="field">
                    <span class="field-label">"E-mails to queue"</span>
                    <input type="number" min="1" max="50" inputmode="numeric" bind:value=count/>
                </label>
                <label class="field">
                    <span class="field-label">"Copies of each message"</span>
                    <input type="number" min="1" max="3" inputmode="numeric" bind:value=copies/>
                </label>
                <label class="field">
                    <span class="field-label">"Mail server refuses each first"</span>
                    <input type="number" min="0" max="10" inputmode="numeric" bind:value=failures/>
                </label>
                <button type="button" class="button-primary" disabled=move || !hydrated.get() on:click=enqueue>"Queue e-mails"</button>
                <button type="button" class="button-quiet" disabled=move || !hydrated.get() on:click=clear>"Empty the queue"</button>
            </div>
            <p class="queue-message" role="status" aria-live="polite">{move || message.get()}</p>
            {move || status.with(|s| s.broker_error.clone()).map(|error| view! {
                <p class="form-error" role="alert">{error}</p>
            })}
            <dl class="queue-counts">
                {figure("Waiting", |c| c.waiting, "count-waiting")}
                {figure("In flight", |c| c.in_flight, "count-in-flight")}
                {figure("Done", |c| c.done, "count-done")}
                {figure("Retried", |c| c.retried, "count-retried")}
                {figure("Redelivered", |c| c.redelivered, "count-redelivered")}
                {figure("Dead letters", |c| c.dead, "count-dead")}
                {figure("Lost", |c| c.lost, "count-lost")}
                {figure("E-mails sent", |c| c.emails_sent, "count-emails")}
                {figure("Duplicate e-mails", |c| c.duplicate_emails, "count-duplicates")}
                {figure("Duplicates skipped", |c| c.duplicates_skipped, "count-skipped")}
            </dl>
            {move || view! { <QueueChart timeline=status.with(|s| s.timeline.clone())/> }}
            <h3 class="queue-title">"Workers"</h3>
            <ul class="queue-workers">{workers}</ul>
            <h3 class="queue-title">"Latest jobs"</h3>
            <div class="queue-table-wrap">
                <table class="queue-jobs">
                    <thead><tr>
                        <th scope="col">"Message id"</th><th scope="col">"State"</th><th scope="col">"Attempts"</th>
                        <th scope="col">"Redelivered"</th><th scope="col">"E-mails"</th><th scope="col">"Last"</th>
                    </tr></thead>
                    <tbody>{jobs}</tbody>
                </table>
            </div>
            <h3 class="queue-title">"Outbox"</h3>
            <ol class="queue-outbox">{outbox}</ol>
            <h3 class="queue-title">"Dead-letter queue"</h3>
            <div class="queue-actions">
                <button type="button" class="button-secondary" disabled=move || !hydrated.get() on:click=show_dead>"Show dead letters"</button>
                <button type="button" class="button-secondary" disabled=move || !hydrated.get() on:click=replay>"Replay dead letters"</button>
            </div>
            {move || dead.get().map(|letters| if letters.is_empty() {
                Either::Left(view! { <p>"The dead-letter queue is empty."</p> })
            } else {
                Either::Right(view! {
                    <ol class="queue-dead">
                        {letters.into_iter().map(|letter| view! {
                            <li>{format!("{} (order {}, to {}): {} attempts, last error: {}", letter.id, letter.order, letter.to, letter.attempts, letter.error)}</li>
                        }).collect_view()}
                    </ol>
                })
            })}
            <h3 class="queue-title">"Map-reduce over your orders"</h3>
            <p class="queue-note">"Revenue per country from your SQL sandbox's orders: one map task per range of order ids, on your queue, for your workers."</p>
            <div class="queue-actions">
                <label class="field">
                    <span class="field-label">"Map tasks"</span>
                    <input type="number" min="1" max="12" inputmode="numeric" bind:value=splits/>
                </label>
                <button type="button" class="button-secondary" disabled=move || !hydrated.get() on:click=start_mapreduce>"Run map-reduce"</button>
            </div>
            {move || status.with(|s| s.mapreduce.clone()).map(|run| view! { <MapReduceView run=run/> })}
        </section>
    }
}

/// What the console does in the browser.
#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::*;

    use super::super::fetch::{call_api, sleep_ms};
    use crate::model::labs::queue::{
        DeadLetter, EnqueueJobs, Enqueued, QueueStatus, Replayed, StartMapReduce, WorkerView,
    };
    use crate::model::ErrorBody;

    /// How often the console asks for the status while jobs move, and
    /// while nothing does.
    const BUSY_POLL_MS: i32 = 500;
    const QUIET_POLL_MS: i32 = 3000;

    fn error_of(status: u16, text: &str) -> String {
        crate::widgets::json::from_str::<ErrorBody>(text)
            .map(|e| format!("{status}: {}", e.message))
            .unwrap_or_else(|_| format!("{status}: {text}"))
    }

    async fn refresh(status: RwSignal<QueueStatus>) {
        if let Ok((200, text)) = call_api("GET", "/labs/queue/status", None).await {
            if let Ok(now) = crate::widgets::json::from_str(&text) {
                status.set(now);
            }
        }
    }

    /// Keeps the status fresh: often while jobs move, seldom otherwise.
    pub(super) async fn watch(status: RwSignal<QueueStatus>) {
        loop {
            refresh(status).await;
            let busy = status.with_untracked(|s| s.counts.waiting > 0 || s.counts.in_flight > 0);
            sleep_ms(if busy { BUSY_POLL_MS } else { QUIET_POLL_MS }).await;
        }
    }

    pub(super) async fn enqueue(
        count: String,
        copies: String,
        failures: String,
        status: RwSignal<QueueStatus>,
        message: RwSignal<String>,
    ) {
        let body = EnqueueJobs {
            count: count.trim().parse().unwrap_or(0),
            copies: copies.trim().parse().unwrap_or(0),
            failures: failures.trim().parse().unwrap_or(0),
            ..EnqueueJobs::default()
        };
        let answer = call_api(
            "POST",
            "/labs/queue/jobs",
            crate::widgets::json::to_string(&body),
        )
        .await;
        message.set(match answer {
            Ok((202, text)) => match crate::widgets::json::from_str::<Enqueued>(&text) {
                Ok(queued) => format!(
                    "202 Accepted: {} message(s) confirmed by {} ({}).",
                    queued.published,
                    queued.broker.as_str(),
                    queued.ids.join(", ")
                ),
                Err(_) => "202 Accepted.".into(),
            },
            Ok((status, text)) => error_of(status, &text),
            Err(error) => error,
        });
        refresh(status).await;
    }

    pub(super) async fn kill(
        id: u32,
        after_send: bool,
        status: RwSignal<QueueStatus>,
        message: RwSignal<String>,
    ) {
        let at = if after_send { "after-send" } else { "now" };
        let answer = call_api(
            "POST",
            &format!("/labs/queue/workers/{id}/kill?at={at}"),
            None,
        )
        .await;
        message.set(match answer {
            Ok((202, text)) => match crate::widgets::json::from_str::<WorkerView>(&text) {
                Ok(worker) if after_send => {
                    format!("Worker {} will die just after its next e-mail.", worker.id)
                }
                Ok(WorkerView {
                    id, job: Some(job), ..
                }) => format!("Worker {id} killed holding {job}; a new worker starts."),
                Ok(worker) => format!(
                    "Worker {} killed while idle; a new worker starts.",
                    worker.id
                ),
                Err(_) => "Killed.".into(),
            },
            Ok((status, text)) => error_of(status, &text),
            Err(error) => error,
        });
        refresh(status).await;
    }

    pub(super) async fn start_mapreduce(
        splits: String,
        status: RwSignal<QueueStatus>,
        message: RwSignal<String>,
    ) {
        let body = StartMapReduce {
            splits: splits.trim().parse().unwrap_or(0),
        };
        let answer = call_api(
            "POST",
            "/labs/queue/mapreduce",
            crate::widgets::json::to_string(&body),
        )
        .await;
        message.set(match answer {
            Ok((202, _)) => "202 Accepted: the map tasks are on your queue.".into(),
            Ok((status, text)) => error_of(status, &text),
            Err(error) => error,
        });
        refresh(status).await;
    }

    pub(super) async fn dead_letters(
        dead: RwSignal<Option<Vec<DeadLetter>>>,
        message: RwSignal<String>,
    ) {
        match call_api("GET", "/labs/queue/dead", None).await {
            Ok((200, text)) => dead.set(crate::widgets::json::from_str(&text).ok()),
            Ok((status, text)) => message.set(error_of(status, &text)),
            Err(error) => message.set(error),
        }
    }

    pub(super) async fn replay(
        status: RwSignal<QueueStatus>,
        dead: RwSignal<Option<Vec<DeadLetter>>>,
        message: RwSignal<String>,
    ) {
        match call_api("POST", "/labs/queue/dead/replay", None).await {
            Ok((200, text)) => {
                let replayed =
                    crate::widgets::json::from_str::<Replayed>(&text).map_or(0, |r| r.replayed);
                message.set(format!("{replayed} dead letter(s) back on the queue."));
                dead.set(None);
            }
            Ok((status, text)) => message.set(error_of(status, &text)),
            Err(error) => message.set(error),
        }
        refresh(status).await;
    }

    pub(super) async fn clear(
        status: RwSignal<QueueStatus>,
        dead: RwSignal<Option<Vec<DeadLetter>>>,
        message: RwSignal<String>,
    ) {
        match call_api("DELETE", "/labs/queue/jobs", None).await {
            Ok((204, _)) => {
                message.set("Your queues are empty and the counts start afresh.".into());
                dead.set(None);
            }
            Ok((status, text)) => message.set(error_of(status, &text)),
            Err(error) => message.set(error),
        }
        refresh(status).await;
    }
}
