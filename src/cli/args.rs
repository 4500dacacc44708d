//! The clap definitions: every flag of a clean and of `restore`, with its
//! help text, default, environment variable and value parser. A new flag
//! is declared here and given its meaning in `config.rs`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser, ValueEnum};

use super::help::{after_help, restore_after_help, RESTORE_USAGE, USAGE};
use super::values::{
    parse_bound, parse_concurrency, parse_count, parse_dns_server, parse_late_after,
    parse_listen_address, parse_max_ttl, parse_min_ttl, parse_missed_pushes,
    parse_positive_duration, parse_ratio, parse_retries, parse_rule, parse_selector, HeaderParser,
};
use crate::duration::{parse_duration, parse_threshold, Threshold};
use crate::gateway::{Header, Secret};
use crate::plan::Rule;
use crate::selector::Selector;

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
    #[arg(long, value_name = "DURATION", value_parser = parse_min_ttl, allow_hyphen_values = true)]
    pub min_ttl: Option<Duration>,

    /// Lower a TTL a group declares (never included) to at most this.
    ///
    /// Lower a TTL a group declares (--ttl-label, --ttl-metric), 'never'
    /// included, to at most DURATION. Bounds declared TTLs only, never
    /// --rule or --threshold. --max-ttl never sets no upper bound, as
    /// without the flag.
    #[arg(long, value_name = "DURATION", value_parser = parse_max_ttl, allow_hyphen_values = true)]
    pub max_ttl: Option<Threshold>,

    /// Which pushes are activity: any (failed ones too) or successful.
    ///
    /// Which pushes count as a group's activity: any (the default: a failed
    /// push too, its producer is alive) or successful (only a push the
    /// gateway accepted: a group whose pushes have failed for longer than
    /// its threshold is stale, and its old values go; one whose pushes never
    /// succeeded is skipped, its age unknown). Thresholds, rules and TTLs
    /// are unchanged; the report's reason says which activity counted.
    #[arg(long, value_name = "ACTIVITY", value_enum, default_value_t = ActivityArg::Any)]
    pub activity: ActivityArg,

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

    /// Evict when a gateway would hold more than N groups.
    ///
    /// Bound on each gateway's groups, off unless given: after the stale
    /// groups are planned, while the gateway would still hold more than N,
    /// the group silent longest among those silent for at least
    /// --evict-after (required) is evicted (deleted; would_evict in a dry
    /// run). Never a --keep'd group, the janitor's own job, an ignored or a
    /// skipped one. --grace, --archive, --max-deletes and --max-delete-ratio
    /// apply to evictions as to deletions. When what the pass leaves
    /// still exceeds the bound (groups pending for --grace, a cap refused
    /// the plan, no candidate left, deletes that failed or were not sent,
    /// deletes not confirmed, groups pushed again): a warning that says
    /// which and over_capacity in the report; the exit status does not
    /// change. 0 is refused: leave the flag out to turn
    /// the bound off. See docs/health.md.
    #[arg(long, value_name = "N", value_parser = parse_bound, allow_hyphen_values = true)]
    pub max_groups: Option<u64>,

    /// Evict when a gateway would hold more than N series.
    ///
    /// Bound on each gateway's series (metric entries, one per label set
    /// per family, the push times not counted), off unless given: as
    /// --max-groups, checked after it (0 refused likewise). Needs
    /// --evict-after.
    #[arg(long, value_name = "N", value_parser = parse_bound, allow_hyphen_values = true)]
    pub max_series: Option<u64>,

    /// Only groups silent this long may be evicted (with --max-*).
    ///
    /// Only a group silent for at least DURATION may be evicted by
    /// --max-groups or --max-series; required with either, no default, and
    /// alone a usage error.
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration, allow_hyphen_values = true)]
    pub evict_after: Option<Duration>,

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
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration, allow_hyphen_values = true)]
    pub grace: Option<Duration>,

    /// The janitor's memory between runs: --grace marks and rhythms.
    ///
    /// The janitor's memory between runs (JSON), keyed by gateway and exact
    /// grouping key: the groups --grace keeps pending, and each group's
    /// rhythm (its last push times, its learned cadence, the groups deleted
    /// as stale that may return; docs/rhythms.md). Read before each pass,
    /// rewritten atomically after it under a lock beside it (runs that
    /// overlap each count). Groups no longer on the gateway drop out. A dry
    /// run reads it and does not write it.
    #[arg(long, value_name = "PATH")]
    pub state_file: Option<PathBuf>,

    /// Stale after N missed pushes of the group's learned cadence.
    ///
    /// Opt-in: a group whose cadence is learned (docs/rhythms.md) is stale
    /// after N times its cadence (never below --min-ttl); a TTL the group
    /// declares and a matching --rule still come first, and a group still
    /// learning keeps --threshold. N is 2 or more. Needs --state-file, unless
    /// --every (which remembers the rhythms in memory).
    #[arg(long, value_name = "N", value_parser = parse_missed_pushes)]
    pub missed_pushes: Option<u32>,

    /// A group silent this many cadences is late (reported, not deleted).
    ///
    /// A group whose cadence is learned and that has been silent for more
    /// than FACTOR times it is late: late in the report and on its -v line,
    /// counted in pushgateway_janitor_groups_late. Late is not stale:
    /// nothing is deleted for it. A group outside --select is never late
    /// (it is not judged), though its rhythm is learned.
    #[arg(long, value_name = "FACTOR", default_value = "2", value_parser = parse_late_after)]
    pub late_after: f64,

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

    #[command(flatten)]
    pub transport: TransportArgs,

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
    /// the DELETEs already started finish, report the pass, then exit 0. A
    /// second signal gives up the DELETEs in flight and exits at once (1,
    /// the pass not recorded); after they ended, the pass is recorded, an
    /// output still waited for is given up, and the exit status is the
    /// pass's.
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

    /// Print shell completions or a man page, then exit.
    ///
    /// Print shell completions or a man page (roff: man, or man-restore for
    /// restore's) to stdout and exit.
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
pub enum ActivityArg {
    /// Any push, failed ones too.
    Any,
    /// Only a successful push.
    Successful,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClockArg {
    /// The gateway's clock, from the Date header of the scan response.
    Server,
    /// This host's clock.
    Local,
}

/// `restore`: the subcommand next to the flat interface (which stays as
/// it is: `pushgateway-janitor --url ...` cleans).
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Push archived groups (--archive) back to a Pushgateway.
    ///
    /// Reads the archive files --archive wrote and pushes each group back
    /// with PUT to its exact grouping key, every metric family with all its
    /// series, in the protobuf push format (native histograms included).
    /// The gateway sets the push time: a restored group starts its age
    /// again, so fix the rule that deleted it first. A group the gateway
    /// holds again is not overwritten unless --replace. Run it with
    /// --dry-run first.
    Restore(RestoreArgs),
}

