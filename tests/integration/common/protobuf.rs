//! Protobuf wire format, the little the tests' pushes of native
//! histograms and restore's round trips need.

pub fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}
fn key(field: u32, wire: u8, out: &mut Vec<u8>) {
    varint(u64::from(field) << 3 | u64::from(wire), out);
}
pub fn uint(field: u32, v: u64, out: &mut Vec<u8>) {
    key(field, 0, out);
    varint(v, out);
}
pub fn sint(field: u32, v: i64, out: &mut Vec<u8>) {
    uint(field, ((v << 1) ^ (v >> 63)) as u64, out);
}
pub fn double(field: u32, v: f64, out: &mut Vec<u8>) {
    key(field, 1, out);
    out.extend_from_slice(&v.to_le_bytes());
}
pub fn bytes(field: u32, v: &[u8], out: &mut Vec<u8>) {
    key(field, 2, out);
    varint(v.len() as u64, out);
    out.extend_from_slice(v);
}
pub fn span(offset: i64, length: u64) -> Vec<u8> {
    let mut span = Vec::new();
    sint(1, offset, &mut span);
    uint(2, length, &mut span);
    span
}
pub fn label(name: &str, value: &str) -> Vec<u8> {
    let mut pair = Vec::new();
    bytes(1, name.as_bytes(), &mut pair);
    bytes(2, value.as_bytes(), &mut pair);
    pair
}
/// A length-delimited `MetricFamily` of `kind` whose one metric has
/// `labels` and the message `inner` in field `field`.
pub fn family(
    name: &str,
    help: &str,
    kind: u64,
    labels: &[(&str, &str)],
    field: u32,
    inner: &[u8],
) -> Vec<u8> {
    let mut metric = Vec::new();
    for (n, v) in labels {
        bytes(1, &label(n, v), &mut metric);
    }
    bytes(field, inner, &mut metric);
    let mut family = Vec::new();
    bytes(1, name.as_bytes(), &mut family);
    if !help.is_empty() {
        bytes(2, help.as_bytes(), &mut family);
    }
    uint(3, kind, &mut family);
    bytes(4, &metric, &mut family);
    let mut out = Vec::new();
    varint(family.len() as u64, &mut out);
    out.extend_from_slice(&family);
    out
}
/// A classic `Histogram` message with float counts (`sample_count_float`,
/// field 4; `sample_sum`, field 2) and `buckets` of (cumulative count,
/// upper bound).
pub fn classic_histogram(count: f64, sum: f64, buckets: &[(f64, f64)]) -> Vec<u8> {
    let mut classic = Vec::new();
    double(4, count, &mut classic);
    double(2, sum, &mut classic);
    for &(count, upper) in buckets {
        let mut bucket = Vec::new();
        double(4, count, &mut bucket);
        double(2, upper, &mut bucket);
        bytes(3, &bucket, &mut classic);
    }
    classic
}
