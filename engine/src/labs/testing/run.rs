//! Running a student's suite: against the reference API first, where every
//! check must pass (else the suite is wrong, and nothing it "catches" means
//! anything), then against each mutant, each on a fresh copy of the API.

use std::time::Instant;

use axum::extract::State;
use axum::Json;
use model::labs::testing::{MutantVerdict, RunRequest, SuiteReport};

use super::mutants::MUTANTS;
use super::todos::Served;
use super::TestingLab;
use crate::error::extract::Json as JsonBody;
use crate::error::ApiError;
use crate::grading::probe::{StudentSuite, SuiteLimits};
use crate::identity::Student;
use crate::labs::{current_settings, LabState, Labs};

/// What one suite may ask for.
pub(crate) const SUITE_LIMITS: SuiteLimits = SuiteLimits {
    steps: 40,
    body_bytes: 4096,
    headers: 12,
    timeout_ms: 5000,
};
/// The longest suite, in bytes of TOML.
pub(crate) const MAX_SUITE_BYTES: usize = 32 * 1024;

/// Reads a suite, or says what is wrong with it.
pub(crate) fn parse(text: &str) -> Result<StudentSuite, String> {
    if text.len() > MAX_SUITE_BYTES {
        return Err(format!(
            "the suite is {} bytes; a suite is at most {MAX_SUITE_BYTES}",
            text.len()
        ));
    }
    StudentSuite::parse(text, &SUITE_LIMITS)
}

/// Runs `suite` against the reference and, if it passes there, against
/// every mutant. `Err` only when no API could be served.
pub(crate) async fn run(suite: &StudentSuite) -> std::io::Result<SuiteReport> {
    let started = Instant::now();
    let reference = {
        let served = Served::start(None).await?;
        suite.run(&served.url).await
    };
    let valid = reference.iter().all(|check| check.passed);
    let mut mutants = Vec::new();
    if valid {
        for mutant in &MUTANTS {
            let served = Served::start(Some(mutant.bug)).await?;
            let checks = suite.run(&served.url).await;
            let caught_by = checks.into_iter().find(|c| !c.passed).map(|c| c.name);
            mutants.push(MutantVerdict {
                id: mutant.id.into(),
                title: mutant.title.into(),
                killed: caught_by.is_some(),
                explanation: caught_by.is_none().then(|| mutant.explanation.into()),
                caught_by,
            });
        }
    }
    Ok(SuiteReport {
        steps: suite.len(),
        reference,
        valid,
        killed: mutants.iter().filter(|m| m.killed).count(),
        mutants,
        total: MUTANTS.len(),
        took_ms: started.elapsed().as_millis() as u64,
    })
}

#[utoipa::path(post, path = "/run",
    summary = "Run your test suite against the todos API and its mutants",
    description = "Runs your saved suite (or the `suite` given, which is not saved) against the correct todos API, then, if every check passed there, against each of the 12 mutants: the API with one bug. A mutant is killed when a check of the suite fails against it. Send `{}` to run the saved suite. A suite has at most 40 steps of at most 4096 bytes of body each, and 32 KiB in all. One run of yours at a time; runs share the server fairly.",
    request_body = model::labs::testing::RunRequest,
    responses(
        (status = 200, description = "What the suite showed", body = model::labs::testing::SuiteReport),
        (status = 422, description = "The suite does not read (the message says where) or is over its bounds", body = model::ErrorBody),
        (status = 429, description = "A run of yours is still going, or you ran many lately", body = model::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until a run would be accepted"))),
    ))]
pub(super) async fn run_suite(
    State(labs): State<Labs>,
    LabState(runs): LabState<TestingLab>,
    student: Student,
    JsonBody(asked): JsonBody<RunRequest>,
) -> Result<Json<SuiteReport>, ApiError> {
    let text = match asked.suite {
        Some(text) => text,
        None => current_settings::<TestingLab>(&labs, &student).await?.suite,
    };
    let suite = parse(&text).map_err(ApiError::Unprocessable)?;
    let _turn = runs.gate.enter(student.id.as_str()).await?;
    let report = run(&suite).await.map_err(|e| {
        ApiError::Unavailable(format!("the todos API could not be served to test: {e}"))
    })?;
    Ok(Json(report))
}
