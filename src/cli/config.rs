//! The one fallible conversion of the arguments into a [`Config`] (and of
//! `restore`'s into a [`RestoreConfig`]): the checks clap's declarations
//! cannot express, the environment read through one lookup, and no file
//! probed.

use std::time::Duration;

use super::args::{
    ActivityArg, Args, ClockArg, LabelNamesArg, OutputArg, RestoreArgs, RestoreOutputArg,
    TransportArgs,
};
use crate::config::{ClockSource, Config, PushMetrics, RestoreConfig, StdoutFormat};
use crate::duration::Threshold;
use crate::gateway::{
    Credentials, RetryPolicy, Secret, SecretSource, TlsOptions, TransportOptions,
};
use crate::group::LabelNaming;
use crate::identity::Endpoint;
use crate::plan::health::{Bounds, CountedPushes};
use crate::plan::{Caps, Policy, TtlPolicy};

/// Checks a URL given to `flag` (`--url`, `--push-metrics`, or the
/// variable `PUSHGATEWAY_URL`) before anything is sent, with a hint for the
/// usual slips. Credentials in the URL never reach the message.
pub fn check_url(flag: &str, text: &str) -> Result<(), String> {
    // How the hint writes a value: `--url URL`, `--push-metrics=URL`,
    // `PUSHGATEWAY_URL=URL`.
    let sep = match flag.starts_with("--") && flag != "--push-metrics" {
        true => " ",
        false => "=",
    };
    if text.trim().is_empty() {
        return Err(format!(
            "{flag} is empty: give the gateway's URL, like {flag}{sep}http://pushgateway:9091"
        ));
    }
    let (lookup, rest) = crate::discover::split_prefix(text);
    let prefix = lookup.map_or("", |l| l.prefix());
    let url = check_plain_url(flag, sep, prefix, rest)?;
    match lookup.and_then(|lookup| crate::discover::check_prefixed(lookup, &url)) {
        Some(why) => Err(format!(
            "{flag} '{prefix}{}': {why}",
            crate::gateway::redact_url_text(rest)
        )),
        None => Ok(()),
    }
}

/// [`check_url`] for the URL after a `dns+` (or other) `prefix`.
fn check_plain_url(
    flag: &str,
    sep: &str,
    prefix: &str,
    text: &str,
) -> Result<reqwest::Url, String> {
    use reqwest::Url;
    let shown = format!("{prefix}{}", crate::gateway::redact_url_text(text));
    if !text.contains("://") {
        let bare = crate::gateway::redact_url_text(text);
        let bare = bare.trim_start_matches('/');
        return Err(format!(
            "{flag} '{shown}' has no scheme: missing http://? (try {flag}{sep}{prefix}http://{bare})"
        ));
    }
    // What a password may not hold raw: the URL's user and password end at
    // its last `@`, and one of these ends the host part before it.
    let after_scheme = text.split_once("://").map_or("", |(_, rest)| rest);
    let userinfo = after_scheme.rfind('@').map(|at| &after_scheme[..at]);
    let raw = |c: char| userinfo.is_some_and(|u| u.contains(c));
    let encode_hint = |c: char, encoded: &str| {
        format!(
            "{flag} '{shown}': the user or password holds a raw '{c}', which ends the URL's host part; write it as {encoded}"
        )
    };
    if raw('#') {
        return Err(encode_hint('#', "%23"));
    }
    match Url::parse(text) {
        Err(url::ParseError::InvalidPort) => {
            match [('/', "%2F"), ('?', "%3F")].iter().find(|(c, _)| raw(*c)) {
                Some((c, encoded)) => Err(encode_hint(*c, encoded)),
                None => Err(format!(
                    "{flag} '{shown}': the port must be a number from 1 to 65535"
                )),
            }
        }
        Err(e) => Err(format!("{flag} '{shown}' is not a URL: {e}")),
        Ok(url) if !matches!(url.scheme(), "http" | "https") => Err(format!(
            "{flag} '{shown}': the scheme must be http or https, not {}",
            url.scheme()
        )),
        Ok(url) if url.host_str().is_none_or(str::is_empty) => {
            Err(format!("{flag} '{shown}' has no host"))
        }
        Ok(url) => Ok(url),
    }
}

/// What makes two `--url`s the same gateway: the URL as the requests use
/// it (scheme and host lowercased, a default port dropped, no trailing
/// `/`, no query or fragment), its credentials aside. `None` when it does
/// not parse (`check_url` refuses it).
fn gateway_identity(text: &str) -> Option<String> {
    let (lookup, text) = crate::discover::split_prefix(text);
    let mut url = reqwest::Url::parse(text).ok()?;
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    let prefix = lookup.map_or("", |l| l.prefix());
    Some(format!("{prefix}{}", url.as_str().trim_end_matches('/')))
}

