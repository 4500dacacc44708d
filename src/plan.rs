//! Pure decisions: which groups are stale, which are protected, and whether
//! a safety cap refuses the whole plan. No I/O and no clock of its own: `now`
//! is passed in, so every age decision is testable without sleeping.

use std::time::Duration;

use crate::duration::Threshold;
use crate::group::{Entry, Group, GroupingKey, LabelNaming, Size, SkippedGroup};
pub use crate::rhythm::Cadences;
use crate::rhythm::Learned;
use crate::selector::Selector;

pub mod health;
#[cfg(test)]
mod rhythm_tests;

use health::{Bound, CountedPushes, Held};

/// A per-group threshold: the first rule whose selector matches applies.
#[derive(Debug, Clone)]
pub struct Rule {
    pub selector: Selector,
    pub threshold: Threshold,
    /// The rule as the user wrote it, for reasons.
    pub text: String,
}

/// Limits on how much one plan may delete on one gateway.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Caps {
    pub max_deletes: Option<u64>,
    /// Share of the gateway's scanned groups, 0..=1.
    pub max_delete_ratio: Option<f64>,
}

/// What decides staleness.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The fallback when no rule matches.
    pub threshold: Threshold,
    pub rules: Vec<Rule>,
    /// When not empty, only groups matching one of these are considered.
    pub select: Vec<Selector>,
    /// Groups matching one of these are never deleted.
    pub keep: Vec<Selector>,
    pub caps: Caps,
    /// The thresholds pushers may declare for their own groups.
    pub ttl: TtlPolicy,
    /// `--grace`: a stale group is first `pending`, and deleted only by a
    /// pass this long after the first that saw it stale (with the same
    /// last activity).
    pub grace: Option<Duration>,
    /// `--activity`: which pushes count as a group's activity.
    pub activity: CountedPushes,
    /// `--max-groups`/`--max-series` with `--evict-after`: off unless given.
    pub bounds: Option<health::Bounds>,
    /// `--missed-pushes N`: a group whose cadence is learned is stale after
    /// N cadences (not below `--min-ttl`); off unless given.
    pub missed_pushes: Option<u32>,
}

/// Where a group may declare its own threshold, and the operator's bounds
/// on what it declares. Both places are off unless named, so a label or a
/// metric that happens to exist never changes a decision by surprise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TtlPolicy {
    /// A grouping-key label holding a duration, `ttl="30m"` (`--ttl-label`).
    pub label: Option<String>,
    /// A gauge in the group, in seconds, `+Inf` for never (`--ttl-metric`);
    /// the scan reads its value into [`Group::ttl_metric`].
    pub metric: Option<String>,
    /// `--min-ttl`: a declared TTL shorter than this is raised to it.
    pub min: Option<Duration>,
    /// `--max-ttl`: a declared TTL longer than this (or `never`) is
    /// lowered to it.
    pub max: Option<Duration>,
}

/// The `job` of the janitor's own `--push-metrics` groups. No group of this
/// job is deleted, whatever the thresholds, rules or selectors: each is some
/// janitor's monitoring (this run's, an earlier pod's under another
/// `--metrics-instance`, another deployment's), and deleting one makes an
/// alert on its last success fire.
pub const OWN_JOB: &str = "pushgateway-janitor";

impl Policy {
    /// One threshold for every group, nothing else.
    pub fn with_threshold(threshold: Duration) -> Policy {
        Policy {
            threshold: Threshold::After(threshold),
            rules: Vec::new(),
            select: Vec::new(),
            keep: Vec::new(),
            caps: Caps::default(),
            ttl: TtlPolicy::default(),
            grace: None,
            activity: CountedPushes::Any,
            bounds: None,
            missed_pushes: None,
        }
    }
}

impl Policy {
    /// Every selector of the policy with the flag that gave it and its text
    /// as written (a rule's with its threshold), in the order a group meets
    /// them: `--select`, `--keep`, `--rule`.
    pub fn selectors(&self) -> impl Iterator<Item = (&'static str, &Selector, &str)> {
        let select = self.select.iter().map(|s| ("--select", s, s.as_str()));
        let keep = self.keep.iter().map(|s| ("--keep", s, s.as_str()));
        let rules = self
            .rules
            .iter()
            .map(|r| ("--rule", &r.selector, r.text.as_str()));
        select.chain(keep).chain(rules)
    }
}

/// A selector of the policy that matched no group.
#[derive(Debug, Clone, Copy)]
pub struct Unmatched<'a> {
    pub flag: &'static str,
    pub selector: &'a Selector,
    /// As the user wrote it (a rule with its threshold).
    pub written: &'a str,
}

/// The selectors of `policy` that match none of `keys` (every group a run
/// saw, on all its gateways), each once however often it was given. One
/// that matches nothing is most often a typo, and a `--keep` with a typo
/// protects nothing.
pub fn unmatched<'a, 'k>(
    policy: &'a Policy,
    keys: impl IntoIterator<Item = &'k GroupingKey>,
) -> Vec<Unmatched<'a>> {
    let mut pending: Vec<Unmatched<'a>> = Vec::new();
    for (flag, selector, written) in policy.selectors() {
        if !pending
            .iter()
            .any(|u| u.flag == flag && u.written == written)
        {
            pending.push(Unmatched {
                flag,
                selector,
                written,
            });
        }
    }
    for key in keys {
        if pending.is_empty() {
            break;
        }
        pending.retain(|u| !u.selector.matches(key));
    }
    pending
}

/// What the plan says to do with one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Silent for longer than its threshold: delete.
    Stale,
    /// Not stale, but a bound on the gateway's size (`--max-groups`,
    /// `--max-series`) evicts it: delete, as a stale group.
    Evict,
    /// Stale or evicted, but a safety cap refused this gateway's plan:
    /// nothing is sent.
    Refused,
    /// Stale or evicted, but inside its grace period (`--grace`): not
    /// deleted yet.
    Pending,
    /// Protected: `--keep`, threshold `never`, or the janitor's own job.
    Keep,
    /// Active within its threshold.
    Active,
    /// Not matched by any `--select`.
    Ignore,
    /// Cannot be judged or addressed safely; never deleted.
    Skip,
}

impl Verdict {
    /// Whether the plan deletes the group: stale or evicted.
    pub fn deletes(self) -> bool {
        matches!(self, Verdict::Stale | Verdict::Evict)
    }
}

/// The decision about one scanned entry. Its reason, where its threshold
/// came from and the TTLs it ignored are typed facts; `report` words them.
#[derive(Debug, Clone)]
pub struct Decision {
    pub subject: Subject,
    pub verdict: Verdict,
    /// The group's last activity as `--activity` counts it (Unix seconds;
    /// [`CountedPushes::last_activity`]), when known: the one time every
    /// output, the archive, the grace mark and verification read, so that
    /// none of them counts another push than the plan did.
    pub last_activity: Option<f64>,
    /// Seconds since `last_activity` (`now - last_activity`), for a group
    /// the plan judged.
    pub age_seconds: Option<f64>,
    pub threshold: Threshold,
    /// What set the threshold.
    pub threshold_source: ThresholdSource,
    /// The TTLs the group declares that were not used (label first): the
    /// rules decided instead.
    pub ttl_ignored: Vec<IgnoredTtl>,
    pub reason: Reason,
    /// With `--grace`, for a stale group: its place in the grace period.
    pub grace: Option<Grace>,
}

/// Where a group's threshold came from.
#[derive(Debug, Clone, PartialEq)]
pub enum ThresholdSource {
    /// `--threshold`, the fallback (also for groups never judged).
    Threshold,
    /// The first `--rule` whose selector matched: its place among the
    /// rules (0 first) and the rule as written.
    Rule { index: usize, written: String },
    /// A TTL the group declares, and how `--min-ttl`/`--max-ttl` moved it.
    Ttl {
        declared: Declared,
        bounded: Option<Bounded>,
    },
    /// `--missed-pushes`: `missed` times the group's learned cadence, and
    /// the `--min-ttl` it was raised to, if it was.
    Rhythm {
        missed: u32,
        cadence: crate::rhythm::Learned,
        raised_to_min: Option<Duration>,
    },
}

/// A TTL a group declares, where and as it declares it.
#[derive(Debug, Clone, PartialEq)]
pub enum Declared {
    /// Its `--ttl-label` label, `name="value"` as pushed.
    Label { name: String, value: String },
    /// Its `--ttl-metric` gauge and the gauge's value, in seconds.
    Metric { name: String, value: f64 },
}

/// How the operator's bounds moved a declared TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bounded {
    /// Shorter than `--min-ttl`: raised to it.
    RaisedToMin(Duration),
    /// Longer than `--max-ttl` (or `never`): lowered to it.
    LoweredToMax(Duration),
}

/// A TTL the group declares that was not used, and why.
#[derive(Debug, Clone, PartialEq)]
pub enum IgnoredTtl {
    /// The label's value is not a threshold: the duration reader's words.
    Label {
        name: String,
        value: String,
        why: String,
    },
    /// The gauge's value is not a TTL.
    Metric {
        name: String,
        value: f64,
        why: NotATtl,
    },
    /// The metric is not one gauge value: the scan's words.
    MetricUnread { name: String, why: String },
}

/// Why a gauge's value is not a TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotATtl {
    NaN,
    /// Zero, negative, or under a nanosecond: every group stale at once.
    NotPositive,
}

/// Why an entry got its verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// An entry of the scan that is no group it can judge: the scan's words.
    Unreadable(String),
    /// Matched by no `--select`.
    NotSelected,
    /// No push time, failure time or family time stamp: the age is unknown.
    AgeUnknown,
    /// `--activity successful`, and no push ever succeeded: the age is
    /// unknown.
    NoSuccessfulPush,
    /// Judged by its last activity (its age is the decision's).
    Judged { activity: Activity, ruling: Ruling },
}

impl Reason {
    /// The eviction this reason records, whatever then came of it (evicted,
    /// pending, refused, failed); `None` for a group no bound took. What
    /// the human lines, the summary and the notification all read.
    pub fn eviction(&self) -> Option<Eviction> {
        match self {
            Reason::Judged {
                ruling:
                    Ruling::Evicted {
                        bound,
                        held,
                        evict_after,
                        ..
                    },
                ..
            } => Some(Eviction {
                bound: *bound,
                held: *held,
                evict_after: *evict_after,
            }),
            _ => None,
        }
    }
}

