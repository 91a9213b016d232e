//! Under HTTP: the connection facts in every lab trace, HTTP/2 without TLS,
//! and the API lab's transport race.

use serde_json::{json, Value};

use crate::common::{trace_id_of, TestServer};

/// Sends `GET path`, reads the whole answer (so a kept-alive connection
/// is free again), and returns the `http.request` event of its trace.
async fn traced_get(
    server: &TestServer,
    client: &reqwest::Client,
    path: &str,
) -> Vec<(String, String)> {
    let response = client.get(server.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let trace_id = trace_id_of(&response);
    response.bytes().await.unwrap();
    request_event(server, client, &trace_id).await
}

/// The `http.request` event's fields of a trace.
async fn request_event(
    server: &TestServer,
    client: &reqwest::Client,
    trace_id: &str,
) -> Vec<(String, String)> {
    let trace: model::TraceView = client
        .get(server.url(&format!("/api/traces/{trace_id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    trace
        .events
        .into_iter()
        .find(|e| e.kind == "http.request")
        .expect("http.request event")
        .fields
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("{name} missing from {fields:?}"))
}

#[tokio::test]
async fn every_lab_trace_says_which_connection_and_which_request_on_it() {
    let server = TestServer::start().await;
    let student = server.browser();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let fields = traced_get(&server, &student, "/labs/http/echo").await;
        assert_eq!(field(&fields, "http_version"), "HTTP/1.1");
        seen.push((
            field(&fields, "connection").to_string(),
            field(&fields, "request_on_connection").to_string(),
        ));
    }
    // Each trace read is a request on the same kept-alive connection too,
    // so the lab requests are the 1st, 3rd and 5th on it.
    assert_eq!(seen[0].0, seen[2].0, "keep-alive reuses the connection");
    let numbers: Vec<&str> = seen.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(numbers, ["1", "3", "5"]);

    let other = server.browser();
    let fields = traced_get(&server, &other, "/labs/http/echo").await;
    assert_ne!(field(&fields, "connection"), seen[0].0);
    assert_eq!(field(&fields, "request_on_connection"), "1");
    server.stop().await;
}

#[tokio::test]
async fn the_server_speaks_http2_without_tls_and_traces_its_streams() {
    let server = TestServer::start().await;
    let student = reqwest::Client::builder()
        .http2_prior_knowledge()
        .cookie_store(true)
        .build()
        .unwrap();
    // The first request makes the guest; the next two share its cookie.
    let first = student
        .get(server.url("/labs/http/echo"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.version(), reqwest::Version::HTTP_2);
    let anatomy: Value = first.json().await.unwrap();
    assert_eq!(anatomy["http_version"], "HTTP/2.0");

    let (a, b) = tokio::join!(
        student.get(server.url("/labs/http/echo")).send(),
        student.get(server.url("/labs/http/echo")).send()
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let a = request_event(&server, &student, &trace_id_of(&a)).await;
    let b = request_event(&server, &student, &trace_id_of(&b)).await;
    assert_eq!(field(&a, "http_version"), "HTTP/2");
    assert_eq!(
        field(&a, "connection"),
        field(&b, "connection"),
        "HTTP/2 carries every request on one connection"
    );
    let mut numbers = [
        field(&a, "request_on_connection"),
        field(&b, "request_on_connection"),
    ];
    numbers.sort_unstable();
    assert_eq!(numbers, ["2", "3"]);
    server.stop().await;
}

#[tokio::test]
async fn the_transport_race_counts_connections_and_overlap_each_way() {
    let server = TestServer::start().await;
    let student = server.browser();
    let response = student
        .post(server.url("/labs/api/transport-race"))
        .json(&json!({"requests": 12, "latency_ms": 20}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let race: model::labs::api::TransportRace = response.json().await.unwrap();
    let [one, six, two] = &race.runs[..] else {
        panic!("three ways: {race:?}");
    };

    assert_eq!(
        (one.http_version.as_str(), one.connections_opened),
        ("HTTP/1.1", 1)
    );
    assert_eq!(
        one.max_in_flight, 1,
        "one HTTP/1.1 connection carries one request at a time"
    );
    let numbers: Vec<u32> = one
        .requests
        .iter()
        .map(|r| r.number_on_connection)
        .collect();
    assert_eq!(
        numbers,
        (1..=12).collect::<Vec<_>>(),
        "kept alive, reused in turn"
    );
    for pair in one.requests.windows(2) {
        assert!(
            pair[1].sent_ms >= pair[0].answered_ms,
            "no overlap: {pair:?}"
        );
    }

    assert_eq!(six.connections_opened, 6);
    assert!((2..=6).contains(&six.max_in_flight), "{six:?}");
    assert_eq!(six.requests.len(), 12);

    assert_eq!(
        (two.http_version.as_str(), two.connections_opened),
        ("HTTP/2", 1)
    );
    assert!(
        two.max_in_flight > 1,
        "streams overlap on one connection: {two:?}"
    );
    let mut numbers: Vec<u32> = two
        .requests
        .iter()
        .map(|r| r.number_on_connection)
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=12).collect::<Vec<_>>());
    server.stop().await;
}

#[tokio::test]
async fn a_race_refuses_bad_values_and_a_second_race_of_the_same_student() {
    let server = TestServer::start().await;
    let student = server.browser();
    for (body, pointer) in [
        (json!({"requests": 0}), "/requests"),
        (json!({"requests": 31}), "/requests"),
        (json!({"latency_ms": 201}), "/latency_ms"),
    ] {
        let response = student
            .post(server.url("/labs/api/transport-race"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{body}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{problem}");
    }
    let unknown = student
        .post(server.url("/labs/api/transport-race"))
        .json(&json!({"connections": 100}))
        .send()
        .await
        .unwrap();
    assert!(unknown.status().is_client_error(), "{}", unknown.status());

    // Two races at once: whichever arrives second is refused, not queued.
    let race = || {
        student
            .post(server.url("/labs/api/transport-race"))
            .json(&json!({"requests": 30, "latency_ms": 100}))
            .send()
    };
    let (a, b) = tokio::join!(race(), race());
    let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409]);
    server.stop().await;
}
