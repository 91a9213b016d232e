//! The exercise card: sends the answer its form holds, shows the checks
//! that passed and failed, opens hints one at a time, and starts again.
//! Grading happens on the server; the card never holds an answer key.
//!
//! The server renders the card (the app's `ExerciseCard`), the reader's
//! status line included; the card's `data-` attributes say which
//! exercise it is and how its answer is shaped.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::Element;

use crate::dom::{self, append, element, find, find_all, text, text_element};
use crate::http::call_api;
use crate::text::{exercise_status, integer};

/// What the card needs to know about its exercise.
#[derive(Clone)]
struct Card {
    root: Element,
    /// `/api/exercises/<id>`.
    base: String,
    points: u32,
    hint_count: u32,
}

/// Wires up one server-rendered exercise card.
pub(crate) fn wake(root: Element) {
    let attribute = |name: &str| root.get_attribute(name).unwrap_or_default();
    let mut base = String::from("/api/exercises/");
    base.push_str(&attribute("data-exercise"));
    let card = Card {
        base,
        points: attribute("data-points").parse().unwrap_or(0),
        hint_count: attribute("data-hint-count").parse().unwrap_or(0),
        root: root.clone(),
    };
    let Some(form) = find(&root, "form.exercise-form") else {
        return;
    };
    {
        let card = card.clone();
        dom::on(&form, "submit", move |event| {
            event.prevent_default();
            check(&card);
        });
    }
    {
        let card = card.clone();
        dom::on(&form, "click", move |event| {
            let Some(button) = dom::event_closest(&event, "button[data-action]") else {
                return;
            };
            match button.get_attribute("data-action").as_deref() {
                Some("hint") => open_hint(&card),
                Some("start-again") => start_again(&card),
                Some("move-up") => move_item(&button, true),
                Some("move-down") => move_item(&button, false),
                _ => {}
            }
        });
    }
    for editor in find_all(&root, ".sql-editor") {
        crate::sql::wake_editor(editor);
    }
    if let Some(check) = find(&root, "button[type=\"submit\"]") {
        dom::set_disabled(&check, false);
    }
    show_standing(&card, &JsValue::NULL, false);
    let _ = root.set_attribute("data-hydrated", "true");
    let card = card.clone();
    wasm_bindgen_futures::spawn_local(async move {
        if let Ok((200, body)) = call_api("GET", &path(&card, "/standing"), None).await {
            if let Ok(standing) = js_sys::JSON::parse(&body) {
                show_standing(&card, &standing, true);
            }
        }
    });
}

fn path(card: &Card, tail: &str) -> String {
    let mut path = card.base.clone();
    path.push_str(tail);
    path
}

/// Grades the form's answer and shows the outcome.
fn check(card: &Card) {
    let Some(button) = find(&card.root, "button[type=\"submit\"]") else {
        return;
    };
    // A disabled Check button means an attempt is on its way.
    if button.has_attribute("disabled") {
        return;
    }
    dom::set_disabled(&button, true);
    button.set_text_content(Some("Checking\u{2026}"));
    let request = Object::new();
    let _ = Reflect::set(&request, &"answer".into(), &answer(card));
    let body = js_sys::JSON::stringify(&request)
        .ok()
        .and_then(|text| text.as_string());
    let card = card.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let shown = match call_api("POST", &path(&card, "/attempts"), body).await {
            Ok((200, text)) => match js_sys::JSON::parse(&text) {
                Ok(graded) => {
                    show_standing(&card, &get(&graded, "standing"), true);
                    outcome_view(&get(&graded, "outcome"))
                }
                Err(_) => dom::alert("The answer was not understood."),
            },
            Ok((_, text)) => dom::alert(&error_message(&text)),
            Err(message) => dom::alert(&message),
        };
        if let Some(feedback) = find(&card.root, ".exercise-feedback") {
            feedback.replace_children_with_node_1(&shown);
        }
        dom::set_disabled(&button, false);
        button.set_text_content(Some("Check"));
    });
}

