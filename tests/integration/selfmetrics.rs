//! The janitor's own metrics by push (`--push-metrics`, to a real
//! Pushgateway) and by scrape (`--listen-address` in loop mode).

use crate::common;

use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{drain, janitor, report, signal, spawn_janitor, stderr, wait_bounded, Pushgateway};

/// The value of the one sample of `name` in the gateway's own `/metrics`
/// that belongs to the janitor's group with `instance`.
fn pushed(pg: &Pushgateway, name: &str, instance: &str) -> Option<f64> {
    let text = reqwest::blocking::get(format!("{}/metrics", pg.url))
        .unwrap()
        .text()
        .unwrap();
    let want = format!("instance=\"{instance}\"");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(&want))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .next()
}

#[test]
fn push_metrics_reports_each_run_and_a_failed_run_keeps_the_last_success() {
    let pg = Pushgateway::start();
    pg.push_ok(&[("job", "other")], "x");
    let m = "pushgateway_janitor_";

    run_pushing_as_ci(&pg);
    let success = pushed(&pg, &format!("{m}last_success_timestamp_seconds"), "ci")
        .expect("the first run pushed its last success");
    assert_eq!(
        pushed(&pg, &format!("{m}last_run_success"), "ci"),
        Some(1.0)
    );
    assert_eq!(
        pushed(&pg, &format!("{m}last_run_timestamp_seconds"), "ci"),
        Some(success)
    );
    // Gauges only: counters of a batch job belong to the textfile or scrape.
    assert_eq!(pushed(&pg, &format!("{m}runs_total"), "ci"), None);
    let groups = pg.groups();
    assert!(
        groups.contains(&common::labels(&[
            ("job", "pushgateway-janitor"),
            ("instance", "ci")
        ])),
        "{groups:?}"
    );

    // A second gateway that refuses connections: the run fails (exit 1) and
    // pushes to the first --url all the same.
    let dead = format!("http://127.0.0.1:{}", common::refused_port());
    let out = janitor(&[
        "--url",
        &pg.url,
        "--url",
        &dead,
        "--retries",
        "0",
        "--push-metrics",
        "--metrics-instance",
        "ci",
        "--threshold",
        "1ms",
        // The local clock has sub-second steps (the Date header has not), so
        // a group pushed a few milliseconds ago is already past 1 ms.
        "--clock",
        "local",
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        pushed(&pg, &format!("{m}last_run_success"), "ci"),
        Some(0.0)
    );
    assert_eq!(
        pushed(&pg, &format!("{m}last_run_exit_code"), "ci"),
        Some(1.0)
    );
    assert_eq!(
        pushed(&pg, &format!("{m}last_success_timestamp_seconds"), "ci"),
        Some(success),
        "a failed run must not overwrite the last success"
    );
    // With a 1 ms threshold every group is stale, the janitor's own included;
    // its own group is kept and says why, the other one is deleted.
    let r = report(&out);
    let own = r.gateways[0]
        .groups
        .iter()
        .find(|g| g.labels.get("job").map(String::as_str) == Some("pushgateway-janitor"))
        .expect("the janitor's own group is in the report");
    assert_eq!(own.action, "kept");
    assert!(
        own.reason.contains("own --push-metrics job, never deleted"),
        "{}",
        own.reason
    );
    assert_eq!(r.action_of(&[("job", "other")]), Some("deleted"));
    pg.wait_for_groups(&[&[("job", "pushgateway-janitor"), ("instance", "ci")]]);
}

#[test]
fn a_failed_push_is_one_error_line_and_exit_1() {
    let pg = Pushgateway::start();
    let out = run_pushing_to_nobody(&pg, &["--output", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].starts_with("pushgateway-janitor: error: --push-metrics: POST ")
            && lines[0].contains("/metrics/job@base64/"),
        "{err}"
    );
    // The report itself is whole: the scan and plan went through.
    assert!(report(&out).gateways[0].error.is_none());
}

#[test]
fn pushed_metrics_carry_no_instance_label_unless_one_is_given() {
    // Every CronJob pod has a new host name: an instance label per host
    // name made a new group per run, which later runs deleted as stale.
    let pg = Pushgateway::start();
    let out = janitor(&["--url", &pg.url, "--push-metrics", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    pg.wait_for_groups(&[&[("job", "pushgateway-janitor")]]);
    run_pushing_as_ci(&pg);
    pg.wait_for_groups(&[
        &[("job", "pushgateway-janitor")],
        &[("job", "pushgateway-janitor"), ("instance", "ci")],
    ]);
}

#[test]
fn no_group_of_the_janitors_own_job_is_ever_deleted() {
    let pg = Pushgateway::start();
    // What earlier runs left: one pod's group, and a group without instance.
    pg.push_ok(
        &[("job", "pushgateway-janitor"), ("instance", "pod-1")],
        "x",
    );
    pg.push_ok(&[("job", "pushgateway-janitor")], "x");
    pg.push_ok(&[("job", "other")], "x");
    let args = vec![
        "--url",
        pg.url.as_str(),
        "--push-metrics",
        "--metrics-instance",
        "pod-2",
        // Neither a rule nor a selector can make them go.
        "--rule",
        r#"{job="pushgateway-janitor"}=1ms"#,
        "--select",
        r#"{job=~".+"}"#,
        "--output",
        "json",
    ];
    let (_, r) = common::clean_every_stale(args);
    for key in [
        &[("job", "pushgateway-janitor"), ("instance", "pod-1")][..],
        &[("job", "pushgateway-janitor")][..],
    ] {
        let group = r.gateways[0]
            .groups
            .iter()
            .find(|g| g.labels == common::labels(key))
            .unwrap_or_else(|| panic!("{key:?} is not in the report"));
        assert_eq!(group.action, "kept", "{key:?}");
        assert!(
            group
                .reason
                .contains(r#"job="pushgateway-janitor" is the janitor's own --push-metrics job"#),
            "{}",
            group.reason
        );
    }
    assert_eq!(r.action_of(&[("job", "other")]), Some("deleted"));
    pg.wait_for_groups(&[
        &[("job", "pushgateway-janitor")],
        &[("job", "pushgateway-janitor"), ("instance", "pod-1")],
        &[("job", "pushgateway-janitor"), ("instance", "pod-2")],
    ]);

    // Without --push-metrics too: another janitor's monitoring is not stale
    // data either.
    let mut args = vec!["--url", pg.url.as_str(), "--output", "json"];
    args.extend(common::EVERY_GROUP_STALE);
    let out = janitor(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report(&out).summary.kept, 3, "{}", common::stdout(&out));
    assert_eq!(pg.groups().len(), 3);
}

#[test]
fn a_dry_run_pushes_no_metrics() {
    let pg = Pushgateway::start();
    pg.push_ok(&[("job", "stale")], "x");
    let mut args = vec!["--url", pg.url.as_str(), "--dry-run", "--push-metrics"];
    args.extend(common::EVERY_GROUP_STALE);
    let out = janitor(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        common::stdout(&out).contains("(dry run: nothing sent)"),
        "{}",
        common::stdout(&out)
    );
    // "Nothing sent" is true: neither a DELETE nor the metrics' POST.
    assert_eq!(pg.groups(), vec![common::labels(&[("job", "stale")])]);
}

fn get(addr: &str, path: &str) -> (u16, String) {
    let response = reqwest::blocking::Client::new()
        .get(format!("http://{addr}{path}"))
        .timeout(Duration::from_secs(5))
        .send()
        .unwrap();
    (response.status().as_u16(), response.text().unwrap())
}

fn wait_for(addr: &str, path: &str, status: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(response) = reqwest::blocking::Client::new()
            .get(format!("http://{addr}{path}"))
            .timeout(Duration::from_secs(2))
            .send()
        {
            if response.status().as_u16() == status {
                return response.text().unwrap();
            }
        }
        assert!(Instant::now() < deadline, "{path} never answered {status}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn listen_address_serves_metrics_and_probes_in_loop_mode() {
    let pg = Pushgateway::start();
    pg.push_ok(&[("job", "j")], "x");
    let addr = format!("127.0.0.1:{}", common::free_port());
    let mut child = spawn_janitor(
        &["--url", &pg.url, "--every", "1h", "--listen-address", &addr],
        Stdio::null(),
    );

    wait_for(&addr, "/-/ready", 200);
    assert_eq!(get(&addr, "/-/healthy").0, 200);
    let (status, metrics) = get(&addr, "/metrics");
    assert_eq!(status, 200);
    let gw = format!("gateway=\"{}\"", pg.url);
    for line in [
        "pushgateway_janitor_last_run_success 1".to_owned(),
        "pushgateway_janitor_runs_total{result=\"success\"} 1".to_owned(),
        format!("pushgateway_janitor_groups{{{gw},action=\"active\"}} 1"),
        format!("pushgateway_janitor_gateway_up{{{gw}}} 1"),
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in:\n{metrics}");
    }
    // Issue 18 item 10. Before: the textfile's state line, which only the
    // next run reads, was in the exposition too.
    assert!(
        metrics
            .lines()
            .all(|l| !l.starts_with("# pushgateway-janitor state")),
        "{metrics}"
    );
    // Before: `/` was a 404.
    let index = reqwest::blocking::Client::new()
        .get(format!("http://{addr}/"))
        .send()
        .unwrap();
    assert_eq!(index.status().as_u16(), 200);
    assert_eq!(index.headers()["content-type"], "text/html; charset=utf-8");
    let page = index.text().unwrap();
    for link in ["href=\"metrics\"", "href=\"-/healthy\"", "href=\"-/ready\""] {
        assert!(page.contains(link), "{link} in:\n{page}");
    }
    assert_eq!(get(&addr, "/nothing").0, 404);
    let post = reqwest::blocking::Client::new()
        .post(format!("http://{addr}/metrics"))
        .send()
        .unwrap();
    assert_eq!(post.status().as_u16(), 405);
    assert_eq!(post.headers()["allow"], "GET, HEAD");

    // SIGTERM ends the loop with 0, the server with it.
    signal(child.id(), "TERM");
    let status = wait_bounded(&mut child, Duration::from_secs(15));
    let (_, err) = drain(&mut child);
    assert_eq!(status.code(), Some(0), "{err}");
    // Before: "stopping after 1 passes".
    assert!(
        err.contains("SIGTERM: stopping after 1 pass ") && !err.contains("1 passes"),
        "{err}"
    );
    assert!(TcpStream::connect(&addr).is_err(), "still listening");
}

#[test]
fn not_ready_until_the_first_pass_has_finished() {
    // A "gateway" that accepts connections and never answers: the first
    // scan waits for --timeout, and meanwhile the janitor is alive, not ready.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let addr = format!("127.0.0.1:{}", common::free_port());
    let _child = spawn_janitor(
        &[
            "--url",
            &url,
            "--every",
            "1h",
            "--timeout",
            "30s",
            "--retries",
            "0",
            "--listen-address",
            &addr,
            "-q",
        ],
        Stdio::null(),
    );
    wait_for(&addr, "/-/healthy", 200);
    let (status, body) = get(&addr, "/-/ready");
    assert_eq!(status, 503, "{body}");
    assert_eq!(get(&addr, "/metrics"), (200, String::new()));
}

#[test]
fn listen_address_in_use_is_one_error_line_and_exit_1() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let pg = Pushgateway::start();
    let out = janitor(&["--url", &pg.url, "--every", "1h", "--listen-address", &addr]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "pushgateway-janitor: error: cannot listen on {addr} (--listen-address): "
        )),
        "{err}"
    );
}

#[test]
fn listen_address_without_every_is_a_usage_error() {
    let out = janitor(&[
        "--url",
        "http://127.0.0.1:9",
        "--listen-address",
        "127.0.0.1:0",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--every"), "{}", stderr(&out));
    let out = janitor(&[
        "--url",
        "http://127.0.0.1:9",
        "--every",
        "1m",
        "--listen-address",
        "nope",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("expected HOST:PORT or :PORT"),
        "{}",
        stderr(&out)
    );
}

/// Issue 17, item 4: a push that fails makes the run exit 1, and the
/// textfile, written after the push, says so. Before: exit 1 while the
/// textfile said `last_run_exit_code 0` and `runs_total{result="success"}`.
#[test]
fn the_textfile_records_the_exit_status_a_failed_push_caused() {
    let pg = Pushgateway::start();
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("j.prom");
    let out = run_pushing_to_nobody(&pg, &["--textfile", prom.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = std::fs::read_to_string(&prom).unwrap();
    for line in [
        "pushgateway_janitor_last_run_exit_code 1",
        "pushgateway_janitor_last_run_success 0",
        "pushgateway_janitor_runs_total{result=\"failure\"} 1",
        "pushgateway_janitor_runs_total{result=\"success\"} 0",
        "pushgateway_janitor_last_success_timestamp_seconds 0",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
    }
}

/// A run on `pg` with `extra` flags whose `--push-metrics` goes to a port
/// nobody listens on, without retries: the push fails.
fn run_pushing_to_nobody(pg: &Pushgateway, extra: &[&str]) -> std::process::Output {
    let dead = format!("http://127.0.0.1:{}", common::refused_port());
    let push_metrics = format!("--push-metrics={dead}");
    let mut args = vec!["--url", &pg.url, "--retries", "0", &push_metrics];
    args.extend_from_slice(extra);
    janitor(&args)
}

/// A run that pushes its metrics with `instance="ci"` and must exit 0.
fn run_pushing_as_ci(pg: &Pushgateway) {
    let out = janitor(&[
        "--url",
        &pg.url,
        "--push-metrics",
        "--metrics-instance",
        "ci",
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}
