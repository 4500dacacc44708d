//! The value parsers of the flags: what a flag's text must be, and the
//! words for why it is not (durations themselves are `crate::duration`'s).

use std::time::Duration;

use crate::duration::{parse_duration, parse_threshold, Threshold};
use crate::gateway::Header;
use crate::plan::Rule;
use crate::selector::Selector;

/// `SELECTOR=DURATION`, spaces allowed around `=`. The selector ends at the
/// last `}`: a label value may hold `}` or `=`, a duration never does. A
/// rule without braces gets the selector parser's own error (`{` expected).
pub fn parse_rule(text: &str) -> Result<Rule, String> {
    let text = text.trim();
    let (selector, rest) = match text.rfind('}') {
        Some(at) => (&text[..=at], text[at + 1..].trim_start()),
        None => (text, ""),
    };
    let selector = parse_selector(selector)?;
    let Some(threshold) = rest.strip_prefix('=') else {
        return Err(format!(
            "expected SELECTOR=DURATION, like '{{job=\"backup\"}}=26h', got '{text}'"
        ));
    };
    let threshold = parse_threshold(threshold)?;
    Ok(Rule {
        selector,
        threshold,
        text: text.to_owned(),
    })
}

pub fn parse_selector(text: &str) -> Result<Selector, String> {
    Selector::parse(text).map_err(|e| e.to_string())
}

pub(super) fn parse_ratio(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err("expected a number from 0 to 1, like 0.5".into()),
    }
}

/// A whole number in `range`, said in words when it is not one; one above
/// it, or too large for the type, says the most it can be.
fn parse_bounded(text: &str, range: std::ops::RangeInclusive<u64>) -> Result<u64, String> {
    let expected = match range.end() {
        &u64::MAX => format!("expected a whole number, {} or more", range.start()),
        end => format!("expected a whole number from {} to {end}", range.start()),
    };
    let too_large = || format!("too large: the most it can be is {}", range.end());
    match text.trim().parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        Ok(n) if n > *range.end() => Err(too_large()),
        Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => Err(too_large()),
        _ => Err(expected),
    }
}

pub(super) fn parse_count(text: &str) -> Result<u64, String> {
    parse_bounded(text, 0..=u64::MAX)
}

/// `--max-groups`, `--max-series`: a bound on a gateway's size. 0 is not
/// "no limit" here, as it is for Prometheus' `sample_limit`: it would
/// evict every group that may be evicted, so it is refused, with the way
/// to turn the bound off.
pub(super) fn parse_bound(text: &str) -> Result<u64, String> {
    match parse_bounded(text, 0..=u64::MAX) {
        Ok(0) => Err(
            "0 is no bound \"off\" here: it would evict every group that may be \
             evicted; to turn the bound off, leave the flag out"
                .into(),
        ),
        _ => parse_bounded(text, 1..=u64::MAX),
    }
}

/// `--missed-pushes`: 2 or more; at 1 a producer a moment late, on any
/// jitter, would be deleted.
pub(super) fn parse_missed_pushes(text: &str) -> Result<u32, String> {
    parse_bounded(text, 2..=1000).map(|n| n as u32)
}

/// `--late-after`: a factor above 1 (at 1 or less a producer on time is
/// late), up to 1000.
pub(super) fn parse_late_after(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(f) if f > 1.0 && f <= 1000.0 => Ok(f),
        _ => Err("expected a factor above 1 and up to 1000, like 2 or 1.5".into()),
    }
}

pub(super) fn parse_concurrency(text: &str) -> Result<u16, String> {
    parse_bounded(text, 1..=256).map(|n| n as u16)
}

pub(super) fn parse_retries(text: &str) -> Result<u32, String> {
    parse_bounded(text, 0..=20).map(|n| n as u32)
}

pub(super) fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        d if d.is_zero() => Err("must be greater than zero".into()),
        d => Ok(d),
    }
}

/// `--min-ttl`: a duration; `never` as a lower bound would make every
/// group that declares a TTL never stale.
pub(super) fn parse_min_ttl(text: &str) -> Result<Duration, String> {
    match text.trim() {
        "never" => Err("a lower bound of never would keep every group that declares a TTL forever; give a duration, like 1m".into()),
        other => parse_positive_duration(other),
    }
}

/// `--max-ttl`: a duration, or `never`: no upper bound, as without the
/// flag.
pub(super) fn parse_max_ttl(text: &str) -> Result<Threshold, String> {
    match text.trim() {
        "never" => Ok(Threshold::Never),
        other => parse_positive_duration(other).map(Threshold::After),
    }
}

