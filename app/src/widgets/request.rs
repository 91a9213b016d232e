//! The request widget: an editable HTTP request that the browser really sends,
//! the raw response it got back, and the server's trace of it.

use enhance::text::forbidden_header_list;
use leptos::prelude::*;

use crate::model::RequestTemplate;

/// Methods the widget offers. `fetch` cannot send CONNECT or TRACE.
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// A live request editor bound to one lesson's ```` ```http ```` block:
/// plain HTML, which the enhancer (crate `enhance`, module `request`)
/// wakes up in the browser. Send stays disabled until it has.
#[component]
pub(crate) fn RequestWidget(template: RequestTemplate) -> impl IntoView {
    let RequestTemplate {
        method,
        url,
        headers,
        body,
    } = template;
    let forbidden = forbidden_header_list(headers.iter().map(|(name, _)| name.as_str()));
    let nothing_forbidden = forbidden.is_empty();
    view! {
        <section class="widget request-widget" aria-label="Live request" data-hydrated="false">
            <form class="request-form">
                <div class="request-line">
                    <label class="field field-method">
                        <span class="field-label">"Method"</span>
                        <select name="method">
                            {METHODS.iter().map(|m| view! { <option value=*m selected=method == *m>{*m}</option> }).collect_view()}
                        </select>
                    </label>
                    <label class="field field-url">
                        <span class="field-label">"URL"</span>
                        <input type="text" name="url" spellcheck="false" autocomplete="off" value=url/>
                    </label>
                    <button type="submit" class="button-primary" disabled>"Send"</button>
                </div>
                <fieldset class="headers">
                    <legend>"Headers"</legend>
                    {headers.into_iter().map(|(name, value)| view! { <HeaderRow name value/> }).collect_view()}
                    <template>
                        <HeaderRow name=String::new() value=String::new()/>
                    </template>
                    <button type="button" class="button-quiet" data-action="add-header">"Add header"</button>
                    <p class="note-inline forbidden-note" role="note" hidden=nothing_forbidden>
                        "Browsers do not let a page set " <span class="forbidden-list">{forbidden}</span>
                        "; they send their own. Use curl to set it yourself."
                    </p>
                </fieldset>
                <label class="field field-body">
                    <span class="field-label">"Body"</span>
                    <textarea name="body" rows="3" spellcheck="false">{body}</textarea>
                </label>
            </form>
            <div class="response" aria-live="polite"></div>
        </section>
    }
}

/// One editable header line with its Remove button.
#[component]
fn HeaderRow(name: String, value: String) -> impl IntoView {
    let remove_label = format!("Remove header {name}");
    view! {
        <div class="header-row">
            <label class="field">
                <span class="visually-hidden">"Header name"</span>
                <input type="text" class="header-name" placeholder="Name" spellcheck="false" value=name/>
            </label>
            <label class="field">
                <span class="visually-hidden">"Header value"</span>
                <input type="text" class="header-value" placeholder="Value" spellcheck="false" value=value/>
            </label>
            <button type="button" class="button-quiet" data-action="remove-header" aria-label=remove_label>"Remove"</button>
        </div>
    }
}

/// A closed trace panel for one request: the same markup the enhancer
/// builds under a request widget's answer, and opens on click wherever
/// it is (the labs' islands render these too).
#[component]
pub(crate) fn TracePanel(trace_id: String) -> impl IntoView {
    let spoken_id = format!(" {trace_id}");
    let shown_id = trace_id.clone();
    view! {
        <div class="trace-panel" data-trace-id=trace_id>
            // The id is in the button's name too, so a list of traces
            // (the observe lab's log) reads as distinct buttons.
            <button type="button" class="button-quiet trace-toggle" aria-expanded="false">
                "Show trace" <span class="visually-hidden">{spoken_id}</span>
            </button>
            <span class="trace-id" aria-hidden="true">"trace " <code>{shown_id}</code></span>
        </div>
    }
}
