//! The search and analytics lesson: every ```` ```sql ```` block it shows
//! runs, in order, in a student's sandbox through the real lab route, and
//! gives the counts and the ranking the text quotes. The sandbox allows
//! FTS5 for this, and still refuses every other virtual table and direct
//! writes to FTS5's shadow tables.

use crate::common::{repo_root, TestServer};
use serde_json::{json, Value};

const LESSON: &str = "lessons/03-databases/08-search-and-analytics.md";

/// The ```` ```sql ```` blocks of `markdown`, in order.
fn sql_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut open: Option<String> = None;
    for line in markdown.lines() {
        match open.as_mut() {
            Some(block) if line.trim_end() == "```" => {
                blocks.push(block.trim().to_string());
                open = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None if line.trim_end() == "```sql" => open = Some(String::new()),
            None => {}
        }
    }
    blocks
}

async fn run(server: &TestServer, client: &reqwest::Client, sql: &str) -> (u16, Value) {
    let response = client
        .post(server.url("/labs/sql/query"))
        .json(&json!({ "sql": sql }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Runs `sql`, which must succeed, and answers its rows.
async fn rows(server: &TestServer, client: &reqwest::Client, sql: &str) -> Vec<Value> {
    let (status, body) = run(server, client, sql).await;
    assert_eq!(status, 200, "{sql}\n{body}");
    body["rows"].as_array().expect("rows").clone()
}

/// The single number a `count(*)` query answers.
async fn count(server: &TestServer, client: &reqwest::Client, sql: &str) -> i64 {
    rows(server, client, sql).await[0][0]
        .as_i64()
        .unwrap_or_else(|| panic!("{sql} did not count"))
}

/// The lesson's block that contains `needle`.
fn block<'a>(blocks: &'a [String], needle: &str) -> &'a str {
    let found: Vec<&String> = blocks.iter().filter(|b| b.contains(needle)).collect();
    assert_eq!(found.len(), 1, "one sql block should contain {needle:?}");
    found[0]
}

#[tokio::test]
async fn the_lessons_fts5_walkthrough_gives_what_the_text_says() {
    let markdown = std::fs::read_to_string(repo_root().join(LESSON)).unwrap();
    let blocks = sql_blocks(&markdown);
    let server = TestServer::start().await;
    let student = server.browser();

    // Every block runs, in the order a student meets them.
    let mut answers = Vec::new();
    for sql in &blocks {
        answers.push(rows(&server, &student, sql).await);
    }
    let answer_of = |needle: &str| {
        let at = blocks
            .iter()
            .position(|b| b.contains(needle))
            .expect("the block is in the lesson");
        answers[at].clone()
    };

    // LIKE: 946 rows. MATCH on the freshly built index: the same 946,
    // the prefix query too, and the phrase in order.
    assert_eq!(answer_of("LIKE '%packed%'").len(), 946);
    assert!(markdown.contains("946 of the 8,000 reviews come back"));
    assert_eq!(answer_of("MATCH 'packed'")[0][0], 946);
    assert_eq!(answer_of("MATCH 'pack*'")[0][0], 946);
    assert_eq!(answer_of("MATCH '\"well packed\"'")[0][0], 946);
    assert_eq!(answer_of("MATCH 'great OR value' LIMIT 3").len(), 3);

    // The review added before the trigger was not indexed; the one added
    // after it was.
    assert_eq!(
        answer_of("SELECT count(*) FROM review_search WHERE review_search MATCH 'lamp'")[0][0],
        0
    );
    let after_trigger =
        answer_of("SELECT rowid, body FROM review_search WHERE review_search MATCH 'lamp'");
    assert_eq!(after_trigger.len(), 1, "{after_trigger:?}");
    assert_eq!(after_trigger[0][1], "Bright lamp, easy to set up.");

    // What the prose says without a block of its own.
    let like_lamp = "SELECT count(*) FROM reviews WHERE body LIKE '%lamp%'";
    assert!(markdown.contains(like_lamp));
    assert_eq!(count(&server, &student, like_lamp).await, 2);
    for (query, expected) in [
        (
            "SELECT count(*) FROM review_search WHERE review_search MATCH 'PACKED'",
            946,
        ),
        (
            "SELECT count(*) FROM review_search WHERE review_search MATCH 'pack'",
            0,
        ),
        (
            "SELECT count(*) FROM review_search WHERE review_search MATCH '\"packed well\"'",
            0,
        ),
    ] {
        assert_eq!(count(&server, &student, query).await, expected, "{query}");
    }
    let snippet = rows(
        &server,
        &student,
        "SELECT snippet(review_search, 0, '[', ']', '...', 8) FROM review_search WHERE review_search MATCH 'packed' LIMIT 1",
    )
    .await;
    assert_eq!(snippet[0][0], "Arrived quickly, well [packed].");

    // After another rebuild both lamps are found, and the ranking is the
    // one the lesson quotes.
    rows(&server, &student, block(&blocks, "VALUES ('rebuild')")).await;
    assert_eq!(
        rows(
            &server,
            &student,
            "SELECT rowid, body FROM review_search WHERE review_search MATCH 'lamp'"
        )
        .await
        .len(),
        2
    );
    let ranking_query = block(&blocks, "ORDER BY bm25(review_search), rowid LIMIT 5");
    let ranked = rows(&server, &student, ranking_query).await;
    assert_eq!(
        ranked[0][1],
        "[Great] [lamp]. [Great] light, [great] value."
    );
    assert_eq!(ranked[0][2], -7.87);
    assert_eq!(ranked[1][1], "Bright [lamp], easy to set up.");
    assert_eq!(ranked[1][2], -5.39);
    assert_eq!(ranked[2][1], "[Great] value for the price.");
    assert_eq!(ranked[2][2], -1.48);
    assert!(markdown.contains("about -7.87") && markdown.contains("about -5.39"));
    assert!(markdown.contains("about -1.48"));
    let all = ranking_query.replace("LIMIT 5", "");
    assert_eq!(rows(&server, &student, &all).await.len(), 966);
    assert!(markdown.contains("966 reviews match"));

    // The delete trigger keeps the index in step too.
    rows(
        &server,
        &student,
        "DELETE FROM reviews WHERE body = 'Bright lamp, easy to set up.'",
    )
    .await;
    assert_eq!(
        count(
            &server,
            &student,
            "SELECT count(*) FROM review_search WHERE review_search MATCH 'lamp'"
        )
        .await,
        1
    );

    // The inverted index drawn in the text: each word's first three reviews.
    for word in ["broke", "packed"] {
        let ids = rows(
            &server,
            &student,
            &format!("SELECT group_concat(id, ', ') FROM (SELECT id FROM reviews WHERE body LIKE '%{word}%' ORDER BY id LIMIT 3)"),
        )
        .await;
        let line = format!("{word:<9} → {}, ...", ids[0][0].as_str().unwrap());
        assert!(markdown.contains(&line), "the lesson should draw {line:?}");
    }

    // The warehouse query: 32 rows.
    assert_eq!(answer_of("GROUP BY category, year").len(), 32);
    assert!(markdown.contains("32 rows, but it reads all 36,056 order items"));
}

#[tokio::test]
async fn fts5_is_the_only_virtual_table_and_its_shadow_tables_stay_read_only() {
    let server = TestServer::start().await;
    let student = server.browser();
    rows(
        &server,
        &student,
        "CREATE VIRTUAL TABLE review_search USING fts5(body, content='reviews', content_rowid='id')",
    )
    .await;
    for refused in [
        "CREATE VIRTUAL TABLE words USING fts4(body)",
        "CREATE VIRTUAL TABLE boxes USING rtree(id, lo, hi)",
    ] {
        let (status, body) = run(&server, &student, refused).await;
        assert_eq!(status, 403, "{refused}: {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("virtual tables are refused"),
            "{body}"
        );
    }
    // SQLITE_DBCONFIG_DEFENSIVE: the index's own tables cannot be forged.
    for write in [
        "INSERT INTO review_search_data VALUES (99, x'00')",
        "DELETE FROM review_search_idx",
    ] {
        let (status, body) = run(&server, &student, write).await;
        assert_ne!(status, 200, "{write}: {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("may not be modified"),
            "{body}"
        );
    }
    // Other pragmas are still refused; dropping the index works.
    let (status, _) = run(&server, &student, "PRAGMA journal_mode = off").await;
    assert_eq!(status, 403);
    rows(&server, &student, "DROP TABLE review_search").await;
}

#[tokio::test]
async fn the_exercise_takes_plain_sql_and_not_copied_rows() {
    let server = TestServer::start().await;
    let student = server.browser();
    let attempt = |sql: String| {
        let client = student.clone();
        let url = server.url("/api/exercises/sql-reviews-that-mention/attempts");
        async move {
            let response = client
                .post(url)
                .json(&json!({ "answer": { "sql": sql } }))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    let like =
        "SELECT product_id, count(*) FROM reviews WHERE body LIKE '%broke%' GROUP BY product_id";
    let passed = attempt(like.to_string()).await;
    assert_eq!(passed["outcome"]["score"], 2, "{passed}");

    // The course's rows spelled out do not pass on the hidden dataset.
    let course_rows = rows(&server, &student, like).await;
    assert!(!course_rows.is_empty());
    let values: Vec<String> = course_rows
        .iter()
        .map(|r| format!("({}, {})", r[0], r[1]))
        .collect();
    let copied = format!("SELECT * FROM (VALUES {})", values.join(", "));
    let failed = attempt(copied).await;
    assert!(failed["outcome"]["score"].as_u64() < Some(2), "{failed}");
}
