//! Gateway health (issue 25, docs/health.md): each group's size and the
//! gateway's totals before and after a pass, and groups whose pushes fail,
//! on real gateways of both versions.

use crate::common;

use std::path::PathBuf;
use std::time::Duration;

use common::{janitor, pushgateway_bin, pushgateway_bin_1_11, report, stdout, Pushgateway};

/// Both versions of the matrix, whatever `PUSHGATEWAY_BIN` is.
fn gateway_bins() -> Vec<PathBuf> {
    let mut bins = vec![pushgateway_bin(), pushgateway_bin_1_11()];
    bins.dedup();
    bins
}

/// Six series: three of a gauge, two of a counter, one histogram (its
/// buckets, sum and count are one entry of the API's `metrics`).
const SIX_SERIES: &str = "# TYPE a gauge
a{x=\"1\"} 1
a{x=\"2\"} 2
a{x=\"3\"} 3
# TYPE b counter
b{y=\"1\"} 1
b{y=\"2\"} 1
# TYPE h histogram
h_bucket{le=\"1\"} 1
h_bucket{le=\"+Inf\"} 2
h_sum 3
h_count 2
";

/// The length of each group of the gateway's API document, by its `job`.
fn group_lengths(pg: &Pushgateway) -> Vec<(String, u64)> {
    #[derive(serde::Deserialize)]
    struct Doc<'a> {
        #[serde(borrow)]
        data: Vec<&'a serde_json::value::RawValue>,
    }
    let text = pg.api_document();
    let doc: Doc = serde_json::from_slice(&text).unwrap();
    doc.data
        .iter()
        .map(|raw| {
            let group: serde_json::Value = serde_json::from_str(raw.get()).unwrap();
            let job = group["labels"]["job"].as_str().unwrap().to_owned();
            (job, raw.get().len() as u64)
        })
        .collect()
}

fn length_of(lengths: &[(String, u64)], job: &str) -> u64 {
    lengths
        .iter()
        .find(|(j, _)| j == job)
        .unwrap_or_else(|| panic!("no group {job} in {lengths:?}"))
        .1
}

/// The value of the one sample of `metric` with these labels in `text`.
fn sample(text: &str, metric: &str, labels: &str) -> f64 {
    let head = format!("{metric}{{{labels}}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&head))
        .unwrap_or_else(|| panic!("no {head} in:\n{text}"))
        .parse()
        .unwrap()
}

/// A run with `--threshold 1h`, `extra`, a JSON report and a textfile;
/// it must exit 0. Its report and the textfile.
fn run_with_textfile(pg: &Pushgateway, extra: &[&str]) -> (common::Report, String) {
    let dir = tempfile::tempdir().unwrap();
    let textfile = dir.path().join("pgj.prom");
    let mut args = vec!["--url", pg.url.as_str(), "--threshold", "1h"];
    args.extend_from_slice(extra);
    args.extend(["--output", "json", "--textfile", textfile.to_str().unwrap()]);
    let out = janitor(&args);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    (report(&out), std::fs::read_to_string(&textfile).unwrap())
}

/// The first line of a `-v` dry run's human output that contains `text`.
fn verbose_line(pg: &Pushgateway, text: &str) -> String {
    let out = janitor(&["--url", &pg.url, "--threshold", "1h", "--dry-run", "-v"]);
    let shown = stdout(&out);
    shown
        .lines()
        .find(|l| l.contains(text))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("{shown}"))
}

#[test]
fn a_pushed_group_with_n_series_reports_n_and_its_length() {
    for bin in gateway_bins() {
        let pg = Pushgateway::start_bin(&bin, &[]);
        assert_eq!(pg.push(&[("job", "six")], SIX_SERIES), 200);
        assert_eq!(pg.push(&[("job", "one")], "one 1\n"), 200);
        let lengths = group_lengths(&pg);
        let (r, text) = run_with_textfile(&pg, &["--dry-run"]);
        let six = r.group(&[("job", "six")]).unwrap();
        assert_eq!((six.series, six.bytes), (6, length_of(&lengths, "six")));
        let one = r.group(&[("job", "one")]).unwrap();
        assert_eq!((one.series, one.bytes), (1, length_of(&lengths, "one")));
        assert!(!six.last_push_failed && !one.last_push_failed);
        let gw = &r.gateways[0];
        let size = gw.size.expect("a scanned gateway has a size");
        let bytes: u64 = lengths.iter().map(|(_, n)| n).sum();
        assert_eq!((size.groups, size.series, size.bytes), (2, 7, bytes));
        // A dry run removes nothing, and its plan (nothing stale) would
        // leave it all.
        assert_eq!(gw.size_after, Some(size), "{bin:?}");
        assert_eq!(gw.planned_size_after, Some(size), "{bin:?}");
        assert_eq!((gw.groups_failing, gw.over_capacity), (0, false));

        let labels = |when: &str| format!("gateway=\"{}\",when=\"{when}\"", pg.url);
        for when in ["before", "after"] {
            let metric = |name: &str| sample(&text, name, &labels(when));
            assert_eq!(metric("pushgateway_janitor_gateway_groups"), 2.0);
            assert_eq!(metric("pushgateway_janitor_gateway_series"), 7.0);
            assert_eq!(metric("pushgateway_janitor_gateway_bytes"), bytes as f64);
        }
        let gateway = format!("gateway=\"{}\"", pg.url);
        assert_eq!(
            sample(&text, "pushgateway_janitor_groups_failing", &gateway),
            0.0
        );
        assert_eq!(
            sample(&text, "pushgateway_janitor_over_capacity", &gateway),
            0.0
        );

        // -v names the largest groups by series.
        let line = verbose_line(&pg, &format!("{}: size: ", pg.url));
        assert!(line.starts_with(&format!("{}: size: 2 groups, 7 series, ", pg.url)));
        assert!(
            line.contains(" in the API; the plan would leave 2 groups, 7 series, "),
            "{line}"
        );
        assert!(
            line.ends_with(r#"; largest left by series: {job="six"} 6, {job="one"} 1"#),
            "{line}"
        );
    }
}

#[test]
fn the_size_after_a_pass_leaves_out_the_groups_it_deleted() {
    for bin in gateway_bins() {
        let mut pg = Pushgateway::start_bin(&bin, &[]);
        assert_eq!(pg.push(&[("job", "old")], SIX_SERIES), 200);
        pg.age(Duration::from_secs(2 * 3600));
        assert_eq!(pg.push(&[("job", "new")], "one 1\n"), 200);
        let lengths = group_lengths(&pg);
        let (r, text) = run_with_textfile(&pg, &[]);
        assert_eq!(r.action_of(&[("job", "old")]), Some("deleted"));
        let gw = &r.gateways[0];
        let (old, new) = (length_of(&lengths, "old"), length_of(&lengths, "new"));
        let before = gw.size.unwrap();
        let after = gw.size_after.unwrap();
        assert_eq!(
            (before.groups, before.series, before.bytes),
            (2, 7, old + new)
        );
        assert_eq!((after.groups, after.series, after.bytes), (1, 1, new));
        let labels = format!("gateway=\"{}\",when=\"after\"", pg.url);
        assert_eq!(
            sample(&text, "pushgateway_janitor_gateway_series", &labels),
            1.0
        );
    }
}

/// Issue 28 item 2: a metric family named `labels` takes the place of the
/// group's `labels` object in the API, so the scan cannot read the group
/// (`skipped`); its series are the gateway's all the same, that family's
/// included. Before: 2 series (the two of `other`), where the gateway
/// holds 3.
#[test]
fn a_group_the_scan_could_not_read_counts_every_series() {
    for bin in gateway_bins() {
        let pg = Pushgateway::start_bin(&bin, &[]);
        let body = "labels 1\nother{a=\"1\"} 1\nother{a=\"2\"} 1\n";
        assert_eq!(pg.push(&[("job", "victim")], body), 200);
        let (r, text) = run_with_textfile(&pg, &["--dry-run"]);
        let gw = &r.gateways[0];
        let skipped: Vec<&common::GroupReport> =
            gw.groups.iter().filter(|g| g.action == "skipped").collect();
        assert_eq!(skipped.len(), 1, "{bin:?}: {:#?}", gw.groups);
        assert_eq!(skipped[0].series, 3, "{bin:?}");
        assert_eq!(gw.size.unwrap().series, 3, "{bin:?}");
        let labels = format!("gateway=\"{}\",when=\"before\"", pg.url);
        assert_eq!(
            sample(&text, "pushgateway_janitor_gateway_series", &labels),
            3.0
        );
    }
}

/// Both versions answer 400 to a POST whose body repeats a series, and
/// record the failure time: the group keeps its last good values.
#[test]
fn a_group_whose_last_push_was_rejected_is_marked_failing() {
    for bin in gateway_bins() {
        let mut pg = Pushgateway::start_bin(&bin, &[]);
        assert_eq!(pg.push(&[("job", "ok")], "a 1\n"), 200);
        assert_eq!(pg.push(&[("job", "bad")], "a 1\n"), 200);
        // A minute between the success and the failure: pushed back to back
        // they can fall in the same millisecond.
        pg.age(Duration::from_secs(60));
        let repeated = "a{x=\"1\"} 1\na{x=\"1\"} 2\n";
        assert_eq!(pg.post(&[("job", "bad")], repeated), 400, "{bin:?}");
        let (r, text) = run_with_textfile(&pg, &["--dry-run"]);
        let bad = r.group(&[("job", "bad")]).unwrap();
        assert!(bad.last_push_failed, "{bin:?}: {bad:?}");
        // The time of its last successful push is there, and earlier.
        let (success, failure) = (bad.last_push.clone(), bad.last_failure.clone());
        let at = |t: &Option<String>| {
            let t = t.as_deref().unwrap_or_else(|| panic!("{bad:?}"));
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                .unwrap_or_else(|e| panic!("{t}: {e}"))
        };
        // Typed times: the rendered ones differ in length ("05Z", "05.5Z").
        assert!(
            at(&failure) - at(&success) >= time::Duration::seconds(59),
            "{bad:?}"
        );
        assert_eq!(bad.action, "active");
        assert!(!r.group(&[("job", "ok")]).unwrap().last_push_failed);
        assert_eq!(r.gateways[0].groups_failing, 1);
        let gateway = format!("gateway=\"{}\"", pg.url);
        assert_eq!(
            sample(&text, "pushgateway_janitor_groups_failing", &gateway),
            1.0
        );

        // The human line says so, with the last success.
        let line = verbose_line(&pg, "{job=\"bad\"}");
        assert!(
            line.contains(&format!(
                "its last push failed (last success {})",
                success.unwrap()
            )),
            "{line}"
        );
        // Issue 29 item 7: a default run's summary line counts it, so a
        // cron log shows it. Before: `2 groups, 0 stale: 0 would be
        // deleted; 2 active, 0 kept, 0 skipped (dry run: nothing sent)`.
        let out = janitor(&["--url", &pg.url, "--threshold", "1h", "--dry-run"]);
        assert_eq!(
            stdout(&out),
            format!(
                "{}: 2 groups, 0 stale: 0 would be deleted; 2 active, 0 kept, 0 skipped, 1 failing (dry run: nothing sent)\n",
                pg.url
            ),
            "{bin:?}"
        );
    }
}

/// `--activity successful`: a group whose pushes have been rejected for
/// longer than its threshold is stale, its old values go; by default the
/// failed pushes keep it alive. Precedence is unchanged (`--keep` wins).
#[test]
fn with_activity_successful_a_group_whose_pushes_keep_failing_goes_stale() {
    for bin in gateway_bins() {
        let mut pg = Pushgateway::start_bin(&bin, &[]);
        assert_eq!(pg.push(&[("job", "bad")], "a 1\n"), 200);
        assert_eq!(pg.push(&[("job", "kept")], "a 1\n"), 200);
        assert_eq!(pg.push(&[("job", "never")], "a 1\n"), 200);
        // Two hours ago they were pushed; now their producers' pushes fail.
        pg.age(Duration::from_secs(2 * 3600));
        let repeated = "a{x=\"1\"} 1\na{x=\"1\"} 2\n";
        // `never-ok`'s pushes never succeeded: the gateway holds it with a
        // failure time and no push time.
        for job in ["bad", "kept", "never-ok"] {
            assert_eq!(pg.post(&[("job", job)], repeated), 400, "{bin:?}");
        }
        assert_eq!(pg.push(&[("job", "fresh")], "a 1\n"), 200);
        let run = |extra: &[&str]| {
            let mut args = vec![
                "--url",
                &pg.url,
                "--threshold",
                "1h",
                "--keep",
                "{job=\"kept\"}",
                "--keep",
                "{job=\"never-ok\"}",
                "--output",
                "json",
            ];
            args.extend_from_slice(extra);
            janitor(&args)
        };
        // Any push is activity: the failing group is active.
        let r = report(&run(&["--dry-run"]));
        assert_eq!(r.action_of(&[("job", "bad")]), Some("active"));
        assert!(r
            .group(&[("job", "bad")])
            .unwrap()
            .reason
            .starts_with("last failed push "));
        assert_eq!(r.action_of(&[("job", "never")]), Some("would_delete"));

        let archive = tempfile::tempdir().unwrap();
        let out = run(&[
            "--activity",
            "successful",
            "--archive",
            archive.path().to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
        let r = report(&out);
        let bad = r.group(&[("job", "bad")]).unwrap();
        assert_eq!(bad.action, "deleted", "{bin:?}: {bad:?}");
        // Issue 29 item 6: kept before any age, as docs/policy.md orders
        // it (it was `skipped`, "no push ever succeeded").
        let never_ok = r.group(&[("job", "never-ok")]).unwrap();
        assert_eq!(never_ok.last_push, None, "{never_ok:?}");
        assert_eq!(never_ok.action, "kept", "{bin:?}: {never_ok:?}");
        assert_eq!(
            never_ok.reason,
            "no push ever succeeded (--activity successful); protected by --keep '{job=\"never-ok\"}'"
        );
        // Issue 28 item 3: the activity the plan counted is the one the
        // report and the archive record show (they showed the failed
        // push, 2 hours after it, with the age of the success).
        assert!(bad.last_failure > bad.last_push, "{bad:?}");
        assert_eq!(bad.last_activity, bad.last_push, "{bin:?}: {bad:?}");
        assert!(bad.age_seconds.unwrap() > 7_000.0, "{bad:?}");
        let record = archived_record(archive.path(), "bad");
        assert_eq!(
            record["last_activity"].as_str(),
            bad.last_push.as_deref(),
            "{record}"
        );
        assert!(
            bad.reason
                .starts_with("last successful push (--activity successful) ")
                && bad.reason.ends_with(" ago, longer than 1h (--threshold)"),
            "{}",
            bad.reason
        );
        assert_eq!(r.action_of(&[("job", "kept")]), Some("kept"));
        assert_eq!(r.action_of(&[("job", "never")]), Some("deleted"));
        assert_eq!(r.action_of(&[("job", "fresh")]), Some("active"));
        let left = pg.groups();
        assert_eq!(left.len(), 3, "{left:?}");
    }
}

/// The one archive record of the group `{job="JOB"}` in `dir`.
fn archived_record(dir: &std::path::Path, job: &str) -> serde_json::Value {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                let record: serde_json::Value = serde_json::from_str(line).unwrap();
                if record["labels"]["job"] == job {
                    found.push(record);
                }
            }
        }
    }
    assert_eq!(found.len(), 1, "{found:?}");
    found.remove(0)
}

/// A gateway with groups of known ages and sizes, pushed in turn and aged
/// with `pg.age` (the janitor's clock is not touched): `stale` silent 25h
/// (1 series), `a` and `keep` 4h (1 each), `b` 2h (1), `c` 1h (3 series),
/// `d` just pushed (1). Against `--threshold 1d` only `stale` is stale,
/// and 5 groups with 7 series remain without it.
fn bounded_gateway(bin: &std::path::Path) -> Pushgateway {
    let mut pg = Pushgateway::start_bin(bin, &[]);
    let push = |pg: &Pushgateway, job: &str, body: &str| {
        assert_eq!(pg.push(&[("job", job)], body), 200, "{job}");
    };
    push(&pg, "stale", "s 1\n");
    pg.age(Duration::from_secs(21 * 3600));
    push(&pg, "a", "s 1\n");
    push(&pg, "keep", "s 1\n");
    pg.age(Duration::from_secs(2 * 3600));
    push(&pg, "b", "s 1\n");
    pg.age(Duration::from_secs(3600));
    push(&pg, "c", "s{x=\"1\"} 1\ns{x=\"2\"} 1\ns{x=\"3\"} 1\n");
    pg.age(Duration::from_secs(3600));
    push(&pg, "d", "s 1\n");
    pg
}

fn bounded_run(pg: &Pushgateway, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "--url",
        &pg.url,
        "--threshold",
        "1d",
        "--keep",
        "{job=\"keep\"}",
        "--evict-after",
        "30m",
        "--output",
        "json",
    ];
    args.extend_from_slice(extra);
    janitor(&args)
}

fn actions(r: &common::Report) -> Vec<(String, String)> {
    ["stale", "a", "keep", "b", "c", "d"]
        .iter()
        .map(|job| {
            let action = r.action_of(&[("job", job)]).unwrap_or("gone");
            (job.to_string(), action.to_owned())
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(j, a)| (j.to_string(), a.to_string()))
        .collect()
}

fn jobs_left(pg: &Pushgateway) -> Vec<String> {
    let mut jobs: Vec<String> = pg.groups().into_iter().map(|g| g["job"].clone()).collect();
    jobs.sort();
    jobs
}

#[test]
fn a_bound_evicts_the_longest_silent_groups_and_a_dry_run_only_says_so() {
    for bin in gateway_bins() {
        let pg = bounded_gateway(&bin);
        // --max-groups 3: a (4h; keep, as silent, is kept), then b (2h).
        let out = bounded_run(&pg, &["--max-groups", "3", "--dry-run"]);
        assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
        let r = report(&out);
        let want = [
            ("stale", "would_delete"),
            ("a", "would_evict"),
            ("keep", "kept"),
            ("b", "would_evict"),
            ("c", "active"),
            ("d", "active"),
        ];
        assert_eq!(actions(&r), pairs(&want), "{bin:?}");
        let a = r.group(&[("job", "a")]).unwrap();
        assert!(
            // Issue 29 item 2: not "evicted:" for a group a dry run keeps.
            a.reason.starts_with(
                "eviction for --max-groups 3: the gateway would hold 5 groups once the stale groups go; last push "
            ),
            "{}",
            a.reason
        );
        assert!(
            a.reason.contains("at least --evict-after 30m"),
            "{}",
            a.reason
        );
        assert_eq!((r.summary.would_evict, r.summary.stale), (2, 3));
        assert!(!r.gateways[0].over_capacity);
        // Nothing was deleted.
        assert_eq!(jobs_left(&pg), ["a", "b", "c", "d", "keep", "stale"]);

        // The series bound: 7 series remain, at most 5: a, then b, by
        // silence; c, the largest, is silent less long and stays.
        let out = bounded_run(&pg, &["--max-series", "5", "--dry-run"]);
        let r = report(&out);
        assert_eq!(actions(&r), pairs(&want), "{bin:?}");
        assert!(
            r.group(&[("job", "b")])
                .unwrap()
                .reason
                .starts_with("eviction for --max-series 5: the gateway would hold 7 series once the stale groups go;"),
            "{:?}",
            r.group(&[("job", "b")])
        );

        // For real: evicted, archived first (--archive), and gone as a
        // deleted group is.
        let archive = tempfile::tempdir().unwrap();
        let out = bounded_run(
            &pg,
            &[
                "--max-groups",
                "3",
                "--archive",
                archive.path().to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
        let r = report(&out);
        let done = [
            ("stale", "deleted"),
            ("a", "evicted"),
            ("keep", "kept"),
            ("b", "evicted"),
            ("c", "active"),
            ("d", "active"),
        ];
        assert_eq!(actions(&r), pairs(&done), "{bin:?}");
        assert_eq!((r.summary.evicted, r.summary.deleted), (2, 1));
        assert_eq!(r.gateways[0].size_after.unwrap().groups, 3);
        assert_eq!(jobs_left(&pg), ["c", "d", "keep"]);
        let mut archived: Vec<(String, bool)> = Vec::new();
        for entry in std::fs::read_dir(archive.path()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "jsonl") {
                for line in std::fs::read_to_string(&path).unwrap().lines() {
                    let record: serde_json::Value = serde_json::from_str(line).unwrap();
                    let job = record["labels"]["job"].as_str().unwrap().to_owned();
                    let reason = record["reason"].as_str().unwrap();
                    let evicted = reason.starts_with("eviction for --max-groups 3: ");
                    archived.push((job, evicted));
                }
            }
        }
        archived.sort();
        let want = [("a", true), ("b", true), ("stale", false)];
        let want: Vec<(String, bool)> = want.iter().map(|(j, e)| (j.to_string(), *e)).collect();
        assert_eq!(archived, want, "{bin:?}");
    }
}

#[test]
fn over_capacity_when_no_group_is_left_to_evict_and_the_exit_status_stays() {
    let pg = bounded_gateway(&pushgateway_bin());
    let dir = tempfile::tempdir().unwrap();
    let textfile = dir.path().join("pgj.prom");
    // At most 1 group: a, b and c go; keep is kept and d silent less than
    // 30m, so 2 remain.
    let out = bounded_run(
        &pg,
        &[
            "--max-groups",
            "1",
            "--dry-run",
            "--textfile",
            textfile.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let r = report(&out);
    assert_eq!(r.summary.would_evict, 3);
    assert_eq!(r.action_of(&[("job", "keep")]), Some("kept"));
    assert_eq!(r.action_of(&[("job", "d")]), Some("active"));
    assert!(r.gateways[0].over_capacity);
    let err = common::stderr(&out);
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("over capacity"))
        .collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(
        warnings[0].contains("would still hold more than --max-groups 1 groups"),
        "{err}"
    );
    let text = std::fs::read_to_string(&textfile).unwrap();
    let gateway = format!("gateway=\"{}\"", pg.url);
    assert_eq!(
        sample(&text, "pushgateway_janitor_over_capacity", &gateway),
        1.0
    );
}

/// Issue 28, review of item 6: the warning's bound came from what the pass
/// left and its cause from what the plan left, so a plan that met the bound
/// and whose DELETEs were never sent (the archive could not be written)
/// was said to be over capacity because "not every DELETE the plan sent is
/// known to have landed".
#[test]
fn over_capacity_after_deletes_that_were_not_sent_says_so() {
    let pg = bounded_gateway(&pushgateway_bin());
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    // Today's archive file (and tomorrow's, should the day turn) cannot be
    // written: a directory stands in its place.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    for at in [now, now + 86_400.0] {
        let name = pushgateway_janitor::archive::file_name(at);
        std::fs::create_dir_all(archive.join(name)).unwrap();
    }
    let textfile = dir.path().join("pgj.prom");
    let out = bounded_run(
        &pg,
        &[
            "--max-groups",
            "3",
            "--archive",
            archive.to_str().unwrap(),
            "--textfile",
            textfile.to_str().unwrap(),
        ],
    );
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    let r = report(&out);
    for job in ["stale", "a", "b"] {
        assert_eq!(r.action_of(&[("job", job)]), Some("delete_failed"), "{job}");
    }
    assert_eq!(jobs_left(&pg), ["a", "b", "c", "d", "keep", "stale"]);
    assert!(r.gateways[0].over_capacity);
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("over capacity"))
        .collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(
        warnings[0].contains(
            "still holds more than --max-groups 3 groups after the pass: DELETEs were not sent"
        ) && !warnings[0].contains("landed")
            && !warnings[0].contains("no group is left"),
        "{err}"
    );
    let text = std::fs::read_to_string(&textfile).unwrap();
    let gateway = format!("gateway=\"{}\"", pg.url);
    assert_eq!(
        sample(&text, "pushgateway_janitor_over_capacity", &gateway),
        1.0
    );
}

#[test]
fn with_grace_an_eviction_is_pending_first() {
    let pg = bounded_gateway(&pushgateway_bin());
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("pending.json");
    let flags = [
        "--max-groups",
        "3",
        "--grace",
        "1h",
        "--state-file",
        state.to_str().unwrap(),
    ];
    let out = bounded_run(&pg, &flags);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let r = report(&out);
    let a = r.group(&[("job", "a")]).unwrap();
    assert_eq!(a.action, "pending");
    assert!(
        a.reason.starts_with("eviction for --max-groups 3: ")
            && a.reason.contains("; pending for --grace 1h"),
        "{}",
        a.reason
    );
    assert_eq!(r.summary.pending, 3, "stale, a and b");
    assert_eq!(jobs_left(&pg), ["a", "b", "c", "d", "keep", "stale"]);
    // Issue 28 item 6: the gateway keeps its 6 groups, over --max-groups
    // 3: over capacity, as size_after says (it was false), with a warning
    // that says why.
    let gw = &r.gateways[0];
    assert_eq!(gw.size_after.unwrap().groups, 6);
    assert!(gw.over_capacity, "{gw:?}");
    let err = common::stderr(&out);
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("over capacity"))
        .collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(
        warnings[0].contains("still holds more than --max-groups 3 groups")
            && warnings[0].contains("pending (--grace)"),
        "{err}"
    );

    // The grace period passes (the marks move back, the groups stay as
    // they are): the evictions go.
    crate::common::age_marks(&state, Duration::from_secs(3600));
    let out = bounded_run(&pg, &flags);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let r = report(&out);
    assert_eq!(r.action_of(&[("job", "a")]), Some("evicted"));
    assert_eq!(r.action_of(&[("job", "b")]), Some("evicted"));
    assert_eq!(r.action_of(&[("job", "stale")]), Some("deleted"));
    assert_eq!(jobs_left(&pg), ["c", "d", "keep"]);
    assert!(!r.gateways[0].over_capacity);
}

/// Issue 29 item 8: after a real eviction `-v` printed the size before and
/// named the evicted group as the largest; a dry run's `size_after` is its
/// `size`, and nothing said what its plan would leave. Now the size line
/// says both, and a dry run reports `planned_size_after`.
#[test]
fn the_size_line_and_a_dry_run_say_what_the_pass_leaves() {
    for bin in gateway_bins() {
        let mut pg = Pushgateway::start_bin(&bin, &[]);
        assert_eq!(pg.push(&[("job", "big")], SIX_SERIES), 200);
        pg.age(Duration::from_secs(4 * 3600));
        assert_eq!(pg.push(&[("job", "small")], "one 1\n"), 200);
        let small = length_of(&group_lengths(&pg), "small");
        let args = |extra: &[&'static str]| {
            let mut args: Vec<&str> = vec![
                "--url",
                pg.url.as_str(),
                "--threshold",
                "1d",
                "--max-series",
                "3",
                "--evict-after",
                "30m",
            ];
            args.extend_from_slice(extra);
            args
        };
        let left = common::GatewaySize {
            groups: 1,
            series: 1,
            bytes: small,
        };
        let out = janitor(&args(&["--dry-run", "--output", "json"]));
        assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
        let r = report(&out);
        assert_eq!(r.action_of(&[("job", "big")]), Some("would_evict"));
        let gw = &r.gateways[0];
        assert_eq!(gw.size_after, gw.size, "nothing was sent");
        assert_eq!(gw.planned_size_after, Some(left), "{bin:?}: {gw:?}");
        assert!(!gw.over_capacity);

        let size_line = |out: &std::process::Output| {
            let shown = stdout(out);
            shown
                .lines()
                .find(|l| l.starts_with(&format!("{}: size: ", pg.url)))
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("{shown}"))
        };
        let line = size_line(&janitor(&args(&["--dry-run", "-v"])));
        assert!(
            line.starts_with(&format!("{}: size: 2 groups, 7 series, ", pg.url))
                && line.contains("; the plan would leave 1 group, 1 series, ")
                && line.ends_with(r#"; largest left by series: {job="small"} 1"#),
            "{line}"
        );

        let out = janitor(&args(&["-v"]));
        assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
        assert_eq!(jobs_left(&pg), ["small"]);
        let line = size_line(&out);
        assert!(
            line.starts_with(&format!("{}: size: 2 groups, 7 series, ", pg.url))
                && line.contains("; after the pass: 1 group, 1 series, ")
                && line.ends_with(r#"; largest left by series: {job="small"} 1"#),
            "{bin:?}: {line}"
        );
    }
}

/// Issue 29 item 2: an eviction says it is one on every line a person
/// reads: the bound, the size it acts on, the silence against
/// `--evict-after`, pending for a bound, and the summary counts evictions
/// apart from stale groups. Before, each line read as a stale group's
/// (`would evict    {job="b"}  silent 2h (threshold 1d, --threshold)`,
/// `pending ... (threshold 1d, --threshold): deletable from ...`) and the
/// summary said `3 stale: 1 would be deleted, 2 would be evicted`.
#[test]
fn an_eviction_says_so_on_every_human_line() {
    for bin in gateway_bins() {
        let pg = bounded_gateway(&bin);
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("pending.json");
        let human = |extra: &[&str]| {
            let mut args = extra.to_vec();
            args.extend(["--output", "human"]);
            let out = bounded_run(&pg, &args);
            assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
            stdout(&out)
        };
        let line = |shown: &str, job: &str| -> String {
            let labels = format!("{{job=\"{job}\"}}  ");
            let found = shown.lines().find(|l| l.contains(&labels));
            found.unwrap_or_else(|| panic!("{job}: {shown}")).to_owned()
        };
        let summary = |shown: &str| shown.lines().last().unwrap_or_default().to_owned();

        let shown = human(&["--max-series", "5", "--dry-run"]);
        let b = line(&shown, "b");
        assert!(
            b.starts_with(r#"would evict    {job="b"}  eviction for --max-series 5: the gateway would hold 7 series; silent "#)
                && b.ends_with(", at least --evict-after 30m"),
            "{bin:?}: {b}"
        );
        assert!(!b.contains("threshold"), "{b}");
        assert_eq!(
            summary(&shown),
            format!("{}: 6 groups, 1 stale: 1 would be deleted; 2 would be evicted for --max-series 5; 2 active, 1 kept, 0 skipped (dry run: nothing sent)", pg.url),
            "{bin:?}"
        );

        let grace = [
            "--max-groups",
            "3",
            "--grace",
            "1h",
            "--state-file",
            state.to_str().unwrap(),
        ];
        let shown = human(&grace);
        let a = line(&shown, "a");
        assert!(
            a.starts_with(r#"pending        {job="a"}  eviction for --max-groups 3: the gateway would hold 5 groups; silent "#)
                && a.contains(", at least --evict-after 30m: deletable from "),
            "{bin:?}: {a}"
        );
        assert_eq!(
            summary(&shown),
            format!("{}: 6 groups, 1 stale: 1 pending, 0 deleted, 0 failed; 2 pending for --max-groups 3; 2 active, 1 kept, 0 skipped", pg.url),
            "{bin:?}"
        );

        let shown = human(&["--max-groups", "3"]);
        let a = line(&shown, "a");
        assert!(
            a.starts_with(r#"evicted        {job="a"}  eviction for --max-groups 3: the gateway would hold 5 groups; silent "#),
            "{bin:?}: {a}"
        );
        assert_eq!(
            summary(&shown),
            format!("{}: 6 groups, 1 stale: 1 deleted, 0 failed; 2 evicted for --max-groups 3; 2 active, 1 kept, 0 skipped", pg.url),
            "{bin:?}"
        );
        assert_eq!(jobs_left(&pg), ["c", "d", "keep"]);
    }
}
