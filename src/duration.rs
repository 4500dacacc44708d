//! Durations as people write and read them. Read: every flag and a
//! pusher's `--ttl-label` value, in humantime's syntax without months and
//! years, and `never` for a threshold; shared by `cli` (flags) and `plan` (a
//! TTL a group declares in its grouping key), so both read a duration the
//! same way. Written: thresholds and ages as the report, the reasons and the
//! error lines show them. A leaf: it knows no policy and no output.

use std::fmt;
use std::time::Duration;

/// How long a group may stay silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold {
    After(Duration),
    /// Never stale.
    Never,
}

impl Threshold {
    pub fn seconds(self) -> Option<f64> {
        match self {
            Threshold::After(d) => Some(d.as_secs_f64()),
            Threshold::Never => None,
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Threshold::After(d) => f.write_str(&human_threshold(*d)),
            Threshold::Never => f.write_str("never"),
        }
    }
}

/// The finest step a duration is read in: thresholds, timeouts and ages
/// are written to the millisecond at the finest (`1500ms`), so a finer
/// duration would be shown as one it is not (`0.001ms` as `0s`).
pub const RESOLUTION: Duration = Duration::from_millis(1);

/// Why a text is not a duration, in the words the error line shows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum NotADuration {
    Negative,
    /// A unit humantime reads but a duration here refuses, with the hint.
    RefusedUnit(String),
    /// `1e3s`: humantime reads no exponent.
    Exponent,
    /// Longer than a [`Duration`] holds (2^64 seconds).
    TooLong,
    /// Finer than [`RESOLUTION`].
    TooFine,
    Unreadable,
}

impl fmt::Display for NotADuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotADuration::Negative => f.write_str("a duration cannot be negative"),
            NotADuration::RefusedUnit(why) => f.write_str(why),
            NotADuration::Exponent => {
                f.write_str("a number with an exponent is not read: write it out (1000s, not 1e3s)")
            }
            NotADuration::TooLong => f.write_str(
                "too long: a duration is at most 2^64 seconds (about 584 billion years)",
            ),
            NotADuration::TooFine => write!(
                f,
                "finer than {}, the resolution of a duration: give whole milliseconds",
                human_threshold(RESOLUTION)
            ),
            NotADuration::Unreadable => f.write_str(
                "expected a number and a unit (ms, s, m, h, d, w), like 90s, 10m, 26h or 1h30m",
            ),
        }
    }
}

/// A duration greater than zero, or `never`. Zero would make every group
/// stale at once: with no cap, a wipe of the gateway.
pub fn parse_threshold(text: &str) -> Result<Threshold, String> {
    match text.trim() {
        "never" => Ok(Threshold::Never),
        other => match read_duration(other) {
            Ok(d) if d.is_zero() => Err(
                "must be greater than zero (0 would delete every group; 'never' keeps them forever)"
                    .into(),
            ),
            Ok(d) => Ok(Threshold::After(d)),
            Err(NotADuration::TooLong) => Err(format!(
                "{}; 'never' keeps a group forever",
                NotADuration::TooLong
            )),
            Err(why) => Err(why.to_string()),
        },
    }
}

/// A TTL a pusher declares in a label: [`parse_threshold`], except that a
/// duration longer than the janitor can count (a `Duration`, some 584
/// billion years: `99999999999999w`) is `never`, as a gauge's value past
/// that is: one rule for a TTL however it is declared (docs/lifecycle.md).
pub fn parse_declared_ttl(text: &str) -> Result<Threshold, String> {
    match read_duration(text) {
        Err(NotADuration::TooLong) => Ok(Threshold::Never),
        _ => parse_threshold(text),
    }
}

/// humantime durations: `90s`, `10m`, `26h`, `1d`, `1h 30m`. The error
/// names the units that make sense for a threshold, not all that humantime
/// knows: months and years are refused (see [`refused_unit`]); and says
/// when the number is the problem (out of range, finer than
/// [`RESOLUTION`]).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    read_duration(text).map_err(|why| why.to_string())
}

