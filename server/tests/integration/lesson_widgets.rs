//! Every request widget in the built-in course works against the real server:
//! no widget points at a missing route or makes the server fail.

use crate::common::TestServer;
use model::LessonBlock;
use reqwest::Method;
use server::content::load_course;

#[tokio::test]
async fn every_request_widget_in_our_lessons_gets_a_real_answer() {
    let course =
        load_course(&crate::common::repo_root(), &server::vocabulary()).expect("our course loads");
    let server = TestServer::start().await;
    let client = server.browser();
    let mut sent = 0;
    for module in &course.outline().modules {
        for link in &module.lessons {
            let slug = link.href.rsplit('/').next().unwrap();
            let lesson = course.lesson(&module.slug, slug).unwrap();
            for block in &lesson.blocks {
                let LessonBlock::Request(template) = block else {
                    continue;
                };
                let mut request = client.request(
                    Method::from_bytes(template.method.as_bytes()).unwrap(),
                    server.url(&template.url),
                );
                for (name, value) in &template.headers {
                    request = request.header(name, value);
                }
                if !template.body.is_empty() {
                    request = request.body(template.body.clone());
                }
                let response = request.send().await.unwrap();
                let status = response.status();
                let what = format!("{} {} in {}", template.method, template.url, link.href);
                assert!(
                    response.headers().contains_key("traceresponse"),
                    "{what}: not traced"
                );
                // A replica's failure relayed by the gateway lab, or a
                // service's failing a BFF page (a fault the lesson switched
                // on), names the replica or the service; it is the lesson's
                // point, like a lab's own problem (an export not started
                // yet, the fault switch a lesson turned on), not a missing
                // route or a server failure.
                let relayed = ["x-replica", "x-failed-service"]
                    .iter()
                    .any(|name| response.headers().contains_key(*name));
                let problem_type = problem_type(response).await;
                let lab_problem = problem_type.as_deref().is_some_and(|t| t != "about:blank");
                assert!(
                    status != 404 || lab_problem,
                    "{what}: the widget points at no route"
                );
                assert!(
                    !status.is_server_error()
                        || relayed
                        || problem_type.as_deref() == Some("/labs/api/problems/response-lost"),
                    "{what}: {status}"
                );
                sent += 1;
            }
        }
    }
    assert!(
        sent >= 6,
        "the course has request widgets to try (found {sent})"
    );
    server.stop().await;
}

/// The `type` of an RFC 9457 problem answer, if it is one.
async fn problem_type(response: reqwest::Response) -> Option<String> {
    let is_problem = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !is_problem {
        return None;
    }
    let body: serde_json::Value = response.json().await.ok()?;
    body["type"].as_str().map(str::to_string)
}
