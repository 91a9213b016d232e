//! Transactions made visible: two withdrawals from one account at the same
//! moment, run step by step on two real connections, and a transfer that
//! fails halfway.
//!
//! The schedule is fixed (A, B, A, B, ...), so a run is deterministic: the
//! same settings give the same steps every time, which is what lets the
//! grader replay a student's settings. SQLite answers every step for real.
//! When it finds the database locked, what happens next is SQLite's call
//! too: if it calls its busy handler, a busy timeout would make the
//! connection wait, so the session tries again on its next turn; if it
//! answers `SQLITE_BUSY` without calling it (a transaction that has already
//! read asks to write), no timeout helps and the error reaches the app.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::engine::{Db, ErrorKind, Limits, SqlError};
use super::sandbox::open;
use super::{SqlSettings, Transaction, WithdrawalStyle};

/// The starting balance of account 1.
pub(crate) const OPENING_BALANCE: i64 = 300;
/// The two withdrawals, made by sessions A and B.
pub(crate) const AMOUNTS: [i64; 2] = [100, 50];
/// The balance when both withdrawals are applied.
pub(crate) const EXPECTED_BALANCE: i64 = OPENING_BALANCE - AMOUNTS[0] - AMOUNTS[1];

const STEP_LIMITS: Limits = Limits {
    time: Duration::from_secs(2),
    max_rows: 10,
};
/// Turns before the schedule gives up (a run needs about a dozen).
const MAX_TURNS: usize = 60;
/// Times a session starts its withdrawal again when allowed to retry.
const MAX_RETRIES: u32 = 3;

const RESET: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS accounts (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, balance INTEGER NOT NULL CHECK (balance >= 0))",
    "INSERT INTO accounts (id, owner, balance) VALUES (1, 'Ada', 300), (2, 'Grace', 0) ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, balance = excluded.balance",
];

pub(crate) use model::labs::sql::{Step, TransferRun, WithdrawalReport};

/// What each session does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Begin(Transaction),
    Read,
    WriteComputed,
    WriteRelative,
    Commit,
}

fn program(settings: &SqlSettings) -> Vec<Op> {
    let mut ops = Vec::new();
    if settings.transaction != Transaction::None {
        ops.push(Op::Begin(settings.transaction));
    }
    match settings.withdrawal {
        WithdrawalStyle::ReadThenWrite => ops.extend([Op::Read, Op::WriteComputed]),
        WithdrawalStyle::SingleUpdate => ops.push(Op::WriteRelative),
    }
    if settings.transaction != Transaction::None {
        ops.push(Op::Commit);
    }
    ops
}

struct Session {
    name: &'static str,
    amount: i64,
    db: Db,
    at: usize,
    balance_read: Option<i64>,
    retries: u32,
    finished: Option<bool>,
}

impl Session {
    fn statement(&self, op: Op) -> (String, Vec<Value>) {
        match op {
            Op::Begin(Transaction::Immediate) => ("BEGIN IMMEDIATE".into(), vec![]),
            Op::Begin(_) => ("BEGIN".into(), vec![]),
            Op::Read => ("SELECT balance FROM accounts WHERE id = 1".into(), vec![]),
            Op::WriteComputed => {
                let new = self.balance_read.unwrap_or_default() - self.amount;
                (
                    format!("UPDATE accounts SET balance = {new} WHERE id = 1"),
                    vec![],
                )
            }
            Op::WriteRelative => (
                format!(
                    "UPDATE accounts SET balance = balance - {} WHERE id = 1",
                    self.amount
                ),
                vec![],
            ),
            Op::Commit => ("COMMIT".into(), vec![]),
        }
    }

    fn in_transaction(&self, ops: &[Op]) -> bool {
        matches!(ops.first(), Some(Op::Begin(_))) && self.at > 0
    }
}

