//! The load generator: an open-loop run through the student's gateway.
//! Requests go out at a fixed rate whether or not earlier ones were
//! answered, as real users arrive (a closed loop, which waits for each
//! answer, slows down with the server and hides its latency). Each request
//! follows the student's settings as they are at that moment, so a replica
//! killed during a run shows in the next second.
//!
//! Bounds: 200 requests a second for 60 s at most; 256 of a run's requests
//! waiting at once (beyond, the generator counts them as not sent); one run
//! per student; [`MAX_RUNS`] runs on the server at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use model::labs::gateway::{LoadRequest, LoadRun, LoadSecond, MAX_REPLICAS};
use tokio::task::JoinSet;

use super::proxy::{forward, Ask, ATTEMPTS_HEADER, REPLICA_HEADER};
use super::replicas::CATALOG_ITEMS;
use super::GatewayLab;
use crate::error::extract::Json as JsonBody;
use crate::error::ApiError;
use crate::identity::Student;
use crate::inspector::{Inspector, TraceId};
use crate::labs::{current_settings, LabState, Labs};
use crate::students::StudentId;

/// Runs on the server at once.
pub(crate) const MAX_RUNS: usize = 16;
/// A run's requests waiting for an answer at once.
const MAX_WAITING: usize = 256;

/// Every student's latest run.
#[derive(Default)]
pub(crate) struct LoadRuns {
    runs: Mutex<HashMap<StudentId, Arc<Run>>>,
    running: Arc<AtomicUsize>,
}

/// One run: what was asked, and what happened so far.
struct Run {
    asked: LoadRequest,
    started: Instant,
    stats: Mutex<Stats>,
}

/// What a run sent and got, second by second (the brownout replay keeps
/// one too).
#[derive(Default)]
pub(super) struct Stats {
    running: bool,
    sent: u32,
    not_sent: u32,
    seconds: Vec<Second>,
}

#[derive(Default)]
struct Second {
    sent: u32,
    succeeded: u32,
    failed: u32,
    attempts: u32,
    latencies_ms: Vec<u32>,
    per_replica: [u32; MAX_REPLICAS],
}

