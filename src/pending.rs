//! What `--grace` carries from pass to pass: the stale groups each gateway
//! showed, since when, and with which last activity ([`Mark`]). A pass
//! reads it before it decides (`plan::decide_marked`) and leaves what its
//! report says: in the `--state-file`, replaced atomically under the file's
//! lock (a read-modify-write, so two runs that overlap do not lose each
//! other's gateways), and, in `--every` mode, in memory between passes.
//!
//! Bounded: a gateway's marks are exactly its groups that the last pass
//! that scanned it saw stale and did not delete; a group no longer on the
//! gateway, pushed again, or deleted drops out.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::group::GroupingKey;
use crate::plan::{Mark, Marks};
use crate::report::{Action, GatewayReport, Report};

/// The first line a state file's JSON holds, so that a file of another
/// tool is never taken for one (or overwritten).
pub const SCHEMA: &str = "pushgateway-janitor/pending/v1";

/// Every gateway's marks, by the gateway's name in the report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    gateways: BTreeMap<String, Marks>,
}

/// Whether a group with this action keeps its mark for the next pass: it
/// is still on the gateway, stale, with the activity it was judged by. A
/// group whose DELETE failed, was refused by a cap or is still shown was
/// past its grace period: the next pass deletes it without a new one.
fn keeps_mark(action: Action) -> bool {
    matches!(
        action,
        Action::Pending
            | Action::DeleteFailed
            | Action::Refused
            | Action::StillPresent
            | Action::Unconfirmed
            | Action::WouldDelete
    )
}

impl State {
    /// The marks of the gateway `name` (as [`GatewayReport::name`] gives it).
    pub fn marks(&self, name: &str) -> Marks {
        self.gateways.get(name).cloned().unwrap_or_default()
    }

    /// How many groups are marked, on every gateway.
    pub fn len(&self) -> usize {
        self.gateways.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What `report` leaves. Each gateway it scanned gets exactly the marks
    /// of its groups that stay marked ([`keeps_mark`]), and keeps those of
    /// its groups the pass did not judge (`ignored`: runs with other
    /// `--select`s share the file); where this state
    /// already marked such a group with the same last activity earlier
    /// (another run that overlapped this one saw it first), the earlier
    /// time stays. A gateway the pass could not scan keeps its marks. As
    /// the textfile's counters: a gateway named by its `--url` keeps them
    /// across runs that do not visit it; a replica found through DNS that
    /// the pass did not find drops out (pods come back under new addresses).
    pub fn update(&mut self, report: &Report) {
        for gw in report.gateways.iter().filter(|gw| gw.scanned()) {
            let name = gw.name().into_owned();
            let before = self.gateways.remove(&name).unwrap_or_default();
            let mut marks = Marks::new();
            // A group this pass did not judge (no --select of its chose
            // it) keeps the mark another run, with other selects, gave it.
            for g in gw.groups.iter().filter(|g| g.action == Action::Ignored) {
                let Ok(key) = GroupingKey::new(g.labels.0.iter().cloned()) else {
                    continue;
                };
                if let Some(mark) = before.get(&key) {
                    marks.insert(key, *mark);
                }
            }
            for g in gw.groups.iter().filter(|g| keeps_mark(g.action)) {
                let Some(since) = g.stale_since else {
                    continue;
                };
                let Ok(key) = GroupingKey::new(g.labels.0.iter().cloned()) else {
                    continue;
                };
                let last_activity = g.last_activity.map(|t| t.0);
                let stale_since = match before.get(&key) {
                    Some(m) if m.last_activity == last_activity => m.stale_since.min(since.0),
                    _ => since.0,
                };
                marks.insert(
                    key,
                    Mark {
                        stale_since,
                        last_activity,
                    },
                );
            }
            if !marks.is_empty() {
                self.gateways.insert(name, marks);
            }
        }
        let found: Vec<String> = report
            .gateways
            .iter()
            .map(|gw| gw.name().into_owned())
            .collect();
        self.gateways
            .retain(|name, _| !GatewayReport::is_replica_name(name) || found.contains(name));
    }

    /// The state as its file holds it: pretty JSON, gateways and groups in
    /// a stable order.
    pub fn to_json(&self) -> String {
        let file = FileOut {
            schema: SCHEMA,
            gateways: self
                .gateways
                .iter()
                .map(|(name, marks)| {
                    let marks = marks
                        .iter()
                        .map(|(key, m)| FileMarkOut {
                            labels: key,
                            stale_since: m.stale_since,
                            last_activity: m.last_activity,
                        })
                        .collect();
                    (name.as_str(), marks)
                })
                .collect(),
        };
        let mut text = serde_json::to_string_pretty(&file).expect("a state serializes");
        text.push('\n');
        text
    }

    /// Reads a state file's text. Empty text is an empty state; anything
    /// without this module's schema is an error.
    pub fn from_json(text: &str) -> Result<State, String> {
        if text.trim().is_empty() {
            return Ok(State::default());
        }
        let file: File = serde_json::from_str(text)
            .map_err(|e| format!("not a pushgateway-janitor state file ({e})"))?;
        if file.schema != SCHEMA {
            return Err(format!(
                "its schema is {:?}, not {SCHEMA:?}",
                file.schema.chars().take(60).collect::<String>()
            ));
        }
        let mut state = State::default();
        for (name, marks) in file.gateways {
            let mut read = Marks::new();
            for m in marks {
                let key = GroupingKey::new(m.labels).map_err(|e| format!("{name}: {e}"))?;
                read.insert(
                    key,
                    Mark {
                        stale_since: m.stale_since,
                        last_activity: m.last_activity,
                    },
                );
            }
            state.gateways.insert(name, read);
        }
        Ok(state)
    }
}

/// The file as written: gateways by name, each group by its exact
/// grouping key (`job` first), times in Unix seconds as exact as the plan
/// had them (JSON numbers round-trip an f64).
#[derive(Serialize)]
struct FileOut<'a> {
    schema: &'static str,
    gateways: BTreeMap<&'a str, Vec<FileMarkOut<'a>>>,
}

