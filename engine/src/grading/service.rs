//! What grading shares between requests: the context checks run in, and
//! the limits on attempts (per student and exercise, per student, per
//! address for guests in no class, per API token).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use super::GradeContext;
use crate::limiter::{SharedLimiter, Tally};
use crate::students::StudentId;

/// Submissions one API token may have graded in a burst (then ten a second):
/// a class's worth of every exercise, not an answer oracle.
pub const API_SUBMISSION_BURST: u32 = 2_000;

/// What guests in no class behind one address may have graded in a burst,
/// in KiB of answers (one per short answer); twenty more come back a second.
const ADDRESS_BURST_KIB: u32 = 2_000;

/// Largest answer an attempt keeps (a whole SQL query fits many times over).
pub const MAX_ANSWER_BYTES: usize = 16 * 1024;
/// What the exercise routes share.
pub struct GradingService {
    /// What grading may use.
    pub context: GradeContext,
    /// Attempts per student per exercise.
    pub attempts: SharedLimiter<(StudentId, String)>,
    /// Attempts per client address, for guests in no class: a client
    /// without a cookie is a new guest on every request, so the per-student
    /// limit alone would not hold it. (Accounts and class members have
    /// identities that cost something to make; a class behind one address
    /// must not share this.)
    pub per_address: SharedLimiter<IpAddr>,
    /// Attempts per student across every exercise: what one identity may
    /// store in the database.
    pub per_student: SharedLimiter<StudentId>,
    /// Submissions graded through `POST /api/grade`, per API token.
    pub per_token: SharedLimiter<String>,
}

impl GradingService {
    /// Ten attempts in a burst per student and exercise, one more every
    /// three seconds; counted in `tally`.
    pub fn new(context: GradeContext, tally: &Tally) -> Self {
        Self {
            context,
            attempts: SharedLimiter::new(
                NonZeroU32::new(10).expect("nonzero"),
                Duration::from_secs(3),
                "attempts at this exercise",
                "grading-exercise",
                tally,
            ),
            per_address: SharedLimiter::new(
                NonZeroU32::new(ADDRESS_BURST_KIB).expect("nonzero"),
                Duration::from_millis(50),
                "attempts from your address",
                "grading-address",
                tally,
            ),
            per_student: SharedLimiter::new(
                NonZeroU32::new(60).expect("nonzero"),
                Duration::from_secs(1),
                "attempts from you",
                "grading-student",
                tally,
            ),
            per_token: SharedLimiter::new(
                NonZeroU32::new(API_SUBMISSION_BURST).expect("nonzero"),
                Duration::from_millis(100),
                "submissions graded with this token",
                "grading-token",
                tally,
            ),
        }
    }
}
