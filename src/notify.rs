//! `--notify-url`: after a pass that deleted groups or marked new ones
//! pending, one JSON document POSTed to a URL (schema [`SCHEMA`]): the
//! deleted, pending and failed groups, and a `text` field that Slack's and
//! Mattermost's incoming webhooks show as the message (both read `text`
//! from a JSON body and ignore the fields they do not know).
//!
//! The request carries none of the gateway's credentials or headers (a
//! webhook is another party); it trusts `--ca-cert` besides the built-in
//! roots, and uses `--timeout` and `--retries`. A webhook URL's path is its
//! secret: messages show the scheme and host only.

use std::borrow::Cow;
use std::fmt;

use reqwest::header::CONTENT_TYPE;
use reqwest::Url;
use serde::Serialize;

use crate::duration::{human_age, human_threshold};
use crate::gateway::fault::Fault;
use crate::gateway::retry::{retrying, Attempted, FailedAttempt};
use crate::gateway::{Connect, Credentials, RetryPolicy, TlsOptions, TransportOptions};
use crate::plan::{Eviction, ThresholdSource};
use crate::report::{eviction_line, Action, LabelSet, NotifiedAs, Report, Time};

pub const SCHEMA: &str = "pushgateway-janitor/notification/v1";

/// How many groups of each kind the `text` names before "and N more".
const NAMED: usize = 5;

/// The document POSTed.
#[derive(Debug, Clone, Serialize)]
pub struct Notification<'a> {
    pub schema: &'static str,
    /// A short summary for people: what Slack and Mattermost show.
    pub text: String,
    pub finished_at: Time,
    /// Groups whose DELETE was accepted: `deleted`, `unconfirmed`, and
    /// `repushed` (deleted, then pushed again: its producer is alive).
    pub deleted: Vec<Notified<'a>>,
    /// Groups in their grace period, `new` for those this pass marked.
    pub pending: Vec<Notified<'a>>,
    /// Groups whose DELETE failed: `delete_failed`, `still_present`.
    pub failed: Vec<Notified<'a>>,
}

/// One group, as the report has it.
#[derive(Debug, Clone, Serialize)]
pub struct Notified<'a> {
    /// The gateway, as the report names it.
    pub gateway: Cow<'a, str>,
    pub labels: &'a LabelSet,
    pub action: Action,
    pub age_seconds: Option<f64>,
    pub threshold_seconds: Option<f64>,
    #[serde(serialize_with = "crate::report::words")]
    pub threshold_source: &'a ThresholdSource,
    pub last_activity: Option<Time>,
    /// Pending: from when a pass may delete it; else null.
    pub deletable_at: Option<Time>,
    /// Pending: this pass marked it.
    pub new: bool,
    pub error: Option<&'a str>,
    /// Evicted, or pending eviction: the size bound it goes for, shown as
    /// `evicted_for` (`--max-groups N`, `--max-series N`); else null. Its
    /// threshold is not what sends it away.
    #[serde(rename = "evicted_for", serialize_with = "bound_flag")]
    pub eviction: Option<Eviction>,
}

fn bound_flag<S: serde::Serializer>(eviction: &Option<Eviction>, s: S) -> Result<S::Ok, S::Error> {
    match eviction {
        Some(e) => s.serialize_str(&crate::report::bound_words(e.bound)),
        None => s.serialize_none(),
    }
}

/// What `report` announces, or `None` when it deleted nothing and marked
/// nothing new (or sent nothing: a dry run).
pub fn notification(report: &Report) -> Option<Notification<'_>> {
    if report.dry_run {
        return None;
    }
    let mut n = Notification {
        schema: SCHEMA,
        text: String::new(),
        finished_at: report.finished_at,
        deleted: Vec::new(),
        pending: Vec::new(),
        failed: Vec::new(),
    };
    for gw in &report.gateways {
        for g in &gw.groups {
            let list = match g.action.properties().notified {
                NotifiedAs::Deleted => &mut n.deleted,
                NotifiedAs::Pending => &mut n.pending,
                NotifiedAs::Failed => &mut n.failed,
                NotifiedAs::Not => continue,
            };
            list.push(Notified {
                gateway: gw.name(),
                labels: &g.labels,
                action: g.action,
                age_seconds: g.age_seconds,
                threshold_seconds: g.threshold_seconds,
                threshold_source: &g.threshold_source,
                last_activity: g.last_activity,
                deletable_at: g.deletable_at,
                new: g.newly_pending,
                error: g.error.as_deref(),
                eviction: g.reason.eviction(),
            });
        }
    }
    if n.deleted.is_empty() && !n.pending.iter().any(|p| p.new) {
        return None;
    }
    n.text = text(&n);
    Some(n)
}

