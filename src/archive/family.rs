//! An archived group's metric families, as `GET /api/v1/metrics` showed
//! them, back into the `MetricFamily` messages a push carries.
//!
//! The API shows every value exactly (Go's shortest float format reads back
//! to the same float64; counts are integers or floats as stored), so
//! counters, gauges, untyped series, summaries and classic histograms come
//! back as they were. A native histogram is shown as the buckets its spans
//! make, each `[boundaries, lower, upper, count]`; the schema and bucket
//! indices are read back from the bounds (`log2(bound) * 2^schema` is the
//! index). What the API leaves out of a native histogram (an empty zero
//! bucket's width, whether whole counts were floats, the schema when no
//! bucket but the zero bucket holds anything) is restored as documented
//! and named in a note. A gauge histogram is shown as a bare value of 0, so
//! it cannot be rebuilt at all.
//!
//! The protobuf push format is used for every type, not the text format:
//! the gateway's text parser truncates float counts of summaries and
//! histograms to integers and has no way to write a native histogram.

use serde_json::{Map, Value};

use super::protobuf::Message;
use crate::gateway::document::parse_go_float;

/// The group's fields that are no metric family of its producer: its
/// grouping key, the gateway's own bool, and the push times the gateway
/// sets itself (it refuses a push that carries them, or keeps them as they
/// were sent).
pub const NOT_FAMILIES: [&str; 2] = ["push_time_seconds", "push_failure_time_seconds"];

/// client_golang's default width of the zero bucket
/// (`DefNativeHistogramZeroThreshold`, 2^-128): what an empty zero bucket
/// whose width the API does not show is restored with.
pub const DEFAULT_ZERO_THRESHOLD: f64 = 2.938_735_877_055_719e-39;

/// What a restore pushes for one group.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// The `MetricFamily` messages, each behind its length.
    pub body: Vec<u8>,
    /// The metric families, in the order pushed.
    pub families: Vec<String>,
    /// What is not restored exactly, per family.
    pub notes: Vec<FamilyNote>,
}

/// Something about one family the restore could not take from the
/// archive, and what it did instead.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FamilyNote {
    pub family: String,
    pub note: String,
}

/// Encodes every metric family of `group` (the group's object from the
/// API), in its order. `Err`: why the group cannot be rebuilt, naming the
/// family; nothing is pushed then.
pub fn encode_group(group: &Map<String, Value>) -> Result<Encoded, String> {
    let mut encoded = Encoded {
        body: Vec::new(),
        families: Vec::new(),
        notes: Vec::new(),
    };
    for (name, family) in group {
        let meta = match name.as_str() {
            // A family pushed under one of these names replaces the field
            // in the API; then it is an object with `metrics`.
            "labels" | "last_push_successful" => !is_family(family),
            other => NOT_FAMILIES.contains(&other),
        };
        if meta {
            continue;
        }
        let shown = crate::group::quote_label_name(name);
        let (message, note) =
            encode_family(name, family).map_err(|why| format!("metric family {shown}: {why}"))?;
        message.write_delimited(&mut encoded.body);
        encoded.families.push(name.clone());
        if let Some(note) = note {
            encoded.notes.push(FamilyNote {
                family: name.clone(),
                note,
            });
        }
    }
    Ok(encoded)
}

fn is_family(value: &Value) -> bool {
    value.as_object().is_some_and(|o| o.contains_key("metrics"))
}

/// `MetricType` in client_model's `metrics.proto`.
fn type_number(name: &str) -> Option<u64> {
    Some(match name {
        "COUNTER" => 0,
        "GAUGE" => 1,
        "SUMMARY" => 2,
        "UNTYPED" => 3,
        "HISTOGRAM" => 4,
        "GAUGE_HISTOGRAM" => 5,
        _ => return None,
    })
}

