//! Starts the real server on port 0 with a fresh database, for integration tests.

#![allow(dead_code, unreachable_pub)]

pub(crate) mod gateway;
pub(crate) mod postgres;
pub(crate) mod process;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use server::clock::ManualClock;
use server::config::ServeConfig;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A running server and what it needs to stay alive.
pub struct TestServer {
    pub addr: SocketAddr,
    pub data_dir: tempfile::TempDir,
    /// The server's clock: tests move it instead of sleeping.
    pub clock: Arc<ManualClock>,
    /// The running server's state, for tests that read its bookkeeping
    /// (memory budgets, say) rather than only its HTTP answers.
    pub state: server::state::AppState,
    config: ServeConfig,
    /// The server's PostgreSQL database when the tests run on one; it
    /// outlives restarts and is dropped with the server.
    postgres: Option<Arc<postgres::ScratchDatabase>>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// The repository's own course.
    pub async fn start() -> Self {
        Self::start_with(repo_root(), false).await
    }

    /// A server on `course`, in dev mode or not.
    pub async fn start_with(course: PathBuf, dev: bool) -> Self {
        Self::start_configured(course, |config| config.dev = dev).await
    }

    /// A server on `course` with `configure` applied to the defaults.
    pub async fn start_configured(
        course: PathBuf,
        configure: impl FnOnce(&mut ServeConfig),
    ) -> Self {
        let postgres = postgres::ScratchDatabase::create_if_asked()
            .await
            .map(Arc::new);
        Self::start_on(course, postgres, None, configure).await
    }

    /// A second server on `first`'s database and data folder, as a second
    /// process behind a load balancer is; `configure` as for
    /// [`TestServer::start_configured`]. The database lasts while either runs.
    pub async fn start_beside(
        first: &TestServer,
        configure: impl FnOnce(&mut ServeConfig),
    ) -> Self {
        Self::start_on(
            first.config.course.course.clone(),
            first.postgres.clone(),
            Some(first.config.database.clone()),
            configure,
        )
        .await
    }

