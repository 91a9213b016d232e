//! Grading for machines: API tokens an instructor creates, and
//! `POST /api/grade`, which takes the same submissions as
//! `workbench grade --submissions` and answers the same JSON.
//!
//! A token belongs to the instructor who made it: they list and revoke
//! their own (an admin sees all), and it stops working when its maker is no
//! longer an instructor. Every grading call is logged against its token.
//!
//! A token is `wbt_<id>_<secret>`. Only a BLAKE2b hash of the secret is
//! stored; the secret is 256 random bits, so a fast hash is enough (a slow
//! password hash protects low-entropy secrets, which these are not).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use blake2::{Blake2b512, Digest};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::accounts::Role;
use crate::error::extract::{Json as JsonBody, Path};
use crate::error::{ApiError, Challenge};
use crate::grading::batch::{grade_one, GradedSubmission, Submission};
use crate::identity::SignedIn;
use crate::state::Engine;

/// Most submissions one request may carry.
const MAX_SUBMISSIONS: usize = 1_000;

/// The token routes and the grading endpoint.
pub(crate) fn router() -> Router<Engine> {
    Router::new()
        .route(
            "/api/instructor/tokens",
            get(list_tokens).post(create_token),
        )
        .route("/api/instructor/tokens/{id}", delete(revoke_token))
        .route("/api/grade", post(grade_submissions))
}

fn hash_secret(secret: &str) -> String {
    Blake2b512::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares without stopping at the first difference, so the time taken
/// does not tell how much of a guess was right.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[derive(Deserialize)]
struct NewToken {
    name: String,
}

#[derive(Serialize)]
struct CreatedToken {
    id: String,
    name: String,
    /// Shown this once; only its hash is kept.
    token: String,
}

async fn create_token(
    State(state): State<Engine>,
    SignedIn(account): SignedIn,
    JsonBody(new): JsonBody<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    account.require(Role::Instructor)?;
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(ApiError::Unprocessable(
            "Name the token in 1 to 80 characters, e.g. \"Moodle\".".into(),
        ));
    }
    let id = format!("{:016x}", rand::random::<u64>());
    let secret = format!(
        "{:032x}{:032x}",
        rand::random::<u128>(),
        rand::random::<u128>()
    );
    sqlx::query("INSERT INTO api_tokens (id, name, secret_hash, created_by, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(name)
        .bind(hash_secret(&secret))
        .bind(account.id.as_str())
        .bind(state.clock.now())
        .execute(&state.pool)
        .await?;
    let token = format!("wbt_{id}_{secret}");
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            id,
            name: name.to_string(),
            token,
        }),
    ))
}

#[derive(Serialize)]
struct TokenSummary {
    id: String,
    name: String,
    /// The email of the instructor who made it.
    created_by: String,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked: bool,
    /// Calls of `POST /api/grade` made with it.
    calls: i64,
    /// Submissions it has had graded.
    submissions_graded: i64,
}

