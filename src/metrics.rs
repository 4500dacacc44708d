//! Self-metrics: the run's outcome in the Prometheus text format, for
//! node_exporter's textfile collector (`--textfile PATH`).
//!
//! Pure: a [`Report`] and the carried-over [`History`] in, text out. The
//! history travels in the file's state line, so counters and the last
//! success survive one-shot runs from cron or a timer; reading and writing
//! the file (atomically) is `output`'s.
//!
//! What a failed run leaves: `last_success_timestamp_seconds` keeps the value
//! from the previous file (0 when no success was ever recorded), so "no
//! success for N minutes" alerts keep counting from the last real success.
//!
//! Every function here takes the run's exit status as `output` knows it
//! when it writes (the report's own, made worse by any output that failed
//! before), never a status of its own: what the files say is what the exit
//! code says.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::exit::ExitStatus;
use crate::identity::{GatewayId, Replica};
use crate::report::{Action, GatewayReport, Report};

/// Every metric name starts with this.
pub const PREFIX: &str = "pushgateway_janitor_";

/// The comment that carries [`History`] from one textfile to the next; the
/// text format's readers (node_exporter, promtool) skip comments.
pub const STATE: &str = "# pushgateway-janitor state (read by the next run): ";

/// What one file carries to the next: the last success and the counters.
/// It travels as one comment line of JSON at the top of the textfile
/// ([`STATE`]): the file and the state it was rendered from are renamed
/// into place together, and nothing reads the exposition format back.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct History {
    /// Unix seconds of the last run that ended with exit code 0.
    pub last_success: Option<f64>,
    pub runs_succeeded: u64,
    pub runs_failed: u64,
    /// Loop-mode passes a signal cut short (not failures).
    pub runs_interrupted: u64,
    /// The exit code of the last run that was not interrupted: what an
    /// interrupted pass leaves in `last_run_success` and
    /// `last_run_exit_code`, which it cannot judge.
    pub last_exit_code: Option<u8>,
    /// Per gateway (the report's redacted URL).
    pub deleted: BTreeMap<String, u64>,
    pub delete_failures: BTreeMap<String, u64>,
    /// Groups a bound evicted (action `evicted`), per gateway: a counter
    /// of its own, so that `deleted` keeps its labels and meaning (a
    /// stale group's delete) for the dashboards and alerts built on it. A
    /// state line from before it reads as none.
    pub evicted: BTreeMap<String, u64>,
    /// Groups deleted as stale that were pushed again, per gateway.
    pub returned: BTreeMap<String, u64>,
    /// The gateways of the counters that are replicas found through DNS,
    /// each with its identity (the report's `url`, `discovered_from` and
    /// `address`): what says that a counter may end
    /// ([`Discovered::gone`](crate::identity::Discovered::gone)).
    pub replicas: BTreeMap<String, ReplicaId>,
}

/// A replica's identity as the history line keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReplicaId {
    pub url: String,
    pub discovered_from: String,
    pub address: Option<std::net::SocketAddr>,
}

impl ReplicaId {
    fn of(id: &GatewayId) -> Option<ReplicaId> {
        let replica = id.replica.as_ref()?;
        Some(ReplicaId {
            url: id.url.clone(),
            discovered_from: replica.discovered_from.clone(),
            address: replica.address,
        })
    }

    fn id(&self) -> GatewayId {
        GatewayId {
            url: self.url.clone(),
            replica: Some(Replica {
                discovered_from: self.discovered_from.clone(),
                address: self.address,
            }),
        }
    }
}

impl History {
    /// Reads the history back from the state line of a file this module
    /// wrote. A file without one (another writer, an older version) is an
    /// error: the caller starts the counters from 0.
    pub fn from_textfile(text: &str) -> Result<History, String> {
        if text.trim().is_empty() {
            return Ok(History::default());
        }
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix(STATE))
            .ok_or("no state line")?;
        serde_json::from_str(line).map_err(|e| format!("the state line does not parse: {e}"))
    }

    /// The state line: [`STATE`] and the history as one line of JSON.
    fn state_line(&self) -> String {
        let json = serde_json::to_string(self).expect("a history always serializes");
        format!("{STATE}{json}\n")
    }

    /// Adds one run that ended with `status`.
    pub fn record(&mut self, report: &Report, status: ExitStatus) {
        match RunResult::of(report, status) {
            RunResult::Success => {
                self.runs_succeeded += 1;
                self.last_success = Some(millis(report.finished_at.0));
            }
            RunResult::Failure => self.runs_failed += 1,
            RunResult::Interrupted => self.runs_interrupted += 1,
        }
        if RunResult::of(report, status) != RunResult::Interrupted {
            self.last_exit_code = Some(status.code());
        }
        // Counters belong to gateways: a `--url` whose lookup failed stands
        // for none (a series named after it would stay for ever).
        for gw in report.gateways.iter().filter(|gw| gw.id.is_some()) {
            *self.deleted.entry(gw.name().into_owned()).or_default() +=
                gw.summary.count(Action::Deleted);
            *self.evicted.entry(gw.name().into_owned()).or_default() +=
                gw.summary.count(Action::Evicted);
            // A group still shown after its accepted DELETE failed too.
            *self
                .delete_failures
                .entry(gw.name().into_owned())
                .or_default() += gw.summary.failures();
            // A dry run writes no memory: the next run sees the same return
            // again, and counting each would count one return many times.
            let returned = if report.dry_run {
                0
            } else {
                gw.health.groups_returned
            };
            *self.returned.entry(gw.name().into_owned()).or_default() += returned;
            if let Some(replica) = gw.id.as_ref().and_then(ReplicaId::of) {
                self.replicas.insert(gw.name().into_owned(), replica);
            }
        }
        // A replica found through DNS is named by its address, and pods come
        // back with new ones: keeping every such name ever seen would grow
        // the file (and the series) without bound, so a replica the run
        // shows gone drops out (a counter that ends is a series that ends),
        // by the rule the `--grace` state file follows. A gateway named by
        // its --url keeps its counters across runs that do not visit it; so
        // does a replica whose lookup failed.
        let gone: Vec<String> = self
            .replicas
            .iter()
            .filter(|(_, replica)| report.discovered.gone(&replica.id()))
            .map(|(name, _)| name.clone())
            .collect();
        for name in &gone {
            self.deleted.remove(name);
            self.delete_failures.remove(name);
            self.evicted.remove(name);
            self.returned.remove(name);
            self.replicas.remove(name);
        }
    }
}

