//! The order page, two ways: the monolith's one query against the
//! backend-for-frontend's calls to three services, one customer at a time
//! or fifty pages at once, with the student's BFF settings and each
//! service's faults beside them.

use leptos::prelude::*;

use super::settings_draft::{check_field, number_field, Bounds, SettingsDraft};
use crate::model::labs::gateway::{
    GatewaySettings, Service, ShopComparison, ShopOrderPage, ShopRun,
};

/// One build of a page, as the console shows it.
#[derive(Clone, Debug, PartialEq)]
struct Built {
    /// `monolith` or `bff`.
    way: &'static str,
    status: u16,
    /// The page, when it was built.
    page: Option<ShopOrderPage>,
    /// Why not, otherwise.
    problem: String,
}

/// A page in one sentence.
fn page_summary(page: &ShopOrderPage) -> String {
    let lines: usize = page.orders.iter().map(|o| o.lines.len()).sum();
    let cents: u32 = page.orders.iter().map(|o| o.total_cents).sum();
    format!(
        "{}: {} orders, {lines} lines, {}.{:02} in all",
        page.customer.name,
        page.orders.len(),
        cents / 100,
        cents % 100
    )
}

/// Who failed a run's pages, in words.
fn failures(run: &ShopRun) -> String {
    if run.failed == 0 {
        return "none".into();
    }
    let by: Vec<String> = Service::ALL
        .iter()
        .zip(&run.failed_by)
        .filter(|(_, n)| **n > 0)
        .map(|(service, n)| format!("{n} by {}", service.name()))
        .collect();
    format!("{} ({})", run.failed, by.join(", "))
}

/// Calls a page with two decimals, without float formatting.
fn calls_per_page(run: &ShopRun) -> String {
    let hundredths = (run.calls_per_page * 100.0).round() as u64;
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

#[component]
fn BuiltCard(built: Built) -> impl IntoView {
    let title = if built.way == "monolith" {
        "Monolith: one query"
    } else {
        "BFF: three services"
    };
    let outcome = match &built.page {
        Some(page) => format!("{} in {} ms: {}", built.status, page.ms, page_summary(page)),
        None => format!("{}: {}", built.status, built.problem),
    };
    let calls = match (&built.page, built.way) {
        (Some(page), "monolith") => format!("{} query; its trace shows the SQL.", page.calls),
        (Some(page), _) => format!("{} calls over HTTP; the trace shows each one.", page.calls),
        (None, _) => "The trace shows each call up to the one that failed.".into(),
    };
    let class = if built.page.is_some() {
        "shop-card"
    } else {
        "shop-card shop-card-failed"
    };
    view! {
        <article class=class data-testid=format!("shop-built-{}", built.way)>
            <h4>{title}</h4>
            <p>{outcome}</p>
            <p class="gw-note">{calls}</p>
        </article>
    }
}

#[component]
fn Comparison(comparison: ShopComparison) -> impl IntoView {
    let row = |name: &'static str, run: ShopRun| {
        view! {
            <tr data-testid=format!("shop-run-{name}")>
                <th scope="row">{name}</th>
                <td>{run.succeeded}</td>
                <td>{failures(&run)}</td>
                <td>{calls_per_page(&run)}</td>
                <td>{run.p50_ms}</td>
                <td>{run.p99_ms}</td>
            </tr>
        }
    };
    let pages = comparison.monolith.pages;
    view! {
        <div class="table-scroll" tabindex="0" role="region" aria-label="Order pages built each way">
            <table class="data-table gw-replicas">
                <caption>{format!("{pages} order pages built each way")}</caption>
                <thead><tr>
                    <th scope="col">"Built by"</th><th scope="col">"Whole"</th><th scope="col">"Failed"</th>
                    <th scope="col">"Calls a page"</th><th scope="col">"p50 (ms)"</th><th scope="col">"p99 (ms)"</th>
                </tr></thead>
                <tbody>
                    {row("monolith", comparison.monolith)}
                    {row("BFF", comparison.bff)}
                </tbody>
            </table>
        </div>
    }
}

