//! `http`: the student proves they can make a request by making it. The
//! exercise states the request a lab must receive and the status it must
//! get; the engine looks at the student's own recorded lab requests.
//!
//! ```toml
//! [check]
//! method = "POST"
//! path = "/labs/http/echo/orders"      # `*` matches one path segment
//! headers = ["Content-Type: application/json"]
//! json_fields = ["$.item", "$.quantity"]
//! status = 201
//! [[check.events]]                     # what the lab recorded about it
//! kind = "rbac.decision"               # an inspector event of this kind
//! fields = { role = "seller", allowed = false }   # with these field values
//! hint = "Said when no event of the request matches."
//! ```
//!
//! Events let an exercise ask for what the lab decided, not only what it
//! answered: two requests can both get `403` for different reasons. The
//! answer is `{"requests": [...]}`, each request as recorded by the
//! inspector. In the browser the server fills it from the student's own
//! traces (a student cannot send made-up requests); the CLI and the API take
//! it from the submission, for an LMS that recorded them itself.

use std::collections::BTreeMap;

use futures_util::future::{BoxFuture, FutureExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::select::Selector;
use super::{check_line, parse_check, AnswerError, CheckKind, CheckOutcome, Checker, GradeContext};
use model::{ExerciseInput, TraceView};

/// The `http` kind.
pub(crate) struct HttpKind;

/// What the request must look like, as written in the exercise.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    method: String,
    path: String,
    #[serde(default)]
    headers: Vec<String>,
    #[serde(default)]
    json_fields: Vec<String>,
    status: u16,
    #[serde(default)]
    events: Vec<EventSpec>,
}

/// An event the lab must have recorded while handling the request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventSpec {
    kind: String,
    #[serde(default)]
    fields: BTreeMap<String, toml::Value>,
    hint: Option<String>,
}

/// The validated requirement.
#[derive(Debug)]
struct Requirement {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    json_fields: Vec<Selector>,
    status: u16,
    events: Vec<ExpectedEvent>,
}

/// An event expectation, with each field's value as the inspector writes
/// it: strings as they are, other values as JSON (`false`, `3`).
#[derive(Debug)]
struct ExpectedEvent {
    kind: String,
    fields: Vec<(String, String)>,
    hint: Option<String>,
}

impl ExpectedEvent {
    fn from_spec(spec: EventSpec) -> Result<Self, String> {
        if spec.kind.trim().is_empty() {
            return Err("an event needs a `kind`, such as \"rbac.decision\"".into());
        }
        let fields = spec
            .fields
            .into_iter()
            .map(|(name, value)| {
                let text = match value {
                    toml::Value::String(text) => text,
                    toml::Value::Integer(n) => n.to_string(),
                    toml::Value::Float(x) => serde_json::to_string(&x).unwrap_or_default(),
                    toml::Value::Boolean(b) => b.to_string(),
                    _ => {
                        return Err(format!(
                            "event {:?}: field `{name}` must be a string, a number or a boolean",
                            spec.kind
                        ))
                    }
                };
                Ok((name, text))
            })
            .collect::<Result<_, String>>()?;
        Ok(Self {
            kind: spec.kind,
            fields,
            hint: spec.hint,
        })
    }

    /// What the check asks for, as feedback names it.
    fn describe(&self) -> String {
        if self.fields.is_empty() {
            return self.kind.clone();
        }
        let fields: Vec<String> = self
            .fields
            .iter()
            .map(|(name, value)| format!("{name} = {value}"))
            .collect();
        format!("{} with {}", self.kind, fields.join(", "))
    }

    fn matches(&self, event: &RecordedEvent) -> bool {
        event.kind == self.kind
            && self
                .fields
                .iter()
                .all(|(name, value)| event.fields.get(name) == Some(value))
    }

