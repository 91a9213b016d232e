//! The live limiter: middleware in front of `/labs/ratelimit/api/...`
//! that decides every request with the student's algorithm and settings.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use model::labs::ratelimit::{ItemList, Pong};
use serde::Serialize;

use futures_util::FutureExt;
use redis::AsyncCommands;
use sha2::{Digest, Sha256};

use super::algorithms::{self, Algorithm, Decision, Kind, State as LimiterState, Stored};
use super::{KeyBy, LimiterPolicy, RateLimitLab, RateLimitSettings};
use crate::clock::Clock;
use crate::error::{error_response, ApiError, Challenge};
use crate::identity::Student;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::{CurrentSettings, LabState};
use crate::limiter::ClientAddress;
use crate::redis_link::{RedisDown, RedisLink};
use crate::student_memory::StudentMemory;

/// Limiters one student may have (one per key their requests are counted
/// by): a student who sends a new `X-Api-Key` every time churns only their own.
const LIMITERS_PER_STUDENT: usize = 32;
/// What one limiter costs in memory besides its log: settings, state, key.
const LIMITER_COST: usize = 256;
/// Longest a queued request is held (the queue's length over its rate).
const MAX_QUEUE_WAIT: Duration = Duration::from_secs(10);
/// The policy's name in the RateLimit fields.
const POLICY_NAME: &str = "lab";

struct Entry {
    settings: RateLimitSettings,
    algorithm: Box<dyn Algorithm>,
    used_ms: i64,
}

/// Compare-and-set: store the new state only if nobody changed it since we
/// read it, in one atomic step on the Redis server.
const COMPARE_AND_SET: &str = r"
local current = redis.call('GET', KEYS[1])
if (current or '') == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
";
/// Attempts before a contended shared limiter gives up (and fails open).
const CAS_ATTEMPTS: usize = 16;
/// How long an idle shared limiter lives in Redis.
const SHARED_TTL_MS: u64 = 3_600_000;

/// Where a decision was made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Where {
    /// In this server's memory.
    InProcess,
    /// In Redis, shared by every server pointing at it.
    Redis,
    /// In this server's memory because Redis could not be used.
    InProcessRedisDown(String),
}

/// Every student's limiters, one per key they are counted by: in this
/// process, or in Redis when the server has one.
pub struct Limiters {
    clock: Arc<dyn Clock>,
    /// Per student, their limiters by key, within the lab's memory budget.
    entries: Mutex<StudentMemory<HashMap<String, Entry>>>,
    redis: Option<RedisLink>,
}

impl Limiters {
    /// None yet; at most about `budget` bytes of them in this process;
    /// shared through `redis` when given.
    pub fn new(clock: Arc<dyn Clock>, redis: Option<RedisLink>, budget: usize) -> Self {
        Self {
            clock,
            entries: Mutex::new(StudentMemory::new(budget)),
            redis,
        }
    }

    /// Decides one request, in Redis when the server has one (falling
    /// back to this process when Redis is down), else in this process.
    pub async fn decide(
        &self,
        student: &str,
        key: &str,
        settings: &RateLimitSettings,
    ) -> (Decision, Where) {
        let Some(link) = &self.redis else {
            return (self.decide_here(student, key, settings), Where::InProcess);
        };
        match self.decide_shared(link, student, key, settings).await {
            Ok(decision) => (decision, Where::Redis),
            Err(down) => (
                self.decide_here(student, key, settings),
                Where::InProcessRedisDown(down.0),
            ),
        }
    }

