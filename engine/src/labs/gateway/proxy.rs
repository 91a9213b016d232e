//! The gateway's routes: a request through it to a replica, and the view
//! of the student's replicas.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use model::labs::gateway::{GatewaySettings, ReplicaView, Replicas};
use serde::Serialize;

use super::replicas::{Replica, TOKEN_HEADER};
use super::{GatewayLab, StudentGateway};
use crate::error::extract::Path;
use crate::error::{error_response, ApiError};
use crate::identity::Student;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::{CurrentSettings, LabState};

/// The answer header naming the replica that served a request.
pub(crate) const REPLICA_HEADER: &str = "x-replica";

/// The gateway chose a replica.
#[derive(Serialize)]
struct Picked {
    algorithm: &'static str,
    replica: u8,
    /// What it knew when choosing, per replica: `n: requests in flight,
    /// estimate ms`.
    loads: String,
}

impl LabEvent for Picked {
    const KIND: &'static str = "gateway.pick";
    fn summary(&self) -> String {
        format!("{} chose replica {}", self.algorithm, self.replica)
    }
}

/// How one try went.
#[derive(Serialize)]
struct Tried {
    replica: u8,
    port: u16,
    /// `answered`, `timed_out` or `connection_failed`.
    outcome: &'static str,
    status: Option<u16>,
    ms: u64,
}

impl LabEvent for Tried {
    const KIND: &'static str = "gateway.try";
    fn summary(&self) -> String {
        match (self.outcome, self.status) {
            ("answered", Some(status)) => format!(
                "replica {} (port {}) answered {status} in {} ms",
                self.replica, self.port, self.ms
            ),
            ("timed_out", _) => format!(
                "replica {} (port {}) did not answer within {} ms: the gateway gave up on it",
                self.replica, self.port, self.ms
            ),
            _ => format!(
                "replica {} (port {}) could not be reached: connection refused or cut, after {} ms",
                self.replica, self.port, self.ms
            ),
        }
    }
}

/// `GET /labs/gateway/catalog/items/{id}`.
#[utoipa::path(get, path = "/catalog/items/{id}",
    summary = "One request through your gateway to a catalog replica",
    description = "The gateway picks one of your replicas with your settings' algorithm and forwards the request to it over TCP on the loopback interface, giving up after `per_try_timeout_ms`. The answer is the replica's (its status and body), with `X-Replica` naming it; `502` when the replica could not be reached and `504` when it did not answer in time are the gateway's own.",
    params(("id" = u32, Path, description = "The item, 1 to 1000")),
    responses(
        (status = 200, description = "The item, and the replica that served it", body = model::labs::gateway::CatalogItem,
            headers(("X-Replica" = String, description = "The replica that answered, 1 to 5"))),
        (status = 404, description = "No such item", body = model::ErrorBody),
        (status = 502, description = "The chosen replica refused or cut the connection", body = model::ErrorBody),
        (status = 503, description = "The replica answered 503 (its error rate), or the server runs as many replicas as it allows", body = model::ErrorBody),
        (status = 504, description = "The chosen replica did not answer within the per-try timeout", body = model::ErrorBody),
    ))]
