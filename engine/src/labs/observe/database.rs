//! The observed shop's database: a real SQLite database in memory, shared
//! by every student's shop and only read. Each query pays
//! [`ROUND_TRIP`] first, as a query to a database on another machine
//! does; that is what makes a query per item visible in the charts.

use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqlitePool, SqlitePoolOptions};
use sqlx::Executor as _;

/// What one query costs on the wire before the database sees it.
pub(super) const ROUND_TRIP: Duration = Duration::from_millis(5);
/// Products in the catalogue (ids 1 to 20).
pub(super) const PRODUCTS: i64 = 20;
/// Orders the orders page lists.
pub(super) const ORDERS_PAGE: i64 = 10;

const SCHEMA: &str = "
CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price_cents INTEGER NOT NULL);
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), total_cents INTEGER NOT NULL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20)
INSERT INTO products SELECT i, 'Product ' || i, 250 * i + 99 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 8)
INSERT INTO customers SELECT i, 'Customer ' || i FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
INSERT INTO orders SELECT i, 1 + (i * 5) % 8, 1000 + 37 * i FROM n;
";

/// A product as the product page shows it.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub(super) struct Product {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) price_cents: i64,
}

/// An order with its customer's name, as the orders page shows it.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub(super) struct Order {
    pub(super) id: i64,
    pub(super) customer: String,
    pub(super) total_cents: i64,
}

/// The database: a pool of in-memory connections, each made with the
/// same rows (they are only read, so they always agree). A connection
/// that dies is replaced, rows and all.
pub(super) struct Database(SqlitePool);

/// Makes a new connection's tables and rows.
fn fill(connection: &mut SqliteConnection) -> BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        // Several statements, no arguments: SQLite runs them in turn.
        connection.execute(SCHEMA).await?;
        Ok(())
    })
}

impl Database {
    pub(super) fn new() -> Self {
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .idle_timeout(None)
            .max_lifetime(None)
            .after_connect(|connection, _| fill(connection))
            .connect_lazy_with(SqliteConnectOptions::new().in_memory(true));
        Self(pool)
    }

    /// One product.
    pub(super) async fn product(&self, id: i64) -> Result<Option<Product>, sqlx::Error> {
        tokio::time::sleep(ROUND_TRIP).await;
        sqlx::query_as("SELECT id, name, price_cents FROM products WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.0)
            .await
    }

    /// The newest orders with their customers' names, in one query.
    pub(super) async fn orders_joined(&self) -> Result<Vec<Order>, sqlx::Error> {
        tokio::time::sleep(ROUND_TRIP).await;
        sqlx::query_as(
            "SELECT o.id, c.name AS customer, o.total_cents FROM orders AS o \
             JOIN customers AS c ON c.id = o.customer_id ORDER BY o.id DESC LIMIT ?",
        )
        .bind(ORDERS_PAGE)
        .fetch_all(&self.0)
        .await
    }

    /// The newest orders with their customers' ids (the N+1's first query).
    pub(super) async fn orders(&self) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
        tokio::time::sleep(ROUND_TRIP).await;
        sqlx::query_as("SELECT id, customer_id, total_cents FROM orders ORDER BY id DESC LIMIT ?")
            .bind(ORDERS_PAGE)
            .fetch_all(&self.0)
            .await
    }

    /// One customer's name (the N+1's query per order).
    pub(super) async fn customer(&self, id: i64) -> Result<String, sqlx::Error> {
        tokio::time::sleep(ROUND_TRIP).await;
        sqlx::query_scalar("SELECT name FROM customers WHERE id = ?")
            .bind(id)
            .fetch_one(&self.0)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_join_and_the_query_per_order_give_the_same_page() {
        let database = Database::new();
        let joined = database.orders_joined().await.unwrap();
        assert_eq!(joined.len(), ORDERS_PAGE as usize);
        for (order, (id, customer_id, total)) in joined.iter().zip(database.orders().await.unwrap())
        {
            assert_eq!((order.id, order.total_cents), (id, total));
            assert_eq!(
                order.customer,
                database.customer(customer_id).await.unwrap()
            );
        }
        let product = database.product(PRODUCTS).await.unwrap().unwrap();
        assert_eq!(product.name, "Product 20");
        assert!(database.product(PRODUCTS + 1).await.unwrap().is_none());
    }
}
