//! Deterministic Flink-shaped Pushgateway data, for benchmarks, tests and
//! `scripts/bench.sh` (through `examples/flink_document.rs`).
//!
//! It lives outside `src/` on purpose: it is test data, and nothing of it
//! should ship in the release binary. Benches include it as a module,
//! the example and tests with `#[path = "../benches/support/flink.rs"]`.
//!
//! The shape follows Flink's `PrometheusPushGatewayReporter` with
//! `randomJobNameSuffix`: every JobManager and TaskManager process pushes
//! its own group, keyed by `job` = configured name + 32 hex digits, with
//! JVM families of one series each and task/operator families with one
//! series per (operator, subtask). Values are Go float strings
//! (`"1.7954812662985716e+09"`), families carry Go RFC 3339 time stamps,
//! and every group has `push_time_seconds` / `push_failure_time_seconds`,
//! as the Pushgateway 1.5 API renders them.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::io::{self, Write};

/// What to generate. Same shape, same bytes.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub groups: usize,
    /// Series per group, the two push-time families not counted.
    pub series: usize,
    pub seed: u64,
}

/// 2026-11-01T00:00:00Z: a fixed base, so the bytes do not depend on the clock.
pub const BASE_UNIX: i64 = 1_793_491_200;

/// splitmix64: tiny, fast and stable across platforms and versions.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    pub fn hex32(&mut self) -> String {
        format!("{:016x}{:016x}", self.next_u64(), self.next_u64())
    }
    /// A uniform float in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const JOB_NAMES: &[&str] = &[
    "orders-enrichment",
    "clickstream-sessionizer",
    "payments-fraud-scoring",
    "inventory-sync",
    "flink",
];

const JM_FAMILIES: &[(&str, &str)] = &[
    (
        "flink_jobmanager_Status_JVM_CPU_Load",
        "Load (scope: jobmanager_Status_JVM_CPU)",
    ),
    (
        "flink_jobmanager_Status_JVM_CPU_Time",
        "Time (scope: jobmanager_Status_JVM_CPU)",
    ),
    (
        "flink_jobmanager_Status_JVM_Memory_Heap_Used",
        "Used (scope: jobmanager_Status_JVM_Memory_Heap)",
    ),
    (
        "flink_jobmanager_Status_JVM_Memory_Heap_Committed",
        "Committed (scope: jobmanager_Status_JVM_Memory_Heap)",
    ),
    (
        "flink_jobmanager_Status_JVM_Memory_Heap_Max",
        "Max (scope: jobmanager_Status_JVM_Memory_Heap)",
    ),
    (
        "flink_jobmanager_Status_JVM_Memory_NonHeap_Used",
        "Used (scope: jobmanager_Status_JVM_Memory_NonHeap)",
    ),
    (
        "flink_jobmanager_Status_JVM_Memory_Metaspace_Used",
        "Used (scope: jobmanager_Status_JVM_Memory_Metaspace)",
    ),
    (
        "flink_jobmanager_Status_JVM_Threads_Count",
        "Count (scope: jobmanager_Status_JVM_Threads)",
    ),
    (
        "flink_jobmanager_Status_JVM_ClassLoader_ClassesLoaded",
        "ClassesLoaded (scope: jobmanager_Status_JVM_ClassLoader)",
    ),
    (
        "flink_jobmanager_Status_JVM_GarbageCollector_G1_Young_Generation_Count",
        "Count (scope: jobmanager_Status_JVM_GarbageCollector_G1_Young_Generation)",
    ),
    (
        "flink_jobmanager_Status_JVM_GarbageCollector_G1_Young_Generation_Time",
        "Time (scope: jobmanager_Status_JVM_GarbageCollector_G1_Young_Generation)",
    ),
    (
        "flink_jobmanager_numRunningJobs",
        "numRunningJobs (scope: jobmanager)",
    ),
    (
        "flink_jobmanager_numRegisteredTaskManagers",
        "numRegisteredTaskManagers (scope: jobmanager)",
    ),
    (
        "flink_jobmanager_taskSlotsAvailable",
        "taskSlotsAvailable (scope: jobmanager)",
    ),
    (
        "flink_jobmanager_taskSlotsTotal",
        "taskSlotsTotal (scope: jobmanager)",
    ),
];

