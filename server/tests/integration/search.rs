//! Course search: the JSON API behind search-as-you-type, the `/search`
//! page that works without script, and the box in every page's header.

use crate::common::TestServer;

#[tokio::test]
async fn a_word_in_a_lesson_body_finds_its_section_even_with_a_typo() {
    let server = TestServer::start().await;
    let client = server.browser();
    for query in ["thundering herd", "thundering hred", "thunderi"] {
        let found = server
            .json(
                &client,
                &format!("/api/search?q={}", query.replace(' ', "+")),
            )
            .await;
        let hrefs: Vec<&str> = found["hits"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|h| h["href"].as_str())
            .collect();
        assert!(
            hrefs
                .iter()
                .any(|h| h.starts_with("/lessons/caching/stampedes")),
            "{query}: {found}"
        );
        assert!(hrefs.len() <= 8, "the default is 8 hits: {found}");
    }
    server.stop().await;
}

#[tokio::test]
async fn titles_rank_first_and_exercises_link_to_their_card() {
    let server = TestServer::start().await;
    let client = server.browser();
    let found = server.json(&client, "/api/search?q=stampedes").await;
    assert_eq!(found["hits"][0]["kind"], "lesson", "{found}");
    assert_eq!(found["hits"][0]["href"], "/lessons/caching/stampedes");

    let found = server
        .json(&client, "/api/search?q=retry-after&limit=50")
        .await;
    let exercise = found["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "exercise")
        .unwrap_or_else(|| panic!("an exercise mentions Retry-After: {found}"));
    let href = exercise["href"].as_str().unwrap();
    assert!(href.contains("#exercise-"), "{href}");
    let lesson = href.split('#').next().unwrap();
    let id = href.split("#exercise-").nth(1).unwrap();
    let page = server.text(&client, lesson).await;
    assert!(
        page.contains(&format!("id=\"exercise-{id}\"")),
        "the link lands on the card"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_results_page_works_without_script_and_marks_the_words() {
    let server = TestServer::start().await;
    let client = server.browser();
    let response = client
        .get(server.url("/search?q=idempotency+key"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("<title>Search: idempotency key</title>"),
        "{page}"
    );
    assert!(page.contains("places match"), "{page}");
    assert!(page.contains("href=\"/lessons/apis/safe-retries"), "{page}");
    assert!(page.contains("<mark>"), "matched words are marked");

    let page = server.text(&client, "/search?q=zzqxv").await;
    assert!(page.contains("Nothing in the course matches."), "{page}");

    let page = server.text(&client, "/").await;
    assert!(
        page.contains("role=\"search\" action=\"/search\" method=\"get\""),
        "every page has the search form in its header"
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_searches_get_a_400_that_says_why() {
    let server = TestServer::start().await;
    let long = "a".repeat(201);
    for (path, says) in [
        (format!("/api/search?q={long}"), "at most 200"),
        ("/api/search?q=cache&limit=0".to_string(), "`limit`"),
        ("/api/search?q=cache&limit=many".to_string(), "limit"),
    ] {
        let response = server.get(&path).await;
        assert_eq!(response.status(), 400, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(
            body["message"].as_str().unwrap_or_default().contains(says),
            "{path}: {body}"
        );
    }
    let empty: serde_json::Value = server.get("/api/search").await.json().await.unwrap();
    assert_eq!(empty["hits"], serde_json::json!([]));
    server.stop().await;
}
