//! The API lab over real HTTP: orders as resources in the student's own
//! shop, problem documents for every error, conditional writes, and offset
//! against cursor pages.

use crate::common::event_field as field;
use crate::common::TestServer;
use serde_json::{json, Value};

const ORDERS: &str = "/labs/api/orders";

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// A problem document: checks its media type and members, returns its body.
async fn problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        header(&response, "content-type"),
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status, "{body}");
    for member in ["type", "title", "detail"] {
        assert!(
            body[member].as_str().is_some_and(|s| !s.is_empty()),
            "{member} in {body}"
        );
    }
    body
}

async fn create(server: &TestServer, client: &reqwest::Client, body: Value) -> reqwest::Response {
    client
        .post(server.url(ORDERS))
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn an_order() -> Value {
    json!({ "customer_id": 1, "items": [{ "product_id": 1, "quantity": 2 }, { "product_id": 2, "quantity": 1 }] })
}

#[tokio::test]
async fn create_answers_201_with_a_location_that_serves_the_same_order() {
    let server = TestServer::start().await;
    let client = server.browser();
    let created = create(&server, &client, an_order()).await;
    assert_eq!(created.status(), 201);
    let location = header(&created, "location");
    let etag = header(&created, "etag");
    let order: Value = created.json().await.unwrap();
    assert_eq!(location, format!("{ORDERS}/{}", order["id"]));
    assert!(
        order["id"].as_i64().unwrap() > 12_000,
        "after the shop's own orders"
    );
    assert_eq!(order["status"], "placed");
    assert_eq!(order["items"].as_array().unwrap().len(), 2);
    let unit = |i: usize| order["items"][i]["unit_price_cents"].as_i64().unwrap();
    assert_eq!(
        order["total_cents"].as_i64().unwrap(),
        2 * unit(0) + unit(1)
    );

    let read = client.get(server.url(&location)).send().await.unwrap();
    assert_eq!(read.status(), 200);
    assert_eq!(header(&read, "etag"), etag);
    assert_eq!(read.json::<Value>().await.unwrap(), order);

    let revalidated = client
        .get(server.url(&location))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 304);
    assert_eq!(header(&revalidated, "etag"), etag);

    // Another student's shop does not have it.
    let other = server.browser();
    let elsewhere = other.get(server.url(&location)).send().await.unwrap();
    problem(elsewhere, 404).await;
}

#[tokio::test]
async fn every_error_is_a_problem_document_never_a_5xx() {
    let server = TestServer::start().await;
    let client = server.browser();
    let post_raw = |body: &'static str, content_type: &'static str| {
        client
            .post(server.url(ORDERS))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    // The lab's own problems, with their type URLs.
    let invalid = create(
        &server,
        &client,
        json!({ "customer_id": 999999, "items": [{ "product_id": 1, "quantity": 0 }] }),
    )
    .await;
    let body = problem(invalid, 422).await;
    assert_eq!(body["type"], "/labs/api/problems/validation-failed");
    let pointers: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(pointers, vec!["/items/0/quantity"], "shape first: {body}");
    let unknown = create(
        &server,
        &client,
        json!({ "customer_id": 999999, "items": [{ "product_id": 999999, "quantity": 1 }] }),
    )
    .await;
    let body = problem(unknown, 422).await;
    let pointers: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(pointers, vec!["/customer_id", "/items/0/product_id"]);

    let explained = client
        .get(server.url("/labs/api/problems/validation-failed"))
        .send()
        .await
        .unwrap();
    assert_eq!(explained.status(), 200);
    assert!(explained.text().await.unwrap().contains("JSON Pointer"));

    // The shared layers' errors, rewritten as about:blank problems.
    let cases = [
        (
            post_raw("{not json", "application/json").await.unwrap(),
            400,
        ),
        (post_raw("{}", "text/plain").await.unwrap(), 415),
        (
            post_raw(
                r#"{"customer_id":1,"items":[],"extra":1}"#,
                "application/json",
            )
            .await
            .unwrap(),
            422,
        ),
        (
            client
                .get(server.url("/labs/api/nowhere"))
                .send()
                .await
                .unwrap(),
            404,
        ),
        (client.put(server.url(ORDERS)).send().await.unwrap(), 405),
        (
            client
                .get(server.url(&format!("{ORDERS}/not-a-number")))
                .send()
                .await
                .unwrap(),
            400,
        ),
        (
            client
                .post(server.url(ORDERS))
                .header("content-type", "application/json")
                .body("x".repeat(70 * 1024))
                .send()
                .await
                .unwrap(),
            413,
        ),
        (
            client
                .put(server.url("/labs/api/settings"))
                .json(&json!({ "default_per_page": 0 }))
                .send()
                .await
                .unwrap(),
            422,
        ),
    ];
    for (response, status) in cases {
        let url = response.url().to_string();
        let body = problem(response, status).await;
        assert_eq!(body["type"], "about:blank", "{url}: {body}");
    }
    // Other labs keep the workbench's own errors.
    let elsewhere = client
        .get(server.url("/labs/cache/products/999999"))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&elsewhere, "content-type"), "application/json");
}

