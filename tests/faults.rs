//! Faults a real Pushgateway cannot produce, through a mock server: each
//! top-level failure exits 1 with one clear line and sends no DELETE; a
//! failed DELETE does not stop the others.

mod common;

use std::process::Output;
use std::time::Duration;

use common::mock::{document, forbid_deletes, group, now, run, serve_document};
use common::{report, stderr, stdout};
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
    assert!(!err.contains("panicked"), "{err}");
    let r = report(out);
    assert_eq!(r.gateways.len(), 1);
    assert!(r.gateways[0].error.as_deref().unwrap().contains(needle));
    assert!(r.gateways[0].groups.is_empty());
    assert_eq!(r.summary, common::Summary::default());
}

async fn scan_fault(response: ResponseTemplate, extra: &[&str], needle: &str) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/metrics"))
        .respond_with(response)
        .mount(&server)
        .await;
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
        &[],
        "truncated JSON",
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
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
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
    Mock::given(method("GET"))
        .and(path("/api/v1/metrics"))
        .respond_with(ResponseTemplate::new(200).set_body_json(doc))
        .expect(1)
        .mount(&server)
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
