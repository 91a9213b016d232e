//! One order as a resource: create (`201` with `Location`), read (`ETag`,
//! `304`), change and delete under `If-Match` (`412` when stale, `428`
//! when missing).

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use model::labs::api::{NewOrder, Order, OrderChange, OrderLine};
use serde_json::Value;

use super::idempotency::{self, KeyChecked, Stored};
use super::problem::{invalid_at, ApiProblem, Kind};
use super::shop::{in_shop, integer, query, text};
use super::ApiLab;
use crate::error::extract::{Json as JsonBody, Path};
use crate::error::ApiError;
use crate::identity::Student;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::conditional::{etag_of, if_match, none_match_hits, Precondition};
use crate::labs::sql::engine::{Db, SqlError};
use crate::labs::{CurrentSettings, Labs};

/// Lines one order may have.
const MAX_LINES: usize = 20;
/// Most of one product in one line.
const MAX_QUANTITY: i64 = 100;
/// The statuses an order may have (the shop's `CHECK` constraint).
pub(super) const STATUSES: [&str; 4] = ["placed", "shipped", "delivered", "cancelled"];

const ORDER: &str = "SELECT id, customer_id, placed_at, status FROM orders WHERE id = ?";
const LINES: &str = "SELECT product_id, quantity, unit_price_cents FROM order_items WHERE order_id = ? ORDER BY product_id";

/// The order and its lines, or `None` when there is no such order.
fn load(db: &mut Db, id: i64) -> Result<Option<Order>, SqlError> {
    let order = query(db, ORDER, &[Value::from(id)])?;
    let Some(row) = order.rows.first() else {
        return Ok(None);
    };
    let lines = query(db, LINES, &[Value::from(id)])?;
    let items = lines
        .rows
        .iter()
        .map(|line| {
            Ok(OrderLine {
                product_id: integer(line, 0)?,
                quantity: integer(line, 1)?,
                unit_price_cents: integer(line, 2)?,
            })
        })
        .collect::<Result<Vec<_>, SqlError>>()?;
    Ok(Some(Order {
        id: integer(row, 0)?,
        customer_id: integer(row, 1)?,
        placed_at: text(row, 2)?,
        status: text(row, 3)?,
        total_cents: items
            .iter()
            .map(|l| l.quantity.saturating_mul(l.unit_price_cents))
            .fold(0i64, i64::saturating_add),
        items,
    }))
}

/// The order's version: a tag of its JSON representation, so any change
/// to its status or lines (by this API or by the student's own SQL) is a
/// new version.
fn version(order: &Order) -> String {
    etag_of(&serde_json::to_vec(order).unwrap_or_default())
}

