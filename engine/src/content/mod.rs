//! Course content: lessons loaded from a course folder, validated, and
//! rendered once into the data the pages show.
//!
//! A course folder holds `course.toml` (optional), `lessons/NN-module/` folders
//! with an optional `module.toml` and `NN-slug.md` lessons, and `exercises/`.
//! Loading either yields a whole [`Course`] or every authoring error found,
//! each as `file:line: message`.

mod live;
mod load;

pub use crate::markup::{AuthoringError, AuthoringErrors};
pub use live::LiveCourse;
pub use load::{load_course, Course};
/// Why the course folder could not be watched for changes (dev mode).
pub use notify::Error as WatchError;
