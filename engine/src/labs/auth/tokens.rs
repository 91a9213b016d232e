//! Signing demo users in, two ways, switchable per student
//! (`mechanism` in the lab settings):
//!
//! - **session**: a random id in the `lab_session` cookie (`HttpOnly`,
//!   `SameSite=Strict`, `Path=/labs/auth`, so it never meets the
//!   workbench's own cookie), mapped to a row on the server;
//! - **jwt**: a short-lived HS256 access token the client sends as
//!   `Authorization: Bearer`, and a refresh token kept (hashed) on the
//!   server. Every refresh rotates the refresh token; presenting one that was
//!   already used means it was stolen or replayed, so its whole family is
//!   revoked.
//!
//! Verification pins the algorithm to HS256: `alg: none`, other HMAC sizes
//! and asymmetric algorithms are refused whatever the token's header says.
//! Tokens also carry the student's id, so one student's token is worthless
//! in another's sandbox.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use model::labs::auth::{
    AccessClaims, DecodedToken, RefreshRequest, SessionStarted, SignIn, SignedInUser, TokenHeader,
    TokenPair,
};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::users::check_password;
use super::{shop, AuthLab, Mechanism};
use crate::error::extract::Json as JsonBody;
use crate::error::{ApiError, Challenge};
use crate::identity::Student;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::CurrentSettings;
use crate::labs::Labs;

/// The demo shop's session cookie.
pub(super) const COOKIE: &str = "lab_session";

/// The HS256 key: the deployment's, so a demo JWT one server issued is
/// good on every other.
fn signing_key(state: &Labs) -> &[u8; 32] {
    &state.labs.context().secrets.demo_jwt
}

pub(super) fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(super) fn random_token() -> String {
    format!(
        "{:032x}{:032x}",
        rand::random::<u128>(),
        rand::random::<u128>()
    )
}

/// A 401 for the demo shop: sign in (again) to get credentials.
fn unauthorized(message: impl Into<String>) -> ApiError {
    ApiError::Unauthorized(message.into(), Challenge::Lab)
}

/// Recorded when a session cookie is looked up.
#[derive(Serialize)]
struct SessionLoaded {
    cookie: String,
    found: bool,
    username: Option<String>,
    expires_at: Option<i64>,
}

impl LabEvent for SessionLoaded {
    const KIND: &'static str = "session.load";
    fn summary(&self) -> String {
        match &self.username {
            Some(user) => format!("session found: {user}"),
            None => "no live session for this cookie".into(),
        }
    }
}

/// Recorded when an access token is checked.
#[derive(Serialize)]
struct JwtVerified {
    header: serde_json::Value,
    claims: Option<serde_json::Value>,
    valid: bool,
    reason: Option<String>,
}

impl LabEvent for JwtVerified {
    const KIND: &'static str = "jwt.verify";
    fn summary(&self) -> String {
        match &self.reason {
            None => "signature and expiry valid".into(),
            Some(reason) => format!("token refused: {reason}"),
        }
    }
}

/// Recorded on refresh: rotation, or a reused token revoking its family.
#[derive(Serialize)]
struct Refreshed {
    family: String,
    outcome: &'static str,
    revoked_tokens: u64,
}

impl LabEvent for Refreshed {
    const KIND: &'static str = "jwt.refresh";
    fn summary(&self) -> String {
        match self.outcome {
            "rotated" => "refresh token used once and replaced".into(),
            "reuse" => format!(
                "a used refresh token came back: family revoked ({} tokens)",
                self.revoked_tokens
            ),
            other => format!("refresh refused: {other}"),
        }
    }
}

/// A token's header as a [`TokenPair`] shows it decoded.
fn shown_header(header: &Header) -> TokenHeader {
    TokenHeader {
        // The algorithms' variants are named as JWT headers write them (`HS256`).
        alg: format!("{:?}", header.alg),
        typ: header.typ.clone(),
    }
}

