//! What the pages need from the server: the course content ([`Catalog`])
//! and what concerns the reader of this request ([`ReaderPages`]). The
//! server implements both and provides them as context while rendering;
//! pages render only on the server (islands mode), so the browser never
//! calls them. Each page asks for its own data, so the route table in
//! [`crate::App`] is the only one.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use crate::model::{
    ApiReference, ClassView, ClassesView, CourseOutline, DeadlinesView, GradebookView, JoinView,
    LessonPage, PageRefusal, ProgressView, ReaderMarks,
};

/// Read access to the loaded course.
pub trait Catalog: Send + Sync + 'static {
    /// The course home outline.
    fn outline(&self) -> Arc<CourseOutline>;
    /// One rendered lesson, or `None` when no such lesson exists.
    fn lesson(&self, module: &str, slug: &str) -> Option<Arc<LessonPage>>;
    /// The labs' API reference.
    fn api_reference(&self) -> Arc<ApiReference>;
    /// The best `limit` places in the course for `query`.
    fn search(&self, query: &str, limit: usize) -> crate::model::search::SearchResults;
}

/// The context value pages read the course from.
#[derive(Clone)]
pub struct CatalogContext(pub Arc<dyn Catalog>);

/// A page's data, or why its reader may not see it (the status and the
/// message the page shows).
pub type PageResult<T> = Result<T, PageRefusal>;

/// What the server answers a page with, later: it looks the data up while
/// the page renders.
pub type PageFuture<'a, T> = Pin<Box<dyn Future<Output = PageResult<T>> + Send + 'a>>;

/// What pages ask the server about the reader of this request. The server
/// makes one per request, knowing who asks and checking what they may see.
pub trait ReaderPages: Send + Sync + 'static {
    /// The reader's class deadlines (none for a reader it does not know).
    fn deadlines(&self) -> PageFuture<'_, DeadlinesView>;
    /// What a page served from the cache shows of the reader's own work;
    /// notes the lesson `(module, slug)` as read, if the page is one.
    /// `None` for a reader the server does not know.
    fn marks<'a>(
        &'a self,
        lesson: Option<(&'a str, &'a str)>,
    ) -> PageFuture<'a, Option<ReaderMarks>>;
    /// Notes that the reader opened the lesson `module/slug`, which exists,
    /// and returns their deadlines.
    fn lesson_opened<'a>(&'a self, module: &'a str, slug: &'a str)
        -> PageFuture<'a, DeadlinesView>;
    /// The reader's progress; `None` for a reader who has none yet.
    fn progress(&self) -> PageFuture<'_, Option<ProgressView>>;
    /// The gradebook of `class` (or everyone the reader may see) for
    /// `module` (or the first module; `all` for every module).
    fn gradebook(
        &self,
        class: Option<String>,
        module: Option<String>,
    ) -> PageFuture<'_, GradebookView>;
    /// The classes the reader runs.
    fn classes(&self) -> PageFuture<'_, ClassesView>;
    /// One class the reader runs.
    fn class<'a>(&'a self, id: &'a str) -> PageFuture<'a, ClassView>;
    /// The class a join code names, as the reader would join it.
    fn join<'a>(&'a self, code: &'a str) -> PageFuture<'a, JoinView>;
}

/// The context value pages ask about their reader through.
#[derive(Clone)]
pub struct ReaderPagesContext(pub Arc<dyn ReaderPages>);

/// What a page tells the server's page cache while it renders: whether its
/// bytes may serve other readers (outside its reader slots), and, for a
/// lesson, which one, so a page served from the cache still counts as read.
#[derive(Clone, Debug, Default)]
pub struct PageFacts(Arc<Mutex<Sharing>>);

/// Whether a rendered page may serve other readers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Sharing {
    /// Only the reader it was rendered for (the default: pages opt in).
    #[default]
    Private,
    /// Every reader: what is theirs alone is in the page's reader slots
    /// ([`crate::reader_slots`]), which the server fills per reader.
    Shared {
        /// The page's own address: only a request for exactly this is
        /// answered from the cache, so other spellings cannot fill it.
        href: String,
        /// The lesson the page shows, as `(module, slug)`.
        lesson: Option<(String, String)>,
    },
}

impl PageFacts {
    /// Marks the page at `href` as the same for every such reader.
    pub fn share(&self, href: String, lesson: Option<(String, String)>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Sharing::Shared { href, lesson };
    }

    /// What the page said.
    pub fn sharing(&self) -> Sharing {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Page-wide switches the server decides.
#[derive(Clone, Copy, Debug, Default)]
pub struct PageOptions {
    /// Whether pages carry the script that reloads them when a lesson file changes.
    pub live_reload: bool,
}
