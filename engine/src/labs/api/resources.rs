//! The resources an order refers to, each at its own URL: what a client
//! of a plain resource API fetches one by one, and `?include=` brings along.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::problem::{ApiProblem, Kind};
use super::related;
use super::shop::in_shop;
use crate::error::extract::Path;
use crate::error::ApiError;
use crate::identity::Student;
use crate::inspector::Inspector;
use crate::labs::sql::engine::{Db, SqlError};
use crate::labs::Labs;

/// `GET /labs/api/customers/{id}`.
#[utoipa::path(get, path = "/customers/{id}", operation_id = "read_customer",
    summary = "One customer of your shop",
    params(("id" = i64, Path, description = "The customer's id")),
    responses(
        (status = 200, description = "The customer", body = model::labs::api::ShopCustomer),
        (status = 404, description = "No such customer in your shop", body = model::labs::api::Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn customer(
    student: Student,
    State(labs): State<Labs>,
    inspector: Inspector,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    one(
        &labs,
        &student,
        &inspector,
        "customer",
        id,
        related::customers,
    )
    .await
}

/// `GET /labs/api/products/{id}`.
#[utoipa::path(get, path = "/products/{id}", operation_id = "read_product",
    summary = "One product of your shop",
    params(("id" = i64, Path, description = "The product's id")),
    responses(
        (status = 200, description = "The product", body = model::labs::api::ShopProduct),
        (status = 404, description = "No such product in your shop", body = model::labs::api::Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn product(
    student: Student,
    State(labs): State<Labs>,
    inspector: Inspector,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    one(
        &labs,
        &student,
        &inspector,
        "product",
        id,
        related::products,
    )
    .await
}

/// The `what` with `id`, read by `read` (one of [`related`]'s batches),
/// or a `404` problem.
async fn one<T: serde::Serialize + Send + 'static>(
    labs: &Labs,
    student: &Student,
    inspector: &Inspector,
    what: &str,
    id: i64,
    read: fn(&mut Db, &BTreeSet<i64>) -> Result<Vec<T>, SqlError>,
) -> Result<Response, ApiError> {
    let found = in_shop(labs, &student.id, move |db| read(db, &BTreeSet::from([id]))).await?;
    Ok(match found.into_iter().next() {
        Some(resource) => Json(resource).into_response(),
        None => ApiProblem::new(
            Kind::ResourceNotFound,
            format!("Your shop has no {what} {id}."),
        )
        .answer(inspector),
    })
}
