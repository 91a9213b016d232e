//! The HTTP lab and the inspector, through real HTTP against a real server.

use crate::common::{repo_root, trace_id_of, TestServer};
use serde_json::{json, Value};

#[tokio::test]
async fn the_echo_returns_the_anatomy_of_the_request() {
    let server = TestServer::start().await;
    let response = server
        .browser()
        .post(server.url("/labs/http/echo/orders?course=backend&lesson=anatomy"))
        .header("X-Student", "ada")
        .header("Content-Type", "application/json")
        .body(r#"{"product_id": 7}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let anatomy: Value = response.json().await.unwrap();
    assert_eq!(anatomy["method"], "POST");
    assert_eq!(anatomy["path"], "/labs/http/echo/orders");
    assert_eq!(anatomy["query"], "course=backend&lesson=anatomy");
    assert_eq!(
        anatomy["query_params"],
        json!([["course", "backend"], ["lesson", "anatomy"]])
    );
    assert_eq!(anatomy["body"], r#"{"product_id": 7}"#);
    assert_eq!(anatomy["body_json"], json!({"product_id": 7}));
    assert_eq!(anatomy["body_bytes"], 17);
    assert!(anatomy["client_address"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
    let headers = anatomy["headers"].as_array().unwrap();
    assert!(
        headers.contains(&json!(["x-student", "ada"])),
        "{headers:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_lab_request_can_be_traced_by_the_student_who_made_it_only() {
    let server = TestServer::start().await;
    let student = server.browser();
    let response = student
        .get(server.url("/labs/http/echo"))
        .send()
        .await
        .unwrap();
    let trace_id = trace_id_of(&response);

    let trace: Value = server
        .json(&student, &format!("/api/traces/{trace_id}"))
        .await;
    assert_eq!(trace["trace_id"], trace_id);
    assert_eq!(trace["status"], 200);
    let kinds: Vec<&str> = trace["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for expected in [
        "http.request",
        "session.load",
        "lab.handler",
        "lab.settings",
        "http.echo",
        "http.response",
    ] {
        assert!(
            kinds.contains(&expected),
            "{expected} missing from {kinds:?}"
        );
    }

    let stranger = server.browser();
    let _ = stranger
        .get(server.url("/labs/http/echo"))
        .send()
        .await
        .unwrap();
    let response = stranger
        .get(server.url(&format!("/api/traces/{trace_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        404,
        "another student must not see this trace"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_guest_gets_an_httponly_lax_session_cookie_on_the_first_lab_request() {
    let server = TestServer::start().await;
    let client = server.browser();
    let page = client.get(server.url("/")).send().await.unwrap();
    assert!(
        page.headers().get("set-cookie").is_none(),
        "reading lessons creates no session"
    );

    let response = client
        .get(server.url("/labs/http/echo"))
        .send()
        .await
        .unwrap();
    let cookie = response
        .headers()
        .get("set-cookie")
        .expect("guest session cookie")
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("workbench_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");

    let again = client
        .get(server.url("/labs/http/echo"))
        .send()
        .await
        .unwrap();
    let trace_id = trace_id_of(&again);
    let trace: Value = server
        .json(&client, &format!("/api/traces/{trace_id}"))
        .await;
    let session_step = trace["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "session.load")
        .unwrap();
    assert_eq!(session_step["summary"], "student found in session");
    server.stop().await;
}

#[tokio::test]
async fn the_status_route_answers_with_the_status_and_headers_asked_for() {
    let server = TestServer::start().await;
    let client = server.browser();
    let created = client
        .post(server.url(
            "/labs/http/status/201?location=/labs/http/echo/orders/42&header=X-Lesson:%20status",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["location"], "/labs/http/echo/orders/42");
    assert_eq!(created.headers()["x-lesson"], "status");
    let body: Value = created.json().await.unwrap();
    assert_eq!(body["class"], "success");

    let not_found = client
        .get(server.url("/labs/http/status/404?body=nothing%20here"))
        .send()
        .await
        .unwrap();
    assert_eq!(not_found.status(), 404);
    assert_eq!(
        not_found.text().await.unwrap(),
        "nothing here",
        "a deliberate 404 keeps its own body"
    );

    let redirect = client
        .get(server.url("/labs/http/status/302"))
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), 302);
    assert_eq!(redirect.headers()["location"], "/labs/http/echo");

    let no_content = client
        .delete(server.url("/labs/http/status/204"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_content.status(), 204);
    assert!(no_content.text().await.unwrap().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn content_negotiation_follows_accept_and_says_vary() {
    let server = TestServer::start().await;
    let client = server.browser();
    let html = client
        .get(server.url("/labs/http/negotiate"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(html.status(), 200);
    assert!(html.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(html.headers()["vary"], "Accept");

    let refused = client
        .get(server.url("/labs/http/negotiate"))
        .header("Accept", "image/png")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 406);
    let body: Value = refused.json().await.unwrap();
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("application/json"));
    server.stop().await;
}

#[tokio::test]
async fn lab_settings_are_validated_kept_per_student_and_reset() {
    let server = TestServer::start().await;
    let ada = server.browser();
    let bob = server.browser();
    let url = server.url("/labs/http/settings");

    let defaults: Value = ada.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        defaults["settings"],
        json!({
            "latency_ms": 0,
            "pretty": false,
            "cors_allowed_origins": [],
            "cors_allowed_methods": [],
            "cors_allowed_headers": [],
            "cors_allow_credentials": false,
            "cors_max_age_secs": 0
        })
    );

    let too_slow = ada
        .put(&url)
        .json(&json!({"latency_ms": 60_000}))
        .send()
        .await
        .unwrap();
    assert_eq!(too_slow.status(), 422);
    assert!(too_slow.json::<Value>().await.unwrap()["message"]
        .as_str()
        .unwrap()
        .contains("latency_ms"));

    let echo = server.text(&ada, "/labs/http/echo").await;
    assert!(
        !echo.contains("\n  \"method\""),
        "compact by default: {echo}"
    );
    let saved = ada
        .put(&url)
        .json(&json!({"pretty": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    let echo = server.text(&ada, "/labs/http/echo").await;
    assert!(
        echo.contains("\n  \"method\""),
        "pretty setting applies to the next request: {echo}"
    );

    let bobs: Value = bob.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        bobs["settings"]["pretty"], false,
        "settings are per student"
    );

    let reset: Value = ada.delete(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(reset["settings"]["pretty"], false);
    let echo = server.text(&ada, "/labs/http/echo").await;
    assert!(!echo.contains("\n  \"method\""));
    server.stop().await;
}

#[tokio::test]
async fn a_student_lists_their_own_recent_traces_newest_first() {
    let server = TestServer::start().await;
    let student = server.browser();
    let first = trace_id_of(
        &student
            .get(server.url("/labs/http/echo?n=1"))
            .send()
            .await
            .unwrap(),
    );
    let second = trace_id_of(
        &student
            .get(server.url("/labs/http/status/204"))
            .send()
            .await
            .unwrap(),
    );

    let listed = server.json(&student, "/api/traces").await;
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![second.as_str(), first.as_str()]);
    assert_eq!(listed[0]["status"], 204);
    assert_eq!(listed[1]["path"], "/labs/http/echo?n=1");

    let stranger = server.browser();
    assert_eq!(
        server.json(&stranger, "/api/traces").await,
        json!([]),
        "nobody else sees them"
    );
    server.stop().await;
}

/// Whether the answer rewrote the session (and so sent its cookie again).
fn rewrote_session(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .any(|c| c.as_bytes().starts_with(b"workbench_session="))
}

#[tokio::test]
async fn a_busy_guests_session_is_written_back_hourly_not_on_every_request() {
    let server = TestServer::start().await;
    let guest = server.browser();
    let get = |path: &'static str| guest.get(server.url(path)).send();
    assert!(
        rewrote_session(&get("/labs/http/status/200").await.unwrap()),
        "a new guest's session is stored"
    );
    for path in [
        "/labs/http/status/200",
        "/labs/http/echo",
        "/lessons/http/anatomy",
    ] {
        assert!(
            !rewrote_session(&get(path).await.unwrap()),
            "{path} only reads the session"
        );
    }
    server.clock.advance(61 * 60);
    assert!(
        rewrote_session(&get("/labs/http/status/200").await.unwrap()),
        "after an hour the session is written back, so a busy guest's cookie and stored session live on"
    );
    assert!(!rewrote_session(
        &get("/labs/http/status/200").await.unwrap()
    ));
    server.stop().await;
}

#[tokio::test]
async fn the_echo_stores_nothing_so_an_order_posted_to_it_is_200_without_location() {
    // `http-send-json-order` expects 200 while the next lesson teaches 201
    // for a created resource: that holds only as long as the echo creates nothing.
    let server = TestServer::start().await;
    let response = server
        .browser()
        .post(server.url("/labs/http/echo/orders"))
        .json(&json!({ "item": "tea", "quantity": 2 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("location").is_none());
    let exercise = std::fs::read_to_string(
        crate::common::repo_root().join("exercises/http-send-json-order.md"),
    )
    .unwrap();
    assert!(exercise.contains("status = 200"));
    assert!(
        exercise.contains("The echo stores nothing"),
        "the exercise says why it is not 201"
    );
    server.stop().await;
}

/// The page origin the CORS tests pretend to be.
const DEMO_ORIGIN: &str = "http://127.0.0.1:4000";

/// Sets the student's CORS settings, asserting they are accepted.
async fn set_cors(server: &TestServer, student: &reqwest::Client, settings: Value) {
    let response = student
        .put(server.url("/labs/http/settings"))
        .json(&settings)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
}

/// A preflight for a GET with `X-Demo-Note`, from `origin`.
async fn preflight(
    server: &TestServer,
    student: &reqwest::Client,
    origin: &str,
) -> reqwest::Response {
    student
        .request(
            reqwest::Method::OPTIONS,
            server.url("/labs/http/cors/notes"),
        )
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "x-demo-note")
        .send()
        .await
        .unwrap()
}

fn access_control_headers(response: &reqwest::Response) -> Vec<(String, String)> {
    response
        .headers()
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("access-control-"))
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_string()))
        .collect()
}

#[tokio::test]
async fn a_cors_preflight_from_an_allowed_origin_gets_the_settings_and_is_traced() {
    let server = TestServer::start().await;
    let student = server.browser();

    // The defaults allow no origin at all.
    let refused = preflight(&server, &student, DEMO_ORIGIN).await;
    assert_eq!(refused.status(), 204);
    assert_eq!(access_control_headers(&refused), vec![]);

    set_cors(
        &server,
        &student,
        json!({
            "cors_allowed_origins": [DEMO_ORIGIN],
            "cors_allowed_methods": ["GET"],
            "cors_allowed_headers": ["X-Demo-Note"],
            "cors_max_age_secs": 600
        }),
    )
    .await;
    let allowed = preflight(&server, &student, DEMO_ORIGIN).await;
    assert_eq!(allowed.status(), 204);
    assert_eq!(allowed.headers()["vary"], "Origin");
    let trace_id = trace_id_of(&allowed);
    let mut headers = access_control_headers(&allowed);
    headers.sort();
    assert_eq!(
        headers,
        vec![
            ("access-control-allow-headers".into(), "X-Demo-Note".into()),
            ("access-control-allow-methods".into(), "GET".into()),
            ("access-control-allow-origin".into(), DEMO_ORIGIN.into()),
            ("access-control-max-age".into(), "600".into()),
        ]
    );

    // The preflight is in the student's traces, with the lab's decision.
    let traces: Value = server.json(&student, "/api/traces").await;
    assert!(
        traces
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["method"] == "OPTIONS"
                && t["path"] == "/labs/http/cors/notes"
                && t["status"] == 204),
        "{traces}"
    );
    let trace: Value = server
        .json(&student, &format!("/api/traces/{trace_id}"))
        .await;
    let decision = trace["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "http.cors")
        .unwrap_or_else(|| panic!("no http.cors event: {trace}"));
    assert!(
        decision
            .to_string()
            .contains("the browser may send the request"),
        "{decision}"
    );

    // The real request from that origin may be read by it.
    let get = student
        .get(server.url("/labs/http/cors/notes"))
        .header("Origin", DEMO_ORIGIN)
        .header("X-Demo-Note", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    assert_eq!(
        access_control_headers(&get),
        vec![("access-control-allow-origin".into(), DEMO_ORIGIN.into())]
    );
    server.stop().await;
}

#[tokio::test]
async fn a_cors_request_from_an_origin_not_listed_gets_no_access_control_headers() {
    let server = TestServer::start().await;
    let student = server.browser();
    set_cors(
        &server,
        &student,
        json!({"cors_allowed_origins": [DEMO_ORIGIN], "cors_allowed_methods": ["GET"]}),
    )
    .await;
    let other = "http://127.0.0.1:4001";
    let refused = preflight(&server, &student, other).await;
    assert_eq!(refused.status(), 204);
    assert_eq!(access_control_headers(&refused), vec![]);
    let get = student
        .get(server.url("/labs/http/cors/notes"))
        .header("Origin", other)
        .send()
        .await
        .unwrap();
    // The server still answers: it is the browser that hides the answer.
    assert_eq!(get.status(), 200);
    assert_eq!(access_control_headers(&get), vec![]);
    server.stop().await;
}

#[tokio::test]
async fn a_credentialed_cors_request_needs_allow_credentials_and_a_named_origin() {
    let server = TestServer::start().await;
    let student = server.browser();

    // The wildcard alone: `*`, no credentials, which a browser refuses for
    // a request sent with cookies.
    set_cors(&server, &student, json!({"cors_allowed_origins": ["*"]})).await;
    let wildcard = preflight(&server, &student, DEMO_ORIGIN).await;
    let headers = access_control_headers(&wildcard);
    assert!(
        headers.contains(&("access-control-allow-origin".into(), "*".into())),
        "{headers:?}"
    );
    assert!(
        !headers
            .iter()
            .any(|(n, _)| n == "access-control-allow-credentials"),
        "{headers:?}"
    );

    // Named, with credentials: the exact origin and `true`.
    set_cors(
        &server,
        &student,
        json!({
            "cors_allowed_origins": [DEMO_ORIGIN],
            "cors_allowed_methods": ["GET"],
            "cors_allow_credentials": true
        }),
    )
    .await;
    let named = preflight(&server, &student, DEMO_ORIGIN).await;
    let headers = access_control_headers(&named);
    assert!(
        headers.contains(&("access-control-allow-origin".into(), DEMO_ORIGIN.into())),
        "{headers:?}"
    );
    assert!(
        headers.contains(&("access-control-allow-credentials".into(), "true".into())),
        "{headers:?}"
    );
    let get = student
        .get(server.url("/labs/http/cors/notes"))
        .header("Origin", DEMO_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(get.headers()["access-control-allow-origin"], DEMO_ORIGIN);
    assert_eq!(get.headers()["access-control-allow-credentials"], "true");
    server.stop().await;
}

#[tokio::test]
async fn cors_settings_that_are_not_origins_or_tokens_are_refused() {
    let server = TestServer::start().await;
    let student = server.browser();
    for (settings, field) in [
        (
            json!({"cors_allowed_origins": ["127.0.0.1:4000"]}),
            "cors_allowed_origins",
        ),
        (
            json!({"cors_allowed_origins": ["http://a.example/page"]}),
            "cors_allowed_origins",
        ),
        (
            json!({"cors_allowed_headers": ["X-Demo: 1"]}),
            "cors_allowed_headers",
        ),
        (json!({"cors_max_age_secs": 86_401}), "cors_max_age_secs"),
    ] {
        let response = student
            .put(server.url("/labs/http/settings"))
            .json(&settings)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{settings}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["message"].as_str().unwrap().contains(field),
            "{settings}: {body}"
        );
    }
    server.stop().await;
}

/// The lesson's link to the second site: where it leads, and the key in it.
async fn other_site(server: &TestServer, student: &reqwest::Client) -> (reqwest::Url, String) {
    let response = student
        .get(server.url("/labs/http/cors/other-site"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "{:?}", response.text().await);
    let page = reqwest::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let key = page
        .query_pairs()
        .find(|(name, _)| name == "key")
        .map(|(_, key)| key.into_owned())
        .expect("a key in the page's address");
    (page, key)
}

#[tokio::test]
async fn the_second_site_reads_the_notes_as_the_student_through_their_demo_key() {
    let server = TestServer::start().await;
    let student = server.browser();
    let (page, key) = other_site(&server, &student).await;

    // Another origin: the workbench's host, another port, told where the workbench is.
    assert_eq!(page.host_str(), Some("127.0.0.1"));
    assert_ne!(page.port(), Some(server.addr.port()));
    let workbench = format!("http://{}", server.addr);
    assert!(
        page.query_pairs()
            .any(|(n, v)| n == "workbench" && v == workbench),
        "{page}"
    );
    assert_eq!(
        other_site(&server, &student).await.1,
        key,
        "the key stays the same"
    );
    let served = reqwest::get(page.clone()).await.unwrap();
    assert_eq!(served.status(), 200);
    assert!(served.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));
    assert!(served.text().await.unwrap().contains("Another site"));
    let script = reqwest::get(page.join("/site.js").unwrap()).await.unwrap();
    assert!(script
        .text()
        .await
        .unwrap()
        .contains("/labs/http/cors/notes"));

    // A preflight carries no cookie: the key alone says whose it is, and
    // the student's settings answer it.
    let origin = page.origin().ascii_serialization();
    set_cors(
        &server,
        &student,
        json!({"cors_allowed_origins": [origin], "cors_allowed_headers": ["X-Demo-Note"]}),
    )
    .await;
    let no_cookies = reqwest::Client::new();
    let keyed = |method| {
        no_cookies
            .request(
                method,
                server.url(&format!("/labs/http/cors/notes?key={key}")),
            )
            .header("Origin", &origin)
    };
    let preflight = keyed(reqwest::Method::OPTIONS)
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "x-demo-note")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        origin.as_str()
    );
    assert!(
        preflight.headers().get("set-cookie").is_none(),
        "no guest was made"
    );
    let decision = server
        .trace_events(&student, &preflight, "http.cors")
        .await
        .first()
        .unwrap_or_else(|| panic!("the student sees the preflight's trace"))
        .to_string();
    assert!(
        decision.contains("the browser may send the request"),
        "{decision}"
    );
    let stranger = server.browser();
    let _ = stranger
        .get(server.url("/labs/http/echo"))
        .send()
        .await
        .unwrap();
    let theirs: Value = server.json(&stranger, "/api/traces").await;
    assert!(!theirs.to_string().contains("cors/notes"), "{theirs}");

    // The preflight counts for the exercise, as the student's own request.
    let graded: Value = student
        .post(server.url("/api/exercises/http-cors-preflight/attempts"))
        .json(&json!({ "answer": {} }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        graded["outcome"]["score"], graded["outcome"]["max"],
        "{graded}"
    );

    // A made-up key is refused rather than made a new guest.
    let unknown = no_cookies
        .get(server.url("/labs/http/cors/notes?key=k0000"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 403);
    assert!(unknown.text().await.unwrap().contains("Unknown demo key"));
    server.stop().await;
}

#[tokio::test]
async fn a_demo_key_never_stands_in_for_the_cookie_on_other_routes_or_methods() {
    let server = TestServer::start().await;
    let student = server.browser();
    let (_, key) = other_site(&server, &student).await;
    let no_cookies = reqwest::Client::new();

    // Settings changed with the key in the query belong to a new guest,
    // not to the student the key names.
    let put = no_cookies
        .put(server.url(&format!("/labs/http/settings?key={key}")))
        .json(&json!({"cors_allowed_origins": ["*"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let settings = server.json(&student, "/labs/http/settings").await;
    assert_eq!(
        settings["settings"]["cors_allowed_origins"],
        json!([]),
        "{settings}"
    );

    // The echo takes no key either: its request is a new guest's.
    let echo = no_cookies
        .get(server.url(&format!("/labs/http/echo?key={key}")))
        .send()
        .await
        .unwrap();
    let echo_trace = trace_id_of(&echo);
    let missing = student
        .get(server.url(&format!("/api/traces/{echo_trace}")))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    server.stop().await;
}

#[tokio::test]
async fn without_a_second_site_the_link_says_why() {
    let server = TestServer::start_configured(repo_root(), |config| {
        config.other_origin = server::config::OtherOrigin::Off;
    })
    .await;
    let response = server.get("/labs/http/cors/other-site").await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("--other-origin off"),
        "{body}"
    );
    server.stop().await;
}
