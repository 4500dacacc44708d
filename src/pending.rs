//! What `--grace` carries from pass to pass: the stale groups each gateway
//! showed, since when, and with which last activity ([`Mark`]). A pass
//! reads it before it decides (`plan::decide_marked`) and leaves what its
//! decisions say ([`Seen`], made by `run` from the plan): in the
//! `--state-file`, replaced atomically under the file's lock (a
//! read-modify-write, so two runs that overlap do not lose each other's
//! gateways), and, in `--every` mode, in memory between passes.
//!
//! Marks are kept by gateway identity ([`GatewayId`]): the URL, and for a
//! replica found through DNS the `--url` it came from and its address.
//! Bounded: a gateway's marks are exactly its groups that the last pass
//! that scanned it saw stale and did not delete; a group no longer on the
//! gateway, pushed again, or deleted drops out, and so does a replica that
//! a pass which resolved its name did not find.

mod rhythms;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::group::GroupingKey;
use crate::identity::{Discovered, GatewayId, Replica};
use crate::plan::{Decision, Mark, Marks, Subject};
use crate::report::{Action, GraceMark};
use crate::rhythm;

/// The first line a state file's JSON holds, so that a file of another
/// tool is never taken for one (or overwritten).
pub const SCHEMA: &str = "pushgateway-janitor/pending/v3";

/// The schema before the rhythms (read, and upgraded when written): the
/// same marks, no `rhythms`.
const SCHEMA_V2: &str = "pushgateway-janitor/pending/v2";

/// The schema before gateways were identities (read, never written): marks
/// by the gateway's display name.
const SCHEMA_V1: &str = "pushgateway-janitor/pending/v1";

/// Every gateway's marks, by gateway identity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    gateways: BTreeMap<GatewayId, Marks>,
    /// Each gateway's rhythms (`rhythm`), by gateway identity too.
    rhythms: BTreeMap<GatewayId, rhythm::Memory>,
}

/// What a pass tells the state about one group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Judged {
    /// Stale and not deleted: marked, as the plan saw it.
    Marked(Mark),
    /// Not judged by this pass (no `--select` of its chose it): a mark
    /// another run, with other selectors, gave it stays.
    NotJudged,
}

/// The group `decision` is about and what its `action` leaves in the
/// state; `None` for a group that leaves no mark (deleted, active, kept,
/// skipped).
pub fn judged(decision: &Decision, action: Action) -> Option<(GroupingKey, Judged)> {
    let Subject::Group(group) = &decision.subject else {
        return None;
    };
    let mark = decision.grace.map(|grace| Mark {
        stale_since: grace.stale_since,
        last_activity: decision.last_activity,
    });
    Some((group.key.clone(), leaves(action, mark)?))
}

/// What a group of this action leaves in the state, as the action table
/// says ([`GraceMark`]): its mark (`mark`, the plan's, when it has one),
/// the mark another run gave it, or nothing.
fn leaves(action: Action, mark: Option<Mark>) -> Option<Judged> {
    match action.properties().grace_mark {
        GraceMark::Kept => mark.map(Judged::Marked),
        GraceMark::Carried => Some(Judged::NotJudged),
        GraceMark::Dropped => None,
    }
}

/// What one pass leaves for the state, from its decisions and lookups.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Seen {
    /// Each gateway whose scan finished, with its groups that leave
    /// something ([`judged`]).
    scanned: Vec<(GatewayId, Vec<(GroupingKey, Judged)>)>,
    /// What the pass's lookups resolved and found: which replicas are
    /// gone ([`Discovered::gone`]).
    discovered: Discovered,
    /// What each scanned gateway's pass saw for its rhythms.
    rhythms: Vec<(GatewayId, rhythm::PassSeen)>,
}

impl Seen {
    /// What the pass learnt from DNS: the report carries it for the
    /// textfile's counters, which ask it the same question.
    pub fn discovered(&self) -> &Discovered {
        &self.discovered
    }

    /// A gateway the pass found (through its `--url` or DNS).
    pub fn found(&mut self, id: &GatewayId) {
        self.discovered.found(id);
    }