/// The answer in the shape the exercise's kind reads (see the model's
/// `ExerciseAnswer`).
fn answer(card: &Card) -> JsValue {
    let root = &card.root;
    let text_of = |selector: &str| {
        find(root, selector)
            .map(|field| dom::value(&field))
            .unwrap_or_default()
    };
    match root.get_attribute("data-answer").as_deref() {
        Some("single_choice") => find(root, "input[type=\"radio\"]:checked")
            .map(|choice| dom::value(&choice))
            .unwrap_or_default()
            .into(),
        Some("multiple_choice") => find_all(root, "input[type=\"checkbox\"]:checked")
            .iter()
            .map(|choice| JsValue::from(dom::value(choice)))
            .collect::<Array>()
            .into(),
        Some("order") => find_all(root, ".order-item")
            .iter()
            .map(|item| JsValue::from(item.get_attribute("data-item").unwrap_or_default()))
            .collect::<Array>()
            .into(),
        Some("sql") => object("sql", &text_of("textarea")),
        Some("probe") => object("base_url", &text_of("input.answer-text")),
        Some("lab_requests") => Object::new().into(),
        _ => text_of("input.answer-text").into(),
    }
}

fn object(key: &str, value: &str) -> JsValue {
    let object = Object::new();
    let _ = Reflect::set(&object, &key.into(), &value.into());
    object.into()
}

fn get(object: &JsValue, name: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(name)).unwrap_or(JsValue::NULL)
}

/// The status line, the open hints and the buttons that depend on them.
/// `standing` is the server's `ExerciseStanding`; before it arrives
/// (`loaded` false) the status line keeps what the server rendered.
fn show_standing(card: &Card, standing: &JsValue, loaded: bool) {
    let attempts = dom::number_field(standing, "attempts").unwrap_or(0) as u32;
    let hints = dom::array_field(standing, "hints");
    if loaded {
        let best = dom::number_field(standing, "best_score").map(|n| n as u32);
        let passed = get(standing, "passed").as_bool().unwrap_or(false);
        if let Some(status) = find(&card.root, ".exercise-status") {
            status.set_text_content(Some(&exercise_status(attempts, best, passed, card.points)));
        }
        if let Some(list) = find(&card.root, ".hint-list") {
            list.set_inner_html("");
            for (at, hint) in hints.iter().enumerate() {
                let item = element("li", "hint");
                let mut title = String::from("Hint ");
                title.push_str(&integer(at as u64 + 1));
                // Hints are the server's own HTML, rendered from the exercise's markdown.
                let body = element("div", "prose");
                body.set_inner_html(&hint.as_string().unwrap_or_default());
                append(&item, &[&text_element("p", "hint-title", &title), &body]);
                append(&list, &[&item]);
            }
        }
    }
    if let Some(hint) = find(&card.root, "button[data-action=\"hint\"]") {
        let open = hints.length();
        let mut label = String::from("Show a hint (");
        label.push_str(&integer(open.into()));
        label.push_str(" of ");
        label.push_str(&integer(card.hint_count.into()));
        label.push_str(" open)");
        hint.set_text_content(Some(&label));
        dom::set_disabled(&hint, open >= card.hint_count);
    }
    if let Some(again) = find(&card.root, "button[data-action=\"start-again\"]") {
        dom::set_disabled(&again, attempts == 0);
    }
}

fn open_hint(card: &Card) {
    let card = card.clone();
    wasm_bindgen_futures::spawn_local(async move {
        if let Ok((200, body)) = call_api("POST", &path(&card, "/hints"), None).await {
            if let Ok(standing) = js_sys::JSON::parse(&body) {
                show_standing(&card, &standing, true);
            }
        }
    });
}

fn start_again(card: &Card) {
    if let Some(feedback) = find(&card.root, ".exercise-feedback") {
        feedback.set_inner_html("");
    }
    let card = card.clone();
    wasm_bindgen_futures::spawn_local(async move {
        if let Ok((200, _)) = call_api("DELETE", &path(&card, "/attempts"), None).await {
            let fresh = Object::new();
            let _ = Reflect::set(&fresh, &"attempts".into(), &0.into());
            let _ = Reflect::set(&fresh, &"hints".into(), &Array::new());
            show_standing(&card, &fresh, true);
        }
    });
}

