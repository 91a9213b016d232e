//! Command line and environment configuration. Every flag has an environment
//! variable, so a deployment can configure the server without arguments.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::accounts::SignInLimits;
use crate::identity::SessionPolicy;

/// `workbench`: the Backend Workbench server and its tools.
///
/// Without a subcommand it serves, so `cargo leptos serve` (which passes no
/// arguments) and a bare `workbench` both start the server.
#[derive(Debug, Parser)]
#[command(
    name = "workbench",
    version,
    about = "An interactive workbench for learning backend development"
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings for serving when no subcommand is given.
    #[command(flatten)]
    pub serve: ServeConfig,
}

impl Cli {
    /// The subcommand to run, `serve` when none was named.
    pub fn into_command(self) -> Command {
        self.command.unwrap_or(Command::Serve(self.serve))
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the course and its live labs over HTTP.
    Serve(ServeConfig),
    /// Load and validate a course; print every authoring error as `file:line: message`.
    Check(CourseArgs),
    /// Manage accounts from the command line.
    #[command(subcommand)]
    User(UserCommand),
    /// Grade answers to exercises without a server: one answer, a file of
    /// submissions, or a probe of a running server. Exit status 0 only when
    /// everything passed, 1 when something failed, 2 when nothing could be graded.
    Grade(GradeArgs),
    /// Grade every stored attempt again with the course's current exercises.
    Regrade(RegradeArgs),
    /// Manage classes: create them, list them, add members, export grades.
    #[command(subcommand)]
    Class(ClassCommand),
}

/// `workbench class ...`
#[derive(Debug, Subcommand)]
pub enum ClassCommand {
    /// Create a class run by an instructor; prints its join code and link.
    Create(ClassCreateArgs),
    /// List every class: code, id, members and name.
    List(ClassListArgs),
    /// Add the accounts whose emails a CSV file holds (any column, any order).
    AddMembers(ClassAddMembersArgs),
    /// Write a class's gradebook as CSV to standard output.
    Export(ClassExportArgs),
}

/// Arguments of `workbench class create`.
#[derive(Debug, Clone, Args)]
pub struct ClassCreateArgs {
    /// The class's name, e.g. "Backend 101, spring".
    pub name: String,
    /// The email of the instructor who runs it.
    #[arg(long)]
    pub owner: String,
    /// First day, YYYY-MM-DD.
    #[arg(long)]
    pub starts: Option<String>,
    /// Last day, YYYY-MM-DD.
    #[arg(long)]
    pub ends: Option<String>,
    /// Most members (default 500).
    #[arg(long)]
    pub capacity: Option<u32>,
    /// The class's local time as an offset from UTC, e.g. +01:00.
    #[arg(long)]
    pub utc_offset: Option<String>,
    /// The platform database.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Arguments of `workbench class list`.
#[derive(Debug, Clone, Args)]
pub struct ClassListArgs {
    /// The platform database.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Arguments of `workbench class add-members`.
#[derive(Debug, Clone, Args)]
pub struct ClassAddMembersArgs {
    /// The class: its join code or its id.
    pub class: String,
    /// A CSV file with the students' emails.
    #[arg(long)]
    pub csv: PathBuf,
    /// The platform database.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Arguments of `workbench class export`.
#[derive(Debug, Clone, Args)]
pub struct ClassExportArgs {
    /// The class: its join code or its id.
    pub class: String,
    /// Only this module's exercises.
    #[arg(long)]
    pub module: Option<String>,
    /// The course the exercises come from.
    #[command(flatten)]
    pub course: CourseArgs,
    /// The platform database.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Arguments of `workbench regrade`.
#[derive(Debug, Clone, Args)]
pub struct RegradeArgs {
    /// Only the attempts at this exercise.
    #[arg(long)]
    pub exercise: Option<String>,
    /// The course holding the exercises.
    #[command(flatten)]
    pub course: CourseArgs,
    /// The platform database holding the attempts.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Arguments of `workbench grade`.
#[derive(Debug, Clone, Args)]
pub struct GradeArgs {
    /// The exercise to grade (with --answer or --probe).
    #[arg(long)]
    pub exercise: Option<String>,
    /// A file holding one answer as JSON (or plain text for a short answer); `-` reads stdin.
    #[arg(long)]
    pub answer: Option<PathBuf>,
    /// A file of JSON lines: {"student": ..., "exercise": ..., "answer": ...}.
    #[arg(long)]
    pub submissions: Option<PathBuf>,
    /// Probe the server at this address with a probe exercise.
    #[arg(long)]
    pub probe: Option<String>,
    /// How to print the results.
    #[arg(long, value_enum, default_value = "text")]
    pub format: GradeFormat,
    /// The course holding the exercises.
    #[command(flatten)]
    pub course: CourseArgs,
    /// Hosts (`host` or `host:port`) that probes may reach besides loopback.
    #[arg(long, env = "WORKBENCH_PROBE_ALLOW", value_delimiter = ',')]
    pub probe_allow: Vec<String>,
}

/// Output formats of `workbench grade`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GradeFormat {
    /// One line per submission, and a summary.
    Text,
    /// The outcomes as a JSON array.
    Json,
    /// JUnit XML, for CI systems.
    Junit,
    /// One CSV row per submission.
    Csv,
}

/// `workbench user ...`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account, or give an existing account a new role.
    ///
    /// A new account's password is read from a hidden prompt, or from the
    /// first line of standard input when that is not a terminal; never from
    /// an argument, which other users could read in the process list.
    Add(UserAddArgs),
}

/// Arguments of `workbench user add`.
#[derive(Debug, Clone, Args)]
pub struct UserAddArgs {
    /// The account's email address.
    pub email: String,
    /// The role to give the account: student, instructor or admin.
    #[arg(long, default_value = "student")]
    pub role: crate::accounts::Role,
    /// The name to show for a new account (default: the part of the email before the @).
    #[arg(long)]
    pub name: Option<String>,
    /// The platform database.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Where the platform database is.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Platform database URL; defaults to a SQLite file in the data folder.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Folder for the default SQLite database.
    #[arg(long, env = "WORKBENCH_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
}

impl DatabaseArgs {
    /// The database URL to use: the configured one, or the embedded default.
    pub fn url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("workbench.db").display()))
    }
}

/// Where the course lives.
#[derive(Debug, Clone, Args)]
pub struct CourseArgs {
    /// The course folder, holding `lessons/` and `exercises/`.
    #[arg(long, env = "WORKBENCH_COURSE", default_value = ".")]
    pub course: PathBuf,
}

/// Settings of `workbench serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "WORKBENCH_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// The course to serve.
    #[command(flatten)]
    pub course: CourseArgs,
    /// The platform database.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Folder with the built browser assets (`pkg/`), as cargo-leptos writes it.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
    /// Watch the course folder and reload lessons on save; pages refresh themselves.
    #[arg(long, env = "WORKBENCH_DEV")]
    pub dev: bool,
    /// Mark cookies `Secure`: set this when serving behind TLS.
    #[arg(long, env = "WORKBENCH_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Sign a session out after this many minutes without a request.
    #[arg(long, env = "WORKBENCH_SESSION_IDLE_MINUTES", default_value_t = 14 * 24 * 60)]
    pub session_idle_minutes: u32,
    /// Sign a session out this many hours after sign-in, however busy.
    #[arg(long, env = "WORKBENCH_SESSION_LIFETIME_HOURS", default_value_t = 30 * 24)]
    pub session_lifetime_hours: u32,
    /// Sign-in attempts one account may make in a burst.
    #[arg(long, env = "WORKBENCH_SIGN_IN_BURST_PER_ACCOUNT", default_value_t = NonZeroU32::new(5).expect("nonzero"))]
    pub sign_in_burst_per_account: NonZeroU32,
    /// Sign-in and sign-up attempts one client address may make in a burst.
    #[arg(long, env = "WORKBENCH_SIGN_IN_BURST_PER_ADDRESS", default_value_t = NonZeroU32::new(60).expect("nonzero"))]
    pub sign_in_burst_per_address: NonZeroU32,
    /// Hosts (`host` or `host:port`) that probe exercises may reach besides loopback.
    #[arg(long, env = "WORKBENCH_PROBE_ALLOW", value_delimiter = ',')]
    pub probe_allow: Vec<String>,
    /// Whether probe exercises may reach this machine's loopback addresses.
    /// Default: yes when the workbench itself listens on loopback (a
    /// student's own machine), no when it is hosted, where loopback holds
    /// the operator's own services.
    #[arg(long, env = "WORKBENCH_PROBE_LOOPBACK")]
    pub probe_loopback: Option<bool>,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` headers are
    /// believed, as addresses or blocks (`127.0.0.1`, `10.0.0.0/8`); repeat
    /// it or separate with commas. Per-address limits then count the client
    /// the proxy names. Without it the headers are ignored.
    #[arg(
        long = "trusted-proxy",
        env = "WORKBENCH_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<engine::forwarded::Network>,
    /// Redis for the cache lab's Redis backend, the rate-limit lab's
    /// shared limiter and the platform's door limits, which several servers
    /// then share (e.g. `redis://127.0.0.1:6379`); without it they count in
    /// process only. The same as `--service redis=<url>`.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// Milliseconds a Redis command may take before the labs count Redis as
    /// down and fall back (connecting may take twice this); raise it for a
    /// Redis across a slow network.
    #[arg(long, env = "REDIS_TIMEOUT_MS", default_value_t = 250)]
    pub redis_timeout_ms: u64,
    /// External services for labs that use one, as `name=url`
    /// (e.g. `amqp=amqp://127.0.0.1:5672`); repeat it, or separate with commas.
    #[arg(long = "service", env = "WORKBENCH_SERVICES", value_delimiter = ',', value_parser = parse_service)]
    pub services: Vec<(String, String)>,
    /// Seconds for one spent sign-in attempt to come back.
    #[arg(long, env = "WORKBENCH_SIGN_IN_REFILL_SECS", default_value_t = 12)]
    pub sign_in_refill_secs: u64,
    /// Seconds of SQL running time (in the sandbox, or graded) one student
    /// may use before being asked to wait; repaid at a quarter second per second.
    #[arg(long, env = "WORKBENCH_SQL_SHARE_SECS", default_value_t = 20)]
    pub sql_share_secs: u64,
    /// Disk all SQL sandboxes together may use, in MiB (a sandbox starts at
    /// about 2.3 MiB and may grow to 64); idle ones are reset beyond it.
    #[arg(long, env = "WORKBENCH_SANDBOX_DISK_MIB", default_value_t = 4096)]
    pub sandbox_disk_mib: u64,
    /// Most one student's SQL sandbox may grow to, in MiB (4 to 1024);
    /// statements that would grow it further fail with 409.
    #[arg(long, env = "WORKBENCH_SANDBOX_MAX_MIB", default_value_t = 64)]
    pub sandbox_max_mib: u64,
    /// Memory for what is kept per student (traces, the cache lab's
    /// entries and statistics, the rate-limit lab's limiters), in MiB; the
    /// least recently active students' state goes first beyond it.
    #[arg(long, env = "WORKBENCH_STUDENT_MEMORY_MIB", default_value_t = 160)]
    pub student_memory_mib: usize,
    /// Where the CORS and CSRF demos' second site listens: `auto` (the
    /// address of --addr, two ports above it when free, else any free
    /// port), an address (`127.0.0.1:3002`), or `off`. Its pages are
    /// another origin than the workbench's.
    #[arg(long, env = "WORKBENCH_OTHER_ORIGIN", default_value = "auto", value_parser = parse_other_origin)]
    pub other_origin: OtherOrigin,
    /// The port the second site was bound to, once it is (see [`OtherOrigin`]).
    #[arg(skip)]
    pub other_origin_port: Option<u16>,
    /// Serve `GET /metrics` (Prometheus text format) to scrapes that send
    /// this token as `Authorization: Bearer <token>`; at least 16
    /// characters. Without it, `/metrics` answers 404.
    #[arg(long, env = "WORKBENCH_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// How log lines are written to standard error: `text` for people, or
    /// `json`, one object a line with the request's `trace_id`, for a log
    /// collector. `RUST_LOG` chooses which lines (e.g.
    /// `info,tower_http=debug` adds one a request).
    #[arg(long, env = "WORKBENCH_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How log lines are written (`--log-format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// A line of text for people.
    #[default]
    Text,
    /// One JSON object a line, with the fields of the request's span.
    Json,
}

