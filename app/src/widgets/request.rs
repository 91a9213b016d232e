//! The request widget: an editable HTTP request that the browser really sends,
//! the raw response it got back, and the server's trace of it.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;

use crate::model::{RequestTemplate, TraceView};

/// Methods the widget offers. `fetch` cannot send CONNECT or TRACE.
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// Headers a browser refuses to let a page set; the widget says so instead of
/// silently dropping them.
const FORBIDDEN_HEADERS: [&str; 10] = [
    "host",
    "content-length",
    "cookie",
    "connection",
    "origin",
    "referer",
    "user-agent",
    "accept-encoding",
    "keep-alive",
    "transfer-encoding",
];

/// One exchange as the browser saw it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Exchange {
    pub(crate) status: u16,
    pub(crate) status_text: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
    pub(crate) elapsed_us: u64,
    pub(crate) redirected_to: Option<String>,
    pub(crate) trace_id: Option<String>,
}

#[derive(Clone, Copy)]
struct HeaderRow {
    key: usize,
    name: RwSignal<String>,
    value: RwSignal<String>,
}

/// A live request editor bound to one lesson's ```` ```http ```` block.
#[island]
pub(crate) fn RequestWidget(template: RequestTemplate) -> impl IntoView {
    let method = RwSignal::new(template.method);
    let url = RwSignal::new(template.url);
    let body = RwSignal::new(template.body);
    let next_key = StoredValue::new(template.headers.len());
    let rows = RwSignal::new(
        template
            .headers
            .into_iter()
            .enumerate()
            .map(|(key, (n, v))| HeaderRow {
                key,
                name: RwSignal::new(n),
                value: RwSignal::new(v),
            })
            .collect::<Vec<_>>(),
    );
    let exchange = RwSignal::new(None::<Result<Exchange, String>>);
    let sending = RwSignal::new(false);
    // Effects run only in the browser: until this one has, Send cannot work.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if sending.get_untracked() {
            return;
        }
        let headers: Vec<(String, String)> = rows
            .get_untracked()
            .iter()
            .map(|r| {
                (
                    r.name.get_untracked().trim().to_string(),
                    r.value.get_untracked(),
                )
            })
            .filter(|(n, _)| !n.is_empty())
            .collect();
        let request = RequestTemplate {
            method: method.get_untracked(),
            url: url.get_untracked(),
            headers,
            body: body.get_untracked(),
        };
        sending.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let result = super::fetch::send(&request).await;
            exchange.set(Some(result));
            sending.set(false);
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = request;
    };

    view! {
        <section class="widget request-widget" aria-label="Live request" data-hydrated=move || hydrated.get().to_string()>
            <form class="request-form" on:submit=send>
                <div class="request-line">
                    <label class="field field-method">
                        <span class="field-label">"Method"</span>
                        <select
                            prop:value=move || method.get()
                            on:change=move |ev| method.set(event_target_value(&ev))
                        >
                            {METHODS.iter().map(|m| view! { <option value=*m selected=move || method.get() == *m>{*m}</option> }).collect_view()}
                        </select>
                    </label>
                    <label class="field field-url">
                        <span class="field-label">"URL"</span>
                        <input type="text" spellcheck="false" autocomplete="off" value=url.get_untracked() bind:value=url/>
                    </label>
                    <button type="submit" class="button-primary" disabled=move || sending.get() || !hydrated.get()>
                        {move || if sending.get() { "Sending…" } else { "Send" }}
                    </button>
                </div>
                <HeaderFields rows next_key/>
                <label class="field field-body">
                    <span class="field-label">"Body"</span>
                    <textarea rows="3" spellcheck="false" bind:value=body>{body.get_untracked()}</textarea>
                </label>
            </form>
            <div class="response" aria-live="polite">
                {move || exchange.get().map(|result| match result {
                    Ok(exchange) => Either::Left(view! { <ExchangeView exchange/> }),
                    Err(message) => Either::Right(view! { <p class="error-inline" role="alert">{message}</p> }),
                })}
            </div>
        </section>
    }
}

