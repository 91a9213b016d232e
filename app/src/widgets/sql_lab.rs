//! The SQL lab's controls: the schema browser with its entity-relationship
//! diagram, the index experiment, and the transactions demo.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;

use super::settings_draft::{choice_name, choice_named};
use super::sql::{ErrorView, PlanTree, SqlEditor};
use crate::model::labs::sql::{
    Experiment, Schema, SqlErrorBody, Step, Table, Timed, Transaction, TransferRun,
    WithdrawalReport, WithdrawalStyle,
};

/// Where the diagram puts the shop's tables (others follow in name order).
const LAYOUT_ORDER: [&str; 8] = [
    "customers",
    "orders",
    "order_items",
    "reviews",
    "products",
    "categories",
    "accounts",
    "sellers",
];
const BOX_WIDTH: f64 = 190.0;
const ROW_HEIGHT: f64 = 18.0;
const GAP_X: f64 = 55.0;
const GAP_Y: f64 = 40.0;
const COLUMNS: usize = 3;

/// A table's box in the diagram.
struct Placed<'a> {
    table: &'a Table,
    x: f64,
    y: f64,
}

fn layout(tables: &[Table]) -> (Vec<Placed<'_>>, f64, f64) {
    let mut ordered: Vec<&Table> = tables.iter().collect();
    ordered.sort_by_key(|t| {
        (
            LAYOUT_ORDER
                .iter()
                .position(|n| *n == t.name)
                .unwrap_or(LAYOUT_ORDER.len()),
            t.name.clone(),
        )
    });
    let mut placed = Vec::new();
    let mut y = 10.0;
    for row in ordered.chunks(COLUMNS) {
        let tallest = row.iter().map(|t| t.columns.len()).max().unwrap_or(0);
        for (i, table) in row.iter().enumerate() {
            placed.push(Placed {
                table,
                x: 10.0 + i as f64 * (BOX_WIDTH + GAP_X),
                y,
            });
        }
        y += (tallest + 1) as f64 * ROW_HEIGHT + GAP_Y;
    }
    let width = 20.0 + COLUMNS as f64 * BOX_WIDTH + (COLUMNS - 1) as f64 * GAP_X;
    (placed, width, y)
}

/// The diagram: a box per table, a curve per foreign key.
#[component]
fn EntityDiagram(schema: Schema) -> impl IntoView {
    let (placed, width, height) = layout(&schema.tables);
    // Coordinates as text with one decimal: an `f64` attribute would bring
    // in `core::fmt`'s float code.
    let n = |v: f64| enhance::text::decimal(v, 1);
    let row_y = |p: &Placed<'_>, column: &str| {
        let at = p
            .table
            .columns
            .iter()
            .position(|c| c.name == column)
            .unwrap_or(0);
        p.y + (at as f64 + 1.5) * ROW_HEIGHT
    };
    let mut links = Vec::new();
    for from in &placed {
        for key in &from.table.foreign_keys {
            let Some(to) = placed.iter().find(|p| p.table.name == key.table) else {
                continue;
            };
            let (y1, y2) = (row_y(from, &key.from), row_y(to, &key.to));
            let (x1, x2, bend) = if to.x > from.x {
                (from.x + BOX_WIDTH, to.x, 40.0)
            } else if to.x < from.x {
                (from.x, to.x + BOX_WIDTH, -40.0)
            } else {
                (from.x + BOX_WIDTH, to.x + BOX_WIDTH, 0.0)
            };
            let (c1, c2) = if bend == 0.0 {
                (x1 + 45.0, x2 + 45.0)
            } else {
                (x1 + bend, x2 - bend)
            };
            let path = format!(
                "M{},{} C{},{} {},{} {},{}",
                n(x1),
                n(y1),
                n(c1),
                n(y1),
                n(c2),
                n(y2),
                n(x2),
                n(y2)
            );
            links.push(view! {
                <path class="er-link" d=path marker-end="url(#er-arrow)">
                    <title>{format!("{}.{} → {}.{}", from.table.name, key.from, key.table, key.to)}</title>
                </path>
            });
        }
    }
    let boxes = placed
        .iter()
        .map(|p| {
            let keys: Vec<&str> = p.table.foreign_keys.iter().map(|k| k.from.as_str()).collect();
            let height = (p.table.columns.len() + 1) as f64 * ROW_HEIGHT;
            let rows = p
                .table
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let mark = if c.primary_key > 0 { "PK " } else if keys.contains(&c.name.as_str()) { "FK " } else { "" };
                    let y = p.y + (i as f64 + 1.75) * ROW_HEIGHT;
                    view! {
                        <text x=n(p.x + 8.0) y=n(y) class="er-column">
                            <tspan class="er-key">{mark}</tspan>{c.name.clone()}
                        </text>
                        <text x=n(p.x + BOX_WIDTH - 8.0) y=n(y) class="er-type" text-anchor="end">{c.decl_type.to_ascii_lowercase()}</text>
                    }
                })
                .collect_view();
            view! {
                <g class="er-table">
                    <rect x=n(p.x) y=n(p.y) width=n(BOX_WIDTH) height=n(height) rx="4" class="er-box"/>
                    <rect x=n(p.x) y=n(p.y) width=n(BOX_WIDTH) height=n(ROW_HEIGHT) rx="4" class="er-head"/>
                    <text x=n(p.x + 8.0) y=n(p.y + ROW_HEIGHT * 0.75) class="er-name">{p.table.name.clone()}</text>
                    {rows}
                </g>
            }
        })
        .collect_view();
    let description = format!(
        "Entity-relationship diagram of {} tables; the table list above describes the same keys.",
        schema.tables.len()
    );
    view! {
        <div class="er-scroll" tabindex="0" role="region" aria-label="Diagram (scrolls sideways)">
            <svg class="er-diagram" viewBox=format!("0 0 {} {}", n(width), n(height)) width=n(width) height=n(height) role="img" aria-label=description>
                <defs>
                    <marker id="er-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                        <path d="M0,0 L10,5 L0,10 z" class="er-arrowhead"/>
                    </marker>
                </defs>
                {links}
                {boxes}
            </svg>
        </div>
    }
}