/// Where the demos' second site listens (`--other-origin`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OtherOrigin {
    /// On the workbench's own address, on a free port.
    Auto,
    /// On this address.
    At(SocketAddr),
    /// Nowhere: the demos that need it say so.
    Off,
}

impl OtherOrigin {
    /// The port `auto` tries first: two above the workbench's (3002 for
    /// 3000; 3001 is the dev build's reload port), when the workbench has a
    /// fixed one.
    pub fn preferred_port(self, main: SocketAddr) -> Option<u16> {
        match self {
            Self::Auto if main.port() != 0 => main.port().checked_add(2),
            _ => None,
        }
    }

    /// The address to bind for a workbench listening on `main`, if any.
    pub fn address(self, main: SocketAddr) -> Option<SocketAddr> {
        match self {
            Self::Auto => Some(SocketAddr::new(main.ip(), 0)),
            Self::At(addr) => Some(addr),
            Self::Off => None,
        }
    }
}

/// `auto`, `off` or an address, as `--other-origin` takes it.
fn parse_other_origin(text: &str) -> Result<OtherOrigin, String> {
    match text {
        "auto" => Ok(OtherOrigin::Auto),
        "off" => Ok(OtherOrigin::Off),
        _ => text.parse().map(OtherOrigin::At).map_err(|_| {
            format!("{text:?}: write auto, off, or an address such as 127.0.0.1:3002")
        }),
    }
}

