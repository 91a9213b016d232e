//! The rate-limit lab's widgets: the console (settings and a burst tool
//! with a chart of accepted and refused requests over the limiter's level)
//! and the side-by-side simulator.

use enhance::text::decimal;
use leptos::either::Either;
use leptos::prelude::*;

use super::settings_draft::{
    choice_name, choice_named, number_field, Bounds, FieldNumber, SettingsDraft,
};
use crate::model::labs::ratelimit::{KeyBy, Kind, Pattern, RateLimitSettings, Simulation};

/// What the console and the simulator call each algorithm.
fn algorithm_label(kind: Kind) -> &'static str {
    match kind {
        Kind::TokenBucket => "token bucket",
        Kind::LeakyBucketMeter => "leaky bucket (meter)",
        Kind::LeakyBucketQueue => "leaky bucket (queue)",
        Kind::FixedWindow => "fixed window",
        Kind::SlidingWindowLog => "sliding window log",
        Kind::SlidingWindowCounter => "sliding window counter",
    }
}

/// What the key picker calls each way of counting requests.
fn key_label(key: KeyBy) -> &'static str {
    match key {
        KeyBy::Student => "you (guest or account)",
        KeyBy::ClientAddress => "client address",
        KeyBy::ApiKey => "X-Api-Key header",
    }
}

/// The charts' width; their SVG attributes spell it as text (640), since an
/// `f64` attribute would bring in `core::fmt`'s float code.
const WIDTH: f64 = 640.0;

/// One request the burst tool sent.
#[derive(Clone, Debug, PartialEq)]
struct Shot {
    at_ms: f64,
    status: u16,
    remaining: Option<u32>,
}

/// `r=` of a `RateLimit` field value.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn remaining_of(field: &str) -> Option<u32> {
    field
        .split(';')
        .find_map(|part| part.trim().strip_prefix("r="))
        .and_then(|r| r.parse().ok())
}

/// Accepted and refused requests over time, the limiter's level beneath.
#[component]
fn BurstChart(shots: Vec<Shot>, capacity: u32) -> impl IntoView {
    let span = shots.last().map_or(1.0, |s| s.at_ms.max(1.0));
    let x = move |t: f64| 10.0 + t / span * (WIDTH - 20.0);
    let dots = shots
        .iter()
        .map(|s| {
            let ok = (200..300).contains(&s.status);
            let (y, class) = if ok { ("20", "rl-dot rl-ok") } else { ("45", "rl-dot rl-refused") };
            view! { <circle class=class cx=decimal(x(s.at_ms), 1) cy=y r="4"><title>{format!("{} at {} ms", s.status, decimal(s.at_ms, 0))}</title></circle> }
        })
        .collect_view();
    let level: Vec<String> = shots
        .iter()
        .filter_map(|s| s.remaining.map(|r| (s.at_ms, r)))
        .map(|(t, r)| {
            let full = 1.0 - f64::from(r) / f64::from(capacity.max(1));
            format!("{},{}", decimal(x(t), 1), decimal(120.0 - full * 55.0, 1))
        })
        .collect();
    let accepted = shots
        .iter()
        .filter(|s| (200..300).contains(&s.status))
        .count();
    let label = format!(
        "{} requests over {} s: {} accepted, {} refused",
        shots.len(),
        decimal(span / 1000.0, 1),
        accepted,
        shots.len() - accepted
    );
    view! {
        <figure class="rl-chart">
            <svg viewBox="0 0 640 130" role="img" aria-label=label.clone()>
                <text x="10" y="10" class="rl-label">"accepted"</text>
                <text x="10" y="60" class="rl-label">"refused (429)"</text>
                <line class="rl-axis" x1="10" y1="120" x2="630" y2="120"/>
                {dots}
                <polyline class="rl-level" points=level.join(" ")/>
                <text x="10" y="77" class="rl-label">"limiter level (how full)"</text>
            </svg>
            <figcaption data-testid="rl-summary">{label}</figcaption>
        </figure>
    }
}

