//! `probe`: black-box checks against a server the student built, in any
//! language. The student gives a `base_url`; the exercise declares a
//! sequence of requests and what each answer must show, and values captured
//! from one answer (a `Location`, an id) feed the next request.
//!
//! ```toml
//! [check]
//! timeout_ms = 10000
//! [[check.steps]]
//! name = "create a todo"
//! method = "POST"
//! path = "/todos"
//! headers = { content-type = "application/json" }
//! body = '{"title": "write tests"}'
//! status = 201
//! expect_header_paths = { location = "/todos/" } # a URI reference: resolved
//! #   against the request's URL, on the probed server, its path starts with this
//! expect_json = { "$.title" = "write tests" }
//! # also: expect_json_present = ["$.id"], expect_json_absent = ["$.items[2]"];
//! # expect_headers = { content-type = "application/json" } (the value starts
//! # with this), which may name captured values: { location = "{todo}" }
//! capture = { todo = "header:location" }        # or "json:$.id"
//! [[check.steps]]
//! name = "fetch it back"
//! path = "{todo}"
//! status = 200
//! max_ms = 500
//! ```
//!
//! A step may read a stream instead of one answer (`events = {…}`):
//! server-sent events, or messages over a WebSocket it opens
//! (`websocket = true`); [`events`] says how.
//!
//! Where probes may go is the server's decision, not the exercise's: only
//! loopback addresses and the hosts an instructor allowed ([`ProbePolicy`]),
//! checked after DNS resolution and before any connection, with the
//! connection pinned to the checked address. Redirects are never followed,
//! and the whole probe has a time limit.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, FutureExt};
use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;

use self::events::{EventField, EventsPlan, EventsSpec, Received};
use super::select::Selector;
use super::{check_line, parse_check, AnswerError, CheckKind, CheckOutcome, Checker, GradeContext};
use model::exercises::ProbeAnswer;
use model::ExerciseInput;

mod events;
mod suite;

pub(crate) use suite::{StudentSuite, SuiteLimits};

/// The longest any probe may run, whatever the exercise asks for.
const MAX_PROBE: Duration = Duration::from_secs(30);
/// The largest answer body a probe reads.
const MAX_BODY: usize = 256 * 1024;

/// Ports of infrastructure that often listens on loopback (PostgreSQL,
/// MySQL, Redis, RabbitMQ, NATS, MQTT, memcached, MongoDB, Elasticsearch,
/// etcd). A probe's requests are fixed by the exercise, but the student
/// picks the address: these stay out of reach unless an operator allows
/// them by `host:port`.
const INFRASTRUCTURE_PORTS: [u16; 10] =
    [5432, 3306, 6379, 5672, 4222, 1883, 11211, 27017, 9200, 2379];

/// Where probes may send requests. The default reaches nothing.
#[derive(Clone, Debug, Default)]
pub struct ProbePolicy {
    /// Whether loopback addresses may be probed: yes on a student's own
    /// machine (the CLI, a workbench listening on loopback), no on a
    /// hosted server, whose loopback holds the operator's own services.
    pub loopback: bool,
    /// `host` or `host:port` entries an operator allowed.
    pub allow: Vec<String>,
}

impl ProbePolicy {
    /// Loopback and the hosts in `allow`: for a student's own machine.
    pub fn with_loopback(allow: Vec<String>) -> Self {
        Self {
            loopback: true,
            allow,
        }
    }
}

/// Reports each check as soon as it is known (the CLI prints them as it goes).
pub type ProgressSink = Arc<dyn Fn(&CheckOutcome) + Send + Sync>;

/// The `probe` kind.
pub(crate) struct Probe;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[serde(default = "default_timeout_ms")]
    timeout_ms: u64,
    steps: Vec<StepSpec>,
}

fn default_timeout_ms() -> u64 {
    10_000
}

