//! The observe lab's widgets: the dashboard (incident switches, the load
//! button, rate, errors and duration charts, the error budget, and the log
//! with each line's trace) and the fault hunt (start one, then save a
//! diagnosis for the exercise to grade).

use leptos::prelude::*;

use super::request::TracePanel;
use super::settings_draft::{choice_name, choice_named};
use crate::model::labs::observe::{
    Component, Incident, LoadMix, LoadReport, LoadRequest, LogLine, Mechanism, ObserveSettings,
    RedBucket, RedReport,
};
use enhance::text::millis;

// The charts' drawing box: about the width they are shown at in a
// lesson's column, so their labels stay readable.
const WIDTH: u64 = 330;
const HEIGHT: u64 = 130;
const TOP: u64 = 20;
const BOTTOM: u64 = 104;
/// Log lines shown; the server sends up to its own bound.
const LOG_LINES: usize = 30;

/// Reads the student's settings, changes them with `change`, and saves
/// them (each widget changes its own part of the whole document).
#[cfg(feature = "hydrate")]
async fn change_settings(
    change: impl FnOnce(&mut ObserveSettings),
) -> Result<ObserveSettings, String> {
    let mut settings = read_settings().await?;
    change(&mut settings);
    let body =
        crate::widgets::json::to_string(&settings).ok_or("The settings could not be written.")?;
    match super::fetch::call_api("PUT", "/labs/observe/settings", Some(body)).await? {
        (200, _) => Ok(settings),
        (_, text) => Err(refusal(text)),
    }
}

/// The student's settings as saved.
#[cfg(feature = "hydrate")]
async fn read_settings() -> Result<ObserveSettings, String> {
    use crate::model::labs::SettingsDocument;
    match super::fetch::call_api("GET", "/labs/observe/settings", None).await? {
        (200, text) => crate::widgets::json::from_str::<SettingsDocument<ObserveSettings>>(&text)
            .map(|doc| doc.settings)
            .map_err(|e| e.to_string()),
        (_, text) => Err(refusal(text)),
    }
}

/// The message of an error body, or the text as it came.
#[cfg(feature = "hydrate")]
fn refusal(text: String) -> String {
    crate::widgets::json::error_message(text)
}

#[cfg(feature = "hydrate")]
async fn read_dashboard() -> Result<RedReport, String> {
    match super::fetch::call_api("GET", "/labs/observe/dashboard", None).await? {
        (200, text) => crate::widgets::json::from_str(&text).map_err(|e| e.to_string()),
        (_, text) => Err(refusal(text)),
    }
}