    /// Read, decide, and compare-and-set until no other server got in between.
    async fn decide_shared(
        &self,
        link: &RedisLink,
        student: &str,
        key: &str,
        settings: &RateLimitSettings,
    ) -> Result<Decision, RedisDown> {
        static SCRIPT: std::sync::LazyLock<redis::Script> =
            std::sync::LazyLock::new(|| redis::Script::new(COMPARE_AND_SET));
        let fingerprint = Sha256::digest(serde_json::to_string(settings).unwrap_or_default());
        let hex: String = fingerprint
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect();
        let redis_key = format!("wb:ratelimit:{student}:{key}:{hex}");
        for _ in 0..CAS_ATTEMPTS {
            let read_key = redis_key.clone();
            let current: Option<String> = link
                .command(move |mut c| async move { c.get(read_key).await }.boxed())
                .await?;
            let now = self.clock.now_ms().max(0) as u64;
            let mut limiter = current
                .as_deref()
                .and_then(|json| serde_json::from_str::<Stored>(json).ok())
                .unwrap_or_else(|| Stored::new(settings.algorithm, settings.policy()));
            let decision = limiter.decide(now);
            let next = serde_json::to_string(&limiter).map_err(|e| RedisDown(e.to_string()))?;
            let (write_key, expected) = (redis_key.clone(), current.unwrap_or_default());
            let swapped: i64 = link
                .command(move |mut c| {
                    async move {
                        SCRIPT
                            .key(write_key)
                            .arg(expected)
                            .arg(next)
                            .arg(SHARED_TTL_MS)
                            .invoke_async(&mut c)
                            .await
                    }
                    .boxed()
                })
                .await?;
            if swapped == 1 {
                return Ok(decision);
            }
        }
        Err(RedisDown("the shared limiter was too contended".into()))
    }

    /// Decides one request of `student` counted against `key`, in this
    /// process. A limiter starts afresh when the student changes settings.
    pub fn decide_here(&self, student: &str, key: &str, settings: &RateLimitSettings) -> Decision {
        let now = self.clock.now_ms();
        let mut entries = self.entries.lock().expect("never poisoned");
        let mine = entries.entry(student, HashMap::new);
        if !mine.contains_key(key) && mine.len() >= LIMITERS_PER_STUDENT {
            let oldest = mine
                .iter()
                .min_by_key(|(_, e)| e.used_ms)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                mine.remove(&oldest);
            }
        }
        let entry = mine
            .entry(key.to_string())
            .or_insert_with(|| fresh(settings, now));
        if entry.settings != *settings {
            *entry = fresh(settings, now);
        }
        entry.used_ms = now;
        // The algorithms count from the limiter's own start, in milliseconds.
        let decision = entry.algorithm.decide(now.max(0) as u64);
        let cost = mine.values().map(cost_of).sum();
        entries.set_cost(student, cost);
        decision
    }
}

/// What a limiter costs at most: a sliding log keeps one time per request
/// it may admit; the others keep a few numbers.
fn cost_of(entry: &Entry) -> usize {
    let log = match entry.settings.algorithm {
        Kind::SlidingWindowLog | Kind::LeakyBucketQueue => entry.settings.capacity as usize * 8,
        _ => 0,
    };
    LIMITER_COST + log
}

fn fresh(settings: &RateLimitSettings, now: i64) -> Entry {
    let mut algorithm = algorithms::new(settings.algorithm, settings.policy());
    // Prime it at `now`, so a new bucket starts full at the current time.
    let _ = algorithm.state(now.max(0) as u64);
    Entry {
        settings: settings.clone(),
        algorithm,
        used_ms: now,
    }
}

/// Recorded for every limited request.
#[derive(Serialize)]
struct RateLimitDecision {
    decided_in: Where,
    algorithm: &'static str,
    key: String,
    allowed: bool,
    remaining: u32,
    retry_after_ms: u64,
    delay_ms: u64,
    state_before: LimiterState,
    state_after: LimiterState,
}

impl LabEvent for RateLimitDecision {
    const KIND: &'static str = "ratelimit.decision";
    fn summary(&self) -> String {
        let verdict = if self.allowed { "allowed" } else { "refused" };
        let wait = if self.delay_ms > 0 {
            format!(", queued {} ms", self.delay_ms)
        } else {
            String::new()
        };
        format!(
            "{verdict} by {} for {}: {} left{wait}",
            self.algorithm, self.key, self.remaining
        )
    }
}

/// The bucket a request is counted in, under the student's settings.
fn key_of(
    settings: &RateLimitSettings,
    student: &Student,
    address: &ClientAddress,
    headers: &HeaderMap,
) -> Result<String, ApiError> {
    Ok(match settings.key {
        KeyBy::Student => format!("student {}", student.id.as_str()),
        KeyBy::ClientAddress => format!("address {}", address.0),
        KeyBy::ApiKey => {
            let key = headers
                .get("x-api-key")
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|k| !k.is_empty() && k.len() <= 128)
                .ok_or_else(|| {
                    ApiError::Unauthorized(
                        "this limiter counts requests per API key: send an X-Api-Key header (any value up to 128 characters)".into(),
                        Challenge::LabApiKey,
                    )
                })?;
            format!("api key {key}")
        }
    })
}

