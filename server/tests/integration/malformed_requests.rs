//! Bad input to any lab or API route gets a 4xx with a JSON error body, never a 500.

use crate::common::TestServer;
use reqwest::Method;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn assert_json_client_error(response: reqwest::Response, what: &str) {
    let status = response.status();
    assert!(
        status.is_client_error(),
        "{what}: expected 4xx, got {status}"
    );
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "{what}: content-type {content_type:?}"
    );
    let body: Value = response
        .json()
        .await
        .unwrap_or_else(|e| panic!("{what}: body is not JSON: {e}"));
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{what}: {body}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| m.len() > 10),
        "{what}: {body}"
    );
}

/// What the case is, method, path, and an optional (content type, body).
type Case = (
    &'static str,
    Method,
    &'static str,
    Option<(&'static str, String)>,
);

#[tokio::test]
async fn malformed_lab_and_api_requests_get_json_client_errors() {
    let server = TestServer::start().await;
    let client = server.browser();
    let big_body = "x".repeat(70 * 1024);
    let cases: Vec<Case> = vec![
        (
            "status that is not a number",
            Method::GET,
            "/labs/http/status/abc",
            None,
        ),
        (
            "status outside 200-599",
            Method::GET,
            "/labs/http/status/700",
            None,
        ),
        (
            "an interim status",
            Method::GET,
            "/labs/http/status/101",
            None,
        ),
        (
            "open redirect",
            Method::GET,
            "/labs/http/status/302?location=https://evil.example/",
            None,
        ),
        (
            "unknown query parameter",
            Method::GET,
            "/labs/http/status/200?colour=red",
            None,
        ),
        (
            "protected header",
            Method::GET,
            "/labs/http/status/200?header=Set-Cookie:%20a=b",
            None,
        ),
        (
            "malformed header",
            Method::GET,
            "/labs/http/status/200?header=no-colon",
            None,
        ),
        ("unknown lab", Method::GET, "/labs/nope", None),
        (
            "unknown lab route",
            Method::GET,
            "/labs/http/nothing/here",
            None,
        ),
        ("bare labs path", Method::GET, "/labs", None),
        ("wrong method", Method::DELETE, "/labs/http/negotiate", None),
        (
            "body over the limit",
            Method::POST,
            "/labs/http/echo",
            Some(("text/plain", big_body.clone())),
        ),
        (
            "settings that are not JSON",
            Method::PUT,
            "/labs/http/settings",
            Some(("application/json", "{not json".into())),
        ),
        (
            "settings without a JSON content type",
            Method::PUT,
            "/labs/http/settings",
            Some(("text/plain", "{}".into())),
        ),
        (
            "settings with an unknown field",
            Method::PUT,
            "/labs/http/settings",
            Some(("application/json", r#"{"latncy_ms": 5}"#.into())),
        ),
        (
            "settings of the wrong type",
            Method::PUT,
            "/labs/http/settings",
            Some(("application/json", r#"{"latency_ms": "fast"}"#.into())),
        ),
        (
            "settings out of range",
            Method::PUT,
            "/labs/http/settings",
            Some(("application/json", r#"{"latency_ms": 99999}"#.into())),
        ),
        (
            "settings with a huge body",
            Method::PUT,
            "/labs/http/settings",
            Some(("application/json", big_body.clone())),
        ),
        (
            "malformed trace id",
            Method::GET,
            "/api/traces/not-a-trace",
            None,
        ),
        (
            "unknown trace id",
            Method::GET,
            "/api/traces/0123456789abcdef0123456789abcdef",
            None,
        ),
        (
            "live reload outside dev mode",
            Method::GET,
            "/api/dev/content-events",
            None,
        ),
    ];
    for (what, method, path, body) in cases {
        let mut request = client.request(method, server.url(path));
        if let Some((content_type, body)) = body {
            request = request.header("content-type", content_type).body(body);
        }
        assert_json_client_error(request.send().await.unwrap(), what).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn a_wrong_method_keeps_the_allow_header() {
    let server = TestServer::start().await;
    let response = server
        .browser()
        .delete(server.url("/labs/http/negotiate"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let allow = response.headers()["allow"].to_str().unwrap().to_string();
    assert!(allow.contains("GET"), "{allow}");
    server.stop().await;
}

#[tokio::test]
async fn garbage_on_the_wire_gets_a_400_and_the_server_keeps_serving() {
    let server = TestServer::start().await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /labs/http/echo HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");

    let healthy = server.get("/healthz").await;
    assert_eq!(healthy.status(), 200);
    server.stop().await;
}

/// Every lab route, with the method it answers.
const LAB_ROUTES: &[(&str, &str)] = &[
    // First, while the demo user is still signed in: a signed-in user is
    // what takes `authorize` as far as its redirect.
    ("GET", "/labs/auth/oauth/start"),
    ("GET", "/labs/auth/oauth/authorize"),
    ("POST", "/labs/auth/oauth/token"),
    ("GET", "/labs/auth/oauth/callback"),
    ("GET", "/labs/http/echo"),
    ("POST", "/labs/http/echo/x"),
    ("GET", "/labs/http/status/200"),
    ("GET", "/labs/http/status/302"),
    ("GET", "/labs/http/negotiate"),
    ("PUT", "/labs/http/settings"),
    ("POST", "/labs/auth/users"),
    ("GET", "/labs/auth/users"),
    ("POST", "/labs/auth/verify"),
    ("POST", "/labs/auth/login"),
    ("POST", "/labs/auth/refresh"),
    ("POST", "/labs/auth/logout"),
    ("GET", "/labs/auth/me"),
    ("GET", "/labs/auth/products"),
    ("POST", "/labs/auth/products"),
    ("DELETE", "/labs/auth/products/%0d%0a"),
    ("POST", "/labs/auth/products/1/buy"),
    ("POST", "/labs/auth/users/%E2%80%AE%0a/ban"),
    ("POST", "/labs/auth/totp/enrol"),
    ("POST", "/labs/auth/totp/confirm"),
    ("PUT", "/labs/auth/settings"),
    ("POST", "/labs/sql/query"),
    ("POST", "/labs/sql/plan"),
    ("POST", "/labs/sql/index-experiment"),
    ("POST", "/labs/sql/withdrawal"),
    ("POST", "/labs/sql/transfer"),
    ("GET", "/labs/sql/customers/%0a/orders"),
    ("PUT", "/labs/sql/settings"),
    ("GET", "/labs/cache/products/-1"),
    ("PUT", "/labs/cache/products/99999999999999999999"),
    ("POST", "/labs/cache/stampede"),
    ("PUT", "/labs/cache/settings"),
    ("GET", "/labs/ratelimit/api/ping"),
    ("POST", "/labs/ratelimit/simulate"),
    ("PUT", "/labs/ratelimit/settings"),
];

/// Values an attacker tries in every field: line breaks that could end a
/// header, a NUL, right-to-left marks, huge and deeply nested values.
fn hostile_values() -> Vec<Value> {
    let mut nested = Value::from("deep");
    for _ in 0..200 {
        nested = serde_json::json!([nested]);
    }
    vec![
        Value::from("s\r\nSet-Cookie: x=1"),
        Value::from("\0"),
        Value::from("\u{202e}\u{0}\u{feff}"),
        Value::from("x".repeat(20_000)),
        Value::from(-1),
        Value::from(u64::MAX),
        Value::from(1e308),
        Value::Null,
        nested,
    ]
}

#[tokio::test]
async fn no_hostile_input_to_any_lab_route_gets_a_server_error() {
    let server = TestServer::start().await;
    let client = server.browser();
    for (path, body) in [
        (
            "/labs/auth/users",
            serde_json::json!({ "username": "ada", "password": "hunter2", "role": "admin" }),
        ),
        (
            "/labs/auth/login",
            serde_json::json!({ "username": "ada", "password": "hunter2" }),
        ),
    ] {
        let response = client
            .post(server.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}");
    }
    let fields = [
        "username",
        "password",
        "role",
        "sql",
        "query",
        "index",
        "name",
        "price_cents",
        "n",
        "product_id",
        "code",
        "state",
        "refresh_token",
        "grant_type",
        "redirect_uri",
        "client_id",
        "code_verifier",
        "requests",
        "pattern",
        "policy",
        "latency_ms",
    ];
    let hostile_query = "state=s%0d%0aSet-Cookie:%20x&code=%00\
        &client_id=demo-shop&response_type=code&code_challenge_method=S256\
        &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
        &redirect_uri=%2Flabs%2Fauth%2Foauth%2Fcallback&location=%2F%09%2Fevil&header=X%0d%0a:y&content_type=%0a&body=%00&strategy=%0a";
    for (method, path) in LAB_ROUTES {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let response = client
            .request(
                method.clone(),
                server.url(&format!("{path}?{hostile_query}")),
            )
            .send()
            .await
            .unwrap();
        assert!(
            response.status().as_u16() < 500,
            "{method} {path} with a hostile query: {}",
            response.status()
        );
        for value in hostile_values() {
            let body: serde_json::Map<String, Value> = fields
                .iter()
                .map(|f| (f.to_string(), value.clone()))
                .collect();
            let response = client
                .request(method.clone(), server.url(path))
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status();
            assert!(
                status.as_u16() < 500,
                "{method} {path} with {:.40}: {status} {}",
                value.to_string(),
                response.text().await.unwrap_or_default()
            );
        }
    }
    server.stop().await;
}
