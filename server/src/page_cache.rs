//! Rendered course pages, kept in memory. The course home and lesson pages
//! are the same for every reader without a view of their own, and change
//! only when the course reloads, so each is rendered once per course
//! version and then served as bytes.
//!
//! A page says while it renders whether it may be shared
//! ([`PageFacts`]): the home and lesson pages do when their reader has no
//! deadlines. Only `200` answers to a `GET` without a query, for exactly the
//! address the page gives as its own, are kept, so the cache holds at most
//! one entry per page of the course and a stranger cannot fill it with
//! other spellings. Signed-in readers see their name in the header, and a
//! message from their last form is theirs alone, so their pages are always
//! rendered fresh. A cached page is served only after doing what the page
//! would have done for its reader: a lesson is noted as read, and a reader
//! with deadlines gets a fresh page that shows them.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use app::catalog::{PageFacts, ReaderPagesContext, Sharing};
use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::content::LiveCourse;
use crate::identity::Visitor;

/// Largest page kept; anything bigger is served uncached.
const MAX_PAGE_BYTES: usize = 2 * 1024 * 1024;

/// Pages rendered for one version of a course.
pub struct PageCache {
    course: Arc<LiveCourse>,
    pages: RwLock<HashMap<String, CachedPage>>,
}

#[derive(Clone)]
struct CachedPage {
    course_version: u64,
    headers: HeaderMap,
    body: Bytes,
    /// The lesson the page shows, as `(module, slug)`.
    lesson: Option<(String, String)>,
}

impl PageCache {
    /// Nothing kept yet, for pages of `course`.
    pub fn new(course: Arc<LiveCourse>) -> Self {
        Self {
            course,
            pages: RwLock::default(),
        }
    }

    fn get(&self, path: &str, course_version: u64) -> Option<CachedPage> {
        let pages = self.pages.read().unwrap_or_else(|e| e.into_inner());
        pages
            .get(path)
            .filter(|p| p.course_version == course_version)
            .cloned()
    }

    fn put(&self, path: String, page: CachedPage) {
        let mut pages = self.pages.write().unwrap_or_else(|e| e.into_inner());
        // Pages of an older course version will never be served again.
        pages.retain(|_, kept| kept.course_version == page.course_version);
        pages.insert(path, page);
    }
}

/// Whether the reader could be sent a page rendered for someone else.
fn may_share(request: &Request) -> bool {
    let signed_in = matches!(
        request.extensions().get::<Visitor>(),
        Some(Visitor::SignedIn(_))
    );
    let flash = request.extensions().get::<model::Flash>().is_some();
    !signed_in && !flash && request.method() == Method::GET && request.uri().query().is_none()
}

/// Does for this reader what `page` would have done had it rendered, and
/// says whether the shared bytes still show them all they should see.
async fn still_shared(reader: Option<ReaderPagesContext>, page: &CachedPage) -> bool {
    let Some(reader) = reader else {
        return true;
    };
    let deadlines = match &page.lesson {
        Some((module, slug)) => reader.0.lesson_opened(module, slug).await,
        None => reader.0.deadlines().await,
    };
    deadlines.is_ok_and(|d| d.deadlines.is_empty())
}

/// Middleware: answers shared pages from the cache, filling it on a miss.
pub(crate) async fn serve_cached_pages(
    State(cache): State<Arc<PageCache>>,
    request: Request,
    next: Next,
) -> Response {
    if !may_share(&request) {
        return next.run(request).await;
    }
    let path = request.uri().path().to_string();
    let version = cache.course.version();
    if let Some(page) = cache.get(&path, version) {
        let reader = request.extensions().get::<ReaderPagesContext>().cloned();
        if still_shared(reader, &page).await {
            return (StatusCode::OK, page.headers, page.body).into_response();
        }
        return next.run(request).await;
    }
    let facts = request.extensions().get::<PageFacts>().cloned();
    let response = next.run(request).await;
    let lesson = match facts.map(|f| f.sharing()) {
        Some(Sharing::Shared { href, lesson }) if href == path => lesson,
        _ => return response,
    };
    if response.status() != StatusCode::OK {
        return response;
    }
    let (parts, body) = response.into_parts();
    match to_bytes(body, MAX_PAGE_BYTES).await {
        Ok(bytes) => {
            let page = CachedPage {
                course_version: version,
                headers: parts.headers.clone(),
                body: bytes.clone(),
                lesson,
            };
            cache.put(path, page);
            Response::from_parts(parts, Body::from(bytes))
        }
        Err(e) => {
            tracing::error!(error = %e, path, "could not buffer a rendered page");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
