//! Robustness of the `/api/v1/metrics` reader: every family type the
//! Pushgateway emits, odd values, duplicate keys, deep nesting, huge
//! strings, invalid UTF-8. Each input gives a correct result, a per-group
//! `Skipped`, or a clear top-level error; never a panic or a wrong key.

use pushgateway_janitor::gateway::document::{
    read_document, read_document_slice, Keep, ReadOptions,
};
use pushgateway_janitor::gateway::DocumentError;
use pushgateway_janitor::group::Entry;
use pushgateway_janitor::group::GroupingKey;

const PUSH_TIME: &str = r#""push_time_seconds":{"time_stamp":"2024-05-06T07:08:09.123456789+02:00","type":"GAUGE","help":"Last Unix time when changing this group in the Pushgateway succeeded.","metrics":[{"labels":{"instance":"h1","job":"j"},"value":"1.7149754891234567e+09"}]}"#;
const FAILURE_TIME: &str = r#""push_failure_time_seconds":{"time_stamp":"2024-05-06T07:08:09.123456789+02:00","type":"GAUGE","help":"Last Unix time when changing this group in the Pushgateway failed.","metrics":[{"labels":{"instance":"h1","job":"j"},"value":"0"}]}"#;

/// A well-formed group `{job="j",instance="h1"}` with `extra` fields.
fn group(extra: &str) -> String {
    let sep = if extra.is_empty() { "" } else { "," };
    format!(
        r#"{{"labels":{{"instance":"h1","job":"j"}},"last_push_successful":true,{PUSH_TIME},{FAILURE_TIME}{sep}{extra}}}"#
    )
}