/// The flags of `restore` (its help text is the doc comment of
/// [`Command::Restore`]).
#[derive(Debug, clap::Args)]
#[command(
    override_usage = RESTORE_USAGE,
    after_long_help = restore_after_help(),
    args_override_self = true
)]
pub struct RestoreArgs {
    /// Archive files written by --archive (JSON lines).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// The Pushgateway to push the groups to.
    ///
    /// Base URL of the Pushgateway to push the groups to (a path prefix is
    /// kept); one gateway, not a DNS name. Only the records archived from
    /// this gateway are restored (as the records name it); those of other
    /// gateways sharing the archive are left out and counted.
    #[arg(
        long,
        value_name = "URL",
        env = "PUSHGATEWAY_URL",
        hide_env_values = true
    )]
    pub url: String,

    /// Restore the records of this gateway instead (repeatable).
    ///
    /// Restore the records archived from this gateway instead of those of
    /// --url: onto a replacement, or another gateway on purpose. The URL
    /// as the summary names the gateways it left out (a replica found
    /// through DNS by its address). Repeatable: the records of each. When
    /// the files hold none of the gateways restored from, only others',
    /// nothing is sent and the error line names the --from to pass (exit 2).
    #[arg(long, value_name = "URL")]
    pub from: Vec<String>,

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
    pub transport: TransportArgs,

    /// More logging on stderr (-v, -vv, -vvv).
    ///
    /// More logging on stderr (-v info and list superseded and ignored
    /// records and other gateways', -vv debug, -vvv trace).
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

    /// Whether `--url` came from `PUSHGATEWAY_URL` (set by
    /// [`Args::try_parse_args`]).
    #[arg(skip)]
    pub url_from_env: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RestoreOutputArg {
    /// One line per archived group restored, skipped or failed, and a summary.
    Human,
    /// The JSON report (schema pushgateway-janitor/restore/v1), nothing else.
    Json,
}

/// How a clean or a restore reaches its gateway: one set of flags, with the
/// same meanings, defaults and environment variables for both (flattened
/// into each).
#[derive(Debug, clap::Args)]
pub struct TransportArgs {
    /// Bound on each HTTP request.
    ///
    /// Bounds each HTTP request, connection and body included.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_positive_duration, allow_hyphen_values = true)]
    pub timeout: Duration,

    /// Retries after connection errors, timeouts, 408, 429 and 5xx.
    ///
    /// Retries of each request (a clean's scan and DELETEs, a restore's
    /// reads and PUTs, which are idempotent) after a connection error, a
    /// reset or truncated response, a timeout, 408, 429 or 5xx; 0 sends
    /// each request once. A 429 or 503 with Retry-After waits as long as it asks,
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
}

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
        let from_env = |m: &clap::ArgMatches| {
            m.value_source("url") == Some(clap::parser::ValueSource::EnvVariable)
        };
        parsed.url_from_env = from_env(&matches);
        if let (Some(Command::Restore(restore)), Some(m)) = (
            parsed.command.as_mut(),
            matches.subcommand_matches("restore"),
        ) {
            restore.url_from_env = from_env(m);
        }
        Ok(parsed)
    }

    /// The log level the counted flags ask for (0 = warn).
    pub fn verbosity(&self) -> i8 {
        // Counted in u8: -v repeated 200 times must not wrap to quiet.
        (i16::from(self.verbose) - i16::from(self.quiet)).clamp(-2, 3) as i8
    }
}

impl RestoreArgs {
    /// The log level the counted flags ask for (0 = warn).
    pub fn verbosity(&self) -> i8 {
        (i16::from(self.verbose) - i16::from(self.quiet)).clamp(-2, 3) as i8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[test]
    fn clap_definition_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn many_v_flags_do_not_wrap_to_quiet() {
        let many = format!("-{}", "v".repeat(200));
        let args = Args::try_parse_from(["pgj", "--url", "http://a", many.as_str()]).unwrap();
        assert_eq!(args.verbosity(), 3);
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
        assert_eq!(args.transport.timeout, Duration::from_secs(60));
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
    fn url_repeats() {
        let args = Args::try_parse_from(["pgj", "--url", "http://a", "--url", "http://b"]).unwrap();
        assert_eq!(args.url, vec!["http://a", "http://b"]);
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
    fn verbose_and_quiet_conflict() {
        assert!(Args::try_parse_from(["pgj", "--url", "http://a", "-v", "-q"]).is_err());
    }
}
