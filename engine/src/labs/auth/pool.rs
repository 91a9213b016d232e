//! The auth lab's own hashing pool, apart from the platform's.
//!
//! Students make the lab hash on purpose (registering, verifying, signing a
//! demo user in, the hash race) and may raise argon2id's cost to 64 MiB and
//! four passes. If that work queued with the workbench's own sign-ins, one
//! class flooding the lab would make everyone wait to sign in. So the lab
//! hashes on its own bounded pool: [`LAB_HASHING_THREADS`] at a time, a
//! short queue beyond which it answers 429, and a per-student rate.
//! Platform sign-in keeps [`crate::accounts::password::Passwords`]' own permits.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use argon2::Params;

use crate::accounts::password::{Passwords, Verdict};
use crate::error::ApiError;
use crate::limiter::KeyedLimiter;
use crate::students::StudentId;

/// Lab hashes running at once: one core's worth, so the platform always
/// has the rest.
pub(crate) const LAB_HASHING_THREADS: usize = 1;
/// Lab hashing jobs that may wait for the pool before the lab says "busy".
pub(crate) const LAB_HASHING_QUEUE: usize = 8;
/// Hashes one student may ask for in a burst (then one a second).
pub(crate) const LAB_HASHES_PER_STUDENT: u32 = 20;

/// The auth lab's hashing: its own permits, queue and per-student rate.
pub struct LabHashing {
    passwords: Passwords,
    in_line: AtomicUsize,
    per_student: KeyedLimiter<StudentId>,
}

impl Default for LabHashing {
    fn default() -> Self {
        Self {
            passwords: Passwords::with_permits(
                Passwords::owasp().params().clone(),
                LAB_HASHING_THREADS,
            ),
            in_line: AtomicUsize::new(0),
            per_student: KeyedLimiter::new(
                NonZeroU32::new(LAB_HASHES_PER_STUDENT).expect("nonzero"),
                Duration::from_secs(1),
                "password hashes in the auth lab",
            ),
        }
    }
}

/// Takes a place in line; gives it back when dropped.
struct InLine<'a>(&'a AtomicUsize);

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl LabHashing {
    /// Hashes `password` with the student's parameters.
    pub async fn hash(
        &self,
        student: &StudentId,
        params: Params,
        password: String,
    ) -> Result<String, ApiError> {
        let _place = self.admit(student, 1)?;
        Ok(self.passwords.hash_with_params(params, password).await?)
    }

    /// Checks `password` against a demo user's hash (or a decoy).
    pub async fn verify(
        &self,
        student: &StudentId,
        password: String,
        stored: Option<String>,
    ) -> Result<Verdict, ApiError> {
        let _place = self.admit(student, 1)?;
        Ok(self.passwords.verify(password, stored).await?)
    }

    /// Runs other hashing work (the hash race) as `hashes` hashes' worth.
    pub async fn run<T: Send + 'static>(
        &self,
        student: &StudentId,
        hashes: u32,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let _place = self.admit(student, hashes)?;
        Ok(self.passwords.run_blocking(work).await?)
    }

    /// The student's rate first, then a place in line, or a 429.
    fn admit(&self, student: &StudentId, hashes: u32) -> Result<InLine<'_>, ApiError> {
        if let Some(hashes) = NonZeroU32::new(hashes) {
            self.per_student.check_n(student, hashes)?;
        }
        let place = InLine(&self.in_line);
        let ahead = self.in_line.fetch_add(1, Ordering::SeqCst);
        if ahead >= LAB_HASHING_THREADS + LAB_HASHING_QUEUE {
            return Err(ApiError::TooManyRequests {
                message: "The auth lab's password hashing is busy with other students' work; try again in a second.".into(),
                retry_after_secs: 1,
            });
        }
        Ok(place)
    }

    /// Forgets students whose allowance is full again.
    pub fn forget_idle(&self) {
        self.per_student.forget_idle();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_flood_beyond_the_queue_is_refused_not_queued() {
        let pool = LabHashing::default();
        let slow = Params::new(8 * 1024, 1, 1, None).unwrap();
        let students: Vec<_> = (0..40)
            .map(|i| StudentId::from_raw(format!("s{i}")))
            .collect();
        let results = futures_util::future::join_all(
            students
                .iter()
                .map(|s| pool.hash(s, slow.clone(), "pw".into())),
        )
        .await;
        let refused = results
            .iter()
            .filter(|r| matches!(r, Err(ApiError::TooManyRequests { .. })))
            .count();
        assert_eq!(
            results.len() - refused,
            LAB_HASHING_THREADS + LAB_HASHING_QUEUE,
            "only the pool and its queue were admitted"
        );
        assert_eq!(pool.in_line.load(Ordering::SeqCst), 0, "places given back");
    }

    #[tokio::test]
    async fn one_student_has_a_rate_of_their_own() {
        let pool = LabHashing::default();
        let ada = StudentId::from_raw("ada");
        let cheap = || Params::new(8, 1, 1, None).unwrap();
        for _ in 0..LAB_HASHES_PER_STUDENT {
            pool.hash(&ada, cheap(), "pw".into()).await.unwrap();
        }
        let refused = pool.hash(&ada, cheap(), "pw".into()).await.unwrap_err();
        assert!(matches!(refused, ApiError::TooManyRequests { .. }));
        let bob = StudentId::from_raw("bob");
        assert!(pool.hash(&bob, cheap(), "pw".into()).await.is_ok());
    }
}