/// Counts a running run until dropped.
struct Running(Arc<AtomicUsize>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl LoadRuns {
    /// Forgets finished runs (called with the lab's idle sweep).
    pub(crate) fn forget_finished(&self) {
        self.lock().retain(|_, run| run.lock().running);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<StudentId, Arc<Run>>> {
        self.runs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Run {
    fn lock(&self) -> std::sync::MutexGuard<'_, Stats> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The run as the API shows it.
    fn view(&self) -> LoadRun {
        let elapsed_ms = self.started.elapsed().as_millis() as u64;
        self.lock().view(&self.asked, elapsed_ms)
    }
}

impl Stats {
    /// A request sent in `second`.
    pub(super) fn sent(&mut self, second: usize) {
        self.sent += 1;
        self.second(second).sent += 1;
    }

    /// The answer to a request sent in `second`, `ms` after it was sent:
    /// whether it failed (a 5xx, or none), the gateway's tries, and the
    /// replica (0-based) whose answer it was when it succeeded.
    pub(super) fn answered(
        &mut self,
        second: usize,
        ms: u32,
        failed: bool,
        attempts: u32,
        replica: Option<usize>,
    ) {
        let counts = self.second(second);
        counts.latencies_ms.push(ms);
        if failed {
            counts.failed += 1;
        } else {
            counts.succeeded += 1;
        }
        counts.attempts += attempts;
        if let Some(replica) = replica.filter(|&i| i < MAX_REPLICAS && !failed) {
            counts.per_replica[replica] += 1;
        }
    }

    fn second(&mut self, second: usize) -> &mut Second {
        if self.seconds.len() <= second {
            self.seconds.resize_with(second + 1, Second::default);
        }
        &mut self.seconds[second]
    }

    /// The run as the API shows it, `elapsed_ms` after it started.
    pub(super) fn view(&self, asked: &LoadRequest, elapsed_ms: u64) -> LoadRun {
        let stats = self;
        let mut all: Vec<u32> = Vec::new();
        let mut per_replica = [0u32; MAX_REPLICAS];
        let (mut succeeded, mut failed, mut attempts) = (0, 0, 0u64);
        let per_second = stats
            .seconds
            .iter()
            .enumerate()
            .map(|(second, s)| {
                all.extend(&s.latencies_ms);
                succeeded += s.succeeded;
                failed += s.failed;
                attempts += u64::from(s.attempts);
                for (total, n) in per_replica.iter_mut().zip(s.per_replica) {
                    *total += n;
                }
                let mut sorted = s.latencies_ms.clone();
                sorted.sort_unstable();
                LoadSecond {
                    second: second as u32,
                    sent: s.sent,
                    succeeded: s.succeeded,
                    failed: s.failed,
                    attempts: s.attempts,
                    p50_ms: percentile(&sorted, 50),
                    p99_ms: percentile(&sorted, 99),
                    per_replica: s.per_replica.to_vec(),
                }
            })
            .collect();
        all.sort_unstable();
        let answered = succeeded + failed;
        LoadRun {
            running: stats.running,
            rate_per_sec: asked.rate_per_sec,
            seconds: asked.seconds,
            brownout_at_s: asked.brownout_at_s,
            elapsed_ms,
            sent: stats.sent,
            not_sent: stats.not_sent,
            succeeded,
            failed,
            attempts_per_request: if answered == 0 {
                0.0
            } else {
                (attempts as f64 / f64::from(answered) * 100.0).round() / 100.0
            },
            p50_ms: percentile(&all, 50),
            p95_ms: percentile(&all, 95),
            p99_ms: percentile(&all, 99),
            per_replica: per_replica.to_vec(),
            per_second,
        }
    }
}

/// The `p`th percentile of `sorted` (nearest rank), 0 when empty.
pub(super) fn percentile(sorted: &[u32], p: usize) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// `POST /labs/gateway/load`.
#[utoipa::path(post, path = "/load",
    summary = "Start an open-loop run through your gateway",
    description = "Sends `rate_per_sec` requests a second for `seconds` seconds to random catalog items through your gateway, whether or not earlier ones were answered, each following your settings as they are at that moment. Read it live with `GET /labs/gateway/load`. One run per student at a time; 256 of its requests may wait at once (beyond, they are counted as not sent).",
    request_body = model::labs::gateway::LoadRequest,
    responses(
        (status = 202, description = "The run started", body = model::labs::gateway::LoadRun,
            headers(("Location" = String, description = "Where to read it: /labs/gateway/load"))),
        (status = 409, description = "A run of yours is still going", body = model::ErrorBody),
        (status = 422, description = "The rate or the length is out of range", body = model::ErrorBody),
        (status = 503, description = "The server runs as many load runs as it allows", body = model::ErrorBody),
    ))]
pub(super) async fn start(
    State(labs): State<Labs>,
    LabState(gateway): LabState<GatewayLab>,
    student: Student,
    JsonBody(asked): JsonBody<LoadRequest>,
) -> Result<impl IntoResponse, ApiError> {
    check_asked(&asked)?;
    let settings = current_settings::<GatewayLab>(&labs, &student).await?;
    // Starts the replicas now, and refuses here if the server is full.
    gateway.of(&student.id, &settings).await?;
    let runs = &gateway.runs;
    let run = {
        let mut all = runs.lock();
        if all.get(&student.id).is_some_and(|run| run.lock().running) {
            return Err(ApiError::Conflict(
                "A load run of yours is still going: wait for it, or stop it with DELETE /labs/gateway/load.".into(),
            ));
        }
        if runs.running.fetch_add(1, Ordering::SeqCst) >= MAX_RUNS {
            runs.running.fetch_sub(1, Ordering::SeqCst);
            return Err(ApiError::Unavailable(format!(
                "The server runs {MAX_RUNS} load runs at once, the most it allows; try again in a minute."
            )));
        }
        let run = Arc::new(Run {
            asked,
            started: Instant::now(),
            stats: Mutex::new(Stats {
                running: true,
                ..Stats::default()
            }),
        });
        all.insert(student.id.clone(), run.clone());
        run
    };
    let counted = Running(runs.running.clone());
    tokio::spawn(drive(labs, gateway.clone(), student, run.clone(), counted));
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, "/labs/gateway/load")],
        Json(run.view()),
    ))
}

/// Refuses a run out of bounds, naming the field.
fn check_asked(asked: &LoadRequest) -> Result<(), ApiError> {
    if !(1..=200).contains(&asked.rate_per_sec) {
        return Err(ApiError::Unprocessable(format!(
            "rate_per_sec must be between 1 and 200, not {}",
            asked.rate_per_sec
        )));
    }
    if !(1..=60).contains(&asked.seconds) {
        return Err(ApiError::Unprocessable(format!(
            "seconds must be between 1 and 60, not {}",
            asked.seconds
        )));
    }
    if let Some(at) = asked.brownout_at_s.filter(|&at| at >= asked.seconds) {
        return Err(ApiError::Unprocessable(format!(
            "brownout_at_s must be before the run ends (below seconds, {}), not {at}",
            asked.seconds
        )));
    }
    Ok(())
}

/// `POST /labs/gateway/replay`.
#[utoipa::path(post, path = "/replay",
    summary = "Replay a run on a virtual clock against your settings",
    description = "The same run as `POST /labs/gateway/load` would make (its rate, length and brownout), replayed at once against your gateway settings and simulated replicas with the lab's rules: the same balancer, budget, breakers and replica dice (seeded by your settings' `seed`), no network and no waiting. This is how the `gateway-brownout` exercise is graded. Nothing is sent to your replicas.",
    request_body = model::labs::gateway::LoadRequest,
    responses(
        (status = 200, description = "The replayed run, finished", body = model::labs::gateway::LoadRun),
        (status = 422, description = "The rate, the length or the brownout's second is out of range", body = model::ErrorBody),
    ))]
