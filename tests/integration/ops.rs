//! Operations: the `--textfile` self-metrics against a real Pushgateway
//! (checked by promtool and by a parser of our own), loop mode (`--every`)
//! with SIGTERM/SIGINT, and `--generate`.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// `name{labels}` -> value, from a textfile, checked the way the textfile
/// collector would: every sample after its own `# TYPE`, no timestamps,
/// counters named `_total` and gauges not.
fn parse_textfile(text: &str) -> BTreeMap<String, f64> {
    let mut samples = BTreeMap::new();
    let mut family: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(name.starts_with("pushgateway_janitor_"), "{line}");
            match kind {
                "counter" => assert!(name.ends_with("_total"), "{line}"),
                "gauge" => assert!(!name.ends_with("_total"), "{line}"),
                other => panic!("unexpected type {other}"),
            }
            family = Some((name.to_owned(), kind.to_owned()));
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("series value");
        let name = series.split('{').next().unwrap();
        let (fam, _) = family.as_ref().expect("a sample before any TYPE");
        assert_eq!(name, fam, "sample outside its family: {line}");
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("value: {line}"));
        assert!(value.is_finite(), "{line}");
        assert!(
            samples.insert(series.to_owned(), value).is_none(),
            "duplicate series {series}"
        );
    }
    samples
}

fn get(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("no {series} in {samples:#?}"))
}

/// `promtool check metrics` on the file; promtool (Debian's `prometheus`
/// package) is required.
fn promtool_check(path: &Path) {
    let promtool = std::env::var_os("PROMTOOL").unwrap_or_else(|| "promtool".into());
    let out = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(path).unwrap())
        .output();
    match out {
        Ok(out) => assert!(
            out.status.success(),
            "promtool check metrics failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        // Missing is a failure, never a note: scripts/test.sh installs it.
        Err(e) => {
            panic!("promtool cannot run ({e}): apt-get install prometheus (scripts/test.sh does)")
        }
    }
}

