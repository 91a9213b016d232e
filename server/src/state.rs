//! The shared application state: built once at start, cheap to clone.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::SqlitePool;

use crate::accounts::AccountService;
use crate::clock::Clock;
use crate::content::LiveCourse;
use crate::grading::routes::GradingService;
use crate::identity::SessionPolicy;
use crate::inspector::TraceStore;
use crate::page_cache::PageCache;

/// Everything handlers share, behind one `Arc`: middleware and extractors
/// clone the state on every request, and one reference count is cheaper
/// (and contends less across cores) than one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// Wraps the shared parts.
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct Shared {
    /// The platform database.
    pub pool: SqlitePool,
    /// The course being served.
    pub course: Arc<LiveCourse>,
    /// Recent lab traces per student.
    pub traces: Arc<TraceStore>,
    /// Where the browser assets are and what they are called.
    pub leptos: LeptosOptions,
    /// Dev mode: lessons reload on save.
    pub dev: bool,
    /// Cookies carry `Secure` (serving behind TLS).
    pub secure_cookies: bool,
    /// Flips to `true` when the server starts shutting down, so long-lived
    /// streams end instead of holding graceful shutdown open forever.
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// Rendered course pages for the current course version.
    pub pages: Arc<PageCache>,
    /// Passwords and the sign-in limiter.
    pub accounts: Arc<AccountService>,
    /// How long sessions live.
    pub sessions: SessionPolicy,
    /// Grading context and the attempt limiter.
    pub grading: Arc<GradingService>,
    /// The time, replaceable in tests.
    pub clock: Arc<dyn Clock>,
    /// Each lab's own state, made on first use.
    pub labs: crate::labs::LabStates,
    /// New guests per address (a class's join link has its own budget).
    pub new_guests: crate::limiter::AddressBudget,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}
