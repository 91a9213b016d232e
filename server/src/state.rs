//! The shared state, in two layers, each built once at start and cheap to
//! clone (one `Arc` each: middleware and extractors clone state on every
//! request, and one reference count is cheaper than one per field):
//! - [`Engine`]: what the domain needs (database, course, traces, accounts,
//!   grading, labs, limits). Domain handlers and routers take only this.
//! - [`AppState`]: the engine plus what serving pages needs (Leptos's
//!   options, dev mode, the page cache, the shutdown signal). Only the web
//!   wiring sees it.

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

/// The domain's shared state.
#[derive(Clone)]
pub struct Engine(Arc<EngineParts>);

impl Engine {
    /// Wraps the parts.
    pub fn new(parts: EngineParts) -> Self {
        Self(Arc::new(parts))
    }
}

impl std::ops::Deref for Engine {
    type Target = EngineParts;

    fn deref(&self) -> &EngineParts {
        &self.0
    }
}

/// The parts of [`Engine`].
pub struct EngineParts {
    /// The platform database.
    pub pool: SqlitePool,
    /// The course being served.
    pub course: Arc<LiveCourse>,
    /// Recent lab traces per student.
    pub traces: Arc<TraceStore>,
    /// Cookies carry `Secure` (serving behind TLS).
    pub secure_cookies: bool,
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

/// The web layer's state: the engine, and what serving pages needs.
#[derive(Clone)]
pub struct AppState(Arc<Web>);

impl AppState {
    /// Wraps the parts.
    pub fn new(web: Web) -> Self {
        Self(Arc::new(web))
    }
}

impl std::ops::Deref for AppState {
    type Target = Web;

    fn deref(&self) -> &Web {
        &self.0
    }
}

/// The parts of [`AppState`]; the engine's parts are reached through it.
pub struct Web {
    /// The domain.
    pub engine: Engine,
    /// Where the browser assets are and what they are called.
    pub leptos: LeptosOptions,
    /// Dev mode: lessons reload on save.
    pub dev: bool,
    /// Flips to `true` when the server starts shutting down, so long-lived
    /// streams end instead of holding graceful shutdown open forever.
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// Rendered course pages for the current course version.
    pub pages: Arc<PageCache>,
}

impl std::ops::Deref for Web {
    type Target = Engine;

    fn deref(&self) -> &Engine {
        &self.engine
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

impl FromRef<AppState> for Engine {
    fn from_ref(state: &AppState) -> Self {
        state.engine.clone()
    }
}