/// A signed HS256 access token for a demo user, with its header and claims.
pub(super) fn access_token(
    state: &Labs,
    student: &Student,
    username: &str,
    role: &str,
    access_secs: u32,
) -> Result<(String, Header, AccessClaims), ApiError> {
    let now = state.clock.now();
    let claims = AccessClaims {
        sub: username.to_string(),
        role: role.to_string(),
        stu: student.id.as_str().to_string(),
        iat: now,
        exp: now + i64::from(access_secs),
    };
    let header = Header::new(Algorithm::HS256);
    let token = encode(
        &header,
        &claims,
        &EncodingKey::from_secret(signing_key(state)),
    )
    .map_err(|e| ApiError::Internal(crate::error::InternalError::Password(e.to_string())))?;
    Ok((token, header, claims))
}

/// Starts a server-side session for a demo user; the `Set-Cookie` value for it.
pub(super) async fn start_session(
    state: &Labs,
    student: &Student,
    username: &str,
    session_secs: u32,
) -> Result<(HeaderValue, i64), ApiError> {
    let now = state.clock.now();
    let id = random_token();
    let expires_at = now + i64::from(session_secs);
    shop::run(
        state,
        &student.id,
        "INSERT INTO sessions (id, username, created_at, expires_at) VALUES (?, ?, ?, ?)",
        vec![json!(id), json!(username), json!(now), json!(expires_at)],
    )
    .await?;
    let cookie = format!(
        "{COOKIE}={id}; Path=/labs/auth; HttpOnly; SameSite=Strict; Max-Age={session_secs}{}",
        if state.secure_cookies { "; Secure" } else { "" }
    );
    let value = HeaderValue::from_str(&cookie).map_err(|_| {
        ApiError::Internal(crate::error::InternalError::Wiring(
            "a session cookie is not a header value",
        ))
    })?;
    Ok((value, expires_at))
}

async fn issue_pair(
    state: &Labs,
    student: &Student,
    username: &str,
    role: &str,
    family: &str,
    access_secs: u32,
    refresh_secs: u32,
) -> Result<TokenPair, ApiError> {
    let now = state.clock.now();
    let (access_token, header, claims) = access_token(state, student, username, role, access_secs)?;
    let refresh_token = random_token();
    shop::run(
        state,
        &student.id,
        "INSERT INTO refresh_tokens (token_hash, family, username, issued_at, expires_at)
         VALUES (?, ?, ?, ?, ?)",
        vec![
            json!(sha256_hex(&refresh_token)),
            json!(family),
            json!(username),
            json!(now),
            json!(now + i64::from(refresh_secs)),
        ],
    )
    .await?;
    Ok(TokenPair {
        mechanism: Mechanism::Jwt,
        token_type: "Bearer".into(),
        access_token,
        expires_in: access_secs,
        refresh_token,
        decoded: DecodedToken {
            claims,
            header: shown_header(&header),
        },
    })
}

/// `POST /labs/auth/login`'s answer: which one depends on the `mechanism`
/// lab setting.
// Untagged: each variant serialises as exactly the object it holds.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
enum LoginAnswer {
    /// Session mode: the session id travels in the `lab_session` cookie.
    Session(SessionStarted),
    /// JWT mode: an access token and a refresh token.
    Jwt(TokenPair),
}

