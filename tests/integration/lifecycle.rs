//! Issue 19 against real Pushgateways (1.5.1 and 1.11): TTLs the pushers
//! declare (a Flink reporter's grouping key, a gauge pushed by Python's
//! prometheus_client), and the grace period with its state file and its
//! notifications, received on loopback.

use crate::common;

use crate::flink;

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use common::{
    drain, error_lines, janitor, pushgateway_bin, pushgateway_bin_1_11, report, signal,
    spawn_janitor, stderr, stdout, wait_bounded, Pushgateway, Report,
};

/// Both versions of the matrix, whatever `PUSHGATEWAY_BIN` is.
fn gateway_bins() -> Vec<PathBuf> {
    let mut bins = vec![pushgateway_bin(), pushgateway_bin_1_11()];
    bins.dedup();
    bins
}

/// Flink's `metrics.reporter.promgateway.groupingKey` as its reporter
/// reads it (`PrometheusPushGatewayReporterFactory`): `k1=v1;k2=v2`, an
/// entry without `=` or with an empty side left out.
fn flink_grouping_key(config: &str) -> Vec<(String, String)> {
    config
        .split(';')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, v)| !k.trim().is_empty() && !v.trim().is_empty())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The path Flink's reporter PUTs to: the Java client's
/// `PushGateway.push(registry, job, groupingKey)` writes `job/NAME`, then
/// `/k/v` per label, URL-encoded, and the base64 form only for a value
/// with `/` or an empty one.
fn java_client_path(job: &str, key: &[(String, String)]) -> String {
    let segment = |name: &str, value: &str| {
        if value.is_empty() {
            format!("{name}@base64/=")
        } else if value.contains('/') {
            format!("{name}@base64/{}", URL_SAFE_NO_PAD.encode(value))
        } else {
            let encoded: String = value
                .bytes()
                .map(|b| match b {
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                        (b as char).to_string()
                    }
                    b => format!("%{b:02X}"),
                })
                .collect();
            format!("{name}/{encoded}")
        }
    };
    std::iter::once(segment("job", job))
        .chain(key.iter().map(|(k, v)| segment(k, v)))
        .collect::<Vec<_>>()
        .join("/")
}

fn key_of<'a>(job: &'a str, key: &'a [(String, String)]) -> Vec<(&'a str, &'a str)> {
    std::iter::once(("job", job))
        .chain(key.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .collect()
}

fn group<'r>(r: &'r Report, key: &[(&str, &str)]) -> &'r common::GroupReport {
    r.group(key)
        .unwrap_or_else(|| panic!("no group {key:?} in the report"))
}

