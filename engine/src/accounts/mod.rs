//! Accounts on the workbench itself, built the way the auth lessons teach:
//! argon2id password hashes, rotated session ids, throttled sign-in, no
//! account enumeration, and roles checked on the server.
//!
//! - [`password`]: password rules and hashing.
//! - [`store`]: accounts in the platform database.
//! - [`throttle`]: the limiter in front of sign-in.
//!
//! Who is signed in for a request is decided once, by `identity`'s
//! middleware; handlers take its `SignedIn` or call [`Account::require`] to
//! insist on a role.

pub mod password;
pub mod store;
pub(crate) mod throttle;

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::students::StudentId;

pub use password::{Passwords, Verdict};
pub use throttle::{SignInLimits, SignInThrottle};

/// The account machinery handlers share.
pub struct AccountService {
    /// Hashing and verification.
    pub passwords: Passwords,
    /// The sign-in limiter.
    pub throttle: SignInThrottle,
}

/// What an account may do. Each role includes the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads lessons, uses labs, submits exercises.
    Student,
    /// Also reads the gradebook and every student's progress.
    Instructor,
    /// Also manages accounts and roles.
    Admin,
}

impl Role {
    /// The name stored in the database and shown to people.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Student => "student",
            Self::Instructor => "instructor",
            Self::Admin => "admin",
        }
    }

    /// Parses a stored or typed role name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "student" => Some(Self::Student),
            "instructor" => Some(Self::Instructor),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::parse(name)
            .ok_or_else(|| format!("unknown role `{name}`: expected student, instructor or admin"))
    }
}

/// A signed-up student.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The student id, shared with the guest identity it grew from.
    pub id: StudentId,
    /// Lowercased email address.
    pub email: String,
    /// The name shown in the header.
    pub name: String,
    /// What the account may do.
    pub role: Role,
    /// Sessions signed in under another epoch are void.
    pub session_epoch: i64,
    /// When the account was created (Unix seconds).
    pub created_at: i64,
}

impl Account {
    /// Succeeds when the account's role includes `needed`; 403 otherwise.
    pub fn require(&self, needed: Role) -> Result<(), ApiError> {
        if self.role >= needed {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "This needs the {} role; your account is a {}.",
                needed.as_str(),
                self.role.as_str()
            )))
        }
    }

    /// What the pages show about the signed-in reader.
    pub fn reader(&self) -> model::Reader {
        model::Reader {
            name: self.name.clone(),
            email: self.email.clone(),
            role: self.role.as_str().to_string(),
            member_since: self.created_at,
        }
    }
}

/// Normalises an email address for storage and lookup, or says what is wrong with it.
pub fn normalize_email(raw: &str) -> Result<String, &'static str> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Err("Enter your email address.");
    }
    if email.len() > 254 {
        return Err("That email address is too long.");
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err("An email address has an @ in it, like ada@example.com.");
    };
    if local.is_empty() || domain.is_empty() || email.chars().any(char::is_whitespace) {
        return Err("That does not look like an email address, like ada@example.com.");
    }
    Ok(email)
}

/// Trims a display name, or says what is wrong with it.
pub fn check_display_name(raw: &str) -> Result<String, &'static str> {
    let name = raw.trim();
    match name.chars().count() {
        0 => Err("Enter the name to show on your account."),
        61.. => Err("Keep your name to 60 characters."),
        _ if name.chars().any(char::is_control) => Err("Your name cannot hold control characters."),
        _ => Ok(name.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_include_the_ones_below_them() {
        let account = |role| Account {
            id: StudentId::from_raw("s1"),
            email: "a@b.c".into(),
            name: "A".into(),
            role,
            session_epoch: 0,
            created_at: 0,
        };
        assert!(account(Role::Admin).require(Role::Instructor).is_ok());
        assert!(account(Role::Instructor).require(Role::Instructor).is_ok());
        assert!(matches!(
            account(Role::Student).require(Role::Instructor),
            Err(ApiError::Forbidden(_))
        ));
        assert_eq!("admin".parse::<Role>(), Ok(Role::Admin));
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn emails_are_trimmed_and_lowercased_and_must_look_like_emails() {
        assert_eq!(
            normalize_email("  Ada@Example.COM "),
            Ok("ada@example.com".into())
        );
        assert!(normalize_email("ada").is_err());
        assert!(normalize_email("@example.com").is_err());
        assert!(normalize_email("ada@").is_err());
        assert!(normalize_email("a da@example.com").is_err());
        assert!(normalize_email("").is_err());
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(
            check_display_name("  Ada Lovelace "),
            Ok("Ada Lovelace".into())
        );
        assert!(check_display_name("   ").is_err());
        assert!(check_display_name(&"a".repeat(61)).is_err());
        assert!(check_display_name("bell\u{7}").is_err());
    }
}
