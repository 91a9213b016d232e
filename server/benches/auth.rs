//! Criterion benchmarks of what the auth lab does on every protected
//! request: verifying an HS256 JWT (signature and claims, no storage) and
//! looking a session up in the student's shop (a SQLite file with the
//! lab's `users` and `sessions` tables, sessions indexed by id).

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: String,
    stu: String,
    iat: i64,
    exp: i64,
}

fn jwt_verify(c: &mut Criterion) {
    let key = [7u8; 32];
    let claims = Claims {
        sub: "ada".into(),
        role: "seller".into(),
        stu: "s0123456789abcdef0123456789abcdef".into(),
        iat: 0,
        exp: i64::MAX / 2,
    };
    let token = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&key),
    )
    .unwrap();
    let decoding = DecodingKey::from_secret(&key);
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    c.bench_function("jwt verify (HS256, decode + claims)", |b| {
        b.iter(|| decode::<Claims>(&token, &decoding, &validation).unwrap())
    });
}

fn session_lookup(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("shop.db").display());
    let pool = runtime.block_on(sqlx::SqlitePool::connect(&url)).unwrap();
    runtime.block_on(async {
        // The auth lab's tables as each student's shop has them
        // (engine/src/labs/auth/shop.rs), the columns a lookup reads.
        sqlx::raw_sql(
            "CREATE TABLE users (username TEXT PRIMARY KEY NOT NULL, password_hash TEXT NOT NULL, role TEXT NOT NULL, created_at INTEGER NOT NULL);
             CREATE TABLE sessions (id TEXT PRIMARY KEY NOT NULL, username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
             INSERT INTO users VALUES ('ada', 'x', 'seller', 0);",
        )
        .execute(&pool)
        .await
        .unwrap();
        for i in 0..10_000 {
            sqlx::query("INSERT INTO sessions (id, username, created_at, expires_at) VALUES ($1, 'ada', 0, 9999999999)")
                .bind(format!("{i:064x}"))
                .execute(&pool)
                .await
                .unwrap();
        }
    });
    let wanted = format!("{:064x}", 4_242);
    c.bench_function("session lookup (SQLite, 10k sessions, join to user)", |b| {
        b.iter(|| {
            runtime.block_on(async {
                sqlx::query(
                    "SELECT s.username, s.expires_at, u.role FROM sessions s
                     JOIN users u ON u.username = s.username
                     WHERE s.id = $1 AND s.expires_at > 0",
                )
                .bind(&wanted)
                .fetch_one(&pool)
                .await
                .unwrap()
            })
        })
    });
}

criterion_group!(benches, jwt_verify, session_lookup);
criterion_main!(benches);
