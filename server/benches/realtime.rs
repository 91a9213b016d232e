//! Real-time delivery over real connections to real `workbench` processes
//! (the bench profile's build), printed as Markdown tables for
//! BENCHMARKS.md:
//!
//! 1. the feed's four transports: one subscriber per transport while one
//!    publisher posts at a fixed rate; delivered messages per second,
//!    delivery delay (from the publisher's request to the subscriber
//!    reading it) and what the server counted per message;
//! 2. the class chat's backbones: a room under a steady load of senders,
//!    with listeners on the same process or on a second one; deliveries
//!    per second and delay at the listeners;
//! 3. the server's memory per 1,000 idle chat WebSockets.
//!
//! Run `scripts/bench-realtime.sh [transports|backbones|memory]` (it calls
//! `cargo bench -p server --bench realtime`); with no part named, all three
//! run. `WORKBENCH_BIN` measures another build of the server. Backbones
//! whose service does not answer on its standard loopback port are
//! skipped, saying so.

#[path = "../tests/common/process.rs"]
mod process;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use model::labs::realtime::{ChatCommand, ChatFrame, FeedEvent, FeedPage, FeedStats, Transport};
use process::Process;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const REDIS: &str = "127.0.0.1:6379";
const NATS: &str = "127.0.0.1:4222";
/// How long each publisher or sender keeps going.
const RUN: Duration = Duration::from_secs(5);
/// How long after the last message a receiver may still be reading.
const DRAIN: Duration = Duration::from_secs(5);
/// The short-polling client's interval (the lab's own widget lets the
/// student choose; a quarter of a second is a brisk one).
const SHORT_POLL_EVERY: Duration = Duration::from_millis(250);
/// Chat senders in a light and a heavy run, each on its own socket (four
/// per guest, the lab's limit).
const SENDERS: [usize; 2] = [20, 100];
/// Messages per second each chat sender says: under the lab's limit of 10.
const SENDER_RATE: u32 = 8;
/// Chat listeners, on the process under test.
const LISTENERS: usize = 20;
/// The listeners' send buffer: the lab's largest, so that the figures
/// measure delivery rather than the slow-client policy (drops are counted).
const LISTENER_BUFFER: u32 = 64;
/// Idle chat sockets for the memory figure.
const IDLE_SOCKETS: usize = 1000;

#[tokio::main]
async fn main() {
    // `cargo bench` adds `--bench`; anything else names the parts to run.
    let parts: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    let wanted = |part: &str| parts.is_empty() || parts.iter().any(|p| p == part);
    if wanted("transports") {
        println!("## The feed's transports (one process)\n");
        transports().await;
    }
    if wanted("backbones") {
        println!("\n## The chat's backbones\n");
        backbones().await;
    }
    if wanted("memory") {
        println!("\n## Memory per idle WebSocket\n");
        idle_sockets().await;
    }
}

/// A guest's session on one process.
#[derive(Clone)]
struct Guest {
    base: String,
    client: reqwest::Client,
    cookie: String,
}

impl Guest {
    async fn new(base: &str) -> Self {
        let client = reqwest::Client::new();
        let response = client
            .get(format!("{base}/labs/realtime/feed/stats"))
            .send()
            .await
            .expect("the server answers");
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok()?.split(';').next())
            .find(|c| c.starts_with("workbench_session="))
            .expect("a session cookie")
            .to_string();
        Self {
            base: base.to_string(),
            client,
            cookie,
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        self.request(reqwest::Method::GET, path)
            .send()
            .await
            .expect("the server answers")
            .json()
            .await
            .expect("the answer is what the API says")
    }

    async fn configure(&self, settings: Value) {
        let response = self
            .request(reqwest::Method::PUT, "/labs/realtime/settings")
            .json(&settings)
            .send()
            .await
            .expect("the server answers");
        assert!(response.status().is_success(), "settings refused");
    }

    async fn socket(&self, path: &str) -> Socket {
        let url = format!("{}{path}", self.base).replace("http://", "ws://");
        let mut request = url.into_client_request().expect("a WebSocket URL");
        let cookie = self.cookie.parse().expect("a header value");
        request.headers_mut().insert("cookie", cookie);
        let (socket, answer) = tokio_tungstenite::connect_async(request)
            .await
            .expect("the upgrade succeeds");
        assert_eq!(answer.status(), 101);
        socket
    }
}

/// When each message was read, by its sequence number.
type Receipts = Arc<Mutex<Vec<(usize, Instant)>>>;

