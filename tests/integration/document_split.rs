//! `read_document` splits the `data` array into groups and parses each from
//! a slice (src/gateway/document/split.rs). Whatever the input, it must
//! answer exactly as `read_document_slice`: the same entries, or an error
//! of the same kind. Inputs arrive in small, odd-sized reads so that every
//! state of the splitter meets a buffer boundary.

use crate::flink;

use std::io::{self, Read};

use pushgateway_janitor::gateway::document::{
    read_document, read_document_slice, DocumentError, Keep, ReadOptions, Spool, Window,
};
use pushgateway_janitor::group::Entry;

/// Hands out 1 to 7 bytes per read, then optionally fails.
struct Trickle<'a> {
    data: &'a [u8],
    at: usize,
    step: usize,
    fail_at_end: bool,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.data.len() && self.fail_at_end {
            return Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset"));
        }
        self.step = self.step % 7 + 1;
        let n = self.step.min(buf.len()).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn trickle(data: &[u8], step: usize) -> Trickle<'_> {
    Trickle {
        data,
        at: 0,
        step,
        fail_at_end: false,
    }
}

/// The entries as the slice reader gives them: not measured.
pub fn unmeasured(entries: &[Entry]) -> Vec<Entry> {
    let mut entries = entries.to_vec();
    for entry in &mut entries {
        match entry {
            Entry::Group(g) => g.size.bytes = 0,
            Entry::Skipped(s) => s.size.bytes = 0,
        }
    }
    entries
}

/// The length of each element of the document's `data` that is an
/// object (0 for others), when serde_json reads the document as it is.
fn element_lengths(text: &[u8]) -> Option<Vec<u64>> {
    #[derive(serde::Deserialize)]
    struct Doc<'a> {
        #[serde(borrow)]
        data: Vec<&'a serde_json::value::RawValue>,
    }
    let doc: Doc = serde_json::from_slice(text).ok()?;
    Some(
        doc.data
            .iter()
            .map(|raw| match raw.get().starts_with('{') {
                true => raw.get().len() as u64,
                false => 0,
            })
            .collect(),
    )
}

/// The same entries, or an error of the same kind, as the slice reader;
/// each group measured as long as it is in the document.
fn check(
    text: &[u8],
    slice: &Result<Vec<Entry>, DocumentError>,
    what: &str,
    other: Result<Vec<Entry>, DocumentError>,
) {
    if let (Ok(entries), Some(lengths)) = (&other, element_lengths(text)) {
        let measured: Vec<u64> = entries.iter().map(|e| e.size().bytes).collect();
        assert_eq!(
            measured,
            lengths,
            "{what}: {}",
            String::from_utf8_lossy(text)
        );
    }
    match (slice, &other) {
        (Ok(a), Ok(b)) => assert_eq!(
            a,
            &unmeasured(b),
            "{what}: {}",
            String::from_utf8_lossy(text)
        ),
        (Err(a), Err(b)) => assert_eq!(
            std::mem::discriminant(a),
            std::mem::discriminant(b),
            "{what}, {:?}: slice {a} / reader {b}",
            String::from_utf8_lossy(text)
        ),
        _ => panic!(
            "{what}, {:?}: slice {slice:?} / reader {other:?}",
            String::from_utf8_lossy(text)
        ),
    }
}

/// The entries [`read_document`] reads, keeping nothing more.
fn read(reader: impl Read, options: &ReadOptions) -> Result<Vec<Entry>, DocumentError> {
    read_document(reader, options, Keep::Facts).entries
}

/// `options` with a window of `bytes` growing up to `max_bytes`.
fn windowed(options: &ReadOptions, bytes: usize, max_bytes: usize) -> ReadOptions {
    ReadOptions {
        window: Window { bytes, max_bytes },
        ..options.clone()
    }
}

