//! OAuth 2.0, authorization code flow with PKCE, both ends in the lab: a
//! minimal authorization server ("Workbench ID") and the demo shop as its
//! client ("sign in with Workbench ID"). Every step is an `oauth.step`
//! event, so the trace tells the whole story.
//!
//! 1. `GET /labs/auth/oauth/start`: the shop makes a random `state` and a
//!    PKCE verifier, keeps both (behind the `lab_oauth` cookie), and
//!    redirects to the authorization server with the verifier's SHA-256
//!    (`code_challenge`).
//! 2. `GET /labs/auth/oauth/authorize`: Workbench ID checks the client and
//!    redirect URI, finds the user signed in to it (the lab session), and
//!    redirects back with a one-time `code` and the same `state`.
//! 3. `GET /labs/auth/oauth/callback`: the shop checks `state` against what
//!    it kept (a mismatch is a forged callback), then exchanges the code.
//! 4. `POST /labs/auth/oauth/token`: Workbench ID checks the code (unused,
//!    fresh, same client and redirect URI) and that SHA-256 of the
//!    `code_verifier` matches the challenge, then issues an access token.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use model::labs::auth::{
    OAuthAuthorizationRequest, OAuthCallbackQuery, OAuthError, OAuthSignedIn, OAuthTokenRequest,
    OAuthTokenResponse,
};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::tokens::{access_token, authenticate, cookie, random_token, sha256_hex, start_session};
use super::{shop, AuthLab};
use crate::error::extract::{Json as JsonBody, Query};
use crate::error::ApiError;
use crate::identity::Student;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::CurrentSettings;
use crate::labs::Labs;

/// The demo shop's client id at Workbench ID.
pub const CLIENT_ID: &str = "demo-shop";
/// The only redirect URI registered for it.
pub const REDIRECT_URI: &str = "/labs/auth/oauth/callback";
/// The cookie naming the shop's pending sign-in.
const PENDING_COOKIE: &str = "lab_oauth";
/// How long an authorization code lives.
const CODE_SECS: i64 = 60;

/// One step of the flow, for the trace.
#[derive(Serialize)]
struct Step {
    step: &'static str,
    detail: String,
}

impl LabEvent for Step {
    const KIND: &'static str = "oauth.step";
    fn summary(&self) -> String {
        format!("{}: {}", self.step, self.detail)
    }
}

fn step(inspector: &Inspector, step: &'static str, detail: impl Into<String>) {
    inspector.record(&Step {
        step,
        detail: detail.into(),
    });
}

/// base64url without padding, as PKCE (and JWTs) write bytes.
pub fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// The S256 challenge of a PKCE verifier.
pub fn challenge_of(verifier: &str) -> String {
    b64url(&Sha256::digest(verifier.as_bytes()))
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(OAuthError {
            error: error.to_string(),
            error_description: description.to_string(),
        }),
    )
        .into_response()
}

/// A refused OAuth request, as `authorize`, `token` and `callback` answer
/// 400: RFC 6749's error object when the flow refuses the request, or the
/// lab's own error body when the request could not even be read (a missing
/// query parameter, a malformed JSON body).
// Describes those answers only: the handlers send an `OAuthError` or an
// `ApiError` themselves.
#[derive(utoipa::ToSchema)]
#[serde(untagged)]
#[expect(dead_code, reason = "a description of two bodies, never built")]
enum OAuthRefusal {
    /// The OAuth flow refused the request.
    OAuth(OAuthError),
    /// The request could not be read.
    Request(model::ErrorBody),
}

/// `GET /labs/auth/oauth/start`
#[utoipa::path(get, path = "/oauth/start",
    operation_id = "oauth_start",
    summary = "Start \"sign in with Workbench ID\" (the shop, as OAuth client)",
    description = "Makes a random `state` and a PKCE verifier, keeps both behind the `lab_oauth` cookie, and redirects to the authorization endpoint with the verifier's S256 `code_challenge`.",
    responses(
        (status = 303, description = "To the authorization endpoint",
            headers(
                ("Location" = String, description = "`/labs/auth/oauth/authorize?response_type=code&client_id=demo-shop&redirect_uri=...&state=...&code_challenge=...&code_challenge_method=S256`"),
                ("Set-Cookie" = String, description = "`lab_oauth=<id>; Path=/labs/auth/oauth; HttpOnly; SameSite=Lax; Max-Age=600`: the pending sign-in"),
            )),
    ))]
