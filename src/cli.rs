//! The command line: clap derive types, env fallbacks, help text, and the
//! conversion into a [`Config`].

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser, ValueEnum};

use crate::config::{ClockSource, Config, PushMetrics, RestoreConfig, StdoutFormat};
use crate::duration::Threshold;
pub use crate::duration::{parse_duration, parse_threshold};
use crate::exit::ExitStatus;
use crate::gateway::{
    Credentials, Header, RetryPolicy, Secret, SecretSource, TlsOptions, TransportOptions,
};
use crate::group::LabelNaming;
use crate::plan::{Caps, Policy, Rule, TtlPolicy};
use crate::selector::Selector;

const EXAMPLES: &str = r#"Examples:
  # See what would go, without sending any DELETE (run this first):
  pushgateway-janitor --url http://pushgateway:9091 --dry-run

  # Delete groups silent for more than 15 minutes, report as JSON:
  pushgateway-janitor --url http://pushgateway:9091 --threshold 15m --output json

  # Behind a reverse proxy with a path prefix, keep a report file:
  pushgateway-janitor --url https://proxy.example/pgw --report-file /var/lib/pgj/report.json

  # Flink ghosts go after 10m, the nightly backup after 26h, never more than 50 at once:
  pushgateway-janitor --url http://pushgateway:9091 --rule '{job=~"flink.*"}=10m' \
      --rule '{job="backup"}=26h' --keep '{job="billing"}' --max-deletes 50

  # Basic auth and a private CA (the password is read from the file):
  pushgateway-janitor --url https://pushgateway:9091 --basic-auth-user janitor \
      --basic-auth-password-file /run/secrets/pgw-password --ca-cert /etc/pgw/ca.pem

  # As a sidecar: a pass every 5 minutes, self-metrics for node_exporter:
  pushgateway-janitor --url http://pushgateway:9091 --every 5m --textfile /run/pgj/pgj.prom

  # Every replica of a StatefulSet behind a headless Service, each on its own:
  pushgateway-janitor --url dns+http://pushgateway-headless.monitoring.svc:9091

  # Pushers declare their own TTL (ttl="30m" in the grouping key); a stale group
  # waits an hour as pending, announced to a Slack or Mattermost webhook:
  pushgateway-janitor --url http://pushgateway:9091 --ttl-label ttl --grace 1h \
      --state-file /var/lib/pgj/pending.json --notify-url "$WEBHOOK_URL"
"#;

/// The variables the janitor reads, for `--help` and the man page's
/// ENVIRONMENT; each line fits 100 columns so clap does not wrap it.
const ENVIRONMENT: &str = "Environment:
  PUSHGATEWAY_URL          the gateway's URL when no --url is given
  PUSHGATEWAY_PASSWORD     the password of --basic-auth-user when no password flag is given
  PUSHGATEWAY_TOKEN        a bearer token when no credential flag or Authorization header is given
  PUSHGATEWAY_JANITOR_LOG  log filter: LEVEL or TARGET=LEVEL, comma-separated (a LEVEL wins over -v/-q)
  NO_COLOR                 when set and not empty: logs without colors
";

fn after_help() -> String {
    format!("{EXAMPLES}\n{ENVIRONMENT}\n{}", ExitStatus::help_text())
}

/// Deletes stale groups from a Prometheus Pushgateway.
///
/// Reads every group's last push time from GET /api/v1/metrics and deletes
/// the groups that have been silent for longer than the threshold, each by
/// its full grouping key (every label value base64url-encoded), so that
/// {job="x"}, {job="x",instance=""} and {job="x",instance="h1"} are never
/// confused. A group whose pushes keep failing counts as alive. Run it with
/// --dry-run first.
#[derive(Debug, Parser)]
#[command(
    name = "pushgateway-janitor",
    version,
    override_usage = USAGE,
    after_help = "--help shows every flag in full, with defaults, examples and exit codes.",
    after_long_help = after_help(),
    disable_help_flag = true,
    // A single-valued flag given again replaces the earlier value, as in
    // curl, ripgrep and kubectl: the Debian unit appends $JANITOR_ARGS
    // after its own --timeout and --report-file.
    args_override_self = true,
    // `restore` beside the flat interface: its flags come after it, and
    // no flag of a clean is taken (or required) with it.
    subcommand_negates_reqs = true,
    args_conflicts_with_subcommands = true,
    disable_help_subcommand = true,
    subcommand_value_name = "COMMAND"
)]
pub struct Args {
    /// Print this short help (--help: the long one).
    #[arg(short = 'h', action = ArgAction::SetTrue)]
    pub short_help: bool,

    /// Print the long help, with examples and exit codes.
    #[arg(long = "help", action = ArgAction::HelpLong)]
    pub long_help: Option<bool>,

    /// Pushgateway base URL, or dns+URL for replicas (repeatable).
    ///
    /// Base URL of the Pushgateway; a path prefix is kept
    /// (http://h:9091/pgw reads http://h:9091/pgw/api/v1/metrics). Repeat
    /// to clean several gateways, each on its own. Replicas found through
    /// DNS, each cleaned on its own, looked up again every pass:
    /// dns+http://NAME:PORT (every A/AAAA record of NAME),
    /// dnssrv+http://_SERVICE._tcp.NAME (SRV targets and ports, then their
    /// A/AAAA records), dnssrvnoa+http://_SERVICE._tcp.NAME (SRV targets
    /// connected to by name).
    #[arg(long, value_name = "URL", env = "PUSHGATEWAY_URL", hide_env_values = true, required_unless_present_any = ["generate", "short_help"], action = ArgAction::Append)]
    pub url: Vec<String>,

    /// Delete groups silent for longer than this (default 10m)
    ///
    /// A group is stale when it has been silent (no push, successful or
    /// failed) for longer than this: 90s, 10m, 26h, 1d, or never. The
    /// fallback for groups no --rule matches.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_threshold, allow_hyphen_values = true)]
    pub threshold: Threshold,

    /// Per-group threshold, '{job="backup"}=26h' (repeatable).
    ///
    /// Per-group threshold, 'SELECTOR=DURATION' (e.g. '{job="backup"}=26h',
    /// '{job=~"flink.*"}=10m', '{job="audit"}=never'). Repeatable; the first
    /// rule whose selector matches applies.
    #[arg(long, value_name = "SELECTOR=DURATION", value_parser = parse_rule)]
    pub rule: Vec<Rule>,

    /// Only consider groups matching this selector (repeatable).
    ///
    /// Only consider groups matching this Prometheus label selector
    /// ('{job=~"flink.*",env!="dev"}'); the others are reported as ignored.
    /// Repeatable: a group matching any of them is considered.
    #[arg(long, value_name = "SELECTOR", value_parser = parse_selector)]
    pub select: Vec<Selector>,

    /// Never delete groups matching this selector (repeatable).
    ///
    /// Never delete groups matching this selector. Repeatable.
    #[arg(long, value_name = "SELECTOR", value_parser = parse_selector)]
    pub keep: Vec<Selector>,

    /// Grouping-key label where a group declares its own threshold.
    ///
    /// A grouping-key label in which a pusher declares its group's own
    /// threshold, as a duration ({job="x",ttl="30m"} with --ttl-label ttl;
    /// 'never' keeps it). It wins over --rule and --threshold, bounded by
    /// --min-ttl and --max-ttl; --keep still protects. A value that is not
    /// a duration (or is 0) is ignored with the reason, and the rules
    /// decide. Off unless given.
    #[arg(long, value_name = "NAME")]
    pub ttl_label: Option<String>,

    /// Gauge where a group declares its own threshold, in seconds.
    ///
    /// A gauge (or untyped metric) of one series in which a pusher declares
    /// its group's own threshold, in seconds (+Inf: never), for client
    /// libraries that push a registry. Used when the group has no
    /// --ttl-label value (or an unusable one); otherwise as --ttl-label. A
    /// value that is 0, negative, NaN, or not one gauge value is ignored
    /// with the reason. Off unless given.
    #[arg(long, value_name = "NAME")]
    pub ttl_metric: Option<String>,

