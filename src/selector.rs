//! Selectors over grouping keys, written as Prometheus label matchers:
//! `{job=~"flink.*", env!="dev"}`, and, as PromQL 3 writes the names a
//! Pushgateway with `--push.enable-utf8-names` accepts,
//! `{"service.name"="api"}`.
//!
//! The grammar is small and parsed here: `{ name op string (, name op
//! string)* ,? }`, a name an identifier or a quoted string, `op` one of
//! `= != =~ !~`, strings in double or single quotes with PromQL's escapes,
//! or in backticks, raw. Three things differ from handing the text to a
//! Prometheus query, on purpose:
//!
//! * `{}` is rejected. It would match every group, and a selector that came out
//!   empty is nearly always a template or shell variable that expanded to
//!   nothing; "every group" is said more plainly by leaving the flag out.
//!   Rejecting it now can be relaxed later without breaking anyone; the reverse
//!   could not.
//! * Prometheus also rejects selectors whose every matcher matches the empty
//!   string, such as `{instance=""}`. Against grouping keys that is a useful
//!   question ("groups pushed without an instance label"), so it is accepted.
//! * Names starting with `__` are refused (reserved; `__name__` in
//!   particular: a grouping key has no metric name, so such a matcher could
//!   only ever match nothing or everything).
//!
//! Regexes are fully anchored exactly as Prometheus anchors them,
//! `^(?s:re)$`: `=~"flink"` does not match `flinkjob`, and `.` also matches a
//! newline; a `{` that does not start a repetition is a literal, as in Go.
//! A label missing from a grouping key counts as the empty string. Errors
//! name what was wrong and, for a token out of place, its column.

use std::fmt;
use std::str::FromStr;

use regex::Regex;

use crate::group::GroupingKey;

/// A parsed selector; it matches a grouping key when all its matchers do.
///
/// `Display` prints the text exactly as the user wrote it, so a report can
/// say `kept by --keep '{job="backup"}'`.
#[derive(Debug, Clone)]
pub struct Selector {
    text: String,
    matchers: Vec<Matcher>,
}

#[derive(Debug, Clone)]
struct Matcher {
    name: String,
    op: Op,
}

#[derive(Debug, Clone)]
enum Op {
    Equal(String),
    NotEqual(String),
    Re(Regex),
    NotRe(Regex),
}

impl Matcher {
    fn is_match(&self, value: &str) -> bool {
        match &self.op {
            Op::Equal(v) => value == v,
            Op::NotEqual(v) => value != v,
            Op::Re(re) => re.is_match(value),
            Op::NotRe(re) => !re.is_match(value),
        }
    }
}

/// Why a text is not a selector. Each message quotes the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    #[error("invalid selector '{}': it is empty; write label matchers in braces, e.g. {{job=\"backup\"}}", shown(.input))]
    Empty { input: String },
    #[error("invalid selector '{}': {{}} has no matchers and would match every group", shown(.input))]
    NoMatchers { input: String },
    /// A token out of place; `reason` says what and where.
    #[error("invalid selector '{}': {reason}", shown(.input))]
    Syntax { input: String, reason: String },
    #[error("invalid selector '{}': invalid regex {pattern:?}: {reason}", shown(.input))]
    InvalidRegex {
        input: String,
        pattern: String,
        reason: String,
    },
    #[error("invalid selector '{}': metric name {name:?} given, but a grouping key has no metric name; write only the braces, e.g. {{job=\"x\"}}", shown(.input))]
    MetricName { input: String, name: String },
    #[error("invalid selector '{}': label name {name:?} cannot occur in a grouping key (names starting with \"__\" are reserved)", shown(.input))]
    InvalidLabelName { input: String, name: String },
    #[error("invalid selector '{}': 'or' between matchers is not supported; give the flag once per alternative", shown(.input))]
    OrMatchers { input: String },
    /// PromQL, but more than a label selector: a range, `offset`, `@`, a
    /// function call, an operator...
    #[error("invalid selector '{}': {found} is not allowed; a selector is only label matchers in braces, e.g. {{job=\"x\"}}", shown(.input))]
    NotASelector { input: String, found: String },
}

