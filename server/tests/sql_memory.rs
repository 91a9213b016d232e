//! A statement that grows while SQLite prepares it (before any deadline can
//! fire) fails at the process's SQLite memory ceiling instead of taking
//! the machine down. In a test binary of its own, because the ceiling is
//! process-wide: while this runs, other SQLite work in the process could
//! be refused memory too.

use std::time::{Duration, Instant};

use server::labs::sql::engine::{Access, Db, ErrorKind, Limits};

#[test]
fn a_statement_that_explodes_while_being_prepared_fails_instead_of_eating_the_machine() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.db");
    std::fs::write(&path, b"").unwrap();
    let mut db = Db::open(&path, Access::ReadWrite, 1000).unwrap();
    let limits = Limits {
        time: Duration::from_millis(500),
        max_rows: 10,
    };
    // Each level references the one below twice; SQLite copies a CTE per reference.
    let mut sql = String::from("WITH a0(x) AS (SELECT 1)");
    for level in 1..=24 {
        let below = level - 1;
        sql.push_str(&format!(
            ", a{level}(x) AS (SELECT p.x FROM a{below} p, a{below} q LIMIT 1)"
        ));
    }
    sql.push_str(" SELECT count(*) FROM (SELECT 1 FROM a24 LIMIT 0)");
    let started = Instant::now();
    let error = db.run(&sql, limits).unwrap_err();
    assert_eq!(error.kind, ErrorKind::Memory, "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(
        db.run("SELECT 1", limits).is_ok(),
        "the connection still works"
    );
}