    /// Raise a TTL a group declares to at least this.
    ///
    /// Raise a TTL a group declares (--ttl-label, --ttl-metric) to at least
    /// DURATION. Bounds declared TTLs only, never --rule or --threshold.
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration, hide_short_help = true)]
    pub min_ttl: Option<Duration>,

    /// Lower a TTL a group declares (never included) to at most this.
    ///
    /// Lower a TTL a group declares (--ttl-label, --ttl-metric), 'never'
    /// included, to at most DURATION. Bounds declared TTLs only, never
    /// --rule or --threshold.
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration, hide_short_help = true)]
    pub max_ttl: Option<Duration>,

    /// Safety cap: delete nothing if more than N groups would go.
    ///
    /// Safety cap: when a gateway's plan would delete more than N groups,
    /// delete none there (reported as refused, exit 3).
    #[arg(long, value_name = "N", value_parser = parse_count, allow_hyphen_values = true)]
    pub max_deletes: Option<u64>,

    /// Safety cap: delete nothing if more than this share would go.
    ///
    /// Safety cap: when a gateway's plan would delete more than this share
    /// (0 to 1) of the groups it considered (selected by --select, or all,
    /// and addressable; not the ignored or skipped ones), delete none there
    /// (exit 3).
    #[arg(long, value_name = "RATIO", value_parser = parse_ratio, allow_hyphen_values = true)]
    pub max_delete_ratio: Option<f64>,

    /// How the gateway reads label names: auto, utf8 or legacy.
    ///
    /// How the gateway reads label names in a DELETE path: auto (from its
    /// GET /api/v1/status: utf8 when it runs with --push.enable-utf8-names,
    /// else legacy), utf8 or legacy. Set it when a proxy hides the status:
    /// until then, groups whose label names would be spelled differently in
    /// the two modes (not legacy names, or starting with U__) are skipped.
    /// A status that can be read wins: one that contradicts the mode given
    /// makes it unknown, as if the status could not be read.
    #[arg(long, value_name = "MODE", value_enum, default_value_t = LabelNamesArg::Auto)]
    pub label_names: LabelNamesArg,

    /// Measure ages on the gateway's clock or this host's.
    ///
    /// Which clock ages are measured against: the gateway's (the scan
    /// response's Date header; falls back to local with a warning) or this
    /// host's.
    #[arg(long, value_name = "CLOCK", value_enum, default_value_t = ClockArg::Server)]
    pub clock: ClockArg,

    /// Keep stale groups pending this long before deleting them.
    ///
    /// A stale group is first pending (reported, with the time it becomes
    /// deletable; --notify-url announces it); a later pass deletes it only
    /// if it is still stale, was first seen stale at least DURATION before,
    /// and has not been pushed since. Needs --state-file, unless --every
    /// (which can keep the pending groups in memory).
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration)]
    pub grace: Option<Duration>,

    /// Where --grace keeps the pending groups between runs.
    ///
    /// Where --grace keeps the pending groups between runs (JSON), keyed by
    /// gateway and exact grouping key: read before each pass, rewritten
    /// atomically after it under a lock beside it (runs that overlap each
    /// count). Groups no longer on the gateway drop out. A dry run reads it
    /// and does not write it.
    #[arg(long, value_name = "PATH", hide_short_help = true)]
    pub state_file: Option<PathBuf>,

    /// POST what a pass deleted or marked pending to URL (JSON).
    ///
    /// After a pass that deleted groups or marked new ones pending, POST
    /// one JSON document (schema pushgateway-janitor/notification/v1: the
    /// deleted, pending and failed groups, and a `text` summary that Slack
    /// and Mattermost incoming webhooks show as it is) to URL, with
    /// --timeout and --retries, and without the gateway's credentials or
    /// headers. One that cannot be delivered is an error line and exit 1. A
    /// dry run sends none. The URL is never shown past its host.
    #[arg(
        long,
        value_name = "URL",
        env = "PUSHGATEWAY_JANITOR_NOTIFY_URL",
        hide_env_values = true
    )]
    pub notify_url: Option<String>,

    /// Re-scan this long for the deleted groups to disappear.
    ///
    /// After deleting, re-scan for up to this long until every deleted group
    /// is gone (or pushed again); groups still there are still_present (exit 4).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_positive_duration, allow_hyphen_values = true)]
    pub verify_timeout: Duration,

    /// Do not re-scan after deleting.
    ///
    /// Do not re-scan after deleting; a 202 Accepted counts as deleted.
    #[arg(long, conflicts_with = "verify_timeout")]
    pub no_verify: bool,

    /// Decide and report; send nothing (no DELETE, no push).
    ///
    /// Decide and report, but send nothing: no DELETE, and no --push-metrics
    /// push. The report file and the textfile are still written.
    #[arg(long)]
    pub dry_run: bool,

    /// Report format on stdout.
    ///
    /// Report format on stdout; logs always go to stderr.
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = OutputArg::Human)]
    pub output: OutputArg,

    /// Also write the JSON report to PATH.
    ///
    /// Also write the JSON report to PATH, atomically (temporary file and
    /// rename), whatever --output is.
    #[arg(long, value_name = "PATH")]
    pub report_file: Option<PathBuf>,

    /// Archive each group in DIR before its DELETE (see restore).
    ///
    /// Before a stale group's DELETE is sent, append the group as the scan
    /// read it (its grouping key, every metric family with all its series,
    /// the gateway, the time, the reason) to
    /// DIR/pushgateway-janitor-archive-YYYY-MM-DD.jsonl (one file per UTC
    /// day, created with mode 0600) and flush it to disk; a group that
    /// cannot be archived is not deleted (delete_failed). `restore` pushes
    /// archived groups back. Nothing is archived in a dry run.
    #[arg(long, value_name = "DIR")]
    pub archive: Option<PathBuf>,

    /// Bound on each HTTP request.
    ///
    /// Bounds each HTTP request, connection and body included.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_positive_duration, allow_hyphen_values = true)]
    pub timeout: Duration,

    /// Send the DNS queries of dns+ URLs to this server (IP:PORT).
    ///
    /// Send the DNS lookups of dns+, dnssrv+ and dnssrvnoa+ URLs to this
    /// server (IP:PORT, or IP for port 53) instead of the system's
    /// resolvers (/etc/resolv.conf).
    #[arg(long, value_name = "IP:PORT", value_parser = parse_dns_server)]
    pub dns_server: Option<std::net::SocketAddr>,

    /// DELETEs in flight at once per gateway.
    ///
    /// How many DELETEs may be in flight at once per gateway.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = parse_concurrency, allow_hyphen_values = true)]
    pub concurrency: u16,

    /// User name for HTTP basic auth.
    ///
    /// User name for HTTP basic auth; the password comes from
    /// --basic-auth-password-file, --basic-auth-password, or the environment
    /// variable PUSHGATEWAY_PASSWORD (a flag wins over the variable).
    /// Credentials in the URL (https://user:password@host) work too.
    #[arg(long, value_name = "USER", help_heading = "Authentication")]
    pub basic_auth_user: Option<String>,

    /// Basic auth password (prefer the env variable or a file).
    ///
    /// The basic auth password. Prefer the environment variable
    /// PUSHGATEWAY_PASSWORD (used with --basic-auth-user when no password
    /// flag is given; ignored without --basic-auth-user) or
    /// --basic-auth-password-file: a value on the command line is visible
    /// to other users of the machine.
    #[arg(
        long,
        value_name = "PASSWORD",
        group = "password_source",
        requires = "basic_auth_user",
        help_heading = "Authentication"
    )]
    pub basic_auth_password: Option<Secret>,

    /// Read the basic auth password from PATH.
    ///
    /// Read the basic auth password from PATH (surrounding whitespace is
    /// trimmed).
    #[arg(
        long,
        value_name = "PATH",
        group = "password_source",
        requires = "basic_auth_user",
        help_heading = "Authentication"
    )]
    pub basic_auth_password_file: Option<PathBuf>,

    /// Bearer token (prefer the env variable or a file).
    ///
    /// Send `Authorization: Bearer TOKEN`. Prefer the environment variable
    /// PUSHGATEWAY_TOKEN (used when no credential flag is given: a flag,
    /// basic auth or an Authorization header wins over it) or
    /// --bearer-token-file.
    #[arg(long, value_name = "TOKEN",
          conflicts_with_all = ["basic_auth_user", "bearer_token_file"], help_heading = "Authentication")]
    pub bearer_token: Option<Secret>,

    /// Read the bearer token from PATH.
    ///
    /// Read the bearer token from PATH (surrounding whitespace is trimmed).
    #[arg(
        long,
        value_name = "PATH",
        conflicts_with = "basic_auth_user",
        help_heading = "Authentication"
    )]
    pub bearer_token_file: Option<PathBuf>,

    /// Extra request header, 'Name: value' (repeatable).
    ///
    /// An extra header for every request, 'Name: value'; repeatable. Values
    /// are never logged.
    #[arg(long = "header", value_name = "NAME: VALUE", value_parser = HeaderParser,
          help_heading = "Authentication")]
    pub headers: Vec<Header>,

    /// Also trust the CA certificate(s) in PATH (PEM).
    ///
    /// Trust the CA certificate(s) in PATH (PEM) besides the built-in roots.
    #[arg(long, value_name = "PATH", help_heading = "TLS")]
    pub ca_cert: Option<PathBuf>,

    /// Client certificate (PEM) for mutual TLS.
    ///
    /// Client certificate (PEM) for mutual TLS; needs --client-key.
    #[arg(
        long,
        value_name = "PATH",
        requires = "client_key",
        help_heading = "TLS"
    )]
    pub client_cert: Option<PathBuf>,

    /// The client certificate's private key (PEM).
    ///
    /// The client certificate's private key (PEM).
    #[arg(
        long,
        value_name = "PATH",
        requires = "client_cert",
        help_heading = "TLS"
    )]
    pub client_key: Option<PathBuf>,

    /// Do not verify the server's certificate (unsafe).
    ///
    /// Do not verify the server's certificate. Unsafe: anyone on the path
    /// can read the credentials. Warns on every run.
    #[arg(long, help_heading = "TLS")]
    pub insecure_skip_verify: bool,

    /// Retries after connection errors, timeouts, 429 and 5xx.
    ///
    /// Retries of the scan and of each DELETE after a connection error, a
    /// reset or truncated response, a timeout, 429 or 5xx; 0 sends each
    /// request once. A 429 or 503 with Retry-After waits as long as it asks,
    /// up to 10s, and counts as a retry. Other 4xx and TLS errors are never
    /// retried. After 5 DELETEs in a row could not reach a gateway, the rest
    /// of its batch is not sent (delete_failed).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = parse_retries, allow_hyphen_values = true)]
    pub retries: u32,

    /// Wait before the first retry, doubled per retry.
    ///
    /// The wait before the first retry; it doubles per retry (with jitter),
    /// up to 10s.
    #[arg(long, value_name = "DURATION", default_value = "200ms", value_parser = parse_duration, allow_hyphen_values = true)]
    pub retry_backoff: Duration,

    /// More logging on stderr (-v, -vv, -vvv).
    ///
    /// More logging on stderr (-v info and list kept groups, -vv debug,
    /// -vvv trace). PUSHGATEWAY_JANITOR_LOG (env-filter syntax) wins when set.
    #[arg(short, long, action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Less logging on stderr (-q errors only, -qq none).
    ///
    /// Less logging on stderr: -q errors only, -qq no logs at all. The one
    /// `error:` line that explains a failed run is printed whatever the
    /// verbosity.
    #[arg(short, long, action = ArgAction::Count)]
    pub quiet: u8,

    /// Write the run's metrics for node_exporter (textfile).
    ///
    /// Also write the run's metrics (last run, last success, duration,
    /// groups by action per gateway) to PATH in the Prometheus text format
    /// for node_exporter's textfile collector, atomically. Counters and the
    /// last success carry over from the file already there.
    #[arg(long, value_name = "PATH")]
    pub textfile: Option<PathBuf>,

    /// Run forever, one pass per DURATION.
    ///
    /// Run forever, one pass per DURATION (start to start), for a sidecar
    /// or a Deployment. Failed passes are logged and counted, not fatal.
    /// SIGTERM/SIGINT stop a scan or verification in flight at once, let
    /// the DELETEs already started finish, report the pass, then exit 0; a
    /// second signal exits at once (1).
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration, allow_hyphen_values = true)]
    pub every: Option<Duration>,

    /// With --every: serve /metrics and probes on ADDR.
    ///
    /// With --every: serve the janitor's own metrics on ADDR (host:port, or
    /// :port for every interface) for a Prometheus scrape: /metrics (the
    /// --textfile metrics, counters since the process started), /-/healthy,
    /// and /-/ready (ready once the first pass has finished).
    #[arg(long, value_name = "ADDR", value_parser = parse_listen_address, requires = "every")]
    pub listen_address: Option<std::net::SocketAddr>,

    /// Push the run's metrics to a Pushgateway after each run.
    ///
    /// Push the run's own metrics (gauges of the last run; the last success
    /// time only when the run succeeded) to a Pushgateway after each run and
    /// each --every pass: to URL, or the first --url when no URL is given.
    /// Group {job="pushgateway-janitor"} (with instance="NAME" when
    /// --metrics-instance is given); the janitor never deletes a group of
    /// that job. A dry run pushes nothing. A failed push is an error line
    /// and exit code 1, as a report file that cannot be written.
    #[arg(long, value_name = "URL", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub push_metrics: Option<String>,

    /// An instance label for the pushed metrics' group.
    ///
    /// Adds instance="NAME" to the --push-metrics group, for several
    /// janitors pushing to one gateway. None by default, as the
    /// Pushgateway's README advises for batch jobs: a label that changes
    /// from run to run (a CronJob pod's host name) makes a new group each
    /// run.
    #[arg(long, value_name = "NAME", requires = "push_metrics")]
    pub metrics_instance: Option<String>,

    /// Print shell completions or the man page, then exit.
    ///
    /// Print shell completions or the man page (roff) to stdout and exit.
    /// Other flags are ignored (not refused: PUSHGATEWAY_URL may well be
    /// set).
    #[arg(long, value_name = "WHAT", value_enum)]
    pub generate: Option<crate::completions::Generate>,

    #[command(subcommand)]
    pub command: Option<Command>,
    /// Whether `--url` came from `PUSHGATEWAY_URL` (set by
    /// [`Args::try_parse_args`]): a message about it names the variable.
    #[arg(skip)]
    pub url_from_env: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputArg {
    /// One line per group acted on and a summary.
    Human,
    /// The JSON report (schema pushgateway-janitor/report/v1), nothing else.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LabelNamesArg {
    /// From the gateway's GET /api/v1/status, every pass.
    Auto,
    /// The gateway runs with --push.enable-utf8-names (1.11 and later).
    Utf8,
    /// Literal legacy names (without the flag, or before 1.11).
    Legacy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClockArg {
    /// The gateway's clock, from the Date header of the scan response.
    Server,
    /// This host's clock.
    Local,
}

/// `SELECTOR=DURATION`, spaces allowed around `=`. The selector ends at the
/// last `}`: a label value may hold `}` or `=`, a duration never does. A
/// rule without braces gets the selector parser's own error (`{` expected).
pub fn parse_rule(text: &str) -> Result<Rule, String> {
    let text = text.trim();
    let (selector, rest) = match text.rfind('}') {
        Some(at) => (&text[..=at], text[at + 1..].trim_start()),
        None => (text, ""),
    };
    let selector = parse_selector(selector)?;
    let Some(threshold) = rest.strip_prefix('=') else {
        return Err(format!(
            "expected SELECTOR=DURATION, like '{{job=\"backup\"}}=26h', got '{text}'"
        ));
    };
    let threshold = parse_threshold(threshold)?;
    Ok(Rule {
        selector,
        threshold,
        text: text.to_owned(),
    })
}

pub fn parse_selector(text: &str) -> Result<Selector, String> {
    Selector::parse(text).map_err(|e| e.to_string())
}

fn parse_ratio(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err("expected a number from 0 to 1, like 0.5".into()),
    }
}

