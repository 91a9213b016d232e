//! The grading engine end to end: probes against a real server started in
//! the test, the exercise API over HTTP, and answers never leaving the server.

use std::time::{Duration, Instant};

use crate::common::{copy_of_course, repo_root, TestServer};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use server::content::load_course;
use server::grading::{grade, GradeContext};
use std::sync::{Arc, Mutex};

type Todos = Arc<Mutex<Vec<String>>>;

/// A reference `todos` server, as a student would write it; `broken` answers
/// creation with a bare 200, as a common first attempt does.
async fn start_todos(broken: bool) -> String {
    let todos: Todos = Arc::default();
    let create = move |State(todos): State<Todos>, Json(body): Json<Value>| async move {
        let title = body["title"].as_str().unwrap_or_default().to_string();
        let mut list = todos.lock().unwrap();
        list.push(title.clone());
        let id = list.len();
        if broken {
            return (StatusCode::OK, Json(json!({ "title": title }))).into_response();
        }
        (
            StatusCode::CREATED,
            [(header::LOCATION, format!("/todos/{id}"))],
            Json(json!({ "id": id, "title": title })),
        )
            .into_response()
    };
    let fetch = |State(todos): State<Todos>, Path(id): Path<String>| async move {
        let list = todos.lock().unwrap();
        match id
            .parse::<usize>()
            .ok()
            .and_then(|i| list.get(i.wrapping_sub(1)))
        {
            Some(title) => Json(json!({ "id": id, "title": title })).into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        }
    };
    let app = Router::new()
        .route("/todos", post(create))
        .route("/todos/{id}", get(fetch))
        .route("/health", get(|| async { Json(json!({ "status": "ok" })) }))
        .with_state(todos);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn probe(exercise: &str, base_url: &str) -> Result<model::Outcome, String> {
    let course = load_course(&repo_root(), &server::vocabulary()).expect("our course loads");
    let exercise = course.exercises().get(exercise).expect("exercise exists");
    // As the CLI grades, on the student's own machine.
    let context = GradeContext {
        probe: server::grading::ProbePolicy::with_loopback(Vec::new()),
        ..GradeContext::default()
    };
    grade(&exercise, &json!({ "base_url": base_url }), &context)
        .await
        .map_err(|e| e.0)
}

#[tokio::test]
async fn a_probe_passes_against_a_correct_server() {
    let url = start_todos(false).await;
    let outcome = probe("probe-rest-create", &url).await.unwrap();
    assert!(outcome.passed(), "{:#?}", outcome.checks);
    assert_eq!(outcome.score, outcome.max);
    let health = probe("probe-health", &url).await.unwrap();
    assert!(health.passed(), "{:#?}", health.checks);
}

#[tokio::test]
async fn a_probe_of_a_broken_server_names_the_failing_step() {
    let url = start_todos(true).await;
    let outcome = probe("probe-rest-create", &url).await.unwrap();
    assert!(!outcome.passed());
    let failed: Vec<_> = outcome.checks.iter().filter(|c| !c.passed).collect();
    assert_eq!(failed[0].name, "POST /todos creates a todo: status");
    assert_eq!(failed[0].expected.as_deref(), Some("201"));
    assert_eq!(failed[0].observed.as_deref(), Some("200"));
    assert!(failed[0].hint.as_deref().unwrap().contains("201 Created"));
    assert!(failed
        .iter()
        .any(|c| c.name == "POST /todos creates a todo: header location"));
    assert!(outcome.score < outcome.max);
}

#[tokio::test]
async fn a_probe_outside_loopback_is_refused_before_connecting() {
    // 192.0.2.0/24 is reserved for documentation: a connection attempt would
    // hang until the probe's time limit instead of failing at once.
    let started = Instant::now();
    let refused = probe("probe-health", "http://192.0.2.1:8080")
        .await
        .unwrap_err();
    assert!(refused.contains("not a loopback address"), "{refused}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "no connection was tried"
    );
    let refused = probe("probe-health", "http://169.254.169.254/")
        .await
        .unwrap_err();
    assert!(refused.contains("not a loopback address"), "{refused}");
    let not_a_url = probe("probe-health", "localhost:8080").await.unwrap_err();
    assert!(not_a_url.contains("http://"), "{not_a_url}");
}

#[tokio::test]
async fn a_hosted_workbench_probes_only_the_servers_its_operator_allows() {
    let url = start_todos(false).await;
    let answer = json!({ "base_url": url });

    // On a student's own machine (listening on loopback), loopback is theirs.
    let laptop = TestServer::start().await;
    let graded = attempt(&laptop, &laptop.browser(), "probe-health", answer.clone()).await;
    assert_eq!(graded.status(), 200, "{}", graded.text().await.unwrap());
    laptop.stop().await;

    // Hosted: the server's loopback holds the operator's services.
    let hosted =
        TestServer::start_configured(repo_root(), |c| c.probe_loopback = Some(false)).await;
    let refused = attempt(&hosted, &hosted.browser(), "probe-health", answer.clone()).await;
    assert!(refused.status().is_client_error(), "{}", refused.status());
    let why = refused.text().await.unwrap();
    assert!(why.contains("own machine"), "{why}");
    hosted.stop().await;

    // Unless the operator allows that very server.
    let host_port = url.trim_start_matches("http://").to_string();
    let allowing = TestServer::start_configured(repo_root(), |c| {
        c.probe_loopback = Some(false);
        c.probe_allow = vec![host_port];
    })
    .await;
    let graded = attempt(&allowing, &allowing.browser(), "probe-health", answer).await;
    assert_eq!(graded.status(), 200, "{}", graded.text().await.unwrap());
    allowing.stop().await;
}

async fn attempt(
    server: &TestServer,
    client: &reqwest::Client,
    exercise: &str,
    answer: Value,
) -> reqwest::Response {
    client
        .post(server.url(&format!("/api/exercises/{exercise}/attempts")))
        .json(&json!({ "answer": answer }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_guest_answers_wrongly_then_rightly_and_the_standing_follows() {
    let server = TestServer::start().await;
    let guest = server.browser();
    let wrong: Value = attempt(&server, &guest, "http-status-created", json!("200 OK"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(wrong["outcome"]["score"], 0);
    assert_eq!(wrong["outcome"]["checks"][0]["passed"], false);
    assert!(wrong["outcome"]["checks"][0]["hint"]
        .as_str()
        .unwrap()
        .contains("200"));
    assert_eq!(wrong["standing"]["attempts"], 1);

    let hint: Value = guest
        .post(server.url("/api/exercises/http-status-created/hints"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(hint["hints"][0].as_str().unwrap().contains("Location"));

    let right: Value = attempt(&server, &guest, "http-status-created", json!("201 Created"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(right["outcome"]["score"], 1);
    assert_eq!(right["standing"]["passed"], true);
    assert_eq!(right["standing"]["best_score"], 1);

    let standing: Value = server
        .json(&guest, "/api/exercises/http-status-created/standing")
        .await;
    assert_eq!(standing["attempts"], 2);
    let reset: Value = guest
        .delete(server.url("/api/exercises/http-status-created/attempts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reset["attempts"], 0);
    let standing: Value = server
        .json(&guest, "/api/exercises/http-status-created/standing")
        .await;
    assert_eq!(standing["attempts"], 0, "starting again forgets attempts");
    assert!(
        standing["hints"].as_array().unwrap().is_empty(),
        "and hints"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_http_exercise_is_passed_by_making_the_request() {
    let server = TestServer::start().await;
    let student = server.browser();
    let before: Value = attempt(&server, &student, "http-send-json-order", json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        before["outcome"]["checks"][0]["observed"],
        "no lab requests recorded yet"
    );

    student
        .post(server.url("/labs/http/echo/orders"))
        .header("content-type", "text/plain")
        .body("item=tea")
        .send()
        .await
        .unwrap();
    let close: Value = attempt(&server, &student, "http-send-json-order", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let failed: Vec<_> = close["outcome"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert!(
        failed.iter().any(|n| n.contains("content-type")),
        "{failed:?}"
    );

    // Claims in the answer are ignored: only recorded requests count.
    let forged = json!({ "requests": [{ "method": "POST", "path": "/labs/http/echo/orders", "status": 200,
        "headers": [["content-type", "application/json"]], "body": "{\"item\":1,\"quantity\":2}" }] });
    let still: Value = attempt(&server, &student, "http-send-json-order", forged)
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(still["outcome"]["score"], still["outcome"]["max"]);

    student
        .post(server.url("/labs/http/echo/orders"))
        .json(&json!({ "item": "tea", "quantity": 2 }))
        .send()
        .await
        .unwrap();
    let done: Value = attempt(&server, &student, "http-send-json-order", json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(done["outcome"]["score"], 3, "{done}");
    server.stop().await;
}

#[tokio::test]
async fn bad_answers_get_4xx_and_attempts_are_rate_limited() {
    let server = TestServer::start().await;
    let client = server.browser();
    let not_a_choice = attempt(
        &server,
        &client,
        "http-status-created",
        json!("418 I'm a teapot"),
    )
    .await;
    assert_eq!(not_a_choice.status(), 422);
    let unknown = attempt(&server, &client, "no-such-exercise", json!("x")).await;
    assert_eq!(unknown.status(), 404);
    let mut last = None;
    for _ in 0..12 {
        last = Some(attempt(&server, &client, "http-host-header", json!("Accept")).await);
    }
    let throttled = last.unwrap();
    assert_eq!(throttled.status(), 429);
    assert!(throttled.headers().contains_key("retry-after"));
    server.stop().await;
}

#[tokio::test]
async fn reference_answers_and_hidden_checks_never_reach_the_browser() {
    let course = copy_of_course();
    std::fs::write(
        course.path().join("exercises/secret-word.md"),
        "+++\nid = \"secret-word\"\ntitle = \"The secret word\"\nkind = \"quiz\"\npoints = 1\nlesson = \"http/anatomy\"\n[check]\nquestion = \"short\"\naccept = [\"zebra-crossing-7781\"]\n+++\nWhat is the word?\n",
    )
    .unwrap();
    std::fs::write(
        course.path().join("exercises/secret-probe.md"),
        "+++\nid = \"secret-probe\"\ntitle = \"Hidden\"\nkind = \"probe\"\npoints = 1\nlesson = \"http/anatomy\"\n[check]\n[[check.steps]]\nname = \"hidden step\"\npath = \"/x\"\nhidden = true\nexpect_json = { \"$.code\" = \"owl-parliament-5523\" }\n+++\nBuild it.\n",
    )
    .unwrap();
    let lesson = course.path().join("lessons/01-http/01-anatomy.md");
    let text = std::fs::read_to_string(&lesson).unwrap();
    std::fs::write(
        &lesson,
        format!("{text}\n```exercise secret-word\n```\n\n```exercise secret-probe\n```\n"),
    )
    .unwrap();

    let server = TestServer::start_with(course.path().to_path_buf(), false).await;
    let client = server.browser();
    let secrets = ["zebra-crossing-7781", "owl-parliament-5523"];
    let mut seen = vec![server.text(&client, "/lessons/http/anatomy").await];
    for id in ["secret-word", "secret-probe"] {
        seen.push(server.text(&client, &format!("/api/exercises/{id}")).await);
        seen.push(
            server
                .text(&client, &format!("/api/exercises/{id}/standing"))
                .await,
        );
    }
    seen.push(
        attempt(&server, &client, "secret-word", json!("zebra"))
            .await
            .text()
            .await
            .unwrap(),
    );
    seen.push(
        attempt(&server, &client, "secret-word", json!({ "not": "text" }))
            .await
            .text()
            .await
            .unwrap(),
    );
    seen.push(
        attempt(
            &server,
            &client,
            "secret-probe",
            json!({ "base_url": "http://127.0.0.1:1" }),
        )
        .await
        .text()
        .await
        .unwrap(),
    );
    seen.push(
        server
            .text(&client, "/api/exercises/secret-word/standing")
            .await,
    );
    for body in &seen {
        for secret in secrets {
            assert!(!body.contains(secret), "{secret} leaked in: {body}");
        }
    }
    assert!(
        seen[0].contains("The secret word"),
        "the card itself is on the page"
    );
    server.stop().await;
}

async fn instructor(server: &TestServer) -> reqwest::Client {
    let client = server.browser();
    client
        .post(server.url("/auth/signup"))
        .json(&json!({ "name": "Tess", "email": "tess@example.com", "password": "a long teaching passphrase" }))
        .send()
        .await
        .unwrap();
    crate::common::make_role(
        server,
        "tess@example.com",
        server::accounts::Role::Instructor,
    )
    .await;
    client
}

#[tokio::test]
async fn an_lms_grades_submissions_with_an_instructor_token() {
    let server = TestServer::start().await;
    let submissions = json!({ "submissions": [
        { "student": "lms-1", "exercise": "http-status-created", "answer": "201 Created" },
        { "student": "lms-2", "exercise": "http-status-created", "answer": "200 OK" },
    ]});
    let grade_with = |token: Option<String>| {
        let mut request = reqwest::Client::new()
            .post(server.url("/api/grade"))
            .json(&submissions);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(grade_with(None).await.unwrap().status(), 401);
    assert_eq!(
        grade_with(Some("wbt_0_nope".into()))
            .await
            .unwrap()
            .status(),
        401
    );

    // Students may not make tokens; instructors may.
    let student = server.browser();
    student
        .post(server.url("/auth/signup"))
        .json(&json!({ "name": "Sam", "email": "sam@example.com", "password": "a student passphrase" }))
        .send()
        .await
        .unwrap();
    let refused = student
        .post(server.url("/api/instructor/tokens"))
        .json(&json!({ "name": "LMS" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);

    let teacher = instructor(&server).await;
    let created: Value = teacher
        .post(server.url("/api/instructor/tokens"))
        .json(&json!({ "name": "Moodle" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = created["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("wbt_"));

    let graded: Value = grade_with(Some(token.clone()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(graded["passed"], 1);
    assert_eq!(graded["failed"], 1);
    assert_eq!(graded["results"][0]["student"], "lms-1");
    assert_eq!(graded["results"][0]["score"], 1);
    assert_eq!(graded["results"][1]["checks"][0]["passed"], false);

    let listed: Value = server.json(&teacher, "/api/instructor/tokens").await;
    assert!(listed[0]["last_used_at"].is_i64());
    assert!(
        !listed.to_string().contains(&token[20..]),
        "the secret is never listed"
    );
    let id = created["id"].as_str().unwrap();
    let revoked = teacher
        .delete(server.url(&format!("/api/instructor/tokens/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    assert_eq!(grade_with(Some(token)).await.unwrap().status(), 401);
    server.stop().await;
}

/// Notes and the keys that made them, in a reference notes server.
#[derive(Default)]
struct Notes {
    texts: Vec<String>,
    /// Key → (body, id of the note it made).
    keys: std::collections::HashMap<String, (String, usize)>,
}

/// A reference notes API, as the probe exercise asks for; `forgetful`
/// ignores `Idempotency-Key`, as a first attempt often does.
async fn start_notes(forgetful: bool) -> String {
    type Shared = Arc<Mutex<Notes>>;
    let create = move |State(notes): State<Shared>,
                       headers: axum::http::HeaderMap,
                       body: String| async move {
        let mut notes = notes.lock().unwrap();
        let key = headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .filter(|_| !forgetful)
            .map(str::to_string);
        let created = |id: usize, text: &str| {
            (
                StatusCode::CREATED,
                [(header::LOCATION, format!("/notes/{id}"))],
                Json(json!({ "id": id, "text": text })),
            )
                .into_response()
        };
        if let Some((first_body, id)) = key.as_ref().and_then(|k| notes.keys.get(k)) {
            if *first_body != body {
                return StatusCode::UNPROCESSABLE_ENTITY.into_response();
            }
            let text = notes.texts[id - 1].clone();
            return created(*id, &text);
        }
        let parsed: Value = serde_json::from_str(&body).unwrap_or_default();
        let text = parsed["text"].as_str().unwrap_or_default().to_string();
        notes.texts.push(text.clone());
        let id = notes.texts.len();
        if let Some(key) = key {
            notes.keys.insert(key, (body, id));
        }
        created(id, &text)
    };
    let list = |State(notes): State<Shared>,
                axum::extract::Query(query): axum::extract::Query<
        std::collections::HashMap<String, String>,
    >| async move {
        let notes = notes.lock().unwrap();
        let limit: usize = query
            .get("limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(10);
        let before = match query.get("after").map(|a| a.parse::<usize>()) {
            None => notes.texts.len() + 1,
            Some(Ok(id)) => id,
            Some(Err(_)) => return StatusCode::BAD_REQUEST.into_response(),
        };
        let ids: Vec<usize> = (1..before).rev().take(limit).collect();
        let items: Vec<Value> = ids
            .iter()
            .map(|id| json!({ "id": id, "text": notes.texts[id - 1] }))
            .collect();
        let next = ids
            .last()
            .filter(|last| **last > 1)
            .map(|last| format!("/notes?limit={limit}&after={last}"));
        Json(json!({ "items": items, "next": next })).into_response()
    };
    let app = Router::new()
        .route("/notes", post(create).get(list))
        .with_state(Shared::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn the_paged_idempotent_probe_passes_a_careful_api_and_names_what_a_forgetful_one_misses() {
    let url = start_notes(false).await;
    let outcome = probe("probe-paged-idempotent", &url).await.unwrap();
    assert!(outcome.passed(), "{:#?}", outcome.checks);

    let url = start_notes(true).await;
    let outcome = probe("probe-paged-idempotent", &url).await.unwrap();
    let failed: Vec<&str> = outcome
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.as_str())
        .collect();
    assert!(
        failed.contains(&"the same key and body again replays the first answer: header location"),
        "{failed:?}"
    );
    assert!(
        failed.contains(&"the next page holds the first note, once: JSON $.items[1] absent"),
        "the replay made a duplicate: {failed:?}"
    );
}

/// A `todos` server whose `Location` is a full URL, built from the `Host`
/// the probe sent: `http://host:port{under}{id}`.
async fn start_todos_with_absolute_location(under: &'static str) -> String {
    let todos: Todos = Arc::default();
    let create = move |State(todos): State<Todos>,
                       headers: axum::http::HeaderMap,
                       Json(body): Json<Value>| async move {
        let title = body["title"].as_str().unwrap_or_default().to_string();
        let mut list = todos.lock().unwrap();
        list.push(title.clone());
        let id = list.len();
        let host = headers[header::HOST].to_str().unwrap().to_string();
        (
            StatusCode::CREATED,
            [(header::LOCATION, format!("http://{host}{under}{id}"))],
            Json(json!({ "id": id, "title": title })),
        )
    };
    let fetch = |State(todos): State<Todos>, Path(id): Path<String>| async move {
        let list = todos.lock().unwrap();
        let index = id
            .parse::<usize>()
            .map_or(usize::MAX, |i| i.wrapping_sub(1));
        match list.get(index) {
            Some(title) => Json(json!({ "id": id, "title": title })).into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        }
    };
    let app = Router::new()
        .route("/todos", post(create))
        .route("/todos/{id}", get(fetch))
        .route("/items/{id}", get(fetch))
        .with_state(todos);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn a_full_url_in_location_is_judged_by_its_path() {
    // RFC 9110 allows an absolute Location; the probe used to want `/todos/` as its start.
    let url = start_todos_with_absolute_location("/todos/").await;
    let outcome = probe("probe-rest-create", &url).await.unwrap();
    assert!(outcome.passed(), "{:#?}", outcome.checks);
    let location = outcome
        .checks
        .iter()
        .find(|c| c.name == "POST /todos creates a todo: header location")
        .unwrap();
    assert!(
        location
            .observed
            .as_deref()
            .unwrap()
            .ends_with("(path /todos/1)"),
        "{location:?}"
    );

    // A full URL still has to name the new todo.
    let url = start_todos_with_absolute_location("/items/").await;
    let outcome = probe("probe-rest-create", &url).await.unwrap();
    let failed: Vec<&str> = outcome
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        failed,
        vec!["POST /todos creates a todo: header location"],
        "{:#?}",
        outcome.checks
    );
}

/// How a reference push server behaves: `resumes` honours `Last-Event-ID`,
/// `greets` speaks first on a new WebSocket. Both false is the common
/// first attempt.
#[derive(Clone, Copy)]
struct Pusher {
    resumes: bool,
    greets: bool,
}

/// A server pushing `GET /ticks` as server-sent events and answering
/// `GET /chat` with a WebSocket, as the push probes ask for. The ticks
/// come as fast as they are read, then the stream stays open.
async fn start_pusher(pusher: Pusher) -> String {
    use axum::extract::ws::{Message, WebSocketUpgrade};
    use axum::response::sse::{Event, Sse};
    use futures_util::stream::{self, StreamExt};

    let ticks = move |headers: axum::http::HeaderMap| async move {
        let after: u64 = headers
            .get("last-event-id")
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .filter(|_| pusher.resumes)
            .unwrap_or(0);
        let events = stream::iter(after + 1..after + 20)
            .map(|n| {
                Ok::<_, std::convert::Infallible>(
                    Event::default()
                        .id(n.to_string())
                        .data(json!({ "n": n }).to_string()),
                )
            })
            .chain(stream::pending());
        Sse::new(events)
    };
    let chat = move |upgrade: WebSocketUpgrade| async move {
        upgrade.on_upgrade(move |mut socket| async move {
            if pusher.greets && socket.send(Message::text("welcome")).await.is_err() {
                return;
            }
            while let Some(Ok(Message::Text(text))) = socket.recv().await {
                if socket.send(Message::Text(text)).await.is_err() {
                    return;
                }
            }
        })
    };
    let app = Router::new()
        .route("/ticks", get(ticks))
        .route("/chat", get(chat));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn failed_checks(outcome: &model::Outcome) -> Vec<(&str, &str)> {
    outcome
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| (c.name.as_str(), c.observed.as_deref().unwrap_or_default()))
        .collect()
}

#[tokio::test]
async fn push_probes_read_server_sent_events_and_websocket_messages() {
    let url = start_pusher(Pusher {
        resumes: true,
        greets: true,
    })
    .await;
    for exercise in ["probe-push-events", "probe-websocket-greeting"] {
        let outcome = probe(exercise, &url).await.unwrap();
        assert!(outcome.passed(), "{exercise}: {:#?}", outcome.checks);
    }

    let url = start_pusher(Pusher {
        resumes: false,
        greets: false,
    })
    .await;
    let outcome = probe("probe-push-events", &url).await.unwrap();
    assert_eq!(
        failed_checks(&outcome),
        vec![(
            "a reconnect with Last-Event-ID misses nothing and repeats nothing: event ids",
            "ids 1, 2"
        )],
        "the stream itself was right; only the resume was not"
    );
    let outcome = probe("probe-websocket-greeting", &url).await.unwrap();
    assert_eq!(
        failed_checks(&outcome),
        vec![
            (
                "GET /chat upgrades, greets and echoes: events",
                "only 2 of 3 event(s) came within 3000 ms"
            ),
            (
                "GET /chat upgrades, greets and echoes: event data",
                "the first data are \"hello\", \"second message\""
            )
        ],
        "two echoes came, and no greeting"
    );
}

#[tokio::test]
async fn a_push_probe_of_a_server_that_does_not_push_says_what_came_instead() {
    let url = start_todos(false).await;
    let outcome = probe("probe-websocket-greeting", &url).await.unwrap();
    let failed = failed_checks(&outcome);
    assert_eq!(
        failed[0],
        ("GET /chat upgrades, greets and echoes: status", "404"),
        "a refused upgrade is judged, not a crash: {failed:?}"
    );
    assert!(
        failed[1].1.contains("404 Not Found instead of 101"),
        "{failed:?}"
    );

    let outcome = probe("probe-push-events", &url).await.unwrap();
    let failed = failed_checks(&outcome);
    assert_eq!(failed[0], ("GET /ticks streams events: status", "404"));
    assert!(
        failed
            .iter()
            .any(|(name, observed)| name.ends_with("streams events: events")
                && observed.contains("the answer was 404")),
        "{failed:?}"
    );
}