const JM_JOB_FAMILIES: &[(&str, &str)] = &[
    (
        "flink_jobmanager_job_uptime",
        "uptime (scope: jobmanager_job)",
    ),
    (
        "flink_jobmanager_job_numRestarts",
        "numRestarts (scope: jobmanager_job)",
    ),
    (
        "flink_jobmanager_job_lastCheckpointDuration",
        "lastCheckpointDuration (scope: jobmanager_job)",
    ),
    (
        "flink_jobmanager_job_lastCheckpointSize",
        "lastCheckpointSize (scope: jobmanager_job)",
    ),
    (
        "flink_jobmanager_job_numberOfCompletedCheckpoints",
        "numberOfCompletedCheckpoints (scope: jobmanager_job)",
    ),
    (
        "flink_jobmanager_job_numberOfFailedCheckpoints",
        "numberOfFailedCheckpoints (scope: jobmanager_job)",
    ),
];

const TM_FAMILIES: &[(&str, &str)] = &[
    (
        "flink_taskmanager_Status_JVM_CPU_Load",
        "Load (scope: taskmanager_Status_JVM_CPU)",
    ),
    (
        "flink_taskmanager_Status_JVM_CPU_Time",
        "Time (scope: taskmanager_Status_JVM_CPU)",
    ),
    (
        "flink_taskmanager_Status_JVM_Memory_Heap_Used",
        "Used (scope: taskmanager_Status_JVM_Memory_Heap)",
    ),
    (
        "flink_taskmanager_Status_JVM_Memory_Heap_Committed",
        "Committed (scope: taskmanager_Status_JVM_Memory_Heap)",
    ),
    (
        "flink_taskmanager_Status_JVM_Memory_Heap_Max",
        "Max (scope: taskmanager_Status_JVM_Memory_Heap)",
    ),
    (
        "flink_taskmanager_Status_JVM_Memory_Direct_MemoryUsed",
        "MemoryUsed (scope: taskmanager_Status_JVM_Memory_Direct)",
    ),
    (
        "flink_taskmanager_Status_JVM_Memory_Mapped_Count",
        "Count (scope: taskmanager_Status_JVM_Memory_Mapped)",
    ),
    (
        "flink_taskmanager_Status_JVM_Threads_Count",
        "Count (scope: taskmanager_Status_JVM_Threads)",
    ),
    (
        "flink_taskmanager_Status_JVM_GarbageCollector_G1_Old_Generation_Count",
        "Count (scope: taskmanager_Status_JVM_GarbageCollector_G1_Old_Generation)",
    ),
    (
        "flink_taskmanager_Status_JVM_GarbageCollector_G1_Old_Generation_Time",
        "Time (scope: taskmanager_Status_JVM_GarbageCollector_G1_Old_Generation)",
    ),
    (
        "flink_taskmanager_Status_Network_AvailableMemorySegments",
        "AvailableMemorySegments (scope: taskmanager_Status_Network)",
    ),
    (
        "flink_taskmanager_Status_Network_TotalMemorySegments",
        "TotalMemorySegments (scope: taskmanager_Status_Network)",
    ),
    (
        "flink_taskmanager_Status_Flink_Memory_Managed_Used",
        "Used (scope: taskmanager_Status_Flink_Memory_Managed)",
    ),
    (
        "flink_taskmanager_Status_Flink_Memory_Managed_Total",
        "Total (scope: taskmanager_Status_Flink_Memory_Managed)",
    ),
];