/// An order as the answer's body, with its `ETag`.
fn with_etag(status: StatusCode, order: &Order) -> Response {
    let tag = version(order);
    let mut response = (status, Json(order)).into_response();
    if let Ok(value) = HeaderValue::from_str(&tag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

fn not_found(id: i64) -> ApiProblem {
    ApiProblem::new(Kind::NotFound, format!("Your shop has no order {id}."))
}

/// `GET /labs/api/orders/{id}`.
#[utoipa::path(get, path = "/orders/{id}", operation_id = "read_order",
    summary = "One order, with its ETag",
    description = "Send If-None-Match with the ETag you hold: 304 and no body when the order has not changed.",
    params(("id" = i64, Path, description = "The order's id"),
        ("If-None-Match" = Option<String>, Header, description = "ETags you already hold")),
    responses(
        (status = 200, description = "The order", body = model::labs::api::Order,
            headers(("ETag" = String, description = "The order's version"))),
        (status = 304, description = "The order still has the ETag you sent",
            headers(("ETag" = String, description = "The order's version"))),
        (status = 404, description = "No such order in your shop", body = model::labs::api::Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn read(
    student: Student,
    State(labs): State<Labs>,
    inspector: Inspector,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let order = in_shop(&labs, &student.id, move |db| load(db, id)).await?;
    let Some(order) = order else {
        return Ok(not_found(id).answer(&inspector));
    };
    let tag = version(&order);
    if none_match_hits(&headers, &tag) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(value) = HeaderValue::from_str(&tag) {
            response.headers_mut().insert(header::ETAG, value);
        }
        return Ok(response);
    }
    Ok(with_etag(StatusCode::OK, &order))
}

/// The rules a new order's shape must follow, before the shop is asked.
fn check_shape(order: &NewOrder) -> Vec<model::labs::api::InvalidParam> {
    let mut errors = Vec::new();
    if order.items.is_empty() {
        errors.push(invalid_at("/items", "an order needs at least one line"));
    }
    if order.items.len() > MAX_LINES {
        errors.push(invalid_at(
            "/items",
            format!("an order may have at most {MAX_LINES} lines"),
        ));
    }
    for (at, line) in order.items.iter().enumerate() {
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            errors.push(invalid_at(
                format!("/items/{at}/quantity"),
                format!("must be between 1 and {MAX_QUANTITY}"),
            ));
        }
        if order.items[..at]
            .iter()
            .any(|earlier| earlier.product_id == line.product_id)
        {
            errors.push(invalid_at(
                format!("/items/{at}/product_id"),
                "this product already has a line; raise that line's quantity instead",
            ));
        }
    }
    errors
}

/// What happened to a create inside the shop.
enum Created {
    /// Written; `lost` when the fault switch drops this answer.
    Order {
        order: Order,
        lost: bool,
    },
    Invalid(Vec<model::labs::api::InvalidParam>),
}

/// What a create writes besides the order.
struct Bookkeeping {
    /// The request's key, whose response is stored with the order.
    key: Option<String>,
    fingerprint: String,
    /// Whether the fault switch is on.
    lose_responses: bool,
    now: i64,
}

/// Checks the customer and products exist and writes the order, its
/// lines, the key's stored response and the fault switch's note in one
/// transaction, at today's prices.
fn insert(db: &mut Db, order: NewOrder, books: &Bookkeeping) -> Result<Created, SqlError> {
    query(db, "BEGIN IMMEDIATE", &[])?;
    let mut errors = Vec::new();
    let customer = query(
        db,
        "SELECT 1 FROM customers WHERE id = ?",
        &[Value::from(order.customer_id)],
    )?;
    if customer.rows.is_empty() {
        errors.push(invalid_at(
            "/customer_id",
            format!("your shop has no customer {}", order.customer_id),
        ));
    }
    let mut prices = Vec::with_capacity(order.items.len());
    for (at, line) in order.items.iter().enumerate() {
        let price = query(
            db,
            "SELECT price_cents FROM products WHERE id = ?",
            &[Value::from(line.product_id)],
        )?;
        match price.rows.first() {
            Some(row) => prices.push(integer(row, 0)?),
            None => errors.push(invalid_at(
                format!("/items/{at}/product_id"),
                format!("your shop has no product {}", line.product_id),
            )),
        }
    }
    if !errors.is_empty() {
        query(db, "ROLLBACK", &[])?;
        return Ok(Created::Invalid(errors));
    }
    let inserted = query(
        db,
        "INSERT INTO orders (customer_id, placed_at, status) VALUES (?, datetime(?, 'unixepoch'), 'placed') RETURNING id",
        &[Value::from(order.customer_id), Value::from(books.now)],
    )?;
    let id = inserted
        .rows
        .first()
        .map(|row| integer(row, 0))
        .transpose()?
        .unwrap_or_default();
    for (line, price) in order.items.iter().zip(prices) {
        query(
            db,
            "INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents) VALUES (?, ?, ?, ?)",
            &[
                Value::from(id),
                Value::from(line.product_id),
                Value::from(line.quantity),
                Value::from(price),
            ],
        )?;
    }
    let Some(created) = load(db, id)? else {
        query(db, "ROLLBACK", &[])?;
        return Ok(Created::Invalid(Vec::new()));
    };
    if let Some(key) = &books.key {
        let body = serde_json::to_string(&created).unwrap_or_default();
        idempotency::store(db, key, &Stored::created(id, body))?;
    }
    let lost = books.lose_responses
        && query(
            db,
            "INSERT INTO api_lost_responses (fingerprint, order_id, lost_at) VALUES (?, ?, ?) ON CONFLICT (fingerprint) DO NOTHING",
            &[
                Value::from(books.fingerprint.clone()),
                Value::from(id),
                Value::from(books.now),
            ],
        )?
        .changes
            > 0;
    query(db, "COMMIT", &[])?;
    Ok(Created::Order {
        order: created,
        lost,
    })
}

/// The inspector's record of an answer the fault switch dropped.
#[derive(serde::Serialize)]
struct ResponseDropped<'a> {
    order_id: i64,
    fingerprint: &'a str,
}

impl LabEvent for ResponseDropped<'_> {
    const KIND: &'static str = "api.fault";
    fn summary(&self) -> String {
        format!(
            "order {} was committed, then its answer was dropped (lose_responses is on)",
            self.order_id
        )
    }
}

