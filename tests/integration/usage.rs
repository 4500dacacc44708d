//! Usage errors as an operator meets them: the exact line on stderr, exit 2,
//! nothing on stdout, and nothing sent to a real Pushgateway whose stale
//! group would otherwise have been deleted.

use crate::common;

use common::{janitor, stderr, stdout, Pushgateway, EVERY_GROUP_STALE};

/// A real gateway with one group that an `EVERY_GROUP_STALE` run would
/// delete.
fn gateway_with_a_stale_group() -> Pushgateway {
    let pg = Pushgateway::start();
    pg.push_ok(&[("job", "stale")], "x");
    pg
}

fn assert_usage_error(args: &[&str], line: &str) {
    let out = janitor(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!("pushgateway-janitor: error: {line}\n"),
        "{args:?}"
    );
    assert!(out.stdout.is_empty(), "{args:?}");
}

/// `--url` of `pg` and [`EVERY_GROUP_STALE`]: a run that, but for the
/// usage error under test, would delete every group.
fn every_group_stale(pg: &Pushgateway) -> Vec<&str> {
    let mut args = vec!["--url", pg.url.as_str()];
    args.extend(EVERY_GROUP_STALE);
    args
}

/// [`assert_usage_error`] for each `(flags, line)`, after `--url URL`.
fn assert_usage_errors(url: &str, cases: &[(&[&str], &str)]) {
    for (flags, line) in cases {
        let mut args = vec!["--url", url];
        args.extend_from_slice(flags);
        assert_usage_error(&args, line);
    }
}

