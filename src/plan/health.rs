//! Gateway health decisions (docs/health.md): which push counts as a
//! group's activity (`--activity`), and which groups a bound on the
//! gateway's size evicts (`--max-groups`, `--max-series`,
//! `--evict-after`). Pure, like the rest of `plan`.

use std::time::Duration;

use super::Activity;
use crate::group::Group;

/// What counts as a group's activity (`--activity`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CountedPushes {
    /// Any push, successful or failed: a producer whose pushes the gateway
    /// rejects is alive (the default, and the behaviour before the flag).
    #[default]
    Any,
    /// Only a successful push: a group whose pushes keep failing ages from
    /// its last success, and its stale values go when that is too old.
    Successful,
}

impl CountedPushes {
    /// The name on the command line and in reasons.
    pub fn name(self) -> &'static str {
        match self {
            CountedPushes::Any => "any",
            CountedPushes::Successful => "successful",
        }
    }

    /// The group's last activity as this counts it: for [`CountedPushes::Any`],
    /// the later of its last push and its last failed push (a group whose
    /// pushes all failed has push time 0 but a fresh failure time, and its
    /// producer is alive), its newest family time stamp when neither is
    /// known; for [`CountedPushes::Successful`], its last
    /// successful push, `None` when none succeeded (its age is unknown
    /// then: the time its pushes started failing is not shown, and the
    /// family time stamps of a group without a success say nothing of it).
    pub fn last_activity(self, group: &Group) -> Option<f64> {
        self.counted(group).1
    }

    /// Which of the group's times is its last activity as this counts it,
    /// and that time: the one decision the plan's reason and every time it
    /// reports are read from.
    pub fn counted(self, group: &Group) -> (Activity, Option<f64>) {
        match (self, group.last_push, group.last_failure) {
            (CountedPushes::Successful, push, _) => (Activity::SuccessfulPush, push),
            (CountedPushes::Any, None, Some(failure)) => (Activity::FailedPushOnly, Some(failure)),
            (CountedPushes::Any, Some(push), Some(failure)) if failure > push => {
                (Activity::FailedPush, Some(failure))
            }
            (CountedPushes::Any, Some(push), _) => (Activity::Push, Some(push)),
            (CountedPushes::Any, None, None) => {
                (Activity::FamilyTimestamp, group.newest_family_time)
            }
        }
    }
}

/// Bounds on what a gateway may hold after a pass, per gateway; off
/// unless given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// `--max-groups`.
    pub max_groups: Option<u64>,
    /// `--max-series`.
    pub max_series: Option<u64>,
    /// `--evict-after`: only a group silent at least this long may be
    /// evicted.
    pub evict_after: Duration,
}

impl Bounds {
    /// The first bound that `groups` groups holding `series` series
    /// exceed: the group bound before the series bound.
    pub fn exceeded(&self, groups: u64, series: u64) -> Option<Bound> {
        match (self.max_groups, self.max_series) {
            (Some(max), _) if groups > max => Some(Bound::Groups(max)),
            (_, Some(max)) if series > max => Some(Bound::Series(max)),
            _ => None,
        }
    }
}

/// Which bound an eviction (or the lack of candidates) is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// `--max-groups N`.
    Groups(u64),
    /// `--max-series N`.
    Series(u64),
}

/// One group the gateway would hold after the pass, as the eviction
/// order sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Held {
    /// Its series.
    pub series: u64,
    /// Seconds since its last activity; `None` when unknown.
    pub silent_for: Option<f64>,
    /// Whether it may be evicted at all: not kept (`--keep`, threshold
    /// `never`, the janitor's own job), not ignored (`--select`), not
    /// skipped, not already going (stale or pending).
    pub evictable: bool,
}

/// What a bound makes of the groups a gateway would hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Evictions {
    /// The groups to evict (indices into what was given), in the order
    /// they were chosen, each with the bound it was evicted for.
    pub evicted: Vec<(usize, Bound)>,
}

