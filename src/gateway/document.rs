//! Streaming reader for the Pushgateway's `GET /api/v1/metrics` document.
//!
//! The document can be hundreds of megabytes (every series of every group),
//! while a decision needs a few values per group. So the body is never held:
//! serde visitors walk it from a reader, keep each group's grouping key, its
//! `push_time_seconds` and `push_failure_time_seconds` values and the newest
//! family `time_stamp`, and skip everything else with `IgnoredAny`. Memory
//! follows the number of groups, not the number of series or bytes.
//!
//! One more family is read when [`ReadOptions::ttl_metric`] names it (the
//! gauge a pusher declares its TTL in): its type and its one value. Its
//! name is compared with each family's key as the key goes by, so without
//! `--ttl-metric` nothing more is read than before.
//!
//! A malformed group never aborts the scan; it becomes [`Entry::Skipped`].
//! Only a document that is not the API's JSON (truncated, HTML, an error
//! status) is an error, and then no group is returned at all.
//!
//! With `--archive` the scan also keeps each group's JSON as it read it
//! ([`Keep::Json`], `spool.rs`); without it, nothing of that is done: one
//! branch per group.

mod split;
mod spool;

use std::cell::RefCell;
use std::fmt;
use std::io::Read;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::group::{Entry, Group, GroupingKey, Size, SkippedGroup};
pub use spool::{RawGroups, Spool};

/// Why the document as a whole could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("the response ended early: truncated JSON ({0})")]
    Truncated(#[source] serde_json::Error),
    #[error("the response is not the Pushgateway's JSON API ({0})")]
    NotJson(#[source] serde_json::Error),
    #[error("reading the response failed")]
    Io(#[source] std::io::Error),
    #[error("the API answered status {status:?}{}", error.as_deref().map(|e| format!(": {e}")).unwrap_or_default())]
    Status {
        status: String,
        error: Option<String>,
    },
    #[error("the response has no \"data\" array")]
    MissingData,
    /// The reader's two halves disagreed (see `split::Handoff`): a bug.
    #[error("{0}")]
    Internal(String),
}

impl From<serde_json::Error> for DocumentError {
    fn from(e: serde_json::Error) -> Self {
        match e.classify() {
            serde_json::error::Category::Eof => DocumentError::Truncated(e),
            serde_json::error::Category::Io => DocumentError::Io(e.into()),
            _ => DocumentError::NotJson(e),
        }
    }
}

/// The scan's read buffer: large enough that reading costs little per
/// byte, small enough not to matter for memory.
pub const SCAN_BUFFER_BYTES: usize = 256 * 1024;

/// What the scan reads from each group beyond its grouping key and times.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// The metric family whose value is read (`--ttl-metric`), into
    /// [`Group::ttl_metric`](crate::group::Group::ttl_metric).
    pub ttl_metric: Option<String>,
    /// The reader's window; tests make it tiny, so that every group meets
    /// a window's edge.
    #[doc(hidden)]
    pub window: Window,
}

/// The window groups are parsed in (see `split.rs`): `bytes` at first,
/// growing up to `max_bytes`; a larger group streams.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub bytes: usize,
    pub max_bytes: usize,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            bytes: split::WINDOW_BYTES,
            max_bytes: split::MAX_WINDOW_BYTES,
        }
    }
}

/// What a read keeps of the document besides each group's facts.
#[derive(Debug)]
pub enum Keep {
    /// Nothing more.
    Facts,
    /// Each group's JSON as it was read, in this spool (`--archive`).
    Json(Spool),
}

/// What [`read_document`] read.
#[derive(Debug)]
pub struct DocumentRead {
    /// Every entry of `data`, in order; or why the document as a whole
    /// could not be read.
    pub entries: Result<Vec<Entry>, DocumentError>,
    /// With [`Keep::Json`]: the JSON of the entries, in their order.
    pub json: Option<RawGroups>,
}

