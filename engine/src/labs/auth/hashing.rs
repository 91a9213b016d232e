//! `GET /labs/auth/hash-race`: why password hashes must be slow, measured on
//! this server now. An attacker with a stolen table of unsalted SHA-256
//! hashes tries guesses at the first rate; against argon2id, at the second.

use std::time::Instant;

use axum::Json;
use model::labs::auth::HashRace;
use sha2::{Digest, Sha256};

use super::{AuthLab, HashingCost};
use crate::error::ApiError;
use crate::identity::Student;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::{CurrentSettings, LabState};

/// SHA-256 guesses per measurement: enough for a stable rate, small enough
/// (tens of milliseconds) to run on request.
const SHA_GUESSES: u32 = 100_000;
/// argon2id guesses per measurement.
const ARGON_GUESSES: u32 = 2;
/// Guesses to try every lowercase password of 8 letters (26^8).
const EIGHT_LOWERCASE: f64 = 208_827_064_576.0;

impl LabEvent for HashRace {
    const KIND: &'static str = "auth.hash_race";
    fn summary(&self) -> String {
        format!(
            "SHA-256: {:.0} guesses/s; argon2id: {:.1} guesses/s ({:.0}× slower)",
            self.sha256_guesses_per_second,
            self.argon2id_guesses_per_second,
            self.argon2id_slower_by
        )
    }
}

fn sha256_rate() -> f64 {
    let started = Instant::now();
    let mut digest = [0u8; 32];
    for guess in 0..SHA_GUESSES {
        digest = Sha256::new()
            .chain_update(guess.to_le_bytes())
            .chain_update(digest)
            .finalize()
            .into();
    }
    std::hint::black_box(digest);
    f64::from(SHA_GUESSES) / started.elapsed().as_secs_f64()
}

/// `GET /labs/auth/hash-race`
#[utoipa::path(get, path = "/hash-race",
    operation_id = "hash_race",
    summary = "Race SHA-256 against argon2id",
    description = "Measures, on the server now, how many password guesses per second an attacker gets against unsalted SHA-256 and against argon2id at your settings' cost.",
    responses(
        (status = 200, description = "The two rates and what they mean", body = model::labs::auth::HashRace),
        (status = 429, description = "Hashing is busy or you hashed too often; try again after Retry-After", body = model::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub(super) async fn race(
    LabState(hashing): LabState<AuthLab>,
    inspector: Inspector,
    student: Student,
    CurrentSettings(settings, ..): CurrentSettings<AuthLab>,
) -> Result<Json<HashRace>, ApiError> {
    let sha = {
        let _step = inspector.step("auth.sha256", format!("{SHA_GUESSES} SHA-256 guesses"));
        hashing.run(&student.id, 1, sha256_rate).await?
    };
    let argon = {
        let _step = inspector.step("auth.argon2id", format!("{ARGON_GUESSES} argon2id guesses"));
        let started = Instant::now();
        for guess in 0..ARGON_GUESSES {
            hashing
                .hash(&student.id, settings.params(), format!("guess {guess}"))
                .await?;
        }
        f64::from(ARGON_GUESSES) / started.elapsed().as_secs_f64()
    };
    let race = HashRace {
        sha256_guesses_per_second: sha,
        argon2id_guesses_per_second: argon,
        argon2id_params: format!(
            "m={} KiB, t={}, p={}",
            settings.argon2_m_kib, settings.argon2_t, settings.argon2_p
        ),
        argon2id_slower_by: sha / argon,
        eight_lowercase_letters_hours: (
            EIGHT_LOWERCASE / sha / 3600.0,
            EIGHT_LOWERCASE / argon / 3600.0,
        ),
    };
    inspector.record(&race);
    Ok(Json(race))
}