/// `POST /labs/api/orders`: `201 Created`, the new order's URL in
/// `Location`; with an `Idempotency-Key`, at most one order per key.
#[utoipa::path(post, path = "/orders", operation_id = "create_order",
    summary = "Place an order",
    description = "Answers 201 with the new order's Location. With an Idempotency-Key, a retry of the same request replays the first answer instead of placing a second order.",
    params(("Idempotency-Key" = Option<String>, Header, description = "A key of your choosing, unique per order you mean to place (1 to 255 printable characters)")),
    request_body = model::labs::api::NewOrder,
    responses(
        (status = 201, description = "The order was placed (or, for a repeated key, had been)", body = model::labs::api::Order,
            headers(("Location" = String, description = "The new order's URL"), ("ETag" = String, description = "The order's version"),
                ("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same key"))),
        (status = 400, description = "The Idempotency-Key is malformed", body = model::labs::api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A request with this Idempotency-Key is still being processed", body = model::labs::api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body is well-formed but invalid, or the Idempotency-Key was used with another body; `errors` points at each invalid part", body = model::labs::api::Problem, content_type = "application/problem+json"),
        (status = 502, description = "Only with the fault switch `lose_responses` on: the order was written, its answer lost", body = model::labs::api::Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn create(
    student: Student,
    State(labs): State<Labs>,
    inspector: Inspector,
    CurrentSettings(settings, ..): CurrentSettings<ApiLab>,
    headers: HeaderMap,
    JsonBody(order): JsonBody<NewOrder>,
) -> Result<Response, ApiError> {
    let errors = check_shape(&order);
    if !errors.is_empty() {
        return Ok(ApiProblem::invalid(errors).answer(&inspector));
    }
    let key = match idempotency::key_of(&headers) {
        Ok(key) => key,
        Err(problem) => return Ok(problem.answer(&inspector)),
    };
    let books = Bookkeeping {
        key,
        fingerprint: idempotency::fingerprint(&order),
        lose_responses: settings.lose_responses,
        now: labs.clock.now(),
    };
    if let Some(key) = books.key.clone() {
        let (fingerprint, now) = (books.fingerprint.clone(), books.now);
        let claimed = in_shop(&labs, &student.id, move |db| {
            idempotency::claim(db, &key, &fingerprint, now)
        })
        .await?;
        let key = books.key.as_deref().unwrap_or_default();
        let (decision, order_id) = claimed.decision();
        inspector.record(&KeyChecked {
            key,
            fingerprint: &books.fingerprint,
            decision,
            order_id,
        });
        if let Some(answer) = idempotency::refusal(claimed, key) {
            return Ok(answer);
        }
    }
    if settings.create_latency_ms > 0 {
        let _step = inspector.step("api.processing", "the order is being processed");
        tokio::time::sleep(Duration::from_millis(settings.create_latency_ms.into())).await;
    }
    let fingerprint = books.fingerprint.clone();
    let (order, lost) = match write_order(&labs, &student, &inspector, order, books).await? {
        Created::Order { order, lost } => (order, lost),
        Created::Invalid(errors) => return Ok(ApiProblem::invalid(errors).answer(&inspector)),
    };
    if lost {
        inspector.record(&ResponseDropped {
            order_id: order.id,
            fingerprint: &fingerprint,
        });
        return Ok(ApiProblem::new(
            Kind::ResponseLost,
            "The answer to this request was lost on its way back to you. Did the server create the order? Retry and see.",
        )
        .into_response());
    }
    let mut response = with_etag(StatusCode::CREATED, &order);
    if let Ok(location) = HeaderValue::from_str(&format!("/labs/api/orders/{}", order.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Writes the order; a claimed key whose write failed or was refused is
/// released, so a retry runs afresh.
async fn write_order(
    labs: &Labs,
    student: &Student,
    inspector: &Inspector,
    order: NewOrder,
    books: Bookkeeping,
) -> Result<Created, ApiError> {
    let key = books.key.clone();
    let written = {
        let mut step = inspector.step(
            "api.commit",
            if key.is_some() {
                "order, lines and the key's stored answer written in one transaction"
            } else {
                "order and lines written in one transaction"
            },
        );
        let written = in_shop(labs, &student.id, move |db| insert(db, order, &books)).await;
        if let Ok(Created::Order { order, .. }) = &written {
            step.field("order_id", order.id);
            step.field("lines", order.items.len());
        }
        written
    };
    if let (Some(key), false) = (key, matches!(written, Ok(Created::Order { .. }))) {
        in_shop(labs, &student.id, move |db| idempotency::release(db, &key)).await?;
    }
    written
}

/// The inspector's record of an `If-Match` check.
#[derive(serde::Serialize)]
struct PreconditionChecked<'a> {
    if_match: Option<&'a str>,
    current_etag: &'a str,
    outcome: Precondition,
    required: bool,
}

impl LabEvent for PreconditionChecked<'_> {
    const KIND: &'static str = "api.precondition";
    fn summary(&self) -> String {
        match self.outcome {
            Precondition::Matches => "If-Match names the current version: the write goes ahead".into(),
            Precondition::Stale => format!(
                "If-Match names an old version, the order is now {}: refused with 412",
                self.current_etag
            ),
            Precondition::Missing if self.required => "no If-Match: refused with 428".into(),
            Precondition::Missing => "no If-Match, and the settings allow blind writes: a change made since the client read the order is overwritten".into(),
        }
    }
}

/// A write under `If-Match`.
enum Write {
    Change(String),
    Delete,
}

/// What happened to a conditional write inside the shop.
enum Written {
    Done(Option<Order>),
    Missing,
    Refused {
        outcome: Precondition,
        current: String,
    },
}

/// Reads the order, checks the precondition against it and writes, all in
/// one transaction: nobody can change the order between the check and the
/// write.
fn write_if(
    db: &mut Db,
    id: i64,
    headers: &HeaderMap,
    required: bool,
    write: Write,
    inspector: &Inspector,
) -> Result<Written, SqlError> {
    query(db, "BEGIN IMMEDIATE", &[])?;
    let Some(order) = load(db, id)? else {
        query(db, "ROLLBACK", &[])?;
        return Ok(Written::Missing);
    };
    let current = version(&order);
    let outcome = if_match(headers, &current);
    inspector.record(&PreconditionChecked {
        if_match: headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()),
        current_etag: &current,
        outcome,
        required,
    });
    if outcome == Precondition::Stale || (outcome == Precondition::Missing && required) {
        query(db, "ROLLBACK", &[])?;
        return Ok(Written::Refused { outcome, current });
    }
    let changed = match write {
        Write::Change(status) => {
            query(
                db,
                "UPDATE orders SET status = ? WHERE id = ?",
                &[Value::from(status), Value::from(id)],
            )?;
            load(db, id)?
        }
        Write::Delete => {
            query(
                db,
                "DELETE FROM order_items WHERE order_id = ?",
                &[Value::from(id)],
            )?;
            query(db, "DELETE FROM orders WHERE id = ?", &[Value::from(id)])?;
            None
        }
    };
    query(db, "COMMIT", &[])?;
    Ok(Written::Done(changed))
}

/// Runs a conditional write and turns its outcome into the answer.
async fn conditional(
    labs: &Labs,
    student: &Student,
    inspector: &Inspector,
    id: i64,
    headers: HeaderMap,
    required: bool,
    write: Write,
) -> Result<Response, ApiError> {
    let recorder = inspector.clone();
    let written = in_shop(labs, &student.id, move |db| {
        write_if(db, id, &headers, required, write, &recorder)
    })
    .await?;
    Ok(match written {
        Written::Done(Some(order)) => with_etag(StatusCode::OK, &order),
        Written::Done(None) => StatusCode::NO_CONTENT.into_response(),
        Written::Missing => not_found(id).answer(inspector),
        Written::Refused {
            outcome: Precondition::Missing,
            ..
        } => ApiProblem::new(
            Kind::PreconditionRequired,
            format!("Send If-Match with the ETag of order {id} as you last read it (GET /labs/api/orders/{id})."),
        )
        .answer(inspector),
        Written::Refused { current, .. } => {
            let problem = ApiProblem::new(
                Kind::PreconditionFailed,
                format!("Order {id} is now at version {current}; nothing was written."),
            );
            match HeaderValue::from_str(&current) {
                Ok(tag) => problem.with_header(header::ETAG, tag),
                Err(_) => problem,
            }
            .answer(inspector)
        }
    })
}

/// `PATCH /labs/api/orders/{id}`: changes the status.
#[utoipa::path(patch, path = "/orders/{id}", operation_id = "update_order",
    summary = "Change an order's status, if nobody changed it since you read it",
    params(("id" = i64, Path, description = "The order's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; required unless the lab's `require_if_match` is off")),
    request_body = model::labs::api::OrderChange,
    responses(
        (status = 200, description = "The changed order", body = model::labs::api::Order,
            headers(("ETag" = String, description = "The order's new version"))),
        (status = 404, description = "No such order in your shop", body = model::labs::api::Problem, content_type = "application/problem+json"),
        (status = 412, description = "The order changed since you read it; nothing was written", body = model::labs::api::Problem, content_type = "application/problem+json",
            headers(("ETag" = String, description = "The order's current version"))),
        (status = 428, description = "If-Match is required", body = model::labs::api::Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn update(
    student: Student,
    State(labs): State<Labs>,
    inspector: Inspector,
    CurrentSettings(settings, ..): CurrentSettings<ApiLab>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    JsonBody(change): JsonBody<OrderChange>,
) -> Result<Response, ApiError> {
    if !STATUSES.contains(&change.status.as_str()) {
        return Ok(ApiProblem::invalid(vec![invalid_at(
            "/status",
            format!("must be one of {}", STATUSES.join(", ")),
        )])
        .answer(&inspector));
    }
    let write = Write::Change(change.status);
    conditional(
        &labs,
        &student,
        &inspector,
        id,
        headers,
        settings.require_if_match,
        write,
    )
    .await
}

/// `DELETE /labs/api/orders/{id}`.
#[utoipa::path(delete, path = "/orders/{id}", operation_id = "delete_order",
    summary = "Delete an order, if nobody changed it since you read it",
    params(("id" = i64, Path, description = "The order's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; required unless the lab's `require_if_match` is off")),
    responses(
        (status = 204, description = "The order is gone"),
        (status = 404, description = "No such order in your shop", body = model::labs::api::Problem, content_type = "application/problem+json"),
        (status = 412, description = "The order changed since you read it; nothing was deleted", body = model::labs::api::Problem, content_type = "application/problem+json",
            headers(("ETag" = String, description = "The order's current version"))),
        (status = 428, description = "If-Match is required", body = model::labs::api::Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn remove(
    student: Student,
    State(labs): State<Labs>,
    inspector: Inspector,
    CurrentSettings(settings, ..): CurrentSettings<ApiLab>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    conditional(
        &labs,
        &student,
        &inspector,
        id,
        headers,
        settings.require_if_match,
        Write::Delete,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::labs::api::NewOrderLine;

    fn line(product_id: i64, quantity: i64) -> NewOrderLine {
        NewOrderLine {
            product_id,
            quantity,
        }
    }

    #[test]
    fn a_new_orders_shape_is_checked_with_pointers_to_each_bad_value() {
        let order = NewOrder {
            customer_id: 1,
            items: vec![line(1, 0), line(2, 1), line(2, 101)],
        };
        let pointers: Vec<_> = check_shape(&order).into_iter().map(|e| e.pointer).collect();
        assert_eq!(
            pointers,
            vec![
                "/items/0/quantity",
                "/items/2/quantity",
                "/items/2/product_id"
            ]
        );
        let empty = NewOrder {
            customer_id: 1,
            items: vec![],
        };
        assert_eq!(check_shape(&empty)[0].pointer, "/items");
        let fine = NewOrder {
            customer_id: 1,
            items: vec![line(1, 1), line(2, 100)],
        };
        assert!(check_shape(&fine).is_empty());
    }
}
