//! The cache lab's console: settings, requests against the slow catalog, a
//! log of what the cache did, and a live chart of latency per request.

use enhance::text::decimal;
use leptos::prelude::*;

use super::settings_draft::{choice_name, choice_named, number_field, Bounds, SettingsDraft};
use crate::model::labs::cache::{Backend, CacheSettings, Sample, Stats, Strategy};

/// What the strategy picker calls each strategy.
fn strategy_label(strategy: Strategy) -> &'static str {
    match strategy {
        Strategy::None => "no cache",
        Strategy::CacheAside => "cache-aside",
        Strategy::WriteThrough => "write-through",
    }
}

/// What the backend picker calls each backend.
fn backend_label(backend: Backend) -> &'static str {
    match backend {
        Backend::InProcess => "in-process (moka)",
        Backend::Redis => "Redis",
    }
}

/// A line of the console's log.
#[derive(Clone, Debug, PartialEq)]
struct LogLine {
    key: usize,
    what: String,
    outcome: Option<String>,
}

/// Requests drawn in the chart.
const CHART_REQUESTS: usize = 40;
/// The chart's size; its SVG attributes spell it as text, and coordinates
/// go through [`decimal`], since an `f64` attribute would bring in
/// `core::fmt`'s float code.
const CHART_WIDTH: f64 = 640.0;
const CHART_HEIGHT: f64 = 160.0;

/// Latency per request, newest on the right; hits and misses coloured apart.
#[component]
fn LatencyChart(stats: Stats) -> impl IntoView {
    let recent: Vec<Sample> = stats
        .recent
        .iter()
        .skip(stats.recent.len().saturating_sub(CHART_REQUESTS))
        .cloned()
        .collect();
    let highest = recent.iter().map(|s| s.latency_ms).fold(1.0_f64, f64::max);
    let slot = CHART_WIDTH / CHART_REQUESTS as f64;
    let bars = recent
        .iter()
        .enumerate()
        .map(|(i, sample)| {
            let height = (sample.latency_ms / highest * (CHART_HEIGHT - 20.0)).max(6.0);
            let outcome = sample.outcome.header();
            let class = format!("cache-bar cache-bar-{}", outcome.to_ascii_lowercase());
            view! {
                <rect class=class x=decimal(i as f64 * slot + 1.0, 1) y=decimal(CHART_HEIGHT - height, 1)
                    width=decimal(slot - 2.0, 1) height=decimal(height, 1)>
                    <title>{format!("{outcome}: {} ms", decimal(sample.latency_ms, 1))}</title>
                </rect>
            }
        })
        .collect_view();
    let label = format!(
        "Latency of your last {} requests: hit ratio {}%, p50 {} ms, p95 {} ms",
        recent.len(),
        decimal(stats.hit_ratio * 100.0, 0),
        decimal(stats.p50_ms, 1),
        decimal(stats.p95_ms, 1)
    );
    view! {
        <figure class="cache-chart">
            <svg viewBox="0 0 640 160" role="img" aria-label=label.clone() preserveAspectRatio="none">
                <line class="cache-axis" x1="0" y1="160" x2="640" y2="160"/>
                {bars}
            </svg>
            <figcaption>
                <span class="cache-key cache-key-hit">"HIT"</span>" "
                <span class="cache-key cache-key-miss">"MISS"</span>" "
                <span class="cache-key cache-key-bypass">"BYPASS"</span>
                <span class="cache-figures" data-testid="cache-figures">
                    {format!(
                        " {} requests · hit ratio {}% · p50 {} ms · p95 {} ms · origin hit {} times",
                        stats.requests, decimal(stats.hit_ratio * 100.0, 0), decimal(stats.p50_ms, 1), decimal(stats.p95_ms, 1), stats.origin_hits
                    )}
                </span>
            </figcaption>
        </figure>
    }
}

