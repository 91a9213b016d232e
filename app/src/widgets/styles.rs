//! The API lab's three styles side by side: the newest orders with their
//! customers and products, fetched from this browser as REST one resource
//! at a time, REST with `?include=`, GraphQL and gRPC-Web, with the
//! requests, the bytes received and the time each way took.

use leptos::prelude::*;

/// One way of fetching, as measured.
#[derive(Clone, Debug, PartialEq)]
struct Fetched {
    way: &'static str,
    requests: u32,
    /// Rounds of waiting: requests that need an earlier answer go after it.
    rounds: u32,
    /// Response bodies, as received (after any decompression).
    bytes: usize,
    ms: f64,
    orders: usize,
}

/// Most orders the console asks for (the GraphQL and gRPC limit).
const MAX_ORDERS: u32 = 20;

/// The query GraphQL is sent: exactly the fields the other ways return.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const GRAPHQL: &str = "query($first: Int!) { orders(first: $first) { id placedAt status totalCents customer { id name city country } items { quantity unitPriceCents product { id name priceCents } } } }";

/// The fetch console.
#[island(lazy)]
pub(crate) fn StylesConsole() -> impl IntoView {
    let first = RwSignal::new(5u32);
    let results = RwSignal::new(Vec::<Fetched>::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    let start = move |_| {
        busy.set(true);
        error.set(None);
        results.set(Vec::new());
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let n = first.get_untracked();
            let ways = [
                browser::rest_by_resource(n).await,
                browser::rest_included(n).await,
                browser::graphql(n).await,
                browser::grpc_web(n).await,
            ];
            for way in ways {
                match way {
                    Ok(fetched) => results.update(|r| r.push(fetched)),
                    Err(message) => error.set(Some(message)),
                }
            }
            busy.set(false);
        });
    };

    let rows = move || {
        results
            .get()
            .into_iter()
            .map(|f| {
                view! {
                    <tr>
                        <th scope="row">{f.way}</th>
                        <td>{f.requests.to_string()}</td>
                        <td>{f.rounds.to_string()}</td>
                        <td>{format!("{} B", f.bytes)}</td>
                        <td>{enhance::text::decimal(f.ms, 0)}" ms"</td>
                        <td>{f.orders.to_string()}</td>
                    </tr>
                }
            })
            .collect_view()
    };

    view! {
        <section class="widget styles-console" aria-label="REST, GraphQL and gRPC" data-hydrated=move || hydrated.get().to_string()>
            <div class="transport-controls">
                <label class="field">
                    <span class="field-label">"Newest orders (1 to 20)"</span>
                    <input
                        type="number"
                        min="1"
                        max=MAX_ORDERS.to_string()
                        inputmode="numeric"
                        prop:value=move || first.get().to_string()
                        on:change=move |ev| {
                            if let Ok(v) = event_target_value(&ev).trim().parse::<u32>() {
                                first.set(v.clamp(1, MAX_ORDERS));
                            }
                        }
                    />
                </label>
                <button type="button" class="button-primary" on:click=start disabled=move || busy.get() || !hydrated.get()>
                    {move || if busy.get() { "Fetching…" } else { "Fetch each way" }}
                </button>
            </div>
            {move || error.get().map(|e| view! { <p class="error-inline" role="alert">{e}</p> })}
            <div class="table-scroll" hidden=move || results.with(Vec::is_empty)>
            <table class="transport-figures">
                <caption>"The same orders, customers and products, four ways"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Way"</th>
                        <th scope="col">"Requests"</th>
                        <th scope="col">"Round trips"</th>
                        <th scope="col">"Body bytes received"</th>
                        <th scope="col">"Time"</th>
                        <th scope="col">"Orders"</th>
                    </tr>
                </thead>
                <tbody aria-live="polite">{rows}</tbody>
            </table>
            </div>
        </section>
    }
}

/// The four ways, as this browser does them.
#[cfg(feature = "hydrate")]
mod browser {
    use std::collections::BTreeSet;

    use serde::Deserialize;

    use super::super::fetch::{call_api, call_binary, now_ms};
    use super::{Fetched, GRAPHQL};
    use crate::model::labs::api::OrderPage;

    /// GETs `url`; its body, or what went wrong.
    async fn get(url: &str) -> Result<String, String> {
        match call_api("GET", url, None).await? {
            (200, body) => Ok(body),
            (status, _) => Err(format!("GET {url} answered {status}.")),
        }
    }

    /// GETs every URL at once, as a browser would; the bodies' total size.
    async fn get_all(urls: Vec<String>) -> Result<usize, String> {
        let bodies = futures_util::future::join_all(urls.iter().map(|url| get(url))).await;
        bodies.into_iter().map(|body| body.map(|b| b.len())).sum()
    }

    fn page(body: &str) -> Result<OrderPage, String> {
        crate::widgets::json::from_str(body)
            .map_err(|e| format!("The page was not understood: {e}"))
    }

    #[derive(Deserialize)]
    struct Order {
        customer_id: i64,
        items: Vec<Line>,
    }

    #[derive(Deserialize)]
    struct Line {
        product_id: i64,
    }