#[test]
fn output_paths_are_checked_before_any_delete() {
    let pg = gateway_with_a_stale_group();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir").join("report.json");
    let missing = missing.to_str().unwrap();
    let base = every_group_stale(&pg);

    for flag in ["--report-file", "--textfile"] {
        let mut args = base.to_vec();
        args.extend([flag, missing]);
        assert_usage_error(
            &args,
            &format!(
                "{flag} {missing}: the directory {} does not exist",
                dir.path().join("no-such-dir").display()
            ),
        );
    }

    // Another collector's file is not overwritten.
    let foreign = dir.path().join("node.prom");
    let content = "# TYPE other_metric gauge\nother_metric 1\n";
    std::fs::write(&foreign, content).unwrap();
    let foreign_arg = foreign.to_str().unwrap();
    let mut args = base.to_vec();
    args.extend(["--textfile", foreign_arg]);
    assert_usage_error(
        &args,
        &format!("--textfile {foreign_arg} exists and was not written by pushgateway-janitor; not overwriting it (remove it or choose another name)"),
    );
    assert_eq!(std::fs::read_to_string(&foreign).unwrap(), content);

    let mut args = base.to_vec();
    args.extend(["--report-file", dir.path().to_str().unwrap()]);
    assert_usage_error(
        &args,
        &format!(
            "--report-file {} is a directory; give a file name",
            dir.path().display()
        ),
    );

    // None of these runs sent a DELETE.
    assert_eq!(pg.groups(), vec![common::labels(&[("job", "stale")])]);

    // An empty file is taken over; the run then goes ahead.
    let empty = dir.path().join("janitor.prom");
    std::fs::write(&empty, "").unwrap();
    let mut args = base.to_vec();
    args.extend(["--textfile", empty.to_str().unwrap()]);
    let out = janitor(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    pg.wait_for_groups(&[]);
    assert!(std::fs::read_to_string(&empty)
        .unwrap()
        .contains("pushgateway_janitor_build_info"));
}

#[test]
fn malformed_urls_are_usage_errors_that_say_what_to_do() {
    assert_usage_error(
        &["--url", "127.0.0.1:9091"],
        "--url '127.0.0.1:9091' has no scheme: missing http://? (try --url http://127.0.0.1:9091)",
    );
    assert_usage_error(
        &["--url", "localhost:9091"],
        "--url 'localhost:9091' has no scheme: missing http://? (try --url http://localhost:9091)",
    );
    assert_usage_error(
        &["--url", "http://localhost:90910"],
        "--url 'http://localhost:90910': the port must be a number from 1 to 65535",
    );
}

#[test]
fn a_malformed_push_metrics_url_is_a_usage_error_before_anything_is_sent() {
    // Before: found after the scan and the DELETEs, exit 1.
    let pg = gateway_with_a_stale_group();
    let base = every_group_stale(&pg);
    for (url, line) in [
        (
            "localhost:9091",
            "--push-metrics 'localhost:9091' has no scheme: missing http://? (try --push-metrics=http://localhost:9091)",
        ),
        (
            "http://localhost:90910",
            "--push-metrics 'http://localhost:90910': the port must be a number from 1 to 65535",
        ),
        (
            "ftp://h",
            "--push-metrics 'ftp://h': the scheme must be http or https, not ftp",
        ),
    ] {
        let flag = format!("--push-metrics={url}");
        let mut args = base.clone();
        args.push(&flag);
        assert_usage_error(&args, line);
    }
    assert_eq!(pg.groups(), vec![common::labels(&[("job", "stale")])]);
}

#[test]
fn the_same_gateway_given_twice_is_cleaned_once() {
    let pg = gateway_with_a_stale_group();
    let slash = format!("{}/", pg.url);
    let upper = pg.url.replace("http://", "HTTP://");
    let mut args = vec!["--url", pg.url.as_str(), "--url", &slash, "--url", &upper];
    args.extend(EVERY_GROUP_STALE);
    args.extend(["--output", "json"]);
    let out = janitor(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = common::report(&out);
    assert_eq!(r.gateways.len(), 1, "{}", common::stdout(&out));
    assert_eq!((r.summary.groups, r.summary.deleted), (1, 1));
    let err = stderr(&out);
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 2, "{err}");
    for (w, given) in warnings.iter().zip([&slash, &upper]) {
        assert!(
            w.ends_with(&format!(
                "--url {given} is the same gateway as --url {}: cleaned once",
                pg.url
            )),
            "{w}"
        );
    }
    pg.wait_for_groups(&[]);
}

#[test]
fn clap_errors_keep_their_hints_on_one_line() {
    assert_usage_errors(
        "http://127.0.0.1:9",
        &[
            (&["--output", "yaml"], "invalid value 'yaml' for --output (possible values: human, json) (see --help)"),
            (&["--thresold", "1m"], "unknown flag '--thresold': did you mean '--threshold'? (see --help)"),
            (&["-v", "-q"], "--verbose cannot be used with --quiet (see --help)"),
            (&["--threshold", "10x"], "invalid value '10x' for --threshold: expected a number and a unit (ms, s, m, h, d, w), like 90s, 10m, 26h or 1h30m (see --help)"),
            (&["--rule", "job=\"x\"=10m"], "invalid value 'job=\"x\"=10m' for --rule: invalid selector 'job=\"x\"=10m': unexpected \"job\" at column 1, expected '{' (see --help)"),
        ],
    );
    let out = janitor(&["--generate", "yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("pushgateway-janitor: error: invalid value 'yaml' for --generate (possible values: completions-bash, ")
            && err.ends_with(", man, man-restore) (see --help)\n"),
        "{err}"
    );
}

#[test]
fn months_and_years_are_refused_wherever_a_duration_is_read() {
    // humantime reads `M` as months: `--threshold 10M` was ten months.
    let pg = gateway_with_a_stale_group();
    assert_usage_errors(
        &pg.url,
        &[
            (&["--threshold", "10M"], "invalid value '10M' for --threshold: did you mean '10m'? 'M' is months, which are refused (a month has no fixed length); the units are ms, s, m, h, d, w (see --help)"),
            (&["--rule", r#"{job="x"}=1h30M"#], "invalid value '{job=\"x\"}=1h30M' for --rule: did you mean '1h30m'? 'M' is months, which are refused (a month has no fixed length); the units are ms, s, m, h, d, w (see --help)"),
            (&["--threshold", "2 months"], "invalid value '2 months' for --threshold: months are refused (a month has no fixed length): give days or weeks, like 30d (see --help)"),
            (&["--threshold", "1y"], "invalid value '1y' for --threshold: years are refused (a year has no fixed length): give days, like 365d (see --help)"),
        ],
    );
    // Every other duration flag too; this run would otherwise have deleted
    // the stale group.
    for flag in ["--timeout", "--verify-timeout", "--retry-backoff"] {
        let mut args = every_group_stale(&pg);
        args.extend([flag, "5M"]);
        let out = janitor(&args);
        assert_eq!(out.status.code(), Some(2), "{flag}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("did you mean '5m'?"),
            "{flag}: {}",
            stderr(&out)
        );
    }
    let out = janitor(&["--url", &pg.url, "--every", "5M"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(pg.groups(), vec![common::labels(&[("job", "stale")])]);
}

#[test]
fn help_and_generate_ignore_the_other_settings() {
    // A malformed PUSHGATEWAY_URL (an env file shared with other tools)
    // does not stop -h or --generate, which send nothing.
    for args in [&["-h"][..], &["--generate", "completions-bash"]] {
        let out = common::janitor_cmd(args)
            .env("PUSHGATEWAY_URL", "localhost:9091")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(!out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn short_help_fits_a_screen_and_long_help_has_the_rest() {
    let short = janitor(&["-h"]);
    assert_eq!(short.status.code(), Some(0));
    let short = String::from_utf8(short.stdout).unwrap();
    // One line per flag, and no more: a tall terminal's worth (66 lines
    // since the size bounds and the rhythms joined it, issues 29 and 30).
    assert!(short.lines().count() <= 68, "{short}");
    for line in [
        "      --activity <ACTIVITY> ",
        "      --max-groups <N> ",
        "      --max-series <N> ",
        "      --evict-after <DURATION> ",
        "      --missed-pushes <N> ",
        "      --late-after <FACTOR> ",
    ] {
        assert!(short.contains(line), "-h lacks {line:?}:\n{short}");
    }
    assert!(short.contains("Usage: pushgateway-janitor --url URL"));
    assert!(!short.contains("Exit codes:"));
    // Issue 18 item 7. Before: -h had no -V, and neither help had
    // --generate.
    for line in [
        "  -V, --version ",
        "      --generate <WHAT> ",
        "  -h ",
        "      --help ",
    ] {
        assert!(short.contains(line), "-h lacks {line:?}:\n{short}");
    }
    let long = janitor(&["--help"]);
    assert_eq!(long.status.code(), Some(0));
    let long = String::from_utf8(long.stdout).unwrap();
    assert!(long.contains("Examples:") && long.contains("Exit codes:"));
    assert!(long.contains("[default: 10m]"));
    assert!(long.contains("      --generate <WHAT>\n"), "{long}");
    assert!(long.contains("  -V, --version\n"), "{long}");
}

/// Issue 18 item 8: each of these blamed the wrong thing. Before: an extra
/// argument and a flag after `--` were an "unknown flag"; `--threshold -5m`
/// and `--max-deletes -1` were "unknown flag '-5'" and "'-1'"; a raw `#` in
/// a password was "the port must be a number"; `dns+pgw:9091` was told to
/// try `http://pgw:9091`, without its `dns+`; an empty `PUSHGATEWAY_URL`
/// was "--url '' has no scheme"; a non-UTF-8 argument was not named.
#[test]
fn usage_errors_blame_what_was_given() {
    let pg = gateway_with_a_stale_group();
    assert_usage_error(
        &[&pg.url],
        &format!(
            "unexpected argument '{}': every value is given with its flag (try --url {}) (see --help)",
            pg.url, pg.url
        ),
    );
    assert_usage_error(
        &["--", "--url", &pg.url],
        "'--url' comes after '--', which makes it a plain argument, not a flag: remove the '--' (see --help)",
    );
    assert_usage_errors(
        &pg.url,
        &[
            (&["--threshold", "-5m"], "invalid value '-5m' for --threshold: a duration cannot be negative (see --help)"),
            (&["--max-deletes", "-1"], "invalid value '-1' for --max-deletes: expected a whole number, 0 or more (see --help)"),
            (&["--concurrency", "0"], "invalid value '0' for --concurrency: expected a whole number from 1 to 256 (see --help)"),
        ],
    );
    assert_usage_error(
        &["--url", "http://janitor:s#cret@127.0.0.1:9091"],
        "--url 'http://REDACTED@127.0.0.1:9091': the user or password holds a raw '#', which ends the URL's host part; write it as %23",
    );
    assert_usage_error(
        &["--url", "http://janitor:s/cret@127.0.0.1:9091"],
        "--url 'http://REDACTED@127.0.0.1:9091': the user or password holds a raw '/', which ends the URL's host part; write it as %2F",
    );
    assert_usage_error(
        &["--url", "dns+pgw:9091"],
        "--url 'dns+pgw:9091' has no scheme: missing http://? (try --url dns+http://pgw:9091)",
    );
    for (value, line) in [
        ("", "PUSHGATEWAY_URL is empty: give the gateway's URL, like PUSHGATEWAY_URL=http://pushgateway:9091"),
        ("pgw:9091", "PUSHGATEWAY_URL 'pgw:9091' has no scheme: missing http://? (try PUSHGATEWAY_URL=http://pgw:9091)"),
    ] {
        let out = common::janitor_cmd(&["--dry-run"])
            .env("PUSHGATEWAY_URL", value)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{value:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), format!("pushgateway-janitor: error: {line}\n"));
    }
    // The URL given as a flag is still --url's.
    assert_usage_error(
        &["--url", "pgw:9091"],
        "--url 'pgw:9091' has no scheme: missing http://? (try --url http://pgw:9091)",
    );
    use std::os::unix::ffi::OsStrExt as _;
    let bad = std::ffi::OsStr::from_bytes(b"http://\xffpgw:9091");
    let out = common::janitor_cmd(&[])
        .arg("--url")
        .arg(bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "pushgateway-janitor: error: argument 2 is not valid UTF-8 (the value of --url): 'http://\u{fffd}pgw:9091'; every argument must be UTF-8\n"
    );
    // A secret's bytes are not shown.
    let out = common::janitor_cmd(&["--url", &pg.url, "--bearer-token"])
        .arg(std::ffi::OsStr::from_bytes(b"s3cret\xff"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "pushgateway-janitor: error: argument 4 is not valid UTF-8 (the value of --bearer-token); every argument must be UTF-8\n"
    );
    assert_eq!(pg.groups(), vec![common::labels(&[("job", "stale")])]);
}

/// Issue 18 item 11: `--no-verify` and `--verify-timeout` contradict each
/// other. Before: accepted without a word (and the timeout ignored).
#[test]
fn no_verify_conflicts_with_a_verify_timeout() {
    assert_usage_error(
        &[
            "--url",
            "http://127.0.0.1:9",
            "--no-verify",
            "--verify-timeout",
            "1s",
        ],
        "--no-verify cannot be used with --verify-timeout (see --help)",
    );
}

/// Issue 18 item 11: a `PUSHGATEWAY_JANITOR_LOG` that cannot be read is a
/// usage error before anything is sent. Before: `verbose` (read by tracing
/// as a target nothing logs to) hid every warning, and `x=loud` printed
/// "error: ignoring ..." and the run went on (exit 0).
#[test]
fn a_log_filter_that_cannot_be_read_is_a_usage_error() {
    let pg = gateway_with_a_stale_group();
    let args = every_group_stale(&pg);
    let valid = "expected LEVEL or TARGET=LEVEL, comma-separated (levels: off, error, warn, info, debug, trace), like debug or pushgateway_janitor=debug,hyper=info";
    for (value, what) in [
        ("verbose", "'verbose' is not a level".to_owned()),
        ("x=loud", "'loud' (in 'x=loud') is not a level".to_owned()),
        ("=debug", "cannot read '=debug'".to_owned()),
    ] {
        let out = common::janitor_cmd(&args)
            .env("PUSHGATEWAY_JANITOR_LOG", value)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{value}: {}", stderr(&out));
        assert_eq!(
            stderr(&out),
            format!("pushgateway-janitor: error: PUSHGATEWAY_JANITOR_LOG: {what}: {valid}\n")
        );
    }
    assert_eq!(pg.groups(), vec![common::labels(&[("job", "stale")])]);
}

/// A filter for another target keeps the janitor's own warnings: the
/// `-v`/`-q` level applies to everything it does not name. Before:
/// `hyper=debug` alone silenced them.
#[test]
fn a_log_filter_for_another_target_keeps_the_janitors_warnings() {
    // A run that fails after one retry, which it logs as a warning.
    let logged_as = |filter: &str| {
        common::janitor_cmd(&[
            "--url",
            "http://127.0.0.1:9",
            "--retries",
            "1",
            "--retry-backoff",
            "1ms",
        ])
        .env("PUSHGATEWAY_JANITOR_LOG", filter)
        .output()
        .unwrap()
    };
    let out = logged_as("hickory_resolver=debug");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("WARN") && stderr(&out).contains("retrying (1 of 1)"),
        "{}",
        stderr(&out)
    );
    // A bare level still sets everything.
    let out = logged_as("error");
    assert_eq!(out.status.code(), Some(1));
    assert!(!stderr(&out).contains("WARN"), "{}", stderr(&out));
}

/// Issue 24 item 6: a flag of cleaning (or of the program alone) given to
/// `restore` is named as such. Before: "'--threshold' comes after '--',
/// which makes it a plain argument", though no `--` was given.
#[test]
fn a_cleaning_flag_given_to_restore_is_named_as_not_a_restore_flag() {
    let pg = gateway_with_a_stale_group();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.jsonl");
    std::fs::write(&file, "").unwrap();
    let file = file.to_str().unwrap();
    let restore = |extra: &[&'static str]| {
        let mut args = vec!["restore", file, "--url", pg.url.as_str()];
        args.extend_from_slice(extra);
        args
    };
    for (extra, line) in [
        (
            &["--threshold", "1m"][..],
            "'--threshold' is a flag for cleaning, not for restore: restore takes pushgateway-janitor restore FILE... --url URL [OPTIONS] (see restore --help)",
        ),
        (
            &["--archive", "/tmp"][..],
            "'--archive' is a flag for cleaning, not for restore: restore takes pushgateway-janitor restore FILE... --url URL [OPTIONS] (see restore --help)",
        ),
        (
            &["--version"][..],
            "'--version' is not a flag of restore: give it alone, pushgateway-janitor --version (see restore --help)",
        ),
        (
            &["--generate", "man"][..],
            "'--generate' is not a flag of restore: give it alone, pushgateway-janitor --generate WHAT (see restore --help)",
        ),
    ] {
        assert_usage_error(&restore(extra), line);
    }
    // A flag neither knows is still unknown, with restore's suggestion.
    assert_usage_error(
        &restore(&["--replase"]),
        "unknown flag '--replase': did you mean '--replace'? (see restore --help)",
    );
    assert_eq!(pg.groups(), vec![common::labels(&[("job", "stale")])]);
}

/// Issue 24 item 16: a stray argument that is not UTF-8 is named as such.
/// Before: "unexpected argument '\u{fffd}': every value is given with its
/// flag".
#[test]
fn a_stray_argument_that_is_not_utf8_is_named() {
    use std::os::unix::ffi::OsStrExt as _;
    let pg = gateway_with_a_stale_group();
    let args = every_group_stale(&pg);
    let out = common::janitor_cmd(&args)
        .arg(std::ffi::OsStr::from_bytes(b"st\xffray"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "pushgateway-janitor: error: argument 7 is not valid UTF-8: 'st\u{fffd}ray'; every argument must be UTF-8\n"
    );
    // A variable clap reads, named too. Before: "an argument is not valid
    // UTF-8".
    let out = common::janitor_cmd(&args)
        .env(
            "PUSHGATEWAY_JANITOR_NOTIFY_URL",
            std::ffi::OsStr::from_bytes(b"http://\xff"),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "pushgateway-janitor: error: the environment variable PUSHGATEWAY_JANITOR_NOTIFY_URL is not valid UTF-8\n"
    );
    assert_eq!(pg.groups(), vec![common::labels(&[("job", "stale")])]);
}

/// Issue 24 item 9: `-h` lists every flag. Before: --min-ttl, --max-ttl
/// and --state-file were in --help only.
#[test]
fn short_help_lists_the_ttl_bounds_and_the_state_file() {
    let short = stdout(&janitor(&["-h"]));
    for line in [
        "      --min-ttl <DURATION> ",
        "      --max-ttl <DURATION> ",
        "      --state-file <PATH> ",
    ] {
        assert!(short.contains(line), "-h lacks {line:?}:\n{short}");
    }
}

/// Issue 29 item 1: a bound of 0 is refused with the way to turn it off,
/// before anything is scanned or sent; a number too large for the type
/// says the most it can be. Before: `--max-groups 0 --evict-after 5s`
/// planned to evict every group (exit 0, the stale group here deleted),
/// and 99999999999999999999999 was "expected a whole number, 0 or more".
#[test]
fn a_bound_of_0_is_a_usage_error_that_says_how_to_turn_it_off() {
    let pg = gateway_with_a_stale_group();
    let off = "0 is no bound \"off\" here: it would evict every group that may be evicted; \
               to turn the bound off, leave the flag out";
    for flag in ["--max-groups", "--max-series"] {
        let mut args = every_group_stale(&pg);
        args.extend([flag, "0", "--evict-after", "5s"]);
        assert_usage_error(
            &args,
            &format!("invalid value '0' for {flag}: {off} (see --help)"),
        );
    }
    assert_usage_errors(
        &pg.url,
        &[(
            &["--max-groups", "99999999999999999999999", "--evict-after", "5s"],
            "invalid value '99999999999999999999999' for --max-groups: too large: the most it can be is 18446744073709551615 (see --help)",
        )],
    );
    assert_eq!(pg.groups(), vec![common::labels(&[("job", "stale")])]);
}

/// Issue 24 item 11 (parsing): a duration out of range or finer than the
/// resolution says so. Before: each was "expected a number and a unit",
/// and `--threshold 0.001ms` was accepted and reported as `threshold 0s`.
#[test]
fn durations_out_of_range_or_below_the_resolution_say_so() {
    let pg = gateway_with_a_stale_group();
    let too_long = "too long: a duration is at most 2^64 seconds (about 584 billion years)";
    let too_fine = "finer than 1ms, the resolution of a duration: give whole milliseconds";
    for (flag, value, why) in [
        (
            "--threshold",
            "1e400s",
            format!("{too_long}; 'never' keeps a group forever"),
        ),
        (
            "--threshold",
            "100000000000000w",
            format!("{too_long}; 'never' keeps a group forever"),
        ),
        ("--threshold", "0.0000000001ms", too_fine.to_owned()),
        ("--threshold", "0.001ms", too_fine.to_owned()),
        ("--threshold", "1.0005s", too_fine.to_owned()),
        ("--timeout", "100000000000000w", too_long.to_owned()),
        ("--timeout", "500us", too_fine.to_owned()),
        (
            "--threshold",
            "1e3s",
            "a number with an exponent is not read: write it out (1000s, not 1e3s)".to_owned(),
        ),
    ] {
        let mut args = vec!["--url", pg.url.as_str(), "--clock", "local"];
        args.extend([flag, value]);
        assert_usage_error(
            &args,
            &format!("invalid value '{value}' for {flag}: {why} (see --help)"),
        );
    }
    assert_eq!(pg.groups(), vec![common::labels(&[("job", "stale")])]);
}

/// Issue 24 item 11: `--max-ttl never` is no upper bound, as without the
/// flag; `--min-ttl never` is refused in words that say why. Before: both
/// were "expected a number and a unit".
#[test]
fn max_ttl_never_is_no_bound_and_min_ttl_never_says_why() {
    let pg = Pushgateway::start();
    pg.push_ok(&[("job", "forever"), ("ttl", "never")], "x");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "--url",
            pg.url.as_str(),
            "--ttl-label",
            "ttl",
            "--output",
            "json",
        ];
        args.extend(EVERY_GROUP_STALE);
        args.extend_from_slice(extra);
        janitor(&args)
    };
    let without = run(&[]);
    let with = run(&["--max-ttl", "never"]);
    assert_eq!(with.status.code(), Some(0), "{}", stderr(&with));
    let (without, with) = (common::report(&without), common::report(&with));
    let group = |r: &common::Report| {
        let g = &r.gateways[0].groups[0];
        (
            g.action.clone(),
            g.threshold_seconds,
            g.threshold_source.clone(),
        )
    };
    assert_eq!(group(&with), group(&without));
    assert_eq!(group(&with).1, None, "a never TTL has no threshold");
    assert_eq!(
        pg.groups(),
        vec![common::labels(&[("job", "forever"), ("ttl", "never")])]
    );
    assert_usage_error(
        &["--url", &pg.url, "--ttl-label", "ttl", "--min-ttl", "never"],
        "invalid value 'never' for --min-ttl: a lower bound of never would keep every group that declares a TTL forever; give a duration, like 1m (see --help)",
    );
}

/// Issue 24 item 13: `restore` reads `PUSHGATEWAY_URL` as a clean does.
/// Before: "the following required arguments were not provided: --url
/// <URL>" with the variable set.
#[test]
fn restore_reads_pushgateway_url_as_a_clean_does() {
    let pg = Pushgateway::start();
    pg.push_ok(&[("job", "gone")], "x");
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["--archive", dir.path().to_str().unwrap()];
    args.extend(EVERY_GROUP_STALE);
    let out = common::janitor_cmd(&args)
        .env("PUSHGATEWAY_URL", &pg.url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    pg.wait_for_groups(&[]);
    let archive = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .expect("an archive file");
    let out = common::janitor_cmd(&["restore", archive.to_str().unwrap()])
        .env("PUSHGATEWAY_URL", &pg.url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(pg.groups(), vec![common::labels(&[("job", "gone")])]);
    // A message about it names the variable, as a clean's does.
    let out = common::janitor_cmd(&["restore", archive.to_str().unwrap()])
        .env("PUSHGATEWAY_URL", "pgw:9091")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "pushgateway-janitor: error: PUSHGATEWAY_URL 'pgw:9091' has no scheme: missing http://? (try PUSHGATEWAY_URL=http://pgw:9091)\n"
    );
}