/// One line per kind: how many, and the first few groups.
fn text(n: &Notification<'_>) -> String {
    let mut lines = vec!["pushgateway-janitor:".to_owned()];
    let list = |groups: &[&Notified<'_>], detail: &dyn Fn(&Notified<'_>) -> String| {
        let mut named: Vec<String> = groups
            .iter()
            .take(NAMED)
            .map(|g| format!("{} on {} ({})", g.labels, g.gateway, detail(g)))
            .collect();
        if groups.len() > NAMED {
            named.push(format!("and {} more", groups.len() - NAMED));
        }
        named.join("; ")
    };
    let silent = |g: &Notified<'_>| {
        let age = || {
            g.age_seconds.map_or("?".into(), |a| {
                human_age(a, g.threshold_seconds, g.action.is_stale())
            })
        };
        let threshold = g.threshold_seconds.map_or("never".into(), |t| {
            crate::duration::human_threshold_seconds(t)
        });
        match g.eviction {
            // As on its human line: the bound and the size it acts on, and
            // its silence against --evict-after, whether it went or waits.
            Some(e) => eviction_line(e.bound, e.held, g.age_seconds, e.evict_after, ""),
            None => format!(
                "silent {}, threshold {threshold}, {}",
                age(),
                g.threshold_source
            ),
        }
    };
    let count = |n: usize, what: &str| match n {
        1 => format!("1 group {what}"),
        n => format!("{n} groups {what}"),
    };
    let deleted: Vec<&Notified<'_>> = n.deleted.iter().collect();
    if !deleted.is_empty() {
        lines.push(format!(
            "{}: {}",
            count(deleted.len(), "deleted"),
            list(&deleted, &silent)
        ));
    }
    let new: Vec<&Notified<'_>> = n.pending.iter().filter(|p| p.new).collect();
    if !new.is_empty() {
        let when = |g: &Notified<'_>| {
            let at = g.deletable_at.map_or("?".into(), |t| t.to_string());
            format!("{}; deletable from {at}", silent(g))
        };
        lines.push(format!(
            "{}: {}",
            count(new.len(), "newly pending"),
            list(&new, &when)
        ));
    }
    let still = n.pending.len() - new.len();
    if still > 0 {
        let groups = if still == 1 { "group" } else { "groups" };
        lines.push(format!("{still} {groups} already pending"));
    }
    let failed: Vec<&Notified<'_>> = n.failed.iter().collect();
    if !failed.is_empty() {
        let why = |g: &Notified<'_>| g.error.unwrap_or(g.action.name()).to_owned();
        lines.push(format!(
            "{}: {}",
            count(failed.len(), "failed to delete"),
            list(&failed, &why)
        ));
    }
    escape(&lines.join("\n"))
}

/// Slack reads `&`, `<` and `>` as markup (`<!channel>` notifies everyone):
/// its documented escapes, which Mattermost's Markdown reads back as the
/// characters. Mattermost reads `@channel`, `@here`, `@all` and `@name` in
/// plain text as mentions: an invisible word joiner (U+2060) after every
/// `@` keeps the text as it reads and matches no mention. Label values are
/// the pushers' text; only `text` is escaped, the structured fields carry
/// the values as pushed.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('@', "@\u{2060}")
}

/// The URL as messages show it: scheme, host and port; the path (a
/// webhook's secret) as `/…`.
pub fn shown_url(url: &Url) -> String {
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let rest = if url.path() == "/" && url.query().is_none() {
        ""
    } else {
        "/…"
    };
    format!(
        "{}://{}{port}{rest}",
        url.scheme(),
        url.host_str().unwrap_or_default()
    )
}

