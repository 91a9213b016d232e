//! Passwords: the rules a new password must meet, and argon2id hashing.
//!
//! Hashes are PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`), so
//! each one records the parameters it was made with. Verification reads them
//! from the string; a hash made with older parameters still verifies and is
//! replaced on the next successful sign-in ([`Passwords::needs_rehash`]).
//!
//! Hashing is deliberately slow and uses 19 MiB per hash, so it runs on the
//! blocking pool (never on an async worker) and behind a semaphore, which
//! bounds the memory a burst of sign-ins can claim.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{OnceCell, Semaphore};

use crate::error::InternalError;

/// Fewest characters in a password (NIST SP 800-63B asks for at least 8; we ask 10).
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Most characters in a password: long enough for any passphrase, short
/// enough that hashing cannot be made expensive by a huge input.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Passwords that meet the length rule but appear at the top of every
/// breached-password list. NIST asks verifiers to refuse known-bad passwords;
/// a full breach corpus is out of scope, these are the ones attackers try first.
const COMMON_PASSWORDS: &[&str] = &[
    "1234567890",
    "12345678910",
    "0123456789",
    "0987654321",
    "1111111111",
    "123123123123",
    "password12",
    "password123",
    "password1234",
    "passwordpassword",
    "qwertyuiop",
    "qwerty1234",
    "qwerty12345",
    "iloveyou12",
    "letmein123",
    "abcdefghij",
    "abc1234567",
    "welcome123",
    "administrator",
    "changeme123",
];

/// Why a new password was refused, in words for the person choosing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRule {
    /// Too short.
    #[error("Use at least {MIN_PASSWORD_CHARS} characters.")]
    TooShort,
    /// Too long.
    #[error("Use at most {MAX_PASSWORD_CHARS} characters.")]
    TooLong,
    /// The same as the account's email address.
    #[error("Your password cannot be your email address.")]
    SameAsEmail,
    /// On the list of passwords attackers try first.
    #[error("That password is one of the most commonly used; choose another.")]
    TooCommon,
}

impl From<PasswordRule> for crate::error::ApiError {
    fn from(rule: PasswordRule) -> Self {
        Self::Unprocessable(rule.to_string())
    }
}

/// Checks a new password against the rules (after NIST SP 800-63B: length
/// limits, no composition rules, no obvious choices).
pub fn check_new_password(password: &str, email: &str) -> Result<(), PasswordRule> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(PasswordRule::TooShort);
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(PasswordRule::TooLong);
    }
    let lowered = password.to_lowercase();
    if lowered.trim() == email.trim().to_lowercase() {
        return Err(PasswordRule::SameAsEmail);
    }
    if COMMON_PASSWORDS.contains(&lowered.as_str()) {
        return Err(PasswordRule::TooCommon);
    }
    Ok(())
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The password matches.
    Match,
    /// It does not (or there was no account to match).
    Mismatch,
}

/// Hashes and verifies passwords with argon2id.
pub struct Passwords {
    params: Params,
    permits: Arc<Semaphore>,
    /// A hash of a random password, verified against when an email has no
    /// account, so a sign-in for an unknown email costs what a real one costs.
    decoy: OnceCell<String>,
}

impl Passwords {
    /// The OWASP minimum for argon2id: m = 19 MiB, t = 2, p = 1.
    pub fn owasp() -> Self {
        Self::with_params(
            Params::new(19 * 1024, 2, 1, None).expect("the OWASP parameters are valid"),
        )
    }

    /// Hashing with `params`; the concurrency bound follows the core count.
    pub fn with_params(params: Params) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::with_permits(params, cores.max(2))
    }

    /// Hashing with `params`, at most `permits` hashes at once.
    pub fn with_permits(params: Params, permits: usize) -> Self {
        Self {
            params,
            permits: Arc::new(Semaphore::new(permits.max(1))),
            decoy: OnceCell::new(),
        }
    }

    /// The parameters new hashes are made with.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// A fresh PHC string for `password`, with a random 16-byte salt.
    pub async fn hash(&self, password: String) -> Result<String, InternalError> {
        self.hash_with_params(self.params.clone(), password).await
    }

    /// Like [`Passwords::hash`] with other parameters (the auth lab lets
    /// students change them), under the same concurrency bound.
    pub async fn hash_with_params(
        &self,
        params: Params,
        password: String,
    ) -> Result<String, InternalError> {
        self.run_blocking(move || hash_with(&params, &password))
            .await?
    }

    /// Checks `password` against `stored`; with no stored hash, checks it
    /// against the decoy, so the answer takes as long either way.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<Verdict, InternalError> {
        let (hash, real) = match stored {
            Some(hash) => (hash, true),
            None => (self.decoy().await?.to_owned(), false),
        };
        let matched = self
            .run_blocking(move || verify_with(&password, &hash))
            .await?;
        Ok(if matched && real {
            Verdict::Match
        } else {
            Verdict::Mismatch
        })
    }

    /// Whether `stored` was made with other parameters (or another algorithm)
    /// than new hashes, and should be replaced once the password is known.
    pub fn needs_rehash(&self, stored: &str) -> bool {
        let Ok(hash) = PasswordHash::new(stored) else {
            return true;
        };
        let Ok(params) = Params::try_from(&hash) else {
            return true;
        };
        hash.algorithm != Algorithm::Argon2id.ident()
            || hash.version != Some(Version::V0x13.into())
            || params.m_cost() != self.params.m_cost()
            || params.t_cost() != self.params.t_cost()
            || params.p_cost() != self.params.p_cost()
    }

    async fn decoy(&self) -> Result<&str, InternalError> {
        self.decoy
            .get_or_try_init(|| self.hash(format!("{:032x}", rand::random::<u128>())))
            .await
            .map(String::as_str)
    }

    /// Runs `work` on the blocking pool once a hashing permit is free.
    pub async fn run_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, InternalError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| InternalError::Wiring("the hashing semaphore was closed"))?;
        Ok(tokio::task::spawn_blocking(work).await?)
    }
}

