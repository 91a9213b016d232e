//! Session records kept in memory in front of the database, so a request
//! from a known browser reads no SQLite to learn whose it is.
//!
//! Every write goes to the database first and then to the cache, and every
//! delete (sign-out, a new id at sign-in) removes the record from both, so
//! within this process the next request always sees the new state
//! ([`engine::read_cache::ReadCache`] keeps a load that raced a sign-out
//! from caching the signed-out record). The visitor layer reads the same
//! records directly ([`SessionRecords`]).
//!
//! Several servers sharing one database each keep their own cache. Every
//! write and delete is also logged by id in the database's key log
//! ([`engine::changes`]), which each server reads every 250 ms and drops
//! those ids: a session another server signed out is refused here within
//! a quarter of a second.
//!
//! The records live in the platform database, SQLite or PostgreSQL, in the
//! table tower-sessions' own store for that database keeps
//! ([`SessionTable`]).

use std::sync::Arc;

use async_trait::async_trait;
use engine::db::{NativePool, Pool};
use engine::session_records::SessionRecords;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, ExpiredDeletion, Result, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// The sessions' table in the platform database, through the store
/// tower-sessions has for its kind.
#[derive(Clone, Debug)]
pub(crate) enum SessionTable {
    /// The default.
    Sqlite(SqliteStore),
    /// A school's shared PostgreSQL.
    Postgres(PostgresStore),
}

impl SessionTable {
    /// The table in `database`, created if missing.
    pub(crate) async fn open(database: &NativePool) -> sqlx::Result<Self> {
        let table = match database {
            NativePool::Sqlite(pool) => Self::Sqlite(SqliteStore::new(pool.clone())),
            NativePool::Postgres(pool) => Self::Postgres(PostgresStore::new(pool.clone())),
        };
        match &table {
            Self::Sqlite(store) => store.migrate().await?,
            Self::Postgres(store) => store.migrate().await?,
        }
        Ok(table)
    }
}

/// Each call goes to whichever store the database has.
macro_rules! by_kind {
    ($table:expr, $store:ident => $call:expr) => {
        match $table {
            SessionTable::Sqlite($store) => $call,
            SessionTable::Postgres($store) => $call,
        }
    };
}

#[async_trait]
impl SessionStore for SessionTable {
    async fn create(&self, record: &mut Record) -> Result<()> {
        by_kind!(self, store => store.create(record).await)
    }

    async fn save(&self, record: &Record) -> Result<()> {
        by_kind!(self, store => store.save(record).await)
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        by_kind!(self, store => store.load(id).await)
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        by_kind!(self, store => store.delete(id).await)
    }
}

#[async_trait]
impl ExpiredDeletion for SessionTable {
    async fn delete_expired(&self) -> Result<()> {
        by_kind!(self, store => store.delete_expired().await)
    }
}

/// The session store the server uses: the [`SessionTable`] with a bounded
/// in-memory cache in front of it.
#[derive(Clone)]
pub(crate) struct CachedSessions {
    store: SessionTable,
    records: Arc<SessionRecords>,
    /// Where the key log is.
    pool: Pool,
}

impl std::fmt::Debug for CachedSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedSessions").finish_non_exhaustive()
    }
}

/// The sessions' name in the key log of other servers' writes, keyed by
/// session id.
const SESSIONS_CACHE: &str = "sessions";

impl CachedSessions {
    /// A cache in front of `store`, logging its writes in `pool`'s key log.
    pub(crate) fn new(store: SessionTable, pool: Pool) -> Self {
        Self {
            store,
            records: Arc::new(SessionRecords::new()),
            pool,
        }
    }

    /// The table behind the cache (for deleting expired records).
    pub(crate) fn table(&self) -> SessionTable {
        self.store.clone()
    }

    /// The records in memory, for the watcher of other servers' writes and
    /// for the visitor layer, which reads them without loading the session.
    pub(crate) fn records(&self) -> Arc<SessionRecords> {
        self.records.clone()
    }

