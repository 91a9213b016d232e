//! Command line and environment configuration. Every flag has an environment
//! variable, so a deployment can configure the server without arguments.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// Platform database URL; defaults to a SQLite file in the data folder.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Folder for the default SQLite database.
    #[arg(long, env = "WORKBENCH_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Folder with the built browser assets (`pkg/`), as cargo-leptos writes it.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
    /// Watch the course folder and reload lessons on save; pages refresh themselves.
    #[arg(long, env = "WORKBENCH_DEV")]
    pub dev: bool,
    /// Mark cookies `Secure`: set this when serving behind TLS.
    #[arg(long, env = "WORKBENCH_SECURE_COOKIES")]
    pub secure_cookies: bool,
}

impl ServeConfig {
    /// The database URL to use: the configured one, or the embedded default.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("workbench.db").display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
