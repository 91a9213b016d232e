//! The shop's data, the same every time: 50 customers, their orders and
//! order lines, and the catalog's 1,000 items (named and priced as the
//! catalog replicas name and price them). The monolith keeps all of it in
//! one database; each service keeps only its own part in a database of its
//! own, as services do.

use model::labs::gateway::OrderPageCustomer;
use std::str::FromStr;
use std::sync::Mutex;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqlitePoolOptions};
use sqlx::{Connection, SqlitePool};

/// Customers 1 to this.
pub(crate) const CUSTOMERS: u32 = 50;
/// Items 1 to this (the catalog replicas' too).
pub(crate) const ITEMS: u32 = 1000;

const FIRST_NAMES: [&str; 10] = [
    "Ada", "Bram", "Chidi", "Dana", "Emil", "Farah", "Goran", "Hana", "Ines", "Jonas",
];
const LAST_NAMES: [&str; 5] = ["Okafor", "Lindqvist", "Moreau", "Tanaka", "Kowalski"];

/// Customer `id`.
pub(crate) fn customer(id: u32) -> OrderPageCustomer {
    let first = FIRST_NAMES[(id as usize - 1) % FIRST_NAMES.len()];
    let last = LAST_NAMES[(id as usize - 1) / FIRST_NAMES.len() % LAST_NAMES.len()];
    OrderPageCustomer {
        id,
        name: format!("{first} {last}"),
        email: format!(
            "{}.{}{id}@example.com",
            first.to_lowercase(),
            last.to_lowercase()
        ),
    }
}

/// One order as the orders service keeps it: what was ordered, not what
/// it is called or costs (the catalog's business).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct StoredOrder {
    pub(crate) id: u32,
    pub(crate) placed_on: String,
    /// `(item, quantity)`, in order.
    pub(crate) lines: Vec<(u32, u32)>,
}

/// Customer `id`'s orders: 1 to 4 of them, 1 to 5 lines each.
pub(crate) fn orders_of(id: u32) -> Vec<StoredOrder> {
    let count = 1 + (id * 7) % 4;
    (0..count)
        .map(|k| {
            let order = id * 10 + k;
            let lines = 1 + (order * 13) % 5;
            StoredOrder {
                id: order,
                placed_on: format!("2026-{:02}-{:02}", 1 + (order % 11), 1 + (order * 3) % 28),
                lines: (0..lines)
                    .map(|line| (1 + (order * 97 + line * 31) % ITEMS, 1 + (order + line) % 3))
                    .collect(),
            }
        })
        .collect()
}

/// Item `id`'s name and price in cents.
pub(crate) fn item(id: u32) -> (String, u32) {
    (format!("Item {id}"), 100 + (id * 37) % 9900)
}

/// Which of the shop's tables a database holds.
#[derive(Clone, Copy)]
pub(super) enum Tables {
    /// All of them: the monolith's.
    All,
    Customers,
    Orders,
    Items,
}

/// A private in-memory database: the pool to query it, and one more
/// connection kept open and never used, because a shared in-memory
/// database lives only while a connection to it is open. (A pool may drop
/// its connections, as when a client hangs up in the middle of a query.)
pub(super) struct Database {
    pub(super) pool: SqlitePool,
    _keeper: Mutex<SqliteConnection>,
}

/// A private in-memory database holding `tables`, filled.
pub(super) async fn database(tables: Tables) -> Result<Database, sqlx::Error> {
    let name = format!(
        "file:workbench-shop-{:016x}?mode=memory&cache=shared",
        rand::random::<u64>()
    );
    let options = SqliteConnectOptions::from_str(&name)?;
    let keeper = SqliteConnection::connect_with(&options).await?;
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await?;
    let mut tx = pool.begin().await?;
    if matches!(tables, Tables::All | Tables::Customers) {
        sqlx::query("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL)")
            .execute(&mut *tx)
            .await?;
        for id in 1..=CUSTOMERS {
            let c = customer(id);
            sqlx::query("INSERT INTO customers VALUES (?, ?, ?)")
                .bind(c.id)
                .bind(c.name)
                .bind(c.email)
                .execute(&mut *tx)
                .await?;
        }
    }
    if matches!(tables, Tables::All | Tables::Orders) {
        sqlx::query("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, placed_on TEXT NOT NULL)")
            .execute(&mut *tx)
            .await?;
        sqlx::query("CREATE INDEX orders_by_customer ON orders (customer_id)")
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "CREATE TABLE order_lines (order_id INTEGER NOT NULL, line_no INTEGER NOT NULL,
             item_id INTEGER NOT NULL, quantity INTEGER NOT NULL, PRIMARY KEY (order_id, line_no))",
        )
        .execute(&mut *tx)
        .await?;
        for customer_id in 1..=CUSTOMERS {
            for order in orders_of(customer_id) {
                sqlx::query("INSERT INTO orders VALUES (?, ?, ?)")
                    .bind(order.id)
                    .bind(customer_id)
                    .bind(&order.placed_on)
                    .execute(&mut *tx)
                    .await?;
                for (line_no, (item_id, quantity)) in order.lines.iter().enumerate() {
                    sqlx::query("INSERT INTO order_lines VALUES (?, ?, ?, ?)")
                        .bind(order.id)
                        .bind(line_no as u32)
                        .bind(item_id)
                        .bind(quantity)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
    }
    if matches!(tables, Tables::All | Tables::Items) {
        sqlx::query("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price_cents INTEGER NOT NULL)")
            .execute(&mut *tx)
            .await?;
        for id in 1..=ITEMS {
            let (name, price_cents) = item(id);
            sqlx::query("INSERT INTO items VALUES (?, ?, ?)")
                .bind(id)
                .bind(name)
                .bind(price_cents)
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(Database {
        pool,
        _keeper: Mutex::new(keeper),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_customer_has_one_to_four_orders_of_one_to_five_lines() {
        let mut lines = 0;
        for id in 1..=CUSTOMERS {
            let orders = orders_of(id);
            assert!((1..=4).contains(&orders.len()));
            for order in &orders {
                assert!((1..=5).contains(&order.lines.len()));
                assert!(order
                    .lines
                    .iter()
                    .all(|(item, q)| (1..=ITEMS).contains(item) && (1..=3).contains(q)));
            }
            lines += orders.iter().map(|o| o.lines.len()).sum::<usize>();
        }
        // The N of the N+1 the lessons quote: about 6.4 lines a page, 12 at most.
        assert_eq!(lines, 319, "order lines over the 50 pages");
    }
}
