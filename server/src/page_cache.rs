//! Rendered course pages, kept in memory. The course home and lesson pages
//! are the same for every reader apart from a few marked slots (the header's
//! account links, the reader's deadlines, their exercise results: see
//! [`app::reader_slots`]), and change only when the course reloads. So each
//! is rendered once per course version for a reader the server does not
//! know, cut at its slots, and served as bytes; for a reader it knows, the
//! slots are filled from their marks, which are kept in memory too
//! ([`engine::marks`]). A signed-in student's page costs a copy of the
//! bytes, not a render.
//!
//! A page says while it renders whether it may be shared ([`PageFacts`]).
//! Only `200` answers to a `GET` without a query, for exactly the address
//! the page gives as its own, are kept, so the cache holds at most one
//! entry per page of the course and a stranger cannot fill it with other
//! spellings. A reader with a message from their last form gets a page
//! rendered for them. A cached lesson still counts as read: filling its
//! slots notes it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use app::catalog::{PageFacts, ReaderPagesContext, Sharing};
use app::reader_parts as fill;
use app::reader_slots::{self, Piece, SlotName};
use axum::body::{to_bytes, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use model::{Reader, ReaderMarks};

use crate::content::LiveCourse;
use crate::identity::Visitor;

/// Largest page kept; anything bigger is served uncached.
const MAX_PAGE_BYTES: usize = 2 * 1024 * 1024;

/// Response header saying whether a page came from the cache (`hit`) or was
/// rendered for this request (`miss`): for operators and tests.
pub(crate) const PAGE_CACHE_HEADER: &str = "x-page-cache";

/// Pages rendered for one version of a course.
pub struct PageCache {
    course: Arc<LiveCourse>,
    pages: RwLock<HashMap<String, CachedPage>>,
    /// Addresses whose pages said, when rendered for a known reader, that
    /// they may be shared: the next known reader there gets the shared
    /// render. Kept per course version, like the pages.
    shared_paths: RwLock<(u64, HashSet<String>)>,
}

#[derive(Clone)]
struct CachedPage {
    course_version: u64,
    headers: HeaderMap,
    /// The page as rendered for a reader the server does not know.
    body: Bytes,
    /// The same bytes, cut at the reader slots.
    pieces: Arc<[CachedPiece]>,
    /// The lesson the page shows, as `(module, slug)`.
    lesson: Option<(String, String)>,
}

enum CachedPiece {
    Shared(Bytes),
    Slot { name: String, shared: Bytes },
}

impl PageCache {
    /// Nothing kept yet, for pages of `course`.
    pub fn new(course: Arc<LiveCourse>) -> Self {
        Self {
            course,
            pages: RwLock::default(),
            shared_paths: RwLock::default(),
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

    fn known_shared(&self, path: &str, course_version: u64) -> bool {
        let known = self.shared_paths.read().unwrap_or_else(|e| e.into_inner());
        known.0 == course_version && known.1.contains(path)
    }

    fn learn_shared(&self, path: String, course_version: u64) {
        let mut known = self.shared_paths.write().unwrap_or_else(|e| e.into_inner());
        if known.0 != course_version {
            *known = (course_version, HashSet::new());
        }
        known.1.insert(path);
    }
}

/// Whether the request may be answered with a shared page: a plain `GET`,
/// and no message of the reader's own to show.
fn may_share(request: &Request) -> bool {
    let flash = request.extensions().get::<model::Flash>().is_some();
    !flash && request.method() == Method::GET && request.uri().query().is_none()
}

/// Whether the server knows the reader (a guest or an account), so the
/// page has slots to fill for them.
fn known_reader(request: &Request) -> bool {
    request
        .extensions()
        .get::<Visitor>()
        .is_some_and(|visitor| visitor.student_id().is_some())
}

/// The reader's own parts of a request, taken out so the page renders as
/// for a reader the server does not know.
#[derive(Default)]
struct ReaderParts {
    pages: Option<ReaderPagesContext>,
    reader: Option<Reader>,
}

fn anonymise(request: &mut Request) -> ReaderParts {
    let extensions = request.extensions_mut();
    extensions.insert(Visitor::Anonymous);
    ReaderParts {
        pages: extensions.remove::<ReaderPagesContext>(),
        reader: extensions.remove::<Reader>(),
    }
}

/// Middleware: answers shared pages from the cache, filling it on a miss.
pub(crate) async fn serve_cached_pages(
    State(cache): State<Arc<PageCache>>,
    mut request: Request,
    next: Next,
) -> Response {
    if !may_share(&request) {
        return next.run(request).await;
    }
    let path = request.uri().path().to_string();
    let version = cache.course.version();
    let known = known_reader(&request);
    if let Some(page) = cache.get(&path, version) {
        return serve(&page, anonymise(&mut request), known).await;
    }
    if known && !cache.known_shared(&path, version) {
        // Whether this address is a shared page is for the page to say:
        // render it for this reader, and learn.
        let facts = request.extensions().get::<PageFacts>().cloned();
        let mut response = next.run(request).await;
        if shared_href(facts).is_some_and(|(href, _)| href == path) {
            cache.learn_shared(path, version);
            response
                .headers_mut()
                .insert(PAGE_CACHE_HEADER, HeaderValue::from_static("miss"));
        }
        return response;
    }
    // A reader the server knows gets the page rendered for nobody in
    // particular; one it does not know is nobody in particular already.
    let reader = if known {
        anonymise(&mut request)
    } else {
        ReaderParts::default()
    };
    let facts = request.extensions().get::<PageFacts>().cloned();
    let response = next.run(request).await;
    let lesson = match shared_href(facts) {
        Some((href, lesson)) if href == path && response.status() == StatusCode::OK => lesson,
        _ => return response,
    };
    let (parts, body) = response.into_parts();
    let bytes = match to_bytes(body, MAX_PAGE_BYTES).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::error!(error = %e, path, "could not buffer a rendered page");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let page = CachedPage::new(version, parts.headers, bytes, lesson);
    cache.put(path, page.clone());
    let mut response = serve(&page, reader, known).await;
    response
        .headers_mut()
        .insert(PAGE_CACHE_HEADER, HeaderValue::from_static("miss"));
    response
}

fn shared_href(facts: Option<PageFacts>) -> Option<(String, Option<(String, String)>)> {
    match facts?.sharing() {
        Sharing::Shared { href, lesson } => Some((href, lesson)),
        Sharing::Private => None,
    }
}

impl CachedPage {
    fn new(
        course_version: u64,
        mut headers: HeaderMap,
        body: Bytes,
        lesson: Option<(String, String)>,
    ) -> Self {
        // Filled slots change the length; the body sets it when sent.
        headers.remove(header::CONTENT_LENGTH);
        headers.insert(header::VARY, HeaderValue::from_static("cookie"));
        headers.insert(PAGE_CACHE_HEADER, HeaderValue::from_static("hit"));
        let text = String::from_utf8_lossy(&body);
        let pieces = reader_slots::cut(&text)
            .into_iter()
            .map(|piece| match piece {
                Piece::Shared(text) => CachedPiece::Shared(Bytes::from(text)),
                Piece::Slot { name, shared } => CachedPiece::Slot {
                    name,
                    shared: Bytes::from(shared),
                },
            })
            .collect();
        Self {
            course_version,
            headers,
            body,
            pieces,
            lesson,
        }
    }

    /// The page with its slots filled for one reader.
    fn filled(&self, reader: Option<&Reader>, marks: Option<&ReaderMarks>) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 1024);
        for piece in self.pieces.iter() {
            match piece {
                CachedPiece::Shared(bytes) => out.extend_from_slice(bytes),
                CachedPiece::Slot { name, shared } => match own_content(name, reader, marks) {
                    Some(own) => out.extend_from_slice(own.as_bytes()),
                    None => out.extend_from_slice(shared),
                },
            }
        }
        out
    }
}

/// What a slot holds for this reader; `None` where they see the shared content.
fn own_content(name: &str, reader: Option<&Reader>, marks: Option<&ReaderMarks>) -> Option<String> {
    match SlotName::parse(name)? {
        SlotName::Account => reader.map(fill::account),
        SlotName::Due(module) => {
            let due: Vec<_> = marks?.deadlines.of_module(module).cloned().collect();
            (!due.is_empty()).then(|| fill::due(due))
        }
        SlotName::Exercise { id, points } => {
            let mark = marks?.exercises.get(id)?;
            Some(fill::text(&reader_slots::exercise_status(mark, points)))
        }
    }
}

/// Answers with the cached page: as is for a reader the server does not
/// know, and with their slots filled for one it does.
async fn serve(page: &CachedPage, reader: ReaderParts, known: bool) -> Response {
    if !known {
        return (StatusCode::OK, page.headers.clone(), page.body.clone()).into_response();
    }
    let lesson = page.lesson.as_ref().map(|(m, s)| (m.as_str(), s.as_str()));
    let marks = match &reader.pages {
        Some(pages) => match pages.0.marks(lesson).await {
            Ok(marks) => marks,
            Err(refusal) => {
                // The page still serves; only the reader's marks are missing.
                tracing::warn!(
                    status = refusal.status,
                    message = refusal.message,
                    "reader marks unavailable"
                );
                None
            }
        },
        None => None,
    };
    let body = page.filled(reader.reader.as_ref(), marks.as_ref());
    let mut headers = page.headers.clone();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    (StatusCode::OK, headers, body).into_response()
}
