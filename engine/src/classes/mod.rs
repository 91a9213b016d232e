//! Classes: an instructor's group of students.
//!
//! An instructor (or admin) creates a class with a name, optional start and
//! end dates and a size, and gets a short join code and a link,
//! `/join/<code>`. A student who opens the link joins as who they are: an
//! account, or a guest under the name they give (a guest who later signs up
//! or in keeps the membership, as they keep everything else). A student may
//! be in several classes.
//!
//! Per class, the instructor sets deadlines per module (in the class's own
//! local time, an offset from UTC); students see them on the course home,
//! the lessons and their progress; attempts after a deadline count, marked
//! late. The gradebook, the stuck view and the CSV export are per class, and
//! an instructor sees only classes they run (an admin sees all).
//!
//! A class is also what tells a classroom from an attacker: its members share
//! one address budget sized to the class ([`crate::classroom`]).
//!
//! - [`store`]: the tables (`classes`, `class_members`, `class_deadlines`);
//! - [`dates`]: the few calendar sums deadlines need.

pub mod dates;
pub mod store;

use serde::Deserialize as _;

use crate::accounts::{Account, Role};
use crate::error::ApiError;
/// A code as people type it (any case, spaces or dashes) in its stored form.
pub use model::normalize_join_code as normalize_code;

/// Largest class (and the default size of a new one).
pub const MAX_CAPACITY: u32 = 2_000;
/// A new class's size when none is given.
pub const DEFAULT_CAPACITY: u32 = 500;
/// Letters of a join code: no 0/O or 1/I/L, so a code read aloud is typed right.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// Characters in a join code: 31^8, about 8.5 * 10^11 codes.
const CODE_LENGTH: usize = 8;

/// A class as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Class {
    /// Random id, used in instructor URLs.
    pub id: String,
    /// The join code.
    pub code: String,
    /// What students and instructors call it.
    pub name: String,
    /// The instructor who runs it.
    pub owner: crate::identity::StudentId,
    /// Optional first day, `YYYY-MM-DD`.
    pub starts_on: Option<String>,
    /// Optional last day, `YYYY-MM-DD`.
    pub ends_on: Option<String>,
    /// Most members.
    pub capacity: u32,
    /// The class's local time, in minutes east of UTC.
    pub utc_offset_minutes: i32,
    /// Unix seconds.
    pub created_at: i64,
}

impl Class {
    /// Whether `account` may see and change this class: its owner, or an admin.
    pub fn is_run_by(&self, account: &Account) -> bool {
        account.role >= Role::Admin
            || (account.role >= Role::Instructor && account.id == self.owner)
    }

    /// Its dates as people read them: `2027-01-10 to 2027-03-20`, `from ...`.
    pub fn dates(&self) -> Option<String> {
        match (&self.starts_on, &self.ends_on) {
            (Some(start), Some(end)) => Some(format!("{start} to {end}")),
            (Some(start), None) => Some(format!("from {start}")),
            (None, Some(end)) => Some(format!("until {end}")),
            (None, None) => None,
        }
    }

    /// Refuses with 403 unless `account` runs this class.
    pub fn require_runner(&self, account: &Account) -> Result<(), ApiError> {
        account.require(Role::Instructor)?;
        if self.is_run_by(account) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "This class is run by another instructor; you can see only your own classes."
                    .into(),
            ))
        }
    }
}

/// What an instructor typed to create a class, before checking.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct NewClass {
    /// Its name.
    pub name: String,
    /// Optional first day.
    #[serde(default, deserialize_with = "empty_is_none")]
    pub starts_on: Option<String>,
    /// Optional last day.
    #[serde(default, deserialize_with = "empty_is_none")]
    pub ends_on: Option<String>,
    /// Most members (default [`DEFAULT_CAPACITY`]).
    #[serde(default, deserialize_with = "number_or_empty")]
    pub capacity: Option<u32>,
    /// Local time as `+HH:MM` or `-HH:MM` from UTC (default `+00:00`).
    #[serde(default, deserialize_with = "empty_is_none")]
    pub utc_offset: Option<String>,
}

/// A checked [`NewClass`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassSpec {
    /// Trimmed name.
    pub name: String,
    /// Checked first day.
    pub starts_on: Option<String>,
    /// Checked last day.
    pub ends_on: Option<String>,
    /// Most members.
    pub capacity: u32,
    /// Minutes east of UTC.
    pub utc_offset_minutes: i32,
}