/// An instructor's own tokens; an admin sees everyone's.
async fn list_tokens(
    State(state): State<Engine>,
    SignedIn(account): SignedIn,
) -> Result<Json<Vec<TokenSummary>>, ApiError> {
    account.require(Role::Instructor)?;
    let everyone = account.role >= Role::Admin;
    let rows = sqlx::query(
        "SELECT t.id, t.name, a.email, t.created_at, t.last_used_at, t.revoked_at,
                (SELECT COUNT(*) FROM api_grade_calls c WHERE c.token_id = t.id) AS calls,
                (SELECT CAST(COALESCE(SUM(submissions), 0) AS BIGINT) FROM api_grade_calls c WHERE c.token_id = t.id) AS graded
         FROM api_tokens t JOIN accounts a ON a.student_id = t.created_by
         WHERE $1 OR t.created_by = $2
         ORDER BY t.created_at, t.id",
    )
    .bind(everyone)
    .bind(account.id.as_str())
    .fetch_all(&state.pool)
    .await?;
    let tokens = rows
        .iter()
        .map(|row| {
            Ok(TokenSummary {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                created_by: row.try_get("email")?,
                created_at: row.try_get("created_at")?,
                last_used_at: row.try_get("last_used_at")?,
                revoked: row.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
                calls: row.try_get("calls")?,
                submissions_graded: row.try_get("graded")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(Json(tokens))
}

/// Revokes one of the caller's tokens (any token, for an admin). Another
/// instructor's token is answered like a missing one: its id tells nothing.
async fn revoke_token(
    State(state): State<Engine>,
    SignedIn(account): SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    account.require(Role::Instructor)?;
    let everyone = account.role >= Role::Admin;
    let revoked = sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1
         WHERE id = $2 AND revoked_at IS NULL AND ($3 OR created_by = $4)",
    )
    .bind(state.clock.now())
    .bind(&id)
    .bind(everyone)
    .bind(account.id.as_str())
    .execute(&state.pool)
    .await?
    .rows_affected();
    if revoked == 0 {
        return Err(ApiError::NotFound(format!(
            "You have no active token with the id {id}."
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Checks the `Authorization: Bearer wbt_...` header against the stored
/// tokens; a token works only while its creator is still an instructor.
/// Answers the token's id.
async fn authorise(state: &Engine, headers: &HeaderMap) -> Result<String, ApiError> {
    let message = "Send an API token: `Authorization: Bearer wbt_...`, created by an instructor.";
    // A token that was sent and refused says so in the challenge (RFC 6750).
    let refused = || ApiError::Unauthorized(message.into(), Challenge::ApiTokenRefused);
    let token = crate::error::bearer_token(headers)
        .ok_or_else(|| ApiError::Unauthorized(message.into(), Challenge::ApiToken))?;
    let (id, secret) = token
        .strip_prefix("wbt_")
        .and_then(|rest| rest.split_once('_'))
        .ok_or_else(refused)?;
    let stored = sqlx::query(
        "SELECT t.secret_hash, a.role FROM api_tokens t JOIN accounts a ON a.student_id = t.created_by
         WHERE t.id = $1 AND t.revoked_at IS NULL",
    )
    .bind(id)
    .fetch_optional(&state.pool)
    .await?;
    let Some(stored) = stored else {
        return Err(refused());
    };
    let hash: String = stored.try_get("secret_hash")?;
    let creator_role = Role::parse(&stored.try_get::<String, _>("role")?);
    if !same(&hash, &hash_secret(secret)) || creator_role < Some(Role::Instructor) {
        return Err(refused());
    }
    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
        .bind(state.clock.now())
        .bind(id)
        .execute(&state.pool)
        .await?;
    Ok(id.to_string())
}

/// Keeps a record of one grading call (see `api_grade_calls`).
async fn log_call(
    state: &Engine,
    token: &str,
    exercises: &str,
    submissions: usize,
    passed: usize,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO api_grade_calls (token_id, called_at, submissions, passed, exercises) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token)
    .bind(state.clock.now())
    .bind(submissions as i64)
    .bind(passed as i64)
    .bind(exercises)
    .execute(&state.pool)
    .await?;
    tracing::info!(
        token,
        submissions,
        passed,
        "graded submissions for an API token"
    );
    Ok(())
}

#[derive(Deserialize)]
struct Submissions {
    submissions: Vec<Submission>,
}

#[derive(Serialize)]
struct GradeResponse {
    results: Vec<GradedSubmission>,
    passed: usize,
    failed: usize,
}

/// `POST /api/grade`: grades submissions for a token holder. Stores no
/// attempts, but every call is logged against the token, and each token
/// has a budget of submissions ([`super::routes::API_SUBMISSION_BURST`], refilling).
async fn grade_submissions(
    State(state): State<Engine>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Submissions>,
) -> Result<Json<GradeResponse>, ApiError> {
    let token = authorise(&state, &headers).await?;
    if body.submissions.len() > MAX_SUBMISSIONS {
        return Err(ApiError::PayloadTooLarge(format!(
            "At most {MAX_SUBMISSIONS} submissions per request; send the rest in another."
        )));
    }
    if let Some(count) = std::num::NonZeroU32::new(body.submissions.len() as u32) {
        state.grading.per_token.check_n(&token, count).await?;
    }
    let exercises = state.course.current().exercises();
    // Only exercises the course has: the log never keeps what a caller made up.
    let graded: std::collections::BTreeSet<&str> = body
        .submissions
        .iter()
        .map(|s| s.exercise.as_str())
        .filter(|id| exercises.get(id).is_some())
        .collect();
    let graded = graded.into_iter().collect::<Vec<_>>().join(" ");
    // Each token has its own line at the SQL grading gate.
    let context = state
        .grading
        .context
        .for_student(&crate::identity::StudentId::from_raw(format!(
            "token {token}"
        )));
    let mut results = Vec::with_capacity(body.submissions.len());
    for submission in body.submissions {
        results.push(grade_one(&exercises, submission, &context).await);
    }
    let passed = results.iter().filter(|r| r.passed).count();
    log_call(&state, &token, &graded, results.len(), passed).await?;
    Ok(Json(GradeResponse {
        failed: results.len() - passed,
        passed,
        results,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_hash_stably_and_compare_in_full() {
        assert_eq!(hash_secret("abc"), hash_secret("abc"));
        assert_ne!(hash_secret("abc"), hash_secret("abd"));
        assert_eq!(hash_secret("abc").len(), 128);
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }
}
