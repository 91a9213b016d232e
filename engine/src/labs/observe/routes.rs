//! The observe lab's routes: the shop's two pages, the load button and
//! the dashboard.

use std::time::Instant;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::stream::{self, StreamExt};
use model::labs::observe::{LoadMix, LoadReport, LoadRequest, ObserveSettings, RedReport};

use super::database::PRODUCTS;
use super::shop::{Conditions, Page};
use super::traffic::BUCKET_MS;
use super::{ObserveLab, Shops};
use crate::error::extract::Json as JsonBody;
use crate::error::extract::Path;
use crate::error::ApiError;
use crate::identity::Student;
use crate::inspector::{Inspector, TraceId};
use crate::labs::{CurrentSettings, LabState, Labs};

/// Most requests one load run sends.
pub(super) const MAX_LOAD: u32 = 200;
/// Most requests a load run has in flight at once.
pub(super) const MAX_CONCURRENCY: u32 = 16;
/// Log lines the dashboard shows.
const LOG_SHOWN: usize = 100;

impl Shops {
    /// What is wrong in `student`'s shop now.
    pub(super) fn conditions(&self, student: &Student, settings: &ObserveSettings) -> Conditions {
        match settings.hunt {
            Some(round) => Conditions {
                incidents: vec![self.key.incident(&student.id, round)],
                hunt: Some(round),
            },
            None => Conditions {
                incidents: settings.incidents.clone(),
                hunt: None,
            },
        }
    }

    async fn serve(
        &self,
        labs: &Labs,
        student: &Student,
        settings: &ObserveSettings,
        inspector: &Inspector,
        page: Page,
    ) -> Response {
        let shop = self.of(&student.id);
        let conditions = self.conditions(student, settings);
        let clock = labs.clock.clone();
        let answer = shop
            .serve(&self.database, page, &conditions, inspector, || {
                clock.now_ms()
            })
            .await;
        (answer.status, Json(answer.body)).into_response()
    }
}

#[utoipa::path(get, path = "/shop/products/{id}",
    summary = "One product of the observed shop",
    description = "One product (ids 1 to 20), served by one of three replicas in turn, read through the cache (kept 30 s) or from the database through a pool of four connections. Every request is traced and logged with its trace id, and counts in your dashboard. Your incident switches, or a fault hunt, change what happens inside.",
    params(("id" = i64, Path, description = "The product's id, 1 to 20")),
    responses(
        (status = 200, description = "The product, with `cache` (`hit` or `miss`) and the `replica` that served it", body = serde_json::Value),
        (status = 404, description = "No such product", body = serde_json::Value),
        (status = 500, description = "The replica failed", body = serde_json::Value),
        (status = 503, description = "No database connection came free within 50 ms", body = serde_json::Value),
    ))]
pub(super) async fn product(
    State(labs): State<Labs>,
    LabState(shops): LabState<ObserveLab>,
    student: Student,
    CurrentSettings(settings, _): CurrentSettings<ObserveLab>,
    inspector: Inspector,
    Path(id): Path<i64>,
) -> Response {
    shops
        .serve(&labs, &student, &settings, &inspector, Page::Product(id))
        .await
}

#[utoipa::path(get, path = "/shop/orders",
    summary = "The observed shop's ten newest orders",
    description = "The ten newest orders with their customers' names, from the database. Traced, logged and counted like the product pages.",
    responses(
        (status = 200, description = "The orders, with how many `queries` it took and the `replica`", body = serde_json::Value),
        (status = 500, description = "The replica failed", body = serde_json::Value),
        (status = 503, description = "No database connection came free within 50 ms", body = serde_json::Value),
    ))]
pub(super) async fn orders(
    State(labs): State<Labs>,
    LabState(shops): LabState<ObserveLab>,
    student: Student,
    CurrentSettings(settings, _): CurrentSettings<ObserveLab>,
    inspector: Inspector,
) -> Response {
    shops
        .serve(&labs, &student, &settings, &inspector, Page::Orders)
        .await
}

#[utoipa::path(post, path = "/load",
    summary = "Send a burst of requests to your shop",
    description = "Sends `requests` (1 to 200) requests to your own shop, `concurrency` (1 to 16) at a time, as `mix` says (`products`, `orders` or `mixed`: three product pages to one orders page). Each is traced like a request you send yourself and counts in your dashboard; the answer names the slowest one's trace. One run of yours at a time; runs share the server fairly.",
    request_body = model::labs::observe::LoadRequest,
    responses(
        (status = 200, description = "What the run did", body = model::labs::observe::LoadReport),
        (status = 422, description = "Out of bounds (the message says which)", body = model::ErrorBody),
        (status = 429, description = "A run of yours is still going, or you ran many lately", body = model::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until a run would be accepted"))),
    ))]
