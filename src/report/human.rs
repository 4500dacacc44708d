//! The report as people read it: one line per group acted on (with `-v`
//! per group kept too), a summary line per gateway, and at `-v` the
//! gateway's size. Made from the report's typed facts, worded by `words`.

use super::*;
use crate::plan::health::Bound;
use words::{eviction_line, evictions_ended};

impl Report {
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
                let failing = match (g.health.last_push_failed, &g.last_push) {
                    (true, None) => ", no push ever succeeded".to_owned(),
                    (true, Some(success)) => {
                        format!(", its last push failed (last success {success})")
                    }
                    (false, _) => String::new(),
                };
                match g.action.properties().line {
                    Line::Unjudged | Line::Stays if !verbose => continue,
                    Line::Problem | Line::Unjudged => {
                        let why = g.reason_words();
                        writeln!(out, "{:<13}  {}: {why}", human(g.action), g.labels)?;
                        continue;
                    }
                    // Why it stays says it all (its age, its threshold and
                    // what set it, or what protects it), and whether its
                    // pushes fail.
                    Line::Stays => {
                        let why = g.reason_words();
                        let failing = match g.last_push.is_none()
                            && words::says_no_push_succeeded(&g.reason)
                        {
                            true => "",
                            false => failing.as_str(),
                        };
                        let late = g.rhythm.human_words();
                        writeln!(
                            out,
                            "{:<13}  {}  {why}{failing}{late}",
                            human(g.action),
                            g.labels
                        )?;
                        continue;
                    }
                    Line::Silence => {}
                }
                write!(out, "{:<13}  {}  ", human(g.action), g.labels)?;
                match g.reason.eviction() {
                    // An eviction says so, for which bound and what size,
                    // whatever came of it: its threshold did not decide.
                    Some(e) => write!(
                        out,
                        "{}{}",
                        eviction_line(e.bound, e.held, g.age_seconds, e.evict_after, &failing),
                        g.rhythm.human_words()
                    )?,
                    None => {
                        let age = g.age_seconds.map_or("?".into(), |a| {
                            human_age(a, g.threshold_seconds, g.action.is_stale())
                        });
                        write!(
                            out,
                            "silent {age}{failing}{} (threshold {}, {})",
                            g.rhythm.human_words(),
                            g.threshold_seconds
                                .map_or_else(|| "never".into(), human_threshold_seconds),
                            g.threshold_source
                        )?
                    }
                }
                match (&g.error, &g.deletable_at) {
                    (Some(e), _) => writeln!(out, ": {e}")?,
                    (None, Some(at)) if g.action == Action::Pending => {
                        writeln!(out, ": deletable from {at}")?
                    }
                    _ => writeln!(out)?,
                }
            }
            if stamped {
                write!(out, "{} ", self.finished_at)?;
            }
            writeln!(out, "{}", summary_line(gw, self.dry_run))?;
            if verbose {
                write_size(out, gw)?;
            }
        }
        Ok(())
    }
}

