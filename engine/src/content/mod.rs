//! Course content: lessons loaded from a course folder, validated, and
//! rendered once into the data the pages show.
//!
//! A course folder holds `course.toml` (optional), `lessons/NN-module/` folders
//! with an optional `module.toml` and `NN-slug.md` lessons, and `exercises/`.
//! Loading either yields a whole [`Course`] or every authoring error found,
//! each as `file:line: message`.

mod live;
mod load;
pub mod search;

use crate::grading::Kinds;

pub use crate::markup::{AuthoringError, AuthoringErrors};
pub use live::LiveCourse;
pub(crate) use load::shown;
pub use load::{load_course, Course};
/// Why the course folder could not be watched for changes (dev mode).
pub use notify::Error as WatchError;

/// What a course may name that its own files do not define: the check
/// kinds its exercises use and the lab widgets its lessons embed. The
/// composition root builds it from the labs and widgets it registers, so
/// a lesson naming anything else fails to load, at its line.
#[derive(Clone)]
pub struct Vocabulary {
    /// The check kinds (`kind = "..."`, and `lab = "..."` through the `lab` kind).
    pub kinds: Kinds,
    /// The lab widgets' names (```` ```widget <name> ````).
    pub widgets: Vec<&'static str>,
}

impl Vocabulary {
    /// The kinds that need no lab, and no lab widgets.
    pub fn built_in() -> Self {
        Self {
            kinds: Kinds::built_in(),
            widgets: Vec::new(),
        }
    }
}
