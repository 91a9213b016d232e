//! Probe steps that read a stream instead of one answer: server-sent events
//! from a plain request, or messages over a WebSocket the step opens. A
//! stream never ends by itself, so a step reads a fixed number of events
//! within a time limit and then hangs up.
//!
//! ```toml
//! [[check.steps]]
//! name = "the ticks stream"
//! path = "/ticks"
//! headers = { accept = "text/event-stream" }
//! status = 200
//! expect_headers = { content-type = "text/event-stream" }
//! events = { count = 3, within_ms = 4000, increasing_ids = true, expect_json_present = ["$.n"] }
//! capture = { first = "event:0:id" }
//!
//! [[check.steps]]
//! name = "an echo over a WebSocket"
//! path = "/echo"
//! websocket = true                  # an HTTP/1.1 upgrade; the status must be 101
//! events = { send = ["hello"], count = 1, expect_data = ["hello"] }
//! ```

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::grading::select::Selector;

/// The most events one step may wait for.
const MAX_EVENTS: usize = 50;

/// How long a step waits for its events unless the exercise says otherwise.
fn default_within_ms() -> u64 {
    5_000
}

/// What a streaming step reads, and what the events must show.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EventsSpec {
    /// How many events to read before hanging up.
    count: usize,
    /// All of them must arrive within this time from the answer's headers.
    #[serde(default = "default_within_ms")]
    within_ms: u64,
    /// Text messages to send once the socket is open (WebSocket steps).
    #[serde(default)]
    pub(super) send: Vec<String>,
    /// Every event has an `id` that is an integer larger than the last one's.
    #[serde(default)]
    increasing_ids: bool,
    /// The `id`s of the first events, in order.
    #[serde(default)]
    pub(super) expect_ids: Vec<String>,
    /// The data of the first events, in order.
    #[serde(default)]
    pub(super) expect_data: Vec<String>,
    /// Every event's data is JSON holding these.
    #[serde(default)]
    expect_json_present: Vec<String>,
}

/// A validated [`EventsSpec`].
#[derive(Debug)]
pub(super) struct EventsPlan {
    pub(super) spec: EventsSpec,
    json_present: Vec<Selector>,
}

impl EventsPlan {
    /// Checks `spec` for a step that opens a WebSocket or not, in a probe
    /// whose whole time limit is `probe_ms`.
    pub(super) fn new(spec: EventsSpec, websocket: bool, probe_ms: u64) -> Result<Self, String> {
        if !(1..=MAX_EVENTS).contains(&spec.count) {
            return Err(format!(
                "`events.count` must be from 1 to {MAX_EVENTS}, not {}",
                spec.count
            ));
        }
        if spec.within_ms == 0 || spec.within_ms >= probe_ms {
            return Err(format!(
                "`events.within_ms` must be above 0 and below the probe's `timeout_ms` ({probe_ms})"
            ));
        }
        if !websocket && !spec.send.is_empty() {
            return Err(
                "`events.send` needs `websocket = true`: an event stream only goes one way".into(),
            );
        }
        if websocket && (spec.increasing_ids || !spec.expect_ids.is_empty()) {
            return Err("WebSocket messages have no ids; `increasing_ids` and `expect_ids` are for event streams".into());
        }
        if spec.expect_ids.len() > spec.count || spec.expect_data.len() > spec.count {
            return Err(format!(
                "`events` expects more events than it reads (`count` = {})",
                spec.count
            ));
        }
        let json_present = spec
            .expect_json_present
            .iter()
            .map(|s| Selector::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { spec, json_present })
    }

    /// The texts that may name captured values.
    pub(super) fn texts(&self) -> impl Iterator<Item = &str> {
        let spec = &self.spec;
        spec.send
            .iter()
            .chain(&spec.expect_ids)
            .chain(&spec.expect_data)
            .map(String::as_str)
    }

