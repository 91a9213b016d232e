//! Accounts, sessions and roles, over real HTTP with a cookie jar.

use std::num::NonZeroU32;

use crate::common::{make_role, repo_root, TestServer};
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use server::accounts::Role;

const PASSWORD: &str = "correct horse battery";

async fn sign_up(server: &TestServer, client: &Client, name: &str, email: &str) -> Response {
    client
        .post(server.url("/auth/signup"))
        .json(&json!({ "name": name, "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap()
}

async fn sign_in(server: &TestServer, client: &Client, email: &str, password: &str) -> Response {
    client
        .post(server.url("/auth/signin"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
}

async fn post_json(server: &TestServer, client: &Client, path: &str, body: Value) -> Response {
    client
        .post(server.url(path))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn me(server: &TestServer, client: &Client) -> StatusCode {
    client
        .get(server.url("/api/me"))
        .send()
        .await
        .unwrap()
        .status()
}

/// The value of the workbench session cookie a response sets, if it sets one.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("workbench_session="))
        .map(str::to_string)
}

fn cookie_value(set_cookie: &str) -> &str {
    set_cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("workbench_session=")
}

/// A client that sends a given cookie and keeps none: an attacker holding a stolen id.
fn client_with_cookie(value: &str) -> Client {
    let mut headers = HeaderMap::new();
    headers.insert(
        reqwest::header::COOKIE,
        format!("workbench_session={value}").parse().unwrap(),
    );
    Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn sign_up_sign_in_and_sign_out() {
    let server = TestServer::start().await;
    let ada = server.browser();
    assert_eq!(me(&server, &ada).await, 401, "nobody is signed in yet");

    let created = sign_up(&server, &ada, "Ada Lovelace", " Ada@Example.com ").await;
    assert_eq!(created.status(), 201);
    let account: Value = created.json().await.unwrap();
    assert_eq!(account["email"], "ada@example.com");
    assert_eq!(account["role"], "student");
    let profile: Value = server.json(&ada, "/api/me").await;
    assert_eq!(profile["name"], "Ada Lovelace");

    let signed_out = post_json(&server, &ada, "/auth/signout", json!({})).await;
    assert_eq!(signed_out.status(), 200);
    assert_eq!(me(&server, &ada).await, 401);

    assert_eq!(
        sign_in(&server, &ada, "ada@example.com", "wrong password!")
            .await
            .status(),
        401
    );
    assert_eq!(
        sign_in(&server, &ada, "ADA@example.com", PASSWORD)
            .await
            .status(),
        200
    );
    assert_eq!(me(&server, &ada).await, 200);
    server.stop().await;
}

#[tokio::test]
async fn a_signed_out_session_cookie_is_worthless_on_the_very_next_request() {
    let server = TestServer::start().await;
    let ada = server.browser();
    sign_up(&server, &ada, "Ada Lovelace", "ada@example.com").await;
    let signed_in = sign_in(&server, &ada, "ada@example.com", PASSWORD).await;
    let cookie = session_cookie(signed_in.headers()).expect("a session cookie");
    let copied = format!("workbench_session={}", cookie_value(&cookie));
    // A copy of the cookie, kept by someone else (a shared computer, a thief).
    let me_with_copy = || async {
        Client::new()
            .get(server.url("/api/me"))
            .header("cookie", &copied)
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(me_with_copy().await, 200, "the copy works while signed in");
    assert_eq!(me_with_copy().await, 200, "and again, now from memory");

    let signed_out = post_json(&server, &ada, "/auth/signout", json!({})).await;
    assert_eq!(signed_out.status(), 200);
    assert_eq!(
        me_with_copy().await,
        401,
        "signed out means signed out everywhere the cookie went"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_forms_work_without_javascript() {
    let server = TestServer::start().await;
    let ada = server.browser();
    let form = [
        ("name", "Ada Lovelace"),
        ("email", "ada@example.com"),
        ("password", PASSWORD),
        ("next", "/lessons/http/anatomy"),
    ];
    let created = ada
        .post(server.url("/auth/signup"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    assert_eq!(created.headers()[LOCATION], "/lessons/http/anatomy");
    let response = ada
        .get(server.url("/lessons/http/anatomy"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "private, no-cache");
    let page = response.text().await.unwrap();
    assert!(page.contains("Ada Lovelace"), "the header names the reader");
    assert!(page.contains("action=\"/auth/signout\""));

    let signed_out = ada
        .post(server.url("/auth/signout"))
        .form(&[("x", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    let page = server.text(&ada, "/lessons/http/anatomy").await;
    assert!(
        !page.contains("Ada Lovelace"),
        "signed-out pages are anonymous again"
    );

    let failed = ada
        .post(server.url("/auth/signin"))
        .form(&[
            ("email", "ada@example.com"),
            ("password", "not my password"),
            ("next", "/account"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), StatusCode::SEE_OTHER);
    assert_eq!(failed.headers()[LOCATION], "/signin?next=%2Faccount");
    let retry = server.text(&ada, "/signin?next=%2Faccount").await;
    assert!(retry.contains("role=\"alert\""), "the error is announced");
    assert!(
        retry.contains("value=\"ada@example.com\""),
        "the email is kept"
    );
    assert!(
        !retry.contains("not my password"),
        "the password is never echoed"
    );
    let again = server.text(&ada, "/signin").await;
    assert!(
        !again.contains("role=\"alert\""),
        "a flash message shows once"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_lab_request_in_between_leaves_the_flash_for_the_next_page() {
    let server = TestServer::start().await;
    let student = server.browser();
    // A visitor with a session: their first lab request makes them a guest.
    assert!(!server.text(&student, "/labs/http/echo").await.is_empty());
    let failed = student
        .post(server.url("/auth/signin"))
        .form(&[
            ("email", "nobody@example.com"),
            ("password", "not a password"),
            ("next", "/account"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), StatusCode::SEE_OTHER);
    // The page's widgets may call a lab or the API before the browser
    // follows the redirect; neither may take the page's message.
    let lab = student
        .get(server.url("/labs/http/echo"))
        .send()
        .await
        .unwrap();
    assert_eq!(lab.status(), StatusCode::OK);
    let page = server.text(&student, "/signin?next=%2Faccount").await;
    assert!(
        page.contains("role=\"alert\""),
        "the sign-in error still shows on the page"
    );
    server.stop().await;
}

#[tokio::test]
async fn signing_in_rotates_the_session_id() {
    let server = TestServer::start().await;
    let setup = server.browser();
    sign_up(&server, &setup, "Ada", "ada@example.com").await;

    // A visitor gets a guest session on their first lab request...
    let ada = server.browser();
    let lab = ada.get(server.url("/labs/http/echo")).send().await.unwrap();
    let guest_cookie = session_cookie(lab.headers()).expect("a guest session");
    let guest_id = cookie_value(&guest_cookie).to_string();

    // ...and signing in replaces its id.
    let signed_in = sign_in(&server, &ada, "ada@example.com", PASSWORD).await;
    assert_eq!(signed_in.status(), 200);
    let account_cookie = session_cookie(signed_in.headers()).expect("a new session cookie");
    assert_ne!(
        cookie_value(&account_cookie),
        guest_id,
        "session fixation prevented"
    );

    // Someone who planted or stole the old id gets nothing.
    let attacker = client_with_cookie(&guest_id);
    assert_eq!(me(&server, &attacker).await, 401);
    assert_eq!(me(&server, &ada).await, 200);
    server.stop().await;
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_lax() {
    let server = TestServer::start().await;
    let created = sign_up(&server, &server.browser(), "Ada", "ada@example.com").await;
    let cookie = session_cookie(created.headers()).unwrap();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http by default: {cookie}"
    );
    server.stop().await;

    let behind_tls = TestServer::start_configured(repo_root(), |c| c.secure_cookies = true).await;
    let created = sign_up(&behind_tls, &behind_tls.browser(), "Ada", "ada@example.com").await;
    let cookie = session_cookie(created.headers()).unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
    behind_tls.stop().await;
}

#[tokio::test]
async fn a_restart_keeps_everyone_signed_in() {
    let server = TestServer::start().await;
    let ada = server.browser();
    sign_up(&server, &ada, "Ada", "ada@example.com").await;
    let server = server.restart().await;
    let profile: Value = server.json(&ada, "/api/me").await;
    assert_eq!(profile["email"], "ada@example.com");
    server.stop().await;
}

#[tokio::test]
async fn an_idle_session_expires_and_a_busy_one_lives_until_its_lifetime() {
    let server = TestServer::start_configured(repo_root(), |c| {
        c.session_idle_minutes = 30;
        c.session_lifetime_hours = 2;
    })
    .await;
    let ada = server.browser();
    sign_up(&server, &ada, "Ada", "ada@example.com").await;

    server.clock.advance(29 * 60);
    assert_eq!(me(&server, &ada).await, 200, "29 idle minutes are fine");
    server.clock.advance(29 * 60);
    assert_eq!(
        me(&server, &ada).await,
        200,
        "the last request reset the idle timer"
    );
    server.clock.advance(31 * 60);
    assert_eq!(
        me(&server, &ada).await,
        401,
        "31 idle minutes end the session"
    );

    let grace = server.browser();
    sign_in(&server, &grace, "ada@example.com", PASSWORD).await;
    for _ in 0..4 {
        server.clock.advance(25 * 60);
        assert_eq!(me(&server, &grace).await, 200, "busy within the lifetime");
    }
    server.clock.advance(25 * 60);
    assert_eq!(
        me(&server, &grace).await,
        401,
        "over two hours after sign-in"
    );
    server.stop().await;
}

#[tokio::test]
async fn instructor_routes_answer_401_to_strangers_and_403_to_students() {
    let server = TestServer::start().await;
    let route = "/api/instructor/accounts";
    let stranger = server.browser();
    let anonymous = stranger.get(server.url(route)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.json::<Value>().await.unwrap()["message"]
        .as_str()
        .unwrap()
        .contains("Sign in"));

    let student = server.browser();
    sign_up(&server, &student, "Sam", "sam@example.com").await;
    let forbidden = student.get(server.url(route)).send().await.unwrap();
    assert_eq!(forbidden.status(), 403);
    assert!(forbidden.json::<Value>().await.unwrap()["message"]
        .as_str()
        .unwrap()
        .contains("instructor"));

    let teacher = server.browser();
    sign_up(&server, &teacher, "Tess", "tess@example.com").await;
    make_role(&server, "tess@example.com", Role::Instructor).await;
    let list: Value = server.json(&teacher, route).await;
    let emails: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["email"].clone())
        .collect();
    assert_eq!(
        emails,
        vec![json!("sam@example.com"), json!("tess@example.com")]
    );

    // Changing roles is for admins only.
    let promote = |client: &Client| {
        client
            .put(server.url("/api/admin/accounts/sam@example.com/role"))
            .json(&json!({ "role": "instructor" }))
            .send()
    };
    assert_eq!(promote(&teacher).await.unwrap().status(), 403);
    make_role(&server, "tess@example.com", Role::Admin).await;
    assert_eq!(promote(&teacher).await.unwrap().status(), 200);
    assert_eq!(
        student
            .get(server.url(route))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    server.stop().await;
}

#[tokio::test]
async fn cross_origin_posts_are_refused() {
    let server = TestServer::start().await;
    let ada = server.browser();
    sign_up(&server, &ada, "Ada", "ada@example.com").await;

    let forged = ada
        .post(server.url("/auth/signout"))
        .header("Origin", "http://evil.example")
        .form(&[("x", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(forged.json::<Value>().await.unwrap()["message"]
        .as_str()
        .unwrap()
        .contains("Cross-origin"));
    let fetched = ada
        .put(server.url("/labs/http/settings"))
        .header("Sec-Fetch-Site", "cross-site")
        .json(&json!({ "pretty": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), 403);
    assert_eq!(
        me(&server, &ada).await,
        200,
        "the forged sign-out did nothing"
    );

    let own_page = ada
        .post(server.url("/auth/signout"))
        .header("Origin", format!("http://{}", server.addr))
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[("x", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(own_page.status(), StatusCode::SEE_OTHER);
    assert_eq!(me(&server, &ada).await, 401);
    server.stop().await;
}

#[tokio::test]
async fn sign_in_is_throttled_per_account_and_per_address_with_retry_after() {
    let server = TestServer::start_configured(repo_root(), |c| {
        c.sign_in_burst_per_account = NonZeroU32::new(3).unwrap();
        c.sign_in_burst_per_address = NonZeroU32::new(6).unwrap();
        c.sign_in_refill_secs = 60;
    })
    .await;
    let client = server.browser();
    for _ in 0..3 {
        let attempt = sign_in(&server, &client, "ada@example.com", "guess guess guess").await;
        assert_eq!(attempt.status(), 401);
    }
    let throttled = sign_in(&server, &client, "ada@example.com", "guess guess guess").await;
    assert_eq!(throttled.status(), 429);
    let retry_after: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=60).contains(&retry_after),
        "Retry-After: {retry_after}"
    );

    // The same address trying other accounts runs out too (6 attempts in all),
    // and a browser form gets the 429 as a page it can read.
    for email in ["b@example.com", "c@example.com"] {
        assert_eq!(
            sign_in(&server, &client, email, "guess guess guess")
                .await
                .status(),
            401
        );
    }
    let form = client
        .post(server.url("/auth/signin"))
        .form(&[
            ("email", "d@example.com"),
            ("password", "guess guess guess"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 429);
    assert!(form.headers().contains_key("retry-after"));
    assert!(form
        .text()
        .await
        .unwrap()
        .contains("Too many sign-in attempts"));
    server.stop().await;
}

/// Sign-in attempts with made-up emails (so no account's own limit
/// applies) until one is refused; how many were let through.
async fn attempts_until_refused(server: &TestServer, forwarded_for: &str, tag: &str) -> usize {
    let client = server.browser();
    for n in 0..20 {
        let attempt = client
            .post(server.url("/auth/signin"))
            .header("x-forwarded-for", forwarded_for)
            .json(&json!({ "email": format!("{tag}{n}@example.com"), "password": "guess guess guess" }))
            .send()
            .await
            .unwrap();
        if attempt.status() == StatusCode::TOO_MANY_REQUESTS {
            return n;
        }
        assert_eq!(attempt.status(), StatusCode::UNAUTHORIZED);
    }
    panic!("20 attempts from {forwarded_for} and none refused");
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_sign_in_allowance() {
    let server = TestServer::start_configured(repo_root(), |c| {
        c.sign_in_burst_per_address = NonZeroU32::new(4).unwrap();
        c.sign_in_refill_secs = 600;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    assert_eq!(attempts_until_refused(&server, "203.0.113.1", "a").await, 4);
    assert_eq!(
        attempts_until_refused(&server, "198.51.100.2", "b").await,
        4,
        "another client behind the proxy"
    );
    // A client cannot escape by writing its own first hop: the proxy
    // appends the address it saw, and that one is counted.
    assert_eq!(
        attempts_until_refused(&server, "192.0.2.99, 203.0.113.1", "c").await,
        0
    );
    server.stop().await;
}

#[tokio::test]
async fn without_a_trusted_proxy_forwarding_headers_are_ignored() {
    let server = TestServer::start_configured(repo_root(), |c| {
        c.sign_in_burst_per_address = NonZeroU32::new(4).unwrap();
        c.sign_in_refill_secs = 600;
    })
    .await;
    assert_eq!(attempts_until_refused(&server, "203.0.113.1", "a").await, 4);
    assert_eq!(
        attempts_until_refused(&server, "198.51.100.2", "b").await,
        0,
        "a made-up address is not a fresh allowance"
    );
    server.stop().await;
}

#[tokio::test]
async fn failed_sign_ins_look_the_same_for_known_and_unknown_emails() {
    let server = TestServer::start().await;
    sign_up(&server, &server.browser(), "Ada", "ada@example.com").await;

    let known = sign_in(
        &server,
        &server.browser(),
        "ada@example.com",
        "not the password",
    )
    .await;
    let unknown = sign_in(
        &server,
        &server.browser(),
        "nobody@example.com",
        "not the password",
    )
    .await;
    assert_eq!(known.status(), 401);
    assert_eq!(known.status(), unknown.status());
    assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap());

    let by_form = |email: &'static str| {
        server
            .browser()
            .post(server.url("/auth/signin"))
            .form(&[("email", email), ("password", "not the password")])
            .send()
    };
    let (known, unknown) = (
        by_form("ada@example.com").await.unwrap(),
        by_form("nobody@example.com").await.unwrap(),
    );
    assert_eq!(known.status(), unknown.status());
    assert_eq!(known.headers()[LOCATION], unknown.headers()[LOCATION]);

    // Signing up with a taken email does not say it is taken.
    let again = sign_up(&server, &server.browser(), "Someone", "ada@example.com").await;
    assert_eq!(again.status(), 422);
    let message = again.json::<Value>().await.unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !message.contains("exists") && !message.contains("taken"),
        "{message}"
    );
    server.stop().await;
}

#[tokio::test]
async fn new_passwords_and_emails_are_checked_with_clear_messages() {
    let server = TestServer::start().await;
    let client = server.browser();
    let attempt = |name: &str, email: &str, password: &str| {
        client
            .post(server.url("/auth/signup"))
            .json(&json!({ "name": name, "email": email, "password": password }))
            .send()
    };
    for (name, email, password, expected) in [
        ("Ada", "ada@example.com", "short", "at least 10"),
        ("Ada", "ada@example.com", "ada@example.com", "email"),
        ("Ada", "not-an-email", PASSWORD, "@"),
        ("", "ada@example.com", PASSWORD, "name"),
    ] {
        let refused = attempt(name, email, password).await.unwrap();
        assert_eq!(refused.status(), 422, "{email} / {password}");
        let body: Value = refused.json().await.unwrap();
        assert!(
            body["message"].as_str().unwrap().contains(expected),
            "{body}"
        );
    }
    let wrong_type = client
        .post(server.url("/auth/signup"))
        .body("name=Ada")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 415);
    assert_eq!(me(&server, &client).await, 401, "nothing was created");
    server.stop().await;
}

#[tokio::test]
async fn what_a_guest_did_comes_along_when_they_sign_up_or_in() {
    let server = TestServer::start().await;
    let settings = server.url("/labs/http/settings");

    // Signing up: the guest becomes the account.
    let ada = server.browser();
    ada.put(&settings)
        .json(&json!({ "pretty": true }))
        .send()
        .await
        .unwrap();
    sign_up(&server, &ada, "Ada", "ada@example.com").await;
    let kept: Value = server.json(&ada, "/labs/http/settings").await;
    assert_eq!(kept["settings"]["pretty"], true);

    // Signing in from a new device: the guest's work joins the account.
    let laptop = server.browser();
    laptop
        .put(&settings)
        .json(&json!({ "latency_ms": 250 }))
        .send()
        .await
        .unwrap();
    let guest_traces: Value = server.json(&laptop, "/api/traces").await;
    assert!(!guest_traces.as_array().unwrap().is_empty());
    sign_in(&server, &laptop, "ada@example.com", PASSWORD).await;
    let merged: Value = server.json(&laptop, "/labs/http/settings").await;
    assert_eq!(
        merged["settings"]["latency_ms"], 250,
        "the newer settings win"
    );
    let traces: Value = server.json(&laptop, "/api/traces").await;
    assert!(traces.as_array().unwrap().len() >= guest_traces.as_array().unwrap().len());
    server.stop().await;
}

#[tokio::test]
async fn changing_the_password_keeps_this_session_and_ends_the_others() {
    let server = TestServer::start().await;
    let (desk, phone) = (server.browser(), server.browser());
    sign_up(&server, &desk, "Ada", "ada@example.com").await;
    sign_in(&server, &phone, "ada@example.com", PASSWORD).await;

    let change = |current: &str| {
        post_json(
            &server,
            &desk,
            "/auth/password",
            json!({ "current_password": current, "new_password": "a brand new passphrase" }),
        )
    };
    assert_eq!(change("not my password").await.status(), 401);
    let changed = change(PASSWORD).await;
    assert_eq!(changed.status(), 200);
    assert!(
        session_cookie(changed.headers()).is_some(),
        "a new session id"
    );
    assert_eq!(me(&server, &desk).await, 200);
    assert_eq!(me(&server, &phone).await, 401, "other sessions end");

    let fresh = server.browser();
    assert_eq!(
        sign_in(&server, &fresh, "ada@example.com", PASSWORD)
            .await
            .status(),
        401
    );
    assert_eq!(
        sign_in(&server, &fresh, "ada@example.com", "a brand new passphrase")
            .await
            .status(),
        200
    );
    server.stop().await;
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session() {
    let server = TestServer::start().await;
    let (desk, phone) = (server.browser(), server.browser());
    sign_up(&server, &desk, "Ada", "ada@example.com").await;
    sign_in(&server, &phone, "ada@example.com", PASSWORD).await;
    let ended = post_json(&server, &phone, "/auth/signout-everywhere", json!({})).await;
    assert_eq!(ended.status(), 200);
    assert_eq!(me(&server, &desk).await, 401);
    assert_eq!(me(&server, &phone).await, 401);
    assert_eq!(
        sign_in(&server, &desk, "ada@example.com", PASSWORD)
            .await
            .status(),
        200
    );
    server.stop().await;
}

#[tokio::test]
async fn an_outdated_password_hash_is_upgraded_at_sign_in() {
    let server = TestServer::start().await;
    sign_up(&server, &server.browser(), "Ada", "ada@example.com").await;
    let pool = server::db::connect(&server.database_args().url())
        .await
        .unwrap();
    let weak =
        server::accounts::Passwords::with_params(argon2::Params::new(1024, 1, 1, None).unwrap())
            .hash(PASSWORD.into())
            .await
            .unwrap();
    sqlx::query("UPDATE accounts SET password_hash = $1")
        .bind(&weak)
        .execute(&pool)
        .await
        .unwrap();

    assert_eq!(
        sign_in(&server, &server.browser(), "ada@example.com", PASSWORD)
            .await
            .status(),
        200
    );
    let stored: String = sqlx::query_scalar("SELECT password_hash FROM accounts")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );
    assert_eq!(
        sign_in(&server, &server.browser(), "ada@example.com", PASSWORD)
            .await
            .status(),
        200
    );
    server.stop().await;
}

#[tokio::test]
async fn the_account_page_needs_a_signed_in_reader() {
    let server = TestServer::start().await;
    let ada = server.browser();
    let anonymous = ada.get(server.url("/account")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous
        .text()
        .await
        .unwrap()
        .contains("/signin?next=%2Faccount"));
    sign_up(&server, &ada, "Ada Lovelace", "ada@example.com").await;
    let page = server.text(&ada, "/account").await;
    assert!(page.contains("ada@example.com"));
    assert!(page.contains("action=\"/auth/password\""));
    assert!(page.contains("action=\"/auth/signout-everywhere\""));
    server.stop().await;
}
