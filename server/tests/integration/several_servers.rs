//! Two servers on one platform database, as a school runs them behind a
//! load balancer: what one writes that the other keeps in memory (a
//! session, a student's lab settings) reaches the other at its next read of
//! the database's key log, which every server makes four times a second.
//! The tests make that read themselves rather than wait for it.

use std::sync::Arc;

use reqwest::cookie::CookieStore;
use serde_json::json;

use crate::common::TestServer;

/// A second server on `first`'s database.
async fn beside(first: &TestServer) -> TestServer {
    let shared = first.database_args();
    TestServer::start_configured(crate::common::repo_root(), |c| c.database = shared).await
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