#[test]
fn a_flink_reporters_ttl_grouping_label_decides_its_groups() {
    for bin in gateway_bins() {
        let mut pg = Pushgateway::start_bin(&bin, &[]);
        let shape = flink::Shape {
            groups: 4,
            series: 30,
            seed: 19,
        };
        // Four clusters' reporters, configured as examples/flink-conf.yaml
        // shows, each declaring its own TTL in the grouping key (or none,
        // or one that is not a duration).
        let configs = [
            "cluster=a;env=prod;ttl=30m",
            "cluster=b;env=prod;ttl=2h",
            "cluster=c;env=prod",
            "cluster=d;env=prod;ttl=soon",
        ];
        let mut keys = Vec::new();
        for (i, config) in configs.iter().enumerate() {
            let g = shape.group(i);
            let key = flink_grouping_key(config);
            let path = java_client_path(&g.job, &key);
            assert_eq!(pg.push_path(&path, &g.exposition()), 200, "{path}");
            keys.push((g.job, key));
        }
        let k: Vec<Vec<(&str, &str)>> = keys.iter().map(|(j, k)| key_of(j, k)).collect();
        pg.age(Duration::from_secs(40 * 60));

        let run = |extra: &[&str]| {
            let mut args = vec![
                "--url",
                &pg.url,
                "--ttl-label",
                "ttl",
                "--threshold",
                "1h",
                "--output",
                "json",
            ];
            args.extend_from_slice(extra);
            janitor(&args)
        };
        // --max-ttl lowers the 2h; --threshold and the rules are not TTLs.
        let out = run(&["--max-ttl", "20m", "--dry-run"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let r = report(&out);
        let b = group(&r, &k[1]);
        assert_eq!(
            (
                b.action.as_str(),
                b.threshold_seconds,
                b.threshold_source.as_str()
            ),
            (
                "would_delete",
                Some(1200.0),
                r#"ttl label ttl="2h", lowered to --max-ttl 20m"#
            )
        );
        assert_eq!(group(&r, &k[2]).action, "active");

        let out = run(&[]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let r = report(&out);
        let a = group(&r, &k[0]);
        assert_eq!(
            (
                a.action.as_str(),
                a.threshold_seconds,
                a.threshold_source.as_str()
            ),
            ("deleted", Some(1800.0), r#"ttl label ttl="30m""#),
            "{bin:?}"
        );
        assert!(
            a.reason
                .ends_with(r#"longer than 30m (ttl label ttl="30m")"#),
            "{}",
            a.reason
        );
        let b = group(&r, &k[1]);
        assert_eq!(
            (b.action.as_str(), b.threshold_seconds),
            ("active", Some(7200.0))
        );
        let c = group(&r, &k[2]);
        assert_eq!(
            (c.action.as_str(), c.threshold_source.as_str()),
            ("active", "--threshold")
        );
        // Not a duration: ignored, said why, and the rules decided.
        let d = group(&r, &k[3]);
        assert_eq!(
            (d.action.as_str(), d.threshold_source.as_str()),
            ("active", "--threshold")
        );
        let why = d.ttl_ignored.as_deref().expect("the reason it was ignored");
        assert!(why.starts_with(r#"ttl label ttl="soon": expected a number and a unit"#));
        assert!(
            d.reason.ends_with(&format!("; ignored {why}")),
            "{}",
            d.reason
        );
        assert!(
            stderr(&out).contains(r#"ignored ttl label ttl="soon""#),
            "{}",
            stderr(&out)
        );
        let left: Vec<&[(&str, &str)]> = k[1..].iter().map(Vec::as_slice).collect();
        pg.wait_for_groups(&left);

        // Without --ttl-label the label is a label like any other.
        let out = janitor(&["--url", &pg.url, "--threshold", "1h", "--output", "json"]);
        let r = report(&out);
        for key in &k[1..] {
            assert_eq!(group(&r, key).threshold_source, "--threshold");
        }
    }
}

/// Python's prometheus_client, as scripts/test.sh installs it. Missing is a
/// failure, never a skip.
fn python_with_prometheus_client() -> &'static str {
    let ok = Command::new("python3")
        .args(["-c", "import prometheus_client"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "python3 with prometheus_client is missing: pip install prometheus-client \
         (scripts/test.sh installs it)"
    );
    "python3"
}

/// A batch job that pushes its registry with `push_to_gateway`, declaring
/// how long the janitor may leave its group silent.
const PYTHON_PUSHER: &str = r#"
import sys
from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

url, job, instance, ttl = sys.argv[1:5]
registry = CollectorRegistry()
Gauge("job_ttl_seconds", "How long this group may stay silent.", registry=registry).set(float(ttl))
Gauge("job_last_success_unixtime", "When the job last succeeded.", registry=registry).set_to_current_time()
push_to_gateway(url, job=job, registry=registry, grouping_key={"instance": instance})
"#;

#[test]
fn a_python_client_declares_its_ttl_in_a_gauge() {
    let python = python_with_prometheus_client();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("push.py");
    std::fs::write(&script, PYTHON_PUSHER).unwrap();
    for bin in gateway_bins() {
        let mut pg = Pushgateway::start_bin(&bin, &[]);
        for (instance, ttl) in [
            ("30m", "1800"),
            ("never", "inf"),
            ("nan", "nan"),
            ("zero", "0"),
        ] {
            let out = Command::new(python)
                .arg(&script)
                .args([&pg.url, "nightly", instance, ttl])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "push_to_gateway failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // The same gauge with two series, pushed in the text format (the
        // gateway refuses a counter of that name beside the gauges).
        assert_eq!(
            pg.push(
                &[("job", "nightly"), ("instance", "two")],
                "# HELP job_ttl_seconds How long this group may stay silent.\n\
                 # TYPE job_ttl_seconds gauge\n\
                 job_ttl_seconds{part=\"a\"} 60\njob_ttl_seconds{part=\"b\"} 60\n"
            ),
            200
        );
        pg.age(Duration::from_secs(40 * 60));
        let out = janitor(&[
            "--url",
            &pg.url,
            "--ttl-metric",
            "job_ttl_seconds",
            "--threshold",
            "1h",
            "--output",
            "json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let r = report(&out);
        let g = |instance: &str| group(&r, &[("job", "nightly"), ("instance", instance)]);
        assert_eq!(
            (g("30m").action.as_str(), g("30m").threshold_source.as_str()),
            ("deleted", "ttl metric job_ttl_seconds=1800"),
            "{bin:?}"
        );
        assert_eq!(g("never").action, "kept");
        assert_eq!(g("never").threshold_seconds, None);
        assert!(
            g("never")
                .reason
                .ends_with("never stale by ttl metric job_ttl_seconds=+Inf"),
            "{}",
            g("never").reason
        );
        for (instance, why) in [
            ("nan", "ttl metric job_ttl_seconds=NaN: NaN is not a TTL"),
            (
                "zero",
                "ttl metric job_ttl_seconds=0: a TTL must be greater than zero",
            ),
            ("two", "ttl metric job_ttl_seconds: has 2 series, not one"),
        ] {
            let g = g(instance);
            assert_eq!(
                (g.action.as_str(), g.threshold_source.as_str()),
                ("active", "--threshold"),
                "{instance}"
            );
            assert_eq!(g.ttl_ignored.as_deref(), Some(why));
        }
        pg.wait_for_groups(&[
            &[("job", "nightly"), ("instance", "never")],
            &[("job", "nightly"), ("instance", "nan")],
            &[("job", "nightly"), ("instance", "zero")],
            &[("job", "nightly"), ("instance", "two")],
        ]);
    }
}

/// One rule for a declared TTL longer than the janitor can count (issue 24
/// item 11): a label's `99999999999999w` and a gauge's `1e300` both read as
/// `never`, like `+Inf`, and the gauge's value is written as the gateway
/// writes it (`1e+300`), not as 301 digits (item 20).
#[test]
fn a_ttl_beyond_what_a_duration_holds_is_never_whether_label_or_gauge() {
    for bin in gateway_bins() {
        let mut pg = Pushgateway::start_bin(&bin, &[]);
        assert_eq!(
            pg.push(&[("job", "label"), ("ttl", "99999999999999w")], "up 1\n"),
            200
        );
        assert_eq!(
            pg.push(
                &[("job", "gauge")],
                "# TYPE job_ttl_seconds gauge\njob_ttl_seconds 1e300\n"
            ),
            200
        );
        pg.age(Duration::from_secs(2 * 3600));
        let args = [
            "--url",
            &pg.url,
            "--ttl-label",
            "ttl",
            "--ttl-metric",
            "job_ttl_seconds",
            "--threshold",
            "1h",
            "--dry-run",
        ];
        let out = janitor(&[&args[..], &["--output", "json"]].concat());
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let r = report(&out);
        let label = group(&r, &[("job", "label"), ("ttl", "99999999999999w")]);
        let gauge = group(&r, &[("job", "gauge")]);
        for (g, source) in [
            (label, r#"ttl label ttl="99999999999999w""#),
            (gauge, "ttl metric job_ttl_seconds=1e+300"),
        ] {
            assert_eq!(
                (
                    g.action.as_str(),
                    g.threshold_source.as_str(),
                    g.threshold_seconds,
                    g.ttl_ignored.as_deref()
                ),
                ("kept", source, None, None),
                "{bin:?}: {}",
                g.reason
            );
            assert!(
                g.reason.ends_with(&format!("; never stale by {source}")),
                "{}",
                g.reason
            );
        }
        // --max-ttl bounds both alike.
        let out = janitor(&[&args[..], &["--max-ttl", "1h", "--output", "json"]].concat());
        let r = report(&out);
        for key in [
            &[("job", "label"), ("ttl", "99999999999999w")][..],
            &[("job", "gauge")],
        ] {
            let g = group(&r, key);
            assert_eq!(
                (g.action.as_str(), g.threshold_seconds),
                ("would_delete", Some(3600.0)),
                "{}",
                g.reason
            );
            assert!(g.threshold_source.ends_with(", lowered to --max-ttl 1h"));
        }
    }
}

/// A group pushed a moment ago on a gateway whose `Date` header (whole
/// seconds) is the clock reads as pushed `0s ago`, not "0s ahead of the
/// clock" (issue 24 item 10): a push in the same second as the scan has a
/// push time a fraction of a second after the header's time.
#[test]
fn a_fresh_push_is_not_ahead_of_the_whole_second_clock() {
    let pg = Pushgateway::start();
    let mut seen_ahead_of_the_header = 0;
    for attempt in 0..20 {
        let job = format!("fresh{attempt}");
        pg.push_ok(&[("job", &job)], "up");
        let out = janitor(&["--url", &pg.url, "--threshold", "1m", "--output", "json"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let r = report(&out);
        let g = group(&r, &[("job", &job)]);
        assert!(
            g.reason.starts_with("last push 0s ago, within 1m"),
            "age {:?}: {}",
            g.age_seconds,
            g.reason
        );
        if g.age_seconds.is_some_and(|a| a < 0.0) {
            seen_ahead_of_the_header += 1;
            if seen_ahead_of_the_header == 3 {
                break;
            }
        }
    }
    // Not a pass by luck: the case was there.
    assert_eq!(
        seen_ahead_of_the_header, 3,
        "no push landed in the second of its scan's Date"
    );
    let out = janitor(&["--url", &pg.url, "--threshold", "1m", "-v"]);
    assert!(!stdout(&out).contains("ahead"), "{}", stdout(&out));
}

/// A webhook receiver on loopback: records each request and answers with
/// the next of `statuses` (200 once they run out).
pub(crate) struct Receiver {
    /// With a path that stands for a webhook's secret.
    pub(crate) url: String,
    requests: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Received {
    head: String,
    pub(crate) body: serde_json::Value,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

impl Receiver {
    pub(crate) fn start(statuses: &[u16]) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!(
            "http://{}/hooks/s3cret-token",
            listener.local_addr().unwrap()
        );
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let mut statuses = statuses.to_vec();
        statuses.reverse();
        let (seen, stopped) = (Arc::clone(&requests), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::SeqCst) {
                let mut socket = match listener.accept() {
                    Ok((socket, _)) => socket,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                };
                socket.set_nonblocking(false).unwrap();
                socket
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                let mut bytes = Vec::new();
                let mut buf = [0u8; 4096];
                let (head, body) = loop {
                    let n = socket.read(&mut buf).unwrap_or(0);
                    if n == 0 {
                        break (String::new(), Vec::new());
                    }
                    bytes.extend_from_slice(&buf[..n]);
                    let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
                    let length: usize = head
                        .lines()
                        .find_map(|l| {
                            let (n, v) = l.split_once(':')?;
                            n.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    while bytes.len() < end + 4 + length {
                        let n = socket.read(&mut buf).unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        bytes.extend_from_slice(&buf[..n]);
                    }
                    break (head, bytes[end + 4..].to_vec());
                };
                let status = statuses.pop().unwrap_or(200);
                seen.lock().unwrap().push(Received {
                    head,
                    body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
                });
                let _ = write!(
                    socket,
                    "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                );
            }
        });
        Receiver {
            url,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    pub(crate) fn requests(&self) -> Vec<Received> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The grouping keys the state file marks on the gateway named by its
/// URL `gateway`.
fn marked(path: &Path, gateway: &str) -> Vec<BTreeMap<String, String>> {
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(state["schema"], "pushgateway-janitor/pending/v3");
    let mut keys: Vec<BTreeMap<String, String>> = state["gateways"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["url"] == gateway && g["discovered_from"].is_null())
        .flat_map(|g| g["marks"].as_array().unwrap())
        .map(|m| serde_json::from_value(m["labels"].clone()).unwrap())
        .collect();
    keys.sort();
    keys
}

fn labels(keys: &[&[(&str, &str)]]) -> Vec<BTreeMap<String, String>> {
    let mut all: Vec<BTreeMap<String, String>> = keys.iter().map(|k| common::labels(k)).collect();
    all.sort();
    all
}

/// The push time the gateway shows for the group `key`.
fn push_time_of(pg: &Pushgateway, key: &[(&str, &str)]) -> f64 {
    let doc: serde_json::Value = reqwest::blocking::get(format!("{}/api/v1/metrics", pg.url))
        .unwrap()
        .json()
        .unwrap();
    let want = common::labels(key);
    doc["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| {
            serde_json::from_value::<BTreeMap<String, String>>(g["labels"].clone()).ok()
                == Some(want.clone())
        })
        .and_then(|g| g["push_time_seconds"]["metrics"][0]["value"].as_str())
        .unwrap()
        .parse()
        .unwrap()
}

/// The samples of a textfile, by series as written.
fn textfile(path: &Path) -> BTreeMap<String, f64> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            (series.to_owned(), value.parse().unwrap())
        })
        .collect()
}

#[test]
fn grace_marks_groups_pending_and_deletes_only_those_still_silent_since() {
    for bin in gateway_bins() {
        let mut pg = Pushgateway::start_bin(&bin, &[]);
        type Key = &'static [(&'static str, &'static str)];
        let a: Key = &[("job", "a")];
        let a_h1: Key = &[("job", "a"), ("instance", "h1")];
        let b: Key = &[("job", "b")];
        let c: Key = &[("job", "c")];
        for key in [a, a_h1, b, c] {
            pg.push_ok(key, "x");
        }
        pg.age(Duration::from_secs(2 * 3600));
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("pending.json");
        let prom = dir.path().join("j.prom");
        let hook = Receiver::start(&[]);
        // The URL stays the same across restarts (same port).
        let url = pg.url.clone();
        let run = |extra: &[&str]| {
            let mut args = vec!["--url", &url];
            args.extend(common::grace_flags(&state));
            args.extend([
                "--textfile",
                prom.to_str().unwrap(),
                "--notify-url",
                &hook.url,
                "--output",
                "json",
            ]);
            args.extend_from_slice(extra);
            janitor(&args)
        };

        // First pass: every stale group is pending, nothing is deleted, and
        // a pass that only marks groups exits 0.
        let out = run(&[]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let r = report(&out);
        assert_eq!(r.summary.pending, 4, "{bin:?}");
        assert_eq!(r.summary.stale, 4);
        for key in [a, a_h1, b, c] {
            let g = group(&r, key);
            assert_eq!(g.action, "pending");
            let (since, at) = (
                g.stale_since.as_deref().unwrap(),
                g.deletable_at.as_deref().unwrap(),
            );
            assert!(since < at, "{since} {at}");
            assert!(
                g.reason.contains("pending for --grace 1h: deletable in 1h"),
                "{}",
                g.reason
            );
        }
        pg.wait_for_groups(&[a, a_h1, b, c]);
        assert_eq!(marked(&state, &pg.url), labels(&[a, a_h1, b, c]));
        let samples = textfile(&prom);
        let series = |action: &str| {
            format!(
                "pushgateway_janitor_groups{{gateway=\"{}\",action=\"{action}\"}}",
                pg.url
            )
        };
        assert_eq!(samples[&series("pending")], 4.0);
        assert!(samples.contains_key(&format!(
            "pushgateway_janitor_pending_deletable_timestamp_seconds{{gateway=\"{}\"}}",
            pg.url
        )));
        // One notification, the four newly pending groups in it.
        let sent = hook.requests();
        assert_eq!(sent.len(), 1);
        let n = &sent[0].body;
        assert_eq!(n["schema"], "pushgateway-janitor/notification/v1");
        assert_eq!(n["pending"].as_array().unwrap().len(), 4);
        assert!(n["pending"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["new"] == true));
        assert!(
            n["text"]
                .as_str()
                .unwrap()
                .contains("4 groups newly pending"),
            "{n}"
        );

        // A second pass inside the grace period deletes nothing and
        // announces nothing new.
        let out = run(&[]);
        assert_eq!(report(&out).summary.pending, 4);
        assert_eq!(hook.requests().len(), 1);

        // b revives; a_h1 revives; c is pushed again and falls silent (its
        // last activity is not the one it was marked with); a stays silent.
        pg.push_ok(a_h1, "x");
        pg.push_ok(b, "x");
        pg.push_ok(c, "x");
        let c_time = push_time_of(&pg, c);
        pg.rewrite_times(|t| if t == c_time { t - 2.0 * 3600.0 } else { t });
        common::age_marks(&state, Duration::from_secs(3600));

        let out = run(&[]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let r = report(&out);
        assert_eq!(group(&r, a).action, "deleted", "{bin:?}");
        assert!(
            group(&r, a).reason.contains("past --grace 1h"),
            "{}",
            group(&r, a).reason
        );
        assert_eq!(group(&r, a_h1).action, "active");
        assert_eq!(group(&r, b).action, "active");
        let c_now = group(&r, c);
        assert_eq!(c_now.action, "pending");
        assert!(c_now.reason.contains("deletable in 1h"), "{}", c_now.reason);
        pg.wait_for_groups(&[a_h1, b, c]);
        // Bounded: the deleted and revived groups left the file.
        assert_eq!(marked(&state, &pg.url), labels(&[c]));
        let sent = hook.requests();
        assert_eq!(sent.len(), 2);
        let n = &sent[1].body;
        assert_eq!(n["deleted"][0]["labels"], serde_json::json!({"job": "a"}));
        assert_eq!(n["deleted"][0]["threshold_source"], "--threshold");
        assert_eq!(n["deleted"][0]["threshold_seconds"], 3600.0);
        assert_eq!(n["pending"][0]["new"], true);
        assert_eq!(sent[1].header("content-type"), Some("application/json"));

        // A dry run reads the state, writes nothing and sends nothing.
        common::age_marks(&state, Duration::from_secs(3600));
        let before = std::fs::read(&state).unwrap();
        let out = run(&["--dry-run"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(report(&out).action_of(c), Some("would_delete"));
        assert_eq!(std::fs::read(&state).unwrap(), before);
        assert_eq!(hook.requests().len(), 2);
        pg.wait_for_groups(&[a_h1, b, c]);
    }
}

#[test]
fn runs_that_share_a_state_file_keep_each_others_gateways() {
    let mut one = Pushgateway::start();
    let mut two = Pushgateway::start();
    one.push_ok(&[("job", "one")], "x");
    two.push_ok(&[("job", "two")], "x");
    one.age(Duration::from_secs(7200));
    two.age(Duration::from_secs(7200));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("pending.json");
    let args = |url: &str| -> Vec<String> {
        ["--url", url]
            .into_iter()
            .chain(common::grace_flags(&state))
            .map(str::to_owned)
            .collect()
    };
    // At the same time, and then one after the other: each run writes its
    // own gateway's marks into what the file holds when it writes.
    for _ in 0..2 {
        let a = args(&one.url);
        let b = args(&two.url);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let b: Vec<&str> = b.iter().map(String::as_str).collect();
        let mut first = spawn_janitor(&a, Stdio::null());
        let mut second = spawn_janitor(&b, Stdio::null());
        for child in [&mut first, &mut second] {
            let status = wait_bounded(child, Duration::from_secs(30));
            assert_eq!(status.code(), Some(0));
        }
        assert_eq!(marked(&state, &one.url), labels(&[&[("job", "one")]]));
        assert_eq!(marked(&state, &two.url), labels(&[&[("job", "two")]]));
    }
    let out = janitor(
        &args(&one.url)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(marked(&state, &two.url), labels(&[&[("job", "two")]]));
    // A file that is not a state is nobody's to overwrite.
    let other = dir.path().join("other.json");
    std::fs::write(&other, "{\"precious\": true}\n").unwrap();
    let mut a = args(&one.url);
    a[7] = other.to_str().unwrap().to_owned();
    let out = janitor(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        error_lines(&stderr(&out))[0].contains("not overwriting it"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(&other).unwrap(),
        "{\"precious\": true}\n"
    );
}

#[test]
fn in_loop_mode_the_pending_groups_are_kept_in_memory() {
    let pg = Pushgateway::start();
    pg.push_ok(&[("job", "gone")], "x");
    let hook = Receiver::start(&[]);
    let mut child = spawn_janitor(
        &[
            "--url",
            &pg.url,
            "--every",
            "1s",
            "--clock",
            "local",
            "--threshold",
            "1ms",
            "--grace",
            "1500ms",
            "--notify-url",
            &hook.url,
        ],
        Stdio::piped(),
    );
    // Pending in the first two passes, deleted by the third, whose
    // notification is sent once its report is out.
    let deadline = Instant::now() + Duration::from_secs(20);
    while hook.requests().len() < 2 {
        assert!(
            Instant::now() < deadline,
            "never deleted: {:?}",
            hook.requests()
        );
        assert!(child.try_wait().unwrap().is_none(), "the loop stopped");
        std::thread::sleep(Duration::from_millis(100));
    }
    signal(child.id(), "TERM");
    let status = wait_bounded(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    pg.wait_for_groups(&[]);
    let (out, _) = drain(&mut child);
    let pending = out
        .lines()
        .position(|l| l.starts_with("pending ") && l.contains(r#"{job="gone"}"#));
    let deleted = out
        .lines()
        .position(|l| l.starts_with("deleted ") && l.contains(r#"{job="gone"}"#));
    assert!(
        matches!((pending, deleted), (Some(p), Some(d)) if p < d),
        "{out}"
    );
    assert!(out.contains(": deletable from 20"), "{out}");
    // Announced when marked and when deleted, not on the pass between.
    let sent = hook.requests();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0].body["pending"][0]["new"], true);
    assert_eq!(sent[1].body["deleted"][0]["action"], "deleted");
}

/// A run on `pg` that deletes `{job="old"}` once it is an hour stale and
/// notifies `notify_url`, with `extra` flags.
fn delete_old_notifying(pg: &Pushgateway, notify_url: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "--url",
        &pg.url,
        "--threshold",
        "1h",
        "--select",
        r#"{job="old"}"#,
        "--notify-url",
        notify_url,
    ];
    args.extend_from_slice(extra);
    janitor(&args)
}

#[test]
fn an_undeliverable_notification_is_an_error_line_and_exit_1() {
    let mut pg = Pushgateway::start();
    pg.push_ok(&[("job", "old")], "x");
    pg.push_ok(&[("job", "old2")], "x");
    pg.age(Duration::from_secs(7200));
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("j.prom");
    // Always 500: two attempts with --retries 1, then an error.
    let hook = Receiver::start(&[500, 500, 500]);
    let out = delete_old_notifying(
        &pg,
        &hook.url,
        &[
            "--retries",
            "1",
            "--retry-backoff",
            "10ms",
            "--textfile",
            prom.to_str().unwrap(),
            "--basic-auth-user",
            "janitor",
            "--basic-auth-password",
            "gateway-password",
            "--header",
            "X-Gateway-Only: yes",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    let lines = error_lines(&err);
    let port = hook
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    assert_eq!(
        lines,
        vec![format!(
            "pushgateway-janitor: error: --notify-url: POST http://127.0.0.1:{port}/…: HTTP 500 Internal Server Error: ok (2 attempts)"
        )],
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
    // The deletes happened and are reported as such; the run failed.
    assert!(
        stdout(&out).contains(r#"deleted        {job="old"}"#),
        "{}",
        stdout(&out)
    );
    pg.wait_for_groups(&[&[("job", "old2")]]);
    let samples = textfile(&prom);
    assert_eq!(samples["pushgateway_janitor_last_run_exit_code"], 1.0);
    // The webhook got neither the gateway's credentials nor its headers.
    let sent = hook.requests();
    assert_eq!(sent.len(), 2);
    for r in &sent {
        assert_eq!(r.header("authorization"), None, "{}", r.head);
        assert_eq!(r.header("x-gateway-only"), None, "{}", r.head);
    }

    // A 503 that passes is retried and delivered: exit 0.
    pg.push_ok(&[("job", "old")], "x");
    pg.age(Duration::from_secs(7200));
    let hook = Receiver::start(&[503]);
    let out = delete_old_notifying(&pg, &hook.url, &["--retry-backoff", "10ms"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(hook.requests().len(), 2);
    // A receiver that is gone: refused, said in our words.
    let gone = format!("http://127.0.0.1:{}/hooks/s3cret", common::refused_port());
    pg.push_ok(&[("job", "old")], "x");
    pg.age(Duration::from_secs(7200));
    let out = delete_old_notifying(&pg, &gone, &["--retries", "0"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        error_lines(&err)[0].ends_with("/…: connection refused (1 attempt)"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
}

/// Issue 24, item 20: a 408 from the receiver is retried like a 5xx, and
/// every attempt of one notification carries the same `Idempotency-Key`,
/// so that a receiver can drop the copy a retry after a timeout sends
/// again; the next notification has another key.
#[test]
fn a_408_is_retried_and_each_notification_has_one_idempotency_key() {
    let mut pg = Pushgateway::start();
    pg.push_ok(&[("job", "old")], "x");
    pg.age(Duration::from_secs(7200));
    let hook = Receiver::start(&[408]);
    let run = |pg: &Pushgateway| {
        janitor(&[
            "--url",
            &pg.url,
            "--threshold",
            "1h",
            "--notify-url",
            &hook.url,
            "--retry-backoff",
            "10ms",
        ])
    };
    let out = run(&pg);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    pg.push_ok(&[("job", "old")], "x");
    pg.age(Duration::from_secs(7200));
    let out = run(&pg);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sent = hook.requests();
    assert_eq!(sent.len(), 3, "{sent:?}");
    let keys: Vec<&str> = sent
        .iter()
        .map(|r| {
            r.header("idempotency-key")
                .unwrap_or_else(|| panic!("no Idempotency-Key: {}", r.head))
        })
        .collect();
    assert_eq!(keys[0], keys[1], "one notification, one key");
    assert_ne!(keys[1], keys[2], "another notification, another key");
    assert_eq!(sent[0].body, sent[1].body);
    for key in keys {
        assert!(
            key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit()),
            "{key}"
        );
    }
}

/// Issue 24, item 21: a notification that a refusing proxy from the
/// environment carries names the proxy, not the receiver.
#[test]
fn a_refusing_proxy_is_named_for_the_notification() {
    let mut pg = Pushgateway::start();
    pg.push_ok(&[("job", "old")], "x");
    pg.age(Duration::from_secs(7200));
    let hook = Receiver::start(&[]);
    // The receiver by name, through the proxy; the gateway by address,
    // without it.
    let url = hook.url.replace("127.0.0.1", "localhost");
    let closed = format!("http://127.0.0.1:{}", common::refused_port());
    let out = common::janitor_cmd(&[
        "--url",
        &pg.url,
        "--threshold",
        "1h",
        "--notify-url",
        &url,
        "--retries",
        "0",
    ])
    .env("http_proxy", &closed)
    .env("no_proxy", "127.0.0.1")
    .env_remove("HTTP_PROXY")
    .env_remove("NO_PROXY")
    .env_remove("all_proxy")
    .env_remove("ALL_PROXY")
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    let port = url.split(':').nth(2).unwrap().split('/').next().unwrap();
    assert_eq!(
        error_lines(&err),
        vec![format!(
            "pushgateway-janitor: error: --notify-url: POST http://localhost:{port}/…: cannot connect to the proxy {closed} (http_proxy, https_proxy or all_proxy; no_proxy lists the hosts reached without it) (1 attempt)"
        )],
        "{err}"
    );
    assert!(hook.requests().is_empty());
    pg.wait_for_groups(&[]);
}

/// The fenced blocks of docs/lifecycle.md under the `## ` heading `section`,
/// in order, as (language, text).
fn doc_blocks(section: &str) -> Vec<(String, String)> {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/lifecycle.md")).unwrap();
    let start = doc
        .find(&format!("\n## {section}\n"))
        .unwrap_or_else(|| panic!("docs/lifecycle.md has no section {section:?}"));
    let rest = &doc[start + 1..];
    let body = match rest[3..].find("\n## ") {
        Some(end) => &rest[..end + 3],
        None => rest,
    };
    let mut blocks = Vec::new();
    let mut open: Option<(String, String, usize)> = None;
    for line in body.lines() {
        let trimmed = line.trim_start();
        match (&mut open, trimmed.strip_prefix("```")) {
            (None, Some(lang)) => {
                open = Some((lang.to_owned(), String::new(), line.len() - trimmed.len()))
            }
            (Some((lang, text, _)), Some("")) => {
                blocks.push((std::mem::take(lang), std::mem::take(text)));
                open = None;
            }
            (Some((_, text, indent)), _) => {
                text.push_str(line.get(*indent..).unwrap_or(line.trim_start()));
                text.push('\n');
            }
            (None, None) => {}
        }
    }
    blocks
}

/// The texts of the blocks in language `lang`.
fn in_lang<'a>(blocks: &'a [(String, String)], lang: &str) -> Vec<&'a str> {
    blocks
        .iter()
        .filter(|(l, _)| l == lang)
        .map(|(_, t)| t.as_str())
        .collect()
}

/// Runs a shell recipe from the docs as a user would paste it: bash, with
/// the built janitor on PATH and nothing of the caller's environment that
/// changes a run.
fn run_recipe(script: &str, vars: &[(&str, &str)]) -> std::process::Output {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_pushgateway-janitor"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let home = Path::new(env!("CARGO_TARGET_TMPDIR")).join("empty-home");
    std::fs::create_dir_all(&home).unwrap();
    let mut cmd = Command::new("bash");
    cmd.args(["-eo", "pipefail", "-c", script])
        .env("PATH", path)
        .env("HOME", &home)
        .env("NO_COLOR", "1")
        .env_remove("PUSHGATEWAY_URL")
        .env_remove("PUSHGATEWAY_JANITOR_LOG")
        .env_remove("PUSHGATEWAY_JANITOR_NOTIFY_URL")
        .stdin(Stdio::null());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    common::checked(cmd.output().unwrap())
}

/// What may differ between the docs and a run: the gateway's URL, ages
/// and times.
fn normalized(text: &str, url: &str, shown_url: &str) -> String {
    let text = text.replace(url, shown_url);
    let ages =
        regex::Regex::new(r"(last push|silent) -?[0-9][0-9a-z.]* ?(ago|ahead of the clock)?")
            .unwrap();
    let text = ages.replace_all(&text, "$1 AGE");
    let times = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z").unwrap();
    let text = times.replace_all(&text, "TIME");
    // The groups' length in the API varies with their push times' digits
    // (the size as scanned, and what the pass leaves).
    let sizes = regex::Regex::new(r"\b[0-9.]+ (B|KiB|MiB|GiB)\b").unwrap();
    sizes.replace_all(&text, "SIZE").into_owned()
}

/// The shape of a JSON value: objects' keys, recursively, and the first
/// element of arrays; no values.
fn shape(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(o) => o.iter().map(|(k, v)| (k.clone(), shape(v))).collect(),
        serde_json::Value::Array(a) => a.first().map_or(serde_json::Value::Null, shape),
        _ => serde_json::Value::Null,
    }
}

#[test]
fn the_ttl_section_of_the_docs_runs_as_shown() {
    let pg = Pushgateway::start();
    let blocks = doc_blocks("A TTL the pusher declares");
    let lang = |l: &str| in_lang(&blocks, l).into_iter();
    // The Flink line is a groupingKey the reporter reads as a TTL label.
    let yaml = lang("yaml").next().expect("the Flink example");
    let value = yaml
        .lines()
        .find_map(|l| l.strip_prefix("metrics.reporter.promgateway.groupingKey: "))
        .expect("a groupingKey line");
    assert!(
        flink_grouping_key(value).contains(&("ttl".to_owned(), "30m".to_owned())),
        "{value}"
    );
    // The Python lines push a gauge the janitor reads.
    let python = python_with_prometheus_client();
    let script = lang("python")
        .next()
        .expect("the Python example")
        .replace("pushgateway:9091", pg.url.trim_start_matches("http://"));
    let out = Command::new(python).args(["-c", &script]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = janitor(&[
        "--url",
        &pg.url,
        "--ttl-metric",
        "job_ttl_seconds",
        "--dry-run",
        "--output",
        "json",
    ]);
    assert_eq!(
        report(&out)
            .group(&[("job", "nightly")])
            .unwrap()
            .threshold_source,
        "ttl metric job_ttl_seconds=93600"
    );
    // The recipe, on a gateway of its own, and the output it shows.
    let pg = Pushgateway::start();
    let recipe = lang("sh").next().expect("the recipe");
    let out = run_recipe(recipe, &[("PUSHGATEWAY_URL", &pg.url)]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let shown = lang("text").next().expect("its output");
    assert_eq!(
        normalized(&stdout(&out), &pg.url, "http://127.0.0.1:9091"),
        normalized(shown, &pg.url, "http://127.0.0.1:9091")
    );
}

#[test]
fn the_grace_section_of_the_docs_runs_as_shown() {
    let mut pg = Pushgateway::start();
    pg.push_ok(&[("job", "nightly-export")], "x");
    pg.age(Duration::from_secs(601));
    let blocks = doc_blocks("A grace period, and notice");
    let lang = |l: &str| in_lang(&blocks, l).into_iter();
    let dir = tempfile::tempdir().unwrap();
    let state_dir = format!("{}/", dir.path().display());
    // The command lines as shown, with this test's gateway, state directory
    // and webhook.
    let script: String = lang("sh")
        .next()
        .expect("the command lines")
        .lines()
        .filter(|l| !l.starts_with("WEBHOOK_URL="))
        .map(|l| {
            l.replace("http://pushgateway:9091", &pg.url)
                .replace("/var/lib/pushgateway-janitor/", &state_dir)
                + "\n"
        })
        .collect();
    let hook = Receiver::start(&[]);
    let outputs: Vec<&str> = lang("text").collect();
    assert_eq!(outputs.len(), 2);
    let url = pg.url.clone();
    let run = || {
        let out = run_recipe(&script, &[("WEBHOOK_URL", &hook.url)]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}\n{}",
            stdout(&out),
            stderr(&out)
        );
        normalized(&stdout(&out), &url, "http://pushgateway:9091")
    };
    assert_eq!(
        run(),
        normalized(outputs[0], &url, "http://pushgateway:9091")
    );
    let sent = hook.requests();
    assert_eq!(sent.len(), 1);
    let example: serde_json::Value =
        serde_json::from_str(lang("json").next().expect("the notification")).unwrap();
    assert_eq!(shape(&sent[0].body), shape(&example));
    assert_eq!(
        normalized(
            sent[0].body["text"].as_str().unwrap(),
            &url,
            "http://pushgateway:9091"
        ),
        normalized(
            example["text"].as_str().unwrap(),
            &url,
            "http://pushgateway:9091"
        )
    );
    // Within the hour: pending, nothing posted. After it: deleted.
    let out = run();
    assert!(out.starts_with("pending "), "{out}");
    assert_eq!(hook.requests().len(), 1);
    common::age_marks(&dir.path().join("pending.json"), Duration::from_secs(3600));
    assert_eq!(
        run(),
        normalized(outputs[1], &url, "http://pushgateway:9091")
    );
    assert_eq!(hook.requests().len(), 2);
    assert_eq!(
        hook.requests()[1].body["deleted"][0]["labels"]["job"],
        "nightly-export"
    );
    pg.wait_for_groups(&[]);
}
