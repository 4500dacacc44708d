//! A group's rhythm as the report has it (`cadence_seconds`, `late`,
//! `returned`, ...), and the words the human output and the warnings use
//! for it. Made from `rhythm`'s typed facts.

use serde::Serialize;

use super::Time;
use crate::duration::{human_seconds, human_threshold};
use crate::rhythm::{Cadence, Returned};

/// What the passes learned of one group's rhythm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct GroupRhythm {
    /// The learned cadence (median gap between pushes), in seconds; null
    /// while learning, or when nothing is remembered (no `--state-file`,
    /// not `--every`).
    pub cadence_seconds: Option<f64>,
    /// The janitor may have missed pushes between its passes: the cadence
    /// is at most `cadence_seconds`.
    pub cadence_upper_bound: bool,
    /// While learning: how many more pushes are needed; null otherwise.
    pub pushes_needed: Option<u32>,
    /// The gaps remembered disagree too much to be a cadence (bursts,
    /// pushes at a run's start and end): no cadence, never late, and
    /// `--missed-pushes` leaves it to `--threshold`.
    pub irregular: bool,
    /// Silent longer than `--late-after` times its cadence (never deleted
    /// for it).
    pub late: bool,
    /// Deleted as stale by an earlier pass and pushed again under the same
    /// grouping key: the threshold was too short for its producer.
    pub returned: Option<ReturnedReport>,
}

/// A group that came back after it was deleted as stale.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReturnedReport {
    pub deleted_at: Time,
    pub pushed_again: Time,
    /// From the delete to the new push.
    pub after_seconds: f64,
    /// From the push before the delete to the new one.
    pub gap_seconds: f64,
    /// A threshold that would have kept it (the gap and a tenth).
    pub threshold_that_keeps_seconds: f64,
}

impl GroupRhythm {
    /// The report's rhythm of a group with this cadence (`None`: nothing
    /// is remembered), late or not, returned or not.
    pub fn of(cadence: Option<Cadence>, late: bool, returned: Option<Returned>) -> GroupRhythm {
        let (cadence_seconds, cadence_upper_bound, pushes_needed) = match cadence {
            Some(Cadence::Learned(l)) => (Some(l.seconds), l.upper_bound, None),
            Some(Cadence::Learning { needed }) => (None, false, Some(needed as u32)),
            Some(Cadence::Irregular) | None => (None, false, None),
        };
        GroupRhythm {
            cadence_seconds,
            cadence_upper_bound,
            pushes_needed,
            irregular: cadence == Some(Cadence::Irregular),
            late,
            returned: returned.map(|r| ReturnedReport {
                deleted_at: Time(r.deleted_at),
                pushed_again: Time(r.pushed_again),
                after_seconds: round_ms(r.pushed_again - r.deleted_at),
                gap_seconds: round_ms(r.gap()),
                threshold_that_keeps_seconds: r.threshold_that_keeps().as_secs_f64(),
            }),
        }
    }

    /// What the human line adds: `, late (cadence ~1h)`, or nothing.
    pub fn human_words(&self) -> String {
        match (self.late, self.cadence_seconds) {
            (true, Some(seconds)) => {
                let cadence = crate::rhythm::Learned {
                    seconds,
                    upper_bound: self.cadence_upper_bound,
                    pushes: 0,
                };
                format!(", late (cadence {})", super::words::cadence_words(&cadence))
            }
            _ => String::new(),
        }
    }
}

fn round_ms(s: f64) -> f64 {
    (s * 1000.0).round() / 1000.0
}

/// The warning for a returned group, after its grouping key: when it was
/// deleted, how long after it came back, and the rule (or TTL label) that
/// would have kept it.
pub fn returned_words(
    key: &crate::group::GroupingKey,
    r: &Returned,
    ttl_label: Option<&str>,
) -> String {
    let keeps = human_threshold(r.threshold_that_keeps());
    let label = ttl_label
        .map(|name| format!(", or push it with the label {name}=\"{keeps}\""))
        .unwrap_or_default();
    format!(
        "returned: deleted as stale at {}, pushed again {} later (its pushes are {} apart): \
         its threshold is too short for its producer; --rule '{key}={keeps}' would have kept it{label}",
        Time(r.deleted_at),
        human_seconds(r.pushed_again - r.deleted_at),
        human_seconds(r.gap()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_returned_group_is_named_with_the_rule_that_keeps_it() {
        let key = crate::group::GroupingKey::new([("job", "backup")]).unwrap();
        let r = Returned {
            deleted_at: 1_000_600.0,
            last_push: 1_000_000.0,
            pushed_again: 1_086_400.0,
        };
        let words = returned_words(&key, &r, Some("ttl"));
        assert!(
            words.contains(r#"--rule '{job="backup"}=27h' would have kept it"#),
            "{words}"
        );
        assert!(words.contains("pushed again 23h50m later"), "{words}");
        assert!(words.contains(r#"the label ttl="27h""#), "{words}");
        let g = GroupRhythm::of(None, false, Some(r));
        assert_eq!(g.returned.unwrap().after_seconds, 85_800.0);
    }
}
