//! What an order refers to: its customer, its lines and their products,
//! read in batches (one statement per kind, never one per order). The REST
//! routes (`?include=`, `/customers/{id}`, `/products/{id}`), GraphQL and
//! gRPC all read the shop through here, so the three styles serve exactly
//! the same data.

use std::collections::BTreeSet;

use model::labs::api::{IncludedLine, ShopCustomer, ShopProduct};
use model::labs::sql::SqlValue;
use serde_json::Value;

use super::shop::{integer, query_rows, text};
use crate::labs::sql::engine::{Db, SqlError};

/// Most ids one batch reads: a page's worth, and then some.
pub(super) const MAX_BATCH: usize = 500;

/// Runs `select` (which ends in `IN (`) for at most [`MAX_BATCH`] of the
/// `wanted` ids, then `order_by`, and reads each row with `read`.
fn batch<T>(
    db: &mut Db,
    wanted: &BTreeSet<i64>,
    select: &str,
    order_by: &str,
    max_rows: usize,
    read: impl Fn(&[SqlValue]) -> Result<T, SqlError>,
) -> Result<Vec<T>, SqlError> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Value> = wanted
        .iter()
        .take(MAX_BATCH)
        .map(|&id| Value::from(id))
        .collect();
    let sql = format!("{select}{}) {order_by}", vec!["?"; ids.len()].join(", "));
    let found = query_rows(db, &sql, &ids, max_rows)?;
    found.rows.iter().map(|row| read(row)).collect()
}

/// The customers with these ids, by id.
pub(super) fn customers(
    db: &mut Db,
    wanted: &BTreeSet<i64>,
) -> Result<Vec<ShopCustomer>, SqlError> {
    batch(
        db,
        wanted,
        "SELECT id, name, city, country FROM customers WHERE id IN (",
        "ORDER BY id",
        MAX_BATCH,
        |row| {
            Ok(ShopCustomer {
                id: integer(row, 0)?,
                name: text(row, 1)?,
                city: row.get(2).and_then(|v| v.as_str()).map(str::to_string),
                country: text(row, 3)?,
            })
        },
    )
}

/// The products with these ids, by id.
pub(super) fn products(db: &mut Db, wanted: &BTreeSet<i64>) -> Result<Vec<ShopProduct>, SqlError> {
    batch(
        db,
        wanted,
        "SELECT id, name, price_cents FROM products WHERE id IN (",
        "ORDER BY id",
        MAX_BATCH,
        |row| {
            Ok(ShopProduct {
                id: integer(row, 0)?,
                name: text(row, 1)?,
                price_cents: integer(row, 2)?,
            })
        },
    )
}

/// The lines of these orders, by order then product.
pub(super) fn lines(db: &mut Db, orders: &BTreeSet<i64>) -> Result<Vec<IncludedLine>, SqlError> {
    batch(
        db,
        orders,
        "SELECT order_id, product_id, quantity, unit_price_cents FROM order_items WHERE order_id IN (",
        "ORDER BY order_id DESC, product_id",
        // An order has at most a few dozen lines; a page's are well under this.
        MAX_BATCH * 20,
        |row| {
            Ok(IncludedLine {
                order_id: integer(row, 0)?,
                product_id: integer(row, 1)?,
                quantity: integer(row, 2)?,
                unit_price_cents: integer(row, 3)?,
            })
        },
    )
}

/// An order with its customer and its lines' products, as GraphQL and
/// gRPC serve it.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct FullOrder {
    pub(super) id: i64,
    pub(super) placed_at: String,
    pub(super) status: String,
    pub(super) customer: ShopCustomer,
    pub(super) items: Vec<FullLine>,
}

/// One line of a [`FullOrder`].
#[derive(Clone, Debug, PartialEq)]
pub(super) struct FullLine {
    pub(super) product: ShopProduct,
    pub(super) quantity: i64,
    pub(super) unit_price_cents: i64,
}

impl FullOrder {
    /// The sum of quantity × unit price over the lines.
    pub(super) fn total_cents(&self) -> i64 {
        self.items
            .iter()
            .map(|l| l.quantity.saturating_mul(l.unit_price_cents))
            .fold(0, i64::saturating_add)
    }
}

/// The newest `first` orders (of `customer`, if given), each with its
/// customer and its lines' products: four statements, whatever `first`.
pub(super) fn full_orders(
    db: &mut Db,
    first: usize,
    customer: Option<i64>,
) -> Result<Vec<FullOrder>, SqlError> {
    let first = first.min(MAX_BATCH);
    let found = match customer {
        None => query_rows(
            db,
            "SELECT id, customer_id, placed_at, status FROM orders ORDER BY id DESC LIMIT ?",
            &[Value::from(first)],
            first,
        )?,
        Some(customer) => query_rows(
            db,
            "SELECT id, customer_id, placed_at, status FROM orders WHERE customer_id = ? ORDER BY id DESC LIMIT ?",
            &[Value::from(customer), Value::from(first)],
            first,
        )?,
    };
    let heads = found
        .rows
        .iter()
        .map(|row| {
            Ok((
                integer(row, 0)?,
                integer(row, 1)?,
                text(row, 2)?,
                text(row, 3)?,
            ))
        })
        .collect::<Result<Vec<_>, SqlError>>()?;
    let order_ids: BTreeSet<i64> = heads.iter().map(|h| h.0).collect();
    let lines = lines(db, &order_ids)?;
    let customers = customers(db, &heads.iter().map(|h| h.1).collect())?;
    let products = products(db, &lines.iter().map(|l| l.product_id).collect())?;
    let product = |id: i64| {
        products
            .iter()
            .find(|p| p.id == id)
            .cloned()
            .unwrap_or_else(|| ShopProduct {
                id,
                name: String::new(),
                price_cents: 0,
            })
    };
    Ok(heads
        .into_iter()
        .map(|(id, customer_id, placed_at, status)| FullOrder {
            id,
            placed_at,
            status,
            customer: customers
                .iter()
                .find(|c| c.id == customer_id)
                .cloned()
                .unwrap_or_else(|| ShopCustomer {
                    id: customer_id,
                    name: String::new(),
                    city: None,
                    country: String::new(),
                }),
            items: lines
                .iter()
                .filter(|l| l.order_id == id)
                .map(|l| FullLine {
                    product: product(l.product_id),
                    quantity: l.quantity,
                    unit_price_cents: l.unit_price_cents,
                })
                .collect(),
        })
        .collect())
}