pub(super) async fn start(
    State(state): State<Labs>,
    inspector: Inspector,
    student: Student,
) -> Result<Response, ApiError> {
    let id = random_token();
    let oauth_state = random_token()[..32].to_string();
    let verifier = random_token();
    shop::run(
        &state,
        &student.id,
        "INSERT INTO oauth_pending (id, state, verifier, created_at) VALUES (?, ?, ?, ?)",
        vec![
            json!(id),
            json!(oauth_state),
            json!(verifier),
            json!(state.clock.now()),
        ],
    )
    .await?;
    let challenge = challenge_of(&verifier);
    step(
        &inspector,
        "client.start",
        format!("state {oauth_state}, PKCE challenge {challenge} (S256 of a secret verifier)"),
    );
    let location = format!(
        "/labs/auth/oauth/authorize?response_type=code&client_id={CLIENT_ID}&redirect_uri={}&state={oauth_state}&code_challenge={challenge}&code_challenge_method=S256",
        form_urlencoded::byte_serialize(REDIRECT_URI.as_bytes()).collect::<String>()
    );
    let mut response = Redirect::to(&location).into_response();
    let cookie = format!(
        "{PENDING_COOKIE}={id}; Path=/labs/auth/oauth; HttpOnly; SameSite=Lax; Max-Age=600"
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `GET /labs/auth/oauth/authorize`
#[utoipa::path(get, path = "/oauth/authorize",
    operation_id = "oauth_authorize",
    summary = "Authorize the shop (Workbench ID, as authorization server)",
    description = "Checks the client and its registered redirect URI (a mismatch never redirects: that is how codes leak), requires `response_type=code` and an S256 PKCE challenge, finds the demo user signed in (bearer token or `lab_session` cookie) and redirects back to the client with a one-time code (valid 60 seconds) and the same `state`.",
    params(model::labs::auth::OAuthAuthorizationRequest),
    responses(
        (status = 303, description = "Back to the client's redirect URI with the code",
            headers(("Location" = String, description = "`/labs/auth/oauth/callback?code=...&state=...`"))),
        (status = 400, description = "Unknown client or redirect URI, a missing or malformed parameter, or no S256 challenge", body = OAuthRefusal),
        (status = 401, description = "No demo user is signed in to Workbench ID", body = model::ErrorBody),
    ))]
pub(super) async fn authorize(
    State(state): State<Labs>,
    inspector: Inspector,
    student: Student,
    headers: HeaderMap,
    Query(query): Query<OAuthAuthorizationRequest>,
) -> Result<Response, ApiError> {
    // A bad client or redirect URI must never redirect: that is how codes leak.
    if query.client_id != CLIENT_ID || query.redirect_uri != REDIRECT_URI {
        step(
            &inspector,
            "server.authorize",
            "unknown client or unregistered redirect_uri: refused",
        );
        return Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "unknown client_id or redirect_uri",
        ));
    }
    if query.response_type != "code"
        || query.code_challenge_method != "S256"
        || !is_pkce_value(&query.code_challenge)
    {
        return Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "response_type=code and an S256 code_challenge (43 to 128 characters of A-Z a-z 0-9 - . _ ~) are required",
        ));
    }
    if query.state.len() > MAX_STATE_BYTES {
        return Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("state is longer than {MAX_STATE_BYTES} bytes"),
        ));
    }
    let (username, _) = authenticate(&state, &inspector, &student, &headers).await?;
    let code = random_token();
    shop::run(
        &state,
        &student.id,
        "INSERT INTO oauth_codes (code_hash, username, client_id, redirect_uri, challenge, expires_at)
         VALUES (?, ?, ?, ?, ?, ?)",
        vec![
            json!(sha256_hex(&code)),
            json!(username),
            json!(query.client_id),
            json!(query.redirect_uri),
            json!(query.code_challenge),
            json!(state.clock.now() + CODE_SECS),
        ],
    )
    .await?;
    step(
        &inspector,
        "server.authorize",
        format!(
            "{username} is signed in to Workbench ID: one-time code issued, back to the client"
        ),
    );
    // Encoded, so no `state` can end the header line or add parameters of its own.
    let back =
        form_urlencoded::Serializer::for_suffix(format!("{REDIRECT_URI}?"), REDIRECT_URI.len() + 1)
            .append_pair("code", &code)
            .append_pair("state", &query.state)
            .finish();
    Ok(Redirect::to(&back).into_response())
}

