//! Test doubles against the real thing: one sign-up endpoint, written
//! against an `Accounts` trait (dependency inversion), tested with a fake
//! repository in memory, with a stub that fails on purpose, and with the
//! real repository on SQLite. Each scenario runs against each repository
//! that can play it, so the report shows what each kind of test catches.

use std::sync::Mutex;
use std::time::Instant;

use axum::Json;
use futures_util::future::{BoxFuture, FutureExt};
use model::labs::testing::{DoubleRun, DoubleScenario, DoubleVerdict, DoublesReport};
use sqlx::{Connection, SqliteConnection};

use super::TestingLab;
use crate::error::ApiError;
use crate::identity::Student;
use crate::labs::LabState;

/// Why an `Accounts` could not do what it was asked.
#[derive(Debug, PartialEq)]
enum StoreError {
    /// The email is taken (the real store's UNIQUE constraint said so).
    Taken,
    /// The store could not be reached.
    Down,
}

/// Where accounts are kept. The endpoint depends on this, not on SQLite.
trait Accounts: Send + Sync {
    /// Whether an account with `email` exists.
    fn exists<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Stores a new account.
    fn insert<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    /// How many accounts there are.
    fn count(&self) -> BoxFuture<'_, Result<usize, StoreError>>;
}

/// The sign-up endpoint's answer: a status and what it says.
type Answer = (u16, &'static str);

/// The endpoint's first half: may `email` sign up?
async fn check(accounts: &dyn Accounts, email: &str) -> Result<(), Answer> {
    if !email.contains('@') {
        return Err((422, "not an email address"));
    }
    match accounts.exists(email).await {
        Ok(false) => Ok(()),
        Ok(true) => Err((409, "that email is taken")),
        Err(_) => Err((503, "accounts are unavailable; try again")),
    }
}

/// The endpoint's second half: store it.
async fn create(accounts: &dyn Accounts, email: &str) -> Answer {
    match accounts.insert(email).await {
        Ok(()) => (201, "signed up"),
        Err(StoreError::Taken) => (409, "that email is taken"),
        Err(StoreError::Down) => (503, "accounts are unavailable; try again"),
    }
}

/// `POST /signup`, as one request runs it.
async fn sign_up(accounts: &dyn Accounts, email: &str) -> Answer {
    match check(accounts, email).await {
        Ok(()) => create(accounts, email).await,
        Err(refused) => refused,
    }
}

/// A fake: a list in memory. Fast and simple, and only as faithful as
/// its author made it: it compares emails exactly and has no constraint.
#[derive(Default)]
struct FakeAccounts(Mutex<Vec<String>>);

impl Accounts for FakeAccounts {
    fn exists<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        let found = self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|e| e == email);
        async move { Ok(found) }.boxed()
    }

    fn insert<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(email.to_string());
        async { Ok(()) }.boxed()
    }

    fn count(&self) -> BoxFuture<'_, Result<usize, StoreError>> {
        let count = self.0.lock().unwrap_or_else(|e| e.into_inner()).len();
        async move { Ok(count) }.boxed()
    }
}

/// A stub that answers every call with an outage.
struct DownAccounts;

impl Accounts for DownAccounts {
    fn exists<'a>(&'a self, _email: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        async { Err(StoreError::Down) }.boxed()
    }

    fn insert<'a>(&'a self, _email: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        async { Err(StoreError::Down) }.boxed()
    }

    fn count(&self) -> BoxFuture<'_, Result<usize, StoreError>> {
        async { Err(StoreError::Down) }.boxed()
    }
}

/// The real repository: SQLite, with the table the service really has.
struct SqlAccounts(tokio::sync::Mutex<SqliteConnection>);

const SCHEMA: &str =
    "CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE COLLATE NOCASE)";

impl SqlAccounts {
    async fn new() -> Result<Self, sqlx::Error> {
        let mut connection = SqliteConnection::connect("sqlite::memory:").await?;
        sqlx::query(SCHEMA).execute(&mut connection).await?;
        Ok(Self(tokio::sync::Mutex::new(connection)))
    }
}

