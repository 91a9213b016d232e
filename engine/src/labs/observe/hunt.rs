//! The fault hunt: while a student's hunt is on, one incident chosen for
//! them is on, hidden. They answer with the component, the mechanism and
//! the id of one of their traces that shows it; the trace must be theirs,
//! recorded during that hunt, and hold the faulty step.
//!
//! The incident comes from the student's id, the hunt's number and a key
//! the server keeps in its data folder, so it survives restarts, differs
//! between students and hunts, and cannot be worked out from the source.

use model::labs::observe::Incident;
use model::TraceView;

use crate::seeded::SplitMix64;
use crate::students::StudentId;

use super::shop::POOL_SIZE;

/// The deployment's secret for choosing hidden incidents (kept in the
/// platform database, so a restart or another server keeps each hunt's).
pub(super) struct HuntKey(pub(super) [u8; 32]);

impl HuntKey {
    #[cfg(test)]
    pub(super) fn fixed(byte: u8) -> Self {
        Self([byte; 32])
    }

    /// The incident hidden in `student`'s hunt number `round`.
    pub(super) fn incident(&self, student: &StudentId, round: u32) -> Incident {
        // FNV-1a over the key, the student and the round, then splitmix64.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let round = round.to_le_bytes();
        let bytes = self
            .0
            .iter()
            .chain(student.as_str().as_bytes())
            .chain(&round);
        for byte in bytes {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
        let pick = SplitMix64::new(hash).below(Incident::ALL.len() as u64);
        Incident::ALL[pick as usize]
    }
}

/// Why `trace` does not show `incident` during hunt `round`, if it does not.
pub(super) fn missing_evidence(
    trace: &TraceView,
    incident: Incident,
    round: u32,
) -> Option<String> {
    let round_text = round.to_string();
    let in_round = trace.events.iter().any(|event| {
        event.kind == "replica.call" && field(event, "hunt_round") == Some(round_text.as_str())
    });
    if !in_round {
        return Some(format!(
            "trace {} was not recorded during hunt {round}: send requests to the shop while the hunt is on",
            trace.trace_id
        ));
    }
    let shows = trace.events.iter().any(|event| {
        let slow = event.duration_us.unwrap_or(0) >= 100_000;
        match incident {
            Incident::SlowCache => event.kind.starts_with("cache.") && slow,
            Incident::CacheNeverHits => {
                event.kind == "cache.get"
                    && field(event, "hit") == Some("false")
                    && field(event, "key").is_some_and(|key| key.matches(':').count() >= 2)
            }
            Incident::NPlusOne => trace.events.iter().filter(|e| e.kind == "db.query").count() > 2,
            Incident::PoolLeak => {
                event.kind == "pool.acquire"
                    && field(event, "free_when_asked")
                        .and_then(|free| free.parse::<usize>().ok())
                        .is_some_and(|free| free + 3 <= POOL_SIZE)
            }
            Incident::ErroringReplica => {
                event.kind == "replica.call" && field(event, "status") == Some("500")
            }
        }
    });
    (!shows).then(|| {
        format!(
            "trace {} holds no step that shows that fault: pick a trace whose steps show it",
            trace.trace_id
        )
    })
}

fn field<'a>(event: &'a model::TraceEventView, name: &str) -> Option<&'a str> {
    event
        .fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, value)| value.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_incident_is_hidden_for_someone_and_a_hunt_repeats_its_incident() {
        let key = HuntKey::fixed(7);
        let student = StudentId::new_random();
        assert_eq!(key.incident(&student, 1), key.incident(&student, 1));
        let mut seen: Vec<Incident> = (0..200)
            .map(|round| key.incident(&student, round))
            .collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen, Incident::ALL.to_vec());
        let other_key = HuntKey::fixed(8);
        let differs = (0..20)
            .any(|round| key.incident(&student, round) != other_key.incident(&student, round));
        assert!(differs, "the key matters");
    }
}
