//! Undo (issue 19, section 3): `--archive` keeps each group before its
//! DELETE, `restore` pushes it back. The round trip is the proof, on the
//! real gateways (1.5.1, and 1.11 with and without
//! `--push.enable-utf8-names`): groups of every metric type the gateway
//! holds are pushed by hand (text, or protobuf for what text cannot
//! carry), cleaned with `--archive`, restored, and the gateway's own
//! `GET /api/v1/metrics` then shows each group exactly as before, push
//! times aside.
//!
//! Groups are aged without waiting: `--clock local` and a 1 ms threshold
//! make every group stale; `--select` picks the ones to delete, and a
//! neighbour that is not selected must come through untouched.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use common::{
    janitor, labels, path_for, pushgateway_bin, pushgateway_bin_1_11, report, stderr, stdout,
    Pushgateway, EVERY_GROUP_STALE,
};

const UTF8: &[&str] = &["--push.enable-utf8-names"];

/// `restore --output json`, read back strictly.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RestoreReport {
    schema: String,
    dry_run: bool,
    replace: bool,
    started_at: String,
    finished_at: String,
    url: String,
    version: Option<String>,
    utf8_names: Option<bool>,
    label_names: Option<String>,
    error: Option<String>,
    groups: Vec<RestoredGroup>,
    summary: RestoreSummary,
    other_gateways: Vec<OtherGateway>,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct OtherGateway {
    gateway: String,
    records: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RestoredGroup {
    labels: BTreeMap<String, String>,
    file: String,
    line: usize,
    archived_from: Option<String>,
    archived_at: Option<String>,
    action: String,
    reason: String,
    error: Option<String>,
    families: Vec<String>,
    notes: Vec<Note>,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct Note {
    family: String,
    note: String,
}

#[derive(Debug, Deserialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
struct RestoreSummary {
    groups: u64,
    restored: u64,
    would_restore: u64,
    skipped: u64,
    superseded: u64,
    ignored: u64,
    other_gateway: u64,
    failed: u64,
}

impl RestoreReport {
    fn group(&self, key: &[(&str, &str)]) -> &RestoredGroup {
        let want = labels(key);
        let found: Vec<&RestoredGroup> = self.groups.iter().filter(|g| g.labels == want).collect();
        match found.as_slice() {
            [one] => one,
            _ => panic!("{key:?}: {} records in {:#?}", found.len(), self.groups),
        }
    }
}

fn restore_report(out: &std::process::Output) -> RestoreReport {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not a restore report ({e}):\n{}\nstderr:\n{}",
            stdout(out),
            stderr(out)
        )
    })
}

/// Every archive file in `dir`.
fn archives(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    files
}