const TM_OPERATOR_FAMILIES: &[(&str, &str)] = &[
    (
        "flink_taskmanager_job_task_operator_numRecordsIn",
        "numRecordsIn (scope: taskmanager_job_task_operator)",
    ),
    (
        "flink_taskmanager_job_task_operator_numRecordsOut",
        "numRecordsOut (scope: taskmanager_job_task_operator)",
    ),
    (
        "flink_taskmanager_job_task_operator_numRecordsInPerSecond",
        "numRecordsInPerSecond (scope: taskmanager_job_task_operator)",
    ),
    (
        "flink_taskmanager_job_task_operator_numRecordsOutPerSecond",
        "numRecordsOutPerSecond (scope: taskmanager_job_task_operator)",
    ),
    (
        "flink_taskmanager_job_task_operator_currentInputWatermark",
        "currentInputWatermark (scope: taskmanager_job_task_operator)",
    ),
    (
        "flink_taskmanager_job_task_operator_currentOutputWatermark",
        "currentOutputWatermark (scope: taskmanager_job_task_operator)",
    ),
    (
        "flink_taskmanager_job_task_operator_numLateRecordsDropped",
        "numLateRecordsDropped (scope: taskmanager_job_task_operator)",
    ),
    (
        "flink_taskmanager_job_task_operator_KafkaConsumer_records_lag_max",
        "records_lag_max (scope: taskmanager_job_task_operator_KafkaConsumer)",
    ),
    (
        "flink_taskmanager_job_task_numBytesIn",
        "numBytesIn (scope: taskmanager_job_task)",
    ),
    (
        "flink_taskmanager_job_task_numBytesOut",
        "numBytesOut (scope: taskmanager_job_task)",
    ),
    (
        "flink_taskmanager_job_task_isBackPressured",
        "isBackPressured (scope: taskmanager_job_task)",
    ),
    (
        "flink_taskmanager_job_task_busyTimeMsPerSecond",
        "busyTimeMsPerSecond (scope: taskmanager_job_task)",
    ),
    (
        "flink_taskmanager_job_task_idleTimeMsPerSecond",
        "idleTimeMsPerSecond (scope: taskmanager_job_task)",
    ),
    (
        "flink_taskmanager_job_task_buffers_inPoolUsage",
        "inPoolUsage (scope: taskmanager_job_task_buffers)",
    ),
    (
        "flink_taskmanager_job_task_buffers_outPoolUsage",
        "outPoolUsage (scope: taskmanager_job_task_buffers)",
    ),
    (
        "flink_taskmanager_job_task_Shuffle_Netty_Input_numBytesInRemotePerSecond",
        "numBytesInRemotePerSecond (scope: taskmanager_job_task_Shuffle_Netty_Input)",
    ),
];

const OPERATOR_NAMES: &[&str] = &[
    "Source:_kafka_orders",
    "Map",
    "Filter",
    "KeyedProcess",
    "Window(TumblingEventTimeWindows(60000))",
    "Sink:_kafka_enriched",
];

/// One series: label pairs (sorted by name, `instance` and `job` included
/// as the API shows them) and a Go-formatted value.
pub struct Series {
    pub labels: Vec<(&'static str, String)>,
    pub value: String,
}

pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: &'static str,
    pub series: Vec<Series>,
}

/// One group: its `job` and everything pushed to it.
pub struct FlinkGroup {
    pub job: String,
    /// Nanoseconds since the Unix epoch of the (last) push.
    pub push_nanos: i128,
    /// Sorted by name, as the API renders a group's keys.
    pub families: Vec<Family>,
}

