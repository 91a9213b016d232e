//! The gateway lab's console: the student's gateway settings, their
//! replicas as the gateway sees them (with a kill switch each), and the
//! load generator drawn live: each second's answers by replica, its
//! failures, and its success rate.

use leptos::prelude::*;

use super::settings_draft::{
    check_field, choice_name, choice_named, number_field, Bounds, SettingsDraft,
};
use crate::model::labs::gateway::{Algorithm, GatewaySettings, LoadRun, LoadSecond, Replicas};

/// What the console calls each algorithm.
fn algorithm_label(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::RoundRobin => "round robin",
        Algorithm::Random => "random",
        Algorithm::LeastOutstanding => "least outstanding requests",
        Algorithm::PeakEwma => "power of two choices, peak-EWMA",
    }
}

/// `part` of `whole` as a percentage with one decimal, in integers (no
/// float formatting in the browser).
fn per_mille(part: u32, whole: u32) -> String {
    if whole == 0 {
        return "–".into();
    }
    let tenths = u64::from(part) * 1000 / u64::from(whole);
    format!("{}.{} %", tenths / 10, tenths % 10)
}

/// Tries per answered request with two decimals, from the seconds' counts.
fn tries_per_request(run: &LoadRun) -> String {
    let tries: u64 = run.per_second.iter().map(|s| u64::from(s.attempts)).sum();
    let answered = u64::from(run.succeeded + run.failed);
    if answered == 0 {
        return "–".into();
    }
    let hundredths = tries * 100 / answered;
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

const WIDTH: u32 = 640;
const HEIGHT: u32 = 170;
const PLOT_TOP: u32 = 20;
const PLOT_BOTTOM: u32 = 140;

/// Each second of the run as a bar: answers by replica, stacked, failures
/// on top; the line is the second's success rate.
#[component]
fn LoadChart(run: LoadRun) -> impl IntoView {
    let seconds = run.seconds.max(1);
    let slot = (WIDTH - 20) / seconds;
    let tallest = run
        .per_second
        .iter()
        .map(|s| s.sent)
        .max()
        .unwrap_or(1)
        .max(1);
    let scale = |n: u32| n * (PLOT_BOTTOM - PLOT_TOP) / tallest;
    let bars = run
        .per_second
        .iter()
        .map(|second| {
            let x = 10 + second.second * slot;
            let mut top = PLOT_BOTTOM;
            let mut parts: Vec<(u32, String, String)> = second
                .per_replica
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(i, &n)| {
                    (
                        n,
                        format!("gw-bar gw-r{}", i + 1),
                        format!("second {}: replica {} answered {n}", second.second, i + 1),
                    )
                })
                .collect();
            if second.failed > 0 {
                parts.push((
                    second.failed,
                    "gw-bar gw-failed".into(),
                    format!("second {}: {} failed", second.second, second.failed),
                ));
            }
            parts
                .into_iter()
                .map(|(n, class, title)| {
                    let height = scale(n).max(1);
                    top = top.saturating_sub(height);
                    view! {
                        <rect class=class x=x y=top width=slot.saturating_sub(1).max(1) height=height><title>{title}</title></rect>
                    }
                })
                .collect_view()
        })
        .collect_view();
    let success_line: Vec<String> = run
        .per_second
        .iter()
        .filter(|s| s.succeeded + s.failed > 0)
        .map(|s| {
            let x = 10 + s.second * slot + slot / 2;
            let y = PLOT_BOTTOM - s.succeeded * (PLOT_BOTTOM - PLOT_TOP) / (s.succeeded + s.failed);
            format!("{x},{y}")
        })
        .collect();
    let brownout = run.brownout_at_s.map(|at| {
        let x = 10 + at * slot;
        view! {
            <line class="gw-brownout" x1=x y1={PLOT_TOP - 8} x2=x y2=PLOT_BOTTOM/>
            <text class="gw-label" x={x + 3} y={PLOT_TOP - 2}>"brownout"</text>
        }
    });
    let label = chart_label(&run);
    view! {
        <figure class="gw-chart">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=label.clone()>
                <line class="gw-axis" x1="10" y1=PLOT_BOTTOM x2={WIDTH - 10} y2=PLOT_BOTTOM/>
                {bars}
                <polyline class="gw-success" points=success_line.join(" ")/>
                {brownout}
                <text class="gw-label" x="10" y={HEIGHT - 14}>"0 s"</text>
                <text class="gw-label" x={WIDTH - 40} y={HEIGHT - 14}>{format!("{seconds} s")}</text>
                <text class="gw-label" x="10" y="12">"answers a second by replica; line: success rate"</text>
            </svg>
            <p class="gw-keys" aria-hidden="true">
                {(1..=run.per_replica.iter().rposition(|n| *n > 0).map_or(0, |i| i + 1)).map(|n| view! {
                    <span class=format!("gw-key gw-key-r{n}")>{format!("replica {n}")}</span>
                }).collect_view()}
                <span class="gw-key gw-key-failed">"failed"</span>
            </p>
            <figcaption data-testid="gw-chart-caption">{label}</figcaption>
        </figure>
    }
}

