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
    #[error("label name {0:?} is not a valid Prometheus label name")]
    InvalidLabelName(String),
    #[error("label {0:?} appears more than once")]
    DuplicateLabel(String),
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
            if !is_valid_label_name(&name) {
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

    /// The path below `/metrics/` that addresses exactly this group:
    /// `job@base64/<b64>/<name>@base64/<b64>...`, URL-safe alphabet without
    /// padding, and `=` for an empty value (the Pushgateway's spelling of "").
    ///
    /// ```
    /// use pushgateway_janitor::group::GroupingKey;
    ///
    /// let key = GroupingKey::new([("instance", ""), ("job", "a/b")]).unwrap();
    /// assert_eq!(key.delete_path(), "job@base64/YS9i/instance@base64/=");
    /// // Not the same group as {job="a/b"}, which DELETE /metrics/job/a%2Fb
    /// // would address:
    /// let bare = GroupingKey::new([("job", "a/b")]).unwrap();
    /// assert_eq!(bare.delete_path(), "job@base64/YS9i");
    /// ```
    pub fn delete_path(&self) -> String {
        let mut path = String::with_capacity(16 + self.job.len() * 2);
        for (i, (name, value)) in self.iter().enumerate() {
            if i > 0 {
                path.push('/');
            }
            path.push_str(name);
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

/// Prints the key as a label set, `{job="x",instance="h1"}`, each value
/// quoted and escaped like a Rust string (`\"`, `\\`, `\n`, `\r`, `\u{1b}`),
/// so no control character reaches a terminal or a log line raw.
impl fmt::Display for GroupingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (name, value)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{name}={value:?}")?;
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
        assert_eq!(key(&[("job", "x")]).delete_path(), "job@base64/eA");
    }

    #[test]
    fn delete_path_sorts_labels_and_encodes_empty_as_equals() {
        let k = key(&[("zone", "a/b"), ("job", "j"), ("instance", "")]);
        assert_eq!(
            k.delete_path(),
            "job@base64/ag/instance@base64/=/zone@base64/YS9i"
        );
    }

    #[test]
    fn delete_path_uses_url_safe_alphabet() {
        // "?>?" encodes to "Pz4/" in the standard alphabet.
        let k = key(&[("job", "?>?")]);
        assert_eq!(k.delete_path(), "job@base64/Pz4_");
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
            GroupingKey::new([("job", "x"), ("a-b", "v")]),
            Err(KeyError::InvalidLabelName("a-b".into()))
        );
        assert_eq!(
            GroupingKey::new([("job", "x"), ("a", "1"), ("a", "2")]),
            Err(KeyError::DuplicateLabel("a".into()))
        );
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
