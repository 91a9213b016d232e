//! Attacks from the security review (issue "Security fixes"), each tried the
//! way an attacker would, over real HTTP: every one must now fail to do harm.
//! The browser half of the XSS (the link opened by a signed-in admin) is
//! `end2end/tests/security.test.mjs`; the floods are in `fair_share.rs`.

use crate::common::{make_role, TestServer};
use reqwest::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, X_CONTENT_TYPE_OPTIONS};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use server::accounts::Role;
use server::labs::LAB_RESPONSE_POLICY;

/// `text` percent-encoded for a query string.
fn encoded(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn sign_up(server: &TestServer, name: &str, email: &str) -> Client {
    let client = server.browser();
    let response = client
        .post(server.url("/auth/signup"))
        .json(&json!({ "name": name, "email": email, "password": "a long enough passphrase" }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success() || response.status().is_redirection());
    client
}

#[tokio::test]
async fn html_a_link_puts_in_a_lab_response_runs_nothing_in_our_origin() {
    let server = TestServer::start().await;
    let victim = server.browser();
    let script = "<script>fetch('/api/instructor/tokens',{method:'POST'})</script>";
    let path = format!(
        "/labs/http/status/200?content_type=text/html&body={}",
        encoded(script)
    );
    let response = victim.get(server.url(&path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "the lab still serves the specimen");
    let policy = response.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert_eq!(policy, LAB_RESPONSE_POLICY);
    assert!(
        policy.starts_with("sandbox;"),
        "an opaque origin, no scripts"
    );
    assert!(
        !policy.contains("sha256-"),
        "no script in the body is ever allowed"
    );
    assert_eq!(response.headers()[X_CONTENT_TYPE_OPTIONS], "nosniff");

    // The policy cannot be replaced, dropped or weakened through the query.
    for header in [
        "Content-Security-Policy: script-src *",
        "Content-Security-Policy-Report-Only: default-src *",
        "X-Content-Type-Options: sniff",
        "Refresh: 0;url=https://evil.example/",
        "Location: https://evil.example/",
        "Set-Cookie: workbench_session=attacker",
        "Clear-Site-Data: \"cookies\"",
        "Content-Type: text/javascript",
        "WWW-Authenticate: Basic realm=\"Workbench sign-in\"",
    ] {
        let response = victim
            .get(server.url(&format!("/labs/http/status/401?header={}", encoded(header))))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{header}");
        assert_eq!(
            response.headers()[CONTENT_SECURITY_POLICY],
            LAB_RESPONSE_POLICY,
            "even refusals are sandboxed"
        );
        let body: Value = response.json().await.unwrap();
        assert!(
            body["message"].as_str().unwrap().len() > 20,
            "{header}: {body}"
        );
    }

    // No script gadget: a body that `<script src>` could load is refused.
    for content_type in ["text/javascript", "application/javascript", "text/css"] {
        let response = victim
            .get(server.url(&format!(
                "/labs/http/status/200?content_type={}&body=alert(1)",
                encoded(content_type)
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{content_type}");
    }

    // Every lab's responses carry the sandbox, not only the HTTP lab's.
    for path in [
        "/labs/http/echo",
        "/labs/http/negotiate",
        "/labs/auth/users",
        "/labs/sql/schema",
        "/labs/cache/stats",
        "/labs/nowhere",
    ] {
        let response = victim.get(server.url(path)).send().await.unwrap();
        assert_eq!(
            response.headers()[CONTENT_SECURITY_POLICY],
            LAB_RESPONSE_POLICY,
            "{path}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn redirect_tricks_are_refused_and_plain_paths_still_redirect() {
    let server = TestServer::start().await;
    let client = server.browser();
    for location in [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        "/\\evil.example",
        "//evil.example",
        "https://evil.example/",
        " //evil.example",
        "/\u{3000}/evil.example",
    ] {
        let response = client
            .get(server.url(&format!(
                "/labs/http/status/302?location={}",
                encoded(location)
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{location:?}");
        assert!(response.headers().get(LOCATION).is_none(), "{location:?}");
    }
    let fine = client
        .get(server.url("/labs/http/status/302?location=/labs/http/echo?from=%2F%2Fx"))
        .send()
        .await
        .unwrap();
    assert_eq!(fine.status(), 302);
    assert_eq!(fine.headers()[LOCATION], "/labs/http/echo?from=//x");
    server.stop().await;
}

#[tokio::test]
async fn pages_allow_only_the_shells_own_inline_scripts() {
    // A lesson with a script of its own in its raw HTML.
    let course = crate::common::copy_of_course();
    let lesson = course.path().join("lessons/01-http/01-anatomy.md");
    let mut text = std::fs::read_to_string(&lesson).unwrap();
    text.push_str("\n<script>document.title = 'from the lesson'</script>\n");
    std::fs::write(&lesson, text).unwrap();
    let server = TestServer::start_with(course.path().to_path_buf(), false).await;

    let page = server.get("/lessons/http/anatomy").await;
    assert_eq!(page.status(), 200);
    let policy = page.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_string();
    let html = page.text().await.unwrap();
    assert!(
        html.contains("from the lesson"),
        "the lesson's HTML is on the page"
    );
    let hash = server::csp::script_source;
    assert!(
        !policy.contains(&hash("document.title = 'from the lesson'")),
        "a script in the page's body is not the shell's: {policy}"
    );
    // Every script the framework put there itself is allowed, or the page would not hydrate.
    let head_end = html.find("</head>").unwrap();
    let nonce = html[..head_end]
        .split("nonce=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("Leptos gives its scripts a nonce");
    for (i, script) in html.split("<script").skip(1).enumerate() {
        let (attributes, rest) = script.split_once('>').unwrap();
        let content = rest.split("</script>").next().unwrap();
        let at = html.match_indices("<script").nth(i).unwrap().0;
        let ours = at < head_end || attributes.contains(&format!("nonce=\"{nonce}\""));
        if attributes.contains("src=") || content.is_empty() {
            continue;
        }
        assert_eq!(
            policy.contains(&hash(content)),
            ours,
            "{attributes} {content:.60}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn the_oauth_demo_encodes_a_hostile_state_instead_of_failing() {
    let server = TestServer::start().await;
    let student = server.browser();
    for (path, body) in [
        (
            "/labs/auth/users",
            json!({ "username": "ada", "password": "hunter2", "role": "buyer" }),
        ),
        (
            "/labs/auth/login",
            json!({ "username": "ada", "password": "hunter2" }),
        ),
    ] {
        let response = student
            .post(server.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}");
    }
    let challenge =
        server::labs::auth::oauth::challenge_of("a-verifier-long-enough-for-pkce-0123456789xyz");
    let authorize = |state: &str, challenge: &str| {
        format!(
            "/labs/auth/oauth/authorize?response_type=code&client_id=demo-shop&redirect_uri=%2Flabs%2Fauth%2Foauth%2Fcallback&state={}&code_challenge={challenge}&code_challenge_method=S256",
            encoded(state)
        )
    };
    let hostile = "s\r\nSet-Cookie: workbench_session=attacker&code=forged";
    let response = student
        .get(server.url(&authorize(hostile, &challenge)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "redirected back, not a 500");
    let location = response.headers()[LOCATION].to_str().unwrap();
    assert!(
        location.starts_with("/labs/auth/oauth/callback?code="),
        "{location}"
    );
    let query: Vec<(String, String)> =
        form_urlencoded::parse(location.split_once('?').unwrap().1.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(query.len(), 2, "no parameter smuggled in: {location}");
    assert_eq!(query[1], ("state".to_string(), hostile.to_string()));
    assert!(response
        .headers()
        .get_all("set-cookie")
        .iter()
        .all(|c| !c.to_str().unwrap().contains("attacker")));

    for (state, challenge) in [
        ("x".repeat(600), challenge.clone()),
        ("s".to_string(), "short".to_string()),
        ("s".to_string(), format!("{challenge}%0d%0a")),
    ] {
        let response = student
            .get(server.url(&authorize(&state, &challenge)))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{state:.20} {challenge}");
    }
    server.stop().await;
}

#[tokio::test]
async fn reading_made_up_lessons_records_nothing() {
    let server = TestServer::start().await;
    let student = server.browser();
    // A lab request makes this client a guest with a cookie.
    student
        .get(server.url("/labs/http/echo"))
        .send()
        .await
        .unwrap();
    for i in 0..50 {
        let made_up = format!("/lessons/http/no-such-lesson-{i}-{}", "x".repeat(2_000));
        let response = student.get(server.url(&made_up)).send().await.unwrap();
        assert_eq!(response.status(), 404);
    }
    let real = student
        .get(server.url("/lessons/http/anatomy"))
        .send()
        .await
        .unwrap();
    assert_eq!(real.status(), 200);
    let read: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM lessons_read")
        .fetch_one(&server.state.pool)
        .await
        .unwrap();
    assert_eq!(read, 1, "only the lesson that exists");
    let progress = server.json(&student, "/api/progress").await;
    assert!(progress.to_string().contains("anatomy"), "{progress}");
    server.stop().await;
}

#[tokio::test]
async fn padded_requests_and_many_attempts_keep_the_database_small() {
    let server = TestServer::start().await;
    let student = server.browser();
    let padding = "p".repeat(8 * 1024);
    for i in 0..200 {
        let mut request = student.get(server.url(&format!("/labs/http/echo/{i}")));
        for h in 0..20 {
            request = request.header(format!("x-pad-{h}"), &padding);
        }
        assert_eq!(request.send().await.unwrap().status(), 200);
    }
    // The one request the exercise asks for, among the padded ones.
    let order = student
        .post(server.url("/labs/http/echo/orders"))
        .json(&json!({ "item": "tea", "quantity": 2 }))
        .send()
        .await
        .unwrap();
    assert_eq!(order.status(), 200);
    for _ in 0..10 {
        let attempt = student
            .post(server.url("/api/exercises/http-send-json-order/attempts"))
            .json(&json!({ "answer": {} }))
            .send()
            .await
            .unwrap();
        assert_eq!(attempt.status(), 200);
        let graded: Value = attempt.json().await.unwrap();
        assert_eq!(
            graded["outcome"]["score"], graded["outcome"]["max"],
            "{graded}"
        );
    }
    let (count, stored): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), CAST(SUM(LENGTH(answer)) AS BIGINT) FROM attempts")
            .fetch_one(&server.state.pool)
            .await
            .unwrap();
    assert_eq!(count, 10);
    assert!(
        stored < 10 * 2 * 1024,
        "each attempt keeps the one judged request, not 200 padded ones: {stored} bytes"
    );
    let kept: Value = serde_json::from_str(
        &sqlx::query_scalar::<_, String>("SELECT answer FROM attempts LIMIT 1")
            .fetch_one(&server.state.pool)
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(kept["requests"].as_array().unwrap().len(), 1);
    assert_eq!(kept["requests"][0]["path"], "/labs/http/echo/orders");

    // A student's own answer is bounded too.
    let huge = student
        .post(server.url("/api/exercises/http-status-created/attempts"))
        .json(&json!({ "answer": "x".repeat(40 * 1024) }))
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(huge.text().await.unwrap().contains("KiB"));
    server.stop().await;
}

#[tokio::test]
async fn a_trace_keeps_padded_headers_within_its_budget() {
    let server = TestServer::start().await;
    let student = server.browser();
    let padding = "p".repeat(20 * 1024);
    let mut request = student.get(server.url("/labs/http/echo"));
    for h in 0..15 {
        request = request.header(format!("x-pad-{h}"), &padding);
    }
    let response = request.send().await.unwrap();
    let trace_id = response.headers()["traceresponse"]
        .to_str()
        .unwrap()
        .split('-')
        .nth(1)
        .unwrap()
        .to_string();
    let trace = server
        .json(&student, &format!("/api/traces/{trace_id}"))
        .await;
    let headers = trace["request_headers"].as_array().unwrap();
    let bytes: usize = headers
        .iter()
        .map(|h| h[0].as_str().unwrap().len() + h[1].as_str().unwrap().len())
        .sum();
    assert!(
        bytes <= server::inspector::limits::MAX_HEADERS_BYTES + 200,
        "{bytes}"
    );
    let last = headers.last().unwrap();
    assert!(
        last[1].as_str().unwrap().contains("more headers not kept"),
        "{last}"
    );
    assert!(server.state.traces.bytes() < server::inspector::limits::MAX_TRACE_BYTES);
    server.stop().await;
}

/// Makes an API token as `client` (an instructor); returns (id, token).
async fn make_token(server: &TestServer, client: &Client, name: &str) -> (String, String) {
    let created: Value = client
        .post(server.url("/api/instructor/tokens"))
        .json(&json!({ "name": name }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        created["id"].as_str().unwrap().to_string(),
        created["token"].as_str().unwrap().to_string(),
    )
}

async fn grade_with(server: &TestServer, token: &str, submissions: usize) -> reqwest::Response {
    let submissions: Vec<Value> = (0..submissions)
        .map(|i| json!({ "student": format!("lms-{i}"), "exercise": "http-status-created", "answer": "201 Created" }))
        .collect();
    Client::new()
        .post(server.url("/api/grade"))
        .bearer_auth(token)
        .json(&json!({ "submissions": submissions }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn api_tokens_belong_to_their_instructor_and_die_with_the_role() {
    let server = TestServer::start().await;
    let tess = sign_up(&server, "Tess", "tess@example.com").await;
    let ivan = sign_up(&server, "Ivan", "ivan@example.com").await;
    let root = sign_up(&server, "Root", "root@example.com").await;
    make_role(&server, "tess@example.com", Role::Instructor).await;
    make_role(&server, "ivan@example.com", Role::Instructor).await;
    make_role(&server, "root@example.com", Role::Admin).await;
    let (tess_id, tess_token) = make_token(&server, &tess, "Moodle").await;
    let (ivan_id, ivan_token) = make_token(&server, &ivan, "Canvas").await;

    // Each instructor sees only their own; an admin sees all, with their makers.
    let listed = server.json(&ivan, "/api/instructor/tokens").await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], ivan_id.as_str());
    let all = server.json(&root, "/api/instructor/tokens").await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert!(all.to_string().contains("tess@example.com"));

    // Ivan cannot revoke Tess's token, and cannot tell that it exists.
    let refused = ivan
        .delete(server.url(&format!("/api/instructor/tokens/{tess_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 404);
    assert_eq!(grade_with(&server, &tess_token, 1).await.status(), 200);

    // Every call is kept against the token.
    let mine = server.json(&tess, "/api/instructor/tokens").await;
    assert_eq!(mine[0]["calls"], 1);
    assert_eq!(mine[0]["submissions_graded"], 1);

    // Demoted, Tess's token stops working at once, and for good.
    make_role(&server, "tess@example.com", Role::Student).await;
    assert_eq!(grade_with(&server, &tess_token, 1).await.status(), 401);
    make_role(&server, "tess@example.com", Role::Instructor).await;
    assert_eq!(
        grade_with(&server, &tess_token, 1).await.status(),
        401,
        "promoted again, the old token stays dead"
    );
    assert_eq!(grade_with(&server, &ivan_token, 1).await.status(), 200);

    // An admin may revoke anyone's token.
    let revoked = root
        .delete(server.url(&format!("/api/instructor/tokens/{ivan_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    assert_eq!(grade_with(&server, &ivan_token, 1).await.status(), 401);
    server.stop().await;
}

#[tokio::test]
async fn the_grading_api_has_a_budget_per_token() {
    let server = TestServer::start().await;
    let tess = sign_up(&server, "Tess", "tess@example.com").await;
    make_role(&server, "tess@example.com", Role::Instructor).await;
    let (_, token) = make_token(&server, &tess, "Moodle").await;
    let burst = server::grading::API_SUBMISSION_BURST as usize;
    for _ in 0..burst / 1_000 {
        assert_eq!(grade_with(&server, &token, 1_000).await.status(), 200);
    }
    let throttled = grade_with(&server, &token, 1_000).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.headers().contains_key("retry-after"));
    assert!(throttled.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let logged: i64 =
        sqlx::query_scalar("SELECT CAST(SUM(submissions) AS BIGINT) FROM api_grade_calls")
            .fetch_one(&server.state.pool)
            .await
            .unwrap();
    assert_eq!(
        logged as usize, burst,
        "graded calls are logged, refused ones are not"
    );
    server.stop().await;
}
