//! The request widget: sends the request its form describes and shows the
//! raw response and, when the server traced it, a trace panel.
//!
//! The server renders the whole form (see the app's `RequestWidget`); the
//! form's fields are the only state, read when Send is pressed.

use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;
use web_sys::{Element, HtmlTemplateElement};

use crate::dom::{self, append, element, find, find_all, text, text_element};
use crate::http::{self, Exchange, Outgoing};
use crate::text::{forbidden_header_list, millis};

/// Wires up one server-rendered request widget.
pub(crate) fn wake(widget: Element) {
    let (Some(form), Some(response), Some(send_button)) = (
        find(&widget, "form.request-form"),
        find(&widget, ".response"),
        find(&widget, "button[type=\"submit\"]"),
    ) else {
        return;
    };
    dom::set_disabled(&send_button, false);
    {
        let form = form.clone();
        dom::on(&form.clone(), "submit", move |event| {
            event.prevent_default();
            // A disabled Send button means a request is on its way.
            if send_button.has_attribute("disabled") {
                return;
            }
            show_sending(&send_button, true);
            let (method, url, headers, body) = read_request(&form);
            let response = response.clone();
            let send_button = send_button.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let outgoing = Outgoing {
                    method: &method,
                    url: &url,
                    headers: &headers,
                    body: &body,
                };
                let result = http::send(outgoing).await;
                response.set_inner_html("");
                let shown = match result {
                    Ok(exchange) => exchange_view(exchange),
                    Err(message) => dom::alert(&message),
                };
                let _ = response.append_child(&shown);
                show_sending(&send_button, false);
            });
        });
    }
    {
        let form = form.clone();
        dom::on(&form.clone(), "click", move |event| {
            let Some(button) = dom::event_closest(&event, "button[data-action]") else {
                return;
            };
            match button.get_attribute("data-action").as_deref() {
                Some("add-header") => add_header_row(&button),
                Some("remove-header") => remove_header_row(&button),
                _ => return,
            }
            refresh_forbidden_note(&form);
        });
    }
    {
        let form = form.clone();
        dom::on(&form.clone(), "input", move |event| {
            if let Some(name) = dom::event_closest(&event, ".header-name") {
                name_remove_button(&name);
                refresh_forbidden_note(&form);
            }
        });
    }
    let _ = widget.set_attribute("data-hydrated", "true");
}

fn show_sending(button: &Element, sending: bool) {
    dom::set_disabled(button, sending);
    button.set_text_content(Some(if sending { "Sending\u{2026}" } else { "Send" }));
}

/// Method, URL, headers with a name, and body, as the form holds them.
fn read_request(form: &Element) -> (String, String, Vec<(String, String)>, String) {
    let field = |selector: &str| {
        find(form, selector)
            .map(|f| dom::value(&f))
            .unwrap_or_default()
    };
    let headers = find_all(form, ".header-row")
        .iter()
        .filter_map(|row| {
            let name = find(row, ".header-name").map(|f| dom::value(&f))?;
            let value = find(row, ".header-value").map(|f| dom::value(&f))?;
            let name = name.trim();
            (!name.is_empty()).then(|| (name.to_string(), value))
        })
        .collect();
    (
        field("select[name=\"method\"]"),
        field("input[name=\"url\"]"),
        headers,
        field("textarea[name=\"body\"]"),
    )
}

/// A new empty row from the widget's template, before the Add button.
fn add_header_row(add_button: &Element) {
    let Some(fieldset) = add_button.parent_element() else {
        return;
    };
    let Some(template) =
        find(&fieldset, "template").and_then(|t| t.dyn_into::<HtmlTemplateElement>().ok())
    else {
        return;
    };
    let Ok(row) = template.content().clone_node_with_deep(true) else {
        return;
    };
    let _ = fieldset.insert_before(&row, Some(add_button));
    if let Some(name) = find_all(&fieldset, ".header-row .header-name").pop() {
        let _ = name.unchecked_ref::<web_sys::HtmlElement>().focus();
    }
}