pub(super) async fn item(
    LabState(gateway): LabState<GatewayLab>,
    CurrentSettings(settings, ..): CurrentSettings<GatewayLab>,
    student: Student,
    inspector: Inspector,
    Path(id): Path<u32>,
) -> Result<Response, ApiError> {
    if id == 0 || id > super::replicas::CATALOG_ITEMS {
        return Err(ApiError::NotFound(format!(
            "The catalog has items 1 to {}; there is no item {id}.",
            super::replicas::CATALOG_ITEMS
        )));
    }
    let mine = gateway.of(&student.id, &settings).await?;
    let (index, replica) = pick(&mine, &settings, &inspector).await?;
    let started = Instant::now();
    let answer = async {
        let response = gateway
            .client
            .get(format!("http://127.0.0.1:{}/items/{id}", replica.port()))
            .header(TOKEN_HEADER, &gateway.token)
            .timeout(Duration::from_millis(u64::from(
                settings.per_try_timeout_ms,
            )))
            .send()
            .await?;
        let status =
            StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
        Ok::<_, reqwest::Error>((status, content_type, response.bytes().await?))
    }
    .await;
    let elapsed = started.elapsed();
    {
        let mut chosen = mine.balancer.lock().unwrap_or_else(|e| e.into_inner());
        chosen
            .balancer
            .finish(index, elapsed.as_nanos() as u64, mine.now_ns());
    }
    let ms = elapsed.as_millis() as u64;
    let (outcome, status) = match &answer {
        Ok((status, _, _)) => ("answered", Some(status.as_u16())),
        Err(e) if e.is_timeout() => ("timed_out", None),
        Err(_) => ("connection_failed", None),
    };
    inspector.record(&Tried {
        replica: replica.number,
        port: replica.port(),
        outcome,
        status,
        ms,
    });
    let mut response = match answer {
        Ok((status, content_type, body)) => {
            let mut response = (status, body).into_response();
            if let Some(content_type) = content_type {
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, content_type);
            }
            response
        }
        Err(e) if e.is_timeout() => error_response(
            StatusCode::GATEWAY_TIMEOUT,
            format!(
                "Replica {} did not answer within your per-try timeout of {} ms.",
                replica.number, settings.per_try_timeout_ms
            ),
        ),
        Err(_) => error_response(
            StatusCode::BAD_GATEWAY,
            format!(
                "Replica {} (port {}) refused or cut the connection.",
                replica.number,
                replica.port()
            ),
        ),
    };
    response
        .headers_mut()
        .insert(REPLICA_HEADER, HeaderValue::from(u16::from(replica.number)));
    Ok(response)
}

/// Picks a replica for one request and traces the choice.
async fn pick(
    mine: &StudentGateway,
    settings: &GatewaySettings,
    inspector: &Inspector,
) -> Result<(usize, Arc<Replica>), ApiError> {
    let replicas = mine.replicas.lock().await.clone();
    let now_ns = mine.now_ns();
    let mut chosen = mine.balancer.lock().unwrap_or_else(|e| e.into_inner());
    let index = chosen
        .balancer
        .pick(now_ns, |_| true)
        .ok_or_else(|| ApiError::Unavailable("The gateway has no replica to send to.".into()))?;
    let loads = chosen
        .balancer
        .loads()
        .iter()
        .enumerate()
        .map(|(i, load)| {
            format!(
                "{}: {} in flight, {:.0} ms",
                i + 1,
                load.outstanding,
                load.estimate_ns(now_ns) / 1e6
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    drop(chosen);
    let replica = replicas
        .get(index)
        .cloned()
        .ok_or_else(|| ApiError::Unavailable("The gateway has no replica to send to.".into()))?;
    inspector.record(&Picked {
        algorithm: settings.algorithm.name(),
        replica: replica.number,
        loads,
    });
    Ok((index, replica))
}

/// `GET /labs/gateway/replicas`.
#[utoipa::path(get, path = "/replicas",
    summary = "Your replicas, as the gateway and the replicas see them",
    description = "Per replica: its loopback port, your requests it is working on and those waiting for a slot, what it answered (and how many of those were its 503s), the gateway's requests in flight to it and its latency estimate, and your settings for it. Starts your replicas if they are not running.",
    responses(
        (status = 200, description = "Your replicas", body = model::labs::gateway::Replicas),
        (status = 503, description = "The server runs as many replicas as it allows", body = model::ErrorBody),
    ))]
pub(super) async fn replicas(
    LabState(gateway): LabState<GatewayLab>,
    CurrentSettings(settings, ..): CurrentSettings<GatewayLab>,
    student: Student,
) -> Result<Json<Replicas>, ApiError> {
    let mine = gateway.of(&student.id, &settings).await?;
    let replicas = mine.replicas.lock().await.clone();
    let now_ns = mine.now_ns();
    let chosen = mine.balancer.lock().unwrap_or_else(|e| e.into_inner());
    let loads = chosen.balancer.loads();
    let views = replicas
        .iter()
        .take(usize::from(settings.replicas))
        .zip(loads)
        .map(|(replica, load)| {
            let counts = replica.counts();
            ReplicaView {
                number: replica.number,
                port: counts.port,
                in_flight: counts.in_flight,
                queued: counts.queued,
                answered: counts.answered,
                errors: counts.errors,
                ewma_ms: (load.estimate_ns(now_ns) / 1e5).round() / 10.0,
                outstanding: load.outstanding,
                settings: counts.settings,
            }
        })
        .collect();
    Ok(Json(Replicas {
        algorithm: settings.algorithm,
        replicas: views,
    }))
}
