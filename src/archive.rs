//! `--archive DIR`: before a stale group's DELETE is sent, the group as the
//! scan read it is appended to an archive file in DIR and flushed to disk;
//! a group that could not be archived is not deleted. `restore` pushes
//! archived groups back.
//!
//! The format: JSON lines, one record per group
//! (schema `pushgateway-janitor/archive/v1`), in one file per UTC day,
//! `pushgateway-janitor-archive-YYYY-MM-DD.jsonl`, appended to by every run
//! of that day. Files are created with mode 0600: grouping keys and series
//! can hold what only the gateway's readers should see. Retention is the
//! operator's (a file per day is easy to expire by name or age).
//!
//! Two runs may append to the same file (a manual run during the timer's,
//! or the gateways of one run): each append holds the directory's one lock
//! ([`TargetLock`] on `DIR/.pushgateway-janitor-archive.lock`, one file
//! whatever the number of days, so that expiring the day files by name
//! leaves nothing behind), so records never interleave. A line cut short
//! by a killed run or a full disk is cut off again (on a failed write) or
//! ended with a newline before the next record (after a crash), so it
//! costs one unreadable line, never the record after it.
//!
//! A record is written only when `restore` can rebuild the group from it
//! ([`StoredRecord::rebuild`], the encoder `restore` uses, run on the
//! record as written and read back): what the API cannot carry (a gauge
//! histogram, shown as a bare 0) is not archived, so not deleted. What the
//! API leaves out of a native histogram it can carry (an empty zero
//! bucket's width) is restored as [`family`] documents and named in a note.

pub mod family;
pub mod protobuf;

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::files::TargetLock;
use crate::gateway::document::RawGroups;
use crate::group::{Entry, GroupingKey};
use crate::report::Time;

pub use family::{Encoded, FamilyNote};

/// The schema of every record.
pub const SCHEMA: &str = "pushgateway-janitor/archive/v1";

const PREFIX: &str = "pushgateway-janitor-archive-";
const SUFFIX: &str = ".jsonl";
/// What the directory's lock is named after: `.pushgateway-janitor-archive.lock`.
const LOCK_NAME: &str = "pushgateway-janitor-archive";

/// The archive file that a group archived at `unix_seconds` goes to: one
/// per day (UTC), `pushgateway-janitor-archive-YYYY-MM-DD.jsonl`.
pub fn file_name(unix_seconds: f64) -> String {
    // The report's own time format starts with the date.
    let date = &crate::report::rfc3339(unix_seconds)[..10];
    format!("{PREFIX}{date}{SUFFIX}")
}

/// One archived group, as written: one line of JSON.
#[derive(Debug, Serialize)]
pub struct Record<'a> {
    pub schema: &'static str,
    /// When it was archived, just before its DELETE.
    pub archived_at: Time,
    /// The gateway it was deleted from (credentials redacted).
    pub gateway: &'a str,
    /// The address connected to, for a replica found through DNS.
    pub address: Option<&'a str>,
    /// Its grouping key, `job` first.
    pub labels: &'a GroupingKey,
    pub last_activity: Option<Time>,
    pub age_seconds: Option<f64>,
    pub threshold_seconds: Option<f64>,
    /// Why it was deleted, as the report says it.
    pub reason: &'a str,
    /// The group's object from `GET /api/v1/metrics`, as the gateway sent
    /// it: every metric family with all its series.
    pub group: &'a RawValue,
}

/// One archived group, as read back (`restore`).
#[derive(Debug, Clone, Deserialize)]
pub struct StoredRecord {
    pub schema: String,
    pub archived_at: String,
    pub gateway: String,
    #[serde(default)]
    pub address: Option<String>,
    pub labels: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub reason: String,
    pub group: serde_json::Map<String, serde_json::Value>,
}

