//! Every exit code other than 0 is explained by one `error:` line per
//! gateway on stderr, whatever the verbosity: under `-q` (a cron job) the
//! WARN lines are gone, and before this only they said why a run exited 3
//! or 4.

use crate::common;

use common::proxy::{Proxy, Rules};
use common::{janitor, stderr, Pushgateway, EVERY_GROUP_STALE};

fn two_stale(pg: &Pushgateway) {
    pg.push_ok(&[("job", "a")], "x");
    pg.push_ok(&[("job", "b")], "x");
}

#[test]
fn a_refused_plan_says_so_under_quiet() {
    let pg = Pushgateway::start();
    two_stale(&pg);
    let mut args = vec!["--url", pg.url.as_str(), "--max-deletes", "1", "-qq"];
    args.extend(EVERY_GROUP_STALE);
    let out = janitor(&args);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        stderr(&out),
        format!(
            "pushgateway-janitor: error: no DELETE sent to {}: refused by --max-deletes 1: the plan deletes 2 groups\n",
            pg.url
        )
    );
    assert_eq!(pg.groups().len(), 2);
}

#[test]
fn failed_deletes_say_so_under_quiet() {
    let pg = Pushgateway::start();
    two_stale(&pg);
    // A proxy that lets reads through and refuses every DELETE.
    let proxy = Proxy::new(
        &pg.url,
        Rules {
            refuse: vec!["/metrics/".into()],
            ..Rules::default()
        },
    );
    let mut args = vec!["--url", proxy.url.as_str(), "-q"];
    args.extend(EVERY_GROUP_STALE);
    let out = janitor(&args);
    assert_eq!(out.status.code(), Some(4));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "pushgateway-janitor: error: 2 deletes failed on {} (first: {{job=\"a\"}} DELETE ",
            proxy.url
        )) && err.contains("HTTP 403"),
        "{err}"
    );
}

#[test]
fn a_gateway_that_cannot_be_scanned_is_named_once() {
    let port = common::refused_port();
    let url = format!("http://127.0.0.1:{port}");
    let out = janitor(&["--url", &url, "--retries", "0"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("pushgateway-janitor: error: "), "{err}");
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}
