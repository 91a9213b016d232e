//! The HTTP wiring: pages, API, labs, static assets and the layers around them.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use app::catalog::{Catalog, CatalogContext, PageFacts, PageOptions, ReaderPagesContext};
use app::{shell, App};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::error::error_response;
use crate::page_wasm::PageBundles;
use crate::sessions::CachedSessions;
use crate::state::AppState;
use crate::{csp, csrf, identity, labs, live_reload, page_cache, page_data};

pub(crate) use crate::identity::SESSION_COOKIE;

/// How often expired sessions are deleted and idle limiter keys forgotten.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(10 * 60);

/// Binds the demos' second site where `config` says, and notes its port in
/// `config` for the labs; `None` when it is off.
pub async fn bind_other_origin(
    config: &mut crate::config::ServeConfig,
) -> std::io::Result<Option<TcpListener>> {
    let Some(addr) = config.other_origin.address(config.addr) else {
        return Ok(None);
    };
    let listener = match config.other_origin.preferred_port(config.addr) {
        // A stable port keeps a student's allowed origins valid across restarts.
        Some(port) => match TcpListener::bind((addr.ip(), port)).await {
            Ok(listener) => listener,
            Err(_) => TcpListener::bind(addr).await?,
        },
        None => TcpListener::bind(addr).await?,
    };
    config.other_origin_port = Some(listener.local_addr()?.port());
    Ok(Some(listener))
}

/// Serves the demos' second site on `listener` until the process ends.
pub async fn serve_other_origin(listener: TcpListener) -> std::io::Result<()> {
    axum::serve(listener, labs::http::other_site::router()).await
}

/// The whole application as one router.
pub(crate) fn app(state: AppState, sessions: CachedSessions) -> Router {
    let catalog: Arc<dyn Catalog> = Arc::new(CourseCatalog {
        course: state.course.clone(),
        api_reference: Arc::new(labs::api_reference(&state.labs)),
    });
    let page_options = PageOptions {
        live_reload: state.dev,
    };
    let context = move || {
        provide_context(CatalogContext(catalog.clone()));
        provide_context(page_options);
        provide_request_context();
    };
    let leptos_options = state.leptos.clone();
    let bundles = Arc::new(PageBundles::find(
        Path::new(leptos_options.site_root.as_ref()),
        &leptos_options.site_pkg_dir,
        &leptos_options.output_name,
    ));
    let pkg_dir = format!(
        "{}/{}",
        leptos_options.site_root, leptos_options.site_pkg_dir
    );
    let session_layer = SessionManagerLayer::new(sessions)
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.secure_cookies)
        // The store forgets a session after the idle timeout; `identity`
        // enforces the same timeout (and the absolute lifetime) against the
        // app's clock, which tests can move.
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
            state.identities.sessions.idle_secs,
        )));

    // The domain's routes, on the engine alone.
    let domain: Router = engine::routes::router(state.engine.clone())
        .route("/healthz", get(healthz))
        .route(
            "/readyz",
            get({
                let state = state.clone();
                move || readyz(state.clone())
            }),
        );
    // The pages and what serves them.
    let pages: Router = Router::new()
        .merge(live_reload::router())
        .leptos_routes_with_context(
            &state,
            generate_route_list(App),
            context.clone(),
            move || shell(leptos_options.clone()),
        )
        .nest_service(
            &format!("/{}", state.leptos.site_pkg_dir),
            tower::ServiceBuilder::new()
                // Asset names do not change between builds, so browsers must revalidate.
                .layer(SetResponseHeaderLayer::overriding(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-cache"),
                ))
                .service(ServeDir::new(pkg_dir)),
        )
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        .with_state(state.clone())
        // Inside the page cache, so cached pages keep their policy.
        .layer(axum::middleware::from_fn_with_state(
            bundles.clone(),
            csp::content_security_policy,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.pages.clone(),
            page_cache::serve_cached_pages,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            page_data::provide_reader_pages,
        ))
        // A page that needs a signed-in reader answers 401 and shows the
        // sign-in links; RFC 9110 wants the challenge the API's 401s carry.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::WWW_AUTHENTICATE,
            |response: &Response| {
                (response.status() == StatusCode::UNAUTHORIZED)
                    .then(|| crate::error::Challenge::Account.header_value())
            },
        ));

    // The page layers wrap the pages alone: a lab or API request does not
    // pay for the page cache's lookups or the reader's page data.
    let routes = LabsApart {
        labs: labs::router(state.engine.labs.clone()),
        rest: domain
            .layer(axum::middleware::from_fn_with_state(
                bundles,
                csp::content_security_policy,
            ))
            .merge(pages)
            // Where the router matched, so requests are counted by route template.
            .route_layer(axum::middleware::from_fn(engine::metrics::note_route)),
    };

    // What every request passes through, outermost first. One stack around
    // the whole router rather than `Router::layer`, which boxes every route
    // once per layer and clones the nested boxes on every request.
    let every_request = tower::ServiceBuilder::new()
        // Outside the panic catcher, so a panic is counted as the 500 it becomes.
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            engine::metrics::count_requests,
        ))
        .layer(CatchPanicLayer::custom(|_| panic_response()))
        .layer(axum::middleware::map_request(
            engine::connection::number_requests,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.trusted_proxies.clone(),
            engine::forwarded::note_forwarded_client,
        ))
        .layer(tower::util::MapRequestLayer::new(
            engine::inspector::assign_trace_id,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span(state.request_spans)))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // Served behind TLS (`--secure-cookies`): browsers keep to https for a year.
        .option_layer(state.secure_cookies.then(|| {
            SetResponseHeaderLayer::if_not_present(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000"),
            )
        }))
        .layer(CompressionLayer::new())
        // Before the session layer, so a refused request never touches a session.
        .layer(axum::middleware::from_fn(csrf::refuse_cross_origin))
        .layer(session_layer)
        // Shared behind one `Arc`: the layer clones its state on every request.
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(state.identities.clone()),
            identity::recognise_visitor,
        ))
        .service(routes);
    Router::new().fallback_service(every_request)
}

