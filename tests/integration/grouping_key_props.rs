//! Property: the delete path of any grouping key decodes, under the
//! Pushgateway's own rules, to exactly that grouping key, in the naming mode
//! it was written for; a key that is addressable in `unknown` mode decodes
//! to itself in both. The decoder below mirrors the Go code of the
//! Pushgateway (handler/push.go: the route `/metrics/job@base64/:job/*labels`,
//! `decodeBase64` and `splitLabels`, with `EscapingScheme` NoEscaping or,
//! with `--push.enable-utf8-names`, ValueEncodingEscaping, whose
//! `model.UnescapeName` from prometheus/common is mirrored too).

use std::collections::BTreeMap;

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use proptest::prelude::*;
use pushgateway_janitor::group::{GroupingKey, LabelNaming};

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

/// `model.LabelNameRE`.
fn legacy_label_name(name: &str) -> bool {
    let mut b = name.bytes();
    matches!(b.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_'))
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// `model.UnescapeName(name, model.ValueEncodingEscaping)`: a name that
/// does not start with `U__`, or whose escapes are invalid, stays as it is.
fn unescape_value_encoding(name: &str) -> String {
    let Some(escaped) = name.strip_prefix("U__") else {
        return name.to_owned();
    };
    let b = escaped.as_bytes();
    let mut out: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'_' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        i += 1;
        if i >= b.len() {
            return name.to_owned();
        }
        if b[i] == b'_' {
            out.push(b'_');
            i += 1;
            continue;
        }
        let mut value: u32 = 0;
        let mut j = 0;
        loop {
            if i >= b.len() || j >= 6 {
                return name.to_owned();
            }
            if b[i] == b'_' {
                match char::from_u32(value) {
                    Some(c) => {
                        let mut buf = [0; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                    None => return name.to_owned(),
                }
                i += 1;
                break;
            }
            let digit = match b[i].to_ascii_lowercase() {
                d @ b'0'..=b'9' => u32::from(d - b'0'),
                d @ b'a'..=b'f' => u32::from(d - b'a' + 10),
                _ => return name.to_owned(),
            };
            value = value * 16 + digit;
            i += 1;
            j += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| name.to_owned())
}

/// `splitLabels(labels)`; `labels` is the `*labels` route parameter, which
/// starts with '/' when present. `utf8`: the gateway runs with
/// `--push.enable-utf8-names`.
fn split_labels(labels: &str, utf8: bool) -> Result<BTreeMap<String, String>, String> {
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
        let unescaped = if utf8 {
            unescape_value_encoding(trimmed)
        } else {
            trimmed.to_owned()
        };
        let valid = if utf8 {
            !unescaped.is_empty()
        } else {
            legacy_label_name(&unescaped)
        };
        if !valid || trimmed.starts_with("__") {
            return Err(format!("improper label name {trimmed:?}"));
        }
        if name == trimmed {
            result.insert(unescaped, value.to_owned());
            continue;
        }
        result.insert(unescaped, decode_base64(value)?);
    }
    Ok(result)
}

/// What the Pushgateway makes of `DELETE /metrics/<path>`: the full label
/// set of the group it deletes, job included.
fn pushgateway_decode(path: &str) -> Result<BTreeMap<String, String>, String> {
    pushgateway_decode_in(path, false)
}

fn pushgateway_decode_in(path: &str, utf8: bool) -> Result<BTreeMap<String, String>, String> {
    // The router sees `URL.Path`, percent-decoded before it is split.
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| "not UTF-8 after percent-decoding")?;
    let rest = decoded
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
    let mut result = split_labels(labels, utf8)?;
    if result.contains_key("job") {
        return Err("job label in the labels part".into());
    }
    result.insert("job".into(), job);
    Ok(result)
}

fn legacy_name() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,12}".prop_filter("job is separate; __ is reserved", |n| {
        n != "job" && !n.starts_with("__")
    })
}

/// Legacy names, names that look escaped (`U__...`), and UTF-8 names
/// (`service.name`, `könig`, `0day`, anything printable).
fn any_name() -> impl Strategy<Value = String> {
    prop_oneof![
        legacy_name(),
        "U__[a-zA-Z0-9_]{0,10}",
        "U__[a-z]{1,4}_[0-9a-f]{1,6}_[a-z]{0,4}",
        "[a-z]{1,6}\\.[a-z]{1,6}",
        "\\PC{1,12}",
        // The reserved prefix, code points from U+100000 (no escape reads
        // them back), '/', '%' and the path's own '@'.
        "__[a-z_]{0,4}",
        "[a-z]{0,2}[\u{100000}-\u{10fffd}][a-z/%@]{0,3}",
        "[a-z/%@.?#]{1,6}",
    ]
    .prop_filter("job is separate", |n| n != "job" && !n.is_empty())
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
        proptest::collection::btree_map(legacy_name(), label_value(), 0..6),
    )
        .prop_map(|(job, mut labels)| {
            labels.insert("job".into(), job);
            labels
        })
}

