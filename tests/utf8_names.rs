//! Pushgateway 1.11 and its naming modes, against the real thing: with
//! `--push.enable-utf8-names` a name that starts with `U__` in a path is
//! decoded, so the janitor must spell names the way the gateway in front of
//! it reads them, and skip what it cannot address rather than hit a twin.
//!
//! Groups are aged without waiting: `--clock local` (sub-second steps) and a
//! 1 ms threshold make every group stale, and `--select` picks the ones a
//! test means to delete. A neighbour that is not selected must survive: if
//! a DELETE path named the wrong group, the neighbour is what it would hit.
//! Every push path is written out by hand here, never by the janitor's own
//! encoder, and each push is checked by reading the gateway back.

mod common;

use std::collections::BTreeMap;

use common::proxy::Proxy;
use common::{
    janitor, labels, pushgateway_bin_1_11, report, stderr, Pushgateway, Report, EVERY_GROUP_STALE,
};

const UTF8: &[&str] = &["--push.enable-utf8-names"];

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

/// Pushes to a hand-written path and checks the gateway now holds `expect`.
fn push(pg: &Pushgateway, path: &str, expect: &[(&str, &str)]) {
    assert_eq!(pg.push_path(path, "some_metric 1\n"), 200, "push {path}");
    assert!(
        pg.groups().contains(&labels(expect)),
        "push {path} did not make {expect:?}: {:?}",
        pg.groups()
    );
}

