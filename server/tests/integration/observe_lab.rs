//! The observe lab against the real server: each incident switch changes
//! the shop's traces and dashboard as the observability lesson says, the
//! fault hunt is graded on the student's own trace, and shops are each
//! student's own.

use serde_json::{json, Value};

use crate::common::{trace_id_of, TestServer};

async fn configure(server: &TestServer, student: &reqwest::Client, settings: Value) {
    let response = student
        .put(server.url("/labs/observe/settings"))
        .json(&settings)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// One shop request: its status, body and trace.
async fn visit(server: &TestServer, student: &reqwest::Client, path: &str) -> (u16, Value, Value) {
    let response = student
        .get(server.url(&format!("/labs/observe/shop{path}")))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let trace_id = trace_id_of(&response);
    let body: Value = response.json().await.unwrap();
    let trace = server
        .json(student, &format!("/api/traces/{trace_id}"))
        .await;
    (status, body, trace)
}

/// The trace's events of `kind`.
fn steps<'a>(trace: &'a Value, kind: &str) -> Vec<&'a Value> {
    trace["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

fn field<'a>(event: &'a Value, name: &str) -> &'a str {
    crate::common::event_field(event, name)
}

async fn dashboard(server: &TestServer, student: &reqwest::Client) -> Value {
    server.json(student, "/labs/observe/dashboard").await
}

