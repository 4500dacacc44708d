//! Auth, TLS and route prefixes against a real Pushgateway started with
//! `--web.config.file` / `--web.route-prefix`; and that no secret reaches
//! stdout, stderr (at -vvv), the report file or --help.
//!
//! Every group these tests push is meant to go: `--clock local` (sub-second
//! steps) and a 1 ms threshold make it stale at once, without waiting.

use crate::common;

use std::process::Output;
use std::time::Duration;

use base64::Engine as _;
use common::secure::{pki, write_file, Security};
use common::{janitor, janitor_cmd, report, stderr, stdout, Pushgateway, EVERY_GROUP_STALE};

const PASSWORD: &str = "pw-Zq8#k2!s3cret";

/// A run that finds every group stale (`--clock local`, a 1 ms threshold)
/// against `url`, with `extra` flags.
fn clean(url: &str, extra: &[&str]) -> Output {
    clean_cmd(url, extra).output().unwrap()
}

/// [`clean`] as a command, for a test to add variables.
fn clean_cmd(url: &str, extra: &[&str]) -> common::JanitorCmd {
    let mut args = vec!["--url", url];
    args.extend(EVERY_GROUP_STALE);
    args.extend_from_slice(extra);
    janitor_cmd(&args)
}

fn stale_group(pg: &Pushgateway) -> [(&'static str, &'static str); 2] {
    let key = [("job", "batch"), ("instance", "h1")];
    pg.push_ok(&key, "some_metric");
    key
}

/// Neither the secret nor its base64 form (as in an Authorization header)
/// appears on stdout, stderr, or in the report file if given.
fn assert_no_leak(out: &Output, secrets: &[&str], report_file: Option<&std::path::Path>) {
    let mut places = vec![("stdout", stdout(out)), ("stderr", stderr(out))];
    if let Some(path) = report_file {
        places.push(("report file", std::fs::read_to_string(path).unwrap()));
    }
    for secret in secrets {
        let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
        for (place, text) in &places {
            assert!(
                !text.contains(secret),
                "{secret:?} leaked on {place}:\n{text}"
            );
            assert!(
                !text.contains(&b64),
                "base64 of {secret:?} leaked on {place}"
            );
        }
    }
}

#[test]
fn basic_auth_over_tls_cleans_and_leaks_nothing_even_at_trace() {
    let pki = pki();
    let users = [("janitor", PASSWORD)];
    let pg = Pushgateway::start_secured(&Security {
        tls: Some(&pki),
        users: &users,
        ..Security::default()
    });
    let key = stale_group(&pg);
    let report_file = pki.dir.path().join("report.json");
    let ca = pki.ca.to_str().unwrap();
    let out = clean_cmd(
        &pg.url,
        &[
            "--basic-auth-user",
            "janitor",
            "--ca-cert",
            ca,
            "--output",
            "json",
            "--report-file",
            report_file.to_str().unwrap(),
            "-vvv",
        ],
    )
    .env("PUSHGATEWAY_PASSWORD", PASSWORD)
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let r = report(&out);
    assert_eq!(r.action_of(&key), Some("deleted"));
    assert!(stderr(&out).contains("TRACE") || stderr(&out).contains("DEBUG"));
    assert_no_leak(
        &out,
        &[PASSWORD, &format!("janitor:{PASSWORD}")],
        Some(&report_file),
    );
    pg.wait_for_groups(&[]);
}