/// Settings, actions, log and chart of the cache lab.
#[island(lazy)]
pub(crate) fn CacheConsole() -> impl IntoView {
    let draft = SettingsDraft::<CacheSettings>::new("cache");
    let stats = RwSignal::new(Stats::default());
    let log = RwSignal::new(Vec::<LogLine>::new());
    let product = RwSignal::new(String::from("42"));
    let price = RwSignal::new(String::from("1999"));
    let herd = RwSignal::new(String::from("20"));
    let hydrated = RwSignal::new(false);

    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    let push = move |what: String, outcome: Option<String>| {
        log.update(|lines| {
            let key = lines.first().map_or(0, |l| l.key + 1);
            lines.insert(0, LogLine { key, what, outcome });
            lines.truncate(8);
        });
    };
    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    let refresh = move || {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            if let Ok((200, text)) = super::fetch::call_api("GET", "/labs/cache/stats", None).await
            {
                stats.set(crate::widgets::json::from_str(&text).unwrap_or_default());
            }
        });
    };
    Effect::new(move |_| {
        hydrated.set(true);
        draft.load();
        refresh();
    });

    let save = move |_| draft.save("Saved.");
    let fetch_product = move |_| {
        let id = product.get_untracked();
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let request = crate::model::RequestTemplate {
                method: "GET".into(),
                url: format!("/labs/cache/products/{}", id.trim()),
                headers: Vec::new(),
                body: String::new(),
            };
            match super::fetch::send(&request).await {
                Ok(exchange) => {
                    let header = |name: &str| {
                        exchange
                            .headers
                            .iter()
                            .find(|(n, _)| n == name)
                            .map(|(_, v)| v.clone())
                            .unwrap_or_default()
                    };
                    let product = crate::widgets::json::from_str::<
                        crate::model::labs::cache::Product,
                    >(&exchange.body)
                    .ok();
                    let what = match product
                        .as_ref()
                        .and_then(|p| Some((p.price_cents.as_i64()?, p.cache_error.as_deref())))
                    {
                        Some((cents, cache_error)) => format!(
                            "GET product {} → {} · {} cents · Age {} · {} ms{}",
                            id.trim(),
                            exchange.status,
                            cents,
                            header("age"),
                            decimal(exchange.elapsed_us as f64 / 1000.0, 0),
                            cache_error.map(|e| format!(" · {e}")).unwrap_or_default()
                        ),
                        None => format!(
                            "GET product {} → {} {}",
                            id.trim(),
                            exchange.status,
                            crate::widgets::json::from_str::<crate::model::ErrorBody>(
                                &exchange.body
                            )
                            .map(|e| e.message)
                            .unwrap_or_default()
                        ),
                    };
                    let outcome = Some(header("x-cache")).filter(|o| !o.is_empty());
                    push(what, outcome);
                }
                Err(message) => push(message, None),
            }
            refresh();
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = id;
    };
    let change_price = move |_| {
        let (id, cents) = (product.get_untracked(), price.get_untracked());
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            use crate::model::labs::cache::{PriceChange, PriceChanged};
            let change = PriceChange {
                price_cents: cents.trim().parse::<i64>().unwrap_or(0),
            };
            let answer = super::fetch::call_api(
                "PUT",
                &format!("/labs/cache/products/{}", id.trim()),
                crate::widgets::json::to_string(&change),
            )
            .await;
            let line = match answer {
                Ok((200, text)) => {
                    let cache = match crate::widgets::json::from_str::<PriceChanged>(&text) {
                        Ok(PriceChanged {
                            strategy: Strategy::WriteThrough,
                            ..
                        }) => "cache updated (write-through)",
                        Ok(PriceChanged {
                            strategy: Strategy::CacheAside,
                            invalidate_on_write: true,
                            ..
                        }) => "cached copy invalidated",
                        Ok(PriceChanged {
                            strategy: Strategy::CacheAside,
                            ..
                        }) => "cache left alone: reads may be stale until the TTL ends",
                        _ => "no cache",
                    };
                    format!(
                        "PUT product {} price → {} cents · {cache}",
                        id.trim(),
                        cents.trim()
                    )
                }
                Ok((status, text)) => format!(
                    "PUT product {} → {status}: {}",
                    id.trim(),
                    crate::widgets::json::error_message(text)
                ),
                Err(message) => message,
            };
            push(line, None);
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (id, cents);
    };
    let stampede = move |_| {
        let (id, n) = (product.get_untracked(), herd.get_untracked());
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            use crate::model::labs::cache::{StampedeReport, StampedeRequest};
            let request = StampedeRequest {
                n: n.trim().parse::<usize>().unwrap_or(0),
                product_id: id.trim().parse::<i64>().unwrap_or(0),
            };
            let body = crate::widgets::json::to_string(&request);
            let line = match super::fetch::call_api("POST", "/labs/cache/stampede", body).await {
                Ok((200, text)) => {
                    let report: StampedeReport =
                        crate::widgets::json::from_str(&text).unwrap_or_default();
                    format!(
                        "Stampede: {} requests for cold product {} · origin hit {} time(s) · coalescing {} · {} ms",
                        report.n, id.trim(), report.origin_hits,
                        if report.coalescing { "on" } else { "off" },
                        decimal(report.elapsed_ms, 0)
                    )
                }
                Ok((status, text)) => format!(
                    "Stampede → {status}: {}",
                    crate::widgets::json::error_message(text)
                ),
                Err(message) => message,
            };
            push(line, None);
            refresh();
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (id, n);
    };
    let clear = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let _ = super::fetch::call_api("DELETE", "/labs/cache/entries", None).await;
            log.set(Vec::new());
            refresh();
        });
    };

    type Field<T> = (fn(&CacheSettings) -> T, fn(&mut CacheSettings, T));
    let toggle = move |(get, set): Field<bool>, label: &'static str| {
        view! {
            <label class="choice">
                <input type="checkbox" prop:checked=move || draft.read(get).unwrap_or(false)
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        draft.edit(|s| set(s, on))
                    }/>
                <span>{label}</span>
            </label>
        }
    };
    view! {
        <section class="widget cache-console" aria-label="Cache lab console" data-hydrated=move || hydrated.get().to_string()>
            <fieldset class="cache-settings" disabled=move || draft.loading()>
                <legend>"Your cache lab settings"</legend>
                <label class="field">
                    <span class="field-label">"Strategy"</span>
                    <select prop:value=move || choice_name(&draft.read(|s| s.strategy).unwrap_or_default())
                        on:change=move |ev| if let Some(strategy) = choice_named(&Strategy::ALL, &event_target_value(&ev)) {
                            draft.edit(|s| s.strategy = strategy)
                        }>
                        {Strategy::ALL.into_iter().map(|strategy| view! { <option value=choice_name(&strategy)>{strategy_label(strategy)}</option> }).collect_view()}
                    </select>
                </label>
                <label class="field">
                    <span class="field-label">"Backend"</span>
                    <select prop:value=move || choice_name(&draft.read(|s| s.backend).unwrap_or_default())
                        on:change=move |ev| if let Some(backend) = choice_named(&Backend::ALL, &event_target_value(&ev)) {
                            draft.edit(|s| s.backend = backend)
                        }>
                        {Backend::ALL.into_iter().map(|backend| {
                            // Redis is there to pick only when this server has one.
                            let missing = move || backend == Backend::Redis && !stats.with(|s| s.redis_configured);
                            view! { <option value=choice_name(&backend) disabled=missing>{backend_label(backend)}</option> }
                        }).collect_view()}
                    </select>
                </label>
                {number_field(draft, "TTL (seconds)", Bounds::whole("1", "3600"), |s| s.ttl_secs, |s, n| s.ttl_secs = n)}
                {number_field(draft, "Capacity (entries)", Bounds::whole("1", "10000"), |s| s.capacity, |s, n| s.capacity = n)}
                {number_field(draft, "Origin latency (ms)", Bounds::whole("0", "2000"), |s| s.origin_latency_ms, |s, n| s.origin_latency_ms = n)}
                {toggle((|s| s.invalidate_on_write, |s, on| s.invalidate_on_write = on), "Invalidate on write")}
                {toggle((|s| s.coalescing, |s, on| s.coalescing = on), "Coalesce concurrent misses")}
                <button type="button" class="button-secondary" disabled=move || !hydrated.get() on:click=save>"Save settings"</button>
                <span class="note-inline" role="status">{move || draft.saved.get()}</span>
            </fieldset>
            <div class="cache-actions">
                <label class="field">
                    <span class="field-label">"Product id"</span>
                    <input type="number" min="1" inputmode="numeric" bind:value=product/>
                </label>
                <button type="button" class="button-primary" disabled=move || !hydrated.get() on:click=fetch_product>"Fetch product"</button>
                <label class="field">
                    <span class="field-label">"New price (cents)"</span>
                    <input type="number" min="1" inputmode="numeric" bind:value=price/>
                </label>
                <button type="button" class="button-secondary" disabled=move || !hydrated.get() on:click=change_price>"Change price"</button>
                <label class="field">
                    <span class="field-label">"Requests at once"</span>
                    <input type="number" min="1" max="200" inputmode="numeric" bind:value=herd/>
                </label>
                <button type="button" class="button-secondary" disabled=move || !hydrated.get() on:click=stampede>"Stampede"</button>
                <button type="button" class="button-quiet" disabled=move || !hydrated.get() on:click=clear>"Clear cache"</button>
            </div>
            <ol class="cache-log" aria-label="What the cache did" aria-live="polite">
                <For each=move || log.get() key=|line| line.key let:line>
                    <li>
                        {line.outcome.clone().map(|o| {
                            let class = format!("cache-outcome cache-outcome-{}", o.to_ascii_lowercase());
                            view! { <span class=class>{o}</span> " " }
                        })}
                        {line.what.clone()}
                    </li>
                </For>
            </ol>
            {move || view! { <LatencyChart stats=stats.get()/> }}
        </section>
    }
}
