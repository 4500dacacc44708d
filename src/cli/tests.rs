//! The command line as a whole, as people meet it: `-h`, the one-line
//! usage errors, and `--help`'s examples, each against the janitor's own
//! command (`Args`), which `help` only ever gets as given.

use std::ffi::OsString;

use clap::Parser;

use super::help::EXAMPLES;
use super::*;

#[test]
fn short_help_is_one_line_per_flag_within_100_columns() {
    let help = short_help();
    let mut cmd = <Args as clap::CommandFactory>::command();
    // With the version flag, which exists once built.
    cmd.build();
    // Every flag --help shows (issue 29 item 4: before, --activity,
    // --max-groups, --max-series and --evict-after were in --help only,
    // and a user scanning -h for a size bound found none).
    let visible = cmd.get_arguments().filter(|a| !a.is_hide_set()).count();
    let flag_lines: Vec<&str> = help
        .lines()
        .filter(|l| l.starts_with("  -") || l.starts_with("      --"))
        .collect();
    assert_eq!(flag_lines.len(), visible, "{help}");
    for line in help.lines() {
        assert!(line.chars().count() <= 100, "too wide: {line}");
        // Nothing but headings, flags, the usage and the pointer to --help.
        assert!(
            line.is_empty()
                || line.starts_with("  -")
                || line.starts_with("      --")
                || line.ends_with(':')
                || line.starts_with("Usage: ")
                || line.starts_with("       pushgateway-janitor restore ")
                || line.starts_with("Deletes ")
                || line.starts_with("--help "),
            "a continuation line: {line:?}"
        );
    }
    assert!(help.contains("Usage: pushgateway-janitor --url URL"));
    assert!(!help.contains("Exit codes"), "exit codes stay in --help");
}

#[test]
fn usage_errors_keep_clap_hints() {
    let err = |args: &[&str]| {
        let mut all = vec!["pushgateway-janitor"];
        all.extend_from_slice(args);
        let given: Vec<OsString> = all[1..].iter().map(OsString::from).collect();
        usage_message(&Args::try_parse_from(&all).unwrap_err(), &given)
    };
    assert_eq!(
        err(&["--url", "http://a", "--output", "yaml"]),
        "invalid value 'yaml' for --output (possible values: human, json) (see --help)"
    );
    assert_eq!(
        err(&["--url", "http://a", "--thresold", "1m"]),
        "unknown flag '--thresold': did you mean '--threshold'? (see --help)"
    );
    assert_eq!(
        err(&["--url", "http://a", "-v", "-q"]),
        "--verbose cannot be used with --quiet (see --help)"
    );
    let generate = err(&["--generate", "yaml"]);
    assert!(
        generate
            .starts_with("invalid value 'yaml' for --generate (possible values: completions-bash,"),
        "{generate}"
    );
    assert_eq!(
        err(&["--url", "http://a", "--threshold", "10x"]),
        "invalid value '10x' for --threshold: expected a number and a unit (ms, s, m, h, d, w), like 90s, 10m, 26h or 1h30m (see --help)"
    );
    assert_eq!(
        err(&[]),
        "the following required arguments were not provided: --url <URL> (see --help)"
    );
    assert_eq!(
        err(&["--url", "http://a", "--dry-run=yes"]),
        "unexpected value 'yes' for '--dry-run' found; no more were expected (see --help)"
    );
    assert_eq!(
        err(&["--url", "http://a", "--label-names", "utf"]),
        "invalid value 'utf' for --label-names: did you mean 'utf8'? (possible values: auto, utf8, legacy) (see --help)"
    );
    assert_eq!(
        err(&["--url", "http://a", "--basic-auth-password", "p"]),
        "the following required arguments were not provided: --basic-auth-user <USER> (see --help)"
    );
    // The header's value may be a secret: its reason, never the value.
    let header = err(&["--url", "http://a", "--header", "s3cret"]);
    assert_eq!(
        header,
        "invalid value for --header: expected 'Name: value' (no ':' found) (see --help)"
    );
}

/// The words of a shell command line: blanks split, '…' and "…" quote.
fn shell_words(line: &str) -> Vec<String> {
    let (mut words, mut word, mut quote, mut any) = (Vec::new(), String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (None, '\'' | '"') => (quote, any) = (Some(c), true),
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if any {
                    words.push(std::mem::take(&mut word));
                }
                any = false;
            }
            (_, c) => (word, any) = (word + &c.to_string(), true),
        }
    }
    if any {
        words.push(word);
    }
    words
}