/// Settings and the burst tool.
#[island(lazy)]
pub(crate) fn RateLimitConsole() -> impl IntoView {
    let draft = SettingsDraft::<RateLimitSettings>::new("ratelimit");
    let count = RwSignal::new(String::from("30"));
    let per_sec = RwSignal::new(String::from("0"));
    let api_key = RwSignal::new(String::from("demo-key-1"));
    let shots = RwSignal::new(Vec::<Shot>::new());
    let firing = RwSignal::new(false);
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| {
        hydrated.set(true);
        draft.load();
    });
    let save = move |_| draft.save("Saved: a fresh limiter starts now.");
    let fire = move |_| {
        let n = count
            .get_untracked()
            .trim()
            .parse::<usize>()
            .unwrap_or(0)
            .min(500);
        let rate = <f64 as FieldNumber>::read(&per_sec.get_untracked()).unwrap_or(0.0);
        let key = api_key.get_untracked();
        shots.set(Vec::new());
        firing.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let performance = window().performance();
            let start = performance.as_ref().map(|p| p.now()).unwrap_or_default();
            for i in 0..n {
                if rate > 0.0 {
                    let due = start + i as f64 * 1000.0 / rate;
                    let now = performance.as_ref().map(|p| p.now()).unwrap_or_default();
                    if due > now {
                        super::fetch::sleep_ms((due - now) as i32).await;
                    }
                }
                let request = crate::model::RequestTemplate {
                    method: "GET".into(),
                    url: "/labs/ratelimit/api/ping".into(),
                    headers: vec![("X-Api-Key".into(), key.clone())],
                    body: String::new(),
                };
                let at_ms = performance.as_ref().map(|p| p.now()).unwrap_or_default() - start;
                if let Ok(exchange) = super::fetch::send(&request).await {
                    let remaining = exchange
                        .headers
                        .iter()
                        .find(|(n, _)| n == "ratelimit")
                        .and_then(|(_, v)| remaining_of(v));
                    shots.update(|s| {
                        s.push(Shot {
                            at_ms,
                            status: exchange.status,
                            remaining,
                        })
                    });
                }
            }
            firing.set(false);
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (n, rate, key);
    };
    view! {
        <section class="widget ratelimit-console" aria-label="Rate-limit lab console" data-hydrated=move || hydrated.get().to_string()>
            <fieldset class="rl-settings" disabled=move || draft.loading()>
                <legend>"Your limiter"</legend>
                <label class="field">
                    <span class="field-label">"Algorithm"</span>
                    <select prop:value=move || choice_name(&draft.read(|s| s.algorithm).unwrap_or_default())
                        on:change=move |ev| if let Some(kind) = choice_named(&Kind::ALL, &event_target_value(&ev)) {
                            draft.edit(|s| s.algorithm = kind)
                        }>
                        {Kind::ALL.into_iter().map(|kind| view! { <option value=choice_name(&kind)>{algorithm_label(kind)}</option> }).collect_view()}
                    </select>
                </label>
                {number_field(draft, "Capacity / limit", Bounds { min: "0", max: None, step: "1" }, |s| s.capacity, |s, n| s.capacity = n)}
                {number_field(draft, "Rate per second", Bounds { min: "0", max: None, step: "0.1" }, |s| s.rate_per_sec, |s, n| s.rate_per_sec = n)}
                {number_field(draft, "Window (seconds)", Bounds { min: "0", max: None, step: "1" }, |s| s.window_secs, |s, n| s.window_secs = n)}
                <label class="field">
                    <span class="field-label">"Count requests by"</span>
                    <select prop:value=move || choice_name(&draft.read(|s| s.key).unwrap_or_default())
                        on:change=move |ev| if let Some(key) = choice_named(&KeyBy::ALL, &event_target_value(&ev)) {
                            draft.edit(|s| s.key = key)
                        }>
                        {KeyBy::ALL.into_iter().map(|key| view! { <option value=choice_name(&key)>{key_label(key)}</option> }).collect_view()}
                    </select>
                </label>
                <button type="button" class="button-secondary" disabled=move || !hydrated.get() on:click=save>"Save settings"</button>
                <span class="note-inline" role="status">{move || draft.saved.get()}</span>
            </fieldset>
            <div class="rl-burst">
                <label class="field">
                    <span class="field-label">"Requests"</span>
                    <input type="number" min="1" max="500" inputmode="numeric" bind:value=count/>
                </label>
                <label class="field">
                    <span class="field-label">"Per second (0: as fast as possible)"</span>
                    <input type="number" min="0" step="0.5" inputmode="decimal" bind:value=per_sec/>
                </label>
                <label class="field">
                    <span class="field-label">"X-Api-Key"</span>
                    <input type="text" autocomplete="off" bind:value=api_key/>
                </label>
                <button type="button" class="button-primary" disabled=move || !hydrated.get() || firing.get() on:click=fire>
                    {move || if firing.get() { "Firing…" } else { "Fire" }}
                </button>
            </div>
            <div aria-live="polite">
                {move || {
                    let capacity = draft.read(|s| s.capacity).unwrap_or(10);
                    (!shots.with(Vec::is_empty)).then(|| view! { <BurstChart shots=shots.get() capacity/> })
                }}
            </div>
        </section>
    }
}