/// Runs `restore` on every archive in `dir`.
fn restore(dir: &Path, url: &str, extra: &[&str]) -> std::process::Output {
    let files = archives(dir);
    assert!(!files.is_empty(), "no archive in {}", dir.display());
    let mut args: Vec<&str> = vec!["restore"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    args.extend(["--url", url, "--output", "json"]);
    args.extend_from_slice(extra);
    janitor(&args)
}

/// A clean that finds every group stale, deletes the selected ones and
/// archives them in `dir`.
fn clean_archiving(url: &str, select: &str, dir: &Path) -> common::Report {
    let mut args = vec![
        "--url",
        url,
        "--select",
        select,
        "--output",
        "json",
        "--archive",
        dir.to_str().unwrap(),
    ];
    args.extend(EVERY_GROUP_STALE);
    let out = janitor(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    report(&out)
}

/// The gateway's groups as its API shows them, each without what a push
/// sets (the push times, each family's time stamp, `last_push_successful`),
/// by grouping key.
fn shown(pg: &Pushgateway) -> BTreeMap<BTreeMap<String, String>, Value> {
    let doc: Value = reqwest::blocking::get(format!("{}/api/v1/metrics", pg.url))
        .unwrap()
        .json()
        .unwrap();
    doc["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|group| {
            let mut group = group.as_object().unwrap().clone();
            let key: BTreeMap<String, String> =
                serde_json::from_value(group["labels"].clone()).unwrap();
            for gateway_own in [
                "push_time_seconds",
                "push_failure_time_seconds",
                "last_push_successful",
            ] {
                group.remove(gateway_own);
            }
            for family in group.values_mut() {
                if let Some(family) = family.as_object_mut() {
                    family.remove("time_stamp");
                }
            }
            (key, Value::Object(group))
        })
        .collect()
}

fn push_text(pg: &Pushgateway, key: &[(&str, &str)], body: &str) {
    assert_eq!(pg.push(key, body), 200, "push to {key:?}:\n{body}");
}

/// Counters, gauges, untyped series, a summary and a classic histogram,
/// with help texts (escapes included), special values and label values
/// that need escaping: what the text format carries.
const CLASSIC: &str = r#"# HELP requests_total Requests served, by "code" \\ path.
# TYPE requests_total counter
requests_total{code="200",path="/a b"} 1027
requests_total{code="500",path="/c\"d\\e\nf"} 3.5
# HELP temperature_celsius Temperature,\nmeasured outside.
# TYPE temperature_celsius gauge
temperature_celsius{site="north"} -12.25
temperature_celsius{site="south"} +Inf
temperature_celsius{site="nowhere"} NaN
# TYPE free_form untyped
free_form{x="1"} 1e+30
free_form{x="2"} -0
free_form{x="3"} 0.1
# HELP rpc_duration_seconds RPC latency.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.01"} 0.002
rpc_duration_seconds{quantile="0.5"} 0.05
rpc_duration_seconds{quantile="0.99"} 0.3
rpc_duration_seconds_sum 12.5
rpc_duration_seconds_count 100
# HELP size_bytes Sizes.
# TYPE size_bytes histogram
size_bytes_bucket{le="100"} 3
size_bytes_bucket{le="1000"} 7
size_bytes_bucket{le="1e+06"} 8
size_bytes_bucket{le="+Inf"} 9
size_bytes_sum 4321.5
size_bytes_count 9
"#;

use crate::common::protobuf as pb;

/// Native histograms (integer and float counts, negative buckets, several
/// schemas, with and without observations in the zero bucket) and a
/// classic histogram with float counts: what only protobuf carries.
fn histograms() -> Vec<u8> {
    // Integer counts, schema 0: a zero bucket of width 0.001 holding 1,
    // buckets 1 and 2 holding 2 each (deltas 2, 0).
    let native = pb::native_histogram(5_u64, 12.5, 0, (0.001, 1), (&[], &[]), (&[(1, 2)], &[2, 0]));
    // Float counts, schema 3, negative and positive buckets with gaps.
    let float = pb::native_histogram(
        7.75,
        -3.25,
        3,
        (1e-9, 0.25),
        (&[(-2, 1), (3, 2)], &[1.5, 2.0, 0.5]),
        (&[(0, 1), (10, 1)], &[2.5, 1.0]),
    );
    // Integer counts, schema -2, negative buckets, an empty zero bucket.
    let wide = pb::native_histogram(
        6_u64,
        -1000.0,
        -2,
        (2.938_735_877_055_719e-39, 0),
        (&[(1, 3)], &[1, 2, -1]),
        (&[], &[]),
    );
    // A classic histogram with float counts.
    let classic = pb::classic_histogram(3.5, 4.5, &[(1.25, 1.0), (3.5, f64::INFINITY)]);
    [
        ("latency_native_seconds", "Latency, native.", native),
        ("latency_float_seconds", "", float),
        ("offset_seconds", "Offsets.", wide),
        ("size_float_bytes", "Sizes, float counts.", classic),
    ]
    .into_iter()
    .flat_map(|(name, help, h)| pb::family(name, help, 4, &[("route", "/x")], 7, &h))
    .collect()
}

/// The round trip on one gateway: push, archive and delete, restore,
/// compare. `native`: the gateway has native histograms (1.11); `utf8`: it
/// runs with `--push.enable-utf8-names`.
fn round_trip(pg: &Pushgateway, native: bool, utf8: bool) {
    let classic = [("job", "restore"), ("instance", "classic")];
    let slash = [("job", "restore/slash"), ("env", "")];
    let hist = [("job", "restore"), ("instance", "hist")];
    let dotted = [("job", "restore"), ("service.name", "api ✓")];
    let fresh = [("job", "restore"), ("instance", "fresh")];
    push_text(pg, &classic, CLASSIC);
    push_text(
        pg,
        &slash,
        "# HELP up Whether it ran.\n# TYPE up gauge\nup 1\n",
    );
    let mut restored: Vec<&[(&str, &str)]> = vec![&classic, &slash];
    if native {
        pg.push_protobuf_ok(&path_for(&hist), histograms());
        restored.push(&hist);
    }
    if utf8 {
        let mut counter = Vec::new();
        pb::double(1, 42.0, &mut counter);
        let body = pb::family(
            "http.server.requests",
            "Requests, by \"http.method\".",
            0,
            &[("http.method", "GET"), ("ünïcode label", "ä")],
            3,
            &counter,
        );
        use base64::Engine as _;
        let value = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("api ✓");
        pg.push_protobuf_ok(
            &format!("job/restore/U__service_2e_name@base64/{value}"),
            body,
        );
        restored.push(&dotted);
    }
    push_text(pg, &fresh, "fresh_metric 1\n");
    let before = shown(pg);
    for key in &restored {
        assert!(before.contains_key(&labels(key)), "{key:?}: {before:#?}");
    }

    let dir = tempfile::tempdir().unwrap();
    let r = clean_archiving(
        &pg.url,
        r#"{job=~"restore.*",instance!="fresh"}"#,
        dir.path(),
    );
    let files = archives(dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    for key in &restored {
        let group = r
            .gateways
            .iter()
            .flat_map(|g| &g.groups)
            .find(|g| g.labels == labels(key))
            .unwrap();
        assert_eq!(group.action, "deleted", "{key:?}");
        assert_eq!(
            group.archive.as_deref(),
            Some(files[0].to_str().unwrap()),
            "{key:?}"
        );
    }
    assert_eq!(r.action_of(&fresh), Some("ignored"));
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    pg.wait_for_groups(&[&fresh]);

    let out = restore(dir.path(), &pg.url, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rr = restore_report(&out);
    assert_eq!(rr.schema, "pushgateway-janitor/restore/v1");
    assert_eq!(rr.error, None);
    assert_eq!(
        rr.summary,
        RestoreSummary {
            groups: restored.len() as u64,
            restored: restored.len() as u64,
            ..RestoreSummary::default()
        }
    );
    assert_eq!(
        rr.label_names.as_deref(),
        Some(if utf8 { "utf8" } else { "legacy" })
    );
    assert_eq!(rr.url, pg.url);
    // The flag exists from 1.11 on (the default binary is 1.5.1 in the
    // first row of scripts/test.sh, 1.11 in the second).
    let minor = rr
        .version
        .as_deref()
        .and_then(|v| v.strip_prefix("1."))
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse::<u32>().ok())
        .expect("a 1.x version");
    assert_eq!(
        rr.utf8_names,
        (minor >= 11).then_some(utf8),
        "before 1.11 there is no such flag"
    );
    assert!(rr.started_at <= rr.finished_at);
    for key in &restored {
        let g = rr.group(key);
        assert_eq!(g.action, "restored", "{key:?}: {g:?}");
        assert_eq!(g.archived_from.as_deref(), Some(pg.url.as_str()));
        assert_eq!(g.file, files[0].to_str().unwrap());
        assert!(g.archived_at.is_some());
        let mut families = g.families.clone();
        families.sort();
        let mut want: Vec<String> = before[&labels(key)]
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| *k != "labels")
            .cloned()
            .collect();
        want.sort();
        assert_eq!(families, want, "{key:?}");
        if **key != hist {
            assert!(g.notes.is_empty(), "{key:?}: {:?}", g.notes);
        }
    }
    if native {
        // What the API cannot show of a native histogram is named, per
        // family; the float histogram with a zero bucket and fractional
        // counts, and the classic one, have nothing to name.
        let notes = &rr.group(&hist).notes;
        let families: Vec<&str> = notes.iter().map(|n| n.family.as_str()).collect();
        assert_eq!(
            families,
            ["latency_native_seconds", "offset_seconds"],
            "{notes:?}"
        );
        assert!(notes[0]
            .note
            .contains("restored as an integer native histogram"));
        assert!(!notes[0].note.contains("zero bucket is empty"), "{notes:?}");
        assert!(notes[1].note.contains("zero bucket is empty"), "{notes:?}");
    }
    let after = shown(pg);
    for key in &restored {
        let key = labels(key);
        assert_eq!(after.get(&key), before.get(&key), "{key:?}");
    }
    // The neighbour was never touched.
    assert_eq!(after.get(&labels(&fresh)), before.get(&labels(&fresh)));
    assert_eq!(after.len(), restored.len() + 1, "{after:#?}");
}

#[test]
/// On the default binary: 1.5.1 in the first row of scripts/test.sh, 1.11
/// in the second.
fn a_round_trip_on_the_default_binary_restores_every_classic_type_exactly() {
    let pg = Pushgateway::start_bin(&pushgateway_bin(), &[]);
    round_trip(&pg, false, false);
}

#[test]
fn a_round_trip_on_1_11_restores_native_histograms_too() {
    let pg = Pushgateway::start_bin(&pushgateway_bin_1_11(), &[]);
    round_trip(&pg, true, false);
}

#[test]
fn a_round_trip_on_1_11_with_utf8_names_restores_them() {
    let pg = Pushgateway::start_bin(&pushgateway_bin_1_11(), UTF8);
    round_trip(&pg, true, true);
}

#[test]
fn a_group_pushed_again_is_skipped_unless_replace_and_the_newest_record_wins() {
    let pg = Pushgateway::start();
    let key = [("job", "batch"), ("instance", "")];
    let dir = tempfile::tempdir().unwrap();
    let select = r#"{job="batch"}"#;
    push_text(&pg, &key, "result 1\n");
    clean_archiving(&pg.url, select, dir.path());
    push_text(&pg, &key, "result 2\n");
    clean_archiving(&pg.url, select, dir.path());
    pg.wait_for_groups(&[]);
    // Its producer came back.
    push_text(&pg, &key, "result 3\n");
    let value = |pg: &Pushgateway| {
        shown(pg)[&labels(&key)]["result"]["metrics"][0]["value"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    let dry = restore(dir.path(), &pg.url, &["--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    let r = restore_report(&dry);
    assert!(r.dry_run);
    let actions: Vec<&str> = r.groups.iter().map(|g| g.action.as_str()).collect();
    assert_eq!(actions, ["superseded", "skipped"]);
    assert_eq!(r.groups[1].line, 2);

    let out = restore(dir.path(), &pg.url, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "skips are no failures: {}",
        stderr(&out)
    );
    assert_eq!(restore_report(&out).summary.skipped, 1);
    assert_eq!(value(&pg), "3");

    let dry = restore(dir.path(), &pg.url, &["--replace", "--dry-run"]);
    let r = restore_report(&dry);
    assert_eq!(r.groups[1].action, "would_restore");
    assert_eq!(value(&pg), "3", "a dry run sends nothing");

    let out = restore(dir.path(), &pg.url, &["--replace"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = restore_report(&out);
    assert!(r.replace);
    assert_eq!(r.groups[1].action, "restored");
    assert!(
        r.groups[1]
            .reason
            .starts_with("replacing the group the gateway held"),
        "{}",
        r.groups[1].reason
    );
    // The newest archive (the second push), not the first.
    assert_eq!(value(&pg), "2");
}

#[test]
fn a_group_that_cannot_be_archived_is_not_deleted() {
    let pg = Pushgateway::start();
    let key = [("job", "precious")];
    push_text(&pg, &key, "x 1\n");
    let dir = tempfile::tempdir().unwrap();
    // Today's archive file (and tomorrow's, should the day turn) cannot
    // be written: a directory stands in its place.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    for at in [now, now + 86_400.0] {
        let name = pushgateway_janitor::archive::file_name(at);
        std::fs::create_dir_all(dir.path().join(name)).unwrap();
    }
    let mut args = vec![
        "--url",
        pg.url.as_str(),
        "--output",
        "json",
        "--archive",
        dir.path().to_str().unwrap(),
    ];
    args.extend(EVERY_GROUP_STALE);
    let out = janitor(&args);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let r = report(&out);
    let group = &r.gateways[0].groups[0];
    assert_eq!(group.action, "delete_failed");
    assert_eq!(group.archive, None);
    let error = group.error.as_deref().unwrap();
    assert!(
        error.starts_with("not sent: the group could not be archived: could not archive it to "),
        "{error}"
    );
    let lines = common::error_lines(&stderr(&out)).join("\n");
    assert!(lines.contains("1 delete failed"), "{lines}");
    assert_eq!(pg.groups(), vec![labels(&key)], "the group was deleted");
}

#[test]
fn a_dry_run_archives_nothing_and_a_missing_directory_is_a_usage_error() {
    let pg = Pushgateway::start();
    let key = [("job", "j")];
    push_text(&pg, &key, "x 1\n");
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        "--url",
        pg.url.as_str(),
        "--archive",
        dir.path().to_str().unwrap(),
        "--dry-run",
    ];
    args.extend(EVERY_GROUP_STALE);
    let out = janitor(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    let missing = dir.path().join("nope");
    let mut args = vec![
        "--url",
        pg.url.as_str(),
        "--archive",
        missing.to_str().unwrap(),
    ];
    args.extend(EVERY_GROUP_STALE);
    let out = janitor(&args);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "pushgateway-janitor: error: --archive {}: the directory does not exist\n",
            missing.display()
        )
    );
    assert_eq!(pg.groups(), vec![labels(&key)]);
}

#[test]
fn unreadable_lines_and_groups_that_cannot_be_rebuilt_fail_alone() {
    let pg = Pushgateway::start();
    let good = [("job", "good")];
    let gauge_histogram = [("job", "gh")];
    push_text(&pg, &good, "x 1\n");
    push_text(&pg, &gauge_histogram, "y 1\n");
    let dir = tempfile::tempdir().unwrap();
    clean_archiving(&pg.url, r#"{job=~"good|gh"}"#, dir.path());
    pg.wait_for_groups(&[]);
    // The API shows a gauge histogram as a bare value: such a record
    // (made here by hand) cannot be rebuilt. And a line cut short.
    let file = &archives(dir.path())[0];
    let text = std::fs::read_to_string(file).unwrap();
    let edited: String = text
        .lines()
        .map(|l| {
            if l.contains(r#""job":"gh""#) {
                l.replace(r#""type":"UNTYPED""#, r#""type":"GAUGE_HISTOGRAM""#)
            } else {
                l.to_owned()
            }
        })
        .chain(std::iter::once(
            r#"{"schema":"pushgateway-janitor/archive/v1","arch"#.to_owned(),
        ))
        .map(|l| l + "\n")
        .collect();
    std::fs::write(file, edited).unwrap();

    let out = restore(dir.path(), &pg.url, &[]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let r = restore_report(&out);
    assert_eq!(r.group(&good).action, "restored");
    let gh = r.group(&gauge_histogram);
    assert_eq!(gh.action, "failed");
    assert!(
        gh.error
            .as_deref()
            .unwrap()
            .starts_with("metric family y: a gauge histogram"),
        "{gh:?}"
    );
    let torn = r.groups.last().unwrap();
    assert_eq!((torn.action.as_str(), torn.line), ("failed", 3));
    assert!(torn.labels.is_empty());
    assert_eq!(r.summary.failed, 2);
    let err = stderr(&out);
    let lines = common::error_lines(&err);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!(
            "pushgateway-janitor: error: 2 archived groups could not be restored to {}",
            pg.url
        )),
        "{lines:?}"
    );
    pg.wait_for_groups(&[&good]);
}

#[test]
fn restore_usage_errors_send_nothing() {
    let pg = Pushgateway::start();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.jsonl");
    let missing = missing.to_str().unwrap();
    for (args, line) in [
        (
            vec!["restore", missing, "--url", pg.url.as_str()],
            format!("cannot read {missing}: No such file or directory (os error 2)"),
        ),
        (
            vec!["restore", missing],
            "the following required arguments were not provided: --url <URL> (see restore --help)"
                .to_owned(),
        ),
        (
            vec!["--url", pg.url.as_str(), "restore", missing],
            "restore takes its flags after it: pushgateway-janitor restore FILE... --url URL [OPTIONS] (--url given before it) (see --help)".to_owned(),
        ),
        (
            vec!["restore", missing, "--url", "dns+http://pgw:9091"],
            "restore --url takes one gateway's URL, not a DNS name (dns+, dnssrv+, dnssrvnoa+): the groups would land on one replica at random".to_owned(),
        ),
        (
            vec!["restore", missing, "--url", pg.url.as_str(), "--from", "dns+http://pgw:9091"],
            "restore --from takes a gateway's URL as the records name it, not a DNS name (dns+, dnssrv+, dnssrvnoa+): a replica found through DNS by its address, http://IP:PORT".to_owned(),
        ),
        (
            vec!["restore", missing, "--url", pg.url.as_str(), "--from", "pgw:9091"],
            "--from 'pgw:9091' has no scheme: missing http://? (try --from http://pgw:9091)".to_owned(),
        ),
        (
            vec!["restor"],
            "unknown command 'restor': did you mean 'restore'? (see --help)".to_owned(),
        ),
    ] {
        let out = janitor(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(
            stderr(&out),
            format!("pushgateway-janitor: error: {line}\n"),
            "{args:?}"
        );
        assert!(out.stdout.is_empty());
    }
    // PUSHGATEWAY_URL (a clean's --url, set for the service) is no --url
    // given before `restore`.
    let out = common::janitor_cmd(&["restore", missing, "--url", pg.url.as_str()])
        .env("PUSHGATEWAY_URL", &pg.url)
        .output()
        .unwrap();
    assert_eq!(
        stderr(&out),
        format!("pushgateway-janitor: error: cannot read {missing}: No such file or directory (os error 2)\n")
    );
    assert!(pg.groups().is_empty());
}

/// The copy-paste example of docs/lifecycle.md's "Undo" section, run as it
/// is written against a real gateway (its URL put in for the one it names).
#[test]
fn the_undo_example_in_the_docs_runs() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/lifecycle.md")).unwrap();
    let section = doc
        .split("\n## ")
        .find(|s| s.starts_with("Undo: archive and restore"))
        .expect("the Undo section");
    let script = section
        .split("```sh\n")
        .nth(1)
        .and_then(|s| s.split("\n```").next())
        .expect("a sh block in the Undo section");
    let pg = Pushgateway::start();
    let work = tempfile::tempdir().unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_pushgateway-janitor"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // The recipe runs the janitor itself: its stderr is checked for a
    // panic as every run through the harness is.
    let out = common::checked(
        std::process::Command::new("bash")
            .args(["-eo", "pipefail", "-c", script])
            .env("url", &pg.url)
            .current_dir(work.path())
            .env("PATH", path)
            .env("NO_COLOR", "1")
            .env_remove("PUSHGATEWAY_URL")
            .env_remove("PUSHGATEWAY_JANITOR_LOG")
            .output()
            .unwrap(),
    );
    assert!(
        out.status.success(),
        "the example failed:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    // The output the block shows (its `# ` lines that are output) is
    // what the commands printed.
    let text = stdout(&out);
    let shown_output: Vec<String> = script
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .filter(|l| l.starts_with("would restore") || l.starts_with("$url:"))
        .map(|l| l.replace("$url", &pg.url))
        .collect();
    assert_eq!(shown_output.len(), 3, "{script}");
    for line in &shown_output {
        assert!(text.lines().any(|l| l == line), "{line:?} not in\n{text}");
    }
    assert!(
        text.contains(&format!("{:<14} {{job=\"backup\"}}  ", "restored")),
        "{text}"
    );
    let groups = shown(&pg);
    let backup = &groups[&labels(&[("job", "backup")])];
    assert_eq!(
        backup["backup_last_success_timestamp_seconds"]["metrics"][0]["value"],
        "1.7e+09"
    );

    // The record and the report the section shows have the fields the
    // janitor writes, no more, no fewer.
    let blocks: Vec<&str> = section
        .split("```json\n")
        .skip(1)
        .map(|b| b.split("\n```").next().unwrap())
        .collect();
    assert_eq!(blocks.len(), 2, "a record and a restore report");
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    let documented: Value = serde_json::from_str(blocks[0]).unwrap();
    let archive = archives(&work.path().join("archive"));
    let written = std::fs::read_to_string(&archive[0]).unwrap();
    let written: Value = serde_json::from_str(written.lines().next().unwrap()).unwrap();
    assert_eq!(keys(&documented), keys(&written));
    assert_eq!(keys(&documented["group"]), keys(&written["group"]));
    let report: RestoreReport = serde_json::from_str(blocks[1]).unwrap();
    assert_eq!(report.groups.len(), 1);
}

#[test]
fn restore_speaks_tls_and_basic_auth_as_a_clean_does() {
    use common::secure::{pki, Security};
    let pki = pki();
    let users = [("janitor", "s3cret-pw")];
    let pg = Pushgateway::start_secured(&Security {
        tls: Some(&pki),
        users: &users,
        ..Security::default()
    });
    let key = [("job", "secured")];
    push_text(&pg, &key, "x 1\n");
    let dir = tempfile::tempdir().unwrap();
    let ca = pki.ca.to_str().unwrap();
    let auth = ["--basic-auth-user", "janitor", "--ca-cert", ca];
    let mut args = vec![
        "--url",
        pg.url.as_str(),
        "--archive",
        dir.path().to_str().unwrap(),
    ];
    args.extend(EVERY_GROUP_STALE);
    args.extend(auth);
    let out = common::janitor_cmd(&args)
        .env("PUSHGATEWAY_PASSWORD", "s3cret-pw")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    pg.wait_for_groups(&[]);

    // Without credentials the gateway cannot be read: nothing is pushed.
    let out = restore(dir.path(), &pg.url, &["--ca-cert", ca, "--retries", "0"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r = restore_report(&out);
    assert!(r.error.as_deref().unwrap().contains("HTTP 401"), "{r:?}");
    assert_eq!(r.groups[0].action, "failed");
    let err = stderr(&out);
    let lines = common::error_lines(&err);
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].ends_with("; nothing was restored"), "{err}");

    let files = archives(dir.path());
    let mut args = vec![
        "restore",
        files[0].to_str().unwrap(),
        "--url",
        pg.url.as_str(),
    ];
    args.extend(auth);
    args.extend(["--output", "json"]);
    let out = common::janitor_cmd(&args)
        .env("PUSHGATEWAY_PASSWORD", "s3cret-pw")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(restore_report(&out).groups[0].action, "restored");
    assert!(!stdout(&out).contains("s3cret") && !stderr(&out).contains("s3cret"));
    pg.wait_for_groups(&[&key]);
}

#[test]
fn a_select_that_matches_nothing_restores_nothing() {
    let pg = Pushgateway::start();
    let key = [("job", "kept-away")];
    push_text(&pg, &key, "x 1\n");
    let dir = tempfile::tempdir().unwrap();
    clean_archiving(&pg.url, r#"{job="kept-away"}"#, dir.path());
    pg.wait_for_groups(&[]);
    let out = restore(dir.path(), &pg.url, &["--select", r#"{job="other"}"#]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = restore_report(&out);
    assert_eq!(r.groups[0].action, "ignored");
    assert_eq!(r.groups[0].reason, "matched by no --select");
    assert!(pg.groups().is_empty());
}

/// What the API cannot carry (a gauge histogram is shown as a bare 0) is
/// not deleted with `--archive`: its record would not restore it. The
/// rest of the pass is archived, deleted and restored as usual.
#[test]
fn a_group_its_archive_record_cannot_restore_is_not_deleted() {
    let pg = Pushgateway::start_bin(&pushgateway_bin_1_11(), &[]);
    let good = [("job", "good")];
    let gauge_histogram = [("job", "gh")];
    push_text(&pg, &good, "x 1\n");
    let mut h = Vec::new();
    pb::uint(1, 3, &mut h);
    pb::double(2, 4.5, &mut h);
    let mut bucket = Vec::new();
    pb::uint(1, 3, &mut bucket);
    pb::double(2, f64::INFINITY, &mut bucket);
    pb::bytes(3, &bucket, &mut h);
    pg.push_protobuf_ok(
        "job/gh",
        pb::family("queue_size", "Queued items.", 5, &[], 7, &h),
    );
    let before = shown(&pg);
    assert_eq!(
        before[&labels(&gauge_histogram)]["queue_size"]["type"],
        "GAUGE_HISTOGRAM"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        "--url",
        pg.url.as_str(),
        "--select",
        r#"{job=~"good|gh"}"#,
        "--output",
        "json",
        "--archive",
        dir.path().to_str().unwrap(),
    ];
    args.extend(EVERY_GROUP_STALE);
    // A dry run says what the real run will do, and writes nothing.
    let dry = janitor(&[&args[..], &["--dry-run"]].concat());
    assert_eq!(dry.status.code(), Some(4), "{}", stderr(&dry));
    let r = report(&dry);
    assert_eq!(r.action_of(&good), Some("would_delete"));
    assert_eq!(r.action_of(&gauge_histogram), Some("delete_failed"));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    assert_eq!(shown(&pg), before);

    let out = janitor(&args);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let r = report(&out);
    assert_eq!(r.action_of(&good), Some("deleted"));
    let gh = r.group(&gauge_histogram).unwrap();
    assert_eq!(gh.action, "delete_failed");
    assert_eq!(gh.archive, None);
    let error = gh.error.as_deref().unwrap();
    assert!(
        error.starts_with(
            "not sent: its archive record would not restore it: metric family queue_size: a gauge histogram"
        ),
        "{error}"
    );
    pg.wait_for_groups(&[&gauge_histogram]);
    assert_eq!(shown(&pg), {
        let mut kept = before.clone();
        kept.remove(&labels(&good));
        kept
    });

    // The archive holds what restore brings back, and nothing else.
    let out = restore(dir.path(), &pg.url, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = restore_report(&out);
    assert_eq!(r.groups.len(), 1, "{:#?}", r.groups);
    assert_eq!(r.group(&good).action, "restored");
    assert_eq!(shown(&pg), before);
}

/// A group its producer pushes while a long restore runs is not
/// overwritten without `--replace`: the gateway is scanned again before
/// each batch of PUTs. The PUTs go through a proxy that delays each by
/// 10 ms, so that the push lands in the middle of the restore; the group
/// pushed is the last one the restore would write.
#[test]
fn a_group_pushed_during_a_long_restore_is_not_overwritten() {
    use common::proxy::{Proxy, Rules};
    let pg = Pushgateway::start();
    let n = 300;
    let instances: Vec<String> = (0..n).map(|i| format!("{i:03}")).collect();
    for instance in &instances {
        push_text(&pg, &[("job", "many"), ("instance", instance)], "x 1\n");
    }
    let dir = tempfile::tempdir().unwrap();
    clean_archiving(&pg.url, r#"{job="many"}"#, dir.path());
    pg.wait_for_groups(&[]);
    let file = &archives(dir.path())[0];
    let text = std::fs::read_to_string(file).unwrap();
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let last_instance = last["labels"]["instance"].as_str().unwrap().to_owned();
    let key = [("job", "many"), ("instance", last_instance.as_str())];

    let proxy = Proxy::new(
        &pg.url,
        Rules {
            delay: Some(("/metrics/".into(), std::time::Duration::from_millis(10))),
            ..Rules::default()
        },
    );
    let out_path = dir.path().join("restore.json");
    let err_path = dir.path().join("restore.err");
    let mut child = common::janitor_cmd(&[
        "restore",
        file.to_str().unwrap(),
        "--url",
        &proxy.url,
        // The proxy's URL is not the gateway's the records name.
        "--from",
        &pg.url,
        "--output",
        "json",
    ])
    .stdout(std::fs::File::create(&out_path).unwrap())
    .stderr(std::fs::File::create(&err_path).unwrap())
    .spawn()
    .unwrap();
    // Pushed again by its producer once the restore is under way.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while pg.groups().len() < 10 {
        assert!(
            std::time::Instant::now() < deadline,
            "the restore did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    push_text(&pg, &key, "x 2\n");
    let restored_before = pg.groups().len();
    let status = common::wait_bounded(&mut child, std::time::Duration::from_secs(120));
    let err = std::fs::read_to_string(&err_path).unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(restored_before < n, "the push came after the restore");
    let r: RestoreReport = serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    let g = r.group(&key);
    assert_eq!(g.action, "skipped", "{g:?}");
    assert!(
        g.reason.starts_with("the gateway holds this group again"),
        "{}",
        g.reason
    );
    assert_eq!(r.summary.restored, n as u64 - 1);
    assert_eq!(
        shown(&pg)[&labels(&key)]["x"]["metrics"][0]["value"],
        "2",
        "the new push was overwritten"
    );
    // Again: every group is on the gateway, the rest as restored, in every
    // batch (each scanned again).
    let r = restore_report(&restore(dir.path(), &pg.url, &[]));
    let reasons: std::collections::BTreeMap<&str, usize> =
        r.groups.iter().fold(Default::default(), |mut m, g| {
            *m.entry(g.reason.split(';').next().unwrap()).or_default() += 1;
            m
        });
    assert_eq!(
        reasons,
        [
            (
                "the gateway holds this group again (pushed since it was archived)",
                1
            ),
            (
                "the gateway holds this group with the archived content",
                n - 1
            ),
        ]
        .into_iter()
        .collect()
    );
}

/// A dry run makes every check the real run makes, short of sending: a
/// record a UTF-8 gateway archived whose label name no path of a legacy
/// gateway can spell fails in both, with the same words, about restoring.
#[test]
fn a_dry_run_refuses_what_the_real_restore_refuses() {
    let source = Pushgateway::start_bin(&pushgateway_bin_1_11(), UTF8);
    let dotted = [("job", "utf"), ("service.name", "checkout")];
    use base64::Engine as _;
    let value = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("checkout");
    assert_eq!(
        source.push_path(
            &format!("job/utf/U__service_2e_name@base64/{value}"),
            "x 1\n"
        ),
        200
    );
    source.wait_for_groups(&[&dotted]);
    let dir = tempfile::tempdir().unwrap();
    clean_archiving(&source.url, r#"{job="utf"}"#, dir.path());

    // A 1.11 without the flag, and --label-names utf8 that contradicts it.
    let legacy = Pushgateway::start_bin(&pushgateway_bin_1_11(), &[]);
    let from = ["--from", source.url.as_str()];
    for extra in [&["--dry-run", "--from", source.url.as_str()][..], &from] {
        let out = restore(dir.path(), &legacy.url, extra);
        assert_eq!(out.status.code(), Some(4), "{extra:?}: {}", stderr(&out));
        let r = restore_report(&out);
        let g = r.group(&dotted);
        assert_eq!(g.action, "failed");
        assert_eq!(
            g.error.as_deref(),
            Some(
                "label name \"service.name\" cannot be written in a push path of a gateway \
                 without --push.enable-utf8-names (not a legacy name, or starting with the \
                 reserved \"__\"); restore this group to a gateway started with the flag"
            )
        );
        let out = restore(
            dir.path(),
            &legacy.url,
            &[extra, &["--label-names", "utf8"][..]].concat(),
        );
        assert_eq!(out.status.code(), Some(4), "{extra:?}: {}", stderr(&out));
        let error = restore_report(&out).group(&dotted).error.clone().unwrap();
        assert_eq!(
            error,
            "label name \"service.name\" is spelled differently with and without \
             --push.enable-utf8-names, and --label-names utf8 contradicts the gateway's \
             push.enable-utf8-names=false; give the mode it runs, or leave --label-names out"
        );
        let err = stderr(&out);
        assert!(
            !err.contains("could not be read") && !err.contains("clean"),
            "{err}"
        );
    }
    assert!(legacy.groups().is_empty());
}

/// The words of a restore that has little to do: a `--select` that
/// matches no archived group is warned about, an archive without records
/// says so, and a group this restore wrote before is not taken for its
/// producer's.
#[test]
fn a_restore_says_what_it_found_nothing_to_do_for() {
    let pg = Pushgateway::start();
    let key = [("job", "twice")];
    push_text(&pg, &key, "x 1\n");
    let dir = tempfile::tempdir().unwrap();
    clean_archiving(&pg.url, r#"{job="twice"}"#, dir.path());
    pg.wait_for_groups(&[]);

    let out = restore(dir.path(), &pg.url, &["--select", r#"{job="other"}"#]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains(r#"--select '{job="other"}' matched no archived group; check it for a typo"#),
        "{}",
        stderr(&out)
    );
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let out = janitor(&["restore", empty.to_str().unwrap(), "--url", &pg.url]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the archive files hold no records: there is nothing to restore"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_file(&empty).unwrap();

    let out = restore(dir.path(), &pg.url, &[]);
    assert_eq!(restore_report(&out).group(&key).action, "restored");
    let again = restore(dir.path(), &pg.url, &[]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let r = restore_report(&again);
    let g = r.group(&key);
    assert_eq!(g.action, "skipped");
    assert_eq!(
        g.reason,
        "the gateway holds this group with the archived content; --replace pushes it again"
    );
    // Pushed again by its producer: a group of its own.
    push_text(&pg, &key, "x 2\n");
    let r = restore_report(&restore(dir.path(), &pg.url, &[]));
    assert!(
        r.group(&key)
            .reason
            .starts_with("the gateway holds this group again (pushed since it was archived)"),
        "{}",
        r.group(&key).reason
    );
}

/// The retention recipe of docs/lifecycle.md leaves nothing of an expired
/// day behind: the day files share the directory's one lock file.
#[test]
fn the_documented_retention_recipe_leaves_no_companion_behind() {
    let pg = Pushgateway::start();
    push_text(&pg, &[("job", "old")], "x 1\n");
    let dir = tempfile::tempdir().unwrap();
    clean_archiving(&pg.url, r#"{job="old"}"#, dir.path());
    let names = |dir: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let day = archives(dir.path())[0].clone();
    assert_eq!(
        names(dir.path()),
        [
            ".pushgateway-janitor-archive.lock".to_owned(),
            day.file_name().unwrap().to_string_lossy().into_owned()
        ]
    );
    // Forty days old.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(40 * 86_400);
    std::fs::File::options()
        .write(true)
        .open(&day)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let status = std::process::Command::new("find")
        .args([
            dir.path().to_str().unwrap(),
            "-name",
            "pushgateway-janitor-archive-*.jsonl",
            "-mtime",
            "+30",
            "-delete",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(names(dir.path()), [".pushgateway-janitor-archive.lock"]);
}

/// The groups of the gateway's API document, each as its JSON object, in
/// the order it lists them.
fn api_groups(pg: &Pushgateway) -> Vec<serde_json::Map<String, Value>> {
    let doc: Value = serde_json::from_slice(&pg.api_document()).unwrap();
    doc["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_object().unwrap().clone())
        .collect()
}

/// Issue 28 item 2: a group the scan could not read is on the gateway for
/// `restore` too. Its producer pushed the deleted group again with a
/// metric family named `labels`, which takes the place of the group's
/// `labels` object in the API: the scan cannot tell its grouping key, so
/// it might be the archived group, and it is not pushed over. Before:
/// `restored ... the gateway does not hold it`, and the archived `x`
/// replaced the producer's `labels` and `other`.
#[test]
fn a_group_the_scan_cannot_read_is_not_pushed_over() {
    let pg = Pushgateway::start();
    let key = [("job", "victim")];
    push_text(&pg, &key, "x 1\n");
    let dir = tempfile::tempdir().unwrap();
    clean_archiving(&pg.url, r#"{job="victim"}"#, dir.path());
    pg.wait_for_groups(&[]);
    push_text(&pg, &key, "labels 1\nother{a=\"1\"} 1\nother{a=\"2\"} 1\n");
    let newer = api_groups(&pg);
    assert!(newer[0]["labels"]["metrics"].is_array(), "{newer:?}");

    for extra in [&["--dry-run"][..], &[]] {
        let out = restore(dir.path(), &pg.url, extra);
        assert_eq!(out.status.code(), Some(0), "{extra:?}: {}", stderr(&out));
        let r = restore_report(&out);
        let g = r.group(&key);
        assert_eq!(g.action, "skipped", "{extra:?}: {g:?}");
        assert_eq!(
            g.reason,
            "the gateway holds a group its scan could not read, which might be this one \
             (the group's \"labels\" is not a label set; a metric family named \"labels\" was \
             probably pushed and replaced it in the API, so the grouping key is unknown); \
             --replace overwrites it"
        );
        assert_eq!(r.summary.skipped, 1);
        assert_eq!(
            api_groups(&pg),
            newer,
            "{extra:?}: the newer group was pushed over"
        );
    }
    // --replace overwrites what the gateway holds, read or not.
    let out = restore(dir.path(), &pg.url, &["--replace"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = restore_report(&out);
    assert_eq!(r.group(&key).action, "restored");
    assert!(
        r.group(&key)
            .reason
            .starts_with("replacing a group the scan could not read, which might be this one; "),
        "{}",
        r.group(&key).reason
    );
    pg.wait_for_groups(&[&key]);
    assert_eq!(shown(&pg)[&labels(&key)]["x"]["metrics"][0]["value"], "1");
}

/// Issue 28 item 5: two janitors share one archive directory. A restore
/// to gateway A restores A's records only (B archived later, so B's
/// `{job="dup"}` is the newer record), counts B's as left out and names
/// B; `--from B` restores B's onto A on purpose. Before: B's `dup` and
/// `only_b` were pushed onto A, and A's own `dup` was `superseded`.
#[test]
fn a_shared_archive_restores_the_gateways_own_records_unless_from_names_another() {
    let a = Pushgateway::start();
    let b = Pushgateway::start();
    let (dup, only_a, only_b) = ([("job", "dup")], [("job", "only_a")], [("job", "only_b")]);
    push_text(&a, &dup, "v 1\n");
    push_text(&a, &only_a, "v 1\n");
    push_text(&b, &dup, "v 2\n");
    push_text(&b, &only_b, "v 2\n");
    let dir = tempfile::tempdir().unwrap();
    let every = r#"{job=~"dup|only_a|only_b"}"#;
    clean_archiving(&a.url, every, dir.path());
    clean_archiving(&b.url, every, dir.path());
    a.wait_for_groups(&[]);
    let value = |pg: &Pushgateway, key: &[(&str, &str)]| {
        shown(pg)[&labels(key)]["v"]["metrics"][0]["value"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    let out = restore(dir.path(), &a.url, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = restore_report(&out);
    let actions: Vec<(&str, &str)> = r
        .groups
        .iter()
        .map(|g| (g.labels["job"].as_str(), g.action.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("dup", "restored"),
            ("only_a", "restored"),
            ("dup", "other_gateway"),
            ("only_b", "other_gateway"),
        ]
    );
    assert_eq!(
        r.groups[3].reason,
        format!(
            "archived from another gateway, {}; --from {} restores it here",
            b.url, b.url
        )
    );
    assert_eq!((r.summary.restored, r.summary.other_gateway), (2, 2));
    assert_eq!(
        r.other_gateways,
        [OtherGateway {
            gateway: b.url.clone(),
            records: 2
        }]
    );
    a.wait_for_groups(&[&dup, &only_a]);
    assert_eq!(value(&a, &dup), "1", "B's values pushed onto A");

    // The human summary names the gateway left out.
    let mut args = vec!["restore"];
    let files = archives(dir.path());
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    args.extend(["--url", a.url.as_str(), "--dry-run"]);
    let human = stdout(&janitor(&args));
    assert!(
        human.trim_end().ends_with(&format!(
            "; 2 left out, archived from other gateways: {} (2) (--from URL restores them here) (dry run: nothing sent)",
            b.url
        )),
        "{human}"
    );

    // On purpose: B's records onto A (what A holds is skipped as ever).
    let out = restore(dir.path(), &a.url, &["--from", &b.url]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = restore_report(&out);
    assert_eq!(r.group(&only_b).action, "restored");
    assert_eq!(r.summary.skipped, 1);
    assert_eq!(r.summary.other_gateway, 2);
    assert_eq!(r.other_gateways[0].gateway, a.url);
    a.wait_for_groups(&[&dup, &only_a, &only_b]);
    assert_eq!(value(&a, &dup), "1");
    assert!(b.groups().is_empty(), "nothing goes to B");
}

/// Issue 29 item 5: a file that is not an archive is refused as a whole,
/// in one line, exit 2, nothing sent; so is a compressed one (what
/// logrotate leaves), saying how to read it. Before: a pretty-printed
/// report gave one `failed {}: not an archive record` line per line of
/// it and exit 4, and a `.jsonl.gz` one per line of binary.
#[test]
fn a_file_that_is_not_an_archive_is_refused_in_one_line() {
    let pg = Pushgateway::start();
    push_text(&pg, &[("job", "j")], "x 1\n");
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let out = janitor(&["--url", &pg.url, "--threshold", "1h", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::write(&report, &out.stdout).unwrap();
    let report = report.to_str().unwrap();
    let out = janitor(&["restore", report, "--url", &pg.url]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "pushgateway-janitor: error: {report} is not an archive: its first line is not a \
             record of schema \"pushgateway-janitor/archive/v1\"; give the files --archive writes\n"
        )
    );
    assert!(out.stdout.is_empty());

    // A real archive, rotated and compressed, given with the plain one.
    let archive = tempfile::tempdir().unwrap();
    clean_archiving(&pg.url, r#"{job="j"}"#, archive.path());
    pg.wait_for_groups(&[]);
    let plain = archives(archive.path()).remove(0);
    let gz = dir.path().join("pushgateway-janitor-archive.jsonl.1.gz");
    let zipped = std::process::Command::new("gzip")
        .arg("-c")
        .arg(&plain)
        .output()
        .expect("gzip runs");
    assert!(zipped.status.success());
    std::fs::write(&gz, zipped.stdout).unwrap();
    let gz = gz.to_str().unwrap();
    let out = janitor(&["restore", plain.to_str().unwrap(), gz, "--url", &pg.url]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "pushgateway-janitor: error: {gz} is compressed (gzip): restore reads archive files \
             as --archive writes them; decompress it first (gunzip -k {gz})\n"
        )
    );
    assert!(pg.groups().is_empty(), "nothing is sent");
}

/// Issue 29 item 6: the gateway holding the archived content says only
/// that: its producer pushed the same values again, and no restore ever
/// ran. Before: `the gateway holds this group as archived (restored
/// already)`.
#[test]
fn the_archived_content_pushed_again_is_not_called_restored() {
    let pg = Pushgateway::start();
    let key = [("job", "same")];
    push_text(&pg, &key, "x 1\n");
    let dir = tempfile::tempdir().unwrap();
    clean_archiving(&pg.url, r#"{job="same"}"#, dir.path());
    pg.wait_for_groups(&[]);
    push_text(&pg, &key, "x 1\n");
    let out = restore(dir.path(), &pg.url, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = restore_report(&out);
    let g = r.group(&key);
    assert_eq!(g.action, "skipped");
    assert_eq!(
        g.reason,
        "the gateway holds this group with the archived content; --replace pushes it again"
    );
}

/// Restoring through another URL of the same gateway (a `kubectl
/// port-forward` on localhost, the gateway archived as 127.0.0.1): the
/// records name another server, so none is this gateway's. That is one
/// error line naming the gateway left out and the `--from` to pass, exit 2,
/// nothing sent; the `--from` it names restores them. Before: `0 restored
/// … 1 left out …`, exit 0, nothing on stderr.
#[test]
fn a_restore_through_another_url_of_the_gateway_says_which_from_to_pass() {
    let pg = Pushgateway::start();
    let key = [("job", "forwarded")];
    push_text(&pg, &key, "v 1\n");
    let dir = tempfile::tempdir().unwrap();
    clean_archiving(&pg.url, r#"{job="forwarded"}"#, dir.path());
    pg.wait_for_groups(&[]);
    let forwarded = format!("http://localhost:{}", pg.port);
    assert_ne!(forwarded, pg.url);

    let mut said = String::new();
    for extra in [&["--dry-run"][..], &[]] {
        let out = restore(dir.path(), &forwarded, extra);
        said = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert_eq!(
            stderr(&out),
            format!(
                "pushgateway-janitor: error: nothing to restore to {forwarded}: none of the \
                 archived records is from it; 1 is from {url}: if that is the gateway meant \
                 (this one reached another way, say through a port-forward, or a replica at \
                 its old address), pass --from {url}; nothing was sent\n",
                url = pg.url
            )
        );
        let r = restore_report(&out);
        assert_eq!(r.summary.other_gateway, 1);
        assert_eq!(r.version, None, "the gateway was not even read");
        assert!(pg.groups().is_empty());
    }

    // The --from the line names, copied as it is, restores the group.
    let from = said
        .split("pass --from ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .unwrap();
    let out = restore(dir.path(), &forwarded, &["--from", from]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(restore_report(&out).group(&key).action, "restored");
    pg.wait_for_groups(&[&key]);
}

/// A replica found through `dnssrv+` is archived by the address it had; a
/// pod restarted elsewhere no longer has it, so restoring its records onto
/// the new pod takes `--from` that old address. The error line names it as
/// a URL that can be copied. Before: exit 0, nothing on stderr.
#[test]
fn a_replicas_records_restored_onto_its_new_pod_name_its_old_address() {
    let old = common::Launch {
        ip: [127, 0, 0, 2].into(),
        ..common::Launch::default()
    }
    .start();
    let key = [("job", "moved")];
    push_text(&old, &key, "v 1\n");
    let dns = common::dns::Dnsmasq::start(
        &[("127.0.0.2", "old.test")],
        &[("_pgw._tcp.pgw.test", "old.test", old.port)],
    );
    let dir = tempfile::tempdir().unwrap();
    let server = dns.flag();
    let mut args = vec![
        "--url",
        "dnssrv+http://_pgw._tcp.pgw.test",
        "--dns-server",
        &server,
        "--archive",
        dir.path().to_str().unwrap(),
    ];
    args.extend(EVERY_GROUP_STALE);
    let out = janitor(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    old.wait_for_groups(&[]);

    let new = Pushgateway::start();
    let out = restore(dir.path(), &new.url, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let old_address = format!("http://127.0.0.2:{}", old.port);
    let said = stderr(&out);
    assert!(
        said.contains(&format!("; 1 is from {old_address}: "))
            && said.contains(&format!(", pass --from {old_address}; nothing was sent")),
        "{said}"
    );
    assert!(new.groups().is_empty());

    let out = restore(dir.path(), &new.url, &["--from", &old_address]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(restore_report(&out).group(&key).action, "restored");
    new.wait_for_groups(&[&key]);
}