/// Runs the two withdrawals against the database at `path` under `settings`.
pub(crate) fn withdraw_concurrently(
    path: &Path,
    settings: &SqlSettings,
) -> Result<WithdrawalReport, SqlError> {
    let mut steps = Vec::new();
    reset(path, &mut steps)?;
    let ops = program(settings);
    let mut sessions = [
        Session {
            name: "A",
            amount: AMOUNTS[0],
            db: open_session(path)?,
            at: 0,
            balance_read: None,
            retries: 0,
            finished: None,
        },
        Session {
            name: "B",
            amount: AMOUNTS[1],
            db: open_session(path)?,
            at: 0,
            balance_read: None,
            retries: 0,
            finished: None,
        },
    ];
    let mut turn = 0;
    for _ in 0..MAX_TURNS {
        if sessions.iter().all(|s| s.finished.is_some()) {
            break;
        }
        if sessions[turn].finished.is_some() {
            turn = 1 - turn;
        }
        take_turn(&mut sessions[turn], &ops, settings, &mut steps);
        turn = 1 - turn;
    }
    for session in sessions.iter_mut().filter(|s| s.finished.is_none()) {
        // Only a schedule bug gets here; say so rather than loop.
        steps.push(Step {
            session: session.name.into(),
            sql: String::new(),
            outcome: "gave up waiting".into(),
            ok: false,
        });
        session.finished = Some(false);
    }
    let completed = [
        sessions[0].finished == Some(true),
        sessions[1].finished == Some(true),
    ];
    drop(sessions);
    let final_balance = balance(path, 1)?;
    Ok(WithdrawalReport {
        lost_update: completed == [true, true] && final_balance != EXPECTED_BALANCE,
        steps,
        final_balance,
        expected_balance: EXPECTED_BALANCE,
        completed,
    })
}

/// A session's connection, with the busy handler that tells whether SQLite
/// would wait.
fn open_session(path: &Path) -> Result<Db, SqlError> {
    let mut db = open(path)?;
    db.count_busy_waits();
    Ok(db)
}

fn take_turn(session: &mut Session, ops: &[Op], settings: &SqlSettings, steps: &mut Vec<Step>) {
    let op = ops[session.at];
    let (sql, parameters) = session.statement(op);
    let mut step = Step {
        session: session.name.into(),
        sql: sql.clone(),
        outcome: String::new(),
        ok: true,
    };
    session.db.take_busy_waits();
    let result = session.db.run_with(&sql, STEP_LIMITS, &parameters);
    let would_wait = session.db.take_busy_waits() > 0;
    match result {
        Ok(output) => {
            step.outcome = match op {
                Op::Read => {
                    let balance = output
                        .rows
                        .first()
                        .and_then(|r| r[0].as_i64())
                        .unwrap_or_default();
                    session.balance_read = Some(balance);
                    format!("read balance {balance}")
                }
                Op::WriteComputed | Op::WriteRelative => format!("{} row updated", output.changes),
                Op::Begin(_) => "transaction started".into(),
                Op::Commit => "committed".into(),
            };
            session.at += 1;
            if session.at == ops.len() {
                session.finished = Some(true);
            }
        }
        Err(error) if error.kind == ErrorKind::Busy && would_wait => {
            step.ok = false;
            step.outcome = format!(
                "{}: waits for the other session, as a busy timeout makes it",
                error.message
            );
        }
        Err(error) => {
            step.ok = false;
            let in_transaction = session.in_transaction(ops);
            let why = match error.kind {
                // SQLite skipped the busy handler: no timeout would have waited.
                ErrorKind::Busy => {
                    ", at once: this transaction has already read, so SQLite does not wait"
                }
                ErrorKind::StaleSnapshot => {
                    ", at once: the other session committed after this transaction read"
                }
                _ => "",
            };
            let retry = !why.is_empty() && settings.retry_on_busy && session.retries < MAX_RETRIES;
            step.outcome = if retry {
                format!(
                    "{}{why}; rolls back and starts the withdrawal again",
                    error.message
                )
            } else {
                format!("{}{why}; the withdrawal fails", error.message)
            };
            steps.push(step);
            if in_transaction {
                let rolled_back = session.db.run("ROLLBACK", STEP_LIMITS).is_ok();
                steps.push(Step {
                    session: session.name.into(),
                    sql: "ROLLBACK".into(),
                    outcome: if rolled_back {
                        "rolled back".into()
                    } else {
                        "nothing to roll back".into()
                    },
                    ok: rolled_back,
                });
            }
            if retry {
                session.retries += 1;
                session.at = 0;
                session.balance_read = None;
            } else {
                session.finished = Some(false);
            }
            return;
        }
    }
    steps.push(step);
}

