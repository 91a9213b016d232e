//! The feeds' durable log: a SQLite file in the lab's data folder
//! (`realtime/feeds.sqlite`). A message is numbered and written there
//! before anyone is sent it, so after a server restart a client resuming
//! with `Last-Event-ID` gets exactly the messages it missed, and numbers go
//! on from where they were. Written in WAL mode with `synchronous=NORMAL`:
//! a message survives the server process dying (even `kill -9`), not the
//! machine losing power in the same second.
//!
//! Bounds: the latest [`KEPT_EVENTS`] messages of a feed; feeds unused for
//! [`UNUSED_FOR_MS`] are forgotten, and beyond [`MAX_LOGGED_FEEDS`] the
//! least recently used go first ([`FeedLog::forget_unused`]).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use model::labs::realtime::FeedEvent;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Row;
use tokio::sync::OnceCell;

use super::feed::KEPT_EVENTS;
use crate::students::StudentId;

/// A feed nobody published to or loaded for this long leaves the log.
pub(crate) const UNUSED_FOR_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// Feeds the log keeps; beyond them the least recently used go.
pub(crate) const MAX_LOGGED_FEEDS: i64 = 5_000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS feeds (
    student TEXT PRIMARY KEY,
    last_id INTEGER NOT NULL,
    touched_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS feed_events (
    student TEXT NOT NULL,
    id INTEGER NOT NULL,
    text TEXT NOT NULL,
    published_at_ms INTEGER NOT NULL,
    PRIMARY KEY (student, id)
) STRICT, WITHOUT ROWID;
";

/// What the log holds of one feed.
#[derive(Debug, Default)]
pub(crate) struct Logged {
    /// The newest number the feed gave (0 for a feed never published to).
    pub(crate) last_id: u64,
    /// Its kept messages, oldest first.
    pub(crate) events: Vec<FeedEvent>,
}

/// The log file, opened on first use.
pub(crate) struct FeedLog {
    pool: SqlitePool,
    schema: OnceCell<()>,
}

impl FeedLog {
    /// The log in `folder` (made if missing); nothing is opened until first
    /// use, so a broken folder fails the requests that need it, with a reason.
    pub(crate) fn open(folder: &Path) -> Self {
        let _ = std::fs::create_dir_all(folder);
        let options = SqliteConnectOptions::from_str("sqlite:")
            .expect("a constant URL")
            .filename(folder.join("feeds.sqlite"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5));
        Self {
            pool: SqlitePoolOptions::new()
                .max_connections(4)
                .connect_lazy_with(options),
            schema: OnceCell::new(),
        }
    }

    async fn ready(&self) -> Result<&SqlitePool, sqlx::Error> {
        self.schema
            .get_or_try_init(|| async { sqlx::raw_sql(SCHEMA).execute(&self.pool).await.map(drop) })
            .await?;
        Ok(&self.pool)
    }

    /// The student's feed as logged, marking it used at `now_ms`.
    pub(crate) async fn load(
        &self,
        student: &StudentId,
        now_ms: i64,
    ) -> Result<Logged, sqlx::Error> {
        let pool = self.ready().await?;
        let last_id: Option<i64> = sqlx::query_scalar(
            "UPDATE feeds SET touched_ms = ? WHERE student = ? RETURNING last_id",
        )
        .bind(now_ms)
        .bind(student.as_str())
        .fetch_optional(pool)
        .await?;
        let Some(last_id) = last_id else {
            return Ok(Logged::default());
        };
        let rows = sqlx::query(
            "SELECT id, text, published_at_ms FROM feed_events WHERE student = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(student.as_str())
        .bind(KEPT_EVENTS as i64)
        .fetch_all(pool)
        .await?;
        let mut events: Vec<FeedEvent> = rows
            .iter()
            .map(|row| FeedEvent {
                id: row.get::<i64, _>(0) as u64,
                text: row.get(1),
                published_at_ms: row.get(2),
            })
            .collect();
        events.reverse();
        Ok(Logged {
            last_id: last_id as u64,
            events,
        })
    }

    /// Numbers `text` as the feed's next message and writes it, dropping
    /// what is beyond the kept ones; the message is logged once this returns.
    pub(crate) async fn append(
        &self,
        student: &StudentId,
        text: String,
        now_ms: i64,
    ) -> Result<FeedEvent, sqlx::Error> {
        let pool = self.ready().await?;
        let mut transaction = pool.begin().await?;
        // The number comes from the log, so it goes on after a restart.
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO feeds (student, last_id, touched_ms) VALUES (?, 1, ?)
             ON CONFLICT (student) DO UPDATE SET last_id = last_id + 1, touched_ms = excluded.touched_ms
             RETURNING last_id",
        )
        .bind(student.as_str())
        .bind(now_ms)
        .fetch_one(&mut *transaction)
        .await?;
        sqlx::query(
            "INSERT INTO feed_events (student, id, text, published_at_ms) VALUES (?, ?, ?, ?)",
        )
        .bind(student.as_str())
        .bind(id)
        .bind(&text)
        .bind(now_ms)
        .execute(&mut *transaction)
        .await?;
        sqlx::query("DELETE FROM feed_events WHERE student = ? AND id <= ?")
            .bind(student.as_str())
            .bind(id - KEPT_EVENTS as i64)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(FeedEvent {
            id: id as u64,
            text,
            published_at_ms: now_ms,
        })
    }

    /// Deletes the feed's messages; its numbering stays.
    pub(crate) async fn clear(&self, student: &StudentId) -> Result<(), sqlx::Error> {
        let pool = self.ready().await?;
        sqlx::query("DELETE FROM feed_events WHERE student = ?")
            .bind(student.as_str())
            .execute(pool)
            .await?;
        Ok(())
    }

    /// Forgets feeds unused since `now_ms - UNUSED_FOR_MS`, and the least
    /// recently used beyond [`MAX_LOGGED_FEEDS`].
    pub(crate) async fn forget_unused(&self, now_ms: i64) -> Result<(), sqlx::Error> {
        self.forget_beyond(now_ms, MAX_LOGGED_FEEDS).await
    }

    async fn forget_beyond(&self, now_ms: i64, max_feeds: i64) -> Result<(), sqlx::Error> {
        let pool = self.ready().await?;
        let mut transaction = pool.begin().await?;
        sqlx::query(
            "DELETE FROM feeds WHERE touched_ms < ? OR student IN
                (SELECT student FROM feeds ORDER BY touched_ms DESC LIMIT -1 OFFSET ?)",
        )
        .bind(now_ms - UNUSED_FOR_MS)
        .bind(max_feeds)
        .execute(&mut *transaction)
        .await?;
        sqlx::query("DELETE FROM feed_events WHERE student NOT IN (SELECT student FROM feeds)")
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ada() -> StudentId {
        StudentId::from_raw("ada")
    }

    #[tokio::test]
    async fn messages_are_numbered_and_kept_by_the_log_for_the_next_process() {
        let folder = tempfile::tempdir().unwrap();
        let log = FeedLog::open(folder.path());
        for text in ["a", "b", "c"] {
            log.append(&ada(), text.into(), 5).await.unwrap();
        }
        drop(log);
        let reopened = FeedLog::open(folder.path());
        let logged = reopened.load(&ada(), 6).await.unwrap();
        assert_eq!(logged.last_id, 3);
        let texts: Vec<_> = logged.events.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, ["a", "b", "c"]);
        assert_eq!(reopened.append(&ada(), "d".into(), 7).await.unwrap().id, 4);
    }

    #[tokio::test]
    async fn the_log_keeps_the_latest_messages_and_a_clear_keeps_the_numbering() {
        let folder = tempfile::tempdir().unwrap();
        let log = FeedLog::open(folder.path());
        for i in 0..KEPT_EVENTS + 3 {
            log.append(&ada(), format!("m{i}"), 0).await.unwrap();
        }
        let logged = log.load(&ada(), 0).await.unwrap();
        assert_eq!(logged.events.len(), KEPT_EVENTS);
        assert_eq!(logged.events[0].id, 4);
        log.clear(&ada()).await.unwrap();
        let cleared = log.load(&ada(), 0).await.unwrap();
        assert!(cleared.events.is_empty());
        assert_eq!(cleared.last_id, (KEPT_EVENTS + 3) as u64);
    }

    #[tokio::test]
    async fn unused_feeds_leave_the_log_and_the_newest_stay_within_the_bound() {
        let folder = tempfile::tempdir().unwrap();
        let log = FeedLog::open(folder.path());
        let bob = StudentId::from_raw("bob");
        let cy = StudentId::from_raw("cy");
        log.append(&ada(), "old".into(), 0).await.unwrap();
        log.append(&bob, "newer".into(), UNUSED_FOR_MS)
            .await
            .unwrap();
        log.append(&cy, "newest".into(), UNUSED_FOR_MS + 1)
            .await
            .unwrap();
        log.forget_beyond(UNUSED_FOR_MS + 2, 1).await.unwrap();
        assert_eq!(
            log.load(&ada(), 0).await.unwrap().last_id,
            0,
            "unused for a week"
        );
        assert_eq!(
            log.load(&bob, 0).await.unwrap().last_id,
            0,
            "beyond the bound"
        );
        assert_eq!(log.load(&cy, 0).await.unwrap().events.len(), 1);
    }
}
