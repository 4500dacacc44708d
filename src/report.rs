//! The run report: serde structs with stable names (schema v1), and the
//! human rendering of the same data.

use std::io::{self, Write};

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use time::OffsetDateTime;

use crate::duration::{human_seconds, human_seconds_precise};
use crate::exit::ExitStatus;
use crate::plan::{Outcome, Verdict};

pub const SCHEMA: &str = "pushgateway-janitor/report/v1";

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub dry_run: bool,
    pub started_at: Time,
    pub finished_at: Time,
    /// The fallback threshold; `None` for `never`.
    pub threshold_seconds: Option<f64>,
    pub gateways: Vec<GatewayReport>,
    pub summary: Summary,
    /// The `--select`, `--keep` and `--rule` selectors that matched no
    /// group on any gateway the run scanned; empty when none was scanned.
    pub unmatched_selectors: Vec<UnmatchedSelector>,
}

/// A selector that matched no group: most often a typo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmatchedSelector {
    /// `--select`, `--keep` or `--rule`.
    pub flag: &'static str,
    /// The selector as written (a rule's without its threshold).
    pub selector: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct GatewayReport {
    /// The base URL, credentials redacted.
    pub url: String,
    /// The `--url` this gateway was found through (`dns+…`, `dnssrv+…`,
    /// `dnssrvnoa+…`); null for a gateway named by its URL.
    pub discovered_from: Option<String>,
    /// The address connected to, when DNS discovery chose it (`ip:port`);
    /// several gateways found through one name share `url` and differ here.
    pub address: Option<String>,
    /// The time the plan was made against.
    pub now: Time,
    /// Which clock gave `now`: `server` (the scan's `Date` header) or `local`.
    pub clock: &'static str,
    /// The gateway's `Date` minus the local clock, when the header was there.
    pub clock_skew_seconds: Option<f64>,
    /// Why the gateway could not be scanned; then `groups` is empty.
    pub error: Option<String>,
    /// Which safety cap refused this gateway's plan; then nothing was sent.
    pub refused: Option<String>,
    /// The gateway's version from GET /api/v1/status; null when unread.
    pub version: Option<String>,
    /// Its `push.enable-utf8-names` flag; null before 1.11 or when unread.
    pub utf8_names: Option<bool>,
    /// The naming mode the pass worked in: `utf8`, `legacy` or `unknown`;
    /// null when the gateway was not scanned.
    pub label_names: Option<&'static str>,
    pub groups: Vec<GroupReport>,
    pub summary: Summary,
    /// A signal stopped its DNS lookup or its scan (loop mode): nothing was
    /// sent to it, `groups` is empty and `error` null; not a failure.
    pub interrupted: bool,
    /// Its size and the groups whose pushes fail (docs/health.md).
    #[serde(flatten)]
    pub health: GatewayHealth,
}

/// How large a gateway is, and how many of its groups fail to be pushed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct GatewayHealth {
    /// What the scan found; null when the gateway was not scanned.
    pub size: Option<GatewaySize>,
    /// What is left after the pass: `size` minus the groups whose action
    /// says they are gone (`deleted`); in a dry run, as `size`. Null when
    /// the gateway was not scanned.
    pub size_after: Option<GatewaySize>,
    /// Groups whose last push failed (`last_push_failed`).
    pub groups_failing: u64,
    /// A bound (`--max-groups`, `--max-series`) is still exceeded after
    /// every group that could be evicted was.
    pub over_capacity: bool,
}

/// Totals over a gateway's groups (skipped ones included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct GatewaySize {
    pub groups: u64,
    /// Metric entries, the push times not counted ([`GroupHealth::series`]).
    pub series: u64,
    /// Bytes of the groups in the API document.
    pub bytes: u64,
}

impl GatewaySize {
    /// The totals of `groups`.
    pub fn of<'g>(groups: impl IntoIterator<Item = &'g GroupReport>) -> GatewaySize {
        groups
            .into_iter()
            .fold(GatewaySize::default(), |total, g| GatewaySize {
                groups: total.groups + 1,
                series: total.series + g.health.series,
                bytes: total.bytes + g.health.bytes,
            })
    }
}

