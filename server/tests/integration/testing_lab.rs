//! The testing lab: students' suites run against the correct todos API and
//! its twelve mutants, each served on a loopback port of its own.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::common::TestServer;

/// 20 steps that pass on the correct API and kill every mutant.
const COMPLETE_SUITE: &str = include_str!("testing_lab_suite.toml");

async fn run(server: &TestServer, student: &reqwest::Client, suite: &str) -> (u16, Value) {
    let response = student
        .post(server.url("/labs/testing/run"))
        .json(&json!({ "suite": suite }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn save(server: &TestServer, student: &reqwest::Client, suite: &str) -> u16 {
    student
        .put(server.url("/labs/testing/settings"))
        .json(&json!({ "suite": suite }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn killed(report: &Value) -> BTreeSet<String> {
    report["mutants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["killed"] == true)
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

const ALICE: &str = r#"{ authorization = "Bearer alice", content-type = "application/json" }"#;

/// Four steps, each aimed at one bug; they catch those four and nothing else.
fn four_step_suite() -> String {
    format!(
        r#"
[[steps]]
name = "create"
method = "POST"
path = "/todos"
headers = {ALICE}
body = '{{"title": "a"}}'
status = 201
expect_header_paths = {{ location = "/todos/" }}
capture = {{ todo = "header:location", etag = "header:etag" }}

[[steps]]
name = "Bob reads it"
path = "{{todo}}"
headers = {{ authorization = "Bearer bob" }}
status = 404

[[steps]]
name = "update"
method = "PATCH"
path = "{{todo}}"
headers = {{ authorization = "Bearer alice", content-type = "application/json", if-match = "{{etag}}" }}
body = '{{"done": true}}'
status = 200

[[steps]]
name = "update again with the old version"
method = "PATCH"
path = "{{todo}}"
headers = {{ authorization = "Bearer alice", content-type = "application/json", if-match = "{{etag}}" }}
body = '{{"done": false}}'
status = 412
"#
    )
}

#[tokio::test]
async fn a_suite_kills_exactly_the_mutants_its_steps_can_tell_apart() {
    let server = TestServer::start().await;
    let student = server.browser();
    let (status, report) = run(&server, &student, &four_step_suite()).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["steps"], 4);
    assert_eq!(report["total"], 12);
    let expected: BTreeSet<String> = [
        "created-as-200",
        "location-of-collection",
        "others-todo-visible",
        "lost-update",
    ]
    .map(String::from)
    .into();
    assert_eq!(killed(&report), expected, "{report}");
    assert_eq!(report["killed"], 4);
    for mutant in report["mutants"].as_array().unwrap() {
        if mutant["killed"] == true {
            assert!(
                mutant["caught_by"].is_string() && mutant["explanation"].is_null(),
                "{mutant}"
            );
        } else {
            let explanation = mutant["explanation"].as_str().unwrap();
            assert!(explanation.len() > 40, "a survivor is described: {mutant}");
        }
    }
    let lost = report["mutants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "lost-update")
        .unwrap();
    assert_eq!(
        lost["caught_by"],
        "update again with the old version: status"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_suite_that_fails_on_the_correct_api_counts_no_kills() {
    let server = TestServer::start().await;
    let student = server.browser();
    let wrong = format!(
        "[[steps]]\nname = \"create\"\nmethod = \"POST\"\npath = \"/todos\"\nheaders = {ALICE}\nbody = '{{\"title\": \"a\"}}'\nstatus = 200\n"
    );
    let (status, report) = run(&server, &student, &wrong).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["valid"], false);
    assert_eq!(report["killed"], 0);
    assert_eq!(report["mutants"], json!([]));
    let check = &report["reference"][0];
    assert_eq!(check["name"], "create: status");
    assert_eq!(
        (check["expected"].as_str(), check["observed"].as_str()),
        (Some("200"), Some("201"))
    );
    server.stop().await;
}

#[tokio::test]
async fn the_exercise_grades_the_saved_suite_by_what_it_kills() {
    let server = TestServer::start().await;
    let student = server.browser();
    let grade = || async {
        let outcome =
            crate::common::graded_outcome(&server, &student, "testing-kill-mutants").await;
        (
            outcome["score"].as_u64().unwrap(),
            outcome["max"].as_u64().unwrap(),
        )
    };
    let (score, max) = grade().await;
    assert!(score < max, "the starter suite kills one mutant");
    assert_eq!(save(&server, &student, &four_step_suite()).await, 200);
    let (score, max) = grade().await;
    assert!(score < max, "four kills are not ten");
    assert_eq!(save(&server, &student, COMPLETE_SUITE).await, 200);
    let (status, report) = run(&server, &student, COMPLETE_SUITE).await;
    assert_eq!(
        (status, report["killed"].as_u64()),
        (200, Some(12)),
        "{report}"
    );
    assert_eq!(report["steps"], 20);
    let (score, max) = grade().await;
    assert_eq!(score, max, "the saved complete suite passes");
    // A run with `{}` runs what was saved.
    let saved: Value = student
        .post(server.url("/labs/testing/run"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(saved["killed"], 12);
    server.stop().await;
}

#[tokio::test]
async fn students_runs_are_isolated_from_each_other() {
    let server = TestServer::start().await;
    let suite = format!(
        r#"
[[steps]]
name = "create"
method = "POST"
path = "/todos"
headers = {ALICE}
body = '{{"title": "mine"}}'
status = 201
expect_header_paths = {{ location = "/todos/1" }}

[[steps]]
name = "only mine"
path = "/todos"
headers = {{ authorization = "Bearer alice" }}
status = 200
expect_json = {{ "$.total" = 1 }}
"#
    );
    let (first, second) = (server.browser(), server.browser());
    let (a, b) = tokio::join!(run(&server, &first, &suite), run(&server, &second, &suite));
    for (status, report) in [a, b] {
        assert_eq!((status, &report["valid"]), (200, &json!(true)), "{report}");
    }
    // Runs again for the same student start from an empty API too.
    let (_, again) = run(&server, &first, &suite).await;
    assert_eq!(again["valid"], true, "{again}");
    server.stop().await;
}

#[tokio::test]
async fn bad_suites_are_refused_with_a_clear_4xx() {
    let server = TestServer::start().await;
    let student = server.browser();
    let step = "[[steps]]\nname = \"list\"\npath = \"/todos\"\nstatus = 401\n";
    let refusals = [
        (step.repeat(41), "at most 40"),
        (
            format!("{step}body = '{}'\n", "x".repeat(5000)),
            "at most 4096",
        ),
        (
            format!("{step}\n# {}\n", "x".repeat(40 * 1024)),
            "at most 32768",
        ),
        (
            "[[steps]]\nname = \"x\"\npath = \"//example.com/\"\nstatus = 200\n".into(),
            "leaves the tested API",
        ),
        (
            "[[steps]]\nname = \"x\"\npath = \"http://127.0.0.1:5432/\"\nstatus = 200\n".into(),
            "leaves the tested API",
        ),
        ("[[steps]]\nname = \"x\"\npath = /todos\n".into(), "line 3"),
        (format!("{step}max_ms = 10\n"), "max_ms"),
    ];
    for (suite, says) in refusals {
        let (status, body) = run(&server, &student, &suite).await;
        assert_eq!(status, 422, "{body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(says), "{says:?} in {message}");
    }
    // Saving is refused past the size too, and keeps what was saved.
    let huge = "#".repeat(40 * 1024);
    assert_eq!(save(&server, &student, &huge).await, 422);
    let saved: Value = student
        .get(server.url("/labs/testing/settings"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(saved["settings"]["suite"]
        .as_str()
        .unwrap()
        .contains("[[steps]]"));
    // A body past the lab's limit is refused before it is read.
    let enormous = "x".repeat(2 * 1024 * 1024);
    let (status, _) = run(&server, &student, &enormous).await;
    assert_eq!(status, 413);
    server.stop().await;
}

#[tokio::test]
async fn the_doubles_demo_shows_what_only_the_real_database_catches() {
    let server = TestServer::start().await;
    let student = server.browser();
    let response = student
        .post(server.url("/labs/testing/doubles"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    let verdicts: Vec<(&str, &str, &str)> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["double_kind"].as_str().unwrap(),
                s["double"]["verdict"].as_str().unwrap(),
                s["real"]["verdict"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("fake", "passed", "passed"),
            ("fake", "failed", "passed"),
            ("fake", "failed", "passed"),
            ("stub", "passed", "cannot_run"),
        ]
    );
    server.stop().await;
}

#[tokio::test]
async fn each_student_has_a_live_copy_of_the_correct_api() {
    let server = TestServer::start().await;
    let (first, second) = (server.browser(), server.browser());
    let create = |student: &reqwest::Client, title: &str| {
        student
            .post(server.url("/labs/testing/api/todos"))
            .header("authorization", "Bearer alice")
            .json(&json!({ "title": title }))
            .send()
    };
    let made = create(&first, "try it").await.unwrap();
    assert_eq!(made.status(), 201);
    assert_eq!(made.headers()["location"], "/todos/1");
    let list = |student: &reqwest::Client, user: &str| {
        student
            .get(server.url("/labs/testing/api/todos?per_page=2"))
            .header("authorization", format!("Bearer {user}"))
            .send()
    };
    let alices: Value = list(&first, "alice").await.unwrap().json().await.unwrap();
    assert_eq!(alices["total"], 1);
    let bobs: Value = list(&first, "bob").await.unwrap().json().await.unwrap();
    assert_eq!(bobs["total"], 0, "Bob sees only his own");
    let others: Value = list(&second, "alice").await.unwrap().json().await.unwrap();
    assert_eq!(others["total"], 0, "another student's copy is their own");
    // Refusals are the API's own, with the reason.
    let no_token = first
        .get(server.url("/labs/testing/api/todos"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 401);
    assert_eq!(no_token.headers()["www-authenticate"], "Bearer");
    // A copy keeps 100 todos at most.
    for n in 2..=100 {
        assert_eq!(
            create(&first, &format!("todo {n}")).await.unwrap().status(),
            201
        );
    }
    let full = create(&first, "one more").await.unwrap();
    assert_eq!(full.status(), 409);
    assert!(full.text().await.unwrap().contains("delete some"));
    server.stop().await;
}

/// A student who fires many runs at once gets one at a time (the rest
/// 429 with `Retry-After`, never a 5xx), and another student's run goes
/// through beside them: the lab's gate has a line per student.
#[tokio::test]
async fn one_students_flood_of_runs_leaves_others_their_turn() {
    let server = TestServer::start().await;
    let (flooder, other) = (server.browser(), server.browser());
    // A session first, so the flood comes from one student.
    for student in [&flooder, &other] {
        let settings = student.get(server.url("/labs/testing/settings")).send();
        assert_eq!(settings.await.unwrap().status(), 200);
    }
    let flood = (0..8).map(|_| {
        flooder
            .post(server.url("/labs/testing/run"))
            .json(&json!({ "suite": COMPLETE_SUITE }))
            .send()
    });
    let (answers, (status, report)) = tokio::join!(
        futures_util::future::join_all(flood),
        run(&server, &other, COMPLETE_SUITE)
    );
    assert_eq!(
        (status, report["killed"].as_u64()),
        (200, Some(12)),
        "{report}"
    );
    let mut ran = 0;
    for answer in answers {
        let answer = answer.unwrap();
        match answer.status().as_u16() {
            200 => ran += 1,
            429 => assert!(answer.headers().contains_key("retry-after")),
            other => panic!("a flood gets 200 or 429, not {other}"),
        }
    }
    assert!(ran >= 1, "the flooder's own first run goes through");
    assert!(ran < 8, "runs of one student at once are refused");
    server.stop().await;
}
