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
                assert_ne!(status, 404, "{what}: the widget points at no route");
                assert!(!status.is_server_error(), "{what}: {status}");
                assert!(
                    response.headers().contains_key("traceresponse"),
                    "{what}: not traced"
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
