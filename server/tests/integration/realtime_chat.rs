//! The real-time lab's class chat: real WebSockets between students'
//! connections on a server on port 0, with presence, slow clients and
//! abusive ones.

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::realtime_lab::{event_field, next_json, PATIENCE};
use crate::common::TestServer;

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A server's address, as the chat's clients need it: a test server in
/// this process, or a `workbench` process of its own.
pub(crate) trait Site {
    fn url(&self, path: &str) -> String;
}

impl Site for TestServer {
    fn url(&self, path: &str) -> String {
        TestServer::url(self, path)
    }
}

/// A guest with a session on one server: a client and its cookie
/// (sockets keep no jar).
pub(crate) struct Guest {
    client: reqwest::Client,
    cookie: String,
}

impl Guest {
    pub(crate) async fn new(server: &impl Site) -> Self {
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
        Self { client, cookie }
    }

    /// A request as this guest (their session cookie set).
    pub(crate) fn request(&self, method: reqwest::Method, url: String) -> reqwest::RequestBuilder {
        self.client
            .request(method, url)
            .header("cookie", &self.cookie)
    }

    /// Publishes `text` to this guest's feed; the numbered message.
    pub(crate) async fn publish(&self, server: &impl Site, text: &str) -> Value {
        let response = self
            .request(reqwest::Method::POST, server.url("/labs/realtime/feed"))
            .json(&json!({ "text": text }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }

    pub(crate) async fn configure(&self, server: &impl Site, settings: Value) {
        let response = self
            .request(reqwest::Method::PUT, server.url("/labs/realtime/settings"))
            .json(&settings)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }

    /// Joins `room`; returns the socket and the upgrade's trace id, after
    /// reading the welcome frame (returned too).
    pub(crate) async fn join(&self, server: &impl Site, room: &str) -> (Socket, Value, String) {
        let url = server
            .url(&format!("/labs/realtime/chat?room={room}"))
            .replace("http://", "ws://");
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("cookie", self.cookie.parse().unwrap());
        let (mut socket, upgrade) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(upgrade.status(), 101);
        let trace_id = upgrade.headers()["traceresponse"]
            .to_str()
            .unwrap()
            .split('-')
            .nth(1)
            .unwrap()
            .to_string();
        let welcome = next_json(&mut socket).await;
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        (socket, welcome, trace_id)
    }

    /// The status and body of a plain GET (not an upgrade) of `path`.
    async fn get(&self, server: &impl Site, path: &str) -> (u16, String) {
        let response = self
            .request(reqwest::Method::GET, server.url(path))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

pub(crate) async fn say(socket: &mut Socket, text: &str) {
    let command = json!({ "type": "say", "text": text }).to_string();
    socket.send(Message::text(command)).await.unwrap();
}

async fn command(socket: &mut Socket, kind: &str) -> Value {
    let command = json!({ "type": kind }).to_string();
    socket.send(Message::text(command)).await.unwrap();
    next_json(socket).await
}

/// The next frame of type `kind`, skipping others (presence, say).
pub(crate) async fn next_of(socket: &mut Socket, kind: &str) -> Value {
    loop {
        let frame = next_json(socket).await;
        if frame["type"] == kind {
            return frame;
        }
    }
}

/// Reads until the server's close frame; returns its code and reason.
async fn closed(socket: &mut Socket) -> (u16, String) {
    loop {
        let frame = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("the socket was never closed");
        match frame {
            Some(Ok(Message::Close(Some(close)))) => {
                return (u16::from(close.code), close.reason.to_string())
            }
            Some(Ok(Message::Close(None))) | None | Some(Err(_)) => return (0, String::new()),
            Some(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn two_students_in_one_room_hear_each_other_and_see_who_is_there() {
    let server = TestServer::start().await;
    let (ada, bob, cy) = (
        Guest::new(&server).await,
        Guest::new(&server).await,
        Guest::new(&server).await,
    );
    let (mut ada_socket, ada_welcome, _) = ada.join(&server, "cs101").await;
    let ada_name = ada_welcome["you"].as_str().unwrap().to_string();
    assert!(ada_name.starts_with("guest-"), "{ada_welcome}");
    assert_eq!(ada_welcome["members"], json!([ada_name]));
    assert_eq!(ada_welcome["send_buffer"], 16);
    assert_eq!(ada_welcome["policy"], "drop-oldest");

    let (mut bob_socket, bob_welcome, _) = bob.join(&server, "cs101").await;
    let bob_name = bob_welcome["you"].as_str().unwrap().to_string();
    assert_eq!(bob_welcome["members"].as_array().unwrap().len(), 2);
    let joined = next_json(&mut ada_socket).await;
    assert_eq!(
        (&joined["type"], &joined["name"], &joined["joined"]),
        (&json!("presence"), &json!(bob_name), &json!(true))
    );
    // Another room hears nothing of this one.
    let (mut cy_socket, cy_welcome, _) = cy.join(&server, "other-room").await;
    assert_eq!(cy_welcome["members"].as_array().unwrap().len(), 1);

    say(&mut bob_socket, "hello, Ada").await;
    for socket in [&mut ada_socket, &mut bob_socket] {
        let heard = next_json(socket).await;
        assert_eq!(
            (&heard["type"], &heard["from"], &heard["text"], &heard["id"]),
            (
                &json!("message"),
                &json!(bob_name),
                &json!("hello, Ada"),
                &json!(1)
            )
        );
    }

    bob_socket.close(None).await.unwrap();
    let left = next_json(&mut ada_socket).await;
    assert_eq!(
        (&left["type"], &left["joined"], &left["members"]),
        (&json!("presence"), &json!(false), &json!([ada_name]))
    );
    say(&mut cy_socket, "anyone?").await;
    assert_eq!(next_json(&mut cy_socket).await["from"], cy_welcome["you"]);
    server.stop().await;
}

#[tokio::test]
async fn a_slow_reader_under_drop_oldest_loses_the_oldest_and_is_told_how_many() {
    let server = TestServer::start().await;
    let (ada, bob) = (Guest::new(&server).await, Guest::new(&server).await);
    ada.configure(
        &server,
        json!({ "chat_send_buffer": 3, "slow_client": "drop-oldest" }),
    )
    .await;
    let (mut ada_socket, welcome, _) = ada.join(&server, "slow").await;
    assert_eq!(welcome["send_buffer"], 3);
    let (mut bob_socket, ..) = bob.join(&server, "slow").await;
    assert_eq!(next_json(&mut ada_socket).await["type"], "presence");

    let stopped = command(&mut ada_socket, "stop-reading").await;
    assert_eq!(
        stopped,
        json!({ "type": "reading", "reading": false, "waiting": 0 })
    );
    for n in 1..=5 {
        say(&mut bob_socket, &format!("message {n}")).await;
        // Bob reads his own: a slow reader does not slow the room.
        assert_eq!(next_json(&mut bob_socket).await["id"], n);
    }

    let started = command(&mut ada_socket, "start-reading").await;
    assert_eq!(
        started,
        json!({ "type": "reading", "reading": true, "waiting": 3 })
    );
    assert_eq!(
        next_json(&mut ada_socket).await,
        json!({ "type": "dropped", "count": 2 })
    );
    for n in 3..=5 {
        assert_eq!(
            next_json(&mut ada_socket).await["text"],
            format!("message {n}")
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_slow_reader_under_disconnect_is_cut_off_and_the_room_goes_on() {
    let server = TestServer::start().await;
    let (ada, bob) = (Guest::new(&server).await, Guest::new(&server).await);
    ada.configure(
        &server,
        json!({ "chat_send_buffer": 2, "slow_client": "disconnect" }),
    )
    .await;
    let (mut ada_socket, ..) = ada.join(&server, "strict").await;
    let (mut bob_socket, ..) = bob.join(&server, "strict").await;
    assert_eq!(next_json(&mut ada_socket).await["type"], "presence");
    command(&mut ada_socket, "stop-reading").await;

    for n in 1..=3 {
        say(&mut bob_socket, &format!("message {n}")).await;
        assert_eq!(next_json(&mut bob_socket).await["id"], n);
    }
    let (code, reason) = closed(&mut ada_socket).await;
    assert_eq!(code, 1008, "{reason}");
    assert!(reason.contains("send buffer overflowed"), "{reason}");

    let left = next_json(&mut bob_socket).await;
    assert_eq!(
        (&left["type"], &left["joined"]),
        (&json!("presence"), &json!(false))
    );
    say(&mut bob_socket, "still here").await;
    assert_eq!(next_json(&mut bob_socket).await["text"], "still here");
    server.stop().await;
}

#[tokio::test]
async fn an_abusive_client_is_cut_off_without_affecting_the_others() {
    let server = TestServer::start().await;
    let (mallory, bob) = (Guest::new(&server).await, Guest::new(&server).await);
    let (mut flood, ..) = mallory.join(&server, "abuse").await;
    let (mut bob_socket, ..) = bob.join(&server, "abuse").await;

    // Too long a message is refused; the socket stays open.
    say(&mut flood, &"x".repeat(281)).await;
    let refused = next_of(&mut flood, "refused").await;
    assert!(
        refused["error"].as_str().unwrap().contains("280"),
        "{refused}"
    );
    flood.send(Message::text("not json")).await.unwrap();
    assert!(next_of(&mut flood, "refused").await["error"]
        .as_str()
        .unwrap()
        .contains("JSON"));

    // More than ten messages in a second closes the flooding socket (1008).
    // Twenty-five: however the one-second windows fall, one gets eleven.
    for n in 0..25 {
        let _ = flood
            .send(Message::text(
                json!({"type": "say", "text": n.to_string()}).to_string(),
            ))
            .await;
    }
    let (code, reason) = closed(&mut flood).await;
    assert_eq!(code, 1008, "{reason}");

    // A frame over 4 KiB ends a socket too.
    let (mut big, ..) = mallory.join(&server, "abuse").await;
    let _ = big.send(Message::text("x".repeat(5000))).await;
    closed(&mut big).await;

    // Bob saw some of the flood, and his own message still goes through.
    say(&mut bob_socket, "after the flood").await;
    tokio::time::timeout(PATIENCE, async {
        while next_json(&mut bob_socket).await["text"] != "after the flood" {}
    })
    .await
    .expect("Bob's message never came back");
    server.stop().await;
}

#[tokio::test]
async fn chat_limits_and_bad_requests_are_clear_4xx() {
    let server = TestServer::start().await;
    let ada = Guest::new(&server).await;
    let (status, body) = ada.get(&server, "/labs/realtime/chat?room=cs101").await;
    assert_eq!(status, 400);
    assert!(body.contains("new WebSocket"), "{body}");
    let (status, body) = ada
        .get(&server, "/labs/realtime/chat?room=Not%20A%20Code")
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("lowercase letters"), "{body}");
    let (status, _) = ada.get(&server, "/labs/realtime/chat").await;
    assert_eq!(status, 400);
    let bad = ada
        .client
        .put(server.url("/labs/realtime/settings"))
        .header("cookie", &ada.cookie)
        .json(&json!({ "chat_send_buffer": 65 }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422, "a buffer over 64 is refused");
    assert!(bad.text().await.unwrap().contains("chat_send_buffer"));

    let mut sockets = Vec::new();
    for n in 0..4 {
        sockets.push(ada.join(&server, &format!("room-{n}")).await.0);
    }
    let url = server
        .url("/labs/realtime/chat?room=room-5")
        .replace("http://", "ws://");
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("cookie", ada.cookie.parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429)
        }
        other => panic!("a fifth chat connection was not refused: {other:?}"),
    }
    // Leaving gives the place back.
    sockets.pop().unwrap().close(None).await.unwrap();
    tokio::time::timeout(PATIENCE, async {
        loop {
            let url = server
                .url("/labs/realtime/chat?room=room-5")
                .replace("http://", "ws://");
            let mut request = url.into_client_request().unwrap();
            request
                .headers_mut()
                .insert("cookie", ada.cookie.parse().unwrap());
            if tokio_tungstenite::connect_async(request).await.is_ok() {
                break;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the place was never given back");
    server.stop().await;
}

#[tokio::test]
async fn the_upgrade_and_the_frames_are_in_the_students_own_traces() {
    let server = TestServer::start().await;
    let ada = Guest::new(&server).await;
    let (mut socket, _, trace_id) = ada.join(&server, "traced").await;
    let upgrade: Value =
        serde_json::from_str(&ada.get(&server, &format!("/api/traces/{trace_id}")).await.1)
            .unwrap();
    assert_eq!(upgrade["status"], 101);
    let frames_trace = event_field(&upgrade, "realtime.chat-join", "frames_trace");
    say(&mut socket, "for the record").await;
    next_json(&mut socket).await;
    socket.close(None).await.unwrap();

    let frames = tokio::time::timeout(PATIENCE, async {
        loop {
            let (status, body) = ada
                .get(&server, &format!("/api/traces/{frames_trace}"))
                .await;
            if status == 200 {
                return body;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the frames' trace was never filed");
    assert!(frames.contains("for the record"), "{frames}");
    assert!(frames.contains("websocket.frame"), "{frames}");
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
async fn a_draining_server_closes_chat_sockets_with_a_reason_to_reconnect() {
    let server = TestServer::start().await;
    let ada = Guest::new(&server).await;
    let (mut socket, _, _) = ada.join(&server, "drain").await;
    // SIGTERM's drain, as a load balancer's rolling restart sends it: the
    // socket is told why, so the page reconnects to another server.
    let stopping = tokio::spawn(server.stop());
    let (code, reason) = closed(&mut socket).await;
    assert_eq!(code, 1001, "{reason}");
    assert!(reason.contains("restarting: reconnect"), "{reason}");
    tokio::time::timeout(PATIENCE, stopping)
        .await
        .expect("the server never stopped")
        .unwrap();
}
