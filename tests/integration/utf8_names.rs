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

use crate::common;

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

/// [`push`]es `key`, a job and one label, with the label's name spelled
/// `name_in_path` in the path (its value in base64): the escape, or
/// none, that the pusher used.
fn push_named(pg: &Pushgateway, name_in_path: &str, key: &[(&str, &str); 2]) {
    let [("job", job), (_, value)] = key else {
        panic!("{key:?} is not a job and a label");
    };
    push(
        pg,
        &format!("job/{job}/{name_in_path}@base64/{}", b64(value)),
        key,
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

/// A run with the default policy (10m, the server's clock) that must
/// succeed: tests age their stale groups with `Pushgateway::age`.
fn clean_aged(url: &str, extra: &[&str]) -> Report {
    let mut args = vec!["--url", url, "--output", "json"];
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
            push_named(&pg, escaped, &[("job", job), (name, value)]);
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
    push_named(&pg, "U__U____foo__2e__bar", &stale);
    // ...and the raw spelling, which this gateway decodes to foo.bar.
    push_named(&pg, "U__foo_2e_bar", &twin);

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
    push_named(&pg, "U__foo_2e_bar", &stale);
    push_named(&pg, "U__foo_2e_bar", &neighbour);
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
    push_named(&pg, "U__foo_2e_bar", &stale);
    let pg = pg.restart(&bin, UTF8);
    assert_eq!(
        left(&pg),
        vec![labels(&stale)],
        "the data file was not loaded"
    );
    // Now the raw spelling means foo.bar: the twin appears beside it.
    let twin = [("job", "d"), ("foo.bar", "v")];
    push_named(&pg, "U__foo_2e_bar", &twin);

    let r = clean(&pg.url, r#"{U__foo_2e_bar="v"}"#, &[]);
    assert_eq!(r.action_of(&stale), Some("deleted"));
    pg.wait_for_groups(&[&twin]);
}

#[test]
fn a_utf8_name_on_a_gateway_without_the_flag_is_skipped_with_a_reason() {
    let bin = pushgateway_bin_1_11();
    let pg = Pushgateway::start_bin(&bin, UTF8);
    let dotted = [("job", "l"), ("service.name", "api")];
    push_named(&pg, "U__service_2e_name", &dotted);
    let pg = pg.restart(&bin, &[]);
    let r = clean(&pg.url, r#"{job="l"}"#, &[]);
    assert_eq!(r.action_of(&dotted), Some("skipped"));
    let reason = &r.gateways[0].groups[0].reason;
    assert!(
        reason.contains("label name \"service.name\" cannot be written in a push path")
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
    push_named(&pg, "instance", &plain);
    push_named(&pg, "U__service_2e_name", &dotted);
    push_named(&pg, "U__U____x", &literal_u);
    push_named(&pg, "instance", &fresh);

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

/// Issue 17, item 1: a stale `{job="c","x\u{100000}y"="v"}` beside a fresh
/// `{job="c",U__x_100000_y="v"}`. The escape of U+100000 needs six hex
/// digits, which the gateway does not read back: that spelling is the
/// fresh group's literal name. Before the fix the fresh group was deleted
/// and the stale one stayed (`still_present`, exit 4).
#[test]
fn a_code_point_without_an_escape_is_sent_as_it_is_not_as_its_twin() {
    let mut pg = Pushgateway::start_bin(&pushgateway_bin_1_11(), UTF8);
    let stale = [("job", "c"), ("x\u{100000}y", "v")];
    let fresh = [("job", "c"), ("U__x_100000_y", "v")];
    push(&pg, "job/c/x%F4%80%80%80y/v", &stale);
    pg.age(std::time::Duration::from_secs(1800));
    push(&pg, "job/c/U__x_100000_y/v", &fresh);
    let r = clean_aged(&pg.url, &[]);
    assert_eq!(r.action_of(&stale), Some("deleted"));
    assert_eq!(r.action_of(&fresh), Some("active"));
    pg.wait_for_groups(&[&fresh]);
}

/// Issue 17, item 2: `{job="a","__x"="v"}`, made by a push to
/// `U______x` (answered 400, but the group stays with a failure time), is
/// reached by that escape on a UTF-8 gateway. It was skipped forever.
#[test]
fn a_reserved_name_a_utf8_gateway_reads_through_its_escape_is_deleted() {
    let mut pg = Pushgateway::start_bin(&pushgateway_bin_1_11(), UTF8);
    let reserved = [("job", "a"), ("__x", "v")];
    // Pushed first: while the reserved group exists, every push fails.
    let neighbour = [("job", "a"), ("x", "v")];
    push_named(&pg, "x", &neighbour);
    assert_eq!(
        pg.push_path(&format!("job/a/U______x@base64/{}", b64("v")), "m 1\n"),
        400
    );
    assert!(
        pg.groups().contains(&labels(&reserved)),
        "{:?}",
        pg.groups()
    );
    pg.age(std::time::Duration::from_secs(1800));
    // Both stale; the neighbour kept: a DELETE path that named it instead
    // would still remove it.
    let r = clean_aged(&pg.url, &["--keep", r#"{job="a",x="v"}"#]);
    assert_eq!(r.action_of(&reserved), Some("deleted"));
    assert_eq!(r.action_of(&neighbour), Some("kept"));
    pg.wait_for_groups(&[&neighbour]);
}

/// `--label-names` that the gateway's status contradicts: before, the mode
/// given won, so `--label-names legacy` on a UTF-8 gateway sent the stale
/// `{job="a","U__x_2e_y"="v"}` as `U__x_2e_y`, which that gateway reads as
/// `x.y`: it deleted the fresh `{job="a","x.y"="v"}` and reported the stale
/// group `still_present` (exit 4). Now a contradiction is mode `unknown`:
/// the ambiguous name is skipped, the plain one deleted, the fresh group
/// untouched; `restore` likewise pushes nothing to the other group.
#[test]
fn a_label_names_flag_the_status_contradicts_names_no_other_group() {
    let mut pg = Pushgateway::start_bin(&pushgateway_bin_1_11(), UTF8);
    let ambiguous = [("job", "a"), ("U__x_2e_y", "v")];
    let plain = [("job", "a"), ("instance", "old")];
    let fresh = [("job", "a"), ("x.y", "v")];
    push_named(&pg, "U__U____x__2e__y", &ambiguous);
    push_named(&pg, "instance", &plain);
    pg.age(std::time::Duration::from_secs(1800));
    push_named(&pg, "U__x_2e_y", &fresh);
    let out = janitor(&[
        "--url",
        &pg.url,
        "--output",
        "json",
        "--label-names",
        "legacy",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("--label-names legacy but the gateway reports push.enable-utf8-names=true"),
        "{}",
        stderr(&out)
    );
    let r = report(&out);
    assert_eq!(r.gateways[0].label_names.as_deref(), Some("unknown"));
    assert_eq!(r.action_of(&ambiguous), Some("skipped"));
    assert_eq!(r.action_of(&plain), Some("deleted"));
    assert_eq!(r.action_of(&fresh), Some("active"));
    pg.wait_for_groups(&[&ambiguous, &fresh]);
}

/// A small deterministic generator (splitmix64): the seed is printed with
/// every failure, and `PATH_FUZZ_SEED` replays it.
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let seed = std::env::var("PATH_FUZZ_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    /// A label-name segment as a producer might write it in a push path:
    /// plain, escaped (valid or not), reserved, or raw UTF-8.
    fn segment(&mut self) -> String {
        const PIECES: &[&str] = &[
            "a",
            "Z",
            "x",
            "0",
            "9",
            "_",
            "__",
            "U__",
            "_2e_",
            "_2f_",
            "_41_",
            "_f6_",
            "_1f600_",
            "_100000_",
            "_10ffff_",
            "_d800_",
            "_zz_",
            "_0_",
            "_",
            ".",
            "-",
            ":",
            "ä",
            "😀",
            "\u{100000}",
            "\u{10fffd}",
            "%",
            "@",
            "job",
        ];
        let mut s = match self.below(10) {
            0..=3 => "U__".to_owned(),
            4 => "__".to_owned(),
            _ => String::new(),
        };
        for _ in 0..1 + self.below(5) {
            s.push_str(self.pick(PIECES));
        }
        s
    }
}

/// The proof of the naming rules, against the real gateways: random
/// label-name spellings are pushed; the gateway's own groups are the
/// truth. (1) The janitor's model of the gateway's decoding
/// (`gateway_reads`) predicts, for every spelling, exactly the label name
/// the gateway made of it, or that it made none. (2) Half the groups are
/// aged, more are pushed, and one run deletes exactly the aged groups: no
/// fresh group disappears, no stale one stays unless the report says no
/// path reaches it (and the model agrees).
#[test]
fn random_label_names_round_trip_through_the_real_gateways() {
    use pushgateway_janitor::group::{gateway_reads, GroupingKey, LabelNaming};
    use std::time::Duration;
    let mut rng = Rng::seeded();
    let seed = rng.0;
    // (name, binary, flags, flags after a restart on the same data file).
    type Mode<'a> = (
        &'a str,
        &'a std::path::Path,
        &'a [&'a str],
        Option<&'a [&'a str]>,
    );
    let bin_1_11 = pushgateway_bin_1_11();
    let modes: [Mode; 5] = [
        ("1.11 utf8", &bin_1_11, UTF8, None),
        ("1.11 legacy", &bin_1_11, &[], None),
        ("default binary", &common::pushgateway_bin(), &[], None),
        (
            "1.11 utf8 data served without the flag",
            &bin_1_11,
            UTF8,
            Some(&[]),
        ),
        (
            "1.11 legacy data served with the flag",
            &bin_1_11,
            &[],
            Some(UTF8),
        ),
    ];
    let encode = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let naming_of = |flags: &[&str]| {
        if flags == UTF8 {
            LabelNaming::Utf8
        } else {
            LabelNaming::Legacy
        }
    };
    for (mode, bin, flags, restart) in modes {
        let mut pg = Pushgateway::start_bin(bin, flags);
        let ctx = format!("{mode}, PATH_FUZZ_SEED={seed}");
        let naming = naming_of(flags);

        // (1) One job per spelling: what did the gateway make of it?
        for i in 0..60 {
            let segment = rng.segment();
            let job = format!("probe{i}");
            pg.push_path(
                &format!("job/{job}/{}@base64/dg", encode(&segment)),
                "m 1\n",
            );
            let made: Vec<String> = pg
                .groups()
                .into_iter()
                .filter(|g| g.get("job") == Some(&job))
                .flat_map(|g| g.into_keys().filter(|n| n != "job"))
                .collect();
            // A label named job is overwritten by the route's job.
            let predicted = gateway_reads(&segment, naming).filter(|n| n != "job");
            assert_eq!(
                made,
                predicted.into_iter().collect::<Vec<_>>(),
                "{ctx}: segment {segment:?}"
            );
        }

        // (2) Stale and fresh groups side by side, twins likely: few jobs
        // and values, several names a group.
        let push_random = |pg: &Pushgateway, rng: &mut Rng| {
            for _ in 0..40 {
                let job = format!("j{}", rng.below(4));
                let mut path = format!("job/{job}");
                for _ in 0..1 + rng.below(2) {
                    let value = rng.pick(&["", "v", "w"]);
                    let value = if value.is_empty() {
                        "=".to_owned()
                    } else {
                        b64(value)
                    };
                    path.push_str(&format!("/{}@base64/{value}", encode(&rng.segment())));
                }
                pg.push_path(&path, "m 1\n");
            }
        };
        push_random(&pg, &mut rng);
        let naming = match restart {
            Some(then) => {
                pg = pg.restart(bin, then);
                naming_of(then)
            }
            None => naming,
        };
        pg.age(Duration::from_secs(1800));
        let stale: Vec<BTreeMap<String, String>> = pg.groups();
        push_random(&pg, &mut rng);
        let before = pg.groups();
        let fresh: Vec<&BTreeMap<String, String>> =
            before.iter().filter(|g| !stale.contains(g)).collect();
        // A stale group pushed again is fresh: the report says which.
        let out = janitor(&["--url", &pg.url, "--output", "json"]);
        let r = report(&out);
        assert!(
            matches!(out.status.code(), Some(0)),
            "{ctx}: exit {:?}: {}",
            out.status.code(),
            stderr(&out)
        );
        let action = |g: &BTreeMap<String, String>| {
            r.gateways[0]
                .groups
                .iter()
                .find(|x| &x.labels == g)
                .map(|x| x.action.clone())
                .unwrap_or_else(|| panic!("{ctx}: {g:?} is not in the report"))
        };
        let mut kept: Vec<BTreeMap<String, String>> = Vec::new();
        for g in &before {
            let key = GroupingKey::new(g.iter().map(|(n, v)| (n.as_str(), v.as_str()))).unwrap();
            match action(g).as_str() {
                "deleted" => assert!(stale.contains(g), "{ctx}: deleted a group not stale: {g:?}"),
                "active" => {
                    assert!(fresh.contains(&g) || stale.contains(g), "{ctx}: {g:?}");
                    kept.push(g.clone());
                }
                "skipped" => {
                    assert!(
                        key.unaddressable(naming).is_some(),
                        "{ctx}: skipped a group the model reaches: {g:?}"
                    );
                    kept.push(g.clone());
                }
                other => panic!("{ctx}: {g:?} got {other}"),
            }
        }
        for g in &fresh {
            assert_eq!(action(g), "active", "{ctx}: a fresh group: {g:?}");
        }
        if naming == LabelNaming::Utf8 {
            assert!(
                before.iter().all(|g| action(g) != "skipped"),
                "{ctx}: a UTF-8 gateway reaches every group"
            );
        }
        let count = |a: &str| before.iter().filter(|g| action(g) == a).count();
        eprintln!(
            "{ctx}: {} groups: {} deleted, {} active, {} skipped",
            before.len(),
            count("deleted"),
            count("active"),
            count("skipped")
        );
        let want: Vec<Vec<(&str, &str)>> = kept
            .iter()
            .map(|g| g.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect())
            .collect();
        let want: Vec<&[(&str, &str)]> = want.iter().map(Vec::as_slice).collect();
        pg.wait_for_groups(&want);
    }
}

use crate::common::protobuf as pb;

#[test]
fn native_and_float_histograms_pushed_in_protobuf_are_deleted_exactly() {
    for flags in [&[][..], UTF8] {
        let pg = Pushgateway::start_bin(&pushgateway_bin_1_11(), flags);
        // A native histogram with integer counts: schema 0, a zero bucket,
        // two positive buckets (deltas 2, 0).
        let native =
            pb::native_histogram(5_u64, 12.5, 0, (0.001, 1), (&[], &[]), (&[(0, 2)], &[2, 0]));
        // The same with float counts.
        let float = pb::native_histogram(
            5.0,
            12.5,
            0,
            (0.001, 1.0),
            (&[], &[]),
            (&[(0, 2)], &[2.0, 2.0]),
        );
        // A classic histogram with float counts.
        let classic = pb::classic_histogram(3.0, 4.5, &[(1.0, 1.0), (3.0, f64::INFINITY)]);
        let groups: [(&str, Vec<u8>); 3] =
            [("int", native), ("float", float), ("classic", classic)];
        for (instance, histogram) in &groups {
            pg.push_protobuf_ok(
                &format!("job/hist/instance/{instance}"),
                pb::family("latency_seconds", "", 4, &[], 7, histogram),
            );
            let key: &[(&str, &str)] = &[("job", "hist"), ("instance", instance)];
            assert!(pg.groups().contains(&labels(key)), "{:?}", pg.groups());
        }
        pg.push_ok(&[("job", "hist"), ("instance", "fresh")], "up");

        let r = clean(&pg.url, r#"{job="hist",instance!="fresh"}"#, &[]);
        for (instance, _) in &groups {
            assert_eq!(
                r.action_of(&[("job", "hist"), ("instance", instance)]),
                Some("deleted"),
                "{instance} with {flags:?}"
            );
        }
        pg.wait_for_groups(&[&[("job", "hist"), ("instance", "fresh")]]);
    }
}

/// Issue 28 item 8: `--max-delete-ratio` counts the groups considered,
/// selected and addressable. On a 1.11 gateway holding a UTF-8 label name
/// and read in legacy mode, 2 stale groups, 1 fresh and 1 fresh that no
/// DELETE can name made 2 of 4 = 0.5, under 0.6: the plan went ahead
/// (exit 0, both deleted). The documented 2 of 3 refuses (exit 3).
#[test]
fn a_group_no_delete_can_name_is_not_considered_by_the_ratio() {
    let bin = pushgateway_bin_1_11();
    let mut pg = Pushgateway::start_bin(&bin, UTF8);
    for job in ["old-1", "old-2"] {
        push_named(&pg, "instance", &[("job", job), ("instance", "a")]);
    }
    pg.age(std::time::Duration::from_secs(3600));
    let fresh = [("job", "new"), ("instance", "a")];
    let dotted = [("job", "new"), ("service.name", "api")];
    push_named(&pg, "instance", &fresh);
    push_named(&pg, "U__service_2e_name", &dotted);
    let pg = pg.restart(&bin, &[]);
    let out = janitor(&[
        "--url",
        &pg.url,
        "--max-delete-ratio",
        "0.6",
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let r = report(&out);
    assert_eq!(r.gateways[0].label_names.as_deref(), Some("legacy"));
    assert_eq!(r.action_of(&dotted), Some("active"));
    assert_eq!(
        r.gateways[0].refused.as_deref(),
        Some(
            "refused by --max-delete-ratio 0.6: the plan deletes 2 of the 3 groups considered \
             (66.7%)"
        )
    );
    assert_eq!(left(&pg).len(), 4);
}
