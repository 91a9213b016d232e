//! What the auth module's lessons claim about the lab and the workbench,
//! checked over real HTTP: the session cookie's flags, a new session id at
//! every sign-in, the cross-origin refusal the CSRF section shows, the
//! lessons' addresses, and the quizzes they embed.

use crate::common::TestServer;
use serde_json::{json, Value};

async fn register_ada(server: &TestServer, client: &reqwest::Client) {
    let registered = client
        .post(server.url("/labs/auth/users"))
        .json(&json!({ "username": "ada", "password": "hunter2", "role": "seller" }))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
}

/// Signs ada in; the `lab_session` value of the answer's `Set-Cookie`, whole.
async fn sign_in(server: &TestServer, client: &reqwest::Client) -> String {
    let response = client
        .post(server.url("/labs/auth/login"))
        .json(&json!({ "username": "ada", "password": "hunter2" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("lab_session="))
        .expect("the lab's session cookie")
}

/// The id in a `lab_session=<id>; ...` cookie.
fn session_id(set_cookie: &str) -> &str {
    set_cookie
        .strip_prefix("lab_session=")
        .and_then(|rest| rest.split(';').next())
        .unwrap()
}

#[tokio::test]
async fn the_session_cookie_carries_the_flags_the_lesson_names() {
    let server = TestServer::start().await;
    let student = server.browser();
    register_ada(&server, &student).await;
    let cookie = sign_in(&server, &student).await;
    for flag in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/labs/auth",
        "Max-Age=3600",
    ] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP: no Secure, {cookie}"
    );
    server.stop().await;

    let behind_tls = TestServer::start_configured(crate::common::repo_root(), |config| {
        config.secure_cookies = true
    })
    .await;
    let student = behind_tls.browser();
    register_ada(&behind_tls, &student).await;
    let cookie = sign_in(&behind_tls, &student).await;
    assert!(cookie.contains("; Secure"), "{cookie}");
    behind_tls.stop().await;
}

#[tokio::test]
async fn a_sign_in_makes_a_new_session_id_and_never_takes_the_clients() {
    let server = TestServer::start().await;
    // A jar of our own, so the test can plant a cookie beside the
    // workbench's, as an attacker would in the victim's browser.
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let student = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .build()
        .unwrap();
    let lab: reqwest::Url = server.url("/labs/auth/").parse().unwrap();
    let plant = |id: &str| jar.add_cookie_str(&format!("lab_session={id}; Path=/labs/auth"), &lab);
    register_ada(&server, &student).await;
    let first = sign_in(&server, &student).await;
    plant("chosen-by-an-attacker");
    let second = sign_in(&server, &student).await;
    assert_ne!(session_id(&second), "chosen-by-an-attacker");
    assert_ne!(session_id(&second), session_id(&first));
    assert_eq!(session_id(&second).len(), session_id(&first).len());

    let me = || student.get(server.url("/labs/auth/me")).send();
    plant("chosen-by-an-attacker");
    assert_eq!(
        me().await.unwrap().status(),
        401,
        "the planted id signs nobody in"
    );
    plant(session_id(&second));
    assert_eq!(me().await.unwrap().status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn a_cross_origin_post_to_the_lab_is_refused_before_the_lab_sees_it() {
    let server = TestServer::start().await;
    let student = server.browser();
    let register = |header: (&'static str, String), username: &str| {
        student
            .post(server.url("/labs/auth/users"))
            .header(header.0, header.1)
            .json(&json!({ "username": username, "password": "hunter2", "role": "admin" }))
            .send()
    };

    let forged = register(("origin", "https://evil.example".into()), "mallory")
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(
        !forged.headers().contains_key("traceresponse"),
        "refused before the lab"
    );
    let body: Value = forged.json().await.unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "Cross-origin request refused: Origin `https://evil.example` is not `127.0.0.1:"
        ),
        "{message}"
    );
    let sibling = register(("sec-fetch-site", "same-site".into()), "mallory")
        .await
        .unwrap();
    assert_eq!(sibling.status(), 403, "same site is not same origin");

    let own = format!("http://{}", server.addr);
    let ours = register(("origin", own), "grace").await.unwrap();
    assert_eq!(ours.status(), 201, "the same request from our own origin");
    let users: Value = server.json(&student, "/labs/auth/users").await;
    assert_eq!(users.as_array().map(Vec::len), Some(1), "{users}");
    server.stop().await;
}

