//! `workbench check`: exit 0 on our course, `path:line: message` and exit 1 on a broken one.

use std::process::Command;

fn check(course: &std::path::Path) -> (i32, String) {
    let (code, stdout, _) = check_all(course);
    (code, stdout)
}

#[test]
fn our_own_course_checks_clean() {
    let (code, stdout) = check(&crate::common::repo_root());
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.starts_with("ok: "), "{stdout}");
}

#[test]
fn every_planted_error_is_reported_with_its_file_and_line() {
    let course = crate::common::copy_of_course();
    let lessons = course.path().join("lessons/01-http");
    std::fs::write(
        lessons.join("03-broken.md"),
        "+++\ntitle = \"Broken\"\nsummary = \"s\"\nminutes = \"ten\"\n+++\n\nBody\n",
    )
    .unwrap();
    std::fs::write(
        lessons.join("04-widget.md"),
        "+++\ntitle = \"Widget\"\nsummary = \"s\"\nminutes = 5\n+++\n\nText.\n\n```htpp\nGET /\n```\n",
    )
    .unwrap();
    std::fs::write(
        lessons.join("05-anatomy.md"),
        "+++\ntitle = \"Again\"\nsummary = \"s\"\nminutes = 5\n+++\n",
    )
    .unwrap();

    let (code, stdout) = check(course.path());
    assert_eq!(code, 1, "{stdout}");
    let shown = |name: &str| format!("{}", lessons.join(name).display());
    assert!(
        stdout.contains(&format!(
            "{}:4: front matter: invalid type",
            shown("03-broken.md")
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "{}:9: unknown widget or language `htpp`",
            shown("04-widget.md")
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "{}:1: duplicate lesson slug `anatomy`",
            shown("05-anatomy.md")
        )),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 3, "one line per error: {stdout}");
}

#[test]
fn a_course_path_inside_the_working_folder_is_shown_relative() {
    let course = crate::common::copy_of_course();
    std::fs::write(
        course.path().join("lessons/01-http/09-bad.md"),
        "no front matter\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_workbench"))
        .args(["check", "--course", "."])
        .current_dir(course.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("lessons/01-http/09-bad.md:1: "),
        "{stdout}"
    );
}