/// The BFF's settings, one customer's page both ways, and fifty pages.
#[island(lazy)]
pub(crate) fn OrderPageConsole() -> impl IntoView {
    let draft = SettingsDraft::<GatewaySettings>::new("gateway");
    let customer = RwSignal::new(String::from("1"));
    let built = RwSignal::new(Vec::<Built>::new());
    let comparison = RwSignal::new(None::<ShopComparison>);
    let message = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| {
        hydrated.set(true);
        draft.load();
    });
    let save = move |_| draft.save("Saved: the BFF follows them from the next page.");
    let build_both = move |_| {
        let id = customer.get_untracked().trim().to_string();
        busy.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            built.set(vec![
                browser::build("monolith", &id).await,
                browser::build("bff", &id).await,
            ]);
            busy.set(false);
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (id, built);
    };
    let compare = move |_| {
        busy.set(true);
        message.set("Building 50 pages each way…".into());
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            browser::compare(comparison, message).await;
            busy.set(false);
        });
    };
    view! {
        <section class="widget shop-console" aria-label="Order page: monolith and BFF" data-hydrated=move || hydrated.get().to_string()>
            <fieldset class="gw-settings" disabled=move || draft.loading()>
                <legend>"Your BFF"</legend>
                {check_field(draft, "Calls at once (parallel)", |s| s.shop.parallel, |s, on| s.shop.parallel = on)}
                {check_field(draft, "One catalog call for all items (batch)", |s| s.shop.batch_catalog, |s, on| s.shop.batch_catalog = on)}
                {number_field(draft, "Call timeout (ms)", Bounds::whole("10", "10000"), |s| s.shop.call_timeout_ms, |s, n| s.shop.call_timeout_ms = n)}
                {number_field(draft, "Seed", Bounds::whole("0", "4294967295"), |s| s.seed, |s, n| s.seed = n)}
            </fieldset>
            <fieldset class="gw-settings" disabled=move || draft.loading()>
                <legend>"The services' faults"</legend>
                {number_field(draft, "users: extra ms", Bounds::whole("0", "2000"), |s| s.shop.users.extra_ms, |s, n| s.shop.users.extra_ms = n)}
                {number_field(draft, "users: % errors", Bounds::whole("0", "100"), |s| s.shop.users.error_percent, |s, n| s.shop.users.error_percent = n)}
                {number_field(draft, "orders: extra ms", Bounds::whole("0", "2000"), |s| s.shop.orders.extra_ms, |s, n| s.shop.orders.extra_ms = n)}
                {number_field(draft, "orders: % errors", Bounds::whole("0", "100"), |s| s.shop.orders.error_percent, |s, n| s.shop.orders.error_percent = n)}
                {number_field(draft, "catalog: extra ms", Bounds::whole("0", "2000"), |s| s.shop.catalog.extra_ms, |s, n| s.shop.catalog.extra_ms = n)}
                {number_field(draft, "catalog: % errors", Bounds::whole("0", "100"), |s| s.shop.catalog.error_percent, |s, n| s.shop.catalog.error_percent = n)}
                <button type="button" class="button-secondary" disabled=move || !hydrated.get() on:click=save>"Save settings"</button>
                <span class="note-inline" role="status">{move || draft.saved.get()}</span>
            </fieldset>
            <div class="gw-load">
                <label class="field">
                    <span class="field-label">"Customer (1 to 50)"</span>
                    <input type="number" min="1" max="50" inputmode="numeric" bind:value=customer/>
                </label>
                <button type="button" disabled=move || !hydrated.get() || busy.get() on:click=build_both>"Build their page both ways"</button>
                <button type="button" class="button-secondary" disabled=move || !hydrated.get() || busy.get() on:click=compare>"Compare 50 pages"</button>
            </div>
            <div class="shop-cards" aria-live="polite">
                {move || built.get().into_iter().map(|b| view! { <BuiltCard built=b/> }).collect_view()}
            </div>
            <p class="note-inline" role="status" data-testid="shop-message">{move || message.get()}</p>
            {move || comparison.get().map(|c| view! { <Comparison comparison=c/> })}
        </section>
    }
}

/// What the console does in the browser.
#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::*;

    use super::super::fetch::call_api;
    use super::Built;
    use crate::model::labs::gateway::{ShopCompareRequest, ShopComparison};
    use crate::model::ErrorBody;

    /// Customer `id`'s page built `way`.
    pub(super) async fn build(way: &'static str, id: &str) -> Built {
        let path = format!("/labs/gateway/shop/{way}/customers/{id}/orders");
        let mut built = Built {
            way,
            status: 0,
            page: None,
            problem: String::new(),
        };
        match call_api("GET", &path, None).await {
            Ok((200, text)) => {
                built.status = 200;
                built.page = crate::widgets::json::from_str(&text).ok();
            }
            Ok((status, text)) => {
                built.status = status;
                built.problem = crate::widgets::json::error_message(text);
            }
            Err(error) => built.problem = error,
        }
        built
    }

    pub(super) async fn compare(
        comparison: RwSignal<Option<ShopComparison>>,
        message: RwSignal<String>,
    ) {
        let body = crate::widgets::json::to_string(&ShopCompareRequest { pages: 50 });
        match call_api("POST", "/labs/gateway/shop/compare", body).await {
            Ok((200, text)) => {
                message.set(
                    "Faults rolled from your seed: the same settings give the same run.".into(),
                );
                comparison.set(crate::widgets::json::from_str(&text).ok());
            }
            Ok((status, text)) => message.set(
                crate::widgets::json::from_str::<ErrorBody>(&text)
                    .map(|e| format!("{status}: {}", e.message))
                    .unwrap_or_else(|_| format!("{status}: {text}")),
            ),
            Err(error) => message.set(error),
        }
    }
}
