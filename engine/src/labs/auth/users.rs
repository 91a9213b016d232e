//! Demo users: register, list, verify, clear. They live in the `users`
//! table of the student's own shop ([`super::shop`]), so shops never meet.

use std::time::Instant;

use argon2::password_hash::PasswordHash;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use model::labs::auth::{DemoUser, HashParts, PasswordAttempt, PasswordVerification, Registration};
use serde::Serialize;
use serde_json::json;

use super::{shop, AuthLab, AuthSettings, HashingCost};
use crate::accounts::Verdict;
use crate::error::extract::Json as JsonBody;
use crate::error::ApiError;
use crate::identity::Student;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::CurrentSettings;
use crate::labs::Labs;

/// Most demo users one sandbox holds.
const MAX_USERS: i64 = 50;

/// Reading a stored hash apart.
pub(super) trait PhcParts: Sized {
    /// Takes a PHC string apart; `None` when it is not one.
    fn of(phc: &str) -> Option<Self>;
}

impl PhcParts for HashParts {
    fn of(phc: &str) -> Option<Self> {
        let parsed = PasswordHash::new(phc).ok()?;
        let param = |name: &str| parsed.params.get_decimal(name);
        Some(Self {
            phc: phc.to_string(),
            algorithm: parsed.algorithm.to_string(),
            version: parsed.version,
            m_kib: param("m"),
            t: param("t"),
            p: param("p"),
            salt: parsed.salt.map(|s| s.to_string()).unwrap_or_default(),
            hash: parsed.hash.map(|h| h.to_string()).unwrap_or_default(),
        })
    }
}

/// Recorded when the lab hashes a password.
#[derive(Serialize)]
struct Hashed {
    algorithm: &'static str,
    m_kib: u32,
    t: u32,
    p: u32,
    salt: String,
    took_ms: u64,
}

impl LabEvent for Hashed {
    const KIND: &'static str = "auth.hash";
    fn summary(&self) -> String {
        format!(
            "argon2id hash (m={} KiB, t={}, p={}) took {} ms",
            self.m_kib, self.t, self.p, self.took_ms
        )
    }
}

/// Recorded when the lab checks a password.
#[derive(Serialize)]
struct Verified {
    username: String,
    user_exists: bool,
    matched: bool,
    took_ms: u64,
}

impl LabEvent for Verified {
    const KIND: &'static str = "auth.verify";
    fn summary(&self) -> String {
        match (self.user_exists, self.matched) {
            (_, true) => format!("password matches {}'s hash", self.username),
            (true, false) => format!("password does not match {}'s hash", self.username),
            (false, _) => "no such user: checked against a decoy hash".to_string(),
        }
    }
}

