//! The Backend Workbench server: the composition root. It reads the
//! configuration, builds the [`engine`]'s state and the pages' state, and
//! wires the domain's routes, the pages (`app`) and the middleware into one
//! router.
//!
//! # Layout
//! - [`config`]: command line and environment settings.
//! - [`cli`]: the subcommands besides `serve` (`grade`, `user`, `class`).
//! - [`state`]: [`AppState`], the engine plus what serving pages needs.
//! - `web`: the router that puts the pieces together, and [`run`].
//! - `page_data`: the pages' questions about their reader, answered per
//!   request (`app::catalog::ReaderPages`).
//! - `page_cache`: rendered course pages, kept per course version.
//! - `page_html`: reading a rendered page's scripts and attributes.
//! - `page_wasm`: which wasm a page loads: none, its own bundle, or the
//!   split build.
//! - `sessions`: session records cached in memory in front of SQLite.
//! - [`csp`]: the Content-Security-Policy of every page.
//! - `csrf`: refuses state-changing requests from other origins.
//! - `live_reload`: dev mode's stream of course versions.
//! - [`vocabulary`]: what courses may name: the engine's check kinds and
//!   labs, and the app's lab widgets.
//!
//! The domain's modules are re-exported from the `engine` crate under
//! their own names (`server::accounts`, `server::labs`, ...).
//!
//! `main.rs` only parses the command line, binds a listener and calls [`run`],
//! so tests start the same server on port 0.

// The pages' views, resolved asynchronously (`SsrMode::Async`), nest deeper
// than the default 128 in release builds.
#![recursion_limit = "256"]

pub mod cli;
pub mod config;
pub mod csp;
pub(crate) mod csrf;
pub(crate) mod live_reload;
pub(crate) mod page_cache;
pub(crate) mod page_data;
pub(crate) mod page_html;
pub(crate) mod page_wasm;
pub(crate) mod sessions;
pub mod state;
pub(crate) mod web;

pub use engine::{
    accounts, classes, clock, content, cross_origin, db, error, fair_gate, forms, gradebook,
    grading, identity, inspector, labs, limiter, marks, progress, redis_link, student_memory,
};

use std::sync::Arc;
use std::time::Duration;

use leptos::config::LeptosOptions;

pub use state::{AppState, Engine, EngineParts, Web};
pub use web::{bind_other_origin, run, serve_other_origin};

use crate::accounts::{AccountService, Passwords, SignInThrottle};
use crate::clock::{Clock, SystemClock};
use crate::config::ServeConfig;
use crate::content::{AuthoringErrors, LiveCourse, Vocabulary};
use crate::fair_gate::FairGate;
use crate::grading::GradeContext;
use crate::grading::GradingService;
use crate::inspector::TraceStore;

/// Guests one address may make in a burst (then one a second): a lone
/// client that drops its cookie, not a class, which has its join link.
const NEW_GUESTS_PER_ADDRESS: std::num::NonZeroU32 = std::num::NonZeroU32::new(300).unwrap();

