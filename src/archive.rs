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
//! or the gateways of one run): each append holds the file's lock
//! ([`TargetLock`]), so records never interleave. A line cut short by a
//! killed run or a full disk is cut off again (on a failed write) or ended
//! with a newline before the next record (after a crash), so it costs one
//! unreadable line, never the record after it.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::files::TargetLock;
use crate::gateway::document::RawGroups;
use crate::group::{Entry, GroupingKey};
use crate::report::Time;

/// The schema of every record.
pub const SCHEMA: &str = "pushgateway-janitor/archive/v1";

const PREFIX: &str = "pushgateway-janitor-archive-";
const SUFFIX: &str = ".jsonl";

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
    fn group(&self, key: &GroupingKey) -> Result<Box<RawValue>, String> {
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

/// Archives `groups` in `dir`'s file for `at`: each `Ok` holds the file's
/// path (the group is written and flushed to disk), each `Err` why not (the
/// group must not be deleted). Blocking: file I/O and a lock.
pub fn archive(
    dir: &Path,
    at: f64,
    source: &Source,
    kept: &Kept,
    groups: &[Stale],
) -> Vec<Result<String, String>> {
    let mut results: Vec<Result<String, String>> = vec![Err(String::new()); groups.len()];
    let mut lines: Vec<Vec<u8>> = Vec::with_capacity(groups.len());
    let mut written: Vec<usize> = Vec::with_capacity(groups.len());
    for (i, g) in groups.iter().enumerate() {
        let record = kept.group(&g.key).and_then(|group| {
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
        });
        match record {
            Ok(line) => {
                lines.push(line);
                written.push(i);
            }
            Err(why) => results[i] = Err(why),
        }
    }
    if lines.is_empty() {
        return results;
    }
    let path = dir.join(file_name(at));
    let shown = path.display().to_string();
    let (done, error) = append(&path, &lines);
    if let Some(e) = &error {
        tracing::warn!("{shown}: {done} of {} groups archived: {e}", lines.len());
    }
    for (n, i) in written.into_iter().enumerate() {
        results[i] = match &error {
            _ if n < done => Ok(shown.clone()),
            Some(e) => Err(format!("could not archive it to {shown}: {e}")),
            None => Err(format!("could not archive it to {shown}")),
        };
    }
    results
}

/// Appends `lines` to `path` under its lock, then flushes the file to
/// disk. Returns how many lines (from the first) are in the file and on
/// disk, and the error that stopped the rest. A write that fails stops
/// there, its torn line cut off again; a failed flush assures none.
fn append(path: &Path, lines: &[Vec<u8>]) -> (usize, Option<io::Error>) {
    let mut done = 0;
    match append_locked(path, lines, &mut done) {
        Ok(()) => (done, None),
        Err(e) => (done, Some(e)),
    }
}

fn append_locked(path: &Path, lines: &[Vec<u8>], durable: &mut usize) -> io::Result<()> {
    use std::os::unix::fs::{FileExt as _, OpenOptionsExt as _};
    let _lock = TargetLock::acquire(path)?;
    let created = !path.exists();
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
    file.sync_all()?;
    if created {
        // The new file's name is on disk too.
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::File::open(dir)?.sync_all()?;
    }
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

/// Every line of the archive file at `path`, each a record or why it is
/// not one (a torn line, a line of another schema). Empty lines are
/// skipped. `Err`: the file could not be read.
pub fn read(path: &Path) -> io::Result<Vec<Line>> {
    use std::io::BufRead as _;
    let mut reader = io::BufReader::new(std::fs::File::open(path)?);
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
        let record = serde_json::from_slice::<StoredRecord>(line)
            .map_err(|e| match e.classify() {
                serde_json::error::Category::Eof => {
                    "the line ends inside its JSON (a record cut short)".to_owned()
                }
                _ => format!("not an archive record: {e}"),
            })
            .and_then(|r| match r.schema.as_str() {
                SCHEMA => Ok(r),
                other => Err(format!("a record of schema {other:?}, not {SCHEMA:?}")),
            });
        lines.push(Line { number, record });
    }
    Ok(lines)
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

    #[test]
    fn appends_are_0600_and_a_torn_line_costs_only_itself() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file_name(0.0));
        assert_eq!(append(&path, &[b"{\"a\":1}".to_vec()]).0, 1);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A run killed mid-line.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"torn")
            .unwrap();
        assert_eq!(append(&path, &[b"{\"b\":2}".to_vec()]).0, 1);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "{\"a\":1}\n{\"torn\n{\"b\":2}\n");
        let lines = read(&path).unwrap();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].record.as_ref().unwrap_err().contains("cut short"));
        // The lock file beside it, never removed.
        assert!(dir
            .path()
            .join(format!(".{}.lock", file_name(0.0)))
            .exists());
    }

    #[test]
    fn a_symlink_in_place_of_the_file_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let path = dir.path().join(file_name(0.0));
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        assert!(append(&path, &[b"{}".to_vec()]).1.is_some());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }
}
