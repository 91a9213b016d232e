//! The integration tests on PostgreSQL: with `WORKBENCH_TEST_DATABASE` set
//! (to `postgres`, or to an administrator's URL), every test server gets a
//! fresh database of its own on that server, dropped with it. Unset, the
//! servers use SQLite, the default.

use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor};

/// Where the tests find PostgreSQL when asked for it by name only.
const LOCAL_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The administrator's URL the tests were asked to use, if any.
pub fn asked_for() -> Option<String> {
    match std::env::var("WORKBENCH_TEST_DATABASE").ok()?.as_str() {
        "" | "sqlite" => None,
        "postgres" => Some(LOCAL_POSTGRES.into()),
        url => Some(url.into()),
    }
}

/// One test server's database.
#[derive(Debug)]
pub struct ScratchDatabase {
    /// The server's `DATABASE_URL`.
    pub url: String,
    admin: PgConnectOptions,
    name: String,
}

impl ScratchDatabase {
    /// A new, empty database when the tests run on PostgreSQL. Asked for and
    /// unreachable is a failure, not a skip: the run said it wants it.
    pub async fn create_if_asked() -> Option<Self> {
        Some(Self::create(&asked_for()?).await)
    }

    /// A new, empty database on the server `admin_url` administers.
    pub async fn create(admin_url: &str) -> Self {
        let admin = PgConnectOptions::from_str(admin_url).expect("an administrator's URL");
        let mut connection = admin
            .connect()
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url}: {e}"));
        let name = unique_name();
        connection
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create the test database");
        connection.close().await.ok();
        let url = admin.clone().database(&name).to_url_lossy().to_string();
        Self { url, admin, name }
    }
}

/// A database name no other test, in this run or another, has: the
/// process, the time and a count.
fn unique_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "workbench_test_{}_{nanos}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        // Dropping happens inside the test's runtime, which cannot be
        // blocked on; a thread of its own does the asynchronous part.
        let admin = self.admin.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut connection = admin.connect().await.ok()?;
                connection.execute(statement.as_str()).await.ok()?;
                connection.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("could not drop the test database {}", self.name);
        }
    }
}
