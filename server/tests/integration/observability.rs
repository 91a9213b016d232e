//! What the server tells its operators. `GET /metrics`: off unless the
//! operator gives a token, then only for scrapes that present it; its page
//! read by Prometheus's own text-format parser (`prometheus_client`,
//! installed in `tools/venv` by `scripts/setup.sh`), with counters that
//! move with the requests made. `--log-format json`: log lines a collector
//! reads, carrying the trace id the student's trace shows.

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::common::process::Process;
use crate::common::{repo_root, TestServer};

const TOKEN: &str = "metrics-token-for-the-tests-0123";

async fn server_with_token() -> TestServer {
    TestServer::start_configured(repo_root(), |config| {
        config.metrics_token = Some(TOKEN.into());
    })
    .await
}

async fn scrape(server: &TestServer) -> String {
    let response = reqwest::Client::new()
        .get(server.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    response.text().await.unwrap()
}

/// One sample as the parser read it.
#[derive(Debug)]
struct Sample {
    family: String,
    kind: String,
    name: String,
    labels: serde_json::Map<String, Value>,
    value: f64,
}

/// The page, parsed by `prometheus_client`'s parser, which raises on any
/// line that breaks the format; `None` (and a note) when the parser is not
/// installed.
fn parse(text: &str) -> Option<Vec<Sample>> {
    let python = repo_root().join("tools/venv/bin/python");
    let program = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append({"family": family.name, "kind": family.type, "name": s.name,
                    "labels": s.labels, "value": s.value})
print(json.dumps(out))
"#;
    let has_parser = Command::new(&python)
        .args(["-c", "import prometheus_client"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !has_parser {
        eprintln!(
            "SKIPPED the Prometheus parser: {} has no prometheus_client; run scripts/setup.sh",
            python.display()
        );
        return None;
    }
    let mut child = Command::new(&python)
        .args(["-c", program])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "Prometheus's parser refused the page: {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    let samples: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    Some(
        samples
            .into_iter()
            .map(|s| Sample {
                family: s["family"].as_str().unwrap().into(),
                kind: s["kind"].as_str().unwrap().into(),
                name: s["name"].as_str().unwrap().into(),
                labels: s["labels"].as_object().unwrap().clone(),
                value: s["value"].as_f64().unwrap(),
            })
            .collect(),
    )
}

/// The value of sample `name` whose labels include all of `labels`, 0 if none.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .find(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k) == Some(&json!(v)))
        })
        .map_or(0.0, |s| s.value)
}

#[tokio::test]
async fn metrics_are_off_unless_the_operator_gives_a_token() {
    let server = TestServer::start().await;
    let response = server.get("/metrics").await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("--metrics-token"),
        "{body}"
    );
}

#[tokio::test]
async fn metrics_answer_only_the_operator_s_token() {
    let server = server_with_token().await;
    let client = reqwest::Client::new();

    let none = client.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert_eq!(
        none.headers()["www-authenticate"],
        "Bearer realm=\"workbench-metrics\""
    );

    let wrong = client
        .get(server.url("/metrics"))
        .bearer_auth("metrics-token-for-the-tests-0124")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    let body = wrong.text().await.unwrap();
    assert!(!body.contains("workbench_http"), "{body}");

    let student = server.browser();
    let cookie_only = student.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(cookie_only.status(), 401, "a session is not the token");

    assert!(scrape(&server)
        .await
        .contains("workbench_http_requests_total"));
}

#[tokio::test]
async fn a_short_metrics_token_stops_the_server_from_starting() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = server::config::ServeConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        repo_root(),
        data_dir.path().to_path_buf(),
    );
    config.metrics_token = Some("short".into());
    let refused = server::build_state(&config).await.err().expect("refused");
    assert!(refused.to_string().contains("at least 16"), "{refused}");
}