/// `POST /labs/auth/login`
#[utoipa::path(post, path = "/login",
    summary = "Sign a demo user in",
    description = "Checks the password (and the two-factor code, for a user who enrolled one). In session mode (the default) the answer sets the `lab_session` cookie (HttpOnly, SameSite=Strict, Path=/labs/auth); in JWT mode it carries an HS256 access token and a one-use refresh token instead, and sets no cookie.",
    request_body = model::labs::auth::SignIn,
    responses(
        (status = 200, description = "Signed in: a session (session mode) or a token pair (JWT mode)", body = LoginAnswer,
            headers(("Set-Cookie" = String, description = "Session mode only: `lab_session=<id>; Path=/labs/auth; HttpOnly; SameSite=Strict; Max-Age=<session_secs>`"))),
        (status = 401, description = "Wrong username or password, or a missing, wrong or replayed two-factor code", body = model::ErrorBody),
        (status = 409, description = "The stored hash asks for more work than the lab allows, or the lab's tables were changed", body = model::ErrorBody),
        (status = 429, description = "Hashing is busy or you hashed too often; try again after Retry-After", body = model::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub(super) async fn login(
    State(state): State<Labs>,
    inspector: Inspector,
    student: Student,
    CurrentSettings(settings, ..): CurrentSettings<AuthLab>,
    JsonBody(attempt): JsonBody<SignIn>,
) -> Result<Response, ApiError> {
    let (role, _) = check_password(
        &state,
        &inspector,
        &student,
        &attempt.username,
        attempt.password,
    )
    .await?;
    let role = role.ok_or_else(|| unauthorized("Wrong username or password."))?;
    super::totp::check_second_factor(
        &state,
        &inspector,
        &student,
        &attempt.username,
        attempt.code.as_deref(),
    )
    .await?;
    match settings.mechanism {
        Mechanism::Session => {
            let (cookie, expires_at) =
                start_session(&state, &student, &attempt.username, settings.session_secs).await?;
            let mut response = Json(LoginAnswer::Session(SessionStarted {
                expires_at,
                mechanism: Mechanism::Session,
                role,
                username: attempt.username,
            }))
            .into_response();
            response.headers_mut().append(header::SET_COOKIE, cookie);
            Ok(response)
        }
        Mechanism::Jwt => {
            let family = format!("{:016x}", rand::random::<u64>());
            let pair = issue_pair(
                &state,
                &student,
                &attempt.username,
                &role,
                &family,
                settings.access_token_secs,
                settings.session_secs,
            )
            .await?;
            Ok(Json(LoginAnswer::Jwt(pair)).into_response())
        }
    }
}

/// `POST /labs/auth/refresh`: one use per refresh token.
#[utoipa::path(post, path = "/refresh",
    summary = "Trade a refresh token for a new token pair",
    description = "Each refresh token works once: the answer carries its replacement. A refresh token presented a second time means a copy exists, so its whole family is revoked and the answer is 401.",
    request_body = model::labs::auth::RefreshRequest,
    responses(
        (status = 200, description = "A new access token and a new refresh token", body = model::labs::auth::TokenPair),
        (status = 401, description = "The refresh token is unknown, already used (its family is now revoked), revoked or expired, or its user is gone", body = model::ErrorBody),
    ))]