/// How a run counts in `runs_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunResult {
    /// Exit code 0, every gateway done.
    Success,
    /// Any other exit code.
    Failure,
    /// Exit code 0 so far, but a signal stopped a gateway's scan (loop
    /// mode): neither a success nor a failure. Its deletes are counted; the
    /// gauges that judge a run keep the last judged run's values.
    Interrupted,
}

impl RunResult {
    pub fn of(report: &Report, status: ExitStatus) -> RunResult {
        if status != ExitStatus::Ok {
            RunResult::Failure
        } else if report.interrupted() {
            RunResult::Interrupted
        } else {
            RunResult::Success
        }
    }
}

/// Renders `report`, which ended with `status`, with the counters of
/// `history` (which should already include this run, see
/// [`History::record`]).
pub fn render(report: &Report, status: ExitStatus, history: &History) -> String {
    render_families(report, status, Some(history))
}

/// What `--push-metrics` sends after each run: the gauges of the last run
/// and no counters, as the Prometheus advice for batch jobs has it. The last
/// success time is sent only by a run that succeeded: the Pushgateway's POST
/// replaces only the families it receives, so after a failed run the group
/// keeps the previous success time.
pub fn render_pushed(report: &Report, status: ExitStatus) -> String {
    render_families(report, status, None)
}

/// The textfile and the scrape (`history` given: counters, and the last
/// success carried over) or the push (`None`).
fn render_families(report: &Report, status: ExitStatus, history: Option<&History>) -> String {
    let mut out = Text::default();
    if let Some(history) = history {
        out.0.push_str(&history.state_line());
    }
    let (started, finished) = (millis(report.started_at.0), millis(report.finished_at.0));
    let success = RunResult::of(report, status) == RunResult::Success;

    out.family(
        "build_info",
        "gauge",
        "Always 1; the version of the janitor that wrote this file.",
    );
    out.sample("build_info", &[("version", env!("CARGO_PKG_VERSION"))], 1.0);
    out.single(
        "last_run_timestamp_seconds",
        "gauge",
        "When the last run finished, in Unix seconds.",
        finished,
    );
    let last_success = match history {
        Some(history) => Some(history.last_success.unwrap_or(0.0)),
        None => success.then_some(finished),
    };
    if let Some(last_success) = last_success {
        out.single(
            "last_success_timestamp_seconds",
            "gauge",
            "When the last run that exited 0 with every gateway done finished, in Unix seconds; a failed or interrupted run keeps the previous value; 0 when none was recorded.",
            last_success,
        );
    }
    // An interrupted pass cannot be judged: the textfile keeps the last
    // judged run's values (from the history), the push leaves them out so
    // the gateway keeps its own.
    let judged = match (RunResult::of(report, status), history) {
        (RunResult::Interrupted, Some(history)) => Some(history.last_exit_code.unwrap_or(0)),
        (RunResult::Interrupted, None) => None,
        _ => Some(status.code()),
    };
    if let Some(code) = judged {
        out.single(
            "last_run_success",
            "gauge",
            "1 when the last run exited 0 (every gateway scanned, every planned delete accepted, every output written), else 0; a pass a signal interrupted keeps the value before it.",
            bool_value(code == 0),
        );
        out.single(
            "last_run_exit_code",
            "gauge",
            "The exit code of the last run (0 ok, 1 could not scan or write an output, 3 refused by a safety cap, 4 some deletes failed); a pass a signal interrupted keeps the value before it.",
            f64::from(code),
        );
    }
    out.single(
        "last_run_duration_seconds",
        "gauge",
        "How long the last run took, scan to report, in seconds.",
        // Both ends have millisecond precision; so has their difference.
        ((finished - started).max(0.0) * 1000.0).round() / 1000.0,
    );
    out.single(
        "last_run_dry_run",
        "gauge",
        "1 when the last run was a dry run (nothing deleted), else 0.",
        bool_value(report.dry_run),
    );
    // No sample when the fallback threshold is `never`.
    out.family(
        "last_run_threshold_seconds",
        "gauge",
        "The fallback staleness threshold of the last run, in seconds (no sample when it is never).",
    );
    if let Some(threshold) = report.threshold_seconds {
        out.sample("last_run_threshold_seconds", &[], threshold);
    }

    let Some(history) = history else {
        out.gauges_per_gateway(report);
        return out.0;
    };
    out.family(
        "runs_total",
        "counter",
        "Runs recorded in this file, by result (success = exit code 0; interrupted = a loop-mode pass a signal cut short); carried over from the previous file.",
    );
    out.sample(
        "runs_total",
        &[("result", "success")],
        history.runs_succeeded as f64,
    );
    out.sample(
        "runs_total",
        &[("result", "failure")],
        history.runs_failed as f64,
    );
    out.sample(
        "runs_total",
        &[("result", "interrupted")],
        history.runs_interrupted as f64,
    );

    out.gauges_per_gateway(report);
    for (name, help, counts) in [
        (
            "deleted_groups_total",
            "Groups deleted on this gateway (action deleted: DELETE accepted and, unless --no-verify, gone on re-scan), over every run recorded in this file.",
            &history.deleted,
        ),
        (
            "delete_failures_total",
            "Deletes that failed on this gateway (actions delete_failed and still_present), over every run recorded in this file.",
            &history.delete_failures,
        ),
        (
            "evicted_groups_total",
            "Groups evicted on this gateway by --max-groups or --max-series (action evicted: DELETE accepted and, unless --no-verify, gone on re-scan), over every run recorded in this file; not in deleted_groups_total.",
            &history.evicted,
        ),
        (
            "groups_returned_total",
            "Groups deleted as stale on this gateway that their producer pushed again within the return window (docs/rhythms.md): thresholds too short for their producers, over every run recorded in this file.",
            &history.returned,
        ),
    ] {
        out.family(name, "counter", help);
        for (gateway, n) in counts {
            out.sample(name, &[("gateway", gateway)], *n as f64);
        }
    }
    out.0
}