async fn load(server: &TestServer, student: &reqwest::Client, body: Value) -> Value {
    let response = student
        .post(server.url("/labs/observe/load"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

/// A route's figures on the dashboard.
fn route<'a>(dashboard: &'a Value, name: &str) -> &'a Value {
    dashboard["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["route"] == name)
        .unwrap()
}

#[tokio::test]
async fn a_healthy_shop_caches_joins_and_counts_every_request() {
    let server = TestServer::start().await;
    let student = server.browser();
    let (status, first, trace) = visit(&server, &student, "/products/7").await;
    assert_eq!(status, 200);
    assert_eq!(first["cache"], "miss");
    assert_eq!(first["product"]["name"], "Product 7");
    assert_eq!(steps(&trace, "db.query").len(), 1);
    assert_eq!(
        field(steps(&trace, "pool.acquire")[0], "free_when_asked"),
        "4"
    );
    let (_, again, trace) = visit(&server, &student, "/products/7").await;
    assert_eq!(again["cache"], "hit");
    assert!(
        steps(&trace, "db.query").is_empty(),
        "a hit never asks the database"
    );
    let (_, orders, trace) = visit(&server, &student, "/orders").await;
    assert_eq!(
        (
            orders["queries"].as_u64(),
            orders["orders"].as_array().unwrap().len()
        ),
        (Some(1), 10)
    );
    assert_eq!(steps(&trace, "db.query").len(), 1);
    let replicas: Vec<u64> = [&first, &again, &orders]
        .iter()
        .map(|b| b["replica"].as_u64().unwrap())
        .collect();
    assert_eq!(replicas, [1, 2, 3], "round robin over three replicas");

    let report = load(
        &server,
        &student,
        json!({ "requests": 40, "concurrency": 8 }),
    )
    .await;
    assert_eq!(
        (report["sent"].as_u64(), report["errors"].as_u64()),
        (Some(40), Some(0))
    );
    let slowest = report["slowest_trace"].as_str().unwrap();
    let trace = server
        .json(&student, &format!("/api/traces/{slowest}"))
        .await;
    assert_eq!(
        trace["trace_id"], slowest,
        "the load's traces are the student's"
    );
    let board = dashboard(&server, &student).await;
    let counted: u64 = board["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, 43);
    assert_eq!(route(&board, "GET /shop/orders")["requests"], 11);
    assert_eq!(board["budget"]["requests"], 43);
    assert_eq!(board["budget"]["bad"], 0);
    assert_eq!(board["budget"]["left_per_mille"], 1000);
    let log = board["log"].as_array().unwrap();
    assert!(log.iter().all(|line| line["level"] == "info"), "{log:?}");
    assert_eq!(log.len(), 43);
    server.stop().await;
}

#[tokio::test]
async fn each_incident_shows_in_the_traces_and_the_dashboard_as_the_lesson_says() {
    let server = TestServer::start().await;

    // A slow cache: every cache call takes 120 ms, so a miss costs two.
    let student = server.browser();
    configure(&server, &student, json!({ "incidents": ["slow_cache"] })).await;
    let (_, _, trace) = visit(&server, &student, "/products/3").await;
    let get = steps(&trace, "cache.get")[0];
    assert!(get["duration_us"].as_u64().unwrap() >= 120_000, "{get}");
    assert!(
        steps(&trace, "cache.set")[0]["duration_us"]
            .as_u64()
            .unwrap()
            >= 120_000
    );
    let board = dashboard(&server, &student).await;
    assert!(
        route(&board, "GET /shop/products/{id}")["p50_us"]
            .as_u64()
            .unwrap()
            >= 240_000
    );
    assert_eq!(
        board["budget"]["bad"], 1,
        "slower than the 100 ms objective"
    );
    assert!(board["log"].as_array().unwrap().iter().any(
        |l| l["level"] == "warn" && l["message"].as_str().unwrap().starts_with("slow request")
    ));

    // N+1: one query for the orders, then one per order.
    let student = server.browser();
    configure(&server, &student, json!({ "incidents": ["n_plus_one"] })).await;
    let (_, orders, trace) = visit(&server, &student, "/orders").await;
    assert_eq!(orders["queries"], 11);
    assert_eq!(steps(&trace, "db.query").len(), 11);
    // Under orders-only load each request holds its connection for eleven
    // round trips (55 ms), so the fifth of eight at once waits past 50 ms.
    let report = load(
        &server,
        &student,
        json!({ "requests": 16, "concurrency": 8, "mix": "orders" }),
    )
    .await;
    assert!(report["errors"].as_u64().unwrap() > 0, "{report}");
    let board = dashboard(&server, &student).await;
    assert!(board["log"].as_array().unwrap().iter().any(|l| l["message"]
        .as_str()
        .unwrap()
        .starts_with("gave up waiting for a database connection")));

    // The pool leak: three of four connections are gone before anyone asks.
    let student = server.browser();
    configure(&server, &student, json!({ "incidents": ["pool_leak"] })).await;
    let (_, _, trace) = visit(&server, &student, "/orders").await;
    assert_eq!(
        field(steps(&trace, "pool.acquire")[0], "free_when_asked"),
        "1"
    );
    configure(&server, &student, json!({})).await;
    let (_, _, trace) = visit(&server, &student, "/orders").await;
    assert_eq!(
        field(steps(&trace, "pool.acquire")[0], "free_when_asked"),
        "4",
        "switched off, they come back"
    );

    // A cache that never hits: the key carries the request id.
    let student = server.browser();
    configure(
        &server,
        &student,
        json!({ "incidents": ["cache_never_hits"] }),
    )
    .await;
    for _ in 0..2 {
        let (_, product, trace) = visit(&server, &student, "/products/5").await;
        assert_eq!(product["cache"], "miss");
        let key = field(steps(&trace, "cache.get")[0], "key");
        assert!(key.starts_with("product:5:"), "{key}");
        tokio::task::yield_now().await;
    }

    // An erroring replica: every third request is a 500 from replica 3.
    let student = server.browser();
    configure(
        &server,
        &student,
        json!({ "incidents": ["erroring_replica"] }),
    )
    .await;
    let mut failed = Vec::new();
    for _ in 0..6 {
        let (status, body, trace) = visit(&server, &student, "/products/1").await;
        if status == 500 {
            assert_eq!(body["replica"], 3);
            let call = steps(&trace, "replica.call")[0];
            assert_eq!(
                (field(call, "replica"), field(call, "status")),
                ("3", "500")
            );
            failed.push(trace["trace_id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(failed.len(), 2);
    let board = dashboard(&server, &student).await;
    assert_eq!(route(&board, "GET /shop/products/{id}")["errors"], 2);
    let errors: Vec<&str> = board["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["level"] == "error")
        .map(|l| l["trace_id"].as_str().unwrap())
        .collect();
    assert_eq!(errors.len(), 2);
    assert!(
        errors.iter().all(|id| failed.contains(&id.to_string())),
        "log lines name their traces"
    );
    // Two bad of six where 1 % may be: the budget is overspent.
    assert!(board["budget"]["left_per_mille"].as_i64().unwrap() < 0);
    server.stop().await;
}

/// What a student concludes from a few requests: the incident the traces show.
async fn diagnose(
    server: &TestServer,
    student: &reqwest::Client,
) -> (&'static str, &'static str, String) {
    let mut seen = Vec::new();
    for path in ["/products/9", "/products/9", "/orders", "/products/9"] {
        seen.push(visit(server, student, path).await);
    }
    for (status, body, trace) in &seen {
        let id = trace["trace_id"].as_str().unwrap().to_string();
        if *status == 500 {
            return ("replica", "errors", id);
        }
        if body["queries"] == 11 {
            return ("database", "query_per_item", id);
        }
        if steps(trace, "cache.get")
            .iter()
            .any(|g| g["duration_us"].as_u64().unwrap() >= 100_000)
        {
            return ("cache", "latency", id);
        }
        if steps(trace, "pool.acquire")
            .iter()
            .any(|p| field(p, "free_when_asked") == "1")
        {
            return ("connection_pool", "exhaustion", id);
        }
    }
    // Asked twice, never a hit: the key must change.
    assert_eq!(seen[1].1["cache"], "miss", "no fault showed: {seen:?}");
    let id = seen[1].2["trace_id"].as_str().unwrap().to_string();
    ("cache", "no_hits", id)
}

async fn answer(
    server: &TestServer,
    student: &reqwest::Client,
    round: u32,
    (component, mechanism, trace_id): (&str, &str, &str),
) -> (u64, u64) {
    configure(
        server,
        student,
        json!({ "hunt": round, "diagnosis": {
            "component": component, "mechanism": mechanism, "trace_id": trace_id,
        }}),
    )
    .await;
    let outcome = crate::common::graded_outcome(server, student, "observe-find-the-fault").await;
    (
        outcome["score"].as_u64().unwrap(),
        outcome["max"].as_u64().unwrap(),
    )
}

#[tokio::test]
async fn the_fault_hunt_passes_a_right_diagnosis_only_with_the_students_own_trace_that_shows_it() {
    let server = TestServer::start().await;
    let ada = server.browser();
    let (_, _, before_the_hunt) = visit(&server, &ada, "/orders").await;
    configure(&server, &ada, json!({ "hunt": 1 })).await;
    let board = dashboard(&server, &ada).await;
    assert_eq!(
        (
            board["hunting"].as_bool(),
            board["incidents"].as_array().unwrap().len()
        ),
        (Some(true), 0)
    );
    let (component, mechanism, trace) = diagnose(&server, &ada).await;

    let (score, max) = answer(&server, &ada, 1, (component, mechanism, &trace)).await;
    assert_eq!(score, max, "{component} {mechanism} with trace {trace}");

    // The right words with a trace from before the hunt, or none.
    let old = before_the_hunt["trace_id"].as_str().unwrap();
    let (score, _) = answer(&server, &ada, 1, (component, mechanism, old)).await;
    assert!(score < max);
    let (score, _) = answer(&server, &ada, 1, (component, mechanism, "")).await;
    assert!(score < max);

    // Another student's trace of the same fault is not Ada's.
    let bob = server.browser();
    configure(&server, &bob, json!({ "hunt": 1 })).await;
    let (_, _, bobs) = visit(&server, &bob, "/products/2").await;
    let (score, _) = answer(
        &server,
        &ada,
        1,
        (component, mechanism, bobs["trace_id"].as_str().unwrap()),
    )
    .await;
    assert!(score < max, "someone else's trace");

    // A trace of hers from the hunt that does not show the fault.
    let (_, _, dashboard_read) = {
        let response = ada
            .get(server.url("/labs/observe/dashboard"))
            .send()
            .await
            .unwrap();
        let id = trace_id_of(&response);
        (
            200,
            Value::Null,
            server.json(&ada, &format!("/api/traces/{id}")).await,
        )
    };
    let (score, _) = answer(
        &server,
        &ada,
        1,
        (
            component,
            mechanism,
            dashboard_read["trace_id"].as_str().unwrap(),
        ),
    )
    .await;
    assert!(score < max, "an unrelated trace");

    // A wrong component with the right trace fails too.
    let wrong = if component == "replica" {
        "cache"
    } else {
        "replica"
    };
    let (score, _) = answer(&server, &ada, 1, (wrong, mechanism, &trace)).await;
    assert!(score < max);
    server.stop().await;
}

#[tokio::test]
async fn shops_are_each_students_own() {
    let server = TestServer::start().await;
    let ada = server.browser();
    let bob = server.browser();
    configure(&server, &ada, json!({ "incidents": ["erroring_replica"] })).await;
    load(
        &server,
        &ada,
        json!({ "requests": 30, "concurrency": 4, "mix": "products" }),
    )
    .await;
    let report = load(
        &server,
        &bob,
        json!({ "requests": 30, "concurrency": 4, "mix": "products" }),
    )
    .await;
    assert_eq!(report["errors"], 0, "Ada's broken replica is hers");
    let bobs = dashboard(&server, &bob).await;
    assert_eq!(bobs["budget"]["requests"], 30);
    let adas = dashboard(&server, &ada).await;
    assert_eq!(route(&adas, "GET /shop/products/{id}")["errors"], 10);
    server.stop().await;
}

#[tokio::test]
async fn a_guest_who_signs_in_keeps_their_shop_and_their_hunt_ends() {
    let server = TestServer::start().await;
    let laptop = server.browser();
    let signed_up = laptop
        .post(server.url("/auth/signup"))
        .json(&json!({ "name": "Ada", "email": "ada@example.com", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_up.status(), 201);

    let phone = server.browser();
    load(
        &server,
        &phone,
        json!({ "requests": 12, "concurrency": 2, "mix": "products" }),
    )
    .await;
    configure(&server, &phone, json!({ "hunt": 7 })).await;
    assert_eq!(dashboard(&server, &phone).await["hunting"], true);
    let signed_in = phone
        .post(server.url("/auth/signin"))
        .json(&json!({ "email": "ada@example.com", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 200);

    let board = dashboard(&server, &phone).await;
    assert_eq!(
        board["budget"]["requests"], 12,
        "the guest's traffic came along"
    );
    assert_eq!(board["hunting"], false, "the guest's hunt ended");
    let settings = server.json(&phone, "/labs/observe/settings").await;
    assert_eq!(settings["settings"]["hunt"], Value::Null);
    // The account's other device sees the same shop.
    assert_eq!(dashboard(&server, &laptop).await["budget"]["requests"], 12);
    server.stop().await;
}

#[tokio::test]
async fn bad_input_is_a_clear_4xx() {
    let server = TestServer::start().await;
    let student = server.browser();
    for (body, says) in [
        (json!({ "requests": 0 }), "requests"),
        (json!({ "requests": 201 }), "requests"),
        (json!({ "requests": 10, "concurrency": 17 }), "concurrency"),
        (json!({ "requests": 10, "mix": "everything" }), "mix"),
    ] {
        let response = student
            .post(server.url("/labs/observe/load"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert!(
            (400..500).contains(&status) && text.contains(says),
            "{body}: {status} {text}"
        );
    }
    for (settings, says) in [
        (
            json!({ "incidents": ["slow_cache", "slow_cache"] }),
            "twice",
        ),
        (json!({ "incidents": ["fire"] }), "incidents"),
        (
            json!({ "objective": { "target_per_mille": 1000 } }),
            "target_per_mille",
        ),
        (json!({ "objective": { "latency_ms": 0 } }), "latency_ms"),
        (
            json!({ "diagnosis": { "trace_id": "not-a-trace" } }),
            "trace_id",
        ),
    ] {
        let response = student
            .put(server.url("/labs/observe/settings"))
            .json(&settings)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert!(
            (400..500).contains(&status) && text.contains(says),
            "{settings}: {status} {text}"
        );
    }
    let (status, body, _) = visit(&server, &student, "/products/99").await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("1 to 20"));
    let response = student
        .get(server.url("/labs/observe/shop/products/abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    server.stop().await;
}
