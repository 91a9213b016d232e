//! The sandboxes' disk budget: all sandboxes together stay under a
//! configured size. Making a new one when the budget is spent first resets
//! others, longest idle first, where an account's sandbox counts as idle for
//! a quarter of its real idle time (a guest who left is gone for good; a
//! student with an account comes back). A sandbox in use is never touched.
//! The student whose sandbox was reset is told, once, on their next use.
//!
//! Files in the sandboxes' folder: `<student>.db` (and its `-wal`/`-shm`),
//! `<student>.account` (the student has an account), `<student>.note` (why
//! their sandbox was reset, until they are told).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How much longer an account's sandbox is kept than a guest's.
const ACCOUNT_WEIGHT: u32 = 4;

/// One sandbox on disk, as eviction sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct OnDisk {
    /// The student it belongs to.
    pub(super) student: String,
    /// Its files' total size.
    pub(super) bytes: u64,
    /// How long since it was last used.
    pub(super) idle: Duration,
    /// The student has an account.
    pub(super) account: bool,
}

impl OnDisk {
    /// Idle time as eviction weighs it.
    fn weighted_idle(&self) -> Duration {
        if self.account {
            self.idle / ACCOUNT_WEIGHT
        } else {
            self.idle
        }
    }
}

/// The sandboxes to reset so that `needed` more bytes fit in `budget`:
/// the most (weighted) idle first, never one of `keep`. Fewer than needed
/// when only kept ones are left.
pub(super) fn victims(
    mut sandboxes: Vec<OnDisk>,
    budget: u64,
    needed: u64,
    keep: &[String],
) -> Vec<OnDisk> {
    let mut used: u64 = sandboxes.iter().map(|s| s.bytes).sum();
    sandboxes.retain(|s| !keep.contains(&s.student));
    sandboxes.sort_by_key(|s| std::cmp::Reverse(s.weighted_idle()));
    let mut chosen = Vec::new();
    for sandbox in sandboxes {
        if used + needed <= budget {
            break;
        }
        used = used.saturating_sub(sandbox.bytes);
        chosen.push(sandbox);
    }
    chosen
}

/// The sandboxes in `dir`, with their sizes and idle times at `now`.
pub(super) fn survey(dir: &Path, now: SystemTime) -> Vec<OnDisk> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            let student = path.file_name()?.to_str()?.strip_suffix(".db")?.to_string();
            let metadata = entry.metadata().ok()?;
            let extra: u64 = ["-wal", "-shm"]
                .iter()
                .filter_map(|suffix| std::fs::metadata(with_suffix(&path, suffix)).ok())
                .map(|m| m.len())
                .sum();
            let idle = metadata
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .unwrap_or_default();
            Some(OnDisk {
                account: dir.join(format!("{student}.account")).exists(),
                bytes: metadata.len() + extra,
                idle,
                student,
            })
        })
        .collect()
}

/// Deletes a sandbox's database files (not its notes).
pub(super) fn delete(path: &Path) -> std::io::Result<()> {
    for suffix in ["-wal", "-shm", "-journal", ""] {
        match std::fs::remove_file(with_suffix(path, suffix)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `path` with `suffix` appended to its file name.
pub(super) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", path.display()))
}

/// What a student is told after their sandbox was reset to make room.
pub(super) fn reset_note(idle: Duration) -> String {
    let days = idle.as_secs() / 86_400;
    let hours = idle.as_secs() / 3_600;
    let idle = match (days, hours) {
        (0, 0) => "a little while".to_string(),
        (0, 1) => "an hour".to_string(),
        (0, h) => format!("{h} hours"),
        (1, _) => "a day".to_string(),
        (d, _) => format!("{d} days"),
    };
    format!(
        "Your SQL sandbox was reset to a fresh copy of the shop: the server needed its disk space for other students, and yours had not been used for {idle}. Tables, rows and indexes you made are gone; run your statements again to bring them back."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox(student: &str, mib: u64, idle_hours: u64, account: bool) -> OnDisk {
        OnDisk {
            student: student.into(),
            bytes: mib << 20,
            idle: Duration::from_secs(idle_hours * 3600),
            account,
        }
    }

    #[test]
    fn the_longest_idle_guests_go_first_and_accounts_last() {
        let all = vec![
            sandbox("busy-guest", 10, 0, false),
            sandbox("idle-guest", 10, 10, false),
            sandbox("idle-account", 10, 20, true), // weighs as 5 hours
            sandbox("older-guest", 10, 30, false),
        ];
        let names = |v: Vec<OnDisk>| v.into_iter().map(|s| s.student).collect::<Vec<_>>();
        // 40 MiB used, budget 40: room for 10 more means two must go.
        assert_eq!(
            names(victims(all.clone(), 40 << 20, 20 << 20, &[])),
            vec!["older-guest", "idle-guest"]
        );
        assert_eq!(
            names(victims(all.clone(), 100 << 20, 10 << 20, &[])),
            Vec::<String>::new()
        );
        // A sandbox in use is kept, whatever its age.
        assert_eq!(
            names(victims(
                all.clone(),
                40 << 20,
                10 << 20,
                &["older-guest".into()]
            )),
            vec!["idle-guest"]
        );
        // Everything else held: nothing can go.
        let keep: Vec<String> = all.iter().map(|s| s.student.clone()).collect();
        assert!(victims(all, 0, 1, &keep).is_empty());
    }

    #[test]
    fn the_note_says_why_and_how_long() {
        assert!(reset_note(Duration::from_secs(3 * 86_400)).contains("3 days"));
        assert!(reset_note(Duration::from_secs(7_200)).contains("2 hours"));
    }
}