/// The tables as text: columns with keys, and indexes.
#[component]
fn TableList(schema: Schema) -> impl IntoView {
    schema
        .tables
        .into_iter()
        .map(|table| {
            let keys = table.foreign_keys.clone();
            let columns = table
                .columns
                .into_iter()
                .map(|c| {
                    let reference = keys.iter().find(|k| k.from == c.name).map(|k| format!(" → {}.{}", k.table, k.to));
                    let pk = (c.primary_key > 0).then_some(" primary key");
                    let nn = c.not_null.then_some(" not null");
                    view! {
                        <li><code>{c.name}</code> " " <span class="column-type">{c.decl_type}</span>
                            <span class="muted">{pk}{nn}{reference}</span></li>
                    }
                })
                .collect_view();
            let indexes = table
                .indexes
                .into_iter()
                .map(|i| {
                    let why = match i.origin.as_str() {
                        "pk" => "primary key",
                        "u" => "unique constraint",
                        _ if i.unique => "CREATE UNIQUE INDEX",
                        _ => "CREATE INDEX",
                    };
                    view! { <li><code>{i.name}</code> " on (" {i.columns.join(", ")} ") " <span class="muted">{why}</span></li> }
                })
                .collect_view();
            view! {
                <details class="schema-table">
                    <summary><code>{table.name}</code> <span class="muted">" " {table.row_count} " rows"</span></summary>
                    <ul class="schema-columns">{columns}</ul>
                    <p class="field-label">"Indexes"</p>
                    <ul class="schema-indexes">{indexes}</ul>
                </details>
            }
        })
        .collect_view()
}

/// The schema browser: tables and keys as text and as a diagram, plus reset.
#[island(lazy)]
pub(crate) fn SqlSchema() -> impl IntoView {
    let schema = RwSignal::new(None::<Result<Schema, SqlErrorBody>>);
    let hydrated = RwSignal::new(false);
    #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
    let load = move |method: &'static str| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            if method == "DELETE" {
                let _ = super::fetch::call_api("DELETE", "/labs/sql/sandbox", None).await;
            }
            let answer = super::fetch::call_api("GET", "/labs/sql/schema", None).await;
            schema.set(Some(super::sql::parse::<Schema>(answer)));
        });
    };
    Effect::new(move |_| {
        hydrated.set(true);
        load("GET");
    });
    let reset = move |_| {
        let sure = window()
            .confirm_with_message(
                "Throw away every change in your sandbox and start from a fresh copy of the shop?",
            )
            .unwrap_or(false);
        if sure {
            load("DELETE");
        }
    };
    view! {
        <section class="widget sql-schema" aria-label="Your sandbox's schema" data-hydrated=move || hydrated.get().to_string()>
            <div class="widget-actions">
                <button type="button" class="button-secondary" disabled=move || !hydrated.get() on:click=move |_| load("GET")>"Refresh"</button>
                <button type="button" class="button-danger" disabled=move || !hydrated.get() on:click=reset>"Reset my sandbox"</button>
            </div>
            {move || match schema.get() {
                None => EitherOf3::A(view! { <p class="muted">"Loading your sandbox…"</p> }),
                Some(Err(error)) => EitherOf3::B(view! { <ErrorView error/> }),
                Some(Ok(schema)) => EitherOf3::C(view! {
                    <div class="schema-list"><TableList schema=schema.clone()/></div>
                    <EntityDiagram schema/>
                }),
            }}
        </section>
    }
}

