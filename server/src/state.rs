//! The web layer's state: the [`Engine`] (the domain's state, from the
//! `engine` crate) plus what serving pages needs (Leptos's options, dev
//! mode, the page cache, the shutdown signal). Only the web wiring sees it;
//! the engine's parts are reached through it.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

pub use engine::state::{Engine, EngineParts};

use crate::page_cache::PageCache;

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
    /// What this server shares with the deployment's others through Redis
    /// (none without one); `/readyz` reports whether Redis answers.
    pub(crate) shared: engine::limiter::Tally,
    /// Where sessions are kept: the platform database's own store, with
    /// the records in memory in front of it.
    pub(crate) sessions: crate::sessions::CachedSessions,
    /// Where the browser assets are and what they are called.
    pub leptos: LeptosOptions,
    /// Dev mode: lessons reload on save.
    pub dev: bool,
    /// Every request has a span in the log (`--log-format json`), not only
    /// when `RUST_LOG` asks for tower-http's debug lines.
    pub request_spans: bool,
    /// Flips to `true` when the server starts shutting down, so long-lived
    /// streams end instead of holding graceful shutdown open forever.
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// Rendered course pages for the current course version.
    pub pages: Arc<PageCache>,
    /// The reverse proxies whose forwarding headers are believed.
    pub trusted_proxies: engine::forwarded::TrustedProxies,
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