/// Reads a whole `/api/v1/metrics` document from `reader`, one group in
/// memory at a time (see `split.rs` for how, and why it is fast), reading
/// what `options` asks for and keeping what `keep` says.
pub fn read_document<R: Read>(reader: R, options: &ReadOptions, keep: Keep) -> DocumentRead {
    let spool = match keep {
        Keep::Facts => None,
        Keep::Json(spool) => Some(RefCell::new(spool)),
    };
    let handoff = split::Handoff::default();
    let ttl_metric = options.ttl_metric.as_deref();
    let Window { bytes, max_bytes } = options.window;
    let splitter = split::Splitter::new(
        reader,
        bytes,
        max_bytes,
        &handoff,
        spool.as_ref(),
        ttl_metric,
    );
    let entries = read_with(
        serde_json::Deserializer::from_reader(splitter),
        GroupSeed {
            spool: spool.as_ref(),
            ttl_metric,
        },
        Some(&handoff),
    );
    DocumentRead {
        entries,
        json: spool.map(|spool| spool.into_inner().finish()),
    }
}

/// Reads a document held in memory with serde_json alone: what
/// [`read_document`] must answer the same as (tests, fuzzing, benchmarks).
/// It does not measure the groups: their [`Size::bytes`] are 0.
pub fn read_document_slice(
    bytes: &[u8],
    options: &ReadOptions,
) -> Result<Vec<Entry>, DocumentError> {
    read_with(
        serde_json::Deserializer::from_slice(bytes),
        GroupSeed {
            spool: None,
            ttl_metric: options.ttl_metric.as_deref(),
        },
        None,
    )
}

/// Reads the document with `group` for each group; `handoff` on the reader
/// path, where the splitter hands over the groups it parsed in place.
fn read_with<'de, R: serde_json::de::Read<'de>>(
    mut de: serde_json::Deserializer<R>,
    group: GroupSeed<'_>,
    handoff: Option<&split::Handoff>,
) -> Result<Vec<Entry>, DocumentError> {
    let element = ElementSeed { group, handoff };
    let doc = de.deserialize_map(DocumentVisitor { element })?;
    de.end()?;
    if let Some(handoff) = handoff {
        handoff.finish().map_err(DocumentError::Internal)?;
    }
    match doc.status.as_deref() {
        Some("success") => doc.data.ok_or(DocumentError::MissingData),
        other => Err(DocumentError::Status {
            status: other.unwrap_or("<missing>").to_owned(),
            error: doc.error,
        }),
    }
}

struct Document {
    status: Option<String>,
    error: Option<String>,
    data: Option<Vec<Entry>>,
}

struct DocumentVisitor<'p> {
    element: ElementSeed<'p>,
}

impl<'de> Visitor<'de> for DocumentVisitor<'_> {
    type Value = Document;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Pushgateway API response object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
        let mut doc = Document {
            status: None,
            error: None,
            data: None,
        };
        while let Some(key) = map.next_key::<TopField>()? {
            match key {
                TopField::Status => doc.status = map.next_value::<MaybeString>()?.0,
                TopField::Error => doc.error = map.next_value::<MaybeString>()?.0,
                TopField::Data => {
                    if doc.data.is_some() {
                        return Err(de::Error::duplicate_field("data"));
                    }
                    doc.data = Some(map.next_value_seed(DataSeed {
                        element: self.element,
                    })?);
                }
                TopField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(doc)
    }
}

/// Generates visitor methods that consume a JSON value of the listed kinds
/// and yield `$fallback`: the parser degrades per group, it never aborts on
/// an unexpected shape.
macro_rules! accept_other {
    ($value:ty => $fallback:expr; $($kind:ident),*) => {
        $(accept_other!(@$kind $value, $fallback);)*
    };
    (@scalars $value:ty, $fallback:expr) => {
        accept_other!(@bool $value, $fallback);
        accept_other!(@numbers $value, $fallback);
        accept_other!(@unit $value, $fallback);
    };
    (@bool $value:ty, $fallback:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<$value, E> { Ok($fallback) }
    };
    (@numbers $value:ty, $fallback:expr) => {
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<$value, E> { Ok($fallback) }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<$value, E> { Ok($fallback) }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<$value, E> { Ok($fallback) }
    };
    (@unit $value:ty, $fallback:expr) => {
        fn visit_unit<E: de::Error>(self) -> Result<$value, E> { Ok($fallback) }
    };
    (@str $value:ty, $fallback:expr) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<$value, E> { Ok($fallback) }
    };
    (@seq $value:ty, $fallback:expr) => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<$value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok($fallback)
        }
    };
    (@map $value:ty, $fallback:expr) => {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<$value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok($fallback)
        }
    };
}