fn store_error(error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::Database(e) if e.is_unique_violation() => StoreError::Taken,
        _ => StoreError::Down,
    }
}

impl Accounts for SqlAccounts {
    fn exists<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        async move {
            let mut db = self.0.lock().await;
            sqlx::query("SELECT 1 FROM accounts WHERE email = ?")
                .bind(email)
                .fetch_optional(&mut *db)
                .await
                .map(|row| row.is_some())
                .map_err(store_error)
        }
        .boxed()
    }

    fn insert<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        async move {
            let mut db = self.0.lock().await;
            sqlx::query("INSERT INTO accounts (email) VALUES (?)")
                .bind(email)
                .execute(&mut *db)
                .await
                .map(|_| ())
                .map_err(store_error)
        }
        .boxed()
    }

    fn count(&self) -> BoxFuture<'_, Result<usize, StoreError>> {
        async move {
            let mut db = self.0.lock().await;
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM accounts")
                .fetch_one(&mut *db)
                .await
                .map(|n| n as usize)
                .map_err(store_error)
        }
        .boxed()
    }
}

/// Which repository a scenario runs on.
#[derive(Clone, Copy)]
enum Double {
    Fake,
    Down,
    Real,
}

impl Double {
    fn kind(self) -> &'static str {
        match self {
            Double::Fake => "fake",
            Double::Down => "stub",
            Double::Real => "real",
        }
    }

    async fn make(self) -> Result<Box<dyn Accounts>, sqlx::Error> {
        Ok(match self {
            Double::Fake => Box::new(FakeAccounts::default()),
            Double::Down => Box::new(DownAccounts),
            Double::Real => Box::new(SqlAccounts::new().await?),
        })
    }
}

/// What a scenario saw: whether its expectation held, and in words.
type Seen = (bool, String);

/// The scenarios, in the order the lesson discusses them.
const SCENARIOS: [(&str, &str, &str); 4] = [
    (
        "a new email signs up",
        "201, and one account",
        "Both pass, but the fake's test runs tens to hundreds of times faster than the real one: for logic like this, the fake is the cheaper test.",
    ),
    (
        "Ada@example.com, then ada@example.com",
        "the second is 409: emails are compared without case",
        "Only the real database knows its column compares without case (COLLATE NOCASE). The fake compares exactly, so its test fails on a rule the service really keeps: a fake is only as true as its author made it.",
    ),
    (
        "two sign-ups with one email at once",
        "one 201, one 409, and one account",
        "Both requests check first and find nothing, then both insert. The real table's UNIQUE constraint refuses the second; the fake has no constraint, stores two, and its test fails. Guarantees that live in the database can only be tested against the database.",
    ),
    (
        "the accounts store is down",
        "503 with a message to try again, not a crash",
        "A stub that fails on purpose tests the error path in microseconds. Making the real database fail on cue is hard, so that test is rarely written against it: this is what doubles are best at.",
    ),
];

/// Plays scenario `index` on `accounts`.
async fn play(index: usize, accounts: &dyn Accounts) -> Seen {
    match index {
        0 => {
            let answer = sign_up(accounts, "ada@example.com").await;
            let count = accounts.count().await.unwrap_or(0);
            (
                answer.0 == 201 && count == 1,
                format!("{} {}, {count} account(s)", answer.0, answer.1),
            )
        }
        1 => {
            let first = sign_up(accounts, "Ada@example.com").await;
            let second = sign_up(accounts, "ada@example.com").await;
            (
                first.0 == 201 && second.0 == 409,
                format!("{}, then {} {}", first.0, second.0, second.1),
            )
        }
        2 => {
            // Both requests pass the check before either stores anything.
            let email = "grace@example.com";
            let (a, b) = (check(accounts, email).await, check(accounts, email).await);
            let mut answers = Vec::new();
            for checked in [a, b] {
                answers.push(match checked {
                    Ok(()) => create(accounts, email).await,
                    Err(refused) => refused,
                });
            }
            let count = accounts.count().await.unwrap_or(0);
            let mut statuses: Vec<u16> = answers.iter().map(|a| a.0).collect();
            statuses.sort_unstable();
            (
                statuses == [201, 409] && count == 1,
                format!("{} and {}, {count} account(s)", answers[0].0, answers[1].0),
            )
        }
        _ => {
            let answer = sign_up(accounts, "ada@example.com").await;
            (answer.0 == 503, format!("{} {}", answer.0, answer.1))
        }
    }
}

