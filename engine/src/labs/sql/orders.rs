//! From SQL to code: `GET /labs/sql/customers/{id}/orders`, a customer's
//! orders with their items, served the way an app would serve them, with
//! sqlx on the student's own sandbox.
//!
//! `?strategy=n-plus-one` is the shape an ORM's lazy loading produces: one
//! query for the customer, one for their orders, then one more per order
//! for its items. `?strategy=join` asks once. Every query is a `sql.query`
//! event in the inspector, so the student counts them.

use std::collections::BTreeMap;
use std::time::Instant;

use super::sandbox::STATEMENT_TIME;

use axum::extract::{Path, Query};
use axum::Json;
use model::labs::sql::{
    Customer, CustomerOrders, CustomerOrdersOptions, LoadStrategy, Order, OrderItem,
};
use serde_json::Value;
use sqlx::sqlite::{SqliteConnectOptions, SqliteRow};
use sqlx::{Connection, Row, SqliteConnection};

use super::routes::SqlQuery;
use super::SqlLab;
use crate::error::{ApiError, InternalError};
use crate::identity::Student;
use crate::inspector::Inspector;
use crate::labs::LabState;

const CUSTOMER: &str = "SELECT id, name, email FROM customers WHERE id = ?";
const ORDERS: &str =
    "SELECT id, placed_at, status FROM orders WHERE customer_id = ? ORDER BY placed_at, id";
const ITEMS: &str = "SELECT p.name, i.quantity, i.unit_price_cents FROM order_items AS i JOIN products AS p ON p.id = i.product_id WHERE i.order_id = ? ORDER BY p.name";
const JOINED: &str = "SELECT c.id, c.name, c.email, o.id AS order_id, o.placed_at, o.status, p.name AS product, i.quantity, i.unit_price_cents
FROM customers AS c
LEFT JOIN orders AS o ON o.customer_id = c.id
LEFT JOIN order_items AS i ON i.order_id = o.id
LEFT JOIN products AS p ON p.id = i.product_id
WHERE c.id = ?
ORDER BY o.placed_at, o.id, p.name
LIMIT 2000";

/// Runs `sql` with one id, recording it in the inspector.
struct Traced<'a> {
    connection: SqliteConnection,
    inspector: &'a Inspector,
    queries: usize,
}

impl Traced<'_> {
    async fn fetch(&mut self, sql: &str, id: i64) -> Result<Vec<SqliteRow>, ApiError> {
        let started = Instant::now();
        let rows = sqlx::query(sql)
            .bind(id)
            .fetch_all(&mut self.connection)
            .await
            .map_err(student_data_error)?;
        self.queries += 1;
        self.inspector.record(&SqlQuery {
            statement: sql.to_string(),
            parameters: vec![Value::from(id)],
            rows: rows.len() as u64,
            elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
            plan: None,
        });
        Ok(rows)
    }
}

/// `GET /labs/sql/customers/{id}/orders?strategy=join|n-plus-one`.
#[utoipa::path(get, path = "/customers/{id}/orders",
    summary = "A customer's orders with their items, as an app would serve them",
    description = "An app-style endpoint written with sqlx over your sandbox. `strategy=n-plus-one` loads the customer, then their orders, then each order's items one query at a time (what an ORM's lazy loading does); `strategy=join` asks once. `queries` counts what it took, and each query shows in the inspector.",
    params(
        ("id" = i64, Path, description = "The customer's id"),
        model::labs::sql::CustomerOrdersOptions,
    ),
    responses(
        (status = 200, description = "The customer and their orders, oldest first", body = model::labs::sql::CustomerOrders),
        (status = 404, description = "Your sandbox has no customer with that id", body = model::ErrorBody),
        (status = 422, description = "Your sandbox's data could not be served (a table changed in the SQL lab), or the queries ran past their time limit", body = model::ErrorBody),
    ))]
