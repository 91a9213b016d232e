//! Two-factor sign-in with TOTP (RFC 6238): a shared secret, and a six-digit
//! code from HMAC-SHA1 over the current 30-second step. Codes from one step
//! either side are accepted (clock drift), and a step once used is refused,
//! so a code seen over a shoulder cannot be replayed.
//!
//! | route | what it does |
//! |---|---|
//! | `POST /labs/auth/totp/enrol` | a new secret for the signed-in demo user: base32, an `otpauth://` URI and its QR code |
//! | `POST /labs/auth/totp/confirm` | `{"code"}`: turns two-factor sign-in on once a first code matches |

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use hmac::{Hmac, Mac};
use model::labs::auth::{TotpConfirmation, TotpEnrolment, TwoFactorEnabled};
use serde::Serialize;
use serde_json::json;
use sha1::Sha1;

use super::shop;
use super::tokens::authenticate;
use crate::error::extract::Json as JsonBody;
use crate::error::{ApiError, Challenge};
use crate::identity::Student;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::Labs;

/// Seconds per time step.
const STEP_SECS: i64 = 30;
/// Steps accepted either side of now.
const WINDOW: i64 = 1;
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding, as authenticator apps expect.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            out.push(BASE32[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decodes base32 (case-insensitive, padding ignored); `None` when malformed.
pub fn unbase32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.trim_end_matches('=').bytes() {
        let value = BASE32.iter().position(|b| *b == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            out.push((buffer >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    Some(out)
}

/// The code for one time step (HOTP over the step counter, 6 digits).
fn code_for_step(secret: &[u8], step: i64) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    binary % 1_000_000
}

/// The six-digit code for a base32 secret at a Unix time: what an
/// authenticator app shows (and what tests type).
pub fn code_at(secret_base32: &str, unix: i64) -> Option<String> {
    let secret = unbase32(secret_base32)?;
    Some(format!(
        "{:06}",
        code_for_step(&secret, unix.div_euclid(STEP_SECS))
    ))
}

/// The step a code matches within the window around `now`, if any.
fn matching_step(secret: &[u8], code: &str, now: i64) -> Option<i64> {
    let code: u32 = code
        .trim()
        .parse()
        .ok()
        .filter(|_| code.trim().len() == 6)?;
    let current = now.div_euclid(STEP_SECS);
    (current - WINDOW..=current + WINDOW).find(|step| code_for_step(secret, *step) == code)
}

/// Recorded for each second-factor check.
#[derive(Serialize)]
struct TotpChecked {
    username: String,
    outcome: &'static str,
}

impl LabEvent for TotpChecked {
    const KIND: &'static str = "auth.totp";
    fn summary(&self) -> String {
        format!("second factor for {}: {}", self.username, self.outcome)
    }
}

/// Checks the second factor of a demo user at sign-in. `Ok` when the user
/// has none, or the code is fresh and right.
pub(super) async fn check_second_factor(
    state: &Labs,
    inspector: &Inspector,
    student: &Student,
    username: &str,
    code: Option<&str>,
) -> Result<(), ApiError> {
    let rows = shop::run(
        state,
        &student.id,
        "SELECT totp_secret, totp_enabled, totp_last_step FROM users WHERE username = ?",
        vec![json!(username)],
    )
    .await?;
    let row = rows.first().ok_or_else(no_such_user)?;
    if row.integer(1)? == 0 {
        return Ok(());
    }
    let secret = row
        .optional_text(0)?
        .and_then(|s| unbase32(&s))
        .unwrap_or_default();
    let last = row.optional_integer(2)?;
    let record = |outcome| {
        inspector.record(&TotpChecked {
            username: username.to_string(),
            outcome,
        })
    };
    let Some(code) = code else {
        record("code missing");
        return Err(ApiError::Unauthorized(
            "This user has two-factor sign-in: send the six-digit `code` from the authenticator too.".into(),
            Challenge::Lab,
        ));
    };
    match matching_step(&secret, code, state.clock.now()) {
        None => {
            record("wrong code");
            Err(ApiError::Unauthorized(
                "Wrong or expired two-factor code.".into(),
                Challenge::Lab,
            ))
        }
        Some(step) if last.is_some_and(|l| step <= l) => {
            record("replayed code");
            Err(ApiError::Unauthorized(
                "That two-factor code was already used; wait for the next one.".into(),
                Challenge::Lab,
            ))
        }
        Some(step) => {
            shop::run(
                state,
                &student.id,
                "UPDATE users SET totp_last_step = ? WHERE username = ?",
                vec![json!(step), json!(username)],
            )
            .await?;
            record("accepted");
            Ok(())
        }
    }
}

/// `POST /labs/auth/totp/enrol`
#[utoipa::path(post, path = "/totp/enrol",
    operation_id = "totp_enrol",
    summary = "Start two-factor enrolment for the signed-in demo user",
    description = "Makes a new TOTP secret (RFC 6238: SHA-1, 6 digits, 30 seconds) and gives it as base32, as an `otpauth://` URI and as that URI's QR code (an SVG document inside the JSON). Two-factor sign-in stays off until `POST /totp/confirm` sees a first code.",
    responses(
        (status = 200, description = "The new secret, three ways", body = model::labs::auth::TotpEnrolment),
        (status = 401, description = "Not signed in to the demo shop, or the user no longer exists", body = model::ErrorBody),
    ))]
pub(super) async fn enrol(
    State(state): State<Labs>,
    inspector: Inspector,
    student: Student,
    headers: HeaderMap,
) -> Result<Json<TotpEnrolment>, ApiError> {
    let (username, _) = authenticate(&state, &inspector, &student, &headers).await?;
    let secret = base32(&rand::random::<[u8; 20]>());
    let enrolled = shop::run(
        &state,
        &student.id,
        "UPDATE users SET totp_secret = ?, totp_enabled = 0, totp_last_step = NULL WHERE username = ?",
        vec![json!(secret), json!(username)],
    )
    .await?;
    if enrolled.changes() == 0 {
        return Err(no_such_user());
    }
    let label: String =
        form_urlencoded::byte_serialize(format!("Workbench demo shop:{username}").as_bytes())
            .collect();
    let otpauth_uri = format!("otpauth://totp/{label}?secret={secret}&issuer=Workbench%20demo%20shop&algorithm=SHA1&digits=6&period=30");
    let qr_svg = qrcode::QrCode::new(otpauth_uri.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .build()
        })
        .unwrap_or_default();
    Ok(Json(TotpEnrolment {
        secret,
        otpauth_uri,
        qr_svg,
    }))
}

/// `POST /labs/auth/totp/confirm`
#[utoipa::path(post, path = "/totp/confirm",
    operation_id = "totp_confirm",
    summary = "Turn two-factor sign-in on with a first code",
    description = "The current code (one 30-second step of drift either way is accepted) proves the authenticator holds the secret; from then on `POST /login` needs a `code` too.",
    request_body = model::labs::auth::TotpConfirmation,
    responses(
        (status = 200, description = "Two-factor sign-in is on", body = model::labs::auth::TwoFactorEnabled),
        (status = 401, description = "Not signed in to the demo shop, or the user no longer exists", body = model::ErrorBody),
        (status = 409, description = "The user has not enrolled yet", body = model::ErrorBody),
        (status = 422, description = "The code does not match", body = model::ErrorBody),
    ))]