impl Shape {
    /// Group `index`, generated on its own so that a writer never holds
    /// more than one group.
    pub fn group(&self, index: usize) -> FlinkGroup {
        let mut rng = Rng::new(self.seed ^ (index as u64).wrapping_mul(0xA24B_AED4_963E_E407));
        let name = JOB_NAMES[index % JOB_NAMES.len()];
        let job = format!("{name}{}", rng.hex32());
        // Pushed within the 30 days before BASE_UNIX, at nanosecond resolution.
        let push_nanos = (BASE_UNIX as i128 - rng.below(30 * 86_400) as i128) * 1_000_000_000
            + rng.below(1_000_000_000) as i128;
        let jobmanager = index % 8 == 0;
        let host = format!("10_0_{}_{}", rng.below(16), rng.below(250) + 2);
        let tm_id = format!(
            "flink-taskmanager-{:x}-{}",
            rng.next_u64() >> 28,
            rng.hex32().get(..5).unwrap_or_default()
        );
        let job_id = rng.hex32();
        let job_name = name.replace('-', "_");

        let mut families = Vec::new();
        let mut left = self.series;
        let scalar = if jobmanager { JM_FAMILIES } else { TM_FAMILIES };
        for &(fname, help) in scalar {
            if left == 0 {
                break;
            }
            let mut labels = vec![("host", host.clone())];
            if !jobmanager {
                labels.push(("tm_id", tm_id.clone()));
            }
            families.push(family(fname, help, vec![series(labels, &mut rng, fname)]));
            left -= 1;
        }
        let spread = if jobmanager {
            JM_JOB_FAMILIES
        } else {
            TM_OPERATOR_FAMILIES
        };
        let per_family = left.div_ceil(spread.len());
        let task_ids: Vec<String> = (0..OPERATOR_NAMES.len()).map(|_| rng.hex32()).collect();
        let operator_ids: Vec<String> = (0..OPERATOR_NAMES.len()).map(|_| rng.hex32()).collect();
        for &(fname, help) in spread {
            if left == 0 {
                break;
            }
            let n = per_family.min(left);
            left -= n;
            let mut list = Vec::with_capacity(n);
            for i in 0..n {
                let labels = if jobmanager {
                    // One series per job this JobManager runs.
                    vec![
                        ("host", host.clone()),
                        ("job_id", format!("{job_id:.24}{i:08x}")),
                        ("job_name", format!("{job_name}_{i}")),
                    ]
                } else {
                    let op = i % OPERATOR_NAMES.len();
                    let subtask = i / OPERATOR_NAMES.len();
                    vec![
                        ("host", host.clone()),
                        ("job_id", job_id.clone()),
                        ("job_name", job_name.clone()),
                        ("operator_id", operator_ids[op].clone()),
                        ("operator_name", OPERATOR_NAMES[op].to_owned()),
                        ("subtask_index", subtask.to_string()),
                        ("task_attempt_num", "0".to_owned()),
                        ("task_id", task_ids[op].clone()),
                        ("task_name", OPERATOR_NAMES[..=op].join("_->_")),
                        ("tm_id", tm_id.clone()),
                    ]
                };
                list.push(series(labels, &mut rng, fname));
            }
            families.push(family(fname, help, list));
        }
        families.sort_by(|a, b| a.name.cmp(b.name));
        FlinkGroup {
            job,
            push_nanos,
            families,
        }
    }

    /// The whole `GET /api/v1/metrics` body, one group at a time.
    pub fn write_document<W: Write>(&self, mut w: W) -> io::Result<()> {
        w.write_all(b"{\"status\":\"success\",\"data\":[")?;
        let mut buf = String::new();
        for i in 0..self.groups {
            if i > 0 {
                w.write_all(b",")?;
            }
            buf.clear();
            self.group(i).write_api_json(&mut buf);
            w.write_all(buf.as_bytes())?;
        }
        w.write_all(b"]}")?;
        w.flush()
    }

    /// The whole document in memory.
    pub fn document(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_document(&mut out).expect("writing to a Vec");
        out
    }
}

fn family(name: &'static str, help: &'static str, series: Vec<Series>) -> Family {
    let kind = if name.contains("num") && !name.ends_with("PerSecond") || name.ends_with("Count") {
        "COUNTER"
    } else {
        "GAUGE"
    };
    Family {
        name,
        help,
        kind,
        series,
    }
}

