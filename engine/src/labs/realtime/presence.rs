//! Who is in each chat room on the other server processes.
//!
//! Presence is state, not history. Each process tells the others who is
//! connected to it in each room (its *roster*) when that changes and again
//! every [`ROSTER_EVERY`]; a roster not repeated within [`ROSTER_LASTS_MS`]
//! is forgotten, so the members of a process that died leave everyone's
//! list within that time. Rosters travel on pub/sub only (Redis, or NATS
//! core for both NATS backbones): a log would replay who *was* there.
//!
//! A member's name goes out on the backbone their settings chose when they
//! joined, as their messages do; an in-process member is seen only on
//! their own process.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use model::labs::realtime::Backbone;

/// How often a process repeats its rosters.
pub(crate) const ROSTER_EVERY: Duration = Duration::from_secs(10);
/// How long a roster counts without being repeated: three missed repeats.
pub(crate) const ROSTER_LASTS_MS: i64 = 30_000;
/// Rosters kept from other processes, all rooms together, and for one
/// room: a bound on what a crowd of processes (or a stranger on the shared
/// Redis) can make this one hold. With the caller's bound on each
/// roster's names, that is at most about 20 MB.
const MAX_REMOTE_ROSTERS: usize = 1024;
const MAX_ORIGINS_PER_ROOM: usize = 16;

/// The pub/sub service that carries a member's presence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Carrier {
    Redis,
    Nats,
}

impl Carrier {
    /// Every carrier.
    pub(crate) const ALL: [Carrier; 2] = [Carrier::Redis, Carrier::Nats];

    /// The carrier of a member who joined with `backbone`; `None` for
    /// in-process, which carries nothing.
    pub(crate) fn of(backbone: Backbone) -> Option<Carrier> {
        match backbone {
            Backbone::InProcess => None,
            Backbone::Redis => Some(Carrier::Redis),
            Backbone::Nats | Backbone::JetStream => Some(Carrier::Nats),
        }
    }
}

/// The rosters heard from other processes, by room.
#[derive(Default)]
pub(crate) struct RemoteRosters {
    rooms: HashMap<String, HashMap<Origin, Roster>>,
    count: usize,
}

/// Where a roster came from: a process, over one carrier.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Origin {
    server: String,
    carrier: Carrier,
}

struct Roster {
    names: Vec<String>,
    heard_at_ms: i64,
}

/// What hearing a roster changed.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Heard {
    /// The room's names from other processes before it, sorted.
    pub(crate) before: Vec<String>,
    /// And after it.
    pub(crate) after: Vec<String>,
    /// The sender had nobody in the room over this carrier before: it is
    /// new there and has not heard this process's roster yet.
    pub(crate) newcomer: bool,
}

impl RemoteRosters {
    /// The names other processes have in `room`, sorted, each once; at
    /// most `limit` of them.
    pub(crate) fn names(&self, room: &str, limit: usize) -> Vec<String> {
        self.rooms.get(room).map_or_else(Vec::new, |rosters| {
            let names: BTreeSet<&String> = rosters.values().flat_map(|r| &r.names).collect();
            names.into_iter().take(limit).cloned().collect()
        })
    }

    /// Takes the roster `server` sent over `carrier` for `room` (its names
    /// already bounded by the caller, who also gives the `limit` of names
    /// reported); an empty one says it has nobody there any more. A new
    /// roster is not kept while this process holds all it may.
    pub(crate) fn heard(
        &mut self,
        room: &str,
        server: &str,
        carrier: Carrier,
        names: Vec<String>,
        now_ms: i64,
        limit: usize,
    ) -> Heard {
        let before = self.names(room, limit);
        let origin = Origin {
            server: server.to_string(),
            carrier,
        };
        let known = self
            .rooms
            .get(room)
            .and_then(|rosters| rosters.get(&origin))
            .is_some();
        let room_full = self
            .rooms
            .get(room)
            .is_some_and(|rosters| rosters.len() >= MAX_ORIGINS_PER_ROOM);
        let kept = !names.is_empty() && (known || (self.count < MAX_REMOTE_ROSTERS && !room_full));
        if names.is_empty() {
            self.forget(room, &origin);
        } else if kept {
            if !known {
                self.count += 1;
            }
            self.rooms.entry(room.to_string()).or_default().insert(
                origin,
                Roster {
                    names,
                    heard_at_ms: now_ms,
                },
            );
        }
        Heard {
            before,
            after: self.names(room, limit),
            // Only a roster kept is news: answering one that was not would
            // have two full processes answer each other for ever.
            newcomer: kept && !known,
        }
    }

