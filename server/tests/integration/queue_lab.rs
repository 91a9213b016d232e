//! The queue lab over real HTTP against a server on port 0: jobs through
//! the in-process broker and through a real RabbitMQ and NATS JetStream
//! (each skipped, saying so, when none answers on its standard port),
//! workers killed mid-job, retries,
//! the dead-letter queue, duplicates, and a broker outage through a proxy
//! the test owns.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::net::TcpStream;

use crate::common::{repo_root, ServiceProxy, TestServer};
use crate::realtime_lab::PATIENCE;

const RABBITMQ: &str = "127.0.0.1:5672";
const NATS: &str = "127.0.0.1:4222";

async fn configure(server: &TestServer, student: &reqwest::Client, settings: Value) {
    let response = student
        .put(server.url("/labs/queue/settings"))
        .json(&settings)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

async fn enqueue(server: &TestServer, student: &reqwest::Client, body: Value) -> Value {
    let response = student
        .post(server.url("/labs/queue/jobs"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    assert_eq!(response.headers()["location"], "/labs/queue/status");
    response.json().await.unwrap()
}

async fn status(server: &TestServer, student: &reqwest::Client) -> Value {
    server.json(student, "/labs/queue/status").await
}

/// Polls the status until `done` holds of it; fails after [`PATIENCE`].
async fn until(
    server: &TestServer,
    student: &reqwest::Client,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let waited = tokio::time::timeout(PATIENCE, async {
        loop {
            let now = status(server, student).await;
            if done(&now) {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    match waited {
        Ok(now) => now,
        Err(_) => panic!(
            "{what}: never happened; last status {}",
            status(server, student).await
        ),
    }
}

fn count(status: &Value, name: &str) -> u64 {
    status["counts"][name].as_u64().unwrap()
}

/// The one worker holding a job: its number.
fn holder(status: &Value) -> u64 {
    status["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|worker| !worker["job"].is_null())
        .map(|worker| worker["id"].as_u64().unwrap())
        .expect("a worker holds a job")
}

async fn kill(server: &TestServer, student: &reqwest::Client, worker: u64, at: &str) -> Value {
    let response = student
        .post(server.url(&format!("/labs/queue/workers/{worker}/kill?at={at}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

/// Every behaviour a broker must show, against the broker in `base`.
async fn broker_keeps_its_promises(server: &TestServer, student: &reqwest::Client, base: Value) {
    let with = |extra: Value| {
        let mut settings = base.clone();
        settings
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        settings
    };

    // Competing consumers: two workers share the jobs, each sent once.
    configure(
        server,
        student,
        with(json!({ "workers": 2, "work_ms": 60 })),
    )
    .await;
    let queued = enqueue(server, student, json!({ "count": 6 })).await;
    assert_eq!(queued["ids"].as_array().unwrap().len(), 6);
    let now = until(server, student, "six jobs done", |s| count(s, "done") == 6).await;
    assert_eq!(count(&now, "emails_sent"), 6);
    assert_eq!(count(&now, "duplicate_emails"), 0);
    let busy = now["workers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["done"].as_u64().unwrap() > 0)
        .count();
    assert_eq!(busy, 2, "both workers took jobs: {now}");

    // At least once: a worker killed mid-job leaves its job to another.
    clear(server, student).await;
    configure(
        server,
        student,
        with(json!({ "workers": 1, "work_ms": 10000 })),
    )
    .await;
    enqueue(server, student, json!({ "count": 1 })).await;
    let holding = until(server, student, "a worker holds the job", |s| {
        count(s, "in_flight") == 1
    })
    .await;
    configure(server, student, with(json!({ "workers": 1, "work_ms": 0 }))).await;
    let victim = holder(&holding);
    kill(server, student, victim, "now").await;
    // JetStream hands the job on only after its ack wait (4 s) passes
    // without a "still working" signal.
    let now = until(server, student, "the killed worker's job done", |s| {
        count(s, "done") == 1
    })
    .await;
    // RabbitMQ also marks redelivered a message it had handed to a
    // worker that retired before taking it: at least the kill's.
    assert!(count(&now, "redelivered") >= 1, "{now}");
    assert_eq!(count(&now, "lost"), 0);
    assert_eq!(count(&now, "emails_sent"), 1);
    assert!(now["jobs"][0]["redeliveries"].as_u64().unwrap() >= 1);
    let ids: Vec<u64> = now["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_u64().unwrap())
        .collect();
    assert!(
        !ids.contains(&victim),
        "a new worker replaced the killed one: {ids:?}"
    );

    // A kill just after the e-mail went out sends it twice...
    clear(server, student).await;
    let worker = status(server, student).await["workers"][0]["id"]
        .as_u64()
        .unwrap();
    assert_eq!(
        kill(server, student, worker, "after-send").await["kill_armed"],
        true
    );
    enqueue(server, student, json!({ "count": 1 })).await;
    let now = until(server, student, "the job done after the kill", |s| {
        count(s, "done") == 1
    })
    .await;
    assert_eq!(
        (count(&now, "emails_sent"), count(&now, "duplicate_emails")),
        (2, 1),
        "{now}"
    );
    assert_eq!(now["outbox"][0]["copy"], 2);

    // ...and once with an idempotent worker, also under published duplicates.
    clear(server, student).await;
    configure(
        server,
        student,
        with(json!({ "workers": 1, "work_ms": 0, "idempotent": true })),
    )
    .await;
    let worker = status(server, student).await["workers"][0]["id"]
        .as_u64()
        .unwrap();
    kill(server, student, worker, "after-send").await;
    enqueue(server, student, json!({ "count": 2, "copies": 3 })).await;
    let now = until(server, student, "every copy handled", |s| {
        count(s, "done") == 6 && count(s, "duplicates_skipped") == 5
    })
    .await;
    assert_eq!(
        (count(&now, "emails_sent"), count(&now, "duplicate_emails")),
        (2, 0),
        "{now}"
    );

    // At most once: acknowledged before the work, a killed worker's job is gone.
    clear(server, student).await;
    configure(
        server,
        student,
        with(json!({ "workers": 1, "work_ms": 10000, "ack": "before-work" })),
    )
    .await;
    enqueue(server, student, json!({ "count": 1 })).await;
    let holding = until(server, student, "a worker holds the job", |s| {
        count(s, "in_flight") == 1
    })
    .await;
    kill(server, student, holder(&holding), "now").await;
    let now = until(server, student, "the job lost", |s| count(s, "lost") == 1).await;
    assert_eq!(
        (
            count(&now, "done"),
            count(&now, "waiting"),
            count(&now, "emails_sent")
        ),
        (0, 0, 0)
    );
    assert_eq!(now["jobs"][0]["state"], "lost");

    // Retries, then the dead-letter queue, then a replay that succeeds.
    clear(server, student).await;
    configure(
        server,
        student,
        with(json!({ "workers": 1, "work_ms": 0, "max_attempts": 3, "retry_backoff_ms": 10 })),
    )
    .await;
    enqueue(
        server,
        student,
        json!({ "count": 1, "failures": 4, "to": "bo@example.com" }),
    )
    .await;
    let now = until(server, student, "the job dead-lettered", |s| {
        count(s, "dead") == 1
    })
    .await;
    assert_eq!(
        count(&now, "retried"),
        2,
        "attempts 1 and 2 were retried: {now}"
    );
    assert_eq!(now["jobs"][0]["attempts"], 3);
    let dead = server.json(student, "/labs/queue/dead").await;
    assert_eq!(dead.as_array().unwrap().len(), 1, "{dead}");
    assert_eq!(dead[0]["attempts"], 3);
    assert_eq!(dead[0]["to"], "bo@example.com");
    assert!(dead[0]["error"].as_str().unwrap().contains("451"), "{dead}");
    let again = server.json(student, "/labs/queue/dead").await;
    assert_eq!(again, dead, "reading the dead letters leaves them there");
    let response = student
        .post(server.url("/labs/queue/dead/replay"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["replayed"], 1);
    let now = until(server, student, "the replayed job done", |s| {
        count(s, "done") == 1
    })
    .await;
    assert_eq!(
        (count(&now, "dead"), count(&now, "emails_sent")),
        (0, 1),
        "{now}"
    );
    assert!(server
        .json(student, "/labs/queue/dead")
        .await
        .as_array()
        .unwrap()
        .is_empty());
    clear(server, student).await;
}

/// Empties the student's queues and zeroes the counts.
async fn clear(server: &TestServer, student: &reqwest::Client) {
    let response = student
        .delete(server.url("/labs/queue/jobs"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204, "{}", response.text().await.unwrap());
}

#[tokio::test]
async fn the_in_process_broker_redelivers_retries_dead_letters_and_deduplicates() {
    let server = TestServer::start().await;
    let student = server.browser();
    broker_keeps_its_promises(&server, &student, json!({ "broker": "in-process" })).await;
}

#[tokio::test]
async fn students_have_their_own_queues_and_bad_requests_are_refused_with_reasons() {
    let server = TestServer::start().await;
    let ana = server.browser();
    let bob = server.browser();
    configure(&server, &ana, json!({ "workers": 0 })).await;
    enqueue(&server, &ana, json!({ "count": 3 })).await;
    assert_eq!(count(&status(&server, &ana).await, "waiting"), 3);
    let theirs = status(&server, &bob).await;
    assert_eq!(count(&theirs, "waiting"), 0, "Bob sees none of Ana's jobs");
    assert!(theirs["jobs"].as_array().unwrap().is_empty());

    for (body, field) in [
        (json!({ "count": 0 }), "count"),
        (json!({ "count": 51 }), "count"),
        (json!({ "copies": 4 }), "copies"),
        (json!({ "failures": 11 }), "failures"),
        (json!({ "to": "nobody" }), "to"),
    ] {
        let response = ana
            .post(server.url("/labs/queue/jobs"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{body}");
        assert!(response.text().await.unwrap().contains(field), "{body}");
    }
    let response = ana
        .put(server.url("/labs/queue/settings"))
        .json(&json!({ "workers": 9 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let response = ana
        .post(server.url("/labs/queue/workers/77/kill"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("none is running"));
    for _ in 0..9 {
        let response = ana
            .post(server.url("/labs/queue/workers/77/kill"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
    }
    let response = ana
        .post(server.url("/labs/queue/workers/77/kill"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429, "kills in a loop are refused");

    // A full queue refuses more, saying how many wait.
    for _ in 0..9 {
        enqueue(&server, &ana, json!({ "count": 50, "copies": 1 })).await;
    }
    let response = ana
        .post(server.url("/labs/queue/jobs"))
        .json(&json!({ "count": 48 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("453 messages waiting"));

    // RabbitMQ on a server that has none: the lab says so, never 500.
    configure(&server, &bob, json!({ "broker": "rabbitmq" })).await;
    let now = status(&server, &bob).await;
    assert!(
        now["broker_error"]
            .as_str()
            .unwrap()
            .contains("no RabbitMQ"),
        "{now}"
    );
    let response = bob
        .post(server.url("/labs/queue/jobs"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.text().await.unwrap().contains("amqp"));
}

/// Whether a real broker answers at `address`; says so when none does.
async fn answers(name: &str, address: &str) -> bool {
    if TcpStream::connect(address).await.is_ok() {
        return true;
    }
    eprintln!("SKIPPED: no {name} answers on {address}; this test needs a real {name}");
    false
}

#[tokio::test]
async fn rabbitmq_redelivers_retries_dead_letters_and_deduplicates() {
    if !answers("RabbitMQ", RABBITMQ).await {
        return;
    }
    let server = TestServer::start_configured(repo_root(), |config| {
        config.services = vec![("amqp".into(), format!("amqp://{RABBITMQ}/%2f"))];
    })
    .await;
    let student = server.browser();
    broker_keeps_its_promises(&server, &student, json!({ "broker": "rabbitmq" })).await;
}

#[tokio::test]
async fn nats_jetstream_redelivers_retries_dead_letters_and_deduplicates() {
    if !answers("NATS", NATS).await {
        return;
    }
    let server = TestServer::start_configured(repo_root(), |config| {
        config.services = vec![("nats".into(), format!("nats://{NATS}"))];
    })
    .await;
    let student = server.browser();
    broker_keeps_its_promises(&server, &student, json!({ "broker": "nats" })).await;
}

#[tokio::test]
async fn a_rabbitmq_outage_loses_no_confirmed_job_and_the_lab_recovers_by_itself() {
    if !answers("RabbitMQ", RABBITMQ).await {
        return;
    }
    an_outage_loses_no_confirmed_job(Outage {
        broker: "rabbitmq",
        named: "RabbitMQ",
        service: "amqp",
        upstream: RABBITMQ,
        url: |port| format!("amqp://127.0.0.1:{port}/%2f"),
    })
    .await;
}

#[tokio::test]
async fn a_nats_outage_loses_no_confirmed_job_and_the_lab_recovers_by_itself() {
    if !answers("NATS", NATS).await {
        return;
    }
    an_outage_loses_no_confirmed_job(Outage {
        broker: "nats",
        named: "NATS",
        service: "nats",
        upstream: NATS,
        url: |port| format!("nats://127.0.0.1:{port}"),
    })
    .await;
}

/// A broker to cut off: how the lab names it, the service it is, where
/// it really listens and its URL through a proxy on `port`.
struct Outage {
    broker: &'static str,
    named: &'static str,
    service: &'static str,
    upstream: &'static str,
    url: fn(u16) -> String,
}

/// The broker goes away mid-job and comes back on the same address: the
/// lab says so, refuses new jobs with a 503, and finishes every job it
/// had confirmed once the broker is back, without a restart.
async fn an_outage_loses_no_confirmed_job(outage: Outage) {
    let proxy = ServiceProxy::start(0, outage.upstream).await;
    let url = (outage.url)(proxy.port);
    let server = TestServer::start_configured(repo_root(), |config| {
        config.services = vec![(outage.service.into(), url)];
    })
    .await;
    let student = server.browser();
    configure(
        &server,
        &student,
        json!({ "broker": outage.broker, "workers": 1, "work_ms": 3000 }),
    )
    .await;
    clear(&server, &student).await;
    enqueue(&server, &student, json!({ "count": 3 })).await;
    until(&server, &student, "a worker holds a job", |s| {
        count(s, "in_flight") == 1
    })
    .await;

    let port = proxy.cut();
    let now = until(&server, &student, "the lab notices", |s| {
        !s["broker_error"].is_null()
    })
    .await;
    assert!(
        now["broker_error"].as_str().unwrap().contains(outage.named),
        "{now}"
    );
    let response = student
        .post(server.url("/labs/queue/jobs"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503, "refused while down, never a 500");
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("0 of 1 messages were confirmed"));
    let response = student
        .get(server.url("/labs/queue/dead"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);

    // Back on the same address: the workers reconnect and finish all three.
    let _proxy = ServiceProxy::start(port, outage.upstream).await;
    configure(
        &server,
        &student,
        json!({ "broker": outage.broker, "workers": 1, "work_ms": 0 }),
    )
    .await;
    // An acknowledgement sent into the cut connection is lost, so a job
    // may be done twice: at least once, never lost.
    let now = until(&server, &student, "all three done", |s| {
        let jobs = s["jobs"].as_array().unwrap();
        jobs.len() == 3
            && jobs.iter().all(|job| job["state"] == "done")
            && count(s, "in_flight") == 0
    })
    .await;
    assert!(now["broker_error"].is_null(), "{now}");
    assert_eq!(count(&now, "lost"), 0);
    // The job held during the outage may have sent its e-mail before its
    // acknowledgement failed: at least once, so every job has one.
    assert_eq!(
        count(&now, "emails_sent") - count(&now, "duplicate_emails"),
        3,
        "{now}"
    );
    clear(&server, &student).await;
}

/// Grades `exercise` from the student's stored lab settings: (score, max, body).
async fn grade(
    server: &TestServer,
    student: &reqwest::Client,
    exercise: &str,
) -> (u64, u64, Value) {
    let outcome = crate::common::graded_outcome(server, student, exercise).await;
    (
        outcome["score"].as_u64().unwrap(),
        outcome["max"].as_u64().unwrap(),
        outcome,
    )
}

#[tokio::test]
async fn the_exactly_once_exercise_replays_the_students_own_settings() {
    let server = TestServer::start().await;
    let student = server.browser();
    let (score, max, outcome) = grade(&server, &student, "queue-exactly-once").await;
    assert!(score < max, "the defaults send duplicates: {outcome}");
    assert!(
        outcome.to_string().contains("sent more than once"),
        "{outcome}"
    );

    configure(
        &server,
        &student,
        json!({ "ack": "before-work", "idempotent": true }),
    )
    .await;
    let (score, max, outcome) = grade(&server, &student, "queue-exactly-once").await;
    assert!(score < max);
    assert!(
        outcome.to_string().contains("lost by crashed workers"),
        "{outcome}"
    );

    configure(
        &server,
        &student,
        json!({ "ack": "after-work", "idempotent": true }),
    )
    .await;
    let (score, max, outcome) = grade(&server, &student, "queue-exactly-once").await;
    assert_eq!(score, max, "{outcome}");
}

/// Starts a map-reduce run of `splits` tasks: the answer's status and body.
async fn start_mapreduce(
    server: &TestServer,
    student: &reqwest::Client,
    splits: u32,
) -> (u16, Value) {
    let response = student
        .post(server.url("/labs/queue/mapreduce"))
        .json(&json!({ "splits": splits }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn sql(server: &TestServer, student: &reqwest::Client, statement: &str) {
    let response = student
        .post(server.url("/labs/sql/query"))
        .json(&json!({ "sql": statement }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

fn reduced_total(run: &Value) -> i64 {
    run["reduced"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["revenue_cents"].as_i64().unwrap())
        .sum()
}

#[tokio::test]
async fn map_reduce_over_the_students_orders_matches_sql_even_when_a_worker_dies() {
    let server = TestServer::start().await;
    let student = server.browser();
    let response = student
        .get(server.url("/labs/queue/mapreduce"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404, "no run yet");
    for splits in [0, 13] {
        let (status, body) = start_mapreduce(&server, &student, splits).await;
        assert_eq!(status, 422, "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("splits"),
            "{body}"
        );
    }

    // The student's own data: a country of their making shows in both answers.
    sql(
        &server,
        &student,
        "UPDATE customers SET country = 'Atlantis' WHERE id = (SELECT customer_id FROM orders WHERE status <> 'cancelled' LIMIT 1)",
    )
    .await;
    configure(&server, &student, json!({ "workers": 2, "work_ms": 600 })).await;
    let (status, started) = start_mapreduce(&server, &student, 4).await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["splits"].as_array().unwrap().len(), 4);
    assert!(started["reduced"].is_null());
    assert!(started["sql"]
        .as_str()
        .unwrap()
        .contains("GROUP BY c.country"));

    // A worker dies holding a map task; the task is delivered again.
    let holding = until(&server, &student, "a worker maps", |s| {
        count(s, "in_flight") >= 1
    })
    .await;
    kill(&server, &student, holder(&holding), "now").await;
    let now = until(&server, &student, "the run reduced", |s| {
        !s["mapreduce"]["reduced"].is_null()
    })
    .await;
    let run = &now["mapreduce"];
    assert_eq!(run["matches"], true, "{run}");
    assert_eq!(run["reduced"], run["sql_answer"]);
    assert!(run["reduced"]
        .as_array()
        .unwrap()
        .iter()
        .any(|row| row["country"] == "Atlantis"));
    assert!(reduced_total(run) > 0);
    let splits = run["splits"].as_array().unwrap();
    assert!(
        splits.iter().all(|split| split["state"] == "mapped"),
        "{run}"
    );
    assert!(
        splits
            .iter()
            .any(|split| split["deliveries"].as_u64().unwrap() >= 2),
        "the killed worker's task was mapped again: {run}"
    );
    // The ranges cover the order ids without a gap.
    for pair in splits.windows(2) {
        assert_eq!(
            pair[0]["last_order"].as_i64().unwrap() + 1,
            pair[1]["first_order"].as_i64().unwrap()
        );
    }

    // At most once: a task acknowledged before the work dies with its
    // worker, and the run can never reduce.
    configure(
        &server,
        &student,
        json!({ "workers": 1, "work_ms": 10000, "ack": "before-work" }),
    )
    .await;
    let (status, _) = start_mapreduce(&server, &student, 2).await;
    assert_eq!(status, 202);
    let holding = until(&server, &student, "a worker maps", |s| {
        s["mapreduce"]["splits"][0]["state"] == "mapping"
    })
    .await;
    kill(&server, &student, holder(&holding), "now").await;
    let now = until(&server, &student, "the task lost", |s| {
        s["mapreduce"]["splits"][0]["state"] == "lost"
    })
    .await;
    assert!(now["mapreduce"]["reduced"].is_null());
    assert_eq!(now["mapreduce"]["run"], 2);

    // Order ids at both ends of what SQLite holds still split into ranges.
    clear(&server, &student).await;
    sql(
        &server,
        &student,
        "INSERT INTO orders (id, customer_id, placed_at, status) VALUES (-9223372036854775808, 1, '2026-01-01', 'placed'), (9223372036854775807, 1, '2026-01-02', 'placed')",
    )
    .await;
    let (status, body) = start_mapreduce(&server, &student, 12).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["splits"].as_array().unwrap().len(), 12, "{body}");
    assert_eq!(body["splits"][0]["first_order"], i64::MIN);
    assert_eq!(body["splits"][11]["last_order"], i64::MAX);

    // A sandbox whose orders cannot be read is refused with what to do.
    clear(&server, &student).await;
    sql(&server, &student, "DROP TABLE order_items").await;
    let (status, body) = start_mapreduce(&server, &student, 2).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("reset"),
        "{body}"
    );
}
