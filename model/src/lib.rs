//! The data the pages and widgets show, defined once for both sides: the
//! server builds these values; the browser receives some of them as JSON
//! (traces) or as island props (request templates), so everything here is
//! plain serialisable data, with no server or UI crate in sight.
//!
//! # Layout
//! - this file: the pages' views (course, lessons, exercises, progress,
//!   classes, gradebook, the labs' API reference), traces, and
//!   [`ErrorBody`];
//! - [`exercises`]: the exercise API's request and answer bodies;
//! - [`labs`]: each lab's request and answer bodies and its settings, one
//!   module per lab;
//! - [`search`]: the course search's results.

pub mod exercises;
pub mod labs;
pub mod search;

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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// An exercise card from an ```` ```exercise <id> ```` block.
    Exercise(ExerciseView),
    /// A lab's own control, from a ```` ```widget <name> ```` block: the
    /// name of a widget the app registers (and the course loader checked).
    LabWidget(String),
    /// A runnable query from a ```` ```sql ```` block, run in the student's sandbox.
    Sql(String),
}

/// What the browser may know about an exercise: never its answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExerciseView {
    /// The exercise id (its file name).
    pub id: String,
    /// Its title.
    pub title: String,
    /// Points for a full answer.
    pub points: u32,
    /// The prompt, rendered from markdown on the server.
    pub prompt_html: String,
    /// What the student answers with.
    pub input: ExerciseInput,
    /// How many hints the exercise has (their text comes one at a time).
    pub hint_count: u32,
}

/// The answer form an exercise needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ExerciseInput {
    /// Pick one.
    SingleChoice {
        /// The choices, in the author's order.
        choices: Vec<String>,
    },
    /// Pick all that apply.
    MultipleChoice {
        /// The choices, in the author's order.
        choices: Vec<String>,
    },
    /// Put the items in order.
    Order {
        /// The items, in the author's (not the right) order.
        items: Vec<String>,
    },
    /// Type a short answer.
    ShortAnswer {
        /// Placeholder text for the field.
        placeholder: String,
    },
    /// Make a request to a lab; the server checks the student's own traces.
    LabRequests {
        /// The request to make, e.g. `POST /labs/http/echo/orders`.
        target: String,
    },
    /// Write a SQL query; the server runs it on two datasets.
    Sql {
        /// What the editor starts with.
        starter: String,
    },
    /// Run a server; the engine probes it at a base URL.
    Probe {
        /// The names of the probe's steps.
        steps: Vec<String>,
    },
}

/// The result of one check, as shown to the student. `expected` states a
/// public requirement ("status 201"), never a reference answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckOutcome {
    /// What was checked, in words.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// What the exercise requires, when that is not a secret.
    pub expected: Option<String>,
    /// What the student's answer or server did.
    pub observed: Option<String>,
    /// A nudge for a failed check.
    pub hint: Option<String>,
}

impl CheckOutcome {
    /// A check with no `expected`, `observed` or `hint` yet.
    pub fn new(name: impl Into<String>, passed: bool) -> Self {
        Self {
            name: name.into(),
            passed,
            expected: None,
            observed: None,
            hint: None,
        }
    }

    /// Adds the public requirement.
    pub fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    /// Adds what was observed.
    pub fn observed(mut self, observed: impl Into<String>) -> Self {
        self.observed = Some(observed.into());
        self
    }

    /// Adds a hint, kept only when the check failed.
    pub fn hint(mut self, hint: Option<String>) -> Self {
        if !self.passed {
            self.hint = hint;
        }
        self
    }
}

/// A graded answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// Points earned.
    pub score: u32,
    /// Points available.
    pub max: u32,
    /// Every check, in the order the exercise declares them.
    pub checks: Vec<CheckOutcome>,
}

impl Outcome {
    /// Scores checks: the points in proportion to the checks passed, rounded
    /// down, so only an answer passing every check earns full marks.
    pub fn from_checks(points: u32, checks: Vec<CheckOutcome>) -> Self {
        let total = checks.len() as u64;
        let passed = checks.iter().filter(|c| c.passed).count() as u64;
        let score = (u64::from(points) * passed).checked_div(total).unwrap_or(0) as u32;
        Self {
            score,
            max: points,
            checks,
        }
    }

    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.passed)
    }
}

/// A student's standing on one exercise, for its card.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExerciseStanding {
    /// Attempts so far.
    pub attempts: u32,
    /// Best score so far.
    pub best_score: Option<u32>,
    /// Whether any attempt passed every check.
    pub passed: bool,
    /// The hints opened so far, in order (rendered HTML).
    pub hints: Vec<String>,
    /// The latest attempt's outcome.
    pub last: Option<Outcome>,
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

/// One of a student's recent lab requests, without its events: an entry
/// of `GET /api/traces`, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceSummary {
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
    /// Request headers, secrets (cookies, authorization) redacted.
    #[serde(default)]
    pub request_headers: Vec<(String, String)>,
    /// Request body as text, cut at 4 KiB.
    #[serde(default)]
    pub request_body: String,
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// Why a page cannot show what was asked (401, 403, 404), for the page to
/// say in its own words.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRefusal {
    /// The HTTP status the page answers with.
    pub status: u16,
    /// What to tell the reader.
    pub message: String,
}