/// The input as it appears inside an error message: one line, whatever it
/// contains, because errors print as one line.
fn shown(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

impl Selector {
    /// Parses Prometheus label-matcher syntax: `{name OP "value", ...}` with
    /// `=`, `!=`, `=~`, `!~`, values in double, single or backtick quotes with
    /// PromQL's escapes. Never panics.
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        let input = || text.to_owned();
        if text.trim().is_empty() {
            return Err(SelectorError::Empty { input: input() });
        }
        let mut p = Parser { text, at: 0 };
        let matchers = p.selector().map_err(|e| e.into_error(text))?;
        if matchers.is_empty() {
            return Err(SelectorError::NoMatchers { input: input() });
        }
        Ok(Selector {
            text: text.to_owned(),
            matchers,
        })
    }

    /// Whether every matcher accepts the key's value for its label, a label
    /// the key lacks counting as `""`.
    pub fn matches(&self, key: &GroupingKey) -> bool {
        self.matchers
            .iter()
            .all(|m| m.is_match(key.get(&m.name).unwrap_or("")))
    }

    /// The text as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Selector {
    type Err = SelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Selector::parse(s)
    }
}

/// A parse failure before it knows the input it belongs to.
enum Problem {
    Syntax(String),
    MetricName(String),
    InvalidLabelName(String),
    Or,
    NotASelector(&'static str),
    Regex(String, String),
}

impl Problem {
    fn into_error(self, text: &str) -> SelectorError {
        let input = text.to_owned();
        match self {
            Problem::Syntax(reason) => SelectorError::Syntax { input, reason },
            Problem::MetricName(name) => SelectorError::MetricName { input, name },
            Problem::InvalidLabelName(name) => SelectorError::InvalidLabelName { input, name },
            Problem::Or => SelectorError::OrMatchers { input },
            Problem::NotASelector(found) => SelectorError::NotASelector {
                input,
                found: found.to_owned(),
            },
            Problem::Regex(pattern, reason) => SelectorError::InvalidRegex {
                input,
                pattern,
                reason,
            },
        }
    }
}

/// A recursive-descent reader over `text`; `at` is a byte offset.
struct Parser<'a> {
    text: &'a str,
    at: usize,
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.at..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start().len();
    }

    /// The 1-based column of byte offset `at`, in characters.
    fn column(&self, at: usize) -> usize {
        self.text[..at].chars().count() + 1
    }

    fn unexpected(&self, at: usize, token: &str, expected: &str) -> Problem {
        Problem::Syntax(format!(
            "unexpected {token:?} at column {}, expected {expected}",
            self.column(at)
        ))
    }

    /// An identifier at the cursor (`[a-zA-Z_][a-zA-Z0-9_]*`), consumed.
    fn name(&mut self) -> Option<&str> {
        let rest = self.rest();
        if !rest.starts_with(is_name_start) {
            return None;
        }
        let len = rest.find(|c| !is_name_char(c)).unwrap_or(rest.len());
        let name = &self.text[self.at..self.at + len];
        self.at += len;
        Some(name)
    }

    /// The token at the cursor as text, for a message (not consumed).
    fn token_text(&self) -> &str {
        let rest = self.rest();
        let len = match rest.chars().next() {
            Some(c) if is_name_char(c) => rest.find(|c| !is_name_char(c)).unwrap_or(rest.len()),
            Some(c) => c.len_utf8(),
            None => 0,
        };
        &rest[..len]
    }

    fn selector(&mut self) -> Result<Vec<Matcher>, Problem> {
        self.skip_space();
        if self.peek() != Some('{') {
            return Err(self.not_braces());
        }
        self.at += 1;
        let mut matchers = Vec::new();
        loop {
            // A label name, or the closing brace.
            self.skip_space();
            let name_at = self.at;
            let (name, quoted) = match self.peek() {
                None => {
                    return Err(Problem::Syntax(
                        "unexpected end of input inside braces".into(),
                    ))
                }
                Some('}') => {
                    self.at += 1;
                    break;
                }
                Some('"' | '\'' | '`') => (self.string()?, true),
                Some(c) if is_name_start(c) => (self.name().unwrap_or_default().to_owned(), false),
                Some(c @ ('=' | '!' | '~' | ',')) => {
                    return Err(self.unexpected(name_at, &c.to_string(), "a label name or '}'"))
                }
                Some(c) => return Err(inside_braces(c)),
            };
            // The operator.
            self.skip_space();
            let op = if self.rest().starts_with("=~") {
                "=~"
            } else if self.rest().starts_with("!~") {
                "!~"
            } else if self.rest().starts_with("!=") {
                "!="
            } else if self.rest().starts_with('=') {
                "="
            } else {
                return Err(match self.peek() {
                    // `{"up"}` is PromQL 3's metric name.
                    Some('}' | ',') if quoted => Problem::MetricName(name),
                    Some('}' | ',') => Problem::Syntax(format!(
                        "invalid label matcher, expected label matching operator after '{name}'"
                    )),
                    None => Problem::Syntax("unexpected end of input inside braces".into()),
                    Some(c) if is_name_char(c) || matches!(c, '"' | '\'' | '`') => {
                        let at = self.at;
                        self.unexpected(at, self.token_text(), "one of = != =~ !~")
                    }
                    Some(c) => inside_braces(c),
                });
            };
            self.at += op.len();
            // The value.
            self.skip_space();
            let value = match self.peek() {
                Some('"' | '\'' | '`') => self.string()?,
                None => {
                    return Err(Problem::Syntax(
                        "unexpected end of input inside braces".into(),
                    ))
                }
                Some(c @ ('=' | '!' | '~' | ',' | '}')) => {
                    return Err(Problem::Syntax(format!(
                        "unexpected '{c}' in label matching, expected string"
                    )))
                }
                Some(c) if is_name_char(c) => {
                    let at = self.at;
                    return Err(self.unexpected(at, self.token_text(), "a quoted value"));
                }
                Some(c) => return Err(inside_braces(c)),
            };
            if name == "__name__" {
                return Err(Problem::MetricName(value));
            }
            if name.is_empty() || name.starts_with("__") {
                return Err(Problem::InvalidLabelName(name));
            }
            let _ = name_at;
            matchers.push(matcher(name, op, value)?);
            // A comma (a trailing one is fine) or the closing brace.
            self.skip_space();
            match self.peek() {
                Some(',') => self.at += 1,
                Some('}') => {
                    self.at += 1;
                    break;
                }
                None => {
                    return Err(Problem::Syntax(
                        "unexpected end of input inside braces".into(),
                    ))
                }
                Some(c) if is_name_char(c) => {
                    if self.token_text() == "or" {
                        return Err(Problem::Or);
                    }
                    let at = self.at;
                    return Err(self.unexpected(at, self.token_text(), "',' or '}'"));
                }
                Some(c) => return Err(inside_braces(c)),
            }
        }
        self.after_braces()?;
        Ok(matchers)
    }

    /// After the closing brace: only the end, or a precise word for the
    /// PromQL that does not belong in a selector.
    fn after_braces(&mut self) -> Result<(), Problem> {
        self.skip_space();
        let rest = self.rest();
        let Some(c) = rest.chars().next() else {
            return Ok(());
        };
        let found = match c {
            '}' => return Err(Problem::Syntax("unexpected right brace '}'".into())),
            '[' => {
                let inner = rest.split(']').next().unwrap_or(rest);
                if inner.contains(':') {
                    "a subquery like [5m:1m]"
                } else {
                    "a range selector like [5m]"
                }
            }
            '@' => "an @ modifier",
            '+' | '-' | '*' | '/' | '%' | '^' | '<' | '>' | '=' | '!' => {
                "a binary expression (operator)"
            }
            c if is_name_char(c) => match self.token_text() {
                "offset" => "an offset modifier",
                "or" | "and" | "unless" | "atan2" => "a binary expression (operator)",
                word => {
                    let at = self.at;
                    return Err(self.unexpected(at, word, "the end of the selector"));
                }
            },
            other => {
                let at = self.at;
                return Err(self.unexpected(at, &other.to_string(), "the end of the selector"));
            }
        };
        Err(Problem::NotASelector(found))
    }

    /// The input does not start with `{`: say what it is instead.
    fn not_braces(&mut self) -> Problem {
        let start = self.at;
        let rest = self.rest();
        if rest.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            return Problem::NotASelector("a number");
        }
        if rest.starts_with(['"', '\'', '`']) {
            return Problem::NotASelector("a string");
        }
        if let Some(word) = self.name().map(str::to_owned) {
            self.skip_space();
            match self.peek() {
                Some('{') | None => return Problem::MetricName(word),
                Some('(') => return Problem::NotASelector("a function call"),
                Some('[') => return Problem::NotASelector("a range selector like [5m]"),
                _ => {}
            }
        }
        if self.text[start..].contains('}') {
            return Problem::Syntax("unexpected right brace '}'".into());
        }
        self.at = start;
        let token = self.token_text().to_owned();
        self.unexpected(start, &token, "'{'")
    }

    /// A quoted string at the cursor, decoded: double or single quotes with
    /// PromQL's (Go's) escapes, or backticks, raw.
    fn string(&mut self) -> Result<String, Problem> {
        let quote = self.peek().unwrap_or('"');
        let body = &self.text[self.at + 1..];
        let bad = || {
            Problem::Syntax(
                "invalid quoted string (a raw newline or a bad escape inside quotes)".into(),
            )
        };
        let unterminated = || Problem::Syntax(format!("unterminated quoted string {quote}"));
        if quote == '`' {
            let end = body.find('`').ok_or_else(unterminated)?;
            self.at += 1 + end + 1;
            return Ok(body[..end].to_owned());
        }
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                c if c == quote => {
                    self.at += 1 + i + 1;
                    return Ok(out);
                }
                '\n' => return Err(bad()),
                '\\' => {
                    let (_, e) = chars.next().ok_or_else(unterminated)?;
                    let mut hex = |n: usize| -> Result<u32, Problem> {
                        let digits: String = (0..n)
                            .filter_map(|_| chars.next().map(|(_, d)| d))
                            .collect();
                        // from_str_radix would take a sign ("+1").
                        if digits.len() != n || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                            return Err(bad());
                        }
                        u32::from_str_radix(&digits, 16).map_err(|_| bad())
                    };
                    match e {
                        'a' => out.push('\u{7}'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        'v' => out.push('\u{b}'),
                        '\\' => out.push('\\'),
                        q if q == quote => out.push(q),
                        'x' => out.push(char::from_u32(hex(2)?).ok_or_else(bad)?),
                        'u' => out.push(char::from_u32(hex(4)?).ok_or_else(bad)?),
                        'U' => out.push(char::from_u32(hex(8)?).ok_or_else(bad)?),
                        d @ '0'..='7' => {
                            let rest: String = (0..2)
                                .filter_map(|_| chars.next().map(|(_, d)| d))
                                .collect();
                            let digits = format!("{d}{rest}");
                            let v = u32::from_str_radix(&digits, 8).map_err(|_| bad())?;
                            if digits.len() != 3 || v > 255 {
                                return Err(bad());
                            }
                            out.push(char::from_u32(v).ok_or_else(bad)?);
                        }
                        other => {
                            return Err(Problem::Syntax(format!(
                                "unknown escape sequence '{other}'"
                            )))
                        }
                    }
                }
                c => out.push(c),
            }
        }
        Err(unterminated())
    }
}