impl StoredRecord {
    /// The record's grouping key, checked against the labels of the group
    /// it holds: a line edited by hand must not push one group's families
    /// under another's key.
    pub fn grouping_key(&self) -> Result<GroupingKey, String> {
        let strings = |labels: &serde_json::Map<String, serde_json::Value>| {
            labels
                .iter()
                .map(|(n, v)| match v.as_str() {
                    Some(v) => Ok((n.clone(), v.to_owned())),
                    None => Err(format!("label {n:?} is not a string")),
                })
                .collect::<Result<Vec<(String, String)>, String>>()
        };
        let key = GroupingKey::new(strings(&self.labels)?)
            .map_err(|e| format!("its labels are not a grouping key: {e}"))?;
        let shown = self
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

    /// What `restore` pushes for this record: every metric family of its
    /// group, encoded. `Err`: why the group cannot be rebuilt, naming the
    /// family.
    pub fn rebuild(&self) -> Result<Encoded, String> {
        family::encode_group(&self.group)
    }
}

/// Whether `line`, read back as `restore` reads it, restores the group of
/// `key`: the same grouping key, every family rebuilt. `Err`: why not.
fn restores(line: &[u8], key: &GroupingKey) -> Result<(), String> {
    let record = parse_line(line)?;
    match record.grouping_key()? {
        k if k == *key => record.rebuild().map(drop),
        other => Err(format!("it reads back as the group {other}")),
    }
}

/// What a scan kept of each group (`--archive`), found by grouping key.
pub struct Kept {
    raw: RawGroups,
    by_key: HashMap<GroupingKey, usize>,
}

impl Kept {
    /// `raw` holds the JSON of `entries`, in their order.
    pub fn new(entries: &[Entry], raw: RawGroups) -> Kept {
        let by_key = entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| match e {
                Entry::Group(g) => Some((g.key.clone(), i)),
                Entry::Skipped(_) => None,
            })
            .collect();
        Kept { raw, by_key }
    }

    /// The JSON of the group with this key, as the scan read it.
    pub fn group(&self, key: &GroupingKey) -> Result<Box<RawValue>, String> {
        let at = self.by_key.get(key).ok_or("the scan kept no copy of it")?;
        let bytes = self.raw.read(*at)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| "its JSON as the gateway sent it is not UTF-8".to_owned())?;
        RawValue::from_string(text).map_err(|e| format!("its JSON as kept does not parse: {e}"))
    }
}

/// A stale group to archive, with what its record says about it.
#[derive(Debug, Clone)]
pub struct Stale {
    /// Its place in the plan's decisions.
    pub at: usize,
    pub key: GroupingKey,
    pub last_activity: Option<f64>,
    pub age_seconds: Option<f64>,
    pub threshold_seconds: Option<f64>,
    pub reason: String,
}

/// Where the gateway's groups were archived from.
#[derive(Debug, Clone)]
pub struct Source {
    pub gateway: String,
    pub address: Option<String>,
}

/// Why a stale group was not archived; it must not be deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotArchived {
    /// Its record, read back as `restore` reads it, would not restore it
    /// (what the API cannot carry, as a gauge histogram).
    Unrestorable(String),
    /// It could not be written: the file, the disk, its kept JSON.
    Failed(String),
}

impl std::fmt::Display for NotArchived {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotArchived::Unrestorable(why) => {
                write!(f, "its archive record would not restore it: {why}")
            }
            NotArchived::Failed(why) => write!(f, "the group could not be archived: {why}"),
        }
    }
}

/// The stale groups that may be deleted, each with its place in the
/// plan's decisions. With `--archive` only [`archive`] makes it, of the
/// groups whose record is on disk and restores them; without,
/// [`Deletable::unarchived`] says so by its name.
#[derive(Debug, Default)]
pub struct Deletable(Vec<(usize, GroupingKey)>);

impl Deletable {
    /// Every stale group, when no archive was asked for.
    pub fn unarchived(stale: impl IntoIterator<Item = (usize, GroupingKey)>) -> Deletable {
        Deletable(stale.into_iter().collect())
    }

    pub fn into_groups(self) -> Vec<(usize, GroupingKey)> {
        self.0
    }
}

/// What [`archive`] did: per stale group (in the order given) the archive
/// file's path (`None` for [`check`], which writes nothing) or why it was
/// not archived, and the groups that may be deleted.
#[derive(Debug)]
pub struct Archived {
    pub results: Vec<(usize, Result<Option<String>, NotArchived>)>,
    pub deletable: Deletable,
}