/// A student's progress through the course, for `/progress`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressView {
    /// Modules in course order.
    pub modules: Vec<ModuleProgress>,
    /// The classes the student is in, by name.
    #[serde(default)]
    pub classes: Vec<String>,
}

/// A module's deadline in one of the reader's classes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineView {
    /// The module's slug.
    pub module: String,
    /// The class that set it.
    pub class_name: String,
    /// When, as people read it: `2027-01-31 23:59 (UTC+01:00)`.
    pub due: String,
    /// Whether it has passed.
    pub passed: bool,
}

/// The reader's deadlines, for the pages that show them (course home,
/// lessons, progress). Present only for readers in a class with deadlines.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlinesView {
    /// Soonest first.
    pub deadlines: Vec<DeadlineView>,
}

impl DeadlinesView {
    /// The deadlines of one module.
    pub fn of_module<'a>(&'a self, module: &'a str) -> impl Iterator<Item = &'a DeadlineView> + 'a {
        self.deadlines.iter().filter(move |d| d.module == module)
    }
}

/// What a page served from the cache shows of its reader's own work,
/// spliced into the shared bytes: their deadlines and how each exercise
/// they tried went (by exercise id).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReaderMarks {
    /// The reader's deadlines.
    pub deadlines: DeadlinesView,
    /// Exercises tried, by id; an exercise not here was never attempted.
    pub exercises: std::collections::HashMap<String, ExerciseMark>,
}

/// How one exercise went for a student: what its card's status line says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExerciseMark {
    /// Attempts so far.
    pub attempts: u32,
    /// Best score of any attempt.
    pub best_score: Option<u32>,
    /// Whether any attempt passed every check.
    pub passed: bool,
}

/// A class in its instructor's list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassSummaryView {
    /// Its id, for its page: `/instructor/classes/{id}`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The join code.
    pub code: String,
    /// The join link's path: `/join/{code}`.
    pub join_path: String,
    /// The whole join link, as the reader reached the server (on the class page).
    #[serde(default)]
    pub join_url: String,
    /// Members now.
    pub members: u32,
    /// Most members.
    pub capacity: u32,
    /// Its first and last days, as people read them.
    pub dates: Option<String>,
    /// Its local time, e.g. `UTC+01:00`.
    pub time_zone: String,
}

/// `/instructor/classes`: the classes the reader runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassesView {
    /// Newest first.
    pub classes: Vec<ClassSummaryView>,
}

/// A member as the class page lists them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassMemberView {
    /// Their student id (to remove them).
    pub id: String,
    /// Their name.
    pub name: String,
    /// Their email; `None` for a guest.
    pub email: Option<String>,
    /// When they joined, as a date.
    pub joined: String,
}

/// A module's deadline as the class page edits it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleDeadlineView {
    /// The module's slug.
    pub module: String,
    /// Its title.
    pub title: String,
    /// The deadline as a `datetime-local` input holds it, in class time.
    pub due_local: Option<String>,
}

/// `/instructor/classes/{id}`: one class.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassView {
    /// What the list shows.
    pub class: ClassSummaryView,
    /// Members, by name.
    pub members: Vec<ClassMemberView>,
    /// Every module, with its deadline if set.
    pub deadlines: Vec<ModuleDeadlineView>,
}

/// `/join/{code}`: what a student sees before joining.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinView {
    /// The code, as typed in the link.
    pub code: String,
    /// The class's name; `None` when no class has this code.
    pub class_name: Option<String>,
    /// Who runs it.
    pub instructor: String,
    /// First and last day, if set.
    pub dates: Option<String>,
    /// The reader is in it already.
    pub already_member: bool,
    /// It has no places left.
    pub full: bool,
}

/// One module of a student's progress.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleProgress {
    /// The module's slug.
    pub slug: String,
    /// Its title.
    pub title: String,
    /// Its lessons, and whether the student opened each.
    pub lessons: Vec<LessonProgress>,
    /// Its exercises and the student's best on each.
    pub exercises: Vec<ExerciseProgress>,
}

/// Whether a lesson was opened.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LessonProgress {
    /// The lesson's link.
    pub link: LessonLink,
    /// Whether the student opened it.
    pub read: bool,
}

/// A student's record on one exercise.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExerciseProgress {
    /// The exercise id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// The lesson page holding it.
    pub lesson_href: String,
    /// Points available.
    pub points: u32,
    /// Best score, if attempted.
    pub best_score: Option<u32>,
    /// Attempts made.
    pub attempts: u32,
    /// Whether an attempt passed every check.
    pub passed: bool,
    /// Whether the best score came after the module's deadline in one of
    /// the student's classes.
    #[serde(default)]
    pub late: bool,
}