    /// Where a capture `event:N:id` or `event:N:data` points, checked
    /// against how many events the step reads.
    pub(super) fn capture_source(&self, source: &str) -> Result<EventField, String> {
        let (index, field) = source
            .split_once(':')
            .ok_or_else(|| format!("{source:?} must be \"event:N:id\" or \"event:N:data\""))?;
        let index: usize = index
            .parse()
            .map_err(|_| format!("{index:?} in \"event:{source}\" is not an event number"))?;
        if index >= self.spec.count {
            return Err(format!(
                "\"event:{source}\" names event {index}, but the step reads {} (numbered from 0)",
                self.spec.count
            ));
        }
        match field {
            "id" => Ok(EventField::Id(index)),
            "data" => Ok(EventField::Data(index)),
            other => Err(format!("an event has an `id` and `data`, not {other:?}")),
        }
    }

    fn within(&self) -> Duration {
        Duration::from_millis(self.spec.within_ms)
    }
}

/// A value captured from one event.
#[derive(Debug, Clone, Copy)]
pub(super) enum EventField {
    Id(usize),
    Data(usize),
}

impl EventField {
    pub(super) fn take(self, received: &Received) -> Option<String> {
        match self {
            Self::Id(index) => received.events.get(index)?.id.clone(),
            Self::Data(index) => Some(received.events.get(index)?.data.clone()),
        }
    }
}

/// One event as the probe read it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Event {
    /// The `id` line of this event, if it had one (never, over a WebSocket).
    id: Option<String>,
    data: String,
}

/// The events a step read, and why it stopped early if it did.
#[derive(Debug)]
pub(super) struct Received {
    events: Vec<Event>,
    took: Duration,
    short: Option<String>,
}

impl Received {
    pub(super) fn nothing(why: String) -> Self {
        Self {
            events: Vec::new(),
            took: Duration::ZERO,
            short: Some(why),
        }
    }
}

/// Server-sent events, parsed as the bytes arrive, as the HTML standard's
/// "event stream interpretation" says: lines end in CRLF, LF or CR, a
/// blank line ends an event, lines starting with `:` are comments, and an
/// event without `data` is not dispatched.
#[derive(Debug, Default)]
struct SseParser {
    line: Vec<u8>,
    after_cr: bool,
    data: Option<String>,
    id: Option<String>,
}

impl SseParser {
    fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        let mut events = Vec::new();
        for &byte in bytes {
            let after_cr = std::mem::replace(&mut self.after_cr, byte == b'\r');
            match byte {
                // The LF of a CRLF: the CR already ended the line.
                b'\n' if after_cr => {}
                b'\n' | b'\r' => {
                    // Lines are decoded whole, so a character split between
                    // two reads is not mangled.
                    let line = std::mem::take(&mut self.line);
                    events.extend(self.end_line(&String::from_utf8_lossy(&line)));
                }
                _ => self.line.push(byte),
            }
        }
        events
    }

    fn end_line(&mut self, line: &str) -> Option<Event> {
        if line.is_empty() {
            let id = self.id.take();
            return self.data.take().map(|data| Event { id, data });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            "id" if !value.contains('\0') => self.id = Some(value.to_string()),
            _ => {}
        }
        None
    }
}

/// Reads the events of a `text/event-stream` answer, at most `max_bytes` of it.
pub(super) async fn read_event_stream(
    response: &mut reqwest::Response,
    plan: &EventsPlan,
    max_bytes: usize,
) -> Result<Received, String> {
    let started = Instant::now();
    let until = tokio::time::Instant::now() + plan.within();
    let mut parser = SseParser::default();
    let mut events = Vec::new();
    let mut read = 0;
    let short = loop {
        if events.len() >= plan.spec.count {
            break None;
        }
        match tokio::time::timeout_at(until, response.chunk()).await {
            Err(_) => break Some(too_few(events.len(), plan)),
            Ok(Err(e)) => return Err(format!("reading the stream failed: {e}")),
            Ok(Ok(None)) => {
                break Some(format!(
                    "the answer ended after {} event(s); a stream stays open",
                    events.len()
                ))
            }
            Ok(Ok(Some(chunk))) => {
                read += chunk.len();
                if read > max_bytes {
                    return Err(too_much(max_bytes, plan));
                }
                events.extend(parser.feed(&chunk));
            }
        }
    };
    events.truncate(plan.spec.count);
    Ok(Received {
        events,
        took: started.elapsed(),
        short,
    })
}

