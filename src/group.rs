//! Grouping keys and groups, in the Pushgateway's own terms.
//!
//! A group is identified by its *whole* grouping key: `{job="x"}`,
//! `{job="x",instance=""}` and `{job="x",instance="h1"}` are three groups.
//! The Pushgateway answers 202 to a DELETE of any well-formed path, even one
//! that names no group, so a key that is encoded wrongly fails silently. That
//! is why every value is base64url-encoded in the delete path.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::ser::SerializeMap;
use serde::Serialize;

/// The full grouping key of a group: `job` first, then the other labels
/// sorted by name (the order the Pushgateway itself uses for the path).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupingKey {
    job: String,
    labels: Vec<(String, String)>,
}

/// Why a set of labels is not a grouping key we may act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the grouping key has no job label")]
    MissingJob,
    #[error("the grouping key has an empty job label")]
    EmptyJob,
    #[error("a label name is empty")]
    EmptyLabelName,
    #[error("label {0:?} appears more than once")]
    DuplicateLabel(String),
}

/// How a gateway reads the label names of a push path, which decides how
/// a DELETE path must spell them. Pushgateway 1.11 started with
/// `--push.enable-utf8-names` decodes a name that starts with `U__`
/// (`U__service_2e_name` is `service.name`); without the flag, and before
/// 1.11, names are taken literally and must be legacy names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelNaming {
    /// Literal legacy names (`[a-zA-Z_][a-zA-Z0-9_]*`) only.
    Legacy,
    /// `--push.enable-utf8-names`: `U__` names are decoded.
    Utf8,
    /// Not known (the status could not be read): only names that mean the
    /// same in both modes can be addressed.
    Unknown,
}

impl LabelNaming {
    /// What the gateway's `push.enable-utf8-names` flag means; `None` (no
    /// such flag: before 1.11) is legacy.
    pub fn from_flag(utf8_names: Option<bool>) -> LabelNaming {
        match utf8_names {
            Some(true) => LabelNaming::Utf8,
            _ => LabelNaming::Legacy,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            LabelNaming::Legacy => "legacy",
            LabelNaming::Utf8 => "utf8",
            LabelNaming::Unknown => "unknown",
        }
    }
}

/// How a gateway reading names as `naming` decodes one label-name segment
/// of a push or delete path (what precedes `@base64`), mirroring
/// `splitLabels` in the Pushgateway's `handler/push.go` (1.5.1 to 1.11.x):
/// a segment that starts with the reserved `__` is refused *before* it is
/// decoded; with `--push.enable-utf8-names` a `U__` segment is decoded by
/// prometheus/common's `model.UnescapeName(_, ValueEncodingEscaping)`
/// ([`unescape_name`]) and any non-empty result is valid; without the
/// flag (and before 1.11) the segment is the name and must be a legacy
/// name. `None`: the gateway refuses the path (400). For `Unknown`, the
/// name both modes read, and `None` when they differ.
pub fn gateway_reads(segment: &str, naming: LabelNaming) -> Option<String> {
    if segment.starts_with("__") {
        return None;
    }
    match naming {
        LabelNaming::Legacy => is_valid_label_name(segment).then(|| segment.to_owned()),
        LabelNaming::Utf8 => Some(unescape_name(segment)).filter(|n| !n.is_empty()),
        LabelNaming::Unknown => {
            let legacy = gateway_reads(segment, LabelNaming::Legacy)?;
            (gateway_reads(segment, LabelNaming::Utf8).as_ref() == Some(&legacy)).then_some(legacy)
        }
    }
}