    async fn start_on(
        course: PathBuf,
        postgres: Option<Arc<postgres::ScratchDatabase>>,
        database: Option<server::config::DatabaseArgs>,
        configure: impl FnOnce(&mut ServeConfig),
    ) -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = ServeConfig::new(
            "127.0.0.1:0".parse().unwrap(),
            course,
            data_dir.path().to_path_buf(),
        );
        config.site_root = data_dir.path().join("site");
        // Tests share two busy cores (the class test hashes hundreds of
        // passwords): a Redis answer late by 250 ms is load, not an outage.
        // The outages the tests make refuse connections at once.
        config.redis_timeout_ms = 2_000;
        config.database.database_url = postgres.as_ref().map(|db| db.url.clone());
        if let Some(database) = database {
            config.database = database;
        }
        configure(&mut config);
        Self::launch(
            config,
            data_dir,
            Arc::new(ManualClock::starting_now()),
            postgres,
        )
        .await
    }

    async fn launch(
        mut config: ServeConfig,
        data_dir: tempfile::TempDir,
        clock: Arc<ManualClock>,
        postgres: Option<Arc<postgres::ScratchDatabase>>,
    ) -> Self {
        if let Some(listener) = server::bind_other_origin(&mut config)
            .await
            .expect("bind the second site")
        {
            tokio::spawn(server::serve_other_origin(listener));
        }
        let state = server::build_state_with_clock(&config, clock.clone())
            .await
            .expect("server state");
        let listener = TcpListener::bind(config.addr).await.expect("bind port 0");
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server::run(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        Self {
            addr,
            data_dir,
            clock,
            state,
            config,
            postgres,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// Stops the server and starts it again on the same database and clock
    /// (on a new port; cookies do not care about ports).
    pub async fn restart(mut self) -> Self {
        self.halt().await;
        let data_dir = std::mem::replace(&mut self.data_dir, tempfile::tempdir().unwrap());
        Self::launch(
            self.config.clone(),
            data_dir,
            self.clock.clone(),
            self.postgres.take(),
        )
        .await
    }

    /// Where this server's platform database is, as the command line takes it.
    pub fn database_args(&self) -> server::config::DatabaseArgs {
        self.config.database.clone()
    }

    /// The `workbench` command's flags for this server's database: its data
    /// folder, and its URL when it is not the default SQLite file there.
    pub fn database_flags(&self) -> Vec<std::ffi::OsString> {
        let database = &self.config.database;
        let mut flags = vec!["--data-dir".into(), database.data_dir.clone().into()];
        if let Some(url) = &database.database_url {
            flags.extend(["--database-url".into(), url.into()]);
        }
        flags
    }

    /// An absolute URL on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// GETs `path` with a fresh client (no cookies).
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.browser().get(self.url(path)).send().await.unwrap()
    }

    /// GETs `path` with `client` and returns the body as text.
    pub async fn text(&self, client: &reqwest::Client, path: &str) -> String {
        client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// GETs `path` with `client` and parses the body as JSON.
    pub async fn json(&self, client: &reqwest::Client, path: &str) -> serde_json::Value {
        client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The events of `kind` in the trace of `response`, as `client` sees it.
    pub async fn trace_events(
        &self,
        client: &reqwest::Client,
        response: &reqwest::Response,
        kind: &str,
    ) -> Vec<serde_json::Value> {
        let trace = self
            .json(client, &format!("/api/traces/{}", trace_id_of(response)))
            .await;
        let events = trace["events"].as_array().cloned().unwrap_or_default();
        events.into_iter().filter(|e| e["kind"] == kind).collect()
    }

    /// A client that keeps cookies, like a browser.
    pub fn browser(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        self.halt().await;
    }

    /// Stops the server and hands back its data folder, which would
    /// otherwise be deleted with the server.
    pub async fn stop_keeping_data(mut self) -> tempfile::TempDir {
        self.halt().await;
        std::mem::replace(&mut self.data_dir, tempfile::tempdir().unwrap())
    }

    async fn halt(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task")
                .expect("server ran cleanly");
        }
    }
}

/// Gives the account with `email` a role, as `workbench user add` does.
pub async fn make_role(server: &TestServer, email: &str, role: server::accounts::Role) {
    let args = server::config::UserAddArgs {
        email: email.into(),
        role,
        name: None,
        database: server.database_args(),
    };
    server::cli::user::add_user(&args)
        .await
        .expect("role changed");
    // The command is another process as far as the server is concerned: it
    // hears of the change when it next reads the change counter (every
    // 250 ms). Read it now rather than wait.
    server
        .state
        .changes
        .poll(&server.state.pool)
        .await
        .expect("change counter read");
}

/// Answers `exercise` as the student `client`; the answer is graded (200).
pub async fn answer(
    server: &TestServer,
    client: &reqwest::Client,
    exercise: &str,
    answer: serde_json::Value,
) {
    let response = client
        .post(server.url(&format!("/api/exercises/{exercise}/attempts")))
        .json(&serde_json::json!({ "answer": answer }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// Grades `exercise` for `client` from what the server holds for them
/// (an empty answer): the graded outcome (`score`, `max`, `checks`).
pub async fn graded_outcome(
    server: &TestServer,
    client: &reqwest::Client,
    exercise: &str,
) -> serde_json::Value {
    let response = client
        .post(server.url(&format!("/api/exercises/{exercise}/attempts")))
        .json(&serde_json::json!({ "answer": {} }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "attempt at {exercise}");
    let graded: serde_json::Value = response.json().await.unwrap();
    graded["outcome"].clone()
}

/// Runs the real `workbench` binary with `args`, feeding it `stdin`;
/// returns the exit code, stdout and stderr.
pub fn run_workbench(
    args: &[&std::ffi::OsStr],
    unset_env: &str,
    stdin: &str,
) -> (i32, String, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_workbench"))
        .args(args)
        .env_remove(unset_env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run workbench");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

/// The repository root, which is also the default course.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Copies the repository's course (lessons, exercises, course.toml) into a temp dir.
pub fn copy_of_course() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = repo_root();
    copy_dir(&root.join("lessons"), &dir.path().join("lessons"));
    copy_dir(&root.join("exercises"), &dir.path().join("exercises"));
    std::fs::copy(root.join("course.toml"), dir.path().join("course.toml")).unwrap();
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The trace id in a lab answer's `traceresponse` header (W3C Trace
/// Context: `00-<trace id>-<span id>-<flags>`).
pub fn trace_id_of(response: &reqwest::Response) -> String {
    let header = response
        .headers()
        .get("traceresponse")
        .expect("traceresponse header")
        .to_str()
        .unwrap();
    let parts: Vec<&str> = header.split('-').collect();
    assert_eq!(parts.len(), 4, "{header}");
    assert_eq!(parts[0], "00");
    assert_eq!(parts[1].len(), 32);
    parts[1].to_string()
}

/// A TCP proxy in front of a service (Redis, RabbitMQ) that the test can
/// cut and restore.
pub struct ServiceProxy {
    /// The port it listens on.
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
    connections: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl ServiceProxy {
    /// Listens on `port` (0 for any) and relays each connection to
    /// `upstream` (`host:port`).
    pub async fn start(port: u16, upstream: &'static str) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let tracked = connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let connection = tokio::spawn(async move {
                    if let Ok(mut service) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut service).await;
                    }
                });
                tracked.lock().unwrap().push(connection);
            }
        });
        Self {
            port,
            task,
            connections,
        }
    }

    /// Stops accepting and drops every open connection: the service is "down".
    pub fn cut(self) -> u16 {
        self.task.abort();
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
        self.port
    }
}

/// The text of field `name` of a trace event (fields are `[name, text]`
/// pairs; non-string values as JSON).
pub fn event_field<'a>(event: &'a serde_json::Value, name: &str) -> &'a str {
    event["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|pair| pair[0] == name)
        .and_then(|pair| pair[1].as_str())
        .unwrap_or_else(|| panic!("no field {name} in {event}"))
}
