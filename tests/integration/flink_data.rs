//! The Flink-shaped generator used by the benchmarks: deterministic, and
//! its documents read back as the groups it generated.

use crate::flink;

use std::io::BufReader;

use flink::{go_float, rfc3339_nano, Shape};
use pushgateway_janitor::gateway::document::{self, SCAN_BUFFER_BYTES};
use pushgateway_janitor::group::Entry;

#[test]
fn go_float_matches_strconv_format_float_g() {
    let cases = [
        (0.0, "0"),
        (3.0, "3"),
        (230.0, "230"),
        (541065.0, "541065"),
        (1e6, "1e+06"),
        (22697806.0, "2.2697806e+07"),
        (1795481266.2985716, "1.7954812662985716e+09"),
        (0.0123, "0.0123"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "+Inf"),
        (f64::NEG_INFINITY, "-Inf"),
    ];
    for (v, want) in cases {
        assert_eq!(go_float(v), want, "{v}");
    }
}

#[test]
fn rfc3339_nano_trims_like_go() {
    assert_eq!(rfc3339_nano(0), "1970-01-01T00:00:00Z");
    assert_eq!(
        rfc3339_nano(1_795_481_266_298_571_600),
        "2026-11-24T00:47:46.2985716Z"
    );
}

#[test]
fn same_shape_same_bytes() {
    let shape = Shape {
        groups: 9,
        series: 40,
        seed: 3,
    };
    assert_eq!(shape.document(), shape.document());
    let other = Shape { seed: 4, ..shape };
    assert_ne!(shape.document(), other.document());
}

#[test]
fn documents_read_back_as_the_generated_groups() {
    let shape = Shape {
        groups: 17,
        series: 60,
        seed: 11,
    };
    let doc = shape.document();
    let options = document::ReadOptions::default();
    let entries = document::read_document(
        BufReader::with_capacity(SCAN_BUFFER_BYTES, &doc[..]),
        &options,
        document::Keep::Facts,
    )
    .entries
    .expect("parses");
    assert_eq!(
        crate::document_split::unmeasured(&entries),
        document::read_document_slice(&doc, &options).unwrap()
    );
    assert_eq!(entries.len(), shape.groups);
    for (i, entry) in entries.iter().enumerate() {
        let want = shape.group(i);
        let Entry::Group(g) = entry else {
            panic!("group {i} was skipped: {entry:?}")
        };
        assert_eq!(g.key.job(), want.job);
        assert!(g.key.labels().is_empty());
        let job_suffix = &want.job[want.job.len() - 32..];
        assert!(job_suffix.bytes().all(|b| b.is_ascii_hexdigit()));
        let push = want.push_nanos as f64 / 1e9;
        assert_eq!(g.last_push, Some(push));
        assert_eq!(g.last_failure, None);
        assert_eq!(g.last_push_successful, Some(true));
        let newest = g.newest_family_time.expect("families have time stamps");
        assert!((newest - push).abs() < 1e-6, "{newest} vs {push}");
        let series: usize = want.families.iter().map(|f| f.series.len()).sum();
        assert_eq!(series, shape.series);
        // Every series pushed, the gateway's push time not among them.
        assert_eq!(g.size.series, shape.series as u64, "group {i}");
        assert!(g.size.bytes > 0);
    }
}