/// `read_document` as the scan calls it, in odd-sized reads and in one.
fn assert_same(text: &[u8]) {
    assert_same_reading(text, &ReadOptions::default());
    let slice = read_document_slice(text, &ReadOptions::default());
    check(
        text,
        &slice,
        "no options",
        read(text, &ReadOptions::default()),
    );
}

/// [`assert_same`], reading what `options` asks for.
fn assert_same_reading(text: &[u8], options: &ReadOptions) {
    let slice = read_document_slice(text, options);
    for step in [0, 3] {
        check(
            text,
            &slice,
            &format!("step {step}"),
            read(trickle(text, step), options),
        );
    }
    // The whole document in one read, as from the scan's BufReader.
    check(text, &slice, "one read", read(text, options));
}

/// [`assert_same`], and in windows smaller than a group (it is re-parsed
/// and the window grows) and around its size, growing without bound or
/// capped at the starting size (a larger group then streams through
/// serde_json's reader instead).
fn assert_same_in_windows(text: &[u8]) {
    assert_same_in_windows_reading(text, &ReadOptions::default());
}

fn assert_same_in_windows_reading(text: &[u8], options: &ReadOptions) {
    assert_same_reading(text, options);
    let slice = read_document_slice(text, options);
    let sizes = [1, 16, 100, 257, 300, 4096];
    let windows = sizes
        .iter()
        .map(|&w| (w, usize::MAX))
        .chain(sizes.iter().map(|&w| (w, w)));
    for (window, max_window) in windows {
        for step in [0, 2] {
            let what = format!("window {window}/{max_window}, step {step}");
            let windowed = read(trickle(text, step), &windowed(options, window, max_window));
            check(text, &slice, &what, windowed);
        }
    }
}

const GROUP: &str = r#"{"labels":{"job":"j","instance":"h1"},"last_push_successful":true,"push_time_seconds":{"time_stamp":"2024-01-02T03:04:05.5+01:00","metrics":[{"labels":{"job":"j"},"value":"1.7e+09"}]},"x":{"help":"a \"quoted\" } ] { [ and \\ backslash \u00e9","metrics":[{"value":"NaN"}]}}"#;

