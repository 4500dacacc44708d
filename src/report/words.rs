//! The one place the plan's typed facts become words: a decision's
//! reason, where its threshold came from, the TTLs it ignored, a cap's
//! refusal, a sample value. The JSON, the human output, the notification,
//! the archive and the warnings all say them with these; nothing reads a
//! sentence back.

use std::time::Duration;

use serde::Serializer;

use super::{Action, Cause, OverCapacity};

use crate::duration::{human_age, human_seconds, human_threshold, human_threshold_seconds};
use crate::plan::health::Bound;
use crate::plan::{
    Activity, Bounded, Decision, Declared, GraceNote, IgnoredTtl, NotATtl, Reason, Refusal, Ruling,
    ThresholdSource,
};

/// The words of a decision's reason, as the archive records it before the
/// report exists.
pub fn decision_reason(d: &Decision) -> String {
    reason_words(
        &d.reason,
        d.age_seconds,
        d.threshold.seconds(),
        &d.threshold_source,
        &d.ttl_ignored,
    )
}

/// Whether a group's reason already says that no push of it ever
/// succeeded (its last activity is a failed push and there is no success,
/// or `--activity successful` found none): the human line then does not
/// say it again.
pub fn says_no_push_succeeded(reason: &Reason) -> bool {
    matches!(
        reason,
        Reason::NoSuccessfulPush
            | Reason::Judged {
                activity: Activity::FailedPushOnly | Activity::SuccessfulPush,
                ..
            }
    )
}

/// A reason in words: when the group was last active and what the policy
/// made of that, with the threshold and what set it, the TTLs ignored,
/// and what then held it back. The one place a decision becomes a
/// sentence; nothing reads one back.
pub fn reason_words(
    reason: &Reason,
    age: Option<f64>,
    threshold: Option<f64>,
    source: &ThresholdSource,
    ignored: &[IgnoredTtl],
) -> String {
    let (activity, ruling) = match reason {
        Reason::Unreadable(why) => return why.clone(),
        Reason::NotSelected => return "matched by no --select".into(),
        Reason::AgeUnknown => {
            return "no push time, failure time or family time stamp: the age is unknown".into()
        }
        Reason::NoSuccessfulPush => {
            return "no push ever succeeded: with --activity successful the age is unknown".into()
        }
        Reason::Judged { activity, ruling } => (activity, ruling),
    };
    let what = match activity {
        Activity::FailedPushOnly => "last failed push (no push ever succeeded)",
        Activity::FailedPush => "last failed push",
        Activity::Push => "last push",
        Activity::FamilyTimestamp => "newest metric family time stamp",
        Activity::SuccessfulPush => "last successful push (--activity successful)",
    };
    // Against the threshold only where the sentence compares them.
    let stale = match ruling {
        Ruling::Stale { .. } | Ruling::Unaddressable(_) => Some(true),
        Ruling::Active | Ruling::Evicted { .. } => Some(false),
        Ruling::OwnJob | Ruling::Kept(_) | Ruling::Never => None,
    };
    // The server clock's `Date` has whole seconds: a push in the same
    // second is up to a second after it, and not ahead of the clock.
    let seen = match age {
        // Only a protected group is judged without an age.
        None if *activity == Activity::SuccessfulPush => {
            "no push ever succeeded (--activity successful)".to_owned()
        }
        None => "no push time, failure time or family time stamp".to_owned(),
        Some(age) if age <= -1.0 => {
            format!("{what} {} ahead of the clock", human_seconds(-age))
        }
        Some(age) => {
            let against = stale.and(threshold);
            let age = human_age(age, against, stale.unwrap_or(false));
            format!("{what} {age} ago")
        }
    };
    let limit = threshold.map_or_else(|| "never".into(), human_threshold_seconds);
    // Said after the threshold it left in charge.
    let ignored = ignored_words(ignored)
        .map(|why| format!("; ignored {why}"))
        .unwrap_or_default();
    match ruling {
        Ruling::OwnJob => format!(
            "{seen}; job=\"{}\" is the janitor's own --push-metrics job, never deleted",
            crate::plan::OWN_JOB
        ),
        Ruling::Kept(keep) => format!("{seen}; protected by --keep '{keep}'"),
        Ruling::Never => format!("{seen}; never stale by {source}{ignored}"),
        Ruling::Active => format!("{seen}, within {limit} ({source}){ignored}"),
        Ruling::Unaddressable(why) => {
            format!("{seen}, longer than {limit} ({source}){ignored}; not deleted: {why}")
        }
        Ruling::Stale { grace, refused } => {
            let text = format!("{seen}, longer than {limit} ({source}){ignored}");
            held_back(text, grace, refused)
        }
        Ruling::Evicted {
            bound,
            held,
            evict_after,
            grace,
            refused,
        } => {
            // Whatever came of it (would_evict, pending, refused...): the
            // action says that, the reason why.
            let text = format!(
                "{} once the stale groups go; {seen}, at least --evict-after {} \
                 (within {limit}, {source}){ignored}",
                eviction_words(*bound, *held),
                human_threshold(*evict_after)
            );
            held_back(text, grace, refused)
        }
    }
}

