//! Helpers for the gateway lab's tests, shared by the integration binary
//! and the live-timing binary that runs alone.

use serde_json::Value;

use super::TestServer;

/// Saves the student's gateway settings; anything but 200 fails the test.
pub(crate) async fn configure(server: &TestServer, student: &reqwest::Client, settings: Value) {
    let response = student
        .put(server.url("/labs/gateway/settings"))
        .json(&settings)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// Reads `path` as JSON until `done` holds for it: health checks and load
/// runs go on in the background (a bounded wait, not a timed one).
pub(crate) async fn read_until(
    server: &TestServer,
    student: &reqwest::Client,
    path: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let patience = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let read = server.json(student, path).await;
        if done(&read) {
            return read;
        }
        assert!(std::time::Instant::now() < patience, "never came: {read}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Starts a load run; the caller checks the answer.
pub(crate) async fn start_load(
    server: &TestServer,
    student: &reqwest::Client,
    body: Value,
) -> reqwest::Response {
    student
        .post(server.url("/labs/gateway/load"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// The student's load run once `done` holds for it.
pub(crate) async fn view_load_until(
    server: &TestServer,
    student: &reqwest::Client,
    done: impl Fn(&Value) -> bool,
) -> Value {
    read_until(server, student, "/labs/gateway/load", done).await
}
