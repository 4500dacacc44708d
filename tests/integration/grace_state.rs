//! The `--grace` state file against real Pushgateways: whose marks a pass
//! keeps (gateways named by their URL, replicas found through DNS, with a
//! real DNS server on loopback as in `discovery.rs`), what a pass does with
//! a file that is no longer a state, and the file's mode.
//!
//! Groups are aged by moving their push times back (`Pushgateway::age`),
//! and the grace period passes by moving the file's marks back
//! ([`common::age_marks`]): nothing waits for time to pass.

use crate::common;
use crate::lifecycle::Receiver;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::dns::Dnsmasq;
use common::{drain, error_lines, janitor, report, spawn_janitor, stderr, Pushgateway};

const STALE: &[(&str, &str)] = &[("job", "nightly"), ("instance", "gone")];

/// How many marks the state file at `path` holds, whatever its schema.
fn mark_count(path: &Path) -> usize {
    fn walk(v: &serde_json::Value) -> usize {
        match v {
            serde_json::Value::Object(map) => {
                usize::from(map.contains_key("stale_since")) + map.values().map(walk).sum::<usize>()
            }
            serde_json::Value::Array(items) => items.iter().map(walk).sum(),
            _ => 0,
        }
    }
    walk(&serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
}

/// The notifications `hook` received that announce `key` newly pending.
fn announced_new(hook: &Receiver, key: &[(&str, &str)]) -> usize {
    let want = serde_json::to_value(common::labels(key)).unwrap();
    hook.requests()
        .iter()
        .filter(|r| {
            r.body["pending"]
                .as_array()
                .is_some_and(|p| p.iter().any(|g| g["labels"] == want && g["new"] == true))
        })
        .count()
}

fn grace_args<'a>(state: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = common::grace_flags(state).to_vec();
    args.extend(["--output", "json", "--retries", "0"]);
    args.extend_from_slice(extra);
    args
}

/// Issue 23, item 1. Before, a pass of the plain-URL janitor erased the
/// replica's mark (a replica was recognised by its display name, and one
/// this pass did not find dropped out): the replica's group was announced
/// as newly pending on every pass of the other janitor, and never deleted.
#[test]
fn a_replicas_marks_survive_a_janitor_of_another_gateway_sharing_the_file() {
    let mut replica = Pushgateway::start();
    let mut plain = Pushgateway::start();
    replica.push_ok(STALE, "x");
    plain.push_ok(STALE, "x");
    replica.age(Duration::from_secs(7200));
    plain.age(Duration::from_secs(7200));
    let dns = Dnsmasq::start(&[("127.0.0.1", "pgw.test")], &[]);
    let server = dns.flag();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("pending.json");
    let hook = Receiver::start(&[]);
    let url = format!("dns+http://pgw.test:{}", replica.port);
    let through_dns = || {
        janitor(&grace_args(
            &state,
            &[
                "--url",
                &url,
                "--dns-server",
                &server,
                "--notify-url",
                &hook.url,
            ],
        ))
    };
    let by_url = || janitor(&grace_args(&state, &["--url", &plain.url]));

    let out = through_dns();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report(&out).action_of(STALE), Some("pending"));
    assert_eq!(announced_new(&hook, STALE), 1);
    let out = by_url();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report(&out).action_of(STALE), Some("pending"));
    // Still within the grace period: pending, not announced again.
    let out = through_dns();
    assert_eq!(report(&out).action_of(STALE), Some("pending"));
    assert_eq!(announced_new(&hook, STALE), 1, "{:?}", hook.requests());
    let out = by_url();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    common::age_marks(&state, Duration::from_secs(3601));
    let out = through_dns();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        report(&out).action_of(STALE),
        Some("deleted"),
        "{}",
        std::fs::read_to_string(&state).unwrap()
    );
    replica.wait_for_groups(&[]);
    assert_eq!(announced_new(&hook, STALE), 1, "{:?}", hook.requests());
    // The plain URL's mark was kept by the replica's passes too.
    let out = by_url();
    assert_eq!(report(&out).action_of(STALE), Some("deleted"));
    plain.wait_for_groups(&[]);
}

