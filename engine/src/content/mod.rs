//! Course content: lessons loaded from a course folder, validated, and
//! rendered once into the data the pages show.
//!
//! A course folder holds `course.toml` (optional), `lessons/NN-module/` folders
//! with an optional `module.toml` and `NN-slug.md` lessons, and `exercises/`.
//! Loading either yields a whole [`Course`] or every authoring error found,
//! each as `file:line: message`.

mod authoring;
mod front_matter;
mod highlight;
mod live;
mod load;
mod markdown;
mod request_block;

pub use authoring::{AuthoringError, AuthoringErrors};
pub(crate) use front_matter::{parse as front_matter_parse, split as front_matter_split};
pub use live::LiveCourse;
pub use load::{load_course, Course};
pub(crate) use markdown::render as render_markdown;
/// Why the course folder could not be watched for changes (dev mode).
pub use notify::Error as WatchError;
