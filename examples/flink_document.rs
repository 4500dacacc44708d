//! Generates Flink-shaped Pushgateway data for `scripts/bench.sh`.
//!
//! ```text
//! flink_document json --groups 300 --series 200 [--seed 1] [--out FILE]
//! flink_document push --url http://127.0.0.1:PORT --groups 300 --series 200 [--seed 1] [--threads 4]
//! ```
//!
//! `json` writes a `GET /api/v1/metrics` body; `push` PUTs every group's
//! text exposition to a (loopback) Pushgateway, as Flink's reporter would.
//! An example, not a binary, so none of it ships in the release build.

#[path = "../benches/support/flink.rs"]
mod flink;

use std::io::BufWriter;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use flink::Shape;

fn main() {
    if let Err(e) = run() {
        eprintln!("flink_document: error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let command = args
        .next()
        .ok_or("usage: flink_document json|push [options]")?;
    let mut shape = Shape {
        groups: 300,
        series: 200,
        seed: 1,
    };
    let (mut out, mut url, mut threads) = (None, None, 4usize);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| v.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--groups" => shape.groups = number(value()?)? as usize,
            "--series" => shape.series = number(value()?)? as usize,
            "--seed" => shape.seed = number(value()?)?,
            "--out" => out = Some(value()?),
            "--url" => url = Some(value()?),
            "--threads" => threads = number(value()?)?.max(1) as usize,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    match command.as_str() {
        "json" => {
            let result = match out {
                Some(path) => {
                    let file = std::fs::File::create(&path).map_err(|e| format!("{path}: {e}"))?;
                    shape.write_document(BufWriter::with_capacity(1 << 20, file))
                }
                None => shape.write_document(BufWriter::new(std::io::stdout().lock())),
            };
            result.map_err(|e| e.to_string())
        }
        "push" => push(&shape, &url.ok_or("push needs --url")?, threads),
        _ => Err(format!("unknown command {command:?}")),
    }
}

/// PUTs every group, `threads` at a time; each request is bounded.
fn push(shape: &Shape, url: &str, threads: usize) -> Result<(), String> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| e.to_string())?;
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let failures: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut failed = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= shape.groups {
                            return failed;
                        }
                        let group = shape.group(i);
                        let target =
                            format!("{}/metrics/job/{}", url.trim_end_matches('/'), group.job);
                        match client.put(&target).body(group.exposition()).send() {
                            Ok(r) if r.status().is_success() => {}
                            Ok(r) => failed.push(format!(
                                "{}: HTTP {}: {}",
                                group.job,
                                r.status(),
                                r.text().unwrap_or_default()
                            )),
                            Err(e) => failed.push(format!("{}: {e}", group.job)),
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a push worker panicked"))
            .collect()
    });
    eprintln!(
        "pushed {} groups of {} series in {:.1}s ({} failed)",
        shape.groups,
        shape.series,
        started.elapsed().as_secs_f64(),
        failures.len()
    );
    match failures.first() {
        None => Ok(()),
        Some(first) => Err(format!("{} pushes failed, first: {first}", failures.len())),
    }
}