/// A gateway's summary line: its groups, the stale ones and what came of
/// them, the evictions apart, per bound, the groups that stay, and those
/// whose pushes fail. Counted from each group's action (the action table)
/// and the plan's ruling (an eviction or not), never from words.
fn summary_line(gw: &GatewayReport, dry_run: bool) -> String {
    let (evictions, others): (Vec<&GroupReport>, Vec<&GroupReport>) = gw
        .groups
        .iter()
        .partition(|g| g.reason.eviction().is_some());
    let s = Summary::of_actions(others.iter().map(|g| g.action));
    let all = &gw.summary;
    let mut line = format!(
        "{}: {} {}, {} stale: ",
        gw.name(),
        all.groups,
        if all.groups == 1 { "group" } else { "groups" },
        s.stale()
    );
    if s.count(Action::Pending) > 0 {
        line.push_str(&format!("{} pending, ", s.count(Action::Pending)));
    }
    if let Some(why) = &gw.refused {
        line.push_str(&format!("none deleted, {why}"));
    } else if dry_run {
        line.push_str(&format!(
            "{} would be deleted",
            s.count(Action::WouldDelete)
        ));
    } else {
        line.push_str(&format!(
            "{} deleted, {} failed",
            s.count(Action::Deleted),
            s.count(Action::DeleteFailed)
        ));
        // Accepted, but no re-scan confirmed them in time.
        if s.count(Action::Unconfirmed) > 0 {
            line.push_str(&format!(", {} unconfirmed", s.count(Action::Unconfirmed)));
        }
        if s.count(Action::Repushed) + s.count(Action::StillPresent) > 0 {
            line.push_str(&format!(
                ", {} repushed, {} still present",
                s.count(Action::Repushed),
                s.count(Action::StillPresent)
            ));
        }
    }
    // Per bound, in the order the plan checks them: what came of its
    // evictions (`2 evicted for --max-series 400`).
    let mut bounds: Vec<Bound> = evictions
        .iter()
        .filter_map(|g| g.reason.eviction().map(|e| e.bound))
        .collect();
    bounds.sort_by_key(|b| matches!(b, Bound::Series(_)));
    bounds.dedup();
    for bound in bounds {
        let of_bound = Summary::of_actions(
            evictions
                .iter()
                .filter(|g| g.reason.eviction().is_some_and(|e| e.bound == bound))
                .map(|g| g.action),
        );
        let ended: Vec<String> = Action::ALL
            .iter()
            .filter_map(|a| evictions_ended(*a).map(|words| (of_bound.count(*a), words)))
            .filter(|(n, _)| *n > 0)
            .map(|(n, words)| format!("{n} {words}"))
            .collect();
        line.push_str(&format!(
            "; {} for {}",
            ended.join(", "),
            bound_words(bound)
        ));
    }
    line.push_str(&format!(
        "; {} active, {} kept, {} skipped",
        all.count(Action::Active),
        all.count(Action::Kept),
        all.count(Action::Skipped)
    ));
    if let Some(why) = most_common_skip_reason(&gw.groups) {
        line.push_str(&format!(" (most often: {why})"));
    }
    if all.count(Action::Ignored) > 0 {
        line.push_str(&format!(", {} ignored", all.count(Action::Ignored)));
    }
    // Groups whose pushes the gateway keeps rejecting: alive, and their
    // old values look current (docs/health.md); seen without -v.
    if gw.health.groups_failing > 0 {
        line.push_str(&format!(", {} failing", gw.health.groups_failing));
    }
    if dry_run {
        line.push_str(" (dry run: nothing sent)");
    }
    line
}

/// How many groups the `-v` size line names.
const LARGEST_SHOWN: usize = 5;

/// `-v`: the gateway's size as scanned, what the pass left (in a dry run,
/// what its plan would leave: said as a plan, not as a measure) and the
/// largest groups left by series.
fn write_size(out: &mut impl Write, gw: &GatewayReport) -> io::Result<()> {
    let Some(size) = gw.health.size else {
        return Ok(());
    };
    write!(out, "{}: size: {} in the API", gw.name(), size_words(size))?;
    if gw.health.groups_failing > 0 {
        write!(out, "; {} failing", gw.health.groups_failing)?;
    }
    let planned = gw.health.planned_size_after.is_some();
    match (gw.health.planned_size_after, gw.health.size_after) {
        (Some(left), _) => write!(out, "; the plan would leave {}", size_words(left))?,
        (None, Some(left)) => write!(out, "; after the pass: {}", size_words(left))?,
        (None, None) => {}
    }
    let left = |g: &&GroupReport| {
        if planned {
            !g.action.would_go()
        } else {
            !g.action.is_gone()
        }
    };
    let mut largest: Vec<&GroupReport> = gw
        .groups
        .iter()
        .filter(left)
        .filter(|g| g.health.series > 0)
        .collect();
    // Most series first; among equals, the first in the report.
    largest.sort_by_key(|g| std::cmp::Reverse(g.health.series));
    if !largest.is_empty() {
        write!(out, "; largest left by series:")?;
        for (i, g) in largest.iter().take(LARGEST_SHOWN).enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(out, "{sep}{} {}", g.labels, g.health.series)?;
        }
    }
    writeln!(out)
}

