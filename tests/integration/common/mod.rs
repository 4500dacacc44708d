//! Test harness: a real Pushgateway on a free loopback port with a temporary
//! persistence file, a client that pushes groups the way a producer would,
//! and typed report structs that reject unknown fields.
#![allow(dead_code)]

pub mod dns;

pub mod mock;

pub mod protobuf;

pub mod proxy;

pub mod secure;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;

/// Where the Pushgateway binary is: `PUSHGATEWAY_BIN`, else the Debian name
/// `prometheus-pushgateway` or upstream's `pushgateway` on PATH.
pub fn pushgateway_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("PUSHGATEWAY_BIN") {
        return PathBuf::from(bin);
    }
    for name in ["prometheus-pushgateway", "pushgateway"] {
        if let Some(dir) = std::env::var_os("PATH") {
            for d in std::env::split_paths(&dir) {
                let p = d.join(name);
                if p.is_file() {
                    return p;
                }
            }
        }
    }
    // Missing is a failure, never a skip: these tests are the proof.
    panic!(
        "no Pushgateway binary: install Debian's prometheus-pushgateway \
         (scripts/test.sh does) or set PUSHGATEWAY_BIN"
    );
}

/// A Pushgateway 1.11 or later, for what only 1.11 has
/// (`--push.enable-utf8-names`): `PUSHGATEWAY_BIN_1_11` (scripts/test.sh
/// fetches Debian's package and sets it), else the default binary when it is
/// that new. Missing is a failure, never a skip.
pub fn pushgateway_bin_1_11() -> PathBuf {
    if let Some(bin) = std::env::var_os("PUSHGATEWAY_BIN_1_11") {
        return PathBuf::from(bin);
    }
    let bin = pushgateway_bin();
    let version = Command::new(&bin)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&[o.stdout, o.stderr].concat()).into_owned())
        .unwrap_or_default();
    let minor = version
        .split_whitespace()
        .skip_while(|w| *w != "version")
        .nth(1)
        .and_then(|v| v.strip_prefix("1."))
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse::<u32>().ok());
    match minor {
        Some(m) if m >= 11 => bin,
        _ => panic!(
            "these tests need Pushgateway 1.11 or later ({} is {}): run scripts/test.sh, \
             which fetches Debian's 1.11 package, or set PUSHGATEWAY_BIN_1_11",
            bin.display(),
            version.lines().next().unwrap_or("of unknown version")
        ),
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A loopback port that refuses connections: nothing listens there, and
/// nothing the tests start will. It lies below the kernel's ephemeral
/// range, where every port the tests bind comes from ([`free_port`], a
/// gateway's, a proxy's, a mock's): a port from [`free_port`] could be
/// taken by what another test starts meanwhile, which then answers (seen
/// once in ten runs: "truncated" where "connection refused" was expected).
pub fn refused_port() -> u16 {
    let ephemeral = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    assert!(ephemeral > 11_000, "an ephemeral range from {ephemeral}");
    // Spread over the range so that parallel tests rarely probe the same one.
    let offset = (std::process::id() as u16).wrapping_mul(7919) % (ephemeral - 11_000);
    (0..ephemeral - 11_000)
        .map(|i| 10_000 + (offset + i) % (ephemeral - 11_000))
        .find(|port| TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .expect("a free port below the ephemeral range")
}

/// Moves the times the state file at `path` holds under any of `fields`
/// back `by`, wherever its schema keeps them: a number, or each `[time,
/// …]` of a list of them (a rhythm's pushes). What passes for the janitor
/// without anyone waiting.
pub fn shift_state_times(path: &Path, by: Duration, fields: &[&str]) {
    fn shift(v: &mut serde_json::Value, by: f64) {
        match v {
            serde_json::Value::Number(_) => *v = (v.as_f64().unwrap() - by).into(),
            serde_json::Value::Array(items) => {
                for item in items {
                    let t = item[0].as_f64().unwrap();
                    item[0] = (t - by).into();
                }
            }
            _ => {}
        }
    }
    fn walk(v: &mut serde_json::Value, by: f64, fields: &[&str]) {
        match v {
            serde_json::Value::Object(map) => {
                for (name, value) in map.iter_mut() {
                    match fields.contains(&name.as_str()) {
                        true => shift(value, by),
                        false => walk(value, by, fields),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| walk(v, by, fields)),
            _ => {}
        }
    }
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    walk(&mut state, by.as_secs_f64(), fields);
    std::fs::write(path, serde_json::to_string_pretty(&state).unwrap()).unwrap();
}

/// Every grace mark of the state file at `path` moved `by` back: the grace
/// period passes without waiting, and the groups' own times stay as they
/// are.
pub fn age_marks(path: &Path, by: Duration) {
    shift_state_times(path, by, &["stale_since"]);
}

/// How to start a real Pushgateway: every test gateway starts here.
pub struct Launch {
    pub bin: PathBuf,
    /// The loopback address to listen on.
    pub ip: std::net::IpAddr,
    /// `None`: a free port (retried if taken in between).
    pub port: Option<u16>,
    pub extra: Vec<String>,
    /// An exporter-toolkit web config (`--web.config.file`).
    pub web_config: Option<String>,
    /// `https` when the web config has TLS.
    pub scheme: &'static str,
    /// The host name in `url` (a certificate's name, resolved to `ip` by
    /// the harness client); `None`: the IP.
    pub host: Option<String>,
    /// The harness client (`push`, `groups`), with what the gateway asks for.
    pub client: reqwest::blocking::ClientBuilder,
}

impl Default for Launch {
    fn default() -> Launch {
        Launch {
            bin: pushgateway_bin(),
            ip: [127, 0, 0, 1].into(),
            port: None,
            extra: Vec::new(),
            web_config: None,
            scheme: "http",
            host: None,
            client: reqwest::blocking::Client::builder(),
        }
    }
}

impl Launch {
    pub fn start(self) -> Pushgateway {
        self.start_in(tempfile::tempdir().unwrap())
    }

    /// Starts it on the persistence file in `data`.
    pub fn start_in(self, data: tempfile::TempDir) -> Pushgateway {
        let mut client = self.client.timeout(Duration::from_secs(10));
        if let Some(name) = &self.host {
            // The URL's port is used; the address's is ignored.
            client = client.resolve(name, std::net::SocketAddr::new(self.ip, 0));
        }
        let host = self.host.clone().unwrap_or_else(|| self.ip.to_string());
        let mut pg = Pushgateway {
            child: None,
            port: 0,
            url: String::new(),
            _dir: data,
            client: client.build().unwrap(),
            spec: Spec {
                bin: self.bin,
                ip: self.ip,
                extra: self.extra,
                web_config: self.web_config,
                origin: format!("{}://{host}", self.scheme),
            },
        };
        // A free port can be taken between the probe and the bind: retry.
        let tries = if self.port.is_some() { 1 } else { 5 };
        for _ in 0..tries {
            if pg.run_on(self.port.unwrap_or_else(free_port)) {
                return pg;
            }
        }
        panic!("the Pushgateway did not become ready on {}", pg.spec.ip);
    }
}

/// What a gateway was started with, to start it again.
struct Spec {
    bin: PathBuf,
    ip: std::net::IpAddr,
    extra: Vec<String>,
    web_config: Option<String>,
    /// `scheme://host` of its URL.
    origin: String,
}

impl Spec {
    /// Its `--web.route-prefix`, without a trailing slash ("" for none).
    fn prefix(&self) -> &str {
        self.extra
            .iter()
            .find_map(|a| a.strip_prefix("--web.route-prefix="))
            .unwrap_or("")
            .trim_end_matches('/')
    }
}

/// A real Pushgateway, killed on drop.
pub struct Pushgateway {
    child: Option<Child>,
    pub port: u16,
    pub url: String,
    _dir: tempfile::TempDir,
    client: reqwest::blocking::Client,
    spec: Spec,
}

impl Pushgateway {
    pub fn start() -> Pushgateway {
        Self::start_with(&[])
    }

    /// Starts one with extra flags (e.g. `--web.route-prefix=/pgw`); the URL
    /// is the root, callers append a prefix themselves.
    pub fn start_with(extra: &[&str]) -> Pushgateway {
        Self::start_bin(&pushgateway_bin(), extra)
    }

    /// Starts `bin` with extra flags and a persistence file of its own.
    pub fn start_bin(bin: &std::path::Path, extra: &[&str]) -> Pushgateway {
        Self::start_in(bin, extra, tempfile::tempdir().unwrap())
    }

    /// Stops this gateway the way an operator does (SIGTERM: it writes its
    /// persistence file) and starts `bin` with `extra` on (a copy of) that
    /// file, on a new port: the data outlives the flags.
    pub fn restart(mut self, bin: &std::path::Path, extra: &[&str]) -> Pushgateway {
        self.stop();
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(self._dir.path().join("pg.db"), dir.path().join("pg.db"))
            .expect("the Pushgateway wrote no persistence file on SIGTERM");
        Self::start_in(bin, extra, dir)
    }

    /// Makes every group the gateway holds `by` older, without waiting:
    /// reads each group's push and failure times, stops the gateway
    /// (SIGTERM: it writes its persistence file), moves those times back by
    /// `by` in the file (each is a float64 the file holds as it was
    /// served), and starts it again on the same port and file. Groups
    /// pushed afterwards are fresh. The janitor's clock is not touched.
    pub fn age(&mut self, by: Duration) {
        self.rewrite_times(|t| t - by.as_secs_f64());
    }

    /// Replaces every push and failure time `t` the gateway holds with
    /// `to(t)` in its persistence file and restarts it on the same port:
    /// what a gateway serves after loading such a file (a corrupted one, a
    /// clock gone wild), without a mock.
    pub fn rewrite_times(&mut self, to: impl Fn(f64) -> f64) {
        let times = self.push_times();
        assert!(!times.is_empty(), "nothing to rewrite");
        self.stop();
        let file = self._dir.path().join("pg.db");
        let mut bytes = std::fs::read(&file).expect("no persistence file after SIGTERM");
        for t in times {
            let (from, to) = (t.to_le_bytes(), to(t).to_le_bytes());
            let mut found = 0;
            let mut i = 0;
            while i + 8 <= bytes.len() {
                if bytes[i..i + 8] == from {
                    bytes[i..i + 8].copy_from_slice(&to);
                    found += 1;
                    i += 8;
                } else {
                    i += 1;
                }
            }
            assert!(found > 0, "push time {t} is not in the persistence file");
        }
        std::fs::write(&file, bytes).unwrap();
        let port = self.port;
        assert!(
            self.run_on(port),
            "the rewritten Pushgateway did not come back on {port}"
        );
    }

    /// Every non-zero push and failure time, as served, sorted.
    pub fn push_times(&self) -> Vec<f64> {
        let doc: serde_json::Value = self
            .client
            .get(format!("{}{}/api/v1/metrics", self.url, self.spec.prefix()))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let mut times: Vec<f64> = doc["data"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| {
                ["push_time_seconds", "push_failure_time_seconds"]
                    .map(|name| g[name]["metrics"][0]["value"].as_str().map(str::to_owned))
            })
            .flatten()
            .map(|v| v.parse::<f64>().unwrap())
            .filter(|t| *t != 0.0)
            .collect();
        times.sort_by(f64::total_cmp);
        times.dedup();
        times
    }

    /// SIGTERM, and waits until it has exited (and written its file).
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        signal(child.id(), "TERM");
        let deadline = Instant::now() + Duration::from_secs(15);
        while child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the Pushgateway did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the gateway on `port` and its persistence file; false when it
    /// did not become ready (the port was taken).
    fn run_on(&mut self, port: u16) -> bool {
        let spec = &self.spec;
        let dir = self._dir.path();
        let mut cmd = Command::new(&spec.bin);
        cmd.arg(format!(
            "--web.listen-address={}",
            std::net::SocketAddr::new(spec.ip, port)
        ))
        .arg(format!(
            "--persistence.file={}",
            dir.join("pg.db").display()
        ))
        .arg("--log.level=warn")
        .args(&spec.extra);
        if let Some(config) = &spec.web_config {
            let path = dir.join("web.yml");
            std::fs::write(&path, config).unwrap();
            cmd.arg(format!("--web.config.file={}", path.display()));
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", spec.bin.display()));
        let url = format!("{}:{port}", spec.origin);
        let ready = format!("{url}{}/-/ready", spec.prefix());
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            if self
                .client
                .get(&ready)
                .send()
                .map(|r| r.status().is_success())
                .unwrap_or(false)
            {
                self.child = Some(child);
                self.port = port;
                self.url = url;
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    fn start_in(bin: &std::path::Path, extra: &[&str], data: tempfile::TempDir) -> Pushgateway {
        Launch {
            bin: bin.to_owned(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
            ..Launch::default()
        }
        .start_in(data)
    }

    /// `PUT`s `body` (text exposition format) to the group `key`, every
    /// value base64url-encoded, and returns the HTTP status.
    pub fn push(&self, key: &[(&str, &str)], body: &str) -> u16 {
        self.push_path(&path_for(key), body)
    }

    /// `PUT`s `body` to `/metrics/{path}` as written (for names a test
    /// spells by hand, `U__...`). A push whose connection the gateway drops
    /// (1.11.0 does that instead of answering 400) counts as a rejection:
    /// 400.
    pub fn push_path(&self, path: &str, body: &str) -> u16 {
        match self
            .client
            .put(format!("{}/metrics/{path}", self.url))
            .body(body.to_owned())
            .send()
        {
            Ok(response) => response.status().as_u16(),
            Err(e) if e.is_connect() || e.is_timeout() => panic!("push to {path}: {e}"),
            Err(_) => 400,
        }
    }

    /// `PUT`s `body`, length-delimited protobuf `MetricFamily` messages, to
    /// `/metrics/{path}` as written and asserts the push was accepted.
    pub fn push_protobuf_ok(&self, path: &str, body: Vec<u8>) {
        let response = self
            .client
            .put(format!("{}/metrics/{path}", self.url))
            .header(
                "Content-Type",
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
            )
            .body(body)
            .send()
            .unwrap();
        let status = response.status().as_u16();
        assert_eq!(status, 200, "push {path}: {}", response.text().unwrap());
    }

    /// `POST`s `body` to the group `key` (the gateway replaces only the
    /// families the body holds) and returns the HTTP status.
    pub fn post(&self, key: &[(&str, &str)], body: &str) -> u16 {
        self.client
            .post(format!("{}/metrics/{}", self.url, path_for(key)))
            .body(body.to_owned())
            .send()
            .unwrap_or_else(|e| panic!("POST to {key:?}: {e}"))
            .status()
            .as_u16()
    }

    /// The gateway's `/api/v1/metrics` document, as it sends it.
    pub fn api_document(&self) -> Vec<u8> {
        self.client
            .get(format!("{}/api/v1/metrics", self.url))
            .send()
            .unwrap()
            .bytes()
            .unwrap()
            .to_vec()
    }

    /// Pushes one gauge `name` and asserts the push was accepted.
    pub fn push_ok(&self, key: &[(&str, &str)], name: &str) {
        let status = self.push(key, &format!("{name} 1\n"));
        assert_eq!(status, 200, "push to {key:?} failed");
    }

    /// The grouping keys the gateway holds now, as label maps.
    pub fn groups(&self) -> Vec<BTreeMap<String, String>> {
        let body = self
            .client
            .get(format!("{}/api/v1/metrics", self.url))
            .send()
            .unwrap()
            .bytes()
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
        doc["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                g["labels"]
                    .as_object()
                    .map(|o| {
                        o.iter()
                            .map(|(k, v)| {
                                (k.clone(), v.as_str().unwrap_or("<not a string>").to_owned())
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Polls (bounded) until the gateway holds exactly `expected` groups:
    /// deletes are queued, so a GET right after may still show them.
    pub fn wait_for_groups(&self, expected: &[&[(&str, &str)]]) {
        let mut want: Vec<BTreeMap<String, String>> = expected.iter().map(|k| labels(k)).collect();
        want.sort();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let mut have = self.groups();
            have.sort();
            if have == want {
                return;
            }
            if Instant::now() > deadline {
                panic!("groups left:\n  {have:?}\nexpected:\n  {want:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Pushgateway {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn labels(key: &[(&str, &str)]) -> BTreeMap<String, String> {
    key.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The push path: every value base64url, `=` for empty.
pub fn path_for(key: &[(&str, &str)]) -> String {
    key.iter()
        .map(|(k, v)| {
            let enc = if v.is_empty() {
                "=".to_owned()
            } else {
                URL_SAFE_NO_PAD.encode(v)
            };
            format!("{k}@base64/{enc}")
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Flags that make every group stale at once, without waiting: the local
/// clock (sub-second steps, unlike the `Date` header) and a 1 ms threshold.
/// Tests pick the groups to delete with `--select` or caps instead.
pub const EVERY_GROUP_STALE: [&str; 4] = ["--clock", "local", "--threshold", "1ms"];

/// `--threshold 1h --grace 1h --state-file STATE`: a group an hour stale
/// is marked pending in `state` and deleted once it has stayed so for an
/// hour more.
pub fn grace_flags(state: &std::path::Path) -> [&str; 6] {
    [
        "--threshold",
        "1h",
        "--grace",
        "1h",
        "--state-file",
        state.to_str().unwrap(),
    ]
}

/// Runs the built janitor with `args`, isolated from the caller's env.
/// Runs the janitor with `args` (which ask for a JSON report) and every
/// group stale ([`EVERY_GROUP_STALE`]); the run must exit 0. Its output
/// and its report.
pub fn clean_every_stale(mut args: Vec<&str>) -> (Output, Report) {
    args.extend(EVERY_GROUP_STALE);
    let out = janitor(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = report(&out);
    (out, report)
}

pub fn janitor(args: &[&str]) -> Output {
    janitor_cmd(args).output().unwrap()
}

/// The janitor as a command, isolated from the caller's environment. Every
/// way the harness runs it ([`JanitorCmd::output`], [`JanitorCmd::spawn`],
/// [`drain`], a [`Reaper`] dropped undrained) fails the test when its stderr
/// shows a panic ([`assert_no_panic`]): a panic in a task nobody joined
/// leaves the exit status alone in a debug build, and is an abort (exit
/// 134) in the release build (`panic = "abort"`).
pub fn janitor_cmd(args: &[&str]) -> JanitorCmd {
    // An empty home of its own (under target/): nothing the developer's
    // dotfiles hold can change a run.
    let home = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("empty-home");
    std::fs::create_dir_all(&home).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pushgateway-janitor"));
    cmd.args(args)
        .env("HOME", &home)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .env_remove("PUSHGATEWAY_URL")
        .env_remove("PUSHGATEWAY_JANITOR_LOG")
        .env_remove("PUSHGATEWAY_PASSWORD")
        .env_remove("PUSHGATEWAY_TOKEN")
        .env_remove("PUSHGATEWAY_JANITOR_NOTIFY_URL")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    JanitorCmd(cmd)
}

/// A [`Command`] running the janitor whose output is checked for panics;
/// the builder methods tests use, each as [`Command`]'s.
pub struct JanitorCmd(Command);

impl JanitorCmd {
    pub fn arg(&mut self, arg: impl AsRef<std::ffi::OsStr>) -> &mut Self {
        self.0.arg(arg);
        self
    }

    pub fn env(
        &mut self,
        key: impl AsRef<std::ffi::OsStr>,
        value: impl AsRef<std::ffi::OsStr>,
    ) -> &mut Self {
        self.0.env(key, value);
        self
    }

    pub fn envs<K, V>(&mut self, vars: impl IntoIterator<Item = (K, V)>) -> &mut Self
    where
        K: AsRef<std::ffi::OsStr>,
        V: AsRef<std::ffi::OsStr>,
    {
        self.0.envs(vars);
        self
    }

    pub fn env_remove(&mut self, key: impl AsRef<std::ffi::OsStr>) -> &mut Self {
        self.0.env_remove(key);
        self
    }

    pub fn current_dir(&mut self, dir: impl AsRef<std::path::Path>) -> &mut Self {
        self.0.current_dir(dir);
        self
    }

    pub fn stdout(&mut self, to: impl Into<Stdio>) -> &mut Self {
        self.0.stdout(to);
        self
    }

    pub fn stderr(&mut self, to: impl Into<Stdio>) -> &mut Self {
        self.0.stderr(to);
        self
    }

    /// Runs it to the end; fails the test if it panicked.
    pub fn output(&mut self) -> std::io::Result<Output> {
        let out = self.0.output()?;
        assert_no_panic(&String::from_utf8_lossy(&out.stderr));
        Ok(out)
    }

    /// Starts it; its piped stderr is checked for panics when it is
    /// [`drain`]ed, or when the [`Reaper`] is dropped.
    pub fn spawn(&mut self) -> std::io::Result<Reaper> {
        self.0.spawn().map(Reaper)
    }
}

/// Fails the test when a janitor's `stderr` shows a panic: whatever else
/// the test asserts, a panic is a defect (and an abort in release).
pub fn assert_no_panic(stderr: &str) {
    assert!(
        !stderr.contains("panicked at"),
        "the janitor panicked (an abort, exit 134, in the release build):\n{stderr}"
    );
}

/// `out`, once [`assert_no_panic`] has checked its stderr: for the shell
/// scripts and recipes that run the janitor themselves.
pub fn checked(out: Output) -> Output {
    assert_no_panic(&String::from_utf8_lossy(&out.stderr));
    out
}

/// Kills the janitor when a test fails before reaping it, so no `--every`
/// process outlives its test; a piped stderr nobody [`drain`]ed is read
/// and checked for panics.
pub struct Reaper(pub Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
        if let Some(mut pipe) = self.0.stderr.take() {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut pipe, &mut text);
            // Not while the test is failing already: that would abort.
            if !std::thread::panicking() {
                assert_no_panic(&text);
            }
        }
    }
}

impl std::ops::Deref for Reaper {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Reaper {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

/// Starts the janitor in the background, stderr piped for [`drain`].
pub fn spawn_janitor(args: &[&str], stdout: Stdio) -> Reaper {
    janitor_cmd(args)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// What an exited child wrote to its piped stdout and stderr ("" for a
/// stream that is not piped); a stderr that shows a panic fails the test.
pub fn drain(child: &mut Child) -> (String, String) {
    let read = |pipe: Option<&mut dyn std::io::Read>| {
        let mut text = String::new();
        if let Some(p) = pipe {
            p.read_to_string(&mut text)
                .expect("the janitor's output is readable UTF-8");
        }
        text
    };
    let out = read(child.stdout.as_mut().map(|p| p as &mut dyn std::io::Read));
    let err = read(
        child
            .stderr
            .take()
            .as_mut()
            .map(|p| p as &mut dyn std::io::Read),
    );
    assert_no_panic(&err);
    (out, err)
}

/// Waits for `child` at most `limit`; kills it and fails when it overstays.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the janitor did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends signal `name` (`TERM`, `INT`, `HUP`) to process `pid`.
pub fn signal(pid: u32, name: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "kill -{name} {pid} failed");
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The `pushgateway-janitor: error: ...` lines of a stderr text (the WARN
/// and other log lines around them left out).
pub fn error_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("pushgateway-janitor: error: "))
        .collect()
}

/// Parses `--output json` stdout into the typed report, rejecting unknown
/// fields, so the schema cannot drift unnoticed.
pub fn report(o: &Output) -> Report {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not a report ({e}):\n{}\nstderr:\n{}",
            stdout(o),
            stderr(o)
        )
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub schema: String,
    pub dry_run: bool,
    pub started_at: String,
    pub finished_at: String,
    pub threshold_seconds: Option<f64>,
    pub gateways: Vec<GatewayReport>,
    pub summary: Summary,
    pub unmatched_selectors: Vec<UnmatchedSelector>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnmatchedSelector {
    pub flag: String,
    pub selector: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayReport {
    pub url: String,
    pub discovered_from: Option<String>,
    pub address: Option<String>,
    pub now: String,
    pub clock: String,
    pub clock_skew_seconds: Option<f64>,
    pub error: Option<String>,
    pub refused: Option<String>,
    pub version: Option<String>,
    pub utf8_names: Option<bool>,
    pub label_names: Option<String>,
    pub groups: Vec<GroupReport>,
    pub summary: Summary,
    pub interrupted: bool,
    pub size: Option<GatewaySize>,
    pub size_after: Option<GatewaySize>,
    pub planned_size_after: Option<GatewaySize>,
    pub groups_failing: u64,
    pub over_capacity: bool,
    pub groups_late: u64,
    pub groups_returned: u64,
}

#[derive(Debug, Deserialize, PartialEq, Eq, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct GatewaySize {
    pub groups: u64,
    pub series: u64,
    pub bytes: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupReport {
    pub labels: BTreeMap<String, String>,
    pub last_push: Option<String>,
    pub last_failure: Option<String>,
    pub last_activity: Option<String>,
    pub age_seconds: Option<f64>,
    pub threshold_seconds: Option<f64>,
    pub last_push_successful: Option<bool>,
    pub action: String,
    pub reason: String,
    pub error: Option<String>,
    pub threshold_source: String,
    pub ttl_ignored: Option<String>,
    pub stale_since: Option<String>,
    pub deletable_at: Option<String>,
    pub archive: Option<String>,
    pub series: u64,
    pub bytes: u64,
    pub last_push_failed: bool,
    pub cadence_seconds: Option<f64>,
    pub cadence_upper_bound: bool,
    pub pushes_needed: Option<u32>,
    pub irregular: bool,
    pub late: bool,
    pub returned: Option<Returned>,
}

/// A group deleted as stale that was pushed again (docs/rhythms.md).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Returned {
    pub deleted_at: String,
    pub pushed_again: String,
    pub after_seconds: f64,
    pub gap_seconds: f64,
    pub threshold_that_keeps_seconds: f64,
}

#[derive(Debug, Deserialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub groups: u64,
    pub stale: u64,
    pub deleted: u64,
    pub would_delete: u64,
    pub delete_failed: u64,
    pub kept: u64,
    pub active: u64,
    pub skipped: u64,
    pub ignored: u64,
    pub refused: u64,
    pub repushed: u64,
    pub still_present: u64,
    pub unconfirmed: u64,
    pub evicted: u64,
    pub would_evict: u64,
    pub pending: u64,
}

impl Report {
    /// The action taken on the group with exactly these labels.
    pub fn action_of(&self, key: &[(&str, &str)]) -> Option<&str> {
        self.group(key).map(|g| g.action.as_str())
    }

    /// The group with exactly these labels.
    pub fn group(&self, key: &[(&str, &str)]) -> Option<&GroupReport> {
        let want = labels(key);
        self.gateways
            .iter()
            .flat_map(|g| &g.groups)
            .find(|g| g.labels == want)
    }
}
