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
    #[error(
        "label name {0:?} cannot be in a push path (empty, or starting with the reserved \"__\")"
    )]
    InvalidLabelName(String),
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

/// A name that a path spells the same way in both modes: legacy-valid and
/// not starting with `U__` (which a UTF-8 gateway would decode).
fn same_in_both_modes(name: &str) -> bool {
    is_valid_label_name(name) && !name.starts_with("U__")
}

/// The value-encoding escape of prometheus/common, applied always: `U__`,
/// then `_` as `__`, ASCII letters and digits as they are, any other code
/// point as `_<lowercase hex>_`. A UTF-8 gateway decodes it back to `name`.
pub fn escape_label_name(name: &str) -> String {
    let mut out = String::with_capacity(3 + name.len() * 2);
    out.push_str("U__");
    for c in name.chars() {
        match c {
            '_' => out.push_str("__"),
            c if c.is_ascii_alphanumeric() => out.push(c),
            c => {
                use std::fmt::Write as _;
                let _ = write!(out, "_{:x}_", u32::from(c));
            }
        }
    }
    out
}

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
            // Any other name can be addressed by some gateway (a UTF-8 one);
            // whether this one can is the plan's question (`unaddressable`).
            if name.is_empty() || name.starts_with("__") {
                return Err(KeyError::InvalidLabelName(name));
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

    /// Why a gateway reading names as `naming` cannot be sent a path that
    /// means this group, or `None` when it can.
    pub fn unaddressable(&self, naming: LabelNaming) -> Option<String> {
        let names = || self.labels.iter().map(|(n, _)| n.as_str());
        match naming {
            LabelNaming::Utf8 => None,
            LabelNaming::Legacy => names().find(|n| !is_valid_label_name(n)).map(|n| {
                format!(
                    "label name {} is not a legacy name and the gateway runs without --push.enable-utf8-names, \
                     so no path can name it (the group comes from a data file written with the flag on); \
                     start the gateway with the flag to clean it",
                    quote_label_name(n)
                )
            }),
            LabelNaming::Unknown => names().find(|n| !same_in_both_modes(n)).map(|n| {
                format!(
                    "label name {} is spelled differently with and without --push.enable-utf8-names, \
                     and the gateway's GET /api/v1/status could not be read to tell which it runs; \
                     pass --label-names utf8 or legacy",
                    quote_label_name(n)
                )
            }),
        }
    }

    /// The path below `/metrics/` that addresses exactly this group on a
    /// gateway reading names as `naming`:
    /// `job@base64/<b64>/<name>@base64/<b64>...`, every value base64url
    /// without padding, `=` for an empty value (the Pushgateway's spelling of
    /// ""). A name is written as it is, except on a UTF-8 gateway where it
    /// is not a legacy name or starts with `U__`: then it is escaped
    /// ([`escape_label_name`]), so the gateway decodes it back to itself and
    /// never to another group's name (`U__foo_2e_bar` raw would be
    /// `foo.bar`). Only call it for a key that is not
    /// [`unaddressable`](Self::unaddressable) under `naming`.
    ///
    /// ```
    /// use pushgateway_janitor::group::{GroupingKey, LabelNaming};
    ///
    /// let key = GroupingKey::new([("instance", ""), ("job", "a/b")]).unwrap();
    /// assert_eq!(key.delete_path(LabelNaming::Legacy), "job@base64/YS9i/instance@base64/=");
    /// // Not the same group as {job="a/b"}, which DELETE /metrics/job/a%2Fb
    /// // would address:
    /// let bare = GroupingKey::new([("job", "a/b")]).unwrap();
    /// assert_eq!(bare.delete_path(LabelNaming::Legacy), "job@base64/YS9i");
    /// let dotted = GroupingKey::new([("job", "x"), ("service.name", "api")]).unwrap();
    /// assert_eq!(dotted.delete_path(LabelNaming::Utf8), "job@base64/eA/U__service_2e_name@base64/YXBp");
    /// ```
    pub fn delete_path(&self, naming: LabelNaming) -> String {
        let mut path = String::with_capacity(16 + self.job.len() * 2);
        for (i, (name, value)) in self.iter().enumerate() {
            if i > 0 {
                path.push('/');
            }
            if naming == LabelNaming::Utf8 && !same_in_both_modes(name) {
                path.push_str(&escape_label_name(name));
            } else {
                path.push_str(name);
            }
            path.push_str("@base64/");
            if value.is_empty() {
                path.push('=');
            } else {
                URL_SAFE_NO_PAD.encode_string(value, &mut path);
            }
        }
        path
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

/// A group that cannot be addressed safely, so it is never deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedGroup {
    /// The labels as far as they could be read (possibly none).
    pub labels: Vec<(String, String)>,
    pub reason: String,
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
}

impl Group {
    /// The group's last sign of life: the later of its last push and its last
    /// failed push. A group whose pushes all failed has push time 0 but a
    /// fresh failure time, and its producer is alive. Only when neither is
    /// known does the newest family time stamp stand in.
    pub fn last_activity(&self) -> Option<f64> {
        match (self.last_push, self.last_failure) {
            (Some(p), Some(f)) => Some(p.max(f)),
            (Some(t), None) | (None, Some(t)) => Some(t),
            (None, None) => self.newest_family_time,
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
            key(&[("job", "x")]).delete_path(LabelNaming::Legacy),
            "job@base64/eA"
        );
    }

    #[test]
    fn delete_path_sorts_labels_and_encodes_empty_as_equals() {
        let k = key(&[("zone", "a/b"), ("job", "j"), ("instance", "")]);
        for naming in [LabelNaming::Legacy, LabelNaming::Utf8, LabelNaming::Unknown] {
            assert_eq!(
                k.delete_path(naming),
                "job@base64/ag/instance@base64/=/zone@base64/YS9i"
            );
        }
    }

    #[test]
    fn delete_path_uses_url_safe_alphabet() {
        // "?>?" encodes to "Pz4/" in the standard alphabet.
        let k = key(&[("job", "?>?")]);
        assert_eq!(k.delete_path(LabelNaming::Legacy), "job@base64/Pz4_");
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
            GroupingKey::new([("job", "x"), ("__a", "v")]),
            Err(KeyError::InvalidLabelName("__a".into()))
        );
        assert_eq!(
            GroupingKey::new([("job", "x"), ("", "v")]),
            Err(KeyError::InvalidLabelName("".into()))
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
            k.delete_path(LabelNaming::Utf8),
            "job@base64/eA/U__U____foo__2e__bar@base64/dg/U__service_2e_name@base64/YXBp"
        );
        assert!(k.unaddressable(LabelNaming::Utf8).is_none());
        // A legacy gateway cannot be sent service.name at all.
        let why = k.unaddressable(LabelNaming::Legacy).unwrap();
        assert!(
            why.starts_with("label name \"service.name\" is not a legacy name"),
            "{why}"
        );
        // Unknown: the U__ name means different groups in the two modes.
        let why = k.unaddressable(LabelNaming::Unknown).unwrap();
        assert!(
            why.starts_with("label name U__foo_2e_bar is spelled differently"),
            "{why}"
        );
        let literal = key(&[("job", "x"), ("U__foo_2e_bar", "v")]);
        assert!(literal.unaddressable(LabelNaming::Legacy).is_none());
        assert_eq!(
            literal.delete_path(LabelNaming::Legacy),
            "job@base64/eA/U__foo_2e_bar@base64/dg"
        );
        let plain = key(&[("job", "x"), ("instance", "h")]);
        assert!(plain.unaddressable(LabelNaming::Unknown).is_none());
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
    fn last_activity_prefers_the_later_time() {
        let mut g = Group {
            key: key(&[("job", "j")]),
            last_push: None,
            last_failure: Some(200.0),
            newest_family_time: Some(50.0),
            last_push_successful: Some(false),
        };
        assert_eq!(g.last_activity(), Some(200.0));
        g.last_push = Some(300.0);
        assert_eq!(g.last_activity(), Some(300.0));
        g.last_push = None;
        g.last_failure = None;
        assert_eq!(g.last_activity(), Some(50.0));
    }
}