fn argon2id(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_with(params: &Params, password: &str) -> Result<String, InternalError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| InternalError::Password(e.to_string()))?;
    argon2id(params)
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| InternalError::Password(e.to_string()))
}

/// Verification takes the parameters from the PHC string itself, so hashes
/// made under older defaults keep working.
fn verify_with(password: &str, stored: &str) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        tracing::error!("a stored password hash is not a PHC string");
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &hash)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap parameters, so tests that are not about the cost run quickly.
    fn cheap() -> Passwords {
        Passwords::with_params(Params::new(1024, 1, 1, None).unwrap())
    }

    #[test]
    fn the_default_parameters_are_at_least_owasps() {
        let params = Passwords::owasp().params().clone();
        assert_eq!(params.m_cost(), 19 * 1024, "memory in KiB");
        assert_eq!(params.t_cost(), 2, "iterations");
        assert_eq!(params.p_cost(), 1, "parallelism");
    }

    #[tokio::test]
    async fn hashes_are_argon2id_phc_strings_with_a_unique_salt() {
        let passwords = Passwords::owasp();
        let first = passwords
            .hash("correct horse battery".into())
            .await
            .unwrap();
        let second = passwords
            .hash("correct horse battery".into())
            .await
            .unwrap();
        assert!(
            first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{first}"
        );
        assert_ne!(first, second, "same password, different salts");
        let salt = |h: &str| PasswordHash::new(h).unwrap().salt.unwrap().to_string();
        assert_ne!(salt(&first), salt(&second));
        assert_eq!(
            passwords
                .verify("correct horse battery".into(), Some(first))
                .await
                .unwrap(),
            Verdict::Match
        );
    }

    #[tokio::test]
    async fn a_wrong_password_or_a_missing_account_never_matches() {
        let passwords = cheap();
        let stored = passwords.hash("the right one!".into()).await.unwrap();
        let verdict = |pw: &str, stored: Option<String>| {
            let pw = pw.to_string();
            let passwords = &passwords;
            async move { passwords.verify(pw, stored).await.unwrap() }
        };
        assert_eq!(
            verdict("the wrong one", Some(stored.clone())).await,
            Verdict::Mismatch
        );
        assert_eq!(verdict("the right one!", None).await, Verdict::Mismatch);
        assert_eq!(
            verdict("anything", Some("not a hash".into())).await,
            Verdict::Mismatch
        );
    }

    #[tokio::test]
    async fn hashes_made_with_other_parameters_need_a_rehash() {
        let owasp = Passwords::owasp();
        let old = cheap().hash("an old password".into()).await.unwrap();
        assert!(owasp.needs_rehash(&old));
        let current = owasp.hash("an old password".into()).await.unwrap();
        assert!(!owasp.needs_rehash(&current));
        assert!(owasp.needs_rehash("$2b$12$bcrypthashesarenotargon2"));
        // The old hash still verifies: parameters come from the string.
        assert_eq!(
            owasp
                .verify("an old password".into(), Some(old))
                .await
                .unwrap(),
            Verdict::Match
        );
    }

    #[test]
    fn new_passwords_follow_the_nist_rules() {
        let email = "ada@example.com";
        assert_eq!(
            check_new_password("short", email),
            Err(PasswordRule::TooShort)
        );
        assert_eq!(
            check_new_password(&"x".repeat(129), email),
            Err(PasswordRule::TooLong)
        );
        assert_eq!(
            check_new_password("ADA@example.com", email),
            Err(PasswordRule::SameAsEmail)
        );
        assert_eq!(
            check_new_password("Password123", email),
            Err(PasswordRule::TooCommon)
        );
        // No composition rules: a long lowercase passphrase is fine, and
        // length counts characters, not bytes.
        assert_eq!(check_new_password("correct horse battery", email), Ok(()));
        assert_eq!(check_new_password("ééééééééééé", email), Ok(()));
        assert_eq!(check_new_password(&"é".repeat(128), email), Ok(()));
    }
}
