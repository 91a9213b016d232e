//! Criterion benchmark of one argon2id password hash with the parameters the
//! workbench uses (m = 19 MiB, t = 2, p = 1): the floor under every sign-in,
//! sign-up and password change, by design.

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use server::accounts::Passwords;

fn hash_one_password(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let passwords = Passwords::owasp();
    let stored = runtime
        .block_on(passwords.hash("a benchmark passphrase".into()))
        .expect("hashing works");
    let mut group = c.benchmark_group("argon2id m=19MiB t=2 p=1");
    group.sample_size(30);
    group.bench_function("hash a new password", |b| {
        b.iter(|| runtime.block_on(passwords.hash("a benchmark passphrase".into())))
    });
    group.bench_function("verify a password", |b| {
        b.iter(|| {
            runtime
                .block_on(passwords.verify("a benchmark passphrase".into(), Some(stored.clone())))
        })
    });
    group.finish();
}

criterion_group!(benches, hash_one_password);
criterion_main!(benches);
