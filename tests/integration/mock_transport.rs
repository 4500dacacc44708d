//! Retries, bounded concurrency and request headers against a mock gateway
//! (wiremock) whose answers the test scripts; every mock asserts how often
//! it was called.

use crate::common;

use std::process::Output;
use std::time::Duration;

use common::mock::{answer_scans, Times};
use common::{path_for, report, stderr, stdout};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// An `/api/v1/metrics` document whose groups last pushed in 1970.
fn document(keys: &[&[(&str, &str)]]) -> String {
    common::mock::stale_document(keys).to_string()
}

fn ok_document(keys: &[&[(&str, &str)]]) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(document(keys), "application/json")
}

fn delete_path(key: &[(&str, &str)]) -> String {
    format!("/metrics/{}", path_for(key))
}

async fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    common::mock::run_with_env(args, env).await
}

/// Flags every run here shares: fast retries, JSON report, debug logs, and
/// no verification scans (the mocks do not forget deleted groups, and the
/// attempt counts are about the first scan and the DELETEs).
fn args<'a>(url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "--url",
        url,
        "--no-verify",
        "--retry-backoff",
        "5ms",
        "--output",
        "json",
        "-vv",
    ];
    a.extend_from_slice(extra);
    a
}

/// A mock gateway whose scans answer `scan`, `times` times.
async fn gateway(scan: ResponseTemplate, times: Times) -> MockServer {
    let server = MockServer::start().await;
    answer_scans(&server, scan, times).await;
    server
}

/// Mounts the DELETE of `key` (of any path when `None`): every call answers
/// `response`, and the server expects exactly `times` of them.
async fn expect_deletes(
    server: &MockServer,
    key: Option<&[(&str, &str)]>,
    response: ResponseTemplate,
    times: u64,
) {
    let mock = match key {
        Some(key) => Mock::given(method("DELETE")).and(path(delete_path(key))),
        None => Mock::given(method("DELETE")),
    };
    mock.respond_with(response)
        .expect(times)
        .mount(server)
        .await;
}

/// The DELETE of `key` answers `first` once, then 202 once.
async fn fail_once_then_accept(server: &MockServer, key: &[(&str, &str)], first: ResponseTemplate) {
    Mock::given(method("DELETE"))
        .and(path(delete_path(key)))
        .respond_with(first)
        .up_to_n_times(1)
        .expect(1)
        .mount(server)
        .await;
    expect_deletes(server, Some(key), ResponseTemplate::new(202), 1).await;
}