#[derive(Serialize)]
struct FileMarkOut<'a> {
    labels: &'a GroupingKey,
    stale_since: f64,
    last_activity: Option<f64>,
}

/// The file as read back.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
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

/// The state `path` holds: empty when it does not exist. A file that
/// cannot be read or is not a state is an error (the caller decides).
pub fn load(path: &Path) -> Result<State, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => State::from_json(&text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(State::default()),
        Err(e) => Err(format!("cannot read it: {e}")),
    }
}

/// Records what `report` leaves in the state file at `path`: read, update
/// and replace under the file's lock, so that a run that overlaps this one
/// and writes in between is not undone. A file that does not parse now
/// (someone edited it) is replaced with a warning: the pass's own marks
/// are what matters, and waiting longer is the only cost.
pub fn save(path: &Path, report: &Report) -> io::Result<()> {
    let _lock = crate::output::TargetLock::acquire(path)?;
    let mut state = match load(path) {
        Ok(state) => state,
        Err(why) => {
            tracing::warn!(
                "--state-file {}: {why}; replacing it with this pass's marks",
                path.display()
            );
            State::default()
        }
    };
    state.update(report);
    crate::output::replace(path, state.to_json().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{GroupReport, LabelSet, Summary, Time};

    fn group(job: &str, action: Action, since: Option<f64>, last: f64) -> GroupReport {
        GroupReport {
            health: Default::default(),
            labels: LabelSet(vec![("job".into(), job.into())]),
            last_push: Some(Time(last)),
            last_failure: None,
            last_activity: Some(Time(last)),
            age_seconds: None,
            threshold_seconds: Some(60.0),
            last_push_successful: Some(true),
            action,
            reason: String::new(),
            error: None,
            archive: None,
            threshold_source: "--threshold".into(),
            ttl_ignored: None,
            stale_since: since.map(Time),
            deletable_at: None,
            newly_pending: false,
        }
    }

    fn gateway(url: &str, address: Option<&str>, groups: Vec<GroupReport>) -> GatewayReport {
        GatewayReport {
            health: Default::default(),
            url: url.into(),
            discovered_from: None,
            address: address.map(Into::into),
            now: Time(0.0),
            clock: "local",
            clock_skew_seconds: None,
            error: None,
            refused: None,
            version: None,
            utf8_names: None,
            label_names: None,
            summary: Summary::of(&groups),
            groups,
            interrupted: false,
        }
    }

    fn key(job: &str) -> GroupingKey {
        GroupingKey::new([("job", job)]).unwrap()
    }

    /// Two runs with other `--select`s sharing one file: each keeps the
    /// marks of the groups it did not judge. Before, each erased the
    /// other's, so those groups were marked anew every run and never went.
    #[test]
    fn a_pass_keeps_the_marks_of_the_groups_it_ignored() {
        let run = |groups| {
            Report::new(
                false,
                0.0,
                1.0,
                Some(60.0),
                vec![gateway("http://a", None, groups)],
            )
        };
        let mut state = State::default();
        state.update(&run(vec![
            group("x", Action::Pending, Some(100.0), 10.0),
            group("y", Action::Ignored, None, 20.0),
        ]));
        state.update(&run(vec![
            group("x", Action::Ignored, None, 10.0),
            group("y", Action::Pending, Some(200.0), 20.0),
        ]));
        let marks = state.marks("http://a");
        assert_eq!(marks[&key("x")].stale_since, 100.0);
        assert_eq!(marks[&key("y")].stale_since, 200.0);
        // A group gone from the gateway drops out, ignored or not.
        state.update(&run(vec![group("y", Action::Ignored, None, 20.0)]));
        let marks = state.marks("http://a");
        assert_eq!(marks.keys().cloned().collect::<Vec<_>>(), vec![key("y")]);
    }

    #[test]
    fn a_pass_leaves_the_marks_of_its_stale_groups_not_deleted() {
        let report = Report::new(
            false,
            0.0,
            1.0,
            Some(60.0),
            vec![gateway(
                "http://a",
                None,
                vec![
                    group("pending", Action::Pending, Some(100.0), 10.0),
                    group("failed", Action::DeleteFailed, Some(50.0), 10.0),
                    group("deleted", Action::Deleted, Some(40.0), 10.0),
                    group("active", Action::Active, None, 10.0),
                ],
            )],
        );
        let mut state = State::default();
        state.update(&report);
        let marks = state.marks("http://a");
        assert_eq!(
            marks.keys().cloned().collect::<Vec<_>>(),
            vec![key("failed"), key("pending")]
        );
        assert_eq!(
            marks[&key("pending")],
            Mark {
                stale_since: 100.0,
                last_activity: Some(10.0)
            }
        );
        // The file round-trips exactly, times that the default float
        // parser reads one ulp off included.
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
            exact.gateways.entry("http://a".into()).or_default().insert(
                key(&format!("j{i}")),
                Mark {
                    stale_since: t,
                    last_activity: Some(t),
                },
            );
        }
        assert_eq!(State::from_json(&exact.to_json()).unwrap(), exact);
        // A later pass where the group revived, or went away: no marks.
        let later = Report::new(
            false,
            2.0,
            3.0,
            Some(60.0),
            vec![gateway(
                "http://a",
                None,
                vec![group("pending", Action::Active, None, 200.0)],
            )],
        );
        state.update(&later);
        assert!(state.is_empty(), "{state:?}");
    }

    #[test]
    fn unscanned_gateways_keep_their_marks_and_lost_replicas_drop_out() {
        let pending = |url: &str, address: Option<&str>| {
            gateway(
                url,
                address,
                vec![group("p", Action::Pending, Some(1.0), 0.5)],
            )
        };
        let mut state = State::default();
        state.update(&Report::new(
            false,
            0.0,
            1.0,
            None,
            vec![
                pending("http://a", None),
                pending("http://r", Some("10.0.0.1:9091")),
                pending("http://r", Some("10.0.0.2:9091")),
            ],
        ));
        assert_eq!(state.len(), 3);
        let mut failed = gateway("http://a", None, Vec::new());
        failed.error = Some("down".into());
        // http://a could not be scanned; 10.0.0.2 was not found; a run
        // that does not name http://a at all keeps its marks too.
        state.update(&Report::new(
            false,
            2.0,
            3.0,
            None,
            vec![failed, pending("http://r", Some("10.0.0.1:9091"))],
        ));
        assert_eq!(state.marks("http://a").len(), 1);
        assert_eq!(state.marks("http://r (10.0.0.1:9091)").len(), 1);
        assert!(state.marks("http://r (10.0.0.2:9091)").is_empty());
    }

    #[test]
    fn an_overlapping_run_that_saw_it_first_keeps_the_earlier_time() {
        let mut state = State::default();
        let report = |since: f64, last: f64| {
            Report::new(
                false,
                0.0,
                1.0,
                None,
                vec![gateway(
                    "http://a",
                    None,
                    vec![group("p", Action::Pending, Some(since), last)],
                )],
            )
        };
        state.update(&report(100.0, 10.0));
        state.update(&report(150.0, 10.0));
        assert_eq!(state.marks("http://a")[&key("p")].stale_since, 100.0);
        // Pushed in between: the newer activity starts again.
        state.update(&report(150.0, 20.0));
        assert_eq!(state.marks("http://a")[&key("p")].stale_since, 150.0);
    }

    #[test]
    fn other_files_are_not_states() {
        assert!(State::from_json("").unwrap().is_empty());
        for text in [
            "root:x:0:0::/root:/bin/bash",
            "{}",
            r#"{"schema":"x","gateways":{}}"#,
        ] {
            assert!(State::from_json(text).is_err(), "{text}");
        }
    }
}