/// Field names matched without allocating.
macro_rules! field_enum {
    ($name:ident { $($variant:ident => $text:literal),* $(,)? }) => {
        #[derive(Clone, Copy)]
        enum $name { $($variant,)* Other }
        impl $name {
            #[allow(dead_code)]
            fn from_name(s: &str) -> $name {
                match s { $($text => $name::$variant,)* _ => $name::Other }
            }
        }
        impl<'de> de::Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str("a field name")
                    }
                    fn visit_str<E: de::Error>(self, s: &str) -> Result<$name, E> {
                        Ok($name::from_name(s))
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

field_enum!(TopField { Status => "status", Error => "error", Data => "data" });
field_enum!(FamilyField { TimeStamp => "time_stamp", Type => "type", Metrics => "metrics" });
field_enum!(MetricField { Value => "value" });

/// A key of a group object: its own fields, the `--ttl-metric` family, or
/// another family.
#[derive(Clone, Copy)]
enum GroupField {
    Labels,
    LastPushSuccessful,
    PushTime,
    PushFailureTime,
    TtlMetric,
    Other,
}

impl GroupField {
    fn of(name: &str, ttl_metric: Option<&str>) -> GroupField {
        match name {
            "labels" => GroupField::Labels,
            "last_push_successful" => GroupField::LastPushSuccessful,
            "push_time_seconds" => GroupField::PushTime,
            "push_failure_time_seconds" => GroupField::PushFailureTime,
            // `cli` refuses a --ttl-metric spelled like one of the above.
            _ if ttl_metric == Some(name) => GroupField::TtlMetric,
            _ => GroupField::Other,
        }
    }
}

/// Reads a group's key into a [`GroupField`], without allocating.
#[derive(Clone, Copy)]
struct GroupFieldSeed<'p> {
    ttl_metric: Option<&'p str>,
}

impl<'de> DeserializeSeed<'de> for GroupFieldSeed<'_> {
    type Value = GroupField;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<GroupField, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for GroupFieldSeed<'_> {
    type Value = GroupField;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<GroupField, E> {
        Ok(GroupField::of(s, self.ttl_metric))
    }
}

struct DataSeed<'p> {
    element: ElementSeed<'p>,
}

impl<'de> DeserializeSeed<'de> for DataSeed<'_> {
    type Value = Vec<Entry>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Entry>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for DataSeed<'_> {
    type Value = Vec<Entry>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the data array of groups")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Entry>, A::Error> {
        let mut entries = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        let seed = self.element;

        let Some(spool) = seed.group.spool else {
            while let Some(entry) = seq.next_element_seed(seed)? {
                entries.push(entry);
            }
            return Ok(entries);
        };
        loop {
            spool.borrow_mut().next_entry();
            let Some(entry) = seq.next_element_seed(seed)? else {
                return Ok(entries);
            };
            spool.borrow_mut().entry_read();
            entries.push(entry);
        }
    }
}

/// The raw facts of one group, before they are judged.
#[derive(Default)]
struct RawGroup {
    labels: Option<Result<Vec<(String, String)>, &'static str>>,
    duplicate_labels: bool,
    last_push_successful: Option<bool>,
    push_time: Option<Result<f64, String>>,
    push_failure_time: Option<Result<f64, String>>,
    newest_family_time: Option<f64>,
    ttl_metric: Option<Result<f64, String>>,
    /// Series of its families, the push times' aside.
    series: u64,
}