/// A whole number in `range`, said in words when it is not one.
fn parse_bounded(text: &str, range: std::ops::RangeInclusive<u64>) -> Result<u64, String> {
    let expected = match range.end() {
        &u64::MAX => format!("expected a whole number, {} or more", range.start()),
        end => format!("expected a whole number from {} to {end}", range.start()),
    };
    match text.trim().parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(expected),
    }
}

fn parse_count(text: &str) -> Result<u64, String> {
    parse_bounded(text, 0..=u64::MAX)
}

fn parse_concurrency(text: &str) -> Result<u16, String> {
    parse_bounded(text, 1..=256).map(|n| n as u16)
}

fn parse_retries(text: &str) -> Result<u32, String> {
    parse_bounded(text, 0..=20).map(|n| n as u32)
}

fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        d if d.is_zero() => Err("must be greater than zero".into()),
        d => Ok(d),
    }
}

const USAGE: &str = "pushgateway-janitor --url URL [--url URL]... [OPTIONS]
       pushgateway-janitor restore FILE... --url URL [OPTIONS]";

/// `-h`: one line per flag, its summary only (no defaults, values or
/// environment variables: `--help` has those), grouped by heading as in
/// `--help`, like ripgrep's, fd's and xh's `-h`. clap renders it from the
/// command itself (`help` and `after_help`, not their long forms), with
/// those details hidden, and `-h`, `--help` and `-V` last.
pub fn short_help() -> String {
    let mut cmd = <Args as clap::CommandFactory>::command();
    // The version flag exists once the command is built.
    cmd.build();
    cmd.mut_arg("version", |a| a.display_order(usize::MAX))
        .mut_args(|a| match a.get_action().takes_values() {
            true => a
                .hide_default_value(true)
                .hide_env(true)
                .hide_possible_values(true),
            false => a,
        })
        .mut_arg("short_help", |a| a.display_order(usize::MAX - 2))
        .mut_arg("long_help", |a| a.display_order(usize::MAX - 1))
        // The usage's second line names `restore`; its section would take
        // three more lines of a screen.
        .mut_subcommands(|c| c.hide(true))
        .render_help()
        .to_string()
}