fn default_method() -> String {
    "GET".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepSpec {
    name: String,
    #[serde(default = "default_method")]
    method: String,
    path: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<String>,
    status: Option<u16>,
    #[serde(default)]
    expect_headers: BTreeMap<String, String>,
    /// Headers that hold a URI reference (`Location`, `Content-Location`),
    /// judged by the path it resolves to: `/todos/1` and
    /// `http://host:port/todos/1` are the same answer (RFC 9110, 10.2.2).
    #[serde(default)]
    expect_header_paths: BTreeMap<String, String>,
    #[serde(default)]
    expect_json: BTreeMap<String, toml::Value>,
    #[serde(default)]
    expect_json_present: Vec<String>,
    #[serde(default)]
    expect_json_absent: Vec<String>,
    max_ms: Option<u64>,
    #[serde(default)]
    capture: BTreeMap<String, String>,
    hint: Option<String>,
    /// A hidden step reports pass or fail, but not what it expected.
    #[serde(default)]
    hidden: bool,
    /// Open a WebSocket (an HTTP/1.1 upgrade) instead of sending a request.
    #[serde(default)]
    websocket: bool,
    /// Read a stream of events instead of one body.
    events: Option<EventsSpec>,
}

/// Where a captured value comes from.
#[derive(Debug, Clone)]
enum Source {
    Header(String),
    Json(Selector),
    Event(EventField),
}

#[derive(Debug)]
struct Step {
    spec: StepSpec,
    method: reqwest::Method,
    expect_json: Vec<(Selector, Value)>,
    expect_present: Vec<Selector>,
    expect_absent: Vec<Selector>,
    events: Option<EventsPlan>,
    capture: Vec<(String, Source)>,
}

/// A validated probe.
#[derive(Debug)]
struct ProbePlan {
    timeout: Duration,
    steps: Vec<Step>,
}

impl CheckKind for Probe {
    fn name(&self) -> &'static str {
        "probe"
    }

    fn load(
        &self,
        front_matter: &str,
        first_line: usize,
    ) -> Result<Box<dyn Checker>, (usize, String)> {
        let spec: Spec = parse_check(front_matter, first_line)?;
        let at_check = check_line(front_matter, first_line);
        ProbePlan::from_spec(spec)
            .map(|plan| Box::new(plan) as Box<dyn Checker>)
            .map_err(|message| (at_check, format!("[check]: {message}")))
    }
}

/// The `{name}` placeholders in `text`.
fn placeholders(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = &rest[open + 1..open + close];
        if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            found.push(name);
        }
        rest = &rest[open + close + 1..];
    }
    found
}

fn fill(text: &str, captured: &HashMap<String, String>) -> String {
    captured
        .iter()
        .fold(text.to_string(), |acc, (name, value)| {
            acc.replace(&format!("{{{name}}}"), value)
        })
}

