//! The real-time lab's class chat: join a room by its code, see who is
//! there, talk, and play the slow client (stop reading) to watch the send
//! buffer's policy at work.

use leptos::prelude::*;

use super::settings_draft::{choice_name, choice_named, SettingsDraft};
use crate::model::labs::realtime::{Backbone, RealtimeSettings, SlowClientPolicy};

/// Lines the log keeps, newest last.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const LOG_LINES: usize = 60;

/// One line of the chat's log.
#[derive(Clone, Debug, PartialEq)]
struct Line {
    /// Numbers lines for the list's keys.
    key: u64,
    /// Who said it; `None` for what the room or the server says.
    from: Option<String>,
    text: String,
}

/// What the console knows of its connection.
#[derive(Clone, Copy)]
struct ChatState {
    /// Between Join and the server's welcome (or refusal).
    connecting: RwSignal<bool>,
    connected: RwSignal<bool>,
    you: RwSignal<String>,
    /// The server process this connection is on.
    server: RwSignal<String>,
    room: RwSignal<String>,
    members: RwSignal<Vec<String>>,
    reading: RwSignal<bool>,
    log: RwSignal<Vec<Line>>,
    problem: RwSignal<Option<String>>,
    next_key: StoredValue<u64>,
}

impl ChatState {
    fn new() -> Self {
        Self {
            connecting: RwSignal::new(false),
            connected: RwSignal::new(false),
            you: RwSignal::new(String::new()),
            server: RwSignal::new(String::new()),
            room: RwSignal::new(String::new()),
            members: RwSignal::new(Vec::new()),
            reading: RwSignal::new(true),
            log: RwSignal::new(Vec::new()),
            problem: RwSignal::new(None),
            next_key: StoredValue::new(0),
        }
    }

    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn note(self, from: Option<String>, text: String) {
        let key = self.next_key.get_value();
        self.next_key.set_value(key + 1);
        self.log.update(|log| {
            log.push(Line { key, from, text });
            let extra = log.len().saturating_sub(LOG_LINES);
            log.drain(..extra);
        });
    }
}

fn backbone_label(backbone: Backbone) -> &'static str {
    match backbone {
        Backbone::InProcess => "None: this server process only",
        Backbone::Redis => "Redis pub/sub",
        Backbone::Nats => "NATS pub/sub",
        Backbone::JetStream => "NATS JetStream (durable log)",
    }
}

fn policy_label(policy: SlowClientPolicy) -> &'static str {
    match policy {
        SlowClientPolicy::DropOldest => "Drop the oldest message",
        SlowClientPolicy::Disconnect => "Disconnect the slow client",
    }
}

