//! The order page built both ways, live: by the monolith's one handler
//! and one SQL join, and by the backend-for-frontend calling the users,
//! orders and catalog services over HTTP as [`super::plan`] says. Each
//! query and each call is traced, so the N+1 across services shows as N
//! catalog calls in the inspector.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::StatusCode;
use futures_util::future::try_join_all;
use model::labs::gateway::{
    OrderPageCustomer, OrderPageLine, OrderPageOrder, Service, ShopOrderPage, ShopSettings,
};
use serde::Serialize;

use super::data::StoredOrder;
use super::plan::{self, Call, PageOutcome, PAGE_DEADLINE_MS};
use super::services::{CatalogEntry, ABORT_HEADER, DELAY_HEADER};
use super::Shop;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::gateway::replicas::TOKEN_HEADER;

/// The monolith's one query for the whole page.
pub(super) const PAGE_SQL: &str = "\
SELECT c.id, c.name, c.email, o.id, o.placed_on, l.item_id, i.name, i.price_cents, l.quantity
FROM customers c
JOIN orders o ON o.customer_id = c.id
JOIN order_lines l ON l.order_id = o.id
JOIN items i ON i.id = l.item_id
WHERE c.id = ?
ORDER BY o.id, l.line_no";

/// The monolith ran its query.
#[derive(Serialize)]
struct Queried {
    sql: &'static str,
    rows: usize,
    us: u64,
}

impl LabEvent for Queried {
    const KIND: &'static str = "shop.query";
    fn summary(&self) -> String {
        format!(
            "monolith: one query joining 4 tables gave {} rows in {} µs, no network",
            self.rows, self.us
        )
    }
}

/// The BFF made one call.
#[derive(Serialize)]
struct Called {
    /// 1-based, in plan order.
    number: u32,
    service: &'static str,
    path: String,
    /// `answered`, `failed` (5xx or a broken connection) or `timed_out`.
    outcome: &'static str,
    status: Option<u16>,
    ms: u64,
    /// Milliseconds of it the student's faults added.
    injected_delay_ms: u32,
    /// What a failing service said (the start of its answer).
    said: Option<String>,
}

impl LabEvent for Called {
    const KIND: &'static str = "bff.call";
    fn summary(&self) -> String {
        let answer = match (self.outcome, self.status) {
            ("answered", Some(status)) => format!("answered {status}"),
            ("failed", Some(status)) => format!("failed: {status}"),
            ("timed_out", _) => "timed out".into(),
            _ => "failed: the connection broke".into(),
        };
        format!(
            "call {}: {} GET {} {answer} in {} ms",
            self.number, self.service, self.path, self.ms
        )
    }
}

/// Why a BFF page failed.
#[derive(Clone, Debug)]
pub(super) struct PageFailed {
    pub(super) service: Service,
    pub(super) status: StatusCode,
    pub(super) message: String,
}

/// The monolith's page for `customer` (who exists): one query, traced.
pub(super) async fn monolith_page(
    shop: &Shop,
    customer: u32,
    inspector: &Inspector,
) -> Result<ShopOrderPage, sqlx::Error> {
    let started = Instant::now();
    type Row = (u32, String, String, u32, String, u32, String, u32, u32);
    let rows: Vec<Row> = sqlx::query_as(PAGE_SQL)
        .bind(customer)
        .fetch_all(&shop.monolith.pool)
        .await?;
    inspector.record(&Queried {
        sql: PAGE_SQL,
        rows: rows.len(),
        us: started.elapsed().as_micros() as u64,
    });
    let mut page = ShopOrderPage {
        built_by: "monolith".into(),
        customer: super::data::customer(customer),
        orders: Vec::new(),
        calls: 1,
        ms: 0,
    };
    for (_, name, email, order, placed_on, item_id, item_name, price_cents, quantity) in rows {
        page.customer.name = name;
        page.customer.email = email;
        let line = OrderPageLine {
            item_id,
            name: item_name,
            price_cents,
            quantity,
        };
        match page.orders.last_mut() {
            Some(last) if last.id == order => last.lines.push(line),
            _ => page.orders.push(OrderPageOrder {
                id: order,
                placed_on,
                lines: vec![line],
                total_cents: 0,
            }),
        }
    }
    finish(&mut page, started);
    Ok(page)
}