#[component]
fn TimedView(title: &'static str, timed: Timed) -> impl IntoView {
    let runs: Vec<String> = timed
        .runs_ms
        .iter()
        .map(|&r| enhance::text::decimal(r, 2))
        .collect();
    view! {
        <div class="experiment-side">
            <h4>{title}</h4>
            <p class="experiment-median"><strong>{enhance::text::decimal(timed.median_ms, 2)}" ms"</strong> " median"</p>
            <p class="muted">{timed.row_count} " rows; runs: " {runs.join(", ")} " ms"</p>
            <PlanTree plan=timed.plan/>
        </div>
    }
}

/// Times a query, creates an index, times it again: plans and medians side by side.
#[island(lazy)]
pub(crate) fn IndexExperiment() -> impl IntoView {
    let query = RwSignal::new("SELECT * FROM orders WHERE customer_id = 42".to_string());
    let index =
        RwSignal::new("CREATE INDEX idx_orders_customer ON orders (customer_id)".to_string());
    let result = RwSignal::new(None::<Result<Experiment, SqlErrorBody>>);
    let running = RwSignal::new(false);
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let run = move || {
        running.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let request = crate::model::labs::sql::ExperimentRequest {
                query: query.get_untracked(),
                index: index.get_untracked(),
            };
            let body = crate::widgets::json::to_string(&request);
            let answer = super::fetch::call_api("POST", "/labs/sql/index-experiment", body).await;
            result.set(Some(super::sql::parse::<Experiment>(answer)));
            running.set(false);
        });
    };
    view! {
        <section class="widget index-experiment" aria-label="Index experiment" data-hydrated=move || hydrated.get().to_string()>
            <p class="field-label">"The query"</p>
            <SqlEditor text=query label="Query to time".to_string() on_run=move |()| run()/>
            <p class="field-label">"The index to add"</p>
            <SqlEditor text=index label="CREATE INDEX statement".to_string() on_run=move |()| run()/>
            <div class="widget-actions">
                <button type="button" class="button-primary" disabled=move || !hydrated.get() || running.get() on:click=move |_| run()>
                    {move || if running.get() { "Timing…" } else { "Run the experiment" }}
                </button>
            </div>
            <div aria-live="polite">
                {move || match result.get() {
                    None => EitherOf3::A(()),
                    Some(Err(error)) => EitherOf3::B(view! {
                        <ErrorView error/>
                        <p class="muted">"If the index already exists, drop it first (for example "<code>"DROP INDEX idx_orders_customer"</code>" in a query block) to see the before again."</p>
                    }),
                    Some(Ok(e)) => EitherOf3::C(view! {
                        <p class="experiment-speedup" role="status">{enhance::text::decimal(e.speedup, 1)}"× faster with the index"</p>
                        <div class="experiment-sides">
                            <TimedView title="Before" timed=e.before/>
                            <TimedView title="After" timed=e.after/>
                        </div>
                    }),
                }}
            </div>
        </section>
    }
}

/// What the transaction picker calls each choice.
fn transaction_label(transaction: Transaction) -> &'static str {
    match transaction {
        Transaction::None => "none: each statement commits alone",
        Transaction::Deferred => "BEGIN (deferred)",
        Transaction::Immediate => "BEGIN IMMEDIATE",
    }
}

/// What the balance picker calls each way of computing it.
fn style_label(style: WithdrawalStyle) -> &'static str {
    match style {
        WithdrawalStyle::ReadThenWrite => "read it, subtract in the app, write it back",
        WithdrawalStyle::SingleUpdate => "one UPDATE: balance = balance - amount",
    }
}

