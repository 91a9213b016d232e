//! SQL sandboxes live within a disk budget: making room resets the longest
//! idle one (an account's is kept longer), its student is told on their
//! next query, and a student who fills their own sandbox gets a 4xx.

use std::time::{Duration, SystemTime};

use crate::common::{repo_root, TestServer};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

async fn query(server: &TestServer, client: &Client, sql: &str) -> reqwest::Response {
    client
        .post(server.url("/labs/sql/query"))
        .json(&json!({ "sql": sql }))
        .send()
        .await
        .unwrap()
}

/// Makes `student`'s sandbox look unused for `hours`.
fn age(server: &TestServer, hours: u64) {
    let dir = server.data_dir.path().join("sql-sandboxes");
    let then = SystemTime::now() - Duration::from_secs(hours * 3600);
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        if entry.path().extension().is_some_and(|e| e == "db") {
            let file = std::fs::File::options()
                .write(true)
                .open(entry.path())
                .unwrap();
            file.set_modified(then).unwrap();
        }
    }
}

fn sandboxes(server: &TestServer) -> usize {
    std::fs::read_dir(server.data_dir.path().join("sql-sandboxes"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "db"))
        .count()
}

#[tokio::test]
async fn making_room_resets_the_longest_idle_sandbox_and_says_so() {
    // Room for two sandboxes of about 2.3 MiB each.
    let server = TestServer::start_configured(repo_root(), |config| {
        config.sandbox_disk_mib = 6;
    })
    .await;
    let (ada, bob, cy) = (server.browser(), server.browser(), server.browser());
    let made = query(&server, &ada, "CREATE TABLE notes (text TEXT)").await;
    assert_eq!(made.status(), 200);
    age(&server, 48); // Ada has been away for two days.
    assert_eq!(query(&server, &bob, "SELECT 1").await.status(), 200);
    assert_eq!(sandboxes(&server), 2);

    // Cy arrives: the budget is spent, so Ada's sandbox, idle longest, goes.
    let answer: Value = query(&server, &cy, "SELECT count(*) FROM products")
        .await
        .json()
        .await
        .unwrap();
    assert!(answer.get("notice").is_none(), "Cy lost nothing: {answer}");
    assert_eq!(sandboxes(&server), 2, "still within the budget");

    // Ada comes back to a fresh shop, and is told once why.
    let back: Value = query(
        &server,
        &ada,
        "SELECT name FROM sqlite_master WHERE name = 'notes'",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(back["row_count"], 0, "the table she made is gone");
    let notice = back["notice"].as_str().expect("a notice");
    assert!(
        notice.contains("reset") && notice.contains("2 days"),
        "{notice}"
    );
    let again: Value = query(&server, &ada, "SELECT 1").await.json().await.unwrap();
    assert!(again.get("notice").is_none(), "told once");
    server.stop().await;
}

#[tokio::test]
async fn a_sandbox_its_student_filled_answers_409_not_5xx() {
    // Sandboxes of at most 8 MiB: the shop takes about 2.3 of them.
    let server = TestServer::start_configured(repo_root(), |config| {
        config.sandbox_max_mib = 8;
    })
    .await;
    let ada = server.browser();
    assert_eq!(
        query(&server, &ada, "CREATE TABLE big (b BLOB)")
            .await
            .status(),
        200
    );
    let fill = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10) \
                INSERT INTO big SELECT randomblob(1000000) FROM n";
    let full = query(&server, &ada, fill).await;
    assert_eq!(full.status(), StatusCode::CONFLICT);
    let body: Value = full.json().await.unwrap();
    assert_eq!(body["error"], "sandbox_full");
    assert!(
        body["message"].as_str().unwrap().contains("reset"),
        "{body}"
    );
    // The sandbox still answers, and a reset empties it.
    assert_eq!(
        query(&server, &ada, "SELECT count(*) FROM big")
            .await
            .status(),
        200
    );
    let reset = ada
        .delete(server.url("/labs/sql/sandbox"))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 204);
    assert_eq!(
        query(&server, &ada, "SELECT count(*) FROM big")
            .await
            .status(),
        400,
        "gone with the reset"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_cache_lab_never_answers_502_for_the_sql_labs_state() {
    let server = TestServer::start().await;
    let ada = server.browser();
    // Ada breaks her shop in the SQL lab; the cache lab says it is hers to fix.
    assert_eq!(
        query(&server, &ada, "DROP TABLE order_items")
            .await
            .status(),
        200
    );
    assert_eq!(
        query(&server, &ada, "DROP TABLE reviews").await.status(),
        200
    );
    assert_eq!(
        query(&server, &ada, "DROP TABLE products").await.status(),
        200
    );
    let broken = ada
        .get(server.url("/labs/cache/products/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), StatusCode::CONFLICT);
    assert!(broken
        .text()
        .await
        .unwrap()
        .contains("DELETE /labs/sql/sandbox"));
    ada.delete(server.url("/labs/sql/sandbox"))
        .send()
        .await
        .unwrap();
    let fixed = ada
        .get(server.url("/labs/cache/products/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(fixed.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn sandboxes_that_grow_past_the_budget_make_room_too() {
    let server = TestServer::start_configured(repo_root(), |config| {
        config.sandbox_disk_mib = 7;
    })
    .await;
    let (ada, bob) = (server.browser(), server.browser());
    assert_eq!(query(&server, &ada, "SELECT 1").await.status(), 200);
    age(&server, 24);
    assert_eq!(query(&server, &bob, "SELECT 1").await.status(), 200);
    assert_eq!(sandboxes(&server), 2, "two fresh sandboxes fit");
    // Bob's sandbox grows by 3 MB: together they pass the budget.
    let grow = "CREATE TABLE big AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) \
                SELECT randomblob(1000000) AS b FROM n";
    assert_eq!(query(&server, &bob, grow).await.status(), 200);
    // The next check (at most every 5 s by the server's clock) resets Ada's, idle longest.
    server.clock.advance(6);
    assert_eq!(
        query(&server, &bob, "SELECT count(*) FROM big")
            .await
            .status(),
        200
    );
    assert_eq!(sandboxes(&server), 1);
    let back: Value = query(&server, &ada, "SELECT 1").await.json().await.unwrap();
    assert!(
        back["notice"].as_str().is_some_and(|n| n.contains("reset")),
        "{back}"
    );
    server.stop().await;
}