fn encode_family(name: &str, family: &Value) -> Result<(Message, Option<String>), String> {
    let family = family.as_object().ok_or("not an object")?;
    let kind = family
        .get("type")
        .and_then(Value::as_str)
        .ok_or("it has no \"type\"")?;
    let number = type_number(kind).ok_or_else(|| format!("unknown type {kind:?}"))?;
    if kind == "GAUGE_HISTOGRAM" {
        return Err(
            "a gauge histogram, which the API shows as a value of 0 without its buckets, so it cannot be rebuilt"
                .into(),
        );
    }
    let metrics = family
        .get("metrics")
        .and_then(Value::as_array)
        .ok_or("it has no \"metrics\" array")?;
    let mut message = Message::new();
    message.string(1, name);
    if let Some(help) = family.get("help").and_then(Value::as_str) {
        message.string(2, help);
    }
    message.uint(3, number);
    let mut notes: Vec<String> = Vec::new();
    for (i, series) in metrics.iter().enumerate() {
        let series = series
            .as_object()
            .ok_or_else(|| format!("series {} is not an object", i + 1))?;
        let (metric, note) =
            encode_metric(kind, series).map_err(|why| format!("series {}: {why}", i + 1))?;
        message.message(4, &metric);
        if let Some(note) = note {
            if !notes.contains(&note) {
                notes.push(note);
            }
        }
    }
    Ok((message, (!notes.is_empty()).then(|| notes.join("; "))))
}

fn encode_metric(
    kind: &str,
    series: &Map<String, Value>,
) -> Result<(Message, Option<String>), String> {
    let mut metric = Message::new();
    if let Some(labels) = series.get("labels") {
        let labels = labels.as_object().ok_or("\"labels\" is not an object")?;
        for (name, value) in labels {
            let value = value
                .as_str()
                .ok_or_else(|| format!("label {name:?} is not a string"))?;
            let mut pair = Message::new();
            pair.string(1, name).string(2, value);
            metric.message(1, &pair);
        }
    }
    let mut note = None;
    match kind {
        "COUNTER" | "GAUGE" | "UNTYPED" => {
            let value = float(series.get("value"), "value")?;
            let mut inner = Message::new();
            inner.double(1, value);
            let field = match kind {
                "COUNTER" => 3,
                "GAUGE" => 2,
                _ => 5,
            };
            metric.message(field, &inner);
        }
        "SUMMARY" => {
            metric.message(4, &summary(series)?);
        }
        _ => {
            let (histogram, why) = match series.get("buckets") {
                Some(Value::Array(buckets)) => native_histogram(series, buckets)?,
                Some(Value::Object(buckets)) => (classic_histogram(series, buckets)?, None),
                None => (classic_histogram(series, &Map::new())?, None),
                Some(_) => return Err("\"buckets\" is neither an object nor an array".into()),
            };
            note = why;
            metric.message(7, &histogram);
        }
    }
    Ok((metric, note))
}

/// A sample value: Go's float format, or leniently a JSON number.
fn float(value: Option<&Value>, what: &str) -> Result<f64, String> {
    match value {
        Some(Value::String(s)) => {
            parse_go_float(s).ok_or_else(|| format!("{what} {s:?} is not a number"))
        }
        Some(Value::Number(n)) => n
            .as_f64()
            .ok_or_else(|| format!("{what} {n} is not a number")),
        Some(_) => Err(format!("{what} is not a number")),
        None => Err(format!("it has no {what}")),
    }
}

/// A count as the API writes it: an integer (`uint64` stored) or a float
/// (`…_float` stored, shown when not zero).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Count {
    Integer(u64),
    Float(f64),
}