/// What a bound did to a group, as the plan decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Eviction {
    pub bound: Bound,
    /// What the gateway would hold of that bound once the stale groups go.
    pub held: u64,
    /// `--evict-after`.
    pub evict_after: Duration,
}

/// Which of a group's times is its last activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// Its last push, which succeeded.
    Push,
    /// A failed push, later than its last successful one.
    FailedPush,
    /// A failed push; no push ever succeeded.
    FailedPushOnly,
    /// Neither time is known: its newest metric family time stamp.
    FamilyTimestamp,
    /// Its last successful push: `--activity successful` counts no other.
    SuccessfulPush,
}

/// What the policy made of a group's age.
#[derive(Debug, Clone, PartialEq)]
pub enum Ruling {
    /// The janitor's own `--push-metrics` job ([`OWN_JOB`]): never deleted.
    OwnJob,
    /// Protected by this `--keep`, as written.
    Kept(String),
    /// Its threshold is `never`.
    Never,
    /// Silent within its threshold.
    Active,
    /// Silent longer than its threshold.
    Stale {
        /// With `--grace`: where it is in its grace period.
        grace: Option<GraceNote>,
        /// A safety cap refused the plan: nothing is sent.
        refused: Option<Refusal>,
    },
    /// Within its threshold, but silent at least `--evict-after` while the
    /// gateway would hold more than a bound once the stale groups go: the
    /// group silent longest goes first (`health::evict`).
    Evicted {
        /// The bound it was evicted for.
        bound: Bound,
        /// What the gateway would hold of that bound (groups or series)
        /// once the stale groups are gone, before any eviction.
        held: u64,
        /// `--evict-after`.
        evict_after: Duration,
        /// With `--grace`: where it is in its grace period.
        grace: Option<GraceNote>,
        /// A safety cap refused the plan: nothing is sent.
        refused: Option<Refusal>,
    },
    /// Silent longer than its threshold, but not deleted: its grouping key
    /// cannot be sent to this gateway (the words of `group`).
    Unaddressable(String),
}

/// A stale group against its grace period (`--grace`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GraceNote {
    /// Inside it: deletable in `left` seconds.
    Pending { period: Duration, left: f64 },
    /// Past it: first seen stale `stale_for` seconds ago.
    Past { period: Duration, stale_for: f64 },
}

/// Which safety cap refused a gateway's plan, and by how much.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Refusal {
    /// `--max-deletes`: the plan deletes `stale` groups.
    MaxDeletes { max: u64, stale: u64 },
    /// `--max-delete-ratio`: `stale` of the `considered` groups.
    MaxDeleteRatio {
        max: f64,
        stale: u64,
        considered: u64,
    },
}

/// A stale group's place in its grace period (`--grace`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grace {
    /// When a pass first saw it stale with its current last activity
    /// (Unix seconds, on the clock of the plan that saw it).
    pub stale_since: f64,
    /// `stale_since` + the grace period: a pass from then on deletes it.
    pub deletable_at: f64,
    /// This pass is the first to see it stale (it was not pending before).
    pub new: bool,
}

/// What an earlier pass remembered of a group it saw stale on a gateway:
/// the state `--grace` carries from pass to pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mark {
    pub stale_since: f64,
    /// Its last activity then: a group whose last activity changed has
    /// been pushed since, and its grace period starts again.
    pub last_activity: Option<f64>,
}

/// The marks of one gateway, by exact grouping key.
pub type Marks = std::collections::BTreeMap<GroupingKey, Mark>;

#[derive(Debug, Clone)]
pub enum Subject {
    Group(Group),
    Skipped(SkippedGroup),
}

impl Subject {
    /// Its size as the scan measured it (a skipped entry's too: it stays
    /// on the gateway, and counts towards the bounds).
    pub fn size(&self) -> Size {
        match self {
            Subject::Group(g) => g.size,
            Subject::Skipped(s) => s.size,
        }
    }
}

/// Every entry of a scan with its decision, sorted: groups by grouping key
/// (job first), then the skipped ones by their labels.
#[derive(Debug, Clone)]
pub struct Plan {
    pub decisions: Vec<Decision>,
    /// Which cap refused the plan; then no group is `Stale` or `Evict`.
    pub refused_by: Option<Refusal>,
}

impl Plan {
    /// The groups the plan deletes: stale or evicted.
    pub fn stale(&self) -> impl Iterator<Item = &Decision> {
        self.decisions.iter().filter(|d| d.verdict.deletes())
    }
}

/// The naming mode a pass works in: what the gateway's status says
/// (`utf8_names`: the flag's value, `None` before 1.11, which reads names
/// literally); when the status could not be read, the one given
/// (`--label-names`), else `Unknown`. A given mode that the status
/// contradicts is `Unknown` too: one of the two is wrong, and a path
/// spelled for the wrong mode can name another group, so only names that
/// read the same in both modes are sent.
pub fn label_naming(
    configured: Option<LabelNaming>,
    status: Result<Option<bool>, ()>,
) -> LabelNaming {
    match (configured, status) {
        (None, Ok(utf8_names)) => LabelNaming::from_flag(utf8_names),
        (Some(given), Ok(utf8_names)) if given == LabelNaming::from_flag(utf8_names) => given,
        (Some(_), Ok(_)) => LabelNaming::Unknown,
        (Some(given), Err(())) => given,
        (None, Err(())) => LabelNaming::Unknown,
    }
}

/// Decides every entry of one gateway's scan. `now` is Unix seconds;
/// `naming` is how this gateway reads label names (a stale group it cannot
/// address is skipped, never deleted under another name).
pub fn decide(entries: Vec<Entry>, policy: &Policy, now: f64, naming: LabelNaming) -> Plan {
    decide_marked(entries, policy, now, naming, &Marks::new())
}

/// [`decide`], with what earlier passes remembered of this gateway's stale
/// groups (`--grace`): a stale group is deleted only when `marks` holds it
/// with the same last activity, seen stale at least the grace period
/// before `now`; else it is `Pending`. A cap counts only the groups that
/// would go now.
pub fn decide_marked(
    entries: Vec<Entry>,
    policy: &Policy,
    now: f64,
    naming: LabelNaming,
    marks: &Marks,
) -> Plan {
    decide_learned(entries, policy, now, naming, marks, &Cadences::new())
}

/// [`decide_marked`], with each group's cadence as the passes learned it
/// (`rhythm`): with `--missed-pushes`, a group whose cadence is learned
/// and that no TTL or `--rule` sets is judged by it.
pub fn decide_learned(
    entries: Vec<Entry>,
    policy: &Policy,
    now: f64,
    naming: LabelNaming,
    marks: &Marks,
    cadences: &Cadences,
) -> Plan {
    let mut decisions: Vec<Decision> = entries
        .into_iter()
        .map(|entry| match entry {
            Entry::Group(group) => {
                let cadence = cadences.get(&group.key).and_then(|c| c.learned());
                decide_group(group, policy, now, naming, cadence)
            }
            Entry::Skipped(skipped) => Decision {
                threshold_source: ThresholdSource::Threshold,
                ttl_ignored: Vec::new(),
                grace: None,
                reason: Reason::Unreadable(skipped.reason.clone()),
                subject: Subject::Skipped(skipped),
                verdict: Verdict::Skip,
                last_activity: None,
                age_seconds: None,
                threshold: policy.threshold,
            },
        })
        .collect();
    decisions.sort_by(|a, b| match (&a.subject, &b.subject) {
        (Subject::Group(x), Subject::Group(y)) => x.key.cmp(&y.key),
        (Subject::Group(_), Subject::Skipped(_)) => std::cmp::Ordering::Less,
        (Subject::Skipped(_), Subject::Group(_)) => std::cmp::Ordering::Greater,
        (Subject::Skipped(x), Subject::Skipped(y)) => x.labels.cmp(&y.labels),
    });
    if let Some(bounds) = policy.bounds {
        apply_bounds(&mut decisions, &bounds, naming);
    }
    if let Some(grace) = policy.grace {
        for d in decisions.iter_mut() {
            apply_grace(d, grace, now, marks);
        }
    }
    let refused_by = cap_exceeded(&decisions, policy.caps, naming);
    if let Some(why) = refused_by {
        for d in decisions.iter_mut().filter(|d| d.verdict.deletes()) {
            d.verdict = Verdict::Refused;
            if let Reason::Judged {
                ruling: Ruling::Stale { refused, .. } | Ruling::Evicted { refused, .. },
                ..
            } = &mut d.reason
            {
                *refused = Some(why);
            }
        }
    }
    Plan {
        decisions,
        refused_by,
    }
}

/// Evicts while what the gateway would hold once the stale groups go
/// exceeds a bound ([`health::evict`]). Every entry not stale is held
/// (ignored, kept and skipped ones too: they stay on the gateway), and
/// only an active group may be evicted: never a kept one, the janitor's
/// own job, an ignored or a skipped one. What the pass leaves over a
/// bound is the report's to say (`report::OverCapacity`).
fn apply_bounds(decisions: &mut [Decision], bounds: &health::Bounds, naming: LabelNaming) {
    let at: Vec<usize> = (0..decisions.len())
        .filter(|&i| decisions[i].verdict != Verdict::Stale)
        .collect();
    let held: Vec<Held> = at
        .iter()
        .map(|&i| {
            let d = &decisions[i];
            Held {
                series: d.subject.size().series,
                silent_for: d.age_seconds,
                // Active, and a DELETE can name it (an active group is not
                // checked for that otherwise).
                evictable: d.verdict == Verdict::Active && addressable(d, naming),
            }
        })
        .collect();
    let groups = held.len() as u64;
    let series: u64 = held.iter().map(|h| h.series).sum();
    let evictions = health::evict(&held, bounds);
    for (j, bound) in evictions.evicted {
        let d = &mut decisions[at[j]];
        d.verdict = Verdict::Evict;
        if let Reason::Judged { ruling, .. } = &mut d.reason {
            *ruling = Ruling::Evicted {
                bound,
                held: match bound {
                    Bound::Groups(_) => groups,
                    Bound::Series(_) => series,
                },
                evict_after: bounds.evict_after,
                grace: None,
                refused: None,
            };
        }
    }
}

