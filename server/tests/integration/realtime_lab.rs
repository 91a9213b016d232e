//! The real-time lab: one feed, four transports, over real HTTP, a real
//! event stream and a real WebSocket against a server on port 0.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use super::realtime_chat::{Guest, Site};
use crate::common::process::Process;
use crate::common::{trace_id_of, TestServer};

/// Nothing here should take this long; a hang fails the test instead.
pub(crate) const PATIENCE: Duration = Duration::from_secs(15);

async fn publish(server: &TestServer, student: &reqwest::Client, text: &str) -> Value {
    let response = student
        .post(server.url("/labs/realtime/feed"))
        .json(&json!({ "text": text }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn stats(server: &TestServer, student: &reqwest::Client, transport: &str) -> Value {
    let stats = server.json(student, "/labs/realtime/feed/stats").await;
    stats["transports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["transport"] == transport)
        .cloned()
        .unwrap()
}

/// A guest's session cookie, for clients that keep no jar (the WebSocket).
async fn guest_cookie(server: &TestServer) -> (reqwest::Client, String) {
    let client = reqwest::Client::new();
    let response = client
        .get(server.url("/labs/realtime/feed/stats"))
        .send()
        .await
        .unwrap();
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .find(|c| c.starts_with("workbench_session="))
        .expect("a session cookie");
    (client, cookie)
}

/// Waits until the student has `open` connections of `transport` open.
async fn until_open(server: &TestServer, student: &reqwest::Client, transport: &str, open: u64) {
    tokio::time::timeout(PATIENCE, async {
        while stats(server, student, transport).await["open"] != open {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the connection never opened");
}

#[tokio::test]
async fn a_short_poll_gets_what_came_after_its_last_number_and_counts_empty_answers() {
    let server = TestServer::start().await;
    let student = server.browser();
    for text in ["one", "two", "three"] {
        publish(&server, &student, text).await;
    }
    let response = student
        .get(server.url("/labs/realtime/feed?after=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let polled = server
        .trace_events(&student, &response, "realtime.poll")
        .await;
    assert_eq!(polled[0]["summary"], "sent 2 messages");
    let page: Value = response.json().await.unwrap();
    let texts: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["two", "three"]);
    assert_eq!(
        (page["last_id"].as_u64(), page["missed"].as_u64()),
        (Some(3), Some(0))
    );

    let empty: Value = server.json(&student, "/labs/realtime/feed?after=3").await;
    assert_eq!(empty["events"], json!([]));
    let short = stats(&server, &student, "short-poll").await;
    assert_eq!(short["requests"], 2);
    assert_eq!(short["empty_answers"], 1);
    assert_eq!(short["messages"], 2);
    assert!(short["body_bytes"].as_u64().unwrap() > 60);

    // Another student's feed is their own.
    let other = server.browser();
    let theirs: Value = server.json(&other, "/labs/realtime/feed").await;
    assert_eq!(theirs["last_id"], 0);
    server.stop().await;
}

#[tokio::test]
async fn a_long_poll_is_answered_the_moment_a_message_is_published() {
    let server = TestServer::start().await;
    let student = server.browser();
    publish(&server, &student, "before").await;
    let waiting = tokio::spawn({
        let student = student.clone();
        let url = server.url("/labs/realtime/feed/wait?after=1");
        async move { student.get(url).send().await.unwrap() }
    });
    until_open(&server, &student, "long-poll", 1).await;
    publish(&server, &student, "news").await;
    let response = tokio::time::timeout(PATIENCE, waiting)
        .await
        .expect("the long poll was not answered")
        .unwrap();
    assert_eq!(response.status(), 200);
    let held = server
        .trace_events(&student, &response, "realtime.poll")
        .await;
    assert!(
        held[0]["summary"].as_str().unwrap().starts_with("held "),
        "{held:?}"
    );
    let page: Value = response.json().await.unwrap();
    assert_eq!(page["events"][0]["text"], "news");
    assert_eq!(page["events"].as_array().unwrap().len(), 1);
    let long = stats(&server, &student, "long-poll").await;
    assert_eq!(
        (long["requests"].as_u64(), long["open"].as_u64()),
        (Some(1), Some(0))
    );
    server.stop().await;
}

#[tokio::test]
async fn a_long_poll_without_news_answers_empty_when_its_timeout_runs_out() {
    let server = TestServer::start().await;
    let student = server.browser();
    let saved = student
        .put(server.url("/labs/realtime/settings"))
        .json(&json!({ "long_poll_timeout_secs": 1, "heartbeat_secs": 15 }))
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    let page: Value = tokio::time::timeout(
        PATIENCE,
        server.json(&student, "/labs/realtime/feed/wait?after=0"),
    )
    .await
    .expect("the long poll never gave up");
    assert_eq!(page["events"], json!([]));
    assert_eq!(
        stats(&server, &student, "long-poll").await["empty_answers"],
        1
    );
    server.stop().await;
}

/// Reads server-sent events until `count` messages (events with an id) came.
async fn read_events(response: reqwest::Response, count: usize) -> Vec<(u64, Value)> {
    let mut body = response.bytes_stream();
    let mut text = String::new();
    let mut messages = Vec::new();
    tokio::time::timeout(PATIENCE, async {
        while messages.len() < count {
            let chunk = body.next().await.expect("the stream ended").unwrap();
            text.push_str(std::str::from_utf8(&chunk).unwrap());
            while let Some(end) = text.find("\n\n") {
                let event: String = text.drain(..end + 2).collect();
                let field = |name: &str| {
                    event
                        .lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(str::to_string)
                };
                if let (Some(id), Some(data)) = (field("id: "), field("data: ")) {
                    messages.push((id.parse().unwrap(), serde_json::from_str(&data).unwrap()));
                }
            }
        }
    })
    .await
    .expect("too few events came");
    messages
}

/// The stream's text as it came, read until it holds `marker` (within
/// [`PATIENCE`]); the stream is let go after.
async fn stream_text_until(response: reqwest::Response, marker: &str) -> String {
    let mut body = response.bytes_stream();
    let mut text = String::new();
    tokio::time::timeout(PATIENCE, async {
        while !text.contains(marker) {
            let chunk = body.next().await.expect("the stream ended").unwrap();
            text.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{marker:?} never came; the stream said {text:?}"));
    text
}

/// Publishes `published` messages (`m1`, `m2`, ...), then opens the stream
/// as a browser reconnecting after message `last_event_id` does.
async fn reconnect_after(
    server: &TestServer,
    student: &reqwest::Client,
    published: u32,
    last_event_id: u32,
) -> reqwest::Response {
    for i in 1..=published {
        publish(server, student, &format!("m{i}")).await;
    }
    student
        .get(server.url("/labs/realtime/feed/stream"))
        .header("Last-Event-ID", last_event_id.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_event_stream_resumes_after_last_event_id_with_exactly_what_was_missed() {
    let server = TestServer::start().await;
    let student = server.browser();
    let response = reconnect_after(&server, &student, 5, 2).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let opened = server
        .trace_events(&student, &response, "realtime.stream")
        .await;
    assert_eq!(
        opened[0]["summary"],
        "reconnected with Last-Event-ID 2: 3 missed messages sent first"
    );
    let publisher = tokio::spawn({
        let student = student.clone();
        let url = server.url("/labs/realtime/feed");
        async move {
            student
                .post(url)
                .json(&json!({ "text": "live" }))
                .send()
                .await
                .unwrap()
        }
    });
    let messages = read_events(response, 4).await;
    publisher.await.unwrap();
    let ids: Vec<u64> = messages.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [3, 4, 5, 6]);
    assert_eq!(messages[3].1["text"], "live");
    let sse = stats(&server, &student, "sse").await;
    assert_eq!(sse["messages"], 4);
    assert_eq!(sse["requests"], 1);
    server.stop().await;
}

#[tokio::test]
async fn after_a_crash_and_a_restart_a_reconnect_gets_exactly_what_it_missed_from_the_log() {
    let before = Process::start(&[]);
    let ada = Guest::new(&before).await;
    for text in ["one", "two", "three"] {
        ada.publish(&before, text).await;
    }
    // SIGKILL: nothing is flushed or said goodbye; then a new process on
    // the same data folder. Ada's browser had message 1.
    let after = Process::start_in(before.kill(), &[]);
    let fourth = ada.publish(&after, "four").await;
    assert_eq!(fourth["id"], 4, "numbers go on from the log: {fourth}");
    let response = ada
        .request(Method::GET, after.url("/labs/realtime/feed/stream"))
        .header("Last-Event-ID", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = stream_text_until(
        response, "id: 4
",
    )
    .await;
    assert!(!text.contains("restarted"), "the log kept the feed: {text}");
    assert!(
        !text.contains(
            "id: 1
"
        ),
        "message 1 was had already: {text}"
    );
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle} in {text}"))
    };
    assert!(
        at("\"two\"") < at("\"three\"") && at("\"three\"") < at("\"four\""),
        "exactly the missed ones, in order: {text}"
    );
}

#[tokio::test]
async fn a_number_from_a_feed_that_is_gone_is_told_the_feed_started_again_and_gets_it_all() {
    // A server on a new data folder stands in for a feed that is gone (a
    // week unused, or a server moved without its data): the browser comes
    // back with a number from the feed it had before.
    let server = TestServer::start().await;
    let student = server.browser();
    let response = reconnect_after(&server, &student, 2, 57).await;
    let opened = server
        .trace_events(&student, &response, "realtime.stream")
        .await;
    assert!(
        opened[0]["summary"]
            .as_str()
            .unwrap()
            .contains("which this feed never reached"),
        "{opened:?}"
    );
    let text = stream_text_until(response, "id: 2\n").await;
    let restarted = text.find("event: restarted\ndata: 57\n").expect(&text);
    let first = text.find("id: 1\n").expect(&text);
    assert!(
        restarted < first,
        "told first, then everything kept: {text}"
    );

    // A poll is told the same way.
    let page: Value = student
        .get(server.url("/labs/realtime/feed?after=57"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["restarted"], true, "{page}");
    assert_eq!(page["events"].as_array().unwrap().len(), 2);
    assert_eq!(page["last_id"], 2);
    server.stop().await;
}

/// The value of `field` in the first `kind` event of `trace` (a trace's
/// JSON), unquoted: how the upgrade names its socket's frames trace.
pub(crate) fn event_field(trace: &Value, kind: &str, field: &str) -> String {
    let event = trace["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} event in {trace}"));
    event["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|pair| pair[0] == field)
        .map(|pair| pair[1].as_str().unwrap().trim_matches('"').to_string())
        .unwrap_or_else(|| panic!("no {field} in {event}"))
}

/// The next text frame's JSON (pings and pongs are skipped).
pub(crate) async fn next_json<S>(socket: &mut S) -> Value
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let frame = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("no frame came")
            .expect("the socket closed")
            .unwrap();
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

#[tokio::test]
async fn a_websocket_delivers_the_feed_and_publishes_what_it_is_sent() {
    let server = TestServer::start().await;
    let (student, cookie) = guest_cookie(&server).await;
    let cookie_header = |request: reqwest::RequestBuilder| request.header("cookie", &cookie);
    cookie_header(student.post(server.url("/labs/realtime/feed")))
        .json(&json!({ "text": "kept" }))
        .send()
        .await
        .unwrap();

    let url = server
        .url("/labs/realtime/feed/socket")
        .replace("http://", "ws://");
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("cookie", cookie.parse().unwrap());
    let (mut socket, upgrade) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(upgrade.status(), 101);
    let trace_id = upgrade.headers()["traceresponse"]
        .to_str()
        .unwrap()
        .split('-')
        .nth(1)
        .unwrap()
        .to_string();

    assert_eq!(next_json(&mut socket).await["text"], "kept");

    socket.send(Message::text("from the socket")).await.unwrap();
    let echoed = next_json(&mut socket).await;
    assert_eq!(
        (echoed["id"].as_u64(), echoed["text"].as_str()),
        (Some(2), Some("from the socket"))
    );

    socket.send(Message::text("x".repeat(281))).await.unwrap();
    let refusal = next_json(&mut socket).await;
    assert!(
        refusal["error"].as_str().unwrap().contains("280"),
        "{refusal}"
    );

    let stats: Value = cookie_header(student.get(server.url("/labs/realtime/feed/stats")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let socket_costs = &stats["transports"][3];
    assert_eq!(socket_costs["transport"], "websocket");
    assert_eq!(
        (
            socket_costs["messages"].as_u64(),
            socket_costs["open"].as_u64()
        ),
        (Some(2), Some(1))
    );

    let trace: Value = cookie_header(student.get(server.url(&format!("/api/traces/{trace_id}"))))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(trace["status"], 101);
    let frames_trace = event_field(&trace, "realtime.upgrade", "frames_trace");
    socket.close(None).await.unwrap();

    // Once the socket is closed, its frames are a trace of the student's own.
    let frames: Value = tokio::time::timeout(PATIENCE, async {
        loop {
            let response =
                cookie_header(student.get(server.url(&format!("/api/traces/{frames_trace}"))))
                    .send()
                    .await
                    .unwrap();
            if response.status() == 200 {
                return response.json().await.unwrap();
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the frames' trace was never filed");
    let frame = |direction: &str, opcode: &str| {
        frames["events"].as_array().unwrap().iter().any(|e| {
            e["kind"] == "websocket.frame"
                && e["fields"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p[0] == "direction" && p[1].as_str().unwrap().contains(direction))
                && e["fields"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p[0] == "opcode" && p[1].as_str().unwrap().contains(opcode))
        })
    };
    assert!(frame("received", "text"), "{frames}");
    assert!(frame("sent", "text"), "{frames}");
    assert!(frame("received", "close"), "{frames}");
    // Nobody else can read it.
    let stranger = server.browser();
    let hidden = stranger
        .get(server.url(&format!("/api/traces/{frames_trace}")))
        .send()
        .await
        .unwrap();
    assert_eq!(hidden.status(), 404);
    server.stop().await;
}

#[tokio::test]
async fn a_student_may_hold_eight_connections_open_and_no_more() {
    let server = TestServer::start().await;
    let student = server.browser();
    let mut streams = Vec::new();
    for _ in 0..8 {
        let response = student
            .get(server.url("/labs/realtime/feed/stream"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        streams.push(response);
    }
    for path in ["/labs/realtime/feed/stream", "/labs/realtime/feed/wait"] {
        let refused = student.get(server.url(path)).send().await.unwrap();
        assert_eq!(refused.status(), 429, "{path}");
        assert!(refused.headers().contains_key("retry-after"));
        let body: Value = refused.json().await.unwrap();
        assert!(
            body["message"].as_str().unwrap().contains("8 streams"),
            "{body}"
        );
    }
    // Someone else is not held back by this student's connections.
    let other = server.browser();
    let theirs = other
        .get(server.url("/labs/realtime/feed/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(theirs.status(), 200);
    drop(theirs);

    streams.pop();
    until_open(&server, &student, "sse", 7).await;
    let again = student
        .get(server.url("/labs/realtime/feed/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    drop((again, streams));
    server.stop().await;
}

#[tokio::test]
async fn bad_input_is_a_clear_4xx() {
    let server = TestServer::start().await;
    let student = server.browser();
    for (body, needle) in [
        (json!({ "text": "   " }), "needs some text"),
        (json!({ "text": "y".repeat(281) }), "at most 280"),
    ] {
        let response = student
            .post(server.url("/labs/realtime/feed"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422);
        let error: Value = response.json().await.unwrap();
        assert!(
            error["message"].as_str().unwrap().contains(needle),
            "{error}"
        );
    }
    let bad_id = student
        .get(server.url("/labs/realtime/feed/stream"))
        .header("Last-Event-ID", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_id.status(), 400);
    let not_upgraded = student
        .get(server.url("/labs/realtime/feed/socket"))
        .send()
        .await
        .unwrap();
    assert_eq!(not_upgraded.status(), 400);
    let error: Value = not_upgraded.json().await.unwrap();
    assert!(
        error["message"].as_str().unwrap().contains("new WebSocket"),
        "{error}"
    );
    let negative = student
        .get(server.url("/labs/realtime/feed?after=-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(negative.status(), 400);
    let settings = student
        .put(server.url("/labs/realtime/settings"))
        .json(&json!({ "long_poll_timeout_secs": 60, "heartbeat_secs": 15 }))
        .send()
        .await
        .unwrap();
    assert_eq!(settings.status(), 422);
    let trace_id = trace_id_of(&settings);
    assert_eq!(trace_id.len(), 32);
    server.stop().await;
}

#[tokio::test]
async fn a_client_away_too_long_is_told_how_many_messages_it_lost() {
    let server = TestServer::start().await;
    let student = server.browser();
    let response = reconnect_after(&server, &student, 105, 1).await;
    let text = stream_text_until(response, "id: 6\n").await;
    // Messages 2 to 5 are gone: the feed keeps the latest 100 (6 to 105).
    assert!(text.contains("event: missed\ndata: 4\n"), "{text}");
    assert!(!text.contains("id: 5\n"), "{text}");
    server.stop().await;
}

#[tokio::test]
async fn shutting_down_ends_open_streams_instead_of_waiting_for_them() {
    let server = TestServer::start().await;
    let student = server.browser();
    let stream = student
        .get(server.url("/labs/realtime/feed/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let mut body = stream.bytes_stream();
    // The server drains: the stream ends rather than holding the shutdown
    // for its ten minutes.
    let stopping = tokio::spawn(server.stop());
    tokio::time::timeout(PATIENCE, async {
        while let Some(Ok(_)) = body.next().await {}
    })
    .await
    .expect("the stream outlived the shutdown");
    tokio::time::timeout(PATIENCE, stopping)
        .await
        .expect("the server never stopped")
        .unwrap();
}