/// A clap error as the one line after `pushgateway-janitor: error: `, from
/// the error's kind and context ([`clap::Error::get`]), never its rendered
/// text: the possible values, "did you mean", which flags conflict. An
/// error about a flag points at `--help`, unless the flag is hidden there.
pub fn usage_message(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let mut cmd = <Args as clap::CommandFactory>::command();
    // Built, as the parser's was: an argument renders only then.
    cmd.build();
    let strings = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => vec![s.as_str()],
        Some(ContextValue::Strings(v)) => v.iter().map(String::as_str).collect(),
        _ => Vec::new(),
    };
    let one = |kind| strings(kind).first().copied();
    // clap names an argument as it renders it (`--output <FORMAT>`,
    // `--verbose...`); the line names its flag. What is no argument of
    // ours (an unknown flag, as typed) stays as it is.
    let arg_of = |shown: &str| cmd.get_arguments().find(|a| a.to_string() == shown);
    let flag = |shown: &str| match arg_of(shown).map(|a| (a.get_long(), a.get_short())) {
        Some((Some(long), _)) => format!("--{long}"),
        Some((None, Some(short))) => format!("-{short}"),
        _ => shown.to_owned(),
    };
    if e.kind() == ErrorKind::InvalidUtf8 {
        return not_utf8(std::env::args_os().skip(1), &|name| std::env::var_os(name));
    }
    // A word where a flag was expected: taken for a command.
    if let Some(word) = one(ContextKind::InvalidSubcommand) {
        let message = match (e.kind(), one(ContextKind::SuggestedSubcommand)) {
            (ErrorKind::ArgumentConflict, _) if word == "restore" => format!(
                "restore takes its flags after it: {RESTORE_USAGE} ({} given before it)",
                strings(ContextKind::PriorArg)
                    .into_iter()
                    .map(flag)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            (_, _) if word.starts_with('-') && is_our_flag(&cmd, word) => format!(
                "'{word}' comes after '--', which makes it a plain argument, not a flag: remove the '--'"
            ),
            (ErrorKind::InvalidSubcommand, Some(suggested)) => {
                format!("unknown command '{word}': did you mean '{suggested}'?")
            }
            // Everything that is not a flag or `restore` is one here: the
            // janitor takes no plain arguments.
            _ => {
                let hint = match word.contains("://") {
                    true => format!(" (try --url {word})"),
                    false => String::new(),
                };
                format!("unexpected argument '{word}': every value is given with its flag{hint}")
            }
        };
        return format!("{message} (see --help)");
    }
    let invalid = one(ContextKind::InvalidArg);
    let Some(arg) = invalid.map(flag) else {
        return e.kind().as_str().unwrap_or("invalid arguments").to_owned();
    };
    let value = one(ContextKind::InvalidValue);
    let message = match e.kind() {
        ErrorKind::InvalidValue => {
            let mut m = match value {
                Some("") | None => format!("{arg} needs a value"),
                Some(value) => format!("invalid value '{value}' for {arg}"),
            };
            if let Some(suggested) = one(ContextKind::SuggestedValue) {
                m.push_str(&format!(": did you mean '{suggested}'?"));
            }
            let valid = strings(ContextKind::ValidValue);
            if !valid.is_empty() {
                m.push_str(&format!(" (possible values: {})", valid.join(", ")));
            }
            m
        }
        ErrorKind::ValueValidation => {
            // A value parser's own reason; `--header` withholds the value
            // (it may hold a secret) and gives its reason as `Custom`.
            let why = std::error::Error::source(e)
                .map(ToString::to_string)
                .or_else(|| one(ContextKind::Custom).map(str::to_owned));
            match (value, why) {
                (Some(value), Some(why)) => format!("invalid value '{value}' for {arg}: {why}"),
                (Some(value), None) => format!("invalid value '{value}' for {arg}"),
                (None, Some(why)) => format!("invalid value for {arg}: {why}"),
                (None, None) => format!("invalid value for {arg}"),
            }
        }
        // Everything that is not a flag is one here: the janitor takes no
        // plain arguments, and clap reads each one after `--` as such.
        ErrorKind::UnknownArgument if !arg.starts_with('-') => {
            let hint = match arg.contains("://") {
                true => format!(" (try --url {arg})"),
                false => String::new(),
            };
            format!("unexpected argument '{arg}': every value is given with its flag{hint}")
        }
        ErrorKind::UnknownArgument if is_our_flag(&cmd, &arg) => format!(
            "'{arg}' comes after '--', which makes it a plain argument, not a flag: remove the '--'"
        ),
        ErrorKind::UnknownArgument => match one(ContextKind::SuggestedArg) {
            Some(suggested) => {
                format!("unknown flag '{arg}': did you mean '{}'?", flag(suggested))
            }
            None => format!("unknown flag '{arg}'"),
        },
        ErrorKind::ArgumentConflict => match one(ContextKind::PriorArg) {
            Some(prior) => format!("{arg} cannot be used with {}", flag(prior)),
            None => format!("{arg} cannot be used with the other flags given"),
        },
        ErrorKind::MissingRequiredArgument => format!(
            "the following required arguments were not provided: {}",
            strings(ContextKind::InvalidArg).join(", ")
        ),
        ErrorKind::TooManyValues => format!(
            "unexpected value '{}' for '{}' found; no more were expected",
            value.unwrap_or_default(),
            invalid.unwrap_or_default()
        ),
        kind => format!("{arg}: {}", kind.as_str().unwrap_or("invalid arguments")),
    };
    if invalid.and_then(arg_of).is_some_and(|a| a.is_hide_set()) {
        message
    } else {
        format!("{message} (see --help)")
    }
}