/// Why a step stopped reading a server that sent more than a probe reads.
fn too_much(max_bytes: usize, plan: &EventsPlan) -> String {
    format!(
        "the server sent over {max_bytes} bytes without {} events",
        plan.spec.count
    )
}

fn too_few(got: usize, plan: &EventsPlan) -> String {
    format!(
        "only {got} of {} event(s) came within {} ms",
        plan.spec.count, plan.spec.within_ms
    )
}

/// What a WebSocket step's handshake and messages came to.
pub(super) struct SocketAnswer {
    pub(super) status: u16,
    pub(super) headers: reqwest::header::HeaderMap,
    /// From the connection until the handshake's answer.
    pub(super) upgraded_after: Duration,
    pub(super) received: Received,
}

/// Opens a WebSocket to `url` on the already checked address `target`,
/// sends the step's messages (`send`, with captured values filled in) and
/// reads its events, at most `max_bytes` of them in all, as a stream's. An answer other than `101` is reported with its
/// status, not as a failure to connect.
pub(super) async fn open_websocket(
    url: &Url,
    target: SocketAddr,
    headers: &[(String, String)],
    send: &[String],
    plan: Option<&EventsPlan>,
    max_bytes: usize,
) -> Result<SocketAnswer, String> {
    let mut ws_url = url.clone();
    ws_url
        .set_scheme("ws")
        .map_err(|()| format!("{url} cannot be a WebSocket address"))?;
    let mut request = ws_url
        .as_str()
        .into_client_request()
        .map_err(|e| format!("cannot make a WebSocket request for {ws_url}: {e}"))?;
    for (name, value) in headers {
        let name = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("{name:?} is not a header name"))?;
        let value = http::HeaderValue::from_str(value)
            .map_err(|_| format!("the value of {name} is not a header value"))?;
        request.headers_mut().insert(name, value);
    }
    let connecting = Instant::now();
    let stream = tokio::net::TcpStream::connect(target)
        .await
        .map_err(|_| "nothing answered: is your server running on that address?".to_string())?;
    let config = WebSocketConfig::default()
        .max_message_size(Some(max_bytes))
        .max_frame_size(Some(max_bytes));
    let (mut socket, response) =
        match tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await {
            Ok(opened) => opened,
            Err(tungstenite::Error::Http(refused)) => {
                return Ok(SocketAnswer {
                    status: refused.status().as_u16(),
                    headers: refused.headers().clone(),
                    upgraded_after: connecting.elapsed(),
                    received: Received::nothing(format!(
                        "no WebSocket: the server answered {} instead of 101",
                        refused.status()
                    )),
                })
            }
            Err(e) => return Err(format!("the WebSocket handshake failed: {e}")),
        };
    let upgraded_after = connecting.elapsed();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let Some(plan) = plan else {
        let _ = socket.close(None).await;
        return Ok(SocketAnswer {
            status,
            headers,
            upgraded_after,
            received: Received::nothing("the step reads no messages".into()),
        });
    };
    let started = Instant::now();
    for text in send {
        socket
            .send(Message::text(text.as_str()))
            .await
            .map_err(|e| format!("sending {text:?} failed: {e}"))?;
    }
    let until = tokio::time::Instant::now() + plan.within();
    let mut events = Vec::new();
    let mut read = 0;
    let short = loop {
        if events.len() >= plan.spec.count {
            break None;
        }
        if read > max_bytes {
            return Err(too_much(max_bytes, plan));
        }
        match tokio::time::timeout_at(until, socket.next()).await {
            Err(_) => break Some(too_few(events.len(), plan)),
            Ok(None) | Ok(Some(Ok(Message::Close(_)))) => {
                break Some(format!(
                    "the server closed the socket after {} message(s)",
                    events.len()
                ))
            }
            Ok(Some(Err(e))) => return Err(format!("reading the socket failed: {e}")),
            Ok(Some(Ok(Message::Text(text)))) => {
                read += text.len();
                events.push(Event {
                    id: None,
                    data: text.to_string(),
                });
            }
            Ok(Some(Ok(Message::Binary(bytes)))) => {
                read += bytes.len();
                events.push(Event {
                    id: None,
                    data: String::from_utf8_lossy(&bytes).into_owned(),
                });
            }
            // Pings are answered by the library; pongs and raw frames carry no message.
            Ok(Some(Ok(_))) => {}
        }
    };
    let took = started.elapsed();
    // A polite close, but a server that never answers it does not hold the probe.
    let _ = tokio::time::timeout(Duration::from_millis(500), socket.close(None)).await;
    Ok(SocketAnswer {
        status,
        headers,
        upgraded_after,
        received: Received {
            events,
            took,
            short,
        },
    })
}

