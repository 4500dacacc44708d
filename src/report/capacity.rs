//! Whether, and why, a gateway is over capacity after a pass: decided
//! once, from the actions its groups ended with, for the report's
//! `over_capacity`, its metric and the `over capacity` warning
//! (docs/health.md).

use super::{Action, GatewaySize, GroupReport};
use crate::plan::health::{Bound, Bounds};

/// What keeps a gateway over a bound after the pass: why groups that
/// would bring it within the bound are still on it, or that none was left
/// to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cause {
    /// Groups whose DELETE waits for `--grace` (`pending`).
    Pending,
    /// A safety cap refused the plan (`refused`).
    Refused,
    /// Even were every group meant to go gone, the bound would be
    /// exceeded: the others are silent less than `--evict-after`, kept,
    /// ignored or skipped.
    NoCandidate,
    /// DELETEs that were sent and failed (`delete_failed`).
    DeleteFailed,
    /// DELETEs that were due and never sent (`delete_failed`): the archive
    /// record could not be written, or the gateway was unreachable. (A pass
    /// whose batch a second signal gave up is not recorded at all.)
    NotSent,
    /// DELETEs accepted that no re-scan confirmed in time (`unconfirmed`),
    /// or after which the group was still shown (`still_present`).
    NotConfirmed,
    /// DELETEs that landed, after which the producer pushed the group
    /// again (`repushed`).
    PushedAgain,
}

impl Cause {
    /// Every cause, in the order the warning names them.
    pub const ALL: [Cause; 7] = [
        Cause::Pending,
        Cause::Refused,
        Cause::NoCandidate,
        Cause::DeleteFailed,
        Cause::NotSent,
        Cause::NotConfirmed,
        Cause::PushedAgain,
    ];

    /// Why a group with this ending is still on the gateway although the
    /// plan meant it to go; `None` for a group the plan left there (or
    /// one that is gone).
    fn of(group: &GroupReport) -> Option<Cause> {
        match group.action {
            Action::Pending => Some(Cause::Pending),
            Action::Refused => Some(Cause::Refused),
            Action::DeleteFailed if group.unsent => Some(Cause::NotSent),
            Action::DeleteFailed => Some(Cause::DeleteFailed),
            Action::Unconfirmed | Action::StillPresent => Some(Cause::NotConfirmed),
            Action::Repushed => Some(Cause::PushedAgain),
            Action::Deleted
            | Action::Evicted
            | Action::WouldDelete
            | Action::WouldEvict
            | Action::Kept
            | Action::Active
            | Action::Skipped
            | Action::Ignored => None,
        }
    }
}

/// A set of [`Cause`]s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Causes(u8);

impl Causes {
    fn add(&mut self, cause: Cause) {
        self.0 |= 1 << cause as u8;
    }

    pub fn contains(self, cause: Cause) -> bool {
        self.0 & (1 << cause as u8) != 0
    }

    /// The causes held, in [`Cause::ALL`]'s order.
    pub fn iter(self) -> impl Iterator<Item = Cause> {
        Cause::ALL.into_iter().filter(move |c| self.contains(*c))
    }
}

/// A bound the gateway still exceeds after the pass, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverCapacity {
    /// The first bound exceeded (the group bound before the series bound).
    pub bound: Bound,
    /// Never empty.
    pub causes: Causes,
    /// A dry run: what its plan would leave, not what the pass left.
    pub planned: bool,
}

/// The bound that what the pass leaves on the gateway exceeds, and why:
/// the one definition of `over_capacity`. What it leaves is every group
/// not gone (`size_after`); in a dry run, every group its plan would not
/// delete or evict (`planned_size_after`).
pub fn over_capacity(
    groups: &[GroupReport],
    dry_run: bool,
    bounds: &Bounds,
) -> Option<OverCapacity> {
    let left: Vec<&GroupReport> = groups
        .iter()
        .filter(|g| match dry_run {
            true => !g.action.would_go(),
            false => !g.action.is_gone(),
        })
        .collect();
    let exceeded = |size: GatewaySize| bounds.exceeded(size.groups, size.series);
    let bound = exceeded(GatewaySize::of(left.iter().copied()))?;
    let mut causes = Causes::default();
    for cause in left.iter().filter_map(|g| Cause::of(g)) {
        causes.add(cause);
    }
    let meant_to_stay = left.iter().copied().filter(|g| Cause::of(g).is_none());
    if exceeded(GatewaySize::of(meant_to_stay)).is_some() {
        causes.add(Cause::NoCandidate);
    }
    Some(OverCapacity {
        bound,
        causes,
        planned: dry_run,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::report::tests::probe;

    fn bounds(max_groups: u64) -> Bounds {
        Bounds {
            max_groups: Some(max_groups),
            max_series: None,
            evict_after: Duration::from_secs(60),
        }
    }

    fn causes(over: Option<OverCapacity>) -> Vec<Cause> {
        over.expect("over capacity").causes.iter().collect()
    }

    fn unsent(mut g: GroupReport) -> GroupReport {
        g.unsent = true;
        g
    }

    #[test]
    fn within_the_bound_once_the_pass_is_done_is_not_over_capacity() {
        let groups = [
            probe("a", Action::Active),
            probe("b", Action::Evicted),
            probe("c", Action::Deleted),
        ];
        assert_eq!(over_capacity(&groups, false, &bounds(1)), None);
        let planned = [probe("a", Action::Active), probe("b", Action::WouldEvict)];
        assert_eq!(over_capacity(&planned, true, &bounds(1)), None);
    }

    #[test]
    fn each_group_meant_to_go_and_still_there_names_its_own_cause() {
        let groups = [
            probe("a", Action::Active),
            unsent(probe("b", Action::DeleteFailed)),
            probe("c", Action::Repushed),
        ];
        let over = over_capacity(&groups, false, &bounds(1));
        assert_eq!(over.map(|o| o.bound), Some(Bound::Groups(1)));
        // Never "not confirmed": one DELETE was not sent, the other landed.
        assert_eq!(causes(over), [Cause::NotSent, Cause::PushedAgain]);
        let groups = [
            probe("a", Action::Active),
            probe("b", Action::DeleteFailed),
            probe("c", Action::Unconfirmed),
            probe("d", Action::StillPresent),
        ];
        assert_eq!(
            causes(over_capacity(&groups, false, &bounds(1))),
            [Cause::DeleteFailed, Cause::NotConfirmed]
        );
    }

    #[test]
    fn pending_refused_and_no_candidate_are_causes_of_a_dry_run_too() {
        let groups = [probe("a", Action::Active), probe("b", Action::Pending)];
        let over = over_capacity(&groups, true, &bounds(1));
        assert!(over.is_some_and(|o| o.planned));
        assert_eq!(causes(over), [Cause::Pending]);
        // Nothing the plan meant to go would have been enough.
        let groups = [
            probe("a", Action::Active),
            probe("b", Action::Kept),
            probe("c", Action::Refused),
        ];
        assert_eq!(
            causes(over_capacity(&groups, false, &bounds(1))),
            [Cause::Refused, Cause::NoCandidate]
        );
    }
}
