//! The gateway's routes: a request through it to a replica, and the view
//! of the student's replicas.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use model::labs::gateway::{GatewaySettings, ReplicaView, Replicas};
use serde::Serialize;

use super::front;
use super::replicas::{Replica, CONSUMER_HEADER, TOKEN_HEADER};
use super::steering::Refused;
use super::{GatewayLab, StudentGateway};
use crate::error::extract::Path;
use crate::error::{error_response, ApiError};
use crate::identity::Student;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::{CurrentSettings, LabState};
use crate::limiter::ClientAddress;

/// The answer header naming the replica that served a request.
pub(crate) const REPLICA_HEADER: &str = "x-replica";

/// The gateway chose a replica.
#[derive(Serialize)]
struct Picked {
    attempt: usize,
    algorithm: &'static str,
    replica: u8,
    /// What it knew when choosing, per replica: `n: requests in flight,
    /// estimate ms, breaker`.
    loads: String,
}

impl LabEvent for Picked {
    const KIND: &'static str = "gateway.pick";
    fn summary(&self) -> String {
        format!(
            "try {}: {} chose replica {}",
            self.attempt, self.algorithm, self.replica
        )
    }
}

/// How one try went.
#[derive(Serialize)]
struct Tried {
    attempt: usize,
    replica: u8,
    port: u16,
    /// `answered`, `timed_out`, `connection_failed`, or `abandoned` (a
    /// hedge answered first).
    outcome: &'static str,
    status: Option<u16>,
    ms: u64,
    /// The replica's breaker after this try.
    breaker: &'static str,
}

impl LabEvent for Tried {
    const KIND: &'static str = "gateway.try";
    fn summary(&self) -> String {
        let what = match (self.outcome, self.status) {
            ("answered", Some(status)) => format!(
                "replica {} (port {}) answered {status} in {} ms",
                self.replica, self.port, self.ms
            ),
            ("timed_out", _) => format!(
                "replica {} (port {}) did not answer within {} ms: the gateway gave up on it",
                self.replica, self.port, self.ms
            ),
            ("abandoned", _) => format!(
                "replica {} (port {}) had not answered after {} ms when the other try did: abandoned",
                self.replica, self.port, self.ms
            ),
            _ => format!(
                "replica {} (port {}) could not be reached: connection refused or cut, after {} ms",
                self.replica, self.port, self.ms
            ),
        };
        match self.breaker {
            "closed" => what,
            breaker => format!("{what}; its breaker is {breaker}"),
        }
    }
}

/// The gateway's decision after a failed try.
#[derive(Serialize)]
struct Retry {
    /// The try that failed.
    attempt: usize,
    retried: bool,
    /// Why (not) again.
    why: &'static str,
    /// Requests and retries in the budget's window.
    window_requests: u32,
    window_retries: u32,
}

impl LabEvent for Retry {
    const KIND: &'static str = "gateway.retry";
    fn summary(&self) -> String {
        let budget = format!(
            "{} retries for {} requests in the last 10 s",
            self.window_retries, self.window_requests
        );
        match self.why {
            "budget" if self.retried => {
                format!("try {} failed: tried again ({budget})", self.attempt)
            }
            "budget" => format!(
                "try {} failed: not tried again, the retry budget is spent ({budget})",
                self.attempt
            ),
            "no_budget" => format!("try {} failed: tried again (no retry budget)", self.attempt),
            _ => format!(
                "try {} failed: not tried again, it was the last of 1 + retries",
                self.attempt
            ),
        }
    }
}

/// What one try came to.
enum Outcome {
    Answered {
        status: StatusCode,
        content_type: Option<HeaderValue>,
        body: axum::body::Bytes,
    },
    TimedOut,
    ConnectionFailed,
}

