//! The numbers and behaviours the client-and-server and third-party
//! integration lessons quote are the ones the workbench produces today:
//! the webhook signatures are real HMAC-SHA256 values of the stated inputs,
//! the signature exercise accepts the HMAC of its own inputs and refuses
//! the slips its hints describe, the echo keeps a webhook's raw body and
//! reorders its parse, and the API lab refuses a price sent by the client.

use crate::common::{repo_root, TestServer};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const WEBHOOK_LESSON: &str = "lessons/06-apis/08-third-party-integrations.md";
const SIGNATURE_EXERCISE: &str = "exercises/api-webhook-signature.md";

/// The lesson's worked example: secret, timestamp and raw body.
const SECRET: &str = "whsec_workbench";
const TIMESTAMP: &str = "1767225600";
const BODY: &str = r#"{"id":"evt_1001","type":"payment.succeeded","data":{"order_id":42,"amount":2599,"currency":"eur"}}"#;

/// HMAC-SHA256 (RFC 2104) in hex, written out here so the test does not
/// share code with anything it checks.
fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    const BLOCK: usize = 64;
    let mut block_key = [0u8; BLOCK];
    if key.len() > BLOCK {
        block_key[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block_key[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block_key.iter().map(|k| k ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    outer.iter().map(|b| format!("{b:02x}")).collect()
}

/// How the lesson abbreviates a signature in its table: `first8…last8`.
fn abbreviated(hex: &str) -> String {
    format!("{}…{}", &hex[..8], &hex[hex.len() - 8..])
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_root().join(path)).unwrap()
}

/// The signed text of the provider's scheme: timestamp, a dot, raw body.
fn signed(timestamp: &str, body: &str) -> String {
    format!("{timestamp}.{body}")
}

#[test]
fn the_hmac_helper_matches_rfc_4231() {
    // RFC 4231, test case 2.
    assert_eq!(
        hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[test]
fn the_signatures_the_webhook_lesson_quotes_are_real_hmacs_of_its_inputs() {
    let lesson = read(WEBHOOK_LESSON);
    for input in [SECRET, TIMESTAMP, BODY] {
        assert!(lesson.contains(input), "the lesson states {input}");
    }
    assert!(
        lesson.contains(&format!("{} bytes", BODY.len())),
        "the body's length"
    );
    let signed_text = signed(TIMESTAMP, BODY);
    assert!(lesson.contains(&format!("{} bytes", signed_text.len())));
    assert!(
        lesson.contains(&format!("printf '%s' '{signed_text}'")),
        "the command signs exactly the stated text"
    );

    let signature = hmac_sha256_hex(SECRET.as_bytes(), signed_text.as_bytes());
    assert!(lesson.contains(&format!("t={TIMESTAMP},v1={signature}")));
    assert!(lesson.contains(&format!("SHA2-256(stdin)= {signature}")));

    let tampered = BODY.replace("2599", "259");
    let reordered = r#"{"data":{"amount":2599,"currency":"eur","order_id":42},"id":"evt_1001","type":"payment.succeeded"}"#;
    assert_eq!(
        reordered.len(),
        BODY.len(),
        "the lesson says: also 98 bytes"
    );
    let with_newline = format!("{signed_text}\n");
    for (what, text) in [
        ("unchanged", signed_text.clone()),
        ("tampered", signed(TIMESTAMP, &tampered)),
        ("reordered", signed(TIMESTAMP, reordered)),
        ("echo's newline", with_newline),
    ] {
        let quoted = abbreviated(&hmac_sha256_hex(SECRET.as_bytes(), text.as_bytes()));
        assert!(lesson.contains(&quoted), "{what}: {quoted} in the lesson");
    }
}

/// The exercise's inputs, read from its prompt: secret, timestamp, body.
fn exercise_inputs(exercise: &str) -> (String, String, String) {
    let secret = exercise
        .split('`')
        .find(|s| s.starts_with("whsec_"))
        .expect("a secret in backticks")
        .to_string();
    let timestamp = exercise
        .split("`t=")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .expect("a `t=...` timestamp")
        .to_string();
    let body = exercise
        .split("```text\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("the body in a text block")
        .to_string();
    (secret, timestamp, body)
}

async fn grade(server: &TestServer, client: &reqwest::Client, answer: &str) -> Value {
    let response = client
        .post(server.url("/api/exercises/api-webhook-signature/attempts"))
        .json(&json!({ "answer": answer }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_signature_exercise_accepts_the_hmac_of_its_inputs_and_refuses_the_slips() {
    let exercise = read(SIGNATURE_EXERCISE);
    let (secret, timestamp, body) = exercise_inputs(&exercise);
    assert!(exercise.contains(&format!("{} bytes, with no newline", body.len())));
    let signed_text = signed(&timestamp, &body);
    assert!(exercise.contains(&format!("{} bytes in all", signed_text.len())));
    let key = secret.as_bytes();
    let right = hmac_sha256_hex(key, signed_text.as_bytes());

    // Each slip the second hint names gives the value it quotes.
    let slips = [
        hmac_sha256_hex(key, format!("{signed_text}\n").as_bytes()),
        hmac_sha256_hex(key, body.as_bytes()),
        hmac_sha256_hex(key, format!("{timestamp}{body}").as_bytes()),
        Sha256::digest(signed_text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    ];
    for slip in &slips {
        assert!(
            exercise.contains(&format!("`{}…`", &slip[..8])),
            "the hint quotes {slip}"
        );
    }

    let server = TestServer::start().await;
    let student = server.browser();
    for slip in &slips {
        let wrong = grade(&server, &student, slip).await;
        assert_eq!(wrong["outcome"]["score"], 0, "{slip}: {wrong}");
    }
    for answer in [
        right.clone(),
        right.to_uppercase(),
        format!("v1={right}"),
        format!("SHA2-256(stdin)= {right}"),
    ] {
        let graded = grade(&server, &student, &answer).await;
        assert_eq!(graded["outcome"]["score"], 3, "{answer}: {graded}");
    }
}

#[tokio::test]
async fn the_echo_keeps_a_webhooks_raw_body_and_its_parse_reorders_the_keys() {
    let server = TestServer::start().await;
    let client = server.browser();
    let echo: Value = client
        .post(server.url("/labs/http/echo/webhooks/payments"))
        .header("content-type", "application/json")
        .body(BODY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(echo["body"], BODY);
    assert_eq!(echo["body_bytes"], 98);
    // Written out again, the parse has the same length and other bytes:
    // the lesson's reason to verify the raw body, not the parse.
    let rewritten = serde_json::to_string(&echo["body_json"]).unwrap();
    assert_eq!(
        rewritten,
        r#"{"data":{"amount":2599,"currency":"eur","order_id":42},"id":"evt_1001","type":"payment.succeeded"}"#
    );
    assert_ne!(rewritten, BODY);
}

#[tokio::test]
async fn the_shop_refuses_a_price_sent_by_the_client_and_charges_its_own() {
    let server = TestServer::start().await;
    let client = server.browser();
    let cheat = client
        .post(server.url("/labs/api/orders"))
        .json(&json!({ "customer_id": 12, "items": [{ "product_id": 9, "quantity": 2, "unit_price_cents": 1 }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(cheat.status(), 422);
    let problem: Value = cheat.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("unknown field `unit_price_cents`"),
        "{problem}"
    );

    let product = server.json(&client, "/labs/api/products/9").await;
    let order: Value = client
        .post(server.url("/labs/api/orders"))
        .json(&json!({ "customer_id": 12, "items": [{ "product_id": 9, "quantity": 2 }] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        order["items"][0]["unit_price_cents"],
        product["price_cents"]
    );
    assert_eq!(
        order["total_cents"].as_i64().unwrap(),
        2 * product["price_cents"].as_i64().unwrap()
    );
}
