//! One metric family of a group, read as far as a decision needs it: its
//! time stamp, the value asked for ([`Want`]) and how many series it has;
//! and the scalars of the document (Go's floats, RFC 3339 times, strings and
//! bools that may be something else).

use super::*;

pub(super) struct Family {
    pub(super) time_stamp: Option<f64>,
    /// The value asked for ([`Want`]).
    pub(super) value: Option<Result<f64, String>>,
    /// How many series (entries of `metrics`) it has; not counted for
    /// [`Want::First`] (the push times, which are not the pusher's).
    pub(super) series: u64,
}

/// Which value of a family to read.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Want {
    /// None: only its time stamp.
    Nothing,
    /// The first series' value (the push times have one series).
    First,
    /// The value of a gauge (or untyped) family of exactly one series: a
    /// TTL is one number, and which of several series would be a guess.
    Gauge,
}

/// One metric family. Anything that is not an object (say a family named
/// `last_push_successful` displaced the bool) is consumed and yields nothing.
pub(super) struct FamilySeed {
    pub(super) want: Want,
}

impl<'de> DeserializeSeed<'de> for FamilySeed {
    type Value = Family;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Family, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FamilySeed {
    type Value = Family;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a metric family")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Family, A::Error> {
        let mut family = Family::empty();
        let mut kind: Option<Option<String>> = None;
        let mut series = None;
        while let Some(field) = map.next_key::<FamilyField>()? {
            match field {
                FamilyField::TimeStamp => {
                    family.time_stamp = map
                        .next_value::<MaybeString>()?
                        .0
                        .and_then(|s| parse_rfc3339(&s));
                }
                FamilyField::Metrics if self.want == Want::First => {
                    family.value = map.next_value_seed(FirstValueSeed)?;
                }
                FamilyField::Metrics if self.want == Want::Gauge => {
                    let read = map.next_value_seed(OnlyValueSeed)?;
                    if let Ok((_, n)) = &read {
                        family.series = *n as u64;
                    }
                    series = Some(read);
                }
                FamilyField::Metrics if self.want == Want::Nothing => {
                    family.series = map.next_value_seed(CountSeed)?;
                }
                FamilyField::Type if self.want == Want::Gauge => {
                    kind = Some(map.next_value::<MaybeString>()?.0);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if self.want == Want::Gauge {
            family.value = Some(gauge_value(kind, series));
        }
        Ok(family)
    }

    accept_other!(Family => Family::empty(); seq, scalars, str);
}

impl Family {
    fn empty() -> Family {
        Family {
            time_stamp: None,
            value: None,
            series: 0,
        }
    }
}

/// `metrics` of a family whose values are not read: how many series it
/// has (0 when it is not an array).
pub(super) struct CountSeed;

impl<'de> DeserializeSeed<'de> for CountSeed {
    type Value = u64;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CountSeed {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of series")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
        let mut count = 0;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            count += 1;
        }
        Ok(count)
    }

    accept_other!(u64 => 0; map, scalars, str);
}

/// A sample value as read, or why it is not one.
pub(super) type Value = Result<f64, String>;

/// What [`OnlyValueSeed`] reads of a family's `metrics`: the first series'
/// value, if it has one, and how many series there are; or why `metrics`
/// is not a list of series.
pub(super) type Series = Result<(Option<Value>, usize), String>;

/// The one value of a gauge family, from its `type` (`None`: absent) and
/// what [`OnlyValueSeed`] read of its `metrics`.
pub(super) fn gauge_value(kind: Option<Option<String>>, series: Option<Series>) -> Value {
    match kind.as_ref().map(Option::as_deref) {
        // Untyped: pushed in the text format without a TYPE line.
        Some(Some("GAUGE" | "UNTYPED")) => {}
        Some(Some(other)) => {
            let shown: String = other.chars().take(40).collect();
            return Err(format!("is a {shown}, not a gauge"));
        }
        Some(None) | None => return Err("has no type".to_owned()),
    }
    match series {
        None => Err("has no \"metrics\"".to_owned()),
        Some(Err(why)) => Err(why),
        Some(Ok((_, 0))) => Err("has no series".to_owned()),
        Some(Ok((first, 1))) => first.unwrap_or_else(|| Err("has no value".to_owned())),
        Some(Ok((_, n))) => Err(format!("has {n} series, not one")),
    }
}

/// `metrics` of a gauge: the first series' value and how many series
/// there are.
pub(super) struct OnlyValueSeed;

impl<'de> DeserializeSeed<'de> for OnlyValueSeed {
    type Value = Series;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for OnlyValueSeed {
    type Value = Series;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of series")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let Some(first) = seq.next_element_seed(SeriesValueSeed)? else {
            return Ok(Ok((None, 0)));
        };
        let mut count = 1;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            count += 1;
        }
        Ok(Ok((first, count)))
    }