/// Longest `state` the authorization server carries back.
const MAX_STATE_BYTES: usize = 512;

/// A PKCE verifier or challenge: 43 to 128 unreserved characters (RFC 7636, 4.1).
fn is_pkce_value(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

async fn exchange(
    state: &Labs,
    inspector: &Inspector,
    student: &Student,
    access_secs: u32,
    request: &OAuthTokenRequest,
) -> Result<OAuthTokenResponse, Response> {
    let refuse = |description: &str| {
        step(inspector, "server.token", format!("refused: {description}"));
        oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
    };
    if request.grant_type != "authorization_code" {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only authorization_code",
        ));
    }
    let failed = |e: ApiError| e.into_response();
    let rows = shop::run(
        state,
        &student.id,
        "SELECT username, client_id, redirect_uri, challenge, expires_at, used_at FROM oauth_codes
         WHERE code_hash = ?",
        vec![json!(sha256_hex(&request.code))],
    )
    .await
    .map_err(failed)?;
    let Some(row) = rows.first() else {
        return Err(refuse("unknown code"));
    };
    let get = |column: usize| row.text(column).unwrap_or_default();
    if row.optional_integer(5).ok().flatten().is_some() {
        return Err(refuse("this code was already used: codes work once"));
    }
    // Spend the code before anything else can fail, so it never works twice.
    shop::run(
        state,
        &student.id,
        "UPDATE oauth_codes SET used_at = ? WHERE code_hash = ?",
        vec![json!(state.clock.now()), json!(sha256_hex(&request.code))],
    )
    .await
    .map_err(failed)?;
    if row.integer(4).unwrap_or(0) <= state.clock.now() {
        return Err(refuse("the code has expired"));
    }
    if get(1) != request.client_id || get(2) != request.redirect_uri {
        return Err(refuse(
            "client_id or redirect_uri differ from the authorization request",
        ));
    }
    if challenge_of(&request.code_verifier) != get(3) {
        return Err(refuse(
            "code_verifier does not match the code_challenge (PKCE)",
        ));
    }
    let username = get(0);
    let roles = shop::run(
        state,
        &student.id,
        "SELECT role FROM users WHERE username = ?",
        vec![json!(username)],
    )
    .await
    .map_err(failed)?;
    let role = roles
        .first()
        .and_then(|row| row.text(0).ok())
        .unwrap_or_else(|| "buyer".into());
    let (token, _, _) = access_token(state, student, &username, &role, access_secs)
        .map_err(IntoResponse::into_response)?;
    step(
        inspector,
        "server.token",
        format!("code and verifier check out: access token for {username}"),
    );
    Ok(OAuthTokenResponse {
        access_token: token,
        token_type: "Bearer".into(),
        expires_in: access_secs,
        username,
    })
}

/// `POST /labs/auth/oauth/token`
#[utoipa::path(post, path = "/oauth/token",
    operation_id = "oauth_token",
    summary = "Exchange an authorization code for an access token",
    description = "The code must be unused (it is spent by this request, whatever the outcome), unexpired, for the same client and redirect URI, and SHA-256 of `code_verifier` must match the challenge (PKCE).",
    request_body = model::labs::auth::OAuthTokenRequest,
    responses(
        (status = 200, description = "An access token for the demo user", body = model::labs::auth::OAuthTokenResponse),
        (status = 400, description = "`invalid_grant` or `unsupported_grant_type`, or a malformed body", body = OAuthRefusal),
    ))]