#[test]
fn every_help_example_is_a_valid_command_line() {
    let joined = EXAMPLES.replace("\\\n", " ");
    let commands: Vec<&str> = joined
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("pushgateway-janitor "))
        .collect();
    assert!(commands.len() >= 8, "{commands:?}");
    for command in commands {
        let words = shell_words(&command.replace("$WEBHOOK_URL", "https://hooks.example/x"));
        let parsed = Args::try_parse_from(&words).map_err(|e| e.to_string());
        let config = parsed.and_then(|a| {
            match a.command {
                Some(Command::Restore(r)) => r.into_config(&no_env).map(drop),
                None => a.into_config(&no_env).map(drop),
            }
            .map_err(|e| e.to_string())
        });
        assert!(config.is_ok(), "{command}: {config:?}");
    }
}

/// Issue 28 item 9: `args` declares its flags with `help`'s texts, so
/// `help` must not reach back for `Args` (before: `use super::args::Args`
/// for `-h` and the error lines, an import circle).
#[test]
fn help_gets_the_command_as_given_and_never_uses_args() {
    let help = include_str!("help.rs");
    let code = help.split("\n#[cfg(test)]").next().unwrap_or(help);
    for word in ["args::", "Args", "super::*", "crate::cli"] {
        assert!(!code.contains(word), "help.rs uses {word}");
    }
}

/// Issue 29 item 6: every duration flag, of a clean and of `restore`,
/// reads `-5m` as the negative duration it is, in the same words, and
/// refuses 0 where docs/usage.md says it does. Before: `--evict-after`,
/// `--grace`, `--min-ttl` and `--max-ttl` took `-5m` for a flag, "unknown
/// flag '-5'", where `--threshold -5m` said "a duration cannot be
/// negative"; and docs/usage.md's list of flags that cannot be 0 lacked
/// `--evict-after`, `--grace`, `--min-ttl` and `--max-ttl`.
#[test]
fn every_duration_flag_refuses_a_negative_duration_in_the_same_words() {
    // Every flag whose value is a DURATION, and whether it refuses 0.
    let table = [
        ("threshold", true),
        ("min-ttl", true),
        ("max-ttl", true),
        ("evict-after", true),
        ("grace", true),
        ("verify-timeout", true),
        ("every", true),
        ("timeout", true),
        ("retry-backoff", false),
    ];
    let mut top = <Args as clap::CommandFactory>::command();
    top.build();
    let restore = top.find_subcommand("restore").unwrap().clone();
    for (cmd, before) in [(&top, vec![]), (&restore, vec!["restore", "a.jsonl"])] {
        let durations: Vec<&str> = cmd
            .get_arguments()
            .filter(|a| a.get_value_names().is_some_and(|v| v == ["DURATION"]))
            .filter_map(|a| a.get_long())
            .collect();
        for long in &durations {
            assert!(
                table.iter().any(|(f, _)| f == long),
                "--{long} not in the table"
            );
        }
        let see = match before.is_empty() {
            true => "(see --help)",
            false => "(see restore --help)",
        };
        for (flag, zero_refused) in table.iter().filter(|(f, _)| durations.contains(f)) {
            let flag = format!("--{flag}");
            let parse = |value: &str| {
                let mut args = vec!["pgj"];
                args.extend(&before);
                args.extend(["--url", "http://a", flag.as_str(), value]);
                let given: Vec<OsString> = args[1..].iter().map(OsString::from).collect();
                Args::try_parse_args(&args).map_err(|e| usage_message(&e, &given))
            };
            assert_eq!(
                parse("-5m").unwrap_err(),
                format!("invalid value '-5m' for {flag}: a duration cannot be negative {see}")
            );
            assert_eq!(parse("0s").is_err(), *zero_refused, "{flag} 0s");
        }
    }
    // docs/usage.md names each, and which cannot be 0.
    let usage = include_str!("../../docs/usage.md");
    let durations = &usage[usage.find("## Durations").unwrap()..];
    let sentence = |at: &str| {
        let start = durations.find(at).unwrap();
        let end = start + durations[start..].find(". ").unwrap();
        &durations[start..end]
    };
    let flags = |text: &str| -> Vec<String> {
        text.split('`')
            .skip(1)
            .step_by(2)
            .filter_map(|f| f.strip_prefix("--"))
            .filter(|f| *f != "rule")
            .map(str::to_owned)
            .collect()
    };
    let mut listed = flags(sentence("Every duration flag"));
    let mut want: Vec<String> = table.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    want.sort();
    assert_eq!(listed, want, "docs/usage.md's duration flags");
    let negative = sentence("A duration is never negative");
    let mut never_zero = flags(&negative[..negative.find(" are never zero").unwrap()]);
    let mut want: Vec<String> = table
        .iter()
        .filter(|(_, z)| *z)
        .map(|(f, _)| f.to_string())
        .collect();
    never_zero.sort();
    want.sort();
    assert_eq!(
        never_zero, want,
        "docs/usage.md's flags that are never zero"
    );
}
