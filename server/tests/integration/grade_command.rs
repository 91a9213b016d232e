//! `workbench grade`: exit status 0 only when everything passed, 1 when
//! something failed, 2 when nothing could be graded; JUnit output parses.

use std::ffi::OsStr;
use std::io::Write;
use std::process::Command;

/// Runs `workbench grade ARGS` on the repository's course with `stdin`.
fn grade(args: &[&str], stdin: &str) -> (i32, String, String) {
    let root = crate::common::repo_root();
    let mut all: Vec<&OsStr> = vec![OsStr::new("grade")];
    all.extend(args.iter().map(OsStr::new));
    all.extend([OsStr::new("--course"), root.as_os_str()]);
    crate::common::run_workbench(&all, "WORKBENCH_COURSE", stdin)
}

fn submissions_file() -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    for line in [
        r#"{"student": "ada", "exercise": "http-safe-methods", "answer": ["OPTIONS", "GET", "HEAD"]}"#,
        r#"{"student": "bob", "exercise": "http-safe-methods", "answer": ["GET", "PUT"]}"#,
        r#"{"student": "cy", "exercise": "http-request-parts-order", "answer": ["The request line", "An empty line", "Headers, one per line", "The body"]}"#,
        r#"{"student": "dee", "exercise": "no-such-exercise", "answer": "x"}"#,
    ] {
        writeln!(file, "{line}").unwrap();
    }
    file
}

#[test]
fn a_right_answer_exits_0_and_a_wrong_one_exits_1() {
    let (code, stdout, _) = grade(
        &["--exercise", "http-host-header", "--answer", "-"],
        "  host \n",
    );
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.starts_with("PASS"), "{stdout}");
    let (code, stdout, _) = grade(
        &["--exercise", "http-host-header", "--answer", "-"],
        "Accept\n",
    );
    assert_eq!(code, 1, "{stdout}");
}

#[test]
fn sql_answers_and_sql_lab_state_grade_from_the_command_line() {
    let (code, stdout, _) = grade(
        &["--exercise", "sql-self-join", "--answer", "-"],
        r#"{"sql": "SELECT a.name, b.name FROM customers a, customers b WHERE a.referred_by = b.id"}"#,
    );
    assert_eq!(code, 0, "{stdout}");
    let (code, stdout, _) = grade(
        &[
            "--exercise",
            "sql-self-join",
            "--answer",
            "-",
            "--format",
            "json",
        ],
        r#"{"sql": "SELECT name, name FROM customers WHERE referred_by IS NOT NULL LIMIT 5"}"#,
    );
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("hidden dataset"), "{stdout}");
    let (code, stdout, _) = grade(
        &[
            "--exercise",
            "sql-index-orders-by-customer",
            "--answer",
            "-",
        ],
        r#"{"indexes": ["CREATE INDEX by_customer ON orders (customer_id, placed_at)"]}"#,
    );
    assert_eq!(code, 0, "{stdout}");
    let (code, stdout, _) = grade(
        &["--exercise", "sql-withdrawal-fix", "--answer", "-"],
        r#"{"settings": {"transaction": "deferred", "retry_on_busy": true}}"#,
    );
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn junit_output_parses_and_names_every_failure() {
    let file = submissions_file();
    let (code, stdout, stderr) = grade(
        &[
            "--submissions",
            file.path().to_str().unwrap(),
            "--format",
            "junit",
        ],
        "",
    );
    assert_eq!(code, 1, "{stderr}");
    let document = roxmltree::Document::parse(&stdout).expect("JUnit XML parses");
    let suite = document
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(suite.attribute("tests"), Some("4"));
    assert_eq!(suite.attribute("failures"), Some("3"));
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 4);
    let passed = cases
        .iter()
        .filter(|c| c.children().all(|n| !n.is_element()))
        .count();
    assert_eq!(passed, 1, "only ada passed");
    let cy = cases
        .iter()
        .find(|c| c.attribute("classname") == Some("cy"))
        .unwrap();
    let failure = cy.children().find(|n| n.has_tag_name("failure")).unwrap();
    assert!(
        failure.text().unwrap().contains("the order"),
        "right items, wrong order fails"
    );
    let dee = cases
        .iter()
        .find(|c| c.attribute("classname") == Some("dee"))
        .unwrap();
    assert!(dee.children().any(|n| n.has_tag_name("error")));
}

