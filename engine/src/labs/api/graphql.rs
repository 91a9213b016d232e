//! The same orders as GraphQL: `POST /labs/api/graphql`.
//!
//! One request asks for exactly the fields it wants, nested as deep as the
//! schema allows: orders, their customer and lines, the lines' products,
//! and a customer's own orders. That last edge makes the schema cyclic, so
//! a query could nest forever: the schema refuses queries deeper than
//! [`MAX_DEPTH`] or costlier than [`MAX_COMPLEXITY`] before running any
//! resolver. Requests that cannot run (bad JSON, a syntax error, an
//! unknown field, a limit) are `400` problems like every error of this
//! lab; a query that runs answers `200` with `data`, and `errors` for the
//! fields that failed. `GET /labs/api/graphql/schema` has the schema.

use std::sync::OnceLock;

use async_graphql::{
    ComplexObject, Context, EmptyMutation, EmptySubscription, Object, Schema, SimpleObject,
};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use model::labs::api::{ShopCustomer, ShopProduct};

use super::problem::{invalid_at, ApiProblem, Kind};
use super::related::{self, FullOrder};
use super::shop::in_shop;
use crate::error::extract::Json as JsonBody;
use crate::error::ApiError;
use crate::identity::Student;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::Labs;
use crate::students::StudentId;

/// Deepest field nesting a query may have (`orders { customer { orders {
/// items { product { name } } } } }` is 6).
pub(crate) const MAX_DEPTH: usize = 6;
/// Most a query may cost: each field 1, a list field `first` times its
/// children.
pub(crate) const MAX_COMPLEXITY: usize = 1000;
/// Most orders one list field returns.
const MAX_FIRST: i32 = 20;

type ShopSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Built once: the schema does not change while the server runs.
fn schema() -> &'static ShopSchema {
    static SCHEMA: OnceLock<ShopSchema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        Schema::build(Query, EmptyMutation, EmptySubscription)
            .limit_depth(MAX_DEPTH)
            .limit_complexity(MAX_COMPLEXITY)
            .limit_recursive_depth(16)
            .limit_directives(4)
            .finish()
    })
}

/// The schema in GraphQL's own language, written once.
fn sdl() -> &'static str {
    static SDL: OnceLock<String> = OnceLock::new();
    SDL.get_or_init(|| schema().sdl())
}

/// The root of every query.
pub(super) struct Query;

#[Object]
impl Query {
    /// The newest orders, newest first (`first`: 1 to 20).
    #[graphql(complexity = "first.clamp(1, 20) as usize * child_complexity")]
    async fn orders(
        &self,
        context: &Context<'_>,
        #[graphql(default = 5)] first: i32,
    ) -> async_graphql::Result<Vec<GqlOrder>> {
        let orders = load(context, first, None).await?;
        Ok(orders.into_iter().map(GqlOrder::from).collect())
    }

    /// One customer, if your shop has them.
    async fn customer(
        &self,
        context: &Context<'_>,
        id: i64,
    ) -> async_graphql::Result<Option<GqlCustomer>> {
        let (labs, student) = shop_of(context)?;
        let found = in_shop(labs, student, move |db| {
            related::customers(db, &std::collections::BTreeSet::from([id]))
        })
        .await?;
        Ok(found.into_iter().next().map(GqlCustomer::from))
    }
}

fn shop_of<'a>(context: &'a Context<'_>) -> async_graphql::Result<(&'a Labs, &'a StudentId)> {
    Ok((context.data::<Labs>()?, context.data::<StudentId>()?))
}

/// One turn of the student's shop reading `first` full orders.
async fn load(
    context: &Context<'_>,
    first: i32,
    customer: Option<i64>,
) -> async_graphql::Result<Vec<FullOrder>> {
    if !(1..=MAX_FIRST).contains(&first) {
        return Err(format!("first must be between 1 and {MAX_FIRST}, not {first}").into());
    }
    let (labs, student) = shop_of(context)?;
    let orders = in_shop(labs, student, move |db| {
        related::full_orders(db, first as usize, customer)
    })
    .await?;
    if let Ok(inspector) = context.data::<Inspector>() {
        inspector.record(&Resolved {
            field: if customer.is_some() {
                "Customer.orders"
            } else {
                "Query.orders"
            },
            orders: orders.len(),
        });
    }
    Ok(orders)
}

/// An order.
#[derive(SimpleObject)]
#[graphql(name = "Order")]
struct GqlOrder {
    id: i64,
    placed_at: String,
    status: String,
    total_cents: i64,
    customer: GqlCustomer,
    items: Vec<GqlItem>,
}

impl From<FullOrder> for GqlOrder {
    fn from(order: FullOrder) -> Self {
        Self {
            id: order.id,
            total_cents: order.total_cents(),
            placed_at: order.placed_at,
            status: order.status,
            customer: order.customer.into(),
            items: order
                .items
                .into_iter()
                .map(|line| GqlItem {
                    quantity: line.quantity,
                    unit_price_cents: line.unit_price_cents,
                    product: line.product.into(),
                })
                .collect(),
        }
    }
}

/// One line of an order.
#[derive(SimpleObject)]
#[graphql(name = "OrderItem")]
struct GqlItem {
    quantity: i64,
    unit_price_cents: i64,
    product: GqlProduct,
}

/// A product.
#[derive(SimpleObject)]
#[graphql(name = "Product")]
struct GqlProduct {
    id: i64,
    name: String,
    price_cents: i64,
}

