//! A cache replayed on a virtual clock: reads, writes and the passing of
//! time, under a student's settings, with no backend and no waiting. The
//! grader uses it to judge settings against a traffic pattern; it follows
//! the same rules as the live lab (see [`super::service`]).

use std::collections::HashMap;

use serde::Serialize;

use super::{CacheSettings, Strategy};

/// One step of a traffic pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// Read a key.
    Read(u32),
    /// Change a key at the origin.
    Write(u32),
    /// Let seconds pass.
    Advance(i64),
}

/// What a replay saw.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub(crate) struct Replay {
    /// Reads made.
    pub reads: u64,
    /// Reads served from the cache.
    pub hits: u64,
    /// Requests that reached the origin.
    pub origin_reads: u64,
    /// Reads that returned an older version than the origin held.
    pub stale_reads: u64,
    /// The oldest copy served, in seconds since the origin produced it.
    pub oldest_served_secs: i64,
}

impl Replay {
    /// Hits over reads (0 when nothing was read).
    pub(crate) fn hit_ratio(&self) -> f64 {
        if self.reads == 0 {
            0.0
        } else {
            self.hits as f64 / self.reads as f64
        }
    }
}

struct Cached {
    version: u64,
    stored_at: i64,
    /// Position of the last read or write that touched it, for LRU.
    used: usize,
}

/// Replays `ops` under `settings` from time 0.
pub(crate) fn replay(settings: &CacheSettings, ops: &[Op]) -> Replay {
    let mut now = 0;
    let mut origin: HashMap<u32, u64> = HashMap::new();
    let mut cache: HashMap<u32, Cached> = HashMap::new();
    let mut seen = Replay::default();
    let ttl = i64::from(settings.ttl_secs);
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Advance(seconds) => now += seconds,
            Op::Read(key) => {
                seen.reads += 1;
                let current = *origin.get(&key).unwrap_or(&0);
                let fresh = settings.strategy != Strategy::None
                    && cache.get(&key).is_some_and(|c| now - c.stored_at < ttl);
                if fresh {
                    let cached = cache.get_mut(&key).expect("checked above");
                    cached.used = step;
                    seen.hits += 1;
                    seen.oldest_served_secs = seen.oldest_served_secs.max(now - cached.stored_at);
                    if cached.version < current {
                        seen.stale_reads += 1;
                    }
                } else {
                    seen.origin_reads += 1;
                    if settings.strategy != Strategy::None {
                        store(
                            &mut cache,
                            settings.capacity as usize,
                            (key, current),
                            now,
                            step,
                        );
                    }
                }
            }
            Op::Write(key) => {
                let version = origin.entry(key).or_insert(0);
                *version += 1;
                let version = *version;
                match settings.strategy {
                    Strategy::WriteThrough => store(
                        &mut cache,
                        settings.capacity as usize,
                        (key, version),
                        now,
                        step,
                    ),
                    Strategy::CacheAside if settings.invalidate_on_write => {
                        cache.remove(&key);
                    }
                    _ => {}
                }
            }
        }
    }
    seen
}

/// Stores a copy, evicting the least recently used entry when full.
fn store(
    cache: &mut HashMap<u32, Cached>,
    capacity: usize,
    (key, version): (u32, u64),
    now: i64,
    step: usize,
) {
    if !cache.contains_key(&key) && cache.len() >= capacity.max(1) {
        if let Some(oldest) = cache.iter().min_by_key(|(_, c)| c.used).map(|(k, _)| *k) {
            cache.remove(&oldest);
        }
    }
    let copy = Cached {
        version,
        stored_at: now,
        used: step,
    };
    cache.insert(key, copy);
}

/// Origin requests when `n` requests for one cold key arrive together.
pub(crate) fn stampede(settings: &CacheSettings, n: u64) -> u64 {
    if settings.coalescing && settings.strategy != Strategy::None {
        1
    } else {
        n
    }
}