    /// A gateway whose scan finished, with what its groups leave.
    pub fn scanned(&mut self, id: &GatewayId, groups: Vec<(GroupingKey, Judged)>) {
        self.found(id);
        self.scanned.push((id.clone(), groups));
    }

    /// What a scanned gateway's pass saw for its rhythms.
    pub fn rhythms(&mut self, id: &GatewayId, seen: rhythm::PassSeen) {
        self.rhythms.push((id.clone(), seen));
    }

    /// The lookup of `discovered_from` answered; the addresses of these
    /// `dnssrv+` targets (URLs) were not found.
    pub fn resolved(&mut self, discovered_from: &str, unresolved_targets: BTreeSet<String>) {
        self.discovered
            .resolved(discovered_from, unresolved_targets);
    }
}

impl State {
    /// The marks of the gateway `id`.
    pub fn marks(&self, id: &GatewayId) -> Marks {
        self.gateways.get(id).cloned().unwrap_or_default()
    }

    /// What the passes remember of the gateway `id`'s rhythms.
    pub fn memory(&self, id: &GatewayId) -> Option<&rhythm::Memory> {
        self.rhythms.get(id)
    }

    /// How many groups' rhythms are remembered (deleted ones included).
    pub fn rhythms_len(&self) -> usize {
        self.rhythms
            .values()
            .map(|m| m.groups.len() + m.departed.len())
            .sum()
    }

    /// How many groups are marked, on every gateway.
    pub fn len(&self) -> usize {
        self.gateways.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What a pass that saw `seen` leaves. Each gateway it scanned gets
    /// exactly the marks of its groups that stay marked, and keeps those of
    /// its groups the pass did not judge (runs with other `--select`s share
    /// the file); where this state already marked such a group with the
    /// same last activity earlier (another run that overlapped this one saw
    /// it first), the earlier time stays. A gateway the pass could not
    /// scan, or did not visit, keeps its marks; a replica found through DNS
    /// drops out when the pass resolved its name and did not find it (pods
    /// come back under new addresses).
    pub fn update(&mut self, seen: &Seen) {
        for (id, groups) in &seen.scanned {
            let before = self.gateways.remove(id).unwrap_or_default();
            let mut marks = Marks::new();
            for (key, judged) in groups {
                let mark = match judged {
                    Judged::NotJudged => match before.get(key) {
                        Some(mark) => *mark,
                        None => continue,
                    },
                    Judged::Marked(mark) => Mark {
                        stale_since: match before.get(key) {
                            Some(m) if m.last_activity == mark.last_activity => {
                                m.stale_since.min(mark.stale_since)
                            }
                            _ => mark.stale_since,
                        },
                        last_activity: mark.last_activity,
                    },
                };
                marks.insert(key.clone(), mark);
            }
            if !marks.is_empty() {
                self.gateways.insert(id.clone(), marks);
            }
        }
        for (id, pass) in &seen.rhythms {
            let memory = self.rhythms.entry(id.clone()).or_default();
            memory.update(pass);
            if memory.is_empty() {
                self.rhythms.remove(id);
            }
        }
        self.gateways.retain(|id, _| !seen.discovered.gone(id));
        self.rhythms.retain(|id, _| !seen.discovered.gone(id));
    }

    /// The state as its file holds it: compact JSON (10,000 groups' rhythms
    /// in about 2 MB, not 7), gateways and groups in a stable order.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string(&self.file()).expect("a state serializes");
        text.push('\n');
        text
    }

