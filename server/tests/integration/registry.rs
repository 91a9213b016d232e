//! The registries on both sides agree: every lab widget the app registers
//! belongs to a lab the engine runs, and a course naming a widget or a
//! `lab = "..."` that nothing registers fails to load, at its line.

use std::path::Path;

use crate::common::TestServer;
use server::content::load_course;

#[test]
fn every_lab_widget_belongs_to_a_registered_lab_and_names_are_unique() {
    let labs = server::labs::names();
    let mut seen = std::collections::HashSet::new();
    for widget in app::LAB_WIDGETS {
        assert!(
            labs.contains(&widget.lab),
            "widget `{}` belongs to `{}`, which is not a registered lab ({labs:?})",
            widget.name,
            widget.lab
        );
        assert!(
            seen.insert(widget.name),
            "two widgets are called `{}`",
            widget.name
        );
    }
}

#[tokio::test]
async fn every_registered_lab_serves_its_settings() {
    let server = TestServer::start().await;
    let client = server.browser();
    for lab in server::labs::names() {
        let response = client
            .get(server.url(&format!("/labs/{lab}/settings")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "/labs/{lab}/settings");
    }
}

fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const LESSON_HEAD: &str = "+++\ntitle = \"Caching\"\nsummary = \"s\"\nminutes = 1\n+++\n\n";

#[test]
fn a_lesson_naming_an_unregistered_widget_fails_at_its_line() {
    let course = tempfile::tempdir().unwrap();
    let lesson = format!("{LESSON_HEAD}Try it:\n\n```widget cache-consol\n```\n");
    write(course.path(), "lessons/01-caching/01-why.md", &lesson);
    let Err(errors) = load_course(course.path(), &server::vocabulary()) else {
        panic!("an unknown widget is an authoring error");
    };
    let errors = errors.to_string();
    assert!(errors.contains("01-why.md:9:"), "{errors}");
    assert!(
        errors.contains("unknown lab widget `cache-consol`"),
        "{errors}"
    );
    assert!(
        errors.contains("cache-console"),
        "lists the real ones: {errors}"
    );

    let fixed = format!("{LESSON_HEAD}Try it:\n\n```widget cache-console\n```\n");
    write(course.path(), "lessons/01-caching/01-why.md", &fixed);
    load_course(course.path(), &server::vocabulary()).expect("a registered widget loads");
}

#[test]
fn an_exercise_checking_an_unregistered_lab_fails_at_its_check() {
    let course = tempfile::tempdir().unwrap();
    write(
        course.path(),
        "lessons/01-caching/01-why.md",
        &format!("{LESSON_HEAD}Body.\n"),
    );
    // A lab no registry will ever hold.
    let exercise = "+++\nid = \"telepathy-lab\"\ntitle = \"Telepathy\"\nkind = \"lab\"\npoints = 1\nlesson = \"01-caching/01-why\"\n[check]\nlab = \"telepathy\"\n+++\nConfigure the telepathy.\n";
    write(course.path(), "exercises/telepathy-lab.md", exercise);
    let Err(errors) = load_course(course.path(), &server::vocabulary()) else {
        panic!("an unknown lab is an authoring error");
    };
    let errors = errors.to_string();
    assert!(errors.contains("telepathy-lab.md:7:"), "{errors}");
    assert!(errors.contains("\"telepathy\""), "{errors}");
    for lab in ["auth", "sql", "cache", "ratelimit", "queue"] {
        assert!(errors.contains(lab), "lists the labs with checks: {errors}");
    }
}
