//! Faults a real Pushgateway cannot produce, through a mock server: each
//! top-level failure exits 1 with one clear line and sends no DELETE; a
//! failed DELETE does not stop the others.

use crate::common;

use std::process::Output;
use std::time::Duration;

use common::mock::{
    answer_scans, document, forbid_deletes, group, now, raw_gateway, run, serve_document, Act,
    Times,
};
use common::{error_lines, report, stderr, stdout};
use serde_json::json;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Exit 1, exactly one line on stderr naming the cause, and a JSON report
/// on stdout that records the gateway's error.
fn assert_scan_failure(out: &Output, needle: &str) {
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(out));
    let err = stderr(out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected:\n{err}");
    assert!(
        lines[0].starts_with("pushgateway-janitor: error: "),
        "{err}"
    );
    assert!(lines[0].contains(needle), "{needle:?} not in {err}");
    let r = report(out);
    assert_eq!(r.gateways.len(), 1);
    assert!(r.gateways[0].error.as_deref().unwrap().contains(needle));
    assert!(r.gateways[0].groups.is_empty());
    assert_eq!(r.summary, common::Summary::default());
}

async fn scan_fault(response: ResponseTemplate, extra: &[&str], needle: &str) {
    let server = MockServer::start().await;
    answer_scans(&server, response, Times::Any).await;
    forbid_deletes(&server).await;
    let mut args = vec![
        "--url".to_owned(),
        server.uri(),
        "--threshold".into(),
        "1s".into(),
        "--output".into(),
        "json".into(),
        "-q".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = run(&args).await;
    // -q silences logs; the error line is printed regardless.
    assert_scan_failure(&out, needle);
}

#[tokio::test(flavor = "multi_thread")]
async fn http_500_exits_1() {
    scan_fault(
        ResponseTemplate::new(500).set_body_string("boom"),
        &[],
        "HTTP 500 Internal Server Error: boom",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn http_404_exits_1() {
    scan_fault(
        ResponseTemplate::new(404),
        &[],
        "HTTP 404 Not Found: is this a Pushgateway? check the URL and its path prefix",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn html_instead_of_json_exits_1() {
    scan_fault(
        ResponseTemplate::new(200).set_body_raw("<html><body>Login</body></html>", "text/html"),
        &[],
        "expected JSON, got Content-Type \"text/html\"",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn html_labelled_as_json_exits_1() {
    scan_fault(
        ResponseTemplate::new(200).set_body_raw("<html></html>", "application/json"),
        &[],
        "not the Pushgateway's JSON API",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn truncated_json_exits_1_and_deletes_nothing() {
    let full = document(vec![group(json!({"job": "old"}), now() - 3600.0)]).to_string();
    let cut = &full[..full.len() / 2];
    scan_fault(
        ResponseTemplate::new(200).set_body_raw(cut, "application/json"),
        &["--retry-backoff", "5ms"],
        "was truncated (the JSON ended early, 4 attempts)",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn error_status_exits_1() {
    scan_fault(
        ResponseTemplate::new(200).set_body_json(json!({"status": "error", "error": "nope"})),
        &[],
        "status \"error\": nope",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn slower_than_the_timeout_exits_1() {
    let body = document(vec![]).to_string();
    let started = std::time::Instant::now();
    scan_fault(
        ResponseTemplate::new(200)
            .set_body_raw(body, "application/json")
            .set_delay(Duration::from_secs(5)),
        &["--timeout", "500ms", "--retries", "0"],
        "no answer from http://127.0.0.1:",
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_refused_exits_1() {
    let port = common::refused_port();
    let out = run(&[
        "--url".into(),
        format!("http://127.0.0.1:{port}"),
        "--output".into(),
        "json".into(),
        "-q".into(),
    ])
    .await;
    assert_scan_failure(
        &out,
        &format!("cannot connect to http://127.0.0.1:{port} (connection refused, 4 attempts): is a Pushgateway running there? (to try the janitor, bash examples/demo.sh starts a throwaway one)"),
    );
}

/// Issue 18 item 9: the demo is named only where `examples/demo.sh` is,
/// in a checkout. Before: every refused local connection named it, also
/// where the janitor is installed and no such file exists.
#[test]
fn the_connection_refused_hint_names_the_demo_only_in_a_checkout() {
    let port = common::refused_port();
    let url = format!("http://127.0.0.1:{port}");
    let elsewhere = tempfile::tempdir().unwrap();
    for (dir, hint) in [
        (
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
            "(to try the janitor, bash examples/demo.sh starts a throwaway one)",
        ),
        (
            elsewhere.path(),
            "(to try the janitor on a throwaway one, see the quick start in its README)",
        ),
    ] {
        let out = common::janitor_cmd(&["--url", &url, "--retries", "0"])
            .current_dir(dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            error_lines(&stderr(&out)),
            vec![format!("pushgateway-janitor: error: cannot connect to {url} (connection refused, 1 attempt): is a Pushgateway running there? {hint}")],
            "in {}",
            dir.display()
        );
    }
}

/// Issue 18 item 8: `--url` with the push path, read as a prefix, is a
/// 404 that says what to drop. Before: "is this a Pushgateway?", about a
/// Pushgateway. A real gateway answers.
#[test]
fn a_url_ending_in_metrics_is_told_to_drop_it() {
    let pg = common::Pushgateway::start();
    let url = format!("{}/metrics", pg.url);
    let out = common::janitor(&["--url", &url, "--dry-run"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        error_lines(&stderr(&out)),
        vec![format!("pushgateway-janitor: error: GET {url}/api/v1/metrics: HTTP 404 Not Found: 404 page not found: drop /metrics from the URL: the janitor adds /api/v1/metrics to the gateway's base URL")]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_url_is_a_usage_error_with_a_hint() {
    for (url, line) in [
        (
            "ftp://example.invalid/",
            "--url 'ftp://example.invalid/': the scheme must be http or https, not ftp",
        ),
        (
            "127.0.0.1:9091",
            "--url '127.0.0.1:9091' has no scheme: missing http://? (try --url http://127.0.0.1:9091)",
        ),
        (
            "localhost:9091",
            "--url 'localhost:9091' has no scheme: missing http://? (try --url http://localhost:9091)",
        ),
        (
            "http://localhost:99999",
            "--url 'http://localhost:99999': the port must be a number from 1 to 65535",
        ),
    ] {
        let out = run(&["--url", url, "-q"]).await;
        assert_eq!(out.status.code(), Some(2), "{url}");
        assert_eq!(
            stderr(&out).trim(),
            format!("pushgateway-janitor: error: {line}")
        );
        assert!(out.stdout.is_empty(), "{url}: nothing is scanned");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_failed_delete_does_not_stop_the_others() {
    let server = MockServer::start().await;
    let old = now() - 3600.0;
    let doc = document(vec![
        group(json!({"job": "a"}), old),
        group(json!({"job": "b", "instance": "h"}), old),
        group(json!({"job": "c"}), old),
        group(json!({"job": "fresh"}), now()),
    ]);
    serve_document(&server, doc).await;
    // b = "Yg", h = "aA"; a = "YQ", c = "Yw"
    Mock::given(method("DELETE"))
        .and(path("/metrics/job@base64/Yg/instance@base64/aA"))
        .respond_with(ResponseTemplate::new(500).set_body_string("disk full"))
        .expect(1)
        .mount(&server)
        .await;
    for job in ["YQ", "Yw"] {
        Mock::given(method("DELETE"))
            .and(path(format!("/metrics/job@base64/{job}")))
            .respond_with(ResponseTemplate::new(202))
            .expect(1)
            .mount(&server)
            .await;
    }
    let out = run(&[
        "--url".into(),
        server.uri(),
        "--output".into(),
        "json".into(),
        "--no-verify".into(),
        // Each DELETE once: retries are tested in mock_transport.rs.
        "--retries".into(),
        "0".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(4), "stderr: {}", stderr(&out));
    let r = report(&out);
    assert_eq!(r.action_of(&[("job", "a")]), Some("deleted"));
    assert_eq!(
        r.action_of(&[("job", "b"), ("instance", "h")]),
        Some("delete_failed")
    );
    assert_eq!(r.action_of(&[("job", "c")]), Some("deleted"));
    assert_eq!(r.action_of(&[("job", "fresh")]), Some("active"));
    let failed = r.gateways[0]
        .groups
        .iter()
        .find(|g| g.action == "delete_failed")
        .unwrap();
    let error = failed.error.as_deref().unwrap();
    assert!(
        error.contains("HTTP 500") && error.contains("disk full"),
        "{error}"
    );
    assert_eq!(
        (r.summary.deleted, r.summary.delete_failed, r.summary.stale),
        (2, 1, 3)
    );
    server.verify().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_sends_no_delete() {
    let server = MockServer::start().await;
    let doc = document(vec![
        group(json!({"job": "old1"}), now() - 7200.0),
        group(json!({"job": "old2", "instance": ""}), now() - 700.0),
        group(json!({"job": "fresh"}), now() - 60.0),
    ]);
    answer_scans(
        &server,
        ResponseTemplate::new(200).set_body_json(doc),
        Times::Exactly(1),
    )
    .await;
    Mock::given(method("DELETE"))
        .and(path_regex(".*"))
        .respond_with(ResponseTemplate::new(202))
        .expect(0)
        .mount(&server)
        .await;
    let out = run(&[
        "--url".into(),
        server.uri(),
        "--dry-run".into(),
        "--output".into(),
        "json".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let r = report(&out);
    let would: Vec<_> = r.gateways[0]
        .groups
        .iter()
        .filter(|g| g.action == "would_delete")
        .map(|g| g.labels.clone())
        .collect();
    assert_eq!(
        would,
        vec![
            common::labels(&[("job", "old1")]),
            common::labels(&[("job", "old2"), ("instance", "")])
        ]
    );
    assert_eq!(r.action_of(&[("job", "fresh")]), Some("active"));
    assert_eq!(r.threshold_seconds, Some(600.0));
    server.verify().await;
}

#[test]
fn bad_flags_exit_2_with_one_line() {
    for args in [
        vec!["--url", "http://127.0.0.1:1", "--threshold", "ten"],
        vec!["--url", "http://127.0.0.1:1", "--output", "xml"],
        vec!["--url", "http://127.0.0.1:1", "--timeout", "0s"],
        vec!["--url", "http://127.0.0.1:1", "--no-such-flag"],
        vec!["--threshold", "10m"],
        vec!["--url", "http://127.0.0.1:1", "--select", r#"{job=~"("}"#],
        vec!["--url", "http://127.0.0.1:1", "--keep", "job=x"],
        vec!["--url", "http://127.0.0.1:1", "--rule", r#"{job="x"}"#],
        vec!["--url", "http://127.0.0.1:1", "--rule", r#"{job="x"}=soon"#],
        vec!["--url", "http://127.0.0.1:1", "--max-delete-ratio", "2"],
        vec!["--url", "http://127.0.0.1:1", "--clock", "ntp"],
    ] {
        let out = common::janitor(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("pushgateway-janitor: error: "), "{err}");
        assert!(stdout(&out).is_empty());
    }
}

#[test]
fn help_and_readme_list_the_same_exit_codes() {
    let out = common::janitor(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = stdout(&out);
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let block = pushgateway_janitor::exit::ExitStatus::help_text();
    assert!(help.contains(&block), "--help lacks:\n{block}\n---\n{help}");
    for line in block.lines().skip(1) {
        let (code, text) = line.trim().split_once("  ").unwrap();
        let row = format!("| {code} | {text} |");
        assert!(readme.contains(&row), "README lacks the row {row:?}");
    }
}

/// Library words that must not reach the user at the default verbosity:
/// reqwest's, hyper's and the OS's phrasing of the same faults.
const LIBRARY_WORDS: &[&str] = &[
    "os error",
    "error sending request",
    "error decoding",
    "client error",
    "connection error",
    "body error",
    "tcp connect",
    "hyper",
    "reqwest",
    "SendRequest",
];

fn assert_no_library_words(err: &str) {
    for words in LIBRARY_WORDS {
        assert!(!err.contains(words), "{words:?} reached the user:\n{err}");
    }
}

/// A 200 whose body is `body` with this framing, as raw bytes.
fn ok_head(framing: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{framing}Connection: close\r\n\r\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn each_transport_fault_reads_in_our_words_in_the_error_line_and_the_warnings() {
    let closed_port = common::refused_port();
    let refused = format!("http://127.0.0.1:{closed_port}");
    let (reset, _) = raw_gateway(|_| Act::Reset).await;
    // A gateway dying mid-body: a chunked body that stops inside a chunk.
    let (died, _) = raw_gateway(|_| {
        Act::Send(format!(
            "{}10\r\n{{\"status\":\"succ",
            ok_head("Transfer-Encoding: chunked\r\n")
        ))
    })
    .await;
    // Read the request, closed without a word.
    let (closed, _) = raw_gateway(|_| Act::Send(String::new())).await;
    let (trickled, _) = raw_gateway(|_| {
        Act::Trickle(
            format!("{}{{", ok_head("Content-Length: 100000\r\n")),
            Duration::from_millis(100),
        )
    })
    .await;
    let hint_truncated = "did the gateway, or a proxy in front of it, restart or crash?";
    for (url, headline, detail, hint) in [
        (
            &refused,
            format!("cannot connect to {refused}"),
            "connection refused, ",
            "is a Pushgateway running there?".to_owned(),
        ),
        (
            &reset,
            format!("the connection to {reset} was reset"),
            "",
            "did the gateway, or a proxy in front of it, restart or drop it?".to_owned(),
        ),
        (
            &died,
            format!("the response from {died} was truncated"),
            "the connection closed before it was complete, ",
            hint_truncated.to_owned(),
        ),
        (
            &closed,
            format!("the response from {closed} was truncated"),
            "the connection closed before it was complete, ",
            hint_truncated.to_owned(),
        ),
        (
            &trickled,
            format!("the response from {trickled} did not finish within --timeout 700ms"),
            "",
            "a large or slow gateway needs a longer --timeout".to_owned(),
        ),
    ] {
        let args = [
            "--url",
            url,
            "--retries",
            "1",
            "--retry-backoff",
            "5ms",
            "--timeout",
            "700ms",
            "--output",
            "json",
        ];
        let out = run(&args).await;
        assert_eq!(out.status.code(), Some(1), "{url}: {}", stderr(&out));
        let err = stderr(&out);
        let line = format!("{headline} ({detail}2 attempts): {hint}");
        let demo = if url == &refused {
            " (to try the janitor, bash examples/demo.sh starts a throwaway one)"
        } else {
            ""
        };
        assert_eq!(
            error_lines(&err),
            vec![format!("pushgateway-janitor: error: {line}{demo}")],
            "{err}"
        );
        assert_eq!(
            report(&out).gateways[0].error.as_deref(),
            Some(format!("{line}{demo}").as_str())
        );
        // The one retry says the same, without the count.
        let warnings: Vec<&str> = err.lines().filter(|l| l.contains(" WARN ")).collect();
        assert_eq!(warnings.len(), 1, "{err}");
        let detail = detail.trim_end_matches(", ");
        let said = if detail.is_empty() {
            format!("{headline}: {hint}")
        } else {
            format!("{headline} ({detail}): {hint}")
        };
        assert!(
            warnings[0].contains(&format!(
                "GET {url}/api/v1/metrics: {said}; retrying (1 of 1) in "
            )),
            "{err}"
        );
        assert_no_library_words(&err);

        // -v: the library's own chain, per attempt, at INFO.
        let mut verbose = args.to_vec();
        verbose.push("-v");
        let out = run(&verbose).await;
        let err = stderr(&out);
        let chains = err
            .lines()
            .filter(|l| l.contains(" INFO ") && l.contains(&format!("GET {url}/api/v1/metrics: ")))
            .count();
        assert_eq!(chains, 2, "{err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_delete_reads_in_our_words_in_the_summary_line_and_the_warnings() {
    let doc = common::mock::stale_document(&[&[("job", "a")], &[("job", "b")]]).to_string();
    let (url, count) = raw_gateway(move |line| {
        if line.starts_with("GET ") {
            Act::Send(format!(
                "{}{doc}",
                ok_head(&format!("Content-Length: {}\r\n", doc.len()))
            ))
        } else {
            Act::Reset
        }
    })
    .await;
    let out = run(&[
        "--url",
        &url,
        "--retries",
        "1",
        "--retry-backoff",
        "5ms",
        "--no-verify",
        "--output",
        "json",
    ])
    .await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    // One scan, two DELETEs of two attempts each.
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 5);
    let err = stderr(&out);
    let said = "the connection was reset (2 attempts): did the gateway, or a proxy in front of it, restart or drop it?";
    assert_eq!(
        error_lines(&err),
        vec![format!(
            "pushgateway-janitor: error: 2 deletes failed on {url} (first: {{job=\"a\"}} DELETE {url}/metrics/job@base64/YQ: {said})"
        )],
        "{err}"
    );
    let r = report(&out);
    assert_eq!(
        r.gateways[0].groups[1].error.as_deref(),
        Some(format!("DELETE {url}/metrics/job@base64/Yg: {said}").as_str())
    );
    let retried = err
        .lines()
        .filter(|l| l.contains(" WARN ") && l.contains("; retrying (1 of 1) in "))
        .collect::<Vec<_>>();
    assert_eq!(retried.len(), 2, "{err}");
    for line in retried {
        assert!(
            line.contains("/metrics/job@base64/")
                && line.contains(": the connection was reset: did the gateway"),
            "{line}"
        );
    }
    assert_no_library_words(&err);
}

/// DELETE answers: 500 for the groups whose job starts with `f`, 202 for
/// the others.
struct FailingF;

impl wiremock::Respond for FailingF {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        use base64::Engine as _;
        let encoded = request
            .url
            .path()
            .trim_start_matches("/metrics/job@base64/")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let job = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(encoded)
            .unwrap_or_default();
        if job.starts_with(b"f") {
            ResponseTemplate::new(500).set_body_string("disk full")
        } else {
            ResponseTemplate::new(202)
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn many_failing_groups_print_a_bounded_number_of_lines() {
    // 50 whose DELETE fails (and is retried), 50 accepted but still
    // shown by the re-scans, 50 skipped (no job label).
    let old = now() - 3600.0;
    let groups = (0..50)
        .map(|i| group(json!({"job": format!("f{i:02}")}), old))
        .chain((0..50).map(|i| group(json!({"job": format!("s{i:02}")}), old)))
        .chain((0..50).map(|i| group(json!({"instance": format!("x{i:02}")}), old)))
        .collect();
    let server = MockServer::start().await;
    serve_document(&server, document(groups)).await;
    // A 1.5-like status: no warning about the naming mode.
    Mock::given(method("GET"))
        .and(path("/api/v1/status"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"status": "success", "data": {"flags": {}, "build_information": {"version": "1.5.1"}}}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(FailingF)
        .mount(&server)
        .await;
    let args = [
        "--url",
        &server.uri(),
        "--retries",
        "1",
        "--retry-backoff",
        "1ms",
        "--verify-timeout",
        "300ms",
        "--output",
        "json",
    ];
    let out = run(&args).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let r = report(&out);
    assert_eq!(
        (
            r.summary.delete_failed,
            r.summary.still_present,
            r.summary.skipped
        ),
        (50, 50, 50)
    );
    assert_eq!(
        r.gateways[0].groups.len(),
        150,
        "the report lists every group"
    );
    let err = stderr(&out);
    // Per kind: 5 lines and one "... and 45 more"; then the error line.
    for kind in [
        "retried deletes",
        "failed deletes",
        "groups still present",
        "skipped groups",
    ] {
        let more = format!("... and 45 more {kind} (-v shows each; the report lists every group)");
        assert_eq!(err.matches(&more).count(), 1, "{kind}:\n{err}");
    }
    assert_eq!(err.matches("; retrying (").count(), 5, "{err}");
    assert_eq!(err.matches("delete failed: ").count(), 5, "{err}");
    assert_eq!(
        err.matches("still shown with its old push time").count(),
        5,
        "{err}"
    );
    assert_eq!(err.matches("skipped: ").count(), 5, "{err}");
    assert_eq!(error_lines(&err).len(), 1, "{err}");
    assert_eq!(err.lines().count(), 4 * 6 + 1, "{err}");

    // -v lists each.
    let mut verbose = args.to_vec();
    verbose.push("-v");
    let err = stderr(&run(&verbose).await);
    assert_eq!(err.matches("delete failed: ").count(), 50);
    assert!(!err.contains("... and "), "{err}");
}
