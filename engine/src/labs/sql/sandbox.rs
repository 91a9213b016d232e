//! Per-student sandboxes: each student's own copy of the shop, a file of
//! its own under the data folder, created from the course template on first
//! use and deleted on reset.
//!
//! Jobs pass a [`FairGate`]: the whole server runs at most
//! [`CONCURRENT_RUNS`] sandbox jobs at once, on blocking threads, so a
//! runaway query costs one thread for at most its time limit and never
//! stalls the async workers; a student runs one job at a time, in a line of
//! their own, within a time budget, so nobody can hold every slot.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::dataset::{self, Variant};
use super::disk;
use super::engine::{Access, Db, Limits, SqlError, PAGE_SIZE};
use crate::clock::Clock;
use crate::fair_gate::{FairGate, GateLimits, Pass};
use crate::students::StudentId;

/// How long one statement may run.
pub const STATEMENT_TIME: Duration = Duration::from_secs(2);
/// Rows sent back for one statement.
pub const MAX_ROWS: usize = 1000;
/// How big a sandbox may grow by default (64 MiB; `--sandbox-max-mib`).
pub const MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Sandbox jobs running at once across the server.
pub const CONCURRENT_RUNS: usize = 4;
/// A sandbox untouched this long is deleted (a guest's session has long
/// expired by then; a student who returns gets a fresh copy).
pub const IDLE_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
/// New sandboxes the server makes in a burst (then four a second).
const NEW_SANDBOXES_BURST: u32 = 1_000;
/// How often a job checks that all sandboxes together fit the disk budget.
const DISK_CHECK_EVERY: Duration = Duration::from_secs(5);
/// How often creating a sandbox also sweeps idle ones away.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// The limits of a student's run in their sandbox.
pub const RUN_LIMITS: Limits = Limits {
    time: STATEMENT_TIME,
    max_rows: MAX_ROWS,
};

/// Why a sandbox job did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The SQL failed; the student's business.
    #[error(transparent)]
    Sql(#[from] SqlError),
    /// The dataset or the file could not be prepared; the server's business.
    #[error("the sandbox could not be prepared: {0}")]
    Setup(String),
    /// Too many new sandboxes lately (each is a file on disk), or the
    /// student is over their share of the sandboxes' time.
    #[error(transparent)]
    TooMany(crate::error::ApiError),
}

/// A student's turn at their sandbox (see [`Sandboxes::hold`]).
pub struct Held {
    /// The sandbox file.
    pub path: PathBuf,
    _mine: tokio::sync::OwnedMutexGuard<()>,
    _pass: Pass,
}

/// A burst of small statements on one student's sandbox (the cache lab's
/// stampede: n origin reads at once). The student's turn is taken at the
/// first statement, not before, and kept with one connection until the
/// burst is dropped: the statements neither wait for a turn each nor open
/// the file again, and the turn is not held while nothing runs yet.
pub struct Burst {
    sandboxes: Arc<Sandboxes>,
    student: StudentId,
    held: tokio::sync::OnceCell<(Arc<Mutex<Db>>, Held)>,
}

impl Burst {
    /// Runs `work` on the burst's connection, after any work already on it.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Db) -> Result<T, SqlError> + Send + 'static,
    ) -> Result<T, SandboxError> {
        let (db, _) = self
            .held
            .get_or_try_init(|| self.sandboxes.hold_connection(&self.student))
            .await?;
        let db = db.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            work(&mut db.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
        })
        .await
        .map_err(|e| SandboxError::Setup(format!("the sandbox job failed: {e}")))?;
        Ok(outcome?)
    }
}

/// Every student's sandbox.
pub struct Sandboxes {
    dir: PathBuf,
    /// Held while a sandbox is used, reset or moved.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    gate: FairGate,
    last_sweep: Mutex<Option<std::time::Instant>>,
    /// All sandboxes together stay under this many bytes ([`disk`]).
    disk_budget: u64,
    /// One sandbox stays under this many bytes: the student's statements fail past it.
    max_bytes: u64,
    /// Why a student's sandbox was reset, until they are told.
    notices: Mutex<HashMap<String, String>>,
    /// When the whole disk budget was last checked, on the server's clock.
    last_disk_check: Mutex<Option<i64>>,
    clock: Arc<dyn Clock>,
    /// Tables other labs keep in every shop, made with each new sandbox.
    shop_tables: String,
    /// New sandboxes across the server: generous enough for a class of a
    /// thousand starting at once, so that a crowd of new guests from many
    /// addresses cannot churn through everyone's idle sandboxes in minutes.
    creations: crate::limiter::KeyedLimiter<()>,
}