/// `urls` without the gateways given again, each repeat warned about: a
/// gateway cleaned twice in one run is reported twice, its counts doubled.
fn distinct_gateways(urls: Vec<String>) -> Vec<String> {
    // A URL as given (the repeat's spelling is the point), unless it may
    // hold credentials.
    let shown = |text: &str| match text.contains('@') {
        true => crate::gateway::redact_url_text(text),
        false => text.trim().to_owned(),
    };
    let mut seen: Vec<(Option<String>, String)> = Vec::with_capacity(urls.len());
    let mut distinct = Vec::with_capacity(urls.len());
    for url in urls {
        let identity = gateway_identity(&url);
        match seen.iter().find(|(id, _)| id.is_some() && *id == identity) {
            Some((_, first)) => tracing::warn!(
                "--url {} is the same gateway as --url {}: cleaned once",
                shown(&url),
                shown(first)
            ),
            None => {
                seen.push((identity, url.clone()));
                distinct.push(url);
            }
        }
    }
    distinct
}

/// Where `--push-metrics` sends: its URL, or the first `--url` when it gives
/// none (`given` empty). Checked like a `--url`, and never a DNS name:
/// replicas share nothing, and the group would land on one at random.
fn push_target(given: &str, urls: &[String]) -> Result<String, UsageError> {
    let dns = |url: &str| crate::discover::split_prefix(url).0.is_some();
    match (given, urls.first()) {
        ("", Some(first)) if dns(first) => Err(UsageError(
            "--push-metrics needs a URL when the first --url is a DNS name (dns+, dnssrv+, dnssrvnoa+): give --push-metrics=URL".into(),
        )),
        ("", first) => Ok(first.cloned().unwrap_or_default()),
        (url, _) if dns(url) => Err(UsageError(
            "--push-metrics takes one gateway's URL, not a DNS name (dns+, dnssrv+, dnssrvnoa+)"
                .into(),
        )),
        (url, _) => check_url("--push-metrics", url)
            .map(|()| url.to_owned())
            .map_err(UsageError),
    }
}

/// The names of the fields of a group object in `GET /api/v1/metrics`: a
/// metric family of one of these names is hidden there (the gateway writes
/// its own over it), so none can carry a TTL.
const GROUP_FIELDS: [&str; 4] = [
    "labels",
    "last_push_successful",
    "push_time_seconds",
    "push_failure_time_seconds",
];

/// `--ttl-label`, `--ttl-metric`, `--min-ttl`, `--max-ttl`, checked
/// together.
fn ttl_policy(
    label: Option<String>,
    metric: Option<String>,
    min: Option<Duration>,
    max: Option<Duration>,
) -> Result<TtlPolicy, UsageError> {
    let usage = |m: String| Err(UsageError(m));
    if label.as_deref() == Some("") {
        return usage("--ttl-label needs a label name".into());
    }
    if label.as_deref() == Some("job") {
        return usage(
            "--ttl-label job: the job label names the group; declare the TTL in another label"
                .into(),
        );
    }
    match metric.as_deref() {
        Some("") => return usage("--ttl-metric needs a metric name".into()),
        Some(name) if GROUP_FIELDS.contains(&name) => {
            return usage(format!(
                "--ttl-metric {name}: the Pushgateway's API shows its own {name} there, not a metric; choose another name"
            ))
        }
        _ => {}
    }
    if label.is_none() && metric.is_none() {
        for (flag, given) in [("--min-ttl", min), ("--max-ttl", max)] {
            if given.is_some() {
                return usage(format!(
                    "{flag} bounds the TTLs groups declare, and without --ttl-label or --ttl-metric none is read"
                ));
            }
        }
    }
    if let (Some(min), Some(max)) = (min, max) {
        if min > max {
            return usage(format!(
                "--min-ttl {} is longer than --max-ttl {}",
                crate::duration::human_threshold(min),
                crate::duration::human_threshold(max)
            ));
        }
    }
    Ok(TtlPolicy {
        label,
        metric,
        min,
        max,
    })
}

/// A usage error found when the arguments become a [`Config`]: one line in
/// our words, exit 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The bounds on a gateway's size: `--evict-after` with either
/// `--max-groups` or `--max-series`, or none of the three. No default for
/// `--evict-after`: how long a group may be silent before a bound evicts
/// it is the operator's to say.
fn bounds(
    max_groups: Option<u64>,
    max_series: Option<u64>,
    evict_after: Option<Duration>,
) -> Result<Option<Bounds>, UsageError> {
    match (max_groups.is_some() || max_series.is_some(), evict_after) {
        (false, None) => Ok(None),
        (true, Some(evict_after)) => Ok(Some(Bounds {
            max_groups,
            max_series,
            evict_after,
        })),
        (true, None) => Err(UsageError(
            "--max-groups and --max-series need --evict-after DURATION: only a group silent that long may be evicted".into(),
        )),
        (false, Some(_)) => Err(UsageError(
            "--evict-after bounds what --max-groups or --max-series evicts; give one of them too".into(),
        )),
    }
}

