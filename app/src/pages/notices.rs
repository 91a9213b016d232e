//! What every page may need to say: a message left by the last form, and
//! why the page cannot show what was asked (with the status it answers);
//! and how a page asks the server about its reader.

use leptos::prelude::*;
use leptos_meta::Title;

use std::sync::Arc;

use crate::catalog::{PageFacts, PageResult, ReaderPages, ReaderPagesContext};
use crate::model::{Flash, PageRefusal, Reader};

/// Sets the status of the page being rendered (401, 403, 404).
pub(crate) fn set_status(status: u16) {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(status) = http::StatusCode::from_u16(status) {
            response.set_status(status);
        }
    }
    #[cfg(not(feature = "ssr"))]
    let _ = status;
}

/// Answers the page being rendered with `303 See Other` to `path`.
pub(crate) fn redirect_to(path: &str) {
    #[cfg(feature = "ssr")]
    if let (Some(response), Ok(location)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::HeaderValue::from_str(path),
    ) {
        response.set_status(http::StatusCode::SEE_OTHER);
        response.insert_header(http::header::LOCATION, location);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = path;
}

/// The message left by the last form, if any.
#[component]
pub(crate) fn FlashMessages() -> impl IntoView {
    let flash = use_context::<Flash>().unwrap_or_default();
    view! {
        {flash.error.map(|error| view! { <p class="form-error" role="alert">{error}</p> })}
        {flash.notice.map(|notice| view! { <p class="form-notice" role="status">{notice}</p> })}
    }
}

/// A page the reader may not see: its status and the reason, with a way on.
#[component]
pub(crate) fn Refused(
    title: &'static str,
    next: &'static str,
    refusal: PageRefusal,
) -> impl IntoView {
    set_status(refusal.status);
    let signed_in = use_context::<Reader>().is_some();
    let sign_in = format!("/signin?next={next}");
    view! {
        <Title text=title/>
        <section class="classes-page">
            <h1>{title}</h1>
            <p role="alert">{refusal.message}</p>
            {(!signed_in).then(|| view! { <p><a href=sign_in>"Sign in"</a></p> })}
        </section>
    }
}

/// The server's answers about this request's reader; `None` where no
/// server provides them (nothing is known about the reader then).
pub(crate) fn reader_pages() -> Option<Arc<dyn ReaderPages>> {
    use_context::<ReaderPagesContext>().map(|context| context.0)
}

/// Where the page tells the server's page cache about itself (taken
/// while the page is set up, to use once its data has come).
pub(crate) fn page_facts() -> PageFacts {
    use_context::<PageFacts>().unwrap_or_default()
}

/// What a page shows when no server answers for its reader.
pub(crate) fn no_server<T>() -> PageResult<T> {
    Err(PageRefusal {
        status: 503,
        message: "This page needs the server, which did not answer.".into(),
    })
}