/// Evicts from `held` (every group the gateway would hold once the stale
/// ones are gone) while what remains exceeds a bound: the group silent
/// longest among the evictable ones silent for at least `evict_after`
/// first; among equally silent ones, the one given first (the plan's
/// order: by grouping key). The group bound is checked before the series
/// bound, each eviction for the first bound exceeded. Redis' `maxmemory`
/// policies are the model: opt-in, and an order one can say in a line.
pub fn evict(held: &[Held], bounds: &Bounds) -> Evictions {
    let mut groups = held.len() as u64;
    let mut series: u64 = held.iter().map(|h| h.series).sum();
    let exceeded = |groups, series| bounds.exceeded(groups, series);
    let floor = bounds.evict_after.as_secs_f64();
    let mut candidates: Vec<(usize, f64)> = held
        .iter()
        .enumerate()
        .filter(|(_, h)| h.evictable)
        .filter_map(|(i, h)| h.silent_for.filter(|s| *s >= floor).map(|s| (i, s)))
        .collect();
    // Silent longest first; the sort is stable, so equals keep their order.
    candidates.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut evictions = Evictions::default();
    let mut next = candidates.into_iter();
    // Until within the bounds, or out of candidates: what is left over a
    // bound then is the report's to say, from what the pass left.
    while let Some(bound) = exceeded(groups, series) {
        let Some((i, _)) = next.next() else {
            break;
        };
        groups -= 1;
        series -= held[i].series;
        evictions.evicted.push((i, bound));
    }
    evictions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::{GroupingKey, Size};

    fn group(push: Option<f64>, failure: Option<f64>) -> Group {
        Group {
            key: GroupingKey::new([("job", "j")]).unwrap(),
            last_push: push,
            last_failure: failure,
            newest_family_time: Some(10.0),
            last_push_successful: None,
            ttl_metric: None,
            size: Size::default(),
        }
    }

    #[test]
    fn only_a_successful_push_is_activity_when_asked() {
        let failing = group(Some(100.0), Some(500.0));
        assert_eq!(CountedPushes::Any.last_activity(&failing), Some(500.0));
        assert_eq!(
            CountedPushes::Successful.last_activity(&failing),
            Some(100.0)
        );
        let never = group(None, Some(500.0));
        assert_eq!(CountedPushes::Any.last_activity(&never), Some(500.0));
        assert_eq!(CountedPushes::Successful.last_activity(&never), None);
        let fine = group(Some(300.0), Some(200.0));
        assert_eq!(CountedPushes::Successful.last_activity(&fine), Some(300.0));
    }

    /// Which time is the activity and what the reason calls it are one
    /// decision: the later of a push and a failed push, else the newest
    /// family time stamp; under --activity successful, the last success.
    #[test]
    fn the_activity_is_named_by_the_time_it_is() {
        use Activity::*;
        let mut stamped = group(None, None);
        stamped.newest_family_time = Some(50.0);
        for (g, any, successful) in [
            (
                group(None, Some(200.0)),
                (FailedPushOnly, Some(200.0)),
                None,
            ),
            (
                group(Some(300.0), Some(200.0)),
                (Push, Some(300.0)),
                Some(300.0),
            ),
            (
                group(Some(100.0), Some(200.0)),
                (FailedPush, Some(200.0)),
                Some(100.0),
            ),
            // A failure in the push's own second is not later than it.
            (
                group(Some(200.0), Some(200.0)),
                (Push, Some(200.0)),
                Some(200.0),
            ),
            (stamped, (FamilyTimestamp, Some(50.0)), None),
        ] {
            assert_eq!(CountedPushes::Any.counted(&g), any, "{g:?}");
            assert_eq!(
                CountedPushes::Successful.counted(&g),
                (SuccessfulPush, successful),
                "{g:?}"
            );
        }
    }

    fn held(series: u64, silent_for: f64) -> Held {
        Held {
            series,
            silent_for: Some(silent_for),
            evictable: true,
        }
    }

    fn bounds(max_groups: Option<u64>, max_series: Option<u64>, after: u64) -> Bounds {
        Bounds {
            max_groups,
            max_series,
            evict_after: Duration::from_secs(after),
        }
    }

    #[test]
    fn the_group_silent_longest_goes_first_until_the_bound_holds() {
        let held = [
            held(5, 100.0),
            held(5, 300.0),
            held(5, 200.0),
            held(5, 50.0),
        ];
        let e = evict(&held, &bounds(Some(2), None, 60));
        assert_eq!(
            e.evicted,
            vec![(1, Bound::Groups(2)), (2, Bound::Groups(2))]
        );
        // Within the bound: nothing.
        assert_eq!(
            evict(&held, &bounds(Some(4), Some(20), 0)),
            Evictions::default()
        );
    }

    #[test]
    fn series_are_bounded_after_groups_and_equals_keep_their_order() {
        let held = [held(10, 100.0), held(30, 100.0), held(5, 400.0)];
        // 45 series, at most 35: the 5 goes first (silent longest), then
        // the first of the two equally silent ones, and 30 remain.
        let e = evict(&held, &bounds(None, Some(35), 0));
        assert_eq!(
            e.evicted,
            vec![(2, Bound::Series(35)), (0, Bound::Series(35))]
        );
        // Both bounds: each eviction for the first one still exceeded.
        let e = evict(&held, &bounds(Some(2), Some(35), 0));
        assert_eq!(
            e.evicted,
            vec![(2, Bound::Groups(2)), (0, Bound::Series(35))]
        );
    }

    #[test]
    fn only_evictable_groups_silent_long_enough_go() {
        let kept = Held {
            evictable: false,
            ..held(100, 10_000.0)
        };
        let unknown = Held {
            silent_for: None,
            ..held(100, 0.0)
        };
        let held = [kept, unknown, held(1, 30.0), held(1, 90.0)];
        let e = evict(&held, &bounds(Some(1), None, 60));
        assert_eq!(e.evicted, vec![(3, Bound::Groups(1))]);
    }
}