fn percentile(sorted: &[Duration], part: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let at = ((sorted.len() as f64 - 1.0) * part).round() as usize;
    sorted[at]
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

async fn transports() {
    let server = Process::start(&[]);
    println!("One publisher posts each message to the student's feed (`POST /labs/realtime/feed`) at a fixed rate for {} s; one subscriber per transport reads them. Short polling asks every {} ms. Delay runs from the publisher's request to the subscriber reading the message. Requests and bytes are the server's own counts (`GET /labs/realtime/feed/stats`).\n", RUN.as_secs(), SHORT_POLL_EVERY.as_millis());
    println!("| transport | offered | delivered | msgs/s read | p50 delay | p99 delay | requests | body bytes per message |");
    println!("|---|---|---|---|---|---|---|---|");
    for rate in [100u32, 1000] {
        for transport in Transport::ALL {
            let guest = Guest::new(&server.base).await;
            let receipts = Receipts::default();
            let (ready, subscribed) = tokio::sync::oneshot::channel();
            let reader = tokio::spawn(subscribe(transport, guest.clone(), receipts.clone(), ready));
            subscribed.await.expect("the subscriber starts");
            let sent = publish(&guest, rate).await;
            let done = Instant::now() + DRAIN;
            while receipts.lock().unwrap().len() < sent.len() && Instant::now() < done {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            reader.abort();
            let stats: FeedStats = guest.get("/labs/realtime/feed/stats").await;
            let counted = stats
                .transports
                .iter()
                .find(|t| t.transport == transport)
                .expect("every transport is counted");
            let receipts = receipts.lock().unwrap().clone();
            let mut delays: Vec<Duration> = receipts
                .iter()
                .map(|(seq, at)| at.saturating_duration_since(sent[*seq]))
                .collect();
            delays.sort();
            let last = receipts.iter().map(|(_, at)| *at).max();
            let span = last.map_or(Duration::ZERO, |l| l.saturating_duration_since(sent[0]));
            println!(
                "| {} | {rate}/s | {} of {} | {:.0} | {} | {} | {} | {:.0} |",
                transport.as_str(),
                receipts.len(),
                sent.len(),
                receipts.len() as f64 / span.as_secs_f64().max(f64::EPSILON),
                ms(percentile(&delays, 0.5)),
                ms(percentile(&delays, 0.99)),
                counted.requests,
                counted.body_bytes as f64 / receipts.len().max(1) as f64,
            );
        }
    }
}

/// Posts `rate` messages a second for [`RUN`]; each text is its sequence
/// number. Returns when each was sent.
async fn publish(guest: &Guest, rate: u32) -> Vec<Instant> {
    let count = (rate as u64 * RUN.as_secs()) as usize;
    let mut tick = tokio::time::interval(Duration::from_secs(1) / rate);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sent = Vec::with_capacity(count);
    for seq in 0..count {
        tick.tick().await;
        sent.push(Instant::now());
        let response = guest
            .request(reqwest::Method::POST, "/labs/realtime/feed")
            .json(&json!({ "text": seq.to_string() }))
            .send()
            .await
            .expect("the server answers");
        assert_eq!(response.status(), 201, "publishing was refused");
    }
    sent
}

fn note(receipts: &Receipts, events: impl IntoIterator<Item = FeedEvent>) {
    let now = Instant::now();
    let mut receipts = receipts.lock().unwrap();
    for event in events {
        if let Ok(seq) = event.text.parse() {
            receipts.push((seq, now));
        }
    }
}

/// Reads the guest's feed over one transport until aborted.
async fn subscribe(
    transport: Transport,
    guest: Guest,
    receipts: Receipts,
    ready: tokio::sync::oneshot::Sender<()>,
) {
    match transport {
        Transport::ShortPoll | Transport::LongPoll => {
            let path = if transport == Transport::ShortPoll {
                "/labs/realtime/feed"
            } else {
                "/labs/realtime/feed/wait"
            };
            let _ = ready.send(());
            let mut after = 0;
            loop {
                let page: FeedPage = guest.get(&format!("{path}?after={after}")).await;
                after = page.last_id.max(after);
                note(&receipts, page.events);
                if transport == Transport::ShortPoll {
                    tokio::time::sleep(SHORT_POLL_EVERY).await;
                }
            }
        }
        Transport::Sse => {
            let mut response = guest
                .request(reqwest::Method::GET, "/labs/realtime/feed/stream")
                .send()
                .await
                .expect("the stream opens");
            let _ = ready.send(());
            let mut pending = String::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                pending.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = pending.find("\n\n") {
                    let block: String = pending.drain(..end + 2).collect();
                    let events = block
                        .lines()
                        .filter_map(|line| line.strip_prefix("data: "))
                        .filter_map(|data| serde_json::from_str::<FeedEvent>(data).ok());
                    note(&receipts, events);
                }
            }
        }
        Transport::WebSocket => {
            let mut socket = guest.socket("/labs/realtime/feed/socket").await;
            let _ = ready.send(());
            while let Some(Ok(message)) = socket.next().await {
                if let Message::Text(text) = message {
                    note(&receipts, serde_json::from_str::<FeedEvent>(&text).ok());
                }
            }
        }
    }
}

/// Whether something answers on `address`, saying so when nothing does.
async fn answers(name: &str, address: &str) -> bool {
    let up = TcpStream::connect(address).await.is_ok();
    if !up {
        println!("\n(SKIPPED: no {name} answers on {address}.)\n");
    }
    up
}

async fn backbones() {
    println!("Senders on process one each say {SENDER_RATE} messages a second for {} s into one room; {LISTENERS} listeners read the room, on process one or on a second process. Delay runs from a sender writing the frame to a listener reading it; per second counts deliveries to the listeners from the first message said to the last one read. The senders read the room too, so process one writes each message to every sender as well. Listeners keep a send buffer of {LISTENER_BUFFER} (drop-oldest); dropped counts what their buffers threw away.\n", RUN.as_secs());
    println!("| backbone | processes | senders (messages/s said) | deliveries to listeners | dropped | per second | p50 delay | p99 delay |");
    println!("|---|---|---|---|---|---|---|---|");
    let redis = answers("Redis", REDIS).await;
    let nats = answers("NATS", NATS).await;
    let mut services = Vec::new();
    if redis {
        services.push(("redis", format!("redis://{REDIS}")));
    }
    if nats {
        services.push(("nats", format!("nats://{NATS}")));
    }
    let services: Vec<(&str, &str)> = services.iter().map(|(n, u)| (*n, u.as_str())).collect();
    let mut runs = vec![("in-process", 1)];
    if redis {
        runs.extend([("redis", 1), ("redis", 2)]);
    }
    if nats {
        runs.extend([("nats", 1), ("nats", 2), ("jetstream", 1), ("jetstream", 2)]);
    }
    for senders in SENDERS {
        for &(backbone, processes) in &runs {
            let one = Process::start(&services);
            let two = (processes == 2).then(|| Process::start(&services));
            let listening_on = two.as_ref().unwrap_or(&one);
            room_under_load(backbone, processes, senders, &one, listening_on).await;
        }
    }
}

async fn room_under_load(
    backbone: &str,
    processes: u32,
    sender_count: usize,
    one: &Process,
    listening_on: &Process,
) {
    let room = format!(
        "b-{backbone}-{processes}-{sender_count}-{}",
        std::process::id()
    );
    let path = format!("/labs/realtime/chat?room={room}");
    let origin = Instant::now();
    let receipts = Delays::default();
    let mut readers = Vec::new();
    for _ in 0..LISTENERS / 4 {
        let guest = Guest::new(&listening_on.base).await;
        guest
            .configure(json!({ "chat_send_buffer": LISTENER_BUFFER, "slow_client": "drop-oldest" }))
            .await;
        for _ in 0..4 {
            let socket = guest.socket(&path).await;
            readers.push(tokio::spawn(listen(socket, origin, Some(receipts.clone()))));
        }
    }
    let mut senders = Vec::new();
    for _ in 0..sender_count / 4 {
        let guest = Guest::new(&one.base).await;
        guest.configure(json!({ "backbone": backbone })).await;
        for _ in 0..4 {
            senders.push(guest.socket(&path).await);
        }
    }
    let started = Instant::now();
    let talking: Vec<_> = senders
        .into_iter()
        .map(|socket| tokio::spawn(talk(socket, origin)))
        .collect();
    let mut said = 0;
    for talker in talking {
        said += talker.await.expect("a sender finishes");
    }
    let expected = said * LISTENERS;
    let done = Instant::now() + DRAIN;
    while receipts.lock().unwrap().delays.len() < expected && Instant::now() < done {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    readers.iter().for_each(|r| r.abort());
    let heard = receipts.lock().unwrap();
    let span = heard.last_at.map_or(Duration::ZERO, |last| {
        last.saturating_duration_since(started)
    });
    let mut delays = heard.delays.clone();
    delays.sort();
    println!(
        "| {backbone} | {processes} | {sender_count} ({}) | {} of {expected} | {} | {:.0} | {} | {} |",
        sender_count as u32 * SENDER_RATE,
        delays.len(),
        heard.dropped,
        delays.len() as f64 / span.as_secs_f64().max(f64::EPSILON),
        ms(percentile(&delays, 0.5)),
        ms(percentile(&delays, 0.99)),
    );
}

/// Says [`SENDER_RATE`] messages a second for [`RUN`], each carrying when
/// it was written (microseconds since `origin`), while reading the room
/// so the server never counts this socket as a slow client. Returns how
/// many it said.
async fn talk(socket: Socket, origin: Instant) -> usize {
    let (mut write, read) = socket.split();
    let reading = tokio::spawn(listen_half(read, origin, None));
    let mut tick = tokio::time::interval(Duration::from_secs(1) / SENDER_RATE);
    // Never a burst: the lab closes a socket that says more than 10 a second.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let count = (SENDER_RATE as u64 * RUN.as_secs()) as usize;
    for _ in 0..count {
        tick.tick().await;
        let text = origin.elapsed().as_micros().to_string();
        let say = serde_json::to_string(&ChatCommand::Say { text }).expect("a command");
        write
            .send(Message::text(say))
            .await
            .expect("the room is open");
    }
    // Keep reading a little while the rest of the room drains.
    tokio::time::sleep(DRAIN).await;
    reading.abort();
    count
}

/// What the listeners heard: each message's delay, when the last came,
/// and how many their buffers dropped.
#[derive(Default)]
struct Heard {
    delays: Vec<Duration>,
    last_at: Option<Instant>,
    dropped: u64,
}

type Delays = Arc<Mutex<Heard>>;

async fn listen(socket: Socket, origin: Instant, receipts: Option<Delays>) {
    listen_half(socket.split().1, origin, receipts).await;
}

/// Reads chat frames; with `receipts`, notes each message's delay.
async fn listen_half(
    mut read: futures_util::stream::SplitStream<Socket>,
    origin: Instant,
    receipts: Option<Delays>,
) {
    while let Some(Ok(message)) = read.next().await {
        let (Some(receipts), Message::Text(text)) = (&receipts, message) else {
            continue;
        };
        match serde_json::from_str(&text) {
            Ok(ChatFrame::Message { text, .. }) => {
                if let Ok(micros) = text.parse::<u64>() {
                    let delay = origin
                        .elapsed()
                        .saturating_sub(Duration::from_micros(micros));
                    let mut heard = receipts.lock().unwrap();
                    heard.delays.push(delay);
                    heard.last_at = Some(Instant::now());
                }
            }
            Ok(ChatFrame::Dropped { count }) => receipts.lock().unwrap().dropped += count,
            _ => {}
        }
    }
}

async fn idle_sockets() {
    let server = Process::start(&[]);
    let guests_needed = IDLE_SOCKETS / 4;
    let mut guests = Vec::with_capacity(guests_needed);
    for _ in 0..guests_needed {
        guests.push(Guest::new(&server.base).await);
    }
    // Let the sessions settle before the first reading.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = server.resident_kib().expect("Linux /proc");
    let mut readers = Vec::with_capacity(IDLE_SOCKETS);
    for (index, guest) in guests.iter().enumerate() {
        // Rooms hold at most 500: four rooms of 250.
        let path = format!("/labs/realtime/chat?room=idle-{}", index % 4);
        for _ in 0..4 {
            let socket = guest.socket(&path).await;
            readers.push(tokio::spawn(listen(socket, Instant::now(), None)));
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = server.resident_kib().expect("Linux /proc");
    println!("{IDLE_SOCKETS} chat WebSockets from {guests_needed} guests in four rooms, idle for 2 s after the last joined (their clients answer pings). Resident memory of the server process (`VmRSS`):\n");
    println!("| before the sockets | with {IDLE_SOCKETS} open | per 1,000 sockets | per socket |");
    println!("|---|---|---|---|");
    let grown = after.saturating_sub(before);
    println!(
        "| {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.1} KiB |",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        grown as f64 * 1000.0 / IDLE_SOCKETS as f64 / 1024.0,
        grown as f64 / IDLE_SOCKETS as f64,
    );
    readers.iter().for_each(|r| r.abort());
}