    /// Forgets the rosters not repeated in time; returns, for each room
    /// that changed, its remote names before and after and the processes
    /// that went quiet.
    pub(crate) fn expire(&mut self, now_ms: i64, limit: usize) -> Vec<Expired> {
        let stale: Vec<(String, Origin)> = self
            .rooms
            .iter()
            .flat_map(|(room, rosters)| {
                rosters
                    .iter()
                    .filter(|(_, roster)| now_ms - roster.heard_at_ms > ROSTER_LASTS_MS)
                    .map(|(origin, _)| (room.clone(), origin.clone()))
            })
            .collect();
        let mut expired: Vec<Expired> = Vec::new();
        for (room, origin) in stale {
            let before = self.names(&room, limit);
            self.forget(&room, &origin);
            expired.push(Expired {
                after: self.names(&room, limit),
                before,
                room,
                server: origin.server,
            });
        }
        expired
    }

    fn forget(&mut self, room: &str, origin: &Origin) {
        if let Some(rosters) = self.rooms.get_mut(room) {
            if rosters.remove(origin).is_some() {
                self.count -= 1;
            }
            if rosters.is_empty() {
                self.rooms.remove(room);
            }
        }
    }
}

/// A process that went quiet in a room.
#[derive(Debug, PartialEq)]
pub(crate) struct Expired {
    pub(crate) room: String,
    pub(crate) server: String,
    pub(crate) before: Vec<String>,
    pub(crate) after: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 500;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn rosters_from_several_processes_make_one_sorted_list() {
        let mut rosters = RemoteRosters::default();
        let first = rosters.heard("r", "one", Carrier::Redis, names(&["Bob"]), 0, LIMIT);
        assert_eq!(
            first,
            Heard {
                before: vec![],
                after: names(&["Bob"]),
                newcomer: true
            }
        );
        rosters.heard("r", "two", Carrier::Nats, names(&["Ada", "Bob"]), 0, LIMIT);
        assert_eq!(rosters.names("r", LIMIT), ["Ada", "Bob"]);
        assert!(rosters.names("elsewhere", LIMIT).is_empty());
        let again = rosters.heard("r", "one", Carrier::Redis, names(&["Bob", "Cy"]), 1, LIMIT);
        assert!(!again.newcomer, "a process heard before is not new");
        assert_eq!(again.after, ["Ada", "Bob", "Cy"]);
    }

    #[test]
    fn an_empty_roster_takes_a_process_out_of_the_room() {
        let mut rosters = RemoteRosters::default();
        rosters.heard("r", "one", Carrier::Redis, names(&["Bob"]), 0, LIMIT);
        let gone = rosters.heard("r", "one", Carrier::Redis, vec![], 1, LIMIT);
        assert_eq!((gone.before, gone.after), (names(&["Bob"]), vec![]));
        assert_eq!(rosters.count, 0);
        assert!(
            rosters.rooms.is_empty(),
            "nothing is kept for an empty room"
        );
    }

    #[test]
    fn a_roster_not_repeated_in_time_is_forgotten() {
        let mut rosters = RemoteRosters::default();
        rosters.heard("r", "dead", Carrier::Redis, names(&["Bob"]), 0, LIMIT);
        rosters.heard("r", "alive", Carrier::Nats, names(&["Ada"]), 0, LIMIT);
        assert!(rosters.expire(ROSTER_LASTS_MS, LIMIT).is_empty(), "not yet");
        rosters.heard("r", "alive", Carrier::Nats, names(&["Ada"]), 20_000, LIMIT);
        let expired = rosters.expire(ROSTER_LASTS_MS + 1, LIMIT);
        assert_eq!(
            expired,
            [Expired {
                room: "r".into(),
                server: "dead".into(),
                before: names(&["Ada", "Bob"]),
                after: names(&["Ada"]),
            }]
        );
    }

    #[test]
    fn what_other_processes_can_make_this_one_keep_is_bounded() {
        let mut rosters = RemoteRosters::default();
        for n in 0..MAX_REMOTE_ROSTERS {
            rosters.heard(
                &format!("r{n}"),
                "one",
                Carrier::Redis,
                names(&["A"]),
                0,
                LIMIT,
            );
        }
        let refused = rosters.heard(
            "one-too-many",
            "one",
            Carrier::Redis,
            names(&["A"]),
            0,
            LIMIT,
        );
        assert!(rosters.names("one-too-many", LIMIT).is_empty());
        assert!(!refused.newcomer, "a roster not kept is not answered");
        rosters.heard("r0", "one", Carrier::Redis, names(&["B"]), 0, LIMIT);
        assert_eq!(
            rosters.names("r0", LIMIT),
            ["B"],
            "a known roster still changes"
        );
    }

    #[test]
    fn one_room_holds_a_bounded_number_of_processes_and_names() {
        let mut rosters = RemoteRosters::default();
        for n in 0..MAX_ORIGINS_PER_ROOM + 1 {
            let crowd = (0..100).map(|m| format!("{n}-{m}")).collect();
            rosters.heard("r", &format!("s{n}"), Carrier::Redis, crowd, 0, LIMIT);
        }
        assert_eq!(rosters.rooms["r"].len(), MAX_ORIGINS_PER_ROOM);
        assert_eq!(rosters.names("r", LIMIT).len(), LIMIT);
    }
}
