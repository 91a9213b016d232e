//! Criterion benchmarks of work the server does off the request path:
//! loading and rendering the whole course (start-up and every dev-mode save)
//! recording and filing a trace in the inspector's store (every lab
//! request), and searching the whole course (every key a reader types in
//! the search box, after a short pause).

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use server::content::load_course;
use server::identity::StudentId;
use server::inspector::{Inspector, LabEvent, TraceId, TraceStore};

fn course_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn load_and_render_the_course(c: &mut Criterion) {
    let root = course_root();
    let vocabulary = server::vocabulary();
    c.bench_function("load_course (parse, highlight, render every lesson)", |b| {
        b.iter(|| load_course(&root, &vocabulary).expect("our course loads"))
    });
}

/// What arrived, as the inspector's first event of every lab request.
#[derive(serde::Serialize)]
struct Received<'a> {
    method: &'a str,
    path: &'a str,
    http_version: &'static str,
    traceparent: Option<&'a str>,
}

impl LabEvent for Received<'_> {
    const KIND: &'static str = "http.request";
    fn summary(&self) -> String {
        format!("{} {} received", self.method, self.path)
    }
}

fn record_and_file_a_trace(c: &mut Criterion) {
    let store = TraceStore::new(200, 10_000, usize::MAX);
    let students: Vec<StudentId> = (0..1_000)
        .map(|i| StudentId::from_raw(format!("g{i}")))
        .collect();
    let mut next = 0;
    c.bench_function(
        "record and file a lab request's trace (1,000 active students)",
        |b| {
            b.iter(|| {
                let inspector = Inspector::new(TraceId::random());
                inspector.record(&Received {
                    method: "GET",
                    path: "/labs/http/echo",
                    http_version: "HTTP/1.1",
                    traceparent: None,
                });
                {
                    let mut step = inspector.step("session.load", "student found in session");
                    step.field("student_kind", "guest");
                }
                drop(inspector.step("lab.handler", "the lab's handler ran"));
                let trace = inspector.finish("GET", "/labs/http/echo".into(), 200, 0);
                store.insert(&students[next % students.len()], trace);
                next += 1;
            })
        },
    );
}

/// One search of the whole course per kind of query, against the lookup
/// of one lesson page as the baseline.
fn search_the_course(c: &mut Criterion) {
    let course = load_course(&course_root(), &server::vocabulary()).expect("our course loads");
    let mut group = c.benchmark_group("search");
    group.bench_function("baseline: one lesson page by its slug", |b| {
        b.iter(|| course.lesson("caching", "stampedes"))
    });
    for (kind, query) in [
        ("one word", "idempotency"),
        ("two words", "thundering herd"),
        ("a word being typed", "thunderi"),
        ("a typo", "idempotnecy"),
        ("four words, one unknown", "cache stampede lock zzqxv"),
    ] {
        group.bench_function(kind, |b| b.iter(|| course.search().search(query, 8)));
    }
    group.finish();
}

criterion_group!(
    benches,
    load_and_render_the_course,
    record_and_file_a_trace,
    search_the_course
);
criterion_main!(benches);