fn inside_braces(c: char) -> Problem {
    Problem::Syntax(format!("unexpected character inside braces: '{c}'"))
}

fn matcher(name: String, op: &str, value: String) -> Result<Matcher, Problem> {
    let op = match op {
        "=" => Op::Equal(value),
        "!=" => Op::NotEqual(value),
        _ => {
            let re = anchored(&value).map_err(|reason| Problem::Regex(value.clone(), reason))?;
            if op == "=~" {
                Op::Re(re)
            } else {
                Op::NotRe(re)
            }
        }
    };
    Ok(Matcher { name, op })
}

/// Compiles `^(?s:pattern)$` as Prometheus does, after reading `{` as Go
/// does: a literal unless it starts a repetition (`{2}`, `{2,}`, `{2,3}`).
/// The pattern is checked on its own first, so that `a)|(b` cannot escape
/// its anchors.
fn anchored(pattern: &str) -> Result<Regex, String> {
    let go = go_braces(pattern);
    if let Err(e) = regex_syntax::Parser::new().parse(&go) {
        return Err(regex_syntax_reason(&e));
    }
    Regex::new(&format!("^(?s:{go})$")).map_err(|e| one_line(&e.to_string()))
}

fn go_braces(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        match c {
            '\\' => {
                out.push('\\');
                if let Some(n) = rest.chars().next() {
                    out.push(n);
                    rest = &rest[n.len_utf8()..];
                }
            }
            '{' => {
                let close = rest.find('}');
                let repetition = close.is_some_and(|end| {
                    let inner = &rest[..end];
                    let (min, max) = inner.split_once(',').unwrap_or((inner, "0"));
                    !min.is_empty()
                        && min.bytes().all(|b| b.is_ascii_digit())
                        && max.bytes().all(|b| b.is_ascii_digit())
                });
                out.push_str(if repetition { "{" } else { "\\{" });
            }
            c => out.push(c),
        }
    }
    out
}

