//! The query plans our lessons quote (the indexes lesson above all) are
//! the plans the SQL lab prints today.
//!
//! The convention (see AUTHORING.md): a ```` ```text ```` block whose first
//! line is `QUERY PLAN` quotes the plan of the ```` ```sql ```` block
//! before it (prose may sit between, another block may not), drawn as
//! SQLite's shell draws it.
//! The test walks each lesson as a student would, in a sandbox of its own:
//! it runs each `CREATE INDEX` or `DROP INDEX` block where it stands, and
//! asks for each quoted plan through `POST /labs/sql/plan`, the route
//! behind the Explain plan button.

use std::path::{Path, PathBuf};

use crate::common::{repo_root, TestServer};
use serde_json::{json, Value};

/// The lesson that quotes the most plans; the test insists it still does.
const INDEXES_LESSON: &str = "lessons/03-databases/04-indexes.md";

/// A fenced block of the lesson: its info string, its text, and the line
/// of its opening fence.
#[derive(Debug)]
struct Fence {
    info: String,
    body: String,
    line: usize,
}

/// What the walk through the lesson does, in order.
#[derive(Debug, PartialEq)]
enum Step {
    /// An index statement the student runs: it changes later plans.
    Run { line: usize, sql: String },
    /// A plan the text quotes for `sql`.
    Quote {
        line: usize,
        sql: String,
        plan: String,
    },
}

/// The ```` ``` ```` blocks of `markdown`, in order.
fn fences(markdown: &str) -> Vec<Fence> {
    let mut fences = Vec::new();
    let mut open: Option<Fence> = None;
    for (index, line) in markdown.lines().enumerate() {
        if let Some(fence) = open.as_mut() {
            if line.trim_end() == "```" {
                fences.extend(open.take());
            } else {
                fence.body.push_str(line);
                fence.body.push('\n');
            }
        } else if line.starts_with("```") {
            open = Some(Fence {
                info: line.trim_start_matches('`').trim().to_string(),
                body: String::new(),
                line: index + 1,
            });
        }
    }
    assert!(open.is_none(), "an unclosed fence");
    fences
}

/// Whether `sql` creates or drops an index.
fn changes_indexes(sql: &str) -> bool {
    let words: Vec<String> = sql
        .split_whitespace()
        .take(3)
        .map(str::to_ascii_uppercase)
        .collect();
    matches!(
        words.iter().map(String::as_str).collect::<Vec<_>>()[..],
        ["CREATE", "INDEX", ..] | ["CREATE", "UNIQUE", "INDEX"] | ["DROP", "INDEX", ..]
    )
}

/// A lesson as a walk: index statements to run and plans to check.
/// `name` only labels a misplaced quote.
fn walk(name: &str, markdown: &str) -> Vec<Step> {
    let fences = fences(markdown);
    let mut steps = Vec::new();
    for (at, fence) in fences.iter().enumerate() {
        if fence.info == "sql" && changes_indexes(&fence.body) {
            steps.push(Step::Run {
                line: fence.line,
                sql: fence.body.trim().to_string(),
            });
        }
        if fence.info != "text" || fence.body.lines().next() != Some("QUERY PLAN") {
            continue;
        }
        let query = at.checked_sub(1).map(|before| &fences[before]);
        let Some(query) = query.filter(|q| q.info == "sql") else {
            panic!(
                "{name}:{}: a quoted plan must follow the ```sql block it explains, with no other block between",
                fence.line
            );
        };
        steps.push(Step::Quote {
            line: fence.line,
            sql: query.body.trim().to_string(),
            plan: fence.body.trim_end().to_string(),
        });
    }
    steps
}

/// A plan as SQLite's shell draws it: `QUERY PLAN`, then `|--` for a step
/// with siblings below it and `` `-- `` for the last one, children indented.
fn draw(plan: &Value) -> String {
    let mut drawn = String::from("QUERY PLAN");
    draw_level(&plan["steps"], "", &mut drawn);
    drawn
}

fn draw_level(nodes: &Value, prefix: &str, drawn: &mut String) {
    let nodes = nodes.as_array().expect("plan steps are a list");
    for (index, node) in nodes.iter().enumerate() {
        let last = index + 1 == nodes.len();
        drawn.push('\n');
        drawn.push_str(prefix);
        drawn.push_str(if last { "`--" } else { "|--" });
        drawn.push_str(node["detail"].as_str().expect("a step has a detail"));
        let indent = format!("{prefix}{}", if last { "   " } else { "|  " });
        draw_level(&node["children"], &indent, drawn);
    }
}