/// `2 groups, 7 series, 1.2 KiB`.
fn size_words(size: GatewaySize) -> String {
    format!(
        "{} {}, {} series, {}",
        size.groups,
        if size.groups == 1 { "group" } else { "groups" },
        size.series,
        human_bytes(size.bytes)
    )
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

/// Why most skipped groups were skipped: what is wrong with each (for a
/// stale group the gateway cannot be sent, only that), counted.
fn most_common_skip_reason(groups: &[GroupReport]) -> Option<String> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for g in groups.iter().filter(|g| g.action == Action::Skipped) {
        let why = match &g.reason {
            Reason::Judged {
                ruling: Ruling::Unaddressable(why),
                ..
            } => why.clone(),
            _ => g.reason_words(),
        };
        match counts.iter_mut().find(|(w, _)| *w == why) {
            Some((_, n)) => *n += 1,
            None => counts.push((why, 1)),
        }
    }
    // The first of the most frequent, so the line is stable.
    let max = counts.iter().map(|(_, n)| *n).max()?;
    counts.into_iter().find(|(_, n)| *n == max).map(|(w, _)| w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Activity;

    /// A group of `action`; evicted for `bound` when one is given.
    fn group(job: &str, action: Action, bound: Option<(Bound, u64)>) -> GroupReport {
        let ruling = match bound {
            Some((bound, held)) => Ruling::Evicted {
                bound,
                held,
                evict_after: std::time::Duration::from_secs(20),
                grace: None,
                refused: None,
            },
            None => Ruling::Stale {
                grace: None,
                refused: None,
            },
        };
        GroupReport {
            health: GroupHealth {
                last_push_failed: job == "failing",
                ..GroupHealth::default()
            },
            labels: LabelSet(vec![("job".into(), job.into())]),
            last_push: Some(Time(100.0)),
            last_failure: None,
            last_activity: Some(Time(100.0)),
            age_seconds: Some(49.0),
            threshold_seconds: Some(3600.0),
            last_push_successful: Some(true),
            action,
            reason: Reason::Judged {
                activity: Activity::Push,
                ruling,
            },
            error: action.is_failure().then(|| "HTTP 500".to_owned()),
            archive: None,
            threshold_source: crate::plan::ThresholdSource::Threshold,
            ttl_ignored: Vec::new(),
            stale_since: None,
            deletable_at: Some(Time(700.0)),
            newly_pending: false,
            rhythm: Default::default(),
            unsent: false,
        }
    }

    fn human(groups: Vec<GroupReport>, dry_run: bool) -> String {
        let gw = human_gateway(groups);
        let mut out = Vec::new();
        Report::new(dry_run, 0.0, 149.0, Some(3600.0), vec![gw])
            .write_human(&mut out, false, false)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    fn human_gateway(groups: Vec<GroupReport>) -> GatewayReport {
        GatewayReport {
            health: GatewayHealth::of(&groups, false, None),
            ..crate::report::tests::scanned_gateway(groups, 149.0)
        }
    }

    /// A kept group none of whose pushes succeeded, under `--activity
    /// successful`: its reason says so, and its line says it once (it said
    /// `... (--activity successful); protected by --keep '...', no push
    /// ever succeeded`). A stale one's line, which shows no reason, still
    /// says it.
    #[test]
    fn a_line_says_once_that_no_push_succeeded() {
        let mut kept = group("failing", Action::Kept, None);
        kept.last_push = None;
        kept.last_push_successful = None;
        kept.age_seconds = None;
        kept.reason = Reason::Judged {
            activity: Activity::SuccessfulPush,
            ruling: Ruling::Kept("{job=\"failing\"}".into()),
        };
        let mut stale = group("failing", Action::WouldDelete, None);
        stale.labels = LabelSet(vec![("job".into(), "stale".into())]);
        stale.last_push = None;
        stale.reason = Reason::Judged {
            activity: Activity::FailedPushOnly,
            ruling: Ruling::Stale {
                grace: None,
                refused: None,
            },
        };
        let gw = human_gateway(vec![kept, stale]);
        let mut out = Vec::new();
        Report::new(true, 0.0, 149.0, Some(3600.0), vec![gw])
            .write_human(&mut out, true, false)
            .unwrap();
        let out = String::from_utf8(out).unwrap();
        let kept = out.lines().find(|l| l.contains("job=\"failing\"")).unwrap();
        assert_eq!(kept.matches("no push ever succeeded").count(), 1, "{out}");
        let stale = out.lines().find(|l| l.contains("job=\"stale\"")).unwrap();
        assert!(stale.contains("no push ever succeeded"), "{out}");
    }

    /// Issue 29 items 2 and 7: an eviction's line names its bound and the
    /// size it acts on; the summary counts evictions apart, per bound and
    /// by what came of them, the unconfirmed deletes, and the groups whose
    /// pushes fail. Before: `silent 49s (threshold 1h, --threshold)` on
    /// each line, and `5 stale: 1 deleted, 1 failed, 1 evicted` (the
    /// unconfirmed ones and the failing group nowhere).
    #[test]
    fn evictions_read_as_evictions_and_the_summary_counts_them_apart() {
        let series = Some((Bound::Series(400), 812));
        let text = human(
            vec![
                group("stale", Action::Deleted, None),
                group("slow", Action::Unconfirmed, None),
                group("big", Action::Evicted, Some((Bound::Groups(3), 5))),
                group("wide", Action::DeleteFailed, series),
                group("late", Action::Unconfirmed, series),
                group("failing", Action::Active, None),
            ],
            false,
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[2],
            r#"evicted        {job="big"}  eviction for --max-groups 3: the gateway would hold 5 groups; silent 49s, at least --evict-after 20s"#
        );
        assert_eq!(
            lines[3],
            r#"delete failed  {job="wide"}  eviction for --max-series 400: the gateway would hold 812 series; silent 49s, at least --evict-after 20s: HTTP 500"#
        );
        assert_eq!(
            lines.last().copied(),
            Some(
                "http://a: 6 groups, 2 stale: 1 deleted, 0 failed, 1 unconfirmed; \
                 1 evicted for --max-groups 3; 1 failed, 1 unconfirmed for --max-series 400; \
                 1 active, 0 kept, 0 skipped, 1 failing"
            )
        );

        // A dry run, and a pending eviction: pending for its bound.
        let text = human(
            vec![
                group("big", Action::WouldEvict, series),
                group("next", Action::Pending, series),
            ],
            true,
        );
        assert!(text.starts_with(r#"would evict    {job="big"}  eviction for --max-series 400: the gateway would hold 812 series; silent 49s, at least --evict-after 20s
pending        {job="next"}  eviction for --max-series 400: the gateway would hold 812 series; silent 49s, at least --evict-after 20s: deletable from 1970-01-01T00:11:40.000Z
"#), "{text}");
        assert!(
            text.ends_with(
                "http://a: 2 groups, 0 stale: 0 would be deleted; \
             1 would be evicted, 1 pending for --max-series 400; \
             0 active, 0 kept, 0 skipped (dry run: nothing sent)\n"
            ),
            "{text}"
        );
    }

    /// Every action an eviction can end with (the action table's, for a
    /// bound's verdict and every outcome of its DELETE, or held back by
    /// --grace or a cap) has words in the summary, and no other has.
    #[test]
    fn every_end_of_an_eviction_has_its_words() {
        use crate::plan::{Outcome, Verdict};
        let e = String::new;
        let mut ends = vec![Action::Pending, Action::Refused];
        for dry_run in [false, true] {
            for outcome in [
                Outcome::NotSent,
                Outcome::Accepted,
                Outcome::Repushed,
                Outcome::Failed(e()),
                Outcome::StillPresent(e()),
                Outcome::Unconfirmed(e()),
            ] {
                ends.push(action(Verdict::Evict, outcome, dry_run).0);
            }
        }
        for a in Action::ALL {
            assert_eq!(evictions_ended(a).is_some(), ends.contains(&a), "{a:?}");
        }
    }
}
