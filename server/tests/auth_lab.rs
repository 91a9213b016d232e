//! The auth lab's password-storage part, over real HTTP: demo users in each
//! student's own sandbox, their hashes taken apart, and the hash race.

mod common;

use common::TestServer;
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
    server.stop().await;
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