impl ProbePlan {
    fn from_spec(spec: Spec) -> Result<Self, String> {
        if spec.steps.is_empty() {
            return Err("a probe needs at least one `[[check.steps]]`".into());
        }
        let timeout_ms = spec.timeout_ms.min(MAX_PROBE.as_millis() as u64);
        let mut known: HashSet<String> = HashSet::new();
        let mut steps = Vec::new();
        for (index, mut step) in spec.steps.into_iter().enumerate() {
            let at = format!("step {} ({:?})", index + 1, step.name);
            let method = reqwest::Method::from_bytes(step.method.to_ascii_uppercase().as_bytes())
                .map_err(|_| format!("{at}: {:?} is not an HTTP method", step.method))?;
            if step.websocket {
                step.status =
                    Some(upgrade_status(&step, &method).map_err(|e| format!("{at}: {e}"))?);
            }
            let events = step
                .events
                .take()
                .map(|events| EventsPlan::new(events, step.websocket, timeout_ms))
                .transpose()
                .map_err(|e| format!("{at}: {e}"))?;
            if events.is_some()
                && !(step.expect_json.is_empty()
                    && step.expect_json_present.is_empty()
                    && step.expect_json_absent.is_empty())
            {
                return Err(format!(
                    "{at}: a step that reads events has no single body to judge; use `events.expect_json_present`"
                ));
            }
            if !step.path.starts_with('/') && !step.path.starts_with('{') {
                return Err(format!(
                    "{at}: `path` must start with `/` or a captured `{{value}}`"
                ));
            }
            let mut texts = vec![step.path.as_str()];
            texts.extend(step.body.as_deref());
            texts.extend(step.headers.values().map(String::as_str));
            texts.extend(step.expect_headers.values().map(String::as_str));
            texts.extend(step.expect_header_paths.values().map(String::as_str));
            texts.extend(events.iter().flat_map(EventsPlan::texts));
            if let Some(path) = step
                .expect_header_paths
                .values()
                .find(|p| !p.starts_with('/') && !p.starts_with('{'))
            {
                return Err(format!(
                    "{at}: `expect_header_paths` value {path:?} must be a path starting with `/`"
                ));
            }
            for name in texts.into_iter().flat_map(placeholders) {
                if !known.contains(name) {
                    return Err(format!(
                        "{at}: `{{{name}}}` is not captured by an earlier step"
                    ));
                }
            }
            if let Some(status) = step.status {
                if !(100..=599).contains(&status) {
                    return Err(format!(
                        "{at}: `status` {status} is not an HTTP status code"
                    ));
                }
            }
            let expect_json = step
                .expect_json
                .iter()
                .map(|(selector, value)| {
                    let value = serde_json::to_value(value).map_err(|e| format!("{at}: {e}"))?;
                    Ok((
                        Selector::parse(selector).map_err(|e| format!("{at}: {e}"))?,
                        value,
                    ))
                })
                .collect::<Result<Vec<_>, String>>()?;
            let expect_present = step
                .expect_json_present
                .iter()
                .map(|s| Selector::parse(s).map_err(|e| format!("{at}: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            let expect_absent = step
                .expect_json_absent
                .iter()
                .map(|s| Selector::parse(s).map_err(|e| format!("{at}: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            let capture = step
                .capture
                .iter()
                .map(|(name, source)| {
                    let parsed = if let Some(header) = source.strip_prefix("header:") {
                        Source::Header(header.trim().to_ascii_lowercase())
                    } else if let Some(selector) = source.strip_prefix("json:") {
                        Source::Json(Selector::parse(selector.trim()).map_err(|e| format!("{at}: {e}"))?)
                    } else if let Some(field) = source.strip_prefix("event:") {
                        let events = events.as_ref().ok_or_else(|| {
                            format!("{at}: capture {name:?} names an event, but the step reads none")
                        })?;
                        Source::Event(events.capture_source(field).map_err(|e| format!("{at}: {e}"))?)
                    } else {
                        return Err(format!(
                            "{at}: capture {name:?} must come from \"header:NAME\", \"json:$.path\" or \"event:N:id\""
                        ));
                    };
                    Ok((name.clone(), parsed))
                })
                .collect::<Result<Vec<_>, String>>()?;
            known.extend(capture.iter().map(|(n, _)| n.clone()));
            if step.status.is_none()
                && step.expect_headers.is_empty()
                && step.expect_header_paths.is_empty()
                && expect_json.is_empty()
                && expect_present.is_empty()
                && expect_absent.is_empty()
                && step.max_ms.is_none()
                && events.is_none()
            {
                return Err(format!(
                    "{at}: the step expects nothing; give it a `status` at least"
                ));
            }
            steps.push(Step {
                spec: step,
                method,
                expect_json,
                expect_present,
                expect_absent,
                events,
                capture,
            });
        }
        Ok(Self {
            timeout: Duration::from_millis(timeout_ms),
            steps,
        })
    }
}

/// The status a WebSocket step expects: `101 Switching Protocols`, the
/// only answer that opens one, and only to a `GET` without a body.
fn upgrade_status(step: &StepSpec, method: &reqwest::Method) -> Result<u16, String> {
    if method != reqwest::Method::GET {
        return Err("a WebSocket opens with GET".into());
    }
    if step.body.is_some() {
        return Err("a WebSocket step sends `events.send`, not a body".into());
    }
    match step.status {
        None | Some(101) => Ok(101),
        Some(other) => Err(format!(
            "a WebSocket step expects 101 Switching Protocols, not {other}"
        )),
    }
}

/// The address a probe may connect to for `base`, or why it may not.
pub(crate) async fn allowed_target(base: &Url, policy: &ProbePolicy) -> Result<SocketAddr, String> {
    if base.scheme() != "http" {
        return Err(format!(
            "only http:// addresses can be probed, not {}://",
            base.scheme()
        ));
    }
    let host = base.host_str().ok_or("the address has no host")?;
    let port = base.port_or_known_default().unwrap_or(80);
    let allowed_by_name = policy
        .allow
        .iter()
        .any(|a| a.eq_ignore_ascii_case(host) || a.eq_ignore_ascii_case(&format!("{host}:{port}")));
    let lookup_host = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> = match lookup_host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((lookup_host, port))
            .await
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .collect(),
    };
    let first = *addresses
        .first()
        .ok_or_else(|| format!("{host} has no address"))?;
    let allowed_port = policy
        .allow
        .iter()
        .any(|a| a.eq_ignore_ascii_case(&format!("{host}:{port}")));
    if INFRASTRUCTURE_PORTS.contains(&port) && !allowed_port {
        return Err(format!(
            "port {port} belongs to a database or broker, not to a server you wrote; pick another port"
        ));
    }
    let on_loopback = addresses.iter().all(|a| a.ip().is_loopback());
    if allowed_by_name || (policy.loopback && on_loopback) {
        Ok(first)
    } else if on_loopback {
        Err(format!(
            "{host} is this hosted workbench's own machine, which probes may not reach; run `workbench grade --probe` on your own machine, or ask for your server's address to be allowed"
        ))
    } else if policy.loopback {
        Err(format!(
            "{host} is not a loopback address and not on the probe allow-list; probes only reach your own machine"
        ))
    } else {
        Err(format!(
            "{host} is not on this workbench's probe allow-list; ask your instructor which addresses it allows"
        ))
    }
}

impl ProbePlan {
    async fn run(
        &self,
        base_url: &str,
        policy: &ProbePolicy,
        progress: Option<&ProgressSink>,
    ) -> Result<Vec<CheckOutcome>, AnswerError> {
        let base = Url::parse(base_url.trim())
            .map_err(|e| AnswerError(format!("`base_url` {base_url:?} is not a URL: {e}")))?;
        let target = allowed_target(&base, policy).await.map_err(AnswerError)?;
        let host = base.host_str().unwrap_or_default().to_string();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .resolve(&host, target)
            .timeout(self.timeout)
            .build()
            .map_err(|e| AnswerError(format!("cannot make an HTTP client: {e}")))?;
        let mut outcomes = Vec::new();
        let report = |check: CheckOutcome, outcomes: &mut Vec<CheckOutcome>| {
            if let Some(progress) = progress {
                progress(&check);
            }
            outcomes.push(check);
        };
        let deadline = Instant::now() + self.timeout;
        let mut captured = HashMap::new();
        let mut broken: Option<String> = None;
        for step in &self.steps {
            if let Some(reason) = &broken {
                report(
                    CheckOutcome::new(format!("{}: not run", step.spec.name), false)
                        .observed(reason.clone()),
                    &mut outcomes,
                );
                continue;
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            let sent = step.send(&client, &base, target, &captured);
            match tokio::time::timeout(remaining, sent).await {
                Err(_) => {
                    let reason = format!(
                        "the probe ran out of time ({} ms in all)",
                        self.timeout.as_millis()
                    );
                    report(
                        CheckOutcome::new(format!("{}: answered", step.spec.name), false)
                            .observed(reason.clone()),
                        &mut outcomes,
                    );
                    broken = Some(reason);
                }
                Ok(Err(reason)) => {
                    report(
                        CheckOutcome::new(format!("{}: answered", step.spec.name), false)
                            .observed(reason.clone())
                            .hint(step.spec.hint.clone()),
                        &mut outcomes,
                    );
                    broken = Some(format!("an earlier step failed: {reason}"));
                }
                Ok(Ok(answer)) => {
                    for check in step.judge(&answer, &mut captured) {
                        report(check, &mut outcomes);
                    }
                }
            }
        }
        Ok(outcomes)
    }
}

/// What a server answered to one step.
struct Answer {
    /// The URL the step's request went to, which relative references in
    /// the answer resolve against.
    url: Url,
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
    /// Until the headers for a step that reads events, else the whole answer.
    elapsed: Duration,
    /// What a step that reads events received.
    received: Option<Received>,
}

impl Step {
    async fn send(
        &self,
        client: &reqwest::Client,
        base: &Url,
        target: SocketAddr,
        captured: &HashMap<String, String>,
    ) -> Result<Answer, String> {
        let path = fill(&self.spec.path, captured);
        let url = base
            .join(&path)
            .map_err(|e| format!("{path:?} does not make a URL: {e}"))?;
        if url.origin() != base.origin() {
            return Err(format!(
                "{url} is on another server than {base}; probes do not follow it"
            ));
        }
        let headers: Vec<(String, String)> = self
            .spec
            .headers
            .iter()
            .map(|(name, value)| (name.clone(), fill(value, captured)))
            .collect();
        if self.spec.websocket {
            let send: Vec<String> = self
                .events
                .iter()
                .flat_map(|plan| &plan.spec.send)
                .map(|text| fill(text, captured))
                .collect();
            let opened = events::open_websocket(
                &url,
                target,
                &headers,
                &send,
                self.events.as_ref(),
                MAX_BODY,
            )
            .await?;
            return Ok(Answer {
                url,
                status: opened.status,
                headers: opened.headers,
                body: Vec::new(),
                elapsed: opened.upgraded_after,
                received: Some(opened.received),
            });
        }
        let mut request = client.request(self.method.clone(), url.clone());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        if let Some(body) = &self.spec.body {
            request = request.body(fill(body, captured));
        }
        let started = Instant::now();
        let mut response = request.send().await.map_err(|e| describe_send_error(&e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        if let Some(plan) = &self.events {
            let elapsed = started.elapsed();
            let received = if response.status().is_success() {
                events::read_event_stream(&mut response, plan, MAX_BODY).await?
            } else {
                Received::nothing(format!("no events: the answer was {}", response.status()))
            };
            return Ok(Answer {
                url,
                status,
                headers,
                body: Vec::new(),
                elapsed,
                received: Some(received),
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("reading the answer failed: {e}"))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BODY {
                return Err(format!("the answer is over {MAX_BODY} bytes"));
            }
        }
        Ok(Answer {
            url,
            status,
            headers,
            body,
            elapsed: started.elapsed(),
            received: None,
        })
    }

    fn named(&self, what: &str, passed: bool, expected: String, observed: String) -> CheckOutcome {
        let check =
            CheckOutcome::new(format!("{}: {what}", self.spec.name), passed).observed(observed);
        let check = if self.spec.hidden {
            check
        } else {
            check.expected(expected)
        };
        check.hint(self.spec.hint.clone())
    }

    fn judge(&self, answer: &Answer, captured: &mut HashMap<String, String>) -> Vec<CheckOutcome> {
        let mut checks = Vec::new();
        if let Some(status) = self.spec.status {
            checks.push(self.named(
                "status",
                answer.status == status,
                status.to_string(),
                answer.status.to_string(),
            ));
        }
        for (name, prefix) in &self.spec.expect_headers {
            // A captured value may be expected again: the same Location twice.
            let prefix = &fill(prefix, captured);
            let value = answer.headers.get(name).and_then(|v| v.to_str().ok());
            let passed = value.is_some_and(|v| {
                v.to_ascii_lowercase()
                    .starts_with(&prefix.to_ascii_lowercase())
            });
            checks.push(self.named(
                &format!("header {name}"),
                passed,
                format!("{name}: {prefix}…"),
                value.map_or_else(|| format!("no {name} header"), |v| format!("{name}: {v}")),
            ));
        }
        for (name, prefix) in &self.spec.expect_header_paths {
            // A captured value (an earlier Location) may be a full URL too.
            let prefix = &fill(prefix, captured);
            let want = path_of_reference(&answer.url, prefix);
            let value = answer.headers.get(name).and_then(|v| v.to_str().ok());
            let (passed, observed) = match value {
                None => (false, format!("no {name} header")),
                Some(value) => match path_of_reference(&answer.url, value) {
                    Ok(path) => (
                        want.as_ref()
                            .is_ok_and(|want| path.starts_with(want.as_str())),
                        format!("{name}: {value} (path {path})"),
                    ),
                    Err(why) => (false, format!("{name}: {value} ({why})")),
                },
            };
            checks.push(self.named(
                &format!("header {name}"),
                passed,
                format!("{name}: {prefix}… (a path, or a full URL on this server)"),
                observed,
            ));
        }
        let json: Option<Value> = serde_json::from_slice(&answer.body).ok();
        for (selector, want) in &self.expect_json {
            let got = json.as_ref().and_then(|j| selector.select(j));
            checks.push(self.named(
                &format!("JSON {}", selector.as_str()),
                got == Some(want),
                format!("{} = {want}", selector.as_str()),
                describe_json(&json, selector, got),
            ));
        }
        for selector in &self.expect_present {
            let got = json.as_ref().and_then(|j| selector.select(j));
            checks.push(self.named(
                &format!("JSON {} present", selector.as_str()),
                got.is_some(),
                format!("{} present", selector.as_str()),
                describe_json(&json, selector, got),
            ));
        }
        for selector in &self.expect_absent {
            let got = json.as_ref().and_then(|j| selector.select(j));
            checks.push(self.named(
                &format!("JSON {} absent", selector.as_str()),
                json.is_some() && got.is_none(),
                format!("no {}", selector.as_str()),
                describe_json(&json, selector, got),
            ));
        }
        if let Some(max_ms) = self.spec.max_ms {
            let took = answer.elapsed.as_millis();
            checks.push(self.named(
                "time",
                took <= u128::from(max_ms),
                format!("at most {max_ms} ms"),
                format!("{took} ms"),
            ));
        }
        if let (Some(plan), Some(received)) = (&self.events, &answer.received) {
            for (what, passed, expected, observed) in
                events::judge(plan, received, |text| fill(text, captured))
            {
                checks.push(self.named(&what, passed, expected, observed));
            }
        }
        for (name, source) in &self.capture {
            let value = match source {
                Source::Header(header) => answer
                    .headers
                    .get(header)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
                Source::Json(selector) => {
                    json.as_ref()
                        .and_then(|j| selector.select(j))
                        .map(|v| match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                }
                Source::Event(field) => answer.received.as_ref().and_then(|r| field.take(r)),
            };
            if let Some(value) = value {
                captured.insert(name.clone(), value);
            }
        }
        checks
    }
}

/// The path a URI reference in an answer header names, resolved against
/// the URL of the request it answered (RFC 3986, 5.2), or why it names
/// nothing on that server.
fn path_of_reference(request: &Url, reference: &str) -> Result<String, String> {
    let resolved = request
        .join(reference.trim())
        .map_err(|e| format!("not a URI reference: {e}"))?;
    if resolved.origin() != request.origin() {
        return Err(format!(
            "on another server than {}",
            request.origin().ascii_serialization()
        ));
    }
    Ok(resolved.path().to_string())
}

fn describe_json(json: &Option<Value>, selector: &Selector, got: Option<&Value>) -> String {
    match (json, got) {
        (None, _) => "the answer is not JSON".into(),
        (Some(_), None) => format!("no {}", selector.as_str()),
        (Some(_), Some(v)) => format!("{} = {v}", selector.as_str()),
    }
}

fn describe_send_error(error: &reqwest::Error) -> String {
    if error.is_connect() {
        "nothing answered: is your server running on that address?".into()
    } else if error.is_timeout() {
        "no answer in time".into()
    } else {
        format!("the request failed: {error}")
    }
}

impl Checker for ProbePlan {
    fn regradable(&self) -> bool {
        false
    }

    fn public_input(&self) -> ExerciseInput {
        ExerciseInput::Probe {
            steps: self.steps.iter().map(|s| s.spec.name.clone()).collect(),
        }
    }

    fn grade<'a>(
        &'a self,
        answer: &'a Value,
        context: &'a GradeContext,
    ) -> BoxFuture<'a, Result<Vec<CheckOutcome>, AnswerError>> {
        async move {
            let answer: ProbeAnswer = serde_json::from_value(answer.clone()).map_err(|e| {
                AnswerError(format!(
                    "the answer must be {{\"base_url\": \"http://127.0.0.1:PORT\"}}: {e}"
                ))
            })?;
            self.run(&answer.base_url, &context.probe, context.progress.as_ref())
                .await
        }
        .boxed()
    }

    fn secrets(&self) -> Vec<String> {
        self.steps
            .iter()
            .filter(|s| s.spec.hidden)
            .flat_map(|s| {
                let events = s.events.iter().flat_map(EventsPlan::texts);
                s.expect_json
                    .iter()
                    .map(|(_, v)| v.to_string())
                    .chain(events.map(str::to_string))
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(steps: &str) -> Result<Box<dyn Checker>, (usize, String)> {
        Probe.load(&format!("[check]\n{steps}"), 1)
    }

    #[test]
    fn captured_values_must_be_captured_before_use() {
        let err =
            load("[[check.steps]]\nname = \"a\"\npath = \"{todo}\"\nstatus = 200").unwrap_err();
        assert!(err.1.contains("`{todo}` is not captured"), "{}", err.1);
        assert!(load(
            "[[check.steps]]\nname = \"a\"\npath = \"/t\"\nstatus = 201\ncapture = { todo = \"header:location\" }\n[[check.steps]]\nname = \"b\"\npath = \"{todo}\"\nstatus = 200"
        )
        .is_ok());
    }

    #[test]
    fn steps_must_expect_something_and_be_well_formed() {
        assert!(load("[[check.steps]]\nname = \"a\"\npath = \"/t\"")
            .unwrap_err()
            .1
            .contains("expects nothing"));
        assert!(load("[[check.steps]]\nname = \"a\"\npath = \"t\"\nstatus = 200").is_err());
        assert!(load("[[check.steps]]\nname = \"a\"\npath = \"/t\"\nstatus = 200\ncapture = { x = \"body\" }").is_err());
        assert!(load("timeout_ms = 5").unwrap_err().1.contains("steps"));
    }

    #[tokio::test]
    async fn only_loopback_and_allowed_hosts_may_be_probed() {
        let policy = ProbePolicy::with_loopback(Vec::new());
        let url = |u: &str| Url::parse(u).unwrap();
        assert!(allowed_target(&url("http://127.0.0.1:8080"), &policy)
            .await
            .is_ok());
        assert!(allowed_target(&url("http://[::1]:8080"), &policy)
            .await
            .is_ok());
        assert!(allowed_target(&url("http://localhost:8080"), &policy)
            .await
            .is_ok());
        for refused in [
            "http://10.0.0.8/",
            "http://169.254.169.254/latest",
            "https://127.0.0.1/",
            "http://0.0.0.0:80/",
        ] {
            assert!(
                allowed_target(&url(refused), &policy).await.is_err(),
                "{refused}"
            );
        }
        let allowing = ProbePolicy::with_loopback(vec!["10.0.0.8:8080".into()]);
        assert!(allowed_target(&url("http://10.0.0.8:8080/"), &allowing)
            .await
            .is_ok());
        assert!(allowed_target(&url("http://10.0.0.8:9090/"), &allowing)
            .await
            .is_err());
    }

    #[tokio::test]
    async fn a_hosted_workbench_probes_only_what_its_operator_allows() {
        let hosted = ProbePolicy {
            loopback: false,
            allow: vec!["10.0.0.8:8080".into(), "127.0.0.1:9000".into()],
        };
        let url = |u: &str| Url::parse(u).unwrap();
        for refused in [
            "http://127.0.0.1:8080/",
            "http://localhost:3000/",
            "http://[::1]:8080/",
        ] {
            let error = allowed_target(&url(refused), &hosted).await.unwrap_err();
            assert!(error.contains("own machine"), "{refused}: {error}");
        }
        assert!(allowed_target(&url("http://10.0.0.9:8080/"), &hosted)
            .await
            .unwrap_err()
            .contains("allow-list"));
        for allowed in ["http://10.0.0.8:8080/", "http://127.0.0.1:9000/"] {
            assert!(
                allowed_target(&url(allowed), &hosted).await.is_ok(),
                "{allowed}"
            );
        }
        assert!(
            allowed_target(&url("http://127.0.0.1:8080/"), &ProbePolicy::default())
                .await
                .is_err()
        );
    }

    #[test]
    fn a_location_is_judged_by_the_path_it_resolves_to() {
        let request = Url::parse("http://127.0.0.1:8080/todos").unwrap();
        let path = |reference: &str| path_of_reference(&request, reference);
        assert_eq!(path("/todos/1").unwrap(), "/todos/1");
        assert_eq!(path("http://127.0.0.1:8080/todos/1").unwrap(), "/todos/1");
        assert_eq!(
            path("HTTP://127.0.0.1:8080/todos/1?x=1").unwrap(),
            "/todos/1"
        );
        assert_eq!(path("todos/1").unwrap(), "/todos/1", "relative to /todos");
        assert_eq!(path("//127.0.0.1:8080/todos/2").unwrap(), "/todos/2");
        assert!(path("http://127.0.0.1:9090/todos/1")
            .unwrap_err()
            .contains("another server"));
        assert!(path("https://127.0.0.1:8080/todos/1").is_err());
        assert!(path("http://[::1").is_err());
    }

    #[test]
    fn header_paths_must_be_paths() {
        let step = |paths: &str| {
            load(&format!(
                "[[check.steps]]\nname = \"a\"\npath = \"/t\"\nexpect_header_paths = {paths}"
            ))
        };
        assert!(
            step("{ location = \"/todos/\" }").is_ok(),
            "a step may expect only that"
        );
        assert!(step("{ location = \"todos/\" }")
            .unwrap_err()
            .1
            .contains("starting with `/`"));
        assert!(step("{ location = \"{nope}\" }")
            .unwrap_err()
            .1
            .contains("not captured"));
    }

    #[test]
    fn placeholders_are_found_and_filled() {
        assert_eq!(placeholders("/a/{id}/b/{x_y}"), vec!["id", "x_y"]);
        assert!(placeholders(r#"{"json": 1}"#).is_empty());
        let captured = HashMap::from([("id".to_string(), "7".to_string())]);
        assert_eq!(fill("/todos/{id}", &captured), "/todos/7");
    }
}
