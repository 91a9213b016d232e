//! A school's deployment, run for real: three `workbench serve` processes
//! on one PostgreSQL and one Redis, behind Debian's nginx running the
//! repository's own `deploy/nginx.conf` over TLS. A class works through
//! nginx while one process is killed with SIGKILL and, later, Redis goes
//! away and comes back. Afterwards every write a student saw acknowledged
//! is still there, on every surviving process, and nobody signs in again.
//!
//! Skipped, saying why, when nginx, openssl, PostgreSQL (5432) or Redis
//! (6379) is missing; `scripts/setup.sh` installs nginx.

mod common;

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::postgres::ScratchDatabase;
use common::process::Process;
use common::{run_workbench, trace_id_of, ServiceProxy};
use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const REDIS: &str = "127.0.0.1:6379";
const STUDENTS: usize = 24;
const PASSWORD: &str = "a school's passphrase";
/// The quiz every student answers again and again.
const EXERCISE: &str = "http-status-created";
/// Sign-in attempts one account has in a burst (the default).
const SIGN_IN_BURST: usize = 5;
/// After a kill, how long requests that were inside the killed process
/// may still come back as 502 from nginx.
const KILL_WINDOW: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_behind_nginx_lose_nothing_when_one_is_killed_or_redis_goes() {
    if let Some(missing) = missing_parts() {
        eprintln!("skipped: {missing}");
        return;
    }
    let database = ScratchDatabase::create(POSTGRES).await;
    let mut redis = ServiceProxy::start(0, REDIS).await;
    let data = tempfile::tempdir().unwrap();
    let processes = start_processes(&database.url, redis.port, data.path()).await;
    let bases: Vec<String> = processes.iter().map(|p| p.base.clone()).collect();
    let nginx = Nginx::start(&bases);
    let front = format!("https://127.0.0.1:{}", nginx.https);

    the_front_door_is_tls_with_secure_cookies(&nginx).await;
    let code = make_class(&database.url, data.path());
    let students = futures_util::future::join_all(
        (0..STUDENTS).map(|i| Student::join_and_sign_up(&front, &code, i)),
    )
    .await;

    // The door limit on one account holds across the three processes.
    let guessed = guesses_spread_over(&bases, "guessed@example.com", &front).await;
    assert_eq!(
        guessed.last(),
        Some(&429),
        "attempt {} of one account, spread over three processes, is refused: {guessed:?}",
        SIGN_IN_BURST + 1
    );

    // The class at work; the test kills a process, then takes Redis away.
    let clock = Arc::new(Clock::default());
    let students = Arc::new(students);
    let load: Vec<_> = (0..STUDENTS)
        .map(|i| tokio::spawn(work(students.clone(), i, clock.clone())))
        .collect();
    let mut processes: Vec<Option<Process>> = processes.into_iter().map(Some).collect();
    tokio::time::sleep(Duration::from_secs(4)).await;
    // The kill is noted first: `kill` waits for the process to end, and a
    // request that was inside it may come back as 502 before that wait does.
    clock.enter(Phase::OneKilled);
    processes[1].take().unwrap().kill();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let redis_port = redis.cut();
    clock.enter(Phase::RedisAway);
    tokio::time::sleep(Duration::from_secs(5)).await;
    redis = ServiceProxy::start(redis_port, REDIS).await;
    clock.enter(Phase::RedisBack);
    tokio::time::sleep(Duration::from_secs(4)).await;
    clock.stop.store(true, Ordering::Relaxed);
    let mut ledgers = Vec::new();
    let mut failures = Vec::new();
    let mut statuses = BTreeMap::new();
    for run in load {
        let run = run.await.unwrap();
        failures.extend(run.failures);
        for (status, count) in run.statuses {
            *statuses.entry(status).or_insert(0) += count;
        }
        ledgers.push(run.ledger);
    }
    eprintln!("answers through nginx, by status: {statuses:?}");
    assert!(
        failures.is_empty(),
        "{} unexpected answers, the first: {:#?}",
        failures.len(),
        &failures[..failures.len().min(10)]
    );
    let acknowledged: u32 = ledgers.iter().map(|l| l.attempts_acked).sum();
    assert!(acknowledged >= STUDENTS as u32, "the class did work");

    // A setting saved in the last moments reaches the other processes'
    // copies at their next read of the key log, four times a second.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let survivors: Vec<&Process> = processes.iter().flatten().collect();
    for survivor in &survivors {
        redis_is_back(survivor).await;
    }
    let direct = Client::new();
    for (student, ledger) in students.iter().zip(&ledgers) {
        student.kept_everything(&survivors, &direct, ledger).await;
    }
    accounts_still_sign_in(&front, &students[..3]).await;

    // Recovered: a trace is shared again, and so is the door limit.
    let ana = &students[0];
    let recorded = ana
        .direct(
            &direct,
            survivors[0],
            reqwest::Method::POST,
            "/labs/http/echo/orders",
        )
        .json(&json!({ "item": "tea" }))
        .send()
        .await
        .unwrap();
    assert_eq!(recorded.status(), 200);
    let trace = trace_id_of(&recorded);
    let found = ana
        .direct(
            &direct,
            survivors[1],
            reqwest::Method::GET,
            &format!("/api/traces/{trace}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        found.status(),
        200,
        "a trace from one survivor on the other"
    );
    let survivor_bases = [survivors[0].base.clone(), survivors[1].base.clone()];
    let guessed = guesses_spread_over(&survivor_bases, "guessed-later@example.com", &front).await;
    assert_eq!(guessed.last(), Some(&429), "shared again: {guessed:?}");

    for survivor in &survivors {
        let kib = survivor.resident_kib().unwrap_or(0);
        eprintln!("{}: {} MiB resident", survivor.base, kib / 1024);
    }
    drop(redis);
    drop(nginx);
}

/// What this machine lacks for the test, if anything.
fn missing_parts() -> Option<String> {
    if nginx_binary().is_none() {
        return Some("no nginx (Debian's nginx-light; scripts/setup.sh installs it)".into());
    }
    if Command::new("openssl").arg("version").output().is_err() {
        return Some("no openssl to make the test's certificate".into());
    }
    for (name, address) in [("PostgreSQL", "127.0.0.1:5432"), ("Redis", REDIS)] {
        let reachable =
            TcpStream::connect_timeout(&address.parse().unwrap(), Duration::from_secs(1)).is_ok();
        if !reachable {
            return Some(format!("no {name} answers on {address}"));
        }
    }
    None
}

fn nginx_binary() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|binary| Command::new(binary).arg("-v").output().is_ok())
}

