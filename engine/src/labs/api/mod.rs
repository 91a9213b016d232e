//! The API lab: the orders of the student's own shop (the SQL lab's
//! sandbox), served as a JSON API the way a careful team would build one.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /labs/api/orders` | a page of orders, newest first: `?page=&per_page=` (offset) or `?paging=cursor` then `?after=` (keyset); RFC 8288 `Link` headers |
//! | `POST /labs/api/orders` | creates an order from `{"customer_id", "items": [{"product_id", "quantity"}]}`: `201 Created`, `Location`, `ETag`; an `Idempotency-Key` makes retries safe (replay, `422` for another body, `409` while the first runs) |
//! | `GET /labs/api/orders/{id}` | one order with its lines and total; `ETag`, and `304` for a matching `If-None-Match` |
//! | `PATCH /labs/api/orders/{id}` | `{"status"}`; `If-Match` with the order's `ETag`: `412` when stale, `428` when missing |
//! | `DELETE /labs/api/orders/{id}` | deletes the order and its lines, with the same precondition: `204` |
//! | `POST /labs/api/exports` | starts an export of the orders (`{"status"}` optional): `202 Accepted`, the job's URL in `Location` |
//! | `GET /labs/api/exports/{id}` | the job: status, progress, links; `Retry-After` while it runs |
//! | `GET /labs/api/exports/{id}/events` | the same progress as server-sent events, ending with `done`, `cancelled` or `failed` |
//! | `GET /labs/api/exports/{id}/result` | the report, once done (`409` before, `410` after a cancel) |
//! | `DELETE /labs/api/exports/{id}` | cancels a running job (`202`) or forgets a finished one (`204`) |
//! | `PUT /labs/api/writer` | starts another client writing to the orders while the student pages (`WriterConfig`); `GET` says what it did, `DELETE` stops it |
//! | `GET /labs/api/customers/{id}`, `GET /labs/api/products/{id}` | what an order refers to, one resource at a time (`?include=customer,items` on the list brings them along instead) |
//! | `POST /labs/api/graphql` | the same orders, customers and products in GraphQL, with depth and cost limits; `GET /labs/api/graphql/schema` has the schema |
//! | `POST /labs/api/grpc/workbench.shop.v1.Shop/ListOrders` | the same again over gRPC-Web (protobuf in frames) |
//! | `POST /labs/api/transport-race` | the same requests over HTTP/1.1 on one connection, on six, and over HTTP/2 on one: connections opened, requests in flight, and each request's timing |
//! | `GET /labs/api/problems/{type}` | what each problem type means, in words |
//!
//! Every error is an RFC 9457 problem document
//! (`application/problem+json`): the lab's own with a `type` under
//! `/labs/api/problems/`, the shared layers' as `about:blank`. The
//! inspector shows each page's SQL, its plan and how many rows SQLite
//! stepped over (`api.page`), each precondition's outcome
//! (`api.precondition`), what each idempotency key decided
//! (`api.idempotency`) and each answer the fault switch dropped
//! (`api.fault`).

mod checks;
mod graphql;
pub mod grpc;
mod idempotency;
mod jobs;
mod orders;
mod pages;
mod problem;
mod related;
mod resources;
mod shop;
mod transport;
mod writer;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Lab, LabContext, LabSettings};
use crate::error::ApiError;
use crate::grading::lab::LabChecks;
use crate::labs::Labs;
use crate::students::StudentId;

pub use model::labs::api::ApiSettings;

/// What the API lab keeps while the server runs: each student's export
/// jobs and writer, and the transport races running.
#[derive(Default)]
pub struct ApiState {
    jobs: jobs::Jobs,
    writers: writer::Writers,
    races: transport::Races,
}

/// The API lab.
pub struct ApiLab;

impl Lab for ApiLab {
    const NAME: &'static str = "api";
    const TITLE: &'static str = "Building APIs: resources, errors, pagination and safe updates";
    type Settings = ApiSettings;
    type State = ApiState;
    const PROBLEM_DETAILS: bool = true;
    const SHOP_TABLES: &'static str = shop::TABLES;

    fn state(_context: &LabContext) -> Self::State {
        ApiState::default()
    }

    fn routes(_state: &Labs) -> OpenApiRouter<Labs> {
        OpenApiRouter::default()
            .routes(routes!(pages::list, orders::create))
            .routes(routes!(orders::read, orders::update, orders::remove))
            .routes(routes!(writer::status, writer::start, writer::stop))
            .routes(routes!(jobs::start))
            .routes(routes!(jobs::poll, jobs::cancel))
            .routes(routes!(jobs::result))
            .routes(routes!(jobs::events))
            .routes(routes!(resources::customer))
            .routes(routes!(resources::product))
            .routes(routes!(graphql::query))
            .routes(routes!(graphql::schema_text))
            .routes(routes!(grpc::list_orders_web))
            .routes(routes!(transport::race))
            .routes(routes!(problem::explain))
    }

    fn checks() -> Option<LabChecks> {
        Some(LabChecks {
            lab: Self::NAME,
            load: checks::load,
        })
    }

    /// The answers the fault switch lost, and what followed, as `lost_answers`.
    async fn extend_answer(
        labs: &Labs,
        student: &StudentId,
        answer: &mut serde_json::Value,
    ) -> Result<(), ApiError> {
        answer["lost_answers"] = checks::lost_answers(labs, student).await?;
        Ok(())
    }

    fn forget_idle(labs: &Labs) {
        let state = labs.get::<Self>();
        state.jobs.forget_finished();
        state.writers.forget_stopped(labs.clock.now());
    }
}

/// Most orders one page may hold.
pub(crate) const MAX_PER_PAGE: u32 = 100;
/// Longest a create may be made to take.
const MAX_CREATE_LATENCY_MS: u32 = 3000;

impl LabSettings for ApiSettings {
    fn validate(&self) -> Result<(), String> {
        for (name, value, (low, high)) in [
            ("default_per_page", self.default_per_page, (1, MAX_PER_PAGE)),
            (
                "create_latency_ms",
                self.create_latency_ms,
                (0, MAX_CREATE_LATENCY_MS),
            ),
        ] {
            if !(low..=high).contains(&value) {
                return Err(format!(
                    "{name} must be between {low} and {high}, not {value}"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_the_page_size_is_bounded() {
        assert!(ApiSettings::default().validate().is_ok());
        for bad in [0, MAX_PER_PAGE + 1] {
            let settings = ApiSettings {
                default_per_page: bad,
                ..ApiSettings::default()
            };
            let error = settings.validate().unwrap_err();
            assert!(error.contains("default_per_page"), "{error}");
        }
        let slow = ApiSettings {
            create_latency_ms: MAX_CREATE_LATENCY_MS + 1,
            ..ApiSettings::default()
        };
        assert!(slow.validate().unwrap_err().contains("create_latency_ms"));
    }
}