/// Removes a header row; focus goes to the Add button, not to the page's top.
fn remove_header_row(remove_button: &Element) {
    let Some(row) = remove_button.closest(".header-row").ok().flatten() else {
        return;
    };
    let fieldset = row.parent_element();
    row.remove();
    if let Some(add) = fieldset.and_then(|f| find(&f, "button[data-action=\"add-header\"]")) {
        let _ = add.unchecked_ref::<web_sys::HtmlElement>().focus();
    }
}

/// The row's Remove button names the header it removes.
fn name_remove_button(name_field: &Element) {
    let Some(row) = name_field.closest(".header-row").ok().flatten() else {
        return;
    };
    if let Some(remove) = find(&row, "button[data-action=\"remove-header\"]") {
        let mut label = String::from("Remove header ");
        label.push_str(&dom::value(name_field));
        let _ = remove.set_attribute("aria-label", &label);
    }
}

/// Says which of the headers a browser will not send, or hides the note.
fn refresh_forbidden_note(form: &Element) {
    let names: Vec<String> = find_all(form, ".header-row .header-name")
        .iter()
        .map(dom::value)
        .collect();
    let list = forbidden_header_list(names.iter().map(String::as_str));
    if let Some(note) = find(form, ".forbidden-note") {
        let _ = note.toggle_attribute_with_force("hidden", list.is_empty());
        if let Some(names) = find(&note, ".forbidden-list") {
            names.set_text_content(Some(&list));
        }
    }
}

/// The status line, any redirect, the headers, the body and the trace panel.
fn exchange_view(exchange: Exchange) -> Element {
    let view = element("div", "exchange");

    let status_line = element("p", "status-line");
    let mut status_class = String::from("status status-");
    status_class.push(char::from(b'0' + (exchange.status / 100 % 10) as u8));
    status_class.push_str("xx");
    let mut status = crate::text::integer(exchange.status.into());
    status.push(' ');
    status.push_str(&exchange.status_text);
    append(
        &status_line,
        &[
            &text_element("span", &status_class, &status),
            &text_element("span", "elapsed", &millis(exchange.elapsed_us)),
        ],
    );
    append(&view, &[&status_line]);

    if let Some(to) = &exchange.redirected_to {
        let note = element("p", "note-inline");
        append(
            &note,
            &[
                &text("The browser followed a redirect to "),
                &text_element("code", "", to),
                &text("; curl -i shows the 3xx itself."),
            ],
        );
        append(&view, &[&note]);
    }

    let headers = element("details", "raw-headers");
    let mut summary = String::from("Response headers (");
    summary.push_str(&crate::text::integer(exchange.headers.len() as u64));
    summary.push(')');
    let mut raw = String::new();
    for (name, value) in &exchange.headers {
        if !raw.is_empty() {
            raw.push('\n');
        }
        raw.push_str(name);
        raw.push_str(": ");
        raw.push_str(value);
    }
    append(
        &headers,
        &[
            &text_element("summary", "", &summary),
            &code_block("", &raw),
        ],
    );
    append(
        &view,
        &[
            &headers,
            &code_block("response-body", &readable_body(exchange.body)),
        ],
    );

    if let Some(id) = &exchange.trace_id {
        append(&view, &[&crate::trace::panel(id)]);
    }
    view
}

fn code_block(class: &str, content: &str) -> Element {
    let pre = element("pre", class);
    append(&pre, &[&text_element("code", "", content)]);
    pre
}

/// JSON bodies are shown indented, by the browser's own `JSON`; anything
/// else exactly as it came.
fn readable_body(body: String) -> String {
    if !matches!(body.trim_start().as_bytes().first(), Some(b'{' | b'[')) {
        return body;
    }
    js_sys::JSON::parse(&body)
        .ok()
        .and_then(|value| {
            js_sys::JSON::stringify_with_replacer_and_space(
                &value,
                &JsValue::NULL,
                &JsValue::from(2),
            )
            .ok()
        })
        .and_then(|text| text.as_string())
        .unwrap_or(body)
}
