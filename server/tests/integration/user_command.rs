//! `workbench user add`: creates or promotes accounts; the password comes
//! from standard input, never from an argument.

use std::ffi::{OsStr, OsString};

use crate::common::{repo_root, TestServer};
use serde_json::json;

/// Runs `workbench user add` against the database `database` names (the
/// command's database flags), feeding `stdin`.
fn user_add(database: &[OsString], args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut all: Vec<&OsStr> = vec![OsStr::new("user"), OsStr::new("add")];
    all.extend(args.iter().map(OsStr::new));
    all.extend(database.iter().map(OsString::as_os_str));
    crate::common::run_workbench(&all, "DATABASE_URL", stdin)
}

#[tokio::test]
async fn an_instructor_made_on_the_command_line_can_sign_in_and_use_instructor_routes() {
    let server = TestServer::start_configured(repo_root(), |_| {}).await;
    let data = server.database_flags();

    let (code, stdout, stderr) = user_add(
        &data,
        &["tess@example.com", "--role", "instructor", "--name", "Tess"],
        "a long teaching passphrase\n",
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), "created tess@example.com as instructor");

    let tess = server.browser();
    let signed_in = tess
        .post(server.url("/auth/signin"))
        .json(&json!({ "email": "tess@example.com", "password": "a long teaching passphrase" }))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 200);
    let accounts = tess
        .get(server.url("/api/instructor/accounts"))
        .send()
        .await
        .unwrap();
    assert_eq!(accounts.status(), 200);

    // Run again: the existing account is promoted and no password is read.
    let (code, stdout, _) = user_add(&data, &["TESS@example.com", "--role", "admin"], "");
    assert_eq!(code, 0);
    assert_eq!(stdout.trim(), "TESS@example.com is now admin");
    server.stop().await;
}

#[test]
fn a_weak_password_or_a_bad_email_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let data = ["--data-dir".into(), dir.path().into()];
    let (code, _, stderr) = user_add(&data, &["ada@example.com"], "short\n");
    assert_eq!(code, 1);
    assert!(stderr.contains("at least 10 characters"), "{stderr}");

    let (code, _, stderr) = user_add(&data, &["not-an-email"], "a fine passphrase\n");
    assert_eq!(code, 1);
    assert!(stderr.contains("@"), "{stderr}");
}