/// Sends lab requests to the labs' router and everything else to the rest.
/// The labs' router is a service of its own so that their shared layers
/// wrap it once ([`labs::router`] says why).
#[derive(Clone)]
struct LabsApart {
    labs: Router,
    rest: Router,
}

impl tower::Service<axum::extract::Request> for LabsApart {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = axum::routing::future::RouteFuture<std::convert::Infallible>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        // Routers are always ready.
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: axum::extract::Request) -> Self::Future {
        if labs::is_lab_path(request.uri().path()) {
            tower::Service::call(&mut self.labs, request)
        } else {
            tower::Service::call(&mut self.rest, request)
        }
    }
}

/// Every request's span: the log lines written while answering it carry
/// its trace id (the one a lab request's trace and `traceresponse` show).
/// At `INFO` when `always` (JSON logs, for a collector), so every line has
/// it; otherwise at `DEBUG` as tower-http has it, because an enabled span
/// costs every request a few microseconds of formatting that a person
/// reading the log does not need.
fn request_span(
    always: bool,
) -> impl Fn(&axum::http::Request<axum::body::Body>) -> tracing::Span + Clone {
    move |request| {
        let trace_id = request
            .extensions()
            .get::<engine::inspector::RequestTraceId>()
            .map(|id| tracing::field::display(id.0));
        let path = request.uri().path();
        if always {
            tracing::info_span!("request", method = %request.method(), path, trace_id)
        } else {
            tracing::debug_span!("request", method = %request.method(), path, trace_id)
        }
    }
}

/// The served course, as the pages read it.
struct CourseCatalog {
    course: Arc<crate::content::LiveCourse>,
    /// Made once: the labs' routes do not change while the server runs.
    api_reference: Arc<model::ApiReference>,
}

impl Catalog for CourseCatalog {
    fn outline(&self) -> Arc<model::CourseOutline> {
        self.course.current().outline()
    }

    fn lesson(&self, module: &str, slug: &str) -> Option<Arc<model::LessonPage>> {
        self.course.current().lesson(module, slug)
    }