    /// The state as its file is serialized.
    fn file(&self) -> FileOut<'_> {
        FileOut {
            schema: SCHEMA,
            gateways: self
                .gateways
                .iter()
                .map(|(id, marks)| GatewayOut {
                    url: &id.url,
                    discovered_from: id.replica.as_ref().map(|r| r.discovered_from.as_str()),
                    address: id.replica.as_ref().and_then(|r| r.address),
                    marks: marks
                        .iter()
                        .map(|(key, m)| FileMarkOut {
                            labels: key,
                            stale_since: m.stale_since,
                            last_activity: m.last_activity,
                        })
                        .collect(),
                })
                .collect(),
            rhythms: self
                .rhythms
                .iter()
                .map(|(id, memory)| rhythms::to_file(id, memory))
                .collect(),
        }
    }

    /// [`State::to_json`], written to `out` as it is made.
    pub fn write_json(&self, out: &mut dyn io::Write) -> io::Result<()> {
        serde_json::to_writer(&mut *out, &self.file())?;
        out.write_all(b"\n")
    }

    /// Reads a state file's text (this schema, v2 or v1). Empty text is an
    /// empty state; anything else without one of the schemas is an error.
    pub fn from_json(text: &str) -> Result<State, String> {
        State::from_reader(io::Cursor::new(text.as_bytes())).map_err(|e| match e {
            LoadError::NotAState(why) => why,
            LoadError::Unreadable(e) => e.to_string(),
        })
    }

    /// [`State::from_json`], from a reader: the file's text is never held
    /// whole. Besides its megabyte, a large buffer freed before the scan
    /// raises glibc's mmap threshold, and the scan's buffers then stay on
    /// the heap: some 2 MiB more peak RSS with 10,000 groups' rhythms
    /// (`BENCHMARKS.md`).
    fn from_reader<R: io::BufRead + io::Seek>(mut r: R) -> Result<State, LoadError> {
        // Empty (or blank) is an empty state.
        loop {
            let blank = match r.fill_buf().map_err(LoadError::Unreadable)? {
                [] => return Ok(State::default()),
                buf if buf.iter().all(u8::is_ascii_whitespace) => buf.len(),
                _ => break,
            };
            r.consume(blank);
        }
        let not_a_state = |e: serde_json::Error| match e.classify() {
            serde_json::error::Category::Io => LoadError::Unreadable(e.into()),
            _ => LoadError::NotAState(format!("not a pushgateway-janitor state file ({e})")),
        };
        let mut state = State::default();
        // Parsed once as this schema's (or v2's), as nearly every file is;
        // read again, schema first, only as v1 or to say why it is not one.
        let current = match serde_json::from_reader::<_, FileV2>(&mut r) {
            Ok(file) if [SCHEMA, SCHEMA_V2].contains(&file.schema.as_str()) => Some(file),
            Err(e) if e.classify() == serde_json::error::Category::Io => {
                return Err(LoadError::Unreadable(e.into()))
            }
            _ => None,
        };
        let again = |r: &mut R| {
            r.seek(io::SeekFrom::Start(0))
                .map_err(LoadError::Unreadable)
        };
        let head = match &current {
            Some(file) => Head {
                schema: file.schema.clone(),
            },
            None => {
                again(&mut r)?;
                let head: Head = serde_json::from_reader(&mut r).map_err(not_a_state)?;
                again(&mut r)?;
                head
            }
        };
        let gateways: Vec<(Option<GatewayId>, Vec<FileMark>)> = match head.schema.as_str() {
            SCHEMA | SCHEMA_V2 => {
                let file: FileV2 = match current {
                    Some(file) => file,
                    None => serde_json::from_reader(&mut r).map_err(not_a_state)?,
                };
                let mut read = Vec::new();
                for g in file.gateways {
                    read.push((
                        Some(
                            gateway_id(g.url, g.discovered_from, g.address)
                                .map_err(LoadError::NotAState)?,
                        ),
                        g.marks,
                    ));
                }
                for g in file.rhythms {
                    let id = gateway_id(g.url.clone(), g.discovered_from.clone(), g.address)
                        .map_err(LoadError::NotAState)?;
                    let memory = rhythms::from_file(g);
                    if !memory.is_empty() {
                        state.rhythms.insert(id, memory);
                    }
                }
                read
            }
            SCHEMA_V1 => {
                let file: FileV1 = serde_json::from_reader(&mut r).map_err(not_a_state)?;
                file.gateways
                    .into_iter()
                    .map(|(name, marks)| (v1_gateway(name), marks))
                    .collect()
            }
            other => {
                return Err(LoadError::NotAState(format!(
                    "its schema is {:?}, not {SCHEMA:?}",
                    other.chars().take(60).collect::<String>()
                )))
            }
        };
        for (id, marks) in gateways {
            let mut read = Marks::new();
            for m in marks {
                let key = GroupingKey::new(m.labels).map_err(|e| {
                    LoadError::NotAState(match &id {
                        Some(id) => format!("{}: {e}", id.url),
                        None => e.to_string(),
                    })
                })?;
                read.insert(
                    key,
                    Mark {
                        stale_since: m.stale_since,
                        last_activity: m.last_activity,
                    },
                );
            }
            if let Some(id) = id {
                state.gateways.entry(id).or_default().extend(read);
            }
        }
        Ok(state)
    }
}