#[tokio::test]
async fn a_stale_if_match_is_412_a_missing_one_428_and_a_current_one_writes() {
    let server = TestServer::start().await;
    let client = server.browser();
    let created = create(&server, &client, an_order()).await;
    let location = header(&created, "location");
    let first_tag = header(&created, "etag");
    let patch = |tag: Option<&str>, status: &'static str| {
        let mut request = client
            .patch(server.url(&location))
            .json(&json!({ "status": status }));
        if let Some(tag) = tag {
            request = request.header("if-match", tag);
        }
        request.send()
    };

    let blind = patch(None, "shipped").await.unwrap();
    assert_eq!(
        problem(blind, 428).await["type"],
        "/labs/api/problems/precondition-required"
    );

    // Alice ships with the tag she read; Bob's tag from the same read is now stale.
    let alice = patch(Some(&first_tag), "shipped").await.unwrap();
    assert_eq!(alice.status(), 200);
    let second_tag = header(&alice, "etag");
    assert_ne!(second_tag, first_tag);
    assert_eq!(alice.json::<Value>().await.unwrap()["status"], "shipped");

    let bob = patch(Some(&first_tag), "cancelled").await.unwrap();
    assert_eq!(
        header(&bob, "etag"),
        second_tag,
        "the 412 says what is current"
    );
    let events = server.trace_events(&client, &bob, "api.precondition").await;
    assert_eq!(field(&events[0], "outcome"), "stale");
    assert_eq!(
        problem(bob, 412).await["type"],
        "/labs/api/problems/precondition-failed"
    );
    let now: Value = server.json(&client, &location).await;
    assert_eq!(
        now["status"], "shipped",
        "Bob's stale write changed nothing"
    );

    let bad_status = patch(Some(&second_tag), "lost").await.unwrap();
    assert_eq!(
        problem(bad_status, 422).await["errors"][0]["pointer"],
        "/status"
    );

    // With If-Match not required, the same stale write goes through: the lost update.
    let settings = client
        .put(server.url("/labs/api/settings"))
        .json(&json!({ "require_if_match": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(settings.status(), 200);
    let blind = patch(None, "cancelled").await.unwrap();
    assert_eq!(blind.status(), 200);

    let delete_stale = client
        .delete(server.url(&location))
        .header("if-match", &second_tag)
        .send()
        .await
        .unwrap();
    problem(delete_stale, 412).await;
    let current = header(
        &client.get(server.url(&location)).send().await.unwrap(),
        "etag",
    );
    let deleted = client
        .delete(server.url(&location))
        .header("if-match", &current)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let gone = client.get(server.url(&location)).send().await.unwrap();
    problem(gone, 404).await;
}

/// Follows `next` links from `start`; the ids seen, page by page.
async fn walk(
    server: &TestServer,
    client: &reqwest::Client,
    start: &str,
    pages: usize,
) -> Vec<Vec<i64>> {
    let mut url = Some(start.to_string());
    let mut seen = Vec::new();
    while let Some(at) = url.take().filter(|_| seen.len() < pages) {
        let response = client.get(server.url(&at)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{at}");
        let link = header(&response, "link");
        let body: Value = response.json().await.unwrap();
        seen.push(
            body["orders"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_i64().unwrap())
                .collect(),
        );
        assert_eq!(body["links"]["next"].as_str(), next_in(&link).as_deref());
        url = next_in(&link);
    }
    seen
}

/// The `next` target of a `Link` header.
fn next_in(link: &str) -> Option<String> {
    link.split(", ")
        .find(|part| part.ends_with("rel=\"next\""))
        .map(|part| part[1..part.find('>').unwrap()].to_string())
}

#[tokio::test]
async fn offset_and_cursor_links_walk_the_orders_newest_first() {
    let server = TestServer::start().await;
    let client = server.browser();
    let offset = walk(&server, &client, &format!("{ORDERS}?per_page=50"), 3).await;
    let cursor = walk(
        &server,
        &client,
        &format!("{ORDERS}?paging=cursor&per_page=50"),
        3,
    )
    .await;
    assert_eq!(
        offset, cursor,
        "without writes, both walks see the same pages"
    );
    let ids: Vec<i64> = offset.concat();
    assert_eq!(ids.len(), 150);
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats"
    );
    assert_eq!(ids[0], 12_000);

    let first = client
        .get(server.url(&format!("{ORDERS}?page=2&per_page=100")))
        .send()
        .await
        .unwrap();
    let link = header(&first, "link");
    for rel in [
        "<{ORDERS}?page=1&per_page=100>; rel=\"first\"",
        "<{ORDERS}?page=1&per_page=100>; rel=\"prev\"",
        "<{ORDERS}?page=3&per_page=100>; rel=\"next\"",
        "<{ORDERS}?page=120&per_page=100>; rel=\"last\"",
    ] {
        assert!(
            link.contains(&rel.replace("{ORDERS}", ORDERS)),
            "{rel} in {link}"
        );
    }
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["total"], 12_000);

    // A new order appears at the front of both walks.
    let created: Value = create(&server, &client, an_order())
        .await
        .json()
        .await
        .unwrap();
    let front = walk(
        &server,
        &client,
        &format!("{ORDERS}?paging=cursor&per_page=5"),
        1,
    )
    .await;
    assert_eq!(front[0][0], created["id"].as_i64().unwrap());

    for bad in [
        "page=0",
        "per_page=500",
        "after=abc",
        "perpage=5",
        "page=2&after=61",
    ] {
        let response = client
            .get(server.url(&format!("{ORDERS}?{bad}")))
            .send()
            .await
            .unwrap();
        problem(response, 400).await;
    }
}

#[tokio::test]
async fn a_deep_offset_page_steps_over_every_row_before_it_and_a_cursor_page_does_not() {
    let server = TestServer::start().await;
    let client = server.browser();
    let deep = client
        .get(server.url(&format!("{ORDERS}?page=501&per_page=20")))
        .send()
        .await
        .unwrap();
    let events = server.trace_events(&client, &deep, "api.page").await;
    let offset_steps: u64 = field(&events[0], "full_scan_steps").parse().unwrap();
    assert!(
        offset_steps >= 10_000,
        "offset 10000 steps over {offset_steps}"
    );
    assert!(
        field(&events[0], "plan").contains("SCAN orders"),
        "{}",
        events[0]
    );

    let cursor = walk(
        &server,
        &client,
        &format!("{ORDERS}?paging=cursor&per_page=20"),
        1,
    )
    .await;
    assert_eq!(cursor[0][0], 12_000);
    // The same page by cursor: after the order just before it.
    let after = client
        .get(server.url(&format!("{ORDERS}?paging=cursor&per_page=20")))
        .send()
        .await
        .unwrap();
    let next = next_in(&header(&after, "link")).unwrap();
    let seek = client.get(server.url(&next)).send().await.unwrap();
    let events = server.trace_events(&client, &seek, "api.page").await;
    let plan = field(&events[0], "plan");
    assert!(
        plan.contains("SEARCH orders USING INTEGER PRIMARY KEY"),
        "{plan}"
    );
    let cursor_steps: u64 = field(&events[0], "full_scan_steps").parse().unwrap();
    assert!(cursor_steps < 100, "a seek steps over {cursor_steps}");
}

/// Grades `exercise` from the student's own lab requests: (score, max).
async fn grade(server: &TestServer, client: &reqwest::Client, exercise: &str) -> (i64, i64) {
    let graded: Value = client
        .post(server.url(&format!("/api/exercises/{exercise}/attempts")))
        .json(&json!({ "answer": null }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let outcome = &graded["outcome"];
    (
        outcome["score"].as_i64().unwrap(),
        outcome["max"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn the_http_exercises_pass_on_the_requests_they_ask_for_and_not_before() {
    let server = TestServer::start().await;
    let client = server.browser();
    let (score, max) = grade(&server, &client, "api-create-201").await;
    assert!(score < max, "nothing created yet");
    let created = create(&server, &client, an_order()).await;
    let (score, max) = grade(&server, &client, "api-create-201").await;
    assert_eq!(score, max);

    let location = header(&created, "location");
    let tag = header(&created, "etag");
    let patch = || {
        client
            .patch(server.url(&location))
            .header("if-match", &tag)
            .json(&json!({ "status": "shipped" }))
            .send()
    };
    assert_eq!(patch().await.unwrap().status(), 200);
    let (score, max) = grade(&server, &client, "api-stale-write-412").await;
    assert!(
        score < max,
        "a write that went through is not the refused one"
    );
    assert_eq!(patch().await.unwrap().status(), 412);
    let (score, max) = grade(&server, &client, "api-stale-write-412").await;
    assert_eq!(score, max);
}

/// How many orders the student's shop holds.
async fn order_count(server: &TestServer, client: &reqwest::Client) -> i64 {
    server.json(client, &format!("{ORDERS}?per_page=1")).await["total"]
        .as_i64()
        .unwrap()
}

async fn create_keyed(
    server: &TestServer,
    client: &reqwest::Client,
    key: &str,
    body: Value,
) -> reqwest::Response {
    client
        .post(server.url(ORDERS))
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn configure(server: &TestServer, client: &reqwest::Client, settings: Value) {
    let response = client
        .put(server.url("/labs/api/settings"))
        .json(&settings)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

#[tokio::test]
async fn the_same_key_and_body_replay_the_first_answer_and_another_body_is_422() {
    let server = TestServer::start().await;
    let client = server.browser();
    let before = order_count(&server, &client).await;
    let first = create_keyed(&server, &client, "order-7f3a", an_order()).await;
    assert_eq!(first.status(), 201);
    assert_eq!(header(&first, "idempotent-replayed"), "");
    let (location, etag) = (header(&first, "location"), header(&first, "etag"));
    let body: Value = first.json().await.unwrap();

    // The same body, written differently, is the same request.
    let again = create_keyed(
        &server,
        &client,
        "\"order-7f3a\"",
        json!({ "items": an_order()["items"], "customer_id": 1 }),
    )
    .await;
    assert_eq!(again.status(), 201);
    assert_eq!(header(&again, "idempotent-replayed"), "true");
    assert_eq!(header(&again, "location"), location);
    assert_eq!(header(&again, "etag"), etag);
    let events = server
        .trace_events(&client, &again, "api.idempotency")
        .await;
    assert_eq!(field(&events[0], "decision"), "replayed");
    assert_eq!(again.json::<Value>().await.unwrap(), body);
    assert_eq!(order_count(&server, &client).await, before + 1);

    let other = create_keyed(
        &server,
        &client,
        "order-7f3a",
        json!({ "customer_id": 2, "items": [{ "product_id": 1, "quantity": 1 }] }),
    )
    .await;
    assert_eq!(
        problem(other, 422).await["type"],
        "/labs/api/problems/idempotency-key-reused"
    );
    assert_eq!(order_count(&server, &client).await, before + 1);

    for bad in ["", "has space", &"k".repeat(256)] {
        let refused = create_keyed(&server, &client, bad, an_order()).await;
        problem(refused, 400).await;
    }
    // Another student's key of the same name is theirs alone.
    let other_student = server.browser();
    let theirs = create_keyed(&server, &other_student, "order-7f3a", an_order()).await;
    assert_eq!(theirs.status(), 201);
    assert_eq!(header(&theirs, "idempotent-replayed"), "");
}

#[tokio::test]
async fn a_second_request_while_the_first_runs_is_409_and_then_replays() {
    let server = TestServer::start().await;
    let client = server.browser();
    configure(&server, &client, json!({ "create_latency_ms": 1000 })).await;
    let before = order_count(&server, &client).await;
    let first = create_keyed(&server, &client, "twin", an_order());
    let second = async {
        // Ask once the first has claimed the key (and is processing).
        for _ in 0..200 {
            let state: Value = client
                .post(server.url("/labs/sql/query"))
                .json(
                    &json!({ "sql": "SELECT state FROM api_idempotency_keys WHERE key = 'twin'" }),
                )
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if state["rows"][0][0] == "in_flight" {
                break;
            }
            tokio::task::yield_now().await;
        }
        create_keyed(&server, &client, "twin", an_order()).await
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!(first.status(), 201);
    assert_eq!(header(&second, "retry-after"), "1");
    assert_eq!(
        problem(second, 409).await["type"],
        "/labs/api/problems/request-in-flight"
    );
    let retried = create_keyed(&server, &client, "twin", an_order()).await;
    assert_eq!(retried.status(), 201);
    assert_eq!(header(&retried, "idempotent-replayed"), "true");
    assert_eq!(order_count(&server, &client).await, before + 1);
    let (score, max) = grade(&server, &client, "api-retry-409").await;
    assert_eq!(score, max, "the exercise sees the 409");
}

#[tokio::test]
async fn after_a_lost_answer_a_retry_duplicates_the_order_without_a_key_and_not_with_one() {
    let server = TestServer::start().await;
    let client = server.browser();
    configure(&server, &client, json!({ "lose_responses": true })).await;
    let start = order_count(&server, &client).await;

    let lost = create(&server, &client, an_order()).await;
    let events = server.trace_events(&client, &lost, "api.fault").await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        problem(lost, 502).await["type"],
        "/labs/api/problems/response-lost"
    );
    let retry = create(&server, &client, an_order()).await;
    assert_eq!(retry.status(), 201, "only the first answer is lost");
    assert_eq!(
        order_count(&server, &client).await,
        start + 2,
        "a duplicate"
    );
    let (score, max) = grade(&server, &client, "api-safe-retry").await;
    assert!(score < max, "a retry without a key is not safe");

    let keyed_body = json!({ "customer_id": 3, "items": [{ "product_id": 4, "quantity": 1 }] });
    let lost = create_keyed(&server, &client, "pay-1", keyed_body.clone()).await;
    problem(lost, 502).await;
    let (score, max) = grade(&server, &client, "api-safe-retry").await;
    assert!(score < max, "lost, but not retried yet");
    let retry = create_keyed(&server, &client, "pay-1", keyed_body).await;
    assert_eq!(retry.status(), 201);
    assert_eq!(header(&retry, "idempotent-replayed"), "true");
    assert_eq!(
        order_count(&server, &client).await,
        start + 3,
        "one order for the key"
    );
    let (score, max) = grade(&server, &client, "api-safe-retry").await;
    assert_eq!(
        score, max,
        "a keyed retry after a lost answer, and one order"
    );
}

#[tokio::test]
async fn a_failed_write_stores_neither_the_order_nor_the_key() {
    let server = TestServer::start().await;
    let client = server.browser();
    let run = |sql: &'static str| {
        client
            .post(server.url("/labs/sql/query"))
            .json(&json!({ "sql": sql }))
            .send()
    };
    let made = run("CREATE TRIGGER no_lines BEFORE INSERT ON order_items BEGIN SELECT RAISE(ABORT, 'no new lines today'); END").await.unwrap();
    assert_eq!(made.status(), 200, "{}", made.text().await.unwrap());
    let before = order_count(&server, &client).await;
    let failed = create_keyed(&server, &client, "k-1", an_order()).await;
    let body = problem(failed, 409).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("no new lines today"),
        "{body}"
    );
    assert_eq!(
        order_count(&server, &client).await,
        before,
        "the order rolled back"
    );
    let keys: Value = run("SELECT count(*) AS n FROM api_idempotency_keys")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys["rows"][0][0], 0, "the claim was released: {keys}");

    run("DROP TRIGGER no_lines").await.unwrap();
    let retried = create_keyed(&server, &client, "k-1", an_order()).await;
    assert_eq!(retried.status(), 201);
    assert_eq!(header(&retried, "idempotent-replayed"), "", "it ran afresh");
    assert_eq!(order_count(&server, &client).await, before + 1);
}

/// The events of a job's progress stream, read to its end: (name, id, data).
async fn job_events(
    server: &TestServer,
    client: &reqwest::Client,
    job: &str,
) -> Vec<(String, String, Value)> {
    let response = client
        .get(server.url(&format!("{job}/events")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(header(&response, "content-type").starts_with("text/event-stream"));
    let text = response.text().await.unwrap();
    text.split("\n\n")
        .filter(|block| block.contains("data:"))
        .map(|block| {
            let line = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .unwrap_or_default()
                    .trim()
                    .to_string()
            };
            let data = serde_json::from_str(&line("data:")).unwrap();
            (line("event:"), line("id:"), data)
        })
        .collect()
}

async fn start_export(
    server: &TestServer,
    client: &reqwest::Client,
    body: Value,
) -> reqwest::Response {
    client
        .post(server.url("/labs/api/exports"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_export_is_202_then_streamed_progress_then_its_result() {
    let server = TestServer::start().await;
    let client = server.browser();
    configure(
        &server,
        &client,
        json!({ "export_chunk_rows": 1000, "export_chunk_delay_ms": 5 }),
    )
    .await;
    let started = start_export(&server, &client, json!({})).await;
    assert_eq!(started.status(), 202);
    let job = header(&started, "location");
    assert!(job.starts_with("/labs/api/exports/"), "{job}");
    assert_eq!(header(&started, "retry-after"), "1");
    let body: Value = started.json().await.unwrap();
    assert_eq!(body["status"], "running");
    assert_eq!(body["links"]["self"], job.as_str());

    let events = job_events(&server, &client, &job).await;
    let (last_name, _, last) = events.last().unwrap();
    assert_eq!(last_name, "done");
    assert_eq!(last["progress"]["done"], 12_000);
    assert_eq!(last["progress"]["total"], 12_000);
    let ids: Vec<u64> = events
        .iter()
        .map(|(_, id, _)| id.parse().unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] <= w[1]),
        "progress in order: {ids:?}"
    );
    assert!(events[..events.len() - 1]
        .iter()
        .all(|(name, ..)| name == "progress"));

    let polled: Value = server.json(&client, &job).await;
    assert_eq!(polled["status"], "done");
    let result_url = polled["links"]["result"].as_str().unwrap().to_string();
    let (score, max) = grade(&server, &client, "api-follow-a-job").await;
    assert!(score < max, "not fetched yet");
    let report: Value = server.json(&client, &result_url).await;
    assert_eq!(report["orders"], 12_000);
    let (score, max) = grade(&server, &client, "api-follow-a-job").await;
    assert_eq!(score, max, "the result was fetched");
    let by_status: Value = client
        .post(server.url("/labs/sql/query"))
        .json(&json!({ "sql": "SELECT o.status, count(*), sum((SELECT coalesce(sum(quantity * unit_price_cents), 0) FROM order_items WHERE order_id = o.id)) FROM orders AS o GROUP BY o.status ORDER BY o.status" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let expected: Vec<Value> = by_status["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| json!({ "status": r[0], "orders": r[1], "total_cents": r[2] }))
        .collect();
    assert_eq!(report["by_status"], Value::from(expected));

    // Filtered, and another student's job is out of reach.
    let placed = start_export(&server, &client, json!({ "status": "placed" })).await;
    let placed_job = header(&placed, "location");
    let events = job_events(&server, &client, &placed_job).await;
    let total = events.last().unwrap().2["progress"]["total"]
        .as_i64()
        .unwrap();
    assert!(total > 0 && total < 12_000, "{total}");
    let stranger = server.browser();
    let theirs = stranger.get(server.url(&job)).send().await.unwrap();
    problem(theirs, 404).await;
    problem(
        start_export(&server, &client, json!({ "status": "lost" })).await,
        422,
    )
    .await;
}

#[tokio::test]
async fn an_export_can_be_cancelled_and_one_runs_at_a_time() {
    let server = TestServer::start().await;
    let client = server.browser();
    configure(
        &server,
        &client,
        json!({ "export_chunk_rows": 100, "export_chunk_delay_ms": 2000 }),
    )
    .await;
    let job = header(&start_export(&server, &client, json!({})).await, "location");
    let second = start_export(&server, &client, json!({})).await;
    assert_eq!(
        problem(second, 409).await["type"],
        "/labs/api/problems/export-running"
    );
    let early = client
        .get(server.url(&format!("{job}/result")))
        .send()
        .await
        .unwrap();
    problem(early, 409).await;

    let cancelled = client.delete(server.url(&job)).send().await.unwrap();
    assert_eq!(cancelled.status(), 202);
    let events = job_events(&server, &client, &job).await;
    let (name, _, last) = events.last().unwrap();
    assert_eq!(name, "cancelled", "{events:?}");
    assert!(last["progress"]["done"].as_u64().unwrap() < 12_000);
    let result = client
        .get(server.url(&format!("{job}/result")))
        .send()
        .await
        .unwrap();
    problem(result, 410).await;
    let again = start_export(&server, &client, json!({})).await;
    assert_eq!(again.status(), 202, "the cancelled job no longer runs");
    let forgotten = client.delete(server.url(&job)).send().await.unwrap();
    assert_eq!(forgotten.status(), 204);
    problem(client.get(server.url(&job)).send().await.unwrap(), 404).await;
}

async fn start_writer(server: &TestServer, client: &reqwest::Client, config: Value) -> Value {
    let response = client
        .put(server.url("/labs/api/writer"))
        .json(&config)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

/// All order ids in the student's shop from `below` down.
async fn ids_below(server: &TestServer, client: &reqwest::Client, below: i64) -> Vec<i64> {
    let rows: Value = client
        .post(server.url("/labs/sql/query"))
        .json(&json!({ "sql": format!("SELECT id FROM orders WHERE id < {below} ORDER BY id DESC LIMIT 200") }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    rows["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn under_the_writer_offset_pages_repeat_and_skip_rows_and_cursor_pages_do_not() {
    let server = TestServer::start().await;
    let client = server.browser();
    let writer = json!({ "mode": "between_pages", "ops": 3, "insert_percent": 100, "seed": 7 });

    // Inserts in front: offset pages show rows again.
    start_writer(&server, &client, writer.clone()).await;
    let offset = walk(&server, &client, &format!("{ORDERS}?per_page=20"), 4).await;
    let seen: Vec<i64> = offset.concat();
    let mut unique = seen.clone();
    unique.sort_unstable();
    unique.dedup();
    assert!(
        unique.len() < seen.len(),
        "offset pages repeated rows: {offset:?}"
    );

    // The same writer, from the start: cursor pages repeat nothing and
    // run on without a gap.
    let reset = client
        .delete(server.url("/labs/sql/sandbox"))
        .send()
        .await
        .unwrap();
    assert!(reset.status().is_success());
    start_writer(&server, &client, writer).await;
    let cursor = walk(
        &server,
        &client,
        &format!("{ORDERS}?paging=cursor&per_page=20"),
        4,
    )
    .await;
    let seen: Vec<i64> = cursor.concat();
    assert!(
        seen.windows(2).all(|w| w[0] > w[1]),
        "cursor pages in order: {cursor:?}"
    );
    let first = seen[0];
    let survivors = ids_below(&server, &client, first).await;
    assert_eq!(&survivors[..seen.len() - 1], &seen[1..], "no row skipped");

    // Deletes among the newest: an offset walk misses a row that is still there.
    let reset = client
        .delete(server.url("/labs/sql/sandbox"))
        .send()
        .await
        .unwrap();
    assert!(reset.status().is_success());
    start_writer(
        &server,
        &client,
        json!({ "mode": "between_pages", "ops": 2, "insert_percent": 0, "seed": 7 }),
    )
    .await;
    let offset = walk(&server, &client, &format!("{ORDERS}?per_page=20"), 3).await;
    let seen: Vec<i64> = offset.concat();
    let last = *seen.last().unwrap();
    let survivors = ids_below(&server, &client, seen[0] + 1).await;
    let missed: Vec<i64> = survivors
        .iter()
        .filter(|id| **id > last && !seen.contains(id))
        .copied()
        .collect();
    assert!(!missed.is_empty(), "an offset walk skips rows: {offset:?}");

    let status: Value = server.json(&client, "/labs/api/writer").await;
    assert_eq!(status["running"], true);
    assert!(status["deleted"].as_u64().unwrap() >= 4, "{status}");
    let stopped = client
        .delete(server.url("/labs/api/writer"))
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.status(), 204);
    let status: Value = server.json(&client, "/labs/api/writer").await;
    assert_eq!(status["running"], false);
}

#[tokio::test]
async fn a_background_writer_changes_the_orders_and_stops_on_its_own() {
    let server = TestServer::start().await;
    let client = server.browser();
    let bad = client
        .put(server.url("/labs/api/writer"))
        .json(&json!({ "ops": 500 }))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(bad, 422).await["errors"][0]["pointer"], "/ops");
    let before = order_count(&server, &client).await;
    let status = start_writer(
        &server,
        &client,
        json!({ "mode": "background", "ops": 20, "insert_percent": 100, "seconds": 60 }),
    )
    .await;
    assert_eq!(status["running"], true);
    // Wait for the writer's work, not for a time: a few orders appear.
    let mut now = before;
    for _ in 0..500 {
        now = order_count(&server, &client).await;
        if now >= before + 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(now >= before + 2, "the writer created orders");
    // Its time is the server's clock: past it, the writer stops.
    server.clock.advance(61);
    let status: Value = server.json(&client, "/labs/api/writer").await;
    assert_eq!(status["running"], false);
    assert!(status["stopped_because"]
        .as_str()
        .unwrap()
        .contains("60 seconds"));
}

#[tokio::test]
async fn the_keyset_exercise_passes_a_cursor_query_and_fails_an_offset_that_matches_today() {
    let server = TestServer::start().await;
    let client = server.browser();
    let attempt = |sql: &'static str| {
        client
            .post(server.url("/api/exercises/api-keyset-query/attempts"))
            .json(&json!({ "answer": { "sql": sql } }))
            .send()
    };
    let keyset: Value = attempt(
        "SELECT id, customer_id, placed_at, status FROM orders WHERE id < 5000 ORDER BY id DESC LIMIT 20",
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        keyset["outcome"]["score"], keyset["outcome"]["max"],
        "{keyset}"
    );
    // The same 20 rows on today's shop, found by counting from the front.
    let offset: Value = attempt(
        "SELECT id, customer_id, placed_at, status FROM orders ORDER BY id DESC LIMIT 20 OFFSET 7001",
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert!(
        offset["outcome"]["score"].as_i64() < offset["outcome"]["max"].as_i64(),
        "{offset}"
    );
    server.stop().await;
}
