//! The report as people read it: one line per group acted on (with `-v`
//! per group kept too), a summary line per gateway, and at `-v` the
//! gateway's size. Made from the report's typed facts, worded by `words`.

use super::*;

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
                let age = g.age_seconds.map_or("?".into(), |a| {
                    human_age(a, g.threshold_seconds, g.action.is_stale())
                });
                write!(
                    out,
                    "{:<13}  {}  silent {}{failing}{} (threshold {}, {})",
                    human(g.action),
                    g.labels,
                    age,
                    g.rhythm.human_words(),
                    g.threshold_seconds
                        .map_or_else(|| "never".into(), human_threshold_seconds),
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
                if s.count(Action::WouldEvict) > 0 {
                    write!(out, ", {} would be evicted", s.count(Action::WouldEvict))?;
                }
            } else {
                write!(
                    out,
                    "{} deleted, {} failed",
                    s.count(Action::Deleted),
                    s.count(Action::DeleteFailed)
                )?;
                if s.count(Action::Evicted) > 0 {
                    write!(out, ", {} evicted", s.count(Action::Evicted))?;
                }
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
