//! Changes made by another process: how a running server hears of them.
//!
//! A server keeps rows it reads on every request in memory (accounts,
//! sessions, lab settings, what a student's pages show of them). Its own
//! writers keep those copies exact ([`crate::read_cache`]). Another process
//! sharing the database (the `workbench user` command changing a role,
//! `workbench grade` regrading, a second server) cannot reach this one's
//! memory, so it learns of their writes from the database, in two ways:
//!
//! - **A counter**, `platform_changes.epoch`, that triggers move whenever an
//!   account, a class's members or deadlines, or a stored score changes.
//!   Such changes are rare, so every copy of those kinds is dropped when it
//!   moves ([`Forgettable`]).
//! - **A log of keys**, `cache_evictions`, for rows written often (a session
//!   saved or ended, a student's lab settings): the writer adds the cache's
//!   name and the key ([`publish`]), and readers forget that key only
//!   ([`ForgetKey`]).
//!
//! Each server reads both ([`PlatformChanges::watch`], every
//! [`POLL_EVERY`]): another process's change is seen within one poll, this
//! process's own at once.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::Row;

use crate::db::Pool;

use crate::read_cache::ReadCache;

/// How often the counter is read: one tiny query per interval, however busy
/// the server is.
pub const POLL_EVERY: Duration = Duration::from_millis(250);

/// Logged when the counter moved and the copies were dropped.
pub const CHANGES_SEEN: &str = "platform rows changed: cached accounts and marks dropped";

/// How far back each poll of the key log looks, in sequence numbers: on
/// PostgreSQL a number is taken at insert and seen at commit, so a
/// transaction slower than the next may show its row after a reader passed
/// its number. Rows are re-read, but a key is forgotten once per row.
const LOOK_BACK: i64 = 256;

/// How long the key log keeps a row, in seconds; far longer than a poll.
pub const EVICTIONS_KEPT_SECS: i64 = 600;

/// A cache that can be emptied when another process changed its rows.
pub trait Forgettable: Send + Sync {
    /// Drops every entry, and refuses fills that started before.
    fn forget_everything(&self);
}

impl<K, V> Forgettable for ReadCache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn forget_everything(&self) {
        self.wrote_all();
    }
}

/// A cache whose entries another process may change one key at a time.
pub trait ForgetKey: Forgettable {
    /// Drops `key`'s entry (as written in the log), and refuses fills of
    /// it that started before.
    fn forget_key(&self, key: &str);
}

/// Tells every server sharing the database that `cache`'s entry for `key`
/// changed; call after the write itself.
pub async fn publish(pool: &Pool, cache: &str, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO cache_evictions (cache, key, created_at) VALUES ($1, $2, $3)")
        .bind(cache)
        .bind(key)
        .bind(crate::db::unix_now())
        .execute(pool)
        .await?;
    Ok(())
}

/// Deletes the key log's rows older than [`EVICTIONS_KEPT_SECS`].
pub async fn trim_evictions(pool: &Pool) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM cache_evictions WHERE created_at < $1")
        .bind(crate::db::unix_now() - EVICTIONS_KEPT_SECS)
        .execute(pool)
        .await?;
    Ok(())
}

/// The key log as far as this server has read it.
#[derive(Default)]
struct LogRead {
    /// The highest number read; `None` before the first read.
    last: Option<i64>,
    /// The numbers read within [`LOOK_BACK`] of `last`.
    recent: BTreeSet<i64>,
}

/// The last epoch seen, and the caches to empty when it moves.
pub struct PlatformChanges {
    seen: AtomicI64,
    caches: Vec<Arc<dyn Forgettable>>,
    keyed: Vec<(&'static str, Arc<dyn ForgetKey>)>,
    log: Mutex<LogRead>,
}

impl PlatformChanges {
    /// Watches on behalf of `caches` (emptied when the counter moves).
    pub fn new(caches: Vec<Arc<dyn Forgettable>>) -> Self {
        Self {
            seen: AtomicI64::new(-1),
            caches,
            keyed: Vec::new(),
            log: Mutex::new(LogRead::default()),
        }
    }

    /// Also watches the key log on behalf of `cache`, for rows published
    /// under `name`.
    pub fn with_keyed(mut self, name: &'static str, cache: Arc<dyn ForgetKey>) -> Self {
        self.keyed.push((name, cache));
        self
    }

