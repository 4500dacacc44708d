//! Pure decisions: which groups are stale. No I/O and no clock of its own:
//! `now` is passed in, so every age decision is testable without sleeping.

use std::time::Duration;

use crate::gateway::{Entry, SkippedGroup};
use crate::group::Group;

/// What decides staleness.
#[derive(Debug, Clone)]
pub struct Policy {
    /// A group is stale when `now - last activity > threshold`.
    pub threshold: Duration,
}

/// What the plan says to do with one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Silent for longer than its threshold.
    Stale,
    /// Active recently enough.
    Keep,
    /// Cannot be judged or addressed safely; never deleted.
    Skip,
}

/// The decision about one scanned entry.
#[derive(Debug, Clone)]
pub struct Decision {
    pub subject: Subject,
    pub verdict: Verdict,
    /// Seconds since the last activity, when known.
    pub age_seconds: Option<f64>,
    pub threshold: Duration,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub enum Subject {
    Group(Group),
    Skipped(SkippedGroup),
}

/// Every entry of a scan with its decision, sorted: groups by grouping key
/// (job first), then the skipped ones by their labels.
#[derive(Debug, Clone)]
pub struct Plan {
    pub decisions: Vec<Decision>,
}

impl Plan {
    pub fn stale(&self) -> impl Iterator<Item = &Decision> {
        self.decisions
            .iter()
            .filter(|d| d.verdict == Verdict::Stale)
    }
}

/// Decides every entry of a scan. `now` is Unix seconds.
pub fn decide(entries: Vec<Entry>, policy: &Policy, now: f64) -> Plan {
    let mut decisions: Vec<Decision> = entries
        .into_iter()
        .map(|entry| match entry {
            Entry::Group(group) => decide_group(group, policy.threshold, now),
            Entry::Skipped(skipped) => Decision {
                reason: skipped.reason.clone(),
                subject: Subject::Skipped(skipped),
                verdict: Verdict::Skip,
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
    Plan { decisions }
}

fn decide_group(group: Group, threshold: Duration, now: f64) -> Decision {
    let Some(last) = group.last_activity() else {
        return Decision {
            subject: Subject::Group(group),
            verdict: Verdict::Skip,
            age_seconds: None,
            threshold,
            reason: "no push time, failure time or family time stamp: the age is unknown".into(),
        };
    };
    let age = now - last;
    let limit = threshold.as_secs_f64();
    let source = match (group.last_push, group.last_failure) {
        (None, Some(_)) => "last failed push (no push ever succeeded)",
        (Some(p), Some(f)) if f > p => "last failed push",
        (Some(_), _) => "last push",
        (None, None) => "newest metric family time stamp",
    };
    let (verdict, reason) = if age > limit {
        (
            Verdict::Stale,
            format!(
                "{source} {} ago, longer than the threshold {}",
                human_seconds(age),
                human_seconds(limit)
            ),
        )
    } else {
        (
            Verdict::Keep,
            format!(
                "{source} {} ago, within the threshold {}",
                human_seconds(age),
                human_seconds(limit)
            ),
        )
    };
    Decision {
        subject: Subject::Group(group),
        verdict,
        age_seconds: Some(age),
        threshold,
        reason,
    }
}

/// Whole seconds in humantime's style (`2h 3m 5s`); negative ages (a clock
/// behind the gateway's) keep their sign.
pub fn human_seconds(secs: f64) -> String {
    let whole = secs.abs().round() as u64;
    let text = humantime::format_duration(Duration::from_secs(whole)).to_string();
    if secs < 0.0 && whole > 0 {
        format!("-{text}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::GroupingKey;

    fn group(job: &str, push: Option<f64>, failure: Option<f64>) -> Entry {
        Entry::Group(Group {
            key: GroupingKey::new([("job", job)]).unwrap(),
            last_push: push,
            last_failure: failure,
            newest_family_time: None,
            last_push_successful: None,
        })
    }

    fn policy(secs: u64) -> Policy {
        Policy {
            threshold: Duration::from_secs(secs),
        }
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
        );
        assert_eq!(
            verdicts(&plan),
            vec![
                ("edge".into(), Verdict::Keep),
                ("new".into(), Verdict::Keep),
                ("old".into(), Verdict::Stale),
            ]
        );
    }

    #[test]
    fn failing_pushes_keep_a_group_alive() {
        let plan = decide(
            vec![group("failing", None, Some(1590.0))],
            &policy(60),
            1600.0,
        );
        assert_eq!(plan.decisions[0].verdict, Verdict::Keep);
        assert!(plan.decisions[0].reason.contains("no push ever succeeded"));
    }

    #[test]
    fn a_later_failure_counts_over_an_old_push() {
        let plan = decide(
            vec![group("j", Some(10.0), Some(1590.0))],
            &policy(60),
            1600.0,
        );
        assert_eq!(plan.decisions[0].verdict, Verdict::Keep);
        assert_eq!(plan.decisions[0].age_seconds, Some(10.0));
    }

    #[test]
    fn unknown_age_is_skipped_not_deleted() {
        let plan = decide(vec![group("j", None, None)], &policy(60), 1600.0);
        assert_eq!(plan.decisions[0].verdict, Verdict::Skip);
    }

    #[test]
    fn family_time_stamp_stands_in_when_both_times_are_zero() {
        let mut e = group("j", None, None);
        if let Entry::Group(g) = &mut e {
            g.newest_family_time = Some(100.0);
        }
        let plan = decide(vec![e], &policy(60), 1600.0);
        assert_eq!(plan.decisions[0].verdict, Verdict::Stale);
        assert!(plan.decisions[0].reason.contains("time stamp"));
    }

    #[test]
    fn a_clock_behind_the_gateway_keeps_groups() {
        let plan = decide(vec![group("j", Some(2000.0), None)], &policy(60), 1600.0);
        assert_eq!(plan.decisions[0].verdict, Verdict::Keep);
        assert_eq!(plan.decisions[0].age_seconds, Some(-400.0));
    }

    #[test]
    fn skipped_entries_sort_last() {
        let plan = decide(
            vec![
                Entry::Skipped(SkippedGroup {
                    labels: vec![],
                    reason: "bad".into(),
                }),
                group("z", Some(1.0), None),
            ],
            &policy(60),
            1600.0,
        );
        assert_eq!(plan.decisions[0].verdict, Verdict::Stale);
        assert_eq!(plan.decisions[1].verdict, Verdict::Skip);
    }

    #[test]
    fn human_seconds_formats() {
        assert_eq!(human_seconds(7385.2), "2h 3m 5s");
        assert_eq!(human_seconds(-90.0), "-1m 30s");
        assert_eq!(human_seconds(0.2), "0s");
    }
}