impl Count {
    fn parse(value: Option<&Value>, what: &str) -> Result<Count, String> {
        if let Some(Value::String(s)) = value {
            if let Ok(n) = s.parse::<u64>() {
                return Ok(Count::Integer(n));
            }
        }
        if let Some(Value::Number(n)) = value {
            if let Some(n) = n.as_u64() {
                return Ok(Count::Integer(n));
            }
        }
        match float(value, what)? {
            f if f.is_nan() || f < 0.0 => Err(format!("{what} {f} is not a count")),
            f => Ok(Count::Float(f)),
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            Count::Integer(n) => n as f64,
            Count::Float(f) => f,
        }
    }

    fn is_float(self) -> bool {
        matches!(self, Count::Float(_))
    }
}

fn summary(series: &Map<String, Value>) -> Result<Message, String> {
    let count = match Count::parse(series.get("count"), "count")? {
        Count::Integer(n) => n,
        Count::Float(f) => return Err(format!("count {f} is not an integer")),
    };
    let sum = float(series.get("sum"), "sum")?;
    let mut quantiles: Vec<(f64, f64)> = Vec::new();
    if let Some(shown) = series.get("quantiles") {
        let shown = shown.as_object().ok_or("\"quantiles\" is not an object")?;
        for (q, v) in shown {
            let quantile =
                parse_go_float(q).ok_or_else(|| format!("quantile {q:?} is not a number"))?;
            quantiles.push((quantile, float(Some(v), "quantile value")?));
        }
    }
    // The API's object is sorted as text ("0.99" before "1e-05"); client
    // libraries write quantiles in ascending order.
    quantiles.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut summary = Message::new();
    summary.uint(1, count).double(2, sum);
    for (q, v) in quantiles {
        let mut quantile = Message::new();
        quantile.double(1, q).double(2, v);
        summary.message(3, &quantile);
    }
    Ok(summary)
}