/// The traffic patterns exercises name.
pub(crate) fn pattern(name: &str) -> Option<Vec<Op>> {
    match name {
        // One product read every 5 s for 10 minutes; its price changes three times.
        "catalog-with-price-changes" => {
            let mut ops = Vec::new();
            for step in 0..120 {
                let t = step * 5;
                if [60, 200, 400].contains(&t) {
                    ops.push(Op::Write(1));
                }
                ops.push(Op::Read(1));
                ops.push(Op::Advance(5));
            }
            Some(ops)
        }
        // One key read every 10 s for 30 minutes.
        "steady-every-10s" => Some(
            (0..180)
                .flat_map(|_| [Op::Read(1), Op::Advance(10)])
                .collect(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(change: impl FnOnce(&mut CacheSettings)) -> CacheSettings {
        let mut s = CacheSettings::default();
        change(&mut s);
        s
    }

    #[test]
    fn without_invalidation_reads_after_a_write_are_stale_until_the_ttl() {
        let ops = pattern("catalog-with-price-changes").unwrap();
        let loose = replay(&settings(|_| {}), &ops);
        assert!(loose.stale_reads > 0, "{loose:?}");
        let invalidating = replay(&settings(|s| s.invalidate_on_write = true), &ops);
        assert_eq!(invalidating.stale_reads, 0);
        assert!(invalidating.hit_ratio() > 0.8, "{invalidating:?}");
        let write_through = replay(&settings(|s| s.strategy = Strategy::WriteThrough), &ops);
        assert_eq!(write_through.stale_reads, 0);
        let none = replay(&settings(|s| s.strategy = Strategy::None), &ops);
        assert_eq!((none.stale_reads, none.hits), (0, 0));
    }

    #[test]
    fn the_hit_ratio_of_a_steady_reader_follows_the_ttl() {
        let ops = pattern("steady-every-10s").unwrap();
        let ratio = |ttl| replay(&settings(|s| s.ttl_secs = ttl), &ops).hit_ratio();
        assert!((ratio(50) - 0.8).abs() < 1e-9);
        assert!(ratio(40) < 0.8);
        assert!(ratio(60) > 0.83 && ratio(60) < 0.84);
        assert_eq!(
            replay(&settings(|s| s.ttl_secs = 60), &ops).oldest_served_secs,
            50
        );
    }

    /// The table of `lessons/04-caching/03-ttl-and-invalidation.md`: a read
    /// every 10 s; per TTL, the reads in one cycle (one miss, the rest hits)
    /// and the oldest copy served, which is 10 s short of the TTL because
    /// copies are stored at a read.
    #[test]
    fn the_ttl_lessons_table_is_what_the_replay_sees() {
        for (ttl, cycle, oldest) in [
            (10, 1, 0),
            (30, 3, 20),
            (60, 6, 50),
            (300, 30, 290),
            (3600, 360, 3590),
        ] {
            let ops: Vec<Op> = (0..2 * cycle)
                .flat_map(|_| [Op::Read(1), Op::Advance(10)])
                .collect();
            let seen = replay(&settings(|s| s.ttl_secs = ttl), &ops);
            assert_eq!(
                (seen.hits, seen.origin_reads, seen.oldest_served_secs),
                (2 * (cycle - 1), 2, oldest),
                "a TTL of {ttl} s"
            );
        }
    }

    #[test]
    fn a_full_cache_evicts_the_least_recently_used_key() {
        let ops = [
            Op::Read(1),
            Op::Read(2),
            Op::Read(1),
            Op::Read(3),
            Op::Read(1),
            Op::Read(2),
        ];
        let seen = replay(&settings(|s| s.capacity = 2), &ops);
        // 1, 2 miss; 1 hits; 3 evicts 2; 1 hits; 2 misses again.
        assert_eq!((seen.hits, seen.origin_reads), (2, 4));
    }

    #[test]
    fn coalescing_turns_a_stampede_into_one_origin_request() {
        assert_eq!(stampede(&settings(|_| {}), 50), 50);
        assert_eq!(stampede(&settings(|s| s.coalescing = true), 50), 1);
    }
}
