//! The gateway lab over real loopback TCP: the gateway on a server on port
//! 0, in front of the student's replicas, each a real listener of its own.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use tokio::net::TcpStream;

use crate::common::TestServer;

async fn configure(server: &TestServer, student: &reqwest::Client, settings: Value) {
    let response = student
        .put(server.url("/labs/gateway/settings"))
        .json(&settings)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// One request through the gateway: (status, the replica that answered).
async fn through(server: &TestServer, student: &reqwest::Client, id: u32) -> (u16, u8) {
    let response = student
        .get(server.url(&format!("/labs/gateway/catalog/items/{id}")))
        .send()
        .await
        .unwrap();
    let replica = response.headers()["x-replica"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    (response.status().as_u16(), replica)
}

/// How many of `requests` requests each replica served, sent by `clients`
/// clients that each send their next request as soon as one is answered.
async fn shares(
    server: &TestServer,
    student: &reqwest::Client,
    requests: u32,
    clients: u32,
) -> BTreeMap<u8, u32> {
    let each = requests / clients;
    let answers = futures_util::future::join_all((0..clients).map(|client| async move {
        let mut served = Vec::new();
        for n in 0..each {
            served.push(through(server, student, client * each + n + 1).await);
        }
        served
    }))
    .await;
    let mut served = BTreeMap::new();
    for (status, replica) in answers.into_iter().flatten() {
        assert_eq!(status, 200);
        *served.entry(replica).or_default() += 1;
    }
    served
}

async fn ports(server: &TestServer, student: &reqwest::Client) -> Vec<u16> {
    let view = server.json(student, "/labs/gateway/replicas").await;
    view["replicas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|replica| replica["port"].as_u64().unwrap() as u16)
        .collect()
}

#[tokio::test]
async fn each_algorithm_spreads_requests_over_healthy_replicas() {
    let server = TestServer::start().await;
    let student = server.browser();
    for algorithm in ["round_robin", "least_outstanding"] {
        configure(&server, &student, json!({ "algorithm": algorithm })).await;
        let served = shares(&server, &student, 30, 1).await;
        assert_eq!(
            served,
            BTreeMap::from([(1, 10), (2, 10), (3, 10)]),
            "{algorithm}: one after another, each in turn"
        );
    }
    for algorithm in ["random", "peak_ewma"] {
        configure(
            &server,
            &student,
            json!({ "algorithm": algorithm, "seed": 5 }),
        )
        .await;
        let served = shares(&server, &student, 60, 1).await;
        assert_eq!(served.len(), 3, "{algorithm}: {served:?}");
        assert!(served.values().all(|&n| n >= 5), "{algorithm}: {served:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn least_outstanding_and_peak_ewma_steer_away_from_a_slow_replica() {
    let server = TestServer::start().await;
    let student = server.browser();
    let slow_third = |algorithm: &str| {
        json!({
            "algorithm": algorithm,
            "replica": [
                { "service_ms": 5 },
                { "service_ms": 5 },
                { "service_ms": 400, "capacity": 64 },
            ],
        })
    };
    configure(&server, &student, slow_third("round_robin")).await;
    let blind = shares(&server, &student, 36, 6).await;
    assert_eq!(blind[&3], 12, "round robin does not look: {blind:?}");
    for algorithm in ["least_outstanding", "peak_ewma"] {
        configure(&server, &student, slow_third(algorithm)).await;
        let served = shares(&server, &student, 36, 6).await;
        assert!(
            served.get(&3).copied().unwrap_or_default() <= 8,
            "{algorithm} sends less to the slow replica: {served:?}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_per_try_timeout_cuts_a_hanging_replica() {
    let server = TestServer::start().await;
    let student = server.browser();
    configure(
        &server,
        &student,
        json!({ "per_try_timeout_ms": 150, "replica": [{}, { "hang": true }] }),
    )
    .await;
    assert_eq!(through(&server, &student, 1).await, (200, 1));
    let cut = student
        .get(server.url("/labs/gateway/catalog/items/2"))
        .send()
        .await
        .unwrap();
    assert_eq!(cut.status(), 504);
    let tries = server.trace_events(&student, &cut, "gateway.try").await;
    assert!(
        tries[0]["summary"]
            .as_str()
            .unwrap()
            .contains("did not answer within"),
        "{tries:?}"
    );
    let body: Value = cut.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("150 ms"),
        "{body}"
    );
    assert_eq!(through(&server, &student, 3).await, (200, 3));
    server.stop().await;
}

#[tokio::test]
async fn a_killed_replica_refuses_connections_and_comes_back_when_revived() {
    let server = TestServer::start().await;
    let student = server.browser();
    configure(&server, &student, json!({})).await;
    let port = ports(&server, &student).await[1];
    assert!(TcpStream::connect(("127.0.0.1", port)).await.is_ok());

    configure(
        &server,
        &student,
        json!({ "replica": [{}, { "killed": true }] }),
    )
    .await;
    assert_eq!(through(&server, &student, 1).await, (200, 1));
    let (status, replica) = through(&server, &student, 2).await;
    assert_eq!(
        (status, replica),
        (502, 2),
        "the gateway says it could not reach it"
    );
    assert!(
        TcpStream::connect(("127.0.0.1", port)).await.is_err(),
        "a killed replica's port refuses connections"
    );

    configure(&server, &student, json!({})).await;
    let revived = ports(&server, &student).await[1];
    assert!(TcpStream::connect(("127.0.0.1", revived)).await.is_ok());
    let answers: Vec<_> = [
        through(&server, &student, 3).await,
        through(&server, &student, 4).await,
        through(&server, &student, 5).await,
    ]
    .into();
    assert!(answers.contains(&(200, 2)), "{answers:?}");
    server.stop().await;
}

#[tokio::test]
async fn replicas_are_each_students_own_and_answer_only_their_gateway() {
    let server = TestServer::start().await;
    let (ada, bob) = (server.browser(), server.browser());
    let (ada_ports, bob_ports) = (ports(&server, &ada).await, ports(&server, &bob).await);
    assert_eq!(ada_ports.len(), 3);
    assert!(ada_ports.iter().all(|port| !bob_ports.contains(port)));

    // Ada's faults are hers: Bob's replica 1 still answers.
    configure(
        &server,
        &ada,
        json!({ "replica": [{ "error_percent": 100 }] }),
    )
    .await;
    assert_eq!(through(&server, &ada, 1).await, (503, 1));
    assert_eq!(through(&server, &bob, 1).await, (200, 1));

    // Straight to a replica, without the gateway: refused.
    let direct = reqwest::get(format!("http://127.0.0.1:{}/items/1", ada_ports[0]))
        .await
        .unwrap();
    assert_eq!(direct.status(), 403);
    server.stop().await;
}

#[tokio::test]
async fn bad_settings_and_unknown_items_are_refused_with_a_reason() {
    let server = TestServer::start().await;
    let student = server.browser();
    for (settings, named) in [
        (json!({ "replicas": 6 }), "replicas"),
        (json!({ "per_try_timeout_ms": 5 }), "per_try_timeout_ms"),
        (
            json!({ "replica": [{ "capacity": 0 }] }),
            "replica[0].capacity",
        ),
        (
            json!({ "replica": [{}, { "error_percent": 101 }] }),
            "replica[1].error_percent",
        ),
        (json!({ "algorithm": "fastest" }), "algorithm"),
    ] {
        let response = student
            .put(server.url("/labs/gateway/settings"))
            .json(&settings)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{settings}");
        let text = response.text().await.unwrap();
        assert!(text.contains(named), "{settings}: {text}");
    }
    for id in ["0", "1001", "x"] {
        let response = student
            .get(server.url(&format!("/labs/gateway/catalog/items/{id}")))
            .send()
            .await
            .unwrap();
        assert!(
            [400, 404].contains(&response.status().as_u16()),
            "{id}: {}",
            response.status()
        );
    }
    server.stop().await;
}
