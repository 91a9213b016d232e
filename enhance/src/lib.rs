//! The lesson page's own widgets in the browser, without a framework.
//!
//! The server renders every request widget, exercise card, runnable SQL
//! block and trace panel as plain HTML ([`text`] makes the words both sides show). In the
//! browser, this crate finds that markup and wires it up: it reads the
//! form fields when asked to send, and writes the answer into the page.
//! A page whose only widgets are these loads this small module and no
//! Leptos runtime at all; the labs' own consoles stay Leptos islands.
//!
//! Features: `browser` builds the fetch helpers (wasm32), which the app's
//! islands use too; `entry` adds the widgets and the page's start
//! function. A page without islands loads this crate's own small bundle
//! (`scripts/build-enhance.sh`); the app's bundle enables `entry` as well,
//! so a page with islands gets the same start function from Leptos's
//! module instead of a second one.

pub mod sql;
pub mod text;

#[cfg(feature = "entry")]
mod dom;
#[cfg(feature = "entry")]
mod exercise;
#[cfg(feature = "browser")]
pub mod http;
#[cfg(feature = "entry")]
mod request;
#[cfg(feature = "entry")]
mod sql_runner;
#[cfg(feature = "entry")]
mod trace;

/// Wakes every widget on the page. Runs once, when the module loads.
#[cfg(feature = "entry")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    let page = dom::document();
    for widget in dom::find_all(&page, ".request-widget[data-hydrated=\"false\"]") {
        request::wake(widget);
    }
    for card in dom::find_all(&page, ".exercise-card[data-hydrated=\"false\"]") {
        exercise::wake(card);
    }
    for block in dom::find_all(&page, ".sql-runner[data-hydrated=\"false\"]") {
        sql_runner::wake(block);
    }
    trace::listen();
}