/// The chart in words: the shares of the last full second.
fn chart_label(run: &LoadRun) -> String {
    let latest = run
        .per_second
        .iter()
        .rev()
        .find(|s| s.succeeded + s.failed > 0);
    match latest {
        None => "No answers yet.".into(),
        Some(second) => format!(
            "Second {}: {} answered, {} failed; by replica {}.",
            second.second,
            second.succeeded,
            second.failed,
            shares(second)
        ),
    }
}

fn shares(second: &LoadSecond) -> String {
    second
        .per_replica
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{}: {n}", i + 1))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The run's figures.
#[component]
fn RunSummary(run: LoadRun) -> impl IntoView {
    let answered = run.succeeded + run.failed;
    let state = if run.running { "running" } else { "finished" };
    view! {
        <dl class="gw-figures" data-testid="gw-figures">
            <div><dt>"Run"</dt><dd>{format!("{state}: {} sent of {} a second for {} s", run.sent, run.rate_per_sec, run.seconds)}</dd></div>
            <div><dt>"Success"</dt><dd data-testid="gw-success">{per_mille(run.succeeded, answered)}</dd></div>
            <div><dt>"p50 / p95 / p99"</dt><dd>{format!("{} / {} / {} ms", run.p50_ms, run.p95_ms, run.p99_ms)}</dd></div>
            <div><dt>"Tries a request"</dt><dd>{tries_per_request(&run)}</dd></div>
            <div><dt>"Not sent"</dt><dd>{run.not_sent}</dd></div>
        </dl>
    }
}

/// The replicas' table, with a kill or revive button each.
#[component]
fn ReplicaTable(
    replicas: Replicas,
    draft: SettingsDraft<GatewaySettings>,
    busy: RwSignal<bool>,
    view_of: RwSignal<Option<Replicas>>,
) -> impl IntoView {
    let rows = replicas
        .replicas
        .into_iter()
        .enumerate()
        .map(|(index, replica)| {
            let killed = replica.settings.killed;
            let state = if killed {
                "killed".to_string()
            } else {
                match (replica.health.as_str(), replica.breaker.as_str()) {
                    ("ejected", _) => "ejected by health checks".into(),
                    (_, "closed") => "up".into(),
                    (_, breaker) => format!("up, breaker {}", breaker.replace('_', "-")),
                }
            };
            let toggle = move |_| {
                draft.edit(|s| {
                    if s.replica.len() <= index {
                        s.replica.resize_with(index + 1, Default::default);
                    }
                    s.replica[index].killed = !killed;
                });
                busy.set(true);
                #[cfg(feature = "hydrate")]
                leptos::task::spawn_local(async move {
                    browser::save_and_refresh(draft, view_of).await;
                    busy.set(false);
                });
                #[cfg(not(feature = "hydrate"))]
                let _ = view_of;
            };
            let estimate_tenths = (replica.ewma_ms * 10.0) as u64;
            view! {
                <tr data-testid=format!("gw-replica-{}", replica.number)>
                    <th scope="row">{format!("Replica {}", replica.number)}</th>
                    <td>{replica.port}</td>
                    <td data-testid="gw-state">{state}</td>
                    <td>{replica.in_flight}</td>
                    <td>{replica.queued}</td>
                    <td>{replica.answered}</td>
                    <td>{replica.errors}</td>
                    <td>{format!("{}.{}", estimate_tenths / 10, estimate_tenths % 10)}</td>
                    <td>
                        <button type="button" class="button-secondary" disabled=move || busy.get() on:click=toggle
                            aria-label=format!("{} replica {}", if killed { "Revive" } else { "Kill" }, replica.number)>
                            {if killed { "Revive" } else { "Kill" }}
                        </button>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-scroll">
            <table class="data-table gw-replicas">
                <caption>{format!("Your replicas, balanced by {}", algorithm_label(replicas.algorithm))}</caption>
                <thead><tr>
                    <th scope="col">"Replica"</th><th scope="col">"Port"</th><th scope="col">"State"</th>
                    <th scope="col">"Working"</th><th scope="col">"Waiting"</th><th scope="col">"Answered"</th>
                    <th scope="col">"503s"</th><th scope="col">"Estimate (ms)"</th><th scope="col">"Kill switch"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// The checks at the gateway's door: an API key, and a rate limit with
/// the rate-limit lab's defaults (its numbers are set through the API, as
/// lesson 8.2 shows).
#[component]
fn FrontDoor(draft: SettingsDraft<GatewaySettings>) -> impl IntoView {
    let consumers = move || {
        draft
            .read(|s| {
                s.api_keys
                    .iter()
                    .map(|k| format!("{} ({})", k.consumer, k.key))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    let limit = move || {
        draft.read(|s| s.rate_limit.clone()).flatten().map(|l| {
            format!(
                "{}, capacity {}, counted by {}.",
                choice_name(&l.algorithm).replace('_', " "),
                l.capacity,
                choice_name(&l.key).replace('_', " ")
            )
        })
    };
    view! {
        <fieldset class="gw-settings" disabled=move || draft.loading()>
            <legend>"At the door"</legend>
            {check_field(draft, "Require an API key (X-Api-Key)", |s| s.require_api_key, |s, on| s.require_api_key = on)}
            {check_field(draft, "Rate limit", |s| s.rate_limit.is_some(), |s, on| {
                s.rate_limit = on.then(|| s.rate_limit.clone().unwrap_or_default())
            })}
            <p class="gw-note" data-testid="gw-front-door">
                {move || format!("Keys: {}.", consumers())}
                " "
                {move || limit().unwrap_or_else(|| "No rate limit.".into())}
                " The load generator starts behind the door: its requests are not checked."
            </p>
        </fieldset>
    }
}

/// Settings, replicas and the load generator.
#[island(lazy)]
pub(crate) fn GatewayConsole() -> impl IntoView {
    let draft = SettingsDraft::<GatewaySettings>::new("gateway");
    let replicas = RwSignal::new(None::<Replicas>);
    let run = RwSignal::new(None::<LoadRun>);
    let rate = RwSignal::new(String::from("100"));
    let seconds = RwSignal::new(String::from("20"));
    let brownout = RwSignal::new(false);
    let brownout_at = RwSignal::new(String::from("5"));
    let message = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| {
        hydrated.set(true);
        draft.load();
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(browser::refresh_replicas(replicas));
    });
    let save = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(browser::save_and_refresh(draft, replicas));
    };
    let asked = move || crate::model::labs::gateway::LoadRequest {
        rate_per_sec: rate.get_untracked().trim().parse().unwrap_or(0),
        seconds: seconds.get_untracked().trim().parse().unwrap_or(0),
        brownout_at_s: brownout
            .get_untracked()
            .then(|| brownout_at.get_untracked().trim().parse().unwrap_or(0)),
    };
    let start = move |_| {
        let asked = asked();
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(browser::start(asked, run, replicas, message));
        #[cfg(not(feature = "hydrate"))]
        let _ = asked;
    };
    let replay = move |_| {
        let asked = asked();
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(browser::replay(asked, run, message));
        #[cfg(not(feature = "hydrate"))]
        let _ = asked;
    };
    let stop = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(browser::stop(message));
    };
    let running = move || run.with(|r| r.as_ref().is_some_and(|r| r.running));
    view! {
        <section class="widget gateway-console" aria-label="Gateway lab console" data-hydrated=move || hydrated.get().to_string()>
            <fieldset class="gw-settings" disabled=move || draft.loading()>
                <legend>"Your gateway"</legend>
                <label class="field">
                    <span class="field-label">"Balancing"</span>
                    <select prop:value=move || choice_name(&draft.read(|s| s.algorithm).unwrap_or_default())
                        on:change=move |ev| if let Some(algorithm) = choice_named(&Algorithm::ALL, &event_target_value(&ev)) {
                            draft.edit(|s| s.algorithm = algorithm)
                        }>
                        {Algorithm::ALL.into_iter().map(|a| view! { <option value=choice_name(&a)>{algorithm_label(a)}</option> }).collect_view()}
                    </select>
                </label>
                {number_field(draft, "Replicas", Bounds::whole("1", "5"), |s| s.replicas, |s, n| s.replicas = n)}
                {number_field(draft, "Per-try timeout (ms)", Bounds::whole("10", "10000"), |s| s.per_try_timeout_ms, |s, n| s.per_try_timeout_ms = n)}
                {number_field(draft, "Retries", Bounds::whole("0", "3"), |s| s.retries, |s, n| s.retries = n)}
                {check_field(draft, "Retry budget", |s| s.retry_budget, |s, on| s.retry_budget = on)}
                {number_field(draft, "Budget (% of requests)", Bounds::whole("0", "100"), |s| s.retry_budget_percent, |s, n| s.retry_budget_percent = n)}
                {number_field(draft, "Breaker: failures in a row (0: none)", Bounds::whole("0", "20"), |s| s.breaker_failures, |s, n| s.breaker_failures = n)}
                {number_field(draft, "Hedge after (ms; 0: never)", Bounds::whole("0", "10000"), |s| s.hedge_after_ms, |s, n| s.hedge_after_ms = n)}
                {number_field(draft, "Shed above (0: never)", Bounds::whole("0", "256"), |s| s.shed_above, |s, n| s.shed_above = n)}
                {check_field(draft, "Health checks", |s| s.health_checks, |s, on| s.health_checks = on)}
                {number_field(draft, "Seed", Bounds::whole("0", "4294967295"), |s| s.seed, |s, n| s.seed = n)}
            </fieldset>
            <FrontDoor draft=draft/>
            <div class="gw-save">
                <button type="button" class="button-secondary" disabled=move || !hydrated.get() || draft.loading() on:click=save>"Save settings"</button>
                <span class="note-inline" role="status">{move || draft.saved.get()}</span>
            </div>
            <h3 class="gw-title">"Replicas"</h3>
            {move || replicas.get().map(|view_now| view! {
                <ReplicaTable replicas=view_now draft=draft busy=busy view_of=replicas/>
            })}
            <h3 class="gw-title">"Load"</h3>
            <div class="gw-load">
                <label class="field">
                    <span class="field-label">"Requests a second"</span>
                    <input type="number" min="1" max="200" inputmode="numeric" bind:value=rate/>
                </label>
                <label class="field">
                    <span class="field-label">"Seconds"</span>
                    <input type="number" min="1" max="60" inputmode="numeric" bind:value=seconds/>
                </label>
                <label class="choice">
                    <input type="checkbox" bind:checked=brownout/>
                    <span>"Play the brownout"</span>
                </label>
                <label class="field">
                    <span class="field-label">"Brownout from second"</span>
                    <input type="number" min="0" max="59" inputmode="numeric" bind:value=brownout_at disabled=move || !brownout.get()/>
                </label>
                <button type="button" disabled=move || !hydrated.get() || running() on:click=start>"Start load"</button>
                <button type="button" class="button-secondary" disabled=move || !running() on:click=stop>"Stop"</button>
                <button type="button" class="button-secondary" disabled=move || !hydrated.get() || running() on:click=replay>"Replay at once"</button>
            </div>
            <p class="gw-note">"The brownout sets your replicas' own faults and kills aside: from its second on, replica 1 slows down (430 ms more per request on average; its p99 rises to about 2 s) and replica 2 answers 503 to 30 % of requests."</p>
            <p class="note-inline" role="status" data-testid="gw-message">{move || message.get()}</p>
            {move || run.get().map(|r| view! {
                <RunSummary run=r.clone()/>
                <LoadChart run=r/>
            })}
        </section>
    }
}

/// What the console does in the browser.
#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::*;

    use super::super::fetch::{call_api, sleep_ms};
    use super::super::settings_draft::SettingsDraft;
    use crate::model::labs::gateway::{GatewaySettings, LoadRequest, LoadRun, Replicas};
    use crate::model::ErrorBody;

    /// How often the console reads a running load and the replicas.
    const POLL_MS: i32 = 500;

    fn error_of(status: u16, text: &str) -> String {
        crate::widgets::json::from_str::<ErrorBody>(text)
            .map(|e| format!("{status}: {}", e.message))
            .unwrap_or_else(|_| format!("{status}: {text}"))
    }

    pub(super) async fn refresh_replicas(replicas: RwSignal<Option<Replicas>>) {
        if let Ok((200, text)) = call_api("GET", "/labs/gateway/replicas", None).await {
            if let Ok(now) = crate::widgets::json::from_str(&text) {
                replicas.set(Some(now));
            }
        }
    }

    /// Saves the draft, then shows the replicas as they now are.
    pub(super) async fn save_and_refresh(
        draft: SettingsDraft<GatewaySettings>,
        replicas: RwSignal<Option<Replicas>>,
    ) {
        draft.saved.set(match draft.put().await {
            Ok(()) => "Saved: the gateway follows them from the next request.".into(),
            Err(reason) => reason,
        });
        refresh_replicas(replicas).await;
    }

    /// Starts a run and follows it until it ends.
    pub(super) async fn start(
        asked: LoadRequest,
        run: RwSignal<Option<LoadRun>>,
        replicas: RwSignal<Option<Replicas>>,
        message: RwSignal<String>,
    ) {
        let body = crate::widgets::json::to_string(&asked);
        match call_api("POST", "/labs/gateway/load", body).await {
            Ok((202, text)) => {
                message.set(String::new());
                run.set(crate::widgets::json::from_str(&text).ok());
            }
            Ok((status, text)) => return message.set(error_of(status, &text)),
            Err(error) => return message.set(error),
        }
        loop {
            sleep_ms(POLL_MS).await;
            refresh_replicas(replicas).await;
            let Ok((200, text)) = call_api("GET", "/labs/gateway/load", None).await else {
                break;
            };
            let Ok(latest) = crate::widgets::json::from_str::<LoadRun>(&text) else {
                break;
            };
            let done = !latest.running;
            run.set(Some(latest));
            if done {
                break;
            }
        }
    }

    /// The same run replayed on the server's virtual clock.
    pub(super) async fn replay(
        asked: LoadRequest,
        run: RwSignal<Option<LoadRun>>,
        message: RwSignal<String>,
    ) {
        let body = crate::widgets::json::to_string(&asked);
        match call_api("POST", "/labs/gateway/replay", body).await {
            Ok((200, text)) => {
                message.set("Replayed on a virtual clock against your saved settings: nothing was sent to your replicas.".into());
                run.set(crate::widgets::json::from_str(&text).ok());
            }
            Ok((status, text)) => message.set(error_of(status, &text)),
            Err(error) => message.set(error),
        }
    }

    pub(super) async fn stop(message: RwSignal<String>) {
        match call_api("DELETE", "/labs/gateway/load", None).await {
            Ok((204, _)) => {
                message.set("Stopped: the requests already sent are still counted.".into())
            }
            Ok((status, text)) => message.set(error_of(status, &text)),
            Err(error) => message.set(error),
        }
    }
}