/// Which doubles play scenario `index`: the outage only on the stub
/// (the real database cannot be made to fail on cue here).
fn cast(index: usize) -> (Double, Option<Double>) {
    if index == 3 {
        (Double::Down, None)
    } else {
        (Double::Fake, Some(Double::Real))
    }
}

async fn run_on(index: usize, double: Double) -> Result<DoubleRun, sqlx::Error> {
    let accounts = double.make().await?;
    let started = Instant::now();
    let (passed, observed) = play(index, accounts.as_ref()).await;
    Ok(DoubleRun {
        verdict: if passed {
            DoubleVerdict::Passed
        } else {
            DoubleVerdict::Failed
        },
        observed,
        micros: started.elapsed().as_micros() as u64,
    })
}

/// Every scenario on the doubles that can play it.
pub(crate) async fn report() -> Result<DoublesReport, sqlx::Error> {
    let mut scenarios = Vec::new();
    for (index, (name, expects, lesson)) in SCENARIOS.iter().enumerate() {
        let (double, real) = cast(index);
        let real = match real {
            Some(real) => run_on(index, real).await?,
            None => DoubleRun {
                verdict: DoubleVerdict::CannotRun,
                observed: "the real database cannot be made to fail on cue".into(),
                micros: 0,
            },
        };
        scenarios.push(DoubleScenario {
            name: (*name).into(),
            expects: (*expects).into(),
            double_kind: double.kind().into(),
            double: run_on(index, double).await?,
            real,
            lesson: (*lesson).into(),
        });
    }
    Ok(DoublesReport { scenarios })
}

#[utoipa::path(post, path = "/doubles",
    summary = "Test one sign-up endpoint with doubles and with the real database",
    description = "Runs four test scenarios against a sign-up endpoint written against an `Accounts` trait: each on a fake (a list in memory) or a stub that fails on purpose, and on the real repository (SQLite with a UNIQUE, case-insensitive email column) where it can. Shows which test passes where, what each saw, and how long it took.",
    responses(
        (status = 200, description = "Each scenario on each repository", body = model::labs::testing::DoublesReport),
        (status = 429, description = "A run of yours is still going, or you ran many lately", body = model::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until a run would be accepted"))),
    ))]
pub(super) async fn doubles(
    LabState(runs): LabState<TestingLab>,
    student: Student,
) -> Result<Json<DoublesReport>, ApiError> {
    let _turn = runs.gate.enter(student.id.as_str()).await?;
    report()
        .await
        .map(Json)
        .map_err(|e| ApiError::Unavailable(format!("the test database could not be made: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_kind_of_test_catches_what_the_lesson_says() {
        let report = report().await.unwrap();
        let verdicts: Vec<(DoubleVerdict, DoubleVerdict)> = report
            .scenarios
            .iter()
            .map(|s| (s.double.verdict, s.real.verdict))
            .collect();
        use DoubleVerdict::*;
        assert_eq!(
            verdicts,
            [
                (Passed, Passed),
                (Failed, Passed),
                (Failed, Passed),
                (Passed, CannotRun)
            ]
        );
        assert_eq!(
            report.scenarios[2].real.observed,
            "201 and 409, 1 account(s)"
        );
        assert_eq!(
            report.scenarios[2].double.observed,
            "201 and 201, 2 account(s)"
        );
    }
}
