//! The cache lab over real HTTP, on the in-process backend and on a real
//! Redis (skipped, saying so, when no Redis answers on 127.0.0.1:6379).

use crate::common::{ServiceProxy, TestServer};
use serde_json::{json, Value};
use tokio::net::TcpStream;

const REDIS: &str = "127.0.0.1:6379";

async fn configure(server: &TestServer, client: &reqwest::Client, settings: Value) {
    let mut all = json!({ "origin_latency_ms": 0 });
    all.as_object_mut()
        .unwrap()
        .extend(settings.as_object().unwrap().clone());
    let response = client
        .put(server.url("/labs/cache/settings"))
        .json(&all)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// GET a product: (status, X-Cache, Age, body).
async fn product(
    server: &TestServer,
    client: &reqwest::Client,
    id: i64,
) -> (u16, String, String, Value) {
    let response = client
        .get(server.url(&format!("/labs/cache/products/{id}")))
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let (status, cache, age) = (response.status().as_u16(), header("x-cache"), header("age"));
    let body = response.json().await.unwrap_or(Value::Null);
    (status, cache, age, body)
}

async fn set_price(server: &TestServer, client: &reqwest::Client, id: i64, price: i64) -> Value {
    let response = client
        .put(server.url(&format!("/labs/cache/products/{id}")))
        .json(&json!({ "price_cents": price }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn origin_hits(server: &TestServer, client: &reqwest::Client) -> u64 {
    server.json(client, "/labs/cache/stats").await["origin_hits"]
        .as_u64()
        .unwrap()
}

/// Miss, hit, age, expiry on the server's clock: the same on both backends.
async fn miss_hit_and_expiry(server: &TestServer, client: &reqwest::Client) {
    let (status, cache, _, body) = product(server, client, 3).await;
    assert_eq!((status, cache.as_str()), (200, "MISS"));
    assert_eq!(body["id"], 3);
    server.clock.advance(10);
    let (_, cache, age, again) = product(server, client, 3).await;
    assert_eq!((cache.as_str(), age.as_str()), ("HIT", "10"));
    assert_eq!(again, body);
    server.clock.advance(21);
    let (_, cache, _, _) = product(server, client, 3).await;
    assert_eq!(cache, "MISS", "30 s TTL: expired at 31 s");
}

/// The stale-price bug, and the two settings that fix it.
async fn invalidation(server: &TestServer, client: &reqwest::Client, backend: &str) {
    configure(
        server,
        client,
        json!({ "backend": backend, "invalidate_on_write": false }),
    )
    .await;
    let (_, _, _, before) = product(server, client, 4).await;
    let old = before["price_cents"].as_i64().unwrap();
    set_price(server, client, 4, old + 100).await;
    let (_, cache, _, stale) = product(server, client, 4).await;
    assert_eq!(
        (cache.as_str(), stale["price_cents"].as_i64()),
        ("HIT", Some(old)),
        "stale read"
    );

    configure(
        server,
        client,
        json!({ "backend": backend, "invalidate_on_write": true }),
    )
    .await;
    set_price(server, client, 4, old + 200).await;
    let (_, cache, _, fresh) = product(server, client, 4).await;
    assert_eq!(
        (cache.as_str(), fresh["price_cents"].as_i64()),
        ("MISS", Some(old + 200))
    );

    configure(
        server,
        client,
        json!({ "backend": backend, "strategy": "write_through" }),
    )
    .await;
    set_price(server, client, 4, old + 300).await;
    let (_, cache, _, written) = product(server, client, 4).await;
    assert_eq!(
        (cache.as_str(), written["price_cents"].as_i64()),
        ("HIT", Some(old + 300)),
        "write-through"
    );
}

#[tokio::test]
async fn in_process_cache_misses_hits_expires_and_invalidates() {
    let server = TestServer::start().await;
    let student = server.browser();
    configure(&server, &student, json!({})).await;
    miss_hit_and_expiry(&server, &student).await;
    invalidation(&server, &student, "in_process").await;

    let other = server.browser();
    configure(&server, &other, json!({})).await;
    let (_, cache, _, _) = product(&server, &other, 3).await;
    assert_eq!(cache, "MISS", "students do not share cache entries");

    configure(&server, &student, json!({ "strategy": "none" })).await;
    let before = origin_hits(&server, &student).await;
    for _ in 0..3 {
        assert_eq!(product(&server, &student, 3).await.1, "BYPASS");
    }
    assert_eq!(origin_hits(&server, &student).await - before, 3);
}

#[tokio::test]
async fn etags_give_304_and_cache_control_follows_the_ttl() {
    let server = TestServer::start().await;
    let student = server.browser();
    configure(&server, &student, json!({ "ttl_secs": 60 })).await;
    let first = student
        .get(server.url("/labs/cache/products/8"))
        .send()
        .await
        .unwrap();
    let tag = first.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(first.headers()["cache-control"], "private, max-age=60");
    server.clock.advance(15);
    let again = student
        .get(server.url("/labs/cache/products/8"))
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), tag);
    assert_eq!(again.headers()["cache-control"], "private, max-age=60");
    assert_eq!(
        again.headers()["age"],
        "15",
        "the browser subtracts the age itself"
    );
    assert!(again.bytes().await.unwrap().is_empty());
    let list = student
        .get(server.url("/labs/cache/products"))
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 200);
    let list: Value = list.json().await.unwrap();
    assert_eq!(list["products"].as_array().unwrap().len(), 20);
}

/// Fires a stampede of `n` requests for product `id`; the lab's report.
async fn stampede(server: &TestServer, client: &reqwest::Client, n: u32, id: i64) -> Value {
    let response = client
        .post(server.url("/labs/cache/stampede"))
        .json(&json!({ "n": n, "product_id": id }))
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

#[tokio::test]
async fn coalescing_turns_a_stampede_into_one_origin_request() {
    let server = TestServer::start().await;
    let student = server.browser();
    configure(
        &server,
        &student,
        json!({ "coalescing": false, "origin_latency_ms": 20 }),
    )
    .await;
    let report = stampede(&server, &student, 12, 9).await;
    assert_eq!(report["origin_hits"], 12, "{report}");
    configure(
        &server,
        &student,
        json!({ "coalescing": true, "origin_latency_ms": 20 }),
    )
    .await;
    let report = stampede(&server, &student, 12, 9).await;
    assert_eq!(report["origin_hits"], 1, "{report}");

    // Real concurrent HTTP requests for a cold key: one origin request.
    configure(
        &server,
        &student,
        json!({ "coalescing": true, "origin_latency_ms": 300 }),
    )
    .await;
    let before = origin_hits(&server, &student).await;
    let requests = (0..10).map(|_| product(&server, &student, 11));
    let results = futures_util::future::join_all(requests).await;
    assert!(results.iter().all(|r| r.0 == 200));
    assert_eq!(origin_hits(&server, &student).await - before, 1);

    let stats = server.json(&student, "/labs/cache/stats").await;
    assert_eq!(stats["requests"], 10);
    assert!(stats["p95_ms"].as_f64().unwrap() >= stats["p50_ms"].as_f64().unwrap());
}

#[tokio::test]
async fn bad_requests_get_4xx_with_a_reason() {
    let server = TestServer::start().await;
    let student = server.browser();
    configure(&server, &student, json!({})).await;
    let (status, _, _, body) = product(&server, &student, 999_999).await;
    assert_eq!(status, 404, "{body}");
    let response = student
        .put(server.url("/labs/cache/products/3"))
        .json(&json!({ "price_cents": -5 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let response = student
        .post(server.url("/labs/cache/stampede"))
        .json(&json!({ "n": 0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let response = student
        .put(server.url("/labs/cache/settings"))
        .json(&json!({ "ttl_secs": 0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let (status, cache, _, body) = {
        configure(&server, &student, json!({ "backend": "redis" })).await;
        product(&server, &student, 3).await
    };
    // This server has no Redis: the lab says so and still answers.
    assert_eq!((status, cache.as_str()), (200, "BYPASS"));
    assert!(
        body["cache_error"].as_str().unwrap().contains("REDIS_URL"),
        "{body}"
    );
}

async fn redis_answers() -> bool {
    TcpStream::connect(REDIS).await.is_ok()
}

#[tokio::test]
async fn redis_backend_caches_expires_invalidates_and_survives_an_outage() {
    if !redis_answers().await {
        eprintln!("SKIPPED: no Redis answers on {REDIS}; this test needs a real Redis");
        return;
    }
    let proxy = ServiceProxy::start(0, REDIS).await;
    let url = format!("redis://127.0.0.1:{}", proxy.port);
    let server = TestServer::start_configured(crate::common::repo_root(), |config| {
        config.redis_url = Some(url)
    })
    .await;
    let student = server.browser();
    configure(&server, &student, json!({ "backend": "redis" })).await;
    miss_hit_and_expiry(&server, &student).await;
    invalidation(&server, &student, "redis").await;

    // Redis goes away mid-run: the lab answers from the origin and says so.
    configure(&server, &student, json!({ "backend": "redis" })).await;
    let port = proxy.cut();
    let (status, cache, _, body) = product(&server, &student, 12).await;
    assert_eq!((status, cache.as_str()), (200, "BYPASS"), "{body}");
    assert!(
        body["cache_error"].as_str().unwrap().contains("Redis"),
        "{body}"
    );
    assert_eq!(body["id"], 12);

    let (_, cache, _, _) = product(&server, &student, 12).await;
    assert_eq!(cache, "BYPASS", "still down");

    // It comes back on the same address; after the lab's one-second pause
    // (on the server's clock) it uses Redis again.
    let _proxy = ServiceProxy::start(port, REDIS).await;
    server.clock.advance(2);
    assert_eq!(product(&server, &student, 12).await.1, "MISS");
    assert_eq!(product(&server, &student, 12).await.1, "HIT");
}

/// Grades `exercise` for `client` from what the lab holds for them; (score, max).
async fn grade(server: &TestServer, client: &reqwest::Client, exercise: &str) -> (u64, u64) {
    let outcome = crate::common::graded_outcome(server, client, exercise).await;
    (
        outcome["score"].as_u64().unwrap(),
        outcome["max"].as_u64().unwrap(),
    )
}

#[tokio::test]
async fn the_ttl_target_wants_the_oldest_copy_the_lesson_teaches_not_the_ttl() {
    let server = TestServer::start().await;
    let student = server.browser();
    let (score, max) = grade(&server, &student, "cache-ttl-target").await;
    assert!(score < max, "the default TTL of 30 s hits 2 reads in 3");
    // Taking the oldest copy to be the TTL, 50 s is the longest allowed,
    // and it hits only 4 reads in 5.
    configure(&server, &student, json!({ "ttl_secs": 50 })).await;
    let (score, max) = grade(&server, &student, "cache-ttl-target").await;
    assert!(score < max, "a TTL of 50 s");
    // The lesson's table: a TTL of 60 s hits 5 in 6, and its oldest copy
    // is 50 s old, served by the read at 50 s.
    configure(&server, &student, json!({ "ttl_secs": 60 })).await;
    assert_eq!(
        grade(&server, &student, "cache-ttl-target").await,
        (max, max)
    );
    configure(&server, &student, json!({ "ttl_secs": 61 })).await;
    let (score, _) = grade(&server, &student, "cache-ttl-target").await;
    assert!(score < max, "a TTL of 61 s serves a copy 60 s old");
}

#[tokio::test]
async fn seven_hits_in_ten_reads_need_three_planned_misses() {
    let server = TestServer::start().await;
    let student = server.browser();
    configure(&server, &student, json!({})).await;
    let (score, max) = grade(&server, &student, "cache-hit-ratio").await;
    assert_eq!(score, 0, "nothing read yet");

    // One product read ten times: one miss, nine hits.
    for _ in 0..10 {
        product(&server, &student, 42).await;
    }
    let (score, _) = grade(&server, &student, "cache-hit-ratio").await;
    assert!(score < max, "9 hits in 10");

    // A cold cache, three products, then seven more reads of them.
    let cleared = student
        .delete(server.url("/labs/cache/entries"))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 204);
    for id in [1, 2, 3, 1, 2, 3, 1, 2, 3, 1] {
        product(&server, &student, id).await;
    }
    assert_eq!(
        grade(&server, &student, "cache-hit-ratio").await,
        (max, max)
    );
}