/// prometheus/common's `model.UnescapeName(name, ValueEncodingEscaping)`
/// (v0.61 to v0.69, the same code): after a `U__` prefix, `__` is `_`,
/// `_<hex>_` is that code point, any other byte is itself. An escape that
/// is not valid (no closing `_`, a non-hex digit, a surrogate, or **six or
/// more** hex digits: the loop gives up at the sixth, so code points from
/// U+100000 cannot be written as an escape) leaves the whole name as it
/// is. `U__` alone decodes to the empty name.
pub fn unescape_name(name: &str) -> String {
    let Some(escaped) = name.strip_prefix("U__") else {
        return name.to_owned();
    };
    let bytes = escaped.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'_' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        i += 1;
        match bytes.get(i) {
            None => return name.to_owned(),
            Some(b'_') => {
                out.push(b'_');
                i += 1;
                continue;
            }
            Some(_) => {}
        }
        let mut value: u32 = 0;
        let mut digits = 0;
        loop {
            if digits >= 6 {
                return name.to_owned();
            }
            let Some(&b) = bytes.get(i) else {
                return name.to_owned();
            };
            if b == b'_' {
                let Some(c) = char::from_u32(value) else {
                    return name.to_owned();
                };
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                i += 1;
                break;
            }
            let Some(digit) = char::from(b).to_digit(16) else {
                return name.to_owned();
            };
            value = value * 16 + digit;
            digits += 1;
            i += 1;
        }
    }
    // Bytes were copied whole from a str and escapes are whole chars.
    String::from_utf8(out).unwrap_or_else(|_| name.to_owned())
}

/// The value-encoding escape of prometheus/common, applied always: `U__`,
/// then `_` as `__`, ASCII letters and digits as they are, any other code
/// point as `_<lowercase hex>_`, except code points from U+100000, which
/// are written as they are: [`unescape_name`] cannot read their six hex
/// digits back (prometheus/common's own `EscapeName` writes them anyway),
/// and it copies any byte that is not `_`.
pub fn escape_label_name(name: &str) -> String {
    let mut out = String::with_capacity(3 + name.len() * 2);
    out.push_str("U__");
    for c in name.chars() {
        match c {
            '_' => out.push_str("__"),
            c if c.is_ascii_alphanumeric() => out.push(c),
            c if u32::from(c) >= 0x10_0000 => out.push(c),
            c => {
                use std::fmt::Write as _;
                let _ = write!(out, "_{:x}_", u32::from(c));
            }
        }
    }
    out
}

/// How a path may spell `name` for a gateway reading names as `naming`:
/// the first of its two spellings, as it is or escaped, that the gateway
/// decodes to exactly `name` (in both modes when the mode is `Unknown`).
/// A legacy name is tried as it is first, any other escaped first (plain
/// ASCII that no proxy re-encodes). A spelling with `/` is never sent (the
/// gateway splits the decoded path on it). `None`: no spelling reaches it.
fn spell(name: &str, naming: LabelNaming) -> Option<String> {
    let escaped = escape_label_name(name);
    let raw = name.to_owned();
    let spellings = if is_valid_label_name(name) {
        [raw, escaped]
    } else {
        [escaped, raw]
    };
    spellings.into_iter().find(|spelling| {
        !spelling.contains('/') && gateway_reads(spelling, naming).as_deref() == Some(name)
    })
}

/// What may stand in a path segment unencoded: letters, digits and the
/// characters of the spellings themselves. Everything else (`%`, `?`, `#`,
/// spaces, non-ASCII) is percent-encoded, which the gateway's router
/// decodes before it splits the path.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'-')
    .remove(b'.')
    .remove(b'~');

