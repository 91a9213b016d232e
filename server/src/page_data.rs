//! Middleware: what a page needs to know about its reader, found before the
//! page renders and passed to it in the request (the pages are rendered by
//! `app`, which has no database).
//!
//! | page | data |
//! |---|---|
//! | `/`, `/lessons/...` | the reader's deadlines (and, for a lesson, a note that it was read) |
//! | `/progress` | the reader's progress and deadlines |
//! | `/instructor/gradebook` | the gradebook of the class (`?class=`) and module (`?module=`) asked for |
//! | `/instructor/classes`, `/instructor/classes/{id}` | the classes the reader runs, one class |
//! | `/join/{code}` | the class the code names |
//!
//! A page the reader may not see gets a [`PageRefusal`] (401, 403, 404)
//! instead, which the page shows in its own words.

use axum::extract::{Request, State};
use axum::http::{Extensions, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use model::{DeadlineView, DeadlinesView, PageRefusal};

use crate::accounts::Account;
use crate::classes::{self, dates};
use crate::error::ApiError;
use crate::gradebook::{self, Cohort};
use crate::identity::{StudentId, Visitor};
use crate::progress;
use crate::state::AppState;

/// The pages that need data, by path.
#[derive(Debug, PartialEq, Eq)]
enum Page<'a> {
    Home,
    Lesson(&'a str),
    Progress,
    Gradebook,
    Classes,
    Class(&'a str),
    Join(&'a str),
    /// `/join`: type a code.
    JoinByCode,
}

impl<'a> Page<'a> {
    fn of(path: &'a str) -> Option<Self> {
        match path {
            "/" => Some(Self::Home),
            "/progress" => Some(Self::Progress),
            "/instructor/gradebook" => Some(Self::Gradebook),
            "/instructor/classes" => Some(Self::Classes),
            "/join" => Some(Self::JoinByCode),
            _ => {
                if let Some(lesson) = path.strip_prefix("/lessons/") {
                    Some(Self::Lesson(lesson))
                } else if let Some(id) = path.strip_prefix("/instructor/classes/") {
                    (!id.is_empty() && !id.contains('/')).then_some(Self::Class(id))
                } else if let Some(code) = path.strip_prefix("/join/") {
                    (!code.is_empty() && !code.contains('/')).then_some(Self::Join(code))
                } else {
                    None
                }
            }
        }
    }
}

/// Middleware: finds the data of the page asked for.
pub async fn page_data(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::GET {
        return next.run(request).await;
    }
    let path = request.uri().path().to_string();
    let Some(page) = Page::of(&path) else {
        return next.run(request).await;
    };
    let query = request.uri().query().unwrap_or_default().to_string();
    if page == Page::JoinByCode {
        // The code form: on to the class's own page.
        let code = form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "code")
            .map(|(_, v)| classes::normalize_code(&v))
            .filter(|c| !c.is_empty());
        if let Some(code) = code {
            return axum::response::Redirect::to(&format!("/join/{code}")).into_response();
        }
        return next.run(request).await;
    }
    let origin = origin_of(&request, state.secure_cookies);
    let visitor = request
        .extensions()
        .get::<Visitor>()
        .cloned()
        .unwrap_or(Visitor::Anonymous);
    match load(
        &state,
        &visitor,
        page,
        &query,
        &origin,
        request.extensions_mut(),
    )
    .await
    {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

/// What a page's refusal says: the status, and the error's own message.
fn refusal(error: ApiError) -> Result<PageRefusal, ApiError> {
    let status = match &error {
        ApiError::Unauthorized(_) => 401,
        ApiError::Forbidden(_) => 403,
        ApiError::NotFound(_) => 404,
        _ => return Err(error),
    };
    Ok(PageRefusal {
        status,
        message: error.to_string(),
    })
}

/// Puts the page's data, or its refusal, into `extensions`.
async fn load(
    state: &AppState,
    visitor: &Visitor,
    page: Page<'_>,
    query: &str,
    origin: &str,
    extensions: &mut Extensions,
) -> Result<(), ApiError> {
    let student = visitor.student_id();
    match page {
        // Anonymous readers of lessons (the hot, cached path) have nothing to record.
        Page::Home | Page::Lesson(_) | Page::Progress if student.is_none() => {}
        Page::Home => insert_deadlines(state, student, extensions).await?,
        Page::Lesson(lesson) => {
            let student = student.expect("checked above");
            // Only lessons that exist: any other path is a 404, and a
            // record of it would be a row anyone could add at will.
            let exists = lesson.split_once('/').is_some_and(|(module, slug)| {
                state.course.current().lesson(module, slug).is_some()
            });
            if exists {
                progress::note_lesson_read(state, student, lesson).await?;
                insert_deadlines(state, Some(student), extensions).await?;
            }
        }
        Page::Progress => {
            let student = student.expect("checked above");
            extensions.insert(progress::progress_of(state, student).await?);
            insert_deadlines(state, Some(student), extensions).await?;
        }
        Page::Gradebook => {
            let parameter = |name: &str| {
                form_urlencoded::parse(query.as_bytes())
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
                    .filter(|v| !v.is_empty())
            };
            let book = async {
                let account = signed_in(visitor)?;
                let cohort =
                    Cohort::chosen_by(&state.pool, account, parameter("class").as_deref()).await?;
                // One module at a time: a class's table of every exercise is too wide to read.
                let module = parameter("module").or_else(|| {
                    state
                        .course
                        .current()
                        .outline()
                        .modules
                        .first()
                        .map(|m| m.slug.clone())
                });
                let module = module.filter(|m| m != "all");
                gradebook::build(state, &cohort, module, account).await
            }
            .await;
            match book {
                Ok(book) => {
                    extensions.insert(book);
                }
                Err(error) => {
                    extensions.insert(refusal(error)?);
                }
            }
        }
        Page::Classes => {
            match async { engine::routes::classes::classes_view(state, signed_in(visitor)?).await }
                .await
            {
                Ok(view) => {
                    extensions.insert(view);
                }
                Err(error) => {
                    extensions.insert(refusal(error)?);
                }
            }
        }
        Page::Class(id) => {
            match async {
                engine::routes::classes::class_view(state, signed_in(visitor)?, id).await
            }
            .await
            {
                Ok(mut view) => {
                    view.class.join_url = format!("{origin}{}", view.class.join_path);
                    extensions.insert(view);
                }
                Err(error) => {
                    extensions.insert(refusal(error)?);
                }
            }
        }
        Page::Join(code) => {
            extensions.insert(engine::routes::classes::join_view(state, visitor, code).await?);
        }
        Page::JoinByCode => {}
    }
    Ok(())
}

/// `scheme://host` as the reader reached this server (for links to share).
fn origin_of(request: &Request, secure: bool) -> String {
    let host = request
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or("localhost");
    format!("{}://{host}", if secure { "https" } else { "http" })
}

fn signed_in(visitor: &Visitor) -> Result<&Account, ApiError> {
    match visitor {
        Visitor::SignedIn(account) => Ok(account),
        _ => Err(ApiError::Unauthorized(
            "Sign in with an instructor account to see this page.".into(),
        )),
    }
}

/// The reader's deadlines, when they have any: pages show them, and their
/// presence keeps the page out of the shared page cache.
async fn insert_deadlines(
    state: &AppState,
    student: Option<&StudentId>,
    extensions: &mut Extensions,
) -> Result<(), ApiError> {
    let Some(student) = student else {
        return Ok(());
    };
    let deadlines = classes::store::deadlines_of(&state.pool, student).await?;
    if deadlines.is_empty() {
        return Ok(());
    }
    let now = state.clock.now();
    extensions.insert(DeadlinesView {
        deadlines: deadlines
            .into_iter()
            .map(|d| DeadlineView {
                due: dates::describe(d.due_at, d.utc_offset_minutes),
                passed: d.due_at < now,
                module: d.module,
                class_name: d.class_name,
            })
            .collect(),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_found_by_path() {
        assert_eq!(Page::of("/"), Some(Page::Home));
        assert_eq!(
            Page::of("/lessons/http/anatomy"),
            Some(Page::Lesson("http/anatomy"))
        );
        assert_eq!(Page::of("/instructor/classes/c1"), Some(Page::Class("c1")));
        assert_eq!(Page::of("/instructor/classes/c1/x"), None);
        assert_eq!(Page::of("/join/ABCD2345"), Some(Page::Join("ABCD2345")));
        assert_eq!(Page::of("/join/"), None);
        assert_eq!(Page::of("/api/progress"), None);
    }
}