/// Whether `given` (`--url`, `--url=x`, `-v`) names a flag of `cmd`: clap
/// calls it unknown only when it came after `--`.
fn is_our_flag(cmd: &clap::Command, given: &str) -> bool {
    let name = given.split('=').next().unwrap_or(given);
    cmd.get_arguments().any(|a| match name.strip_prefix("--") {
        Some(long) => a.get_long() == Some(long),
        None => {
            let mut shorts = name.trim_start_matches('-').chars();
            shorts.next().is_some_and(|c| a.get_short() == Some(c))
        }
    })
}

/// clap's "invalid UTF-8" names no argument: the first of `args` (the
/// command line after the program's name) that is not UTF-8, shown with
/// the flag it follows, else the variable that is not.
pub fn not_utf8(
    args: impl Iterator<Item = std::ffi::OsString>,
    var: &dyn Fn(&str) -> Option<std::ffi::OsString>,
) -> String {
    let mut previous: Option<String> = None;
    for (i, arg) in args.enumerate() {
        match arg.to_str() {
            Some(text) => previous = Some(text.to_owned()),
            None => {
                let flag = previous.as_deref().filter(|p| p.starts_with('-'));
                let after = flag.map_or(String::new(), |p| format!(" (the value of {p})"));
                // A secret's value is not repeated, not even in part.
                let secret = flag.is_some_and(|p| {
                    ["--basic-auth-password", "--bearer-token", "--header"]
                        .iter()
                        .any(|s| p.split('=').next() == Some(*s))
                });
                let shown = match secret {
                    true => String::new(),
                    false => format!(
                        ": '{}'",
                        crate::gateway::redact_url_text(&arg.to_string_lossy())
                    ),
                };
                return format!(
                    "argument {} is not valid UTF-8{after}{shown}; every argument must be UTF-8",
                    i + 1
                );
            }
        }
    }
    for name in [
        "PUSHGATEWAY_URL",
        "PUSHGATEWAY_PASSWORD",
        "PUSHGATEWAY_TOKEN",
    ] {
        if var(name).is_some_and(|v| v.to_str().is_none()) {
            return format!("the environment variable {name} is not valid UTF-8");
        }
    }
    "an argument is not valid UTF-8".into()
}

/// clap parser for `--header`. clap's own error for a failed value parser
/// quotes the raw argument, which may hold a secret; this one gives only
/// the reason (as `Custom` context, which [`usage_message`] reads).
#[derive(Clone, Copy, Debug)]
pub struct HeaderParser;

impl clap::builder::TypedValueParser for HeaderParser {
    type Value = Header;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Header, clap::Error> {
        use clap::error::{ContextKind, ContextValue, ErrorKind};
        let invalid = |why: String| {
            let mut e = clap::Error::new(ErrorKind::ValueValidation).with_cmd(cmd);
            if let Some(arg) = arg {
                e.insert(
                    ContextKind::InvalidArg,
                    ContextValue::String(arg.to_string()),
                );
            }
            e.insert(ContextKind::Custom, ContextValue::String(why));
            e
        };
        let text = value.to_str().ok_or_else(|| invalid("not UTF-8".into()))?;
        Header::parse(text).map_err(|why| invalid(why.to_string()))
    }
}

/// `--dns-server`: `IP:PORT`, or an IP alone for port 53.
fn parse_dns_server(text: &str) -> Result<std::net::SocketAddr, String> {
    let text = text.trim();
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    match text.trim_start_matches('[').trim_end_matches(']').parse() {
        Ok(ip) => Ok(std::net::SocketAddr::new(ip, 53)),
        Err(_) => Err(format!(
            "expected IP:PORT or IP (e.g. 10.96.0.10:53), got {text:?}"
        )),
    }
}

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

