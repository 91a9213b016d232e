//! The class chat's rooms: who is in each, and each connection's send
//! buffer.
//!
//! A message said in a room is written once (as its JSON frame) and put in
//! every member's [`Outbox`]. A connection's own task writes its outbox to
//! its socket, so a slow reader never holds up the room: only its own
//! buffer fills, and its owner's [`SlowClientPolicy`] decides what then.
//!
//! Bounds: a room holds [`MAX_ROOM_MEMBERS`] connections, a student
//! [`MAX_CHATS_PER_STUDENT`], the server [`MAX_CHAT_CONNECTIONS`]; a room
//! keeps no history and is gone when its last member leaves.

use std::collections::{HashMap, VecDeque};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use model::labs::realtime::{ChatFrame, SlowClientPolicy};
use tokio::sync::{watch, Notify};

use crate::error::ApiError;
use crate::limiter::KeyedLimiter;
use crate::students::StudentId;

/// Connections one room holds: a class of 300 with room to spare.
pub(crate) const MAX_ROOM_MEMBERS: usize = 500;
/// Chat connections one student may hold at once (tabs, or a test client).
pub(crate) const MAX_CHATS_PER_STUDENT: u32 = 4;
/// Chat connections the whole server holds.
pub(crate) const MAX_CHAT_CONNECTIONS: usize = 1024;
/// Joins one student may make in a row; then one more every
/// [`JOIN_REFILL`]. Each join tells the whole room, so joining and leaving
/// in a loop would flood everyone's send buffer with presence frames.
const JOIN_BURST: u32 = 10;
const JOIN_REFILL: Duration = Duration::from_secs(3);
/// Longest room code.
const MAX_CODE_CHARS: usize = 32;

/// Every room, and how many chat connections each student holds.
pub(crate) struct Rooms {
    inner: Mutex<RoomsInner>,
    joins: KeyedLimiter<StudentId>,
    /// The server is shutting down: chat connections end.
    stopping: watch::Receiver<bool>,
}

#[derive(Default)]
struct RoomsInner {
    rooms: HashMap<String, Arc<Room>>,
    per_student: HashMap<StudentId, u32>,
    connections: usize,
}

/// One room.
pub(crate) struct Room {
    code: String,
    inner: Mutex<RoomInner>,
}

#[derive(Default)]
struct RoomInner {
    /// The last message's number.
    last_id: u64,
    /// Numbers the members, so that one leaving removes only itself.
    next_key: u64,
    members: Vec<Member>,
}

struct Member {
    key: u64,
    name: String,
    outbox: Arc<Outbox>,
}

/// A room code, checked: 1 to 32 lowercase letters, digits and dashes.
pub(crate) fn checked_code(code: &str) -> Result<String, ApiError> {
    let fine = !code.is_empty()
        && code.chars().count() <= MAX_CODE_CHARS
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if fine {
        Ok(code.to_string())
    } else {
        Err(ApiError::BadRequest(format!(
            "A room code is 1 to {MAX_CODE_CHARS} lowercase letters, digits and dashes, like `cs101-monday`; `{}` is not one.",
            code.chars().take(40).collect::<String>()
        )))
    }
}

impl Rooms {
    /// No rooms yet; chat connections end when `stopping` turns `true`.
    pub(crate) fn new(stopping: watch::Receiver<bool>) -> Self {
        Self {
            inner: Mutex::default(),
            joins: KeyedLimiter::new(
                NonZeroU32::new(JOIN_BURST).expect("not zero"),
                JOIN_REFILL,
                "chat joins",
            ),
            stopping,
        }
    }

    /// Resolves once the server starts shutting down.
    pub(crate) async fn stopping(&self) {
        let mut stopping = self.stopping.clone();
        let _ = stopping.wait_for(|stopping| *stopping).await;
    }