#[test]
fn exercise_authoring_errors_are_reported_with_their_file_and_line() {
    let course = crate::common::copy_of_course();
    let exercises = course.path().join("exercises");
    let quiz = |id: &str, extra: &str| {
        format!("+++\nid = \"{id}\"\ntitle = \"T\"\nkind = \"quiz\"\npoints = 1\nlesson = \"http/anatomy\"\n{extra}+++\nPrompt.\n")
    };
    std::fs::write(
        exercises.join("essay.md"),
        "+++\nid = \"essay\"\ntitle = \"T\"\nkind = \"essay\"\npoints = 1\nlesson = \"http/anatomy\"\n[check]\n+++\nPrompt.\n",
    )
    .unwrap();
    std::fs::write(
        exercises.join("no-reference.md"),
        quiz("no-reference", "[check]\nquestion = \"short\"\n"),
    )
    .unwrap();
    std::fs::write(
        exercises.join("copy.md"),
        quiz(
            "http-host-header",
            "[check]\nquestion = \"short\"\naccept = [\"x\"]\n",
        ),
    )
    .unwrap();
    std::fs::write(
        exercises.join("lost.md"),
        quiz("lost", "[check]\nquestion = \"short\"\naccept = [\"x\"]\n")
            .replace("http/anatomy", "http/nowhere"),
    )
    .unwrap();
    let lesson = course
        .path()
        .join("lessons/01-http/02-status-codes-and-verbs.md");
    let text = std::fs::read_to_string(&lesson).unwrap();
    std::fs::write(&lesson, format!("{text}\n```exercise missing-one\n```\n")).unwrap();
    let missing_line = text.lines().count() + 2;

    let (code, stdout) = check(course.path());
    assert_eq!(code, 1, "{stdout}");
    let shown = |path: &std::path::Path| path.display().to_string();
    for expected in [
        format!(
            "{}:4: unknown kind `essay`: kinds are quiz, http, probe, lab",
            shown(&exercises.join("essay.md"))
        ),
        format!(
            "{}:7: [check]: a short answer needs a reference",
            shown(&exercises.join("no-reference.md"))
        ),
        format!(
            "{}:2: `id` is \"http-host-header\" but the file is copy.md",
            shown(&exercises.join("copy.md"))
        ),
        format!(
            "{}:6: `lesson` \"http/nowhere\" is not a lesson of this course",
            shown(&exercises.join("lost.md"))
        ),
        format!(
            "{}:{missing_line}: no exercise `missing-one`",
            shown(&lesson)
        ),
    ] {
        assert!(
            stdout.contains(&expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}

/// Runs `workbench check` on `course`: exit code, stdout, stderr.
fn check_all(course: &std::path::Path) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_workbench"))
        .args(["check", "--course"])
        .arg(course)
        .env_remove("WORKBENCH_COURSE")
        .output()
        .expect("run workbench check");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

/// Adds ```exercise <id>``` to the end of a lesson.
fn embed(lesson: &std::path::Path, id: &str) {
    let text = std::fs::read_to_string(lesson).unwrap();
    std::fs::write(lesson, format!("{text}\n```exercise {id}\n```\n")).unwrap();
}

#[test]
fn the_lint_finds_what_loading_cannot_and_the_summary_has_its_own_line() {
    let course = crate::common::copy_of_course();
    let root = course.path();
    let exercises = root.join("exercises");
    let quiet = root.join("lessons/01-http/03-quiet.md");
    std::fs::write(
        &quiet,
        "+++\ntitle = \"Quiet\"\nsummary = \"s\"\nminutes = 5\n+++\n\nNothing to do here.\n",
    )
    .unwrap();
    std::fs::write(
        exercises.join("orphan.md"),
        "+++\nid = \"orphan\"\ntitle = \"T\"\nkind = \"quiz\"\npoints = 1\nlesson = \"http/anatomy\"\n[check]\nquestion = \"short\"\naccept = [\"x\"]\n+++\nPrompt.\n",
    )
    .unwrap();
    // The rate-limit lab's defaults are a token bucket of 10 at 1 per second.
    let lab = |id: &str, allow: &str| {
        format!("+++\nid = \"{id}\"\ntitle = \"T\"\nkind = \"lab\"\npoints = 1\nlesson = \"rate-limiting/algorithms\"\n{allow}[check]\nlab = \"ratelimit\"\nburst = 10\nsustain_per_sec = 1.0\n+++\nPrompt.\n")
    };
    std::fs::write(exercises.join("lint-defaults.md"), lab("lint-defaults", "")).unwrap();
    std::fs::write(
        exercises.join("lint-defaults-meant.md"),
        lab(
            "lint-defaults-meant",
            "lint_allow = [\"passes-untouched\"]\n",
        ),
    )
    .unwrap();
    let sql = |id: &str, reference: &str| {
        format!("+++\nid = \"{id}\"\ntitle = \"T\"\nkind = \"sql\"\npoints = 1\nlesson = \"databases/joins\"\n[check]\nreference = \"{reference}\"\n+++\nPrompt.\n")
    };
    std::fs::write(
        exercises.join("lint-no-rows.md"),
        sql("lint-no-rows", "SELECT name FROM customers WHERE 0"),
    )
    .unwrap();
    std::fs::write(
        exercises.join("lint-same-rows.md"),
        sql("lint-same-rows", "SELECT 1 AS one"),
    )
    .unwrap();
    let algorithms = root.join("lessons/05-rate-limiting/02-algorithms.md");
    embed(&algorithms, "lint-defaults");
    embed(&algorithms, "lint-defaults-meant");
    let joins = root.join("lessons/03-databases/02-joins.md");
    embed(&joins, "lint-no-rows");
    embed(&joins, "lint-same-rows");

    let (code, stdout, stderr) = check_all(root);
    assert_eq!(code, 1, "{stdout}");
    let shown = |path: &std::path::Path| path.display().to_string();
    let expected = [
        format!("{}:1: the lesson has no exercise", shown(&quiet)),
        format!(
            "{}:6: no lesson shows this exercise, so students cannot reach it: add ```exercise orphan``` to lesson `http/anatomy`",
            shown(&exercises.join("orphan.md"))
        ),
        format!(
            "{}:6: the check passes for a student who has done nothing yet",
            shown(&exercises.join("lint-defaults.md"))
        ),
        format!(
            "{}:6: [check]: the reference query returns no rows on the course dataset",
            shown(&exercises.join("lint-no-rows.md"))
        ),
        format!(
            "{}:6: [check]: the reference query returns the same rows on the course dataset and the hidden one",
            shown(&exercises.join("lint-same-rows.md"))
        ),
    ];
    for line in &expected {
        assert!(
            stdout.lines().any(|l| l.starts_with(line.as_str())),
            "missing {line:?} in:\n{stdout}"
        );
    }
    assert!(
        !stdout.contains("lint-defaults-meant"),
        "`lint_allow` declares it intended:\n{stdout}"
    );
    assert_eq!(stdout.lines().count(), expected.len(), "{stdout}");
    assert!(stdout.ends_with('\n'), "{stdout:?}");
    assert_eq!(stderr, format!("\n{} authoring error(s)\n", expected.len()));
}