/// clap parser for `--header`. clap's own error for a failed value parser
/// quotes the raw argument, which may hold a secret; this one gives only
/// the reason (as `Custom` context, which [`usage_message`] reads).
#[derive(Clone, Copy, Debug)]
pub struct HeaderParser;

impl clap::builder::TypedValueParser for HeaderParser {
    type Value = Header;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Header, clap::Error> {
        use clap::error::{ContextKind, ContextValue, ErrorKind};
        let invalid = |why: String| {
            let mut e = clap::Error::new(ErrorKind::ValueValidation).with_cmd(cmd);
            if let Some(arg) = arg {
                e.insert(
                    ContextKind::InvalidArg,
                    ContextValue::String(arg.to_string()),
                );
            }
            e.insert(ContextKind::Custom, ContextValue::String(why));
            e
        };
        let text = value.to_str().ok_or_else(|| invalid("not UTF-8".into()))?;
        Header::parse(text).map_err(|why| invalid(why.to_string()))
    }
}

/// `--dns-server`: `IP:PORT`, or an IP alone for port 53.
pub(super) fn parse_dns_server(text: &str) -> Result<std::net::SocketAddr, String> {
    let text = text.trim();
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    match text.trim_start_matches('[').trim_end_matches(']').parse() {
        Ok(ip) => Ok(std::net::SocketAddr::new(ip, 53)),
        Err(_) => Err(format!(
            "expected IP:PORT or IP (e.g. 10.96.0.10:53), got {text:?}"
        )),
    }
}

