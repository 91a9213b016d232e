//! The real-time lab's console: one feed, followed four ways at once
//! (short polling, long polling, server-sent events, a WebSocket), with
//! what each has received in the browser and what each has cost the server.

use leptos::prelude::*;

use crate::model::labs::realtime::{FeedStats, Transport, TransportStats};

/// What the browser has seen on one transport.
#[derive(Clone, Copy)]
struct Lane {
    transport: Transport,
    running: RwSignal<bool>,
    received: RwSignal<u64>,
    /// Milliseconds from the server taking the last message to this page
    /// having it (by the two machines' clocks).
    last_delay_ms: RwSignal<Option<i64>>,
    problem: RwSignal<Option<String>>,
    /// Bumped on every start and stop, so a loop from an earlier start ends.
    generation: StoredValue<u32>,
}

impl Lane {
    fn new(transport: Transport) -> Self {
        Self {
            transport,
            running: RwSignal::new(false),
            received: RwSignal::new(0),
            last_delay_ms: RwSignal::new(None),
            problem: RwSignal::new(None),
            generation: StoredValue::new(0),
        }
    }
}

fn label(transport: Transport) -> &'static str {
    match transport {
        Transport::ShortPoll => "Short poll",
        Transport::LongPoll => "Long poll",
        Transport::Sse => "Server-sent events",
        Transport::WebSocket => "WebSocket",
    }
}

/// The short poll's choice of interval, in milliseconds.
const POLL_INTERVALS_MS: [u32; 3] = [1000, 2000, 5000];