impl RawGroup {
    fn into_entry(self) -> Entry {
        // Its bytes are measured by whoever saw where it began and ended.
        let size = Size {
            series: self.series,
            bytes: 0,
        };
        // Labels read whole from the one `labels` object are the group's
        // own: what `restore` tells a skipped entry apart from a group by.
        let labels_known = matches!(self.labels, Some(Ok(_))) && !self.duplicate_labels;
        let last_seen = match (&self.push_time, &self.push_failure_time) {
            (Some(Err(_)), _) | (_, Some(Err(_))) => None,
            (push, failure) => [push, failure]
                .into_iter()
                .filter_map(|t| t.as_ref().and_then(|t| t.as_ref().ok()).copied())
                .filter(|t| *t > 0.0)
                .reduce(f64::max),
        };
        let skipped = |labels, reason| {
            Entry::Skipped(SkippedGroup {
                labels,
                labels_known,
                last_seen,
                reason,
                size,
            })
        };
        let labels = match self.labels {
            None => return skipped(Vec::new(), "the group has no \"labels\" object".into()),
            Some(Err(reason)) => return skipped(Vec::new(), reason.into()),
            Some(Ok(labels)) => labels,
        };
        if self.duplicate_labels {
            return skipped(
                labels,
                "the group has more than one \"labels\" object".into(),
            );
        }
        let key = match GroupingKey::new(labels.iter().cloned()) {
            Ok(key) => key,
            Err(e) => return skipped(labels, format!("unusable grouping key: {e}")),
        };
        let last_push = match time_value(self.push_time, "push_time_seconds") {
            Ok(t) => t,
            Err(reason) => return skipped(labels, reason),
        };
        let last_failure = match time_value(self.push_failure_time, "push_failure_time_seconds") {
            Ok(t) => t,
            Err(reason) => return skipped(labels, reason),
        };
        Entry::Group(Group {
            key,
            last_push,
            last_failure,
            newest_family_time: self.newest_family_time,
            last_push_successful: self.last_push_successful,
            ttl_metric: self.ttl_metric,
            size,
        })
    }
}

/// The last millisecond of the year 9999, in Unix seconds: the gateway
/// writes its own clock's time, so anything later (`1e30`) is not a time it
/// wrote, and no report could write it as RFC 3339.
const LAST_TIME: f64 = 253_402_300_799.999;

/// 0 means "never"; anything not a time in (1970, 9999] is malformed: the
/// group is skipped with the reason, never judged by it.
fn time_value(raw: Option<Result<f64, String>>, family: &str) -> Result<Option<f64>, String> {
    match raw {
        None => Ok(None),
        Some(Err(why)) => Err(format!("{family}: {why}")),
        Some(Ok(0.0)) => Ok(None),
        Some(Ok(v)) if v.is_finite() && v > 0.0 && v <= LAST_TIME => Ok(Some(v)),
        Some(Ok(v)) if v.is_finite() && v > LAST_TIME => Err(format!(
            "{family} has the value {v:e}, after the year 9999: not a time"
        )),
        Some(Ok(v)) => Err(format!("{family} has the value {v}, not a time")),
    }
}

/// One element of `data`. On the reader path (`handoff`), a number `0` in
/// it is the placeholder the splitter wrote for a group it parsed in place,
/// taken from the handoff; anything else is read by `group` as it would be
/// alone.
#[derive(Clone, Copy)]
struct ElementSeed<'p> {
    group: GroupSeed<'p>,
    handoff: Option<&'p split::Handoff>,
}