pub(super) async fn refresh(
    State(state): State<Labs>,
    inspector: Inspector,
    student: Student,
    CurrentSettings(settings, ..): CurrentSettings<AuthLab>,
    JsonBody(body): JsonBody<RefreshRequest>,
) -> Result<Json<TokenPair>, ApiError> {
    let now = state.clock.now();
    let rows = shop::run(
        &state,
        &student.id,
        "SELECT family, username, expires_at, used_at, revoked_at FROM refresh_tokens
         WHERE token_hash = ?",
        vec![json!(sha256_hex(&body.refresh_token))],
    )
    .await?;
    let row = rows
        .first()
        .ok_or_else(|| unauthorized("Unknown refresh token."))?;
    let family = row.text(0)?;
    let username = row.text(1)?;
    let refusal = |outcome: &'static str, revoked_tokens: u64| {
        inspector.record(&Refreshed {
            family: family.clone(),
            outcome,
            revoked_tokens,
        });
    };
    if row.optional_integer(3)?.is_some() {
        // Reuse: someone holds a copy. End the whole chain.
        let revoked = shop::run(
            &state,
            &student.id,
            "UPDATE refresh_tokens SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL",
            vec![json!(now), json!(family)],
        )
        .await?
        .changes();
        refusal("reuse", revoked);
        return Err(unauthorized(
            "This refresh token was already used: the whole token family is now revoked. Sign in again.",
        ));
    }
    if row.optional_integer(4)?.is_some() {
        refusal("revoked", 0);
        return Err(unauthorized(
            "This refresh token was revoked. Sign in again.",
        ));
    }
    if row.integer(2)? <= now {
        refusal("expired", 0);
        return Err(unauthorized(
            "This refresh token has expired. Sign in again.",
        ));
    }
    let roles = shop::run(
        &state,
        &student.id,
        "SELECT role FROM users WHERE username = ?",
        vec![json!(username)],
    )
    .await?;
    let role = match roles.first() {
        Some(row) => row.text(0)?,
        None => return Err(unauthorized("That demo user no longer exists.")),
    };
    shop::run(
        &state,
        &student.id,
        "UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ?",
        vec![json!(now), json!(sha256_hex(&body.refresh_token))],
    )
    .await?;
    inspector.record(&Refreshed {
        family: family.clone(),
        outcome: "rotated",
        revoked_tokens: 0,
    });
    let pair = issue_pair(
        &state,
        &student,
        &username,
        &role,
        &family,
        settings.access_token_secs,
        settings.session_secs,
    )
    .await?;
    Ok(Json(pair))
}

/// `POST /labs/auth/logout`: deletes the session, or revokes a refresh
/// token's family when one is sent.
#[utoipa::path(post, path = "/logout",
    summary = "Sign out",
    description = "Deletes the session named by the `lab_session` cookie, if any, and clears the cookie. A body of `{\"refresh_token\": \"...\"}` also revokes that token's whole family; any other body (or none) is ignored.",
    request_body(content_type = "application/json", description = "Optional, and read whatever its type: in JWT mode, `{\"refresh_token\": \"...\"}` (a `RefreshRequest`) revokes that token's family; anything else is ignored."),
    responses(
        (status = 204, description = "Signed out (also when nobody was signed in)",
            headers(("Set-Cookie" = String, description = "Clears the session cookie: `lab_session=; Path=/labs/auth; HttpOnly; SameSite=Strict; Max-Age=0`"))),
    ))]
pub(super) async fn logout(
    State(state): State<Labs>,
    student: Student,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    if let Some(id) = session_cookie(&headers) {
        shop::run(
            &state,
            &student.id,
            "DELETE FROM sessions WHERE id = ?",
            vec![json!(id)],
        )
        .await?;
    }
    if let Ok(RefreshRequest { refresh_token }) = serde_json::from_slice(&body) {
        shop::run(
            &state,
            &student.id,
            "UPDATE refresh_tokens SET revoked_at = ? WHERE family =
             (SELECT family FROM refresh_tokens WHERE token_hash = ?) AND revoked_at IS NULL",
            vec![json!(state.clock.now()), json!(sha256_hex(&refresh_token))],
        )
        .await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "lab_session=; Path=/labs/auth; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    Ok(response)
}

/// The value of the request cookie called `name`.
pub(super) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(name)?
                .strip_prefix('=')
                .map(str::to_string)
        })
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE)
}

