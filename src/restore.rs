//! `pushgateway-janitor restore FILE... --url URL`: pushes archived groups
//! (`--archive`) back to a Pushgateway, each with `PUT` to its exact
//! grouping key, in the protobuf push format ([`archive::family`]).
//!
//! Only the records of the gateway restored to are restored (as the
//! records name it, [`Endpoint`]); `--from` names other gateways whose
//! records are wanted instead. Several janitors may share an archive
//! directory, and one gateway's groups pushed onto another would be data
//! it never held.
//!
//! A group the gateway holds again is left alone unless `--replace` (its
//! producer came back, and what it pushed since is newer than the archive;
//! or it holds the archived content, which the report tells apart). So is
//! a group the scan could not read that might be the archived one (as a
//! clean leaves it alone): its grouping key may be the record's.
//! That is checked by a scan before the first PUT and again after every
//! [`BATCH`] PUTs, so that a group pushed while a long restore runs is not
//! overwritten. When the files hold a group more than once (archived,
//! pushed again, archived again), the newest record is the one restored.
//! The gateway sets the push time itself: a restored group is as fresh as
//! a new push.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, Write};
use std::path::PathBuf;

use serde::Serialize;

use crate::archive::{self, Kept, StoredRecord};
use crate::config::{RestoreConfig, StdoutFormat};
use crate::exit::ExitStatus;
use crate::gateway::{Entry, Gateway, SkippedGroup};
use crate::group::{GroupingKey, LabelNaming};
use crate::identity::Endpoint;
use crate::report::{LabelSet, Time};
use crate::run::{unix_seconds, Clock};

pub use crate::archive::family;
pub use crate::archive::FamilyNote;

pub const SCHEMA: &str = "pushgateway-janitor/restore/v1";

/// How many PUTs may follow one scan of the gateway (without `--replace`):
/// then it is scanned again before the next PUT, so a group pushed while
/// the restore runs is seen (and skipped) unless it was pushed within the
/// last `BATCH` PUTs before its own. The Pushgateway has no conditional PUT
/// to close that window; each batch costs one `GET /api/v1/metrics`, and
/// groups skipped cost none.
pub const BATCH: usize = 32;

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
        let lines = archive::read(path).map_err(|e| match e {
            archive::ReadError::Io(e) => format!("cannot read {shown}: {e}"),
            archive::ReadError::Compressed(c) => format!(
                "{shown} is compressed ({}): restore reads archive files as --archive writes them; decompress it first ({} {shown})",
                c.format, c.decompress
            ),
            not_an_archive @ archive::ReadError::NotAnArchive => format!(
                "{shown} is not an archive: {not_an_archive}; give the files --archive writes"
            ),
        })?;
        archived.extend(lines.into_iter().map(|l| Archived {
            file: shown.clone(),
            line: l.number,
            record: l.record,
        }));
    }
    Ok(archived)
}

crate::report::actions! {
    enum Action {
        /// Pushed back: the gateway accepted the PUT.
        Restored => "restored",
        /// A dry run: it would have been pushed back.
        WouldRestore => "would_restore",
        /// The gateway holds the group; not overwritten without
        /// `--replace`.
        Skipped => "skipped",
        /// A newer record of the same group is the one restored.
        Superseded => "superseded",
        /// Matched by no `--select`.
        Ignored => "ignored",
        /// Archived from another gateway than the one restored to (or
        /// than `--from` names).
        OtherGateway => "other_gateway",
        /// Not restored: see `error`.
        Failed => "failed",
    } counted in Summary
}

impl Action {
    fn human(self) -> &'static str {
        match self {
            Action::WouldRestore => "would restore",
            Action::OtherGateway => "other gateway",
            other => other.name(),
        }
    }
}

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
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
    /// The gateways whose records were left out (`other_gateway`), in the
    /// spelling `--from` takes, each with how many.
    pub other_gateways: Vec<OtherGateway>,
    /// Set when the files hold other gateways' records and none of the
    /// gateways restored from: the flags do not fit the files (exit 2),
    /// and nothing was sent. Its error line names the `--from` to pass.
    #[serde(skip)]
    pub none_from: Option<Wanted>,
}