/// The instructor's gradebook, for `/instructor/gradebook`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradebookView {
    /// The module shown, or every module.
    pub module: Option<String>,
    /// Every module as `(slug, title)`, for the filter.
    pub modules: Vec<(String, String)>,
    /// The columns: exercises in course order.
    pub exercises: Vec<GradebookColumn>,
    /// One row per student of the cohort.
    pub students: Vec<GradebookRow>,
    /// Where students get stuck: the shown exercises someone tried, those
    /// most tried and not passed first.
    pub stuck: Vec<StuckRow>,
    /// The class shown (its id); `None` for students in no class (or every
    /// student, for an admin).
    #[serde(default)]
    pub class: Option<String>,
    /// Who the rows are: the class's name, or what `everyone` says.
    #[serde(default)]
    pub cohort: String,
    /// The classes the reader runs, `(id, name)`, for the picker.
    #[serde(default)]
    pub classes: Vec<(String, String)>,
    /// What the picker calls the view without a class.
    #[serde(default)]
    pub everyone: String,
    /// Every module's completion and average score, in course order.
    #[serde(default)]
    pub summary: Vec<ModuleScore>,
}

/// How a cohort is doing in one module.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleScore {
    /// The module's slug.
    pub module: String,
    /// Its title.
    pub title: String,
    /// Exercises in it.
    pub exercises: u32,
    /// Exercises passed, as a percentage of students × exercises.
    pub completion_percent: u32,
    /// Points scored, as a percentage of students × points.
    pub average_percent: u32,
    /// Its deadline in the class shown, as people read it.
    pub deadline: Option<String>,
}

/// A gradebook column.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradebookColumn {
    /// The exercise id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Points available.
    pub points: u32,
}

/// A gradebook row.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradebookRow {
    /// The student's name.
    pub name: String,
    /// Their email.
    pub email: String,
    /// `(best score, attempts)` per column; `None` when never attempted.
    pub cells: Vec<Option<(u32, u32)>>,
    /// Sum of best scores.
    pub total: u32,
    /// Per column: the best score came only after the module's deadline.
    #[serde(default)]
    pub late: Vec<bool>,
}

/// How an exercise is going for the class.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StuckRow {
    /// The exercise id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Students who tried it.
    pub tried: u32,
    /// Students who passed it.
    pub passed: u32,
    /// The check failed most often, and how often.
    pub hardest_check: Option<(String, u32)>,
    /// Hints opened, all students together.
    pub hints_opened: u32,
}

/// A class's join code as its canonical form: letters and digits only, in
/// upper case, so a code typed as read aloud (`abcd-2345`) still matches.
pub fn normalize_join_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The reference page of the labs' HTTP API: every lab route, as the
/// OpenAPI document at `/api/openapi.json` describes it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiReference {
    /// Where the machine-readable document is.
    pub document_url: String,
    /// The OpenAPI version the document follows.
    pub openapi_version: String,
    /// One section per lab, in registry order.
    pub labs: Vec<ReferenceSection>,
    /// The shapes bodies refer to, by name.
    pub schemas: Vec<ReferenceSchema>,
}

/// One lab's routes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReferenceSection {
    /// The lab's name (its URL segment).
    pub name: String,
    /// What the lab teaches.
    pub title: String,
    /// Its routes, by path then method.
    pub operations: Vec<ReferenceOperation>,
}

/// One method on one path.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReferenceOperation {
    /// The operation's id in the document, also the page anchor.
    pub id: String,
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path template, e.g. `/labs/api/orders/{id}`.
    pub path: String,
    /// One line.
    pub summary: String,
    /// More, when there is more to say.
    pub description: String,
    /// Path, query and header parameters.
    pub parameters: Vec<ReferenceField>,
    /// The request body, if the route takes one.
    pub request: Option<ReferenceBody>,
    /// Each documented status.
    pub responses: Vec<ReferenceResponse>,
}

/// A body: its media type and shape.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReferenceBody {
    /// e.g. `application/json`.
    pub content_type: String,
    /// The shape, as text (`Order`, `string`).
    pub shape: String,
    /// The named shape, when the body is one (a link to [`ApiReference::schemas`]).
    pub schema: Option<String>,
}

/// One documented answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReferenceResponse {
    /// `200`, `404`, or a range such as `4XX`.
    pub status: String,
    /// What it means.
    pub description: String,
    /// Its body, if it has one.
    pub body: Option<ReferenceBody>,
    /// Headers worth knowing, with what they say.
    pub headers: Vec<ReferenceField>,
}

/// A field of a shape, a parameter or a header.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReferenceField {
    /// Its name.
    pub name: String,
    /// For parameters: `path`, `query` or `header`; empty otherwise.
    pub location: String,
    /// Its type, as text (`integer`, `string | null`, `OrderLine[]`).
    pub shape: String,
    /// The named shape it refers to, if any.
    pub schema: Option<String>,
    /// Whether it must be there.
    pub required: bool,
    /// What it is.
    pub description: String,
}

/// A named shape.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReferenceSchema {
    /// Its name, also the page anchor.
    pub name: String,
    /// What it is.
    pub description: String,
    /// `object`, or the values of an enumeration.
    pub shape: String,
    /// Its fields, for objects.
    pub fields: Vec<ReferenceField>,
}
