//! The SQL lab over real HTTP: queries in each student's own sandbox, the
//! guard rails, plans and indexes, transactions, N+1, and `sql` grading.

use crate::common::TestServer;
use serde_json::{json, Value};

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

async fn attempt(
    server: &TestServer,
    client: &reqwest::Client,
    exercise: &str,
    answer: Value,
) -> Value {
    let response = client
        .post(server.url(&format!("/api/exercises/{exercise}/attempts")))
        .json(&json!({ "answer": answer }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "attempt at {exercise}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_join_returns_named_typed_columns_rows_and_a_time() {
    let server = TestServer::start().await;
    let student = server.browser();
    let (status, body) = run(
        &server,
        &student,
        "SELECT o.id, c.name, o.status FROM orders AS o JOIN customers AS c ON c.id = o.customer_id WHERE o.customer_id = 42 ORDER BY o.id",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let columns = body["columns"].as_array().unwrap();
    assert_eq!(columns[0], json!({ "name": "id", "decl_type": "INTEGER" }));
    assert_eq!(columns[1]["name"], "name");
    assert_eq!(body["row_count"], 17);
    assert!(body["rows"][0][0].is_i64());
    assert!(body["elapsed_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(body["truncated"], false);
    let plan = body["plan"]["details"].as_array().unwrap();
    assert!(
        plan.iter()
            .any(|d| d.as_str().unwrap().starts_with("SCAN o")),
        "{plan:?}"
    );
}

#[tokio::test]
async fn errors_are_4xx_with_sqlites_message_and_the_position() {
    let server = TestServer::start().await;
    let student = server.browser();
    let (status, body) = run(&server, &student, "SELECT id,\n  nmae FROM customers").await;
    assert_eq!(status, 400);
    assert_eq!(body["kind"], "syntax");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("no such column: nmae"), "{body}");
    assert_eq!(body["position"], json!({ "line": 2, "column": 3 }));
    let (status, body) = run(&server, &student, "SELECT name FROM customer").await;
    assert_eq!(status, 400);
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("no such table: customer"), "{body}");
    let (status, body) = run(&server, &student, "SELECT 1; DELETE FROM orders").await;
    assert_eq!(status, 400);
    assert_eq!(body["kind"], "shape");
    let (_, count) = run(&server, &student, "SELECT count(*) FROM orders").await;
    assert_eq!(
        count["rows"][0][0], 12_000,
        "the second statement never ran"
    );
    let (status, body) = run(
        &server,
        &student,
        "INSERT INTO accounts (id, owner, balance) VALUES (9, 'Eve', -5)",
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("CHECK constraint failed"),
        "{body}"
    );
    let malformed = student
        .post(server.url("/labs/sql/query"))
        .header("content-type", "application/json")
        .body("{\"query\": 1}")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 422);
}

#[tokio::test]
async fn a_runaway_query_is_stopped_while_other_requests_are_served() {
    let server = TestServer::start().await;
    let (runaway_student, other_student) = (server.browser(), server.browser());
    // Both sandboxes exist before the race starts.
    run(&server, &runaway_student, "SELECT 1").await;
    run(&server, &other_student, "SELECT 1").await;
    let started = std::time::Instant::now();
    let runaway = run(
        &server,
        &runaway_student,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n",
    );
    let others = async {
        let (status, body) = run(&server, &other_student, "SELECT count(*) FROM customers").await;
        let page = server.get("/").await.status();
        (status, body, page, std::time::Instant::now())
    };
    let ((runaway_status, runaway_body), (status, body, page, others_done)) =
        tokio::join!(runaway, others);
    let runaway_done = std::time::Instant::now();
    assert_eq!(runaway_status, 422, "{runaway_body}");
    assert_eq!(runaway_body["kind"], "timeout");
    assert!(runaway_done - started < std::time::Duration::from_secs(10));
    assert_eq!((status, page.as_u16()), (200, 200));
    assert_eq!(body["rows"][0][0], 2000);
    assert!(
        others_done < runaway_done,
        "the other student did not wait for the runaway"
    );
}

#[tokio::test]
async fn the_sandbox_refuses_to_reach_outside_itself() {
    let server = TestServer::start().await;
    let student = server.browser();
    let platform = server.data_dir.path().join("workbench.db");
    for sql in [
        format!("ATTACH DATABASE '{}' AS platform", platform.display()),
        "SELECT load_extension('/usr/lib/x86_64-linux-gnu/libsqlite3.so')".to_string(),
        "PRAGMA writable_schema = ON".to_string(),
        "PRAGMA journal_mode = DELETE".to_string(),
        format!(
            "VACUUM INTO '{}'",
            server.data_dir.path().join("copy.db").display()
        ),
    ] {
        let (status, body) = run(&server, &student, &sql).await;
        assert_eq!(status, 403, "{sql}: {body}");
        assert_eq!(body["kind"], "refused");
    }
    for platform_table in [
        "students",
        "accounts_platform",
        "tower_sessions",
        "attempts",
    ] {
        let (status, body) = run(
            &server,
            &student,
            &format!("SELECT * FROM {platform_table}"),
        )
        .await;
        assert_eq!(status, 400, "{platform_table}: {body}");
    }
    let (_, tables) = run(
        &server,
        &student,
        "SELECT group_concat(name) FROM sqlite_schema WHERE type = 'table'",
    )
    .await;
    assert_eq!(
        tables["rows"][0][0],
        "categories,sellers,customers,products,orders,order_items,reviews,accounts,\
         users,sessions,refresh_tokens,listings,oauth_codes,oauth_pending,\
         api_idempotency_keys,api_replays,api_lost_responses",
        "the shop, with the auth and API labs' tables"
    );
    assert!(!server.data_dir.path().join("copy.db").exists());
}

#[tokio::test]
async fn a_huge_result_is_capped() {
    let server = TestServer::start().await;
    let student = server.browser();
    let (status, body) = run(
        &server,
        &student,
        "SELECT a.order_id, b.order_id FROM order_items AS a, order_items AS b",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["row_count"], 1000);
    assert_eq!(body["truncated"], true);
}

#[tokio::test]
async fn two_students_sandboxes_are_isolated_and_reset_restores_the_shop() {
    let server = TestServer::start().await;
    let (ada, bob) = (server.browser(), server.browser());
    let (status, body) = run(&server, &ada, "DELETE FROM reviews").await;
    assert_eq!((status, body["changes"].as_u64()), (200, Some(8000)));
    run(&server, &ada, "CREATE TABLE notes (body TEXT)").await;
    let (_, mine) = run(&server, &ada, "SELECT count(*) FROM reviews").await;
    let (_, theirs) = run(&server, &bob, "SELECT count(*) FROM reviews").await;
    assert_eq!(
        (mine["rows"][0][0].as_i64(), theirs["rows"][0][0].as_i64()),
        (Some(0), Some(8000))
    );
    let (status, _) = run(&server, &bob, "SELECT * FROM notes").await;
    assert_eq!(status, 400, "bob cannot see ada's table");

    let reset = ada
        .delete(server.url("/labs/sql/sandbox"))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 204);
    let (_, after) = run(&server, &ada, "SELECT count(*) FROM reviews").await;
    assert_eq!(after["rows"][0][0], 8000);
}

#[tokio::test]
async fn an_index_turns_the_scan_into_a_search_in_the_plan_the_schema_and_the_experiment() {
    let server = TestServer::start().await;
    let student = server.browser();
    let query = "SELECT id FROM orders WHERE customer_id = 42";
    let plan = |sql: &'static str| {
        let student = student.clone();
        let url = server.url("/labs/sql/plan");
        async move {
            let body: Value = student
                .post(url)
                .json(&json!({ "sql": sql }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["details"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(plan(query).await, vec!["SCAN orders"]);

    let experiment: Value = student
        .post(server.url("/labs/sql/index-experiment"))
        .json(&json!({ "query": query, "index": "CREATE INDEX idx_orders_customer ON orders (customer_id)" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        experiment["before"]["plan"]["details"],
        json!(["SCAN orders"])
    );
    let after = experiment["after"]["plan"]["details"][0].as_str().unwrap();
    assert!(
        after.starts_with("SEARCH orders USING COVERING INDEX idx_orders_customer"),
        "{after}"
    );
    assert_eq!(experiment["before"]["runs_ms"].as_array().unwrap().len(), 5);
    assert_eq!(experiment["after"]["row_count"], 17);

    let schema = server.json(&student, "/labs/sql/schema").await;
    let orders = schema["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "orders")
        .unwrap();
    assert_eq!(orders["row_count"], 12_000);
    assert_eq!(
        orders["foreign_keys"][0],
        json!({ "from": "customer_id", "table": "customers", "to": "id" })
    );
    assert!(orders["indexes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["name"] == "idx_orders_customer" && i["columns"] == json!(["customer_id"])));
    let items = schema["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "order_items")
        .unwrap();
    let pk: Vec<&Value> = items["columns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["primary_key"].as_i64() > Some(0))
        .collect();
    assert_eq!(pk.len(), 2, "order_items has a composite key");

    // The index check grades the student's own sandbox.
    let graded = attempt(&server, &student, "sql-index-orders-by-customer", json!({})).await;
    assert_eq!(
        graded["outcome"]["score"], graded["outcome"]["max"],
        "{graded}"
    );
    let fresh = server.browser();
    let ungraded = attempt(&server, &fresh, "sql-index-orders-by-customer", json!({})).await;
    assert_eq!(ungraded["outcome"]["score"], 0);
}

#[tokio::test]
async fn the_withdrawal_loses_an_update_until_the_settings_fix_it() {
    let server = TestServer::start().await;
    let student = server.browser();
    let report: Value = student
        .post(server.url("/labs/sql/withdrawal"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["final_balance"], 250);
    assert_eq!(report["lost_update"], true);
    let failed = attempt(&server, &student, "sql-withdrawal-fix", json!({})).await;
    assert_eq!(failed["outcome"]["score"].as_u64(), Some(2), "{failed}");

    let saved = student
        .put(server.url("/labs/sql/settings"))
        .json(&json!({ "transaction": "immediate", "withdrawal": "read_then_write", "retry_on_busy": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    let report: Value = student
        .post(server.url("/labs/sql/withdrawal"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["final_balance"], 150, "{report}");
    let sessions: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["session"].as_str().unwrap())
        .collect();
    assert!(sessions.contains(&"A") && sessions.contains(&"B"));
    let passed = attempt(&server, &student, "sql-withdrawal-fix", json!({})).await;
    assert_eq!(
        passed["outcome"]["score"], passed["outcome"]["max"],
        "{passed}"
    );

    let transfer: Value = student
        .post(server.url("/labs/sql/transfer"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(transfer[0]["money_conserved"], false);
    assert_eq!(transfer[1]["money_conserved"], true);
    assert_eq!(transfer[1]["balances"], json!([300, 0]));
}

async fn trace_queries(
    server: &TestServer,
    client: &reqwest::Client,
    response: &reqwest::Response,
) -> usize {
    let trace_id = response.headers()["traceresponse"]
        .to_str()
        .unwrap()
        .split('-')
        .nth(1)
        .unwrap()
        .to_string();
    let trace = server
        .json(client, &format!("/api/traces/{trace_id}"))
        .await;
    trace["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "sql.query")
        .count()
}

#[tokio::test]
async fn n_plus_one_and_join_serve_the_same_orders_with_different_query_counts() {
    let server = TestServer::start().await;
    let student = server.browser();
    let lazy = student
        .get(server.url("/labs/sql/customers/42/orders?strategy=n-plus-one"))
        .send()
        .await
        .unwrap();
    let lazy_queries = trace_queries(&server, &student, &lazy).await;
    let lazy: Value = lazy.json().await.unwrap();
    let joined = student
        .get(server.url("/labs/sql/customers/42/orders?strategy=join"))
        .send()
        .await
        .unwrap();
    let joined_queries = trace_queries(&server, &student, &joined).await;
    let joined: Value = joined.json().await.unwrap();
    assert_eq!(lazy["orders"].as_array().unwrap().len(), 17);
    assert_eq!(lazy["orders"], joined["orders"]);
    assert_eq!(
        (lazy["queries"].as_u64(), joined["queries"].as_u64()),
        (Some(19), Some(1))
    );
    assert_eq!((lazy_queries, joined_queries), (19, 1));

    let missing = student
        .get(server.url("/labs/sql/customers/999999/orders"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let bad = student
        .get(server.url("/labs/sql/customers/42/orders?strategy=eager"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn sql_answers_are_graded_on_the_course_and_the_hidden_dataset() {
    let server = TestServer::start().await;
    let student = server.browser();
    // An equivalent query in another form passes.
    let passed = attempt(
        &server,
        &student,
        "sql-never-ordered",
        json!({ "sql": "SELECT c.id, c.email FROM customers c LEFT JOIN orders o ON o.customer_id = c.id WHERE o.id IS NULL ORDER BY c.email" }),
    )
    .await;
    assert_eq!(
        passed["outcome"]["score"], passed["outcome"]["max"],
        "{passed}"
    );

    // Rows copied from the course dataset pass there and fail on the hidden one.
    let (_, visible) = run(&server, &student, "SELECT c.id, c.email FROM customers c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id)").await;
    let literal_rows: Vec<String> = visible["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("({}, '{}')", r[0], r[1].as_str().unwrap()))
        .collect();
    let hard_coded = format!("SELECT * FROM (VALUES {})", literal_rows.join(", "));
    let copied = attempt(
        &server,
        &student,
        "sql-never-ordered",
        json!({ "sql": hard_coded }),
    )
    .await;
    let checks = copied["outcome"]["checks"].as_array().unwrap();
    assert_eq!(checks[0]["passed"], true, "{copied}");
    assert_eq!(checks[1]["passed"], false);
    let hidden_feedback = checks[1]["observed"].as_str().unwrap();
    assert!(hidden_feedback.contains("missing"), "{hidden_feedback}");
    assert!(
        !hidden_feedback.contains('@'),
        "no hidden rows are shown: {hidden_feedback}"
    );

    // Order matters only where the exercise says so.
    let reversed_unordered = attempt(
        &server,
        &student,
        "sql-left-join",
        json!({ "sql": "SELECT c.id, c.name, count(o.id) FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY c.id ORDER BY c.id DESC" }),
    )
    .await;
    assert_eq!(
        reversed_unordered["outcome"]["score"],
        reversed_unordered["outcome"]["max"]
    );
    let best_sellers = "SELECT p.id, p.name, sum(i.quantity) AS units FROM products p JOIN order_items i ON i.product_id = p.id JOIN orders o ON o.id = i.order_id WHERE o.status != 'cancelled' GROUP BY p.id";
    let right_order = attempt(
        &server,
        &student,
        "sql-best-sellers-ordered",
        json!({ "sql": format!("{best_sellers} ORDER BY units DESC, p.name") }),
    )
    .await;
    assert_eq!(
        right_order["outcome"]["score"], right_order["outcome"]["max"],
        "ties may come in any order: {right_order}"
    );
    let wrong_order = attempt(
        &server,
        &student,
        "sql-best-sellers-ordered",
        json!({ "sql": format!("{best_sellers} ORDER BY units ASC") }),
    )
    .await;
    assert_eq!(wrong_order["outcome"]["score"], 0);
    assert!(wrong_order["outcome"]["checks"][0]["observed"]
        .as_str()
        .unwrap()
        .contains("wrong order"));

    // A write is never run by the grader.
    let write = attempt(
        &server,
        &student,
        "sql-never-ordered",
        json!({ "sql": "DELETE FROM customers" }),
    )
    .await;
    assert_eq!(write["outcome"]["score"], 0);
    assert!(write["outcome"]["checks"][0]["observed"]
        .as_str()
        .unwrap()
        .contains("only reads"));

    // The reference query never reaches the browser.
    let view = server
        .text(&student, "/api/exercises/sql-never-ordered")
        .await;
    assert!(!view.contains("NOT EXISTS"), "{view}");
}

#[tokio::test]
async fn a_guest_who_signs_in_keeps_their_sandbox() {
    let server = TestServer::start().await;
    let laptop = server.browser();
    let signed_up = laptop
        .post(server.url("/auth/signup"))
        .json(&json!({ "name": "Ada", "email": "ada@example.com", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_up.status(), 201);
    laptop
        .post(server.url("/auth/signout"))
        .send()
        .await
        .unwrap();

    let phone = server.browser();
    let (status, _) = run(&server, &phone, "CREATE TABLE notes (body TEXT)").await;
    assert_eq!(status, 200);
    let signed_in = phone
        .post(server.url("/auth/signin"))
        .json(&json!({ "email": "ada@example.com", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 200);
    let (status, body) = run(&server, &phone, "SELECT count(*) FROM notes").await;
    assert_eq!(status, 200, "the guest's table came along: {body}");
}

#[tokio::test]
async fn the_app_style_endpoint_survives_whatever_the_student_did_to_their_tables() {
    let server = TestServer::start().await;
    let student = server.browser();
    for sql in [
        "ALTER TABLE customers RENAME TO customers_old",
        "CREATE VIEW customers AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT 1 AS id, 'x' AS name, 'y' AS email FROM n WHERE i < 0",
    ] {
        let (status, body) = run(&server, &student, sql).await;
        assert_eq!(status, 200, "{sql}: {body}");
    }
    let started = std::time::Instant::now();
    let endless = student
        .get(server.url("/labs/sql/customers/1/orders?strategy=join"))
        .send()
        .await
        .unwrap();
    assert_eq!(endless.status(), 422, "{}", endless.text().await.unwrap());
    assert!(started.elapsed() < std::time::Duration::from_secs(10));

    // A column turned into something else: a 4xx that says so, not a 500.
    student
        .delete(server.url("/labs/sql/sandbox"))
        .send()
        .await
        .unwrap();
    let (status, _) = run(
        &server,
        &student,
        "UPDATE customers SET name = x'00ff' WHERE id = 5",
    )
    .await;
    assert_eq!(status, 200);
    let odd = student
        .get(server.url("/labs/sql/customers/5/orders?strategy=n-plus-one"))
        .send()
        .await
        .unwrap();
    assert_eq!(odd.status(), 422);
}

/// Runs the withdrawal demo under `settings`, as the widget does.
async fn withdraw(server: &TestServer, student: &reqwest::Client, settings: Value) -> Value {
    let saved = student
        .put(server.url("/labs/sql/settings"))
        .json(&settings)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    student
        .post(server.url("/labs/sql/withdrawal"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The index of the first step of `session` whose SQL starts with `sql`.
fn step_of(report: &Value, session: &str, sql: &str) -> usize {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .position(|s| s["session"] == session && s["sql"].as_str().unwrap().starts_with(sql))
        .unwrap_or_else(|| panic!("no {session} {sql}: {report}"))
}

#[tokio::test]
async fn a_deferred_withdrawal_that_read_is_refused_at_once_as_sqlite_does() {
    let server = TestServer::start().await;
    let student = server.browser();
    let deferred = json!({ "transaction": "deferred", "withdrawal": "read_then_write", "retry_on_busy": false });
    let report = withdraw(&server, &student, deferred).await;
    assert_eq!(report["completed"], json!([true, false]), "{report}");
    assert_eq!(report["final_balance"], 200);
    // B has read, so SQLite answers busy without calling the busy handler:
    // B's UPDATE fails while A still holds the lock, and nobody waits.
    let steps = report["steps"].as_array().unwrap();
    assert!(
        !steps
            .iter()
            .any(|s| s["outcome"].as_str().unwrap().contains("waits")),
        "{report}"
    );
    let refused = step_of(&report, "B", "UPDATE");
    assert_eq!(steps[refused]["ok"], false);
    assert!(
        steps[refused]["outcome"]
            .as_str()
            .unwrap()
            .starts_with("database is locked, at once"),
        "{report}"
    );
    assert!(refused < step_of(&report, "A", "COMMIT"));
    let failed = attempt(&server, &student, "sql-withdrawal-fix", json!({})).await;
    assert_ne!(
        failed["outcome"]["score"], failed["outcome"]["max"],
        "{failed}"
    );

    // Starting the whole withdrawal again is the cure: B then reads 200.
    let retried = withdraw(
        &server,
        &student,
        json!({ "transaction": "deferred", "withdrawal": "read_then_write", "retry_on_busy": true }),
    )
    .await;
    assert_eq!(retried["completed"], json!([true, true]), "{retried}");
    assert_eq!(retried["final_balance"], 150);
    let passed = attempt(&server, &student, "sql-withdrawal-fix", json!({})).await;
    assert_eq!(
        passed["outcome"]["score"], passed["outcome"]["max"],
        "{passed}"
    );

    // BEGIN IMMEDIATE has read nothing yet: there SQLite would wait.
    let immediate = withdraw(
        &server,
        &student,
        json!({ "transaction": "immediate", "withdrawal": "read_then_write", "retry_on_busy": false }),
    )
    .await;
    let waited = step_of(&immediate, "B", "BEGIN IMMEDIATE");
    assert!(
        immediate["steps"][waited]["outcome"]
            .as_str()
            .unwrap()
            .contains("waits"),
        "{immediate}"
    );
    assert_eq!(immediate["final_balance"], 150);
}

#[tokio::test]
async fn the_keys_exercise_takes_a_query_not_rows_copied_from_the_course() {
    let server = TestServer::start().await;
    let student = server.browser();
    let (_, visible) = run(
        &server,
        &student,
        "SELECT order_id, quantity FROM order_items WHERE product_id = 466",
    )
    .await;
    let rows: Vec<String> = visible["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("({}, {})", r[0], r[1]))
        .collect();
    assert_eq!(rows.len(), 23, "{visible}");
    let copied = attempt(
        &server,
        &student,
        "sql-orders-with-product",
        json!({ "sql": format!("SELECT * FROM (VALUES {})", rows.join(", ")) }),
    )
    .await;
    let checks = copied["outcome"]["checks"].as_array().unwrap();
    assert_eq!(checks[0]["passed"], true, "{copied}");
    assert_eq!(checks[1]["passed"], false, "the hidden dataset differs");
    assert_ne!(copied["outcome"]["score"], copied["outcome"]["max"]);

    let by_order = attempt(
        &server,
        &student,
        "sql-orders-with-product",
        json!({ "sql": "SELECT order_id, quantity FROM order_items WHERE order_id = 466" }),
    )
    .await;
    assert_eq!(by_order["outcome"]["score"], 0, "{by_order}");

    let passed = attempt(
        &server,
        &student,
        "sql-orders-with-product",
        json!({ "sql": "SELECT oi.order_id, oi.quantity FROM order_items AS oi WHERE oi.product_id = 466 ORDER BY oi.quantity DESC" }),
    )
    .await;
    assert_eq!(
        passed["outcome"]["score"], passed["outcome"]["max"],
        "{passed}"
    );
}
