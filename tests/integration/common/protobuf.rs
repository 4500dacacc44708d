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
/// A native `Histogram` message with integer counts: `count` observations
/// (field 1) summing to `sum` (2), at `schema` (5), with a zero bucket of
/// width `zero.0` (6) holding `zero.1` (7), then the negative and the
/// positive buckets, each as their spans (fields 9, 12) and count deltas
/// (10, 13).
pub fn int_native_histogram(
    count: u64,
    sum: f64,
    schema: i64,
    zero: (f64, u64),
    negative: (&[(i64, u64)], &[i64]),
    positive: (&[(i64, u64)], &[i64]),
) -> Vec<u8> {
    let mut h = Vec::new();
    uint(1, count, &mut h);
    double(2, sum, &mut h);
    sint(5, schema, &mut h);
    double(6, zero.0, &mut h);
    uint(7, zero.1, &mut h);
    for ((spans, deltas), (span_field, delta_field)) in [(negative, (9, 10)), (positive, (12, 13))]
    {
        for &(offset, length) in spans {
            bytes(span_field, &span(offset, length), &mut h);
        }
        for &delta in deltas {
            sint(delta_field, delta, &mut h);
        }
    }
    h
}
/// A native `Histogram` message with float counts: `count` observations
/// (`sample_count_float`, field 4) summing to `sum` (2), at `schema` (5),
/// with a zero bucket of width `zero.0` (6) holding `zero.1` (8), then the
/// negative and the positive buckets, each as their spans (fields 9, 12)
/// and absolute counts (11, 14).
pub fn float_native_histogram(
    count: f64,
    sum: f64,
    schema: i64,
    zero: (f64, f64),
    negative: (&[(i64, u64)], &[f64]),
    positive: (&[(i64, u64)], &[f64]),
) -> Vec<u8> {
    let mut h = Vec::new();
    double(4, count, &mut h);
    double(2, sum, &mut h);
    sint(5, schema, &mut h);
    double(6, zero.0, &mut h);
    double(8, zero.1, &mut h);
    for ((spans, counts), (span_field, count_field)) in [(negative, (9, 11)), (positive, (12, 14))]
    {
        for &(offset, length) in spans {
            bytes(span_field, &span(offset, length), &mut h);
        }
        for &count in counts {
            double(count_field, count, &mut h);
        }
    }
    h
}