fn check_username(name: &str) -> Result<(), ApiError> {
    let valid = (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if valid {
        Ok(())
    } else {
        Err(ApiError::Unprocessable(
            "username: 1 to 32 letters, digits, `.`, `_` or `-`".into(),
        ))
    }
}

/// `POST /labs/auth/users`
#[utoipa::path(post, path = "/users",
    operation_id = "register_user",
    summary = "Register a demo user",
    description = "Hashes the password with argon2id at the cost your settings pick, stores the PHC string in your shop's `users` table, and answers with the hash taken apart and how long hashing took. Hashing runs on the lab's own bounded pool, at a per-student rate.",
    request_body = model::labs::auth::Registration,
    responses(
        (status = 201, description = "The user was registered", body = model::labs::auth::DemoUser),
        (status = 409, description = "You already have a user by that name, your sandbox is full, or the lab's tables were changed", body = model::ErrorBody),
        (status = 422, description = "The username, password or role is not allowed", body = model::ErrorBody),
        (status = 429, description = "Hashing is busy or you hashed too often; try again after Retry-After", body = model::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub(super) async fn register(
    State(state): State<Labs>,
    inspector: Inspector,
    student: Student,
    CurrentSettings(settings, ..): CurrentSettings<AuthLab>,
    JsonBody(registration): JsonBody<Registration>,
) -> Result<(StatusCode, Json<DemoUser>), ApiError> {
    check_username(&registration.username)?;
    if !["buyer", "seller", "admin"].contains(&registration.role.as_str()) {
        return Err(ApiError::Unprocessable(format!(
            "role must be buyer, seller or admin, not {:?}",
            registration.role
        )));
    }
    if registration.password.is_empty() || registration.password.chars().count() > 128 {
        return Err(ApiError::Unprocessable(
            "password: 1 to 128 characters (this is a demo: weak ones are allowed, to study them)"
                .into(),
        ));
    }
    let count = shop::run(&state, &student.id, "SELECT COUNT(*) FROM users", vec![]).await?;
    let count = count.first().map(|row| row.integer(0)).transpose()?;
    if count.unwrap_or_default() >= MAX_USERS {
        return Err(ApiError::Conflict(format!("Your sandbox holds {MAX_USERS} demo users at most; DELETE /labs/auth/users to start again.")));
    }
    let started = Instant::now();
    let phc = hash(
        &state,
        &inspector,
        &student,
        &settings,
        registration.password,
    )
    .await?;
    let hash_ms = started.elapsed().as_millis() as u64;
    let inserted = shop::run(
        &state,
        &student.id,
        "INSERT INTO users (username, password_hash, role, created_at)
         VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        vec![
            json!(registration.username),
            json!(phc),
            json!(registration.role),
            json!(state.clock.now()),
        ],
    )
    .await?
    .changes();
    if inserted == 0 {
        return Err(ApiError::Conflict(format!(
            "You already have a demo user called {:?}.",
            registration.username
        )));
    }
    Ok((
        StatusCode::CREATED,
        Json(DemoUser {
            username: registration.username,
            role: registration.role,
            stored: HashParts::of(&phc),
            hash_ms: Some(hash_ms),
        }),
    ))
}

async fn hash(
    state: &Labs,
    inspector: &Inspector,
    student: &Student,
    settings: &AuthSettings,
    password: String,
) -> Result<String, ApiError> {
    let started = Instant::now();
    let phc = {
        let _step = inspector.step(
            "auth.hashing",
            "hashing the password on the lab's hashing pool",
        );
        state
            .labs
            .get::<AuthLab>()
            .hash(&student.id, settings.params(), password)
            .await?
    };
    let parts = HashParts::of(&phc);
    inspector.record(&Hashed {
        algorithm: "argon2id",
        m_kib: settings.argon2_m_kib,
        t: settings.argon2_t,
        p: settings.argon2_p,
        salt: parts.map(|p| p.salt).unwrap_or_default(),
        took_ms: started.elapsed().as_millis() as u64,
    });
    Ok(phc)
}

/// `GET /labs/auth/users`
#[utoipa::path(get, path = "/users",
    operation_id = "list_users",
    summary = "List your demo users",
    description = "Every demo user in your shop, oldest first, with the stored hash taken apart (`stored` is null when the stored value is not a PHC string).",
    responses(
        (status = 200, description = "Your demo users", body = Vec<model::labs::auth::DemoUser>),
        (status = 409, description = "The lab's tables in your shop were changed so the lab cannot read them", body = model::ErrorBody),
    ))]
pub(super) async fn list(
    State(state): State<Labs>,
    student: Student,
) -> Result<Json<Vec<DemoUser>>, ApiError> {
    let rows = shop::run(
        &state,
        &student.id,
        "SELECT username, role, password_hash FROM users ORDER BY created_at, username",
        vec![],
    )
    .await?;
    let users = rows
        .iter()
        .map(|row| {
            Ok(DemoUser {
                username: row.text(0)?,
                role: row.text(1)?,
                stored: HashParts::of(&row.text(2)?),
                hash_ms: None,
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(Json(users))
}

/// `DELETE /labs/auth/users`
#[utoipa::path(delete, path = "/users",
    operation_id = "clear_users",
    summary = "Delete all your demo users",
    responses(
        (status = 204, description = "Your shop has no demo users any more"),
    ))]
pub(super) async fn clear(
    State(state): State<Labs>,
    student: Student,
) -> Result<StatusCode, ApiError> {
    shop::run(&state, &student.id, "DELETE FROM users", vec![]).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Checks a demo user's password; their role when it matches. Records `auth.verify`.
pub(super) async fn check_password(
    state: &Labs,
    inspector: &Inspector,
    student: &Student,
    username: &str,
    password: String,
) -> Result<(Option<String>, u64), ApiError> {
    let rows = shop::run(
        state,
        &student.id,
        "SELECT password_hash, role FROM users WHERE username = ?",
        vec![json!(username)],
    )
    .await?;
    let (stored, role) = match rows.first() {
        Some(row) => (Some(row.text(0)?), Some(row.text(1)?)),
        None => (None, None),
    };
    let started = Instant::now();
    let user_exists = stored.is_some();
    let stored = stored.map(checkable).transpose()?.flatten();
    let verdict = state
        .labs
        .get::<AuthLab>()
        .verify(&student.id, password, stored)
        .await?;
    let took_ms = started.elapsed().as_millis() as u64;
    let matched = verdict == Verdict::Match;
    inspector.record(&Verified {
        username: username.to_string(),
        user_exists,
        matched,
        took_ms,
    });
    Ok((role.filter(|_| matched), took_ms))
}

/// A stored hash as the lab will check it. The `users` table is the
/// student's to change with SQL, so a hash may be anything: one that is not
/// a PHC string is checked like a missing user (against the decoy), and one
/// that would cost more than the lab's settings allow is refused, so it
/// cannot tie up the hashing pool that every student shares.
fn checkable(phc: String) -> Result<Option<String>, ApiError> {
    let Some(parts) = HashParts::of(&phc) else {
        return Ok(None);
    };
    match (parts.m_kib, parts.t, parts.p) {
        (Some(m), Some(t), Some(p)) if super::affordable(m, t, p) => Ok(Some(phc)),
        _ => Err(ApiError::Conflict(format!(
            "This user's stored hash asks for more work than the lab allows (m={:?} KiB, \
             t={:?}, p={:?}); register the user again, or reset your shop.",
            parts.m_kib, parts.t, parts.p
        ))),
    }
}

/// `POST /labs/auth/verify`: one password check, timed. An unknown user is
/// checked against a decoy, so the time does not tell who exists.
#[utoipa::path(post, path = "/verify",
    operation_id = "verify_password",
    summary = "Check a password against a demo user's hash",
    description = "One timed check. An unknown user is checked against a decoy hash, so neither the answer nor its time tells who exists.",
    request_body = model::labs::auth::PasswordAttempt,
    responses(
        (status = 200, description = "Whether the password matched, and how long the check took", body = model::labs::auth::PasswordVerification),
        (status = 409, description = "The stored hash asks for more work than the lab allows, or the lab's tables were changed", body = model::ErrorBody),
        (status = 429, description = "Hashing is busy or you hashed too often; try again after Retry-After", body = model::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub(super) async fn verify(
    State(state): State<Labs>,
    inspector: Inspector,
    student: Student,
    JsonBody(attempt): JsonBody<PasswordAttempt>,
) -> Result<Json<PasswordVerification>, ApiError> {
    let (role, took_ms) = check_password(
        &state,
        &inspector,
        &student,
        &attempt.username,
        attempt.password,
    )
    .await?;
    Ok(Json(PasswordVerification {
        matched: role.is_some(),
        took_ms,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phc_string_comes_apart_into_its_fields() {
        let phc = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
        let parts = HashParts::of(phc).unwrap();
        assert_eq!(parts.algorithm, "argon2id");
        assert_eq!(parts.version, Some(19));
        assert_eq!(
            (parts.m_kib, parts.t, parts.p),
            (Some(19456), Some(2), Some(1))
        );
        assert_eq!(parts.salt, "c2FsdHNhbHRzYWx0");
        assert!(HashParts::of("not a hash").is_none());
    }

    #[test]
    fn a_stored_hash_is_checked_only_at_a_cost_the_lab_allows() {
        let phc = |m: u32| {
            format!("$argon2id$v=19$m={m},t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g")
        };
        assert_eq!(checkable(phc(19456)).unwrap(), Some(phc(19456)));
        assert!(matches!(
            checkable(phc(4 << 20)),
            Err(ApiError::Conflict(_))
        ));
        assert_eq!(
            checkable("hunter2".into()).unwrap(),
            None,
            "a plain text password"
        );
    }

    #[test]
    fn usernames_are_short_and_plain() {
        assert!(check_username("ada.l-1_x").is_ok());
        assert!(check_username("").is_err());
        assert!(check_username("a b").is_err());
        assert!(check_username(&"a".repeat(33)).is_err());
    }
}