/// `host:port`, `[v6]:port`, or `:port` for every interface.
pub(super) fn parse_listen_address(text: &str) -> Result<std::net::SocketAddr, String> {
    let text = text.trim();
    let full = match text.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => text.to_owned(),
    };
    use std::net::ToSocketAddrs as _;
    match full.to_socket_addrs().map(|mut a| a.next()) {
        Ok(Some(addr)) => Ok(addr),
        _ => Err(format!(
            "expected HOST:PORT or :PORT, like 127.0.0.1:9099 or :9099, got '{text}'"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::*;
    use clap::Parser;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("26h"), Ok(Duration::from_secs(26 * 3600)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86400)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("ten minutes").is_err());
        assert!(parse_duration("-5m").is_err());
        assert!(parse_positive_duration("0s").is_err());
    }

    /// Issue 24 item 11: out of range and finer than the resolution say
    /// so. Before: "expected a number and a unit" for each, and 0.001ms
    /// was a threshold of 1µs, shown as 0s.
    #[test]
    fn durations_out_of_range_or_too_fine_say_which() {
        let too_long = "too long: a duration is at most 2^64 seconds";
        let too_fine = "finer than 1ms, the resolution of a duration";
        for (text, says) in [
            ("1e400s", too_long),
            ("100000000000000w", too_long),
            ("99999999999999999999s", too_long),
            ("18446744073709551616s", too_long),
            ("0.0000000001ms", too_fine),
            ("0.001ms", too_fine),
            ("1.0005s", too_fine),
            ("500us", too_fine),
            ("1ns", too_fine),
            ("0.00000000000000000000001s", too_fine),
            ("1e3s", "a number with an exponent is not read"),
            ("2.5E-1m", "a number with an exponent is not read"),
            ("10x", "expected a number and a unit"),
        ] {
            let e = parse_duration(text).unwrap_err();
            assert!(e.starts_with(says), "{text}: {e}");
        }
        let e = parse_threshold("100000000000000w").unwrap_err();
        assert!(e.ends_with("; 'never' keeps a group forever"), "{e}");
        // The largest and the finest that are read.
        assert_eq!(
            parse_duration("18446744073709551615s"),
            Ok(Duration::from_secs(u64::MAX))
        );
        assert_eq!(parse_duration("1ms"), Ok(Duration::from_millis(1)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0.5ms 1.5ms"), Ok(Duration::from_millis(2)));
        assert_eq!(
            parse_threshold("0.001s"),
            Ok(Threshold::After(Duration::from_millis(1)))
        );
        // --max-ttl never is no bound; --min-ttl never says why not.
        assert_eq!(parse_max_ttl("never"), Ok(Threshold::Never));
        assert_eq!(
            parse_max_ttl("1h"),
            Ok(Threshold::After(Duration::from_secs(3600)))
        );
        assert!(parse_max_ttl("0s").is_err());
        let e = parse_min_ttl("never").unwrap_err();
        assert!(
            e.starts_with("a lower bound of never would keep every group"),
            "{e}"
        );
    }

    #[test]
    fn months_and_years_are_refused_with_a_hint() {
        let e = parse_duration("10M").unwrap_err();
        assert!(e.starts_with("did you mean '10m'? 'M' is months"), "{e}");
        let e = parse_duration(" 1h 30M ").unwrap_err();
        assert!(e.starts_with("did you mean '1h 30m'?"), "{e}");
        for months in ["1month", "2 months", "1M1d"] {
            assert!(parse_duration(months).is_err(), "{months}");
        }
        for years in ["1y", "2years", "1yr", "1d 1year"] {
            let e = parse_duration(years).unwrap_err();
            assert!(e.starts_with("years are refused"), "{years}: {e}");
        }
        assert!(parse_threshold("10M").is_err());
        assert!(parse_rule(r#"{job="x"}=10M"#).is_err());
        // What stays: every fixed-length unit, spelled out or not.
        for (text, secs) in [
            ("10m", 600),
            ("2w", 1_209_600),
            ("1min", 60),
            ("3 days", 259_200),
        ] {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_secs(secs)),
                "{text}"
            );
        }
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
    }

    /// Issue 29 item 1. Before: 0 was accepted (a bound that evicts every
    /// group it may), and a number too large for the type was "expected a
    /// whole number, 0 or more".
    #[test]
    fn a_bound_of_0_is_refused_and_a_number_too_large_says_the_most() {
        let e = parse_bound("0").unwrap_err();
        assert!(e.contains("leave the flag out"), "{e}");
        assert_eq!(parse_bound(" 400 "), Ok(400));
        assert_eq!(
            parse_bound("-1").unwrap_err(),
            "expected a whole number, 1 or more"
        );
        let most = "too large: the most it can be is";
        for (parse, text, max) in [
            (
                parse_bound as fn(&str) -> Result<u64, String>,
                "99999999999999999999999",
                u64::MAX,
            ),
            (parse_count, "18446744073709551616", u64::MAX),
            (|t: &str| parse_retries(t).map(u64::from), "21", 20),
            (
                |t: &str| parse_concurrency(t).map(u64::from),
                "99999999999999999999",
                256,
            ),
        ] {
            assert_eq!(parse(text), Err(format!("{most} {max}")), "{text}");
        }
        assert_eq!(parse_count("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(
            parse_concurrency("0").unwrap_err(),
            "expected a whole number from 1 to 256"
        );
    }

    #[test]
    fn thresholds_and_ratios_parse() {
        assert_eq!(parse_threshold("never"), Ok(Threshold::Never));
        assert_eq!(
            parse_threshold("26h"),
            Ok(Threshold::After(Duration::from_secs(26 * 3600)))
        );
        assert!(parse_rule("{job=\"x\"}").is_err());
        assert!(parse_rule("10m").is_err());
        assert!(parse_ratio("1.5").is_err());
        assert!(parse_ratio("-0.1").is_err());
        assert_eq!(parse_ratio("0.25"), Ok(0.25));
    }

    #[test]
    fn a_zero_threshold_or_verify_timeout_is_a_usage_error() {
        // Before: accepted, and with no cap a 0s threshold deletes every group.
        for zero in ["0s", "0", "0ms"] {
            let e = parse_threshold(zero).unwrap_err();
            assert!(e.starts_with("must be greater than zero"), "{zero}: {e}");
        }
        assert!(parse_rule(r#"{job="x"}=0s"#).is_err());
        let e = Args::try_parse_from(["pgj", "--url", "http://a", "--verify-timeout", "0s"])
            .unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation);
    }

    #[test]
    fn rules_allow_spaces_around_the_equals_sign_and_want_braces() {
        let rule = parse_rule(r#"{job="x"} = 10m"#).unwrap();
        assert_eq!(rule.threshold, Threshold::After(Duration::from_secs(600)));
        let rule = parse_rule(r#"{job=~"a{2}=b"}=never"#).unwrap();
        assert_eq!(rule.threshold, Threshold::Never);
        let e = parse_rule(r#"job="x"=10m"#).unwrap_err();
        assert!(e.contains("expected '{'"), "{e}");
        let e = parse_rule(r#"{job="x"}"#).unwrap_err();
        assert!(e.starts_with("expected SELECTOR=DURATION"), "{e}");
    }

    #[test]
    fn listen_address_forms() {
        assert_eq!(
            parse_listen_address(":9099").unwrap().to_string(),
            "0.0.0.0:9099"
        );
        assert_eq!(
            parse_listen_address("127.0.0.1:9099").unwrap().to_string(),
            "127.0.0.1:9099"
        );
        assert_eq!(
            parse_listen_address("[::1]:9099").unwrap().to_string(),
            "[::1]:9099"
        );
        for bad in ["9099", "127.0.0.1", ":x", "127.0.0.1:70000"] {
            assert!(parse_listen_address(bad).is_err(), "{bad}");
        }
    }
}