pub(super) async fn load(
    State(labs): State<Labs>,
    LabState(shops): LabState<ObserveLab>,
    student: Student,
    CurrentSettings(settings, _): CurrentSettings<ObserveLab>,
    JsonBody(asked): JsonBody<LoadRequest>,
) -> Result<Json<LoadReport>, ApiError> {
    if !(1..=MAX_LOAD).contains(&asked.requests) {
        return Err(ApiError::Unprocessable(format!(
            "requests is {}; send 1 to {MAX_LOAD}",
            asked.requests
        )));
    }
    if !(1..=MAX_CONCURRENCY).contains(&asked.concurrency) {
        return Err(ApiError::Unprocessable(format!(
            "concurrency is {}; send 1 to {MAX_CONCURRENCY}",
            asked.concurrency
        )));
    }
    let _turn = shops.loads.enter(student.id.as_str()).await?;
    let started = Instant::now();
    let conditions = shops.conditions(&student, &settings);
    let shop = shops.of(&student.id);
    let (database, student_id) = (&shops.database, &student.id);
    let runs = stream::iter(0..asked.requests)
        .map(|i| {
            let (shop, conditions, labs) = (&shop, &conditions, &labs);
            let page = page_of(asked.mix, i);
            async move {
                let inspector = Inspector::new(TraceId::random());
                let began = Instant::now();
                let started_at_ms = u64::try_from(labs.clock.now_ms()).unwrap_or_default();
                let clock = labs.clock.clone();
                let answer = shop
                    .serve(database, page, conditions, &inspector, || clock.now_ms())
                    .await;
                let mut trace = inspector.finish(
                    "GET",
                    format!("/labs/observe{} (load)", page.path()),
                    answer.status.as_u16(),
                    started_at_ms,
                );
                trace.request_headers = "x-sent-by: the lab's load button".into();
                let summary = (began.elapsed(), inspector.trace_id(), answer.status);
                labs.recorder.traces.insert(student_id, trace);
                summary
            }
        })
        .buffer_unordered(asked.concurrency as usize)
        .collect::<Vec<_>>()
        .await;
    let errors = runs.iter().filter(|(_, _, s)| s.is_server_error()).count() as u32;
    let slowest = runs.iter().max_by_key(|(duration, _, _)| *duration);
    Ok(Json(LoadReport {
        sent: asked.requests,
        errors,
        took_ms: started.elapsed().as_millis() as u64,
        slowest_trace: slowest.map(|(_, id, _)| id.to_string()),
    }))
}

/// The `i`th page of a load run.
fn page_of(mix: LoadMix, i: u32) -> Page {
    let product = Page::Product(i64::from(i) % PRODUCTS + 1);
    match mix {
        LoadMix::Products => product,
        LoadMix::Orders => Page::Orders,
        LoadMix::Mixed if i % 4 == 3 => Page::Orders,
        LoadMix::Mixed => product,
    }
}

#[utoipa::path(get, path = "/dashboard",
    summary = "Your shop's rate, errors and duration, error budget and log",
    description = "Your shop's requests over the last 5 minutes in 10-second buckets: how many, how many failed (500 or more), and the 50th, 95th and 99th percentile durations; the same per route; the error budget of your objective (`objective` in your settings: the share of requests that must succeed within a time) and how fast the last minute spent it; and your shop's newest log lines, each with the trace id of its request.",
    responses(
        (status = 200, description = "The dashboard", body = model::labs::observe::RedReport),
    ))]
pub(super) async fn dashboard(
    State(labs): State<Labs>,
    LabState(shops): LabState<ObserveLab>,
    student: Student,
    CurrentSettings(settings, _): CurrentSettings<ObserveLab>,
) -> Json<RedReport> {
    let now_ms = labs.clock.now_ms();
    let shop = shops.of(&student.id);
    let traffic = shop.traffic.lock().unwrap_or_else(|e| e.into_inner());
    Json(RedReport {
        now_ms,
        bucket_seconds: (BUCKET_MS / 1000) as u32,
        buckets: traffic.buckets(now_ms, &settings.objective),
        routes: traffic.routes(now_ms),
        budget: traffic.budget(now_ms, &settings.objective),
        log: traffic.log(LOG_SHOWN),
        hunting: settings.hunt.is_some(),
        incidents: if settings.hunt.is_some() {
            Vec::new()
        } else {
            settings.incidents.clone()
        },
    })
}
