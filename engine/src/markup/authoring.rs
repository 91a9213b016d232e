//! Authoring errors: mistakes in a course's files, reported as `file:line: message`.

use std::fmt;
use std::path::PathBuf;

/// One mistake in one course file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthoringError {
    /// The file, as the author would type it (relative to the working folder when possible).
    pub path: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong and, where possible, how to fix it.
    pub message: String,
}

impl AuthoringError {
    /// An error at a line of a file.
    pub fn new(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            line: line.max(1),
            message: message.into(),
        }
    }
}

impl fmt::Display for AuthoringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)
    }
}

/// Every authoring error found in a course, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthoringErrors(pub Vec<AuthoringError>);

impl fmt::Display for AuthoringErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for AuthoringErrors {}
