//! The labs' OpenAPI document, served by the real server: one operation per
//! lab route, ids unique, every lab's settings in it, and the reference
//! page showing each operation. (schemathesis checks the live answers
//! against it in `end2end/tests/openapi-contract.test.mjs`.)

use std::collections::HashSet;

use crate::common::TestServer;
use serde_json::Value;

async fn document(server: &TestServer) -> Value {
    let response = server
        .browser()
        .get(server.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            found.push((method.clone(), path.clone(), operation.clone()));
        }
    }
    found
}

#[tokio::test]
async fn every_lab_route_is_described_once_with_its_errors() {
    let server = TestServer::start().await;
    let document = document(&server).await;
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1."));
    let operations = operations(&document);
    let ids: HashSet<_> = operations
        .iter()
        .map(|(_, _, op)| op["operationId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), operations.len(), "operation ids are unique");
    for lab in ["http", "auth", "sql", "cache", "ratelimit", "api"] {
        let settings = format!("/labs/{lab}/settings");
        assert!(
            document["paths"][&settings]["put"].is_object(),
            "{settings}"
        );
    }
    for (method, path, operation) in &operations {
        assert!(path.starts_with("/labs/") && !path.contains("{*"), "{path}");
        assert!(operation["responses"]["4XX"].is_object(), "{method} {path}");
        assert!(operation["summary"].as_str().is_some_and(|s| !s.is_empty()));
    }
    let create = &document["paths"]["/labs/api/orders"]["post"];
    assert!(create["responses"]["201"]["headers"]["Location"].is_object());
    assert_eq!(
        create["responses"]["4XX"]["content"]["application/problem+json"]["schema"]["$ref"],
        "#/components/schemas/Problem"
    );
}

#[tokio::test]
async fn every_documented_path_is_served() {
    let server = TestServer::start().await;
    let document = document(&server).await;
    let client = server.browser();
    // A long poll holds its answer for the student's timeout: the shortest.
    client
        .put(server.url("/labs/realtime/settings"))
        .json(&serde_json::json!({ "long_poll_timeout_secs": 1 }))
        .send()
        .await
        .unwrap();
    for (method, path, _) in operations(&document) {
        if method != "get" {
            continue;
        }
        // Path parameters get a value of the right type that names nothing.
        let url = path
            .replace("{id}", "999999")
            .replace("{code}", "200")
            .replace("{kind}", "validation")
            .replace("{username}", "nobody")
            .replace("{rest}", "a/b");
        let response = client.get(server.url(&url)).send().await.unwrap();
        let status = response.status().as_u16();
        // An event stream's body never ends; its answer is the stream itself.
        if response
            .headers()
            .get("content-type")
            .is_some_and(|t| t == "text/event-stream")
        {
            assert_eq!(status, 200, "GET {url}");
            continue;
        }
        let body = response.text().await.unwrap();
        assert!(
            status < 500 && !body.contains("No lab route at this path"),
            "GET {url}: {status} {body}"
        );
    }
}

#[tokio::test]
async fn the_reference_page_shows_each_operation() {
    let server = TestServer::start().await;
    let document = document(&server).await;
    let page = server
        .browser()
        .get(server.url("/reference"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    for (_, _, operation) in operations(&document) {
        let id = operation["operationId"].as_str().unwrap();
        assert!(html.contains(&format!("id=\"{id}\"")), "{id} on the page");
    }
    assert!(html.contains("href=\"#shape-Order\""));
}