/// The RateLimit fields (draft-ietf-httpapi-ratelimit-headers-10).
fn fields(settings: &RateLimitSettings, decision: &Decision) -> [(&'static str, String); 2] {
    let (quota, window) = settings.advertised();
    [
        (
            "ratelimit-policy",
            format!("\"{POLICY_NAME}\";q={quota};w={window}"),
        ),
        (
            "ratelimit",
            format!(
                "\"{POLICY_NAME}\";r={};t={}",
                decision.remaining,
                decision.reset_ms.div_ceil(1000)
            ),
        ),
    ]
}

/// Middleware: decide, then answer 429 or pass the request on (after its
/// wait, for the queue), with the RateLimit fields either way.
pub(super) async fn limit(
    LabState(limiters): LabState<RateLimitLab>,
    student: Student,
    CurrentSettings(settings, _): CurrentSettings<RateLimitLab>,
    inspector: Inspector,
    address: ClientAddress,
    request: Request,
    next: Next,
) -> Response {
    let passage = pass(
        &limiters,
        &student,
        &settings,
        &address,
        request.headers(),
        &inspector,
    )
    .await;
    match passage {
        Ok(passage) => {
            let mut response = next.run(request).await;
            passage.stamp(&mut response);
            response
        }
        Err(refused) => refused,
    }
}

/// A request a limiter let through: the RateLimit fields its answer carries.
pub(crate) struct Passage {
    fields: [(&'static str, String); 2],
}

impl Passage {
    /// Adds the RateLimit fields to the answer.
    pub(crate) fn stamp(self, response: &mut Response) {
        for (name, value) in self.fields {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
    }
}

/// Decides one request of `student` under `settings` and traces the
/// decision: let through (after its wait, for the queue) with the fields
/// its answer must carry, or refused with the `429` (or, when it must be
/// counted per API key and has none, the `401`) to send. The rate-limit
/// lab's middleware and the gateway lab's front door both decide here.
pub(crate) async fn pass(
    limiters: &Limiters,
    student: &Student,
    settings: &RateLimitSettings,
    address: &ClientAddress,
    headers: &HeaderMap,
    inspector: &Inspector,
) -> Result<Passage, Response> {
    let key = key_of(settings, student, address, headers).map_err(IntoResponse::into_response)?;
    let (decision, decided_in) = limiters.decide(student.id.as_str(), &key, settings).await;
    inspector.record(&RateLimitDecision {
        decided_in,
        algorithm: settings.algorithm.name(),
        key: key.clone(),
        allowed: decision.allowed,
        remaining: decision.remaining,
        retry_after_ms: decision.retry_after_ms,
        delay_ms: decision.delay_ms,
        state_before: decision.before.clone(),
        state_after: decision.after.clone(),
    });
    let passage = Passage {
        fields: fields(settings, &decision),
    };
    if !decision.allowed {
        let seconds = decision.retry_after_ms.div_ceil(1000).max(1);
        let mut refused = error_response(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "rate limit reached ({} for {key}): retry in {seconds} s",
                settings.algorithm.name()
            ),
        );
        refused
            .headers_mut()
            .insert("retry-after", HeaderValue::from(seconds));
        passage.stamp(&mut refused);
        return Err(refused);
    }
    if decision.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(decision.delay_ms).min(MAX_QUEUE_WAIT)).await;
    }
    Ok(passage)
}

/// `GET /labs/ratelimit/api/ping`.
#[utoipa::path(get, path = "/api/ping",
    summary = "A cheap answer behind your rate limiter",
    description = "Answers `{\"pong\": true}` when your limiter lets the request through. Behind your live rate limiter: it decides every request with your algorithm and settings, counting per `key` (you, your address, or the `X-Api-Key` you send). Every decided answer carries the `RateLimit-Policy` and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers-10); a refusal is 429 with `Retry-After`. With `leaky_bucket_queue` an admitted request may first wait its turn.",
    params(("X-Api-Key" = Option<String>, Header, description = "Counted per key when your settings say `key: api_key` (then required; any value up to 128 characters)")),
    responses(
        (status = 200, description = "Allowed", body = model::labs::ratelimit::Pong,
            headers(
                ("RateLimit-Policy" = String, description = "The limiter's quota and window: `\"lab\";q=<quota>;w=<seconds>`"),
                ("RateLimit" = String, description = "What is left: `\"lab\";r=<remaining>;t=<seconds until reset>`"),
            )),
        (status = 401, description = "Your limiter counts per API key and the request has no `X-Api-Key`", body = model::ErrorBody),
        (status = 429, description = "Too Many Requests: your limiter refused it", body = model::ErrorBody,
            headers(
                ("Retry-After" = u64, description = "Seconds until a request would be allowed"),
                ("RateLimit-Policy" = String, description = "The limiter's quota and window: `\"lab\";q=<quota>;w=<seconds>`"),
                ("RateLimit" = String, description = "What is left: `\"lab\";r=<remaining>;t=<seconds until reset>`"),
            )),
    ))]