/// Holds back a stale group inside its grace period: `Pending` until a
/// pass at least `grace` after the first that saw it stale with the same
/// last activity. A mark from the future (a clock that went back) starts
/// the period again rather than shorten it.
fn apply_grace(d: &mut Decision, grace: Duration, now: f64, marks: &Marks) {
    let Subject::Group(g) = &d.subject else {
        return;
    };
    if !d.verdict.deletes() {
        return;
    }
    let last = d.last_activity;
    let (stale_since, new) = match marks.get(&g.key) {
        Some(m) if m.last_activity == last && m.stale_since <= now => (m.stale_since, false),
        _ => (now, true),
    };
    let deletable_at = stale_since + grace.as_secs_f64();
    d.grace = Some(Grace {
        stale_since,
        deletable_at,
        new,
    });
    let note = if now < deletable_at {
        d.verdict = Verdict::Pending;
        GraceNote::Pending {
            period: grace,
            left: deletable_at - now,
        }
    } else {
        GraceNote::Past {
            period: grace,
            stale_for: now - stale_since,
        }
    };
    if let Reason::Judged {
        ruling: Ruling::Stale { grace, .. } | Ruling::Evicted { grace, .. },
        ..
    } = &mut d.reason
    {
        *grace = Some(note);
    }
}

/// Whether a DELETE can name the group in this naming mode: an entry of
/// the scan that is a group, whose grouping key the gateway reads as it is
/// sent (`GroupingKey::unaddressable`).
fn addressable(d: &Decision, naming: LabelNaming) -> bool {
    matches!(&d.subject, Subject::Group(g) if g.key.unaddressable(naming).is_none())
}

/// Whether `--max-delete-ratio` counts the group as considered: selected
/// (a `--select` chose it, all without one), judged (not skipped: its age
/// is known, or it is protected) and addressable ([`addressable`]). The
/// one definition the cap, its refusal's words and the docs use: an
/// ignored, skipped or unnameable group would only water the ratio down
/// (2 stale of 2 selected is 100%, whatever else the gateway holds), and
/// no DELETE of this plan could ever be sent to one.
pub fn considered(d: &Decision, naming: LabelNaming) -> bool {
    !matches!(d.verdict, Verdict::Ignore | Verdict::Skip) && addressable(d, naming)
}

/// Which cap, if any, the plan's deletions exceed. The ratio is over the
/// groups [`considered`].
fn cap_exceeded(decisions: &[Decision], caps: Caps, naming: LabelNaming) -> Option<Refusal> {
    // Evictions count as deletions: a cap bounds what one pass removes.
    let stale = decisions.iter().filter(|d| d.verdict.deletes()).count() as u64;
    let considered = decisions.iter().filter(|d| considered(d, naming)).count() as u64;
    if let Some(max) = caps.max_deletes {
        if stale > max {
            return Some(Refusal::MaxDeletes { max, stale });
        }
    }
    if let Some(max) = caps.max_delete_ratio {
        // stale/considered against max, not stale against max*considered:
        // the product rounds (29 > 0.58 * 50.0 is true), and at the cap
        // exactly the plan must go ahead.
        if stale > 0 && stale as f64 / considered as f64 > max {
            return Some(Refusal::MaxDeleteRatio {
                max,
                stale,
                considered,
            });
        }
    }
    None
}

/// A group's threshold and what set it.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub threshold: Threshold,
    /// As [`Decision::threshold_source`].
    pub source: ThresholdSource,
    /// As [`Decision::ttl_ignored`].
    pub ttl_ignored: Vec<IgnoredTtl>,
}

/// The threshold of `group`, by precedence: a TTL the group declares (its
/// `--ttl-label` label, then its `--ttl-metric` gauge), bounded by
/// `--min-ttl`/`--max-ttl`; else the first matching `--rule`; else
/// `--threshold`. A declared value that is not a usable TTL is ignored,
/// with the reason, and the next in line decides: never a delete because of
/// a bad TTL. One longer than a `Duration` holds is `never`, as a label and
/// as a gauge. (`--keep` and the janitor's own job come before all of
/// this: they keep a group whatever its threshold.)
pub fn threshold_for(group: &Group, policy: &Policy) -> Applied {
    threshold_learned(group, policy, None)
}

/// [`threshold_for`], with the group's learned cadence: `--missed-pushes`
/// comes after a declared TTL and a matching `--rule`, before
/// `--threshold`; a group still learning keeps `--threshold`.
pub fn threshold_learned(group: &Group, policy: &Policy, cadence: Option<Learned>) -> Applied {
    let ttl = &policy.ttl;
    let mut ignored: Vec<IgnoredTtl> = Vec::new();
    let label = ttl.label.as_deref().and_then(|name| {
        // An empty value is no label: the gateway shows `ttl=""` for a
        // key without it as well.
        let (_, value) = group
            .key
            .iter()
            .find(|(n, v)| *n == name && !v.is_empty())?;
        let (name, value) = (name.to_owned(), value.to_owned());
        Some(match crate::duration::parse_declared_ttl(&value) {
            Ok(threshold) => Ok((Declared::Label { name, value }, threshold)),
            Err(why) => Err(IgnoredTtl::Label { name, value, why }),
        })
    });
    let metric = ttl.metric.as_deref().and_then(|name| {
        let name = name.to_owned();
        Some(match group.ttl_metric.as_ref()? {
            Ok(value) => match declared_seconds(*value) {
                Ok(threshold) => Ok((
                    Declared::Metric {
                        name,
                        value: *value,
                    },
                    threshold,
                )),
                Err(why) => Err(IgnoredTtl::Metric {
                    name,
                    value: *value,
                    why,
                }),
            },
            Err(why) => Err(IgnoredTtl::MetricUnread {
                name,
                why: why.clone(),
            }),
        })
    });
    for declared in label.into_iter().chain(metric) {
        match declared {
            Ok((declared, threshold)) => {
                let (threshold, bounded) = bound(threshold, ttl);
                return Applied {
                    threshold,
                    source: ThresholdSource::Ttl { declared, bounded },
                    ttl_ignored: ignored,
                };
            }
            Err(why) => ignored.push(why),
        }
    }
    let (threshold, source) = match policy
        .rules
        .iter()
        .enumerate()
        .find(|(_, r)| r.selector.matches(&group.key))
    {
        Some((index, rule)) => (
            rule.threshold,
            ThresholdSource::Rule {
                index,
                written: rule.text.clone(),
            },
        ),
        None => match (policy.missed_pushes, cadence) {
            (Some(missed), Some(cadence)) => missed_pushes(missed, cadence, ttl.min),
            _ => (policy.threshold, ThresholdSource::Threshold),
        },
    };
    Applied {
        threshold,
        source,
        ttl_ignored: ignored,
    }
}

/// `missed` cadences, not below `--min-ttl` (as a declared TTL).
fn missed_pushes(
    missed: u32,
    cadence: Learned,
    min: Option<Duration>,
) -> (Threshold, ThresholdSource) {
    let after =
        Duration::try_from_secs_f64(cadence.seconds * f64::from(missed)).unwrap_or(Duration::MAX);
    let (after, raised_to_min) = match min {
        Some(min) if after < min => (min, Some(min)),
        _ => (after, None),
    };
    let source = ThresholdSource::Rhythm {
        missed,
        cadence,
        raised_to_min,
    };
    (Threshold::After(after), source)
}

/// A gauge's value as a TTL: seconds greater than zero, `+Inf` for never.
fn declared_seconds(v: f64) -> Result<Threshold, NotATtl> {
    if v.is_nan() {
        Err(NotATtl::NaN)
    } else if v <= 0.0 {
        Err(NotATtl::NotPositive)
    } else {
        // Past what a Duration holds (some 584 billion years) is never too.
        match Duration::try_from_secs_f64(v) {
            // Under a nanosecond rounds to zero: every group stale at once.
            Ok(d) if d.is_zero() => Err(NotATtl::NotPositive),
            Ok(d) => Ok(Threshold::After(d)),
            Err(_) => Ok(Threshold::Never),
        }
    }
}

/// `threshold` within `--min-ttl` and `--max-ttl`, and how it was moved.
fn bound(threshold: Threshold, ttl: &TtlPolicy) -> (Threshold, Option<Bounded>) {
    match (threshold, ttl.min, ttl.max) {
        (Threshold::Never, _, Some(max)) => {
            (Threshold::After(max), Some(Bounded::LoweredToMax(max)))
        }
        (Threshold::After(d), _, Some(max)) if d > max => {
            (Threshold::After(max), Some(Bounded::LoweredToMax(max)))
        }
        (Threshold::After(d), Some(min), _) if d < min => {
            (Threshold::After(min), Some(Bounded::RaisedToMin(min)))
        }
        (threshold, _, _) => (threshold, None),
    }
}

fn decide_group(
    group: Group,
    policy: &Policy,
    now: f64,
    naming: LabelNaming,
    cadence: Option<Learned>,
) -> Decision {
    let (activity, last_activity) = policy.activity.counted(&group);
    if !policy.select.is_empty() && !policy.select.iter().any(|s| s.matches(&group.key)) {
        return Decision {
            subject: Subject::Group(group),
            verdict: Verdict::Ignore,
            last_activity,
            age_seconds: None,
            threshold: policy.threshold,
            threshold_source: ThresholdSource::Threshold,
            ttl_ignored: Vec::new(),
            reason: Reason::NotSelected,
            grace: None,
        };
    }
    let Applied {
        threshold,
        source,
        ttl_ignored,
    } = threshold_learned(&group, policy, cadence);
    let age = last_activity.map(|last| now - last);
    let decision = |group, verdict, reason| Decision {
        subject: Subject::Group(group),
        verdict,
        last_activity,
        age_seconds: age,
        threshold,
        threshold_source: source.clone(),
        ttl_ignored: ttl_ignored.clone(),
        reason,
        grace: None,
    };
    let judged = |ruling| Reason::Judged { activity, ruling };
    // Protection comes before any age (docs/policy.md's order): a kept
    // group is kept whether or not its age is known.
    if group.key.job() == OWN_JOB {
        return decision(group, Verdict::Keep, judged(Ruling::OwnJob));
    }
    if let Some(keep) = policy.keep.iter().find(|s| s.matches(&group.key)) {
        let ruling = Ruling::Kept(keep.as_str().to_owned());
        return decision(group, Verdict::Keep, judged(ruling));
    }
    let limit = match threshold {
        Threshold::Never => return decision(group, Verdict::Keep, judged(Ruling::Never)),
        Threshold::After(limit) => limit,
    };
    let Some(age) = age else {
        let reason = match policy.activity {
            CountedPushes::Any => Reason::AgeUnknown,
            CountedPushes::Successful => Reason::NoSuccessfulPush,
        };
        return decision(group, Verdict::Skip, reason);
    };
    // A time ahead of the clock (a gateway clock that jumped back, a data
    // file from elsewhere) is active.
    let (verdict, ruling) = if age > limit.as_secs_f64() {
        // Only a group that would go is skipped for its names: a fresh
        // one is left alone without a warning.
        match group.key.unaddressable(naming) {
            Some(why) => (Verdict::Skip, Ruling::Unaddressable(why)),
            None => (
                Verdict::Stale,
                Ruling::Stale {
                    grace: None,
                    refused: None,
                },
            ),
        }
    } else {
        (Verdict::Active, Ruling::Active)
    };
    decision(group, verdict, judged(ruling))
}

