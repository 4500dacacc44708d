//! The run report: serde structs with stable names (schema v1), and the
//! human rendering of the same data.

use std::io::{self, Write};

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use time::OffsetDateTime;

use crate::duration::{human_age, human_threshold_seconds};
use crate::exit::ExitStatus;
use crate::identity::{Discovered, GatewayId};
use crate::plan::health::Bounds;
use crate::plan::{IgnoredTtl, Outcome, Reason, Refusal, Ruling, ThresholdSource, Verdict};

mod capacity;
mod human;
mod rhythm;
mod words;
pub use capacity::{Cause, OverCapacity};
pub use rhythm::{returned_words, GroupRhythm, ReturnedReport};
use words::refusal_words;
pub use words::{
    bound_words, decision_reason, eviction_line, go_number, ignored_words, over_capacity_words,
    reason_words, words,
};

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
    /// What the run's DNS lookups resolved and found: which replicas are
    /// gone, for the textfile's counters (the JSON names each gateway's
    /// identity in `url`, `discovered_from` and `address`).
    #[serde(skip)]
    pub discovered: Discovered,
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
    #[serde(serialize_with = "refusal_words")]
    pub refused: Option<Refusal>,
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
    /// Which gateway this is from run to run; `None` for a `--url` whose
    /// lookup failed or was interrupted (it stands for no gateway). The
    /// JSON has it as `url`, `discovered_from` and `address`.
    #[serde(skip)]
    pub id: Option<GatewayId>,
}

/// How large a gateway is, and how many of its groups fail to be pushed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct GatewayHealth {
    /// What the scan found; null when the gateway was not scanned.
    pub size: Option<GatewaySize>,
    /// What is left after the pass: `size` minus the groups whose action
    /// says they are gone (`deleted`, `evicted`); in a dry run, which
    /// removes nothing, as `size`. Null when the gateway was not scanned.
    pub size_after: Option<GatewaySize>,
    /// A dry run only: what its plan would leave, `size` minus the groups
    /// it would delete or evict (`would_delete`, `would_evict`). Planned,
    /// not measured; null in a run that sends its DELETEs.
    pub planned_size_after: Option<GatewaySize>,
    /// Groups whose last push failed (`last_push_failed`).
    pub groups_failing: u64,
    /// The bound (`--max-groups`, `--max-series`) that what the pass
    /// leaves exceeds, and why ([`capacity::over_capacity`]); in the JSON,
    /// whether there is one.
    #[serde(serialize_with = "over_capacity_json")]
    pub over_capacity: Option<OverCapacity>,
    /// Groups silent longer than `--late-after` cadences (docs/rhythms.md).
    pub groups_late: u64,
    /// Groups deleted as stale by an earlier pass that were pushed again.
    pub groups_returned: u64,
}

