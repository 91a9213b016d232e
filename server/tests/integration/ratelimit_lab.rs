//! The rate-limit lab's live limiter over real HTTP, on the in-process
//! limiter: the RateLimit fields, 429 with Retry-After, and keys. Time
//! moves on the server's manual clock, never by sleeping.

use crate::common::TestServer;
use serde_json::json;

async fn ping(
    server: &TestServer,
    client: &reqwest::Client,
    api_key: Option<&str>,
) -> reqwest::Response {
    let mut request = client.get(server.url("/labs/ratelimit/api/ping"));
    if let Some(key) = api_key {
        request = request.header("x-api-key", key);
    }
    request.send().await.unwrap()
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_default_token_bucket_allows_ten_then_429_with_retry_after_then_refills() {
    let server = TestServer::start().await;
    let student = server.browser();
    for left in (0..10).rev() {
        let response = ping(&server, &student, None).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "ratelimit-policy"), "\"lab\";q=10;w=10");
        assert!(
            header(&response, "ratelimit").starts_with(&format!("\"lab\";r={left};t=")),
            "{}",
            header(&response, "ratelimit")
        );
    }
    let refused = ping(&server, &student, None).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(header(&refused, "retry-after"), "1");
    assert!(header(&refused, "ratelimit").starts_with("\"lab\";r=0;"));
    let body: serde_json::Value = refused.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("token_bucket"),
        "{body}"
    );

    server.clock.advance_ms(999);
    assert_eq!(ping(&server, &student, None).await.status(), 429, "not yet");
    server.clock.advance_ms(1);
    assert_eq!(
        ping(&server, &student, None).await.status(),
        200,
        "one token after a second"
    );
    // The second route shares the student's bucket.
    let items = student
        .get(server.url("/labs/ratelimit/api/items"))
        .send()
        .await
        .unwrap();
    assert_eq!(items.status(), 429);
}

#[tokio::test]
async fn keys_decide_which_bucket_a_request_counts_against() {
    let server = TestServer::start().await;
    let (ada, bob) = (server.browser(), server.browser());
    let settings =
        json!({ "algorithm": "fixed_window", "capacity": 2, "window_secs": 60, "key": "api_key" });
    let saved = ada
        .put(server.url("/labs/ratelimit/settings"))
        .json(&settings)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    let missing = ping(&server, &ada, None).await;
    assert_eq!(missing.status(), 401, "an API-key limiter needs a key");
    for _ in 0..2 {
        assert_eq!(ping(&server, &ada, Some("one")).await.status(), 200);
    }
    assert_eq!(ping(&server, &ada, Some("one")).await.status(), 429);
    assert_eq!(
        ping(&server, &ada, Some("two")).await.status(),
        200,
        "another key, another bucket"
    );
    assert_eq!(
        ping(&server, &bob, Some("one")).await.status(),
        200,
        "bob's limiter is his own"
    );
    let window = ping(&server, &ada, Some("one")).await;
    assert_eq!(header(&window, "ratelimit-policy"), "\"lab\";q=2;w=60");
}

#[tokio::test]
async fn bad_settings_are_refused_with_the_field_named() {
    let server = TestServer::start().await;
    let student = server.browser();
    for (settings, field) in [
        (json!({ "capacity": 0 }), "capacity"),
        (json!({ "rate_per_sec": 0 }), "rate_per_sec"),
        (json!({ "algorithm": "magic" }), "algorithm"),
    ] {
        let response = student
            .put(server.url("/labs/ratelimit/settings"))
            .json(&settings)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422);
        assert!(response.text().await.unwrap().contains(field));
    }
}

