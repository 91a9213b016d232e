//! The API lab's pagination console: two walks through the orders side by
//! side, one by offset and one by cursor, with a switch for another client
//! writing between pages. Orders a walk shows a second time are marked.

use leptos::prelude::*;

/// Orders per page in the console: small, so a walk fits on screen.
const PER_PAGE: u32 = 10;
/// The writer the switch starts: seeded, so every run shows the same.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const WRITER: &str =
    r#"{"mode":"between_pages","ops":2,"insert_percent":60,"seed":1,"seconds":120}"#;

/// One walk: the pages read so far and where the next one is.
#[derive(Clone, Debug, Default, PartialEq)]
struct Walk {
    pages: Vec<Vec<i64>>,
    next: Option<String>,
    error: Option<String>,
}

impl Walk {
    fn start(first: String) -> Self {
        Self {
            next: Some(first),
            ..Self::default()
        }
    }

    /// How many orders the walk has shown more than once.
    fn repeats(&self) -> usize {
        let mut seen = std::collections::HashSet::new();
        self.pages
            .iter()
            .flatten()
            .filter(|id| !seen.insert(**id))
            .count()
    }
}

fn first_offset_page() -> String {
    format!("/labs/api/orders?per_page={PER_PAGE}")
}

fn first_cursor_page() -> String {
    format!("/labs/api/orders?paging=cursor&per_page={PER_PAGE}")
}

/// Reads the walk's next page.
fn read_next(walk: RwSignal<Walk>, busy: RwSignal<bool>) {
    let Some(url) = walk.with_untracked(|w| w.next.clone()) else {
        return;
    };
    busy.set(true);
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        let answer = super::fetch::call_api("GET", &url, None).await;
        let page = match answer {
            Ok((200, text)) => {
                crate::widgets::json::from_str::<crate::model::labs::api::OrderPage>(&text)
                    .map_err(|e| format!("The page was not understood: {e}"))
            }
            Ok((status, text)) => Err(problem_detail(status, &text)),
            Err(message) => Err(message),
        };
        walk.update(|w| match page {
            Ok(page) => {
                w.pages.push(page.orders.iter().map(|o| o.id).collect());
                w.next = page.links.next;
                w.error = None;
            }
            Err(message) => w.error = Some(message),
        });
        busy.set(false);
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = url;
}

/// The `detail` of a problem answer, or its status.
#[cfg(feature = "hydrate")]
pub(super) fn problem_detail(status: u16, text: &str) -> String {
    crate::widgets::json::from_str::<crate::model::labs::api::Problem>(text)
        .map(|p| format!("{status}: {}", p.detail))
        .unwrap_or_else(|_| format!("The API answered {status}."))
}

/// Offset and cursor walks side by side, and the writer switch.
#[island(lazy)]
pub(crate) fn PaginationConsole() -> impl IntoView {
    let offset = RwSignal::new(Walk::start(first_offset_page()));
    let cursor = RwSignal::new(Walk::start(first_cursor_page()));
    let writer_on = RwSignal::new(false);
    let note = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    let switch_writer = move |on: bool| {
        writer_on.set(on);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let answer = if on {
                super::fetch::call_api("PUT", "/labs/api/writer", Some(WRITER.to_string())).await
            } else {
                super::fetch::call_api("DELETE", "/labs/api/writer", None).await
            };
            note.set(match answer {
                Ok((200 | 204, _)) if on => {
                    Some("The other client now writes before each page you read.".into())
                }
                Ok((200 | 204, _)) => Some("The other client stopped writing.".into()),
                Ok((status, text)) => Some(problem_detail(status, &text)),
                Err(message) => Some(message),
            });
        });
    };
    let restart = move |_| {
        offset.set(Walk::start(first_offset_page()));
        cursor.set(Walk::start(first_cursor_page()));
    };

    view! {
        <section class="widget api-console" aria-label="Pagination console" data-hydrated=move || hydrated.get().to_string()>
            <div class="api-console-controls">
                <label class="choice">
                    <input
                        type="checkbox"
                        prop:checked=move || writer_on.get()
                        disabled=move || !hydrated.get()
                        on:change=move |ev| switch_writer(event_target_checked(&ev))
                    />
                    " Another client writes between pages"
                </label>
                <button type="button" class="button-quiet" on:click=restart disabled=move || !hydrated.get()>
                    "Start both walks again"
                </button>
            </div>
            <p class="muted" role="status">{move || note.get()}</p>
            <div class="api-walks">
                <WalkColumn title="By offset (?page=)" walk=offset busy/>
                <WalkColumn title="By cursor (?after=)" walk=cursor busy/>
            </div>
        </section>
    }
}

/// One walk: its next-page button, its figures and its pages.
#[component]
fn WalkColumn(title: &'static str, walk: RwSignal<Walk>, busy: RwSignal<bool>) -> impl IntoView {
    let summary = move || {
        walk.with(|w| {
            let rows: usize = w.pages.iter().map(Vec::len).sum();
            format!(
                "{} pages, {} rows, {} shown twice",
                w.pages.len(),
                rows,
                w.repeats()
            )
        })
    };
    let pages = move || {
        walk.with(|w| {
            let mut seen = std::collections::HashSet::new();
            w.pages
                .iter()
                .enumerate()
                .map(|(at, ids)| {
                    let ids = ids
                        .iter()
                        .map(|id| {
                            let again = !seen.insert(*id);
                            view! {
                                <li class:api-repeat=again>
                                    {id.to_string()}
                                    {again.then(|| view! { <span class="visually-hidden">" (again)"</span> })}
                                </li>
                            }
                        })
                        .collect_view();
                    view! {
                        <li>
                            <span class="api-page-number">{format!("page {}", at + 1)}</span>
                            <ol class="api-ids">{ids}</ol>
                        </li>
                    }
                })
                .collect_view()
        })
    };
    view! {
        <section class="api-walk" aria-label=title>
            <h3>{title}</h3>
            <button
                type="button"
                class="button-primary"
                on:click=move |_| read_next(walk, busy)
                disabled=move || busy.get() || walk.with(|w| w.next.is_none())
            >
                "Next page"
            </button>
            <p class="api-walk-summary">{summary}</p>
            {move || walk.with(|w| w.error.clone()).map(|e| view! { <p class="error-inline" role="alert">{e}</p> })}
            <ol class="api-pages">{pages}</ol>
        </section>
    }
}