/// Archives `groups` in `dir`'s file for `at`: a group is archived (and
/// deletable) once its record is written, restores it and is flushed to
/// disk with the file's directory entry. `kept`: what the scan kept, or
/// `None` when it kept nothing (then nothing is archived). Blocking: file
/// I/O and a lock.
pub fn archive(
    dir: &Path,
    at: f64,
    source: &Source,
    kept: Option<&Kept>,
    groups: Vec<Stale>,
) -> Archived {
    archive_with(
        Some((dir, &mut Durability::Fsync)),
        at,
        source,
        kept,
        groups,
    )
}

/// What [`archive`] would do in a dry run, short of writing: each group's
/// record made and read back as `restore` would; the groups it would not
/// restore are not deletable.
pub fn check(at: f64, source: &Source, kept: Option<&Kept>, groups: Vec<Stale>) -> Archived {
    archive_with(None, at, source, kept, groups)
}

fn archive_with(
    write: Option<(&Path, &mut Durability)>,
    at: f64,
    source: &Source,
    kept: Option<&Kept>,
    groups: Vec<Stale>,
) -> Archived {
    let mut results: Vec<Result<Option<String>, NotArchived>> =
        vec![Err(NotArchived::Failed(String::new())); groups.len()];
    let mut lines: Vec<Vec<u8>> = Vec::with_capacity(groups.len());
    let mut written: Vec<usize> = Vec::with_capacity(groups.len());
    for (i, g) in groups.iter().enumerate() {
        let record = kept
            .ok_or_else(|| "the scan kept no copy of the groups".to_owned())
            .and_then(|kept| kept.group(&g.key))
            .and_then(|group| {
                let record = Record {
                    schema: SCHEMA,
                    archived_at: Time(at),
                    gateway: &source.gateway,
                    address: source.address.as_deref(),
                    labels: &g.key,
                    last_activity: g.last_activity.map(Time),
                    age_seconds: g.age_seconds,
                    threshold_seconds: g.threshold_seconds,
                    reason: &g.reason,
                    group: &group,
                };
                serde_json::to_vec(&record).map_err(|e| format!("could not write its record: {e}"))
            })
            .map_err(NotArchived::Failed)
            .and_then(|line| {
                restores(&line, &g.key)
                    .map(|()| line)
                    .map_err(NotArchived::Unrestorable)
            });
        match record {
            Ok(line) => {
                lines.push(line);
                written.push(i);
            }
            Err(why) => results[i] = Err(why),
        }
    }
    match write {
        _ if lines.is_empty() => {}
        None => {
            for i in written {
                results[i] = Ok(None);
            }
        }
        Some((dir, durability)) => append_all(
            &dir.join(file_name(at)),
            &lines,
            durability,
            &written,
            &mut results,
        ),
    }
    let deletable = Deletable(
        groups
            .iter()
            .zip(&results)
            .filter(|(_, r)| r.is_ok())
            .map(|(g, _)| (g.at, g.key.clone()))
            .collect(),
    );
    Archived {
        results: groups.iter().map(|g| g.at).zip(results).collect(),
        deletable,
    }
}

/// Appends the records of the groups `written` (their places in
/// `results`), and says per group whether it is in the file and on disk.
fn append_all(
    path: &Path,
    lines: &[Vec<u8>],
    durability: &mut Durability,
    written: &[usize],
    results: &mut [Result<Option<String>, NotArchived>],
) {
    let shown = path.display().to_string();
    let (done, error) = append(path, lines, durability);
    if let Some(e) = &error {
        tracing::warn!(
            "{shown}: {done} of {} groups archived: {}",
            lines.len(),
            words(e)
        );
    }
    for (n, &i) in written.iter().enumerate() {
        results[i] = match &error {
            _ if n < done => Ok(Some(shown.clone())),
            Some(e) => Err(NotArchived::Failed(format!(
                "could not archive it to {shown}: {}",
                words(e)
            ))),
            None => Err(NotArchived::Failed(format!(
                "could not archive it to {shown}"
            ))),
        };
    }
}

