//! Small DOM helpers: make elements, find them, listen to them.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, Event, EventTarget, Node};

/// The page's document.
pub(crate) fn document() -> Document {
    web_sys::window()
        .and_then(|window| window.document())
        .expect("a page has a document")
}

/// A new element with a class (none when `class` is empty).
pub(crate) fn element(tag: &str, class: &str) -> Element {
    let element = document().create_element(tag).expect("a plain tag name");
    if !class.is_empty() {
        element.set_class_name(class);
    }
    element
}

/// A new element holding `text`.
pub(crate) fn text_element(tag: &str, class: &str, text: &str) -> Element {
    let element = element(tag, class);
    element.set_text_content(Some(text));
    element
}

/// A sentence saying what went wrong, announced at once.
pub(crate) fn alert(message: &str) -> Element {
    let paragraph = text_element("p", "error-inline", message);
    let _ = paragraph.set_attribute("role", "alert");
    paragraph
}

/// Appends `children` to `parent`, in order.
pub(crate) fn append(parent: &Element, children: &[&Node]) {
    for child in children {
        let _ = parent.append_child(child);
    }
}

/// A text node.
pub(crate) fn text(text: &str) -> Node {
    document().create_text_node(text).into()
}

/// The first element under `root` matching `selector`.
pub(crate) fn find(root: &Node, selector: &str) -> Option<Element> {
    let found = match root.dyn_ref::<Element>() {
        Some(element) => element.query_selector(selector),
        None => root.unchecked_ref::<Document>().query_selector(selector),
    };
    found.ok().flatten()
}

/// Every element under `root` matching `selector`, in document order.
pub(crate) fn find_all(root: &Node, selector: &str) -> Vec<Element> {
    let found = match root.dyn_ref::<Element>() {
        Some(element) => element.query_selector_all(selector),
        None => root
            .unchecked_ref::<Document>()
            .query_selector_all(selector),
    };
    let Ok(list) = found else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.get(i))
        .filter_map(|node| node.dyn_into::<Element>().ok())
        .collect()
}

/// The element an event happened on, or its nearest ancestor matching `selector`.
pub(crate) fn event_closest(event: &Event, selector: &str) -> Option<Element> {
    event
        .target()?
        .dyn_into::<Element>()
        .ok()?
        .closest(selector)
        .ok()
        .flatten()
}

/// Calls `handler` on every `kind` event at `target`, for the page's life.
pub(crate) fn on(target: &EventTarget, kind: &str, handler: impl FnMut(Event) + 'static) {
    let closure = Closure::<dyn FnMut(Event)>::new(handler);
    let _ = target.add_event_listener_with_callback(kind, closure.as_ref().unchecked_ref());
    closure.forget();
}

/// The `value` of a form field (input, select or textarea).
pub(crate) fn value(field: &Element) -> String {
    js_sys::Reflect::get(field, &JsValue::from_str("value"))
        .ok()
        .and_then(|value| value.as_string())
        .unwrap_or_default()
}

/// Enables or disables a button (or any form control).
pub(crate) fn set_disabled(control: &Element, disabled: bool) {
    let _ = control.toggle_attribute_with_force("disabled", disabled);
}

/// A property of a JSON object parsed by the browser, as text.
pub(crate) fn string_field(object: &JsValue, name: &str) -> String {
    js_sys::Reflect::get(object, &JsValue::from_str(name))
        .ok()
        .and_then(|value| value.as_string())
        .unwrap_or_default()
}

/// A property of a JSON object parsed by the browser, as a whole number
/// (`None` when missing, null or not a number).
pub(crate) fn number_field(object: &JsValue, name: &str) -> Option<u64> {
    js_sys::Reflect::get(object, &JsValue::from_str(name))
        .ok()
        .and_then(|value| value.as_f64())
        .map(|number| number.max(0.0) as u64)
}

/// A property of a JSON object parsed by the browser, as an array.
pub(crate) fn array_field(object: &JsValue, name: &str) -> js_sys::Array {
    js_sys::Reflect::get(object, &JsValue::from_str(name))
        .ok()
        .and_then(|value| value.dyn_into::<js_sys::Array>().ok())
        .unwrap_or_default()
}