#[tokio::test]
async fn adding_a_product_checks_for_forgery_itself_and_a_student_may_switch_that_off() {
    let server = TestServer::start().await;
    let student = server.browser();
    register_ada(&server, &student).await;
    sign_in(&server, &student).await;
    // What another page's form sends, with the lab cookie the browser attached.
    let forge = || {
        student
            .post(server.url("/labs/auth/products"))
            .header("sec-fetch-site", "same-site")
            .form(&[("name", "A teapot, added by another site")])
            .send()
    };

    // On by default: refused inside the lab, so the refusal is in the trace.
    let refused = forge().await.unwrap();
    assert_eq!(refused.status(), 403);
    let check = server
        .trace_events(&student, &refused, "auth.csrf")
        .await
        .first()
        .unwrap_or_else(|| panic!("an auth.csrf event"))
        .to_string();
    assert!(
        check.contains("refused as a forgery: Sec-Fetch-Site is `same-site`"),
        "{check}"
    );
    let body: Value = refused.json().await.unwrap();
    assert!(body["message"]
        .as_str()
        .unwrap()
        .starts_with("Cross-origin request refused"));

    // Off: the forged form post adds a product as the signed-in seller.
    let off = student
        .put(server.url("/labs/auth/settings"))
        .json(&json!({ "csrf_check": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), 200, "{:?}", off.text().await);
    let accepted = forge().await.unwrap();
    assert_eq!(accepted.status(), 201);
    let products: Value = server.json(&student, "/labs/auth/products").await;
    assert_eq!(
        products[0]["name"], "A teapot, added by another site",
        "{products}"
    );
    assert_eq!(products[0]["owner"], "ada", "{products}");

    // Only that route: the workbench still guards the rest of the lab.
    let elsewhere = student
        .post(server.url("/labs/auth/users"))
        .header("sec-fetch-site", "same-site")
        .json(&json!({ "username": "mallory", "password": "hunter2", "role": "admin" }))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 403);
    assert!(!elsewhere.headers().contains_key("traceresponse"));
    server.stop().await;
}

#[tokio::test]
async fn the_split_lessons_have_their_own_addresses_and_the_old_one_is_gone() {
    let server = TestServer::start().await;
    for path in [
        "/lessons/auth/sessions-and-cookies",
        "/lessons/auth/tokens",
        "/lessons/auth/roles-and-permissions",
    ] {
        assert_eq!(server.get(path).await.status(), 200, "{path}");
    }
    assert_eq!(
        server
            .get("/lessons/auth/sessions-and-tokens")
            .await
            .status(),
        404
    );
    server.stop().await;
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
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_csrf_and_oauth_quizzes_grade_right_and_wrong_answers() {
    let server = TestServer::start().await;
    let student = server.browser();
    let only_httponly = attempt(
        &server,
        &student,
        "auth-csrf-defences",
        json!(["The session cookie is HttpOnly"]),
    )
    .await;
    assert_eq!(
        only_httponly["standing"]["passed"], false,
        "{only_httponly}"
    );
    let defences = attempt(
        &server,
        &student,
        "auth-csrf-defences",
        json!([
            "The session cookie is SameSite=Lax or Strict",
            "The server refuses a POST whose Origin is another site",
            "The server checks a CSRF token that its own form carries",
        ]),
    )
    .await;
    assert_eq!(defences["standing"]["passed"], true, "{defences}");

    let state_only = attempt(
        &server,
        &student,
        "auth-oauth-pkce",
        json!("Nothing, as long as the state parameter matched"),
    )
    .await;
    assert_eq!(state_only["standing"]["passed"], false, "{state_only}");
    let pkce = attempt(
        &server,
        &student,
        "auth-oauth-pkce",
        json!("The exchange fails: the attacker cannot show the PKCE verifier whose SHA-256 the client sent at the start"),
    )
    .await;
    assert_eq!(pkce["standing"]["passed"], true, "{pkce}");

    let implicit = attempt(
        &server,
        &student,
        "auth-oauth-flow",
        json!([
            "The state value lets the client refuse a callback that this browser did not start",
            "The access token comes back in the redirect address, next to the code",
        ]),
    )
    .await;
    assert_eq!(implicit["standing"]["passed"], false, "{implicit}");
    let flow = attempt(
        &server,
        &student,
        "auth-oauth-flow",
        json!([
            "The state value lets the client refuse a callback that this browser did not start",
            "The client trades the code for a token in a request of its own, not in the browser's address bar",
        ]),
    )
    .await;
    assert_eq!(flow["standing"]["passed"], true, "{flow}");
    server.stop().await;
}

#[tokio::test]
async fn with_delete_own_product_a_seller_cannot_delete_another_sellers_product() {
    let server = TestServer::start().await;
    let student = server.browser();
    register_ada(&server, &student).await;
    let bob = student
        .post(server.url("/labs/auth/users"))
        .json(&json!({ "username": "bob", "password": "hunter2", "role": "seller" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bob.status(), 201);
    sign_in(&server, &student).await;
    let added: Value = student
        .post(server.url("/labs/auth/products"))
        .json(&json!({ "name": "teapot" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let product = format!("/labs/auth/products/{}", added["id"]);
    let policy = json!({
        "admin": ["browse", "buy", "add_product", "delete_any_product", "delete_own_product", "ban_user"],
        "buyer": ["browse", "buy"],
        "seller": ["browse", "buy", "add_product", "delete_own_product"],
    });
    let set = student
        .put(server.url("/labs/auth/settings"))
        .json(&json!({ "policy": policy }))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);

    let as_bob = student
        .post(server.url("/labs/auth/login"))
        .json(&json!({ "username": "bob", "password": "hunter2" }))
        .send()
        .await
        .unwrap();
    assert_eq!(as_bob.status(), 200);
    let refused = student.delete(server.url(&product)).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "error": "forbidden",
            "message": "Forbidden: seller may only delete_own_product, and ada owns this one.",
        })
    );

    sign_in(&server, &student).await;
    let own = student.delete(server.url(&product)).send().await.unwrap();
    assert_eq!(own.status(), 204, "ada may delete her own");
    server.stop().await;
}