/// `--notify-url`, checked before anything is sent; the message never
/// quotes the URL's path.
pub fn check_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| match e {
        url::ParseError::RelativeUrlWithoutBase => {
            "--notify-url has no scheme: give the whole URL, https://…".to_owned()
        }
        e => format!("--notify-url is not a URL: {e}"),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "--notify-url: the scheme must be http or https, not {}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("--notify-url has no host".into());
    }
    Ok(url)
}

/// Why the notification was not delivered, in our words.
#[derive(Debug)]
struct Undelivered {
    what: String,
    why: String,
    attempts: Option<u32>,
}

impl fmt::Display for Undelivered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.why)?;
        match self.attempts {
            Some(1) => write!(f, " (1 attempt)"),
            Some(n) => write!(f, " ({n} attempts)"),
            None => Ok(()),
        }
    }
}

impl Attempted for Undelivered {
    fn after(mut self, attempts: u32) -> Self {
        self.attempts = Some(attempts);
        self
    }
}

/// What a failure below HTTP was, in words for a webhook receiver;
/// `proxy`: the proxy the environment names for its URL, which is what a
/// connection that could not be made failed to reach.
fn fault_words(fault: Fault, timeout: std::time::Duration, proxy: Option<&str>) -> String {
    match (fault, proxy) {
        (Fault::Refused | Fault::NameNotResolved | Fault::Unreachable, Some(proxy)) => {
            return format!(
                "cannot connect to the proxy {proxy} (http_proxy, https_proxy or all_proxy; no_proxy lists the hosts reached without it)"
            )
        }
        (Fault::Connect, Some(proxy)) => {
            return format!("cannot connect through the proxy {proxy} (-v shows the cause)")
        }
        _ => {}
    }
    match fault {
        Fault::Refused => "connection refused".into(),
        Fault::NameNotResolved => "the host name does not resolve".into(),
        Fault::Unreachable => "no route to the host".into(),
        Fault::Connect => "cannot connect (-v shows the cause)".into(),
        Fault::Reset => "the connection was reset".into(),
        Fault::Truncated => "the connection closed before the answer was complete".into(),
        Fault::TimedOut => format!("no answer within --timeout {}", human_threshold(timeout)),
        Fault::Tls(_) => "the TLS handshake failed (-v shows why; --ca-cert adds a CA)".into(),
        Fault::Protocol => "the server did not answer in HTTP".into(),
        Fault::Other => "the request failed (-v shows the cause)".into(),
    }
}

/// The header that names one notification: the same on every attempt, so
/// that a receiver can drop the copy a retry sends after a timeout ate the
/// first answer (the POST itself is not idempotent). The name the IETF's
/// httpapi draft and Stripe-style APIs use.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// A fresh key: 128 random bits, in hex.
fn idempotency_key() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

