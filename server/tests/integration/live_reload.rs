//! Dev mode: saving a lesson updates the served page without a restart, and
//! pages are told to reload.

use std::time::Duration;

use crate::common::TestServer;
use futures_util::StreamExt;

/// Reads the event stream until a `data:` line differs from `seen`.
async fn next_version(
    stream: &mut (impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    seen: &mut String,
) -> String {
    let wait = async {
        while let Some(chunk) = stream.next().await {
            let chunk = String::from_utf8_lossy(&chunk.unwrap()).to_string();
            for line in chunk.lines() {
                if let Some(version) = line.strip_prefix("data:") {
                    let version = version.trim().to_string();
                    if *seen != version {
                        return version;
                    }
                }
            }
        }
        panic!("event stream ended");
    };
    // A generous bound so a broken watcher fails the test instead of hanging it.
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .expect("a content event")
}

#[tokio::test]
async fn saving_a_lesson_updates_the_page_and_tells_the_browser() {
    let course = crate::common::copy_of_course();
    let server = TestServer::start_with(course.path().to_path_buf(), true).await;
    let client = server.browser();
    let page = server.text(&client, "/lessons/http/anatomy").await;
    assert!(
        page.contains("/api/dev/content-events"),
        "dev pages carry the reload script"
    );

    let response = client
        .get(server.url("/api/dev/content-events"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut stream = response.bytes_stream();
    let mut seen = String::new();
    seen = next_version(&mut stream, &mut seen).await;

    let path = course.path().join("lessons/01-http/01-anatomy.md");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("Anatomy of an HTTP request", "Anatomy, revised"),
    )
    .unwrap();
    let _ = next_version(&mut stream, &mut seen).await;
    let page = server.text(&client, "/lessons/http/anatomy").await;
    assert!(page.contains("<h1>Anatomy, revised</h1>"));
    // Search is indexed with the course, so it finds the new words too.
    let found = server.json(&client, "/api/search?q=revised").await;
    assert_eq!(found["hits"][0]["href"], "/lessons/http/anatomy", "{found}");

    server.stop().await;
}

#[tokio::test]
async fn pages_outside_dev_mode_carry_no_reload_script() {
    let server = TestServer::start().await;
    let page = server
        .get("/lessons/http/anatomy")
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("/api/dev/content-events"));
    server.stop().await;
}
