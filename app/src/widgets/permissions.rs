//! The auth lab's permission matrix: roles × actions as checkboxes. It
//! reads the student's lab settings and saves the whole settings document on
//! every change, so the demo shop enforces the new matrix on the next request.

use leptos::prelude::*;

use crate::model::labs::auth::{AuthSettings, ACTIONS, ROLES};

/// The editable matrix.
#[island(lazy)]
pub(crate) fn PermissionMatrix() -> impl IntoView {
    let settings = RwSignal::new(None::<AuthSettings>);
    let status = RwSignal::new(String::from("Loading your policy…"));
    let hydrated = RwSignal::new(false);

    Effect::new(move |_| {
        hydrated.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match super::fetch::call_api("GET", "/labs/auth/settings", None).await {
                Ok((200, text)) => {
                    match crate::widgets::json::from_str::<
                        crate::model::labs::SettingsDocument<AuthSettings>,
                    >(&text)
                    {
                        Ok(document) => {
                            settings.set(Some(document.settings));
                            status.set(
                                "Tick or untick a box: the shop applies it to the next request."
                                    .into(),
                            );
                        }
                        Err(e) => status.set(format!("The policy was not understood: {e}")),
                    }
                }
                Ok((code, _)) => status.set(format!("Could not load the policy ({code}).")),
                Err(message) => status.set(message),
            }
        });
    });

    let allowed = move |role: &'static str, action: &'static str| {
        settings.with(|s| {
            s.as_ref()
                .and_then(|s| s.policy.get(role))
                .is_some_and(|actions| actions.iter().any(|a| a == action))
        })
    };
    let toggle = move |role: &'static str, action: &'static str, on: bool| {
        settings.update(|s| {
            if let Some(s) = s.as_mut() {
                let actions = s.policy.entry(role.to_string()).or_default();
                actions.retain(|a| a != action);
                if on {
                    actions.push(action.to_string());
                }
            }
        });
        let body = settings
            .get_untracked()
            .and_then(|s| crate::widgets::json::to_string(&s));
        status.set("Saving…".into());
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let result = super::fetch::call_api("PUT", "/labs/auth/settings", body).await;
            status.set(match result {
                Ok((200, _)) => format!(
                    "Saved: {role} {} {action}.",
                    if on { "may now" } else { "may no longer" }
                ),
                Ok((code, text)) => format!("Not saved ({code}): {text}"),
                Err(message) => message,
            });
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = body;
    };

    view! {
        <section class="widget permission-matrix" aria-label="Permission matrix" data-hydrated=move || hydrated.get().to_string()>
            <div class="table-scroll">
                <table class="data-table">
                    <caption>"Who may do what in the demo shop"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Role"</th>
                            {ACTIONS.iter().map(|a| view! { <th scope="col"><code>{*a}</code></th> }).collect_view()}
                        </tr>
                    </thead>
                    <tbody>
                        {ROLES.iter().map(|role| {
                            let role = *role;
                            view! {
                                <tr>
                                    <th scope="row">{role}</th>
                                    {ACTIONS.iter().map(|action| {
                                        let action = *action;
                                        view! {
                                            <td>
                                                <input type="checkbox"
                                                    aria-label=format!("{role} may {action}")
                                                    disabled=move || settings.with(Option::is_none)
                                                    prop:checked=move || allowed(role, action)
                                                    on:change=move |ev| toggle(role, action, event_target_checked(&ev))/>
                                            </td>
                                        }
                                    }).collect_view()}
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <p class="note-inline" role="status">{move || status.get()}</p>
        </section>
    }
}