fn doc(groups: &[&str]) -> String {
    format!(r#"{{"status":"success","data":[{}]}}"#, groups.join(","))
}

#[test]
fn every_prefix_of_a_document_fails_or_succeeds_alike() {
    let text = doc(&[GROUP, "1", GROUP, r#"{"labels":{"job":"k"}}"#]);
    for end in 0..=text.len() {
        assert_same(&text.as_bytes()[..end]);
    }
    let text = doc(&[GROUP, GROUP]);
    for end in 0..=text.len() {
        assert_same_in_windows(&text.as_bytes()[..end]);
    }
}

#[test]
fn groups_cut_by_the_window_read_alike() {
    let small = r#"{"labels":{"job":"k"}}"#;
    let text = doc(&[GROUP, small, GROUP, GROUP, small, "3", GROUP]);
    assert_same_in_windows(text.as_bytes());
    assert_eq!(
        read(
            text.as_bytes(),
            &windowed(&ReadOptions::default(), 16, usize::MAX)
        )
        .unwrap()
        .len(),
        7
    );
}

#[test]
fn broken_groups_read_alike_in_small_windows() {
    for bad in [
        r#"{"labels":{"job":"j"]]}"#,
        r#"{"labels":{"job":"j\x"}}"#,
        r#"{"labels":{"job":"j"},"v":tru}"#,
        "{\"labels\":{\"job\":\"j\u{1}\"}}",
        r#"{"labels":{"job":"j"}} }"#,
    ] {
        assert_same_in_windows(doc(&[GROUP, bad, GROUP]).as_bytes());
    }
}

#[test]
fn odd_but_valid_shapes_read_alike() {
    let spaced =
        format!(" \n{{ \"status\" : \"success\" ,\t\"data\" :\r\n[ {GROUP} ,\n{GROUP} ] }} \n");
    let cases = [
        spaced,
        doc(&[]),
        doc(&[
            GROUP, "null", "[]", "[1,{}]", "\"s\"", "true", "-1.5e3", "0", GROUP,
        ]),
        format!(r#"{{"data":[{GROUP}],"status":"success"}}"#),
        format!(r#"{{"warnings":["a",{{"b":[]}}],"status":"success","data":[{GROUP}]}}"#),
        format!(r#"{{"status":"su\"ccess","data":[{GROUP}]}}"#),
        format!(r#"{{"status":"success","d\u0061ta":[{GROUP}]}}"#),
        format!(r#"{{"status":"success","datum":[{GROUP}],"data":[{GROUP}]}}"#),
        format!(r#"{{"status":"success","dat":1,"data":[{GROUP}]}}"#),
        format!(r#"{{"status":"success","data":[{GROUP}],"data":[{GROUP}]}}"#),
        format!(r#"{{"status":"success","data":[{GROUP}]}}{{}}"#),
        format!(r#"{{"status":"success","data":[{GROUP}]]"#),
        format!(r#"{{"status":"success","data":[{GROUP} {GROUP}]}}"#),
        r#"{"status":"success","data":[{"labels":{"job":"j"]]}]}"#.to_owned(),
        r#"{"status":"success","data":[{"labels":{"job":"j\x"}}]}"#.to_owned(),
        r#"{"status":"success","data":[{"labels":{"job":"j"},"v":tru}]}"#.to_owned(),
        r#"{"status":"success","data":[{"labels":{"job":"j"}} }]}"#.to_owned(),
        "[]".to_owned(),
        "\u{feff}{}".to_owned(),
        "{\"status\":\"success\",\"data\":{}}".to_owned(),
    ];
    for text in cases {
        assert_same(text.as_bytes());
    }
}

#[test]
fn nesting_around_the_recursion_limit_reads_alike() {
    for depth in 118..=132 {
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let group = format!(r#"{{"labels":{{"job":"j"}},"deep":{nested}}}"#);
        assert_same(doc(&[&group, GROUP]).as_bytes());
        let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        let group = format!(r#"{{"labels":{{"job":"j"}},"deep":{objects}}}"#);
        assert_same(doc(&[GROUP, &group]).as_bytes());
    }
}

#[test]
fn a_read_error_inside_a_group_is_an_io_error() {
    let text = doc(&[GROUP, GROUP]);
    let failing = |end: usize| Trickle {
        data: &text.as_bytes()[..end],
        at: 0,
        step: 0,
        fail_at_end: true,
    };
    for end in [1, 30, text.len() / 2, text.len() - 3, text.len() - 1] {
        let results = [
            (
                "default window",
                read(failing(end), &ReadOptions::default()),
            ),
            (
                "window 16",
                read(
                    failing(end),
                    &windowed(&ReadOptions::default(), 16, usize::MAX),
                ),
            ),
            (
                "window 4096",
                read(
                    failing(end),
                    &windowed(&ReadOptions::default(), 4096, usize::MAX),
                ),
            ),
        ];
        for (what, result) in results {
            match result {
                Err(DocumentError::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset),
                other => panic!("{end}, {what}: {other:?}"),
            }
        }
    }
    // A syntax error before the read error is the one reported, as
    // serde_json's reader alone would.
    let broken = format!(r#"{{"status":"success","data":[{GROUP},{{"labels":nope"#);
    let reader = Trickle {
        data: broken.as_bytes(),
        at: 0,
        step: 0,
        fail_at_end: true,
    };
    assert!(matches!(
        read(reader, &windowed(&ReadOptions::default(), 64, usize::MAX)),
        Err(DocumentError::NotJson(_))
    ));
}

#[test]
fn generated_flink_documents_read_alike() {
    for (groups, series, seed) in [(1, 1, 1), (5, 30, 2), (12, 200, 3)] {
        let text = flink::Shape {
            groups,
            series,
            seed,
        }
        .document();
        assert_same(&text);
    }
}

#[test]
fn mutated_documents_read_alike() {
    let base = doc(&[GROUP, "7", GROUP]).into_bytes();
    let alphabet = b"{}[]\",:\\ 0a\x00\xff";
    let mut rng = flink::Rng::new(42);
    for _ in 0..3000 {
        let mut text = base.clone();
        for _ in 0..=rng.below(3) {
            let at = rng.below(text.len() as u64) as usize;
            let byte = alphabet[rng.below(alphabet.len() as u64) as usize];
            match rng.below(3) {
                0 => text[at] = byte,
                1 => text.insert(at, byte),
                _ => {
                    text.remove(at);
                }
            }
        }
        assert_same(&text);
    }
}

/// With `--ttl-metric`, the family's value is read in the window as from
/// the slice: every prefix, every window, and the family's bytes cut by a
/// window's edge. (NaN would compare unequal to itself, so the values here
/// are numbers and reasons.)
#[test]
fn the_ttl_metric_reads_alike_on_both_paths() {
    let ttl = |value: &str| {
        format!(
            r#"{{"labels":{{"job":"t"}},"pgj_ttl_seconds":{{"time_stamp":"2024-01-02T03:04:05Z","type":"GAUGE","metrics":[{{"labels":{{}},"value":"{value}"}}]}},"push_time_seconds":{{"metrics":[{{"value":"1.7e+09"}}]}}}}"#
        )
    };
    let counter =
        r#"{"labels":{"job":"c"},"pgj_ttl_seconds":{"type":"COUNTER","metrics":[{"value":"5"}]}}"#;
    let two = r#"{"labels":{"job":"two"},"pgj_ttl_seconds":{"type":"GAUGE","metrics":[{"value":"5"},{"value":"6"}]}}"#;
    let text = doc(&[&ttl("1800"), GROUP, &ttl("+Inf"), counter, two, &ttl("x")]);
    let options = ReadOptions {
        ttl_metric: Some("pgj_ttl_seconds".into()),
        ..Default::default()
    };
    assert_same_in_windows_reading(text.as_bytes(), &options);
    for end in 0..=text.len() {
        assert_same_reading(&text.as_bytes()[..end], &options);
    }
    let entries = read(text.as_bytes(), &options).unwrap();
    let values: Vec<Option<Result<f64, String>>> = entries
        .iter()
        .map(|e| match e {
            Entry::Group(g) => g.ttl_metric.clone(),
            Entry::Skipped(s) => panic!("skipped: {}", s.reason),
        })
        .collect();
    assert_eq!(
        values,
        vec![
            Some(Ok(1800.0)),
            None,
            Some(Ok(f64::INFINITY)),
            Some(Err("is a COUNTER, not a gauge".into())),
            Some(Err("has 2 series, not one".into())),
            Some(Err(r#"value "x" is not a number"#.into())),
        ]
    );
    // With --archive too: in the window, and streamed past a capped one.
    for (window, max_window) in [(1 << 20, 4 << 20), (64, 64)] {
        let spool = Spool::new(tempfile::tempfile().unwrap());
        let kept = read_document(
            text.as_bytes(),
            &windowed(&options, window, max_window),
            Keep::Json(spool),
        );
        assert_eq!(
            kept.entries.unwrap(),
            entries,
            "window {window}/{max_window}"
        );
    }
    // Without the option, the family is one more family: not read.
    let plain = read(text.as_bytes(), &ReadOptions::default()).unwrap();
    assert!(plain
        .iter()
        .all(|e| matches!(e, Entry::Group(g) if g.ttl_metric.is_none())));
}

/// `--archive`: reading while keeping each group's JSON answers exactly
/// as reading without (the same entries, or an error of the same kind),
/// and keeps of each group that is an object exactly its JSON, whether it
/// was parsed in the window or streamed (a window capped below its size).
/// The one difference allowed: a streamed group that is not UTF-8 (which
/// Go's encoder never writes) fails the keeping scan.
fn assert_kept(text: &[u8]) {
    let plain = read_document_slice(text, &ReadOptions::default());
    let shown: Option<Vec<serde_json::Value>> = serde_json::from_slice::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("data").and_then(|d| d.as_array()).cloned());
    let windows = [
        (1 << 20, 4 << 20),
        (16, usize::MAX),
        (64, 64),
        (300, 300),
        (1, 1),
    ];
    for (window, max_window) in windows {
        for step in [0, 3] {
            let what = format!("keeping, window {window}/{max_window}, step {step}");
            let spool = Spool::new(tempfile::tempfile().unwrap());
            let read = read_document(
                trickle(text, step),
                &windowed(&ReadOptions::default(), window, max_window),
                Keep::Json(spool),
            );
            let (kept, raw) = (read.entries, read.json.unwrap());
            if let (Ok(_), Err(DocumentError::NotJson(_))) = (&plain, &kept) {
                assert!(std::str::from_utf8(text).is_err(), "{what}: {kept:?}");
                continue;
            }
            check(text, &plain, &what, kept);
            let (Ok(entries), Some(shown)) = (&plain, &shown) else {
                continue;
            };
            assert_eq!(raw.len(), entries.len(), "{what}");
            for (i, group) in shown.iter().enumerate() {
                match (group.is_object(), raw.read(i)) {
                    (true, Ok(bytes)) => {
                        let kept: serde_json::Value = serde_json::from_slice(&bytes)
                            .unwrap_or_else(|e| panic!("{what}: group {i} kept as {e}"));
                        assert_eq!(&kept, group, "{what}: group {i}");
                    }
                    (false, Err(_)) => {}
                    (object, kept) => panic!("{what}: group {i} (object: {object}): {kept:?}"),
                }
            }
        }
    }
}

#[test]
fn keeping_each_groups_json_reads_alike_and_keeps_it_exactly() {
    let small = r#"{"labels":{"job":"k"}}"#;
    let escaped = r#"{"labels":{"job":"\u00e9\"\\\/"},"f\u0022o":{"metrics":[]},"dup":1,"dup":2}"#;
    for text in [
        doc(&[GROUP, small, GROUP, GROUP, small, "3", GROUP]),
        doc(&[
            GROUP, "null", "[]", "[1,{}]", "\"s\"", "true", "-1.5e3", "0", GROUP,
        ]),
        doc(&[escaped, GROUP, escaped]),
        doc(&[]),
        format!(" \n{{ \"status\" : \"success\" ,\t\"data\" :\r\n[ {GROUP} ,\n{GROUP} ] }} \n"),
        format!(r#"{{"warnings":["a",{{"b":[]}}],"status":"success","data":[{GROUP}]}}"#),
        format!(r#"{{"status":"success","d\u0061ta":[{GROUP},{small}]}}"#),
    ] {
        assert_kept(text.as_bytes());
    }
    for (groups, series, seed) in [(1, 1, 1), (5, 30, 2)] {
        let text = flink::Shape {
            groups,
            series,
            seed,
        }
        .document();
        assert_kept(&text);
    }
    // Broken documents fail alike.
    let text = doc(&[GROUP, GROUP]);
    for end in (0..=text.len()).step_by(7) {
        assert_kept(&text.as_bytes()[..end]);
    }
    let base = doc(&[GROUP, "7", escaped]).into_bytes();
    let alphabet = b"{}[]\",:\\ 0a\x00\xff";
    let mut rng = flink::Rng::new(7);
    for _ in 0..300 {
        let mut text = base.clone();
        let at = rng.below(text.len() as u64) as usize;
        text[at] = alphabet[rng.below(alphabet.len() as u64) as usize];
        assert_kept(&text);
    }
}
