//! Server-rendered pages: course home, lessons, 404s and security headers.

use crate::common::TestServer;

#[tokio::test]
async fn the_course_home_lists_modules_and_lessons_in_order() {
    let server = TestServer::start().await;
    let html = server.get("/").await.text().await.unwrap();
    assert!(html.contains("HTTP and APIs"), "module title");
    let anatomy = html
        .find("href=\"/lessons/http/anatomy\"")
        .expect("first lesson linked");
    let status = html
        .find("href=\"/lessons/http/status-codes-and-verbs\"")
        .expect("second lesson linked");
    assert!(anatomy < status, "lessons in file order");
    server.stop().await;
}

#[tokio::test]
async fn a_lesson_page_has_contents_widgets_highlighting_and_neighbours() {
    let server = TestServer::start().await;
    let response = server.get("/lessons/http/anatomy").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("<h1>Anatomy of an HTTP request</h1>"));
    assert!(
        html.contains("aria-label=\"On this page\""),
        "table of contents"
    );
    assert!(
        html.contains("<h2 id=\"the-request-line\">"),
        "heading anchors"
    );
    assert!(
        html.contains("href=\"#the-request-line\""),
        "contents links to anchors"
    );
    assert!(
        html.contains("class=\"widget request-widget\""),
        "request widget rendered on the server"
    );
    assert!(
        html.contains("value=\"/labs/http/echo?course=backend&amp;lesson=anatomy\""),
        "widget starts from the block's URL"
    );
    assert!(
        html.contains("rel=\"next\" href=\"/lessons/http/status-codes-and-verbs\""),
        "next link"
    );
    assert!(
        html.contains("rel=\"prev\" href=\"/lessons/http/client-and-server\""),
        "previous link"
    );
    let first = server
        .get("/lessons/http/client-and-server")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !first.contains("rel=\"prev\""),
        "the first lesson has no previous"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_unknown_lesson_is_a_404_page() {
    let server = TestServer::start().await;
    let response = server.get("/lessons/http/no-such-lesson").await;
    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("Page not found"));
    let response = server.get("/no/such/page").await;
    assert_eq!(response.status(), 404);
    server.stop().await;
}

#[tokio::test]
async fn pages_carry_protective_headers_and_health_is_reported() {
    let server = TestServer::start().await;
    let response = server.get("/lessons/http/anatomy").await;
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    assert_eq!(response.headers()["referrer-policy"], "same-origin");
    let health = server.get("/healthz").await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");
    server.stop().await;
}

#[tokio::test]
async fn behind_tls_pages_ask_browsers_to_keep_to_https() {
    let plain = TestServer::start().await;
    let page = plain.get("/lessons/http/anatomy").await;
    assert!(!page.headers().contains_key("strict-transport-security"));
    plain.stop().await;
    let tls =
        TestServer::start_configured(crate::common::repo_root(), |c| c.secure_cookies = true).await;
    for path in ["/lessons/http/anatomy", "/healthz", "/api/me"] {
        let answer = tls.get(path).await;
        assert_eq!(
            answer.headers()["strict-transport-security"],
            "max-age=31536000",
            "{path}"
        );
    }
    tls.stop().await;
}

#[tokio::test]
async fn readiness_says_whether_the_database_answers_and_the_process_is_staying() {
    let server = TestServer::start().await;
    let ready = server.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.headers()["cache-control"], "no-store");
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(
        (body["ready"].as_bool(), body["database"].as_str()),
        (Some(true), Some("ok"))
    );
    assert_eq!(body["redis"], "not configured");

    // Draining: still alive, no longer ready, so a balancer stops sending.
    server.state.stopping.send_replace(true);
    assert_eq!(server.get("/healthz").await.status(), 200);
    let draining = server.get("/readyz").await;
    assert_eq!(draining.status(), 503);
    server.state.stopping.send_replace(false);

    // The database gone: not ready, and the answer says why.
    server.state.pool.close().await;
    let down = server.get("/readyz").await;
    assert_eq!(down.status(), 503);
    let body: serde_json::Value = down.json().await.unwrap();
    assert!(
        body["database"].as_str().unwrap().contains("database"),
        "{body}"
    );
    server.stop().await;
}