pub(super) async fn customer_orders(
    LabState(sandboxes): LabState<SqlLab>,
    student: Student,
    inspector: Inspector,
    Path(id): Path<i64>,
    Query(options): Query<CustomerOrdersOptions>,
) -> Result<Json<CustomerOrders>, ApiError> {
    let held = sandboxes.hold(&student.id).await.map_err(|e| {
        tracing::error!(error = %e, "sql sandbox setup failed");
        ApiError::Internal(InternalError::Wiring(
            "the sql sandbox could not be prepared",
        ))
    })?;
    let connect = SqliteConnectOptions::new()
        .filename(&held.path)
        .read_only(true);
    let mut connection = SqliteConnection::connect_with(&connect).await?;
    // The student may have turned any table into a view that never ends:
    // the whole request gets the time one statement gets.
    let deadline = Instant::now() + STATEMENT_TIME;
    connection
        .lock_handle()
        .await?
        .set_progress_handler(1000, move || Instant::now() < deadline);
    let mut traced = Traced {
        connection,
        inspector: &inspector,
        queries: 0,
    };
    let loaded = match options.strategy {
        LoadStrategy::NPlusOne => n_plus_one(&mut traced, id).await,
        LoadStrategy::Join => joined(&mut traced, id).await,
    };
    let queries = traced.queries;
    traced.connection.close().await?;
    drop(held);
    let (customer, orders) = loaded?;
    Ok(Json(CustomerOrders {
        strategy: options.strategy,
        queries,
        customer,
        orders,
    }))
}

/// Column `index` of `row`; a student who changed a column's type gets a 4xx.
fn get<'r, T>(row: &'r SqliteRow, index: usize) -> Result<T, ApiError>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(index).map_err(student_data_error)
}

/// A query over the student's own (changeable) data failed: their business, a 4xx.
fn student_data_error(e: sqlx::Error) -> ApiError {
    let message = e.to_string();
    if message.contains("interrupted") {
        ApiError::Unprocessable("the queries ran past their time limit and were stopped".into())
    } else {
        ApiError::Unprocessable(format!(
            "your sandbox's data could not be served: {message}"
        ))
    }
}

fn no_customer(id: i64) -> ApiError {
    ApiError::NotFound(format!("there is no customer {id} in your sandbox"))
}

async fn n_plus_one(traced: &mut Traced<'_>, id: i64) -> Result<(Customer, Vec<Order>), ApiError> {
    let row = traced
        .fetch(CUSTOMER, id)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| no_customer(id))?;
    let customer = Customer {
        id: get(&row, 0)?,
        name: get(&row, 1)?,
        email: get(&row, 2)?,
    };
    let mut orders = Vec::new();
    for row in traced.fetch(ORDERS, id).await? {
        let order_id: i64 = get(&row, 0)?;
        let items = traced
            .fetch(ITEMS, order_id)
            .await?
            .iter()
            .map(|r| {
                Ok(OrderItem {
                    product: get(r, 0)?,
                    quantity: get(r, 1)?,
                    unit_price_cents: get(r, 2)?,
                })
            })
            .collect::<Result<_, ApiError>>()?;
        orders.push(Order {
            id: order_id,
            placed_at: get(&row, 1)?,
            status: get(&row, 2)?,
            items,
        });
    }
    Ok((customer, orders))
}

async fn joined(traced: &mut Traced<'_>, id: i64) -> Result<(Customer, Vec<Order>), ApiError> {
    let rows = traced.fetch(JOINED, id).await?;
    let first = rows.first().ok_or_else(|| no_customer(id))?;
    let customer = Customer {
        id: get(first, 0)?,
        name: get(first, 1)?,
        email: get(first, 2)?,
    };
    // Rows arrive one per item; fold them back into orders, keeping order.
    let mut orders: Vec<Order> = Vec::new();
    let mut position: BTreeMap<i64, usize> = BTreeMap::new();
    for row in &rows {
        let Some(order_id) = get::<Option<i64>>(row, 3)? else {
            continue;
        };
        let at = *position.entry(order_id).or_insert_with(|| {
            orders.push(Order {
                id: order_id,
                placed_at: row.try_get(4).unwrap_or_default(),
                status: row.try_get(5).unwrap_or_default(),
                items: Vec::new(),
            });
            orders.len() - 1
        });
        if let Some(product) = get::<Option<String>>(row, 6)? {
            orders[at].items.push(OrderItem {
                product,
                quantity: get(row, 7)?,
                unit_price_cents: get(row, 8)?,
            });
        }
    }
    Ok((customer, orders))
}
