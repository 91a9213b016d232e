//! A `workbench serve` process of its own, for tests and benchmarks that
//! need several real server processes (the chat's backbones) or a real
//! process's memory. Benchmarks include this file by path.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// Log lines kept per process: enough for a test, bounded for a benchmark.
const KEPT_LOG_LINES: usize = 10_000;

/// A `workbench` process on a free port with a data folder of its own,
/// killed when dropped.
pub(crate) struct Process {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    /// `None` only once [`Process::kill`] took it.
    data: Option<tempfile::TempDir>,
    /// What it wrote to its standard error since it started listening.
    log: Arc<Mutex<Vec<String>>>,
}

impl Process {
    /// Starts `workbench serve` with external services given as
    /// `name=url` (`redis=redis://…`, `nats=nats://…`), and waits until it
    /// says where it listens.
    pub(crate) fn start(services: &[(&str, &str)]) -> Self {
        Self::start_in(tempfile::tempdir().expect("a data folder"), services)
    }

    /// As [`Process::start`], on the data folder `data` (one a killed
    /// process left, for a restart).
    pub(crate) fn start_in(data: tempfile::TempDir, services: &[(&str, &str)]) -> Self {
        Self::start_with(data, services, &[])
    }

    /// As [`Process::start_in`], with more environment variables (`env`).
    pub(crate) fn start_with(
        data: tempfile::TempDir,
        services: &[(&str, &str)],
        env: &[(&str, &str)],
    ) -> Self {
        let services: Vec<String> = services
            .iter()
            .map(|(name, url)| format!("{name}={url}"))
            .collect();
        let course = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the workspace holds the server");
        // A benchmark may compare another build (`WORKBENCH_BIN`).
        let binary = std::env::var("WORKBENCH_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_workbench").into());
        let mut command = Command::new(binary);
        command.env_remove("WORKBENCH_SERVICES");
        if !services.is_empty() {
            command.env("WORKBENCH_SERVICES", services.join(","));
        }
        let mut child = command
            .arg("serve")
            .env("WORKBENCH_ADDR", "127.0.0.1:0")
            .env("WORKBENCH_DATA_DIR", data.path())
            .env("WORKBENCH_COURSE", course)
            .env_remove("REDIS_URL")
            // As for the in-process test servers: a late answer is load.
            .env("REDIS_TIMEOUT_MS", "2000")
            .env("RUST_LOG", "info")
            .env_remove("DATABASE_URL")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run workbench");
        let mut lines = BufReader::new(child.stderr.take().expect("piped")).lines();
        let mut said = Vec::new();
        let base = loop {
            let Some(Ok(line)) = lines.next() else {
                panic!("workbench exited before it listened:\n{}", said.join("\n"));
            };
            said.push(line.clone());
            if let Some(at) = line.find("listening on http://") {
                let address: String = line[at + "listening on http://".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                    .collect();
                break format!("http://{address}");
            }
        };
        // Keep reading its log, so a full pipe never blocks it.
        let log = Arc::new(Mutex::new(Vec::new()));
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let mut kept = kept.lock().expect("never poisoned");
                if kept.len() < KEPT_LOG_LINES {
                    kept.push(line);
                }
            }
        });
        Self {
            child,
            base,
            data: Some(data),
            log,
        }
    }

    /// What it has written to its standard error since it started listening.
    #[allow(
        dead_code,
        reason = "the benchmarks include this file and read no logs"
    )]
    pub(crate) fn log(&self) -> Vec<String> {
        self.log.lock().expect("never poisoned").clone()
    }

    /// Kills the process at once (`SIGKILL`: no shutdown of any kind) and
    /// hands back its data folder, for a process that starts after it.
    #[allow(
        dead_code,
        reason = "the benchmarks include this file and never restart"
    )]
    pub(crate) fn kill(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.data.take().expect("a process is killed once")
    }

    /// The process's resident memory now, in KiB (Linux `VmRSS`).
    pub(crate) fn resident_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
