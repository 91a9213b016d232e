//! The runnable SQL block (```` ```sql ```` in a lesson): Run (or
//! Ctrl+Enter) and Explain plan send the editor's text to the student's SQL
//! sandbox and show the rows, the plan or SQLite's error under it.
//!
//! The server renders the block (the app's `SqlRunner`) with its SQL in the
//! editor; this wakes it. The answers are the SQL lab's
//! (`model::labs::sql::QueryAnswer`, `Plan` and `SqlErrorBody`), read from
//! the browser's own `JSON`.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, KeyboardEvent};

use crate::dom::{self, append, array_field, element, find, string_field, text, text_element};
use crate::http::call_api;
use crate::text::{decimal, integer};

const QUERY: &str = "/labs/sql/query";
const PLAN: &str = "/labs/sql/plan";

/// Wires up one server-rendered SQL block.
pub(crate) fn wake(root: Element) {
    let (Some(editor), Some(input), Some(output)) = (
        find(&root, ".sql-editor"),
        find(&root, ".sql-editor textarea"),
        find(&root, ".sql-output"),
    ) else {
        return;
    };
    crate::sql::wake_editor(editor);
    {
        let (input, output) = (input.clone(), output.clone());
        dom::on(&root, "click", move |event| {
            if let Some(button) = dom::event_closest(&event, "button[data-run]") {
                let path = if button.get_attribute("data-run").as_deref() == Some("plan") {
                    PLAN
                } else {
                    QUERY
                };
                run(path, &input, &output);
            }
        });
    }
    {
        let (target, input) = (input.clone(), input);
        dom::on(&target, "keydown", move |event| {
            let Some(key) = event.dyn_ref::<KeyboardEvent>() else {
                return;
            };
            if key.key() == "Enter" && (key.ctrl_key() || key.meta_key()) {
                event.prevent_default();
                run(QUERY, &input, &output);
            }
        });
    }
    for button in dom::find_all(&root, "button[data-run]") {
        dom::set_disabled(&button, false);
    }
    let _ = root.set_attribute("data-hydrated", "true");
}

/// Sends the editor's SQL to `path` and shows what comes back.
fn run(path: &'static str, input: &Element, output: &Element) {
    output.replace_children_with_node_1(&text_element("p", "muted", "Running\u{2026}"));
    let request = Object::new();
    let _ = Reflect::set(&request, &"sql".into(), &dom::value(input).into());
    let body = js_sys::JSON::stringify(&request)
        .ok()
        .and_then(|text| text.as_string());
    let output = output.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let shown = match call_api("POST", path, body).await {
            Ok((200, text)) => match parse(&text) {
                Some(answer) if path == PLAN => plan_view(&answer),
                Some(answer) => rows_view(&answer),
                None => error_view(&JsValue::NULL, "The answer was not understood."),
            },
            Ok((_, text)) => match js_sys::JSON::parse(&text) {
                Ok(error) => error_view(&error, &text),
                Err(_) => error_view(&JsValue::NULL, &text),
            },
            Err(message) => error_view(&JsValue::NULL, &message),
        };
        output.replace_children_with_node_1(&shown);
    });
}

/// Parses an answer, keeping a REAL's point: JSON's `2.0` would read as
/// the number 2, and the grid would show an INTEGER. Where the browser
/// gives a reviver the number's own text (Chromium, Firefox and Safari
/// from 2025), such a number becomes `{"real": "2.0"}`.
fn parse(text: &str) -> Option<JsValue> {
    let reviver = Closure::<dyn FnMut(JsValue, JsValue, JsValue) -> JsValue>::new(
        |key: JsValue, value: JsValue, context: JsValue| {
            // Only a row's cells, which are array items, keyed "0", "1", ...
            let cell = key
                .as_string()
                .is_some_and(|key| key.bytes().all(|b| b.is_ascii_digit()));
            let whole = value.as_f64().is_some_and(|n| n.fract() == 0.0);
            let source = Reflect::get(&context, &"source".into())
                .ok()
                .and_then(|source| source.as_string());
            match source {
                Some(source) if cell && whole && source.contains(['.', 'e', 'E']) => {
                    let real = Object::new();
                    let _ = Reflect::set(&real, &"real".into(), &source.into());
                    real.into()
                }
                _ => value,
            }
        },
    );
    parse_with_reviver(text, reviver.as_ref().unchecked_ref()).ok()
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// `JSON.parse(text, reviver)`, which this js-sys does not bind.
    #[wasm_bindgen(js_namespace = JSON, js_name = parse, catch)]
    fn parse_with_reviver(text: &str, reviver: &js_sys::Function) -> Result<JsValue, JsValue>;
}