/// A gateway's identity as the file writes it.
fn gateway_id(
    url: String,
    discovered_from: Option<String>,
    address: Option<SocketAddr>,
) -> Result<GatewayId, String> {
    let replica = match (discovered_from, address) {
        (Some(discovered_from), address) => Some(Replica {
            discovered_from,
            address,
        }),
        (None, None) => None,
        (None, Some(_)) => return Err(format!("{url}: an address without discovered_from")),
    };
    Ok(GatewayId { url, replica })
}

/// The gateway a v1 file's name stood for: a gateway named by its URL, or
/// `None` for a replica (v1 wrote `URL (ADDRESS)` and kept no record of
/// the `--url` it came from). Its groups start their grace period again
/// once: a delay, never an earlier delete.
fn v1_gateway(name: String) -> Option<GatewayId> {
    let replica = name
        .strip_suffix(')')
        .and_then(|n| n.rsplit_once(" ("))
        .is_some_and(|(_, address)| address.parse::<SocketAddr>().is_ok());
    (!replica).then(|| GatewayId::url(name))
}

/// The file as written: each gateway by its identity (`url`, and for a
/// replica `discovered_from` and `address`, as the report names them),
/// each group by its exact grouping key (`job` first), times in Unix
/// seconds as exact as the plan had them (JSON numbers round-trip an f64).
#[derive(Serialize)]
struct FileOut<'a> {
    schema: &'static str,
    gateways: Vec<GatewayOut<'a>>,
    rhythms: Vec<rhythms::GatewayOut<'a>>,
}

#[derive(Serialize)]
struct GatewayOut<'a> {
    url: &'a str,
    discovered_from: Option<&'a str>,
    address: Option<SocketAddr>,
    marks: Vec<FileMarkOut<'a>>,
}

#[derive(Serialize)]
struct FileMarkOut<'a> {
    labels: &'a GroupingKey,
    stale_since: f64,
    last_activity: Option<f64>,
}

/// Just the schema, to know how to read the rest.
#[derive(Deserialize)]
struct Head {
    schema: String,
}

/// The file as read back.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileV2 {
    schema: String,
    gateways: Vec<GatewayIn>,
    /// Not in a v2 file.
    #[serde(default)]
    rhythms: Vec<rhythms::GatewayIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GatewayIn {
    url: String,
    discovered_from: Option<String>,
    address: Option<SocketAddr>,
    marks: Vec<FileMark>,
}

/// A v1 file: gateways by display name.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileV1 {
    #[allow(dead_code)]
    schema: String,
    gateways: BTreeMap<String, Vec<FileMark>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMark {
    labels: BTreeMap<String, String>,
    stale_since: f64,
    last_activity: Option<f64>,
}

/// Why a state file could not be read.
#[derive(Debug)]
pub enum LoadError {
    /// It exists and could not be read.
    Unreadable(io::Error),
    /// It is not a state file (another tool's, or another schema): never
    /// overwritten.
    NotAState(String),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Unreadable(e) => write!(f, "cannot read it: {e}"),
            LoadError::NotAState(why) => f.write_str(why),
        }
    }
}

/// The state `path` holds: empty when it does not exist. A file that
/// cannot be read or is not a state is an error (the caller decides).
pub fn load(path: &Path) -> Result<State, LoadError> {
    read(path).map(|read| read.state)
}

