//! What every page may need to say: a message left by the last form, and
//! why the page cannot show what was asked (with the status it answers).

use leptos::prelude::*;
use leptos_meta::Title;

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
pub(crate) fn Refused(title: &'static str, next: &'static str) -> impl IntoView {
    let refusal = use_context::<PageRefusal>().unwrap_or(PageRefusal {
        status: 401,
        message: "Sign in with an instructor account to see this page.".into(),
    });
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