fn doc(groups: &[String]) -> String {
    format!(r#"{{"status":"success","data":[{}]}}"#, groups.join(","))
}

fn key() -> GroupingKey {
    GroupingKey::new([("job", "j"), ("instance", "h1")]).unwrap()
}

/// Parses through both entry points (slice and reader) and checks they agree.
fn parse(text: &[u8]) -> Result<Vec<Entry>, DocumentError> {
    let from_slice = read_document_slice(text, &ReadOptions::default());
    let from_reader = read_document(
        std::io::BufReader::new(text),
        &ReadOptions::default(),
        Keep::Facts,
    )
    .entries;
    match (&from_slice, &from_reader) {
        (Ok(a), Ok(b)) => assert_eq!(a, &crate::document_split::unmeasured(b)),
        // Same kind of error; positions may differ by a column.
        (Err(a), Err(b)) => {
            assert_eq!(
                std::mem::discriminant(a),
                std::mem::discriminant(b),
                "{a} / {b}"
            )
        }
        _ => panic!("slice {from_slice:?} and reader {from_reader:?} disagree"),
    }
    from_slice
}

/// The one entry is the group `{job="j",instance="h1"}` pushed at the known time.
fn assert_the_group(entries: &[Entry]) {
    assert_eq!(entries.len(), 1, "{entries:?}");
    match &entries[0] {
        Entry::Group(g) => {
            assert_eq!(g.key, key());
            assert_eq!(g.last_push, Some(1.7149754891234567e9));
            assert_eq!(g.last_failure, None);
        }
        other => panic!("expected the group, got {other:?}"),
    }
}

fn assert_skipped(entries: &[Entry], reason_part: &str) {
    assert_eq!(entries.len(), 1, "{entries:?}");
    match &entries[0] {
        Entry::Skipped(s) => assert!(s.reason.contains(reason_part), "reason: {}", s.reason),
        other => panic!("expected skipped ({reason_part}), got {other:?}"),
    }
}

#[test]
fn every_family_type_as_the_pushgateway_emits_it() {
    let families = [
        // gauge, counter, untyped: "value"
        r#""a_gauge":{"time_stamp":"2024-05-06T05:08:09Z","type":"GAUGE","metrics":[{"labels":{"job":"j"},"value":"-3.5"}]}"#,
        r#""a_counter":{"time_stamp":"2024-05-06T05:08:09Z","type":"COUNTER","help":"h","metrics":[{"labels":{"job":"j","x":"y"},"value":"1e+21"}]}"#,
        r#""an_untyped":{"time_stamp":"2024-05-06T05:08:09Z","type":"UNTYPED","metrics":[{"labels":{},"value":"7"}]}"#,
        // summary: quantiles map, count and sum as strings, NaN quantile
        r#""a_summary":{"time_stamp":"2024-05-06T05:08:09Z","type":"SUMMARY","metrics":[{"labels":{"job":"j"},"quantiles":{"0.5":"0.25","0.99":"NaN"},"count":"17","sum":"4.25"}]}"#,
        // classic histogram: buckets map keyed by upper bound, +Inf included
        r#""a_histogram":{"time_stamp":"2024-05-06T05:08:09Z","type":"HISTOGRAM","metrics":[{"labels":{"job":"j"},"buckets":{"0.1":"3","1":"5","+Inf":"6"},"count":"6","sum":"2.5"}]}"#,
        // native histogram (1.8+): buckets as [boundary rule, lower, upper, count]
        r#""a_native_histogram":{"time_stamp":"2024-05-06T05:08:09Z","type":"HISTOGRAM","metrics":[{"labels":{"job":"j"},"buckets":[[3,"-0.0001","0.0001","2"],[0,"0.7071067811865475","1","1"]],"count":"3","sum":"0.9"}]}"#,
        // a float native histogram
        r#""a_float_histogram":{"time_stamp":"2024-05-06T05:08:09Z","type":"GAUGE_HISTOGRAM","metrics":[{"labels":{"job":"j"},"buckets":[[0,"1","2","1.5"]],"count":"1.5","sum":"NaN"}]}"#,
        // an empty family
        r#""nothing":{"time_stamp":"0001-01-01T00:00:00Z","type":"GAUGE","metrics":[]}"#,
    ];
    let entries = parse(doc(&[group(&families.join(","))]).as_bytes()).unwrap();
    assert_the_group(&entries);
    let Entry::Group(g) = &entries[0] else {
        unreachable!()
    };
    // The newest family time stamp is the push-time families' one.
    assert_eq!(g.newest_family_time, Some(1714972089.1234567));
    assert_eq!(g.last_push_successful, Some(true));
}

#[test]
fn unknown_fields_are_ignored_at_every_level() {
    let text = format!(
        r#"{{"status":"success","warnings":["w"],"extra":{{"a":[1,2,{{"b":null}}]}},"data":[{}],"errorType":""}}"#,
        group(r#""some_future_field":{"nested":[true,false,null,1.5e300]}"#)
            .replace(
                r#""type":"GAUGE""#,
                r#""type":"GAUGE","exemplars":[{"x":1}]"#
            )
            .replace(r#""value":"0""#, r#""value":"0","timestamp_ms":"123""#)
    );
    assert_the_group(&parse(text.as_bytes()).unwrap());
}

#[test]
fn special_values() {
    // NaN, +Inf, -Inf anywhere but the push times are just data.
    let text = doc(&[group(
        r#""g":{"type":"GAUGE","metrics":[{"labels":{},"value":"NaN"},{"labels":{},"value":"+Inf"},{"labels":{},"value":"-Inf"}]}"#,
    )]);
    assert_the_group(&parse(text.as_bytes()).unwrap());

    // In the push time they make the group unaddressable in time: skipped.
    for (value, why) in [
        (r#""NaN""#, "not a time"),
        (r#""+Inf""#, "not a time"),
        (r#""-Inf""#, "not a time"),
        (r#""-5""#, "not a time"),
        (r#""1e400""#, "not a time"),
        // Finite, but after 9999: no time the gateway wrote (issue 17
        // item 6: it panicked the report in a debug build).
        (r#""1e30""#, "1e30, after the year 9999: not a time"),
        (r#""253402300800""#, "after the year 9999"),
        (r#""0x10""#, "not a number"),
        (r#""""#, "not a number"),
        (r#""1,5""#, "not a number"),
        (r#""infinity""#, "not a number"),
        ("null", "null"),
        ("true", "bool"),
        ("[1]", "array"),
        (r#"{"v":1}"#, "object"),
    ] {
        let g = group("").replace(r#""1.7149754891234567e+09""#, value);
        assert_skipped(&parse(doc(&[g]).as_bytes()).unwrap(), why);
    }
    // Leniently, a JSON number is a number.
    let g = group("").replace(r#""1.7149754891234567e+09""#, "1.7149754891234567e+09");
    assert_the_group(&parse(doc(&[g]).as_bytes()).unwrap());
    // 0 means never pushed successfully.
    let g = group("").replace(r#""1.7149754891234567e+09""#, r#""0""#);
    let entries = parse(doc(&[g]).as_bytes()).unwrap();
    let Entry::Group(g) = &entries[0] else {
        panic!("{entries:?}")
    };
    assert_eq!(g.last_push, None);
}

#[test]
fn duplicate_keys() {
    // A second push_time_seconds family: which one is right is unknowable.
    assert_skipped(
        &parse(doc(&[group(PUSH_TIME)]).as_bytes()).unwrap(),
        "more than once",
    );
    // A second labels object.
    assert_skipped(
        &parse(doc(&[group(r#""labels":{"job":"other"}"#)]).as_bytes()).unwrap(),
        "more than one \"labels\"",
    );
    // The same label name twice inside labels.
    let g = group("").replace(r#""job":"j"}"#, r#""job":"j","job":"k"}"#);
    assert_skipped(&parse(doc(&[g]).as_bytes()).unwrap(), "more than once");
    // A second data array is a document error, not a merge.
    let text = format!(r#"{{"status":"success","data":[{}],"data":[]}}"#, group(""));
    assert!(matches!(
        parse(text.as_bytes()),
        Err(DocumentError::NotJson(_))
    ));
    // A repeated status: the last one counts, as in most JSON readers.
    let text = format!(
        r#"{{"status":"error","status":"success","data":[{}]}}"#,
        group("")
    );
    assert_the_group(&parse(text.as_bytes()).unwrap());
}

#[test]
fn malformed_groups_are_skipped_and_their_neighbours_kept() {
    let bad = [
        (r#"{"last_push_successful":true}"#.to_owned(), "no \"labels\""),
        (r#"{"labels":null}"#.to_owned(), "not a label set"),
        (r#"{"labels":{"job":5}}"#.to_owned(), "not a label set"),
        (r#"{"labels":["job","j"]}"#.to_owned(), "not a label set"),
        (r#"{"labels":{"instance":"h"}}"#.to_owned(), "no job"),
        (r#"{"labels":{"job":""}}"#.to_owned(), "empty job"),
        // Any other name, the reserved `__x` included, is a grouping key
        // some gateway can address (a UTF-8 one reads `U______x` as `__x`);
        // whether this gateway can is the plan's question.
        (r#"{"labels":{"job":"j","":"v"}}"#.to_owned(), "a label name is empty"),
        ("42".to_owned(), "not a JSON object"),
        (r#""a string""#.to_owned(), "not a JSON object"),
        ("null".to_owned(), "not a JSON object"),
        ("[]".to_owned(), "not a JSON object"),
        // A family pushed under the name "labels" replaces the label set.
        (
            r#"{"labels":{"type":"GAUGE","metrics":[{"labels":{},"value":"1"}]}}"#.to_owned(),
            "not a label set",
        ),
        (group("").replace(r#""metrics":[{"labels":{"instance":"h1","job":"j"},"value":"1.7149754891234567e+09"}]"#, r#""metrics":[]"#), "has no value"),
        (group("").replace(r#""metrics":[{"labels":{"instance":"h1","job":"j"},"value":"1.7149754891234567e+09"}]"#, r#""metrics":{}"#), "not an array"),
        (group("").replace(r#""metrics":[{"labels":{"instance":"h1","job":"j"},"value":"1.7149754891234567e+09"}]"#, r#""metrics":["x"]"#), "not an object"),
    ];
    for (bad_group, why) in bad {
        let text = doc(&[bad_group.clone(), group("")]);
        let entries = parse(text.as_bytes()).unwrap_or_else(|e| panic!("{bad_group}: {e}"));
        assert_eq!(entries.len(), 2, "{bad_group}");
        assert_skipped(&entries[..1], why);
        assert_the_group(&entries[1..]);
    }
    // A non-bool last_push_successful (a family of that name) is not fatal.
    let g = group("").replace(
        r#""last_push_successful":true"#,
        r#""last_push_successful":{"type":"GAUGE","metrics":[]}"#,
    );
    let entries = parse(doc(&[g]).as_bytes()).unwrap();
    let Entry::Group(g) = &entries[0] else {
        panic!("{entries:?}")
    };
    assert_eq!(g.last_push_successful, None);
}

#[test]
fn documents_that_are_not_the_api_fail_as_a_whole() {
    let cases: [(&[u8], &str); 12] = [
        (b"", "truncated"),
        (b"{\"status\":\"success\",\"data\":[", "truncated"),
        (
            b"<html><body>502 Bad Gateway</body></html>",
            "not the Pushgateway's JSON",
        ),
        (b"[]", "not the Pushgateway's JSON"),
        (b"{}", "status \"<missing>\""),
        (b"{\"status\":\"success\"}", "no \"data\""),
        (
            b"{\"status\":\"success\",\"data\":null}",
            "not the Pushgateway's JSON",
        ),
        (
            b"{\"status\":\"success\",\"data\":{}}",
            "not the Pushgateway's JSON",
        ),
        (
            b"{\"status\":\"error\",\"errorType\":\"internal\",\"error\":\"boom\"}",
            "status \"error\": boom",
        ),
        (
            b"{\"status\":\"success\",\"data\":[]} trailing",
            "not the Pushgateway's JSON",
        ),
        (
            b"{\"status\":\"success\",\"data\":[]}{}",
            "not the Pushgateway's JSON",
        ),
        (
            b"\xef\xbb\xbf{\"status\":\"success\",\"data\":[]}",
            "not the Pushgateway's JSON",
        ),
    ];
    for (text, message) in cases {
        let e = parse(text).expect_err(&String::from_utf8_lossy(text));
        assert!(
            e.to_string().contains(message),
            "{:?}: {e}",
            String::from_utf8_lossy(text)
        );
    }
    // An empty gateway is fine.
    assert_eq!(
        parse(b"{\"status\":\"success\",\"data\":[]}").unwrap(),
        vec![]
    );
}

#[test]
fn deep_nesting_is_an_error_or_ignored_never_a_stack_overflow() {
    for depth in [200, 100_000] {
        // Inside a family nobody reads.
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let text = doc(&[group(&format!(r#""deep":{nested}"#))]);
        match parse(text.as_bytes()) {
            Ok(entries) => assert_the_group(&entries),
            Err(e) => assert!(e.to_string().contains("recursion limit"), "{e}"),
        }
        // As a label value.
        let g = group("").replace(r#""job":"j"}"#, &format!(r#""job":{nested}}}"#));
        match parse(doc(&[g]).as_bytes()) {
            Ok(entries) => assert_skipped(&entries, "not a label set"),
            Err(e) => assert!(e.to_string().contains("recursion limit"), "{e}"),
        }
        // Unclosed.
        let text = format!(
            r#"{{"status":"success","data":[{}"#,
            "{\"a\":[".repeat(depth)
        );
        assert!(parse(text.as_bytes()).is_err());
    }
}

#[test]
fn huge_strings() {
    // 4 MiB: far beyond any real label, and quick in a debug build.
    let huge = "x".repeat(4 << 20);
    // A 4 MiB label value is a label value.
    let g = group("").replace(
        r#""instance":"h1","job":"j"}"#,
        &format!(r#""instance":"{huge}","job":"j"}}"#),
    );
    let entries = parse(doc(&[g]).as_bytes()).unwrap();
    let Entry::Group(g) = &entries[0] else {
        panic!("skipped")
    };
    assert_eq!(g.key.get("instance").map(str::len), Some(4 << 20));
    // A 4 MiB help text or value elsewhere is skipped over.
    let text = doc(&[group(&format!(
        r#""big":{{"help":"{huge}","type":"GAUGE","metrics":[{{"labels":{{}},"value":"{huge}"}}]}}"#
    ))]);
    assert_the_group(&parse(text.as_bytes()).unwrap());
    // A 4 MiB unparseable push time is skipped with a short reason.
    let g = group("").replace("1.7149754891234567e+09", &huge);
    let entries = parse(doc(&[g]).as_bytes()).unwrap();
    let Entry::Skipped(s) = &entries[0] else {
        panic!("kept")
    };
    assert!(s.reason.len() < 200, "{}", s.reason.len());
    // A huge field name.
    let text = doc(&[group(&format!(r#""{huge}":{{}}"#))]);
    assert_the_group(&parse(text.as_bytes()).unwrap());
}

#[test]
fn escapes_and_unicode_in_keys_are_decoded_exactly() {
    let g = group("").replace(
        r#""instance":"h1","job":"j"}"#,
        r#""instance":"a\/b\u00fc\ud83d\ude00\"\\\n","job":"j\u0000"}"#,
    );
    let entries = parse(doc(&[g]).as_bytes()).unwrap();
    let Entry::Group(g) = &entries[0] else {
        panic!("{entries:?}")
    };
    assert_eq!(g.key.get("instance"), Some("a/bü😀\"\\\n"));
    assert_eq!(g.key.job(), "j\0");
}

#[test]
fn invalid_utf8_and_bad_escapes() {
    // In a label value: the key cannot be known; the whole scan fails
    // (nothing is deleted) with a clear message.
    for bad in [
        &b"\xff"[..],
        b"\xc3\x28",
        b"\xed\xa0\x80",
        b"\\ud800",
        b"\\udc00x",
        b"\\x41",
    ] {
        let mut text = Vec::new();
        text.extend_from_slice(br#"{"status":"success","data":[{"labels":{"job":"j"#);
        text.extend_from_slice(bad);
        text.extend_from_slice(br#""}}]}"#);
        match parse(&text) {
            Err(DocumentError::NotJson(e)) => {
                let m = e.to_string();
                assert!(
                    m.contains("unicode")
                        || m.contains("UTF-8")
                        || m.contains("escape")
                        || m.contains("surrogate"),
                    "{m}"
                );
            }
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(bad)),
        }
    }
    // In data nobody reads, invalid UTF-8 may be skipped over; the group is right.
    let mut text = doc(&[group(r#""x":{"help":"@@"}"#)]).into_bytes();
    let at = text.windows(2).position(|w| w == b"@@").unwrap();
    text[at] = 0xff;
    text[at + 1] = 0xfe;
    match parse(&text) {
        Ok(entries) => assert_the_group(&entries),
        Err(e) => assert!(matches!(e, DocumentError::NotJson(_)), "{e}"),
    }
}

#[test]
fn the_key_is_exactly_the_labels_object_never_a_series_label() {
    // Series labels (here with an extra label and a different job) must not
    // leak into the grouping key.
    let g = group("").replace(
        r#"[{"labels":{"instance":"h1","job":"j"},"value":"1.7149754891234567e+09"}]"#,
        r#"[{"labels":{"instance":"h1","job":"OTHER","extra":"e"},"value":"1.7149754891234567e+09"}]"#,
    );
    assert_the_group(&parse(doc(&[g]).as_bytes()).unwrap());
    // The empty instance is a label, kept as such.
    let g = group("").replace(r#""instance":"h1","#, r#""instance":"","#);
    let entries = parse(doc(&[g]).as_bytes()).unwrap();
    let Entry::Group(g) = &entries[0] else {
        panic!("{entries:?}")
    };
    assert_eq!(g.key.get("instance"), Some(""));
    assert_eq!(
        g.key
            .delete_path(pushgateway_janitor::group::LabelNaming::Legacy)
            .unwrap(),
        "job@base64/ag/instance@base64/="
    );
}

/// `--ttl-metric`: every shape the named family can take reads as a value
/// or as why it is not one, on both paths; the group itself is read as
/// always (never skipped for its TTL).
#[test]
fn the_ttl_metric_family_in_every_shape() {
    use pushgateway_janitor::gateway::document::{
        read_document, read_document_slice, Keep, ReadOptions,
    };
    let options = ReadOptions {
        ttl_metric: Some("job_ttl_seconds".into()),
        ..Default::default()
    };
    for (family, want) in [
        (
            r#"{"type":"GAUGE","metrics":[{"labels":{},"value":"3600"}]}"#,
            Ok(3600.0),
        ),
        (
            r#"{"type":"UNTYPED","metrics":[{"value":"+Inf"}]}"#,
            Ok(f64::INFINITY),
        ),
        (r#"{"type":"GAUGE","metrics":[{"value":7200}]}"#, Ok(7200.0)),
        (
            r#"{"metrics":[{"value":"1"}]}"#,
            Err("has no type".to_owned()),
        ),
        (
            r#"{"type":"GAUGE","metrics":[]}"#,
            Err("has no series".to_owned()),
        ),
        (
            r#"{"type":"GAUGE","metrics":{}}"#,
            Err(r#""metrics" is not an array"#.to_owned()),
        ),
        (r#"{"type":"GAUGE"}"#, Err(r#"has no "metrics""#.to_owned())),
        (
            r#"{"type":"GAUGE","metrics":[{"labels":{}}]}"#,
            Err("has no value".to_owned()),
        ),
        (
            r#"{"type":"SUMMARY","metrics":[{"count":"1","sum":"2","quantiles":{}}]}"#,
            Err("is a SUMMARY, not a gauge".to_owned()),
        ),
        (r#""a string""#, Err("is not a metric family".to_owned())),
    ] {
        let text = doc(&[group(&format!(r#""job_ttl_seconds":{family}"#))]);
        let from_slice = read_document_slice(text.as_bytes(), &options).unwrap();
        let from_reader = read_document(
            std::io::BufReader::new(text.as_bytes()),
            &options,
            Keep::Facts,
        )
        .entries
        .unwrap();
        assert_eq!(
            from_slice,
            crate::document_split::unmeasured(&from_reader),
            "{family}"
        );
        assert_the_group(&from_slice);
        let Entry::Group(g) = &from_slice[0] else {
            unreachable!()
        };
        assert_eq!(g.ttl_metric, Some(want), "{family}");
    }
    // A family of that name twice (JSON allows it; the gateway never
    // writes it): neither is believed.
    let family = r#""job_ttl_seconds":{"type":"GAUGE","metrics":[{"value":"1"}]}"#;
    let text = doc(&[group(&format!("{family},{family}"))]);
    let entries = read_document_slice(text.as_bytes(), &options).unwrap();
    let Entry::Group(g) = &entries[0] else {
        panic!("{entries:?}")
    };
    assert_eq!(g.ttl_metric, Some(Err("appears more than once".into())));
}