    accept_other!(Self::Value => Err("\"metrics\" is not an array".into()); map, scalars, str);
}

/// `metrics`: the value of the first series; the rest are skipped.
pub(super) struct FirstValueSeed;

impl<'de> DeserializeSeed<'de> for FirstValueSeed {
    type Value = Option<Result<f64, String>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FirstValueSeed {
    type Value = Option<Result<f64, String>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of series")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let first = seq.next_element_seed(SeriesValueSeed)?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(first.flatten())
    }

    accept_other!(Self::Value => Some(Err("\"metrics\" is not an array".into())); map, scalars, str);
}

pub(super) struct SeriesValueSeed;

impl<'de> DeserializeSeed<'de> for SeriesValueSeed {
    type Value = Option<Result<f64, String>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for SeriesValueSeed {
    type Value = Option<Result<f64, String>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a series")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut value = None;
        while let Some(field) = map.next_key::<MetricField>()? {
            match field {
                MetricField::Value => value = Some(map.next_value::<GoFloat>()?.0),
                MetricField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(value)
    }

    accept_other!(Self::Value => Some(Err("the series is not an object".into())); seq, scalars, str);
}

/// A sample value: a string in Go's float format (`"1.7954789410192926e+09"`,
/// `"0"`, `"NaN"`, `"+Inf"`), or, leniently, a JSON number.
pub(super) struct GoFloat(Result<f64, String>);

impl<'de> de::Deserialize<'de> for GoFloat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = GoFloat;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a sample value")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<GoFloat, E> {
                Ok(GoFloat(parse_go_float(s).ok_or_else(|| {
                    let shown: String = s.chars().take(40).collect();
                    format!("value {shown:?} is not a number")
                })))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<GoFloat, E> {
                Ok(GoFloat(Ok(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<GoFloat, E> {
                Ok(GoFloat(Ok(v as f64)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<GoFloat, E> {
                Ok(GoFloat(Ok(v as f64)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<GoFloat, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(GoFloat(Err("value is an object, not a number".into())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<GoFloat, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(GoFloat(Err("value is an array, not a number".into())))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<GoFloat, E> {
                Ok(GoFloat(Err("value is a bool, not a number".into())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<GoFloat, E> {
                Ok(GoFloat(Err("value is null".into())))
            }
        }
        d.deserialize_any(V)
    }
}

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)` output, plus its spellings of
/// the special values. Rust's parser already takes exponents like `e+09`.
pub fn parse_go_float(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ if s
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
            && !s.is_empty() =>
        {
            s.parse().ok()
        }
        _ => None,
    }
}

/// An RFC 3339 time (Go's `time.Time` in JSON) as Unix seconds; Go's zero
/// time and anything unparseable count as unknown.
pub(super) fn parse_rfc3339(s: &str) -> Option<f64> {
    let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    let secs = t.unix_timestamp_nanos() as f64 / 1e9;
    (secs > 0.0).then_some(secs)
}

/// A string, or `None` for any other JSON value (which is consumed).
pub(super) struct MaybeString(pub(super) Option<String>);

impl<'de> de::Deserialize<'de> for MaybeString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeString;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<MaybeString, E> {
                Ok(MaybeString(Some(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<MaybeString, E> {
                Ok(MaybeString(Some(s)))
            }
            accept_other!(MaybeString => MaybeString(None); map, seq, scalars);
        }
        d.deserialize_any(V)
    }
}

/// A bool, or `None` for any other JSON value (which is consumed).
pub(super) struct MaybeBool(pub(super) Option<bool>);

impl<'de> de::Deserialize<'de> for MaybeBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeBool;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a bool")
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<MaybeBool, E> {
                Ok(MaybeBool(Some(b)))
            }
            accept_other!(MaybeBool => MaybeBool(None); map, seq, str, numbers, unit);
        }
        d.deserialize_any(V)
    }
}