/// The BFF's page `page` for `customer` (who exists), following `settings`
/// with faults from `seed`: the page, or why it failed, and how it went.
pub(super) async fn bff_page(
    shop: &Shop,
    settings: &ShopSettings,
    seed: u32,
    page: u64,
    customer: u32,
    inspector: &Inspector,
) -> (PageOutcome, Result<ShopOrderPage, PageFailed>) {
    let started = Instant::now();
    let progress = Mutex::new(Progress::default());
    let caller = Caller {
        shop,
        settings,
        seed,
        page,
        inspector,
        progress: &progress,
    };
    let deadline = Duration::from_millis(PAGE_DEADLINE_MS);
    let built = tokio::time::timeout(deadline, build(&caller, customer)).await;
    let progress = progress.into_inner().unwrap_or_else(|e| e.into_inner());
    let result = built.unwrap_or_else(|_| {
        let service = progress.waiting_on.unwrap_or(Service::Users);
        Err(PageFailed {
            service,
            status: StatusCode::GATEWAY_TIMEOUT,
            message: format!(
                "The page was not built within the BFF's {PAGE_DEADLINE_MS} ms for a whole page: it was still waiting for the {} service after {} calls.",
                service.name(),
                progress.calls
            ),
        })
    });
    let outcome = PageOutcome {
        failed_by: result.as_ref().err().map(|f| f.service),
        us: started.elapsed().as_micros() as u64,
        calls: progress.calls,
    };
    let result = result.map(|mut page| {
        page.calls = progress.calls;
        finish(&mut page, started);
        page
    });
    (outcome, result)
}

/// How far a page got: calls made, and the service of the stage it is in.
#[derive(Default)]
struct Progress {
    calls: u32,
    waiting_on: Option<Service>,
}

/// The page from the services, call by call as the plan says.
async fn build(caller: &Caller<'_>, customer: u32) -> Result<ShopOrderPage, PageFailed> {
    let settings = caller.settings;
    let mut who: Option<OrderPageCustomer> = None;
    let mut orders: Option<Vec<StoredOrder>> = None;
    for stage in plan::first_stages(settings, customer) {
        for (call, body) in caller.stage(&stage).await? {
            match call.service {
                Service::Users => who = Some(caller.parse(&call, &body)?),
                _ => orders = Some(caller.parse(&call, &body)?),
            }
        }
    }
    let (Some(who), Some(orders)) = (who, orders) else {
        unreachable!("the first stages ask both services");
    };
    let mut items: HashMap<u32, CatalogEntry> = HashMap::new();
    for stage in plan::catalog_stages(settings, &orders) {
        for (call, body) in caller.stage(&stage).await? {
            if settings.batch_catalog {
                let many: Vec<CatalogEntry> = caller.parse(&call, &body)?;
                items.extend(many.into_iter().map(|e| (e.id, e)));
            } else {
                let one: CatalogEntry = caller.parse(&call, &body)?;
                items.insert(one.id, one);
            }
        }
    }
    let orders = orders
        .into_iter()
        .map(|order| OrderPageOrder {
            id: order.id,
            placed_on: order.placed_on,
            lines: order
                .lines
                .into_iter()
                .map(|(item_id, quantity)| {
                    let entry = items.get(&item_id);
                    OrderPageLine {
                        item_id,
                        name: entry.map_or_else(String::new, |e| e.name.clone()),
                        price_cents: entry.map_or(0, |e| e.price_cents),
                        quantity,
                    }
                })
                .collect(),
            total_cents: 0,
        })
        .collect();
    Ok(ShopOrderPage {
        built_by: "bff".into(),
        customer: who,
        orders,
        calls: 0,
        ms: 0,
    })
}

/// One page's calls: numbered in plan order, faults from the dice, traced.
struct Caller<'a> {
    shop: &'a Shop,
    settings: &'a ShopSettings,
    seed: u32,
    page: u64,
    inspector: &'a Inspector,
    progress: &'a Mutex<Progress>,
}