/// POSTs `body` (JSON) to `url`, retried as every request is
/// ([`crate::gateway::retry`]: failures below HTTP that may pass, 408, 429
/// and 5xx), each attempt with the same [`IDEMPOTENCY_KEY`]. Success is
/// any 2xx. The error is one line: `--notify-url: POST https://host/…: why
/// (N attempts)`.
pub async fn send(url: &str, transport: &TransportOptions, body: String) -> Result<(), String> {
    let mut parsed = check_url(url)?;
    let what = format!("--notify-url: POST {}", shown_url(&parsed));
    let url_credentials = crate::gateway::transport::take_url_credentials(&mut parsed);
    let client =
        crate::gateway::transport::build_client(crate::gateway::transport::ClientSettings {
            timeout: transport.timeout,
            credentials: &Credentials::None,
            url_credentials,
            headers: &[],
            tls: &TlsOptions {
                ca_cert: transport.tls.ca_cert.clone(),
                ..TlsOptions::default()
            },
            host: parsed.host_str().unwrap_or_default(),
            connect: &Connect::System,
        })
        .map_err(|e| format!("{what}: {e}"))?;
    let proxy = crate::gateway::transport::proxy_for(&parsed);
    let policy: &RetryPolicy = &transport.retry;
    let timeout = transport.timeout;
    let key = idempotency_key();
    retrying(policy, &what, None, || async {
        let response = client
            .post(parsed.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(IDEMPOTENCY_KEY, &key)
            .body(body.clone())
            .send()
            .await
            .map_err(|e| {
                let e = e.without_url();
                tracing::info!("{what}: {}", crate::errors::error_chain(&e));
                let fault = Fault::of(&e);
                FailedAttempt::for_fault(
                    fault,
                    Undelivered {
                        what: what.clone(),
                        why: fault_words(fault, timeout, proxy.as_deref()),
                        attempts: None,
                    },
                )
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let headers = response.headers().clone();
        let answer = response.text().await.unwrap_or_default();
        let answer: String = answer.trim().chars().take(160).collect();
        let why = match answer.is_empty() {
            true => format!("HTTP {status}"),
            false => format!("HTTP {status}: {}", answer.replace(['\n', '\r'], " ")),
        };
        let undelivered = Undelivered {
            what: what.clone(),
            why,
            attempts: None,
        };
        Err(FailedAttempt::for_status(status, &headers, undelivered))
    })
    .await
    .map_err(|e| e.to_string())?;
    tracing::info!("{what}: notification delivered");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{GatewayReport, GroupReport, Summary};

    fn group(job: &str, action: Action, new: bool) -> GroupReport {
        GroupReport {
            rhythm: Default::default(),
            health: Default::default(),
            labels: LabelSet(vec![("job".into(), job.into())]),
            last_push: Some(Time(1_795_478_400.0)),
            last_failure: None,
            last_activity: Some(Time(1_795_478_400.0)),
            age_seconds: Some(7200.0),
            threshold_seconds: Some(3600.0),
            last_push_successful: Some(true),
            action,
            reason: crate::plan::Reason::NotSelected,
            error: (action == Action::DeleteFailed).then(|| "DELETE …: HTTP 500".into()),
            archive: None,
            threshold_source: ThresholdSource::Ttl {
                declared: crate::plan::Declared::Label {
                    name: "ttl".into(),
                    value: "1h".into(),
                },
                bounded: None,
            },
            ttl_ignored: Vec::new(),
            stale_since: None,
            deletable_at: (action == Action::Pending).then_some(Time(1_795_485_600.0)),
            newly_pending: new,
            unsent: false,
        }
    }

    fn report(dry_run: bool, groups: Vec<GroupReport>) -> Report {
        Report::new(
            dry_run,
            0.0,
            1_795_482_000.0,
            Some(600.0),
            vec![GatewayReport {
                health: Default::default(),
                url: "http://pgw:9091".into(),
                discovered_from: None,
                address: None,
                now: Time(1_795_482_000.0),
                clock: "server",
                clock_skew_seconds: None,
                error: None,
                refused: None,
                version: None,
                utf8_names: None,
                label_names: None,
                summary: Summary::of(&groups),
                groups,
                interrupted: false,
                id: None,
            }],
        )
    }

    #[test]
    fn only_deletes_and_new_pending_groups_are_announced() {
        let quiet = report(false, vec![group("p", Action::Pending, false)]);
        assert!(notification(&quiet).is_none());
        let failed_only = report(false, vec![group("f", Action::DeleteFailed, false)]);
        assert!(notification(&failed_only).is_none());
        let dry = report(true, vec![group("p", Action::Pending, true)]);
        assert!(notification(&dry).is_none());

        let r = report(
            false,
            vec![
                group("a<b>&c", Action::Deleted, false),
                group("p", Action::Pending, true),
                group("q", Action::Pending, false),
                group("f", Action::DeleteFailed, false),
                group("k", Action::Active, false),
            ],
        );
        let n = notification(&r).unwrap();
        assert_eq!(
            (n.deleted.len(), n.pending.len(), n.failed.len()),
            (1, 2, 1)
        );
        assert_eq!(
            n.text,
            "pushgateway-janitor:\n\
             1 group deleted: {job=\"a&lt;b&gt;&amp;c\"} on http://pgw:9091 (silent 2h, threshold 1h, ttl label ttl=\"1h\")\n\
             1 group newly pending: {job=\"p\"} on http://pgw:9091 (silent 2h, threshold 1h, ttl label ttl=\"1h\"; deletable from 2026-11-24T02:00:00.000Z)\n\
             1 group already pending\n\
             1 group failed to delete: {job=\"f\"} on http://pgw:9091 (DELETE …: HTTP 500)"
        );
        let json: serde_json::Value = serde_json::to_value(&n).unwrap();
        assert_eq!(json["schema"], SCHEMA);
        assert_eq!(json["pending"][0]["new"], true);
        assert_eq!(
            json["pending"][0]["deletable_at"],
            "2026-11-24T02:00:00.000Z"
        );
        assert_eq!(json["deleted"][0]["labels"]["job"], "a<b>&c");
    }

    /// A label value `@channel`, `@here` or `@all` in `text` pinged the
    /// whole Mattermost channel (and `@name` a user): in `text` an `@` is
    /// followed by a word joiner, which no mention matches; the structured
    /// fields keep the value as pushed.
    #[test]
    fn mentions_in_label_values_ping_nobody() {
        let r = report(
            false,
            vec![
                group("@channel", Action::Deleted, false),
                group("x@here", Action::Deleted, false),
                group("@all", Action::Pending, true),
            ],
        );
        let n = notification(&r).unwrap();
        for mention in ["@channel", "@here", "@all"] {
            assert!(!n.text.contains(mention), "{}", n.text);
        }
        assert!(n.text.contains("{job=\"@\u{2060}channel\"}"), "{}", n.text);
        assert!(n.text.contains("{job=\"x@\u{2060}here\"}"), "{}", n.text);
        let json: serde_json::Value = serde_json::to_value(&n).unwrap();
        assert_eq!(json["deleted"][0]["labels"]["job"], "@channel");
        assert_eq!(json["pending"][0]["labels"]["job"], "@all");
    }

    #[test]
    fn a_deleted_groups_age_reads_longer_than_its_threshold() {
        let mut g = group("j", Action::Deleted, false);
        g.age_seconds = Some(2.3);
        g.threshold_seconds = Some(2.0);
        let r = report(false, vec![g]);
        let n = notification(&r).unwrap();
        assert!(
            n.text.contains("(silent 2.300s, threshold 2s, "),
            "{}",
            n.text
        );
    }

    /// Review finding: an evicted group was listed as an ordinary delete,
    /// "silent 1h6m, threshold 2h46m": deleted inside its threshold, with
    /// no word of the size bound it went for.
    #[test]
    fn an_evicted_group_is_said_to_go_for_its_bound() {
        let mut g = group("j", Action::Evicted, false);
        g.reason = crate::plan::Reason::Judged {
            activity: crate::plan::Activity::Push,
            ruling: crate::plan::Ruling::Evicted {
                bound: crate::plan::health::Bound::Groups(1000),
                held: 1200,
                evict_after: std::time::Duration::from_secs(3600),
                grace: None,
                refused: None,
            },
        };
        let r = report(false, vec![g]);
        let n = notification(&r).unwrap();
        // Before: `(silent 2h, evicted for --max-groups 1000)`, its age
        // against its threshold, and "evicted" for a pending one too.
        assert!(
            n.text.contains(
                "(eviction for --max-groups 1000: the gateway would hold 1200 groups; \
                 silent 2h, at least --evict-after 1h)"
            ),
            "{}",
            n.text
        );
        let json = serde_json::to_value(&n).unwrap();
        assert_eq!(json["deleted"][0]["evicted_for"], "--max-groups 1000");
        assert_eq!(json["deleted"][0]["action"], "evicted");
    }

    #[test]
    fn the_url_is_shown_without_its_path() {
        let url = Url::parse("https://hooks.slack.com/services/T0/B0/secret?x=1").unwrap();
        assert_eq!(shown_url(&url), "https://hooks.slack.com/…");
        let url = Url::parse("http://127.0.0.1:8065/").unwrap();
        assert_eq!(shown_url(&url), "http://127.0.0.1:8065");
        for (bad, says) in [
            ("hooks.slack.com/services/T0/B0/secret", "no scheme"),
            ("ftp://h/secret", "must be http or https"),
        ] {
            let e = check_url(bad).unwrap_err();
            assert!(e.contains(says), "{e}");
            assert!(!e.contains("secret"), "{e}");
        }
    }
}
