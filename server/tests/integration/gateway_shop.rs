//! The shop's order page built two ways over real HTTP: the monolith's one
//! query, and the backend-for-frontend calling three services, each a
//! real server on its own loopback port. Same page, different calls; the
//! services' faults fail pages as the replay says they do.

use serde_json::{json, Value};

use crate::common::gateway::configure;
use crate::common::{event_field as field, TestServer};

async fn page(
    server: &TestServer,
    student: &reqwest::Client,
    way: &str,
    customer: u32,
) -> reqwest::Response {
    student
        .get(server.url(&format!(
            "/labs/gateway/shop/{way}/customers/{customer}/orders"
        )))
        .send()
        .await
        .unwrap()
}

fn calls(response: &reqwest::Response) -> u32 {
    response.headers()["x-calls"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// The page without what differs between the two ways.
fn content(mut page: Value) -> Value {
    for field in ["built_by", "calls", "ms"] {
        page.as_object_mut().unwrap().remove(field);
    }
    page
}

#[tokio::test]
async fn the_monolith_and_the_bff_build_the_same_page_with_one_query_against_many_calls() {
    let server = TestServer::start().await;
    let student = server.browser();
    let monolith = page(&server, &student, "monolith", 1).await;
    assert_eq!(monolith.status(), 200);
    assert_eq!(calls(&monolith), 1);
    let queries = server.trace_events(&student, &monolith, "shop.query").await;
    assert_eq!(queries.len(), 1);
    let monolith: Value = monolith.json().await.unwrap();
    assert_eq!(monolith["orders"].as_array().unwrap().len(), 4);

    let bff = page(&server, &student, "bff", 1).await;
    assert_eq!(bff.status(), 200);
    assert_eq!(
        calls(&bff),
        14,
        "2 + one catalog call for each of the 12 lines"
    );
    let traced = server.trace_events(&student, &bff, "bff.call").await;
    let catalog = traced
        .iter()
        .filter(|e| field(e, "service") == "catalog")
        .count();
    assert_eq!((traced.len(), catalog), (14, 12), "the N+1, in the trace");
    let bff: Value = bff.json().await.unwrap();
    assert_eq!(content(bff), content(monolith.clone()), "the same page");

    configure(
        &server,
        &student,
        json!({ "shop": { "parallel": true, "batch_catalog": true } }),
    )
    .await;
    let better = page(&server, &student, "bff", 1).await;
    assert_eq!(
        calls(&better),
        3,
        "users and orders at once, then one catalog call"
    );
    let better: Value = better.json().await.unwrap();
    assert_eq!(content(better), content(monolith));
    server.stop().await;
}

#[tokio::test]
async fn a_failing_or_slow_service_fails_the_bff_page_naming_it_and_not_the_monolith() {
    let server = TestServer::start().await;
    let student = server.browser();
    configure(
        &server,
        &student,
        json!({ "shop": { "catalog": { "error_percent": 100 } } }),
    )
    .await;
    let failed = page(&server, &student, "bff", 2).await;
    assert_eq!(failed.status(), 502);
    assert_eq!(calls(&failed), 3, "the first catalog call fails the page");
    assert_eq!(failed.headers()["x-failed-service"], "catalog");
    let message = failed.json::<Value>().await.unwrap()["message"].clone();
    assert!(
        message
            .as_str()
            .unwrap()
            .contains("catalog service answered 503"),
        "{message}"
    );
    assert_eq!(page(&server, &student, "monolith", 2).await.status(), 200);

    configure(
        &server,
        &student,
        json!({ "shop": { "call_timeout_ms": 50, "orders": { "extra_ms": 300 } } }),
    )
    .await;
    let timed_out = page(&server, &student, "bff", 2).await;
    assert_eq!(timed_out.status(), 504);
    let message = timed_out.json::<Value>().await.unwrap()["message"].clone();
    assert!(
        message
            .as_str()
            .unwrap()
            .contains("orders service did not answer within"),
        "{message}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_live_comparison_fails_the_same_pages_as_the_replay_that_grades_it() {
    let server = TestServer::start().await;
    let student = server.browser();
    let settings = json!({
        "seed": 2026,
        "shop": { "parallel": true, "catalog": { "error_percent": 5 } },
    });
    configure(&server, &student, settings).await;
    let response = student
        .post(server.url("/labs/gateway/shop/compare"))
        .json(&json!({ "pages": 50 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let compared: Value = response.json().await.unwrap();
    let (monolith, bff) = (&compared["monolith"], &compared["bff"]);
    assert_eq!(
        (
            monolith["succeeded"].as_u64(),
            monolith["calls_per_page"].as_f64()
        ),
        (Some(50), Some(1.0))
    );
    // What `replay` gives for the same settings and seed (asserted in
    // the engine's unit tests): the dice are the same, live or replayed.
    let replayed = engine_replay_of_parallel_flaky_catalog();
    assert_eq!(bff["failed"], replayed["failed"], "{bff}");
    assert_eq!(bff["failed_by"], json!([0, 0, replayed["failed"]]), "{bff}");
    assert_eq!(bff["calls_per_page"], replayed["calls_per_page"], "{bff}");
    assert!(
        bff["failed"].as_u64().unwrap() >= 5,
        "a 5 % flaky catalog fails many pages of 8 calls: {bff}"
    );

    let bad = student
        .post(server.url("/labs/gateway/shop/compare"))
        .json(&json!({ "pages": 0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    assert_eq!(page(&server, &student, "bff", 51).await.status(), 404);
    assert_eq!(page(&server, &student, "monolith", 0).await.status(), 404);
    server.stop().await;
}

/// The replay's figures for the comparison above, computed by the engine.
fn engine_replay_of_parallel_flaky_catalog() -> Value {
    serde_json::to_value(engine::labs::gateway::replay_order_pages(
        &serde_json::from_value(json!({ "parallel": true, "catalog": { "error_percent": 5 } }))
            .unwrap(),
        2026,
        50,
    ))
    .unwrap()
}

#[tokio::test]
async fn one_comparison_per_student_at_a_time() {
    let server = TestServer::start().await;
    let student = server.browser();
    configure(
        &server,
        &student,
        json!({ "shop": { "users": { "extra_ms": 2000 }, "call_timeout_ms": 10000 } }),
    )
    .await;
    let compare = || {
        student
            .post(server.url("/labs/gateway/shop/compare"))
            .json(&json!({ "pages": 5 }))
            .send()
    };
    // Sent together: whichever arrives second finds the first running
    // (every page waits 2 s for the users service).
    let (a, b) = tokio::join!(compare(), compare());
    let mut statuses = [a.unwrap(), b.unwrap()].map(|r| r.status().as_u16());
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "one runs, the other is refused");
    let again = compare().await.unwrap();
    assert_eq!(again.status(), 200, "once it is done, another may start");
    let compared: Value = again.json().await.unwrap();
    assert_eq!(
        compared["bff"]["failed"], 0,
        "2 s users calls fit the 3 s page"
    );
    server.stop().await;
}
