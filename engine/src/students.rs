//! Students: everyone who uses a lab or answers an exercise, guest or
//! account, is one, known by a [`StudentId`] that an account shares with the
//! guest it grew from.

use serde::{Deserialize, Serialize};

/// A student's id: `s` and 32 hex digits (older guests: `g` and 32 hex digits).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StudentId(String);

impl StudentId {
    /// A fresh random id.
    pub fn new_random() -> Self {
        Self(format!("s{:032x}", rand::random::<u128>()))
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