/// The dashboard of the student's shop.
#[island(lazy)]
pub(crate) fn ObserveDashboard() -> impl IntoView {
    let report = RwSignal::new(None::<RedReport>);
    let switches = RwSignal::new(Vec::<Incident>::new());
    let load = RwSignal::new(LoadRequest::default());
    let status = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let hydrated = RwSignal::new(false);
    let log = Memo::new(move |_| report.with(|r| r.as_ref().map(|r| r.log.clone())));
    // Each report is drawn afresh, under a number of its own: diffing the
    // last dashboard into the new one saves a redraw of a few tables but
    // costs kilobytes of code in the page's bundle (BENCHMARKS.md).
    let drawn = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let numbered = move || {
        let number = drawn.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        report.get().map(|report| (number, report))
    };
    let refresh = move || {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match read_dashboard().await {
                Ok(read) => {
                    switches.set(read.incidents.clone());
                    report.set(Some(read));
                }
                Err(message) => status.set(message),
            }
        });
    };
    Effect::new(move |_| {
        hydrated.set(true);
        refresh();
    });
    let toggle = move |incident: Incident, on: bool| {
        busy.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let saved = change_settings(|s| {
                s.incidents.retain(|i| *i != incident);
                if on {
                    s.incidents.push(incident);
                }
            })
            .await;
            status.set(match saved {
                Ok(s) if s.hunt.is_some() => {
                    "Saved; a hunt is on, so the switches wait until it ends.".into()
                }
                Ok(_) => format!("{} is {}.", incident.label(), if on { "on" } else { "off" }),
                Err(message) => message,
            });
            busy.set(false);
            refresh();
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (incident, on);
    };
    let send_load = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        status.set("Sending…".into());
        let body = crate::widgets::json::to_string(&load.get_untracked());
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let answer = super::fetch::call_api("POST", "/labs/observe/load", body).await;
            status.set(match answer {
                Ok((200, text)) => match crate::widgets::json::from_str::<LoadReport>(&text) {
                    Ok(run) => load_summary(&run),
                    Err(e) => e.to_string(),
                },
                Ok((_, text)) => refusal(text),
                Err(message) => message,
            });
            busy.set(false);
            refresh();
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = body;
    };
    view! {
        <section class="widget observe-dashboard" aria-label="Shop dashboard" data-hydrated=move || hydrated.get().to_string()>
            <fieldset class="observe-switches"
                disabled=move || !hydrated.get() || busy.get() || report.get().is_some_and(|r| r.hunting)>
                <legend>"Incidents"</legend>
                {Incident::ALL.into_iter().map(|incident| view! {
                    <label class="check-field">
                        <input type="checkbox" name="incident" value=incident.name()
                            prop:checked=move || switches.get().contains(&incident)
                            on:change=move |ev| toggle(incident, event_target_checked(&ev))/>
                        {incident.label()}
                    </label>
                }).collect_view()}
            </fieldset>
            <form class="observe-load" on:submit=send_load>
                <label class="field">
                    <span class="field-label">"Requests"</span>
                    <input type="number" min="1" max="200" prop:value=move || load.get().requests.to_string()
                        on:input=move |ev| load.update(|l| l.requests = event_target_value(&ev).parse().unwrap_or(0))/>
                </label>
                <label class="field">
                    <span class="field-label">"At once"</span>
                    <input type="number" min="1" max="16" prop:value=move || load.get().concurrency.to_string()
                        on:input=move |ev| load.update(|l| l.concurrency = event_target_value(&ev).parse().unwrap_or(0))/>
                </label>
                <label class="field">
                    <span class="field-label">"Pages"</span>
                    <select on:change=move |ev| load.update(|l| l.mix = match event_target_value(&ev).as_str() {
                        "products" => LoadMix::Products,
                        "orders" => LoadMix::Orders,
                        _ => LoadMix::Mixed,
                    })>
                        <option value="mixed" selected>"3 product pages to 1 orders page"</option>
                        <option value="products">"product pages"</option>
                        <option value="orders">"the orders page"</option>
                    </select>
                </label>
                <button type="submit" class="button-primary" disabled=move || !hydrated.get() || busy.get()>"Send load"</button>
                <button type="button" class="button-secondary" on:click=move |_| refresh() disabled=move || !hydrated.get()>"Refresh"</button>
            </form>
            <p class="note-inline" role="status">{move || status.get()}</p>
            <For each=numbered key=|(number, _)| *number children=|(_, report)| view! { <Dashboard report/> }/>
            <LogLines log/>
        </section>
    }
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn load_summary(run: &LoadReport) -> String {
    format!(
        "Sent {} requests in {} ms: {} failed.{}",
        run.sent,
        run.took_ms,
        run.errors,
        run.slowest_trace
            .as_ref()
            .map(|id| format!(" Slowest: trace {id}."))
            .unwrap_or_default()
    )
}

