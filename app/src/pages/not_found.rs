//! The page for addresses that match no route or no lesson.

use leptos::prelude::*;
use leptos_meta::Title;

/// A 404 page with a way back.
#[component]
pub(crate) fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found"/>
        <section class="not-found">
            <h1>"Page not found"</h1>
            <p>"There is no page at this address. " <a href="/">"Back to the course"</a></p>
        </section>
    }
}