    /// Reads the counter and the key log once; empties the caches if the
    /// counter moved since the last read, and forgets the keys logged since.
    /// Returns whether the counter moved.
    pub async fn poll(&self, pool: &Pool) -> Result<bool, sqlx::Error> {
        let epoch: i64 = sqlx::query_scalar("SELECT epoch FROM platform_changes WHERE id = 1")
            .fetch_one(pool)
            .await?;
        let before = self.seen.swap(epoch, Ordering::AcqRel);
        let moved = before != epoch;
        if moved && before >= 0 {
            // At most one line per poll; tests wait for it after a command.
            tracing::info!(epoch, "{CHANGES_SEEN}");
        }
        if moved {
            self.forget_everything();
        }
        self.read_log(pool).await?;
        Ok(moved)
    }

    /// Forgets the keys logged since the last read. The first read finds
    /// where the log ends and forgets every keyed copy: what was written
    /// before that point was never read here, and two first reads may race
    /// (the watcher's and a caller's).
    async fn read_log(&self, pool: &Pool) -> Result<(), sqlx::Error> {
        let last = self.log.lock().unwrap_or_else(|e| e.into_inner()).last;
        let Some(last) = last else {
            let end: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM cache_evictions")
                .fetch_one(pool)
                .await?;
            self.log.lock().unwrap_or_else(|e| e.into_inner()).last = Some(end.unwrap_or(0));
            for (_, cache) in &self.keyed {
                cache.forget_everything();
            }
            return Ok(());
        };
        let rows =
            sqlx::query("SELECT seq, cache, key FROM cache_evictions WHERE seq > $1 ORDER BY seq")
                .bind(last - LOOK_BACK)
                .fetch_all(pool)
                .await?;
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        for row in &rows {
            let seq: i64 = row.try_get("seq")?;
            if !log.recent.insert(seq) {
                continue;
            }
            let (cache, key): (String, String) = (row.try_get("cache")?, row.try_get("key")?);
            for (name, keyed) in &self.keyed {
                if *name == cache {
                    keyed.forget_key(&key);
                }
            }
            log.last = log.last.max(Some(seq));
        }
        let floor = log.last.unwrap_or(0) - LOOK_BACK;
        log.recent = log.recent.split_off(&floor);
        Ok(())
    }

    fn forget_everything(&self) {
        for cache in &self.caches {
            cache.forget_everything();
        }
        for (_, cache) in &self.keyed {
            cache.forget_everything();
        }
    }