/// An I/O error of the archive in our words where the system's would
/// puzzle: a symlink in place of the day's file (refused, not followed).
fn words(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) if code == rustix::io::Errno::LOOP.raw_os_error() => {
            "the archive file is a symbolic link, which is not followed; \
             replace it with the file itself"
                .to_owned()
        }
        _ => e.to_string(),
    }
}

/// How appended lines are made durable: `fsync` of the file and of its
/// directory, or (unit tests) a count of the steps taken.
enum Durability {
    Fsync,
    #[cfg(test)]
    Counted {
        files: usize,
        dirs: usize,
    },
}

impl Durability {
    fn sync_file(&mut self, file: &std::fs::File) -> io::Result<()> {
        match self {
            Durability::Fsync => file.sync_all(),
            #[cfg(test)]
            Durability::Counted { files, .. } => {
                *files += 1;
                Ok(())
            }
        }
    }

    fn sync_dir(&mut self, dir: &Path) -> io::Result<()> {
        match self {
            Durability::Fsync => std::fs::File::open(dir)?.sync_all(),
            #[cfg(test)]
            Durability::Counted { dirs, .. } => {
                *dirs += 1;
                Ok(())
            }
        }
    }
}

/// Appends `lines` to `path` under the directory's lock, then makes them
/// durable: the file, and the directory that holds its name, flushed to
/// disk after every append (not only the one that created the file: a run
/// that crashed between creating the file and flushing its directory left
/// a name the next run's records would be lost with). Returns how many
/// lines (from the first) are in the file and on disk, and the error that
/// stopped the rest. A write that fails stops there, its torn line cut off
/// again; a failed flush assures none.
fn append(
    path: &Path,
    lines: &[Vec<u8>],
    durability: &mut Durability,
) -> (usize, Option<io::Error>) {
    let mut done = 0;
    match append_locked(path, lines, &mut done, durability) {
        Ok(()) => (done, None),
        Err(e) => (done, Some(e)),
    }
}

fn append_locked(
    path: &Path,
    lines: &[Vec<u8>],
    durable: &mut usize,
    durability: &mut Durability,
) -> io::Result<()> {
    use std::os::unix::fs::{FileExt as _, OpenOptionsExt as _};
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let _lock = TargetLock::acquire(&dir.join(LOCK_NAME))?;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        // A planted symlink is not followed to another file.
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)?;
    let mut len = file.metadata()?.len();
    if len > 0 {
        let mut last = [0u8];
        file.read_exact_at(&mut last, len - 1)?;
        // A killed run's torn line: this record starts on its own line.
        if last[0] != b'\n' {
            file.write_all(b"\n")?;
            len += 1;
        }
    }
    let mut written = 0;
    let mut failed = None;
    for line in lines {
        let mut whole = Vec::with_capacity(line.len() + 1);
        whole.extend_from_slice(line);
        whole.push(b'\n');
        match file.write_all(&whole) {
            Ok(()) => {
                len += whole.len() as u64;
                written += 1;
            }
            Err(e) => {
                // Cut the torn line, so that the file ends with a whole one.
                let _ = file.set_len(len);
                failed = Some(e);
                break;
            }
        }
    }
    durability.sync_file(&file)?;
    durability.sync_dir(dir)?;
    *durable = written;
    match failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Checks, before anything is sent, that `--archive DIR` is a directory
/// the janitor can create files in.
pub fn check_dir(dir: &Path) -> Result<(), String> {
    let shown = dir.display();
    if !dir.is_dir() {
        return Err(match dir.exists() {
            true => format!("--archive {shown} is not a directory"),
            false => format!("--archive {shown}: the directory does not exist"),
        });
    }
    tempfile::tempfile_in(dir)
        .map(drop)
        .map_err(|e| format!("--archive {shown}: cannot create files in it: {e}"))
}

/// One line of an archive file, read back.
#[derive(Debug)]
pub struct Line {
    /// Counted from 1.
    pub number: usize,
    pub record: Result<StoredRecord, String>,
}