fn read_duration(text: &str) -> Result<Duration, NotADuration> {
    let text = text.trim();
    if text.starts_with('-') {
        return Err(NotADuration::Negative);
    }
    if let Some(why) = refused_unit(text) {
        return Err(NotADuration::RefusedUnit(why));
    }
    let approx = approximate_seconds(text);
    if has_exponent(text) {
        return Err(match approx {
            Some(secs) if secs >= MAX_SECONDS => NotADuration::TooLong,
            _ => NotADuration::Exponent,
        });
    }
    let duration = humantime::parse_duration(text).map_err(|e| match e {
        // humantime's one error for both: a number too large, or a
        // fraction finer than a nanosecond (or than its unit can carry).
        humantime::DurationError::NumberOverflow => match approx {
            Some(secs) if secs < MAX_SECONDS => NotADuration::TooFine,
            _ => NotADuration::TooLong,
        },
        _ => NotADuration::Unreadable,
    })?;
    if duration.as_nanos() % RESOLUTION.as_nanos() != 0 {
        return Err(NotADuration::TooFine);
    }
    Ok(duration)
}

/// 2^64: the seconds a [`Duration`] cannot reach.
const MAX_SECONDS: f64 = 18_446_744_073_709_551_616.0;

/// Whether a number in `text` has an exponent (`1e3s`, `2.5E-1m`): a digit,
/// then `e` or `E`, then a digit or a sign. No unit starts with `e`.
fn has_exponent(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    chars.windows(3).any(|w| {
        w[0].is_ascii_digit()
            && matches!(w[1], 'e' | 'E')
            && (w[2].is_ascii_digit() || matches!(w[2], '+' | '-'))
    })
}

/// `text` in seconds, roughly (as f64), when it reads as numbers, each
/// with an optional fraction and exponent, and units humantime knows:
/// enough to tell a number too large from one too fine.
fn approximate_seconds(text: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut rest = text.trim();
    while !rest.is_empty() {
        let number_end = rest
            .char_indices()
            .find(|&(i, c)| {
                !(c.is_ascii_digit()
                    || c == '.'
                    || (matches!(c, 'e' | 'E')
                        && rest[i + 1..]
                            .starts_with(|n: char| n.is_ascii_digit() || n == '+' || n == '-'))
                    || (matches!(c, '+' | '-') && i > 0 && rest[..i].ends_with(['e', 'E'])))
            })
            .map_or(rest.len(), |(i, _)| i);
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = rest[number_end..].trim_start();
        let unit_end = rest
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(rest.len());
        let size = match &rest[..unit_end] {
            "nanos" | "nsec" | "ns" => 1e-9,
            "usec" | "us" | "µs" => 1e-6,
            "millis" | "msec" | "ms" => 1e-3,
            "seconds" | "second" | "secs" | "sec" | "s" => 1.0,
            "minutes" | "minute" | "min" | "mins" | "m" => 60.0,
            "hours" | "hour" | "hr" | "hrs" | "h" => 3600.0,
            "days" | "day" | "d" => 86_400.0,
            "weeks" | "week" | "wk" | "wks" | "w" => 604_800.0,
            _ => return None,
        };
        total += number * size;
        rest = rest[unit_end..].trim_start();
    }
    Some(total)
}

/// Why `text` uses a unit humantime reads but a duration here refuses:
/// months and years have no fixed length (humantime's are 30.44 and 365.25
/// days, a calendar's are not), and `M` is a slip for `m` far more often
/// than a month (`--threshold 10M` was ten months).
fn refused_unit(text: &str) -> Option<String> {
    let is_unit_char = |c: char| c.is_ascii_alphabetic();
    let units = text.split(|c| !is_unit_char(c)).filter(|u| !u.is_empty());
    for unit in units {
        match unit {
            "M" => {
                // Each `M` that is a unit of its own becomes `m`.
                let chars: Vec<char> = text.chars().collect();
                let letter = |at: Option<usize>| {
                    at.and_then(|i| chars.get(i))
                        .is_some_and(|c| is_unit_char(*c))
                };
                let suggested: String = (0..chars.len())
                    .map(|i| match chars[i] {
                        'M' if !letter(i.checked_sub(1)) && !letter(Some(i + 1)) => 'm',
                        c => c,
                    })
                    .collect();
                return Some(format!(
                    "did you mean '{suggested}'? 'M' is months, which are refused (a month has no fixed length); the units are ms, s, m, h, d, w"
                ));
            }
            "month" | "months" => return Some(
                "months are refused (a month has no fixed length): give days or weeks, like 30d"
                    .into(),
            ),
            "y" | "yr" | "yrs" | "year" | "years" => {
                return Some(
                    "years are refused (a year has no fixed length): give days, like 365d".into(),
                )
            }
            _ => {}
        }
    }
    None
}