/// The editable header rows, with add and remove buttons.
#[component]
fn HeaderFields(rows: RwSignal<Vec<HeaderRow>>, next_key: StoredValue<usize>) -> impl IntoView {
    let add_header = move |_: leptos::ev::MouseEvent| {
        let key = next_key.get_value();
        next_key.set_value(key + 1);
        rows.update(|r| {
            r.push(HeaderRow {
                key,
                name: RwSignal::new(String::new()),
                value: RwSignal::new(String::new()),
            })
        });
    };
    let forbidden = move || {
        rows.get()
            .iter()
            .map(|r| r.name.get().trim().to_ascii_lowercase())
            .filter(|n| {
                FORBIDDEN_HEADERS.contains(&n.as_str())
                    || n.starts_with("sec-")
                    || n.starts_with("proxy-")
            })
            .collect::<Vec<_>>()
    };
    view! {
                <fieldset class="headers">
                    <legend>"Headers"</legend>
                    <For each=move || rows.get() key=|r| r.key let:row>
                        <div class="header-row">
                            <label class="field">
                                <span class="visually-hidden">"Header name"</span>
                                <input type="text" placeholder="Name" spellcheck="false" value=row.name.get_untracked() bind:value=row.name/>
                            </label>
                            <label class="field">
                                <span class="visually-hidden">"Header value"</span>
                                <input type="text" placeholder="Value" spellcheck="false" value=row.value.get_untracked() bind:value=row.value/>
                            </label>
                            <button
                                type="button"
                                class="button-quiet"
                                aria-label=move || format!("Remove header {}", row.name.get())
                                on:click=move |_| rows.update(|r| r.retain(|x| x.key != row.key))
                            >
                                "Remove"
                            </button>
                        </div>
                    </For>
                    <button type="button" class="button-quiet" on:click=add_header>"Add header"</button>
                    <Show when=move || !forbidden().is_empty()>
                        <p class="note-inline" role="note">
                            "Browsers do not let a page set " {move || forbidden().join(", ")}
                            "; they send their own. Use curl to set it yourself."
                        </p>
                    </Show>
                </fieldset>
    }
}

#[component]
fn ExchangeView(exchange: Exchange) -> impl IntoView {
    let status_class = format!("status status-{}xx", exchange.status / 100);
    let raw_headers = exchange
        .headers
        .iter()
        .map(|(n, v)| format!("{n}: {v}"))
        .collect::<Vec<_>>()
        .join("\n");
    let trace_id = exchange.trace_id.clone();
    view! {
        <div class="exchange">
            <p class="status-line">
                <span class=status_class>{exchange.status} " " {exchange.status_text}</span>
                <span class="elapsed">{millis(exchange.elapsed_us)}</span>
            </p>
            {exchange.redirected_to.map(|to| view! {
                <p class="note-inline">"The browser followed a redirect to " <code>{to}</code> "; curl -i shows the 3xx itself."</p>
            })}
            <details class="raw-headers">
                <summary>"Response headers (" {exchange.headers.len()} ")"</summary>
                <pre><code>{raw_headers}</code></pre>
            </details>
            <pre class="response-body"><code>{readable_body(exchange.body)}</code></pre>
            {trace_id.map(|id| view! { <TracePanel trace_id=id/> })}
        </div>
    }
}

/// JSON bodies are shown indented; anything else exactly as it came.
/// The browser's own `JSON` does the work, which costs the bundle nothing.
fn readable_body(body: String) -> String {
    #[cfg(feature = "hydrate")]
    {
        let starts_like_json = matches!(body.trim_start().as_bytes().first(), Some(b'{' | b'['));
        if starts_like_json {
            if let Some(pretty) = js_sys::JSON::parse(&body)
                .ok()
                .and_then(|value| {
                    js_sys::JSON::stringify_with_replacer_and_space(
                        &value,
                        &wasm_bindgen::JsValue::NULL,
                        &wasm_bindgen::JsValue::from(2),
                    )
                    .ok()
                })
                .and_then(|text| text.as_string())
            {
                return pretty;
            }
        }
    }
    body
}