/// Traces kept per student.
const TRACES_PER_STUDENT: usize = 200;
/// Students whose traces are kept at once.
const TRACED_STUDENTS: usize = 10_000;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The course has authoring errors.
    #[error("the course has authoring errors:\n{0}")]
    Content(#[from] AuthoringErrors),
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Database(#[from] db::DatabaseError),
    /// The session table could not be created.
    #[error("cannot prepare the session store: {0}")]
    Sessions(#[from] sqlx::Error),
    /// The course folder could not be watched.
    #[error("cannot watch the course folder: {0}")]
    Watch(#[from] crate::content::WatchError),
    /// The metrics token is unusable.
    #[error("--metrics-token: {0}")]
    Metrics(#[from] engine::metrics::TokenTooShort),
    /// The Redis URL is unusable.
    #[error("--redis-url: {0}")]
    Redis(#[from] engine::redis_link::RedisDown),
}

/// What the server shares with the deployment's other servers through
/// its Redis, when it has one: the doors' limiters (sign-in, new guests,
/// grading) count there, so several servers hold one allowance between
/// them, and traces are kept there, so any server finds a student's.
/// Without Redis both stay in this process.
async fn shared_through_redis(
    config: &ServeConfig,
    pool: &db::Pool,
    clock: Arc<dyn Clock>,
) -> Result<
    (
        engine::limiter::Tally,
        Option<engine::inspector::SharedTraces>,
    ),
    StartError,
> {
    let services = config.service_urls();
    let Some(url) = services.url("redis") else {
        return Ok((engine::limiter::Tally::here(), None));
    };
    let link = Arc::new(engine::redis_link::RedisLink::new(
        url,
        clock,
        Duration::from_millis(config.redis_timeout_ms.max(1)),
    )?);
    let deployment = engine::secrets::deployment_name(pool)
        .await
        .map_err(db::DatabaseError::Connect)?;
    Ok((
        engine::limiter::Tally::in_redis(link.clone(), &deployment),
        Some(engine::inspector::SharedTraces::new(link, &deployment)),
    ))
}

/// Loads the course, opens the database and assembles the state for [`run`].
pub async fn build_state(config: &ServeConfig) -> Result<AppState, StartError> {
    build_state_with_clock(config, Arc::new(SystemClock)).await
}

/// What this server's courses may name: the check kinds of the grading
/// engine and the registered labs, and the app's registered lab widgets.
pub fn vocabulary() -> Vocabulary {
    Vocabulary {
        kinds: crate::labs::check_kinds(),
        widgets: app::LAB_WIDGETS.iter().map(|widget| widget.name).collect(),
    }
}

/// [`build_state`] with a given clock (tests pass one they can move).
pub async fn build_state_with_clock(
    config: &ServeConfig,
    clock: Arc<dyn Clock>,
) -> Result<AppState, StartError> {
    let course_dir = config.course.course.clone();
    let course = tokio::task::spawn_blocking(move || LiveCourse::load(&course_dir, vocabulary()))
        .await
        .expect("loading the course does not panic")?;
    let metrics = Arc::new(engine::metrics::Metrics::new(
        config.metrics_token.as_deref(),
    )?);
    let database = db::open(&config.database_url()).await?;
    let pool = database.pool;
    let sessions = crate::sessions::CachedSessions::new(
        crate::sessions::SessionTable::open(&database.native).await?,
        pool.clone(),
    );
    if config.dev {
        course.watch()?;
    }
    let leptos = LeptosOptions::builder()
        .output_name("workbench")
        .site_root(config.site_root.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(config.addr)
        .build();
    let (tally, shared_traces) = shared_through_redis(config, &pool, clock.clone()).await?;
    let identities = crate::identity::Identities {
        pool: pool.clone(),
        clock: clock.clone(),
        sessions: config.session_policy(),
        new_guests: Arc::new(crate::limiter::AddressBudget::new(
            "new guests from your address",
            "new-guests",
            NEW_GUESTS_PER_ADDRESS,
            Duration::from_secs(1),
            2,
            Duration::from_secs(60),
            &tally,
        )),
        accounts: crate::identity::account_cache(),
        session_records: sessions.records(),
    };
    let marks = engine::marks::marks_cache();
    let settings = Arc::new(crate::labs::SettingsCache::default());
    let changes =
        engine::changes::PlatformChanges::new(vec![identities.accounts.clone(), marks.clone()])
            .with_keyed(crate::labs::SETTINGS_CACHE, settings.clone());
    let changes = Arc::new(crate::sessions::watched_by(changes, &sessions));
    let traces = TraceStore::new(
        TRACES_PER_STUDENT,
        TRACED_STUDENTS,
        config.trace_memory_bytes(),
    );
    let traces = Arc::new(match shared_traces {
        Some(shared) => traces.shared_in(shared),
        None => traces,
    });
    let stopping = tokio::sync::watch::channel(false).0;
    let lab_states = crate::labs::LabStates::new(crate::labs::LabContext {
        data_dir: config.database.data_dir.clone(),
        clock: clock.clone(),
        services: config.service_urls(),
        redis_timeout: std::time::Duration::from_millis(config.redis_timeout_ms.max(1)),
        sql_gate: config.sql_gate_limits(),
        sandbox_disk_bytes: config.sandbox_disk_mib.saturating_mul(1024 * 1024),
        sandbox_max_bytes: config.sandbox_max_mib.clamp(4, 1024) * 1024 * 1024,
        memory: config.lab_memory_budgets(),
        other_origin_port: config.other_origin_port,
        stopping: stopping.subscribe(),
        secrets: crate::labs::LabSecrets::load(&pool)
            .await
            .map_err(db::DatabaseError::Connect)?,
    });
    let labs = crate::labs::Labs::new(crate::labs::LabsShared {
        pool: pool.clone(),
        clock: clock.clone(),
        labs: lab_states,
        secure_cookies: config.secure_cookies,
        identities: identities.clone(),
        recorder: crate::inspector::Recorder {
            traces: traces.clone(),
            identities: identities.clone(),
        },
        settings,
    });
    let course_for_pages = course.clone();
    let engine = Engine::new(EngineParts {
        pool,
        identities,
        course,
        traces,
        secure_cookies: config.secure_cookies,
        accounts: Arc::new(AccountService {
            passwords: Passwords::owasp(),
            throttle: SignInThrottle::new(config.sign_in_limits(), &tally),
        }),
        grading: Arc::new(GradingService::new(
            GradeContext {
                probe: config.probe_policy(),
                progress: None,
                work_gate: Arc::new(FairGate::new(
                    config.sql_gate_limits(),
                    clock.clone(),
                    "graded runs",
                )),
                student: None,
            },
            &tally,
        )),
        labs,
        clock,
        marks,
        changes,
        metrics,
    });
    Ok(AppState::new(Web {
        engine,
        leptos,
        dev: config.dev,
        request_spans: config.log_format == crate::config::LogFormat::Json,
        stopping,
        pages: Arc::new(page_cache::PageCache::new(course_for_pages)),
        shared: tally,
        sessions,
        trusted_proxies: engine::forwarded::TrustedProxies::new(
            config.trusted_proxies.iter().copied(),
        ),
    }))
}