pub(super) async fn ping() -> Json<Pong> {
    Json(Pong { pong: true })
}

/// `GET /labs/ratelimit/api/items`.
#[utoipa::path(get, path = "/api/items",
    summary = "A short list behind the same rate limiter",
    description = "A second route behind the same limiter as `/api/ping`, counted in the same bucket. Behind your live rate limiter: it decides every request with your algorithm and settings, counting per `key` (you, your address, or the `X-Api-Key` you send). Every decided answer carries the `RateLimit-Policy` and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers-10); a refusal is 429 with `Retry-After`. With `leaky_bucket_queue` an admitted request may first wait its turn.",
    params(("X-Api-Key" = Option<String>, Header, description = "Counted per key when your settings say `key: api_key` (then required; any value up to 128 characters)")),
    responses(
        (status = 200, description = "Allowed", body = model::labs::ratelimit::ItemList,
            headers(
                ("RateLimit-Policy" = String, description = "The limiter's quota and window: `\"lab\";q=<quota>;w=<seconds>`"),
                ("RateLimit" = String, description = "What is left: `\"lab\";r=<remaining>;t=<seconds until reset>`"),
            )),
        (status = 401, description = "Your limiter counts per API key and the request has no `X-Api-Key`", body = model::ErrorBody),
        (status = 429, description = "Too Many Requests: your limiter refused it", body = model::ErrorBody,
            headers(
                ("Retry-After" = u64, description = "Seconds until a request would be allowed"),
                ("RateLimit-Policy" = String, description = "The limiter's quota and window: `\"lab\";q=<quota>;w=<seconds>`"),
                ("RateLimit" = String, description = "What is left: `\"lab\";r=<remaining>;t=<seconds until reset>`"),
            )),
    ))]
pub(super) async fn items() -> Json<ItemList> {
    Json(ItemList {
        items: ["kettle", "lamp", "tent"].map(String::from).to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn a_new_setting_starts_a_new_limiter_and_keys_count_apart() {
        let clock = Arc::new(ManualClock::new(1_000));
        let limiters = Limiters::new(clock.clone(), None, usize::MAX);
        let settings = RateLimitSettings::default();
        for _ in 0..10 {
            assert!(limiters.decide_here("s1", "a", &settings).allowed);
        }
        assert!(!limiters.decide_here("s1", "a", &settings).allowed);
        assert!(
            limiters.decide_here("s1", "b", &settings).allowed,
            "another key has its own bucket"
        );
        assert!(
            limiters.decide_here("s2", "a", &settings).allowed,
            "another student too"
        );
        clock.advance_ms(1000);
        assert!(
            limiters.decide_here("s1", "a", &settings).allowed,
            "one token per second"
        );
        let bigger = RateLimitSettings {
            capacity: 20,
            ..settings
        };
        assert_eq!(limiters.decide_here("s1", "a", &bigger).remaining, 19);
    }

    #[test]
    fn the_fields_follow_the_draft() {
        let settings = RateLimitSettings::default();
        let decision = algorithms::new(settings.algorithm, settings.policy()).decide(0);
        let [policy, current] = fields(&settings, &decision);
        assert_eq!(
            policy,
            ("ratelimit-policy", "\"lab\";q=10;w=10".to_string())
        );
        assert_eq!(current, ("ratelimit", "\"lab\";r=9;t=1".to_string()));
    }
}
