//! The three services behind the backend-for-frontend, each a real HTTP
//! server on its own loopback port with a database of its own: `users`
//! (`GET /customers/{id}`), `orders` (`GET /customers/{id}/orders`) and
//! `catalog` (`GET /items/{id}`, and `GET /items?ids=1,2,3` for many at
//! once). They are shared by every student; a student's faults travel with
//! each call as fault-injection headers, as a service mesh injects them:
//! the BFF rolls the student's seeded dice and asks the service to wait
//! (`x-fault-delay-ms`) and then to fail (`x-fault-abort`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use model::labs::gateway::Service;
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::data::{self, StoredOrder, Tables};
use crate::labs::gateway::replicas::{serve, TOKEN_HEADER};

/// Milliseconds the service waits before answering (the student's
/// `extra_ms`).
pub(super) const DELAY_HEADER: &str = "x-fault-delay-ms";
/// Present: the service answers `503` (after the delay).
pub(super) const ABORT_HEADER: &str = "x-fault-abort";
/// Items one catalog call may ask for.
pub(super) const MAX_BATCH: usize = 100;
/// Longest delay a call may ask for.
const MAX_DELAY: Duration = Duration::from_secs(10);

/// An item as the catalog service answers it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct CatalogEntry {
    pub(super) id: u32,
    pub(super) name: String,
    pub(super) price_cents: u32,
}

/// The three services, listening.
pub(super) struct Services {
    ports: HashMap<Service, u16>,
    tasks: Vec<JoinHandle<()>>,
}

impl Services {
    /// Starts the three, each with its own database, answering only
    /// callers that send `token`.
    pub(super) async fn start(token: &str) -> Result<Self, String> {
        let mut services = Services {
            ports: HashMap::new(),
            tasks: Vec::new(),
        };
        for service in Service::ALL {
            let tables = match service {
                Service::Users => Tables::Customers,
                Service::Orders => Tables::Orders,
                Service::Catalog => Tables::Items,
            };
            let db = data::database(tables)
                .await
                .map_err(|e| format!("the {} service's database: {e}", service.name()))?;
            let state = Arc::new(Backing {
                db,
                token: token.to_string(),
            });
            let app = match service {
                Service::Users => Router::new().route("/customers/{id}", get(customer)),
                Service::Orders => Router::new().route("/customers/{id}/orders", get(orders)),
                Service::Catalog => Router::new()
                    .route("/items/{id}", get(one_item))
                    .route("/items", get(many_items)),
            }
            .layer(middleware::from_fn_with_state(state.clone(), faults))
            .with_state(state);
            let listener = TcpListener::bind(("127.0.0.1", 0))
                .await
                .map_err(|e| format!("the {} service could not listen: {e}", service.name()))?;
            let port = listener.local_addr().map_err(|e| e.to_string())?.port();
            services.ports.insert(service, port);
            services.tasks.push(tokio::spawn(serve(listener, app)));
        }
        Ok(services)
    }

    /// Where `service` listens.
    pub(super) fn port(&self, service: Service) -> u16 {
        self.ports[&service]
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// What each service works with.
struct Backing {
    db: data::Database,
    token: String,
}

/// Middleware: only the BFF may call; then the call's injected faults.
async fn faults(State(backing): State<Arc<Backing>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    if headers.get(TOKEN_HEADER).map(|v| v.as_bytes()) != Some(backing.token.as_bytes()) {
        return (StatusCode::FORBIDDEN, "services answer the BFF only").into_response();
    }
    let delay = header_number(headers, DELAY_HEADER);
    let abort = headers.contains_key(ABORT_HEADER);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay).min(MAX_DELAY)).await;
    }
    if abort {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "failing (an injected fault)",
        )
            .into_response();
    }
    next.run(request).await
}

fn header_number(headers: &HeaderMap, name: &str) -> u64 {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn database_error(error: sqlx::Error) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response()
}

/// `GET /customers/{id}` on the users service.
async fn customer(State(backing): State<Arc<Backing>>, Path(id): Path<u32>) -> Response {
    let row: Result<Option<(u32, String, String)>, _> =
        sqlx::query_as("SELECT id, name, email FROM customers WHERE id = ?")
            .bind(id)
            .fetch_optional(&backing.db.pool)
            .await;
    match row {
        Ok(Some((id, name, email))) => {
            Json(model::labs::gateway::OrderPageCustomer { id, name, email }).into_response()
        }
        Ok(None) => (StatusCode::NOT_FOUND, "no such customer").into_response(),
        Err(e) => database_error(e),
    }
}

/// `GET /customers/{id}/orders` on the orders service.
async fn orders(State(backing): State<Arc<Backing>>, Path(id): Path<u32>) -> Response {
    let rows: Result<Vec<(u32, String, u32, u32)>, _> = sqlx::query_as(
        "SELECT o.id, o.placed_on, l.item_id, l.quantity
         FROM orders o JOIN order_lines l ON l.order_id = o.id
         WHERE o.customer_id = ? ORDER BY o.id, l.line_no",
    )
    .bind(id)
    .fetch_all(&backing.db.pool)
    .await;
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => return database_error(e),
    };
    let mut orders: Vec<StoredOrder> = Vec::new();
    for (order, placed_on, item, quantity) in rows {
        match orders.last_mut() {
            Some(last) if last.id == order => last.lines.push((item, quantity)),
            _ => orders.push(StoredOrder {
                id: order,
                placed_on,
                lines: vec![(item, quantity)],
            }),
        }
    }
    Json(orders).into_response()
}

/// `GET /items/{id}` on the catalog service.
async fn one_item(State(backing): State<Arc<Backing>>, Path(id): Path<u32>) -> Response {
    match items(&backing.db.pool, &[id]).await {
        Ok(mut found) if found.len() == 1 => Json(found.remove(0)).into_response(),
        Ok(_) => (StatusCode::NOT_FOUND, "no such item").into_response(),
        Err(e) => database_error(e),
    }
}

#[derive(Deserialize)]
struct Ids {
    ids: String,
}

/// `GET /items?ids=1,2,3` on the catalog service: the ones that exist.
async fn many_items(State(backing): State<Arc<Backing>>, Query(query): Query<Ids>) -> Response {
    let ids: Result<Vec<u32>, _> = query.ids.split(',').map(str::parse).collect();
    match ids {
        Ok(ids) if ids.len() <= MAX_BATCH => match items(&backing.db.pool, &ids).await {
            Ok(found) => Json(found).into_response(),
            Err(e) => database_error(e),
        },
        Ok(_) => (StatusCode::BAD_REQUEST, "at most 100 ids a call").into_response(),
        Err(_) => (
            StatusCode::BAD_REQUEST,
            "ids is a comma-separated list of numbers",
        )
            .into_response(),
    }
}

async fn items(db: &SqlitePool, ids: &[u32]) -> Result<Vec<CatalogEntry>, sqlx::Error> {
    let marks = vec!["?"; ids.len()].join(",");
    let sql = format!("SELECT id, name, price_cents FROM items WHERE id IN ({marks}) ORDER BY id");
    let mut query = sqlx::query_as::<_, (u32, String, u32)>(&sql);
    for id in ids {
        query = query.bind(id);
    }
    Ok(query
        .fetch_all(db)
        .await?
        .into_iter()
        .map(|(id, name, price_cents)| CatalogEntry {
            id,
            name,
            price_cents,
        })
        .collect())
}
