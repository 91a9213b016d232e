//! The API lab's transport race: the same requests over HTTP/1.1 on one
//! connection, on six, and over HTTP/2 on one, as a table of figures and a
//! waterfall per way on one time scale.

use enhance::text::decimal;
use leptos::prelude::*;

use crate::model::labs::api::{TransportRace, TransportRun, TransportWay};

/// The waterfall's width (spelt as text in its `viewBox`: an `f64`
/// attribute would bring in `core::fmt`'s float code).
const WIDTH: f64 = 640.0;
const ROW: f64 = 7.0;

/// What the widget calls each way.
fn way_label(way: TransportWay) -> &'static str {
    match way {
        TransportWay::Http1OneConnection => "HTTP/1.1, one connection",
        TransportWay::Http1SixConnections => "HTTP/1.1, six connections",
        TransportWay::Http2OneConnection => "HTTP/2, one connection",
    }
}

/// Requests and latency, a Race button, and what each way cost.
#[island(lazy)]
pub(crate) fn TransportRaceConsole() -> impl IntoView {
    let requests = RwSignal::new(20u32);
    let latency_ms = RwSignal::new(50u32);
    let race = RwSignal::new(None::<TransportRace>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    let start = move |_| {
        busy.set(true);
        error.set(None);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let body = format!(
                r#"{{"requests":{},"latency_ms":{}}}"#,
                requests.get_untracked(),
                latency_ms.get_untracked()
            );
            let answer =
                super::fetch::call_api("POST", "/labs/api/transport-race", Some(body)).await;
            match answer {
                Ok((200, text)) => match crate::widgets::json::from_str::<TransportRace>(&text) {
                    Ok(answer) => race.set(Some(answer)),
                    Err(e) => error.set(Some(format!("The answer was not understood: {e}"))),
                },
                Ok((status, text)) => error.set(Some(super::api::problem_detail(status, &text))),
                Err(message) => error.set(Some(message)),
            }
            busy.set(false);
        });
    };
    let number = move |label: &'static str, max: u32, value: RwSignal<u32>| {
        view! {
            <label class="field">
                <span class="field-label">{label}</span>
                <input
                    type="number"
                    min="0"
                    max=max.to_string()
                    inputmode="numeric"
                    prop:value=move || value.get().to_string()
                    on:change=move |ev| {
                        if let Ok(v) = event_target_value(&ev).trim().parse::<u32>() {
                            value.set(v.min(max));
                        }
                    }
                />
            </label>
        }
    };

    view! {
        <section class="widget transport-race" aria-label="Transport race" data-hydrated=move || hydrated.get().to_string()>
            <div class="transport-controls">
                {number("Requests each way (1 to 30)", 30, requests)}
                {number("Server wait per request, ms (0 to 200)", 200, latency_ms)}
                <button
                    type="button"
                    class="button-primary"
                    on:click=start
                    disabled=move || busy.get() || !hydrated.get()
                >
                    {move || if busy.get() { "Racing…" } else { "Race" }}
                </button>
            </div>
            {move || error.get().map(|e| view! { <p class="error-inline" role="alert">{e}</p> })}
            <div role="status" aria-live="polite">
                {move || race.get().map(|race| view! { <RaceResult race/> })}
            </div>
        </section>
    }
}

/// The figures, then one waterfall per way.
#[component]
fn RaceResult(race: TransportRace) -> impl IntoView {
    let span = race.runs.iter().map(|run| run.total_ms).fold(1.0, f64::max);
    let rows = race
        .runs
        .iter()
        .map(|run| {
            view! {
                <tr>
                    <th scope="row">{way_label(run.way)}</th>
                    <td>{run.connections_opened.to_string()}</td>
                    <td>{run.max_in_flight.to_string()}</td>
                    <td>{decimal(run.total_ms, 0)}" ms"</td>
                </tr>
            }
        })
        .collect_view();
    let charts = race
        .runs
        .into_iter()
        .map(|run| view! { <Waterfall run span/> })
        .collect_view();
    view! {
        <table class="transport-figures">
            <caption>{format!("{} requests each way, the server waiting {} ms on each", race.requests, race.latency_ms)}</caption>
            <thead>
                <tr>
                    <th scope="col">"Way"</th>
                    <th scope="col">"Connections opened"</th>
                    <th scope="col">"Most at once"</th>
                    <th scope="col">"Total time"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        {charts}
    }
}

/// One row per request, a bar from sent to answered, coloured by its
/// connection; every way on the same scale (`span` milliseconds).
#[component]
fn Waterfall(run: TransportRun, span: f64) -> impl IntoView {
    let x = move |ms: f64| 4.0 + ms / span * (WIDTH - 8.0);
    let height = ROW * run.requests.len() as f64 + 4.0;
    let bars = run
        .requests
        .iter()
        .enumerate()
        .map(|(row, request)| {
            let left = x(request.sent_ms);
            let width = (x(request.answered_ms) - left).max(1.5);
            let class = format!("transport-bar transport-conn-{}", (request.connection - 1) % 6);
            view! {
                <rect class=class x=decimal(left, 1) y=decimal(2.0 + ROW * row as f64, 1) width=decimal(width, 1) height=decimal(ROW - 2.0, 1)>
                    <title>{format!(
                        "request {} on connection {}: sent at {} ms, answered at {} ms",
                        request.number_on_connection, request.connection, decimal(request.sent_ms, 0), decimal(request.answered_ms, 0)
                    )}</title>
                </rect>
            }
        })
        .collect_view();
    let label = format!(
        "{}: {} requests on {} connection{}, done in {} ms",
        way_label(run.way),
        run.requests.len(),
        run.connections_opened,
        if run.connections_opened == 1 { "" } else { "s" },
        decimal(run.total_ms, 0)
    );
    view! {
        <figure class="transport-waterfall">
            <figcaption>{label.clone()}</figcaption>
            <svg viewBox=format!("0 0 640 {}", decimal(height, 0)) role="img" aria-label=label>
                {bars}
            </svg>
        </figure>
    }
}
