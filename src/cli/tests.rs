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
    // Flags that only refine another (--min-ttl, --state-file) are in
    // --help only.
    let visible = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_hide_short_help_set())
        .count();
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
        let config = Args::try_parse_from(&words)
            .map_err(|e| e.to_string())
            .and_then(|a| a.into_config(&no_env).map_err(|e| e.to_string()));
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
