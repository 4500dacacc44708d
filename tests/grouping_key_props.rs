//! Property: the delete path of any grouping key decodes, under the
//! Pushgateway's own rules, to exactly that grouping key. The decoder below
//! mirrors the Go code of the Pushgateway (handler/push.go: the route
//! `/metrics/job@base64/:job/*labels`, `decodeBase64` and `splitLabels`).

use std::collections::BTreeMap;

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use proptest::prelude::*;
use pushgateway_janitor::group::GroupingKey;

/// Go's `base64.RawURLEncoding` (no padding accepted, trailing bits not
/// checked since `Strict()` is not used).
const RAW_URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// `decodeBase64`: `base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))`,
/// then `string(b)` (Go strings may hold any bytes; ours must be UTF-8).
fn decode_base64(s: &str) -> Result<String, String> {
    let bytes = RAW_URL
        .decode(s.trim_end_matches('='))
        .map_err(|e| format!("invalid base64 {s:?}: {e}"))?;
    String::from_utf8(bytes).map_err(|_| "not UTF-8".into())
}

/// `model.LabelNameRE` and the reserved `__` prefix check.
fn proper_label_name(name: &str) -> bool {
    let mut b = name.bytes();
    matches!(b.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_'))
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
        && !name.starts_with("__")
}

/// `splitLabels(labels)`; `labels` is the `*labels` route parameter, which
/// starts with '/' when present.
fn split_labels(labels: &str) -> Result<BTreeMap<String, String>, String> {
    let mut result = BTreeMap::new();
    if labels.len() <= 1 {
        return Ok(result);
    }
    let components: Vec<&str> = labels[1..].split('/').collect();
    if components.len() % 2 != 0 {
        return Err(format!(
            "odd number of components in label string {labels:?}"
        ));
    }
    for pair in components.chunks(2) {
        let (name, value) = (pair[0], pair[1]);
        let trimmed = name.strip_suffix("@base64").unwrap_or(name);
        if !proper_label_name(trimmed) {
            return Err(format!("improper label name {trimmed:?}"));
        }
        if name == trimmed {
            result.insert(name.to_owned(), value.to_owned());
            continue;
        }
        result.insert(trimmed.to_owned(), decode_base64(value)?);
    }
    Ok(result)
}

/// What the Pushgateway makes of `DELETE /metrics/<path>`: the full label
/// set of the group it deletes, job included.
fn pushgateway_decode(path: &str) -> Result<BTreeMap<String, String>, String> {
    let rest = path
        .strip_prefix("job@base64/")
        .ok_or("not the job@base64 route")?;
    let (job, labels) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let job = decode_base64(job)?;
    if job.is_empty() {
        return Err("job name is required".into());
    }
    let mut result = split_labels(labels)?;
    if result.contains_key("job") {
        return Err("job label in the labels part".into());
    }
    result.insert("job".into(), job);
    Ok(result)
}

fn label_name() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,12}".prop_filter("job is separate; __ is reserved", |n| {
        n != "job" && !n.starts_with("__")
    })
}

fn label_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[=/+ %a-z]{0,6}",
        any::<String>(),
        "\\PC{0,80}",
    ]
}

fn grouping_key() -> impl Strategy<Value = BTreeMap<String, String>> {
    (
        any::<String>().prop_filter("job is not empty", |j| !j.is_empty()),
        proptest::collection::btree_map(label_name(), label_value(), 0..6),
    )
        .prop_map(|(job, mut labels)| {
            labels.insert("job".into(), job);
            labels
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn delete_path_round_trips_through_the_pushgateway_rules(labels in grouping_key()) {
        let key = GroupingKey::new(labels.clone()).unwrap();
        let path = key.delete_path();
        prop_assert_eq!(pushgateway_decode(&path), Ok(labels.clone()), "path {}", path);
        // Every character is safe in a URL path as is: nothing for a proxy
        // to re-encode or decode.
        prop_assert!(path.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_=@/".contains(&b)));
    }

    #[test]
    fn padded_and_unpadded_forms_decode_alike(value in any::<String>()) {
        let unpadded = URL_SAFE_NO_PAD.encode(&value);
        let padded = URL_SAFE.encode(&value);
        prop_assert_eq!(decode_base64(&unpadded), Ok(value.clone()));
        prop_assert_eq!(decode_base64(&padded), Ok(value.clone()));
        let key = GroupingKey::new([("job", "j"), ("v", value.as_str())]).unwrap();
        let with_padding = format!("job@base64/ag/v@base64/{}", if value.is_empty() { "=".into() } else { padded });
        prop_assert_eq!(pushgateway_decode(&with_padding), pushgateway_decode(&key.delete_path()));
    }
}

#[test]
fn empty_values_are_spelled_equals_and_distinct_from_absent() {
    let with_empty = GroupingKey::new([("job", "x"), ("instance", "")]).unwrap();
    let without = GroupingKey::new([("job", "x")]).unwrap();
    assert_eq!(with_empty.delete_path(), "job@base64/eA/instance@base64/=");
    let decoded = pushgateway_decode(&with_empty.delete_path()).unwrap();
    assert_eq!(decoded.get("instance").map(String::as_str), Some(""));
    assert_ne!(decoded, pushgateway_decode(&without.delete_path()).unwrap());
}

#[test]
fn the_mirror_rejects_what_the_pushgateway_rejects() {
    assert!(pushgateway_decode("job@base64/=").is_err(), "empty job");
    assert!(
        pushgateway_decode("job@base64/eA/instance").is_err(),
        "odd components"
    );
    assert!(
        pushgateway_decode("job@base64/eA/__x@base64/eA").is_err(),
        "reserved name"
    );
    assert!(
        pushgateway_decode("job@base64/eA/a-b@base64/eA").is_err(),
        "bad name"
    );
    assert!(
        pushgateway_decode("job@base64/e+A").is_err(),
        "standard alphabet"
    );
}