impl GroupingKey {
    /// Builds a key from `(name, value)` pairs in any order.
    pub fn new<I, N, V>(pairs: I) -> Result<Self, KeyError>
    where
        I: IntoIterator<Item = (N, V)>,
        N: Into<String>,
        V: Into<String>,
    {
        let mut job = None;
        let mut labels = Vec::new();
        for (name, value) in pairs {
            let (name, value) = (name.into(), value.into());
            // Any other name, even one with the reserved `__` (a UTF-8
            // gateway reads `U______x` as `__x`), may be reachable by some
            // path; whether it is, is the plan's question (`unaddressable`).
            if name.is_empty() {
                return Err(KeyError::EmptyLabelName);
            }
            if name == "job" {
                if job.is_some() {
                    return Err(KeyError::DuplicateLabel(name));
                }
                job = Some(value);
            } else {
                labels.push((name, value));
            }
        }
        let job = job.ok_or(KeyError::MissingJob)?;
        if job.is_empty() {
            return Err(KeyError::EmptyJob);
        }
        labels.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(w) = labels.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(KeyError::DuplicateLabel(w[0].0.clone()));
        }
        Ok(GroupingKey { job, labels })
    }

    pub fn job(&self) -> &str {
        &self.job
    }

    /// The labels other than `job`, sorted by name.
    pub fn labels(&self) -> &[(String, String)] {
        &self.labels
    }

    /// The value of `name`, or `None` when the key does not have it.
    pub fn get(&self, name: &str) -> Option<&str> {
        if name == "job" {
            return Some(&self.job);
        }
        self.labels
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|i| self.labels[i].1.as_str())
    }

    /// All labels, `job` first.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        std::iter::once(("job", self.job.as_str()))
            .chain(self.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())))
    }

    /// The first label name no path spells for a gateway reading names as
    /// `naming` (then [`GroupingKey::delete_path`] fails): `restore` says
    /// why in its own words.
    pub fn unaddressable_label(&self, naming: LabelNaming) -> Option<&str> {
        self.labels
            .iter()
            .map(|(name, _)| name.as_str())
            .find(|name| spell(name, naming).is_none())
    }

    /// Why a gateway reading names as `naming` cannot be sent a path that
    /// means this group, or `None` when it can.
    pub fn unaddressable(&self, naming: LabelNaming) -> Option<String> {
        self.delete_path(naming).err()
    }

    /// The path below `/metrics/` that addresses exactly this group on a
    /// gateway reading names as `naming`:
    /// `job@base64/<b64>/<name>@base64/<b64>...`, every value base64url
    /// without padding, `=` for an empty value (the Pushgateway's spelling of
    /// ""). Each name is spelled so that the gateway's own decoding
    /// ([`gateway_reads`]) gives back exactly that name, as it is or
    /// escaped ([`escape_label_name`]), and percent-encoded where it is not
    /// plain ASCII. `Err`: why no path can name this group on such a
    /// gateway (never a path that might name another).
    ///
    /// ```
    /// use pushgateway_janitor::group::{GroupingKey, LabelNaming};
    ///
    /// let key = GroupingKey::new([("instance", ""), ("job", "a/b")]).unwrap();
    /// assert_eq!(key.delete_path(LabelNaming::Legacy).unwrap(), "job@base64/YS9i/instance@base64/=");
    /// // Not the same group as {job="a/b"}, which DELETE /metrics/job/a%2Fb
    /// // would address:
    /// let bare = GroupingKey::new([("job", "a/b")]).unwrap();
    /// assert_eq!(bare.delete_path(LabelNaming::Legacy).unwrap(), "job@base64/YS9i");
    /// let dotted = GroupingKey::new([("job", "x"), ("service.name", "api")]).unwrap();
    /// assert_eq!(dotted.delete_path(LabelNaming::Utf8).unwrap(), "job@base64/eA/U__service_2e_name@base64/YXBp");
    /// assert!(dotted.delete_path(LabelNaming::Legacy).is_err());
    /// ```
    pub fn delete_path(&self, naming: LabelNaming) -> Result<String, String> {
        let mut path = String::with_capacity(16 + self.job.len() * 2);
        path.push_str("job");
        push_value(&mut path, &self.job);
        for (name, value) in &self.labels {
            let Some(spelling) = spell(name, naming) else {
                return Err(unreachable_name(name, naming));
            };
            path.push('/');
            path.extend(percent_encoding::utf8_percent_encode(&spelling, SEGMENT));
            push_value(&mut path, value);
        }
        Ok(path)
    }
}