impl Args {
    /// The one way from the arguments to a [`Config`] (as fd's
    /// `construct_config`, ripgrep's `HiArgs::from_low_args`): the checks
    /// clap's declarations cannot express, the environment read through
    /// `env`, and no fallback: what cannot be honoured is a usage error,
    /// never a weaker config (a credentials error is not "no
    /// credentials"). It sends nothing and touches no file: where the
    /// reports go is checked by `output::preflight`.
    pub fn into_config(self, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, UsageError> {
        let url_flag = match self.url_from_env {
            true => "PUSHGATEWAY_URL",
            false => "--url",
        };
        for url in &self.url {
            check_url(url_flag, url).map_err(UsageError)?;
        }
        let transport = self.transport.into_options(&self.url, env)?;
        let push_metrics = match self.push_metrics.as_deref().map(str::trim) {
            None => None,
            Some(url) => Some(PushMetrics {
                url: push_target(url, &self.url)?,
                instance: match self.metrics_instance {
                    Some(i) if i.is_empty() => {
                        return Err(UsageError("--metrics-instance must not be empty".into()))
                    }
                    instance => instance,
                },
            }),
        };
        // What needs the janitor's memory: the file, or a loop's own.
        let remembers = self.state_file.is_some() || self.every.is_some();
        for (given, flag, what) in [
            (self.grace.is_some(), "--grace", "the pending groups"),
            (
                self.missed_pushes.is_some(),
                "--missed-pushes",
                "each group's rhythm",
            ),
        ] {
            if given && !remembers {
                return Err(UsageError(format!(
                    "{flag} needs --state-file PATH to remember {what} between runs (--every can keep them in memory)"
                )));
            }
        }
        if let Some(url) = &self.notify_url {
            crate::notify::check_url(url).map_err(UsageError)?;
        }
        let bounds = bounds(self.max_groups, self.max_series, self.evict_after)?;
        // `--max-ttl never` is no upper bound, as without the flag.
        let max_ttl = match self.max_ttl {
            Some(Threshold::After(max)) => Some(max),
            Some(Threshold::Never) | None => None,
        };
        let ttl = ttl_policy(
            self.ttl_label.clone(),
            self.ttl_metric.clone(),
            self.min_ttl,
            max_ttl,
        )?;
        Ok(Config {
            urls: distinct_gateways(self.url),
            dns_server: self.dns_server,
            policy: Policy {
                threshold: self.threshold,
                rules: self.rule,
                select: self.select,
                keep: self.keep,
                caps: Caps {
                    max_deletes: self.max_deletes,
                    max_delete_ratio: self.max_delete_ratio,
                },
                ttl,
                grace: self.grace,
                activity: match self.activity {
                    ActivityArg::Any => CountedPushes::Any,
                    ActivityArg::Successful => CountedPushes::Successful,
                },
                bounds,
                missed_pushes: self.missed_pushes,
            },
            state_file: self.state_file,
            late_after: self.late_after,
            notify_url: self.notify_url,
            label_names: self.label_names.naming(),
            clock: match self.clock {
                ClockArg::Server => ClockSource::Server,
                ClockArg::Local => ClockSource::Local,
            },
            verify_timeout: (!self.no_verify).then_some(self.verify_timeout),
            dry_run: self.dry_run,
            output: match self.output {
                OutputArg::Human => StdoutFormat::Human,
                OutputArg::Json => StdoutFormat::Json,
            },
            report_file: self.report_file,
            transport,
            concurrency: self.concurrency.into(),
            list_all: self.verbose > 0,
            textfile: self.textfile,
            every: self.every,
            listen_address: self.listen_address,
            push_metrics,
            archive: self.archive,
        })
    }

    /// The credentials to send ([`TransportArgs::credentials`]).
    pub fn credentials(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Credentials, String> {
        self.transport.credentials(env)
    }
}

impl LabelNamesArg {
    /// The mode given, `None` for `auto` (read from the gateway).
    fn naming(self) -> Option<LabelNaming> {
        match self {
            LabelNamesArg::Auto => None,
            LabelNamesArg::Utf8 => Some(LabelNaming::Utf8),
            LabelNamesArg::Legacy => Some(LabelNaming::Legacy),
        }
    }
}

impl TransportArgs {
    /// The transport of a clean or a restore whose gateways are `urls`:
    /// the credentials resolved (flags, then the variables `env` looks up),
    /// one source of `Authorization` at most, checked before anything is
    /// sent.
    fn into_options(
        self,
        urls: &[String],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<TransportOptions, UsageError> {
        let credentials = self.credentials(env).map_err(UsageError)?;
        let conflict = |url_has_credentials: bool| {
            crate::gateway::transport::authorization_conflict(
                &credentials,
                url_has_credentials,
                &self.headers,
            )
        };
        let any_url_credentials = urls.iter().any(|url| {
            let (_, text) = crate::discover::split_prefix(url);
            reqwest::Url::parse(text).is_ok_and(|u| crate::gateway::transport::has_credentials(&u))
        });
        if let Some(why) = conflict(false).or_else(|| conflict(any_url_credentials)) {
            return Err(UsageError(why));
        }
        self.log_unused_variables(&credentials, env);
        Ok(TransportOptions {
            timeout: self.timeout,
            credentials,
            headers: self.headers,
            tls: TlsOptions {
                ca_cert: self.ca_cert,
                client_cert: self.client_cert,
                client_key: self.client_key,
                insecure_skip_verify: self.insecure_skip_verify,
            },
            retry: RetryPolicy {
                retries: self.retries,
                initial_backoff: self.retry_backoff,
            },
        })
    }

    /// A credential variable set but not used (a flag wins, or nothing asks
    /// for it) is no error: an env file shared with other tools. Said at
    /// debug, for whoever wonders why it had no effect.
    fn log_unused_variables(
        &self,
        credentials: &Credentials,
        env: &dyn Fn(&str) -> Option<String>,
    ) {
        for name in [PASSWORD, TOKEN] {
            let used = match (credentials, name) {
                (Credentials::Basic { .. }, PASSWORD) => {
                    self.basic_auth_password.is_none() && self.basic_auth_password_file.is_none()
                }
                (Credentials::Bearer(_), TOKEN) => {
                    self.bearer_token.is_none() && self.bearer_token_file.is_none()
                }
                _ => false,
            };
            if env(name).is_some() && !used {
                tracing::debug!(
                    "{name} is set but not used: a credential flag on the command line wins, or none asks for it"
                );
            }
        }
    }

    /// The credentials to send, from the flags and the environment
    /// (`env` looks a variable up). A flag given on the command line wins
    /// over a variable; a variable no flag uses is ignored (logged at
    /// debug); the one error is a user without any password.
    pub fn credentials(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Credentials, String> {
        if let Some(user) = &self.basic_auth_user {
            let password = match (&self.basic_auth_password_file, &self.basic_auth_password) {
                (Some(path), _) => SecretSource::File(path.clone()),
                (None, Some(password)) => SecretSource::Value(password.clone()),
                (None, None) => match env(PASSWORD) {
                    Some(password) => SecretSource::Value(Secret::new(password)),
                    None => {
                        return Err(format!(
                            "--basic-auth-user {user} needs a password: set {PASSWORD}, or give --basic-auth-password-file"
                        ))
                    }
                },
            };
            return Ok(Credentials::Basic {
                user: user.clone(),
                password,
            });
        }
        match (&self.bearer_token_file, &self.bearer_token) {
            (Some(path), _) => return Ok(Credentials::Bearer(SecretSource::File(path.clone()))),
            (None, Some(token)) => {
                return Ok(Credentials::Bearer(SecretSource::Value(token.clone())))
            }
            (None, None) => {}
        }
        // An Authorization header given as a flag wins over the variable.
        let header_auth = self
            .headers
            .iter()
            .any(|h| h.name == reqwest::header::AUTHORIZATION);
        match env(TOKEN) {
            Some(token) if !header_auth => {
                Ok(Credentials::Bearer(SecretSource::Value(Secret::new(token))))
            }
            _ => Ok(Credentials::None),
        }
    }
}

const PASSWORD: &str = "PUSHGATEWAY_PASSWORD";
const TOKEN: &str = "PUSHGATEWAY_TOKEN";

impl RestoreArgs {
    /// The one way from `restore`'s arguments to a [`RestoreConfig`], as
    /// [`Args::into_config`] for a clean: what cannot be honoured is a
    /// usage error.
    pub fn into_config(
        self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<RestoreConfig, UsageError> {
        let url_flag = match self.url_from_env {
            true => "PUSHGATEWAY_URL",
            false => "--url",
        };
        check_url(url_flag, &self.url).map_err(UsageError)?;
        if crate::discover::split_prefix(&self.url).0.is_some() {
            return Err(UsageError(format!(
                "restore {url_flag} takes one gateway's URL, not a DNS name (dns+, dnssrv+, dnssrvnoa+): the groups would land on one replica at random"
            )));
        }
        let mut from = Vec::with_capacity(self.from.len());
        for text in &self.from {
            check_url("--from", text).map_err(UsageError)?;
            if crate::discover::split_prefix(text).0.is_some() {
                return Err(UsageError(
                    "restore --from takes a gateway's URL as the records name it, not a DNS name (dns+, dnssrv+, dnssrvnoa+): a replica found through DNS by its address, http://IP:PORT".into(),
                ));
            }
            from.push(Endpoint::of_url(text).map_err(|why| {
                UsageError(format!(
                    "--from '{}': {why}",
                    crate::gateway::redact_url_text(text)
                ))
            })?);
        }
        let transport = self
            .transport
            .into_options(std::slice::from_ref(&self.url), env)?;
        Ok(RestoreConfig {
            files: self.files,
            url: self.url,
            from,
            select: self.select,
            replace: self.replace,
            dry_run: self.dry_run,
            output: match self.output {
                RestoreOutputArg::Human => StdoutFormat::Human,
                RestoreOutputArg::Json => StdoutFormat::Json,
            },
            label_names: self.label_names.naming(),
            transport,
            list_all: self.verbose > 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::*;
    use crate::duration::Threshold;
    use clap::Parser;

    #[test]
    fn defaults() {
        let args = Args::try_parse_from(["pgj", "--url", "http://h:9091"]).unwrap();
        let config = args.into_config(&no_env).unwrap();
        assert_eq!(
            config.policy.threshold,
            Threshold::After(Duration::from_secs(600))
        );
        assert_eq!(config.clock, ClockSource::Server);
        assert_eq!(config.verify_timeout, Some(Duration::from_secs(5)));
        assert_eq!(config.transport.timeout, Duration::from_secs(30));
        assert_eq!(config.concurrency, 4);
        assert!(!config.dry_run);
        assert_eq!(config.output, StdoutFormat::Human);
    }

    #[test]
    fn credential_variables_yield_to_flags_and_are_ignored_when_unused() {
        let creds = |args: &[&str], vars: &[(&str, &str)]| {
            let mut all = vec!["pgj", "--url", "http://a"];
            all.extend_from_slice(args);
            let args = Args::try_parse_from(all).unwrap();
            let vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            args.credentials(&|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
        };
        // Before: exit 2 naming --bearer-token, which nobody typed.
        let c = creds(
            &["--basic-auth-user", "u", "--basic-auth-password-file", "pw"],
            &[("PUSHGATEWAY_TOKEN", "t")],
        )
        .unwrap();
        assert!(
            matches!(c, Credentials::Basic { ref user, password: SecretSource::File(_) } if user == "u"),
            "{c:?}"
        );
        // Before: exit 2 asking for --basic-auth-user.
        let c = creds(&["--dry-run"], &[("PUSHGATEWAY_PASSWORD", "p")]).unwrap();
        assert!(matches!(c, Credentials::None), "{c:?}");
        // The variable is the password when no password flag is given.
        let c = creds(
            &["--basic-auth-user", "u"],
            &[("PUSHGATEWAY_PASSWORD", "p")],
        )
        .unwrap();
        assert!(
            matches!(c, Credentials::Basic { password: SecretSource::Value(ref p), .. } if p.expose() == "p"),
            "{c:?}"
        );
        // A token flag wins over the token variable.
        let c = creds(&["--bearer-token-file", "f"], &[("PUSHGATEWAY_TOKEN", "t")]).unwrap();
        assert!(
            matches!(c, Credentials::Bearer(SecretSource::File(_))),
            "{c:?}"
        );
        let c = creds(&[], &[("PUSHGATEWAY_TOKEN", "t")]).unwrap();
        assert!(
            matches!(c, Credentials::Bearer(SecretSource::Value(ref t)) if t.expose() == "t"),
            "{c:?}"
        );
        // An Authorization header flag wins over the variable too.
        let c = creds(
            &["--header", "Authorization: Basic eDp5"],
            &[("PUSHGATEWAY_TOKEN", "t")],
        )
        .unwrap();
        assert!(matches!(c, Credentials::None), "{c:?}");
        // A user with no password anywhere: the message names the variable.
        let e = creds(&["--basic-auth-user", "u"], &[]).unwrap_err();
        assert!(e.contains("set PUSHGATEWAY_PASSWORD"), "{e}");
    }

    #[test]
    fn the_conversion_has_no_silent_fallback() {
        // Before, into_config() turned this credentials error into
        // Credentials::None: a caller that skipped validate() sent its
        // requests without authentication.
        let args = || {
            Args::try_parse_from(["pgj", "--url", "http://a", "--basic-auth-user", "u"]).unwrap()
        };
        let e = args().into_config(&no_env).unwrap_err();
        assert!(e.to_string().contains("needs a password"), "{e}");
        // The environment comes through `env` only, once.
        let env = |name: &str| (name == "PUSHGATEWAY_PASSWORD").then(|| "p".to_owned());
        let config = args().into_config(&env).unwrap();
        assert!(
            matches!(config.transport.credentials, Credentials::Basic { ref user, .. } if user == "u"),
            "{:?}",
            config.transport.credentials
        );
    }

    #[test]
    fn an_authorization_header_conflicts_with_auth_flags() {
        let args = |extra: &[&str]| {
            let mut a = vec![
                "pgj",
                "--url",
                "http://a",
                "--header",
                "Authorization: Bearer x",
            ];
            a.extend_from_slice(extra);
            Args::try_parse_from(a).unwrap()
        };
        assert!(args(&[]).into_config(&no_env).is_ok());
        let err = args(&["--bearer-token-file", "/t"])
            .into_config(&no_env)
            .unwrap_err();
        assert!(err.to_string().contains("cannot be used with"), "{err}");
        assert!(!err.to_string().contains("Bearer x"), "{err}");
        assert!(
            args(&["--basic-auth-user", "u", "--basic-auth-password-file", "/p"])
                .into_config(&no_env)
                .is_err()
        );
        // User and password in a URL conflict with a flag or the header,
        // before anything is sent; the message names neither secret.
        let url_creds = |extra: &[&str]| {
            let mut a = vec![
                "pgj",
                "--url",
                "http://a",
                "--url",
                "dns+http://u:s3cret@b:9091",
            ];
            a.extend_from_slice(extra);
            Args::try_parse_from(a).unwrap().into_config(&no_env)
        };
        assert!(url_creds(&[]).is_ok());
        for extra in [
            &["--bearer-token-file", "/t"][..],
            &["--header", "Authorization: Bearer x"][..],
        ] {
            let err = url_creds(extra).unwrap_err().to_string();
            assert!(err.contains("URL has a user and password"), "{err}");
            assert!(!err.contains("s3cret"), "{err}");
        }
    }

    #[test]
    fn the_same_gateway_is_one_however_spelled() {
        let id = |u: &str| gateway_identity(u).unwrap();
        for same in [
            "http://h:9091/pgw/",
            "HTTP://H:9091/pgw",
            "http://u:p@h:9091/pgw?x=1#f",
        ] {
            assert_eq!(id(same), id("http://h:9091/pgw"), "{same}");
        }
        assert_eq!(id("http://h:80"), id("http://h/"));
        for other in [
            "https://h:9091/pgw",
            "http://h:9092/pgw",
            "http://h:9091/pgw2",
            "dns+http://h:9091/pgw",
        ] {
            assert_ne!(id(other), id("http://h:9091/pgw"), "{other}");
        }
        let urls = |list: &[&str]| list.iter().map(|u| u.to_string()).collect::<Vec<_>>();
        assert_eq!(
            distinct_gateways(urls(&["http://a/", "http://b", "http://a", "http://A:80"])),
            urls(&["http://a/", "http://b"])
        );
    }

    #[test]
    fn push_metrics_defaults_to_the_first_url() {
        let config = Args::try_parse_from([
            "pgj",
            "--url",
            "http://a:9091",
            "--url",
            "http://b:9091",
            "--push-metrics",
        ])
        .unwrap()
        .into_config(&no_env)
        .unwrap();
        let push = config.push_metrics.unwrap();
        assert_eq!(push.url, "http://a:9091");
        assert_eq!(push.instance, None);
        assert_eq!(push.group().to_string(), r#"{job="pushgateway-janitor"}"#);
        let config = Args::try_parse_from([
            "pgj",
            "--url",
            "http://a:9091",
            "--push-metrics=http://m:9091",
            "--metrics-instance",
            "x",
        ])
        .unwrap()
        .into_config(&no_env)
        .unwrap();
        let push = config.push_metrics.unwrap();
        assert_eq!(
            (push.url.as_str(), push.instance.as_deref()),
            ("http://m:9091", Some("x"))
        );
        assert_eq!(
            push.group().to_string(),
            r#"{job="pushgateway-janitor",instance="x"}"#
        );
        // `--push-metrics URL` (a space) would swallow the next argument's
        // place; the URL must be attached with `=`.
        assert!(
            Args::try_parse_from(["pgj", "--push-metrics", "http://m", "--url", "http://a"])
                .is_err()
        );
    }

    #[test]
    fn dns_urls_are_checked_and_not_a_push_target() {
        let validate = |args: &[&str]| {
            let mut all = vec!["pgj"];
            all.extend_from_slice(args);
            Args::try_parse_from(all)
                .map_err(|e| e.to_string())
                .and_then(|a| a.into_config(&no_env).map_err(|e| e.to_string()))
        };
        let config =
            validate(&["--url", "dns+http://pgw:9091", "--dns-server", "10.0.0.2"]).unwrap();
        assert_eq!(config.urls, vec!["dns+http://pgw:9091"]);
        assert_eq!(config.dns_server, Some("10.0.0.2:53".parse().unwrap()));
        assert!(validate(&["--url", "dnssrvnoa+https://_p._tcp.h/pgw"]).is_ok());
        for (args, says) in [
            (
                &["--url", "dnssrv+http://_p._tcp.h:9091"][..],
                "remove :9091",
            ),
            (&["--url", "dns+ftp://h"][..], "must be http or https"),
            (&["--url", "dns+h:9091"][..], "no scheme"),
            (
                &["--url", "dns+http://h", "--dns-server", "h:53"][..],
                "expected IP:PORT",
            ),
            (
                &["--url", "dns+http://h:9091", "--push-metrics"][..],
                "needs a URL",
            ),
            (
                &["--url", "http://h", "--push-metrics=dns+http://h:1"][..],
                "not a DNS name",
            ),
        ] {
            let e = validate(args).unwrap_err();
            assert!(e.contains(says), "{args:?}: {e}");
        }
    }

    #[test]
    fn every_must_be_positive() {
        let args = Args::try_parse_from(["pgj", "--url", "http://a", "--every", "5m"]).unwrap();
        let config = args.into_config(&no_env).unwrap();
        assert_eq!(config.every, Some(Duration::from_secs(300)));
        assert!(Args::try_parse_from(["pgj", "--url", "http://a", "--every", "0s"]).is_err());
    }

    #[test]
    fn transport_flags() {
        let parse =
            |args: &[&str]| Args::try_parse_from(["pgj", "--url", "http://h"].iter().chain(args));
        let config = parse(&[]).unwrap().into_config(&no_env).unwrap();
        assert_eq!(config.transport.credentials, Credentials::None);
        assert_eq!(config.transport.retry, RetryPolicy::default());
        assert_eq!(config.transport.retry.retries, 3);

        let config = parse(&[
            "--basic-auth-user",
            "u",
            "--basic-auth-password-file",
            "/pw",
            "--header",
            "X-A: 1",
            "--header",
            "X-B: 2",
            "--ca-cert",
            "/ca",
            "--client-cert",
            "/c",
            "--client-key",
            "/k",
            "--insecure-skip-verify",
            "--retries",
            "0",
            "--retry-backoff",
            "50ms",
        ])
        .unwrap()
        .into_config(&no_env)
        .unwrap();
        let t = config.transport;
        assert_eq!(
            t.credentials,
            Credentials::Basic {
                user: "u".into(),
                password: SecretSource::File("/pw".into())
            }
        );
        assert_eq!(t.headers.len(), 2);
        assert_eq!(t.tls.client_key, Some("/k".into()));
        assert!(t.tls.insecure_skip_verify);
        assert_eq!(
            t.retry,
            RetryPolicy {
                retries: 0,
                initial_backoff: Duration::from_millis(50)
            }
        );

        let t = parse(&["--bearer-token", "tok"])
            .unwrap()
            .into_config(&no_env)
            .unwrap()
            .transport;
        assert_eq!(
            t.credentials,
            Credentials::Bearer(SecretSource::Value(Secret::new("tok")))
        );
        let t = parse(&["--bearer-token-file", "/t"])
            .unwrap()
            .into_config(&no_env)
            .unwrap()
            .transport;
        assert_eq!(
            t.credentials,
            Credentials::Bearer(SecretSource::File("/t".into()))
        );

        for bad in [
            &["--basic-auth-user", "u"][..],
            &["--basic-auth-password", "p"],
            &[
                "--basic-auth-user",
                "u",
                "--basic-auth-password",
                "p",
                "--basic-auth-password-file",
                "/f",
            ],
            &[
                "--basic-auth-user",
                "u",
                "--basic-auth-password",
                "p",
                "--bearer-token",
                "t",
            ],
            &["--bearer-token", "t", "--bearer-token-file", "/t"],
            &["--client-cert", "/c"],
            &["--client-key", "/k"],
            &["--header", "no colon"],
            &["--retries", "21"],
        ] {
            // Rejected by clap, or (a user without a password) when the
            // credentials are resolved, here with no variable set.
            let rejected = parse(bad).map_or(true, |a| a.credentials(&|_| None).is_err());
            assert!(rejected, "{bad:?} was accepted");
        }
    }

    /// The Config of `--url http://a` and `extra`, no environment; the
    /// error's words.
    fn config(extra: &[&str]) -> Result<Config, String> {
        let mut a = vec!["pgj", "--url", "http://a"];
        a.extend_from_slice(extra);
        Args::try_parse_from(a)
            .map_err(|e| e.to_string())
            .and_then(|a| a.into_config(&no_env).map_err(|e| e.to_string()))
    }

    #[test]
    fn bounds_need_evict_after_and_evict_after_needs_a_bound() {
        assert_eq!(config(&[]).unwrap().policy.bounds, None);
        let c = config(&["--max-series", "5000", "--evict-after", "1h"]).unwrap();
        assert_eq!(
            c.policy.bounds,
            Some(Bounds {
                max_groups: None,
                max_series: Some(5000),
                evict_after: Duration::from_secs(3600),
            })
        );
        for (args, says) in [
            (&["--max-groups", "10"][..], "need --evict-after DURATION"),
            (&["--max-series", "10"][..], "need --evict-after DURATION"),
            (&["--evict-after", "1h"][..], "give one of them too"),
            (
                &["--max-groups", "-1", "--evict-after", "1h"][..],
                "--max-groups",
            ),
            (
                &["--max-groups", "1", "--evict-after", "0s"][..],
                "greater than zero",
            ),
        ] {
            let e = config(args).unwrap_err();
            assert!(e.contains(says), "{args:?}: {e}");
        }
    }

    #[test]
    fn ttl_grace_and_notify_flags_are_checked_before_anything_is_sent() {
        // Off unless named.
        let c = config(&[]).unwrap();
        assert_eq!(c.policy.ttl, TtlPolicy::default());
        assert_eq!(
            (c.policy.grace, &c.state_file, &c.notify_url),
            (None, &None, &None)
        );
        let c = config(&[
            "--ttl-label",
            "ttl",
            "--ttl-metric",
            "job_ttl_seconds",
            "--min-ttl",
            "1m",
            "--max-ttl",
            "7d",
            "--grace",
            "1h",
            "--state-file",
            "/var/lib/pgj/pending.json",
            "--notify-url",
            "https://hooks.example/services/T/B/x",
        ])
        .unwrap();
        assert_eq!(
            c.policy.ttl,
            TtlPolicy {
                label: Some("ttl".into()),
                metric: Some("job_ttl_seconds".into()),
                min: Some(Duration::from_secs(60)),
                max: Some(Duration::from_secs(7 * 86_400)),
            }
        );
        assert_eq!(c.policy.grace, Some(Duration::from_secs(3600)));
        // The memory of rhythms alone: no --grace needed (issue 30).
        assert!(config(&["--state-file", "/s"]).is_ok());
        // --every may keep the pending groups in memory.
        assert!(config(&["--grace", "1h", "--every", "5m"]).is_ok());
        for (args, says) in [
            (&["--grace", "1h"][..], "--grace needs --state-file"),
            (
                &["--missed-pushes", "3"][..],
                "--missed-pushes needs --state-file",
            ),
            (
                &["--missed-pushes", "1", "--every", "1m"][..],
                "from 2 to 1000",
            ),
            (
                &["--late-after", "1", "--every", "1m"][..],
                "a factor above 1",
            ),
            (&["--grace", "0s", "--every", "1m"][..], "greater than zero"),
            (
                &["--min-ttl", "1m"][..],
                "without --ttl-label or --ttl-metric",
            ),
            (
                &["--ttl-label", "ttl", "--min-ttl", "2h", "--max-ttl", "1h"][..],
                "--min-ttl 2h is longer than --max-ttl 1h",
            ),
            (
                &["--ttl-metric", "push_time_seconds"][..],
                "choose another name",
            ),
            (&["--ttl-label", "job"][..], "names the group"),
            (&["--ttl-label", ""][..], "needs a label name"),
            (
                &["--notify-url", "hooks.example/services/T/B/secret"][..],
                "no scheme",
            ),
        ] {
            let e = config(args).unwrap_err();
            assert!(e.contains(says), "{args:?}: {e}");
            assert!(!e.contains("secret"), "{args:?}: {e}");
        }
    }

    /// Issue 23 item 5: one set of transport flags, the same in both
    /// commands. Before: `restore` declared its own (`ConnectionArgs`),
    /// with other help texts, `--retries` checked by another parser and a
    /// `--timeout` that read `-5m` as a flag.
    #[test]
    fn the_transport_flags_are_one_group_in_a_clean_and_a_restore() {
        use clap::{Args as _, CommandFactory as _};
        let mut top = Args::command();
        top.build();
        let restore = top.find_subcommand("restore").unwrap();
        let group = TransportArgs::augment_args(clap::Command::new("transport"));
        let ids: Vec<_> = group.get_arguments().map(|a| a.get_id().clone()).collect();
        assert!(ids.len() >= 13, "{ids:?}");
        for id in &ids {
            let of = |cmd: &clap::Command| {
                let a = cmd.get_arguments().find(|a| a.get_id() == id).unwrap();
                format!(
                    "{:?} {:?} {:?} {:?} {:?}",
                    a.get_help(),
                    a.get_long_help(),
                    a.get_default_values(),
                    a.get_help_heading(),
                    a.is_allow_hyphen_values_set()
                )
            };
            assert_eq!(of(&top), of(restore), "{id}");
        }
        // The same flags and variables make the same transport.
        let flags = [
            "--timeout",
            "7s",
            "--retries",
            "5",
            "--retry-backoff",
            "1s",
            "--basic-auth-user",
            "u",
            "--header",
            "X-A: 1",
            "--ca-cert",
            "/ca",
        ];
        let env = |name: &str| (name == "PUSHGATEWAY_PASSWORD").then(|| "p".to_owned());
        let mut clean = vec!["pgj", "--url", "http://h"];
        clean.extend(flags);
        let clean = Args::try_parse_from(clean)
            .unwrap()
            .into_config(&env)
            .unwrap();
        let mut restoring = vec!["pgj", "restore", "f", "--url", "http://h"];
        restoring.extend(flags);
        let Some(Command::Restore(restoring)) = Args::try_parse_from(restoring).unwrap().command
        else {
            panic!("no restore");
        };
        let restoring = restoring.into_config(&env).unwrap();
        assert_eq!(
            format!("{:?}", clean.transport),
            format!("{:?}", restoring.transport)
        );
        let e = Args::try_parse_from([
            "pgj",
            "restore",
            "f",
            "--url",
            "http://h",
            "--timeout",
            "-5m",
        ])
        .unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation);
    }

    #[test]
    fn restore_is_a_command_beside_the_flat_interface() {
        let parse = |args: &[&str]| {
            let mut all = vec!["pgj"];
            all.extend_from_slice(args);
            Args::try_parse_from(all)
        };
        // The flat interface as before: no command.
        let args = parse(&["--url", "http://a", "--dry-run"]).unwrap();
        assert!(args.command.is_none());
        let args = parse(&[
            "restore",
            "a.jsonl",
            "b.jsonl",
            "--url",
            "https://u:p@h:9091/pgw",
            "--select",
            "{job=\"x\"}",
            "--replace",
            "--dry-run",
            "--output",
            "json",
            "--retries",
            "0",
        ])
        .unwrap();
        let Some(Command::Restore(restore)) = args.command else {
            panic!("no restore");
        };
        let config = restore.into_config(&no_env).unwrap();
        assert_eq!(config.files.len(), 2);
        assert_eq!(config.select.len(), 1);
        assert!(config.replace && config.dry_run);
        assert_eq!(config.output, StdoutFormat::Json);
        assert_eq!(config.transport.retry.retries, 0);
        assert_eq!(config.label_names, None);
        let restore = |args: &[&str]| match parse(args).map(|a| a.command) {
            Ok(Some(Command::Restore(r))) => r.into_config(&no_env).map_err(|e| e.0),
            other => panic!("{other:?}"),
        };
        // Credentials as for a clean: one way only, a user needs a password.
        let e = restore(&[
            "restore",
            "f",
            "--url",
            "https://u:p@h",
            "--bearer-token",
            "t",
        ])
        .unwrap_err();
        assert!(e.contains("give credentials one way"), "{e}");
        let e = restore(&[
            "restore",
            "f",
            "--url",
            "http://h",
            "--basic-auth-user",
            "u",
        ])
        .unwrap_err();
        assert!(e.contains("needs a password"), "{e}");
        let e = restore(&["restore", "f", "--url", "h:9091"]).unwrap_err();
        assert!(e.contains("has no scheme"), "{e}");
        // A clean's flags before the command, or after it, are refused.
        assert!(parse(&["--url", "http://a", "restore", "f", "--url", "http://a"]).is_err());
        assert!(parse(&["restore", "f", "--url", "http://a", "--threshold", "1m"]).is_err());
    }
}