/// One judged property of the events: what, passed, expected, observed.
pub(super) type EventCheck = (String, bool, String, String);

/// Judges what a step read against its plan; `fill` puts captured values
/// into expected texts.
pub(super) fn judge(
    plan: &EventsPlan,
    received: &Received,
    fill: impl Fn(&str) -> String,
) -> Vec<EventCheck> {
    let spec = &plan.spec;
    let got = received.events.len();
    let mut checks = vec![(
        "events".to_string(),
        got >= spec.count,
        format!("{} event(s) within {} ms", spec.count, spec.within_ms),
        match &received.short {
            Some(why) => why.clone(),
            None => format!("{got} event(s) in {} ms", received.took.as_millis()),
        },
    )];
    let ids: Vec<String> = received
        .events
        .iter()
        .map(|e| e.id.clone().unwrap_or_else(|| "(none)".into()))
        .collect();
    if spec.increasing_ids {
        let numbers: Vec<Option<i64>> = received
            .events
            .iter()
            .map(|e| e.id.as_deref().and_then(|id| id.trim().parse().ok()))
            .collect();
        let increasing = got > 0
            && numbers.iter().all(Option::is_some)
            && numbers.windows(2).all(|pair| pair[0] < pair[1]);
        checks.push((
            "event ids increase".into(),
            increasing,
            "each event has an `id:` line, a number larger than the one before".into(),
            describe_list("ids", &ids),
        ));
    }
    if !spec.expect_ids.is_empty() {
        let want: Vec<String> = spec.expect_ids.iter().map(|id| fill(id)).collect();
        let first = &ids[..got.min(want.len())];
        checks.push((
            "event ids".into(),
            first == want.as_slice(),
            format!("the first ids are {}", want.join(", ")),
            describe_list("ids", first),
        ));
    }
    if !spec.expect_data.is_empty() {
        let want: Vec<String> = spec.expect_data.iter().map(|d| fill(d)).collect();
        let first: Vec<String> = received
            .events
            .iter()
            .take(want.len())
            .map(|e| e.data.clone())
            .collect();
        checks.push((
            "event data".into(),
            first == want,
            format!("the first data are {}", quoted(&want)),
            if first.is_empty() {
                "no events".into()
            } else {
                format!("the first data are {}", quoted(&first))
            },
        ));
    }
    for selector in &plan.json_present {
        let missing = received.events.iter().position(|event| {
            serde_json::from_str::<Value>(&event.data)
                .ok()
                .and_then(|json| selector.select(&json).cloned())
                .is_none()
        });
        checks.push((
            format!("event data {} present", selector.as_str()),
            got > 0 && missing.is_none(),
            format!("each event's data is JSON with {}", selector.as_str()),
            match missing {
                _ if got == 0 => "no events".into(),
                None => format!("all {got} have it"),
                Some(index) => format!(
                    "event {index} has data {:?}",
                    clip(&received.events[index].data)
                ),
            },
        ));
    }
    checks
}