/// `@base64/<value>`: base64url without padding, `=` for the empty value.
fn push_value(path: &mut String, value: &str) {
    path.push_str("@base64/");
    if value.is_empty() {
        path.push('=');
    } else {
        URL_SAFE_NO_PAD.encode_string(value, path);
    }
}

/// Why no spelling of `name` reaches a gateway reading names as `naming`.
fn unreachable_name(name: &str, naming: LabelNaming) -> String {
    let name = quote_label_name(name);
    match naming {
        LabelNaming::Legacy => format!(
            "label name {name} cannot be written in a push path of a gateway without \
             --push.enable-utf8-names (not a legacy name, or starting with the reserved \"__\"), \
             so no path can name it (the group comes from a data file written with the flag on); \
             start the gateway with the flag to clean it"
        ),
        LabelNaming::Unknown => format!(
            "label name {name} is spelled differently with and without --push.enable-utf8-names, \
             and the gateway's GET /api/v1/status could not be read to tell which it runs; \
             pass --label-names utf8 or legacy"
        ),
        LabelNaming::Utf8 => format!(
            "label name {name} has no spelling that a gateway with --push.enable-utf8-names \
             reads back as itself, so no path can name it"
        ),
    }
}

/// A label name as PromQL 3 writes it: bare when it is a legacy name,
/// else quoted (`"service.name"`).
pub fn quote_label_name(name: &str) -> std::borrow::Cow<'_, str> {
    if is_valid_label_name(name) {
        name.into()
    } else {
        format!("{name:?}").into()
    }
}

/// Prints the key as a label set, `{job="x",instance="h1"}`, each value
/// quoted and escaped like a Rust string (`\"`, `\\`, `\n`, `\r`, `\u{1b}`),
/// so no control character reaches a terminal or a log line raw; a name
/// that is not a legacy name is quoted too (`{job="x","service.name"="a"}`).
impl fmt::Display for GroupingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (name, value)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}={value:?}", quote_label_name(name))?;
        }
        f.write_str("}")
    }
}

/// Serializes as a JSON object, `job` first, then the other labels by name.
impl Serialize for GroupingKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1 + self.labels.len()))?;
        for (name, value) in self.iter() {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, as the Pushgateway requires of grouping labels.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// One element of a scan: a group, or why one cannot be addressed.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Group(Group),
    Skipped(SkippedGroup),
}

impl Entry {
    /// How much of the gateway it takes.
    pub fn size(&self) -> Size {
        match self {
            Entry::Group(g) => g.size,
            Entry::Skipped(s) => s.size,
        }
    }

    pub(crate) fn size_mut(&mut self) -> &mut Size {
        match self {
            Entry::Group(g) => &mut g.size,
            Entry::Skipped(s) => &mut s.size,
        }
    }
}

/// How much of a gateway a group takes, as the scan read it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Size {
    /// Its metric entries: one per label set per family (a histogram's
    /// entry is one, its buckets inside it). The gateway's own
    /// `push_time_seconds` and `push_failure_time_seconds` are not counted.
    pub series: u64,
    /// Its length in the API document (`GET /api/v1/metrics`), in bytes;
    /// 0 for an entry of `data` that is not an object, and from the
    /// reader of documents in memory (tests), which does not measure.
    pub bytes: u64,
}

/// A group that cannot be addressed safely, so it is never deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedGroup {
    /// The labels as far as they could be read (possibly none).
    pub labels: Vec<(String, String)>,
    /// Whether `labels` are the group's own, read whole from its one
    /// `labels` object. False when none could be read (a metric family
    /// named `labels` takes the object's place in the API) or the group
    /// showed more than one: then it might be any group.
    pub labels_known: bool,
    /// The later of its push and failed-push times, as far as both could
    /// be read; `None` when either could not, or neither is there.
    pub last_seen: Option<f64>,
    pub reason: String,
    pub size: Size,
}