impl Outcome {
    /// A 2xx to 4xx answer: the replica did its job (a 404 is an answer).
    fn succeeded(&self) -> bool {
        matches!(self, Self::Answered { status, .. } if !status.is_server_error())
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Answered { .. } => "answered",
            Self::TimedOut => "timed_out",
            Self::ConnectionFailed => "connection_failed",
        }
    }

    fn status(&self) -> Option<u16> {
        match self {
            Self::Answered { status, .. } => Some(status.as_u16()),
            _ => None,
        }
    }

    /// The answer the client gets when this try is the last.
    fn into_response(self, replica: &Replica, settings: &GatewaySettings) -> Response {
        match self {
            Self::Answered {
                status,
                content_type,
                body,
            } => {
                let mut response = (status, body).into_response();
                if let Some(content_type) = content_type {
                    response
                        .headers_mut()
                        .insert(header::CONTENT_TYPE, content_type);
                }
                response
            }
            Self::TimedOut => error_response(
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "Replica {} did not answer within your per-try timeout of {} ms.",
                    replica.number, settings.per_try_timeout_ms
                ),
            ),
            Self::ConnectionFailed => error_response(
                StatusCode::BAD_GATEWAY,
                format!(
                    "Replica {} (port {}) refused or cut the connection.",
                    replica.number,
                    replica.port()
                ),
            ),
        }
    }
}

/// `GET /labs/gateway/catalog/items/{id}`.
#[utoipa::path(get, path = "/catalog/items/{id}",
    summary = "One request through your gateway to a catalog replica",
    description = "At the door the gateway checks the `X-Api-Key` when your settings require one (then tells the replica the consumer in `X-Consumer`; the replica checks nothing) and decides your `rate_limit` if you set one: a request refused there never reaches a replica. Then it picks one of your replicas with your settings' algorithm (skipping those whose circuit breaker is open) and forwards the request to it over TCP on the loopback interface, giving up on a try after `per_try_timeout_ms`. A failed try (no answer in time, a cut connection, a 5xx) is tried again on another replica up to `retries` times, within the retry budget. The answer is the last try's (the replica's status and body), with `X-Replica` naming the replica and `X-Attempts` counting the tries; `502` when the replica could not be reached and `504` when it did not answer in time are the gateway's own.",
    params(
        ("id" = u32, Path, description = "The item, 1 to 1000"),
        ("X-Api-Key" = Option<String>, Header, description = "One of your settings' `api_keys`, required when `require_api_key` is on (a new gateway knows `web-shop-key-1` and `mobile-app-key-1`)"),
    ),
    responses(
        (status = 200, description = "The item, the replica that served it, and the consumer when the gateway checked a key", body = model::labs::gateway::CatalogItem,
            headers(
                ("X-Replica" = String, description = "The replica that gave this answer, 1 to 5"),
                ("X-Attempts" = String, description = "How many tries the gateway made"),
            )),
        (status = 401, description = "Your gateway requires an API key and the request has none, or one it does not know", body = model::ErrorBody),
        (status = 404, description = "No such item", body = model::ErrorBody),
        (status = 429, description = "Your gateway's rate limit refused it, before any replica", body = model::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until a request would be allowed"))),
        (status = 502, description = "The last replica tried refused or cut the connection", body = model::ErrorBody),
        (status = 503, description = "The last replica tried answered 503 (its error rate), every replica's breaker is open, or the server runs as many replicas as it allows", body = model::ErrorBody),
        (status = 504, description = "The last replica tried did not answer within the per-try timeout", body = model::ErrorBody),
    ))]
pub(super) async fn item(
    LabState(gateway): LabState<GatewayLab>,
    CurrentSettings(settings, ..): CurrentSettings<GatewayLab>,
    student: Student,
    inspector: Inspector,
    address: ClientAddress,
    headers: HeaderMap,
    Path(id): Path<u32>,
) -> Result<Response, ApiError> {
    if id == 0 || id > super::replicas::CATALOG_ITEMS {
        return Err(ApiError::NotFound(format!(
            "The catalog has items 1 to {}; there is no item {id}.",
            super::replicas::CATALOG_ITEMS
        )));
    }
    let admitted = match front::admit(
        &gateway.limiters,
        &settings,
        &student,
        &address,
        &headers,
        &inspector,
    )
    .await
    {
        Ok(admitted) => admitted,
        Err(refused) => return Ok(refused),
    };
    let mine = gateway.of(&student.id, &settings).await?;
    let ask = Ask {
        id,
        consumer: admitted.consumer.clone(),
    };
    let mut response = forward(&gateway, &mine, &settings, &ask, &inspector).await;
    admitted.stamp(&mut response);
    Ok(response)
}

