//! The auth lab's password-storage part, over real HTTP: demo users in each
//! student's own sandbox, their hashes taken apart, and the hash race.

use crate::common::TestServer;
use serde_json::{json, Value};

async fn register(
    server: &TestServer,
    client: &reqwest::Client,
    username: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(server.url("/labs/auth/users"))
        .json(&json!({ "username": username, "password": password, "role": "seller" }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn two_users_with_the_same_password_get_different_salts_and_hashes() {
    let server = TestServer::start().await;
    let student = server.browser();
    let ada: Value = register(&server, &student, "ada", "hunter2")
        .await
        .json()
        .await
        .unwrap();
    let bob: Value = register(&server, &student, "bob", "hunter2")
        .await
        .json()
        .await
        .unwrap();
    let (a, b) = (&ada["stored"], &bob["stored"]);
    assert_eq!(a["algorithm"], "argon2id");
    assert_eq!(a["version"], 19);
    assert_eq!(
        (a["m_kib"].as_u64(), a["t"].as_u64(), a["p"].as_u64()),
        (Some(19456), Some(2), Some(1))
    );
    assert_ne!(a["salt"], b["salt"]);
    assert_ne!(a["hash"], b["hash"]);
    assert!(!a["phc"].as_str().unwrap().contains("hunter2"));
    assert!(ada["hash_ms"].is_u64(), "the cost of the hash is shown");

    let again = register(&server, &student, "ada", "other").await;
    assert_eq!(again.status(), 409);
    let verify = |username: &'static str, password: &'static str| {
        student
            .post(server.url("/labs/auth/verify"))
            .json(&json!({ "username": username, "password": password }))
            .send()
    };
    let right: Value = verify("ada", "hunter2")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(right["matched"], true);
    let wrong: Value = verify("ada", "hunter3")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(wrong["matched"], false);
    let nobody: Value = verify("zed", "hunter2")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(nobody["matched"], false);
    server.stop().await;
}

#[tokio::test]
async fn the_students_argon2_settings_apply_and_are_traced() {
    let server = TestServer::start().await;
    let student = server.browser();
    let set = student
        .put(server.url("/labs/auth/settings"))
        .json(&json!({ "argon2_m_kib": 8192, "argon2_t": 1, "argon2_p": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);
    let too_big = student
        .put(server.url("/labs/auth/settings"))
        .json(&json!({ "argon2_m_kib": 1048576 }))
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), 422);

    let created = register(&server, &student, "ada", "hunter2").await;
    let trace_id = created.headers()["traceresponse"]
        .to_str()
        .unwrap()
        .split('-')
        .nth(1)
        .unwrap()
        .to_string();
    let user: Value = created.json().await.unwrap();
    assert_eq!(user["stored"]["m_kib"], 8192);
    assert_eq!(user["stored"]["t"], 1);
    let trace: Value = server
        .json(&student, &format!("/api/traces/{trace_id}"))
        .await;
    let hashed = trace["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "auth.hash")
        .expect("an auth.hash event");
    assert!(
        hashed["summary"]
            .as_str()
            .unwrap()
            .contains("m=8192 KiB, t=1, p=1"),
        "{hashed}"
    );
    server.stop().await;
}

#[tokio::test]
async fn sandboxes_are_isolated_between_students() {
    let server = TestServer::start().await;
    let (alice, mallory) = (server.browser(), server.browser());
    register(&server, &alice, "alice-admin", "secret").await;
    let seen: Value = server.json(&mallory, "/labs/auth/users").await;
    assert_eq!(seen, json!([]), "another student's users are invisible");
    let guess: Value = mallory
        .post(server.url("/labs/auth/verify"))
        .json(&json!({ "username": "alice-admin", "password": "secret" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(guess["matched"], false, "and cannot be signed in as");
    let cleared = mallory
        .delete(server.url("/labs/auth/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 204);
    let still: Value = server.json(&alice, "/labs/auth/users").await;
    assert_eq!(still[0]["username"], "alice-admin", "nor affected");
    // Nor can one student's policy change another's.
    let opened = mallory
        .put(server.url("/labs/auth/settings"))
        .json(&json!({ "policy": { "buyer": ["browse", "buy", "ban_user"] } }))
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 200);
    let alices: Value = server.json(&alice, "/labs/auth/settings").await;
    assert_eq!(
        alices["settings"]["policy"]["buyer"],
        json!(["browse", "buy"])
    );
    server.stop().await;
}

async fn sql(server: &TestServer, client: &reqwest::Client, sql: &str) -> (u16, Value) {
    let response = client
        .post(server.url("/labs/sql/query"))
        .json(&json!({ "sql": sql }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn demo_users_live_in_the_students_shop_where_sql_sees_them_and_a_reset_clears_them() {
    let server = TestServer::start().await;
    let student = server.browser();
    let ada: Value = register(&server, &student, "ada", "hunter2")
        .await
        .json()
        .await
        .unwrap();
    let (status, rows) = sql(
        &server,
        &student,
        "SELECT username, role, password_hash FROM users",
    )
    .await;
    assert_eq!(status, 200, "{rows}");
    assert_eq!(rows["rows"][0][0], "ada");
    assert_eq!(rows["rows"][0][1], "seller");
    assert_eq!(rows["rows"][0][2], ada["stored"]["phc"]);
    assert!(rows["rows"][0][2]
        .as_str()
        .unwrap()
        .starts_with("$argon2id$v=19$"));

    // A user added with SQL signs in through the lab like any other.
    let (status, body) = sql(
        &server,
        &student,
        &format!(
            "INSERT INTO users (username, password_hash, role, created_at) VALUES ('bea', '{}', 'admin', 0)",
            ada["stored"]["phc"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let users: Value = server.json(&student, "/labs/auth/users").await;
    assert_eq!(users.as_array().unwrap().len(), 2);

    // The platform database keeps none of it.
    let tables = if server.database_args().url().starts_with("postgres") {
        "SELECT COUNT(*) FROM information_schema.tables
         WHERE table_schema = 'public' AND (table_name LIKE 'auth_lab%' OR table_name = 'users')"
    } else {
        "SELECT COUNT(*) FROM sqlite_schema WHERE name LIKE 'auth_lab%' OR name = 'users'"
    };
    let lab_tables: i64 = sqlx::query_scalar(tables)
        .fetch_one(&server.state.pool)
        .await
        .unwrap();
    assert_eq!(lab_tables, 0);

    let reset = student
        .delete(server.url("/labs/sql/sandbox"))
        .send()
        .await
        .unwrap();
    assert!(reset.status().is_success(), "{}", reset.status());
    let users: Value = server.json(&student, "/labs/auth/users").await;
    assert_eq!(users, json!([]), "a reset shop has no demo users");
}

#[tokio::test]
async fn tables_the_student_changed_get_a_4xx_that_says_how_to_start_again() {
    let server = TestServer::start().await;
    let student = server.browser();
    register(&server, &student, "ada", "hunter2").await;

    // A hash that would cost gigabytes to check is refused, not checked.
    let (status, body) = sql(
        &server,
        &student,
        "UPDATE users SET password_hash = '$argon2id$v=19$m=4194304,t=100,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g'",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let verify = student
        .post(server.url("/labs/auth/verify"))
        .json(&json!({ "username": "ada", "password": "hunter2" }))
        .send()
        .await
        .unwrap();
    assert_eq!(verify.status(), 409);
    assert!(verify
        .text()
        .await
        .unwrap()
        .contains("more work than the lab allows"));

    // A table of another shape is the student's to fix, and the lab says how.
    for statement in [
        "DROP TABLE users",
        "CREATE TABLE users (username INTEGER, note TEXT)",
    ] {
        let (status, body) = sql(&server, &student, statement).await;
        assert_eq!(status, 200, "{statement}: {body}");
    }
    let refused = register(&server, &student, "cy", "pw").await;
    assert_eq!(refused.status(), 409);
    let message = refused.text().await.unwrap();
    assert!(message.contains("DELETE /labs/sql/sandbox"), "{message}");

    // And dropping the table outright only empties the lab.
    sql(&server, &student, "DROP TABLE users").await;
    let users: Value = server.json(&student, "/labs/auth/users").await;
    assert_eq!(users, json!([]));
}

#[tokio::test]
async fn the_hash_race_shows_sha256_far_faster_than_argon2id() {
    let server = TestServer::start().await;
    let race: Value = server.json(&server.browser(), "/labs/auth/hash-race").await;
    let sha = race["sha256_guesses_per_second"].as_f64().unwrap();
    let argon = race["argon2id_guesses_per_second"].as_f64().unwrap();
    assert!(
        sha > 100.0 * argon,
        "SHA-256 {sha}/s against argon2id {argon}/s"
    );
    assert_eq!(race["argon2id_params"], "m=19456 KiB, t=2, p=1");
    server.stop().await;
}

#[tokio::test]
async fn bad_registrations_get_clear_4xx() {
    let server = TestServer::start().await;
    let client = server.browser();
    for (body, needle) in [
        (json!({ "username": "a b", "password": "x" }), "username"),
        (json!({ "username": "ada", "password": "" }), "password"),
        (
            json!({ "username": "ada", "password": "x", "role": "root" }),
            "role",
        ),
    ] {
        let refused = client
            .post(server.url("/labs/auth/users"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 422, "{body}");
        let message: Value = refused.json().await.unwrap();
        assert!(
            message["message"].as_str().unwrap().contains(needle),
            "{message}"
        );
    }
    server.stop().await;
}

async fn login(
    server: &TestServer,
    client: &reqwest::Client,
    username: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(server.url("/labs/auth/login"))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap()
}

async fn me(
    server: &TestServer,
    client: &reqwest::Client,
    bearer: Option<&str>,
) -> reqwest::Response {
    let mut request = client.get(server.url("/labs/auth/me"));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn use_jwt(server: &TestServer, client: &reqwest::Client) {
    let set = client
        .put(server.url("/labs/auth/settings"))
        .json(&json!({ "mechanism": "jwt", "access_token_secs": 60 }))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);
}

use server::labs::auth::oauth::b64url;

#[tokio::test]
async fn a_session_cookie_signs_in_stays_in_its_lane_and_expires() {
    let server = TestServer::start().await;
    let student = server.browser();
    register(&server, &student, "ada", "hunter2").await;
    assert_eq!(login(&server, &student, "ada", "wrong").await.status(), 401);
    let signed_in = login(&server, &student, "ada", "hunter2").await;
    assert_eq!(signed_in.status(), 200);
    let cookie = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("lab_session="))
        .expect("the lab's own cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/labs/auth"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    let who: Value = me(&server, &student, None).await.json().await.unwrap();
    assert_eq!(who, json!({ "username": "ada", "role": "seller" }));

    server.clock.advance(3601);
    assert_eq!(
        me(&server, &student, None).await.status(),
        401,
        "sessions expire"
    );
    login(&server, &student, "ada", "hunter2").await;
    assert_eq!(me(&server, &student, None).await.status(), 200);
    let out = student
        .post(server.url("/labs/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert_eq!(me(&server, &student, None).await.status(), 401);
    // The workbench's own session is untouched by the lab's sign-out.
    assert_eq!(
        server.json(&student, "/labs/auth/users").await[0]["username"],
        "ada"
    );
    server.stop().await;
}

#[tokio::test]
async fn jwts_verify_expire_and_refresh_tokens_rotate_with_reuse_detection() {
    let server = TestServer::start().await;
    let student = server.browser();
    register(&server, &student, "ada", "hunter2").await;
    use_jwt(&server, &student).await;
    let pair: Value = login(&server, &student, "ada", "hunter2")
        .await
        .json()
        .await
        .unwrap();
    let access = pair["access_token"].as_str().unwrap().to_string();
    assert_eq!(pair["decoded"]["header"]["alg"], "HS256");
    assert_eq!(pair["decoded"]["claims"]["sub"], "ada");
    assert_eq!(me(&server, &student, Some(&access)).await.status(), 200);

    server.clock.advance(61);
    let expired = me(&server, &student, Some(&access)).await;
    assert_eq!(expired.status(), 401);
    assert!(expired.text().await.unwrap().contains("expired"));

    let refresh = |token: String| {
        student
            .post(server.url("/labs/auth/refresh"))
            .json(&json!({ "refresh_token": token }))
            .send()
    };
    let first = pair["refresh_token"].as_str().unwrap().to_string();
    let second: Value = refresh(first.clone()).await.unwrap().json().await.unwrap();
    let fresh = second["access_token"].as_str().unwrap().to_string();
    assert_eq!(me(&server, &student, Some(&fresh)).await.status(), 200);
    let newer = second["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(newer, first, "refresh tokens rotate");

    // The old refresh token comes back: stolen. The whole family dies.
    let replay = refresh(first).await.unwrap();
    assert_eq!(replay.status(), 401);
    assert!(replay.text().await.unwrap().contains("family"));
    assert_eq!(
        refresh(newer).await.unwrap().status(),
        401,
        "the family is revoked"
    );
    server.stop().await;
}

#[tokio::test]
async fn forged_tokens_are_refused() {
    let server = TestServer::start().await;
    let student = server.browser();
    register(&server, &student, "ada", "hunter2").await;
    use_jwt(&server, &student).await;
    let pair: Value = login(&server, &student, "ada", "hunter2")
        .await
        .json()
        .await
        .unwrap();
    let claims = pair["decoded"]["claims"].clone();
    let mut admin = claims.clone();
    admin["role"] = json!("admin");
    let body = b64url(admin.to_string().as_bytes());

    // alg: none, with no signature.
    let none = format!("{}.{body}.", b64url(br#"{"alg":"none","typ":"JWT"}"#));
    // Another algorithm in the header (algorithm confusion), signed with a guess.
    let confused = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS384),
        &admin,
        &jsonwebtoken::EncodingKey::from_secret(b"guess"),
    )
    .unwrap();
    let rs256_header = format!("{}.{body}.c2ln", b64url(br#"{"alg":"RS256","typ":"JWT"}"#));
    // The real header and signature, with edited claims.
    let access = pair["access_token"].as_str().unwrap();
    let parts: Vec<_> = access.split('.').collect();
    let tampered = format!("{}.{body}.{}", parts[0], parts[2]);
    for (name, token) in [
        ("alg none", none),
        ("HS384", confused),
        ("RS256", rs256_header),
        ("edited claims", tampered),
    ] {
        assert_eq!(
            me(&server, &student, Some(&token)).await.status(),
            401,
            "{name}"
        );
    }

    // A real token from another student's sandbox is worthless here.
    let other = server.browser();
    register(&server, &other, "ada", "hunter2").await;
    assert_eq!(me(&server, &other, Some(access)).await.status(), 401);
    server.stop().await;
}

async fn register_as(server: &TestServer, client: &reqwest::Client, username: &str, role: &str) {
    let created = client
        .post(server.url("/labs/auth/users"))
        .json(&json!({ "username": username, "password": "pw", "role": role }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
}

/// Signs `username` in with JWT mode and returns the access token.
async fn token_for(server: &TestServer, client: &reqwest::Client, username: &str) -> String {
    let pair: Value = login(server, client, username, "pw")
        .await
        .json()
        .await
        .unwrap();
    pair["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_permission_matrix_decides_401_403_and_ownership() {
    let server = TestServer::start().await;
    let student = server.browser();
    use_jwt(&server, &student).await;
    register_as(&server, &student, "sam", "seller").await;
    register_as(&server, &student, "sue", "seller").await;
    register_as(&server, &student, "bo", "buyer").await;
    let (sam, sue, bo) = (
        token_for(&server, &student, "sam").await,
        token_for(&server, &student, "sue").await,
        token_for(&server, &student, "bo").await,
    );
    let add = |token: String, name: &'static str| {
        student
            .post(server.url("/labs/auth/products"))
            .bearer_auth(token)
            .json(&json!({ "name": name }))
            .send()
    };
    let anonymous = student
        .post(server.url("/labs/auth/products"))
        .json(&json!({ "name": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401, "no credentials: who are you?");
    let refused = add(bo.clone(), "tea").await.unwrap();
    assert_eq!(refused.status(), 403, "a known buyer without permission");
    let trace_id = refused.headers()["traceresponse"]
        .to_str()
        .unwrap()
        .split('-')
        .nth(1)
        .unwrap()
        .to_string();
    let trace: Value = server
        .json(&student, &format!("/api/traces/{trace_id}"))
        .await;
    let decision = trace["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "rbac.decision")
        .unwrap();
    assert_eq!(
        decision["summary"],
        "denied: no rule lets buyer add_product"
    );

    let product: Value = add(sue.clone(), "sue's teapot")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let delete = |token: String, id: i64| {
        student
            .delete(server.url(&format!("/labs/auth/products/{id}")))
            .bearer_auth(token)
            .send()
    };
    let id = product["id"].as_i64().unwrap();
    // The loose default lets any seller delete any product...
    let other: Value = add(sue.clone(), "sue's cup")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        delete(sam.clone(), other["id"].as_i64().unwrap())
            .await
            .unwrap()
            .status(),
        204
    );

    // ...until the student narrows it to ownership; the next request obeys.
    let mut settings: Value = server.json(&student, "/labs/auth/settings").await;
    settings["settings"]["policy"]["seller"] =
        json!(["browse", "buy", "add_product", "delete_own_product"]);
    let saved = student
        .put(server.url("/labs/auth/settings"))
        .json(&settings["settings"])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    let forbidden = delete(sam.clone(), id).await.unwrap();
    assert_eq!(forbidden.status(), 403);
    assert!(forbidden
        .text()
        .await
        .unwrap()
        .contains("sue owns this one"));
    assert_eq!(
        delete(sue.clone(), id).await.unwrap().status(),
        204,
        "owners may"
    );

    // Bans are an admin action; a banned user is refused everything.
    let ban = |token: String| {
        student
            .post(server.url("/labs/auth/users/bo/ban"))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(ban(sam.clone()).await.unwrap().status(), 403);
    register_as(&server, &student, "ann", "admin").await;
    let ann = token_for(&server, &student, "ann").await;
    assert_eq!(ban(ann).await.unwrap().status(), 204);
    let browse = student
        .get(server.url("/labs/auth/products"))
        .bearer_auth(bo)
        .send()
        .await
        .unwrap();
    assert_eq!(browse.status(), 403);

    let bad_policy = student
        .put(server.url("/labs/auth/settings"))
        .json(&json!({ "policy": { "root": ["browse"] } }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_policy.status(), 422);
    server.stop().await;
}

#[tokio::test]
async fn two_factor_sign_in_needs_a_fresh_totp_code() {
    use server::clock::Clock;
    use server::labs::auth::totp::code_at;
    let server = TestServer::start().await;
    let student = server.browser();
    register(&server, &student, "ada", "hunter2").await;
    login(&server, &student, "ada", "hunter2").await;
    let enrolment: Value = student
        .post(server.url("/labs/auth/totp/enrol"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = enrolment["secret"].as_str().unwrap().to_string();
    assert!(enrolment["otpauth_uri"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/"));
    assert!(enrolment["otpauth_uri"]
        .as_str()
        .unwrap()
        .contains(&format!("secret={secret}")));
    assert!(enrolment["qr_svg"].as_str().unwrap().contains("<svg"));
    let code = |offset: i64| code_at(&secret, server.clock.now() + offset).unwrap();
    let confirm = |code: String| {
        student
            .post(server.url("/labs/auth/totp/confirm"))
            .json(&json!({ "code": code }))
            .send()
    };
    assert_eq!(confirm("000000".into()).await.unwrap().status(), 422);
    assert_eq!(confirm(code(0)).await.unwrap().status(), 200);
    student
        .post(server.url("/labs/auth/logout"))
        .send()
        .await
        .unwrap();

    let sign_in = |code: Option<String>| {
        let mut body = json!({ "username": "ada", "password": "hunter2" });
        if let Some(code) = code {
            body["code"] = json!(code);
        }
        student
            .post(server.url("/labs/auth/login"))
            .json(&body)
            .send()
    };
    let missing = sign_in(None).await.unwrap();
    assert_eq!(missing.status(), 401);
    assert!(missing.text().await.unwrap().contains("two-factor"));
    assert_eq!(sign_in(Some("123456".into())).await.unwrap().status(), 401);

    server.clock.advance(30);
    assert_eq!(sign_in(Some(code(0))).await.unwrap().status(), 200);
    let replayed = sign_in(Some(code(0))).await.unwrap();
    assert_eq!(replayed.status(), 401, "a code works once");
    assert!(replayed.text().await.unwrap().contains("already used"));
    server.clock.advance(30);
    assert_eq!(
        sign_in(Some(code(-30))).await.unwrap().status(),
        401,
        "a used step stays used"
    );
    assert_eq!(
        sign_in(Some(code(0))).await.unwrap().status(),
        200,
        "the next step's code works"
    );
    server.stop().await;
}

/// Follows one redirect by hand, returning the next response.
async fn follow(
    server: &TestServer,
    client: &reqwest::Client,
    response: reqwest::Response,
) -> reqwest::Response {
    assert!(
        response.status().is_redirection(),
        "expected a redirect, got {}",
        response.status()
    );
    let location = response.headers()["location"].to_str().unwrap().to_string();
    client.get(server.url(&location)).send().await.unwrap()
}

#[tokio::test]
async fn sign_in_with_workbench_id_runs_the_code_flow_with_pkce() {
    let server = TestServer::start().await;
    let student = server.browser();
    register(&server, &student, "ada", "hunter2").await;
    login(&server, &student, "ada", "hunter2").await; // signed in to Workbench ID
    student
        .post(server.url("/labs/auth/logout"))
        .send()
        .await
        .ok();
    login(&server, &student, "ada", "hunter2").await;

    let start = student
        .get(server.url("/labs/auth/oauth/start"))
        .send()
        .await
        .unwrap();
    let authorize_url = start.headers()["location"].to_str().unwrap().to_string();
    assert!(authorize_url.contains("code_challenge_method=S256"));
    let to_callback = follow(&server, &student, start).await;
    let callback_url = to_callback.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(callback_url.starts_with("/labs/auth/oauth/callback?code="));
    let done = follow(&server, &student, to_callback).await;
    assert_eq!(done.status(), 200);
    let trace_id = done.headers()["traceresponse"]
        .to_str()
        .unwrap()
        .split('-')
        .nth(1)
        .unwrap()
        .to_string();
    let body: Value = done.json().await.unwrap();
    assert_eq!(body["signed_in_as"], "ada");
    let trace: Value = server
        .json(&student, &format!("/api/traces/{trace_id}"))
        .await;
    let steps: Vec<_> = trace["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "oauth.step")
        .collect();
    assert!(steps.len() >= 3, "each step is traced: {steps:?}");

    // Replaying the callback (the same code and state) fails: codes work once.
    let replay = student.get(server.url(&callback_url)).send().await.unwrap();
    assert_eq!(replay.status(), 400);
    server.stop().await;
}

#[tokio::test]
async fn oauth_refuses_a_wrong_state_a_reused_code_and_a_wrong_verifier() {
    let server = TestServer::start().await;
    let student = server.browser();
    register(&server, &student, "ada", "hunter2").await;
    login(&server, &student, "ada", "hunter2").await;

    // A forged callback: the state is not the one this browser sent.
    let start = student
        .get(server.url("/labs/auth/oauth/start"))
        .send()
        .await
        .unwrap();
    let to_callback = follow(&server, &student, start).await;
    let callback_url = to_callback.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    let forged = callback_url.split("&state=").next().unwrap().to_string() + "&state=attacker";
    let refused = student.get(server.url(&forged)).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"],
        "invalid_state"
    );

    // Acting as a client directly: our own verifier and challenge.
    let verifier = "a-verifier-that-is-long-enough-for-pkce-0123456789";
    let challenge = server::labs::auth::oauth::challenge_of(verifier);
    let code = || async {
        let authorized = student
            .get(server.url(&format!(
                "/labs/auth/oauth/authorize?response_type=code&client_id=demo-shop&redirect_uri=%2Flabs%2Fauth%2Foauth%2Fcallback&state=s&code_challenge={challenge}&code_challenge_method=S256"
            )))
            .send()
            .await
            .unwrap();
        let location = authorized.headers()["location"]
            .to_str()
            .unwrap()
            .to_string();
        location
            .split("code=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap()
            .to_string()
    };
    let exchange = |code: String, verifier: &'static str| {
        student
            .post(server.url("/labs/auth/oauth/token"))
            .json(&json!({ "grant_type": "authorization_code", "code": code, "redirect_uri": "/labs/auth/oauth/callback",
                "client_id": "demo-shop", "code_verifier": verifier }))
            .send()
    };
    let first = code().await;
    let wrong = exchange(first, "not-the-verifier-that-made-the-challenge-000000")
        .await
        .unwrap();
    assert_eq!(wrong.status(), 400);
    assert!(wrong.text().await.unwrap().contains("PKCE"));

    let second = code().await;
    let ok = exchange(second.clone(), verifier).await.unwrap();
    assert_eq!(ok.status(), 200);
    let token: Value = ok.json().await.unwrap();
    assert_eq!(
        me(
            &server,
            &student,
            Some(token["access_token"].as_str().unwrap())
        )
        .await
        .status(),
        200
    );
    let reused = exchange(second, verifier).await.unwrap();
    assert_eq!(reused.status(), 400);
    assert!(reused.text().await.unwrap().contains("already used"));

    // An unregistered redirect URI gets an error, never a redirect.
    let elsewhere = student
        .get(server.url(&format!(
            "/labs/auth/oauth/authorize?response_type=code&client_id=demo-shop&redirect_uri=https%3A%2F%2Fevil.example%2F&state=s&code_challenge={challenge}&code_challenge_method=S256"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 400);
    server.stop().await;
}

#[tokio::test]
async fn a_lab_exercise_grades_the_students_own_policy() {
    let server = TestServer::start().await;
    let student = server.browser();
    let attempt = || {
        student
            .post(server.url("/api/exercises/auth-policy-ownership/attempts"))
            .json(&json!({ "answer": { "settings": { "policy": {} } } }))
            .send()
    };
    let before: Value = attempt().await.unwrap().json().await.unwrap();
    assert_eq!(
        before["outcome"]["checks"][0]["passed"], false,
        "the loose default fails"
    );
    assert!(before["outcome"]["checks"][0]["observed"]
        .as_str()
        .unwrap()
        .contains("delete_any_product"));

    let mut settings: Value = server.json(&student, "/labs/auth/settings").await;
    settings["settings"]["policy"]["seller"] =
        json!(["browse", "buy", "add_product", "delete_own_product"]);
    student
        .put(server.url("/labs/auth/settings"))
        .json(&settings["settings"])
        .send()
        .await
        .unwrap();
    let after: Value = attempt().await.unwrap().json().await.unwrap();
    assert_eq!(
        after["outcome"]["score"], after["outcome"]["max"],
        "{after}"
    );
    server.stop().await;
}

/// Grades `auth-seller-forbidden` from the student's own recorded requests.
async fn grade_seller_forbidden(server: &TestServer, student: &reqwest::Client) -> Value {
    student
        .post(server.url("/api/exercises/auth-seller-forbidden/attempts"))
        .json(&json!({ "answer": {} }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Saves `seller` as the seller's row of the student's permission matrix.
async fn seller_may(server: &TestServer, student: &reqwest::Client, seller: Value) {
    let mut settings: Value = server.json(student, "/labs/auth/settings").await;
    settings["settings"]["policy"]["seller"] = seller;
    let saved = student
        .put(server.url("/labs/auth/settings"))
        .json(&settings["settings"])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
}

#[tokio::test]
async fn only_a_403_from_the_ownership_rule_passes_the_seller_forbidden_exercise() {
    let server = TestServer::start().await;
    let student = server.browser();
    use_jwt(&server, &student).await;
    register_as(&server, &student, "sam", "seller").await;
    register_as(&server, &student, "sue", "seller").await;
    register_as(&server, &student, "bo", "buyer").await;
    let (sam, sue, bo) = (
        token_for(&server, &student, "sam").await,
        token_for(&server, &student, "sue").await,
        token_for(&server, &student, "bo").await,
    );
    let product: Value = student
        .post(server.url("/labs/auth/products"))
        .bearer_auth(&sue)
        .json(&json!({ "name": "sue's teapot" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = format!("/labs/auth/products/{}", product["id"]);
    let delete = |token: String| student.delete(server.url(&path)).bearer_auth(token).send();
    let passed = |graded: &Value| graded["outcome"]["score"] == graded["outcome"]["max"];

    // The old way: under the default policy a buyer's DELETE is already 403.
    assert_eq!(delete(bo.clone()).await.unwrap().status(), 403);
    let buyer = grade_seller_forbidden(&server, &student).await;
    assert!(!passed(&buyer), "{buyer}");
    let decision = buyer["outcome"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str().unwrap().starts_with("the lab recorded"))
        .unwrap();
    assert_eq!(decision["passed"], false);
    assert!(
        decision["observed"]
            .as_str()
            .unwrap()
            .contains("role = buyer"),
        "{decision}"
    );

    // Taking deletion away from sellers altogether is a 403 too, for another reason.
    seller_may(&server, &student, json!(["browse", "buy", "add_product"])).await;
    assert_eq!(delete(sam.clone()).await.unwrap().status(), 403);
    assert!(!passed(&grade_seller_forbidden(&server, &student).await));

    // The right way: sellers delete only their own, and sam tries sue's.
    seller_may(
        &server,
        &student,
        json!(["browse", "buy", "add_product", "delete_own_product"]),
    )
    .await;
    assert_eq!(delete(sam).await.unwrap().status(), 403);
    let right = grade_seller_forbidden(&server, &student).await;
    assert!(passed(&right), "{right}");
    server.stop().await;
}

#[tokio::test]
async fn the_bearer_exercise_sees_the_scheme_of_a_redacted_authorization() {
    // Traces hide credentials; they used to hide the scheme too, so no
    // request could show the `Authorization: Bearer` an exercise asks for.
    let server = TestServer::start().await;
    let student = server.browser();
    use_jwt(&server, &student).await;
    register_as(&server, &student, "sam", "seller").await;
    let token = token_for(&server, &student, "sam").await;
    let answered = me(&server, &student, Some(&token)).await;
    assert_eq!(answered.status(), 200);
    let trace: Value = server
        .json(
            &student,
            &format!("/api/traces/{}", crate::common::trace_id_of(&answered)),
        )
        .await;
    let shown = trace["request_headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == "authorization")
        .unwrap();
    assert_eq!(shown[1], "Bearer [redacted]");
    assert!(
        !trace.to_string().contains(&token),
        "the token stays hidden"
    );
    let graded: Value = student
        .post(server.url("/api/exercises/auth-bearer-me/attempts"))
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
    server.stop().await;
}