const KEY: &[(&str, &str)] = &[("job", "batch"), ("instance", "h1")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_then_200_scan_succeeds_and_the_retry_is_logged() {
    let server = gateway(
        ResponseTemplate::new(503).set_body_string("warming up"),
        Times::Once,
    )
    .await;
    answer_scans(&server, ok_document(&[KEY]), Times::Exactly(1)).await;
    expect_deletes(&server, Some(KEY), ResponseTemplate::new(202), 1).await;
    let out = run(&args(&server.uri(), &[]), &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report(&out).action_of(KEY), Some("deleted"));
    let err = stderr(&out);
    assert!(err.contains("retrying (1 of 3)"), "{err}");
    assert!(err.contains("503"), "the cause is not logged: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_400_scan_fails_at_once() {
    let server = gateway(
        ResponseTemplate::new(400).set_body_string("bad request"),
        Times::Exactly(1),
    )
    .await;
    expect_deletes(&server, None, ResponseTemplate::new(202), 0).await;
    let out = run(&args(&server.uri(), &[]), &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("HTTP 400"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("retry"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_5xx_uses_up_exactly_the_retries() {
    for (retries, attempts) in [("0", 1), ("2", 3)] {
        let server = gateway(ResponseTemplate::new(502), Times::Exactly(attempts)).await;
        let out = run(&args(&server.uri(), &["--retries", retries]), &[]).await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let r = report(&out);
        assert!(r.gateways[0].error.as_deref().unwrap().contains("502"));
        server.verify().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_timeout_is_retried() {
    let server = gateway(
        ok_document(&[KEY]).set_delay(Duration::from_secs(3)),
        Times::Once,
    )
    .await;
    answer_scans(&server, ok_document(&[KEY]), Times::Exactly(1)).await;
    expect_deletes(&server, None, ResponseTemplate::new(202), 1).await;
    let out = run(&args(&server.uri(), &["--timeout", "500ms"]), &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("retrying (1 of 3)"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_are_retried_on_503_and_429_but_not_on_400() {
    let flaky: &[(&str, &str)] = &[("job", "flaky")];
    let busy: &[(&str, &str)] = &[("job", "busy")];
    let bad: &[(&str, &str)] = &[("job", "bad")];
    let server = MockServer::start().await;
    answer_scans(&server, ok_document(&[flaky, busy, bad]), Times::Exactly(1)).await;
    for (key, status) in [(flaky, 503), (busy, 429)] {
        fail_once_then_accept(&server, key, ResponseTemplate::new(status)).await;
    }
    expect_deletes(
        &server,
        Some(bad),
        ResponseTemplate::new(400).set_body_string("invalid"),
        1,
    )
    .await;
    let out = run(&args(&server.uri(), &[]), &[]).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let r = report(&out);
    assert_eq!(r.action_of(flaky), Some("deleted"));
    assert_eq!(r.action_of(busy), Some("deleted"));
    assert_eq!(r.action_of(bad), Some("delete_failed"));
    let g = r.gateways[0]
        .groups
        .iter()
        .find(|g| g.labels["job"] == "bad")
        .unwrap();
    assert!(g.error.as_deref().unwrap().contains("HTTP 400"), "{g:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_order_is_sorted_whatever_order_deletes_finish_in() {
    let jobs: Vec<String> = (0..8).map(|i| format!("j{i}")).collect();
    let keys: Vec<Vec<(&str, &str)>> = jobs.iter().map(|j| vec![("job", j.as_str())]).collect();
    let refs: Vec<&[(&str, &str)]> = keys.iter().map(Vec::as_slice).collect();
    // The document lists them in reverse; the first keys answer slowest.
    let reversed: Vec<&[(&str, &str)]> = refs.iter().rev().copied().collect();
    for concurrency in ["1", "4"] {
        let server = MockServer::start().await;
        answer_scans(&server, ok_document(&reversed), Times::Exactly(1)).await;
        for (i, key) in refs.iter().enumerate() {
            let delay = Duration::from_millis(20 * (8 - i as u64));
            Mock::given(method("DELETE"))
                .and(path(delete_path(key)))
                .respond_with(ResponseTemplate::new(202).set_delay(delay))
                .expect(1)
                .mount(&server)
                .await;
        }
        let out = run(&args(&server.uri(), &["--concurrency", concurrency]), &[]).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let r = report(&out);
        let order: Vec<&str> = r.gateways[0]
            .groups
            .iter()
            .map(|g| g.labels["job"].as_str())
            .collect();
        assert_eq!(order, jobs, "concurrency {concurrency}");
        assert_eq!(r.summary.deleted, 8);
        server.verify().await;
    }
}

const TOKEN: &str = "tok-a81f-secret";
const USER_AGENT: &str = concat!("pushgateway-janitor/", env!("CARGO_PKG_VERSION"));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_and_extra_headers_are_sent_and_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let token_file = token_file.to_str().unwrap().to_owned();
    type Run<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
    let runs: [Run; 2] = [
        (&[], &[("PUSHGATEWAY_TOKEN", TOKEN)]),
        (&["--bearer-token-file", &token_file], &[]),
    ];
    for (extra, env) in runs {
        let server = MockServer::start().await;
        let bearer = format!("Bearer {TOKEN}");
        Mock::given(method("GET"))
            .and(path("/api/v1/metrics"))
            .and(header("authorization", bearer.as_str()))
            .and(header("x-api-key", "key-77c2-secret"))
            .and(header("x-tenant", "team-a"))
            .and(header("user-agent", USER_AGENT))
            .respond_with(ok_document(&[KEY]))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("DELETE"))
            .and(header("authorization", bearer.as_str()))
            .and(header("x-api-key", "key-77c2-secret"))
            .and(header("user-agent", USER_AGENT))
            .respond_with(ResponseTemplate::new(202))
            .expect(1)
            .mount(&server)
            .await;
        let uri = server.uri();
        let mut a = args(
            &uri,
            &[
                "--header",
                "X-Api-Key: key-77c2-secret",
                "--header",
                "X-Tenant: team-a",
                "-vvv",
            ],
        );
        a.extend_from_slice(extra);
        let out = run(&a, env).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(report(&out).action_of(KEY), Some("deleted"));
        // The leak check means something only if trace logs were on.
        assert!(stderr(&out).contains("TRACE"), "{}", stderr(&out));
        for secret in [TOKEN, "key-77c2-secret"] {
            assert!(!stdout(&out).contains(secret));
            assert!(!stderr(&out).contains(secret), "{}", stderr(&out));
        }
        server.verify().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_body_is_shown_but_credentials_are_not() {
    // A proxy that answers 401 with an HTML page: the excerpt is shown, the
    // credentials sent are not.
    let server = gateway(
        ResponseTemplate::new(401).set_body_string("<html>Unauthorized</html>"),
        Times::Exactly(1),
    )
    .await;
    let out = run(
        &args(&server.uri(), &["--basic-auth-user", "janitor", "-vvv"]),
        &[("PUSHGATEWAY_PASSWORD", "pw-1d9e-secret")],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("HTTP 401"), "{err}");
    assert!(!err.contains("pw-1d9e-secret") && !stdout(&out).contains("pw-1d9e-secret"));
}

/// A bare HTTP/1.1 server that serves `document` on GET and, on DELETE,
/// holds each request for a while, counting how many are in flight at once.
async fn counting_gateway(
    document: String,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::io::AsyncWriteExt;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let max_out = max.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let (document, in_flight, max) = (document.clone(), in_flight.clone(), max.clone());
            tokio::spawn(async move {
                let Some(head) = common::mock::read_head(&mut socket).await else {
                    return;
                };
                let response = if head.starts_with(b"DELETE ") {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_owned()
                } else {
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{document}",
                        document.len()
                    )
                };
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (url, max_out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_run_concurrently_up_to_the_bound() {
    let jobs: Vec<String> = (0..12).map(|i| format!("c{i:02}")).collect();
    let keys: Vec<Vec<(&str, &str)>> = jobs.iter().map(|j| vec![("job", j.as_str())]).collect();
    let refs: Vec<&[(&str, &str)]> = keys.iter().map(Vec::as_slice).collect();
    // (flag, lowest and highest peak allowed): the bound holds, and it is
    // reached, so the DELETEs do overlap.
    for (concurrency, low, high) in [("1", 1, 1), ("3", 3, 3), ("16", 6, 12)] {
        let (url, max) = counting_gateway(document(&refs)).await;
        let out = run(&args(&url, &["--concurrency", concurrency]), &[]).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(report(&out).summary.deleted, 12);
        // Each DELETE is held 250ms, long enough for the others to start.
        let max = max.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            (low..=high).contains(&max),
            "--concurrency {concurrency}: {max} in flight at most"
        );
    }
}

/// Answers the n-th connection with the n-th raw response (then closes);
/// counts the connections.
async fn scripted_gateway(
    responses: Vec<String>,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(k) => head.extend_from_slice(&buf[..k]),
                }
            }
            // The status read beside each scan is not part of the script.
            if head.starts_with(b"GET /api/v1/status") {
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    )
                    .await;
                let _ = socket.shutdown().await;
                continue;
            }
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let response = responses.get(n).cloned().unwrap_or_default();
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    (url, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_breaks_off_is_scanned_again() {
    let full = document(&[]);
    let ok = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{full}",
        full.len()
    );
    // Promises more bytes than it sends, then closes: a dropped connection.
    let broken = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        full.len() + 100,
        &full[..full.len() / 2]
    );
    let (url, count) = scripted_gateway(vec![broken.clone(), ok]).await;
    let out = run(&args(&url, &[]), &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("retrying (1 of 3)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 2);

    // Broken every time: exit 1 after the retries, a clear message.
    truncated_three_times(broken, "the connection closed before it was complete").await;
}

/// A gateway that answers `response` to each of three scans: exit 1 after
/// `--retries 2`, one error line that says the response was truncated and why.
async fn truncated_three_times(response: String, why: &str) {
    let (url, count) = scripted_gateway(vec![response; 3]).await;
    let out = run(&args(&url, &["--retries", "2"]), &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 3);
    let err = stderr(&out);
    assert_eq!(
        common::error_lines(&err),
        vec![format!(
            "pushgateway-janitor: error: the response from {url} was truncated ({why}, 3 \
             attempts): did the gateway, or a proxy in front of it, restart or crash?"
        )],
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_delimited_body_cut_short_is_scanned_again() {
    // No Content-Length, no chunks: the body ends where the connection
    // closes, so half the JSON and a close is all a client sees of a
    // gateway that died mid-body.
    let full = document(&[KEY]);
    let cut = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{}",
        &full[..full.len() / 2]
    );
    truncated_three_times(cut, "the JSON ended early").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_waited_for_and_counted_against_the_retries() {
    let busy: &[(&str, &str)] = &[("job", "busy")];
    let down: &[(&str, &str)] = &[("job", "down")];
    let limited: &[(&str, &str)] = &[("job", "limited")];
    let server = gateway(ok_document(&[busy, down, limited]), Times::Exactly(1)).await;
    for (key, status) in [(busy, 429), (down, 503)] {
        fail_once_then_accept(
            &server,
            key,
            ResponseTemplate::new(status).insert_header("Retry-After", "1"),
        )
        .await;
    }
    // Always 429: the wait it asks for uses up the one retry.
    expect_deletes(
        &server,
        Some(limited),
        ResponseTemplate::new(429).insert_header("Retry-After", "1"),
        2,
    )
    .await;
    let started = std::time::Instant::now();
    // One DELETE at a time: the three waits add up.
    let out = run(
        &args(&server.uri(), &["--retries", "1", "--concurrency", "1"]),
        &[],
    )
    .await;
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let r = report(&out);
    assert_eq!(r.action_of(busy), Some("deleted"));
    assert_eq!(r.action_of(down), Some("deleted"));
    assert_eq!(r.action_of(limited), Some("delete_failed"));
    // --retry-backoff is 5ms: only Retry-After makes it last 3 seconds.
    assert!(elapsed >= Duration::from_millis(2900), "{elapsed:?}");
    let err = stderr(&out);
    assert_eq!(
        err.matches("; retrying (1 of 1) in 1000ms (as Retry-After asks)")
            .count(),
        3,
        "{err}"
    );
    server.verify().await;
}