#[test]
fn textfile_from_real_runs_passes_promtool_and_keeps_the_last_success() {
    let mut pg = Pushgateway::start();
    pg.push_ok(&[("job", "old"), ("instance", "a")], "x");
    // Half an hour old, without waiting; the fresh group is seconds old.
    pg.age(Duration::from_secs(1800));
    pg.push_ok(&[("job", "fresh")], "x");

    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("pushgateway_janitor.prom");
    let prom_arg = prom.to_str().unwrap();
    let out = janitor(&[
        "--url",
        &pg.url,
        "--threshold",
        "10m",
        "--textfile",
        prom_arg,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    pg.wait_for_groups(&[&[("job", "fresh")]]);

    let text = std::fs::read_to_string(&prom).unwrap();
    promtool_check(&prom);
    let s = parse_textfile(&text);
    let gw = format!("gateway=\"{}\"", pg.url);
    assert_eq!(get(&s, "pushgateway_janitor_last_run_success"), 1.0);
    assert_eq!(get(&s, "pushgateway_janitor_last_run_exit_code"), 0.0);
    let success = get(&s, "pushgateway_janitor_last_success_timestamp_seconds");
    assert_eq!(
        success,
        get(&s, "pushgateway_janitor_last_run_timestamp_seconds")
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - success).abs() < 60.0, "{success} vs {now}");
    let duration = get(&s, "pushgateway_janitor_last_run_duration_seconds");
    assert!((0.0..30.0).contains(&duration), "{duration}");
    assert_eq!(
        get(&s, &format!("pushgateway_janitor_gateway_up{{{gw}}}")),
        1.0
    );
    assert_eq!(
        get(&s, &format!("pushgateway_janitor_groups_scanned{{{gw}}}")),
        2.0
    );
    for (action, n) in [
        ("deleted", 1.0),
        ("active", 1.0),
        ("kept", 0.0),
        ("delete_failed", 0.0),
    ] {
        let series = format!("pushgateway_janitor_groups{{{gw},action=\"{action}\"}}");
        assert_eq!(get(&s, &series), n, "{series}");
    }
    assert_eq!(
        get(&s, "pushgateway_janitor_runs_total{result=\"success\"}"),
        1.0
    );
    assert_eq!(
        get(
            &s,
            &format!("pushgateway_janitor_deleted_groups_total{{{gw}}}")
        ),
        1.0
    );
    // The temporary file was renamed away; only the lock file is beside
    // it (node_exporter reads only *.prom).
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![".pushgateway_janitor.prom.lock", "pushgateway_janitor.prom"]
    );

    // A run that cannot scan: last run failed, last success carried over,
    // counters carried over and counted.
    let dead = "http://127.0.0.1:9";
    let out = janitor(&["--url", dead, "--textfile", prom_arg]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    promtool_check(&prom);
    let s = parse_textfile(&std::fs::read_to_string(&prom).unwrap());
    assert_eq!(get(&s, "pushgateway_janitor_last_run_success"), 0.0);
    assert_eq!(get(&s, "pushgateway_janitor_last_run_exit_code"), 1.0);
    assert_eq!(
        get(&s, "pushgateway_janitor_last_success_timestamp_seconds"),
        success
    );
    assert!(get(&s, "pushgateway_janitor_last_run_timestamp_seconds") >= success);
    assert_eq!(
        get(
            &s,
            &format!("pushgateway_janitor_gateway_up{{gateway=\"{dead}\"}}")
        ),
        0.0
    );
    assert_eq!(
        get(&s, "pushgateway_janitor_runs_total{result=\"success\"}"),
        1.0
    );
    assert_eq!(
        get(&s, "pushgateway_janitor_runs_total{result=\"failure\"}"),
        1.0
    );
    assert_eq!(
        get(
            &s,
            &format!("pushgateway_janitor_deleted_groups_total{{{gw}}}")
        ),
        1.0,
        "a gateway's counter survives runs that did not visit it"
    );
}

#[test]
fn a_textfile_in_a_missing_directory_is_a_usage_error_before_the_run() {
    // Checked before anything is sent (it was exit 1 after the DELETEs).
    let pg = Pushgateway::start();
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("missing-dir").join("j.prom");
    let out = janitor(&["--url", &pg.url, "--textfile", prom.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(
        err,
        format!(
            "pushgateway-janitor: error: --textfile {}: the directory {} does not exist\n",
            prom.display(),
            dir.path().join("missing-dir").display()
        )
    );
}

/// A runtime for a mock gateway, served by its worker while the test blocks.
fn mock_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// Starts the janitor in the background with `args` and `--textfile` in a
/// directory of its own: the directory (the textfile goes with it), the
/// textfile's path and the process.
fn spawn_with_textfile(args: &[&str], stdout: Stdio) -> (tempfile::TempDir, PathBuf, Reaper) {
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("j.prom");
    let mut args = args.to_vec();
    args.extend(["--textfile", prom.to_str().unwrap()]);
    let child = spawn_janitor(&args, stdout);
    (dir, prom, child)
}

/// Polls the textfile until `series` reaches `at_least`, within `limit`.
fn wait_for_runs(prom: &Path, series: &str, at_least: f64, limit: Duration, child: &mut Child) {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(text) = std::fs::read_to_string(prom) {
            if parse_textfile(&text).get(series).copied().unwrap_or(0.0) >= at_least {
                return;
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the janitor exited early: {status}");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{series} did not reach {at_least} within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn every_runs_passes_until_sigterm_then_exits_0() {
    let pg = Pushgateway::start();
    pg.push_ok(&[("job", "keep-me")], "x");
    let (_dir, prom, mut child) = spawn_with_textfile(
        &["--url", &pg.url, "--every", "1s", "--threshold", "1h", "-v"],
        Stdio::piped(),
    );
    let success = "pushgateway_janitor_runs_total{result=\"success\"}";
    wait_for_runs(&prom, success, 2.0, Duration::from_secs(20), &mut child);
    let started = Instant::now();
    signal(child.id(), "TERM");
    let status = wait_bounded(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let (out, err) = drain(&mut child);
    assert!(err.contains("SIGTERM"), "{err}");
    assert!(!err.contains("pushgateway-janitor: error"), "{err}");
    // One human summary per pass on stdout.
    let summaries = out
        .lines()
        // Each starts with the pass's end time: passes share one log.
        .filter(|l| l.starts_with("20") && l.contains(&format!("Z {}: 1 group,", pg.url)))
        .count();
    assert!(summaries >= 2, "{out}");
    let s = parse_textfile(&std::fs::read_to_string(&prom).unwrap());
    assert_eq!(
        get(&s, "pushgateway_janitor_runs_total{result=\"failure\"}"),
        0.0
    );
    pg.wait_for_groups(&[&[("job", "keep-me")]]);
}

#[test]
fn every_counts_failed_passes_without_exiting_and_stops_on_sigint() {
    let (_dir, prom, mut child) = spawn_with_textfile(
        &[
            "--url",
            "http://127.0.0.1:9",
            "--every",
            "1s",
            "--timeout",
            "2s",
        ],
        Stdio::null(),
    );
    let failure = "pushgateway_janitor_runs_total{result=\"failure\"}";
    wait_for_runs(&prom, failure, 2.0, Duration::from_secs(20), &mut child);
    signal(child.id(), "INT");
    let status = wait_bounded(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{status}");
    let (_, err) = drain(&mut child);
    assert!(err.contains("pass failed"), "{err}");
    let s = parse_textfile(&std::fs::read_to_string(&prom).unwrap());
    assert_eq!(get(&s, "pushgateway_janitor_last_run_success"), 0.0);
    assert_eq!(
        get(&s, "pushgateway_janitor_last_success_timestamp_seconds"),
        0.0
    );
}

/// A wiremock replaying a real Pushgateway's document of five groups of
/// job `batch`, whose DELETEs each take `delete_takes`, and the janitor in
/// loop mode against it (one DELETE at a time, every group stale) with a
/// textfile, once its first DELETE has arrived. Also the five keys and how
/// many DELETEs have arrived so far.
struct SlowDeletes {
    rt: tokio::runtime::Runtime,
    server: wiremock::MockServer,
    keys: Vec<Vec<(&'static str, String)>>,
    child: Reaper,
    prom: PathBuf,
    _dir: tempfile::TempDir,
}

impl SlowDeletes {
    fn start(delete_takes: Duration) -> SlowDeletes {
        let keys: Vec<Vec<(&str, String)>> = (0..5)
            .map(|i| vec![("job", "batch".to_owned()), ("instance", format!("h{i}"))])
            .collect();
        let document = {
            let pg = Pushgateway::start();
            for key in &keys {
                let key: Vec<(&str, &str)> = key.iter().map(|(k, v)| (*k, v.as_str())).collect();
                pg.push_ok(&key, "x");
            }
            reqwest::blocking::get(format!("{}/api/v1/metrics", pg.url))
                .unwrap()
                .text()
                .unwrap()
        };
        let rt = mock_runtime();
        use wiremock::matchers::method;
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = rt.block_on(async {
            let server = MockServer::start().await;
            let scan = ResponseTemplate::new(200).set_body_raw(document, "application/json");
            common::mock::answer_scans(&server, scan, common::mock::Times::Any).await;
            Mock::given(method("DELETE"))
                .respond_with(ResponseTemplate::new(202).set_delay(delete_takes))
                .mount(&server)
                .await;
            server
        });
        let (_dir, prom, child) = spawn_with_textfile(
            &[
                "--url",
                &server.uri(),
                "--every",
                "1h",
                // Every group of the replayed document is stale at once.
                "--clock",
                "local",
                "--threshold",
                "1ms",
                "--concurrency",
                "1",
            ],
            Stdio::null(),
        );
        let mut slow = SlowDeletes {
            rt,
            server,
            keys,
            child,
            prom,
            _dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while slow.deletes() == 0 {
            if Instant::now() > deadline || slow.child.try_wait().unwrap().is_some() {
                let _ = slow.child.kill();
                panic!("no DELETE arrived: {}", {
                    let _ = slow.child.wait();
                    drain(&mut slow.child).1
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        slow
    }

    fn deletes(&self) -> usize {
        self.rt
            .block_on(self.server.received_requests())
            .unwrap_or_default()
            .iter()
            .filter(|r| r.method.as_str() == "DELETE")
            .count()
    }
}

/// SIGTERM while a batch of DELETEs is in flight: every DELETE of the pass
/// is still sent, then the process exits 0. The gateway is a wiremock
/// replaying a real Pushgateway's document, with slow DELETEs.
#[test]
fn sigterm_mid_pass_finishes_the_batch() {
    let mut slow = SlowDeletes::start(Duration::from_millis(300));
    signal(slow.child.id(), "TERM");
    let status = wait_bounded(&mut slow.child, Duration::from_secs(15));
    assert_eq!(status.code(), Some(0), "{status}");
    assert_eq!(slow.deletes(), 5, "the whole batch was sent before exiting");
    let SlowDeletes {
        rt,
        server,
        keys,
        prom,
        ..
    } = &slow;
    // Each to its own group's full path, once.
    let mut paths: Vec<String> = rt
        .block_on(server.received_requests())
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == "DELETE")
        .map(|r| r.url.path().to_owned())
        .collect();
    paths.sort();
    let mut want: Vec<String> = keys
        .iter()
        .map(|key| {
            let key: Vec<(&str, &str)> = key.iter().map(|(k, v)| (*k, v.as_str())).collect();
            format!("/metrics/{}", common::path_for(&key))
        })
        .collect();
    want.sort();
    assert_eq!(paths, want);
    // The pass the signal cut short (in verification) is recorded, and as
    // a success: its deletes were accepted, only not confirmed.
    let s = parse_textfile(&std::fs::read_to_string(prom).unwrap());
    assert_eq!(get(&s, "pushgateway_janitor_last_run_success"), 1.0);
    assert_eq!(
        get(&s, "pushgateway_janitor_runs_total{result=\"success\"}"),
        1.0
    );
    let gw = format!("gateway=\"{}\"", server.uri());
    assert_eq!(
        get(
            &s,
            &format!("pushgateway_janitor_groups{{{gw},action=\"unconfirmed\"}}")
        ),
        5.0
    );
    assert_eq!(
        get(
            &s,
            &format!("pushgateway_janitor_delete_failures_total{{{gw}}}")
        ),
        0.0
    );
}

/// A second SIGTERM while a batch of DELETEs is in flight gives the batch
/// up: the process exits 1 at once, the DELETEs not yet sent are never
/// sent, and nothing of the pass is left running (the pass is awaited,
/// not dropped, since issue 28 item 1: the harness fails a panic at exit).
#[test]
fn a_second_sigterm_mid_batch_gives_up_the_deletes() {
    let mut slow = SlowDeletes::start(Duration::from_secs(30));
    signal(slow.child.id(), "TERM");
    // The first signal lets the batch go on: still waiting.
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        slow.child.try_wait().unwrap().is_none(),
        "exited at the first signal"
    );
    a_second_sigterm_ends_it(&mut slow.child);
    assert_eq!(slow.deletes(), 1, "no DELETE after the second signal");
}

#[test]
fn generate_writes_completions_and_the_man_page_and_is_listed() {
    for (what, needle) in [
        ("completions-bash", "COMPREPLY"),
        ("completions-zsh", "#compdef pushgateway-janitor"),
        ("completions-fish", "complete -c pushgateway-janitor"),
        ("man", ".TH pushgateway-janitor"),
    ] {
        let out = janitor(&["--generate", what]);
        assert_eq!(out.status.code(), Some(0), "{what}: {}", stderr(&out));
        assert!(stdout(&out).contains(needle), "{what}");
        assert!(stdout(&out).contains("threshold"), "{what}");
    }
    // Issue 18 item 7: listed, as ripgrep lists its own (it was hidden).
    let help = stdout(&janitor(&["--help"]));
    assert!(help.contains("--generate <WHAT>"), "listed in --help");
    assert!(help.contains("--textfile") && help.contains("--every"));
    // PUSHGATEWAY_URL in the environment does not get in the way.
    let out = janitor_cmd(&["--generate", "man"])
        .env("PUSHGATEWAY_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(".TH pushgateway-janitor"),
        "{}",
        stdout(&out)
    );
    let out = janitor(&["--generate", "nonsense"]);
    assert_eq!(out.status.code(), Some(2));
}

/// SIGTERM while a scan hangs: nothing is being deleted, so the loop stops
/// at once instead of waiting out --timeout and the retries.
#[test]
fn sigterm_during_a_hung_scan_stops_at_once() {
    let rt = mock_runtime();
    let server = rt.block_on(hung_gateway());
    let (_dir, prom, mut child) = spawn_with_textfile(
        &[
            "--url",
            &server.uri(),
            "--every",
            "1h",
            "--timeout",
            "30s",
            "-v",
        ],
        Stdio::piped(),
    );
    wait_for_a_request(&rt, &server);
    let sent = Instant::now();
    signal(child.id(), "TERM");
    let status = wait_bounded(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "{:?}",
        sent.elapsed()
    );
    let (out, err) = drain(&mut child);
    // An ordinary stop, not a failed run (before: an error line, and a
    // textfile with last_run_success 0 that fired the alerts).
    assert!(err.contains("the pass in flight was interrupted"), "{err}");
    assert!(!err.contains("pushgateway-janitor: error"), "{err}");
    assert!(
        out.contains("interrupted by a signal before its scan finished: nothing sent"),
        "{out}"
    );
    let s = samples(&prom);
    assert_eq!(
        s["pushgateway_janitor_runs_total{result=\"interrupted\"}"],
        1.0
    );
    assert_eq!(s["pushgateway_janitor_runs_total{result=\"failure\"}"], 0.0);
    // No judged run before it: no failure to report.
    assert_eq!(s["pushgateway_janitor_last_run_success"], 1.0);
    assert_eq!(s["pushgateway_janitor_last_success_timestamp_seconds"], 0.0);
    let requests = rt.block_on(server.received_requests()).unwrap_or_default();
    assert!(
        requests.iter().all(|r| r.method.as_str() == "GET"),
        "{:?}",
        requests
            .iter()
            .map(|r| format!("{} {}", r.method, r.url.path()))
            .collect::<Vec<_>>()
    );
}

/// A gateway whose scan answers after a minute: slower than any test.
async fn hung_gateway() -> wiremock::MockServer {
    use wiremock::{MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    let scan = ResponseTemplate::new(200)
        .set_body_raw(r#"{"status":"success","data":[]}"#, "application/json")
        .set_delay(Duration::from_secs(60));
    common::mock::answer_scans(&server, scan, common::mock::Times::Any).await;
    server
}

fn wait_for_a_request(rt: &tokio::runtime::Runtime, server: &wiremock::MockServer) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while rt
        .block_on(server.received_requests())
        .unwrap_or_default()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "no scan arrived");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The textfile's samples by series, `name{labels}` as written.
fn samples(prom: &Path) -> BTreeMap<String, f64> {
    std::fs::read_to_string(prom)
        .unwrap_or_else(|e| panic!("{}: {e}", prom.display()))
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(series, v)| (series.to_owned(), v.parse().unwrap()))
        .collect()
}

/// Issue 17, item 3: SIGTERM while one gateway's scan hangs, after the
/// other's DELETEs were accepted. Before: exit 0 logging "nothing recorded",
/// no report file, no textfile, nothing on stdout, though a DELETE had been
/// answered 202.
#[test]
fn an_interrupted_pass_records_what_the_finished_gateways_did() {
    let rt = mock_runtime();
    let slow = rt.block_on(hung_gateway());
    let mut pg = Pushgateway::start();
    pg.push_ok(&[("job", "gone"), ("instance", "a")], "m");
    pg.push_ok(&[("job", "gone"), ("instance", "b")], "m");
    pg.age(Duration::from_secs(1800));
    pg.push_ok(&[("job", "alive")], "m");
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("j.prom");
    let report_file = dir.path().join("report.json");
    let mut child = spawn_janitor(
        &[
            "--url",
            &pg.url,
            "--url",
            &slow.uri(),
            "--every",
            "1h",
            "--timeout",
            "30s",
            "--textfile",
            prom.to_str().unwrap(),
            "--report-file",
            report_file.to_str().unwrap(),
            "--output",
            "json",
        ],
        Stdio::piped(),
    );
    pg.wait_for_groups(&[&[("job", "alive")]]);
    wait_for_a_request(&rt, &slow);
    signal(child.id(), "TERM");
    let status = wait_bounded(&mut child, Duration::from_secs(15));
    assert_eq!(status.code(), Some(0), "{status}");
    let (out, err) = drain(&mut child);
    assert!(!err.contains("pushgateway-janitor: error"), "{err}");
    let printed: Report = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let written: Report =
        serde_json::from_str(&std::fs::read_to_string(&report_file).unwrap()).unwrap();
    for r in [&printed, &written] {
        assert_eq!(r.gateways.len(), 2);
        let (done, cut) = (&r.gateways[0], &r.gateways[1]);
        assert!(!done.interrupted && done.error.is_none());
        assert_eq!(
            done.summary.deleted + done.summary.unconfirmed,
            2,
            "{done:?}"
        );
        assert!(cut.interrupted, "{cut:?}");
        assert_eq!(cut.error, None);
        assert!(cut.groups.is_empty());
    }
    let s = samples(&prom);
    let gw = format!("{{gateway=\"{}\"}}", pg.url);
    let deleted = s[&format!("pushgateway_janitor_deleted_groups_total{gw}")];
    assert_eq!(
        deleted, printed.gateways[0].summary.deleted as f64,
        "the textfile counts what the report says"
    );
    assert_eq!(
        s["pushgateway_janitor_runs_total{result=\"interrupted\"}"],
        1.0
    );
    assert_eq!(s["pushgateway_janitor_runs_total{result=\"failure\"}"], 0.0);
    assert_eq!(s["pushgateway_janitor_last_run_exit_code"], 0.0);
}

/// Issue 17, item 5: a failed write to stdout is exit 1 with one error
/// line (before: the error line and exit 0); a closed pipe (`| head`) is
/// the reader's choice: quiet, exit 0.
#[test]
fn a_failed_write_to_stdout_is_exit_1_and_a_closed_pipe_is_not() {
    let pg = Pushgateway::start();
    pg.push_ok(&[("job", "x")], "m");
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = janitor_cmd(&["--url", &pg.url, "--dry-run", "--output", "json"])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(
        error_lines(&err),
        ["pushgateway-janitor: error: could not write the report to stdout: No space left on device (os error 28)"],
        "{err}"
    );

    let mut child = janitor_cmd(&["--url", &pg.url, "--dry-run", "--output", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before the report is written.
    drop(child.stdout.take());
    let status = wait_bounded(&mut child, Duration::from_secs(10));
    let (_, err) = drain(&mut child);
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
}

/// Issue 17, item 8: runs at once sharing a textfile each count. Before,
/// each read the file when it started and wrote it when it ended, so
/// overlapping runs lost each other's updates.
#[test]
fn overlapping_runs_sharing_a_textfile_each_count() {
    let pg = Pushgateway::start();
    pg.push_ok(&[("job", "x")], "m");
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("j.prom");
    const RUNS: usize = 8;
    let children: Vec<Reaper> = (0..RUNS)
        .map(|_| {
            spawn_janitor(
                &[
                    "--url",
                    &pg.url,
                    "--dry-run",
                    "--textfile",
                    prom.to_str().unwrap(),
                ],
                Stdio::null(),
            )
        })
        .collect();
    for mut child in children {
        let status = wait_bounded(&mut child, Duration::from_secs(30));
        let (_, err) = drain(&mut child);
        assert_eq!(status.code(), Some(0), "{err}");
    }
    let s = samples(&prom);
    assert_eq!(
        s["pushgateway_janitor_runs_total{result=\"success\"}"],
        RUNS as f64
    );
}

/// Issue 17, item 9: what a run killed mid-write left beside its targets
/// (`.NAME.XXXXXX.tmp`) is removed by the next run; nothing else is.
#[test]
fn a_run_removes_the_temporary_files_a_killed_run_left() {
    let pg = Pushgateway::start();
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("j.prom");
    let report_file = dir.path().join("report.json");
    let leftovers = [".j.prom.a1B2c3.tmp", ".report.json.Zz9yX8.tmp"];
    let others = [
        ".j.prom.tmp",
        ".j.prom.abc.tmp",
        ".other.prom.a1B2c3.tmp",
        "report.json.a1B2c3.tmp",
        "notes.txt",
    ];
    for name in leftovers.iter().chain(&others) {
        std::fs::write(dir.path().join(name), "half").unwrap();
    }
    let out = janitor(&[
        "--url",
        &pg.url,
        "--textfile",
        prom.to_str().unwrap(),
        "--report-file",
        report_file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    let mut want: Vec<String> = others
        .iter()
        .chain(&[
            "j.prom",
            "report.json",
            // The lock files, which are never removed.
            ".j.prom.lock",
            ".report.json.lock",
        ])
        .map(|s| s.to_string())
        .collect();
    want.sort();
    assert_eq!(left, want);
}

/// What bash completes after `words` (the command line so far, the last
/// word being completed), from the script `--generate completions-bash`
/// writes, driven as bash's programmable completion drives it.
fn bash_completes(words: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("pushgateway-janitor.bash");
    let out = janitor(&["--generate", "completions-bash"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::write(&script, &out.stdout).unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let cword = words.len() - 1;
    let prev = if cword > 0 { words[cword - 1] } else { "" };
    let driver = format!(
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={cword}\n_pushgateway__janitor pushgateway-janitor '{}' '{prev}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script.display(),
        quoted.join(" "),
        words[cword],
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &driver])
        .output()
        .expect("bash");
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).lines().map(str::to_owned).collect()
}

/// Issue 24 item 8: bash completes both levels. Before: nothing after
/// `restore` (the script's `cmd` and its `case` label disagreed).
#[test]
fn bash_completes_the_flags_of_a_clean_and_of_restore() {
    let top = bash_completes(&["pushgateway-janitor", "--thr"]);
    assert_eq!(top, ["--threshold"]);
    let top = bash_completes(&["pushgateway-janitor", "res"]);
    assert_eq!(top, ["restore"]);
    let values = bash_completes(&["pushgateway-janitor", "--output", ""]);
    assert_eq!(values, ["human", "json"]);
    let restore = bash_completes(&["pushgateway-janitor", "restore", "a.jsonl", "--re"]);
    assert!(restore.contains(&"--replace".to_owned()), "{restore:?}");
    assert!(restore.contains(&"--retries".to_owned()), "{restore:?}");
    assert!(
        !restore.contains(&"--report-file".to_owned()),
        "{restore:?}"
    );
    let values = bash_completes(&["pushgateway-janitor", "restore", "a.jsonl", "--output", ""]);
    assert_eq!(values, ["human", "json"]);
}

/// The fish shell, which the completion test needs (Debian's `fish`;
/// scripts/test.sh installs it).
fn fish() -> &'static str {
    for path in ["/usr/bin/fish", "/bin/fish", "/usr/local/bin/fish"] {
        if Path::new(path).is_file() {
            return path;
        }
    }
    panic!("no fish shell: install Debian's fish (scripts/test.sh does)");
}

/// Issue 24 item 8, fish: `complete -C` lists what fish would complete.
#[test]
fn fish_completes_the_flags_of_a_clean_and_of_restore() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("pushgateway-janitor.fish");
    let out = janitor(&["--generate", "completions-fish"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::write(&script, &out.stdout).unwrap();
    let completes = |line: &str| -> Vec<String> {
        let out = Command::new(fish())
            .args(["--no-config", "-c"])
            .arg(format!(
                "source '{}'; complete -C '{line}'",
                script.display()
            ))
            .env("HOME", dir.path())
            .output()
            .expect("fish");
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
            .lines()
            .map(|l| l.split('\t').next().unwrap_or_default().to_owned())
            .collect()
    };
    let top = completes("pushgateway-janitor --thr");
    assert_eq!(top, ["--threshold"]);
    let restore = completes("pushgateway-janitor restore a.jsonl --re");
    assert!(restore.contains(&"--replace".to_owned()), "{restore:?}");
    assert!(
        !restore.contains(&"--report-file".to_owned()),
        "{restore:?}"
    );
}

/// Issue 24 item 7: `restore` has its man page, named where the main page
/// lists the others. Before: `--generate man-restore` was an invalid value.
#[test]
fn generate_writes_the_restore_man_page() {
    let out = janitor(&["--generate", "man-restore"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let page = stdout(&out);
    assert!(
        page.contains(".TH pushgateway-janitor-restore 1 "),
        "{page}"
    );
    for needle in [".SH \"EXIT STATUS\"", ".SH EXAMPLES", "\\-\\-replace"] {
        assert!(page.contains(needle), "{needle}: {page}");
    }
    let main = stdout(&janitor(&["--generate", "man"]));
    assert!(main.contains("\\fBpushgateway\\-janitor\\-restore\\fR(1)"));
}

/// Issue 24 item 14: exit status 1 covers a failed state file and a
/// failed notification wherever the exit codes are listed, and
/// PUSHGATEWAY_JANITOR_NOTIFY_URL is in every list of a clean's
/// variables. Before: "write an output (report, textfile, push)", and the
/// variable only in --help's flag text and docs/usage.md's flag table.
#[test]
fn exit_status_1_and_the_notify_variable_are_listed_everywhere() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
    let help = stdout(&janitor(&["--help"]));
    let man = stdout(&janitor(&["--generate", "man"]));
    let one = pushgateway_janitor::exit::ExitStatus::Failed.description();
    for words in ["state file", "--notify-url"] {
        assert!(one.contains(words), "{one}");
    }
    assert!(help.contains(&format!("  1  {one}\n")), "{help}");
    for doc in ["README.md", "docs/usage.md"] {
        assert!(read(doc).contains(&format!("| 1 | {one} |")), "{doc}");
    }
    assert!(man.contains(&one.replace('-', "\\-")), "{man}");
    let environment = help
        .split("Environment:\n")
        .nth(1)
        .expect("an Environment block");
    assert!(
        environment.contains("  PUSHGATEWAY_JANITOR_NOTIFY_URL  "),
        "{help}"
    );
    assert!(
        man.contains(".TP\n\\fBPUSHGATEWAY_JANITOR_NOTIFY_URL\\fR\n"),
        "{man}"
    );
    let usage = read("docs/usage.md");
    let env_table = usage.split("## Environment").nth(1).unwrap();
    assert!(
        env_table.contains("| `PUSHGATEWAY_JANITOR_NOTIFY_URL` |"),
        "docs/usage.md"
    );
    let report = read("docs/report.md");
    assert!(
        report.contains("null for `never`, whichever of these said it"),
        "docs/report.md"
    );
}

/// The zsh shell, which the completion test needs (Debian's `zsh`;
/// scripts/test.sh installs it).
fn zsh() -> &'static str {
    for path in ["/usr/bin/zsh", "/bin/zsh", "/usr/local/bin/zsh"] {
        if Path::new(path).is_file() {
            return path;
        }
    }
    panic!("no zsh: install Debian's zsh (scripts/test.sh does)");
}

/// Drives an interactive zsh on a pseudo-terminal (its `zsh/zpty`
/// module): types `$2`, a Tab, and Enter; `pushgateway-janitor` is a
/// function there that prints the line it was given, as completed.
const ZSH_DRIVER: &str = r#"zmodload zsh/zpty || exit 3
zpty z zsh -f -i
zpty -w z "fpath=($1 \$fpath); autoload -U compinit; compinit -u -D; bindkey '^I' complete-word"
zpty -w z "pushgateway-janitor() { print -r -- \"LINE: \$*\" }"
zpty -w z "$2"$'\t'
for i in {1..200}; do
  if zpty -r -t z line; then
    if [[ $line == LINE:* ]]; then
      print -r -- ${line%$'\r'}
      zpty -d z
      exit 0
    fi
  else
    sleep 0.05
  fi
done
zpty -d z
exit 1
"#;

/// Issue 24 item 8, zsh: each level completes, flags after `restore`'s
/// files too. Before (with the bash fix alone): `restore a.jsonl --repl`
/// completed nothing (clap_complete's `*::` spec gave the rest of the line
/// to the file completion).
#[test]
fn zsh_completes_the_flags_of_a_clean_and_of_restore() {
    let dir = tempfile::tempdir().unwrap();
    let out = janitor(&["--generate", "completions-zsh"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::write(dir.path().join("_pushgateway-janitor"), &out.stdout).unwrap();
    let driver = dir.path().join("drive.zsh");
    std::fs::write(&driver, ZSH_DRIVER).unwrap();
    let completes = |line: &str| -> String {
        let out = Command::new(zsh())
            .arg("-f")
            .arg(&driver)
            .arg(dir.path())
            .arg(line)
            .env("HOME", dir.path())
            .output()
            .expect("zsh");
        assert!(
            out.status.success(),
            "{line}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        stdout(&out).trim().to_owned()
    };
    assert_eq!(completes("pushgateway-janitor --dry-r"), "LINE: --dry-run");
    assert_eq!(
        completes("pushgateway-janitor restore a.jsonl --repl"),
        "LINE: restore a.jsonl --replace"
    );
    assert_eq!(
        completes("pushgateway-janitor restore a.jsonl --output j"),
        "LINE: restore a.jsonl --output json"
    );
}

/// A receiver that accepts every connection and never answers: each
/// request waits out the client's whole --timeout. Returns its URL and
/// how many connections it took.
fn silent_receiver() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/s3cret", listener.local_addr().unwrap());
    let taken = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&taken);
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for socket in listener.incoming().flatten() {
            counted.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (url, taken)
}

/// Sends `child` its second SIGTERM: it must end the wait at once, within
/// 5 s, with exit 1 and saying why on stderr, which is returned.
fn a_second_sigterm_ends_it(child: &mut Child) -> String {
    let sent = Instant::now();
    signal(child.id(), "TERM");
    let status = wait_bounded(child, Duration::from_secs(20));
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "{:?}",
        sent.elapsed()
    );
    assert_eq!(status.code(), Some(1), "{status}");
    let (_, err) = drain(child);
    assert!(err.contains("a second SIGTERM"), "{err}");
    err
}

/// Issue 24, item 4: in loop mode, SIGTERM while the pass's notification
/// waits for a receiver that never answers, then SIGTERM again: the second
/// signal ends the wait and the process exits 1 at once, as --help and
/// docs/deploy.md say. Before: both signals waited until the outputs were
/// written, here two attempts of a 60s --timeout.
#[test]
fn a_second_sigterm_ends_a_notification_that_hangs() {
    let mut pg = Pushgateway::start();
    pg.push_ok(&[("job", "old")], "x");
    pg.age(Duration::from_secs(7200));
    let (hook, taken) = silent_receiver();
    let (_dir, _prom, mut child) = spawn_with_textfile(
        &[
            "--url",
            &pg.url,
            "--every",
            "1h",
            "--threshold",
            "1h",
            "--notify-url",
            &hook,
            "--timeout",
            "60s",
            "--retries",
            "1",
        ],
        Stdio::null(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while taken.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the notification never came");
        assert!(child.try_wait().unwrap().is_none(), "the loop stopped");
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(child.id(), "TERM");
    // The first signal lets the outputs finish: still waiting.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "exited at the first signal"
    );
    let err = a_second_sigterm_ends_it(&mut child);
    assert!(!err.contains("s3cret"), "{err}");
    // The deletes happened before the outputs and stay done.
    pg.wait_for_groups(&[]);
}

/// Issue 24, item 4: the second signal also ends a lock wait: the
/// textfile's lock is held by another process (`flock`), the first
/// SIGTERM lets the pass wait for it, the second ends the wait. Before:
/// the wait ran its full 10s.
#[test]
fn a_second_sigterm_ends_a_lock_wait() {
    use std::io::BufRead as _;
    let pg = Pushgateway::start();
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("j.prom");
    let mut holder = Command::new("flock")
        .arg(dir.path().join(".j.prom.lock"))
        .args(["sleep", "60"])
        .spawn()
        .map(Reaper)
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dir.path().join(".j.prom.lock").exists() {
        assert!(Instant::now() < deadline, "flock never made its lock file");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut child = spawn_janitor(
        &[
            "--url",
            &pg.url,
            "--every",
            "1h",
            "--output",
            "json",
            "--textfile",
            prom.to_str().unwrap(),
        ],
        Stdio::piped(),
    );
    // The report is on stdout before the textfile is written.
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with('{'), "{line}");
    signal(child.id(), "TERM");
    std::thread::sleep(Duration::from_millis(300));
    a_second_sigterm_ends_it(&mut child);
    let _ = holder.kill();
}

/// A real gateway behind a proxy that stalls every `GET /api/v1/metrics`
/// after the first `full` mid-body, and the janitor in loop mode against
/// it with a textfile and a JSON report; returns once a response is
/// stalled, the janitor blocked reading it.
fn loop_stalled_after(
    full: usize,
    extra: &[&str],
) -> (
    Pushgateway,
    common::proxy::Proxy,
    tempfile::TempDir,
    PathBuf,
    Reaper,
) {
    let pg = Pushgateway::start();
    pg.push_ok(&[("job", "a")], "x");
    pg.push_ok(&[("job", "b"), ("instance", "h")], "x");
    let proxy = common::proxy::Proxy::stalling_scans(&pg.url, full);
    let mut args = vec!["--url", &proxy.url, "--every", "1h", "--output", "json"];
    args.extend(extra);
    let (dir, prom, child) = spawn_with_textfile(&args, Stdio::piped());
    proxy.wait_for_stalls(1);
    (pg, proxy, dir, prom, child)
}

/// Issue 28, review of item 1: a second signal that lands after the
/// DELETEs ended (here while their verification re-scan stalls) gave up a
/// pass that had finished: no report, no textfile, exit 1, and the
/// accepted deletes forgotten. Only a pass whose DELETEs a second signal
/// gave up goes unrecorded. The two signals are sent together (SIGTERM,
/// then SIGINT, which the kernel does not merge), so the second arrives
/// while the pass still winds down from the first.
#[test]
fn a_second_signal_after_the_deletes_ended_still_records_the_pass() {
    let mut extra = vec!["--verify-timeout", "1m"];
    extra.extend(EVERY_GROUP_STALE);
    let (pg, _proxy, _dir, prom, mut child) = loop_stalled_after(1, &extra);
    let pid = child.id().to_string();
    let sent = Command::new("sh")
        .args(["-c", "kill -TERM \"$0\" && kill -INT \"$0\"", &pid])
        .status()
        .unwrap();
    assert!(sent.success(), "{sent}");
    let status = wait_bounded(&mut child, Duration::from_secs(15));
    let (out, err) = drain(&mut child);
    let r: Report = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    assert_eq!(status.code(), Some(0), "{status}: {err}");
    assert_eq!(r.summary.unconfirmed, 2, "{:?}", r.summary);
    let s = samples(&prom);
    assert_eq!(s["pushgateway_janitor_runs_total{result=\"success\"}"], 1.0);
    let gateway = format!("gateway=\"{}\"", r.gateways[0].url);
    let unconfirmed = s
        .iter()
        .filter(|(k, _)| {
            k.starts_with("pushgateway_janitor_groups{")
                && k.contains("action=\"unconfirmed\"")
                && k.contains(&gateway)
        })
        .map(|(_, v)| *v)
        .sum::<f64>();
    assert_eq!(unconfirmed, 2.0, "{s:?}");
    pg.wait_for_groups(&[]);
}

/// SIGTERM, then the exit status and the one report on stdout; the
/// harness fails the test if stderr shows a panic.
fn sigterm_and_report(child: &mut Reaper) -> (std::process::ExitStatus, Report, String) {
    signal(child.id(), "TERM");
    let status = wait_bounded(child, Duration::from_secs(15));
    let (out, err) = drain(child);
    let report: Report = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    (status, report, err)
}

/// Issue 28 item 1: SIGTERM while a scan's body is being read. Before:
/// the scan's reader (a blocking task) was left running when the signal
/// dropped the scan, and panicked when the runtime shut down under it
/// ("A Tokio 1.x context was found, but it is being shutdown"): exit 134
/// from the release build, "panicked at" on stderr from this one.
#[test]
fn sigterm_while_a_scan_body_stalls_exits_0_with_the_interrupted_report() {
    let (pg, _proxy, _dir, prom, mut child) = loop_stalled_after(0, &["--threshold", "1h"]);
    let (status, r, err) = sigterm_and_report(&mut child);
    assert_eq!(status.code(), Some(0), "{status}: {err}");
    assert!(error_lines(&err).is_empty(), "{err}");
    let gw = &r.gateways[0];
    assert!(gw.interrupted && gw.error.is_none(), "{gw:?}");
    assert!(gw.groups.is_empty());
    let s = samples(&prom);
    assert_eq!(
        s["pushgateway_janitor_runs_total{result=\"interrupted\"}"],
        1.0
    );
    assert_eq!(s["pushgateway_janitor_runs_total{result=\"failure\"}"], 0.0);
    assert_eq!(pg.groups().len(), 2, "nothing was deleted");
}

/// Issue 28 item 1: SIGTERM while a verification re-scan's body is being
/// read (the scan went through, the DELETEs were accepted). Before: as
/// above, the re-scan's reader outlived its scan and panicked at exit.
#[test]
fn sigterm_while_a_verification_rescan_stalls_exits_0_with_unconfirmed_deletes() {
    let mut extra = vec!["--verify-timeout", "1m"];
    extra.extend(EVERY_GROUP_STALE);
    let (pg, _proxy, _dir, prom, mut child) = loop_stalled_after(1, &extra);
    let (status, r, err) = sigterm_and_report(&mut child);
    assert_eq!(status.code(), Some(0), "{status}: {err}");
    assert!(error_lines(&err).is_empty(), "{err}");
    assert_eq!(r.summary.unconfirmed, 2, "{:?}", r.summary);
    for g in &r.gateways[0].groups {
        assert_eq!(g.action, "unconfirmed");
        assert_eq!(g.error.as_deref(), Some("verification stopped by a signal"));
    }
    let s = samples(&prom);
    assert_eq!(s["pushgateway_janitor_runs_total{result=\"success\"}"], 1.0);
    // The DELETEs went through all the same.
    pg.wait_for_groups(&[]);
}
