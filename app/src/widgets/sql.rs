//! The SQL widgets: an editor with highlighting, the runnable query block,
//! and the result grid, error and plan views they share.
//!
//! The editor is a plain `<textarea>` laid exactly over a highlighted
//! `<pre>`: the browser keeps everything a text field does (selection,
//! undo, screen readers, mobile keyboards), and the highlighting is a small
//! tokenizer here, so no editor library ships in the bundle.

use leptos::prelude::*;

use crate::model::labs::sql::{ErrorKind, Plan, PlanNode, QueryAnswer, SqlErrorBody, SqlValue};

/// What a piece of SQL text is, for colouring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token {
    /// A reserved word such as SELECT.
    Keyword,
    /// A function name followed by `(`.
    Function,
    /// A string literal.
    Text,
    /// A numeric literal.
    Number,
    /// A comment.
    Comment,
    /// Anything else: names, punctuation, spaces.
    Plain,
}

const KEYWORDS: [&str; 72] = [
    "ALL",
    "ALTER",
    "AND",
    "AS",
    "ASC",
    "BEGIN",
    "BETWEEN",
    "BY",
    "CASE",
    "CHECK",
    "COMMIT",
    "CREATE",
    "CROSS",
    "DEFAULT",
    "DELETE",
    "DESC",
    "DISTINCT",
    "DROP",
    "ELSE",
    "END",
    "EXCEPT",
    "EXISTS",
    "EXPLAIN",
    "FOREIGN",
    "FROM",
    "FULL",
    "GROUP",
    "HAVING",
    "IF",
    "IMMEDIATE",
    "IN",
    "INDEX",
    "INNER",
    "INSERT",
    "INTERSECT",
    "INTO",
    "IS",
    "JOIN",
    "KEY",
    "LEFT",
    "LIKE",
    "LIMIT",
    "NOT",
    "NULL",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "OUTER",
    "OVER",
    "PARTITION",
    "PLAN",
    "PRIMARY",
    "QUERY",
    "RECURSIVE",
    "REFERENCES",
    "RIGHT",
    "ROLLBACK",
    "SELECT",
    "SET",
    "TABLE",
    "THEN",
    "TRANSACTION",
    "UNION",
    "UNIQUE",
    "UPDATE",
    "USING",
    "VALUES",
    "VIEW",
    "WHEN",
    "WHERE",
    "WITH",
];

/// Splits `sql` into coloured pieces that join back to exactly `sql`.
pub fn tokenize(sql: &str) -> Vec<(Token, &str)> {
    let bytes = sql.as_bytes();
    let mut pieces = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &sql[at..];
        let (token, length) = if rest.starts_with("--") {
            (Token::Comment, rest.find('\n').unwrap_or(rest.len()))
        } else if rest.starts_with("/*") {
            (
                Token::Comment,
                rest.find("*/").map_or(rest.len(), |i| i + 2),
            )
        } else if rest.starts_with('\'') {
            (Token::Text, quoted_length(rest, '\''))
        } else if rest.starts_with('"') || rest.starts_with('`') {
            let quote = rest.chars().next().unwrap_or('"');
            (Token::Plain, quoted_length(rest, quote))
        } else if bytes[at].is_ascii_digit() {
            let length = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
                .unwrap_or(rest.len());
            (Token::Number, length)
        } else if bytes[at].is_ascii_alphabetic() || bytes[at] == b'_' {
            let length = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let word = &rest[..length];
            let token = if KEYWORDS.contains(&word.to_ascii_uppercase().as_str()) {
                Token::Keyword
            } else if rest[length..].starts_with('(') {
                Token::Function
            } else {
                Token::Plain
            };
            (token, length)
        } else {
            (Token::Plain, rest.chars().next().map_or(1, char::len_utf8))
        };
        pieces.push((token, &rest[..length.max(1).min(rest.len())]));
        at += length.max(1).min(rest.len());
    }
    pieces
}

/// Length of a quoted piece, doubled quotes included, up to its closing quote.
fn quoted_length(text: &str, quote: char) -> usize {
    let mut chars = text.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            if chars.peek().map(|(_, n)| *n) == Some(quote) {
                chars.next();
            } else {
                return i + 1;
            }
        }
    }
    text.len()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `sql` as HTML spans with one class per token kind.
pub fn highlight_html(sql: &str) -> String {
    let mut html = String::with_capacity(sql.len() * 2);
    for (token, text) in tokenize(sql) {
        let class = match token {
            Token::Keyword => "sql-k",
            Token::Function => "sql-f",
            Token::Text => "sql-s",
            Token::Number => "sql-n",
            Token::Comment => "sql-c",
            Token::Plain => {
                html.push_str(&escape(text));
                continue;
            }
        };
        html.push_str(&format!("<span class=\"{class}\">{}</span>", escape(text)));
    }
    // A trailing newline needs a character after it to take up a line.
    html.push(' ');
    html
}

/// A SQL text field with highlighting; Ctrl+Enter (or Cmd+Enter) runs.
#[component]
pub(crate) fn SqlEditor(
    text: RwSignal<String>,
    label: String,
    #[prop(into)] on_run: Callback<()>,
) -> impl IntoView {
    let rows = move || text.with(|t| t.lines().count().max(1) + usize::from(t.ends_with('\n')));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_join_back_to_the_text() {
        let sql = "SELECT name, count(*) AS n -- how many\nFROM \"order items\" WHERE note = 'it''s' AND id > 10.5;";
        let pieces = tokenize(sql);
        assert_eq!(pieces.iter().map(|(_, t)| *t).collect::<String>(), sql);
        assert!(pieces.contains(&(Token::Keyword, "SELECT")));
        assert!(pieces.contains(&(Token::Function, "count")));
        assert!(pieces.contains(&(Token::Comment, "-- how many")));
        assert!(pieces.contains(&(Token::Text, "'it''s'")));
        assert!(pieces.contains(&(Token::Number, "10.5")));
        assert!(pieces.contains(&(Token::Plain, "\"order items\"")));
    }

    #[test]
    fn highlighting_escapes_html_and_handles_unclosed_pieces() {
        let html = highlight_html("SELECT '<b>");
        assert!(html.contains("&lt;b&gt;"));
        assert!(!html.contains("<b>"));
        assert_eq!(tokenize("/* open").len(), 1);
        assert_eq!(tokenize("é").len(), 1);
    }
}