fn series(mut labels: Vec<(&'static str, String)>, rng: &mut Rng, name: &str) -> Series {
    let value = if name.ends_with("Watermark") {
        // Epoch milliseconds, as Flink reports watermarks.
        go_float((BASE_UNIX * 1000) as f64 - rng.below(86_400_000) as f64)
    } else if name.ends_with("Load") || name.ends_with("Usage") {
        go_float(rng.unit())
    } else if rng.below(50) == 0 {
        "NaN".to_owned()
    } else if name.contains("PerSecond") {
        go_float(rng.unit() * 10_000.0)
    } else {
        let bits = 4 + rng.below(36);
        go_float(rng.below(1 << bits) as f64)
    };
    labels.push(("instance", String::new()));
    labels.sort_by(|a, b| a.0.cmp(b.0));
    Series { labels, value }
}

impl FlinkGroup {
    /// The push time as Go's `time.Time` JSON (RFC 3339, nanoseconds,
    /// trailing zeros dropped).
    pub fn time_stamp(&self) -> String {
        rfc3339_nano(self.push_nanos)
    }

    /// The push time as the `push_time_seconds` sample shows it.
    pub fn push_time_value(&self) -> String {
        go_float(self.push_nanos as f64 / 1e9)
    }

    /// The group as one element of the API's `data` array.
    pub fn write_api_json(&self, out: &mut String) {
        let ts = self.time_stamp();
        let job = self.job.as_str();
        let meta = |name: &'static str, help: &'static str, value: String| Family {
            name,
            help,
            kind: "GAUGE",
            series: vec![Series {
                labels: vec![("instance", String::new()), ("job", job.to_owned())],
                value,
            }],
        };
        let failure = meta(
            "push_failure_time_seconds",
            "Last Unix time when changing this group in the Pushgateway failed.",
            "0".to_owned(),
        );
        let push = meta(
            "push_time_seconds",
            "Last Unix time when changing this group in the Pushgateway succeeded.",
            self.push_time_value(),
        );
        // Keys in Go's map order (sorted): families, then labels and the rest.
        let mut keys: Vec<(&str, Option<&Family>)> =
            self.families.iter().map(|f| (f.name, Some(f))).collect();
        keys.push(("labels", None));
        keys.push(("last_push_successful", None));
        keys.push(("push_failure_time_seconds", Some(&failure)));
        keys.push(("push_time_seconds", Some(&push)));
        keys.sort_by(|a, b| a.0.cmp(b.0));

        out.push('{');
        for (i, (key, fam)) in keys.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "\"{key}\":");
            match (key, fam) {
                (&"labels", None) => {
                    let _ = write!(out, "{{\"job\":\"{job}\"}}");
                }
                (&"last_push_successful", None) => out.push_str("true"),
                (_, Some(f)) => write_family(out, f, &ts, job),
                _ => unreachable!(),
            }
        }
        out.push('}');
    }

    /// The text exposition body a Flink reporter would `PUT` to
    /// `/metrics/job/{job}` (the gateway adds `job` and `instance`).
    pub fn exposition(&self) -> String {
        let mut out = String::new();
        for f in &self.families {
            let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
            let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind.to_ascii_lowercase());
            for s in &f.series {
                out.push_str(f.name);
                let labels: Vec<String> = s
                    .labels
                    .iter()
                    .filter(|(n, _)| *n != "instance")
                    .map(|(n, v)| format!("{n}=\"{v}\""))
                    .collect();
                if !labels.is_empty() {
                    let _ = write!(out, "{{{}}}", labels.join(","));
                }
                let _ = writeln!(out, " {}", s.value);
            }
        }
        out
    }
}

fn write_family(out: &mut String, f: &Family, ts: &str, job: &str) {
    let _ = write!(
        out,
        "{{\"time_stamp\":\"{ts}\",\"type\":\"{}\",\"help\":\"{}\",\"metrics\":[",
        f.kind, f.help
    );
    for (i, s) in f.series.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"labels\":{");
        let mut first = true;
        let mut job_written = false;
        for (n, v) in &s.labels {
            // `job` sorts between the labels; the API includes it.
            if !job_written && *n > "job" {
                if !first {
                    out.push(',');
                }
                let _ = write!(out, "\"job\":\"{job}\"");
                job_written = true;
                first = false;
            }
            if *n == "job" {
                job_written = true;
            }
            if !first {
                out.push(',');
            }
            let _ = write!(out, "\"{n}\":\"{v}\"");
            first = false;
        }
        if !job_written {
            if !first {
                out.push(',');
            }
            let _ = write!(out, "\"job\":\"{job}\"");
        }
        let _ = write!(out, "}},\"value\":\"{}\"}}", s.value);
    }
    out.push_str("]}");
}

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)`: shortest digits, exponent
/// form when the exponent is < -4 or >= 6, at least two exponent digits.
pub fn go_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if v == 0.0 {
        return "0".to_owned();
    }
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    if (-4..6).contains(&exp) {
        format!("{v}")
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// Go's `time.RFC3339Nano` in UTC.
pub fn rfc3339_nano(unix_nanos: i128) -> String {
    let secs = unix_nanos.div_euclid(1_000_000_000) as i64;
    let nanos = unix_nanos.rem_euclid(1_000_000_000) as u32;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Howard Hinnant's days-to-civil.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