pub(super) async fn confirm(
    State(state): State<Labs>,
    inspector: Inspector,
    student: Student,
    headers: HeaderMap,
    JsonBody(confirmation): JsonBody<TotpConfirmation>,
) -> Result<Json<TwoFactorEnabled>, ApiError> {
    let (username, _) = authenticate(&state, &inspector, &student, &headers).await?;
    let rows = shop::run(
        &state,
        &student.id,
        "SELECT totp_secret FROM users WHERE username = ?",
        vec![json!(username)],
    )
    .await?;
    let secret = rows.first().ok_or_else(no_such_user)?.optional_text(0)?;
    let secret = secret
        .and_then(|s| unbase32(&s))
        .ok_or_else(|| ApiError::Conflict("Enrol first: POST /labs/auth/totp/enrol.".into()))?;
    let step = matching_step(&secret, &confirmation.code, state.clock.now()).ok_or_else(|| {
        ApiError::Unprocessable(
            "That code does not match; check the authenticator's clock and try the current code."
                .into(),
        )
    })?;
    shop::run(
        &state,
        &student.id,
        "UPDATE users SET totp_enabled = 1, totp_last_step = ? WHERE username = ?",
        vec![json!(step), json!(username)],
    )
    .await?;
    Ok(Json(TwoFactorEnabled { two_factor: true }))
}

fn no_such_user() -> ApiError {
    ApiError::Unauthorized("That demo user no longer exists.".into(), Challenge::Lab)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        // RFC 6238 appendix B, SHA-1, secret "12345678901234567890"; the
        // RFC prints 8 digits, the last 6 are ours.
        let secret = base32(b"12345678901234567890");
        assert_eq!(secret, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(code_at(&secret, 59).unwrap(), "287082");
        assert_eq!(code_at(&secret, 1_111_111_109).unwrap(), "081804");
        assert_eq!(code_at(&secret, 2_000_000_000).unwrap(), "279037");
    }

    #[test]
    fn one_step_of_drift_either_way_is_accepted() {
        let secret = b"12345678901234567890";
        let now = 1_000_020;
        let step = now / STEP_SECS;
        let code = |s| format!("{:06}", code_for_step(secret, s));
        assert_eq!(matching_step(secret, &code(step - 1), now), Some(step - 1));
        assert_eq!(matching_step(secret, &code(step + 1), now), Some(step + 1));
        assert_eq!(matching_step(secret, &code(step + 2), now), None);
        assert_eq!(matching_step(secret, "12345", now), None);
    }

    #[test]
    fn base32_round_trips() {
        for bytes in [&b""[..], b"f", b"fo", b"foo", b"foob", b"fooba", b"foobar"] {
            assert_eq!(unbase32(&base32(bytes)).unwrap(), bytes);
        }
        assert!(unbase32("not base32!").is_none());
    }
}
