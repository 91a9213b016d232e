//! What pages ask the server about their reader ([`app::catalog::ReaderPages`]),
//! answered for the visitor of one request. The pages say which data they
//! show; this module checks who may see it and looks it up. Nothing here
//! knows a page's address: the route table is the app's alone.
//!
//! The middleware [`provide_reader_pages`] puts one [`ReaderData`] and a
//! blank [`PageFacts`] into each `GET` request; the page context hands
//! both to the pages, and the page cache reads them too.

use std::sync::Arc;

use app::catalog::{PageFacts, PageFuture, ReaderPages, ReaderPagesContext};
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use model::{
    ClassView, ClassesView, DeadlineView, DeadlinesView, GradebookView, JoinView, PageRefusal,
    ProgressView, ReaderMarks,
};

use crate::accounts::Account;
use crate::classes::dates;
use crate::classes::store::StudentDeadline;
use crate::error::ApiError;
use crate::gradebook::{self, Cohort};
use crate::identity::{StudentId, Visitor};
use crate::marks::Marks;
use crate::state::AppState;
use crate::{marks, progress};

/// Middleware: gives each page request its reader's data source and a
/// place for the page to say whether it may be shared.
pub(crate) async fn provide_reader_pages(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    if request.method() == Method::GET {
        let visitor = request
            .extensions()
            .get::<Visitor>()
            .cloned()
            .unwrap_or(Visitor::Anonymous);
        let origin = origin_of(&request, state.secure_cookies);
        let reader = ReaderData {
            state,
            visitor,
            origin,
        };
        let extensions = request.extensions_mut();
        extensions.insert(ReaderPagesContext(Arc::new(reader)));
        extensions.insert(PageFacts::default());
    }
    next.run(request).await
}

/// The pages' questions, answered for one visitor.
pub(crate) struct ReaderData {
    state: AppState,
    visitor: Visitor,
    /// `scheme://host` as the reader reached this server (for links to share).
    origin: String,
}

impl ReaderPages for ReaderData {
    fn deadlines(&self) -> PageFuture<'_, DeadlinesView> {
        Box::pin(async move { self.deadlines_of_reader().await.map_err(refusal) })
    }

    fn lesson_opened<'a>(
        &'a self,
        module: &'a str,
        slug: &'a str,
    ) -> PageFuture<'a, DeadlinesView> {
        Box::pin(async move {
            let Some(student) = self.visitor.student_id() else {
                return Ok(DeadlinesView::default());
            };
            let marks = self
                .marks_of(student, Some((module, slug)))
                .await
                .map_err(refusal)?;
            Ok(self.deadline_views(&marks.deadlines))
        })
    }

    fn marks<'a>(
        &'a self,
        lesson: Option<(&'a str, &'a str)>,
    ) -> PageFuture<'a, Option<ReaderMarks>> {
        Box::pin(async move {
            let Some(student) = self.visitor.student_id() else {
                return Ok(None);
            };
            let marks = self.marks_of(student, lesson).await.map_err(refusal)?;
            Ok(Some(ReaderMarks {
                deadlines: self.deadline_views(&marks.deadlines),
                exercises: marks.exercises.clone(),
            }))
        })
    }

    fn progress(&self) -> PageFuture<'_, Option<ProgressView>> {
        Box::pin(async move {
            let Some(student) = self.visitor.student_id() else {
                return Ok(None);
            };
            let progress = progress::progress_of(&self.state, student).await;
            progress.map(Some).map_err(refusal)
        })
    }

    fn gradebook(
        &self,
        class: Option<String>,
        module: Option<String>,
    ) -> PageFuture<'_, GradebookView> {
        Box::pin(async move {
            let book = async {
                let account = self.signed_in()?;
                let cohort = Cohort::chosen_by(&self.state.pool, account, class.as_deref()).await?;
                // One module at a time: a class's table of every exercise is too wide to read.
                let module = module.or_else(|| {
                    let outline = self.state.course.current().outline();
                    outline.modules.first().map(|m| m.slug.clone())
                });
                let module = module.filter(|m| m != "all");
                gradebook::build(&self.state, &cohort, module, account).await
            };
            book.await.map_err(refusal)
        })
    }

    fn classes(&self) -> PageFuture<'_, ClassesView> {
        Box::pin(async move {
            let account = self.signed_in().map_err(refusal)?;
            engine::routes::classes::classes_view(&self.state, account)
                .await
                .map_err(refusal)
        })
    }

    fn class<'a>(&'a self, id: &'a str) -> PageFuture<'a, ClassView> {
        Box::pin(async move {
            let account = self.signed_in().map_err(refusal)?;
            let mut view = engine::routes::classes::class_view(&self.state, account, id)
                .await
                .map_err(refusal)?;
            view.class.join_url = format!("{}{}", self.origin, view.class.join_path);
            Ok(view)
        })
    }

    fn join<'a>(&'a self, code: &'a str) -> PageFuture<'a, JoinView> {
        Box::pin(async move {
            engine::routes::classes::join_view(&self.state, &self.visitor, code)
                .await
                .map_err(refusal)
        })
    }
}

impl ReaderData {
    fn signed_in(&self) -> Result<&Account, ApiError> {
        match &self.visitor {
            Visitor::SignedIn(account) => Ok(account),
            _ => Err(ApiError::Unauthorized(
                "Sign in with an instructor account to see this page.".into(),
                crate::error::Challenge::Account,
            )),
        }
    }

    /// The reader's deadlines; none for a reader the server does not know.
    async fn deadlines_of_reader(&self) -> Result<DeadlinesView, ApiError> {
        let Some(student) = self.visitor.student_id() else {
            return Ok(DeadlinesView::default());
        };
        let marks = self.marks_of(student, None).await?;
        Ok(self.deadline_views(&marks.deadlines))
    }

    /// The student's marks; opening `lesson` (`(module, slug)`) first notes it as read.
    async fn marks_of(
        &self,
        student: &StudentId,
        lesson: Option<(&str, &str)>,
    ) -> Result<Arc<Marks>, ApiError> {
        let state = &self.state;
        match lesson {
            Some((module, slug)) => {
                let lesson = format!("{module}/{slug}");
                let now = state.clock.now();
                marks::lesson_opened(&state.marks, &state.pool, student, &lesson, now).await
            }
            None => marks::marks_of(&state.marks, &state.pool, student).await,
        }
    }

    /// Deadlines as pages show them, passed or not as of now.
    fn deadline_views(&self, deadlines: &[StudentDeadline]) -> DeadlinesView {
        let now = self.state.clock.now();
        DeadlinesView {
            deadlines: deadlines
                .iter()
                .map(|d| DeadlineView {
                    due: dates::describe(d.due_at, d.utc_offset_minutes),
                    passed: d.due_at < now,
                    module: d.module.clone(),
                    class_name: d.class_name.clone(),
                })
                .collect(),
        }
    }
}

/// What a page shows instead of its data: the error's status and its own
/// message; an internal error is logged and described in general terms.
fn refusal(error: ApiError) -> PageRefusal {
    let status = error.status().as_u16();
    let message = match error {
        ApiError::Internal(e) => {
            tracing::error!(error = %e, "a page's data could not be read");
            "Something went wrong on the server; it has been logged.".to_string()
        }
        other => other.to_string(),
    };
    PageRefusal { status, message }
}

/// `scheme://host` as the reader reached this server.
fn origin_of(request: &Request, secure: bool) -> String {
    let host = request
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or("localhost");
    format!("{}://{host}", if secure { "https" } else { "http" })
}