fn over_capacity_json<S: Serializer>(
    over: &Option<OverCapacity>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_bool(over.is_some())
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
    /// the pass: what was removed is what the actions say is gone (in a
    /// dry run, what they say would go), held against `bounds`.
    pub fn of(groups: &[GroupReport], dry_run: bool, bounds: Option<&Bounds>) -> GatewayHealth {
        let size_after = GatewaySize::of(groups.iter().filter(|g| !g.action.is_gone()));
        let planned =
            dry_run.then(|| GatewaySize::of(groups.iter().filter(|g| !g.action.would_go())));
        GatewayHealth {
            size: Some(GatewaySize::of(groups)),
            size_after: Some(size_after),
            planned_size_after: planned,
            groups_failing: groups.iter().filter(|g| g.health.last_push_failed).count() as u64,
            over_capacity: bounds.and_then(|b| capacity::over_capacity(groups, dry_run, b)),
            groups_late: groups.iter().filter(|g| g.rhythm.late).count() as u64,
            groups_returned: groups
                .iter()
                .filter(|g| g.rhythm.returned.is_some())
                .count() as u64,
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

/// One group as the report has it. Its reason, threshold source and
/// ignored TTLs are the plan's typed facts, worded when written
/// ([`GroupReport::reason_words`], [`ThresholdSource`]'s `Display`).
#[derive(Debug, Clone)]
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
    pub reason: Reason,
    pub error: Option<String>,
    /// The archive file the group was written to before its DELETE was
    /// sent (`--archive`); null otherwise.
    pub archive: Option<String>,
    /// What set the threshold: `--threshold`, `--rule '...'`, or the
    /// group's own `ttl label NAME="VALUE"` / `ttl metric NAME=VALUE`, with
    /// how `--min-ttl`/`--max-ttl` moved it.
    pub threshold_source: ThresholdSource,
    /// The TTLs the group declares that were ignored; in the JSON, why
    /// (null when none was).
    pub ttl_ignored: Vec<IgnoredTtl>,
    /// With `--grace`, for a stale group: when a pass first saw it stale
    /// with its current last activity; null otherwise.
    pub stale_since: Option<Time>,
    /// For a `pending` group: from when a pass may delete it.
    pub deletable_at: Option<Time>,
    /// A `pending` group this pass was the first to see stale (what
    /// `--notify-url` announces); not in the JSON, which has `stale_since`.
    pub newly_pending: bool,
    /// A DELETE was due and never sent (the archive record could not be
    /// written, the gateway was unreachable, a second signal gave the
    /// batch up); not in the JSON, whose `error` says why.
    pub unsent: bool,
    /// Its size and whether its last push failed.
    pub health: GroupHealth,
    /// Its cadence, whether it is late, whether it returned.
    pub rhythm: GroupRhythm,
}

impl GroupReport {
    /// Its reason in words, as the JSON, the human output and the archive
    /// say it.
    pub fn reason_words(&self) -> String {
        reason_words(
            &self.reason,
            self.age_seconds,
            self.threshold_seconds,
            &self.threshold_source,
            &self.ttl_ignored,
        )
    }
}

/// A group as the JSON has it: the typed facts in words.
#[derive(Serialize)]
struct GroupJson<'a> {
    labels: &'a LabelSet,
    last_push: Option<Time>,
    last_failure: Option<Time>,
    last_activity: Option<Time>,
    age_seconds: Option<f64>,
    threshold_seconds: Option<f64>,
    last_push_successful: Option<bool>,
    action: Action,
    reason: String,
    error: Option<&'a str>,
    archive: Option<&'a str>,
    threshold_source: String,
    ttl_ignored: Option<String>,
    stale_since: Option<Time>,
    deletable_at: Option<Time>,
    #[serde(flatten)]
    health: GroupHealth,
    #[serde(flatten)]
    rhythm: GroupRhythm,
}

impl Serialize for GroupReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Every field named: a new one is a compile error here until the
        // JSON has it (or says why not).
        let GroupReport {
            labels,
            last_push,
            last_failure,
            last_activity,
            age_seconds,
            threshold_seconds,
            last_push_successful,
            action,
            reason: _,
            error,
            archive,
            threshold_source,
            ttl_ignored,
            stale_since,
            deletable_at,
            // Its `stale_since` says it.
            newly_pending: _,
            // Its `error` says it.
            unsent: _,
            health,
            rhythm,
        } = self;
        GroupJson {
            labels,
            last_push: *last_push,
            last_failure: *last_failure,
            last_activity: *last_activity,
            age_seconds: *age_seconds,
            threshold_seconds: *threshold_seconds,
            last_push_successful: *last_push_successful,
            action: *action,
            reason: self.reason_words(),
            error: error.as_deref(),
            archive: archive.as_deref(),
            threshold_source: threshold_source.to_string(),
            ttl_ignored: ignored_words(ttl_ignored),
            stale_since: *stale_since,
            deletable_at: *deletable_at,
            health: *health,
            rhythm: *rhythm,
        }
        .serialize(serializer)
    }
}