/// Four transports side by side, a message box, and their costs.
#[island(lazy)]
pub(crate) fn RealtimeTransports() -> impl IntoView {
    let lanes = Transport::ALL.map(Lane::new);
    let stats = RwSignal::new(None::<FeedStats>);
    let text = RwSignal::new(String::new());
    let poll_interval_ms = RwSignal::new(POLL_INTERVALS_MS[1]);
    let problem = RwSignal::new(None::<String>);
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| {
        hydrated.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(browser::refresh_stats(stats, lanes));
    });

    let publish = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let message = text.get_untracked();
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match browser::publish(message).await {
                Ok(()) => {
                    text.set(String::new());
                    problem.set(None);
                    browser::load_stats(stats).await;
                }
                Err(message) => problem.set(Some(message)),
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (message, problem);
    };
    let reset = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let _ = super::fetch::call_api("DELETE", "/labs/realtime/feed", None).await;
            for lane in lanes {
                lane.received.set(0);
                lane.last_delay_ms.set(None);
            }
            browser::load_stats(stats).await;
        });
    };
    let toggle = move |lane: Lane| {
        let start = !lane.running.get_untracked();
        lane.generation.update_value(|g| *g += 1);
        lane.running.set(start);
        lane.problem.set(None);
        #[cfg(feature = "hydrate")]
        if start {
            browser::start(lane, poll_interval_ms.get_untracked());
        } else {
            browser::stop(lane);
            // The server sees the close a moment later.
            leptos::task::spawn_local(async move {
                super::fetch::sleep_ms(500).await;
                browser::load_stats(stats).await;
            });
        }
    };
    let stat = move |index: usize, read: fn(&TransportStats) -> String| {
        move || {
            stats.with(|s| {
                s.as_ref()
                    .and_then(|s| s.transports.get(index))
                    .map(read)
                    .unwrap_or_else(|| "–".into())
            })
        }
    };

    view! {
        <section class="widget realtime-console" aria-label="One feed, four transports" data-hydrated=move || hydrated.get().to_string()>
            <form class="realtime-publish" on:submit=publish>
                <label class="field">
                    <span class="field-label">"Message"</span>
                    <input type="text" maxlength="280" autocomplete="off" placeholder="Hello, class" bind:value=text/>
                </label>
                <button type="submit" class="button-primary" disabled=move || !hydrated.get() || text.with(|t| t.trim().is_empty())>"Publish"</button>
                <button type="button" class="button-quiet" on:click=reset disabled=move || !hydrated.get()>"Empty the feed"</button>
                <label class="field field-inline">
                    <span class="field-label">"Short poll every"</span>
                    <select on:change=move |ev| poll_interval_ms.set(event_target_value(&ev).parse().unwrap_or(2000))>
                        {POLL_INTERVALS_MS.map(|ms| view! {
                            <option value=ms.to_string() selected=ms == poll_interval_ms.get_untracked()>{ms / 1000} " s"</option>
                        }).collect_view()}
                    </select>
                </label>
            </form>
            {move || problem.get().map(|p| view! { <p class="error-inline" role="alert">{p}</p> })}
            <div class="table-scroll">
                <table class="realtime-table">
                    <caption class="visually-hidden">"What each transport received and cost"</caption>
                    <thead>
                        <tr>
                            <td></td>
                            {lanes.map(|lane| view! { <th scope="col">{label(lane.transport)}</th> }).collect_view()}
                        </tr>
                    </thead>
                    <tbody>
                        <tr>
                            <th scope="row">"Connection"</th>
                            {lanes.map(|lane| view! {
                                <td>
                                    <button type="button" class="button-quiet" disabled=move || !hydrated.get()
                                        aria-pressed=move || lane.running.get().to_string()
                                        aria-label=move || format!("{} {}", if lane.running.get() { "Stop" } else { "Start" }, label(lane.transport))
                                        on:click=move |_| toggle(lane)>
                                        {move || if lane.running.get() { "Stop" } else { "Start" }}
                                    </button>
                                    {move || lane.problem.get().map(|p| view! { <p class="error-inline" role="alert">{p}</p> })}
                                </td>
                            }).collect_view()}
                        </tr>
                        <tr>
                            <th scope="row">"Messages received"</th>
                            {lanes.map(|lane| view! { <td class="number" data-received=lane.transport.as_str()>{move || lane.received.get()}</td> }).collect_view()}
                        </tr>
                        <tr>
                            <th scope="row">"Last delay"</th>
                            {lanes.map(|lane| view! { <td class="number">{move || lane.last_delay_ms.get().map_or_else(|| "–".to_string(), |ms| format!("{ms} ms"))}</td> }).collect_view()}
                        </tr>
                        <tr>
                            <th scope="row">"Requests made"</th>
                            {(0..4).map(|i| view! { <td class="number">{stat(i, |t| t.requests.to_string())}</td> }).collect_view()}
                        </tr>
                        <tr>
                            <th scope="row">"Empty answers"</th>
                            {(0..4).map(|i| view! { <td class="number">{stat(i, |t| t.empty_answers.to_string())}</td> }).collect_view()}
                        </tr>
                        <tr>
                            <th scope="row">"Body bytes sent"</th>
                            {(0..4).map(|i| view! { <td class="number" data-bytes=Transport::ALL[i].as_str()>{stat(i, |t| t.body_bytes.to_string())}</td> }).collect_view()}
                        </tr>
                        <tr>
                            <th scope="row">"Open now"</th>
                            {(0..4).map(|i| view! { <td class="number">{stat(i, |t| t.open.to_string())}</td> }).collect_view()}
                        </tr>
                    </tbody>
                </table>
            </div>
            <p class="muted">
                "Requests, bytes and open connections are the server's count for you, read every two seconds while a transport runs; "
                "received and delay are this page's. Response headers are not in the bytes: each poll's answer adds about 470 more."
            </p>
        </section>
    }
}