impl GatewayHealth {
    /// The health of a scanned gateway whose groups are `groups`, after
    /// the pass: what was removed is what the actions say is gone.
    pub fn of(groups: &[GroupReport], over_capacity: bool) -> GatewayHealth {
        GatewayHealth {
            size: Some(GatewaySize::of(groups)),
            size_after: Some(GatewaySize::of(
                groups.iter().filter(|g| !g.action.is_gone()),
            )),
            groups_failing: groups.iter().filter(|g| g.health.last_push_failed).count() as u64,
            over_capacity,
        }
    }
}

/// A group's size and whether its last push failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct GroupHealth {
    /// Its metric entries, one per label set per family; the gateway's
    /// `push_time_seconds` and `push_failure_time_seconds` not counted.
    pub series: u64,
    /// Its length in the API document.
    pub bytes: u64,
    /// Its last push failed: `push_failure_time_seconds` is later than
    /// `push_time_seconds` (which, then, is the time of its last
    /// successful push, null when none succeeded).
    pub last_push_failed: bool,
}

impl GatewayReport {
    /// How the gateway is named in human output, errors and metric labels:
    /// its URL, and the address when replicas found through one name share
    /// the URL (`http://pgw:9091 (10.0.0.7:9091)`). People read it; nothing recognises a gateway by it (`--grace` keys
    /// marks by `identity::GatewayId`).
    pub fn name(&self) -> std::borrow::Cow<'_, str> {
        match &self.address {
            None => self.url.as_str().into(),
            Some(address) => format!("{} ({address})", self.url).into(),
        }
    }

    /// Whether its scan finished: neither an error nor a signal stopped it.
    pub fn scanned(&self) -> bool {
        self.error.is_none() && !self.interrupted
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupReport {
    pub labels: LabelSet,
    pub last_push: Option<Time>,
    pub last_failure: Option<Time>,
    pub last_activity: Option<Time>,
    pub age_seconds: Option<f64>,
    /// The threshold applied; `None` for `never`.
    pub threshold_seconds: Option<f64>,
    pub last_push_successful: Option<bool>,
    pub action: Action,
    pub reason: String,
    pub error: Option<String>,
    /// The archive file the group was written to before its DELETE was
    /// sent (`--archive`); null otherwise.
    pub archive: Option<String>,
    /// What set the threshold: `--threshold`, `--rule '...'`, or the
    /// group's own `ttl label NAME="VALUE"` / `ttl metric NAME=VALUE`, with
    /// how `--min-ttl`/`--max-ttl` moved it.
    pub threshold_source: String,
    /// Why a TTL the group declares was ignored; null when none was, or
    /// when it was used.
    pub ttl_ignored: Option<String>,
    /// With `--grace`, for a stale group: when a pass first saw it stale
    /// with its current last activity; null otherwise.
    pub stale_since: Option<Time>,
    /// For a `pending` group: from when a pass may delete it.
    pub deletable_at: Option<Time>,
    /// A `pending` group this pass was the first to see stale (what
    /// `--notify-url` announces); not in the JSON, which has `stale_since`.
    #[serde(skip)]
    pub newly_pending: bool,
    #[serde(flatten)]
    pub health: GroupHealth,
}

/// The actions of the report, in the order their counts are listed (the
/// summary, the self-metrics): one list, from which the enum, its names and
/// [`Action::ALL`] are made, so no action can be left out of any of them.
/// `restore` makes its own actions with it too (`enum Action { ... }`).
macro_rules! actions {
    (enum $enum:ident { $($(#[$doc:meta])* $variant:ident => $name:literal,)* }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $enum {
            $($(#[$doc])* $variant,)*
        }

        impl $enum {
            /// Every action, in the order counts are listed.
            pub const ALL: [$enum; [$($name),*].len()] = [$($enum::$variant),*];

            /// The name in the JSON report and in metric labels.
            pub fn name(self) -> &'static str {
                match self {
                    $($enum::$variant => $name,)*
                }
            }

            /// Its place in `ALL`: the declaration order, which is `ALL`'s
            /// by construction.
            pub fn index(self) -> usize {
                self as usize
            }
        }
    };
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        actions! { enum Action { $($(#[$doc])* $variant => $name,)* } }
    };
}
pub(crate) use actions;

actions! {
    /// Stale, the gateway accepted the DELETE (202), and (unless
    /// `--no-verify`) a later scan no longer showed the group.
    Deleted => "deleted",
    /// Stale; a dry run sent nothing.
    WouldDelete => "would_delete",
    /// Stale, but the DELETE failed.
    DeleteFailed => "delete_failed",
    /// Protected: `--keep`, threshold `never`, or the janitor's own job.
    Kept => "kept",
    /// Active within its threshold: not stale.
    Active => "active",
    /// Malformed or of unknown age; never deleted.
    Skipped => "skipped",
    /// Matched by no `--select`; never deleted.
    Ignored => "ignored",
    /// Stale, but a safety cap refused this gateway's plan.
    Refused => "refused",
    /// Stale and deleted, but pushed again before verification finished:
    /// its producer is alive.
    Repushed => "repushed",
    /// Stale and accepted for deletion, but still shown with its old push
    /// time when the verify timeout ran out.
    StillPresent => "still_present",
    /// Stale and accepted for deletion, but no re-scan could confirm it in
    /// time (a slow gateway): a warning, not a failure.
    Unconfirmed => "unconfirmed",
    /// Stale, but inside its grace period (`--grace`): deleted by a later
    /// pass if it stays silent.
    Pending => "pending",
}

impl Action {
    /// Whether a group with this action was stale: judged silent for too
    /// long, whatever then happened to its DELETE.
    pub fn is_stale(self) -> bool {
        match self {
            Action::Deleted
            | Action::WouldDelete
            | Action::DeleteFailed
            | Action::Refused
            | Action::Repushed
            | Action::StillPresent
            | Action::Unconfirmed
            | Action::Pending => true,
            Action::Kept | Action::Active | Action::Skipped | Action::Ignored => false,
        }
    }

    /// Whether a group with this action is known to be gone from the
    /// gateway after the pass (what `size_after` leaves out).
    pub fn is_gone(self) -> bool {
        match self {
            Action::Deleted => true,
            // Accepted but unconfirmed, or back, or never sent: there, as
            // far as the janitor knows.
            Action::WouldDelete
            | Action::DeleteFailed
            | Action::Refused
            | Action::Repushed
            | Action::StillPresent
            | Action::Unconfirmed
            | Action::Pending
            | Action::Kept
            | Action::Active
            | Action::Skipped
            | Action::Ignored => false,
        }
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// The action table: what a verdict and the outcome of its DELETE (if
/// any) are reported as, with the error to show.
pub fn action(verdict: Verdict, outcome: Outcome, dry_run: bool) -> (Action, Option<String>) {
    match (verdict, outcome) {
        (Verdict::Skip, _) => (Action::Skipped, None),
        (Verdict::Keep, _) => (Action::Kept, None),
        (Verdict::Active, _) => (Action::Active, None),
        (Verdict::Ignore, _) => (Action::Ignored, None),
        (Verdict::Refused, _) => (Action::Refused, None),
        (Verdict::Pending, _) => (Action::Pending, None),
        (Verdict::Stale, Outcome::Accepted) => (Action::Deleted, None),
        (Verdict::Stale, Outcome::Repushed) => (Action::Repushed, None),
        (Verdict::Stale, Outcome::StillPresent(e)) => (Action::StillPresent, Some(e)),
        (Verdict::Stale, Outcome::Unconfirmed(e)) => (Action::Unconfirmed, Some(e)),
        (Verdict::Stale, Outcome::Failed(e)) => (Action::DeleteFailed, Some(e)),
        (Verdict::Stale, Outcome::NotSent) if dry_run => (Action::WouldDelete, None),
        (Verdict::Stale, Outcome::NotSent) => {
            (Action::DeleteFailed, Some("no DELETE was sent".into()))
        }
    }
}

/// How an action reads in the human output.
fn human(action: Action) -> &'static str {
    match action {
        Action::WouldDelete => "would delete",
        Action::DeleteFailed => "delete failed",
        Action::StillPresent => "still present",
        Action::Unconfirmed => "unconfirmed",
        other => other.name(),
    }
}

/// Counts of one gateway, or of the run: every group seen, and how many
/// got each action. Keyed by [`Action`]: a new action is counted, written
/// to the JSON (under its name) and to the self-metrics without a change
/// here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub groups: u64,
    counts: [u64; Action::ALL.len()],
}

impl Summary {
    /// How many groups got `action`.
    pub fn count(&self, action: Action) -> u64 {
        self.counts[action.index()]
    }

    /// The stale groups: every action [`Action::is_stale`] says is one.
    pub fn stale(&self) -> u64 {
        Action::ALL
            .iter()
            .filter(|a| a.is_stale())
            .map(|a| self.count(*a))
            .sum()
    }

    /// A summary with these counts (tests, and what is built by hand).
    pub fn with(counts: &[(Action, u64)]) -> Summary {
        let mut s = Summary::default();
        for (action, n) in counts {
            s.groups += n;
            s.counts[action.index()] += n;
        }
        s
    }

    pub fn of(groups: &[GroupReport]) -> Summary {
        let mut s = Summary::default();
        for g in groups {
            s.groups += 1;
            s.counts[g.action.index()] += 1;
        }
        s
    }

    fn add(mut self, o: &Summary) -> Summary {
        self.groups += o.groups;
        for (mine, theirs) in self.counts.iter_mut().zip(o.counts) {
            *mine += theirs;
        }
        self
    }
}

/// `{"groups": N, "stale": N, "<action>": N, ...}`, actions in
/// [`Action::ALL`]'s order.
impl Serialize for Summary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2 + Action::ALL.len()))?;
        map.serialize_entry("groups", &self.groups)?;
        map.serialize_entry("stale", &self.stale())?;
        for action in Action::ALL {
            map.serialize_entry(action.name(), &self.count(action))?;
        }
        map.end()
    }
}

/// Labels in a fixed order (job first for a grouping key), as a JSON object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSet(pub Vec<(String, String)>);

impl Serialize for LabelSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl std::fmt::Display for LabelSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("{")?;
        for (i, (name, value)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}={value:?}", crate::group::quote_label_name(name))?;
        }
        f.write_str("}")
    }
}

