//! `lab`: judges how the student configured a lab, by replaying requests
//! against their configuration. What a check of each lab looks like, and
//! how it is judged, is the lab's own ([`LabChecks`], in the lab's folder);
//! this kind reads `lab = "..."` and hands the table to that lab.
//!
//! ```toml
//! [check]
//! lab = "auth"          # a registered lab with checks of its own
//! # ... the rest is the lab's
//! ```
//!
//! In the browser the server assembles the answer from what the lab keeps
//! for the student (their stored settings, and for some labs more); the CLI
//! and the API take it in the answer, as `{"settings": {...}, ...}`.

use serde::Deserialize;

use super::{check_line, parse_check, CheckKind, Checker};

/// How a `[check]` table of one lab is read: the front matter (whose first
/// line is `first_line` of its file) into a checker, or `(line, message)`.
pub(crate) type LoadCheck = fn(&str, usize) -> Result<Box<dyn Checker>, (usize, String)>;

/// What a lab offers the `lab` check kind: its name and how to read its
/// checks (each lab's `checks.rs`).
#[derive(Clone, Copy)]
pub struct LabChecks {
    /// The lab, as `lab = "..."` names it.
    pub lab: &'static str,
    /// Reads one of its `[check]` tables.
    pub load: LoadCheck,
}

/// The `lab` kind, over the labs that have checks.
pub(crate) struct LabKind {
    labs: Vec<LabChecks>,
}

impl LabKind {
    /// The kind, for these labs.
    pub(crate) fn new(labs: Vec<LabChecks>) -> Self {
        Self { labs }
    }
}

/// Which lab a check replays, read before the rest of the table.
#[derive(Deserialize)]
struct Which {
    lab: String,
}

impl CheckKind for LabKind {
    fn name(&self) -> &'static str {
        "lab"
    }

    fn load(
        &self,
        front_matter: &str,
        first_line: usize,
    ) -> Result<Box<dyn Checker>, (usize, String)> {
        let which: Which = parse_check(front_matter, first_line)?;
        match self.labs.iter().find(|l| l.lab == which.lab) {
            Some(lab) => (lab.load)(front_matter, first_line),
            None => {
                let names: Vec<_> = self.labs.iter().map(|l| l.lab).collect();
                Err((
                    check_line(front_matter, first_line),
                    format!(
                        "[check]: `lab` {:?}: labs that can be checked this way are {}",
                        which.lab,
                        names.join(", ")
                    ),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lab_without_checks_is_refused_with_the_labs_that_have_them() {
        let kind = LabKind::new(Vec::new());
        let (line, message) = kind
            .load("title = \"t\"\n[check]\nlab = \"cache\"", 10)
            .unwrap_err();
        assert_eq!(line, 11);
        assert!(message.contains("\"cache\""), "{message}");
    }
}