/// What a re-scan says about a group whose DELETE was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterDelete {
    /// No longer shown.
    Gone,
    /// Shown with another last activity than the plan saw ([`after_delete`]):
    /// pushed again, its producer is alive.
    Repushed,
    /// Shown as before: the queued delete has not landed (yet).
    Pending,
    /// Not shown as a group, but the re-scan holds an entry it could not
    /// read that might be this group pushed again
    /// ([`crate::group::SkippedGroup::might_hide`]):
    /// neither gone nor shown; unconfirmed unless a later re-scan tells.
    Unreadable,
}

/// How a re-scan shows a group whose DELETE was accepted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sighting {
    /// As a group, with its last activity counted as the plan counts it.
    Shown(Option<f64>),
    /// Not as a group, but an entry the scan could not read might be it.
    MaybeUnreadable,
    /// Nowhere.
    Absent,
}

/// What became of a stale group's DELETE, as `run` and `verify` saw it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// No DELETE was sent (a dry run, or not stale).
    NotSent,
    /// Accepted (202) and, when verified, gone.
    Accepted,
    /// The DELETE failed: why.
    Failed(String),
    /// The DELETE was due and not sent (its archive record could not be
    /// written, the gateway was unreachable): why.
    Withheld(String),
    /// Accepted, then shown with newer activity: pushed again.
    Repushed,
    /// Accepted, but still shown with its old activity: why.
    StillPresent(String),
    /// Accepted, but no re-scan could tell in time: why.
    Unconfirmed(String),
}

/// Where "now" comes from when ages are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockSource {
    /// The `Date` header of the scan response: ages on the gateway's own
    /// clock, immune to a wrong or jumping local clock.
    Server,
    /// This host's clock.
    Local,
}

/// The time a plan is made against, and which clock gave it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Now {
    pub seconds: f64,
    /// `server` or `local`, as the report names it.
    pub clock: &'static str,
    /// The server clock was asked for, but the scan had no usable `Date`.
    pub fell_back: bool,
}

/// The clock choice: the gateway's `Date` (`server`, Unix seconds) when
/// asked for and present, else the local clock.
pub fn choose_clock(source: ClockSource, server: Option<f64>, local: f64) -> Now {
    match (source, server) {
        (ClockSource::Server, Some(s)) => Now {
            seconds: s,
            clock: "server",
            fell_back: false,
        },
        (ClockSource::Server, None) => Now {
            seconds: local,
            clock: "local",
            fell_back: true,
        },
        (ClockSource::Local, _) => Now {
            seconds: local,
            clock: "local",
            fell_back: false,
        },
    }
}

/// What a group still pending when verification ends means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unresolved {
    /// A re-scan inside the window (after the first, which may come right
    /// after the DELETE, before the queued delete lands) still showed it.
    StillShown,
    /// No such re-scan finished: the gateway is slow, not failing.
    NotConfirmed,
}

/// `completed`: how many verification scans finished. The first shows the
/// state right after the DELETEs, when a queued delete may not have landed;
/// only a later one that still shows the group is evidence of a failure.
pub fn unresolved(completed: u32) -> Unresolved {
    if completed >= 2 {
        Unresolved::StillShown
    } else {
        Unresolved::NotConfirmed
    }
}