impl Sandboxes {
    /// Sandboxes kept in `dir`, each at most `max_bytes` and all together
    /// at most `disk_budget`, shared within `limits` (with
    /// [`CONCURRENT_RUNS`] slots); time budgets drain on `clock`. Each new
    /// one is the course's shop plus `shop_tables` (other labs' tables).
    pub fn new(
        dir: PathBuf,
        limits: GateLimits,
        clock: Arc<dyn Clock>,
        disk_budget: u64,
        max_bytes: u64,
        shop_tables: String,
    ) -> Self {
        let limits = GateLimits {
            slots: CONCURRENT_RUNS,
            ..limits
        };
        Self {
            dir,
            locks: Mutex::new(HashMap::new()),
            gate: FairGate::new(limits, clock.clone(), "SQL sandbox jobs"),
            last_sweep: Mutex::new(None),
            disk_budget,
            max_bytes,
            notices: Mutex::new(HashMap::new()),
            last_disk_check: Mutex::new(None),
            clock: clock.clone(),
            shop_tables,
            creations: crate::limiter::KeyedLimiter::new(
                std::num::NonZeroU32::new(NEW_SANDBOXES_BURST).expect("nonzero"),
                Duration::from_millis(250),
                "new SQL sandboxes on this server",
            ),
        }
    }

    /// Sandboxes known to this process, and the jobs at the gate.
    pub(crate) fn gauges(&self, gauges: &mut crate::labs::LabGauges<'_>) {
        let known = self.locks.lock().expect("never poisoned").len();
        gauges.gauge(
            "sandboxes",
            "Students' SQL sandboxes this process has opened.",
            known,
        );
        let load = self.gate.load();
        gauges.gauge(
            "jobs",
            "SQL sandbox jobs running or waiting for a thread.",
            load.jobs,
        );
        gauges.gauge(
            "students_waiting",
            "Students whose SQL job waits for a thread.",
            load.waiting,
        );
    }

    /// Why `student`'s sandbox was reset since they last used it, once.
    pub fn take_notice(&self, student: &StudentId) -> Option<String> {
        self.notices
            .lock()
            .expect("never poisoned")
            .remove(student.as_str())
    }

    /// Notes that `student` has an account: their sandbox is kept longer
    /// when the disk budget runs short.
    pub async fn mark_account(&self, student: &StudentId) {
        let marker = self
            .dir
            .join(format!("{}.account", self.file_stem(student)));
        if tokio::fs::try_exists(&marker).await.unwrap_or(true) {
            return;
        }
        if tokio::fs::create_dir_all(&self.dir).await.is_ok() {
            let _ = tokio::fs::write(&marker, b"").await;
        }
    }

    /// The file of `student`'s sandbox (which may not exist yet).
    pub fn path(&self, student: &StudentId) -> PathBuf {
        self.dir.join(format!("{}.db", self.file_stem(student)))
    }

    /// A student id as a file name.
    fn file_stem(&self, student: &StudentId) -> String {
        student
            .as_str()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    }

