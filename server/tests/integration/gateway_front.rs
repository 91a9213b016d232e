//! The gateway's front door over real HTTP: an API key checked once (the
//! replica is told the consumer and never sees the key) and a rate limit
//! by the rate-limit lab's algorithms, both deciding before any replica
//! is chosen.

use serde_json::{json, Value};

use crate::common::gateway::configure;
use crate::common::{event_field as field, TestServer};

async fn item(
    student: &reqwest::Client,
    server: &TestServer,
    key: Option<&str>,
) -> reqwest::Response {
    let mut request = student.get(server.url("/labs/gateway/catalog/items/7"));
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_required_key_is_checked_once_and_the_replica_is_told_only_the_consumer() {
    let server = TestServer::start().await;
    let student = server.browser();
    let open = item(&student, &server, None).await;
    assert_eq!(open.status(), 200, "no key needed by default");
    let body: Value = open.json().await.unwrap();
    assert!(body.get("consumer").is_none(), "{body}");

    configure(&server, &student, json!({ "require_api_key": true })).await;
    let missing = item(&student, &server, None).await;
    assert_eq!(missing.status(), 401);
    assert!(missing.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("X-Api-Key"));
    assert!(
        server
            .trace_events(&student, &missing, "gateway.pick")
            .await
            .is_empty(),
        "refused at the door: no replica chosen"
    );
    let auth = server
        .trace_events(&student, &missing, "gateway.auth")
        .await;
    assert_eq!(field(&auth[0], "outcome"), "missing", "{auth:?}");
    let message = missing.json::<Value>().await.unwrap()["message"].clone();
    assert!(message.as_str().unwrap().contains("X-Api-Key"), "{message}");

    let unknown = item(&student, &server, Some("mobile-app-key-2")).await;
    assert_eq!(unknown.status(), 401);

    let known = item(&student, &server, Some("mobile-app-key-1")).await;
    assert_eq!(known.status(), 200);
    let auth = server.trace_events(&student, &known, "gateway.auth").await;
    assert_eq!(field(&auth[0], "consumer"), "mobile-app");
    let body: Value = known.json().await.unwrap();
    assert_eq!(
        body["consumer"], "mobile-app",
        "the replica was told: {body}"
    );

    // The student's own keys replace the examples.
    configure(
        &server,
        &student,
        json!({ "require_api_key": true, "api_keys": [{ "consumer": "kiosk", "key": "kiosk-secret-9" }] }),
    )
    .await;
    assert_eq!(
        item(&student, &server, Some("mobile-app-key-1"))
            .await
            .status(),
        401
    );
    let kiosk: Value = item(&student, &server, Some("kiosk-secret-9"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(kiosk["consumer"], "kiosk");
    server.stop().await;
}

#[tokio::test]
async fn the_rate_limit_refuses_at_the_door_and_counts_each_consumer_apart() {
    let server = TestServer::start().await;
    let student = server.browser();
    configure(
        &server,
        &student,
        json!({ "rate_limit": { "capacity": 2, "rate_per_sec": 0.1 } }),
    )
    .await;
    for _ in 0..2 {
        let allowed = item(&student, &server, None).await;
        assert_eq!(allowed.status(), 200);
        assert!(allowed.headers().contains_key("ratelimit-policy"));
    }
    let refused = item(&student, &server, None).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert!(refused.headers().contains_key("ratelimit"));
    let decision = server
        .trace_events(&student, &refused, "ratelimit.decision")
        .await;
    assert_eq!(field(&decision[0], "allowed"), "false", "{decision:?}");
    assert!(
        server
            .trace_events(&student, &refused, "gateway.pick")
            .await
            .is_empty(),
        "no replica was asked"
    );

    configure(
        &server,
        &student,
        json!({
            "require_api_key": true,
            "rate_limit": { "capacity": 2, "rate_per_sec": 0.1, "key": "api_key" },
        }),
    )
    .await;
    for _ in 0..2 {
        assert_eq!(
            item(&student, &server, Some("mobile-app-key-1"))
                .await
                .status(),
            200
        );
    }
    assert_eq!(
        item(&student, &server, Some("mobile-app-key-1"))
            .await
            .status(),
        429
    );
    assert_eq!(
        item(&student, &server, Some("web-shop-key-1"))
            .await
            .status(),
        200,
        "the web shop has a bucket of its own"
    );
    assert_eq!(
        item(&student, &server, Some("nobody-key-1")).await.status(),
        401,
        "an unknown key is refused before it can spend anything"
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_front_door_settings_are_refused_naming_the_field() {
    let server = TestServer::start().await;
    let student = server.browser();
    let refused = |settings: Value| {
        let student = student.clone();
        let url = server.url("/labs/gateway/settings");
        async move {
            let response = student.put(url).json(&settings).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let (status, body) =
        refused(json!({ "api_keys": [{ "consumer": "a", "key": "short" }] })).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("api_keys[0].key"), "{body}");
    let (status, body) = refused(json!({ "rate_limit": { "capacity": 0 } })).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("rate_limit.capacity"), "{body}");
    let (status, body) = refused(json!({ "shop": { "call_timeout_ms": 5 } })).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("shop.call_timeout_ms"), "{body}");
    let (status, body) = refused(json!({ "shop": { "catalog": { "extra_ms": 5000 } } })).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("shop.catalog.extra_ms"), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn the_front_door_exercises_pass_on_what_they_ask_for() {
    let server = TestServer::start().await;
    let student = server.browser();
    let score = |outcome: Value| (outcome["score"].as_u64(), outcome["max"].as_u64());
    item(&student, &server, None).await;
    for exercise in ["gateway-api-key", "gateway-rate-limit-at-the-door"] {
        let (now, max) = score(crate::common::graded_outcome(&server, &student, exercise).await);
        assert!(now < max, "{exercise} passes on a plain request");
    }
    configure(&server, &student, json!({ "require_api_key": true })).await;
    item(&student, &server, Some("mobile-app-key-1")).await;
    let (now, max) =
        score(crate::common::graded_outcome(&server, &student, "gateway-api-key").await);
    assert_eq!(now, max);
    configure(
        &server,
        &student,
        json!({ "rate_limit": { "capacity": 2, "rate_per_sec": 0.2 } }),
    )
    .await;
    for _ in 0..3 {
        item(&student, &server, None).await;
    }
    let exercise = "gateway-rate-limit-at-the-door";
    let (now, max) = score(crate::common::graded_outcome(&server, &student, exercise).await);
    assert_eq!(now, max);
    server.stop().await;
}