fn any_grouping_key() -> impl Strategy<Value = BTreeMap<String, String>> {
    (
        "\\PC{1,12}",
        proptest::collection::btree_map(any_name(), label_value(), 0..5),
    )
        .prop_map(|(job, mut labels)| {
            labels.insert("job".into(), job);
            labels
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_mode_decodes_its_own_path_to_the_key(labels in any_grouping_key()) {
        let key = GroupingKey::new(labels.clone()).unwrap();
        for (naming, utf8) in [(LabelNaming::Legacy, false), (LabelNaming::Utf8, true)] {
            let Ok(path) = key.delete_path(naming) else {
                // Every group is reachable on a UTF-8 gateway; a legacy one
                // refuses only names it cannot read.
                prop_assert_eq!(naming, LabelNaming::Legacy);
                prop_assert!(labels.keys().any(|n| !legacy_label_name(n) || n.starts_with("__")));
                continue;
            };
            prop_assert_eq!(pushgateway_decode_in(&path, utf8), Ok(labels.clone()), "{:?} path {}", naming, path);
            // Nothing a URL parser or proxy would re-encode or normalise.
            prop_assert!(path.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~%=@/".contains(&b)), "{}", path);
        }
        // What unknown mode sends means this group on either kind of gateway.
        if let Ok(path) = key.delete_path(LabelNaming::Unknown) {
            prop_assert_eq!(pushgateway_decode_in(&path, false), Ok(labels.clone()), "path {}", path);
            prop_assert_eq!(pushgateway_decode_in(&path, true), Ok(labels.clone()), "path {}", path);
        }
    }

    #[test]
    fn delete_path_round_trips_through_the_pushgateway_rules(labels in grouping_key()) {
        let key = GroupingKey::new(labels.clone()).unwrap();
        let path = key.delete_path(LabelNaming::Legacy).unwrap();
        prop_assert_eq!(pushgateway_decode(&path), Ok(labels.clone()), "path {}", path);
        prop_assert_eq!(pushgateway_decode_in(&key.delete_path(LabelNaming::Utf8).unwrap(), true), Ok(labels.clone()));
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
        prop_assert_eq!(pushgateway_decode(&with_padding), pushgateway_decode(&key.delete_path(LabelNaming::Legacy).unwrap()));
    }
}

#[test]
fn empty_values_are_spelled_equals_and_distinct_from_absent() {
    let with_empty = GroupingKey::new([("job", "x"), ("instance", "")]).unwrap();
    let without = GroupingKey::new([("job", "x")]).unwrap();
    assert_eq!(
        with_empty.delete_path(LabelNaming::Legacy).unwrap(),
        "job@base64/eA/instance@base64/="
    );
    let decoded =
        pushgateway_decode(&with_empty.delete_path(LabelNaming::Legacy).unwrap()).unwrap();
    assert_eq!(decoded.get("instance").map(String::as_str), Some(""));
    assert_ne!(
        decoded,
        pushgateway_decode(&without.delete_path(LabelNaming::Legacy).unwrap()).unwrap()
    );
}

#[test]
fn the_mirror_decodes_as_the_gateway_does() {
    assert_eq!(
        unescape_value_encoding("U__service_2e_name"),
        "service.name"
    );
    assert_eq!(unescape_value_encoding("U__k_f6_nig"), "könig");
    assert_eq!(unescape_value_encoding("U__0day"), "0day");
    assert_eq!(
        unescape_value_encoding("U__U____foo__2e__bar"),
        "U__foo_2e_bar"
    );
    assert_eq!(unescape_value_encoding("U__foo_2e_bar"), "foo.bar");
    // Invalid escapes stay as they are.
    assert_eq!(unescape_value_encoding("U__a_zz_"), "U__a_zz_");
    assert_eq!(unescape_value_encoding("U__a_"), "U__a_");
    assert_eq!(unescape_value_encoding("U__a_1234567_"), "U__a_1234567_");
    assert_eq!(unescape_value_encoding("plain"), "plain");
    // The twin: the literal U__ name, sent raw to a UTF-8 gateway, is
    // another group's name. That is why it is escaped there.
    let raw = "job@base64/eA/U__foo_2e_bar@base64/dg";
    assert_eq!(
        pushgateway_decode_in(raw, true)
            .unwrap()
            .get("foo.bar")
            .map(String::as_str),
        Some("v")
    );
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