/// The actions of the report, in the order their counts are listed (the
/// summary, the self-metrics): one list, from which the enum, its names,
/// [`Action::ALL`] and every property of an action ([`Properties`]) are
/// made, so no action can be left out of any of them, and adding one
/// decides each of its properties here, in one place: the macro takes
/// every field, and `properties` is an exhaustive match. `restore` makes
/// its own actions with the first form (`enum Action { ... }`: names,
/// `ALL` and `index` alone; its outputs are its own).
macro_rules! actions {
    (enum $enum:ident { $($(#[$doc:meta])* $variant:ident => $name:literal,)* } counted in $summary:ident) => {
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

        /// Counts of groups: every group seen, and how many got each
        /// action. Keyed by the action: a new action is counted without a
        /// change here.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $summary {
            pub groups: u64,
            counts: [u64; $enum::ALL.len()],
        }

        impl $summary {
            /// How many groups got `action`.
            pub fn count(&self, action: $enum) -> u64 {
                self.counts[action.index()]
            }

            /// A summary with these counts (tests, and what is built by hand).
            pub fn with(counts: &[($enum, u64)]) -> $summary {
                let mut s = $summary::default();
                for (action, n) in counts {
                    s.groups += n;
                    s.counts[action.index()] += n;
                }
                s
            }

            /// The counts of groups that got these actions, one each.
            pub fn of_actions(actions: impl IntoIterator<Item = $enum>) -> $summary {
                let mut s = $summary::default();
                for action in actions {
                    s.groups += 1;
                    s.counts[action.index()] += 1;
                }
                s
            }

            /// Both summaries' counts added up.
            pub fn plus(mut self, o: &$summary) -> $summary {
                self.groups += o.groups;
                for (mine, theirs) in self.counts.iter_mut().zip(o.counts) {
                    *mine += theirs;
                }
                self
            }
        }
    };
    ($($(#[$doc:meta])* $variant:ident => $name:literal {
        human: $human:literal,
        stale: $stale:expr,
        failure: $failure:expr,
        notified: $notified:ident,
        grace_mark: $mark:ident,
        line: $line:ident,
        after_pass: $after:ident,
    },)*) => {
        actions! { enum Action { $($(#[$doc])* $variant => $name,)* } counted in Summary }

        impl Action {
            /// Everything the outputs do with a group of this action.
            pub fn properties(self) -> Properties {
                match self {
                    $(Action::$variant => Properties {
                        human: $human,
                        stale: $stale,
                        failure: $failure,
                        notified: NotifiedAs::$notified,
                        grace_mark: GraceMark::$mark,
                        line: Line::$line,
                        after_pass: AfterPass::$after,
                    },)*
                }
            }
        }
    };
}
pub(crate) use actions;

/// What the outputs do with a group, by its action: the action table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Properties {
    /// How the human output names it.
    pub human: &'static str,
    /// Judged silent for too long, whatever then happened to its DELETE:
    /// counted in the summaries' `stale`.
    pub stale: bool,
    /// A failed delete: the gateway's `error:` line names it and the exit
    /// status is 4 (one property, so that an exit status 4 is always
    /// explained by a line), counted in `delete_failures_total`.
    pub failure: bool,
    /// Where `--notify-url`'s document lists it.
    pub notified: NotifiedAs,
    /// What becomes of its `--grace` mark in the state the pass leaves.
    pub grace_mark: GraceMark,
    /// How the human output lists it.
    pub line: Line,
    /// Whether the gateway holds it after the pass: what `size_after` and
    /// `planned_size_after` leave out.
    pub after_pass: AfterPass,
}

/// Whether a group is on the gateway after the pass, as far as the
/// janitor knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterPass {
    /// Its DELETE landed (a re-scan no longer showed it, or `--no-verify`).
    Gone,
    /// A dry run's plan would remove it; nothing was sent.
    WouldGo,
    /// Still there: never sent, refused, failed, unconfirmed, pushed again,
    /// pending, or not stale.
    Stays,
}

/// Where the notification lists a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifiedAs {
    /// `deleted`: its DELETE was accepted.
    Deleted,
    /// `pending`: in its grace period (announced when new).
    Pending,
    /// `failed`: its DELETE failed.
    Failed,
    /// Not at all.
    Not,
}

/// What becomes of a group's `--grace` mark when a pass leaves its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraceMark {
    /// Marked, since the earliest pass that saw it stale with its current
    /// last activity: it is still on the gateway and stale (a group whose
    /// DELETE failed, was refused or is still shown was past its grace
    /// period: the next pass deletes it without a new one).
    Kept,
    /// The pass did not judge it (no `--select` of its chose it): the mark
    /// another run, with other selects, gave it stays as it was.
    Carried,
    /// Dropped: gone, pushed again, or not stale.
    Dropped,
}

/// How the human output lists a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// Always: its silence against its threshold, what set the threshold,
    /// and the error or when it becomes deletable.
    Silence,
    /// Always: `LABELS: reason`, what is wrong with it.
    Problem,
    /// With `-v` only: `LABELS: reason`.
    Unjudged,
    /// With `-v` only: `LABELS  reason`, why it stays.
    Stays,
}

actions! {
    /// Stale, the gateway accepted the DELETE (202), and (unless
    /// `--no-verify`) a later scan no longer showed the group.
    Deleted => "deleted" {
        human: "deleted",
        stale: true,
        failure: false,
        notified: Deleted,
        grace_mark: Dropped,
        line: Silence,
        after_pass: Gone,
    },
    /// Stale; a dry run sent nothing.
    WouldDelete => "would_delete" {
        human: "would delete",
        stale: true,
        failure: false,
        notified: Not,
        grace_mark: Kept,
        line: Silence,
        after_pass: WouldGo,
    },
    /// Stale, but the DELETE failed.
    DeleteFailed => "delete_failed" {
        human: "delete failed",
        stale: true,
        failure: true,
        notified: Failed,
        grace_mark: Kept,
        line: Silence,
        after_pass: Stays,
    },
    /// Protected: `--keep`, threshold `never`, or the janitor's own job.
    Kept => "kept" {
        human: "kept",
        stale: false,
        failure: false,
        notified: Not,
        grace_mark: Dropped,
        line: Stays,
        after_pass: Stays,
    },
    /// Active within its threshold: not stale.
    Active => "active" {
        human: "active",
        stale: false,
        failure: false,
        notified: Not,
        grace_mark: Dropped,
        line: Stays,
        after_pass: Stays,
    },
    /// Malformed or of unknown age; never deleted.
    Skipped => "skipped" {
        human: "skipped",
        stale: false,
        failure: false,
        notified: Not,
        grace_mark: Dropped,
        line: Problem,
        after_pass: Stays,
    },
    /// Matched by no `--select`; never deleted.
    Ignored => "ignored" {
        human: "ignored",
        stale: false,
        failure: false,
        notified: Not,
        grace_mark: Carried,
        line: Unjudged,
        after_pass: Stays,
    },
    /// Stale, but a safety cap refused this gateway's plan.
    Refused => "refused" {
        human: "refused",
        stale: true,
        failure: false,
        notified: Not,
        grace_mark: Kept,
        line: Silence,
        after_pass: Stays,
    },
    /// Stale and deleted, but pushed again before verification finished:
    /// its producer is alive.
    Repushed => "repushed" {
        human: "repushed",
        stale: true,
        failure: false,
        notified: Deleted,
        grace_mark: Dropped,
        line: Silence,
        after_pass: Stays,
    },
    /// Stale and accepted for deletion, but still shown with its old push
    /// time when the verify timeout ran out.
    StillPresent => "still_present" {
        human: "still present",
        stale: true,
        failure: true,
        notified: Failed,
        grace_mark: Kept,
        line: Silence,
        after_pass: Stays,
    },
    /// Stale and accepted for deletion, but no re-scan could confirm it in
    /// time (a slow gateway): a warning, not a failure.
    Unconfirmed => "unconfirmed" {
        human: "unconfirmed",
        stale: true,
        failure: false,
        notified: Deleted,
        grace_mark: Kept,
        line: Silence,
        after_pass: Stays,
    },
    /// Evicted by a bound on the gateway's size (`--max-groups`,
    /// `--max-series`, docs/health.md), the gateway accepted the DELETE,
    /// and (unless `--no-verify`) a later scan no longer showed the group.
    /// Counted in `stale` as every group the plan sends away is (its
    /// other outcomes are those of a stale group's DELETE).
    Evicted => "evicted" {
        human: "evicted",
        stale: true,
        failure: false,
        notified: Deleted,
        grace_mark: Dropped,
        line: Silence,
        after_pass: Gone,
    },
    /// Evicted by a bound on the gateway's size; a dry run sent nothing.
    WouldEvict => "would_evict" {
        human: "would evict",
        stale: true,
        failure: false,
        notified: Not,
        grace_mark: Kept,
        line: Silence,
        after_pass: WouldGo,
    },
    /// Stale or evicted, but inside its grace period (`--grace`): deleted
    /// by a later pass if it stays silent.
    Pending => "pending" {
        human: "pending",
        stale: true,
        failure: false,
        notified: Pending,
        grace_mark: Kept,
        line: Silence,
        after_pass: Stays,
    },
}

impl Action {
    /// Whether a group with this action was stale ([`Properties::stale`]).
    pub fn is_stale(self) -> bool {
        self.properties().stale
    }

    /// Whether it is a failed delete ([`Properties::failure`]).
    pub fn is_failure(self) -> bool {
        self.properties().failure
    }

    /// Whether a dry run's plan would remove a group with this action
    /// (what `planned_size_after` leaves out).
    pub fn would_go(self) -> bool {
        self.properties().after_pass == AfterPass::WouldGo
    }

    /// Whether a group with this action is known to be gone from the
    /// gateway after the pass (what `size_after` leaves out).
    pub fn is_gone(self) -> bool {
        self.properties().after_pass == AfterPass::Gone
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
        (Verdict::Stale, Outcome::Failed(e) | Outcome::Withheld(e)) => {
            (Action::DeleteFailed, Some(e))
        }
        (Verdict::Stale, Outcome::NotSent) if dry_run => (Action::WouldDelete, None),
        (Verdict::Stale, Outcome::NotSent) => {
            (Action::DeleteFailed, Some("no DELETE was sent".into()))
        }
        (Verdict::Evict, Outcome::Accepted) => (Action::Evicted, None),
        (Verdict::Evict, Outcome::NotSent) if dry_run => (Action::WouldEvict, None),
        // An evicted group's DELETE ends as a stale group's does.
        (Verdict::Evict, outcome) => action(Verdict::Stale, outcome, dry_run),
    }
}

/// How an action reads in the human output.
fn human(action: Action) -> &'static str {
    action.properties().human
}