impl ServeConfig {
    /// The defaults, on `course` and `database`: for commands that need the
    /// server's state without serving it.
    pub fn for_commands(course: PathBuf, database: DatabaseArgs) -> Self {
        let mut config = Cli::parse_from(["workbench"]).serve;
        config.course.course = course;
        config.database = database;
        config
    }

    /// A configuration with every default, serving `course` on `addr`.
    pub fn new(addr: SocketAddr, course: PathBuf, data_dir: PathBuf) -> Self {
        let mut config = Cli::parse_from(["workbench"]).serve;
        config.addr = addr;
        config.course.course = course;
        config.database = DatabaseArgs {
            database_url: None,
            data_dir,
        };
        config
    }

    /// Where probe exercises may go ([`ServeConfig::probe_loopback`]).
    pub fn probe_policy(&self) -> crate::grading::ProbePolicy {
        crate::grading::ProbePolicy {
            loopback: self
                .probe_loopback
                .unwrap_or_else(|| self.addr.ip().is_loopback()),
            allow: self.probe_allow.clone(),
        }
    }

    /// The database URL to use: the configured one, or the embedded default.
    pub fn database_url(&self) -> String {
        self.database.url()
    }

    /// How long sessions live.
    pub fn session_policy(&self) -> SessionPolicy {
        SessionPolicy {
            idle_secs: i64::from(self.session_idle_minutes) * 60,
            lifetime_secs: i64::from(self.session_lifetime_hours) * 60 * 60,
        }
    }

