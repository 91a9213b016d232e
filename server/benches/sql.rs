//! Criterion benchmarks of the SQL lab: making a student's sandbox (copy
//! of the course template plus a guarded connection), the reference
//! queries of the join exercises on the course dataset, and grading one
//! `sql` attempt (the student's query and the cached reference, on the
//! course dataset and on the hidden one).

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use server::grading::GradeContext;
use server::labs::sql::dataset::{template, Variant};
use server::labs::sql::engine::{Access, Db};
use server::labs::sql::sandbox::{open, RUN_LIMITS};

/// The join exercises' reference queries (as in `exercises/sql-*.md`).
const JOINS: [(&str, &str); 4] = [
    ("inner join: cancelled orders with names", "SELECT o.id, c.name FROM orders AS o JOIN customers AS c ON c.id = o.customer_id WHERE o.status = 'cancelled'"),
    ("left join: every customer's order count", "SELECT c.id, c.name, count(o.id) FROM customers AS c LEFT JOIN orders AS o ON o.customer_id = c.id GROUP BY c.id, c.name"),
    ("anti-join: customers who never ordered", "SELECT id, email FROM customers AS c WHERE NOT EXISTS (SELECT 1 FROM orders AS o WHERE o.customer_id = c.id)"),
    ("self join: who referred whom", "SELECT c.name, r.name FROM customers AS c JOIN customers AS r ON r.id = c.referred_by"),
];

fn sandbox_creation(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let course = runtime.block_on(template(Variant::Course)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    c.bench_function("sandbox creation (copy the shop, open guarded)", |b| {
        b.iter(|| {
            n += 1;
            let path = dir.path().join(format!("s{n}.db"));
            std::fs::copy(course, &path).unwrap();
            let db = open(&path).unwrap();
            drop(db);
            std::fs::remove_file(&path).unwrap();
        })
    });
}

fn join_queries(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let course = runtime.block_on(template(Variant::Course)).unwrap();
    let mut db = Db::open(course, Access::ReadOnly, 0).unwrap();
    let mut group = c.benchmark_group("join exercise reference on the course dataset");
    for (name, sql) in JOINS {
        group.bench_function(name, |b| b.iter(|| db.run(sql, RUN_LIMITS).unwrap()));
    }
    group.finish();
}

fn grading_one_attempt(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let front_matter = format!("[check]\nreference = \"{}\"", JOINS[1].1);
    let kinds = server::labs::check_kinds();
    let checker = kinds.get("sql").unwrap().load(&front_matter, 1).unwrap();
    let answer = json!({ "sql": "SELECT c.id, c.name, count(o.customer_id) FROM customers c LEFT JOIN orders o ON c.id = o.customer_id GROUP BY c.id" });
    let context = GradeContext::default();
    // The first grade caches the reference's results, as a running server does.
    let first = runtime.block_on(checker.grade(&answer, &context)).unwrap();
    assert!(first.iter().all(|check| check.passed));
    c.bench_function("grade one sql attempt (left join, course + hidden)", |b| {
        b.iter(|| runtime.block_on(checker.grade(&answer, &context)).unwrap())
    });
}

criterion_group!(benches, sandbox_creation, join_queries, grading_one_attempt);
criterion_main!(benches);