    /// The outcome against one request's events: passed when any matches;
    /// otherwise what the closest one of the kind recorded.
    fn check(&self, events: &[RecordedEvent]) -> CheckOutcome {
        let of_kind: Vec<&RecordedEvent> = events.iter().filter(|e| e.kind == self.kind).collect();
        let matched = of_kind.iter().any(|e| self.matches(e));
        let closest = of_kind.iter().max_by_key(|e| {
            self.fields
                .iter()
                .filter(|(name, value)| e.fields.get(name) == Some(value))
                .count()
        });
        let observed = match closest {
            None => format!("no {} in the request's trace", self.kind),
            Some(event) => {
                let seen: Vec<String> = self
                    .fields
                    .iter()
                    .map(|(name, _)| {
                        let value = event.fields.get(name).map_or("(absent)", String::as_str);
                        format!("{name} = {value}")
                    })
                    .collect();
                format!("{} with {}", self.kind, seen.join(", "))
            }
        };
        CheckOutcome::new(format!("the lab recorded {}", self.describe()), matched)
            .expected(self.describe())
            .observed(observed)
            .hint(self.hint.clone())
    }
}

/// One request a lab received, as the inspector recorded it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RecordedRequest {
    /// Method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Request headers (secrets redacted).
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Request body as text (cut at the inspector's limit).
    #[serde(default)]
    pub body: String,
    /// The status the lab answered with.
    pub status: u16,
    /// What the lab recorded while handling it (the trace's events).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<RecordedEvent>,
}

/// One event the lab recorded while handling a request: its kind and
/// fields, as the inspector wrote them (non-string values as JSON).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RecordedEvent {
    /// Dotted kind, e.g. `rbac.decision`.
    pub kind: String,
    /// Field name to value.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

impl RecordedRequest {
    /// The request a trace recorded.
    pub(crate) fn from_trace(trace: &TraceView) -> Self {
        Self {
            method: trace.method.clone(),
            path: trace.path.clone(),
            headers: trace.request_headers.clone(),
            body: trace.request_body.clone(),
            status: trace.status,
            events: trace
                .events
                .iter()
                .map(|e| RecordedEvent {
                    kind: e.kind.clone(),
                    fields: e.fields.iter().cloned().collect(),
                })
                .collect(),
        }
    }

    /// The first value of `name` its lab recorded in an event of `kind`.
    pub(crate) fn event_field(&self, kind: &str, name: &str) -> Option<&str> {
        self.events
            .iter()
            .filter(|e| e.kind == kind)
            .find_map(|e| e.fields.get(name))
            .map(String::as_str)
    }
}

/// The answer of an `http` exercise.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct LabRequests {
    /// Oldest first.
    pub requests: Vec<RecordedRequest>,
}

impl CheckKind for HttpKind {
    fn name(&self) -> &'static str {
        "http"
    }

    fn load(
        &self,
        front_matter: &str,
        first_line: usize,
    ) -> Result<Box<dyn Checker>, (usize, String)> {
        let spec: Spec = parse_check(front_matter, first_line)?;
        let at_check = check_line(front_matter, first_line);
        Requirement::from_spec(spec)
            .map(|r| Box::new(r) as Box<dyn Checker>)
            .map_err(|message| (at_check, format!("[check]: {message}")))
    }
}