/// `host:port`, `[v6]:port`, or `:port` for every interface.
fn parse_listen_address(text: &str) -> Result<std::net::SocketAddr, String> {
    let text = text.trim();
    let full = match text.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => text.to_owned(),
    };
    use std::net::ToSocketAddrs as _;
    match full.to_socket_addrs().map(|mut a| a.next()) {
        Ok(Some(addr)) => Ok(addr),
        _ => Err(format!(
            "expected HOST:PORT or :PORT, like 127.0.0.1:9099 or :9099, got '{text}'"
        )),
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

impl Args {
    /// Parses `args` (the program's name first), as `try_parse_from` does,
    /// and remembers where `--url` came from.
    pub fn try_parse_args<I, T>(args: I) -> Result<Args, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::{CommandFactory as _, FromArgMatches as _};
        let matches = Args::command().try_get_matches_from(args)?;
        let mut parsed = Args::from_arg_matches(&matches)?;
        parsed.url_from_env =
            matches.value_source("url") == Some(clap::parser::ValueSource::EnvVariable);
        Ok(parsed)
    }

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
        let credentials = self.credentials(env).map_err(UsageError)?;
        let conflict = |url_has_credentials: bool| {
            crate::gateway::transport::authorization_conflict(
                &credentials,
                url_has_credentials,
                &self.headers,
            )
        };
        let any_url_credentials = self.url.iter().any(|url| {
            let (_, text) = crate::discover::split_prefix(url);
            reqwest::Url::parse(text).is_ok_and(|u| crate::gateway::transport::has_credentials(&u))
        });
        if let Some(why) = conflict(false).or_else(|| conflict(any_url_credentials)) {
            return Err(UsageError(why));
        }
        self.log_unused_variables(&credentials, env);
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
        match (self.grace, &self.state_file, self.every) {
            (Some(_), None, None) => {
                return Err(UsageError(
                    "--grace needs --state-file PATH to remember the pending groups between runs (--every can keep them in memory)".into(),
                ))
            }
            (None, Some(_), _) => {
                return Err(UsageError(
                    "--state-file holds the groups --grace keeps pending; give --grace DURATION too".into(),
                ))
            }
            _ => {}
        }
        if let Some(url) = &self.notify_url {
            crate::notify::check_url(url).map_err(UsageError)?;
        }
        let ttl = ttl_policy(
            self.ttl_label.clone(),
            self.ttl_metric.clone(),
            self.min_ttl,
            self.max_ttl,
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
            },
            state_file: self.state_file,
            notify_url: self.notify_url,
            label_names: match self.label_names {
                LabelNamesArg::Auto => None,
                LabelNamesArg::Utf8 => Some(LabelNaming::Utf8),
                LabelNamesArg::Legacy => Some(LabelNaming::Legacy),
            },
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
            transport: TransportOptions {
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
            },
            concurrency: self.concurrency.into(),
            list_all: self.verbose > 0,
            textfile: self.textfile,
            every: self.every,
            listen_address: self.listen_address,
            push_metrics,
            archive: self.archive,
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
        for name in ["PUSHGATEWAY_PASSWORD", "PUSHGATEWAY_TOKEN"] {
            let used = match (credentials, name) {
                (Credentials::Basic { .. }, "PUSHGATEWAY_PASSWORD") => {
                    self.basic_auth_password.is_none() && self.basic_auth_password_file.is_none()
                }
                (Credentials::Bearer(_), "PUSHGATEWAY_TOKEN") => {
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

    /// The credentials to send ([`resolve_credentials`]).
    pub fn credentials(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Credentials, String> {
        resolve_credentials(
            &CredentialFlags {
                basic_auth_user: self.basic_auth_user.as_deref(),
                basic_auth_password: self.basic_auth_password.as_ref(),
                basic_auth_password_file: self.basic_auth_password_file.as_deref(),
                bearer_token: self.bearer_token.as_ref(),
                bearer_token_file: self.bearer_token_file.as_deref(),
                headers: &self.headers,
            },
            env,
        )
    }

    /// The log level the counted flags ask for (0 = warn).
    pub fn verbosity(&self) -> i8 {
        // Counted in u8: -v repeated 200 times must not wrap to quiet.
        (i16::from(self.verbose) - i16::from(self.quiet)).clamp(-2, 3) as i8
    }
}

/// The credential flags of a clean or a restore, as given.
pub struct CredentialFlags<'a> {
    pub basic_auth_user: Option<&'a str>,
    pub basic_auth_password: Option<&'a Secret>,
    pub basic_auth_password_file: Option<&'a std::path::Path>,
    pub bearer_token: Option<&'a Secret>,
    pub bearer_token_file: Option<&'a std::path::Path>,
    pub headers: &'a [Header],
}

/// The credentials to send, from the flags and the environment
/// (`env` looks a variable up). A flag given on the command line wins
/// over a variable; a variable no flag uses is ignored (logged at debug
/// by `into_config`); the one error is a user without any password.
pub fn resolve_credentials(
    flags: &CredentialFlags,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Credentials, String> {
    const PASSWORD: &str = "PUSHGATEWAY_PASSWORD";
    const TOKEN: &str = "PUSHGATEWAY_TOKEN";
    if let Some(user) = flags.basic_auth_user {
        let password = match (flags.basic_auth_password_file, flags.basic_auth_password) {
            (Some(path), _) => SecretSource::File(path.to_path_buf()),
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
            user: user.to_owned(),
            password,
        });
    }
    match (flags.bearer_token_file, flags.bearer_token) {
        (Some(path), _) => return Ok(Credentials::Bearer(SecretSource::File(path.to_path_buf()))),
        (None, Some(token)) => return Ok(Credentials::Bearer(SecretSource::Value(token.clone()))),
        (None, None) => {}
    }
    // An Authorization header given as a flag wins over the variable.
    let header_auth = flags
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

/// `restore`: the subcommand next to the flat interface (which stays as
/// it is: `pushgateway-janitor --url ...` cleans).
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Push archived groups (--archive) back to a Pushgateway.
    Restore(RestoreArgs),
}

const RESTORE_USAGE: &str = "pushgateway-janitor restore FILE... --url URL [OPTIONS]";

const RESTORE_EXAMPLES: &str = r#"Examples:
  # What would come back, without sending anything (run this first):
  pushgateway-janitor restore /var/lib/pgj/archive/pushgateway-janitor-archive-2026-11-24.jsonl \
      --url http://pushgateway:9091 --dry-run

  # The backup job's groups from a week of archives, overwriting what is there:
  pushgateway-janitor restore /var/lib/pgj/archive/*.jsonl --url http://pushgateway:9091 \
      --select '{job="backup"}' --replace

Exit codes:
  0  nothing failed (groups the gateway holds again are skipped, not failures)
  1  the gateway could not be read: nothing was pushed
  2  usage error: bad flags or values, or an archive file that cannot be read
  4  some groups could not be restored
"#;

/// Pushes archived groups back to a Pushgateway.
///
/// Reads the archive files --archive wrote and pushes each group back with
/// PUT to its exact grouping key, every metric family with all its series,
/// in the protobuf push format (native histograms included). The gateway
/// sets the push time: a restored group starts its age again, so fix the
/// rule that deleted it first. A group the gateway holds again is not
/// overwritten unless --replace. Run it with --dry-run first.
#[derive(Debug, clap::Args)]
#[command(
    override_usage = RESTORE_USAGE,
    after_long_help = RESTORE_EXAMPLES,
    args_override_self = true
)]
pub struct RestoreArgs {
    /// Archive files written by --archive (JSON lines).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// The Pushgateway to push the groups to.
    ///
    /// Base URL of the Pushgateway to push the groups to (a path prefix is
    /// kept); one gateway, not a DNS name. The groups may come from another
    /// gateway: the archive records which.
    #[arg(long, value_name = "URL", required = true)]
    pub url: String,

    /// Only restore groups matching this selector (repeatable).
    ///
    /// Only restore groups matching this Prometheus label selector
    /// ('{job="backup"}'); the others are reported as ignored. Repeatable:
    /// a group matching any of them is restored.
    #[arg(long, value_name = "SELECTOR", value_parser = parse_selector)]
    pub select: Vec<Selector>,

    /// Overwrite a group the gateway holds again.
    ///
    /// Overwrite a group the gateway holds again (its producer pushed after
    /// the delete); without it, such a group is skipped.
    #[arg(long)]
    pub replace: bool,

    /// Read and judge; push nothing.
    ///
    /// Read the archives and the gateway and report what would be
    /// restored; send no PUT.
    #[arg(long)]
    pub dry_run: bool,

    /// Report format on stdout.
    ///
    /// Report format on stdout; logs always go to stderr.
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = RestoreOutputArg::Human)]
    pub output: RestoreOutputArg,

    /// How the gateway reads label names: auto, utf8 or legacy.
    ///
    /// How the gateway reads label names in a push path: auto (from its GET
    /// /api/v1/status), utf8 or legacy, as for cleaning.
    #[arg(long, value_name = "MODE", value_enum, default_value_t = LabelNamesArg::Auto)]
    pub label_names: LabelNamesArg,

    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// More logging on stderr (-v, -vv, -vvv).
    ///
    /// More logging on stderr (-v info and list superseded and ignored
    /// records, -vv debug, -vvv trace).
    #[arg(short, long, action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Less logging on stderr (-q errors only, -qq none).
    #[arg(short, long, action = ArgAction::Count)]
    pub quiet: u8,

    /// Print this short help (--help: the long one).
    #[arg(short = 'h', action = ArgAction::HelpShort)]
    pub short_help: Option<bool>,

    /// Print the long help, with examples and exit codes.
    #[arg(long = "help", action = ArgAction::HelpLong)]
    pub long_help: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RestoreOutputArg {
    /// One line per archived group restored, skipped or failed, and a summary.
    Human,
    /// The JSON report (schema pushgateway-janitor/restore/v1), nothing else.
    Json,
}

/// How `restore` reaches its gateway: the same flags, meanings and
/// environment variables as a clean's.
#[derive(Debug, clap::Args)]
pub struct ConnectionArgs {
    /// Bound on each HTTP request.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_positive_duration)]
    pub timeout: Duration,

    /// Retries after connection errors, timeouts, 429 and 5xx.
    ///
    /// Retries of the gateway's scan and of each PUT after a connection
    /// error, a reset or truncated response, a timeout, 429 or 5xx (a PUT
    /// of the same group is idempotent); 0 sends each request once.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=20))]
    pub retries: u32,

    /// Wait before the first retry, doubled per retry.
    #[arg(long, value_name = "DURATION", default_value = "200ms", value_parser = parse_duration)]
    pub retry_backoff: Duration,

    /// User name for HTTP basic auth.
    ///
    /// User name for HTTP basic auth; the password comes from
    /// --basic-auth-password-file, --basic-auth-password, or the environment
    /// variable PUSHGATEWAY_PASSWORD (a flag wins over the variable).
    #[arg(long, value_name = "USER", help_heading = "Authentication")]
    pub basic_auth_user: Option<String>,

    /// Basic auth password (prefer the env variable or a file).
    #[arg(
        long,
        value_name = "PASSWORD",
        group = "password_source",
        requires = "basic_auth_user",
        help_heading = "Authentication"
    )]
    pub basic_auth_password: Option<Secret>,

    /// Read the basic auth password from PATH.
    #[arg(
        long,
        value_name = "PATH",
        group = "password_source",
        requires = "basic_auth_user",
        help_heading = "Authentication"
    )]
    pub basic_auth_password_file: Option<PathBuf>,

    /// Bearer token (prefer the env variable or a file).
    ///
    /// Send `Authorization: Bearer TOKEN`. Prefer the environment variable
    /// PUSHGATEWAY_TOKEN or --bearer-token-file.
    #[arg(long, value_name = "TOKEN",
          conflicts_with_all = ["basic_auth_user", "bearer_token_file"], help_heading = "Authentication")]
    pub bearer_token: Option<Secret>,

    /// Read the bearer token from PATH.
    #[arg(
        long,
        value_name = "PATH",
        conflicts_with = "basic_auth_user",
        help_heading = "Authentication"
    )]
    pub bearer_token_file: Option<PathBuf>,

    /// Extra request header, 'Name: value' (repeatable).
    #[arg(long = "header", value_name = "NAME: VALUE", value_parser = HeaderParser,
          help_heading = "Authentication")]
    pub headers: Vec<Header>,

    /// Also trust the CA certificate(s) in PATH (PEM).
    #[arg(long, value_name = "PATH", help_heading = "TLS")]
    pub ca_cert: Option<PathBuf>,

    /// Client certificate (PEM) for mutual TLS.
    #[arg(
        long,
        value_name = "PATH",
        requires = "client_key",
        help_heading = "TLS"
    )]
    pub client_cert: Option<PathBuf>,

    /// The client certificate's private key (PEM).
    #[arg(
        long,
        value_name = "PATH",
        requires = "client_cert",
        help_heading = "TLS"
    )]
    pub client_key: Option<PathBuf>,

    /// Do not verify the server's certificate (unsafe).
    #[arg(long, help_heading = "TLS")]
    pub insecure_skip_verify: bool,
}

impl RestoreArgs {
    /// The log level the counted flags ask for (0 = warn).
    pub fn verbosity(&self) -> i8 {
        (i16::from(self.verbose) - i16::from(self.quiet)).clamp(-2, 3) as i8
    }

    /// The one way from `restore`'s arguments to a [`RestoreConfig`], as
    /// [`Args::into_config`] for a clean: what cannot be honoured is a
    /// usage error.
    pub fn into_config(
        self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<RestoreConfig, UsageError> {
        check_url("--url", &self.url).map_err(UsageError)?;
        if crate::discover::split_prefix(&self.url).0.is_some() {
            return Err(UsageError(
                "restore --url takes one gateway's URL, not a DNS name (dns+, dnssrv+, dnssrvnoa+): the groups would land on one replica at random".into(),
            ));
        }
        let c = self.connection;
        let credentials = resolve_credentials(
            &CredentialFlags {
                basic_auth_user: c.basic_auth_user.as_deref(),
                basic_auth_password: c.basic_auth_password.as_ref(),
                basic_auth_password_file: c.basic_auth_password_file.as_deref(),
                bearer_token: c.bearer_token.as_ref(),
                bearer_token_file: c.bearer_token_file.as_deref(),
                headers: &c.headers,
            },
            env,
        )
        .map_err(UsageError)?;
        let url_credentials = reqwest::Url::parse(&self.url)
            .is_ok_and(|u| crate::gateway::transport::has_credentials(&u));
        if let Some(why) = crate::gateway::transport::authorization_conflict(
            &credentials,
            url_credentials,
            &c.headers,
        ) {
            return Err(UsageError(why));
        }
        Ok(RestoreConfig {
            files: self.files,
            url: self.url,
            select: self.select,
            replace: self.replace,
            dry_run: self.dry_run,
            output: match self.output {
                RestoreOutputArg::Human => StdoutFormat::Human,
                RestoreOutputArg::Json => StdoutFormat::Json,
            },
            label_names: match self.label_names {
                LabelNamesArg::Auto => None,
                LabelNamesArg::Utf8 => Some(LabelNaming::Utf8),
                LabelNamesArg::Legacy => Some(LabelNaming::Legacy),
            },
            transport: TransportOptions {
                timeout: c.timeout,
                credentials,
                headers: c.headers,
                tls: TlsOptions {
                    ca_cert: c.ca_cert,
                    client_cert: c.client_cert,
                    client_key: c.client_key,
                    insecure_skip_verify: c.insecure_skip_verify,
                },
                retry: RetryPolicy {
                    retries: c.retries,
                    initial_backoff: c.retry_backoff,
                },
            },
            list_all: self.verbose > 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// An environment with no variables set.
    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn clap_definition_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("26h"), Ok(Duration::from_secs(26 * 3600)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86400)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("ten minutes").is_err());
        assert!(parse_duration("-5m").is_err());
        assert!(parse_positive_duration("0s").is_err());
    }

    #[test]
    fn months_and_years_are_refused_with_a_hint() {
        let e = parse_duration("10M").unwrap_err();
        assert!(e.starts_with("did you mean '10m'? 'M' is months"), "{e}");
        let e = parse_duration(" 1h 30M ").unwrap_err();
        assert!(e.starts_with("did you mean '1h 30m'?"), "{e}");
        for months in ["1month", "2 months", "1M1d"] {
            assert!(parse_duration(months).is_err(), "{months}");
        }
        for years in ["1y", "2years", "1yr", "1d 1year"] {
            let e = parse_duration(years).unwrap_err();
            assert!(e.starts_with("years are refused"), "{years}: {e}");
        }
        assert!(parse_threshold("10M").is_err());
        assert!(parse_rule(r#"{job="x"}=10M"#).is_err());
        // What stays: every fixed-length unit, spelled out or not.
        for (text, secs) in [
            ("10m", 600),
            ("2w", 1_209_600),
            ("1min", 60),
            ("3 days", 259_200),
        ] {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_secs(secs)),
                "{text}"
            );
        }
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
    }

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
    fn thresholds_and_ratios_parse() {
        assert_eq!(parse_threshold("never"), Ok(Threshold::Never));
        assert_eq!(
            parse_threshold("26h"),
            Ok(Threshold::After(Duration::from_secs(26 * 3600)))
        );
        assert!(parse_rule("{job=\"x\"}").is_err());
        assert!(parse_rule("10m").is_err());
        assert!(parse_ratio("1.5").is_err());
        assert!(parse_ratio("-0.1").is_err());
        assert_eq!(parse_ratio("0.25"), Ok(0.25));
    }

    #[test]
    fn a_zero_threshold_or_verify_timeout_is_a_usage_error() {
        // Before: accepted, and with no cap a 0s threshold deletes every group.
        for zero in ["0s", "0", "0ms"] {
            let e = parse_threshold(zero).unwrap_err();
            assert!(e.starts_with("must be greater than zero"), "{zero}: {e}");
        }
        assert!(parse_rule(r#"{job="x"}=0s"#).is_err());
        let e = Args::try_parse_from(["pgj", "--url", "http://a", "--verify-timeout", "0s"])
            .unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation);
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
    fn many_v_flags_do_not_wrap_to_quiet() {
        let many = format!("-{}", "v".repeat(200));
        let args = Args::try_parse_from(["pgj", "--url", "http://a", many.as_str()]).unwrap();
        assert_eq!(args.verbosity(), 3);
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
    fn a_repeated_single_valued_flag_takes_the_last_value() {
        let args = Args::try_parse_from([
            "pgj",
            "--url",
            "http://a",
            "--timeout",
            "30s",
            "--timeout",
            "60s",
            "--output",
            "json",
            "--output",
            "human",
            "--dry-run",
            "--dry-run",
            "--push-metrics",
            "--push-metrics=http://m",
        ])
        .unwrap();
        assert_eq!(args.timeout, Duration::from_secs(60));
        assert_eq!(args.output, OutputArg::Human);
        assert!(args.dry_run);
        assert_eq!(args.push_metrics.as_deref(), Some("http://m"));
        // Repeatable flags still add up.
        let args = Args::try_parse_from([
            "pgj",
            "--url",
            "http://a",
            "--url",
            "http://b",
            "--keep",
            "{a=\"1\"}",
            "--keep",
            "{a=\"2\"}",
        ])
        .unwrap();
        assert_eq!((args.url.len(), args.keep.len()), (2, 2));
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
    fn url_repeats() {
        let args = Args::try_parse_from(["pgj", "--url", "http://a", "--url", "http://b"]).unwrap();
        assert_eq!(args.url, vec!["http://a", "http://b"]);
    }

    #[test]
    fn short_help_is_one_line_per_flag_within_100_columns() {
        let help = short_help();
        let mut cmd = <Args as clap::CommandFactory>::command();
        // With the version flag, which exists once built.
        cmd.build();
        // Flags that only refine another (--min-ttl, --state-file) are in
        // --help only.
        let visible = cmd
            .get_arguments()
            .filter(|a| !a.is_hide_set() && !a.is_hide_short_help_set())
            .count();
        let flag_lines: Vec<&str> = help
            .lines()
            .filter(|l| l.starts_with("  -") || l.starts_with("      --"))
            .collect();
        assert_eq!(flag_lines.len(), visible, "{help}");
        for line in help.lines() {
            assert!(line.chars().count() <= 100, "too wide: {line}");
            // Nothing but headings, flags, the usage and the pointer to --help.
            assert!(
                line.is_empty()
                    || line.starts_with("  -")
                    || line.starts_with("      --")
                    || line.ends_with(':')
                    || line.starts_with("Usage: ")
                    || line.starts_with("       pushgateway-janitor restore ")
                    || line.starts_with("Deletes ")
                    || line.starts_with("--help "),
                "a continuation line: {line:?}"
            );
        }
        assert!(help.contains("Usage: pushgateway-janitor --url URL"));
        assert!(!help.contains("Exit codes"), "exit codes stay in --help");
    }

    #[test]
    fn usage_errors_keep_clap_hints() {
        let err = |args: &[&str]| {
            let mut all = vec!["pushgateway-janitor"];
            all.extend_from_slice(args);
            usage_message(&Args::try_parse_from(all).unwrap_err())
        };
        assert_eq!(
            err(&["--url", "http://a", "--output", "yaml"]),
            "invalid value 'yaml' for --output (possible values: human, json) (see --help)"
        );
        assert_eq!(
            err(&["--url", "http://a", "--thresold", "1m"]),
            "unknown flag '--thresold': did you mean '--threshold'? (see --help)"
        );
        assert_eq!(
            err(&["--url", "http://a", "-v", "-q"]),
            "--verbose cannot be used with --quiet (see --help)"
        );
        let generate = err(&["--generate", "yaml"]);
        assert!(
            generate.starts_with(
                "invalid value 'yaml' for --generate (possible values: completions-bash,"
            ),
            "{generate}"
        );
        assert_eq!(
            err(&["--url", "http://a", "--threshold", "10x"]),
            "invalid value '10x' for --threshold: expected a number and a unit (ms, s, m, h, d, w), like 90s, 10m, 26h or 1h30m (see --help)"
        );
        assert_eq!(
            err(&[]),
            "the following required arguments were not provided: --url <URL> (see --help)"
        );
        assert_eq!(
            err(&["--url", "http://a", "--dry-run=yes"]),
            "unexpected value 'yes' for '--dry-run' found; no more were expected (see --help)"
        );
        assert_eq!(
            err(&["--url", "http://a", "--label-names", "utf"]),
            "invalid value 'utf' for --label-names: did you mean 'utf8'? (possible values: auto, utf8, legacy) (see --help)"
        );
        assert_eq!(
            err(&["--url", "http://a", "--basic-auth-password", "p"]),
            "the following required arguments were not provided: --basic-auth-user <USER> (see --help)"
        );
        // The header's value may be a secret: its reason, never the value.
        let header = err(&["--url", "http://a", "--header", "s3cret"]);
        assert_eq!(
            header,
            "invalid value for --header: expected 'Name: value' (no ':' found) (see --help)"
        );
    }

    #[test]
    fn rules_allow_spaces_around_the_equals_sign_and_want_braces() {
        let rule = parse_rule(r#"{job="x"} = 10m"#).unwrap();
        assert_eq!(rule.threshold, Threshold::After(Duration::from_secs(600)));
        let rule = parse_rule(r#"{job=~"a{2}=b"}=never"#).unwrap();
        assert_eq!(rule.threshold, Threshold::Never);
        let e = parse_rule(r#"job="x"=10m"#).unwrap_err();
        assert!(e.contains("expected '{'"), "{e}");
        let e = parse_rule(r#"{job="x"}"#).unwrap_err();
        assert!(e.starts_with("expected SELECTOR=DURATION"), "{e}");
    }

    #[test]
    fn listen_address_forms() {
        assert_eq!(
            parse_listen_address(":9099").unwrap().to_string(),
            "0.0.0.0:9099"
        );
        assert_eq!(
            parse_listen_address("127.0.0.1:9099").unwrap().to_string(),
            "127.0.0.1:9099"
        );
        assert_eq!(
            parse_listen_address("[::1]:9099").unwrap().to_string(),
            "[::1]:9099"
        );
        for bad in ["9099", "127.0.0.1", ":x", "127.0.0.1:70000"] {
            assert!(parse_listen_address(bad).is_err(), "{bad}");
        }
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
    fn generate_needs_no_url() {
        let args = Args::try_parse_from(["pgj", "--generate", "man"]).unwrap();
        assert_eq!(args.generate, Some(crate::completions::Generate::Man));
        assert!(Args::try_parse_from(["pgj", "--generate", "man", "--url", "http://a"]).is_ok());
        assert!(
            Args::try_parse_from(["pgj"]).is_err(),
            "--url stays required"
        );
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

    #[test]
    fn ttl_grace_and_notify_flags_are_checked_before_anything_is_sent() {
        let config = |extra: &[&str]| {
            let mut a = vec!["pgj", "--url", "http://a"];
            a.extend_from_slice(extra);
            Args::try_parse_from(a)
                .map_err(|e| e.to_string())
                .and_then(|a| a.into_config(&no_env).map_err(|e| e.to_string()))
        };
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
        // --every may keep the pending groups in memory.
        assert!(config(&["--grace", "1h", "--every", "5m"]).is_ok());
        for (args, says) in [
            (&["--grace", "1h"][..], "--grace needs --state-file"),
            (&["--state-file", "/s"][..], "give --grace"),
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

    /// The words of a shell command line: blanks split, '…' and "…" quote.
    fn shell_words(line: &str) -> Vec<String> {
        let (mut words, mut word, mut quote, mut any) = (Vec::new(), String::new(), None, false);
        for c in line.chars() {
            match (quote, c) {
                (None, '\'' | '"') => (quote, any) = (Some(c), true),
                (Some(q), c) if c == q => quote = None,
                (None, c) if c.is_whitespace() => {
                    if any {
                        words.push(std::mem::take(&mut word));
                    }
                    any = false;
                }
                (_, c) => (word, any) = (word + &c.to_string(), true),
            }
        }
        if any {
            words.push(word);
        }
        words
    }

    #[test]
    fn every_help_example_is_a_valid_command_line() {
        let joined = EXAMPLES.replace("\\\n", " ");
        let commands: Vec<&str> = joined
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("pushgateway-janitor "))
            .collect();
        assert!(commands.len() >= 8, "{commands:?}");
        for command in commands {
            let words = shell_words(&command.replace("$WEBHOOK_URL", "https://hooks.example/x"));
            let config = Args::try_parse_from(&words)
                .map_err(|e| e.to_string())
                .and_then(|a| a.into_config(&no_env).map_err(|e| e.to_string()));
            assert!(config.is_ok(), "{command}: {config:?}");
        }
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

    #[test]
    fn verbose_and_quiet_conflict() {
        assert!(Args::try_parse_from(["pgj", "--url", "http://a", "-v", "-q"]).is_err());
    }
}