impl Caller<'_> {
    /// A stage's calls, all sent at once; the first failure fails it.
    async fn stage(&self, stage: &[Call]) -> Result<Vec<(Call, Bytes)>, PageFailed> {
        let first_number = {
            let mut progress = self.progress.lock().unwrap_or_else(|e| e.into_inner());
            progress.waiting_on = stage.first().map(|c| c.service);
            let first = progress.calls;
            progress.calls += stage.len() as u32;
            first
        };
        let calls = stage
            .iter()
            .enumerate()
            .map(|(i, call)| self.call(call, first_number + i as u32));
        let bodies = try_join_all(calls).await?;
        Ok(stage.iter().cloned().zip(bodies).collect())
    }

    /// Call `number` (0-based) of the page.
    async fn call(&self, call: &Call, number: u32) -> Result<Bytes, PageFailed> {
        let fault = plan::fault(self.settings, self.seed, self.page, number, call.service);
        let started = Instant::now();
        let mut request = self
            .shop
            .client
            .get(format!(
                "http://127.0.0.1:{}{}",
                self.shop.services.port(call.service),
                call.path
            ))
            .header(TOKEN_HEADER, &self.shop.token)
            .timeout(Duration::from_millis(u64::from(
                self.settings.call_timeout_ms,
            )));
        if fault.delay_ms > 0 {
            request = request.header(DELAY_HEADER, fault.delay_ms);
        }
        if fault.abort {
            request = request.header(ABORT_HEADER, "503");
        }
        let answer = async {
            let response = request.send().await?;
            let status = response.status().as_u16();
            Ok::<_, reqwest::Error>((status, response.bytes().await?))
        }
        .await;
        let said = match &answer {
            Ok((status, body)) if *status >= 400 => {
                Some(String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned())
            }
            _ => None,
        };
        let (outcome, status) = match &answer {
            Ok((status, _)) if *status < 400 => ("answered", Some(*status)),
            Ok((status, _)) => ("failed", Some(*status)),
            Err(e) if e.is_timeout() => ("timed_out", None),
            Err(_) => ("failed", None),
        };
        self.inspector.record(&Called {
            number: number + 1,
            service: call.service.name(),
            path: call.path.clone(),
            outcome,
            status,
            ms: started.elapsed().as_millis() as u64,
            injected_delay_ms: fault.delay_ms,
            said,
        });
        let failed = |status, why: String| {
            PageFailed {
            service: call.service,
            status,
            message: format!(
                "The {} service {why} to GET {} (call {} of this page): the whole page fails with it.",
                call.service.name(),
                call.path,
                number + 1
            ),
        }
        };
        match answer {
            Ok((status, body)) if status < 400 => Ok(body),
            Ok((status, _)) => Err(failed(
                StatusCode::BAD_GATEWAY,
                format!("answered {status}"),
            )),
            Err(e) if e.is_timeout() => Err(failed(
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "did not answer within the call timeout of {} ms",
                    self.settings.call_timeout_ms
                ),
            )),
            Err(_) => Err(failed(
                StatusCode::BAD_GATEWAY,
                "broke the connection".into(),
            )),
        }
    }

    /// A service's answer read as `T`; one that does not parse is the
    /// service's failure.
    fn parse<T: serde::de::DeserializeOwned>(
        &self,
        call: &Call,
        body: &[u8],
    ) -> Result<T, PageFailed> {
        serde_json::from_slice(body).map_err(|e| PageFailed {
            service: call.service,
            status: StatusCode::BAD_GATEWAY,
            message: format!(
                "The {} service's answer to GET {} was not what the BFF expects: {e}",
                call.service.name(),
                call.path
            ),
        })
    }
}

/// Totals and the time taken.
fn finish(page: &mut ShopOrderPage, started: Instant) {
    for order in &mut page.orders {
        order.total_cents = order.lines.iter().map(|l| l.price_cents * l.quantity).sum();
    }
    page.ms = started.elapsed().as_millis() as u32;
}

/// `pages` pages built each way, five BFF pages at a time (each within the
/// page deadline, so a run ends within about 30 s however slow the
/// services are set).
pub(super) async fn compare(
    shop: Arc<Shop>,
    settings: &ShopSettings,
    seed: u32,
    pages: u32,
) -> Result<model::labs::gateway::ShopComparison, sqlx::Error> {
    use futures_util::stream::{self, StreamExt};
    let quiet = || Inspector::new(crate::inspector::TraceId::random());
    let mut monolith = Vec::new();
    for page in 0..u64::from(pages) {
        let started = Instant::now();
        monolith_page(&shop, plan::customer_of_page(page), &quiet()).await?;
        monolith.push(PageOutcome {
            failed_by: None,
            us: started.elapsed().as_micros() as u64,
            calls: 1,
        });
    }
    let bff: Vec<PageOutcome> = stream::iter(0..u64::from(pages))
        .map(|page| {
            let shop = shop.clone();
            async move {
                bff_page(
                    &shop,
                    settings,
                    seed,
                    page,
                    plan::customer_of_page(page),
                    &quiet(),
                )
                .await
                .0
            }
        })
        .buffered(5)
        .collect()
        .await;
    Ok(model::labs::gateway::ShopComparison {
        monolith: plan::summarize(&monolith),
        bff: plan::summarize(&bff),
    })
}