    fn lock(&self) -> MutexGuard<'_, RoomsInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Seats a connection named `name` in room `code`, creating the room if
    /// need be, and tells the others it came. Refused when the student, the
    /// room or the server holds all the connections it may.
    pub(crate) fn join(
        self: &Arc<Self>,
        code: String,
        student: &StudentId,
        name: String,
        outbox: Arc<Outbox>,
    ) -> Result<Seat, ApiError> {
        let mut inner = self.lock();
        let held = inner.per_student.get(student).copied().unwrap_or(0);
        if held >= MAX_CHATS_PER_STUDENT {
            return Err(ApiError::TooManyRequests {
                message: format!(
                    "You have {MAX_CHATS_PER_STUDENT} chat connections open, the most one student may hold. Leave a room (or close a tab) and try again."
                ),
                retry_after_secs: 5,
            });
        }
        self.joins.check(student)?;
        if inner.connections >= MAX_CHAT_CONNECTIONS {
            return Err(ApiError::Unavailable(format!(
                "The server holds {MAX_CHAT_CONNECTIONS} chat connections, the most it allows; try again in a moment."
            )));
        }
        let room = inner
            .rooms
            .entry(code.clone())
            .or_insert_with(|| {
                Arc::new(Room {
                    code,
                    inner: Mutex::default(),
                })
            })
            .clone();
        let key = {
            let mut members = room.lock();
            if members.members.len() >= MAX_ROOM_MEMBERS {
                return Err(ApiError::Conflict(format!(
                    "The room `{}` is full: it holds {MAX_ROOM_MEMBERS} connections. Pick another code.",
                    room.code
                )));
            }
            members.next_key += 1;
            let key = members.next_key;
            let first_of_name = !members.has(&name);
            members.members.push(Member {
                key,
                name: name.clone(),
                outbox,
            });
            // A second tab of someone already here changes nobody's list.
            if first_of_name {
                members.presence(&name, true, Some(key));
            }
            key
        };
        *inner.per_student.entry(student.clone()).or_default() += 1;
        inner.connections += 1;
        Ok(Seat {
            rooms: self.clone(),
            room,
            key,
            student: student.clone(),
            name,
        })
    }

    /// Hands a message another server process took to this process's
    /// members of `code` (none, if nobody here is in that room).
    pub(crate) fn deliver(&self, code: &str, frame: &ChatFrame) {
        let room = self.lock().rooms.get(code).cloned();
        if let Some(room) = room {
            room.lock().send_all(frame, None);
        }
    }

    /// Lets go of the join allowances of students who stopped joining.
    pub(crate) fn forget_idle(&self) {
        self.joins.forget_idle();
    }

    /// How many rooms exist now.
    #[cfg(test)]
    fn count(&self) -> usize {
        self.lock().rooms.len()
    }

    /// Takes `seat` out of its room, and the room away once it is empty.
    fn leave(&self, seat: &Seat) {
        let mut inner = self.lock();
        let empty = {
            let mut members = seat.room.lock();
            members.members.retain(|member| member.key != seat.key);
            if !members.has(&seat.name) {
                members.presence(&seat.name, false, None);
            }
            members.members.is_empty()
        };
        if empty {
            inner.rooms.remove(&seat.room.code);
        }
        if let Some(held) = inner.per_student.get_mut(&seat.student) {
            *held -= 1;
            if *held == 0 {
                inner.per_student.remove(&seat.student);
            }
        }
        inner.connections -= 1;
    }
}

impl Room {
    fn lock(&self) -> MutexGuard<'_, RoomInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Everyone in the room, by name, sorted, each once.
    pub(crate) fn members(&self) -> Vec<String> {
        self.lock().names()
    }

    /// The room's code.
    pub(crate) fn code(&self) -> &str {
        &self.code
    }

    /// Delivers `message` (its `id` filled in here) to everyone in the
    /// room, its sender included; returns it as sent.
    pub(crate) fn say(&self, mut message: ChatFrame) -> ChatFrame {
        let mut inner = self.lock();
        inner.last_id += 1;
        if let ChatFrame::Message { id, .. } = &mut message {
            *id = inner.last_id;
        }
        inner.send_all(&message, None);
        message
    }
}

impl RoomInner {
    fn has(&self, name: &str) -> bool {
        self.members.iter().any(|m| m.name == name)
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.members.iter().map(|m| m.name.clone()).collect();
        names.sort();
        names.dedup();
        names
    }

    /// Tells the members (but `except` one) that `name` joined or left.
    fn presence(&self, name: &str, joined: bool, except: Option<u64>) {
        let frame = ChatFrame::Presence {
            name: name.to_string(),
            joined,
            members: self.names(),
        };
        self.send_all(&frame, except);
    }

    /// Puts one frame, written once, in every member's outbox.
    fn send_all(&self, frame: &ChatFrame, except: Option<u64>) {
        let json: Arc<str> = serde_json::to_string(frame).unwrap_or_default().into();
        for member in self.members.iter().filter(|m| Some(m.key) != except) {
            member.outbox.push(json.clone());
        }
    }
}