#[component]
pub(crate) fn TracePanel(trace_id: String) -> impl IntoView {
    let trace = RwSignal::new(None::<Result<TraceView, String>>);
    let open = RwSignal::new(false);
    let toggle = {
        let trace_id = trace_id.clone();
        move |_| {
            open.update(|o| *o = !*o);
            if open.get_untracked() && trace.get_untracked().is_none() {
                #[cfg(feature = "hydrate")]
                {
                    let trace_id = trace_id.clone();
                    leptos::task::spawn_local(async move {
                        trace.set(Some(super::fetch::trace(&trace_id).await));
                    });
                }
                #[cfg(not(feature = "hydrate"))]
                let _ = &trace_id;
            }
        }
    };
    view! {
        <div class="trace-panel">
            // The id is in the button's name too, so a list of traces
            // (the observe lab's log) reads as distinct buttons.
            <button type="button" class="button-quiet" aria-expanded=move || open.get().to_string() on:click=toggle>
                {move || if open.get() { "Hide trace" } else { "Show trace" }}
                <span class="visually-hidden">" " {trace_id.clone()}</span>
            </button>
            <span class="trace-id" aria-hidden="true">"trace " <code>{trace_id}</code></span>
            <Show when=move || open.get()>
                {move || match trace.get() {
                    None => EitherOf3::A(view! { <p class="muted">"Loading trace…"</p> }),
                    Some(Err(message)) => EitherOf3::B(view! { <p class="error-inline" role="alert">{message}</p> }),
                    Some(Ok(trace)) => EitherOf3::C(view! { <TraceTimeline trace/> }),
                }}
            </Show>
        </div>
    }
}

/// The inspector timeline: each step and event at its offset, with its fields.
#[component]
fn TraceTimeline(trace: TraceView) -> impl IntoView {
    let total = trace.duration_us.max(1);
    view! {
        <ol class="timeline" aria-label="Trace timeline">
            {trace.events.into_iter().map(|event| {
                let left = per_mille(event.at_us, total).min(1000);
                let width = event.duration_us.map(|d| per_mille(d, total).clamp(5, 1000 - left)).unwrap_or(0);
                let bar_style = format!("margin-left:{}%;width:{}%", tenths(left), tenths(width));
                let fields = event.fields;
                view! {
                    <li class="timeline-event">
                        <div class="timeline-head">
                            <span class="timeline-offset">{format!("+{}", millis(event.at_us))}</span>
                            <code class="timeline-kind">{event.kind}</code>
                            <span class="timeline-summary">{event.summary}</span>
                        </div>
                        <div class="timeline-track" aria-hidden="true"><div class="timeline-bar" style=bar_style></div></div>
                        {(!fields.is_empty()).then(|| view! {
                            <details class="timeline-fields">
                                <summary>"Details"</summary>
                                <dl>
                                    {fields.into_iter().map(|(k, v)| view! {
                                        <dt>{k}</dt>
                                        <dd><code>{v}</code></dd>
                                    }).collect_view()}
                                </dl>
                            </details>
                        })}
                    </li>
                }
            }).collect_view()}
        </ol>
        <p class="muted">{format!("{} {} → {} in {}", trace.method, trace.path, trace.status, millis(trace.duration_us))}</p>
    }
}

// Integer formatting on purpose: float formatting code would add kilobytes to
// the browser bundle for a few labels.

/// Microseconds as milliseconds with two decimals, e.g. `1.25 ms`.
pub(crate) fn millis(us: u64) -> String {
    format!("{}.{:02} ms", us / 1000, us % 1000 / 10)
}

/// `part` as thousandths of `total`.
fn per_mille(part: u64, total: u64) -> u64 {
    part.saturating_mul(1000) / total.max(1)
}

/// Thousandths as a percentage with one decimal, e.g. `12.5`.
fn tenths(per_mille: u64) -> String {
    format!("{}.{}", per_mille / 10, per_mille % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_milliseconds() {
        assert_eq!(millis(1_250), "1.25 ms");
        assert_eq!(millis(7), "0.00 ms");
        assert_eq!(millis(42_000), "42.00 ms");
    }

    #[test]
    fn bar_positions_are_percentages_of_the_whole() {
        assert_eq!(tenths(per_mille(1, 8)), "12.5");
        assert_eq!(tenths(per_mille(5, 0)), "500.0");
    }
}