    /// Runs `work` on a guarded connection to `student`'s sandbox.
    pub async fn run<T: Send + 'static>(
        &self,
        student: &StudentId,
        work: impl FnOnce(&mut Db) -> Result<T, SqlError> + Send + 'static,
    ) -> Result<T, SandboxError> {
        let max_pages = self.max_bytes / PAGE_SIZE;
        self.with_file(student, move |path| {
            let mut db = Db::open(path, Access::ReadWrite, max_pages)?;
            work(&mut db)
        })
        .await
    }

    /// A burst of statements on `student`'s sandbox (see [`Burst`]).
    pub fn burst(self: &Arc<Self>, student: &StudentId) -> Burst {
        Burst {
            sandboxes: self.clone(),
            student: student.clone(),
            held: tokio::sync::OnceCell::new(),
        }
    }

    /// Takes `student`'s turn and opens one connection to their sandbox.
    async fn hold_connection(
        &self,
        student: &StudentId,
    ) -> Result<(Arc<Mutex<Db>>, Held), SandboxError> {
        let held = self.hold(student).await?;
        let (path, max_pages) = (held.path.clone(), self.max_bytes / PAGE_SIZE);
        let db = tokio::task::spawn_blocking(move || Db::open(&path, Access::ReadWrite, max_pages))
            .await
            .map_err(|e| SandboxError::Setup(format!("the sandbox job failed: {e}")))??;
        Ok((Arc::new(Mutex::new(db)), held))
    }

    /// Runs `work` with the path of `student`'s sandbox, for jobs that open
    /// several connections (see [`open`]).
    pub async fn with_file<T: Send + 'static>(
        &self,
        student: &StudentId,
        work: impl FnOnce(&Path) -> Result<T, SqlError> + Send + 'static,
    ) -> Result<T, SandboxError> {
        let held = self.hold(student).await?;
        let path = held.path.clone();
        let outcome = tokio::task::spawn_blocking(move || work(&path))
            .await
            .map_err(|e| SandboxError::Setup(format!("the sandbox job failed: {e}")))?;
        drop(held);
        Ok(outcome?)
    }

    /// Takes `student`'s turn (their lock and a place in the server-wide
    /// gate) and makes sure their sandbox exists, for code that reads it
    /// through a connection of its own; the turn ends when [`Held`] drops.
    pub async fn hold(&self, student: &StudentId) -> Result<Held, SandboxError> {
        let pass = self
            .gate
            .enter(student.as_str())
            .await
            .map_err(SandboxError::TooMany)?;
        let mine = self.lock_of(student).lock_owned().await;
        let path = self.path(student);
        if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
            self.creations.check(&()).map_err(SandboxError::TooMany)?;
            self.create(student, &path).await?;
        } else {
            self.keep_within_budget_now_and_then(student).await;
        }
        touch(&path);
        Ok(Held {
            path,
            _mine: mine,
            _pass: pass,
        })
    }

    /// Moves a guest's sandbox to the account they signed in to, unless the
    /// account already has one (then the account's work wins and the
    /// guest's copy is deleted).
    pub async fn adopt(&self, guest: &StudentId, account: &StudentId) -> Result<(), SandboxError> {
        let (from, into) = (self.path(guest), self.path(account));
        if from == into || !tokio::fs::try_exists(&from).await.unwrap_or(false) {
            return Ok(());
        }
        let (guest_lock, account_lock) = (self.lock_of(guest), self.lock_of(account));
        let _guest = guest_lock.lock().await;
        let _account = account_lock.lock().await;
        if tokio::fs::try_exists(&into).await.unwrap_or(false) {
            drop((_guest, _account));
            return self.reset(guest).await;
        }
        for suffix in ["-wal", "-shm", ""] {
            let source = PathBuf::from(format!("{}{suffix}", from.display()));
            let target = PathBuf::from(format!("{}{suffix}", into.display()));
            if tokio::fs::try_exists(&source).await.unwrap_or(false) {
                tokio::fs::rename(&source, &target)
                    .await
                    .map_err(|e| SandboxError::Setup(e.to_string()))?;
            }
        }
        Ok(())
    }

    /// Deletes `student`'s sandbox; the next use starts from a fresh copy.
    pub async fn reset(&self, student: &StudentId) -> Result<(), SandboxError> {
        let lock = self.lock_of(student);
        let _mine = lock.lock().await;
        let path = self.path(student);
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            match tokio::fs::remove_file(&file).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(SandboxError::Setup(e.to_string())),
            }
        }
        Ok(())
    }

    /// Copies the course template to `path` (through a temporary name, so
    /// a crash never leaves half a sandbox), making room in the disk budget
    /// first. A note of an earlier reset becomes a notice for the student.
    async fn create(&self, student: &StudentId, path: &Path) -> Result<(), SandboxError> {
        self.sweep_now_and_then();
        let template = dataset::template(Variant::Course)
            .await
            .map_err(|e| SandboxError::Setup(e.to_string()))?;
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| SandboxError::Setup(e.to_string()))?;
        let note = disk::with_suffix(&path.with_extension(""), ".note");
        if let Ok(text) = tokio::fs::read_to_string(&note).await {
            let _ = tokio::fs::remove_file(&note).await;
            self.notices
                .lock()
                .expect("never poisoned")
                .insert(student.as_str().to_string(), text);
        }
        let needed = tokio::fs::metadata(&template)
            .await
            .map_err(|e| SandboxError::Setup(e.to_string()))?
            .len();
        self.make_room(student, needed).await;
        let partial = path.with_extension("partial");
        tokio::fs::copy(template, &partial)
            .await
            .map_err(|e| SandboxError::Setup(e.to_string()))?;
        if !self.shop_tables.is_empty() {
            let (file, tables) = (partial.clone(), self.shop_tables.clone());
            tokio::task::spawn_blocking(move || open(&file)?.execute_trusted(&tables))
                .await
                .map_err(|e| SandboxError::Setup(e.to_string()))?
                .map_err(|e| SandboxError::Setup(format!("the shop's tables: {e}")))?;
        }
        tokio::fs::rename(&partial, path)
            .await
            .map_err(|e| SandboxError::Setup(e.to_string()))
    }

    /// Resets sandboxes until `needed` more bytes fit in the disk budget
    /// ([`disk::victims`]), never one in use, and leaves each student a note.
    async fn make_room(&self, student: &StudentId, needed: u64) {
        let mut keep = self.busy();
        keep.push(self.file_stem(student));
        let (dir, budget) = (self.dir.clone(), self.disk_budget);
        let victims = tokio::task::spawn_blocking(move || {
            disk::victims(disk::survey(&dir, SystemTime::now()), budget, needed, &keep)
        })
        .await
        .unwrap_or_default();
        let mut reset = 0;
        for victim in victims {
            // Taken between the survey and now: leave it be.
            let Ok(turn) = self
                .lock_of(&StudentId::from_raw(victim.student.clone()))
                .try_lock_owned()
            else {
                continue;
            };
            let dir = self.dir.clone();
            let deleted = tokio::task::spawn_blocking(move || {
                let _turn = turn;
                let path = dir.join(format!("{}.db", victim.student));
                disk::delete(&path).map(|()| {
                    let note = dir.join(format!("{}.note", victim.student));
                    let _ = std::fs::write(note, disk::reset_note(victim.idle));
                })
            })
            .await;
            match deleted {
                Ok(Ok(())) => reset += 1,
                Ok(Err(e)) => tracing::warn!(error = %e, "could not reset a sandbox to make room"),
                Err(e) => tracing::warn!(error = %e, "the sandbox reset failed"),
            }
        }
        if reset > 0 {
            tracing::info!(reset, "reset idle sql sandboxes to stay in the disk budget");
        }
    }

    /// Sandboxes grow after they are made: at most every [`DISK_CHECK_EVERY`],
    /// a job first makes sure all of them together are within the budget.
    async fn keep_within_budget_now_and_then(&self, student: &StudentId) {
        {
            let now = self.clock.now_ms();
            let mut last = self.last_disk_check.lock().expect("never poisoned");
            if last.is_some_and(|at| now - at < DISK_CHECK_EVERY.as_millis() as i64) {
                return;
            }
            *last = Some(now);
        }
        self.make_room(student, 0).await;
    }

    /// Students whose sandbox is in use right now.
    fn busy(&self) -> Vec<String> {
        self.locks
            .lock()
            .expect("never poisoned")
            .iter()
            .filter(|(_, lock)| lock.try_lock().is_err())
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Sweeps idle sandboxes, at most once per [`SWEEP_EVERY`], in the background.
    fn sweep_now_and_then(&self) {
        let mut last = self.last_sweep.lock().expect("never poisoned");
        if last.is_some_and(|at| at.elapsed() < SWEEP_EVERY) {
            return;
        }
        *last = Some(std::time::Instant::now());
        let dir = self.dir.clone();
        let busy = self.busy();
        tokio::task::spawn_blocking(move || {
            let cutoff = SystemTime::now() - IDLE_LIFETIME;
            let removed = sweep(&dir, cutoff, &busy);
            if removed > 0 {
                tracing::info!(removed, "deleted idle sql sandboxes");
            }
        });
    }

    /// The student's lock, dropping locks nobody holds any more.
    fn lock_of(&self, student: &StudentId) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().expect("the lock table is never poisoned");
        if locks.len() > 256 {
            locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        }
        locks
            .entry(student.as_str().to_string())
            .or_default()
            .clone()
    }
}