/// A state as read from its file, with what tells whether the file is
/// still the one read ([`Read::is_current`]): a run's save then updates
/// this reading instead of parsing the file again (10,000 groups' rhythms
/// are a megabyte of JSON and a megabyte in memory).
#[derive(Debug)]
pub struct Read {
    pub state: State,
    /// The file read, kept open (its inode cannot be reused by another
    /// file while it is), and its size and times when it was opened.
    source: Option<(std::fs::File, Stamp)>,
}

/// What changes when a file is written in place; a writer that replaces
/// it (every run: a rename) gives the path another inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt as _;
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

impl Read {
    /// Whether `path` still names the file this was read from, unchanged:
    /// the same inode, of the same size and times as when it was opened
    /// (stamped before it was read, so a write in place during the read
    /// counts as a change). A file that did not exist is never current:
    /// another run may have created it since.
    fn is_current(&self, path: &Path) -> bool {
        let Some((file, stamp)) = &self.source else {
            return false;
        };
        let now = (file.metadata(), std::fs::metadata(path));
        matches!(now, (Ok(ours), Ok(named))
            if Stamp::of(&ours) == *stamp && Stamp::of(&named) == *stamp)
    }
}

/// [`load`], keeping what [`save_read`] needs to know whether the file
/// changed since.
pub fn read(path: &Path) -> Result<Read, LoadError> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Read {
                state: State::default(),
                source: None,
            })
        }
        Err(e) => return Err(LoadError::Unreadable(e)),
    };
    let stamp = Stamp::of(&file.metadata().map_err(LoadError::Unreadable)?);
    let state = State::from_reader(io::BufReader::new(&mut file))?;
    Ok(Read {
        state,
        source: Some((file, stamp)),
    })
}

/// Why a pass's marks were not recorded.
#[derive(Debug)]
pub enum SaveError {
    /// The file is no longer a state (replaced since the run started): it
    /// is left as it is.
    NotAState(String),
    Io(io::Error),
}

impl fmt::Display for SaveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SaveError::NotAState(why) => write!(
                f,
                "{why}; not overwriting it (remove it or choose another name)"
            ),
            SaveError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl From<io::Error> for SaveError {
    fn from(e: io::Error) -> SaveError {
        SaveError::Io(e)
    }
}

/// Records what a pass saw (`seen`) in the state file at `path`: read,
/// update and replace under the file's lock, so that a run that overlaps
/// this one and writes in between is not undone. A file that is not a
/// state (any more) is left as it is, as at start: an error. A new file is
/// created 0600, as the archive: it holds grouping keys; an existing one
/// keeps its mode.
pub fn save(path: &Path, seen: &Seen) -> Result<(), SaveError> {
    save_read(path, seen, None)
}