    /// Tells the other servers that `id`'s record changed. A sign-out whose
    /// news cannot be logged fails, so the student tries again, rather than
    /// leave the session alive on the other servers.
    async fn publish(&self, id: &Id) -> Result<()> {
        engine::changes::publish(&self.pool, SESSIONS_CACHE, &id.to_string())
            .await
            .map_err(|e| Error::Backend(e.to_string()))
    }
}

/// Registers the sessions' cache with the watcher of other servers' writes.
pub(crate) fn watched_by(
    changes: engine::changes::PlatformChanges,
    sessions: &CachedSessions,
) -> engine::changes::PlatformChanges {
    changes.with_keyed(SESSIONS_CACHE, sessions.records())
}

#[async_trait]
impl SessionStore for CachedSessions {
    async fn create(&self, record: &mut Record) -> Result<()> {
        self.store.create(record).await?;
        self.records
            .wrote(&record.id, Some(Arc::new(record.clone())));
        Ok(())
    }

    async fn save(&self, record: &Record) -> Result<()> {
        self.store.save(record).await?;
        self.records
            .wrote(&record.id, Some(Arc::new(record.clone())));
        self.publish(&record.id).await
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        if let Some(record) = self.records.get(id) {
            if record.expiry_date > OffsetDateTime::now_utc() {
                return Ok(Some(Record::clone(&record)));
            }
            self.records.forget(id);
            return Ok(None);
        }
        let ticket = self.records.ticket();
        let record = self.store.load(id).await?;
        if let Some(record) = &record {
            self.records
                .fill(record.id, Arc::new(record.clone()), ticket);
        }
        Ok(record)
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.store.delete(id).await?;
        self.records.wrote(id, None);
        self.publish(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sessions() -> CachedSessions {
        let database = engine::db::open("sqlite::memory:").await.unwrap();
        CachedSessions::new(
            SessionTable::open(&database.native).await.unwrap(),
            database.pool,
        )
    }

    fn record() -> Record {
        Record {
            id: Id::default(),
            data: [("student".to_string(), serde_json::json!("s1"))]
                .into_iter()
                .collect(),
            expiry_date: OffsetDateTime::now_utc() + time::Duration::hours(1),
        }
    }

    #[tokio::test]
    async fn a_deleted_session_is_gone_from_the_cache_too() {
        let sessions = sessions().await;
        let mut record = record();
        sessions.create(&mut record).await.unwrap();
        assert!(sessions.load(&record.id).await.unwrap().is_some());
        sessions.delete(&record.id).await.unwrap();
        assert_eq!(sessions.load(&record.id).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_saved_session_is_read_back_as_saved() {
        let sessions = sessions().await;
        let mut record = record();
        sessions.create(&mut record).await.unwrap();
        record
            .data
            .insert("signed_in".to_string(), serde_json::json!(true));
        sessions.save(&record).await.unwrap();
        assert_eq!(sessions.load(&record.id).await.unwrap(), Some(record));
    }

    #[tokio::test]
    async fn a_load_that_raced_with_a_write_does_not_fill_the_cache() {
        let sessions = sessions().await;
        let mut record = record();
        sessions.store.create(&mut record).await.unwrap();
        let ticket = sessions.records.ticket();
        // A sign-out lands between the load's read and its filling the cache.
        sessions.delete(&record.id).await.unwrap();
        sessions
            .records
            .fill(record.id, Arc::new(record.clone()), ticket);
        assert_eq!(sessions.load(&record.id).await.unwrap(), None);
    }

    #[tokio::test]
    async fn an_expired_record_in_the_cache_is_no_session() {
        let sessions = sessions().await;
        let mut record = record();
        record.expiry_date = OffsetDateTime::now_utc() - time::Duration::seconds(1);
        sessions.records.fill(
            record.id,
            Arc::new(record.clone()),
            sessions.records.ticket(),
        );
        assert_eq!(sessions.load(&record.id).await.unwrap(), None);
    }
}