impl<'de> DeserializeSeed<'de> for ElementSeed<'_> {
    type Value = Entry;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Entry, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ElementSeed<'_> {
    type Value = Entry;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a group object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Entry, A::Error> {
        debug_assert!(
            !self.handoff.is_some_and(split::Handoff::holds),
            "a group was read while the one the splitter gave waits for its placeholder"
        );
        let Some(handoff) = self.handoff else {
            return self.group.visit_map(map);
        };
        // A group streaming past: measured by the bytes read meanwhile.
        let start = handoff.delivered();
        let mut entry = self.group.visit_map(map)?;
        entry.size_mut().bytes = handoff.delivered() - start + 1;
        Ok(entry)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Entry, E> {
        // Not a placeholder when nothing is in hand: a number in `data`.
        Ok(self
            .handoff
            .and_then(split::Handoff::take)
            .unwrap_or_else(not_an_object))
    }

    accept_other!(Entry => not_an_object(); seq, bool, unit, str);
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Entry, E> {
        Ok(not_an_object())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Entry, E> {
        Ok(not_an_object())
    }
}

/// One group. With `spool`, a group that reaches the visitor as itself
/// (streamed: too large for the splitter's window) is kept there, family by
/// family.
#[derive(Clone, Copy)]
struct GroupSeed<'p> {
    spool: Option<&'p RefCell<Spool>>,
    /// The family whose value to read ([`ReadOptions::ttl_metric`]).
    ttl_metric: Option<&'p str>,
}

impl<'de> DeserializeSeed<'de> for GroupSeed<'_> {
    type Value = Entry;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Entry, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for GroupSeed<'_> {
    type Value = Entry;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a group object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entry, A::Error> {
        if let Some(spool) = self.spool {
            return visit_group_keeping(map, spool, self.ttl_metric);
        }
        let mut raw = RawGroup::default();
        let keys = GroupFieldSeed {
            ttl_metric: self.ttl_metric,
        };
        while let Some(field) = map.next_key_seed(keys)? {
            map.next_value_seed(FieldSeed {
                group: &mut raw,
                field,
            })?;
        }
        Ok(raw.into_entry())
    }

    accept_other!(Entry => not_an_object(); seq, bool, unit, str, numbers);
}

fn not_an_object() -> Entry {
    Entry::Skipped(SkippedGroup {
        labels: Vec::new(),
        labels_known: false,
        last_seen: None,
        reason: "the group is not a JSON object".into(),
        size: Size::default(),
    })
}

/// A streamed group, kept in `spool` as it is read: each field's value as
/// the gateway sent it (one family in memory at a time), then read from
/// those bytes as [`GroupSeed`] reads it.
fn visit_group_keeping<'de, A: MapAccess<'de>>(
    mut map: A,
    spool: &RefCell<Spool>,
    ttl_metric: Option<&str>,
) -> Result<Entry, A::Error> {
    let mut raw = RawGroup::default();
    spool.borrow_mut().begin();
    let mut first = true;
    let mut name_json = Vec::new();
    while let Some(name) = map.next_key::<String>()? {
        let value = map.next_value::<Box<serde_json::value::RawValue>>()?;
        name_json.clear();
        serde_json::to_writer(&mut name_json, &name).map_err(de::Error::custom)?;
        {
            let mut spool = spool.borrow_mut();
            if !first {
                spool.piece(b",");
            }
            spool.piece(&name_json);
            spool.piece(b":");
            spool.piece(value.get().as_bytes());
        }
        first = false;
        let mut de = serde_json::Deserializer::from_str(value.get());
        FieldSeed {
            group: &mut raw,
            field: GroupField::of(&name, ttl_metric),
        }
        .deserialize(&mut de)
        .map_err(de::Error::custom)?;
    }
    spool.borrow_mut().end();
    Ok(raw.into_entry())
}

/// The value of one field of a group, read into `group`.
struct FieldSeed<'g> {
    group: &'g mut RawGroup,
    field: GroupField,
}