/// The rows of a query, their columns and types, and how long it took.
fn rows_view(answer: &JsValue) -> Element {
    let view = element("div", "sql-answer");
    let notice = string_field(answer, "notice");
    if !notice.is_empty() {
        let callout = text_element("p", "sql-notice callout callout-warning", &notice);
        let _ = callout.set_attribute("role", "alert");
        append(&view, &[&callout]);
    }
    let columns = array_field(answer, "columns");
    let rows = array_field(answer, "rows");
    let summary = text_element("p", "sql-summary", &summary(answer, &columns, &rows));
    let _ = summary.set_attribute("role", "status");
    append(&view, &[&summary]);
    if columns.length() == 0 {
        return view;
    }
    let scroll = element("div", "table-scroll sql-grid");
    for (name, value) in [
        ("tabindex", "0"),
        ("role", "region"),
        ("aria-label", "Query result"),
    ] {
        let _ = scroll.set_attribute(name, value);
    }
    let table = element("table", "data-table");
    let head = element("tr", "");
    for column in columns.iter() {
        let cell = text_element("th", "", &string_field(&column, "name"));
        let _ = cell.set_attribute("scope", "col");
        let declared = string_field(&column, "decl_type");
        if !declared.is_empty() {
            append(&cell, &[&text_element("span", "column-type", &declared)]);
        }
        append(&head, &[&cell]);
    }
    let thead = element("thead", "");
    append(&thead, &[&head]);
    let body = element("tbody", "");
    for row in rows.iter() {
        let line = element("tr", "");
        for value in row.unchecked_into::<Array>().iter() {
            let (shown, class) = cell(&value);
            append(&line, &[&text_element("td", class, &shown)]);
        }
        append(&body, &[&line]);
    }
    append(&table, &[&thead, &body]);
    append(&scroll, &[&table]);
    append(&view, &[&scroll]);
    view
}

/// `3 rows in 0.12 ms`, or for a write `Done: 2 rows changed in ...`.
fn summary(answer: &JsValue, columns: &Array, rows: &Array) -> String {
    let flag = |name: &str| {
        Reflect::get(answer, &name.into())
            .ok()
            .and_then(|value| value.as_bool())
            .unwrap_or(false)
    };
    let counted = |out: &mut String, n: u64, noun: &str| {
        out.push_str(&integer(n));
        out.push(' ');
        out.push_str(noun);
        if n != 1 {
            out.push('s');
        }
    };
    let mut out = String::new();
    if columns.length() == 0 {
        out.push_str("Done");
        if !flag("read_only") {
            out.push_str(": ");
            counted(
                &mut out,
                dom::number_field(answer, "changes").unwrap_or(0),
                "row",
            );
            out.push_str(" changed");
        }
    } else {
        counted(&mut out, rows.length().into(), "row");
        if flag("truncated") {
            out.push_str(" (the first ones; there are more)");
        }
    }
    let elapsed = Reflect::get(answer, &"elapsed_ms".into())
        .ok()
        .and_then(|value| value.as_f64())
        .unwrap_or(0.0);
    out.push_str(" in ");
    out.push_str(&decimal(elapsed, 2));
    out.push_str(" ms");
    out
}

/// A cell's text and class: `NULL`, a number, or text.
fn cell(value: &JsValue) -> (String, &'static str) {
    if value.is_null() || value.is_undefined() {
        ("NULL".into(), "cell-null")
    } else if let Some(number) = value.as_f64() {
        (number_text(number), "cell-number")
    } else if let Some(text) = value.as_string() {
        (text, "cell-text")
    } else {
        (string_field(value, "real"), "cell-number")
    }
}

/// A number as JavaScript writes it (`42`, `2.5`, `1e+21`).
fn number_text(number: f64) -> String {
    js_sys::Number::from(number)
        .to_string_with_radix(10)
        .ok()
        .and_then(|text| text.as_string())
        .unwrap_or_default()
}

/// A query plan as nested lists, with scans and searches marked.
fn plan_view(plan: &JsValue) -> Element {
    let view = element("div", "plan-tree");
    append(
        &view,
        &[
            &text_element("p", "field-label", "Query plan"),
            &plan_level(&array_field(plan, "steps")),
        ],
    );
    view
}

fn plan_level(steps: &Array) -> Element {
    let list = element("ul", "");
    for step in steps.iter() {
        let detail = string_field(&step, "detail");
        let class = crate::sql::plan_step_class(&detail);
        let item = element("li", "");
        append(&item, &[&text_element("code", class, &detail)]);
        let children = array_field(&step, "children");
        if children.length() > 0 {
            append(&item, &[&plan_level(&children)]);
        }
        append(&list, &[&item]);
    }
    list
}

/// SQLite's message, where it happened and what kind of failure it was;
/// `fallback` when the body is not one of the lab's errors.
fn error_view(error: &JsValue, fallback: &str) -> Element {
    let mut message = string_field(error, "message");
    if message.is_empty() {
        message = fallback.to_string();
    }
    let kind = string_field(error, "kind");
    let mut heading = String::from(crate::sql::error_kind_label(&kind));
    let position = Reflect::get(error, &"position".into()).unwrap_or(JsValue::NULL);
    if let (Some(line), Some(column)) = (
        dom::number_field(&position, "line"),
        dom::number_field(&position, "column"),
    ) {
        heading.push_str(" (line ");
        heading.push_str(&integer(line));
        heading.push_str(", column ");
        heading.push_str(&integer(column));
        heading.push(')');
    }
    heading.push_str(": ");
    let paragraph = element("p", "sql-error");
    let _ = paragraph.set_attribute("role", "alert");
    append(
        &paragraph,
        &[&text_element("strong", "", &heading), &text(&message)],
    );
    paragraph
}