/// A connection's place in a room; it leaves (and the room hears so) when
/// dropped.
pub(crate) struct Seat {
    rooms: Arc<Rooms>,
    room: Arc<Room>,
    key: u64,
    student: StudentId,
    name: String,
}

impl Seat {
    /// The room this seat is in.
    pub(crate) fn room(&self) -> &Room {
        &self.room
    }

    /// The name the room knows this connection by.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.rooms.leave(self);
    }
}

/// One connection's send buffer: the frames the room has sent it that its
/// socket has not written yet.
pub(crate) struct Outbox {
    state: Mutex<OutboxState>,
    wake: Notify,
}

struct OutboxState {
    frames: VecDeque<Arc<str>>,
    capacity: usize,
    policy: SlowClientPolicy,
    /// Frames thrown away (drop-oldest) and not yet reported.
    dropped: u64,
    /// The buffer overflowed under the disconnect policy.
    overflowed: bool,
    /// The client is reading (it has not asked the server to hold frames).
    reading: bool,
}

/// What the connection's task should do next with its outbox.
#[derive(Debug, PartialEq)]
pub(crate) enum Outgoing {
    /// Write this frame.
    Frame(Arc<str>),
    /// Tell the client this many frames were thrown away.
    Dropped(u64),
    /// Hang up: the buffer overflowed and the policy is to disconnect.
    Overflowed,
}

impl Outbox {
    /// An empty buffer of `capacity` frames, reading.
    pub(crate) fn new(capacity: u32, policy: SlowClientPolicy) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(OutboxState {
                frames: VecDeque::new(),
                capacity: capacity.max(1) as usize,
                policy,
                dropped: 0,
                overflowed: false,
                reading: true,
            }),
            wake: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, OutboxState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a frame; when the buffer is full the policy decides.
    fn push(&self, frame: Arc<str>) {
        {
            let mut state = self.lock();
            if state.overflowed {
                return;
            }
            if state.frames.len() >= state.capacity {
                match state.policy {
                    SlowClientPolicy::DropOldest => {
                        state.frames.pop_front();
                        state.dropped += 1;
                    }
                    SlowClientPolicy::Disconnect => {
                        state.overflowed = true;
                        state.frames.clear();
                    }
                }
            }
            if !state.overflowed {
                state.frames.push_back(frame);
            }
        }
        self.wake.notify_one();
    }

    /// What to write next; `None` when there is nothing, or the client is
    /// not reading.
    pub(crate) fn next(&self) -> Option<Outgoing> {
        let mut state = self.lock();
        if state.overflowed {
            return Some(Outgoing::Overflowed);
        }
        if !state.reading {
            return None;
        }
        if state.dropped > 0 {
            return Some(Outgoing::Dropped(std::mem::take(&mut state.dropped)));
        }
        state.frames.pop_front().map(Outgoing::Frame)
    }

    /// The client stops or starts reading.
    pub(crate) fn set_reading(&self, reading: bool) {
        self.lock().reading = reading;
        self.wake.notify_one();
    }

    /// Frames waiting now.
    pub(crate) fn waiting(&self) -> usize {
        self.lock().frames.len()
    }

