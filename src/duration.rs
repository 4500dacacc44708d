//! Durations as every flag and a pusher's `--ttl-label` value write them:
//! humantime's syntax without months and years, and `never` for a
//! threshold. Shared by `cli` (flags) and `plan` (a TTL a group declares in
//! its grouping key), so both read a duration the same way.

use std::time::Duration;

use crate::plan::Threshold;

/// A duration greater than zero, or `never`. Zero would make every group
/// stale at once: with no cap, a wipe of the gateway.
pub fn parse_threshold(text: &str) -> Result<Threshold, String> {
    match text.trim() {
        "never" => Ok(Threshold::Never),
        other => match parse_duration(other)? {
            d if d.is_zero() => Err(
                "must be greater than zero (0 would delete every group; 'never' keeps them forever)"
                    .into(),
            ),
            d => Ok(Threshold::After(d)),
        },
    }
}

/// humantime durations: `90s`, `10m`, `26h`, `1d`, `1h 30m`. The error
/// names the units that make sense for a threshold, not all that humantime
/// knows: months and years are refused (see [`refused_unit`]).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.starts_with('-') {
        return Err("a duration cannot be negative".into());
    }
    if let Some(why) = refused_unit(text) {
        return Err(why);
    }
    humantime::parse_duration(text).map_err(|_| {
        "expected a number and a unit (ms, s, m, h, d, w), like 90s, 10m, 26h or 1h30m".to_owned()
    })
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