fn classic_histogram(
    series: &Map<String, Value>,
    shown: &Map<String, Value>,
) -> Result<Message, String> {
    let count = Count::parse(series.get("count"), "count")?;
    let sum = float(series.get("sum"), "sum")?;
    let mut buckets: Vec<(f64, Count)> = Vec::with_capacity(shown.len());
    for (le, c) in shown {
        let upper =
            parse_go_float(le).ok_or_else(|| format!("bucket bound {le:?} is not a number"))?;
        buckets.push((upper, Count::parse(Some(c), "bucket count")?));
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    // One kind for the whole histogram: a float anywhere means the
    // producer counted in floats (whole float counts read as integers,
    // which the API, the text format and Prometheus show the same).
    let floats = count.is_float() || buckets.iter().any(|(_, c)| c.is_float());
    let mut histogram = Message::new();
    match (floats, count) {
        (false, Count::Integer(n)) => histogram.uint(1, n),
        _ => histogram.double(4, count.as_f64()),
    };
    histogram.double(2, sum);
    for (upper, c) in buckets {
        let mut bucket = Message::new();
        match (floats, c) {
            (false, Count::Integer(n)) => bucket.uint(1, n),
            _ => bucket.double(4, c.as_f64()),
        };
        bucket.double(2, upper);
        histogram.message(3, &bucket);
    }
    Ok(histogram)
}

/// One bucket of a native histogram as the API shows it.
struct ShownBucket {
    lower: f64,
    upper: f64,
    count: Count,
}

/// The schemas a native histogram may have with exponential buckets.
const SCHEMAS: std::ops::RangeInclusive<i32> = -4..=8;

/// `log2(bound) * 2^schema` when it is (within rounding) a whole number:
/// the index of the bucket `bound` ends. `None` for a bound no bucket of
/// this schema ends at.
fn index_at(bound: f64, schema: i32) -> Option<i64> {
    let at = bound.abs().log2() * 2f64.powi(schema);
    let rounded = at.round();
    ((at - rounded).abs() < 1e-6 && rounded.abs() < 1e9).then_some(rounded as i64)
}

/// The index of a positive bucket (lower, upper], or of a negative one
/// [lower, upper) by its magnitudes: the bound farther from zero is the
/// bucket's own, the nearer one its predecessor's. The bucket of ±Inf
/// follows the last finite one (whose bound is f64::MAX).
fn bucket_index(near: f64, far: f64, schema: i32) -> Option<i64> {
    if far.is_infinite() {
        return index_at(near, schema).map(|i| i + 1);
    }
    let i = index_at(far, schema)?;
    // f64::MAX is not a bound of the formula; it stands for the last one.
    if near.abs() == f64::MAX || index_at(near, schema) == Some(i - 1) {
        Some(i)
    } else {
        None
    }
}

fn native_histogram(
    series: &Map<String, Value>,
    shown: &[Value],
) -> Result<(Message, Option<String>), String> {
    let count = Count::parse(series.get("count"), "count")?;
    let sum = float(series.get("sum"), "sum")?;
    let mut zero: Option<(f64, Count)> = None;
    let mut positive: Vec<ShownBucket> = Vec::new();
    let mut negative: Vec<ShownBucket> = Vec::new();
    for (i, bucket) in shown.iter().enumerate() {
        let what = || format!("bucket {}", i + 1);
        let parts = bucket
            .as_array()
            .filter(|p| p.len() == 4)
            .ok_or_else(|| format!("{} is not [boundaries, lower, upper, count]", what()))?;
        let lower = float(parts.get(1), "lower bound").map_err(|e| format!("{}: {e}", what()))?;
        let upper = float(parts.get(2), "upper bound").map_err(|e| format!("{}: {e}", what()))?;
        let count = Count::parse(parts.get(3), "count").map_err(|e| format!("{}: {e}", what()))?;
        let shown = ShownBucket {
            lower,
            upper,
            count,
        };
        if lower == -upper && upper >= 0.0 {
            if zero.is_some() {
                return Err("two zero buckets".into());
            }
            zero = Some((upper, count));
        } else if lower > 0.0 && upper > lower {
            positive.push(shown);
        } else if upper < 0.0 && lower < upper {
            negative.push(shown);
        } else {
            return Err(format!("{} has the bounds {lower} and {upper}", what()));
        }
    }
    let fits = |schema: i32| {
        let both = positive
            .iter()
            .map(|b| (b.lower, b.upper))
            .chain(negative.iter().map(|b| (b.upper, b.lower)));
        // The bucket of ±Inf fits every schema.
        both.filter(|(_, far)| far.is_finite())
            .all(|(near, far)| bucket_index(near, far, schema).is_some())
    };
    let constrained = positive
        .iter()
        .chain(&negative)
        .any(|b| b.lower.is_finite() && b.upper.is_finite());
    let mut unknown: Vec<String> = Vec::new();
    let schema = if constrained {
        let mut fitting = SCHEMAS.filter(|s| fits(*s));
        match (fitting.next(), fitting.next()) {
            (Some(s), None) => s,
            (None, _) => return Err("its bucket bounds fit no schema from -4 to 8".into()),
            (Some(_), Some(_)) => return Err("its bucket bounds fit more than one schema".into()),
        }
    } else {
        if !positive.is_empty() || !negative.is_empty() {
            return Err(
                "only its overflow buckets hold observations, which do not show the schema".into(),
            );
        }
        unknown.push(
            "no bucket but the zero bucket holds observations, so the API does not show its schema: restored as schema 0"
                .to_owned(),
        );
        0
    };
    let indexed = |buckets: &[ShownBucket], positive: bool| -> Result<Vec<(i64, Count)>, String> {
        let mut out: Vec<(i64, Count)> = Vec::with_capacity(buckets.len());
        for b in buckets {
            let (near, far) = if positive {
                (b.lower, b.upper)
            } else {
                (b.upper, b.lower)
            };
            let i = bucket_index(near, far, schema).ok_or_else(|| {
                format!(
                    "the bucket ({}, {}) is not one of schema {schema}",
                    b.lower, b.upper
                )
            })?;
            out.push((i, b.count));
        }
        out.sort_by_key(|(i, _)| *i);
        if out.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err("two buckets with the same bounds".into());
        }
        Ok(out)
    };
    let positive = indexed(&positive, true)?;
    let negative = indexed(&negative, false)?;
    let floats = count.is_float()
        || zero.is_some_and(|(_, c)| c.is_float())
        || positive.iter().chain(&negative).any(|(_, c)| c.is_float());
    if !floats {
        unknown.push(
            "restored as an integer native histogram: its counts are whole numbers, which the API shows the same way for a float histogram"
                .to_owned(),
        );
    }
    let (zero_threshold, zero_count) = match zero {
        Some(z) => z,
        None => {
            unknown.push(format!(
                "its zero bucket is empty, and the API does not show an empty zero bucket's width: restored as {DEFAULT_ZERO_THRESHOLD:e} (client_golang's default)"
            ));
            (DEFAULT_ZERO_THRESHOLD, Count::Integer(0))
        }
    };

    let mut histogram = Message::new();
    match (floats, count) {
        (false, Count::Integer(n)) => histogram.uint(1, n),
        _ => histogram.double(4, count.as_f64()),
    };
    histogram
        .double(2, sum)
        .sint(5, schema.into())
        .double(6, zero_threshold);
    match (floats, zero_count) {
        (false, Count::Integer(n)) => histogram.uint(7, n),
        _ => histogram.double(8, zero_count.as_f64()),
    };
    // An empty span keeps a histogram without regular buckets native: the
    // API shows a histogram without spans as a classic one.
    let keep_native = positive.is_empty() && negative.is_empty();
    for (buckets, span_field, delta_field, count_field) in
        [(&negative, 9, 10, 11), (&positive, 12, 13, 14)]
    {
        let spans = spans(buckets);
        let spans = match (spans.is_empty(), keep_native && span_field == 12) {
            (true, true) => vec![(0, 0)],
            _ => spans,
        };
        for (offset, length) in spans {
            let mut span = Message::new();
            span.sint(1, offset).uint(2, u64::from(length));
            histogram.message(span_field, &span);
        }
        let mut previous: i64 = 0;
        for (_, c) in buckets.iter() {
            match (floats, c) {
                (false, Count::Integer(n)) => {
                    let n =
                        i64::try_from(*n).map_err(|_| format!("bucket count {n} is too large"))?;
                    histogram.sint(delta_field, n - previous);
                    previous = n;
                }
                _ => {
                    histogram.double(count_field, c.as_f64());
                }
            }
        }
    }
    let note = (!unknown.is_empty()).then(|| format!("native histogram: {}", unknown.join("; ")));
    Ok((histogram, note))
}

