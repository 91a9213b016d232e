//! Course pages served from memory to every reader, with what is the
//! reader's own (their name, role links, deadlines and exercise results)
//! filled in per request; and the in-memory copies behind that staying
//! exact when accounts, attempts and classes change.
//!
//! Whether a page came from the cache is read from its `x-page-cache`
//! header (`hit`: no render happened for this request).

use reqwest::Client;
use serde_json::{json, Value};
use server::accounts::Role;

use crate::common::{answer, make_role, TestServer};

const PASSWORD: &str = "correct horse battery";
const LESSON: &str = "/lessons/http/anatomy";

async fn sign_up(server: &TestServer, name: &str, email: &str) -> Client {
    let client = server.browser();
    let response = client
        .post(server.url("/auth/signup"))
        .json(&json!({ "name": name, "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap()
    );
    client
}

/// The page's cache header and body.
async fn page(server: &TestServer, client: &Client, path: &str) -> (String, String) {
    let response = client.get(server.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let cache = response
        .headers()
        .get("x-page-cache")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (cache, response.text().await.unwrap())
}

/// The page's site header.
fn header(page: &str) -> &str {
    let start = page.find("<header").expect("a header");
    let end = page[start..].find("</header>").expect("its end");
    &page[start..start + end]
}

#[tokio::test]
async fn a_signed_in_student_gets_the_cached_page_with_their_name_and_results() {
    let server = TestServer::start().await;
    let (cache, shared) = page(&server, &server.browser(), LESSON).await;
    assert_eq!(cache, "miss", "the first reader's page is rendered");
    assert!(shared.contains("Sign in") && shared.contains("Not attempted yet."));

    let ada = sign_up(&server, "Ada Lovelace", "ada@example.com").await;
    answer(&server, &ada, "http-host-header", json!("Host")).await;
    let (cache, own) = page(&server, &ada, LESSON).await;
    assert_eq!(cache, "hit", "no render for a signed-in reader");
    assert!(own.contains("Ada Lovelace"), "their name in the header");
    assert!(own.contains("Sign out") && !own.contains(">Sign in<"));
    assert!(
        own.contains("Done: 1 of 1 points, in 1 attempt."),
        "their result is in the page before any script runs"
    );
    assert!(
        !own.contains(r#"<a href="/instructor/classes">"#),
        "a student"
    );

    // A wrong answer next: the very next page says so.
    answer(
        &server,
        &ada,
        "http-request-parts-order",
        json!([
            "The body",
            "The request line",
            "An empty line",
            "Headers, one per line"
        ]),
    )
    .await;
    let (_, own) = page(&server, &ada, LESSON).await;
    assert!(own.contains("Best so far: "), "{own}");

    let (cache, stranger) = page(&server, &server.browser(), LESSON).await;
    assert_eq!(cache, "hit");
    assert_eq!(stranger, shared, "the shared bytes are nobody's");
    server.stop().await;
}

#[tokio::test]
async fn a_page_first_opened_by_a_signed_in_reader_is_cached_for_the_next() {
    let server = TestServer::start().await;
    let ada = sign_up(&server, "Ada", "ada@example.com").await;
    // Rendered for Ada, which tells the cache the page is shared; rendered
    // for nobody in particular and kept; then served from the cache.
    let (cache, first) = page(&server, &ada, "/").await;
    assert_eq!(cache, "miss");
    let (cache, second) = page(&server, &ada, "/").await;
    assert_eq!(cache, "miss");
    let (cache, third) = page(&server, &ada, "/").await;
    assert_eq!(cache, "hit");
    assert_eq!(
        header(&first),
        header(&second),
        "the same header, rendered for her or filled in"
    );
    assert!(header(&second).contains("Ada"));
    assert_eq!(second, third);
    let (_, stranger) = page(&server, &server.browser(), "/").await;
    assert!(!stranger.contains("Ada"), "the cached page is not Ada's");
    server.stop().await;
}

#[tokio::test]
async fn a_role_change_shows_on_the_very_next_page() {
    let server = TestServer::start().await;
    let root = sign_up(&server, "Root", "root@example.com").await;
    make_role(&server, "root@example.com", Role::Admin).await;
    let tess = sign_up(&server, "Tess", "tess@example.com").await;
    page(&server, &server.browser(), LESSON).await; // now in the cache
    let (_, before) = page(&server, &tess, LESSON).await;
    assert!(!before.contains(r#"href="/instructor/gradebook""#));

    // Through this server (the admin API): seen at once.
    let changed = root
        .put(server.url("/api/admin/accounts/tess@example.com/role"))
        .json(&json!({ "role": "instructor" }))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let (cache, after) = page(&server, &tess, LESSON).await;
    assert_eq!(cache, "hit");
    assert!(after.contains(r#"href="/instructor/gradebook""#), "{after}");

    // Through another process (the `workbench user` command): seen once
    // this server reads the change counter, which it does every 250 ms;
    // `make_role` reads it at once instead of waiting.
    make_role(&server, "tess@example.com", Role::Student).await;
    let (_, demoted) = page(&server, &tess, LESSON).await;
    assert!(!demoted.contains(r#"href="/instructor/gradebook""#));
    let me = tess.get(server.url("/api/me")).send().await.unwrap();
    assert_eq!(me.json::<Value>().await.unwrap()["role"], "student");
    server.stop().await;
}

#[tokio::test]
async fn signing_out_shows_on_the_very_next_cached_page() {
    let server = TestServer::start().await;
    let ada = sign_up(&server, "Ada", "ada@example.com").await;
    let phone = server.browser();
    let signed_in = phone
        .post(server.url("/auth/signin"))
        .json(&json!({ "email": "ada@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 200);
    for client in [&ada, &phone] {
        page(&server, client, LESSON).await;
        assert!(page(&server, client, LESSON).await.1.contains("Sign out"));
    }
    let everywhere = phone
        .post(server.url("/auth/signout-everywhere"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(everywhere.status(), 200);
    for client in [&ada, &phone] {
        let (cache, after) = page(&server, client, LESSON).await;
        assert_eq!(cache, "hit");
        assert!(
            !after.contains("Ada") && after.contains(">Sign in<"),
            "signed out"
        );
    }
    server.stop().await;
}