    /// Polls every [`POLL_EVERY`] until the task is aborted. A failed read
    /// empties the caches: a copy that cannot be checked is not trusted.
    pub fn watch(self: Arc<Self>, pool: Pool) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(POLL_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                if let Err(e) = self.poll(&pool).await {
                    tracing::warn!(error = %e, "could not read platform_changes; caches emptied");
                    self.seen.store(-1, Ordering::Release);
                    self.forget_everything();
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use moka::sync::Cache;

    #[tokio::test]
    async fn another_writers_change_empties_the_caches_at_the_next_poll() {
        let pool = crate::db::connect("sqlite::memory:").await.unwrap();
        let accounts: Arc<ReadCache<&'static str, i32>> = Arc::new(ReadCache::new(Cache::new(8)));
        let changes = PlatformChanges::new(vec![accounts.clone()]);
        changes.poll(&pool).await.unwrap();
        accounts.fill("ada", 1, accounts.ticket());

        assert!(!changes.poll(&pool).await.unwrap(), "nothing changed");
        assert_eq!(accounts.get(&"ada"), Some(1));

        sqlx::raw_sql(
            "INSERT INTO students (id, kind, created_at) VALUES ('ada', 'account', 0);
             INSERT INTO accounts (student_id, email, display_name, password_hash, role, created_at, updated_at)
             VALUES ('ada', 'ada@example.com', 'Ada', 'x', 'student', 0, 0);
             UPDATE accounts SET role = 'instructor' WHERE student_id = 'ada';",
        )
        .execute(&pool)
        .await
        .unwrap();
        assert!(changes.poll(&pool).await.unwrap());
        assert_eq!(accounts.get(&"ada"), None);
    }

    /// A keyed cache as the settings' and the sessions' are.
    struct Keyed(ReadCache<String, i32>);

    impl Forgettable for Keyed {
        fn forget_everything(&self) {
            self.0.wrote_all();
        }
    }

    impl ForgetKey for Keyed {
        fn forget_key(&self, key: &str) {
            self.0.wrote(&key.to_string(), None);
        }
    }

    #[tokio::test]
    async fn another_servers_write_drops_that_key_only_at_the_next_poll() {
        let pool = crate::db::connect("sqlite::memory:").await.unwrap();
        let sessions = Arc::new(Keyed(ReadCache::new(Cache::new(8))));
        let settings = Arc::new(Keyed(ReadCache::new(Cache::new(8))));
        let changes = PlatformChanges::new(Vec::new())
            .with_keyed("sessions", sessions.clone())
            .with_keyed("settings", settings.clone());
        // A row logged before this server started is not its business.
        publish(&pool, "sessions", "old").await.unwrap();
        changes.poll(&pool).await.unwrap();
        for key in ["ada", "bob"] {
            sessions.0.fill(key.into(), 1, sessions.0.ticket());
            settings.0.fill(key.into(), 1, settings.0.ticket());
        }

        // Another server signs Ada's session out.
        publish(&pool, "sessions", "ada").await.unwrap();
        assert_eq!(
            sessions.0.get(&"ada".into()),
            Some(1),
            "not before the poll"
        );
        changes.poll(&pool).await.unwrap();
        assert_eq!(sessions.0.get(&"ada".into()), None);
        assert_eq!(sessions.0.get(&"bob".into()), Some(1), "other keys stay");
        assert_eq!(settings.0.get(&"ada".into()), Some(1), "other caches stay");

        // Read once: filled again, the next poll leaves it alone.
        sessions.0.fill("ada".into(), 2, sessions.0.ticket());
        changes.poll(&pool).await.unwrap();
        assert_eq!(sessions.0.get(&"ada".into()), Some(2));
    }

    #[tokio::test]
    async fn the_first_read_of_the_log_trusts_no_copy_made_before_it() {
        let pool = crate::db::connect("sqlite::memory:").await.unwrap();
        let settings = Arc::new(Keyed(ReadCache::new(Cache::new(8))));
        let changes = PlatformChanges::new(Vec::new()).with_keyed("settings", settings.clone());
        // The watcher has read the counter (so it will not move) but not
        // yet the log; meanwhile a copy is filled and changed elsewhere.
        changes.seen.store(0, Ordering::Release);
        settings.0.fill("ada".into(), 1, settings.0.ticket());
        publish(&pool, "settings", "ada").await.unwrap();
        assert!(
            !changes.poll(&pool).await.unwrap(),
            "the counter stood still"
        );
        assert_eq!(settings.0.get(&"ada".into()), None);
    }

    #[tokio::test]
    async fn a_row_committed_late_with_an_earlier_number_is_still_read() {
        let pool = crate::db::connect("sqlite::memory:").await.unwrap();
        let settings = Arc::new(Keyed(ReadCache::new(Cache::new(8))));
        let changes = PlatformChanges::new(Vec::new()).with_keyed("settings", settings.clone());
        changes.poll(&pool).await.unwrap();
        settings.0.fill("ada".into(), 1, settings.0.ticket());
        // As PostgreSQL can show them: number 2 seen, then number 1.
        publish(&pool, "settings", "bob").await.unwrap();
        publish(&pool, "settings", "cleo").await.unwrap();
        sqlx::query("DELETE FROM cache_evictions WHERE key = 'bob'")
            .execute(&pool)
            .await
            .unwrap();
        changes.poll(&pool).await.unwrap();
        let first: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM cache_evictions")
            .fetch_one(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO cache_evictions (seq, cache, key, created_at) VALUES ($1, 'settings', 'ada', 0)")
            .bind(first - 1)
            .execute(&pool)
            .await
            .unwrap();
        changes.poll(&pool).await.unwrap();
        assert_eq!(settings.0.get(&"ada".into()), None);
    }

    #[tokio::test]
    async fn old_rows_of_the_key_log_are_trimmed() {
        let pool = crate::db::connect("sqlite::memory:").await.unwrap();
        sqlx::query(
            "INSERT INTO cache_evictions (cache, key, created_at) VALUES ('sessions', 'x', 0)",
        )
        .execute(&pool)
        .await
        .unwrap();
        publish(&pool, "sessions", "y").await.unwrap();
        trim_evictions(&pool).await.unwrap();
        let left: Vec<String> = sqlx::query_scalar("SELECT key FROM cache_evictions")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_eq!(left, ["y"]);
    }
}