/// An age against the threshold it was judged by: whole seconds as
/// [`human_seconds`], unless whole seconds would read against the verdict
/// (`stale`: "silent 2s, threshold 2s"; not stale: "2s, within 1500ms");
/// then to the millisecond, rounded away from the threshold, so a stale
/// age always reads longer than its threshold and another never does.
/// Under zero (a clock behind) reads as zero: the caller says "ahead".
pub fn human_age(age: f64, threshold: Option<f64>, stale: bool) -> String {
    let age = age.max(0.0);
    let Some(limit) = threshold else {
        return human_seconds(age);
    };
    // Past the threshold: stale by it (an age the report rounded to the
    // millisecond may equal it). A group stale by another measure is
    // shown as it is.
    let over = stale && age >= limit;
    let shown = whole_seconds(age) as f64;
    if (over && shown > limit) || (!over && shown <= limit) {
        return human_seconds(age);
    }
    let limit_ms = (limit * 1000.0).round();
    let ms = age * 1000.0;
    // A whole millisecond the float misses by a hair is that millisecond.
    let ms = match ms.round() {
        whole if (ms - whole).abs() < 1e-6 => whole,
        _ if over => ms.ceil(),
        _ => ms.floor(),
    };
    let ms = if over {
        ms.max(limit_ms + 1.0)
    } else {
        ms.min(limit_ms)
    };
    human_millis(ms as u64)
}

/// Milliseconds in [`human_seconds`]' style with a fraction of a second
/// (`1.313s`, `10m0.400s`, `0.400s`); whole seconds without one.
fn human_millis(ms: u64) -> String {
    let (whole, frac) = (ms / 1000, ms % 1000);
    let text = human_seconds(whole as f64);
    if frac == 0 {
        return text;
    }
    match text.strip_suffix('s') {
        Some(head) => format!("{head}.{frac:03}s"),
        None => format!("{text}0.{frac:03}s"),
    }
}

/// The whole seconds [`human_seconds`] shows for `secs` (its size).
fn whole_seconds(secs: f64) -> u64 {
    // Under a second either way is "0s": the server clock's whole-second
    // Date makes a group pushed a moment ago look a fraction of a second
    // younger than now.
    if secs.abs() < 1.0 {
        0
    } else {
        // `as` saturates: an absurd age is some 584 billion years, not
        // digits without end.
        secs.abs().round() as u64
    }
}