fn reset(path: &Path, steps: &mut Vec<Step>) -> Result<(), SqlError> {
    let mut db = open(path)?;
    for sql in RESET {
        db.run(sql, STEP_LIMITS)?;
    }
    steps.push(Step {
        session: "setup".into(),
        sql: "accounts: Ada 300, Grace 0".into(),
        outcome: "reset".into(),
        ok: true,
    });
    Ok(())
}

fn balance(path: &Path, account: i64) -> Result<i64, SqlError> {
    let mut db = open(path)?;
    let output = db.run_with(
        "SELECT balance FROM accounts WHERE id = ?",
        STEP_LIMITS,
        &[Value::from(account)],
    )?;
    Ok(output
        .rows
        .first()
        .and_then(|r| r[0].as_i64())
        .unwrap_or_default())
}

/// Moves 500 from Ada (who has 300) to Grace: the credit succeeds, the debit
/// breaks `CHECK (balance >= 0)`. Run without and then with a transaction.
pub(crate) fn failing_transfer(path: &Path) -> Result<[TransferRun; 2], SqlError> {
    Ok([transfer_once(path, false)?, transfer_once(path, true)?])
}

fn transfer_once(path: &Path, in_transaction: bool) -> Result<TransferRun, SqlError> {
    let mut steps = Vec::new();
    reset(path, &mut steps)?;
    let mut db = open(path)?;
    let mut statements = vec![
        "UPDATE accounts SET balance = balance + 500 WHERE id = 2",
        "UPDATE accounts SET balance = balance - 500 WHERE id = 1",
    ];
    if in_transaction {
        statements.insert(0, "BEGIN");
        statements.push("COMMIT");
    }
    for sql in statements {
        match db.run(sql, STEP_LIMITS) {
            Ok(output) => steps.push(Step {
                session: "app".into(),
                sql: sql.into(),
                outcome: if sql.starts_with("UPDATE") {
                    format!("{} row updated", output.changes)
                } else {
                    "ok".into()
                },
                ok: true,
            }),
            Err(error) => {
                steps.push(Step {
                    session: "app".into(),
                    sql: sql.into(),
                    outcome: error.message,
                    ok: false,
                });
                if in_transaction {
                    db.run("ROLLBACK", STEP_LIMITS)?;
                    steps.push(Step {
                        session: "app".into(),
                        sql: "ROLLBACK".into(),
                        outcome: "both updates undone".into(),
                        ok: true,
                    });
                }
                break;
            }
        }
    }
    drop(db);
    let balances = [balance(path, 1)?, balance(path, 2)?];
    Ok(TransferRun {
        in_transaction,
        steps,
        money_conserved: balances[0] + balances[1] == OPENING_BALANCE,
        balances,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bank.db");
        std::fs::write(&path, b"").unwrap();
        (dir, path)
    }

    fn run(
        transaction: Transaction,
        withdrawal: WithdrawalStyle,
        retry_on_busy: bool,
    ) -> WithdrawalReport {
        let (_dir, path) = scratch();
        withdraw_concurrently(
            &path,
            &SqlSettings {
                transaction,
                withdrawal,
                retry_on_busy,
            },
        )
        .unwrap()
    }

    #[test]
    fn without_a_transaction_one_withdrawal_is_lost() {
        let report = run(Transaction::None, WithdrawalStyle::ReadThenWrite, false);
        assert_eq!(report.completed, [true, true]);
        assert_eq!(report.final_balance, 250, "{report:#?}");
        assert!(report.lost_update);
    }

    /// Where the first step of `session` whose SQL starts with `sql` ran.
    fn position(report: &WithdrawalReport, session: &str, sql: &str) -> usize {
        report
            .steps
            .iter()
            .position(|s| s.session == session && s.sql.starts_with(sql))
            .unwrap_or_else(|| panic!("no {session} {sql} in {report:#?}"))
    }

    #[test]
    fn an_immediate_transaction_makes_the_second_session_wait() {
        let report = run(
            Transaction::Immediate,
            WithdrawalStyle::ReadThenWrite,
            false,
        );
        assert_eq!(report.final_balance, 150, "{report:#?}");
        assert_eq!(report.completed, [true, true]);
        // B's BEGIN IMMEDIATE has read nothing: SQLite calls the busy
        // handler, so a busy timeout would wait, and B goes on after A.
        let waited = &report.steps[position(&report, "B", "BEGIN IMMEDIATE")];
        assert!(!waited.ok && waited.outcome.contains("waits"), "{waited:?}");
        assert!(!report.steps.iter().any(|s| s.outcome.contains("at once")));
    }

    #[test]
    fn a_deferred_transaction_that_read_is_refused_at_once_while_the_other_holds_the_lock() {
        let failed = run(Transaction::Deferred, WithdrawalStyle::ReadThenWrite, false);
        assert_eq!(failed.completed, [true, false], "{failed:#?}");
        assert_eq!(failed.final_balance, 200);
        assert!(!failed.lost_update);
        // SQLite does not call the busy handler for a transaction that has
        // read: nobody waits, B's UPDATE fails before A even commits.
        assert!(
            !failed.steps.iter().any(|s| s.outcome.contains("waits")),
            "{failed:#?}"
        );
        let refused = position(&failed, "B", "UPDATE");
        let step = &failed.steps[refused];
        assert!(!step.ok);
        assert!(
            step.outcome
                .starts_with("database is locked, at once: this transaction has already read"),
            "{step:?}"
        );
        assert!(refused < position(&failed, "A", "COMMIT"));
        assert_eq!(failed.steps[refused + 1].sql, "ROLLBACK");

        let retried = run(Transaction::Deferred, WithdrawalStyle::ReadThenWrite, true);
        assert_eq!(retried.completed, [true, true], "{retried:#?}");
        assert_eq!(retried.final_balance, 150);
        assert!(retried
            .steps
            .iter()
            .any(|s| s.session == "B" && s.outcome == "read balance 200"));
    }

    #[test]
    fn a_deferred_transaction_that_only_writes_waits_its_turn() {
        let report = run(Transaction::Deferred, WithdrawalStyle::SingleUpdate, false);
        assert_eq!(report.completed, [true, true], "{report:#?}");
        assert_eq!(report.final_balance, 150);
        let waited = &report.steps[position(&report, "B", "UPDATE")];
        assert!(!waited.ok && waited.outcome.contains("waits"), "{waited:?}");
    }

    #[test]
    fn a_transaction_that_read_before_the_other_committed_is_refused_at_once() {
        let (_dir, path) = scratch();
        let mut steps = Vec::new();
        reset(&path, &mut steps).unwrap();
        let [mut a, mut b] = [open_session(&path).unwrap(), open_session(&path).unwrap()];
        for sql in ["BEGIN", "SELECT balance FROM accounts WHERE id = 1"] {
            a.run(sql, STEP_LIMITS).unwrap();
            b.run(sql, STEP_LIMITS).unwrap();
        }
        a.run(
            "UPDATE accounts SET balance = 200 WHERE id = 1",
            STEP_LIMITS,
        )
        .unwrap();
        a.run("COMMIT", STEP_LIMITS).unwrap();
        b.take_busy_waits();
        let error = b
            .run(
                "UPDATE accounts SET balance = 250 WHERE id = 1",
                STEP_LIMITS,
            )
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::StaleSnapshot);
        assert_eq!(error.message, "database is locked");
        assert_eq!(b.take_busy_waits(), 0, "SQLite did not even try to wait");
    }

    #[test]
    fn a_single_relative_update_needs_no_transaction() {
        let report = run(Transaction::None, WithdrawalStyle::SingleUpdate, false);
        assert_eq!(report.final_balance, 150);
        assert_eq!(report.completed, [true, true]);
    }

    #[test]
    fn a_failing_transfer_creates_money_unless_it_is_one_transaction() {
        let (_dir, path) = scratch();
        let [without, with] = failing_transfer(&path).unwrap();
        assert_eq!(without.balances, [300, 500]);
        assert!(!without.money_conserved);
        assert_eq!(with.balances, [300, 0]);
        assert!(with.money_conserved);
        assert!(with.steps.iter().any(|s| s.sql == "ROLLBACK"));
    }
}