/// Moves an item of an order exercise one place; the button keeps focus
/// unless it can no longer move that way.
fn move_item(button: &Element, up: bool) {
    let Some(item) = button.closest(".order-item").ok().flatten() else {
        return;
    };
    let Some(list) = item.parent_element() else {
        return;
    };
    let neighbour = if up {
        item.previous_element_sibling()
    } else {
        item.next_element_sibling()
    };
    let Some(neighbour) = neighbour else {
        return;
    };
    let _ = if up {
        list.insert_before(&item, Some(&neighbour))
    } else {
        list.insert_before(&neighbour, Some(&item))
    };
    let items = find_all(&list, ".order-item");
    let last = items.len().saturating_sub(1);
    for (at, each) in items.iter().enumerate() {
        if let Some(up) = find(each, "button[data-action=\"move-up\"]") {
            dom::set_disabled(&up, at == 0);
        }
        if let Some(down) = find(each, "button[data-action=\"move-down\"]") {
            dom::set_disabled(&down, at == last);
        }
    }
    let keep = if button.has_attribute("disabled") {
        find(
            &item,
            if up {
                "button[data-action=\"move-down\"]"
            } else {
                "button[data-action=\"move-up\"]"
            },
        )
    } else {
        Some(button.clone())
    };
    if let Some(keep) = keep {
        let _ = keep.unchecked_ref::<web_sys::HtmlElement>().focus();
    }
}

/// The `message` of a JSON error body, or a general sentence.
fn error_message(body: &str) -> String {
    js_sys::JSON::parse(body)
        .ok()
        .map(|error| dom::string_field(&error, "message"))
        .filter(|message| !message.is_empty())
        .unwrap_or_else(|| "The server could not grade this answer.".into())
}

/// The score and every check of a graded attempt.
fn outcome_view(outcome: &JsValue) -> Element {
    let checks = dom::array_field(outcome, "checks");
    let passed = checks.length() > 0
        && checks
            .iter()
            .all(|check| get(&check, "passed").as_bool().unwrap_or(false));
    let view = element(
        "div",
        if passed {
            "outcome outcome-passed"
        } else {
            "outcome"
        },
    );
    let mut score = String::from(if passed {
        "All checks passed: "
    } else {
        "Not yet: "
    });
    score.push_str(&integer(dom::number_field(outcome, "score").unwrap_or(0)));
    score.push_str(" of ");
    score.push_str(&integer(dom::number_field(outcome, "max").unwrap_or(0)));
    score.push_str(" points");
    let score = text_element("p", "outcome-score", &score);
    let _ = score.set_attribute("role", "status");
    let list = element("ul", "check-list");
    for check in checks.iter() {
        append(&list, &[&check_row(&check)]);
    }
    append(&view, &[&score, &list]);
    view
}

fn check_row(check: &JsValue) -> Element {
    let passed = get(check, "passed").as_bool().unwrap_or(false);
    let state = if passed { "passed" } else { "failed" };
    let mut class = String::from("check check-");
    class.push_str(state);
    let row = element("li", &class);
    let mark = text_element(
        "span",
        "check-mark",
        if passed { "\u{2713}" } else { "\u{2717}" },
    );
    let _ = mark.set_attribute("aria-hidden", "true");
    let mut spoken = String::from(state);
    spoken.push_str(": ");
    append(
        &row,
        &[
            &mark,
            &text_element("span", "visually-hidden", &spoken),
            &text_element("span", "check-name", &dom::string_field(check, "name")),
        ],
    );
    for (field, lead) in [("expected", "expected "), ("observed", "got ")] {
        let value = dom::string_field(check, field);
        if get(check, field).is_string() {
            let detail = element("span", "check-detail");
            append(&detail, &[&text(lead), &text_element("code", "", &value)]);
            append(&row, &[&detail]);
        }
    }
    if get(check, "hint").is_string() {
        append(
            &row,
            &[&text_element(
                "p",
                "check-hint",
                &dom::string_field(check, "hint"),
            )],
        );
    }
    row
}