    fn api_reference(&self) -> Arc<model::ApiReference> {
        self.api_reference.clone()
    }

    fn search(&self, query: &str, limit: usize) -> model::search::SearchResults {
        self.course.current().search().search(query, limit)
    }
}

/// Passes what `identity` learnt about the reader, and the reader's data
/// source from [`page_data`], on to the pages.
fn provide_request_context() {
    let Some(parts) = leptos::prelude::use_context::<http::request::Parts>() else {
        return;
    };
    if let Some(reader) = parts.extensions.get::<model::Reader>() {
        provide_context(reader.clone());
    }
    if let Some(flash) = parts.extensions.get::<model::Flash>() {
        provide_context(flash.clone());
    }
    if let Some(reader_pages) = parts.extensions.get::<ReaderPagesContext>() {
        provide_context(reader_pages.clone());
    }
    if let Some(facts) = parts.extensions.get::<PageFacts>() {
        provide_context(facts.clone());
    }
}

/// Alive: the process answers. A load balancer restarts a process that
/// stops answering this.
async fn healthz() -> &'static str {
    "ok"
}

/// How long the database may take to answer a readiness check.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Ready for traffic: the platform database answers, and the process is
/// not shutting down. A load balancer sends requests only to ready
/// processes, so a draining one stops getting new ones.
async fn readyz(state: AppState) -> Response {
    let database =
        tokio::time::timeout(READY_TIMEOUT, sqlx::query("SELECT 1").execute(&state.pool)).await;
    // The answer is public: it names what is wrong; the log has the details.
    let database = match database {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => {
            tracing::warn!(%error, "not ready: the platform database refused a query");
            Err("the database refused a query".to_string())
        }
        Err(_) => Err(format!(
            "the database did not answer in {} s",
            READY_TIMEOUT.as_secs()
        )),
    };
    // Without Redis the server counts and keeps traces alone and still
    // serves correctly, so Redis is reported but does not take the server
    // out of its load balancer: that would turn a degraded deployment into
    // one that is down.
    let redis = match state.shared.redis_answers().await {
        None => "not configured",
        Some(Ok(())) => "ok",
        Some(Err(_)) => "unreachable: this server counts and keeps traces alone",
    };
    let stopping = *state.stopping.borrow();
    let ready = database.is_ok() && !stopping;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "ready": ready,
        "database": database.err().unwrap_or_else(|| "ok".into()),
        "redis": redis,
        "stopping": stopping,
    });
    let mut response = (status, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn panic_response() -> Response {
    tracing::error!("a handler panicked");
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong on the server; it has been logged.".into(),
    )
}

/// Serves `state` on `listener` until `shutdown` completes, then drains open requests.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sessions = state.sessions.clone();
    let purge = tokio::spawn({
        use tower_sessions::ExpiredDeletion;
        sessions
            .table()
            .continuously_delete_expired(HOUSEKEEPING_EVERY)
    });
    let forget = tokio::spawn({
        let state = state.clone();
        async move {
            let mut every = tokio::time::interval(HOUSEKEEPING_EVERY);
            loop {
                every.tick().await;
                state.accounts.throttle.forget_idle();
                state.grading.attempts.forget_idle();
                state.grading.per_address.forget_idle();
                state.grading.per_student.forget_idle();
                state.identities.new_guests.forget_idle();
                state.grading.per_token.forget_idle();
                labs::forget_idle(&state.labs);
                if let Err(error) = engine::changes::trim_evictions(&state.pool).await {
                    tracing::warn!(%error, "could not trim the key log of cache evictions");
                }
            }
        }
    });
    let changes = state.changes.clone().watch(state.pool.clone());
    let stopping = state.stopping.clone();
    let shutdown = async move {
        shutdown.await;
        stopping.send_replace(true);
    };
    let service = app(state, sessions)
        .into_make_service_with_connect_info::<engine::connection::Connection>();
    let result = axum::serve(engine::connection::NoDelay(listener), service)
        .with_graceful_shutdown(shutdown)
        .await;
    purge.abort();
    forget.abort();
    changes.abort();
    result
}
