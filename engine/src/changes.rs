//! Changes made by another process: how a running server hears of them.
//!
//! A server keeps rows it reads on every request in memory (accounts, what
//! a student's pages show of them). Its own writers keep those copies exact
//! ([`crate::read_cache`]). Another process sharing the database (the
//! `workbench user` command changing a role, `workbench grade` regrading, a
//! second server) cannot reach this one's memory, so the database keeps a
//! counter, `platform_changes.epoch`, that triggers move whenever such a row
//! changes. Each server polls it ([`PlatformChanges::watch`], every
//! [`POLL_EVERY`]) and drops every copy it holds when it moved: another
//! process's change is seen within one poll, this process's own at once.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::db::Pool;

use crate::read_cache::ReadCache;

/// How often the counter is read: one tiny query per interval, however busy
/// the server is.
pub const POLL_EVERY: Duration = Duration::from_millis(250);

/// Logged when the counter moved and the copies were dropped.
pub const CHANGES_SEEN: &str = "platform rows changed: cached accounts and marks dropped";

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

/// The last epoch seen, and the caches to empty when it moves.
pub struct PlatformChanges {
    seen: AtomicI64,
    caches: Vec<Arc<dyn Forgettable>>,
}

impl PlatformChanges {
    /// Watches on behalf of `caches`.
    pub fn new(caches: Vec<Arc<dyn Forgettable>>) -> Self {
        Self {
            seen: AtomicI64::new(-1),
            caches,
        }
    }

    /// Reads the counter once; empties the caches if it moved since the
    /// last read. Returns whether it moved.
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
            for cache in &self.caches {
                cache.forget_everything();
            }
        }
        Ok(moved)
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
                    for cache in &self.caches {
                        cache.forget_everything();
                    }
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
}
