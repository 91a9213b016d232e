//! Grading for machines: API tokens an instructor creates, and
//! `POST /api/grade`, which takes the same submissions as
//! `workbench grade --submissions` and answers the same JSON.
//!
//! A token is `wbt_<id>_<secret>`. Only a BLAKE2b hash of the secret is
//! stored; the secret is 256 random bits, so a fast hash is enough (a slow
//! password hash protects low-entropy secrets, which these are not).

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use blake2::{Blake2b512, Digest};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::cli::{grade_one, GradedSubmission, Submission};
use crate::accounts::{Role, SignedIn};
use crate::error::extract::{Json as JsonBody, Path};
use crate::error::ApiError;
use crate::state::AppState;

/// Most submissions one request may carry.
const MAX_SUBMISSIONS: usize = 1_000;

/// The token routes and the grading endpoint.
pub fn router() -> Router<AppState> {
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
    State(state): State<AppState>,
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
    sqlx::query("INSERT INTO api_tokens (id, name, secret_hash, created_by, created_at) VALUES (?, ?, ?, ?, ?)")
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
    created_at: i64,
    last_used_at: Option<i64>,
    revoked: bool,
}

async fn list_tokens(
    State(state): State<AppState>,
    SignedIn(account): SignedIn,
) -> Result<Json<Vec<TokenSummary>>, ApiError> {
    account.require(Role::Instructor)?;
    let rows = sqlx::query("SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY created_at, id")
        .fetch_all(&state.pool)
        .await?;
    let tokens = rows
        .iter()
        .map(|row| {
            Ok(TokenSummary {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                created_at: row.try_get("created_at")?,
                last_used_at: row.try_get("last_used_at")?,
                revoked: row.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(Json(tokens))
}

async fn revoke_token(
    State(state): State<AppState>,
    SignedIn(account): SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    account.require(Role::Instructor)?;
    let revoked =
        sqlx::query("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(state.clock.now())
            .bind(&id)
            .execute(&state.pool)
            .await?
            .rows_affected();
    if revoked == 0 {
        return Err(ApiError::NotFound(format!(
            "No active token has the id {id}."
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Checks the `Authorization: Bearer wbt_...` header against the stored tokens.
async fn authorise(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let refused = || {
        ApiError::Unauthorized(
            "Send an API token: `Authorization: Bearer wbt_...`, created by an instructor.".into(),
        )
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(refused)?;
    let (id, secret) = token
        .strip_prefix("wbt_")
        .and_then(|rest| rest.split_once('_'))
        .ok_or_else(refused)?;
    let stored: Option<String> = sqlx::query_scalar(
        "SELECT secret_hash FROM api_tokens WHERE id = ? AND revoked_at IS NULL",
    )
    .bind(id)
    .fetch_optional(&state.pool)
    .await?;
    match stored {
        Some(hash) if same(&hash, &hash_secret(secret)) => {
            sqlx::query("UPDATE api_tokens SET last_used_at = ? WHERE id = ?")
                .bind(state.clock.now())
                .bind(id)
                .execute(&state.pool)
                .await?;
            Ok(())
        }
        _ => Err(refused()),
    }
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

/// `POST /api/grade`: grades submissions for a token holder; stores nothing.
async fn grade_submissions(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Submissions>,
) -> Result<Json<GradeResponse>, ApiError> {
    authorise(&state, &headers).await?;
    if body.submissions.len() > MAX_SUBMISSIONS {
        return Err(ApiError::PayloadTooLarge(format!(
            "At most {MAX_SUBMISSIONS} submissions per request; send the rest in another."
        )));
    }
    let exercises = state.course.current().exercises();
    let mut results = Vec::with_capacity(body.submissions.len());
    for submission in body.submissions {
        results.push(grade_one(&exercises, submission, &state.grading.context).await);
    }
    let passed = results.iter().filter(|r| r.passed).count();
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
