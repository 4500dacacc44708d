//! Verification against a real Pushgateway behind a loopback proxy that
//! makes it slow, or makes its re-scans fail: a slow gateway is not a
//! failed delete.

use crate::common;

use std::time::Duration;

use common::proxy::{Proxy, Rules};
use common::{janitor, stderr, Pushgateway};

fn stale_groups(pg: &Pushgateway) {
    pg.push_ok(&[("job", "a")], "x");
    pg.push_ok(&[("job", "b"), ("instance", "h")], "x");
}

#[test]
fn a_scan_slower_than_the_verify_timeout_is_not_a_failure() {
    // Before: each re-scan was cut at --verify-timeout, nothing finished,
    // and every group was still_present, exit 4.
    let pg = Pushgateway::start();
    stale_groups(&pg);
    let proxy = Proxy::new(
        &pg.url,
        Rules {
            delay: Some(("/api/v1/metrics".into(), Duration::from_millis(1500))),
            ..Rules::default()
        },
    );
    let args = vec![
        "--url",
        proxy.url.as_str(),
        "--verify-timeout",
        "200ms",
        "--output",
        "json",
    ];
    let (_, r) = common::clean_every_stale(args);
    assert_eq!(r.summary.deleted, 2, "{:?}", r.summary);
    assert_eq!(r.summary.still_present, 0);
    pg.wait_for_groups(&[]);
}

#[test]
fn deletes_no_re_scan_can_confirm_are_unconfirmed_not_failed() {
    // The scan goes through; every re-scan after it is refused.
    let pg = Pushgateway::start();
    stale_groups(&pg);
    let proxy = Proxy::new(
        &pg.url,
        Rules {
            refuse_after: Some(("/api/v1/metrics".into(), 1)),
            ..Rules::default()
        },
    );
    let args = vec![
        "--url",
        proxy.url.as_str(),
        "--verify-timeout",
        "300ms",
        "--retries",
        "0",
        "--output",
        "json",
    ];
    let (out, r) = common::clean_every_stale(args);
    assert_eq!(r.summary.unconfirmed, 2, "{:?}", r.summary);
    assert_eq!(r.summary.still_present + r.summary.delete_failed, 0);
    let g = &r.gateways[0].groups[0];
    assert_eq!(g.action, "unconfirmed");
    let why = g.error.as_deref().unwrap_or_default();
    assert!(
        why.starts_with("the DELETE was accepted, but no re-scan could confirm it within --verify-timeout 300ms")
            && why.contains("HTTP 403"),
        "{why}"
    );
    assert!(
        stderr(&out).contains("unconfirmed: "),
        "a warning: {}",
        stderr(&out)
    );
    // The deletes went through all the same.
    pg.wait_for_groups(&[]);
}

#[test]
fn a_zero_verify_timeout_is_a_usage_error() {
    let out = janitor(&["--url", "http://127.0.0.1:9", "--verify-timeout", "0s"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--verify-timeout"),
        "{}",
        stderr(&out)
    );
}

/// Issue 29 item 7: the summary line counts the deletes no re-scan could
/// confirm. Before: `2 stale: 0 deleted, 0 failed` for two unconfirmed
/// deletes, which added up to nothing.
#[test]
fn the_summary_line_counts_unconfirmed_deletes() {
    let pg = Pushgateway::start();
    stale_groups(&pg);
    let proxy = Proxy::new(
        &pg.url,
        Rules {
            refuse_after: Some(("/api/v1/metrics".into(), 1)),
            ..Rules::default()
        },
    );
    let mut args = vec![
        "--url",
        proxy.url.as_str(),
        "--verify-timeout",
        "300ms",
        "--retries",
        "0",
    ];
    args.extend(common::EVERY_GROUP_STALE);
    let out = janitor(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let shown = common::stdout(&out);
    let summary = format!(
        "{}: 2 groups, 2 stale: 0 deleted, 0 failed, 2 unconfirmed; 0 active, 0 kept, 0 skipped\n",
        proxy.url
    );
    assert!(shown.ends_with(&summary), "{shown}");
    pg.wait_for_groups(&[]);
}
