//! The class chat's rooms: who is in each, and each connection's send
//! buffer.
//!
//! A message said in a room is written once (as its JSON frame) and put in
//! every member's [`Outbox`]. A connection's own task writes its outbox to
//! its socket, so a slow reader never holds up the room: only its own
//! buffer fills, and its owner's [`SlowClientPolicy`] decides what then.
//!
//! Presence spans server processes: [`Rooms::heard_roster`] takes who is in
//! a room on the others (see [`super::presence`]), and the member lists
//! and presence frames count them.
//!
//! Bounds: a room holds [`MAX_ROOM_MEMBERS`] connections, a student
//! [`MAX_CHATS_PER_STUDENT`], the server [`MAX_CHAT_CONNECTIONS`]; a room
//! keeps no history and is gone when its last member leaves.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use model::labs::realtime::{Backbone, ChatFrame, SlowClientPolicy};
use tokio::sync::{watch, Notify};

use super::presence::{Carrier, RemoteRosters};
use crate::clock::Clock;
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
/// Longest name shown in a room.
pub(crate) const MAX_NAME_CHARS: usize = 40;
/// Longest room code.
const MAX_CODE_CHARS: usize = 32;

/// Every room, and how many chat connections each student holds.
pub(crate) struct Rooms {
    inner: Mutex<RoomsInner>,
    joins: KeyedLimiter<StudentId>,
    /// The server is shutting down: chat connections end.
    stopping: watch::Receiver<bool>,
    clock: Arc<dyn Clock>,
    /// Who is in each room on the other server processes.
    remote: Mutex<RemoteRosters>,
    /// This process's rosters that changed and are not yet sent.
    due_rosters: Mutex<HashSet<(String, Carrier)>>,
    rosters_due: Notify,
    /// Someone sends the due rosters (the server has Redis or NATS); with
    /// nobody to take them, none are kept.
    sharing: AtomicBool,
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
    /// How other processes hear of this member, if they do.
    carrier: Option<Carrier>,
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
    /// No rooms yet; chat connections end when `stopping` turns `true`;
    /// other processes' rosters age by `clock`.
    pub(crate) fn new(stopping: watch::Receiver<bool>, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Mutex::default(),
            joins: KeyedLimiter::new(
                NonZeroU32::new(JOIN_BURST).expect("not zero"),
                JOIN_REFILL,
                "chat joins",
            ),
            stopping,
            clock,
            remote: Mutex::default(),
            due_rosters: Mutex::default(),
            rosters_due: Notify::new(),
            sharing: AtomicBool::new(false),
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

    /// Rooms and chat connections in this process.
    pub(crate) fn gauges(&self, gauges: &mut crate::labs::LabGauges<'_>) {
        let inner = self.lock();
        gauges.gauge(
            "chat_rooms",
            "Chat rooms with someone in them.",
            inner.rooms.len(),
        );
        gauges.gauge(
            "chat_connections",
            "Chat connections (WebSocket and server-sent events) open.",
            inner.connections,
        );
    }

    /// Seats a connection named `name` in room `code`, creating the room if
    /// need be, and tells the others it came (those on other processes
    /// too, if its `backbone` reaches them). Refused when the student, the
    /// room or the server holds all the connections it may.
    pub(crate) fn join(
        self: &Arc<Self>,
        code: String,
        student: &StudentId,
        name: String,
        backbone: Backbone,
        outbox: Arc<Outbox>,
    ) -> Result<Seat, ApiError> {
        let carrier = Carrier::of(backbone);
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
            // Read under the room's lock, so that frames leave in the order
            // of the changes they report.
            let remote = self.remote_names(&room.code);
            let first_of_name = !members.has(&name) && !remote.contains(&name);
            members.members.push(Member {
                key,
                name: name.clone(),
                carrier,
                outbox,
            });
            // A second tab of someone already here changes nobody's list.
            if first_of_name {
                let frame = members.presence(&name, true, &remote, None);
                members.send_all(&frame, Some(key));
            }
            key
        };
        if let Some(carrier) = carrier {
            self.roster_due(&room.code, carrier);
        }
        *inner.per_student.entry(student.clone()).or_default() += 1;
        inner.connections += 1;
        Ok(Seat {
            rooms: self.clone(),
            room,
            key,
            student: student.clone(),
            name,
            carrier,
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

    /// Takes the roster another process sent over `carrier`: who is in
    /// room `code` there. Tells this process's members of that room who
    /// came and went, and answers a process new to the room with this
    /// one's roster.
    pub(crate) fn heard_roster(
        &self,
        code: &str,
        server: &str,
        carrier: Carrier,
        names: Vec<String>,
    ) {
        // A room's worth of names, each as long as a name may be: what is
        // kept stays bounded whoever sent it.
        let names = names
            .into_iter()
            .take(MAX_ROOM_MEMBERS)
            .map(|name| name.chars().take(MAX_NAME_CHARS).collect())
            .collect();
        let now_ms = self.clock.now_ms();
        let heard = self
            .remote()
            .heard(code, server, carrier, names, now_ms, MAX_ROOM_MEMBERS);
        self.announce(code, server, &heard.before, &heard.after);
        if heard.newcomer && !self.roster(code, carrier).is_empty() {
            self.roster_due(code, carrier);
        }
    }

    /// Forgets the rosters of processes that stopped repeating them (they
    /// died, or lost the backbone), and tells the rooms here who left.
    pub(crate) fn expire_rosters(&self) {
        let expired = self.remote().expire(self.clock.now_ms(), MAX_ROOM_MEMBERS);
        for gone in expired {
            self.announce(&gone.room, &gone.server, &gone.before, &gone.after);
        }
    }

    /// Who this process has in room `code` over `carrier`: the roster it
    /// sends the others.
    pub(crate) fn roster(&self, code: &str, carrier: Carrier) -> Vec<String> {
        let room = self.lock().rooms.get(code).cloned();
        room.map_or_else(Vec::new, |room| room.lock().names_over(carrier))
    }

    /// Every roster this process has that names someone.
    pub(crate) fn rosters(&self) -> Vec<(String, Carrier, Vec<String>)> {
        let rooms: Vec<Arc<Room>> = self.lock().rooms.values().cloned().collect();
        rooms
            .iter()
            .flat_map(|room| {
                let inner = room.lock();
                Carrier::ALL
                    .into_iter()
                    .map(|carrier| (room.code.clone(), carrier, inner.names_over(carrier)))
                    .filter(|(.., names)| !names.is_empty())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// From now on, rosters that change are kept until taken: a task
    /// sends them to the other processes.
    pub(crate) fn share_rosters(&self) {
        self.sharing.store(true, Ordering::Relaxed);
    }

    /// The rosters that changed since the last call.
    pub(crate) fn take_due_rosters(&self) -> Vec<(String, Carrier)> {
        let mut due = self.due_rosters.lock().unwrap_or_else(|e| e.into_inner());
        due.drain().collect()
    }

    /// Resolves once a roster has changed (at once if one did since the
    /// last time).
    pub(crate) async fn rosters_changed(&self) {
        self.rosters_due.notified().await;
    }

    fn roster_due(&self, code: &str, carrier: Carrier) {
        if !self.sharing.load(Ordering::Relaxed) {
            return;
        }
        self.due_rosters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((code.to_string(), carrier));
        self.rosters_due.notify_one();
    }

    fn remote(&self) -> MutexGuard<'_, RemoteRosters> {
        self.remote.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The names other processes have in room `code`. Locks order: the
    /// rooms, a room, then this, which is never held while taking another.
    fn remote_names(&self, code: &str) -> Vec<String> {
        self.remote().names(code, MAX_ROOM_MEMBERS)
    }

    /// Tells room `code`'s members here that the names other processes
    /// have there went from `before` to `after`, as `server` said; a name
    /// also connected here neither came nor went. The frames list the room
    /// as it is when they are sent.
    fn announce(&self, code: &str, server: &str, before: &[String], after: &[String]) {
        if before == after {
            return;
        }
        let Some(room) = self.lock().rooms.get(code).cloned() else {
            return;
        };
        let inner = room.lock();
        let remote = self.remote_names(code);
        let news = after
            .iter()
            .filter(|name| !before.contains(name))
            .map(|name| (name, true))
            .chain(
                before
                    .iter()
                    .filter(|name| !after.contains(name))
                    .map(|name| (name, false)),
            );
        for (name, joined) in news {
            if !inner.has(name) {
                let frame = inner.presence(name, joined, &remote, Some(server));
                inner.send_all(&frame, None);
            }
        }
    }

    /// Everyone in `room`, here and on other processes, by name, sorted,
    /// each once.
    fn members_of(&self, room: &Room) -> Vec<String> {
        let inner = room.lock();
        union(inner.names(), &self.remote_names(&room.code))
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
            let remote = self.remote_names(&seat.room.code);
            members.members.retain(|member| member.key != seat.key);
            if !members.has(&seat.name) && !remote.contains(&seat.name) {
                let frame = members.presence(&seat.name, false, &remote, None);
                members.send_all(&frame, None);
            }
            members.members.is_empty()
        };
        if let Some(carrier) = seat.carrier {
            self.roster_due(&seat.room.code, carrier);
        }
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

    /// The members here, by name, sorted, each once.
    fn names(&self) -> Vec<String> {
        self.names_where(|_| true)
    }

    /// The members who joined over `carrier`, by name, sorted, each once.
    fn names_over(&self, carrier: Carrier) -> Vec<String> {
        self.names_where(|member| member.carrier == Some(carrier))
    }

    fn names_where(&self, keep: impl Fn(&Member) -> bool) -> Vec<String> {
        let names: BTreeSet<&String> = self
            .members
            .iter()
            .filter(|m| keep(m))
            .map(|m| &m.name)
            .collect();
        names.into_iter().cloned().collect()
    }

    /// The frame saying that `name` joined or left (on `server`, when it
    /// is another process), with everyone now in the room: the members
    /// here and the `remote` names.
    fn presence(
        &self,
        name: &str,
        joined: bool,
        remote: &[String],
        server: Option<&str>,
    ) -> ChatFrame {
        ChatFrame::Presence {
            name: name.to_string(),
            joined,
            members: union(self.names(), remote),
            server: server.map(str::to_string),
        }
    }

    /// Puts one frame, written once, in every member's outbox.
    fn send_all(&self, frame: &ChatFrame, except: Option<u64>) {
        let json: Arc<str> = serde_json::to_string(frame).unwrap_or_default().into();
        for member in self.members.iter().filter(|m| Some(m.key) != except) {
            member.outbox.push(json.clone());
        }
    }
}

/// Sorted names `here` and `there`, each once.
fn union(mut here: Vec<String>, there: &[String]) -> Vec<String> {
    here.extend_from_slice(there);
    here.sort();
    here.dedup();
    here
}

/// A connection's place in a room; it leaves (and the room hears so) when
/// dropped.
pub(crate) struct Seat {
    rooms: Arc<Rooms>,
    room: Arc<Room>,
    key: u64,
    student: StudentId,
    name: String,
    carrier: Option<Carrier>,
}

impl Seat {
    /// The room this seat is in.
    pub(crate) fn room(&self) -> &Room {
        &self.room
    }

    /// Everyone in the room, on this process and the others, by name.
    pub(crate) fn members(&self) -> Vec<String> {
        self.rooms.members_of(&self.room)
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
    use super::super::presence::ROSTER_LASTS_MS;
    use super::*;
    use crate::clock::ManualClock;

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

    /// Rooms on a server with a backbone: someone sends the rosters.
    fn rooms() -> Arc<Rooms> {
        let rooms = Arc::new(Rooms::new(
            watch::channel(false).1,
            Arc::new(ManualClock::new(0)),
        ));
        rooms.share_rosters();
        rooms
    }

    #[test]
    fn without_a_backbone_no_roster_waits_to_be_sent() {
        let rooms = Arc::new(Rooms::new(
            watch::channel(false).1,
            Arc::new(ManualClock::new(0)),
        ));
        let _ada = rooms
            .join(
                "r".into(),
                &StudentId::from_raw("a"),
                "Ada".into(),
                Backbone::Redis,
                Outbox::new(1, SlowClientPolicy::DropOldest),
            )
            .unwrap();
        assert!(rooms.take_due_rosters().is_empty(), "nobody would take it");
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
                Backbone::InProcess,
                ada_box.clone(),
            )
            .unwrap();
        let bob = rooms
            .join(
                "cs101".into(),
                &StudentId::from_raw("b"),
                "Bob".into(),
                Backbone::InProcess,
                bob_box.clone(),
            )
            .unwrap();
        assert!(text(ada_box.next()).contains(r#""name":"Bob","joined":true"#));
        assert_eq!(bob_box.next(), None, "a newcomer is not told it came");
        assert_eq!(ada.members(), ["Ada", "Bob"]);
        bob.room().say(ChatFrame::Message {
            id: 0,
            from: "Bob".into(),
            text: "hi".into(),
            sent_at_ms: 7,
            server: "server-0001".into(),
            backbone: Backbone::InProcess,
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
                Backbone::InProcess,
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
                    Backbone::InProcess,
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
    fn other_processes_rosters_count_in_the_room_and_fade_when_not_repeated() {
        let clock = Arc::new(ManualClock::new(0));
        let rooms = Arc::new(Rooms::new(watch::channel(false).1, clock.clone()));
        rooms.share_rosters();
        let watcher = Outbox::new(8, SlowClientPolicy::DropOldest);
        let ada = rooms
            .join(
                "r".into(),
                &StudentId::from_raw("a"),
                "Ada".into(),
                Backbone::JetStream,
                watcher.clone(),
            )
            .unwrap();
        assert_eq!(rooms.take_due_rosters(), [("r".into(), Carrier::Nats)]);
        assert_eq!(rooms.roster("r", Carrier::Nats), ["Ada"]);
        assert!(rooms.roster("r", Carrier::Redis).is_empty());

        // Bob is on another process; this one answers with its own roster,
        // since that process has not heard it yet.
        rooms.heard_roster("r", "two", Carrier::Nats, vec!["Bob".into()]);
        let frame = text(watcher.next());
        assert!(
            frame.contains(r#""name":"Bob","joined":true,"members":["Ada","Bob"],"server":"two""#),
            "{frame}"
        );
        assert_eq!(ada.members(), ["Ada", "Bob"]);
        assert_eq!(rooms.take_due_rosters(), [("r".into(), Carrier::Nats)]);
        // Hearing it again is no news, and asks for no answer.
        rooms.heard_roster("r", "two", Carrier::Nats, vec!["Bob".into()]);
        assert_eq!(watcher.next(), None);
        assert!(rooms.take_due_rosters().is_empty());

        // Ada on two as well (another tab) is not news here.
        rooms.heard_roster("r", "two", Carrier::Nats, vec!["Ada".into(), "Bob".into()]);
        assert_eq!(watcher.next(), None);

        // Two goes quiet: after the roster's lifetime, Bob has left.
        clock.advance_ms(ROSTER_LASTS_MS / 2);
        rooms.expire_rosters();
        assert_eq!(watcher.next(), None, "not yet");
        clock.advance_ms(ROSTER_LASTS_MS);
        rooms.expire_rosters();
        assert!(text(watcher.next()).contains(r#""name":"Bob","joined":false,"members":["Ada"]"#));
        assert_eq!(ada.members(), ["Ada"]);
    }

    #[test]
    fn a_roster_is_kept_to_a_rooms_worth_of_names_of_a_names_length() {
        let rooms = rooms();
        let crowd: Vec<String> = (0..MAX_ROOM_MEMBERS + 10)
            .map(|n| format!("{n}{}", "x".repeat(60)))
            .collect();
        rooms.heard_roster("r", "two", Carrier::Redis, crowd);
        let kept = rooms.remote_names("r");
        assert_eq!(kept.len(), MAX_ROOM_MEMBERS);
        assert!(kept
            .iter()
            .all(|name| name.chars().count() == MAX_NAME_CHARS));
    }

    #[test]
    fn an_in_process_member_is_in_no_roster() {
        let rooms = rooms();
        let _ada = rooms
            .join(
                "r".into(),
                &StudentId::from_raw("a"),
                "Ada".into(),
                Backbone::InProcess,
                Outbox::new(1, SlowClientPolicy::DropOldest),
            )
            .unwrap();
        assert!(rooms.take_due_rosters().is_empty());
        assert!(rooms.rosters().is_empty());
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
                Backbone::InProcess,
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
                Backbone::InProcess,
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