fn describe_list(what: &str, items: &[String]) -> String {
    if items.is_empty() {
        "no events".into()
    } else {
        format!("{what} {}", items.join(", "))
    }
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|item| format!("{:?}", clip(item)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A long value cut to what a report can show.
fn clip(text: &str) -> String {
    const SHOWN: usize = 120;
    match text.char_indices().nth(SHOWN) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(chunks: &[&[u8]]) -> Vec<Event> {
        let mut parser = SseParser::default();
        chunks.iter().flat_map(|chunk| parser.feed(chunk)).collect()
    }

    fn event(id: Option<&str>, data: &str) -> Event {
        Event {
            id: id.map(str::to_string),
            data: data.to_string(),
        }
    }

    #[test]
    fn events_are_parsed_across_reads_and_line_endings() {
        let events = parse(&[
            b"retry: 2000\n: a comment\n\nid: 1\ndata: {\"n\"",
            b": 1}\n\r\nid:2\r\ndata: a\rdata: b\r\rdata",
            b"\n\nid: 4\ndata:  two spaces\n",
            b"\n",
        ]);
        assert_eq!(
            events,
            vec![
                event(Some("1"), "{\"n\": 1}"),
                event(Some("2"), "a\nb"),
                event(None, ""),
                event(Some("4"), " two spaces"),
            ]
        );
    }

    #[test]
    fn an_event_is_dispatched_only_at_its_blank_line_and_characters_survive_a_split() {
        let crab = "🦀".as_bytes();
        let (head, tail) = crab.split_at(2);
        let mut parser = SseParser::default();
        assert!(parser.feed(b"id: 9\ndata: ").is_empty());
        assert!(parser.feed(head).is_empty());
        assert!(parser.feed(tail).is_empty());
        assert!(parser.feed(b"\n").is_empty(), "no blank line yet");
        assert_eq!(parser.feed(b"\n"), vec![event(Some("9"), "🦀")]);
        assert!(parser.feed(b"id: 10\n\n").is_empty(), "no data, no event");
    }

    fn plan(toml: &str, websocket: bool) -> Result<EventsPlan, String> {
        let spec: EventsSpec = toml::from_str(toml).map_err(|e| e.to_string())?;
        EventsPlan::new(spec, websocket, 10_000)
    }

    #[test]
    fn plans_refuse_what_cannot_be_read() {
        assert!(plan("count = 0", false)
            .unwrap_err()
            .contains("from 1 to 50"));
        assert!(plan("count = 1\nwithin_ms = 10000", false)
            .unwrap_err()
            .contains("below the probe's"));
        assert!(plan("count = 1\nsend = [\"hi\"]", false)
            .unwrap_err()
            .contains("websocket = true"));
        assert!(plan("count = 1\nincreasing_ids = true", true)
            .unwrap_err()
            .contains("no ids"));
        assert!(plan("count = 1\nexpect_data = [\"a\", \"b\"]", false)
            .unwrap_err()
            .contains("more events than it reads"));
        let ok = plan("count = 2\nsend = [\"hi\"]", true).unwrap();
        assert!(matches!(
            ok.capture_source("1:data"),
            Ok(EventField::Data(1))
        ));
        assert!(ok.capture_source("2:id").unwrap_err().contains("reads 2"));
        assert!(ok.capture_source("0:name").is_err());
    }

    #[test]
    fn judging_names_what_was_wrong() {
        let plan = plan(
            "count = 3\nincreasing_ids = true\nexpect_ids = [\"{a}\", \"3\"]\nexpect_json_present = [\"$.n\"]",
            false,
        )
        .unwrap();
        let received = Received {
            events: vec![
                event(Some("2"), "{\"n\": 2}"),
                event(Some("3"), "{\"n\": 3}"),
                event(Some("3"), "tick"),
            ],
            took: Duration::from_millis(40),
            short: None,
        };
        let checks = judge(&plan, &received, |text| text.replace("{a}", "2"));
        let by_name = |name: &str| checks.iter().find(|c| c.0 == name).unwrap();
        assert!(by_name("events").1);
        assert!(!by_name("event ids increase").1, "3 then 3");
        assert!(by_name("event ids").1);
        let json = by_name("event data $.n present");
        assert!(!json.1);
        assert_eq!(json.3, "event 2 has data \"tick\"");

        let nothing = Received::nothing("the server answered 404 Not Found instead of 101".into());
        let checks = judge(&plan, &nothing, str::to_string);
        assert!(checks.iter().all(|c| !c.1), "{checks:?}");
        assert!(checks[0].3.contains("404"));
    }
}