impl Text {
    /// The per-gateway gauges of the last run, shared by every target.
    fn gauges_per_gateway(&mut self, report: &Report) {
        self.per_gateway(
            report,
            "gateway_up",
            "gauge",
            "1 when the last run scanned this gateway, 0 when it could not (nothing was deleted there); absent when a signal interrupted its scan.",
            |gw| (!gw.interrupted).then(|| bool_value(gw.error.is_none())),
        );
        self.per_gateway(
            report,
            "groups_scanned",
            "gauge",
            "Groups the last run found on this gateway (absent while gateway_up is 0).",
            |gw| gw.scanned().then_some(gw.summary.groups as f64),
        );
        self.per_gateway(
            report,
            "groups_late",
            "gauge",
            "Groups on this gateway silent for longer than --late-after times their learned cadence (docs/rhythms.md); never deleted for it (absent while gateway_up is 0).",
            |gw| gw.scanned().then_some(gw.health.groups_late as f64),
        );
        self.per_gateway(
            report,
            "pending_deletable_timestamp_seconds",
            "gauge",
            "With --grace: the earliest time a group pending on this gateway becomes deletable, in Unix seconds (absent while none is pending).",
            |gw| {
                gw.groups
                    .iter()
                    .filter(|g| g.action == Action::Pending)
                    .filter_map(|g| g.deletable_at.map(|t| millis(t.0)))
                    .min_by(f64::total_cmp)
            },
        );
        type Measure = fn(&crate::report::GatewaySize) -> u64;
        let sizes: [(&str, &str, Measure); 3] = [
            (
                "gateway_groups",
                "Groups on this gateway: when=\"before\" as the last run scanned it, when=\"after\" that minus the groups it deleted (a dry run: the same); absent while gateway_up is 0.",
                |s| s.groups,
            ),
            (
                "gateway_series",
                "Series on this gateway (one per label set per metric family, push_time_seconds and push_failure_time_seconds not counted): when=\"before\" as scanned, when=\"after\" minus the groups deleted; absent while gateway_up is 0.",
                |s| s.series,
            ),
            (
                "gateway_bytes",
                "Bytes of this gateway's groups in its /api/v1/metrics document: when=\"before\" as scanned, when=\"after\" minus the groups deleted; absent while gateway_up is 0.",
                |s| s.bytes,
            ),
        ];
        for (name, help, measure) in sizes {
            self.family(name, "gauge", help);
            for gw in report.gateways.iter().filter(|gw| gw.scanned()) {
                let health = &gw.health;
                for (when, size) in [("before", health.size), ("after", health.size_after)] {
                    if let Some(size) = size {
                        self.sample(
                            name,
                            &[("gateway", &gw.name()), ("when", when)],
                            measure(&size) as f64,
                        );
                    }
                }
            }
        }
        self.per_gateway(
            report,
            "groups_failing",
            "gauge",
            "Groups on this gateway whose last push failed (push_failure_time_seconds later than push_time_seconds), as the last run scanned them (absent while gateway_up is 0).",
            |gw| gw.scanned().then_some(gw.health.groups_failing as f64),
        );
        self.per_gateway(
            report,
            "over_capacity",
            "gauge",
            "1 when what the last run left on this gateway (gateway_groups and gateway_series when=\"after\"; a dry run: what its plan would leave) exceeds --max-groups or --max-series, else 0 (absent while gateway_up is 0).",
            |gw| gw.scanned().then_some(bool_value(gw.health.over_capacity.is_some())),
        );
        self.family(
            "groups",
            "gauge",
            "Groups of the last run on this gateway, by the action taken (absent while gateway_up is 0).",
        );
        for gw in report.gateways.iter().filter(|gw| gw.scanned()) {
            // Every action, zeros included, so alerts need no `or vector(0)`
            // and the counts add up to groups_scanned.
            for action in Action::ALL {
                let n = gw.summary.count(action);
                let action = action.name();
                self.sample(
                    "groups",
                    &[("gateway", &gw.name()), ("action", action)],
                    n as f64,
                );
            }
        }
    }
}