/// Every algorithm's timeline for one pattern, one lane each.
#[component]
fn Lanes(simulation: Simulation) -> impl IntoView {
    let first = simulation
        .lanes
        .first()
        .and_then(|l| l.points.first())
        .map_or(0.0, |p| p.t as f64);
    let span = (simulation.span_ms as f64 - first).max(1.0);
    // Lanes start after their names; time runs from the first request to the last.
    let x = move |t: f64| 180.0 + (t - first) / span * (WIDTH - 200.0);
    let height = simulation.lanes.len() as f64 * 44.0 + 10.0;
    let lanes = simulation
        .lanes
        .iter()
        .enumerate()
        .map(|(row, lane)| {
            let y = 10.0 + row as f64 * 44.0;
            let name = algorithm_label(lane.algorithm);
            let marks = lane
                .points
                .iter()
                .map(|p| {
                    let class = if p.allowed { "rl-tick rl-ok" } else { "rl-tick rl-refused" };
                    let top = if p.allowed { y } else { y + 14.0 };
                    view! { <rect class=class x=decimal(x(p.t as f64), 1) y=decimal(top, 1) width="2" height="12"/> }
                })
                .collect_view();
            let level: Vec<String> = lane.points.iter().map(|p| format!("{},{}", decimal(x(p.t as f64), 1), decimal(y + 40.0 - p.level * 12.0, 1))).collect();
            view! {
                <g class="rl-lane" data-algorithm=lane.algorithm.name()>
                    <text x="4" y=decimal(y + 12.0, 1) class="rl-lane-name">{name}</text>
                    <text x="4" y=decimal(y + 28.0, 1) class="rl-label">{format!("{} of {} allowed", lane.allowed, simulation.requests)}</text>
                    {marks}
                    <polyline class="rl-level" points=level.join(" ")/>
                </g>
            }
        })
        .collect_view();
    view! {
        <div class="rl-scroll">
            <svg class="rl-lanes" viewBox=format!("0 0 640 {}", decimal(height, 0)) width="100%" role="img"
                aria-label=format!("{} requests through {} algorithms", simulation.requests, simulation.lanes.len())>
                {lanes}
            </svg>
        </div>
    }
}

/// One pattern through every algorithm, on the server's virtual clock.
#[island(lazy)]
pub(crate) fn RateLimitSimulator() -> impl IntoView {
    let pattern = RwSignal::new(String::from("boundary"));
    let times = RwSignal::new(String::from("0, 100, 200, 300, 1000, 1010, 1020"));
    let result = RwSignal::new(None::<Result<Simulation, String>>);
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let run = move |_| {
        let traffic = match pattern.get_untracked().as_str() {
            "steady" => Pattern::Steady {
                per_sec: 4.0,
                seconds: 10,
            },
            "bursty" => Pattern::Bursty {
                size: 15,
                every_secs: 3,
                seconds: 12,
            },
            "times" => Pattern::Times {
                times_ms: times
                    .get_untracked()
                    .split([',', ' ', '\n'])
                    .filter_map(|t| t.trim().parse().ok())
                    .collect(),
            },
            _ => Pattern::Boundary,
        };
        let request = crate::model::labs::ratelimit::SimulationRequest {
            pattern: traffic,
            settings: None,
        };
        let body = crate::widgets::json::to_string(&request);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let answer = super::fetch::call_api("POST", "/labs/ratelimit/simulate", body).await;
            result.set(Some(match answer {
                Ok((200, text)) => crate::widgets::json::from_str(&text).map_err(|e| e.to_string()),
                Ok((_, text)) => Err(crate::widgets::json::error_message(text)),
                Err(message) => Err(message),
            }));
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = body;
    };
    view! {
        <section class="widget ratelimit-simulator" aria-label="Rate-limit simulator" data-hydrated=move || hydrated.get().to_string()>
            <div class="rl-burst">
                <label class="field">
                    <span class="field-label">"Traffic"</span>
                    <select prop:value=move || pattern.get() on:change=move |ev| pattern.set(event_target_value(&ev))>
                        <option value="boundary">"a full allowance each side of a window boundary"</option>
                        <option value="steady">"steady: 4 per second for 10 s"</option>
                        <option value="bursty">"bursty: 15 at once every 3 s"</option>
                        <option value="times">"times I type (ms)"</option>
                    </select>
                </label>
                <label class="field" class:hidden=move || pattern.get() != "times">
                    <span class="field-label">"Arrival times (ms)"</span>
                    <input type="text" autocomplete="off" bind:value=times/>
                </label>
                <button type="button" class="button-primary" disabled=move || !hydrated.get() on:click=run>"Simulate all algorithms"</button>
            </div>
            <p class="muted">"Uses your limiter's capacity, rate and window for every algorithm. Time runs left to right from the first request to the last; accepted requests on the upper tick row, refused ones below, the limiter's level as a line."</p>
            <div aria-live="polite">
                {move || result.get().map(|r| match r {
                    Ok(simulation) => Either::Left(view! { <Lanes simulation/> }),
                    Err(message) => Either::Right(view! { <p class="sql-error" role="alert">{message}</p> }),
                })}
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_remaining_count_is_read_from_the_field() {
        assert_eq!(remaining_of("\"lab\";r=3;t=4"), Some(3));
        assert_eq!(remaining_of("\"lab\";t=4"), None);
    }
}
