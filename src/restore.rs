//! `pushgateway-janitor restore FILE... --url URL`: pushes archived groups
//! (`--archive`) back to a Pushgateway, each with `PUT` to its exact
//! grouping key, in the protobuf push format ([`family`]).
//!
//! A group the gateway holds again is left alone unless `--replace` (its
//! producer came back; what it pushed since is newer than the archive).
//! When the files hold a group more than once (archived, pushed again,
//! archived again), the newest record is the one restored. The gateway
//! sets the push time itself: a restored group is as fresh as a new push.

pub mod family;
pub mod protobuf;

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::path::PathBuf;

use serde::Serialize;

use crate::archive::{self, StoredRecord};
use crate::config::{RestoreConfig, StdoutFormat};
use crate::exit::ExitStatus;
use crate::gateway::{Entry, Gateway};
use crate::group::{GroupingKey, LabelNaming};
use crate::report::{LabelSet, Time};
use crate::run::{unix_seconds, Clock};

pub use family::FamilyNote;

pub const SCHEMA: &str = "pushgateway-janitor/restore/v1";

/// One line of the archive files, read and judged before anything is sent.
#[derive(Debug)]
pub struct Archived {
    pub file: String,
    pub line: usize,
    pub record: Result<StoredRecord, String>,
}

/// Reads every archive file, in the order given. `Err`: a file that
/// cannot be read at all (a usage error: nothing is sent).
pub fn load(files: &[PathBuf]) -> Result<Vec<Archived>, String> {
    let mut archived = Vec::new();
    for path in files {
        let shown = path.display().to_string();
        if path.is_dir() {
            return Err(format!("{shown} is a directory; give the archive files"));
        }
        let lines = archive::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
        archived.extend(lines.into_iter().map(|l| Archived {
            file: shown.clone(),
            line: l.number,
            record: l.record,
        }));
    }
    Ok(archived)
}

/// What became of one archived group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Pushed back: the gateway accepted the PUT.
    Restored,
    /// A dry run: it would have been pushed back.
    WouldRestore,
    /// The gateway holds the group again; not overwritten without
    /// `--replace`.
    Skipped,
    /// A newer record of the same group is the one restored.
    Superseded,
    /// Matched by no `--select`.
    Ignored,
    /// Not restored: see `error`.
    Failed,
}