#[component]
fn StepTable(steps: Vec<Step>) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table class="data-table steps-table">
                <thead><tr><th scope="col">"Who"</th><th scope="col">"Statement"</th><th scope="col">"What happened"</th></tr></thead>
                <tbody>
                    {steps.into_iter().map(|s| {
                        let who = s.session.clone();
                        view! {
                            <tr class=if s.ok { "step-ok" } else { "step-failed" } data-session=who>
                                <th scope="row">{s.session}</th>
                                <td><code>{s.sql}</code></td>
                                <td>{s.outcome}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// The transactions demo: settings, the concurrent withdrawal, the failing transfer.
#[island(lazy)]
pub(crate) fn Withdrawal() -> impl IntoView {
    let transaction = RwSignal::new(Transaction::default());
    let style = RwSignal::new(WithdrawalStyle::default());
    let retry = RwSignal::new(false);
    let report = RwSignal::new(None::<Result<WithdrawalReport, SqlErrorBody>>);
    let transfer = RwSignal::new(None::<Result<Vec<TransferRun>, SqlErrorBody>>);
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| {
        hydrated.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let answer = super::fetch::call_api("GET", "/labs/sql/settings", None).await;
            if let Ok(document) = super::sql::parse::<
                crate::model::labs::SettingsDocument<crate::model::labs::sql::SqlSettings>,
            >(answer)
            {
                let settings = document.settings;
                transaction.set(settings.transaction);
                style.set(settings.withdrawal);
                retry.set(settings.retry_on_busy);
            }
        });
    });
    let run = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let settings = crate::model::labs::sql::SqlSettings {
                transaction: transaction.get_untracked(),
                withdrawal: style.get_untracked(),
                retry_on_busy: retry.get_untracked(),
            };
            let body = crate::widgets::json::to_string(&settings);
            let saved = super::fetch::call_api("PUT", "/labs/sql/settings", body).await;
            if let Err(error) = super::sql::parse::<
                crate::model::labs::SettingsDocument<crate::model::labs::sql::SqlSettings>,
            >(saved)
            {
                report.set(Some(Err(error)));
                return;
            }
            let answer = super::fetch::call_api("POST", "/labs/sql/withdrawal", None).await;
            report.set(Some(super::sql::parse(answer)));
        });
    };
    let run_transfer = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let answer = super::fetch::call_api("POST", "/labs/sql/transfer", None).await;
            transfer.set(Some(super::sql::parse(answer)));
        });
    };
    view! {
        <section class="widget withdrawal" aria-label="Transactions demo" data-hydrated=move || hydrated.get().to_string()>
            <fieldset class="withdrawal-settings">
                <legend>"How the app withdraws (saved as your SQL lab settings)"</legend>
                <label class="field">
                    <span class="field-label">"Transaction"</span>
                    <select prop:value=move || choice_name(&transaction.get())
                        on:change=move |ev| if let Some(choice) = choice_named(&Transaction::ALL, &event_target_value(&ev)) {
                            transaction.set(choice)
                        }>
                        {Transaction::ALL.into_iter().map(|choice| view! { <option value=choice_name(&choice)>{transaction_label(choice)}</option> }).collect_view()}
                    </select>
                </label>
                <label class="field">
                    <span class="field-label">"New balance"</span>
                    <select prop:value=move || choice_name(&style.get())
                        on:change=move |ev| if let Some(choice) = choice_named(&WithdrawalStyle::ALL, &event_target_value(&ev)) {
                            style.set(choice)
                        }>
                        {WithdrawalStyle::ALL.into_iter().map(|choice| view! { <option value=choice_name(&choice)>{style_label(choice)}</option> }).collect_view()}
                    </select>
                </label>
                <label class="choice">
                    <input type="checkbox" prop:checked=move || retry.get() on:change=move |ev| retry.set(event_target_checked(&ev))/>
                    <span>"Start again when SQLite says another writer got in first"</span>
                </label>
            </fieldset>
            <div class="widget-actions">
                <button type="button" class="button-primary" disabled=move || !hydrated.get() on:click=run>"Withdraw 100 (A) and 50 (B) at once"</button>
                <button type="button" class="button-secondary" disabled=move || !hydrated.get() on:click=run_transfer>"Run the failing transfer"</button>
            </div>
            <div aria-live="polite">
                {move || report.get().map(|r| match r {
                    Err(error) => Either::Left(view! { <ErrorView error/> }),
                    Ok(r) => {
                        let verdict = if r.lost_update {
                            format!("Lost update: the balance is {} but should be {}.", r.final_balance, r.expected_balance)
                        } else if r.completed != [true, true] {
                            format!("A withdrawal failed: the balance is {}; the app must try it again.", r.final_balance)
                        } else {
                            format!("Both withdrawals counted: the balance is {}.", r.final_balance)
                        };
                        let good = !r.lost_update && r.completed == [true, true];
                        Either::Right(view! {
                            <p class=if good { "verdict verdict-good" } else { "verdict verdict-bad" } role="status">{verdict}</p>
                            <StepTable steps=r.steps/>
                        })
                    }
                })}
                {move || transfer.get().map(|t| match t {
                    Err(error) => Either::Left(view! { <ErrorView error/> }),
                    Ok(runs) => Either::Right(view! {
                        <div class="transfer-runs">
                            {runs.into_iter().map(|run| {
                                let title = if run.in_transaction { "In one transaction" } else { "Without a transaction" };
                                let verdict = format!(
                                    "Ada {} · Grace {}: {}",
                                    run.balances[0], run.balances[1],
                                    if run.money_conserved { "no money created" } else { "500 created from nothing" }
                                );
                                view! {
                                    <div class="transfer-run">
                                        <h4>{title}</h4>
                                        <p class=if run.money_conserved { "verdict verdict-good" } else { "verdict verdict-bad" }>{verdict}</p>
                                        <StepTable steps=run.steps/>
                                    </div>
                                }
                            }).collect_view()}
                        </div>
                    }),
                })}
            </div>
        </section>
    }
}
