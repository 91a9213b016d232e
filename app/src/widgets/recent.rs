//! The inspector's list of a student's recent lab requests, wherever they
//! came from: another origin's page, curl, or another tab. Requests sent by
//! a lesson's own widgets show their trace in place; this shows the rest.

use leptos::either::EitherOf4;
use leptos::prelude::*;

use super::request::TracePanel;
use crate::model::TraceSummary;
use enhance::text::millis;

/// How many requests the list shows.
const SHOWN: usize = 15;

/// Your recent lab requests, newest first, each with its trace.
#[island(lazy)]
pub(crate) fn RecentRequests() -> impl IntoView {
    let requests = RwSignal::new(None::<Result<Vec<TraceSummary>, String>>);
    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    let reload = move || {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let answer = super::fetch::call_api("GET", "/api/traces", None).await;
            requests.set(Some(match answer {
                Ok((200, text)) => crate::widgets::json::from_str::<Vec<TraceSummary>>(&text)
                    .map_err(|e| format!("The list was not understood: {e}")),
                Ok((status, text)) => {
                    Err(format!("The list could not be loaded ({status}): {text}"))
                }
                Err(message) => Err(message),
            }));
        });
    };
    Effect::new(move |_| reload());
    // Coming back from the other site's tab shows what it just sent.
    #[cfg(feature = "hydrate")]
    {
        let handle = window_event_listener(leptos::ev::focus, move |_| reload());
        on_cleanup(move || handle.remove());
    }
    view! {
        <section class="recent-requests" aria-label="Your recent lab requests">
            <div class="recent-head">
                <h3>"Your recent lab requests"</h3>
                <button type="button" class="button-quiet" on:click=move |_| reload()>"Refresh"</button>
            </div>
            {move || match requests.get() {
                None => EitherOf4::A(view! { <p class="muted">"Loading your requests…"</p> }),
                Some(Err(message)) => EitherOf4::B(view! { <p class="error-inline" role="alert">{message}</p> }),
                Some(Ok(list)) if list.is_empty() => EitherOf4::C(view! {
                    <p class="muted">"No lab requests yet. Send one, from here or from another page, and press Refresh."</p>
                }),
                Some(Ok(list)) => EitherOf4::D(view! {
                    <ol class="recent-list">
                        {list.into_iter().take(SHOWN).map(|request| view! {
                            <li>
                                <p class="recent-line">
                                    <code>{request.method}" "{request.path}</code>
                                    <span class="recent-status">{format!("→ {} in {}", request.status, millis(request.duration_us))}</span>
                                </p>
                                <TracePanel trace_id=request.trace_id/>
                            </li>
                        }).collect_view()}
                    </ol>
                }),
            }}
        </section>
    }
}