impl Requirement {
    fn from_spec(spec: Spec) -> Result<Self, String> {
        let method = spec.method.to_ascii_uppercase();
        if method.is_empty() || !method.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(format!("`method` {:?} is not an HTTP method", spec.method));
        }
        if !spec.path.starts_with('/') {
            return Err(format!("`path` {:?} must start with `/`", spec.path));
        }
        if !(100..=599).contains(&spec.status) {
            return Err(format!(
                "`status` {} is not an HTTP status code",
                spec.status
            ));
        }
        let headers = spec
            .headers
            .iter()
            .map(|h| {
                h.split_once(':')
                    .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
                    .filter(|(n, _)| !n.is_empty())
                    .ok_or_else(|| format!("header {h:?} must be written `Name: value`"))
            })
            .collect::<Result<_, _>>()?;
        let json_fields = spec
            .json_fields
            .iter()
            .map(|s| Selector::parse(s))
            .collect::<Result<_, _>>()?;
        let events = spec
            .events
            .into_iter()
            .map(ExpectedEvent::from_spec)
            .collect::<Result<_, _>>()?;
        Ok(Self {
            method,
            path: spec.path,
            headers,
            json_fields,
            status: spec.status,
            events,
        })
    }

    fn target(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    fn path_matches(&self, path: &str) -> bool {
        let path = if self.path.contains('?') {
            path
        } else {
            path.split('?').next().unwrap_or(path)
        };
        let want: Vec<_> = self.path.split('/').collect();
        let got: Vec<_> = path.split('/').collect();
        want.len() == got.len()
            && want
                .iter()
                .zip(&got)
                .all(|(w, g)| *w == "*" && !g.is_empty() || w == g)
    }

    /// Every check against one request, in declaration order.
    fn checks(&self, request: &RecordedRequest) -> Vec<CheckOutcome> {
        let mut checks = vec![CheckOutcome::new(
            format!("a {} request", self.target()),
            request.method.eq_ignore_ascii_case(&self.method) && self.path_matches(&request.path),
        )
        .expected(self.target())
        .observed(format!("{} {}", request.method, request.path))];
        for (name, value) in &self.headers {
            let sent = request
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone());
            let passed = sent.as_deref().is_some_and(|v| {
                v.to_ascii_lowercase()
                    .starts_with(&value.to_ascii_lowercase())
            });
            checks.push(
                CheckOutcome::new(format!("with the header {name}: {value}"), passed)
                    .expected(format!("{name}: {value}"))
                    .observed(
                        sent.map_or_else(
                            || format!("no {name} header"),
                            |v| format!("{name}: {v}"),
                        ),
                    ),
            );
        }
        if !self.json_fields.is_empty() {
            let body: Option<Value> = serde_json::from_str(&request.body).ok();
            for field in &self.json_fields {
                let found = body.as_ref().and_then(|b| field.select(b));
                checks.push(
                    CheckOutcome::new(
                        format!("with a JSON body holding {}", field.as_str()),
                        found.is_some(),
                    )
                    .expected(field.as_str().to_string())
                    .observed(match (&body, found) {
                        (None, _) => "the body is not JSON".to_string(),
                        (Some(_), None) => format!("no {}", field.as_str()),
                        (Some(_), Some(v)) => format!("{} = {v}", field.as_str()),
                    }),
                );
            }
        }
        checks.push(
            CheckOutcome::new(
                format!("answered {}", self.status),
                request.status == self.status,
            )
            .expected(self.status.to_string())
            .observed(request.status.to_string()),
        );
        checks.extend(self.events.iter().map(|e| e.check(&request.events)));
        checks
    }
}

impl Checker for Requirement {
    fn answer_source(&self) -> super::AnswerSource<'_> {
        super::AnswerSource::RecordedRequests
    }

    fn public_input(&self) -> ExerciseInput {
        ExerciseInput::LabRequests {
            target: self.target(),
        }
    }

    fn grade<'a>(
        &'a self,
        answer: &'a Value,
        _context: &'a GradeContext,
    ) -> BoxFuture<'a, Result<Vec<CheckOutcome>, AnswerError>> {
        let result = serde_json::from_value::<LabRequests>(answer.clone())
            .map_err(|e| AnswerError(format!("the answer must be {{\"requests\": [...]}}: {e}")))
            .map(|answer| self.grade_requests(&answer.requests));
        std::future::ready(result).boxed()
    }

    fn secrets(&self) -> Vec<String> {
        Vec::new()
    }

    /// Only the request that was judged: the rest of the student's
    /// recorded requests decided nothing.
    fn graded_part(&self, answer: &Value) -> Value {
        let Ok(answer) = serde_json::from_value::<LabRequests>(answer.clone()) else {
            return answer.clone();
        };
        let judged = self
            .closest(&answer.requests)
            .map(|(index, _)| answer.requests[index].clone());
        serde_json::to_value(LabRequests {
            requests: judged.into_iter().collect(),
        })
        .unwrap_or_default()
    }
}

impl Requirement {
    /// The request that comes closest (the newest of equals), with its checks.
    fn closest(&self, requests: &[RecordedRequest]) -> Option<(usize, Vec<CheckOutcome>)> {
        requests
            .iter()
            .map(|r| self.checks(r))
            .enumerate()
            .max_by_key(|(index, checks)| (checks.iter().filter(|c| c.passed).count(), *index))
    }