impl Report {
    pub fn new(
        dry_run: bool,
        started_at: f64,
        finished_at: f64,
        threshold_seconds: Option<f64>,
        gateways: Vec<GatewayReport>,
    ) -> Report {
        let summary = gateways
            .iter()
            .fold(Summary::default(), |acc, g| acc.add(&g.summary));
        Report {
            schema: SCHEMA,
            dry_run,
            started_at: Time(started_at),
            finished_at: Time(finished_at),
            threshold_seconds,
            gateways,
            summary,
            unmatched_selectors: Vec::new(),
        }
    }

    /// A signal cut a gateway's scan short (loop mode): the pass is neither
    /// a success nor a failure; what the other gateways did is reported.
    pub fn interrupted(&self) -> bool {
        self.gateways.iter().any(|g| g.interrupted)
    }

    /// One `error:` line per gateway that failed, whatever the verbosity,
    /// so that an exit code other than 0 is always explained (in a cron
    /// mail under `-q` too): could not scan (1), deletes failed (4), a cap
    /// refused the plan (3).
    pub fn error_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for gw in &self.gateways {
            if let Some(error) = &gw.error {
                // Scan errors name the URL already; others (a TLS file) do
                // not, nor the address of a replica found through DNS.
                if error.contains(gw.url.as_str()) && gw.address.is_none() {
                    lines.push(error.clone());
                } else {
                    lines.push(format!("{}: {error}", gw.name()));
                }
                continue;
            }
            let failed: Vec<&GroupReport> = gw
                .groups
                .iter()
                .filter(|g| matches!(g.action, Action::DeleteFailed | Action::StillPresent))
                .collect();
            if let Some(first) = failed.first() {
                lines.push(format!(
                    "{} {} failed on {} (first: {} {})",
                    failed.len(),
                    if failed.len() == 1 {
                        "delete"
                    } else {
                        "deletes"
                    },
                    gw.name(),
                    first.labels,
                    first.error.as_deref().unwrap_or(first.action.name())
                ));
            }
            if let Some(why) = &gw.refused {
                lines.push(format!("no DELETE sent to {}: {why}", gw.name()));
            }
        }
        lines
    }

    /// The exit status this report calls for: each gateway's, the most
    /// severe winning (could not scan > deletes failed > refused > ok).
    pub fn exit_status(&self) -> ExitStatus {
        ExitStatus::worst(self.gateways.iter().map(|g| {
            if g.error.is_some() {
                ExitStatus::Failed
            } else if g.summary.count(Action::DeleteFailed) + g.summary.count(Action::StillPresent)
                > 0
            {
                ExitStatus::DeleteFailed
            } else if g.refused.is_some() {
                ExitStatus::Refused
            } else {
                ExitStatus::Ok
            }
        }))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report serializes")
    }

    /// One line per group acted on (and, when `verbose`, per group kept),
    /// then a summary line per gateway.
    /// `stamped`: each summary line starts with the pass's end time (loop
    /// mode, where many passes share one log).
    pub fn write_human(
        &self,
        out: &mut impl Write,
        verbose: bool,
        stamped: bool,
    ) -> io::Result<()> {
        for gw in &self.gateways {
            // Its one error line is on stderr (`error_lines`); once is enough.
            if gw.error.is_some() {
                continue;
            }
            if gw.interrupted {
                if stamped {
                    write!(out, "{} ", self.finished_at)?;
                }
                writeln!(
                    out,
                    "{}: interrupted by a signal before its scan finished: nothing sent",
                    gw.name()
                )?;
                continue;
            }
            for g in &gw.groups {
                match g.action {
                    Action::Kept | Action::Active | Action::Ignored if !verbose => continue,
                    Action::Skipped | Action::Ignored => {
                        writeln!(out, "{:<13}  {}: {}", human(g.action), g.labels, g.reason)?;
                        continue;
                    }
                    _ => {}
                }
                let failing = match (g.health.last_push_failed, &g.last_push) {
                    (true, None) => ", no push ever succeeded".to_owned(),
                    (true, Some(success)) => {
                        format!(", its last push failed (last success {success})")
                    }
                    (false, _) => String::new(),
                };
                // Only listed with -v: why it stays says it all (its age,
                // its threshold and what set it, or what protects it), and
                // whether its pushes fail.
                if matches!(g.action, Action::Kept | Action::Active) {
                    writeln!(
                        out,
                        "{:<13}  {}  {}{failing}",
                        human(g.action),
                        g.labels,
                        g.reason
                    )?;
                    continue;
                }
                let age = match (g.age_seconds, g.threshold_seconds) {
                    (None, _) => "?".into(),
                    // Whole seconds would read "silent 1s (threshold 1s)".
                    (Some(a), Some(t))
                        if human_seconds(a) == human_seconds(t) || a.round() <= t =>
                    {
                        human_seconds_precise(a)
                    }
                    (Some(a), _) => human_seconds(a),
                };
                write!(
                    out,
                    "{:<13}  {}  silent {}{failing} (threshold {}, {})",
                    human(g.action),
                    g.labels,
                    age,
                    g.threshold_seconds
                        .map(crate::duration::human_threshold_seconds)
                        .unwrap_or_else(|| "never".into()),
                    g.threshold_source
                )?;
                match (&g.error, &g.deletable_at) {
                    (Some(e), _) => writeln!(out, ": {e}")?,
                    (None, Some(at)) if g.action == Action::Pending => {
                        writeln!(out, ": deletable from {at}")?
                    }
                    _ => writeln!(out)?,
                }
            }
            let s = &gw.summary;
            if stamped {
                write!(out, "{} ", self.finished_at)?;
            }
            write!(
                out,
                "{}: {} {}, {} stale: ",
                gw.name(),
                s.groups,
                if s.groups == 1 { "group" } else { "groups" },
                s.stale()
            )?;
            if s.count(Action::Pending) > 0 {
                write!(out, "{} pending, ", s.count(Action::Pending))?;
            }
            if let Some(why) = &gw.refused {
                write!(out, "none deleted, {why}")?;
            } else if self.dry_run {
                write!(out, "{} would be deleted", s.count(Action::WouldDelete))?;
            } else {
                write!(
                    out,
                    "{} deleted, {} failed",
                    s.count(Action::Deleted),
                    s.count(Action::DeleteFailed)
                )?;
                if s.count(Action::Repushed) + s.count(Action::StillPresent) > 0 {
                    write!(
                        out,
                        ", {} repushed, {} still present",
                        s.count(Action::Repushed),
                        s.count(Action::StillPresent)
                    )?;
                }
            }
            write!(
                out,
                "; {} active, {} kept, {} skipped",
                s.count(Action::Active),
                s.count(Action::Kept),
                s.count(Action::Skipped)
            )?;
            if let Some(why) = most_common_skip_reason(&gw.groups) {
                write!(out, " (most often: {why})")?;
            }
            if s.count(Action::Ignored) > 0 {
                write!(out, ", {} ignored", s.count(Action::Ignored))?;
            }
            let dry = if self.dry_run {
                " (dry run: nothing sent)"
            } else {
                ""
            };
            writeln!(out, "{dry}")?;
            if verbose {
                write_size(out, gw)?;
            }
        }
        Ok(())
    }
}