/// One client request through the student's gateway, every try included:
/// the answer the client gets, with `X-Replica` and `X-Attempts` when a
/// replica was tried. The route and the load generator both come here.
pub(super) async fn forward(
    gateway: &super::Gateway,
    mine: &Arc<StudentGateway>,
    settings: &GatewaySettings,
    ask: &Ask,
    inspector: &Inspector,
) -> Response {
    let replicas = mine.replicas.lock().await.clone();
    mine.check_health_if_due(gateway, &replicas, settings);
    mine.steer().request(mine.now_ms());
    let mut tried: Vec<usize> = Vec::new();
    // Tries sent so far (hedges included); `attempt` counts rounds.
    let mut number = 0;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (index, replica) = match pick(mine, &replicas, settings, &tried, inspector) {
            Ok(picked) => picked,
            Err(refused) => return refused.into_response(),
        };
        tried.push(index);
        let sent = Sent {
            index,
            replica,
            started: Instant::now(),
        };
        let first = try_once(gateway, sent.replica.clone(), ask, settings);
        let (outcome, replica) = match settings.hedge_after_ms {
            0 => {
                let outcome = first.await;
                settle(mine, settings, inspector, &mut number, &sent, &outcome);
                (outcome, sent.replica)
            }
            after => {
                let mut first = std::pin::pin!(first);
                let early =
                    tokio::time::timeout(Duration::from_millis(u64::from(after)), first.as_mut())
                        .await;
                match early {
                    Ok(outcome) => {
                        settle(mine, settings, inspector, &mut number, &sent, &outcome);
                        (outcome, sent.replica)
                    }
                    Err(_) => {
                        let hedge = hedge(mine, &replicas, settings, &tried, inspector, after);
                        match hedge {
                            None => {
                                let outcome = first.await;
                                settle(mine, settings, inspector, &mut number, &sent, &outcome);
                                (outcome, sent.replica)
                            }
                            Some(other) => {
                                tried.push(other.index);
                                let second =
                                    try_once(gateway, other.replica.clone(), ask, settings);
                                race(
                                    mine,
                                    settings,
                                    inspector,
                                    &mut number,
                                    (sent, first),
                                    (other, second),
                                )
                                .await
                            }
                        }
                    }
                }
            }
        };
        let last = outcome.succeeded() || !again(mine, settings, attempt, inspector);
        if last {
            let mut response = outcome.into_response(&replica, settings);
            let headers = response.headers_mut();
            headers.insert(REPLICA_HEADER, HeaderValue::from(u16::from(replica.number)));
            headers.insert(ATTEMPTS_HEADER, HeaderValue::from(number));
            return response;
        }
    }
}

/// What a client asked the gateway for: the item, and whose request it is
/// when the gateway checked a key.
pub(super) struct Ask {
    pub(super) id: u32,
    pub(super) consumer: Option<String>,
}

/// One try on its way: where it went, and since when.
struct Sent {
    index: usize,
    replica: Arc<Replica>,
    started: Instant,
}

/// A try came back: the balancer learns its round trip, the replica's
/// breaker its outcome, and the trace gets it as try `number + 1`.
fn settle(
    mine: &StudentGateway,
    settings: &GatewaySettings,
    inspector: &Inspector,
    number: &mut usize,
    sent: &Sent,
    outcome: &Outcome,
) {
    let elapsed = sent.started.elapsed();
    let breaker = mine.steer().settle(
        settings,
        sent.index,
        elapsed.as_nanos() as u64,
        outcome.succeeded(),
        mine.now_ms(),
    );
    *number += 1;
    inspector.record(&Tried {
        attempt: *number,
        replica: sent.replica.number,
        port: sent.replica.port(),
        outcome: outcome.name(),
        status: outcome.status(),
        ms: elapsed.as_millis() as u64,
        breaker,
    });
}

