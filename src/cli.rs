//! The command line: clap derive types, env fallbacks, help text, and the
//! conversion into a [`Config`].

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser, ValueEnum};

use crate::config::{ClockSource, Config, OutputFormat};
use crate::exit::ExitStatus;
use crate::gateway::TransportOptions;
use crate::plan::{Caps, Policy, Rule, Threshold};
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
"#;

fn after_help() -> String {
    format!("{EXAMPLES}\n{}", ExitStatus::help_text())
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
#[command(name = "pushgateway-janitor", version, after_help = after_help())]
pub struct Args {
    /// Base URL of the Pushgateway; a path prefix is kept
    /// (http://h:9091/pgw reads http://h:9091/pgw/api/v1/metrics). Repeat
    /// to clean several gateways, each on its own.
    #[arg(long, value_name = "URL", env = "PUSHGATEWAY_URL", hide_env_values = true, required = true, action = ArgAction::Append)]
    pub url: Vec<String>,

    /// A group is stale when it has been silent (no push, successful or
    /// failed) for longer than this: 90s, 10m, 26h, 1d, or never. The
    /// fallback for groups no --rule matches.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_threshold)]
    pub threshold: Threshold,

    /// Per-group threshold, 'SELECTOR=DURATION' (e.g. '{job="backup"}=26h',
    /// '{job=~"flink.*"}=10m', '{job="audit"}=never'). Repeatable; the first
    /// rule whose selector matches applies.
    #[arg(long, value_name = "SELECTOR=DURATION", value_parser = parse_rule)]
    pub rule: Vec<Rule>,

    /// Only consider groups matching this Prometheus label selector
    /// ('{job=~"flink.*",env!="dev"}'); the others are reported as ignored.
    /// Repeatable: a group matching any of them is considered.
    #[arg(long, value_name = "SELECTOR", value_parser = parse_selector)]
    pub select: Vec<Selector>,

    /// Never delete groups matching this selector. Repeatable.
    #[arg(long, value_name = "SELECTOR", value_parser = parse_selector)]
    pub keep: Vec<Selector>,

    /// Safety cap: when a gateway's plan would delete more than N groups,
    /// delete none there (reported as refused, exit 3).
    #[arg(long, value_name = "N")]
    pub max_deletes: Option<u64>,

    /// Safety cap: when a gateway's plan would delete more than this share
    /// (0 to 1) of its scanned groups, delete none there (exit 3).
    #[arg(long, value_name = "RATIO", value_parser = parse_ratio)]
    pub max_delete_ratio: Option<f64>,

    /// Which clock ages are measured against: the gateway's (the scan
    /// response's Date header; falls back to local with a warning) or this
    /// host's.
    #[arg(long, value_name = "CLOCK", value_enum, default_value_t = ClockArg::Server)]
    pub clock: ClockArg,

    /// After deleting, re-scan for up to this long until every deleted group
    /// is gone (or pushed again); groups still there are still_present (exit 4).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub verify_timeout: Duration,

    /// Do not re-scan after deleting; a 202 Accepted counts as deleted.
    #[arg(long)]
    pub no_verify: bool,

    /// Decide and report, but send no DELETE at all.
    #[arg(long)]
    pub dry_run: bool,

    /// Report format on stdout; logs always go to stderr.
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = Output::Human)]
    pub output: Output,

    /// Also write the JSON report to PATH, atomically (temporary file and
    /// rename), whatever --output is.
    #[arg(long, value_name = "PATH")]
    pub report_file: Option<PathBuf>,

    /// Bounds each HTTP request, connection and body included.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_positive_duration)]
    pub timeout: Duration,

    /// How many DELETEs may be in flight at once per gateway.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,

    /// More logging on stderr (-v info and list kept groups, -vv debug,
    /// -vvv trace). PUSHGATEWAY_JANITOR_LOG (env-filter syntax) wins when set.
    #[arg(short, long, action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Less logging on stderr (-q errors only, -qq nothing).
    #[arg(short, long, action = ArgAction::Count)]
    pub quiet: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// One line per group acted on and a summary.
    Human,
    /// The JSON report (schema pushgateway-janitor/report/v1), nothing else.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClockArg {
    /// The gateway's clock, from the Date header of the scan response.
    Server,
    /// This host's clock.
    Local,
}

/// A duration, or `never`.
pub fn parse_threshold(text: &str) -> Result<Threshold, String> {
    match text.trim() {
        "never" => Ok(Threshold::Never),
        other => parse_duration(other).map(Threshold::After),
    }
}

/// `SELECTOR=DURATION`; the selector ends at the last `}=`.
pub fn parse_rule(text: &str) -> Result<Rule, String> {
    let text = text.trim();
    let Some(at) = text.rfind("}=") else {
        return Err(format!(
            "expected SELECTOR=DURATION, like '{{job=\"backup\"}}=26h', got '{text}'"
        ));
    };
    let selector = parse_selector(&text[..=at])?;
    let threshold = parse_threshold(&text[at + 2..])?;
    Ok(Rule {
        selector,
        threshold,
    })
}

pub fn parse_selector(text: &str) -> Result<Selector, String> {
    Selector::parse(text).map_err(|e| e.to_string())
}

fn parse_ratio(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("expected a number from 0 to 1, got '{text}'")),
    }
}

/// humantime durations: `90s`, `10m`, `26h`, `1d`, `1h 30m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| format!("{e} (examples: 90s, 10m, 26h, 1d)"))
}

fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        d if d.is_zero() => Err("must be greater than zero".into()),
        d => Ok(d),
    }
}

impl Args {
    /// The log level the counted flags ask for (0 = warn).
    pub fn verbosity(&self) -> i8 {
        self.verbose as i8 - self.quiet as i8
    }

    pub fn into_config(self) -> Config {
        Config {
            urls: self.url,
            policy: Policy {
                threshold: self.threshold,
                rules: self.rule,
                select: self.select,
                keep: self.keep,
                caps: Caps {
                    max_deletes: self.max_deletes,
                    max_delete_ratio: self.max_delete_ratio,
                },
            },
            clock: match self.clock {
                ClockArg::Server => ClockSource::Server,
                ClockArg::Local => ClockSource::Local,
            },
            verify_timeout: (!self.no_verify).then_some(self.verify_timeout),
            dry_run: self.dry_run,
            output: match self.output {
                Output::Human => OutputFormat::Human,
                Output::Json => OutputFormat::Json,
            },
            report_file: self.report_file,
            transport: TransportOptions {
                timeout: self.timeout,
            },
            concurrency: self.concurrency.into(),
            verbose: self.verbose > 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

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
    fn defaults() {
        let args = Args::try_parse_from(["pgj", "--url", "http://h:9091"]).unwrap();
        let config = args.into_config();
        assert_eq!(
            config.policy.threshold,
            Threshold::After(Duration::from_secs(600))
        );
        assert_eq!(config.clock, ClockSource::Server);
        assert_eq!(config.verify_timeout, Some(Duration::from_secs(5)));
        assert_eq!(config.transport.timeout, Duration::from_secs(30));
        assert_eq!(config.concurrency, 4);
        assert!(!config.dry_run);
        assert_eq!(config.output, OutputFormat::Human);
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
    fn url_repeats() {
        let args = Args::try_parse_from(["pgj", "--url", "http://a", "--url", "http://b"]).unwrap();
        assert_eq!(args.url, vec!["http://a", "http://b"]);
    }

    #[test]
    fn verbose_and_quiet_conflict() {
        assert!(Args::try_parse_from(["pgj", "--url", "http://a", "-v", "-q"]).is_err());
    }
}
