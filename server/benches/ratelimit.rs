//! Criterion: what one decision costs, for each of the lab's algorithms
//! (written to be read, not tuned) beside the `governor` crate's GCRA on
//! the same machine. Time advances 1 ms per decision, so every algorithm
//! keeps admitting and refusing as it would under load.

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use std::num::NonZeroU32;

use criterion::{criterion_group, criterion_main, Criterion};
use governor::{Quota, RateLimiter};
use server::labs::ratelimit::algorithms::{self, Kind, Policy};

const POLICY: Policy = Policy {
    capacity: 100,
    rate_per_sec: 100.0,
    window_ms: 1000,
};

fn lab_algorithms(c: &mut Criterion) {
    let mut group = c.benchmark_group("one decision");
    for kind in Kind::ALL {
        let mut limiter = algorithms::new(kind, POLICY);
        let mut now = 0;
        group.bench_function(kind.name(), |b| {
            b.iter(|| {
                now += 1;
                limiter.decide(now)
            })
        });
    }
    let governor = RateLimiter::direct(Quota::per_second(NonZeroU32::new(100).unwrap()));
    group.bench_function("governor GCRA (direct, real clock)", |b| {
        b.iter(|| governor.check())
    });
    group.finish();
}

criterion_group!(benches, lab_algorithms);
criterion_main!(benches);
