//! Replicas found through DNS (`dns+`, `dnssrv+`, `dnssrvnoa+`), against a
//! real DNS server (dnsmasq on loopback, `--dns-server`) and real
//! Pushgateways on 127.0.0.1 and 127.0.0.2 (A records, one port) or on two
//! ports (SRV records). Every replica is checked by reading it back.
//!
//! Groups are aged without waiting: `--clock local` and a 1 ms threshold
//! make every group stale, and a rule gives the `instance="fresh"` groups an
//! hour, so each replica holds a stale group and a fresh one.

use crate::common;

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::dns::Dnsmasq;
use common::secure::{pki_for, Security};
use common::{
    error_lines, free_port, janitor, report, signal, spawn_janitor, stderr, stdout, wait_bounded,
    Launch, Pushgateway, Report,
};

const STALE: &[(&str, &str)] = &[("job", "flink"), ("instance", "gone")];
const FRESH: &[(&str, &str)] = &[("job", "flink"), ("instance", "fresh")];

fn seed(pg: &Pushgateway) {
    pg.push_ok(STALE, "up");
    pg.push_ok(FRESH, "up");
}

/// A port free on both 127.0.0.1 and 127.0.0.2.
fn port_on_both() -> u16 {
    loop {
        let port = free_port();
        if std::net::TcpListener::bind(("127.0.0.2", port)).is_ok() {
            return port;
        }
    }
}

/// Two replicas on one port, 127.0.0.1 and 127.0.0.2, each seeded.
fn replicas() -> (Pushgateway, Pushgateway, u16) {
    let port = port_on_both();
    let at = |ip: [u8; 4]| {
        Launch {
            ip: ip.into(),
            port: Some(port),
            ..Launch::default()
        }
        .start()
    };
    let (a, b) = (at([127, 0, 0, 1]), at([127, 0, 0, 2]));
    seed(&a);
    seed(&b);
    (a, b, port)
}

/// Every group stale at once, but `instance="fresh"` ones get an hour.
const POLICY: [&str; 6] = [
    "--clock",
    "local",
    "--threshold",
    "1ms",
    "--rule",
    r#"{instance="fresh"}=1h"#,
];

fn clean(dns: &Dnsmasq, url: &str, extra: &[&str]) -> Output {
    let server = dns.flag();
    let mut args = vec!["--url", url, "--dns-server", &server];
    args.extend(POLICY);
    args.extend_from_slice(extra);
    janitor(&args)
}

fn json(dns: &Dnsmasq, url: &str, extra: &[&str]) -> (Output, Report) {
    let mut args = vec!["--output", "json"];
    args.extend_from_slice(extra);
    let out = clean(dns, url, &args);
    let r = report(&out);
    (out, r)
}

/// (url, address, discovered_from) of each gateway in the report.
fn found(r: &Report) -> Vec<(String, Option<String>, Option<String>)> {
    r.gateways
        .iter()
        .map(|g| (g.url.clone(), g.address.clone(), g.discovered_from.clone()))
        .collect()
}

fn assert_cleaned(pg: &Pushgateway) {
    pg.wait_for_groups(&[FRESH]);
}

