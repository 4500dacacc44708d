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
/// A writer of one field: [`uint`], [`sint`], [`double`].
pub type Put<T> = fn(u32, T, &mut Vec<u8>);
/// The counts of a native `Histogram`: integers (`u64`, each bucket's an
/// `i64` delta from the bucket before) or floats (`f64`, all absolute).
pub trait NativeCount: Copy {
    type Bucket: Copy;
    /// The fields of the observations' count, the zero bucket's, and the
    /// negative and the positive buckets' counts.
    const FIELDS: [u32; 4];
    /// How a count and a bucket's count are written.
    const PUT: (Put<Self>, Put<Self::Bucket>);
}
impl NativeCount for u64 {
    type Bucket = i64;
    const FIELDS: [u32; 4] = [1, 7, 10, 13];
    const PUT: (Put<u64>, Put<i64>) = (uint, sint);
}
impl NativeCount for f64 {
    type Bucket = f64;
    const FIELDS: [u32; 4] = [4, 8, 11, 14];
    const PUT: (Put<f64>, Put<f64>) = (double, double);
}
/// A native `Histogram` message: `count` observations summing to `sum`
/// (field 2), at `schema` (5), `zero.1` of them in the zero bucket of
/// width `zero.0` (6), then the negative and the positive buckets, each
/// as their spans (fields 9, 12) and counts, integers or floats as
/// [`NativeCount`] says.
pub fn native_histogram<C: NativeCount>(
    count: C,
    sum: f64,
    schema: i64,
    zero: (f64, C),
    negative: (&[(i64, u64)], &[C::Bucket]),
    positive: (&[(i64, u64)], &[C::Bucket]),
) -> Vec<u8> {
    let [count_field, zero_field, negative_field, positive_field] = C::FIELDS;
    let (put, put_bucket) = C::PUT;
    let mut h = Vec::new();
    put(count_field, count, &mut h);
    double(2, sum, &mut h);
    sint(5, schema, &mut h);
    double(6, zero.0, &mut h);
    put(zero_field, zero.1, &mut h);
    let sides = [
        (negative, 9, negative_field),
        (positive, 12, positive_field),
    ];
    for ((spans, counts), span_field, bucket_field) in sides {
        for &(offset, length) in spans {
            bytes(span_field, &span(offset, length), &mut h);
        }
        for &c in counts {
            put_bucket(bucket_field, c, &mut h);
        }
    }
    h
}
