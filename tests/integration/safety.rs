//! Safety: caps refuse whole plans, the server clock shields ages from a
//! wrong local clock, deletes are verified, and gateways fail independently.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, UNIX_EPOCH};

use common::mock::{answer_scans, document, group, now, run, serve_document, Times};
use common::proxy::{Proxy, Rules};
use common::{janitor, report, stderr, stdout, Pushgateway};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A gateway holding `stale` old groups and `fresh` new ones, that must
/// never see a DELETE.
async fn gateway_without_deletes(stale: usize, fresh: usize) -> MockServer {
    let server = MockServer::start().await;
    let groups = (0..stale)
        .map(|i| group(json!({"job": format!("old{i}")}), now() - 3600.0))
        .chain((0..fresh).map(|i| group(json!({"job": format!("new{i}")}), now())))
        .collect();
    answer_scans(
        &server,
        ResponseTemplate::new(200).set_body_json(document(groups)),
        Times::Any,
    )
    .await;
    common::mock::forbid_deletes(&server).await;
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn max_deletes_refuses_every_delete_and_exits_3() {
    let server = gateway_without_deletes(3, 2).await;
    let url = server.uri();
    let out = run(&["--url", &url, "--max-deletes", "2", "--output", "json"]).await;
    assert_eq!(out.status.code(), Some(3), "stderr: {}", stderr(&out));
    let r = report(&out);
    let gw = &r.gateways[0];
    assert!(
        gw.refused.as_deref().unwrap().contains("--max-deletes 2"),
        "{gw:?}"
    );
    assert_eq!(
        (gw.summary.refused, gw.summary.stale, gw.summary.deleted),
        (3, 3, 0)
    );
    assert_eq!(r.action_of(&[("job", "old0")]), Some("refused"));
    assert_eq!(r.action_of(&[("job", "new0")]), Some("active"));
    assert!(stderr(&out).contains("no DELETE sent"), "{}", stderr(&out));
    server.verify().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn max_delete_ratio_refuses_every_delete_and_exits_3() {
    let server = gateway_without_deletes(3, 2).await;
    let url = server.uri();
    let out = run(&[
        "--url",
        &url,
        "--max-delete-ratio",
        "0.5",
        "--output",
        "json",
    ])
    .await;
    assert_eq!(out.status.code(), Some(3), "stderr: {}", stderr(&out));
    let r = report(&out);
    let refused = r.gateways[0].refused.as_deref().unwrap();
    assert!(
        refused.contains("--max-delete-ratio 0.5")
            && refused.contains("3 of the 5 groups considered"),
        "{refused}"
    );
    assert_eq!(r.summary.refused, 3);
    // Human output says it too.
    let out = run(&["--url", &url, "--max-delete-ratio", "0.5"]).await;
    assert_eq!(out.status.code(), Some(3));
    let text = common::stdout(&out);
    assert!(
        text.contains("refused") && text.contains("none deleted"),
        "{text}"
    );
    server.verify().await;
}

/// A gateway whose clock is `offset` seconds off ours: push times and the
/// Date header both come from its clock.
async fn skewed_gateway(offset: f64) -> MockServer {
    let server = MockServer::start().await;
    let server_now = now() + offset;
    let date = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs_f64(server_now));
    // Pushed a minute ago by the gateway's clock.
    let doc = document(vec![group(json!({"job": "recent"}), server_now - 60.0)]);
    answer_scans(
        &server,
        ResponseTemplate::new(200)
            .set_body_json(doc)
            .insert_header("Date", date.as_str()),
        Times::Any,
    )
    .await;
    common::mock::forbid_deletes(&server).await;
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn server_clock_ignores_a_skewed_local_clock() {
    for offset in [-3.0 * 3600.0, 3.0 * 3600.0] {
        let server = skewed_gateway(offset).await;
        let url = server.uri();
        let out = run(&["--url", &url, "--dry-run", "--output", "json"]).await;
        assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
        let r = report(&out);
        let gw = &r.gateways[0];
        assert_eq!(gw.clock, "server");
        let skew = gw.clock_skew_seconds.unwrap();
        assert!(
            (skew - offset).abs() < 3.0,
            "skew {skew} for offset {offset}"
        );
        assert_eq!(r.action_of(&[("job", "recent")]), Some("active"));
        let age = gw.groups[0].age_seconds.unwrap();
        assert!((58.0..=62.0).contains(&age), "age {age}");

        // The local clock sees the group 3h old (or 3h in the future).
        let out = run(&[
            "--url",
            &url,
            "--dry-run",
            "--output",
            "json",
            "--clock",
            "local",
        ])
        .await;
        let r = report(&out);
        let gw = &r.gateways[0];
        assert_eq!(gw.clock, "local");
        assert!((gw.clock_skew_seconds.unwrap() - offset).abs() < 3.0);
        let expected = if offset < 0.0 {
            "would_delete"
        } else {
            "active"
        };
        assert_eq!(
            r.action_of(&[("job", "recent")]),
            Some(expected),
            "offset {offset}"
        );
        server.verify().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_skewed_local_clock_sends_no_delete_in_a_real_run() {
    // The host is 3h ahead of the gateway: by the local clock every group
    // is hours old. By the gateway's clock the group is a minute old.
    let server = skewed_gateway(-3.0 * 3600.0).await;
    let url = server.uri();
    let out = run(&["--url", &url, "--output", "json"]).await;
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let r = report(&out);
    assert_eq!(r.action_of(&[("job", "recent")]), Some("active"));
    assert_eq!(r.summary.deleted, 0);
    server.verify().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn redirects_are_not_followed() {
    // A 307 to another server must not make that server's groups (or our
    // headers) part of the run: the scan fails, nothing is deleted anywhere.
    let elsewhere = gateway_without_deletes(2, 0).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let server = MockServer::start().await;
    answer_scans(
        &server,
        ResponseTemplate::new(307).insert_header(
            "Location",
            format!("{}/api/v1/metrics", elsewhere.uri()).as_str(),
        ),
        Times::Any,
    )
    .await;
    common::mock::forbid_deletes(&server).await;
    let url = server.uri();
    let out = run(&[
        "--url",
        &url,
        "--header",
        "X-Api-Key: s3cret-key",
        "--output",
        "json",
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    assert!(stderr(&out).contains("HTTP 307"), "{}", stderr(&out));
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
    server.verify().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_that_stays_after_its_delete_is_still_present_and_exits_4() {
    let server = MockServer::start().await;
    let doc = document(vec![group(json!({"job": "sticky"}), now() - 3600.0)]);
    serve_document(&server, doc).await;
    Mock::given(method("DELETE"))
        .and(path("/metrics/job@base64/c3RpY2t5"))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    let url = server.uri();
    let started = Instant::now();
    let out = run(&["--url", &url, "--verify-timeout", "1s", "--output", "json"]).await;
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(4), "stderr: {}", stderr(&out));
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
    let r = report(&out);
    assert_eq!(r.action_of(&[("job", "sticky")]), Some("still_present"));
    assert!(r.gateways[0].groups[0]
        .error
        .as_deref()
        .unwrap()
        .contains("still shown"));
    assert_eq!(r.summary.still_present, 1);
    // Verification re-scanned more than once within its timeout.
    let gets = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "GET")
        .count();
    assert!(gets >= 3, "{gets} scans");
    server.verify().await;
}

/// Forwards every request to a real Pushgateway; after forwarding a DELETE,
/// pushes the same group again before answering, as a live producer would.
struct RepushingProxy {
    upstream: u16,
    /// What to push after a DELETE; `None` forwards only.
    repush: Option<&'static str>,
}

fn raw_http(port: u16, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut response = Vec::new();
    s.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut body = response[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16)
                .unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[line_end + 2..line_end + 2 + size]);
        data = &data[line_end + 2 + size + 2..];
    }
}

impl Respond for RepushingProxy {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path();
        let (status, body) = raw_http(self.upstream, request.method.as_str(), path, &request.body);
        if let (Some(body), "DELETE") = (self.repush, request.method.as_str()) {
            // Let the queued delete land, then push again.
            std::thread::sleep(Duration::from_millis(100));
            let (pushed, _) = raw_http(self.upstream, "PUT", path, body.as_bytes());
            assert_eq!(pushed, 200);
        }
        ResponseTemplate::new(status).set_body_raw(body, "application/json")
    }
}

#[test]
fn a_group_pushed_again_right_after_its_delete_is_repushed() {
    let mut pg = Pushgateway::start();
    let revived: &[(&str, &str)] = &[("job", "revived"), ("instance", "tm-1")];
    let gone: &[(&str, &str)] = &[("job", "gone")];
    pg.push_ok(revived, "some_metric");
    pg.push_ok(gone, "some_metric");
    // Half an hour old, without waiting: the re-push is then seconds old.
    pg.age(Duration::from_secs(1800));

    // The proxy runs on its own runtime's worker threads.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let proxy = rt.block_on(async {
        let proxy = MockServer::start().await;
        let revived_path = format!("/metrics/{}", common::path_for(revived));
        Mock::given(method("DELETE"))
            .and(path(revived_path.as_str()))
            .respond_with(RepushingProxy {
                upstream: pg.port,
                repush: Some("some_metric 2\n"),
            })
            .expect(1)
            .mount(&proxy)
            .await;
        Mock::given(wiremock::matchers::any())
            .respond_with(RepushingProxy {
                upstream: pg.port,
                repush: None,
            })
            .mount(&proxy)
            .await;
        proxy
    });

    let url = proxy.uri();
    let out = common::janitor(&["--url", &url, "--threshold", "10m", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let r = report(&out);
    assert_eq!(r.action_of(revived), Some("repushed"));
    assert_eq!(r.action_of(gone), Some("deleted"));
    assert_eq!(
        (r.summary.repushed, r.summary.deleted, r.summary.stale),
        (1, 1, 2)
    );
    pg.wait_for_groups(&[revived]);
    rt.block_on(proxy.verify());
}

#[test]
fn two_gateways_one_stopped_the_live_one_is_cleaned_and_exit_is_1() {
    let mut live = Pushgateway::start();
    let dead = Pushgateway::start();
    let dead_url = dead.url.clone();
    drop(dead);
    let stale: &[(&str, &str)] = &[("job", "stale")];
    live.push_ok(stale, "some_metric");
    live.age(Duration::from_secs(1800));

    let out = common::janitor(&[
        "--url",
        &dead_url,
        "--url",
        &live.url,
        "--threshold",
        "10m",
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let r = report(&out);
    assert_eq!(r.gateways.len(), 2);
    assert_eq!(r.gateways[0].url, dead_url);
    assert!(r.gateways[0]
        .error
        .as_deref()
        .unwrap()
        .contains("(connection refused, "));
    assert_eq!(r.gateways[1].url, live.url);
    assert_eq!(r.gateways[1].error, None);
    assert_eq!(r.action_of(stale), Some("deleted"));
    assert_eq!(r.summary.deleted, 1);
    // One error line; the retries before it are WARN lines.
    let err = stderr(&out);
    let errors = common::error_lines(&err);
    assert_eq!(errors.len(), 1, "{err}");
    assert!(errors[0].contains(&dead_url), "{err}");
    assert_eq!(err.matches("; retrying (").count(), 3, "{err}");
    live.wait_for_groups(&[]);
}

/// Issue 17, item 6: times a gateway serves after loading a corrupted data
/// file (or one written by a clock gone wild). `1e30` panicked the report
/// in a debug build (`attempt to multiply with overflow`) and was written
/// as `"1000000000000000000000000000000"` in release. Each gets a defined
/// decision and a report the schema allows; only the ordinary stale group
/// is deleted.
#[test]
fn absurd_push_times_get_a_decision_and_a_valid_report() {
    let mut pg = Pushgateway::start();
    let names = ["huge", "negative", "nan", "inf", "future", "stale"];
    for job in names {
        pg.push_ok(&[("job", job)], "m");
    }
    // Pushed in this order, so their times sort the same way.
    let order = pg.push_times();
    assert_eq!(order.len(), names.len());
    let now = now();
    pg.rewrite_times(|t| {
        match order.iter().position(|o| *o == t) {
            Some(0) => 1e30,
            Some(1) => -5.0,
            Some(2) => f64::NAN,
            Some(3) => f64::INFINITY,
            // The year 2286.
            Some(4) => 1e10,
            _ => now - 3600.0,
        }
    });
    for args in [
        vec!["--url", pg.url.as_str(), "--output", "json"],
        vec!["--url", pg.url.as_str(), "-v"],
    ] {
        let out = janitor(&args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        if args.contains(&"-v") {
            let text = stdout(&out);
            assert!(
                text.contains(r#"active         {job="future"}  last push "#)
                    && text.contains("ahead of the clock"),
                "{text}"
            );
            continue;
        }
        let r = report(&out);
        let rfc3339 = |t: &str| {
            t.len() == 24
                && t.ends_with('Z')
                && time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                    .is_ok()
        };
        for g in &r.gateways[0].groups {
            for t in [&g.last_push, &g.last_failure, &g.last_activity]
                .into_iter()
                .flatten()
            {
                assert!(rfc3339(t), "{t} in {g:?}");
            }
        }
        let action = |job: &str| r.action_of(&[("job", job)]).unwrap().to_owned();
        for job in ["huge", "negative", "nan", "inf"] {
            assert_eq!(action(job), "skipped", "{job}");
        }
        assert_eq!(action("future"), "active");
        assert_eq!(action("stale"), "deleted");
        let future = r.gateways[0]
            .groups
            .iter()
            .find(|g| g.labels["job"] == "future")
            .unwrap();
        assert_eq!(future.last_push.as_deref().map(|t| &t[..4]), Some("2286"));
        assert!(future.age_seconds.unwrap() < 0.0);
        let huge = r.gateways[0]
            .groups
            .iter()
            .find(|g| g.labels["job"] == "huge")
            .unwrap();
        assert!(
            huge.reason.contains("after the year 9999"),
            "{}",
            huge.reason
        );
    }
}

#[test]
fn a_gateway_gone_mid_batch_is_given_up_on_and_the_other_is_cleaned() {
    let dying = Pushgateway::start();
    let live = Pushgateway::start();
    let keys: Vec<String> = (0..30).map(|i| format!("g{i:02}")).collect();
    for pg in [&dying, &live] {
        for job in &keys {
            pg.push_ok(&[("job", job)], "some_metric");
        }
    }
    // Three DELETEs reach the gateway; the fourth dies with it (unanswered)
    // and every connection after that is refused.
    let proxy = Proxy::new(
        &dying.url,
        Rules {
            die_after: Some(("/metrics/".into(), 3)),
            ..Rules::default()
        },
    );
    let mut args = vec![
        "--url",
        proxy.url.as_str(),
        "--url",
        live.url.as_str(),
        "--no-verify",
        "--retry-backoff",
        "20ms",
        "--output",
        "json",
    ];
    args.extend(common::EVERY_GROUP_STALE);
    let started = Instant::now();
    let out = common::janitor(&args);
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(4), "stderr: {}", stderr(&out));
    let r = report(&out);
    let gone = &r.gateways[0];
    assert_eq!(gone.summary.deleted, 3, "{gone:?}");
    assert_eq!(gone.summary.delete_failed, 27);
    let not_sent = "gateway unreachable after 5 consecutive failures; not sent";
    let (given_up, tried): (Vec<_>, Vec<_>) = gone
        .groups
        .iter()
        .filter(|g| g.action == "delete_failed")
        .partition(|g| g.error.as_deref() == Some(not_sent));
    // Five in a row, and at most the three others in flight with them
    // (--concurrency 4): each tried 1 + 3 times.
    assert!((5..=8).contains(&tried.len()), "{tried:?}");
    for g in &tried {
        let error = g.error.as_deref().unwrap();
        assert!(
            error.contains("(connection refused, 4 attempts)")
                || error.contains(
                    "was truncated (the connection closed before it was complete, 4 attempts)"
                ),
            "{error}"
        );
    }
    assert_eq!(given_up.len(), 27 - tried.len());
    // The live gateway was cleaned all the same.
    assert_eq!(r.gateways[1].summary.deleted, 30);
    live.wait_for_groups(&[]);
    // About two rounds of retries (20+40+80 ms each), not one per group.
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    let err = stderr(&out);
    assert_eq!(
        err.matches(&format!(
            "{} DELETEs not sent: the gateway was unreachable after 5 consecutive failures",
            given_up.len()
        ))
        .count(),
        1,
        "{err}"
    );
    let errors = common::error_lines(&err);
    assert_eq!(errors.len(), 1, "{err}");
    assert!(
        errors[0].starts_with(&format!(
            "pushgateway-janitor: error: 27 deletes failed on {} (first: ",
            proxy.url
        )) && !errors[0].contains(not_sent),
        "the first failure is a real one, in our words: {err}"
    );
}
