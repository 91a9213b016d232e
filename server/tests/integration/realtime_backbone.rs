//! The class chat across two real `workbench` processes: a message crosses
//! from one to the other through Redis or NATS pub/sub and through the
//! JetStream log, and does not cross when the sender's backbone is
//! in-process; a process cut off from NATS catches up from the log only;
//! who is in the room crosses as messages do.
//! Each test is skipped, saying so, when its service does not answer on
//! its standard port.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::net::TcpStream;

use super::realtime_chat::{next_of, say, Guest, Site, Socket};
use super::realtime_lab::{next_json, PATIENCE};
use crate::common::process::Process;
use crate::common::ServiceProxy;

const REDIS: &str = "127.0.0.1:6379";
const NATS: &str = "127.0.0.1:4222";

impl Site for Process {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

#[tokio::test]
async fn a_message_crosses_two_server_processes_through_redis_and_not_in_process() {
    if TcpStream::connect(REDIS).await.is_err() {
        eprintln!("SKIPPED: no Redis answers on {REDIS}; this test needs a real Redis");
        return;
    }
    let redis_url = format!("redis://{REDIS}");
    let (one, two) = (
        Process::start(&[("redis", &redis_url)]),
        Process::start(&[("redis", &redis_url)]),
    );
    // Redis is shared with other tests and runs: a room of this run's own.
    let room = own_room("backbone");

    let (ada, carol, bob) = (
        Guest::new(&one).await,
        Guest::new(&one).await,
        Guest::new(&two).await,
    );
    carol.configure(&one, json!({ "backbone": "redis" })).await;
    let (mut ada_socket, ada_welcome, _) = ada.join(&one, &room).await;
    let (mut carol_socket, carol_welcome, _) = carol.join(&one, &room).await;
    let (mut bob_socket, bob_welcome, _) = bob.join(&two, &room).await;
    assert_ne!(
        ada_welcome["server"], bob_welcome["server"],
        "two processes"
    );
    // Who is there crosses as messages do: Bob comes to see Carol, in the
    // same roster as whom Ada would be if her backbone were not
    // in-process. (Read before any message: `next_of` skips presence.)
    let bob_sees = members_until(&mut bob_socket, &bob_welcome, |members| {
        members.contains(&name(&carol_welcome))
    })
    .await;
    assert!(!bob_sees.contains(&name(&ada_welcome)), "{bob_sees:?}");

    // In-process: Ada's own server delivers it; the other never hears it.
    say(&mut ada_socket, "stays here").await;
    assert_eq!(
        next_of(&mut ada_socket, "message").await["text"],
        "stays here"
    );
    // Redis: Carol's message, sent after Ada's, reaches Bob, and it is the
    // first message he gets, so Ada's never crossed.
    say(&mut carol_socket, "crosses over").await;
    let heard = tokio::time::timeout(PATIENCE, next_of(&mut bob_socket, "message"))
        .await
        .expect("the message never crossed");
    assert_eq!(heard["text"], "crosses over");
    assert_eq!(heard["backbone"], "redis");
    assert_eq!(
        heard["server"], ada_welcome["server"],
        "it names where it was taken"
    );
    assert_eq!(
        next_of(&mut ada_socket, "message").await["text"],
        "crosses over"
    );

    // And back: Bob's in-process message stays on his server.
    say(&mut bob_socket, "only on two").await;
    assert_eq!(
        next_of(&mut bob_socket, "message").await["text"],
        "only on two"
    );
    bob.configure(&two, json!({ "backbone": "redis" })).await;
    let (mut bob_again, ..) = bob.join(&two, &room).await;
    say(&mut bob_again, "from two").await;
    assert_eq!(
        next_of(&mut ada_socket, "message").await["text"],
        "from two"
    );
}

#[tokio::test]
async fn presence_crosses_two_processes_through_redis_but_not_in_process() {
    if TcpStream::connect(REDIS).await.is_err() {
        eprintln!("SKIPPED: no Redis answers on {REDIS}; this test needs a real Redis");
        return;
    }
    presence_crosses(("redis", &format!("redis://{REDIS}")), "redis", "redis").await;
}

#[tokio::test]
async fn presence_crosses_two_processes_through_nats_from_either_nats_backbone() {
    if TcpStream::connect(NATS).await.is_err() {
        eprintln!("SKIPPED: no NATS answers on {NATS}; this test needs a real NATS with JetStream");
        return;
    }
    presence_crosses(("nats", &format!("nats://{NATS}")), "jetstream", "nats").await;
}

/// Ada (on `ada_backbone`) and Dan (in-process) on one process, Bob (on
/// `bob_backbone`) on another, both processes given `service`: each side
/// sees who is on the other over the shared service, Dan stays unseen
/// from two, and Bob leaving is heard on one at once.
async fn presence_crosses(service: (&str, &str), ada_backbone: &str, bob_backbone: &str) {
    let (one, two) = (Process::start(&[service]), Process::start(&[service]));
    let room = own_room("presence");
    let (ada, dan, bob) = (
        Guest::new(&one).await,
        Guest::new(&one).await,
        Guest::new(&two).await,
    );
    ada.configure(&one, json!({ "backbone": ada_backbone }))
        .await;
    bob.configure(&two, json!({ "backbone": bob_backbone }))
        .await;
    let (mut ada_socket, ada_welcome, _) = ada.join(&one, &room).await;
    let (mut dan_socket, dan_welcome, _) = dan.join(&one, &room).await;
    let (mut bob_socket, bob_welcome, _) = bob.join(&two, &room).await;
    let (ada_name, dan_name, bob_name) =
        (name(&ada_welcome), name(&dan_welcome), name(&bob_welcome));

    // Bob comes to see Ada, from her server, and never Dan.
    let bob_sees = members_until(&mut bob_socket, &bob_welcome, |members| {
        members.contains(&ada_name)
    })
    .await;
    assert!(!bob_sees.contains(&dan_name), "{bob_sees:?}");

    // Both on one hear that Bob joined, on two, and see the whole room.
    for socket in [&mut ada_socket, &mut dan_socket] {
        let joined = presence_of(socket, &bob_name, true).await;
        assert_eq!(joined["server"], bob_welcome["server"], "{joined}");
        let mut everyone = vec![ada_name.clone(), bob_name.clone(), dan_name.clone()];
        everyone.sort();
        assert_eq!(names(&joined["members"]), everyone);
    }

    // Bob leaves: one hears it without waiting for his roster to fade.
    bob_socket.close(None).await.unwrap();
    let left = presence_of(&mut ada_socket, &bob_name, false).await;
    assert_eq!(left["server"], bob_welcome["server"]);
    assert!(!names(&left["members"]).contains(&bob_name), "{left}");
}

/// The name a welcome frame gives its socket.
fn name(welcome: &Value) -> String {
    welcome["you"].as_str().unwrap().to_string()
}

fn names(members: &Value) -> Vec<String> {
    members
        .as_array()
        .unwrap()
        .iter()
        .map(|member| member.as_str().unwrap().to_string())
        .collect()
}

/// The room as `socket` comes to see it, from its `welcome` and then each
/// presence frame, once `done` holds (within [`PATIENCE`]).
async fn members_until(
    socket: &mut Socket,
    welcome: &Value,
    done: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let mut members = names(&welcome["members"]);
    tokio::time::timeout(PATIENCE, async {
        while !done(&members) {
            members = names(&next_of(socket, "presence").await["members"]);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the room never came to hold them; it holds {members:?}"));
    members
}

/// The presence frame saying `who` joined (or left), within [`PATIENCE`].
async fn presence_of(socket: &mut Socket, who: &str, joined: bool) -> Value {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let frame = next_of(socket, "presence").await;
            if frame["name"] == who && frame["joined"] == joined {
                return frame;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("never heard that {who} joined: {joined}"))
}

/// The next `message` frame and the next `refused` one, in whichever order
/// they come (the refusal is the server's own answer, so it may come
/// first), skipping presence frames, which other processes' rosters may
/// bring at any moment.
async fn message_and_refusal(socket: &mut Socket) -> (Value, Value) {
    let (mut message, mut refused) = (None, None);
    while message.is_none() || refused.is_none() {
        let frame = next_json(socket).await;
        match frame["type"].as_str() {
            Some("message") if message.is_none() => message = Some(frame),
            Some("refused") if refused.is_none() => refused = Some(frame),
            Some("presence") => {}
            _ => panic!("expected a message and a refusal, got {frame}"),
        }
    }
    (message.unwrap(), refused.unwrap())
}

/// A room of this run's own: the services are shared with other tests and runs.
fn own_room(kind: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{kind}-{}-{nanos}", std::process::id())
}

/// Says `probe` on `from` until `to` hears something, within [`PATIENCE`]:
/// how a test waits for a backbone to come back without guessing how long.
async fn until_heard(from: &mut Socket, to: &mut Socket, probe: &str) -> Value {
    tokio::time::timeout(PATIENCE, async {
        loop {
            say(from, probe).await;
            // A short look: the probe either crossed by then or is lost, and
            // at this pace the sender stays under its 10 messages a second.
            let crossed = async {
                loop {
                    let heard = next_of(to, "message").await;
                    if heard["text"] == probe {
                        return heard;
                    }
                }
            };
            if let Ok(heard) = tokio::time::timeout(Duration::from_millis(300), crossed).await {
                return heard;
            }
        }
    })
    .await
    .expect("the backbone never came back")
}

#[tokio::test]
async fn when_redis_goes_away_the_sender_is_told_and_the_chat_recovers_by_itself() {
    if TcpStream::connect(REDIS).await.is_err() {
        eprintln!("SKIPPED: no Redis answers on {REDIS}; this test needs a real Redis");
        return;
    }
    // Process one reaches Redis through a proxy this test can cut.
    let proxy = ServiceProxy::start(0, REDIS).await;
    let one = Process::start(&[("redis", &format!("redis://127.0.0.1:{}", proxy.port))]);
    let two = Process::start(&[("redis", &format!("redis://{REDIS}"))]);
    let room = own_room("outage");
    let (ada, bob) = (Guest::new(&one).await, Guest::new(&two).await);
    ada.configure(&one, json!({ "backbone": "redis" })).await;
    bob.configure(&two, json!({ "backbone": "redis" })).await;
    let (mut ada_socket, ..) = ada.join(&one, &room).await;
    let (mut bob_socket, ..) = bob.join(&two, &room).await;
    say(&mut ada_socket, "before").await;
    assert_eq!(next_of(&mut ada_socket, "message").await["text"], "before");
    assert_eq!(next_of(&mut bob_socket, "message").await["text"], "before");

    let port = proxy.cut();
    say(&mut ada_socket, "during").await;
    // Ada's own server still delivers it, and tells her it went no further.
    let (message, refused) = message_and_refusal(&mut ada_socket).await;
    assert_eq!(message["text"], "during");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("reached only the members connected to this server"),
        "{refused}"
    );

    // Redis is back: both ways work again, with nobody reconnecting.
    let _proxy = ServiceProxy::start(port, REDIS).await;
    let heard = until_heard(&mut ada_socket, &mut bob_socket, "one to two").await;
    assert_eq!(heard["text"], "one to two");
    let heard = until_heard(&mut bob_socket, &mut ada_socket, "two to one").await;
    assert_eq!(heard["text"], "two to one");
}

#[tokio::test]
async fn a_process_cut_off_from_nats_catches_up_from_the_log_and_never_from_pub_sub() {
    if TcpStream::connect(NATS).await.is_err() {
        eprintln!("SKIPPED: no NATS answers on {NATS}; this test needs a real NATS with JetStream");
        return;
    }
    // Process two reaches NATS through a proxy this test can cut.
    let proxy = ServiceProxy::start(0, NATS).await;
    let one = Process::start(&[("nats", &format!("nats://{NATS}"))]);
    let two = Process::start(&[("nats", &format!("nats://127.0.0.1:{}", proxy.port))]);
    let room = own_room("catch-up");
    let (ada, carol, bob) = (
        Guest::new(&one).await,
        Guest::new(&one).await,
        Guest::new(&two).await,
    );
    ada.configure(&one, json!({ "backbone": "nats" })).await;
    carol
        .configure(&one, json!({ "backbone": "jetstream" }))
        .await;
    bob.configure(&two, json!({ "backbone": "jetstream" }))
        .await;
    let (mut ada_socket, ..) = ada.join(&one, &room).await;
    let (mut carol_socket, ..) = carol.join(&one, &room).await;
    let (mut bob_socket, ..) = bob.join(&two, &room).await;

    // While two hears NATS, both backbones carry a message across.
    say(&mut ada_socket, "pub/sub before").await;
    let heard = next_of(&mut bob_socket, "message").await;
    assert_eq!(
        (&heard["text"], &heard["backbone"]),
        (&json!("pub/sub before"), &json!("nats"))
    );
    say(&mut carol_socket, "log before").await;
    let heard = next_of(&mut bob_socket, "message").await;
    assert_eq!(
        (&heard["text"], &heard["backbone"]),
        (&json!("log before"), &json!("jetstream"))
    );

    for expected in ["pub/sub before", "log before"] {
        assert_eq!(next_of(&mut ada_socket, "message").await["text"], expected);
    }

    // Two is cut off. One's members go on talking on both backbones (each
    // message seen on one before the next is said, so they keep order).
    let port = proxy.cut();
    say(&mut ada_socket, "pub/sub while away").await;
    assert_eq!(
        next_of(&mut ada_socket, "message").await["text"],
        "pub/sub while away"
    );
    say(&mut carol_socket, "log while away").await;
    assert_eq!(
        next_of(&mut ada_socket, "message").await["text"],
        "log while away"
    );
    // Bob's own message is told it went no further than his server.
    say(&mut bob_socket, "from the island").await;
    let (message, refused) = message_and_refusal(&mut bob_socket).await;
    assert_eq!(message["text"], "from the island");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("reached only the members connected to this server"),
        "{refused}"
    );

    // NATS is back: two reconnects by itself and reads the log from where
    // it stopped. The first message Bob gets is the one logged while he
    // was away; the pub/sub one was never kept for him.
    let _proxy = ServiceProxy::start(port, NATS).await;
    let heard = tokio::time::timeout(PATIENCE, next_of(&mut bob_socket, "message"))
        .await
        .expect("two never caught up from the log");
    assert_eq!(heard["text"], "log while away", "{heard}");
    let heard = until_heard(&mut ada_socket, &mut bob_socket, "pub/sub again").await;
    assert_eq!(heard["backbone"], "nats");
}