#[tokio::test]
async fn requests_are_counted_by_route_template_and_parse_as_prometheus_text() {
    let server = server_with_token().await;
    let student = server.browser();
    let before = scrape(&server).await;

    for _ in 0..3 {
        assert_eq!(server.get("/healthz").await.status(), 200);
    }
    for id in [1, 2] {
        let product = student
            .get(server.url(&format!("/labs/cache/products/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(product.status(), 200);
    }
    let missing = student
        .get(server.url("/labs/cache/products/999999"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(server.get("/no/such/page-7f3a").await.status(), 404);
    let query = student
        .post(server.url("/labs/sql/query"))
        .json(&json!({ "sql": "SELECT 1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(query.status(), 200);

    let after = scrape(&server).await;
    let (Some(before), Some(after)) = (parse(&before), parse(&after)) else {
        return;
    };
    let moved = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };

    let healthz = [("method", "GET"), ("route", "/healthz"), ("status", "200")];
    assert_eq!(moved("workbench_http_requests_total", &healthz), 3.0);
    let product = [("method", "GET"), ("route", "/labs/cache/products/{id}")];
    let ok = [product.as_slice(), &[("status", "200")]].concat();
    let not_found = [product.as_slice(), &[("status", "404")]].concat();
    assert_eq!(moved("workbench_http_requests_total", &ok), 2.0);
    assert_eq!(moved("workbench_http_requests_total", &not_found), 1.0);
    assert_eq!(
        moved("workbench_http_request_duration_seconds_count", &product),
        3.0
    );
    let inf = [product.as_slice(), &[("le", "+Inf")]].concat();
    assert_eq!(
        value(
            &after,
            "workbench_http_request_duration_seconds_bucket",
            &inf
        ),
        value(
            &after,
            "workbench_http_request_duration_seconds_count",
            &product
        ),
        "the +Inf bucket holds every observation"
    );

    // Labels are route templates, never the paths clients sent.
    for sample in &after {
        if let Some(route) = sample.labels.get("route").and_then(Value::as_str) {
            assert!(
                !route.contains("999999") && !route.contains("7f3a"),
                "a raw path became a label: {sample:?}"
            );
        }
    }
    assert!(
        moved(
            "workbench_http_requests_total",
            &[("route", "(unmatched)"), ("status", "404")]
        ) >= 1.0,
        "a path no route matched is counted as (unmatched)"
    );

    let kind = |family: &str| {
        after
            .iter()
            .find(|s| s.family == family)
            .map(|s| s.kind.clone())
    };
    assert_eq!(kind("workbench_http_requests").as_deref(), Some("counter"));
    assert_eq!(
        kind("workbench_http_request_duration_seconds").as_deref(),
        Some("histogram")
    );
    assert!(value(&after, "workbench_http_requests_in_flight", &[]) >= 1.0);
    assert!(value(&after, "workbench_db_pool_max_connections", &[]) >= 1.0);
    assert!(value(&after, "workbench_lab_sql_sandboxes", &[]) >= 1.0);
    assert_eq!(
        value(&after, "workbench_lab_gateway_students", &[]),
        0.0,
        "nobody used the gateway, and a scrape starts no replicas"
    );
}

#[tokio::test]
async fn json_logs_carry_the_trace_id_a_lab_request_answers_with() {
    let process = Process::start_with(
        tempfile::tempdir().unwrap(),
        &[],
        &[
            ("WORKBENCH_LOG_FORMAT", "json"),
            ("RUST_LOG", "info,tower_http=debug"),
        ],
    );
    let student = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let response = student
        .get(format!("{}/labs/cache/products/1", process.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let traceresponse = response.headers()["traceresponse"]
        .to_str()
        .unwrap()
        .to_owned();
    let trace_id = traceresponse.split('-').nth(1).unwrap().to_owned();
    let trace = student
        .get(format!("{}/api/traces/{trace_id}", process.base))
        .send()
        .await
        .unwrap();
    assert_eq!(trace.status(), 200, "the student's own trace has that id");

    // The line is written as the request ends; wait for it, not for a time.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let line = loop {
        let lines = process.log();
        for line in &lines {
            let parsed: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
            assert!(
                parsed["level"].is_string() && parsed["timestamp"].is_string(),
                "{line}"
            );
        }
        let found = lines.iter().find_map(|line| {
            let parsed: Value = serde_json::from_str(line).ok()?;
            (parsed["span"]["trace_id"] == json!(trace_id)).then_some(parsed)
        });
        if let Some(found) = found {
            break found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no log line with trace id {trace_id}:\n{}",
            lines.join("\n")
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(line["span"]["path"], "/labs/cache/products/1", "{line}");
    assert_eq!(line["span"]["method"], "GET", "{line}");
}