    /// Makes the next [`Outbox::changed`] resolve at once.
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// Resolves once something was queued or changed.
    pub(crate) async fn changed(&self) {
        self.wake.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(outgoing: Option<Outgoing>) -> String {
        match outgoing {
            Some(Outgoing::Frame(frame)) => frame.to_string(),
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    #[test]
    fn drop_oldest_keeps_the_newest_frames_and_says_how_many_went() {
        let outbox = Outbox::new(2, SlowClientPolicy::DropOldest);
        outbox.set_reading(false);
        for n in 1..=5 {
            outbox.push(n.to_string().into());
        }
        assert_eq!(outbox.next(), None, "a client not reading gets nothing");
        outbox.set_reading(true);
        assert_eq!(outbox.next(), Some(Outgoing::Dropped(3)));
        assert_eq!(text(outbox.next()), "4");
        assert_eq!(text(outbox.next()), "5");
        assert_eq!(outbox.next(), None);
    }

    #[test]
    fn disconnect_hangs_up_once_the_buffer_overflows() {
        let outbox = Outbox::new(2, SlowClientPolicy::Disconnect);
        outbox.set_reading(false);
        outbox.push("1".into());
        outbox.push("2".into());
        assert_eq!(outbox.next(), None, "full is not yet over");
        outbox.push("3".into());
        assert_eq!(outbox.next(), Some(Outgoing::Overflowed));
        assert_eq!(outbox.waiting(), 0, "the buffer is let go");
    }

    fn rooms() -> Arc<Rooms> {
        Arc::new(Rooms::new(watch::channel(false).1))
    }

    #[test]
    fn members_hear_each_other_and_presence_and_the_room_goes_when_empty() {
        let rooms = rooms();
        let (ada_box, bob_box) = (
            Outbox::new(8, SlowClientPolicy::DropOldest),
            Outbox::new(8, SlowClientPolicy::DropOldest),
        );
        let ada = rooms
            .join(
                "cs101".into(),
                &StudentId::from_raw("a"),
                "Ada".into(),
                ada_box.clone(),
            )
            .unwrap();
        let bob = rooms
            .join(
                "cs101".into(),
                &StudentId::from_raw("b"),
                "Bob".into(),
                bob_box.clone(),
            )
            .unwrap();
        assert!(text(ada_box.next()).contains(r#""name":"Bob","joined":true"#));
        assert_eq!(bob_box.next(), None, "a newcomer is not told it came");
        assert_eq!(ada.room().members(), ["Ada", "Bob"]);
        bob.room().say(ChatFrame::Message {
            id: 0,
            from: "Bob".into(),
            text: "hi".into(),
            sent_at_ms: 7,
            server: "server-0001".into(),
            backbone: model::labs::realtime::Backbone::InProcess,
        });
        assert!(text(ada_box.next()).contains(r#""from":"Bob","text":"hi""#));
        assert!(
            text(bob_box.next()).contains(r#""id":1"#),
            "the sender hears itself"
        );
        drop(bob);
        assert!(text(ada_box.next()).contains(r#""joined":false,"members":["Ada"]"#));
        assert_eq!(rooms.count(), 1);
        drop(ada);
        assert_eq!(rooms.count(), 0);
    }

    #[test]
    fn a_second_tab_of_someone_present_is_not_news() {
        let rooms = rooms();
        let watcher = Outbox::new(8, SlowClientPolicy::DropOldest);
        let _bob = rooms
            .join(
                "r".into(),
                &StudentId::from_raw("b"),
                "Bob".into(),
                watcher.clone(),
            )
            .unwrap();
        let ada = StudentId::from_raw("a");
        let tab = |rooms: &Arc<Rooms>| {
            rooms
                .join(
                    "r".into(),
                    &ada,
                    "Ada".into(),
                    Outbox::new(8, SlowClientPolicy::DropOldest),
                )
                .unwrap()
        };
        let (first, second) = (tab(&rooms), tab(&rooms));
        assert!(text(watcher.next()).contains(r#""joined":true"#));
        assert_eq!(watcher.next(), None, "the second tab is not announced");
        drop(first);
        assert_eq!(watcher.next(), None, "Ada is still here");
        drop(second);
        assert!(text(watcher.next()).contains(r#""joined":false"#));
    }

    #[test]
    fn a_student_may_hold_four_chat_connections() {
        let rooms = rooms();
        let student = StudentId::from_raw("a");
        let join = |code: &str| {
            rooms.join(
                code.into(),
                &student,
                "Ada".into(),
                Outbox::new(1, SlowClientPolicy::DropOldest),
            )
        };
        let seats: Vec<Seat> = (0..4).map(|n| join(&format!("r{n}")).unwrap()).collect();
        assert!(matches!(join("r9"), Err(ApiError::TooManyRequests { .. })));
        drop(seats);
        assert!(join("r9").is_ok(), "leaving gives the seats back");
    }

    #[test]
    fn joining_and_leaving_in_a_loop_is_cut_short() {
        let rooms = rooms();
        let student = StudentId::from_raw("a");
        let join = || {
            rooms.join(
                "r".into(),
                &student,
                "Ada".into(),
                Outbox::new(1, SlowClientPolicy::DropOldest),
            )
        };
        for _ in 0..JOIN_BURST {
            drop(join().unwrap());
        }
        assert!(matches!(join(), Err(ApiError::TooManyRequests { .. })));
    }

    #[test]
    fn room_codes_are_short_lowercase_words() {
        assert!(checked_code("cs101-monday").is_ok());
        for bad in ["", "CS101", "a b", "<script>", &"x".repeat(33)] {
            assert!(checked_code(bad).is_err(), "{bad:?}");
        }
    }
}
