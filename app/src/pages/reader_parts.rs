//! What the server puts in a shared page's reader slots
//! ([`crate::reader_slots`]) for one reader: the pages' own components,
//! rendered to HTML.

use leptos::prelude::*;

use crate::model::{DeadlineView, Reader};
use crate::pages::account::{AccountLinks, SiteLinks};
use crate::pages::progress::DueLines;

/// The header's links for `reader`.
pub fn account(reader: &Reader) -> String {
    let reader = Some(reader.clone());
    view! {
        <SiteLinks reader=reader.clone()/>
        <AccountLinks reader/>
    }
    .to_html()
}

/// A module's deadlines, as the pages show them.
pub fn due(due: Vec<DeadlineView>) -> String {
    view! { <DueLines due/> }.to_html()
}

/// Text for a text slot, escaped as Leptos escapes the text it renders.
pub fn text(text: &str) -> String {
    text.to_owned().to_html()
}