impl From<ShopProduct> for GqlProduct {
    fn from(product: ShopProduct) -> Self {
        Self {
            id: product.id,
            name: product.name,
            price_cents: product.price_cents,
        }
    }
}

/// A customer, whose own orders can be asked for too.
#[derive(SimpleObject)]
#[graphql(name = "Customer", complex)]
struct GqlCustomer {
    id: i64,
    name: String,
    city: Option<String>,
    country: String,
}

impl From<ShopCustomer> for GqlCustomer {
    fn from(customer: ShopCustomer) -> Self {
        Self {
            id: customer.id,
            name: customer.name,
            city: customer.city,
            country: customer.country,
        }
    }
}

#[ComplexObject]
impl GqlCustomer {
    /// This customer's newest orders (`first`: 1 to 20): one more trip to
    /// the shop for each customer asked about.
    #[graphql(complexity = "first.clamp(1, 20) as usize * child_complexity")]
    async fn orders(
        &self,
        context: &Context<'_>,
        #[graphql(default = 5)] first: i32,
    ) -> async_graphql::Result<Vec<GqlOrder>> {
        let orders = load(context, first, Some(self.id)).await?;
        Ok(orders.into_iter().map(GqlOrder::from).collect())
    }
}

/// The inspector's record of one resolver's trip to the shop.
#[derive(serde::Serialize)]
struct Resolved {
    field: &'static str,
    orders: usize,
}

impl LabEvent for Resolved {
    const KIND: &'static str = "api.graphql.resolve";
    fn summary(&self) -> String {
        format!(
            "{} read {} orders, with their customers and products, in one turn of your shop",
            self.field, self.orders
        )
    }
}

/// The body of `POST /labs/api/graphql`, as the OpenAPI document shows it.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub(super) struct GraphqlRequest {
    /// The query, in GraphQL.
    query: String,
    /// Which operation of the query to run, when it has several.
    operation_name: Option<String>,
    /// Values for the query's `$variables`.
    variables: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `POST /labs/api/graphql`.
#[utoipa::path(post, path = "/graphql", operation_id = "graphql",
    summary = "Ask for orders, customers and products in GraphQL",
    description = "The body is `{\"query\": \"...\", \"variables\": {...}}`. A query that runs answers 200 with `data` (and `errors` for fields that failed). One that cannot run, because it does not parse, asks for a field the schema lacks, nests deeper than 6 or costs more than 1000, is refused with a 400 problem listing GraphQL's messages. The schema is at `/labs/api/graphql/schema`.",
    request_body = GraphqlRequest,
    responses(
        (status = 200, description = "The query ran: `data`, and `errors` for fields that failed", body = Object),
        (status = 400, description = "The request cannot run: GraphQL's messages are in `errors`", body = model::labs::api::Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn query(
    student: Student,
    State(labs): State<Labs>,
    inspector: Inspector,
    JsonBody(request): JsonBody<async_graphql::Request>,
) -> Result<Response, ApiError> {
    let request = request
        .data(labs.clone())
        .data(student.id.clone())
        .data(inspector.clone());
    let response = schema().execute(request).await;
    // Errors without a path were raised before any resolver ran: parsing,
    // validation, or a limit. The request could not run at all.
    let refused = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    if refused {
        let errors = response
            .errors
            .iter()
            .map(|error| {
                let at = error
                    .locations
                    .first()
                    .map(|p| format!(" (line {}, column {})", p.line, p.column))
                    .unwrap_or_default();
                invalid_at("/query", format!("{}{at}", error.message))
            })
            .collect();
        return Ok(ApiProblem::new(
            Kind::GraphqlRefused,
            "The GraphQL request cannot run: see errors.",
        )
        .with_errors(errors)
        .answer(&inspector));
    }
    Ok(Json(response).into_response())
}

/// `GET /labs/api/graphql/schema`.
#[utoipa::path(get, path = "/graphql/schema", operation_id = "graphql_schema",
    summary = "The GraphQL schema, in GraphQL's schema language",
    responses((status = 200, description = "The schema", body = String, content_type = "text/plain")))]
pub(super) async fn schema_text() -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], sdl()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn refusal(query: &str) -> Vec<String> {
        let response = schema().execute(async_graphql::Request::new(query)).await;
        response.errors.into_iter().map(|e| e.message).collect()
    }

    #[tokio::test]
    async fn deep_and_costly_queries_are_refused_before_any_resolver_runs() {
        let deep =
            "{ orders { customer { orders { customer { orders { customer { name } } } } } } }";
        assert_eq!(refusal(deep).await, ["Query is nested too deep."]);
        let costly = "{ orders(first: 20) { customer { orders(first: 20) { items { product { name } } } } } }";
        assert_eq!(refusal(costly).await, ["Query is too complex."]);
        let garbage = refusal("{ orders { ").await;
        assert!(garbage[0].contains("expected"), "{garbage:?}");
        let unknown = refusal("{ sellers { name } }").await;
        assert!(unknown[0].contains("sellers"), "{unknown:?}");
    }

    #[test]
    fn the_schema_names_its_types_as_the_lesson_does() {
        let sdl = sdl();
        for expected in [
            "type Order",
            "type OrderItem",
            "type Customer",
            "type Product",
            "orders(first: Int! = 5): [Order!]!",
        ] {
            assert!(sdl.contains(expected), "{expected} missing from\n{sdl}");
        }
    }
}