    /// The fair share of the SQL threads each student gets (sandboxes and grading).
    pub fn sql_gate_limits(&self) -> crate::fair_gate::GateLimits {
        crate::fair_gate::GateLimits {
            budget: Duration::from_secs(self.sql_share_secs.max(1)),
            ..Default::default()
        }
    }

    fn student_memory_bytes(&self) -> usize {
        self.student_memory_mib.max(1).saturating_mul(1024 * 1024)
    }

    /// Traces' share of the student memory: half.
    pub fn trace_memory_bytes(&self) -> usize {
        self.student_memory_bytes() / 2
    }

    /// Every external service: `--service` ones, and Redis from
    /// `--redis-url` unless `--service redis=...` names it too. An empty
    /// URL (`REDIS_URL=` in a script) means none.
    pub fn service_urls(&self) -> crate::labs::ServiceUrls {
        let redis = self
            .redis_url
            .clone()
            .filter(|url| !url.trim().is_empty())
            .map(|url| ("redis".to_string(), url));
        crate::labs::ServiceUrls::new(redis.into_iter().chain(self.services.iter().cloned()))
    }

    /// The labs' shares of the student memory: a quarter for the cache
    /// lab's entries, a sixteenth for its statistics, three sixteenths for
    /// the rate-limit lab's limiters.
    pub fn lab_memory_budgets(&self) -> crate::labs::MemoryBudgets {
        let total = self.student_memory_bytes();
        crate::labs::MemoryBudgets {
            cache_entries: total / 4,
            cache_statistics: total / 16,
            limiters: total * 3 / 16,
        }
    }

    /// The sign-in limiter's allowances.
    pub fn sign_in_limits(&self) -> SignInLimits {
        SignInLimits {
            per_account: self.sign_in_burst_per_account,
            per_address: self.sign_in_burst_per_address,
            refill_every: Duration::from_secs(self.sign_in_refill_secs.max(1)),
        }
    }
}

