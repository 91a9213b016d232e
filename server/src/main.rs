//! `workbench`: parses the command line and runs a subcommand.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use server::cli::user::{add_user, UserAdded};
use server::config::{
    Cli, Command, CourseArgs, GradeArgs, LogFormat, RegradeArgs, ServeConfig, UserCommand,
};
use server::content::load_course;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// mimalloc: per-thread heaps without glibc's arena locks, and freed
/// memory goes back to the system (BENCHMARKS.md, fast-pages issue).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    limit_malloc_arenas();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(run())
}

/// Rust's own allocations go to mimalloc; SQLite's still use glibc's
/// malloc. glibc gives threads that allocate arenas of their own, up to
/// eight per core, and each keeps what was freed in it. The blocking pool's
/// many threads (SQL jobs, hashing) then hold hundreds of MiB nobody uses:
/// with 1,000 students the peak was 578 MiB, 307 MiB with two arenas per
/// core, and 208 MiB with one (BENCHMARKS.md). One per core (at least two)
/// keeps memory near what is in use.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let arenas = libc::c_int::try_from(cores.max(2)).unwrap_or(libc::c_int::MAX);
    // SAFETY: mallopt only tunes the allocator, and runs before any other
    // thread exists; glibc ignores values it cannot use.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

async fn run() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.into_command();
    // A one-off command's output is read by people and scripts: sqlx's
    // slow-statement warnings (a busy machine's slow open) are noise there;
    // a server's operator wants them.
    let default_filter = match command {
        Command::Serve(_) => "info,sqlx=warn,tower_sessions=warn",
        _ => "info,sqlx=error,tower_sessions=warn",
    };
    let log_format = match &command {
        Command::Serve(config) => config.log_format,
        _ => LogFormat::Text,
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr);
    match log_format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        // The request's fields (its trace id) on the line itself, where a
        // collector indexes them, not in a list of spans.
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
    match command {
        Command::Serve(config) => serve(config).await,
        Command::Check(args) => check(&args).await,
        Command::Grade(args) => grade(&args).await,
        Command::Regrade(args) => regrade(&args).await,
        Command::Class(command) => {
            match server::cli::class::run(&command, &mut std::io::stdout()).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("workbench: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::User(UserCommand::Add(args)) => match add_user(&args).await {
            Ok(UserAdded::Created) => {
                println!("created {} as {}", args.email, args.role.as_str());
                ExitCode::SUCCESS
            }
            Ok(UserAdded::RoleChanged) => {
                println!("{} is now {}", args.email, args.role.as_str());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("workbench: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

async fn serve(mut config: ServeConfig) -> ExitCode {
    let other_origin = match server::bind_other_origin(&mut config).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!(
                "workbench: cannot listen for the demos' second site ({:?}): {e}; choose another with --other-origin, or turn it off with --other-origin off",
                config.other_origin
            );
            return ExitCode::FAILURE;
        }
    };
    let state = match server::build_state(&config).await {
        Ok(state) => state,
        Err(e) => {
            eprintln!("workbench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind(config.addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("workbench: cannot listen on {}: {e}", config.addr);
            return ExitCode::FAILURE;
        }
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    tracing::info!(
        lessons = state.course.current().lesson_count(),
        dev = config.dev,
        "listening on http://{addr}"
    );
    if let Some(listener) = other_origin {
        tracing::info!(
            port = config.other_origin_port,
            "the demos' second site listens on another port"
        );
        tokio::spawn(async move {
            if let Err(e) = server::serve_other_origin(listener).await {
                tracing::warn!("the demos' second site stopped: {e}");
            }
        });
    }
    match server::run(listener, state, shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("workbench: server error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `workbench check`: every authoring error and lint finding on stdout as
/// `file:line: message`; 0 when there are none.
async fn check(args: &CourseArgs) -> ExitCode {
    use server::cli::check::{print, run, CheckReport};
    match run(args).await {
        Ok(report) => {
            let _ = print(&report, &mut std::io::stdout(), &mut std::io::stderr());
            match report {
                CheckReport::Clean { .. } => ExitCode::SUCCESS,
                CheckReport::Mistakes(_) => ExitCode::FAILURE,
            }
        }
        Err(e) => {
            eprintln!("workbench check: {e}");
            ExitCode::from(2)
        }
    }
}

/// `workbench grade`: 0 when everything passed, 1 when something failed, 2 when it could not grade.
async fn grade(args: &GradeArgs) -> ExitCode {
    let mut out = std::io::stdout();
    match server::cli::grade::run(args, &mut out).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("workbench grade: {e}");
            ExitCode::from(2)
        }
    }
}

/// `workbench regrade`: grades stored attempts again and says what changed.
async fn regrade(args: &RegradeArgs) -> ExitCode {
    let course = match load_course(&args.course.course, &server::vocabulary()) {
        Ok(course) => course,
        Err(errors) => {
            eprintln!("workbench regrade: the course has authoring errors:\n{errors}");
            return ExitCode::FAILURE;
        }
    };
    let result = async {
        let pool = server::db::connect(&args.database.url()).await?;
        let report =
            server::grading::regrade::regrade(&pool, &course.exercises(), args.exercise.as_deref())
                .await?;
        Ok::<_, Box<dyn std::error::Error>>(report)
    }
    .await;
    match result {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("workbench regrade: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing open requests");
}
