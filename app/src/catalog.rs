//! What the pages need from the server: the course content. The server
//! implements [`Catalog`] and provides it as context while rendering; pages
//! render only on the server (islands mode), so the browser never calls it.

use std::sync::Arc;

use crate::model::{CourseOutline, LessonPage};

/// Read access to the loaded course.
pub trait Catalog: Send + Sync + 'static {
    /// The course home outline.
    fn outline(&self) -> Arc<CourseOutline>;
    /// One rendered lesson, or `None` when no such lesson exists.
    fn lesson(&self, module: &str, slug: &str) -> Option<Arc<LessonPage>>;
}

/// The context value pages read the course from.
#[derive(Clone)]
pub struct CatalogContext(pub Arc<dyn Catalog>);

/// Page-wide switches the server decides.
#[derive(Clone, Copy, Debug, Default)]
pub struct PageOptions {
    /// Whether pages carry the script that reloads them when a lesson file changes.
    pub live_reload: bool,
}