    /// The checks of the request that comes closest.
    fn grade_requests(&self, requests: &[RecordedRequest]) -> Vec<CheckOutcome> {
        let best = self.closest(requests).map(|(_, checks)| checks);
        best.unwrap_or_else(|| {
            vec![
                CheckOutcome::new(format!("a {} request", self.target()), false)
                    .expected(self.target())
                    .observed("no lab requests recorded yet")
                    .hint(Some(
                        "Send the request with the request widget in the lesson, then check again."
                            .into(),
                    )),
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CHECK: &str = "id = \"x\"\n[check]\nmethod = \"POST\"\npath = \"/labs/http/echo/orders/*\"\nheaders = [\"Content-Type: application/json\"]\njson_fields = [\"$.item\"]\nstatus = 201";

    fn request(
        method: &str,
        path: &str,
        content_type: &str,
        body: &str,
        status: u16,
    ) -> RecordedRequest {
        RecordedRequest {
            method: method.into(),
            path: path.into(),
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
            status,
            events: Vec::new(),
        }
    }

    async fn grade(requests: Vec<RecordedRequest>) -> Vec<CheckOutcome> {
        let checker = HttpKind.load(CHECK, 1).unwrap();
        checker
            .grade(&json!({ "requests": requests }), &GradeContext::default())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_right_request_with_the_right_answer_passes() {
        let checks = grade(vec![request(
            "POST",
            "/labs/http/echo/orders/7?x=1",
            "application/json; charset=utf-8",
            r#"{"item": "tea"}"#,
            201,
        )])
        .await;
        assert!(checks.iter().all(|c| c.passed), "{checks:?}");
    }

    #[tokio::test]
    async fn a_200_where_201_was_required_fails_only_that_check() {
        let checks = grade(vec![request(
            "POST",
            "/labs/http/echo/orders/7",
            "application/json",
            r#"{"item": "tea"}"#,
            200,
        )])
        .await;
        let failed: Vec<_> = checks.iter().filter(|c| !c.passed).collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].name, "answered 201");
        assert_eq!(failed[0].observed.as_deref(), Some("200"));
    }

    #[tokio::test]
    async fn the_closest_request_is_judged_and_its_shortcomings_named() {
        let checks = grade(vec![
            request("GET", "/labs/http/echo", "text/plain", "", 200),
            request(
                "POST",
                "/labs/http/echo/orders/1",
                "text/plain",
                "item=tea",
                201,
            ),
        ])
        .await;
        let failed: Vec<_> = checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(
            failed,
            vec![
                "with the header content-type: application/json",
                "with a JSON body holding $.item"
            ]
        );
    }

    #[tokio::test]
    async fn no_requests_or_a_wrong_path_fail_with_a_hint() {
        let checks = grade(vec![]).await;
        assert!(!checks[0].passed);
        assert!(checks[0].hint.is_some());
        let checks = grade(vec![request(
            "POST",
            "/labs/http/echo/orders",
            "application/json",
            "{\"item\":1}",
            201,
        )])
        .await;
        assert!(!checks[0].passed, "`*` needs a segment");
    }

    #[test]
    fn authoring_mistakes_are_reported() {
        let load = |check: &str| HttpKind.load(&format!("[check]\n{check}"), 1);
        assert!(load("method = \"POST\"\npath = \"labs\"\nstatus = 201")
            .unwrap_err()
            .1
            .contains("start with `/`"));
        assert!(load("method = \"POST\"\npath = \"/x\"\nstatus = 99").is_err());
        assert!(
            load("method = \"POST\"\npath = \"/x\"\nstatus = 201\nheaders = [\"nocolon\"]")
                .is_err()
        );
        assert!(load("method = \"POST\"\npath = \"/x\"")
            .unwrap_err()
            .1
            .contains("status"));
    }

    const WITH_EVENT: &str = "[check]\nmethod = \"DELETE\"\npath = \"/labs/auth/products/*\"\nstatus = 403\n[[check.events]]\nkind = \"rbac.decision\"\nfields = { role = \"seller\", grant = \"delete_own_product\", allowed = false }\nhint = \"Sellers may delete only their own.\"";

    fn decision(role: &str, grant: &str, allowed: bool) -> RecordedRequest {
        RecordedRequest {
            method: "DELETE".into(),
            path: "/labs/auth/products/3".into(),
            status: if allowed { 204 } else { 403 },
            events: vec![RecordedEvent {
                kind: "rbac.decision".into(),
                fields: BTreeMap::from([
                    ("role".into(), role.into()),
                    ("grant".into(), grant.into()),
                    ("allowed".into(), allowed.to_string()),
                ]),
            }],
            ..RecordedRequest::default()
        }
    }

    async fn grade_with_event(requests: Vec<RecordedRequest>) -> Vec<CheckOutcome> {
        HttpKind
            .load(WITH_EVENT, 1)
            .unwrap()
            .grade(&json!({ "requests": requests }), &GradeContext::default())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_403_passes_only_when_the_lab_recorded_the_expected_decision() {
        let buyer = grade_with_event(vec![decision("buyer", "null", false)]).await;
        let failed: Vec<_> = buyer.iter().filter(|c| !c.passed).collect();
        assert_eq!(failed.len(), 1, "{buyer:?}");
        assert_eq!(
            failed[0].observed.as_deref(),
            Some("rbac.decision with allowed = false, grant = null, role = buyer")
        );
        assert_eq!(
            failed[0].hint.as_deref(),
            Some("Sellers may delete only their own.")
        );
        let untraced = RecordedRequest {
            events: Vec::new(),
            ..decision("seller", "delete_own_product", false)
        };
        let checks = grade_with_event(vec![untraced]).await;
        assert_eq!(
            checks.last().unwrap().observed.as_deref(),
            Some("no rbac.decision in the request's trace")
        );
        let right = grade_with_event(vec![
            decision("buyer", "null", false),
            decision("seller", "delete_own_product", false),
            decision("buyer", "null", false),
        ])
        .await;
        assert!(right.iter().all(|c| c.passed), "{right:?}");
    }

    #[test]
    fn event_fields_must_be_plain_values() {
        let load = |events: &str| {
            HttpKind.load(
                &format!("[check]\nmethod = \"GET\"\npath = \"/x\"\nstatus = 200\n{events}"),
                1,
            )
        };
        assert!(load("[[check.events]]\nkind = \"a.b\"\nfields = { n = 3, x = 0.5 }").is_ok());
        assert!(
            load("[[check.events]]\nkind = \"a.b\"\nfields = { n = [1] }")
                .unwrap_err()
                .1
                .contains("`n`")
        );
        assert!(load("[[check.events]]\nkind = \"\"").is_err());
    }

    #[test]
    fn old_answers_without_events_still_read() {
        let old: LabRequests = serde_json::from_value(
            json!({ "requests": [{ "method": "GET", "path": "/x", "status": 200 }] }),
        )
        .unwrap();
        assert!(old.requests[0].events.is_empty());
        assert!(!serde_json::to_string(&old).unwrap().contains("events"));
    }

    #[tokio::test]
    async fn only_the_judged_request_is_kept_with_the_attempt() {
        let checker = HttpKind.load(CHECK, 1).unwrap();
        let padded = RecordedRequest {
            headers: vec![("x-pad".into(), "p".repeat(1000))],
            ..request("GET", "/labs/http/echo", "text/plain", "", 200)
        };
        let right = request(
            "POST",
            "/labs/http/echo/orders/7",
            "application/json",
            r#"{"item": "tea"}"#,
            201,
        );
        let mut requests = vec![padded; 199];
        requests.insert(50, right.clone());
        let answer = json!({ "requests": requests });
        let kept = checker.graded_part(&answer);
        assert_eq!(kept, json!({ "requests": [right] }));
        let again = checker
            .grade(&kept, &GradeContext::default())
            .await
            .unwrap();
        assert!(
            again.iter().all(|c| c.passed),
            "the kept part grades the same"
        );
        assert_eq!(
            checker.graded_part(&json!({ "requests": [] })),
            json!({ "requests": [] })
        );
    }
}