/// How many groups the `-v` size line names.
const LARGEST_SHOWN: usize = 5;

/// `-v`: the gateway's size as scanned and its largest groups by series.
fn write_size(out: &mut impl Write, gw: &GatewayReport) -> io::Result<()> {
    let Some(size) = gw.health.size else {
        return Ok(());
    };
    write!(
        out,
        "{}: size: {} {}, {} series, {} in the API",
        gw.name(),
        size.groups,
        if size.groups == 1 { "group" } else { "groups" },
        size.series,
        human_bytes(size.bytes)
    )?;
    if gw.health.groups_failing > 0 {
        write!(out, "; {} failing", gw.health.groups_failing)?;
    }
    let mut largest: Vec<&GroupReport> = gw.groups.iter().filter(|g| g.health.series > 0).collect();
    // Most series first; among equals, the first in the report.
    largest.sort_by_key(|g| std::cmp::Reverse(g.health.series));
    if !largest.is_empty() {
        write!(out, "; largest by series:")?;
        for (i, g) in largest.iter().take(LARGEST_SHOWN).enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(out, "{sep}{} {}", g.labels, g.health.series)?;
        }
    }
    writeln!(out)
}

/// Bytes as people read them: `812 B`, `3.4 KiB`, `71.2 MiB`.
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Why most skipped groups were skipped: the part of each reason after its
/// age ("not deleted: ..." for a name the gateway cannot be sent), counted.
fn most_common_skip_reason(groups: &[GroupReport]) -> Option<&str> {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for g in groups.iter().filter(|g| g.action == Action::Skipped) {
        let why = g
            .reason
            .rsplit_once("not deleted: ")
            .map_or(g.reason.as_str(), |(_, why)| why);
        match counts.iter_mut().find(|(w, _)| *w == why) {
            Some((_, n)) => *n += 1,
            None => counts.push((why, 1)),
        }
    }
    // The first of the most frequent, so the line is stable.
    let max = counts.iter().map(|(_, n)| *n).max()?;
    counts.into_iter().find(|(_, n)| *n == max).map(|(w, _)| w)
}