/// A run that finds every group stale and deletes the selected ones.
fn clean(url: &str, select: &str, extra: &[&str]) -> Report {
    let mut args = vec!["--url", url, "--select", select, "--output", "json"];
    args.extend(EVERY_GROUP_STALE);
    args.extend_from_slice(extra);
    let out = janitor(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    report(&out)
}

fn left(pg: &Pushgateway) -> Vec<BTreeMap<String, String>> {
    let mut groups = pg.groups();
    groups.sort();
    groups
}

#[test]
fn utf8_names_are_deleted_exactly_with_the_flag() {
    let pg = Pushgateway::start_bin(&pushgateway_bin_1_11(), UTF8);
    // (stale, its neighbour): the same label name, another value.
    let cases: &[(&str, &str, &str)] = &[
        ("otel", "service.name", "U__service_2e_name"),
        ("koenig", "könig", "U__k_f6_nig"),
        ("zero", "0day", "U__0day"),
    ];
    for (job, name, escaped) in cases {
        for value in ["old", "ä-new ✓"] {
            push(
                &pg,
                &format!("job/{job}/{escaped}@base64/{}", b64(value)),
                &[("job", job), (name, value)],
            );
        }
    }
    for (job, name, _) in cases {
        let select = format!(r#"{{job="{job}","{name}"="old"}}"#);
        let r = clean(&pg.url, &select, &[]);
        assert_eq!(r.action_of(&[("job", job), (name, "old")]), Some("deleted"));
        assert_eq!(r.gateways[0].label_names.as_deref(), Some("utf8"));
        assert_eq!(r.gateways[0].utf8_names, Some(true));
        assert!(r.gateways[0]
            .version
            .as_deref()
            .is_some_and(|v| v.starts_with("1.1")));
    }
    let want: Vec<Vec<(&str, &str)>> = cases
        .iter()
        .map(|(job, name, _)| vec![("job", *job), (*name, "ä-new ✓")])
        .collect();
    let want: Vec<&[(&str, &str)]> = want.iter().map(Vec::as_slice).collect();
    pg.wait_for_groups(&want);
}

#[test]
fn a_literal_u_name_is_not_confused_with_its_decoded_twin() {
    let pg = Pushgateway::start_bin(&pushgateway_bin_1_11(), UTF8);
    let stale = [("job", "t"), ("U__foo_2e_bar", "v")];
    let twin = [("job", "t"), ("foo.bar", "v")];
    // The literal name, escaped so the gateway decodes it to itself...
    push(
        &pg,
        &format!("job/t/U__U____foo__2e__bar@base64/{}", b64("v")),
        &stale,
    );
    // ...and the raw spelling, which this gateway decodes to foo.bar.
    push(
        &pg,
        &format!("job/t/U__foo_2e_bar@base64/{}", b64("v")),
        &twin,
    );

    let r = clean(&pg.url, r#"{U__foo_2e_bar="v"}"#, &[]);
    assert_eq!(r.action_of(&stale), Some("deleted"));
    assert_eq!(r.action_of(&twin), Some("ignored"));
    pg.wait_for_groups(&[&twin]);
}

#[test]
fn without_the_flag_a_u_name_is_literal() {
    let pg = Pushgateway::start_bin(&pushgateway_bin_1_11(), &[]);
    let stale = [("job", "t"), ("U__foo_2e_bar", "v")];
    let neighbour = [("job", "t"), ("U__foo_2e_bar", "w")];
    push(
        &pg,
        &format!("job/t/U__foo_2e_bar@base64/{}", b64("v")),
        &stale,
    );
    push(
        &pg,
        &format!("job/t/U__foo_2e_bar@base64/{}", b64("w")),
        &neighbour,
    );
    // A dotted name is refused by a gateway without the flag.
    assert_eq!(pg.push(&[("job", "t"), ("foo.bar", "v")], "x 1\n"), 400);

    let r = clean(&pg.url, r#"{U__foo_2e_bar="v"}"#, &[]);
    assert_eq!(r.action_of(&stale), Some("deleted"));
    assert_eq!(r.gateways[0].label_names.as_deref(), Some("legacy"));
    assert_eq!(r.gateways[0].utf8_names, Some(false));
    pg.wait_for_groups(&[&neighbour]);
}

#[test]
fn a_data_file_written_without_the_flag_and_served_with_it() {
    let bin = pushgateway_bin_1_11();
    let pg = Pushgateway::start_bin(&bin, &[]);
    let stale = [("job", "d"), ("U__foo_2e_bar", "v")];
    push(
        &pg,
        &format!("job/d/U__foo_2e_bar@base64/{}", b64("v")),
        &stale,
    );
    let pg = pg.restart(&bin, UTF8);
    assert_eq!(
        left(&pg),
        vec![labels(&stale)],
        "the data file was not loaded"
    );
    // Now the raw spelling means foo.bar: the twin appears beside it.
    let twin = [("job", "d"), ("foo.bar", "v")];
    push(
        &pg,
        &format!("job/d/U__foo_2e_bar@base64/{}", b64("v")),
        &twin,
    );

    let r = clean(&pg.url, r#"{U__foo_2e_bar="v"}"#, &[]);
    assert_eq!(r.action_of(&stale), Some("deleted"));
    pg.wait_for_groups(&[&twin]);
}

#[test]
fn a_utf8_name_on_a_gateway_without_the_flag_is_skipped_with_a_reason() {
    let bin = pushgateway_bin_1_11();
    let pg = Pushgateway::start_bin(&bin, UTF8);
    let dotted = [("job", "l"), ("service.name", "api")];
    push(
        &pg,
        &format!("job/l/U__service_2e_name@base64/{}", b64("api")),
        &dotted,
    );
    let pg = pg.restart(&bin, &[]);
    let r = clean(&pg.url, r#"{job="l"}"#, &[]);
    assert_eq!(r.action_of(&dotted), Some("skipped"));
    let reason = &r.gateways[0].groups[0].reason;
    assert!(
        reason.contains("label name \"service.name\" is not a legacy name")
            && reason.contains("--push.enable-utf8-names"),
        "{reason}"
    );
    assert_eq!(left(&pg), vec![labels(&dotted)]);
}

#[test]
fn unknown_mode_deletes_only_what_reads_the_same_in_both_modes() {
    let pg = Pushgateway::start_bin(&pushgateway_bin_1_11(), UTF8);
    let proxy = Proxy::refusing(&pg.url, &["/api/v1/status"]);
    let plain = [("job", "u"), ("instance", "old")];
    let dotted = [("job", "u"), ("service.name", "old")];
    let literal_u = [("job", "u"), ("U__x", "old")];
    let fresh = [("job", "u"), ("instance", "new")];
    push(
        &pg,
        &format!("job/u/instance@base64/{}", b64("old")),
        &plain,
    );
    push(
        &pg,
        &format!("job/u/U__service_2e_name@base64/{}", b64("old")),
        &dotted,
    );
    push(
        &pg,
        &format!("job/u/U__U____x@base64/{}", b64("old")),
        &literal_u,
    );
    push(
        &pg,
        &format!("job/u/instance@base64/{}", b64("new")),
        &fresh,
    );

    let select = r#"{job="u",instance!="new"}"#;
    let mut args = vec![
        "--url",
        proxy.url.as_str(),
        "--select",
        select,
        "--output",
        "json",
    ];
    args.extend(EVERY_GROUP_STALE);
    let out = janitor(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(
        err.matches("the naming mode is unknown").count(),
        1,
        "one warning per pass: {err}"
    );
    let r = report(&out);
    assert_eq!(r.gateways[0].label_names.as_deref(), Some("unknown"));
    assert_eq!(r.gateways[0].version, None);
    assert_eq!(r.action_of(&plain), Some("deleted"));
    for ambiguous in [&dotted, &literal_u] {
        assert_eq!(r.action_of(ambiguous), Some("skipped"), "{ambiguous:?}");
    }
    assert!(r.gateways[0]
        .groups
        .iter()
        .filter(|g| g.action == "skipped")
        .all(|g| g.reason.contains("pass --label-names utf8 or legacy")));
    pg.wait_for_groups(&[&dotted, &literal_u, &fresh]);

    // Told the mode, the janitor deletes them through the same proxy.
    let r = clean(&proxy.url, select, &["--label-names", "utf8"]);
    assert_eq!(r.action_of(&dotted), Some("deleted"));
    assert_eq!(r.action_of(&literal_u), Some("deleted"));
    pg.wait_for_groups(&[&fresh]);
}