#[test]
fn csv_and_json_report_the_same_results() {
    let file = submissions_file();
    let path = file.path().to_str().unwrap();
    let (_, csv, _) = grade(&["--submissions", path, "--format", "csv"], "");
    let rows: Vec<_> = csv.lines().collect();
    assert_eq!(rows[0], "student,exercise,score,max,passed,failed_checks");
    assert_eq!(rows[1], "ada,http-safe-methods,2,2,true,");
    assert!(
        rows[2].starts_with("bob,http-safe-methods,0,2,false,"),
        "{}",
        rows[2]
    );
    let (_, json, _) = grade(&["--submissions", path, "--format", "json"], "");
    let results: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(results[0]["passed"], true);
    assert_eq!(results[0]["score"], 2);
    assert_eq!(
        results[3]["error"],
        "there is no exercise `no-such-exercise`"
    );
}

#[test]
fn unusable_input_exits_2_with_a_reason() {
    let (code, _, stderr) = grade(&["--answer", "-"], "x");
    assert_eq!(code, 2);
    assert!(stderr.contains("--exercise"), "{stderr}");
    let mut broken = tempfile::NamedTempFile::new().unwrap();
    writeln!(broken, "not json").unwrap();
    let (code, _, stderr) = grade(&["--submissions", broken.path().to_str().unwrap()], "");
    assert_eq!(code, 2);
    assert!(stderr.contains(":1: not a submission"), "{stderr}");
    let (code, _, stderr) = grade(
        &[
            "--probe",
            "http://192.0.2.1:80",
            "--exercise",
            "probe-health",
        ],
        "",
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("not a loopback address"), "{stderr}");
}

#[test]
fn a_probe_prints_each_check_as_it_goes() {
    let (code, stdout, _) = grade(
        &[
            "--probe",
            "http://127.0.0.1:1",
            "--exercise",
            "probe-rest-create",
        ],
        "",
    );
    assert_eq!(code, 1);
    let lines: Vec<_> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("FAIL POST /todos creates a todo: answered"),
        "{stdout}"
    );
    assert!(lines[1].contains("not run"), "{stdout}");
    assert!(stdout.contains("0 of 1 passed"), "{stdout}");
}

#[tokio::test]
async fn regrade_applies_a_changed_exercise_to_stored_attempts() {
    let course = crate::common::copy_of_course();
    let server = crate::common::TestServer::start_with(course.path().to_path_buf(), false).await;
    let student = server.browser();
    let graded: serde_json::Value = student
        .post(server.url("/api/exercises/http-host-header/attempts"))
        .json(&serde_json::json!({ "answer": "Server-Name" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(graded["outcome"]["score"], 0);

    // The instructor decides `Server-Name` deserves the point too.
    let file = course.path().join("exercises/http-host-header.md");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace(
            r#"accept = ["Host", "Host:"]"#,
            r#"accept = ["Host", "Host:", "Server-Name"]"#,
        ),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_workbench"))
        .args(["regrade", "--course"])
        .arg(course.path())
        .args(server.database_flags())
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.starts_with("regraded 1 attempts (1 changed score)"),
        "{stdout}"
    );

    // The command is another process beside the running server, as an
    // instructor's regrade of a live class is.
    let score: i64 = sqlx::query_scalar("SELECT score FROM attempts")
        .fetch_one(&server.state.pool)
        .await
        .unwrap();
    assert_eq!(score, 1);
    server.stop().await;
}
