//! Monolith against microservices: the shop's order page (a customer, all
//! their orders, each line's item named and priced) built by one handler
//! with one SQL join, and by a backend-for-frontend that calls a users, an
//! orders and a catalog service over HTTP, each a real server on its own
//! loopback port with its own database ([`services`]). The student decides
//! how the BFF calls them (one after another or at once, the catalog once
//! per line or once for all) and what goes wrong in each service; the
//! trace shows every call, so the N+1 across services is there to count.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /labs/gateway/shop/monolith/customers/{id}/orders` | the page from one query |
//! | `GET /labs/gateway/shop/bff/customers/{id}/orders` | the page from the three services |
//! | `POST /labs/gateway/shop/compare` | many pages built both ways: success, p50, p99, calls a page |

mod bff;
mod data;
pub(super) mod plan;
mod services;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Json;
use model::labs::gateway::{ShopCompareRequest, ShopComparison};

use super::GatewayLab;
use crate::error::extract::{Json as JsonBody, Path};
use crate::error::{error_response, ApiError};
use crate::identity::Student;
use crate::inspector::Inspector;
use crate::labs::{CurrentSettings, LabState};
use crate::students::StudentId;
use data::CUSTOMERS;
use services::Services;

/// Comparisons running at once on the server.
const MAX_COMPARES: usize = 8;
/// The answer header counting the queries or calls behind a page.
const CALLS_HEADER: &str = "x-calls";
/// The answer header naming the service whose call failed a BFF page.
const FAILED_SERVICE_HEADER: &str = "x-failed-service";

/// The monolith's database and the three services, started on first use
/// and shared by every student (their faults travel with each call).
pub(crate) struct Shop {
    monolith: data::Database,
    services: Services,
    client: reqwest::Client,
    token: String,
    /// Students with a comparison running.
    comparing: Mutex<HashSet<StudentId>>,
}

impl Shop {
    /// The monolith's database filled, and the services listening.
    pub(super) async fn start(client: reqwest::Client, token: String) -> Result<Self, String> {
        Ok(Shop {
            monolith: data::database(data::Tables::All)
                .await
                .map_err(|e| format!("the monolith's database: {e}"))?,
            services: Services::start(&token).await?,
            client,
            token,
            comparing: Mutex::default(),
        })
    }
}

impl super::Gateway {
    /// The shop, started the first time anyone needs it.
    async fn shop(&self) -> Result<Arc<Shop>, ApiError> {
        self.shop
            .get_or_try_init(|| async {
                Shop::start(self.client.clone(), self.token.clone())
                    .await
                    .map(Arc::new)
            })
            .await
            .cloned()
            .map_err(|e| ApiError::Unavailable(format!("The shop's services could not start: {e}")))
    }
}

/// The shop, for a page of customer `id` (`404` when there is none).
async fn shop_for_customer(gateway: &super::Gateway, id: u32) -> Result<Arc<Shop>, ApiError> {
    if !(1..=CUSTOMERS).contains(&id) {
        return Err(ApiError::NotFound(format!(
            "The shop has customers 1 to {CUSTOMERS}; there is no customer {id}."
        )));
    }
    gateway.shop().await
}

fn page_response(page: model::labs::gateway::ShopOrderPage) -> Response {
    let calls = page.calls;
    let mut response = Json(page).into_response();
    response
        .headers_mut()
        .insert(CALLS_HEADER, HeaderValue::from(calls));
    response
}

/// `GET /labs/gateway/shop/monolith/customers/{id}/orders`.
#[utoipa::path(get, path = "/shop/monolith/customers/{id}/orders",
    summary = "The order page, built by the monolith",
    description = "One handler and one SQL query joining customers, orders, order lines and items, in the process's own database: no network between the parts. The trace shows the query.",
    params(("id" = u32, Path, description = "The customer, 1 to 50")),
    responses(
        (status = 200, description = "The page", body = model::labs::gateway::ShopOrderPage,
            headers(("X-Calls" = u32, description = "Queries made for it: 1"))),
        (status = 404, description = "No such customer", body = model::ErrorBody),
    ))]
pub(super) async fn monolith(
    LabState(gateway): LabState<GatewayLab>,
    _student: Student,
    inspector: Inspector,
    Path(id): Path<u32>,
) -> Result<Response, ApiError> {
    let shop = shop_for_customer(&gateway, id).await?;
    let page = bff::monolith_page(&shop, id, &inspector).await?;
    Ok(page_response(page))
}

