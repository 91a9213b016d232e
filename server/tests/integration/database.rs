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
    let Err(error) = server::build_state(&config(
        dir.path(),
        Some("postgres://localhost/test".into()),
    ))
    .await
    else {
        panic!("a postgres URL must be refused for now");
    };
    assert!(error.to_string().contains("use a sqlite: URL"), "{error}");
}