fn regex_syntax_reason(e: &regex_syntax::Error) -> String {
    let (kind, span) = match e {
        regex_syntax::Error::Parse(e) => (e.kind().to_string(), e.span()),
        regex_syntax::Error::Translate(e) => (e.kind().to_string(), e.span()),
        other => return one_line(&other.to_string()),
    };
    format!("{kind} at character {} of the regex", span.start.column)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pairs: &[(&str, &str)]) -> GroupingKey {
        GroupingKey::new(pairs.iter().copied()).unwrap()
    }

    fn sel(text: &str) -> Selector {
        Selector::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn err(text: &str) -> String {
        match Selector::parse(text) {
            Ok(s) => panic!("{text:?} parsed as {s:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn equal_and_not_equal() {
        let flink = key(&[("job", "flink"), ("env", "prod")]);
        let dev = key(&[("job", "flink"), ("env", "dev")]);
        assert!(sel(r#"{job="flink"}"#).matches(&flink));
        assert!(!sel(r#"{job="flin"}"#).matches(&flink));
        assert!(sel(r#"{env!="dev"}"#).matches(&flink));
        assert!(!sel(r#"{env!="dev"}"#).matches(&dev));
    }

    #[test]
    fn regex_and_negated_regex() {
        let k = key(&[("job", "flinkjob0123abcd"), ("env", "dev")]);
        assert!(sel(r#"{job=~"flink.*"}"#).matches(&k));
        assert!(!sel(r#"{job!~"flink.*"}"#).matches(&k));
        assert!(sel(r#"{job!~"backup|nightly"}"#).matches(&k));
        assert!(sel(r#"{job=~"(?i)FLINKJOB[0-9a-f]+"}"#).matches(&k));
    }

    #[test]
    fn all_matchers_must_match() {
        let s = sel(r#"{job=~"flink.*", env!="dev"}"#);
        assert!(s.matches(&key(&[("job", "flinkjob1"), ("env", "prod")])));
        assert!(!s.matches(&key(&[("job", "flinkjob1"), ("env", "dev")])));
        assert!(!s.matches(&key(&[("job", "backup"), ("env", "prod")])));
    }

    #[test]
    fn regexes_are_fully_anchored() {
        let flinkjob = key(&[("job", "flinkjob")]);
        assert!(!sel(r#"{job=~"flink"}"#).matches(&flinkjob));
        assert!(!sel(r#"{job=~"job"}"#).matches(&flinkjob));
        assert!(sel(r#"{job!~"flink"}"#).matches(&flinkjob));
        // Alternation stays inside the anchors.
        assert!(!sel(r#"{job=~"flink|x"}"#).matches(&flinkjob));
        assert!(sel(r#"{job=~"x|flinkjob"}"#).matches(&flinkjob));
    }

    #[test]
    fn regex_cannot_break_out_of_its_anchors() {
        // Wrapped naively this would be `^(?:a)|(b)$`, which
        // matches anything starting with "a"; Prometheus rejects it.
        let e = err(r#"{job=~"a)|(b"}"#);
        assert!(e.starts_with(r#"invalid selector '{job=~"a)|(b"}': invalid regex "a)|(b": "#));
        assert!(e.contains("unopened group"), "{e}");
    }

    #[test]
    fn dot_matches_newline_as_in_prometheus() {
        let k = key(&[("job", "a\nb")]);
        assert!(sel(r#"{job=~"a.b"}"#).matches(&k));
        assert!(sel(r#"{job=~".*"}"#).matches(&k));
    }

    #[test]
    fn go_style_literal_brace_in_regex() {
        // Go's regexp reads `{b}` as literal text, and so does this parser.
        assert!(sel(r#"{job=~"a{b}"}"#).matches(&key(&[("job", "a{b}")])));
        assert!(sel(r#"{job=~"a{2}"}"#).matches(&key(&[("job", "aa")])));
    }

    #[test]
    fn escapes_in_double_quotes() {
        let k = key(&[("job", "a\"b\\c\nd")]);
        assert!(sel(r#"{job="a\"b\\c\nd"}"#).matches(&k));
        assert!(sel(r#"{job="\u00e9\x41\101\t"}"#).matches(&key(&[("job", "éAA\t")])));
        assert!(sel(r#"{job="caf\u00e9"}"#).matches(&key(&[("job", "café")])));
        assert!(sel(r#"{job="café"}"#).matches(&key(&[("job", "café")])));
        assert!(sel(r#"{job="\U0001F600"}"#).matches(&key(&[("job", "😀")])));
    }

    #[test]
    fn single_quotes_and_backticks() {
        assert!(sel(r#"{job='it\'s'}"#).matches(&key(&[("job", "it's")])));
        assert!(sel(r#"{job='say "hi"'}"#).matches(&key(&[("job", "say \"hi\"")])));
        // Backticks are raw: no escapes at all.
        assert!(sel(r#"{job=`a\nb`}"#).matches(&key(&[("job", "a\\nb")])));
        assert!(sel(r#"{job=~`[0-9]+`}"#).matches(&key(&[("job", "42")])));
        // Raw, as in Prometheus: `\d` is the regex's (promql-parser 0.11
        // refused it as an unknown escape).
        assert!(sel(r#"{job=~`\d+`}"#).matches(&key(&[("job", "42")])));
        assert!(!sel(r#"{job=~`\d+`}"#).matches(&key(&[("job", "4a")])));
        // In double quotes a regex backslash must be doubled.
        assert!(sel(r#"{job=~"\\d+"}"#).matches(&key(&[("job", "42")])));
    }

    #[test]
    fn missing_label_counts_as_empty() {
        let without = key(&[("job", "x")]);
        let empty = key(&[("job", "x"), ("instance", "")]);
        let with = key(&[("job", "x"), ("instance", "h1")]);
        let s = sel(r#"{instance=""}"#);
        assert!(s.matches(&without) && s.matches(&empty) && !s.matches(&with));
        let s = sel(r#"{instance!=""}"#);
        assert!(!s.matches(&without) && !s.matches(&empty) && s.matches(&with));
        assert!(sel(r#"{instance=~"h.*|"}"#).matches(&without));
        assert!(!sel(r#"{instance=~".+"}"#).matches(&without));
        assert!(sel(r#"{instance!~".+"}"#).matches(&without));
    }

    #[test]
    fn job_is_an_ordinary_label() {
        let k = key(&[("job", "backup"), ("instance", "db1")]);
        assert!(sel(r#"{job="backup"}"#).matches(&k));
        assert!(sel(r#"{job="backup",instance="db1"}"#).matches(&k));
        assert!(!sel(r#"{job=""}"#).matches(&k));
        assert!(sel(r#"{job!=""}"#).matches(&k));
        // Keywords are fine as label names.
        assert!(sel(r#"{offset="1", by!="x"}"#).matches(&key(&[("job", "j"), ("offset", "1")])));
    }

    #[test]
    fn whitespace_trailing_comma_and_quoted_names() {
        let k = key(&[("job", "x"), ("env", "prod")]);
        assert!(sel(" {\n  job = \"x\" ,\n  env=~'p.*',\n}\n").matches(&k));
        assert!(sel(r#"{"job"="x"}"#).matches(&k));
        // UTF-8 names (Pushgateway 1.11 with --push.enable-utf8-names).
        let otel = key(&[("job", "api"), ("service.name", "checkout"), ("könig", "ö")]);
        assert!(sel(r#"{"service.name"="checkout", job=~"a.*"}"#).matches(&otel));
        assert!(sel(r#"{'könig'='ö'}"#).matches(&otel));
        assert!(!sel(r#"{"service.name"!="checkout"}"#).matches(&otel));
    }

    #[test]
    fn display_keeps_the_original_text() {
        let text = r#"{ job = "backup" }"#;
        assert_eq!(sel(text).to_string(), text);
        assert_eq!(sel(text).as_str(), text);
        assert_eq!(
            format!("kept by --keep '{}'", sel(r#"{job="backup"}"#)),
            r#"kept by --keep '{job="backup"}'"#
        );
        assert!(text.parse::<Selector>().is_ok());
    }

    #[test]
    fn malformed_inputs_name_what_and_where() {
        let cases: &[(&str, &str)] = &[
            ("", "invalid selector '': it is empty; write label matchers in braces, e.g. {job=\"backup\"}"),
            ("  \t", "invalid selector '  \\t': it is empty; write label matchers in braces, e.g. {job=\"backup\"}"),
            ("{}", "invalid selector '{}': {} has no matchers and would match every group"),
            (r#"{job="x"#, r#"invalid selector '{job="x': unterminated quoted string ""#),
            (r#"{job="x""#, r#"invalid selector '{job="x"': unexpected end of input inside braces"#),
            (r#"job="x"}"#, r#"invalid selector 'job="x"}': unexpected right brace '}'"#),
            (r#"{job=="x"}"#, r#"invalid selector '{job=="x"}': unexpected '=' in label matching, expected string"#),
            (r#"{job<"x"}"#, r#"invalid selector '{job<"x"}': unexpected character inside braces: '<'"#),
            (r#"{1job="x"}"#, r#"invalid selector '{1job="x"}': unexpected character inside braces: '1'"#),
            (r#"{job-name="x"}"#, r#"invalid selector '{job-name="x"}': unexpected character inside braces: '-'"#),
            (r#"{"__a"="x"}"#, r#"invalid selector '{"__a"="x"}': label name "__a" cannot occur in a grouping key (names starting with "__" are reserved)"#),
            (r#"{job}"#, r#"invalid selector '{job}': invalid label matcher, expected label matching operator after 'job'"#),
            (r#"{job=~"("}"#, r#"invalid selector '{job=~"("}': invalid regex "(": unclosed group at character 1 of the regex"#),
            (r#"{job=~"x", env=~"[z-a]"}"#, r#"invalid selector '{job=~"x", env=~"[z-a]"}': invalid regex "[z-a]": invalid character class range, the start must be <= the end at character 2 of the regex"#),
            (r#"up{job="x"}"#, r#"invalid selector 'up{job="x"}': metric name "up" given, but a grouping key has no metric name; write only the braces, e.g. {job="x"}"#),
            (r#"{__name__="up"}"#, r#"invalid selector '{__name__="up"}': metric name "up" given, but a grouping key has no metric name; write only the braces, e.g. {job="x"}"#),
            (r#"{job="x"}[5m]"#, r#"invalid selector '{job="x"}[5m]': a range selector like [5m] is not allowed; a selector is only label matchers in braces, e.g. {job="x"}"#),
            (r#"{job="x"}[5m:1m]"#, r#"invalid selector '{job="x"}[5m:1m]': a subquery like [5m:1m] is not allowed; a selector is only label matchers in braces, e.g. {job="x"}"#),
            (r#"{job="x"} offset 5m"#, r#"invalid selector '{job="x"} offset 5m': an offset modifier is not allowed; a selector is only label matchers in braces, e.g. {job="x"}"#),
            (r#"{job="x"} @ 100"#, r#"invalid selector '{job="x"} @ 100': an @ modifier is not allowed; a selector is only label matchers in braces, e.g. {job="x"}"#),
            (r#"rate(x[5m])"#, r#"invalid selector 'rate(x[5m])': a function call is not allowed; a selector is only label matchers in braces, e.g. {job="x"}"#),
            (r#"{job="x"} or {job="y"}"#, r#"invalid selector '{job="x"} or {job="y"}': a binary expression (operator) is not allowed; a selector is only label matchers in braces, e.g. {job="x"}"#),
            (r#"{job="x" or job="y"}"#, r#"invalid selector '{job="x" or job="y"}': 'or' between matchers is not supported; give the flag once per alternative"#),
            (r#"{job="x"} garbage"#, r#"invalid selector '{job="x"} garbage': unexpected "garbage" at column 11, expected the end of the selector"#),
            (r#"{job="x"}}"#, r#"invalid selector '{job="x"}}': unexpected right brace '}'"#),
            (r#"  {job="x" env="y"}"#, r#"invalid selector '  {job="x" env="y"}': unexpected "env" at column 12, expected ',' or '}'"#),
            (r#"{="x"}"#, r#"invalid selector '{="x"}': unexpected "=" at column 2, expected a label name or '}'"#),
            (r#"{job="x",,}"#, r#"invalid selector '{job="x",,}': unexpected "," at column 10, expected a label name or '}'"#),
            (r#"{job="\q"}"#, r#"invalid selector '{job="\q"}': unknown escape sequence 'q'"#),
            ("{job=\"a\nb\"}", r#"invalid selector '{job="a\nb"}': invalid quoted string (a raw newline or a bad escape inside quotes)"#),
            (r#"{"up"}"#, r#"invalid selector '{"up"}': metric name "up" given, but a grouping key has no metric name; write only the braces, e.g. {job="x"}"#),
            ("42", r#"invalid selector '42': a number is not allowed; a selector is only label matchers in braces, e.g. {job="x"}"#),
        ];
        for (input, want) in cases {
            assert_eq!(&err(input), want, "input {input:?}");
        }
    }

    #[test]
    fn the_grammar_edges() {
        let k = key(&[("job", "x"), ("service.name", "a")]);
        assert!(sel(r#"{ job = "x" , }"#).matches(&k));
        assert!(sel(r#"{"service.name"="a"}"#).matches(&k));
        assert!(sel(r#"{'service.name'=~'a|b'}"#).matches(&k));
        for (input, want) in [
            (r#"sum(x)"#, "a function call is not allowed"),
            (
                r#"{job="x"} + 1"#,
                "a binary expression (operator) is not allowed",
            ),
            (
                r#"{job="x"} unless {job="y"}"#,
                "a binary expression (operator) is not allowed",
            ),
            (r#"{job=`x}"#, "unterminated quoted string `"),
            (r#"{job="\x4"}"#, "invalid quoted string"),
            (r#"{job="\x+1"}"#, "invalid quoted string"),
            (r#"{job="\777"}"#, "invalid quoted string"),
            (r#"{job="\uD800"}"#, "invalid quoted string"),
            (r#"{"service.name"}"#, r#"metric name "service.name" given"#),
            (r#"{__x="y"}"#, r#"label name "__x" cannot occur"#),
            (
                r#"{job=x}"#,
                r#"unexpected "x" at column 6, expected a quoted value"#,
            ),
            (
                r#"{job "x"}"#,
                r#"unexpected "\"" at column 6, expected one of = != =~ !~"#,
            ),
            ("{job=\"é\" ✓}", "unexpected character inside braces: '✓'"),
        ] {
            let e = err(input);
            assert!(e.contains(want), "{input}: {e}");
        }
        // Columns count characters, not bytes.
        let e = err(r#"{job="é" env="y"}"#);
        assert!(e.contains(r#"unexpected "env" at column 10"#), "{e}");
    }

    /// A cheap stand-in for the fuzz target: many short strings built from
    /// PromQL's pieces must give Ok or Err, never a panic.
    #[test]
    fn never_panics_on_token_soup() {
        const PIECES: &[&str] = &[
            "{", "}", "(", ")", "[", "]", "job", "a", "=", "!=", "=~", "!~", "\"", "'", "`", "\\",
            "\"x\"", ",", " ", "\n", "5m", "offset", "@", "or", "#", "é", "\\u00", "\\x", "1", ":",
            ".*", "-", "+", "__name__", "{}", "by", "sum", "\"(\"", "\\U", "0",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = next() % 10;
            let text: String = (0..len)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect();
            let _ = Selector::parse(&text);
        }
    }
}
