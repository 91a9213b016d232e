//! The platform database: one SQLite file in WAL mode by default, or a
//! PostgreSQL database when `DATABASE_URL` says `postgres://`; created (for
//! SQLite) and migrated at start.
//!
//! Platform queries go through one [`Pool`] (sqlx's `Any` driver), written
//! once for both: `$N` placeholders, integers bound as `i64`, no dialect's
//! own functions. The driver's own pool ([`NativePool`]) is kept beside it
//! for what needs the real type: migrations and the session store.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Executor;

/// The platform database's pool, whichever kind it is.
pub type Pool = sqlx::AnyPool;

/// Connections each pool may hold. PostgreSQL's default server allows 100,
/// so several processes of 16 each (and their session pools) stay inside it.
const MAX_CONNECTIONS: u32 = 16;

/// The same database through its own driver.
#[derive(Clone, Debug)]
pub enum NativePool {
    /// The default: a file (or a test's in-memory database).
    Sqlite(SqlitePool),
    /// A school's shared server.
    Postgres(PgPool),
}

/// The platform database: the pool every query uses and its native twin.
#[derive(Clone, Debug)]
pub struct Database {
    /// For platform queries.
    pub pool: Pool,
    /// For migrations and the session store.
    pub native: NativePool,
}

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// The URL names a database this build cannot use.
    #[error("DATABASE_URL {0:?} is not supported: use a sqlite: or a postgres:// URL")]
    Unsupported(String),
    /// The folder for the database file could not be created.
    #[error("cannot create the folder for {path}: {source}")]
    Folder {
        /// The folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Connecting failed.
    #[error("cannot open the database: {0}")]
    Connect(#[from] sqlx::Error),
    /// A migration failed.
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Opens (creating if needed) and migrates the platform database; the
/// pool for platform queries.
pub async fn connect(url: &str) -> Result<Pool, DatabaseError> {
    Ok(open(url).await?.pool)
}

/// Opens (creating if needed) and migrates the platform database.
pub async fn open(url: &str) -> Result<Database, DatabaseError> {
    sqlx::any::install_default_drivers();
    if url.starts_with("sqlite:") {
        open_sqlite(url).await
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        open_postgres(url).await
    } else {
        Err(DatabaseError::Unsupported(url.to_string()))
    }
}

async fn open_sqlite(url: &str) -> Result<Database, DatabaseError> {
    let url = shared_memory_url(url);
    let options = SqliteConnectOptions::from_str(&url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // NORMAL is durable across application crashes in WAL mode and much faster than FULL.
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    if let Some(folder) = options
        .get_filename()
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(folder).map_err(|source| DatabaseError::Folder {
            path: folder.display().to_string(),
            source,
        })?;
    }
    // The native pool keeps an in-memory database alive for the other one.
    let native = SqlitePoolOptions::new()
        .max_connections(4)
        .min_connections(1)
        .idle_timeout(None)
        .connect_with(options)
        .await?;
    SQLITE_MIGRATIONS.run(&native).await?;
    // The Any driver reads the URL again for each connection; the file
    // exists now and is in WAL mode for good. sqlx turns foreign keys on
    // and waits 5 s for a lock by default; synchronous is per connection.
    let pool = AnyPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .after_connect(|connection, _| {
            Box::pin(async move {
                connection.execute("PRAGMA synchronous = NORMAL").await?;
                Ok(())
            })
        })
        .connect(&url)
        .await?;
    Ok(Database {
        pool,
        native: NativePool::Sqlite(native),
    })
}

async fn open_postgres(url: &str) -> Result<Database, DatabaseError> {
    let options = PgConnectOptions::from_str(url)?;
    let native = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await?;
    // Several processes may start at once: PostgreSQL's migration lock
    // (which sqlx takes) lets one migrate while the others wait.
    POSTGRES_MIGRATIONS.run(&native).await?;
    let pool = AnyPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .connect(url)
        .await?;
    Ok(Database {
        pool,
        native: NativePool::Postgres(native),
    })
}

/// `sqlite::memory:` as a named shared in-memory database: the Any driver
/// opens each connection from the URL, and an unnamed one would give each
/// connection a database of its own.
fn shared_memory_url(url: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    if url == "sqlite::memory:" {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        format!(
            "sqlite:file:workbench-memory-{}-{n}?mode=memory&cache=shared",
            std::process::id()
        )
    } else {
        url.to_string()
    }
}

/// The platform schema for SQLite, the default.
pub static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The same schema for PostgreSQL. Each migration has a twin of the same
/// version and name in both sets (a test holds them to it), so a database
/// of either kind at version N holds the same tables.
pub static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Seconds since the Unix epoch, as stored in `*_at` columns.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use sqlx::Connection;

    use super::*;

    #[test]
    fn both_schemas_have_the_same_migrations() {
        let names = |migrator: &sqlx::migrate::Migrator| -> Vec<(i64, String)> {
            migrator
                .iter()
                .map(|m| (m.version, m.description.to_string()))
                .collect()
        };
        assert_eq!(
            names(&SQLITE_MIGRATIONS),
            names(&POSTGRES_MIGRATIONS),
            "every migration in engine/migrations/sqlite needs its twin in engine/migrations/postgres"
        );
    }

    /// An administrator's connection to the local PostgreSQL, if it runs,
    /// and how it was made.
    async fn postgres_admin() -> Option<(sqlx::PgConnection, sqlx::postgres::PgConnectOptions)> {
        let url = std::env::var("WORKBENCH_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let options = sqlx::postgres::PgConnectOptions::from_str(&url).ok()?;
        match sqlx::PgConnection::connect_with(&options).await {
            Ok(connection) => Some((connection, options)),
            Err(error) => {
                eprintln!("skipped: no PostgreSQL at {url} ({error}); set WORKBENCH_TEST_POSTGRES");
                None
            }
        }
    }

    #[tokio::test]
    async fn the_postgres_schema_applies_and_moves_the_change_counter() {
        let Some((mut admin, options)) = postgres_admin().await else {
            return;
        };
        let name = format!("workbench_migrations_{}", rand::random::<u32>());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let options = options.database(&name);
        let outcome = async {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await?;
            POSTGRES_MIGRATIONS.run(&pool).await?;
            // Running again finds nothing to do.
            POSTGRES_MIGRATIONS.run(&pool).await?;
            sqlx::query("INSERT INTO students (id, kind, created_at) VALUES ('s1', 'account', 1)")
                .execute(&pool)
                .await?;
            sqlx::query("INSERT INTO accounts (student_id, email, display_name, password_hash, role, created_at, updated_at) VALUES ('s1', 'ada@example.com', 'Ada', 'x', 'student', 1, 1)")
                .execute(&pool)
                .await?;
            sqlx::query("UPDATE accounts SET role = 'instructor'")
                .execute(&pool)
                .await?;
            let epoch: i64 = sqlx::query_scalar("SELECT epoch FROM platform_changes")
                .fetch_one(&pool)
                .await?;
            let upper_case = sqlx::query("INSERT INTO students (id, kind, created_at) VALUES ('s2', 'account', 1); INSERT INTO accounts (student_id, email, display_name, password_hash, role, created_at, updated_at) VALUES ('s2', 'Bob@Example.com', 'Bob', 'x', 'student', 1, 1)")
                .execute(&pool)
                .await;
            let tables: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
            )
            .fetch_one(&pool)
            .await?;
            pool.close().await;
            Ok::<_, Box<dyn std::error::Error>>((epoch, upper_case.is_err(), tables))
        }
        .await;
        sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .unwrap();
        let (epoch, refused_upper_case, tables) = outcome.unwrap();
        assert_eq!(epoch, 1, "the account's update moved the counter once");
        assert!(refused_upper_case, "emails are stored lowercased");
        // students, lab_settings, accounts, attempts, hints_opened,
        // api_tokens, lessons_read, api_grade_calls, classes,
        // class_members, class_deadlines, platform_changes, demo_keys, cache_evictions, platform_secrets.
        assert_eq!(tables, 15);
    }
}
