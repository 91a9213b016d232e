//! The trace panel: a button that opens the inspector's record of one
//! request as a timeline. Panels come from the server's markup, from the
//! request widget, and from the labs' islands (the recent-requests list);
//! one listener on the document serves them all.

use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Element, Response};

use crate::dom::{self, append, element, find_all, text_element};
use crate::text::{millis, per_mille, percent_from_per_mille};

/// Marks what a panel shows when open, so closing hides exactly that.
const SHOWN: &str = "data-trace-shown";

/// A closed panel for `trace_id`, the same markup the server renders.
pub(crate) fn panel(trace_id: &str) -> Element {
    let panel = element("div", "trace-panel");
    let _ = panel.set_attribute("data-trace-id", trace_id);
    let toggle = element("button", "button-quiet trace-toggle");
    let _ = toggle.set_attribute("type", "button");
    label_toggle(&toggle, trace_id, false);
    let id = element("span", "trace-id");
    let _ = id.set_attribute("aria-hidden", "true");
    append(
        &id,
        &[&dom::text("trace "), &text_element("code", "", trace_id)],
    );
    append(&panel, &[&toggle, &id]);
    panel
}

/// Opens and closes every trace panel on the page, present and future.
pub(crate) fn listen() {
    dom::on(&dom::document(), "click", |event| {
        if let Some(toggle) = dom::event_closest(&event, ".trace-panel > .trace-toggle") {
            flip(&toggle);
        }
    });
}

/// The id is in the button's name too, so a list of traces (the observe
/// lab's log) reads as distinct buttons.
fn label_toggle(toggle: &Element, trace_id: &str, open: bool) {
    toggle.set_text_content(Some(if open { "Hide trace" } else { "Show trace" }));
    let mut hidden = String::from(" ");
    hidden.push_str(trace_id);
    append(toggle, &[&text_element("span", "visually-hidden", &hidden)]);
    let _ = toggle.set_attribute("aria-expanded", if open { "true" } else { "false" });
}

fn flip(toggle: &Element) {
    let Some(panel) = toggle.parent_element() else {
        return;
    };
    let trace_id = panel.get_attribute("data-trace-id").unwrap_or_default();
    let open = toggle.get_attribute("aria-expanded").as_deref() != Some("true");
    label_toggle(toggle, &trace_id, open);
    let shown = find_all(&panel, &selector_of_shown());
    if !shown.is_empty() {
        for part in shown {
            let _ = part.toggle_attribute_with_force("hidden", !open);
        }
        return;
    }
    if !open {
        return;
    }
    let loading = text_element("p", "muted", "Loading trace\u{2026}");
    let _ = loading.set_attribute(SHOWN, "");
    append(&panel, &[&loading]);
    wasm_bindgen_futures::spawn_local(async move {
        let parts = match load(&trace_id).await {
            Ok(trace) => timeline(&trace),
            Err(message) => vec![dom::alert(&message)],
        };
        // Closed while loading: keep the answer, hidden, for the next open.
        let hidden = loading.has_attribute("hidden");
        loading.remove();
        for part in parts {
            let _ = part.set_attribute(SHOWN, "");
            let _ = part.toggle_attribute_with_force("hidden", hidden);
            append(&panel, &[&part]);
        }
    });
}

fn selector_of_shown() -> String {
    let mut selector = String::from(":scope > [");
    selector.push_str(SHOWN);
    selector.push(']');
    selector
}

/// Fetches the inspector's record of one request, parsed by the browser.
async fn load(trace_id: &str) -> Result<JsValue, String> {
    let window = web_sys::window().ok_or("This page has no window.")?;
    let mut url = String::from("/api/traces/");
    url.push_str(trace_id);
    let response: Response = JsFuture::from(window.fetch_with_str(&url))
        .await
        .map_err(crate::http::describe)?
        .unchecked_into();
    let text = crate::http::body_text(&response).await?;
    if !response.ok() {
        let mut message = String::from("The trace could not be loaded (");
        message.push_str(&crate::text::integer(response.status().into()));
        message.push_str("): ");
        message.push_str(&text);
        return Err(message);
    }
    js_sys::JSON::parse(&text).map_err(|_| "The trace was not understood.".to_string())
}

/// The inspector timeline (each step and event at its offset, with its
/// fields) and a line that sums the request up.
fn timeline(trace: &JsValue) -> Vec<Element> {
    let total = dom::number_field(trace, "duration_us").unwrap_or(0).max(1);
    let list = element("ol", "timeline");
    let _ = list.set_attribute("aria-label", "Trace timeline");
    for event in dom::array_field(trace, "events").iter() {
        append(&list, &[&event_item(&event, total)]);
    }
    let mut summary = dom::string_field(trace, "method");
    summary.push(' ');
    summary.push_str(&dom::string_field(trace, "path"));
    summary.push_str(" \u{2192} ");
    summary.push_str(&crate::text::integer(
        dom::number_field(trace, "status").unwrap_or(0),
    ));
    summary.push_str(" in ");
    summary.push_str(&millis(total));
    vec![list, text_element("p", "muted", &summary)]
}

fn event_item(event: &JsValue, total: u64) -> Element {
    let item = element("li", "timeline-event");
    let at = dom::number_field(event, "at_us").unwrap_or(0);
    let head = element("div", "timeline-head");
    let mut offset = String::from("+");
    offset.push_str(&millis(at));
    append(
        &head,
        &[
            &text_element("span", "timeline-offset", &offset),
            &text_element("code", "timeline-kind", &dom::string_field(event, "kind")),
            &text_element(
                "span",
                "timeline-summary",
                &dom::string_field(event, "summary"),
            ),
        ],
    );
    let left = per_mille(at, total).min(1000);
    let width = dom::number_field(event, "duration_us")
        .map(|d| per_mille(d, total).clamp(5, 1000 - left))
        .unwrap_or(0);
    let track = element("div", "timeline-track");
    let _ = track.set_attribute("aria-hidden", "true");
    let bar = element("div", "timeline-bar");
    let style = bar.unchecked_ref::<web_sys::HtmlElement>().style();
    let _ = style.set_property("margin-left", &percent_from_per_mille(left));
    let _ = style.set_property("width", &percent_from_per_mille(width));
    append(&track, &[&bar]);
    append(&item, &[&head, &track]);

    let fields = dom::array_field(event, "fields");
    if fields.length() > 0 {
        let details = element("details", "timeline-fields");
        let list = element("dl", "");
        for pair in fields.iter() {
            let pair: js_sys::Array = pair.unchecked_into();
            let name = pair.get(0).as_string().unwrap_or_default();
            let value = pair.get(1).as_string().unwrap_or_default();
            let definition = element("dd", "");
            append(&definition, &[&text_element("code", "", &value)]);
            append(&list, &[&text_element("dt", "", &name), &definition]);
        }
        append(&details, &[&text_element("summary", "", "Details"), &list]);
        append(&item, &[&details]);
    }
    item
}