/// The gateways whose records a restore restores.
#[derive(Debug, Clone, PartialEq)]
pub enum Wanted {
    /// The one restored to (`--url`), as the records name it.
    Target,
    /// Those `--from` names, as URLs.
    From(Vec<String>),
}

/// A gateway whose records were left out.
#[derive(Debug, Clone, Serialize)]
pub struct OtherGateway {
    pub gateway: String,
    pub records: usize,
}

impl Report {
    /// 1 when the gateway could not be read (nothing was sent), 2 when no
    /// record is from the gateways restored from but some are other
    /// gateways' (nothing was sent: the flags do not fit the files), 4 when
    /// a group could not be restored; skips are no failures.
    pub fn exit_status(&self) -> ExitStatus {
        if self.error.is_some() {
            ExitStatus::Failed
        } else if self.none_from.is_some() {
            ExitStatus::Usage
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
        let mut lines: Vec<String> = self
            .none_from
            .iter()
            .map(|w| self.none_from_line(w))
            .collect();
        let failed: Vec<&GroupReport> = self
            .groups
            .iter()
            .filter(|g| g.action == Action::Failed)
            .collect();
        if let Some(first) = failed.first() {
            lines.push(format!(
                "{} archived {} could not be restored to {} (first: {} from {}:{}: {})",
                failed.len(),
                if failed.len() == 1 { "group" } else { "groups" },
                self.url,
                first.labels,
                first.file,
                first.line,
                first.error.as_deref().unwrap_or("failed")
            ));
        }
        lines
    }

    /// Why nothing of `wanted` was restored, naming each gateway left out
    /// as `--from` takes it (a replica by the address it had, which a new
    /// pod no longer has), so the flag can be copied.
    fn none_from_line(&self, wanted: &Wanted) -> String {
        let whose = match wanted {
            Wanted::Target => "it".to_owned(),
            Wanted::From(from) => from
                .iter()
                .map(|f| format!("--from {f}"))
                .collect::<Vec<_>>()
                .join(", "),
        };
        let found: Vec<String> = self
            .other_gateways
            .iter()
            .enumerate()
            .map(|(i, o)| match (i, o.records) {
                (0, 1) => format!("1 is from {}", o.gateway),
                (0, n) => format!("{n} are from {}", o.gateway),
                (_, n) => format!("{n} from {}", o.gateway),
            })
            .collect();
        let flags: Vec<String> = self
            .other_gateways
            .iter()
            .map(|o| format!("--from {}", o.gateway))
            .collect();
        format!(
            "nothing to restore to {}: none of the archived records is from {whose}; {}: \
             if {} the gateway meant (this one reached another way, say through a \
             port-forward, or a replica at its old address), pass {}; nothing was sent",
            self.url,
            found.join(", "),
            if flags.len() == 1 {
                "that is"
            } else {
                "one is"
            },
            flags.join(" or ")
        )
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report serializes")
    }

    /// A line per group restored, skipped or failed (and, when `verbose`,
    /// superseded, ignored or of another gateway), each note under its
    /// group, then a summary.
    pub fn write_human(&self, out: &mut impl Write, verbose: bool) -> io::Result<()> {
        for g in &self.groups {
            if matches!(
                g.action,
                Action::Superseded | Action::Ignored | Action::OtherGateway
            ) && !verbose
            {
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
        if !self.other_gateways.is_empty() {
            let named: Vec<String> = self
                .other_gateways
                .iter()
                .map(|o| format!("{} ({})", o.gateway, o.records))
                .collect();
            write!(
                out,
                "; {} left out, archived from other gateways: {} (--from URL restores them here)",
                s.count(Action::OtherGateway),
                named.join(", ")
            )?;
        }
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
    if archived.is_empty() {
        tracing::warn!("the archive files hold no records: there is nothing to restore");
    }
    let mut groups: Vec<GroupReport> = Vec::with_capacity(archived.len());
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut keys: Vec<GroupingKey> = Vec::new();
    // A --url that names no gateway fails when connecting, sending nothing.
    let target = Endpoint::of_url(&config.url).ok();
    let wanted = |from: &Endpoint| match config.from.is_empty() {
        true => target.as_ref() == Some(from),
        false => config.from.contains(from),
    };
    let mut left_out: BTreeMap<Endpoint, usize> = BTreeMap::new();
    // Records of the gateways restored from, whatever became of them.
    let mut wanted_records = 0;
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
            let key = record.grouping_key()?;
            report.labels = LabelSet(
                key.iter()
                    .map(|(n, v)| (n.to_owned(), v.to_owned()))
                    .collect(),
            );
            let from = Endpoint::of_record(&record.gateway, record.address.as_deref())
                .map_err(|why| format!("its gateway {:?} names none: {why}", record.gateway))?;
            Ok((key, record, from))
        });
        match judged {
            Err(why) => {
                report.reason = "the archive line could not be read".into();
                report.error = Some(why);
            }
            Ok((key, _, from)) if !wanted(&from) => {
                report.action = Action::OtherGateway;
                report.reason = match config.from.is_empty() {
                    true => format!(
                        "archived from another gateway, {from}; --from {from} restores it here"
                    ),
                    false => format!("archived from {from}, which no --from names"),
                };
                *left_out.entry(from).or_default() += 1;
                keys.push(key);
            }
            Ok((key, _, _)) if !selected(config, &key) => {
                wanted_records += 1;
                report.action = Action::Ignored;
                report.reason = "matched by no --select".into();
                keys.push(key);
            }
            Ok((key, record, _)) => {
                wanted_records += 1;
                keys.push(key.clone());
                candidates.push(Candidate {
                    at: groups.len(),
                    key,
                    record,
                });
            }
        }
        groups.push(report);
    }
    for s in &config.select {
        if !keys.iter().any(|k| s.matches(k)) {
            tracing::warn!(
                "--select '{}' matched no archived group; check it for a typo",
                s.as_str()
            );
        }
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
    let other_gateways: Vec<OtherGateway> = left_out
        .into_iter()
        .map(|(from, records)| OtherGateway {
            gateway: from.to_string(),
            records,
        })
        .collect();
    if wanted_records == 0 && !other_gateways.is_empty() {
        // Decided by the files and the flags alone: most often the gateway
        // reached by another URL than the one it was archived from (a
        // port-forward), which a person should hear about rather than read
        // "0 restored". Reading the gateway would change nothing.
        let mut report = finish(
            config,
            started,
            clock,
            (crate::gateway::redact_url_text(&config.url), None),
            None,
            (groups, other_gateways),
        );
        report.none_from = Some(match config.from.is_empty() {
            true => Wanted::Target,
            false => Wanted::From(config.from.iter().map(Endpoint::to_string).collect()),
        });
        return report;
    }
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

    let (gateway, mut state) = match connect(config, &kept).await {
        Ok(found) => found,
        Err((url, error)) => {
            for c in &kept {
                let g = &mut groups[c.at];
                g.reason = "not sent: the gateway could not be read".into();
                g.error = Some(error.clone());
            }
            return finish(
                config,
                started,
                clock,
                (url, None),
                Some(error),
                (groups, other_gateways),
            );
        }
    };
    // Without --replace the gateway is scanned again once BATCH PUTs
    // followed the last scan, just before the next PUT, so that a group
    // pushed meanwhile is not overwritten; skips cost no scan. A dry run
    // sends nothing, so its one scan is what it reports on.
    let rescan = !config.replace && !config.dry_run;
    let mut since_scan = 0;
    let mut unchecked: Option<String> = None;
    for c in kept {
        let g = &mut groups[c.at];
        let Some(mut ready) = judge(config, &state, c, g) else {
            continue;
        };
        if rescan && since_scan >= BATCH {
            if unchecked.is_none() {
                match gateway.scan(&Default::default()).await {
                    Ok(scan) => {
                        (state.existing, state.unreadable) =
                            existing(scan.entries, &state.existing);
                        since_scan = 0;
                    }
                    Err(e) => unchecked = Some(e.to_string()),
                }
            }
            if let Some(e) = &unchecked {
                g.reason = "not sent: the gateway could not be read again to check that it does not hold the group".into();
                g.error = Some(e.clone());
                continue;
            }
            match judge(config, &state, c, g) {
                Some(again) => ready = again,
                None => continue,
            }
        }
        since_scan += 1;
        put(&gateway, &state, c, g, ready).await;
    }
    finish(
        config,
        started,
        clock,
        (gateway.display_url().to_owned(), Some(state)),
        None,
        (groups, other_gateways),
    )
}

/// A group judged ready to be pushed: what to push, and what the gateway
/// held.
struct Ready {
    body: Vec<u8>,
    what: &'static str,
}

/// Judges one group against what the gateway holds, as a dry run and a
/// restore alike: `None` when it is not pushed (skipped, failed, or a dry
/// run's `would_restore`; `g` says which), else what to push.
fn judge(
    config: &RestoreConfig,
    state: &Target,
    c: &Candidate,
    g: &mut GroupReport,
) -> Option<Ready> {
    let held = state.existing.get(&c.key);
    // What the scan could not read might be this group: a clean leaves it
    // alone, and so does a restore.
    let unreadable = state.unreadable.iter().find(|s| s.might_be(&c.key));
    if !config.replace {
        let skipped = match (held, unreadable) {
            (Some(Held::AsArchived(_)), _) => Some("the gateway holds this group with the archived content; --replace pushes it again".to_owned()),
            (Some(Held::Other(_)), _) => Some("the gateway holds this group again (pushed since it was archived); --replace overwrites it".to_owned()),
            (None, Some(s)) => Some(format!(
                "the gateway holds a group its scan could not read, which might be this one ({}); --replace overwrites it",
                s.reason
            )),
            (None, None) => None,
        };
        if let Some(reason) = skipped {
            g.action = Action::Skipped;
            g.reason = reason;
            return None;
        }
    }
    let encoded = match c.record.rebuild() {
        Ok(e) => e,
        Err(why) => {
            g.reason = "it cannot be rebuilt from the archive; nothing was pushed".into();
            g.error = Some(why);
            return None;
        }
    };
    g.families = encoded.families;
    g.notes = encoded.notes;
    if let Some(name) = c.key.unaddressable_label(state.naming) {
        g.reason = "no PUT can name this group on this gateway; nothing was pushed".into();
        g.error = Some(unaddressable(name, state));
        return None;
    }
    let what = match (held, unreadable) {
        (Some(_), _) => "replacing the group the gateway held",
        (None, Some(_)) => "replacing a group the scan could not read, which might be this one",
        (None, None) => "the gateway does not hold it",
    };
    if config.dry_run {
        g.action = Action::WouldRestore;
        g.reason = format!("{what}; dry run: nothing sent");
        return None;
    }
    Some(Ready {
        body: encoded.body,
        what,
    })
}

async fn put(gateway: &Gateway, state: &Target, c: &Candidate, g: &mut GroupReport, ready: Ready) {
    match gateway.put(&c.key, state.naming, ready.body).await {
        Ok(()) => {
            tracing::info!(group = %c.key, "restored");
            g.action = Action::Restored;
            g.reason = format!(
                "{}; archived {} from {}",
                ready.what,
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

/// Why no PUT can name a group whose label `name` has no spelling for the
/// gateway's naming mode, in the words of restoring, for the situation.
fn unaddressable(name: &str, state: &Target) -> String {
    let name = crate::group::quote_label_name(name);
    match (state.naming, &state.unknown_because) {
        (LabelNaming::Legacy, _) => format!(
            "label name {name} cannot be written in a push path of a gateway without \
             --push.enable-utf8-names (not a legacy name, or starting with the reserved \"__\"); \
             restore this group to a gateway started with the flag"
        ),
        (LabelNaming::Utf8, _) => format!(
            "label name {name} has no spelling in a push path that a gateway with \
             --push.enable-utf8-names reads back as itself"
        ),
        (LabelNaming::Unknown, Some(why)) => format!(
            "label name {name} is spelled differently with and without \
             --push.enable-utf8-names, and {why}"
        ),
        (LabelNaming::Unknown, None) => format!(
            "label name {name} is spelled differently with and without \
             --push.enable-utf8-names, and the gateway's naming mode is unknown"
        ),
    }
}

/// The report; `to`: the gateway's URL as shown and what it said, `of`:
/// every record's report and the gateways left out.
fn finish(
    config: &RestoreConfig,
    started: f64,
    clock: &Clock,
    to: (String, Option<Target>),
    error: Option<String>,
    of: (Vec<GroupReport>, Vec<OtherGateway>),
) -> Report {
    let ((url, state), (groups, other_gateways)) = (to, of);
    let summary = Summary::of_actions(groups.iter().map(|g| g.action));
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
        other_gateways,
        none_from: None,
    }
}

fn selected(config: &RestoreConfig, key: &GroupingKey) -> bool {
    config.select.is_empty() || config.select.iter().any(|s| s.matches(key))
}

/// What the gateway holds under a grouping key, with its last push time
/// (a later scan that shows another was pushed again).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Held {
    /// The group as its archive record would push it: what is known is
    /// the content, not who pushed it (an earlier restore, or its producer
    /// with the same values).
    AsArchived(Option<f64>),
    /// A group of its own (or one the first scan did not compare).
    Other(Option<f64>),
}

impl Held {
    fn last_push(self) -> Option<f64> {
        match self {
            Held::AsArchived(t) | Held::Other(t) => t,
        }
    }
}

/// Whether the gateway's group (as `kept`) is what the record pushes:
/// the same families, encoded alike (push times aside).
fn holds_as_archived(kept: &Kept, c: &Candidate) -> bool {
    let held = kept
        .group(&c.key)
        .ok()
        .and_then(|raw| {
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(raw.get()).ok()
        })
        .and_then(|group| family::encode_group(&group).ok());
    match (held, c.record.rebuild()) {
        (Some(held), Ok(archived)) => held.body == archived.body,
        _ => false,
    }
}

/// What the gateway says before anything is pushed.
struct Target {
    existing: HashMap<GroupingKey, Held>,
    /// The entries the scan could not read ([`SkippedGroup::might_be`]).
    unreadable: Vec<SkippedGroup>,
    naming: LabelNaming,
    /// Why the naming mode is unknown, in restore's words.
    unknown_because: Option<String>,
    version: Option<String>,
    utf8_names: Option<bool>,
}

/// What a scan's `entries` show the gateway holds: its groups, and the
/// entries it could not read. `before`: what an earlier scan of this
/// restore found; a group it found as archived and not pushed since still
/// is.
fn existing(
    entries: Vec<Entry>,
    before: &HashMap<GroupingKey, Held>,
) -> (HashMap<GroupingKey, Held>, Vec<SkippedGroup>) {
    let mut groups = HashMap::with_capacity(entries.len());
    let mut unreadable = Vec::new();
    for e in entries {
        match e {
            Entry::Group(g) => {
                let held = match before.get(&g.key) {
                    Some(Held::AsArchived(t)) if *t == g.last_push => Held::AsArchived(*t),
                    _ => Held::Other(g.last_push),
                };
                groups.insert(g.key, held);
            }
            Entry::Skipped(s) => unreadable.push(s),
        }
    }
    (groups, unreadable)
}

/// The gateway, the groups it holds and how it reads label names (its
/// status, as a clean reads it). `Err`: its URL as shown and why it could
/// not be read; nothing may be pushed then (a group it holds could be
/// overwritten).
///
/// A group of `candidates` the gateway holds is compared with its record:
/// one it holds as the record would push it holds the archived content. The
/// scan keeps each group's JSON in a temporary file for that (as a clean
/// with `--archive` does); one that could not be kept is compared as
/// different.
async fn connect(
    config: &RestoreConfig,
    candidates: &[&Candidate],
) -> Result<(Gateway, Target), (String, String)> {
    let shown = crate::gateway::redact_url_text(&config.url);
    let gateway =
        Gateway::new(&config.url, &config.transport).map_err(|e| (shown, e.to_string()))?;
    let url = gateway.display_url().to_owned();
    let scanning = crate::gateway::ScanOptions {
        keep_json_in: Some(std::env::temp_dir()),
        ..Default::default()
    };
    let (scan, status) = tokio::join!(gateway.scan(&scanning), gateway.status());
    let mut scan = scan.map_err(|e| (url.clone(), e.to_string()))?;
    let naming = crate::run::naming_mode(
        &url,
        config.label_names,
        &status,
        ("groups", "are not restored"),
    );
    let unknown_because = match (&status, config.label_names) {
        (Err(e), None) => Some(format!(
            "the gateway's status could not be read to tell which it runs ({e}); \
             pass --label-names utf8 or legacy"
        )),
        (Ok(s), Some(given)) => Some(format!(
            "--label-names {} contradicts the gateway's push.enable-utf8-names={}; \
             give the mode it runs, or leave --label-names out",
            given.name(),
            s.utf8_names.unwrap_or(false)
        )),
        _ => None,
    }
    .filter(|_| naming == LabelNaming::Unknown);
    let kept = scan.raw.take().map(|raw| Kept::new(&scan.entries, raw));
    let (mut existing, unreadable) = existing(scan.entries, &HashMap::new());
    if let Some(kept) = &kept {
        for c in candidates {
            if let Some(held) = existing.get_mut(&c.key) {
                if holds_as_archived(kept, c) {
                    *held = Held::AsArchived(held.last_push());
                }
            }
        }
    }
    let (version, utf8_names) = match status {
        Ok(s) => (s.version, s.utf8_names),
        Err(_) => (None, None),
    };
    Ok((
        gateway,
        Target {
            existing,
            unreadable,
            naming,
            unknown_because,
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
        let groups = vec![
            restored,
            torn,
            group(Action::Ignored, &[("job", "i")]),
            group(Action::OtherGateway, &[("job", "o")]),
        ];
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
            summary: Summary::of_actions(groups.iter().map(|g| g.action)),
            groups,
            other_gateways: vec![OtherGateway {
                gateway: "http://b:9091".into(),
                records: 1,
            }],
            none_from: None,
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
                "http://g: 4 archived groups: 1 restored, 0 skipped (on the gateway again), 1 failed; 0 superseded, 1 ignored; 1 left out, archived from other gateways: http://b:9091 (1) (--from URL restores them here)",
            ]
        );
        assert_eq!(report.exit_status(), ExitStatus::DeleteFailed);
        assert_eq!(
            report.error_lines(),
            ["1 archived group could not be restored to http://g (first: {} from a.jsonl:3: the line ends inside its JSON)"]
        );
    }

    /// Nothing of the gateways restored from, only others': the error line
    /// names each left out as `--from` takes it, and the exit is 2.
    #[test]
    fn records_of_other_gateways_only_name_the_from_to_pass() {
        let groups = vec![
            group(Action::OtherGateway, &[("job", "a")]),
            group(Action::OtherGateway, &[("job", "b")]),
            group(Action::OtherGateway, &[("job", "c")]),
        ];
        let mut report = Report {
            schema: SCHEMA,
            dry_run: false,
            replace: false,
            started_at: Time(0.0),
            finished_at: Time(0.0),
            url: "http://localhost:9091".into(),
            version: None,
            utf8_names: None,
            label_names: None,
            error: None,
            summary: Summary::of_actions(groups.iter().map(|g| g.action)),
            groups,
            other_gateways: vec![
                OtherGateway {
                    gateway: "http://10.0.0.5:9091".into(),
                    records: 2,
                },
                OtherGateway {
                    gateway: "http://pgw:9091".into(),
                    records: 1,
                },
            ],
            none_from: Some(Wanted::From(vec!["http://old:9091".into()])),
        };
        assert_eq!(report.exit_status(), ExitStatus::Usage);
        assert_eq!(
            report.error_lines(),
            ["nothing to restore to http://localhost:9091: none of the archived records is from \
              --from http://old:9091; 2 are from http://10.0.0.5:9091, 1 from http://pgw:9091: \
              if one is the gateway meant (this one reached another way, say through a \
              port-forward, or a replica at its old address), pass --from http://10.0.0.5:9091 \
              or --from http://pgw:9091; nothing was sent"]
        );
        report.none_from = None;
        assert_eq!(report.exit_status(), ExitStatus::Ok);
        assert!(report.error_lines().is_empty());
    }
}
