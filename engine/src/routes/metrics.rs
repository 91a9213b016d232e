//! `GET /metrics`: the server's own metrics, for its operators, when it
//! was started with a metrics token ([`crate::metrics`]).

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::error::ApiError;
use crate::metrics::{Exposition, Kind, CONTENT_TYPE};
use crate::state::Engine;

/// `GET /metrics`.
pub(crate) fn router() -> Router<Engine> {
    Router::new().route("/metrics", get(scrape))
}

async fn scrape(State(engine): State<Engine>, headers: HeaderMap) -> Result<Response, ApiError> {
    engine.metrics.admits(&headers)?;
    let page = page(&engine);
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], page).into_response())
}

/// Everything, as one page of the text format.
fn page(engine: &Engine) -> String {
    let mut page = Exposition::default();
    engine.metrics.requests.expose(&mut page);
    page.single(
        "process_start_time_seconds",
        Kind::Gauge,
        "When the server process started, in seconds since the Unix epoch.",
        engine.metrics.started,
    );
    database(engine, &mut page);
    page.single(
        "workbench_traces_bytes",
        Kind::Gauge,
        "Bytes the inspector keeps for students' recent lab traces.",
        engine.traces.bytes(),
    );
    for gauge in crate::labs::gauges(&engine.labs) {
        page.single(&gauge.name, Kind::Gauge, gauge.help, gauge.value);
    }
    page.finish()
}

/// The platform database's connection pool.
fn database(engine: &Engine, page: &mut Exposition) {
    let open = engine.pool.size() as usize;
    let idle = engine.pool.num_idle();
    page.family(
        "workbench_db_pool_connections",
        Kind::Gauge,
        "The platform database's open connections, busy or idle.",
    );
    page.sample(
        "workbench_db_pool_connections",
        &[("state", "busy")],
        open.saturating_sub(idle),
    );
    page.sample("workbench_db_pool_connections", &[("state", "idle")], idle);
    page.single(
        "workbench_db_pool_max_connections",
        Kind::Gauge,
        "The most connections the platform database's pool opens.",
        engine.pool.options().get_max_connections() as usize,
    );
}
