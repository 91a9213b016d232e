//! Who is asking: every visitor who uses a lab is a student, a guest until
//! they sign up. The student id lives in the platform session, so labs and
//! traces are the student's own from their first lab request.

use axum::extract::FromRequestParts;
use axum::http::{request::Parts, Extensions};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::db::unix_now;
use crate::error::{ApiError, InternalError};
use crate::state::AppState;

/// The session key holding the student id.
const STUDENT_KEY: &str = "student_id";

/// A student's id: `g` and 32 hex digits for guests.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StudentId(String);

impl StudentId {
    fn new_guest() -> Self {
        Self(format!("g{:032x}", rand::random::<u128>()))
    }

    /// Wraps an id read from trusted storage.
    pub fn from_raw(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether the student has an account yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StudentKind {
    /// Known only by the session cookie.
    Guest,
    /// Signed up.
    Account,
}

impl StudentKind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Guest => "guest",
            Self::Account => "account",
        }
    }
}

/// The student making the request.
#[derive(Clone, Debug)]
pub struct Student {
    /// Their id.
    pub id: StudentId,
    /// Guest or account.
    pub kind: StudentKind,
    /// True when this request created the guest identity.
    pub is_new: bool,
}

impl Student {
    /// The student of the session in `extensions`, creating a guest if there is none.
    pub async fn resolve(extensions: &Extensions, state: &AppState) -> Result<Self, ApiError> {
        if let Some(student) = extensions.get::<Student>() {
            return Ok(student.clone());
        }
        let session = extensions
            .get::<Session>()
            .cloned()
            .ok_or(ApiError::Internal(InternalError::Wiring(
                "the session layer is missing",
            )))?;
        if let Some(id) = current(&session).await? {
            return Ok(Self {
                id,
                kind: StudentKind::Guest,
                is_new: false,
            });
        }
        let id = StudentId::new_guest();
        sqlx::query("INSERT INTO students (id, kind, created_at) VALUES (?, 'guest', ?)")
            .bind(id.as_str())
            .bind(unix_now())
            .execute(&state.pool)
            .await?;
        session.insert(STUDENT_KEY, &id).await?;
        Ok(Self {
            id,
            kind: StudentKind::Guest,
            is_new: true,
        })
    }
}

impl FromRequestParts<AppState> for Student {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let student = Self::resolve(&parts.extensions, state).await?;
        parts.extensions.insert(student.clone());
        Ok(student)
    }
}

/// The session's student, if it has one; never creates a guest.
pub async fn current(session: &Session) -> Result<Option<StudentId>, ApiError> {
    Ok(session.get::<StudentId>(STUDENT_KEY).await?)
}
