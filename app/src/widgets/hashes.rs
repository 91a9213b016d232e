//! The auth lab's hash inspector: register a demo user and see the stored
//! argon2id hash taken apart, next to the users already registered, so two
//! users with the same password visibly get different salts and hashes.

use leptos::prelude::*;

use crate::model::labs::auth::{DemoUser, Registration};

/// Register-and-inspect for demo users.
#[island(lazy)]
pub(crate) fn HashInspector() -> impl IntoView {
    let users = RwSignal::new(Vec::<DemoUser>::new());
    let username = RwSignal::new(String::from("ada"));
    let password = RwSignal::new(String::from("hunter2"));
    let status = RwSignal::new(String::new());
    let hydrated = RwSignal::new(false);

    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    let reload = move || {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            if let Ok((200, text)) = super::fetch::call_api("GET", "/labs/auth/users", None).await {
                users.set(crate::widgets::json::from_str(&text).unwrap_or_default());
            }
        });
    };
    Effect::new(move |_| {
        hydrated.set(true);
        reload();
    });

    let register = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let registration = Registration {
            username: username.get_untracked(),
            password: password.get_untracked(),
            role: "seller".into(),
        };
        let body = crate::widgets::json::to_string(&registration);
        status.set("Hashing…".into());
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let result = super::fetch::call_api("POST", "/labs/auth/users", body).await;
            status.set(match result {
                Ok((201, text)) => {
                    let user: DemoUser = crate::widgets::json::from_str(&text).unwrap_or_default();
                    format!(
                        "Stored {} in {} ms.",
                        user.username,
                        user.hash_ms.unwrap_or_default()
                    )
                }
                Ok((_, text)) => crate::widgets::json::error_message(text),
                Err(message) => message,
            });
            reload();
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = body;
    };

    view! {
        <section class="widget hash-inspector" aria-label="Hash inspector" data-hydrated=move || hydrated.get().to_string()>
            <form class="hash-form" on:submit=register>
                <label class="field">
                    <span class="field-label">"Username"</span>
                    <input type="text" autocomplete="off" value=username.get_untracked() bind:value=username/>
                </label>
                <label class="field">
                    <span class="field-label">"Password (a demo: weak ones welcome)"</span>
                    <input type="text" autocomplete="off" value=password.get_untracked() bind:value=password/>
                </label>
                <button type="submit" class="button-primary" disabled=move || !hydrated.get()>"Register and hash"</button>
            </form>
            <p class="note-inline" role="status">{move || status.get()}</p>
            <div class="table-scroll">
                <table class="data-table">
                    <caption>"Your demo users and their stored hashes"</caption>
                    <thead><tr>
                        <th scope="col">"User"</th><th scope="col">"Algorithm"</th><th scope="col">"m (KiB), t, p"</th>
                        <th scope="col">"Salt"</th><th scope="col">"Hash"</th>
                    </tr></thead>
                    <tbody>
                        {move || users.get().into_iter().map(|user| {
                            let parts = user.stored.unwrap_or_default();
                            let cost = format!("{}, {}, {}", parts.m_kib.unwrap_or_default(), parts.t.unwrap_or_default(), parts.p.unwrap_or_default());
                            let algorithm = format!("{} v{}", parts.algorithm, parts.version.unwrap_or_default());
                            view! {
                                <tr>
                                    <th scope="row">{user.username} <span class="muted">" " {user.role}</span></th>
                                    <td>{algorithm}</td>
                                    <td>{cost}</td>
                                    <td><code class="hash-value">{parts.salt}</code></td>
                                    <td><code class="hash-value">{parts.hash}</code></td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}
