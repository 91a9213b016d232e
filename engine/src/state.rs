//! The domain's shared state, built once at start and cheap to clone: one
//! `Arc`, because middleware and extractors clone it on every request and
//! one reference count is cheaper than one per field. Handlers and routers
//! of the domain take only this; the web layer wraps it in a state of its own.

use std::sync::Arc;

use crate::db::Pool;

use crate::accounts::AccountService;
use crate::clock::Clock;
use crate::content::LiveCourse;
use crate::grading::GradingService;
use crate::identity::Identities;
use crate::inspector::TraceStore;

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
    pub pool: Pool,
    /// The course being served.
    pub course: Arc<LiveCourse>,
    /// Recent lab traces per student.
    pub traces: Arc<TraceStore>,
    /// Cookies carry `Secure` (serving behind TLS).
    pub secure_cookies: bool,
    /// Passwords and the sign-in limiter.
    pub accounts: Arc<AccountService>,
    /// Who is asking: sessions, accounts, guests.
    pub identities: Identities,
    /// Grading context and the attempt limiter.
    pub grading: Arc<GradingService>,
    /// The time, replaceable in tests.
    pub clock: Arc<dyn Clock>,
    /// The labs: their own states and what their handlers share.
    pub labs: crate::labs::Labs,
    /// What each student's pages show of their own work.
    pub marks: Arc<crate::marks::MarksCache>,
    /// Where other processes' changes to cached rows are heard of.
    pub changes: Arc<crate::changes::PlatformChanges>,
    /// What the server counts for its operators, and who may read it.
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl axum::extract::FromRef<Engine> for Identities {
    fn from_ref(engine: &Engine) -> Self {
        engine.identities.clone()
    }
}