pub(super) async fn token(
    State(state): State<Labs>,
    inspector: Inspector,
    student: Student,
    CurrentSettings(settings, ..): CurrentSettings<AuthLab>,
    JsonBody(request): JsonBody<OAuthTokenRequest>,
) -> Response {
    match exchange(
        &state,
        &inspector,
        &student,
        settings.access_token_secs,
        &request,
    )
    .await
    {
        Ok(tokens) => Json(tokens).into_response(),
        Err(response) => response,
    }
}

fn pending_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, PENDING_COOKIE)
}

/// `GET /labs/auth/oauth/callback`: the shop finishes its sign-in.
#[utoipa::path(get, path = "/oauth/callback",
    operation_id = "oauth_callback",
    summary = "Finish \"sign in with Workbench ID\" (the shop, as OAuth client)",
    description = "Checks `state` against the sign-in this browser started (the `lab_oauth` cookie; a mismatch is a forged callback), exchanges the code with the kept PKCE verifier, then signs the user in to the shop with its own session.",
    params(model::labs::auth::OAuthCallbackQuery),
    responses(
        (status = 200, description = "The shop signed the user in", body = model::labs::auth::OAuthSignedIn,
            headers(("Set-Cookie" = String, description = "The shop's own session: `lab_session=<id>; Path=/labs/auth; HttpOnly; SameSite=Strict; Max-Age=<session_secs>`"))),
        (status = 400, description = "No pending sign-in, a `state` that does not match (`invalid_state`), a refused code exchange, or a missing parameter", body = OAuthRefusal),
    ))]
pub(super) async fn callback(
    State(state): State<Labs>,
    inspector: Inspector,
    student: Student,
    CurrentSettings(settings, ..): CurrentSettings<AuthLab>,
    headers: HeaderMap,
    Query(query): Query<OAuthCallbackQuery>,
) -> Result<Response, ApiError> {
    let pending = match pending_cookie(&headers) {
        Some(id) => {
            let rows = shop::run(
                &state,
                &student.id,
                "DELETE FROM oauth_pending WHERE id = ? RETURNING state, verifier",
                vec![json!(id)],
            )
            .await?;
            match rows.first() {
                Some(row) => Some((row.text(0)?, row.text(1)?)),
                None => None,
            }
        }
        None => None,
    };
    let Some(pending) = pending else {
        step(
            &inspector,
            "client.callback",
            "no sign-in was started from this browser: refused",
        );
        return Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "no pending sign-in: start at /labs/auth/oauth/start",
        ));
    };
    let (kept_state, verifier) = pending;
    if kept_state != query.state {
        step(
            &inspector,
            "client.callback",
            "state differs from the one sent: a forged callback, refused",
        );
        return Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_state",
            "state does not match the sign-in this browser started",
        ));
    }
    step(
        &inspector,
        "client.callback",
        "state matches: exchanging the code with the PKCE verifier",
    );
    let request = OAuthTokenRequest {
        grant_type: "authorization_code".into(),
        code: query.code,
        redirect_uri: REDIRECT_URI.into(),
        client_id: CLIENT_ID.into(),
        code_verifier: verifier,
    };
    let tokens = match exchange(
        &state,
        &inspector,
        &student,
        settings.access_token_secs,
        &request,
    )
    .await
    {
        Ok(tokens) => tokens,
        Err(response) => return Ok(response),
    };
    let (cookie, _) =
        start_session(&state, &student, &tokens.username, settings.session_secs).await?;
    step(
        &inspector,
        "client.signed_in",
        format!(
            "the shop signed {} in with its own session",
            tokens.username
        ),
    );
    let mut response = Json(OAuthSignedIn {
        signed_in_as: tokens.username,
        via: "Workbench ID".into(),
    })
    .into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_matches_rfc_7636() {
        // RFC 7636 appendix B.
        assert_eq!(
            challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