/// A deleted group's reason, with what held it back: its grace period,
/// a cap's refusal.
fn held_back(mut text: String, grace: &Option<GraceNote>, refused: &Option<Refusal>) -> String {
    match grace {
        Some(GraceNote::Pending { period, left }) => text.push_str(&format!(
            "; pending for --grace {}: deletable in {}",
            human_threshold(*period),
            human_seconds(*left)
        )),
        Some(GraceNote::Past { period, stale_for }) => text.push_str(&format!(
            "; stale for {} without a push, past --grace {}",
            human_seconds(*stale_for),
            human_threshold(*period)
        )),
        None => {}
    }
    if let Some(refused) = refused {
        text.push_str(&format!("; {refused}"));
    }
    text
}

/// `--threshold`, `--rule '...'` as written, `ttl label NAME="VALUE"` or
/// `ttl metric NAME=VALUE`, with how `--min-ttl`/`--max-ttl` moved it.
impl std::fmt::Display for ThresholdSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ThresholdSource::Threshold => f.write_str("--threshold"),
            ThresholdSource::Rule { written, .. } => write!(f, "--rule '{written}'"),
            ThresholdSource::Ttl { declared, bounded } => {
                match declared {
                    Declared::Label { name, value } => write_label(f, name, value)?,
                    Declared::Metric { name, value } => {
                        write!(f, "ttl metric {name}={}", go_number(*value))?
                    }
                }
                match bounded {
                    Some(Bounded::RaisedToMin(min)) => {
                        write!(f, ", raised to --min-ttl {}", human_threshold(*min))
                    }
                    Some(Bounded::LoweredToMax(max)) => {
                        write!(f, ", lowered to --max-ttl {}", human_threshold(*max))
                    }
                    None => Ok(()),
                }
            }
            ThresholdSource::Rhythm {
                missed,
                cadence,
                raised_to_min,
            } => {
                let noun = if *missed == 1 { "push" } else { "pushes" };
                write!(
                    f,
                    "{missed} missed {noun} of {}, learned from {} pushes",
                    cadence_words(cadence),
                    cadence.pushes
                )?;
                match raised_to_min {
                    Some(min) => write!(f, ", raised to --min-ttl {}", human_threshold(*min)),
                    None => Ok(()),
                }
            }
        }
    }
}

/// A learned cadence as people say it: `~1h`, `~23h50m`, or `at most ~5m`
/// for a producer faster than the passes. Rounded to the second under two
/// minutes, to the minute under two days, to the hour beyond: the median
/// of a few gaps is no more exact than that.
pub fn cadence_words(cadence: &crate::rhythm::Learned) -> String {
    let unit = match cadence.seconds {
        s if s < 120.0 => 1.0,
        s if s < 172_800.0 => 60.0,
        _ => 3600.0,
    };
    let shown = ((cadence.seconds / unit).round() * unit).max(1.0);
    let words = human_threshold_seconds(shown);
    match cadence.upper_bound {
        true => format!("at most ~{words}"),
        false => format!("~{words}"),
    }
}

fn write_label(f: &mut std::fmt::Formatter<'_>, name: &str, value: &str) -> std::fmt::Result {
    write!(
        f,
        "ttl label {}={value:?}",
        crate::group::quote_label_name(name)
    )
}

/// `ttl label NAME="VALUE": why`, `ttl metric NAME=VALUE: why`.
impl std::fmt::Display for IgnoredTtl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IgnoredTtl::Label { name, value, why } => {
                write_label(f, name, value)?;
                write!(f, ": {why}")
            }
            IgnoredTtl::Metric { name, value, why } => {
                let why = match why {
                    NotATtl::NaN => "NaN is not a TTL",
                    NotATtl::NotPositive => "a TTL must be greater than zero",
                };
                write!(f, "ttl metric {name}={}: {why}", go_number(*value))
            }
            IgnoredTtl::MetricUnread { name, why } => write!(f, "ttl metric {name}: {why}"),
        }
    }
}

/// The ignored TTLs, `; `-separated; `None` when there are none.
pub fn ignored_words(ignored: &[IgnoredTtl]) -> Option<String> {
    (!ignored.is_empty()).then(|| {
        ignored
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// Which cap refused a plan and by how much.
impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Refusal::MaxDeletes { max, stale } => write!(
                f,
                "refused by --max-deletes {max}: the plan deletes {stale} groups"
            ),
            Refusal::MaxDeleteRatio {
                max,
                stale,
                considered,
            } => write!(
                f,
                "refused by --max-delete-ratio {max}: the plan deletes {stale} of the {considered} groups considered ({:.1}%)",
                100.0 * stale as f64 / considered as f64
            ),
        }
    }
}

/// Serializes a typed fact as its words.
pub fn words<T: std::fmt::Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

pub(super) fn refusal_words<S: Serializer>(
    refused: &Option<Refusal>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match refused {
        Some(r) => s.collect_str(r),
        None => s.serialize_none(),
    }
}