/// Why a file given to `restore` is not read as an archive at all.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Io(#[from] io::Error),
    /// It starts with the magic number of a compression format (what
    /// logrotate's `compress` leaves). Archives are read as `--archive`
    /// writes them: a decoder would be a dependency for what one command
    /// does (docs/lifecycle.md).
    #[error("compressed ({})", .0.format)]
    Compressed(&'static Compression),
    /// Its first line is no archive record (a report, a state file, a
    /// textfile): one error for the file, not one per line.
    #[error("its first line is not a record of schema {SCHEMA:?}")]
    NotAnArchive,
}

/// A compression format a rotated file may be in.
#[derive(Debug)]
pub struct Compression {
    magic: &'static [u8],
    pub format: &'static str,
    /// The command that decompresses a file, keeping it.
    pub decompress: &'static str,
}

/// The formats logrotate's `compresscmd` is usually set to.
const COMPRESSED: [Compression; 4] = [
    Compression {
        magic: b"\x1f\x8b",
        format: "gzip",
        decompress: "gunzip -k",
    },
    Compression {
        magic: b"\x28\xb5\x2f\xfd",
        format: "zstd",
        decompress: "zstd -d",
    },
    Compression {
        magic: b"\xfd7zXZ\x00",
        format: "xz",
        decompress: "unxz -k",
    },
    Compression {
        magic: b"BZh",
        format: "bzip2",
        decompress: "bunzip2 -k",
    },
];

/// Whether `line`, the first of a file, shows an archive: a record of any
/// version of the archive schema (a later one fails line by line, saying
/// which), or one cut short (every record is written schema first).
fn opens_an_archive(line: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Head {
        schema: String,
    }
    const FAMILY: &str = "pushgateway-janitor/archive/";
    line.starts_with(format!("{{\"schema\":\"{FAMILY}").as_bytes())
        || serde_json::from_slice::<Head>(line).is_ok_and(|h| h.schema.starts_with(FAMILY))
}

/// Every line of the archive file at `path`, each a record or why it is
/// not one (a torn line, a line of another schema). Empty lines are
/// skipped. `Err`: the file could not be read, or is no archive (its first
/// line says so, or it is compressed).
pub fn read(path: &Path) -> Result<Vec<Line>, ReadError> {
    use std::io::BufRead as _;
    let mut reader = io::BufReader::new(std::fs::File::open(path)?);
    let start = reader.fill_buf()?;
    if let Some(compression) = COMPRESSED.iter().find(|c| start.starts_with(c.magic)) {
        return Err(ReadError::Compressed(compression));
    }
    let mut lines = Vec::new();
    let mut buf = Vec::new();
    let mut number = 0;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        number += 1;
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if lines.is_empty() && !opens_an_archive(line) {
            return Err(ReadError::NotAnArchive);
        }
        lines.push(Line {
            number,
            record: parse_line(line),
        });
    }
    Ok(lines)
}

