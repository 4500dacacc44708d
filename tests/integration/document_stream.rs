//! The reader streams: a multi-hundred-megabyte document, generated on the
//! fly by a `Read` impl (so neither the test nor the reader holds it), goes
//! through `read_document` and yields exactly the expected groups.
//!
//! The peak-memory check runs the test in a child process of its own (the
//! test binary again, this one test only): a process's peak RSS counts every
//! test that runs in it at the same time.

use std::io::{BufReader, Read};

use pushgateway_janitor::gateway::document::{read_document, Keep, ReadOptions};
use pushgateway_janitor::group::Entry;

/// One series of the bulky family; every group repeats it many times.
const SERIES: &[u8] = br#"{"labels":{"instance":"h","job":"bulk","le":"0.005","path":"/api/v1/some/fairly/long/route","status":"200"},"value":"1.2345678901234567e+09"}"#;

/// Generates `{"status":"success","data":[group0, group1, …]}` where each
/// group has a label set, the push-time families and one family with
/// `series_per_group` series; `NaN` and `+Inf` appear in a gauge too.
struct Generated {
    groups: usize,
    series_per_group: usize,
    /// Where we are: (group, series) cursor and the pending bytes.
    group: usize,
    series: usize,
    pending: Vec<u8>,
    at: usize,
    done: bool,
    produced: u64,
}

impl Generated {
    fn new(groups: usize, series_per_group: usize) -> Self {
        Generated {
            groups,
            series_per_group,
            group: 0,
            series: 0,
            pending: br#"{"status":"success","data":["#.to_vec(),
            at: 0,
            done: false,
            produced: 0,
        }
    }

    /// Fills `pending` with the next piece of the document.
    fn refill(&mut self) {
        self.pending.clear();
        self.at = 0;
        if self.group == self.groups {
            if !self.done {
                self.pending.extend_from_slice(b"]}");
                self.done = true;
            }
            return;
        }
        let g = self.group;
        if self.series == 0 {
            if g > 0 {
                self.pending.push(b',');
            }
            // Push time 1_700_000_000 + g; every third group has a failure later.
            let failure = if g % 3 == 0 { 1_800_000_000 + g } else { 0 };
            self.pending.extend_from_slice(
                format!(
                    r#"{{"labels":{{"instance":"i{g}","job":"job{g}"}},"last_push_successful":true,"push_time_seconds":{{"time_stamp":"2023-11-14T22:13:20Z","type":"GAUGE","help":"Last Unix time when changing this group in the Pushgateway succeeded.","metrics":[{{"labels":{{"instance":"i{g}","job":"job{g}"}},"value":"{}"}}]}},"push_failure_time_seconds":{{"type":"GAUGE","metrics":[{{"labels":{{}},"value":"{failure}"}}]}},"odd":{{"type":"GAUGE","metrics":[{{"labels":{{}},"value":"NaN"}},{{"labels":{{}},"value":"+Inf"}}]}},"bulk":{{"time_stamp":"2023-11-14T22:13:20Z","type":"HISTOGRAM","metrics":["#,
                    1_700_000_000 + g
                )
                .as_bytes(),
            );
        }
        // Many series per refill keeps the generator cheap in debug builds.
        let batch = (self.series_per_group - self.series).min(256);
        for i in 0..batch {
            if self.series + i > 0 {
                self.pending.push(b',');
            }
            self.pending.extend_from_slice(SERIES);
        }
        self.series += batch;
        if self.series == self.series_per_group {
            self.pending.extend_from_slice(b"]}}");
            self.series = 0;
            self.group += 1;
        }
    }
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.pending.len() {
            self.refill();
            if self.pending.is_empty() {
                return Ok(0);
            }
        }
        let n = (self.pending.len() - self.at).min(buf.len());
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        self.produced += n as u64;
        Ok(n)
    }
}

/// Counts what went through, since `read_document` takes the reader.
struct Counting<R> {
    inner: R,
    bytes: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Set in the child process that does the work and measures its peak.
const CHILD: &str = "DOCUMENT_STREAM_ALONE";

#[test]
fn a_300_megabyte_document_streams_through_the_reader() {
    if std::env::var_os(CHILD).is_none() {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "document_stream::a_300_megabyte_document_streams_through_the_reader",
                "--exact",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&[out.stdout, out.stderr].concat()).into_owned();
        assert!(out.status.success(), "{text}");
        assert!(text.contains("1 passed"), "the child ran no test: {text}");
        return;
    }
    const GROUPS: usize = 1_000;
    const SERIES_PER_GROUP: usize = 2_200;
    let bytes = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let reader = Counting {
        inner: Generated::new(GROUPS, SERIES_PER_GROUP),
        bytes: bytes.clone(),
    };
    let started = std::time::Instant::now();
    let entries = read_document(
        BufReader::with_capacity(256 * 1024, reader),
        &ReadOptions::default(),
        Keep::Facts,
    )
    .entries
    .unwrap();
    let elapsed = started.elapsed();
    let total = bytes.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!(
        "streamed {} MB, {} groups in {elapsed:?}; peak RSS {:?} KiB",
        total / 1_000_000,
        entries.len(),
        peak_rss_kib()
    );
    assert!(total > 300_000_000, "only {total} bytes were generated");

    assert_eq!(entries.len(), GROUPS);
    for (g, entry) in entries.iter().enumerate() {
        let Entry::Group(group) = entry else {
            panic!("group {g} was skipped: {entry:?}")
        };
        assert_eq!(group.key.job(), format!("job{g}"));
        assert_eq!(group.key.get("instance"), Some(format!("i{g}").as_str()));
        assert_eq!(group.key.labels().len(), 1);
        assert_eq!(group.last_push, Some((1_700_000_000 + g) as f64));
        let failure = (g % 3 == 0).then_some((1_800_000_000 + g) as f64);
        assert_eq!(group.last_failure, failure);
        assert_eq!(group.newest_family_time, Some(1_700_000_000.0));
    }
    // The document is never held: peak memory stays far below its size.
    // (Linux only; this process runs this one test.)
    if let Some(peak) = peak_rss_kib() {
        assert!(
            peak < 100 * 1024,
            "peak RSS {peak} KiB for a {total}-byte document"
        );
    }
}
