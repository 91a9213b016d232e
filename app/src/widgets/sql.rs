//! The SQL widgets: an editor with highlighting, the runnable query block,
//! and the result grid, error and plan views they share.
//!
//! The editor is a plain `<textarea>` laid exactly over a highlighted
//! `<pre>`; the highlighting is `enhance::sql`'s, which the exercise card's
//! query field shares.

use enhance::sql::{highlight_html, line_count};
use leptos::prelude::*;

use crate::model::labs::sql::{ErrorKind, Plan, PlanNode, QueryAnswer, SqlErrorBody, SqlValue};

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

/// What the runner shows under the editor.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub(crate) enum Output {
    Nothing,
    Running,
    Rows(QueryAnswer),
    Plan(Plan),
    Failed(SqlErrorBody),
}

/// Reads a lab answer: the body as `T` on success, else the error.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    answer: Result<(u16, String), String>,
) -> Result<T, SqlErrorBody> {
    match answer {
        Ok((200, text)) => serde_json::from_str(&text).map_err(|e| SqlErrorBody {
            message: format!("The answer was not understood: {e}"),
            ..SqlErrorBody::default()
        }),
        Ok((_, text)) => Err(serde_json::from_str(&text).unwrap_or(SqlErrorBody {
            message: text,
            ..SqlErrorBody::default()
        })),
        Err(message) => Err(SqlErrorBody {
            message,
            ..SqlErrorBody::default()
        }),
    }
}

/// A runnable ```` ```sql ```` block: edit, Run (Ctrl+Enter), Explain.
#[island(lazy)]
pub(crate) fn SqlRunner(sql: String) -> impl IntoView {
    let text = RwSignal::new(sql);
    let output = RwSignal::new(Output::Nothing);
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    let call = move |path: &'static str| {
        output.set(Output::Running);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let request = crate::model::labs::sql::RunRequest {
                sql: text.get_untracked(),
            };
            let body = serde_json::to_string(&request).ok();
            let answer = super::fetch::call_api("POST", path, body).await;
            output.set(if path.ends_with("plan") {
                parse::<Plan>(answer).map_or_else(Output::Failed, Output::Plan)
            } else {
                parse::<QueryAnswer>(answer).map_or_else(Output::Failed, Output::Rows)
            });
        });
    };
    view! {
        <section class="widget sql-runner" aria-label="SQL query" data-hydrated=move || hydrated.get().to_string()>
            <SqlEditor text label="SQL query (Ctrl+Enter runs it)".to_string() on_run=move |()| call("/labs/sql/query")/>
            <div class="widget-actions">
                <button type="button" class="button-primary" disabled=move || !hydrated.get() on:click=move |_| call("/labs/sql/query")>
                    "Run" <span class="key-hint">" Ctrl+Enter"</span>
                </button>
                <button type="button" class="button-secondary" disabled=move || !hydrated.get() on:click=move |_| call("/labs/sql/plan")>
                    "Explain plan"
                </button>
            </div>
            <div class="sql-output" aria-live="polite">{move || view! { <OutputView output=output.get()/> }}</div>
        </section>
    }
}

/// Rows, a plan, an error, or nothing yet.
#[component]
pub(crate) fn OutputView(output: Output) -> impl IntoView {
    match output {
        Output::Nothing => ().into_any(),
        Output::Running => view! { <p class="muted">"Running…"</p> }.into_any(),
        Output::Rows(result) => view! { <ResultGrid result/> }.into_any(),
        Output::Plan(plan) => view! { <PlanTree plan/> }.into_any(),
        Output::Failed(error) => view! { <ErrorView error/> }.into_any(),
    }
}

/// SQLite's message, where it happened, and what kind of failure it was.
#[component]
pub(crate) fn ErrorView(error: SqlErrorBody) -> impl IntoView {
    let place = error
        .position
        .map(|p| format!(" (line {}, column {})", p.line, p.column))
        .unwrap_or_default();
    let kind = match error.kind {
        Some(ErrorKind::Timeout) => "Stopped",
        Some(ErrorKind::Refused) => "Refused",
        Some(ErrorKind::Full) => "Sandbox full",
        _ => "Error",
    };
    view! {
        <p class="sql-error" role="alert"><strong>{kind}{place}": "</strong>{error.message}</p>
    }
}

fn cell(value: &SqlValue) -> (String, &'static str) {
    match value {
        SqlValue::Null => ("NULL".into(), "cell-null"),
        // As JSON writes numbers: a REAL keeps its point (`2.0`).
        SqlValue::Integer(_) | SqlValue::Real(_) => (
            serde_json::to_string(value).unwrap_or_default(),
            "cell-number",
        ),
        SqlValue::Text(s) => (s.clone(), "cell-text"),
    }
}

/// The result grid: column names and types, rows, count and time.
#[component]
pub(crate) fn ResultGrid(result: QueryAnswer) -> impl IntoView {
    let QueryAnswer {
        output: result,
        notice,
        ..
    } = result;
    let summary = if result.columns.is_empty() {
        let changed = if result.read_only {
            "Done".to_string()
        } else {
            format!(
                "Done: {} row{} changed",
                result.changes,
                if result.changes == 1 { "" } else { "s" }
            )
        };
        format!("{changed} in {:.2} ms", result.elapsed_ms)
    } else {
        let more = if result.truncated {
            " (the first ones; there are more)"
        } else {
            ""
        };
        format!(
            "{} row{}{more} in {:.2} ms",
            result.rows.len(),
            if result.rows.len() == 1 { "" } else { "s" },
            result.elapsed_ms
        )
    };
    let has_columns = !result.columns.is_empty();
    view! {
        {notice.map(|notice| view! { <p class="sql-notice callout callout-warning" role="alert">{notice}</p> })}
        <p class="sql-summary" role="status">{summary}</p>
        {has_columns.then(|| view! {
            <div class="table-scroll sql-grid" tabindex="0" role="region" aria-label="Query result">
                <table class="data-table">
                    <thead><tr>
                        {result.columns.iter().map(|c| view! {
                            <th scope="col">{c.name.clone()}
                                {c.decl_type.clone().map(|t| view! { <span class="column-type">{t}</span> })}
                            </th>
                        }).collect_view()}
                    </tr></thead>
                    <tbody>
                        {result.rows.iter().map(|row| view! {
                            <tr>{row.iter().map(|v| {
                                let (text, class) = cell(v);
                                view! { <td class=class>{text}</td> }
                            }).collect_view()}</tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        })}
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
                let class = if node.detail.starts_with("SCAN") && !node.detail.contains("COVERING INDEX") {
                    "plan-step plan-scan"
                } else if node.detail.contains("USING INDEX") || node.detail.contains("COVERING INDEX") {
                    "plan-step plan-search"
                } else {
                    "plan-step"
                };
                let children = (!node.children.is_empty()).then(|| view! { <PlanLevel nodes=node.children/> });
                view! { <li><code class=class>{node.detail}</code>{children}</li> }
            }).collect_view()}
        </ul>
    }
    .into_any()
}