    /// The list, then each order, then each customer and product: three
    /// rounds of requests, each round sent at once.
    pub(super) async fn rest_by_resource(first: u32) -> Result<Fetched, String> {
        let started = now_ms();
        let list = get(&format!("/labs/api/orders?per_page={first}")).await?;
        let listed = page(&list)?;
        let urls: Vec<String> = listed
            .orders
            .iter()
            .map(|o| format!("/labs/api/orders/{}", o.id))
            .collect();
        let bodies = futures_util::future::join_all(urls.iter().map(|u| get(u))).await;
        let mut bytes = list.len();
        let (mut customers, mut products) = (BTreeSet::new(), BTreeSet::new());
        for body in bodies {
            let body = body?;
            bytes += body.len();
            let order: Order = crate::widgets::json::from_str(&body)
                .map_err(|e| format!("An order was not understood: {e}"))?;
            customers.insert(order.customer_id);
            products.extend(order.items.iter().map(|l| l.product_id));
        }
        let related: Vec<String> = customers
            .iter()
            .map(|id| format!("/labs/api/customers/{id}"))
            .chain(products.iter().map(|id| format!("/labs/api/products/{id}")))
            .collect();
        let requests = 1 + urls.len() + related.len();
        bytes += get_all(related).await?;
        Ok(Fetched {
            way: "REST, one resource at a time",
            requests: requests as u32,
            // The list, then the orders, then their customers and products.
            rounds: 3,
            bytes,
            ms: now_ms() - started,
            orders: listed.orders.len(),
        })
    }

    /// One request: the list with `?include=customer,items`.
    pub(super) async fn rest_included(first: u32) -> Result<Fetched, String> {
        let started = now_ms();
        let body = get(&format!(
            "/labs/api/orders?per_page={first}&include=customer,items"
        ))
        .await?;
        Ok(Fetched {
            way: "REST with ?include=",
            requests: 1,
            rounds: 1,
            bytes: body.len(),
            ms: now_ms() - started,
            orders: page(&body)?.orders.len(),
        })
    }

    #[derive(Deserialize)]
    struct GraphqlAnswer {
        data: Option<GraphqlData>,
    }

    #[derive(Deserialize)]
    struct GraphqlData {
        orders: Vec<serde::de::IgnoredAny>,
    }

    /// One POST of the query.
    pub(super) async fn graphql(first: u32) -> Result<Fetched, String> {
        let started = now_ms();
        let request = format!(
            r#"{{"query":{},"variables":{{"first":{first}}}}}"#,
            crate::widgets::json::to_string(GRAPHQL).unwrap_or_default()
        );
        let body = match call_api("POST", "/labs/api/graphql", Some(request)).await? {
            (200, body) => body,
            (status, _) => return Err(format!("GraphQL answered {status}.")),
        };
        let answer: GraphqlAnswer = crate::widgets::json::from_str(&body)
            .map_err(|e| format!("The GraphQL answer was not understood: {e}"))?;
        Ok(Fetched {
            way: "GraphQL",
            requests: 1,
            rounds: 1,
            bytes: body.len(),
            ms: now_ms() - started,
            orders: answer.data.map_or(0, |d| d.orders.len()),
        })
    }

    /// One gRPC-Web call: a 7-byte request, protobuf back.
    pub(super) async fn grpc_web(first: u32) -> Result<Fetched, String> {
        let started = now_ms();
        // A frame (flag 0, length 2) around ListOrdersRequest { first }: field 1 as a varint.
        let request = [0, 0, 0, 0, 2, 0x08, first as u8];
        let answer = call_binary(
            "/labs/api/grpc/workbench.shop.v1.Shop/ListOrders",
            "application/grpc-web+proto",
            &request,
        )
        .await?;
        if answer.status != 200 || answer.grpc_status.is_some() {
            return Err(format!(
                "The gRPC call failed: HTTP {}, grpc-status {}.",
                answer.status,
                answer.grpc_status.unwrap_or_default()
            ));
        }
        Ok(Fetched {
            way: "gRPC-Web",
            requests: 1,
            rounds: 1,
            bytes: answer.body.len(),
            ms: now_ms() - started,
            orders: orders_in_reply(&answer.body),
        })
    }

    /// How many `orders` (field 1) the first frame's ListOrdersReply holds.
    fn orders_in_reply(body: &[u8]) -> usize {
        let Some(length) = body.get(1..5) else {
            return 0;
        };
        let length = u32::from_be_bytes([length[0], length[1], length[2], length[3]]) as usize;
        let mut message = body.get(5..5 + length).unwrap_or_default();
        let mut count = 0;
        while let Some((&tag, rest)) = message.split_first() {
            let Some((size, rest)) = varint(rest) else {
                break;
            };
            count += usize::from(tag == 0x0a);
            message = rest.get(size as usize..).unwrap_or_default();
        }
        count
    }

    fn varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
        let mut value = 0u64;
        for (at, byte) in bytes.iter().enumerate().take(10) {
            value |= u64::from(byte & 0x7f) << (7 * at);
            if byte & 0x80 == 0 {
                return Some((value, &bytes[at + 1..]));
            }
        }
        None
    }
}