/// Judges one group after its DELETE: `before` is the last activity the
/// plan judged it by, `seen` how the re-scan shows it. A last activity
/// that changed is a push since: only a DELETE that landed takes a group's
/// last successful push away (a failed push then shows the group again
/// without one, under `--activity successful`), and any other change is a
/// newer push. A group is gone only when no entry of the re-scan might be
/// it: one the scan could not read is on the gateway, as for a clean.
pub fn after_delete(before: Option<f64>, seen: Sighting) -> AfterDelete {
    match seen {
        Sighting::Absent => AfterDelete::Gone,
        Sighting::MaybeUnreadable => AfterDelete::Unreadable,
        Sighting::Shown(now) if now != before => AfterDelete::Repushed,
        Sighting::Shown(_) => AfterDelete::Pending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::GroupingKey;

    /// The reason in the report's words.
    fn words(d: &Decision) -> String {
        crate::report::decision_reason(d)
    }

    /// The ignored TTLs in the report's words.
    fn ignored(d: &Decision) -> Option<String> {
        crate::report::ignored_words(&d.ttl_ignored)
    }

    fn group(job: &str, push: Option<f64>, failure: Option<f64>) -> Entry {
        Entry::Group(Group {
            key: GroupingKey::new([("job", job)]).unwrap(),
            last_push: push,
            last_failure: failure,
            newest_family_time: None,
            last_push_successful: None,
            ttl_metric: None,
            size: Default::default(),
        })
    }

    fn policy(secs: u64) -> Policy {
        Policy::with_threshold(Duration::from_secs(secs))
    }

    #[test]
    fn every_group_of_the_janitors_own_job_is_kept_however_stale() {
        let mut p = policy(60);
        // Neither a rule nor a selector changes it.
        p.rules = vec![rule(
            r#"{job=~".+"}"#,
            Threshold::After(Duration::from_secs(1)),
        )];
        p.select = vec![sel(r#"{job=~"pushgateway-.*"}"#)];
        let key = |pairs: &[(&str, &str)]| {
            Entry::Group(Group {
                key: GroupingKey::new(pairs.iter().copied()).unwrap(),
                last_push: Some(0.0),
                last_failure: None,
                newest_family_time: None,
                last_push_successful: None,
                ttl_metric: None,
                size: Default::default(),
            })
        };
        let plan = decide(
            vec![
                key(&[("job", OWN_JOB)]),
                key(&[("job", OWN_JOB), ("instance", "old-pod")]),
                key(&[("job", "pushgateway-janitor-2")]),
            ],
            &p,
            1e9,
            LabelNaming::Legacy,
        );
        for own in &plan.decisions[..2] {
            assert_eq!(own.verdict, Verdict::Keep);
            assert!(
                words(own).ends_with(
                    r#"job="pushgateway-janitor" is the janitor's own --push-metrics job, never deleted"#
                ),
                "{}",
                words(own)
            );
        }
        // Only that exact job.
        assert_eq!(plan.decisions[2].verdict, Verdict::Stale);
    }

    fn verdicts(plan: &Plan) -> Vec<(String, Verdict)> {
        plan.decisions
            .iter()
            .map(|d| match &d.subject {
                Subject::Group(g) => (g.key.job().to_owned(), d.verdict),
                Subject::Skipped(s) => (s.reason.clone(), d.verdict),
            })
            .collect()
    }

    #[test]
    fn stale_only_when_strictly_older_than_threshold() {
        let plan = decide(
            vec![
                group("old", Some(1000.0), None),
                group("edge", Some(1400.0), None),
                group("new", Some(1599.0), None),
            ],
            &policy(200),
            1600.0,
            LabelNaming::Legacy,
        );
        assert_eq!(
            verdicts(&plan),
            vec![
                ("edge".into(), Verdict::Active),
                ("new".into(), Verdict::Active),
                ("old".into(), Verdict::Stale),
            ]
        );
        assert_eq!(
            words(&plan.decisions[2]),
            "last push 10m ago, longer than 3m20s (--threshold)"
        );
    }

    #[test]
    fn failing_pushes_keep_a_group_alive() {
        let plan = decide(
            vec![group("failing", None, Some(1590.0))],
            &policy(60),
            1600.0,
            LabelNaming::Legacy,
        );
        assert_eq!(plan.decisions[0].verdict, Verdict::Active);
        assert!(words(&plan.decisions[0]).contains("no push ever succeeded"));
    }

    #[test]
    fn a_later_failure_counts_over_an_old_push() {
        let plan = decide(
            vec![group("j", Some(10.0), Some(1590.0))],
            &policy(60),
            1600.0,
            LabelNaming::Legacy,
        );
        assert_eq!(plan.decisions[0].verdict, Verdict::Active);
        assert_eq!(plan.decisions[0].age_seconds, Some(10.0));
    }

    #[test]
    fn unknown_age_is_skipped_not_deleted() {
        let plan = decide(
            vec![group("j", None, None)],
            &policy(60),
            1600.0,
            LabelNaming::Legacy,
        );
        assert_eq!(plan.decisions[0].verdict, Verdict::Skip);
    }

    #[test]
    fn family_time_stamp_stands_in_when_both_times_are_zero() {
        let mut e = group("j", None, None);
        if let Entry::Group(g) = &mut e {
            g.newest_family_time = Some(100.0);
        }
        let plan = decide(vec![e], &policy(60), 1600.0, LabelNaming::Legacy);
        assert_eq!(plan.decisions[0].verdict, Verdict::Stale);
        assert!(words(&plan.decisions[0]).contains("time stamp"));
    }

    #[test]
    fn a_clock_behind_the_gateway_keeps_groups() {
        let plan = decide(
            vec![group("j", Some(2000.0), None)],
            &policy(60),
            1600.0,
            LabelNaming::Legacy,
        );
        assert_eq!(plan.decisions[0].verdict, Verdict::Active);
        assert_eq!(plan.decisions[0].age_seconds, Some(-400.0));
    }

    #[test]
    fn skipped_entries_sort_last() {
        let plan = decide(
            vec![
                Entry::Skipped(SkippedGroup {
                    labels: vec![],
                    labels_known: false,
                    last_seen: None,
                    reason: "bad".into(),
                    size: Default::default(),
                }),
                group("z", Some(1.0), None),
            ],
            &policy(60),
            1600.0,
            LabelNaming::Legacy,
        );
        assert_eq!(plan.decisions[0].verdict, Verdict::Stale);
        assert_eq!(plan.decisions[1].verdict, Verdict::Skip);
    }

    fn stale_groups(n: usize, fresh: usize) -> Vec<Entry> {
        (0..n)
            .map(|i| group(&format!("old{i}"), Some(1.0), None))
            .chain((0..fresh).map(|i| group(&format!("new{i}"), Some(1599.0), None)))
            .collect()
    }

    #[test]
    fn max_deletes_refuses_the_whole_plan() {
        let mut p = policy(60);
        p.caps.max_deletes = Some(2);
        let plan = decide(stale_groups(3, 1), &p, 1600.0, LabelNaming::Legacy);
        assert!(plan
            .refused_by
            .map(|r| r.to_string())
            .as_deref()
            .unwrap()
            .contains("--max-deletes 2"));
        assert_eq!(plan.stale().count(), 0);
        let refused = plan
            .decisions
            .iter()
            .filter(|d| d.verdict == Verdict::Refused)
            .count();
        assert_eq!(refused, 3);
        // At the cap exactly, the plan goes ahead.
        p.caps.max_deletes = Some(3);
        assert_eq!(
            decide(stale_groups(3, 1), &p, 1600.0, LabelNaming::Legacy)
                .stale()
                .count(),
            3
        );
    }

    #[test]
    fn max_delete_ratio_counts_the_considered_groups() {
        let mut p = policy(60);
        p.caps.max_delete_ratio = Some(0.5);
        let plan = decide(stale_groups(3, 3), &p, 1600.0, LabelNaming::Legacy);
        assert_eq!(plan.stale().count(), 3, "3 of 6 is not over 0.5");
        let plan = decide(stale_groups(4, 3), &p, 1600.0, LabelNaming::Legacy);
        assert_eq!(plan.stale().count(), 0);
        assert!(plan
            .refused_by
            .unwrap()
            .to_string()
            .contains("4 of the 7 groups considered"));
        // Nothing stale is never refused, even with a zero ratio.
        p.caps.max_delete_ratio = Some(0.0);
        assert!(decide(stale_groups(0, 3), &p, 1600.0, LabelNaming::Legacy)
            .refused_by
            .is_none());
    }

    /// Issue 28 item 8: "considered" is selected and addressable. An
    /// active group no DELETE can name (a dotted label name on a gateway
    /// read in legacy mode) made 2 stale of 4 = 0.5, under 0.6: the plan
    /// went ahead where the documented 2 of 3 = 0.67 refuses.
    #[test]
    fn a_group_no_delete_can_name_is_not_considered_by_the_ratio() {
        let mut p = policy(60);
        p.caps.max_delete_ratio = Some(0.6);
        let entries = || {
            let mut entries = stale_groups(2, 1);
            entries.push(Entry::Group(Group {
                key: GroupingKey::new([("job", "new"), ("service.name", "api")]).unwrap(),
                last_push: Some(1599.0),
                last_failure: None,
                newest_family_time: None,
                last_push_successful: None,
                ttl_metric: None,
                size: Default::default(),
            }));
            entries
        };
        let plan = decide(entries(), &p, 1600.0, LabelNaming::Legacy);
        assert_eq!(
            plan.refused_by,
            Some(Refusal::MaxDeleteRatio {
                max: 0.6,
                stale: 2,
                considered: 3
            })
        );
        let considered: Vec<bool> = plan
            .decisions
            .iter()
            .map(|d| considered(d, LabelNaming::Legacy))
            .collect();
        // {job="new",service.name="api"} sorts first.
        assert_eq!(considered, [false, true, true, true]);
        // In UTF-8 mode the gateway reads that name: 2 of 4.
        let plan = decide(entries(), &p, 1600.0, LabelNaming::Utf8);
        assert_eq!(plan.refused_by, None);
        assert_eq!(plan.stale().count(), 2);
    }

    /// Evictions are deletions for the ratio, and an evicted group is
    /// considered: 1 stale + 2 evicted of 5.
    #[test]
    fn evictions_count_against_the_ratio() {
        let mut p = bounded(Some(2), None, 600);
        p.caps.max_delete_ratio = Some(0.5);
        let plan = decide(gateway(), &p, 20_000.0, LabelNaming::Legacy);
        assert_eq!(
            plan.refused_by,
            Some(Refusal::MaxDeleteRatio {
                max: 0.5,
                stale: 3,
                considered: 5
            })
        );
        p.caps.max_delete_ratio = Some(0.6);
        assert_eq!(
            decide(gateway(), &p, 20_000.0, LabelNaming::Legacy)
                .stale()
                .count(),
            3
        );
    }

    /// Issue 28 item 3: the activity the plan counted is the decision's,
    /// for every output to read. Under --activity successful a group
    /// whose pushes fail ages from its last success, not from its failure.
    #[test]
    fn the_decision_carries_the_activity_it_counted() {
        let entries = || vec![group("j", Some(100.0), Some(1590.0))];
        let plan = decide(entries(), &policy(60), 1600.0, LabelNaming::Legacy);
        let d = &plan.decisions[0];
        assert_eq!((d.last_activity, d.age_seconds), (Some(1590.0), Some(10.0)));
        let mut p = policy(60);
        p.activity = CountedPushes::Successful;
        p.grace = Some(Duration::from_secs(60));
        let plan = decide(entries(), &p, 1600.0, LabelNaming::Legacy);
        let d = &plan.decisions[0];
        assert_eq!(d.verdict, Verdict::Pending);
        assert_eq!(
            (d.last_activity, d.age_seconds),
            (Some(100.0), Some(1500.0))
        );
        // The grace mark remembers the same time.
        let (_, judged) = crate::pending::judged(d, crate::report::Action::Pending).unwrap();
        assert_eq!(
            judged,
            crate::pending::Judged::Marked(Mark {
                stale_since: 1600.0,
                last_activity: Some(100.0)
            })
        );
    }

    /// Issue 29 item 6: protection comes before any age (docs/policy.md's
    /// order). Under --activity successful a group whose pushes never
    /// succeeded was `skipped` even when a --keep, a `never` rule or the
    /// janitor's own job protected it.
    #[test]
    fn a_protected_group_is_kept_whether_or_not_its_age_is_known() {
        let mut p = policy(60);
        p.activity = CountedPushes::Successful;
        p.keep = vec![sel(r#"{job="kept"}"#)];
        p.rules = vec![rule(r#"{job="forever"}"#, Threshold::Never)];
        let plan = decide(
            vec![
                group("forever", None, Some(1590.0)),
                group("kept", None, Some(1590.0)),
                group("other", None, Some(1590.0)),
                group(OWN_JOB, None, Some(1590.0)),
            ],
            &p,
            1600.0,
            LabelNaming::Legacy,
        );
        let verdicts: Vec<Verdict> = plan.decisions.iter().map(|d| d.verdict).collect();
        assert_eq!(
            verdicts,
            [Verdict::Keep, Verdict::Keep, Verdict::Skip, Verdict::Keep]
        );
        assert_eq!(
            words(&plan.decisions[1]),
            "no push ever succeeded (--activity successful); protected by --keep '{job=\"kept\"}'"
        );
        assert_eq!(
            words(&plan.decisions[0]),
            "no push ever succeeded (--activity successful); never stale by --rule '{job=\"forever\"}=…'"
        );
        assert_eq!(plan.decisions[1].age_seconds, None);
        // Without any time at all, likewise.
        let mut p = policy(60);
        p.keep = vec![sel(r#"{job="kept"}"#)];
        let plan = decide(
            vec![group("kept", None, None)],
            &p,
            1600.0,
            LabelNaming::Legacy,
        );
        assert_eq!(plan.decisions[0].verdict, Verdict::Keep);
        assert!(words(&plan.decisions[0])
            .starts_with("no push time, failure time or family time stamp; protected"));
    }

    /// Issue 28 item 6: with --grace the evictions are pending, and the
    /// gateway keeps more than its bound: over capacity (it was not).
    #[test]
    fn pending_evictions_leave_the_gateway_over_its_bound() {
        let mut p = bounded(Some(2), None, 600);
        p.grace = Some(Duration::from_secs(3600));
        let plan = decide(gateway(), &p, 20_000.0, LabelNaming::Legacy);
        assert_eq!(by_job(&plan, "a").verdict, Verdict::Pending);
        // Without grace they go.
        p.grace = None;
        let plan = decide(gateway(), &p, 20_000.0, LabelNaming::Legacy);
        assert_eq!(by_job(&plan, "a").verdict, Verdict::Evict);
    }

    /// A group of `series` series last pushed at `push`.
    fn sized(job: &str, push: f64, series: u64) -> Entry {
        Entry::Group(Group {
            key: GroupingKey::new([("job", job)]).unwrap(),
            last_push: Some(push),
            last_failure: None,
            newest_family_time: None,
            last_push_successful: None,
            ttl_metric: None,
            size: crate::group::Size { series, bytes: 0 },
        })
    }

    fn bounded(groups: Option<u64>, series: Option<u64>, after: u64) -> Policy {
        let mut p = policy(10_000);
        p.bounds = Some(health::Bounds {
            max_groups: groups,
            max_series: series,
            evict_after: Duration::from_secs(after),
        });
        p
    }

    /// At 20 000: `stale` silent 19 000 s (past the 10 000 s threshold),
    /// then a (4 000 s), b (3 000 s), c (2 000 s), d (100 s), each with
    /// 10 series but c with 50.
    fn gateway() -> Vec<Entry> {
        vec![
            sized("stale", 1_000.0, 10),
            sized("a", 16_000.0, 10),
            sized("b", 17_000.0, 10),
            sized("c", 18_000.0, 50),
            sized("d", 19_900.0, 10),
        ]
    }

    fn by_job<'p>(plan: &'p Plan, job: &str) -> &'p Decision {
        by_labels(plan, &[("job", job)])
    }

    #[test]
    fn a_bound_evicts_the_longest_silent_after_the_stale_ones_go() {
        // 4 groups remain once `stale` goes; at most 2: a, then b.
        let plan = decide(
            gateway(),
            &bounded(Some(2), None, 600),
            20_000.0,
            LabelNaming::Legacy,
        );
        let evicted: Vec<&str> = plan
            .decisions
            .iter()
            .filter(|d| d.verdict == Verdict::Evict)
            .map(|d| match &d.subject {
                Subject::Group(g) => g.key.job(),
                Subject::Skipped(_) => unreachable!(),
            })
            .collect();
        assert_eq!(evicted, ["a", "b"]);
        assert_eq!(by_job(&plan, "stale").verdict, Verdict::Stale);
        assert_eq!(plan.stale().count(), 3, "stale and evicted both go");
        assert_eq!(
            words(by_job(&plan, "a")),
            "eviction for --max-groups 2: the gateway would hold 4 groups once the stale \
             groups go; last push 1h6m40s ago, at least --evict-after 10m \
             (within 2h46m40s, --threshold)"
        );
        // Within the bounds: nothing is evicted.
        let plan = decide(
            gateway(),
            &bounded(Some(4), Some(80), 600),
            20_000.0,
            LabelNaming::Legacy,
        );
        assert!(plan.decisions.iter().all(|d| d.verdict != Verdict::Evict));
    }

    #[test]
    fn the_series_bound_evicts_by_silence_not_by_size() {
        // 80 series remain; at most 60: a (10) then b (10) go, not c (50).
        let plan = decide(
            gateway(),
            &bounded(None, Some(60), 600),
            20_000.0,
            LabelNaming::Legacy,
        );
        let verdicts: Vec<Verdict> = ["a", "b", "c", "d"]
            .iter()
            .map(|j| by_job(&plan, j).verdict)
            .collect();
        assert_eq!(
            verdicts,
            [
                Verdict::Evict,
                Verdict::Evict,
                Verdict::Active,
                Verdict::Active
            ]
        );
        assert!(words(by_job(&plan, "b"))
            .starts_with("eviction for --max-series 60: the gateway would hold 80 series once"));
    }

    #[test]
    fn kept_own_ignored_and_recent_groups_are_never_evicted() {
        let mut p = bounded(Some(0), None, 1_500);
        p.keep = vec![sel(r#"{job="a"}"#)];
        p.select = vec![sel(r#"{job=~"a|b|c|d|stale|pushgateway-janitor"}"#)];
        let mut entries = gateway();
        entries.push(sized(OWN_JOB, 1_000.0, 1));
        entries.push(sized("other", 1_000.0, 1));
        let plan = decide(entries, &p, 20_000.0, LabelNaming::Legacy);
        let verdict = |j: &str| by_job(&plan, j).verdict;
        assert_eq!(verdict("a"), Verdict::Keep);
        assert_eq!(verdict(OWN_JOB), Verdict::Keep);
        assert_eq!(verdict("other"), Verdict::Ignore);
        assert_eq!(
            (verdict("b"), verdict("c")),
            (Verdict::Evict, Verdict::Evict)
        );
        // Silent 100 s, less than --evict-after 25m.
        assert_eq!(verdict("d"), Verdict::Active);
        assert_eq!(verdict("stale"), Verdict::Stale);
    }

    #[test]
    fn evictions_are_pending_first_with_grace_and_counted_by_the_caps() {
        let mut p = bounded(Some(2), None, 600);
        p.grace = Some(Duration::from_secs(3600));
        let plan = decide(gateway(), &p, 20_000.0, LabelNaming::Legacy);
        assert_eq!(by_job(&plan, "a").verdict, Verdict::Pending);
        assert!(by_job(&plan, "a").grace.unwrap().new);
        assert!(words(by_job(&plan, "a")).ends_with("; pending for --grace 1h: deletable in 1h"));
        // A pass past the grace period with the mark evicts it.
        let marks: Marks = [("a", 16_000.0), ("b", 17_000.0)]
            .into_iter()
            .map(|(job, push)| {
                let key = GroupingKey::new([("job", job)]).unwrap();
                (
                    key,
                    Mark {
                        stale_since: 20_000.0 - 3_600.0,
                        last_activity: Some(push),
                    },
                )
            })
            .collect();
        let plan = decide_marked(gateway(), &p, 20_000.0, LabelNaming::Legacy, &marks);
        assert_eq!(by_job(&plan, "a").verdict, Verdict::Evict);
        // The caps count evictions: 1 stale + 2 evicted is over 2.
        let mut p = bounded(Some(2), None, 600);
        p.caps.max_deletes = Some(2);
        let plan = decide(gateway(), &p, 20_000.0, LabelNaming::Legacy);
        assert_eq!(plan.stale().count(), 0);
        assert_eq!(by_job(&plan, "a").verdict, Verdict::Refused);
        assert!(words(by_job(&plan, "a")).contains("--max-deletes 2: the plan deletes 3"));
        p.caps.max_deletes = Some(3);
        let plan = decide(gateway(), &p, 20_000.0, LabelNaming::Legacy);
        assert_eq!(plan.stale().count(), 3);
    }

    /// Review finding: an active group no DELETE can name was evicted, its
    /// DELETE then failed (exit 4) on every pass, in place of a group that
    /// could go. Now it stays, and the next candidate goes.
    #[test]
    fn a_group_no_delete_can_name_is_never_evicted() {
        let mut entries = gateway();
        // Silent longest of all the active ones, but its label name means
        // another group on a gateway of unknown naming mode.
        entries.push(Entry::Group(Group {
            key: GroupingKey::new([("job", "zz"), ("service.name", "api")]).unwrap(),
            last_push: Some(15_000.0),
            last_failure: None,
            newest_family_time: None,
            last_push_successful: None,
            ttl_metric: None,
            size: crate::group::Size {
                series: 10,
                bytes: 0,
            },
        }));
        let plan = decide(
            entries,
            &bounded(Some(3), None, 600),
            20_000.0,
            LabelNaming::Unknown,
        );
        let zz = by_labels(&plan, &[("job", "zz"), ("service.name", "api")]);
        assert_eq!(zz.verdict, Verdict::Active, "{zz:?}");
        assert_eq!(by_job(&plan, "a").verdict, Verdict::Evict);
        assert_eq!(by_job(&plan, "b").verdict, Verdict::Evict);
    }

    /// Review finding: a skipped entry counted 0 series against
    /// --max-series though the scan measured it (and the report's size
    /// counts it).
    #[test]
    fn a_skipped_entrys_series_count_towards_the_series_bound() {
        let mut entries = gateway();
        entries.push(Entry::Skipped(SkippedGroup {
            labels: vec![("job".into(), "broken".into())],
            labels_known: true,
            last_seen: None,
            reason: "bad".into(),
            size: crate::group::Size {
                series: 300,
                bytes: 0,
            },
        }));
        let plan = decide(
            entries,
            &bounded(None, Some(100), 600),
            20_000.0,
            LabelNaming::Legacy,
        );
        // 80 series in a..d and 300 skipped: a, b and c go (d is too
        // recent), and the gateway is still over the bound.
        for job in ["a", "b", "c"] {
            assert_eq!(by_job(&plan, job).verdict, Verdict::Evict, "{job}");
        }
    }

    /// Review finding: a plan a cap refused evicts nothing, yet said the
    /// gateway was within its bounds.
    #[test]
    fn a_refused_plan_leaves_the_gateway_over_its_bound() {
        let mut p = bounded(Some(2), None, 600);
        p.caps.max_deletes = Some(1);
        let plan = decide(gateway(), &p, 20_000.0, LabelNaming::Legacy);
        assert!(plan.refused_by.is_some());
    }

    fn sel(text: &str) -> Selector {
        Selector::parse(text).unwrap()
    }

    fn rule(selector: &str, threshold: Threshold) -> Rule {
        Rule {
            selector: sel(selector),
            threshold,
            text: format!("{selector}=…"),
        }
    }

    #[test]
    fn the_first_matching_rule_wins_and_never_keeps() {
        let mut p = policy(60);
        p.rules = vec![
            rule(
                r#"{job=~"flink.*"}"#,
                Threshold::After(Duration::from_secs(600)),
            ),
            rule(r#"{job="flinkbackup"}"#, Threshold::Never),
            rule(r#"{job="backup"}"#, Threshold::Never),
        ];
        let plan = decide(
            vec![
                group("flinkbackup", Some(1.0), None),
                group("backup", Some(1.0), None),
                group("flinkjob", Some(1500.0), None),
                group("other", Some(1500.0), None),
            ],
            &p,
            1600.0,
            LabelNaming::Legacy,
        );
        let by_job = |job: &str| {
            plan.decisions
                .iter()
                .find(|d| matches!(&d.subject, Subject::Group(g) if g.key.job() == job))
                .unwrap()
        };
        // flink.* matched first, so the later `never` rule does not apply.
        assert_eq!(by_job("flinkbackup").verdict, Verdict::Stale);
        assert_eq!(by_job("backup").verdict, Verdict::Keep);
        assert_eq!(by_job("backup").threshold, Threshold::Never);
        assert_eq!(by_job("flinkjob").verdict, Verdict::Active);
        assert_eq!(
            by_job("flinkjob").threshold,
            Threshold::After(Duration::from_secs(600))
        );
        assert_eq!(by_job("other").verdict, Verdict::Stale);
        assert!(words(by_job("other")).ends_with("(--threshold)"));
    }

    #[test]
    fn keep_protects_and_select_ignores() {
        let mut p = policy(60);
        p.keep = vec![sel(r#"{job="precious"}"#)];
        p.select = vec![sel(r#"{job=~"p.*"}"#)];
        let plan = decide(
            vec![
                group("precious", Some(1.0), None),
                group("plain", Some(1.0), None),
                group("unselected", Some(1.0), None),
            ],
            &p,
            1600.0,
            LabelNaming::Legacy,
        );
        assert_eq!(
            verdicts(&plan),
            vec![
                ("plain".into(), Verdict::Stale),
                ("precious".into(), Verdict::Keep),
                ("unselected".into(), Verdict::Ignore),
            ]
        );
        assert!(words(&plan.decisions[1]).contains(r#"--keep '{job="precious"}'"#));
        // Ignored groups do not water the ratio down. Before: 1 stale of 3
        // scanned was 33%, under a 0.34 cap, and went ahead; the run
        // considered one group and would delete all of it.
        p.caps.max_delete_ratio = Some(0.34);
        let plan = decide(
            vec![
                group("plain", Some(1.0), None),
                group("u", Some(1.0), None),
                group("v", Some(1.0), None),
            ],
            &p,
            1600.0,
            LabelNaming::Legacy,
        );
        assert_eq!(
            plan.refused_by.map(|r| r.to_string()).as_deref(),
            Some("refused by --max-delete-ratio 0.34: the plan deletes 1 of the 1 groups considered (100.0%)")
        );
    }

    #[test]
    fn unmatched_selectors_in_the_order_a_group_meets_them_each_once() {
        let mut p = policy(60);
        p.select = vec![sel(r#"{job=~".+"}"#), sel(r#"{job="nothing"}"#)];
        p.keep = vec![sel(r#"{job="biling"}"#), sel(r#"{job="biling"}"#)];
        p.rules = vec![rule(r#"{job="gone"}"#, Threshold::Never)];
        let keys = [GroupingKey::new([("job", "billing")]).unwrap()];
        let named: Vec<(&str, &str)> = unmatched(&p, &keys)
            .iter()
            .map(|u| (u.flag, u.written))
            .collect();
        assert_eq!(
            named,
            vec![
                ("--select", r#"{job="nothing"}"#),
                ("--keep", r#"{job="biling"}"#),
                ("--rule", r#"{job="gone"}=…"#),
            ]
        );
        // No selectors, nothing unmatched.
        assert!(unmatched(&policy(60), &keys).is_empty());
    }

    #[test]
    fn max_delete_ratio_at_the_cap_exactly_goes_ahead() {
        // 29/50 = 0.58, but 0.58 * 50.0 = 28.999999999999996.
        for (stale, total, ratio) in [(29, 50, 0.58), (57, 100, 0.57), (1, 3, 1.0 / 3.0)] {
            let mut p = policy(60);
            p.caps.max_delete_ratio = Some(ratio);
            let plan = decide(
                stale_groups(stale, total - stale),
                &p,
                1600.0,
                LabelNaming::Legacy,
            );
            assert!(plan.refused_by.is_none(), "{stale}/{total} at {ratio}");
            assert_eq!(plan.stale().count(), stale);
        }
    }

    #[test]
    fn reasons_quote_the_rule_as_written() {
        let mut p = policy(60);
        p.rules = vec![Rule {
            selector: sel(r#"{job="j"}"#),
            threshold: Threshold::After(Duration::from_millis(1500)),
            text: r#"{job="j"}=1500ms"#.into(),
        }];
        let plan = decide(
            vec![group("j", Some(1.0), None)],
            &p,
            1600.0,
            LabelNaming::Legacy,
        );
        assert!(
            words(&plan.decisions[0])
                .ends_with(r#"longer than 1s500ms (--rule '{job="j"}=1500ms')"#),
            "{}",
            words(&plan.decisions[0])
        );
    }

    /// A group with labels besides `job`, pushed at `push`, carrying the
    /// `--ttl-metric` value `metric` as the scan read it.
    fn keyed(pairs: &[(&str, &str)], push: f64, metric: Option<Result<f64, String>>) -> Entry {
        Entry::Group(Group {
            key: GroupingKey::new(pairs.iter().copied()).unwrap(),
            last_push: Some(push),
            last_failure: None,
            newest_family_time: None,
            last_push_successful: Some(true),
            ttl_metric: metric,
            size: Default::default(),
        })
    }

    fn by_labels<'p>(plan: &'p Plan, pairs: &[(&str, &str)]) -> &'p Decision {
        let key = GroupingKey::new(pairs.iter().copied()).unwrap();
        plan.decisions
            .iter()
            .find(|d| matches!(&d.subject, Subject::Group(g) if g.key == key))
            .unwrap_or_else(|| panic!("no decision for {key}"))
    }

    fn ttl_policy(label: Option<&str>, metric: Option<&str>) -> Policy {
        let mut p = policy(600);
        p.rules = vec![Rule {
            selector: sel(r#"{job=~"r.*"}"#),
            threshold: Threshold::After(Duration::from_secs(3600)),
            text: r#"{job=~"r.*"}=1h"#.into(),
        }];
        p.keep = vec![sel(r#"{job="precious"}"#)];
        p.ttl = TtlPolicy {
            label: label.map(Into::into),
            metric: metric.map(Into::into),
            min: None,
            max: None,
        };
        p
    }

    #[test]
    fn precedence_keep_then_own_job_then_ttl_then_rule_then_threshold() {
        let now = 100_000.0;
        let forty_minutes_ago = now - 2400.0;
        let p = ttl_policy(Some("ttl"), Some("pgj_ttl_seconds"));
        let plan = decide(
            vec![
                // --keep beats a TTL that calls it stale.
                keyed(&[("job", "precious"), ("ttl", "1s")], 0.0, Some(Ok(1.0))),
                // So does the janitor's own job.
                keyed(&[("job", OWN_JOB), ("ttl", "1s")], 0.0, None),
                // The label's 30m beats the rule's 1h: stale at 40m.
                keyed(&[("job", "r1"), ("ttl", "30m")], forty_minutes_ago, None),
                // The label wins over the metric when both are there.
                keyed(
                    &[("job", "r2"), ("ttl", "2h")],
                    forty_minutes_ago,
                    Some(Ok(60.0)),
                ),
                // The metric alone: 60s, beats the rule.
                keyed(&[("job", "r3")], forty_minutes_ago, Some(Ok(60.0))),
                // No TTL: the rule's 1h keeps it active at 40m.
                keyed(&[("job", "r4")], forty_minutes_ago, None),
                // Nothing matches: --threshold's 10m.
                keyed(&[("job", "other")], forty_minutes_ago, None),
            ],
            &p,
            now,
            LabelNaming::Legacy,
        );
        let d = |pairs: &[(&str, &str)]| by_labels(&plan, pairs);
        assert_eq!(
            d(&[("job", "precious"), ("ttl", "1s")]).verdict,
            Verdict::Keep
        );
        assert_eq!(d(&[("job", OWN_JOB), ("ttl", "1s")]).verdict, Verdict::Keep);
        let r1 = d(&[("job", "r1"), ("ttl", "30m")]);
        assert_eq!(
            (
                r1.verdict,
                r1.threshold,
                r1.threshold_source.to_string().as_str()
            ),
            (
                Verdict::Stale,
                Threshold::After(Duration::from_secs(1800)),
                r#"ttl label ttl="30m""#
            )
        );
        assert_eq!(
            words(r1),
            r#"last push 40m ago, longer than 30m (ttl label ttl="30m")"#
        );
        let r2 = d(&[("job", "r2"), ("ttl", "2h")]);
        assert_eq!(
            (r2.verdict, r2.threshold_source.to_string().as_str()),
            (Verdict::Active, r#"ttl label ttl="2h""#)
        );
        let r3 = d(&[("job", "r3")]);
        assert_eq!(
            (r3.verdict, r3.threshold_source.to_string().as_str()),
            (Verdict::Stale, "ttl metric pgj_ttl_seconds=60")
        );
        let r4 = d(&[("job", "r4")]);
        assert_eq!(
            (r4.verdict, r4.threshold_source.to_string().as_str()),
            (Verdict::Active, r#"--rule '{job=~"r.*"}=1h'"#)
        );
        let other = d(&[("job", "other")]);
        assert_eq!(
            (other.verdict, other.threshold_source.to_string().as_str()),
            (Verdict::Stale, "--threshold")
        );
        assert!(plan.decisions.iter().all(|d| d.ttl_ignored.is_empty()));
    }

    #[test]
    fn a_ttl_label_or_metric_is_read_only_when_named() {
        let now = 100_000.0;
        let entries = || {
            vec![keyed(
                &[("job", "x"), ("ttl", "1s")],
                now - 60.0,
                Some(Ok(1.0)),
            )]
        };
        // Before --ttl-label/--ttl-metric: the threshold's 10m, whatever
        // the group carries.
        let plan = decide(entries(), &policy(600), now, LabelNaming::Legacy);
        assert_eq!(plan.decisions[0].verdict, Verdict::Active);
        assert_eq!(
            plan.decisions[0].threshold_source.to_string(),
            "--threshold"
        );
        // Another label's name reads nothing either.
        let plan = decide(
            entries(),
            &ttl_policy(Some("lifetime"), None),
            now,
            LabelNaming::Legacy,
        );
        assert_eq!(plan.decisions[0].verdict, Verdict::Active);
        let plan = decide(
            entries(),
            &ttl_policy(Some("ttl"), None),
            now,
            LabelNaming::Legacy,
        );
        assert_eq!(plan.decisions[0].verdict, Verdict::Stale);
    }

    #[test]
    fn min_and_max_ttl_bound_declared_ttls_only() {
        let now = 100_000.0;
        let mut p = ttl_policy(Some("ttl"), Some("m"));
        p.ttl.min = Some(Duration::from_secs(60));
        p.ttl.max = Some(Duration::from_secs(86_400));
        // Rules and --threshold are outside the bounds and stay as given.
        p.threshold = Threshold::After(Duration::from_secs(30));
        let plan = decide(
            vec![
                keyed(&[("job", "a"), ("ttl", "1s")], now - 30.0, None),
                keyed(
                    &[("job", "b"), ("ttl", "never")],
                    now - 2.0 * 86_400.0,
                    None,
                ),
                keyed(
                    &[("job", "c")],
                    now - 2.0 * 86_400.0,
                    Some(Ok(f64::INFINITY)),
                ),
                keyed(&[("job", "d"), ("ttl", "2h")], now - 30.0, None),
                keyed(&[("job", "e")], now - 40.0, None),
            ],
            &p,
            now,
            LabelNaming::Legacy,
        );
        let a = by_labels(&plan, &[("job", "a"), ("ttl", "1s")]);
        assert_eq!(
            (
                a.verdict,
                a.threshold,
                a.threshold_source.to_string().as_str()
            ),
            (
                Verdict::Active,
                Threshold::After(Duration::from_secs(60)),
                r#"ttl label ttl="1s", raised to --min-ttl 1m"#
            )
        );
        let b = by_labels(&plan, &[("job", "b"), ("ttl", "never")]);
        assert_eq!(
            (
                b.verdict,
                b.threshold,
                b.threshold_source.to_string().as_str()
            ),
            (
                Verdict::Stale,
                Threshold::After(Duration::from_secs(86_400)),
                r#"ttl label ttl="never", lowered to --max-ttl 1d"#
            )
        );
        let c = by_labels(&plan, &[("job", "c")]);
        assert_eq!(
            (c.verdict, c.threshold_source.to_string().as_str()),
            (Verdict::Stale, "ttl metric m=+Inf, lowered to --max-ttl 1d")
        );
        let d = by_labels(&plan, &[("job", "d"), ("ttl", "2h")]);
        assert_eq!(d.threshold_source.to_string(), r#"ttl label ttl="2h""#);
        // --threshold 30s is under --min-ttl, and stays 30s.
        let e = by_labels(&plan, &[("job", "e")]);
        assert_eq!(
            (e.verdict, e.threshold),
            (Verdict::Stale, Threshold::After(Duration::from_secs(30)))
        );
        // Without --max-ttl, +Inf and never keep the group.
        let plan = decide(
            vec![keyed(&[("job", "c")], 0.0, Some(Ok(f64::INFINITY)))],
            &ttl_policy(None, Some("m")),
            now,
            LabelNaming::Legacy,
        );
        assert_eq!(plan.decisions[0].verdict, Verdict::Keep);
        assert_eq!(
            words(&plan.decisions[0]),
            "last push 1d3h46m40s ago; never stale by ttl metric m=+Inf"
        );
    }

    #[test]
    fn a_malformed_ttl_is_ignored_with_the_reason_and_never_deletes() {
        let now = 100_000.0;
        let p = ttl_policy(Some("ttl"), Some("m"));
        let fresh = now - 60.0;
        let plan = decide(
            vec![
                keyed(&[("job", "r1"), ("ttl", "soon")], fresh, None),
                keyed(&[("job", "r2"), ("ttl", "0s")], fresh, None),
                keyed(&[("job", "r3"), ("ttl", "-5m")], fresh, None),
                keyed(&[("job", "r4"), ("ttl", "10M")], fresh, None),
                keyed(&[("job", "r5")], fresh, Some(Ok(f64::NAN))),
                keyed(&[("job", "r6")], fresh, Some(Ok(0.0))),
                keyed(&[("job", "r7")], fresh, Some(Ok(-30.0))),
                keyed(&[("job", "r8")], fresh, Some(Ok(f64::NEG_INFINITY))),
                keyed(
                    &[("job", "r9")],
                    fresh,
                    Some(Err("is a COUNTER, not a gauge".into())),
                ),
                // An empty value is no label at all: nothing to ignore.
                keyed(&[("job", "r10"), ("ttl", "")], fresh, None),
            ],
            &p,
            now,
            LabelNaming::Legacy,
        );
        for d in &plan.decisions {
            let Subject::Group(g) = &d.subject else {
                unreachable!()
            };
            // A 1s TTL would have made each stale; the rule's 1h keeps them.
            assert_eq!(d.verdict, Verdict::Active, "{}", g.key);
            assert_eq!(
                d.threshold_source.to_string(),
                r#"--rule '{job=~"r.*"}=1h'"#
            );
            if g.key.job() == "r10" {
                assert_eq!(d.ttl_ignored, Vec::new());
                continue;
            }
            let why = ignored(d).unwrap_or_else(|| panic!("{}", g.key));
            assert!(
                words(d).ends_with(&format!("; ignored {why}")),
                "{}",
                words(d)
            );
        }
        let why = |job: &str| {
            plan.decisions
                .iter()
                .find(|d| matches!(&d.subject, Subject::Group(g) if g.key.job() == job))
                .and_then(ignored)
                .unwrap()
        };
        assert!(why("r1").starts_with(r#"ttl label ttl="soon": expected a number and a unit"#));
        assert!(why("r2").starts_with(r#"ttl label ttl="0s": must be greater than zero"#));
        assert_eq!(
            why("r3"),
            r#"ttl label ttl="-5m": a duration cannot be negative"#
        );
        assert!(why("r4").starts_with(r#"ttl label ttl="10M": did you mean '10m'?"#));
        assert_eq!(why("r5"), "ttl metric m=NaN: NaN is not a TTL");
        assert_eq!(why("r6"), "ttl metric m=0: a TTL must be greater than zero");
        assert_eq!(
            why("r7"),
            "ttl metric m=-30: a TTL must be greater than zero"
        );
        assert_eq!(
            why("r8"),
            "ttl metric m=-Inf: a TTL must be greater than zero"
        );
        assert_eq!(why("r9"), "ttl metric m: is a COUNTER, not a gauge");

        // A bad label, a good metric: the metric decides, the label's
        // reason stays.
        let plan = decide(
            vec![keyed(
                &[("job", "x"), ("ttl", "soon")],
                now - 120.0,
                Some(Ok(60.0)),
            )],
            &p,
            now,
            LabelNaming::Legacy,
        );
        let d = &plan.decisions[0];
        assert_eq!(
            (d.verdict, d.threshold_source.to_string().as_str()),
            (Verdict::Stale, "ttl metric m=60")
        );
        assert!(ignored(d).unwrap().starts_with(r#"ttl label ttl="soon""#));
    }

    #[test]
    fn a_push_less_than_a_second_ahead_of_the_clock_is_not_ahead() {
        // The server clock's Date has whole seconds: a push in the same
        // second is a fraction of a second after it.
        let plan = decide(
            vec![
                group("fresh", Some(1600.4), None),
                group("future", Some(1601.2), None),
            ],
            &policy(60),
            1600.0,
            LabelNaming::Legacy,
        );
        assert_eq!(
            words(&plan.decisions[0]),
            "last push 0s ago, within 1m (--threshold)"
        );
        assert_eq!(
            words(&plan.decisions[1]),
            "last push 1s ahead of the clock, within 1m (--threshold)"
        );
    }

    #[test]
    fn a_stale_age_reads_longer_than_its_threshold() {
        let plan = decide(
            vec![group("stale", Some(1597.7), None)],
            &policy(2),
            1600.0,
            LabelNaming::Legacy,
        );
        assert_eq!(plan.decisions[0].verdict, Verdict::Stale);
        assert_eq!(
            words(&plan.decisions[0]),
            "last push 2.300s ago, longer than 2s (--threshold)"
        );
        // And an active one never reads longer than its threshold.
        let plan = decide(
            vec![group("active", Some(1598.4), None)],
            &Policy::with_threshold(Duration::from_millis(1700)),
            1600.0,
            LabelNaming::Legacy,
        );
        assert_eq!(plan.decisions[0].verdict, Verdict::Active);
        assert_eq!(
            words(&plan.decisions[0]),
            "last push 1.600s ago, within 1s700ms (--threshold)"
        );
    }

    #[test]
    fn a_ttl_beyond_a_duration_is_never_as_a_label_and_as_a_gauge() {
        let now = 100_000.0;
        let p = ttl_policy(Some("ttl"), Some("m"));
        let plan = decide(
            vec![
                keyed(&[("job", "label"), ("ttl", "99999999999999w")], 0.0, None),
                keyed(&[("job", "gauge")], 0.0, Some(Ok(1e300))),
            ],
            &p,
            now,
            LabelNaming::Legacy,
        );
        let label = by_labels(&plan, &[("job", "label"), ("ttl", "99999999999999w")]);
        let gauge = by_labels(&plan, &[("job", "gauge")]);
        for d in [label, gauge] {
            assert_eq!((d.verdict, d.threshold), (Verdict::Keep, Threshold::Never));
            assert_eq!(d.ttl_ignored, Vec::new());
        }
        assert_eq!(
            words(gauge),
            "last push 1d3h46m40s ago; never stale by ttl metric m=1e+300"
        );
    }

    #[test]
    fn after_delete_tells_gone_repushed_and_pending_apart() {
        assert_eq!(
            after_delete(Some(100.0), Sighting::Absent),
            AfterDelete::Gone
        );
        assert_eq!(
            after_delete(Some(100.0), Sighting::Shown(Some(101.0))),
            AfterDelete::Repushed
        );
        assert_eq!(
            after_delete(Some(100.0), Sighting::Shown(Some(100.0))),
            AfterDelete::Pending
        );
        // A re-push that only failed still shows a live producer.
        assert_eq!(
            after_delete(None, Sighting::Shown(Some(5.0))),
            AfterDelete::Repushed
        );
        // Issue 28 item 3: under --activity successful a group deleted
        // and then shown again by a failed push has no successful push:
        // its DELETE landed, and its producer is alive (it was Pending,
        // then still_present, exit 4).
        assert_eq!(
            after_delete(Some(100.0), Sighting::Shown(None)),
            AfterDelete::Repushed
        );
        // An entry the re-scan could not read might be the group: it is
        // on the gateway as far as anyone knows, so not gone.
        assert_eq!(
            after_delete(Some(100.0), Sighting::MaybeUnreadable),
            AfterDelete::Unreadable
        );
    }

    #[test]
    fn threshold_display() {
        assert_eq!(Threshold::Never.to_string(), "never");
        assert_eq!(
            Threshold::After(Duration::from_secs(600)).to_string(),
            "10m"
        );
        assert_eq!(Threshold::Never.seconds(), None);
    }

    #[test]
    fn a_declared_ttl_under_a_nanosecond_is_no_ttl() {
        assert!(declared_seconds(1e-10).is_err());
        assert!(declared_seconds(0.0).is_err());
        assert!(declared_seconds(f64::NAN).is_err());
        assert_eq!(declared_seconds(f64::INFINITY), Ok(Threshold::Never));
        assert_eq!(
            declared_seconds(1800.0),
            Ok(Threshold::After(Duration::from_secs(1800)))
        );
    }

    #[test]
    fn a_given_naming_mode_the_status_contradicts_is_unknown() {
        use LabelNaming::*;
        assert_eq!(label_naming(None, Ok(Some(true))), Utf8);
        assert_eq!(label_naming(None, Ok(None)), Legacy);
        assert_eq!(label_naming(None, Err(())), Unknown);
        assert_eq!(label_naming(Some(Utf8), Err(())), Utf8);
        assert_eq!(label_naming(Some(Legacy), Ok(Some(false))), Legacy);
        assert_eq!(label_naming(Some(Legacy), Ok(Some(true))), Unknown);
        assert_eq!(label_naming(Some(Utf8), Ok(None)), Unknown);
    }

    #[test]
    fn the_clock_choice() {
        let now = |source, server| choose_clock(source, server, 100.0);
        assert_eq!(
            now(ClockSource::Server, Some(90.0)),
            Now {
                seconds: 90.0,
                clock: "server",
                fell_back: false
            }
        );
        assert_eq!(
            now(ClockSource::Server, None),
            Now {
                seconds: 100.0,
                clock: "local",
                fell_back: true
            }
        );
        assert_eq!(
            now(ClockSource::Local, Some(90.0)),
            Now {
                seconds: 100.0,
                clock: "local",
                fell_back: false
            }
        );
    }
}