/// The spans of buckets sorted by index: the first span's offset is its
/// first index, each later one's the gap since the previous span.
fn spans(buckets: &[(i64, Count)]) -> Vec<(i64, u32)> {
    let mut spans: Vec<(i64, u32)> = Vec::new();
    let mut last: Option<i64> = None;
    for (i, _) in buckets {
        match last {
            Some(prev) if *i == prev + 1 => {
                if let Some(span) = spans.last_mut() {
                    span.1 += 1;
                }
            }
            Some(prev) => spans.push((i - prev - 1, 1)),
            None => spans.push((*i, 1)),
        }
        last = Some(*i);
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn group(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn the_gateway_fields_are_not_pushed() {
        let g = group(json!({
            "labels": {"job": "j"},
            "last_push_successful": true,
            "push_time_seconds": {"type": "GAUGE", "metrics": [{"value": "1.7e+09"}]},
            "push_failure_time_seconds": {"type": "GAUGE", "metrics": [{"value": "0"}]},
            "up": {"type": "GAUGE", "help": "h", "metrics": [{"labels": {"job": "j"}, "value": "1"}]},
        }));
        let e = encode_group(&g).unwrap();
        assert_eq!(e.families, vec!["up"]);
        assert!(e.notes.is_empty());
        // A family pushed under the name of the bool is a family.
        let g = group(json!({
            "labels": {"job": "j"},
            "last_push_successful": {"type": "GAUGE", "metrics": [{"value": "1"}]},
        }));
        assert_eq!(
            encode_group(&g).unwrap().families,
            vec!["last_push_successful"]
        );
    }

    #[test]
    fn a_gauge_histogram_or_an_unknown_type_fails_the_group_naming_the_family() {
        let g = group(json!({"gh": {"type": "GAUGE_HISTOGRAM", "metrics": [{"value": "0"}]}}));
        let e = encode_group(&g).unwrap_err();
        assert!(e.starts_with("metric family gh: a gauge histogram"), "{e}");
        let g = group(json!({"x.y": {"type": "NEW", "metrics": []}}));
        assert_eq!(
            encode_group(&g).unwrap_err(),
            "metric family \"x.y\": unknown type \"NEW\""
        );
    }

    #[test]
    fn schema_and_indices_come_back_from_the_bounds() {
        for schema in SCHEMAS {
            let base = 2f64.powf(2f64.powi(-schema));
            for i in [-20i64, -1, 0, 1, 7, 300] {
                let upper = base.powi(i as i32);
                let lower = base.powi(i as i32 - 1);
                if !(upper.is_finite() && lower > 0.0) {
                    continue;
                }
                let fitting: Vec<i32> = SCHEMAS
                    .filter(|s| bucket_index(lower, upper, *s).is_some())
                    .collect();
                assert_eq!(fitting, vec![schema], "bucket {i} of schema {schema}");
                assert_eq!(bucket_index(lower, upper, schema), Some(i));
            }
        }
        // The last finite bucket ends at f64::MAX; the one after holds +Inf.
        assert_eq!(bucket_index(2f64.powi(1023), f64::MAX, 0), Some(1024));
        assert_eq!(bucket_index(f64::MAX, f64::INFINITY, 0), Some(1025));
    }

    #[test]
    fn spans_and_deltas() {
        let c = |i| (i, Count::Integer(1));
        assert_eq!(
            spans(&[c(-2), c(-1), c(3), c(4), c(5), c(9)]),
            vec![(-2, 2), (3, 3), (3, 1)]
        );
        assert!(spans(&[]).is_empty());
    }

    #[test]
    fn a_native_histogram_notes_what_the_api_does_not_show() {
        let g = group(json!({"h": {"type": "HISTOGRAM", "metrics": [{
            "labels": {},
            "count": "5", "sum": "12.5",
            "buckets": [[0, "1", "2", "2"], [0, "2", "4", "2"]]
        }]}}));
        let e = encode_group(&g).unwrap();
        assert_eq!(e.notes.len(), 1);
        let note = &e.notes[0].note;
        assert!(
            note.starts_with("native histogram: restored as an integer native histogram"),
            "{note}"
        );
        assert!(note.contains("zero bucket is empty"), "{note}");
        // Fractional counts and a zero bucket: nothing unknown.
        let g = group(json!({"h": {"type": "HISTOGRAM", "metrics": [{
            "labels": {},
            "count": "5.5", "sum": "12.5",
            "buckets": [[0, "-4", "-2", "1.5"], [3, "-0.001", "0.001", "1"], [0, "1", "2", "3"]]
        }]}}));
        let e = encode_group(&g).unwrap();
        assert!(e.notes.is_empty(), "{:?}", e.notes);
        // Bounds of no schema.
        let g = group(json!({"h": {"type": "HISTOGRAM", "metrics": [{
            "labels": {}, "count": "1", "sum": "1", "buckets": [[0, "1", "3", "1"]]
        }]}}));
        let e = encode_group(&g).unwrap_err();
        assert!(e.contains("fit no schema"), "{e}");
    }
}
