//! The data the pages and widgets show. The server builds these values; the
//! browser receives some of them as JSON (traces) or as island props (request
//! templates), so everything here is plain serialisable data.

use serde::{Deserialize, Serialize};

/// The course home: every module with its lessons, in teaching order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CourseOutline {
    /// The course title from `course.toml`.
    pub title: String,
    /// One line under the title.
    pub summary: String,
    /// Modules in folder order.
    pub modules: Vec<ModuleSummary>,
}

/// One module of the course and the lessons in it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ModuleSummary {
    /// URL segment, e.g. `http` for folder `01-http`.
    pub slug: String,
    /// Position in the course, from the folder's number.
    pub number: u32,
    /// Title from `module.toml`, or the slug when there is none.
    pub title: String,
    /// Summary from `module.toml`.
    pub summary: String,
    /// Lessons in file order.
    pub lessons: Vec<LessonLink>,
}

/// Enough about a lesson to link to it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LessonLink {
    /// Where the lesson is served, `/lessons/<module>/<slug>`.
    pub href: String,
    /// Lesson title.
    pub title: String,
    /// One-sentence summary.
    pub summary: String,
    /// Estimated reading and exercise time.
    pub minutes: u32,
}

/// A fully rendered lesson, ready for the lesson page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LessonPage {
    /// The module this lesson belongs to.
    pub module_title: String,
    /// Link data of this lesson.
    pub link: LessonLink,
    /// What a student can do after the lesson.
    pub objectives: Vec<String>,
    /// Headings of the lesson body, for the in-page table of contents.
    pub toc: Vec<TocEntry>,
    /// The body: static HTML interleaved with live widgets.
    pub blocks: Vec<LessonBlock>,
    /// The lesson before this one in course order.
    pub previous: Option<LessonLink>,
    /// The lesson after this one in course order.
    pub next: Option<LessonLink>,
}

/// One heading in a lesson's table of contents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TocEntry {
    /// Heading level, 2 or 3.
    pub level: u8,
    /// The heading's anchor id.
    pub id: String,
    /// The heading's plain text.
    pub text: String,
}

/// A piece of lesson body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LessonBlock {
    /// Trusted HTML rendered on the server from the lesson's markdown.
    Html(String),
    /// A live request widget from an ```` ```http ```` block.
    Request(RequestTemplate),
}

/// The request a lesson's ```` ```http ```` block starts the widget with.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestTemplate {
    /// Request method, e.g. `GET`.
    pub method: String,
    /// Path and query (same-origin), e.g. `/labs/http/echo?x=1`.
    pub url: String,
    /// Header lines in order.
    pub headers: Vec<(String, String)>,
    /// Request body, empty for none.
    pub body: String,
}

/// What the inspector recorded for one lab request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TraceView {
    /// 32 hex digits, as in the `traceresponse` header.
    pub trace_id: String,
    /// Request method.
    pub method: String,
    /// Request path and query.
    pub path: String,
    /// Response status code.
    pub status: u16,
    /// Unix time of the request start, in milliseconds.
    pub started_at_ms: u64,
    /// Total time spent in the server, in microseconds.
    pub duration_us: u64,
    /// Steps and events in the order they happened.
    pub events: Vec<TraceEventView>,
}

/// One step or event inside a trace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TraceEventView {
    /// Dotted kind, e.g. `http.echo` or `ratelimit.decision`.
    pub kind: String,
    /// One human sentence about what happened.
    pub summary: String,
    /// Offset from the start of the request, in microseconds.
    pub at_us: u64,
    /// Duration for steps that take time; `None` for instant events.
    pub duration_us: Option<u64>,
    /// The event's fields as (name, text) pairs, sorted by name; non-string
    /// values are written as JSON. Text keeps the browser
    /// bundle free of a JSON value type.
    pub fields: Vec<(String, String)>,
}

/// A JSON error body, as every API and lab route sends on 4xx and 5xx.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable error code, e.g. `bad_request`.
    pub error: String,
    /// A sentence a person can act on.
    pub message: String,
}

/// The signed-in reader, for the header and the account page. Absent for
/// anonymous readers and guests.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reader {
    /// The name the account shows.
    pub name: String,
    /// The account's email address.
    pub email: String,
    /// `student`, `instructor` or `admin`.
    pub role: String,
    /// When the account was created, in Unix seconds.
    pub member_since: i64,
}

/// A message for the next page, left by a form handler before it redirects
/// (Post/Redirect/Get), with the fields to fill in again. Passwords are
/// never kept.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    /// What went wrong, shown as an alert.
    pub error: Option<String>,
    /// What went right, shown as a status message.
    pub notice: Option<String>,
    /// The email typed, to fill in again.
    pub email: Option<String>,
    /// The name typed, to fill in again.
    pub name: Option<String>,
}