/// A room, its members and messages, and the slow-client controls.
#[island(lazy)]
pub(crate) fn RealtimeChat() -> impl IntoView {
    let chat = ChatState::new();
    let draft = SettingsDraft::<RealtimeSettings>::new("realtime");
    let room_code = RwSignal::new("class".to_string());
    let text = RwSignal::new(String::new());
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| {
        hydrated.set(true);
        draft.load();
    });
    // A chat shows its newest line: scroll the log down whenever it grows.
    let log_list = NodeRef::<leptos::html::Ol>::new();
    Effect::new(move |_| {
        chat.log.track();
        if let Some(list) = log_list.get() {
            list.set_scroll_top(list.scroll_height());
        }
    });

    let join = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        if chat.connected.get_untracked() {
            browser::leave(chat);
        } else {
            browser::join(chat, room_code.get_untracked().trim().to_ascii_lowercase());
        }
    };
    let say = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let message = text.get_untracked();
        #[cfg(feature = "hydrate")]
        if browser::say(message) {
            text.set(String::new());
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = message;
    };
    let toggle_reading = move |_| {
        #[cfg(feature = "hydrate")]
        browser::set_reading(!chat.reading.get_untracked());
    };
    let save = move |_| draft.save("Saved: your next join uses these.");

    view! {
        <section class="widget realtime-chat" aria-label="Class chat" data-hydrated=move || hydrated.get().to_string()>
            <form class="chat-join" on:submit=join>
                <label class="field">
                    <span class="field-label">"Room code"</span>
                    <input type="text" maxlength="32" autocomplete="off" pattern="[a-z0-9-]+" spellcheck="false"
                        disabled=move || chat.connected.get() bind:value=room_code/>
                </label>
                <button type="submit" class="button-primary" disabled=move || !hydrated.get() || chat.connecting.get() || room_code.with(|c| c.trim().is_empty())>
                    {move || if chat.connected.get() { "Leave" } else { "Join" }}
                </button>
                <p class="chat-status" role="status">
                    {move || if chat.connected.get() {
                        format!("You are {} in room {}, on {}.", chat.you.get(), chat.room.get(), chat.server.get())
                    } else {
                        "Not in a room. Everyone who joins with the same code is in the same room.".to_string()
                    }}
                </p>
            </form>
            {move || chat.problem.get().map(|p| view! { <p class="error-inline" role="alert">{p}</p> })}
            <div class="chat-body">
                <div class="chat-members">
                    <h3 class="chat-heading">{move || format!("Here now ({})", chat.members.with(Vec::len))}</h3>
                    <ul class="chat-member-list">
                        {move || chat.members.get().into_iter().map(|name| {
                            let you = chat.you.with(|you| *you == name);
                            view! { <li>{name}{you.then_some(" (you)")}</li> }
                        }).collect_view()}
                    </ul>
                </div>
                <div class="chat-talk">
                    <ol class="chat-log" node_ref=log_list aria-label="Messages" aria-live="polite" tabindex="0">
                        <For each=move || chat.log.get() key=|line| line.key children=|line: Line| {
                            let class = if line.from.is_none() { "chat-line chat-line-system" } else { "chat-line" };
                            view! {
                                <li class=class>
                                    {line.from.map(|from| view! { <span class="chat-from">{from} ": "</span> })}
                                    <span>{line.text}</span>
                                </li>
                            }
                        }/>
                    </ol>
                    <form class="chat-say" on:submit=say>
                        <label class="field">
                            <span class="field-label">"Message"</span>
                            <input type="text" maxlength="280" autocomplete="off" bind:value=text disabled=move || !chat.connected.get()/>
                        </label>
                        <button type="submit" class="button-primary" disabled=move || !chat.connected.get() || text.with(|t| t.trim().is_empty())>"Send"</button>
                        <button type="button" class="button-quiet" disabled=move || !chat.connected.get()
                            aria-pressed=move || (!chat.reading.get()).to_string() on:click=toggle_reading>
                            {move || if chat.reading.get() { "Stop reading" } else { "Read again" }}
                        </button>
                    </form>
                </div>
            </div>
            <fieldset class="chat-settings" disabled=move || draft.loading()>
                <legend>"Your chat connection"</legend>
                <label class="field">
                    <span class="field-label">"Send buffer (messages)"</span>
                    <input type="number" min="1" max="64" inputmode="numeric"
                        prop:value=move || draft.read(|s| s.chat_send_buffer.to_string()).unwrap_or_default()
                        on:change=move |ev| {
                            let value = event_target_value(&ev).parse::<u32>().unwrap_or(0);
                            draft.edit(|s| s.chat_send_buffer = value)
                        }/>
                </label>
                <label class="field">
                    <span class="field-label">"When it is full"</span>
                    <select prop:value=move || choice_name(&draft.read(|s| s.slow_client).unwrap_or_default())
                        on:change=move |ev| if let Some(policy) = choice_named(&SlowClientPolicy::ALL, &event_target_value(&ev)) {
                            draft.edit(|s| s.slow_client = policy)
                        }>
                        {SlowClientPolicy::ALL.into_iter().map(|policy| view! { <option value=choice_name(&policy)>{policy_label(policy)}</option> }).collect_view()}
                    </select>
                </label>
                <label class="field">
                    <span class="field-label">"To other server processes"</span>
                    <select prop:value=move || choice_name(&draft.read(|s| s.backbone).unwrap_or_default())
                        on:change=move |ev| if let Some(backbone) = choice_named(&Backbone::ALL, &event_target_value(&ev)) {
                            draft.edit(|s| s.backbone = backbone)
                        }>
                        {Backbone::ALL.into_iter().map(|backbone| view! { <option value=choice_name(&backbone)>{backbone_label(backbone)}</option> }).collect_view()}
                    </select>
                </label>
                <button type="button" class="button-secondary" disabled=move || !hydrated.get() on:click=save>"Save settings"</button>
                <span class="note-inline" role="status">{move || draft.saved.get()}</span>
            </fieldset>
            <p class="muted">
                "“Stop reading” plays a client whose network stalled: the server keeps what the room says in your send buffer. "
                "The upgrade is in the inspector now; this socket's frames are filed there as a trace of their own when you leave."
            </p>
        </section>
    }
}