impl Summary {
    /// The stale groups: every action [`Action::is_stale`] says is one.
    pub fn stale(&self) -> u64 {
        Action::ALL
            .iter()
            .filter(|a| a.is_stale())
            .map(|a| self.count(*a))
            .sum()
    }

    /// The failed deletes: every action [`Action::is_failure`] says is one.
    pub fn failures(&self) -> u64 {
        Action::ALL
            .iter()
            .filter(|a| a.is_failure())
            .map(|a| self.count(*a))
            .sum()
    }

    /// The counts of these groups' actions.
    pub fn of(groups: &[GroupReport]) -> Summary {
        Summary::of_actions(groups.iter().map(|g| g.action))
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
            .fold(Summary::default(), |acc, g| acc.plus(&g.summary));
        Report {
            schema: SCHEMA,
            dry_run,
            started_at: Time(started_at),
            finished_at: Time(finished_at),
            threshold_seconds,
            gateways,
            summary,
            unmatched_selectors: Vec::new(),
            discovered: Discovered::default(),
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
            let failed: Vec<&GroupReport> =
                gw.groups.iter().filter(|g| g.action.is_failure()).collect();
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
            } else if g.summary.failures() > 0 {
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

    /// One group of `action`, with what any action may carry.
    pub(super) fn probe(job: &str, action: Action) -> GroupReport {
        GroupReport {
            rhythm: Default::default(),
            health: Default::default(),
            labels: LabelSet(vec![("job".into(), job.into())]),
            last_push: Some(Time(100.0)),
            last_failure: None,
            last_activity: Some(Time(100.0)),
            age_seconds: Some(500.0),
            threshold_seconds: Some(60.0),
            last_push_successful: Some(true),
            action,
            reason: crate::plan::Reason::NotSelected,
            error: action.is_failure().then(|| "HTTP 500".to_owned()),
            archive: None,
            threshold_source: crate::plan::ThresholdSource::Threshold,
            ttl_ignored: Vec::new(),
            stale_since: Some(Time(400.0)),
            deletable_at: Some(Time(700.0)),
            newly_pending: true,
            unsent: false,
        }
    }

    /// A scanned gateway `http://a` holding `groups` at `now`, its health
    /// left at its default (the tests that read it set it).
    pub(super) fn scanned_gateway(groups: Vec<GroupReport>, now: f64) -> GatewayReport {
        GatewayReport {
            health: Default::default(),
            url: "http://a".into(),
            discovered_from: None,
            address: None,
            now: Time(now),
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
            id: None,
        }
    }

    fn one_gateway(groups: Vec<GroupReport>) -> Report {
        let gw = scanned_gateway(groups, 600.0);
        Report::new(false, 0.0, 600.0, Some(60.0), vec![gw])
    }

    /// Adding an action is one entry of `actions!`: each output asks the
    /// table, none groups actions by hand. A group of each action, alone
    /// on its gateway, gets from every consumer what its properties say.
    #[test]
    fn every_output_follows_the_action_table() {
        for action in Action::ALL {
            let p = action.properties();
            let report = one_gateway(vec![probe("probe", action)]);
            assert_eq!(report.summary.stale(), u64::from(p.stale), "{action:?}");
            assert_eq!(
                report.exit_status() == ExitStatus::DeleteFailed,
                p.failure,
                "{action:?}"
            );
            assert_eq!(report.summary.failures(), u64::from(p.failure));
            assert_eq!(!report.error_lines().is_empty(), p.failure, "{action:?}");
            // A deleted group beside it, so that a notification is sent.
            let report = one_gateway(vec![
                probe("probe", action),
                probe("other", Action::Deleted),
            ]);
            let n = crate::notify::notification(&report).unwrap();
            let probed = |list: &[crate::notify::Notified<'_>]| {
                list.iter().any(|g| g.labels.0[0].1 == "probe")
            };
            let listed = (probed(&n.deleted), probed(&n.pending), probed(&n.failed));
            let want = match p.notified {
                NotifiedAs::Deleted => (true, false, false),
                NotifiedAs::Pending => (false, true, false),
                NotifiedAs::Failed => (false, false, true),
                NotifiedAs::Not => (false, false, false),
            };
            assert_eq!(listed, want, "{action:?}");
            // Listed without -v when it always is; with -v, every group.
            let report = one_gateway(vec![probe("probe", action)]);
            for verbose in [false, true] {
                let mut out = Vec::new();
                report.write_human(&mut out, verbose, false).unwrap();
                let text = String::from_utf8(out).unwrap();
                let line = text.lines().find(|l| l.contains(r#"{job="probe"}"#));
                let always = matches!(p.line, Line::Silence | Line::Problem);
                assert_eq!(line.is_some(), verbose || always, "{action:?}: {text}");
                if let Some(line) = line {
                    assert!(line.starts_with(p.human), "{line}");
                    assert_eq!(
                        line.contains("  silent "),
                        p.line == Line::Silence,
                        "{line}"
                    );
                }
            }
        }
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
            rhythm: Default::default(),
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
            reason: crate::plan::Reason::Unreadable(reason.into()),
            error: None,
            archive: None,
            threshold_source: crate::plan::ThresholdSource::Rule {
                index: 0,
                written: r#"{job="backup"}=26h"#.into(),
            },
            ttl_ignored: Vec::new(),
            stale_since: None,
            deletable_at: None,
            newly_pending: false,
            unsent: false,
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
            health: GatewayHealth::of(&groups, true, None),
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
            id: None,
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
            "http://a: 2 groups, 1 stale: 1 would be deleted; 1 active, 0 kept, 0 skipped, 1 failing (dry run: nothing sent)"
        );
        // -v: the size, what the plan would leave, and the largest groups
        // it leaves by series.
        assert_eq!(
            lines[3],
            r#"http://a: size: 2 groups, 300 series, 5.9 KiB in the API; 1 failing; the plan would leave 1 group, 100 series, 2.9 KiB; largest left by series: {job="b"} 100"#
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
            rhythm: Default::default(),
            health: Default::default(),
            labels: LabelSet::default(),
            last_push: None,
            last_failure: None,
            last_activity: None,
            age_seconds: None,
            threshold_seconds: Some(1.0),
            last_push_successful: None,
            action,
            reason: crate::plan::Reason::NotSelected,
            error: None,
            archive: None,
            threshold_source: crate::plan::ThresholdSource::Threshold,
            ttl_ignored: Vec::new(),
            stale_since: None,
            deletable_at: None,
            newly_pending: false,
            unsent: false,
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