/// One line of an archive file as `restore` reads it.
fn parse_line(line: &[u8]) -> Result<StoredRecord, String> {
    serde_json::from_slice::<StoredRecord>(line)
        .map_err(|e| match e.classify() {
            serde_json::error::Category::Eof => {
                "the line ends inside its JSON (a record cut short)".to_owned()
            }
            _ => format!("not an archive record: {e}"),
        })
        .and_then(|r| match r.schema.as_str() {
            SCHEMA => Ok(r),
            other => Err(format!("a record of schema {other:?}, not {SCHEMA:?}")),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_file_per_utc_day() {
        assert_eq!(
            file_name(1_795_481_266.0),
            "pushgateway-janitor-archive-2026-11-24.jsonl"
        );
        assert_eq!(
            file_name(1_795_478_399.999),
            "pushgateway-janitor-archive-2026-11-23.jsonl"
        );
    }

    fn fsync() -> Durability {
        Durability::Fsync
    }

    #[test]
    fn appends_are_0600_and_a_torn_line_costs_only_itself() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file_name(0.0));
        // A record's head: read() takes the file for an archive by it.
        let a = format!("{{\"schema\":\"{SCHEMA}\",\"a\":1}}");
        assert_eq!(append(&path, &[a.clone().into_bytes()], &mut fsync()).0, 1);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A run killed mid-line.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"torn")
            .unwrap();
        assert_eq!(append(&path, &[b"{\"b\":2}".to_vec()], &mut fsync()).0, 1);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("{a}\n{{\"torn\n{{\"b\":2}}\n"));
        let lines = read(&path).unwrap();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].record.as_ref().unwrap_err().contains("cut short"));
    }

    #[test]
    fn a_file_is_an_archive_by_its_first_line_and_not_compressed() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            read(&path)
        };
        // A pretty-printed report: refused as a whole.
        let report = file(
            "report.json",
            b"{\n  \"schema\": \"pushgateway-janitor/report/v1\"\n}\n",
        );
        assert!(matches!(report, Err(ReadError::NotAnArchive)), "{report:?}");
        let text = file("x.prom", b"# HELP x y\nx 1\n");
        assert!(matches!(text, Err(ReadError::NotAnArchive)), "{text:?}");
        let gz = file("a.jsonl.gz", b"\x1f\x8b\x08\x00\x00\x00\x00\x00");
        assert!(
            matches!(gz, Err(ReadError::Compressed(c)) if c.format == "gzip"),
            "{gz:?}"
        );
        // A first record cut short, or of a later version, still makes an
        // archive: each such line fails alone.
        let torn = format!("\n{{\"schema\":\"{SCHEMA}\",\"arch\n{{\"x\":1}}\n");
        let lines = file("torn.jsonl", torn.as_bytes()).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].number, 2);
        let later = file(
            "v9.jsonl",
            b"{\"x\":1,\"schema\":\"pushgateway-janitor/archive/v9\"}\n",
        )
        .unwrap();
        assert_eq!(later.len(), 1);
        assert!(later[0].record.is_err());
        assert!(file("empty.jsonl", b"").unwrap().is_empty());
    }

    #[test]
    fn one_lock_for_the_directory_and_no_companion_per_day() {
        let dir = tempfile::tempdir().unwrap();
        for day in [0.0, 86_400.0, 2.0 * 86_400.0] {
            let path = dir.path().join(file_name(day));
            assert_eq!(append(&path, &[b"{}".to_vec()], &mut fsync()).0, 1);
        }
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                ".pushgateway-janitor-archive.lock",
                "pushgateway-janitor-archive-1970-01-01.jsonl",
                "pushgateway-janitor-archive-1970-01-02.jsonl",
                "pushgateway-janitor-archive-1970-01-03.jsonl",
            ]
        );
    }

    #[test]
    fn every_append_flushes_the_file_and_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file_name(0.0));
        let mut counted = Durability::Counted { files: 0, dirs: 0 };
        for _ in 0..3 {
            assert_eq!(append(&path, &[b"{}".to_vec()], &mut counted).0, 1);
        }
        // The file existed for the second and third: its directory entry
        // is flushed all the same.
        assert!(matches!(counted, Durability::Counted { files: 3, dirs: 3 }));
    }

    #[test]
    fn a_symlink_in_place_of_the_file_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let path = dir.path().join(file_name(0.0));
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        let error = append(&path, &[b"{}".to_vec()], &mut fsync()).1.unwrap();
        assert_eq!(
            words(&error),
            "the archive file is a symbolic link, which is not followed; replace it with the file itself"
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }

    #[test]
    fn a_record_restore_could_not_push_back_is_not_archived() {
        let key = GroupingKey::new([("job".to_owned(), "gh".to_owned())]).unwrap();
        let line = |family: &str| {
            format!(
                r#"{{"schema":"{SCHEMA}","archived_at":"t","gateway":"g","labels":{{"job":"gh"}},"group":{{"labels":{{"job":"gh"}},"q":{{"type":"{family}","metrics":[{{"value":"0"}}]}}}}}}"#
            )
        };
        assert_eq!(restores(line("GAUGE").as_bytes(), &key), Ok(()));
        let why = restores(line("GAUGE_HISTOGRAM").as_bytes(), &key).unwrap_err();
        assert!(
            why.starts_with("metric family q: a gauge histogram"),
            "{why}"
        );
        let other = GroupingKey::new([("job".to_owned(), "other".to_owned())]).unwrap();
        assert_eq!(
            restores(line("GAUGE").as_bytes(), &other),
            Err("it reads back as the group {job=\"gh\"}".to_owned())
        );
    }
}
