//! Rendered course pages, kept in memory. The course home and lesson pages
//! are the same for every reader and change only when the course reloads, so
//! each is rendered once per course version and then served as bytes.
//!
//! Only `200` answers to `GET /` and `GET /lessons/...` without a query are
//! kept, so the cache holds at most one entry per page of the course and a
//! stranger cannot fill it with made-up addresses. When pages start to differ
//! per reader (signed-in state, progress), that difference must join the key
//! or move into an island that fetches it. Signed-in readers see their name
//! in the header, so their pages are rendered fresh and never cached.

use std::collections::HashMap;
use std::sync::RwLock;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use std::sync::Arc;

use crate::content::LiveCourse;
use crate::identity::Visitor;

/// Largest page kept; anything bigger is served uncached.
const MAX_PAGE_BYTES: usize = 2 * 1024 * 1024;

/// Pages rendered for one version of a course.
pub struct PageCache {
    course: Arc<LiveCourse>,
    pages: RwLock<HashMap<String, CachedPage>>,
}

struct CachedPage {
    course_version: u64,
    headers: HeaderMap,
    body: Bytes,
}

impl PageCache {
    /// Nothing kept yet, for pages of `course`.
    pub fn new(course: Arc<LiveCourse>) -> Self {
        Self {
            course,
            pages: RwLock::default(),
        }
    }

    fn get(&self, path: &str, course_version: u64) -> Option<Response> {
        let pages = self.pages.read().unwrap_or_else(|e| e.into_inner());
        let page = pages
            .get(path)
            .filter(|p| p.course_version == course_version)?;
        Some((StatusCode::OK, page.headers.clone(), page.body.clone()).into_response())
    }

    fn put(&self, path: String, course_version: u64, headers: HeaderMap, body: Bytes) {
        let mut pages = self.pages.write().unwrap_or_else(|e| e.into_inner());
        pages.insert(
            path,
            CachedPage {
                course_version,
                headers,
                body,
            },
        );
    }
}

fn is_course_page(request: &Request) -> bool {
    let uri = request.uri();
    let signed_in = matches!(
        request.extensions().get::<Visitor>(),
        Some(Visitor::SignedIn(_))
    );
    // A reader with deadlines, or a message from their last form, sees
    // them on these pages: theirs alone.
    let personal = request.extensions().get::<model::DeadlinesView>().is_some()
        || request.extensions().get::<model::Flash>().is_some();
    !signed_in
        && !personal
        && request.method() == Method::GET
        && uri.query().is_none()
        && (uri.path() == "/" || uri.path().starts_with("/lessons/"))
}

/// Middleware: answers course pages from the cache, filling it on a miss.
pub async fn serve_cached_pages(
    State(state): State<Arc<PageCache>>,
    request: Request,
    next: Next,
) -> Response {
    if !is_course_page(&request) {
        return next.run(request).await;
    }
    let path = request.uri().path().to_string();
    let version = state.course.version();
    if let Some(response) = state.get(&path, version) {
        return response;
    }
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (parts, body) = response.into_parts();
    match to_bytes(body, MAX_PAGE_BYTES).await {
        Ok(bytes) => {
            state.put(path, version, parts.headers.clone(), bytes.clone());
            Response::from_parts(parts, Body::from(bytes))
        }
        Err(e) => {
            tracing::error!(error = %e, path, "could not buffer a rendered page");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