/// A try given up because the other one answered first.
fn abandon(mine: &StudentGateway, inspector: &Inspector, number: &mut usize, sent: &Sent) {
    mine.steer().abandon(sent.index);
    *number += 1;
    inspector.record(&Tried {
        attempt: *number,
        replica: sent.replica.number,
        port: sent.replica.port(),
        outcome: "abandoned",
        status: None,
        ms: sent.started.elapsed().as_millis() as u64,
        breaker: "closed",
    });
}

/// The gateway hedged a slow try.
#[derive(Serialize)]
struct Hedged {
    after_ms: u32,
    replica: u8,
}

impl LabEvent for Hedged {
    const KIND: &'static str = "gateway.hedge";
    fn summary(&self) -> String {
        format!(
            "no answer after {} ms: the same request goes to replica {} too",
            self.after_ms, self.replica
        )
    }
}

/// A second try for a slow one, on a replica not tried yet, if the retry
/// budget pays for it.
fn hedge(
    mine: &StudentGateway,
    replicas: &[Arc<Replica>],
    settings: &GatewaySettings,
    tried: &[usize],
    inspector: &Inspector,
    after_ms: u32,
) -> Option<Sent> {
    let index = mine.steer().may_hedge(settings, tried, mine.now_ms())?;
    let replica = replicas.get(index)?.clone();
    trace_pick(mine, settings, tried, inspector, &replica);
    inspector.record(&Hedged {
        after_ms,
        replica: replica.number,
    });
    Some(Sent {
        index,
        replica,
        started: Instant::now(),
    })
}

/// The first good answer of two tries wins and the other is abandoned; if
/// the first to answer failed, the other is awaited.
async fn race<F, G>(
    mine: &StudentGateway,
    settings: &GatewaySettings,
    inspector: &Inspector,
    number: &mut usize,
    (one, mut first): (Sent, std::pin::Pin<&mut F>),
    (two, second): (Sent, G),
) -> (Outcome, Arc<Replica>)
where
    F: std::future::Future<Output = Outcome>,
    G: std::future::Future<Output = Outcome>,
{
    let mut second = std::pin::pin!(second);
    let first_done = tokio::select! {
        outcome = first.as_mut() => Ok(outcome),
        outcome = second.as_mut() => Err(outcome),
    };
    let ((done, outcome), (other, rest)) = match first_done {
        Ok(outcome) => ((one, outcome), (two, Either::Second(second))),
        Err(outcome) => ((two, outcome), (one, Either::First(first))),
    };
    settle(mine, settings, inspector, number, &done, &outcome);
    if outcome.succeeded() {
        abandon(mine, inspector, number, &other);
        return (outcome, done.replica);
    }
    let late = match rest {
        Either::First(future) => future.await,
        Either::Second(future) => future.await,
    };
    settle(mine, settings, inspector, number, &other, &late);
    (late, other.replica)
}

/// One of the two tries' futures.
enum Either<A, B> {
    First(A),
    Second(B),
}

/// The answer header counting the gateway's tries.
pub(crate) const ATTEMPTS_HEADER: &str = "x-attempts";

/// Whether a failed try `attempt` is tried again, as the settings and the
/// budget say; traced either way.
fn again(
    mine: &StudentGateway,
    settings: &GatewaySettings,
    attempt: usize,
    inspector: &Inspector,
) -> bool {
    let now_ms = mine.now_ms();
    let mut steering = mine.steer();
    let (retried, why) = steering.may_retry(settings, attempt, now_ms);
    let (window_requests, window_retries) = steering.budget.in_window(now_ms);
    drop(steering);
    inspector.record(&Retry {
        attempt,
        retried,
        why: why.name(),
        window_requests,
        window_retries,
    });
    retried
}