/// Marks a sandbox as used now, for the idle sweep.
fn touch(path: &Path) {
    if let Ok(file) = std::fs::File::options().write(true).open(path) {
        let _ = file.set_modified(SystemTime::now());
    }
}

/// Deletes the sandboxes in `dir` last used before `cutoff`, except those
/// of `busy` students; returns how many went.
pub fn sweep(dir: &Path, cutoff: SystemTime, busy: &[String]) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(student) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".db"))
        else {
            continue;
        };
        let idle = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|modified| modified < cutoff);
        if idle && !busy.iter().any(|b| b == student) {
            for suffix in ["-wal", "-shm", ""] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            removed += 1;
        }
    }
    removed
}

/// A guarded read-write connection to a sandbox file, for the lab's own
/// jobs (the withdrawal demo), at the default size limit.
pub fn open(path: &Path) -> Result<Db, SqlError> {
    Db::open(path, Access::ReadWrite, MAX_BYTES / PAGE_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_deletes_only_idle_sandboxes_nobody_is_using() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        let month_ago = now - IDLE_LIFETIME - Duration::from_secs(3600);
        for (name, modified) in [("old", month_ago), ("busy", month_ago), ("fresh", now)] {
            let file = std::fs::File::create(dir.path().join(format!("{name}.db"))).unwrap();
            file.set_modified(modified).unwrap();
        }
        std::fs::write(dir.path().join("old.db-wal"), b"").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"").unwrap();
        assert_eq!(sweep(dir.path(), now - IDLE_LIFETIME, &["busy".into()]), 1);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, vec!["busy.db", "fresh.db", "notes.txt"]);
    }
}