impl<'de> DeserializeSeed<'de> for FieldSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let raw = self.group;
        match self.field {
            GroupField::Labels => {
                let read = LabelsSeed.deserialize(d)?;
                if raw.labels.is_some() {
                    raw.duplicate_labels = true;
                }
                raw.labels = Some(read.labels);
                raw.series += read.series;
            }
            GroupField::LastPushSuccessful => {
                raw.last_push_successful = <MaybeBool as de::Deserialize>::deserialize(d)?.0;
            }
            field @ (GroupField::PushTime | GroupField::PushFailureTime) => {
                let family = FamilySeed { want: Want::First }.deserialize(d)?;
                raw.note_family_time(family.time_stamp);
                let slot = match field {
                    GroupField::PushTime => &mut raw.push_time,
                    _ => &mut raw.push_failure_time,
                };
                *slot = Some(match (slot.is_some(), family.value) {
                    (true, _) => Err("appears more than once".to_owned()),
                    (false, Some(v)) => v,
                    (false, None) => Err("has no value".to_owned()),
                });
            }
            GroupField::TtlMetric => {
                let family = FamilySeed { want: Want::Gauge }.deserialize(d)?;
                raw.note_family_time(family.time_stamp);
                raw.series += family.series;
                raw.ttl_metric = Some(match (raw.ttl_metric.is_some(), family.value) {
                    (true, _) => Err("appears more than once".to_owned()),
                    (false, Some(v)) => v,
                    (false, None) => Err("is not a metric family".to_owned()),
                });
            }
            GroupField::Other => {
                let family = FamilySeed {
                    want: Want::Nothing,
                }
                .deserialize(d)?;
                raw.note_family_time(family.time_stamp);
                raw.series += family.series;
            }
        }
        Ok(())
    }
}

impl RawGroup {
    fn note_family_time(&mut self, t: Option<f64>) {
        if let Some(t) = t {
            self.newest_family_time = Some(self.newest_family_time.map_or(t, |n| n.max(t)));
        }
    }
}

/// The group's `labels`: an object of strings. A metric family that was
/// pushed under the name `labels` replaces it in the API with a family
/// object (its `metrics` is an array), and then the key is unknowable; its
/// series are the group's all the same, and counted.
struct LabelsSeed;

/// What [`LabelsSeed`] read: the labels, or why they are not a label set;
/// and the series of a family that took their place.
struct LabelsRead {
    labels: Result<Vec<(String, String)>, &'static str>,
    series: u64,
}

const LABELS_NOT_A_LABEL_SET: &str = "the group's \"labels\" is not a label set; a metric family named \"labels\" was probably pushed and replaced it in the API, so the grouping key is unknown";

impl LabelsRead {
    fn not_a_label_set() -> LabelsRead {
        LabelsRead {
            labels: Err(LABELS_NOT_A_LABEL_SET),
            series: 0,
        }
    }
}

impl<'de> DeserializeSeed<'de> for LabelsSeed {
    type Value = LabelsRead;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LabelsSeed {
    type Value = LabelsRead;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a label set")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut labels = Vec::new();
        let mut ok = true;
        let mut series = 0;
        while let Some(name) = map.next_key::<String>()? {
            match map.next_value_seed(LabelValueSeed)? {
                LabelValue::Text(value) if ok => labels.push((name, value)),
                LabelValue::Series(n) if name == "metrics" => {
                    series = n;
                    ok = false;
                }
                _ => ok = false,
            }
        }
        Ok(match ok {
            true => LabelsRead {
                labels: Ok(labels),
                series: 0,
            },
            false => LabelsRead {
                series,
                ..LabelsRead::not_a_label_set()
            },
        })
    }

    accept_other!(Self::Value => LabelsRead::not_a_label_set(); seq, scalars, str);
}

/// A value in a group's `labels`: a label's value, or the `metrics` of a
/// family in its place (counted as [`family::CountSeed`] counts them).
enum LabelValue {
    Text(String),
    Series(u64),
    Other,
}

struct LabelValueSeed;

impl<'de> DeserializeSeed<'de> for LabelValueSeed {
    type Value = LabelValue;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<LabelValue, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LabelValueSeed {
    type Value = LabelValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a label value")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<LabelValue, E> {
        Ok(LabelValue::Text(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<LabelValue, E> {
        Ok(LabelValue::Text(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<LabelValue, A::Error> {
        family::CountSeed.visit_seq(seq).map(LabelValue::Series)
    }

    accept_other!(LabelValue => LabelValue::Other; map, scalars);
}

// Here, after the macros it uses (a macro_rules! is in scope from where
// it is written on).
mod family;
pub use family::parse_go_float;
use family::{FamilySeed, MaybeBool, MaybeString, Want};