/// Who the request is signed in as, from a bearer token or the session cookie.
pub(super) async fn authenticate(
    state: &Labs,
    inspector: &Inspector,
    student: &Student,
    headers: &HeaderMap,
) -> Result<(String, String), ApiError> {
    if let Some(token) = crate::error::bearer_token(headers) {
        return verify_jwt(state, inspector, student, token);
    }
    let Some(id) = session_cookie(headers) else {
        return Err(unauthorized(
            "Not signed in to the demo shop: send the lab_session cookie or an Authorization: Bearer token.",
        ));
    };
    let rows = shop::run(
        state,
        &student.id,
        "SELECT s.username, s.expires_at, u.role FROM sessions s
         JOIN users u ON u.username = s.username
         WHERE s.id = ? AND s.expires_at > ?",
        vec![json!(id), json!(state.clock.now())],
    )
    .await?;
    let found = match rows.first() {
        Some(row) => Some((row.text(0)?, row.integer(1)?, row.text(2)?)),
        None => None,
    };
    inspector.record(&SessionLoaded {
        cookie: format!("{}…", id.chars().take(8).collect::<String>()),
        found: found.is_some(),
        username: found.as_ref().map(|f| f.0.clone()),
        expires_at: found.as_ref().map(|f| f.1),
    });
    found
        .map(|(user, _, role)| (user, role))
        .ok_or_else(|| unauthorized("The session has ended or never existed. Sign in again."))
}

fn verify_jwt(
    state: &Labs,
    inspector: &Inspector,
    student: &Student,
    token: &str,
) -> Result<(String, String), ApiError> {
    let header_json = decode_header(token)
        .ok()
        .and_then(|h| serde_json::to_value(h).ok())
        .unwrap_or(serde_json::Value::Null);
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.validate_exp = false; // checked below against the app's clock
    validation.required_spec_claims.clear();
    let result = decode::<AccessClaims>(
        token,
        &DecodingKey::from_secret(signing_key(state)),
        &validation,
    )
    .map_err(|e| format!("{e}"))
    .and_then(|data| {
        if data.claims.stu != student.id.as_str() {
            Err("issued for another student's sandbox".to_string())
        } else if data.claims.exp <= state.clock.now() {
            Err("expired".to_string())
        } else {
            Ok(data.claims)
        }
    });
    inspector.record(&JwtVerified {
        header: header_json,
        claims: result
            .as_ref()
            .ok()
            .and_then(|c| serde_json::to_value(c).ok()),
        valid: result.is_ok(),
        reason: result.as_ref().err().cloned(),
    });
    result
        .map(|claims| (claims.sub, claims.role))
        .map_err(|reason| {
            ApiError::Unauthorized(
                format!("The access token was refused: {reason}."),
                Challenge::LabTokenRefused,
            )
        })
}

/// `GET /labs/auth/me`
#[utoipa::path(get, path = "/me",
    summary = "Who the request is signed in as",
    description = "Reads an `Authorization: Bearer` access token when there is one, the `lab_session` cookie otherwise.",
    responses(
        (status = 200, description = "The signed-in demo user", body = model::labs::auth::SignedInUser),
        (status = 401, description = "No credentials, or the token or session was refused", body = model::ErrorBody),
    ))]
pub(super) async fn me(
    State(state): State<Labs>,
    inspector: Inspector,
    student: Student,
    headers: HeaderMap,
) -> Result<Json<SignedInUser>, ApiError> {
    let (username, role) = authenticate(&state, &inspector, &student, &headers).await?;
    Ok(Json(SignedInUser { role, username }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_are_stored_as_hashes() {
        let token = random_token();
        assert_eq!(token.len(), 64);
        assert_eq!(sha256_hex(&token).len(), 64);
        assert_ne!(sha256_hex(&token), token);
    }

    #[test]
    fn the_decoded_token_is_the_json_map_it_used_to_be() {
        let header = Header::new(Algorithm::HS256);
        let claims = AccessClaims {
            exp: 20,
            iat: 10,
            role: "buyer".into(),
            stu: "s1".into(),
            sub: "ada".into(),
        };
        let decoded = DecodedToken {
            claims: claims.clone(),
            header: shown_header(&header),
        };
        let as_map = serde_json::json!({ "header": header, "claims": claims }).to_string();
        assert_eq!(serde_json::to_string(&decoded).unwrap(), as_map);
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "workbench_session=a; lab_session=xyz".parse().unwrap(),
        );
        assert_eq!(session_cookie(&headers).as_deref(), Some("xyz"));
    }
}