/// Issue 23, item 1. Before, a pass whose lookup failed dropped every
/// replica of the name: the grace period started again.
#[test]
fn a_pass_whose_dns_lookup_fails_keeps_the_replicas_marks() {
    let mut replica = Pushgateway::start();
    replica.push_ok(STALE, "x");
    replica.age(Duration::from_secs(7200));
    let dns = Dnsmasq::start(&[("127.0.0.1", "pgw.test")], &[]);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("pending.json");
    let url = format!("dns+http://pgw.test:{}", replica.port);
    // Nothing answers DNS there.
    let silent = format!("127.0.0.1:{}", common::refused_port());
    let pass = |server: &str| {
        janitor(&grace_args(
            &state,
            &["--url", &url, "--dns-server", server, "--timeout", "1s"],
        ))
    };
    let out = pass(&dns.flag());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report(&out).action_of(STALE), Some("pending"));
    assert_eq!(mark_count(&state), 1);

    let out = pass(&silent);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        error_lines(&stderr(&out))[0].contains("DNS lookup of pgw.test"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        mark_count(&state),
        1,
        "{}",
        std::fs::read_to_string(&state).unwrap()
    );

    common::age_marks(&state, Duration::from_secs(3601));
    let out = pass(&dns.flag());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report(&out).action_of(STALE), Some("deleted"));
    replica.wait_for_groups(&[]);
}

/// Issue 23, item 1. Before, a `dnssrvnoa+` target (connected to by name,
/// so without an address) was never taken for a replica: one no longer in
/// the SRV records kept its marks in the file for ever.
#[test]
fn dnssrvnoa_targets_that_vanish_drop_out_of_the_state_file() {
    let mut a = Pushgateway::start();
    let mut b = Pushgateway::start();
    for pg in [&mut a, &mut b] {
        pg.push_ok(STALE, "x");
        pg.age(Duration::from_secs(7200));
    }
    let hosts = [("127.0.0.1", "gw-a.test"), ("127.0.0.1", "gw-b.test")];
    let both = Dnsmasq::start(
        &hosts,
        &[
            ("_pgw._tcp.pgw.test", "gw-a.test", a.port),
            ("_pgw._tcp.pgw.test", "gw-b.test", b.port),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("pending.json");
    let url = "dnssrvnoa+http://_pgw._tcp.pgw.test";
    let pass = |dns: &Dnsmasq| {
        let server = dns.flag();
        janitor(&grace_args(
            &state,
            &["--url", url, "--dns-server", &server],
        ))
    };
    let out = pass(&both);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report(&out).summary.pending, 2);
    assert_eq!(mark_count(&state), 2);

    drop(both);
    let only_a = Dnsmasq::start(&hosts, &[("_pgw._tcp.pgw.test", "gw-a.test", a.port)]);
    let out = pass(&only_a);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report(&out).summary.pending, 1);
    let text = std::fs::read_to_string(&state).unwrap();
    assert_eq!(mark_count(&state), 1, "{text}");
    assert!(
        text.contains("gw-a.test") && !text.contains("gw-b.test"),
        "{text}"
    );
    b.wait_for_groups(&[STALE]);
}

/// Issue 24, item 18. Before, a loop pass replaced a file that had become
/// something else with its own marks, with a warning.
#[test]
fn a_loop_stops_when_its_state_file_became_something_else() {
    let mut pg = Pushgateway::start();
    pg.push_ok(STALE, "x");
    pg.age(Duration::from_secs(7200));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("pending.json");
    let mut args = grace_args(&state, &["--url", &pg.url, "--every", "1s"]);
    args.retain(|a| !["--output", "json"].contains(a));
    let mut child = spawn_janitor(&args, Stdio::null());
    let deadline = Instant::now() + Duration::from_secs(15);
    while !state.exists() || mark_count(&state) != 1 {
        assert!(Instant::now() < deadline, "no pass wrote the state file");
        std::thread::sleep(Duration::from_millis(50));
    }
    let precious = "{\"precious\": true}\n";
    std::fs::write(&state, precious).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert_eq!(
            std::fs::read_to_string(&state).unwrap(),
            precious,
            "the loop overwrote a file that is not a state"
        );
        assert!(Instant::now() < deadline, "the loop went on");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&state).unwrap(), precious);
    let (_, err) = drain(&mut child);
    let lines = error_lines(&err);
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("could not write the state file")
            && lines[0].contains("not overwriting it"),
        "{err}"
    );
    assert!(
        err.contains("the --state-file is no longer a state file"),
        "{err}"
    );
}

/// Issue 24, item 22. Before, the state file (grouping keys, as in the
/// archive) was created 0644; the textfile is for node_exporter, 0644.
#[test]
fn the_state_file_is_created_private_and_the_textfile_readable() {
    use std::os::unix::fs::PermissionsExt as _;
    let mut pg = Pushgateway::start();
    pg.push_ok(STALE, "x");
    pg.age(Duration::from_secs(7200));
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("pending.json");
    let prom = dir.path().join("j.prom");
    let out = janitor(&grace_args(
        &state,
        &["--url", &pg.url, "--textfile", prom.to_str().unwrap()],
    ));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mark_count(&state), 1);
    assert_eq!(mode(&state), 0o600, "the state file");
    assert_eq!(mode(&prom), 0o644, "the textfile");
    // A file the operator gave another mode keeps it.
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = janitor(&grace_args(&state, &["--url", &pg.url]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(mode(&state), 0o640);
}