#[tokio::test]
async fn pages_carry_a_content_security_policy_with_their_inline_script_hashes() {
    let server = TestServer::start().await;
    for _ in 0..2 {
        // Rendered, then from the page cache: the policy is kept.
        let page = server.get("/lessons/http/anatomy").await;
        let csp = page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert!(csp.contains("object-src 'none'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
        assert!(
            csp.matches("'sha256-").count() >= 2,
            "the inline scripts are allowed by hash: {csp}"
        );
    }
    let api = server.get("/api/traces").await;
    assert!(
        !api.headers().contains_key("content-security-policy"),
        "JSON needs none"
    );
    server.stop().await;
}

/// The `data-component` names of a page's islands, sorted, without repeats.
fn islands_of(html: &str) -> Vec<String> {
    let mut names: Vec<String> = html
        .split("<leptos-island")
        .skip(1)
        .filter_map(|tag| tag.split("data-component=\"").nth(1))
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The page's `<head>`, where the wasm loader is.
fn head_of(html: &str) -> &str {
    &html[..html.find("</head>").expect("a head")]
}

#[tokio::test]
async fn a_page_whose_islands_have_a_bundle_loads_that_bundle_alone() {
    let site = tempfile::tempdir().unwrap();
    let site_root = site.path().to_path_buf();
    let server = TestServer::start_configured(crate::common::repo_root(), |config| {
        config.site_root = site_root.clone();
    })
    .await;
    let lesson = "/lessons/rate-limiting/algorithms";
    let split = server.text(&server.browser(), lesson).await;
    let islands = islands_of(&split);
    assert!(!islands.is_empty(), "the lesson has islands");
    assert!(
        head_of(&split).contains("href=\"/pkg/workbench.wasm\""),
        "without bundles, the split build's main module"
    );

    // A bundle for exactly this page's islands, as scripts/build-bundles.sh
    // leaves it, and one for a set no page carries.
    for (folder, names) in [
        ("RateLimitConsole+RateLimitSimulator", islands.join("\n")),
        ("Elsewhere", "SqlSchema_1".to_string()),
    ] {
        let dir = site.path().join("pkg/bundles").join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("workbench.js"), "export default 1").unwrap();
        std::fs::write(dir.join("workbench.wasm"), "\0asm").unwrap();
        std::fs::write(dir.join("islands.txt"), names + "\n").unwrap();
    }
    let server = server.restart().await;
    let bundle = "/pkg/bundles/RateLimitConsole+RateLimitSimulator";
    for round in ["rendered", "from the page cache"] {
        let page = server.get(lesson).await;
        let policy = page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        let html = page.text().await.unwrap();
        let head = head_of(&html);
        assert!(
            head.contains(&format!(
                "<link rel=\"modulepreload\" href=\"{bundle}/workbench.js\""
            )) && head.contains(&format!(
                "<link rel=\"preload\" href=\"{bundle}/workbench.wasm\""
            )),
            "{round}: the bundle is preloaded: {head}"
        );
        assert!(
            !head.contains("href=\"/pkg/workbench.js\"")
                && !head.contains("href=\"/pkg/workbench.wasm\""),
            "{round}: and the split build is not: {head}"
        );
        let loader = head
            .split("<script")
            .filter_map(|script| script.split_once('>'))
            .map(|(_, rest)| rest.split("</script>").next().unwrap())
            .find(|script| script.contains("hydrateIslands"))
            .expect("Leptos's loader");
        assert!(
            loader.contains(&format!("\"{}\"", &bundle[1..])),
            "{round}: the loader imports the bundle: {loader:.80}"
        );
        assert!(
            policy.contains(&server::csp::script_source(loader)),
            "{round}: the rewritten loader is the one the policy allows"
        );
        assert_eq!(
            islands_of(&html),
            islands,
            "{round}: the islands are untouched"
        );
    }

    // A page with other islands keeps the split build.
    let other = server
        .text(&server.browser(), "/lessons/caching/why-cache")
        .await;
    assert!(!islands_of(&other).is_empty());
    assert!(head_of(&other).contains("href=\"/pkg/workbench.wasm\""));
    assert!(!head_of(&other).contains("/pkg/bundles/"));

    // Runnable SQL blocks are the enhancer's: a lesson of them and exercise
    // cards loads its small module and no Leptos.
    let sql = server
        .text(&server.browser(), "/lessons/databases/joins")
        .await;
    assert!(
        sql.contains("class=\"widget sql-runner\""),
        "the SQL blocks"
    );
    assert!(islands_of(&sql).is_empty());
    assert!(head_of(&sql).contains("href=\"/pkg/enhance.js\""));
    assert!(!sql.contains("workbench.wasm"));
    server.stop().await;
}