/// `GET /labs/gateway/shop/bff/customers/{id}/orders`.
#[utoipa::path(get, path = "/shop/bff/customers/{id}/orders",
    summary = "The order page, built by the backend-for-frontend",
    description = "The BFF asks the users service who the customer is and the orders service for their orders, then the catalog service for each line's item, over HTTP to real servers on the loopback interface, as your settings' `shop` says: one call after another or at once (`parallel`), the catalog once per line or once for all (`batch_catalog`), each call given `call_timeout_ms`, the whole page 3 s. Your `shop` faults are injected into each call (each load rolls the error dice afresh; `POST /labs/gateway/shop/compare` rolls them from your seed). If any call fails, the page fails, naming the service. The trace shows every call.",
    params(("id" = u32, Path, description = "The customer, 1 to 50")),
    responses(
        (status = 200, description = "The page", body = model::labs::gateway::ShopOrderPage,
            headers(("X-Calls" = u32, description = "Service calls made for it"))),
        (status = 404, description = "No such customer", body = model::ErrorBody),
        (status = 502, description = "A service answered with an error or broke the connection: the page fails with it", body = model::ErrorBody,
            headers(("X-Failed-Service" = String, description = "The service whose call failed the page: users, orders or catalog"))),
        (status = 504, description = "A service did not answer within the call timeout, or the page took longer than 3 s", body = model::ErrorBody,
            headers(("X-Failed-Service" = String, description = "The service the page was waiting for"))),
    ))]
pub(super) async fn bff(
    LabState(gateway): LabState<GatewayLab>,
    CurrentSettings(settings, ..): CurrentSettings<GatewayLab>,
    inspector: Inspector,
    Path(id): Path<u32>,
) -> Result<Response, ApiError> {
    let shop = shop_for_customer(&gateway, id).await?;
    let page = rand::random::<u64>();
    let (outcome, built) =
        bff::bff_page(&shop, &settings.shop, settings.seed, page, id, &inspector).await;
    Ok(match built {
        Ok(page) => page_response(page),
        Err(failed) => {
            let mut response = error_response(failed.status, failed.message);
            let headers = response.headers_mut();
            headers.insert(CALLS_HEADER, HeaderValue::from(outcome.calls));
            headers.insert(
                FAILED_SERVICE_HEADER,
                HeaderValue::from_static(failed.service.name()),
            );
            response
        }
    })
}

/// Takes a student's place among the comparisons running; gives it back
/// when dropped.
struct Comparing<'a> {
    shop: &'a Shop,
    student: StudentId,
}

impl Drop for Comparing<'_> {
    fn drop(&mut self) {
        self.shop
            .comparing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.student);
    }
}

/// `POST /labs/gateway/shop/compare`.
#[utoipa::path(post, path = "/shop/compare",
    summary = "Many order pages, built both ways",
    description = "Builds the order page of customers 1, 2, 3 ... `pages` times by the monolith and `pages` times by your BFF (five at a time), with your settings' `shop` faults rolled from your `seed`, so the same settings and seed give the same failures. Answers each way's pages built and failed (and which service failed them), calls a page, and p50 and p99. One comparison per student at a time; at most 30 s.",
    request_body = model::labs::gateway::ShopCompareRequest,
    responses(
        (status = 200, description = "Both ways", body = model::labs::gateway::ShopComparison),
        (status = 409, description = "A comparison of yours is still running", body = model::ErrorBody),
        (status = 422, description = "`pages` is out of range", body = model::ErrorBody),
        (status = 503, description = "The server runs as many comparisons as it allows", body = model::ErrorBody),
    ))]
pub(super) async fn compare(
    LabState(gateway): LabState<GatewayLab>,
    CurrentSettings(settings, ..): CurrentSettings<GatewayLab>,
    student: Student,
    JsonBody(asked): JsonBody<ShopCompareRequest>,
) -> Result<Json<ShopComparison>, ApiError> {
    if !(1..=CUSTOMERS).contains(&asked.pages) {
        return Err(ApiError::Unprocessable(format!(
            "pages must be between 1 and {CUSTOMERS}, not {}",
            asked.pages
        )));
    }
    let shop = gateway.shop().await?;
    let _comparing = {
        let mut comparing = shop.comparing.lock().unwrap_or_else(|e| e.into_inner());
        if comparing.contains(&student.id) {
            return Err(ApiError::Conflict(
                "A comparison of yours is still running: wait for its answer.".into(),
            ));
        }
        if comparing.len() >= MAX_COMPARES {
            return Err(ApiError::Unavailable(format!(
                "The server runs {MAX_COMPARES} comparisons at once, the most it allows; try again in a few seconds."
            )));
        }
        comparing.insert(student.id.clone());
        Comparing {
            shop: &shop,
            student: student.id.clone(),
        }
    };
    let comparison = bff::compare(shop.clone(), &settings.shop, settings.seed, asked.pages).await?;
    Ok(Json(comparison))
}