/// `name=url`, as `--service` takes it.
fn parse_service(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, url))
            if !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && url.contains("://") =>
        {
            Ok((name.to_string(), url.to_string()))
        }
        _ => Err(format!(
            "{text:?}: write a service as name=url, e.g. amqp=amqp://127.0.0.1:5672"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_second_site_is_auto_an_address_or_off() {
        let main: SocketAddr = "127.0.0.1:3000".parse().unwrap();
        assert_eq!(parse_other_origin("auto"), Ok(OtherOrigin::Auto));
        assert_eq!(parse_other_origin("off"), Ok(OtherOrigin::Off));
        assert_eq!(
            parse_other_origin("0.0.0.0:4000"),
            Ok(OtherOrigin::At("0.0.0.0:4000".parse().unwrap()))
        );
        assert!(parse_other_origin("elsewhere")
            .unwrap_err()
            .contains("auto, off, or an address"));
        assert_eq!(OtherOrigin::Auto.preferred_port(main), Some(3002));
        assert_eq!(
            OtherOrigin::Auto.address(main),
            Some("127.0.0.1:0".parse().unwrap())
        );
        let any_port: SocketAddr = "127.0.0.1:0".parse().unwrap();
        assert_eq!(OtherOrigin::Auto.preferred_port(any_port), None);
        assert_eq!(OtherOrigin::Off.address(main), None);
    }

    #[test]
    fn no_subcommand_means_serve_with_the_flags_given() {
        let cli = Cli::try_parse_from(["workbench", "--addr", "127.0.0.1:0"]).unwrap();
        match cli.into_command() {
            Command::Serve(config) => assert_eq!(config.addr.port(), 0),
            other => panic!("expected serve, got {other:?}"),
        }
    }

    #[test]
    fn check_takes_a_course_folder() {
        let cli = Cli::try_parse_from(["workbench", "check", "--course", "elsewhere"]).unwrap();
        match cli.into_command() {
            Command::Check(args) => assert_eq!(args.course, PathBuf::from("elsewhere")),
            other => panic!("expected check, got {other:?}"),
        }
    }

    #[test]
    fn user_add_takes_an_email_and_a_role_but_no_password() {
        let cli = Cli::try_parse_from([
            "workbench",
            "user",
            "add",
            "ada@example.com",
            "--role",
            "instructor",
        ])
        .unwrap();
        let Command::User(UserCommand::Add(args)) = cli.into_command() else {
            panic!("expected user add")
        };
        assert_eq!(args.email, "ada@example.com");
        assert_eq!(args.role, crate::accounts::Role::Instructor);
        assert!(
            Cli::try_parse_from(["workbench", "user", "add", "a@b.c", "--password", "x"]).is_err()
        );
        assert!(
            Cli::try_parse_from(["workbench", "user", "add", "a@b.c", "--role", "root"]).is_err()
        );
    }

    #[test]
    fn services_are_named_urls_and_redis_url_is_one_of_them() {
        let cli = Cli::try_parse_from([
            "workbench",
            "serve",
            "--service",
            "amqp=amqp://127.0.0.1:5672",
            "--redis-url",
            "redis://127.0.0.1:6379",
        ])
        .unwrap();
        let Command::Serve(config) = cli.into_command() else {
            panic!("expected serve")
        };
        let services = config.service_urls();
        assert_eq!(services.url("amqp"), Some("amqp://127.0.0.1:5672"));
        assert_eq!(services.url("redis"), Some("redis://127.0.0.1:6379"));
        assert_eq!(services.url("nats"), None);
        let error = Cli::try_parse_from(["workbench", "serve", "--service", "amqp"]).unwrap_err();
        assert!(error.to_string().contains("name=url"), "{error}");
        // `REDIS_URL=` (empty, as a script clears it) is no Redis.
        let cli = Cli::try_parse_from(["workbench", "serve", "--redis-url", ""]).unwrap();
        let Command::Serve(config) = cli.into_command() else {
            panic!("expected serve")
        };
        assert_eq!(config.service_urls().url("redis"), None);
    }

    #[test]
    fn the_default_database_is_a_sqlite_file_in_the_data_folder() {
        let cli = Cli::try_parse_from(["workbench", "serve", "--data-dir", "/tmp/x"]).unwrap();
        let Command::Serve(config) = cli.into_command() else {
            panic!("expected serve")
        };
        if std::env::var_os("DATABASE_URL").is_none() {
            assert_eq!(config.database_url(), "sqlite:///tmp/x/workbench.db");
        }
    }
}