#[component]
fn Dashboard(report: RedReport) -> impl IntoView {
    let budget = report.budget.clone();
    let objective = format!(
        "{}% of requests succeed within {} ms",
        per_mille_text(i64::from(budget.objective.target_per_mille)),
        budget.objective.latency_ms
    );
    let left_class = if budget.left_per_mille < 0 {
        "budget-spent"
    } else {
        "budget-left"
    };
    view! {
        {report.hunting.then(|| view! {
            <p class="observe-hunting">"A fault hunt is on: one incident is hidden in your shop, and the switches are off."</p>
        })}
        <div class="observe-charts">
            <RateChart buckets=report.buckets.clone()/>
            <DurationChart buckets=report.buckets.clone()/>
            <BudgetChart buckets=report.buckets.clone()/>
        </div>
        <BucketTable buckets=report.buckets.clone()/>
        <p class="observe-budget">
            "Objective: " {objective} ". Over the last 5 minutes: " {budget.requests} " requests, "
            {budget.bad} " bad, where " {milli_text(budget.allowed_milli)} " may be. Budget left: "
            <strong class=left_class>{per_mille_text(budget.left_per_mille)} "%"</strong>
            ". Burn rate over the last minute: " <strong>{hundredths_text(budget.burn_rate_per_cent)} "×"</strong> "."
        </p>
        <div class="table-scroll">
            <table class="data-table observe-routes">
                <caption>"Each route over the last 5 minutes"</caption>
                <thead><tr>
                    <th scope="col">"Route"</th><th scope="col">"Requests"</th><th scope="col">"Errors"</th>
                    <th scope="col">"p50"</th><th scope="col">"p95"</th><th scope="col">"p99"</th>
                </tr></thead>
                <tbody>
                    {report.routes.into_iter().map(|r| view! {
                        <tr>
                            <th scope="row"><code>{r.route}</code></th>
                            <td>{r.requests}</td><td>{r.errors}</td>
                            <td>{duration_text(r.requests, r.p50_us)}</td>
                            <td>{duration_text(r.requests, r.p95_us)}</td>
                            <td>{duration_text(r.requests, r.p99_us)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// The newest log lines. Keyed, so a refresh adds the new lines and
/// keeps the trace panels a student has open.
#[component]
fn LogLines(log: Memo<Option<Vec<LogLine>>>) -> impl IntoView {
    let lines = move || log.get().unwrap_or_default().into_iter().take(LOG_LINES);
    view! {
        <Show when=move || log.with(Option::is_some)>
            <h4>"Log, newest first"</h4>
            {move || log.with(|l| l.as_ref().is_some_and(Vec::is_empty)).then(|| view! {
                <p class="muted">"Nothing yet: send requests to the shop."</p>
            })}
            <ol class="observe-log" tabindex="0" aria-label="The shop's log, newest first">
                <For each=lines key=|line| (line.at_ms, line.trace_id.clone(), line.message.clone()) let:line>
                    <li class=format!("log-line log-{}", line.level)>
                        <span class="log-time">{clock_text(line.at_ms)}</span>
                        <span class="log-level">{line.level.to_ascii_uppercase()}</span>
                        <span class="log-message">{line.message}</span>
                        <TracePanel trace_id=line.trace_id/>
                    </li>
                </For>
            </ol>
        </Show>
    }
}

/// Each bucket's figures as a table, for readers who cannot see the charts.
#[component]
fn BucketTable(buckets: Vec<RedBucket>) -> impl IntoView {
    let rows = buckets.into_iter().filter(|b| b.requests > 0).rev();
    view! {
        <details class="observe-figures">
            <summary>"The charts' figures, newest first"</summary>
            <div class="table-scroll">
                <table class="data-table">
                    <caption>"Each 10 s with requests"</caption>
                    <thead><tr>
                        <th scope="col">"From (UTC)"</th><th scope="col">"Requests"</th><th scope="col">"Errors"</th>
                        <th scope="col">"p50"</th><th scope="col">"p95"</th><th scope="col">"p99"</th>
                        <th scope="col">"Budget left"</th>
                    </tr></thead>
                    <tbody>
                        {rows.map(|b| view! {
                            <tr>
                                <th scope="row">{clock_text(b.start_ms)}</th>
                                <td>{b.requests}</td><td>{b.errors}</td>
                                <td>{millis(b.p50_us)}</td><td>{millis(b.p95_us)}</td><td>{millis(b.p99_us)}</td>
                                <td>{per_mille_text(b.budget_left_per_mille)} "%"</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </details>
    }
}

/// Requests per bucket, the failed part in red.
#[component]
fn RateChart(buckets: Vec<RedBucket>) -> impl IntoView {
    let slot = WIDTH / buckets.len().max(1) as u64;
    let tallest = buckets
        .iter()
        .map(|b| u64::from(b.requests))
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = move |n: u32| u64::from(n) * (BOTTOM - TOP) / tallest;
    let total: u32 = buckets.iter().map(|b| b.requests).sum();
    let errors: u32 = buckets.iter().map(|b| b.errors).sum();
    let bars = buckets
        .iter()
        .enumerate()
        .filter(|(_, b)| b.requests > 0)
        .map(|(i, b)| {
            let x = i as u64 * slot;
            let height = scale(b.requests).max(1);
            let failed = scale(b.errors);
            view! {
                <rect class="obs-bar" x=x y={BOTTOM - height} width={slot - 2} height=height>
                    <title>{format!("{} requests, {} failed", b.requests, b.errors)}</title>
                </rect>
                {(b.errors > 0).then(|| view! {
                    <rect class="obs-bar-failed" x=x y={BOTTOM - failed.max(1)} width={slot - 2} height={failed.max(1)}/>
                })}
            }
        })
        .collect_view();
    let label = format!(
        "Rate: {total} requests in 5 minutes, {errors} failed; the tallest 10 s bar is {tallest}"
    );
    view! {
        <figure class="obs-chart">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=label.clone()>
                <text class="obs-label" x="0" y="12">"Rate and errors (requests per 10 s)"</text>
                <line class="obs-axis" x1="0" y1=BOTTOM x2=WIDTH y2=BOTTOM/>
                {bars}
                <text class="obs-label" x="0" y={HEIGHT - 8}>"5 min ago"</text>
                <text class="obs-label" x={WIDTH - 24} y={HEIGHT - 8}>"now"</text>
            </svg>
            <figcaption>{label}</figcaption>
        </figure>
    }
}

/// The 50th, 95th and 99th percentile durations per bucket.
#[component]
fn DurationChart(buckets: Vec<RedBucket>) -> impl IntoView {
    let slot = WIDTH / buckets.len().max(1) as u64;
    let slowest = buckets.iter().map(|b| b.p99_us).max().unwrap_or(0).max(1);
    // Each percentile's points, as a line and as dots (a lone bucket
    // with requests has no line to draw).
    let points = |pick: fn(&RedBucket) -> u64| -> Vec<(u64, u64)> {
        buckets
            .iter()
            .enumerate()
            .filter(|(_, b)| b.requests > 0)
            .map(|(i, b)| {
                (
                    i as u64 * slot + slot / 2,
                    BOTTOM - pick(b) * (BOTTOM - TOP) / slowest,
                )
            })
            .collect()
    };
    let series = |class: &'static str, pick: fn(&RedBucket) -> u64| {
        let points = points(pick);
        let line: Vec<String> = points.iter().map(|(x, y)| format!("{x},{y}")).collect();
        view! {
            <polyline class=class points=line.join(" ")/>
            {points.into_iter().map(|(x, y)| view! { <circle class=format!("{class} obs-dot") cx=x cy=y r="2.5"/> }).collect_view()}
        }
    };
    let label = format!(
        "Duration: the slowest 99th percentile of a 10 s bucket is {}",
        millis(slowest)
    );
    view! {
        <figure class="obs-chart">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=label.clone()>
                <text class="obs-label" x="0" y="12">{format!("Duration: p50, p95, p99 (top is {})", millis(slowest))}</text>
                <line class="obs-axis" x1="0" y1=BOTTOM x2=WIDTH y2=BOTTOM/>
                {series("obs-p50", |b| b.p50_us)}
                {series("obs-p95", |b| b.p95_us)}
                {series("obs-p99", |b| b.p99_us)}
            </svg>
            <p class="obs-keys" aria-hidden="true">
                <span class="obs-key obs-key-p50">"p50"</span>
                <span class="obs-key obs-key-p95">"p95"</span>
                <span class="obs-key obs-key-p99">"p99"</span>
            </p>
            <figcaption>{label}</figcaption>
        </figure>
    }
}

/// The error budget left after each bucket, from all of it down to spent.
#[component]
fn BudgetChart(buckets: Vec<RedBucket>) -> impl IntoView {
    let slot = WIDTH / buckets.len().max(1) as u64;
    // From +100 % at the top to -100 % at the bottom; the middle is spent.
    let middle = (TOP + BOTTOM) / 2;
    let y = |left: i64| -> u64 {
        let clamped = left.clamp(-1000, 1000);
        (middle as i64 - clamped * (middle - TOP) as i64 / 1000) as u64
    };
    let points: Vec<String> = buckets
        .iter()
        .enumerate()
        .map(|(i, b)| {
            format!(
                "{},{}",
                i as u64 * slot + slot / 2,
                y(b.budget_left_per_mille)
            )
        })
        .collect();
    let now = buckets.last().map_or(1000, |b| b.budget_left_per_mille);
    let label = format!("Error budget left now: {}%", per_mille_text(now));
    view! {
        <figure class="obs-chart">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=label.clone()>
                <text class="obs-label" x="0" y="12">"Error budget left (top 100 %, middle spent)"</text>
                <line class="obs-axis" x1="0" y1=middle x2=WIDTH y2=middle/>
                <polyline class="obs-budget" points=points.join(" ")/>
            </svg>
            <figcaption>{label}</figcaption>
        </figure>
    }
}

/// Starts a fault hunt and saves the student's diagnosis.
#[island(lazy)]
pub(crate) fn FaultHunt() -> impl IntoView {
    let settings = RwSignal::new(None::<ObserveSettings>);
    let status = RwSignal::new(String::new());
    let hydrated = RwSignal::new(false);
    let component = RwSignal::new(String::new());
    let mechanism = RwSignal::new(String::new());
    let trace_id = RwSignal::new(String::new());
    // The form shows the diagnosis as saved (only the browser reads it).
    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    let show = move |saved: ObserveSettings| {
        let diagnosis = &saved.diagnosis;
        component.set(
            diagnosis
                .component
                .map(|c| choice_name(&c))
                .unwrap_or_default(),
        );
        mechanism.set(
            diagnosis
                .mechanism
                .map(|m| choice_name(&m))
                .unwrap_or_default(),
        );
        trace_id.set(diagnosis.trace_id.clone());
        settings.set(Some(saved));
    };
    // Ready once the saved diagnosis is shown, so it never replaces a
    // choice the student made before it arrived.
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match read_settings().await {
                Ok(read) => show(read),
                Err(message) => status.set(message),
            }
            hydrated.set(true);
        });
    });
    let save = move |change: Box<dyn FnOnce(&mut ObserveSettings)>, done: &'static str| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match change_settings(change).await {
                Ok(saved) => {
                    show(saved);
                    status.set(done.into());
                }
                Err(message) => status.set(message),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (change, done);
    };
    let start = move |_| {
        // A number not used before (the time in seconds, within the
        // settings' bound), so a hunt after an ended one is a new hunt.
        #[cfg(feature = "hydrate")]
        let fresh = (js_sys::Date::now() as u64 / 1000 % 1_000_000) as u32;
        #[cfg(not(feature = "hydrate"))]
        let fresh = 1;
        save(
            Box::new(move |s| {
                s.hunt = Some(if s.hunt == Some(fresh) {
                    fresh % 1_000_000 + 1
                } else {
                    fresh
                });
                s.diagnosis = Default::default();
            }),
            "A new hunt is on: one incident is hidden in your shop.",
        )
    };
    let stop = move |_| {
        save(
            Box::new(|s| s.hunt = None),
            "The hunt is over: your switches are back.",
        )
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let component = choice_named(&Component::ALL, &component.get_untracked());
        let mechanism = choice_named(&Mechanism::ALL, &mechanism.get_untracked());
        let trace_id = trace_id.get_untracked().trim().to_ascii_lowercase();
        save(
            Box::new(move |s| {
                s.diagnosis.component = component;
                s.diagnosis.mechanism = mechanism;
                s.diagnosis.trace_id = trace_id;
            }),
            "Diagnosis saved: press Check on the exercise to have it graded.",
        )
    };
    view! {
        <section class="widget fault-hunt" aria-label="Fault hunt" data-hydrated=move || hydrated.get().to_string()>
            <p>{move || match settings.get().and_then(|s| s.hunt) {
                Some(round) => format!("Hunt number {round} is on."),
                None => "No hunt is on.".to_string(),
            }}</p>
            <div class="suite-actions">
                <button type="button" class="button-primary" on:click=start disabled=move || !hydrated.get()>"Start a new hunt"</button>
                <button type="button" class="button-secondary" on:click=stop
                    disabled=move || !hydrated.get() || settings.get().is_none_or(|s| s.hunt.is_none())>"End the hunt"</button>
            </div>
            <form class="hunt-diagnosis" on:submit=submit>
                <label class="field">
                    <span class="field-label">"The component at fault"</span>
                    <select disabled=move || !hydrated.get() prop:value=move || component.get() on:change=move |ev| component.set(event_target_value(&ev))>
                        <option value="">"choose one"</option>
                        {Component::ALL.into_iter().map(|c| view! { <option value=choice_name(&c)>{c.label()}</option> }).collect_view()}
                    </select>
                </label>
                <label class="field">
                    <span class="field-label">"How it fails"</span>
                    <select disabled=move || !hydrated.get() prop:value=move || mechanism.get() on:change=move |ev| mechanism.set(event_target_value(&ev))>
                        <option value="">"choose one"</option>
                        {Mechanism::ALL.into_iter().map(|m| view! { <option value=choice_name(&m)>{m.label()}</option> }).collect_view()}
                    </select>
                </label>
                <label class="field">
                    <span class="field-label">"A trace of yours that shows it (32 hex digits)"</span>
                    <input type="text" spellcheck="false" autocomplete="off" maxlength="64" disabled=move || !hydrated.get()
                        prop:value=move || trace_id.get() on:input=move |ev| trace_id.set(event_target_value(&ev))/>
                </label>
                <button type="submit" class="button-primary" disabled=move || !hydrated.get()>"Save the diagnosis"</button>
            </form>
            <p class="note-inline" role="status">{move || status.get()}</p>
        </section>
    }
}

/// A percentile of a route, or a dash when it served nothing.
fn duration_text(requests: u32, us: u64) -> String {
    if requests == 0 {
        "–".into()
    } else {
        millis(us)
    }
}

/// Tenths of a percent as a percentage, e.g. `99.5` or `-12.0`.
fn per_mille_text(per_mille: i64) -> String {
    let sign = if per_mille < 0 { "-" } else { "" };
    let abs = per_mille.unsigned_abs();
    format!("{sign}{}.{}", abs / 10, abs % 10)
}

/// Thousandths as a number with up to three decimals, e.g. `0.43`.
fn milli_text(milli: u64) -> String {
    let fraction = format!("{:03}", milli % 1000);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        format!("{}", milli / 1000)
    } else {
        format!("{}.{fraction}", milli / 1000)
    }
}

/// Hundredths as a number with two decimals, e.g. `2.50`.
fn hundredths_text(hundredths: u64) -> String {
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

/// The time of day (UTC) of a moment, e.g. `14:05:09`.
fn clock_text(at_ms: i64) -> String {
    let seconds = at_ms.div_euclid(1000).rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_without_floats() {
        assert_eq!(per_mille_text(995), "99.5");
        assert_eq!(per_mille_text(-120), "-12.0");
        assert_eq!(milli_text(430), "0.43");
        assert_eq!(milli_text(10_000), "10");
        assert_eq!(hundredths_text(250), "2.50");
        assert_eq!(clock_text(86_400_000 + 3_723_000), "01:02:03");
    }
}