/// A sample value as the gateway writes it (Go's `%v`): `1800`, `0.5`,
/// `+Inf`, `NaN`, and with an exponent from a million on and under 1e-4
/// (`1e+06`, `1e+300`, `1e-05`), never hundreds of digits.
pub fn go_number(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    // Rust's `{:e}` has the shortest digits that read back, as Go's.
    let e = format!("{v:e}");
    let (mantissa, exponent) = e.split_once('e').unwrap_or((&e, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if v != 0.0 && !(-4..6).contains(&exponent) {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    } else {
        v.to_string()
    }
}

/// A bound's flag, its value and what it counts.
fn bound_parts(bound: Bound) -> (&'static str, u64, &'static str) {
    match bound {
        Bound::Groups(max) => ("--max-groups", max, "groups"),
        Bound::Series(max) => ("--max-series", max, "series"),
    }
}

/// The bound a group was evicted for, as its flag: `--max-groups 1000`.
pub fn bound_words(bound: Bound) -> String {
    let (flag, max, _) = bound_parts(bound);
    format!("{flag} {max}")
}

/// Why a bound took a group: the bound and what the gateway would hold of
/// it, `eviction for --max-series 400: the gateway would hold 812 series`.
/// The reason and the human line both start with it, whatever came of the
/// eviction (`would_evict`, `pending`, `refused`...).
pub fn eviction_words(bound: Bound, held: u64) -> String {
    let (_, _, what) = bound_parts(bound);
    format!(
        "eviction for {}: the gateway would hold {held} {what}",
        bound_words(bound)
    )
}

/// An eviction's human line after its labels: why, and its silence
/// against `--evict-after` (`…; silent 49s, at least --evict-after 20s`);
/// `failing` says whether its pushes fail, as on a stale group's line.
pub fn eviction_line(
    bound: Bound,
    held: u64,
    age: Option<f64>,
    evict_after: Duration,
    failing: &str,
) -> String {
    let floor = evict_after.as_secs_f64();
    let silent = age.map_or_else(|| "?".into(), |a| human_age(a, Some(floor), true));
    format!(
        "{}; silent {silent}{failing}, at least --evict-after {}",
        eviction_words(bound, held),
        human_threshold(evict_after)
    )
}

/// How a count of evictions that ended with `action` reads in a
/// gateway's summary line (`2 evicted`, `1 pending`), before the bound
/// they were for; `None` for an action no eviction ends with.
pub fn evictions_ended(action: Action) -> Option<&'static str> {
    match action {
        Action::Evicted => Some("evicted"),
        Action::WouldEvict => Some("would be evicted"),
        Action::Pending => Some("pending"),
        Action::Refused => Some("refused"),
        Action::DeleteFailed => Some("failed"),
        Action::Unconfirmed => Some("unconfirmed"),
        Action::StillPresent => Some("still present"),
        Action::Repushed => Some("repushed"),
        // A stale group's DELETE, or no eviction at all.
        Action::Deleted
        | Action::WouldDelete
        | Action::Kept
        | Action::Active
        | Action::Skipped
        | Action::Ignored => None,
    }
}

/// What a gateway still exceeds after the pass, and why: the `over
/// capacity` warning's words.
pub fn over_capacity_words(over: &OverCapacity) -> String {
    let (flag, max, what) = bound_parts(over.bound);
    let holds = if over.planned {
        "would still hold"
    } else {
        "still holds"
    };
    let why: Vec<&str> = over.causes.iter().map(cause_words).collect();
    format!(
        "the gateway {holds} more than {flag} {max} {what} after the pass: {}",
        why.join("; ")
    )
}

/// Why a gateway is still over a bound, in the words of the warning (and
/// of docs/health.md's table).
pub fn cause_words(cause: Cause) -> &'static str {
    match cause {
        Cause::Pending => {
            "groups that would bring it within the bound are pending (--grace); a later pass \
             deletes them"
        }
        Cause::Refused => "a safety cap refused the plan: its groups were not deleted",
        Cause::NoCandidate => {
            "no group is left to evict (the others are silent less than --evict-after, kept, \
             ignored or skipped)"
        }
        Cause::DeleteFailed => "DELETEs failed",
        Cause::NotSent => {
            "DELETEs were not sent (an archive record could not be written, or the gateway was \
             unreachable)"
        }
        Cause::NotConfirmed => {
            "DELETEs were accepted but not confirmed: no re-scan showed the groups gone in time"
        }
        Cause::PushedAgain => "groups were pushed again after their DELETE landed (repushed)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_values_read_as_the_gateway_writes_them() {
        for (v, text) in [
            (1800.0, "1800"),
            (0.5, "0.5"),
            (123_456.0, "123456"),
            (1e6, "1e+06"),
            (1_234_567.0, "1.234567e+06"),
            (1e300, "1e+300"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.0, "0"),
            (-30.0, "-30"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ] {
            assert_eq!(go_number(v), text, "{v}");
        }
    }
}