impl SkippedGroup {
    /// Whether this entry, seen after the DELETE of the group of `key`,
    /// might be that group pushed again since its last activity `before`:
    /// it might be that group ([`SkippedGroup::might_be`]), and was not
    /// last pushed at or before `before` (an entry that old was on the
    /// gateway beside the group, readable then: another group). Unknown
    /// times might be anything.
    pub fn might_hide(&self, key: &GroupingKey, before: Option<f64>) -> bool {
        self.might_be(key)
            && match (self.last_seen, before) {
                (Some(seen), Some(before)) => seen > before,
                _ => true,
            }
    }

    /// Whether this entry might be the group of `key`: what `restore` must
    /// not push over, as a clean does not delete it. Any group, when its
    /// labels are unknown; else when some reading of its labels is `key`'s
    /// (each of `key`'s labels among them and no other name: a name given
    /// twice, which no gateway writes, leaves either value possible).
    pub fn might_be(&self, key: &GroupingKey) -> bool {
        !self.labels_known
            || (key
                .iter()
                .all(|(n, v)| self.labels.iter().any(|(ln, lv)| ln == n && lv == v))
                && self
                    .labels
                    .iter()
                    .all(|(ln, _)| key.iter().any(|(n, _)| n == ln)))
    }
}

/// What the scan learned about one well-formed group. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub key: GroupingKey,
    /// `push_time_seconds`; `None` when absent or 0 (no push ever succeeded).
    pub last_push: Option<f64>,
    /// `push_failure_time_seconds`; `None` when absent or 0 (no push ever failed).
    pub last_failure: Option<f64>,
    /// The newest `time_stamp` among the group's metric families.
    pub newest_family_time: Option<f64>,
    /// The gateway's `last_push_successful`, when it said so.
    pub last_push_successful: Option<bool>,
    /// The value of the gauge the pusher declares its TTL in, in seconds,
    /// when the scan was asked to read one (`--ttl-metric`) and the group
    /// has it; `Err`: why it is not one value (another type, several
    /// series, not a number). Judged by `plan`.
    pub ttl_metric: Option<Result<f64, String>>,
    pub size: Size,
}

