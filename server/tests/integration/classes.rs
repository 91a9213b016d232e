//! Classes over real HTTP: an instructor makes one, students join through
//! its link (as guests or accounts), deadlines mark late work, and each
//! instructor sees only their own classes. And the classroom's limits: a
//! class of 300 behind one address signs up without a 429, while the same
//! traffic without a class is throttled.

use crate::common::{make_role, TestServer};
use futures_util::future::join_all;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use server::accounts::Role;

const PASSWORD: &str = "a long enough passphrase";

async fn post(client: &Client, server: &TestServer, path: &str, body: Value) -> reqwest::Response {
    client
        .post(server.url(path))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn sign_up(server: &TestServer, name: &str, email: &str) -> Client {
    let client = server.browser();
    let response = post(
        &client,
        server,
        "/auth/signup",
        json!({ "name": name, "email": email, "password": PASSWORD }),
    )
    .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    client
}

async fn instructor(server: &TestServer, name: &str, email: &str) -> Client {
    let client = sign_up(server, name, email).await;
    make_role(server, email, Role::Instructor).await;
    client
}

/// Creates a class as `teacher`; returns its JSON summary.
async fn create_class(server: &TestServer, teacher: &Client, body: Value) -> Value {
    let response = post(teacher, server, "/api/instructor/classes", body).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

async fn attempt(server: &TestServer, client: &Client, exercise: &str, answer: Value) -> Value {
    let response = post(
        client,
        server,
        &format!("/api/exercises/{exercise}/attempts"),
        json!({ "answer": answer }),
    )
    .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_guest_joins_by_link_works_signs_up_and_stays_in_the_class() {
    let server = TestServer::start().await;
    let tess = instructor(&server, "Tess", "tess@example.com").await;
    let class = create_class(
        &server,
        &tess,
        json!({ "name": "Backend 101", "capacity": 30 }),
    )
    .await;
    let code = class["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 8);
    assert_eq!(class["join_path"], format!("/join/{code}"));

    // The join page names the class; a made-up code gets a 404 page.
    let page = server
        .text(&server.browser(), &format!("/join/{code}"))
        .await;
    assert!(
        page.contains("Backend 101") && page.contains("Join as a guest"),
        "{page}"
    );
    assert_eq!(server.get("/join/NOPE2345").await.status(), 404);
    // A code that leaked can be replaced: the old one stops working.
    let id = class["id"].as_str().unwrap().to_string();
    let fresh: Value = post(
        &tess,
        &server,
        &format!("/api/instructor/classes/{id}/code"),
        json!({}),
    )
    .await
    .json()
    .await
    .unwrap();
    let old_code = code.clone();
    let code = fresh["code"].as_str().unwrap().to_string();
    assert_ne!(code, old_code);
    assert_eq!(server.get(&format!("/join/{old_code}")).await.status(), 404);
    let hijack = post(
        &server.browser(),
        &server,
        &format!("/api/instructor/classes/{id}/code"),
        json!({}),
    )
    .await;
    assert_eq!(hijack.status(), 401);
    // A join with a control character in its path is a clear 404, not a 500.
    let odd = server
        .browser()
        .post(server.url("/join/AB%0ACD"))
        .form(&[("name", "x")])
        .send()
        .await
        .unwrap();
    assert!(
        odd.status().is_redirection() || odd.status() == 404,
        "{}",
        odd.status()
    );

    // The code typed on /join, as read aloud, leads to the class's page.
    let typed = format!("/join?code={}+{}", code[..4].to_lowercase(), &code[4..]);
    let to_class = server.get(&typed).await;
    assert!(to_class.status().is_redirection());
    assert_eq!(
        to_class.headers()["location"],
        format!("/join/{code}").as_str()
    );
    assert_eq!(server.get("/join").await.status(), 200);

    // A student with no cookie joins as a guest, in lower case with a dash.
    let sam = server.browser();
    let typed = format!("{}-{}", &code[..4].to_lowercase(), &code[4..]);
    let joined = post(
        &sam,
        &server,
        &format!("/join/{typed}"),
        json!({ "name": "Sam Guest" }),
    )
    .await;
    assert_eq!(joined.status(), 201, "{}", joined.text().await.unwrap());
    let again = post(
        &sam,
        &server,
        &format!("/join/{code}"),
        json!({ "name": "Sam Guest" }),
    )
    .await;
    assert_eq!(again.status(), 200, "joining twice is harmless");
    let graded = attempt(
        &server,
        &sam,
        "http-safe-methods",
        json!(["GET", "HEAD", "OPTIONS"]),
    )
    .await;
    assert_eq!(graded["outcome"]["score"], 2);

    let id = class["id"].as_str().unwrap();
    let book = server
        .json(
            &tess,
            &format!("/api/instructor/gradebook?class={id}&module=http"),
        )
        .await;
    assert_eq!(book["cohort"], "Backend 101");
    let students = book["students"].as_array().unwrap();
    assert_eq!(students.len(), 1);
    assert_eq!(students[0]["name"], "Sam Guest");
    assert_eq!(students[0]["email"], "(guest)");
    assert_eq!(students[0]["total"], 2);

    // Signing up keeps the membership and the work.
    let signed_up = post(
        &sam,
        &server,
        "/auth/signup",
        json!({ "name": "Sam Smith", "email": "sam@example.com", "password": PASSWORD }),
    )
    .await;
    assert_eq!(signed_up.status(), 201);
    let book = server
        .json(
            &tess,
            &format!("/api/instructor/gradebook?class={id}&module=http"),
        )
        .await;
    assert_eq!(book["students"][0]["name"], "Sam Smith");
    assert_eq!(book["students"][0]["email"], "sam@example.com");
    assert_eq!(book["students"][0]["total"], 2);
    let csv = server
        .text(&tess, &format!("/api/instructor/gradebook.csv?class={id}"))
        .await;
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with("Sam Smith,sam@example.com,"),
        "{csv}"
    );
    let progress = server.json(&sam, "/api/progress").await;
    assert_eq!(progress["classes"], json!(["Backend 101"]));

    // A guest who joined in another browser and then signs in keeps it too.
    let other = server.browser();
    post(
        &other,
        &server,
        &format!("/join/{code}"),
        json!({ "name": "Ann" }),
    )
    .await;
    post(
        &other,
        &server,
        "/auth/signin",
        json!({ "email": "sam@example.com", "password": PASSWORD }),
    )
    .await;
    let members = server
        .json(&tess, &format!("/api/instructor/classes/{id}"))
        .await;
    assert_eq!(members["members"].as_array().unwrap().len(), 1, "{members}");
    server.stop().await;
}

#[tokio::test]
async fn an_instructor_sees_only_their_own_classes() {
    let server = TestServer::start().await;
    let tess = instructor(&server, "Tess", "tess@example.com").await;
    let ivan = instructor(&server, "Ivan", "ivan@example.com").await;
    let a = create_class(&server, &tess, json!({ "name": "Class A" })).await;
    let b = create_class(&server, &ivan, json!({ "name": "Class B" })).await;
    let bob = server.browser();
    post(
        &bob,
        &server,
        &format!("/join/{}", b["code"].as_str().unwrap()),
        json!({ "name": "Bob" }),
    )
    .await;
    attempt(&server, &bob, "http-safe-methods", json!(["GET"])).await;
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());

    for path in [
        format!("/instructor/gradebook?class={b}"),
        format!("/api/instructor/gradebook?class={b}"),
        format!("/api/instructor/gradebook.csv?class={b}"),
        format!("/instructor/classes/{b}"),
        format!("/api/instructor/classes/{b}"),
    ] {
        let response = tess.get(server.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), 403, "{path}");
        assert!(!response.text().await.unwrap().contains("Bob"), "{path}");
    }
    let refused = post(
        &tess,
        &server,
        &format!("/api/instructor/classes/{b}/deadlines"),
        json!({ "http": "2030-01-01T00:00" }),
    )
    .await;
    assert_eq!(refused.status(), 403);
    // Tess's own views never list Bob: not her class, not "students in no class".
    for path in [
        format!("/api/instructor/gradebook?class={a}"),
        "/api/instructor/gradebook".to_string(),
        "/api/instructor/classes".to_string(),
    ] {
        let body = server.text(&tess, &path).await;
        assert!(
            !body.contains("Bob") && !body.contains("Class B"),
            "{path}: {body}"
        );
    }
    // Students get 403, strangers 401.
    assert_eq!(
        bob.get(server.url(&format!("/api/instructor/classes/{b}")))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let sam = sign_up(&server, "Sam", "sam@example.com").await;
    assert_eq!(
        sam.get(server.url("/api/instructor/classes"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    // An admin sees both.
    let root = sign_up(&server, "Root", "root@example.com").await;
    make_role(&server, "root@example.com", Role::Admin).await;
    let all = server.json(&root, "/api/instructor/classes").await;
    assert_eq!(all["classes"].as_array().unwrap().len(), 2);
    assert_eq!(
        root.get(server.url(&format!("/api/instructor/gradebook?class={b}")))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    server.stop().await;
}

#[tokio::test]
async fn work_after_a_deadline_counts_and_is_marked_late() {
    let server = TestServer::start().await;
    let tess = instructor(&server, "Tess", "tess@example.com").await;
    let class = create_class(
        &server,
        &tess,
        json!({ "name": "Evening", "utc_offset": "+01:00" }),
    )
    .await;
    let id = class["id"].as_str().unwrap();
    let sam = server.browser();
    post(
        &sam,
        &server,
        &format!("/join/{}", class["code"].as_str().unwrap()),
        json!({ "name": "Sam" }),
    )
    .await;

    // Due in one hour, class time.
    let now = server::clock::Clock::now(&*server.clock);
    let due = now + 3600;
    let local = server::classes::dates::format_local(due, 60);
    let saved = post(
        &tess,
        &server,
        &format!("/api/instructor/classes/{id}/deadlines"),
        json!({ "http": local }),
    )
    .await;
    assert_eq!(saved.status(), 200, "{}", saved.text().await.unwrap());
    let bad = post(
        &tess,
        &server,
        &format!("/api/instructor/classes/{id}/deadlines"),
        json!({ "http": "tomorrow" }),
    )
    .await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("YYYY-MM-DDTHH:MM"));
    let unknown = post(
        &tess,
        &server,
        &format!("/api/instructor/classes/{id}/deadlines"),
        json!({ "nope": "" }),
    )
    .await;
    assert_eq!(unknown.status(), 422);

    // The student sees the deadline on the course home and their progress.
    let shown = server::classes::dates::describe(due, 60);
    let home = server.text(&sam, "/").await;
    assert!(home.contains(&shown) && home.contains("Evening"), "{home}");
    let anonymous = server.text(&server.browser(), "/").await;
    assert!(
        !anonymous.contains(&shown),
        "the cached page is not anyone's"
    );
    assert!(server.text(&sam, "/progress").await.contains(&shown));
    assert!(server
        .text(&sam, "/lessons/http/anatomy")
        .await
        .contains(&shown));

    // On time: 1 of 2 points; after the deadline: 2 of 2, marked late.
    attempt(&server, &sam, "http-safe-methods", json!(["GET", "PUT"])).await;
    server.clock.advance(2 * 3600);
    attempt(
        &server,
        &sam,
        "http-safe-methods",
        json!(["GET", "HEAD", "OPTIONS"]),
    )
    .await;
    let book = server
        .json(
            &tess,
            &format!("/api/instructor/gradebook?class={id}&module=http"),
        )
        .await;
    let column = book["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .position(|e| e["id"] == "http-safe-methods")
        .unwrap();
    assert_eq!(book["students"][0]["cells"][column], json!([2, 2]));
    assert_eq!(book["students"][0]["late"][column], true);
    let summary = book["summary"].as_array().unwrap();
    assert_eq!(summary[0]["deadline"], shown.as_str());
    let progress = server.json(&sam, "/api/progress").await;
    let exercise = progress["modules"][0]["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == "http-safe-methods")
        .unwrap()
        .clone();
    assert_eq!(exercise["late"], true);
    assert!(server
        .text(
            &tess,
            &format!("/api/instructor/gradebook.csv?class={id}&module=http")
        )
        .await
        .contains("http-safe-methods"));
    server.stop().await;
}

#[tokio::test]
async fn a_full_class_refuses_more_members_clearly() {
    let server = TestServer::start().await;
    let tess = instructor(&server, "Tess", "tess@example.com").await;
    let class = create_class(&server, &tess, json!({ "name": "Tiny", "capacity": 1 })).await;
    let path = format!("/join/{}", class["code"].as_str().unwrap());
    assert_eq!(
        post(
            &server.browser(),
            &server,
            &path,
            json!({ "name": "First" })
        )
        .await
        .status(),
        201
    );
    let refused = post(
        &server.browser(),
        &server,
        &path,
        json!({ "name": "Second" }),
    )
    .await;
    assert_eq!(refused.status(), 409);
    assert!(refused.text().await.unwrap().contains("full"));
    let no_name = post(&server.browser(), &server, &path, json!({})).await;
    assert_eq!(
        no_name.status(),
        409,
        "full is said before the name is asked for"
    );
    for bad in [
        json!({ "name": "" }),
        json!({ "capacity": 0, "name": "x" }),
        json!({ "name": "x", "starts_on": "soon" }),
    ] {
        let response = post(&tess, &server, "/api/instructor/classes", bad.clone()).await;
        assert_eq!(response.status(), 422, "{bad}");
    }
    server.stop().await;
}

#[tokio::test]
async fn joins_racing_for_the_last_places_never_overfill_a_class() {
    let server = TestServer::start().await;
    let tess = instructor(&server, "Tess", "tess@example.com").await;
    let class = create_class(&server, &tess, json!({ "name": "Small", "capacity": 3 })).await;
    let path = format!("/join/{}", class["code"].as_str().unwrap());
    // Twelve guests ask at once for three places.
    let joins = (0..12).map(|n| {
        let (server, path) = (&server, path.clone());
        async move {
            post(
                &server.browser(),
                server,
                &path,
                json!({ "name": format!("Guest {n}") }),
            )
            .await
            .status()
            .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(joins).await;
    let joined = statuses.iter().filter(|s| **s == 201).count();
    assert_eq!(joined, 3, "{statuses:?}");
    // The others hear the class is full, or (a full class vouching for
    // nobody) that their address made enough new guests for now.
    assert!(
        statuses.iter().all(|s| [201, 409, 429].contains(s)),
        "{statuses:?}"
    );
    let members: Value = tess
        .get(server.url(&format!(
            "/api/instructor/classes/{}",
            class["id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        members["members"].as_array().map(Vec::len),
        Some(3),
        "{members}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_class_of_300_behind_one_address_all_sign_up_and_sign_in() {
    let server = TestServer::start().await;
    let tess = instructor(&server, "Tess", "tess@example.com").await;
    let class = create_class(
        &server,
        &tess,
        json!({ "name": "Big lecture", "capacity": 300 }),
    )
    .await;
    let code = class["code"].as_str().unwrap().to_string();
    let students: Vec<Client> = (0..300).map(|_| server.browser()).collect();

    // Half join as guests first, half sign up straight from the link; all
    // from 127.0.0.1, like a campus behind one NAT address.
    let statuses = join_all(students.iter().enumerate().map(|(i, student)| {
        let (server, code) = (&server, &code);
        async move {
            if i % 2 == 0 {
                let joined = post(
                    student,
                    server,
                    &format!("/join/{code}"),
                    json!({ "name": format!("Student {i}") }),
                )
                .await;
                assert_eq!(joined.status(), 201);
            }
            let body = json!({
                "name": format!("Student {i}"),
                "email": format!("s{i}@example.com"),
                "password": PASSWORD,
                "class": if i % 2 == 1 { code.as_str() } else { "" },
            });
            post(student, server, "/auth/signup", body).await.status()
        }
    }))
    .await;
    let failed: Vec<_> = statuses
        .iter()
        .filter(|s| **s != StatusCode::CREATED)
        .collect();
    assert!(
        failed.is_empty(),
        "{} sign-ups failed: {failed:?}",
        failed.len()
    );
    let id = class["id"].as_str().unwrap();
    let members = server
        .json(&tess, &format!("/api/instructor/classes/{id}"))
        .await;
    assert_eq!(members["members"].as_array().unwrap().len(), 300);

    // The next lesson: everyone signs in again from fresh browsers, from
    // the class's link (the sign-in form carries its code).
    let statuses = join_all((0..300).map(|i| {
        let (server, code) = (&server, &code);
        async move {
            post(
                &server.browser(),
                server,
                "/auth/signin",
                json!({ "email": format!("s{i}@example.com"), "password": PASSWORD, "class": code }),
            )
            .await
            .status()
        }
    }))
    .await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn without_a_class_one_address_is_throttled() {
    let server = TestServer::start().await;
    // 300 sign-ups from one address with no class: the address's budget runs out.
    let mut created = 0;
    let mut throttled = None;
    for i in 0..300 {
        let response = post(
            &server.browser(),
            &server,
            "/auth/signup",
            json!({ "name": "Mass", "email": format!("m{i}@example.com"), "password": PASSWORD }),
        )
        .await;
        match response.status() {
            StatusCode::CREATED => created += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                throttled = Some(response.text().await.unwrap());
                break;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(created <= 60, "{created} accounts from one address");
    assert!(
        throttled.unwrap().contains("join link"),
        "the refusal says what a class should do"
    );

    // Credential stuffing: many accounts' passwords from one address.
    let server = server.restart().await;
    let mut refused = 0;
    for i in 0..100 {
        let response = post(
            &server.browser(),
            &server,
            "/auth/signin",
            json!({ "email": format!("victim{i}@example.com"), "password": "Summer2026!!" }),
        )
        .await;
        refused += usize::from(response.status() == StatusCode::TOO_MANY_REQUESTS);
    }
    assert!(refused >= 40, "only {refused} of 100 guesses refused");
    server.stop().await;
}

#[tokio::test]
async fn cookieless_clients_cannot_lock_others_out() {
    let server = TestServer::start().await;
    let student = server.browser();
    // A student who keeps their cookie.
    let ok = post(
        &student,
        &server,
        "/labs/sql/query",
        json!({ "sql": "SELECT 1" }),
    )
    .await;
    assert_eq!(ok.status(), 200);

    // A few thousand lab requests without a cookie: each would be a new guest.
    let mut refused = 0;
    for _ in 0..2_000 {
        let response = Client::new()
            .get(server.url("/labs/http/echo"))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
            if refused == 1 {
                let message = response.text().await.unwrap();
                assert!(message.contains("cookie"), "{message}");
            }
        }
    }
    assert!(refused >= 1_600, "{refused} refused");
    let guests: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM students WHERE kind = 'guest'")
        .fetch_one(&server.state.pool)
        .await
        .unwrap();
    assert!(guests <= 400, "{guests} guests made");

    // A new student at another address is not affected at all...
    let elsewhere = Client::builder()
        .cookie_store(true)
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let query = post(
        &elsewhere,
        &server,
        "/labs/sql/query",
        json!({ "sql": "SELECT 1" }),
    )
    .await;
    assert_eq!(query.status(), 200, "{}", query.text().await.unwrap());

    // ...and at the same address, a fresh browser whose cookie came from
    // its class's link still gets a sandbox, and the first keeps theirs.
    let tess = instructor(&server, "Tess", "tess@example.com").await;
    let class = create_class(&server, &tess, json!({ "name": "Lab" })).await;
    let late = server.browser();
    let joined = post(
        &late,
        &server,
        &format!("/join/{}", class["code"].as_str().unwrap()),
        json!({ "name": "Late" }),
    )
    .await;
    assert_eq!(joined.status(), 201);
    let query = post(
        &late,
        &server,
        "/labs/sql/query",
        json!({ "sql": "SELECT count(*) FROM customers" }),
    )
    .await;
    assert_eq!(query.status(), 200, "{}", query.text().await.unwrap());
    assert_eq!(
        post(
            &student,
            &server,
            "/labs/sql/query",
            json!({ "sql": "SELECT 1" })
        )
        .await
        .status(),
        200
    );
    server.stop().await;
}

#[tokio::test]
async fn the_class_command_creates_lists_adds_and_exports() {
    let server = TestServer::start().await;
    sign_up(&server, "Tess", "tess@example.com").await;
    make_role(&server, "tess@example.com", Role::Instructor).await;
    let ada = sign_up(&server, "Ada", "ada@example.com").await;
    attempt(
        &server,
        &ada,
        "http-safe-methods",
        json!(["GET", "HEAD", "OPTIONS"]),
    )
    .await;
    let run = |args: &[&str]| {
        let mut all: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
        all.extend(server.database_flags());
        let refs: Vec<&std::ffi::OsStr> = all.iter().map(|a| a.as_os_str()).collect();
        crate::common::run_workbench(&refs, "DATABASE_URL", "")
    };
    let (code, out, err) = run(&[
        "class",
        "create",
        "Term 1",
        "--owner",
        "tess@example.com",
        "--capacity",
        "40",
    ]);
    assert_eq!(code, 0, "{err}");
    let join_code = out
        .split("join code ")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_string();
    let (code, _, err) = run(&["class", "create", "x", "--owner", "ada@example.com"]);
    assert_eq!(code, 2);
    assert!(err.contains("instructor role"), "{err}");

    let roster = server.data_dir.path().join("roster.csv");
    std::fs::write(
        &roster,
        "name,email\nAda,ada@example.com\nNobody,nobody@example.com\n",
    )
    .unwrap();
    let (code, out, err) = run(&[
        "class",
        "add-members",
        &join_code,
        "--csv",
        roster.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("1 added") && out.contains("nobody@example.com"),
        "{out}"
    );

    let (code, out, _) = run(&["class", "list"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(&join_code) && out.contains("1/40 members") && out.contains("Term 1"),
        "{out}"
    );

    let course = crate::common::repo_root();
    let (code, csv, err) = run(&[
        "class",
        "export",
        &join_code,
        "--module",
        "http",
        "--course",
        course.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(csv.starts_with("name,email,"), "{csv}");
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with("Ada,ada@example.com,"),
        "{csv}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_leaked_class_code_buys_an_attacker_little() {
    let server = TestServer::start().await;
    let tess = instructor(&server, "Tess", "tess@example.com").await;
    let class = create_class(&server, &tess, json!({ "name": "Small", "capacity": 20 })).await;
    let code = class["code"].as_str().unwrap().to_string();

    // One browser with the code: five tries on the class's budget, then its own allowance is spent.
    let mallory = server.browser();
    let mut statuses = Vec::new();
    for i in 0..7 {
        let body = json!({ "email": format!("victim{i}@example.com"), "password": "Summer2026!!", "class": code });
        statuses.push(post(&mallory, &server, "/auth/signin", body).await.status());
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(*statuses.last().unwrap(), StatusCode::TOO_MANY_REQUESTS);

    // Fresh browsers each take a place: the class fills, and then the
    // address's own small budget is all that is left.
    let mut refused = 0;
    for i in 0..150 {
        let body = json!({ "email": format!("spray{i}@example.com"), "password": "Summer2026!!", "class": code });
        let status = post(&server.browser(), &server, "/auth/signin", body)
            .await
            .status();
        refused += usize::from(status == StatusCode::TOO_MANY_REQUESTS);
    }
    let id = class["id"].as_str().unwrap();
    let members = server
        .json(&tess, &format!("/api/instructor/classes/{id}"))
        .await;
    assert_eq!(
        members["members"].as_array().unwrap().len(),
        20,
        "every try took a place, and the instructor sees them"
    );
    assert!(refused >= 60, "only {refused} of 150 refused");
    server.stop().await;
}
