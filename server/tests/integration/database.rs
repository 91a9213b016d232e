//! The platform database: the embedded default, and `DATABASE_URL` overriding it.

use server::config::ServeConfig;

fn config(data_dir: &std::path::Path, database_url: Option<String>) -> ServeConfig {
    let mut config = ServeConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        crate::common::repo_root(),
        data_dir.to_path_buf(),
    );
    config.database.database_url = database_url;
    config.site_root = data_dir.join("site");
    config
}

#[tokio::test]
async fn the_default_database_is_created_in_the_data_folder_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let state = server::build_state(&config(&dir.path().join("data"), None))
        .await
        .unwrap();
    assert!(dir.path().join("data/workbench.db").exists());
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&state.pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn database_url_overrides_the_default_and_migrates_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/elsewhere/platform.db", dir.path().display());
    let state = server::build_state(&config(&dir.path().join("data"), Some(url)))
        .await
        .unwrap();
    assert!(dir.path().join("elsewhere/platform.db").exists());
    assert!(!dir.path().join("data/workbench.db").exists());
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_master WHERE name IN ('students', 'lab_settings')",
    )
    .fetch_one(&state.pool)
    .await
    .unwrap();
    assert_eq!(tables, 2, "migrations ran");
}

#[tokio::test]
async fn an_unsupported_database_url_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let Err(error) =
        server::build_state(&config(dir.path(), Some("mysql://localhost/test".into()))).await
    else {
        panic!("a MySQL URL must be refused");
    };
    assert!(
        error
            .to_string()
            .contains("use a sqlite: or a postgres:// URL"),
        "{error}"
    );
}

#[tokio::test]
async fn a_postgres_url_is_migrated_and_shared_by_two_servers() {
    let Some(database) = crate::common::postgres::ScratchDatabase::create_if_asked().await else {
        eprintln!("skipped: the tests run on SQLite (WORKBENCH_TEST_DATABASE=postgres runs this)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Two servers start at once on one empty database: one migrates, the
    // other waits for it, and both then see the same rows.
    let one = config(&dir.path().join("one"), Some(database.url.clone()));
    let two = config(&dir.path().join("two"), Some(database.url.clone()));
    let (first, second) = tokio::join!(server::build_state(&one), server::build_state(&two));
    let (first, second) = (first.unwrap(), second.unwrap());
    assert!(
        !dir.path().join("one/workbench.db").exists(),
        "no SQLite file"
    );
    sqlx::query("INSERT INTO students (id, kind, created_at) VALUES ($1, 'guest', $2)")
        .bind("s-shared")
        .bind(1_i64)
        .execute(&first.pool)
        .await
        .unwrap();
    let seen: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM students WHERE id = $1")
        .bind("s-shared")
        .fetch_one(&second.pool)
        .await
        .unwrap();
    assert_eq!(seen, 1);
}
