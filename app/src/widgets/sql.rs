//! The SQL widgets: an editor with highlighting, the runnable query block
//! (server HTML the enhancer wakes, which also shows its rows), and the
//! error and plan views the SQL lab's islands share.
//!
//! The editor is a plain `<textarea>` laid exactly over a highlighted
//! `<pre>`; the highlighting is `enhance::sql`'s, which the exercise card's
//! query field shares.

use enhance::sql::{error_kind_label, highlight_html, line_count, plan_step_class};
use leptos::prelude::*;

use super::settings_draft::choice_name;
use crate::model::labs::sql::{Plan, PlanNode, SqlErrorBody};

/// A SQL text field with highlighting; Ctrl+Enter (or Cmd+Enter) runs.
#[component]
pub(crate) fn SqlEditor(
    text: RwSignal<String>,
    label: String,
    #[prop(into)] on_run: Callback<()>,
) -> impl IntoView {
    let rows = move || text.with(|t| line_count(t));
    let keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
            ev.prevent_default();
            on_run.run(());
        }
    };
    view! {
        <div class="sql-editor">
            <pre class="sql-highlight" aria-hidden="true"><code inner_html=move || text.with(|t| highlight_html(t))></code></pre>
            <textarea
                class="sql-input"
                aria-label=label
                spellcheck="false"
                autocapitalize="off"
                autocomplete="off"
                rows=rows
                prop:value=move || text.get()
                on:input=move |ev| text.set(event_target_value(&ev))
                on:keydown=keydown
            >{text.get_untracked()}</textarea>
        </div>
    }
}

/// Reads a lab answer: the body as `T` on success, else the error.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    answer: Result<(u16, String), String>,
) -> Result<T, SqlErrorBody> {
    match answer {
        Ok((200, text)) => crate::widgets::json::from_str(&text).map_err(|e| SqlErrorBody {
            message: format!("The answer was not understood: {e}"),
            ..SqlErrorBody::default()
        }),
        Ok((_, text)) => Err(
            crate::widgets::json::from_str(&text).unwrap_or(SqlErrorBody {
                message: text,
                ..SqlErrorBody::default()
            }),
        ),
        Err(message) => Err(SqlErrorBody {
            message,
            ..SqlErrorBody::default()
        }),
    }
}

/// A runnable ```` ```sql ```` block: edit, Run (Ctrl+Enter), Explain plan.
///
/// Plain server HTML, like the request widget: the enhancer
/// (`enhance::sql_runner`) wakes it, so a lesson whose only widgets are
/// these loads no Leptos at all. Its buttons work once it has.
#[component]
pub(crate) fn SqlRunner(sql: String) -> impl IntoView {
    view! {
        <section class="widget sql-runner" aria-label="SQL query" data-hydrated="false">
            <SqlEditor text=RwSignal::new(sql) label="SQL query (Ctrl+Enter runs it)".to_string() on_run=|()| {}/>
            <div class="widget-actions">
                <button type="button" class="button-primary" data-run="query" disabled>
                    "Run" <span class="key-hint">" Ctrl+Enter"</span>
                </button>
                <button type="button" class="button-secondary" data-run="plan" disabled>
                    "Explain plan"
                </button>
            </div>
            <div class="sql-output" aria-live="polite"></div>
        </section>
    }
}

/// SQLite's message, where it happened, and what kind of failure it was.
#[component]
pub(crate) fn ErrorView(error: SqlErrorBody) -> impl IntoView {
    let place = error
        .position
        .map(|p| format!(" (line {}, column {})", p.line, p.column))
        .unwrap_or_default();
    let kind = error_kind_label(&error.kind.map(|k| choice_name(&k)).unwrap_or_default());
    view! {
        <p class="sql-error" role="alert"><strong>{kind}{place}": "</strong>{error.message}</p>
    }
}

/// A query plan as nested lists, with scans and searches marked.
#[component]
pub(crate) fn PlanTree(plan: Plan) -> impl IntoView {
    view! {
        <div class="plan-tree">
            <p class="field-label">"Query plan"</p>
            <PlanLevel nodes=plan.steps/>
        </div>
    }
}

#[component]
fn PlanLevel(nodes: Vec<PlanNode>) -> AnyView {
    view! {
        <ul>
            {nodes.into_iter().map(|node| {
                let class = plan_step_class(&node.detail);
                let children = (!node.children.is_empty()).then(|| view! { <PlanLevel nodes=node.children/> });
                view! { <li><code class=class>{node.detail}</code>{children}</li> }
            }).collect_view()}
        </ul>
    }
    .into_any()
}
