//! Behaviour against a real Pushgateway: exactly the stale groups go, each
//! addressed by its full grouping key, and nothing else is touched.

use crate::common;

use std::time::Duration;

use common::{janitor, report, stderr, Pushgateway};

/// How much older [`Pushgateway::age`] makes the groups pushed before it:
/// far beyond the threshold the tests pass (`10m`), while the groups pushed
/// after it are seconds old. No test waits for time to pass.
const AGE: Duration = Duration::from_secs(1800);

type Key<'a> = Vec<(&'a str, &'a str)>;

#[test]
fn deletes_every_grouping_key_shape_and_keeps_fresh_neighbours() {
    let mut pg = Pushgateway::start();
    let long_a = "a".repeat(2000);
    let long_b = format!("{}b", "a".repeat(1999));
    let flink_jm = "flinkjob3f6c2a9e0b1d4c5e8f7a6b5c4d3e2f10";
    let flink_tm = "flinkjob0123456789abcdef0123456789abcdef";
    // (stale, fresh neighbour with the same job)
    let shapes: Vec<(Key, Key)> = vec![
        // job only
        (
            vec![("job", "solo")],
            vec![("job", "solo"), ("instance", "h1")],
        ),
        // job + instance
        (
            vec![("job", "ji"), ("instance", "h1")],
            vec![("job", "ji"), ("instance", "h2")],
        ),
        // explicit empty instance: its own group, not {job="empty"}
        (
            vec![("job", "empty"), ("instance", "")],
            vec![("job", "empty"), ("instance", "h1")],
        ),
        // three or more labels, differing only in the last one
        (
            vec![
                ("job", "multi"),
                ("instance", "h"),
                ("rack", "r1"),
                ("zone", "a"),
            ],
            vec![
                ("job", "multi"),
                ("instance", "h"),
                ("rack", "r2"),
                ("zone", "a"),
            ],
        ),
        // '/' in the job and in a value
        (
            vec![("job", "team/a"), ("path", "/x/y")],
            vec![("job", "team/a"), ("path", "/x/z")],
        ),
        // space, '+', '%', '=', unicode
        (
            vec![("job", "sp ace+%25=ü"), ("v", "a b+c%20=d ✓")],
            vec![("job", "sp ace+%25=ü"), ("v", "a b+c%20=e ✓")],
        ),
        // a 2,000-character value
        (
            vec![("job", "long"), ("v", long_a.as_str())],
            vec![("job", "long"), ("v", long_b.as_str())],
        ),
        // Flink: a JobManager group goes, a TaskManager of another run stays
        (
            vec![("job", flink_jm), ("instance", "jm")],
            vec![("job", flink_tm), ("instance", "tm-1")],
        ),
    ];
    for (stale, _) in &shapes {
        pg.push_ok(stale, "some_metric");
    }
    pg.age(AGE);
    for (_, fresh) in &shapes {
        pg.push_ok(fresh, "some_metric");
    }

    let out = janitor(&["--url", &pg.url, "--threshold", "10m", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let r = report(&out);
    for (stale, fresh) in &shapes {
        assert_eq!(r.action_of(stale), Some("deleted"), "{stale:?}");
        assert_eq!(r.action_of(fresh), Some("active"), "{fresh:?}");
    }
    assert_eq!(r.summary.deleted, shapes.len() as u64);
    assert_eq!(r.summary.active, shapes.len() as u64);
    assert_eq!(r.summary.groups, 2 * shapes.len() as u64);

    let fresh: Vec<&[(&str, &str)]> = shapes.iter().map(|(_, f)| f.as_slice()).collect();
    pg.wait_for_groups(&fresh);
}

#[test]
fn job_only_group_and_empty_instance_group_are_told_apart() {
    // {job="x"} and {job="x",instance=""} can both exist when the second
    // one's push fails (its series would collide); each is its own group.
    let mut pg = Pushgateway::start();
    let bare: &[(&str, &str)] = &[("job", "x")];
    let empty: &[(&str, &str)] = &[("job", "x"), ("instance", "")];
    pg.push_ok(bare, "some_metric");
    pg.age(AGE);
    assert_eq!(pg.push(empty, "some_metric 1\n"), 400);
    let groups = pg.groups();
    assert_eq!(groups.len(), 2, "{groups:?}");

    let out = janitor(&["--url", &pg.url, "--threshold", "10m", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let r = report(&out);
    assert_eq!(r.action_of(bare), Some("deleted"));
    // Its push failed a moment ago: alive.
    assert_eq!(r.action_of(empty), Some("active"));
    pg.wait_for_groups(&[empty]);
}

#[test]
fn a_group_whose_pushes_all_fail_is_alive() {
    let mut pg = Pushgateway::start();
    let old: &[(&str, &str)] = &[("job", "old")];
    let owner: &[(&str, &str)] = &[("job", "owner")];
    let failing: &[(&str, &str)] = &[("job", "failing"), ("instance", "tm-1")];
    pg.push_ok(old, "some_metric");
    pg.age(AGE);
    assert_eq!(pg.push(owner, "# TYPE conflict gauge\nconflict 1\n"), 200);
    // A type conflict with another group's family: the push fails, the group
    // exists with push_time_seconds 0 and a fresh failure time.
    assert_eq!(
        pg.push(failing, "# TYPE conflict counter\nconflict 1\n"),
        400
    );

    let out = janitor(&["--url", &pg.url, "--threshold", "10m", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let r = report(&out);
    assert_eq!(r.action_of(old), Some("deleted"));
    assert_eq!(r.action_of(owner), Some("active"));
    assert_eq!(r.action_of(failing), Some("active"));
    let g = r.gateways[0]
        .groups
        .iter()
        .find(|g| g.labels == common::labels(failing))
        .unwrap();
    assert_eq!(g.last_push, None);
    assert!(g.last_failure.is_some());
    assert_eq!(g.last_push_successful, Some(false));
    assert!(g.age_seconds.unwrap() < 2.0, "{g:?}");
    pg.wait_for_groups(&[owner, failing]);
}

#[test]
fn a_group_poisoned_by_a_family_named_labels_is_skipped_and_the_rest_proceeds() {
    let mut pg = Pushgateway::start();
    let poisoned: &[(&str, &str)] = &[("job", "poison")];
    let stale: &[(&str, &str)] = &[("job", "stale"), ("instance", "h")];
    pg.push_ok(poisoned, "labels");
    pg.push_ok(stale, "some_metric");
    pg.age(AGE);

    let out = janitor(&["--url", &pg.url, "--threshold", "10m", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let r = report(&out);
    assert_eq!(r.action_of(stale), Some("deleted"));
    let skipped: Vec<_> = r.gateways[0]
        .groups
        .iter()
        .filter(|g| g.action == "skipped")
        .collect();
    assert_eq!(skipped.len(), 1, "{:?}", r.gateways[0].groups);
    assert!(
        skipped[0].reason.contains("\"labels\""),
        "{}",
        skipped[0].reason
    );
    assert_eq!(r.summary.skipped, 1);
    assert!(stderr(&out).contains("skipped"), "warned on stderr");
    // The poisoned group is still there, and only it.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while pg.groups().len() != 1 {
        assert!(std::time::Instant::now() < deadline, "{:?}", pg.groups());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn dry_run_reports_would_delete_and_leaves_everything() {
    let mut pg = Pushgateway::start();
    let stale: &[(&str, &str)] = &[("job", "batch")];
    let fresh: &[(&str, &str)] = &[("job", "batch"), ("instance", "now")];
    pg.push_ok(stale, "some_metric");
    pg.age(AGE);
    pg.push_ok(fresh, "some_metric");

    let out = janitor(&[
        "--url",
        &pg.url,
        "--threshold",
        "10m",
        "--output",
        "json",
        "--dry-run",
    ]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let r = report(&out);
    assert!(r.dry_run);
    assert_eq!(r.action_of(stale), Some("would_delete"));
    assert_eq!(r.action_of(fresh), Some("active"));
    assert_eq!((r.summary.would_delete, r.summary.deleted), (1, 0));
    std::thread::sleep(Duration::from_millis(300));
    pg.wait_for_groups(&[stale, fresh]);
}

#[test]
fn human_output_lists_actions_and_a_summary() {
    let mut pg = Pushgateway::start();
    let stale: &[(&str, &str)] = &[("job", "gone"), ("instance", "h1")];
    let fresh: &[(&str, &str)] = &[("job", "here")];
    pg.push_ok(stale, "some_metric");
    pg.age(AGE);
    pg.push_ok(fresh, "some_metric");

    let out = janitor(&["--url", &pg.url, "--threshold", "10m"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let text = common::stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("deleted"), "{text}");
    assert!(lines[0].contains(r#"{job="gone",instance="h1"}"#), "{text}");
    assert!(lines[0].contains("threshold 10m"), "{text}");
    assert!(
        lines[1].contains("2 groups, 1 stale: 1 deleted, 0 failed; 1 active, 0 kept, 0 skipped"),
        "{text}"
    );

    // -v also lists the active group.
    let out = janitor(&["--url", &pg.url, "--threshold", "1h", "-v"]);
    let text = common::stdout(&out);
    assert!(
        text.lines()
            .any(|l| l.starts_with("active") && l.contains(r#"{job="here"}"#)),
        "{text}"
    );
}

#[test]
fn report_file_is_written_whatever_the_output() {
    let pg = Pushgateway::start();
    pg.push_ok(&[("job", "j")], "some_metric");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let out = janitor(&[
        "--url",
        &pg.url,
        "--dry-run",
        "--report-file",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let file: common::Report = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(file.schema, "pushgateway-janitor/report/v1");
    assert_eq!(file.action_of(&[("job", "j")]), Some("active"));
    // No temporary file is left beside it, only the lock file.
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, [".report.json.lock", "report.json"]);
}

#[test]
fn url_from_the_environment_and_path_prefix_with_trailing_slash() {
    let mut pg = Pushgateway::start_with(&["--web.route-prefix=/pgw"]);
    let stale: &[(&str, &str)] = &[("job", "prefixed")];
    let push_url = format!("{}/pgw/metrics/{}", pg.url, common::path_for(stale));
    let client = reqwest::blocking::Client::new();
    assert!(client
        .put(&push_url)
        .body("m 1\n")
        .send()
        .unwrap()
        .status()
        .is_success());
    pg.age(AGE);
    let out = common::janitor_cmd(&["--threshold", "10m", "--output", "json"])
        .env("PUSHGATEWAY_URL", format!("{}/pgw/", pg.url))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let r = report(&out);
    assert_eq!(r.gateways[0].url, format!("{}/pgw", pg.url));
    assert_eq!(r.action_of(stale), Some("deleted"));
}

#[test]
fn rules_keeps_selects_and_never_each_decide_in_one_run() {
    let mut pg = Pushgateway::start();
    let flink: &[(&str, &str)] = &[
        ("job", "flinkjob3f6c2a9e0b1d4c5e8f7a6b5c4d3e2f10"),
        ("instance", "taskmanager-1"),
    ];
    let backup: &[(&str, &str)] = &[("job", "backup")];
    let billing: &[(&str, &str)] = &[("job", "billing")];
    let audit: &[(&str, &str)] = &[("job", "audit")];
    let other: &[(&str, &str)] = &[("job", "other")];
    let plain: &[(&str, &str)] = &[("job", "plain")];
    for key in [flink, backup, billing, audit, other, plain] {
        pg.push_ok(key, "some_metric");
    }
    pg.age(AGE);

    let out = janitor(&[
        "--url",
        &pg.url,
        "--rule",
        r#"{job=~"flinkjob[0-9a-f]{32}"}=2s"#,
        "--rule",
        r#"{job="backup"}=1h"#,
        "--rule",
        r#"{job="audit"}=never"#,
        "--threshold",
        "10m",
        "--keep",
        r#"{job="billing"}"#,
        "--select",
        r#"{job!="other"}"#,
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let r = report(&out);
    let find = |key: &[(&str, &str)]| {
        r.gateways[0]
            .groups
            .iter()
            .find(|g| g.labels == common::labels(key))
            .unwrap()
    };
    assert_eq!(find(flink).action, "deleted");
    assert_eq!(find(flink).threshold_seconds, Some(2.0));
    assert!(
        find(flink)
            .reason
            .contains("--rule '{job=~\"flinkjob[0-9a-f]{32}\"}=2s'"),
        "{}",
        find(flink).reason
    );
    assert_eq!(find(backup).action, "active");
    assert_eq!(find(backup).threshold_seconds, Some(3600.0));
    assert!(
        find(backup)
            .reason
            .contains(r#"--rule '{job="backup"}=1h'"#),
        "{}",
        find(backup).reason
    );
    assert_eq!(find(billing).action, "kept");
    assert!(
        find(billing).reason.contains(r#"--keep '{job="billing"}'"#),
        "{}",
        find(billing).reason
    );
    assert_eq!(find(audit).action, "kept");
    assert_eq!(find(audit).threshold_seconds, None);
    assert!(
        find(audit).reason.contains("never"),
        "{}",
        find(audit).reason
    );
    assert_eq!(find(other).action, "ignored");
    assert_eq!(find(plain).action, "deleted");
    assert!(
        find(plain).reason.contains("(--threshold)"),
        "{}",
        find(plain).reason
    );
    assert_eq!(r.summary.ignored, 1);
    assert_eq!(r.summary.deleted, 2);
    pg.wait_for_groups(&[backup, billing, audit, other]);
}

/// A selector that matches no group on any gateway of the run is a typo
/// more often than not: `--keep '{job="biling"}'` protected nothing, and
/// billing's stale group went, silently. Each is warned about once and
/// listed in the report; one that matches on any gateway is not.
#[test]
fn selectors_that_match_no_group_on_any_gateway_are_named() {
    let a = Pushgateway::start();
    let b = Pushgateway::start();
    a.push_ok(&[("job", "billing")], "x");
    b.push_ok(&[("job", "flink")], "x");
    let args = vec![
        "--url",
        a.url.as_str(),
        "--url",
        b.url.as_str(),
        "--keep",
        r#"{job="biling"}"#,
        "--keep",
        r#"{job="biling"}"#,
        "--keep",
        r#"{job="billing"}"#,
        "--select",
        r#"{job=~"b.*|f.*"}"#,
        "--select",
        r#"{job="nothing"}"#,
        // Matches on the second gateway only: matched.
        "--rule",
        r#"{job="flink"}=1h"#,
        "--rule",
        r#"{job="gone"} = 1h"#,
        "--output",
        "json",
    ];
    let (out, r) = common::clean_every_stale(args);
    let unmatched: Vec<(&str, &str)> = r
        .unmatched_selectors
        .iter()
        .map(|u| (u.flag.as_str(), u.selector.as_str()))
        .collect();
    assert_eq!(
        unmatched,
        vec![
            ("--select", r#"{job="nothing"}"#),
            ("--keep", r#"{job="biling"}"#),
            ("--rule", r#"{job="gone"}"#),
        ]
    );
    let err = stderr(&out);
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("matched no group"))
        .collect();
    assert_eq!(warnings.len(), 3, "{err}");
    for (warning, named) in warnings.iter().zip([
        r#"--select '{job="nothing"}'"#,
        r#"--keep '{job="biling"}'"#,
        r#"--rule '{job="gone"} = 1h'"#,
    ]) {
        assert!(
            warning.contains(&format!("WARN {named} matched no group on any gateway")),
            "{warning}"
        );
    }
    assert_eq!(r.action_of(&[("job", "billing")]), Some("kept"));
    assert_eq!(r.action_of(&[("job", "flink")]), Some("active"));

    // Nothing to warn about when every selector matched.
    let mut args = vec!["--url", a.url.as_str(), "--keep", r#"{job="billing"}"#];
    args.extend(["--output", "json"]);
    let out = janitor(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(report(&out).unmatched_selectors.is_empty());
    assert!(
        !stderr(&out).contains("matched no group"),
        "{}",
        stderr(&out)
    );
}

/// The harness's aging, itself: every push and failure time moves back by
/// exactly the amount asked, the groups and their metrics stay, the port
/// stays, and groups pushed afterwards are not aged.
#[test]
fn the_harness_ages_groups_through_the_persistence_file() {
    let mut pg = Pushgateway::start();
    let ok: &[(&str, &str)] = &[("job", "ok"), ("instance", "a")];
    let failing: &[(&str, &str)] = &[("job", "failing")];
    pg.push_ok(ok, "some_metric");
    assert_eq!(pg.push(&[("job", "owner")], "# TYPE c gauge\nc 1\n"), 200);
    assert_eq!(pg.push(failing, "# TYPE c counter\nc 1\n"), 400);
    let times = |pg: &Pushgateway| -> Vec<(String, f64, f64)> {
        let doc: serde_json::Value = reqwest::blocking::get(format!("{}/api/v1/metrics", pg.url))
            .unwrap()
            .json()
            .unwrap();
        let mut t: Vec<(String, f64, f64)> = doc["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                let value = |name: &str| {
                    g[name]["metrics"][0]["value"]
                        .as_str()
                        .unwrap()
                        .parse::<f64>()
                        .unwrap()
                };
                (
                    g["labels"]["job"].as_str().unwrap().to_owned(),
                    value("push_time_seconds"),
                    value("push_failure_time_seconds"),
                )
            })
            .collect();
        t.sort_by(|a, b| a.0.cmp(&b.0));
        t
    };
    let before = times(&pg);
    let port = pg.port;
    pg.age(AGE);
    assert_eq!(pg.port, port);
    let after = times(&pg);
    let shift = |t: f64| if t == 0.0 { 0.0 } else { t - AGE.as_secs_f64() };
    let expected: Vec<(String, f64, f64)> = before
        .iter()
        .map(|(job, push, failure)| (job.clone(), shift(*push), shift(*failure)))
        .collect();
    assert_eq!(after, expected);
    assert_eq!(pg.push(failing, "# TYPE c counter\nc 1\n"), 400);
    pg.push_ok(&[("job", "new")], "some_metric");
    let new = times(&pg).into_iter().find(|t| t.0 == "new").unwrap();
    assert!(new.1 > before[0].1.max(before[1].1), "{new:?} {before:?}");
    // The metrics themselves came back.
    let body = reqwest::blocking::get(format!("{}/metrics", pg.url))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        body.contains("some_metric{instance=\"a\",job=\"ok\"} 1"),
        "{body}"
    );
}
