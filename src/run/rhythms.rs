//! A pass's part in learning rhythms (`crate::rhythm`): the cadences the
//! plan receives, and after the pass, each group's rhythm in the report,
//! the warning for a returned group, and what the memory keeps.

use crate::config::Config;
use crate::group::{Entry, GroupingKey, SkippedGroup};
use crate::plan::{Decision, Subject, Verdict};
use crate::report::{Action, GroupReport, GroupRhythm};
use crate::rhythm::{self, Cadences, KeyHash, Memory, PassSeen};
use crate::warn_bounded;
use crate::warnings::Bounded;

/// Whether this run remembers rhythms at all: in its `--state-file`, or in
/// memory between `--every` passes.
pub(super) fn remembered(config: &Config) -> bool {
    config.state_file.is_some() || config.every.is_some()
}

/// The cadence of each group of the scan once this pass is counted: what
/// the plan decides by.
pub(super) fn cadences(
    config: &Config,
    memory: Option<&Memory>,
    now: f64,
    entries: &[Entry],
) -> Cadences {
    if !remembered(config) {
        return Cadences::new();
    }
    let empty = Memory::default();
    let memory = memory.unwrap_or(&empty);
    let activity = config.policy.activity;
    memory.cadences(
        now,
        entries.iter().filter_map(|e| match e {
            Entry::Group(g) => activity.last_activity(g).map(|a| (&g.key, a)),
            Entry::Skipped(_) => None,
        }),
    )
}

/// Fills each group's rhythm in `groups` (the reports of `decisions`),
/// warns once per returned group, and returns what the memory keeps of this
/// pass; `None` when nothing is remembered.
pub(super) fn learn(
    config: &Config,
    shown: &str,
    memory: Option<&Memory>,
    cadences: &Cadences,
    now: f64,
    decisions: &[Decision],
    groups: &mut [GroupReport],
) -> Option<PassSeen> {
    if !remembered(config) {
        return None;
    }
    let empty = Memory::default();
    let memory = memory.unwrap_or(&empty);
    let activity = config.policy.activity;
    let warned = Bounded::new("returned groups");
    let mut seen = PassSeen {
        now,
        ..PassSeen::default()
    };
    for (d, report) in decisions.iter().zip(groups.iter_mut()) {
        let g = match &d.subject {
            Subject::Group(g) => g,
            Subject::Skipped(s) => {
                seen.unread.extend(skipped_key(s));
                continue;
            }
        };
        let Some(last) = activity.last_activity(g) else {
            seen.unread.push(KeyHash::of(&g.key));
            continue;
        };
        let cadence = cadences.get(&g.key).copied();
        let late = cadence.is_some_and(|c| rhythm::late(c, d.age_seconds, config.late_after));
        let hash = KeyHash::of(&g.key);
        let returned = memory.returned(hash, last, now);
        if let Some(r) = &returned {
            let ttl_label = config.policy.ttl.label.as_deref();
            let words = crate::report::returned_words(&g.key, r, ttl_label);
            warn_bounded!(warned, group = %g.key, "{words}");
        }
        report.rhythm = GroupRhythm::of(cadence, late, returned);
        seen.groups.push((hash, last));
        // Deleted as stale, and gone: remembered in case it returns. An
        // evicted group went for the gateway's size, not its silence.
        if d.verdict == Verdict::Stale && report.action == Action::Deleted {
            seen.deleted.push(hash);
        }
    }
    warned.finish(shown);
    Some(seen)
}

/// The key of a group the scan could not read, when its labels are its
/// own: its memory is kept.
fn skipped_key(s: &SkippedGroup) -> Option<KeyHash> {
    let pairs = s.labels.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    let key = GroupingKey::new(pairs).ok()?;
    s.labels_known.then(|| KeyHash::of(&key))
}