/// Unix seconds to the millisecond, as the report writes them.
fn millis(t: f64) -> f64 {
    (t * 1000.0).round() / 1000.0
}

fn bool_value(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

#[derive(Default)]
struct Text(String);

impl Text {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {PREFIX}{name} {}", escape_help(help));
        let _ = writeln!(self.0, "# TYPE {PREFIX}{name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.0.push_str(PREFIX);
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (n, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{n}=\"{}\"", escape_label(v));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }

    fn single(&mut self, name: &str, kind: &str, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    fn per_gateway(
        &mut self,
        report: &Report,
        name: &str,
        kind: &str,
        help: &str,
        value: impl Fn(&GatewayReport) -> Option<f64>,
    ) {
        self.family(name, kind, help);
        for gw in &report.gateways {
            if let Some(v) = value(gw) {
                self.sample(name, &[("gateway", &gw.name())], v);
            }
        }
    }
}

fn escape_label(v: &str) -> String {
    v.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

fn escape_help(v: &str) -> String {
    v.replace('\\', r"\\").replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    // What the tests read the rendered text with. The janitor itself never
    // reads the format back (the state line carries the history).
    /// One sample of the text format.
    #[derive(Debug, Clone, PartialEq)]
    struct Sample {
        name: String,
        labels: Vec<(String, String)>,
        value: f64,
    }

    impl Sample {
        fn label(&self, name: &str) -> Option<&str> {
            self.labels
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        }
    }

    /// Parses the subset of the text format this module writes: `# HELP` and
    /// `# TYPE` lines, and samples without timestamps. Every sample's family
    /// must have been announced by a `# TYPE` line first.
    fn parse(text: &str) -> Result<Vec<Sample>, String> {
        let mut typed: Vec<String> = Vec::new();
        let mut samples = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let err = |what: &str| format!("line {}: {what}: {line:?}", i + 1);
            if line.trim().is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut parts = rest.split(' ');
                let (Some(name), Some(kind), None) = (parts.next(), parts.next(), parts.next())
                else {
                    return Err(err("malformed TYPE"));
                };
                if !["counter", "gauge", "untyped"].contains(&kind) {
                    return Err(err("unexpected type"));
                }
                typed.push(name.to_owned());
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let (name, rest) = match line.find(['{', ' ']) {
                Some(at) => line.split_at(at),
                None => return Err(err("no value")),
            };
            if !is_metric_name(name) {
                return Err(err("bad metric name"));
            }
            let mut labels = Vec::new();
            let rest = if let Some(body) = rest.strip_prefix('{') {
                let mut chars = body.char_indices().peekable();
                let end = loop {
                    match chars.peek() {
                        Some((at, '}')) => break *at,
                        Some((_, ',')) => {
                            chars.next();
                            continue;
                        }
                        None => return Err(err("unterminated labels")),
                        _ => {}
                    }
                    let mut lname = String::new();
                    for (_, c) in chars.by_ref() {
                        if c == '=' {
                            break;
                        }
                        lname.push(c);
                    }
                    if chars.next().map(|(_, c)| c) != Some('"') {
                        return Err(err("label value not quoted"));
                    }
                    let mut value = String::new();
                    loop {
                        match chars.next().map(|(_, c)| c) {
                            Some('"') => break,
                            Some('\\') => match chars.next().map(|(_, c)| c) {
                                Some('n') => value.push('\n'),
                                Some(c @ ('\\' | '"')) => value.push(c),
                                _ => return Err(err("bad escape")),
                            },
                            Some(c) => value.push(c),
                            None => return Err(err("unterminated label value")),
                        }
                    }
                    labels.push((lname, value));
                };
                &body[end + 1..]
            } else {
                rest
            };
            let value = rest.trim();
            if value.contains(' ') {
                return Err(err("timestamps are not allowed in a textfile"));
            }
            let value: f64 = value.parse().map_err(|_| err("bad value"))?;
            let family = typed.last().ok_or_else(|| err("sample before any TYPE"))?;
            if family != name {
                return Err(err("sample outside its family's TYPE block"));
            }
            samples.push(Sample {
                name: name.to_owned(),
                labels,
                value,
            });
        }
        Ok(samples)
    }

    fn is_metric_name(name: &str) -> bool {
        let mut chars = name.chars();
        matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }

    use crate::report::{GatewayReport, Summary};

    fn gateway(url: &str, error: Option<&str>, summary: Summary) -> GatewayReport {
        GatewayReport {
            health: Default::default(),
            url: url.into(),
            discovered_from: None,
            address: None,
            now: crate::report::Time(1_795_478_400.0),
            clock: "local",
            clock_skew_seconds: None,
            error: error.map(Into::into),
            refused: None,
            version: None,
            utf8_names: None,
            label_names: None,
            interrupted: false,
            groups: Vec::new(),
            summary,
            id: Some(GatewayId::url(url)),
        }
    }

    fn report(gateways: Vec<GatewayReport>) -> Report {
        Report::new(
            false,
            1_795_000_000.0,
            1_795_000_000.25,
            Some(600.0),
            gateways,
        )
    }

    fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
        samples
            .iter()
            .find(|s| {
                s.name == format!("{PREFIX}{name}")
                    && labels.iter().all(|(n, v)| s.label(n) == Some(v))
            })
            .unwrap_or_else(|| panic!("no {name} {labels:?}"))
            .value
    }

    #[test]
    fn renders_a_successful_run() {
        let summary = Summary::with(&[(Action::Deleted, 2), (Action::Kept, 1)]);
        let r = report(vec![gateway("http://a:9091", None, summary)]);
        let mut h = History::default();
        h.record(&r, r.exit_status());
        let text = render(&r, r.exit_status(), &h);
        let samples = parse(&text).unwrap();
        assert_eq!(value(&samples, "last_run_success", &[]), 1.0);
        assert_eq!(
            value(&samples, "last_success_timestamp_seconds", &[]),
            1_795_000_000.25
        );
        assert_eq!(value(&samples, "last_run_duration_seconds", &[]), 0.25);
        assert_eq!(
            value(&samples, "gateway_up", &[("gateway", "http://a:9091")]),
            1.0
        );
        assert_eq!(value(&samples, "groups_scanned", &[]), 3.0);
        assert_eq!(value(&samples, "groups", &[("action", "deleted")]), 2.0);
        assert_eq!(value(&samples, "groups", &[("action", "skipped")]), 0.0);
        assert_eq!(value(&samples, "deleted_groups_total", &[]), 2.0);
        assert_eq!(value(&samples, "runs_total", &[("result", "success")]), 1.0);
    }

    /// Issue 29 item 3: a pass that evicted groups counts them, per
    /// gateway, apart from the stale groups it deleted; a state line from
    /// before the counter reads as none. Before: no such counter, and
    /// `deleted_groups_total` stayed 0 after 4 evictions.
    #[test]
    fn evictions_are_counted_apart_from_deletions() {
        let summary = Summary::with(&[(Action::Evicted, 4), (Action::Deleted, 1)]);
        let r = report(vec![gateway("http://a", None, summary)]);
        let mut h = History::from_textfile(&format!(
            "{STATE}{{\"runs_succeeded\":1,\"deleted\":{{\"http://a\":2}}}}\n"
        ))
        .unwrap();
        h.record(&r, r.exit_status());
        h.record(&r, r.exit_status());
        let samples = parse(&render(&r, r.exit_status(), &h)).unwrap();
        let a = [("gateway", "http://a")];
        assert_eq!(value(&samples, "evicted_groups_total", &a), 8.0);
        assert_eq!(value(&samples, "deleted_groups_total", &a), 4.0);
        // Written for a gateway that evicted nothing too: 0, not absent.
        let none = report(vec![gateway("http://b", None, Summary::default())]);
        h.record(&none, none.exit_status());
        let samples = parse(&render(&none, none.exit_status(), &h)).unwrap();
        let b = [("gateway", "http://b")];
        assert_eq!(value(&samples, "evicted_groups_total", &b), 0.0);
    }

    /// A dry run does not write the memory, so every dry run sees the same
    /// return: only a run that writes it counts the return. Before: two dry
    /// runs counted one return twice.
    #[test]
    fn a_dry_runs_returns_are_not_counted() {
        let mut gw = gateway("http://a", None, Summary::default());
        gw.health.groups_returned = 1;
        let mut dry = report(vec![gw]);
        dry.dry_run = true;
        let mut h = History::default();
        h.record(&dry, dry.exit_status());
        h.record(&dry, dry.exit_status());
        let a = [("gateway", "http://a")];
        let samples = parse(&render(&dry, dry.exit_status(), &h)).unwrap();
        assert_eq!(value(&samples, "groups_returned_total", &a), 0.0);
        dry.dry_run = false;
        h.record(&dry, dry.exit_status());
        let samples = parse(&render(&dry, dry.exit_status(), &h)).unwrap();
        assert_eq!(value(&samples, "groups_returned_total", &a), 1.0);
    }

    #[test]
    fn every_action_is_written_and_they_add_up_to_the_groups_scanned() {
        let summary = Summary::with(&[
            (Action::Active, 11),
            (Action::Unconfirmed, 10),
            (Action::Deleted, 9),
            (Action::Repushed, 8),
            (Action::StillPresent, 7),
            (Action::Refused, 6),
            (Action::WouldDelete, 5),
            (Action::DeleteFailed, 4),
            (Action::Kept, 3),
            (Action::Skipped, 2),
            (Action::Ignored, 1),
        ]);
        assert_eq!(summary.groups, 66);
        assert_eq!(summary.stale(), 10 + 9 + 8 + 7 + 6 + 5 + 4);
        let r = report(vec![gateway("http://a", None, summary)]);
        let mut h = History::default();
        h.record(&r, r.exit_status());
        let samples = parse(&render(&r, r.exit_status(), &h)).unwrap();
        let by_action: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.name == format!("{PREFIX}groups"))
            .collect();
        assert_eq!(by_action.len(), Action::ALL.len());
        for action in Action::ALL {
            let v = value(&samples, "groups", &[("action", action.name())]);
            assert_eq!(v, summary.count(action) as f64, "{action:?}");
        }
        let total: f64 = by_action.iter().map(|s| s.value).sum();
        assert_eq!(total, value(&samples, "groups_scanned", &[]));
        assert_eq!(value(&samples, "delete_failures_total", &[]), 11.0);
    }

    #[test]
    fn a_failed_run_keeps_the_last_success_and_counts() {
        let ok = report(vec![gateway("http://a", None, Summary::default())]);
        let mut h = History::default();
        h.record(&ok, ok.exit_status());
        let text = render(&ok, ok.exit_status(), &h);

        // The next run, from a fresh process reading the file back.
        let mut h2 = History::from_textfile(&text).unwrap();
        assert_eq!(h2, h);
        let failed = Report::new(
            false,
            1_795_000_300.0,
            1_795_000_301.0,
            Some(600.0),
            vec![gateway(
                "http://a",
                Some("connection refused"),
                Summary::default(),
            )],
        );
        h2.record(&failed, failed.exit_status());
        let samples = parse(&render(&failed, failed.exit_status(), &h2)).unwrap();
        assert_eq!(value(&samples, "last_run_success", &[]), 0.0);
        assert_eq!(value(&samples, "last_run_exit_code", &[]), 1.0);
        assert_eq!(
            value(&samples, "last_run_timestamp_seconds", &[]),
            1_795_000_301.0
        );
        assert_eq!(
            value(&samples, "last_success_timestamp_seconds", &[]),
            1_795_000_000.25
        );
        assert_eq!(value(&samples, "gateway_up", &[]), 0.0);
        assert!(
            !samples.iter().any(|s| s.name.ends_with("groups_scanned")),
            "unknown is not 0"
        );
        assert_eq!(value(&samples, "runs_total", &[("result", "success")]), 1.0);
        assert_eq!(value(&samples, "runs_total", &[("result", "failure")]), 1.0);
    }

    #[test]
    fn pushed_metrics_are_gauges_and_a_failed_run_sends_no_last_success() {
        let ok = report(vec![gateway("http://a", None, Summary::default())]);
        let samples = parse(&render_pushed(&ok, ok.exit_status())).unwrap();
        assert_eq!(
            value(&samples, "last_success_timestamp_seconds", &[]),
            1_795_000_000.25
        );
        assert_eq!(
            value(&samples, "gateway_up", &[("gateway", "http://a")]),
            1.0
        );
        assert!(
            samples.iter().all(|s| !s.name.ends_with("_total")),
            "no counters in a push"
        );

        let failed = report(vec![gateway("http://a", Some("down"), Summary::default())]);
        let samples = parse(&render_pushed(&failed, failed.exit_status())).unwrap();
        assert_eq!(value(&samples, "last_run_success", &[]), 0.0);
        // Left out, so the gateway keeps the previous run's value.
        assert!(!samples
            .iter()
            .any(|s| s.name.ends_with("last_success_timestamp_seconds")));
    }

    #[test]
    fn replicas_no_longer_found_drop_out_of_the_counters() {
        const FROM: &str = "dns+http://p:9091";
        let replica = |address: &str| GatewayReport {
            discovered_from: Some(FROM.into()),
            address: Some(address.into()),
            id: Some(GatewayId {
                url: "http://p:9091".into(),
                replica: Some(Replica {
                    discovered_from: FROM.into(),
                    address: Some(address.parse().unwrap()),
                }),
            }),
            ..gateway(
                "http://p:9091",
                None,
                Summary::with(&[(Action::Deleted, 1)]),
            )
        };
        let plain = |url: &str| gateway(url, None, Summary::with(&[(Action::Deleted, 1)]));
        // `resolved`: the run looked the name up, as `run` tells it.
        let one = |gateways: Vec<GatewayReport>, resolved: bool| {
            let mut r = report(gateways);
            if resolved {
                r.discovered.resolved(FROM, Default::default());
            }
            for gw in &r.gateways {
                if let Some(id) = &gw.id {
                    r.discovered.found(id);
                }
            }
            r
        };
        let mut h = History::default();
        let r = one(
            vec![
                plain("http://a"),
                plain("http://b"),
                replica("10.0.0.7:9091"),
            ],
            true,
        );
        h.record(&r, r.exit_status());
        let r = one(vec![plain("http://a"), replica("10.0.0.7:9091")], true);
        h.record(&r, r.exit_status());
        // A run that did not resolve the name keeps the replica's counter.
        let r = one(vec![plain("http://b")], false);
        h.record(&r, r.exit_status());
        assert_eq!(h.deleted["http://p:9091 (10.0.0.7:9091)"], 2);
        // The replica came back under another address.
        let r = one(vec![plain("http://a"), replica("10.0.0.9:9091")], true);
        h.record(&r, r.exit_status());
        let names: Vec<&str> = h.deleted.keys().map(String::as_str).collect();
        // A --url keeps its counter across runs that do not name it.
        assert_eq!(
            names,
            ["http://a", "http://b", "http://p:9091 (10.0.0.9:9091)"]
        );
        assert_eq!(h.deleted["http://a"], 3);
        assert_eq!(h.deleted["http://b"], 2);
        assert_eq!(h.deleted["http://p:9091 (10.0.0.9:9091)"], 1);
        assert_eq!(h.replicas.len(), 1);
        assert_eq!(h.delete_failures.len(), 3);
    }

    /// Issue 28 item 4: a `dnssrv+` target whose addresses were not found
    /// dropped its replica's counters (1 -> 0), and a series named after
    /// the failed target appeared and stayed. The state file kept its
    /// marks: one rule ([`Discovered::gone`]) now decides both.
    #[test]
    fn a_replica_whose_target_lookup_failed_keeps_its_counters() {
        const SRV: &str = "dnssrv+http://_p._tcp.pgw.test";
        let target = |host: &str| format!("http://{host}.test:9091/");
        let replica = |host: &str, address: &str| GatewayReport {
            discovered_from: Some(SRV.into()),
            address: Some(address.into()),
            id: Some(GatewayId {
                url: target(host),
                replica: Some(Replica {
                    discovered_from: SRV.into(),
                    address: Some(address.parse().unwrap()),
                }),
            }),
            ..gateway(&target(host), None, Summary::with(&[(Action::Deleted, 1)]))
        };
        let pass = |t2: Option<GatewayReport>| {
            let mut gateways = vec![replica("t1", "10.0.0.1:9091")];
            let mut unresolved = std::collections::BTreeSet::new();
            match t2 {
                Some(t2) => gateways.push(t2),
                None => {
                    // As `run` reports a target whose lookup failed.
                    unresolved.insert(target("t2"));
                    gateways.push(GatewayReport {
                        discovered_from: Some(SRV.into()),
                        id: None,
                        ..gateway(&target("t2"), Some("lookup failed"), Summary::default())
                    });
                }
            }
            let mut r = report(gateways);
            r.discovered.resolved(SRV, unresolved);
            for id in r.gateways.iter().filter_map(|gw| gw.id.clone()) {
                r.discovered.found(&id);
            }
            r
        };
        let mut h = History::default();
        let r = pass(Some(replica("t2", "10.0.0.2:9091")));
        h.record(&r, r.exit_status());
        let r = pass(None);
        h.record(&r, r.exit_status());
        let t2 = "http://t2.test:9091/ (10.0.0.2:9091)";
        assert_eq!(h.deleted.get(t2), Some(&1), "{:?}", h.deleted);
        // No counter for the failed target itself.
        assert_eq!(h.deleted.get(&target("t2")), None, "{:?}", h.deleted);
        let r = pass(Some(replica("t2", "10.0.0.2:9091")));
        h.record(&r, r.exit_status());
        assert_eq!(h.deleted.get(t2), Some(&2));
        assert_eq!(h.deleted.len(), 2, "{:?}", h.deleted);
    }

    #[test]
    fn the_status_given_is_the_one_recorded() {
        // The report alone says 0; an output that failed before (the push,
        // the report file) made the run's status 1.
        let r = report(vec![gateway("http://a", None, Summary::default())]);
        let mut h = History::default();
        h.record(&r, ExitStatus::Failed);
        let samples = parse(&render(&r, ExitStatus::Failed, &h)).unwrap();
        assert_eq!(value(&samples, "last_run_exit_code", &[]), 1.0);
        assert_eq!(value(&samples, "last_run_success", &[]), 0.0);
        assert_eq!(value(&samples, "last_success_timestamp_seconds", &[]), 0.0);
        assert_eq!(value(&samples, "runs_total", &[("result", "failure")]), 1.0);
        assert_eq!(value(&samples, "runs_total", &[("result", "success")]), 0.0);
    }

    #[test]
    fn an_interrupted_pass_counts_what_it_did_and_is_no_failure() {
        let mut done = gateway("http://a", None, Summary::with(&[(Action::Deleted, 2)]));
        done.groups = Vec::new();
        let cut = GatewayReport {
            interrupted: true,
            ..gateway("http://b", None, Summary::default())
        };
        let r = report(vec![done, cut]);
        assert_eq!(RunResult::of(&r, r.exit_status()), RunResult::Interrupted);
        let mut h = History::default();
        h.record(&r, r.exit_status());
        let samples = parse(&render(&r, r.exit_status(), &h)).unwrap();
        assert_eq!(
            value(&samples, "deleted_groups_total", &[("gateway", "http://a")]),
            2.0
        );
        assert_eq!(
            value(&samples, "runs_total", &[("result", "interrupted")]),
            1.0
        );
        assert_eq!(value(&samples, "runs_total", &[("result", "failure")]), 0.0);
        // Not a failure (no alert fires for a stop), but not a success
        // either: the last success time does not move, and the judging
        // gauges keep the last judged run's (none here: 0, no failure).
        assert_eq!(value(&samples, "last_run_exit_code", &[]), 0.0);
        assert_eq!(value(&samples, "last_run_success", &[]), 1.0);
        assert_eq!(value(&samples, "last_success_timestamp_seconds", &[]), 0.0);
        // After a failed run, an interrupted one still says failed.
        let failed = report(vec![gateway("http://b", Some("down"), Summary::default())]);
        h.record(&failed, failed.exit_status());
        h.record(&r, r.exit_status());
        let samples = parse(&render(&r, r.exit_status(), &h)).unwrap();
        assert_eq!(value(&samples, "last_run_exit_code", &[]), 1.0);
        assert_eq!(value(&samples, "last_run_success", &[]), 0.0);
        assert_eq!(
            value(&samples, "runs_total", &[("result", "interrupted")]),
            2.0
        );
        // The push leaves them out: the gateway keeps the previous values.
        let pushed = parse(&render_pushed(&r, r.exit_status())).unwrap();
        assert!(!pushed
            .iter()
            .any(|s| s.name.contains("last_run_success") || s.name.contains("last_run_exit_code")));
        // The interrupted gateway was neither up nor down, and has no
        // groups (its counters carry on).
        assert!(!samples
            .iter()
            .any(|s| s.label("gateway") == Some("http://b") && !s.name.ends_with("_total")));
    }

    #[test]
    fn never_succeeded_is_zero() {
        let failed = report(vec![gateway("http://a", Some("down"), Summary::default())]);
        let mut h = History::default();
        h.record(&failed, failed.exit_status());
        let samples = parse(&render(&failed, failed.exit_status(), &h)).unwrap();
        assert_eq!(value(&samples, "last_success_timestamp_seconds", &[]), 0.0);
    }

    #[test]
    fn label_values_are_escaped_and_read_back() {
        let url = "http://h/p\"x\\y\nz";
        let r = report(vec![gateway(url, None, Summary::default())]);
        let mut h = History::default();
        h.record(&r, r.exit_status());
        let text = render(&r, r.exit_status(), &h);
        assert!(text.contains(r#"gateway="http://h/p\"x\\y\nz""#), "{text}");
        let samples = parse(&text).unwrap();
        assert_eq!(value(&samples, "gateway_up", &[("gateway", url)]), 1.0);
    }

    #[test]
    fn parse_rejects_what_the_collector_would() {
        assert!(parse("x 1\n").is_err(), "no TYPE");
        assert!(parse("# TYPE x gauge\nx 1 1000\n").is_err(), "timestamp");
        assert!(
            parse("# TYPE x gauge\nx{a=\"b} 1\n").is_err(),
            "unterminated"
        );
        assert!(parse("# TYPE x gauge\ny 1\n").is_err(), "outside family");
    }

    #[test]
    fn unknown_file_is_an_error_for_history() {
        assert!(History::from_textfile("garbage here\n").is_err());
        assert!(History::from_textfile("# TYPE x gauge\nx 1\n").is_err());
        let broken = format!("{STATE}{{\"runs_succeeded\": \"many\"}}\n");
        assert!(History::from_textfile(&broken).is_err());
        assert_eq!(History::from_textfile("").unwrap(), History::default());
    }

    #[test]
    fn the_state_line_carries_the_history_exactly() {
        let mut h = History {
            last_success: Some(1_795_000_000.123_456_7),
            runs_succeeded: 7,
            runs_failed: 2,
            ..History::default()
        };
        // Names a label value would need escapes for: JSON takes them as is.
        h.deleted
            .insert("http://pgw:9091 (10.0.0.7:9091)".into(), 3);
        h.delete_failures.insert("http://a\"b\\c\nd".into(), 1);
        let ok = report(vec![gateway("http://a", None, Summary::default())]);
        let text = render(&ok, ok.exit_status(), &h);
        let state: Vec<&str> = text.lines().filter(|l| l.starts_with(STATE)).collect();
        assert_eq!(state.len(), 1, "{text}");
        assert_eq!(History::from_textfile(&text).unwrap(), h);
        // A comment to every reader of the format: the samples parse as before.
        assert!(parse(&text).is_ok());
    }
}