/// Three processes on one database, one Redis and one data folder, as on
/// one host; started at once, so they also race to migrate.
async fn start_processes(database: &str, redis_port: u16, data: &Path) -> Vec<Process> {
    let starts = (0..3).map(|_| {
        let env = [
            ("DATABASE_URL".to_string(), database.to_string()),
            (
                "REDIS_URL".into(),
                format!("redis://127.0.0.1:{redis_port}"),
            ),
            // The shared folder stands in for the process's own.
            ("WORKBENCH_DATA_DIR".into(), data.display().to_string()),
            ("WORKBENCH_TRUSTED_PROXIES".into(), "127.0.0.1".into()),
            ("WORKBENCH_SECURE_COOKIES".into(), "true".into()),
        ];
        tokio::task::spawn_blocking(move || {
            let env: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            Process::start_with(tempfile::tempdir().unwrap(), &[], &env)
        })
    });
    futures_util::future::try_join_all(starts).await.unwrap()
}

/// The instructor and the class, made with the command line, as an
/// operator would; the class's join code.
fn make_class(database: &str, data: &Path) -> String {
    let data = data.display().to_string();
    let database = ["--database-url", database, "--data-dir", &data];
    let run = |args: &[&str], stdin: &str| {
        let args: Vec<&std::ffi::OsStr> =
            args.iter().chain(&database).map(|a| a.as_ref()).collect();
        let (code, out, err) = run_workbench(&args, "DATABASE_URL", stdin);
        assert_eq!(code, 0, "workbench {args:?}: {out}{err}");
        out
    };
    run(
        &["user", "add", "teacher@example.com", "--role", "instructor"],
        "an instructor's passphrase\n",
    );
    let created = run(
        &[
            "class",
            "create",
            "School test",
            "--owner",
            "teacher@example.com",
            "--capacity",
            "100",
        ],
        "",
    );
    let code = created
        .split("join code ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("a join code in {created:?}"));
    code.to_string()
}

/// Port 80 sends browsers to TLS; answers over TLS carry HSTS, and the
/// session cookie is `Secure`.
async fn the_front_door_is_tls_with_secure_cookies(nginx: &Nginx) {
    let plain = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let moved = plain
        .get(format!("http://127.0.0.1:{}/lessons", nginx.http))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(moved.headers()["location"], "https://127.0.0.1/lessons");

    let ready = browser(&Arc::default())
        .get(format!("https://127.0.0.1:{}/readyz", nginx.https))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let guest = browser(&Arc::default())
        .get(format!("https://127.0.0.1:{}/labs/http/echo", nginx.https))
        .send()
        .await
        .unwrap();
    assert_eq!(guest.status(), 200);
    assert!(guest.headers().contains_key("strict-transport-security"));
    let cookie = guest.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
}

/// `count` wrong passwords for a new account at `email`, sent to each
/// process in turn (straight to it, from the address nginx has); the
/// statuses.
async fn guesses_spread_over(bases: &[String], email: &str, front: &str) -> Vec<u16> {
    let owner = browser(&Arc::default());
    let made = owner
        .post(format!("{front}/auth/signup"))
        .json(&json!({ "name": "Guessed", "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201, "{}", made.text().await.unwrap());
    let client = Client::new();
    let mut statuses = Vec::new();
    for i in 0..=SIGN_IN_BURST {
        let answer = client
            .post(format!("{}/auth/signin", bases[i % bases.len()]))
            .json(&json!({ "email": email, "password": "not the passphrase at all" }))
            .send()
            .await
            .unwrap();
        statuses.push(answer.status().as_u16());
    }
    statuses
}

/// Waits until `process` reports Redis reachable again.
async fn redis_is_back(process: &Process) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready: Value = reqwest::get(format!("{}/readyz", process.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if ready["redis"] == "ok" {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "Redis never came back for {}: {ready}",
            process.base
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Accounts made before the kill still take their passphrase.
async fn accounts_still_sign_in(front: &str, students: &[Student]) {
    for student in students {
        let fresh = browser(&Arc::default());
        let signed_in = fresh
            .post(format!("{front}/auth/signin"))
            .json(&json!({ "email": student.email, "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(signed_in.status(), 200, "{}", student.email);
    }
}

/// A client like a browser: cookies kept, redirects shown, the test's
/// own certificate taken.
fn browser(jar: &Arc<Jar>) -> Client {
    Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// One simulated student, through nginx.
struct Student {
    email: String,
    front: String,
    jar: Arc<Jar>,
    client: Client,
    /// Their own seed, for what they do and how long they think.
    seed: u64,
}

impl Student {
    async fn join_and_sign_up(front: &str, code: &str, number: usize) -> Self {
        let jar = Arc::new(Jar::default());
        let client = browser(&jar);
        let name = format!("Student {number}");
        let joined = client
            .post(format!("{front}/join/{code}"))
            .json(&json!({ "name": name }))
            .send()
            .await
            .unwrap();
        assert_eq!(joined.status(), 201, "{}", joined.text().await.unwrap());
        let email = format!("student{number}@example.com");
        let signed_up = client
            .post(format!("{front}/auth/signup"))
            .json(&json!({ "name": name, "email": email, "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            signed_up.status(),
            201,
            "{}",
            signed_up.text().await.unwrap()
        );
        Self {
            email,
            front: front.to_string(),
            jar,
            client,
            seed: 0x9E37_79B9_7F4A_7C15 ^ (number as u64 + 1),
        }
    }

    /// A request straight to `process` (not through nginx), carrying the
    /// student's cookies, which are `Secure` and so never sent over plain
    /// HTTP by a browser's rules.
    fn direct(
        &self,
        client: &Client,
        process: &Process,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        let cookies = self
            .jar
            .cookies(&self.front.parse().unwrap())
            .expect("the student has a session");
        client
            .request(method, format!("{}{path}", process.base))
            .header("cookie", cookies)
    }

    /// Every survivor knows the student without a new sign-in, and has
    /// every attempt, setting and trace the student saw acknowledged.
    async fn kept_everything(&self, survivors: &[&Process], client: &Client, ledger: &Ledger) {
        for process in survivors {
            let get = |path: String| async move {
                let answer = self
                    .direct(client, process, reqwest::Method::GET, &path)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    answer.status(),
                    200,
                    "{} {path} on {}",
                    self.email,
                    process.base
                );
                answer.json::<Value>().await.unwrap()
            };
            assert_eq!(get("/api/me".into()).await["email"], self.email.as_str());
            let attempts = get(format!("/api/exercises/{EXERCISE}/standing")).await["attempts"]
                .as_u64()
                .unwrap() as u32;
            assert!(
                (ledger.attempts_acked..=ledger.attempts_acked + ledger.attempts_unsure)
                    .contains(&attempts),
                "{}: {attempts} attempts stored, {} acknowledged and {} unanswered",
                self.email,
                ledger.attempts_acked,
                ledger.attempts_unsure
            );
            if let Some(acked) = ledger.capacity_acked {
                let capacity = get("/labs/ratelimit/settings".into()).await["settings"]["capacity"]
                    .as_u64()
                    .unwrap() as u32;
                assert!(
                    capacity == acked || ledger.capacity_unsure.contains(&capacity),
                    "{}: capacity {capacity}, acknowledged {acked}",
                    self.email
                );
            }
            for trace in &ledger.traces {
                get(format!("/api/traces/{trace}")).await;
            }
        }
    }

    /// The next number from the student's own sequence (xorshift).
    fn next(&self, state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }
}

/// What the test is doing to the deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Phase {
    AllUp,
    OneKilled,
    RedisAway,
    RedisBack,
}

#[derive(Default)]
struct Clock {
    phase: AtomicU8,
    killed_at: Mutex<Option<Instant>>,
    stop: AtomicBool,
}

impl Clock {
    fn enter(&self, phase: Phase) {
        if phase == Phase::OneKilled {
            *self.killed_at.lock().unwrap() = Some(Instant::now());
        }
        self.phase.store(phase as u8, Ordering::Relaxed);
    }

    fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Relaxed) {
            0 => Phase::AllUp,
            1 => Phase::OneKilled,
            2 => Phase::RedisAway,
            _ => Phase::RedisBack,
        }
    }

    /// Whether a 502 now may be a request that was inside the killed process.
    fn just_killed(&self) -> bool {
        self.killed_at
            .lock()
            .unwrap()
            .is_some_and(|at| at.elapsed() < KILL_WINDOW)
    }

    /// Whether traces may be only in the process that recorded them.
    fn redis_unsure(&self) -> bool {
        matches!(self.phase(), Phase::RedisAway | Phase::RedisBack)
    }
}

/// What one student saw acknowledged, and what went unanswered.
#[derive(Default, Debug)]
struct Ledger {
    attempts_acked: u32,
    attempts_unsure: u32,
    capacity_acked: Option<u32>,
    /// Capacities sent after the last acknowledged one, answer unknown.
    capacity_unsure: Vec<u32>,
    /// Traces recorded while Redis was there.
    traces: Vec<String>,
}

struct Run {
    ledger: Ledger,
    failures: Vec<String>,
    statuses: BTreeMap<u16, u32>,
}

/// One student at work until the clock stops: lessons, lab requests and
/// their traces, settings and quiz attempts, with think time between.
async fn work(students: Arc<Vec<Student>>, index: usize, clock: Arc<Clock>) -> Run {
    let student = &students[index];
    let mut run = Run {
        ledger: Ledger::default(),
        failures: Vec::new(),
        statuses: BTreeMap::new(),
    };
    let mut state = student.seed;
    let document: Value = student
        .client
        .get(format!("{}/labs/ratelimit/settings", student.front))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let settings = document["settings"].clone();
    let mut latest_trace: Option<String> = None;
    let mut capacity = 0;
    while !clock.stop.load(Ordering::Relaxed) {
        let think = 100 + student.next(&mut state) % 300;
        tokio::time::sleep(Duration::from_millis(think)).await;
        let url = |path: &str| format!("{}{path}", student.front);
        let (what, request) = match student.next(&mut state) % 5 {
            0 => ("page", student.client.get(url("/lessons/http/anatomy"))),
            1 => (
                "echo",
                student
                    .client
                    .post(url("/labs/http/echo/orders"))
                    .json(&json!({ "item": "tea", "quantity": 2 })),
            ),
            2 => (
                "attempt",
                student
                    .client
                    .post(url(&format!("/api/exercises/{EXERCISE}/attempts")))
                    .json(&json!({ "answer": "201 Created" })),
            ),
            3 => {
                capacity = capacity % 1000 + 1;
                let mut changed = settings.clone();
                changed["capacity"] = capacity.into();
                (
                    "settings",
                    student
                        .client
                        .put(url("/labs/ratelimit/settings"))
                        .json(&changed),
                )
            }
            _ => match &latest_trace {
                Some(trace) => (
                    "trace",
                    student.client.get(url(&format!("/api/traces/{trace}"))),
                ),
                None => ("page", student.client.get(url("/progress"))),
            },
        };
        let traces_shared = !clock.redis_unsure();
        let answer = match request.send().await {
            Ok(answer) => answer,
            Err(error) => {
                run.failures.push(format!("{what}: no answer: {error}"));
                continue;
            }
        };
        let status = answer.status().as_u16();
        *run.statuses.entry(status).or_insert(0) += 1;
        let unanswered = status == 502 && clock.just_killed();
        let ledger = &mut run.ledger;
        let expected = match (what, status) {
            (_, 502) if unanswered => {
                match what {
                    "attempt" => ledger.attempts_unsure += 1,
                    "settings" => ledger.capacity_unsure.push(capacity),
                    _ => {}
                }
                true
            }
            ("page", 200) => true,
            ("echo", 200) => {
                let trace = trace_id_of(&answer);
                // Kept where every process finds it only if Redis was
                // there before the request and still is after it.
                if traces_shared && !clock.redis_unsure() {
                    ledger.traces.push(trace.clone());
                }
                latest_trace = Some(trace);
                true
            }
            ("attempt", 200) => {
                ledger.attempts_acked += 1;
                true
            }
            // The door limit on attempts: refused, not stored.
            ("attempt", 429) => true,
            ("settings", 200) => {
                ledger.capacity_acked = Some(capacity);
                ledger.capacity_unsure.clear();
                true
            }
            ("trace", 200) => true,
            // Recorded by another process while Redis was away.
            ("trace", 404) => clock.redis_unsure(),
            _ => false,
        };
        if !expected {
            let body = answer.text().await.unwrap_or_default();
            run.failures.push(format!(
                "{} {what} in phase {:?}: {status} {}",
                student.email,
                clock.phase(),
                &body[..body.len().min(300)]
            ));
        }
    }
    run
}

/// Debian's nginx running `deploy/nginx.conf`, with the test's ports,
/// processes and certificate in the lines marked `site:`.
struct Nginx {
    child: Child,
    _folder: tempfile::TempDir,
    http: u16,
    https: u16,
}

impl Nginx {
    fn start(processes: &[String]) -> Self {
        let folder = tempfile::tempdir().unwrap();
        let dir = folder.path();
        let (certificate, key) = self_signed_certificate(dir);
        let (http, https) = (free_port(), free_port());
        let file = std::fs::read_to_string(common::repo_root().join("deploy/nginx.conf")).unwrap();
        let site = site_config(&file, processes, http, https, &certificate, &key);
        std::fs::write(dir.join("workbench.conf"), site).unwrap();
        // One process, in the foreground, with its files in the folder:
        // only the included file is under test.
        let main = format!(
            "master_process off;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  \
             fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
             include {d}/workbench.conf;\n}}\n",
            d = dir.display()
        );
        std::fs::write(dir.join("nginx.conf"), main).unwrap();
        let mut child = Command::new(nginx_binary().expect("checked"))
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run nginx");
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", https)).is_ok() {
                return Self {
                    child,
                    _folder: folder,
                    http,
                    https,
                };
            }
            if let Ok(Some(exit)) = child.try_wait() {
                let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
                panic!("nginx ended ({exit}):\n{log}");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("nginx never listened on {https}");
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The repository's site file with the test's values in its `site:`
/// lines; fails if a line the test must change is not there, so the file
/// and the test cannot drift apart.
fn site_config(
    file: &str,
    processes: &[String],
    http: u16,
    https: u16,
    certificate: &Path,
    key: &Path,
) -> String {
    let mut upstreams = processes
        .iter()
        .map(|base| base.trim_start_matches("http://"));
    let mut changed = BTreeMap::<&str, usize>::new();
    let mut out = String::new();
    for line in file.lines() {
        let Some((code, what)) = line.split_once("# site:") else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let what = what.trim();
        // The value after the directive's name: an address, a port or a path.
        let value = code
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .trim_end_matches(';');
        let code = match what {
            "the processes" => code.replacen(value, upstreams.next().expect("three processes"), 1),
            "the plain port" => code.replacen(value, &format!("127.0.0.1:{http}"), 1),
            "the TLS port" => code.replacen(value, &format!("127.0.0.1:{https}"), 1),
            "the certificate" => code.replacen(value, &certificate.display().to_string(), 1),
            "its key" => code.replacen(value, &key.display().to_string(), 1),
            _ => code.to_string(),
        };
        *changed.entry(what).or_insert(0) += 1;
        out.push_str(&code);
        out.push('\n');
    }
    for (what, times) in [
        ("the processes", processes.len()),
        ("the plain port", 1),
        ("the TLS port", 1),
        ("the certificate", 1),
        ("its key", 1),
    ] {
        assert_eq!(
            changed.get(what),
            Some(&times),
            "deploy/nginx.conf: `# site: {what}` lines"
        );
    }
    out
}

fn self_signed_certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let (certificate, key) = (dir.join("certificate.pem"), dir.join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&certificate)
        .output()
        .expect("run openssl");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    (certificate, key)
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