#[test]
fn password_file_and_url_credentials_work() {
    let users = [("janitor", PASSWORD)];
    let pg = Pushgateway::start_secured(&Security {
        users: &users,
        ..Security::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "pw", &format!("{PASSWORD}\n"));

    let key = stale_group(&pg);
    let out = clean(
        &pg.url,
        &[
            "--basic-auth-user",
            "janitor",
            "--basic-auth-password-file",
            file.to_str().unwrap(),
            "--output",
            "json",
            "-vvv",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert_eq!(report(&out).action_of(&key), Some("deleted"));
    assert_no_leak(&out, &[PASSWORD], None);
    pg.wait_for_groups(&[]);

    // user:password@ in the URL, percent-encoded as URLs need ('#', '!').
    let key = stale_group(&pg);
    let encoded = PASSWORD.replace('#', "%23").replace('!', "%21");
    let url = pg
        .url
        .replace("http://", &format!("http://janitor:{encoded}@"));
    let out = clean(&url, &["--output", "json", "-vvv"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let r = report(&out);
    assert_eq!(r.action_of(&key), Some("deleted"));
    assert_eq!(
        r.gateways[0].url,
        format!("http://janitor:REDACTED@127.0.0.1:{}", pg.port)
    );
    assert_no_leak(&out, &[PASSWORD, &encoded], None);
    pg.wait_for_groups(&[]);
}

#[test]
fn wrong_or_missing_credentials_exit_1_with_401_and_delete_nothing() {
    let users = [("janitor", PASSWORD)];
    let pg = Pushgateway::start_secured(&Security {
        users: &users,
        ..Security::default()
    });
    let key = stale_group(&pg);
    let wrong = "not-the-password-9f3";
    let runs: Vec<(&str, Output)> = vec![
        (
            "wrong password",
            clean_cmd(
                &pg.url,
                &["--basic-auth-user", "janitor", "--output", "json", "-vvv"],
            )
            .env("PUSHGATEWAY_PASSWORD", wrong)
            .output()
            .unwrap(),
        ),
        ("no credentials", clean(&pg.url, &["--output", "json"])),
        (
            "wrong URL credentials",
            clean(
                &pg.url
                    .replace("http://", &format!("http://janitor:{wrong}@")),
                &["--output", "json"],
            ),
        ),
    ];
    for (what, out) in runs {
        assert_eq!(out.status.code(), Some(1), "{what}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("pushgateway-janitor: error: "),
            "{what}: {err}"
        );
        assert!(err.contains("401"), "{what}: {err}");
        let r = report(&out);
        assert!(r.gateways[0].error.as_deref().unwrap().contains("401"));
        assert_eq!(r.summary.deleted, 0, "{what}");
        assert_no_leak(&out, &[wrong, PASSWORD], None);
    }
    // The group is still there: no DELETE went through.
    std::thread::sleep(Duration::from_millis(200));
    pg.wait_for_groups(&[&key]);
}

#[test]
fn an_untrusted_certificate_fails_clearly_unless_its_ca_is_given() {
    let pki = pki();
    let pg = Pushgateway::start_secured(&Security {
        tls: Some(&pki),
        ..Security::default()
    });
    let key = stale_group(&pg);

    for extra in [&[][..], &["--ca-cert", pki.other_ca.to_str().unwrap()][..]] {
        let mut args = vec![
            "--url",
            &pg.url,
            "--clock",
            "local",
            "--threshold",
            "1ms",
            "--output",
            "json",
            "-vv",
        ];
        args.extend_from_slice(extra);
        let out = janitor(&args);
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {}", stderr(&out));
        let err = stderr(&out);
        eprintln!("untrusted, {extra:?}: {err}");
        assert!(err.contains("certificate"), "{extra:?}: {err}");
        assert!(err.contains("--ca-cert"), "no hint in: {err}");
        assert!(
            !err.contains("retry 1 of"),
            "a certificate error was retried: {err}"
        );
        assert_eq!(report(&out).summary.deleted, 0);
    }
    // HTTP against a TLS port: an error, not a hang and not a delete.
    let plain = pg.url.replace("https://", "http://");
    let out = clean(&plain, &["--retries", "0"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // Issue 18 item 8. Before: the gateway's 400 text and no hint, while
    // the reverse case says "the answer was not TLS".
    assert!(
        stderr(&out).contains(": this port speaks TLS: try https:// instead of http://"),
        "{}",
        stderr(&out)
    );
    pg.wait_for_groups(&[&key]);

    let out = clean(
        &pg.url,
        &["--ca-cert", pki.ca.to_str().unwrap(), "--output", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report(&out).action_of(&key), Some("deleted"));
    pg.wait_for_groups(&[]);

    // --insecure-skip-verify works, and warns on every run.
    let key = stale_group(&pg);
    let out = clean(&pg.url, &["--insecure-skip-verify", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--insecure-skip-verify"),
        "{}",
        stderr(&out)
    );
    assert_eq!(report(&out).action_of(&key), Some("deleted"));
    pg.wait_for_groups(&[]);
}

#[test]
fn a_self_signed_or_misnamed_server_certificate_says_what_to_do() {
    let mut pki = pki();
    let (cert, key) = common::secure::self_signed(pki.dir.path(), &["127.0.0.1", "localhost"]);
    pki.server_cert = cert;
    pki.server_key = key;
    let mut launch = Security {
        tls: Some(&pki),
        ..Security::default()
    }
    .launch();
    // The harness's own client refuses it as the janitor does.
    launch.client = reqwest::blocking::Client::builder().danger_accept_invalid_certs(true);
    let pg = launch.start();
    let key = stale_group(&pg);
    let trusted = pki.server_cert.to_str().unwrap();
    let out = clean(&pg.url, &["--ca-cert", trusted, "--output", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(
        common::error_lines(&err),
        vec![format!(
            "pushgateway-janitor: error: TLS handshake with {} failed (1 attempt): the server's \
             certificate is a CA certificate (self-signed, as `openssl req -x509` makes), which \
             TLS does not accept as a server's own: use a server certificate signed by a CA and \
             pass that CA with --ca-cert, or --insecure-skip-verify knowingly (nothing is \
             checked then)",
            pg.url
        )],
        "{err}"
    );
    assert!(!err.contains("retrying"), "retried: {err}");
    assert!(!err.contains("CaUsedAsEndEntity"), "library words: {err}");
    // Knowingly: nothing checked, and cleaned.
    let out = clean(&pg.url, &["--insecure-skip-verify", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report(&out).action_of(&key), Some("deleted"));
    pg.wait_for_groups(&[]);
    drop(pg);

    // A certificate for another name, reached by address.
    let pki = common::secure::pki_for(&["pgw.example"]);
    let mut launch = Security {
        tls: Some(&pki),
        ..Security::default()
    }
    .launch();
    launch.host = Some("pgw.example".into());
    let pg = launch.start();
    let url = format!("https://127.0.0.1:{}", pg.port);
    let out = clean(&url, &["--ca-cert", pki.ca.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(
        common::error_lines(&err),
        vec![format!(
            "pushgateway-janitor: error: TLS handshake with {url} failed (1 attempt): the \
             server's certificate does not name this host: use a name it was issued for in the \
             URL, or reissue it"
        )],
        "{err}"
    );
}

#[test]
fn mutual_tls_needs_the_client_certificate() {
    let pki = pki();
    // TLS 1.2: the gateway refuses a missing client certificate inside the
    // handshake, so the janitor sees the refusal itself every time. (Over
    // TLS 1.3 the refusal comes after the request is sent and may arrive
    // as a reset connection, retried like any other.)
    let pg = Pushgateway::start_secured(&Security {
        tls: Some(&pki),
        mtls: true,
        tls12_only: true,
        ..Security::default()
    });
    let key = stale_group(&pg);
    let ca = pki.ca.to_str().unwrap();

    let out = clean(&pg.url, &["--ca-cert", ca]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    // One clear line that says what to give, and no retry: a certificate
    // problem is not a connection that may come back.
    let lines = common::error_lines(&err);
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains(
            "the server wants a client certificate it trusts: --client-cert and --client-key"
        ),
        "{err}"
    );
    assert!(!err.contains("retrying"), "retried: {err}");
    pg.wait_for_groups(&[&key]);

    let out = clean(
        &pg.url,
        &[
            "--ca-cert",
            ca,
            "--client-cert",
            pki.client_cert.to_str().unwrap(),
            "--client-key",
            pki.client_key.to_str().unwrap(),
            "--output",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report(&out).action_of(&key), Some("deleted"));
    pg.wait_for_groups(&[]);
}

#[test]
fn route_prefix_with_and_without_trailing_slash() {
    let mut pg = Pushgateway::start_with(&["--web.route-prefix=/pgw"]);
    let root = pg.url.clone();
    // The harness pushes and reads under the prefix too.
    pg.url = format!("{root}/pgw");
    for url in [pg.url.clone(), format!("{root}/pgw/")] {
        let key = stale_group(&pg);
        let out = clean(&url, &["--output", "json"]);
        assert_eq!(out.status.code(), Some(0), "{url}: {}", stderr(&out));
        let r = report(&out);
        assert_eq!(r.action_of(&key), Some("deleted"), "{url}");
        assert_eq!(r.gateways[0].url, format!("{root}/pgw"));
        pg.wait_for_groups(&[]);
    }
    // Without the prefix nothing is found: a clear failure, not "no groups".
    let key = stale_group(&pg);
    let out = clean(&root, &["--retries", "0"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("404"), "{}", stderr(&out));
    pg.wait_for_groups(&[&key]);
}

#[test]
fn help_never_shows_secret_env_values() {
    let out = janitor_cmd(&["--help"])
        .env(
            "PUSHGATEWAY_URL",
            format!("https://janitor:{PASSWORD}@pgw:9091"),
        )
        .env("PUSHGATEWAY_PASSWORD", PASSWORD)
        .env("PUSHGATEWAY_TOKEN", "tok-7f2a9c")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = stdout(&out);
    // Named in the flags' text: the janitor reads them itself, so that a
    // flag wins over a variable (clap's env would make them conflict).
    assert!(help.contains("PUSHGATEWAY_PASSWORD"), "{help}");
    assert!(help.contains("PUSHGATEWAY_TOKEN"), "{help}");
    assert!(help.contains("[env: PUSHGATEWAY_URL]"), "{help}");
    assert_no_leak(&out, &[PASSWORD, "tok-7f2a9c"], None);
}

#[test]
fn usage_errors_do_not_echo_secrets() {
    let cases: [(&[&str], &str); 3] = [
        // A header without ':' (the value could be a key).
        (
            &[
                "--url",
                "http://127.0.0.1:9",
                "--header",
                "X-Api-Key s3cret-h1",
            ],
            "s3cret-h1",
        ),
        // A header value with a control character.
        (
            &[
                "--url",
                "http://127.0.0.1:9",
                "--header",
                "X-Api-Key: s3cret-h2\u{1}",
            ],
            "s3cret-h2",
        ),
        // A password without a user.
        (
            &[
                "--url",
                "http://127.0.0.1:9",
                "--basic-auth-password",
                "s3cret-p",
            ],
            "s3cret-p",
        ),
    ];
    for (args, secret) in cases {
        let args: Vec<String> = args.iter().map(|a| a.replace("\\u{1}", "\u{1}")).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = janitor(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).starts_with("pushgateway-janitor: error: "));
        assert_no_leak(&out, &[secret], None);
    }
    // An env password without a user is ignored (a variable no flag uses:
    // env files are shared between tools), and never shown.
    let out = janitor_cmd(&["--url", "http://127.0.0.1:9", "--retries", "0", "-vv"])
        .env("PUSHGATEWAY_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("PUSHGATEWAY_PASSWORD is set but not used"),
        "{}",
        stderr(&out)
    );
    assert_no_leak(&out, &[PASSWORD], None);
}

#[test]
fn connection_errors_name_the_redacted_url_only() {
    // A closed port on loopback: connection refused, retried, then exit 1.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // A raw '#' in the password: the URL does not even parse.
    let raw = format!("http://janitor:{PASSWORD}@127.0.0.1:{port}/pgw?token=q-s3cret");
    let out = janitor(&["--url", &raw, "--output", "json", "-vvv"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("pushgateway-janitor: error: --url 'http://REDACTED@127.0.0.1:"),
        "{}",
        stderr(&out)
    );
    assert_no_leak(&out, &[PASSWORD, "q-s3cret", "s3cret"], None);

    let encoded = PASSWORD.replace('#', "%23");
    let url = format!("http://janitor:{encoded}@127.0.0.1:{port}/pgw?token=q-s3cret");
    let out = janitor(&[
        "--url",
        &url,
        "--retries",
        "1",
        "--retry-backoff",
        "10ms",
        "--output",
        "json",
        "-vvv",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("janitor:REDACTED@127.0.0.1"), "{err}");
    assert!(err.contains("retrying (1 of 1)"), "{err}");
    assert_no_leak(&out, &[PASSWORD, &encoded, "q-s3cret"], None);

    // The error line of a human run, too (the one place it is printed).
    let out = janitor(&["--url", &url, "--retries", "0"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("janitor:REDACTED@127.0.0.1"),
        "{}",
        stderr(&out)
    );
    assert_no_leak(&out, &[PASSWORD, &encoded, "q-s3cret"], None);
}

/// Issue 24, item 21: a proxy from the environment that refuses
/// connections is named as the proxy, not blamed on the gateway (which is
/// up: the same run with no_proxy scans it). Before: "cannot connect to
/// <gateway> (connection refused, ...): is a Pushgateway running there?".
#[test]
fn a_refusing_proxy_is_named_as_the_proxy() {
    let pg = Pushgateway::start();
    let closed = format!("http://127.0.0.1:{}", common::refused_port());
    let run = |no_proxy: &str| {
        common::janitor_cmd(&["--url", &pg.url, "--retries", "0", "--dry-run"])
            .env("http_proxy", &closed)
            .env("no_proxy", no_proxy)
            .env_remove("HTTP_PROXY")
            .env_remove("NO_PROXY")
            .env_remove("all_proxy")
            .env_remove("ALL_PROXY")
            .output()
            .unwrap()
    };
    let out = run("");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(
        common::error_lines(&err),
        vec![format!(
            "pushgateway-janitor: error: cannot connect to the proxy {closed} for {} (connection refused, 1 attempt): is the proxy running? http_proxy, https_proxy or all_proxy in the environment name it; no_proxy lists the hosts reached without it",
            pg.url
        )],
        "{err}"
    );
    // The gateway itself answers.
    let out = run("127.0.0.1");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}
