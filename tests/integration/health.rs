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

#[test]
fn a_pushed_group_with_n_series_reports_n_and_its_length() {
    for bin in gateway_bins() {
        let pg = Pushgateway::start_bin(&bin, &[]);
        assert_eq!(pg.push(&[("job", "six")], SIX_SERIES), 200);
        assert_eq!(pg.push(&[("job", "one")], "one 1\n"), 200);
        let lengths = group_lengths(&pg);
        let dir = tempfile::tempdir().unwrap();
        let textfile = dir.path().join("pgj.prom");
        let out = janitor(&[
            "--url",
            &pg.url,
            "--threshold",
            "1h",
            "--dry-run",
            "--output",
            "json",
            "--textfile",
            textfile.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
        let r = report(&out);
        let six = r.group(&[("job", "six")]).unwrap();
        assert_eq!((six.series, six.bytes), (6, length_of(&lengths, "six")));
        let one = r.group(&[("job", "one")]).unwrap();
        assert_eq!((one.series, one.bytes), (1, length_of(&lengths, "one")));
        assert!(!six.last_push_failed && !one.last_push_failed);
        let gw = &r.gateways[0];
        let size = gw.size.expect("a scanned gateway has a size");
        let bytes: u64 = lengths.iter().map(|(_, n)| n).sum();
        assert_eq!((size.groups, size.series, size.bytes), (2, 7, bytes));
        // A dry run removes nothing.
        assert_eq!(gw.size_after, Some(size), "{bin:?}");
        assert_eq!((gw.groups_failing, gw.over_capacity), (0, false));

        let text = std::fs::read_to_string(&textfile).unwrap();
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
        let out = janitor(&["--url", &pg.url, "--threshold", "1h", "--dry-run", "-v"]);
        let shown = stdout(&out);
        let line = shown
            .lines()
            .find(|l| l.starts_with(&format!("{}: size: ", pg.url)))
            .unwrap_or_else(|| panic!("{shown}"));
        assert!(line.starts_with(&format!("{}: size: 2 groups, 7 series, ", pg.url)));
        assert!(
            line.ends_with(r#" in the API; largest by series: {job="six"} 6, {job="one"} 1"#),
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
        let dir = tempfile::tempdir().unwrap();
        let textfile = dir.path().join("pgj.prom");
        let out = janitor(&[
            "--url",
            &pg.url,
            "--threshold",
            "1h",
            "--output",
            "json",
            "--textfile",
            textfile.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
        let r = report(&out);
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
        let text = std::fs::read_to_string(&textfile).unwrap();
        let labels = format!("gateway=\"{}\",when=\"after\"", pg.url);
        assert_eq!(
            sample(&text, "pushgateway_janitor_gateway_series", &labels),
            1.0
        );
    }
}

/// Both versions answer 400 to a POST whose body repeats a series, and
/// record the failure time: the group keeps its last good values.
#[test]
fn a_group_whose_last_push_was_rejected_is_marked_failing() {
    for bin in gateway_bins() {
        let pg = Pushgateway::start_bin(&bin, &[]);
        assert_eq!(pg.push(&[("job", "ok")], "a 1\n"), 200);
        assert_eq!(pg.push(&[("job", "bad")], "a 1\n"), 200);
        let repeated = "a{x=\"1\"} 1\na{x=\"1\"} 2\n";
        assert_eq!(pg.post(&[("job", "bad")], repeated), 400, "{bin:?}");
        let dir = tempfile::tempdir().unwrap();
        let textfile = dir.path().join("pgj.prom");
        let out = janitor(&[
            "--url",
            &pg.url,
            "--threshold",
            "1h",
            "--dry-run",
            "--output",
            "json",
            "--textfile",
            textfile.to_str().unwrap(),
        ]);
        let r = report(&out);
        let bad = r.group(&[("job", "bad")]).unwrap();
        assert!(bad.last_push_failed, "{bin:?}: {bad:?}");
        // The time of its last successful push is there, and earlier.
        let (success, failure) = (bad.last_push.clone(), bad.last_failure.clone());
        assert!(success.is_some() && failure.is_some(), "{bad:?}");
        assert!(success < failure, "{bad:?}");
        assert_eq!(bad.action, "active");
        assert!(!r.group(&[("job", "ok")]).unwrap().last_push_failed);
        assert_eq!(r.gateways[0].groups_failing, 1);
        let text = std::fs::read_to_string(&textfile).unwrap();
        let gateway = format!("gateway=\"{}\"", pg.url);
        assert_eq!(
            sample(&text, "pushgateway_janitor_groups_failing", &gateway),
            1.0
        );

        // The human line says so, with the last success.
        let out = janitor(&["--url", &pg.url, "--threshold", "1h", "--dry-run", "-v"]);
        let line = stdout(&out)
            .lines()
            .find(|l| l.contains("{job=\"bad\"}"))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("{}", stdout(&out)));
        assert!(
            line.contains(&format!(
                "its last push failed (last success {})",
                success.unwrap()
            )),
            "{line}"
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
        for job in ["bad", "kept"] {
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

        let out = run(&["--activity", "successful"]);
        assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
        let r = report(&out);
        let bad = r.group(&[("job", "bad")]).unwrap();
        assert_eq!(bad.action, "deleted", "{bin:?}: {bad:?}");
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
        assert_eq!(left.len(), 2, "{left:?}");
    }
}
