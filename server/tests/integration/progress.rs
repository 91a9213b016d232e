//! Progress for students, the gradebook for instructors.

use crate::common::{answer, TestServer};
use serde_json::{json, Value};

async fn sign_up(server: &TestServer, name: &str, email: &str) -> reqwest::Client {
    let client = server.browser();
    let created = client
        .post(server.url("/auth/signup"))
        .json(&json!({ "name": name, "email": email, "password": "a long enough passphrase" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    client
}

fn exercise<'a>(progress: &'a Value, id: &str) -> &'a Value {
    progress["modules"][0]["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id)
        .unwrap()
}

#[tokio::test]
async fn a_students_progress_shows_lessons_read_and_best_scores_and_can_start_again() {
    let server = TestServer::start().await;
    let guest = server.browser();
    answer(&server, &guest, "http-status-created", json!("200 OK")).await;
    answer(&server, &guest, "http-status-created", json!("201 Created")).await;
    let lesson = guest
        .get(server.url("/lessons/http/anatomy"))
        .send()
        .await
        .unwrap();
    assert_eq!(lesson.status(), 200, "{}", lesson.text().await.unwrap());
    let progress = server.json(&guest, "/api/progress").await;
    // Anatomy is the module's second lesson, after client and server.
    assert_eq!(progress["modules"][0]["lessons"][1]["read"], true);
    assert_eq!(progress["modules"][0]["lessons"][0]["read"], false);
    let created = exercise(&progress, "http-status-created");
    assert_eq!(created["best_score"], 1);
    assert_eq!(created["attempts"], 2);
    assert_eq!(created["passed"], true);
    assert_eq!(exercise(&progress, "http-safe-methods")["attempts"], 0);
    let order: Vec<_> = progress["modules"][0]["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        order[..3],
        [
            "http-who-sets-the-price",
            "http-why-a-backend",
            "http-where-to-render"
        ],
        "the first lesson's cards first"
    );
    assert_eq!(
        order[3..7],
        [
            "http-request-parts-order",
            "http-host-header",
            "http-send-json-order",
            "http-safe-methods"
        ],
        "teaching order: lesson by lesson, card by card"
    );

    let page = server.text(&guest, "/progress").await;
    assert!(page.contains("1 of 4 lessons read"), "{page}");
    assert!(page.contains("1 of 14 exercises passed"), "{page}");

    let reset = guest
        .post(server.url("/progress/reset"))
        .form(&[("module", "http")])
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 303);
    let progress = server.json(&guest, "/api/progress").await;
    assert_eq!(exercise(&progress, "http-status-created")["attempts"], 0);
    assert_eq!(progress["modules"][0]["lessons"][0]["read"], false);
    server.stop().await;
}

#[tokio::test]
async fn the_gradebook_is_for_instructors_and_shows_where_students_are_stuck() {
    let server = TestServer::start().await;
    let ada = sign_up(&server, "Ada", "ada@example.com").await;
    let bob = sign_up(&server, "Bob, Jr.", "bob@example.com").await;
    answer(
        &server,
        &ada,
        "http-safe-methods",
        json!(["GET", "HEAD", "OPTIONS"]),
    )
    .await;
    answer(&server, &bob, "http-safe-methods", json!(["GET"])).await;
    answer(&server, &bob, "http-safe-methods", json!(["GET", "PUT"])).await;
    bob.post(server.url("/api/exercises/http-safe-methods/hints"))
        .send()
        .await
        .unwrap();

    // Strangers get 401, students 403, on the page and the data alike.
    let stranger = server.browser();
    for path in [
        "/instructor/gradebook",
        "/api/instructor/gradebook",
        "/api/instructor/gradebook.csv",
    ] {
        assert_eq!(
            stranger
                .get(server.url(path))
                .send()
                .await
                .unwrap()
                .status(),
            401,
            "{path}"
        );
        assert_eq!(
            ada.get(server.url(path)).send().await.unwrap().status(),
            403,
            "{path}"
        );
    }

    let tess = sign_up(&server, "Tess", "tess@example.com").await;
    crate::common::make_role(
        &server,
        "tess@example.com",
        server::accounts::Role::Instructor,
    )
    .await;

    let book: Value = server
        .json(&tess, "/api/instructor/gradebook?module=http")
        .await;
    let column = book["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .position(|e| e["id"] == "http-safe-methods")
        .unwrap();
    let students = book["students"].as_array().unwrap();
    assert_eq!(students.len(), 2, "instructors are not graded");
    assert_eq!(
        students[0]["cells"][column],
        json!([2, 1]),
        "Ada: 2 points in 1 attempt"
    );
    assert_eq!(students[1]["cells"][column], json!([0, 2]));
    let stuck = book["stuck"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "http-safe-methods")
        .unwrap();
    assert_eq!(stuck["tried"], 2);
    assert_eq!(stuck["passed"], 1);
    assert_eq!(stuck["hardest_check"], json!(["the chosen answers", 2]));
    assert_eq!(stuck["hints_opened"], 1);

    let csv = tess
        .get(server.url("/api/instructor/gradebook.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    let lines: Vec<_> = csv.lines().collect();
    assert!(lines[0].starts_with("name,email,"), "{csv}");
    assert!(
        lines[2].starts_with("\"Bob, Jr.\",bob@example.com,"),
        "names with commas are quoted: {csv}"
    );

    let page = server.text(&tess, "/instructor/gradebook").await;
    assert!(page.contains("Where they are stuck"));
    assert!(page.contains("the chosen answers (2×)"), "{page}");
    server.stop().await;
}

#[tokio::test]
async fn a_lesson_served_from_the_page_cache_still_counts_as_read() {
    let server = TestServer::start().await;
    // A first reader with no identity leaves the rendered lesson in the cache.
    let stranger = server.browser();
    let first = stranger
        .get(server.url("/lessons/http/anatomy"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let first = first.text().await.unwrap();

    let guest = server.browser();
    answer(&server, &guest, "http-status-created", json!("201 Created")).await;
    let again = guest
        .get(server.url("/lessons/http/anatomy"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.text().await.unwrap(), first, "the shared page");
    let progress = server.json(&guest, "/api/progress").await;
    assert_eq!(progress["modules"][0]["lessons"][1]["read"], true);
}