/// What runs only in the browser: the socket.
#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::RefCell;

    use leptos::prelude::*;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{CloseEvent, MessageEvent, WebSocket};

    use super::ChatState;
    use crate::model::labs::realtime::{ChatCommand, ChatFrame, SlowClientPolicy};

    /// The open socket, with the callbacks it calls (dropped with it).
    struct Open {
        socket: WebSocket,
        _callbacks: [Closure<dyn FnMut(web_sys::Event)>; 2],
    }

    thread_local! {
        static OPEN: RefCell<Option<Open>> = const { RefCell::new(None) };
    }

    /// Closes the open socket, if any, unhooking its callbacks first (they
    /// go with it).
    fn close_open() {
        if let Some(open) = OPEN.with(|o| o.borrow_mut().take()) {
            open.socket.set_onmessage(None);
            open.socket.set_onclose(None);
            let _ = open.socket.close_with_code(1000);
        }
    }

    pub(super) fn join(chat: ChatState, room: String) {
        close_open();
        chat.problem.set(None);
        chat.connecting.set(true);
        let location = window().location();
        let scheme = match location.protocol().as_deref() {
            Ok("https:") => "wss:",
            _ => "ws:",
        };
        let host = location.host().unwrap_or_default();
        let url = format!(
            "{scheme}//{host}/labs/realtime/chat?room={}",
            js_sys::encode_uri_component(&room)
        );
        let Ok(socket) = WebSocket::new(&url) else {
            chat.problem
                .set(Some("The WebSocket could not be opened.".into()));
            return;
        };
        let on_message = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let data = event.unchecked_into::<MessageEvent>().data().as_string();
            if let Some(frame) =
                data.and_then(|d| crate::widgets::json::from_str::<ChatFrame>(&d).ok())
            {
                show(chat, frame);
            }
        });
        let on_close = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let close = event.unchecked_into::<CloseEvent>();
            OPEN.with(|o| o.borrow_mut().take());
            chat.connecting.set(false);
            let was_in = chat.connected.get_untracked();
            chat.connected.set(false);
            chat.members.set(Vec::new());
            chat.reading.set(true);
            let reason = close.reason();
            chat.problem.set(match (was_in, close.code(), reason.is_empty()) {
                (_, 1000, _) => None,
                (false, _, _) => Some(
                    "The server refused to seat you. Check the room code (lowercase letters, digits and dashes); you may hold 4 chat connections at once, and after 10 joins in a row, one more every 3 seconds."
                        .into(),
                ),
                (true, code, true) => Some(format!("The socket closed (code {code}).")),
                (true, code, false) => Some(format!("The server closed the socket (code {code}): {reason}.")),
            });
        });
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        OPEN.with(|o| {
            *o.borrow_mut() = Some(Open {
                socket,
                _callbacks: [on_message, on_close],
            })
        });
    }

    pub(super) fn leave(chat: ChatState) {
        close_open();
        chat.connected.set(false);
        chat.members.set(Vec::new());
        chat.reading.set(true);
        chat.note(None, "You left the room.".into());
    }

    fn send(command: &ChatCommand) -> bool {
        let Some(json) = crate::widgets::json::to_string(command) else {
            return false;
        };
        OPEN.with(|o| {
            o.borrow()
                .as_ref()
                .is_some_and(|open| open.socket.send_with_str(&json).is_ok())
        })
    }

    pub(super) fn say(text: String) -> bool {
        !text.trim().is_empty() && send(&ChatCommand::Say { text })
    }

    pub(super) fn set_reading(reading: bool) {
        send(&if reading {
            ChatCommand::StartReading
        } else {
            ChatCommand::StopReading
        });
    }

    fn show(chat: ChatState, frame: ChatFrame) {
        match frame {
            ChatFrame::Welcome {
                room,
                you,
                server,
                members,
                send_buffer,
                policy,
            } => {
                let policy = match policy {
                    SlowClientPolicy::DropOldest => "drops the oldest",
                    SlowClientPolicy::Disconnect => "disconnects you",
                };
                chat.note(
                    None,
                    format!("You joined {room} as {you}, on {server}. Your send buffer holds {send_buffer} messages; when it is full the server {policy}."),
                );
                chat.connecting.set(false);
                chat.connected.set(true);
                chat.server.set(server);
                chat.you.set(you);
                chat.room.set(room);
                chat.members.set(members);
            }
            ChatFrame::Message {
                from,
                text,
                server,
                backbone,
                ..
            } => {
                // A message another server process took says how it came.
                let text = if chat.server.with_untracked(|here| *here == server) {
                    text
                } else {
                    format!(
                        "{text} (via {}, from {server})",
                        super::backbone_label(backbone)
                    )
                };
                chat.note(Some(from), text)
            }
            ChatFrame::Presence {
                name,
                joined,
                members,
                server,
            } => {
                let verb = if joined { "joined" } else { "left" };
                chat.note(
                    None,
                    match server {
                        Some(server) => format!("{name} {verb}, on {server}."),
                        None => format!("{name} {verb}."),
                    },
                );
                chat.members.set(members);
            }
            ChatFrame::Dropped { count } => chat.note(
                None,
                format!("{count} messages were thrown away while you were not reading."),
            ),
            ChatFrame::Reading { reading, waiting } => {
                chat.reading.set(reading);
                chat.note(
                    None,
                    if reading {
                        format!("Reading again: the server kept {waiting} messages for you.")
                    } else {
                        "Not reading: the server keeps what the room says in your send buffer."
                            .into()
                    },
                );
            }
            ChatFrame::Refused { error } => chat.problem.set(Some(error)),
        }
    }
}