impl Action {
    pub const ALL: [Action; 6] = [
        Action::Restored,
        Action::WouldRestore,
        Action::Skipped,
        Action::Superseded,
        Action::Ignored,
        Action::Failed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::Restored => "restored",
            Action::WouldRestore => "would_restore",
            Action::Skipped => "skipped",
            Action::Superseded => "superseded",
            Action::Ignored => "ignored",
            Action::Failed => "failed",
        }
    }

    fn human(self) -> &'static str {
        match self {
            Action::WouldRestore => "would restore",
            other => other.name(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupReport {
    /// The grouping key (`job` first); `{}` for a line that could not be read.
    pub labels: LabelSet,
    /// The archive file and line (from 1) of the record.
    pub file: String,
    pub line: usize,
    /// The gateway it was archived from, and when.
    pub archived_from: Option<String>,
    pub archived_at: Option<String>,
    pub action: Action,
    pub reason: String,
    pub error: Option<String>,
    /// The metric families pushed (or that a dry run would push).
    pub families: Vec<String>,
    /// What is not restored exactly, per family.
    pub notes: Vec<FamilyNote>,
}

/// Counts per action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub groups: u64,
    counts: [u64; Action::ALL.len()],
}

impl Summary {
    pub fn count(&self, action: Action) -> u64 {
        self.counts[Action::ALL.iter().position(|a| *a == action).unwrap_or(0)]
    }

    fn of(groups: &[GroupReport]) -> Summary {
        let mut s = Summary::default();
        for g in groups {
            s.groups += 1;
            if let Some(i) = Action::ALL.iter().position(|a| *a == g.action) {
                s.counts[i] += 1;
            }
        }
        s
    }
}

impl Serialize for Summary {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(Some(1 + Action::ALL.len()))?;
        map.serialize_entry("groups", &self.groups)?;
        for action in Action::ALL {
            map.serialize_entry(action.name(), &self.count(action))?;
        }
        map.end()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub dry_run: bool,
    pub replace: bool,
    pub started_at: Time,
    pub finished_at: Time,
    /// The gateway pushed to, credentials redacted.
    pub url: String,
    pub version: Option<String>,
    pub utf8_names: Option<bool>,
    /// The naming mode the push paths were spelled for.
    pub label_names: Option<&'static str>,
    /// Why the gateway could not be read; then nothing was sent.
    pub error: Option<String>,
    pub groups: Vec<GroupReport>,
    pub summary: Summary,
}

impl Report {
    /// 1 when the gateway could not be read (nothing was sent), 4 when a
    /// group could not be restored; skips are no failures.
    pub fn exit_status(&self) -> ExitStatus {
        if self.error.is_some() {
            ExitStatus::Failed
        } else if self.summary.count(Action::Failed) > 0 {
            ExitStatus::DeleteFailed
        } else {
            ExitStatus::Ok
        }
    }

    /// The `error:` lines that explain an exit code other than 0.
    pub fn error_lines(&self) -> Vec<String> {
        if let Some(e) = &self.error {
            return vec![format!("{e}; nothing was restored")];
        }
        let failed: Vec<&GroupReport> = self
            .groups
            .iter()
            .filter(|g| g.action == Action::Failed)
            .collect();
        match failed.first() {
            None => Vec::new(),
            Some(first) => vec![format!(
                "{} archived {} could not be restored to {} (first: {} from {}:{}: {})",
                failed.len(),
                if failed.len() == 1 { "group" } else { "groups" },
                self.url,
                first.labels,
                first.file,
                first.line,
                first.error.as_deref().unwrap_or("failed")
            )],
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report serializes")
    }

    /// A line per group restored, skipped or failed (and, when `verbose`,
    /// superseded or ignored), each note under its group, then a summary.
    pub fn write_human(&self, out: &mut impl Write, verbose: bool) -> io::Result<()> {
        for g in &self.groups {
            if matches!(g.action, Action::Superseded | Action::Ignored) && !verbose {
                continue;
            }
            write!(out, "{:<14} {}", g.action.human(), g.labels)?;
            match &g.error {
                // Where the record is: a torn line has no labels to show.
                Some(e) => writeln!(out, ": {e} ({} line {})", g.file, g.line)?,
                None => writeln!(out, "  {}", g.reason)?,
            }
            for note in &g.notes {
                writeln!(
                    out,
                    "{:<14}   note: metric family {}: {}",
                    "",
                    crate::group::quote_label_name(&note.family),
                    note.note
                )?;
            }
        }
        let s = &self.summary;
        write!(
            out,
            "{}: {} archived {}: ",
            self.url,
            s.groups,
            if s.groups == 1 { "group" } else { "groups" }
        )?;
        if self.dry_run {
            write!(out, "{} would be restored", s.count(Action::WouldRestore))?;
        } else {
            write!(out, "{} restored", s.count(Action::Restored))?;
        }
        write!(
            out,
            ", {} skipped (on the gateway again), {} failed; {} superseded, {} ignored",
            s.count(Action::Skipped),
            s.count(Action::Failed),
            s.count(Action::Superseded),
            s.count(Action::Ignored)
        )?;
        if self.dry_run {
            write!(out, " (dry run: nothing sent)")?;
        }
        writeln!(out)
    }

    /// Prints the report on stdout as `format` asks.
    pub fn print(&self, format: StdoutFormat, verbose: bool) -> io::Result<()> {
        let stdout = io::stdout();
        let mut out = io::BufWriter::new(stdout.lock());
        match format {
            StdoutFormat::Json => writeln!(out, "{}", self.to_json())?,
            StdoutFormat::Human => self.write_human(&mut out, verbose)?,
        }
        out.flush()
    }
}

/// A record that may be pushed, once judged.
struct Candidate {
    at: usize,
    key: GroupingKey,
    record: StoredRecord,
}

/// Restores `archived` (from [`load`]) to the gateway of `config`.
pub async fn restore(config: &RestoreConfig, archived: Vec<Archived>, clock: &Clock) -> Report {
    let started = unix_seconds(clock());
    let mut groups: Vec<GroupReport> = Vec::with_capacity(archived.len());
    let mut candidates: Vec<Candidate> = Vec::new();
    for a in archived {
        let mut report = GroupReport {
            labels: LabelSet::default(),
            file: a.file,
            line: a.line,
            archived_from: None,
            archived_at: None,
            action: Action::Failed,
            reason: String::new(),
            error: None,
            families: Vec::new(),
            notes: Vec::new(),
        };
        let judged = a.record.and_then(|record| {
            report.archived_from = Some(match &record.address {
                Some(address) => format!("{} ({address})", record.gateway),
                None => record.gateway.clone(),
            });
            report.archived_at = Some(record.archived_at.clone());
            let key = grouping_key(&record)?;
            report.labels = LabelSet(
                key.iter()
                    .map(|(n, v)| (n.to_owned(), v.to_owned()))
                    .collect(),
            );
            Ok((key, record))
        });
        match judged {
            Err(why) => {
                report.reason = "the archive line could not be read".into();
                report.error = Some(why);
            }
            Ok((key, _)) if !selected(config, &key) => {
                report.action = Action::Ignored;
                report.reason = "matched by no --select".into();
            }
            Ok((key, record)) => candidates.push(Candidate {
                at: groups.len(),
                key,
                record,
            }),
        }
        groups.push(report);
    }
    // The newest record of each group is the one restored; a tie goes to
    // the one read last.
    let mut newest: HashMap<&GroupingKey, usize> = HashMap::new();
    for (i, c) in candidates.iter().enumerate() {
        match newest.get(&c.key) {
            Some(&j) if candidates[j].record.archived_at > c.record.archived_at => {}
            _ => {
                newest.insert(&c.key, i);
            }
        }
    }
    let newest: HashSet<usize> = newest.into_values().collect();
    let mut kept: Vec<&Candidate> = Vec::new();
    for (i, c) in candidates.iter().enumerate() {
        if newest.contains(&i) {
            kept.push(c);
        } else {
            let g = &mut groups[c.at];
            g.action = Action::Superseded;
            g.reason = "a newer archive record of this group is the one restored".into();
        }
    }

    let (gateway, state) = match connect(config).await {
        Ok(found) => found,
        Err((url, error)) => {
            for c in &kept {
                let g = &mut groups[c.at];
                g.reason = "not sent: the gateway could not be read".into();
                g.error = Some(error.clone());
            }
            return finish(config, started, clock, url, None, Some(error), groups);
        }
    };
    for c in kept {
        let g = &mut groups[c.at];
        let exists = state.existing.contains(&c.key);
        if exists && !config.replace {
            g.action = Action::Skipped;
            g.reason =
                "the gateway holds this group again (its producer came back); --replace overwrites it"
                    .into();
            continue;
        }
        let encoded = match family::encode_group(&c.record.group) {
            Ok(e) => e,
            Err(why) => {
                g.reason = "it cannot be rebuilt from the archive; nothing was pushed".into();
                g.error = Some(why);
                continue;
            }
        };
        g.families = encoded.families;
        g.notes = encoded.notes;
        let what = match exists {
            true => "replacing the group the gateway held",
            false => "the gateway does not hold it",
        };
        if config.dry_run {
            g.action = Action::WouldRestore;
            g.reason = format!("{what}; dry run: nothing sent");
            continue;
        }
        match gateway.put(&c.key, state.naming, encoded.body).await {
            Ok(()) => {
                tracing::info!(group = %c.key, "restored");
                g.action = Action::Restored;
                g.reason = format!(
                    "{what}; archived {} from {}",
                    c.record.archived_at,
                    g.archived_from.as_deref().unwrap_or("?")
                );
            }
            Err(e) => {
                tracing::warn!(group = %c.key, "restore failed: {e}");
                g.reason = "the PUT failed".into();
                g.error = Some(e.to_string());
            }
        }
    }
    finish(
        config,
        started,
        clock,
        gateway.display_url().to_owned(),
        Some(state),
        None,
        groups,
    )
}

fn finish(
    config: &RestoreConfig,
    started: f64,
    clock: &Clock,
    url: String,
    state: Option<Target>,
    error: Option<String>,
    groups: Vec<GroupReport>,
) -> Report {
    let summary = Summary::of(&groups);
    let (version, utf8_names, label_names) = match state {
        Some(s) => (s.version, s.utf8_names, Some(s.naming.name())),
        None => (None, None, None),
    };
    Report {
        schema: SCHEMA,
        dry_run: config.dry_run,
        replace: config.replace,
        started_at: Time(started),
        finished_at: Time(unix_seconds(clock())),
        url,
        version,
        utf8_names,
        label_names,
        error,
        groups,
        summary,
    }
}

fn selected(config: &RestoreConfig, key: &GroupingKey) -> bool {
    config.select.is_empty() || config.select.iter().any(|s| s.matches(key))
}

/// The record's grouping key, checked against the labels of the group it
/// holds: a line edited by hand must not push one group's families under
/// another's key.
fn grouping_key(record: &StoredRecord) -> Result<GroupingKey, String> {
    let strings = |labels: &serde_json::Map<String, serde_json::Value>| {
        labels
            .iter()
            .map(|(n, v)| match v.as_str() {
                Some(v) => Ok((n.clone(), v.to_owned())),
                None => Err(format!("label {n:?} is not a string")),
            })
            .collect::<Result<Vec<(String, String)>, String>>()
    };
    let key = GroupingKey::new(strings(&record.labels)?)
        .map_err(|e| format!("its labels are not a grouping key: {e}"))?;
    let shown = record
        .group
        .get("labels")
        .and_then(|l| l.as_object())
        .ok_or("its group has no \"labels\" object")?;
    let group_key = GroupingKey::new(strings(shown)?)
        .map_err(|e| format!("its group's labels are not a grouping key: {e}"))?;
    if group_key != key {
        return Err(format!(
            "its labels {key} differ from its group's {group_key}"
        ));
    }
    Ok(key)
}

/// What the gateway says before anything is pushed.
struct Target {
    existing: HashSet<GroupingKey>,
    naming: LabelNaming,
    version: Option<String>,
    utf8_names: Option<bool>,
}

/// The gateway, the groups it holds and how it reads label names (its
/// status, as a clean reads it). `Err`: its URL as shown and why it could
/// not be read; nothing may be pushed then (a group it holds could be
/// overwritten).
async fn connect(config: &RestoreConfig) -> Result<(Gateway, Target), (String, String)> {
    let shown = crate::gateway::redact_url_text(&config.url);
    let gateway =
        Gateway::new(&config.url, &config.transport).map_err(|e| (shown, e.to_string()))?;
    let url = gateway.display_url().to_owned();
    let scanning = crate::gateway::ScanOptions::default();
    let (scan, status) = tokio::join!(gateway.scan(&scanning), gateway.status());
    let scan = scan.map_err(|e| (url.clone(), e.to_string()))?;
    let naming = crate::run::naming_mode(
        &url,
        config.label_names,
        &status,
        ("groups", "are not restored"),
    );
    let existing = scan
        .entries
        .into_iter()
        .filter_map(|e| match e {
            Entry::Group(g) => Some(g.key),
            Entry::Skipped(_) => None,
        })
        .collect();
    let (version, utf8_names) = match status {
        Ok(s) => (s.version, s.utf8_names),
        Err(_) => (None, None),
    };
    Ok((
        gateway,
        Target {
            existing,
            naming,
            version,
            utf8_names,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(action: Action, labels: &[(&str, &str)]) -> GroupReport {
        GroupReport {
            labels: LabelSet(
                labels
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
            ),
            file: "a.jsonl".into(),
            line: 3,
            archived_from: None,
            archived_at: None,
            action,
            reason: "why".into(),
            error: None,
            families: Vec::new(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn human_lines_say_where_a_failed_record_is_and_list_notes() {
        let mut restored = group(Action::Restored, &[("job", "h")]);
        restored.notes.push(FamilyNote {
            family: "http.seconds".into(),
            note: "native histogram: n".into(),
        });
        let mut torn = group(Action::Failed, &[]);
        torn.error = Some("the line ends inside its JSON".into());
        let groups = vec![restored, torn, group(Action::Ignored, &[("job", "i")])];
        let report = Report {
            schema: SCHEMA,
            dry_run: false,
            replace: false,
            started_at: Time(0.0),
            finished_at: Time(0.0),
            url: "http://g".into(),
            version: None,
            utf8_names: None,
            label_names: Some("utf8"),
            error: None,
            summary: Summary::of(&groups),
            groups,
        };
        let mut out = Vec::new();
        report.write_human(&mut out, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "restored       {job=\"h\"}  why",
                "                 note: metric family \"http.seconds\": native histogram: n",
                "failed         {}: the line ends inside its JSON (a.jsonl line 3)",
                "http://g: 3 archived groups: 1 restored, 0 skipped (on the gateway again), 1 failed; 0 superseded, 1 ignored",
            ]
        );
        assert_eq!(report.exit_status(), ExitStatus::DeleteFailed);
        assert_eq!(
            report.error_lines(),
            ["1 archived group could not be restored to http://g (first: {} from a.jsonl:3: the line ends inside its JSON)"]
        );
    }
}