#[test]
fn dns_cleans_every_address_of_the_name_on_its_own() {
    let (a, b, port) = replicas();
    let dns = Dnsmasq::start(&[("127.0.0.1", "pgw.test"), ("127.0.0.2", "pgw.test")], &[]);
    let url = format!("dns+http://pgw.test:{port}");
    let (out, r) = json(&dns, &url, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let named = format!("http://pgw.test:{port}");
    assert_eq!(
        found(&r),
        vec![
            (
                named.clone(),
                Some(format!("127.0.0.1:{port}")),
                Some(url.clone())
            ),
            (
                named.clone(),
                Some(format!("127.0.0.2:{port}")),
                Some(url.clone())
            ),
        ]
    );
    for g in &r.gateways {
        assert_eq!(g.error, None);
        assert_eq!(g.summary.deleted, 1, "{g:?}");
        assert_eq!(g.summary.active, 1, "{g:?}");
    }
    assert_cleaned(&a);
    assert_cleaned(&b);

    // The human output names each replica by its address.
    seed(&a);
    seed(&b);
    let out = clean(&dns, &url, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for ip in ["127.0.0.1", "127.0.0.2"] {
        let line = format!("{named} ({ip}:{port}): 2 groups, 1 stale: 1 deleted, 0 failed");
        assert!(text.contains(&line), "no {line:?} in:\n{text}");
    }
    assert_cleaned(&a);
    assert_cleaned(&b);
}

#[test]
fn srv_targets_and_ports_are_gateways_with_and_without_address_lookups() {
    let a = Pushgateway::start();
    let b = Pushgateway::start();
    let dns = Dnsmasq::start(
        &[("127.0.0.1", "gw-a.test"), ("127.0.0.1", "gw-b.test")],
        &[
            ("_pgw._tcp.pgw.test", "gw-a.test", a.port),
            ("_pgw._tcp.pgw.test", "gw-b.test", b.port),
        ],
    );
    for prefix in ["dnssrv+", "dnssrvnoa+"] {
        seed(&a);
        seed(&b);
        let url = format!("{prefix}http://_pgw._tcp.pgw.test");
        let (out, r) = json(&dns, &url, &[]);
        assert_eq!(out.status.code(), Some(0), "{url}: {}", stderr(&out));
        let mut want: Vec<_> = [("gw-a.test", a.port), ("gw-b.test", b.port)]
            .into_iter()
            .map(|(host, port)| {
                let address = (prefix == "dnssrv+").then(|| format!("127.0.0.1:{port}"));
                (format!("http://{host}:{port}"), address, Some(url.clone()))
            })
            .collect();
        want.sort();
        assert_eq!(found(&r), want, "{url}");
        for g in &r.gateways {
            assert_eq!(
                (g.summary.deleted, g.summary.active),
                (1, 1),
                "{url}: {g:?}"
            );
        }
        assert_cleaned(&a);
        assert_cleaned(&b);
    }
}

#[test]
fn one_replica_down_the_other_is_cleaned_and_the_run_exits_1() {
    let (a, b, port) = replicas();
    drop(b);
    let dns = Dnsmasq::start(&[("127.0.0.1", "pgw.test"), ("127.0.0.2", "pgw.test")], &[]);
    let (out, r) = json(
        &dns,
        &format!("dns+http://pgw.test:{port}"),
        &["--retries", "0"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(r.gateways.len(), 2);
    assert_eq!(r.gateways[0].summary.deleted, 1);
    assert!(r.gateways[1].error.is_some());
    let err = stderr(&out);
    let lines = error_lines(&err);
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains(&format!("(127.0.0.2:{port})"))
            && lines[0].contains("connection refused"),
        "{err}"
    );
    assert_cleaned(&a);
}

#[test]
fn a_name_without_records_fails_the_run_with_the_lookup_named() {
    let dns = Dnsmasq::start(&[("127.0.0.1", "pgw.test")], &[]);
    for (url, says) in [
        (
            "dns+http://nothing.test:9091",
            "DNS lookup of nothing.test (A/AAAA) found no records",
        ),
        (
            "dnssrv+http://_pgw._tcp.pgw.test",
            "DNS lookup of _pgw._tcp.pgw.test (SRV) found no records",
        ),
    ] {
        let (out, r) = json(&dns, url, &[]);
        assert_eq!(out.status.code(), Some(1), "{url}: {}", stderr(&out));
        assert_eq!(r.gateways.len(), 1, "{url}");
        assert_eq!(r.gateways[0].url, url);
        let err = stderr(&out);
        assert_eq!(
            error_lines(&err),
            vec![format!("pushgateway-janitor: error: {url}: {says}")],
            "{err}"
        );
    }
}

#[test]
fn a_target_name_that_does_not_resolve_is_said_so() {
    // dnssrvnoa+ connects to each SRV target by name, through the same
    // server: this one has no address.
    let dns = Dnsmasq::start(&[], &[("_pgw._tcp.pgw.test", "gone.test", 9)]);
    let url = "dnssrvnoa+http://_pgw._tcp.pgw.test";
    let (out, r) = json(&dns, url, &["--retries", "1", "--retry-backoff", "5ms"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let said = "cannot connect to http://gone.test:9 (the host name gone.test does not resolve, \
                2 attempts): check the name in the URL and the DNS";
    assert_eq!(r.gateways[0].error.as_deref(), Some(said));
    let err = stderr(&out);
    assert_eq!(
        error_lines(&err),
        vec![format!("pushgateway-janitor: error: {said}")],
        "{err}"
    );
    assert!(
        err.contains("the host name gone.test does not resolve): check the name in the URL and the DNS; retrying (1 of 1)"),
        "{err}"
    );
    assert!(!err.contains("dns error"), "library words: {err}");
}

#[test]
fn a_plain_url_beside_a_failed_lookup_is_still_cleaned() {
    let pg = Pushgateway::start();
    seed(&pg);
    let dns = Dnsmasq::start(&[], &[]);
    let (out, r) = json(&dns, "dns+http://nothing.test:9091", &["--url", &pg.url]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(r.gateways.len(), 2);
    assert_eq!(r.gateways[1].summary.deleted, 1);
    assert_cleaned(&pg);
}

#[test]
fn dns_https_checks_the_certificate_against_the_name_not_the_address() {
    let pki = pki_for(&["pgw.test"]);
    let security = Security {
        tls: Some(&pki),
        ..Security::default()
    };
    let pg = Launch {
        host: Some("pgw.test".into()),
        ..security.launch()
    }
    .start();
    seed(&pg);
    let dns = Dnsmasq::start(
        &[("127.0.0.1", "pgw.test"), ("127.0.0.1", "other.test")],
        &[],
    );
    let ca = pki.ca.to_str().unwrap();
    let (out, r) = json(
        &dns,
        &format!("dns+https://pgw.test:{}", pg.port),
        &["--ca-cert", ca],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(r.gateways[0].summary.deleted, 1);
    assert_cleaned(&pg);

    // The same address under a name the certificate does not have.
    seed(&pg);
    let (out, _) = json(
        &dns,
        &format!("dns+https://other.test:{}", pg.port),
        &["--ca-cert", ca, "--retries", "0"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("does not name this host"),
        "{}",
        stderr(&out)
    );
    pg.wait_for_groups(&[STALE, FRESH]);
}

#[test]
fn every_pass_looks_the_name_up_again() {
    let (a, b, port) = replicas();
    let dns = Dnsmasq::start(&[("127.0.0.1", "pgw.test")], &[]);
    let server = dns.flag();
    let url = format!("dns+http://pgw.test:{port}");
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("j.prom");
    let runs = |n: u32| {
        let deadline = Instant::now() + Duration::from_secs(15);
        let series = "pushgateway_janitor_runs_total{result=\"success\"} ";
        loop {
            let text = std::fs::read_to_string(&prom).unwrap_or_default();
            let done = text
                .lines()
                .find_map(|l| l.strip_prefix(series))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .unwrap_or(0.0);
            if done >= f64::from(n) {
                return;
            }
            assert!(Instant::now() < deadline, "fewer than {n} passes:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let mut args = vec![
        "--textfile",
        prom.to_str().unwrap(),
        "--url",
        &url,
        "--dns-server",
        &server,
        "--every",
        "1s",
    ];
    args.extend(POLICY);
    // Killed on drop if an assertion fails first.
    let mut child = spawn_janitor(&args, Stdio::null());
    // Two passes while 127.0.0.2 is not in DNS: it is not touched.
    runs(2);
    assert_cleaned(&a);
    assert_eq!(
        b.groups().len(),
        2,
        "127.0.0.2 was cleaned before it was listed"
    );
    dns.set_hosts(&[("127.0.0.1", "pgw.test"), ("127.0.0.2", "pgw.test")]);
    let deadline = Instant::now() + Duration::from_secs(15);
    while b.groups().len() != 1 {
        assert!(Instant::now() < deadline, "127.0.0.2 was never cleaned");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_cleaned(&b);
    signal(child.id(), "TERM");
    let status = wait_bounded(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
}

#[test]
fn credentials_in_a_dns_url_reach_no_output_even_at_trace() {
    let a = Pushgateway::start();
    seed(&a);
    let dns = Dnsmasq::start(
        &[("127.0.0.1", "gw-a.test"), ("127.0.0.1", "pgw.test")],
        &[("_pgw._tcp.pgw.test", "gw-a.test", a.port)],
    );
    for url in [
        "dnssrvnoa+http://janitor:s3cret@_pgw._tcp.pgw.test".to_owned(),
        "dnssrv+http://janitor:s3cret@_pgw._tcp.pgw.test".to_owned(),
        format!("dns+http://janitor:s3cret@pgw.test:{}", a.port),
        "dns+http://janitor:s3cret@nothing.test:9091".to_owned(),
    ] {
        let (out, _) = json(&dns, &url, &["-vvv", "--dry-run"]);
        for (place, text) in [("stdout", stdout(&out)), ("stderr", stderr(&out))] {
            assert!(
                !text.contains("s3cret"),
                "{url}: the password on {place}:\n{text}"
            );
        }
    }
}

/// Issue 28 item 4. A `dnssrv+` target whose address lookup failed kept
/// its marks in the state file, but the textfile dropped its replica's
/// counters (`deleted_groups_total` 1 -> 0) and gained a series named
/// after the target (`discovered_from: null` in the report) that stayed
/// once it came back. One rule now: a replica whose lookup failed is not
/// gone, and a lookup that failed stands for no gateway.
#[test]
fn a_srv_target_whose_lookup_failed_keeps_its_counters() {
    let a = Pushgateway::start();
    let b = Pushgateway::start();
    let srv = [
        ("_pgw._tcp.pgw.test", "t1.test", a.port),
        ("_pgw._tcp.pgw.test", "t2.test", b.port),
    ];
    let both = [("127.0.0.1", "t1.test"), ("127.0.0.1", "t2.test")];
    let url = "dnssrv+http://_pgw._tcp.pgw.test";
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("j.prom");
    let pass = |dns: &Dnsmasq| {
        seed(&a);
        seed(&b);
        json(dns, url, &["--textfile", prom.to_str().unwrap()])
    };
    let t2 = format!("http://t2.test:{}", b.port);
    let t2_replica = format!("{t2} (127.0.0.1:{})", b.port);
    let counter = |gateway: &str| {
        let text = std::fs::read_to_string(&prom).unwrap();
        let head = format!("pushgateway_janitor_deleted_groups_total{{gateway=\"{gateway}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(head.as_str()))
            .map(|v| v.trim().parse::<f64>().unwrap())
    };

    let dns = Dnsmasq::start(&both, &srv);
    let (out, _) = pass(&dns);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        counter(&t2_replica),
        Some(1.0),
        "{}",
        std::fs::read_to_string(&prom).unwrap()
    );
    drop(dns);

    // t2.test has no address now: its target lookup fails.
    let dns = Dnsmasq::start(&both[..1], &srv);
    let (out, r) = pass(&dns);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        counter(&t2_replica),
        Some(1.0),
        "the replica's counter went"
    );
    assert_eq!(counter(&t2), None, "a series for the failed lookup");
    let failed = r.gateways.iter().find(|g| g.url == t2).unwrap();
    assert!(failed.error.is_some(), "{failed:?}");
    assert_eq!(failed.discovered_from.as_deref(), Some(url), "{failed:?}");
    drop(dns);

    // Back: its counter goes on.
    let dns = Dnsmasq::start(&both, &srv);
    let (out, _) = pass(&dns);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(counter(&t2_replica), Some(2.0));
    assert_eq!(counter(&t2), None);
}