/// Sends the request to `replica` once, within the per-try timeout.
async fn try_once(
    gateway: &super::Gateway,
    replica: Arc<Replica>,
    ask: &Ask,
    settings: &GatewaySettings,
) -> Outcome {
    let answer = async {
        let mut request = gateway
            .client
            .get(format!(
                "http://127.0.0.1:{}/items/{}",
                replica.port(),
                ask.id
            ))
            .header(TOKEN_HEADER, &gateway.token);
        if let Some(consumer) = &ask.consumer {
            request = request.header(CONSUMER_HEADER, consumer);
        }
        let response = request
            .timeout(Duration::from_millis(u64::from(
                settings.per_try_timeout_ms,
            )))
            .send()
            .await?;
        let status =
            StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
        Ok::<_, reqwest::Error>(Outcome::Answered {
            status,
            content_type,
            body: response.bytes().await?,
        })
    }
    .await;
    match answer {
        Ok(outcome) => outcome,
        Err(e) if e.is_timeout() => Outcome::TimedOut,
        Err(_) => Outcome::ConnectionFailed,
    }
}

/// Picks a replica for a try, skipping open breakers, saturated replicas
/// when shedding, and, where another is left, the replicas already tried;
/// traces the choice. Refuses when nothing is left.
fn pick(
    mine: &StudentGateway,
    replicas: &[Arc<Replica>],
    settings: &GatewaySettings,
    tried: &[usize],
    inspector: &Inspector,
) -> Result<(usize, Arc<Replica>), Refused> {
    let index = mine.steer().choose(settings, tried, mine.now_ms())?;
    let replica = replicas.get(index).ok_or(Refused::NoReplica)?.clone();
    trace_pick(mine, settings, tried, inspector, &replica);
    Ok((index, replica))
}

/// Traces the gateway's choice of `replica` for the next try.
fn trace_pick(
    mine: &StudentGateway,
    settings: &GatewaySettings,
    tried: &[usize],
    inspector: &Inspector,
    replica: &Replica,
) {
    let loads = mine.steer().describe(mine.now_ms());
    inspector.record(&Picked {
        attempt: tried.len() + 1,
        algorithm: settings.algorithm.name(),
        replica: replica.number,
        loads,
    });
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Self::AllEjected => ApiError::Unavailable(
                "Every replica failed its health checks: the gateway has none in its rotation until one passes again.".into(),
            )
            .into_response(),
            Self::BreakersOpen => ApiError::Unavailable(
                "Every replica's circuit breaker is open: the gateway sends nothing until one lets a trial through.".into(),
            )
            .into_response(),
            Self::Shed(shed_above) => {
                let mut response = error_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "Shed: every replica the gateway could use has {shed_above} requests in flight (your shed_above), so this one is refused at once instead of queueing."
                    ),
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                response
            }
            Self::NoReplica => {
                ApiError::Unavailable("The gateway has no replica to send to.".into())
                    .into_response()
            }
        }
    }
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
    mine.check_health_if_due(&gateway, &replicas, &settings);
    let now_ns = mine.now_ms() * 1_000_000;
    let steering = mine.steer();
    let loads = steering
        .balancer
        .loads()
        .iter()
        .zip(steering.breakers.iter().zip(&steering.health));
    let views = replicas
        .iter()
        .take(usize::from(settings.replicas))
        .zip(loads)
        .map(|(replica, (load, (breaker, health)))| {
            let counts = replica.counts();
            ReplicaView {
                number: replica.number,
                port: counts.port,
                in_flight: counts.in_flight,
                queued: counts.queued,
                answered: counts.answered,
                errors: counts.errors,
                ewma_ms: (load.estimate_ns(now_ns) / 1e5).round() / 10.0,
                breaker: breaker.name().into(),
                health: health.name().into(),
                outstanding: load.outstanding,
                settings: counts.settings,
            }
        })
        .collect();
    Ok(Json(Replicas {
        algorithm: settings.algorithm,
        replicas: views,
        health_rounds: steering.health_rounds,
    }))
}