impl Group {
    /// Whether its last push failed: a failure later than its last
    /// successful push, or failures and no success at all.
    pub fn last_push_failed(&self) -> bool {
        match (self.last_push, self.last_failure) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(push), Some(failure)) => failure > push,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pairs: &[(&str, &str)]) -> GroupingKey {
        GroupingKey::new(pairs.iter().copied()).unwrap()
    }

    #[test]
    fn delete_path_job_only() {
        assert_eq!(
            key(&[("job", "x")])
                .delete_path(LabelNaming::Legacy)
                .unwrap(),
            "job@base64/eA"
        );
    }

    #[test]
    fn delete_path_sorts_labels_and_encodes_empty_as_equals() {
        let k = key(&[("zone", "a/b"), ("job", "j"), ("instance", "")]);
        for naming in [LabelNaming::Legacy, LabelNaming::Utf8, LabelNaming::Unknown] {
            assert_eq!(
                k.delete_path(naming).unwrap(),
                "job@base64/ag/instance@base64/=/zone@base64/YS9i"
            );
        }
    }

    #[test]
    fn delete_path_uses_url_safe_alphabet() {
        // "?>?" encodes to "Pz4/" in the standard alphabet.
        let k = key(&[("job", "?>?")]);
        assert_eq!(
            k.delete_path(LabelNaming::Legacy).unwrap(),
            "job@base64/Pz4_"
        );
    }

    #[test]
    fn a_skipped_entry_might_be_a_group_unless_its_labels_say_otherwise() {
        let skipped = |labels: &[(&str, &str)], labels_known| SkippedGroup {
            labels: labels
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            labels_known,
            last_seen: None,
            reason: "r".into(),
            size: Size::default(),
        };
        let victim = key(&[("job", "victim")]);
        // A family named `labels` in their place: any group.
        assert!(skipped(&[], false).might_be(&victim));
        assert!(skipped(&[("job", "other")], false).might_be(&victim));
        // Labels read whole (a push time that is not a time): that group.
        assert!(skipped(&[("job", "victim")], true).might_be(&victim));
        assert!(!skipped(&[("job", "other")], true).might_be(&victim));
        assert!(!skipped(&[("job", "victim"), ("instance", "a")], true).might_be(&victim));
        assert!(!skipped(&[("instance", "a")], true).might_be(&victim));
        // A name twice: either reading.
        assert!(skipped(&[("job", "other"), ("job", "victim")], true).might_be(&victim));
        // After a DELETE: only an entry pushed since the group's last
        // activity might be it pushed again; unknown times might be.
        let mut poisoned = skipped(&[], false);
        assert!(poisoned.might_hide(&victim, Some(100.0)));
        poisoned.last_seen = Some(100.0);
        assert!(!poisoned.might_hide(&victim, Some(100.0)));
        assert!(poisoned.might_hide(&victim, Some(99.0)));
        assert!(poisoned.might_hide(&victim, None));
        assert!(!skipped(&[("job", "other")], true).might_hide(&victim, None));
    }

    #[test]
    fn keys_differ_by_empty_instance() {
        assert_ne!(key(&[("job", "x")]), key(&[("job", "x"), ("instance", "")]));
    }

    #[test]
    fn rejects_bad_keys() {
        assert_eq!(
            GroupingKey::new([("instance", "h")]),
            Err(KeyError::MissingJob)
        );
        assert_eq!(GroupingKey::new([("job", "")]), Err(KeyError::EmptyJob));
        assert_eq!(
            GroupingKey::new([("job", "x"), ("", "v")]),
            Err(KeyError::EmptyLabelName)
        );
        assert_eq!(
            GroupingKey::new([("job", "x"), ("a", "1"), ("a", "2")]),
            Err(KeyError::DuplicateLabel("a".into()))
        );
    }

    #[test]
    fn label_names_are_escaped_as_the_issue_spells_them() {
        for (name, escaped) in [
            ("service.name", "U__service_2e_name"),
            ("könig", "U__k_f6_nig"),
            ("0day", "U__0day"),
            ("U__foo_2e_bar", "U__U____foo__2e__bar"),
            ("a-b", "U__a_2d_b"),
            ("😀", "U___1f600_"),
            // Six hex digits cannot be read back: the code point stays.
            ("x\u{100000}y", "U__x\u{100000}y"),
            ("__x", "U______x"),
        ] {
            assert_eq!(escape_label_name(name), escaped, "{name}");
        }
    }

    #[test]
    fn each_mode_writes_names_its_own_way() {
        let k = key(&[
            ("job", "x"),
            ("U__foo_2e_bar", "v"),
            ("service.name", "api"),
        ]);
        // A UTF-8 gateway decodes U__ names: both are escaped.
        assert_eq!(
            k.delete_path(LabelNaming::Utf8).unwrap(),
            "job@base64/eA/U__U____foo__2e__bar@base64/dg/U__service_2e_name@base64/YXBp"
        );
        // A legacy gateway cannot be sent service.name at all.
        let why = k.unaddressable(LabelNaming::Legacy).unwrap();
        assert!(
            why.starts_with("label name \"service.name\" cannot be written in a push path"),
            "{why}"
        );
        // Unknown: the U__ name means different groups in the two modes.
        let why = k.unaddressable(LabelNaming::Unknown).unwrap();
        assert!(
            why.starts_with("label name U__foo_2e_bar is spelled differently"),
            "{why}"
        );
        let literal = key(&[("job", "x"), ("U__foo_2e_bar", "v")]);
        assert_eq!(
            literal.delete_path(LabelNaming::Legacy).unwrap(),
            "job@base64/eA/U__foo_2e_bar@base64/dg"
        );
        let plain = key(&[("job", "x"), ("instance", "h")]);
        assert!(plain.unaddressable(LabelNaming::Unknown).is_none());
        // An invalid escape reads the same in both modes: sent as it is.
        let invalid = key(&[("job", "x"), ("U__a_", "v")]);
        assert_eq!(
            invalid.delete_path(LabelNaming::Unknown).unwrap(),
            "job@base64/eA/U__a_@base64/dg"
        );
    }

    #[test]
    fn no_path_names_another_group() {
        // A code point of six hex digits has no escape a gateway reads
        // back; the literal name that escape spells is another group.
        let stale = key(&[("job", "c"), ("x\u{100000}y", "v")]);
        let fresh = key(&[("job", "c"), ("U__x_100000_y", "v")]);
        assert_eq!(
            stale.delete_path(LabelNaming::Utf8).unwrap(),
            "job@base64/Yw/U__x%F4%80%80%80y@base64/dg"
        );
        assert_eq!(
            fresh.delete_path(LabelNaming::Utf8).unwrap(),
            "job@base64/Yw/U__x_100000_y@base64/dg"
        );
        assert_eq!(
            gateway_reads("U__x\u{100000}y", LabelNaming::Utf8).as_deref(),
            Some("x\u{100000}y")
        );
        // The reserved prefix is checked before decoding: a UTF-8 gateway
        // reaches __x through its escape, a legacy one not at all.
        let reserved = key(&[("job", "a"), ("__x", "v")]);
        assert_eq!(
            reserved.delete_path(LabelNaming::Utf8).unwrap(),
            "job@base64/YQ/U______x@base64/dg"
        );
        assert!(reserved.unaddressable(LabelNaming::Legacy).is_some());
        assert!(reserved.unaddressable(LabelNaming::Unknown).is_some());
        // A name with '/' is escaped in UTF-8 mode (the path is split on
        // it after decoding), and `%` is percent-encoded in a raw spelling.
        let slash = key(&[("job", "a"), ("a/b", "v")]);
        assert_eq!(
            slash.delete_path(LabelNaming::Utf8).unwrap(),
            "job@base64/YQ/U__a_2f_b@base64/dg"
        );
        assert_eq!(unescape_name("U__"), "");
        assert!(gateway_reads("U__", LabelNaming::Utf8).is_none());
        let empty_escape = key(&[("job", "a"), ("U__", "v")]);
        assert_eq!(
            empty_escape.delete_path(LabelNaming::Utf8).unwrap(),
            "job@base64/YQ/U__U____@base64/dg"
        );
    }

    #[test]
    fn display_quotes_names_that_are_not_legacy() {
        let k = key(&[("job", "x"), ("service.name", "api"), ("zone", "a")]);
        assert_eq!(k.to_string(), r#"{job="x","service.name"="api",zone="a"}"#);
    }

    #[test]
    fn display_escapes_quotes_and_control_characters() {
        let k = key(&[("job", "a\"b\\c\nd\re\u{1b}f✓")]);
        assert_eq!(k.to_string(), r#"{job="a\"b\\c\nd\re\u{1b}f✓"}"#);
    }

    #[test]
    fn get_finds_labels() {
        let k = key(&[("job", "j"), ("b", "2"), ("a", "1")]);
        assert_eq!(k.get("job"), Some("j"));
        assert_eq!(k.get("a"), Some("1"));
        assert_eq!(k.get("b"), Some("2"));
        assert_eq!(k.get("c"), None);
    }

    #[test]
    fn the_last_push_failed_when_a_failure_is_later_than_every_success() {
        let g = |push, failure| Group {
            key: key(&[("job", "j")]),
            last_push: push,
            last_failure: failure,
            newest_family_time: None,
            last_push_successful: None,
            ttl_metric: None,
            size: Size::default(),
        };
        assert!(!g(Some(100.0), None).last_push_failed());
        assert!(!g(Some(100.0), Some(50.0)).last_push_failed());
        assert!(!g(Some(100.0), Some(100.0)).last_push_failed());
        assert!(g(Some(100.0), Some(150.0)).last_push_failed());
        assert!(g(None, Some(150.0)).last_push_failed());
        assert!(!g(None, None).last_push_failed());
    }
}