/// A time the report names: Unix seconds, kept as the number (what the
/// self-metrics and the plan use) and written as RFC 3339 (JSON, human
/// output) by [`rfc3339`].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Time(pub f64);

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&rfc3339(self.0))
    }
}

impl std::fmt::Display for Time {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&rfc3339(self.0))
    }
}

/// Unix seconds as RFC 3339 UTC with millisecond precision (the gateway's
/// float seconds carry no more than that).
///
/// Total: the scan refuses times outside years 1970 to 9999 (see
/// `gateway::document`), so nothing else reaches here, but a time outside
/// them (or NaN) is clamped to the nearest end rather than written in
/// another format or overflowing.
pub fn rfc3339(unix_seconds: f64) -> String {
    /// 9999-12-31T23:59:59.999Z.
    const LAST_MILLI: i128 = 253_402_300_799_999;
    // `as` saturates (NaN is 0): no overflow in the multiplication below.
    let millis = ((unix_seconds * 1000.0).round() as i128).clamp(0, LAST_MILLI);
    // Fixed width, always three fractional digits, so that times line up
    // and sort as text (`…:17.000Z`, not `…:17Z`).
    OffsetDateTime::from_unix_timestamp_nanos(millis * 1_000_000).map_or_else(
        // Within the clamp the time crate always has a date.
        |_| "9999-12-31T23:59:59.999Z".to_owned(),
        |t| {
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                t.millisecond()
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_table() {
        let e = || "why".to_owned();
        let not_stale = [
            (Verdict::Skip, Action::Skipped),
            (Verdict::Keep, Action::Kept),
            (Verdict::Active, Action::Active),
            (Verdict::Ignore, Action::Ignored),
            (Verdict::Refused, Action::Refused),
            (Verdict::Pending, Action::Pending),
        ];
        // Nothing is sent for these, whatever the outcome says or the mode.
        for (verdict, want) in not_stale {
            for dry_run in [false, true] {
                for outcome in [Outcome::NotSent, Outcome::Accepted, Outcome::Failed(e())] {
                    assert_eq!(
                        action(verdict, outcome, dry_run),
                        (want, None),
                        "{verdict:?}"
                    );
                }
            }
        }
        let stale = |outcome, dry_run| action(Verdict::Stale, outcome, dry_run);
        assert_eq!(stale(Outcome::Accepted, false), (Action::Deleted, None));
        assert_eq!(stale(Outcome::Repushed, false), (Action::Repushed, None));
        assert_eq!(
            stale(Outcome::StillPresent(e()), false),
            (Action::StillPresent, Some(e()))
        );
        assert_eq!(
            stale(Outcome::Unconfirmed(e()), false),
            (Action::Unconfirmed, Some(e()))
        );
        assert_eq!(
            stale(Outcome::Failed(e()), false),
            (Action::DeleteFailed, Some(e()))
        );
        assert_eq!(stale(Outcome::NotSent, true), (Action::WouldDelete, None));
        // A stale group that got no DELETE outside a dry run is a failure,
        // never a silent success.
        assert_eq!(
            stale(Outcome::NotSent, false),
            (Action::DeleteFailed, Some("no DELETE was sent".into()))
        );
    }

    #[test]
    fn all_lists_every_action_once_in_index_order() {
        for (i, action) in Action::ALL.into_iter().enumerate() {
            assert_eq!(action.index(), i, "{action:?}");
        }
    }

    #[test]
    fn rfc3339_rounds_to_millis() {
        assert_eq!(rfc3339(1_795_481_266.298_571_6), "2026-11-24T00:47:46.299Z");
        assert_eq!(rfc3339(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_795_481_266.0), "2026-11-24T00:47:46.000Z");
        // Never a panic, never another format (1e30 overflowed i128 nanos).
        assert_eq!(rfc3339(1e30), "9999-12-31T23:59:59.999Z");
        assert_eq!(rfc3339(f64::INFINITY), "9999-12-31T23:59:59.999Z");
        assert_eq!(rfc3339(-5.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(f64::NAN), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn action_names_match_serde() {
        for action in Action::ALL {
            assert_eq!(
                serde_json::to_value(action).unwrap(),
                serde_json::Value::from(action.name())
            );
        }
    }

    #[test]
    fn human_lines_name_the_threshold_source_and_failing_pushes() {
        let group = |action, labels: &[(&str, &str)], reason: &str, successful| GroupReport {
            health: GroupHealth {
                series: labels.len() as u64 * 100,
                bytes: 3000,
                last_push_failed: successful == Some(false),
            },
            labels: LabelSet(
                labels
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
            ),
            last_push: None,
            last_failure: Some(Time(1_795_478_400.0)),
            last_activity: None,
            age_seconds: Some(7385.0),
            threshold_seconds: Some(26.0 * 3600.0),
            last_push_successful: successful,
            action,
            reason: reason.into(),
            error: None,
            archive: None,
            threshold_source: r#"--rule '{job="backup"}=26h'"#.into(),
            ttl_ignored: None,
            stale_since: None,
            deletable_at: None,
            newly_pending: false,
        };
        let groups = vec![
            group(
                Action::WouldDelete,
                &[("job", "backup"), ("service.name", "x")],
                "",
                Some(false),
            ),
            group(
                Action::Active,
                &[("job", "b")],
                "last push 1m ago, within 26h (--threshold)",
                Some(true),
            ),
        ];
        let gw = GatewayReport {
            health: GatewayHealth::of(&groups, false),
            url: "http://a".into(),
            discovered_from: None,
            address: None,
            now: Time(0.0),
            clock: "server",
            clock_skew_seconds: None,
            error: None,
            refused: None,
            version: None,
            utf8_names: None,
            label_names: Some("legacy"),
            summary: Summary::of(&groups),
            groups,
            interrupted: false,
        };
        let report = Report::new(true, 0.0, 0.0, Some(600.0), vec![gw]);
        let mut out = Vec::new();
        report.write_human(&mut out, true, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            r#"would delete   {job="backup","service.name"="x"}  silent 2h3m5s, no push ever succeeded (threshold 26h, --rule '{job="backup"}=26h')"#
        );
        // A -v line for a group that stays does not repeat itself.
        assert_eq!(
            lines[1],
            r#"active         {job="b"}  last push 1m ago, within 26h (--threshold)"#
        );
        assert_eq!(
            lines[2],
            "http://a: 2 groups, 1 stale: 1 would be deleted; 1 active, 0 kept, 0 skipped (dry run: nothing sent)"
        );
        // -v: the size, and the largest groups by series.
        assert_eq!(
            lines[3],
            r#"http://a: size: 2 groups, 300 series, 5.9 KiB in the API; 1 failing; largest by series: {job="backup","service.name"="x"} 200, {job="b"} 100"#
        );
        // A last push that failed after one that succeeded: when that was.
        let mut failed = report.gateways[0].groups[0].clone();
        failed.last_push = Some(Time(1_795_470_000.0));
        let mut gw = report.gateways[0].clone();
        gw.groups = vec![failed];
        let mut out = Vec::new();
        Report::new(true, 0.0, 0.0, Some(600.0), vec![gw])
            .write_human(&mut out, false, false)
            .unwrap();
        assert!(String::from_utf8(out).unwrap().contains(
            "silent 2h3m5s, its last push failed (last success 2026-11-23T21:40:00.000Z)"
        ));

        // An age whole seconds would show as the threshold itself is shown
        // to the millisecond.
        let mut gw = report.gateways[0].clone();
        gw.groups.truncate(1);
        gw.groups[0].age_seconds = Some(1.3);
        gw.groups[0].threshold_seconds = Some(1.0);
        gw.groups[0].last_push_successful = Some(true);
        gw.groups[0].health.last_push_failed = false;
        let report = Report::new(true, 0.0, 0.0, Some(1.0), vec![gw]);
        let mut out = Vec::new();
        report.write_human(&mut out, false, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with(
                r#"would delete   {job="backup","service.name"="x"}  silent 1.300s (threshold 1s,"#
            ),
            "{text}"
        );
    }

    #[test]
    fn summary_counts_actions() {
        let g = |action| GroupReport {
            health: Default::default(),
            labels: LabelSet::default(),
            last_push: None,
            last_failure: None,
            last_activity: None,
            age_seconds: None,
            threshold_seconds: Some(1.0),
            last_push_successful: None,
            action,
            reason: String::new(),
            error: None,
            archive: None,
            threshold_source: "--threshold".into(),
            ttl_ignored: None,
            stale_since: None,
            deletable_at: None,
            newly_pending: false,
        };
        let s = Summary::of(&[g(Action::Deleted), g(Action::DeleteFailed), g(Action::Kept)]);
        assert_eq!(
            (
                s.groups,
                s.stale(),
                s.count(Action::Deleted),
                s.count(Action::DeleteFailed),
                s.count(Action::Kept)
            ),
            (3, 2, 1, 1, 1)
        );
    }
}
