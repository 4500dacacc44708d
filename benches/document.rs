//! The scan's parser on a generated Flink-shaped document, through the same
//! path the scan uses: `read_document` over a `BufReader` of the scan's
//! capacity. Throughput is in bytes of JSON.

mod support;

use std::io::BufReader;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pushgateway_janitor::gateway::document::{self, SCAN_BUFFER_BYTES};
use pushgateway_janitor::group::Entry;

use support::flink::Shape;

fn parse(c: &mut Criterion) {
    let quick = std::env::var_os("PGJ_BENCH_QUICK").is_some();
    let shape = if quick {
        Shape {
            groups: 20,
            series: 50,
            seed: 1,
        }
    } else {
        // About 11 MB: Flink groups of 200 series, as in the 78 MB document.
        Shape {
            groups: 120,
            series: 200,
            seed: 1,
        }
    };
    let doc = shape.document();
    let plain = document::ReadOptions::default();
    let read = |options: &document::ReadOptions| {
        document::read_document(
            BufReader::with_capacity(SCAN_BUFFER_BYTES, &doc[..]),
            options,
            document::Keep::Facts,
        )
        .entries
    };
    let entries = read(&plain).expect("the generated document parses");
    assert_eq!(entries.len(), shape.groups);
    assert!(entries.iter().all(|e| matches!(e, Entry::Group(_))));

    let mut group = c.benchmark_group("document");
    group.throughput(Throughput::BytesDecimal(doc.len() as u64));
    if quick {
        group.sample_size(10);
    }
    group.bench_function(
        format!("read_document/bufreader/{}MB", doc.len() >> 20),
        |b| b.iter(|| read(&plain).unwrap()),
    );
    // With --archive: the same, each group's JSON also kept in a temporary
    // file (the cost of --archive; without it, read_document above).
    group.bench_function(
        format!("read_document_keeping/bufreader/{}MB", doc.len() >> 20),
        |b| {
            b.iter(|| {
                let spool = document::Spool::new(tempfile::tempfile().unwrap());
                let reader = BufReader::with_capacity(SCAN_BUFFER_BYTES, &doc[..]);
                let read = document::read_document(reader, &plain, document::Keep::Json(spool));
                (read.entries.unwrap(), read.json)
            })
        },
    );
    group.bench_function(format!("read_document_slice/{}MB", doc.len() >> 20), |b| {
        b.iter(|| document::read_document_slice(&doc, &plain).unwrap())
    });
    // --ttl-metric on: one family of one series read per group (the
    // TaskManagers' CPU load; the JobManagers' groups do not have it).
    let reading = document::ReadOptions {
        ttl_metric: Some("flink_taskmanager_Status_JVM_CPU_Load".into()),
        ..Default::default()
    };
    let with_ttl = read(&reading).expect("the generated document parses");
    assert!(with_ttl
        .iter()
        .any(|e| matches!(e, Entry::Group(g) if matches!(g.ttl_metric, Some(Ok(_))))));
    group.bench_function(
        format!("read_document/bufreader/ttl_metric/{}MB", doc.len() >> 20),
        |b| b.iter(|| read(&reading).unwrap()),
    );
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