/// [`save`], starting from `read` (the file as this run read it) when the
/// file has not changed since (checked under the lock): the same result as
/// reading it again, without parsing it again. Changed (another run wrote
/// it), it is read again, so that run's entries stay.
pub fn save_read(path: &Path, seen: &Seen, read: Option<Read>) -> Result<(), SaveError> {
    let _lock = crate::files::TargetLock::acquire(path)?;
    let read = read.filter(|read| read.is_current(path));
    let mut state = match read {
        Some(read) => read.state,
        None => match load(path) {
            Ok(state) => state,
            Err(LoadError::NotAState(why)) => return Err(SaveError::NotAState(why)),
            Err(LoadError::Unreadable(e)) => return Err(SaveError::Io(e)),
        },
    };
    state.update(seen);
    crate::files::create_private(path)?;
    crate::files::replace_with(path, |w| state.write_json(w))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(job: &str) -> GroupingKey {
        GroupingKey::new([("job", job)]).unwrap()
    }

    fn marked(job: &str, since: f64, last: f64) -> (GroupingKey, Judged) {
        (
            key(job),
            Judged::Marked(Mark {
                stale_since: since,
                last_activity: Some(last),
            }),
        )
    }

    fn plain(url: &str) -> GatewayId {
        GatewayId::url(url)
    }

    fn replica(from: &str, url: &str, address: Option<&str>) -> GatewayId {
        GatewayId {
            url: url.into(),
            replica: Some(Replica {
                discovered_from: from.into(),
                address: address.map(|a| a.parse().unwrap()),
            }),
        }
    }

    fn scanned(id: &GatewayId, groups: Vec<(GroupingKey, Judged)>) -> Seen {
        let mut seen = Seen::default();
        seen.scanned(id, groups);
        seen
    }

    /// A group of each action keeps, carries or drops its mark as the
    /// action table says ([`GraceMark`]).
    #[test]
    fn marks_follow_the_action_table() {
        let id = plain("http://a");
        let mark = |since| Mark {
            stale_since: since,
            last_activity: Some(1.0),
        };
        let earlier = scanned(&id, vec![(key("j"), Judged::Marked(mark(5.0)))]);
        for action in Action::ALL {
            let groups: Vec<_> = leaves(action, Some(mark(10.0)))
                .map(|judged| (key("j"), judged))
                .into_iter()
                .collect();
            let this = scanned(&id, groups);
            let mut fresh = State::default();
            fresh.update(&this);
            let mut marked = State::default();
            marked.update(&earlier);
            marked.update(&this);
            let want = match action.properties().grace_mark {
                GraceMark::Kept => (1, 1),
                GraceMark::Carried => (0, 1),
                GraceMark::Dropped => (0, 0),
            };
            assert_eq!((fresh.len(), marked.len()), want, "{action:?}");
        }
    }

    /// Two runs with other `--select`s sharing one file: each keeps the
    /// marks of the groups it did not judge. Before, each erased the
    /// other's, so those groups were marked anew every run and never went.
    #[test]
    fn a_pass_keeps_the_marks_of_the_groups_it_ignored() {
        let a = plain("http://a");
        let mut state = State::default();
        state.update(&scanned(
            &a,
            vec![marked("x", 100.0, 10.0), (key("y"), Judged::NotJudged)],
        ));
        state.update(&scanned(
            &a,
            vec![(key("x"), Judged::NotJudged), marked("y", 200.0, 20.0)],
        ));
        let marks = state.marks(&a);
        assert_eq!(marks[&key("x")].stale_since, 100.0);
        assert_eq!(marks[&key("y")].stale_since, 200.0);
        // A group gone from the gateway drops out, ignored or not.
        state.update(&scanned(&a, vec![(key("y"), Judged::NotJudged)]));
        let marks = state.marks(&a);
        assert_eq!(marks.keys().cloned().collect::<Vec<_>>(), vec![key("y")]);
    }

    #[test]
    fn the_file_round_trips_exactly() {
        let mut state = State::default();
        state.update(&scanned(
            &plain("http://a"),
            vec![marked("pending", 100.0, 10.0), marked("failed", 50.0, 10.0)],
        ));
        let from = "dns+http://pgw:9091";
        state.update(&scanned(
            &replica(from, "http://pgw:9091", Some("10.0.0.1:9091")),
            vec![marked("r", 1.0, 0.5)],
        ));
        state.update(&scanned(
            &replica("dnssrvnoa+http://_p._tcp.pgw", "http://gw-a:9091", None),
            vec![marked("n", 1.0, 0.5)],
        ));
        assert_eq!(state.len(), 4);
        assert_eq!(State::from_json(&state.to_json()).unwrap(), state);
        let mut exact = State::default();
        // serde_json without float_roundtrip reads each of these back one
        // ulp off (found by trying; about one time in eight).
        for (i, t) in [
            1_776_580_499.574_040_7,
            1_717_519_135.030_062_7,
            1_738_161_739.523_078_7,
        ]
        .into_iter()
        .enumerate()
        {
            exact.gateways.entry(plain("http://a")).or_default().insert(
                key(&format!("j{i}")),
                Mark {
                    stale_since: t,
                    last_activity: Some(t),
                },
            );
        }
        assert_eq!(State::from_json(&exact.to_json()).unwrap(), exact);
        // A later pass where the groups revived, or went away: no marks.
        state.update(&scanned(&plain("http://a"), Vec::new()));
        assert_eq!(state.marks(&plain("http://a")).len(), 0);
    }

    /// A replica's marks go only when a pass resolved the name it came
    /// from and did not find it: not in a pass of another gateway, not in
    /// a pass whose lookup failed.
    #[test]
    fn a_replica_drops_out_only_when_its_name_resolved_without_it() {
        let from = "dns+http://pgw:9091";
        let one = replica(from, "http://pgw:9091", Some("10.0.0.1:9091"));
        let two = replica(from, "http://pgw:9091", Some("10.0.0.2:9091"));
        let a = plain("http://a");
        let mut state = State::default();
        for id in [&one, &two, &a] {
            state.update(&scanned(id, vec![marked("p", 1.0, 0.5)]));
        }
        assert_eq!(state.len(), 3);
        // Another janitor's pass over http://b; then a pass whose lookup
        // failed (nothing resolved): every mark stays.
        state.update(&scanned(&plain("http://b"), Vec::new()));
        state.update(&Seen::default());
        assert_eq!(state.len(), 3);
        // Resolved: 10.0.0.1 found (not scanned: its marks stay too),
        // 10.0.0.2 not.
        let mut seen = Seen::default();
        seen.resolved(from, BTreeSet::new());
        seen.found(&one);
        state.update(&seen);
        assert_eq!(state.marks(&one).len(), 1);
        assert!(state.marks(&two).is_empty());
        assert_eq!(state.marks(&a).len(), 1);
        // A name resolved, but this SRV target's addresses not: kept.
        let srv = "dnssrv+http://_p._tcp.pgw";
        let t = replica(srv, "http://gw-a:9091", Some("10.0.0.3:9091"));
        state.update(&scanned(&t, vec![marked("p", 1.0, 0.5)]));
        let mut seen = Seen::default();
        seen.resolved(srv, BTreeSet::from(["http://gw-a:9091".to_owned()]));
        state.update(&seen);
        assert_eq!(state.marks(&t).len(), 1);
        let mut seen = Seen::default();
        seen.resolved(srv, BTreeSet::new());
        state.update(&seen);
        assert!(state.marks(&t).is_empty());
    }

    /// A run saves from its own reading only while the file is the one it
    /// read: another run's write since (a rename, or a write in place) is
    /// read again, so that run's marks stay.
    #[test]
    fn a_save_from_a_reading_keeps_what_another_run_wrote_since() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let (a, b, c) = (plain("http://a"), plain("http://b"), plain("http://c"));
        save(&path, &scanned(&a, vec![marked("p", 1.0, 0.5)])).unwrap();
        // Unchanged: saved from the reading, as if read again.
        let ours = read(&path).unwrap();
        assert!(ours.is_current(&path));
        save_read(&path, &scanned(&b, vec![marked("q", 2.0, 0.5)]), Some(ours)).unwrap();
        let state = load(&path).unwrap();
        assert_eq!((state.marks(&a).len(), state.marks(&b).len()), (1, 1));
        // Another run replaces the file between our read and our save.
        let ours = read(&path).unwrap();
        save(&path, &scanned(&c, vec![marked("r", 3.0, 0.5)])).unwrap();
        assert!(!ours.is_current(&path));
        save_read(&path, &scanned(&b, vec![marked("q", 4.0, 0.5)]), Some(ours)).unwrap();
        let state = load(&path).unwrap();
        assert_eq!(state.marks(&c).len(), 1, "the other run's write was lost");
        assert_eq!(state.len(), 3);
        // Written in place (same inode): not current either.
        let ours = read(&path).unwrap();
        let text = State::default().to_json();
        std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .and_then(|mut f| io::Write::write_all(&mut f, text.as_bytes()))
            .unwrap();
        assert!(!ours.is_current(&path));
        save_read(&path, &Seen::default(), Some(ours)).unwrap();
        assert!(load(&path).unwrap().is_empty());
    }

    #[test]
    fn an_overlapping_run_that_saw_it_first_keeps_the_earlier_time() {
        let a = plain("http://a");
        let mut state = State::default();
        state.update(&scanned(&a, vec![marked("p", 100.0, 10.0)]));
        state.update(&scanned(&a, vec![marked("p", 150.0, 10.0)]));
        assert_eq!(state.marks(&a)[&key("p")].stale_since, 100.0);
        // Pushed in between: the newer activity starts again.
        state.update(&scanned(&a, vec![marked("p", 150.0, 20.0)]));
        assert_eq!(state.marks(&a)[&key("p")].stale_since, 150.0);
    }

    /// A v1 file (marks by display name) is read: a gateway named by its
    /// URL keeps its marks; a replica's, whose DNS name v1 did not keep,
    /// start their grace period again.
    #[test]
    fn a_v1_file_is_read() {
        let v1 = r#"{
          "schema": "pushgateway-janitor/pending/v1",
          "gateways": {
            "http://a:9091": [{"labels": {"job": "x"}, "stale_since": 5.5, "last_activity": 1.0}],
            "http://pgw:9091 (10.0.0.1:9091)": [{"labels": {"job": "y"}, "stale_since": 5.5, "last_activity": null}]
          }
        }"#;
        let state = State::from_json(v1).unwrap();
        assert_eq!(state.len(), 1);
        assert_eq!(
            state.marks(&plain("http://a:9091"))[&key("x")],
            Mark {
                stale_since: 5.5,
                last_activity: Some(1.0)
            }
        );
        assert!(state.to_json().contains(SCHEMA));
    }

    /// Issue 30: a v2 file (marks, no rhythms) is read and written back
    /// as v3; the rhythms round-trip exactly, deleted groups included.
    #[test]
    fn a_v2_file_is_upgraded_and_rhythms_round_trip() {
        let v2 = r#"{"schema":"pushgateway-janitor/pending/v2","gateways":[{"url":"http://a","discovered_from":null,"address":null,
          "marks":[{"labels":{"job":"x"},"stale_since":5.5,"last_activity":1.0}]}]}"#;
        let mut state = State::from_json(v2).unwrap();
        assert_eq!(state.len(), 1);
        let a = plain("http://a");
        let mut seen = Seen::default();
        seen.rhythms(
            &a,
            rhythm::PassSeen {
                now: 100.0,
                groups: vec![
                    (rhythm::KeyHash::of(&key("x")), 1.0),
                    (rhythm::KeyHash::of(&key("gone")), 2.5),
                ],
                deleted: vec![rhythm::KeyHash::of(&key("gone"))],
                unread: Vec::new(),
            },
        );
        state.update(&seen);
        let text = state.to_json();
        assert!(text.starts_with(r#"{"schema":"pushgateway-janitor/pending/v3""#));
        let back = State::from_json(&text).unwrap();
        assert_eq!(back, state);
        let memory = back.memory(&a).unwrap();
        assert_eq!(memory.groups.len(), 1);
        assert_eq!(
            memory.departed[&rhythm::KeyHash::of(&key("gone"))].deleted_at,
            100.0
        );
        assert_eq!(back.marks(&a).len(), 1);
    }

    #[test]
    fn other_files_are_not_states() {
        assert!(State::from_json("").unwrap().is_empty());
        for text in [
            "root:x:0:0::/root:/bin/bash",
            "{}",
            r#"{"schema":"x","gateways":{}}"#,
            r#"{"schema":"pushgateway-janitor/pending/v2","gateways":{}}"#,
            r#"{"schema":"pushgateway-janitor/pending/v3","gateways":[],"rhythms":[{"url":"http://a","discovered_from":null,"address":null,"groups":[{"key":"xyz","pushes":[]}],"departed":[]}]}"#,
            r#"{"schema":"pushgateway-janitor/pending/v3","gateways":[],"rhythms":[{"url":"http://a","discovered_from":null,"address":null,"groups":[{"key":"0e926640b6290a0e7ac8afd20fc62e84","pushes":[[2.0,1],[1.0,1]]}],"departed":[]}]}"#,
            r#"{"schema":"pushgateway-janitor/pending/v2","gateways":[{"url":"http://a","discovered_from":null,"address":"10.0.0.1:1","marks":[]}]}"#,
        ] {
            assert!(State::from_json(text).is_err(), "{text}");
        }
    }
}