/// Walks the lesson `name` (its text is `markdown`) in a fresh sandbox;
/// returns how many plans were checked and a message for every quote that
/// differs from the lab.
async fn check(server: &TestServer, name: &str, markdown: &str) -> (usize, Vec<String>) {
    let steps = walk(name, markdown);
    if !steps.iter().any(|s| matches!(s, Step::Quote { .. })) {
        return (0, Vec::new());
    }
    let student = server.browser();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for step in steps {
        match step {
            Step::Run { line, sql } => {
                let response = student
                    .post(server.url("/labs/sql/query"))
                    .json(&json!({ "sql": sql }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200, "{name}:{line}: {sql}");
            }
            Step::Quote { line, sql, plan } => {
                let response = student
                    .post(server.url("/labs/sql/plan"))
                    .json(&json!({ "sql": sql }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200, "{name}:{line}: {sql}");
                let printed = draw(&response.json().await.unwrap());
                if printed != plan {
                    wrong.push(format!(
                        "{name}:{line}: the plan of\n  {sql}\nis quoted as\n{plan}\nbut the lab prints\n{printed}"
                    ));
                }
                checked += 1;
            }
        }
    }
    (checked, wrong)
}

/// Every lesson file of the course, by its path under the repository.
fn lessons() -> Vec<String> {
    let root = repo_root();
    let mut found = Vec::new();
    let mut folders = vec![root.join("lessons")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("lessons folder") {
            let path: PathBuf = entry.expect("folder entry").path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                found.push(relative(&root, &path));
            }
        }
    }
    found.sort();
    found
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .expect("under the repository")
        .to_string_lossy()
        .replace('\\', "/")
}

fn read(lesson: &str) -> String {
    std::fs::read_to_string(repo_root().join(lesson)).expect("the lesson is readable")
}

#[tokio::test]
async fn every_plan_a_lesson_quotes_is_what_the_lab_prints() {
    let server = TestServer::start().await;
    let mut wrong = Vec::new();
    let mut in_indexes_lesson = 0;
    for lesson in lessons() {
        let (checked, mistakes) = check(&server, &lesson, &read(&lesson)).await;
        wrong.extend(mistakes);
        if lesson == INDEXES_LESSON {
            in_indexes_lesson = checked;
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
    assert!(
        in_indexes_lesson >= 15,
        "only {in_indexes_lesson} quoted plans found in {INDEXES_LESSON}: did the convention change?"
    );
}

#[tokio::test]
async fn a_plan_quoted_wrongly_is_caught() {
    let server = TestServer::start().await;
    let original = read(INDEXES_LESSON);
    // The mistake the lesson once made: a covering index that SQLite does
    // not use for the NOT EXISTS anti-join.
    let edited = original.replacen(
        "QUERY PLAN\n|--SCAN c\n",
        "QUERY PLAN\n|--SCAN c USING COVERING INDEX sqlite_autoindex_customers_1\n",
        1,
    );
    assert_ne!(edited, original, "the NOT EXISTS plan is no longer quoted");
    let (_, wrong) = check(&server, INDEXES_LESSON, &edited).await;
    assert_eq!(wrong.len(), 1, "{wrong:?}");
    assert!(
        wrong[0].contains("SCAN c USING COVERING INDEX"),
        "{}",
        wrong[0]
    );
    // A plan line left out is caught too: the LEFT JOIN's Bloom filter.
    let shortened = original.replacen("|--BLOOM FILTER ON o (customer_id=?)\n", "", 1);
    assert_ne!(
        shortened, original,
        "the LEFT JOIN plan is no longer quoted"
    );
    let (_, wrong) = check(&server, INDEXES_LESSON, &shortened).await;
    assert_eq!(wrong.len(), 1, "{wrong:?}");
}

#[test]
fn a_quote_belongs_to_the_sql_block_before_it() {
    let markdown = "Intro.\n\n```sql\nCREATE INDEX i ON t (a);\n```\n\n```sql\nSELECT a FROM t;\n```\n\nExplain it:\n\n```text\nQUERY PLAN\n`--SCAN t\n```\n\n```text\nnot a plan\n```\n";
    assert_eq!(
        walk("example.md", markdown),
        vec![
            Step::Run {
                line: 3,
                sql: "CREATE INDEX i ON t (a);".into()
            },
            Step::Quote {
                line: 13,
                sql: "SELECT a FROM t;".into(),
                plan: "QUERY PLAN\n`--SCAN t".into(),
            },
        ]
    );
    let nested = json!({ "steps": [
        { "detail": "SCAN c", "children": [] },
        { "detail": "CORRELATED SCALAR SUBQUERY 1", "children": [
            { "detail": "SCAN o", "children": [] },
        ] },
    ] });
    assert_eq!(
        draw(&nested),
        "QUERY PLAN\n|--SCAN c\n`--CORRELATED SCALAR SUBQUERY 1\n   `--SCAN o"
    );
}

#[test]
#[should_panic(expected = "must follow the ```sql block")]
fn a_quote_with_another_block_before_it_is_refused() {
    walk(
        "example.md",
        "```sql\nSELECT 1;\n```\n\n```rust\nlet x = 1;\n```\n\n```text\nQUERY PLAN\n`--SCAN t\n```\n",
    );
}
