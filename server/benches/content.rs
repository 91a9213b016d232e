//! Criterion benchmarks of work the server does off the request path:
//! loading and rendering the whole course (start-up and every dev-mode save)
//! and filing a trace in the inspector's store (every lab request).

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use model::{TraceEventView, TraceView};
use server::content::load_course;
use server::identity::StudentId;
use server::inspector::TraceStore;

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

fn file_a_trace(c: &mut Criterion) {
    let store = TraceStore::new(200, 10_000, usize::MAX);
    let students: Vec<StudentId> = (0..1_000)
        .map(|i| StudentId::from_raw(format!("g{i}")))
        .collect();
    let trace = TraceView {
        trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
        events: vec![
            TraceEventView {
                kind: "http.echo".into(),
                summary: "echo".into(),
                ..TraceEventView::default()
            };
            6
        ],
        ..TraceView::default()
    };
    let mut next = 0;
    c.bench_function("TraceStore::insert (1,000 active students)", |b| {
        b.iter(|| {
            store.insert(&students[next % students.len()], trace.clone());
            next += 1;
        })
    });
}

criterion_group!(benches, load_and_render_the_course, file_a_trace);
criterion_main!(benches);
