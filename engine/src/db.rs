//! The platform database: one SQLite file in WAL mode by default, created and
//! migrated at start.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// The URL names a database this build cannot use.
    #[error("DATABASE_URL {0:?} is not supported yet: use a sqlite: URL (PostgreSQL support is planned)")]
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

/// Opens (creating if needed) and migrates the platform database.
pub async fn connect(url: &str) -> Result<SqlitePool, DatabaseError> {
    if !url.starts_with("sqlite:") {
        return Err(DatabaseError::Unsupported(url.to_string()));
    }
    let options = SqliteConnectOptions::from_str(url)?
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
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    SQLITE_MIGRATIONS.run(&pool).await?;
    Ok(pool)
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
        // class_members, class_deadlines, platform_changes, demo_keys.
        assert_eq!(tables, 13);
    }
}