pub(super) async fn replayed(
    State(labs): State<Labs>,
    student: Student,
    JsonBody(asked): JsonBody<LoadRequest>,
) -> Result<Json<LoadRun>, ApiError> {
    check_asked(&asked)?;
    let settings = current_settings::<GatewayLab>(&labs, &student).await?;
    Ok(Json(super::replay::replay(&settings, &asked)))
}

/// Sends the run's requests on schedule, then waits for the last answers.
async fn drive(
    labs: Labs,
    gateway: Arc<super::Gateway>,
    student: Student,
    run: Arc<Run>,
    _counted: Running,
) {
    let every = Duration::from_secs(1) / run.asked.rate_per_sec;
    let total = run.asked.rate_per_sec * run.asked.seconds;
    let mut ticks = tokio::time::interval(every);
    // Open loop: a late tick is made up at once, not skipped.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut waiting = JoinSet::new();
    let mut dice = crate::seeded::SplitMix64::new(rand::random());
    for _ in 0..total {
        ticks.tick().await;
        if !run.lock().running {
            break;
        }
        while waiting.try_join_next().is_some() {}
        let second = run.started.elapsed().as_secs() as usize;
        {
            let mut stats = run.lock();
            if waiting.len() >= MAX_WAITING {
                stats.not_sent += 1;
                continue;
            }
            stats.sent(second);
        }
        let id = dice.below(u64::from(CATALOG_ITEMS)) as u32 + 1;
        let (labs, gateway, student, run) =
            (labs.clone(), gateway.clone(), student.clone(), run.clone());
        let brownout = run.asked.brownout_at_s.map(|at| second >= at as usize);
        waiting.spawn(async move {
            let sent = Instant::now();
            let settings = current_settings::<GatewayLab>(&labs, &student)
                .await
                .map(|settings| match brownout {
                    Some(begun) => settings.in_brownout(begun),
                    None => settings,
                });
            let answer = match settings {
                Ok(settings) => match gateway.of(&student.id, &settings).await {
                    Ok(mine) => {
                        // A trace nobody files: the run's requests would
                        // push the student's own out of the inspector.
                        let inspector = Inspector::new(TraceId::random());
                        Some(
                            forward(
                                &gateway,
                                &mine,
                                &settings,
                                &Ask { id, consumer: None },
                                &inspector,
                            )
                            .await,
                        )
                    }
                    Err(_) => None,
                },
                Err(_) => None,
            };
            let ms = sent.elapsed().as_millis() as u32;
            let Some(answer) = answer else {
                run.lock().answered(second, ms, true, 0, None);
                return;
            };
            let header_number = |name: &str| {
                answer
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<usize>().ok())
            };
            run.lock().answered(
                second,
                ms,
                answer.status().is_server_error(),
                header_number(ATTEMPTS_HEADER).unwrap_or(0) as u32,
                header_number(REPLICA_HEADER).and_then(|n| n.checked_sub(1)),
            );
        });
    }
    while waiting.join_next().await.is_some() {}
    run.lock().running = false;
}

/// `GET /labs/gateway/load`.
#[utoipa::path(get, path = "/load",
    summary = "Your latest load run, live",
    description = "What was sent and answered so far, success and failures, tries per request, the 50th, 95th and 99th percentile of the time to an answer, each replica's share of the answers, and the same second by second.",
    responses(
        (status = 200, description = "The run", body = model::labs::gateway::LoadRun),
        (status = 404, description = "You have not started a run", body = model::ErrorBody),
    ))]
pub(super) async fn show(
    LabState(gateway): LabState<GatewayLab>,
    student: Student,
) -> Result<Json<LoadRun>, ApiError> {
    let run = gateway.runs.lock().get(&student.id).cloned();
    let run = run.ok_or_else(|| {
        ApiError::NotFound("You have not started a load run: POST /labs/gateway/load.".into())
    })?;
    Ok(Json(run.view()))
}

/// `DELETE /labs/gateway/load`.
#[utoipa::path(delete, path = "/load",
    summary = "Stop your load run",
    description = "No more requests are sent; those already sent are still awaited and counted.",
    responses(
        (status = 204, description = "Stopped (or there was nothing running)"),
    ))]
pub(super) async fn stop(LabState(gateway): LabState<GatewayLab>, student: Student) -> StatusCode {
    if let Some(run) = gateway.runs.lock().get(&student.id) {
        run.lock().running = false;
    }
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let sorted: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&sorted, 50), 50);
        assert_eq!(percentile(&sorted, 99), 99);
        assert_eq!(percentile(&[7], 99), 7);
        assert_eq!(percentile(&[], 50), 0);
    }
}