/// What runs only in the browser: the four clients.
#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::RefCell;
    use std::collections::HashMap;

    use leptos::prelude::*;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{AbortController, CloseEvent, EventSource, MessageEvent, WebSocket};

    use super::Lane;
    use crate::model::labs::realtime::{
        FeedEvent, FeedPage, FeedStats, Publish, SocketRefusal, Transport,
    };
    use crate::widgets::fetch::{call_api, call_api_until, sleep_ms};

    /// How often the server's counts are read while the console is open.
    const STATS_EVERY_MS: i32 = 2000;

    /// An open stream, socket or waiting long poll, with the callbacks it
    /// calls (dropped with it).
    enum Open {
        Poll(AbortController),
        Events {
            source: EventSource,
            _callbacks: [Closure<dyn FnMut(web_sys::Event)>; 2],
        },
        Socket {
            socket: WebSocket,
            _callbacks: [Closure<dyn FnMut(web_sys::Event)>; 2],
        },
    }

    thread_local! {
        static OPEN: RefCell<HashMap<&'static str, Open>> = RefCell::default();
    }

    /// Publishes one message over HTTP.
    pub(super) async fn publish(text: String) -> Result<(), String> {
        let body = crate::widgets::json::to_string(&Publish { text })
            .ok_or("The message could not be written.")?;
        match call_api("POST", "/labs/realtime/feed", Some(body)).await? {
            (201, _) => Ok(()),
            (_, text) => Err(error_message(&text)),
        }
    }

    /// Reads the server's counts once.
    pub(super) async fn load_stats(stats: RwSignal<Option<FeedStats>>) {
        if let Ok((200, text)) = call_api("GET", "/labs/realtime/feed/stats", None).await {
            if let Ok(loaded) = crate::widgets::json::from_str::<FeedStats>(&text) {
                stats.set(Some(loaded));
            }
        }
    }

    /// Reads the server's counts now, then every few seconds while a
    /// transport runs (an idle page does not poll).
    pub(super) async fn refresh_stats(stats: RwSignal<Option<FeedStats>>, lanes: [Lane; 4]) {
        load_stats(stats).await;
        loop {
            sleep_ms(STATS_EVERY_MS).await;
            if lanes.iter().any(|lane| lane.running.get_untracked()) {
                load_stats(stats).await;
            }
        }
    }

    /// Starts following the feed on `lane`'s transport.
    pub(super) fn start(lane: Lane, poll_interval_ms: u32) {
        match lane.transport {
            Transport::ShortPoll => {
                leptos::task::spawn_local(poll(lane, Some(poll_interval_ms)));
            }
            Transport::LongPoll => leptos::task::spawn_local(poll(lane, None)),
            Transport::Sse => open_events(lane),
            Transport::WebSocket => open_socket(lane),
        }
    }

    /// Stops `lane`: a poll loop ends at its next turn; a stream or socket closes now.
    pub(super) fn stop(lane: Lane) {
        if let Some(open) = OPEN.with(|o| o.borrow_mut().remove(lane.transport.as_str())) {
            match open {
                Open::Poll(abort) => abort.abort(),
                // The callbacks go with `open`: unhook them first.
                Open::Events { source, .. } => {
                    source.set_onmessage(None);
                    source.set_onerror(None);
                    source.close();
                }
                Open::Socket { socket, .. } => {
                    socket.set_onmessage(None);
                    socket.set_onclose(None);
                    let _ = socket.close();
                }
            }
        }
    }

    /// Short polling (every `interval_ms`) or long polling (`None`: ask again at once).
    async fn poll(lane: Lane, interval_ms: Option<u32>) {
        let generation = lane.generation.get_value();
        let started_ms = js_sys::Date::now() as i64;
        let mut after = 0;
        while lane.generation.get_value() == generation {
            let url = match interval_ms {
                Some(_) => format!("/labs/realtime/feed?after={after}"),
                None => format!("/labs/realtime/feed/wait?after={after}"),
            };
            // A long poll the student stops is given up at once, so the
            // server stops holding it.
            let abort = interval_ms
                .is_none()
                .then(AbortController::new)
                .and_then(Result::ok);
            if let Some(abort) = &abort {
                OPEN.with(|o| {
                    o.borrow_mut()
                        .insert(lane.transport.as_str(), Open::Poll(abort.clone()))
                });
            }
            let answer = call_api_until(
                "GET",
                &url,
                None,
                abort.as_ref().map(|a| a.signal()).as_ref(),
            )
            .await;
            if lane.generation.get_value() != generation {
                return;
            }
            match answer {
                Ok((200, text)) => match crate::widgets::json::from_str::<FeedPage>(&text) {
                    Ok(page) => {
                        after = page.last_id;
                        for event in &page.events {
                            received(lane, event, started_ms);
                        }
                    }
                    Err(e) => return fail(lane, format!("The answer was not understood: {e}")),
                },
                Ok((_, text)) => return fail(lane, error_message(&text)),
                Err(message) => return fail(lane, message),
            }
            if let Some(ms) = interval_ms {
                sleep_ms(ms as i32).await;
            }
        }
    }

    fn open_events(lane: Lane) {
        let generation = lane.generation.get_value();
        let started_ms = js_sys::Date::now() as i64;
        let Ok(source) = EventSource::new("/labs/realtime/feed/stream") else {
            return fail(lane, "This browser has no EventSource.".into());
        };
        let on_message = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let data = event.unchecked_into::<MessageEvent>().data().as_string();
            if let Some(event) =
                data.and_then(|d| crate::widgets::json::from_str::<FeedEvent>(&d).ok())
            {
                received(lane, &event, started_ms);
            }
        });
        let watched = source.clone();
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            // An EventSource retries by itself; it gives up (CLOSED) only
            // when the server refused the stream.
            if watched.ready_state() == EventSource::CLOSED
                && lane.generation.get_value() == generation
            {
                OPEN.with(|o| o.borrow_mut().remove(Transport::Sse.as_str()));
                fail(
                    lane,
                    "The server refused the stream: you may hold 8 open connections at most."
                        .into(),
                );
            }
        });
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        OPEN.with(|o| {
            o.borrow_mut().insert(
                Transport::Sse.as_str(),
                Open::Events {
                    source,
                    _callbacks: [on_message, on_error],
                },
            )
        });
    }

    fn open_socket(lane: Lane) {
        let generation = lane.generation.get_value();
        let started_ms = js_sys::Date::now() as i64;
        let location = window().location();
        let scheme = match location.protocol().as_deref() {
            Ok("https:") => "wss:",
            _ => "ws:",
        };
        let host = location.host().unwrap_or_default();
        let Ok(socket) = WebSocket::new(&format!("{scheme}//{host}/labs/realtime/feed/socket"))
        else {
            return fail(lane, "The WebSocket could not be opened.".into());
        };
        let on_message = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let Some(data) = event.unchecked_into::<MessageEvent>().data().as_string() else {
                return;
            };
            if let Ok(event) = crate::widgets::json::from_str::<FeedEvent>(&data) {
                received(lane, &event, started_ms);
            } else if let Ok(refusal) = crate::widgets::json::from_str::<SocketRefusal>(&data) {
                lane.problem.set(Some(refusal.error));
            }
        });
        let on_close = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            if lane.generation.get_value() != generation {
                return;
            }
            let close = event.unchecked_into::<CloseEvent>();
            OPEN.with(|o| o.borrow_mut().remove(Transport::WebSocket.as_str()));
            let reason = close.reason();
            fail(
                lane,
                if reason.is_empty() {
                    format!("The socket closed (code {}).", close.code())
                } else {
                    format!("The socket closed (code {}): {reason}.", close.code())
                },
            );
        });
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        OPEN.with(|o| {
            o.borrow_mut().insert(
                Transport::WebSocket.as_str(),
                Open::Socket {
                    socket,
                    _callbacks: [on_message, on_close],
                },
            )
        });
    }

    /// Counts a message, and its delay when it was published after the lane started.
    fn received(lane: Lane, event: &FeedEvent, started_ms: i64) {
        lane.received.update(|n| *n += 1);
        let now = js_sys::Date::now() as i64;
        if event.published_at_ms >= started_ms {
            lane.last_delay_ms
                .set(Some((now - event.published_at_ms).max(0)));
        }
    }

    fn fail(lane: Lane, message: String) {
        lane.generation.update_value(|g| *g += 1);
        lane.running.set(false);
        lane.problem.set(Some(message));
    }

    fn error_message(body: &str) -> String {
        crate::widgets::json::from_str::<crate::model::ErrorBody>(body)
            .map(|e| e.message)
            .unwrap_or_else(|_| "The server refused the request.".into())
    }
}