impl NewClass {
    /// Checks every field, saying what to fix.
    pub fn check(&self) -> Result<ClassSpec, ApiError> {
        let name = self.name.trim();
        let invalid = |message: String| Err(ApiError::Unprocessable(message));
        if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
            return invalid(
                "Name the class in 1 to 80 characters, e.g. \"Backend 101, spring\".".into(),
            );
        }
        let day = |field: &str, value: &Option<String>| -> Result<Option<String>, ApiError> {
            value
                .as_deref()
                .map(str::trim)
                .map(|text| {
                    dates::parse_day(text)
                        .map(|_| text.to_string())
                        .ok_or_else(|| {
                            ApiError::Unprocessable(format!(
                                "{field} must be a date written YYYY-MM-DD, not {text:?}."
                            ))
                        })
                })
                .transpose()
        };
        let starts_on = day("The start date", &self.starts_on)?;
        let ends_on = day("The end date", &self.ends_on)?;
        if let (Some(start), Some(end)) = (&starts_on, &ends_on) {
            if end < start {
                return invalid(format!(
                    "The class ends ({end}) before it starts ({start})."
                ));
            }
        }
        let capacity = self.capacity.unwrap_or(DEFAULT_CAPACITY);
        if !(1..=MAX_CAPACITY).contains(&capacity) {
            return invalid(format!(
                "A class has 1 to {MAX_CAPACITY} places, not {capacity}."
            ));
        }
        let utc_offset_minutes = match self.utc_offset.as_deref().map(str::trim) {
            None => 0,
            Some(text) => dates::parse_offset(text).ok_or_else(|| {
                ApiError::Unprocessable(format!(
                    "The time zone is an offset from UTC such as +01:00 or -05:00, not {text:?}."
                ))
            })?,
        };
        Ok(ClassSpec {
            name: name.to_string(),
            starts_on,
            ends_on,
            capacity,
            utc_offset_minutes,
        })
    }
}

/// A fresh join code.
pub fn new_code() -> String {
    (0..CODE_LENGTH)
        .map(|_| CODE_ALPHABET[rand::random::<u32>() as usize % CODE_ALPHABET.len()] as char)
        .collect()
}

fn empty_is_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value: Option<String> = serde::Deserialize::deserialize(d)?;
    Ok(value.filter(|v| !v.trim().is_empty()))
}

/// Browser forms send numbers as text, and an empty field for none.
fn number_or_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Field {
        Number(u32),
        Text(String),
    }
    match Option::<Field>::deserialize(d)? {
        None => Ok(None),
        Some(Field::Number(n)) => Ok(Some(n)),
        Some(Field::Text(text)) if text.trim().is_empty() => Ok(None),
        Some(Field::Text(text)) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("{text:?} is not a whole number"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unambiguous_and_typed_in_any_case() {
        let code = new_code();
        assert_eq!(code.len(), CODE_LENGTH);
        assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)), "{code}");
        assert_eq!(normalize_code(" abcd-efgh "), "ABCDEFGH");
    }

    #[test]
    fn a_new_class_is_checked_field_by_field() {
        let ok = NewClass {
            name: "  Backend 101 ".into(),
            starts_on: Some("2027-01-10".into()),
            ends_on: Some("2027-03-20".into()),
            capacity: Some(300),
            utc_offset: Some("+01:00".into()),
        }
        .check()
        .unwrap();
        assert_eq!(ok.name, "Backend 101");
        assert_eq!(ok.utc_offset_minutes, 60);
        let message = |class: NewClass| class.check().unwrap_err().to_string();
        assert!(message(NewClass::default()).contains("Name the class"));
        let named = || NewClass {
            name: "B".into(),
            ..NewClass::default()
        };
        assert!(message(NewClass {
            starts_on: Some("10/01/2027".into()),
            ..named()
        })
        .contains("YYYY-MM-DD"));
        assert!(message(NewClass {
            starts_on: Some("2027-03-01".into()),
            ends_on: Some("2027-02-01".into()),
            ..named()
        })
        .contains("before it starts"));
        assert!(message(NewClass {
            capacity: Some(0),
            ..named()
        })
        .contains("places"));
        assert!(message(NewClass {
            utc_offset: Some("CET".into()),
            ..named()
        })
        .contains("offset"));
        assert_eq!(named().check().unwrap().capacity, DEFAULT_CAPACITY);
    }
}