#[tokio::test]
async fn two_servers_on_one_redis_share_one_limit() {
    if tokio::net::TcpStream::connect("127.0.0.1:6379")
        .await
        .is_err()
    {
        eprintln!("SKIPPED: no Redis answers on 127.0.0.1:6379; this test needs a real Redis");
        return;
    }
    let redis = Some("redis://127.0.0.1:6379".to_string());
    let first =
        TestServer::start_configured(crate::common::repo_root(), |c| c.redis_url = redis.clone())
            .await;
    // A second server on the same database (so the same sessions and
    // settings) and the same Redis: two instances behind a load balancer.
    let second = TestServer::start_beside(&first, |c| c.redis_url = redis.clone()).await;
    let student = first.browser();
    let settings = json!({ "algorithm": "fixed_window", "capacity": 10, "window_secs": 3600 });
    let saved = student
        .put(first.url("/labs/ratelimit/settings"))
        .json(&settings)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    let mut allowed = 0;
    for i in 0..16 {
        let server = if i % 2 == 0 { &first } else { &second };
        if ping(server, &student, None).await.status() == 200 {
            allowed += 1;
        }
    }
    assert_eq!(
        allowed, 10,
        "one limit of 10 across both servers, not 10 each"
    );
    // The Redis-backed limiter answers with the same fields and refusals.
    let refused = ping(&second, &student, None).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(header(&refused, "ratelimit-policy"), "\"lab\";q=10;w=3600");
    assert!(header(&refused, "ratelimit").starts_with("\"lab\";r=0;t="));
    assert!(header(&refused, "retry-after").parse::<u64>().unwrap() > 0);
    let trace_id = header(&refused, "traceresponse")
        .split('-')
        .nth(1)
        .unwrap()
        .to_string();
    let trace = second
        .json(&student, &format!("/api/traces/{trace_id}"))
        .await;
    let events = trace["events"].as_array().unwrap();
    let decision = events
        .iter()
        .find(|e| e["kind"] == "ratelimit.decision")
        .unwrap();
    assert!(decision.to_string().contains("redis"), "{decision}");

    // Without Redis, each server counts alone: the limit leaks.
    let alone = TestServer::start().await;
    let beside = TestServer::start_beside(&alone, |_| {}).await;
    let client = alone.browser();
    client
        .put(alone.url("/labs/ratelimit/settings"))
        .json(&settings)
        .send()
        .await
        .unwrap();
    let mut leaked = 0;
    for i in 0..16 {
        let server = if i % 2 == 0 { &alone } else { &beside };
        if ping(server, &client, None).await.status() == 200 {
            leaked += 1;
        }
    }
    assert_eq!(leaked, 16, "two in-process limiters of 10 let 16 through");
}

/// Grades `ratelimit-send-api-key` from the student's recorded requests.
async fn grade_send_api_key(server: &TestServer, student: &reqwest::Client) -> serde_json::Value {
    student
        .post(server.url("/api/exercises/ratelimit-send-api-key/attempts"))
        .json(&json!({ "answer": {} }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_api_key_exercise_needs_the_limiter_to_count_each_key_apart() {
    let server = TestServer::start().await;
    let student = server.browser();
    let passed =
        |graded: &serde_json::Value| graded["outcome"]["score"] == graded["outcome"]["max"];

    // The old way: a key sent to a limiter that ignores it got a 200.
    assert_eq!(
        ping(&server, &student, Some("demo-key-1")).await.status(),
        200
    );
    let ignored = grade_send_api_key(&server, &student).await;
    assert!(!passed(&ignored), "{ignored}");
    assert!(
        ignored["outcome"]["checks"][0]["observed"]
            .as_str()
            .unwrap()
            .contains("student"),
        "{ignored}"
    );
    // Under the default key, every key draws on the student's one bucket.
    while ping(&server, &student, Some("demo-key-1")).await.status() == 200 {}
    assert_eq!(
        ping(&server, &student, Some("demo-key-2")).await.status(),
        429
    );
    assert!(!passed(&grade_send_api_key(&server, &student).await));

    // The right way: count by key, empty one key's bucket, then use another.
    let saved = student
        .put(server.url("/labs/ratelimit/settings"))
        .json(&json!({ "key": "api_key" }))
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    let mut accepted = 0;
    while ping(&server, &student, Some("demo-key-1")).await.status() == 200 {
        accepted += 1;
    }
    assert_eq!(accepted, 10, "the default bucket holds 10");
    assert_eq!(
        ping(&server, &student, Some("demo-key-2")).await.status(),
        200
    );
    let right = grade_send_api_key(&server, &student).await;
    assert!(passed(&right), "{right}");
    assert!(
        right["outcome"]["checks"][1]["observed"]
            .as_str()
            .unwrap()
            .contains("\"demo-key-1\" was refused, then \"demo-key-2\" was accepted"),
        "{right}"
    );
}
