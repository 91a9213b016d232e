//! `workbench check`: exit 0 on our course, `path:line: message` and exit 1 on a broken one.

use std::process::Command;

fn check(course: &std::path::Path) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_workbench"))
        .args(["check", "--course"])
        .arg(course)
        .env_remove("WORKBENCH_COURSE")
        .output()
        .expect("run workbench check");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).to_string(),
    )
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
