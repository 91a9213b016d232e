//! Two servers on one platform database, as a school runs them behind a
//! load balancer: what one writes that the other keeps in memory (a
//! session, a student's lab settings) reaches the other at its next read of
//! the database's key log, which every server makes four times a second.
//! The tests make that read themselves rather than wait for it.

use std::sync::Arc;

use reqwest::cookie::CookieStore;
use serde_json::json;

use crate::common::{ServiceProxy, TestServer};

const REDIS: &str = "127.0.0.1:6379";

/// A second server on `first`'s database.
async fn beside(first: &TestServer) -> TestServer {
    TestServer::start_beside(first, |_| {}).await
}

/// What the other server's watcher does every 250 ms.
async fn hears_of_writes(server: &TestServer) {
    server
        .state
        .changes
        .poll(&server.state.pool)
        .await
        .expect("read the key log");
}

#[tokio::test]
async fn a_session_signed_out_on_one_server_is_refused_by_the_other() {
    let first = TestServer::start().await;
    let second = beside(&first).await;
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let ada = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .build()
        .unwrap();
    let signed_up = ada
        .post(first.url("/auth/signup"))
        .json(&json!({ "name": "Ada", "email": "ada@example.com", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_up.status(), 201);
    // The second server reads the session once and keeps it in memory.
    let me = |server: &TestServer, client: &reqwest::Client| {
        let url = server.url("/api/me");
        let client = client.clone();
        async move { client.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(me(&second, &ada).await, 200);
    assert_eq!(me(&second, &ada).await, 200);
    let cookie = jar
        .cookies(&first.url("/").parse().unwrap())
        .expect("a session cookie");

    let signed_out = ada.post(first.url("/auth/signout")).send().await.unwrap();
    assert!(signed_out.status().is_success(), "{}", signed_out.status());
    hears_of_writes(&second).await;

    // Someone who kept the old cookie gets nowhere on either server.
    let thief = reqwest::Client::new();
    for server in [&first, &second] {
        let status = thief
            .get(server.url("/api/me"))
            .header(reqwest::header::COOKIE, cookie.clone())
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 401, "the old session on {}", server.addr);
    }
    second.stop().await;
    first.stop().await;
}

#[tokio::test]
async fn settings_saved_on_one_server_are_used_by_the_other() {
    let first = TestServer::start().await;
    let second = beside(&first).await;
    let student = first.browser();
    let echo = |server: &TestServer| {
        let (url, student) = (server.url("/labs/http/echo"), student.clone());
        async move { student.get(url).send().await.unwrap().text().await.unwrap() }
    };
    // The guest is made on the first server; the second caches their
    // (default: compact) settings at their first lab request there.
    let _ = echo(&first).await;
    assert!(!echo(&second).await.contains('\n'), "compact by default");

    let saved = student
        .put(first.url("/labs/http/settings"))
        .json(&json!({ "pretty": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    hears_of_writes(&second).await;
    assert!(
        echo(&second).await.contains('\n'),
        "pretty on the other server too"
    );
    second.stop().await;
    first.stop().await;
}

/// Two servers on one database whose Redis is behind `proxy`.
async fn two_on_redis(proxy: &ServiceProxy) -> (TestServer, TestServer) {
    let url = Some(format!("redis://127.0.0.1:{}", proxy.port));
    let first =
        TestServer::start_configured(crate::common::repo_root(), |c| c.redis_url = url.clone())
            .await;
    let second = TestServer::start_beside(&first, |c| c.redis_url = url).await;
    (first, second)
}

/// Guesses `email`'s password on each server in turn, from one client;
/// the answers' statuses.
async fn guesses(servers: [&TestServer; 2], email: &str, count: usize) -> Vec<u16> {
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for i in 0..count {
        let server = servers[i % 2];
        let status = client
            .post(server.url("/auth/signin"))
            .json(&json!({ "email": email, "password": "not the password at all" }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        statuses.push(status);
    }
    statuses
}

#[tokio::test]
async fn sign_in_attempts_spread_over_servers_share_one_allowance_even_through_a_redis_outage() {
    if tokio::net::TcpStream::connect(REDIS).await.is_err() {
        eprintln!("SKIPPED: no Redis answers on {REDIS}; this test needs a real Redis");
        return;
    }
    let proxy = ServiceProxy::start(0, REDIS).await;
    let (first, second) = two_on_redis(&proxy).await;
    let both = [&first, &second];

    // Five guesses at one account are allowed in a burst, however they are
    // spread: the sixth is refused, on either server.
    let statuses = guesses(both, "ada@example.com", 7).await;
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429]);

    let ready = first.json(&reqwest::Client::new(), "/readyz").await;
    assert_eq!(ready["redis"], "ok", "{ready}");

    // Redis goes away: each server counts alone (five each), and nobody
    // gets a server error.
    let port = proxy.cut();
    // Still ready for the load balancer: a server without Redis serves.
    let ready = first.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert!(
        ready["redis"].as_str().unwrap().starts_with("unreachable"),
        "{ready}"
    );
    let statuses = guesses(both, "grace@example.com", 12).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(statuses[10..], [429, 429], "{statuses:?}");

    // It comes back on the same address; after the link's one-second pause
    // (on the servers' clocks) the servers count in it together again.
    let _proxy = ServiceProxy::start(port, REDIS).await;
    first.clock.advance(2);
    second.clock.advance(2);
    let statuses = guesses(both, "cleo@example.com", 6).await;
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
    second.stop().await;
    first.stop().await;
}

#[tokio::test]
async fn a_demo_jwt_issued_by_one_server_is_good_on_the_other() {
    let first = TestServer::start().await;
    let second = beside(&first).await;
    let student = first.browser();
    let jwt_mode = student
        .put(first.url("/labs/auth/settings"))
        .json(&json!({ "mechanism": "jwt", "access_token_secs": 60 }))
        .send()
        .await
        .unwrap();
    assert_eq!(jwt_mode.status(), 200);
    let created = student
        .post(first.url("/labs/auth/users"))
        .json(&json!({ "username": "sam", "password": "pw", "role": "seller" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let pair: serde_json::Value = student
        .post(first.url("/labs/auth/login"))
        .json(&json!({ "username": "sam", "password": "pw" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = pair["access_token"].as_str().expect("an access token");
    // The servers sign with the deployment's key, kept in the database.
    let me = student
        .get(second.url("/labs/auth/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "{}", me.text().await.unwrap());
    second.stop().await;
    first.stop().await;
}

#[tokio::test]
async fn a_trace_recorded_by_one_server_is_found_on_the_other_even_after_it_is_gone() {
    if tokio::net::TcpStream::connect(REDIS).await.is_err() {
        eprintln!("SKIPPED: no Redis answers on {REDIS}; this test needs a real Redis");
        return;
    }
    let proxy = ServiceProxy::start(0, REDIS).await;
    let (first, second) = two_on_redis(&proxy).await;
    let student = first.browser();
    let echoed = student
        .get(first.url("/labs/http/echo?from=first"))
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.status(), 200);
    let trace_id = crate::common::trace_id_of(&echoed);
    first.stop().await;

    let trace = second
        .json(&student, &format!("/api/traces/{trace_id}"))
        .await;
    assert_eq!(trace["path"], "/labs/http/echo?from=first", "{trace}");
    let listed = second.json(&student, "/api/traces").await;
    assert_eq!(listed[0]["trace_id"], trace_id.as_str(), "{listed}");
    // Another student finds nothing under that id.
    let other = second.browser();
    let response = other
        .get(second.url(&format!("/api/traces/{trace_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    second.stop().await;
}

#[tokio::test]
async fn two_servers_on_one_data_folder_write_one_students_sandbox_safely() {
    let first = TestServer::start().await;
    let second = beside(&first).await;
    let student = first.browser();
    let run = |server: &TestServer, sql: String| {
        let (url, student) = (server.url("/labs/sql/query"), student.clone());
        async move {
            let response = student
                .post(url)
                .json(&json!({ "sql": sql }))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (status, body) = run(
        &first,
        "CREATE TABLE visits (id INTEGER PRIMARY KEY, server TEXT NOT NULL)".into(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Both servers write at once, twenty rows each: SQLite's own locking
    // puts them one after another in the student's one file.
    let writes = (0..40).map(|n| {
        let (server, name) = if n % 2 == 0 {
            (&first, "first")
        } else {
            (&second, "second")
        };
        run(
            server,
            format!("INSERT INTO visits (server) VALUES ('{name}')"),
        )
    });
    for (status, body) in futures_util::future::join_all(writes).await {
        assert_eq!(status, 200, "{body}");
    }
    for server in [&first, &second] {
        let (status, body) = run(
            server,
            "SELECT server, COUNT(*) AS n FROM visits GROUP BY server ORDER BY server".into(),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["rows"],
            json!([["first", 20], ["second", 20]]),
            "{body}"
        );
    }
    second.stop().await;
    first.stop().await;
}
