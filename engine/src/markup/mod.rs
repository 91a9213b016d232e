//! The text of a course's files, whatever they hold: front matter, markdown
//! rendered into lesson blocks (with highlighted code, request widgets, lab
//! widgets and exercise cards), and authoring errors as `file:line: message`.
//! Lessons (the `content` module) and exercises (`grading`) are both
//! written in it; it knows neither.

mod authoring;
mod front_matter;
mod highlight;
mod markdown;
mod request_block;

pub use authoring::{AuthoringError, AuthoringErrors};
pub(crate) use front_matter::{
    parse as front_matter_parse, split as front_matter_split, LessonMeta,
};
pub(crate) use markdown::{render as render_markdown, Embeds, SectionText};