/// An age in Prometheus' style, largest units first and whole seconds:
/// `2d3h2m`, `14m42s`, `9y12w` for the absurd; negative ages (a clock
/// behind the gateway's) keep their sign.
pub fn human_seconds(secs: f64) -> String {
    let whole = whole_seconds(secs);
    let mut text = String::new();
    let mut rest = whole;
    for (unit, size) in [
        ("y", 365 * 86_400),
        ("w", 7 * 86_400),
        ("d", 86_400),
        ("h", 3600),
        ("m", 60),
        ("s", 1),
    ] {
        if rest >= size {
            text.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    if text.is_empty() {
        text.push_str("0s");
    }
    if secs < 0.0 && whole > 0 {
        format!("-{text}")
    } else {
        text
    }
}

/// A threshold as people write them: weeks or days when it is a whole
/// number of them (`1d`, `2w`, `8d`), else largest units first from hours
/// down, as Prometheus writes durations (`1h30m`, `26h` rather than
/// `1d2h`, `1m30s`, `1s500ms`). A threshold has no unit above the week
/// (months and years are refused), so a huge one is many weeks.
pub fn human_threshold(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    for (unit, size) in [("w", 604_800_000), ("d", 86_400_000)] {
        if ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    let mut text = String::new();
    let mut rest = ms;
    for (unit, size) in [("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)] {
        if rest >= size {
            text.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    text
}

/// [`human_threshold`] of a threshold in seconds as the report keeps it;
/// one too large for a `Duration` is written as an age.
pub fn human_threshold_seconds(seconds: f64) -> String {
    Duration::try_from_secs_f64(seconds.max(0.0))
        .map_or_else(|_| human_seconds(seconds), human_threshold)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_print_as_people_write_them() {
        for (secs_ms, text) in [
            (26 * 3_600_000, "26h"),
            (86_400_000, "1d"),
            (90_000, "1m30s"),
            (600_000, "10m"),
            (1500, "1s500ms"),
            (200_000, "3m20s"),
            (14 * 86_400_000, "2w"),
            (5_400_000, "1h30m"),
            (90_500, "1m30s500ms"),
            (36 * 3_600_000, "36h"),
            (8 * 86_400_000, "8d"),
        ] {
            assert_eq!(human_threshold(Duration::from_millis(secs_ms)), text);
        }
    }

    #[test]
    fn human_seconds_formats() {
        assert_eq!(human_seconds(7385.2), "2h3m5s");
        assert_eq!(human_seconds(-90.0), "-1m30s");
        assert_eq!(
            human_seconds(2.0 * 86_400.0 + 3.0 * 3600.0 + 120.0),
            "2d3h2m"
        );
        assert_eq!(human_seconds(3600.0), "1h");
        assert_eq!(human_seconds(9.5 * 365.0 * 86_400.0), "9y26w12h");
        assert_eq!(human_seconds(0.2), "0s");
        assert_eq!(human_seconds(-0.6), "0s");
        assert_eq!(human_seconds(1.6), "2s");
        assert_eq!(human_millis(1313), "1.313s");
        assert_eq!(human_millis(400), "0.400s");
        assert_eq!(human_millis(600_400), "10m0.400s");
        assert_eq!(human_millis(61_050), "1m1.050s");
        assert_eq!(human_millis(3_600_000), "1h");
        // An absurd age has a size, not 301 digits.
        assert_eq!(human_seconds(1e300), "584942417355y3w5d7h15s");
    }

    #[test]
    fn an_age_reads_on_the_side_of_its_threshold_it_is_on() {
        // Stale: whole seconds when they read longer, else to the
        // millisecond, rounded up, past the threshold.
        assert_eq!(human_age(7385.2, Some(3600.0), true), "2h3m5s");
        assert_eq!(human_age(2.3, Some(2.0), true), "2.300s");
        assert_eq!(human_age(2.6, Some(2.0), true), "3s");
        assert_eq!(human_age(2.0001, Some(2.0), true), "2.001s");
        // An age rounded to the threshold's millisecond still reads past.
        assert_eq!(human_age(2.0, Some(2.0), true), "2.001s");
        assert_eq!(human_age(60.4, Some(60.0), true), "1m0.400s");
        // Within: never longer than the threshold.
        assert_eq!(human_age(1.6, Some(2.0), false), "2s");
        assert_eq!(human_age(1.6, Some(1.5), false), "1.500s");
        assert_eq!(human_age(1.6, Some(1.7), false), "1.600s");
        assert_eq!(human_age(-0.4, Some(60.0), false), "0s");
        assert_eq!(human_age(86_400.4, None, false), "1d");
    }

    #[test]
    fn a_declared_ttl_too_long_to_count_is_never() {
        assert_eq!(parse_declared_ttl("99999999999999w"), Ok(Threshold::Never));
        assert_eq!(
            parse_declared_ttl("30m"),
            Ok(Threshold::After(Duration::from_secs(1800)))
        );
        assert!(parse_declared_ttl("soon").is_err());
        // humantime's overflow is also a fraction finer than a nanosecond:
        // that is next to zero, not never.
        assert!(parse_declared_ttl("0.0000000001ms").is_err());
        assert!(parse_declared_ttl("0s").is_err());
    }
}
