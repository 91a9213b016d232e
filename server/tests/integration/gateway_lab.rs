//! The gateway lab over real loopback TCP: the gateway on a server on port
//! 0, in front of the student's replicas, each a real listener of its own.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use tokio::net::TcpStream;

use crate::common::gateway::{configure, read_until, start_load, view_load_until};
use crate::common::TestServer;

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
        (json!({ "retries": 4 }), "retries"),
        (json!({ "breaker_open_ms": 50 }), "breaker_open_ms"),
        (json!({ "shed_above": 300 }), "shed_above"),
        (json!({ "hedge_after_ms": 5 }), "hedge_after_ms"),
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

/// Sends `requests` requests; the tries the gateway made for each.
async fn attempts(server: &TestServer, student: &reqwest::Client, requests: u32) -> Vec<u32> {
    let mut tries = Vec::new();
    for id in 1..=requests {
        let response = student
            .get(server.url(&format!("/labs/gateway/catalog/items/{id}")))
            .send()
            .await
            .unwrap();
        tries.push(
            response.headers()["x-attempts"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap(),
        );
    }
    tries
}

#[tokio::test]
async fn a_failed_try_goes_to_another_replica_and_the_budget_caps_retries() {
    let server = TestServer::start().await;
    let student = server.browser();
    configure(
        &server,
        &student,
        json!({ "retries": 1, "replica": [{ "error_percent": 100 }] }),
    )
    .await;
    let response = student
        .get(server.url("/labs/gateway/catalog/items/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "replica 1 failed, replica 2 answered"
    );
    assert_eq!(response.headers()["x-attempts"], "2");
    assert_eq!(response.headers()["x-replica"], "2");
    let decided = server
        .trace_events(&student, &response, "gateway.retry")
        .await;
    assert!(
        decided[0]["summary"]
            .as_str()
            .unwrap()
            .contains("tried again"),
        "{decided:?}"
    );

    // Every replica failing, three retries each: without a budget every
    // request makes four tries; a budget of 0 % leaves the floor of five
    // retries for the window (the lab's clock stands still here).
    let all_failing = json!([
        { "error_percent": 100 },
        { "error_percent": 100 },
        { "error_percent": 100 },
    ]);
    configure(
        &server,
        &student,
        json!({ "retries": 3, "retry_budget": false, "replica": all_failing }),
    )
    .await;
    assert_eq!(attempts(&server, &student, 10).await, vec![4; 10]);
    configure(
        &server,
        &student,
        json!({ "retries": 3, "retry_budget_percent": 0, "replica": all_failing }),
    )
    .await;
    let tries = attempts(&server, &student, 10).await;
    assert_eq!(tries.iter().sum::<u32>(), 10 + 5, "{tries:?}");
    assert_eq!(tries[9], 1, "the budget is spent");
    // The window moves on with the clock, and retries are allowed again.
    server.clock.advance(10);
    assert_eq!(attempts(&server, &student, 1).await, vec![4]);
    server.stop().await;
}

#[tokio::test]
async fn a_breaker_opens_after_failures_in_a_row_lets_one_trial_through_and_closes() {
    let server = TestServer::start().await;
    let student = server.browser();
    let settings = |error_percent: u8| {
        json!({
            "replicas": 1,
            "breaker_failures": 3,
            "breaker_open_ms": 1000,
            "replica": [{ "error_percent": error_percent }],
        })
    };
    configure(&server, &student, settings(100)).await;
    let get = || async {
        let response = student
            .get(server.url("/labs/gateway/catalog/items/7"))
            .send()
            .await
            .unwrap();
        let from_replica = response.headers().contains_key("x-replica");
        (response.status().as_u16(), from_replica)
    };
    for _ in 0..3 {
        assert_eq!(get().await, (503, true), "the replica's own 503");
    }
    assert_eq!(
        get().await,
        (503, false),
        "the breaker is open: nothing sent"
    );
    let view = server.json(&student, "/labs/gateway/replicas").await;
    assert_eq!(view["replicas"][0]["breaker"], "open", "{view}");
    assert_eq!(view["replicas"][0]["answered"], 3, "{view}");

    server.clock.advance_ms(1000);
    assert_eq!(get().await, (503, true), "one trial, and it failed");
    assert_eq!(get().await, (503, false), "open again");

    configure(&server, &student, settings(0)).await;
    server.clock.advance_ms(1000);
    assert_eq!(get().await, (200, true), "the trial succeeded");
    assert_eq!(get().await, (200, true), "closed");
    let view = server.json(&student, "/labs/gateway/replicas").await;
    assert_eq!(view["replicas"][0]["breaker"], "closed", "{view}");
    server.stop().await;
}

#[tokio::test]
async fn when_every_replica_is_full_the_gateway_sheds_at_once_with_retry_after() {
    let server = TestServer::start().await;
    let student = server.browser();
    configure(
        &server,
        &student,
        json!({
            "replicas": 2,
            "shed_above": 2,
            "replica": [
                { "service_ms": 400, "capacity": 64 },
                { "service_ms": 400, "capacity": 64 },
            ],
        }),
    )
    .await;
    let answers = futures_util::future::join_all((1..=6).map(|id| {
        let request = student.get(server.url(&format!("/labs/gateway/catalog/items/{id}")));
        async move {
            let response = request.send().await.unwrap();
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            (response.status().as_u16(), retry_after)
        }
    }))
    .await;
    let served = answers.iter().filter(|(status, _)| *status == 200).count();
    let shed: Vec<_> = answers
        .iter()
        .filter(|(status, _)| *status == 503)
        .collect();
    assert_eq!((served, shed.len()), (4, 2), "{answers:?}");
    assert!(shed.iter().all(|(_, retry)| retry.as_deref() == Some("1")));
    assert_eq!(through(&server, &student, 7).await.0, 200, "room again");
    server.stop().await;
}

/// The replicas' view once `done` holds for it.
async fn view_until(
    server: &TestServer,
    student: &reqwest::Client,
    done: impl Fn(&Value) -> bool,
) -> Value {
    read_until(server, student, "/labs/gateway/replicas", done).await
}

#[tokio::test]
async fn health_checks_eject_a_dead_replica_and_return_it_once_it_passes_again() {
    let server = TestServer::start().await;
    let student = server.browser();
    let settings = |killed: bool| {
        json!({
            "health_checks": true,
            "health_every_ms": 1000,
            "eject_after": 2,
            "return_after": 2,
            "replica": [{}, { "killed": killed }, { "error_percent": 100 }],
        })
    };
    configure(&server, &student, settings(true)).await;
    let health =
        |view: &Value, n: usize| view["replicas"][n]["health"].as_str().unwrap().to_string();
    // A round starts when a request finds it due (every second on the
    // lab's clock) and finishes in the background: wait for each.
    let round = |n: u64| view_until(&server, &student, move |v| v["health_rounds"] == n);
    round(1).await;
    server.clock.advance_ms(1000);
    let view = round(2).await;
    assert_eq!(health(&view, 1), "ejected", "two failed checks: {view}");
    assert_eq!(health(&view, 0), "healthy");
    assert_eq!(
        health(&view, 2),
        "healthy",
        "a shallow check passes a replica that fails real requests"
    );
    let mut served = Vec::new();
    for id in 1..=6 {
        served.push(through(&server, &student, id).await.1);
    }
    assert!(!served.contains(&2), "out of the rotation: {served:?}");

    configure(&server, &student, settings(false)).await;
    server.clock.advance_ms(1000);
    let view = round(3).await;
    assert_eq!(health(&view, 1), "ejected", "one pass is not enough");
    server.clock.advance_ms(1000);
    let view = round(4).await;
    assert_eq!(health(&view, 1), "healthy", "two passes bring it back");
    let mut served = Vec::new();
    for id in 1..=3 {
        served.push(through(&server, &student, id).await.1);
    }
    assert!(served.contains(&2), "back in the rotation: {served:?}");
    server.stop().await;
}

#[tokio::test]
async fn the_load_generator_runs_open_loop_and_a_killed_replica_s_share_falls_to_zero() {
    let server = TestServer::start().await;
    let student = server.browser();
    let settings = |killed: bool| {
        json!({
            "retries": 1,
            "retry_budget": false,
            "replica": [{ "service_ms": 5 }, { "service_ms": 5 }, { "service_ms": 5, "killed": killed }],
        })
    };
    configure(&server, &student, settings(false)).await;
    let started = start_load(
        &server,
        &student,
        json!({ "rate_per_sec": 40, "seconds": 4 }),
    )
    .await;
    assert_eq!(started.status(), 202);
    assert_eq!(started.headers()["location"], "/labs/gateway/load");
    let again = start_load(
        &server,
        &student,
        json!({ "rate_per_sec": 1, "seconds": 1 }),
    )
    .await;
    assert_eq!(again.status(), 409, "one run at a time");

    // About a second into the run, replica 3 is killed.
    let before = view_load_until(&server, &student, |run| {
        run["elapsed_ms"].as_u64().unwrap() >= 1000
    })
    .await;
    configure(&server, &student, settings(true)).await;
    let killed_in = (before["elapsed_ms"].as_u64().unwrap() + 200) / 1000;
    let run = view_load_until(&server, &student, |run| run["running"] == false).await;
    assert_eq!(run["sent"], 160, "{run}");
    assert_eq!(run["succeeded"], 160, "retries on another replica: {run}");
    let seconds = run["per_second"].as_array().unwrap();
    assert!(seconds[0]["per_replica"][2].as_u64().unwrap() > 0, "{run}");
    let after: Vec<_> = seconds.iter().skip(killed_in as usize + 1).collect();
    assert!(!after.is_empty(), "a whole second after the kill: {run}");
    assert!(
        after.iter().all(|second| second["per_replica"][2] == 0),
        "no answer from the killed one after second {killed_in}: {run}"
    );
    assert!(run["attempts_per_request"].as_f64().unwrap() > 1.0, "{run}");
    assert!(run["p99_ms"].as_u64().unwrap() >= run["p50_ms"].as_u64().unwrap());
    server.stop().await;
}

#[tokio::test]
async fn a_load_run_is_bounded_and_each_students_own() {
    let server = TestServer::start().await;
    let (ada, bob) = (server.browser(), server.browser());
    for (body, named) in [
        (json!({ "rate_per_sec": 201, "seconds": 1 }), "rate_per_sec"),
        (json!({ "rate_per_sec": 10, "seconds": 61 }), "seconds"),
        (json!({ "rate_per_sec": 0, "seconds": 1 }), "rate_per_sec"),
    ] {
        let refused = start_load(&server, &ada, body).await;
        assert_eq!(refused.status(), 422);
        assert!(refused.text().await.unwrap().contains(named));
    }
    let none = bob
        .get(server.url("/labs/gateway/load"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 404);
    assert_eq!(
        start_load(&server, &ada, json!({ "rate_per_sec": 20, "seconds": 60 }))
            .await
            .status(),
        202
    );
    // Ada's minute-long run does not hold Bob back, and he sees only his.
    assert_eq!(
        start_load(&server, &bob, json!({ "rate_per_sec": 10, "seconds": 1 }))
            .await
            .status(),
        202
    );
    let bobs = view_load_until(&server, &bob, |run| run["running"] == false).await;
    assert_eq!(bobs["sent"], 10, "{bobs}");
    let stopped = ada
        .delete(server.url("/labs/gateway/load"))
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.status(), 204);
    let adas = view_load_until(&server, &ada, |run| run["running"] == false).await;
    assert!(
        adas["sent"].as_u64().unwrap() < 1200,
        "stopped early: {adas}"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_lessons_http_exercises_pass_on_the_failures_they_ask_for() {
    let server = TestServer::start().await;
    let student = server.browser();
    let score = |outcome: Value| (outcome["score"].as_u64(), outcome["max"].as_u64());
    let dead = "gateway-hit-a-dead-replica";
    let saved = "gateway-retry-elsewhere";
    through(&server, &student, 1).await;
    let (score_now, max) = score(crate::common::graded_outcome(&server, &student, dead).await);
    assert!(score_now < max, "a healthy gateway reached every replica");

    configure(
        &server,
        &student,
        json!({ "replica": [{}, { "killed": true }, {}] }),
    )
    .await;
    for id in 1..=3 {
        through(&server, &student, id).await;
    }
    let (score_now, max) = score(crate::common::graded_outcome(&server, &student, dead).await);
    assert_eq!(score_now, max);

    configure(
        &server,
        &student,
        json!({ "retries": 1, "replica": [{ "error_percent": 100 }, {}, {}] }),
    )
    .await;
    for id in 1..=3 {
        through(&server, &student, id).await;
    }
    let (score_now, max) = score(crate::common::graded_outcome(&server, &student, saved).await);
    assert_eq!(score_now, max);

    let scaled = "architecture-add-a-replica";
    let (score_now, max) = score(crate::common::graded_outcome(&server, &student, scaled).await);
    assert!(score_now < max, "three replicas never reach a fifth");
    configure(&server, &student, json!({ "replicas": 5 })).await;
    for id in 1..=5 {
        through(&server, &student, id).await;
    }
    let (score_now, max) = score(crate::common::graded_outcome(&server, &student, scaled).await);
    assert_eq!(score_now, max);
    server.stop().await;
}

#[tokio::test]
async fn a_slow_try_is_hedged_on_another_replica_within_the_retry_budget() {
    let server = TestServer::start().await;
    let student = server.browser();
    configure(
        &server,
        &student,
        json!({
            "replicas": 2,
            "hedge_after_ms": 50,
            "retry_budget_percent": 0,
            "replica": [{ "service_ms": 600 }, { "service_ms": 5 }],
        }),
    )
    .await;
    let send = || async {
        let response = student
            .get(server.url("/labs/gateway/catalog/items/3"))
            .send()
            .await
            .unwrap();
        let header = |name: &str| response.headers()[name].to_str().unwrap().to_string();
        let seen = (
            response.status().as_u16(),
            header("x-replica"),
            header("x-attempts"),
        );
        (seen, response)
    };
    let (seen, response) = send().await;
    assert_eq!(
        seen,
        (200, "2".into(), "2".into()),
        "replica 1 was slow, the hedge answered"
    );
    let hedged = server
        .trace_events(&student, &response, "gateway.hedge")
        .await;
    assert_eq!(hedged.len(), 1);
    let tries = server
        .trace_events(&student, &response, "gateway.try")
        .await;
    assert!(
        tries
            .iter()
            .any(|t| t["summary"].as_str().unwrap().contains("abandoned")),
        "{tries:?}"
    );
    // Round robin sends every other request to slow replica 1 (a hedge
    // takes no turn). The budget's floor pays for five hedges in the
    // window: four more here; then the slow try is waited for.
    let mut answers = Vec::new();
    for _ in 0..10 {
        answers.push(send().await.0);
    }
    let hedges = answers.iter().filter(|(_, _, tries)| tries == "2").count();
    assert_eq!(hedges, 4, "{answers:?}");
    assert_eq!(
        answers[9],
        (200, "1".into(), "1".into()),
        "the budget is spent: {answers:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn fewer_replicas_set_while_a_try_is_out_do_not_break_its_answer() {
    let server = TestServer::start().await;
    let student = server.browser();
    configure(
        &server,
        &student,
        json!({
            "replicas": 5,
            "per_try_timeout_ms": 300,
            "replica": [{}, {}, {}, {}, { "hang": true }],
        }),
    )
    .await;
    for id in 1..=4 {
        assert_eq!(through(&server, &student, id).await, (200, id as u8));
    }
    // The fifth goes to hanging replica 5; meanwhile the student keeps two.
    let out = tokio::spawn({
        let (student, url) = (student.clone(), server.url("/labs/gateway/catalog/items/5"));
        async move { student.get(url).send().await.unwrap().status().as_u16() }
    });
    view_until(&server, &student, |view| {
        view["replicas"][4]["in_flight"] == 1
    })
    .await;
    configure(
        &server,
        &student,
        json!({ "replicas": 2, "per_try_timeout_ms": 300 }),
    )
    .await;
    server.json(&student, "/labs/gateway/replicas").await;
    assert_eq!(
        out.await.unwrap(),
        504,
        "the gateway's own timeout, not a 500"
    );
    assert_eq!(through(&server, &student, 6).await.0, 200);
    server.stop().await;
}

#[tokio::test]
async fn the_brownout_exercise_passes_budgeted_latency_aware_settings_only() {
    let server = TestServer::start().await;
    let student = server.browser();
    let grade = |student: reqwest::Client| {
        let server = &server;
        async move {
            let outcome = crate::common::graded_outcome(server, &student, "gateway-brownout").await;
            (outcome["score"].as_u64(), outcome["max"].as_u64())
        }
    };
    let (score, max) = grade(student.clone()).await;
    assert!(score < max, "the defaults (no retries) fail");
    configure(
        &server,
        &student,
        json!({ "retries": 3, "retry_budget": false, "per_try_timeout_ms": 200 }),
    )
    .await;
    let (score, max) = grade(student.clone()).await;
    assert!(score < max, "retrying everything fails");
    configure(
        &server,
        &student,
        json!({
            "algorithm": "peak_ewma", "retries": 2, "retry_budget_percent": 20,
            "per_try_timeout_ms": 200,
        }),
    )
    .await;
    let (score, max) = grade(student.clone()).await;
    assert_eq!(score, max);
    let bad: Value = student
        .post(server.url("/labs/gateway/replay"))
        .json(&json!({ "rate_per_sec": 10, "seconds": 5, "brownout_at_s": 5 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        bad["message"].as_str().unwrap().contains("brownout_at_s"),
        "{bad}"
    );
    server.stop().await;
}
